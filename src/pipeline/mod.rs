//! Pipeline: the one place that knows the order of the stages,
//! `ingest -> store -> metrics -> report -> deliver`. Each public function is one job
//! step or one question about the state; `cmd` calls them with a loaded [`Config`], an
//! open [`Store`] (from [`open_store`]) and the current time `now` (the clock is passed
//! in, never read here), and prints the summary each returns.
//!
//! # Stages in order
//!
//! 1. [`import`]: inbox files are read (ingest) and stored whole or quarantined
//!    (store), rosters first, then quotas, then deals (`import.rs`).
//! 2. [`standings`]: everything stored is loaded once ([`Loaded`]) and the metrics
//!    computed from it — the one path every memo, document and table takes.
//! 3. The jobs render (report) and queue their messages in the outbox ledger: the quota
//!    memo and its corrections (`memo.rs`), the weekly ranking and the 1:1 sheets
//!    (`documents.rs`).
//! 4. [`deliver_outbox`] sends what is due, exactly once (`outbox.rs`).
//!
//! [`run_jobs`] (`quotad run`) runs them in this order; [`preview`] writes the PDFs
//! only. `jobs.rs` runs a scheduled occurrence of a job through the runs ledger
//! ([`run_at`], and [`Calendar`] for the daemon loop in `cmd::serve`);
//! `explain.rs`, `standings.rs`, `status.rs` and `check.rs` answer the read-only
//! commands; `state.rs` opens and locks the state database.
//!
//! # Imports
//!
//! This module may import every stage (`ingest`, `store`, `metrics`, `report`,
//! `deliver`), `config`, `domain` and `schedule`; it never imports `cli` or `cmd`. The
//! few stage types that appear in its summaries are re-exported below, so that `cmd`
//! reaches the stages only through here. Work in progress stops early when asked to
//! through a [`Stop`] token passed in (never process state).

mod check;
mod documents;
mod explain;
mod import;
mod jobs;
mod memo;
mod outbox;
mod standings;
mod state;
mod status;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};

use crate::domain::Period;
use crate::metrics;

pub use check::{
    DryRunFile, DryRunRead, SmtpRoute, TemplatesCheck, builtin_templates, check_fonts, check_templates, dry_run_inbox,
    smtp_route,
};
pub use documents::{DocsSummary, default_ranking_week, one_on_one, weekly_ranking};
pub use explain::{ExplainMetric, explain};
pub use import::{FileOutcome, FileStatus, ImportSummary, import, import_reports, import_where, report_line};
pub use jobs::{Calendar, Occurrence, RanAt, admin_notice, run_at, scheduled_job};
pub use memo::{MemoSummary, quota_memo};
pub use outbox::{Delivery, OutboxLine, OutboxStatus, Requeued, deliver_outbox, outbox_list, outbox_status, requeue};
pub use standings::{StandingsFormat, StandingsQuery, standings_report};
pub use state::{StateLock, lock_state, lock_state_as, open_store};
pub use status::{CalendarStatus, JobRuns, RunLine, calendar_status};

/// An import's report as recorded in the state database ([`import_reports`],
/// [`FileOutcome::report`]).
pub use crate::store::ImportReport;
/// The states of an outbox row, for [`outbox_list`].
pub use crate::store::OutboxState;

use crate::config::Config;
use crate::domain::IsoWeek;
use crate::report::{Fonts, Templates};
use crate::store::Store;

/// A stop token: asks work in progress to stop soon (SIGTERM/SIGINT in `quotad
/// serve`). Cloning it gives another handle on the same flag, so a signal handler can
/// hold one and the worker another; a library caller or a test stops one run without
/// touching process state. [`deliver_outbox`] finishes the message in flight and
/// leaves the rest pending (sent at the next start), and does not wait for retries;
/// [`scheduled_job`] then reports the occurrence as cut short.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// A token nobody has asked to stop yet.
    pub fn new() -> Stop {
        Stop::default()
    }

    /// Asks every holder of this token (and its clones) to stop soon. Idempotent.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`Stop::request`] was called on this token or a clone of it.
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Loads the templates: the built-in ones, each overridden by a file of the same name
/// in `paths.templates` if set.
///
/// Errors: a template that does not parse (the message names it).
pub fn load_templates(cfg: &Config) -> Result<Templates> {
    Ok(Templates::load(cfg.paths.templates.as_deref())?)
}

/// A job `quotad run` or `quotad preview` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// The first-of-month quota memo ([`quota_memo`]).
    QuotaMemo,
    /// The weekly ranking PDF ([`weekly_ranking`]).
    WeeklyRanking,
    /// The 1:1 prep sheets ([`one_on_one`]).
    OneOnOne,
    /// Import, then every job, in that order.
    All,
}

/// What `quotad run JOB` asked for.
#[derive(Debug, Clone, Copy)]
pub struct RunRequest {
    /// The job.
    pub job: Job,
    /// The memo month (`--period`); for `one-on-one` the month reviewed. `None`: the
    /// month after the newest month with deals ([`default_memo_period`]).
    pub period: Option<Period>,
    /// The ranking's week (`--week`); `None`: [`default_ranking_week`].
    pub week: Option<IsoWeek>,
    /// Send only corrections of the memo (`--corrections`).
    pub corrections: bool,
    /// Send memos already sent again (`--resend`).
    pub resend: bool,
}

/// One stage's summary, handed over as soon as that stage is done.
#[derive(Debug, Clone, Copy)]
pub enum Step<'a> {
    /// The import pass (`run all`).
    Import(&'a ImportSummary),
    /// The quota memo.
    Memo(&'a MemoSummary),
    /// A document job (weekly ranking, 1:1 sheets).
    Docs(&'a DocsSummary),
}

/// `quotad run JOB`, in the order of the stages: with [`Job::All`], import the inbox,
/// then the quota memo, the weekly ranking and the 1:1 sheets (which review the month
/// before the memo month); otherwise that one job. Holds the state lock throughout;
/// each stage's summary goes to `on_step` as soon as it is done. `stop` cuts a
/// delivery short.
///
/// Errors: templates or fonts that do not load, the lock, the state database, no data
/// for a default period, and whatever a stage returns; stages already done have been
/// reported.
pub fn run_jobs(
    cfg: &Config,
    req: &RunRequest,
    now: DateTime<Utc>,
    stop: &Stop,
    on_step: &mut dyn FnMut(Step<'_>),
) -> Result<()> {
    let RunRequest { job, period, week, corrections, resend } = *req;
    let templates = load_templates(cfg)?;
    let _lock = lock_state(cfg)?;
    let mut store = open_store(cfg)?;
    if job == Job::All {
        let summary = import(cfg, &mut store, now)?;
        on_step(Step::Import(&summary));
    }
    if matches!(job, Job::QuotaMemo | Job::All) {
        let period = match period {
            Some(p) => p,
            None => default_memo_period(&store)?,
        };
        let memo = quota_memo(cfg, &mut store, &templates, period, corrections, resend, now, stop)?;
        on_step(Step::Memo(&memo));
    }
    if matches!(job, Job::WeeklyRanking | Job::OneOnOne | Job::All) {
        let fonts = Fonts::load(&cfg.pdf)?;
        if matches!(job, Job::WeeklyRanking | Job::All) {
            let week = match week {
                Some(w) => w,
                None => default_ranking_week(&store)?,
            };
            let s = weekly_ranking(cfg, &mut store, &templates, &fonts, week, true, now, stop)?;
            on_step(Step::Docs(&s));
        }
        if matches!(job, Job::OneOnOne | Job::All) {
            // `run all --period` names the memo month; the 1:1 sheets review the month before.
            let period = match (period, job) {
                (Some(p), Job::OneOnOne) => p,
                (Some(p), _) => p.prev(),
                (None, _) => default_memo_period(&store)?.prev(),
            };
            let s = one_on_one(cfg, &mut store, &templates, &fonts, period, None, true, now, stop)?;
            on_step(Step::Docs(&s));
        }
    }
    Ok(())
}

/// `quotad preview JOB --out DIR`: the PDFs of a document job written to `out`
/// instead of `paths.reports`, nothing sent. `rep` limits the 1:1 sheets to one rep
/// (rep id, e-mail or name); `period` is the month the sheets review (default: the
/// month before the memo month), `week` the ranking's week (default:
/// [`default_ranking_week`]).
///
/// Errors: [`Job::QuotaMemo`] or [`Job::All`] (not PDFs); no active rep `rep`;
/// templates, fonts, the state database.
pub fn preview(
    cfg: &Config,
    job: Job,
    out: &std::path::Path,
    rep: Option<&str>,
    period: Option<Period>,
    week: Option<IsoWeek>,
    now: DateTime<Utc>,
) -> Result<DocsSummary> {
    let templates = load_templates(cfg)?;
    let fonts = Fonts::load(&cfg.pdf)?;
    let mut store = open_store(cfg)?;
    let mut cfg = cfg.clone();
    cfg.paths.reports = out.to_path_buf();
    // Nothing is sent, so nothing is delivered: the token is never looked at.
    let stop = Stop::new();
    Ok(match job {
        Job::WeeklyRanking => {
            let week = match week {
                Some(w) => w,
                None => default_ranking_week(&store)?,
            };
            weekly_ranking(&cfg, &mut store, &templates, &fonts, week, false, now, &stop)?
        }
        Job::OneOnOne => {
            let period = match period {
                Some(p) => p,
                None => default_memo_period(&store)?.prev(),
            };
            let s = one_on_one(&cfg, &mut store, &templates, &fonts, period, rep, false, now, &stop)?;
            if let (Some(r), true) = (rep, s.files.is_empty()) {
                bail!("no active rep '{r}' in {}: give a rep id, e-mail address or name", period.label());
            }
            s
        }
        Job::QuotaMemo | Job::All => bail!("preview renders PDFs: use `weekly-ranking` or `one-on-one`"),
    })
}

/// Checks that `period` has deals; the error lists the months that do.
pub fn require_data(store: &Store, period: Period) -> Result<()> {
    let months = store.months_with_deals()?;
    if months.contains(&period) {
        return Ok(());
    }
    match (months.first(), months.last()) {
        (Some(a), Some(b)) => bail!(
            "no deals are stored for {period}; months with data: {}{}",
            a,
            if a == b { String::new() } else { format!(" to {b} ({} months)", months.len()) }
        ),
        _ => bail!("no deals are stored yet: put a CRM export in the inbox and run `quotad import`"),
    }
}

/// The default memo month: the month after the newest month with won or cancelled deals.
pub fn default_memo_period(store: &Store) -> Result<Period> {
    match store.latest_deal_month()? {
        Some(p) => Ok(p.next()),
        None => bail!(
            "no deals are stored yet: put a CRM export in the inbox and run `quotad import` (or pass --period YYYY-MM)"
        ),
    }
}

/// Computes the standings of each period in `periods` (docs/definitions.md) from
/// everything stored, as at `now`: the one path every memo, document and table takes.
pub fn standings(
    store: &Store,
    settings: &metrics::Settings,
    periods: &[Period],
    now: DateTime<Utc>,
) -> Result<Vec<crate::domain::MonthStandings>> {
    let Some(&latest) = periods.iter().max() else { return Ok(Vec::new()) };
    let loaded = Loaded::new(store, latest)?;
    let input = loaded.input();
    Ok(periods.iter().map(|p| metrics::month_standings(*p, &input, settings, now)).collect())
}

/// Everything stored that [`metrics`] reads, loaded once for several computations: the
/// roster versions, quotas and export times whole; the deal history streamed into a
/// [`metrics::Rollup`] (sums per month and rep, so memory does not grow with the rows
/// stored); and the rows of the latest month only, for month to date and row lists.
pub struct Loaded {
    roster: Vec<crate::domain::RosterVersion>,
    rows: Vec<crate::domain::DealRow>,
    rollup: metrics::Rollup,
    quotas: Vec<crate::domain::QuotaRow>,
    exports: Vec<(Period, DateTime<Utc>)>,
}

impl Loaded {
    /// Loads every month up to `latest` (inclusive); `latest`'s deal rows are kept row by
    /// row.
    pub fn new(store: &Store, latest: Period) -> Result<Loaded> {
        let earliest = Period::new(1900, 1).expect("a valid month");
        let mut rollup = metrics::Rollup::default();
        let mut rows = Vec::new();
        // Table order: the rollup does not depend on it; the latest month's rows are
        // put in stored order after.
        store.for_each_deal(earliest, latest, false, |d| {
            rollup.add(&d);
            if d.close_date.is_some_and(|c| Period::of(c) == latest) {
                rows.push(d);
            }
        })?;
        rows.sort_by_cached_key(|d| (d.close_date, d.deal_id.clone(), d.event().as_str(), d.rep.key()));
        Ok(Loaded {
            roster: store.roster_versions()?,
            rows,
            rollup,
            quotas: store.quotas_between(earliest, latest)?,
            exports: store.month_exports()?,
        })
    }

    /// The metrics input: full months from the rollup, the latest month's rows for month
    /// to date and [`metrics::rep_rows`].
    pub fn input(&self) -> metrics::Input<'_> {
        metrics::Input {
            roster: &self.roster,
            deals: &self.rows,
            quotas: &self.quotas,
            exports: &self.exports,
            rollup: Some(&self.rollup),
        }
    }

    /// The month of the earliest stored deal row, any stage.
    pub fn first_deal_month(&self) -> Option<Period> {
        self.rollup.first_month()
    }
}
