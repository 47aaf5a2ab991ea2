//! Store: quotad's history in one SQLite file — imports, deal events, quotas, the
//! roster and the outbox ledger.
//!
//! The only module that speaks SQL. Imports `domain` only. Money and other decimals are
//! stored as exact decimal TEXT and summed in Rust, never by SQLite's floating point.
//! Dates are ISO TEXT; instants are RFC 3339 UTC TEXT. Migrations run at open
//! (`PRAGMA user_version`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};
use rust_decimal::Decimal;

mod runs;
pub use runs::{RunRow, RunState};

use crate::domain::{DealRow, Period, QuotaRow, RepRef, RosterRep, RosterVersion, RowOrigin, StageClass};

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

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE imports (
    id            INTEGER PRIMARY KEY,
    source        TEXT NOT NULL,              -- config source name
    kind          TEXT NOT NULL,              -- deals | quotas | roster
    file_name     TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    sheet         TEXT NOT NULL,
    imported_at   TEXT NOT NULL,              -- RFC 3339 UTC
    exported_at   TEXT NOT NULL,              -- RFC 3339 UTC: the file's modification time, when the CRM wrote it
    rows_stored   INTEGER NOT NULL,
    rows_rejected INTEGER NOT NULL,
    UNIQUE (source, sha256)
);
CREATE TABLE deals (                          -- the current version of each deal event, one row per credited rep
    deal_id            TEXT NOT NULL,
    event              TEXT NOT NULL,         -- sale | cancellation
    rep_ref            TEXT NOT NULL,         -- id:..., email:... or name:...
    stage              TEXT NOT NULL,
    class              TEXT NOT NULL,         -- won | cancelled | ignored
    rep_id             TEXT,
    rep_email          TEXT,
    rep_name           TEXT,
    team               TEXT,
    close_date         TEXT,                  -- YYYY-MM-DD
    amount             TEXT,                  -- exact decimal, currency units
    units              TEXT,                  -- exact decimal
    rating             TEXT,                  -- exact decimal
    paperwork_complete INTEGER,
    paperwork_errors   INTEGER,
    share              TEXT NOT NULL,         -- exact decimal fraction of the deal credited to this rep
    import_id          INTEGER NOT NULL REFERENCES imports(id),
    sheet              TEXT NOT NULL,
    excel_row          INTEGER NOT NULL,
    PRIMARY KEY (deal_id, event, rep_ref)
) WITHOUT ROWID;
CREATE INDEX deals_by_close_date ON deals(close_date);
CREATE TABLE deal_history AS SELECT *, 0 AS superseded_by FROM deals WHERE 0;  -- versions a later export replaced
CREATE TABLE import_months (                  -- which months each deals file held rows for ("as of", final)
    import_id  INTEGER NOT NULL REFERENCES imports(id),
    month      TEXT NOT NULL,                 -- YYYY-MM
    PRIMARY KEY (import_id, month)
);
CREATE TABLE quotas (
    rep_ref    TEXT NOT NULL,                 -- id:..., email:... or name:...
    rep_id     TEXT,
    rep_email  TEXT,
    rep_name   TEXT,
    month      TEXT NOT NULL,                 -- YYYY-MM
    revenue    TEXT NOT NULL,                 -- exact decimal, currency units; 0 = no quota
    units      TEXT,
    import_id  INTEGER NOT NULL REFERENCES imports(id),
    sheet      TEXT NOT NULL,
    excel_row  INTEGER NOT NULL,
    PRIMARY KEY (rep_ref, month)
);
CREATE TABLE roster_versions (                -- every version of each rep, so closed months keep their team and name
    rep_key       TEXT NOT NULL,
    effective_at  TEXT NOT NULL,              -- RFC 3339 UTC: the roster file's export time
    rep_id        TEXT,
    name          TEXT NOT NULL,
    email         TEXT,
    team          TEXT,
    manager       TEXT,
    manager_email TEXT,
    hire_date     TEXT,
    active        INTEGER NOT NULL,
    import_id     INTEGER NOT NULL REFERENCES imports(id),
    sheet         TEXT NOT NULL,
    excel_row     INTEGER NOT NULL
);
CREATE VIEW roster AS                         -- the current roster: each rep's most recently imported version
    SELECT * FROM roster_versions v
    WHERE import_id = (SELECT MAX(import_id) FROM roster_versions w WHERE w.rep_key = v.rep_key);
CREATE TABLE outbox (
    idempotency_key TEXT PRIMARY KEY,         -- job/period/recipient/kind
    job             TEXT NOT NULL,
    period          TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    kind            TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    message         BLOB NOT NULL,            -- the rendered RFC 5322 message
    state           TEXT NOT NULL,            -- pending | sent
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE TABLE memo_facts (                     -- the figures a sent memo stated, to detect corrections
    idempotency_key TEXT PRIMARY KEY,         -- the outbox message that stated them
    job             TEXT NOT NULL,
    period          TEXT NOT NULL,            -- YYYY-MM
    rep_key         TEXT NOT NULL,
    facts           TEXT NOT NULL,            -- JSON object of formatted-independent exact values
    recorded_at     TEXT NOT NULL             -- RFC 3339 UTC
);
CREATE INDEX memo_facts_by_rep ON memo_facts(job, period, rep_key);
"#,
    r#"
-- Delivery (issue 5): retries with backoff, dead letters, crash-interrupted sends, resends.
-- state is now pending | sending | sent | failed | dead.
ALTER TABLE outbox ADD COLUMN next_attempt_at TEXT;          -- RFC 3339 UTC; a failed row waits until then
ALTER TABLE outbox ADD COLUMN sending_at      TEXT;          -- when the last attempt started
ALTER TABLE outbox ADD COLUMN dead_at         TEXT;
ALTER TABLE outbox ADD COLUMN notified_at     TEXT;          -- when the admin was told about this dead letter
ALTER TABLE outbox ADD COLUMN resends         INTEGER NOT NULL DEFAULT 0;  -- user-requested resends
ALTER TABLE outbox ADD COLUMN interrupted     INTEGER NOT NULL DEFAULT 0;  -- found in 'sending' after a crash
CREATE INDEX outbox_by_state ON outbox(state, next_attempt_at);
"#,
    r#"
-- Import reports (issue 7): what each inbox file gave, imported or quarantined.
CREATE TABLE import_reports (
    id            INTEGER PRIMARY KEY,
    at            TEXT NOT NULL,              -- RFC 3339 UTC
    file_name     TEXT NOT NULL,
    source        TEXT NOT NULL,              -- config source name
    kind          TEXT NOT NULL,              -- deals | summary | quotas | roster
    outcome       TEXT NOT NULL,              -- imported | quarantined
    import_id     INTEGER REFERENCES imports(id),  -- NULL when quarantined
    sheet         TEXT NOT NULL,
    header_row    INTEGER NOT NULL,           -- Excel row; 0 = none found, or a headerless file
    rows_read     INTEGER NOT NULL,           -- data rows below the header (blank and totals rows excluded)
    rows_stored   INTEGER NOT NULL,           -- new + updated
    rows_rejected INTEGER NOT NULL,
    new           INTEGER NOT NULL,           -- rows new to the store
    updated       INTEGER NOT NULL,           -- rows that replaced an earlier export's version
    unchanged     INTEGER NOT NULL,           -- rows identical to what was stored
    superseded    INTEGER NOT NULL,           -- rows a later export, already stored, supersedes (ignored)
    periods       TEXT NOT NULL,              -- months touched, YYYY-MM, comma-separated
    warnings      TEXT NOT NULL,              -- one per line
    reason        TEXT                        -- why it was quarantined
);
"#,
    r#"
-- The calendar (issue 6): the runs ledger, one row per (job, occurrence), and what the
-- daemon last saw. See runs.rs.
CREATE TABLE runs (
    job          TEXT NOT NULL,               -- quota-memo | weekly-ranking | one-on-one
    occurrence   TEXT NOT NULL,               -- RFC 3339 UTC, milliseconds: the scheduled instant
    state        TEXT NOT NULL,               -- started | waiting | succeeded | skipped | failed | missed
    result       TEXT NOT NULL DEFAULT '',    -- one line for people: what it did, or why not
    source       TEXT NOT NULL,               -- serve | run (by hand, `run JOB --at`)
    started_at   TEXT,                        -- RFC 3339 UTC
    finished_at  TEXT,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (job, occurrence)
) WITHOUT ROWID;
CREATE TABLE daemon (                         -- key/value: last_seen = the calendar was looked at up to here
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
"#,
    r#"
-- The roster view's "latest version of this rep" subquery, once per rep, was a scan of
-- every version (quadratic in the roster's size; each import reads the roster).
CREATE INDEX roster_versions_by_rep ON roster_versions(rep_key, import_id);
"#,
];

/// The open state database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// What one inbox file gave (issue 7's import report), as recorded in `import_reports`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Report number (0 before it is recorded).
    pub id: i64,
    /// When, UTC.
    pub at: DateTime<Utc>,
    /// File name (no folder).
    pub file_name: String,
    /// Config source name.
    pub source: String,
    /// deals | summary | quotas | roster.
    pub kind: String,
    /// Stored (`Some(import number)`) or quarantined (`None`).
    pub import_id: Option<i64>,
    /// Sheet read ("" for CSV or when none was found).
    pub sheet: String,
    /// Excel row of the header; 0 when none was found or the file has none.
    pub header_row: u32,
    /// Data rows read below the header (blank and totals rows excluded).
    pub rows_read: usize,
    /// Rows stored: new + updated.
    pub rows_stored: usize,
    /// Rows rejected.
    pub rows_rejected: usize,
    /// Rows (deal events, quotas, reps) new to the store.
    pub new: usize,
    /// Rows that replaced an earlier export's version.
    pub updated: usize,
    /// Rows identical to what was stored.
    pub unchanged: usize,
    /// Rows a later export (already stored) supersedes: ignored.
    pub superseded: usize,
    /// Months the file's rows fall in, oldest first.
    pub periods: Vec<Period>,
    /// Warnings and notes (totals rows skipped, name-only matches, reps missing...).
    pub warnings: Vec<String>,
    /// Why the file was quarantined; `None` when it was stored.
    pub reason: Option<String>,
}

impl ImportReport {
    /// "imported" or "quarantined".
    pub fn outcome(&self) -> &'static str {
        if self.reason.is_some() { "quarantined" } else { "imported" }
    }
}

/// A file already imported.
#[derive(Debug, Clone)]
pub struct ImportRecord {
    /// Import number.
    pub id: i64,
    /// File name at the time.
    pub file_name: String,
    /// When (UTC).
    pub imported_at: DateTime<Utc>,
}

/// What storing one file changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// The import's number.
    pub import_id: i64,
    /// Rows new to the store.
    pub inserted: usize,
    /// Rows that replaced an earlier export's version (the earlier kept in history).
    pub superseded: usize,
    /// Rows identical to what was stored.
    pub unchanged: usize,
    /// Rows older than what is stored (from a file exported before the file that stored
    /// the current version): ignored, so a later export always wins.
    pub older: usize,
}

/// Describes the file being stored.
#[derive(Debug, Clone)]
pub struct NewImport<'a> {
    /// Config source name.
    pub source: &'a str,
    /// deals | quotas | roster.
    pub kind: &'a str,
    /// File name (no folder).
    pub file_name: &'a str,
    /// Hex SHA-256 of the file's bytes.
    pub sha256: &'a str,
    /// Sheet read.
    pub sheet: &'a str,
    /// Rows rejected (reported, not stored).
    pub rows_rejected: usize,
    /// Now, UTC.
    pub now: DateTime<Utc>,
    /// When the CRM wrote the file (its modification time), UTC.
    pub exported_at: DateTime<Utc>,
}

/// A stored deal row's key: (Deal ID, event "sale"/"cancellation", rep reference key).
pub type DealKey = (String, String, String);

/// A version of a deal row that a later export replaced (kept, never deleted).
#[derive(Debug, Clone)]
pub struct SupersededVersion {
    /// Rep reference key of the row.
    pub rep_ref: String,
    /// Stage then.
    pub stage: String,
    /// Close date then (ISO).
    pub close_date: Option<String>,
    /// Amount then (exact decimal text, currency units).
    pub amount: Option<String>,
    /// Credit share then (exact decimal fraction text).
    pub share: String,
    /// The import it came from.
    pub import_id: i64,
    /// That import's file.
    pub file_name: String,
    /// Sheet.
    pub sheet: String,
    /// Excel row.
    pub row: u32,
    /// The import that replaced it.
    pub superseded_by: i64,
    /// That import's file.
    pub superseded_by_file: String,
}

/// A message to record in the outbox ledger (DESIGN.md "Delivery").
#[derive(Debug, Clone)]
pub struct OutboxEntry {
    /// (job, period, recipient, kind) joined with '/', e.g.
    /// `quota-memo/2026-11/ann@example.com/rep-memo`.
    pub idempotency_key: String,
    /// Job name, e.g. "quota-memo".
    pub job: String,
    /// Period or occurrence, e.g. "2026-11".
    pub period: String,
    /// Recipient address (the SMTP envelope recipient).
    pub recipient: String,
    /// Message kind, e.g. "rep-memo".
    pub kind: String,
    /// Message-ID derived from the key, without angle brackets.
    pub message_id: String,
    /// Subject line.
    pub subject: String,
    /// The formatted RFC 5322 message.
    pub message: Vec<u8>,
}

/// Where a message is in the outbox ledger. Transitions: `Pending -> Sending -> Sent`;
/// a failed attempt goes `Sending -> Failed` (retried when its backoff has passed,
/// `Failed -> Sending`) or, after the configured attempts or on a permanent refusal,
/// `Sending -> Dead`. A row found in `Sending` when a run starts was interrupted by a
/// crash and is sent again with the same Message-ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OutboxState {
    /// Recorded, not yet attempted.
    Pending,
    /// Handed to the transport; not yet acknowledged.
    Sending,
    /// Accepted by the transport (SMTP 250, or the .eml file renamed into place).
    Sent,
    /// The last attempt failed; retried at `next_attempt_at`.
    Failed,
    /// Given up: the admin is told once; `quotad outbox retry` requeues it.
    Dead,
}

impl OutboxState {
    /// Every state, in lifecycle order.
    pub const ALL: [OutboxState; 5] =
        [OutboxState::Pending, OutboxState::Sending, OutboxState::Sent, OutboxState::Failed, OutboxState::Dead];

    /// The stored (and displayed) name: pending, sending, sent, failed, dead.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Sending => "sending",
            OutboxState::Sent => "sent",
            OutboxState::Failed => "failed",
            OutboxState::Dead => "dead",
        }
    }

    /// Parses a stored name; `None` for anything else.
    pub fn parse(s: &str) -> Option<OutboxState> {
        OutboxState::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// An outbox ledger row as stored: the message plus its delivery history.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    /// The recorded message.
    pub entry: OutboxEntry,
    /// Current state.
    pub state: OutboxState,
    /// Attempts made since it was (re)queued; a success counts as one.
    pub attempts: u32,
    /// The last failure, naming the server or file and the recipient.
    pub last_error: Option<String>,
    /// When it was first recorded (UTC).
    pub created_at: DateTime<Utc>,
    /// When it was accepted (UTC), if it was.
    pub sent_at: Option<DateTime<Utc>>,
    /// A failed row is retried at or after this instant (UTC).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// How many times a user asked to send it again (`--resend`).
    pub resends: u32,
    /// How many times it was found in `sending` after a crash and sent again with the
    /// same Message-ID (the documented duplicate window).
    pub interrupted: u32,
}

/// What a failed attempt leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOutcome {
    /// Retry at or after this instant (state `failed`).
    RetryAt(DateTime<Utc>),
    /// Give up (state `dead`).
    Dead,
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
            "PRAGMA busy_timeout=5000; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;
             PRAGMA cache_size=-32768; PRAGMA temp_store=MEMORY;",
        )
        .map_err(err)?;
        let version = |c: &Connection| c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0));
        if (version(&conn).map_err(err)? as usize) < MIGRATIONS.len() {
            // Another process may be migrating the same file right now (`quotad status`
            // while `quotad run` starts): take the write lock, then look again.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
            let done = version(&tx).map_err(err)? as usize;
            for sql in MIGRATIONS.iter().skip(done) {
                tx.execute_batch(sql).map_err(err)?;
            }
            tx.execute_batch(&format!("PRAGMA user_version = {}", MIGRATIONS.len())).map_err(err)?;
            tx.commit().map_err(err)?;
        }
        Ok(Store { conn, path: path.into() })
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |source| StoreError::Sqlite { path: self.path.clone(), source }
    }

    /// Records an import report; returns its number.
    pub fn add_import_report(&self, r: &ImportReport) -> Result<i64> {
        let periods: Vec<String> = r.periods.iter().map(Period::to_string).collect();
        self.conn
            .execute(
                "INSERT INTO import_reports (at, file_name, source, kind, outcome, import_id, sheet, header_row, rows_read,
                    rows_stored, rows_rejected, new, updated, unchanged, superseded, periods, warnings, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
                params![
                    r.at.to_rfc3339(),
                    r.file_name,
                    r.source,
                    r.kind,
                    r.outcome(),
                    r.import_id,
                    r.sheet,
                    r.header_row,
                    r.rows_read as i64,
                    r.rows_stored as i64,
                    r.rows_rejected as i64,
                    r.new as i64,
                    r.updated as i64,
                    r.unchanged as i64,
                    r.superseded as i64,
                    periods.join(","),
                    r.warnings.join("\n"),
                    r.reason
                ],
            )
            .map_err(self.err())?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The newest `limit` import reports, newest first.
    pub fn import_reports(&self, limit: usize) -> Result<Vec<ImportReport>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT id, at, file_name, source, kind, import_id, sheet, header_row, rows_read, rows_stored, rows_rejected,
                        new, updated, unchanged, superseded, periods, warnings, reason
                 FROM import_reports ORDER BY id DESC LIMIT ?1",
            )
            .map_err(self.err())?;
        type Raw = (ImportReport, String, String, String);
        let rows: Vec<Raw> = st
            .query_map(params![limit as i64], |r| {
                let n = |i: usize| r.get::<_, i64>(i).map(|v| v as usize);
                Ok((
                    ImportReport {
                        id: r.get(0)?,
                        file_name: r.get(2)?,
                        source: r.get(3)?,
                        kind: r.get(4)?,
                        import_id: r.get(5)?,
                        sheet: r.get(6)?,
                        header_row: r.get(7)?,
                        rows_read: n(8)?,
                        rows_stored: n(9)?,
                        rows_rejected: n(10)?,
                        new: n(11)?,
                        updated: n(12)?,
                        unchanged: n(13)?,
                        superseded: n(14)?,
                        reason: r.get(17)?,
                        ..Default::default()
                    },
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(15)?,
                    r.get::<_, String>(16)?,
                ))
            })
            .map_err(self.err())?
            .collect::<rusqlite::Result<_>>()
            .map_err(self.err())?;
        rows.into_iter()
            .map(|(mut rep, at, periods, warnings)| {
                rep.at = instant(&self.path, "import_reports.at", at)?;
                rep.periods = periods
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        p.parse().map_err(|_| StoreError::Corrupt {
                            path: self.path.clone(),
                            what: "import_reports.periods".into(),
                            value: p.to_string(),
                        })
                    })
                    .collect::<Result<_>>()?;
                rep.warnings = warnings.lines().map(str::to_string).collect();
                Ok(rep)
            })
            .collect()
    }

    /// Every (source, sha256) pair imported so far: [`Store::find_import`] for many files
    /// at once (one row per imported file, so small).
    pub fn import_fingerprints(&self) -> Result<std::collections::HashSet<(String, String)>> {
        let mut stmt = self.conn.prepare("SELECT source, sha256 FROM imports").map_err(self.err())?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(self.err())?;
        rows.collect::<rusqlite::Result<_>>().map_err(self.err())
    }

    /// The earlier import of a file with these bytes for this source, if any.
    pub fn find_import(&self, source: &str, sha256: &str) -> Result<Option<ImportRecord>> {
        self.conn
            .query_row(
                "SELECT id, file_name, imported_at FROM imports WHERE source = ?1 AND sha256 = ?2",
                params![source, sha256],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)),
            )
            .optional()
            .map_err(self.err())?
            .map(|(id, file_name, at)| {
                let imported_at = DateTime::parse_from_rfc3339(&at)
                    .map_err(|_| StoreError::Corrupt {
                        path: self.path.clone(),
                        what: "imports.imported_at".into(),
                        value: at,
                    })?
                    .with_timezone(&Utc);
                Ok(ImportRecord { id, file_name, imported_at })
            })
            .transpose()
    }

    fn begin<'a>(tx: &Transaction<'a>, meta: &NewImport, stored: usize) -> rusqlite::Result<i64> {
        tx.execute(
            "INSERT INTO imports (source, kind, file_name, sha256, sheet, imported_at, exported_at, rows_stored, rows_rejected)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                meta.source,
                meta.kind,
                meta.file_name,
                meta.sha256,
                meta.sheet,
                meta.now.to_rfc3339(),
                meta.exported_at.to_rfc3339(),
                stored as i64,
                meta.rows_rejected as i64
            ],
        )?;
        Ok(tx.last_insert_rowid())
    }

    /// Stores a deals file in one transaction: whole or not at all. For each (Deal ID,
    /// event) in the file, its rows (one per credited rep) replace the stored rows of that
    /// deal event when they differ (the old ones move to `deal_history`), and are left
    /// alone when identical — or when the stored rows came from a file exported later
    /// (DESIGN.md "Inputs": a later export of the same deal replaces the earlier one).
    pub fn import_deals(&mut self, meta: &NewImport, rows: &[DealRow]) -> Result<StoreStats> {
        let path = self.path.clone();
        let err = |source| StoreError::Sqlite { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(err)?;
        let import_id = Self::begin(&tx, meta, rows.len()).map_err(err)?;
        let mut stats = StoreStats { import_id, ..Default::default() };
        let mut groups: Vec<((&str, &str), Vec<DealValues>)> = Vec::new();
        let mut at: std::collections::HashMap<(&str, &str), usize> = std::collections::HashMap::new();
        let mut months = std::collections::BTreeSet::new();
        for d in rows {
            let key = (d.deal_id.as_str(), d.event().as_str());
            let i = *at.entry(key).or_insert_with(|| {
                groups.push((key, Vec::new()));
                groups.len() - 1
            });
            groups[i].1.push(DealValues::of(d));
            if let Some(c) = d.close_date {
                months.insert(Period::of(c).to_string());
            }
        }
        {
            let mut current = tx
                .prepare(
                    "SELECT d.rep_ref, d.stage, d.class, d.rep_id, d.rep_email, d.rep_name, d.team, d.close_date, d.amount, d.units,
                            d.rating, d.paperwork_complete, d.paperwork_errors, d.share, d.sheet, d.excel_row, i.exported_at
                     FROM deals d JOIN imports i ON i.id = d.import_id WHERE d.deal_id = ?1 AND d.event = ?2 ORDER BY d.rep_ref",
                )
                .map_err(err)?;
            let mut archive = tx
                .prepare("INSERT INTO deal_history SELECT *, ?3 FROM deals WHERE deal_id = ?1 AND event = ?2")
                .map_err(err)?;
            let mut delete = tx.prepare("DELETE FROM deals WHERE deal_id = ?1 AND event = ?2").map_err(err)?;
            let mut insert = tx
                .prepare(
                    "INSERT INTO deals (deal_id, event, rep_ref, stage, class, rep_id, rep_email, rep_name, team, close_date,
                        amount, units, rating, paperwork_complete, paperwork_errors, share, import_id, sheet, excel_row)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
                )
                .map_err(err)?;
            let mut month_rows =
                tx.prepare("INSERT OR IGNORE INTO import_months (import_id, month) VALUES (?1, ?2)").map_err(err)?;
            for m in &months {
                month_rows.execute(params![import_id, m]).map_err(err)?;
            }
            // A later export supersedes; an earlier one imported afterwards does not.
            let this_export = meta.exported_at.to_rfc3339();
            for ((deal_id, event), mut new) in groups {
                new.sort_by(|a, b| a.rep_ref.cmp(&b.rep_ref));
                let old: Vec<(DealValues, String)> = current
                    .query_map(params![deal_id, event], |r| Ok((DealValues::from_row(r)?, r.get::<_, String>(16)?)))
                    .map_err(err)?
                    .collect::<rusqlite::Result<_>>()
                    .map_err(err)?;
                if old.iter().any(|(_, at)| *at > this_export) {
                    stats.older += new.len();
                    continue;
                }
                let old: Vec<DealValues> = old.into_iter().map(|(v, _)| v).collect();
                let same = old.len() == new.len() && old.iter().zip(&new).all(|(o, n)| o.same_values(n));
                if same {
                    stats.unchanged += new.len();
                    continue;
                }
                if old.is_empty() {
                    stats.inserted += new.len();
                } else {
                    archive.execute(params![deal_id, event, import_id]).map_err(err)?;
                    delete.execute(params![deal_id, event]).map_err(err)?;
                    stats.superseded += new.len();
                }
                for v in &new {
                    insert
                        .execute(params![
                            deal_id,
                            event,
                            v.rep_ref,
                            v.stage,
                            v.class,
                            v.rep_id,
                            v.rep_email,
                            v.rep_name,
                            v.team,
                            v.close_date,
                            v.amount,
                            v.units,
                            v.rating,
                            v.paperwork_complete,
                            v.paperwork_errors,
                            v.share,
                            import_id,
                            v.sheet,
                            v.excel_row
                        ])
                        .map_err(err)?;
                }
            }
        }
        tx.commit().map_err(err)?;
        Ok(stats)
    }

    /// Stores a quotas file in one transaction; a later file's quota for the same rep and
    /// month replaces the earlier.
    pub fn import_quotas(&mut self, meta: &NewImport, rows: &[QuotaRow]) -> Result<StoreStats> {
        let path = self.path.clone();
        let err = |source| StoreError::Sqlite { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(err)?;
        let import_id = Self::begin(&tx, meta, rows.len()).map_err(err)?;
        let mut stats = StoreStats { import_id, ..Default::default() };
        {
            let mut current =
                tx.prepare("SELECT revenue, units FROM quotas WHERE rep_ref = ?1 AND month = ?2").map_err(err)?;
            let mut upsert = tx
                .prepare(
                    "INSERT OR REPLACE INTO quotas (rep_ref, rep_id, rep_email, rep_name, month, revenue, units, import_id, sheet, excel_row)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .map_err(err)?;
            for q in rows {
                let key = q.rep.key();
                let month = q.month.to_string();
                let values = (q.revenue.normalize().to_string(), q.units.map(|u| u.normalize().to_string()));
                let old: Option<(String, Option<String>)> =
                    current.query_row(params![key, month], |r| Ok((r.get(0)?, r.get(1)?))).optional().map_err(err)?;
                match old {
                    Some(old) if old == values => {
                        stats.unchanged += 1;
                        continue;
                    }
                    Some(_) => stats.superseded += 1,
                    None => stats.inserted += 1,
                }
                upsert
                    .execute(params![
                        key,
                        q.rep.id,
                        q.rep.email,
                        q.rep.name,
                        month,
                        values.0,
                        values.1,
                        import_id,
                        q.origin.sheet,
                        q.origin.row
                    ])
                    .map_err(err)?;
            }
        }
        tx.commit().map_err(err)?;
        Ok(stats)
    }

    /// Stores a roster file in one transaction. Reps are matched by their identity key;
    /// a rep who is new or changed gets a new version (effective from the file's export
    /// time); reps absent from this file are left as they were.
    pub fn import_roster(&mut self, meta: &NewImport, rows: &[RosterRep]) -> Result<StoreStats> {
        let path = self.path.clone();
        let err = |source| StoreError::Sqlite { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(err)?;
        let import_id = Self::begin(&tx, meta, rows.len()).map_err(err)?;
        let mut stats = StoreStats { import_id, ..Default::default() };
        {
            let mut current = tx
                .prepare("SELECT rep_id, name, email, team, manager, manager_email, hire_date, active FROM roster WHERE rep_key = ?1")
                .map_err(err)?;
            let mut version = tx
                .prepare(
                    "INSERT INTO roster_versions (rep_key, effective_at, rep_id, name, email, team, manager, manager_email,
                        hire_date, active, import_id, sheet, excel_row)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )
                .map_err(err)?;
            for r in rows {
                type RosterValues = (
                    Option<String>,
                    String,
                    Option<String>,
                    Option<String>,
                    Option<String>,
                    Option<String>,
                    Option<String>,
                    bool,
                );
                let values: RosterValues = (
                    r.id.clone(),
                    r.name.clone(),
                    r.email.clone(),
                    r.team.clone(),
                    r.manager.clone(),
                    r.manager_email.clone(),
                    r.hire_date.map(|d| d.to_string()),
                    r.active,
                );
                let old: Option<RosterValues> = current
                    .query_row(params![r.key()], |x| {
                        Ok((x.get(0)?, x.get(1)?, x.get(2)?, x.get(3)?, x.get(4)?, x.get(5)?, x.get(6)?, x.get(7)?))
                    })
                    .optional()
                    .map_err(err)?;
                match old {
                    Some(old) if old == values => {
                        stats.unchanged += 1;
                        continue;
                    }
                    Some(_) => stats.superseded += 1,
                    None => stats.inserted += 1,
                }
                version
                    .execute(params![
                        r.key(),
                        meta.exported_at.to_rfc3339(),
                        values.0,
                        values.1,
                        values.2,
                        values.3,
                        values.4,
                        values.5,
                        values.6,
                        values.7,
                        import_id,
                        r.origin.sheet,
                        r.origin.row
                    ])
                    .map_err(err)?;
            }
        }
        tx.commit().map_err(err)?;
        Ok(stats)
    }

    /// Every version of every rep, oldest first: (effective from, UTC; the rep). A version
    /// is written when a roster import adds a rep or changes anything about one.
    pub fn roster_versions(&self) -> Result<Vec<RosterVersion>> {
        self.roster_query(
            "SELECT rep_id, name, email, team, manager, manager_email, hire_date, active, sheet, excel_row, effective_at
             FROM roster_versions ORDER BY effective_at, import_id, rep_key",
        )
    }

    /// For each month with deals, the newest export time of the files that held rows for
    /// it (DESIGN.md "Metrics": As of).
    pub fn month_exports(&self) -> Result<Vec<(Period, DateTime<Utc>)>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT m.month, MAX(i.exported_at) FROM import_months m JOIN imports i ON i.id = m.import_id
                 GROUP BY m.month ORDER BY m.month",
            )
            .map_err(self.err())?;
        let rows: Vec<(String, String)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(self.err())?
            .collect::<rusqlite::Result<_>>()
            .map_err(self.err())?;
        rows.into_iter()
            .map(|(m, at)| {
                let corrupt = |what: &str, value: &str| StoreError::Corrupt {
                    path: self.path.clone(),
                    what: what.into(),
                    value: value.into(),
                };
                let p = m.parse::<Period>().map_err(|_| corrupt("import_months.month", &m))?;
                let t = DateTime::parse_from_rfc3339(&at)
                    .map_err(|_| corrupt("imports.exported_at", &at))?
                    .with_timezone(&Utc);
                Ok((p, t))
            })
            .collect()
    }

    fn roster_query(&self, sql: &str) -> Result<Vec<RosterVersion>> {
        let mut st = self.conn.prepare(sql).map_err(self.err())?;
        let raw = st
            .query_map([], |r| {
                Ok((
                    (
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, Option<String>>(5)?,
                    ),
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, bool>(7)?,
                    RowOrigin { sheet: r.get(8)?, row: r.get(9)? },
                    r.get::<_, Option<String>>(10)?,
                ))
            })
            .map_err(self.err())?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.err())?;
        raw.into_iter()
            .map(|((id, name, email, team, manager, manager_email), hire, active, origin, effective)| {
                let effective = match effective {
                    Some(t) => DateTime::parse_from_rfc3339(&t)
                        .map_err(|_| StoreError::Corrupt {
                            path: self.path.clone(),
                            what: "roster_versions.effective_at".into(),
                            value: t.clone(),
                        })?
                        .with_timezone(&Utc),
                    None => DateTime::<Utc>::MIN_UTC,
                };
                let rep = RosterRep {
                    id,
                    name,
                    email,
                    team,
                    manager,
                    manager_email,
                    hire_date: text_date(&self.path, "roster.hire_date", hire)?,
                    active,
                    origin,
                };
                Ok(RosterVersion { effective, rep })
            })
            .collect()
    }

    /// The whole roster (the newest version of each rep), ordered by name.
    pub fn roster(&self) -> Result<Vec<RosterRep>> {
        Ok(self
            .roster_query(
                "SELECT rep_id, name, email, team, manager, manager_email, hire_date, active, sheet, excel_row, NULL
                 FROM roster ORDER BY name, rep_key",
            )?
            .into_iter()
            .map(|v| v.rep)
            .collect())
    }

    /// Deal events whose close date falls in `from..=to` (inclusive months), every class,
    /// in stored order (close date, deal id, event, rep).
    pub fn deals_between(&self, from: Period, to: Period) -> Result<Vec<DealRow>> {
        let mut out = Vec::new();
        self.for_each_deal(from, to, true, |d| out.push(d))?;
        Ok(out)
    }

    /// Calls `f` with each deal event whose close date falls in `from..=to` (inclusive
    /// months), one row in memory at a time. `ordered`: in the order of
    /// [`Store::deals_between`]; otherwise in table order, a sequential scan (several
    /// times faster over a long history than walking the close-date index).
    pub fn for_each_deal(&self, from: Period, to: Period, ordered: bool, mut f: impl FnMut(DealRow)) -> Result<()> {
        let order = if ordered { "ORDER BY close_date, deal_id, event, rep_ref" } else { "" };
        let index = if ordered { "" } else { "NOT INDEXED" };
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT deal_id, stage, class, rep_id, rep_email, rep_name, team, close_date, amount, units, rating,
                        paperwork_complete, paperwork_errors, sheet, excel_row, share
                 FROM deals {index} WHERE close_date >= ?1 AND close_date <= ?2 {order}"
            ))
            .map_err(self.err())?;
        let mut rows =
            st.query(params![from.first_day().to_string(), to.last_day().to_string()]).map_err(self.err())?;
        let p = &self.path;
        while let Some(r) = rows.next().map_err(|source| StoreError::Sqlite { path: p.clone(), source })? {
            let row = (|| -> rusqlite::Result<_> {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get_ref(2)?.as_str()?.to_string(),
                    RepRef { id: r.get(3)?, email: r.get(4)?, name: r.get(5)? },
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                    r.get::<_, Option<String>>(8)?,
                    r.get::<_, Option<String>>(9)?,
                    r.get::<_, Option<String>>(10)?,
                    r.get::<_, Option<bool>>(11)?,
                    r.get::<_, Option<u32>>(12)?,
                    RowOrigin { sheet: r.get(13)?, row: r.get(14)? },
                    r.get::<_, String>(15)?,
                ))
            })()
            .map_err(|source| StoreError::Sqlite { path: p.clone(), source })?;
            let (deal_id, stage, class, rep, team, close, amount, units, rating, complete, errors, origin, share) = row;
            f(DealRow {
                deal_id,
                stage,
                class: StageClass::parse(&class).ok_or_else(|| StoreError::Corrupt {
                    path: p.clone(),
                    what: "deals.class".into(),
                    value: class.clone(),
                })?,
                rep,
                team,
                close_date: text_date(p, "deals.close_date", close)?,
                amount: text_decimal(p, "deals.amount", amount)?,
                units: text_decimal(p, "deals.units", units)?,
                rating: text_decimal(p, "deals.rating", rating)?,
                paperwork_complete: complete,
                paperwork_errors: errors,
                share: text_decimal(p, "deals.share", Some(share))?.unwrap_or(Decimal::ONE),
                origin,
            });
        }
        Ok(())
    }

    /// The month of the newest won or cancelled deal, if any deal is stored.
    pub fn latest_deal_month(&self) -> Result<Option<Period>> {
        let d: Option<String> = self
            .conn
            .query_row("SELECT MAX(close_date) FROM deals WHERE class IN ('won', 'cancelled')", [], |r| r.get(0))
            .map_err(self.err())?;
        Ok(text_date(&self.path, "deals.close_date", d)?.map(Period::of))
    }

    /// Quotas for every month from `from` to `to` inclusive.
    pub fn quotas_between(&self, from: Period, to: Period) -> Result<Vec<QuotaRow>> {
        let mut months = Vec::new();
        let mut m = from;
        let first: Option<String> =
            self.conn.query_row("SELECT MIN(month) FROM quotas", [], |r| r.get(0)).map_err(self.err())?;
        if let Some(f) = first.and_then(|f| f.parse::<Period>().ok()) {
            m = m.max(f);
        }
        while m <= to {
            months.push(m);
            m = m.next();
        }
        self.quotas_for(&months)
    }

    /// Quotas for the given months.
    pub fn quotas_for(&self, months: &[Period]) -> Result<Vec<QuotaRow>> {
        let mut out = Vec::new();
        let mut st = self
            .conn
            .prepare("SELECT rep_id, rep_email, rep_name, revenue, units, sheet, excel_row FROM quotas WHERE month = ?1 ORDER BY rep_ref")
            .map_err(self.err())?;
        for &m in months {
            let rows = st
                .query_map(params![m.to_string()], |r| {
                    Ok((
                        RepRef { id: r.get(0)?, email: r.get(1)?, name: r.get(2)? },
                        r.get::<_, String>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        RowOrigin { sheet: r.get(5)?, row: r.get(6)? },
                    ))
                })
                .map_err(self.err())?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(self.err())?;
            for (rep, revenue, units, origin) in rows {
                out.push(QuotaRow {
                    rep,
                    month: m,
                    revenue: text_decimal(&self.path, "quotas.revenue", Some(revenue))?.unwrap_or_default(),
                    units: text_decimal(&self.path, "quotas.units", units)?,
                    origin,
                });
            }
        }
        Ok(out)
    }

    /// Months that have won or cancelled deals, oldest first.
    pub fn months_with_deals(&self) -> Result<Vec<Period>> {
        // Month by month along the close-date index (a seek per month, not a scan of
        // every row): the next close date after the last month found, then whether that
        // month has a won or cancelled row.
        let mut next =
            self.conn.prepare("SELECT MIN(close_date) FROM deals WHERE close_date > ?1").map_err(self.err())?;
        let mut counted = self
            .conn
            .prepare(
                "SELECT EXISTS (SELECT 1 FROM deals WHERE close_date >= ?1 AND close_date <= ?2 AND class IN ('won', 'cancelled'))",
            )
            .map_err(self.err())?;
        let mut out = Vec::new();
        let mut after = String::new();
        loop {
            let d: Option<String> = next.query_row(params![after], |r| r.get(0)).map_err(self.err())?;
            let Some(date) = text_date(&self.path, "deals.close_date", d)? else { break };
            let month = Period::of(date);
            let (first, last) = (month.first_day().to_string(), month.last_day().to_string());
            if counted.query_row(params![first, last], |r| r.get::<_, bool>(0)).map_err(self.err())? {
                out.push(month);
            }
            after = last;
        }
        Ok(out)
    }

    /// Where a stored deal row came from: (import number, file name), keyed by
    /// (Deal ID, event, rep reference key), for deals closing in `period`.
    pub fn deal_sources(&self, period: Period) -> Result<HashMap<DealKey, (i64, String)>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT d.deal_id, d.event, d.rep_ref, i.id, i.file_name FROM deals d JOIN imports i ON i.id = d.import_id
                 WHERE d.close_date >= ?1 AND d.close_date <= ?2",
            )
            .map_err(self.err())?;
        let rows = st
            .query_map(params![period.first_day().to_string(), period.last_day().to_string()], |r| {
                Ok(((r.get(0)?, r.get(1)?, r.get(2)?), (r.get(3)?, r.get(4)?)))
            })
            .map_err(self.err())?
            .collect::<rusqlite::Result<HashMap<_, _>>>()
            .map_err(self.err())?;
        Ok(rows)
    }

    /// Earlier versions of a deal event that later exports replaced, oldest first.
    pub fn superseded_versions(&self, deal_id: &str, event: &str) -> Result<Vec<SupersededVersion>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT h.rep_ref, h.stage, h.close_date, h.amount, h.share, i.id, i.file_name, h.sheet, h.excel_row, n.id, n.file_name
                 FROM deal_history h JOIN imports i ON i.id = h.import_id JOIN imports n ON n.id = h.superseded_by
                 WHERE h.deal_id = ?1 AND h.event = ?2 ORDER BY i.id, h.rep_ref",
            )
            .map_err(self.err())?;
        let rows = st
            .query_map(params![deal_id, event], |r| {
                Ok(SupersededVersion {
                    rep_ref: r.get(0)?,
                    stage: r.get(1)?,
                    close_date: r.get(2)?,
                    amount: r.get(3)?,
                    share: r.get(4)?,
                    import_id: r.get(5)?,
                    file_name: r.get(6)?,
                    sheet: r.get(7)?,
                    row: r.get(8)?,
                    superseded_by: r.get(9)?,
                    superseded_by_file: r.get(10)?,
                })
            })
            .map_err(self.err())?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.err())?;
        Ok(rows)
    }

    /// The file a stored quota came from: (import number, file name, sheet, row).
    pub fn quota_source(&self, rep: &RepRef, month: Period) -> Result<Option<(i64, String, String, u32)>> {
        self.conn
            .query_row(
                "SELECT i.id, i.file_name, q.sheet, q.excel_row FROM quotas q JOIN imports i ON i.id = q.import_id
                 WHERE q.rep_ref = ?1 AND q.month = ?2",
                params![rep.key(), month.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(self.err())
    }

    /// Records the figures a message states (kept with its idempotency key); a key
    /// already recorded is left as it was.
    pub fn facts_add(
        &self,
        key: &str,
        job: &str,
        period: Period,
        rep_key: &str,
        facts: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO memo_facts (idempotency_key, job, period, rep_key, facts, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (idempotency_key) DO NOTHING",
                params![key, job, period.to_string(), rep_key, facts, now.to_rfc3339()],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// The figures most recently stated to each rep for `job` and `period` by a message
    /// that was sent: rep key -> (facts JSON, sent at, RFC 3339).
    pub fn facts_sent(&self, job: &str, period: Period) -> Result<HashMap<String, (String, String)>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT f.rep_key, f.facts, o.sent_at FROM memo_facts f JOIN outbox o ON o.idempotency_key = f.idempotency_key
                 WHERE f.job = ?1 AND f.period = ?2 AND o.state = 'sent' ORDER BY o.sent_at, f.recorded_at",
            )
            .map_err(self.err())?;
        let rows = st
            .query_map(params![job, period.to_string()], |r| Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?))))
            .map_err(self.err())?
            .collect::<rusqlite::Result<Vec<(String, (String, String))>>>()
            .map_err(self.err())?;
        Ok(rows.into_iter().collect())
    }

    /// Row counts: (deal events, quotas, roster reps).
    pub fn counts(&self) -> Result<(i64, i64, i64)> {
        self.conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM deals), (SELECT COUNT(*) FROM quotas), (SELECT COUNT(*) FROM roster)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(self.err())
    }

    /// The outbox row with this idempotency key, if any.
    pub fn outbox_get(&self, key: &str) -> Result<Option<OutboxRow>> {
        let raw = self
            .conn
            .query_row(&format!("{OUTBOX_SELECT} WHERE idempotency_key = ?1"), params![key], RawOutbox::from_row)
            .optional()
            .map_err(self.err())?;
        raw.map(|r| r.finish(&self.path)).transpose()
    }

    fn outbox_query(&self, where_order: &str, p: impl rusqlite::Params) -> Result<Vec<OutboxRow>> {
        let mut st = self.conn.prepare(&format!("{OUTBOX_SELECT} {where_order}")).map_err(self.err())?;
        let raw = st
            .query_map(p, RawOutbox::from_row)
            .map_err(self.err())?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.err())?;
        raw.into_iter().map(|r| r.finish(&self.path)).collect()
    }

    /// Records a rendered message as `pending`, before it is handed to a transport. A
    /// key already present is left unchanged (returns false).
    pub fn outbox_add(&self, e: &OutboxEntry, now: DateTime<Utc>) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "INSERT INTO outbox (idempotency_key, job, period, recipient, kind, message_id, subject, message, state, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9) ON CONFLICT (idempotency_key) DO NOTHING",
                params![e.idempotency_key, e.job, e.period, e.recipient, e.kind, e.message_id, e.subject, e.message, ts(now)],
            )
            .map_err(self.err())?;
        Ok(n == 1)
    }

    /// Queues a user-requested resend of a key: the new rendering (with its own
    /// Message-ID) replaces the recorded message, the state goes back to `pending`,
    /// attempts restart at 0 and `resends` grows by one. Returns false if the key is absent.
    pub fn outbox_resend(&self, e: &OutboxEntry) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "UPDATE outbox SET message_id = ?2, subject = ?3, message = ?4, state = 'pending', attempts = 0,
                    last_error = NULL, next_attempt_at = NULL, dead_at = NULL, notified_at = NULL, sent_at = NULL,
                    resends = resends + 1
                 WHERE idempotency_key = ?1",
                params![e.idempotency_key, e.message_id, e.subject, e.message],
            )
            .map_err(self.err())?;
        Ok(n == 1)
    }

    /// Rows to attempt now, oldest first: `pending`, `sending` (interrupted by a crash)
    /// and `failed` rows whose `next_attempt_at` is at or before `now`.
    pub fn outbox_due(&self, now: DateTime<Utc>) -> Result<Vec<OutboxRow>> {
        self.outbox_due_first(now, i64::MAX as usize)
    }

    /// How many rows [`Store::outbox_due`] would return, without loading them.
    pub fn outbox_due_count(&self, now: DateTime<Utc>) -> Result<usize> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending') OR (state = 'failed' AND next_attempt_at <= ?1)",
                params![ts(now)],
                |r| r.get(0),
            )
            .map_err(self.err())?;
        Ok(n as usize)
    }

    /// The first `limit` rows of [`Store::outbox_due`]: delivery takes them a batch at a
    /// time, so a run of thousands of messages with PDFs attached never holds them all
    /// in memory.
    pub fn outbox_due_first(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxRow>> {
        self.outbox_query(
            "WHERE state IN ('pending', 'sending') OR (state = 'failed' AND next_attempt_at <= ?1)
             ORDER BY created_at, idempotency_key LIMIT ?2",
            params![ts(now), limit.min(i64::MAX as usize) as i64],
        )
    }

    /// The earliest `next_attempt_at` of a `failed` row, if any is waiting.
    pub fn outbox_next_retry(&self) -> Result<Option<DateTime<Utc>>> {
        let t: Option<String> = self
            .conn
            .query_row("SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'failed'", [], |r| r.get(0))
            .map_err(self.err())?;
        t.map(|t| instant(&self.path, "outbox.next_attempt_at", t)).transpose()
    }

    /// Recovers from a crash: every row still `sending` was interrupted between
    /// "sending" and "sent" (the server may or may not have it). Each goes back to
    /// `pending`, keeping its message and Message-ID, and its `interrupted` count grows
    /// by one. Call once when delivery starts, before any row is marked `sending`.
    /// Returns the keys recovered.
    pub fn outbox_recover_interrupted(&mut self) -> Result<Vec<String>> {
        let path = self.path.clone();
        let err = |source| StoreError::Sqlite { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(err)?;
        let keys: Vec<String> = {
            let mut st = tx
                .prepare(
                    "SELECT idempotency_key FROM outbox WHERE state = 'sending' ORDER BY created_at, idempotency_key",
                )
                .map_err(err)?;
            st.query_map([], |r| r.get(0)).map_err(err)?.collect::<rusqlite::Result<Vec<_>>>().map_err(err)?
        };
        tx.execute("UPDATE outbox SET state = 'pending', interrupted = interrupted + 1 WHERE state = 'sending'", [])
            .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(keys)
    }

    /// Marks a row `sending` just before its transaction starts (committed before any
    /// byte goes to the server).
    pub fn outbox_mark_sending(&self, key: &str, now: DateTime<Utc>) -> Result<()> {
        self.conn
            .execute(
                "UPDATE outbox SET state = 'sending', sending_at = ?2 WHERE idempotency_key = ?1",
                params![key, ts(now)],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Marks a row `sent` (after the SMTP server's 250, or the .eml file's rename).
    pub fn outbox_mark_sent(&self, key: &str, now: DateTime<Utc>) -> Result<()> {
        self.conn
            .execute(
                "UPDATE outbox SET state = 'sent', sent_at = ?2, attempts = attempts + 1, last_error = NULL,
                    next_attempt_at = NULL WHERE idempotency_key = ?1",
                params![key, ts(now)],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Records a failed attempt: attempts grow by one, `error` is kept, and the row
    /// becomes `failed` (retried at the given instant) or `dead`.
    pub fn outbox_mark_failed(
        &self,
        key: &str,
        error: &str,
        outcome: FailureOutcome,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let (state, next, dead) = match outcome {
            FailureOutcome::RetryAt(t) => ("failed", Some(ts(t)), None),
            FailureOutcome::Dead => ("dead", None, Some(ts(now))),
        };
        self.conn
            .execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, state = ?3, next_attempt_at = ?4, dead_at = ?5
                 WHERE idempotency_key = ?1",
                params![key, error, state, next, dead],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Puts `failed` and `dead` rows back to `pending` with attempts at 0, so they are
    /// sent at the next delivery; `keys` empty means every such row. Returns the keys requeued.
    pub fn outbox_requeue(&mut self, keys: &[String]) -> Result<Vec<String>> {
        let path = self.path.clone();
        let err = |source| StoreError::Sqlite { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(err)?;
        let mut requeued = Vec::new();
        {
            let candidates: Vec<String> = {
                let mut st = tx
                    .prepare("SELECT idempotency_key FROM outbox WHERE state IN ('failed', 'dead') ORDER BY created_at, idempotency_key")
                    .map_err(err)?;
                st.query_map([], |r| r.get(0)).map_err(err)?.collect::<rusqlite::Result<Vec<_>>>().map_err(err)?
            };
            let mut up = tx
                .prepare(
                    "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = NULL, dead_at = NULL,
                        notified_at = NULL WHERE idempotency_key = ?1",
                )
                .map_err(err)?;
            for k in candidates.into_iter().filter(|k| keys.is_empty() || keys.contains(k)) {
                up.execute(params![k]).map_err(err)?;
                requeued.push(k);
            }
        }
        tx.commit().map_err(err)?;
        Ok(requeued)
    }

    /// Dead letters the admin has not been told about (the admin's own notices excluded).
    pub fn outbox_dead_unnotified(&self) -> Result<Vec<OutboxRow>> {
        self.outbox_query(
            "WHERE state = 'dead' AND notified_at IS NULL AND job <> 'dead-letters' ORDER BY created_at, idempotency_key",
            [],
        )
    }

    /// Records the admin's notice (`notice`, as `pending`) and marks the dead letters it
    /// lists as notified, in one transaction: the admin is told about each dead letter once.
    pub fn outbox_add_notice(&mut self, notice: &OutboxEntry, listed: &[String], now: DateTime<Utc>) -> Result<()> {
        let path = self.path.clone();
        let err = |source| StoreError::Sqlite { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(err)?;
        tx.execute(
            "INSERT INTO outbox (idempotency_key, job, period, recipient, kind, message_id, subject, message, state, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9) ON CONFLICT (idempotency_key) DO NOTHING",
            params![
                notice.idempotency_key,
                notice.job,
                notice.period,
                notice.recipient,
                notice.kind,
                notice.message_id,
                notice.subject,
                notice.message,
                ts(now)
            ],
        )
        .map_err(err)?;
        for k in listed {
            tx.execute("UPDATE outbox SET notified_at = ?2 WHERE idempotency_key = ?1", params![k, ts(now)])
                .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(())
    }

    /// Row counts per state (states with no rows are absent), in lifecycle order.
    pub fn outbox_counts(&self) -> Result<Vec<(OutboxState, u64)>> {
        let mut st = self.conn.prepare("SELECT state, COUNT(*) FROM outbox GROUP BY state").map_err(self.err())?;
        let raw = st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(self.err())?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.err())?;
        let mut out = raw
            .into_iter()
            .map(|(s, n)| {
                let state = OutboxState::parse(&s).ok_or_else(|| StoreError::Corrupt {
                    path: self.path.clone(),
                    what: "outbox.state".into(),
                    value: s,
                })?;
                Ok((state, n as u64))
            })
            .collect::<Result<Vec<_>>>()?;
        out.sort();
        Ok(out)
    }

    /// Rows in the given states (every state when empty), oldest first, at most `limit`.
    pub fn outbox_list(&self, states: &[OutboxState], limit: usize) -> Result<Vec<OutboxRow>> {
        let filter = if states.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = states.iter().map(|s| format!("'{}'", s.as_str())).collect();
            format!("WHERE state IN ({})", names.join(", "))
        };
        self.outbox_query(&format!("{filter} ORDER BY created_at, idempotency_key LIMIT ?1"), params![limit as i64])
    }
}

const OUTBOX_SELECT: &str = "SELECT idempotency_key, job, period, recipient, kind, message_id, subject, message, state,
    attempts, last_error, created_at, sent_at, next_attempt_at, resends, interrupted FROM outbox";

/// An outbox row as SQLite returns it, before its text columns are checked.
struct RawOutbox {
    entry: OutboxEntry,
    state: String,
    attempts: u32,
    last_error: Option<String>,
    created_at: String,
    sent_at: Option<String>,
    next_attempt_at: Option<String>,
    resends: u32,
    interrupted: u32,
}

impl RawOutbox {
    fn from_row(r: &Row) -> rusqlite::Result<RawOutbox> {
        Ok(RawOutbox {
            entry: OutboxEntry {
                idempotency_key: r.get(0)?,
                job: r.get(1)?,
                period: r.get(2)?,
                recipient: r.get(3)?,
                kind: r.get(4)?,
                message_id: r.get(5)?,
                subject: r.get(6)?,
                message: r.get(7)?,
            },
            state: r.get(8)?,
            attempts: r.get(9)?,
            last_error: r.get(10)?,
            created_at: r.get(11)?,
            sent_at: r.get(12)?,
            next_attempt_at: r.get(13)?,
            resends: r.get(14)?,
            interrupted: r.get(15)?,
        })
    }

    fn finish(self, path: &Path) -> Result<OutboxRow> {
        Ok(OutboxRow {
            state: OutboxState::parse(&self.state).ok_or_else(|| StoreError::Corrupt {
                path: path.into(),
                what: "outbox.state".into(),
                value: self.state.clone(),
            })?,
            entry: self.entry,
            attempts: self.attempts,
            last_error: self.last_error,
            created_at: instant(path, "outbox.created_at", self.created_at)?,
            sent_at: self.sent_at.map(|t| instant(path, "outbox.sent_at", t)).transpose()?,
            next_attempt_at: self.next_attempt_at.map(|t| instant(path, "outbox.next_attempt_at", t)).transpose()?,
            resends: self.resends,
            interrupted: self.interrupted,
        })
    }
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

/// A deal event's stored values for one credited rep, for comparing a re-export with
/// what is stored (`sheet` and `excel_row` say where the row was, not what it says).
#[derive(Debug, PartialEq)]
struct DealValues {
    rep_ref: String,
    stage: String,
    class: &'static str,
    rep_id: Option<String>,
    rep_email: Option<String>,
    rep_name: Option<String>,
    team: Option<String>,
    close_date: Option<String>,
    amount: Option<String>,
    units: Option<String>,
    rating: Option<String>,
    paperwork_complete: Option<bool>,
    paperwork_errors: Option<u32>,
    share: String,
    sheet: String,
    excel_row: u32,
}

impl DealValues {
    fn of(d: &DealRow) -> DealValues {
        DealValues {
            rep_ref: d.rep.key(),
            stage: d.stage.clone(),
            class: d.class.as_str(),
            rep_id: d.rep.id.clone(),
            rep_email: d.rep.email.clone(),
            rep_name: d.rep.name.clone(),
            team: d.team.clone(),
            close_date: d.close_date.map(|x| x.to_string()),
            amount: d.amount.map(|x| x.normalize().to_string()),
            units: d.units.map(|x| x.normalize().to_string()),
            rating: d.rating.map(|x| x.normalize().to_string()),
            paperwork_complete: d.paperwork_complete,
            paperwork_errors: d.paperwork_errors,
            share: d.share.normalize().to_string(),
            sheet: d.origin.sheet.clone(),
            excel_row: d.origin.row,
        }
    }

    /// Equal in everything but where the row was.
    fn same_values(&self, o: &DealValues) -> bool {
        DealValues { sheet: o.sheet.clone(), excel_row: o.excel_row, ..self.clone_values() } == *o
    }

    fn clone_values(&self) -> DealValues {
        DealValues {
            rep_ref: self.rep_ref.clone(),
            stage: self.stage.clone(),
            class: self.class,
            rep_id: self.rep_id.clone(),
            rep_email: self.rep_email.clone(),
            rep_name: self.rep_name.clone(),
            team: self.team.clone(),
            close_date: self.close_date.clone(),
            amount: self.amount.clone(),
            units: self.units.clone(),
            rating: self.rating.clone(),
            paperwork_complete: self.paperwork_complete,
            paperwork_errors: self.paperwork_errors,
            share: self.share.clone(),
            sheet: self.sheet.clone(),
            excel_row: self.excel_row,
        }
    }

    fn from_row(r: &Row) -> rusqlite::Result<DealValues> {
        let class: String = r.get(2)?;
        Ok(DealValues {
            rep_ref: r.get(0)?,
            stage: r.get(1)?,
            class: StageClass::parse(&class).map(StageClass::as_str).unwrap_or("?"),
            rep_id: r.get(3)?,
            rep_email: r.get(4)?,
            rep_name: r.get(5)?,
            team: r.get(6)?,
            close_date: r.get(7)?,
            amount: r.get(8)?,
            units: r.get(9)?,
            rating: r.get(10)?,
            paperwork_complete: r.get(11)?,
            paperwork_errors: r.get(12)?,
            share: r.get(13)?,
            sheet: r.get(14)?,
            excel_row: r.get(15)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str) -> OutboxEntry {
        OutboxEntry {
            idempotency_key: key.into(),
            job: "quota-memo".into(),
            period: "2026-11".into(),
            recipient: "ann@example.com".into(),
            kind: "rep-memo".into(),
            message_id: "abc.quotad@example.com".into(),
            subject: "Quota".into(),
            message: b"Subject: Quota\r\n\r\nhi\r\n".to_vec(),
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn outbox_lifecycle_retries_dead_letters_and_crash_recovery() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("q.sqlite")).unwrap();
        let t0 = at("2026-11-01T13:00:00Z");
        assert!(s.outbox_add(&entry("a"), t0).unwrap());
        assert!(!s.outbox_add(&entry("a"), t0).unwrap(), "a key is recorded once");
        s.outbox_add(&entry("b"), at("2026-11-01T13:00:01Z")).unwrap();
        assert_eq!(
            s.outbox_due(t0).unwrap().iter().map(|r| r.entry.idempotency_key.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );

        // a: sent. b: failed once, due again at 13:00:31.
        s.outbox_mark_sending("a", t0).unwrap();
        s.outbox_mark_sent("a", t0).unwrap();
        s.outbox_mark_sending("b", t0).unwrap();
        s.outbox_mark_failed(
            "b",
            "SMTP server h:587: connect failed",
            FailureOutcome::RetryAt(at("2026-11-01T13:00:31Z")),
            t0,
        )
        .unwrap();
        let b = s.outbox_get("b").unwrap().unwrap();
        assert_eq!(
            (b.state, b.attempts, b.last_error.as_deref()),
            (OutboxState::Failed, 1, Some("SMTP server h:587: connect failed"))
        );
        assert!(s.outbox_due(at("2026-11-01T13:00:30.999Z")).unwrap().is_empty());
        assert_eq!(s.outbox_due(at("2026-11-01T13:00:31Z")).unwrap().len(), 1);
        assert_eq!(s.outbox_next_retry().unwrap(), Some(at("2026-11-01T13:00:31Z")));

        // A crash while b is `sending`: recovery puts it back to pending, counted.
        s.outbox_mark_sending("b", at("2026-11-01T13:00:31Z")).unwrap();
        assert_eq!(s.outbox_recover_interrupted().unwrap(), ["b"]);
        let b = s.outbox_get("b").unwrap().unwrap();
        assert_eq!((b.state, b.interrupted, b.attempts), (OutboxState::Pending, 1, 1));

        // Dead, listed once for the admin, then requeued by `outbox retry`.
        s.outbox_mark_failed("b", "550 no such user", FailureOutcome::Dead, t0).unwrap();
        assert_eq!(s.outbox_dead_unnotified().unwrap().len(), 1);
        let mut notice = entry("dead-letters/x/admin@example.com/admin-notice");
        notice.job = "dead-letters".into();
        s.outbox_add_notice(&notice, &["b".to_string()], t0).unwrap();
        assert!(s.outbox_dead_unnotified().unwrap().is_empty());
        let counts = s.outbox_counts().unwrap();
        assert_eq!(counts, [(OutboxState::Pending, 1), (OutboxState::Sent, 1), (OutboxState::Dead, 1)]);
        assert_eq!(s.outbox_requeue(&[]).unwrap(), ["b"]);
        let b = s.outbox_get("b").unwrap().unwrap();
        assert_eq!((b.state, b.attempts), (OutboxState::Pending, 0));
        assert!(s.outbox_requeue(&["a".to_string()]).unwrap().is_empty(), "a sent key is not requeued");

        // --resend: a new rendering and Message-ID, attempts from 0.
        let mut again = entry("a");
        again.message_id = "def.quotad@example.com".into();
        assert!(s.outbox_resend(&again).unwrap());
        let a = s.outbox_get("a").unwrap().unwrap();
        assert_eq!(
            (a.state, a.resends, a.attempts, a.entry.message_id.as_str()),
            (OutboxState::Pending, 1, 0, "def.quotad@example.com")
        );
    }

    #[test]
    fn processes_opening_a_new_database_at_once_migrate_it_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.sqlite");
        let opened: Vec<_> = (0..8)
            .map(|_| {
                let p = path.clone();
                std::thread::spawn(move || Store::open(&p).map(|_| ()).map_err(|e| e.to_string()))
            })
            .collect();
        for t in opened {
            assert_eq!(t.join().unwrap(), Ok(()));
        }
        let s = Store::open(&path).unwrap();
        let v: i64 = s.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v as usize, MIGRATIONS.len());
    }

    #[test]
    fn a_version_1_database_is_migrated_with_its_outbox_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.execute_batch(
                "PRAGMA user_version = 1;
                 INSERT INTO outbox (idempotency_key, job, period, recipient, kind, message_id, subject, message, state,
                    attempts, created_at, sent_at)
                 VALUES ('k', 'quota-memo', '2026-11', 'ann@example.com', 'rep-memo', 'm', 's', x'00', 'sent', 1,
                    '2026-11-01T13:00:00+00:00', '2026-11-01T13:00:01+00:00');",
            )
            .unwrap();
        }
        let s = Store::open(&path).unwrap();
        let k = s.outbox_get("k").unwrap().unwrap();
        assert_eq!((k.state, k.attempts, k.resends, k.interrupted), (OutboxState::Sent, 1, 0, 0));
        assert_eq!(k.sent_at, Some(at("2026-11-01T13:00:01Z")));
    }
}
