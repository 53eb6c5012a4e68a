//! Record versions and field values (tables `records`, `record_fields`), and the advisory locks
//! that put concurrent commands on the same record into one order.

use crate::policy::{HubField, RecordScope};
use kitakontor_core::ids::{DeviceId, FacilityId, ProviderId};
use kitakontor_core::protocol::Versions;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// A record as the hub knows it.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub scope: RecordScope,
    pub version: i64,
    pub last_change: String,
}

fn lock_key(name: &str) -> i64 {
    let h = Sha256::digest(name.as_bytes());
    i64::from_be_bytes(h[..8].try_into().expect("8 bytes"))
}

/// Takes transaction-scoped advisory locks: the device's first (one device's commands run one
/// after another, so its sequence checks cannot race), then the records' in key order (two
/// commands never wait for each other in a cycle).
///
/// Why advisory locks and why before the first write: pull orders the log by the writing
/// transaction's id (xid), and a transaction gets its xid at its first write (a row lock counts
/// as one). Advisory locks need no xid. Taking every record lock before anything is written means
/// that of two commands on the same record, the second gets its xid only after the first has
/// committed — so the log order (xid, seq) agrees with every record's version order.
pub(crate) async fn lock<'a>(
    conn: &mut PgConnection,
    device: Option<DeviceId>,
    refs: impl IntoIterator<Item = &'a str>,
) -> Result<(), sqlx::Error> {
    // unnest yields the keys in array order; the locks are taken in that order.
    sqlx::query("SELECT pg_advisory_xact_lock(k) FROM unnest($1::int8[]) AS u(k)").bind(lock_keys(device, refs)).execute(conn).await?;
    Ok(())
}

/// The same locks as `lock`, as SQL to send with the BEGIN of a pushed command (`push`: one
/// round trip): one statement per lock, in order. The keys are numbers computed here, so no
/// request data reaches the SQL text.
pub(crate) fn lock_statements<'a>(device: Option<DeviceId>, refs: impl IntoIterator<Item = &'a str>) -> String {
    lock_keys(device, refs).iter().map(|k| format!("SELECT pg_advisory_xact_lock('{k}'::int8); ")).collect()
}

fn lock_keys<'a>(device: Option<DeviceId>, refs: impl IntoIterator<Item = &'a str>) -> Vec<i64> {
    let mut keys: Vec<i64> = refs.into_iter().map(|r| lock_key(&format!("record:{r}"))).collect();
    keys.sort_unstable();
    keys.dedup();
    if let Some(d) = device {
        keys.insert(0, lock_key(&format!("device:{d}")));
    }
    keys
}

#[derive(sqlx::FromRow)]
struct RecordRow {
    r#ref: String,
    facility_id: Option<Uuid>,
    provider_id: Option<Uuid>,
    version: i64,
    last_change: String,
}

/// The known records among `refs`.
pub(crate) async fn load(conn: &mut PgConnection, refs: &[String]) -> Result<HashMap<String, Record>, sqlx::Error> {
    let rows: Vec<RecordRow> =
        sqlx::query_as("SELECT ref, facility_id, provider_id, version, last_change FROM records WHERE ref = ANY($1)")
            .bind(refs)
            .fetch_all(conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let scope = RecordScope { facility_id: r.facility_id.map(FacilityId), provider_id: r.provider_id.map(ProviderId) };
            (r.r#ref, Record { scope, version: r.version, last_change: r.last_change })
        })
        .collect())
}

/// The known records among some refs as one row of arrays (all `NULL` when none is known), so
/// that their load can share a statement with other reads (`push`):
/// `SELECT array_agg(ref) AS refs, array_agg(facility_id) AS facilities, array_agg(provider_id) AS providers,
/// array_agg(version) AS versions, array_agg(last_change) AS changes FROM records WHERE ref = ANY(…)`.
#[derive(sqlx::FromRow)]
pub(crate) struct Loaded {
    refs: Option<Vec<String>>,
    facilities: Option<Vec<Option<Uuid>>>,
    providers: Option<Vec<Option<Uuid>>>,
    versions: Option<Vec<i64>>,
    changes: Option<Vec<String>>,
}

impl Loaded {
    pub fn into_map(self) -> HashMap<String, Record> {
        let refs = self.refs.unwrap_or_default().into_iter();
        let facilities = self.facilities.unwrap_or_default().into_iter();
        let providers = self.providers.unwrap_or_default().into_iter();
        let versions = self.versions.unwrap_or_default().into_iter();
        let changes = self.changes.unwrap_or_default().into_iter();
        refs.zip(facilities.zip(providers))
            .zip(versions.zip(changes))
            .map(|((r, (f, p)), (version, last_change))| {
                let scope = RecordScope { facility_id: f.map(FacilityId), provider_id: p.map(ProviderId) };
                (r, Record { scope, version, last_change })
            })
            .collect()
    }
}

/// The fields the hub has seen set on a record.
pub(crate) async fn fields(conn: &mut PgConnection, record: &str) -> Result<BTreeMap<String, HubField>, sqlx::Error> {
    let rows: Vec<(String, i64, sqlx::types::Json<Value>, String)> =
        sqlx::query_as("SELECT field, version, value, changed_by FROM record_fields WHERE ref = $1").bind(record).fetch_all(conn).await?;
    Ok(rows.into_iter().map(|(f, version, value, changed_by)| (f, HubField { version, value: value.0, changed_by })).collect())
}

/// Bumps the version of every record (new records start at 1 in `scope`) and notes the change.
/// Returns the new versions.
pub(crate) async fn bump(conn: &mut PgConnection, items: &[(String, RecordScope)], change: &str) -> Result<Versions, sqlx::Error> {
    if items.is_empty() {
        return Ok(Versions::new());
    }
    let refs: Vec<&str> = items.iter().map(|(r, _)| r.as_str()).collect();
    let facilities: Vec<Option<Uuid>> = items.iter().map(|(_, s)| s.facility_id.map(|f| f.0)).collect();
    let providers: Vec<Option<Uuid>> = items.iter().map(|(_, s)| s.provider_id.map(|p| p.0)).collect();
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "INSERT INTO records (ref, facility_id, provider_id, version, last_change)
         SELECT r, f, p, 1, $4 FROM unnest($1::text[], $2::uuid[], $3::uuid[]) AS u(r, f, p)
         ON CONFLICT (ref) DO UPDATE SET version = records.version + 1, last_change = EXCLUDED.last_change
         RETURNING ref, version",
    )
    .bind(&refs)
    .bind(&facilities)
    .bind(&providers)
    .bind(change)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Makes a record known (version 0) without a change, so later commands on it pass the scope
/// check: a provider becomes known with its first facility.
pub(crate) async fn ensure(conn: &mut PgConnection, record: &str, scope: RecordScope) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO records (ref, facility_id, provider_id, version, last_change) VALUES ($1, $2, $3, 0, '') ON CONFLICT (ref) DO NOTHING",
    )
    .bind(record)
    .bind(scope.facility_id.map(|f| f.0))
    .bind(scope.provider_id.map(|p| p.0))
    .execute(conn)
    .await?;
    Ok(())
}

/// Notes field values set at the record's `version`.
pub(crate) async fn set_fields(
    conn: &mut PgConnection,
    record: &str,
    version: i64,
    fields: &[(&str, Value)],
    changed_by: &str,
) -> Result<(), sqlx::Error> {
    if fields.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = fields.iter().map(|(f, _)| *f).collect();
    let values: Vec<String> = fields.iter().map(|(_, v)| v.to_string()).collect();
    sqlx::query(
        "INSERT INTO record_fields (ref, field, version, value, changed_by)
         SELECT $1, f, $2, v::jsonb, $5 FROM unnest($3::text[], $4::text[]) AS u(f, v)
         ON CONFLICT (ref, field) DO UPDATE SET version = EXCLUDED.version, value = EXCLUDED.value, changed_by = EXCLUDED.changed_by",
    )
    .bind(record)
    .bind(version)
    .bind(&names)
    .bind(&values)
    .bind(changed_by)
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets the field values of a record (a child's file was deleted: its names go too).
pub(crate) async fn forget_fields(conn: &mut PgConnection, record: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM record_fields WHERE ref = $1").bind(record).execute(conn).await?;
    Ok(())
}
