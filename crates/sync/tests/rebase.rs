//! The store's rebase (undo pending → replay the hub's log → redo pending) through the engine,
//! against `LogHub`, a deliberately simple stand-in that applies every command and keeps one
//! log. It isolates the client side; the real hub with PostgreSQL is exercised by the hub's
//! tests and the simulation (`tests/sync_sim.rs` at the workspace root).

use chrono::{DateTime, NaiveDate, Utc};
use kitakontor_core::care::CareType;
use kitakontor_core::command::{self as c, Command};
use kitakontor_core::ids::*;
use kitakontor_core::permission::{Actor, Role};
use kitakontor_core::person::Address;
use kitakontor_core::protocol::*;
use kitakontor_store::key::{DbKey, MemoryStore};
use kitakontor_store::sync::Enrolment;
use kitakontor_store::Store;
use kitakontor_sync::transport::TResult;
use kitakontor_sync::{SyncEngine, TokenStore, Transport, TransportError};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

#[derive(Default)]
struct LogState {
    log: Vec<LogEntry>,
    results: BTreeMap<(DeviceId, i64), CommandResult>,
    versions: Versions,
}

#[derive(Clone, Default)]
struct LogHub(Arc<Mutex<LogState>>);

impl Transport for LogHub {
    async fn enrol(&self, _: &EnrolRequest) -> TResult<EnrolReply> {
        Err(TransportError::Refused("not here".into()))
    }
    async fn refresh(&self, _: &RefreshRequest) -> TResult<Tokens> {
        Err(TransportError::Refused("not here".into()))
    }
    async fn push(&self, _: &str, req: &PushRequest) -> TResult<PushReply> {
        let mut s = self.0.lock().unwrap();
        let mut results = vec![];
        for pc in &req.commands {
            if let Some(r) = s.results.get(&(req.device_id, pc.client_seq)) {
                results.push(r.clone());
                continue;
            }
            let mut versions = Versions::new();
            for r in pc.base_versions.keys() {
                let v = s.versions.get(r).copied().unwrap_or(0) + 1;
                s.versions.insert(r.clone(), v);
                versions.insert(r.clone(), v);
            }
            if let Some(cmd) = &pc.command {
                let seq = s.log.len() as i64 + 1;
                s.log.push(LogEntry {
                    seq,
                    origin: Origin::Device { device_id: req.device_id, client_seq: pc.client_seq, command_id: pc.command_id },
                    user_id: Some(pc.user_id),
                    hub_time: DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z").unwrap().with_timezone(&Utc),
                    command: cmd.clone(),
                    versions: versions.clone(),
                    secret_hash: pc.secret_hash.clone(),
                    facility_id: None,
                    provider_id: None,
                });
            }
            let r = CommandResult { client_seq: pc.client_seq, command_id: pc.command_id, outcome: Outcome::Applied { versions } };
            s.results.insert((req.device_id, pc.client_seq), r.clone());
            results.push(r);
        }
        Ok(PushReply { results, acked_seq: 0 })
    }
    async fn pull(&self, _: &str, cursor: &Cursor, limit: usize) -> TResult<PullReply> {
        let s = self.0.lock().unwrap();
        let from: usize = cursor.0.parse().unwrap_or(0);
        let entries: Vec<LogEntry> = s.log.iter().skip(from).take(limit).cloned().collect();
        let next = from + entries.len();
        Ok(PullReply { more: next < s.log.len(), next_cursor: Cursor(next.to_string()), entries, acked_seq: 0 })
    }
    async fn snapshot(&self, _: &str) -> TResult<(SnapshotHeader, Vec<LogEntry>)> {
        let s = self.0.lock().unwrap();
        Ok((SnapshotHeader { entries: s.log.len() as u64, cursor: Cursor(s.log.len().to_string()), acked_seq: 0 }, s.log.clone()))
    }
    async fn health(&self) -> TResult<()> {
        Ok(())
    }
}

struct Pc {
    _dir: tempfile::TempDir,
    engine: SyncEngine<LogHub>,
}

const FACILITY: FacilityId = FacilityId(Uuid::from_u128(0xf1));
const PROVIDER: ProviderId = ProviderId(Uuid::from_u128(0xa1));

async fn pc(hub: &LogHub, n: u128) -> Pc {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(&dir.path().join("pc.db"), &DbKey::generate()).await.unwrap();
    let device = DeviceId(Uuid::from_u128(n));
    store
        .set_enrolment(&Enrolment { hub_url: "mem:".into(), device_id: device, facility_id: FACILITY, provider_id: PROVIDER }, None)
        .await
        .unwrap();
    let tokens = TokenStore::new(Arc::new(MemoryStore::default()));
    tokens
        .set(&Tokens {
            access_token: "a".into(),
            access_expires_at: DateTime::from_timestamp(4_000_000_000, 0).unwrap(),
            refresh_token: "r".into(),
        })
        .unwrap();
    Pc { _dir: dir, engine: SyncEngine::new(store, hub.clone(), tokens) }
}

fn child(first: &str) -> c::CreateChild {
    c::CreateChild {
        child_id: ChildId(Uuid::now_v7()),
        facility_id: FACILITY,
        group_id: None,
        first_name: first.into(),
        last_name: "Müller".into(),
        birth_date: NaiveDate::from_ymd_opt(2024, 3, 1).unwrap(),
        address: Address::default(),
        municipality: "Leipzig".into(),
    }
}

/// A log hub and two PCs of one facility; the facility and its director exist on the first
/// PC only (offline, before its first sync).
async fn two_pcs() -> (LogHub, Pc, Pc, UserId) {
    let hub = LogHub::default();
    let (a, b) = (pc(&hub, 1).await, pc(&hub, 2).await);
    let director = UserId(Uuid::from_u128(0xd1));
    first_director(&a, director).await;
    (hub, a, b, director)
}

async fn first_director(p: &Pc, director: UserId) {
    p.engine
        .store()
        .create_first_user(
            Some(c::UpsertFacility {
                facility_id: FACILITY,
                provider_id: PROVIDER,
                provider_name: "Träger".into(),
                name: "Kita Test".into(),
                profile: String::new(),
                address: Address::default(),
                municipality: "Leipzig".into(),
                capacities: vec![(CareType::Nursery, 3)],
            }),
            c::CreateUser {
                user_id: director,
                username: "leitung".into(),
                display_name: "Leitung".into(),
                role: Role::Director,
                facility_id: Some(FACILITY),
            },
            "sehr-geheimes-passwort",
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn offline_work_of_two_pcs_converges_and_the_outboxes_drain() {
    let (_hub, a, b, director) = two_pcs().await;
    a.engine.sync_once().await.unwrap();
    b.engine.sync_once().await.unwrap();
    // B got the account with its password hash: the director can log in on B.
    let actor: Actor = b.engine.store().actor(director).await.unwrap();
    assert_eq!(actor.role, Role::Director);

    // Both work offline on the same child and on new children.
    let shared = child("Ada");
    a.engine.store().execute(&actor, shared.clone().into()).await.unwrap();
    a.engine.sync_once().await.unwrap();
    b.engine.sync_once().await.unwrap();
    a.engine.store().execute(&actor, child("Bea").into()).await.unwrap();
    b.engine.store().execute(&actor, child("Cem").into()).await.unwrap();
    let rename = |first: Option<&str>, city: Option<&str>| -> Command {
        c::UpdateChild {
            child_id: shared.child_id,
            first_name: first.map(Into::into),
            last_name: None,
            birth_date: None,
            address: city.map(|c| Address { street: "Weg 1".into(), postal_code: "04109".into(), city: c.into() }),
            municipality: None,
            group_id: None,
        }
        .into()
    };
    a.engine.store().execute(&actor, rename(Some("Ada Luise"), None)).await.unwrap();
    b.engine.store().execute(&actor, rename(None, Some("Leipzig"))).await.unwrap();

    for _ in 0..2 {
        b.engine.sync_once().await.unwrap();
        a.engine.sync_once().await.unwrap();
    }
    let sa = a.engine.store().synced_state().await.unwrap();
    let sb = b.engine.store().synced_state().await.unwrap();
    assert_eq!(sa, sb, "both PCs hold the hub's state");
    assert_eq!(sa["children"].len(), 3);
    let ada = sa["children"].iter().find(|r| r.contains(&shared.child_id.to_string())).unwrap();
    assert!(ada.contains("Ada Luise") && ada.contains("04109"), "both offline edits survive: {ada}");
    for p in [&a, &b] {
        let st = p.engine.store().sync_status().await.unwrap();
        assert_eq!((st.pending, st.inbox_open), (0, 0));
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM sync_undo").fetch_one(p.engine.store().pool()).await.unwrap();
        assert_eq!(left, 0, "no undo images once everything is confirmed");
    }
}

/// A page of 1,000 entries or more replays without the undo triggers (`BULK_REPLAY` in the
/// store); they must be back afterwards and record the pending work that is redone on top.
#[tokio::test]
async fn a_large_page_keeps_the_undo_triggers_and_the_pending_work() {
    let (_hub, a, b, director) = two_pcs().await;
    a.engine.sync_once().await.unwrap();
    b.engine.sync_once().await.unwrap();
    let actor: Actor = b.engine.store().actor(director).await.unwrap();
    let triggers = |p: &Pc| {
        let pool = p.engine.store().pool().clone();
        async move {
            let n: i64 =
                sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'undo\\_%' ESCAPE '\\'")
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            n
        }
    };
    let before = triggers(&b).await;
    assert!(before > 30, "undo triggers installed: {before}");

    let many: Vec<(Command, Option<String>)> = (0..1_200).map(|i| (child(&format!("Kind {i}")).into(), None)).collect();
    a.engine.store().execute_batch(&actor, many).await.unwrap();
    a.engine.sync_once().await.unwrap();
    // B works offline, then only pulls: its command is pending while the big page replays.
    let cem = child("Cem");
    b.engine.store().execute(&actor, cem.clone().into()).await.unwrap();
    let mut report = kitakontor_sync::SyncReport::default();
    b.engine.pull_all(&mut report).await.unwrap();
    assert!(report.pulled >= 1_200, "one large page: {}", report.pulled);
    assert_eq!(triggers(&b).await, before, "the triggers are back");
    let images: i64 = sqlx::query_scalar("SELECT count(*) FROM sync_undo WHERE tbl = 'children' AND pk LIKE ?")
        .bind(format!("%{}%", cem.child_id))
        .fetch_one(b.engine.store().pool())
        .await
        .unwrap();
    assert_eq!(images, 1, "the redone pending command recorded its undo image");
    // A later change still undoes and redoes correctly: everything converges.
    b.engine.sync_once().await.unwrap();
    a.engine.sync_once().await.unwrap();
    let sa = a.engine.store().synced_state().await.unwrap();
    let sb = b.engine.store().synced_state().await.unwrap();
    assert_eq!(sa, sb);
    assert_eq!(sa["children"].len(), 1_201);
}

/// A snapshot whose transfer breaks off leaves nothing: not the entries that did arrive, not
/// the cursor. The next round starts the first sync over.
#[tokio::test]
async fn a_broken_snapshot_leaves_nothing_behind() {
    let (hub, a, b, director) = two_pcs().await;
    a.engine.sync_once().await.unwrap();
    let actor: Actor = a.engine.store().actor(director).await.unwrap();
    let kids: Vec<(Command, Option<String>)> = (0..30).map(|i| (child(&format!("Kind {i}")).into(), None)).collect();
    a.engine.store().execute_batch(&actor, kids).await.unwrap();
    a.engine.sync_once().await.unwrap();

    let log = hub.0.lock().unwrap().log.clone();
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    tx.send(log[..20].to_vec()).await.unwrap();
    drop(tx);
    let cursor = Cursor(log.len().to_string());
    let err = b.engine.store().apply_snapshot(log.len() as u64, &mut rx, &cursor).await.unwrap_err();
    assert!(err.to_string().contains("20 von"), "{err}");
    assert_eq!(b.engine.store().sync_cursor().await.unwrap(), Cursor::default(), "the cursor stays at the start");
    assert!(b.engine.store().synced_state().await.unwrap()["children"].is_empty(), "no entry of the broken transfer stays");
    b.engine.sync_once().await.unwrap();
    assert_eq!(b.engine.store().synced_state().await.unwrap()["children"].len(), 30);
}
