//! `kitakontor`: everything the office app can do, headless. Thin: parses arguments, logs in,
//! turns each subcommand into one store call, prints the result. No business rule lives here.
//!
//! A library with a one-line binary, so that test crates can build the very same program as a
//! binary of their own (`CARGO_BIN_EXE_*` is then always fresh).

mod args;
mod bench;
mod bench_billing;
mod bench_sync;
mod billing;
mod output;
mod stress;
mod sync;

use args::*;
use chrono::{NaiveDate, Utc};
use clap::Parser;
use kitakontor_core::application::ApplicationOrigin;
use kitakontor_core::attendance::{AbsenceType, AttendanceKind};
use kitakontor_core::care::{CareHours, CareType};
use kitakontor_core::command as c;
use kitakontor_core::ids::*;
use kitakontor_core::permission::{Actor, Role};
use kitakontor_core::person::Address;
use kitakontor_store::key::{default_db_path, KeySource, KeyringStore};
use kitakontor_store::{Store, StoreError};
use output::Out;
use std::path::PathBuf;
use std::process::ExitCode;
use thiserror::Error;
use uuid::Uuid;

#[derive(Debug, Error)]
pub enum CliError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Usage(String),
    #[error("audit chain broken at row {seq}: {reason}")]
    AuditBroken { seq: i64, reason: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Document(#[from] kitakontor_docs::DocError),
    #[error("{0}")]
    Sync(#[from] kitakontor_sync::SyncError),
}

impl CliError {
    fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::AuditBroken { .. } => 10,
            CliError::Io(_) | CliError::Document(_) => 1,
            CliError::Sync(kitakontor_sync::SyncError::Store(e)) | CliError::Store(e) => store_exit_code(e),
            CliError::Sync(_) => 8,
        }
    }
}

fn store_exit_code(e: &StoreError) -> u8 {
    match e {
        StoreError::NotFound { .. } | StoreError::NoContract { .. } => 3,
        StoreError::City(c) if c.code() == "not_found" => 3,
        StoreError::City(_) => 5,
        StoreError::Denied(_) => 4,
        StoreError::Domain(_) | StoreError::Conflict(_) | StoreError::Import(_) | StoreError::RuleSet(_) | StoreError::Fee(_) => 5,
        StoreError::File { .. } => 1,
        StoreError::Auth(_) => 6,
        StoreError::DatabaseMissing(_)
        | StoreError::DatabaseExists(_)
        | StoreError::KeyMissing(_)
        | StoreError::WrongKey(_)
        | StoreError::CredentialStore(_)
        | StoreError::InvalidKey(_) => 7,
        StoreError::Db(_) | StoreError::Migrate(_) => 1,
    }
}

type Result<T> = std::result::Result<T, CliError>;

/// The whole program; `main.rs` only calls this.
pub fn main() -> ExitCode {
    // Behave like a Unix tool when piped into `head`: end quietly instead of panicking.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("KITAKONTOR_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
    let result = rt.block_on(async {
        let r = run(cli).await;
        close_all().await;
        r
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = e.exit_code();
            let kind = match &e {
                CliError::Store(s) | CliError::Sync(kitakontor_sync::SyncError::Store(s)) => s.code(),
                CliError::Sync(_) => "sync",
                CliError::Usage(_) => "usage",
                CliError::AuditBroken { .. } => "audit_broken",
                CliError::Io(_) => "io",
                CliError::Document(_) => "document",
            };
            eprintln!("Fehler [{kind}]: {e}");
            ExitCode::from(code)
        }
    }
}

fn db_path(cli: &Cli) -> PathBuf {
    cli.db.clone().unwrap_or_else(default_db_path)
}

static KEYRING: KeyringStore = KeyringStore;

fn key_source(cli: &Cli) -> Result<KeySource<'static>> {
    Ok(kitakontor_store::key::key_source(cli.key_file.clone(), &KEYRING)?)
}

pub async fn open(cli: &Cli) -> Result<Store> {
    let path = db_path(cli);
    if !path.exists() {
        return Err(StoreError::DatabaseMissing(path.display().to_string()).into());
    }
    let key = key_source(cli)?.load(&path)?;
    Ok(opened(Store::open(&path, &key).await?))
}

/// Every store this process opened, closed before the process ends: exiting while SQLite's
/// connection threads still run races with the C library's exit handlers (SQLCipher's crypto)
/// and was seen to abort with "double free" on a busy machine.
static OPENED: std::sync::Mutex<Vec<Store>> = std::sync::Mutex::new(Vec::new());

fn opened(store: Store) -> Store {
    OPENED.lock().expect("not poisoned").push(store.clone());
    store
}

async fn close_all() {
    let stores: Vec<Store> = std::mem::take(&mut *OPENED.lock().expect("not poisoned"));
    for s in stores {
        s.close().await;
    }
}

async fn create(cli: &Cli) -> Result<Store> {
    let path = db_path(cli);
    if path.exists() {
        return Err(StoreError::DatabaseExists(path.display().to_string()).into());
    }
    let key = key_source(cli)?.create(&path)?;
    Ok(opened(Store::create(&path, &key).await?))
}

fn secret_from(env: &str, prompt: &str) -> Result<String> {
    if let Ok(v) = std::env::var(env) {
        return Ok(v);
    }
    rpassword::prompt_password(prompt).map_err(|_| CliError::Usage(format!("{env} is not set and no terminal to ask for it")))
}

pub async fn login(cli: &Cli, store: &Store) -> Result<Actor> {
    let user = cli.user.clone().ok_or_else(|| CliError::Usage("log in with --user NAME (or KITAKONTOR_USER)".into()))?;
    let pw = secret_from("KITAKONTOR_PASSWORD", &format!("Passwort für {user}: "))?;
    Ok(store.login(&user, &pw).await?)
}

pub(crate) fn parse_id<T: std::str::FromStr>(what: &str, s: &str) -> Result<T> {
    s.trim().parse().map_err(|_| CliError::Usage(format!("'{s}' is not a valid {what} id (UUID)")))
}

pub(crate) fn parse_date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s.trim(), "%d.%m.%Y"))
        .map_err(|_| CliError::Usage(format!("'{s}' is not a date (YYYY-MM-DD or TT.MM.JJJJ)")))
}

fn parse_hours(s: &str) -> Result<CareHours> {
    s.parse::<CareHours>().map_err(|e| CliError::Store(e.into()))
}

fn role(r: RoleArg) -> Role {
    match r {
        RoleArg::ProviderAdmin => Role::ProviderAdmin,
        RoleArg::Director => Role::Director,
        RoleArg::Office => Role::Office,
        RoleArg::Educator => Role::Educator,
        RoleArg::TechAdmin => Role::TechAdmin,
    }
}

pub(crate) async fn facility(store: &Store, actor: &Actor, arg: &Option<String>) -> Result<FacilityId> {
    match arg {
        Some(s) => parse_id("facility", s),
        None => Ok(store.default_facility(actor).await?),
    }
}

async fn user_id(store: &Store, username: &str) -> Result<UserId> {
    store
        .list_accounts()
        .await?
        .into_iter()
        .find(|a| a.username == username)
        .map(|a| a.user_id)
        .ok_or_else(|| StoreError::NotFound { what: "user", id: username.to_string() }.into())
}

pub(crate) fn new_id() -> Uuid {
    Uuid::now_v7()
}

async fn run(cli: Cli) -> Result<()> {
    let out = Out { json: cli.json };
    match &cli.command {
        Cmd::Init(a) => {
            let pw = secret_from("KITAKONTOR_PASSWORD", &format!("Neues Passwort für {}: ", a.admin_user))?;
            let store = create(&cli).await?;
            let fid = FacilityId(new_id());
            let mut capacities = Vec::new();
            for (ct, n) in
                [(CareType::Nursery, a.nursery), (CareType::Kindergarten, a.kindergarten), (CareType::AfterSchool, a.after_school)]
            {
                if n > 0 {
                    capacities.push((ct, n));
                }
            }
            let facility = c::UpsertFacility {
                facility_id: fid,
                provider_id: ProviderId(new_id()),
                provider_name: a.provider.clone(),
                name: a.facility.clone(),
                profile: String::new(),
                address: Address::default(),
                municipality: a.municipality.clone(),
                capacities,
            };
            let user = c::CreateUser {
                user_id: UserId(new_id()),
                username: a.admin_user.clone(),
                display_name: a.admin_name.clone(),
                role: Role::Director,
                facility_id: Some(fid),
            };
            let r = store.create_first_user(Some(facility), user, &pw).await;
            if let Err(e) = r {
                // Nothing half-made: remove the new, still empty file so `init` can be repeated.
                store.close().await;
                let path = db_path(&cli);
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
                return Err(e.into());
            }
            out.value(
                &serde_json::json!({ "database": db_path(&cli), "facility_id": fid }),
                &format!("Datenbank angelegt: {} (Einrichtung {fid})", db_path(&cli).display()),
            );
            Ok(())
        }
        Cmd::Demo { seed } => {
            let store = create(&cli).await?;
            let t = std::time::Instant::now();
            let summary = store.seed_demo(*seed).await?;
            out.demo(&summary, db_path(&cli).display().to_string(), t.elapsed());
            Ok(())
        }
        Cmd::Users(u) => users(&cli, &out, u).await,
        Cmd::Children(cmd) => children(&cli, &out, cmd).await,
        Cmd::Applications(cmd) => applications(&cli, &out, cmd).await,
        Cmd::Reservations(cmd) => {
            let store = open(&cli).await?;
            let actor = login(&cli, &store).await?;
            let r = match cmd {
                ReservationsCmd::Cancel { reservation, reason } => {
                    store
                        .execute(
                            &actor,
                            c::CancelReservation { reservation_id: parse_id("reservation", reservation)?, reason: reason.clone() }.into(),
                        )
                        .await?
                }
                ReservationsCmd::Expire { reservation } => {
                    store.execute(&actor, c::ExpireReservation { reservation_id: parse_id("reservation", reservation)? }.into()).await?
                }
            };
            out.receipt(&r, "Reservierung aktualisiert");
            Ok(())
        }
        Cmd::Contracts(cmd) => contracts(&cli, &out, cmd).await,
        Cmd::Attendance(cmd) => attendance(&cli, &out, cmd).await,
        Cmd::Occupancy { facility: f, months, from } => {
            let store = open(&cli).await?;
            let actor = login(&cli, &store).await?;
            let fid = facility(&store, &actor, f).await?;
            let from = from.as_deref().map(parse_date).transpose()?.unwrap_or_else(|| store.now().date_naive());
            if *months == 0 || *months > 60 {
                return Err(CliError::Usage("--months must be 1 to 60".into()));
            }
            let fc = store.occupancy(&actor, fid, from, *months).await?;
            out.forecast(&fc);
            Ok(())
        }
        Cmd::Tickets(cmd) => tickets(&cli, &out, cmd).await,
        Cmd::Audit(AuditCmd::Verify) => {
            let store = open(&cli).await?;
            let actor = login(&cli, &store).await?;
            kitakontor_core::permission::authorize(
                &actor,
                kitakontor_core::permission::Permission::VerifyAudit,
                kitakontor_core::permission::Scope::Global,
            )
            .map_err(StoreError::from)?;
            let report = store.verify_audit().await?;
            out.audit(&report);
            match report.first_broken {
                Some(b) => Err(CliError::AuditBroken { seq: b.seq, reason: b.reason }),
                None => Ok(()),
            }
        }
        Cmd::Export(ExportCmd::Family { child, out: file }) => {
            let store = open(&cli).await?;
            let actor = login(&cli, &store).await?;
            let v = store.export_family(&actor, parse_id("child", child)?).await?;
            let text = serde_json::to_string_pretty(&v).expect("json");
            match file {
                Some(p) => {
                    std::fs::write(p, text)?;
                    out.line(&format!("Export geschrieben: {}", p.display()));
                }
                None => println!("{text}"),
            }
            Ok(())
        }
        Cmd::Sync(cmd) => sync::sync(&cli, &out, cmd).await,
        Cmd::Billing(cmd) => billing::billing(&cli, &out, cmd).await,
        Cmd::Print(cmd) => billing::print(&cli, &out, cmd).await,
        Cmd::Rules(cmd) => billing::rules(&cli, &out, cmd).await,
        Cmd::Mandates(cmd) => billing::mandates(&cli, &out, cmd).await,
        Cmd::Outbox => {
            let store = open(&cli).await?;
            let s = store.outbox_stats().await?;
            out.value(&s, &format!("Ausstehende Befehle: {} (letzte Sequenznummer {})", s.pending, s.last_seq));
            Ok(())
        }
        Cmd::Bench(a) => match a.what {
            BenchWhat::Search => bench::run(&out, a).await,
            BenchWhat::Billing => bench_billing::run(&out, a).await,
            BenchWhat::SyncPush | BenchWhat::SyncInitial | BenchWhat::HubLoad => bench_sync::run(&out, a).await,
        },
        Cmd::Stress { seed, count } => {
            let store = open(&cli).await?;
            let actor = login(&cli, &store).await?;
            stress::run(&store, &actor, *seed, *count).await
        }
    }
}

async fn users(cli: &Cli, out: &Out, cmd: &UsersCmd) -> Result<()> {
    let store = open(cli).await?;
    if let UsersCmd::List = cmd {
        // The login screen's list of names: shown before anyone logs in.
        out.accounts(&store.list_accounts().await?);
        return Ok(());
    }
    let actor = login(cli, &store).await?;
    match cmd {
        UsersCmd::List => unreachable!("handled above"),
        UsersCmd::Add { username, name, role: r, facility: f, group } => {
            let pw = secret_from("KITAKONTOR_NEW_PASSWORD", &format!("Passwort für {username}: "))?;
            let fid = match (f, actor.facility_id) {
                (Some(s), _) => Some(parse_id("facility", s)?),
                (None, own) => own,
            };
            let uid = UserId(new_id());
            let mut batch = vec![(
                c::CreateUser { user_id: uid, username: username.clone(), display_name: name.clone(), role: role(*r), facility_id: fid }
                    .into(),
                Some(pw),
            )];
            for g in group {
                batch.push((c::AssignStaff { group_id: parse_id("group", g)?, user_id: uid }.into(), None));
            }
            store.execute_batch(&actor, batch).await?;
            out.line(&format!("Konto {username} angelegt ({uid})"));
        }
        UsersCmd::Role { username, role: r } => {
            let uid = user_id(&store, username).await?;
            let rc = store.execute(&actor, c::SetUserRole { user_id: uid, role: role(*r) }.into()).await?;
            out.receipt(&rc, "Rolle geändert");
        }
        UsersCmd::Deactivate { username } => {
            let uid = user_id(&store, username).await?;
            let rc = store.execute(&actor, c::DeactivateUser { user_id: uid }.into()).await?;
            out.receipt(&rc, "Konto deaktiviert");
        }
        UsersCmd::ResetPassword { username } => {
            let uid = user_id(&store, username).await?;
            let pw = secret_from("KITAKONTOR_NEW_PASSWORD", &format!("Neues Passwort für {username}: "))?;
            let rc = store.execute_secret(&actor, c::ResetPassword { user_id: uid }.into(), Some(&pw)).await?;
            out.receipt(&rc, "Passwort gesetzt");
        }
        UsersCmd::SetPin => {
            let pin = secret_from("KITAKONTOR_NEW_PIN", "Neue PIN (4–8 Ziffern): ")?;
            store.set_own_pin(&actor, &pin).await?;
            out.line("PIN gesetzt");
        }
    }
    Ok(())
}

async fn children(cli: &Cli, out: &Out, cmd: &ChildrenCmd) -> Result<()> {
    let store = open(cli).await?;
    let actor = login(cli, &store).await?;
    match cmd {
        ChildrenCmd::Search { query, facility: f, limit } => {
            let fid = facility(&store, &actor, f).await?;
            out.children(&store.search_children(&actor, fid, query, *limit).await?);
        }
        ChildrenCmd::Show { child } => out.child(&store.child_detail(&actor, parse_id("child", child)?).await?),
        ChildrenCmd::Health { child } => {
            let h = store.child_health(&actor, parse_id("child", child)?).await?;
            let proof = h.measles_proof.map(|d| d.format("%d.%m.%Y").to_string()).unwrap_or_else(|| "FEHLT".into());
            out.value(&h, &format!("Masernschutz: {proof}\nHinweise: {}", if h.health_notes.is_empty() { "–" } else { &h.health_notes }));
        }
        ChildrenCmd::Finance { guardian } => {
            let f = store.guardian_finance(&actor, parse_id("guardian", guardian)?).await?;
            out.value(
                &f,
                &format!(
                    "Einkommen: {}\nIBAN: {}",
                    f.income_cents.map(output::euro).unwrap_or_else(|| "–".into()),
                    f.iban.clone().unwrap_or_else(|| "–".into())
                ),
            );
        }
        ChildrenCmd::Add { first_name, last_name, birth_date, municipality, street, postal_code, city, facility: f, group } => {
            let fid = facility(&store, &actor, f).await?;
            let id = ChildId(new_id());
            let r = store
                .execute(
                    &actor,
                    c::CreateChild {
                        child_id: id,
                        facility_id: fid,
                        group_id: group.as_deref().map(|g| parse_id("group", g)).transpose()?,
                        first_name: first_name.clone(),
                        last_name: last_name.clone(),
                        birth_date: parse_date(birth_date)?,
                        address: Address { street: street.clone(), postal_code: postal_code.clone(), city: city.clone() },
                        municipality: municipality.clone(),
                    }
                    .into(),
                )
                .await?;
            out.created(&r, "Kind angelegt", id);
        }
        ChildrenCmd::SetHealth { child, measles_proof, notes } => {
            let r = store
                .execute(
                    &actor,
                    c::RecordHealth {
                        child_id: parse_id("child", child)?,
                        measles_proof: measles_proof.as_deref().map(parse_date).transpose()?,
                        health_notes: notes.clone(),
                    }
                    .into(),
                )
                .await?;
            out.receipt(&r, "Gesundheitsdaten gespeichert");
        }
        ChildrenCmd::Delete { child } => {
            let r = store.execute(&actor, c::DeleteChild { child_id: parse_id("child", child)? }.into()).await?;
            out.receipt(&r, "Kinderakte gelöscht");
        }
    }
    Ok(())
}

async fn applications(cli: &Cli, out: &Out, cmd: &ApplicationsCmd) -> Result<()> {
    let store = open(cli).await?;
    let actor = login(cli, &store).await?;
    match cmd {
        ApplicationsCmd::List { facility: f } => {
            let fid = facility(&store, &actor, f).await?;
            out.waiting_list(&store.waiting_list(&actor, fid).await?);
        }
        ApplicationsCmd::Submit { child, choices, start, care_type, hours, origin } => {
            let id = ApplicationId(new_id());
            let choices = choices.iter().map(|s| parse_id("facility", s)).collect::<Result<Vec<FacilityId>>>()?;
            let r = store
                .execute(
                    &actor,
                    c::SubmitApplication {
                        application_id: id,
                        child_id: parse_id("child", child)?,
                        choices,
                        wanted_start: parse_date(start)?,
                        care_type: care_type.parse::<CareType>().map_err(StoreError::from)?,
                        care_hours: parse_hours(hours)?,
                        origin: ApplicationOrigin::from_code(origin)
                            .ok_or_else(|| CliError::Usage("--origin must be office, portal or paper".into()))?,
                    }
                    .into(),
                )
                .await?;
            out.created(&r, "Anmeldung erfasst", id);
        }
        ApplicationsCmd::Rank { application, priority } => {
            let r = store
                .execute(
                    &actor,
                    c::SetApplicationPriority { application_id: parse_id("application", application)?, priority: *priority }.into(),
                )
                .await?;
            out.receipt(&r, "Reihenfolge geändert");
        }
        ApplicationsCmd::Reserve { application, facility: f, start } => {
            let app: ApplicationId = parse_id("application", application)?;
            let fid = facility(&store, &actor, f).await?;
            let wl = store.waiting_list(&actor, fid).await?;
            let entry = wl
                .iter()
                .find(|e| e.application_id == app)
                .ok_or_else(|| StoreError::NotFound { what: "application on this waiting list", id: app.to_string() })?;
            let start = start.as_deref().map(parse_date).transpose()?.unwrap_or(entry.wanted_start);
            let id = ReservationId(new_id());
            let r = store
                .execute(&actor, c::ReservePlace { reservation_id: id, application_id: app, facility_id: fid, start_date: start }.into())
                .await?;
            out.created(
                &r,
                &format!(
                    "Platz reserviert bis {} (unbestätigt bis zum Abgleich mit dem Hub)",
                    (store.now() + chrono::Duration::days(7)).with_timezone(&chrono::Local).format("%d.%m.%Y %H:%M")
                ),
                id,
            );
        }
        ApplicationsCmd::Reject { application, reason } => {
            let r = store
                .execute(
                    &actor,
                    c::RejectApplication { application_id: parse_id("application", application)?, reason: reason.clone() }.into(),
                )
                .await?;
            out.receipt(&r, "Anmeldung abgelehnt");
        }
        ApplicationsCmd::Withdraw { application } => {
            let r = store.execute(&actor, c::WithdrawApplication { application_id: parse_id("application", application)? }.into()).await?;
            out.receipt(&r, "Anmeldung zurückgezogen");
        }
    }
    Ok(())
}

async fn contracts(cli: &Cli, out: &Out, cmd: &ContractsCmd) -> Result<()> {
    let store = open(cli).await?;
    let actor = login(cli, &store).await?;
    match cmd {
        ContractsCmd::List { facility: f } => {
            let fid = facility(&store, &actor, f).await?;
            out.contracts(&store.contracts(&actor, fid).await?);
        }
        ContractsCmd::Create { reservation, hours, start, settling_in_weeks } => {
            let res: ReservationId = parse_id("reservation", reservation)?;
            let start = match start {
                Some(s) => parse_date(s)?,
                None => store.reservation_start(res).await?,
            };
            let id = ContractId(new_id());
            let r = store
                .execute(
                    &actor,
                    c::ConcludeContract {
                        contract_id: id,
                        reservation_id: res,
                        start_date: start,
                        care_hours: parse_hours(hours)?,
                        settling_in_weeks: *settling_in_weeks,
                    }
                    .into(),
                )
                .await?;
            out.created(&r, "Vertrag geschlossen", id);
        }
        ContractsCmd::Amend { contract, from, hours, note } => {
            let r = store
                .execute(
                    &actor,
                    c::AmendContract {
                        contract_id: parse_id("contract", contract)?,
                        valid_from: parse_date(from)?,
                        care_hours: parse_hours(hours)?,
                        note: note.clone(),
                    }
                    .into(),
                )
                .await?;
            out.receipt(&r, "Änderung als neue Vertragsversion gespeichert");
        }
        ContractsCmd::Terminate { contract, end, reason } => {
            let r = store
                .execute(
                    &actor,
                    c::TerminateContract {
                        contract_id: parse_id("contract", contract)?,
                        end_date: parse_date(end)?,
                        reason: reason.clone(),
                    }
                    .into(),
                )
                .await?;
            out.receipt(&r, "Kündigung gespeichert");
        }
    }
    Ok(())
}

async fn attendance(cli: &Cli, out: &Out, cmd: &AttendanceCmd) -> Result<()> {
    let store = open(cli).await?;
    let actor = login(cli, &store).await?;
    let now = Utc::now();
    let record = |child: ChildId, date: NaiveDate, kind: AttendanceKind| c::RecordAttendance {
        event_id: AttendanceEventId(new_id()),
        child_id: child,
        date,
        kind,
        at: now,
        corrects: None,
    };
    match cmd {
        AttendanceCmd::Day { date, facility: f } => {
            let fid = facility(&store, &actor, f).await?;
            let day = date.as_deref().map(parse_date).transpose()?.unwrap_or_else(|| store.now().date_naive());
            out.attendance(&store.attendance_day(&actor, fid, day).await?);
        }
        AttendanceCmd::CheckIn { child } => {
            let r =
                store.execute(&actor, record(parse_id("child", child)?, store.now().date_naive(), AttendanceKind::CheckIn).into()).await?;
            out.receipt(&r, "Ankunft erfasst");
        }
        AttendanceCmd::CheckOut { child } => {
            let r =
                store.execute(&actor, record(parse_id("child", child)?, store.now().date_naive(), AttendanceKind::CheckOut).into()).await?;
            out.receipt(&r, "Abholung erfasst");
        }
        AttendanceCmd::Absent { child, kind, date } => {
            let t = match kind {
                AbsenceArg::Sick => AbsenceType::Sick,
                AbsenceArg::Holiday => AbsenceType::Holiday,
                AbsenceArg::Other => AbsenceType::Other,
            };
            let day = date.as_deref().map(parse_date).transpose()?.unwrap_or_else(|| store.now().date_naive());
            let r = store.execute(&actor, record(parse_id("child", child)?, day, AttendanceKind::Absence(t)).into()).await?;
            out.receipt(&r, "Abwesenheit erfasst");
        }
    }
    Ok(())
}

async fn tickets(cli: &Cli, out: &Out, cmd: &TicketsCmd) -> Result<()> {
    let store = open(cli).await?;
    let actor = login(cli, &store).await?;
    match cmd {
        TicketsCmd::List { facility: f } => {
            let fid = facility(&store, &actor, f).await?;
            out.tickets(&store.tickets(&actor, fid).await?);
        }
        TicketsCmd::Request { child, municipality } => {
            let id = TicketId(new_id());
            let r = store
                .execute(
                    &actor,
                    c::RequestTicket { ticket_id: id, child_id: parse_id("child", child)?, home_municipality: municipality.clone() }.into(),
                )
                .await?;
            out.created(&r, "Ticket beantragt", id);
        }
        TicketsCmd::Decide { ticket, approve, deny: _, reference } => {
            let r = store
                .execute(
                    &actor,
                    c::RecordTicketDecision { ticket_id: parse_id("ticket", ticket)?, approved: *approve, reference: reference.clone() }
                        .into(),
                )
                .await?;
            out.receipt(&r, if *approve { "Ticket genehmigt" } else { "Ticket abgelehnt" });
        }
    }
    Ok(())
}
