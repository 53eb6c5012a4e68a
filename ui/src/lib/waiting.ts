// View logic of the Anmeldungen screen: filtering, sorting and the status text of one row.

import type { ApplicationState } from './bindings/ApplicationState';
import type { CareType } from './bindings/CareType';
import type { WaitingEntry } from './bindings/WaitingEntry';
import { t } from './i18n';

export interface WaitingFilter {
  careType: CareType | '';
  state: ApplicationState | '';
  text: string;
}

export const EMPTY_FILTER: WaitingFilter = { careType: '', state: '', text: '' };

export type WaitingSortKey = 'position' | 'child_name' | 'birth_date' | 'wanted_start' | 'rank';
export type SortDir = 'asc' | 'desc';

function norm(s: string): string {
  return s.toLocaleLowerCase('de-DE').normalize('NFD').replace(/\p{Diacritic}/gu, '');
}

/** Text matches the child's name in any order of words, ignoring case and accents. */
export function filterWaiting(entries: readonly WaitingEntry[], f: WaitingFilter): WaitingEntry[] {
  const words = norm(f.text).split(/\s+/).filter(Boolean);
  return entries.filter((e) => {
    if (f.careType && e.care_type !== f.careType) return false;
    if (f.state && e.state !== f.state) return false;
    if (words.length) {
      const name = norm(e.child_name);
      if (!words.every((w) => name.includes(w))) return false;
    }
    return true;
  });
}

/** Sorted copy; ties keep the waiting-list order (position). */
export function sortWaiting(entries: readonly WaitingEntry[], key: WaitingSortKey, dir: SortDir = 'asc'): WaitingEntry[] {
  const sign = dir === 'asc' ? 1 : -1;
  const cmp = (a: WaitingEntry, b: WaitingEntry): number => {
    let c: number;
    switch (key) {
      case 'child_name':
        c = a.child_name.localeCompare(b.child_name, 'de-DE');
        break;
      case 'birth_date':
        c = a.birth_date.localeCompare(b.birth_date);
        break;
      case 'wanted_start':
        c = a.wanted_start.localeCompare(b.wanted_start);
        break;
      case 'rank':
        c = a.rank - b.rank;
        break;
      default:
        c = a.position - b.position;
    }
    return c !== 0 ? sign * c : a.position - b.position;
  };
  return [...entries].sort(cmp);
}

/** "Reserviert – noch 3 Tage", "Offen", … */
export function stateText(e: Pick<WaitingEntry, 'state' | 'hold_days_left'>): string {
  if (e.state === 'reserved' && e.hold_days_left !== null) {
    const n = e.hold_days_left;
    if (n <= 0) return t('waiting.reservedToday');
    return n === 1 ? t('waiting.reservedOne') : t('waiting.reservedDays', { n });
  }
  return t(`applicationState.${e.state}`);
}

/** Ticket state of an out-of-town child; empty for children from the municipality. */
export function ticketText(e: Pick<WaitingEntry, 'out_of_town' | 'ticket'>): string {
  if (!e.out_of_town) return '';
  return e.ticket ? t(`ticketState.${e.ticket}`) : t('waiting.ticketMissing');
}

/** Row actions the screen offers, mirroring the state machine (Rust decides). */
export function actionsFor(e: Pick<WaitingEntry, 'state' | 'reservation_id'>): { reserve: boolean; reject: boolean; admit: boolean; cancel: boolean } {
  const open = e.state === 'open';
  const reserved = e.state === 'reserved' && e.reservation_id !== null;
  return { reserve: open, reject: open || e.state === 'reserved', admit: reserved, cancel: reserved };
}
