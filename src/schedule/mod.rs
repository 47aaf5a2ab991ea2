//! Schedule: the org's fixed calendar, as pure functions — when each job's occurrences
//! fall (cron expressions in the org's IANA zone, DST-correct), what to do after a
//! heartbeat or a restart (run the latest due occurrence, report older misses), the
//! clock the daemon reads, and when an inbox file has settled.
//!
//! Imports `domain` and its own crates (croner, chrono-tz) only; it does no I/O and
//! reads no clock: every function takes `now`. The daemon loop that acts on these
//! decisions is `cmd::serve`; the jobs themselves are `pipeline` functions.
//!
//! # Why occurrences are computed here, not by tokio-cron-scheduler
//!
//! tokio-cron-scheduler 0.15.1 keeps a time-zone job's UTC offset from the moment the
//! job was created and computes every later tick with that fixed offset, so after a
//! DST change its jobs run an hour off (its open issue #107, "Jobs scheduled with
//! timezone-aware schedulers run one hour off after DST transitions": `with_timezone`
//! stores only the offset at creation, and `scheduler.rs` adds that `FixedOffset` to
//! every later tick). It also keeps nothing across restarts, and its repeated job stops
//! for good once a tick comes late. So the daemon's heartbeat is a plain tokio interval,
//! and each heartbeat asks [`plan`] which occurrences are due, computed by croner in
//! the real zone and checked against the runs ledger.

use std::collections::HashMap;
use std::time::{Duration as StdDuration, Instant, SystemTime};

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Tz;

use crate::domain::{IsoWeek, Period};

/// The scheduled jobs (config `[schedule.quota_memo]`, `[schedule.weekly_ranking]`,
/// `[schedule.one_on_one]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobKind {
    /// The first-of-month quota memo.
    QuotaMemo,
    /// The weekly ranking PDF.
    WeeklyRanking,
    /// The monthly 1:1 prep sheets.
    OneOnOne,
}

impl JobKind {
    /// Every job, in calendar order.
    pub const ALL: [JobKind; 3] = [JobKind::QuotaMemo, JobKind::WeeklyRanking, JobKind::OneOnOne];

    /// The job's name as the ledger, the CLI and the logs spell it: `quota-memo`,
    /// `weekly-ranking`, `one-on-one`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::QuotaMemo => "quota-memo",
            JobKind::WeeklyRanking => "weekly-ranking",
            JobKind::OneOnOne => "one-on-one",
        }
    }

    /// The config table's key: `quota_memo`, `weekly_ranking`, `one_on_one`.
    pub fn config_key(self) -> &'static str {
        match self {
            JobKind::QuotaMemo => "quota_memo",
            JobKind::WeeklyRanking => "weekly_ranking",
            JobKind::OneOnOne => "one_on_one",
        }
    }

    /// Parses [`JobKind::as_str`].
    pub fn parse(s: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|j| j.as_str() == s)
    }

    /// The default cron expression (6 fields: sec min hour day-of-month month day-of-week).
    pub fn default_cron(self) -> &'static str {
        match self {
            JobKind::QuotaMemo => "0 0 7 1 * *",
            JobKind::WeeklyRanking => "0 0 8 * * Mon",
            JobKind::OneOnOne => "0 0 7 3 * *",
        }
    }

    /// What an occurrence at `occurrence` works on, consistent with `quotad run`'s
    /// defaults: the quota memo is for the month of the occurrence (local date in `tz`),
    /// the weekly ranking for the ISO week before the occurrence's week, the 1:1 prep
    /// sheets for the month before the occurrence's month.
    pub fn target(self, occurrence: DateTime<Utc>, tz: Tz) -> Target {
        let day = occurrence.with_timezone(&tz).date_naive();
        match self {
            JobKind::QuotaMemo => Target::Month(Period::of(day)),
            JobKind::WeeklyRanking => Target::Week(IsoWeek::of(day).prev()),
            JobKind::OneOnOne => Target::Month(Period::of(day).prev()),
        }
    }
}

impl std::fmt::Display for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The period an occurrence of a job works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A calendar month in the org's zone.
    Month(Period),
    /// An ISO week (Mon–Sun).
    Week(IsoWeek),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Month(p) => write!(f, "{p}"),
            Target::Week(w) => write!(f, "{w}"),
        }
    }
}

/// Parses a 6-field cron expression (`sec min hour day-of-month month day-of-week`,
/// optional 7th year field; names such as `Mon` and `Jan` allowed), the dialect
/// tokio-cron-scheduler uses. When both day fields are restricted, both must match.
///
/// Errors: a message saying what the expression should look like.
pub fn parse_cron(expr: &str) -> Result<croner::Cron, String> {
    if expr.split_whitespace().count() < 6 {
        return Err(format!(
            "'{expr}' has {} fields; quotad uses 6: seconds minutes hours day-of-month month day-of-week, e.g. \"0 0 7 1 * *\" (07:00 on the 1st)",
            expr.split_whitespace().count()
        ));
    }
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(expr)
        .map_err(|e| format!("'{expr}' is not a valid cron expression ({e}); e.g. \"0 0 8 * * Mon\" (Mondays 08:00)"))
}

/// One scheduled job, validated from config.
#[derive(Debug, Clone)]
pub struct JobSchedule {
    /// Which job.
    pub job: JobKind,
    /// The cron expression as written in the config.
    pub pattern: String,
    /// The parsed expression.
    pub cron: croner::Cron,
    /// Whether `quotad serve` runs it (config `enabled`, default true).
    pub enabled: bool,
    /// When the job finds no data for its period: how long after the occurrence to keep
    /// waiting for it (config `wait_for_data`, e.g. "36h"); `None` = skip at once.
    pub wait_for_data: Option<Duration>,
}

impl JobSchedule {
    /// The schedule of `job` with its default cron expression, enabled, not waiting.
    pub fn default_for(job: JobKind) -> JobSchedule {
        let pattern = job.default_cron().to_string();
        let cron = parse_cron(&pattern).expect("the default cron expressions parse");
        JobSchedule { job, pattern, cron, enabled: true, wait_for_data: None }
    }

    /// The occurrences in `(after, through]`, oldest first, as UTC instants, computed in
    /// the zone `tz`: a local time that does not exist (spring forward) gives the first
    /// valid instant after the gap; an ambiguous one (fall back) gives its first instant
    /// only. At most `limit` — the **latest** `limit` if there are more.
    pub fn occurrences(
        &self,
        tz: Tz,
        after: DateTime<Utc>,
        through: DateTime<Utc>,
        limit: usize,
    ) -> Vec<DateTime<Utc>> {
        let mut out: std::collections::VecDeque<DateTime<Utc>> = std::collections::VecDeque::new();
        if through <= after || limit == 0 {
            return Vec::new();
        }
        for t in self.cron.iter_after(whole_second(after).with_timezone(&tz)) {
            // croner keeps the start's fraction of a second: occurrences are whole seconds.
            let t = whole_second(t.with_timezone(&Utc));
            // croner resolves an ambiguous local time to its first instant even when the
            // search started between the two: never go back before `after`.
            if t <= after {
                continue;
            }
            if t > through {
                break;
            }
            if !is_first_instant(t, tz) {
                continue;
            }
            if out.len() == limit {
                out.pop_front();
            }
            out.push_back(t);
        }
        out.into()
    }

    /// The first occurrence strictly after `t`, if the expression has one within a year
    /// or so of searching.
    pub fn next_after(&self, tz: Tz, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .iter_after(whole_second(t).with_timezone(&tz))
            .map(|x| whole_second(x.with_timezone(&Utc)))
            .find(|x| *x > t && is_first_instant(*x, tz))
    }

    /// Whether `t` is an occurrence of this schedule.
    pub fn is_occurrence(&self, tz: Tz, t: DateTime<Utc>) -> bool {
        self.next_after(tz, t - Duration::seconds(1)) == Some(t)
    }

    /// The last occurrence strictly before `t` (as [`JobSchedule::occurrences`] defines
    /// them: an ambiguous local time counts at its first instant only), if the
    /// expression has one within a year or so of searching.
    pub fn previous_before(&self, tz: Tz, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Searched forwards, over a wider window each time: croner's backward search
        // takes an ambiguous local time at its second instant.
        let through = t - Duration::seconds(1);
        [2, 40, 400].into_iter().find_map(|days| self.occurrences(tz, t - Duration::days(days), through, 1).pop())
    }

    /// The occurrence nearest to `t` (the earlier of two as near), if any: what `quotad
    /// run JOB --at T` names when `T` is not an occurrence.
    pub fn nearest(&self, tz: Tz, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match (self.previous_before(tz, t), self.next_after(tz, t)) {
            (Some(p), Some(n)) => Some(if t - p <= n - t { p } else { n }),
            (p, n) => p.or(n),
        }
    }
}

/// Whether `t` is the first instant of its local time in `tz`: false for the second
/// pass through a repeated (fall-back) hour, which croner also yields for interval
/// expressions such as `0 30 * * * *` — an ambiguous local time runs once.
fn is_first_instant(t: DateTime<Utc>, tz: Tz) -> bool {
    tz.from_local_datetime(&t.with_timezone(&tz).naive_local()).earliest().is_none_or(|first| first == t)
}

/// `t` without its fraction of a second (occurrences, and so ledger keys, are whole
/// seconds whatever instant the search started from).
fn whole_second(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).expect("a representable instant")
}

/// The calendar (config `[schedule]`).
#[derive(Debug, Clone)]
pub struct Calendar {
    /// The org's zone: cron expressions are local times in it.
    pub tz: Tz,
    /// The jobs, in [`JobKind::ALL`] order.
    pub jobs: Vec<JobSchedule>,
    /// On start (and after a stalled heartbeat), a job's latest missed occurrence runs if
    /// it is at most this old (config `catch_up`, default 24 h); older ones are reported.
    pub catch_up: Duration,
    /// An inbox file is imported once its size and modification time have not changed
    /// for this long (config `settle_seconds`, default 5 s). Wall-clock time.
    pub settle: StdDuration,
    /// The inbox is rescanned this often besides watching it (config `rescan_seconds`,
    /// default 60 s). Wall-clock time.
    pub rescan: StdDuration,
    /// How often the daemon looks at the calendar (config `heartbeat_seconds`, default
    /// 15 s): a job runs at most this late. Wall-clock time.
    pub heartbeat: StdDuration,
    /// Several `serve` instances on one PostgreSQL state (config `lease_seconds`,
    /// default 60 s, at least 3 heartbeats): an instance holds its claims while its
    /// heartbeat is fresher than this; a dead one's are taken over after it. Wall-clock
    /// time.
    pub lease: StdDuration,
}

impl Calendar {
    /// The defaults: every job on its default expression, catch-up 24 h, settle 5 s,
    /// rescan 60 s, heartbeat 15 s.
    pub fn default_for(tz: Tz) -> Calendar {
        Calendar {
            tz,
            jobs: JobKind::ALL.into_iter().map(JobSchedule::default_for).collect(),
            catch_up: Duration::hours(24),
            settle: StdDuration::from_secs(5),
            rescan: StdDuration::from_secs(60),
            heartbeat: StdDuration::from_secs(15),
            lease: StdDuration::from_secs(60),
        }
    }

    /// The schedule of `job`.
    pub fn job(&self, job: JobKind) -> &JobSchedule {
        self.jobs.iter().find(|j| j.job == job).expect("every job has a schedule")
    }
}

/// Parses a duration such as "24h", "90m", "2d", "45s" or "1h30m".
///
/// Errors: a message with an example.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("'{s}' is not a duration such as \"24h\", \"90m\", \"2d\" or \"1h30m\"");
    let mut total = 0i64;
    let mut num = String::new();
    let t = s.trim();
    if t.is_empty() {
        return Err(bad());
    }
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: i64 = num.parse().map_err(|_| bad())?;
        num.clear();
        total += n * match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
    }
    if !num.is_empty() {
        return Err(bad());
    }
    Ok(Duration::seconds(total))
}

/// Most occurrences [`plan`] looks at per job (a daemon down for years reports the
/// latest this many as missed).
pub const MAX_OCCURRENCES: usize = 1000;

/// What the daemon should do about one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Run this occurrence now (record it in the runs ledger first).
    Run {
        /// The job.
        job: JobKind,
        /// The occurrence, UTC.
        occurrence: DateTime<Utc>,
    },
    /// These occurrences were missed and are not run (older than `catch_up`, or older
    /// than a later due occurrence): record them as missed and tell the admin.
    Missed {
        /// The job.
        job: JobKind,
        /// The occurrences, oldest first, UTC.
        occurrences: Vec<DateTime<Utc>>,
    },
}

/// Decides what is due at `now`: for each enabled job, the occurrences in
/// `(since, now]` that the runs ledger does not know (`known(job, occurrence)` is true
/// for any ledger row). The latest of them runs if it is at most `catch_up` old; every
/// other one — older, or superseded by a later one — is reported as missed. So a job
/// that missed many occurrences runs only the latest, and each occurrence is decided
/// once.
///
/// `since` is when the calendar was last looked at (the previous heartbeat, persisted
/// across restarts). The very first start on a state database passes `now`: nothing
/// was missed before quotad ever ran, so nothing is caught up (`quotad run JOB --at`
/// runs an earlier occurrence by hand).
pub fn plan(
    now: DateTime<Utc>,
    since: DateTime<Utc>,
    known: &dyn Fn(JobKind, DateTime<Utc>) -> bool,
    calendar: &Calendar,
) -> Vec<Action> {
    let mut actions = Vec::new();
    for j in calendar.jobs.iter().filter(|j| j.enabled) {
        let mut due: Vec<DateTime<Utc>> =
            j.occurrences(calendar.tz, since, now, MAX_OCCURRENCES).into_iter().filter(|o| !known(j.job, *o)).collect();
        let Some(&latest) = due.last() else { continue };
        if now - latest <= calendar.catch_up {
            due.pop();
            if !due.is_empty() {
                actions.push(Action::Missed { job: j.job, occurrences: due });
            }
            actions.push(Action::Run { job: j.job, occurrence: latest });
        } else {
            actions.push(Action::Missed { job: j.job, occurrences: due });
        }
    }
    actions
}

/// A local time with its zone abbreviation and the UTC instant, for people:
/// "2026-03-29 03:00 CEST (01:00 UTC)".
pub fn local_and_utc(t: DateTime<Utc>, tz: Tz) -> String {
    let local = t.with_timezone(&tz);
    let utc_day = if local.date_naive() == t.date_naive() { String::new() } else { t.format("%Y-%m-%d ").to_string() };
    format!("{} ({utc_day}{} UTC)", local.format("%Y-%m-%d %H:%M %Z"), t.format("%H:%M"))
}

/// The time the daemon reads. Implementations: [`SystemClock`], [`FixedClock`] and
/// [`OffsetClock`] (a start instant plus scaled elapsed time, for tests and dry runs).
pub trait Clock: Send + Sync {
    /// The current instant, UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that always says the same instant (tests).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// A clock that starts at `start` when created and advances `speed` times as fast as
/// real (monotonic) time: `quotad --now T serve` uses speed 1 (a replay from T); tests
/// use e.g. 60 (a minute a second) to cross hours of calendar in seconds.
#[derive(Debug, Clone, Copy)]
pub struct OffsetClock {
    start: DateTime<Utc>,
    began: Instant,
    speed: f64,
}

impl OffsetClock {
    /// A clock reading `start` now and advancing `speed` (> 0) times real time.
    pub fn new(start: DateTime<Utc>, speed: f64) -> OffsetClock {
        OffsetClock { start, began: Instant::now(), speed }
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        let ms = (self.began.elapsed().as_secs_f64() * self.speed * 1000.0) as i64;
        self.start + Duration::milliseconds(ms)
    }
}

/// Whether an inbox file name is a candidate for import: not hidden (`.name`, which
/// includes LibreOffice's `.~lock.*#`), not an Excel lock file (`~$*`), not a partial
/// download or temporary file (`.part`, `.tmp`, `.crdownload`).
pub fn is_inbox_candidate(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    !(name.starts_with('.')
        || name.starts_with("~$")
        || lower.ends_with(".part")
        || lower.ends_with(".tmp")
        || lower.ends_with(".crdownload"))
}

/// One inbox file as listed: name, size in bytes, modification time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// File name (no folder).
    pub name: String,
    /// Size, bytes.
    pub size: u64,
    /// Modification time.
    pub modified: SystemTime,
}

/// Decides when inbox files have settled: a file is ready once its size and
/// modification time have been the same for `settle` (measured on the monotonic clock
/// between observations). A file already older than `settle` when first seen (it was
/// there before the daemon started) is ready at once. A ready file is handed out once
/// per (size, modification time); if it changes again it settles again.
#[derive(Debug)]
pub struct Settler {
    settle: StdDuration,
    watching: HashMap<String, (u64, SystemTime, Instant)>,
    handed: HashMap<String, (u64, SystemTime)>,
}

impl Settler {
    /// A settler with the given quiet period.
    pub fn new(settle: StdDuration) -> Settler {
        Settler { settle, watching: HashMap::new(), handed: HashMap::new() }
    }

    /// Whether some file is waiting to settle (the daemon then looks again soon).
    pub fn pending(&self) -> bool {
        !self.watching.is_empty()
    }

    /// The monotonic instant at which the earliest file being watched will have been
    /// unchanged for `settle`, if it stays so: when the daemon should look again.
    /// `None` when nothing is settling.
    pub fn next_due(&self) -> Option<Instant> {
        self.watching.values().map(|&(_, _, since)| since + self.settle).min()
    }

    /// Takes a listing of the inbox at monotonic instant `at` (wall-clock time
    /// `wall`, to judge files older than the daemon) and returns the names that are
    /// ready now, sorted. Non-candidates ([`is_inbox_candidate`]) are ignored.
    pub fn observe(&mut self, listing: &[Listed], at: Instant, wall: SystemTime) -> Vec<String> {
        let mut ready = Vec::new();
        let names: std::collections::HashSet<&str> = listing.iter().map(|l| l.name.as_str()).collect();
        self.watching.retain(|n, _| names.contains(n.as_str()));
        self.handed.retain(|n, _| names.contains(n.as_str()));
        for l in listing.iter().filter(|l| is_inbox_candidate(&l.name)) {
            if self.handed.get(&l.name) == Some(&(l.size, l.modified)) {
                continue;
            }
            let old_enough = wall.duration_since(l.modified).is_ok_and(|age| age >= self.settle);
            let settled = match self.watching.get(&l.name) {
                Some(&(size, modified, since)) if size == l.size && modified == l.modified => {
                    at.duration_since(since) >= self.settle
                }
                Some(_) => {
                    self.watching.insert(l.name.clone(), (l.size, l.modified, at));
                    false
                }
                None => {
                    self.watching.insert(l.name.clone(), (l.size, l.modified, at));
                    old_enough
                }
            };
            if settled {
                self.watching.remove(&l.name);
                self.handed.insert(l.name.clone(), (l.size, l.modified));
                ready.push(l.name.clone());
            }
        }
        ready.sort();
        ready
    }
}

/// A UTC instant from its parts (tests and examples).
pub fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single().expect("a valid UTC time")
}

#[cfg(test)]
mod tests;
