// The pure part of the fee and billing screens: months as the office types them, the run's
// progress, its problems and files. The amounts and rules themselves come from Rust.

import type { BillingPhase } from './bindings/BillingPhase';
import type { BillingProblem } from './bindings/BillingProblem';
import type { BillingProgress } from './bindings/BillingProgress';
import type { BillingSummary } from './bindings/BillingSummary';
import type { ProblemKind } from './bindings/ProblemKind';
import type { ReductionAmount } from './bindings/ReductionAmount';
import { t } from './i18n';

function iso(y: number, m: number): string {
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-01`;
}

/** The first of the month `n` months after the month of `monthIso` (`2026-12-01`, 1 → `2027-01-01`). */
export function addMonths(monthIso: string, n: number): string {
  const y = Number(monthIso.slice(0, 4));
  const m = Number(monthIso.slice(5, 7)) - 1 + n;
  return iso(y + Math.floor(m / 12), (((m % 12) + 12) % 12) + 1);
}

/** The month billed by default: the next one (as the Rust side defaults), in local time. */
export function nextMonth(now: Date = new Date()): string {
  return addMonths(iso(now.getFullYear(), now.getMonth() + 1), 1);
}

/** `2026-12-01` → `12/2026`, the form the month fields show. */
export function monthText(monthIso: string): string {
  return `${monthIso.slice(5, 7)}/${monthIso.slice(0, 4)}`;
}

/**
 * A typed month → its first day as `YYYY-MM-01`; null if it is no month. Accepts `12/2026`,
 * `12.2026`, `3/2027` and `2026-12`. A text field, because WebKitGTK has no month picker.
 */
export function parseMonth(text: string): string | null {
  const s = text.trim();
  let y: number, m: number;
  const de = /^(\d{1,2})\s*[./]\s*(\d{4})$/.exec(s);
  const isoM = /^(\d{4})-(\d{1,2})$/.exec(s);
  if (de) [m, y] = [Number(de[1]), Number(de[2])];
  else if (isoM) [y, m] = [Number(isoM[1]), Number(isoM[2])];
  else return null;
  if (m < 1 || m > 12 || y < 1900 || y > 2999) return null;
  return iso(y, m);
}

/** The German name of a phase of the run. */
export function phaseLabel(phase: BillingPhase): string {
  return t(`billing.phase.${phase}`);
}

/** 0–100 for the progress bar: the share of the current phase that is done; `done` is 100. */
export function progressPercent(p: BillingProgress | null): number {
  if (!p) return 0;
  if (p.phase === 'done') return 100;
  if (p.total <= 0) return 0;
  return Math.round((Math.min(Math.max(p.done, 0), p.total) / p.total) * 100);
}

/** "Rechnungen erstellen – 50 von 120" (the count only where a phase has more than one step). */
export function progressText(p: BillingProgress | null): string {
  if (!p) return t('billing.phase.waiting');
  const label = phaseLabel(p.phase);
  return p.total > 1 ? t('billing.progressCount', { phase: label, done: Math.min(p.done, p.total), total: p.total }) : label;
}

/** The order in which problem kinds are listed: what stops a family's billing first. */
export const PROBLEM_ORDER: readonly ProblemKind[] = ['fee_not_computable', 'no_guardian', 'refund', 'mandate_lapsed', 'no_mandate'];

export interface ProblemGroup {
  kind: ProblemKind;
  label: string;
  problems: BillingProblem[];
}

/** The problems by kind (in `PROBLEM_ORDER`, empty kinds left out), families by name. */
export function groupProblems(problems: readonly BillingProblem[]): ProblemGroup[] {
  return PROBLEM_ORDER.map((kind) => ({
    kind,
    label: t(`billing.problem.${kind}`),
    problems: problems.filter((p) => p.kind === kind).sort((a, b) => a.family.localeCompare(b.family, 'de-DE')),
  })).filter((g) => g.problems.length > 0);
}

/** The last part of a path (`/a/b/Sammeldruck.pdf` → `Sammeldruck.pdf`; Windows paths too). */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] ?? path;
}

function parentName(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts.length > 1 ? parts[parts.length - 2] : '';
}

export function isPdf(path: string): boolean {
  return /\.pdf$/i.test(path);
}

export interface RunFiles {
  /** One PDF per document, in `Rechnungen/`. */
  invoices: string[];
  /** `Sammeldruck.pdf`, all documents in one print file (missing when the run made none). */
  print: string | null;
  /** The SEPA direct-debit file (missing when nothing is collected). */
  sepa: string | null;
  /** `Kassenexport.csv`. */
  cashier: string | null;
  /** Anything else the run wrote. */
  other: string[];
}

/** The run's files sorted into what the summary shows. */
export function runFiles(files: readonly string[]): RunFiles {
  const out: RunFiles = { invoices: [], print: null, sepa: null, cashier: null, other: [] };
  for (const f of files) {
    const name = baseName(f);
    if (parentName(f) === 'Rechnungen' && isPdf(f)) out.invoices.push(f);
    else if (name === 'Sammeldruck.pdf') out.print = f;
    else if (/^SEPA-.*\.xml$/i.test(name)) out.sepa = f;
    else if (name === 'Kassenexport.csv') out.cashier = f;
    else out.other.push(f);
  }
  return out;
}

/** Run time: `850 ms`, `4,2 s`, `2 min 05 s`. */
export function formatMillis(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(Math.round(ms / 100) / 10).toLocaleString('de-DE', { minimumFractionDigits: 1 })} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/** The German name of a reduction. */
export function reductionLabel(r: Pick<ReductionAmount, 'kind'>): string {
  return t(`reduction.${r.kind}`);
}

/** A summary's counts of documents as one line: "3 neu · 1 Ersatzrechnung · …". */
export function documentCounts(s: Pick<BillingSummary, 'new_invoices' | 'replacements' | 'credit_notes' | 'unchanged'>): string {
  return t('billing.counts', { new: s.new_invoices, replacements: s.replacements, credits: s.credit_notes, unchanged: s.unchanged });
}

/** The claim's months from the two fields, or why not. */
export function claimRange(fromText: string, toText: string): { from: string; to: string } | { error: string } {
  const from = parseMonth(fromText);
  if (!from) return { error: t('billing.invalidMonth', { field: t('billing.claimFrom') }) };
  const to = parseMonth(toText);
  if (!to) return { error: t('billing.invalidMonth', { field: t('billing.claimTo') }) };
  if (to < from) return { error: t('billing.claimOrder') };
  return { from, to };
}
