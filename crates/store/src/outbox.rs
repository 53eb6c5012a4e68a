//! The outbox: the commands this PC still has to tell the hub about. `client_seq` is gapless
//! because it is `MAX + 1` inside the same write transaction as the change (SQLite allows one
//! writer at a time, and `BEGIN IMMEDIATE` takes the write lock before we read MAX).

use crate::error::Result;
use sqlx::SqliteConnection;

pub(crate) struct Row<'a> {
    pub command_id: &'a str,
    pub name: &'a str,
    pub schema_version: u32,
    pub args: &'a str,
    pub base_versions: &'a str,
    pub user_id: &'a str,
    pub created_at: &'a str,
}

pub(crate) async fn append(conn: &mut SqliteConnection, r: Row<'_>) -> Result<i64> {
    let (seq,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(client_seq), 0) + 1 FROM outbox").fetch_one(&mut *conn).await?;
    sqlx::query(
        "INSERT INTO outbox (client_seq, command_id, name, schema_version, args, base_versions, user_id, created_at) VALUES (?,?,?,?,?,?,?,?)",
    )
    .bind(seq)
    .bind(r.command_id)
    .bind(r.name)
    .bind(r.schema_version as i64)
    .bind(r.args)
    .bind(r.base_versions)
    .bind(r.user_id)
    .bind(r.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(seq)
}
