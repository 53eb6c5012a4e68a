// German formatting of what the Rust side sends: dates as ISO strings (`2027-08-01`),
// instants as RFC 3339 in UTC, hours and FTE as numbers, money in cents.

const LOCALE = 'de-DE';

const dateFmt = new Intl.DateTimeFormat(LOCALE, { day: '2-digit', month: '2-digit', year: 'numeric', timeZone: 'UTC' });
const monthFmt = new Intl.DateTimeFormat(LOCALE, { month: '2-digit', year: 'numeric', timeZone: 'UTC' });
const monthLongFmt = new Intl.DateTimeFormat(LOCALE, { month: 'long', year: 'numeric', timeZone: 'UTC' });
const monthShortFmt = new Intl.DateTimeFormat(LOCALE, { month: 'short', timeZone: 'UTC' });
const timeFmt = new Intl.DateTimeFormat(LOCALE, { hour: '2-digit', minute: '2-digit' });
const moneyFmt = new Intl.NumberFormat(LOCALE, { style: 'currency', currency: 'EUR' });
const hoursFmt = new Intl.NumberFormat(LOCALE, { minimumFractionDigits: 0, maximumFractionDigits: 1 });
const fteFmt = new Intl.NumberFormat(LOCALE, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const intFmt = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 0 });

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})/;

/** A calendar date (no time zone) as a UTC timestamp, so formatting never shifts the day. */
function isoDateToUtc(iso: string): number | null {
  const m = ISO_DATE.exec(iso);
  if (!m) return null;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
}

/** `2027-08-01` → `01.08.2027`. Empty for nothing; the input itself if it is no date. */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '';
  const ts = isoDateToUtc(iso);
  return ts === null ? iso : dateFmt.format(ts);
}

/** `2027-08-01` → `08/2027`. */
export function formatMonth(iso: string): string {
  const ts = isoDateToUtc(iso);
  return ts === null ? iso : monthFmt.format(ts);
}

/** `2027-08-01` → `August 2027` (for screen readers). */
export function formatMonthLong(iso: string): string {
  const ts = isoDateToUtc(iso);
  return ts === null ? iso : monthLongFmt.format(ts);
}

/** `2027-08-01` → `Aug` (chart axis). */
export function formatMonthShort(iso: string): string {
  const ts = isoDateToUtc(iso);
  return ts === null ? iso : monthShortFmt.format(ts);
}

/** An instant (RFC 3339) → `HH:MM` in the PC's local time. */
export function formatTime(instant: string | null | undefined): string {
  if (!instant) return '';
  const d = new Date(instant);
  return Number.isNaN(d.getTime()) ? '' : timeFmt.format(d);
}

/** Cents → `1.234,56 €`. */
export function formatMoney(cents: number | null | undefined): string {
  if (cents === null || cents === undefined) return '';
  return moneyFmt.format(cents / 100);
}

/** Care hours per day → `4,5` (`9` for whole hours). */
export function formatHours(hours: number): string {
  return hoursFmt.format(hours);
}

/** Full-time equivalents → `1,25`. */
export function formatFte(fte: number): string {
  return fteFmt.format(fte);
}

export function formatInt(n: number): string {
  return intFmt.format(n);
}

/** `4,5` or `4.5` → 4.5; null if it is no number. */
export function parseDecimal(text: string): number | null {
  const s = text.trim().replace(/\s/g, '');
  if (!/^-?\d+([.,]\d+)?$/.test(s)) return null;
  return Number(s.replace(',', '.'));
}

/**
 * `01.08.2027`, `1.8.2027` or `2027-08-01` → `2027-08-01`; null if it is no valid date.
 * Typing dates is faster than any picker, and WebKitGTK's date input varies by version.
 */
export function parseGermanDate(text: string): string | null {
  const s = text.trim();
  let y: number, m: number, d: number;
  const de = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/.exec(s);
  const iso = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (de) {
    [d, m, y] = [Number(de[1]), Number(de[2]), Number(de[3])];
  } else if (iso) {
    [y, m, d] = [Number(iso[1]), Number(iso[2]), Number(iso[3])];
  } else {
    return null;
  }
  const dt = new Date(Date.UTC(y, m - 1, d));
  if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== m - 1 || dt.getUTCDate() !== d) return null;
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** Today in the PC's local time, as `YYYY-MM-DD`. */
export function todayIso(now: Date = new Date()): string {
  const y = now.getFullYear();
  const m = String(now.getMonth() + 1).padStart(2, '0');
  const d = String(now.getDate()).padStart(2, '0');
  return `${y}-${m}-${d}`;
}
