//! The city rules on the desktop, end to end against the real hub (HTTP, PostgreSQL): two Kitas
//! of different providers each register a child that is a phonetic duplicate of the other's.
//! PC A gets the proposal into its cache with a sync round, decides offline (no hub call),
//! the next round sends it, the hub has it confirmed and PC B sees that after its round. A
//! decision the other Kita made first the other way is refused: the hub's state stands and the
//! refusal stays on the decision. A decision whose answer was lost is sent again without harm.
//! The registry extract imported on the hub reaches the PC's cache. A failing city step does
//! not fail the round.

use chrono::{Duration, NaiveDate};
use kitakontor_core::care::CareType;
use kitakontor_core::command as c;
use kitakontor_core::ids::*;
use kitakontor_core::permission::{Actor, Role};
use kitakontor_core::person::Address;
use kitakontor_core::protocol::city::{Decision, DuplicateView, MatchStatus, ProposalState, RegistryStatus};
use kitakontor_hub::testing::TestPostgres;
use kitakontor_hub::Hub;
use kitakontor_store::city::ProposalStatus;
use kitakontor_store::key::{DbKey, MemoryStore};
use kitakontor_store::Store;
use kitakontor_sync::http::HttpTransport;
use kitakontor_sync::transport::TResult;
use kitakontor_sync::{SyncEngine, TokenStore, Transport, TransportError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use uuid::Uuid;

const FAC_A: FacilityId = FacilityId(Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0c01));
const FAC_B: FacilityId = FacilityId(Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0c02));

/// The real HTTP transport, with a switch that makes the city endpoints fail (a hub whose
/// `/city/…` answers 500 while push and pull work).
#[derive(Clone)]
struct Net {
    http: HttpTransport,
    city_down: Arc<AtomicBool>,
}

impl Net {
    fn city(&self) -> TResult<()> {
        if self.city_down.load(Ordering::SeqCst) {
            Err(TransportError::Server("Interner Fehler des Hubs".into()))
        } else {
            Ok(())
        }
    }
}

impl Transport for Net {
    async fn enrol(&self, req: &kitakontor_core::protocol::EnrolRequest) -> TResult<kitakontor_core::protocol::EnrolReply> {
        self.http.enrol(req).await
    }
    async fn refresh(&self, req: &kitakontor_core::protocol::RefreshRequest) -> TResult<kitakontor_core::protocol::Tokens> {
        self.http.refresh(req).await
    }
    async fn push(&self, token: &str, req: &kitakontor_core::protocol::PushRequest) -> TResult<kitakontor_core::protocol::PushReply> {
        self.http.push(token, req).await
    }
    async fn pull(
        &self,
        token: &str,
        cursor: &kitakontor_core::protocol::Cursor,
        limit: usize,
    ) -> TResult<kitakontor_core::protocol::PullReply> {
        self.http.pull(token, cursor, limit).await
    }
    async fn snapshot(
        &self,
        token: &str,
    ) -> TResult<(kitakontor_core::protocol::SnapshotHeader, Vec<kitakontor_core::protocol::LogEntry>)> {
        self.http.snapshot(token).await
    }
    async fn health(&self) -> TResult<()> {
        self.http.health().await
    }
    async fn duplicates(&self, token: &str) -> TResult<Vec<DuplicateView>> {
        self.city()?;
        self.http.duplicates(token).await
    }
    async fn decide_duplicate(&self, token: &str, id: Uuid, decision: Decision) -> TResult<DuplicateView> {
        self.city()?;
        self.http.decide_duplicate(token, id, decision).await
    }
    async fn registry_status(&self, token: &str) -> TResult<RegistryStatus> {
        self.city()?;
        self.http.registry_status(token).await
    }
}

struct Pc {
    _dir: tempfile::TempDir,
    engine: SyncEngine<Net>,
    tokens: TokenStore,
    director: Actor,
    city_down: Arc<AtomicBool>,
}

impl Pc {
    fn store(&self) -> &Store {
        self.engine.store()
    }

    async fn child(&self, first: &str, last: &str, born: NaiveDate, street: &str) -> ChildId {
        let child = ChildId(Uuid::now_v7());
        let f = self.director.facility_id.unwrap();
        let create = c::CreateChild {
            child_id: child,
            facility_id: f,
            group_id: None,
            first_name: first.into(),
            last_name: last.into(),
            birth_date: born,
            address: Address { street: street.into(), postal_code: "04109".into(), city: "Leipzig".into() },
            municipality: "Leipzig".into(),
        };
        self.store().execute(&self.director, create.into()).await.unwrap();
        child
    }

    /// The cached proposal about our child `child`.
    async fn proposal(&self, child: ChildId) -> kitakontor_store::city::CityProposal {
        let all = self.store().city_proposals(&self.director).await.unwrap();
        all.into_iter().find(|p| p.view.child.child_id == child.0).unwrap_or_else(|| panic!("no proposal about {child} in the cache"))
    }
}

async fn pc(hub: &Hub, base: &str, facility: FacilityId, name: &str) -> Pc {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(&dir.path().join("pc.db"), &DbKey::generate()).await.unwrap();
    let city_down = Arc::new(AtomicBool::new(false));
    let net = Net { http: HttpTransport::new(base).unwrap(), city_down: city_down.clone() };
    let secrets = Arc::new(MemoryStore::default());
    let engine = SyncEngine::new(store, net, TokenStore::new(secrets.clone()));
    let code = hub.create_enrolment_code(facility, Duration::hours(1)).await.unwrap();
    engine.enrol(base, &code, name, None).await.unwrap();
    engine.sync_once().await.unwrap();
    // The Kita's director, created on this PC (and sent to the hub like any account).
    let uid = UserId(Uuid::now_v7());
    let admin = Actor { user_id: uid, role: Role::ProviderAdmin, facility_id: None, groups: vec![] };
    let user = c::CreateUser {
        user_id: uid,
        username: format!("leitung-{name}"),
        display_name: format!("Leitung {name}"),
        role: Role::Director,
        facility_id: Some(facility),
    };
    engine.store().execute_secret(&admin, user.into(), Some("sehr-geheimes-passwort")).await.unwrap();
    engine.sync_once().await.unwrap();
    let director = engine.store().actor(uid).await.unwrap();
    Pc { _dir: dir, engine, tokens: TokenStore::new(secrets), director, city_down }
}

fn facility(id: FacilityId, provider: u128, name: &str) -> c::UpsertFacility {
    c::UpsertFacility {
        facility_id: id,
        provider_id: ProviderId(Uuid::from_u128(provider)),
        provider_name: format!("Träger {provider}"),
        name: name.into(),
        profile: String::new(),
        address: Address { street: "Hauptstraße 1".into(), postal_code: "04109".into(), city: "Leipzig".into() },
        municipality: "Leipzig".into(),
        capacities: vec![(CareType::Nursery, 10), (CareType::Kindergarten, 10)],
    }
}

async fn hub_state(hub: &Hub, proposal: Uuid) -> String {
    sqlx::query_scalar::<_, String>("SELECT state FROM duplicate_proposals WHERE id = $1")
        .bind(proposal)
        .fetch_one(hub.pool())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_decisions_and_registry_matches_reach_the_desktop_and_back() {
    let pg = TestPostgres::start().expect("PostgreSQL for the city test");
    let url = pg.create_database("city").await.unwrap();
    let hub = Hub::connect(&url).await.unwrap();
    hub.upsert_facility(facility(FAC_A, 1, "Kita Sonnenblume")).await.unwrap();
    hub.upsert_facility(facility(FAC_B, 2, "Kita Löwenzahn")).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(kitakontor_hub::server::serve_plain(listener, hub.clone(), async move {
        let _ = stopped.await;
    }));

    let a = pc(&hub, &base, FAC_A, "A").await;
    let b = pc(&hub, &base, FAC_B, "B").await;
    let born = NaiveDate::from_ymd_opt(2023, 5, 17).unwrap();
    let paula_born = NaiveDate::from_ymd_opt(2022, 1, 10).unwrap();
    // The same boy, spelt differently in two Kitas of different providers; and Paula twice.
    let juergen = a.child("Jürgen", "Meier", born, "Lindenstraße 4").await;
    let paula_a = a.child("Paula", "Schmidt", paula_born, "Ahornstraße 7").await;
    let juergen_b = b.child("Juergen", "Maier", born, "Birkenweg 9").await;
    let paula_b = b.child("Paula", "Schmitt", paula_born, "Ahornstr. 7").await;

    // Every round fills the cache (the enrolment's rounds did already): nothing yet for A.
    let before = a.store().city_fetch(&a.director).await.unwrap().fetched_at.expect("fetched by the first rounds");
    a.engine.sync_once().await.unwrap();
    assert!(a.store().city_fetch(&a.director).await.unwrap().fetched_at.is_some_and(|t| t >= before));
    assert!(a.store().city_proposals(&a.director).await.unwrap().is_empty(), "B's children are not on the hub yet");
    let r = b.engine.sync_once().await.unwrap();
    assert_eq!((r.city_proposals, r.city_error.clone()), (2, None), "{r:?}");
    let r = a.engine.sync_once().await.unwrap();
    assert_eq!(r.city_proposals, 2, "{r:?}");

    // A's cache: B's child with name, birth date and facility only.
    let p = a.proposal(juergen).await;
    assert_eq!((p.status, p.view.state), (ProposalStatus::Open, ProposalState::Open));
    assert_eq!((p.view.other.first_name.as_str(), p.view.other.last_name.as_str()), ("Juergen", "Maier"));
    assert_eq!((p.view.other.birth_date, p.view.other.facility_name.as_str()), (born, "Kita Löwenzahn"));
    assert!(p.view.reason.contains("gleiches Geburtsdatum"), "{}", p.view.reason);
    assert_eq!(b.proposal(juergen_b).await.view.id, p.view.id, "one proposal, seen from both sides");
    let juergen_proposal = p.view.id;
    let paula_proposal = a.proposal(paula_a).await.view.id;

    // A decides offline: queued, "wird gesendet", and the hub knows nothing of it.
    let queued = a.store().queue_duplicate_decision(&a.director, juergen_proposal, Decision::Confirmed).await.unwrap();
    assert_eq!(queued.status, ProposalStatus::Sending);
    assert_eq!(hub_state(&hub, juergen_proposal).await, "open");
    // A round without the city endpoints (the hub's /city fails): the round itself succeeds,
    // the failure is noted for the screen, the decision still waits, the cache stays.
    a.city_down.store(true, Ordering::SeqCst);
    let r = a.engine.sync_once().await.expect("a failing city step does not fail the round");
    assert!(r.city_error.as_deref().is_some_and(|e| e.contains("Interner Fehler des Hubs")), "{r:?}");
    let fetch = a.store().city_fetch(&a.director).await.unwrap();
    assert!(fetch.last_error.as_deref().is_some_and(|e| e.contains("Interner Fehler des Hubs")), "{fetch:?}");
    assert_eq!(a.store().sync_status().await.unwrap().last_error, None, "the round counts as a good one");
    assert_eq!(a.proposal(juergen).await.status, ProposalStatus::Sending);
    assert_eq!(hub_state(&hub, juergen_proposal).await, "open");
    a.city_down.store(false, Ordering::SeqCst);

    // The next round sends it: confirmed on the hub and in A's cache, the error line cleared.
    let r = a.engine.sync_once().await.unwrap();
    assert_eq!((r.city_sent, r.city_refused, r.city_error.clone()), (1, 0, None), "{r:?}");
    assert_eq!(hub_state(&hub, juergen_proposal).await, "confirmed");
    let p = a.proposal(juergen).await;
    assert_eq!((p.status, p.view.state), (ProposalStatus::Confirmed, ProposalState::Confirmed));
    assert!(p.local.as_ref().is_some_and(|l| l.sent_at.is_some() && l.error.is_none()), "{p:?}");
    assert_eq!(a.store().city_fetch(&a.director).await.unwrap().last_error, None);
    // Nothing was merged or deleted: both children still on the hub.
    let children: i64 = sqlx::query_scalar("SELECT count(*) FROM children").fetch_one(hub.pool()).await.unwrap();
    assert_eq!(children, 4);
    // B sees it after its round.
    assert_eq!(b.proposal(juergen_b).await.status, ProposalStatus::Open, "B's cache is older");
    b.engine.sync_once().await.unwrap();
    assert_eq!(b.proposal(juergen_b).await.status, ProposalStatus::Confirmed);

    // Paula: both Kitas decide offline, differently. A sends first — and its answer gets lost
    // (the hub took it, A never heard): the next round sends it again, which the hub accepts.
    a.store().queue_duplicate_decision(&a.director, paula_proposal, Decision::Confirmed).await.unwrap();
    b.store().queue_duplicate_decision(&b.director, paula_proposal, Decision::Rejected).await.unwrap();
    let token = a.tokens.get().unwrap().unwrap().access_token;
    HttpTransport::new(&base).unwrap().decide_duplicate(&token, paula_proposal, Decision::Confirmed).await.unwrap();
    let r = a.engine.sync_once().await.unwrap();
    assert_eq!((r.city_sent, r.city_refused), (1, 0), "the same decision again is fine: {r:?}");
    assert_eq!(a.proposal(paula_a).await.status, ProposalStatus::Confirmed);
    // B's opposite decision is refused: the hub's state stands, the refusal is on B's decision.
    let r = b.engine.sync_once().await.unwrap();
    assert_eq!((r.city_sent, r.city_refused, r.city_error.clone()), (0, 1, None), "{r:?}");
    assert_eq!(hub_state(&hub, paula_proposal).await, "confirmed");
    let p = b.proposal(paula_b).await;
    assert_eq!((p.status, p.view.state), (ProposalStatus::Confirmed, ProposalState::Confirmed));
    let refusal = p.local.and_then(|l| l.error).expect("the refusal stays on the decision");
    assert!(refusal.contains("bereits entschieden") && refusal.contains("bestätigt"), "{refusal}");
    assert!(b.store().pending_city_decisions().await.unwrap().is_empty(), "refused for good, not sent again");

    // The registry extract on the hub, matched; A's cache shows the statuses after its round.
    let extract = "Familienname;Vornamen;Geburtsdatum (TT.MM.JJJJ);Straße;Hausnummer;PLZ;Ort;Gemeindeschlüssel\n\
                   Meier;Jürgen Paul;17.05.2023;Lindenstraße;4;04109;Leipzig;14713000\n\
                   Maier;Juergen;17.05.2023;Birkenweg;9;04109;Leipzig;14713000\n";
    assert!(a.store().city_registry(&a.director).await.unwrap().extract.is_none(), "no extract on the hub yet");
    hub.import_registry("melde-2026-11.csv", extract.as_bytes()).await.unwrap();
    hub.match_registry().await.unwrap();
    a.engine.sync_once().await.unwrap();
    let reg = a.store().city_registry(&a.director).await.unwrap();
    assert_eq!(reg.extract.as_ref().map(|e| (e.file_name.as_str(), e.rows)), Some(("melde-2026-11.csv", 2)));
    let of = |id: ChildId| reg.children.iter().find(|c| c.child_id == id.0).unwrap_or_else(|| panic!("{id} in {reg:?}"));
    assert_eq!(of(juergen).status, Some(MatchStatus::Matched));
    assert_eq!(of(juergen).registry_name.as_deref(), Some("Jürgen Paul Meier"));
    assert_eq!(of(paula_a).status, Some(MatchStatus::NotFound));
    assert_eq!(reg.children.len(), 2, "only A's children");
    assert!(reg.children.iter().all(|c| c.checked_at.is_some()));

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
