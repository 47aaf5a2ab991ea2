//! The import ledger: the `imports` table (one row per stored file: source, bytes'
//! SHA-256, export time) and `import_reports` (what each inbox file gave, stored or
//! quarantined). Also [`NewImport`] and [`StoreStats`], which every `import_*` method
//! (deals, quotas, roster) takes and returns. Imports `domain` and the store's `sql` layer (both engines) only.

use chrono::{DateTime, Utc};

use super::sql::{Conn, Optional, Param, SqlResult, params};
use super::{Result, Store, StoreError, instant};
use crate::domain::Period;

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
    /// A quarantine only: when it was resolved (UTC); `None` while it is unresolved and
    /// holds the jobs whose figures it could change (issue 15.1).
    pub resolved_at: Option<DateTime<Utc>>,
    /// A quarantine only: how it was resolved, in one line (the later import of the same
    /// source, or the admin's dismissal).
    pub resolution: Option<String>,
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

impl Store {
    /// Records an import report; returns its number.
    pub fn add_import_report(&self, r: &ImportReport) -> Result<i64> {
        let periods: Vec<String> = r.periods.iter().map(Period::to_string).collect();
        self.conn
            .query_row(
                "INSERT INTO import_reports (at, file_name, source, kind, outcome, import_id, sheet, header_row, rows_read,
                    rows_stored, rows_rejected, new, updated, unchanged, superseded, periods, warnings, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18) RETURNING id",
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
                |r| r.get(0),
            )
            .map_err(self.db())
    }

    /// The newest `limit` import reports, newest first.
    pub fn import_reports(&self, limit: usize) -> Result<Vec<ImportReport>> {
        self.reports_where("ORDER BY id DESC LIMIT ?1", params![limit as i64])
    }

    /// The quarantined files not yet resolved (issue 15.1), oldest first.
    pub fn unresolved_quarantines(&self) -> Result<Vec<ImportReport>> {
        self.reports_where("WHERE outcome = 'quarantined' AND resolved_at IS NULL ORDER BY id", params![])
    }

    /// Resolves the quarantine whose report number is `id` at `at`, saying `resolution`
    /// (the later import that resolved it, or the admin's dismissal). A report already
    /// resolved keeps its first resolution.
    pub fn resolve_quarantine(&self, id: i64, at: DateTime<Utc>, resolution: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE import_reports SET resolved_at = ?1, resolution = ?2
                 WHERE id = ?3 AND outcome = 'quarantined' AND resolved_at IS NULL",
                params![at.to_rfc3339(), resolution, id],
            )
            .map_err(self.db())?;
        Ok(())
    }

    /// The newest earlier quarantine of the same file (`source`, `file_name`) rejected
    /// for the same `reason`, other than report `id`: the same bad file seen again (with
    /// `after_import = "keep"` it stays in the inbox and is read on every pass).
    pub fn previous_quarantine(
        &self,
        id: i64,
        source: &str,
        file_name: &str,
        reason: &str,
    ) -> Result<Option<ImportReport>> {
        Ok(self
            .reports_where(
                "WHERE outcome = 'quarantined' AND id < ?1 AND source = ?2 AND file_name = ?3 AND reason = ?4
                 ORDER BY id DESC LIMIT 1",
                params![id, source, file_name, reason],
            )?
            .pop())
    }

    /// Import reports selected and ordered by `where_order` (SQL after `FROM import_reports`).
    fn reports_where(&self, where_order: &str, p: &[&dyn Param]) -> Result<Vec<ImportReport>> {
        let mut st = self.conn
            .prepare(&format!(
                "SELECT id, at, file_name, source, kind, import_id, sheet, header_row, rows_read, rows_stored, rows_rejected,
                        new, updated, unchanged, superseded, periods, warnings, reason, resolved_at, resolution
                 FROM import_reports {where_order}"
            ))
            .map_err(self.db())?;
        type Raw = (ImportReport, String, String, String, Option<String>);
        let rows: Vec<Raw> = st
            .query_map(p, |r| {
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
                        resolution: r.get(19)?,
                        ..Default::default()
                    },
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(15)?,
                    r.get::<_, String>(16)?,
                    r.get::<_, Option<String>>(18)?,
                ))
            })
            .map_err(self.db())?
            .collect::<SqlResult<_>>()
            .map_err(self.db())?;
        rows.into_iter()
            .map(|(mut rep, at, periods, warnings, resolved_at)| {
                rep.at = instant(&self.path, "import_reports.at", at)?;
                rep.resolved_at =
                    resolved_at.map(|t| instant(&self.path, "import_reports.resolved_at", t)).transpose()?;
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
        let mut stmt = self.conn.prepare("SELECT source, sha256 FROM imports").map_err(self.db())?;
        let rows = stmt.query_map(params![], |r| Ok((r.get(0)?, r.get(1)?))).map_err(self.db())?;
        rows.collect::<SqlResult<_>>().map_err(self.db())
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
            .map_err(self.db())?
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

    pub(super) fn begin(tx: &Conn, meta: &NewImport, stored: usize) -> SqlResult<i64> {
        tx.query_row(
            "INSERT INTO imports (source, kind, file_name, sha256, sheet, imported_at, exported_at, rows_stored, rows_rejected)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
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
            |r| r.get(0),
        )
    }
}
