//! Sync with the real binaries: `kitakontor sync now` (the desktop side) is killed with SIGKILL
//! at random moments while it pushes and pulls, and the hub (`kitakontor-hub serve`) is
//! killed and restarted during pushes, ≥ 100 times each, while `kitakontor stress` keeps
//! adding commands offline. Afterwards, with the network quiet: every command of the PC is
//! in the hub's log exactly once, the outbox is empty, the database file is intact.
//!
//! `KITAKONTOR_SYNC_KILLS` (rounds, default 200) and `KITAKONTOR_SYNC_SEED` (default 1).

use crate::util::{cli, init};
use kitakontor_hub::testing::TestPostgres;
use kitakontor_store::key::DbKey;
use kitakontor_store::Store;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn hub_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kitakontor-hub-under-test"))
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct HubProcess {
    url: String,
    listen: String,
    child: Option<Child>,
}

impl HubProcess {
    fn cmd(&self) -> Command {
        let mut c = Command::new(hub_bin());
        c.env("KITAKONTOR_HUB_DATABASE_URL", &self.url).env("KITAKONTOR_HUB_LISTEN", &self.listen).env("RUST_LOG", "warn");
        c
    }

    fn admin(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().unwrap();
        assert!(out.status.success(), "kitakontor-hub {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    fn start(&mut self) {
        let child = self.cmd().arg("serve").stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        self.child = Some(child);
        // Ready when /health answers.
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if std::net::TcpStream::connect(&self.listen).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("hub did not start");
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn facility_of(db: &Path, key: &DbKey) -> (String, String) {
    let store = Store::open(db, key).await.unwrap();
    let row: (String, String) = sqlx::query_as("SELECT id, provider_id FROM facilities LIMIT 1").fetch_one(store.pool()).await.unwrap();
    store.close().await;
    row
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_pc_and_restarted_hub_lose_and_duplicate_nothing() {
    let kills = env_u64("KITAKONTOR_SYNC_KILLS", 200);
    let seed = env_u64("KITAKONTOR_SYNC_SEED", 1);
    eprintln!("sync black-box test: {kills} rounds, seed {seed} (KITAKONTOR_SYNC_SEED={seed} replays the schedule)");
    let pg = TestPostgres::start().expect("PostgreSQL");
    let url = pg.create_database("blackbox").await.unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut hub = HubProcess { url: url.clone(), listen: listen.clone(), child: None };
    hub.admin(&["migrate"]);

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kita.db");
    let tokens = dir.path().join("hub-tokens.json");
    let key = DbKey::generate();
    init(&db, &key.to_hex());
    let (facility, provider) = facility_of(&db, &key).await;
    hub.admin(&[
        "facility",
        "add",
        "--id",
        &facility,
        "--provider-id",
        &provider,
        "--provider-name",
        "Träger",
        "--name",
        "Kita Prüfstand",
        "--municipality",
        "Leipzig",
        "--capacity",
        "nursery=10,kindergarten=20",
    ]);
    let code = hub.admin(&["enrol-code", "--facility", &facility]).lines().last().unwrap().trim().to_string();
    hub.start();
    let hub_url = format!("http://{listen}");
    let pc = |user: Option<&str>| {
        let mut c = cli(&db, &key.to_hex(), user);
        c.env("KITAKONTOR_TOKEN_FILE", &tokens);
        c
    };
    let out = pc(Some("leitung")).args(["sync", "enrol", "--hub", &hub_url, "--code", &code, "--name", "Prüf-PC"]).output().unwrap();
    assert!(out.status.success(), "enrol: {}", String::from_utf8_lossy(&out.stderr));

    let mut rng = StdRng::seed_from_u64(seed);
    let (mut pc_kills, mut hub_restarts) = (0, 0);
    let started = Instant::now();
    for round in 0..kills {
        // New work offline.
        let n = rng.gen_range(5..40);
        let out = pc(Some("leitung"))
            .args(["stress", "--seed", &(seed * 1_000_000 + round).to_string(), "--count", &n.to_string()])
            .output()
            .unwrap();
        assert!(out.status.success(), "stress: {}", String::from_utf8_lossy(&out.stderr));
        // Sync, and kill the PC and/or the hub in the middle of it.
        let mut sync = pc(None).args(["sync", "now"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let restart_hub = rng.gen_bool(0.6) || round < 2;
        let kill_pc_after = Duration::from_millis(rng.gen_range(0..120));
        if restart_hub {
            std::thread::sleep(Duration::from_millis(rng.gen_range(0..60)));
            hub.kill();
            hub_restarts += 1;
        }
        std::thread::sleep(kill_pc_after);
        if sync.try_wait().unwrap().is_none() {
            pc_kills += 1;
        }
        let _ = sync.kill(); // SIGKILL
        let _ = sync.wait();
        if restart_hub {
            hub.start();
        }
    }
    // Everyone kills the PC at least sometimes in the middle; tell how often.
    eprintln!("{kills} rounds in {:.1} s: PC killed mid-sync {pc_kills}×, hub restarted {hub_restarts}×", started.elapsed().as_secs_f64());
    assert!(hub_restarts >= kills / 2 && pc_kills >= kills / 3, "the schedule must kill both sides often");

    // Quiet network: sync until the outbox is empty.
    let mut last = String::new();
    for _ in 0..20 {
        let out = pc(None).args(["sync", "now"]).output().unwrap();
        last = String::from_utf8_lossy(&out.stderr).to_string();
        let status = pc(None).args(["--json", "sync", "status"]).output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
        if out.status.success() && v["pending"] == 0 {
            break;
        }
    }
    let store = Store::open(&db, &key).await.unwrap();
    assert_eq!(store.integrity_check().await.unwrap(), vec!["ok".to_string()]);
    let outbox: Vec<(String, String)> =
        sqlx::query_as("SELECT command_id, status FROM outbox ORDER BY client_seq").fetch_all(store.pool()).await.unwrap();
    let pending = outbox.iter().filter(|r| r.1 == "pending").count();
    assert_eq!(pending, 0, "outbox drained (last sync: {last})");
    let hubdb = kitakontor_hub::Hub::connect(&url).await.unwrap();
    for (cid, status) in &outbox {
        let n: i64 =
            sqlx::query_scalar("SELECT count(*) FROM log WHERE command_id = $1::uuid").bind(cid).fetch_one(hubdb.pool()).await.unwrap();
        let inbox: Option<(String, String)> =
            sqlx::query_as("SELECT name, outcome FROM inbox WHERE command_id = ?").bind(cid).fetch_optional(store.pool()).await.unwrap();
        match (status.as_str(), n, &inbox) {
            ("applied", 1, None) => {}
            // The facility the PC set up offline before enrolling is also registered by the city:
            // a conflict for a person to look at, as it should be.
            ("conflict", 0, Some((name, _))) if name == "UpsertFacility" => {}
            _ => panic!("command {cid} is {status}, {n}× in the hub's log, inbox: {inbox:?}"),
        }
    }
    let logged: i64 = sqlx::query_scalar("SELECT count(*) FROM log").fetch_one(hubdb.pool()).await.unwrap();
    eprintln!("{} commands of the PC, {logged} entries in the hub's log", outbox.len());
    store.close().await;
}
