//! The permission matrix, written out by hand: every role × every command. If someone changes
//! `Role::allows` or a command's permission, this table has to be changed too — on purpose.

use kitakontor_core::command::Command;
use kitakontor_core::permission::Role;

// Columns: P = provider admin, D = director, O = office, E = educator, T = technical admin.
const TABLE: &[(&str, &str)] = &[
    ("UpsertFacility", "PD..."),
    ("CreateGroup", "PD..."),
    ("AssignStaff", "PD..."),
    ("CreateUser", "PD..T"),
    ("SetUserRole", "PD..T"),
    ("DeactivateUser", "PD..T"),
    ("ResetPassword", "PD..T"),
    ("CreateChild", "PD..."),
    ("UpdateChild", "PD..."),
    ("DeleteChild", "PD..."),
    ("RecordHealth", "PD..."),
    ("AddGuardian", "PD..."),
    ("LinkGuardian", "PD..."),
    ("SetGuardianFinance", "P.O.."),
    ("SetPickupPersons", "PD..."),
    ("RecordMandate", "P.O.."),
    ("RevokeMandate", "P.O.."),
    ("SetCreditor", "P.O.."),
    ("SubmitApplication", "PD..."),
    ("SetApplicationPriority", "PD..."),
    ("RejectApplication", "PD..."),
    ("WithdrawApplication", "PD..."),
    ("ReservePlace", "PD..."),
    ("CancelReservation", "PD..."),
    ("ExpireReservation", "PD..."),
    ("ConcludeContract", "PD..."),
    ("AmendContract", "PD..."),
    ("TerminateContract", "PD..."),
    ("RecordAttendance", "PD.E."),
    ("RequestTicket", "PD..."),
    ("RecordTicketDecision", "PD..."),
];

const COLUMNS: [Role; 5] = [Role::ProviderAdmin, Role::Director, Role::Office, Role::Educator, Role::TechAdmin];

#[test]
fn every_role_times_every_command_matches_the_table() {
    assert_eq!(TABLE.len(), Command::NAMES.len(), "a command is missing from the table");
    for name in Command::NAMES {
        let row = TABLE.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("{name} missing from TABLE")).1;
        let perm = Command::permission_of(name).unwrap();
        for (i, role) in COLUMNS.iter().enumerate() {
            let expected = row.as_bytes()[i] != b'.';
            assert_eq!(role.allows(perm), expected, "{role} × {name}");
        }
    }
}

#[test]
fn sensitive_reads() {
    use kitakontor_core::permission::Permission::*;
    let who = |p| COLUMNS.iter().filter(|r| r.allows(p)).copied().collect::<Vec<_>>();
    assert_eq!(who(ReadFinance), vec![Role::ProviderAdmin, Role::Office]);
    assert_eq!(who(ReadHealth), vec![Role::ProviderAdmin, Role::Director, Role::Educator]);
    // Billing sees income and bank data, so it is the finance roles only.
    assert_eq!(who(RunBilling), vec![Role::ProviderAdmin, Role::Office]);
    // Technical admins see no child data at all.
    for p in [ReadChildren, ReadHealth, ReadFinance, ReadApplications, ReadContracts, ReadAttendance, ExportFamily, RunBilling] {
        assert!(!Role::TechAdmin.allows(p), "{p:?}");
    }
}
