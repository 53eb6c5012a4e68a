//! Shared helpers of the hub's tests: a hub on a fresh PostgreSQL cluster with a manual clock,
//! facilities, enrolled devices that keep their sequence and record versions like a desktop,
//! and command builders.
#![allow(dead_code)]

use chrono::{DateTime, Duration, NaiveDate, Utc};
use kitakontor_core::application::ApplicationOrigin;
use kitakontor_core::care::CareType;
use kitakontor_core::command::{self as c, Command, SCHEMA_VERSION};
use kitakontor_core::ids::*;
use kitakontor_core::person::Address;
use kitakontor_core::protocol::*;
use kitakontor_hub::testing::{ManualClock, TestPostgres};
use kitakontor_hub::{DeviceAuth, Hub};
use std::collections::BTreeMap;
use uuid::Uuid;

pub const PROVIDER: ProviderId = ProviderId(Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_00a1));
pub const OTHER_PROVIDER: ProviderId = ProviderId(Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_00a2));
pub const FAC_A: FacilityId = FacilityId(Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_00f1));
pub const FAC_B: FacilityId = FacilityId(Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_00f2));
pub const FAC_C: FacilityId = FacilityId(Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_00f3));

pub struct Env {
    pub hub: Hub,
    pub clock: ManualClock,
    // Last: the cluster stops after the pool is gone.
    pub pg: TestPostgres,
}

pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-24T09:00:00Z").unwrap().with_timezone(&Utc)
}

pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A hub on its own PostgreSQL cluster, schema migrated, clock at `start_time()`.
pub async fn env() -> Env {
    let pg = TestPostgres::start().expect("a PostgreSQL cluster for the test");
    let url = pg.create_database("hub").await.expect("create database");
    let clock = ManualClock::new(start_time());
    let hub = Hub::connect(&url).await.expect("connect + migrate").with_clock(clock.clock());
    Env { hub, clock, pg }
}

pub fn facility(id: FacilityId, provider: ProviderId, name: &str, nursery: u32, kindergarten: u32) -> c::UpsertFacility {
    c::UpsertFacility {
        facility_id: id,
        provider_id: provider,
        provider_name: if provider == PROVIDER { "Eigenbetrieb Kindertagesstätten Leipzig".into() } else { "Freier Träger e. V.".into() },
        name: name.into(),
        profile: String::new(),
        address: Address { street: "Hauptstraße 1".into(), postal_code: "04109".into(), city: "Leipzig".into() },
        municipality: "Leipzig".into(),
        capacities: vec![(CareType::Nursery, nursery), (CareType::Kindergarten, kindergarten)],
    }
}

/// Facilities A and B (provider 1), C (provider 2).
pub async fn city(hub: &Hub) {
    hub.upsert_facility(facility(FAC_A, PROVIDER, "Kita Sonnenblume", 2, 3)).await.unwrap();
    hub.upsert_facility(facility(FAC_B, PROVIDER, "Kita Regenbogen", 4, 5)).await.unwrap();
    hub.upsert_facility(facility(FAC_C, OTHER_PROVIDER, "Kita Pusteblume", 1, 1)).await.unwrap();
}

/// A desktop as the hub sees it: its next `client_seq` and the record versions it knows.
#[derive(Clone)]
pub struct Device {
    pub auth: DeviceAuth,
    pub tokens: Tokens,
    pub next_seq: i64,
    pub versions: BTreeMap<String, i64>,
    pub user: UserId,
}

pub async fn enrol(hub: &Hub, facility: FacilityId, name: &str) -> Device {
    let code = hub.create_enrolment_code(facility, Duration::hours(72)).await.unwrap();
    let reply = hub.enrol(EnrolRequest { code, device_name: name.into() }).await.unwrap();
    assert_eq!(reply.facility_id, facility);
    Device {
        auth: DeviceAuth { device_id: reply.device_id, facility_id: reply.facility_id, provider_id: reply.provider_id },
        tokens: reply.tokens,
        next_seq: 1,
        versions: BTreeMap::new(),
        user: UserId(Uuid::now_v7()),
    }
}

impl Device {
    /// The next command of the outbox, with base versions of `refs` as this device knows them.
    pub fn command(&mut self, command: impl Into<Command>, refs: &[String]) -> PushCommand {
        let base = refs.iter().map(|r| (r.clone(), self.versions.get(r).copied().unwrap_or(0))).collect();
        let pc = PushCommand {
            client_seq: self.next_seq,
            command_id: CommandId(Uuid::now_v7()),
            schema_version: SCHEMA_VERSION,
            user_id: self.user,
            created_at: start_time(),
            command: Some(command.into()),
            base_versions: base,
            secret_hash: None,
        };
        self.next_seq += 1;
        pc
    }

    pub fn request(&self, commands: Vec<PushCommand>) -> PushRequest {
        PushRequest {
            device_id: self.auth.device_id,
            from_seq: commands.first().map(|c| c.client_seq).unwrap_or(self.next_seq),
            commands,
            audit_head: None,
        }
    }

    /// Pushes and notes the versions of applied commands.
    pub async fn push(&mut self, hub: &Hub, commands: Vec<PushCommand>) -> Vec<Outcome> {
        let reply = hub.push(&self.auth, self.request(commands)).await.unwrap();
        self.learn(&reply);
        reply.results.into_iter().map(|r| r.outcome).collect()
    }

    pub fn learn(&mut self, reply: &PushReply) {
        for r in &reply.results {
            if let Outcome::Applied { versions } = &r.outcome {
                self.versions.extend(versions.clone());
            }
        }
    }

    /// One command, pushed alone.
    pub async fn send(&mut self, hub: &Hub, command: impl Into<Command>, refs: &[String]) -> Outcome {
        let pc = self.command(command, refs);
        self.push(hub, vec![pc]).await.remove(0)
    }

    /// Pulls everything new from `cursor` in pages of `limit`; returns the entries and the cursor.
    pub async fn pull_all(&self, hub: &Hub, cursor: &Cursor, limit: usize) -> (Vec<LogEntry>, Cursor) {
        let mut cursor = cursor.clone();
        let mut all = Vec::new();
        loop {
            let page = hub.pull(&self.auth, &cursor, limit).await.unwrap();
            all.extend(page.entries);
            cursor = page.next_cursor;
            if !page.more {
                return (all, cursor);
            }
        }
    }
}

pub fn r(kind: &str, id: impl std::fmt::Display) -> String {
    format!("{kind}:{id}")
}

pub fn new_child(facility: FacilityId, first: &str, last: &str) -> c::CreateChild {
    c::CreateChild {
        child_id: ChildId(Uuid::now_v7()),
        facility_id: facility,
        group_id: None,
        first_name: first.into(),
        last_name: last.into(),
        birth_date: day(2024, 3, 1),
        address: Address { street: "Nebenweg 2".into(), postal_code: "04109".into(), city: "Leipzig".into() },
        municipality: "Leipzig".into(),
    }
}

pub fn new_application(child: ChildId, choices: Vec<FacilityId>, care_type: CareType) -> c::SubmitApplication {
    c::SubmitApplication {
        application_id: ApplicationId(Uuid::now_v7()),
        child_id: child,
        choices,
        wanted_start: day(2027, 8, 1),
        care_type,
        care_hours: "9".parse().unwrap(),
        origin: ApplicationOrigin::Office,
    }
}

pub fn reserve(application: ApplicationId, facility: FacilityId) -> c::ReservePlace {
    c::ReservePlace {
        reservation_id: ReservationId(Uuid::now_v7()),
        application_id: application,
        facility_id: facility,
        start_date: day(2027, 8, 1),
    }
}

pub fn conclude(reservation: ReservationId) -> c::ConcludeContract {
    c::ConcludeContract {
        contract_id: ContractId(Uuid::now_v7()),
        reservation_id: reservation,
        start_date: day(2027, 8, 1),
        care_hours: "9".parse().unwrap(),
        settling_in_weeks: 4,
    }
}

/// A child with an open nursery application in the device's facility.
pub async fn child_with_application(d: &mut Device, hub: &Hub, first: &str) -> (ChildId, ApplicationId) {
    let child = new_child(d.auth.facility_id, first, "Beispiel");
    let child_id = child.child_id;
    assert!(d.send(hub, child, &[r("child", child_id)]).await.is_applied());
    let app = new_application(child_id, vec![d.auth.facility_id], CareType::Nursery);
    let app_id = app.application_id;
    assert!(d.send(hub, app, &[r("application", app_id), r("child", child_id)]).await.is_applied());
    (child_id, app_id)
}

/// Reserves a place for the application; returns the outcome and the reservation id.
pub async fn try_reserve(d: &mut Device, hub: &Hub, app: ApplicationId) -> (Outcome, ReservationId) {
    let res = reserve(app, d.auth.facility_id);
    let id = res.reservation_id;
    (d.send(hub, res, &[r("reservation", id), r("application", app)]).await, id)
}

pub fn rejected_code(o: &Outcome) -> Option<&str> {
    match o {
        Outcome::Rejected { code, .. } => Some(code.as_str()),
        _ => None,
    }
}

pub async fn log_rows(hub: &Hub) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM log").fetch_one(hub.pool()).await.unwrap()
}

/// The hub's router on an ephemeral port of 127.0.0.1 (plain HTTP), stopped gracefully.
pub struct Server {
    pub base: String,
    pub client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

pub async fn serve(e: &Env) -> Server {
    // reqwest is built with rustls but no crypto provider in the workspace (the sync client
    // installs ring itself); the tests' client needs one too.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(kitakontor_hub::server::serve_plain(listener, e.hub.clone(), async move {
        let _ = stopped.await;
    }));
    Server { base, client: reqwest::Client::new(), stop: Some(stop), task }
}

impl Server {
    /// Graceful shutdown; returns when the server has finished.
    pub async fn stop(mut self) {
        let _ = self.stop.take().expect("running").send(());
        self.task.await.unwrap().unwrap();
    }
}
