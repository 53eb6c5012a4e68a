import { describe, expect, test } from 'vitest';
import { formatDate, formatFte, formatHours, formatMoney, formatMonth, formatTime, parseDecimal, parseGermanDate, todayIso } from '../src/lib/format';

const NBSP = '\u00a0';

describe('German formatting', () => {
  test('dates are DD.MM.YYYY without a time-zone shift', () => {
    expect(formatDate('2027-08-01')).toBe('01.08.2027');
    expect(formatDate('2026-12-31')).toBe('31.12.2026');
    expect(formatDate(null)).toBe('');
  });

  test('months are MM/YYYY', () => {
    expect(formatMonth('2027-08-01')).toBe('08/2027');
  });

  test('money from cents with thousands separator and euro sign', () => {
    expect(formatMoney(123456)).toBe(`1.234,56${NBSP}€`);
    expect(formatMoney(0)).toBe(`0,00${NBSP}€`);
    expect(formatMoney(null)).toBe('');
  });

  test('hours and FTE with decimal comma', () => {
    expect(formatHours(4.5)).toBe('4,5');
    expect(formatHours(9)).toBe('9');
    expect(formatFte(1.25)).toBe('1,25');
    expect(formatFte(2)).toBe('2,00');
  });

  test('times are HH:MM in local time', () => {
    const instant = '2026-03-02T07:05:00Z';
    const d = new Date(instant);
    const expected = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
    expect(formatTime(instant)).toBe(expected);
    expect(formatTime('not a time')).toBe('');
  });

  test('typed numbers and dates are parsed the German way', () => {
    expect(parseDecimal('4,5')).toBe(4.5);
    expect(parseDecimal(' 7.5 ')).toBe(7.5);
    expect(parseDecimal('4,5h')).toBeNull();
    expect(parseGermanDate('1.8.2027')).toBe('2027-08-01');
    expect(parseGermanDate('01.08.2027')).toBe('2027-08-01');
    expect(parseGermanDate('2027-08-01')).toBe('2027-08-01');
    expect(parseGermanDate('31.02.2027')).toBeNull();
    expect(parseGermanDate('morgen')).toBeNull();
  });

  test('today is the local calendar day', () => {
    expect(todayIso(new Date(2026, 0, 5, 23, 59))).toBe('2026-01-05');
  });
});
