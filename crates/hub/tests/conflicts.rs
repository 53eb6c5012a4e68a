//! The conflict policy against the database: field merge for children, whole-record for contracts.

mod common;

use common::*;
use kitakontor_core::command as c;
use kitakontor_core::ids::*;
use kitakontor_core::protocol::{FieldConflict, Outcome};
use serde_json::json;

fn update(child: ChildId) -> c::UpdateChild {
    c::UpdateChild {
        child_id: child,
        first_name: None,
        last_name: None,
        birth_date: None,
        address: None,
        municipality: None,
        group_id: None,
    }
}

#[tokio::test]
async fn different_fields_merge_and_the_same_field_keeps_both_values() {
    let e = env().await;
    city(&e.hub).await;
    let mut office = enrol(&e.hub, FAC_A, "Büro-PC").await;
    let mut group = enrol(&e.hub, FAC_A, "Gruppen-PC").await;
    let child = new_child(FAC_A, "Anna", "Schmidt");
    let id = child.child_id;
    assert!(office.send(&e.hub, child, &[r("child", id)]).await.is_applied());
    // Both PCs saw version 1.
    group.versions.insert(r("child", id), 1);

    // The office changes the last name (→ v2).
    let o = office.send(&e.hub, c::UpdateChild { last_name: Some("Schmidt-Meier".into()), ..update(id) }, &[r("child", id)]).await;
    assert_eq!(o, Outcome::Applied { versions: [(r("child", id), 2)].into() });

    // The group PC, still at v1, changes the municipality: another field, merged (→ v3).
    let o = group.send(&e.hub, c::UpdateChild { municipality: Some("Markkleeberg".into()), ..update(id) }, &[r("child", id)]).await;
    assert_eq!(o, Outcome::Applied { versions: [(r("child", id), 3)].into() });
    // Setting the last name to the value the hub has is no conflict either (→ v4).
    let o = group.send(&e.hub, c::UpdateChild { last_name: Some("Schmidt-Meier".into()), ..update(id) }, &[r("child", id)]).await;
    assert!(o.is_applied(), "{o:?}");

    // A third PC at v1 sets the last name to something else: conflict with both values.
    let mut third = enrol(&e.hub, FAC_A, "Leitung").await;
    third.versions.insert(r("child", id), 1);
    let o = third
        .send(&e.hub, c::UpdateChild { last_name: Some("Meier".into()), first_name: Some("Anne".into()), ..update(id) }, &[r("child", id)])
        .await;
    match o {
        Outcome::Conflict { record, fields, theirs_by } => {
            assert_eq!(record, r("child", id));
            assert_eq!(fields, vec![FieldConflict { field: "last_name".into(), theirs: json!("Schmidt-Meier"), ours: json!("Meier") }]);
            let by = theirs_by.unwrap();
            assert!(by.starts_with("UpdateChild von "), "{by}");
            assert!(by.contains("24.11.2026"), "{by}");
        }
        other => panic!("{other:?}"),
    }
    // Nothing of the conflicting command was applied: not even its other field.
    let (first, last, municipality): (String, String, String) =
        sqlx::query_as("SELECT first_name, last_name, municipality FROM children WHERE id = $1")
            .bind(id.0)
            .fetch_one(e.hub.pool())
            .await
            .unwrap();
    assert_eq!((first.as_str(), last.as_str(), municipality.as_str()), ("Anna", "Schmidt-Meier", "Markkleeberg"));
    let version: i64 =
        sqlx::query_scalar("SELECT version FROM records WHERE ref = $1").bind(r("child", id)).fetch_one(e.hub.pool()).await.unwrap();
    assert_eq!(version, 4);

    // With the current base the same change applies.
    third.versions.insert(r("child", id), 4);
    let o = third.send(&e.hub, c::UpdateChild { last_name: Some("Meier".into()), ..update(id) }, &[r("child", id)]).await;
    assert_eq!(o, Outcome::Applied { versions: [(r("child", id), 5)].into() });
}

#[tokio::test]
async fn attendance_bumps_the_child_without_blocking_master_data() {
    let e = env().await;
    city(&e.hub).await;
    let mut a = enrol(&e.hub, FAC_A, "PC 1").await;
    let mut b = enrol(&e.hub, FAC_A, "PC 2").await;
    let child = new_child(FAC_A, "Paul", "Klein");
    let id = child.child_id;
    a.send(&e.hub, child, &[r("child", id)]).await;
    b.versions.insert(r("child", id), 1);
    let ev = c::RecordAttendance {
        event_id: AttendanceEventId(uuid::Uuid::now_v7()),
        child_id: id,
        date: day(2026, 11, 24),
        kind: kitakontor_core::attendance::AttendanceKind::CheckIn,
        at: start_time(),
        corrects: None,
    };
    assert!(a.send(&e.hub, ev.clone(), &[r("attendance", ev.event_id), r("child", id)]).await.is_applied());
    // b saw v1, attendance made it v2: a health record is another set of fields, it merges.
    let o = b
        .send(
            &e.hub,
            c::RecordHealth { child_id: id, measles_proof: Some(day(2025, 5, 2)), health_notes: "Nussallergie".into() },
            &[r("child", id)],
        )
        .await;
    assert!(o.is_applied(), "{o:?}");
}

#[tokio::test]
async fn a_stale_contract_amendment_is_a_conflict() {
    let e = env().await;
    city(&e.hub).await;
    let mut a = enrol(&e.hub, FAC_A, "Büro").await;
    let (child, app) = child_with_application(&mut a, &e.hub, "Mia").await;
    let (o, res) = try_reserve(&mut a, &e.hub, app).await;
    assert!(o.is_applied(), "{o:?}");
    let k = conclude(res);
    let contract = k.contract_id;
    let o = a.send(&e.hub, k, &[r("contract", contract), r("reservation", res), r("application", app), r("child", child)]).await;
    assert!(o.is_applied(), "{o:?}");
    let mut b = a.clone();
    b.auth = enrol(&e.hub, FAC_A, "Leitung").await.auth;
    b.next_seq = 1;

    let amend = |note: &str| c::AmendContract {
        contract_id: contract,
        valid_from: day(2027, 9, 1),
        care_hours: "7".parse().unwrap(),
        note: note.into(),
    };
    // a amends (contract v1 → v2); b, still at v1, amends too: the contract changed under it.
    let o = a.send(&e.hub, amend("Wunsch der Eltern"), &[r("contract", contract)]).await;
    assert_eq!(o, Outcome::Applied { versions: [(r("contract", contract), 2)].into() });
    let o = b.send(&e.hub, amend("anderer Wunsch"), &[r("contract", contract)]).await;
    match o {
        Outcome::Conflict { record, fields, theirs_by } => {
            assert_eq!(record, r("contract", contract));
            assert!(fields.is_empty());
            assert!(theirs_by.unwrap().starts_with("AmendContract von Büro am 24.11.2026"));
        }
        other => panic!("{other:?}"),
    }
    // Terminating with the old base is a conflict too; with the current one it applies.
    let term = c::TerminateContract { contract_id: contract, end_date: day(2028, 7, 31), reason: "Umzug".into() };
    assert!(matches!(b.send(&e.hub, term.clone(), &[r("contract", contract)]).await, Outcome::Conflict { .. }));
    b.versions.insert(r("contract", contract), 2);
    assert!(b.send(&e.hub, term, &[r("contract", contract)]).await.is_applied());
    let period: String = sqlx::query_scalar("SELECT period::text FROM bookings WHERE contract_id = $1")
        .bind(contract.0)
        .fetch_one(e.hub.pool())
        .await
        .unwrap();
    assert_eq!(period, "[2027-08-01,2028-08-01)");
}
