//! Places: the last place, the exclusion constraint, holds lapsing by the hub's clock, tickets.

mod common;

use chrono::Duration;
use common::*;
use kitakontor_core::care::CareType;
use kitakontor_core::command::{self as c, Command};
use kitakontor_core::ids::*;
use kitakontor_core::protocol::{Cursor, Origin, Outcome};
use kitakontor_hub::HubError;
use uuid::Uuid;

#[tokio::test]
async fn two_pcs_of_one_facility_race_for_the_last_place() {
    let e = env().await;
    city(&e.hub).await; // A has 2 nursery places
    let mut pc1 = enrol(&e.hub, FAC_A, "PC 1").await;
    let mut pc2 = enrol(&e.hub, FAC_A, "PC 2").await;
    let (_, first) = child_with_application(&mut pc1, &e.hub, "Erste").await;
    assert!(try_reserve(&mut pc1, &e.hub, first).await.0.is_applied());
    // One place left; each PC reserves it for another child, at the same time.
    let (_, app1) = child_with_application(&mut pc1, &e.hub, "Lena").await;
    let (_, app2) = child_with_application(&mut pc2, &e.hub, "Jonas").await;
    let r1 = reserve(app1, FAC_A);
    let r2 = reserve(app2, FAC_A);
    let c1 = pc1.command(r1.clone(), &[r("reservation", r1.reservation_id), r("application", app1)]);
    let c2 = pc2.command(r2.clone(), &[r("reservation", r2.reservation_id), r("application", app2)]);
    let (h1, h2) = (e.hub.clone(), e.hub.clone());
    let (a1, a2) = (pc1.auth, pc2.auth);
    let (req1, req2) = (pc1.request(vec![c1]), pc2.request(vec![c2]));
    let (o1, o2) = tokio::join!(async move { h1.push(&a1, req1).await.unwrap() }, async move { h2.push(&a2, req2).await.unwrap() });
    let outcomes = [o1.results[0].outcome.clone(), o2.results[0].outcome.clone()];
    assert_eq!(outcomes.iter().filter(|o| o.is_applied()).count(), 1, "{outcomes:?}");
    let refused = outcomes.iter().find(|o| !o.is_applied()).unwrap();
    match refused {
        Outcome::Rejected { code, message, alternatives } => {
            assert_eq!(code, "no_place");
            assert_eq!(message, "Kein freier Platz (Krippe) in Kita Sonnenblume ab 01.08.2027");
            // B has 4 nursery places, C has 1: most free first.
            let alt: Vec<_> = alternatives.iter().map(|a| (a.facility_id, a.free_places)).collect();
            assert_eq!(alt, vec![(FAC_B, 4), (FAC_C, 1)]);
            assert_eq!(alternatives[0].facility_name, "Kita Regenbogen");
        }
        other => panic!("{other:?}"),
    }
    let held: i64 = sqlx::query_scalar("SELECT count(*) FROM bookings WHERE active AND facility_id = $1")
        .bind(FAC_A.0)
        .fetch_one(e.hub.pool())
        .await
        .unwrap();
    assert_eq!(held, 2);
    // The refused application stays on the waiting list.
    let states: Vec<String> = sqlx::query_scalar("SELECT state FROM applications WHERE id = ANY($1) ORDER BY state")
        .bind(vec![app1.0, app2.0])
        .fetch_all(e.hub.pool())
        .await
        .unwrap();
    assert_eq!(states, vec!["open", "reserved"]);
    // The free-place overview agrees.
    let free = e.hub.free_places(day(2027, 8, 1)).await.unwrap();
    let a_nursery = free.iter().find(|f| f.facility_id == FAC_A && f.care_type == CareType::Nursery).unwrap();
    assert_eq!((a_nursery.capacity, a_nursery.booked, a_nursery.free), (2, 2, 0));
    let before = e.hub.free_places(day(2027, 7, 31)).await.unwrap();
    assert_eq!(before.iter().find(|f| f.facility_id == FAC_A && f.care_type == CareType::Nursery).unwrap().free, 2);
}

#[tokio::test]
async fn the_exclusion_constraint_refuses_a_double_booking_even_without_the_code() {
    let e = env().await;
    city(&e.hub).await;
    let mut pc = enrol(&e.hub, FAC_A, "PC").await;
    let (_, app) = child_with_application(&mut pc, &e.hub, "Ida").await;
    assert!(try_reserve(&mut pc, &e.hub, app).await.0.is_applied());
    let slot: i32 = sqlx::query_scalar("SELECT slot FROM bookings").fetch_one(e.hub.pool()).await.unwrap();
    let err = sqlx::query(
        "INSERT INTO bookings (id, facility_id, care_type, slot, period, kind, active, expires_at, application_id, child_id, created_at)
         VALUES ($1, $2, 'nursery', $3, daterange('2028-01-01', '2028-06-01'), 'hold', true, now(), $1, $1, now())",
    )
    .bind(Uuid::now_v7())
    .bind(FAC_A.0)
    .bind(slot)
    .execute(e.hub.pool())
    .await
    .unwrap_err();
    let code = match &err {
        sqlx::Error::Database(d) => d.code().map(|c| c.into_owned()),
        _ => None,
    };
    assert_eq!(code.as_deref(), Some("23P01"), "{err}");
    // An inactive (lapsed) booking of the slot is no obstacle.
    sqlx::query(
        "INSERT INTO bookings (id, facility_id, care_type, slot, period, kind, active, expires_at, application_id, child_id, created_at)
         VALUES ($1, $2, 'nursery', $3, daterange('2028-01-01', '2028-06-01'), 'hold', false, now(), $1, $1, now())",
    )
    .bind(Uuid::now_v7())
    .bind(FAC_A.0)
    .bind(slot)
    .execute(e.hub.pool())
    .await
    .unwrap();
}

#[tokio::test]
async fn a_hold_lapses_by_the_hub_clock() {
    let e = env().await;
    city(&e.hub).await;
    let mut pc = enrol(&e.hub, FAC_A, "PC").await;
    let (child, app) = child_with_application(&mut pc, &e.hub, "Ole").await;
    let (o, res) = try_reserve(&mut pc, &e.hub, app).await;
    assert!(o.is_applied());
    let (_, cursor) = pc.pull_all(&e.hub, &Cursor::default(), 100).await;

    // Six days later: not lapsed; the device may not declare it lapsed either.
    e.clock.advance(Duration::days(6));
    assert_eq!(e.hub.expire_holds().await.unwrap(), 0);
    let o = pc.send(&e.hub, c::ExpireReservation { reservation_id: res }, &[r("reservation", res), r("application", app)]).await;
    match &o {
        Outcome::Rejected { code, message, .. } => {
            assert_eq!(code, "hold_not_expired");
            assert!(message.contains("01.12.2026 09:00 UTC"), "{message}");
        }
        other => panic!("{other:?}"),
    }

    // Seven days after it was made, by the hub's clock: it lapses.
    e.clock.advance(Duration::days(1));
    assert_eq!(e.hub.expire_holds().await.unwrap(), 1);
    assert_eq!(e.hub.expire_holds().await.unwrap(), 0, "only once");
    let (entries, _) = pc.pull_all(&e.hub, &cursor, 100).await;
    assert_eq!(entries.len(), 1);
    let lapse = &entries[0];
    assert!(matches!(lapse.origin, Origin::Hub { .. }));
    assert_eq!(lapse.command, Command::ExpireReservation(c::ExpireReservation { reservation_id: res }));
    assert_eq!((lapse.facility_id, lapse.provider_id), (Some(FAC_A), Some(PROVIDER)));
    assert_eq!(lapse.hub_time, start_time() + Duration::days(7));
    assert_eq!(lapse.versions, [(r("reservation", res), 2), (r("application", app), 3)].into());
    let state: String =
        sqlx::query_scalar("SELECT state FROM applications WHERE id = $1").bind(app.0).fetch_one(e.hub.pool()).await.unwrap();
    assert_eq!(state, "open");

    // Concluding a contract from the lapsed hold is refused.
    pc.versions.extend(lapse.versions.clone());
    let k = conclude(res);
    let o =
        pc.send(&e.hub, k.clone(), &[r("contract", k.contract_id), r("reservation", res), r("application", app), r("child", child)]).await;
    assert_eq!(rejected_code(&o), Some("hold_not_active"), "{o:?}");
    // The device's own ExpireReservation comes too late now.
    let o = pc.send(&e.hub, c::ExpireReservation { reservation_id: res }, &[r("reservation", res), r("application", app)]).await;
    assert_eq!(rejected_code(&o), Some("already_lapsed"), "{o:?}");
}

#[tokio::test]
async fn concluding_after_expiry_is_refused_even_before_the_job_ran() {
    let e = env().await;
    city(&e.hub).await;
    let mut pc = enrol(&e.hub, FAC_A, "PC").await;
    let (child, app) = child_with_application(&mut pc, &e.hub, "Tom").await;
    let (_, res) = try_reserve(&mut pc, &e.hub, app).await;
    e.clock.advance(Duration::days(7) + Duration::minutes(1));
    let k = conclude(res);
    let o =
        pc.send(&e.hub, k.clone(), &[r("contract", k.contract_id), r("reservation", res), r("application", app), r("child", child)]).await;
    match &o {
        Outcome::Rejected { code, message, .. } => {
            assert_eq!(code, "hold_expired");
            assert!(message.contains("01.12.2026 09:00 UTC"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // In time, it converts: the booking becomes an open-ended contract.
    let (_, app2) = child_with_application(&mut pc, &e.hub, "Zoe").await;
    let (_, res2) = try_reserve(&mut pc, &e.hub, app2).await;
    let k2 = conclude(res2);
    let child2: Uuid =
        sqlx::query_scalar("SELECT child_id FROM applications WHERE id = $1").bind(app2.0).fetch_one(e.hub.pool()).await.unwrap();
    let o = pc
        .send(
            &e.hub,
            k2.clone(),
            &[r("contract", k2.contract_id), r("reservation", res2), r("application", app2), r("child", ChildId(child2))],
        )
        .await;
    assert!(o.is_applied(), "{o:?}");
    let (kind, expires, period): (String, Option<chrono::DateTime<chrono::Utc>>, String) =
        sqlx::query_as("SELECT kind, expires_at, period::text FROM bookings WHERE id = $1")
            .bind(res2.0)
            .fetch_one(e.hub.pool())
            .await
            .unwrap();
    assert_eq!((kind.as_str(), expires, period.as_str()), ("contract", None, "[2027-08-01,)"));
    // A contract never lapses.
    e.clock.advance(Duration::days(30));
    e.hub.expire_holds().await.unwrap();
    let active: bool = sqlx::query_scalar("SELECT active FROM bookings WHERE id = $1").bind(res2.0).fetch_one(e.hub.pool()).await.unwrap();
    assert!(active);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_reservations_for_ten_places() {
    let e = env().await;
    e.hub.upsert_facility(facility(FAC_A, PROVIDER, "Kita Sonnenblume", 10, 0)).await.unwrap();
    e.hub.upsert_facility(facility(FAC_B, PROVIDER, "Kita Regenbogen", 3, 0)).await.unwrap();
    // 50 PCs of facility A, each with one child on the waiting list and one reservation ready.
    let mut ready = Vec::new();
    for i in 0..50 {
        let mut pc = enrol(&e.hub, FAC_A, &format!("PC {i}")).await;
        let (_, app) = child_with_application(&mut pc, &e.hub, &format!("Kind{i}")).await;
        let res = reserve(app, FAC_A);
        let cmd = pc.command(res.clone(), &[r("reservation", res.reservation_id), r("application", app)]);
        ready.push((pc.auth, pc.request(vec![cmd])));
    }
    // All at once.
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(ready.len()));
    let handles: Vec<_> = ready
        .into_iter()
        .map(|(auth, req)| {
            let hub = e.hub.clone();
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                hub.push(&auth, req).await.unwrap().results.remove(0).outcome
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for h in handles {
        outcomes.push(h.await.unwrap());
    }
    assert_eq!(outcomes.len(), 50);
    let applied = outcomes.iter().filter(|o| o.is_applied()).count();
    assert_eq!(applied, 10, "{outcomes:?}");
    for o in outcomes.iter().filter(|o| !o.is_applied()) {
        match o {
            Outcome::Rejected { code, alternatives, .. } => {
                assert_eq!(code, "no_place");
                assert_eq!(alternatives.iter().map(|a| (a.facility_id, a.free_places)).collect::<Vec<_>>(), vec![(FAC_B, 3)]);
            }
            other => panic!("{other:?}"),
        }
    }
    let slots: Vec<i32> = sqlx::query_scalar("SELECT slot FROM bookings WHERE active ORDER BY slot").fetch_all(e.hub.pool()).await.unwrap();
    assert_eq!(slots, (1..=10).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_withdrawn_application_frees_its_hold() {
    let e = env().await;
    city(&e.hub).await;
    let mut pc = enrol(&e.hub, FAC_A, "PC").await;
    let (_, app) = child_with_application(&mut pc, &e.hub, "Kurz").await;
    let (_, res) = try_reserve(&mut pc, &e.hub, app).await;
    let o = pc.send(&e.hub, c::WithdrawApplication { application_id: app }, &[r("application", app), r("reservation", res)]).await;
    assert!(o.is_applied(), "{o:?}");
    let active: bool = sqlx::query_scalar("SELECT active FROM bookings WHERE id = $1").bind(res.0).fetch_one(e.hub.pool()).await.unwrap();
    assert!(!active);
    // Reserving for a withdrawn application is refused.
    let (o, _) = try_reserve(&mut pc, &e.hub, app).await;
    assert_eq!(rejected_code(&o), Some("application_not_open"), "{o:?}");
}

#[tokio::test]
async fn a_child_from_elsewhere_needs_the_youth_office_ticket() {
    let e = env().await;
    city(&e.hub).await;
    let mut pc = enrol(&e.hub, FAC_A, "PC").await;
    let mut child = new_child(FAC_A, "Emil", "Auswärts");
    child.municipality = "Markkleeberg".into();
    let child_id = child.child_id;
    pc.send(&e.hub, child, &[r("child", child_id)]).await;
    let app = new_application(child_id, vec![FAC_A], CareType::Nursery);
    let app_id = app.application_id;
    pc.send(&e.hub, app, &[r("application", app_id), r("child", child_id)]).await;
    let ticket = c::RequestTicket { ticket_id: TicketId(Uuid::now_v7()), child_id, home_municipality: "Markkleeberg".into() };
    let ticket_id = ticket.ticket_id;
    assert!(pc.send(&e.hub, ticket, &[r("ticket", ticket_id), r("child", child_id)]).await.is_applied());
    let (_, res) = try_reserve(&mut pc, &e.hub, app_id).await;
    let refs = |k: ContractId| vec![r("contract", k), r("reservation", res), r("application", app_id), r("child", child_id)];
    let k = conclude(res);
    let o = pc.send(&e.hub, k.clone(), &refs(k.contract_id)).await;
    assert_eq!(rejected_code(&o), Some("ticket_required"), "{o:?}");

    let (_, cursor) = pc.pull_all(&e.hub, &Cursor::default(), 100).await;
    e.hub.decide_ticket(ticket_id, true, "JA-2026-117").await.unwrap();
    let again = e.hub.decide_ticket(ticket_id, false, "JA-2026-118").await;
    assert!(matches!(again, Err(HubError::BadRequest(_))), "{again:?}");
    assert!(matches!(e.hub.decide_ticket(TicketId(Uuid::now_v7()), true, "X").await, Err(HubError::NotFound(_))));
    let (entries, _) = pc.pull_all(&e.hub, &cursor, 100).await;
    assert_eq!(entries.len(), 1);
    assert!(matches!(entries[0].origin, Origin::Hub { .. }));
    assert_eq!(
        entries[0].command,
        Command::RecordTicketDecision(c::RecordTicketDecision { ticket_id, approved: true, reference: "JA-2026-117".into() })
    );
    assert_eq!(entries[0].facility_id, Some(FAC_A));
    assert_eq!(entries[0].versions, [(r("ticket", ticket_id), 2)].into());

    let k = conclude(res);
    let o = pc.send(&e.hub, k.clone(), &refs(k.contract_id)).await;
    assert!(o.is_applied(), "{o:?}");
}

#[tokio::test]
async fn capacity_cannot_shrink_below_the_places_in_use() {
    let e = env().await;
    city(&e.hub).await; // A: 2 nursery places
    let mut pc = enrol(&e.hub, FAC_A, "PC").await;
    for name in ["Eins", "Zwei"] {
        let (_, app) = child_with_application(&mut pc, &e.hub, name).await;
        assert!(try_reserve(&mut pc, &e.hub, app).await.0.is_applied());
    }
    let refused = e.hub.upsert_facility(facility(FAC_A, PROVIDER, "Kita Sonnenblume", 1, 3)).await;
    assert!(matches!(refused, Err(HubError::BadRequest(_))), "{refused:?}");
    pc.versions.insert(r("facility", FAC_A), 1);
    let o = pc.send(&e.hub, facility(FAC_A, PROVIDER, "Kita Sonnenblume", 1, 3), &[r("facility", FAC_A)]).await;
    assert_eq!(rejected_code(&o), Some("capacity_below_bookings"), "{o:?}");
    let o = pc.send(&e.hub, facility(FAC_A, PROVIDER, "Kita Sonnenblume", 3, 3), &[r("facility", FAC_A)]).await;
    assert_eq!(o, Outcome::Applied { versions: [(r("facility", FAC_A), 2)].into() });
    let free = e.hub.free_places(day(2027, 8, 1)).await.unwrap();
    assert_eq!(free.iter().find(|f| f.facility_id == FAC_A && f.care_type == CareType::Nursery).unwrap().free, 1);
}
