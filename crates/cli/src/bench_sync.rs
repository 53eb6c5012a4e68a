//! Sync benchmarks against a running hub (`scripts/bench-sync.sh` starts one):
//!
//! - `--what sync-push`: a PC records `--commands` (default 1,000) commands offline, then one
//!   sync pushes them all and pulls them back; prints the push and the whole round.
//! - `--what sync-initial`: a PC creates `--rows` (default 50,000) records and pushes them;
//!   then a fresh PC enrols and does its first sync (snapshot + replay into its encrypted
//!   database); prints rows per second.
//! - `--what hub-load`: the load generator: `--devices` (default 500) simulated PCs push
//!   attendance in small batches at the same time, over HTTP; prints commands per second and
//!   the latency of a push (p50/p99).
//!
//! Enrolment codes come from `--codes-file` (one per line, `kitakontor-hub enrol-code --count`);
//! the hub's facility is `--facility` with provider `--provider`.

use crate::output::Out;
use crate::{BenchArgs, CliError, Result};
use chrono::{NaiveDate, Utc};
use kitakontor_core::attendance::AttendanceKind;
use kitakontor_core::care::CareType;
use kitakontor_core::command::{self as c, Command, SCHEMA_VERSION};
use kitakontor_core::ids::*;
use kitakontor_core::permission::{Actor, Role};
use kitakontor_core::person::Address;
use kitakontor_core::protocol::{EnrolRequest, PushCommand, PushRequest, Versions};
use kitakontor_store::key::{DbKey, MemoryStore};
use kitakontor_store::Store;
use kitakontor_sync::http::HttpTransport;
use kitakontor_sync::{SyncEngine, SyncReport, TokenStore, Transport};
use serde::Serialize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use uuid::Uuid;

struct Codes(Mutex<std::vec::IntoIter<String>>);

impl Codes {
    fn next(&self) -> Result<String> {
        self.0.lock().expect("codes").next().ok_or_else(|| CliError::Usage("--codes-file hat zu wenige Anmeldecodes".into()))
    }
}

fn arg<'a, T>(v: &'a Option<T>, name: &str) -> Result<&'a T> {
    v.as_ref().ok_or_else(|| CliError::Usage(format!("--what sync-*/hub-load braucht --{name}")))
}

pub async fn run(out: &Out, a: &BenchArgs) -> Result<()> {
    let hub = arg(&a.hub, "hub")?.clone();
    let text = std::fs::read_to_string(arg(&a.codes_file, "codes-file")?)?;
    let codes =
        Arc::new(Codes(Mutex::new(text.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect::<Vec<_>>().into_iter())));
    let facility: FacilityId = crate::parse_id("facility", arg(&a.facility, "facility")?)?;
    let provider: ProviderId = crate::parse_id("provider", arg(&a.provider, "provider")?)?;
    let dir = std::env::temp_dir().join(format!("kitakontor-bench-sync-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir)?;
    let target = Target { hub: &hub, codes: &codes, facility, provider, dir: &dir };
    let result = match a.what {
        crate::args::BenchWhat::SyncPush => push(out, a, &target).await,
        crate::args::BenchWhat::SyncInitial => initial(out, a, &target).await,
        _ => load(out, a, &hub, &codes, facility).await,
    };
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Where the benchmark's PCs enrol.
struct Target<'a> {
    hub: &'a str,
    codes: &'a Codes,
    facility: FacilityId,
    provider: ProviderId,
    dir: &'a std::path::Path,
}

/// A PC (with its director when `with_user`), enrolled at the hub.
async fn pc(t: &Target<'_>, name: &str, with_user: bool) -> Result<(SyncEngine<HttpTransport>, Actor)> {
    let (hub, codes, facility, provider, dir) = (t.hub, t.codes, t.facility, t.provider, t.dir);
    let store = Store::create(&dir.join(format!("{name}.db")), &DbKey::generate()).await?;
    let uid = UserId(Uuid::now_v7());
    if with_user {
        store
            .create_first_user(
                Some(c::UpsertFacility {
                    facility_id: facility,
                    provider_id: provider,
                    provider_name: "Träger".into(),
                    name: "Kita Messung".into(),
                    profile: String::new(),
                    address: Address::default(),
                    municipality: "Leipzig".into(),
                    capacities: vec![(CareType::Nursery, 100), (CareType::Kindergarten, 200)],
                }),
                c::CreateUser {
                    user_id: uid,
                    username: format!("leitung-{name}"),
                    display_name: "Leitung".into(),
                    role: Role::Director,
                    facility_id: Some(facility),
                },
                "sehr-geheimes-passwort",
            )
            .await?;
    }
    let engine = SyncEngine::new(
        store,
        HttpTransport::new(hub).map_err(kitakontor_sync::SyncError::from)?,
        TokenStore::new(Arc::new(MemoryStore::default())),
    );
    engine.enrol(hub, &codes.next()?, name, None).await?;
    Ok((engine, Actor { user_id: uid, role: Role::Director, facility_id: Some(facility), groups: vec![] }))
}

/// `n` commands: children, each followed by attendance events (one new row per command).
fn workload(facility: FacilityId, n: usize) -> Vec<(Command, Option<String>)> {
    let mut out = Vec::with_capacity(n);
    let today = Utc::now().date_naive();
    let mut child = ChildId(Uuid::now_v7());
    for i in 0..n {
        if i % 5 == 0 {
            child = ChildId(Uuid::now_v7());
            out.push((
                c::CreateChild {
                    child_id: child,
                    facility_id: facility,
                    group_id: None,
                    first_name: format!("Kind{i}"),
                    last_name: "Messung".into(),
                    // Spread over six years: the hub compares a new child with the children of
                    // its birth date (duplicate proposals), and 10,000 on 12 dates made that quadratic.
                    birth_date: NaiveDate::from_ymd_opt(2020, 1, 1).expect("date") + chrono::Days::new((i as u64 / 5) % 2190),
                    address: Address::default(),
                    municipality: "Leipzig".into(),
                }
                .into(),
                None,
            ));
        } else {
            out.push((
                c::RecordAttendance {
                    event_id: AttendanceEventId(Uuid::now_v7()),
                    child_id: child,
                    date: today - chrono::Duration::days(i as i64 % 30),
                    kind: AttendanceKind::CheckIn,
                    at: Utc::now(),
                    corrects: None,
                }
                .into(),
                None,
            ));
        }
    }
    out
}

async fn record_offline(engine: &SyncEngine<HttpTransport>, actor: &Actor, commands: Vec<(Command, Option<String>)>) -> Result<f64> {
    let t = Instant::now();
    for chunk in commands.chunks(1000) {
        engine.store().execute_batch(actor, chunk.to_vec()).await?;
    }
    Ok(t.elapsed().as_secs_f64())
}

#[derive(Serialize)]
struct PushFigures {
    commands: usize,
    record_offline_s: f64,
    push_s: f64,
    pull_back_s: f64,
    round_s: f64,
}

async fn push(out: &Out, a: &BenchArgs, target: &Target<'_>) -> Result<()> {
    let facility = target.facility;
    let (engine, actor) = pc(target, "push", true).await?;
    // The first sync brings the hub's state; then the line goes down.
    engine.sync_once().await?;
    let n = a.commands as usize;
    let record = record_offline(&engine, &actor, workload(facility, n)).await?;
    let enrolment = engine.store().enrolment().await?.expect("enrolled");
    let mut report = SyncReport::default();
    let t = Instant::now();
    engine.push_all(&enrolment, &mut report).await?;
    let push_s = t.elapsed().as_secs_f64();
    engine.pull_all(&mut report).await?;
    let round_s = t.elapsed().as_secs_f64();
    let f = PushFigures { commands: report.pushed, record_offline_s: record, push_s, pull_back_s: round_s - push_s, round_s };
    engine.store().clone().close().await;
    out.value(
        &f,
        &format!(
            "{} Offline-Befehle (erfasst in {:.2} s)\n  Senden an den Hub: {:.3} s\n  Zurückholen + Einarbeiten: {:.3} s\n  Abgleich gesamt: {:.3} s",
            f.commands, f.record_offline_s, f.push_s, f.pull_back_s, f.round_s
        ),
    );
    Ok(())
}

#[derive(Serialize)]
struct InitialFigures {
    rows: usize,
    ingest_s: f64,
    ingest_commands_per_s: f64,
    initial_sync_s: f64,
    initial_rows_per_s: f64,
    hub_answer_s: f64,
    apply_s: f64,
}

async fn initial(out: &Out, a: &BenchArgs, target: &Target<'_>) -> Result<()> {
    let facility = target.facility;
    let (source, actor) = pc(target, "source", true).await?;
    source.sync_once().await?;
    let rows = a.rows as usize;
    record_offline(&source, &actor, workload(facility, rows)).await?;
    let enrolment = source.store().enrolment().await?.expect("enrolled");
    let t = Instant::now();
    let mut report = SyncReport::default();
    source.push_all(&enrolment, &mut report).await?;
    let ingest = t.elapsed().as_secs_f64();
    source.store().clone().close().await;

    let (fresh, _) = pc(target, "fresh", false).await?;
    let t = Instant::now();
    let mut r = SyncReport::default();
    fresh.pull_all(&mut r).await?;
    let initial = t.elapsed().as_secs_f64();
    fresh.store().clone().close().await;
    let f = InitialFigures {
        rows: r.pulled,
        ingest_s: ingest,
        ingest_commands_per_s: report.pushed as f64 / ingest,
        initial_sync_s: initial,
        initial_rows_per_s: r.pulled as f64 / initial,
        hub_answer_s: r.pull_wait.as_secs_f64(),
        apply_s: r.apply.as_secs_f64(),
    };
    out.value(
        &f,
        &format!(
            "Hub aufgefüllt: {} Befehle in {:.2} s ({:.0}/s)\nErster Abgleich eines neuen PCs: {} Einträge in {:.2} s = {:.0} Zeilen/s\n  davon Schnappschuss empfangen und eingearbeitet (gleichzeitig) {:.2} s, Nachfrage beim Hub danach {:.2} s",
            report.pushed, f.ingest_s, f.ingest_commands_per_s, f.rows, f.initial_sync_s, f.initial_rows_per_s, f.apply_s, f.hub_answer_s
        ),
    );
    Ok(())
}

#[derive(Serialize)]
struct LoadFigures {
    devices: usize,
    offered_per_s: u32,
    batch: usize,
    pushes: usize,
    commands: usize,
    seconds: f64,
    commands_per_s: f64,
    push_p50_ms: f64,
    push_p99_ms: f64,
    errors: usize,
}

/// The load generator: simulated PCs speak the protocol over HTTP without a local database.
async fn load(out: &Out, a: &BenchArgs, hub: &str, codes: &Arc<Codes>, facility: FacilityId) -> Result<()> {
    let devices = a.devices as usize;
    let batch = a.batch as usize;
    let pushes_per_device = a.pushes as usize;
    let transport = HttpTransport::new(hub).map_err(kitakontor_sync::SyncError::from)?;
    // Enrol and give every simulated PC five children (not timed).
    let mut sims = Vec::with_capacity(devices);
    for i in 0..devices {
        let reply = transport
            .enrol(&EnrolRequest { code: codes.next()?, device_name: format!("Last-PC {i}") })
            .await
            .map_err(kitakontor_sync::SyncError::from)?;
        let children: Vec<ChildId> = (0..5).map(|_| ChildId(Uuid::now_v7())).collect();
        let commands: Vec<PushCommand> = children
            .iter()
            .enumerate()
            .map(|(k, &child)| {
                command(
                    k as i64 + 1,
                    c::CreateChild {
                        child_id: child,
                        facility_id: facility,
                        group_id: None,
                        first_name: format!("Last{i}x{k}"),
                        last_name: "Generator".into(),
                        // Spread over six years (from the id's random bits): children of one birth
                        // date with names that sound alike are duplicate proposals (hub
                        // `duplicates`), and 2,500 of them on one date made the setup quadratic.
                        birth_date: NaiveDate::from_ymd_opt(2020, 1, 1).expect("date")
                            + chrono::Days::new((child.0.as_u128() % 2190) as u64),
                        address: Address::default(),
                        municipality: "Leipzig".into(),
                    }
                    .into(),
                    &format!("child:{child}"),
                    0,
                )
            })
            .collect();
        let req = PushRequest { device_id: reply.device_id, from_seq: 1, commands, audit_head: None };
        transport.push(&reply.tokens.access_token, &req).await.map_err(kitakontor_sync::SyncError::from)?;
        sims.push((reply.device_id, reply.tokens.access_token, children));
    }
    // Open loop: each PC sends on its own clock (offered load `rate`), like real PCs that do
    // not wait for each other; closed loop (rate 0): each PC sends again as soon as answered.
    let interval = (a.rate > 0).then(|| std::time::Duration::from_secs_f64((devices * batch) as f64 / a.rate as f64));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(devices * pushes_per_device)));
    let errors = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, (device, token, children)) in sims.into_iter().enumerate() {
        let (transport, latencies, errors) = (transport.clone(), latencies.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut seq = 6;
            let mut ticks = interval.map(|iv| {
                // Spread the PCs' first sends over one interval.
                let start = tokio::time::Instant::now() + iv.mul_f64(i as f64 / devices as f64);
                let mut t = tokio::time::interval_at(start, iv);
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                t
            });
            for p in 0..pushes_per_device {
                if let Some(t) = ticks.as_mut() {
                    t.tick().await;
                }
                let commands: Vec<PushCommand> = (0..batch)
                    .map(|k| {
                        let child = children[(p * batch + k) % children.len()];
                        let cmd: Command = c::RecordAttendance {
                            event_id: AttendanceEventId(Uuid::now_v7()),
                            child_id: child,
                            date: Utc::now().date_naive(),
                            kind: AttendanceKind::CheckIn,
                            at: Utc::now(),
                            corrects: None,
                        }
                        .into();
                        let pc = command(seq, cmd, &format!("child:{child}"), 1);
                        seq += 1;
                        pc
                    })
                    .collect();
                let req = PushRequest { device_id: device, from_seq: commands[0].client_seq, commands, audit_head: None };
                let t = Instant::now();
                match transport.push(&token, &req).await {
                    Ok(_) => latencies.lock().expect("latencies").push(t.elapsed().as_secs_f64() * 1000.0),
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut lat = latencies.lock().expect("latencies").clone();
    lat.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    let pushes = lat.len();
    let pct = |p: f64| if lat.is_empty() { 0.0 } else { lat[((lat.len() as f64 - 1.0) * p).round() as usize] };
    let f = LoadFigures {
        devices,
        offered_per_s: a.rate,
        batch,
        pushes,
        commands: pushes * batch,
        seconds,
        commands_per_s: (pushes * batch) as f64 / seconds,
        push_p50_ms: pct(0.5),
        push_p99_ms: pct(0.99),
        errors: errors.load(Ordering::Relaxed),
    };
    out.value(
        &f,
        &format!(
            "{} PCs gleichzeitig, je {} Befehle pro Sendung, angeboten: {}: {} Sendungen, {} Befehle in {:.2} s\n  Durchsatz: {:.0} Befehle/s\n  Dauer einer Sendung: p50 {:.1} ms  p99 {:.1} ms\n  Fehler: {}",
            f.devices, f.batch, if f.offered_per_s == 0 { "so viel wie geht".to_string() } else { format!("{} Befehle/s", f.offered_per_s) },
            f.pushes, f.commands, f.seconds, f.commands_per_s, f.push_p50_ms, f.push_p99_ms, f.errors
        ),
    );
    Ok(())
}

fn command(seq: i64, command: Command, record: &str, base: i64) -> PushCommand {
    PushCommand {
        client_seq: seq,
        command_id: CommandId(Uuid::now_v7()),
        schema_version: SCHEMA_VERSION,
        user_id: UserId(Uuid::nil()),
        created_at: Utc::now(),
        command: Some(command),
        base_versions: Versions::from([(record.to_string(), base)]),
        secret_hash: None,
    }
}
