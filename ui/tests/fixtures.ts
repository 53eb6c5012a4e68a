// Sample data shaped by the generated bindings.
import type { AttendanceRow } from '../src/lib/bindings/AttendanceRow';
import type { MonthOccupancy } from '../src/lib/bindings/MonthOccupancy';
import type { Permission } from '../src/lib/bindings/Permission';
import type { SessionInfo } from '../src/lib/bindings/SessionInfo';
import type { WaitingEntry } from '../src/lib/bindings/WaitingEntry';

export function session(permissions: Permission[], extra: Partial<SessionInfo> = {}): SessionInfo {
  return {
    user_id: 'u-1',
    username: 'leitung',
    display_name: 'Anna Leitner',
    role: 'director',
    role_label: 'Einrichtungsleitung',
    facility_id: 'f-1',
    facility_name: 'Kita Sonnenschein',
    locked: false,
    has_pin: true,
    idle_seconds: 300,
    permissions,
    ...extra,
  };
}

// Mirrors Role::allows in crates/core/src/permission.rs.
export const EDUCATOR: Permission[] = ['read_children', 'read_health', 'read_attendance', 'record_attendance'];
export const OFFICE: Permission[] = ['read_children', 'read_finance', 'write_finance', 'read_contracts', 'read_occupancy', 'run_billing'];
export const DIRECTOR: Permission[] = [
  'manage_facility',
  'manage_users',
  'read_children',
  'write_children',
  'read_health',
  'write_health',
  'read_applications',
  'manage_applications',
  'read_contracts',
  'manage_contracts',
  'read_attendance',
  'record_attendance',
  'manage_tickets',
  'read_occupancy',
  'export_family',
];
export const TECH_ADMIN: Permission[] = ['manage_users', 'verify_audit'];

export function entry(p: Partial<WaitingEntry> & Pick<WaitingEntry, 'position' | 'child_name'>): WaitingEntry {
  return {
    application_id: `a-${p.position}`,
    child_id: `c-${p.position}`,
    birth_date: '2024-05-01',
    wanted_start: '2026-08-01',
    care_type: 'nursery',
    care_hours: 9,
    rank: 1,
    priority: 0,
    state: 'open',
    reservation_id: null,
    hold_days_left: null,
    out_of_town: false,
    ticket: null,
    ...p,
  };
}

export function month(m: string, care_type: MonthOccupancy['care_type'], free: number): MonthOccupancy {
  return { month: m, care_type, capacity: 20, contracted: 20 - free, reserved: 0, free, contracted_hours: 0, required_fte: 0 };
}

export function attendanceRow(child_id: string, child_name: string, group: string | null, status: AttendanceRow['status'] = 'not_recorded'): AttendanceRow {
  return { child_id, child_name, group, status, last_event: status === 'not_recorded' ? null : `e-${child_id}` };
}
