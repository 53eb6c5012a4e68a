//! The conflict policy (ENGINEERING §E3), as pure functions: which records a command touches,
//! in which scope new records are filed, which rule guards a command, and whether a pushed
//! command conflicts with what the hub has seen since its author's base versions.
//!
//! - Children and guardians merge per field: a command conflicts only where a field it sets
//!   was set on the hub after the author's base to a different value.
//! - Contracts, applications, users, mandates, facilities, providers and reservations are
//!   guarded as whole records: a stale base is a conflict.
//! - Everything else (attendance events, creations, links) is append-only: no version check.

use crate::DeviceAuth;
use chrono::{DateTime, Utc};
use kitakontor_core::command::Command;
use kitakontor_core::ids::{FacilityId, ProviderId};
use kitakontor_core::protocol::FieldConflict;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// How the hub guards a command against concurrent changes of its primary record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Per field: see [`field_conflicts`].
    FieldMerge,
    /// The author must have seen the record's current version.
    WholeRecord,
    /// No version check beyond scope.
    Append,
}

pub fn rule(cmd: &Command) -> Rule {
    use Command as C;
    match cmd {
        C::UpdateChild(_) | C::RecordHealth(_) | C::SetGuardianFinance(_) | C::SetPickupPersons(_) => Rule::FieldMerge,
        C::AmendContract(_)
        | C::TerminateContract(_)
        | C::SetApplicationPriority(_)
        | C::RejectApplication(_)
        | C::WithdrawApplication(_)
        | C::SetUserRole(_)
        | C::DeactivateUser(_)
        | C::ResetPassword(_)
        | C::RevokeMandate(_)
        | C::UpsertFacility(_)
        | C::SetCreditor(_)
        | C::CancelReservation(_) => Rule::WholeRecord,
        _ => Rule::Append,
    }
}

/// The records whose scope the hub checks for a command, primary record first. These come from
/// the command's arguments, so a device cannot reach another facility's record by leaving it
/// out of `base_versions`. (Versions are bumped only for the refs in `base_versions`.)
pub fn scope_refs(cmd: &Command) -> Vec<String> {
    use Command as C;
    let r = |kind: &str, id: &dyn std::fmt::Display| format!("{kind}:{id}");
    match cmd {
        C::UpsertFacility(c) => vec![r("facility", &c.facility_id)],
        C::CreateGroup(c) => vec![r("group", &c.group_id)],
        C::AssignStaff(c) => vec![r("group", &c.group_id), r("user", &c.user_id)],
        C::CreateUser(c) => vec![r("user", &c.user_id)],
        C::SetUserRole(c) => vec![r("user", &c.user_id)],
        C::DeactivateUser(c) => vec![r("user", &c.user_id)],
        C::ResetPassword(c) => vec![r("user", &c.user_id)],
        C::CreateChild(c) => vec![r("child", &c.child_id)],
        C::UpdateChild(c) => vec![r("child", &c.child_id)],
        C::DeleteChild(c) => vec![r("child", &c.child_id)],
        C::RecordHealth(c) => vec![r("child", &c.child_id)],
        C::AddGuardian(c) => vec![r("child", &c.child_id), r("guardian", &c.guardian_id)],
        C::LinkGuardian(c) => vec![r("child", &c.child_id), r("guardian", &c.guardian_id)],
        C::SetGuardianFinance(c) => vec![r("guardian", &c.guardian_id)],
        C::SetPickupPersons(c) => vec![r("child", &c.child_id)],
        C::RecordMandate(c) => vec![r("mandate", &c.mandate_id), r("guardian", &c.guardian_id)],
        C::RevokeMandate(c) => vec![r("mandate", &c.mandate_id)],
        C::SetCreditor(c) => vec![r("provider", &c.provider_id)],
        C::SubmitApplication(c) => vec![r("application", &c.application_id), r("child", &c.child_id)],
        C::SetApplicationPriority(c) => vec![r("application", &c.application_id)],
        C::RejectApplication(c) => vec![r("application", &c.application_id)],
        C::WithdrawApplication(c) => vec![r("application", &c.application_id)],
        C::ReservePlace(c) => vec![r("reservation", &c.reservation_id), r("application", &c.application_id)],
        C::CancelReservation(c) => vec![r("reservation", &c.reservation_id)],
        C::ExpireReservation(c) => vec![r("reservation", &c.reservation_id)],
        C::ConcludeContract(c) => vec![r("contract", &c.contract_id), r("reservation", &c.reservation_id)],
        C::AmendContract(c) => vec![r("contract", &c.contract_id)],
        C::TerminateContract(c) => vec![r("contract", &c.contract_id)],
        C::RecordAttendance(c) => vec![r("child", &c.child_id)],
        C::RequestTicket(c) => vec![r("ticket", &c.ticket_id), r("child", &c.child_id)],
        C::RecordTicketDecision(c) => vec![r("ticket", &c.ticket_id)],
    }
}

/// The record a command is about: its conflict rule applies to it, and its scope is the scope
/// of the command's log entry.
pub fn primary_ref(cmd: &Command) -> String {
    scope_refs(cmd).swap_remove(0)
}

/// Where a record lives. `facility_id: None, provider_id: None` is city-wide reference data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecordScope {
    pub facility_id: Option<FacilityId>,
    pub provider_id: Option<ProviderId>,
}

impl RecordScope {
    pub fn facility(auth: &DeviceAuth) -> RecordScope {
        RecordScope { facility_id: Some(auth.facility_id), provider_id: Some(auth.provider_id) }
    }
    pub fn provider(provider: ProviderId) -> RecordScope {
        RecordScope { facility_id: None, provider_id: Some(provider) }
    }
    pub const CITY: RecordScope = RecordScope { facility_id: None, provider_id: None };
}

/// Whether a device may touch a record the hub knows: its own facility's records, its
/// provider's facility-less records, and city-wide reference data.
pub fn in_scope(record: &RecordScope, auth: &DeviceAuth) -> bool {
    match (record.facility_id, record.provider_id) {
        (Some(f), _) => f == auth.facility_id,
        (None, Some(p)) => p == auth.provider_id,
        (None, None) => true,
    }
}

/// Whether the facility or provider a command names is the device's own: a device creates
/// children, groups, users and holds only in its facility and edits only its facility and
/// its provider's creditor data.
pub fn arguments_in_scope(cmd: &Command, auth: &DeviceAuth) -> bool {
    use Command as C;
    match cmd {
        C::UpsertFacility(c) => c.facility_id == auth.facility_id && c.provider_id == auth.provider_id,
        C::CreateGroup(c) => c.facility_id == auth.facility_id,
        C::CreateChild(c) => c.facility_id == auth.facility_id,
        C::ReservePlace(c) => c.facility_id == auth.facility_id,
        C::CreateUser(c) => c.facility_id.is_none_or(|f| f == auth.facility_id),
        C::SetCreditor(c) => c.provider_id == auth.provider_id,
        _ => true,
    }
}

/// The scope a record gets when a device's command creates it (base version 0): the device's
/// facility, or its provider for providers and for users without a facility.
pub fn new_record_scope(record: &str, cmd: &Command, auth: &DeviceAuth) -> RecordScope {
    let kind = record.split(':').next().unwrap_or_default();
    match (kind, cmd) {
        ("provider", _) => RecordScope::provider(auth.provider_id),
        ("user", Command::CreateUser(c)) if c.facility_id.is_none() => RecordScope::provider(auth.provider_id),
        _ => RecordScope::facility(auth),
    }
}

/// The scope of a command's log entry: facilities are city-wide reference data (everyone sees
/// them), creditor data belongs to the provider, everything else follows its primary record.
pub fn log_scope(cmd: &Command, primary: &RecordScope) -> RecordScope {
    match cmd {
        Command::UpsertFacility(_) => RecordScope::CITY,
        Command::SetCreditor(c) => RecordScope::provider(c.provider_id),
        _ => *primary,
    }
}

/// Whole-record rule: the author's base is older than the hub's version. A missing base (the
/// author did not say) is not a conflict.
pub fn is_stale(base: Option<i64>, hub_version: i64) -> bool {
    base.is_some_and(|b| b < hub_version)
}

/// The fields a field-merge command sets, with the values it sets them to. `UpdateChild` sets
/// only its `Some(..)` arguments; the others set all their fields (a `None` clears).
pub fn merge_fields(cmd: &Command) -> Vec<(&'static str, Value)> {
    match cmd {
        Command::UpdateChild(c) => {
            let mut f = Vec::new();
            if let Some(x) = &c.first_name {
                f.push(("first_name", json!(x)));
            }
            if let Some(x) = &c.last_name {
                f.push(("last_name", json!(x)));
            }
            if let Some(x) = &c.birth_date {
                f.push(("birth_date", val(x)));
            }
            if let Some(x) = &c.address {
                f.push(("address", val(x)));
            }
            if let Some(x) = &c.municipality {
                f.push(("municipality", json!(x)));
            }
            if let Some(x) = &c.group_id {
                f.push(("group_id", val(x)));
            }
            f
        }
        Command::RecordHealth(c) => vec![("measles_proof", val(&c.measles_proof)), ("health_notes", json!(c.health_notes))],
        Command::SetGuardianFinance(c) => {
            vec![("income_cents", json!(c.income_cents)), ("iban", json!(c.iban)), ("account_holder", json!(c.account_holder))]
        }
        Command::SetPickupPersons(c) => vec![("persons", json!(c.persons))],
        _ => Vec::new(),
    }
}

/// The field values a creating command seeds for later merges (record ref, fields).
pub fn seed_fields(cmd: &Command) -> Option<(String, Vec<(&'static str, Value)>)> {
    match cmd {
        Command::CreateChild(c) => Some((
            format!("child:{}", c.child_id),
            vec![
                ("first_name", json!(c.first_name)),
                ("last_name", json!(c.last_name)),
                ("birth_date", val(&c.birth_date)),
                ("address", val(&c.address)),
                ("municipality", json!(c.municipality)),
                ("group_id", val(&c.group_id)),
            ],
        )),
        Command::AddGuardian(c) => Some((
            format!("guardian:{}", c.guardian_id),
            vec![
                ("first_name", json!(c.first_name)),
                ("last_name", json!(c.last_name)),
                ("email", json!(c.email)),
                ("phone", json!(c.phone)),
                ("address", val(&c.address)),
                ("single_parent", json!(c.single_parent)),
            ],
        )),
        _ => None,
    }
}

/// A field as the hub has it: the record version when it was last set, and the value.
#[derive(Debug, Clone, PartialEq)]
pub struct HubField {
    pub version: i64,
    pub value: Value,
    /// Who set it ("<Command> von <author> am <time>").
    pub changed_by: String,
}

/// Field-merge rule: a field we set conflicts when the hub set it after our base to a
/// different value. Different fields merge; the same value twice is no conflict.
pub fn field_conflicts(base: i64, ours: &[(&str, Value)], hub: &BTreeMap<String, HubField>) -> Vec<FieldConflict> {
    ours.iter()
        .filter_map(|(field, value)| {
            let theirs = hub.get(*field)?;
            (theirs.version > base && theirs.value != *value).then(|| FieldConflict {
                field: field.to_string(),
                theirs: theirs.value.clone(),
                ours: value.clone(),
            })
        })
        .collect()
}

/// "UpdateChild von Büro-PC 1 am 24.11.2026 10:05 UTC", for `Conflict.theirs_by`.
pub fn describe_change(command: &str, author: &str, at: DateTime<Utc>) -> String {
    format!("{command} von {author} am {} {} UTC", kitakontor_core::de::date(at.date_naive()), at.format("%H:%M"))
}

fn val<T: serde::Serialize>(x: &T) -> Value {
    serde_json::to_value(x).expect("command arguments serialise")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use kitakontor_core::command::*;
    use kitakontor_core::ids::*;
    use uuid::Uuid;

    fn auth() -> DeviceAuth {
        DeviceAuth {
            device_id: DeviceId(Uuid::from_u128(1)),
            facility_id: FacilityId(Uuid::from_u128(10)),
            provider_id: ProviderId(Uuid::from_u128(100)),
        }
    }

    fn update(first: Option<&str>, last: Option<&str>) -> Command {
        UpdateChild {
            child_id: ChildId(Uuid::from_u128(5)),
            first_name: first.map(str::to_string),
            last_name: last.map(str::to_string),
            birth_date: None,
            address: None,
            municipality: None,
            group_id: None,
        }
        .into()
    }

    fn hub_field(version: i64, value: Value) -> HubField {
        HubField { version, value, changed_by: "UpdateChild von PC am 01.01.2027 08:00 UTC".into() }
    }

    #[test]
    fn rules_by_command() {
        assert_eq!(rule(&update(Some("A"), None)), Rule::FieldMerge);
        let amend: Command = AmendContract {
            contract_id: ContractId(Uuid::nil()),
            valid_from: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
            care_hours: "9".parse().unwrap(),
            note: String::new(),
        }
        .into();
        assert_eq!(rule(&amend), Rule::WholeRecord);
        let cancel: Command = CancelReservation { reservation_id: ReservationId(Uuid::nil()), reason: String::new() }.into();
        assert_eq!(rule(&cancel), Rule::WholeRecord);
        let link: Command = LinkGuardian { guardian_id: GuardianId(Uuid::nil()), child_id: ChildId(Uuid::nil()) }.into();
        assert_eq!(rule(&link), Rule::Append);
    }

    #[test]
    fn merge_sets_only_given_fields() {
        let f = merge_fields(&update(Some("Zoë"), None));
        assert_eq!(f, vec![("first_name", json!("Zoë"))]);
        assert!(merge_fields(&update(None, None)).is_empty());
        let health: Command = RecordHealth { child_id: ChildId(Uuid::nil()), measles_proof: None, health_notes: "Allergie".into() }.into();
        assert_eq!(merge_fields(&health), vec![("measles_proof", Value::Null), ("health_notes", json!("Allergie"))]);
    }

    #[test]
    fn different_fields_merge_same_field_conflicts() {
        let mut hub = BTreeMap::new();
        hub.insert("last_name".to_string(), hub_field(3, json!("Müller")));
        hub.insert("first_name".to_string(), hub_field(1, json!("Anna")));
        // Base 1: last_name changed since (v3), first_name not (v1).
        assert!(field_conflicts(1, &[("first_name", json!("Anne"))], &hub).is_empty());
        let c = field_conflicts(1, &[("last_name", json!("Meier"))], &hub);
        assert_eq!(c, vec![FieldConflict { field: "last_name".into(), theirs: json!("Müller"), ours: json!("Meier") }]);
        // The same value both ways is no conflict.
        assert!(field_conflicts(1, &[("last_name", json!("Müller"))], &hub).is_empty());
        // The author saw version 3: no conflict.
        assert!(field_conflicts(3, &[("last_name", json!("Meier"))], &hub).is_empty());
        // A field the hub never saw set.
        assert!(field_conflicts(0, &[("municipality", json!("Leipzig"))], &hub).is_empty());
    }

    #[test]
    fn stale_means_older_base() {
        assert!(is_stale(Some(1), 2));
        assert!(!is_stale(Some(2), 2));
        assert!(!is_stale(None, 5));
    }

    #[test]
    fn scope_of_records() {
        let a = auth();
        assert!(in_scope(&RecordScope::facility(&a), &a));
        assert!(!in_scope(&RecordScope { facility_id: Some(FacilityId(Uuid::from_u128(11))), provider_id: Some(a.provider_id) }, &a));
        assert!(in_scope(&RecordScope::provider(a.provider_id), &a));
        assert!(!in_scope(&RecordScope::provider(ProviderId(Uuid::from_u128(101))), &a));
        assert!(in_scope(&RecordScope::CITY, &a));
    }

    #[test]
    fn arguments_name_only_the_own_facility() {
        let a = auth();
        let child = |f: u128| -> Command {
            CreateChild {
                child_id: ChildId(Uuid::nil()),
                facility_id: FacilityId(Uuid::from_u128(f)),
                group_id: None,
                first_name: "A".into(),
                last_name: "B".into(),
                birth_date: NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
                address: Default::default(),
                municipality: "Leipzig".into(),
            }
            .into()
        };
        assert!(arguments_in_scope(&child(10), &a));
        assert!(!arguments_in_scope(&child(11), &a));
        let user: Command = CreateUser {
            user_id: UserId(Uuid::nil()),
            username: "u".into(),
            display_name: "U".into(),
            role: kitakontor_core::permission::Role::Office,
            facility_id: None,
        }
        .into();
        assert!(arguments_in_scope(&user, &a));
        assert_eq!(new_record_scope("user:x", &user, &a), RecordScope::provider(a.provider_id));
        assert_eq!(new_record_scope("child:x", &child(10), &a), RecordScope::facility(&a));
    }

    #[test]
    fn primary_ref_and_log_scope() {
        let a = auth();
        let c = update(Some("A"), None);
        assert_eq!(primary_ref(&c), format!("child:{}", Uuid::from_u128(5)));
        let fac: Command = UpsertFacility {
            facility_id: a.facility_id,
            provider_id: a.provider_id,
            provider_name: "T".into(),
            name: "K".into(),
            profile: String::new(),
            address: Default::default(),
            municipality: "Leipzig".into(),
            capacities: vec![],
        }
        .into();
        assert_eq!(log_scope(&fac, &RecordScope::facility(&a)), RecordScope::CITY);
        assert_eq!(log_scope(&c, &RecordScope::facility(&a)), RecordScope::facility(&a));
    }

    #[test]
    fn change_description_is_german() {
        let at = DateTime::parse_from_rfc3339("2026-11-24T10:05:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(describe_change("UpdateChild", "Büro-PC 1", at), "UpdateChild von Büro-PC 1 am 24.11.2026 10:05 UTC");
    }
}
