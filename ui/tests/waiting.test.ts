import { describe, expect, test } from 'vitest';
import { EMPTY_FILTER, actionsFor, filterWaiting, sortWaiting, stateText, ticketText } from '../src/lib/waiting';
import { entry } from './fixtures';

const list = [
  entry({ position: 1, child_name: 'Özil, Lena', care_type: 'nursery' }),
  entry({ position: 2, child_name: 'Bauer, Max', care_type: 'kindergarten', state: 'reserved', reservation_id: 'r-2', hold_days_left: 3, wanted_start: '2026-09-01' }),
  entry({ position: 3, child_name: 'Albrecht, Jonas', care_type: 'nursery', out_of_town: true, ticket: null, birth_date: '2023-01-10' }),
  entry({ position: 4, child_name: 'Clausen, Mia', care_type: 'after_school', state: 'rejected', out_of_town: true, ticket: 'approved' }),
];

describe('waiting list filtering', () => {
  test('no filter keeps everything', () => {
    expect(filterWaiting(list, EMPTY_FILTER)).toHaveLength(4);
  });

  test('by care type and by state', () => {
    expect(filterWaiting(list, { ...EMPTY_FILTER, careType: 'nursery' }).map((e) => e.position)).toEqual([1, 3]);
    expect(filterWaiting(list, { ...EMPTY_FILTER, state: 'reserved' }).map((e) => e.position)).toEqual([2]);
    expect(filterWaiting(list, { careType: 'nursery', state: 'reserved', text: '' })).toEqual([]);
  });

  test('text ignores case, accents and word order', () => {
    expect(filterWaiting(list, { ...EMPTY_FILTER, text: 'ozil' }).map((e) => e.position)).toEqual([1]);
    expect(filterWaiting(list, { ...EMPTY_FILTER, text: 'max bauer' }).map((e) => e.position)).toEqual([2]);
  });
});

describe('waiting list sorting', () => {
  test('by name (German collation), both directions', () => {
    expect(sortWaiting(list, 'child_name').map((e) => e.position)).toEqual([3, 2, 4, 1]);
    expect(sortWaiting(list, 'child_name', 'desc').map((e) => e.position)).toEqual([1, 4, 2, 3]);
  });

  test('ties keep the ranking; the input is not changed', () => {
    expect(sortWaiting(list, 'wanted_start').map((e) => e.position)).toEqual([1, 3, 4, 2]);
    expect(list.map((e) => e.position)).toEqual([1, 2, 3, 4]);
  });
});

describe('row texts and actions', () => {
  test('reserved rows show the days left', () => {
    expect(stateText(list[1])).toBe('Reserviert – noch 3 Tage');
    expect(stateText({ state: 'reserved', hold_days_left: 1 })).toBe('Reserviert – noch 1 Tag');
    expect(stateText(list[0])).toBe('Offen');
  });

  test('out-of-town children show their ticket or that it is missing', () => {
    expect(ticketText(list[2])).toBe('Ticket fehlt');
    expect(ticketText(list[3])).toBe('Ticket genehmigt');
    expect(ticketText(list[0])).toBe('');
  });

  test('actions follow the application state', () => {
    expect(actionsFor(list[0])).toEqual({ reserve: true, reject: true, admit: false, cancel: false });
    expect(actionsFor(list[1])).toEqual({ reserve: false, reject: true, admit: true, cancel: true });
    expect(actionsFor(list[3])).toEqual({ reserve: false, reject: false, admit: false, cancel: false });
  });
});
