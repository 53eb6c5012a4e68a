//! Crash safety: `kitakontor stress` runs commands in a loop and prints `ACK <command_id>`
//! after each commit; we SIGKILL it at random moments. Afterwards the database must pass
//! `integrity_check`, every acknowledged command must be there exactly once with its outbox
//! and audit rows, the outbox sequence must have no gap, and every command's effect must be
//! there with it.
//!
//! `KITAKONTOR_CRASH_KILLS` (default 200) and `KITAKONTOR_CRASH_SEED` (default 1) control the
//! run; a failing seed replays the same kill schedule.

use crate::util::{cli, init};
use kitakontor_store::key::DbKey;
use kitakontor_store::Store;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::test]
async fn sigkill_never_loses_or_duplicates_an_acknowledged_command() {
    let kills = env_u64("KITAKONTOR_CRASH_KILLS", 200);
    let seed = env_u64("KITAKONTOR_CRASH_SEED", 1);
    eprintln!("crash test: {kills} kills, seed {seed} (KITAKONTOR_CRASH_SEED={seed} replays it)");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kita.db");
    let key = DbKey::generate();
    init(&db, &key.to_hex());
    let mut rng = StdRng::seed_from_u64(seed);
    let mut acked: Vec<String> = Vec::new();
    let mut killed_mid_run = 0;
    let started = Instant::now();
    for round in 0..kills {
        let mut child = cli(&db, &key.to_hex(), Some("leitung"))
            .args(["stress", "--seed", &(seed * 100_000 + round).to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // A quarter of the kills hit start-up (opening, migrations, login), the rest hit the
        // command loop some time after the first acknowledgement.
        let mut lines: Vec<String> = Vec::new();
        if rng.gen_bool(0.25) {
            std::thread::sleep(Duration::from_millis(rng.gen_range(0..250)));
        } else {
            lines.extend(rx.recv_timeout(Duration::from_secs(20)));
            std::thread::sleep(Duration::from_millis(rng.gen_range(0..60)));
            killed_mid_run += 1;
        }
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        reader.join().unwrap();
        lines.extend(rx.try_iter());
        // Only complete lines count: an acknowledgement is the whole line.
        acked.extend(lines.iter().filter_map(|l| l.strip_prefix("ACK ").and_then(|r| r.split(' ').next()).map(str::to_string)));
    }
    eprintln!(
        "crash test: {} acknowledged commands over {kills} kills ({killed_mid_run} mid-run) in {:.1} s",
        acked.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(acked.len() as u64 >= kills / 2, "the workload made progress");

    let store = Store::open(&db, &key).await.unwrap();
    assert_eq!(store.integrity_check().await.unwrap(), vec!["ok".to_string()]);
    let unique: HashSet<&String> = acked.iter().collect();
    assert_eq!(unique.len(), acked.len(), "no command id was acknowledged twice");
    for id in &acked {
        let n_out: i64 =
            sqlx::query_scalar("SELECT count(*) FROM outbox WHERE command_id = ?").bind(id).fetch_one(store.pool()).await.unwrap();
        let n_audit: i64 =
            sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE command_id = ?").bind(id).fetch_one(store.pool()).await.unwrap();
        assert_eq!((n_out, n_audit), (1, 1), "acknowledged command {id}");
    }
    let seqs: Vec<i64> = sqlx::query_scalar("SELECT client_seq FROM outbox ORDER BY client_seq").fetch_all(store.pool()).await.unwrap();
    for (i, s) in seqs.iter().enumerate() {
        assert_eq!(*s, i as i64 + 1, "outbox sequence has a gap");
    }
    // Effects and outbox rows go together: every CreateChild in the outbox has its child and
    // every child has its CreateChild.
    let orphans: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM outbox o WHERE o.name = 'CreateChild' AND NOT EXISTS (SELECT 1 FROM children c WHERE c.id = json_extract(o.args, '$.child_id')))
              + (SELECT count(*) FROM children c WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.name = 'CreateChild' AND json_extract(o.args, '$.child_id') = c.id))",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(orphans, 0);
    let (outbox_rows, audited): (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM outbox), (SELECT count(*) FROM audit_log WHERE command_id IS NOT NULL)")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(outbox_rows, audited, "one audit row per command");
    let report = store.verify_audit().await.unwrap();
    assert!(report.first_broken.is_none(), "{report:?}");
}
