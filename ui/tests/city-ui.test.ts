// "Stadtabgleich" against a mocked shell: the labels and pills of proposals and registry
// results, the order of the registry list, the "Stand" line and the empty states, deciding a
// proposal with its confirmation step, and what a role without the permission sees.
import { describe, expect, test } from 'vitest';
import { mount } from 'svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import { settle, useDom } from './dom';
import { DIRECTOR, session } from './fixtures';
import City from '../src/lib/screens/City.svelte';
import { canDecide, decisionNote, extractLine, matchPill, proposalPill, registrySpelling, registrySummary, sortRegistry, standLine } from '../src/lib/city';
import type { CityOverview } from '../src/lib/bindings/CityOverview';
import type { CityProposal } from '../src/lib/bindings/CityProposal';
import type { ChildRegistryStatus } from '../src/lib/bindings/ChildRegistryStatus';

const dom = useDom();
const q = dom.q;
const text = (id: string) => q(id)?.textContent?.replace(/\s+/g, ' ').trim();

const OPEN: CityProposal = {
  id: 'p-1',
  reason: 'gleiches Geburtsdatum, Nachname klingt gleich, gleicher Vorname',
  score: 70,
  state: 'open',
  decided_at: null,
  child: { child_id: 'c-1', first_name: 'Jürgen', last_name: 'Meier', birth_date: '2023-05-17' },
  other: { first_name: 'Jürgen', last_name: 'Maier', birth_date: '2023-05-17', facility_name: 'Kita Pusteblume' },
  status: 'open',
  local: null,
  fetched_at: '2026-11-24T09:20:00Z',
};

const CONFIRMED: CityProposal = {
  ...OPEN,
  id: 'p-2',
  score: 100,
  state: 'confirmed',
  decided_at: '2026-11-21T09:00:00Z',
  child: { child_id: 'c-2', first_name: 'Paula', last_name: 'Schmidt', birth_date: '2022-01-10' },
  other: { first_name: 'Paula', last_name: 'Schmitt', birth_date: '2022-01-10', facility_name: 'Kita Löwenzahn' },
  status: 'confirmed',
};

function child(id: string, first: string, last: string, status: ChildRegistryStatus['status'], registry_name: string | null = null): ChildRegistryStatus {
  return { child_id: id, first_name: first, last_name: last, birth_date: '2023-05-17', status, registry_name, checked_at: status ? '2026-11-22T10:00:00Z' : null };
}

const CHILDREN: ChildRegistryStatus[] = [
  child('r-1', 'Emil', 'Abendroth', 'matched', 'Emil Abendroth'),
  child('r-2', 'Paula', 'Maier', 'matched_phonetic', 'Paula Mayer'),
  child('r-3', 'Lotta', 'Krause', 'ambiguous'),
  child('r-4', 'Mats', 'Zander', 'not_found'),
  child('r-5', 'Ida', 'Berg', null),
  child('r-6', 'Ben', 'Adler', 'matched', 'Ben Adler'),
];

function overview(extra: Partial<CityOverview> = {}): CityOverview {
  return {
    enrolled: true,
    fetched_at: '2026-11-24T09:20:00Z',
    last_error: null,
    last_error_at: null,
    proposals: [structuredClone(OPEN), structuredClone(CONFIRMED)],
    registry: {
      extract: { id: 'x-1', imported_at: '2026-11-22T08:00:00Z', file_name: 'melderegister-leipzig-kinder.csv', rows: 48213, encoding: 'UTF-8' },
      children: structuredClone(CHILDREN),
    },
    ...extra,
  };
}

describe('labels and pills', () => {
  test('proposal states', () => {
    expect(proposalPill('open')).toEqual({ text: 'offen', kind: 'open' });
    expect(proposalPill('confirmed')).toEqual({ text: 'bestätigt', kind: 'confirmed' });
    expect(proposalPill('rejected')).toEqual({ text: 'abgelehnt', kind: 'rejected' });
    expect(proposalPill('sending')).toEqual({ text: 'wird gesendet', kind: 'sending' });
    expect(canDecide(OPEN)).toBe(true);
    for (const status of ['confirmed', 'rejected', 'sending'] as const) expect(canDecide({ status })).toBe(false);
  });

  test('registry results, the registry spelling only for a similar name', () => {
    expect(matchPill({ status: 'matched' }).text).toBe('Gefunden');
    expect(matchPill({ status: 'matched_phonetic' })).toEqual({ text: 'Ähnlicher Name – bitte prüfen', kind: 'check' });
    expect(matchPill({ status: 'not_found' })).toEqual({ text: 'Nicht gefunden', kind: 'missing' });
    expect(matchPill({ status: 'ambiguous' }).text).toBe('Mehrdeutig');
    expect(matchPill({ status: null })).toEqual({ text: 'Noch nicht geprüft', kind: 'unchecked' });
    expect(registrySpelling({ status: 'matched_phonetic', registry_name: 'Paula Mayer' })).toBe('im Melderegister: Paula Mayer');
    expect(registrySpelling({ status: 'matched', registry_name: 'Emil Abendroth' })).toBeNull();
  });

  test('the registry list: what needs a look first, by name within', () => {
    expect(sortRegistry(CHILDREN).map((c) => c.last_name)).toEqual(['Zander', 'Krause', 'Maier', 'Berg', 'Abendroth', 'Adler']);
    expect(registrySummary(CHILDREN)).toBe('2 gefunden · 1 mit ähnlichem Namen · 1 nicht gefunden · 1 mehrdeutig · 1 noch nicht geprüft');
    expect(registrySummary([])).toBe('');
  });

  test('a decision made here: who, when, waiting; a refusal of the hub', () => {
    const local = { decision: 'confirmed' as const, decided_by: 'Sabine Sonnenschein', decided_at: '2026-11-24T10:00:00Z', sent_at: null, error: null };
    expect(decisionNote({ status: 'sending', local })).toMatch(/^Dasselbe Kind: entschieden von Sabine Sonnenschein am 24\.11\.2026, \d\d:00, wird beim nächsten Abgleich gesendet$/);
    expect(decisionNote({ status: 'confirmed', local: { ...local, sent_at: '2026-11-24T10:01:00Z' } })).toMatch(/^Dasselbe Kind: entschieden von Sabine/);
    expect(decisionNote({ status: 'rejected', local: { ...local, error: 'Über diesen Dublettenvorschlag wurde bereits entschieden: abgelehnt (verschiedene Kinder)' } })).toBe(
      'Der Hub hat die Entscheidung nicht übernommen: Über diesen Dublettenvorschlag wurde bereits entschieden: abgelehnt (verschiedene Kinder)',
    );
    expect(decisionNote({ status: 'open', local: null })).toBeNull();
  });

  test('Stand, never fetched, not enrolled, the extract', () => {
    expect(standLine({ fetched_at: '2026-11-24T09:20:00Z', enrolled: true })).toMatchObject({ empty: false });
    expect(standLine({ fetched_at: '2026-11-24T09:20:00Z', enrolled: true }).text).toMatch(/^Stand: 24\.11\.2026, \d\d:20$/);
    expect(standLine({ fetched_at: null, enrolled: true })).toEqual({
      text: 'Noch kein Stand vom Hub: Der nächste Abgleich holt die Vorschläge der Stadt und den Abgleich mit dem Melderegister.',
      empty: true,
    });
    expect(standLine({ fetched_at: null, enrolled: false }).text).toMatch(/^Dieser PC ist nicht beim Hub angemeldet \(Offline-Betrieb\)/);
    expect(extractLine(overview())).toMatch(/^Melderegister-Auszug „melderegister-leipzig-kinder\.csv“ vom 22\.11\.2026, \d\d:00 \(48\.213 Einwohner\)$/);
    expect(extractLine(overview({ registry: { extract: null, children: [] } }))).toBe('Der Hub hat noch keinen Melderegister-Auszug.');
    expect(extractLine(overview({ fetched_at: null, registry: { extract: null, children: [] } }))).toBeNull();
  });
});

interface Shell {
  calls: { cmd: string; args: unknown }[];
}

function cityShell(data: CityOverview): Shell {
  const shell: Shell = { calls: [] };
  mockIPC((cmd, args) => {
    shell.calls.push({ cmd, args });
    const input = (args as { input?: Record<string, unknown> } | undefined)?.input;
    switch (cmd) {
      case 'city_overview':
        return data;
      case 'decide_duplicate': {
        const p = data.proposals.find((x) => x.id === input?.proposal_id)!;
        p.status = 'sending';
        p.local = { decision: input?.decision as 'confirmed', decided_by: 'Anna Leitner', decided_at: '2026-11-24T10:00:00Z', sent_at: null, error: null };
        return p;
      }
      default:
        return null;
    }
  });
  return shell;
}

describe('Stadtabgleich', () => {
  test('the table of proposals: our child, the other child with its facility, reason, status', async () => {
    cityShell(overview());
    dom.component = mount(City, { target: dom.target, props: { session: session(DIRECTOR) } });
    await settle();
    expect(text('city-stand')).toMatch(/^Stand: 24\.11\.2026, \d\d:20$/);
    expect(q('city-empty')).toBeNull();
    const table = q('city-proposals')!;
    expect([...table.querySelectorAll('thead th')].map((th) => th.textContent)).toEqual(['Kind bei uns', 'Kind in anderer Einrichtung', 'Grund', 'Status', 'Entscheidung']);
    const row = q('city-proposal-p-1')!;
    const cells = [...row.children].map((c) => c.textContent?.replace(/\s+/g, ' ').trim());
    expect(cells.slice(0, 4)).toEqual([
      'Jürgen Meier geb. 17.05.2023',
      'Jürgen Maier geb. 17.05.2023 · Kita Pusteblume',
      'gleiches Geburtsdatum, Nachname klingt gleich, gleicher Vorname',
      'offen',
    ]);
    expect(text('city-same-p-1')).toBe('Dasselbe Kind');
    expect(text('city-different-p-1')).toBe('Verschiedene Kinder');
    // A decided proposal: its pill, no buttons.
    expect(text('city-status-p-2')).toBe('bestätigt');
    expect(q('city-same-p-2')).toBeNull();
  });

  test('the registry part: extract, summary, the list with pills and the registry spelling', async () => {
    cityShell(overview());
    dom.component = mount(City, { target: dom.target, props: { session: session(DIRECTOR) } });
    await settle();
    expect(text('city-extract')).toContain('Melderegister-Auszug „melderegister-leipzig-kinder.csv“');
    expect(dom.target.textContent).toContain('außerhalb Leipzigs');
    expect(dom.target.textContent).toContain('Ticket des Jugendamts');
    const rows = [...q('city-registry')!.querySelectorAll('tbody tr')].map((tr) => [...tr.children].map((c) => c.textContent?.replace(/\s+/g, ' ').trim()));
    expect(rows[0].slice(0, 3)).toEqual(['Mats Zander', '17.05.2023', 'Nicht gefunden']);
    expect(rows.find((r) => r[0] === 'Paula Maier')?.[2]).toBe('Ähnlicher Name – bitte prüfen im Melderegister: Paula Mayer');
    expect(rows.find((r) => r[0] === 'Ida Berg')?.slice(2)).toEqual(['Noch nicht geprüft', '–']);
    expect(q('city-registry-r-3')?.dataset.status).toBe('ambiguous');
    expect(text('city-registry-summary')).toContain('1 nicht gefunden');
  });

  test('deciding asks first (explaining that nothing is merged); cancel sends nothing, confirming shows "wird gesendet"', async () => {
    const shell = cityShell(overview());
    dom.component = mount(City, { target: dom.target, props: { session: session(DIRECTOR) } });
    await settle();
    q('city-same-p-1')!.click();
    await settle();
    const dialog = document.querySelector('[data-testid="city-confirm"]')!;
    expect(dialog.querySelector('h2')?.textContent).toBe('Dasselbe Kind?');
    expect(dialog.textContent).toContain('Jürgen Meier (bei uns) und Jürgen Maier (Kita Pusteblume) sind dasselbe Kind');
    expect(dialog.textContent).toContain('nichts automatisch zusammengeführt');
    (document.querySelector('[data-testid="city-confirm-no"]') as HTMLButtonElement).click();
    await settle();
    expect(shell.calls.some((c) => c.cmd === 'decide_duplicate')).toBe(false);

    q('city-different-p-1')!.click();
    await settle();
    expect(document.querySelector('[data-testid="city-confirm"] h2')?.textContent).toBe('Verschiedene Kinder?');
    (document.querySelector('[data-testid="city-confirm-yes"]') as HTMLButtonElement).click();
    await settle();
    expect(shell.calls.find((c) => c.cmd === 'decide_duplicate')?.args).toEqual({ input: { proposal_id: 'p-1', decision: 'rejected' } });
    expect(text('city-status-p-1')).toBe('wird gesendet');
    expect(text('city-note-p-1')).toMatch(/^Verschiedene Kinder: entschieden von Anna Leitner am .*, wird beim nächsten Abgleich gesendet$/);
    expect(q('city-same-p-1')).toBeNull();
    expect(dom.target.textContent).toContain('Entschieden – wird beim nächsten Abgleich an den Hub gesendet.');
  });

  test('never fetched: a clear empty state, no tables', async () => {
    cityShell(overview({ fetched_at: null, enrolled: false, proposals: [], registry: { extract: null, children: [] } }));
    dom.component = mount(City, { target: dom.target, props: { session: session(DIRECTOR) } });
    await settle();
    expect(text('city-empty')).toMatch(/^Dieser PC ist nicht beim Hub angemeldet \(Offline-Betrieb\)\./);
    expect(q('city-stand')).toBeNull();
    expect(q('city-proposals')).toBeNull();
    expect(q('city-registry')).toBeNull();
  });

  test('fetched but nothing found, and a failed last fetch shown above the older state', async () => {
    cityShell(
      overview({ proposals: [], registry: { extract: null, children: [] }, last_error: 'Hub nicht erreichbar: connection refused', last_error_at: '2026-11-24T10:30:00Z' }),
    );
    dom.component = mount(City, { target: dom.target, props: { session: session(DIRECTOR) } });
    await settle();
    expect(text('city-duplicates-empty')).toBe('Keine möglichen Doppelanmeldungen.');
    expect(text('city-registry-empty')).toBe('Für diese Einrichtung liegen keine Ergebnisse vor.');
    expect(text('city-fetch-error')).toMatch(/^Abruf am 24\.11\.2026, \d\d:30 fehlgeschlagen: Hub nicht erreichbar: connection refused – angezeigt wird der ältere Stand\.$/);
    expect(text('city-stand')).toMatch(/^Stand: /);
  });

  test('without manage_applications: no decision column (Rust refuses anyway)', async () => {
    cityShell(overview());
    dom.component = mount(City, { target: dom.target, props: { session: session(['read_applications']) } });
    await settle();
    expect([...q('city-proposals')!.querySelectorAll('thead th')].map((th) => th.textContent)).not.toContain('Entscheidung');
    expect(q('city-same-p-1')).toBeNull();
  });

  test('an error of the call is shown in German', async () => {
    mockIPC((cmd) => {
      if (cmd === 'city_overview') throw { code: 'permission_denied', message: 'Dafür fehlt Ihnen die Berechtigung.' };
      return null;
    });
    dom.component = mount(City, { target: dom.target, props: { session: session(DIRECTOR) } });
    await settle();
    expect(q('error')?.textContent).toBe('Dafür fehlt Ihnen die Berechtigung.');
    expect(q('city-proposals')).toBeNull();
  });
});
