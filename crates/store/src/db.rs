//! Opening and creating the encrypted database.
//!
//! SQLCipher with a raw 256-bit key, WAL, `synchronous=FULL` (a committed command survives
//! power loss), foreign keys on, `secure_delete=ON` (deleted child data is overwritten, not
//! left in free pages). `open` never creates a file: a missing or unreadable database is an
//! error, so a lost key can't silently turn into a new, empty database.

use crate::error::{Result, StoreError};
use crate::key::DbKey;
use crate::rows::OccupancyInputs;
use chrono::{DateTime, Utc};
use kitakontor_core::ids::FacilityId;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/local");

/// Occupancy inputs per facility with the audit head they were read at.
pub(crate) type OccupancyCache = Arc<Mutex<HashMap<FacilityId, (i64, Arc<OccupancyInputs>)>>>;

#[derive(Clone)]
pub struct Store {
    pub(crate) pool: SqlitePool,
    pub(crate) clock: Clock,
    pub(crate) occupancy_cache: OccupancyCache,
    /// The parsed fee rule sets with the "id:version,…" list they were parsed from (rows are
    /// only ever added, so an unchanged list means unchanged rules).
    pub(crate) rule_cache: Arc<Mutex<Option<(String, Arc<kitakontor_core::fee::RuleBook>)>>>,
    /// The synced tables' columns, for restoring undo images.
    pub(crate) undo_tables: Arc<crate::sync::UndoTables>,
}

impl Store {
    /// Creates a new database at `path`. Fails if the file exists.
    pub async fn create(path: &Path, key: &DbKey) -> Result<Store> {
        if path.exists() {
            return Err(StoreError::DatabaseExists(path.display().to_string()));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Conflict(format!("cannot create {}: {e}", dir.display())))?;
        }
        Self::connect(path, key, true).await
    }

    /// Opens an existing database. Fails if the file is missing or the key is wrong.
    pub async fn open(path: &Path, key: &DbKey) -> Result<Store> {
        if !path.exists() {
            return Err(StoreError::DatabaseMissing(path.display().to_string()));
        }
        Self::connect(path, key, false).await
    }

    async fn connect(path: &Path, key: &DbKey, create: bool) -> Result<Store> {
        init_sqlcipher_once();
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(create)
            .pragma("key", key.pragma_value())
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .pragma("secure_delete", "ON")
            // 16 MiB page cache per connection: every page read from disk costs an AES + HMAC,
            // so the working set of a facility (a few MiB) should stay decrypted in memory.
            .pragma("cache_size", "-16384")
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(opts).await.map_err(|e| map_open_error(e, path))?;
        // SQLCipher only notices a wrong key when it reads the first page.
        sqlx::query("SELECT count(*) FROM sqlite_master").execute(&pool).await.map_err(|e| map_open_error(e, path))?;
        MIGRATOR.run(&pool).await?;
        let undo_tables = Arc::new(crate::sync::install_undo_triggers(&pool).await?);
        Ok(Store {
            pool,
            clock: Arc::new(Utc::now),
            occupancy_cache: OccupancyCache::default(),
            rule_cache: Default::default(),
            undo_tables,
        })
    }

    /// Replaces the clock (tests, simulations).
    pub fn with_clock(mut self, clock: Clock) -> Store {
        self.clock = clock;
        self
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// Moves WAL content into the main file and truncates the WAL (used after deletions so
    /// erased data leaves the WAL too).
    pub async fn checkpoint(&self) -> Result<()> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&self.pool).await?;
        Ok(())
    }

    /// `PRAGMA integrity_check`; `Ok(())` iff SQLite answers "ok".
    pub async fn integrity_check(&self) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check").fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    pub async fn close(self) {
        self.pool.close().await;
    }

    /// Direct pool access for tests and tools that inspect the file.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// Process-wide set-up before the first connection, once.
///
/// 1. SQLCipher encrypts with OpenSSL's libcrypto, which by default frees its global state in an
///    `atexit` handler — while sqlx's SQLite worker threads may still be decrypting a page. The
///    process then crashes on its way out ("double free" in the CLI, SIGSEGV after a test binary
///    had passed). Asking OpenSSL, before its first use, not to clean up at exit removes the race;
///    the operating system frees the memory anyway.
/// 2. `sqlite3_initialize` marks SQLite initialised *before* it runs SQLCipher's extra init, so a
///    second thread opening a database at that moment sees an uninitialised SQLCipher and fails
///    with "PRAGMA key requires a key…" (seen once in CI, two stores opened in parallel). Running
///    the initialisation here, inside the `Once`, makes every other opener wait for it.
/// 3. SQLCipher frees its mutexes, heap and crypto provider in an `atexit` handler (and again
///    from `.fini_array`). sqlx closes connections on detached worker threads, so a close still
///    running when `main` returns touches freed memory: SIGSEGV after every test had passed
///    (about 1 run in 150 under load; core dump: main thread in `sqlcipher_atexit`, a worker in
///    `sqlite3Close`). An `on_exit` handler registered after SQLCipher's runs before it and ends
///    the process with the same status, skipping the teardown; the operating system frees the
///    memory, and SQLite's journal keeps the files consistent as it does on any kill.
fn init_sqlcipher_once() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        #[cfg(target_os = "linux")]
        {
            extern "C" {
                fn OPENSSL_init_crypto(opts: u64, settings: *const std::ffi::c_void) -> std::ffi::c_int;
            }
            // openssl/crypto.h: # define OPENSSL_INIT_NO_ATEXIT 0x00080000L
            const OPENSSL_INIT_NO_ATEXIT: u64 = 0x0008_0000;
            // SAFETY: a documented OpenSSL 1.1.1+ entry point, called with a null settings pointer.
            unsafe {
                OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, std::ptr::null());
            }
        }
        // SQLite's memory statistics take a global mutex on every malloc and nothing here reads
        // them (mutex calls were ~17 % of a bulk replay's profile). Only possible before
        // initialisation.
        // SAFETY: sqlite3_config before sqlite3_initialize, with the documented int argument.
        unsafe { libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS, 0 as std::ffi::c_int) };
        // SAFETY: sqlite3_initialize is thread-safe and idempotent; it takes no arguments.
        let rc = unsafe { libsqlite3_sys::sqlite3_initialize() };
        if rc != libsqlite3_sys::SQLITE_OK {
            // The first open reports the same failure with SQLite's message; nothing to add here.
            tracing::error!(rc, "SQLite/SQLCipher initialisation failed");
        }
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        {
            extern "C" {
                fn on_exit(function: extern "C" fn(std::ffi::c_int, *mut std::ffi::c_void), arg: *mut std::ffi::c_void) -> std::ffi::c_int;
                fn fflush(stream: *mut std::ffi::c_void) -> std::ffi::c_int;
                fn _exit(status: std::ffi::c_int) -> !;
            }
            extern "C" fn exit_without_teardown(status: std::ffi::c_int, _: *mut std::ffi::c_void) {
                // SAFETY: flushing all C streams and ending the process are valid at exit.
                // Rust's own stdout was flushed before `exit` was called.
                unsafe {
                    fflush(std::ptr::null_mut());
                    _exit(status)
                }
            }
            // SAFETY: glibc's `on_exit` with a handler that stays valid for the process lifetime.
            unsafe {
                on_exit(exit_without_teardown, std::ptr::null_mut());
            }
        }
    });
}

fn map_open_error(e: sqlx::Error, path: &Path) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.code().as_deref() == Some("26") {
            return StoreError::WrongKey(path.display().to_string());
        }
    }
    StoreError::Db(e)
}
