// The pure part of the sync indicator and the clarification inbox ("Klärungsbedarf"): the
// status bar's texts, German labels for command and field names, and hub values as people read
// them. What is pending, open or in conflict comes from Rust.

import type { InboxItem } from './bindings/InboxItem';
import type { SyncStatus } from './bindings/SyncStatus';
import { formatDate, formatMoney } from './format';
import { hasKey, t } from './i18n';

const dateTimeFmt = new Intl.DateTimeFormat('de-DE', { day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit' });

/** An instant → `24.11.2026, 10:05` in the PC's local time. */
export function formatDateTime(instant: string | null | undefined): string {
  if (!instant) return '';
  const d = new Date(instant);
  return Number.isNaN(d.getTime()) ? '' : dateTimeFmt.format(d);
}

/** When the last sync was, as the status bar says it (`vor 3 Min.`). */
export function syncedAgo(lastSync: string, now: Date): string {
  const then = new Date(lastSync);
  const minutes = Math.floor((now.getTime() - then.getTime()) / 60_000);
  if (Number.isNaN(minutes)) return t('sync.never');
  if (minutes < 1) return t('sync.justNow');
  if (minutes < 60) return t('sync.minutesAgo', { n: minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return t('sync.hoursAgo', { n: hours });
  return t('sync.at', { when: formatDateTime(lastSync) });
}

/** The texts of the status bar; null parts are not shown. */
export interface SyncView {
  enrolled: boolean;
  /** Offline / last sync / never. */
  state: string;
  /** `12 Änderungen warten` (enrolled only). */
  pending: string | null;
  /** The error line while a sync fails. */
  error: string | null;
  /** The full error text (tooltip). */
  errorDetail: string | null;
  upgrade: string | null;
  /** Open clarification entries of this role. */
  inboxOpen: number;
}

export function syncView(s: SyncStatus, now: Date): SyncView {
  if (!s.enrolment) {
    return { enrolled: false, state: t('sync.offline'), pending: null, error: null, errorDetail: null, upgrade: null, inboxOpen: s.inbox_open };
  }
  const pending = s.pending === 0 ? null : s.pending === 1 ? t('sync.pendingOne') : t('sync.pendingMany', { n: s.pending });
  let error: string | null = null;
  if (s.last_error && !s.upgrade_required) {
    error = /nicht erreichbar/.test(s.last_error) ? t('sync.unreachable') : t('sync.failed', { message: s.last_error });
  }
  return {
    enrolled: true,
    state: s.last_sync_at ? t('sync.synced', { ago: syncedAgo(s.last_sync_at, now) }) : t('sync.never'),
    pending,
    error,
    errorDetail: s.last_error,
    upgrade: s.upgrade_required ? t('sync.upgrade') : null,
    inboxOpen: s.inbox_open,
  };
}

/** The German name of a command (`ReservePlace` → `Platz reservieren`); unknown names as they are. */
export function commandLabel(name: string): string {
  const key = `command.${name}`;
  return hasKey(key) ? t(key) : name;
}

/** The German name of a record field (`first_name` → `Vorname`). */
export function fieldLabel(field: string): string {
  const key = `field.${field}`;
  return hasKey(key) ? t(key) : field;
}

const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

/** A field's value from the hub or the user, readable: dates, money, addresses, lists. */
export function formatValue(field: string, value: unknown): string {
  if (value === null || value === undefined || value === '') return t('common.none');
  if (field === 'income_cents' && typeof value === 'number') return formatMoney(value);
  if (typeof value === 'boolean') return value ? t('common.yes') : t('common.no');
  if (typeof value === 'string') return ISO_DAY.test(value) ? formatDate(value) : value;
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return value.length ? value.map((v) => formatValue(field, v)).join(', ') : t('common.none');
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if ('street' in o || 'postal_code' in o || 'city' in o) {
      const town = [o.postal_code, o.city].filter((x) => typeof x === 'string' && x).join(' ');
      return [o.street, town].filter((x) => typeof x === 'string' && x).join(', ') || t('common.none');
    }
    return JSON.stringify(value);
  }
  return String(value);
}

/** The hub's "UpdateChild von Büro-PC 2 am …" with the German command name. */
export function describeTheirs(theirsBy: string | null): string | null {
  if (!theirsBy) return null;
  const m = /^([A-Z][A-Za-z]+) (.*)$/.exec(theirsBy);
  return m && hasKey(`command.${m[1]}`) ? `${commandLabel(m[1])} ${m[2]}` : theirsBy;
}

/** The heading of an entry: the command's label and, if known, the child. */
export function entryTitle(item: Pick<InboxItem, 'name' | 'child_name'>): string {
  const label = commandLabel(item.name);
  return item.child_name ? t('clarify.titleWithChild', { label, child: item.child_name }) : label;
}

/** Whether keeping the hub's state is called "Stand des Hubs behalten" (conflicts) or "Verwerfen". */
export function dismissLabel(item: Pick<InboxItem, 'outcome'>): string {
  return item.outcome.status === 'conflict' ? t('clarify.keepHub') : t('clarify.discard');
}
