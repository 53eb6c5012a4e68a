//! The app layer on the demo database: every UI call refuses without a session, while locked
//! and after the idle time; each call's permission check holds for every role.

use kitakontor_app::dto::*;
use kitakontor_store::demo::DEMO_PIN;
use std::time::Duration;

mod common;
use common::{code, demo_app, login};

#[tokio::test]
async fn every_call_refuses_without_session_and_while_locked() {
    let (_d, app) = demo_app().await;
    assert_eq!(code(app.overview().await), "not_logged_in");
    assert_eq!(code(app.waiting_list().await), "not_logged_in");
    let s = login(&app, "erzieherin").await;
    assert!(!s.locked && s.has_pin);
    assert_eq!(code(app.overview().await), "ok");
    app.lock();
    for c in [
        code(app.overview().await),
        code(app.attendance_today().await),
        code(app.search_children(SearchInput { query: String::new() }).await),
    ] {
        assert_eq!(c, "locked");
    }
    assert_eq!(code(app.unlock(UnlockInput { pin: Some("9999".into()), password: None }).await), "auth_failed");
    assert_eq!(code(app.overview().await), "locked", "a wrong PIN does not unlock");
    let s = app.unlock(UnlockInput { pin: Some(DEMO_PIN.into()), password: None }).await.unwrap();
    assert!(!s.locked);
    assert_eq!(code(app.overview().await), "ok");
    // Switching user closes the previous user's session entirely.
    app.logout();
    assert_eq!(code(app.attendance_today().await), "not_logged_in");
}

#[tokio::test]
async fn the_session_locks_itself_after_the_idle_time() {
    let (_d, app) = demo_app().await;
    let app = app.with_idle(Duration::from_secs(1));
    login(&app, "leitung").await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(code(app.waiting_list().await), "ok", "within the idle time");
    tokio::time::sleep(Duration::from_millis(600)).await;
    // 1.2 s after login, but only ~0.6 s after the last activity: still open.
    assert!(!app.touch().await.unwrap().unwrap().locked, "activity resets the timer");
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(code(app.overview().await), "locked");
    assert!(app.session().await.unwrap().unwrap().locked);
}

#[tokio::test]
async fn each_call_checks_the_permission_of_every_role() {
    let (_d, app) = demo_app().await;
    // Ids to aim at: a child in the educator's group with a guardian, and an open application.
    login(&app, "erzieherin").await;
    let child = app.attendance_today().await.unwrap()[0].child_id;
    login(&app, "leitung").await;
    let guardian = app.child_detail(ChildRef { child_id: child }).await.unwrap().guardians[0].id;
    let office = app.users().await.unwrap().into_iter().find(|a| a.username == "verwaltung").unwrap().user_id;
    let open = app
        .waiting_list()
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.state == kitakontor_core::application::ApplicationState::Open)
        .unwrap()
        .application_id;

    // Expected result per role: "ok", or "permission_denied". Columns: traeger, leitung,
    // verwaltung, erzieherin, technik.
    let table: &[(&str, [&str; 5])] = &[
        ("search_children", ["ok", "ok", "ok", "ok", "permission_denied"]),
        ("child_detail", ["ok", "ok", "ok", "ok", "permission_denied"]),
        ("child_health", ["ok", "ok", "permission_denied", "ok", "permission_denied"]),
        ("guardian_finance", ["ok", "permission_denied", "ok", "permission_denied", "permission_denied"]),
        ("waiting_list", ["ok", "ok", "permission_denied", "permission_denied", "permission_denied"]),
        ("contracts", ["ok", "ok", "ok", "permission_denied", "permission_denied"]),
        ("attendance_today", ["ok", "ok", "permission_denied", "ok", "permission_denied"]),
        ("users", ["ok", "ok", "permission_denied", "permission_denied", "ok"]),
        ("set_idle_minutes", ["ok", "ok", "permission_denied", "permission_denied", "ok"]),
        ("groups", ["ok", "ok", "ok", "ok", "permission_denied"]),
        ("reserve", ["ok", "ok", "permission_denied", "permission_denied", "permission_denied"]),
        ("set_user_role", ["ok", "ok", "permission_denied", "permission_denied", "ok"]),
    ];
    let users = ["traeger", "leitung", "verwaltung", "erzieherin", "technik"];
    for (i, user) in users.iter().enumerate() {
        login(&app, user).await;
        for (call, expected) in table {
            let got = match *call {
                "search_children" => code(app.search_children(SearchInput { query: String::new() }).await),
                "child_detail" => code(app.child_detail(ChildRef { child_id: child }).await),
                "child_health" => code(app.child_health(ChildRef { child_id: child }).await),
                "guardian_finance" => code(app.guardian_finance(GuardianRef { guardian_id: guardian }).await),
                "waiting_list" => code(app.waiting_list().await),
                "contracts" => code(app.contracts().await),
                "attendance_today" => code(app.attendance_today().await),
                "users" => code(app.users().await),
                "set_idle_minutes" => code(app.set_idle_minutes(IdleInput { minutes: 10 }).await),
                "groups" => code(app.groups().await),
                // Aim at another account: the office's (each role may or may not change it).
                "set_user_role" => {
                    code(app.set_user_role(SetRoleInput { user_id: office, role: kitakontor_core::permission::Role::Office }).await)
                }
                // Reserving twice is a rule violation, not a permission problem: compare only denials.
                "reserve" => {
                    let c = code(app.reserve(ReserveInput { application_id: open, start_date: None }).await);
                    if c == "permission_denied" {
                        c
                    } else {
                        "ok".into()
                    }
                }
                other => unreachable!("{other}"),
            };
            assert_eq!(got, expected[i], "{user} × {call}");
        }
    }
    // Idle time is bounded: never beyond 15 minutes.
    login(&app, "leitung").await;
    assert_eq!(code(app.set_idle_minutes(IdleInput { minutes: 16 }).await), "rule_violated");
}

#[tokio::test]
async fn a_reservation_changes_the_overview_and_errors_are_german() {
    let (_d, app) = demo_app().await;
    login(&app, "leitung").await;
    let entry =
        app.waiting_list().await.unwrap().into_iter().find(|e| e.state == kitakontor_core::application::ApplicationState::Open).unwrap();
    let month = kitakontor_core::care::month_start(entry.wanted_start);
    let free = |o: &Overview| o.months.iter().find(|m| m.month == month && m.care_type == entry.care_type).map(|m| m.free);
    let before = free(&app.overview().await.unwrap());
    app.reserve(ReserveInput { application_id: entry.application_id, start_date: None }).await.unwrap();
    let after = free(&app.overview().await.unwrap());
    if let (Some(b), Some(a)) = (before, after) {
        assert_eq!(a, b - 1);
    }
    let e = app.reserve(ReserveInput { application_id: entry.application_id, start_date: None }).await.unwrap_err();
    assert_eq!(e.code, "rule_violated");
    assert!(e.message.contains("Status „Reserviert“"), "{}", e.message);
    let bad = app
        .conclude_contract(ConcludeInput {
            reservation_id: entry.reservation_id.unwrap_or(kitakontor_core::ids::ReservationId(uuid::Uuid::nil())),
            care_hours: 13.0,
            start_date: None,
            settling_in_weeks: 4,
        })
        .await
        .unwrap_err();
    assert!(bad.message.contains("Betreuungsumfang") || bad.code == "not_found", "{bad:?}");
}
