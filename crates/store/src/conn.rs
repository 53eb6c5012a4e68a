//! How the command handlers talk to SQLite: one small API (`exec`, `all`, `opt`, `one`) over
//! two engines.
//!
//! - `Conn::Sqlx`: sqlx's connection, for everyday commands. sqlx runs every statement on its
//!   worker thread, so each statement costs a round trip between two threads (two context
//!   switches, tens of microseconds here).
//! - `Conn::Raw`: the same connection's `sqlite3*`, locked away from sqlx's worker
//!   (`LockedSqliteHandle`) and driven synchronously on the caller's thread with cached prepared
//!   statements. Replaying the hub's log on a first sync runs a few statements per entry; with
//!   the round trips that was 8 s for 50,000 entries, which is why this path exists.
//!
//! Both run the same handlers, so a command does the same on either; errors come back as
//! `sqlx::Error` in both cases (constraint errors keep their kind), so callers cannot tell them
//! apart.

use libsqlite3_sys as ffi;
use sqlx::error::{DatabaseError, ErrorKind};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{AssertSqlSafe, Row, Sqlite, Transaction};
use std::borrow::Cow;
use std::collections::HashMap;
use std::ffi::{c_int, CStr};
use std::ptr::NonNull;

/// A bound parameter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Null,
    Text(String),
    Int(i64),
}

impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Arg {
        v.map_or(Arg::Null, Arg::Text)
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Arg {
        Arg::Text(v)
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Arg {
        Arg::Text(v.clone())
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Arg {
        Arg::Text(v.to_string())
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Arg {
        v.map_or(Arg::Null, |s| Arg::Text(s.to_string()))
    }
}
impl From<i64> for Arg {
    fn from(v: i64) -> Arg {
        Arg::Int(v)
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Arg {
        v.map_or(Arg::Null, Arg::Int)
    }
}

/// `args![a, b]`: the parameters of a statement, each converted with `Arg::from`.
macro_rules! args {
    ($($e:expr),* $(,)?) => { &[$($crate::conn::Arg::from($e)),*][..] };
}
pub(crate) use args;

/// A column value a row can be read into.
pub(crate) trait Col: Sized {
    fn from_sqlx(row: &SqliteRow, i: usize) -> Result<Self, sqlx::Error>;
    /// # Safety
    /// `stmt` must be a statement that has just returned `SQLITE_ROW`, with at least `i + 1` columns.
    unsafe fn from_raw(stmt: *mut ffi::sqlite3_stmt, i: c_int) -> Result<Self, sqlx::Error>;
}

unsafe fn raw_text(stmt: *mut ffi::sqlite3_stmt, i: c_int) -> Result<Option<String>, sqlx::Error> {
    if ffi::sqlite3_column_type(stmt, i) == ffi::SQLITE_NULL {
        return Ok(None);
    }
    let p = ffi::sqlite3_column_text(stmt, i);
    let n = ffi::sqlite3_column_bytes(stmt, i);
    if p.is_null() {
        return Ok(Some(String::new()));
    }
    let bytes = std::slice::from_raw_parts(p, n as usize);
    String::from_utf8(bytes.to_vec()).map(Some).map_err(|e| sqlx::Error::ColumnDecode { index: i.to_string(), source: Box::new(e) })
}

fn unexpected_null(i: c_int) -> sqlx::Error {
    sqlx::Error::ColumnDecode { index: i.to_string(), source: "unexpected NULL".into() }
}

impl Col for String {
    fn from_sqlx(row: &SqliteRow, i: usize) -> Result<Self, sqlx::Error> {
        row.try_get(i)
    }
    unsafe fn from_raw(stmt: *mut ffi::sqlite3_stmt, i: c_int) -> Result<Self, sqlx::Error> {
        raw_text(stmt, i)?.ok_or_else(|| unexpected_null(i))
    }
}
impl Col for Option<String> {
    fn from_sqlx(row: &SqliteRow, i: usize) -> Result<Self, sqlx::Error> {
        row.try_get(i)
    }
    unsafe fn from_raw(stmt: *mut ffi::sqlite3_stmt, i: c_int) -> Result<Self, sqlx::Error> {
        raw_text(stmt, i)
    }
}
impl Col for i64 {
    fn from_sqlx(row: &SqliteRow, i: usize) -> Result<Self, sqlx::Error> {
        row.try_get(i)
    }
    unsafe fn from_raw(stmt: *mut ffi::sqlite3_stmt, i: c_int) -> Result<Self, sqlx::Error> {
        if ffi::sqlite3_column_type(stmt, i) == ffi::SQLITE_NULL {
            return Err(unexpected_null(i));
        }
        Ok(ffi::sqlite3_column_int64(stmt, i))
    }
}
impl Col for Option<i64> {
    fn from_sqlx(row: &SqliteRow, i: usize) -> Result<Self, sqlx::Error> {
        row.try_get(i)
    }
    unsafe fn from_raw(stmt: *mut ffi::sqlite3_stmt, i: c_int) -> Result<Self, sqlx::Error> {
        if ffi::sqlite3_column_type(stmt, i) == ffi::SQLITE_NULL {
            return Ok(None);
        }
        Ok(Some(ffi::sqlite3_column_int64(stmt, i)))
    }
}

/// A row read into a tuple of columns.
pub(crate) trait FromRow: Sized {
    fn from_sqlx(row: &SqliteRow) -> Result<Self, sqlx::Error>;
    /// # Safety
    /// As for `Col::from_raw`.
    unsafe fn from_raw(stmt: *mut ffi::sqlite3_stmt) -> Result<Self, sqlx::Error>;
}

macro_rules! tuple_row {
    ($($t:ident $i:tt),+) => {
        impl<$($t: Col),+> FromRow for ($($t,)+) {
            fn from_sqlx(row: &SqliteRow) -> Result<Self, sqlx::Error> {
                Ok(($($t::from_sqlx(row, $i)?,)+))
            }
            unsafe fn from_raw(stmt: *mut ffi::sqlite3_stmt) -> Result<Self, sqlx::Error> {
                Ok(($($t::from_raw(stmt, $i)?,)+))
            }
        }
    };
}
tuple_row!(A 0);
tuple_row!(A 0, B 1);
tuple_row!(A 0, B 1, C 2);
tuple_row!(A 0, B 1, C 2, D 3);
tuple_row!(A 0, B 1, C 2, D 3, E 4);
tuple_row!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);

/// A connection for the handlers; see the module docs.
pub(crate) enum Conn<'a> {
    Sqlx(&'a mut SqliteConnection),
    Raw(&'a mut RawConn),
}

impl<'a> From<&'a mut SqliteConnection> for Conn<'a> {
    fn from(c: &'a mut SqliteConnection) -> Conn<'a> {
        Conn::Sqlx(c)
    }
}
impl<'a, 't> From<&'a mut Transaction<'t, Sqlite>> for Conn<'a> {
    fn from(c: &'a mut Transaction<'t, Sqlite>) -> Conn<'a> {
        Conn::Sqlx(&mut **c)
    }
}
impl<'a> From<&'a mut PoolConnection<Sqlite>> for Conn<'a> {
    fn from(c: &'a mut PoolConnection<Sqlite>) -> Conn<'a> {
        Conn::Sqlx(&mut **c)
    }
}
impl<'a, 'b> From<&'a mut Conn<'b>> for Conn<'a> {
    fn from(c: &'a mut Conn<'b>) -> Conn<'a> {
        match c {
            Conn::Sqlx(s) => Conn::Sqlx(&mut **s),
            Conn::Raw(r) => Conn::Raw(&mut **r),
        }
    }
}

fn sqlx_query<'q>(sql: &'q str, args: &[Arg]) -> sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments> {
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for a in args {
        q = match a {
            Arg::Null => q.bind(None::<String>),
            Arg::Text(s) => q.bind(s.clone()),
            Arg::Int(i) => q.bind(*i),
        };
    }
    q
}

impl Conn<'_> {
    /// Runs a statement; returns the number of rows it changed.
    pub async fn exec(&mut self, sql: &str, args: &[Arg]) -> Result<u64, sqlx::Error> {
        match self {
            Conn::Sqlx(c) => Ok(sqlx_query(sql, args).execute(&mut **c).await?.rows_affected()),
            Conn::Raw(r) => r.run(sql, args, |_| Ok(true)),
        }
    }

    /// Every row of a query.
    pub async fn all<T: FromRow>(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<T>, sqlx::Error> {
        match self {
            Conn::Sqlx(c) => sqlx_query(sql, args).fetch_all(&mut **c).await?.iter().map(T::from_sqlx).collect(),
            Conn::Raw(r) => {
                let mut out = Vec::new();
                r.run(sql, args, |stmt| {
                    // SAFETY: `run` calls this right after SQLITE_ROW.
                    out.push(unsafe { T::from_raw(stmt) }?);
                    Ok(true)
                })?;
                Ok(out)
            }
        }
    }

    /// The first row of a query, if any.
    pub async fn opt<T: FromRow>(&mut self, sql: &str, args: &[Arg]) -> Result<Option<T>, sqlx::Error> {
        match self {
            Conn::Sqlx(c) => sqlx_query(sql, args).fetch_optional(&mut **c).await?.as_ref().map(T::from_sqlx).transpose(),
            Conn::Raw(r) => {
                let mut out = None;
                r.run(sql, args, |stmt| {
                    // SAFETY: `run` calls this right after SQLITE_ROW.
                    out = Some(unsafe { T::from_raw(stmt) }?);
                    Ok(false)
                })?;
                Ok(out)
            }
        }
    }

    /// The first row of a query; `RowNotFound` when there is none.
    pub async fn one<T: FromRow>(&mut self, sql: &str, args: &[Arg]) -> Result<T, sqlx::Error> {
        self.opt(sql, args).await?.ok_or(sqlx::Error::RowNotFound)
    }
}

/// A locked `sqlite3*` driven synchronously; see the module docs.
pub(crate) struct RawConn {
    db: NonNull<ffi::sqlite3>,
    statements: HashMap<String, NonNull<ffi::sqlite3_stmt>>,
}

// SAFETY: SQLite is built thread-safe (SQLITE_THREADSAFE=1) and the handle is used by one task
// at a time: the `LockedSqliteHandle` it came from keeps sqlx's worker away while this lives.
unsafe impl Send for RawConn {}

impl RawConn {
    /// # Safety
    /// `db` must come from a `LockedSqliteHandle` that outlives the returned value (declare the
    /// handle first, so that it is dropped after this), and nothing else may use it meanwhile.
    pub unsafe fn new(db: NonNull<ffi::sqlite3>) -> RawConn {
        RawConn { db, statements: HashMap::new() }
    }

    fn error(&self) -> sqlx::Error {
        // SAFETY: a valid handle; the message is copied before the next call on it.
        let (code, message) = unsafe {
            (
                ffi::sqlite3_extended_errcode(self.db.as_ptr()),
                CStr::from_ptr(ffi::sqlite3_errmsg(self.db.as_ptr())).to_string_lossy().into_owned(),
            )
        };
        sqlx::Error::Database(Box::new(RawError { code, message }))
    }

    fn statement(&mut self, sql: &str) -> Result<NonNull<ffi::sqlite3_stmt>, sqlx::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(*s);
        }
        let mut stmt = std::ptr::null_mut();
        let mut tail = std::ptr::null();
        // SAFETY: a valid handle; `sql` outlives the call; the length is given, so no NUL is needed.
        let rc = unsafe {
            ffi::sqlite3_prepare_v3(
                self.db.as_ptr(),
                sql.as_ptr().cast(),
                sql.len() as c_int,
                ffi::SQLITE_PREPARE_PERSISTENT,
                &mut stmt,
                &mut tail,
            )
        };
        if rc != ffi::SQLITE_OK {
            return Err(self.error());
        }
        let stmt = NonNull::new(stmt).ok_or_else(|| sqlx::Error::Protocol(format!("empty statement: {sql}")))?;
        // One statement per call, as with sqlx's `query`: a second one would silently not run.
        let consumed = tail as usize - sql.as_ptr() as usize;
        if !sql[consumed.min(sql.len())..].trim().is_empty() {
            // SAFETY: prepared above, not cached, finalized once.
            unsafe { ffi::sqlite3_finalize(stmt.as_ptr()) };
            return Err(sqlx::Error::Protocol(format!("more than one statement: {sql}")));
        }
        self.statements.insert(sql.to_string(), stmt);
        Ok(stmt)
    }

    /// Binds, steps and resets one statement; `row` sees each result row and returns whether
    /// to go on. Returns the rows changed (for DML).
    fn run(
        &mut self,
        sql: &str,
        args: &[Arg],
        mut row: impl FnMut(*mut ffi::sqlite3_stmt) -> Result<bool, sqlx::Error>,
    ) -> Result<u64, sqlx::Error> {
        let stmt = self.statement(sql)?.as_ptr();
        // SAFETY: `stmt` belongs to this handle and is not in use (reset after every run).
        unsafe {
            let expected = ffi::sqlite3_bind_parameter_count(stmt) as usize;
            if expected != args.len() {
                return Err(sqlx::Error::Protocol(format!("{} parameters given, {expected} expected: {sql}", args.len())));
            }
            for (i, a) in args.iter().enumerate() {
                let i = i as c_int + 1;
                let rc = match a {
                    Arg::Null => ffi::sqlite3_bind_null(stmt, i),
                    Arg::Int(v) => ffi::sqlite3_bind_int64(stmt, i, *v),
                    Arg::Text(s) => ffi::sqlite3_bind_text(stmt, i, s.as_ptr().cast(), s.len() as c_int, ffi::SQLITE_TRANSIENT()),
                };
                if rc != ffi::SQLITE_OK {
                    let e = self.error();
                    ffi::sqlite3_reset(stmt);
                    ffi::sqlite3_clear_bindings(stmt);
                    return Err(e);
                }
            }
            let result = loop {
                match ffi::sqlite3_step(stmt) {
                    ffi::SQLITE_ROW => match row(stmt) {
                        Ok(true) => continue,
                        Ok(false) => break Ok(()),
                        Err(e) => break Err(e),
                    },
                    ffi::SQLITE_DONE => break Ok(()),
                    _ => break Err(self.error()),
                }
            };
            let changes = ffi::sqlite3_changes64(self.db.as_ptr()) as u64;
            ffi::sqlite3_reset(stmt);
            ffi::sqlite3_clear_bindings(stmt);
            result.map(|()| changes)
        }
    }
}

impl Drop for RawConn {
    fn drop(&mut self) {
        for (_, s) in self.statements.drain() {
            // SAFETY: each statement was prepared on this handle and is finalized once.
            unsafe { ffi::sqlite3_finalize(s.as_ptr()) };
        }
    }
}

/// A database error from the raw path, with the same code and kind sqlx's own would have.
#[derive(Debug)]
struct RawError {
    code: c_int,
    message: String,
}

impl std::fmt::Display for RawError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "(code: {}) {}", self.code, self.message)
    }
}

impl std::error::Error for RawError {}

impl DatabaseError for RawError {
    fn message(&self) -> &str {
        &self.message
    }
    fn code(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Owned(self.code.to_string()))
    }
    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }
    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }
    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }
    fn kind(&self) -> ErrorKind {
        match self.code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => ErrorKind::UniqueViolation,
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::DbKey;
    use crate::Store;

    /// Runs the same statements through both engines of one connection; returns what each saw.
    async fn both<T: PartialEq + std::fmt::Debug>(
        f: impl for<'a> Fn(&'a mut Conn<'_>) -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>,
    ) -> (T, T) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("c.db"), &DbKey::generate()).await.unwrap();
        let mut c = store.pool().acquire().await.unwrap();
        sqlx::query("CREATE TABLE p (id TEXT PRIMARY KEY, n INTEGER, note TEXT)").execute(&mut *c).await.unwrap();
        sqlx::query("CREATE TABLE k (id TEXT PRIMARY KEY, p TEXT NOT NULL REFERENCES p(id))").execute(&mut *c).await.unwrap();
        let via_sqlx = f(&mut Conn::Sqlx(&mut c)).await;
        sqlx::query("DELETE FROM k").execute(&mut *c).await.unwrap();
        sqlx::query("DELETE FROM p").execute(&mut *c).await.unwrap();
        let via_raw = {
            let mut handle = c.lock_handle().await.unwrap();
            // SAFETY: `handle` outlives `raw`; nothing else uses the connection meanwhile.
            let mut raw = unsafe { RawConn::new(handle.as_raw_handle()) };
            f(&mut Conn::Raw(&mut raw)).await
        };
        drop(c);
        store.close().await;
        (via_sqlx, via_raw)
    }

    #[tokio::test]
    async fn both_engines_read_and_write_the_same() {
        let (a, b) = both(|c| {
            Box::pin(async move {
                let n1 = c.exec("INSERT INTO p (id, n, note) VALUES (?, ?, ?)", args!["a", 1, None::<String>]).await.unwrap();
                let n2 = c.exec("INSERT INTO p (id, n, note) VALUES (?1, ?2, ?1)", args!["b", Some(2)]).await.unwrap();
                let changed = c.exec("UPDATE p SET n = n + 10", args![]).await.unwrap();
                let all: Vec<(String, i64, Option<String>)> = c.all("SELECT id, n, note FROM p ORDER BY id", args![]).await.unwrap();
                let none: Option<(String,)> = c.opt("SELECT id FROM p WHERE id = ?", args!["x"]).await.unwrap();
                let (count,): (i64,) = c.one("SELECT count(*) FROM p", args![]).await.unwrap();
                let missing = c.one::<(String,)>("SELECT id FROM p WHERE id = 'x'", args![]).await.is_err();
                (n1, n2, changed, all, none, count, missing)
            })
        })
        .await;
        assert_eq!(a, b);
        assert_eq!(a.3, vec![("a".to_string(), 11, None), ("b".to_string(), 12, Some("b".to_string()))]);
    }

    #[tokio::test]
    async fn constraint_errors_keep_their_kind_on_both_engines() {
        let (a, b) = both(|c| {
            Box::pin(async move {
                c.exec("INSERT INTO p (id, n) VALUES ('a', 1)", args![]).await.unwrap();
                let kind = |e: sqlx::Error| match e {
                    sqlx::Error::Database(d) => (d.kind(), d.code().map(|c| c.into_owned())),
                    other => panic!("not a database error: {other}"),
                };
                let unique = kind(c.exec("INSERT INTO p (id, n) VALUES ('a', 2)", args![]).await.unwrap_err());
                let foreign = kind(c.exec("INSERT INTO k (id, p) VALUES ('k', 'nobody')", args![]).await.unwrap_err());
                let not_null = kind(c.exec("INSERT INTO k (id, p) VALUES ('k', NULL)", args![]).await.unwrap_err());
                // After an error the statement is reset: the next use works.
                let again = c.exec("INSERT INTO p (id, n) VALUES ('b', 2)", args![]).await.unwrap();
                (unique, foreign, not_null, again)
            })
        })
        .await;
        assert_eq!(a, b);
        assert_eq!(a.0 .0, ErrorKind::UniqueViolation);
        assert_eq!(a.1 .0, ErrorKind::ForeignKeyViolation);
        assert_eq!(a.2 .0, ErrorKind::NotNullViolation);
    }

    #[tokio::test]
    async fn the_raw_engine_refuses_what_would_silently_do_less() {
        let (_, (params, two, null)) = both(|c| {
            Box::pin(async move {
                if matches!(c, Conn::Sqlx(_)) {
                    return (String::new(), String::new(), String::new());
                }
                let params = c.exec("INSERT INTO p (id, n) VALUES (?, ?)", args!["a"]).await.unwrap_err().to_string();
                let two = c.exec("DELETE FROM p; DELETE FROM k", args![]).await.unwrap_err().to_string();
                c.exec("INSERT INTO p (id) VALUES ('a')", args![]).await.unwrap();
                let null = c.one::<(i64,)>("SELECT n FROM p", args![]).await.unwrap_err().to_string();
                (params, two, null)
            })
        })
        .await;
        assert!(params.contains("1 parameters given, 2 expected"), "{params}");
        assert!(two.contains("more than one statement"), "{two}");
        assert!(null.contains("unexpected NULL"), "{null}");
    }
}
