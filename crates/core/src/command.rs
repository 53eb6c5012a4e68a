//! Domain commands: every change a user makes is one of these. The store applies a command,
//! writes its outbox row (the JSON of the command, shipped to the hub later) and its audit row
//! in one transaction. Commands carry no secrets: passwords and PINs travel beside them.
//!
//! `SCHEMA_VERSION` is bumped when an argument struct changes incompatibly; the hub uses it to
//! refuse commands it cannot understand instead of guessing.

use crate::application::ApplicationOrigin;
use crate::attendance::AttendanceKind;
use crate::care::{CareHours, CareType};
use crate::ids::*;
use crate::permission::{Permission, Role};
use crate::person::Address;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub const SCHEMA_VERSION: u32 = 1;

macro_rules! commands {
    ($( $(#[$m:meta])* $variant:ident => $perm:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? } )*) => {
        $(
            $(#[$m])*
            #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
            #[serde(deny_unknown_fields)]
            pub struct $variant { $($(#[$fm])* pub $field: $ty),* }

            impl From<$variant> for Command {
                fn from(c: $variant) -> Command { Command::$variant(c) }
            }
        )*

        /// A user's change, as it is stored in the outbox and shipped to the hub.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "name", content = "args")]
        pub enum Command { $($variant($variant)),* }

        impl Command {
            /// All command names, for the permission matrix and the docs.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($variant)),*];

            pub fn name(&self) -> &'static str {
                match self { $(Command::$variant(_) => stringify!($variant)),* }
            }

            /// The permission the guard checks before the command runs.
            pub fn permission(&self) -> Permission {
                match self { $(Command::$variant(_) => Permission::$perm),* }
            }

            /// The permission for a command name (for tables and the UI's mirror of the guard).
            pub fn permission_of(name: &str) -> Option<Permission> {
                match name { $(stringify!($variant) => Some(Permission::$perm),)* _ => None }
            }
        }
    };
}

commands! {
    /// Creates or updates a facility (Einrichtung) with its capacity per care type.
    UpsertFacility => ManageFacility {
        facility_id: FacilityId, provider_id: ProviderId, provider_name: String, name: String,
        profile: String, address: Address, municipality: String, capacities: Vec<(CareType, u32)>,
    }
    CreateGroup => ManageFacility { group_id: GroupId, facility_id: FacilityId, name: String, care_type: CareType }
    /// Puts an educator into a group (they then see its children).
    AssignStaff => ManageFacility { group_id: GroupId, user_id: UserId }

    CreateUser => ManageUsers { user_id: UserId, username: String, display_name: String, role: Role, facility_id: Option<FacilityId> }
    SetUserRole => ManageUsers { user_id: UserId, role: Role }
    DeactivateUser => ManageUsers { user_id: UserId }
    /// The new password hash is written beside the command, never into it.
    ResetPassword => ManageUsers { user_id: UserId }

    CreateChild => WriteChildren {
        child_id: ChildId, facility_id: FacilityId, group_id: Option<GroupId>, first_name: String,
        last_name: String, birth_date: NaiveDate, address: Address, municipality: String,
    }
    /// Changes master data; `None` fields stay as they are.
    UpdateChild => WriteChildren {
        child_id: ChildId, first_name: Option<String>, last_name: Option<String>, birth_date: Option<NaiveDate>,
        address: Option<Address>, municipality: Option<String>, group_id: Option<GroupId>,
    }
    /// Deletes the child's file for good (retention ended or DSGVO Art. 17).
    DeleteChild => WriteChildren { child_id: ChildId }
    RecordHealth => WriteHealth { child_id: ChildId, measles_proof: Option<NaiveDate>, health_notes: String }
    AddGuardian => WriteChildren {
        guardian_id: GuardianId, child_id: ChildId, first_name: String, last_name: String,
        email: String, phone: String, address: Address, single_parent: bool,
    }
    /// Links an existing guardian to a further child (siblings).
    LinkGuardian => WriteChildren { guardian_id: GuardianId, child_id: ChildId }
    SetGuardianFinance => WriteFinance {
        guardian_id: GuardianId, income_cents: Option<i64>, iban: Option<String>, account_holder: Option<String>,
    }

    /// Persons allowed to pick the child up besides the guardians ("Name (Beziehung)"), for the contract.
    SetPickupPersons => WriteChildren { child_id: ChildId, persons: Vec<String> }
    /// Records a signed SEPA direct-debit mandate of a guardian (needs the guardian's IBAN).
    RecordMandate => WriteFinance { mandate_id: MandateId, guardian_id: GuardianId, reference: String, signed_on: NaiveDate }
    /// The guardian revoked the mandate; later fees are paid by transfer.
    RevokeMandate => WriteFinance { mandate_id: MandateId, revoked_on: NaiveDate }
    /// The provider's address and SEPA creditor data (Gläubiger-ID, account) and its youth office.
    SetCreditor => RunBilling {
        provider_id: ProviderId, address: Address, creditor_id: String, iban: String, bic: Option<String>, youth_office: String,
    }

    SubmitApplication => ManageApplications {
        application_id: ApplicationId, child_id: ChildId, choices: Vec<FacilityId>, wanted_start: NaiveDate,
        care_type: CareType, care_hours: CareHours, origin: ApplicationOrigin,
    }
    /// Moves an application on the waiting list (lower priority value = earlier).
    SetApplicationPriority => ManageApplications { application_id: ApplicationId, priority: i32 }
    RejectApplication => ManageApplications { application_id: ApplicationId, reason: String }
    WithdrawApplication => ManageApplications { application_id: ApplicationId }

    /// Holds a place for 7 days. Provisional until the hub confirms it.
    ReservePlace => ManageApplications { reservation_id: ReservationId, application_id: ApplicationId, facility_id: FacilityId, start_date: NaiveDate }
    CancelReservation => ManageApplications { reservation_id: ReservationId, reason: String }
    /// Marks a hold whose 7 days are over as lapsed; the application returns to the waiting list.
    ExpireReservation => ManageApplications { reservation_id: ReservationId }

    ConcludeContract => ManageContracts {
        contract_id: ContractId, reservation_id: ReservationId, start_date: NaiveDate, care_hours: CareHours, settling_in_weeks: u8,
    }
    AmendContract => ManageContracts { contract_id: ContractId, valid_from: NaiveDate, care_hours: CareHours, note: String }
    TerminateContract => ManageContracts { contract_id: ContractId, end_date: NaiveDate, reason: String }

    RecordAttendance => RecordAttendance {
        event_id: AttendanceEventId, child_id: ChildId, date: NaiveDate, kind: AttendanceKind, at: DateTime<Utc>,
        corrects: Option<AttendanceEventId>,
    }

    RequestTicket => ManageTickets { ticket_id: TicketId, child_id: ChildId, home_municipality: String }
    /// Records the youth office's decision as received (letter or, later, via the hub).
    RecordTicketDecision => ManageTickets { ticket_id: TicketId, approved: bool, reference: String }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape_is_name_plus_args_and_rejects_unknown_fields() {
        let c: Command = WithdrawApplication { application_id: ApplicationId(uuid::Uuid::nil()) }.into();
        let j = serde_json::to_value(&c).unwrap();
        assert_eq!(j["name"], "WithdrawApplication");
        assert_eq!(serde_json::from_value::<Command>(j.clone()).unwrap(), c);
        let mut bad = j;
        bad["args"]["extra"] = serde_json::json!(1);
        assert!(serde_json::from_value::<Command>(bad).is_err());
        assert_eq!(Command::NAMES.len(), 31);
    }
}
