//! Memo facts: the `memo_facts` table (the figures a message stated, kept with its
//! idempotency key, so a later run can tell a correction from a repeat). Imports
//! `domain` and the store's `sql` layer (both engines) only.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::sql::{SqlResult, params};
use super::{Result, Store};
use crate::domain::Period;

impl Store {
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
            .map_err(self.db())?;
        Ok(())
    }

    /// The figures most recently stated to each rep for `job` and `period` by a message
    /// that was sent: rep key -> (facts JSON, sent at, RFC 3339).
    pub fn facts_sent(&self, job: &str, period: Period) -> Result<HashMap<String, (String, String)>> {
        let mut st = self.conn
            .prepare(
                "SELECT f.rep_key, f.facts, o.sent_at FROM memo_facts f JOIN outbox o ON o.idempotency_key = f.idempotency_key
                 WHERE f.job = ?1 AND f.period = ?2 AND o.state = 'sent' ORDER BY o.sent_at, f.recorded_at",
            )
            .map_err(self.db())?;
        let rows = st
            .query_map(params![job, period.to_string()], |r| Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?))))
            .map_err(self.db())?
            .collect::<SqlResult<Vec<(String, (String, String))>>>()
            .map_err(self.db())?;
        Ok(rows.into_iter().collect())
    }

    /// The months for which some message of `job` that states figures was sent, oldest
    /// first (`run quota-memo --corrections` without `--period` corrects each of them).
    pub fn facts_periods_sent(&self, job: &str) -> Result<Vec<Period>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT DISTINCT f.period FROM memo_facts f JOIN outbox o ON o.idempotency_key = f.idempotency_key
                 WHERE f.job = ?1 AND o.state = 'sent' ORDER BY f.period",
            )
            .map_err(self.db())?;
        let rows = st
            .query_map(params![job], |r| r.get::<_, String>(0))
            .map_err(self.db())?
            .collect::<SqlResult<Vec<String>>>()
            .map_err(self.db())?;
        Ok(rows.iter().filter_map(|p| p.parse().ok()).collect())
    }
}
