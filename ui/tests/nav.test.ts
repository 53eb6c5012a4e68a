import { describe, expect, test } from 'vitest';
import { SCREENS, can, canSee, navItems, screenForShortcut } from '../src/lib/nav';
import { DIRECTOR, EDUCATOR, OFFICE, TECH_ADMIN, session } from './fixtures';

const ids = (perms: Parameters<typeof session>[0]) => navItems(session(perms)).map((s) => s.id);

describe('navigation by permissions', () => {
  test('educator sees no Anmeldungen and no Verträge', () => {
    expect(ids(EDUCATOR)).toEqual(['overview', 'children', 'groups', 'attendance', 'clarification', 'settings']);
  });

  test('director sees every screen of the navigation', () => {
    expect(ids(DIRECTOR)).toEqual(['overview', 'children', 'applications', 'contracts', 'groups', 'attendance', 'city', 'clarification', 'settings']);
  });

  test('office sees contracts but no applications and no attendance', () => {
    const list = ids(OFFICE);
    expect(list).toContain('contracts');
    expect(list).not.toContain('applications');
    expect(list).not.toContain('attendance');
  });

  test('Abrechnung needs run_billing: the office has it at Alt+8, the director not', () => {
    expect(ids(OFFICE)).toEqual(['overview', 'children', 'contracts', 'groups', 'billing', 'clarification', 'settings']);
    expect(ids(DIRECTOR)).not.toContain('billing');
    expect(screenForShortcut(session(OFFICE), 8)).toBe('billing');
    expect(screenForShortcut(session(DIRECTOR), 8)).toBeNull();
    expect(canSee(session(EDUCATOR), 'billing')).toBe(false);
  });

  test('every shortcut digit is used once', () => {
    const digits = SCREENS.map((s) => s.shortcut).filter((d) => d !== null);
    expect(new Set(digits).size).toBe(digits.length);
  });

  test('Einstellungen is always there (own PIN)', () => {
    expect(ids(TECH_ADMIN)).toEqual(['overview', 'clarification', 'settings']);
    expect(ids([])).toContain('settings');
  });

  test('import is not in the navigation and needs manage_applications', () => {
    expect(ids(DIRECTOR)).not.toContain('import');
    expect(canSee(session(DIRECTOR), 'import')).toBe(true);
    expect(canSee(session(EDUCATOR), 'import')).toBe(false);
  });

  test('Alt+digit is fixed per screen and respects permissions', () => {
    expect(screenForShortcut(session(DIRECTOR), 6)).toBe('attendance');
    expect(screenForShortcut(session(EDUCATOR), 6)).toBe('attendance');
    expect(screenForShortcut(session(EDUCATOR), 3)).toBeNull();
    expect(screenForShortcut(session(EDUCATOR), 9)).toBe('clarification');
  });

  test('Klärungsbedarf is there for everyone at Alt+9 (Rust filters the entries by role)', () => {
    for (const perms of [EDUCATOR, OFFICE, DIRECTOR, TECH_ADMIN, []]) expect(screenForShortcut(session(perms), 9)).toBe('clarification');
    expect(ids(DIRECTOR).slice(-2)).toEqual(['clarification', 'settings']);
  });

  test('Stadtabgleich at Alt+0, only for who manages the waiting list', () => {
    expect(screenForShortcut(session(DIRECTOR), 0)).toBe('city');
    for (const perms of [EDUCATOR, OFFICE, TECH_ADMIN, []]) {
      expect(screenForShortcut(session(perms), 0)).toBeNull();
      expect(canSee(session(perms), 'city')).toBe(false);
    }
  });

  test('no session, no screens', () => {
    expect(navItems(null)).toEqual([]);
    expect(can(null, 'read_children')).toBe(false);
    expect(can(session(OFFICE), 'read_finance')).toBe(true);
  });
});
