//! `quotad serve` (the daemon), the calendar part of `quotad status`, and
//! `quotad run JOB --at TIMESTAMP`.
//!
//! # Design
//!
//! One worker thread owns the state database (a [`pipeline::Calendar`], which does the
//! work on it) and does all the work, one thing at a time: heartbeats (look at the calendar, run what is due), inbox passes (import the
//! files that have settled) and the shutdown. A small tokio runtime on the main thread
//! feeds it messages:
//!
//! - **heartbeat**: a tokio interval (`schedule.heartbeat_seconds`). It never decides
//!   *when* a job runs. (tokio-cron-scheduler 0.15.1 was the heartbeat once: its zoned
//!   jobs run an hour off after DST, its issue #107, and its repeated job never runs
//!   again once one tick comes later than an interval — a suspended host or a stalled
//!   machine stopped the calendar for good.) Each heartbeat instead asks
//!   [`schedule::plan`] which occurrences in (last seen, now] are due, computed in the
//!   org's zone, and claims each in the runs ledger before running it;
//! - **inbox**: notify (inotify) events that mean a file arrived or changed (created,
//!   closed after writing, moved in; never the daemon's own reads), plus a rescan every
//!   `schedule.rescan_seconds` (network shares send no events), plus a look when the
//!   earliest file settling will have been unchanged for `settle_seconds`. Idle, the
//!   worker sleeps until the next heartbeat or rescan;
//! - **web** (config `[web] listen`, off by default): the sales-floor board, `/healthz`
//!   and `/metrics` ([`crate::web`]) answer HTTP on this same runtime; they read the
//!   state database read-only and never message the worker. The port is bound and the
//!   token read (`web.token_env`) before anything runs, so a mistake stops the start;
//!   the web face stops after the worker;
//! - **SIGTERM / SIGINT**: [`Stop::request`] on the token the worker's
//!   [`pipeline::Calendar`] holds (delivery finishes the message in flight and leaves
//!   the rest pending), then the worker records state and returns.
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

use super::{shown, shown_state};
use crate::config::Config;
use crate::pipeline::{self, CalendarStatus, FileStatus, RanAt, Stop};
use crate::schedule::{Clock, JobKind, Listed, OffsetClock, Settler, SystemClock, local_and_utc};

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
/// `epoch` (`--clock-epoch`): the wall-clock instant at which the clock read `start`
/// (several instances then agree on the time).
pub fn serve(cfg: &Config, start: Option<DateTime<Utc>>, epoch: Option<DateTime<Utc>>, speed: f64) -> Result<i32> {
    if !(speed > 0.0 && speed.is_finite()) {
        anyhow::bail!("--speed must be a positive number (1 = real time)");
    }
    let lock = pipeline::lock_state_as(cfg, "serve", pipeline::IfLocked::Refuse)?;
    // The web face (`[web] listen`): its token and port are checked before anything
    // runs, so a mistake stops the start instead of leaving a daemon without its board.
    let web = match cfg.web.listen {
        Some(addr) => Some(web_listener(cfg, addr)?),
        None => None,
    };
    let stop = Stop::for_daemon();
    let mut calendar = pipeline::Calendar::open(cfg, stop.clone())?;
    // On PostgreSQL, one of several instances: registered, its lease renewed by a
    // thread of its own (a long job must not let it expire), its claims held as it.
    let instance = match &cfg.paths.state {
        crate::config::StateLocation::Postgres(url) => {
            let lease = chrono::Duration::from_std(cfg.schedule.lease).unwrap_or(chrono::Duration::seconds(60));
            let beat = Instance::start(url, (cfg.schedule.heartbeat / 2).max(StdDuration::from_millis(100)))?;
            calendar.hold_as(beat.id, lease, Utc::now);
            Some(beat)
        }
        crate::config::StateLocation::Sqlite(_) => None,
    };
    // The clock starts once the state is open, so that `--now T` means T here.
    let clock: Arc<dyn Clock> = match (start, speed) {
        (None, 1.0) => Arc::new(SystemClock),
        (None, s) => Arc::new(OffsetClock::new(Utc::now(), s)),
        (Some(t), s) => {
            // Started later than the epoch: the clock has run meanwhile.
            let ran = epoch.map(|e| Utc::now() - e).unwrap_or_default();
            let ms = (ran.num_milliseconds() as f64 * s) as i64;
            Arc::new(OffsetClock::new(t + chrono::Duration::milliseconds(ms), s))
        }
    };
    // The very first start on this state: the calendar is looked at from now on
    // (nothing was missed before quotad ever ran), however long the start-up takes.
    calendar.first_start(clock.now())?;
    let cal = &cfg.schedule;
    if let Some(i) = &instance {
        say!(
            "quotad serve: instance {} on {} (heartbeat every {:.1} s, lease {} s): runs, outbox rows and inbox files are claimed",
            i.id,
            i.host,
            (cfg.schedule.heartbeat / 2).max(StdDuration::from_millis(100)).as_secs_f64(),
            cfg.schedule.lease.as_secs()
        );
    }
    say!(
        "quotad serve: pid {}, state {}, inbox {}, time zone {}, clock {}",
        std::process::id(),
        shown_state(&cfg.paths.state),
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

    let web = match web {
        Some((listener, token)) => {
            let at = listener.local_addr().context("web.listen: cannot read the bound address")?;
            say!(
                "  web: board at http://{at}/board?token=${} (team boards /board/team/NAME), health /healthz, metrics /metrics",
                cfg.web.token_env
            );
            Some((listener, Arc::new(crate::web::Web::new(cfg, clock.clone(), token)?)))
        }
        None => None,
    };

    let (tx, rx) = mpsc::channel::<Msg>();
    // The worker says when it has returned (instead of being polled for it).
    let (done_tx, mut done_rx) = tokio::sync::oneshot::channel::<()>();
    let worker = {
        let cfg = cfg.clone();
        let clock = clock.clone();
        let stop = stop.clone();
        std::thread::Builder::new()
            .name("quotad-worker".into())
            .spawn(move || {
                let r = Worker::new(cfg, calendar, clock, stop).run(rx);
                let _ = done_tx.send(());
                r
            })
            .context("cannot start the worker thread")?
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start tokio")?;
    let heartbeat = cal.heartbeat;
    let inbox = cfg.paths.inbox.clone();
    let outcome: Result<()> = rt.block_on(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
        let beat = tx.clone();
        let heartbeat = tokio::spawn(async move {
            let mut every = tokio::time::interval(heartbeat);
            // After a stall (a suspended host, a starved machine) the next beat comes one
            // interval after the late one; beats missed meanwhile are not made up.
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            every.tick().await; // immediate: the worker looks at the calendar as it starts
            loop {
                every.tick().await;
                if beat.send(Msg::Tick).is_err() {
                    return;
                }
            }
        });
        let _watcher = watch(&inbox, tx.clone());
        // The web face answers on this same runtime until the worker has stopped.
        let (web_stop, web_stopped) = tokio::sync::oneshot::channel::<()>();
        let web_task = match web {
            Some((listener, state)) => {
                let listener =
                    tokio::net::TcpListener::from_std(listener).context("web.listen: cannot use the socket")?;
                Some(tokio::spawn(crate::web::serve(listener, state, async move {
                    let _ = web_stopped.await;
                })))
            }
            None => None,
        };
        let ended = tokio::select! {
            _ = term.recv() => { say!("SIGTERM: finishing the work in flight, then stopping"); false }
            _ = int.recv() => { say!("SIGINT: finishing the work in flight, then stopping"); false }
            _ = &mut done_rx => true,
        };
        stop.request();
        let _ = tx.send(Msg::Stop);
        heartbeat.abort();
        if !ended {
            let _ = done_rx.await;
        }
        let _ = web_stop.send(());
        if let Some(t) = web_task {
            // Requests in flight finish; a client that keeps a connection open longer is cut.
            match tokio::time::timeout(StdDuration::from_secs(5), t).await {
                Ok(Ok(Err(e))) => tracing::warn!("web: {e}"),
                Ok(_) => {}
                Err(_) => tracing::warn!("web: connections still open after 5 s; closed"),
            }
        }
        match worker.join() {
            Ok(r) => r,
            Err(_) => anyhow::bail!("the worker thread panicked"),
        }
    });
    if let Some(i) = instance {
        i.stop();
    }
    drop(lock);
    outcome?;
    say!("quotad serve: stopped");
    Ok(0)
}

/// This `serve` as one instance of several on a PostgreSQL state: its row in the
/// instances ledger, and the thread that renews its heartbeat on a connection of its
/// own every `every` (wall clock), whatever the worker is doing.
struct Instance {
    id: i64,
    host: String,
    stop: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Instance {
    /// Registers this process (host, pid) and starts its heartbeat thread.
    ///
    /// Errors: the database cannot be reached (naming it).
    fn start(url: &str, every: StdDuration) -> Result<Instance> {
        let store = crate::store::Store::open_postgres(url).context("the instance heartbeat (paths.state)")?;
        let host = host_name();
        let id = store.instance_register(&host, std::process::id(), Utc::now())?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("quotad-heartbeat".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    if let Err(e) = store.instance_heartbeat(id, Utc::now()) {
                        tracing::warn!("instance {id}: heartbeat not recorded: {e:#}");
                    }
                }
                if let Err(e) = store.instance_stop(id, Utc::now()) {
                    tracing::warn!("instance {id}: stop not recorded (its lease expires instead): {e:#}");
                }
            })
            .context("cannot start the heartbeat thread")?;
        Ok(Instance { id, host, stop, thread })
    }

    /// Records a clean stop (its lease ends now, its claims are released).
    fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

/// This machine's host name (Linux's, or `$HOSTNAME`), "unknown" when neither says.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// Binds `[web] listen` and reads the board's token from the environment
/// (`web.token_env`).
///
/// Errors: the token is missing or shorter than 16 characters; the address cannot be
/// bound (in use, not this host's).
fn web_listener(cfg: &Config, addr: std::net::SocketAddr) -> Result<(std::net::TcpListener, String)> {
    let var = &cfg.web.token_env;
    let token = std::env::var(var).unwrap_or_default();
    if token.chars().count() < 16 {
        anyhow::bail!(
            "web.listen is set, but the environment variable {var} (web.token_env) {}: the board's URL carries it \
             (?token=...), since a TV cannot log in; set it to a long random value, e.g. `export {var}=$(openssl rand -hex 16)`",
            if token.is_empty() { "is not set" } else { "is shorter than 16 characters" }
        );
    }
    let listener = std::net::TcpListener::bind(addr).with_context(|| format!("web.listen: cannot listen on {addr}"))?;
    listener.set_nonblocking(true).context("web.listen: cannot make the socket non-blocking")?;
    Ok((listener, token))
}

/// Watches the inbox folder (not recursively). Only the events that mean a file arrived
/// or changed become [`Msg::Inbox`]: created, closed after writing, moved in (and a
/// kernel queue overflow, which means "look again"). notify asks inotify for IN_OPEN
/// too, and the daemon's own listing of the folder opens it: were every event a
/// wake-up, each listing would cause the next (issue 17: ~2,800 scans a second on an
/// idle inbox). A folder that cannot be watched is logged; the periodic rescan still
/// finds files.
fn watch(inbox: &std::path::Path, tx: mpsc::Sender<Msg>) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher as _;
    let mut w = match notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if res.as_ref().map_or(true, arrived_or_changed) {
            let _ = tx.send(Msg::Inbox);
        }
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

/// Whether an inbox event means a file arrived or changed: created, closed after
/// writing, or moved in; or the kernel dropped events (rescan). Opening, reading,
/// closing a file read-only, attribute changes, removals and moves out do not.
fn arrived_or_changed(e: &notify::Event) -> bool {
    use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind, RenameMode};
    match e.kind {
        EventKind::Create(_) => true,
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Both | RenameMode::Any)) => true,
        _ => e.need_rescan(),
    }
}

/// The daemon's state: owned by the worker thread.
struct Worker {
    cfg: Config,
    calendar: pipeline::Calendar,
    clock: Arc<dyn Clock>,
    stop: Stop,
    settler: Settler,
    last_rescan: Option<Instant>,
}

/// A log line on stdout, stamped with the daemon's clock.
fn log(clock: &dyn Clock, line: &str) {
    say!("{} {line}", clock.now().format("%Y-%m-%dT%H:%M:%SZ"));
}

impl Worker {
    fn new(cfg: Config, calendar: pipeline::Calendar, clock: Arc<dyn Clock>, stop: Stop) -> Worker {
        let settler = Settler::new(cfg.schedule.settle);
        Worker { cfg, calendar, clock, stop, settler, last_rescan: None }
    }

    fn run(mut self, rx: mpsc::Receiver<Msg>) -> Result<()> {
        // Messages an earlier process left in the outbox go first.
        let clock = self.clock.clone();
        self.calendar.deliver_leftovers(clock.now(), &mut |l| log(clock.as_ref(), l))?;
        // Exports that arrived while quotad was down are imported before the catch-up
        // runs (waiting for a file still being written to settle, within limits).
        self.inbox_pass()?;
        let limit = Instant::now() + self.cfg.schedule.settle * 3 + StdDuration::from_secs(1);
        while self.settler.pending() && Instant::now() < limit && !self.stop.requested() {
            std::thread::sleep(
                (self.cfg.schedule.settle / 4).clamp(StdDuration::from_millis(50), StdDuration::from_secs(1)),
            );
            self.inbox_pass()?;
        }
        self.calendar.resume(clock.as_ref(), &mut |l| log(clock.as_ref(), l))?;
        self.tick()?;
        loop {
            if self.stop.requested() {
                break;
            }
            // Sleep until the next rescan, or until the earliest file settling will have
            // been unchanged for settle_seconds, whichever comes first.
            let since = self.last_rescan.map(|t| t.elapsed()).unwrap_or_default();
            let mut timeout = self.cfg.schedule.rescan.saturating_sub(since);
            if let Some(due) = self.settler.next_due() {
                timeout = timeout.min(due.saturating_duration_since(Instant::now()));
            }
            let timeout = timeout.max(StdDuration::from_millis(20));
            match rx.recv_timeout(timeout) {
                Ok(Msg::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Ok(Msg::Tick) => {
                    // Heartbeats that piled up during a long job count once.
                    let mut inbox = false;
                    while let Ok(m) = rx.try_recv() {
                        match m {
                            Msg::Stop => return self.finish(),
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
        self.finish()
    }

    fn finish(self) -> Result<()> {
        self.calendar.release_claims()?;
        self.calendar.record_stop(self.clock.now())
    }

    /// A heartbeat: the calendar runs what is due.
    fn tick(&mut self) -> Result<()> {
        let clock = self.clock.clone();
        self.calendar.tick(clock.as_ref(), &mut |l| log(clock.as_ref(), l))
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
        let clock = self.clock.clone();
        let say = |l: &str| log(clock.as_ref(), l);
        match self.calendar.import_settled(clock.now(), &ready, &mut |l| say(l)) {
            Ok(summary) => {
                for f in &summary.files {
                    let what = match &f.status {
                        FileStatus::Imported { .. } => {
                            format!("imported [{}]: {}", f.source, f.status.counts().unwrap_or_default())
                        }
                        FileStatus::AlreadyImported { import_id, .. } => {
                            format!("unchanged: same content as import #{import_id}")
                        }
                        FileStatus::Quarantined { reason, report, .. } => {
                            format!("QUARANTINED: {reason} (report {})", shown(report))
                        }
                        FileStatus::Unmatched => "not matched by any source; left in the inbox".into(),
                        FileStatus::ClaimedElsewhere => "claimed by another instance, which imports it".into(),
                    };
                    say(&format!("inbox: {} {what}", f.file));
                }
                if let Some(line) = super::run::celebrations_line(&summary.celebrations) {
                    say(&format!("inbox: {line}"));
                }
            }
            Err(e) => say(&format!("inbox: import failed: {e:#}")),
        }
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

/// `quotad run JOB --at TIMESTAMP`: runs that occurrence by hand, through the runs
/// ledger ([`pipeline::run_at`]). Exit status 0 when it ran or had run, 1 when it
/// failed.
pub fn run_at(
    cfg: &Config,
    job: JobKind,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    if_locked: pipeline::IfLocked,
) -> Result<i32> {
    // SIGTERM/SIGINT finish the message in flight; the occurrence stays `started` and
    // is resumed by the next `serve` (or this command again).
    let signals = super::signals::Signals::listen()?;
    match pipeline::run_at(cfg, job, at, now, signals.stop(), if_locked, &mut |note| say!("{note}"))? {
        RanAt::NotAgain(line) => {
            say!("{line}");
            Ok(0)
        }
        RanAt::Ran { state, result, failed } => {
            say!("{job} {}: {state}: {result}", local_and_utc(at, cfg.schedule.tz));
            Ok(signals.exit_status(if failed { 1 } else { 0 }))
        }
    }
}

/// The instances part of `quotad status` (PostgreSQL): each `serve` instance, its last
/// heartbeat in local time and UTC, alive (holding its lease) or not, and what it
/// holds. Nothing when there are none (SQLite).
pub fn print_instances(cfg: &Config, rows: &[crate::store::InstanceRow], wall: DateTime<Utc>) {
    if rows.is_empty() {
        return;
    }
    let tz = cfg.schedule.tz;
    say!("Instances of quotad serve (lease {} s; newest first):", cfg.schedule.lease.as_secs());
    for i in rows {
        let ago = (wall - i.heartbeat_at).num_milliseconds() as f64 / 1000.0;
        let state = match (i.stopped_at, i.alive) {
            (Some(t), _) => format!("stopped {}", local_and_utc(t, tz)),
            (None, true) => "alive".to_string(),
            (None, false) => "DEAD (no heartbeat within the lease: what it holds is taken over)".to_string(),
        };
        say!("  #{} {} pid {}: {state}", i.id, i.host, i.pid);
        say!(
            "    started {}; last heartbeat {} ({ago:.1} s ago)",
            local_and_utc(i.started_at, tz),
            local_and_utc(i.heartbeat_at, tz)
        );
        if !i.runs.is_empty() || i.outbox > 0 || i.inbox > 0 {
            say!(
                "    holds: {} run(s){}, {} outbox row(s), {} inbox file(s)",
                i.runs.len(),
                if i.runs.is_empty() { String::new() } else { format!(" ({})", i.runs.join(", ")) },
                i.outbox,
                i.inbox
            );
        }
    }
}

/// The calendar part of `quotad status`: each job's last run with its result, the
/// latest missed occurrence if any, and the next occurrence, in local time and UTC.
pub fn print_calendar(cfg: &Config, status: &CalendarStatus, now: DateTime<Utc>) {
    let cal = &cfg.schedule;
    say!(
        "Calendar in {} (catch_up {}h){}",
        cal.tz,
        cal.catch_up.num_hours(),
        match status.last_seen {
            Some(t) => format!("; quotad serve last looked at it {}", local_and_utc(t, cal.tz)),
            None => "; quotad serve has never run on this state".into(),
        }
    );
    for (j, runs) in cal.jobs.iter().zip(&status.jobs) {
        say!("  {} (\"{}\"{})", j.job, j.pattern, if j.enabled { "" } else { ", disabled" });
        match &runs.last {
            Some(r) => say!(
                "    last run:  {}: {}{}",
                local_and_utc(r.occurrence, cal.tz),
                r.state,
                if r.result.is_empty() { String::new() } else { format!(": {}", r.result) }
            ),
            None => say!("    last run:  never"),
        }
        if let Some(m) = &runs.missed {
            say!("    missed:    {}: {}", local_and_utc(m.occurrence, cal.tz), m.result);
        }
        match (j.enabled, j.next_after(cal.tz, now)) {
            (true, Some(n)) => say!("    next:      {}", local_and_utc(n, cal.tz)),
            (true, None) => say!("    next:      never"),
            (false, _) => say!("    next:      none (disabled)"),
        }
    }
}
