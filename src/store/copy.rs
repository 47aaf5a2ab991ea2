//! Copying a state into another database (`quotad migrate-state`): every table in
//! foreign-key order, row by row with its columns by name, in one transaction of the
//! target; then PostgreSQL's identity counters are set past the copied ids. Imports the
//! store's `sql` layer only.

use super::sql::{OwnedValue, Param, params};
use super::{Result, Store, StoreError};

/// Every table of the state, parents before the tables that refer to them. A test
/// checks it against SQLite's catalog, so a new table cannot be forgotten here.
pub(super) const TABLES: &[&str] = &[
    "imports",
    "deals",
    "deal_history",
    "import_months",
    "quotas",
    "roster_versions",
    "outbox",
    "outbox_recipients",
    "memo_facts",
    "import_reports",
    "runs",
    "daemon",
    "approvals",
    "approval_messages",
    "approval_requests",
    "rep_month_sums",
    "rep_month_sums_stale",
    "instances",
    "inbox_claims",
];

/// The tables whose `id` is an identity on PostgreSQL (SQLite's INTEGER PRIMARY KEY).
const IDENTITIES: &[&str] = &["imports", "import_reports", "approvals", "approval_requests", "instances"];

impl Store {
    /// Rows per table, in [`TABLES`] order: (table, rows).
    pub fn table_counts(&self) -> Result<Vec<(String, i64)>> {
        TABLES
            .iter()
            .map(|t| {
                let n: i64 = self
                    .conn
                    .query_row(&format!("SELECT COUNT(*) FROM {t}"), params![], |r| r.get(0))
                    .map_err(self.db())?;
                Ok((t.to_string(), n))
            })
            .collect()
    }

    /// The first table holding a row, with its rows, or `None` for an empty state.
    pub fn first_nonempty_table(&self) -> Result<Option<(String, i64)>> {
        Ok(self.table_counts()?.into_iter().find(|(_, n)| *n > 0))
    }

    /// Copies every row of this (SQLite) state into `to` (a PostgreSQL state, migrated
    /// and empty: the caller checks it), in one transaction of `to`. Returns the rows
    /// copied per table.
    ///
    /// Errors: this state has a table [`TABLES`] does not know (a newer schema:
    /// [`StoreError::Corrupt`] naming it); either database's.
    pub fn copy_into(&self, to: &Store) -> Result<Vec<(String, i64)>> {
        let lite = self.conn.lite().ok_or_else(|| StoreError::Corrupt {
            path: self.path.clone(),
            what: "migrate-state source".into(),
            value: "a PostgreSQL state (the source must be SQLite)".into(),
        })?;
        let names: Vec<String> = {
            let mut st = lite
                .prepare(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
                )
                .map_err(self.err())?;
            st.query_map([], |r| r.get(0)).map_err(self.err())?.collect::<rusqlite::Result<_>>().map_err(self.err())?
        };
        if let Some(t) = names.iter().find(|n| !TABLES.contains(&n.as_str())) {
            return Err(StoreError::Corrupt {
                path: self.path.clone(),
                what: "tables".into(),
                value: format!("{t} (a table this quotad's migrate-state does not know)"),
            });
        }
        let tx = to.conn.begin(true).map_err(to.db())?;
        let mut copied = Vec::new();
        for t in TABLES {
            let cols: Vec<String> = {
                let mut st = lite
                    .prepare(&format!("SELECT name FROM pragma_table_info('{t}') ORDER BY cid"))
                    .map_err(self.err())?;
                st.query_map([], |r| r.get(0))
                    .map_err(self.err())?
                    .collect::<rusqlite::Result<_>>()
                    .map_err(self.err())?
            };
            let list = cols.join(", ");
            let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
            let insert = format!("INSERT INTO {t} ({list}) VALUES ({})", marks.join(", "));
            let mut n = 0i64;
            let mut failed = None;
            self.conn.try_for_each(&format!("SELECT {list} FROM {t}"), params![], self.db(), |r| {
                let values: Vec<OwnedValue> =
                    (0..cols.len()).map(|i| r.value(i)).collect::<super::sql::SqlResult<_>>().map_err(self.db())?;
                let refs: Vec<&dyn Param> = values.iter().map(|v| v as &dyn Param).collect();
                if let Err(e) = tx.execute(&insert, &refs) {
                    failed = Some(e);
                    return Ok(());
                }
                n += 1;
                Ok(())
            })?;
            if let Some(e) = failed {
                return Err((to.db())(e));
            }
            copied.push((t.to_string(), n));
        }
        if to.conn.is_pg() {
            for t in IDENTITIES {
                tx.execute(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{t}', 'id'), GREATEST(COALESCE(MAX(id), 0), 1), MAX(id) IS NOT NULL) FROM {t}"
                    ),
                    params![],
                )
                .map_err(to.db())?;
            }
        }
        tx.commit().map_err(to.db())?;
        Ok(copied)
    }
}

#[cfg(test)]
mod tests {
    /// [`super::TABLES`] is every table of the schema SQLite's migrations make.
    #[test]
    fn migrate_state_knows_every_table() {
        let lite = rusqlite::Connection::open_in_memory().unwrap();
        for m in super::super::migrations::MIGRATIONS {
            lite.execute_batch(m).unwrap();
        }
        let mut st = lite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").unwrap();
        let tables: Vec<String> = st.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect();
        let mut known: Vec<&str> = super::TABLES.to_vec();
        known.sort();
        assert_eq!(tables, known);
    }
}
