import { describe, expect, test } from 'vitest';
import type { AbsenceType } from '../src/lib/bindings/AbsenceType';
import type { ApplicationState } from '../src/lib/bindings/ApplicationState';
import type { AttendanceAction } from '../src/lib/bindings/AttendanceAction';
import type { BillingPhase } from '../src/lib/bindings/BillingPhase';
import type { ProblemKind } from '../src/lib/bindings/ProblemKind';
import type { ReductionKind } from '../src/lib/bindings/ReductionKind';
import type { CareType } from '../src/lib/bindings/CareType';
import type { Role } from '../src/lib/bindings/Role';
import type { TicketState } from '../src/lib/bindings/TicketState';
import type { VersionKind } from '../src/lib/bindings/VersionKind';
import { dictionaries, hasKey, t } from '../src/lib/i18n';
import { SCREENS } from '../src/lib/nav';

// Every source file of the UI, as text.
const sources = import.meta.glob(['../src/**/*.ts', '../src/**/*.svelte', '!../src/lib/bindings/**'], { query: '?raw', import: 'default', eager: true }) as Record<string, string>;

describe('i18n', () => {
  test('the sources were found', () => {
    expect(Object.keys(sources).length).toBeGreaterThan(20);
  });

  test('every literal key used with t() exists', () => {
    const used = new Set<string>();
    for (const text of Object.values(sources)) {
      for (const m of text.matchAll(/\bt\(\s*['"]([\w.]+)['"]/g)) used.add(m[1]);
    }
    expect(used.size).toBeGreaterThan(150);
    const missing = [...used].filter((k) => !hasKey(k));
    expect(missing).toEqual([]);
  });

  test('every key built from a template has all its variants', () => {
    const prefixes = new Set<string>();
    for (const text of Object.values(sources)) {
      for (const m of text.matchAll(/\bt\(\s*`([\w.]+)\$\{/g)) prefixes.add(m[1]);
    }
    const variants: Record<string, readonly string[]> = {
      'careType.': ['nursery', 'kindergarten', 'after_school'] satisfies CareType[],
      'applicationState.': ['open', 'reserved', 'admitted', 'rejected', 'withdrawn'] satisfies ApplicationState[],
      'ticketState.': ['requested', 'approved', 'denied'] satisfies TicketState[],
      'role.': ['provider_admin', 'director', 'office', 'educator', 'tech_admin'] satisfies Role[],
      'absence.': ['sick', 'holiday', 'other'] satisfies AbsenceType[],
      'versionKind.': ['initial', 'amendment', 'termination'] satisfies VersionKind[],
      'attendance.action.': ['check_in', 'check_out', 'sick', 'holiday', 'other'] satisfies AttendanceAction[],
      'nav.': SCREENS.map((s) => s.id),
      'billing.phase.': ['computing', 'saving', 'documents', 'sepa_file', 'done'] satisfies BillingPhase[],
      'billing.problem.': ['no_mandate', 'mandate_lapsed', 'no_guardian', 'fee_not_computable', 'refund'] satisfies ProblemKind[],
      'reduction.': ['sibling', 'single_parent', 'free'] satisfies ReductionKind[],
    };
    for (const p of prefixes) {
      expect(variants[p], `variants of ${p}`).toBeDefined();
      for (const v of variants[p]) expect(hasKey(p + v), p + v).toBe(true);
    }
    expect(prefixes.size).toBeGreaterThanOrEqual(6);
  });

  test('t() interpolates parameters and leaves unknown ones visible', () => {
    expect(t('lock.title', { name: 'Anna Leitner' })).toBe('Gesperrt – Anna Leitner');
    expect(t('sync.pendingMany', { n: 12 })).toBe('12 Änderungen warten');
    expect(t('waiting.count', { shown: 2, total: 5 })).toBe('2 von 5 Anmeldungen');
    expect(t('lock.title')).toBe('Gesperrt – {name}');
    expect(t('top.lock')).toBe('Sperren');
  });

  test('the required German texts are there', () => {
    expect(t('inbox.notice')).toBe('Neue Datei im Eingangsordner');
    expect(t('login.demoHint')).toBe('Demo – Passwort für alle: kitakontor-demo');
    expect(t('children.audited')).toBe('Zugriff wird protokolliert');
    expect(t('top.switchUser')).toBe('Benutzer wechseln');
  });

  test('no empty texts', () => {
    const empty = Object.entries(dictionaries.de).filter(([, v]) => !v.trim());
    expect(empty).toEqual([]);
  });
});
