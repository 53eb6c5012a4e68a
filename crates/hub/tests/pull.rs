//! Pull and snapshot: scope, paging, commit order under concurrency.

mod common;

use common::*;
use kitakontor_core::attendance::AttendanceKind;
use kitakontor_core::command::{self as c, Command};
use kitakontor_core::ids::*;
use kitakontor_core::permission::Role;
use kitakontor_core::protocol::{Cursor, LogEntry, Origin, Outcome};
use std::collections::{BTreeMap, HashSet};
use uuid::Uuid;

fn attendance(child: ChildId) -> c::RecordAttendance {
    c::RecordAttendance {
        event_id: AttendanceEventId(Uuid::now_v7()),
        child_id: child,
        date: day(2026, 11, 24),
        kind: AttendanceKind::CheckIn,
        at: start_time(),
        corrects: None,
    }
}

fn mentions(e: &LogEntry, id: Uuid) -> bool {
    serde_json::to_string(&e.command).unwrap().contains(&id.to_string())
}

#[tokio::test]
async fn a_device_sees_its_facility_its_provider_and_the_city_only() {
    let e = env().await;
    city(&e.hub).await;
    let mut a = enrol(&e.hub, FAC_A, "PC A").await;
    let mut b = enrol(&e.hub, FAC_B, "PC B").await;
    let mut cdev = enrol(&e.hub, FAC_C, "PC C").await;

    let (child_a, _) = child_with_application(&mut a, &e.hub, "Anna").await;
    let ev = attendance(child_a);
    assert!(a.send(&e.hub, ev.clone(), &[r("attendance", ev.event_id), r("child", child_a)]).await.is_applied());
    let (child_b, _) = child_with_application(&mut b, &e.hub, "Bert").await;
    // A provider-wide account (no facility) created at A: provider entry, B sees it, C does not.
    let user = c::CreateUser {
        user_id: UserId(Uuid::now_v7()),
        username: "traeger".into(),
        display_name: "Träger".into(),
        role: Role::ProviderAdmin,
        facility_id: None,
    };
    let user_id = user.user_id;
    assert!(a.send(&e.hub, user, &[r("user", user_id)]).await.is_applied());
    // C updates its own facility: a city entry everyone sees.
    let up = facility(FAC_C, OTHER_PROVIDER, "Kita Pusteblume am Park", 1, 1);
    // C knows its facility at version 1 (the hub's entry); a stale base would be a conflict.
    cdev.versions.insert(r("facility", FAC_C), 1);
    let o = cdev.send(&e.hub, up, &[r("facility", FAC_C)]).await;
    assert_eq!(o, Outcome::Applied { versions: [(r("facility", FAC_C), 2)].into() });

    let (seen_b, _) = b.pull_all(&e.hub, &Cursor::default(), 1000).await;
    assert!(seen_b.iter().all(|x| x.facility_id.is_none() || x.facility_id == Some(FAC_B)), "B got another facility's entry");
    assert!(!seen_b.iter().any(|x| mentions(x, child_a.0)), "B received A's child");
    assert!(seen_b.iter().any(|x| mentions(x, child_b.0)));
    assert!(seen_b.iter().any(|x| mentions(x, user_id.0)), "provider entries reach the provider's other facilities");
    let facilities_b = seen_b.iter().filter(|x| matches!(x.command, Command::UpsertFacility(_))).count();
    assert_eq!(facilities_b, 4, "3 facilities from the hub + C's own change");

    let (seen_c, _) = cdev.pull_all(&e.hub, &Cursor::default(), 1000).await;
    assert!(seen_c.iter().all(|x| x.facility_id.is_none() || x.facility_id == Some(FAC_C)));
    assert!(!seen_c.iter().any(|x| mentions(x, user_id.0)), "another provider's account");
    assert_eq!(seen_c.iter().filter(|x| matches!(x.command, Command::UpsertFacility(_))).count(), 4);
    assert!(seen_c
        .iter()
        .all(|x| x.provider_id.is_none() || x.provider_id == Some(OTHER_PROVIDER) || x.facility_id.is_none() && x.provider_id.is_none()));

    // The city's facility entries come from the hub, city-wide.
    let hub_entry = seen_c.iter().find(|x| matches!(x.origin, Origin::Hub { .. })).unwrap();
    assert_eq!((hub_entry.facility_id, hub_entry.provider_id, hub_entry.user_id), (None, None, None));

    let (seen_a, _) = a.pull_all(&e.hub, &Cursor::default(), 1000).await;
    assert!(seen_a.iter().any(|x| matches!(x.command, Command::RecordAttendance(_))));
    assert!(!seen_a.iter().any(|x| mentions(x, child_b.0)));

    // The snapshot holds the same entries as pulling from the start, and its cursor continues.
    let (head, snap) = b.auth_snapshot(&e.hub).await;
    assert_eq!(snap, seen_b);
    assert_eq!(head.entries as usize, snap.len());
    assert_eq!(head.acked_seq, b.next_seq - 1);
    let after = e.hub.pull(&b.auth, &head.cursor, 100).await.unwrap();
    assert!(after.entries.is_empty() && !after.more);
}

trait SnapshotExt {
    async fn auth_snapshot(&self, hub: &kitakontor_hub::Hub) -> (kitakontor_core::protocol::SnapshotHeader, Vec<LogEntry>);
}

impl SnapshotExt for Device {
    async fn auth_snapshot(&self, hub: &kitakontor_hub::Hub) -> (kitakontor_core::protocol::SnapshotHeader, Vec<LogEntry>) {
        hub.snapshot(&self.auth).await.unwrap()
    }
}

#[tokio::test]
async fn paging_returns_every_entry_exactly_once() {
    let e = env().await;
    city(&e.hub).await;
    let mut d = enrol(&e.hub, FAC_A, "PC").await;
    let batch = |d: &mut Device, n: usize| -> Vec<_> {
        (0..n)
            .map(|i| {
                let ch = new_child(FAC_A, &format!("Kind{i}"), "Seite");
                let id = ch.child_id;
                d.command(ch, &[r("child", id)])
            })
            .collect()
    };
    let first = batch(&mut d, 12);
    d.push(&e.hub, first).await;
    // Let the transaction ids cross a power of ten (999 → 1000): the log order is numeric.
    let xid: i64 = sqlx::query_scalar("SELECT pg_current_xact_id()::text::int8").fetch_one(e.hub.pool()).await.unwrap();
    let boundary = 10i64.pow(xid.to_string().len() as u32);
    if boundary - xid < 3000 {
        for _ in xid..boundary {
            sqlx::query("SELECT pg_current_xact_id()").execute(e.hub.pool()).await.unwrap();
        }
    }
    let second = batch(&mut d, 11);
    d.push(&e.hub, second).await;
    let (all, end) = d.pull_all(&e.hub, &Cursor::default(), 1000).await;
    assert_eq!(all.len(), 26); // 3 facilities + 23 children
                               // One device, one command after the other: log order is seq order.
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq), "{:?}", all.iter().map(|x| x.seq).collect::<Vec<_>>());
    for limit in [1, 2, 5, 7, 26, 27] {
        let (paged, end2) = d.pull_all(&e.hub, &Cursor::default(), limit).await;
        assert_eq!(paged, all, "limit {limit}");
        assert_eq!(end2, end);
    }
    let page = e.hub.pull(&d.auth, &Cursor::default(), 26).await.unwrap();
    assert!(page.more, "a full page says there may be more");
    assert_eq!(page.acked_seq, 23);
    let bad = e.hub.pull(&d.auth, &Cursor("nonsense".into()), 10).await;
    assert!(matches!(bad, Err(kitakontor_hub::HubError::BadRequest(_))));
}

/// 20 devices push concurrently (each its own children plus attendance of one shared child,
/// which bumps that child's version every time) while a 21st pulls in small pages the whole
/// time. Every entry arrives exactly once, and every record's versions arrive in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_pushes_are_pulled_exactly_once_in_version_order() {
    let e = env().await;
    city(&e.hub).await;
    let mut first = enrol(&e.hub, FAC_A, "PC 0").await;
    let shared = new_child(FAC_A, "Geteilt", "Kind");
    let shared_id = shared.child_id;
    assert!(first.send(&e.hub, shared, &[r("child", shared_id)]).await.is_applied());
    let reader = enrol(&e.hub, FAC_A, "Leser").await;

    const TASKS: usize = 20;
    const ROUNDS: usize = 6;
    let mut devices = vec![first];
    for i in 1..TASKS {
        devices.push(enrol(&e.hub, FAC_A, &format!("PC {i}")).await);
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let puller = {
        let hub = e.hub.clone();
        let auth = reader.auth;
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut cursor = Cursor::default();
            let mut got = Vec::new();
            loop {
                let done = stop.load(std::sync::atomic::Ordering::SeqCst);
                let page = hub.pull(&auth, &cursor, 7).await.unwrap();
                got.extend(page.entries);
                cursor = page.next_cursor;
                if done && !page.more {
                    return got;
                }
                if !page.more {
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
            }
        })
    };
    let mut tasks = Vec::new();
    for mut d in devices {
        let hub = e.hub.clone();
        tasks.push(tokio::spawn(async move {
            let mut applied = Vec::new();
            for round in 0..ROUNDS {
                let own = new_child(FAC_A, &format!("R{round}"), "Eigen");
                let own_id = own.child_id;
                let ev = attendance(shared_id);
                let c1 = d.command(own, &[r("child", own_id)]);
                let c2 = d.command(ev.clone(), &[r("attendance", ev.event_id), r("child", shared_id)]);
                let reply = hub.push(&d.auth, d.request(vec![c1, c2])).await.unwrap();
                for res in reply.results {
                    assert!(res.outcome.is_applied(), "{:?}", res.outcome);
                    applied.push(res.command_id);
                }
            }
            applied
        }));
    }
    let mut pushed = HashSet::new();
    for t in tasks {
        pushed.extend(t.await.unwrap());
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let got = puller.await.unwrap();

    let ids: Vec<CommandId> = got.iter().map(|x| x.origin.command_id()).collect();
    let unique: HashSet<CommandId> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "an entry arrived twice");
    assert!(pushed.iter().all(|id| unique.contains(id)), "an applied command never arrived");
    assert_eq!(pushed.len(), TASKS * ROUNDS * 2);

    // Per record: versions arrive as 1, 2, 3, … in delivery order.
    let mut last: BTreeMap<String, i64> = BTreeMap::new();
    for entry in &got {
        for (record, v) in &entry.versions {
            let prev = last.insert(record.clone(), *v).unwrap_or(0);
            assert_eq!(*v, prev + 1, "{record}: version {v} after {prev}");
        }
    }
    assert_eq!(last[&r("child", shared_id)], 1 + (TASKS * ROUNDS) as i64);

    // The same holds for a later pull from the start.
    let (again, _) = reader.pull_all(&e.hub, &Cursor::default(), 50).await;
    let seqs = |v: &[LogEntry]| v.iter().map(|x| x.seq).collect::<Vec<_>>();
    assert_eq!(seqs(&again), seqs(&got));
    assert_eq!(again, got);
}
