//! Several `quotad serve` instances on one PostgreSQL state (issue 24 part C): three
//! instances on a fresh database and a real SMTP server, one accelerated clock they all
//! read (`--now T --clock-epoch E --speed S`); the instance holding the sending claim
//! is SIGKILLed at random points 10 times, and restarted each time. Every occurrence
//! ran once (runs ledger), every message was received once, or twice with the same
//! Message-ID when a kill fell inside the documented window (a message handed to the
//! server whose `sent` was not yet recorded), and none was lost. Needs the test server
//! (pg_db.rs) and the SMTP sink (smtp_server.rs).

use std::collections::HashMap;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use super::harness::*;
use super::pg_db::TestDb;
use super::smtp_server::{PASSWORD_ENV, SmtpSink, password, smtp_config};

/// The shipped config on a copy of the sample inbox, its state on `url`, its mail to
/// `sink` at most `per_minute` messages a minute, a 1 s heartbeat and a 3 s lease.
fn sample_on(url: &str, sink: &SmtpSink, per_minute: u32) -> Env {
    let env = Env::sample();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sample-inbox");
    for e in std::fs::read_dir(&root).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), env.path("inbox").join(e.file_name())).unwrap();
    }
    let mut cfg = std::fs::read_to_string(env.path("quotad.toml")).unwrap();
    for (a, b) in [
        (format!("inbox = {:?}", root.display().to_string()), "inbox = \"inbox\"".to_string()),
        ("state = \"var/quotad.sqlite\"".into(), format!("state = {url:?}")),
        ("heartbeat_seconds = 15".into(), "heartbeat_seconds = 1\nlease_seconds = 3".into()),
        ("settle_seconds = 5".into(), "settle_seconds = 1".into()),
    ] {
        assert!(cfg.contains(&a), "{a}");
        cfg = cfg.replace(&a, &b);
    }
    let transport = cfg.lines().find(|l| l.starts_with("transport = \"file\"")).unwrap().to_string();
    let smtp = smtp_config(sink.port, sink.cert(), "starttls", "", &format!("max_per_minute = {per_minute}"));
    std::fs::write(env.path("quotad.toml"), format!("{}{smtp}", cfg.replace(&transport, ""))).unwrap();
    env
}

/// A small deterministic generator (the seed is printed): xorshift64.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The first column of a query's rows; none while the schema is not there yet (the
/// instances are starting).
fn sql<T: for<'a> postgres::types::FromSql<'a>>(c: &mut postgres::Client, q: &str) -> Vec<T> {
    c.query(q, &[]).map(|rows| rows.iter().map(|r| r.get(0)).collect()).unwrap_or_default()
}

#[test]
fn three_instances_one_killed_ten_times_while_sending_run_each_occurrence_once_and_lose_no_message() {
    let Some(db) = TestDb::fresh() else { return };
    let pw = password();
    let sink = SmtpSink::start("starttls", &pw);
    // 20 messages a minute: sending the ~30 messages takes a minute and a half, time to kill.
    let env = sample_on(&db.url, &sink, 20);
    let vars = [(PASSWORD_ENV, pw.as_str())];
    // 1 Nov 11:00 UTC (05:00 CST), an hour a second: the quota memo (1st 07:00), the
    // weekly ranking (Monday 2nd 08:00) and the one-on-ones (3rd 07:00) within ~50 s.
    let epoch = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let args = ["--now", "2026-11-01T11:00:00Z", "serve", "--speed", "3600", "--clock-epoch", &epoch];
    let mut n = 0;
    let mut spawn = |env: &Env| -> Child {
        n += 1;
        env.spawn(&format!("serve{n}"), &args, &vars)
    };
    let mut alive: Vec<Child> = (0..3).map(|_| spawn(&env)).collect();
    let mut pg: postgres::Config = db.url.parse().unwrap();
    let mut c = pg.password(std::env::var("PGPASSWORD").unwrap_or_default()).connect(postgres::NoTls).unwrap();
    let seed = chrono::Utc::now().timestamp_micros() as u64 | 1;
    println!("failover: random seed {seed}");
    let mut rng = Rng(seed);
    let mut kills = 0;
    let mut takeovers: Vec<Duration> = Vec::new();
    let start = Instant::now();
    while kills < 10 && start.elapsed() < Duration::from_secs(200) {
        // The instance holding a sending claim (an outbox row claimed or being sent).
        let held: Vec<i64> = sql(
            &mut c,
            "SELECT pid FROM instances i WHERE stopped_at IS NULL AND EXISTS (SELECT 1 FROM outbox o WHERE o.holder = i.id)",
        );
        let Some(&pid) = held.first() else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        // At a random point of its sending: 0 to 1.5 s later.
        std::thread::sleep(Duration::from_millis(rng.below(1500)));
        let Some(i) = alive.iter().position(|ch| i64::from(ch.id()) == pid) else { continue };
        let mut victim = alive.remove(i);
        let ids: Vec<i64> =
            sql(&mut c, &format!("SELECT id FROM instances WHERE pid = {pid} ORDER BY id DESC LIMIT 1"));
        let _ = victim.kill(); // SIGKILL
        let _ = victim.wait();
        let killed = Instant::now();
        kills += 1;
        alive.push(spawn(&env));
        // Until another instance holds (or has finished) what the dead one held.
        let dead = ids[0];
        loop {
            let left: Vec<i64> = sql(
                &mut c,
                &format!(
                    "SELECT COUNT(*) FROM outbox WHERE holder = {dead} OR (state = 'sending' AND holder = {dead})"
                ),
            );
            let pending: Vec<i64> = sql(&mut c, "SELECT COUNT(*) FROM outbox WHERE state <> 'sent'");
            if left.first() == Some(&0) || pending.first() == Some(&0) {
                takeovers.push(killed.elapsed());
                break;
            }
            if killed.elapsed() > Duration::from_secs(60) {
                panic!("instance {dead}'s claims were not taken over within 60 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        println!(
            "failover: kill {kills} (pid {pid}, instance {dead}): taken over after {:?}",
            takeovers.last().unwrap()
        );
    }
    // Then until everything is sent and every occurrence is final.
    let done = |c: &mut postgres::Client| {
        let open: Vec<i64> = sql(c, "SELECT COUNT(*) FROM outbox WHERE state <> 'sent'");
        let runs: Vec<i64> = sql(c, "SELECT COUNT(*) FROM runs WHERE state IN ('started', 'waiting')");
        let occ: Vec<i64> = sql(c, "SELECT COUNT(*) FROM runs");
        open.first() == Some(&0) && runs.first() == Some(&0) && occ.first().is_some_and(|n| *n >= 3)
    };
    let until = Instant::now() + Duration::from_secs(120);
    while !done(&mut c) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
    for mut ch in alive {
        let _ = std::process::Command::new("kill").args(["-TERM", &ch.id().to_string()]).status();
        let _ = ch.wait();
    }
    let logs: String =
        (1..=13).map(|i| std::fs::read_to_string(env.path(&format!("serve{i}.out"))).unwrap_or_default()).collect();
    assert_eq!(kills, 10, "only {kills} kills: the sending ended first\n{logs}");
    assert!(done(&mut c), "not finished\n{logs}");

    // Each occurrence ran once: one row each, final, none failed.
    let runs: Vec<String> =
        sql(&mut c, "SELECT job || ' ' || occurrence || ' ' || state FROM runs ORDER BY occurrence, job");
    println!("failover: runs {runs:?}");
    for job in [
        "quota-memo 2026-11-01T13:00:00.000Z",
        "weekly-ranking 2026-11-02T14:00:00.000Z",
        "one-on-one 2026-11-03T13:00:00.000Z",
    ] {
        assert_eq!(runs.iter().filter(|r| r.starts_with(job)).count(), 1, "{job} in {runs:?}");
    }
    assert!(
        runs.iter().all(|r| r.ends_with(" succeeded") || r.ends_with(" skipped") || r.ends_with(" missed")),
        "{runs:?}"
    );

    // Every message received, once, or twice (same Message-ID) inside the window.
    let rows = c.query("SELECT message_id, interrupted FROM outbox WHERE job NOT LIKE 'admin%'", &[]).unwrap();
    let received = sink.received();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for r in &received {
        *by_id.entry(r.email.message_id.clone()).or_default() += 1;
    }
    let mut twice = 0;
    for r in &rows {
        let (id, interrupted): (String, i64) = (r.get(0), r.get(1));
        let id = id.trim_matches(|c| c == '<' || c == '>').to_string();
        let got = by_id.get(&id).copied().unwrap_or(0);
        assert!(got >= 1, "message {id} lost\n{logs}");
        assert!(got <= 1 + interrupted as usize, "message {id} received {got} times, interrupted {interrupted}");
        twice += (got > 1) as usize;
    }
    let mean = takeovers.iter().sum::<Duration>() / takeovers.len().max(1) as u32;
    let worst = takeovers.iter().max().copied().unwrap_or_default();
    println!(
        "failover: {} messages, {} received ({twice} twice with the same Message-ID, inside the window); takeover after a SIGKILL: mean {:.2} s, worst {:.2} s (lease 3 s, heartbeat 1 s)",
        rows.len(),
        received.len(),
        mean.as_secs_f64(),
        worst.as_secs_f64()
    );
    assert!(rows.len() >= 29, "{} messages", rows.len());
}
