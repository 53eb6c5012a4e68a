//! `push`: a device's outbox, command by command (ENGINEERING §E3).
//!
//! Every command runs in its own transaction, which also stores its result under
//! `(device_id, client_seq)` and its unique `command_id`. A repeated command gets the stored
//! result; a hole in the sequence is a `Gap`; a command whose arguments were erased (DSGVO) is
//! acknowledged as applied and logs nothing.

use crate::apply;
use crate::error::{sqlstate, DEADLOCK, UNIQUE_VIOLATION};
use crate::records;
use crate::{DeviceAuth, Hub, HubError};
use kitakontor_core::command::SCHEMA_VERSION;
use kitakontor_core::protocol::{CommandResult, Outcome, PushCommand, PushReply, PushRequest, Versions, MAX_PUSH};
use sqlx::pool::PoolConnection;
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, PgConnection, Postgres};
use std::collections::HashSet;
use uuid::Uuid;

/// Whether the hub understands commands of this schema version.
pub(crate) fn schema_supported(v: u32) -> bool {
    (1..=SCHEMA_VERSION).contains(&v)
}

impl Hub {
    /// Applies a device's commands in `client_seq` order and answers one result per command.
    pub async fn push(&self, auth: &DeviceAuth, req: PushRequest) -> Result<PushReply, HubError> {
        if req.device_id != auth.device_id {
            return Err(HubError::BadRequest("Die Geräte-ID der Anfrage passt nicht zur Anmeldung dieses Geräts".into()));
        }
        // Versions first: an unknown schema is refused before anything is stored.
        if let Some(c) = req.commands.iter().find(|c| !schema_supported(c.schema_version)) {
            return Err(HubError::UpgradeRequired { what: "die Befehls-Schemaversion", got: c.schema_version.to_string() });
        }
        validate_shape(&req)?;
        // One connection for the whole request: its commands run one after another anyway, and
        // taking a connection from the pool costs a round trip (the pool's ping) each time.
        let mut tx = CommandTx { conn: self.pool.acquire().await?, open: false };
        let (device_name, acked) = self.begin_push(&mut tx.conn, auth, &req).await?;

        let mut results = Vec::with_capacity(req.commands.len());
        let last = req.commands.len().saturating_sub(1);
        for (i, pc) in req.commands.iter().enumerate() {
            match self.push_one(&mut tx, auth, &device_name, pc, i == last).await {
                Ok(result) => results.push(result),
                Err(e) => {
                    // Nothing of the failed command stays; the reply is the error, so the device
                    // pushes again (commands committed before get their stored results then). If
                    // the rollback fails too, the connection is closed (`CommandTx`).
                    let _ = tx.rollback().await;
                    return Err(e);
                }
            }
        }
        // The last command's transaction: the synchronous commit (see `CommandTx::begin`).
        tx.commit().await?;
        let acked_seq = results.last().map(|r| r.client_seq.max(acked)).unwrap_or(acked);
        tracing::debug!(device_id = %auth.device_id, commands = results.len(), acked_seq, "push handled");
        Ok(PushReply { results, acked_seq })
    }

    /// The request's checks and bookkeeping, in one statement (one round trip):
    /// - the device's name (for the "changed by" of its commands) and acknowledged sequence;
    /// - a gap: the batch starts after the acknowledged sequence + 1;
    /// - command ids that disagree with stored results (the same id under another sequence
    ///   number, or another id under a stored number): refused before anything is applied;
    /// - only when the batch passes both: the push time and the head of the device's audit chain.
    ///
    /// The note commits without waiting for its WAL flush when the batch has a command the hub
    /// has not stored yet: that command's transaction ends with the batch's synchronous commit,
    /// which flushes the note too. Otherwise (an empty push, or one the hub has answered before)
    /// the note's own commit is the synchronous one — which also flushes stored results whose
    /// asynchronous commits a crashed earlier request left unflushed, before they are answered.
    async fn begin_push(&self, conn: &mut PgConnection, auth: &DeviceAuth, req: &PushRequest) -> Result<(String, i64), HubError> {
        let ids: Vec<Uuid> = req.commands.iter().map(|c| c.command_id.0).collect();
        let seqs: Vec<i64> = req.commands.iter().map(|c| c.client_seq).collect();
        let last_seq = req.commands.last().map(|c| c.client_seq).unwrap_or(0);
        let row: Option<(String, i64, Option<i64>, Option<String>)> = sqlx::query_as(
            "WITH acked AS (SELECT COALESCE(max(client_seq), 0) AS seq FROM results WHERE device_id = $1),
                  -- No LIMIT 1 here: with it, the planner bets on a sequential scan finding a
                  -- row early, and there usually is none.
                  clash AS (SELECT r.client_seq FROM results r
                            WHERE (r.command_id = ANY($2) OR (r.device_id = $1 AND r.client_seq = ANY($3)))
                              AND NOT (r.device_id = $1 AND (r.client_seq, r.command_id) IN (SELECT * FROM unnest($3::int8[], $2::uuid[])))),
                  noted AS (UPDATE devices SET last_push_at = $4, audit_head_seq = COALESCE($5, audit_head_seq),
                                audit_head_hash = COALESCE($6, audit_head_hash)
                            WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM clash)
                              AND (cardinality($3::int8[]) = 0 OR $7 <= (SELECT seq FROM acked) + 1))
             SELECT d.name, acked.seq, (SELECT min(client_seq) FROM clash),
                    set_config('synchronous_commit', CASE WHEN $8 > acked.seq THEN 'off' ELSE 'on' END, true)
             FROM devices d, acked WHERE d.id = $1",
        )
        .bind(auth.device_id.0)
        .bind(&ids)
        .bind(&seqs)
        .bind(self.now())
        .bind(req.audit_head.as_ref().map(|h| h.seq))
        .bind(req.audit_head.as_ref().map(|h| h.hash.as_str()))
        .bind(req.from_seq)
        .bind(last_seq)
        .fetch_optional(&mut *conn)
        .await?;
        let (device_name, acked, clash, _) = row.ok_or(HubError::Unauthorized)?;
        if !req.commands.is_empty() && req.from_seq > acked + 1 {
            return Err(HubError::Gap { expected: acked + 1 });
        }
        if let Some(seq) = clash {
            return Err(mismatch(seq));
        }
        Ok((device_name, acked))
    }

    /// One command in its own transaction, left open: the next command's `begin` or the end of
    /// the push commits it. `durable`: the batch's last command, committed synchronously.
    async fn push_one(
        &self,
        tx: &mut CommandTx,
        auth: &DeviceAuth,
        device_name: &str,
        pc: &PushCommand,
        durable: bool,
    ) -> Result<CommandResult, HubError> {
        let refs = apply::touched_refs(pc);
        let locks = records::lock_statements(Some(auth.device_id), refs.iter().map(String::as_str));
        tx.begin(durable, &locks).await?;
        let mut attempt = 1;
        loop {
            match self.run_one(&mut tx.conn, auth, device_name, pc, &refs).await {
                // A deadlock PostgreSQL broke in our transaction: nothing of it was stored, run it
                // again. (Only here, after `begin` went through: an error there may come from the
                // previous command's COMMIT, and that must end the push.)
                Err(HubError::Db(e)) if attempt < 3 && sqlstate(&e).as_deref() == Some(DEADLOCK) => {
                    tx.rollback().await?;
                    tx.begin(durable, &locks).await?;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// The command's work inside its transaction, after the locks.
    async fn run_one(
        &self,
        conn: &mut PgConnection,
        auth: &DeviceAuth,
        device_name: &str,
        pc: &PushCommand,
        refs: &[String],
    ) -> Result<CommandResult, HubError> {
        // After the locks, in one statement: the stored result of this (device, seq), the
        // device's acknowledged sequence, whether the id is stored elsewhere, and the records.
        let seen: Seen = sqlx::query_as(
            "SELECT r.outcome, r.command_id,
                    (SELECT COALESCE(max(client_seq), 0) FROM results WHERE device_id = $1) AS acked,
                    EXISTS (SELECT 1 FROM results WHERE command_id = $3 AND NOT (device_id = $1 AND client_seq = $2)) AS elsewhere,
                    k.*
             FROM (SELECT 1) AS one LEFT JOIN results r ON r.device_id = $1 AND r.client_seq = $2,
                  (SELECT array_agg(ref) AS refs, array_agg(facility_id) AS facilities, array_agg(provider_id) AS providers,
                          array_agg(version) AS versions, array_agg(last_change) AS changes
                   FROM records WHERE ref = ANY($4)) AS k",
        )
        .bind(auth.device_id.0)
        .bind(pc.client_seq)
        .bind(pc.command_id.0)
        .bind(refs)
        .fetch_one(&mut *conn)
        .await?;
        if let Some(Json(outcome)) = seen.outcome {
            if seen.command_id != Some(pc.command_id.0) {
                return Err(mismatch(pc.client_seq));
            }
            return Ok(CommandResult { client_seq: pc.client_seq, command_id: pc.command_id, outcome });
        }
        if pc.client_seq != seen.acked + 1 {
            return Err(HubError::Gap { expected: seen.acked + 1 });
        }
        if seen.elsewhere {
            return Err(mismatch(pc.client_seq));
        }

        let now = self.now();
        let decided = match &pc.command {
            // Erased with a child's file before it was sent: keeps its place, changes nothing.
            None => Decided::Answer(Outcome::Applied { versions: Versions::new() }),
            Some(cmd) => apply::device_command(&mut *conn, auth, device_name, pc, cmd, refs, seen.records.into_map(), now).await?,
        };
        let outcome = match decided {
            // The result row went in with the log entry.
            Decided::Filed(versions) => Outcome::Applied { versions },
            Decided::Answer(outcome) => {
                sqlx::query("INSERT INTO results (device_id, client_seq, command_id, outcome, stored_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(auth.device_id.0)
                    .bind(pc.client_seq)
                    .bind(pc.command_id.0)
                    .bind(Json(&outcome))
                    .bind(now)
                    .execute(&mut *conn)
                    .await
                    .map_err(|e| stored_or_mismatch(e, pc.client_seq))?;
                outcome
            }
        };
        Ok(CommandResult { client_seq: pc.client_seq, command_id: pc.command_id, outcome })
    }
}

/// The connection a push runs on, with its commands' transactions. They are managed here by
/// hand rather than with sqlx's `Transaction`, so that one command's COMMIT, the next one's
/// BEGIN with its settings and the next one's locks travel in one round trip (several
/// statements in one simple query). If the push fails or is cancelled (the client went away)
/// inside a transaction, the connection is closed instead of going back to the pool:
/// PostgreSQL then rolls the transaction back and releases its locks. (Code that runs inside a
/// command must not begin or commit on this connection: sqlx does not know of the transaction.)
struct CommandTx {
    conn: PoolConnection<Postgres>,
    /// A command's transaction is open (or its outcome unknown).
    open: bool,
}

impl CommandTx {
    /// Commits the open transaction (the previous command's), if any, and opens the next
    /// command's with its settings and advisory locks (`records::lock_statements`):
    /// - Speed without losing anything acknowledged: every command but the batch's last
    ///   commits without waiting for its WAL flush. The last one commits normally, and a
    ///   synchronous commit flushes the WAL up to its own record — which lies after the
    ///   records of all earlier commits — before the reply goes out. So when the device hears
    ///   "applied", all results of the batch are on disk; a crash before that loses only
    ///   results the device never saw and will push again.
    /// - Generic plans: a command's statements are key lookups and small writes whose plan
    ///   does not depend on the values. Left to itself, PostgreSQL plans a statement with an
    ///   array parameter anew at every execution (the generic plan assumes 10 elements and
    ///   looks dearer), which costs more than running it (measured: 0.12 ms per command).
    async fn begin(&mut self, durable: bool, locks: &str) -> Result<(), sqlx::Error> {
        let mut sql = String::with_capacity(200 + locks.len());
        if self.open {
            sql.push_str("COMMIT; ");
        }
        sql.push_str("BEGIN; SET LOCAL plan_cache_mode = force_generic_plan; ");
        if !durable {
            sql.push_str("SET LOCAL synchronous_commit = off; ");
        }
        sql.push_str(locks);
        self.open = true;
        sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *self.conn).await?;
        Ok(())
    }

    async fn commit(&mut self) -> Result<(), sqlx::Error> {
        if self.open {
            sqlx::raw_sql("COMMIT").execute(&mut *self.conn).await?;
            self.open = false;
        }
        Ok(())
    }

    async fn rollback(&mut self) -> Result<(), sqlx::Error> {
        if self.open {
            sqlx::raw_sql("ROLLBACK").execute(&mut *self.conn).await?;
            self.open = false;
        }
        Ok(())
    }
}

impl Drop for CommandTx {
    fn drop(&mut self) {
        if self.open {
            self.conn.close_on_drop();
        }
    }
}

/// What `run_one` reads under the locks.
#[derive(sqlx::FromRow)]
struct Seen {
    outcome: Option<Json<Outcome>>,
    command_id: Option<Uuid>,
    acked: i64,
    elsewhere: bool,
    #[sqlx(flatten)]
    records: records::Loaded,
}

/// What `apply::device_command` did with a command.
pub(crate) enum Decided {
    /// Applied and filed: the log entry and the result row are written. The records' new versions.
    Filed(Versions),
    /// Anything else (rejected, a conflict, nothing to apply): the caller stores this result.
    Answer(Outcome),
}

/// A unique violation while storing a result: the command id is stored already (under
/// another sequence number or device).
pub(crate) fn stored_or_mismatch(e: sqlx::Error, seq: i64) -> HubError {
    if sqlstate(&e).as_deref() == Some(UNIQUE_VIOLATION) {
        mismatch(seq)
    } else {
        e.into()
    }
}

fn mismatch(seq: i64) -> HubError {
    HubError::BadRequest(format!("Befehl Nummer {seq}: die Befehls-ID passt nicht zu dem, was der Hub für dieses Gerät gespeichert hat"))
}

/// The batch itself: at most `MAX_PUSH` commands numbered `from_seq`, `from_seq + 1`, … with
/// distinct ids.
fn validate_shape(req: &PushRequest) -> Result<(), HubError> {
    if req.commands.len() > MAX_PUSH {
        return Err(HubError::BadRequest(format!("Höchstens {MAX_PUSH} Befehle je Übertragung, erhalten {}", req.commands.len())));
    }
    if req.from_seq < 1 {
        return Err(HubError::BadRequest("Die Befehlsnummern beginnen bei 1".into()));
    }
    let mut ids = HashSet::with_capacity(req.commands.len());
    for (i, c) in req.commands.iter().enumerate() {
        if c.client_seq != req.from_seq + i as i64 {
            return Err(HubError::BadRequest(format!(
                "Die Befehle müssen lückenlos ab Nummer {} folgen; an Stelle {} steht Nummer {}",
                req.from_seq,
                i + 1,
                c.client_seq
            )));
        }
        if !ids.insert(c.command_id) {
            return Err(HubError::BadRequest(format!("Befehl Nummer {}: die Befehls-ID kommt doppelt vor", c.client_seq)));
        }
    }
    Ok(())
}
