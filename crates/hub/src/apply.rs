//! One device command, inside the transaction `push` opened: scope (step 1), conflict policy
//! (step 2), the city's read models (step 3), new record versions, the log entry and the result
//! (step 4).

use crate::log::{self, AppliedEntry, NewEntry};
use crate::policy::{self, RecordScope, Rule};
use crate::push::{self, Decided};
use crate::records::{self, Record};
use crate::{city, DeviceAuth, HubError};
use chrono::{DateTime, Utc};
use kitakontor_core::command::Command;
use kitakontor_core::protocol::{Alternative, Origin, Outcome, PushCommand, Versions};
use sqlx::PgConnection;
use std::collections::{BTreeSet, HashMap};

/// Why the hub refused a command: stored as `Outcome::Rejected` and synced to the device's
/// clarification inbox.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rejection {
    pub code: &'static str,
    pub message: String,
    pub alternatives: Vec<Alternative>,
}

impl Rejection {
    pub fn new(code: &'static str, message: impl Into<String>) -> Rejection {
        Rejection { code, message: message.into(), alternatives: Vec::new() }
    }
}

impl From<Rejection> for Outcome {
    fn from(r: Rejection) -> Outcome {
        Outcome::Rejected { code: r.code.to_string(), message: r.message, alternatives: r.alternatives }
    }
}

/// What the city's read models say about a command.
pub(crate) type Effect = Result<(), Rejection>;

/// Every record a pushed command is locked and checked for: its `base_versions` and the
/// records its arguments name.
pub(crate) fn touched_refs(pc: &PushCommand) -> Vec<String> {
    let mut refs: BTreeSet<String> = pc.base_versions.keys().cloned().collect();
    if let Some(cmd) = &pc.command {
        refs.extend(policy::scope_refs(cmd));
    }
    refs.into_iter().collect()
}

/// Applies a device's command and files it. The caller holds the locks (`records::lock_statements`), has
/// loaded the `known` records among `refs` under them, and stores the result itself when the
/// command is not applied (`Decided::Answer`); nothing here is written unless it is applied.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn device_command(
    conn: &mut PgConnection,
    auth: &DeviceAuth,
    device_name: &str,
    pc: &PushCommand,
    cmd: &Command,
    refs: &[String],
    known: HashMap<String, Record>,
    now: DateTime<Utc>,
) -> Result<Decided, HubError> {
    let primary = policy::primary_ref(cmd);

    // Step 1: scope, from the enrolment only.
    if matches!(cmd, Command::DeleteChild(_)) && !known.contains_key(&primary) {
        // The child never reached the hub (or its creation was refused): nothing to delete.
        return Ok(Decided::Answer(Outcome::Applied { versions: Versions::new() }));
    }
    if let Some(r) = scope_check(cmd, auth, pc, refs, &known) {
        return Ok(Decided::Answer(r.into()));
    }

    // Step 2: the conflict policy on the primary record.
    if let Some(rec) = known.get(&primary) {
        let base = pc.base_versions.get(&primary).copied();
        match policy::rule(cmd) {
            Rule::WholeRecord if policy::is_stale(base, rec.version) => {
                return Ok(Decided::Answer(Outcome::Conflict {
                    record: primary,
                    fields: Vec::new(),
                    theirs_by: Some(rec.last_change.clone()),
                }));
            }
            Rule::FieldMerge if policy::is_stale(base, rec.version) => {
                let hub = records::fields(conn, &primary).await?;
                let conflicts = policy::field_conflicts(base.unwrap_or(0), &policy::merge_fields(cmd), &hub);
                if let Some(first) = conflicts.first() {
                    let theirs_by = hub.get(&first.field).map(|f| f.changed_by.clone()).unwrap_or_else(|| rec.last_change.clone());
                    return Ok(Decided::Answer(Outcome::Conflict { record: primary, fields: conflicts, theirs_by: Some(theirs_by) }));
                }
            }
            _ => {}
        }
    }

    // Step 3: the city's read models (may still refuse: no place, hold expired, …). A refusal
    // must leave nothing behind. Most city steps refuse, if at all, before their first write;
    // the few that can refuse after writing run under a savepoint (two round trips, so not
    // for every command).
    let ctx = city::Ctx { scope: RecordScope::facility(auth), now };
    let guarded = city::may_refuse_after_writing(cmd);
    if guarded {
        sqlx::query("SAVEPOINT apply").execute(&mut *conn).await?;
    }
    if let Err(rejection) = city::apply(conn, cmd, &ctx).await? {
        if guarded {
            sqlx::query("ROLLBACK TO SAVEPOINT apply").execute(&mut *conn).await?;
        }
        return Ok(Decided::Answer(rejection.into()));
    }
    if guarded {
        sqlx::query("RELEASE SAVEPOINT apply").execute(&mut *conn).await?;
    }
    // City rules (duplicates.rs): a written child is compared with the children of the same
    // birth date in every facility (open proposals only, nothing merged); a deleted child's
    // proposals and registry status go with its file.
    match cmd {
        Command::CreateChild(c) => {
            crate::duplicates::detect_for_child(conn, c.child_id.0, now).await?;
        }
        Command::UpdateChild(c) => {
            crate::duplicates::detect_for_child(conn, c.child_id.0, now).await?;
        }
        Command::DeleteChild(c) => crate::duplicates::forget_child(conn, c.child_id.0).await?,
        _ => {}
    }

    // Step 4: new versions, the log entry and the result, in one statement.
    let change = policy::describe_change(cmd.name(), device_name, now);
    let scope_of = |r: &str| known.get(r).map(|k| k.scope).unwrap_or_else(|| policy::new_record_scope(r, cmd, auth));
    let items: Vec<(String, RecordScope)> = pc.base_versions.keys().map(|r| (r.clone(), scope_of(r))).collect();
    let entry = AppliedEntry {
        device_id: auth.device_id,
        client_seq: pc.client_seq,
        command_id: pc.command_id,
        user_id: pc.user_id,
        hub_time: now,
        command: cmd,
        secret_hash: pc.secret_hash.as_deref(),
        scope: policy::log_scope(cmd, &scope_of(&primary)),
    };
    let versions = log::file_applied(conn, entry, &items, &change).await.map_err(|e| push::stored_or_mismatch(e, pc.client_seq))?;

    if policy::rule(cmd) == Rule::FieldMerge {
        let version = versions.get(&primary).copied().or_else(|| known.get(&primary).map(|k| k.version)).unwrap_or(0);
        records::set_fields(conn, &primary, version, &policy::merge_fields(cmd), &change).await?;
    }
    if let Some((record, fields)) = policy::seed_fields(cmd) {
        if let Some(v) = versions.get(&record) {
            records::set_fields(conn, &record, *v, &fields, &change).await?;
        }
    }
    Ok(Decided::Filed(versions))
}

fn scope_check(cmd: &Command, auth: &DeviceAuth, pc: &PushCommand, refs: &[String], known: &HashMap<String, Record>) -> Option<Rejection> {
    if !policy::arguments_in_scope(cmd, auth) {
        return Some(Rejection::new("out_of_scope", "Dieses Gerät darf nur Daten der eigenen Einrichtung und des eigenen Trägers ändern"));
    }
    for r in refs {
        match known.get(r) {
            Some(rec) if !policy::in_scope(&rec.scope, auth) => {
                return Some(Rejection::new("out_of_scope", format!("Der Datensatz {r} gehört nicht zum Bereich dieses Geräts")));
            }
            None if pc.base_versions.get(r).is_some_and(|b| *b > 0) => {
                return Some(Rejection::new(
                    "unknown_record",
                    format!("Der Datensatz {r} ist dem Hub nicht bekannt (wurde eine frühere Änderung abgelehnt?)"),
                ));
            }
            _ => {}
        }
    }
    None
}

/// Files one of the hub's own commands (a hold lapsing, a youth-office decision, a facility
/// from the administrator): bumps the records, appends the log entry. The caller holds the
/// locks and owns the transaction.
pub(crate) async fn hub_command(
    conn: &mut PgConnection,
    cmd: &Command,
    items: &[(String, RecordScope)],
    scope: RecordScope,
    now: DateTime<Utc>,
) -> Result<Versions, HubError> {
    let change = policy::describe_change(cmd.name(), "dem Hub", now);
    let versions = records::bump(conn, items, &change).await?;
    let command_id = kitakontor_core::ids::CommandId(uuid::Uuid::now_v7());
    log::append(
        conn,
        NewEntry {
            origin: Origin::Hub { command_id },
            user_id: None,
            hub_time: now,
            command: cmd,
            versions: &versions,
            secret_hash: None,
            scope,
        },
    )
    .await?;
    Ok(versions)
}
