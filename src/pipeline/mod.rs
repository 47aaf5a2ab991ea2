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
//!    computed from it — the one path every memo, document and table takes. The jobs
//!    of one `run all` share one load and each month's standings ([`Figures`],
//!    `figures.rs`).
//! 3. The jobs render (report) and queue their messages in the outbox ledger: the quota
//!    memo and its corrections (`memo.rs`), the weekly ranking and the 1:1 sheets
//!    (`documents.rs`).
//! 4. [`deliver_outbox`] sends what is due, exactly once (`outbox.rs`).
//!
//! With `[quota_memo.approval]`, step 3 of the quota memo holds its messages outside the
//! outbox and sends the approvers a digest; [`approve`] puts them in the outbox once an
//! approver approved exactly that content (`approval.rs`).
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

mod approval;
mod board;
mod channels;
mod check;
mod documents;
mod explain;
mod figures;
mod holds;
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

pub use crate::report::board::BoardView;
pub use approval::{
    Approval, HeldLine, HeldRun, approval_trail, approve, daemon_pid, held_runs, reject, request, request_outcome,
};
pub use board::{
    BoardData, BoardKey, Health, board_data, board_key, board_page, health, heartbeat_limit, prometheus, render_board,
};
pub use channels::{CelebrationsQueued, ChannelCheck, check_channels};
pub use check::{
    DryRunFile, DryRunRead, SmtpRoute, TemplatesCheck, builtin_templates, check_fonts, check_templates, dry_run_inbox,
    language_note, smtp_route,
};
pub use documents::{DocsSummary, default_ranking_week, one_on_one, weekly_ranking};
pub use explain::{ExplainMetric, explain};
pub use figures::Figures;
pub use holds::{dismiss_quarantine, job_periods, quarantine_hold, unresolved_quarantines};
pub use import::{FileOutcome, FileStatus, ImportSummary, import, import_reports, import_where, report_line};
pub use jobs::{Calendar, Occurrence, RanAt, admin_notice, run_at, scheduled_job};
pub use memo::{MemoSummary, quota_memo};
pub use outbox::{
    DeadLetterReport, Delivery, OutboxLine, OutboxStatus, Requeued, Retried, deliver_outbox, outbox_list,
    outbox_status, report_dead_letters, requeue, retry_outbox,
};
pub use standings::{StandingsFormat, StandingsQuery, standings_report, standings_workbook};
pub use state::{
    IfLocked, StateLock, hold_state_lock, lock_path, lock_state, lock_state_as, migrate_state, open_store,
    open_store_read_only,
};
pub use status::{CalendarStatus, JobRuns, RunLine, calendar_status, instances_status};

/// An import's report as recorded in the state database ([`import_reports`],
/// [`FileOutcome::report`]).
pub use crate::store::ImportReport;
/// The states of an outbox row, for [`outbox_list`].
pub use crate::store::OutboxState;

use crate::config::Config;
use crate::domain::IsoWeek;
use crate::report::Fonts;
/// Loaded templates ([`load_templates`]), for the web face.
pub use crate::report::Templates;
use crate::store::Store;

/// A stop token: asks work in progress to stop soon (SIGTERM/SIGINT in `quotad
/// serve`, `run`, `import`, `outbox retry`). Cloning it gives another handle on the
/// same flag, so a signal handler can hold one and the worker another; a library caller
/// or a test stops one run without touching process state. [`deliver_outbox`] finishes
/// the message whose payload is being written, abandons a wait for the server that
/// hands nothing over (connecting, the greeting, MAIL, RCPT), leaves the rest pending
/// (sent at the next start), and does not wait for retries; [`scheduled_job`] then
/// reports the occurrence as cut short.
///
/// The token also says whether delivery may sleep through a retry backoff: a
/// command's token ([`Stop::new`]) does, so `quotad run` returns when every message is
/// sent or dead; the daemon's ([`Stop::for_daemon`]) does not — delivery returns at the
/// first backoff, and the daemon's heartbeat delivers again when a retry is due, so
/// its calendar and inbox go on meanwhile.
#[derive(Debug, Clone, Default)]
pub struct Stop {
    flag: Arc<AtomicBool>,
    daemon: bool,
}

impl Stop {
    /// A command's token nobody has asked to stop yet (delivery waits for retries).
    pub fn new() -> Stop {
        Stop::default()
    }

    /// The daemon's token: delivery never sleeps through a retry backoff.
    pub fn for_daemon() -> Stop {
        Stop { flag: Arc::default(), daemon: true }
    }

    /// Asks every holder of this token (and its clones) to stop soon. Idempotent.
    pub fn request(&self) {
        self.flag.store(true, Ordering::SeqCst);
    }

    /// Whether [`Stop::request`] was called on this token or a clone of it.
    pub fn requested(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Whether delivery may sleep through a retry backoff (a command, not the daemon).
    pub fn waits_for_retries(&self) -> bool {
        !self.daemon
    }

    /// The flag itself, for a stage that must watch it (the SMTP transport).
    fn flag(&self) -> Arc<AtomicBool> {
        self.flag.clone()
    }
}

/// Loads the templates: the built-in ones, each overridden by a file of the same name
/// in `paths.templates` if set.
///
/// Errors: a template that does not parse (the message names it).
pub fn load_templates(cfg: &Config) -> Result<Templates> {
    Ok(Templates::load(cfg.paths.templates.as_deref(), &cfg.org.format.words().language().code)?)
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
    /// Go on although a file was quarantined (`--ignore-quarantine`): `run all` does not
    /// stop after an import that quarantined a file, and no job is held by an
    /// unresolved quarantine ([`quarantine_hold`]).
    pub ignore_quarantine: bool,
    /// When another quotad holds the state lock: refuse (default) or wait (`--wait`).
    pub if_locked: IfLocked,
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
    /// `run all` stopped after its import quarantined these files: nothing was sent.
    Stopped(&'a [String]),
    /// A job not run because an unresolved quarantine could change its figures: the
    /// job's title and why ([`quarantine_hold`]'s text).
    Held(&'a str, &'a str),
    /// The end of the run: ONE notice to `mail.admin` listing the run's dead letters
    /// was queued and, unless [`DeadLetterReport::delivered`] says otherwise, delivered
    /// ([`report_dead_letters`]).
    Reported(&'a DeadLetterReport),
}

/// `quotad run JOB`, in the order of the stages: with [`Job::All`], import the inbox,
/// then the quota memo, the weekly ranking and the 1:1 sheets (which review the month
/// before the memo month); otherwise that one job. Holds the state lock throughout;
/// each stage's summary goes to `on_step` as soon as it is done. `stop` (SIGTERM or
/// SIGINT) finishes the file or message in hand, records it, and starts no further
/// stage: the rest waits in the inbox or the outbox for the next run, never sent twice.
///
/// No job runs on inputs that failed to import (issue 15.1): `run all` stops after an
/// import that quarantined any file ([`Step::Stopped`]), and a job whose figures an
/// unresolved quarantine could change is not run ([`Step::Held`]) — unless
/// `req.ignore_quarantine`.
///
/// The run's dead letters, whichever job they came from, are told to `mail.admin` in
/// one notice at the end ([`Step::Reported`]), even when a stage failed.
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
    let templates = load_templates(cfg)?;
    let _lock = lock_state(cfg, req.if_locked)?;
    let mut store = open_store(cfg)?;
    let ran = run_jobs_locked(cfg, req, &mut store, &templates, now, stop, on_step);
    // One dead-letter notice for the whole run, however many jobs delivered; told even
    // when a later stage failed (what died before it is still dead).
    let reported = report_dead_letters(cfg, &mut store, &templates, now, stop);
    if let Ok(Some(r)) = &reported {
        on_step(Step::Reported(r));
    }
    ran?;
    reported.map(|_| ())
}

/// [`run_jobs`]'s stages, under the state lock.
fn run_jobs_locked(
    cfg: &Config,
    req: &RunRequest,
    store: &mut Store,
    templates: &Templates,
    now: DateTime<Utc>,
    stop: &Stop,
    on_step: &mut dyn FnMut(Step<'_>),
) -> Result<()> {
    let RunRequest { job, period, week, corrections, resend, ignore_quarantine, .. } = *req;
    if job == Job::All {
        let summary = import(cfg, store, now, stop)?;
        on_step(Step::Import(&summary));
        // A fresh connection for the jobs: the import's page cache and emptied staging
        // tables (SQLite's in-memory temp database keeps its pages) are let go, so the
        // jobs' peak does not sit on top of the import's (issue 19: `run all` at 1M rows
        // on a fresh state 428 MB before).
        *store = open_store(cfg)?;
        // Files this pass quarantined that are still unresolved (a later file of the pass
        // may have stood in for one; the same bad file seen again keeps its dismissal).
        let open: std::collections::HashSet<i64> = store.unresolved_quarantines()?.iter().map(|q| q.id).collect();
        let quarantined: Vec<String> = summary
            .files
            .iter()
            .filter(|f| matches!(f.status, FileStatus::Quarantined { .. }))
            .filter(|f| f.report.as_ref().is_some_and(|r| open.contains(&r.id)))
            .map(|f| f.file.clone())
            .collect();
        if !quarantined.is_empty() && !ignore_quarantine {
            // The admin's quarantine notices go out now; nothing else was queued.
            deliver_outbox(cfg, store, templates, now, stop)?;
            on_step(Step::Stopped(&quarantined));
            return Ok(());
        }
    }
    if stop.requested() {
        return Ok(());
    }
    // Compute once (issue 19): the memo, the ranking and the 1:1 sheets of one run share
    // one load of the deals, planned here with the months the later jobs need (a default
    // that cannot be worked out now is left to its job, which says why).
    let mut figures = Figures::planned(match job {
        Job::All => {
            let ranked = match week {
                Some(w) => Some(w),
                None => default_ranking_week(cfg, store).ok(),
            }
            .map(|w| metrics::ranked_period(w).month);
            let sheets = match period {
                Some(p) => Some(p.prev()),
                None => default_memo_period(store).ok().map(|p| p.prev()),
            };
            ranked.into_iter().chain(sheets).collect()
        }
        _ => Vec::new(),
    });
    // A job whose months an unresolved quarantine could change is held.
    let held = |store: &Store, title: &str, periods: &[Period], on_step: &mut dyn FnMut(Step<'_>)| -> Result<bool> {
        if ignore_quarantine {
            return Ok(false);
        }
        Ok(match quarantine_hold(store, periods)? {
            Some(why) => {
                on_step(Step::Held(title, &why));
                true
            }
            None => false,
        })
    };
    if matches!(job, Job::QuotaMemo | Job::All) && corrections && period.is_none() {
        // A correction is of a memo that was sent: without --period, every month whose
        // memo went out is checked (a month whose figures have not changed gets none).
        let months = store.facts_periods_sent("quota-memo")?;
        if months.is_empty() {
            bail!(
                "no quota memo has been sent yet, so there is nothing to correct: send the memo first (`quotad run quota-memo --period YYYY-MM`)"
            );
        }
        for p in months {
            let memo = quota_memo(cfg, store, templates, p, true, resend, &mut figures, now, stop)?;
            on_step(Step::Memo(&memo));
        }
    } else if matches!(job, Job::QuotaMemo | Job::All) {
        let period = match period {
            Some(p) => p,
            None => default_memo_period(store)?,
        };
        let title = format!("Quota memo for {} ({period})", period.label());
        if !held(store, &title, &[period.prev(), period], on_step)? {
            let memo = quota_memo(cfg, store, templates, period, corrections, resend, &mut figures, now, stop)?;
            on_step(Step::Memo(&memo));
        }
    }
    if stop.requested() {
        return Ok(());
    }
    if matches!(job, Job::WeeklyRanking | Job::OneOnOne | Job::All) {
        let fonts = Fonts::load(&cfg.pdf)?;
        if matches!(job, Job::WeeklyRanking | Job::All) {
            let week = match week {
                Some(w) => w,
                None => default_ranking_week(cfg, store)?,
            };
            let title = format!("Weekly ranking {week}");
            if !held(store, &title, &[Period::of(week.sunday())], on_step)? {
                let s = weekly_ranking(cfg, store, templates, &fonts, week, true, &mut figures, now, stop)?;
                on_step(Step::Docs(&s));
            }
        }
        if matches!(job, Job::OneOnOne | Job::All) && !stop.requested() {
            // `run all --period` names the memo month; the 1:1 sheets review the month before.
            let period = match (period, job) {
                (Some(p), Job::OneOnOne) => p,
                (Some(p), _) => p.prev(),
                (None, _) => default_memo_period(store)?.prev(),
            };
            let title = format!("1:1 prep sheets for {}", period.label());
            if !held(store, &title, &[period], on_step)? {
                let s = one_on_one(cfg, store, templates, &fonts, period, None, true, &mut figures, now, stop)?;
                on_step(Step::Docs(&s));
            }
        }
    }
    Ok(())
}

/// `quotad preview JOB --out DIR`: the PDFs of a document job written to `out`
/// instead of `paths.reports`, with the chat payloads of the job's channels
/// (`out/chat_…/NAME.json`), nothing sent. `rep` limits the 1:1 sheets to one rep
/// (rep id, e-mail or name); `period` is the month the sheets review (default: the
/// month before the memo month) or the memo month (default: the next month without
/// deals), `week` the ranking's week (default: [`default_ranking_week`]). With
/// `channel`, only that channel's payload(s) are written (no PDF). The quota memo
/// previews its channel posts only (its e-mails are previewed by the approval digest).
///
/// Errors: [`Job::All`]; `channel` not in `[[channels]]` (the known ones are named) or
/// not posting this job; `--channel` with the 1:1 sheets (they post nowhere); no
/// active rep `rep`; templates, fonts, the state database.
#[allow(clippy::too_many_arguments)]
pub fn preview(
    cfg: &Config,
    job: Job,
    out: &std::path::Path,
    rep: Option<&str>,
    period: Option<Period>,
    week: Option<IsoWeek>,
    channel: Option<&str>,
    now: DateTime<Utc>,
) -> Result<DocsSummary> {
    use crate::config::ChannelJob;
    let chat_job = match job {
        Job::WeeklyRanking => ChannelJob::WeeklyRanking,
        Job::QuotaMemo => ChannelJob::QuotaMemo,
        Job::OneOnOne if channel.is_some() => {
            bail!("one-on-one posts to no chat channel: its sheets go to each manager by e-mail only")
        }
        Job::OneOnOne => ChannelJob::WeeklyRanking,
        Job::All => bail!("preview one job: `weekly-ranking`, `one-on-one`, `quota-memo` or `celebrations`"),
    };
    let mut cfg = match channel {
        Some(name) => channels::only_channel(cfg, name, chat_job)?,
        None => cfg.clone(),
    };
    cfg.paths.reports = out.to_path_buf();
    let mut store = open_store(&cfg)?;
    // Nothing is sent, so nothing is delivered: the token is never looked at.
    let stop = Stop::new();
    Ok(match job {
        Job::WeeklyRanking => {
            let week = match week {
                Some(w) => w,
                None => default_ranking_week(&cfg, &store)?,
            };
            if channel.is_some() {
                return documents::preview_weekly_chat(&cfg, &store, week, now);
            }
            let templates = load_templates(&cfg)?;
            let fonts = Fonts::load(&cfg.pdf)?;
            weekly_ranking(&cfg, &mut store, &templates, &fonts, week, false, &mut Figures::default(), now, &stop)?
        }
        Job::QuotaMemo => {
            if !cfg.channels.iter().any(|c| c.jobs.contains(&ChannelJob::QuotaMemo)) {
                bail!(
                    "the quota memo posts to no channel (no [[channels]] with \"quota_memo\" in its jobs): preview renders PDFs and chat posts; use `weekly-ranking` or `one-on-one`"
                );
            }
            let period = match period {
                Some(p) => p,
                None => default_memo_period(&store)?,
            };
            channels::preview_quota(&cfg, &store, period, now)?
        }
        Job::OneOnOne => {
            let period = match period {
                Some(p) => p,
                None => default_memo_period(&store)?.prev(),
            };
            let templates = load_templates(&cfg)?;
            let fonts = Fonts::load(&cfg.pdf)?;
            let s = one_on_one(
                &cfg,
                &mut store,
                &templates,
                &fonts,
                period,
                rep,
                false,
                &mut Figures::default(),
                now,
                &stop,
            )?;
            if let (Some(r), true) = (rep, s.files.is_empty()) {
                bail!("no active rep '{r}' in {}: give a rep id, e-mail address or name", period.label());
            }
            s
        }
        Job::All => unreachable!("refused above"),
    })
}

/// Writes `bytes` to `path` whole or not at all, durably: [`write_all_atomically`] with
/// one file.
///
/// Errors: the folder does not exist, `path` is a folder, or the disk refuses (each
/// naming the path).
pub(crate) fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    write_all_atomically(&[(path, bytes)])
}

/// Writes each `(path, bytes)` whole or not at all, and durably, in one batch: each to a
/// temporary file in its folder (`.NAME.tmp-PID`), then every file's data flushed to disk
/// (`fdatasync`), then each renamed over its path, then each folder flushed once (its
/// new names on disk), so a reader never sees half a file, an existing file is kept if
/// writing fails, and once this returns a power cut loses none of them. A batch of N
/// files in one folder costs N + 1 flushes (the folder's once, not per file).
///
/// A path given twice is written once, with its last bytes.
///
/// Errors: `path` is a folder, or the disk refuses (each naming the path). Folders are
/// not created: the caller makes them. Temporary files of a failed batch are removed;
/// files of the batch already renamed stay (each is whole).
pub(crate) fn write_all_atomically(files: &[(&std::path::Path, &[u8])]) -> Result<()> {
    use anyhow::Context as _;
    use std::io::Write;
    // A path given twice (two reps sharing an e-mail address name one sheet) ends as
    // its last bytes, as with one write after the other.
    let mut seen = std::collections::HashSet::new();
    let mut files: Vec<(&std::path::Path, &[u8])> =
        files.iter().rev().filter(|(p, _)| seen.insert(*p)).copied().collect();
    files.reverse();
    let files = files.as_slice();
    let tmp_of = |path: &std::path::Path| {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
    };
    let fail = |path: &std::path::Path, e: std::io::Error| {
        for (p, _) in files {
            let _ = std::fs::remove_file(tmp_of(p));
        }
        anyhow::anyhow!("cannot write {}: {e}", path.display())
    };
    if let Some((path, _)) = files.iter().find(|(p, _)| p.is_dir()) {
        anyhow::bail!("cannot write {}: it is a folder", path.display());
    }
    let mut open = Vec::with_capacity(files.len());
    for (path, bytes) in files {
        let mut f = std::fs::File::create(tmp_of(path)).map_err(|e| fail(path, e))?;
        f.write_all(bytes).map_err(|e| fail(path, e))?;
        open.push(f);
    }
    for ((path, _), f) in files.iter().zip(&open) {
        f.sync_data().map_err(|e| fail(path, e))?;
    }
    drop(open);
    let mut folders: Vec<&std::path::Path> = Vec::new();
    for (path, _) in files {
        std::fs::rename(tmp_of(path), path).map_err(|e| fail(path, e))?;
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        if !folders.contains(&folder) {
            folders.push(folder);
        }
    }
    for folder in folders {
        // A folder is flushed through a handle opened read-only (POSIX); where that is
        // refused (not Unix), the names are as durable as the platform makes them.
        if let Ok(d) = std::fs::File::open(folder) {
            d.sync_all().with_context(|| format!("cannot flush the folder {}", folder.display()))?;
        }
    }
    Ok(())
}

/// `quotad preview celebrations --out DIR [--period MONTH] [--channel NAME]`: every
/// celebration of `month` (default: the month before today's, org-local — the one an
/// import posts) as each channel with `celebrations` in its jobs would be posted,
/// written to `out/chat_celebrations_MONTH/NAME/NN_WHAT_REP.json`, posted or not;
/// nothing is queued.
///
/// Errors: `channel` unknown or not posting celebrations; the state database.
pub fn preview_celebrations(
    cfg: &Config,
    out: &std::path::Path,
    month: Option<Period>,
    channel: Option<&str>,
    now: DateTime<Utc>,
) -> Result<DocsSummary> {
    use crate::config::ChannelJob;
    let mut cfg = match channel {
        Some(name) => channels::only_channel(cfg, name, ChannelJob::Celebrations)?,
        None => cfg.clone(),
    };
    if !cfg.channels.iter().any(|c| c.jobs.contains(&ChannelJob::Celebrations)) {
        bail!("no [[channels]] has \"celebrations\" in its jobs: nothing would be posted");
    }
    cfg.paths.reports = out.to_path_buf();
    let store = open_store(&cfg)?;
    let month = month.unwrap_or_else(|| Period::of(now.with_timezone(&cfg.org.time_zone).date_naive()).prev());
    channels::preview_celebrations(&cfg, &store, month, now)
}

/// Checks that `period` has deals or quotas: `true` when it has deals, `false` when it
/// has quotas only (a month whose first export has not come yet: its quotas are shown,
/// "no deals yet"). The error lists the months with deals.
pub fn require_data(store: &Store, period: Period) -> Result<bool> {
    let months = store.months_with_deals()?;
    if months.contains(&period) {
        return Ok(true);
    }
    if !store.quotas_between(period, period)?.is_empty() {
        return Ok(false);
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

/// The newest month up to `now`'s month (in the org's zone) that has quotas, for a
/// `standings` with no deals stored yet; `None` when there is none.
pub(crate) fn latest_quota_month(store: &Store, until: Period) -> Result<Option<Period>> {
    let first = Period::new(1900, 1).unwrap_or(until);
    Ok(store.quotas_between(first, until)?.iter().map(|q| q.month).max())
}

/// The default memo month: the month after the newest month the CRM's exports have
/// covered — the newest month with won or cancelled deals stored, or held by a deals
/// export that was quarantined and not yet resolved (issue 15.1). So a rejected
/// October export on 1 November still means the November memo (which then waits for
/// October's figures), never a second October memo.
pub fn default_memo_period(store: &Store) -> Result<Period> {
    let quarantined = store
        .unresolved_quarantines()?
        .into_iter()
        .filter(|q| q.kind == "deals" || q.kind == "summary")
        .filter_map(|q| q.periods.last().copied())
        .max();
    match store.latest_deal_month()?.max(quarantined) {
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
    let loaded = Loaded::new(store, latest, settings)?;
    let input = loaded.input();
    Ok(periods.iter().map(|p| metrics::month_standings(*p, &input, settings, now)).collect())
}

/// Everything stored that [`metrics`] reads, loaded once for several computations: the
/// roster versions, quotas and export times whole; the deal history as a
/// [`metrics::Rollup`] made from the sums stored per month and rep (so neither memory nor
/// time grows with the rows stored); and the rows of the kept months only, for month to
/// date and row lists.
pub struct Loaded {
    roster: Vec<crate::domain::RosterVersion>,
    rows: Vec<crate::domain::DealRow>,
    rollup: metrics::Rollup,
    record: metrics::SaleRecord,
    quotas: Vec<crate::domain::QuotaRow>,
    exports: Vec<(Period, DateTime<Utc>)>,
}

impl Loaded {
    /// Loads every month up to `latest` (inclusive); `latest`'s deal rows are kept row by
    /// row.
    pub fn new(store: &Store, latest: Period, settings: &metrics::Settings) -> Result<Loaded> {
        Loaded::keeping(store, latest, &[latest], settings)
    }

    /// Loads every month up to `latest` (inclusive), keeping the rows of each month in
    /// `keep` row by row (for month to date and row lists; the metrics filter them by
    /// month). The full months come from the sums the import stored per month and rep
    /// (`Store::rep_month_sums`, issue 19), not from the rows: only the kept months'
    /// rows are read, each month by a range scan of the close-date index, and the rows
    /// of any month whose sums are not built yet (a store an older quotad wrote, opened
    /// read-only since) are summed here. Several jobs' months in one load: see
    /// [`Figures`].
    pub fn keeping(store: &Store, latest: Period, keep: &[Period], settings: &metrics::Settings) -> Result<Loaded> {
        let earliest = Period::new(1900, 1).expect("a valid month");
        let stale: Vec<Period> = store.stale_sum_months()?.into_iter().filter(|m| *m <= latest).collect();
        let mut read: Vec<Period> =
            keep.iter().copied().filter(|m| *m <= latest).chain(stale.iter().copied()).collect();
        read.sort();
        read.dedup();
        let mut rows = Vec::new();
        let mut stale_rows = Vec::new();
        for m in &read {
            let kept = keep.contains(m);
            let is_stale = stale.contains(m);
            store.for_each_deal(*m, *m, true, |d| {
                if is_stale {
                    stale_rows.push(d.clone());
                }
                if kept {
                    rows.push(d);
                }
            })?;
        }
        // Whether each cancellation counts is decided against the whole history on record
        // (its sale may be in any month, even after `latest`): looked up for the
        // cancellations among the rows held; the stored sums hold the answer for the rest.
        let cancelled: std::collections::BTreeSet<&str> = rows
            .iter()
            .chain(&stale_rows)
            .filter(|d| d.class == crate::domain::StageClass::Cancelled)
            .map(|d| d.deal_id.as_str())
            .collect();
        let record =
            metrics::SaleRecord { won: store.ids_with_sale(cancelled.iter())?, first_month: store.first_deal_month()? };
        let mut rollup = metrics::Rollup::from_sums(
            store.rep_month_sums(latest)?,
            store.first_deal_month_through(latest)?,
            &record,
            settings,
        );
        rollup.absorb(metrics::Rollup::of(&stale_rows, &record, settings));
        drop(stale_rows);
        rows.sort_by_cached_key(|d| (d.close_date, d.deal_id.clone(), d.event().as_str(), d.rep.key()));
        // Held for the whole run: not the third more that the vector grew by.
        rows.shrink_to_fit();
        Ok(Loaded {
            roster: store.roster_versions()?,
            rows,
            rollup,
            record,
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
            record: Some(&self.record),
        }
    }

    /// What decides whether each cancellation counts ([`metrics::cancellation_rule`]).
    pub fn record(&self) -> &metrics::SaleRecord {
        &self.record
    }

    /// The month of the earliest stored deal row, any stage.
    pub fn first_deal_month(&self) -> Option<Period> {
        self.rollup.first_month()
    }
}

/// The org's number and date conventions with English words, for what the operator reads
/// (the CLI's summaries and `standings` titles): the memos and documents are in the
/// org's language (`org.language`), quotad's own messages in English.
pub(crate) fn operator_format(cfg: &Config) -> crate::report::Format {
    cfg.org.format.clone().with_words(crate::report::Words::default())
}

#[cfg(test)]
mod write_tests {
    use super::write_all_atomically;

    #[test]
    fn a_batch_writes_every_file_whole_and_a_path_given_twice_ends_with_its_last_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.pdf"), dir.path().join("b.pdf"));
        std::fs::write(&a, b"old").unwrap();
        write_all_atomically(&[(&a, b"first"), (&b, b"bee"), (&a, b"second")]).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), b"second");
        assert_eq!(std::fs::read(&b).unwrap(), b"bee");
        // No temporary file is left beside them.
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["a.pdf", "b.pdf"]);
        // A folder in the way: an error naming it, the other file of the batch not left half-made.
        let sub = dir.path().join("sub.pdf");
        std::fs::create_dir(&sub).unwrap();
        let err = write_all_atomically(&[(&b, b"new"), (&sub, b"x")]).unwrap_err().to_string();
        assert!(err.contains("sub.pdf") && err.contains("folder"), "{err}");
        assert_eq!(std::fs::read(&b).unwrap(), b"bee");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3, "a temporary file left");
    }
}
