import { afterEach, describe, expect, test, vi } from 'vitest';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { emit } from '@tauri-apps/api/event';
import * as api from '../src/lib/api';
import { session } from './fixtures';

afterEach(() => {
  clearMocks();
  api.onCommandError(null);
});

function record(reply: (cmd: string, args: unknown) => unknown = () => null) {
  const calls: { cmd: string; args: unknown }[] = [];
  mockIPC((cmd, args) => {
    calls.push({ cmd, args });
    return reply(cmd, args);
  });
  return calls;
}

describe('api.ts', () => {
  test('commands without input send no input', async () => {
    const calls = record((cmd) => (cmd === 'waiting_list' ? [] : null));
    await expect(api.waitingList()).resolves.toEqual([]);
    await api.lock();
    expect(calls.map((c) => c.cmd)).toEqual(['waiting_list', 'lock']);
    for (const c of calls) expect(c.args === undefined || (typeof c.args === 'object' && c.args !== null && !('input' in c.args))).toBe(true);
  });

  test('the one argument is named input', async () => {
    const calls = record(() => ({ command_id: 'cmd-1', client_seq: 7 }));
    const receipt = await api.reserve({ application_id: 'a-1', start_date: null });
    expect(receipt).toEqual({ command_id: 'cmd-1', client_seq: 7 });
    expect(calls[0]).toEqual({ cmd: 'reserve', args: { input: { application_id: 'a-1', start_date: null } } });
  });

  test('each wrapper calls its own command', async () => {
    const calls = record(() => null);
    await api.login({ username: 'leitung', password: 'x' });
    await api.unlock({ pin: '1234', password: null });
    await api.searchChildren({ query: 'Lena' });
    await api.childHealth({ child_id: 'c-1' });
    await api.guardianFinance({ guardian_id: 'g-1' });
    await api.recordAttendance({ child_id: 'c-1', action: 'check_in', corrects: null });
    await api.concludeContract({ reservation_id: 'r-1', care_hours: 4.5, start_date: '2026-08-01', settling_in_weeks: 4 });
    await api.setIdleMinutes({ minutes: 5 });
    await api.importPreview({ file_name: 'liste.csv' });
    expect(calls.map((c) => c.cmd)).toEqual([
      'login',
      'unlock',
      'search_children',
      'child_health',
      'guardian_finance',
      'record_attendance',
      'conclude_contract',
      'set_idle_minutes',
      'import_preview',
    ]);
    expect(calls[5].args).toEqual({ input: { child_id: 'c-1', action: 'check_in', corrects: null } });
    expect(calls[6].args).toEqual({ input: { reservation_id: 'r-1', care_hours: 4.5, start_date: '2026-08-01', settling_in_weeks: 4 } });
  });

  test('results are passed on typed', async () => {
    const s = session(['read_children']);
    record((cmd) => (cmd === 'touch' ? s : null));
    await expect(api.touch()).resolves.toEqual(s);
  });

  test('AppError rejections are passed through unchanged', async () => {
    const err = { code: 'rule_violated', message: 'Kein freier Platz im Monat 09/2026.' };
    record(() => {
      throw err;
    });
    const seen = vi.fn();
    api.onCommandError(seen);
    await expect(api.reserve({ application_id: 'a-1', start_date: null })).rejects.toBe(err);
    expect(seen).toHaveBeenCalledWith(err);
  });

  test('other failures become an AppError with a German message', async () => {
    record(() => {
      throw new Error('boom');
    });
    const e = await api.overview().catch((x: unknown) => x);
    expect(api.isAppError(e)).toBe(true);
    expect(e).toMatchObject({ code: 'internal', message: 'Unerwarteter Fehler: boom' });
  });

  test('inbox-changed delivers the file names', async () => {
    mockIPC(() => null, { shouldMockEvents: true });
    const handler = vi.fn();
    const unlisten = await api.onInboxChanged(handler);
    await emit('inbox-changed', ['warteliste.csv']);
    expect(handler).toHaveBeenCalledWith(['warteliste.csv']);
    unlisten();
  });

  test('the billing wrappers call their commands with one input each', async () => {
    const doc = { path: '/docs/Verträge/Betreuungsvertrag_Lena.pdf', file_name: 'Betreuungsvertrag_Lena.pdf', pdf_base64: 'JVBERi0=' };
    const calls = record((cmd) => (cmd === 'contract_pdf' || cmd === 'fee_notice_pdf' ? doc : cmd === 'claim_list' ? ['/a.pdf', '/a.csv'] : []));
    await expect(api.contractPdf({ contract_id: 'k-1' })).resolves.toEqual(doc);
    await api.childFee({ child_id: 'c-1', month: '2027-01-01' });
    await api.feeNoticePdf({ child_id: 'c-1', month: null });
    await api.billingRun({ month: '2027-01-01', sepa_version: 'v02' });
    await api.billingRuns();
    await expect(api.claimList({ from: '2027-01-01', to: '2027-03-01' })).resolves.toEqual(['/a.pdf', '/a.csv']);
    await api.ruleSets();
    await api.openDocument({ path: doc.path });
    expect(calls.map((c) => c.cmd)).toEqual(['contract_pdf', 'child_fee', 'fee_notice_pdf', 'billing_run', 'billing_runs', 'claim_list', 'rule_sets', 'open_document']);
    expect(calls[0].args).toEqual({ input: { contract_id: 'k-1' } });
    expect(calls[2].args).toEqual({ input: { child_id: 'c-1', month: null } });
    expect(calls[3].args).toEqual({ input: { month: '2027-01-01', sepa_version: 'v02' } });
    expect(calls[7].args).toEqual({ input: { path: doc.path } });
    for (const i of [4, 6]) expect(calls[i].args === undefined || !('input' in (calls[i].args as object))).toBe(true);
  });

  test('billing-progress delivers the progress until unlistened', async () => {
    mockIPC(() => null, { shouldMockEvents: true });
    const handler = vi.fn();
    const unlisten = await api.onBillingProgress(handler);
    await emit('billing-progress', { phase: 'documents', done: 25, total: 100 });
    expect(handler).toHaveBeenCalledWith({ phase: 'documents', done: 25, total: 100 });
    unlisten();
    await emit('billing-progress', { phase: 'done', done: 1, total: 1 });
    expect(handler).toHaveBeenCalledTimes(1);
  });
});
