//! The calendar part of `quotad status`: what the runs ledger says about each
//! scheduled job. May import `store` (the runs ledger) and `config`.

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::store::{InstanceRow, RunRow, Store};

/// The runs ledger's view of the calendar, for `quotad status`.
#[derive(Debug, Clone)]
pub struct CalendarStatus {
    /// When `quotad serve` last looked at the calendar (UTC); `None` if it never ran on
    /// this state.
    pub last_seen: Option<DateTime<Utc>>,
    /// One entry per `schedule.jobs` entry of the config, in the same order.
    pub jobs: Vec<JobRuns>,
}

/// One scheduled job's latest occurrences in the runs ledger.
#[derive(Debug, Clone)]
pub struct JobRuns {
    /// The latest occurrence recorded in any state but `missed`.
    pub last: Option<RunLine>,
    /// The latest `missed` occurrence.
    pub missed: Option<RunLine>,
}

/// One occurrence as recorded in the runs ledger.
#[derive(Debug, Clone)]
pub struct RunLine {
    /// The scheduled instant, UTC.
    pub occurrence: DateTime<Utc>,
    /// Its state: started, waiting, succeeded, failed, skipped, missed.
    pub state: &'static str,
    /// One line for people: what it did, or why not ("" when nothing was recorded).
    pub result: String,
}

impl From<RunRow> for RunLine {
    fn from(r: RunRow) -> RunLine {
        RunLine { occurrence: r.occurrence, state: r.state.as_str(), result: r.result }
    }
}

/// Each configured job's last run and latest missed occurrence, and when the daemon
/// last looked at the calendar.
///
/// Errors: the state database cannot be read.
pub fn calendar_status(cfg: &Config, store: &Store) -> Result<CalendarStatus> {
    let last_seen = store.last_seen()?;
    let mut jobs = Vec::new();
    for j in &cfg.schedule.jobs {
        let (last, missed) = store.run_last(j.job.as_str())?;
        jobs.push(JobRuns { last: last.map(RunLine::from), missed: missed.map(RunLine::from) });
    }
    Ok(CalendarStatus { last_seen, jobs })
}

/// The `quotad serve` instances that have run on this state (PostgreSQL; none on
/// SQLite, where one `serve` runs alone), newest first, at most `limit`: each alive or
/// not at `wall` (the wall clock) for the config's lease (`schedule.lease_seconds`),
/// with what it holds.
///
/// Errors: the state database cannot be read.
pub fn instances_status(cfg: &Config, store: &Store, wall: DateTime<Utc>, limit: usize) -> Result<Vec<InstanceRow>> {
    if !store.is_postgres() {
        return Ok(Vec::new());
    }
    let lease = chrono::Duration::from_std(cfg.schedule.lease).unwrap_or(chrono::Duration::seconds(60));
    Ok(store.instances(wall, lease, limit)?)
}
