//! Deal events: the `deals` table (the current version of each deal event, one row per
//! credited rep), `deal_history` (versions a later export replaced) and `import_months`
//! (which months each deals file held rows for). [`Store::import_deals`] and the deal
//! queries. Imports `domain` and rusqlite only.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Row, params};
use rust_decimal::Decimal;

use super::{NewImport, Result, Store, StoreError, StoreStats, text_date, text_decimal};
use crate::domain::{DealRow, Period, RepRef, RowOrigin, StageClass};

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

impl Store {
    /// Stores a deals file in one transaction: whole or not at all. For each (Deal ID,
    /// event) in the file, its rows (one per credited rep) replace the stored rows of that
    /// deal event when they differ (the old ones move to `deal_history`), and are left
    /// alone when identical — or when the stored rows came from a file exported later
    /// (a later export of the same deal replaces the earlier one).
    pub fn import_deals(&mut self, meta: &NewImport, rows: &[DealRow]) -> Result<StoreStats> {
        // Durable: the file is archived (removed from the inbox) only after this.
        self.durably(|s| s.import_deals_tx(meta, rows))
    }

    fn import_deals_tx(&mut self, meta: &NewImport, rows: &[DealRow]) -> Result<StoreStats> {
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

    /// For each month with deals, the newest export time of the files that held rows for
    /// it (docs/definitions.md: As of).
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
        Ok(self.newest_deal_date()?.map(Period::of))
    }

    /// The newest close date (org-local) of a won or cancelled deal, if any is stored.
    pub fn newest_deal_date(&self) -> Result<Option<NaiveDate>> {
        let d: Option<String> = self
            .conn
            .query_row("SELECT MAX(close_date) FROM deals WHERE class IN ('won', 'cancelled')", [], |r| r.get(0))
            .map_err(self.err())?;
        text_date(&self.path, "deals.close_date", d)
    }

    /// Whether a won or cancelled deal closes from `first` to `last` (org-local dates,
    /// inclusive): one seek along the close-date index.
    pub fn has_deals_between(&self, first: NaiveDate, last: NaiveDate) -> Result<bool> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM deals WHERE close_date >= ?1 AND close_date <= ?2 AND class IN ('won', 'cancelled'))",
                params![first.to_string(), last.to_string()],
                |r| r.get(0),
            )
            .map_err(self.err())
    }

    /// The Deal IDs that have a cancellation and a won row on record (in any month, from
    /// any export): the sales those cancellations subtract (issue 15.4). Only cancelled
    /// IDs are looked up, so the set stays as small as the cancellations.
    pub fn cancelled_ids_with_sale(&self) -> Result<std::collections::HashSet<String>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT DISTINCT c.deal_id FROM deals c WHERE c.event = 'cancellation'
                 AND EXISTS (SELECT 1 FROM deals w WHERE w.deal_id = c.deal_id AND w.class = 'won')",
            )
            .map_err(self.err())?;
        let ids = st.query_map([], |r| r.get::<_, String>(0)).map_err(self.err())?;
        ids.collect::<rusqlite::Result<_>>().map_err(self.err())
    }

    /// The month of the earliest stored deal row, any stage: where the history starts.
    pub fn first_deal_month(&self) -> Result<Option<Period>> {
        let d: Option<String> =
            self.conn.query_row("SELECT MIN(close_date) FROM deals", [], |r| r.get(0)).map_err(self.err())?;
        Ok(text_date(&self.path, "deals.close_date", d)?.map(Period::of))
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
