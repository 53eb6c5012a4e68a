//! The outbox: the commands this PC still has to tell the hub about. `client_seq` is gapless
//! because it is `MAX + 1` inside the same write transaction as the change (SQLite allows one
//! writer at a time, and `BEGIN IMMEDIATE` takes the write lock before we read MAX).

use crate::error::Result;
use sqlx::SqliteConnection;

pub(crate) struct Row<'a> {
    pub client_seq: i64,
    pub command_id: &'a str,
    pub name: &'a str,
    pub schema_version: u32,
    pub args: &'a str,
    pub base_versions: &'a str,
    pub user_id: &'a str,
    pub created_at: &'a str,
    pub secret_hash: Option<&'a str>,
    /// False for an erasure, whose old row images are not kept.
    pub undoable: bool,
}

/// The next `client_seq`. Only valid inside the write transaction that appends the row.
pub(crate) async fn next_seq(conn: &mut SqliteConnection) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COALESCE(MAX(client_seq), 0) + 1 FROM outbox").fetch_one(&mut *conn).await?)
}

/// Appends a new command: its effect is in the base tables, on top of the hub's state.
pub(crate) async fn append(conn: &mut SqliteConnection, r: Row<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO outbox (client_seq, command_id, name, schema_version, args, base_versions, user_id, created_at, secret_hash, local_effect, undoable)
         VALUES (?,?,?,?,?,?,?,?,?,1,?)",
    )
    .bind(r.client_seq)
    .bind(r.command_id)
    .bind(r.name)
    .bind(r.schema_version as i64)
    .bind(r.args)
    .bind(r.base_versions)
    .bind(r.user_id)
    .bind(r.created_at)
    .bind(r.secret_hash)
    .bind(r.undoable)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
