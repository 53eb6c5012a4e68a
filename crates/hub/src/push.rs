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
use kitakontor_core::ids::CommandId;
use kitakontor_core::protocol::{CommandResult, Outcome, PushCommand, PushReply, PushRequest, Versions, MAX_PUSH};
use sqlx::types::Json;
use std::collections::{HashMap, HashSet};
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
        let device_name: Option<(String,)> =
            sqlx::query_as("SELECT name FROM devices WHERE id = $1").bind(auth.device_id.0).fetch_optional(&self.pool).await?;
        let device_name = device_name.ok_or(HubError::Unauthorized)?.0;

        let acked = self.acked_seq(auth).await?;
        if !req.commands.is_empty() && req.from_seq > acked + 1 {
            return Err(HubError::Gap { expected: acked + 1 });
        }
        self.check_known_ids(auth, &req.commands).await?;
        self.note_push(auth, &req, !req.commands.is_empty()).await?;

        let mut results = Vec::with_capacity(req.commands.len());
        let last = req.commands.len().saturating_sub(1);
        for (i, pc) in req.commands.iter().enumerate() {
            // A deadlock PostgreSQL broke in our transaction: nothing of it was stored, run it again.
            let mut attempt = 1;
            let result = loop {
                match self.push_one(auth, &device_name, pc, i == last).await {
                    Err(HubError::Db(e)) if attempt < 3 && sqlstate(&e).as_deref() == Some(DEADLOCK) => attempt += 1,
                    other => break other?,
                }
            };
            results.push(result);
        }
        let acked_seq = results.last().map(|r| r.client_seq.max(acked)).unwrap_or(acked);
        tracing::debug!(device_id = %auth.device_id, commands = results.len(), acked_seq, "push handled");
        Ok(PushReply { results, acked_seq })
    }

    /// Highest `client_seq` of the device with a stored result (0: none).
    pub(crate) async fn acked_seq(&self, auth: &DeviceAuth) -> Result<i64, HubError> {
        let (acked,): (i64,) = sqlx::query_as("SELECT COALESCE(max(client_seq), 0) FROM results WHERE device_id = $1")
            .bind(auth.device_id.0)
            .fetch_one(&self.pool)
            .await?;
        Ok(acked)
    }

    /// Refuses a batch whose command ids disagree with stored results (the same id under another
    /// sequence number, or another id under a stored number) before anything is applied.
    async fn check_known_ids(&self, auth: &DeviceAuth, commands: &[PushCommand]) -> Result<(), HubError> {
        if commands.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = commands.iter().map(|c| c.command_id.0).collect();
        let seqs: Vec<i64> = commands.iter().map(|c| c.client_seq).collect();
        let rows: Vec<(Uuid, i64, Uuid)> = sqlx::query_as(
            "SELECT device_id, client_seq, command_id FROM results
             WHERE command_id = ANY($2) OR (device_id = $1 AND client_seq = ANY($3))",
        )
        .bind(auth.device_id.0)
        .bind(&ids)
        .bind(&seqs)
        .fetch_all(&self.pool)
        .await?;
        let pushed: HashMap<i64, CommandId> = commands.iter().map(|c| (c.client_seq, c.command_id)).collect();
        for (device, seq, id) in rows {
            if device != auth.device_id.0 || pushed.get(&seq) != Some(&CommandId(id)) {
                return Err(mismatch(seq));
            }
        }
        Ok(())
    }

    /// Notes the push time and the head of the device's audit chain.
    async fn note_push(&self, auth: &DeviceAuth, req: &PushRequest, commands_follow: bool) -> Result<(), HubError> {
        let mut tx = self.pool.begin().await?;
        if commands_follow {
            // Flushed with the batch's last (synchronous) commit, like the commands before it.
            sqlx::query("SET LOCAL synchronous_commit = off").execute(&mut *tx).await?;
        }
        sqlx::query(
            "UPDATE devices SET last_push_at = $2, audit_head_seq = COALESCE($3, audit_head_seq),
                 audit_head_hash = COALESCE($4, audit_head_hash) WHERE id = $1",
        )
        .bind(auth.device_id.0)
        .bind(self.now())
        .bind(req.audit_head.as_ref().map(|h| h.seq))
        .bind(req.audit_head.as_ref().map(|h| h.hash.as_str()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// One command in its own transaction. `durable`: the batch's last command, committed
    /// synchronously.
    async fn push_one(&self, auth: &DeviceAuth, device_name: &str, pc: &PushCommand, durable: bool) -> Result<CommandResult, HubError> {
        let refs = apply::touched_refs(pc);
        let mut tx = self.pool.begin().await?;
        if !durable {
            // Speed without losing anything acknowledged: every command but the batch's last
            // commits without waiting for its WAL flush. The last one commits normally, and a
            // synchronous commit flushes the WAL up to its own record — which lies after the
            // records of all earlier commits — before the reply goes out. So when the device
            // hears "applied", all results of the batch are on disk; a crash before that loses
            // only results the device never saw and will push again.
            sqlx::query("SET LOCAL synchronous_commit = off").execute(&mut *tx).await?;
        }
        records::lock(&mut tx, Some(auth.device_id), refs.iter().map(String::as_str)).await?;

        let (stored, stored_id, acked, elsewhere): (Option<Json<Outcome>>, Option<Uuid>, i64, bool) = sqlx::query_as(
            "SELECT r.outcome, r.command_id,
                    (SELECT COALESCE(max(client_seq), 0) FROM results WHERE device_id = $1),
                    EXISTS (SELECT 1 FROM results WHERE command_id = $3 AND NOT (device_id = $1 AND client_seq = $2))
             FROM (SELECT 1) AS one LEFT JOIN results r ON r.device_id = $1 AND r.client_seq = $2",
        )
        .bind(auth.device_id.0)
        .bind(pc.client_seq)
        .bind(pc.command_id.0)
        .fetch_one(&mut *tx)
        .await?;
        if let Some(Json(outcome)) = stored {
            if stored_id != Some(pc.command_id.0) {
                return Err(mismatch(pc.client_seq));
            }
            return Ok(CommandResult { client_seq: pc.client_seq, command_id: pc.command_id, outcome });
        }
        if pc.client_seq != acked + 1 {
            return Err(HubError::Gap { expected: acked + 1 });
        }
        if elsewhere {
            return Err(mismatch(pc.client_seq));
        }

        let now = self.now();
        let outcome = match &pc.command {
            // Erased with a child's file before it was sent: keeps its place, changes nothing.
            None => Outcome::Applied { versions: Versions::new() },
            Some(cmd) => apply::device_command(&mut tx, auth, device_name, pc, cmd, now).await?,
        };
        let stored = sqlx::query("INSERT INTO results (device_id, client_seq, command_id, outcome, stored_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(auth.device_id.0)
            .bind(pc.client_seq)
            .bind(pc.command_id.0)
            .bind(Json(&outcome))
            .bind(now)
            .execute(&mut *tx)
            .await;
        match stored {
            Ok(_) => {}
            Err(e) if sqlstate(&e).as_deref() == Some(UNIQUE_VIOLATION) => return Err(mismatch(pc.client_seq)),
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(CommandResult { client_seq: pc.client_seq, command_id: pc.command_id, outcome })
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
