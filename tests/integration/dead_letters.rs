//! Dead letters and the state lock end to end (issue 16.10, issue 26.8): the real
//! `quotad` binary, a real SMTP server on 127.0.0.1 (tests/smtp_sink.py) that refuses
//! some recipients for good with a 550 and is then replaced by one that accepts them,
//! and the outbox ledger read straight from the SQLite file.
//!
//! The data: Ann and Bob (North, manager Mia), Cy (South, manager Max); March 2026
//! deals, quotas for March and April. With Cy and Max refused, hand-counted:
//! - quota memo April 2026: rep memos Ann, Bob (sent), Cy (dead); team memos Mia
//!   (sent), Max (dead): 2 dead;
//! - weekly ranking 2026-W11: North's edition (Ann, Bob, Mia: sent), South's (Cy, Max:
//!   dead), the full ranking (Mia, Max and the admin: Max refused, so dead): 2 dead;
//! - 1:1 prep sheets for March: Mia's pack (sent), Max's (dead): 1 dead.
//!
//! 5 dead letters in all, and ONE notice to the admin.

use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::harness::{Env, ROSTER, config};
use crate::smtp_server::{Certs, PASSWORD_ENV, SmtpSink, free_port, password, smtp_config};

const QUOTAS: &str = "Rep Email,Month,Revenue Quota
ann@example.com,2026-03,400000
bob@example.com,2026-03,250000
cy@example.com,2026-03,300000
ann@example.com,2026-04,400000
bob@example.com,2026-04,250000
cy@example.com,2026-04,300000
";
const DEALS: &str = "Deal ID,Rep Email,Stage,Close Date,Sale Price
D1,ann@example.com,Closed Won,2026-03-02,300000
D2,bob@example.com,Closed Won,2026-03-05,250000
D3,cy@example.com,Closed Won,2026-03-03,200000
";
const ADMIN: &str = "admin@test-homes.com";
const NOW: &str = "2026-04-01T13:00:00Z";

/// The five dead letters of `run all` with Cy and Max refused, in ledger order.
const FIVE: [&str; 5] = [
    "one-on-one/2026-03/max@example.com/pack",
    "quota-memo/2026-04/cy@example.com/rep-memo",
    "quota-memo/2026-04/max@example.com/team-memo",
    "weekly-ranking/2026-W11/list:full/full-ranking",
    "weekly-ranking/2026-W11/team:south/team-edition",
];

fn env(port: u16, sink: &SmtpSink, mail_extra: &str) -> Env {
    let mail = format!("admin = \"Ops Admin <{ADMIN}>\"\n{mail_extra}");
    let env = Env::new(&config(&smtp_config(port, sink.cert(), "starttls", &mail, "")));
    env.put("roster.csv", ROSTER);
    env.put("quotas.csv", QUOTAS);
    env.put("deals.csv", DEALS);
    env
}

fn sink(port: u16, certs: &Rc<Certs>, pw: &str, extra: &[&str]) -> SmtpSink {
    SmtpSink::start_with(port, certs.clone(), "starttls", pw, extra)
}

/// The messages the sink got for the admin.
fn notices(sink: &SmtpSink) -> Vec<crate::smtp_server::Received> {
    sink.received().into_iter().filter(|r| r.rcpt_tos == [ADMIN]).collect()
}

/// The ledger as the SQLite file has it: (key, state, attempts), key order.
fn ledger(env: &Env) -> Vec<(String, String, i64)> {
    let conn = rusqlite::Connection::open(env.path("quotad.sqlite")).unwrap();
    let mut st = conn.prepare("SELECT idempotency_key, state, attempts FROM outbox ORDER BY idempotency_key").unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(|r| r.unwrap()).collect()
}

/// Every column of every outbox row, as text: proof that nothing in the ledger moved.
fn ledger_dump(env: &Env) -> Vec<String> {
    let conn = rusqlite::Connection::open(env.path("quotad.sqlite")).unwrap();
    let mut st = conn
        .prepare(
            "SELECT idempotency_key || '|' || state || '|' || attempts || '|' || COALESCE(next_attempt_at, '') || '|' ||
                    COALESCE(last_error, '') || '|' || COALESCE(notified_at, '') || '|' || COALESCE(sending_at, '')
             FROM outbox ORDER BY idempotency_key",
        )
        .unwrap();
    let mut rows: Vec<String> = st.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect();
    let mut st = conn
        .prepare("SELECT idempotency_key || '|' || address || '|' || state || '|' || attempts FROM outbox_recipients ORDER BY 1")
        .unwrap();
    rows.extend(st.query_map([], |r| r.get::<_, String>(0)).unwrap().map(|r| r.unwrap()));
    rows
}

fn keys_in(env: &Env, state: &str) -> Vec<String> {
    ledger(env).into_iter().filter(|(k, s, _)| s == state && !k.starts_with("dead-letters/")).map(|r| r.0).collect()
}

/// The numbers N of the lines "N dead letter(s): failed for good …", in order.
fn dead_counts(stdout: &str) -> Vec<usize> {
    stdout
        .lines()
        .filter_map(|l| l.trim().strip_suffix(" dead letter(s): failed for good, not tried again; `quotad outbox retry` sends them again once the cause is fixed"))
        .map(|n| n.parse().unwrap())
        .collect()
}

#[test]
fn run_all_counts_its_dead_letters_tells_the_admin_once_and_a_retry_delivers_them() {
    let pw = password();
    let (port, certs) = (free_port(), Rc::new(Certs::new()));
    let refusing = sink(port, &certs, &pw, &["--reject-rcpt", "cy@example.com", "--reject-rcpt", "max@example.com"]);
    let env = env(port, &refusing, "");
    let vars = [(PASSWORD_ENV, pw.as_str())];

    let run = env.quotad_env(&["--now", NOW, "run", "all"], &vars);
    assert_eq!(run.code, 1, "a message died: {run:?}");
    // Each job counts its own dead letters and says how to send them again.
    assert_eq!(dead_counts(&run.stdout), [2, 2, 1], "{}", run.stdout);
    let smtp = format!("SMTP 127.0.0.1:{port} (STARTTLS)");
    for line in [
        format!("  2 rep memo(s) and 1 manager memo(s) sent through {smtp}, 0 correction(s)"),
        format!("  1 message(s) sent through {smtp}, 2 dead letter(s), 0 already sent earlier"),
        format!("  1 message(s) sent through {smtp}, 1 dead letter(s), 0 already sent earlier"),
        format!("5 dead letter(s) reported to {ADMIN} (one notice)"),
    ] {
        assert!(run.stdout.contains(&line), "{line}\n{}", run.stdout);
    }
    for key in FIVE {
        assert!(run.stdout.contains(&format!("  DEAD LETTER {key}: ")), "{key}\n{}", run.stdout);
    }
    // One notice for the run (three jobs delivered), listing the five.
    let told = notices(&refusing);
    assert_eq!(told.len(), 1, "{:?}", told.iter().map(|n| &n.email.subject).collect::<Vec<_>>());
    assert_eq!(told[0].email.subject, "quotad: 5 messages could not be delivered");
    for key in FIVE {
        assert!(told[0].email.text.contains(&format!("Key         {key}")), "{key}\n{}", told[0].email.text);
    }
    // Accepted: Ann's, Bob's and Mia's memos, North's edition, the full ranking (for
    // its two other recipients), Mia's pack, the notice.
    assert_eq!(refusing.count(), 7);
    assert_eq!(keys_in(&env, "dead"), FIVE);

    // The same run again sends nothing and says where the dead letters are.
    let again = env.quotad_env(&["--now", NOW, "run", "all"], &vars);
    assert_eq!(again.code, 0, "{again:?}");
    let left_alone: Vec<&str> =
        again.stdout.lines().filter(|l| l.contains("dead letter(s) from an earlier run left alone")).collect();
    assert_eq!(left_alone.len(), 3, "{}", again.stdout);
    for (line, n) in left_alone.iter().zip([2, 2, 1]) {
        assert!(line.trim_start().starts_with(&format!("{n} dead letter(s) from an earlier run")), "{line}");
    }
    assert_eq!(refusing.count(), 7, "nothing sent again, no second notice");

    // The cause fixed (a server that accepts them): the retry delivers all five.
    drop(refusing);
    let accepting = sink(port, &certs, &pw, &[]);
    let retry = env.quotad_env(&["outbox", "retry"], &vars);
    assert_eq!(retry.code, 0, "{retry:?}");
    assert!(
        retry.stdout.contains("Retry: 5 message(s) requeued: 5 delivered, 0 dead again, 0 still waiting"),
        "{}",
        retry.stdout
    );
    assert!(!retry.stdout.contains("DEAD LETTER"), "{}", retry.stdout);
    // Cy's memo, Max's memo, the full ranking to Max only, South's edition, Max's pack.
    assert_eq!(accepting.count(), 5);
    assert!(notices(&accepting).is_empty(), "nothing died: no notice");
    assert!(keys_in(&env, "dead").is_empty());
    // 5 memos, 3 ranking messages, 2 packs.
    assert_eq!(keys_in(&env, "sent").len(), 10, "{:?}", ledger(&env));
}

#[test]
fn a_retry_that_dies_again_exits_1_and_a_stale_notice_is_rewritten_to_the_truth() {
    let pw = password();
    let (port, certs) = (free_port(), Rc::new(Certs::new()));
    // Cy and Max refused for good; the admin's server defers the notice once, and with
    // one attempt allowed the notice is left unsent (dead) beside its two letters.
    let first = sink(
        port,
        &certs,
        &pw,
        &["--reject-rcpt", "cy@example.com", "--reject-rcpt", "max@example.com", "--defer-rcpt", ADMIN],
    );
    let env = env(port, &first, "max_attempts = 1");
    let vars = [(PASSWORD_ENV, pw.as_str())];
    assert_eq!(env.quotad(&["import"]).code, 0);
    let run = env.quotad_env(&["run", "quota-memo", "--period", "2026-04"], &vars);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(dead_counts(&run.stdout), [2], "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!("2 dead letter(s) to report to {ADMIN}, but the notice was not delivered")),
        "{}",
        run.stdout
    );
    assert!(notices(&first).is_empty());
    let notice: Vec<String> =
        ledger(&env).into_iter().filter(|(k, _, _)| k.starts_with("dead-letters/")).map(|r| r.0).collect();
    assert_eq!(notice.len(), 1, "{:?}", ledger(&env));
    let notice = &notice[0];
    let (cy, max) = ("quota-memo/2026-04/cy@example.com/rep-memo", "quota-memo/2026-04/max@example.com/team-memo");

    // Cy's mailbox is fixed, Max's is not. Retrying Cy's memo and the notice: the
    // notice goes out saying what is still true — Max's memo only.
    drop(first);
    let second = sink(port, &certs, &pw, &["--reject-rcpt", "max@example.com"]);
    let retry = env.quotad_env(&["outbox", "retry", cy, notice], &vars);
    assert_eq!(retry.code, 0, "{retry:?}");
    assert!(
        retry.stdout.contains("Retry: 2 message(s) requeued: 2 delivered, 0 dead again, 0 still waiting"),
        "{}",
        retry.stdout
    );
    let told = notices(&second);
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].email.subject, "quotad: 1 message could not be delivered");
    assert!(told[0].email.text.contains(&format!("Key         {max}")), "{}", told[0].email.text);
    assert!(!told[0].email.text.contains(cy), "Cy's memo was delivered: {}", told[0].email.text);

    // Max's memo retried and refused again: counted, exit 1, one new notice.
    let retry = env.quotad_env(&["outbox", "retry"], &vars);
    assert_eq!(retry.code, 1, "{retry:?}");
    assert!(
        retry.stdout.contains("Retry: 1 message(s) requeued: 0 delivered, 1 dead again, 0 still waiting"),
        "{}",
        retry.stdout
    );
    assert_eq!(dead_counts(&retry.stdout), [1], "{}", retry.stdout);
    assert!(retry.stdout.contains(&format!("1 dead letter(s) reported to {ADMIN} (one notice)")), "{}", retry.stdout);
    assert_eq!(notices(&second).len(), 2);
    assert_eq!(keys_in(&env, "dead"), [max]);
    let rows = ledger(&env);
    assert!(rows.contains(&(cy.to_string(), "sent".to_string(), 1)), "{rows:?}");
    assert!(rows.contains(&(max.to_string(), "dead".to_string(), 1)), "attempts reset by the retry: {rows:?}");
}

#[test]
fn a_notice_whose_letters_were_all_delivered_since_is_withdrawn_not_sent() {
    let pw = password();
    let (port, certs) = (free_port(), Rc::new(Certs::new()));
    let first = sink(port, &certs, &pw, &["--reject-rcpt", "cy@example.com", "--defer-rcpt", ADMIN]);
    let env = env(port, &first, "max_attempts = 1");
    let vars = [(PASSWORD_ENV, pw.as_str())];
    assert_eq!(env.quotad(&["import"]).code, 0);
    assert_eq!(env.quotad_env(&["run", "quota-memo", "--period", "2026-04"], &vars).code, 1);
    assert_eq!(ledger(&env).iter().filter(|(k, _, _)| k.starts_with("dead-letters/")).count(), 1);

    drop(first);
    let second = sink(port, &certs, &pw, &[]);
    let retry = env.quotad_env(&["outbox", "retry"], &vars);
    assert_eq!(retry.code, 0, "{retry:?}");
    assert!(
        retry.stdout.contains(
            "Retry: 2 message(s) requeued: 1 delivered, 0 dead again, 0 still waiting, 1 stale dead-letter notice(s) withdrawn"
        ),
        "{}",
        retry.stdout
    );
    assert_eq!(second.count(), 1, "Cy's memo only");
    assert!(notices(&second).is_empty(), "no notice about a message that was delivered");
    assert_eq!(ledger(&env).iter().filter(|(k, _, _)| k.starts_with("dead-letters/")).count(), 0);
    assert!(keys_in(&env, "dead").is_empty());
}

fn wait_for(what: &str, limit: Duration, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "waited {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_retry_while_a_run_delivers_is_refused_naming_it_before_the_ledger_moves() {
    let pw = password();
    let (port, certs) = (free_port(), Rc::new(Certs::new()));
    // Cy refused for good; the reply to RCPT TO:<mia@…> (her team memo, queued after the
    // rep memos) held for 8 s, so the run is mid-delivery with Cy's memo dead.
    let held = sink(
        port,
        &certs,
        &pw,
        &["--reject-rcpt", "cy@example.com", "--hold-rcpt", "mia@example.com", "--hold-seconds", "8"],
    );
    let env = env(port, &held, "");
    let vars = [(PASSWORD_ENV, pw.as_str())];
    assert_eq!(env.quotad(&["import"]).code, 0);
    let mut run = env.spawn("run", &["run", "quota-memo", "--period", "2026-04"], &vars);
    wait_for("the sink to hold Mia's RCPT", Duration::from_secs(30), || held.holding("rcpt"));
    let before = ledger_dump(&env);
    assert!(before.iter().any(|r| r.starts_with("quota-memo/2026-04/cy@example.com/rep-memo|dead|1|")), "{before:?}");
    assert!(
        before.iter().any(|r| r.starts_with("quota-memo/2026-04/mia@example.com/team-memo|sending|")),
        "{before:?}"
    );

    // A second process: refused, naming the first by pid and command; nothing moved.
    let retry = env.quotad_env(&["outbox", "retry"], &vars);
    assert_eq!(retry.code, 1, "{retry:?}");
    let pid = run.id();
    assert!(
        retry.stderr.contains(&format!("another quotad (pid {pid}, `quotad run`) is working on")),
        "{}",
        retry.stderr
    );
    assert!(retry.stderr.contains("quotad.sqlite.lock"), "{}", retry.stderr);
    assert_eq!(ledger_dump(&env), before, "the refused retry changed the ledger");
    // The read-only commands work beside it.
    let status = env.quotad(&["status"]);
    assert_eq!(status.code, 0, "{status:?}");
    assert!(status.stdout.contains("1 sending"), "{}", status.stdout);
    assert_eq!(env.quotad(&["outbox", "list", "--state", "dead"]).code, 0);

    let start = Instant::now();
    let code = loop {
        if let Some(s) = run.try_wait().unwrap() {
            break s.code().unwrap_or(-1);
        }
        assert!(start.elapsed() < Duration::from_secs(60), "the run did not finish");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(code, 1, "Cy's memo died");
    // One lock file, no second mechanism beside it.
    assert!(env.path("quotad.sqlite.lock").exists());
    assert!(!env.path("quotad.deliver-lock").exists());
    let memos = held.received().into_iter().filter(|r| r.rcpt_tos != [ADMIN]).count();
    assert_eq!(memos, 4, "Ann's, Bob's, Mia's and Max's memos, each once");
    assert_eq!(notices(&held).len(), 1);
    // Now the retry runs (and Cy is still refused: it dies again).
    let retry = env.quotad_env(&["outbox", "retry"], &vars);
    assert_eq!(retry.code, 1, "{retry:?}");
    assert!(retry.stdout.contains("Retry: 1 message(s) requeued: 0 delivered, 1 dead again"), "{}", retry.stdout);
}

#[test]
fn check_inbox_exits_1_only_when_a_file_would_be_quarantined() {
    // max_rejected_fraction = 0: one bad close date quarantines the file.
    let env = Env::new(&config("[ingest]\nmax_rejected_fraction = 0\n"));
    env.put(
        "deals.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\nD1,ann@example.com,Closed Won,2026-03-02,100\n",
    );
    let clean = env.quotad(&["check", "--inbox"]);
    assert_eq!(clean.code, 0, "{clean:?}");
    assert!(!clean.stdout.contains("would be QUARANTINED"), "{}", clean.stdout);
    env.put(
        "deals.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\nD1,ann@example.com,Closed Won,2026-03-02,100\nD2,ann@example.com,Closed Won,someday,200\n",
    );
    let bad = env.quotad(&["check", "--inbox"]);
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(
        bad.stdout.contains(
            "2 data row(s), 1 rejected, 1 record(s) to store; would be QUARANTINED: more than ingest.max_rejected_fraction = 0 of the rows are bad"
        ),
        "{}",
        bad.stdout
    );
}

#[test]
fn serve_reports_a_runs_dead_letters_in_one_notice_once_its_retries_are_done_and_keeps_retry_out() {
    let pw = password();
    let (port, certs) = (free_port(), Rc::new(Certs::new()));
    // Cy and Max refused for good; Bob deferred once (450), retried 2 s later.
    let s = sink(
        port,
        &certs,
        &pw,
        &["--reject-rcpt", "cy@example.com", "--reject-rcpt", "max@example.com", "--defer-rcpt", "bob@example.com"],
    );
    let env = env(port, &s, "retry_initial_seconds = 2");
    let cfg = std::fs::read_to_string(env.path("quotad.toml")).unwrap();
    let cfg = format!("{cfg}\n[schedule]\nheartbeat_seconds = 1\nrescan_seconds = 1\nsettle_seconds = 1\n");
    std::fs::write(env.path("quotad.toml"), cfg).unwrap();
    let vars = [(PASSWORD_ENV, pw.as_str())];
    // The quota memo's occurrence is 07:00 Chicago (12:00 UTC) on 1 April: 10 s away.
    let out = env.path("serve.out");
    let mut serve = env.spawn("serve", &["--now", "2026-04-01T11:59:50Z", "serve"], &vars);
    let log = || std::fs::read_to_string(&out).unwrap_or_default();
    wait_for("the dead letters' notice", Duration::from_secs(90), || log().contains("dead letter(s) reported to"));
    let log = log();
    // The run's line counts what died when it ran (Bob was still waiting then).
    assert!(
        log.contains("quota memo 2026-04: 1 rep memo(s) and 1 manager memo(s) delivered, 0 already sent earlier; 0 could not be built, 2 dead letter(s) (`quotad outbox retry` sends them again once the cause is fixed); 1 message(s) wait in the outbox for a retry"),
        "{log}"
    );
    assert!(log.contains(&format!("outbox: 2 dead letter(s) reported to {ADMIN} (one notice)")), "{log}");
    // ONE notice, after Bob's retry went (not one at the run and another later).
    let told = notices(&s);
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].email.subject, "quotad: 2 messages could not be delivered");
    let bob = s.received().into_iter().position(|r| r.rcpt_tos == ["bob@example.com"]).expect("Bob's memo");
    let notice = s.received().into_iter().position(|r| r.rcpt_tos == [ADMIN]).unwrap();
    assert!(bob < notice, "the notice waited for the retry");

    // Beside the daemon: a retry is refused naming it, before the ledger moves; the
    // read-only commands work.
    let before = ledger_dump(&env);
    let retry = env.quotad_env(&["outbox", "retry"], &vars);
    assert_eq!(retry.code, 1, "{retry:?}");
    let pid = serve.id();
    assert!(retry.stderr.contains(&format!("`quotad serve` (pid {pid}) is running on")), "{}", retry.stderr);
    assert!(retry.stderr.contains("to send dead letters again (it retries failed messages itself"), "{}", retry.stderr);
    assert_eq!(ledger_dump(&env), before);
    let status = env.quotad(&["status"]);
    assert_eq!(status.code, 0, "{status:?}");
    assert!(status.stdout.contains("dead letters (2; `quotad outbox retry` sends them again)"), "{}", status.stdout);
    let _ = serve.kill();
    let _ = serve.wait();
}

#[test]
fn twenty_one_memos_refused_are_counted_listed_ten_and_reported_in_one_notice() {
    let pw = password();
    let (port, certs) = (free_port(), Rc::new(Certs::new()));
    // The sink refuses every address starting "reject-" with a 550: 21 reps, all North
    // under Mia (accepted).
    let s = sink(port, &certs, &pw, &[]);
    let env = env(port, &s, "");
    let mut roster = String::from("Rep ID,Name,Email,Team,Manager,Manager Email,Hire Date,Status\n");
    let mut quotas = String::from("Rep Email,Month,Revenue Quota\n");
    for i in 1..=21 {
        roster.push_str(&format!(
            "R{i},Rep {i:02},reject-r{i:02}@example.com,North,Mia Boss,mia@example.com,2020-01-06,Active\n"
        ));
        quotas.push_str(&format!("reject-r{i:02}@example.com,2026-03,1000\nreject-r{i:02}@example.com,2026-04,1000\n"));
    }
    env.put("roster.csv", roster);
    env.put("quotas.csv", quotas);
    env.put(
        "deals.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\nD1,reject-r01@example.com,Closed Won,2026-03-02,500\n",
    );
    let vars = [(PASSWORD_ENV, pw.as_str())];
    assert_eq!(env.quotad(&["import"]).code, 0);
    let run = env.quotad_env(&["run", "quota-memo", "--period", "2026-04"], &vars);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("  0 rep memo(s) and 1 manager memo(s) sent through SMTP"), "{}", run.stdout);
    assert_eq!(dead_counts(&run.stdout), [21], "{}", run.stdout);
    assert_eq!(run.stdout.matches("  DEAD LETTER quota-memo/2026-04/reject-r").count(), 10, "{}", run.stdout);
    assert!(
        run.stdout.contains("  DEAD LETTER quota-memo/2026-04/reject-r10@example.com/rep-memo: "),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("reject-r11@example.com/rep-memo: "), "{}", run.stdout);
    assert!(run.stdout.contains("  … and 11 more: `quotad outbox list --state dead`"), "{}", run.stdout);
    assert!(run.stdout.contains(&format!("21 dead letter(s) reported to {ADMIN} (one notice)")), "{}", run.stdout);
    let told = notices(&s);
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].email.subject, "quotad: 21 messages could not be delivered");
    assert_eq!(keys_in(&env, "dead").len(), 21);

    let again = env.quotad_env(&["run", "quota-memo", "--period", "2026-04"], &vars);
    assert_eq!(again.code, 0, "nothing died this time: {again:?}");
    assert!(
        again
            .stdout
            .contains("  21 dead letter(s) from an earlier run left alone (`quotad outbox retry` sends them again)"),
        "{}",
        again.stdout
    );
    assert_eq!(notices(&s).len(), 1, "not told twice");
}
