import { describe, expect, test } from 'vitest';
import { layoutChart, niceStep, scaleY, valueDomain } from '../src/lib/chart';
import { month } from './fixtures';

describe('chart scaling', () => {
  test('the value axis always includes zero and rounds out to nice steps', () => {
    expect(valueDomain([3, 7, 12])).toEqual({ min: 0, max: 15, step: 5 });
    expect(valueDomain([-3, 4])).toEqual({ min: -4, max: 4, step: 2 });
    expect(valueDomain([-30, 45])).toEqual({ min: -40, max: 60, step: 20 });
    expect(valueDomain([0, 0])).toEqual({ min: 0, max: 1, step: 1 });
    expect(niceStep(3)).toBe(1);
  });

  test('scaleY maps max to top and min to bottom', () => {
    const y = scaleY(-10, 10, 0, 200);
    expect(y(10)).toBe(0);
    expect(y(-10)).toBe(200);
    expect(y(0)).toBe(100);
  });

  test('negative values are bars below the zero line, flagged as overbooked', () => {
    const data = [month('2026-08-01', 'nursery', 4), month('2026-08-01', 'kindergarten', -2), month('2026-09-01', 'nursery', 0), month('2026-09-01', 'kindergarten', 1)];
    const c = layoutChart(data, { width: 400, height: 200, margin: { left: 0, top: 0, right: 0, bottom: 0 } });
    const over = c.bars.find((b) => b.free === -2)!;
    const pos = c.bars.find((b) => b.free === 4)!;
    expect(over.negative).toBe(true);
    expect(over.y).toBeCloseTo(c.zeroY);
    expect(over.height).toBeCloseTo((2 / 6) * 200);
    expect(pos.negative).toBe(false);
    expect(pos.y + pos.height).toBeCloseTo(c.zeroY);
    expect(pos.height).toBeCloseTo((4 / 6) * 200);
    expect(c.bars.find((b) => b.free === 0)!.height).toBeCloseTo(0);
  });

  test('bars are grouped per month in care-type order', () => {
    const data = [month('2026-09-01', 'kindergarten', 1), month('2026-08-01', 'kindergarten', 2), month('2026-08-01', 'nursery', 3), month('2026-09-01', 'nursery', 4)];
    const c = layoutChart(data, { width: 400, height: 200 });
    expect(c.months.map((m) => m.month)).toEqual(['2026-08-01', '2026-09-01']);
    expect(c.careTypes).toEqual(['nursery', 'kindergarten']);
    expect(c.bars.map((b) => `${b.month}/${b.careType}`)).toEqual(['2026-08-01/nursery', '2026-08-01/kindergarten', '2026-09-01/nursery', '2026-09-01/kindergarten']);
    const xs = c.bars.map((b) => b.x);
    expect([...xs].sort((a, b) => a - b)).toEqual(xs);
    // Every bar stays inside its month's slot.
    for (const b of c.bars) {
      const slot = c.months.find((m) => m.month === b.month)!;
      expect(b.x).toBeGreaterThanOrEqual(slot.x);
      expect(b.x + b.width).toBeLessThanOrEqual(slot.x + slot.width);
    }
  });
});
