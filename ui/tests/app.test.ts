// The app as a whole in happy-dom against a mocked shell: login, screens by permission,
// attendance keys, and the lock screen that unmounts every piece of child data.
import { describe, expect, test } from 'vitest';
import { flushSync, mount } from 'svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import App from '../src/App.svelte';
import type { AttendanceRow } from '../src/lib/bindings/AttendanceRow';
import type { SessionInfo } from '../src/lib/bindings/SessionInfo';
import type { StartInfo } from '../src/lib/bindings/StartInfo';
import { settle, useDom } from './dom';
import { DIRECTOR, EDUCATOR, session } from './fixtures';

const dom = useDom();
const q = dom.q;

interface Shell {
  session: SessionInfo | null;
  calls: { cmd: string; args: unknown }[];
  attendance: AttendanceRow[];
}

function shell(s: SessionInfo, opts: { wrongPassword?: boolean } = {}): Shell {
  const state: Shell = { session: null, calls: [], attendance: [{ child_id: 'c-1', child_name: 'Lena Özil', group: 'Sonnen', status: 'not_recorded', last_event: null }] };
  mockIPC((cmd, args) => {
    state.calls.push({ cmd, args });
    const input = (args as { input?: Record<string, unknown> } | undefined)?.input;
    switch (cmd) {
      case 'start_info':
        return { demo: true, needs_setup: false, accounts: [{ user_id: s.user_id, username: s.username, display_name: s.display_name, role: s.role, has_pin: s.has_pin, active: true }], session: state.session } satisfies StartInfo;
      case 'login':
        if (opts.wrongPassword && input?.password !== 'richtig') throw { code: 'auth_failed', message: 'Benutzername oder Passwort ist falsch.' };
        state.session = s;
        return s;
      case 'lock':
        if (state.session) state.session = { ...state.session, locked: true };
        return null;
      case 'unlock':
        if (input?.pin !== '1234') throw { code: 'auth_failed', message: 'PIN falsch.' };
        state.session = s;
        return s;
      case 'logout':
        state.session = null;
        return null;
      case 'overview':
        return { months: [], expiring: [], attendance: null, pending: { outbox: 3, open_applications: 0, tickets_requested: 0, files_in_inbox: 0 } };
      case 'sync_status':
        return { enrolment: null, last_sync_at: null, pending: 3, inbox_open: 1, last_error: null, upgrade_required: false };
      case 'attendance_today':
        return state.attendance;
      case 'record_attendance':
        state.attendance = [{ ...state.attendance[0], status: { present: { since: '2026-03-02T07:15:00Z' } }, last_event: 'e-1' }];
        return { command_id: 'x', client_seq: 1 };
      case 'touch':
      case 'session':
        return state.session;
      default:
        return [];
    }
  });
  return state;
}

async function loginAs(s: SessionInfo, password = 'kitakontor-demo') {
  dom.component = mount(App, { target: dom.target });
  await settle();
  q(`account-${s.username}`)!.click();
  await settle();
  const pw = q('login-password') as HTMLInputElement;
  pw.value = password;
  pw.dispatchEvent(new Event('input', { bubbles: true }));
  flushSync();
  (q('login-submit') as HTMLButtonElement).click();
  await settle();
}

describe('App', () => {
  test('login shows who is logged in, the sync status bar and the permitted screens', async () => {
    const s = session(EDUCATOR, { username: 'erzieherin', display_name: 'Eva Erzieherin', role: 'educator', role_label: 'Erzieher/in' });
    shell(s);
    await loginAs(s);
    expect(q('current-user')?.textContent).toContain('Eva Erzieherin · Erzieher/in · Kita Sonnenschein');
    expect(q('screen-overview')).not.toBeNull();
    // Not enrolled: offline operation, no sync button; the open clarification entry of this role.
    expect(q('sync-state')?.textContent?.trim()).toBe('Offline-Betrieb (nicht mit dem Hub verbunden)');
    expect(q('sync-now')).toBeNull();
    expect(q('sync-inbox')?.textContent?.trim()).toBe('Klärungsbedarf: 1');
    expect(q('nav-clarification-count')?.textContent).toContain('1');
    expect(q('nav-attendance')).not.toBeNull();
    expect(q('nav-applications')).toBeNull();
    expect(q('nav-contracts')).toBeNull();
  });

  test('a wrong password shows the German error and keeps the input', async () => {
    const s = session(DIRECTOR);
    shell(s, { wrongPassword: true });
    await loginAs(s, 'falsch');
    expect(q('error')?.textContent).toBe('Benutzername oder Passwort ist falsch.');
    expect((q('login-password') as HTMLInputElement).value).toBe('falsch');
    expect(q('demo-hint')?.textContent).toContain('kitakontor-demo');
  });

  test('K on an attendance row checks the child in', async () => {
    const s = session(DIRECTOR);
    const sh = shell(s);
    await loginAs(s);
    window.dispatchEvent(new KeyboardEvent('keydown', { key: '6', code: 'Digit6', altKey: true, bubbles: true }));
    await settle();
    expect(q('screen-attendance')).not.toBeNull();
    const row = q('attendance-row-c-1')!;
    expect(q('attendance-status-c-1')?.textContent).toBe('Nicht erfasst');
    row.dispatchEvent(new KeyboardEvent('keydown', { key: 'k', bubbles: true }));
    await settle();
    expect(sh.calls.find((c) => c.cmd === 'record_attendance')?.args).toEqual({ input: { child_id: 'c-1', action: 'check_in', corrects: null } });
    expect(q('attendance-status-c-1')?.textContent).toMatch(/^Anwesend seit \d\d:\d\d$/);
  });

  test('a correction names the event it replaces', async () => {
    const s = session(DIRECTOR);
    const sh = shell(s);
    await loginAs(s);
    window.dispatchEvent(new KeyboardEvent('keydown', { key: '6', code: 'Digit6', altKey: true, bubbles: true }));
    await settle();
    q('attendance-row-c-1')!.dispatchEvent(new KeyboardEvent('keydown', { key: 'k', bubbles: true }));
    await settle();
    (q('correct-c-1') as HTMLButtonElement).click();
    await settle();
    const sick = [...q('correct-dialog')!.querySelectorAll('button')].find((b) => b.textContent?.startsWith('krank') || b.textContent?.startsWith('Krank'))!;
    sick.click();
    await settle();
    const calls = sh.calls.filter((c) => c.cmd === 'record_attendance');
    expect(calls[1]?.args).toEqual({ input: { child_id: 'c-1', action: 'sick', corrects: 'e-1' } });
  });

  test('locking removes all child data from the DOM; the PIN unlocks', async () => {
    const s = session(DIRECTOR);
    const sh = shell(s);
    await loginAs(s);
    q('nav-attendance')!.click();
    await settle();
    expect(dom.target.textContent).toContain('Lena Özil');

    q('lock')!.click();
    await settle();
    expect(q('lock-screen')).not.toBeNull();
    expect(dom.target.textContent).toContain('Gesperrt – Anna Leitner');
    expect(dom.target.textContent).not.toContain('Lena Özil');
    expect(q('screen-attendance')).toBeNull();
    expect(q('current-user')).toBeNull();
    expect(sh.calls.some((c) => c.cmd === 'lock')).toBe(true);

    const pin = q('unlock-pin') as HTMLInputElement;
    pin.value = '1234';
    pin.dispatchEvent(new Event('input', { bubbles: true }));
    flushSync();
    (q('unlock-submit') as HTMLButtonElement).click();
    await settle();
    expect(q('lock-screen')).toBeNull();
    expect(q('screen-overview')).not.toBeNull();
  });

  test('a "locked" error from any call shows the lock screen', async () => {
    const s = session(DIRECTOR);
    shell(s);
    await loginAs(s);
    mockIPC((cmd) => {
      if (cmd === 'waiting_list') throw { code: 'locked', message: 'Die Sitzung ist gesperrt.' };
      return [];
    });
    q('nav-applications')!.click();
    await settle();
    expect(q('lock-screen')).not.toBeNull();
    expect(q('screen-applications')).toBeNull();
  });

  test('Benutzer wechseln ends the session and returns to the account list', async () => {
    const s = session(DIRECTOR);
    const sh = shell(s);
    await loginAs(s);
    q('switch-user')!.click();
    await settle();
    expect(sh.calls.some((c) => c.cmd === 'logout')).toBe(true);
    expect(q(`account-${s.username}`)).not.toBeNull();
    expect(q('current-user')).toBeNull();
  });
});
