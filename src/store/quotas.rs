//! Quotas: the `quotas` table (one row per rep and month; a later file's quota
//! replaces the earlier). Imports `domain` and the store's `sql` layer (both engines) only.

use super::sql::{Optional, SqlResult, params};
use super::{NewImport, Result, Store, StoreStats, text_decimal};
use crate::domain::{Period, QuotaRow, RepRef, RowOrigin};

impl Store {
    /// Stores a quotas file in one transaction; a later file's quota for the same rep and
    /// month replaces the earlier.
    pub fn import_quotas(&mut self, meta: &NewImport, rows: &[QuotaRow]) -> Result<StoreStats> {
        // Durable: the file is archived (removed from the inbox) only after this.
        self.durably(|s| s.import_quotas_tx(meta, rows))
    }

    fn import_quotas_tx(&mut self, meta: &NewImport, rows: &[QuotaRow]) -> Result<StoreStats> {
        let path = self.path.clone();
        let err = |source| super::db_error(&path, source);
        let tx = self.conn.begin(false).map_err(err)?;
        let import_id = Self::begin(&tx, meta, rows.len()).map_err(err)?;
        let mut stats = StoreStats { import_id, ..Default::default() };
        {
            let mut current =
                tx.prepare("SELECT revenue, units FROM quotas WHERE rep_ref = ?1 AND month = ?2").map_err(err)?;
            let mut upsert = tx
                .prepare(
                    "INSERT INTO quotas (rep_ref, rep_id, rep_email, rep_name, month, revenue, units, import_id, sheet, excel_row)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                     ON CONFLICT (rep_ref, month) DO UPDATE SET rep_id = excluded.rep_id, rep_email = excluded.rep_email,
                        rep_name = excluded.rep_name, revenue = excluded.revenue, units = excluded.units,
                        import_id = excluded.import_id, sheet = excluded.sheet, excel_row = excluded.excel_row",
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

    /// Quotas for every month from `from` to `to` inclusive.
    pub fn quotas_between(&self, from: Period, to: Period) -> Result<Vec<QuotaRow>> {
        let mut months = Vec::new();
        let mut m = from;
        let first: Option<String> =
            self.conn.query_row("SELECT MIN(month) FROM quotas", params![], |r| r.get(0)).map_err(self.db())?;
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
        let mut st = self.conn
            .prepare("SELECT rep_id, rep_email, rep_name, revenue, units, sheet, excel_row FROM quotas WHERE month = ?1 ORDER BY rep_ref")
            .map_err(self.db())?;
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
                .map_err(self.db())?
                .collect::<SqlResult<Vec<_>>>()
                .map_err(self.db())?;
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
            .map_err(self.db())
    }
}
