//! The roster: the `roster_versions` table (every version of each rep, so closed
//! months keep their team and name) and the `roster` view (each rep's newest version).
//! Imports `domain` and the store's `sql` layer (both engines) only.

use chrono::{DateTime, NaiveDate, Utc};

use super::sql::{Optional, SqlResult, params};
use super::{NewImport, Result, Store, StoreError, StoreStats, text_date};
use crate::domain::{RosterRep, RosterVersion, RowOrigin};

impl Store {
    /// Stores a roster file in one transaction. Reps are matched by their identity key;
    /// a rep who is new or changed (any field, the effective and leave dates included)
    /// gets a new version, in effect from `local_midnight(effective_date)` when the row
    /// has an Effective Date, else from the file's export time; reps absent from this
    /// file are left as they were.
    pub fn import_roster(
        &mut self,
        meta: &NewImport,
        rows: &[RosterRep],
        local_midnight: &dyn Fn(NaiveDate) -> DateTime<Utc>,
    ) -> Result<StoreStats> {
        // Durable: the file is archived (removed from the inbox) only after this.
        self.durably(|s| s.import_roster_tx(meta, rows, local_midnight))
    }

    fn import_roster_tx(
        &mut self,
        meta: &NewImport,
        rows: &[RosterRep],
        local_midnight: &dyn Fn(NaiveDate) -> DateTime<Utc>,
    ) -> Result<StoreStats> {
        let path = self.path.clone();
        let err = |source| super::db_error(&path, source);
        let tx = self.conn.begin(false).map_err(err)?;
        let import_id = Self::begin(&tx, meta, rows.len()).map_err(err)?;
        let mut stats = StoreStats { import_id, ..Default::default() };
        {
            let mut current = tx
                .prepare(
                    "SELECT rep_id, name, email, team, manager, manager_email, hire_date, active, effective_date, leave_date
                     FROM roster WHERE rep_key = ?1",
                )
                .map_err(err)?;
            let mut version = tx
                .prepare(
                    "INSERT INTO roster_versions (rep_key, effective_at, rep_id, name, email, team, manager, manager_email,
                        hire_date, active, import_id, sheet, excel_row, effective_date, leave_date)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
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
                    Option<String>,
                    Option<String>,
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
                    r.effective_date.map(|d| d.to_string()),
                    r.leave_date.map(|d| d.to_string()),
                );
                let old: Option<RosterValues> = current
                    .query_row(params![r.key()], |x| {
                        Ok((
                            x.get(0)?,
                            x.get(1)?,
                            x.get(2)?,
                            x.get(3)?,
                            x.get(4)?,
                            x.get(5)?,
                            x.get(6)?,
                            x.get(7)?,
                            x.get(8)?,
                            x.get(9)?,
                        ))
                    })
                    .optional()
                    .map_err(err)?;
                // A restated Effective Date alone changes nothing: only a change of what the
                // roster says about the rep makes a version (README "Roster changes that
                // take effect on a date").
                let old = old.map(|mut o| {
                    o.8.clone_from(&values.8);
                    o
                });
                match old {
                    Some(old) if old == values => {
                        stats.unchanged += 1;
                        continue;
                    }
                    Some(_) => stats.superseded += 1,
                    None => stats.inserted += 1,
                }
                let effective_at = r.effective_date.map_or(meta.exported_at, local_midnight);
                version
                    .execute(params![
                        r.key(),
                        effective_at.to_rfc3339(),
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
                        r.origin.row,
                        values.8,
                        values.9
                    ])
                    .map_err(err)?;
            }
        }
        tx.commit().map_err(err)?;
        Ok(stats)
    }

    /// Every version of every rep, oldest first: (effective from, UTC; the rep; the
    /// roster file it came from). A version is written when a roster import adds a rep
    /// or changes anything about one. Among versions in effect from the same instant, the
    /// later import comes later (and wins: `metrics::roster_at`).
    ///
    /// Two rules make a dated row that arrives after an undated roster true
    /// (docs/definitions.md, "The roster of a month"):
    /// - a rep's first version without an Effective Date is their baseline: in effect
    ///   since always (`effective` is `DateTime::<Utc>::MIN_UTC`), not from its file's
    ///   export time, so a later row dated before that export moves the rep from its own
    ///   date and is never applied to the months before it;
    /// - the leave date is a fact about the rep: the newest imported version's leave
    ///   date, when it has one, is every version's (a Leave Date sent in a row without an
    ///   Effective Date still ends the rep's months; otherwise a version keeps its own).
    pub fn roster_versions(&self) -> Result<Vec<RosterVersion>> {
        self.roster_query(
            "SELECT v.rep_id, v.name, v.email, v.team, v.manager, v.manager_email, v.hire_date, v.active, v.sheet,
                    v.excel_row,
                    CASE WHEN v.effective_date IS NULL AND NOT EXISTS (
                             SELECT 1 FROM roster_versions w WHERE w.rep_key = v.rep_key AND w.import_id < v.import_id)
                         THEN NULL ELSE v.effective_at END AS effective,
                    v.effective_date,
                    COALESCE((SELECT w.leave_date FROM roster_versions w
                              WHERE w.rep_key = v.rep_key ORDER BY w.import_id DESC LIMIT 1), v.leave_date),
                    i.file_name
             FROM roster_versions v LEFT JOIN imports i ON i.id = v.import_id
             ORDER BY effective NULLS FIRST, v.import_id, v.rep_key",
        )
    }

    fn roster_query(&self, sql: &str) -> Result<Vec<RosterVersion>> {
        let mut st = self.conn.prepare(sql).map_err(self.db())?;
        let raw = st
            .query_map(params![], |r| {
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
                    (r.get::<_, Option<String>>(11)?, r.get::<_, Option<String>>(12)?),
                    r.get::<_, Option<String>>(13)?,
                ))
            })
            .map_err(self.db())?
            .collect::<SqlResult<Vec<_>>>()
            .map_err(self.db())?;
        raw.into_iter()
            .map(|((id, name, email, team, manager, manager_email), hire, active, origin, effective, dated, file)| {
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
                    effective_date: text_date(&self.path, "roster_versions.effective_date", dated.0)?,
                    leave_date: text_date(&self.path, "roster_versions.leave_date", dated.1)?,
                    origin,
                };
                Ok(RosterVersion { effective, rep, file: file.unwrap_or_default() })
            })
            .collect()
    }

    /// The whole roster (the newest version of each rep), ordered by name.
    pub fn roster(&self) -> Result<Vec<RosterRep>> {
        Ok(self
            .roster_query(
                "SELECT rep_id, name, email, team, manager, manager_email, hire_date, active, sheet, excel_row, NULL,
                        effective_date, leave_date, NULL
                 FROM roster ORDER BY name, rep_key",
            )?
            .into_iter()
            .map(|v| v.rep)
            .collect())
    }
}
