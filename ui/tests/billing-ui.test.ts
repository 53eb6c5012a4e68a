// The fee and billing parts of the UI in happy-dom against a mocked shell: the PDF preview
// (pdf.js itself is mocked; it needs a real canvas), the child's fee, the billing run.
import { beforeEach, describe, expect, test, vi } from 'vitest';
import { mount } from 'svelte';
import { settle, useDom } from './dom';
import { mockIPC } from '@tauri-apps/api/mocks';
import { emit } from '@tauri-apps/api/event';
import ChildFeeSection from '../src/lib/components/ChildFeeSection.svelte';
import PdfPreview from '../src/lib/components/PdfPreview.svelte';
import Billing from '../src/lib/screens/Billing.svelte';
import { nextMonth } from '../src/lib/billing';
import type { BillingSummary } from '../src/lib/bindings/BillingSummary';
import type { ChildFee } from '../src/lib/bindings/ChildFee';
import type { SavedDocument } from '../src/lib/bindings/SavedDocument';

const render = vi.fn(async (_n: number, _canvas: HTMLCanvasElement, _available: number) => {});
const openPdf = vi.fn(async (_bytes: Uint8Array) => ({ pages: 2, render, close: async () => {} }));
vi.mock('../src/lib/pdfRender', () => ({ openPdf: (bytes: Uint8Array) => openPdf(bytes) }));

const dom = useDom();
const q = dom.q;
beforeEach(() => {
  render.mockClear();
  openPdf.mockClear();
});

const PDF: SavedDocument = { path: '/home/kita/Dokumente/Kitakontor/Verträge/Betreuungsvertrag_Lena-Özil.pdf', file_name: 'Betreuungsvertrag_Lena-Özil.pdf', pdf_base64: 'JVBERi0xLjcKJeLjz9MK' };

describe('PDF preview', () => {
  test('draws every page, shows the count and the path; Drucken opens the saved file', async () => {
    const calls: { cmd: string; args: unknown }[] = [];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args });
      return null;
    });
    const onclose = vi.fn();
    dom.component = mount(PdfPreview, { target: dom.target, props: { doc: PDF, onclose } });
    await settle();
    expect(openPdf).toHaveBeenCalledTimes(1);
    expect(String.fromCharCode(...openPdf.mock.calls[0][0].subarray(0, 5))).toBe('%PDF-');
    expect(render.mock.calls.map((c) => c[0])).toEqual([1, 2]);
    expect(q('pdf-pages')?.textContent?.trim()).toBe('2 Seiten');
    expect(q('pdf-pages-box')?.dataset.state).toBe('ready');
    expect(q('pdf-page-2')).not.toBeNull();
    expect(q('pdf-path')?.textContent).toBe(PDF.path);
    q('pdf-open')!.click();
    await settle();
    expect(calls).toEqual([{ cmd: 'open_document', args: { input: { path: PDF.path } } }]);
    expect(dom.target.textContent).toContain('Das Dokument wird im PDF-Programm geöffnet.');
  });

  test('Escape closes it', async () => {
    mockIPC(() => null);
    const onclose = vi.fn();
    dom.component = mount(PdfPreview, { target: dom.target, props: { doc: PDF, onclose } });
    await settle();
    q('pdf-preview')!.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    expect(onclose).toHaveBeenCalledTimes(1);
  });

  test('a PDF that cannot be drawn shows a German error, not an empty box', async () => {
    mockIPC(() => null);
    openPdf.mockRejectedValueOnce(new Error('Invalid PDF structure.'));
    dom.component = mount(PdfPreview, { target: dom.target, props: { doc: PDF, onclose: () => {} } });
    await settle();
    const err = dom.target.querySelector('[role="alert"]');
    expect(err?.textContent).toContain('Die Vorschau konnte nicht angezeigt werden (Invalid PDF structure.)');
    expect(q('pdf-pages-box')?.classList.contains('hidden')).toBe(true);
    expect(q('pdf-page-1')).toBeNull();
    // The saved file can still be opened.
    expect(q('pdf-path')?.textContent).toBe(PDF.path);
  });

  test('data that is no PDF never reaches pdf.js', async () => {
    mockIPC(() => null);
    dom.component = mount(PdfPreview, { target: dom.target, props: { doc: { ...PDF, pdf_base64: 'PGh0bWw+' }, onclose: () => {} } });
    await settle();
    expect(openPdf).not.toHaveBeenCalled();
    expect(dom.target.querySelector('[role="alert"]')?.textContent).toContain('keine PDF-Datei');
  });
});

const FEE: ChildFee = {
  child_name: 'Lena Özil',
  rule_set: 'Elternbeiträge Leipzig (Fassung 1, gültig ab 01.08.2014)',
  fee: {
    child_id: 'c-1',
    month: '2026-12-01',
    care_type: 'nursery',
    care_tenths: 90,
    full_fee_cents: 27632,
    reductions: [{ kind: 'sibling', cents: 11053, claimable: true }],
    fee_cents: 16579,
    lines: [
      { label: 'Krippe, 9 h täglich', detail: '1.389,45 € × 19,89 %', amount_cents: 27632 },
      { label: 'Geschwisterermäßigung', detail: '2. Kind: 60 %', amount_cents: -11053 },
    ],
    rule_sets: ['leipzig-2014 v1'],
    days: 31,
  },
  claimable_cents: 11053,
};

describe('Elternbeitrag in the child file', () => {
  test('lines, total, reductions with the youth-office mark, statute; the notice for that month', async () => {
    const calls: { cmd: string; args: unknown }[] = [];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args });
      if (cmd === 'child_fee') return FEE;
      if (cmd === 'fee_notice_pdf') return PDF;
      return null;
    });
    dom.component = mount(ChildFeeSection, { target: dom.target, props: { childId: 'c-1' } });
    await settle();
    expect(calls[0]).toEqual({ cmd: 'child_fee', args: { input: { child_id: 'c-1', month: nextMonth() } } });
    const lines = q('fee-lines')!;
    const amounts = [...lines.querySelectorAll('tbody td.num')].map((td) => td.textContent?.replace(/\s/g, ' '));
    expect(amounts).toEqual(['276,32 €', '-110,53 €']);
    expect(q('fee-total')?.textContent?.replace(/\s/g, ' ')).toBe('165,79 €');
    expect(q('fee-reductions')?.textContent).toContain('Geschwisterermäßigung');
    expect(q('fee-reductions')?.querySelector('[data-claimable="true"]')?.textContent).toBe('erstattet das Jugendamt');
    expect(q('fee-rule-set')?.textContent).toBe(FEE.rule_set);
    (q('fee-month') as HTMLInputElement).value = '02/2027';
    q('fee-month')!.dispatchEvent(new Event('input', { bubbles: true }));
    q('fee-show')!.click();
    await settle();
    expect(calls[calls.length - 1]).toEqual({ cmd: 'child_fee', args: { input: { child_id: 'c-1', month: '2027-02-01' } } });
    q('fee-notice')!.click();
    await settle();
    expect(calls[calls.length - 1]).toEqual({ cmd: 'fee_notice_pdf', args: { input: { child_id: 'c-1', month: '2027-02-01' } } });
    expect(document.body.querySelector('[data-testid="pdf-preview"] h2')?.textContent).toBe('Kostenbescheid 02/2027 – Lena Özil');
  });

  test('no contract that month: the store says so, no error and no notice button', async () => {
    mockIPC((cmd) => {
      if (cmd === 'child_fee') throw { code: 'no_contract', message: 'Im 12/2026 besteht kein Betreuungsvertrag – dafür gibt es keinen Elternbeitrag.' };
      return null;
    });
    dom.component = mount(ChildFeeSection, { target: dom.target, props: { childId: 'c-1' } });
    await settle();
    expect(q('fee-none')?.textContent).toBe('Im 12/2026 besteht kein Betreuungsvertrag – dafür gibt es keinen Elternbeitrag.');
    expect(dom.target.querySelector('[role="alert"]')).toBeNull();
    expect((q('fee-notice') as HTMLButtonElement).disabled).toBe(true);
  });

  test('other errors are shown as errors', async () => {
    mockIPC((cmd) => {
      if (cmd === 'child_fee') throw { code: 'fee_not_computable', message: 'Keine Beitragssatzung für Markkleeberg.' };
      return null;
    });
    dom.component = mount(ChildFeeSection, { target: dom.target, props: { childId: 'c-1' } });
    await settle();
    expect(dom.target.querySelector('[role="alert"]')?.textContent).toBe('Keine Beitragssatzung für Markkleeberg.');
    expect(q('fee-none')).toBeNull();
  });
});

function summary(extra: Partial<BillingSummary> = {}): BillingSummary {
  const dir = '/home/kita/Dokumente/Kitakontor/Abrechnung/2026-12_Kita-Sonnenblume_Lauf-01';
  return {
    run_id: 'r-1',
    facility: 'Kita Sonnenblume',
    month: '2026-12-01',
    families: 73,
    new_invoices: 73,
    replacements: 0,
    credit_notes: 0,
    unchanged: 0,
    month_total_cents: 1330424,
    debit_cents: 936678,
    debit_count: 48,
    transfer_count: 25,
    claimable_cents: 138507,
    collection_date: '2026-12-07',
    problems: [
      { family: 'Zander', kind: 'no_mandate', message: 'Kein gültiges SEPA-Mandat – Zahlung per Überweisung' },
      { family: 'Bauer', kind: 'mandate_lapsed', message: 'Mandat verfallen' },
      { family: 'Abel', kind: 'no_mandate', message: 'Kein gültiges SEPA-Mandat – Zahlung per Überweisung' },
    ],
    files: [`${dir}/Rechnungen/2026-000001.pdf`, `${dir}/Rechnungen/2026-000002.pdf`, `${dir}/Sammeldruck.pdf`, `${dir}/SEPA-Lastschrift_pain.008.001.02.xml`, `${dir}/Kassenexport.csv`],
    out_dir: dir,
    millis: 4230,
    ...extra,
  };
}

describe('Abrechnung', () => {
  test('run with progress, then the summary; the start button is off while it runs', async () => {
    let finish: (s: BillingSummary) => void = () => {};
    const calls: { cmd: string; args: unknown }[] = [];
    let runs: BillingSummary[] = [];
    mockIPC(
      (cmd, args) => {
        calls.push({ cmd, args });
        switch (cmd) {
          case 'billing_runs':
            return runs;
          case 'rule_sets':
            return [];
          case 'billing_run':
            return new Promise<BillingSummary>((resolve) => (finish = resolve));
          default:
            return null;
        }
      },
      { shouldMockEvents: true },
    );
    dom.component = mount(Billing, { target: dom.target });
    await settle();
    expect(q('billing-no-runs')?.textContent).toBe('Noch keine Abrechnung gelaufen.');
    expect(dom.target.textContent).toContain('Keine Beitragssatzung eingelesen');
    const sepa = q('billing-sepa') as HTMLSelectElement;
    sepa.value = 'v02';
    sepa.dispatchEvent(new Event('change', { bubbles: true }));
    q('billing-start')!.click();
    await settle();
    expect(calls.find((c) => c.cmd === 'billing_run')?.args).toEqual({ input: { month: nextMonth(), sepa_version: 'v02' } });
    expect((q('billing-start') as HTMLButtonElement).disabled).toBe(true);

    await emit('billing-progress', { phase: 'documents', done: 30, total: 120 });
    await settle();
    const bar = q('billing-progress')!.querySelector('[role="progressbar"]')!;
    expect(bar.getAttribute('aria-valuenow')).toBe('25');
    expect(q('billing-progress')?.textContent).toContain('Rechnungen erstellen – 30 von 120');

    runs = [summary()];
    finish(summary());
    await settle();
    expect((q('billing-start') as HTMLButtonElement).disabled).toBe(false);
    expect(q('billing-progress')?.dataset.phase).toBe('done');
    expect(q('billing-families')?.textContent).toBe('73');
    expect(q('billing-total')?.textContent?.replace(/\s/g, ' ')).toBe('13.304,24 €');
    expect(q('billing-debit')?.textContent?.replace(/\s+/g, ' ').trim()).toBe('9.366,78 € 48 Lastschriften · Einzug am 07.12.2026');
    expect(q('billing-counts')?.textContent).toBe('73 neu · 0 Ersatzrechnungen · 0 Gutschriften · 0 unverändert');
    // Problems grouped, with their kind; families sorted.
    expect(q('billing-problems-mandate_lapsed')?.textContent).toContain('Mandat verfallen');
    const noMandate = [...q('billing-problems-no_mandate')!.querySelectorAll('li strong')].map((s) => s.textContent);
    expect(noMandate).toEqual(['Abel', 'Zander']);
    // Files: invoices collapsed, print file with Öffnen, SEPA and CSV as names only.
    expect(q('billing-files')?.querySelector('summary')?.textContent).toBe('Rechnungen (2 PDF)');
    expect(q('billing-sepa-file')?.textContent).toBe('SEPA-Lastschrift_pain.008.001.02.xml');
    expect(q('billing-open-print')).not.toBeNull();
    // The earlier runs were reloaded.
    expect(q('billing-runs')?.textContent).toContain('12/2026');

    // Late events of the finished run do not move the bar back.
    await emit('billing-progress', { phase: 'sepa_file', done: 0, total: 1 });
    await settle();
    expect(q('billing-progress')?.dataset.phase).toBe('done');
  });

  test('a failed run shows the error and frees the button', async () => {
    mockIPC(
      (cmd) => {
        if (cmd === 'billing_run') throw { code: 'permission_denied', message: 'Dafür fehlt Ihnen die Berechtigung.' };
        return [];
      },
      { shouldMockEvents: true },
    );
    dom.component = mount(Billing, { target: dom.target });
    await settle();
    q('billing-start')!.click();
    await settle();
    expect(dom.target.querySelector('[role="alert"]')?.textContent).toBe('Dafür fehlt Ihnen die Berechtigung.');
    expect((q('billing-start') as HTMLButtonElement).disabled).toBe(false);
    expect(q('billing-summary')).toBeNull();
  });

  test('the claim needs months in order and lists the two files', async () => {
    const calls: { cmd: string; args: unknown }[] = [];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args });
      if (cmd === 'claim_list') return ['/d/Erstattung/Erstattungsantrag_X.pdf', '/d/Erstattung/Erstattungsantrag_X.csv'];
      return [];
    });
    dom.component = mount(Billing, { target: dom.target });
    await settle();
    const from = q('claim-from') as HTMLInputElement;
    const to = q('claim-to') as HTMLInputElement;
    from.value = '12/2026';
    from.dispatchEvent(new Event('input', { bubbles: true }));
    to.value = '01/2026';
    to.dispatchEvent(new Event('input', { bubbles: true }));
    q('claim-submit')!.click();
    await settle();
    expect(dom.target.querySelector('[role="alert"]')?.textContent).toBe('Der letzte Monat liegt vor dem ersten.');
    expect(calls.some((c) => c.cmd === 'claim_list')).toBe(false);
    from.value = '01/2026';
    from.dispatchEvent(new Event('input', { bubbles: true }));
    to.value = '12/2026';
    to.dispatchEvent(new Event('input', { bubbles: true }));
    q('claim-submit')!.click();
    await settle();
    expect(calls.find((c) => c.cmd === 'claim_list')?.args).toEqual({ input: { from: '2026-01-01', to: '2026-12-01' } });
    const items = [...q('claim-files')!.querySelectorAll('li')];
    expect(items.map((li) => li.querySelector('code')?.textContent)).toEqual(['/d/Erstattung/Erstattungsantrag_X.pdf', '/d/Erstattung/Erstattungsantrag_X.csv']);
    // Only the PDF gets an Öffnen button.
    expect(items.map((li) => !!li.querySelector('button'))).toEqual([true, false]);
  });
});
