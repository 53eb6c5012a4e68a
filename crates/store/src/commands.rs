//! Command handlers. One path for every change:
//!
//! 1. role check (`Role::allows`) for the command's permission — before anything is read;
//! 2. the handler loads what it touches, checks the scope (facility, educator's groups) with
//!    `authorize`, applies the domain rules from `kitakontor-core` and writes base tables,
//!    noting each touched record and the version it was based on;
//! 3. the outbox row (UUIDv7 `command_id`, gapless `client_seq`, args, base versions);
//! 4. the audit row (who, when, which records; no values).
//!
//! All four happen in one `BEGIN IMMEDIATE` transaction: either all of it is there or none.

use crate::auth::{check_password_strength, hash_secret};
use crate::conn::{args, Arg, Conn};
use crate::error::{Result, StoreError};
use crate::rows::{self, uuid};
use crate::time::{date, parse_date, ts};
use crate::{audit, outbox, Store};
use chrono::{DateTime, Utc};
use kitakontor_core::application::{validate_choices, ApplicationEvent, ApplicationState};
use kitakontor_core::attendance::{self, AttendanceEvent, AttendanceKind};
use kitakontor_core::care::{add_months, month_start};
use kitakontor_core::command::{self as cmd, Command, SCHEMA_VERSION};
use kitakontor_core::ids::*;
use kitakontor_core::occupancy;
use kitakontor_core::permission::{authorize, require_role, Actor, Permission, Scope};
use kitakontor_core::person::{normalise_iban, validate_birth_date, validate_name};
use kitakontor_core::reservation::{expires_at, ReservationStatus};
use kitakontor_core::sepa;
use kitakontor_core::ticket::{ensure_admissible, TicketState};
use kitakontor_core::DomainError;
use serde::Serialize;
use sqlx::SqliteConnection;
use std::collections::BTreeMap;

/// What the caller gets back once a command is durably stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Receipt {
    pub command_id: CommandId,
    pub client_seq: i64,
}

/// How many months ahead a reservation must find a free place (a hold blocks a place from
/// its start on; a place free only in the first month is not a place).
const RESERVATION_CHECK_MONTHS: u32 = 12;

/// How a command handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A user's new command: guarded, recorded in the outbox, provisional until the hub answers.
    Local,
    /// A pending command run again on top of a newer hub state: it was guarded when the user
    /// gave it; its undo images are captured again.
    Redo,
    /// An entry of the hub's log: the hub decided it (places, holds), the guard ran on the
    /// author's PC and the hub checked the scope, "now" is the hub's time.
    Replay,
}

pub(crate) struct Ctx<'c> {
    conn: Conn<'c>,
    actor: &'c Actor,
    now: DateTime<Utc>,
    mode: Mode,
    /// The records the command touched, in order (audit row, base versions).
    records: Vec<String>,
    secret: Option<&'c str>,
    /// Argon2id hash of `secret`: given for Redo/Replay, computed for Local (goes to the hub).
    secret_hash: Option<String>,
    /// False after an erasure: its undo images (and older ones naming the person) are gone.
    undoable: bool,
}

impl Ctx<'_> {
    fn guard(&self, permission: Permission, scope: Scope) -> Result<()> {
        if self.mode != Mode::Local {
            return Ok(());
        }
        authorize(self.actor, permission, scope).map_err(StoreError::from)
    }

    fn touch(&mut self, record: String) {
        if !self.records.contains(&record) {
            self.records.push(record);
        }
    }

    /// The password hash of `CreateUser`/`ResetPassword`: hashed here from the typed password,
    /// or taken as it came from the author's PC.
    fn password_hash(&mut self, missing: &str) -> Result<String> {
        if let Some(h) = &self.secret_hash {
            return Ok(h.clone());
        }
        let pw = self.secret.ok_or_else(|| StoreError::Conflict(missing.into()))?;
        check_password_strength(pw)?;
        let h = hash_secret(pw);
        self.secret_hash = Some(h.clone());
        Ok(h)
    }

    async fn child_guard(&mut self, permission: Permission, child: ChildId) -> Result<()> {
        let (facility, group) = rows::child_scope(&mut self.conn, child).await?;
        self.guard(permission, Scope::Child { facility, group })
    }

    async fn exec(&mut self, sql: &'static str, binds: &[Option<String>]) -> Result<u64> {
        let args: Vec<Arg> = binds.iter().cloned().map(Arg::from).collect();
        Ok(self.conn.exec(sql, &args).await?)
    }
}

fn s(v: impl ToString) -> Option<String> {
    Some(v.to_string())
}

impl Store {
    /// Runs one command in its own transaction.
    pub async fn execute(&self, actor: &Actor, command: Command) -> Result<Receipt> {
        self.execute_secret(actor, command, None).await
    }

    /// Runs a command that needs a secret beside it (the password of `CreateUser` and
    /// `ResetPassword`). The secret is hashed; it never enters the outbox or the audit log.
    pub async fn execute_secret(&self, actor: &Actor, command: Command, secret: Option<&str>) -> Result<Receipt> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let receipt = execute_in(&mut tx, actor, &command, secret, self.now()).await?;
        tx.commit().await?;
        Ok(receipt)
    }

    /// Runs many commands in one transaction: all or none (imports, demo data).
    pub async fn execute_batch(&self, actor: &Actor, commands: Vec<(Command, Option<String>)>) -> Result<Vec<Receipt>> {
        self.execute_batch_indexed(actor, commands).await.map_err(|(_, e)| e)
    }

    /// Like `execute_batch`; a failure also names the index of the command that failed, so an
    /// import can say which line of the file it came from.
    pub async fn execute_batch_indexed(
        &self,
        actor: &Actor,
        commands: Vec<(Command, Option<String>)>,
    ) -> std::result::Result<Vec<Receipt>, (usize, StoreError)> {
        let last = commands.len().saturating_sub(1);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(|e| (0, e.into()))?;
        let now = self.now();
        let mut out = Vec::with_capacity(commands.len());
        for (i, (c, secret)) in commands.iter().enumerate() {
            out.push(execute_in(&mut tx, actor, c, secret.as_deref(), now).await.map_err(|e| (i, e))?);
        }
        tx.commit().await.map_err(|e| (last, e.into()))?;
        Ok(out)
    }

    /// Creates the first account of a new database (the first-start wizard), optionally with
    /// its facility, in one transaction. Refused once any account exists, so it can't be used
    /// to add accounts past the guard.
    pub async fn create_first_user(
        &self,
        facility: Option<cmd::UpsertFacility>,
        user: cmd::CreateUser,
        password: &str,
    ) -> Result<Vec<Receipt>> {
        if self.has_accounts().await? {
            return Err(StoreError::Conflict("accounts exist already; log in and use user management".into()));
        }
        // The new account acts for itself; the guard still checks its role and facility.
        let actor = Actor { user_id: user.user_id, role: user.role, facility_id: user.facility_id, groups: vec![] };
        let mut batch: Vec<(Command, Option<String>)> = Vec::new();
        if let Some(f) = facility {
            batch.push((f.into(), None));
        }
        batch.push((user.into(), Some(password.to_string())));
        self.execute_batch(&actor, batch).await
    }
}

async fn execute_in(
    conn: &mut SqliteConnection,
    actor: &Actor,
    command: &Command,
    secret: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Receipt> {
    let permission = command.permission();
    require_role(actor, permission)?;
    let client_seq = outbox::next_seq(conn).await?;
    let ran = run(Conn::from(&mut *conn), actor, command, Mode::Local, now, secret, None, Some(client_seq)).await?;

    let command_id = CommandId(uuid::Uuid::now_v7());
    let json = serde_json::to_value(command).expect("commands serialise");
    let args = json.get("args").map(|a| a.to_string()).unwrap_or_else(|| "{}".into());
    let base = serde_json::to_string(&ran.base).expect("map serialises");
    let at = ts(now);
    let user = actor.user_id.to_string();
    let cid = command_id.to_string();
    outbox::append(
        conn,
        outbox::Row {
            client_seq,
            command_id: &cid,
            name: command.name(),
            schema_version: SCHEMA_VERSION,
            args: &args,
            base_versions: &base,
            user_id: &user,
            created_at: &at,
            secret_hash: ran.secret_hash.as_deref(),
            undoable: ran.undoable,
        },
    )
    .await?;
    audit::append(conn, audit::Entry { at: &at, user_id: &user, action: command.name(), command_id: Some(&cid), records: &ran.records })
        .await?;
    Ok(Receipt { command_id, client_seq })
}

/// What a handler run left behind.
pub(crate) struct Ran {
    pub records: Vec<String>,
    /// Record → the version the command was based on (0 = new), before its own bump.
    pub base: BTreeMap<String, i64>,
    pub secret_hash: Option<String>,
    pub undoable: bool,
}

/// Runs a command's handler. With `capture` (Local, Redo) the undo triggers record the old
/// row images under that client_seq and the touched records get a provisional version bump;
/// a Replay sets the hub's versions afterwards instead.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run(
    mut conn: Conn<'_>,
    actor: &Actor,
    command: &Command,
    mode: Mode,
    now: DateTime<Utc>,
    secret: Option<&str>,
    secret_hash: Option<String>,
    capture: Option<i64>,
) -> Result<Ran> {
    if let Some(seq) = capture {
        conn.exec("UPDATE sync_capture SET client_seq = ? WHERE id = 1", args![seq]).await?;
    }
    let mut ctx = Ctx { conn: Conn::from(&mut conn), actor, now, mode, records: Vec::new(), secret, secret_hash, undoable: true };
    let applied = apply(&mut ctx, command).await;
    let Ctx { records, secret_hash, undoable, .. } = ctx;
    let mut base = BTreeMap::new();
    if applied.is_ok() && capture.is_some() {
        for r in &records {
            let v: Option<(i64,)> = conn.opt("SELECT version FROM sync_versions WHERE record = ?", args![r]).await?;
            let v = v.map(|v| v.0);
            base.insert(r.clone(), v.unwrap_or(0));
            conn.exec(
                "INSERT INTO sync_versions (record, version) VALUES (?, ?) ON CONFLICT(record) DO UPDATE SET version = excluded.version",
                args![r, v.unwrap_or(0) + 1],
            )
            .await?;
        }
    }
    if capture.is_some() {
        conn.exec("UPDATE sync_capture SET client_seq = NULL WHERE id = 1", args![]).await?;
    }
    applied?;
    Ok(Ran { records, base, secret_hash, undoable })
}

async fn apply(ctx: &mut Ctx<'_>, command: &Command) -> Result<()> {
    match command {
        Command::UpsertFacility(c) => upsert_facility(ctx, c).await,
        Command::CreateGroup(c) => {
            ctx.guard(Permission::ManageFacility, Scope::Facility(c.facility_id))?;
            validate_name("group name", &c.name)?;
            ctx.exec(
                "INSERT INTO groups (id, facility_id, name, care_type) VALUES (?,?,?,?)",
                &[s(c.group_id), s(c.facility_id), s(c.name.trim()), s(c.care_type)],
            )
            .await
            .map_err(|e| unique_to_conflict(e, "a group with this name exists already"))?;
            ctx.touch(format!("group:{}", c.group_id));
            Ok(())
        }
        Command::AssignStaff(c) => {
            let facility: Option<(String,)> =
                ctx.conn.opt("SELECT facility_id FROM groups WHERE id = ?", args![c.group_id.to_string()]).await?;
            let facility = facility.ok_or(StoreError::NotFound { what: "group", id: c.group_id.to_string() })?;
            ctx.guard(Permission::ManageFacility, Scope::Facility(uuid(&facility.0)))?;
            user_exists(&mut ctx.conn, c.user_id).await?;
            ctx.exec("INSERT OR IGNORE INTO group_staff (group_id, user_id) VALUES (?,?)", &[s(c.group_id), s(c.user_id)]).await?;
            ctx.touch(format!("group:{}", c.group_id));
            ctx.touch(format!("user:{}", c.user_id));
            Ok(())
        }
        Command::CreateUser(c) => {
            ctx.guard(Permission::ManageUsers, c.facility_id.map(Scope::Facility).unwrap_or(Scope::Global))?;
            validate_name("username", &c.username)?;
            validate_name("display_name", &c.display_name)?;
            if c.username.chars().any(char::is_whitespace) {
                return Err(DomainError::InvalidField { field: "username", reason: "no spaces".into() }.into());
            }
            let hash = ctx.password_hash("a password is required for a new account")?;
            ctx.exec(
                "INSERT INTO users (id, username, display_name, role, facility_id, password_hash) VALUES (?,?,?,?,?,?)",
                &[
                    s(c.user_id),
                    s(c.username.trim()),
                    s(c.display_name.trim()),
                    s(c.role),
                    c.facility_id.map(|f| f.to_string()),
                    Some(hash),
                ],
            )
            .await
            .map_err(|e| unique_to_conflict(e, "this username is taken"))?;
            ctx.touch(format!("user:{}", c.user_id));
            Ok(())
        }
        Command::SetUserRole(c) => {
            user_exists(&mut ctx.conn, c.user_id).await?;
            ctx.guard(Permission::ManageUsers, Scope::Global)?;
            if c.user_id == ctx.actor.user_id {
                return Err(StoreError::Conflict("you cannot change your own role; ask another administrator".into()));
            }
            ctx.exec("UPDATE users SET role = ?, version = version + 1 WHERE id = ?", &[s(c.role), s(c.user_id)]).await?;
            ctx.touch(format!("user:{}", c.user_id));
            Ok(())
        }
        Command::DeactivateUser(c) => {
            user_exists(&mut ctx.conn, c.user_id).await?;
            ctx.guard(Permission::ManageUsers, Scope::Global)?;
            if c.user_id == ctx.actor.user_id {
                return Err(StoreError::Conflict("you cannot deactivate your own account".into()));
            }
            ctx.exec("UPDATE users SET active = 0, version = version + 1 WHERE id = ?", &[s(c.user_id)]).await?;
            ctx.touch(format!("user:{}", c.user_id));
            Ok(())
        }
        Command::ResetPassword(c) => {
            user_exists(&mut ctx.conn, c.user_id).await?;
            ctx.guard(Permission::ManageUsers, Scope::Global)?;
            let hash = ctx.password_hash("the new password is missing")?;
            ctx.exec(
                "UPDATE users SET password_hash = ?, failed_passwords = 0, pin_locked = 0, failed_pins = 0, version = version + 1 WHERE id = ?",
                &[Some(hash), s(c.user_id)],
            )
            .await?;
            ctx.touch(format!("user:{}", c.user_id));
            Ok(())
        }
        Command::CreateChild(c) => {
            ctx.guard(Permission::WriteChildren, Scope::Child { facility: c.facility_id, group: c.group_id })?;
            validate_name("first_name", &c.first_name)?;
            validate_name("last_name", &c.last_name)?;
            validate_name("municipality", &c.municipality)?;
            validate_birth_date(c.birth_date, ctx.now.date_naive())?;
            c.address.validate()?;
            if let Some(g) = c.group_id {
                group_in_facility(&mut ctx.conn, g, c.facility_id).await?;
            }
            ctx.exec(
                "INSERT INTO children (id, facility_id, group_id, first_name, last_name, birth_date, street, postal_code, city, municipality, search_name)
                 VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                &[
                    s(c.child_id), s(c.facility_id), c.group_id.map(|g| g.to_string()), s(c.first_name.trim()), s(c.last_name.trim()),
                    s(date(c.birth_date)), s(&c.address.street), s(&c.address.postal_code), s(&c.address.city), s(c.municipality.trim()),
                    s(search_name(&c.first_name, &c.last_name)),
                ],
            )
            .await?;
            ctx.touch(format!("child:{}", c.child_id));
            Ok(())
        }
        Command::UpdateChild(c) => update_child(ctx, c).await,
        Command::DeleteChild(c) => {
            ctx.child_guard(Permission::WriteChildren, c.child_id).await?;
            let orphans: Vec<(String,)> = ctx
                .conn
                .all(
                    "SELECT guardian_id FROM child_guardians WHERE child_id = ?1
                 AND guardian_id NOT IN (SELECT guardian_id FROM child_guardians WHERE child_id <> ?1)",
                    args![c.child_id.to_string()],
                )
                .await?;
            // Erasure must reach the outbox too: commands not yet sent to the hub would still
            // carry the names, health notes or IBANs. They keep their place in the sequence (no
            // gap) but lose their arguments; the hub acknowledges a redacted command as a no-op.
            let erased_guardians: Vec<String> = orphans.into_iter().map(|o| o.0).collect();
            for id in std::iter::once(c.child_id.to_string()).chain(erased_guardians.iter().cloned()) {
                ctx.exec(
                    "UPDATE outbox SET args = json_object('redacted', 'erased with the child file') WHERE status = 'pending' AND instr(args, ?) > 0",
                    &[Some(id)],
                )
                .await?;
            }
            // Guardians only linked to this child go with it; siblings keep theirs.
            ctx.exec(
                "DELETE FROM guardians WHERE id IN (SELECT guardian_id FROM child_guardians WHERE child_id = ?1)
                 AND id NOT IN (SELECT guardian_id FROM child_guardians WHERE child_id <> ?1)",
                &[s(c.child_id)],
            )
            .await?;
            ctx.exec("DELETE FROM children WHERE id = ?", &[s(c.child_id)]).await?;
            // The undo log must not keep what was erased: the images naming the child or its
            // guardians go, and the commands they belonged to can no longer be undone (their
            // effect stays; the hub's answer cannot bring the person back on this PC).
            for id in std::iter::once(c.child_id.to_string()).chain(erased_guardians.iter().cloned()) {
                ctx.exec(
                    "UPDATE outbox SET undoable = 0 WHERE client_seq IN (SELECT client_seq FROM sync_undo WHERE instr(pk, ?1) > 0 OR instr(COALESCE(old, ''), ?1) > 0)",
                    &[Some(id.clone())],
                )
                .await?;
                ctx.exec("DELETE FROM sync_undo WHERE instr(pk, ?1) > 0 OR instr(COALESCE(old, ''), ?1) > 0", &[Some(id)]).await?;
            }
            ctx.undoable = false;
            ctx.touch(format!("child:{}", c.child_id));
            Ok(())
        }
        Command::RecordHealth(c) => {
            ctx.child_guard(Permission::WriteHealth, c.child_id).await?;
            if c.health_notes.chars().count() > 4000 {
                return Err(DomainError::InvalidField { field: "health_notes", reason: "at most 4000 characters".into() }.into());
            }
            if let Some(d) = c.measles_proof {
                if d > ctx.now.date_naive() {
                    return Err(DomainError::InvalidField { field: "measles_proof", reason: format!("{d} is in the future") }.into());
                }
            }
            ctx.exec(
                "UPDATE children SET measles_proof = ?, health_notes = ?, version = version + 1 WHERE id = ?",
                &[c.measles_proof.map(date), s(&c.health_notes), s(c.child_id)],
            )
            .await?;
            ctx.touch(format!("child:{}", c.child_id));
            Ok(())
        }
        Command::AddGuardian(c) => {
            ctx.child_guard(Permission::WriteChildren, c.child_id).await?;
            validate_name("first_name", &c.first_name)?;
            validate_name("last_name", &c.last_name)?;
            c.address.validate()?;
            ctx.exec(
                "INSERT INTO guardians (id, first_name, last_name, email, phone, street, postal_code, city, single_parent) VALUES (?,?,?,?,?,?,?,?,?)",
                &[
                    s(c.guardian_id), s(c.first_name.trim()), s(c.last_name.trim()), s(c.email.trim()), s(c.phone.trim()),
                    s(&c.address.street), s(&c.address.postal_code), s(&c.address.city), s(c.single_parent as i64),
                ],
            )
            .await?;
            ctx.exec("INSERT INTO child_guardians (child_id, guardian_id) VALUES (?,?)", &[s(c.child_id), s(c.guardian_id)]).await?;
            ctx.touch(format!("guardian:{}", c.guardian_id));
            ctx.touch(format!("child:{}", c.child_id));
            Ok(())
        }
        Command::LinkGuardian(c) => {
            ctx.child_guard(Permission::WriteChildren, c.child_id).await?;
            guardian_exists(&mut ctx.conn, c.guardian_id).await?;
            ctx.exec("INSERT OR IGNORE INTO child_guardians (child_id, guardian_id) VALUES (?,?)", &[s(c.child_id), s(c.guardian_id)])
                .await?;
            ctx.touch(format!("guardian:{}", c.guardian_id));
            ctx.touch(format!("child:{}", c.child_id));
            Ok(())
        }
        Command::SetGuardianFinance(c) => {
            guardian_finance_guard(ctx, c.guardian_id).await?;
            let iban = c.iban.as_deref().filter(|i| !i.trim().is_empty()).map(normalise_iban).transpose()?;
            if c.income_cents.is_some_and(|i| !(0..=10_000_000_000).contains(&i)) {
                return Err(DomainError::InvalidField { field: "income", reason: "must be between 0 and 100,000,000 €".into() }.into());
            }
            ctx.exec(
                "UPDATE guardians SET income_cents = ?, iban = ?, account_holder = ?, version = version + 1 WHERE id = ?",
                &[c.income_cents.map(|i| i.to_string()), iban, c.account_holder.clone(), s(c.guardian_id)],
            )
            .await?;
            ctx.touch(format!("guardian:{}", c.guardian_id));
            Ok(())
        }
        Command::SetPickupPersons(c) => {
            ctx.child_guard(Permission::WriteChildren, c.child_id).await?;
            if c.persons.len() > 10 {
                return Err(DomainError::InvalidField { field: "pickup_persons", reason: "at most 10 persons".into() }.into());
            }
            let persons: Vec<String> = c.persons.iter().map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect();
            for p in &persons {
                validate_name("pickup_persons", p)?;
            }
            let json = serde_json::to_string(&persons).expect("strings serialise");
            ctx.exec("UPDATE children SET pickup_persons = ?, version = version + 1 WHERE id = ?", &[s(json), s(c.child_id)]).await?;
            ctx.touch(format!("child:{}", c.child_id));
            Ok(())
        }
        Command::RecordMandate(c) => {
            guardian_finance_guard(ctx, c.guardian_id).await?;
            let reference = sepa::validate_mandate_reference(&c.reference)?;
            let iban: Option<(Option<String>,)> =
                ctx.conn.opt("SELECT iban FROM guardians WHERE id = ?", args![c.guardian_id.to_string()]).await?;
            if iban.and_then(|i| i.0).is_none() {
                return Err(DomainError::InvalidField {
                    field: "iban",
                    reason: "the guardian has no IBAN; record the bank account first".into(),
                }
                .into());
            }
            if c.signed_on > ctx.now.date_naive() {
                return Err(DomainError::InvalidField { field: "signed_on", reason: format!("{} is in the future", c.signed_on) }.into());
            }
            let taken: Option<(String,)> = ctx.conn.opt("SELECT id FROM sepa_mandates WHERE reference = ?", args![&reference]).await?;
            if taken.is_some() {
                return Err(StoreError::Conflict(format!("Die Mandatsreferenz {reference} ist bereits vergeben")));
            }
            ctx.exec(
                "INSERT INTO sepa_mandates (id, guardian_id, reference, signed_on) VALUES (?,?,?,?)",
                &[s(c.mandate_id), s(c.guardian_id), s(reference), s(date(c.signed_on))],
            )
            .await?;
            ctx.touch(format!("guardian:{}", c.guardian_id));
            ctx.touch(format!("mandate:{}", c.mandate_id));
            Ok(())
        }
        Command::RevokeMandate(c) => {
            let row: Option<(String, i64, Option<String>)> = ctx
                .conn
                .opt("SELECT guardian_id, version, revoked_on FROM sepa_mandates WHERE id = ?", args![c.mandate_id.to_string()])
                .await?;
            let (guardian, _, revoked) = row.ok_or(StoreError::NotFound { what: "mandate", id: c.mandate_id.to_string() })?;
            guardian_finance_guard(ctx, uuid(&guardian)).await?;
            if revoked.is_some() {
                return Err(StoreError::Conflict("Das Mandat ist bereits widerrufen".into()));
            }
            ctx.exec(
                "UPDATE sepa_mandates SET revoked_on = ?, version = version + 1 WHERE id = ?",
                &[s(date(c.revoked_on)), s(c.mandate_id)],
            )
            .await?;
            ctx.touch(format!("mandate:{}", c.mandate_id));
            Ok(())
        }
        Command::SetCreditor(c) => {
            ctx.guard(Permission::RunBilling, Scope::Global)?;
            let v: Option<(i64,)> = ctx.conn.opt("SELECT version FROM providers WHERE id = ?", args![c.provider_id.to_string()]).await?;
            v.ok_or(StoreError::NotFound { what: "provider", id: c.provider_id.to_string() })?;
            c.address.validate()?;
            let creditor_id = sepa::validate_creditor_id(&c.creditor_id)?;
            let iban = normalise_iban(&c.iban)?;
            let bic = c.bic.as_deref().filter(|b| !b.trim().is_empty()).map(sepa::validate_bic).transpose()?.unwrap_or_default();
            ctx.exec(
                "UPDATE providers SET street = ?, postal_code = ?, city = ?, creditor_id = ?, iban = ?, bic = ?, youth_office = ?, version = version + 1 WHERE id = ?",
                &[
                    s(&c.address.street),
                    s(&c.address.postal_code),
                    s(&c.address.city),
                    s(creditor_id),
                    s(iban),
                    s(bic),
                    s(c.youth_office.trim()),
                    s(c.provider_id),
                ],
            )
            .await?;
            ctx.touch(format!("provider:{}", c.provider_id));
            Ok(())
        }
        Command::SubmitApplication(c) => {
            ctx.child_guard(Permission::ManageApplications, c.child_id).await?;
            validate_choices(&c.choices)?;
            for f in &c.choices {
                facility_exists(&mut ctx.conn, *f).await?;
            }
            ctx.exec(
                "INSERT INTO applications (id, child_id, wanted_start, care_type, care_tenths, origin, state, created_at) VALUES (?,?,?,?,?,?,'open',?)",
                &[s(c.application_id), s(c.child_id), s(date(c.wanted_start)), s(c.care_type), s(c.care_hours.tenths()), s(c.origin.code()), s(ts(ctx.now))],
            )
            .await
            .map_err(|e| unique_to_conflict(e, "the child already has an active application for this start date"))?;
            for (i, f) in c.choices.iter().enumerate() {
                ctx.exec(
                    "INSERT INTO application_choices (application_id, rank, facility_id) VALUES (?,?,?)",
                    &[s(c.application_id), s(i + 1), s(f)],
                )
                .await?;
            }
            ctx.touch(format!("application:{}", c.application_id));
            ctx.touch(format!("child:{}", c.child_id));
            Ok(())
        }
        Command::SetApplicationPriority(c) => {
            let (app, _) = application_guarded(ctx, c.application_id).await?;
            if app.state.is_final() {
                return Err(StoreError::Conflict(format!("application is {}", app.state.label_de())));
            }
            ctx.exec("UPDATE applications SET priority = ?, version = version + 1 WHERE id = ?", &[s(c.priority), s(c.application_id)])
                .await?;
            ctx.touch(format!("application:{}", c.application_id));
            Ok(())
        }
        Command::RejectApplication(c) => close_application(ctx, c.application_id, ApplicationEvent::Reject, &c.reason).await,
        Command::WithdrawApplication(c) => close_application(ctx, c.application_id, ApplicationEvent::Withdraw, "").await,
        Command::ReservePlace(c) => reserve_place(ctx, c).await,
        Command::CancelReservation(c) => release_hold(ctx, c.reservation_id, ReservationStatus::Cancelled).await,
        Command::ExpireReservation(c) => release_hold(ctx, c.reservation_id, ReservationStatus::Lapsed).await,
        Command::ConcludeContract(c) => conclude_contract(ctx, c).await,
        Command::AmendContract(c) => {
            let (contract, _) = rows::contract(&mut ctx.conn, c.contract_id).await?;
            ctx.guard(Permission::ManageContracts, Scope::Facility(contract.facility_id))?;
            let next = contract.amend(c.valid_from, c.care_hours, c.note.clone(), ctx.now)?;
            insert_version(ctx, c.contract_id, &next).await?;
            ctx.exec("UPDATE contracts SET version = version + 1 WHERE id = ?", &[s(c.contract_id)]).await?;
            ctx.touch(format!("contract:{}", c.contract_id));
            Ok(())
        }
        Command::TerminateContract(c) => {
            let (contract, _) = rows::contract(&mut ctx.conn, c.contract_id).await?;
            ctx.guard(Permission::ManageContracts, Scope::Facility(contract.facility_id))?;
            let next = contract.terminate(c.end_date, c.reason.clone(), ctx.now)?;
            insert_version(ctx, c.contract_id, &next).await?;
            ctx.exec("UPDATE contracts SET end_date = ?, version = version + 1 WHERE id = ?", &[s(date(c.end_date)), s(c.contract_id)])
                .await?;
            ctx.touch(format!("contract:{}", c.contract_id));
            Ok(())
        }
        Command::RecordAttendance(c) => record_attendance(ctx, c).await,
        Command::RequestTicket(c) => {
            ctx.child_guard(Permission::ManageTickets, c.child_id).await?;
            validate_name("home_municipality", &c.home_municipality)?;
            ctx.exec(
                "INSERT INTO tickets (id, child_id, home_municipality, state, requested_at) VALUES (?,?,?,'requested',?)",
                &[s(c.ticket_id), s(c.child_id), s(c.home_municipality.trim()), s(ts(ctx.now))],
            )
            .await?;
            ctx.touch(format!("ticket:{}", c.ticket_id));
            ctx.touch(format!("child:{}", c.child_id));
            Ok(())
        }
        Command::RecordTicketDecision(c) => {
            let row: Option<(String, String, i64)> =
                ctx.conn.opt("SELECT child_id, state, version FROM tickets WHERE id = ?", args![c.ticket_id.to_string()]).await?;
            let (child, state, _) = row.ok_or(StoreError::NotFound { what: "ticket", id: c.ticket_id.to_string() })?;
            ctx.child_guard(Permission::ManageTickets, uuid(&child)).await?;
            let next = TicketState::from_code(&state).expect("CHECK").decide(c.approved)?;
            ctx.exec(
                "UPDATE tickets SET state = ?, reference = ?, decided_at = ?, version = version + 1 WHERE id = ?",
                &[s(next.code()), s(&c.reference), s(ts(ctx.now)), s(c.ticket_id)],
            )
            .await?;
            ctx.touch(format!("ticket:{}", c.ticket_id));
            Ok(())
        }
    }
}

fn search_name(first: &str, last: &str) -> String {
    format!("{} {}", first.trim(), last.trim()).to_lowercase()
}

fn unique_to_conflict(e: StoreError, msg: &str) -> StoreError {
    match &e {
        StoreError::Db(sqlx::Error::Database(d)) if d.is_unique_violation() => StoreError::Conflict(msg.to_string()),
        _ => e,
    }
}

async fn user_exists(conn: &mut Conn<'_>, id: UserId) -> Result<()> {
    let v: Option<(i64,)> = conn.opt("SELECT 1 FROM users WHERE id = ?", args![id.to_string()]).await?;
    v.map(|_| ()).ok_or(StoreError::NotFound { what: "user", id: id.to_string() })
}

async fn facility_exists(conn: &mut Conn<'_>, id: FacilityId) -> Result<(String, i64)> {
    let v: Option<(String, i64)> = conn.opt("SELECT municipality, version FROM facilities WHERE id = ?", args![id.to_string()]).await?;
    v.ok_or(StoreError::NotFound { what: "facility", id: id.to_string() })
}

/// Finance data of a guardian is scoped by the guardian's children: the actor must be allowed
/// to write finance data for every one of them (a guardian without children: provider-wide).
async fn guardian_finance_guard(ctx: &mut Ctx<'_>, guardian: GuardianId) -> Result<()> {
    guardian_exists(&mut ctx.conn, guardian).await?;
    for scope in rows::guardian_scopes(&mut ctx.conn, guardian).await? {
        ctx.guard(Permission::WriteFinance, scope)?;
    }
    Ok(())
}

async fn guardian_exists(conn: &mut Conn<'_>, id: GuardianId) -> Result<()> {
    let v: Option<(i64,)> = conn.opt("SELECT 1 FROM guardians WHERE id = ?", args![id.to_string()]).await?;
    v.map(|_| ()).ok_or(StoreError::NotFound { what: "guardian", id: id.to_string() })
}

async fn group_in_facility(conn: &mut Conn<'_>, group: GroupId, facility: FacilityId) -> Result<()> {
    let row: Option<(String,)> = conn.opt("SELECT facility_id FROM groups WHERE id = ?", args![group.to_string()]).await?;
    match row {
        Some((f,)) if f == facility.to_string() => Ok(()),
        Some(_) => Err(StoreError::Conflict("the group belongs to another facility".into())),
        None => Err(StoreError::NotFound { what: "group", id: group.to_string() }),
    }
}

async fn upsert_facility(ctx: &mut Ctx<'_>, c: &cmd::UpsertFacility) -> Result<()> {
    ctx.guard(Permission::ManageFacility, Scope::Facility(c.facility_id))?;
    validate_name("name", &c.name)?;
    validate_name("provider_name", &c.provider_name)?;
    validate_name("municipality", &c.municipality)?;
    c.address.validate()?;
    for (ct, _) in &c.capacities {
        if c.capacities.iter().filter(|(x, _)| x == ct).count() > 1 {
            return Err(DomainError::InvalidField { field: "capacities", reason: format!("{ct} listed twice") }.into());
        }
    }
    ctx.exec(
        "INSERT INTO providers (id, name) VALUES (?1, ?2) ON CONFLICT(id) DO UPDATE SET name = ?2, version = version + 1",
        &[s(c.provider_id), s(c.provider_name.trim())],
    )
    .await?;
    ctx.exec(
        "INSERT INTO facilities (id, provider_id, name, profile, street, postal_code, city, municipality) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)
         ON CONFLICT(id) DO UPDATE SET name = ?3, profile = ?4, street = ?5, postal_code = ?6, city = ?7, municipality = ?8, version = version + 1",
        &[
            s(c.facility_id), s(c.provider_id), s(c.name.trim()), s(&c.profile), s(&c.address.street), s(&c.address.postal_code),
            s(&c.address.city), s(c.municipality.trim()),
        ],
    )
    .await?;
    ctx.exec("DELETE FROM facility_capacities WHERE facility_id = ?", &[s(c.facility_id)]).await?;
    for (ct, n) in &c.capacities {
        ctx.exec("INSERT INTO facility_capacities (facility_id, care_type, capacity) VALUES (?,?,?)", &[s(c.facility_id), s(ct), s(n)])
            .await?;
    }
    ctx.touch(format!("facility:{}", c.facility_id));
    Ok(())
}

async fn update_child(ctx: &mut Ctx<'_>, c: &cmd::UpdateChild) -> Result<()> {
    ctx.child_guard(Permission::WriteChildren, c.child_id).await?;
    let (facility, _) = rows::child_scope(&mut ctx.conn, c.child_id).await?;
    let cur: (String, String, String, String, String, String, String, Option<String>) = ctx
        .conn
        .one(
            "SELECT first_name, last_name, birth_date, street, postal_code, city, municipality, group_id FROM children WHERE id = ?",
            args![c.child_id.to_string()],
        )
        .await?;
    let first = c.first_name.clone().unwrap_or(cur.0);
    let last = c.last_name.clone().unwrap_or(cur.1);
    validate_name("first_name", &first)?;
    validate_name("last_name", &last)?;
    let birth = c.birth_date.unwrap_or_else(|| parse_date(&cur.2));
    validate_birth_date(birth, ctx.now.date_naive())?;
    let addr = c.address.clone().unwrap_or(kitakontor_core::person::Address { street: cur.3, postal_code: cur.4, city: cur.5 });
    addr.validate()?;
    let municipality = c.municipality.clone().unwrap_or(cur.6);
    validate_name("municipality", &municipality)?;
    let group = match c.group_id {
        Some(g) => {
            group_in_facility(&mut ctx.conn, g, facility).await?;
            Some(g.to_string())
        }
        None => cur.7,
    };
    ctx.exec(
        "UPDATE children SET first_name = ?, last_name = ?, birth_date = ?, street = ?, postal_code = ?, city = ?, municipality = ?, group_id = ?,
         search_name = ?, version = version + 1 WHERE id = ?",
        &[
            s(first.trim()), s(last.trim()), s(date(birth)), s(&addr.street), s(&addr.postal_code), s(&addr.city), s(municipality.trim()), group,
            s(search_name(&first, &last)), s(c.child_id),
        ],
    )
    .await?;
    ctx.touch(format!("child:{}", c.child_id));
    Ok(())
}

async fn application_guarded(ctx: &mut Ctx<'_>, id: ApplicationId) -> Result<(kitakontor_core::application::Application, i64)> {
    let (app, v) = rows::application(&mut ctx.conn, id).await?;
    ctx.child_guard(Permission::ManageApplications, app.child_id).await?;
    Ok((app, v))
}

async fn close_application(ctx: &mut Ctx<'_>, id: ApplicationId, event: ApplicationEvent, reason: &str) -> Result<()> {
    let (app, _) = application_guarded(ctx, id).await?;
    let next = app.state.transition(event)?;
    if app.state == ApplicationState::Reserved {
        // A rejected or withdrawn application frees its hold.
        let holds: Vec<(String, i64)> = ctx
            .conn
            .all(
                "SELECT id, version FROM reservations WHERE application_id = ? AND status IN ('provisional','confirmed')",
                args![id.to_string()],
            )
            .await?;
        for (h, _) in holds {
            ctx.exec("UPDATE reservations SET status = 'cancelled', version = version + 1 WHERE id = ?", &[s(&h)]).await?;
            ctx.touch(format!("reservation:{h}"));
        }
    }
    ctx.exec("UPDATE applications SET state = ?, reason = ?, version = version + 1 WHERE id = ?", &[s(next.code()), s(reason), s(id)])
        .await?;
    ctx.touch(format!("application:{id}"));
    Ok(())
}

async fn reserve_place(ctx: &mut Ctx<'_>, c: &cmd::ReservePlace) -> Result<()> {
    let (app, _) = rows::application(&mut ctx.conn, c.application_id).await?;
    ctx.guard(Permission::ManageApplications, Scope::Facility(c.facility_id))?;
    if !app.choices.contains(&c.facility_id) {
        return Err(StoreError::Conflict("the facility is not among the application's choices".into()));
    }
    let next = app.state.transition(ApplicationEvent::Reserve)?;
    if c.start_date < app.wanted_start {
        return Err(DomainError::DateTooEarly { date: c.start_date, earliest: app.wanted_start }.into());
    }
    // One place per child: no other active hold, no contract running at the start.
    let (n,): (i64,) = ctx
        .conn
        .one(
            "SELECT (SELECT count(*) FROM reservations WHERE child_id = ?1 AND status IN ('provisional','confirmed') AND expires_at > ?2)
              + (SELECT count(*) FROM contracts WHERE child_id = ?1 AND (end_date IS NULL OR end_date >= ?3))",
            args![app.child_id.to_string(), ts(ctx.now), date(c.start_date)],
        )
        .await?;
    if n > 0 {
        return Err(DomainError::AlreadyPlaced.into());
    }
    if ctx.mode != Mode::Replay {
        free_place_check(ctx, c, app.care_type).await?;
    }
    // Provisional until the hub's log brings it back: the hub decides places city-wide.
    let status = if ctx.mode == Mode::Replay { "confirmed" } else { "provisional" };
    ctx.exec(
        "INSERT INTO reservations (id, application_id, child_id, facility_id, care_type, start_date, created_at, expires_at, status) VALUES (?,?,?,?,?,?,?,?,?)",
        &[s(c.reservation_id), s(c.application_id), s(app.child_id), s(c.facility_id), s(app.care_type), s(date(c.start_date)), s(ts(ctx.now)), s(ts(expires_at(ctx.now))), s(status)],
    )
    .await?;
    ctx.exec("UPDATE applications SET state = ?, version = version + 1 WHERE id = ?", &[s(next.code()), s(c.application_id)]).await?;
    ctx.touch(format!("reservation:{}", c.reservation_id));
    ctx.touch(format!("application:{}", c.application_id));
    Ok(())
}

/// The local view of free places (this PC's contracts and holds). The hub's bookings are
/// authoritative, so a replayed reservation skips this.
async fn free_place_check(ctx: &mut Ctx<'_>, c: &cmd::ReservePlace, care_type: kitakontor_core::care::CareType) -> Result<()> {
    let inputs = rows::occupancy_inputs(&mut ctx.conn, c.facility_id).await?;
    if !inputs.capacity.contains_key(&care_type) {
        return Err(DomainError::CareTypeNotOffered(care_type).into());
    }
    let f = occupancy::forecast(&inputs.capacity, &inputs.spans, &inputs.holds_at(ctx.now), c.start_date, RESERVATION_CHECK_MONTHS);
    for i in 0..RESERVATION_CHECK_MONTHS {
        let month = add_months(month_start(c.start_date), i);
        if let Some(m) = f.get(month, care_type) {
            if m.free < 1 {
                return Err(DomainError::NoFreePlace { care_type, month, capacity: m.capacity, taken: m.contracted + m.reserved }.into());
            }
        }
    }
    Ok(())
}

async fn release_hold(ctx: &mut Ctx<'_>, id: ReservationId, to: ReservationStatus) -> Result<()> {
    let (res, _) = rows::reservation(&mut ctx.conn, id).await?;
    ctx.guard(Permission::ManageApplications, Scope::Facility(res.facility_id))?;
    if !matches!(res.status, ReservationStatus::Provisional | ReservationStatus::Confirmed) {
        return Err(DomainError::ReservationNotActive(res.status.label_de()).into());
    }
    if to == ReservationStatus::Lapsed && ctx.now < res.expires_at {
        return Err(StoreError::Conflict(format!("the hold runs until {}; it has not lapsed", res.expires_at)));
    }
    let (app, _) = rows::application(&mut ctx.conn, res.application_id).await?;
    let next = app.state.transition(ApplicationEvent::ReleaseHold)?;
    ctx.exec("UPDATE reservations SET status = ?, version = version + 1 WHERE id = ?", &[s(to.code()), s(id)]).await?;
    ctx.exec("UPDATE applications SET state = ?, version = version + 1 WHERE id = ?", &[s(next.code()), s(app.id)]).await?;
    ctx.touch(format!("reservation:{id}"));
    ctx.touch(format!("application:{}", app.id));
    Ok(())
}

async fn conclude_contract(ctx: &mut Ctx<'_>, c: &cmd::ConcludeContract) -> Result<()> {
    let (res, _) = rows::reservation(&mut ctx.conn, c.reservation_id).await?;
    ctx.guard(Permission::ManageContracts, Scope::Facility(res.facility_id))?;
    res.ensure_convertible(ctx.now)?;
    if c.start_date < res.start_date {
        return Err(DomainError::DateTooEarly { date: c.start_date, earliest: res.start_date }.into());
    }
    if c.settling_in_weeks > 26 {
        return Err(DomainError::InvalidField { field: "settling_in_weeks", reason: "at most 26 weeks".into() }.into());
    }
    let (app, _) = rows::application(&mut ctx.conn, res.application_id).await?;
    let next = app.state.transition(ApplicationEvent::Admit)?;
    let child: (String, Option<String>, i64) =
        ctx.conn.one("SELECT municipality, measles_proof, version FROM children WHERE id = ?", args![res.child_id.to_string()]).await?;
    if child.1.is_none() {
        return Err(DomainError::MeaslesProofMissing.into());
    }
    let (facility_municipality, _) = facility_exists(&mut ctx.conn, res.facility_id).await?;
    let tickets: Vec<(String,)> = ctx.conn.all("SELECT state FROM tickets WHERE child_id = ?", args![res.child_id.to_string()]).await?;
    let tickets: Vec<TicketState> = tickets.iter().map(|t| TicketState::from_code(&t.0).expect("CHECK")).collect();
    ensure_admissible(&child.0, &facility_municipality, &tickets)?;
    let (overlap,): (i64,) = ctx
        .conn
        .one(
            "SELECT count(*) FROM contracts WHERE child_id = ? AND (end_date IS NULL OR end_date >= ?)",
            args![res.child_id.to_string(), date(c.start_date)],
        )
        .await?;
    if overlap > 0 {
        return Err(DomainError::AlreadyPlaced.into());
    }
    ctx.exec(
        "INSERT INTO contracts (id, child_id, facility_id, reservation_id, care_type, start_date, settling_in_weeks) VALUES (?,?,?,?,?,?,?)",
        &[s(c.contract_id), s(res.child_id), s(res.facility_id), s(res.id), s(res.care_type), s(date(c.start_date)), s(c.settling_in_weeks)],
    )
    .await?;
    let v1 = kitakontor_core::contract::ContractVersion {
        version_no: 1,
        kind: kitakontor_core::contract::VersionKind::Initial,
        valid_from: c.start_date,
        care_hours: c.care_hours,
        end_date: None,
        signed_at: Some(ctx.now),
        note: String::new(),
    };
    insert_version(ctx, c.contract_id, &v1).await?;
    ctx.exec("UPDATE reservations SET status = 'converted', version = version + 1 WHERE id = ?", &[s(res.id)]).await?;
    ctx.exec("UPDATE applications SET state = ?, version = version + 1 WHERE id = ?", &[s(next.code()), s(app.id)]).await?;
    ctx.touch(format!("contract:{}", c.contract_id));
    ctx.touch(format!("reservation:{}", res.id));
    ctx.touch(format!("application:{}", app.id));
    ctx.touch(format!("child:{}", res.child_id));
    Ok(())
}

async fn insert_version(ctx: &mut Ctx<'_>, contract: ContractId, v: &kitakontor_core::contract::ContractVersion) -> Result<()> {
    ctx.exec(
        "INSERT INTO contract_versions (contract_id, version_no, kind, valid_from, care_tenths, end_date, signed_at, note) VALUES (?,?,?,?,?,?,?,?)",
        &[s(contract), s(v.version_no), s(v.kind.code()), s(date(v.valid_from)), s(v.care_hours.tenths()), v.end_date.map(date), v.signed_at.map(ts), s(&v.note)],
    )
    .await?;
    Ok(())
}

async fn record_attendance(ctx: &mut Ctx<'_>, c: &cmd::RecordAttendance) -> Result<()> {
    ctx.child_guard(Permission::RecordAttendance, c.child_id).await?;
    let today = ctx.now.date_naive();
    if c.date > today {
        return Err(DomainError::InvalidField { field: "date", reason: format!("{} is in the future", c.date) }.into());
    }
    let events = day_events(&mut ctx.conn, c.child_id, c.date).await?;
    match c.corrects {
        Some(target) => {
            if !events.iter().any(|e| e.id == target) {
                return Err(StoreError::NotFound { what: "attendance event of that day", id: target.to_string() });
            }
        }
        None => attendance::ensure_recordable(attendance::day_status(&events), c.kind)?,
    }
    let absence = match c.kind {
        AttendanceKind::Absence(t) => Some(t.code().to_string()),
        _ => None,
    };
    let recorder = ctx.actor.user_id.to_string();
    // The local order of events (`seq`), read apart from the INSERT: an INSERT … SELECT is a
    // multi-row write to SQLite and pays for a statement journal, which a bulk replay felt.
    let (seq,): (i64,) = ctx.conn.one("SELECT COALESCE(MAX(seq), 0) + 1 FROM attendance_events", args![]).await?;
    ctx.exec(
        "INSERT INTO attendance_events (id, child_id, date, kind, absence_type, at, corrects, recorded_by, seq)
         VALUES (?,?,?,?,?,?,?,?,?)",
        &[
            s(c.event_id),
            s(c.child_id),
            s(date(c.date)),
            s(c.kind.code()),
            absence,
            s(ts(c.at)),
            c.corrects.map(|x| x.to_string()),
            s(recorder),
            s(seq),
        ],
    )
    .await?;
    ctx.touch(format!("attendance:{}", c.event_id));
    ctx.touch(format!("child:{}", c.child_id));
    Ok(())
}

pub(crate) async fn day_events<'a>(conn: impl Into<Conn<'a>>, child: ChildId, day: chrono::NaiveDate) -> Result<Vec<AttendanceEvent>> {
    let mut conn: Conn<'a> = conn.into();
    let rows: Vec<(String, String, Option<String>, String, Option<String>)> = conn
        .all(
            "SELECT id, kind, absence_type, at, corrects FROM attendance_events WHERE child_id = ? AND date = ? ORDER BY seq",
            args![child.to_string(), date(day)],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| AttendanceEvent {
            id: uuid(&r.0),
            child_id: child,
            date: day,
            kind: match r.1.as_str() {
                "check_in" => AttendanceKind::CheckIn,
                "check_out" => AttendanceKind::CheckOut,
                _ => AttendanceKind::Absence(
                    r.2.as_deref()
                        .and_then(kitakontor_core::attendance::AbsenceType::from_code)
                        .unwrap_or(kitakontor_core::attendance::AbsenceType::Other),
                ),
            },
            at: crate::time::parse_ts(&r.3),
            corrects: r.4.as_deref().map(uuid),
        })
        .collect())
}
