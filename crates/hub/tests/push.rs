//! Push: order, idempotency, gaps, erased commands, versions.

mod common;

use common::*;
use kitakontor_core::command::{self as c, SCHEMA_VERSION};
use kitakontor_core::ids::CommandId;
use kitakontor_core::protocol::{AuditHead, Outcome, PushRequest};
use kitakontor_hub::HubError;
use uuid::Uuid;

#[tokio::test]
async fn commands_apply_in_order_with_versions() {
    let e = env().await;
    city(&e.hub).await;
    let mut d = enrol(&e.hub, FAC_A, "PC").await;
    let child = new_child(FAC_A, "Anna", "Beispiel");
    let id = child.child_id;
    let c1 = d.command(child, &[r("child", id)]);
    let c2 = d.command(
        c::UpdateChild {
            child_id: id,
            first_name: Some("Hanna".into()),
            last_name: None,
            birth_date: None,
            address: None,
            municipality: None,
            group_id: None,
        },
        &[r("child", id)],
    );
    // The second command's base is what the author saw after the first (version 1).
    let mut c2 = c2;
    c2.base_versions.insert(r("child", id), 1);
    let mut req = d.request(vec![c1, c2]);
    req.audit_head = Some(AuditHead { seq: 7, hash: "ab".repeat(32) });
    let reply = e.hub.push(&d.auth, req).await.unwrap();
    assert_eq!(reply.acked_seq, 2);
    assert_eq!(reply.results.iter().map(|r| r.client_seq).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(reply.results[0].outcome, Outcome::Applied { versions: [(r("child", id), 1)].into() });
    assert_eq!(reply.results[1].outcome, Outcome::Applied { versions: [(r("child", id), 2)].into() });
    let name: String =
        sqlx::query_scalar("SELECT first_name FROM children WHERE id = $1").bind(id.0).fetch_one(e.hub.pool()).await.unwrap();
    assert_eq!(name, "Hanna");
    let dev = e.hub.devices().await.unwrap().remove(0);
    assert_eq!(dev.audit_head, Some(AuditHead { seq: 7, hash: "ab".repeat(32) }));
    assert_eq!(dev.acked_seq, 2);
    // The log: two entries, device origin, facility scope.
    let (entries, _) = d.pull_all(&e.hub, &Default::default(), 100).await;
    let mine: Vec<_> = entries.iter().filter(|x| x.facility_id == Some(FAC_A)).collect();
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0].origin.command_id(), reply.results[0].command_id);
    assert_eq!(mine[1].versions, [(r("child", id), 2)].into());
}

#[tokio::test]
async fn a_repeated_push_returns_the_stored_results_and_applies_nothing_twice() {
    let e = env().await;
    city(&e.hub).await;
    let mut d = enrol(&e.hub, FAC_A, "PC").await;
    let cmds: Vec<_> = (0..5)
        .map(|i| {
            let ch = new_child(FAC_A, &format!("Kind{i}"), "Doppelt");
            let id = ch.child_id;
            d.command(ch, &[r("child", id)])
        })
        .collect();
    let first = e.hub.push(&d.auth, d.request(cmds.clone())).await.unwrap();
    let rows = log_rows(&e.hub).await;
    // The same batch again (the reply was lost), and a batch that starts before the acked seq.
    let again = e.hub.push(&d.auth, d.request(cmds.clone())).await.unwrap();
    assert_eq!(again, first);
    let extra = {
        let ch = new_child(FAC_A, "Neu", "Doppelt");
        let id = ch.child_id;
        d.command(ch, &[r("child", id)])
    };
    let mut overlap = cmds[3..].to_vec();
    overlap.push(extra);
    let third = e.hub.push(&d.auth, d.request(overlap)).await.unwrap();
    assert_eq!(third.results[..2], first.results[3..]);
    assert!(third.results[2].outcome.is_applied());
    assert_eq!(third.acked_seq, 6);
    assert_eq!(log_rows(&e.hub).await, rows + 1);
    let children: i64 = sqlx::query_scalar("SELECT count(*) FROM children").fetch_one(e.hub.pool()).await.unwrap();
    assert_eq!(children, 6);

    // Same command id under another sequence number: refused before anything happens.
    let mut bad = cmds[0].clone();
    bad.client_seq = 7;
    let r = e.hub.push(&d.auth, PushRequest { device_id: d.auth.device_id, from_seq: 7, commands: vec![bad], audit_head: None }).await;
    assert!(matches!(r, Err(HubError::BadRequest(_))), "{r:?}");
    // Another command id under a stored sequence number, too.
    let mut other = cmds[1].clone();
    other.command_id = CommandId(Uuid::now_v7());
    let r = e.hub.push(&d.auth, PushRequest { device_id: d.auth.device_id, from_seq: 2, commands: vec![other], audit_head: None }).await;
    assert!(matches!(r, Err(HubError::BadRequest(_))), "{r:?}");
    assert_eq!(log_rows(&e.hub).await, rows + 1);
}

#[tokio::test]
async fn a_gap_answers_the_expected_sequence() {
    let e = env().await;
    city(&e.hub).await;
    let mut d = enrol(&e.hub, FAC_A, "PC").await;
    let c1 = {
        let ch = new_child(FAC_A, "Eins", "Folge");
        let id = ch.child_id;
        d.command(ch, &[r("child", id)])
    };
    d.push(&e.hub, vec![c1]).await;
    d.next_seq = 5;
    let c5 = {
        let ch = new_child(FAC_A, "Fünf", "Folge");
        let id = ch.child_id;
        d.command(ch, &[r("child", id)])
    };
    let r = e.hub.push(&d.auth, d.request(vec![c5])).await;
    assert!(matches!(r, Err(HubError::Gap { expected: 2 })), "{r:?}");
    // A batch with a hole inside is malformed.
    let mut a = d.command(new_child(FAC_A, "A", "B"), &[]);
    a.client_seq = 2;
    let mut b = a.clone();
    b.client_seq = 4;
    b.command_id = CommandId(Uuid::now_v7());
    let r = e.hub.push(&d.auth, PushRequest { device_id: d.auth.device_id, from_seq: 2, commands: vec![a, b], audit_head: None }).await;
    assert!(matches!(r, Err(HubError::BadRequest(_))), "{r:?}");
    // An empty push tells the acknowledged sequence.
    let r =
        e.hub.push(&d.auth, PushRequest { device_id: d.auth.device_id, from_seq: 2, commands: vec![], audit_head: None }).await.unwrap();
    assert_eq!(r.acked_seq, 1);
}

#[tokio::test]
async fn an_erased_command_is_acknowledged_and_logs_nothing() {
    let e = env().await;
    city(&e.hub).await;
    let mut d = enrol(&e.hub, FAC_A, "PC").await;
    let mut erased = d.command(new_child(FAC_A, "Gelöscht", "Kind"), &[]);
    erased.command = None;
    erased.base_versions.clear();
    let before = log_rows(&e.hub).await;
    let out = d.push(&e.hub, vec![erased]).await;
    assert_eq!(out, vec![Outcome::Applied { versions: Default::default() }]);
    assert_eq!(log_rows(&e.hub).await, before);
    let children: i64 = sqlx::query_scalar("SELECT count(*) FROM children").fetch_one(e.hub.pool()).await.unwrap();
    assert_eq!(children, 0);
    assert_eq!(e.hub.push(&d.auth, d.request(vec![])).await.unwrap().acked_seq, 1);
}

#[tokio::test]
async fn an_unknown_schema_version_needs_an_upgrade_and_stores_nothing() {
    let e = env().await;
    city(&e.hub).await;
    let mut d = enrol(&e.hub, FAC_A, "PC").await;
    let ok = d.command(new_child(FAC_A, "Alt", "Schema"), &[]);
    let mut future = d.command(new_child(FAC_A, "Neu", "Schema"), &[]);
    future.schema_version = SCHEMA_VERSION + 1;
    let before = log_rows(&e.hub).await;
    let r = e.hub.push(&d.auth, d.request(vec![ok, future])).await;
    assert!(matches!(r, Err(HubError::UpgradeRequired { .. })), "{r:?}");
    assert_eq!(log_rows(&e.hub).await, before);
    let results: i64 = sqlx::query_scalar("SELECT count(*) FROM results").fetch_one(e.hub.pool()).await.unwrap();
    assert_eq!(results, 0);
}

#[tokio::test]
async fn the_device_id_comes_from_the_token() {
    let e = env().await;
    city(&e.hub).await;
    let mut a = enrol(&e.hub, FAC_A, "PC A").await;
    let b = enrol(&e.hub, FAC_B, "PC B").await;
    let cmd = a.command(new_child(FAC_A, "X", "Y"), &[]);
    let mut req = a.request(vec![cmd]);
    req.device_id = b.auth.device_id;
    let r = e.hub.push(&a.auth, req).await;
    assert!(matches!(r, Err(HubError::BadRequest(_))), "{r:?}");
}

#[tokio::test]
async fn an_unknown_record_with_a_base_is_refused_and_deleting_an_unknown_child_is_a_no_op() {
    let e = env().await;
    city(&e.hub).await;
    let mut d = enrol(&e.hub, FAC_A, "PC").await;
    let ghost = kitakontor_core::ids::ChildId(Uuid::now_v7());
    let mut pc = d.command(
        c::UpdateChild {
            child_id: ghost,
            first_name: Some("Geist".into()),
            last_name: None,
            birth_date: None,
            address: None,
            municipality: None,
            group_id: None,
        },
        &[r("child", ghost)],
    );
    pc.base_versions.insert(r("child", ghost), 3);
    let out = d.push(&e.hub, vec![pc]).await.remove(0);
    match &out {
        Outcome::Rejected { code, message, .. } => {
            assert_eq!(code, "unknown_record");
            assert!(message.contains("ist dem Hub nicht bekannt (wurde eine frühere Änderung abgelehnt?)"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let before = log_rows(&e.hub).await;
    let mut del = d.command(c::DeleteChild { child_id: ghost }, &[r("child", ghost)]);
    del.base_versions.insert(r("child", ghost), 2);
    assert_eq!(d.push(&e.hub, vec![del]).await, vec![Outcome::Applied { versions: Default::default() }]);
    assert_eq!(log_rows(&e.hub).await, before);
}

#[tokio::test]
async fn deleting_a_child_removes_it_from_the_read_models() {
    let e = env().await;
    city(&e.hub).await;
    let mut d = enrol(&e.hub, FAC_A, "PC").await;
    let (child, _) = child_with_application(&mut d, &e.hub, "Weg").await;
    let out = d.send(&e.hub, c::DeleteChild { child_id: child }, &[r("child", child)]).await;
    assert!(out.is_applied(), "{out:?}");
    let (children, applications, fields): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM children), (SELECT count(*) FROM applications), (SELECT count(*) FROM record_fields WHERE ref = $1)",
    )
    .bind(r("child", child))
    .fetch_one(e.hub.pool())
    .await
    .unwrap();
    assert_eq!((children, applications, fields), (0, 0, 0));
}

#[tokio::test]
async fn reset_empties_the_hub() {
    let e = env().await;
    city(&e.hub).await;
    let mut d = enrol(&e.hub, FAC_A, "PC").await;
    child_with_application(&mut d, &e.hub, "Weg").await;
    e.hub.reset().await.unwrap();
    assert_eq!(log_rows(&e.hub).await, 0);
    assert!(e.hub.devices().await.unwrap().is_empty());
    assert!(e.hub.free_places(day(2027, 8, 1)).await.unwrap().is_empty());
    // The log's sequence starts again.
    city(&e.hub).await;
    let seq: i64 = sqlx::query_scalar("SELECT min(seq) FROM log").fetch_one(e.hub.pool()).await.unwrap();
    assert_eq!(seq, 1);
}

fn attendance(child: kitakontor_core::ids::ChildId) -> c::RecordAttendance {
    c::RecordAttendance {
        event_id: kitakontor_core::ids::AttendanceEventId(Uuid::now_v7()),
        child_id: child,
        date: day(2026, 11, 24),
        kind: kitakontor_core::attendance::AttendanceKind::CheckIn,
        at: start_time(),
        corrects: None,
    }
}

#[tokio::test]
async fn a_command_failing_inside_a_batch_keeps_the_ones_before_and_stores_nothing_of_itself() {
    // The hub commits a command's transaction together with the next one's BEGIN; a failure in
    // the middle of a batch must still leave exactly the commands before it.
    let e = env().await;
    city(&e.hub).await;
    let mut d = enrol(&e.hub, FAC_A, "PC").await;
    let child = new_child(FAC_A, "Mitte", "Fehler");
    let id = child.child_id;
    let first = d.command(child, &[r("child", id)]);
    // An id the log already has (the hub's own facility entry) but no result: it passes the
    // request's checks and fails when the command is filed.
    let taken: Uuid = sqlx::query_scalar("SELECT command_id FROM log LIMIT 1").fetch_one(e.hub.pool()).await.unwrap();
    let mut second = d.command(attendance(id), &[r("child", id)]);
    second.command_id = CommandId(taken);
    second.base_versions.insert(r("child", id), 1);
    let before = log_rows(&e.hub).await;
    let res = e.hub.push(&d.auth, d.request(vec![first.clone(), second])).await;
    assert!(matches!(res, Err(HubError::BadRequest(_))), "{res:?}");
    assert_eq!(log_rows(&e.hub).await, before + 1);
    let results: Vec<i64> = sqlx::query_scalar("SELECT client_seq FROM results ORDER BY 1").fetch_all(e.hub.pool()).await.unwrap();
    assert_eq!(results, vec![1]);
    // The first one is stored: pushed again, it gets its result; the second goes through with its own id.
    let again = e.hub.push(&d.auth, d.request(vec![first])).await.unwrap();
    assert_eq!(again.results[0].outcome, Outcome::Applied { versions: [(r("child", id), 1)].into() });
    d.next_seq = 2;
    let out = d.send(&e.hub, attendance(id), &[r("child", id)]).await;
    assert_eq!(out, Outcome::Applied { versions: [(r("child", id), 2)].into() });
}

#[tokio::test]
async fn a_push_cancelled_while_it_waits_for_a_lock_leaves_no_transaction_behind() {
    use sha2::{Digest, Sha256};
    let e = env().await;
    city(&e.hub).await;
    let mut d = enrol(&e.hub, FAC_A, "PC").await;
    let child = new_child(FAC_A, "Warte", "Schlange");
    let id = child.child_id;
    assert!(d.send(&e.hub, child, &[r("child", id)]).await.is_applied());
    // Another transaction holds the child's record lock (the key as records.rs computes it).
    let key = i64::from_be_bytes(Sha256::digest(format!("record:child:{id}").as_bytes())[..8].try_into().unwrap());
    let mut blocker = e.hub.pool().begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(key).execute(&mut *blocker).await.unwrap();
    let cmd = d.command(attendance(id), &[r("child", id)]);
    let waited = tokio::time::timeout(std::time::Duration::from_millis(300), e.hub.push(&d.auth, d.request(vec![cmd.clone()]))).await;
    assert!(waited.is_err(), "the push waits for the lock: {waited:?}");
    blocker.commit().await.unwrap();
    // The cancelled push's connection is closed, not put back into the pool in the middle of its
    // transaction with the device's and the child's locks.
    let mut locks: i64 = -1;
    for _ in 0..50 {
        locks = sqlx::query_scalar("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").fetch_one(e.hub.pool()).await.unwrap();
        if locks == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(locks, 0, "advisory locks left behind");
    let reply = e.hub.push(&d.auth, d.request(vec![cmd])).await.unwrap();
    assert_eq!(reply.results[0].outcome, Outcome::Applied { versions: [(r("child", id), 2)].into() });
    assert_eq!(reply.acked_seq, 2);
}
