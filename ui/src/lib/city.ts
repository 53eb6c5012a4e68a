// The pure part of the "Stadtabgleich" screen: the city's duplicate proposals and registry
// matches as this PC last fetched them from the hub. Labels and pills for each state, the
// "Stand" line, the empty states, and the registry list in the order an office works through
// it (what needs a look first). What is cached, decided or waiting comes from Rust.

import type { CityOverview } from './bindings/CityOverview';
import type { CityProposal } from './bindings/CityProposal';
import type { ChildRegistryStatus } from './bindings/ChildRegistryStatus';
import type { Decision } from './bindings/Decision';
import type { MatchStatus } from './bindings/MatchStatus';
import type { ProposalStatus } from './bindings/ProposalStatus';
import { formatDate } from './format';
import { t, type MessageKey } from './i18n';
import { formatDateTime } from './sync';

/** The pill of a proposal: its German text and a class for the colour. */
export interface Pill {
  text: string;
  kind: 'open' | 'confirmed' | 'rejected' | 'sending' | 'matched' | 'check' | 'missing' | 'unchecked';
}

export function proposalPill(status: ProposalStatus): Pill {
  switch (status) {
    case 'open':
      return { text: t('city.status.open'), kind: 'open' };
    case 'confirmed':
      return { text: t('city.status.confirmed'), kind: 'confirmed' };
    case 'rejected':
      return { text: t('city.status.rejected'), kind: 'rejected' };
    case 'sending':
      return { text: t('city.status.sending'), kind: 'sending' };
  }
}

/** Only open proposals can be decided (the hub's state, nothing waiting here). */
export function canDecide(p: Pick<CityProposal, 'status'>): boolean {
  return p.status === 'open';
}

/** `Emma Müller` */
export function childName(c: { first_name: string; last_name: string }): string {
  return `${c.first_name} ${c.last_name}`;
}

/** The line under the pill: who decided here and when, or why the hub did not take it. */
export function decisionNote(p: Pick<CityProposal, 'local' | 'status'>): string | null {
  const l = p.local;
  if (!l) return null;
  if (l.error) return t('city.decisionRefused', { message: l.error });
  const what = decisionLabel(l.decision);
  const when = formatDateTime(l.decided_at);
  if (p.status === 'sending') return l.decided_by ? t('city.decidedBySending', { what, who: l.decided_by, when }) : t('city.decidedSending', { what, when });
  return l.decided_by ? t('city.decidedBy', { what, who: l.decided_by, when }) : null;
}

export function decisionLabel(d: Decision): string {
  return d === 'confirmed' ? t('city.same') : t('city.different');
}

/** The registry result as the office reads it (a similar name gets the registry's spelling beside it). */
export function matchPill(c: Pick<ChildRegistryStatus, 'status'>): Pill {
  switch (c.status) {
    case 'matched':
      return { text: t('city.match.matched'), kind: 'matched' };
    case 'matched_phonetic':
      return { text: t('city.match.phonetic'), kind: 'check' };
    case 'not_found':
      return { text: t('city.match.notFound'), kind: 'missing' };
    case 'ambiguous':
      return { text: t('city.match.ambiguous'), kind: 'check' };
    case null:
      return { text: t('city.match.unchecked'), kind: 'unchecked' };
  }
}

/** The registry's spelling beside a similar name ("im Melderegister: Paula Mayer"), to compare. */
export function registrySpelling(c: Pick<ChildRegistryStatus, 'status' | 'registry_name'>): string | null {
  return c.status === 'matched_phonetic' && c.registry_name ? t('city.match.spelling', { name: c.registry_name }) : null;
}

const ORDER: Record<MatchStatus | 'none', number> = { not_found: 0, ambiguous: 1, matched_phonetic: 2, none: 3, matched: 4 };

/** What needs a look first (not found, ambiguous, similar name, unchecked), then the found; by name within. */
export function sortRegistry(children: readonly ChildRegistryStatus[]): ChildRegistryStatus[] {
  return [...children].sort(
    (a, b) =>
      ORDER[a.status ?? 'none'] - ORDER[b.status ?? 'none'] ||
      a.last_name.localeCompare(b.last_name, 'de') ||
      a.first_name.localeCompare(b.first_name, 'de'),
  );
}

/** Counts per result for the summary line ("12 gefunden · 2 nicht gefunden · …"); zero counts left out. */
export function registrySummary(children: readonly ChildRegistryStatus[]): string {
  const n = (s: MatchStatus | null) => children.filter((c) => c.status === s).length;
  const parts: [number, MessageKey][] = [
    [n('matched'), 'city.count.matched'],
    [n('matched_phonetic'), 'city.count.phonetic'],
    [n('not_found'), 'city.count.notFound'],
    [n('ambiguous'), 'city.count.ambiguous'],
    [n(null), 'city.count.unchecked'],
  ];
  return parts
    .filter(([count]) => count > 0)
    .map(([count, key]) => t(key, { n: count }))
    .join(' · ');
}

/** The "Stand" line, or the empty state when nothing was ever fetched. */
export function standLine(o: Pick<CityOverview, 'fetched_at' | 'enrolled'>): { text: string; empty: boolean } {
  if (o.fetched_at) return { text: t('city.stand', { when: formatDateTime(o.fetched_at) }), empty: false };
  return { text: o.enrolled ? t('city.neverFetched') : t('city.notEnrolled'), empty: true };
}

/** The extract line: "Melderegister-Auszug „…“ vom 22.11.2026, 09:00 (48.213 Einwohner)". */
export function extractLine(o: Pick<CityOverview, 'registry' | 'fetched_at'>): string | null {
  const e = o.registry.extract;
  if (e) return t('city.extract', { file: e.file_name, when: formatDateTime(e.imported_at), rows: e.rows.toLocaleString('de-DE') });
  return o.fetched_at ? t('city.noExtract') : null;
}

export function birth(iso: string): string {
  return formatDate(iso);
}
