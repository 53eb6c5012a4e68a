import { describe, expect, test } from 'vitest';
import {
  addMonths,
  baseName,
  claimRange,
  documentCounts,
  formatMillis,
  groupProblems,
  monthText,
  nextMonth,
  parseMonth,
  phaseLabel,
  progressPercent,
  progressText,
  reductionLabel,
  runFiles,
} from '../src/lib/billing';
import type { BillingProblem } from '../src/lib/bindings/BillingProblem';

describe('months', () => {
  test('the default is the next month, across the year end', () => {
    expect(nextMonth(new Date(2026, 10, 24))).toBe('2026-12-01');
    expect(nextMonth(new Date(2026, 11, 31, 23, 30))).toBe('2027-01-01');
    expect(nextMonth(new Date(2027, 0, 31))).toBe('2027-02-01');
  });

  test('addMonths steps both ways', () => {
    expect(addMonths('2026-12-01', 1)).toBe('2027-01-01');
    expect(addMonths('2027-01-01', -1)).toBe('2026-12-01');
    expect(addMonths('2026-03-01', -15)).toBe('2024-12-01');
    expect(addMonths('2026-03-15', 0)).toBe('2026-03-01');
  });

  test('typed months in the forms the office uses', () => {
    expect(parseMonth('12/2026')).toBe('2026-12-01');
    expect(parseMonth(' 3.2027 ')).toBe('2027-03-01');
    expect(parseMonth('2026-07')).toBe('2026-07-01');
    expect(parseMonth('13/2026')).toBeNull();
    expect(parseMonth('0/2026')).toBeNull();
    expect(parseMonth('12/26')).toBeNull();
    expect(parseMonth('Dezember')).toBeNull();
    expect(parseMonth('')).toBeNull();
  });

  test('monthText is what parseMonth reads back', () => {
    expect(monthText('2027-01-01')).toBe('01/2027');
    expect(parseMonth(monthText('2026-09-01'))).toBe('2026-09-01');
  });

  test('the claim range must be two months in order', () => {
    expect(claimRange('01/2026', '12/2026')).toEqual({ from: '2026-01-01', to: '2026-12-01' });
    expect(claimRange('05/2026', '05/2026')).toEqual({ from: '2026-05-01', to: '2026-05-01' });
    expect(claimRange('12/2026', '01/2026')).toEqual({ error: 'Der letzte Monat liegt vor dem ersten.' });
    expect(claimRange('x', '01/2026')).toEqual({ error: 'Von (MM/JJJJ): bitte einen Monat als MM/JJJJ eingeben' });
    expect(claimRange('01/2026', '')).toEqual({ error: 'Bis (MM/JJJJ): bitte einen Monat als MM/JJJJ eingeben' });
  });
});

describe('progress', () => {
  test('German phase labels', () => {
    expect(phaseLabel('computing')).toBe('Beiträge berechnen');
    expect(phaseLabel('saving')).toBe('Speichern');
    expect(phaseLabel('documents')).toBe('Rechnungen erstellen');
    expect(phaseLabel('sepa_file')).toBe('SEPA-Datei');
    expect(phaseLabel('done')).toBe('Fertig');
  });

  test('percentage from done/total, clamped; done is 100', () => {
    expect(progressPercent(null)).toBe(0);
    expect(progressPercent({ phase: 'documents', done: 0, total: 120 })).toBe(0);
    expect(progressPercent({ phase: 'documents', done: 50, total: 120 })).toBe(42);
    expect(progressPercent({ phase: 'documents', done: 120, total: 120 })).toBe(100);
    expect(progressPercent({ phase: 'documents', done: 130, total: 120 })).toBe(100);
    expect(progressPercent({ phase: 'saving', done: 0, total: 0 })).toBe(0);
    expect(progressPercent({ phase: 'done', done: 0, total: 0 })).toBe(100);
  });

  test('the text counts only phases with several steps', () => {
    expect(progressText({ phase: 'documents', done: 50, total: 120 })).toBe('Rechnungen erstellen – 50 von 120');
    expect(progressText({ phase: 'sepa_file', done: 0, total: 1 })).toBe('SEPA-Datei');
    expect(progressText(null)).toBe('Wird gestartet …');
  });
});

describe('problems', () => {
  const p = (family: string, kind: BillingProblem['kind']): BillingProblem => ({ family, kind, message: `${kind} bei ${family}` });

  test('grouped by kind, the serious ones first, families by name, empty kinds left out', () => {
    const groups = groupProblems([p('Zander', 'no_mandate'), p('Özdemir', 'no_mandate'), p('Abel', 'mandate_lapsed'), p('Bauer', 'fee_not_computable')]);
    expect(groups.map((g) => g.kind)).toEqual(['fee_not_computable', 'mandate_lapsed', 'no_mandate']);
    expect(groups.map((g) => g.label)).toEqual(['Beitrag nicht berechenbar', 'Mandat verfallen', 'Kein SEPA-Mandat']);
    // German order: Ö sorts with O, before Z.
    expect(groups[2].problems.map((x) => x.family)).toEqual(['Özdemir', 'Zander']);
  });

  test('no problems, no groups; the input is not reordered', () => {
    expect(groupProblems([])).toEqual([]);
    const list = [p('Zander', 'refund'), p('Abel', 'refund')];
    groupProblems(list);
    expect(list.map((x) => x.family)).toEqual(['Zander', 'Abel']);
  });
});

describe('files of a run', () => {
  const dir = '/home/kita/Dokumente/Kitakontor/Abrechnung/2026-12_Kita-Sonnenblume_Lauf-01';

  test('sorted into invoices, print file, SEPA file and cashier export', () => {
    const f = runFiles([
      `${dir}/Rechnungen/2026-000001.pdf`,
      `${dir}/Rechnungen/2026-000002.pdf`,
      `${dir}/Sammeldruck.pdf`,
      `${dir}/SEPA-Lastschrift_pain.008.001.08.xml`,
      `${dir}/Kassenexport.csv`,
      `${dir}/Protokoll.txt`,
    ]);
    expect(f.invoices).toHaveLength(2);
    expect(f.print).toBe(`${dir}/Sammeldruck.pdf`);
    expect(f.sepa).toBe(`${dir}/SEPA-Lastschrift_pain.008.001.08.xml`);
    expect(f.cashier).toBe(`${dir}/Kassenexport.csv`);
    expect(f.other).toEqual([`${dir}/Protokoll.txt`]);
  });

  test('a run without documents and debits has only the export; Windows paths work too', () => {
    const f = runFiles(['C:\\Users\\kita\\Abrechnung\\Kassenexport.csv']);
    expect(f).toEqual({ invoices: [], print: null, sepa: null, cashier: 'C:\\Users\\kita\\Abrechnung\\Kassenexport.csv', other: [] });
    expect(baseName('C:\\a\\Rechnungen\\2026-000007.pdf')).toBe('2026-000007.pdf');
    expect(runFiles(['C:\\a\\Rechnungen\\2026-000007.pdf']).invoices).toHaveLength(1);
  });
});

describe('numbers of the summary', () => {
  test('run time', () => {
    expect(formatMillis(850)).toBe('850 ms');
    expect(formatMillis(4230)).toBe('4,2 s');
    expect(formatMillis(1000)).toBe('1,0 s');
    expect(formatMillis(125_000)).toBe('2 min 05 s');
  });

  test('document counts', () => {
    expect(documentCounts({ new_invoices: 118, replacements: 1, credit_notes: 2, unchanged: 0 })).toBe('118 neu · 1 Ersatzrechnungen · 2 Gutschriften · 0 unverändert');
  });

  test('reduction labels', () => {
    expect(reductionLabel({ kind: 'single_parent' })).toBe('Ermäßigung für Alleinerziehende');
  });
});
