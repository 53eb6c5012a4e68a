// SEPA mandates in the child file, in happy-dom against a mocked shell.
import { describe, expect, test } from 'vitest';
import { mount } from 'svelte';
import { settle, useDom } from './dom';
import { mockIPC } from '@tauri-apps/api/mocks';
import GuardianMandates from '../src/lib/components/GuardianMandates.svelte';
import Children from '../src/lib/screens/Children.svelte';
import type { ChildDetail } from '../src/lib/bindings/ChildDetail';
import type { MandateSummary } from '../src/lib/bindings/MandateSummary';
import { formatDate, todayIso } from '../src/lib/format';
import { OFFICE, session } from './fixtures';

const dom = useDom();
const q = dom.q;

function type(id: string, value: string) {
  const input = q(id) as HTMLInputElement;
  input.value = value;
  input.dispatchEvent(new Event('input', { bubbles: true }));
}

const RECEIPT = { command_id: 'cmd-1', client_seq: 1 };

function mandate(id: string, extra: Partial<MandateSummary>): MandateSummary {
  return { id, reference: `KITA-${id}`, signed_on: '2024-03-01', last_used_on: null, revoked_on: null, status: { kind: 'usable', detail: 'first' }, ...extra };
}

const LIST: MandateSummary[] = [
  mandate('m1', {}),
  mandate('m2', { last_used_on: '2026-11-07', status: { kind: 'usable', detail: 'recurring' } }),
  mandate('m3', { signed_on: '2019-01-10', last_used_on: '2021-05-07', status: { kind: 'lapsed', detail: { unused_since: '2021-05-07' } } }),
  mandate('m4', { revoked_on: '2026-10-15', status: { kind: 'usable', detail: 'recurring' } }),
];

const statusOf = (id: string) => q(`mandate-${id}`)?.querySelector('[data-testid="mandate-status"]')?.textContent;

describe('SEPA mandates of a guardian', () => {
  test('the list shows references, dates and the status in German; revoked mandates cannot be revoked again', async () => {
    const calls: { cmd: string; args: unknown }[] = [];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args });
      if (cmd === 'mandates') return LIST;
      return null;
    });
    dom.component = mount(GuardianMandates, { target: dom.target, props: { guardianId: 'g-1', canWrite: true } });
    await settle();
    expect(calls).toEqual([{ cmd: 'mandates', args: { input: { guardian_id: 'g-1' } } }]);
    expect(statusOf('m1')).toBe('gültig – Erstlastschrift');
    expect(statusOf('m2')).toBe('gültig – Folgelastschrift');
    expect(statusOf('m3')).toBe('verfallen (36 Monate ungenutzt)');
    expect(statusOf('m4')).toBe('widerrufen am 15.10.2026');
    const m1 = q('mandate-m1')!.textContent!;
    expect(m1).toContain('KITA-m1');
    expect(m1).toContain('01.03.2024');
    expect(m1).toContain('noch nicht genutzt');
    expect(q('mandate-m2')!.textContent).toContain('07.11.2026');
    expect(q('mandate-revoke-m1')).not.toBeNull();
    expect(q('mandate-revoke-m3')).not.toBeNull();
    expect(q('mandate-revoke-m4')).toBeNull();
  });

  test('without write_finance: the list only, no form, no revoke', async () => {
    mockIPC((cmd) => (cmd === 'mandates' ? LIST : null));
    dom.component = mount(GuardianMandates, { target: dom.target, props: { guardianId: 'g-1', canWrite: false } });
    await settle();
    expect(statusOf('m1')).toBe('gültig – Erstlastschrift');
    expect(q('mandate-form')).toBeNull();
    expect(q('mandate-revoke-m1')).toBeNull();
  });

  test('record sends the input, reloads the list and clears the form', async () => {
    const calls: { cmd: string; args: unknown }[] = [];
    let list: MandateSummary[] = [];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args });
      if (cmd === 'mandates') return list;
      if (cmd === 'record_mandate') {
        list = [mandate('m9', { reference: 'KITA-2026-017', signed_on: '2026-11-20' })];
        return RECEIPT;
      }
      return null;
    });
    dom.component = mount(GuardianMandates, { target: dom.target, props: { guardianId: 'g-1', canWrite: true } });
    await settle();
    expect(q('mandate-none')?.textContent).toBe('Kein SEPA-Mandat erfasst.');
    expect((q('mandate-signed-on') as HTMLInputElement).value).toBe(formatDate(todayIso()));
    expect((q('mandate-reference') as HTMLInputElement).maxLength).toBe(35);
    type('mandate-reference', ' KITA-2026-017 ');
    type('mandate-signed-on', '20.11.2026');
    q('mandate-record')!.click();
    await settle();
    expect(calls.slice(1)).toEqual([
      { cmd: 'record_mandate', args: { input: { guardian_id: 'g-1', reference: 'KITA-2026-017', signed_on: '2026-11-20' } } },
      { cmd: 'mandates', args: { input: { guardian_id: 'g-1' } } },
    ]);
    expect(statusOf('m9')).toBe('gültig – Erstlastschrift');
    expect(dom.target.textContent).toContain('Mandat KITA-2026-017 erfasst.');
    expect((q('mandate-reference') as HTMLInputElement).value).toBe('');
    expect(dom.target.querySelector('[role="alert"]')).toBeNull();
  });

  test("the store's error is shown inline and the form keeps its values", async () => {
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      if (cmd === 'mandates') return [];
      if (cmd === 'record_mandate') throw { code: 'conflict', message: 'Die Mandatsreferenz KITA-1 ist bereits vergeben.' };
      return null;
    });
    dom.component = mount(GuardianMandates, { target: dom.target, props: { guardianId: 'g-1', canWrite: true } });
    await settle();
    type('mandate-reference', 'KITA-1');
    type('mandate-signed-on', '01.02.2026');
    q('mandate-record')!.click();
    await settle();
    const err = dom.target.querySelector<HTMLElement>('[role="alert"]');
    expect(err?.textContent).toBe('Die Mandatsreferenz KITA-1 ist bereits vergeben.');
    expect(err?.dataset.code).toBe('conflict');
    expect((q('mandate-reference') as HTMLInputElement).value).toBe('KITA-1');
    expect((q('mandate-signed-on') as HTMLInputElement).value).toBe('01.02.2026');
    expect(calls).toEqual(['mandates', 'record_mandate']);
  });

  test('checks before calling: a reference is needed and the date must be one', async () => {
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      return cmd === 'mandates' ? [] : RECEIPT;
    });
    dom.component = mount(GuardianMandates, { target: dom.target, props: { guardianId: 'g-1', canWrite: true } });
    await settle();
    q('mandate-record')!.click();
    await settle();
    expect(dom.target.querySelector('[role="alert"]')?.textContent).toBe('Mandatsreferenz: bitte angeben');
    type('mandate-reference', 'KITA-1');
    type('mandate-signed-on', '31.02.2026');
    q('mandate-record')!.click();
    await settle();
    expect(dom.target.querySelector('[role="alert"]')?.textContent).toBe('Unterschrieben am: bitte ein Datum als TT.MM.JJJJ eingeben');
    expect(calls).toEqual(['mandates']);
  });

  test('revoke needs two clicks, then sends today and reloads', async () => {
    const calls: { cmd: string; args: unknown }[] = [];
    let list = [mandate('m1', {})];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args });
      if (cmd === 'mandates') return list;
      if (cmd === 'revoke_mandate') {
        list = [mandate('m1', { revoked_on: todayIso() })];
        return RECEIPT;
      }
      return null;
    });
    dom.component = mount(GuardianMandates, { target: dom.target, props: { guardianId: 'g-1', canWrite: true } });
    await settle();
    q('mandate-revoke-m1')!.click();
    await settle();
    expect(calls.map((c) => c.cmd)).toEqual(['mandates']);
    expect(q('mandate-revoke-m1')?.textContent?.trim()).toBe('Wirklich KITA-m1 widerrufen?');
    q('mandate-revoke-m1')!.click();
    await settle();
    expect(calls.slice(1)).toEqual([
      { cmd: 'revoke_mandate', args: { input: { mandate_id: 'm1', revoked_on: todayIso() } } },
      { cmd: 'mandates', args: { input: { guardian_id: 'g-1' } } },
    ]);
    expect(statusOf('m1')).toBe(`widerrufen am ${formatDate(todayIso())}`);
    expect(q('mandate-revoke-m1')).toBeNull();
  });
});

const DETAIL: ChildDetail = {
  id: 'c-1',
  facility_id: 'f-1',
  group_id: null,
  first_name: 'Lena',
  last_name: 'Özil',
  birth_date: '2022-04-01',
  address: { street: 'Hauptstr. 1', postal_code: '04109', city: 'Leipzig' },
  municipality: 'Leipzig',
  guardians: [{ id: 'g-1', first_name: 'Mara', last_name: 'Özil', email: '', phone: '', single_parent: false }],
  contracts: [],
  tickets: [],
  attendance: [],
};

describe('in the child file', () => {
  test('mandates are read only once the finance data is requested', async () => {
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      switch (cmd) {
        case 'search_children':
          return [{ id: 'c-1', first_name: 'Lena', last_name: 'Özil', birth_date: '2022-04-01', group: null }];
        case 'child_detail':
          return DETAIL;
        case 'guardian_finance':
          return { income_cents: null, iban: 'DE02120300000000202051', account_holder: 'Mara Özil' };
        case 'mandates':
          return LIST;
        default:
          return null;
      }
    });
    // Without run_billing: the fee section (another audited read) stays out of this test.
    const perms = OFFICE.filter((p) => p !== 'run_billing');
    dom.component = mount(Children, { target: dom.target, props: { session: session(perms) } });
    await settle();
    q('child-c-1')!.click();
    await settle();
    expect(q('child-detail')).not.toBeNull();
    expect(calls).not.toContain('mandates');
    expect(q('mandates-g-1')).toBeNull();
    q('finance-g-1')!.click();
    await settle();
    expect(calls.filter((c) => c === 'mandates')).toHaveLength(1);
    expect(statusOf('m2')).toBe('gültig – Folgelastschrift');
    expect(q('mandate-form')).not.toBeNull();
  });
});
