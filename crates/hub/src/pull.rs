//! `pull` and `snapshot`: the log in commit order, without gaps, within the device's scope.
//!
//! A bigserial `seq` is handed out when a row is inserted, not when its transaction commits, so
//! "seq > cursor" could skip a row that commits late. Instead the log is read in (xid, seq)
//! order and only rows with `xid < pg_snapshot_xmin(pg_current_snapshot())` are returned: every
//! transaction below xmin has ended, so no row can appear later before the cursor. (Commands on
//! the same record take their locks before they get an xid, see `records::lock`, so this order
//! also agrees with every record's versions.)
//!
//! Scope: the device's facility, its provider's facility-less entries, and city-wide entries.

use crate::log::{self, LogRow, COLUMNS};
use crate::{DeviceAuth, Hub, HubError};
use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};
use kitakontor_core::protocol::{Cursor, LogEntry, PullReply, SnapshotHeader, MAX_PULL};
use sqlx::{PgConnection, Postgres, Transaction};
use std::sync::LazyLock;
use tokio::sync::mpsc;

/// Entries after the cursor, in log order, limited (`$5`). Each branch of the scope filter is one
/// index range scan (see the log indexes in the migration); the planner merges them.
static PULL_SQL: LazyLock<String> = LazyLock::new(|| {
    let branch = |filter: &str| {
        format!(
            "(SELECT * FROM log WHERE {filter} AND (xid, seq) > ($3::text::xid8, $4) AND xid < (SELECT xmin FROM horizon)
              ORDER BY xid, seq LIMIT $5)"
        )
    };
    format!(
        "WITH horizon AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin)
         SELECT {COLUMNS} FROM ({} UNION ALL {} UNION ALL {}) AS l ORDER BY l.xid, l.seq LIMIT $5",
        branch("facility_id = $1"),
        branch("facility_id IS NULL AND provider_id = $2"),
        branch("facility_id IS NULL AND provider_id IS NULL"),
    )
});

/// Everything of the scope below the horizon (the snapshot; no cursor, no limit).
static SNAPSHOT_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH horizon AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin)
         SELECT {COLUMNS} FROM log
         WHERE (facility_id = $1 OR (facility_id IS NULL AND (provider_id IS NULL OR provider_id = $2)))
           AND xid < (SELECT xmin FROM horizon)
         ORDER BY log.xid, log.seq"
    )
});

/// Count and last position of the snapshot, for its header.
const SNAPSHOT_HEAD_SQL: &str = "WITH horizon AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin),
     s AS (SELECT xid, seq FROM log
           WHERE (facility_id = $1 OR (facility_id IS NULL AND (provider_id IS NULL OR provider_id = $2)))
             AND xid < (SELECT xmin FROM horizon))
     SELECT (SELECT count(*) FROM s), (SELECT s.xid::text FROM s ORDER BY s.xid DESC, s.seq DESC LIMIT 1),
            (SELECT s.seq FROM s ORDER BY s.xid DESC, s.seq DESC LIMIT 1)";

/// Bytes of NDJSON the snapshot stream gathers before it hands a chunk to the connection.
const CHUNK: usize = 64 * 1024;

async fn acked(conn: &mut PgConnection, auth: &DeviceAuth) -> Result<i64, HubError> {
    let (acked,): (i64,) = sqlx::query_as("SELECT COALESCE(max(client_seq), 0) FROM results WHERE device_id = $1")
        .bind(auth.device_id.0)
        .fetch_one(conn)
        .await?;
    Ok(acked)
}

/// Opens the snapshot's transaction: REPEATABLE READ, so the header and every entry come from
/// one consistent view of the log.
async fn snapshot_tx(hub: &Hub) -> Result<Transaction<'static, Postgres>, HubError> {
    let mut tx = hub.pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
    Ok(tx)
}

async fn snapshot_header(conn: &mut PgConnection, auth: &DeviceAuth) -> Result<SnapshotHeader, HubError> {
    let (entries, xid, seq): (i64, Option<String>, Option<i64>) =
        sqlx::query_as(SNAPSHOT_HEAD_SQL).bind(auth.facility_id.0).bind(auth.provider_id.0).fetch_one(&mut *conn).await?;
    let cursor = match (xid, seq) {
        (Some(x), Some(s)) => log::encode(&x, s),
        _ => Cursor::default(),
    };
    Ok(SnapshotHeader { entries: entries as u64, cursor, acked_seq: acked(conn, auth).await? })
}

impl Hub {
    /// Up to `limit` (1..=`MAX_PULL`) entries after `cursor`, with the cursor to continue from.
    pub async fn pull(&self, auth: &DeviceAuth, cursor: &Cursor, limit: usize) -> Result<PullReply, HubError> {
        let (xid, seq) = log::decode(cursor)?;
        let limit = limit.clamp(1, MAX_PULL);
        let mut conn = self.pool.acquire().await?;
        let rows: Vec<LogRow> = sqlx::query_as(sqlx::AssertSqlSafe(PULL_SQL.as_str()))
            .bind(auth.facility_id.0)
            .bind(auth.provider_id.0)
            .bind(&xid)
            .bind(seq)
            .bind(limit as i64)
            .fetch_all(&mut *conn)
            .await?;
        let next_cursor = rows.last().map(LogRow::cursor).unwrap_or_else(|| cursor.clone());
        let entries = rows.iter().map(LogRow::entry).collect::<Result<Vec<_>, _>>()?;
        let acked_seq = acked(&mut conn, auth).await?;
        if !entries.is_empty() {
            make_durable(&mut conn, auth, self.now()).await?;
        }
        Ok(PullReply { more: entries.len() == limit, entries, next_cursor, acked_seq })
    }

    /// The device's whole scope as one consistent snapshot; continue with `pull` from the
    /// header's cursor.
    pub async fn snapshot(&self, auth: &DeviceAuth) -> Result<(SnapshotHeader, Vec<LogEntry>), HubError> {
        let mut tx = snapshot_tx(self).await?;
        let header = snapshot_header(&mut tx, auth).await?;
        let rows: Vec<LogRow> = sqlx::query_as(sqlx::AssertSqlSafe(SNAPSHOT_SQL.as_str()))
            .bind(auth.facility_id.0)
            .bind(auth.provider_id.0)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let entries = rows.iter().map(LogRow::entry).collect::<Result<Vec<_>, _>>()?;
        make_durable(&mut *self.pool.acquire().await?, auth, self.now()).await?;
        Ok((header, entries))
    }

    /// The snapshot as a stream of NDJSON (header line, then one entry per line), read from
    /// the database while it is sent.
    pub async fn snapshot_stream(&self, auth: &DeviceAuth) -> Result<SnapshotStream, HubError> {
        let mut tx = snapshot_tx(self).await?;
        let header = snapshot_header(&mut tx, auth).await?;
        let mut first = serde_json::to_vec(&header).expect("header serialises");
        first.push(b'\n');
        let (send, receive) = mpsc::channel::<Result<Bytes, HubError>>(4);
        let auth = *auth;
        tokio::spawn(async move {
            let mut buf = first;
            let mut rows = sqlx::query_as::<_, LogRow>(sqlx::AssertSqlSafe(SNAPSHOT_SQL.as_str()))
                .bind(auth.facility_id.0)
                .bind(auth.provider_id.0)
                .fetch(&mut *tx);
            loop {
                match rows.try_next().await {
                    Ok(Some(row)) => {
                        if let Err(e) = row.write_line(&mut buf) {
                            let _ = send.send(Err(HubError::BadRequest(format!("Logeintrag {}: {e}", row.seq)))).await;
                            return;
                        }
                        if buf.len() >= CHUNK && send.send(Ok(Bytes::from(std::mem::take(&mut buf)))).await.is_err() {
                            return; // the client went away; dropping the transaction rolls it back
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        let _ = send.send(Err(e.into())).await;
                        return;
                    }
                }
            }
            if !buf.is_empty() {
                let _ = send.send(Ok(Bytes::from(buf))).await;
            }
        });
        Ok(SnapshotStream { header, receive })
    }
}

/// A snapshot being read: the header, and the NDJSON body (starting with the header line).
pub struct SnapshotStream {
    pub header: SnapshotHeader,
    receive: mpsc::Receiver<Result<Bytes, HubError>>,
}

impl SnapshotStream {
    /// The NDJSON body in chunks.
    pub fn into_body(self) -> impl Stream<Item = Result<Bytes, HubError>> + Send + 'static {
        futures_util::stream::unfold(self.receive, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) })
    }
}

/// Push commits all but the last command of a batch with `synchronous_commit = off` (see
/// `push`), so an entry can be visible before its WAL is on disk. Before a device receives
/// entries, one synchronous commit here flushes the WAL up to now: what a device has seen
/// survives a crash of the database server.
async fn make_durable(conn: &mut sqlx::PgConnection, auth: &DeviceAuth, now: chrono::DateTime<chrono::Utc>) -> Result<(), HubError> {
    sqlx::query("UPDATE devices SET last_pull_at = $2 WHERE id = $1").bind(auth.device_id.0).bind(now).execute(&mut *conn).await?;
    Ok(())
}
