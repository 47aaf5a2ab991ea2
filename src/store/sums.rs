//! Per month and rep, the sums of the stored deal rows (issue 19, "compute once"): the
//! `rep_month_sums` table, which history (personal bests, streaks, trends, quarter and
//! year to date) is computed from instead of every stored deal row, and
//! `rep_month_sums_stale`, the months whose sums are to be (re)built.
//!
//! Kept per rep *as the export named them* (rep id, e-mail, name: matched to a roster
//! rep when read, against the month's roster, so a back-dated roster change needs no
//! rebuild), and split by whether the rows are won rows and cancellations whose sale is
//! on record (`sale_on_record = 1`) or cancellations whose sale is not (0: whether they
//! count depends only on their month and the history's first month, decided when read,
//! `metrics::no_sale_counts`).
//!
//! Built by the import in its own transaction for exactly the months it touched: the
//! months of the rows it added or replaced, of the versions it replaced (a correction can
//! move a deal to another month or rep), and of the cancellations whose sale it added or
//! took off the record. A store written before this table gets its sums built at its
//! first read-write open ([`Store::open`]); until then a read-only reader finds those
//! months stale ([`Store::stale_sum_months`]) and sums their rows itself.
//!
//! Money is summed in Rust ([`RepMonthSums`], exact decimal), never by SQLite's floating
//! point `SUM`; the months' rows are read by a range scan of the close-date index.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::sql::{Conn, Row, SqlResult, params};
use super::{Result, Store, StoreError};
use crate::domain::{DealRow, Period, RepMonthSums, RepRef, StageClass, event_name};

/// One stored sums row: (month, rep as exported, whether its rows are won rows and
/// cancellations whose sale is on record, the sums).
pub type StoredSums = (Period, RepRef, bool, RepMonthSums);

impl Store {
    /// The stored sums of every month up to `through` (inclusive) that is not stale,
    /// in no particular order. See the module documentation for what a row holds.
    pub fn rep_month_sums(&self, through: Period) -> Result<Vec<StoredSums>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT month, rep_id, rep_email, rep_name, sale_on_record, revenue, units, won, cancelled,
                        rating_sum, rating_n, paperwork_n, clean_n, errors, month_totals, through,
                        team, team_date, team_deal_id, team_event
                 FROM rep_month_sums WHERE month <= ?1",
            )
            .map_err(self.db())?;
        let p = &self.path;
        let sql = |source| super::db_error(p, source);
        let corrupt =
            |what: &str, value: &str| StoreError::Corrupt { path: p.clone(), what: what.into(), value: value.into() };
        let text = |r: &Row<'_>, i: usize| -> Result<Option<String>> { r.get(i).map_err(sql) };
        let decimal = |r: &Row<'_>, i: usize, what: &str| -> Result<Decimal> {
            let s: String = r.get(i).map_err(sql)?;
            s.parse::<Decimal>().map_err(|_| corrupt(what, &s))
        };
        let date = |s: Option<String>, what: &str| -> Result<Option<NaiveDate>> {
            s.map(|s| s.parse::<NaiveDate>().map_err(|_| corrupt(what, &s))).transpose()
        };
        let count = |r: &Row<'_>, i: usize| -> Result<u32> { r.get(i).map_err(sql) };
        let mut out = Vec::new();
        st.try_for_each(params![through.to_string()], sql, |r| {
            let month: String = r.get(0).map_err(sql)?;
            let month = month.parse::<Period>().map_err(|_| corrupt("rep_month_sums.month", &month))?;
            let rep = RepRef { id: text(r, 1)?, email: text(r, 2)?, name: text(r, 3)? };
            let on_record: bool = r.get(4).map_err(sql)?;
            let team_date = date(text(r, 17)?, "rep_month_sums.team_date")?;
            let team_at = match (team_date, text(r, 18)?, text(r, 19)?) {
                (Some(at), Some(id), Some(ev)) => {
                    Some((at, id, event_name(&ev).ok_or_else(|| corrupt("rep_month_sums.team_event", &ev))?))
                }
                _ => None,
            };
            let sums = RepMonthSums {
                revenue: decimal(r, 5, "rep_month_sums.revenue")?,
                units: decimal(r, 6, "rep_month_sums.units")?,
                won: count(r, 7)?,
                cancelled: count(r, 8)?,
                rating_sum: decimal(r, 9, "rep_month_sums.rating_sum")?,
                rating_n: count(r, 10)?,
                paperwork_n: count(r, 11)?,
                clean_n: count(r, 12)?,
                errors: count(r, 13)?,
                month_totals: count(r, 14)?,
                through: date(text(r, 15)?, "rep_month_sums.through")?,
                export_team: text(r, 16)?,
                team_at,
            };
            out.push((month, rep, on_record, sums));
            Ok(())
        })?;
        Ok(out)
    }

    /// The months whose stored sums are not built yet (a store written before
    /// `rep_month_sums`, opened read-only since), oldest first: their rows are to be
    /// summed by the reader.
    pub fn stale_sum_months(&self) -> Result<Vec<Period>> {
        let mut st = self.conn.prepare("SELECT month FROM rep_month_sums_stale ORDER BY month").map_err(self.db())?;
        let months: Vec<String> =
            st.query_map(params![], |r| r.get(0)).map_err(self.db())?.collect::<SqlResult<_>>().map_err(self.db())?;
        months
            .into_iter()
            .map(|m| {
                m.parse::<Period>().map_err(|_| StoreError::Corrupt {
                    path: self.path.clone(),
                    what: "rep_month_sums_stale.month".into(),
                    value: m,
                })
            })
            .collect()
    }

    /// The month of the earliest stored deal row (any stage) closing on or before the
    /// end of `through` (and not before 1900): where the history that month's standings
    /// read starts. One seek along the close-date index.
    pub fn first_deal_month_through(&self, through: Period) -> Result<Option<Period>> {
        let d: Option<String> = self
            .conn
            .query_row(
                "SELECT MIN(close_date) FROM deals WHERE close_date >= '1900-01-01' AND close_date <= ?1",
                params![through.last_day().to_string()],
                |r| r.get(0),
            )
            .map_err(self.db())?;
        super::text_date(&self.path, "deals.close_date", d).map(|d| d.map(Period::of))
    }

    /// Builds the sums of the stale months, if any (a store written before
    /// `rep_month_sums`: the migration marks every month with deals stale), in one
    /// transaction. Called by [`Store::open`].
    pub(super) fn build_stale_sums(&mut self) -> Result<()> {
        let path = self.path.clone();
        let err = |source| super::db_error(&path, source);
        let any: bool = self
            .conn
            .query_row("SELECT EXISTS (SELECT 1 FROM rep_month_sums_stale)", params![], |r| r.get(0))
            .map_err(err)?;
        if any {
            let tx = self.conn.begin(true).map_err(err)?;
            rebuild_stale(&tx, &path)?;
            tx.commit().map_err(err)?;
        }
        Ok(())
    }

    /// After a deals file is stored (inside its transaction, with `temp.deal_stage` and
    /// `temp.deal_groups` still holding its rows and the fate of each stored deal event it
    /// repeats; an event absent from the groups is new): marks stale
    /// the months it touched and rebuilds their sums. Touched: the months of the new and
    /// changed deal events' rows, of the versions this import replaced (`deal_history`
    /// rows superseded by `import_id`: a correction may move a deal to another month or
    /// rep), and of the stored cancellations of every Deal ID whose sale event is new or
    /// changed (its sale may have come onto the record, or left it).
    ///
    /// `fresh`: the file's months that held no stored deal row just before its rows were
    /// stored ([`Store::empty_months`]). Their rows now are exactly the file's rows of
    /// the deal events it stored (new or changed; not those a later export holds), so
    /// their sums are computed from `rows` in memory instead of read back; every other
    /// touched month is rebuilt from the stored rows.
    pub(super) fn sums_after_import(
        tx: &Conn,
        path: &std::path::Path,
        import_id: i64,
        rows: &[DealRow],
        fresh: &BTreeSet<Period>,
    ) -> Result<()> {
        let err = |source| super::db_error(path, source);
        const STALE: &str = "INSERT INTO rep_month_sums_stale (month)
             SELECT DISTINCT t.month FROM (
                 SELECT substr(s.close_date, 1, 7) AS month
                   FROM temp.deal_stage s
                  WHERE NOT EXISTS (SELECT 1 FROM temp.deal_groups g
                                     WHERE g.deal_id = s.deal_id AND g.event = s.event AND g.status <> 'changed')
                 UNION
                 SELECT substr(h.close_date, 1, 7) FROM deal_history h WHERE h.superseded_by = ?1
                 UNION
                 SELECT substr(c.close_date, 1, 7)
                   FROM (SELECT DISTINCT s.deal_id FROM temp.deal_stage s
                          WHERE s.event = 'sale' AND NOT EXISTS (SELECT 1 FROM temp.deal_groups g
                                WHERE g.deal_id = s.deal_id AND g.event = s.event AND g.status <> 'changed')) n
                   JOIN deals c ON c.deal_id = n.deal_id AND c.event = 'cancellation'
             ) t
             WHERE t.month IS NOT NULL AND NOT EXISTS (SELECT 1 FROM rep_month_sums_stale x WHERE x.month = t.month)";
        let sql: std::borrow::Cow<'_, str> =
            if tx.is_pg() { super::sql::pg_dialect(STALE).into() } else { STALE.into() };
        tx.execute(&sql, params![import_id]).map_err(err)?;
        if !fresh.is_empty() {
            sums_from_rows(tx, path, rows, fresh)?;
        }
        rebuild_stale(tx, path)
    }

    /// Of `months`, those with no row in `deals` now (one probe of the close-date index
    /// each). Inside the import's transaction, after the changed deal events' old rows
    /// left `deals` and before the file's rows are stored.
    pub(super) fn empty_months(
        tx: &Conn,
        path: &std::path::Path,
        months: &BTreeSet<Period>,
    ) -> Result<BTreeSet<Period>> {
        let err = |source| super::db_error(path, source);
        let mut any = tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM deals WHERE close_date >= ?1 AND close_date <= ?2)")
            .map_err(err)?;
        let mut out = BTreeSet::new();
        for m in months {
            let held: bool = any
                .query_row(params![m.first_day().to_string(), m.last_day().to_string()], |r| r.get(0))
                .map_err(err)?;
            if !held {
                out.insert(*m);
            }
        }
        Ok(out)
    }
}

/// The sums of the `fresh` months (stale now) from the file's rows in memory, written
/// and taken off the stale list: what [`rebuild_stale`] would read back from `deals`,
/// without reading it. A row counts when its deal event was stored by this import (not
/// one a later export holds: `older` in `temp.deal_groups`; an `unchanged` event cannot
/// have a row in a month that held none). Decimals are normalized as `deals` stores
/// them, so the sums' scale is the one a rebuild gives. A cancellation's sale is on
/// record when `deals` now holds a won row of its Deal ID, as in the rebuild.
fn sums_from_rows(tx: &Conn, path: &std::path::Path, rows: &[DealRow], fresh: &BTreeSet<Period>) -> Result<()> {
    let err = |source| super::db_error(path, source);
    let older: HashSet<(String, String)> = {
        let sql = "SELECT deal_id, event FROM temp.deal_groups WHERE status = 'older'";
        let sql: std::borrow::Cow<'_, str> = if tx.is_pg() { super::sql::pg_dialect(sql).into() } else { sql.into() };
        let mut st = tx.prepare(&sql).map_err(err)?;
        st.query_map(params![], |r| Ok((r.get(0)?, r.get(1)?))).map_err(err)?.collect::<SqlResult<_>>().map_err(err)?
    };
    let mut won =
        tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM deals WHERE deal_id = ?1 AND class = 'won')").map_err(err)?;
    let mut months: BTreeMap<Period, MonthSums> = BTreeMap::new();
    // One row reused for the normalized copy: its Strings keep their buffers.
    let mut n = DealRow {
        deal_id: String::new(),
        stage: String::new(),
        class: StageClass::Won,
        rep: RepRef::default(),
        team: None,
        close_date: None,
        amount: None,
        units: None,
        rating: None,
        paperwork_complete: None,
        paperwork_errors: None,
        share: Decimal::ONE,
        origin: Default::default(),
    };
    for d in rows {
        let Some(date) = d.close_date else { continue };
        let month = Period::of(date);
        if !fresh.contains(&month) || d.class == StageClass::Ignored {
            continue;
        }
        if !older.is_empty() && older.contains(&(d.deal_id.clone(), d.event().as_str().to_string())) {
            continue;
        }
        let on_record =
            d.class == StageClass::Won || won.query_row(params![d.deal_id], |r| r.get::<_, bool>(0)).map_err(err)?;
        n.deal_id.clone_from(&d.deal_id);
        n.stage.clone_from(&d.stage);
        n.class = d.class;
        n.rep.id.clone_from(&d.rep.id);
        n.rep.email.clone_from(&d.rep.email);
        n.rep.name.clone_from(&d.rep.name);
        n.team.clone_from(&d.team);
        n.close_date = d.close_date;
        n.amount = d.amount.map(|x| x.normalize());
        n.units = d.units.map(|x| x.normalize());
        n.rating = d.rating.map(|x| x.normalize());
        n.paperwork_complete = d.paperwork_complete;
        n.paperwork_errors = d.paperwork_errors;
        n.share = d.share.normalize();
        let by_rep = months.entry(month).or_default();
        let halves = match by_rep.get_mut(&d.rep) {
            Some(h) => h,
            None => by_rep.entry(d.rep.clone()).or_default(),
        };
        halves[usize::from(on_record)].get_or_insert_with(RepMonthSums::default).add_row(&n);
    }
    let mut unstale = tx.prepare_cached("DELETE FROM rep_month_sums_stale WHERE month = ?1").map_err(err)?;
    for m in fresh {
        let sums = months.remove(m).unwrap_or_default().into_iter().flat_map(|(rep, halves)| {
            let [off, on] = halves;
            [(false, off), (true, on)].into_iter().filter_map(move |(r, s)| Some(((rep.clone(), r), s?)))
        });
        write_month(tx, path, &m.to_string(), sums)?;
        unstale.execute(params![m.to_string()]).map_err(err)?;
    }
    Ok(())
}

/// Per rep as exported, the month's sums of cancellations whose sale is not on record
/// (`[0]`) and of the rest (`[1]`).
type MonthSums = HashMap<RepRef, [Option<RepMonthSums>; 2]>;

/// Rebuilds the sums of every month in `rep_month_sums_stale` from the stored deal rows
/// (won and cancelled, in any order: [`RepMonthSums::add_row`] does not depend on it, so
/// the range scan needs no sort), then empties it. Inside the caller's transaction.
fn rebuild_stale(tx: &Conn, path: &std::path::Path) -> Result<()> {
    let err = |source| super::db_error(path, source);
    let corrupt =
        |what: &str, value: &str| StoreError::Corrupt { path: path.into(), what: what.into(), value: value.into() };
    let months: Vec<String> = {
        let mut st = tx.prepare("SELECT month FROM rep_month_sums_stale ORDER BY month").map_err(err)?;
        st.query_map(params![], |r| r.get(0)).map_err(err)?.collect::<SqlResult<_>>().map_err(err)?
    };
    let mut read = tx
        .prepare(
            "SELECT d.deal_id, d.stage, d.class, d.rep_id, d.rep_email, d.rep_name, d.team, d.close_date, d.amount,
                    d.units, d.rating, d.paperwork_complete, d.paperwork_errors, d.sheet, d.excel_row, d.share,
                    CASE WHEN d.class = 'won' THEN 1
                         WHEN EXISTS (SELECT 1 FROM deals w WHERE w.deal_id = d.deal_id AND w.class = 'won') THEN 1
                         ELSE 0 END
             FROM deals d
             WHERE d.close_date >= ?1 AND d.close_date <= ?2 AND d.class IN ('won', 'cancelled')",
        )
        .map_err(err)?;
    for m in &months {
        let month = m.parse::<Period>().map_err(|_| corrupt("rep_month_sums_stale.month", m))?;
        let mut sums: HashMap<(RepRef, bool), RepMonthSums> = HashMap::new();
        let (first, last) = (month.first_day().to_string(), month.last_day().to_string());
        read.try_for_each(params![first, last], err, |r| {
            let d = super::deals::deal_row(r, path)?;
            let on_record: bool = r.get(16).map_err(err)?;
            sums.entry((d.rep.clone(), on_record)).or_default().add_row(&d);
            Ok(())
        })?;
        write_month(tx, path, m, sums)?;
    }
    tx.execute("DELETE FROM rep_month_sums_stale", params![]).map_err(err)?;
    Ok(())
}

/// Replaces the stored sums of `month` (YYYY-MM) with `sums`: per (rep as exported,
/// whether the rows are on record), one row.
fn write_month(
    tx: &Conn,
    path: &std::path::Path,
    month: &str,
    sums: impl IntoIterator<Item = ((RepRef, bool), RepMonthSums)>,
) -> Result<()> {
    let err = |source| super::db_error(path, source);
    tx.prepare_cached("DELETE FROM rep_month_sums WHERE month = ?1")
        .map_err(err)?
        .execute(params![month])
        .map_err(err)?;
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO rep_month_sums (month, rep_id, rep_email, rep_name, sale_on_record, revenue, units, won,
                cancelled, rating_sum, rating_n, paperwork_n, clean_n, errors, month_totals, through,
                team, team_date, team_deal_id, team_event)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
        )
        .map_err(err)?;
    for ((rep, on_record), s) in sums {
        let (team_date, team_deal_id, team_event) = match &s.team_at {
            Some((at, id, ev)) => (Some(at.to_string()), Some(id.as_str()), Some(*ev)),
            None => (None, None, None),
        };
        insert
            .execute(params![
                month,
                rep.id,
                rep.email,
                rep.name,
                on_record,
                s.revenue.to_string(),
                s.units.to_string(),
                s.won,
                s.cancelled,
                s.rating_sum.to_string(),
                s.rating_n,
                s.paperwork_n,
                s.clean_n,
                s.errors,
                s.month_totals,
                s.through.map(|t| t.to_string()),
                s.export_team,
                team_date,
                team_deal_id,
                team_event,
            ])
            .map_err(err)?;
    }
    Ok(())
}
