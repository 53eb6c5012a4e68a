// Geometry of the free-places chart (hand-made SVG): months on x, one bar per care type,
// a zero line, bars below it for overbooked months.

import type { CareType } from './bindings/CareType';
import type { MonthOccupancy } from './bindings/MonthOccupancy';

export const CARE_TYPE_ORDER: readonly CareType[] = ['nursery', 'kindergarten', 'after_school'];

/** A step of 1, 2 or 5 × 10^n, at least 1 (places are whole numbers). */
export function niceStep(span: number, targetTicks = 5): number {
  const raw = span / Math.max(1, targetTicks);
  if (raw <= 1) return 1;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return nice * mag;
}

/** The value axis: always contains 0, rounded out to whole steps. */
export function valueDomain(values: readonly number[], targetTicks = 5): { min: number; max: number; step: number } {
  const lo = Math.min(0, ...values);
  const hi = Math.max(0, ...values);
  if (lo === 0 && hi === 0) return { min: 0, max: 1, step: 1 };
  const step = niceStep(hi - lo, targetTicks);
  return { min: Math.floor(lo / step) * step, max: Math.ceil(hi / step) * step, step };
}

/** Value → y pixel: `max` at `top`, `min` at `bottom` (SVG y grows downwards). */
export function scaleY(min: number, max: number, top: number, bottom: number): (v: number) => number {
  const span = max - min || 1;
  return (v) => bottom - ((v - min) / span) * (bottom - top);
}

export interface Bar {
  month: string;
  careType: CareType;
  free: number;
  x: number;
  y: number;
  width: number;
  height: number;
  negative: boolean;
}

export interface ChartLayout {
  width: number;
  height: number;
  plot: { left: number; top: number; right: number; bottom: number };
  zeroY: number;
  ticks: { value: number; y: number }[];
  months: { month: string; x: number; center: number; width: number }[];
  careTypes: CareType[];
  bars: Bar[];
}

export interface ChartSize {
  width: number;
  height: number;
  margin?: { left: number; top: number; right: number; bottom: number };
}

export function layoutChart(data: readonly MonthOccupancy[], size: ChartSize): ChartLayout {
  const margin = size.margin ?? { left: 40, top: 12, right: 12, bottom: 28 };
  const plot = { left: margin.left, top: margin.top, right: size.width - margin.right, bottom: size.height - margin.bottom };
  const months = [...new Set(data.map((d) => d.month))].sort();
  const present = new Set(data.map((d) => d.care_type));
  const careTypes = CARE_TYPE_ORDER.filter((c) => present.has(c));

  const dom = valueDomain(data.map((d) => d.free));
  const y = scaleY(dom.min, dom.max, plot.top, plot.bottom);
  const zeroY = y(0);
  const ticks: { value: number; y: number }[] = [];
  for (let v = dom.min; v <= dom.max + 1e-9; v += dom.step) ticks.push({ value: v, y: y(v) });

  const slot = months.length ? (plot.right - plot.left) / months.length : 0;
  const groupPad = slot * 0.18;
  const barWidth = careTypes.length ? (slot - 2 * groupPad) / careTypes.length : 0;

  const monthSlots = months.map((m, i) => ({ month: m, x: plot.left + i * slot, center: plot.left + i * slot + slot / 2, width: slot }));
  const bars: Bar[] = [];
  for (const d of data) {
    const mi = months.indexOf(d.month);
    const ci = careTypes.indexOf(d.care_type);
    const vy = y(d.free);
    const negative = d.free < 0;
    bars.push({
      month: d.month,
      careType: d.care_type,
      free: d.free,
      x: plot.left + mi * slot + groupPad + ci * barWidth,
      y: negative ? zeroY : vy,
      width: Math.max(1, barWidth - 1),
      height: Math.abs(zeroY - vy),
      negative,
    });
  }
  bars.sort((a, b) => a.month.localeCompare(b.month) || careTypes.indexOf(a.careType) - careTypes.indexOf(b.careType));
  return { width: size.width, height: size.height, plot, zeroY, ticks, months: monthSlots, careTypes, bars };
}

/** For the accessible table: free places by month, then care type. */
export function freeTable(data: readonly MonthOccupancy[]): { months: string[]; careTypes: CareType[]; free: Map<string, number> } {
  const months = [...new Set(data.map((d) => d.month))].sort();
  const present = new Set(data.map((d) => d.care_type));
  const careTypes = CARE_TYPE_ORDER.filter((c) => present.has(c));
  const free = new Map(data.map((d) => [`${d.month}|${d.care_type}`, d.free] as const));
  return { months, careTypes, free };
}
