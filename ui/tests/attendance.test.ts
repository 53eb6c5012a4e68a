import { describe, expect, test } from 'vitest';
import { actionForKey, groupRows, keyFor, moveIndex, statusText } from '../src/lib/attendance';
import { formatTime } from '../src/lib/format';
import { attendanceRow } from './fixtures';

describe('attendance keys', () => {
  test('K/G/X/U/A map to the actions, in either case', () => {
    expect(actionForKey({ key: 'k' })).toBe('check_in');
    expect(actionForKey({ key: 'K' })).toBe('check_in');
    expect(actionForKey({ key: 'g' })).toBe('check_out');
    expect(actionForKey({ key: 'x' })).toBe('sick');
    expect(actionForKey({ key: 'U' })).toBe('holiday');
    expect(actionForKey({ key: 'a' })).toBe('other');
  });

  test('other keys and modified keys record nothing', () => {
    expect(actionForKey({ key: 'b' })).toBeNull();
    expect(actionForKey({ key: 'Enter' })).toBeNull();
    expect(actionForKey({ key: 'k', altKey: true })).toBeNull();
    expect(actionForKey({ key: 'k', ctrlKey: true })).toBeNull();
  });

  test('buttons show their key', () => {
    expect(keyFor('check_out')).toBe('G');
    expect(keyFor('other')).toBe('A');
  });

  test('arrow keys move within the list', () => {
    expect(moveIndex('ArrowDown', 0, 3)).toBe(1);
    expect(moveIndex('ArrowDown', 2, 3)).toBe(2);
    expect(moveIndex('ArrowUp', 0, 3)).toBe(0);
    expect(moveIndex('End', 0, 3)).toBe(2);
    expect(moveIndex('k', 0, 3)).toBeNull();
  });
});

describe('attendance rows', () => {
  test('status texts with local times', () => {
    const since = '2026-03-02T07:15:00Z';
    const left = '2026-03-02T15:30:00Z';
    expect(statusText('not_recorded')).toBe('Nicht erfasst');
    expect(statusText({ present: { since } })).toBe(`Anwesend seit ${formatTime(since)}`);
    expect(statusText({ left: { arrived: since, left } })).toBe(`Gegangen (${formatTime(since)}–${formatTime(left)})`);
    expect(statusText({ absent: 'sick' })).toBe('Krank');
    expect(statusText({ absent: 'holiday' })).toBe('Urlaub');
  });

  test('rows are grouped by group name, children without group last', () => {
    const groups = groupRows(
      [attendanceRow('1', 'Zoe', 'Sonnen'), attendanceRow('2', 'Ali', null), attendanceRow('3', 'Ben', 'Mond'), attendanceRow('4', 'Emil', 'Sonnen')],
      'Ohne Gruppe',
    );
    expect(groups.map((g) => g.group)).toEqual(['Mond', 'Sonnen', 'Ohne Gruppe']);
    expect(groups[1].rows.map((r) => r.child_name)).toEqual(['Emil', 'Zoe']);
  });
});
