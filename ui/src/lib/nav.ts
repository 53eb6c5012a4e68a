// The screens, what each needs, and which of them the session may see. Rust checks the
// permissions again on every call; this only keeps the UI from offering what would be refused.

import type { Permission } from './bindings/Permission';
import type { SessionInfo } from './bindings/SessionInfo';

export type ScreenId = 'overview' | 'children' | 'applications' | 'contracts' | 'groups' | 'attendance' | 'billing' | 'city' | 'clarification' | 'settings' | 'import';

export interface ScreenDef {
  id: ScreenId;
  /** Any one of these is enough; empty = everyone logged in. */
  anyOf: Permission[];
  /** Alt+N (0–9); null for screens that are not in the navigation. */
  shortcut: number | null;
}

export const SCREENS: readonly ScreenDef[] = [
  { id: 'overview', anyOf: [], shortcut: 1 },
  { id: 'children', anyOf: ['read_children'], shortcut: 2 },
  { id: 'applications', anyOf: ['read_applications'], shortcut: 3 },
  { id: 'contracts', anyOf: ['read_contracts'], shortcut: 4 },
  { id: 'groups', anyOf: ['read_children', 'manage_facility'], shortcut: 5 },
  { id: 'attendance', anyOf: ['read_attendance'], shortcut: 6 },
  // Fees and billing; Alt+8 because the digits are fixed per screen (Einstellungen stays last).
  { id: 'billing', anyOf: ['run_billing'], shortcut: 8 },
  // The city's duplicate proposals and registry matches: who manages the waiting list (Rust
  // refuses the others). Alt+0: the digits 1–9 are taken, 0 is the next key on the row.
  { id: 'city', anyOf: ['read_applications'], shortcut: 0 },
  // The clarification inbox: everyone; Rust lists only the entries of commands the role may give.
  { id: 'clarification', anyOf: [], shortcut: 9 },
  // Everyone may set their own PIN; the account list inside needs `manage_users`.
  { id: 'settings', anyOf: [], shortcut: 7 },
  // Reached from the inbox notice and from Anmeldungen, not from the navigation.
  { id: 'import', anyOf: ['manage_applications'], shortcut: null },
];

export function can(session: Pick<SessionInfo, 'permissions'> | null | undefined, permission: Permission): boolean {
  return !!session && session.permissions.includes(permission);
}

export function canSee(session: Pick<SessionInfo, 'permissions'> | null | undefined, screen: ScreenId): boolean {
  const def = SCREENS.find((s) => s.id === screen);
  if (!def || !session) return false;
  return def.anyOf.length === 0 || def.anyOf.some((p) => session.permissions.includes(p));
}

/** The navigation's items for this session, in order. */
export function navItems(session: Pick<SessionInfo, 'permissions'> | null | undefined): ScreenDef[] {
  return SCREENS.filter((s) => s.shortcut !== null && canSee(session, s.id));
}

/**
 * The screen for Alt+digit, if the session may see it. The digits are fixed per screen (not
 * per visible position) so that Alt+6 is always Anwesenheit, whoever is logged in.
 */
export function screenForShortcut(session: Pick<SessionInfo, 'permissions'> | null | undefined, digit: number): ScreenId | null {
  const def = SCREENS.find((s) => s.shortcut === digit);
  return def && canSee(session, def.id) ? def.id : null;
}
