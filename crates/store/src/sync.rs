//! The store's half of offline-first sync (ENGINEERING §E3). The network half is
//! `kitakontor-sync`; the hub is `kitakontor-hub`.
//!
//! Base tables hold the hub's confirmed state with this PC's pending commands on top. When the
//! hub's log brings new entries, [`Store::apply_pull`] does one write transaction:
//!
//! 1. undo every pending command's effect, newest first, from the old row images the undo
//!    triggers captured (`sync_undo`);
//! 2. replay the hub's entries through the same command handlers (the hub's time as "now");
//! 3. run the still-pending commands again on top (capturing new undo images).
//!
//! So every PC of a facility folds the same log in the same order and ends in the same state,
//! and nothing a user typed offline is lost: it stays in the outbox until the hub answers, and
//! an answer other than "applied" lands in the clarification inbox ("Klärungsbedarf").

use crate::commands::{run, Mode};
use crate::conn::{args, Conn, RawConn};
use crate::error::{Result, StoreError};
use crate::time::{parse_ts, ts};
use crate::{audit, Store};
use kitakontor_core::command::Command;
use kitakontor_core::ids::{CommandId, DeviceId, FacilityId, ProviderId, UserId};
use kitakontor_core::permission::{require_role, Actor, Permission, Role};
use kitakontor_core::protocol::{AuditHead, CommandResult, Cursor, LogEntry, Origin, Outcome, PullReply, PushCommand, Versions};
use serde::Serialize;
// Table and column names in the generated SQL come from sqlite_master, never from input.
use sqlx::{AssertSqlSafe, SqliteConnection, SqlitePool};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use tokio::sync::mpsc::Receiver;

/// Tables that never leave this PC: they are not undone or replayed.
const LOCAL_ONLY: &[&str] = &[
    "settings",
    "login_failures",
    "outbox",
    "audit_log",
    "billing_runs",
    "invoices",
    "invoice_children",
    "fee_rule_sets",
    "sync_capture",
    "sync_undo",
    "inbox",
    "city_fetch",
    "city_proposals",
    "city_registry",
    "city_decisions",
    "_sqlx_migrations",
];

/// Columns and primary key of a table whose rows the undo log restores.
#[derive(Debug, Clone)]
pub(crate) struct TableInfo {
    columns: Vec<String>,
    pk: Vec<String>,
    /// The undo triggers on the table: (name, CREATE statement).
    triggers: Vec<(String, String)>,
}

pub(crate) type UndoTables = BTreeMap<String, TableInfo>;

/// Reads the synced tables' definitions and (re)creates the undo triggers when they changed.
/// The trigger names carry a hash of the column list, so a migration that adds a column gets
/// new triggers on the next start.
pub(crate) async fn install_undo_triggers(pool: &SqlitePool) -> Result<UndoTables> {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .fetch_all(pool)
            .await?;
    let mut tables = UndoTables::new();
    for name in names.into_iter().filter(|n| !LOCAL_ONLY.contains(&n.as_str())) {
        let cols: Vec<(String, i64)> =
            sqlx::query_as("SELECT name, pk FROM pragma_table_info(?) ORDER BY cid").bind(&name).fetch_all(pool).await?;
        let mut pk: Vec<(i64, String)> = cols.iter().filter(|c| c.1 > 0).map(|c| (c.1, c.0.clone())).collect();
        pk.sort();
        if pk.is_empty() {
            return Err(StoreError::Conflict(format!("table {name} has no primary key; sync cannot undo its rows")));
        }
        tables.insert(
            name,
            TableInfo { columns: cols.into_iter().map(|c| c.0).collect(), pk: pk.into_iter().map(|p| p.1).collect(), triggers: Vec::new() },
        );
    }
    let mut wanted: BTreeMap<String, String> = BTreeMap::new();
    for (t, info) in tables.iter_mut() {
        let hash = fnv(&format!("{t}:{}", info.columns.join(",")));
        for (op, event, row) in [("I", "INSERT", "NEW"), ("U", "UPDATE", "OLD"), ("D", "DELETE", "OLD")] {
            let name = format!("undo_{t}_{}_{hash:08x}", op.to_lowercase());
            let pk = json_object(&info.pk, row);
            let old = if op == "I" { "NULL".to_string() } else { json_object(&info.columns, "OLD") };
            let sql = format!(
                "CREATE TRIGGER \"{name}\" AFTER {event} ON \"{t}\"
                     WHEN (SELECT client_seq FROM sync_capture WHERE id = 1) IS NOT NULL
                     BEGIN
                       INSERT INTO sync_undo (client_seq, tbl, op, pk, old)
                       VALUES ((SELECT client_seq FROM sync_capture WHERE id = 1), '{t}', '{op}', {pk}, {old});
                     END"
            );
            info.triggers.push((name.clone(), sql.clone()));
            wanted.insert(name, sql);
        }
    }
    let existing: HashSet<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'undo\\_%' ESCAPE '\\'")
            .fetch_all(pool)
            .await?
            .into_iter()
            .collect();
    if existing != wanted.keys().cloned().collect::<HashSet<_>>() {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        for old in &existing {
            sqlx::query(AssertSqlSafe(format!("DROP TRIGGER IF EXISTS \"{old}\""))).execute(&mut *tx).await?;
        }
        for sql in wanted.values() {
            sqlx::query(AssertSqlSafe(sql.as_str())).execute(&mut *tx).await?;
        }
        tx.commit().await?;
    }
    Ok(tables)
}

fn json_object(cols: &[String], row: &str) -> String {
    let mut s = String::from("json_object(");
    for (i, c) in cols.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        let _ = write!(s, "'{c}', {row}.\"{c}\"");
    }
    s.push(')');
    s
}

fn fnv(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5u32, |h, b| (h ^ b as u32).wrapping_mul(0x0100_0193))
}

/// What binds this PC to the hub (set at enrolment; the tokens live in the credential store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Enrolment {
    pub hub_url: String,
    pub device_id: DeviceId,
    pub facility_id: FacilityId,
    pub provider_id: ProviderId,
}

/// The sync state the app shows in its status bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncStatus {
    pub enrolment: Option<Enrolment>,
    /// Last time a pull reached the hub's newest entry.
    pub last_sync_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Commands the hub has not answered yet.
    pub pending: i64,
    /// Open entries in the clarification inbox.
    pub inbox_open: i64,
    /// The last failure (German), cleared by the next success.
    pub last_error: Option<String>,
    /// The hub needs a newer app version; pushing waits, the outbox stays.
    pub upgrade_required: bool,
}

/// One entry of the clarification inbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InboxEntry {
    pub id: i64,
    pub command_id: CommandId,
    /// The command's name (`ReservePlace`, …); the UI shows its German label.
    pub name: String,
    /// The command's arguments as the user gave them ("ours").
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub args: serde_json::Value,
    pub outcome: Outcome,
    pub user_id: Option<UserId>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub resolved_at: Option<chrono::DateTime<chrono::Utc>>,
    pub resolution: Option<String>,
}

/// How a person resolves an inbox entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum InboxAction {
    /// Keep the hub's state; the entry is closed.
    Dismiss,
    /// Give the command again as a new command on today's state ("meine Werte übernehmen",
    /// "erneut versuchen"); the guard checks it like any new command.
    Retry,
}

/// What one `apply_pull` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApplyStats {
    pub replayed: usize,
    /// Hub entries this PC could not replay (their authors got an inbox entry).
    pub failed: usize,
    pub redone: usize,
    pub undone: usize,
}

const K_HUB: &str = "sync.hub_url";
const K_DEVICE: &str = "sync.device_id";
const K_FACILITY: &str = "sync.facility_id";
const K_PROVIDER: &str = "sync.provider_id";
const K_CURSOR: &str = "sync.cursor";
const K_LAST_SYNC: &str = "sync.last_sync_at";
const K_LAST_ERROR: &str = "sync.last_error";
const K_UPGRADE: &str = "sync.upgrade_required";
/// Set when a push result changed what must be on top (a rejection); the next apply rebases.
const K_DIRTY: &str = "sync.dirty";

async fn set(conn: &mut SqliteConnection, key: &str, value: Option<&str>) -> Result<()> {
    match value {
        Some(v) => {
            sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
                .bind(key)
                .bind(v)
                .execute(&mut *conn)
                .await?
        }
        None => sqlx::query("DELETE FROM settings WHERE key = ?").bind(key).execute(&mut *conn).await?,
    };
    Ok(())
}

async fn get(conn: &mut SqliteConnection, key: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT value FROM settings WHERE key = ?").bind(key).fetch_optional(&mut *conn).await?)
}

impl Store {
    /// Binds this PC to a hub facility, with an audit row naming who did it (`None`: a PC
    /// without accounts yet, being restored from the hub). Refused when the PC is enrolled
    /// already (revoke first) or when its data belongs to another facility.
    pub async fn set_enrolment(&self, e: &Enrolment, by: Option<&Actor>) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        if get(&mut tx, K_DEVICE).await?.is_some() {
            return Err(StoreError::Conflict("Dieser PC ist bereits beim Hub angemeldet.".into()));
        }
        let other: Option<String> = sqlx::query_scalar("SELECT id FROM children WHERE facility_id <> ? LIMIT 1")
            .bind(e.facility_id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        if other.is_some() {
            return Err(StoreError::Conflict("Die Daten dieses PCs gehören zu einer anderen Einrichtung als der Anmeldecode.".into()));
        }
        set(&mut tx, K_HUB, Some(&e.hub_url)).await?;
        set(&mut tx, K_DEVICE, Some(&e.device_id.to_string())).await?;
        set(&mut tx, K_FACILITY, Some(&e.facility_id.to_string())).await?;
        set(&mut tx, K_PROVIDER, Some(&e.provider_id.to_string())).await?;
        let system = author(None);
        audit::actor_action(&mut tx, self, by.unwrap_or(&system), "enrol", &[format!("device:{}", e.device_id)]).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn enrolment(&self) -> Result<Option<Enrolment>> {
        let mut conn = self.pool.acquire().await?;
        enrolment(&mut conn).await
    }

    /// Up to `limit` outbox rows from `from_seq` on (answered ones too: after a hub restore
    /// the hub may ask for them again), in order, as the hub wants them.
    pub async fn push_batch(&self, from_seq: i64, limit: usize) -> Result<Vec<PushCommand>> {
        let rows: Vec<(i64, String, String, i64, String, String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT client_seq, command_id, name, schema_version, args, base_versions, user_id, created_at, secret_hash
             FROM outbox WHERE client_seq >= ? ORDER BY client_seq LIMIT ?",
        )
        .bind(from_seq)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(seq, id, name, schema, args, base, user, at, hash)| {
                Ok(PushCommand {
                    client_seq: seq,
                    command_id: parse_id(&id)?,
                    schema_version: schema as u32,
                    user_id: parse_id(&user)?,
                    created_at: parse_ts(&at),
                    command: parse_command(&name, &args),
                    base_versions: serde_json::from_str(&base).unwrap_or_default(),
                    secret_hash: hash,
                })
            })
            .collect()
    }

    /// The first command the hub has not answered, if any.
    pub async fn first_pending_seq(&self) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT MIN(client_seq) FROM outbox WHERE status = 'pending'").fetch_one(&self.pool).await?)
    }

    /// Stores the hub's answers. Rejections and conflicts enter the inbox; their local effect
    /// goes at the next `apply_pull`. Idempotent: the same answer twice changes nothing.
    pub async fn record_results(&self, results: &[CommandResult]) -> Result<()> {
        if results.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut dirty = false;
        for r in results {
            let row: Option<(String, String, String, String, String, String)> =
                sqlx::query_as("SELECT command_id, status, name, args, user_id, created_at FROM outbox WHERE client_seq = ?")
                    .bind(r.client_seq)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some((cid, status, name, args, user, at)) = row else { continue };
            if cid != r.command_id.to_string() {
                return Err(StoreError::Conflict(format!(
                    "hub answered command {} for sequence {}, which here is {cid}",
                    r.command_id, r.client_seq
                )));
            }
            let new_status = match &r.outcome {
                Outcome::Applied { .. } => "applied",
                Outcome::Rejected { .. } => "rejected",
                Outcome::Conflict { .. } => "conflict",
            };
            if status == new_status {
                continue;
            }
            let outcome = serde_json::to_string(&r.outcome).expect("outcome serialises");
            sqlx::query("UPDATE outbox SET status = ?, result = ? WHERE client_seq = ?")
                .bind(new_status)
                .bind(&outcome)
                .bind(r.client_seq)
                .execute(&mut *tx)
                .await?;
            if !r.outcome.is_applied() {
                dirty = true;
                sqlx::query(
                    "INSERT OR IGNORE INTO inbox (client_seq, command_id, name, args, user_id, outcome, created_at) VALUES (?,?,?,?,?,?,?)",
                )
                .bind(r.client_seq)
                .bind(&cid)
                .bind(&name)
                .bind(&args)
                .bind(&user)
                .bind(&outcome)
                .bind(&at)
                .execute(&mut *tx)
                .await?;
            }
        }
        if dirty {
            set(&mut tx, K_DIRTY, Some("1")).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn sync_cursor(&self) -> Result<Cursor> {
        let mut conn = self.pool.acquire().await?;
        Ok(Cursor(get(&mut conn, K_CURSOR).await?.unwrap_or_default()))
    }

    /// Puts the hub's log underneath the pending commands (see the module docs), in one
    /// transaction: a crash leaves either the old or the new state, and the cursor with it.
    pub async fn apply_pull(&self, page: &PullReply) -> Result<ApplyStats> {
        self.apply_entries(Entries::Page(&page.entries), page.entries.len(), &page.next_cursor, page.more).await
    }

    /// Like `apply_pull` for a first sync whose snapshot is still arriving: `expected` entries
    /// come in batches over `batches`, and each is replayed while the next is on its way. All
    /// in one transaction with the cursor; fewer entries than expected (the transfer broke)
    /// leave nothing behind.
    pub async fn apply_snapshot(&self, expected: u64, batches: &mut Receiver<Vec<LogEntry>>, cursor: &Cursor) -> Result<ApplyStats> {
        self.apply_entries(Entries::Arriving(batches), expected as usize, cursor, true).await
    }

    async fn apply_entries(&self, mut entries: Entries<'_>, expected: usize, next_cursor: &Cursor, more: bool) -> Result<ApplyStats> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut stats = ApplyStats::default();
        let dirty = get(&mut tx, K_DIRTY).await?.is_some();
        if expected > 0 || dirty {
            // Undo images are restored newest first; a parent row can come back after its
            // children, so foreign keys are checked at commit.
            sqlx::query("PRAGMA defer_foreign_keys = ON").execute(&mut *tx).await?;
            let me: Option<DeviceId> = get(&mut tx, K_DEVICE).await?.and_then(|d| d.parse().ok());
            stats.undone = self.undo_pending(&mut tx).await?;
            // Back to the hub's state, which is consistent: from here on every statement is
            // checked at once, so an entry that breaks a foreign key fails alone instead of
            // failing the commit (and with it every later sync).
            sqlx::query("PRAGMA defer_foreign_keys = OFF").execute(&mut *tx).await?;
            {
                // The replay runs on the connection's raw handle, synchronously (see `conn`):
                // declared in this order, `raw` (and its statements) goes before the lock.
                let mut handle = tx.lock_handle().await?;
                // SAFETY: `handle` outlives `raw`, and nothing else uses the connection meanwhile.
                let mut raw = unsafe { RawConn::new(handle.as_raw_handle()) };
                let mut conn = Conn::Raw(&mut raw);
                // A large page (a first sync) replays without the undo triggers: they record
                // nothing during a replay, yet every insert evaluates them and keeps a statement
                // journal for them. Dropped and created again inside this transaction, so no
                // other connection ever sees the tables without them.
                let bulk = expected >= BULK_REPLAY;
                if bulk {
                    for (name, _) in self.undo_tables.values().flat_map(|t| &t.triggers) {
                        conn.exec(&format!("DROP TRIGGER \"{name}\""), args![]).await?;
                    }
                }
                // The hub's versions count every entry, whether or not it changed anything here.
                let mut versions = Versions::new();
                let mut received = 0;
                while let Some(batch) = entries.next().await {
                    for chunk in batch.chunks(REPLAY_CHUNK) {
                        let failed = self.replay_chunk(&mut conn, chunk, me).await?;
                        stats.replayed += chunk.len() - failed;
                        stats.failed += failed;
                    }
                    for e in batch.iter() {
                        for (r, v) in &e.versions {
                            let slot = versions.entry(r.clone()).or_insert(*v);
                            *slot = (*slot).max(*v);
                        }
                    }
                    received += batch.len();
                }
                if received != expected {
                    // Dropping the transaction rolls everything back, the cursor included.
                    return Err(StoreError::Conflict(format!(
                        "Abgleich unvollständig: {received} von {expected} Einträgen empfangen; der nächste Abgleich beginnt von vorn"
                    )));
                }
                set_versions(&mut conn, &versions).await?;
                if bulk {
                    for (_, sql) in self.undo_tables.values().flat_map(|t| &t.triggers) {
                        conn.exec(sql, args![]).await?;
                    }
                }
            }
            stats.redone = self.redo_pending(&mut tx).await?;
            set(&mut tx, K_DIRTY, None).await?;
        }
        set(&mut tx, K_CURSOR, Some(&next_cursor.0)).await?;
        if !more {
            set(&mut tx, K_LAST_SYNC, Some(&ts(self.now()))).await?;
        }
        tx.commit().await?;
        if stats.replayed + stats.redone + stats.undone > 0 {
            self.occupancy_cache.lock().expect("cache lock").clear();
        }
        Ok(stats)
    }

    /// Undoes the effects of commands that sit on top of the hub's state, newest first.
    async fn undo_pending(&self, conn: &mut SqliteConnection) -> Result<usize> {
        let seqs: Vec<i64> =
            sqlx::query_scalar("SELECT client_seq FROM outbox WHERE local_effect = 1 AND undoable = 1 ORDER BY client_seq")
                .fetch_all(&mut *conn)
                .await?;
        if seqs.is_empty() {
            return Ok(0);
        }
        let images: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT tbl, op, pk, old FROM sync_undo WHERE client_seq IN (SELECT client_seq FROM outbox WHERE local_effect = 1 AND undoable = 1)
             ORDER BY id DESC",
        )
        .fetch_all(&mut *conn)
        .await?;
        for (tbl, op, pk, old) in images {
            let info = self.undo_tables.get(&tbl).ok_or_else(|| StoreError::Conflict(format!("undo image for unknown table {tbl}")))?;
            let key = info.pk.iter().map(|c| format!("\"{c}\" = json_extract(?1, '$.{c}')")).collect::<Vec<_>>().join(" AND ");
            let sql = match op.as_str() {
                "I" => format!("DELETE FROM \"{tbl}\" WHERE {key}"),
                // A PC's own columns (login counters, PIN) are not the command's to restore.
                "U" => format!(
                    "UPDATE \"{tbl}\" SET {} WHERE {}",
                    info.columns
                        .iter()
                        .filter(|c| !LOCAL_COLUMNS.contains(&(tbl.as_str(), c.as_str())))
                        .map(|c| format!("\"{c}\" = json_extract(?2, '$.{c}')"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    key
                ),
                _ => format!(
                    "INSERT INTO \"{tbl}\" ({}) VALUES ({})",
                    info.columns.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", "),
                    info.columns.iter().map(|c| format!("json_extract(?2, '$.{c}')")).collect::<Vec<_>>().join(", ")
                ),
            };
            sqlx::query(AssertSqlSafe(sql)).bind(&pk).bind(old.as_deref().unwrap_or("{}")).execute(&mut *conn).await?;
        }
        sqlx::query("DELETE FROM sync_undo").execute(&mut *conn).await?;
        sqlx::query("UPDATE outbox SET local_effect = 0 WHERE local_effect = 1 AND undoable = 1").execute(&mut *conn).await?;
        Ok(seqs.len())
    }

    /// Replays entries under one savepoint (a savepoint per entry costs two round trips to
    /// SQLite's thread, more than most handlers). Only when one of them fails is the chunk
    /// rolled back and replayed entry by entry, so that the failing one is skipped alone.
    /// Returns how many could not be replayed.
    async fn replay_chunk(&self, conn: &mut Conn<'_>, chunk: &[LogEntry], me: Option<DeviceId>) -> Result<usize> {
        conn.exec("SAVEPOINT replay_chunk", args![]).await?;
        let mut clean = true;
        for entry in chunk {
            if self.replay(conn, entry, me).await?.is_err() {
                clean = false;
                break;
            }
        }
        if clean {
            conn.exec("RELEASE replay_chunk", args![]).await?;
            return Ok(0);
        }
        conn.exec("ROLLBACK TO replay_chunk", args![]).await?;
        conn.exec("RELEASE replay_chunk", args![]).await?;
        let mut failed = 0;
        for entry in chunk {
            conn.exec("SAVEPOINT replay", args![]).await?;
            match self.replay(conn, entry, me).await? {
                Ok(()) => {
                    conn.exec("RELEASE replay", args![]).await?;
                }
                Err(e) => {
                    conn.exec("ROLLBACK TO replay", args![]).await?;
                    conn.exec("RELEASE replay", args![]).await?;
                    failed += 1;
                    tracing::warn!(command = entry.command.name(), seq = entry.seq, error = %e, "hub entry could not be replayed");
                    self.not_replayable(conn, entry, me, &e).await?;
                }
            }
        }
        Ok(failed)
    }

    /// Replays one hub entry. The outer `Err` is a database failure; the inner one means this
    /// PC could not apply the entry (its writes must then be rolled back by the caller).
    async fn replay(&self, conn: &mut Conn<'_>, entry: &LogEntry, me: Option<DeviceId>) -> Result<std::result::Result<(), StoreError>> {
        if let Some(seq) = own_seq(entry, me) {
            conn.exec(
                "UPDATE outbox SET in_log = 1, status = CASE status WHEN 'pending' THEN 'applied' ELSE status END WHERE client_seq = ?",
                args![seq],
            )
            .await?;
            // A command whose effect could not be undone (from before sync existed, or an
            // erasure) is still in the base tables: replaying it would do it twice.
            let kept: Option<(i64,)> = conn.opt("SELECT local_effect FROM outbox WHERE client_seq = ?", args![seq]).await?;
            if kept == Some((1,)) {
                conn.exec("UPDATE outbox SET local_effect = 0 WHERE client_seq = ?", args![seq]).await?;
                return Ok(Ok(()));
            }
        }
        let actor = author(entry.user_id);
        match run(Conn::from(&mut *conn), &actor, &entry.command, Mode::Replay, entry.hub_time, None, entry.secret_hash.clone(), None).await
        {
            Ok(_) => Ok(Ok(())),
            Err(StoreError::Db(e)) if !matches!(e, sqlx::Error::Database(_)) => Err(StoreError::Db(e)),
            Err(e) => Ok(Err(e)),
        }
    }

    /// The hub took this PC's own command, but on the hub's state it does nothing here: its
    /// author must know.
    async fn not_replayable(&self, conn: &mut Conn<'_>, entry: &LogEntry, me: Option<DeviceId>, e: &StoreError) -> Result<()> {
        let Some(seq) = own_seq(entry, me) else { return Ok(()) };
        // The rolled-back chunk took the outbox marks with it.
        conn.exec(
            "UPDATE outbox SET in_log = 1, status = CASE status WHEN 'pending' THEN 'applied' ELSE status END WHERE client_seq = ?",
            args![seq],
        )
        .await?;
        let outcome = Outcome::Rejected {
            code: "not_replayable".into(),
            message: format!("Vom Hub angenommen, aber auf dem aktuellen Stand nicht ausführbar: {e}"),
            alternatives: vec![],
        };
        let json = serde_json::to_value(&entry.command).expect("command serialises");
        conn.exec(
            "INSERT OR IGNORE INTO inbox (client_seq, command_id, name, args, user_id, outcome, created_at) VALUES (?,?,?,?,?,?,?)",
            args![
                seq,
                entry.origin.command_id().to_string(),
                entry.command.name(),
                json.get("args").map(|a| a.to_string()).unwrap_or_default(),
                entry.user_id.map(|u| u.to_string()),
                serde_json::to_string(&outcome).expect("outcome serialises"),
                ts(entry.hub_time)
            ],
        )
        .await?;
        Ok(())
    }

    /// Runs the commands the hub has not put into its log yet on top again, oldest first.
    async fn redo_pending(&self, conn: &mut SqliteConnection) -> Result<usize> {
        let rows: Vec<(i64, String, String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT client_seq, name, args, user_id, created_at, secret_hash FROM outbox
             WHERE undoable = 1 AND local_effect = 0 AND in_log = 0 AND status IN ('pending','applied') ORDER BY client_seq",
        )
        .fetch_all(&mut *conn)
        .await?;
        let mut redone = 0;
        for (seq, name, args, user, at, hash) in rows {
            // Erased arguments: nothing to run again.
            let Some(command) = parse_command(&name, &args) else { continue };
            let actor = author(user.parse().ok());
            sqlx::query("SAVEPOINT redo").execute(&mut *conn).await?;
            match run(Conn::from(&mut *conn), &actor, &command, Mode::Redo, parse_ts(&at), None, hash, Some(seq)).await {
                Ok(_) => {
                    sqlx::query("RELEASE redo").execute(&mut *conn).await?;
                    sqlx::query("UPDATE outbox SET local_effect = 1 WHERE client_seq = ?").bind(seq).execute(&mut *conn).await?;
                    redone += 1;
                }
                Err(e) => {
                    // Someone else's change makes it impossible here now; it stays pending and the
                    // hub decides (and will most likely send it to the inbox).
                    sqlx::query("ROLLBACK TO redo").execute(&mut *conn).await?;
                    sqlx::query("RELEASE redo").execute(&mut *conn).await?;
                    sqlx::query("UPDATE sync_capture SET client_seq = NULL WHERE id = 1").execute(&mut *conn).await?;
                    tracing::info!(command = %name, seq, error = %e, "pending command does not apply on the hub's newer state");
                }
            }
        }
        Ok(redone)
    }

    /// Notes the outcome of a sync attempt for the status bar.
    pub async fn set_sync_error(&self, error: Option<&str>, upgrade_required: bool) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        set(&mut tx, K_LAST_ERROR, error).await?;
        set(&mut tx, K_UPGRADE, upgrade_required.then_some("1")).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn sync_status(&self) -> Result<SyncStatus> {
        let mut conn = self.pool.acquire().await?;
        let (pending, inbox_open): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM outbox WHERE status = 'pending'), (SELECT count(*) FROM inbox WHERE resolved_at IS NULL)",
        )
        .fetch_one(&mut *conn)
        .await?;
        Ok(SyncStatus {
            enrolment: enrolment(&mut conn).await?,
            last_sync_at: get(&mut conn, K_LAST_SYNC).await?.map(|t| parse_ts(&t)),
            pending,
            inbox_open,
            last_error: get(&mut conn, K_LAST_ERROR).await?,
            upgrade_required: get(&mut conn, K_UPGRADE).await?.is_some(),
        })
    }

    /// Head of the audit hash chain (goes to the hub with every push).
    pub async fn audit_head(&self) -> Result<Option<AuditHead>> {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetch_optional(&self.pool).await?;
        Ok(row.map(|(seq, hash)| AuditHead { seq, hash }))
    }

    /// The clarification inbox, open entries first. Only the people who may give a command
    /// see its entries (an educator sees attendance, the office applications, …).
    pub async fn inbox(&self, actor: &Actor, include_resolved: bool) -> Result<Vec<InboxEntry>> {
        let rows: Vec<(i64, String, String, String, Option<String>, String, String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT id, command_id, name, args, user_id, outcome, created_at, resolved_at, resolution FROM inbox
             WHERE resolved_at IS NULL OR ? ORDER BY resolved_at IS NOT NULL, id DESC",
        )
        .bind(include_resolved)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for (id, cid, name, args, user, outcome, at, resolved_at, resolution) in rows {
            if !Command::permission_of(&name).is_some_and(|p| actor.role.allows(p)) {
                continue;
            }
            out.push(InboxEntry {
                id,
                command_id: parse_id(&cid)?,
                name,
                args: serde_json::from_str(&args).unwrap_or(serde_json::Value::Null),
                outcome: serde_json::from_str(&outcome).map_err(|e| StoreError::Conflict(format!("inbox entry {id}: {e}")))?,
                user_id: user.and_then(|u| u.parse().ok()),
                created_at: parse_ts(&at),
                resolved_at: resolved_at.map(|t| parse_ts(&t)),
                resolution,
            });
        }
        Ok(out)
    }

    /// Resolves an inbox entry. `Retry` gives the command again as a new command (new id,
    /// today's base versions) under the guard of the person resolving it.
    pub async fn resolve_inbox(&self, actor: &Actor, id: i64, action: InboxAction) -> Result<Option<crate::Receipt>> {
        let row: Option<(String, String, Option<String>)> =
            sqlx::query_as("SELECT name, args, resolved_at FROM inbox WHERE id = ?").bind(id).fetch_optional(&self.pool).await?;
        let (name, args, resolved) = row.ok_or(StoreError::NotFound { what: "inbox entry", id: id.to_string() })?;
        if resolved.is_some() {
            return Err(StoreError::Conflict("Dieser Eintrag ist bereits erledigt.".into()));
        }
        // The role must allow the command; on retry its own guard checks the record's scope.
        let permission = Command::permission_of(&name).unwrap_or(Permission::ManageUsers);
        require_role(actor, permission)?;
        let receipt = match action {
            InboxAction::Dismiss => None,
            InboxAction::Retry => {
                let command = parse_command(&name, &args).ok_or_else(|| {
                    StoreError::Conflict("Die Angaben dieses Eintrags wurden gelöscht; er kann nur verworfen werden.".into())
                })?;
                Some(self.execute(actor, command).await?)
            }
        };
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE inbox SET resolved_at = ?, resolution = ?, resolved_by = ? WHERE id = ? AND resolved_at IS NULL")
            .bind(ts(self.now()))
            .bind(match action {
                InboxAction::Dismiss => "dismissed",
                InboxAction::Retry => "retried",
            })
            .bind(actor.user_id.to_string())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit::actor_action(&mut tx, self, actor, "resolve_inbox", &[format!("inbox:{id}")]).await?;
        tx.commit().await?;
        Ok(receipt)
    }

    /// The synced state of this PC, table by table, without local-only columns: for tests that
    /// check PCs converge.
    pub async fn synced_state(&self) -> Result<BTreeMap<String, Vec<String>>> {
        let mut out = BTreeMap::new();
        let mut conn = self.pool.acquire().await?;
        for (t, info) in self.undo_tables.iter() {
            if t == "sync_versions" {
                continue;
            }
            let cols: Vec<&String> = info.columns.iter().filter(|c| !LOCAL_COLUMNS.contains(&(t.as_str(), c.as_str()))).collect();
            let sql = format!(
                "SELECT json_array({}) FROM \"{t}\" ORDER BY {}",
                cols.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", "),
                info.pk.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ")
            );
            let rows: Vec<String> = sqlx::query_scalar(AssertSqlSafe(sql)).fetch_all(&mut *conn).await?;
            out.insert(t.clone(), rows);
        }
        Ok(out)
    }
}

/// Columns that are this PC's own business even in synced tables: local counters and the
/// local order of attendance events, and the table versions (the hub's are in sync_versions).
const LOCAL_COLUMNS: &[(&str, &str)] = &[
    ("users", "failed_passwords"),
    ("users", "failed_pins"),
    ("users", "pin_locked"),
    ("users", "last_failure_at"),
    ("users", "pin_hash"),
    ("attendance_events", "seq"),
];

async fn enrolment(conn: &mut SqliteConnection) -> Result<Option<Enrolment>> {
    let (Some(hub), Some(device), Some(facility), Some(provider)) =
        (get(conn, K_HUB).await?, get(conn, K_DEVICE).await?, get(conn, K_FACILITY).await?, get(conn, K_PROVIDER).await?)
    else {
        return Ok(None);
    };
    Ok(Some(Enrolment {
        hub_url: hub,
        device_id: parse_id(&device)?,
        facility_id: parse_id(&facility)?,
        provider_id: parse_id(&provider)?,
    }))
}

async fn set_versions(conn: &mut Conn<'_>, versions: &Versions) -> Result<()> {
    if versions.is_empty() {
        return Ok(());
    }
    // One statement for the whole page (a first sync has tens of thousands of records).
    let json = serde_json::to_string(versions).expect("versions serialise");
    conn.exec(
        "INSERT INTO sync_versions (record, version) SELECT key, value FROM json_each(?) WHERE true
         ON CONFLICT(record) DO UPDATE SET version = MAX(version, excluded.version)",
        args![json],
    )
    .await?;
    Ok(())
}

/// The `client_seq` of an entry that is this PC's own command.
fn own_seq(entry: &LogEntry, me: Option<DeviceId>) -> Option<i64> {
    match &entry.origin {
        Origin::Device { device_id, client_seq, .. } if Some(*device_id) == me => Some(*client_seq),
        _ => None,
    }
}

/// The entries of one `apply_entries`: a page in hand, or batches of a snapshot still arriving.
enum Entries<'a> {
    Page(&'a [LogEntry]),
    Arriving(&'a mut Receiver<Vec<LogEntry>>),
}

impl<'a> Entries<'a> {
    async fn next(&mut self) -> Option<Cow<'a, [LogEntry]>> {
        match self {
            Entries::Page(page) => Some(Cow::Borrowed(std::mem::take(page))).filter(|p| !p.is_empty()),
            Entries::Arriving(rx) => rx.recv().await.map(Cow::Owned),
        }
    }
}

/// Entries replayed under one savepoint.
const REPLAY_CHUNK: usize = 200;

/// From this many entries on, a page is replayed without the undo triggers (see `apply_pull`).
const BULK_REPLAY: usize = 1000;

/// Replays and redos run as the command's author (no author: the PC itself, e.g. at
/// enrolment); the guard already ran (on the author's PC, and the hub checked the scope), so
/// the role only has to be one that may act at all.
fn author(user: Option<UserId>) -> Actor {
    Actor { user_id: user.unwrap_or(UserId(uuid::Uuid::nil())), role: Role::ProviderAdmin, facility_id: None, groups: vec![] }
}

fn parse_command(name: &str, args: &str) -> Option<Command> {
    let args: serde_json::Value = serde_json::from_str(args).ok()?;
    if args.get("redacted").is_some() {
        return None;
    }
    serde_json::from_value(serde_json::json!({ "name": name, "args": args })).ok()
}

fn parse_id<T: std::str::FromStr>(s: &str) -> Result<T> {
    s.parse().map_err(|_| StoreError::Conflict(format!("invalid id in the sync data: {s}")))
}
