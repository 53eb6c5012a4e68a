//! The log table: appending applied commands, reading rows back as `LogEntry`, and cursors.
//!
//! A cursor is the position (xid, seq) of the last entry a device has: "<xid>.<seq>", "" for the
//! start. Devices treat it as opaque.

use crate::policy::RecordScope;
use crate::HubError;
use chrono::{DateTime, Utc};
use kitakontor_core::command::Command;
use kitakontor_core::ids::{CommandId, DeviceId, FacilityId, ProviderId, UserId};
use kitakontor_core::protocol::{Cursor, LogEntry, Origin, Versions};
use serde::Serialize;
use serde_json::value::RawValue;
use sqlx::types::Json;
use sqlx::PgConnection;
use uuid::Uuid;

/// An entry to append.
pub(crate) struct NewEntry<'a> {
    pub origin: Origin,
    pub user_id: Option<UserId>,
    pub hub_time: DateTime<Utc>,
    pub command: &'a Command,
    pub versions: &'a Versions,
    pub secret_hash: Option<&'a str>,
    pub scope: RecordScope,
}

pub(crate) async fn append(conn: &mut PgConnection, e: NewEntry<'_>) -> Result<i64, sqlx::Error> {
    let (device, client_seq, command_id) = match e.origin {
        Origin::Device { device_id, client_seq, command_id } => (Some(device_id.0), Some(client_seq), command_id),
        Origin::Hub { command_id } => (None, None, command_id),
    };
    let (seq,): (i64,) = sqlx::query_as(
        "INSERT INTO log (device_id, client_seq, command_id, user_id, hub_time, command, versions, secret_hash, facility_id, provider_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING seq",
    )
    .bind(device)
    .bind(client_seq)
    .bind(command_id.0)
    .bind(e.user_id.map(|u| u.0))
    .bind(e.hub_time)
    .bind(Json(e.command))
    .bind(Json(e.versions))
    .bind(e.secret_hash)
    .bind(e.scope.facility_id.map(|f| f.0))
    .bind(e.scope.provider_id.map(|p| p.0))
    .fetch_one(conn)
    .await?;
    Ok(seq)
}

/// An applied device command to file (`file_applied`).
pub(crate) struct AppliedEntry<'a> {
    pub device_id: DeviceId,
    pub client_seq: i64,
    pub command_id: CommandId,
    pub user_id: UserId,
    pub hub_time: DateTime<Utc>,
    pub command: &'a Command,
    pub secret_hash: Option<&'a str>,
    pub scope: RecordScope,
}

/// Files an applied device command in one statement (one round trip instead of three): bumps
/// the versions of `items` like `records::bump` (new records start at 1 in their scope, the
/// others note `change`), appends the log entry with the new versions and stores the command's
/// result under (device, client_seq) and command_id: `Outcome::Applied` with the same
/// versions, built here in SQL in serde's form of `Outcome` (`{"status": "applied",
/// "versions": {…}}`, checked by a test below). Returns the new versions.
pub(crate) async fn file_applied(
    conn: &mut PgConnection,
    e: AppliedEntry<'_>,
    items: &[(String, RecordScope)],
    change: &str,
) -> Result<Versions, sqlx::Error> {
    let refs: Vec<&str> = items.iter().map(|(r, _)| r.as_str()).collect();
    let facilities: Vec<Option<Uuid>> = items.iter().map(|(_, s)| s.facility_id.map(|f| f.0)).collect();
    let providers: Vec<Option<Uuid>> = items.iter().map(|(_, s)| s.provider_id.map(|p| p.0)).collect();
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "WITH bumped AS (
             INSERT INTO records (ref, facility_id, provider_id, version, last_change)
             SELECT r, f, p, 1, $4 FROM unnest($1::text[], $2::uuid[], $3::uuid[]) AS u(r, f, p)
             ON CONFLICT (ref) DO UPDATE SET version = records.version + 1, last_change = EXCLUDED.last_change
             RETURNING ref, version),
         new AS (SELECT COALESCE(jsonb_object_agg(ref, version), '{}'::jsonb) AS versions FROM bumped),
         entry AS (
             INSERT INTO log (device_id, client_seq, command_id, user_id, hub_time, command, versions, secret_hash, facility_id, provider_id)
             SELECT $5, $6, $7, $8, $9, $10, new.versions, $11, $12, $13 FROM new),
         result AS (
             INSERT INTO results (device_id, client_seq, command_id, outcome, stored_at)
             SELECT $5, $6, $7, jsonb_build_object('status', 'applied', 'versions', new.versions), $9 FROM new)
         SELECT ref, version FROM bumped",
    )
    .bind(&refs)
    .bind(&facilities)
    .bind(&providers)
    .bind(change)
    .bind(e.device_id.0)
    .bind(e.client_seq)
    .bind(e.command_id.0)
    .bind(e.user_id.0)
    .bind(e.hub_time)
    .bind(Json(e.command))
    .bind(e.secret_hash)
    .bind(e.scope.facility_id.map(|f| f.0))
    .bind(e.scope.provider_id.map(|p| p.0))
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().collect())
}

/// The columns every log read selects (`LogRow`). The text form of `xid` has its own name: an
/// output column named `xid` would make `ORDER BY xid` sort the text ("999" > "1000").
pub(crate) const COLUMNS: &str = "seq, xid::text AS xid_text, device_id, client_seq, command_id, user_id, hub_time, \
                                  command::text AS command, versions::text AS versions, secret_hash, facility_id, provider_id";

#[derive(sqlx::FromRow)]
pub(crate) struct LogRow {
    pub seq: i64,
    pub xid_text: String,
    pub device_id: Option<Uuid>,
    pub client_seq: Option<i64>,
    pub command_id: Uuid,
    pub user_id: Option<Uuid>,
    pub hub_time: DateTime<Utc>,
    pub command: String,
    pub versions: String,
    pub secret_hash: Option<String>,
    pub facility_id: Option<Uuid>,
    pub provider_id: Option<Uuid>,
}

impl LogRow {
    fn origin(&self) -> Origin {
        let command_id = CommandId(self.command_id);
        match (self.device_id, self.client_seq) {
            (Some(d), Some(s)) => Origin::Device { device_id: DeviceId(d), client_seq: s, command_id },
            _ => Origin::Hub { command_id },
        }
    }

    pub fn cursor(&self) -> Cursor {
        encode(&self.xid_text, self.seq)
    }

    pub fn entry(&self) -> Result<LogEntry, HubError> {
        let bad = |e: serde_json::Error| HubError::BadRequest(format!("Logeintrag {} ist nicht lesbar: {e}", self.seq));
        Ok(LogEntry {
            seq: self.seq,
            origin: self.origin(),
            user_id: self.user_id.map(UserId),
            hub_time: self.hub_time,
            command: serde_json::from_str(&self.command).map_err(bad)?,
            versions: serde_json::from_str(&self.versions).map_err(bad)?,
            secret_hash: self.secret_hash.clone(),
            facility_id: self.facility_id.map(FacilityId),
            provider_id: self.provider_id.map(ProviderId),
        })
    }

    /// The entry as one NDJSON line (the same JSON as `LogEntry`, without re-parsing the
    /// command into Rust types).
    pub fn write_line(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        #[derive(Serialize)]
        struct Line<'a> {
            seq: i64,
            origin: Origin,
            user_id: Option<Uuid>,
            hub_time: DateTime<Utc>,
            command: &'a RawValue,
            versions: &'a RawValue,
            secret_hash: &'a Option<String>,
            facility_id: Option<Uuid>,
            provider_id: Option<Uuid>,
        }
        let line = Line {
            seq: self.seq,
            origin: self.origin(),
            user_id: self.user_id,
            hub_time: self.hub_time,
            command: serde_json::from_str(&self.command)?,
            versions: serde_json::from_str(&self.versions)?,
            secret_hash: &self.secret_hash,
            facility_id: self.facility_id,
            provider_id: self.provider_id,
        };
        serde_json::to_writer(&mut *out, &line)?;
        out.push(b'\n');
        Ok(())
    }
}

pub(crate) fn encode(xid: &str, seq: i64) -> Cursor {
    Cursor(format!("{xid}.{seq}"))
}

/// (xid as text, seq) of a cursor; the start for "".
pub(crate) fn decode(c: &Cursor) -> Result<(String, i64), HubError> {
    if c.0.is_empty() {
        return Ok(("0".into(), 0));
    }
    let bad = || HubError::BadRequest(format!("Ungültige Position im Log: „{}“", c.0));
    let (xid, seq) = c.0.split_once('.').ok_or_else(bad)?;
    let xid: u64 = xid.parse().map_err(|_| bad())?;
    let seq: i64 = seq.parse().map_err(|_| bad())?;
    Ok((xid.to_string(), seq))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kitakontor_core::protocol::Outcome;

    #[test]
    fn an_applied_outcome_has_the_form_file_applied_writes_in_sql() {
        let outcome = Outcome::Applied { versions: [("child:1".to_string(), 3)].into() };
        assert_eq!(serde_json::to_value(&outcome).unwrap(), serde_json::json!({ "status": "applied", "versions": { "child:1": 3 } }));
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(decode(&Cursor::default()).unwrap(), ("0".to_string(), 0));
        assert_eq!(decode(&encode("812", 44)).unwrap(), ("812".to_string(), 44));
        assert!(decode(&Cursor("x.1".into())).is_err());
        assert!(decode(&Cursor("12".into())).is_err());
        assert!(decode(&Cursor("-1.3".into())).is_err());
    }
}
