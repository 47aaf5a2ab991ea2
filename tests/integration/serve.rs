//! `quotad serve`: the real binary with an injected, accelerated clock (`--now T serve
//! --speed N`), the bundled sample inbox, the real SMTP sink, SIGTERM, restarts, a
//! second instance, downtime and catch-up, DST, and a big file arriving in chunks.
//! Heartbeat, rescan and settle are a second or two (config) so the tests stay fast.
//!
//! No test sleeps for a while and then takes silence for absence: each waits, with a
//! generous deadline, for an event — a line on the daemon's stdout, a row in the runs
//! ledger, or the daemon's heartbeats, which it records in the state database
//! ([`Daemon::wait_heartbeats`]). Accelerated clocks keep every window the tests rely on
//! (catch_up, the gap between two occurrences) many seconds of real time wide, so a
//! stalled runner is slower, never wrong.

use std::process::Child;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use quotad::store::RunState;

use crate::harness::{Env, config};
use crate::smtp_server::{PASSWORD_ENV, SmtpSink, password, smtp_config};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Polls `cond` every 50 ms for up to `limit`.
fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

/// A running `quotad serve`; its stdout is `NAME.out` in the test folder.
struct Daemon<'a> {
    env: &'a Env,
    name: String,
    child: Child,
}

impl<'a> Daemon<'a> {
    fn start(env: &'a Env, name: &str, args: &[&str], vars: &[(&str, &str)]) -> Daemon<'a> {
        let child = env.spawn(name, args, vars);
        let d = Daemon { env, name: name.into(), child };
        assert!(
            wait_for(Duration::from_secs(60), || d.out().contains("quotad serve: pid")),
            "did not start: {}",
            d.err()
        );
        d
    }

    fn out(&self) -> String {
        std::fs::read_to_string(self.env.path(&format!("{}.out", self.name))).unwrap_or_default()
    }

    fn err(&self) -> String {
        std::fs::read_to_string(self.env.path(&format!("{}.err", self.name))).unwrap_or_default()
    }

    fn wait_out(&self, text: &str, limit: Duration) {
        assert!(
            wait_for(limit, || self.out().contains(text)),
            "no '{text}' within {limit:?}:\n{}\n{}",
            self.out(),
            self.err()
        );
    }

    /// Waits until the daemon has finished `n` more looks at the calendar (heartbeats, or
    /// the one at start), read from the state database: each ends by recording the
    /// instant it looked up to (`daemon.last_seen`), so each change is one look done. One
    /// worker does everything in turn, so the first change means whatever the daemon was
    /// doing when this was called (an inbox pass, a job) is finished; after two, a whole
    /// heartbeat began after the call — the proof that nothing more happens.
    fn wait_heartbeats(&mut self, n: usize) {
        let state = ["var/quotad.sqlite", "quotad.sqlite"].map(|p| self.env.path(p)).into_iter().find(|p| p.exists());
        let store = quotad::store::Store::open(&state.expect("the daemon's state database")).unwrap();
        let mut last = store.last_seen().unwrap();
        let start = Instant::now();
        for seen in 0..n {
            loop {
                assert!(
                    start.elapsed() < Duration::from_secs(120),
                    "{seen} of {n} heartbeat(s) in 120 s:\n{}\n{}",
                    self.out(),
                    self.err()
                );
                assert!(self.child.try_wait().unwrap().is_none(), "quotad serve exited:\n{}", self.err());
                std::thread::sleep(Duration::from_millis(20));
                let now = store.last_seen().unwrap();
                if now != last {
                    last = now;
                    break;
                }
            }
        }
    }

    /// Sends SIGTERM; returns the exit status and how long it took to exit.
    fn term(self) -> (i32, Duration) {
        self.signal("TERM")
    }

    /// Sends SIG`name` (TERM, INT); returns the exit status and how long it took to exit.
    fn signal(mut self, name: &str) -> (i32, Duration) {
        let pid = self.child.id().to_string();
        let start = Instant::now();
        // The shell's builtin kill: no procps needed.
        let sent = std::process::Command::new("sh").args(["-c", &format!("kill -{name} {pid}")]).status().unwrap();
        assert!(sent.success());
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                let took = start.elapsed();
                assert!(!self.err().contains("panicked"), "{}", self.err());
                return (s.code().unwrap_or(-1), took);
            }
            if start.elapsed() > Duration::from_secs(30) {
                let _ = self.child.kill();
                panic!("quotad serve did not stop within 30 s of SIGTERM:\n{}", self.out());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon<'_> {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The shipped config on the sample inbox, with fast heartbeat/rescan/settle and
/// `extra` lines replacing nothing but appended to `[mail]` (the last table).
fn sample_env(mail_extra: &str, catch_up: &str) -> Env {
    let env = Env::sample();
    let shipped = std::fs::read_to_string(env.path("quotad.toml")).unwrap();
    let cfg = shipped
        .replace("heartbeat_seconds = 15 ", "heartbeat_seconds = 1 ")
        .replace("rescan_seconds = 60 ", "rescan_seconds = 1 ")
        .replace("settle_seconds = 5 ", "settle_seconds = 1 ")
        .replace("catch_up = \"24h\"", &format!("catch_up = \"{catch_up}\""))
        // DejaVu Sans only: the sample's 李伟 has no font, so the admin's notice of names
        // drawn as U+FFFD is part of these runs on any machine.
        .replace("system_fonts = true ", "system_fonts = false");
    assert_ne!(cfg, shipped);
    std::fs::write(env.path("quotad.toml"), format!("{cfg}\n{mail_extra}\n")).unwrap();
    env
}

/// The runs ledger of `job` in the env's state database (the sample's `var/quotad.sqlite`
/// or the generated configs' `quotad.sqlite`).
fn runs(env: &Env, job: &str) -> Vec<(DateTime<Utc>, RunState, String)> {
    let state = ["var/quotad.sqlite", "quotad.sqlite"].map(|p| env.path(p)).into_iter().find(|p| p.exists()).unwrap();
    quotad::store::Store::open(&state)
        .unwrap()
        .runs_of(job)
        .unwrap()
        .into_iter()
        .map(|r| (r.occurrence, r.state, r.result))
        .collect()
}

/// The sample, delivering through `sink` (STARTTLS, AUTH; password in [`PASSWORD_ENV`]).
fn smtp_sample_env(sink: &SmtpSink) -> Env {
    let env = sample_env("", "24h");
    let shipped = std::fs::read_to_string(env.path("quotad.toml")).unwrap();
    let transport = shipped.lines().find(|l| l.starts_with("transport = \"file\"")).unwrap();
    let cfg = format!("{}{}", shipped.replace(transport, ""), smtp_config(sink.port, sink.cert(), "starttls", "", ""));
    std::fs::write(env.path("quotad.toml"), cfg).unwrap();
    env
}

#[test]
fn sigterm_while_a_message_is_in_flight_finishes_it_and_the_rest_go_once_at_the_next_start() {
    let pw = password();
    // The sink stores one message, then holds its 250 for 5 s: that message is in
    // flight, its text written (a stop during RCPT is abandoned instead: durable.rs).
    let held = "carlos.williams@example-homes.com";
    let certs = std::rc::Rc::new(crate::smtp_server::Certs::new());
    let sink = SmtpSink::start_with(crate::smtp_server::free_port(), certs, "starttls", &pw, &["--hold-reply", held]);
    let env = smtp_sample_env(&sink);
    let vars = [(PASSWORD_ENV, pw.as_str())];
    let d = Daemon::start(&env, "serve1", &["--now", "2026-11-01T12:59:40Z", "serve", "--speed", "20"], &vars);
    assert!(wait_for(Duration::from_secs(60), || sink.holding("reply")), "{}", d.out());
    let before = sink.count();
    let (code, took) = d.term();
    assert_eq!(code, 0);
    assert!(took < Duration::from_secs(15), "stopped {took:?} after SIGTERM (the reply was held 5 s)");
    let after = sink.count();
    assert_eq!(after, before, "the message in flight was finished, and no other started");
    let store = quotad::store::Store::open(&env.path("var/quotad.sqlite")).unwrap();
    let row = store.outbox_get(&format!("quota-memo/2026-11/{held}/rep-memo")).unwrap().unwrap();
    assert_eq!(row.state, quotad::store::OutboxState::Sent, "the 250 was awaited and recorded");
    assert!(after < 22, "{after}");
    assert!(sink.received().iter().any(|r| r.email.to == held));
    let memo = runs(&env, "quota-memo");
    assert_eq!((memo.len(), memo[0].1), (1, RunState::Started), "{memo:?}");
    assert!(
        memo[0].2.contains(&format!("stopped by a shutdown with {} message(s) left in the outbox", 22 - after)),
        "{memo:?}"
    );

    // The next start delivers the rest once and finishes the run.
    let mut d = Daemon::start(&env, "serve2", &["--now", "2026-11-01T13:02:00Z", "serve"], &vars);
    assert!(wait_for(Duration::from_secs(60), || sink.count() >= 22), "{}", d.out());
    d.wait_out("quota-memo 2026-11-01 07:00 CST (13:00 UTC): succeeded", Duration::from_secs(60));
    d.wait_heartbeats(2); // a whole heartbeat after the run: nothing more
    assert_eq!(d.term().0, 0);
    let mut to: Vec<String> = sink.received().into_iter().map(|r| r.email.to).collect();
    assert_eq!(to.len(), 22);
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 22, "nobody got a memo twice");
    assert_eq!(runs(&env, "quota-memo")[0].1, RunState::Succeeded);
}

#[test]
fn serve_sends_the_demo_memos_through_smtp_once_stops_on_sigterm_and_restarts_send_nothing_twice() {
    let pw = password();
    let sink = SmtpSink::start("starttls", &pw);
    let env = smtp_sample_env(&sink);
    let vars = [(PASSWORD_ENV, pw.as_str())];

    // 1 November 2026 07:00 CST (the US fell back at 07:00 UTC that morning) = 13:00 UTC.
    let mut d = Daemon::start(&env, "serve1", &["--now", "2026-11-01T12:59:40Z", "serve", "--speed", "20"], &vars);
    assert!(d.out().contains("quota-memo      0 0 7 1 * *      next 2026-11-01 07:00 CST (13:00 UTC)"), "{}", d.out());
    assert!(wait_for(Duration::from_secs(60), || sink.count() >= 22), "{}", d.out());
    d.wait_out(
        "succeeded: quota memo 2026-11: 19 rep memo(s) and 3 manager memo(s) delivered",
        Duration::from_secs(60),
    );
    d.wait_heartbeats(2); // a whole heartbeat after the run: nothing more
    assert_eq!(sink.count(), 22);
    let (code, took) = d.term();
    assert_eq!(code, 0);
    assert!(took < Duration::from_secs(10), "stopped in {took:?}");

    let got = sink.received();
    let mut to: Vec<String> = got.iter().map(|r| r.email.to.clone()).collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 22, "22 different recipients, each once");
    assert!(got.iter().all(|r| r.tls && r.login == crate::smtp_server::USER));
    let occurrence = at("2026-11-01T13:00:00Z");
    let memo = runs(&env, "quota-memo");
    assert_eq!(memo.len(), 1);
    assert_eq!((memo[0].0, memo[0].1), (occurrence, RunState::Succeeded));

    // Two restarts within a minute: one at 13:00:30, one whose clock reads 12:59:58
    // (the occurrence is due again in its window): the ledger runs nothing twice. Each
    // daemon runs until it has looked at the calendar past 13:00:01 (real time, speed 1:
    // the heartbeat is a second) and then once more.
    for (name, now) in [("serve2", "2026-11-01T13:00:30Z"), ("serve3", "2026-11-01T12:59:58Z")] {
        let mut d = Daemon::start(&env, name, &["--now", now, "serve"], &vars);
        let store = quotad::store::Store::open(&env.path("var/quotad.sqlite")).unwrap();
        d.wait_heartbeats(1); // from here on, last_seen is this daemon's
        while store.last_seen().unwrap().is_none_or(|t| t < at("2026-11-01T13:00:01Z")) {
            d.wait_heartbeats(1);
        }
        d.wait_heartbeats(1);
        assert!(!d.out().contains("quota-memo 2026-11-01"), "{}", d.out());
        assert_eq!(d.term().0, 0);
    }
    assert_eq!(sink.count(), 22);
    assert_eq!(runs(&env, "quota-memo").len(), 1);
    let status = env.quotad(&["--now", "2026-11-01T14:00:00Z", "status"]);
    assert!(
        status.stdout.contains(
            "    last run:  2026-11-01 07:00 CST (13:00 UTC): succeeded: quota memo 2026-11: 19 rep memo(s) and 3 manager memo(s) delivered"
        ),
        "{}",
        status.stdout
    );
    assert!(status.stdout.contains("    next:      2026-12-01 07:00 CST (13:00 UTC)"), "{}", status.stdout);
    assert!(status.stdout.contains("    next:      2026-11-02 08:00 CST (14:00 UTC)"), "{}", status.stdout);
}

#[test]
fn a_second_quotad_on_the_same_state_refuses_naming_the_pid_and_run_at_respects_the_ledger() {
    let env = sample_env("", "24h");
    let d = Daemon::start(&env, "serve", &["--now", "2026-11-01T12:00:00Z", "serve"], &[]);
    // (A stop now would leave the files not yet imported for the next start.)
    d.wait_out("inbox: crm-export-2026-10.xlsx imported", Duration::from_secs(30));
    let pid = d.child.id();
    for args in [&["serve"][..], &["run", "quota-memo", "--at", "2026-11-01T13:00:00Z"], &["import"]] {
        let r = env.quotad(args);
        assert_eq!(r.code, 1, "{args:?}: {r:?}");
        assert!(r.stderr.contains(&format!("`quotad serve` (pid {pid}) is running on")), "{r:?}");
        assert!(r.stderr.contains("quotad.sqlite.lock"), "{r:?}");
    }
    let (code, took) = d.signal("INT");
    assert_eq!(code, 0);
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(std::fs::read_to_string(env.path("serve.out")).unwrap().contains("SIGINT: finishing the work in flight"));

    // By hand, an occurrence still to come is refused: recorded now, it would stand in
    // the ledger for the real one, which the daemon would then never run.
    let r = env.quotad(&["--now", "2026-11-01T12:59:00Z", "run", "quota-memo", "--at", "2026-11-01T13:00:00Z"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("2026-11-01 07:00 CST (13:00 UTC) is in the future"), "{r:?}");
    assert!(env.all_emails().is_empty(), "nothing sent");

    // By hand, once the daemon is stopped: runs, then is not run again.
    let r = env.quotad(&["--now", "2026-11-01T13:05:00Z", "run", "quota-memo", "--at", "2026-11-01T13:00:00Z"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("quota-memo 2026-11-01 07:00 CST (13:00 UTC): succeeded: quota memo 2026-11: 19 rep memo(s)"),
        "{r:?}"
    );
    let r = env.quotad(&["--now", "2026-11-01T13:06:00Z", "run", "quota-memo", "--at", "2026-11-01T13:00:00Z"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("quota-memo 2026-11-01 07:00 CST (13:00 UTC): already succeeded (run)"), "{r:?}");
    assert_eq!(env.emails().len(), 19);
    assert_eq!(env.all_emails().len(), 22);
}

/// Down from Saturday 2026-10-31 20:00 CDT to Monday 2026-11-02 09:10 CST.
fn downtime(catch_up: &str) -> Env {
    let env = sample_env("admin = \"Ops Admin <admin@example-homes.com>\"", catch_up);
    let mut d = Daemon::start(&env, "before", &["--now", "2026-11-01T01:00:00Z", "serve"], &[]);
    d.wait_out("inbox: crm-export-2026-10.xlsx imported", Duration::from_secs(60));
    d.wait_heartbeats(1);
    assert_eq!(d.term().0, 0);
    let mut d = Daemon::start(&env, "after", &["--now", "2026-11-02T15:10:00Z", "serve"], &[]);
    d.wait_out("weekly-ranking 2026-11-02 08:00 CST (14:00 UTC): succeeded", Duration::from_secs(60));
    d.wait_heartbeats(1); // the look at the calendar that ran it (and reported the memo) is over
    assert_eq!(d.term().0, 0);
    // The Monday ranking ran once: its week (26 Oct – 1 Nov) ranks October in full, the
    // month of its Monday (the sample's deals of 26–31 October included).
    let r = runs(&env, "weekly-ranking");
    assert_eq!((r.len(), r[0].0, r[0].1), (1, at("2026-11-02T14:00:00Z"), RunState::Succeeded));
    assert!(
        r[0].2.starts_with(
            "Weekly ranking 2026-W44 (October 2026 in full, Oct 1 – Oct 31): 4 PDF(s), 4 message(s) delivered"
        ),
        "{}",
        r[0].2
    );
    assert_eq!(runs(&env, "one-on-one"), vec![]);
    env
}

fn admin_subjects(env: &Env) -> Vec<String> {
    let mut v: Vec<String> =
        env.all_emails().into_iter().filter(|e| e.to == "admin@example-homes.com").map(|e| e.subject).collect();
    v.sort();
    v
}

#[test]
fn after_weekend_downtime_the_monday_ranking_runs_once_and_the_sunday_memo_is_reported_missed() {
    let env = downtime("24h");
    // Sunday 1 Nov 07:00 CST was 26 h 10 min before the start: over catch_up.
    assert_eq!(
        runs(&env, "quota-memo"),
        vec![(
            at("2026-11-01T13:00:00Z"),
            RunState::Missed,
            "missed: quotad was not running then, and it is older than catch_up (24h)".into()
        )]
    );
    assert_eq!(env.emails().len(), 0);
    // The sample's 李伟 has no font in this config: the admin is told once (issue 16.11).
    assert_eq!(
        admin_subjects(&env),
        vec![
            "Example Homes: names drawn as \u{FFFD} in weekly-ranking 2026-W44",
            "quotad: 1 quota-memo occurrence(s) missed"
        ]
    );
    let notice = env.all_emails().into_iter().find(|e| e.subject.contains("missed")).unwrap();
    assert!(
        notice.text.contains("To run one by hand: quotad run quota-memo --at 2026-11-01T13:00:00Z"),
        "{}",
        notice.text
    );
    // Which the admin does: a missed occurrence runs by hand, once.
    let r = env.quotad(&["--now", "2026-11-02T16:00:00Z", "run", "quota-memo", "--at", "2026-11-01T13:00:00Z"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with("quota-memo 2026-11-01 07:00 CST (13:00 UTC): was missed; running it now\n"), "{r:?}");
    assert!(
        r.stdout.contains("succeeded: quota memo 2026-11: 19 rep memo(s) and 3 manager memo(s) delivered"),
        "{r:?}"
    );
    let memo = runs(&env, "quota-memo");
    assert_eq!((memo.len(), memo[0].1), (1, RunState::Succeeded));
    assert_eq!(env.emails().len(), 19);
}

#[test]
fn after_weekend_downtime_with_catch_up_48h_the_sunday_memo_runs_once() {
    let env = downtime("48h");
    let memo = runs(&env, "quota-memo");
    assert_eq!(memo.len(), 1);
    assert_eq!((memo[0].0, memo[0].1), (at("2026-11-01T13:00:00Z"), RunState::Succeeded));
    assert_eq!(env.emails().len(), 19);
    assert_eq!(admin_subjects(&env), vec!["Example Homes: names drawn as \u{FFFD} in weekly-ranking 2026-W44"]);
}

/// `quotad serve` on an empty inbox in zone `tz` with only the quota-memo job, on `cron`,
/// its clock starting at `start` and running `speed` times as fast, until `count`
/// occurrences are in the runs ledger. With no data each occurrence is recorded as
/// skipped, which records when it ran. Returns the ledger's (occurrence, state) rows and
/// the daemon's stdout.
///
/// catch_up is scaled with the speed: ten minutes of real time (at 14,400x, 2,400 h), so
/// a runner stalled for seconds still finds each occurrence inside it (a fixed "48h"
/// at 36,000x was under 5 s of real time). Two occurrences of the job must be further apart
/// than a heartbeat plus any stall, or one would be recorded as missed in favour of the
/// later: the callers' speeds keep them at least 6 s of real time apart.
fn calendar_run(
    tz: &str,
    cron: &str,
    start: &str,
    speed: u32,
    count: usize,
) -> (Vec<(DateTime<Utc>, RunState)>, String) {
    let catch_up = format!("{}h", speed / 6);
    let speed = speed.to_string();
    let env = Env::new(&config(""));
    let cfg = std::fs::read_to_string(env.path("quotad.toml")).unwrap().replace("America/Chicago", tz);
    let cfg = format!(
        "{cfg}\n[schedule]\ncatch_up = \"{catch_up}\"\nheartbeat_seconds = 1\nrescan_seconds = 5\n[schedule.quota_memo]\ncron = \"{cron}\"\n[schedule.weekly_ranking]\nenabled = false\n[schedule.one_on_one]\nenabled = false\n"
    );
    std::fs::write(env.path("quotad.toml"), cfg).unwrap();
    let d = Daemon::start(&env, "serve", &["--now", start, "serve", "--speed", &speed], &[("TZ", "UTC")]);
    assert!(wait_for(Duration::from_secs(180), || d.out().matches("quota-memo 20").count() >= count), "{}", d.out());
    let out = d.out();
    assert_eq!(d.term().0, 0);
    let store = quotad::store::Store::open(&env.path("quotad.sqlite")).unwrap();
    (store.runs_of("quota-memo").unwrap().into_iter().map(|r| (r.occurrence, r.state)).collect(), out)
}

#[test]
fn a_daily_0230_berlin_job_through_the_spring_forward_runs_once_a_day_at_0300_cest_on_the_29th() {
    // Four hours a second (a heartbeat each 4 h, a day in 6 s), from Friday 27 March
    // 14:00 UTC to past Tuesday 31 March.
    let (got, out) = calendar_run("Europe/Berlin", "0 30 2 * * *", "2026-03-27T14:00:00Z", 14_400, 4);
    assert_eq!(
        got[..4],
        [
            (at("2026-03-28T01:30:00Z"), RunState::Skipped), // 02:30 CET
            (at("2026-03-29T01:00:00Z"), RunState::Skipped), // 02:30 does not exist: 03:00 CEST
            (at("2026-03-30T00:30:00Z"), RunState::Skipped), // 02:30 CEST
            (at("2026-03-31T00:30:00Z"), RunState::Skipped),
        ]
    );
    assert!(out.contains("quota-memo 2026-03-29 03:00 CEST (01:00 UTC): skipped: no data"), "{out}");
}

#[test]
fn a_daily_0230_berlin_job_through_the_fall_back_runs_once_at_the_first_0230() {
    let (got, _) = calendar_run("Europe/Berlin", "0 30 2 * * *", "2026-10-23T14:00:00Z", 14_400, 3);
    assert_eq!(
        got[..3],
        [
            (at("2026-10-24T00:30:00Z"), RunState::Skipped), // 02:30 CEST
            (at("2026-10-25T00:30:00Z"), RunState::Skipped), // the first 02:30 (CEST), not 01:30 UTC
            (at("2026-10-26T01:30:00Z"), RunState::Skipped), // 02:30 CET
        ]
    );
}

#[test]
fn shanghai_0800_on_a_utc_host_runs_three_times_in_three_days_at_midnight_utc() {
    let (got, _) = calendar_run("Asia/Shanghai", "0 0 8 * * *", "2026-03-01T12:00:00Z", 14_400, 3);
    assert_eq!(
        got[..3],
        [
            (at("2026-03-02T00:00:00Z"), RunState::Skipped),
            (at("2026-03-03T00:00:00Z"), RunState::Skipped),
            (at("2026-03-04T00:00:00Z"), RunState::Skipped),
        ]
    );
}

#[test]
fn seven_on_the_first_chicago_started_in_february_runs_at_1200_utc_on_1_april() {
    // One process from 10 February (CST) through the change to CDT on 8 March, a hundred
    // hours a second (a month in 7 s): tokio-cron-scheduler alone would run the April one
    // at 13:00 UTC.
    let (got, out) = calendar_run("America/Chicago", "0 0 7 1 * *", "2026-02-10T09:00:00Z", 360_000, 2);
    assert_eq!(
        got[..2],
        [(at("2026-03-01T13:00:00Z"), RunState::Skipped), (at("2026-04-01T12:00:00Z"), RunState::Skipped)]
    );
    assert!(out.contains("quota-memo 2026-04-01 07:00 CDT (12:00 UTC): skipped"), "{out}");
}

#[test]
fn a_20_mb_file_copied_in_4_mb_chunks_a_second_apart_is_imported_once_after_it_settles() {
    let env = Env::new(&config(
        "[schedule]\nsettle_seconds = 2\nrescan_seconds = 1\nheartbeat_seconds = 1\n[schedule.quota_memo]\nenabled = false\n[schedule.weekly_ranking]\nenabled = false\n[schedule.one_on_one]\nenabled = false\n",
    ));
    env.put("roster.csv", crate::harness::ROSTER);
    let mut d = Daemon::start(&env, "serve", &["serve"], &[]);
    d.wait_out("inbox: roster.csv imported [roster]: 3 new", Duration::from_secs(60));

    // A deals export with a long notes column: 2000 deals, 20 MiB in all.
    let reps = ["ann@example.com", "bob@example.com", "cy@example.com"];
    let mut csv = String::from("Deal ID,Rep Email,Stage,Close Date,Sale Price,Notes\n");
    let row_len = (20 << 20) / 2000;
    for i in 0..2000 {
        let head = format!("D{i:05},{},Closed Won,2026-03-{:02},{}.00,", reps[i % 3], 1 + i % 28, 300_000 + i);
        let pad = row_len - head.len() - 1;
        csv.push_str(&head);
        csv.push_str(&"walkthrough notes ".repeat(pad / 18 + 1)[..pad]);
        csv.push('\n');
    }
    let bytes = csv.into_bytes();
    assert!((bytes.len() as i64 - (20 << 20)).abs() < 4096, "{}", bytes.len());
    let path = env.path("inbox").join("deals-big.csv");
    {
        use std::io::Write as _;
        let mut f = std::fs::File::create(&path).unwrap();
        for chunk in bytes.chunks(4 << 20) {
            f.write_all(chunk).unwrap();
            f.flush().unwrap();
            std::thread::sleep(Duration::from_secs(1));
        }
    }
    d.wait_out("inbox: deals-big.csv imported [deals]", Duration::from_secs(120));
    // The import moved the file to the archive: nothing is left for a rescan to take
    // again, and after two more heartbeats nothing more was logged.
    assert_eq!(env.files_in("inbox"), Vec::<String>::new());
    d.wait_heartbeats(2);
    let out = d.out();
    assert_eq!(out.matches("deals-big.csv").count(), 1, "{out}");
    assert!(
        out.contains("inbox: deals-big.csv imported [deals]: 2000 new, 0 updated, 0 unchanged, 0 rejected"),
        "{out}"
    );
    assert_eq!(d.term().0, 0);
    assert_eq!(env.store().counts().unwrap().0, 2000);
    assert_eq!(env.files_in("archive"), vec!["deals-big.csv", "roster.csv"]);
    assert_eq!(std::fs::metadata(env.path("archive/deals-big.csv")).unwrap().len(), bytes.len() as u64);
}

#[test]
fn excel_lock_files_partial_and_hidden_files_are_never_imported_and_a_bad_file_is_reported_to_the_admin() {
    let env = Env::new(&config(
        "admin = \"Ops Admin <admin@test-homes.com>\"\n[schedule]\nsettle_seconds = 1\nrescan_seconds = 1\nheartbeat_seconds = 1\n[schedule.quota_memo]\nenabled = false\n[schedule.weekly_ranking]\nenabled = false\n[schedule.one_on_one]\nenabled = false\n",
    ));
    for name in ["~$roster.csv", "roster.csv.part", "roster.tmp", ".roster.csv"] {
        env.put(name, crate::harness::ROSTER);
    }
    // The junk files are in the inbox before the daemon starts and the real roster after:
    // had any of them been taken, it would have settled first and been imported no later
    // than roster.csv, in the same inbox pass at the latest; a heartbeat after roster.csv's
    // line means that pass has ended.
    let mut d = Daemon::start(&env, "serve", &["serve"], &[]);
    env.put("roster.csv", crate::harness::ROSTER);
    d.wait_out("inbox: roster.csv imported [roster]: 3 new", Duration::from_secs(60));
    d.wait_heartbeats(1);
    assert_eq!(d.out().matches("inbox:").count(), 1, "{}", d.out());
    env.put(
        "deals-bad.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\nD1,ann@example.com,Closed Won,2026-03-02,$4l2500\n",
    );
    d.wait_out("inbox: deals-bad.csv QUARANTINED: 1 of 1 data rows rejected", Duration::from_secs(60));
    assert_eq!(d.term().0, 0);
    let mail = env.all_emails();
    assert_eq!(mail.len(), 1);
    assert_eq!(
        (mail[0].to.as_str(), mail[0].subject.as_str()),
        ("admin@test-homes.com", "quotad quarantined deals-bad.csv")
    );
    assert!(mail[0].text.contains("Nothing from this file was stored;"), "{}", mail[0].text);
    assert_eq!(env.files_in("quarantine"), vec!["deals-bad.csv", "deals-bad.csv.errors.txt"]);
}

/// Ann, Bob and Cy with March 2026 deals; the weekly ranking of Monday 13 April 08:00 CDT
/// (13:00 UTC) covers 2026-W15 (6–12 April), April 1–12: no data yet.
fn waiting_env() -> Env {
    let env = Env::new(&config(
        "admin = \"Ops Admin <admin@test-homes.com>\"\n[schedule]\nheartbeat_seconds = 1\nrescan_seconds = 1\nsettle_seconds = 1\n[schedule.quota_memo]\nenabled = false\n[schedule.one_on_one]\nenabled = false\n[schedule.weekly_ranking]\nwait_for_data = \"2h\"\n",
    ));
    env.put("roster.csv", crate::harness::ROSTER);
    env.put("quotas.csv", "Rep Email,Month,Revenue Quota\nann@example.com,2026-04,400000\nbob@example.com,2026-04,250000\ncy@example.com,2026-04,300000\n");
    env.put(
        "deals.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\nD1,ann@example.com,Closed Won,2026-03-02,300000\n",
    );
    env
}

#[test]
fn a_job_without_data_waits_for_it_until_its_deadline_and_runs_once_it_arrives() {
    let env = waiting_env();
    let d = Daemon::start(&env, "serve", &["--now", "2026-04-13T12:59:50Z", "serve", "--speed", "60"], &[]);
    d.wait_out(
        "weekly-ranking 2026-04-13 08:00 CDT (13:00 UTC): waiting: no data: no deals stored for 2026-04 through 2026-04-12 (data for 2026-03 only); waiting for it until 2026-04-13 10:00 CDT (15:00 UTC)",
        Duration::from_secs(60),
    );
    env.put(
        "deals-april.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\nD2,bob@example.com,Closed Won,2026-04-02,280000\n",
    );
    d.wait_out(
        "weekly-ranking 2026-04-13 08:00 CDT (13:00 UTC): succeeded: Weekly ranking 2026-W15",
        Duration::from_secs(60),
    );
    assert_eq!(d.term().0, 0);
    let r = runs(&env, "weekly-ranking");
    assert_eq!((r.len(), r[0].0, r[0].1), (1, at("2026-04-13T13:00:00Z"), RunState::Succeeded));
    let mail = env.all_emails();
    let mut to: Vec<&str> = mail.iter().map(|e| e.to.as_str()).collect();
    to.sort();
    // North's edition (Ann, Bob; Mia in Cc), South's (Cy; Max in Cc) and the full
    // ranking to the managers and the admin (Max first); no notice to the admin.
    assert_eq!(to, ["ann@example.com", "cy@example.com", "max@example.com"]);
    assert!(
        mail.iter().all(|e| !e.subject.starts_with("quotad:")),
        "{:?}",
        mail.iter().map(|e| &e.subject).collect::<Vec<_>>()
    );
    let north = mail.iter().find(|e| e.to == "ann@example.com").unwrap();
    assert!(
        north.raw.contains("bob@example.com") && north.raw.contains("Cc: \"Mia Boss\" <mia@example.com>"),
        "{}",
        north.raw
    );
}

#[test]
fn a_job_without_data_past_its_deadline_is_skipped_and_the_admin_told() {
    let env = waiting_env();
    // A quarter of an hour a second: the occurrence is 4 s of real time after the start
    // and its 2 h wait_for_data 8 s wide, so the heartbeat after the occurrence finds it
    // waiting even on a stalled runner; a later one, past 15:00, skips it.
    let d = Daemon::start(&env, "serve", &["--now", "2026-04-13T12:59:00Z", "serve", "--speed", "900"], &[]);
    d.wait_out("weekly-ranking 2026-04-13 08:00 CDT (13:00 UTC): skipped: no data", Duration::from_secs(90));
    assert!(d.out().contains("weekly-ranking 2026-04-13 08:00 CDT (13:00 UTC): waiting: no data"), "{}", d.out());
    assert_eq!(d.term().0, 0);
    assert_eq!(
        runs(&env, "weekly-ranking"),
        vec![(
            at("2026-04-13T13:00:00Z"),
            RunState::Skipped,
            "no data: no deals stored for 2026-04 through 2026-04-12 (data for 2026-03 only) (told admin@test-homes.com)"
                .into()
        )]
    );
    let mail = env.all_emails();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to, "admin@test-homes.com");
    assert_eq!(mail[0].subject, "quotad: weekly-ranking for 2026-W15 skipped: no data");
    assert!(mail[0].text.contains("quotad run weekly-ranking --at 2026-04-13T13:00:00Z"), "{}", mail[0].text);
}

#[test]
fn the_issue_weekend_saturday_28_february_2000_to_monday_0910_runs_the_ranking_once_and_reports_the_memo() {
    let env = Env::new(&config(
        "admin = \"Ops Admin <admin@test-homes.com>\"\n[schedule]\nheartbeat_seconds = 1\nrescan_seconds = 1\nsettle_seconds = 1\n",
    ));
    env.put("roster.csv", crate::harness::ROSTER);
    env.put("deals.csv", "Deal ID,Rep Email,Stage,Close Date,Sale Price\nD1,ann@example.com,Closed Won,2026-02-10,300000\nD2,cy@example.com,Closed Won,2026-02-20,250000\n");
    // Saturday 28 February 20:00 CST = 1 March 02:00 UTC.
    let mut d = Daemon::start(&env, "before", &["--now", "2026-03-01T02:00:00Z", "serve"], &[]);
    d.wait_out("inbox: deals.csv imported [deals]: 2 new", Duration::from_secs(60));
    d.wait_heartbeats(1);
    assert_eq!(d.term().0, 0);
    // During the downtime Sunday's export arrives (one deal on Sunday 1 March).
    env.put(
        "deals-0301.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\nD3,bob@example.com,Closed Won,2026-03-01,280000\n",
    );
    // Monday 2 March 09:10 CST = 15:10 UTC.
    let mut d = Daemon::start(&env, "after", &["--now", "2026-03-02T15:10:00Z", "serve"], &[]);
    d.wait_out(
        "weekly-ranking 2026-03-02 08:00 CST (14:00 UTC): succeeded: Weekly ranking 2026-W09",
        Duration::from_secs(60),
    );
    d.wait_heartbeats(1); // the look at the calendar that ran it (and reported the memo) is over
    assert_eq!(d.term().0, 0);
    assert_eq!(
        runs(&env, "weekly-ranking").iter().map(|r| (r.0, r.1)).collect::<Vec<_>>(),
        [(at("2026-03-02T14:00:00Z"), RunState::Succeeded)]
    );
    assert_eq!(
        runs(&env, "quota-memo"),
        [(
            at("2026-03-01T13:00:00Z"),
            RunState::Missed,
            "missed: quotad was not running then, and it is older than catch_up (24h)".to_string()
        )]
    );
    assert_eq!(runs(&env, "one-on-one"), []);
    let mail = env.all_emails();
    let mut ranking: Vec<&str> =
        mail.iter().filter(|e| e.file.starts_with("weekly-ranking_")).map(|e| e.to.as_str()).collect();
    ranking.sort();
    // North's edition (Ann, Bob; Mia in Cc), South's (Cy; Max in Cc), and the full
    // ranking to the managers and the admin (Max first).
    assert_eq!(ranking, ["ann@example.com", "cy@example.com", "max@example.com"], "{ranking:?}");
    let admin: Vec<&str> = mail.iter().filter(|e| e.to == "admin@test-homes.com").map(|e| e.subject.as_str()).collect();
    assert_eq!(admin, ["quotad: 1 quota-memo occurrence(s) missed"]);
    assert_eq!(mail.len(), 4);
}

#[test]
fn a_memo_held_by_a_quarantined_export_waits_and_runs_once_the_fixed_export_arrives() {
    // Issue 15.1 through the daemon: October's export has a typo'd stage and is
    // quarantined; the November memo waits (the admin is told once) and goes out on
    // October's figures as soon as the fixed export is imported.
    let env = Env::new(&config(
        "admin = \"Ops Admin <admin@test-homes.com>\"\n[schedule]\nheartbeat_seconds = 1\nrescan_seconds = 1\nsettle_seconds = 1\n[schedule.one_on_one]\nenabled = false\n[schedule.weekly_ranking]\nenabled = false\n",
    ));
    env.put("roster.csv", crate::harness::ROSTER);
    env.put("quotas.csv", "Rep Email,Month,Revenue Quota\nann@example.com,2026-10,400000\nbob@example.com,2026-10,250000\ncy@example.com,2026-10,300000\nann@example.com,2026-11,410000\nbob@example.com,2026-11,260000\ncy@example.com,2026-11,310000\n");
    let october = |stage: &str| {
        format!(
            "Deal ID,Rep Email,Stage,Close Date,Sale Price\nO1,ann@example.com,Closed Won,2026-10-05,350000\nO2,bob@example.com,{stage},2026-10-08,150000\n"
        )
    };
    env.put("deals-2026-10.csv", october("Closed Wn"));
    assert_eq!(env.quotad(&["--now", "2026-11-01T12:00:00Z", "import"]).code, 1);
    let d = Daemon::start(&env, "serve", &["--now", "2026-11-01T12:59:50Z", "serve", "--speed", "60"], &[]);
    d.wait_out(
        "quota-memo 2026-11-01 07:00 CST (13:00 UTC): waiting: held: deals-2026-10.csv [deals] was quarantined",
        Duration::from_secs(20),
    );
    assert!(env.emails().is_empty());
    env.put("deals-2026-10.csv", october("Closed Won"));
    d.wait_out(
        "quota-memo 2026-11-01 07:00 CST (13:00 UTC): succeeded: quota memo 2026-11: 3 rep memo(s)",
        Duration::from_secs(30),
    );
    assert_eq!(d.term().0, 0);
    let r = runs(&env, "quota-memo");
    assert_eq!((r.len(), r[0].1), (1, RunState::Succeeded));
    let mail = env.all_emails();
    let admin: Vec<&str> = mail.iter().filter(|e| e.to == "admin@test-homes.com").map(|e| e.subject.as_str()).collect();
    assert_eq!(
        admin,
        ["quotad quarantined deals-2026-10.csv", "quotad: quota-memo for 2026-11 held by a quarantined file"],
        "{:?}",
        env.files_in("outbox")
    );
    assert_eq!(env.emails().len(), 3);
    assert_eq!(
        crate::harness::line_value(&env.email_to("bob@example.com").text, "Revenue"),
        "$150,000 against a quota of $250,000"
    );
}

#[test]
fn a_daemon_frozen_for_several_heartbeats_goes_on_beating_after() {
    // A suspended host or a starved machine: the daemon gets no CPU for three heartbeats.
    // tokio-cron-scheduler 0.15.1's repeated job, the heartbeat before, never fired again
    // after a tick came late by more than an interval: the calendar stopped for good.
    let env = Env::new(&config(
        "[schedule]\nheartbeat_seconds = 1\n[schedule.quota_memo]\nenabled = false\n[schedule.weekly_ranking]\nenabled = false\n[schedule.one_on_one]\nenabled = false\n",
    ));
    let mut d = Daemon::start(&env, "serve", &["serve"], &[]);
    d.wait_heartbeats(2);
    let pid = d.child.id().to_string();
    let kill = |sig: &str| {
        let sent = std::process::Command::new("sh").args(["-c", &format!("kill -{sig} {pid}")]).status().unwrap();
        assert!(sent.success(), "kill -{sig}");
    };
    kill("STOP");
    std::thread::sleep(Duration::from_millis(3500)); // the freeze itself, not a wait for an event
    kill("CONT");
    d.wait_heartbeats(3);
    assert_eq!(d.term().0, 0);
}
