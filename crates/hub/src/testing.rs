//! Test support (feature `testing`): a real, throwaway PostgreSQL cluster and a clock tests move.
//!
//! ```no_run
//! # async fn t() {
//! let pg = kitakontor_hub::testing::TestPostgres::start().expect("PostgreSQL");
//! let url = pg.create_database("my_test").await.unwrap();
//! let hub = kitakontor_hub::Hub::connect(&url).await.unwrap();
//! # }
//! ```
//!
//! `TestPostgres::start` runs Debian's `initdb` into a temporary folder and starts `postgres`
//! with `pg_ctl` on a free port of 127.0.0.1; dropping it stops the cluster (`-m immediate`) and
//! removes the folder. PostgreSQL refuses to run as root: when the tests run as root, the
//! folder is handed to the `postgres` user (created by Debian's package) and the binaries run
//! through `runuser -u postgres`.

use chrono::{DateTime, Duration, Utc};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A running PostgreSQL cluster in a temporary folder.
#[derive(Debug)]
pub struct TestPostgres {
    dir: PathBuf,
    bindir: PathBuf,
    port: u16,
    /// `Some("postgres")` when the binaries must run as that user (we are root).
    run_as: Option<String>,
}

impl TestPostgres {
    /// Creates and starts a cluster. The error names what is missing.
    pub fn start() -> Result<TestPostgres, String> {
        let bindir = find_bindir().ok_or_else(|| {
            "PostgreSQL-Programme (initdb, pg_ctl) nicht gefunden: bitte das Debian-Paket `postgresql` installieren \
             (apt-get install postgresql); gesucht in `pg_config --bindir`, /usr/lib/postgresql/*/bin und PATH"
                .to_string()
        })?;
        let root = command_output(Command::new("id").arg("-u"))?.trim() == "0";
        let run_as = root.then(|| "postgres".to_string());
        let dir = std::env::temp_dir().join(format!(
            "kitakontor-pg-{}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut pg = TestPostgres { dir, bindir, port: 0, run_as };
        if let Some(user) = &pg.run_as {
            let uid: u32 = command_output(Command::new("id").args(["-u", user]))
                .map_err(|e| format!("{e} (der Benutzer `{user}` fehlt: Debian-Paket `postgresql` installieren)"))?
                .trim()
                .parse()
                .map_err(|_| format!("uid von {user} nicht lesbar"))?;
            let gid: u32 = command_output(Command::new("id").args(["-g", user]))?
                .trim()
                .parse()
                .map_err(|_| format!("gid von {user} nicht lesbar"))?;
            std::os::unix::fs::chown(&pg.dir, Some(uid), Some(gid)).map_err(|e| format!("chown {}: {e}", pg.dir.display()))?;
        }
        let data = pg.dir.join("data");
        let out = pg.run("initdb", &["-D", path(&data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"])?;
        check(&out, "initdb")?;
        // A free port can be taken by someone else between our look and the server's bind: retry.
        let mut last = String::new();
        for _ in 0..5 {
            pg.port = free_port()?;
            let options = format!(
                // fsync off: only for this throwaway test cluster (speed; a crash loses nothing we
                // need). The hub's durability trick (synchronous_commit) still behaves as in
                // production, it just does not wait for a disk.
                "-c fsync=off -c full_page_writes=off -c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories={} -c max_connections=200",
                pg.port,
                path(&pg.dir)
            );
            let log = pg.dir.join("postgres.log");
            let out = pg.run("pg_ctl", &["-w", "-t", "60", "-D", path(&data), "-l", path(&log), "-o", &options, "start"])?;
            if out.status.success() {
                return Ok(pg);
            }
            last = format!(
                "pg_ctl start: {}{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        Err(last)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of a database in this cluster (user `postgres`, no password).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates a database (name: letters, digits, `_`) and returns its URL.
    pub async fn create_database(&self, name: &str) -> Result<String, sqlx::Error> {
        use sqlx::Connection;
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(sqlx::Error::Configuration(format!("database name {name:?}: only letters, digits and _").into()));
        }
        let mut conn = sqlx::PgConnection::connect(&self.url("postgres")).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\""))).execute(&mut conn).await?;
        conn.close().await?;
        Ok(self.url(name))
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<Output, String> {
        let exe = self.bindir.join(program);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        cmd.args(args).current_dir(&self.dir);
        cmd.output().map_err(|e| format!("{} starten: {e}", exe.display()))
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        if self.port != 0 {
            let data = self.dir.join("data");
            let _ = self.run("pg_ctl", &["-D", path(&data), "-m", "immediate", "-w", "stop"]);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

fn check(out: &Output, what: &str) -> Result<(), String> {
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{what}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    }
}

fn command_output(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    check(&out, &format!("{cmd:?}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("freier Port: {e}"))?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

/// Where `initdb` and `pg_ctl` live: `pg_config --bindir`, Debian's versioned folders (newest
/// first), then PATH.
fn find_bindir() -> Option<PathBuf> {
    let has = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file() && d.join("postgres").is_file();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let d = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has(&d) {
            return Some(d);
        }
    }
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<(u32, PathBuf)> = entries
            .flatten()
            .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
            .filter(|(_, d): &(u32, PathBuf)| has(d))
            .collect();
        versions.sort();
        if let Some((_, d)) = versions.pop() {
            return Some(d);
        }
    }
    std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).find(|d| has(d)))
}

/// A clock that stands still until a test moves it. `clock()` gives the hub's `Clock`.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> ManualClock {
        ManualClock(Arc::new(Mutex::new(start)))
    }

    pub fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }

    pub fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = t;
    }

    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().expect("clock lock");
        *t += by;
    }

    pub fn clock(&self) -> crate::Clock {
        let c = self.clone();
        Arc::new(move || c.now())
    }
}
