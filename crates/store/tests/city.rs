//! The city cache on a real SQLCipher file: who may read and decide, the snapshot and a queued
//! decision through its whole life (queued → "wird gesendet" → sent or refused), bad input
//! refused with nothing stored, facility scope, and erasure reaching the cache.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use kitakontor_core::care::CareType;
use kitakontor_core::command as c;
use kitakontor_core::ids::*;
use kitakontor_core::permission::{Actor, Role};
use kitakontor_core::person::Address;
use kitakontor_core::protocol::city::*;
use kitakontor_store::city::{CityError, ProposalStatus};
use kitakontor_store::key::DbKey;
use kitakontor_store::{Store, StoreError};
use uuid::Uuid;

struct World {
    _dir: tempfile::TempDir,
    store: Store,
    director: Actor,
    facility: FacilityId,
    other_facility: FacilityId,
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-24T09:00:00Z").unwrap().with_timezone(&Utc)
}

fn born() -> NaiveDate {
    NaiveDate::from_ymd_opt(2023, 5, 17).unwrap()
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(&dir.path().join("t.db"), &DbKey::generate()).await.unwrap().with_clock(std::sync::Arc::new(now));
    let facility = FacilityId(Uuid::now_v7());
    let uid = UserId(Uuid::now_v7());
    store
        .create_first_user(
            Some(c::UpsertFacility {
                facility_id: facility,
                provider_id: ProviderId(Uuid::now_v7()),
                provider_name: "Träger".into(),
                name: "Kita Sonnenblume".into(),
                profile: String::new(),
                address: Address::default(),
                municipality: "Leipzig".into(),
                capacities: vec![(CareType::Nursery, 5)],
            }),
            c::CreateUser {
                user_id: uid,
                username: "leitung".into(),
                display_name: "Lea Leitung".into(),
                role: Role::Director,
                facility_id: Some(facility),
            },
            "sehr-geheimes-passwort",
        )
        .await
        .unwrap();
    let director = store.actor(uid).await.unwrap();
    World { _dir: dir, store, director, facility, other_facility: FacilityId(Uuid::now_v7()) }
}

fn actor(role: Role, facility: Option<FacilityId>) -> Actor {
    Actor { user_id: UserId(Uuid::now_v7()), role, facility_id: facility, groups: vec![] }
}

fn proposal(first: &str, last: &str, state: ProposalState) -> DuplicateView {
    DuplicateView {
        id: Uuid::now_v7(),
        reason: "gleiches Geburtsdatum, Nachname klingt gleich, gleicher Vorname".into(),
        score: 70,
        state,
        decided_at: (state != ProposalState::Open).then(|| now() - Duration::days(1)),
        child: OwnChild { child_id: Uuid::now_v7(), first_name: first.into(), last_name: last.into(), birth_date: born() },
        other: OtherChild {
            first_name: first.into(),
            last_name: format!("{last}h"),
            birth_date: born(),
            facility_name: "Kita Pusteblume".into(),
        },
    }
}

fn registry(children: &[(Uuid, &str, Option<MatchStatus>)]) -> RegistryStatus {
    RegistryStatus {
        extract: Some(RegistryImport {
            id: Uuid::now_v7(),
            imported_at: now() - Duration::days(2),
            file_name: "melde.csv".into(),
            rows: 5,
            encoding: "UTF-8".into(),
        }),
        children: children
            .iter()
            .map(|(id, name, status)| ChildRegistryStatus {
                child_id: *id,
                first_name: name.to_string(),
                last_name: "Meier".into(),
                birth_date: born(),
                status: *status,
                registry_name: status.map(|_| format!("{name} Meier")),
                checked_at: status.map(|_| now() - Duration::days(1)),
            })
            .collect(),
    }
}

async fn count(store: &Store, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(store.pool()).await.unwrap()
}

async fn audit_rows(store: &Store) -> i64 {
    count(store, "SELECT count(*) FROM audit_log").await
}

#[tokio::test]
async fn reading_and_deciding_need_the_directors_permission() {
    let w = world().await;
    let open = proposal("Jürgen", "Meier", ProposalState::Open);
    w.store.store_city_snapshot(w.facility, &[open.clone()], &registry(&[(open.child.child_id, "Jürgen", None)]), now()).await.unwrap();
    let audit_before = audit_rows(&w.store).await;
    for role in [Role::Educator, Role::Office, Role::TechAdmin] {
        let a = actor(role, Some(w.facility));
        let denied = |r: Result<(), StoreError>| matches!(r, Err(StoreError::Denied(_)));
        assert!(denied(w.store.city_proposals(&a).await.map(|_| ())), "{role:?} reads proposals");
        assert!(denied(w.store.city_registry(&a).await.map(|_| ())), "{role:?} reads the registry status");
        assert!(denied(w.store.city_fetch(&a).await.map(|_| ())), "{role:?} reads the fetch state");
        let e = w.store.queue_duplicate_decision(&a, open.id, Decision::Confirmed).await.unwrap_err();
        assert_eq!(e.code(), "permission_denied", "{role:?}: {e}");
    }
    assert_eq!(count(&w.store, "SELECT count(*) FROM city_decisions").await, 0, "nothing queued");
    assert_eq!(audit_rows(&w.store).await, audit_before, "nothing audited");
    // Directors and provider admins may.
    assert_eq!(w.store.city_proposals(&w.director).await.unwrap().len(), 1);
    assert_eq!(w.store.city_proposals(&actor(Role::ProviderAdmin, None)).await.unwrap().len(), 1);
    assert_eq!(w.store.city_registry(&w.director).await.unwrap().children.len(), 1);
}

#[tokio::test]
async fn a_snapshot_and_a_queued_decision_round_trip() {
    let w = world().await;
    assert_eq!(w.store.city_fetch(&w.director).await.unwrap().fetched_at, None, "never fetched");
    assert!(w.store.city_registry(&w.director).await.unwrap().extract.is_none());

    let open = proposal("Jürgen", "Meier", ProposalState::Open);
    let mut strong = proposal("Paula", "Schmidt", ProposalState::Open);
    strong.score = 100;
    let decided = proposal("Emil", "Krause", ProposalState::Rejected);
    let reg =
        registry(&[(open.child.child_id, "Jürgen", Some(MatchStatus::Matched)), (Uuid::now_v7(), "Anton", Some(MatchStatus::NotFound))]);
    let at = now() - Duration::minutes(5);
    w.store.store_city_snapshot(w.facility, &[decided.clone(), open.clone(), strong.clone()], &reg, at).await.unwrap();

    // As the hub sent it: open first (stronger first), then decided; the registry in name order.
    let list = w.store.city_proposals(&w.director).await.unwrap();
    assert_eq!(list.iter().map(|p| p.view.id).collect::<Vec<_>>(), vec![strong.id, open.id, decided.id]);
    assert_eq!(list[1].view, open);
    assert_eq!((list[1].status, list[1].local.clone(), list[1].fetched_at), (ProposalStatus::Open, None, at));
    assert_eq!(list[2].status, ProposalStatus::Rejected);
    let cached = w.store.city_registry(&w.director).await.unwrap();
    assert_eq!(cached.extract, reg.extract);
    assert_eq!(cached.children.iter().map(|c| c.first_name.as_str()).collect::<Vec<_>>(), vec!["Anton", "Jürgen"]);
    assert_eq!(cached.children[1], reg.children[0]);
    let fetch = w.store.city_fetch(&w.director).await.unwrap();
    assert_eq!((fetch.fetched_at, fetch.last_error), (Some(at), None));

    // Decided offline: "wird gesendet", audited, waiting for the engine.
    let audit_before = audit_rows(&w.store).await;
    let p = w.store.queue_duplicate_decision(&w.director, open.id, Decision::Confirmed).await.unwrap();
    assert_eq!(p.status, ProposalStatus::Sending);
    assert_eq!(p.view.state, ProposalState::Open, "the hub's state is kept underneath");
    let local = p.local.clone().unwrap();
    assert_eq!((local.decision, local.decided_by.as_deref(), local.decided_at), (Decision::Confirmed, Some("Lea Leitung"), now()));
    assert_eq!((local.sent_at, local.error), (None, None));
    assert_eq!(audit_rows(&w.store).await, audit_before + 1);
    let (action, records): (String, String) =
        sqlx::query_as("SELECT action, records FROM audit_log ORDER BY seq DESC LIMIT 1").fetch_one(w.store.pool()).await.unwrap();
    assert_eq!(action, "decide_duplicate");
    assert!(records.contains(&format!("duplicate_proposal:{}", open.id)) && records.contains(&format!("child:{}", open.child.child_id)));
    assert!(!records.contains("Jürgen"), "record references, never values: {records}");
    assert_eq!(
        w.store.city_proposals(&w.director).await.unwrap().iter().find(|x| x.view.id == open.id).unwrap().status,
        ProposalStatus::Sending
    );
    let pending = w.store.pending_city_decisions().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!((pending[0].proposal_id, pending[0].decision), (open.id, Decision::Confirmed));

    // A snapshot while it waits (sent in a later round) does not hide the waiting decision.
    w.store.store_city_snapshot(w.facility, &[open.clone(), strong.clone()], &reg, now()).await.unwrap();
    assert_eq!(w.store.city_proposals(&w.director).await.unwrap()[1].status, ProposalStatus::Sending);

    // The hub took it: its state shows at once, nothing waits any more.
    let mut answer = open.clone();
    answer.state = ProposalState::Confirmed;
    answer.decided_at = Some(now());
    w.store.mark_city_decision_sent(pending[0].id, Ok(&answer)).await.unwrap();
    let p = w.store.city_proposals(&w.director).await.unwrap().into_iter().find(|x| x.view.id == open.id).unwrap();
    assert_eq!((p.status, p.view.state, p.view.decided_at), (ProposalStatus::Confirmed, ProposalState::Confirmed, Some(now())));
    assert_eq!(p.local.unwrap().sent_at, Some(now()));
    assert!(w.store.pending_city_decisions().await.unwrap().is_empty());

    // Refused for good (the other facility decided otherwise): the message stays, the hub's
    // state stands, nothing waits.
    w.store.queue_duplicate_decision(&w.director, strong.id, Decision::Rejected).await.unwrap();
    let id = w.store.pending_city_decisions().await.unwrap()[0].id;
    let refusal = "Über diesen Dublettenvorschlag wurde bereits entschieden: bestätigt (dasselbe Kind)";
    w.store.mark_city_decision_sent(id, Err(refusal)).await.unwrap();
    let p = w.store.city_proposals(&w.director).await.unwrap().into_iter().find(|x| x.view.id == strong.id).unwrap();
    assert_eq!(p.status, ProposalStatus::Open, "the cached hub state until the next fetch");
    assert_eq!(p.local.unwrap().error.as_deref(), Some(refusal));
    assert!(w.store.pending_city_decisions().await.unwrap().is_empty());

    // A failed fetch is noted and the cache stays; the next good fetch replaces the cache and
    // clears the error; answered decisions of proposals that are gone are dropped.
    w.store.set_city_error(w.facility, "Hub nicht erreichbar: connection refused").await.unwrap();
    let fetch = w.store.city_fetch(&w.director).await.unwrap();
    assert_eq!((fetch.last_error.as_deref(), fetch.last_error_at), (Some("Hub nicht erreichbar: connection refused"), Some(now())));
    assert_eq!(w.store.city_proposals(&w.director).await.unwrap().len(), 2);
    w.store.store_city_snapshot(w.facility, &[answer.clone()], &RegistryStatus { extract: None, children: vec![] }, now()).await.unwrap();
    assert_eq!(w.store.city_fetch(&w.director).await.unwrap().last_error, None);
    assert_eq!(w.store.city_proposals(&w.director).await.unwrap().len(), 1);
    assert!(w.store.city_registry(&w.director).await.unwrap().extract.is_none());
    assert!(w.store.city_registry(&w.director).await.unwrap().children.is_empty());
    assert_eq!(count(&w.store, "SELECT count(*) FROM city_decisions").await, 1, "only the decision of the proposal still there");
}

#[tokio::test]
async fn bad_input_is_refused_with_nothing_stored() {
    let w = world().await;
    let open = proposal("Jürgen", "Meier", ProposalState::Open);
    let confirmed = proposal("Paula", "Schmidt", ProposalState::Confirmed);
    let elsewhere = proposal("Lotta", "Krause", ProposalState::Open);
    let empty = RegistryStatus { extract: None, children: vec![] };
    w.store.store_city_snapshot(w.facility, &[open.clone(), confirmed.clone()], &empty, now()).await.unwrap();
    w.store.store_city_snapshot(w.other_facility, &[elsewhere.clone()], &empty, now()).await.unwrap();
    let audit_before = audit_rows(&w.store).await;

    let unknown = Uuid::now_v7();
    match w.store.queue_duplicate_decision(&w.director, unknown, Decision::Confirmed).await {
        Err(StoreError::City(e @ CityError::UnknownProposal(_))) => {
            assert_eq!(e.code(), "not_found");
            assert!(e.to_string().starts_with(&format!("Der Dublettenvorschlag {unknown} ist auf diesem PC nicht bekannt")), "{e}");
        }
        other => panic!("expected UnknownProposal, got {other:?}"),
    }
    // Another facility's proposal is as unknown as a made-up one.
    let e = w.store.queue_duplicate_decision(&w.director, elsewhere.id, Decision::Confirmed).await.unwrap_err();
    assert!(matches!(e, StoreError::City(CityError::UnknownProposal(_))), "{e}");
    assert_eq!(e.code(), "not_found");
    // Decided on the hub already.
    let e = w.store.queue_duplicate_decision(&w.director, confirmed.id, Decision::Rejected).await.unwrap_err();
    assert_eq!(e.code(), "conflict");
    assert_eq!(e.to_string(), "Über diesen Dublettenvorschlag wurde bereits entschieden: bestätigt (dasselbe Kind).");
    assert_eq!(count(&w.store, "SELECT count(*) FROM city_decisions").await, 0);
    assert_eq!(audit_rows(&w.store).await, audit_before);

    // Decided here and waiting: a second decision (either way) is refused.
    w.store.queue_duplicate_decision(&w.director, open.id, Decision::Confirmed).await.unwrap();
    for d in [Decision::Confirmed, Decision::Rejected] {
        let e = w.store.queue_duplicate_decision(&w.director, open.id, d).await.unwrap_err();
        assert!(matches!(e, StoreError::City(CityError::DecisionPending(_))), "{e}");
        assert!(e.to_string().contains("beim nächsten Abgleich gesendet"), "{e}");
    }
    assert_eq!(count(&w.store, "SELECT count(*) FROM city_decisions").await, 1);
    assert_eq!(audit_rows(&w.store).await, audit_before + 1);

    // The other facility's director sees only that facility's proposal; a provider admin both.
    let other_director = actor(Role::Director, Some(w.other_facility));
    assert_eq!(w.store.city_proposals(&other_director).await.unwrap().iter().map(|p| p.view.id).collect::<Vec<_>>(), vec![elsewhere.id]);
    assert_eq!(w.store.city_proposals(&actor(Role::ProviderAdmin, None)).await.unwrap().len(), 3);
}

#[tokio::test]
async fn erasing_a_child_takes_it_out_of_the_cache() {
    let w = world().await;
    let child = ChildId(Uuid::now_v7());
    w.store
        .execute(
            &w.director,
            c::CreateChild {
                child_id: child,
                facility_id: w.facility,
                group_id: None,
                first_name: "Kanarienvogel".into(),
                last_name: "Meier".into(),
                birth_date: born(),
                address: Address::default(),
                municipality: "Leipzig".into(),
            }
            .into(),
        )
        .await
        .unwrap();
    let mut p = proposal("Kanarienvogel", "Meier", ProposalState::Open);
    p.child.child_id = child.0;
    let keep = proposal("Emil", "Krause", ProposalState::Open);
    let reg = registry(&[(child.0, "Kanarienvogel", Some(MatchStatus::Matched)), (keep.child.child_id, "Emil", None)]);
    w.store.store_city_snapshot(w.facility, &[p.clone(), keep.clone()], &reg, now()).await.unwrap();
    w.store.queue_duplicate_decision(&w.director, p.id, Decision::Confirmed).await.unwrap();

    w.store.execute(&w.director, c::DeleteChild { child_id: child }.into()).await.unwrap();
    assert_eq!(w.store.city_proposals(&w.director).await.unwrap().iter().map(|x| x.view.id).collect::<Vec<_>>(), vec![keep.id]);
    assert_eq!(w.store.city_registry(&w.director).await.unwrap().children.len(), 1);
    assert!(w.store.pending_city_decisions().await.unwrap().is_empty(), "the decision about the erased child goes too");
    let left = count(
        &w.store,
        "SELECT (SELECT count(*) FROM city_proposals WHERE view LIKE '%Kanarienvogel%') + (SELECT count(*) FROM city_registry WHERE status LIKE '%Kanarienvogel%')",
    )
    .await;
    assert_eq!(left, 0);
}
