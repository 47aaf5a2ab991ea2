//! Store: quotad's history — imports, deal events, quotas, the roster and the outbox
//! ledger — in one SQLite file (the embedded default) or a PostgreSQL database (issue
//! 24: several instances sharing one state).
//!
//! The only module that speaks SQL. Imports `domain` only (and rusqlite, postgres).
//! Money and other decimals are stored as exact decimal TEXT and summed in Rust, never
//! by the database's floating point. Dates are ISO TEXT; instants are RFC 3339 UTC
//! TEXT. Migrations run at open (SQLite: `PRAGMA user_version`; PostgreSQL: `pg.rs`).
//!
//! One file per table family, each adding its own `impl Store` block: `imports.rs`
//! (the `imports` ledger and `import_reports`), `deals.rs` (`deals`, `deal_history`,
//! `import_months`), `quotas.rs`, `roster.rs` (`roster_versions` and the `roster`
//! view), `outbox.rs`, `facts.rs` (`memo_facts`), `runs.rs` (`runs`, `daemon`),
//! `approvals.rs` (`approvals`, `approval_messages`, `approval_requests`: messages held
//! for approval), `sums.rs` (`rep_month_sums`: per month and rep, the deal sums history
//! is computed from), `copy.rs` (`quotad migrate-state`) and `migrations.rs` (the
//! schema). Each writes its SQL once, through `sql.rs` (one connection over either
//! engine, `?N` placeholders); where the dialects differ, both texts sit side by side
//! (the deals import's staging, `sql::pg_dialect`). `pg.rs` holds PostgreSQL's schema,
//! connection and advisory locks. This file keeps the connection ([`Store::open`],
//! [`Store::open_postgres`]), [`StoreError`] and the helpers that read stored text back.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::Connection;
use rust_decimal::Decimal;

mod approvals;
mod copy;
mod deals;
mod facts;
mod imports;
mod instances;
mod migrations;
mod outbox;
pub mod pg;
mod quotas;
mod roster;
mod runs;
pub(crate) mod sql;
mod sums;

pub use approvals::{ApprovalRequest, ApprovalRow, ApprovalState, HeldMessage, Released};
pub use deals::{DealKey, SupersededVersion};
pub use imports::{ImportRecord, ImportReport, NewImport, StoreStats};
pub use instances::InstanceRow;
pub use outbox::{FailureOutcome, OutboxEntry, OutboxRow, OutboxState, RecipientOutcome, RecipientRow};
pub use runs::{RunRow, RunState};
pub use sums::StoredSums;

/// Store errors name the database file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("state database {path}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// PostgreSQL failed: `target` is [`pg::describe`]'s `PostgreSQL host:port/database`
    /// (never the password).
    #[error("state database {target}")]
    Postgres {
        /// Where: host, port and database.
        target: String,
        /// The driver's error (the server's message, e.g. a refused login).
        #[source]
        source: postgres::Error,
    },
    /// A read-only command found no state database.
    #[error("there is no state database {path} yet: `quotad import` (or `quotad run all`) creates it")]
    Missing {
        /// The database file.
        path: PathBuf,
    },
    /// A read-only command found a database an older quotad wrote, which it cannot
    /// upgrade without writing.
    #[error(
        "state database {path} is at version {found}, this quotad needs {needed}: run a command that writes (e.g. `quotad import`) once, as a user who may write its folder, to upgrade it"
    )]
    Outdated {
        /// The database file.
        path: PathBuf,
        /// Its `user_version`.
        found: usize,
        /// The number of migrations this quotad has.
        needed: usize,
    },
    /// A stored value could not be read back (the file was edited by hand?).
    #[error("state database {path}: corrupt value in {what}: '{value}'")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// Table and column.
        what: String,
        /// The stored text.
        value: String,
    },
}

/// Result of store operations.
pub type Result<T> = std::result::Result<T, StoreError>;

/// The open state database.
pub struct Store {
    conn: sql::Conn,
    /// The SQLite file; on PostgreSQL, [`pg::describe`]'s `PostgreSQL host:port/db`
    /// (error messages name it).
    path: PathBuf,
    /// The instance this connection claims as (`quotad serve` on PostgreSQL), if any:
    /// see `instances.rs`.
    holder: Option<instances::Holder>,
}

fn text_decimal(path: &Path, what: &str, v: Option<String>) -> Result<Option<Decimal>> {
    v.map(|s| Decimal::from_str(&s).map_err(|_| StoreError::Corrupt { path: path.into(), what: what.into(), value: s }))
        .transpose()
}

fn text_date(path: &Path, what: &str, v: Option<String>) -> Result<Option<NaiveDate>> {
    v.map(|s| {
        NaiveDate::from_str(&s).map_err(|_| StoreError::Corrupt { path: path.into(), what: what.into(), value: s })
    })
    .transpose()
}

impl Store {
    /// Opens (creating if needed) the database at `path` and applies migrations.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let err = |source| StoreError::Sqlite { path: path.into(), source };
        let mut conn = Connection::open(path).map_err(err)?;
        conn.execute_batch(
            // cache_size: 32 MiB of pages (negative = KiB) rather than 2 MiB, so an import's
            // B-tree pages stay cached; temp_store: sorts and temporary tables in memory.
            // synchronous=NORMAL: a commit is not fsynced (WAL); the transitions that
            // must survive a power cut are committed through `durably` instead.
            "PRAGMA busy_timeout=5000; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;
             PRAGMA cache_size=-32768; PRAGMA temp_store=MEMORY;",
        )
        .map_err(err)?;
        migrations::apply(&mut conn).map_err(err)?;
        let mut store = Store { conn: sql::Conn::Lite(conn), path: path.into(), holder: None };
        // A store written before `rep_month_sums` gets its sums here, once (sums.rs).
        store.build_stale_sums()?;
        Ok(store)
    }

    /// Opens the database at `path` for reading only, for the commands that only read
    /// (`status`, `standings`, `explain`, `imports`, `outbox list`): it needs no write
    /// access to the file or its folder, creates nothing and applies no migration.
    /// SQLite must create `<path>-shm` to read a WAL database; where it cannot (a
    /// read-only folder) and no writer is active (no `<path>-wal`), the file is read as
    /// immutable instead. A writer that starts meanwhile is not seen by this reader.
    ///
    /// Errors: [`StoreError::Missing`], [`StoreError::Outdated`] (older than this
    /// quotad), SQLite's.
    pub fn open_read_only(path: &Path) -> Result<Store> {
        use rusqlite::OpenFlags;
        if !path.exists() {
            return Err(StoreError::Missing { path: path.into() });
        }
        let err = |source| StoreError::Sqlite { path: path.into(), source };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let version = |c: &Connection| c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0));
        let conn = Connection::open_with_flags(path, flags).map_err(err)?;
        let (conn, found) = match version(&conn) {
            Ok(v) => (conn, v),
            Err(e) => {
                let wal = PathBuf::from(format!("{}-wal", path.display()));
                if wal.exists() {
                    return Err(err(e));
                }
                let uri = format!("file:{}?immutable=1", uri_path(path));
                let conn = Connection::open_with_flags(uri, flags).map_err(err)?;
                let v = version(&conn).map_err(err)?;
                (conn, v)
            }
        };
        conn.execute_batch("PRAGMA busy_timeout=5000; PRAGMA cache_size=-32768; PRAGMA temp_store=MEMORY;")
            .map_err(err)?;
        let needed = migrations::count();
        if (found as usize) < needed {
            return Err(StoreError::Outdated { path: path.into(), found: found as usize, needed });
        }
        Ok(Store { conn: sql::Conn::Lite(conn), path: path.into(), holder: None })
    }

    /// Opens the PostgreSQL database `url` names (the password from `PGPASSWORD`) and
    /// applies the PostgreSQL migrations ([`pg::migrate`]: once, whichever instance
    /// starts first).
    ///
    /// Errors: [`StoreError::Postgres`] naming host, port and database (never a
    /// password): the server cannot be reached, refuses the login, or a migration fails.
    pub fn open_postgres(url: &str) -> Result<Store> {
        let target = pg::describe(url);
        let err = |source| StoreError::Postgres { target: target.clone(), source };
        let mut client = pg::connect(url).map_err(err)?;
        pg::migrate(&mut client).map_err(err)?;
        let mut store = Store {
            conn: sql::Conn::Pg(Box::new(sql::PgConn::new(client).into())),
            path: target.clone().into(),
            holder: None,
        };
        store.build_stale_sums()?;
        Ok(store)
    }

    /// Opens the PostgreSQL database `url` names for the read-only commands: a
    /// normal connection, and a check that its schema is this quotad's.
    ///
    /// Errors: [`StoreError::Postgres`]; [`StoreError::Outdated`] when the database
    /// has fewer migrations than this quotad (none yet: `quotad import` creates them).
    pub fn open_postgres_read_only(url: &str) -> Result<Store> {
        let target = pg::describe(url);
        let err = |source| StoreError::Postgres { target: target.clone(), source };
        let mut client = pg::connect(url).map_err(err)?;
        let found = pg::version(&mut client).map_err(err)?;
        if found == 0 {
            return Err(StoreError::Missing { path: target.into() });
        }
        if found < pg::count() {
            return Err(StoreError::Outdated { path: target.into(), found, needed: pg::count() });
        }
        Ok(Store { conn: sql::Conn::Pg(Box::new(sql::PgConn::new(client).into())), path: target.into(), holder: None })
    }

    /// Runs `f` with `synchronous = FULL`: each commit it makes is on disk (the WAL
    /// fsynced, and with it every earlier commit) before it returns, so it survives a
    /// power cut. For the transitions that matter: an import's commit (its file is
    /// archived only afterwards), an outbox row's `sending` and `sent`. Everything else
    /// commits with `NORMAL` (durable at the next checkpoint or durable commit).
    fn durably<T>(&mut self, f: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        self.synchronous_full(true)?;
        let r = f(self);
        self.synchronous_full(false)?;
        r
    }

    /// `PRAGMA synchronous = FULL` (true) or back to `NORMAL` (false); see [`Store::durably`].
    /// On PostgreSQL nothing: every commit is durable there (`synchronous_commit`'s
    /// default, `on`).
    fn synchronous_full(&self, on: bool) -> Result<()> {
        let sql = if on { "PRAGMA synchronous=FULL" } else { "PRAGMA synchronous=NORMAL" };
        match &self.conn {
            sql::Conn::Lite(c) => c.execute_batch(sql).map_err(self.err()),
            sql::Conn::Pg(_) => Ok(()),
        }
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |source| StoreError::Sqlite { path: self.path.clone(), source }
    }

    /// The [`StoreError`] of an engine's error, naming the database.
    fn db(&self) -> impl Fn(sql::DbError) -> StoreError + '_ {
        |e| db_error(&self.path, e)
    }

    /// Whether the state is on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.conn.is_pg()
    }

    /// Row counts: (deal events, quotas, roster reps).
    pub fn counts(&self) -> Result<(i64, i64, i64)> {
        self.conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM deals), (SELECT COUNT(*) FROM quotas), (SELECT COUNT(*) FROM roster)",
                sql::params![],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(self.db())
    }
}

/// The [`StoreError`] of an engine's error: SQLite's names the file `path`, PostgreSQL's
/// the database (`path` holds [`pg::describe`]'s text there); a value Rust cannot take
/// is [`StoreError::Corrupt`].
fn db_error(path: &Path, e: sql::DbError) -> StoreError {
    match e {
        sql::DbError::Lite(source) => StoreError::Sqlite { path: path.into(), source },
        sql::DbError::Pg(source) => StoreError::Postgres { target: path.display().to_string(), source },
        sql::DbError::Value(v) => StoreError::Corrupt { path: path.into(), what: "a column".into(), value: v },
        sql::DbError::NoRow => StoreError::Corrupt { path: path.into(), what: "a query".into(), value: e.to_string() },
    }
}

/// `path` absolute and percent-encoded for an SQLite `file:` URI.
fn uri_path(path: &Path) -> String {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = String::new();
    for b in abs.to_string_lossy().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// An instant as outbox columns store it: RFC 3339 UTC with milliseconds, e.g.
/// `2026-11-01T13:00:00.000Z`, so that text order is time order.
fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn instant(path: &Path, what: &str, v: String) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(&v).map(|t| t.with_timezone(&Utc)).map_err(|_| StoreError::Corrupt {
        path: path.into(),
        what: what.into(),
        value: v,
    })
}

/// Each engine's fresh state for a store unit test: an SQLite file in a temporary
/// folder, and a fresh PostgreSQL database (see `tests/integration/pg_db.rs`: a test
/// fails when no server answers, unless QUOTAD_ALLOW_SKIP=1).
#[cfg(test)]
pub(crate) struct TestState {
    dir: Option<tempfile::TempDir>,
    db: Option<pg::test_db::TestDb>,
}

#[cfg(test)]
impl TestState {
    /// SQLite's, then PostgreSQL's.
    pub(crate) fn each() -> Vec<TestState> {
        let mut v = vec![TestState { dir: Some(tempfile::tempdir().unwrap()), db: None }];
        if let Some(db) = pg::test_db::TestDb::fresh() {
            v.push(TestState { dir: None, db: Some(db) });
        }
        v
    }

    /// A connection to it (migrated); several may be open at once.
    pub(crate) fn open(&self) -> Store {
        match (&self.dir, &self.db) {
            (Some(d), _) => Store::open(&d.path().join("q.sqlite")).unwrap(),
            (_, Some(db)) => Store::open_postgres(&db.url).unwrap(),
            _ => unreachable!("one engine"),
        }
    }
}
