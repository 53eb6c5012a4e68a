//! The sync protocol between a desktop (the store + `kitakontor-sync`) and the city's hub
//! (`kitakontor-hub`), ENGINEERING §E3. Plain data: both sides serialise these as JSON.
//!
//! The hub is authoritative. A device pushes its outbox in `client_seq` order; every command
//! gets exactly one result, stored on the hub under `(device_id, client_seq)` and the unique
//! `command_id`, so a repeated push returns the stored result instead of applying twice.
//! Applied commands enter the hub's log; a device pulls the log of its scope (its facility,
//! its provider, city reference data) in commit order and replays it through the same command
//! handlers that ran the command on the author's PC.
//!
//! Versions: a record (`"child:<uuid>"`, …) has version n after the n-th applied command that
//! touched it. `base_versions` of a pushed command say which versions its author saw; the hub
//! uses them to detect concurrent changes (see `kitakontor-hub`'s policy module).

use crate::command::Command;
use crate::ids::{CommandId, DeviceId, FacilityId, ProviderId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub mod city;

/// Bumped when a message shape changes incompatibly. A hub answers a request with another
/// version with 426 "upgrade required"; the desktop keeps its outbox and stops pushing.
pub const PROTOCOL_VERSION: u32 = 1;
/// HTTP headers every request carries.
pub const HEADER_PROTOCOL: &str = "x-kitakontor-protocol";
pub const HEADER_SCHEMA: &str = "x-kitakontor-schema";
/// At most this many commands per push.
pub const MAX_PUSH: usize = 500;
/// At most this many log entries per pull page.
pub const MAX_PULL: usize = 5000;

/// Record reference → version.
pub type Versions = BTreeMap<String, i64>;

/// `POST /sync/push`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    pub device_id: DeviceId,
    /// `client_seq` of the first command; the hub answers 409 with the sequence it expects
    /// when this would leave a gap.
    pub from_seq: i64,
    pub commands: Vec<PushCommand>,
    /// Head of the device's audit hash chain, so the hub can notice a rewritten history.
    pub audit_head: Option<AuditHead>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushCommand {
    pub client_seq: i64,
    pub command_id: CommandId,
    pub schema_version: u32,
    pub user_id: UserId,
    /// The author's clock: shown to people, never used to order anything.
    pub created_at: DateTime<Utc>,
    /// `None`: the command's arguments were erased with a child's file before it was sent
    /// (DSGVO Art. 17). It keeps its place in the sequence; the hub answers `applied` and
    /// logs nothing.
    pub command: Option<Command>,
    pub base_versions: Versions,
    /// The Argon2id hash of a new password (`CreateUser`, `ResetPassword`), so the account
    /// works on the other PCs of the facility. Never the password itself.
    pub secret_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditHead {
    pub seq: i64,
    pub hash: String,
}

/// The answer to a push: one result per command, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushReply {
    pub results: Vec<CommandResult>,
    /// Highest `client_seq` of this device the hub has a result for.
    pub acked_seq: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandResult {
    pub client_seq: i64,
    pub command_id: CommandId,
    pub outcome: Outcome,
}

/// What the hub decided about one command. Rejections and conflicts go to the device's
/// clarification inbox ("Klärungsbedarf"); nothing is silently rolled back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub enum Outcome {
    Applied {
        /// The record versions after the command.
        versions: Versions,
    },
    Rejected {
        /// Stable code for programs (`no_place`, `out_of_scope`, `hold_expired`, …).
        code: String,
        /// German, for the office.
        message: String,
        /// Other facilities with free places (for a refused reservation).
        #[serde(default)]
        alternatives: Vec<Alternative>,
    },
    Conflict {
        /// The record someone else changed since the author saw it.
        record: String,
        /// Field by field: both values are kept, a person decides.
        fields: Vec<FieldConflict>,
        /// The command that changed it on the hub (name, author, time), for the inbox.
        theirs_by: Option<String>,
    },
}

impl Outcome {
    pub fn is_applied(&self) -> bool {
        matches!(self, Outcome::Applied { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct FieldConflict {
    pub field: String,
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub theirs: serde_json::Value,
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub ours: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Alternative {
    pub facility_id: FacilityId,
    pub facility_name: String,
    pub free_places: u32,
}

/// An opaque position in the hub's log. Devices store it and send it back unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(pub String);

/// `GET /sync/pull?cursor=…&limit=…`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullReply {
    pub entries: Vec<LogEntry>,
    pub next_cursor: Cursor,
    /// More entries wait behind `next_cursor`.
    pub more: bool,
    /// Highest `client_seq` of this device with a result on the hub.
    pub acked_seq: i64,
}

/// One applied command in the hub's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEntry {
    /// Position in the log (strictly increasing in the order devices receive entries).
    pub seq: i64,
    pub origin: Origin,
    pub user_id: Option<UserId>,
    /// The hub's clock when it applied the command: replays use it instead of "now", so
    /// every device computes the same values (a hold's 7 days run from here).
    pub hub_time: DateTime<Utc>,
    pub command: Command,
    pub versions: Versions,
    pub secret_hash: Option<String>,
    /// The scope the hub filed the entry under (checked by tests: never outside the device's).
    pub facility_id: Option<FacilityId>,
    pub provider_id: Option<ProviderId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Origin {
    /// A device's command.
    Device { device_id: DeviceId, client_seq: i64, command_id: CommandId },
    /// The hub's own doing: a hold lapsing by the hub's clock, a youth-office decision.
    Hub { command_id: CommandId },
}

impl Origin {
    pub fn command_id(&self) -> CommandId {
        match self {
            Origin::Device { command_id, .. } | Origin::Hub { command_id } => *command_id,
        }
    }
}

/// `GET /sync/snapshot`: newline-delimited JSON, a `SnapshotHeader` line, then one
/// `LogEntry` per line, read in one consistent transaction on the hub.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotHeader {
    pub entries: u64,
    /// Continue with `pull` from here.
    pub cursor: Cursor,
    pub acked_seq: i64,
}

/// `POST /enrol`: a one-time code from the hub's administrator binds a PC to a facility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolRequest {
    pub code: String,
    /// Shown to the hub's administrator ("Büro-PC 1").
    pub device_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolReply {
    pub device_id: DeviceId,
    pub facility_id: FacilityId,
    pub provider_id: ProviderId,
    pub tokens: Tokens,
}

/// Access token (short-lived, sent as `Authorization: Bearer`) and refresh token (long-lived,
/// `POST /token/refresh`). Both live in the OS credential store on the desktop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tokens {
    pub access_token: String,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub device_id: DeviceId,
    pub refresh_token: String,
}

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// `upgrade_required` (426), `gap` (409), `unauthorized` (401), `revoked` (403),
    /// `bad_request` (400), `unavailable` (503).
    pub code: String,
    pub message: String,
    /// With `gap`: the `client_seq` the hub expects next.
    pub expected_seq: Option<i64>,
}

/// Free places per facility and care type for the city overview (`GET /city/free-places`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreePlaces {
    pub facility_id: FacilityId,
    pub facility_name: String,
    pub care_type: crate::care::CareType,
    pub capacity: u32,
    pub booked: u32,
    pub free: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::WithdrawApplication;
    use crate::ids::ApplicationId;

    #[test]
    fn outcome_is_tagged_and_strict() {
        let o = Outcome::Rejected { code: "no_place".into(), message: "Kein Platz frei".into(), alternatives: vec![] };
        let j = serde_json::to_value(&o).unwrap();
        assert_eq!(j["status"], "rejected");
        assert_eq!(serde_json::from_value::<Outcome>(j).unwrap(), o);
        assert!(serde_json::from_str::<Outcome>(r#"{"status":"applied","versions":{},"x":1}"#).is_err());
    }

    #[test]
    fn push_round_trips() {
        let c = PushCommand {
            client_seq: 1,
            command_id: CommandId(uuid::Uuid::now_v7()),
            schema_version: crate::command::SCHEMA_VERSION,
            user_id: UserId(uuid::Uuid::nil()),
            created_at: DateTime::from_timestamp(0, 0).unwrap(),
            command: Some(WithdrawApplication { application_id: ApplicationId(uuid::Uuid::nil()) }.into()),
            base_versions: Versions::from([("application:x".to_string(), 2)]),
            secret_hash: None,
        };
        let r = PushRequest { device_id: DeviceId(uuid::Uuid::nil()), from_seq: 1, commands: vec![c], audit_head: None };
        let s = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<PushRequest>(&s).unwrap(), r);
    }
}
