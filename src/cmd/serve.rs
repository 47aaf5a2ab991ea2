//! `quotad serve` (the daemon), the calendar part of `quotad status`, and
//! `quotad run JOB --at TIMESTAMP`.
//!
//! # Design
//!
//! One worker thread owns the state database and does all the work, one thing at a
//! time: heartbeats (look at the calendar, run what is due), inbox passes (import the
//! files that have settled) and the shutdown. A small tokio runtime on the main thread
//! feeds it messages:
//!
//! - **heartbeat**: tokio-cron-scheduler, as a fixed-interval job
//!   (`schedule.heartbeat_seconds`). It never decides *when* a job runs — its zoned
//!   jobs keep a creation-time UTC offset and run an hour off after DST (its issue
//!   #107) and it forgets everything on restart. Each heartbeat instead asks
//!   [`schedule::plan`] which occurrences in (last seen, now] are due, computed in the
//!   org's zone, and claims each in the runs ledger before running it;
//! - **inbox**: notify (inotify) events on the inbox folder, plus a rescan every
//!   `schedule.rescan_seconds` (network shares send no events), plus a quick re-look
//!   while a file is settling;
//! - **SIGTERM / SIGINT**: `pipeline::request_stop` (delivery finishes the message in
//!   flight and leaves the rest pending), then the worker records state and returns.
//!
//! The clock is a [`Clock`]: the system clock, or with `--now T` a clock starting at T
//! and running `--speed` times as fast (tests cross hours of calendar in seconds).
//! The state lock (`<state>.lock`) is held for the daemon's life: a second `serve`
//! refuses, naming the pid; `run`/`import` refuse too while a `serve` holds it.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration as StdDuration, Instant, SystemTime};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use super::{open_store, shown};
use crate::config::Config;
use crate::pipeline::{self, Occurrence};
use crate::report::Templates;
use crate::schedule::{self, Action, Clock, JobKind, Listed, OffsetClock, Settler, SystemClock, local_and_utc};
use crate::store::{RunState, Store};

/// What the worker is told.
enum Msg {
    /// Look at the calendar.
    Tick,
    /// Something changed in the inbox.
    Inbox,
    /// Finish and return.
    Stop,
}

/// `quotad serve [--speed N]`: runs the calendar until SIGTERM or SIGINT; exit status 0
/// after a clean stop. `start` is `--now` (the clock starts there), `speed` how fast it
/// runs (1 = real time).
pub fn serve(cfg: &Config, start: Option<DateTime<Utc>>, speed: f64) -> Result<i32> {
    if !(speed > 0.0 && speed.is_finite()) {
        anyhow::bail!("--speed must be a positive number (1 = real time)");
    }
    let lock = super::lock_state_as(cfg, "serve")?;
    let templates = Templates::load(cfg.paths.templates.as_deref())?;
    let store = open_store(cfg)?;
    // The clock starts once the state is open, so that `--now T` means T here.
    let clock: Arc<dyn Clock> = match (start, speed) {
        (None, 1.0) => Arc::new(SystemClock),
        (None, s) => Arc::new(OffsetClock::new(Utc::now(), s)),
        (Some(t), s) => Arc::new(OffsetClock::new(t, s)),
    };
    // The very first start on this state: the calendar is looked at from now on
    // (nothing was missed before quotad ever ran), however long the start-up takes.
    if store.last_seen()?.is_none() {
        store.set_last_seen(clock.now())?;
    }
    let cal = &cfg.schedule;
    say!(
        "quotad serve: pid {}, state {}, inbox {}, time zone {}, clock {}",
        std::process::id(),
        shown(&cfg.paths.state),
        shown(&cfg.paths.inbox),
        cal.tz,
        match start {
            Some(t) => format!("from {} at {speed}x", t.to_rfc3339()),
            None if speed != 1.0 => format!("now at {speed}x"),
            None => "system".into(),
        }
    );
    for j in &cal.jobs {
        let next = j.next_after(cal.tz, clock.now());
        say!(
            "  {:<15} {:<16} {}",
            j.job.as_str(),
            j.pattern,
            match (j.enabled, next) {
                (false, _) => "disabled".to_string(),
                (true, Some(n)) => format!("next {}", local_and_utc(n, cal.tz)),
                (true, None) => "never occurs".to_string(),
            }
        );
    }

    let (tx, rx) = mpsc::channel::<Msg>();
    let worker = {
        let cfg = cfg.clone();
        let clock = clock.clone();
        std::thread::Builder::new()
            .name("quotad-worker".into())
            .spawn(move || Worker::new(cfg, store, templates, clock).run(rx))
            .context("cannot start the worker thread")?
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start tokio")?;
    let heartbeat = cal.heartbeat;
    let inbox = cfg.paths.inbox.clone();
    let outcome: Result<()> = rt.block_on(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
        let mut sched = tokio_cron_scheduler::JobScheduler::new().await.context("cannot start the scheduler")?;
        let beat = tx.clone();
        let job = tokio_cron_scheduler::Job::new_repeated_async(heartbeat, move |_, _| {
            let beat = beat.clone();
            Box::pin(async move {
                let _ = beat.send(Msg::Tick);
            })
        })
        .context("cannot make the heartbeat")?;
        sched.add(job).await.context("cannot add the heartbeat")?;
        sched.start().await.context("cannot start the scheduler")?;
        let _watcher = watch(&inbox, tx.clone());
        let worker_done = async {
            while !worker.is_finished() {
                tokio::time::sleep(StdDuration::from_millis(50)).await;
            }
        };
        tokio::select! {
            _ = term.recv() => say!("SIGTERM: finishing the work in flight, then stopping"),
            _ = int.recv() => say!("SIGINT: finishing the work in flight, then stopping"),
            _ = worker_done => {}
        }
        pipeline::request_stop();
        let _ = tx.send(Msg::Stop);
        let _ = sched.shutdown().await;
        while !worker.is_finished() {
            tokio::time::sleep(StdDuration::from_millis(20)).await;
        }
        match worker.join() {
            Ok(r) => r,
            Err(_) => anyhow::bail!("the worker thread panicked"),
        }
    });
    drop(lock);
    outcome?;
    say!("quotad serve: stopped");
    Ok(0)
}

/// Watches the inbox folder (not recursively); every event becomes [`Msg::Inbox`]. A
/// folder that cannot be watched is logged; the periodic rescan still finds files.
fn watch(inbox: &std::path::Path, tx: mpsc::Sender<Msg>) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher as _;
    let mut w = match notify::recommended_watcher(move |_res: notify::Result<notify::Event>| {
        let _ = tx.send(Msg::Inbox);
    }) {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!("cannot watch the inbox ({e}); rescanning it periodically instead");
            return None;
        }
    };
    if let Err(e) = w.watch(inbox, notify::RecursiveMode::NonRecursive) {
        tracing::warn!("cannot watch {} ({e}); rescanning it periodically instead", inbox.display());
        return None;
    }
    Some(w)
}

/// The daemon's state: owned by the worker thread.
struct Worker {
    cfg: Config,
    store: Store,
    templates: Templates,
    clock: Arc<dyn Clock>,
    settler: Settler,
    last_rescan: Option<Instant>,
}

impl Worker {
    fn new(cfg: Config, store: Store, templates: Templates, clock: Arc<dyn Clock>) -> Worker {
        let settler = Settler::new(cfg.schedule.settle);
        Worker { cfg, store, templates, clock, settler, last_rescan: None }
    }

    fn run(mut self, rx: mpsc::Receiver<Msg>) -> Result<()> {
        // Messages an earlier process left in the outbox go first.
        if !self.store.outbox_due_first(self.clock.now(), 1)?.is_empty() {
            match pipeline::deliver_outbox(&self.cfg, &mut self.store, &self.templates, self.clock.now()) {
                Ok(d) => self.log(&format!(
                    "outbox: {} message(s) left by an earlier run delivered, {} dead",
                    d.sent.len(),
                    d.dead.len()
                )),
                Err(e) => self.log(&format!("outbox: cannot deliver what an earlier run left: {e:#}")),
            }
        }
        // Exports that arrived while quotad was down are imported before the catch-up
        // runs (waiting for a file still being written to settle, within limits).
        self.inbox_pass()?;
        let limit = Instant::now() + self.cfg.schedule.settle * 3 + StdDuration::from_secs(1);
        while self.settler.pending() && Instant::now() < limit && !pipeline::stop_requested() {
            std::thread::sleep(
                (self.cfg.schedule.settle / 4).clamp(StdDuration::from_millis(50), StdDuration::from_secs(1)),
            );
            self.inbox_pass()?;
        }
        self.resume()?;
        self.tick()?;
        loop {
            if pipeline::stop_requested() {
                break;
            }
            let timeout = if self.settler.pending() {
                (self.cfg.schedule.settle / 4).clamp(StdDuration::from_millis(100), StdDuration::from_secs(1))
            } else {
                let since = self.last_rescan.map(|t| t.elapsed()).unwrap_or_default();
                self.cfg.schedule.rescan.saturating_sub(since).max(StdDuration::from_millis(100))
            };
            match rx.recv_timeout(timeout) {
                Ok(Msg::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Ok(Msg::Tick) => {
                    // Heartbeats that piled up during a long job count once.
                    let mut inbox = false;
                    while let Ok(m) = rx.try_recv() {
                        match m {
                            Msg::Stop => return self.stop(),
                            Msg::Inbox => inbox = true,
                            Msg::Tick => {}
                        }
                    }
                    if inbox {
                        self.inbox_pass()?;
                    }
                    self.tick()?;
                }
                Ok(Msg::Inbox) | Err(mpsc::RecvTimeoutError::Timeout) => self.inbox_pass()?,
            }
        }
        self.stop()
    }

    fn stop(self) -> Result<()> {
        self.store.set_last_seen(self.clock.now())?;
        Ok(())
    }

    /// One line on stdout, stamped with the daemon's clock.
    fn log(&self, line: &str) {
        say!("{} {line}", self.clock.now().format("%Y-%m-%dT%H:%M:%SZ"));
    }

    /// Lists the inbox, hands the files that have settled to the importer.
    fn inbox_pass(&mut self) -> Result<()> {
        self.last_rescan = Some(Instant::now());
        let listing = match list_inbox(&self.cfg.paths.inbox) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("cannot list the inbox {}: {e}", self.cfg.paths.inbox.display());
                return Ok(());
            }
        };
        let ready: HashSet<String> =
            self.settler.observe(&listing, Instant::now(), SystemTime::now()).into_iter().collect();
        if ready.is_empty() {
            return Ok(());
        }
        let now = self.clock.now();
        match pipeline::import_where(&self.cfg, &mut self.store, now, &|n| ready.contains(n)) {
            Ok(summary) => {
                // A quarantined file: the import queued the admin's notice (DESIGN.md "Bad
                // input"); deliver it now rather than at the next job.
                let notified = summary
                    .files
                    .iter()
                    .any(|f| matches!(&f.status, pipeline::FileStatus::Quarantined { notified: Some(_), .. }));
                if notified && let Err(e) = pipeline::deliver_outbox(&self.cfg, &mut self.store, &self.templates, now) {
                    self.log(&format!("inbox: could not tell the admin about a quarantined file: {e:#}"));
                }
                for f in &summary.files {
                    let what = match &f.status {
                        pipeline::FileStatus::Imported { stats, rejects, .. } => format!(
                            "imported [{}]: {} new, {} superseded, {} unchanged, {} rejected",
                            f.source,
                            stats.inserted,
                            stats.superseded,
                            stats.unchanged,
                            rejects.len()
                        ),
                        pipeline::FileStatus::AlreadyImported { import_id, .. } => {
                            format!("unchanged: same content as import #{import_id}")
                        }
                        pipeline::FileStatus::Quarantined { reason, report, .. } => {
                            format!("QUARANTINED: {reason} (report {})", shown(report))
                        }
                        pipeline::FileStatus::Unmatched => "not matched by any source; left in the inbox".into(),
                    };
                    self.log(&format!("inbox: {} {what}", f.file));
                }
            }
            Err(e) => self.log(&format!("inbox: import failed: {e:#}")),
        }
        Ok(())
    }

    /// Occurrences an earlier process claimed but did not finish (stopped or crashed
    /// mid-run) run again: their messages are in the outbox ledger, so nothing goes
    /// twice. Older than catch_up: recorded as failed instead.
    fn resume(&mut self) -> Result<()> {
        let now = self.clock.now();
        for row in self.store.runs_in(&[RunState::Started])? {
            let Some(job) = JobKind::parse(&row.job) else { continue };
            if now - row.occurrence > self.cfg.schedule.catch_up {
                let why = "interrupted (quotad stopped mid-run) and older than catch_up; not resumed";
                self.store.run_set(&row.job, row.occurrence, RunState::Failed, why, now)?;
                self.log(&format!("{job} {}: {why}", local_and_utc(row.occurrence, self.cfg.schedule.tz)));
                continue;
            }
            self.log(&format!(
                "{job} {}: resuming a run interrupted earlier",
                local_and_utc(row.occurrence, self.cfg.schedule.tz)
            ));
            self.run_one(job, row.occurrence)?;
        }
        Ok(())
    }

    /// A heartbeat: re-examine waiting occurrences, then run what the planner says.
    fn tick(&mut self) -> Result<()> {
        let now = self.clock.now();
        let cal = self.cfg.schedule.clone();
        let since = self.store.last_seen()?.unwrap_or(now).min(now);
        for row in self.store.runs_in(&[RunState::Waiting])? {
            if pipeline::stop_requested() {
                return Ok(());
            }
            if let Some(job) = JobKind::parse(&row.job) {
                self.run_one(job, row.occurrence)?;
            }
        }
        let store = &self.store;
        let actions =
            schedule::plan(now, since, &|j, o| store.run_get(j.as_str(), o).map(|r| r.is_some()).unwrap_or(true), &cal);
        for a in actions {
            if pipeline::stop_requested() {
                return Ok(());
            }
            match a {
                Action::Run { job, occurrence } => {
                    if self.store.run_claim(job.as_str(), occurrence, "serve", self.clock.now())? {
                        self.run_one(job, occurrence)?;
                    }
                }
                Action::Missed { job, occurrences } => self.missed(job, &occurrences)?,
            }
        }
        self.store.set_last_seen(now)?;
        Ok(())
    }

    /// Records missed occurrences and tells the admin (one notice per job and batch).
    fn missed(&mut self, job: JobKind, occurrences: &[DateTime<Utc>]) -> Result<()> {
        let cal = &self.cfg.schedule;
        let now = self.clock.now();
        let mut recorded = Vec::new();
        for &o in occurrences {
            let why = if now - o > cal.catch_up {
                format!(
                    "missed: quotad was not running then, and it is older than catch_up ({}h)",
                    cal.catch_up.num_hours()
                )
            } else {
                "missed: a later occurrence of the same job ran instead".to_string()
            };
            if self.store.run_record_missed(job.as_str(), o, &why, now)? {
                recorded.push((o, why));
            }
        }
        if recorded.is_empty() {
            return Ok(());
        }
        let list: Vec<String> =
            recorded.iter().map(|(o, why)| format!("  {}: {why}", local_and_utc(*o, cal.tz))).collect();
        let text = format!(
            "{} occurrence(s) of {job} were not run:\n{}\n\nTo run one by hand: quotad run {job} --at {}",
            recorded.len(),
            list.join("\n"),
            recorded[recorded.len() - 1].0.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        self.log(&format!("{job}: {} occurrence(s) missed, not run: {}", recorded.len(), list.join(";").trim()));
        let period = format!("{job}/{}", recorded[0].0.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        let subject = format!("quotad: {} {job} occurrence(s) missed", recorded.len());
        match pipeline::admin_notice(
            &self.cfg,
            &mut self.store,
            &self.templates,
            &period,
            "admin-missed",
            &subject,
            &text,
            now,
        ) {
            Ok(Some(to)) => self.log(&format!("{job}: missed occurrence(s) reported to {to}")),
            Ok(None) => {}
            Err(e) => self.log(&format!("{job}: could not tell the admin: {e:#}")),
        }
        Ok(())
    }

    /// Runs one claimed occurrence and records its result.
    fn run_one(&mut self, job: JobKind, occurrence: DateTime<Utc>) -> Result<()> {
        let clock = self.clock.clone();
        let (state, result) =
            run_occurrence(&self.cfg, &mut self.store, &self.templates, job, occurrence, clock.as_ref())?;
        self.log(&format!("{job} {}: {}: {result}", local_and_utc(occurrence, self.cfg.schedule.tz), state.as_str()));
        Ok(())
    }
}

/// Lists the inbox's files (not folders): name, size, modification time.
fn list_inbox(dir: &std::path::Path) -> std::io::Result<Vec<Listed>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let Ok(meta) = e.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        out.push(Listed {
            name: e.file_name().to_string_lossy().into_owned(),
            size: meta.len(),
            modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        });
    }
    Ok(out)
}

/// Runs a claimed occurrence (ledger state `started` or `waiting`) at `now` and records
/// the result in the runs ledger: succeeded, failed, waiting (for data, until the
/// job's `wait_for_data` after the occurrence; or the memo's final export), or skipped
/// (no data; the admin is told). A run cut short by a shutdown stays `started`, and is
/// resumed at the next start. Returns the state and result recorded.
pub(super) fn run_occurrence(
    cfg: &Config,
    store: &mut Store,
    templates: &Templates,
    job: JobKind,
    occurrence: DateTime<Utc>,
    clock: &dyn Clock,
) -> Result<(RunState, String)> {
    let tz = cfg.schedule.tz;
    let now = clock.now();
    let (state, result) = match pipeline::scheduled_job(cfg, store, templates, job, occurrence, now) {
        Ok(Occurrence::Done(l)) => (RunState::Succeeded, l),
        Ok(Occurrence::Failed(l)) if pipeline::stop_requested() => (RunState::Started, format!("interrupted: {l}")),
        Ok(Occurrence::Failed(l)) => (RunState::Failed, l),
        Ok(Occurrence::Waiting(w)) => (RunState::Waiting, w),
        Ok(Occurrence::NoData(msg)) => match cfg.schedule.job(job).wait_for_data {
            Some(wait) if now < occurrence + wait => {
                (RunState::Waiting, format!("{msg}; waiting for it until {}", local_and_utc(occurrence + wait, tz)))
            }
            _ => {
                let target = job.target(occurrence, tz);
                let text = format!(
                    "The {job} of {} for {target} was not sent: {msg}. Nothing empty was sent.\n\nPut the export in the inbox, then run: quotad run {job} --at {}",
                    local_and_utc(occurrence, tz),
                    occurrence.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                );
                let subject = format!("quotad: {job} for {target} skipped: no data");
                let period = format!("{job}/{}", occurrence.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
                let told =
                    match pipeline::admin_notice(cfg, store, templates, &period, "admin-skipped", &subject, &text, now)
                    {
                        Ok(Some(to)) => format!(" (told {to})"),
                        Ok(None) => " (no mail.admin to tell)".to_string(),
                        Err(e) => format!(" (could not tell the admin: {e:#})"),
                    };
                (RunState::Skipped, format!("{msg}{told}"))
            }
        },
        Err(e) => (RunState::Failed, format!("{e:#}")),
    };
    store.run_set(job.as_str(), occurrence, state, &result, clock.now())?;
    Ok((state, result))
}

/// `quotad run JOB --at TIMESTAMP`: runs that occurrence by hand, through the runs
/// ledger — an occurrence already recorded (run, skipped, missed…) is not run again,
/// except a `missed` or `skipped` one, which is what running it by hand is for.
/// Exit status 0 when it ran or had run, 1 when it failed.
pub fn run_at(cfg: &Config, job: JobKind, at: DateTime<Utc>, now: DateTime<Utc>) -> Result<i32> {
    let tz = cfg.schedule.tz;
    if at > now {
        // Recorded now, it would stand in the ledger for the real occurrence, which the
        // daemon would then never run.
        anyhow::bail!(
            "{} is in the future (now is {}): the calendar runs it then; `quotad run {job}` without --at runs the job now",
            local_and_utc(at, tz),
            local_and_utc(now, tz)
        );
    }
    let templates = Templates::load(cfg.paths.templates.as_deref())?;
    let _lock = super::lock_state_as(cfg, "run")?;
    let mut store = open_store(cfg)?;
    let sched = cfg.schedule.job(job);
    if !sched.is_occurrence(tz, at) {
        say!(
            "note: {} is not an occurrence of {job} (\"{}\" in {tz}); running it anyway, recorded under that instant",
            local_and_utc(at, tz),
            sched.pattern
        );
    }
    let claimed = store.run_claim(job.as_str(), at, "run", now)?;
    if !claimed {
        let row = store.run_get(job.as_str(), at)?.context("the ledger row just seen")?;
        match row.state {
            RunState::Missed | RunState::Skipped | RunState::Failed => {
                say!("{job} {}: was {}; running it now", local_and_utc(at, tz), row.state.as_str());
                store.run_set(job.as_str(), at, RunState::Started, "run by hand", now)?;
            }
            s => {
                say!(
                    "{job} {}: already {} ({}){}; not run again",
                    local_and_utc(at, tz),
                    s.as_str(),
                    row.source,
                    if row.result.is_empty() { String::new() } else { format!(": {}", row.result) }
                );
                return Ok(0);
            }
        }
    }
    let (state, result) = run_occurrence(cfg, &mut store, &templates, job, at, &OffsetClock::new(now, 1.0))?;
    say!("{job} {}: {}: {result}", local_and_utc(at, tz), state.as_str());
    Ok(if state == RunState::Failed { 1 } else { 0 })
}

/// The calendar part of `quotad status`: each job's last run with its result, the
/// latest missed occurrence if any, and the next occurrence, in local time and UTC.
pub fn print_calendar(cfg: &Config, store: &Store, now: DateTime<Utc>) -> Result<()> {
    let cal = &cfg.schedule;
    let seen = store.last_seen()?;
    say!(
        "Calendar in {} (catch_up {}h){}",
        cal.tz,
        cal.catch_up.num_hours(),
        match seen {
            Some(t) => format!("; quotad serve last looked at it {}", local_and_utc(t, cal.tz)),
            None => "; quotad serve has never run on this state".into(),
        }
    );
    for j in &cal.jobs {
        say!("  {} (\"{}\"{})", j.job, j.pattern, if j.enabled { "" } else { ", disabled" });
        let (last, missed) = store.run_last(j.job.as_str())?;
        match last {
            Some(r) => say!(
                "    last run:  {}: {}{}",
                local_and_utc(r.occurrence, cal.tz),
                r.state.as_str(),
                if r.result.is_empty() { String::new() } else { format!(": {}", r.result) }
            ),
            None => say!("    last run:  never"),
        }
        if let Some(m) = missed {
            say!("    missed:    {}: {}", local_and_utc(m.occurrence, cal.tz), m.result);
        }
        match (j.enabled, j.next_after(cal.tz, now)) {
            (true, Some(n)) => say!("    next:      {}", local_and_utc(n, cal.tz)),
            (true, None) => say!("    next:      never"),
            (false, _) => say!("    next:      none (disabled)"),
        }
    }
    Ok(())
}
