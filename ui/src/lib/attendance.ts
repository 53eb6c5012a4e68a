// View logic of the Anwesenheit screen: one key per action, the status text of a row, and
// the rows grouped per group.

import type { AttendanceAction } from './bindings/AttendanceAction';
import type { AttendanceRow } from './bindings/AttendanceRow';
import type { DayStatus } from './bindings/DayStatus';
import { formatTime } from './format';
import { t } from './i18n';

/** K = kommt, G = geht, X = krank, U = Urlaub, A = abwesend (sonstiges). */
export const ACTION_KEYS: Readonly<Record<string, AttendanceAction>> = {
  k: 'check_in',
  g: 'check_out',
  x: 'sick',
  u: 'holiday',
  a: 'other',
};

export const ACTIONS: readonly AttendanceAction[] = ['check_in', 'check_out', 'sick', 'holiday', 'other'];

/** The letter shown on an action's button. */
export function keyFor(action: AttendanceAction): string {
  const k = Object.keys(ACTION_KEYS).find((key) => ACTION_KEYS[key] === action);
  return (k ?? '').toUpperCase();
}

/**
 * The action of a key press on a row, or null. Keys with Ctrl/Alt/Meta are shortcuts of
 * their own (Alt+1..7 switch screens) and never record anything.
 */
export function actionForKey(e: { key: string; ctrlKey?: boolean; altKey?: boolean; metaKey?: boolean }): AttendanceAction | null {
  if (e.ctrlKey || e.altKey || e.metaKey) return null;
  if (e.key.length !== 1) return null;
  return ACTION_KEYS[e.key.toLowerCase()] ?? null;
}

export type StatusKind = 'not_recorded' | 'present' | 'left' | 'absent';

export function statusKind(s: DayStatus): StatusKind {
  if (s === 'not_recorded') return 'not_recorded';
  if ('present' in s) return 'present';
  if ('left' in s) return 'left';
  return 'absent';
}

/** "Anwesend seit 07:15", "Gegangen (07:15–15:30)", "Krank", "Nicht erfasst". */
export function statusText(s: DayStatus): string {
  if (s === 'not_recorded') return t('attendance.status.notRecorded');
  if ('present' in s) return t('attendance.status.present', { since: formatTime(s.present.since) });
  if ('left' in s) return t('attendance.status.left', { arrived: formatTime(s.left.arrived), left: formatTime(s.left.left) });
  return t(`absence.${s.absent}`);
}

export interface GroupRows {
  group: string;
  rows: AttendanceRow[];
}

/** Rows per group (groups by name, children without group last), children by name. */
export function groupRows(rows: readonly AttendanceRow[], noGroupLabel: string): GroupRows[] {
  const by = new Map<string, AttendanceRow[]>();
  for (const r of rows) {
    const g = r.group ?? '';
    if (!by.has(g)) by.set(g, []);
    by.get(g)!.push(r);
  }
  return [...by.entries()]
    .sort(([a], [b]) => (a === '' ? 1 : b === '' ? -1 : a.localeCompare(b, 'de-DE')))
    .map(([g, list]) => ({ group: g || noGroupLabel, rows: list.sort((x, y) => x.child_name.localeCompare(y.child_name, 'de-DE')) }));
}

/** The next row index for ↑/↓/Home/End, or null for other keys. */
export function moveIndex(key: string, index: number, count: number): number | null {
  if (count === 0) return null;
  switch (key) {
    case 'ArrowDown':
      return Math.min(count - 1, index + 1);
    case 'ArrowUp':
      return Math.max(0, index - 1);
    case 'Home':
      return 0;
    case 'End':
      return count - 1;
    default:
      return null;
  }
}
