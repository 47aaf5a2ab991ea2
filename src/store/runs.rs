//! The runs ledger (migration 4): one row per (job, occurrence), so that an occurrence
//! runs at most once whatever restarts, and what the daemon last saw (`last_seen`).
//! Occurrences are stored as RFC 3339 UTC text with milliseconds (text order is time
//! order), like the outbox's instants.

use chrono::{DateTime, Utc};

use super::sql::{Optional, Param, SqlResult, params};
use super::{Result, Store, StoreError, instant, ts};

/// Where a (job, occurrence) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RunState {
    /// Claimed and running — or interrupted (shutdown, crash): resumed at the next start.
    Started,
    /// No data for its period yet: looked at again every heartbeat until its
    /// `wait_for_data` deadline.
    Waiting,
    /// Done: its messages are in the outbox (and delivered, or retrying there).
    Succeeded,
    /// Not run: no data for its period (the admin was told).
    Skipped,
    /// Ran and failed (the result says why); not retried automatically.
    Failed,
    /// Not run: the daemon was down at the time and it was older than `catch_up`, or a
    /// later occurrence of the same job ran instead (the admin was told).
    Missed,
}

impl RunState {
    /// Every state.
    pub const ALL: [RunState; 6] = [
        RunState::Started,
        RunState::Waiting,
        RunState::Succeeded,
        RunState::Skipped,
        RunState::Failed,
        RunState::Missed,
    ];

    /// The stored (and displayed) name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Started => "started",
            RunState::Waiting => "waiting",
            RunState::Succeeded => "succeeded",
            RunState::Skipped => "skipped",
            RunState::Failed => "failed",
            RunState::Missed => "missed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<RunState> {
        RunState::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the occurrence is settled for good (nothing more will happen to it).
    pub fn is_final(self) -> bool {
        !matches!(self, RunState::Started | RunState::Waiting)
    }
}

/// A runs ledger row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRow {
    /// The job, e.g. "quota-memo".
    pub job: String,
    /// The scheduled instant, UTC.
    pub occurrence: DateTime<Utc>,
    /// Where it is.
    pub state: RunState,
    /// One line for people: what it did, or why not.
    pub result: String,
    /// "serve" or "run" (by hand).
    pub source: String,
    /// When it was (last) started, UTC.
    pub started_at: Option<DateTime<Utc>>,
    /// When it reached a final state, UTC.
    pub finished_at: Option<DateTime<Utc>>,
}

const RUN_SELECT: &str = "SELECT job, occurrence, state, result, source, started_at, finished_at FROM runs";

type RawRun = (String, String, String, String, String, Option<String>, Option<String>);

impl Store {
    fn run_rows(&self, where_order: &str, p: &[&dyn Param]) -> Result<Vec<RunRow>> {
        let mut st = self.conn.prepare(&format!("{RUN_SELECT} {where_order}")).map_err(self.db())?;
        let raw: Vec<RawRun> = st
            .query_map(p, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))
            .map_err(self.db())?
            .collect::<SqlResult<_>>()
            .map_err(self.db())?;
        raw.into_iter()
            .map(|(job, occ, state, result, source, started, finished)| {
                Ok(RunRow {
                    job,
                    occurrence: instant(&self.path, "runs.occurrence", occ)?,
                    state: RunState::parse(&state).ok_or_else(|| StoreError::Corrupt {
                        path: self.path.clone(),
                        what: "runs.state".into(),
                        value: state.clone(),
                    })?,
                    result,
                    source,
                    started_at: started.map(|t| instant(&self.path, "runs.started_at", t)).transpose()?,
                    finished_at: finished.map(|t| instant(&self.path, "runs.finished_at", t)).transpose()?,
                })
            })
            .collect()
    }

    /// Claims (job, occurrence) for running: records it `started` and returns true, in
    /// one statement, so of two processes only one can claim it. Returns false (and
    /// changes nothing) when the ledger already has the occurrence, in any state.
    /// The claim names this connection's instance as the run's holder
    /// ([`Store::hold_as`]), if it claims as one.
    pub fn run_claim(&self, job: &str, occurrence: DateTime<Utc>, source: &str, now: DateTime<Utc>) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "INSERT INTO runs (job, occurrence, state, source, started_at, updated_at, holder)
                 VALUES (?1, ?2, 'started', ?3, ?4, ?4, ?5) ON CONFLICT (job, occurrence) DO NOTHING",
                params![job, ts(occurrence), source, ts(now), self.holder_id()],
            )
            .map_err(self.db())?;
        Ok(n == 1)
    }

    /// For an instance ([`Store::hold_as`]): holds (job, occurrence), `started` or
    /// `waiting`, to run or re-examine it — true when it is this instance's already,
    /// or was nobody's, or its holder has no lease any more (taken over, in one UPDATE
    /// that only one instance wins); false when another live instance holds it, or it
    /// is no longer started or waiting. Without an instance, always true (the state
    /// lock keeps everyone else out).
    pub fn run_hold(&self, job: &str, occurrence: DateTime<Utc>, now: DateTime<Utc>) -> Result<bool> {
        let Some((me, cutoff)) = self.claiming() else { return Ok(true) };
        let n = self
            .conn
            .execute(
                &format!(
                    "UPDATE runs SET holder = ?3, updated_at = ?4 WHERE job = ?1 AND occurrence = ?2
                       AND state IN ('started', 'waiting') AND {}",
                    super::instances::free("holder", 3, 5)
                ),
                params![job, ts(occurrence), me, ts(now), cutoff],
            )
            .map_err(self.db())?;
        Ok(n == 1)
    }

    /// The instance holding (job, occurrence), if one does.
    pub fn run_holder(&self, job: &str, occurrence: DateTime<Utc>) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row(
                "SELECT holder FROM runs WHERE job = ?1 AND occurrence = ?2",
                params![job, ts(occurrence)],
                |r| r.get::<_, Option<i64>>(0),
            )
            .optional()
            .map_err(self.db())?
            .flatten())
    }

    /// Records (job, occurrence) as `missed` with `result`, unless the ledger already
    /// has it; returns whether it was recorded.
    pub fn run_record_missed(
        &self,
        job: &str,
        occurrence: DateTime<Utc>,
        result: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "INSERT INTO runs (job, occurrence, state, result, source, finished_at, updated_at)
                 VALUES (?1, ?2, 'missed', ?3, 'serve', ?4, ?4) ON CONFLICT (job, occurrence) DO NOTHING",
                params![job, ts(occurrence), result, ts(now)],
            )
            .map_err(self.db())?;
        Ok(n == 1)
    }

    /// Sets an occurrence's state and result; a final state also sets `finished_at`,
    /// and `started` sets `started_at` again (a resumed or re-examined run).
    pub fn run_set(
        &self,
        job: &str,
        occurrence: DateTime<Utc>,
        state: RunState,
        result: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.conn
            .execute(
                "UPDATE runs SET state = ?3, result = ?4, updated_at = ?5,
                    finished_at = CASE WHEN ?6 THEN ?5 ELSE finished_at END,
                    started_at = CASE WHEN ?3 = 'started' THEN ?5 ELSE started_at END
                 WHERE job = ?1 AND occurrence = ?2",
                params![job, ts(occurrence), state.as_str(), result, ts(now), state.is_final()],
            )
            .map_err(self.db())?;
        Ok(())
    }

    /// The ledger row of (job, occurrence), if any.
    pub fn run_get(&self, job: &str, occurrence: DateTime<Utc>) -> Result<Option<RunRow>> {
        Ok(self.run_rows("WHERE job = ?1 AND occurrence = ?2", params![job, ts(occurrence)])?.pop())
    }

    /// Rows in any of `states`, oldest occurrence first.
    pub fn runs_in(&self, states: &[RunState]) -> Result<Vec<RunRow>> {
        let names: Vec<String> = states.iter().map(|s| format!("'{}'", s.as_str())).collect();
        self.run_rows(&format!("WHERE state IN ({}) ORDER BY occurrence, job", names.join(", ")), params![])
    }

    /// The job's latest occurrence that was not `missed` (the last run, whatever its
    /// result), and its latest `missed` one, if any.
    pub fn run_last(&self, job: &str) -> Result<(Option<RunRow>, Option<RunRow>)> {
        let ran =
            self.run_rows("WHERE job = ?1 AND state != 'missed' ORDER BY occurrence DESC LIMIT 1", params![job])?.pop();
        let missed =
            self.run_rows("WHERE job = ?1 AND state = 'missed' ORDER BY occurrence DESC LIMIT 1", params![job])?.pop();
        Ok((ran, missed))
    }

    /// Every row of `job`, oldest occurrence first (tests, `status`).
    pub fn runs_of(&self, job: &str) -> Result<Vec<RunRow>> {
        self.run_rows("WHERE job = ?1 ORDER BY occurrence", params![job])
    }

    /// Up to when the daemon last looked at the calendar (UTC), if it ever did.
    pub fn last_seen(&self) -> Result<Option<DateTime<Utc>>> {
        let v: Option<String> = self
            .conn
            .query_row("SELECT value FROM daemon WHERE key = 'last_seen'", params![], |r| r.get(0))
            .optional()
            .map_err(self.db())?;
        v.map(|t| instant(&self.path, "daemon.last_seen", t)).transpose()
    }

    /// Records that the daemon has looked at the calendar up to `t`.
    pub fn set_last_seen(&self, t: DateTime<Utc>) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO daemon (key, value) VALUES ('last_seen', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![ts(t)],
            )
            .map_err(self.db())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn an_occurrence_is_claimed_once_even_by_two_connections() {
        for state in crate::store::TestState::each() {
            let a = state.open();
            let b = state.open();
            let occ = at("2026-03-02T14:00:00Z");
            let now = at("2026-03-02T14:00:05Z");
            assert!(a.run_claim("weekly-ranking", occ, "serve", now).unwrap());
            assert!(!b.run_claim("weekly-ranking", occ, "run", now).unwrap());
            assert!(!b.run_record_missed("weekly-ranking", occ, "x", now).unwrap());
            a.run_set("weekly-ranking", occ, RunState::Succeeded, "22 messages", at("2026-03-02T14:00:09Z")).unwrap();
            let row = b.run_get("weekly-ranking", occ).unwrap().unwrap();
            assert_eq!(
                (row.state, row.result.as_str(), row.source.as_str(), row.started_at, row.finished_at),
                (RunState::Succeeded, "22 messages", "serve", Some(now), Some(at("2026-03-02T14:00:09Z")))
            );
            assert!(b.run_record_missed("quota-memo", at("2026-03-01T13:00:00Z"), "down", now).unwrap());
            let (ran, missed) = b.run_last("quota-memo").unwrap();
            assert_eq!((ran, missed.map(|m| m.state)), (None, Some(RunState::Missed)));
            assert_eq!(a.runs_in(&[RunState::Started, RunState::Waiting]).unwrap(), vec![]);
            assert_eq!(a.last_seen().unwrap(), None);
            a.set_last_seen(now).unwrap();
            a.set_last_seen(at("2026-03-02T14:01:00Z")).unwrap();
            assert_eq!(b.last_seen().unwrap(), Some(at("2026-03-02T14:01:00Z")));
        }
    }
}
