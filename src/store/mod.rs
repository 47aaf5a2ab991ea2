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
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use rust_decimal::Decimal;

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

const MIGRATIONS: &[&str] = &[r#"
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
"#];

/// The open state database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
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

/// One outbox entry (DESIGN.md "Delivery": the outbox ledger).
#[derive(Debug, Clone)]
pub struct OutboxEntry {
    /// (job, period, recipient, kind) joined with '/'.
    pub idempotency_key: String,
    /// Job name, e.g. "quota-memo".
    pub job: String,
    /// Period, e.g. "2026-11".
    pub period: String,
    /// Recipient address.
    pub recipient: String,
    /// Message kind, e.g. "rep-memo".
    pub kind: String,
    /// Message-ID derived from the key, without angle brackets.
    pub message_id: String,
    /// Subject line.
    pub subject: String,
    /// The formatted message.
    pub message: Vec<u8>,
    /// pending | sent.
    pub state: String,
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
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;",
        )
        .map_err(err)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(err)?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn.transaction().map_err(err)?;
            tx.execute_batch(sql).map_err(err)?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1)).map_err(err)?;
            tx.commit().map_err(err)?;
        }
        Ok(Store { conn, path: path.into() })
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |source| StoreError::Sqlite { path: self.path.clone(), source }
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
            for ((deal_id, event), mut new) in groups {
                new.sort_by(|a, b| a.rep_ref.cmp(&b.rep_ref));
                let old: Vec<(DealValues, String)> = current
                    .query_map(params![deal_id, event], |r| Ok((DealValues::from_row(r)?, r.get::<_, String>(16)?)))
                    .map_err(err)?
                    .collect::<rusqlite::Result<_>>()
                    .map_err(err)?;
                // A later export supersedes; an earlier one imported afterwards does not.
                let this_export = meta.exported_at.to_rfc3339();
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

    /// Deal events whose close date falls in `from..=to` (inclusive months), every class.
    pub fn deals_between(&self, from: Period, to: Period) -> Result<Vec<DealRow>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT deal_id, stage, class, rep_id, rep_email, rep_name, team, close_date, amount, units, rating,
                        paperwork_complete, paperwork_errors, sheet, excel_row, share
                 FROM deals WHERE close_date >= ?1 AND close_date <= ?2 ORDER BY close_date, deal_id, event, rep_ref",
            )
            .map_err(self.err())?;
        let rows = st
            .query_map(params![from.first_day().to_string(), to.last_day().to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
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
            })
            .map_err(self.err())?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.err())?;
        let p = &self.path;
        rows.into_iter()
            .map(|(deal_id, stage, class, rep, team, close, amount, units, rating, complete, errors, origin, share)| {
                Ok(DealRow {
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
                })
            })
            .collect()
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
        let mut st = self
            .conn
            .prepare("SELECT DISTINCT substr(close_date, 1, 7) FROM deals WHERE class IN ('won', 'cancelled') AND close_date IS NOT NULL ORDER BY 1")
            .map_err(self.err())?;
        let rows: Vec<String> =
            st.query_map([], |r| r.get(0)).map_err(self.err())?.collect::<rusqlite::Result<_>>().map_err(self.err())?;
        Ok(rows.iter().filter_map(|m| m.parse().ok()).collect())
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

    /// The outbox entry with this idempotency key, if any.
    pub fn outbox_get(&self, key: &str) -> Result<Option<OutboxEntry>> {
        self.conn
            .query_row(
                "SELECT idempotency_key, job, period, recipient, kind, message_id, subject, message, state
                 FROM outbox WHERE idempotency_key = ?1",
                params![key],
                |r| {
                    Ok(OutboxEntry {
                        idempotency_key: r.get(0)?,
                        job: r.get(1)?,
                        period: r.get(2)?,
                        recipient: r.get(3)?,
                        kind: r.get(4)?,
                        message_id: r.get(5)?,
                        subject: r.get(6)?,
                        message: r.get(7)?,
                        state: r.get(8)?,
                    })
                },
            )
            .optional()
            .map_err(self.err())
    }

    /// Records a rendered message as pending before it is handed to a transport. A key
    /// already present is left unchanged (returns false).
    pub fn outbox_add(&self, e: &OutboxEntry, now: DateTime<Utc>) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "INSERT INTO outbox (idempotency_key, job, period, recipient, kind, message_id, subject, message, state, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9) ON CONFLICT (idempotency_key) DO NOTHING",
                params![e.idempotency_key, e.job, e.period, e.recipient, e.kind, e.message_id, e.subject, e.message, now.to_rfc3339()],
            )
            .map_err(self.err())?;
        Ok(n == 1)
    }

    /// Marks a message sent (after the transport accepted it).
    pub fn outbox_mark_sent(&self, key: &str, now: DateTime<Utc>) -> Result<()> {
        self.conn
            .execute(
                "UPDATE outbox SET state = 'sent', sent_at = ?2, attempts = attempts + 1, last_error = NULL WHERE idempotency_key = ?1",
                params![key, now.to_rfc3339()],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Records a failed attempt; the message stays pending.
    pub fn outbox_mark_failed(&self, key: &str, error: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE idempotency_key = ?1",
                params![key, error],
            )
            .map_err(self.err())?;
        Ok(())
    }
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
