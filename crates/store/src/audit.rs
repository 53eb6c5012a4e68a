//! The audit chain. Each row stores who did what to which records, and
//! `hash = SHA-256(prev_hash | seq | at | user | action | command | records)`, so changing,
//! inserting or removing any row breaks every later link. The head hash goes to the hub at
//! each sync (sync issue); here `verify` finds the first broken link.

use crate::error::Result;
use crate::Store;
use kitakontor_core::permission::Actor;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::SqliteConnection;

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

pub(crate) struct Entry<'a> {
    pub at: &'a str,
    pub user_id: &'a str,
    pub action: &'a str,
    pub command_id: Option<&'a str>,
    /// References like `child:<uuid>`; never values.
    pub records: &'a [String],
}

fn link_hash(prev: &str, seq: i64, at: &str, user: &str, action: &str, command: &str, records: &str) -> String {
    let mut h = Sha256::new();
    for part in [prev, &seq.to_string(), at, user, action, command, records] {
        h.update(part.as_bytes());
        h.update(b"\x1f");
    }
    hex::encode(h.finalize())
}

pub(crate) async fn append(conn: &mut SqliteConnection, e: Entry<'_>) -> Result<i64> {
    let last: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetch_optional(&mut *conn).await?;
    let (seq, prev) = match last {
        Some((s, h)) => (s + 1, h),
        None => (1, GENESIS.to_string()),
    };
    let records = serde_json::to_string(e.records).expect("strings serialise");
    let command = e.command_id.unwrap_or("");
    let hash = link_hash(&prev, seq, e.at, e.user_id, e.action, command, &records);
    sqlx::query("INSERT INTO audit_log (seq, at, user_id, action, command_id, records, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?)")
        .bind(seq)
        .bind(e.at)
        .bind(e.user_id)
        .bind(e.action)
        .bind(e.command_id)
        .bind(&records)
        .bind(&prev)
        .bind(&hash)
        .execute(&mut *conn)
        .await?;
    Ok(seq)
}

/// Audits something an actor did outside the command path (a sensitive read, a billing run,
/// a printed document) in the caller's transaction.
pub(crate) async fn actor_action(
    conn: &mut SqliteConnection,
    store: &Store,
    actor: &Actor,
    action: &str,
    records: &[String],
) -> Result<i64> {
    let at = crate::time::ts(store.now());
    append(conn, Entry { at: &at, user_id: &actor.user_id.to_string(), action, command_id: None, records }).await
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Broken {
    pub seq: i64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub rows: u64,
    pub head: String,
    pub first_broken: Option<Broken>,
}

impl Store {
    /// Walks the whole chain and reports the first row whose link does not hold.
    pub async fn verify_audit(&self) -> Result<Report> {
        let rows: Vec<(i64, String, String, String, Option<String>, String, String, String)> =
            sqlx::query_as("SELECT seq, at, user_id, action, command_id, records, prev_hash, hash FROM audit_log ORDER BY seq")
                .fetch_all(&self.pool)
                .await?;
        let mut prev = GENESIS.to_string();
        let mut first_broken = None;
        for (i, (seq, at, user, action, cmd, records, prev_hash, hash)) in rows.iter().enumerate() {
            let expected_seq = i as i64 + 1;
            let reason = if *seq != expected_seq {
                Some(format!("row {expected_seq} is missing (next row is {seq})"))
            } else if *prev_hash != prev {
                Some("prev_hash does not match the previous row".to_string())
            } else if link_hash(prev_hash, *seq, at, user, action, cmd.as_deref().unwrap_or(""), records) != *hash {
                Some("content does not match its hash (row was changed)".to_string())
            } else {
                None
            };
            if let Some(reason) = reason {
                first_broken = Some(Broken { seq: expected_seq.min(*seq), reason });
                break;
            }
            prev = hash.clone();
        }
        Ok(Report { rows: rows.len() as u64, head: prev, first_broken })
    }
}
