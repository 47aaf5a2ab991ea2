//! Scheduled job dispatch (issue 6): one occurrence of a job, run on the period it
//! targets ([`scheduled_job`]) and recorded in the runs ledger ([`run_occurrence`],
//! [`run_at`]); the daemon's work on the state database ([`Calendar`]: catch-up,
//! resuming interrupted runs, missed occurrences); and notices to the admin about the
//! calendar ([`admin_notice`]). May import `schedule` (the planner, the clock),
//! `store` (the runs ledger), `report` (fonts, the notice), `config`, `domain` and the
//! other pipeline steps.

use std::collections::HashSet;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};

use super::documents::{DocsSummary, one_on_one, weekly_ranking};
use super::import::{FileStatus, ImportSummary, import_where};
use super::memo::quota_memo;
use super::outbox::{Sender, deliver_outbox, report_dead_letters};
use super::{Figures, Stop, lock_state_as, open_store};
use crate::config::Config;
use crate::domain::{IdempotencyKey, KeyJob, KeyKind, Period};
use crate::report::{self, Templates};
use crate::schedule::{self, Action, Clock, JobKind, Target, local_and_utc};
use crate::store::{RunState, Store};

/// What one scheduled occurrence of a job did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Occurrence {
    /// Ran: one line saying what went out.
    Done(String),
    /// Ran, but messages failed or died (one line), or an earlier stop left them pending.
    Failed(String),
    /// No data for its period: nothing rendered, nothing sent.
    NoData(String),
    /// The quota memo is waiting for last month's final export
    /// (`quota_memo.wait_for_final_until`).
    Waiting(String),
    /// Not run: an unresolved quarantine could change its period's figures (issue 15.1;
    /// [`super::quarantine_hold`]'s text, starting "held: ").
    Held(String),
}

/// Runs the occurrence of `job` scheduled at `occurrence` (UTC), at time `now`, on the
/// period it targets ([`schedule::JobKind::target`]: the memo's month, the week before,
/// the month before). A period without deals (for the weekly ranking: its ranked period,
/// [`crate::metrics::ranked_period`]), or an empty roster, is not sent as an empty
/// report: it returns [`Occurrence::NoData`]. Every message goes through the
/// outbox ledger, so running an occurrence again sends nothing twice.
///
/// With `stop` requested, a delivery cut short leaves the rest of its messages in the
/// outbox and the occurrence is [`Occurrence::Failed`] ("stopped by a shutdown").
///
/// Errors: whatever the job's pipeline function returns (unreadable state, templates).
pub fn scheduled_job(
    cfg: &Config,
    store: &mut Store,
    templates: &Templates,
    job: JobKind,
    occurrence: DateTime<Utc>,
    now: DateTime<Utc>,
    stop: &Stop,
) -> Result<Occurrence> {
    let target = job.target(occurrence, cfg.org.time_zone);
    // No job runs on inputs that failed to import: checked before the data, since a
    // quarantined export is often why its month has none.
    if let Some(why) = super::quarantine_hold(store, &super::job_periods(job, target))? {
        return Ok(Occurrence::Held(why));
    }
    let months = store.months_with_deals()?;
    let have = |p: Period| months.contains(&p);
    let range = match (months.first(), months.last()) {
        (Some(a), Some(b)) if a == b => format!("data for {a} only"),
        (Some(a), Some(b)) => format!("data for {a} to {b}"),
        _ => "no deals stored at all".to_string(),
    };
    let needed = match target {
        Target::Month(p) if job == JobKind::QuotaMemo => p.prev(),
        Target::Month(p) => p,
        Target::Week(w) => {
            // The week's ranked period: the month of its Monday, up to its Sunday.
            let r = crate::metrics::ranked_period(w);
            if !store.has_deals_between(r.first_day(), r.through)? {
                let days =
                    if r.is_full_month() { r.month.to_string() } else { format!("{} through {}", r.month, r.through) };
                return Ok(Occurrence::NoData(format!("no data: no deals stored for {days} ({range})")));
            }
            r.month
        }
    };
    if !have(needed) {
        return Ok(Occurrence::NoData(format!("no data: no deals stored for {needed} ({range})")));
    }
    if store.roster()?.is_empty() {
        return Ok(Occurrence::NoData("no data: the roster is empty".into()));
    }
    let outcome = match (job, target) {
        (JobKind::QuotaMemo, Target::Month(p)) => {
            let m = quota_memo(cfg, store, templates, p, false, false, &mut Figures::default(), now, stop)?;
            if let Some(w) = m.waiting {
                return Ok(Occurrence::Waiting(w));
            }
            let earlier = if m.dead_earlier > 0 {
                format!(
                    ", {} dead letter(s) from an earlier run left alone (`quotad outbox retry` sends them again)",
                    m.dead_earlier
                )
            } else {
                String::new()
            };
            let held = m.held.as_ref().map(|h| {
                format!(
                    "; {} message(s) HELD for approval (token {}){}",
                    h.messages,
                    h.token,
                    if h.digest_to.is_empty() {
                        String::new()
                    } else {
                        format!(", digest sent to {}", h.digest_to.join(", "))
                    }
                )
            });
            let line = format!(
                "quota memo {p}: {} rep memo(s) and {} manager memo(s) delivered, {} already sent earlier{earlier}{}{}",
                m.sent,
                m.managers,
                m.already_sent,
                m.preliminary.as_ref().map(|_| "; last month preliminary").unwrap_or_default(),
                held.unwrap_or_default(),
            );
            if !m.failed.is_empty() || !m.delivery.dead.is_empty() {
                Occurrence::Failed(format!(
                    "{line}; {} could not be built, {} dead letter(s) (`quotad outbox retry` sends them again once the cause is fixed)",
                    m.failed.len(),
                    m.delivery.dead.len()
                ))
            } else {
                Occurrence::Done(line)
            }
        }
        (JobKind::WeeklyRanking, Target::Week(w)) => {
            let fonts = report::Fonts::load(&cfg.pdf)?;
            let s = weekly_ranking(cfg, store, templates, &fonts, w, true, &mut Figures::default(), now, stop)?;
            if let Some(none) = s.no_data {
                return Ok(Occurrence::NoData(format!("no data: {none} ({range})")));
            }
            docs_outcome(&s)
        }
        (JobKind::OneOnOne, Target::Month(p)) => {
            let fonts = report::Fonts::load(&cfg.pdf)?;
            docs_outcome(&one_on_one(cfg, store, templates, &fonts, p, None, true, &mut Figures::default(), now, stop)?)
        }
        (j, t) => bail!("{j} does not work on {t}"),
    };
    // The daemon's delivery returns at a backoff: the heartbeat retries when due.
    if !stop.requested() && !stop.waits_for_retries() {
        let left = store.outbox_waiting_count()?;
        if left > 0 {
            return Ok(match outcome {
                Occurrence::Done(l) => {
                    Occurrence::Done(format!("{l}; {left} message(s) wait in the outbox for a retry"))
                }
                Occurrence::Failed(l) => {
                    Occurrence::Failed(format!("{l}; {left} message(s) wait in the outbox for a retry"))
                }
                other => other,
            });
        }
    }
    // A shutdown cut the delivery short: not done until the rest has gone.
    if stop.requested() {
        let left = store.outbox_due_count(now + chrono::Duration::days(36_500))?;
        if left > 0 {
            let line = match outcome {
                Occurrence::Done(l) | Occurrence::Failed(l) => l,
                other => return Ok(other),
            };
            return Ok(Occurrence::Failed(format!(
                "{line}; stopped by a shutdown with {left} message(s) left in the outbox for the next start"
            )));
        }
    }
    Ok(outcome)
}

fn docs_outcome(s: &DocsSummary) -> Occurrence {
    let mut line = format!(
        "{}: {} PDF(s), {} message(s) delivered, {} dead letter(s), {} already sent earlier",
        s.title,
        s.files.len(),
        s.sent,
        s.delivery.dead.len(),
        s.already_sent
    );
    if s.dead_earlier > 0 {
        line.push_str(&format!(
            ", {} dead letter(s) from an earlier run left alone (`quotad outbox retry` sends them again)",
            s.dead_earlier
        ));
    }
    if s.failed.is_empty() && s.delivery.dead.is_empty() {
        Occurrence::Done(line)
    } else if s.failed.is_empty() {
        Occurrence::Failed(format!(
            "{line}; `quotad outbox retry` sends the dead letters again once the cause is fixed"
        ))
    } else {
        Occurrence::Failed(format!("{line}; {} could not be built", s.failed.len()))
    }
}

/// Tells `mail.admin` something about the calendar (a skipped or missed occurrence):
/// one message with idempotency key `schedule/PERIOD/ADMIN/KIND`, queued in the outbox
/// and delivered now. Returns the admin's address, or `None` when no admin is
/// configured (the caller logs the same text either way).
#[allow(clippy::too_many_arguments)]
pub fn admin_notice(
    cfg: &Config,
    store: &mut Store,
    templates: &Templates,
    period: &str,
    kind: KeyKind,
    subject: &str,
    text: &str,
    now: DateTime<Utc>,
    stop: &Stop,
) -> Result<Option<String>> {
    let Some(admin) = &cfg.mail.admin else { return Ok(None) };
    let to = admin.email.to_string();
    let key = IdempotencyKey::to(KeyJob::Schedule, period, &to, kind);
    let name = admin.name.clone().unwrap_or_default();
    let mut failed = Vec::new();
    {
        let sender = Sender::new(cfg, store, false, now);
        sender.queue(
            &key,
            &[crate::deliver::Addressee::new(&name, &to)],
            &[],
            || {
                let view = report::AdminNoticeView::new(&cfg.org.name, subject, text);
                Ok((report::render_admin_notice(templates, &view)?, Vec::new()))
            },
            &mut failed,
        )?;
    }
    if let Some(f) = failed.first() {
        bail!("cannot build the notice to {to}: {f}");
    }
    deliver_outbox(cfg, store, templates, now, stop)?;
    Ok(Some(to))
}

/// Runs a claimed occurrence (ledger state `started` or `waiting`) at `clock.now()` and
/// records the result in the runs ledger: succeeded, failed, waiting (for data, until
/// the job's `wait_for_data` after the occurrence; or the memo's final export; or, held
/// by an unresolved quarantine, until [`hold_deadline`], the admin told once), or
/// skipped (no data, or still held at the deadline; the admin is told). A run cut short by `stop` stays `started`, and
/// is resumed at the next start. Returns the state and result recorded.
#[allow(clippy::too_many_arguments)]
fn run_occurrence(
    cfg: &Config,
    store: &mut Store,
    templates: &Templates,
    job: JobKind,
    occurrence: DateTime<Utc>,
    clock: &dyn Clock,
    stop: &Stop,
) -> Result<(RunState, String)> {
    let tz = cfg.schedule.tz;
    let now = clock.now();
    // A skipped occurrence's notice to the admin (subject, text), keyed by the occurrence.
    let mut skipped: Option<(String, String)> = None;
    let (state, mut result) = match scheduled_job(cfg, store, templates, job, occurrence, now, stop) {
        Ok(Occurrence::Done(l)) => (RunState::Succeeded, l),
        Ok(Occurrence::Failed(l)) if stop.requested() => (RunState::Started, format!("interrupted: {l}")),
        Ok(Occurrence::Failed(l)) => (RunState::Failed, l),
        Ok(Occurrence::Waiting(w)) => (RunState::Waiting, w),
        Ok(Occurrence::Held(why)) => {
            let target = job.target(occurrence, tz);
            let at = occurrence.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let period = format!("{job}/{at}");
            let deadline = hold_deadline(cfg, job, occurrence);
            if deadline.is_some_and(|d| now < d) {
                let until = local_and_utc(deadline.expect("just seen"), tz);
                let text = format!(
                    "The {job} of {} for {target} is waiting: {why}.\n\nIt runs as soon as that is resolved, and is skipped if it still is not by {until}; nothing is sent on the figures stored without the file.",
                    local_and_utc(occurrence, tz)
                );
                let subject = format!("quotad: {job} for {target} held by a quarantined file");
                // Keyed by the occurrence: the admin is told once, however often it is looked at.
                let told = match admin_notice(
                    cfg,
                    store,
                    templates,
                    &period,
                    KeyKind::AdminHeld,
                    &subject,
                    &text,
                    now,
                    stop,
                ) {
                    Ok(_) => String::new(),
                    Err(e) => format!(" (could not tell the admin: {e:#})"),
                };
                (RunState::Waiting, format!("{why}; waiting until {until}{told}"))
            } else {
                let text = format!(
                    "The {job} of {} for {target} was not sent: {why}.\n\nNothing was sent on the figures stored without the file. Once it is resolved, run: quotad run {job} --at {at}",
                    local_and_utc(occurrence, tz)
                );
                skipped = Some((format!("quotad: {job} for {target} skipped: held by a quarantined file"), text));
                (RunState::Skipped, why)
            }
        }
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
                skipped = Some((format!("quotad: {job} for {target} skipped: no data"), text));
                (RunState::Skipped, msg)
            }
        },
        Err(e) => (RunState::Failed, format!("{e:#}")),
    };
    if let Some((subject, text)) = skipped {
        let period = format!("{job}/{}", occurrence.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        result += &told_admin(admin_notice(
            cfg,
            store,
            templates,
            &period,
            KeyKind::AdminSkipped,
            &subject,
            &text,
            now,
            stop,
        ));
    }
    store.run_set(job.as_str(), occurrence, state, &result, clock.now())?;
    Ok((state, result))
}

/// How long an occurrence held by a quarantine waits for it to be resolved: the job's
/// `wait_for_data` after the occurrence and, for the quota memo, its
/// `quota_memo.wait_for_final_until` — the later of the two; `None` (skipped at once)
/// when the job has neither.
pub fn hold_deadline(cfg: &Config, job: JobKind, occurrence: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let data = cfg.schedule.job(job).wait_for_data.map(|w| occurrence + w);
    let memo = match job.target(occurrence, cfg.org.time_zone) {
        Target::Month(p) if job == JobKind::QuotaMemo => Some(super::memo::final_deadline(cfg, p)),
        _ => None,
    };
    data.max(memo)
}

/// What `quotad run JOB --at TIMESTAMP` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RanAt {
    /// The occurrence was recorded before (run, started): not run again. One
    /// line saying so, e.g. "already succeeded (serve): …; not run again".
    NotAgain(String),
    /// Ran now, and recorded in the runs ledger.
    Ran {
        /// The state recorded: succeeded, failed, waiting, skipped, or started
        /// (interrupted).
        state: &'static str,
        /// The result line recorded with it.
        result: String,
        /// Whether the state is `failed`.
        failed: bool,
    },
}

/// `quotad run JOB --at TIMESTAMP`: runs that occurrence by hand at `now`, through the
/// runs ledger (holding the state lock) — an occurrence already recorded (run,
/// skipped, missed…) is not run again, except a `missed`, `skipped` or `failed` one,
/// which is what running it by hand is for, and a `waiting` one, which is looked at
/// again now (as the daemon does every heartbeat). Notes for the user (`at` is not an
/// occurrence of the job's pattern; a missed one is run now) go to `say` as they
/// happen.
///
/// Errors: `at` after `now` (the calendar runs it then; recorded now it would stand in
/// the ledger for the real occurrence), templates, the lock, the state database.
pub fn run_at(
    cfg: &Config,
    job: JobKind,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    stop: &Stop,
    if_locked: super::IfLocked,
    say: &mut dyn FnMut(&str),
) -> Result<RanAt> {
    let tz = cfg.schedule.tz;
    let sched = cfg.schedule.job(job);
    if !sched.is_occurrence(tz, at) {
        // Recorded, it would be a second ledger row for one night (the second 02:30 of
        // a fall-back night), or a run the calendar never had.
        bail!(
            "{} is not an occurrence of {job} (\"{}\" in {tz}): {}; `quotad run {job}` without --at runs the job now",
            local_and_utc(at, tz),
            sched.pattern,
            match sched.nearest(tz, at) {
                Some(n) => format!("the nearest is {}", local_and_utc(n, tz)),
                None => "it has no occurrence".to_string(),
            }
        );
    }
    if at > now {
        // Recorded now, it would stand in the ledger for the real occurrence, which the
        // daemon would then never run.
        bail!(
            "{} is in the future (now is {}): the calendar runs it then; `quotad run {job}` without --at runs the job now",
            local_and_utc(at, tz),
            local_and_utc(now, tz)
        );
    }
    let templates = Templates::load(cfg.paths.templates.as_deref(), &cfg.org.format.words().language().code)?;
    let _lock = lock_state_as(cfg, "run", if_locked)?;
    let mut store = open_store(cfg)?;
    let claimed = store.run_claim(job.as_str(), at, "run", now)?;
    if !claimed {
        let row = store.run_get(job.as_str(), at)?.context("the ledger row just seen")?;
        match row.state {
            // A waiting one is looked at again now, as the daemon does every heartbeat.
            RunState::Missed | RunState::Skipped | RunState::Failed | RunState::Waiting => {
                say(&format!("{job} {}: was {}; running it now", local_and_utc(at, tz), row.state.as_str()));
                store.run_set(job.as_str(), at, RunState::Started, "run by hand", now)?;
            }
            s => {
                return Ok(RanAt::NotAgain(format!(
                    "{job} {}: already {} ({}){}; not run again",
                    local_and_utc(at, tz),
                    s.as_str(),
                    row.source,
                    if row.result.is_empty() { String::new() } else { format!(": {}", row.result) }
                )));
            }
        }
    }
    let clock = schedule::OffsetClock::new(now, 1.0);
    let (state, result) = run_occurrence(cfg, &mut store, &templates, job, at, &clock, stop)?;
    if let Some(r) = report_dead_letters(cfg, &mut store, &templates, clock.now(), stop)? {
        say(&format!("{} dead letter(s) reported to {} (one notice)", r.letters, r.admin));
    }
    Ok(RanAt::Ran { state: state.as_str(), result, failed: state == RunState::Failed })
}

/// The daemon's work on the state database (`quotad serve`): it owns the open store,
/// the templates and the stop token, and each method is one thing the daemon does —
/// deliver what an earlier process left, import the files that have settled, resume
/// interrupted runs, run what the calendar says is due, record missed occurrences and
/// tell the admin. The loop that decides *when* (heartbeats, inbox events, signals)
/// is `cmd::serve`'s. Lines for the daemon's log go to `log` as they happen; the
/// clock is passed in.
pub struct Calendar {
    cfg: Config,
    store: Store,
    templates: Templates,
    stop: Stop,
}

impl Calendar {
    /// Loads the templates and opens the state database (take the state lock first:
    /// [`lock_state_as`]). `stop` is checked between occurrences and during delivery.
    pub fn open(cfg: &Config, stop: Stop) -> Result<Calendar> {
        let templates = Templates::load(cfg.paths.templates.as_deref(), &cfg.org.format.words().language().code)?;
        let store = open_store(cfg)?;
        Ok(Calendar { cfg: cfg.clone(), store, templates, stop })
    }

    /// Makes this calendar work as instance `id` of several on one PostgreSQL state
    /// ([`Store::hold_as`]): runs, outbox rows and inbox files are claimed with a
    /// lease of `lease` on the `wall` clock, and a dead instance's are taken over.
    pub fn hold_as(&mut self, id: i64, lease: chrono::Duration, wall: fn() -> DateTime<Utc>) {
        self.store.hold_as(id, lease, wall);
    }

    /// Releases this instance's outbox claims not being sent (a clean stop).
    pub fn release_claims(&self) -> Result<()> {
        Ok(self.store.outbox_release_claims()?)
    }

    /// On the very first start on this state, records `now` as the last time the
    /// calendar was looked at (nothing was missed before quotad ever ran).
    pub fn first_start(&self, now: DateTime<Utc>) -> Result<()> {
        if self.store.last_seen()?.is_none() {
            self.store.set_last_seen(now)?;
        }
        Ok(())
    }

    /// Delivers the messages an earlier process left due in the outbox, if any.
    pub fn deliver_leftovers(&mut self, now: DateTime<Utc>, log: &mut dyn FnMut(&str)) -> Result<()> {
        if self.store.outbox_due_count(now)? > 0 {
            match deliver_outbox(&self.cfg, &mut self.store, &self.templates, now, &self.stop) {
                Ok(d) => log(&format!(
                    "outbox: {} message(s) left by an earlier run delivered, {} dead",
                    d.sent.len(),
                    d.dead.len()
                )),
                Err(e) => log(&format!("outbox: cannot deliver what an earlier run left: {e:#}")),
            }
        }
        self.report_dead_letters(now, log);
        Ok(())
    }

    /// Tells `mail.admin` in one notice about the dead letters nobody was told about,
    /// once no message waits for a retry ([`report_dead_letters`]): called at the end of
    /// each unit of the daemon's work, so a run gets one notice whatever its deliveries.
    fn report_dead_letters(&mut self, now: DateTime<Utc>, log: &mut dyn FnMut(&str)) {
        match report_dead_letters(&self.cfg, &mut self.store, &self.templates, now, &self.stop) {
            Ok(Some(r)) if r.delivered => {
                log(&format!("outbox: {} dead letter(s) reported to {} (one notice)", r.letters, r.admin))
            }
            Ok(Some(r)) => {
                log(&format!("outbox: the notice of {} dead letter(s) to {} waits in the outbox", r.letters, r.admin))
            }
            Ok(None) => {}
            Err(e) => log(&format!("outbox: cannot tell the admin about dead letters: {e:#}")),
        }
    }

    /// Imports the inbox files whose names `ready` holds (those that have settled), and
    /// delivers the admin's notice at once when a file was quarantined, rather than at
    /// the next job.
    pub fn import_settled(
        &mut self,
        now: DateTime<Utc>,
        ready: &HashSet<String>,
        log: &mut dyn FnMut(&str),
    ) -> Result<ImportSummary> {
        let summary = import_where(&self.cfg, &mut self.store, now, &|n| ready.contains(n), &self.stop)?;
        let notified =
            summary.files.iter().any(|f| matches!(&f.status, FileStatus::Quarantined { notified: Some(_), .. }));
        if (notified || summary.celebrations.queued > 0)
            && let Err(e) = deliver_outbox(&self.cfg, &mut self.store, &self.templates, now, &self.stop)
        {
            log(&format!("inbox: could not deliver the quarantine notice or the celebrations: {e:#}"));
        }
        self.report_dead_letters(now, log);
        Ok(summary)
    }

    /// Occurrences an earlier process claimed but did not finish (stopped or crashed
    /// mid-run) run again: their messages are in the outbox ledger, so nothing goes
    /// twice. Older than catch_up: recorded as failed instead. As one of several
    /// instances ([`Calendar::hold_as`]), only the runs nobody holds, or whose holder has
    /// lost its lease, are taken over (one UPDATE that one instance wins); called at
    /// every heartbeat then, so a dead instance's run is resumed by another.
    pub fn resume(&mut self, clock: &dyn Clock, log: &mut dyn FnMut(&str)) -> Result<()> {
        let now = clock.now();
        for row in self.store.runs_in(&[RunState::Started])? {
            let Some(job) = JobKind::parse(&row.job) else { continue };
            if !self.take_over(&row.job, row.occurrence, now, log)? {
                continue;
            }
            if now - row.occurrence > self.cfg.schedule.catch_up {
                let why = "interrupted (quotad stopped mid-run) and older than catch_up; not resumed";
                self.store.run_set(&row.job, row.occurrence, RunState::Failed, why, now)?;
                log(&format!("{job} {}: {why}", local_and_utc(row.occurrence, self.cfg.schedule.tz)));
                continue;
            }
            log(&format!(
                "{job} {}: resuming a run interrupted earlier",
                local_and_utc(row.occurrence, self.cfg.schedule.tz)
            ));
            self.run_one(job, row.occurrence, clock, log)?;
        }
        self.report_dead_letters(clock.now(), log);
        Ok(())
    }

    /// A heartbeat: re-examine waiting occurrences, then run what the planner
    /// ([`schedule::plan`]) says is due since the calendar was last looked at, claiming
    /// each in the runs ledger first; records missed ones. Returns early when `stop` is
    /// requested.
    pub fn tick(&mut self, clock: &dyn Clock, log: &mut dyn FnMut(&str)) -> Result<()> {
        let now = clock.now();
        // Messages whose retry is due (delivery returned at their backoff).
        if self.store.outbox_due_count(now)? > 0 {
            match deliver_outbox(&self.cfg, &mut self.store, &self.templates, now, &self.stop) {
                Ok(d) => log(&format!(
                    "outbox: {} message(s) delivered, {} dead, {} waiting for a retry",
                    d.sent.len(),
                    d.dead.len(),
                    d.left
                )),
                Err(e) => log(&format!("outbox: cannot deliver: {e:#}")),
            }
        }
        // Approvers' answers, and held memos whose approval deadline has passed
        // (`[quota_memo.approval]`).
        match super::approval::approval_tick(&self.cfg, &mut self.store, &self.templates, now, &self.stop) {
            Ok(lines) => lines.iter().for_each(|l| log(l)),
            Err(e) => log(&format!("approval: cannot act on a deadline: {e:#}")),
        }
        // One of several instances: a run another instance left (it died, or stopped)
        // is taken over once that one's lease has expired.
        if self.store.holder_id().is_some() {
            self.resume(clock, log)?;
        }
        let cal = self.cfg.schedule.clone();
        let since = self.store.last_seen()?.unwrap_or(now).min(now);
        for row in self.store.runs_in(&[RunState::Waiting])? {
            if self.stop.requested() {
                return Ok(());
            }
            if !self.take_over(&row.job, row.occurrence, now, log)? {
                continue;
            }
            if let Some(job) = JobKind::parse(&row.job) {
                self.run_one(job, row.occurrence, clock, log)?;
            }
        }
        let store = &self.store;
        let actions =
            schedule::plan(now, since, &|j, o| store.run_get(j.as_str(), o).map(|r| r.is_some()).unwrap_or(true), &cal);
        for a in actions {
            if self.stop.requested() {
                return Ok(());
            }
            match a {
                Action::Run { job, occurrence } => {
                    if self.store.run_claim(job.as_str(), occurrence, "serve", clock.now())? {
                        self.run_one(job, occurrence, clock, log)?;
                    }
                }
                Action::Missed { job, occurrences } => self.missed(job, &occurrences, clock, log)?,
            }
        }
        self.store.set_last_seen(now)?;
        self.report_dead_letters(clock.now(), log);
        Ok(())
    }

    /// Holds (job, occurrence) for this instance ([`Store::run_hold`]): true when it
    /// may run it (always, as the only process); logs a takeover from a dead instance
    /// with how long ago that one's last heartbeat was.
    fn take_over(
        &self,
        job: &str,
        occurrence: DateTime<Utc>,
        now: DateTime<Utc>,
        log: &mut dyn FnMut(&str),
    ) -> Result<bool> {
        let Some(me) = self.store.holder_id() else { return Ok(true) };
        let before = self.store.run_holder(job, occurrence)?;
        if !self.store.run_hold(job, occurrence, now)? {
            return Ok(false);
        }
        if let Some(dead) = before.filter(|h| *h != me) {
            let ago = match self.store.instance_heartbeat_at(dead)? {
                Some(t) => {
                    format!("{:.1} s", (self.store.lease_clock().unwrap_or(t) - t).num_milliseconds() as f64 / 1000.0)
                }
                None => "unknown".into(),
            };
            log(&format!(
                "{job} {}: taken over from instance {dead} (its last heartbeat {ago} ago)",
                local_and_utc(occurrence, self.cfg.schedule.tz)
            ));
        }
        Ok(true)
    }

    /// Records `now` as the last time the calendar was looked at (a clean stop).
    pub fn record_stop(&self, now: DateTime<Utc>) -> Result<()> {
        self.store.set_last_seen(now)?;
        Ok(())
    }

    /// Records missed occurrences and tells the admin (one notice per job and batch).
    fn missed(
        &mut self,
        job: JobKind,
        occurrences: &[DateTime<Utc>],
        clock: &dyn Clock,
        log: &mut dyn FnMut(&str),
    ) -> Result<()> {
        let cal = &self.cfg.schedule;
        let now = clock.now();
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
        log(&format!("{job}: {} occurrence(s) missed, not run: {}", recorded.len(), list.join(";").trim()));
        let period = format!("{job}/{}", recorded[0].0.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        let subject = format!("quotad: {} {job} occurrence(s) missed", recorded.len());
        match admin_notice(
            &self.cfg,
            &mut self.store,
            &self.templates,
            &period,
            KeyKind::AdminMissed,
            &subject,
            &text,
            now,
            &self.stop,
        ) {
            Ok(Some(to)) => log(&format!("{job}: missed occurrence(s) reported to {to}")),
            Ok(None) => {}
            Err(e) => log(&format!("{job}: could not tell the admin: {e:#}")),
        }
        Ok(())
    }

    /// Runs one claimed occurrence and records its result.
    fn run_one(
        &mut self,
        job: JobKind,
        occurrence: DateTime<Utc>,
        clock: &dyn Clock,
        log: &mut dyn FnMut(&str),
    ) -> Result<()> {
        let (state, result) =
            run_occurrence(&self.cfg, &mut self.store, &self.templates, job, occurrence, clock, &self.stop)?;
        log(&format!("{job} {}: {}: {result}", local_and_utc(occurrence, self.cfg.schedule.tz), state.as_str()));
        Ok(())
    }
}

/// How the run's result line says the admin was told: " (told ADDRESS)", " (no mail.admin
/// to tell)", or why the notice could not be queued.
fn told_admin(notice: Result<Option<String>>) -> String {
    match notice {
        Ok(Some(to)) => format!(" (told {to})"),
        Ok(None) => " (no mail.admin to tell)".to_string(),
        Err(e) => format!(" (could not tell the admin: {e:#})"),
    }
}
