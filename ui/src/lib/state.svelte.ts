// The little state shared across screens. Everything a screen loads lives in the screen
// component itself, so unmounting the screens (on lock) drops it; what is kept here is cleared
// by `clearData()` when the session locks or ends.

import * as api from './api';
import type { Pending } from './bindings/Pending';
import type { SessionInfo } from './bindings/SessionInfo';
import type { SyncStatus } from './bindings/SyncStatus';
import type { ScreenId } from './nav';

interface AppState {
  session: SessionInfo | null;
  screen: ScreenId;
  /** From `overview().pending` (the overview's counts). */
  pending: Pending | null;
  /** The status bar's sync state: from `sync_status` after actions and from `sync-status` events. */
  sync: SyncStatus | null;
  /** File names from the last `inbox-changed` event, for the notice. */
  inbox: string[];
  inboxNoticeOpen: boolean;
  /** The file the import screen should open with. */
  importFile: string | null;
}

export const app: AppState = $state({
  session: null,
  screen: 'overview',
  pending: null,
  sync: null,
  inbox: [],
  inboxNoticeOpen: false,
  importFile: null,
});

/** Drops every piece of loaded data (lock, logout). The screens themselves are unmounted. */
export function clearData(): void {
  app.pending = null;
  app.sync = null;
  app.inbox = [];
  app.inboxNoticeOpen = false;
  app.importFile = null;
  app.screen = 'overview';
}

export function navigate(screen: ScreenId, importFile: string | null = null): void {
  app.importFile = importFile;
  app.screen = screen;
}

/**
 * Re-reads the pending counts after a change. Only ever called because of something the
 * user did: every call counts as activity on the Rust side, so polling would keep an
 * abandoned session from locking.
 */
export async function refreshPending(): Promise<void> {
  await Promise.all([
    api
      .overview()
      .then((o) => {
        app.pending = o.pending;
      })
      .catch(() => {}),
    refreshSync(),
  ]);
}

/**
 * Re-reads the sync status (pending changes, open inbox entries) after something the user
 * did. Between actions the shell's `sync-status` events keep it current.
 */
export async function refreshSync(): Promise<void> {
  try {
    app.sync = await api.syncStatus();
  } catch {
    // The status bar is optional; errors of the action itself are shown where it happened.
  }
}
