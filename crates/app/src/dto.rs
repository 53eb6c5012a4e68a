//! What crosses the IPC boundary: inputs are typed structs that refuse unknown fields, outputs
//! are serde types. TypeScript types are generated from these (feature `ts`).

use chrono::NaiveDate;
use kitakontor_core::ids::*;
use kitakontor_core::occupancy::MonthOccupancy;
use kitakontor_core::permission::{Permission, Role};
use kitakontor_store::auth::AccountSummary;
use kitakontor_store::queries::WaitingEntry;
use serde::{Deserialize, Serialize};

macro_rules! input {
    ($( $(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? } )*) => {$(
        $(#[$m])*
        #[derive(Debug, Clone, Deserialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        #[serde(deny_unknown_fields)]
        pub struct $name { $($(#[$fm])* pub $field: $ty),* }
    )*};
}

input! {
    LoginInput { username: String, password: String }
    /// Unlock one's own locked session: with the PIN, or with the password.
    UnlockInput { pin: Option<String>, password: Option<String> }
    SetupInput {
        facility_name: String, municipality: String, nursery: u32, kindergarten: u32, after_school: u32,
        username: String, display_name: String, password: String,
    }
    SearchInput { query: String }
    ChildRef { child_id: ChildId }
    GuardianRef { guardian_id: GuardianId }
    ReserveInput { application_id: ApplicationId, start_date: Option<NaiveDate> }
    RejectInput { application_id: ApplicationId, reason: String }
    CancelReservationInput { reservation_id: ReservationId, reason: String }
    ConcludeInput { reservation_id: ReservationId, care_hours: f64, start_date: Option<NaiveDate>, settling_in_weeks: u8 }
    AmendInput { contract_id: ContractId, valid_from: NaiveDate, care_hours: f64, note: String }
    TerminateInput { contract_id: ContractId, end_date: NaiveDate, reason: String }
    AttendanceInput { child_id: ChildId, action: AttendanceAction, corrects: Option<AttendanceEventId> }
    CreateUserInput { username: String, display_name: String, role: Role, password: String, groups: Vec<GroupId> }
    PinInput { pin: String }
    SetRoleInput { user_id: UserId, role: Role }
    UserRef { user_id: UserId }
    IdleInput { minutes: u32 }
    ImportInput { file_name: String }
    ContractRef { contract_id: ContractId }
    /// A child and a month (any day of it; `None`: next month).
    ChildMonthInput { child_id: ChildId, month: Option<NaiveDate> }
    BillingInput { month: NaiveDate, sepa_version: kitakontor_store::billing::SepaVersion }
    ClaimInput { from: NaiveDate, to: NaiveDate }
    /// A signed SEPA mandate of a guardian, as on the paper form.
    RecordMandateInput { guardian_id: GuardianId, reference: String, signed_on: NaiveDate }
    RevokeMandateInput { mandate_id: MandateId, revoked_on: NaiveDate }
    /// A file the app wrote before (only paths under the documents folder are opened).
    PathInput { path: String }
    /// The clarification inbox; resolved entries only on request ("Erledigte anzeigen").
    InboxInput { include_resolved: bool }
    ResolveInboxInput { id: i64, action: kitakontor_store::sync::InboxAction }
    /// Binds this PC to the city's hub with a one-time code from the hub's administrator.
    EnrolInput { hub_url: String, code: String, device_name: String }
    /// A decision on one of the city's duplicate proposals ("Dasselbe Kind" / "Verschiedene
    /// Kinder"); queued here, sent by the next sync round.
    DecideDuplicateInput { proposal_id: uuid::Uuid, decision: kitakontor_core::protocol::city::Decision }
}

/// The "Stadtabgleich" screen: the city's duplicate proposals and registry matches for this
/// facility as last fetched from the hub, with the decisions made here on top.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CityOverview {
    /// The PC is enrolled with a hub (otherwise nothing new arrives).
    pub enrolled: bool,
    /// The last good fetch; `None`: never fetched.
    pub fetched_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Why the last fetch failed (German); the cache shown is older then.
    pub last_error: Option<String>,
    pub last_error_at: Option<chrono::DateTime<chrono::Utc>>,
    pub proposals: Vec<kitakontor_store::city::CityProposal>,
    pub registry: kitakontor_store::city::CityRegistry,
}

/// One entry of the clarification inbox as the UI shows it: the store's entry plus the names
/// behind its ids (who gave the command, which child it is about).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InboxItem {
    #[serde(flatten)]
    pub entry: kitakontor_store::sync::InboxEntry,
    /// Display name of the account that gave the command, if it exists on this PC.
    pub author: Option<String>,
    /// The child the command is about, if this session may see it.
    pub child_name: Option<String>,
}

/// A PDF the app made and saved; the bytes come along for the preview.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SavedDocument {
    pub path: String,
    pub file_name: String,
    pub pdf_base64: String,
}

/// What the attendance screen's keys and buttons record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum AttendanceAction {
    CheckIn,
    CheckOut,
    Sick,
    Holiday,
    Other,
}

/// The logged-in person as the UI shows them, with the permissions the UI mirrors.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SessionInfo {
    pub user_id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub role_label: String,
    pub facility_id: Option<FacilityId>,
    pub facility_name: String,
    pub locked: bool,
    pub has_pin: bool,
    /// Seconds of inactivity before the session locks.
    pub idle_seconds: u32,
    pub permissions: Vec<Permission>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StartInfo {
    pub demo: bool,
    /// No account yet: the first-start wizard runs.
    pub needs_setup: bool,
    pub accounts: Vec<AccountSummary>,
    pub session: Option<SessionInfo>,
}

#[derive(Debug, Clone, Serialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AttendanceSummary {
    pub expected: u32,
    pub present: u32,
    pub left: u32,
    pub absent: u32,
    pub not_recorded: u32,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Pending {
    /// Commands not yet confirmed by the hub.
    pub outbox: i64,
    pub open_applications: u32,
    pub tickets_requested: u32,
    pub files_in_inbox: u32,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Overview {
    /// Free places per care type for the next 12 months (empty without the permission).
    pub months: Vec<MonthOccupancy>,
    /// Reservations that lapse within 2 days.
    pub expiring: Vec<WaitingEntry>,
    pub attendance: Option<AttendanceSummary>,
    pub pending: Pending,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ContractRow {
    pub child_name: String,
    pub contract: kitakontor_core::contract::Contract,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GroupView {
    pub staffing: kitakontor_store::queries::GroupStaffing,
    /// Required pedagogical FTE for the contracted hours (SächsKitaG §12).
    pub required_fte: f64,
    /// Planned FTE: each assigned educator, shared between their groups.
    pub planned_fte: f64,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Settings {
    pub idle_minutes: u32,
    pub idle_max_minutes: u32,
    pub facility: Option<kitakontor_store::queries::FacilitySummary>,
}
