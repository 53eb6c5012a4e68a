// Sync in the UI against a mocked shell: the status bar in each of its states, the
// clarification inbox (conflict table, alternatives, retry and dismiss with confirmation) and
// the hub connection in the settings.
import { describe, expect, test, vi } from 'vitest';
import { flushSync, mount } from 'svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import { settle, useDom } from './dom';
import { DIRECTOR, EDUCATOR, session } from './fixtures';
import SyncIndicator from '../src/lib/components/SyncIndicator.svelte';
import Clarification from '../src/lib/screens/Clarification.svelte';
import Settings from '../src/lib/screens/Settings.svelte';
import { app } from '../src/lib/state.svelte';
import { commandLabel, describeTheirs, fieldLabel, formatValue, syncView, syncedAgo } from '../src/lib/sync';
import type { InboxItem } from '../src/lib/bindings/InboxItem';
import type { SyncStatus } from '../src/lib/bindings/SyncStatus';

const dom = useDom();
const q = dom.q;
const text = (id: string) => q(id)?.textContent?.replace(/\s+/g, ' ').trim();

const NOW = new Date('2026-11-24T10:00:00Z');
const ENROLMENT = { hub_url: 'https://hub.leipzig.de', device_id: 'd-1', facility_id: 'f-1', provider_id: 'p-1' };

function status(extra: Partial<SyncStatus> = {}): SyncStatus {
  return { enrolment: ENROLMENT, last_sync_at: '2026-11-24T09:57:00Z', pending: 0, inbox_open: 0, last_error: null, upgrade_required: false, ...extra };
}

describe('status bar texts', () => {
  test('offline, never, minutes and hours ago', () => {
    expect(syncView(status({ enrolment: null, pending: 4 }), NOW)).toMatchObject({ enrolled: false, state: 'Offline-Betrieb (nicht mit dem Hub verbunden)', pending: null });
    expect(syncView(status({ last_sync_at: null }), NOW).state).toBe('Noch nie synchronisiert');
    expect(syncView(status(), NOW).state).toBe('Synchronisiert vor 3 Min.');
    expect(syncedAgo('2026-11-24T09:59:40Z', NOW)).toBe('gerade eben');
    expect(syncedAgo('2026-11-24T07:10:00Z', NOW)).toBe('vor 2 Std.');
    expect(syncedAgo('2026-11-20T07:10:00Z', NOW)).toMatch(/^am 20\.11\.2026, \d\d:10$/);
  });

  test('pending changes, errors and the upgrade', () => {
    expect(syncView(status({ pending: 12 }), NOW).pending).toBe('12 Änderungen warten');
    expect(syncView(status({ pending: 1 }), NOW).pending).toBe('1 Änderung wartet');
    const down = syncView(status({ last_error: 'Hub nicht erreichbar: tcp connect error' }), NOW);
    expect(down.error).toBe('Hub nicht erreichbar – neuer Versuch läuft');
    expect(down.errorDetail).toBe('Hub nicht erreichbar: tcp connect error');
    expect(syncView(status({ last_error: 'Hub-Fehler: Interner Fehler des Hubs' }), NOW).error).toBe('Hub-Fehler: Interner Fehler des Hubs – neuer Versuch läuft');
    // The hub answers, but its database is away (503): for the office that is "not reachable" too.
    expect(syncView(status({ last_error: 'Hub-Fehler: Der Hub ist gerade nicht erreichbar; bitte später erneut versuchen' }), NOW).error).toBe('Hub nicht erreichbar – neuer Versuch läuft');
    const old = syncView(status({ upgrade_required: true, last_error: 'Der Hub verlangt eine neuere Version von Kitakontor: 2' }), NOW);
    expect(old.upgrade).toBe('Update erforderlich');
    expect(old.error).toBeNull();
  });
});

describe('German labels and values', () => {
  test('every domain command has a German name', () => {
    const names = [
      'UpsertFacility', 'CreateGroup', 'AssignStaff', 'CreateUser', 'SetUserRole', 'DeactivateUser', 'ResetPassword', 'CreateChild',
      'UpdateChild', 'DeleteChild', 'RecordHealth', 'AddGuardian', 'LinkGuardian', 'SetGuardianFinance', 'SetPickupPersons',
      'RecordMandate', 'RevokeMandate', 'SetCreditor', 'SubmitApplication', 'SetApplicationPriority', 'RejectApplication',
      'WithdrawApplication', 'ReservePlace', 'CancelReservation', 'ExpireReservation', 'ConcludeContract', 'AmendContract',
      'TerminateContract', 'RecordAttendance', 'RequestTicket', 'RecordTicketDecision',
    ];
    expect(names).toHaveLength(31);
    for (const n of names) expect(commandLabel(n), n).not.toBe(n);
    expect(commandLabel('ReservePlace')).toBe('Platz reservieren');
    expect(commandLabel('SomethingNew')).toBe('SomethingNew');
  });

  test('fields and values as people read them', () => {
    expect(fieldLabel('first_name')).toBe('Vorname');
    expect(fieldLabel('address')).toBe('Anschrift');
    expect(formatValue('address', { street: 'Gohliser Straße 12', postal_code: '04155', city: 'Leipzig' })).toBe('Gohliser Straße 12, 04155 Leipzig');
    expect(formatValue('birth_date', '2024-03-05')).toBe('05.03.2024');
    expect(formatValue('income_cents', 4200000).replace(/\s/g, ' ')).toBe('42.000,00 €');
    expect(formatValue('persons', ['Gisela Krause (Großmutter)', 'Jonas Lind (Nachbar)'])).toBe('Gisela Krause (Großmutter), Jonas Lind (Nachbar)');
    expect(formatValue('last_name', null)).toBe('–');
    expect(describeTheirs('UpdateChild von Büro-PC 2 am 24.11.2026 07:05 UTC')).toBe('Stammdaten ändern von Büro-PC 2 am 24.11.2026 07:05 UTC');
  });
});

describe('SyncIndicator', () => {
  function show(s: SyncStatus | null, extra: { onopeninbox?: () => void; onstatus?: (s: SyncStatus) => void } = {}) {
    dom.component = mount(SyncIndicator, { target: dom.target, props: { status: s, onopeninbox: extra.onopeninbox ?? (() => {}), onstatus: extra.onstatus ?? (() => {}) } });
    flushSync();
  }

  test('not enrolled: offline operation, no button, but the inbox badge', () => {
    const onopeninbox = vi.fn();
    show(status({ enrolment: null, inbox_open: 2 }), { onopeninbox });
    expect(text('sync-state')).toBe('Offline-Betrieb (nicht mit dem Hub verbunden)');
    expect(q('sync-indicator')?.dataset.enrolled).toBe('false');
    expect(q('sync-now')).toBeNull();
    expect(q('sync-pending')).toBeNull();
    expect(text('sync-inbox')).toBe('Klärungsbedarf: 2');
    q('sync-inbox')!.click();
    expect(onopeninbox).toHaveBeenCalledTimes(1);
  });

  test('never synced', () => {
    show(status({ last_sync_at: null }));
    expect(text('sync-state')).toBe('Noch nie synchronisiert');
    expect(q('sync-inbox')).toBeNull();
    expect(q('sync-now')).not.toBeNull();
  });

  test('synced minutes ago with changes waiting', () => {
    const threeMinAgo = new Date(Date.now() - 3 * 60_000 - 5_000).toISOString();
    show(status({ last_sync_at: threeMinAgo, pending: 12 }));
    expect(text('sync-state')).toBe('Synchronisiert vor 3 Min.');
    expect(text('sync-pending')).toBe('12 Änderungen warten');
    expect(q('sync-error')).toBeNull();
  });

  test('hub unreachable: the error line, the detail as tooltip', () => {
    show(status({ last_error: 'Hub nicht erreichbar: connection refused', pending: 1 }));
    expect(text('sync-error')).toBe('Hub nicht erreichbar – neuer Versuch läuft');
    expect(q('sync-error')?.getAttribute('title')).toBe('Hub nicht erreichbar: connection refused');
    expect(q('sync-state')?.classList.contains('trouble')).toBe(true);
    expect(text('sync-pending')).toBe('1 Änderung wartet');
  });

  test('upgrade required', () => {
    show(status({ upgrade_required: true, last_error: 'Der Hub verlangt eine neuere Version von Kitakontor: Protokoll 2' }));
    expect(text('sync-upgrade')).toBe('Update erforderlich');
    expect(q('sync-error')).toBeNull();
  });

  test('"Jetzt synchronisieren" calls sync_now and passes the answer on', async () => {
    const calls: string[] = [];
    const after = status({ pending: 0, last_sync_at: new Date().toISOString() });
    mockIPC((cmd) => {
      calls.push(cmd);
      return cmd === 'sync_now' ? after : null;
    });
    const onstatus = vi.fn();
    show(status({ pending: 3 }), { onstatus });
    q('sync-now')!.click();
    await settle();
    expect(calls).toEqual(['sync_now']);
    expect(onstatus).toHaveBeenCalledWith(after);
  });

  test('nothing loaded yet: an empty bar', () => {
    show(null);
    expect(q('sync-state')).toBeNull();
  });
});

const CONFLICT: InboxItem = {
  id: 2,
  command_id: 'cmd-2',
  name: 'UpdateChild',
  args: { child_id: 'c-1', last_name: 'Özil-Brandt', first_name: null },
  outcome: {
    status: 'conflict',
    record: 'child:c-1',
    fields: [
      { field: 'last_name', theirs: 'Özil', ours: 'Özil-Brandt' },
      { field: 'address', theirs: { street: 'Gohliser Straße 12', postal_code: '04155', city: 'Leipzig' }, ours: { street: 'Eisenbahnstraße 3', postal_code: '04315', city: 'Leipzig' } },
    ],
    theirs_by: 'UpdateChild von Büro-PC 2 am 24.11.2026 07:05 UTC',
  },
  user_id: 'u-1',
  author: 'Sabine Sonnenschein',
  child_name: 'Lena Özil',
  created_at: '2026-11-24T08:00:00Z',
  resolved_at: null,
  resolution: null,
};

const REJECTED: InboxItem = {
  id: 1,
  command_id: 'cmd-1',
  name: 'ReservePlace',
  args: { application_id: 'a-1' },
  outcome: {
    status: 'rejected',
    code: 'no_place',
    message: 'Kein freier Krippe-Platz ab 01.03.2027 in Kita Sonnenblume: der Hub hat den letzten Platz bereits einer anderen Reservierung gegeben.',
    alternatives: [{ facility_id: 'f-2', facility_name: 'Kita Auenwald', free_places: 3 }],
  },
  user_id: 'u-1',
  author: 'Sabine Sonnenschein',
  child_name: 'Ömer Yıldız',
  created_at: '2026-11-23T08:00:00Z',
  resolved_at: null,
  resolution: null,
};

interface Hub {
  calls: { cmd: string; args: unknown }[];
  items: InboxItem[];
}

function inboxShell(items: InboxItem[]): Hub {
  const hub: Hub = { calls: [], items: structuredClone(items) };
  mockIPC((cmd, args) => {
    hub.calls.push({ cmd, args });
    const input = (args as { input?: Record<string, unknown> } | undefined)?.input;
    switch (cmd) {
      case 'inbox':
        return input?.include_resolved ? hub.items : hub.items.filter((i) => !i.resolved_at);
      case 'resolve_inbox': {
        const it = hub.items.find((i) => i.id === input?.id)!;
        it.resolved_at = '2026-11-24T10:00:00Z';
        it.resolution = input?.action === 'retry' ? 'retried' : 'dismissed';
        return input?.action === 'retry' ? { command_id: 'new', client_seq: 9 } : null;
      }
      case 'sync_status':
        return status({ enrolment: null, inbox_open: hub.items.filter((i) => !i.resolved_at).length });
      default:
        return null;
    }
  });
  return hub;
}

describe('Klärungsbedarf', () => {
  test('a conflict: German command label, who and when, the table Feld | Stand im Hub | Ihre Eingabe', async () => {
    inboxShell([CONFLICT, REJECTED]);
    dom.component = mount(Clarification, { target: dom.target });
    await settle();
    expect(q('inbox-list')?.dataset.open).toBe('2');
    const card = q('inbox-entry-2')!;
    expect(card.querySelector('h2')?.textContent).toBe('Stammdaten ändern – Lena Özil');
    expect(card.textContent).toContain('Konflikt');
    expect(card.textContent).toMatch(/Eingegeben von Sabine Sonnenschein am 24\.11\.2026, \d\d:00/);
    expect(card.textContent).toContain('Geändert: Stammdaten ändern von Büro-PC 2 am 24.11.2026 07:05 UTC');
    const table = q('inbox-fields-2')!;
    expect([...table.querySelectorAll('thead th')].map((th) => th.textContent)).toEqual(['Feld', 'Stand im Hub', 'Ihre Eingabe']);
    const rows = [...table.querySelectorAll('tbody tr')].map((tr) => [...tr.children].map((c) => c.textContent));
    expect(rows).toEqual([
      ['Nachname', 'Özil', 'Özil-Brandt'],
      ['Anschrift', 'Gohliser Straße 12, 04155 Leipzig', 'Eisenbahnstraße 3, 04315 Leipzig'],
    ]);
    expect(text('inbox-dismiss-2')).toBe('Stand des Hubs behalten');
    expect(text('inbox-retry-2')).toBe('Meine Eingabe erneut senden');
    expect(q('inbox-empty')).toBeNull();
  });

  test('a refused reservation: the hub message and the alternatives', async () => {
    inboxShell([REJECTED]);
    dom.component = mount(Clarification, { target: dom.target });
    await settle();
    const card = q('inbox-entry-1')!;
    expect(card.querySelector('h2')?.textContent).toBe('Platz reservieren – Ömer Yıldız');
    expect(card.textContent).toContain('Abgelehnt');
    expect(text('inbox-message-1')).toContain('Kein freier Krippe-Platz ab 01.03.2027 in Kita Sonnenblume');
    expect(text('inbox-alternatives-1')).toBe('Kita Auenwald: 3 freie Plätze');
    expect(text('inbox-dismiss-1')).toBe('Verwerfen');
  });

  test('retry sends the entry again at once', async () => {
    const hub = inboxShell([CONFLICT, REJECTED]);
    dom.component = mount(Clarification, { target: dom.target });
    await settle();
    q('inbox-retry-2')!.click();
    await settle();
    expect(hub.calls.find((c) => c.cmd === 'resolve_inbox')?.args).toEqual({ input: { id: 2, action: 'retry' } });
    expect(dom.target.textContent).toContain('Ihre Eingabe wurde erneut gespeichert und wird an den Hub gesendet.');
    expect(q('inbox-entry-2')).toBeNull();
    expect(q('inbox-list')?.dataset.open).toBe('1');
    expect(app.sync?.inbox_open).toBe(1);
  });

  test('dismiss asks first; cancel changes nothing, confirming closes the entry', async () => {
    const hub = inboxShell([REJECTED]);
    dom.component = mount(Clarification, { target: dom.target });
    await settle();
    q('inbox-dismiss-1')!.click();
    await settle();
    const dialog = document.querySelector('[data-testid="inbox-confirm"]')!;
    expect(dialog.querySelector('h2')?.textContent).toBe('Verwerfen?');
    expect(dialog.textContent).toContain('Ihre Eingabe „Platz reservieren“ wird nicht an den Hub gesendet');
    (document.querySelector('[data-testid="inbox-confirm-no"]') as HTMLButtonElement).click();
    await settle();
    expect(hub.calls.some((c) => c.cmd === 'resolve_inbox')).toBe(false);
    expect(document.querySelector('[data-testid="inbox-confirm"]')).toBeNull();

    q('inbox-dismiss-1')!.click();
    await settle();
    (document.querySelector('[data-testid="inbox-confirm-yes"]') as HTMLButtonElement).click();
    await settle();
    expect(hub.calls.find((c) => c.cmd === 'resolve_inbox')?.args).toEqual({ input: { id: 1, action: 'dismiss' } });
    expect(text('inbox-empty')).toBe('Kein Klärungsbedarf – alle Änderungen sind beim Hub angekommen.');
    expect(app.sync?.inbox_open).toBe(0);

    // Resolved entries only behind the toggle.
    (q('inbox-show-resolved') as HTMLInputElement).click();
    await settle();
    expect(hub.calls.filter((c) => c.cmd === 'inbox').slice(-1)[0]?.args).toEqual({ input: { include_resolved: true } });
    expect(text('inbox-resolution-1')).toMatch(/^Erledigt am 24\.11\.2026, \d\d:00: Stand des Hubs behalten$/);
    expect(q('inbox-retry-1')).toBeNull();
  });

  test('an error of the call is shown in German, the entry stays', async () => {
    mockIPC((cmd) => {
      if (cmd === 'inbox') return [structuredClone(REJECTED)];
      if (cmd === 'resolve_inbox') throw { code: 'permission_denied', message: 'Dafür fehlt Ihnen die Berechtigung.' };
      return null;
    });
    dom.component = mount(Clarification, { target: dom.target });
    await settle();
    q('inbox-retry-1')!.click();
    await settle();
    expect(q('error')?.textContent).toBe('Dafür fehlt Ihnen die Berechtigung.');
    expect(q('inbox-entry-1')).not.toBeNull();
  });
});

describe('Verbindung zum Hub (Einstellungen)', () => {
  function settingsShell(enrolled: boolean, calls: { cmd: string; args: unknown }[]) {
    let enrolment = enrolled ? ENROLMENT : null;
    mockIPC((cmd, args) => {
      calls.push({ cmd, args });
      switch (cmd) {
        case 'settings':
          return { idle_minutes: 10, idle_max_minutes: 15, facility: { id: 'f-1', name: 'Kita Sonnenblume', municipality: 'Leipzig', capacities: [] } };
        case 'sync_status':
          return status({ enrolment });
        case 'enrol':
          enrolment = ENROLMENT;
          return ENROLMENT;
        default:
          return [];
      }
    });
  }

  test('not enrolled: the form sends the three fields; afterwards the enrolment shows', async () => {
    const calls: { cmd: string; args: unknown }[] = [];
    settingsShell(false, calls);
    app.sync = null;
    dom.component = mount(Settings, { target: dom.target, props: { session: session(DIRECTOR), onsessionchanged: () => {} } });
    await settle();
    expect(q('hub-connection')?.querySelector('h2')?.textContent).toBe('Verbindung zum Hub');
    const type = (id: string, v: string) => {
      const el = q(id) as HTMLInputElement;
      el.value = v;
      el.dispatchEvent(new Event('input', { bubbles: true }));
    };
    q('hub-enrol')!.click();
    await settle();
    expect(q('error')?.textContent).toBe('Hub-Adresse: bitte angeben');
    type('hub-url', ' https://hub.leipzig.de ');
    type('hub-code', 'ABCDE-FGHIJ-KLMNP-QRSTV');
    type('hub-device-name', 'Büro-PC 1');
    flushSync();
    q('hub-enrol')!.click();
    await settle();
    expect(calls.find((c) => c.cmd === 'enrol')?.args).toEqual({ input: { hub_url: 'https://hub.leipzig.de', code: 'ABCDE-FGHIJ-KLMNP-QRSTV', device_name: 'Büro-PC 1' } });
    expect(dom.target.textContent).toContain('Dieser PC ist jetzt beim Hub angemeldet.');
    expect(text('hub-enrolment')).toContain('https://hub.leipzig.de');
    expect(text('hub-enrolment')).toContain('Kita Sonnenblume');
    expect(q('hub-form')).toBeNull();
  });

  test('educators have no hub section', async () => {
    const calls: { cmd: string; args: unknown }[] = [];
    settingsShell(true, calls);
    dom.component = mount(Settings, { target: dom.target, props: { session: session(EDUCATOR, { role: 'educator' }), onsessionchanged: () => {} } });
    await settle();
    expect(q('hub-connection')).toBeNull();
    expect(calls.some((c) => c.cmd === 'sync_status')).toBe(false);
  });
});
