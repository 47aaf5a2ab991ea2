//! The approval step (`[quota_memo.approval]`, issue 23): memos held until an approver
//! approves the digest's token; nothing reaches a rep before; a stale approval refused;
//! held messages untouched by `outbox retry` and by the daemon's delivery; the digest's
//! figures checked by hand.
//!
//! The fixture (America/Chicago), worked out by hand:
//!
//! | rep | team | Oct quota (units) | Nov quota (units) | roster |
//! | --- | --- | ---: | ---: | --- |
//! | Ann Archer | North (Mia) | 100,000 (2) | 100,000 (2) | active |
//! | Bob Baker | North (Mia) | 200,000 (3) | 250,000 (3): +25.0% | active |
//! | Cy Cole | South (Max) | 150,000 (2) | 160,000 (2): +6.7% | active |
//! | Dee Diaz | South (Max) | 80,000 (1) | 120,000 (2): +50.0% | hired 15 Oct (new) |
//! | Eve Evans | North (Mia) | 50,000 (1) | – | inactive from 1 Nov (leaver) |
//! | Fay Ford | South (Max) | 70,000 (1) | none | active, no quota |
//!
//! November: North 350,000 (5 units, 2 reps), South 280,000 (4 units, 3 reps), company
//! 630,000 (9 units, 5 reps). October (reps active at its end): North 350,000 (6 units:
//! Ann, Bob, Eve), South 300,000 (4 units: Cy, Dee, Fay), company 650,000 (10 units).
//! Changes: North 0.0%, South −20,000/300,000 = −6.7%, company −20,000/650,000 = −3.1%.
//! Moves over 10%: Dee +50.0%, Bob +25.0% (Cy's 6.7% is not). Held: 5 rep memos + 2
//! manager memos (Mia, Max) = 7.

use std::time::{Duration, Instant};

use crate::harness::{Env, config, parse_email};
use crate::smtp_server::{PASSWORD_ENV, SmtpSink, password, smtp_config};

const ROSTER_OCT: &str = "Rep ID,Name,Email,Team,Manager,Manager Email,Hire Date,Status
R1,Ann Archer,ann@example.com,North,Mia Boss,mia@example.com,2020-01-06,Active
R2,Bob Baker,bob@example.com,North,Mia Boss,mia@example.com,2021-02-01,Active
R3,Cy Cole,cy@example.com,South,Max Chief,max@example.com,2019-05-20,Active
R5,Eve Evans,eve@example.com,North,Mia Boss,mia@example.com,2018-03-01,Active
R6,Fay Ford,fay@example.com,South,Max Chief,max@example.com,2022-07-01,Active
";

const ROSTER_NOV: &str = "Rep ID,Name,Email,Team,Manager,Manager Email,Hire Date,Status
R1,Ann Archer,ann@example.com,North,Mia Boss,mia@example.com,2020-01-06,Active
R2,Bob Baker,bob@example.com,North,Mia Boss,mia@example.com,2021-02-01,Active
R3,Cy Cole,cy@example.com,South,Max Chief,max@example.com,2019-05-20,Active
R4,Dee Diaz,dee@example.com,South,Max Chief,max@example.com,2026-10-15,Active
R5,Eve Evans,eve@example.com,North,Mia Boss,mia@example.com,2018-03-01,Inactive
R6,Fay Ford,fay@example.com,South,Max Chief,max@example.com,2022-07-01,Active
";

const QUOTAS: &str = "Rep Email,Month,Revenue Quota,Units Quota
ann@example.com,2026-10,100000,2
bob@example.com,2026-10,200000,3
cy@example.com,2026-10,150000,2
dee@example.com,2026-10,80000,1
eve@example.com,2026-10,50000,1
fay@example.com,2026-10,70000,1
ann@example.com,2026-11,100000,2
bob@example.com,2026-11,250000,3
cy@example.com,2026-11,160000,2
dee@example.com,2026-11,120000,2
";

const DEALS: &str = "Deal ID,Rep Email,Stage,Close Date,Sale Price
D1,ann@example.com,Closed Won,2026-10-05,120000
D2,bob@example.com,Closed Won,2026-10-12,150000
D3,cy@example.com,Closed Won,2026-10-20,90000
D4,eve@example.com,Closed Won,2026-10-21,40000
";

/// 2 November 2026, 08:00 Chicago: after October closed and its final export.
const NOV2: &str = "2026-11-02T14:00:00Z";

fn exported(env: &Env, file: &str, at: &str) {
    let f = std::fs::File::options().write(true).open(env.path(&format!("inbox/{file}"))).unwrap();
    let t: chrono::DateTime<chrono::Utc> = at.parse().unwrap();
    f.set_modified(t.into()).unwrap();
}

/// The fixture imported, with `mail` as the `[mail]` lines after `from` and `approval`
/// as the `[quota_memo.approval]` table's lines.
fn fixture(mail: &str, approval: &str) -> Env {
    let cfg = config("[schedule]\nheartbeat_seconds = 1\nrescan_seconds = 1\n").replace(
        "from = \"Sales Ops <ops@test-homes.com>\"\n",
        &format!("from = \"Sales Ops <ops@test-homes.com>\"\nadmin = \"Ops Admin <admin@test-homes.com>\"\n{mail}\n\n[quota_memo.approval]\n{approval}\n"),
    );
    let env = Env::new(&cfg);
    env.put("roster-1.csv", ROSTER_OCT);
    exported(&env, "roster-1.csv", "2026-10-01T12:00:00Z");
    assert_eq!(env.quotad(&["import", "--now", "2026-10-02T12:00:00Z"]).code, 0);
    env.put("roster-2.csv", ROSTER_NOV);
    exported(&env, "roster-2.csv", "2026-11-01T12:00:00Z");
    env.put("quotas.csv", QUOTAS);
    exported(&env, "quotas.csv", "2026-11-01T12:00:00Z");
    env.put("deals.csv", DEALS);
    exported(&env, "deals.csv", "2026-11-01T12:00:00Z");
    let run = env.quotad(&["import", "--now", NOV2]);
    assert_eq!(run.code, 0, "{run:?}");
    env
}

const APPROVER: &str = "to = [\"Sales Ops <salesops@test-homes.com>\"]\nflag_change_percent = 10";

/// The token a digest names (in its subject: "… (token 0123456789ab)").
fn token(subject: &str) -> String {
    let t = subject.rsplit("(token ").next().unwrap().trim_end_matches(')').to_string();
    assert_eq!(t.len(), 12, "{subject}");
    t
}

fn digests(env: &Env) -> Vec<crate::harness::Email> {
    env.all_emails().into_iter().filter(|e| e.file.contains("approval-digest")).collect()
}

#[test]
fn memos_are_held_until_the_digests_token_is_approved_and_then_sent_once() {
    let pw = password();
    let sink = SmtpSink::start("starttls", &pw);
    let env = fixture(&smtp_config(sink.port, sink.cert(), "starttls", "", ""), APPROVER);
    let vars = [(PASSWORD_ENV, pw.as_str())];

    let run = env.quotad_env(&["run", "quota-memo", "--period", "2026-11", "--now", NOV2], &vars);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("7 message(s) HELD for approval"), "{}", run.stdout);
    // Nothing reached a rep or manager: the sink has the one digest, to the approver.
    assert_eq!(sink.count(), 1);
    let got = sink.received();
    assert_eq!(got[0].rcpt_tos, ["salesops@test-homes.com"]);
    let digest = &got[0].email;
    let tok = token(&digest.subject);
    assert_eq!(digest.subject, format!("Approve the November 2026 quota memos: 7 messages held (token {tok})"));
    let t = &digest.text;
    for line in [
        "  Rep memos       5",
        "  Manager memos   2",
        "  North (2 reps): $350,000 (last month $350,000, 0.0%); units 5 (last month 6)",
        "  South (3 reps): $280,000 (last month $300,000, -6.7%); units 4 (last month 4)",
        "  Company (5 reps): $630,000 (last month $650,000, -3.1%); units 9 (last month 10)",
        "  New reps: Dee Diaz",
        "  Leavers: Eve Evans",
        "  Quotas that moved more than 10%: ",
        "    Dee Diaz (South): $80,000 -> $120,000 (+50.0%)",
        "    Bob Baker (South): $200,000 -> $250,000 (+25.0%)",
        "  Reps with no quota: Fay Ford",
    ] {
        let line = line.replace("Bob Baker (South)", "Bob Baker (North)");
        assert!(t.lines().any(|l| l == line), "no line '{line}' in:\n{t}");
    }
    assert!(!t.contains("Cy Cole (South): $150,000"), "a 6.7% move is under the 10% flag:\n{t}");
    assert!(t.contains(&format!("quotad approve quota-memo --period 2026-11 --token {tok}")), "{t}");
    // The CSV: a header and one row per held message (7), figures exact.
    let (_, csv) = digest.attachments.iter().find(|(n, _)| n.ends_with(".csv")).expect("CSV attached");
    let mut r = csv::Reader::from_reader(&csv[..]);
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(rows.len(), 7);
    let bob = rows.iter().find(|x| &x[3] == "bob@example.com").unwrap();
    assert_eq!((&bob[1], &bob[4], &bob[5], &bob[6], &bob[7]), ("rep-memo", "North", "250000", "3", "200000"));
    // Bob's October: 150,000 on 200,000 = 75.0%.
    assert_eq!((&bob[8], &bob[9]), ("150000", "75.0"));
    let max = rows.iter().find(|x| &x[3] == "max@example.com").unwrap();
    assert_eq!((&max[1], &max[5], &max[7]), ("team-memo", "280000", "300000"));
    // One example memo per team, as the rep will see it.
    let examples: Vec<&(String, Vec<u8>)> = digest.attachments.iter().filter(|(n, _)| n.ends_with(".eml")).collect();
    assert_eq!(examples.len(), 2, "{:?}", digest.attachments.iter().map(|a| &a.0).collect::<Vec<_>>());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.eml");
    std::fs::write(&p, &examples[0].1).unwrap();
    let ex = parse_email(&p);
    assert_eq!(ex.to, "ann@example.com", "North's first rep by name");
    assert!(ex.subject.starts_with("Your November 2026 quota: $100,000"), "{}", ex.subject);

    // `outbox retry` requeues nothing and sends nothing: held messages are not in the outbox.
    let retry = env.quotad_env(&["outbox", "retry", "--now", NOV2], &vars);
    assert!(retry.stdout.contains("Retry: 0 message(s) requeued"), "{retry:?}");
    assert_eq!(sink.count(), 1);
    // The daemon's delivery ticks send nothing either.
    daemon_ticks(&env, &vars, "2026-11-02T14:10:00Z", 3);
    assert_eq!(sink.count(), 1, "the daemon delivered a held message");
    let status = env.quotad(&["status", "--now", "2026-11-02T14:20:00Z"]);
    assert!(
        status
            .stdout
            .contains(&format!("quota-memo 2026-11 memos: 7 message(s) held since 2026-11-02 14:00 UTC, token {tok}")),
        "{}",
        status.stdout
    );

    // A wrong token is refused, naming the right one; nothing sent.
    let wrong = env
        .quotad_env(&["approve", "quota-memo", "--period", "2026-11", "--token", "0123456789ab", "--now", NOV2], &vars);
    assert_eq!(wrong.code, 1, "{wrong:?}");
    assert!(wrong.stderr.contains(&format!("have token {tok}")), "{}", wrong.stderr);
    assert_eq!(sink.count(), 1);

    // No token: nothing approved; the held run's token and the command are named.
    let none = env.quotad_env(&["approve", "quota-memo", "--period", "2026-11", "--now", NOV2], &vars);
    assert_eq!(none.code, 1, "{none:?}");
    assert!(none.stderr.contains(&format!("(7 message(s)) have token {tok}")), "{}", none.stderr);
    assert!(none.stderr.contains(&format!("--period 2026-11 --token {tok}`")), "{}", none.stderr);
    assert_eq!(sink.count(), 1);

    // The right token: exactly the 7 held messages, each once.
    let ok = env.quotad_env(
        &["approve", "quota-memo", "--period", "2026-11", "--token", &tok, "--now", "2026-11-02T15:00:00Z"],
        &vars,
    );
    assert_eq!(ok.code, 0, "{ok:?}");
    assert!(ok.stdout.contains("Approved by salesops@test-homes.com"), "{}", ok.stdout);
    assert_eq!(sink.count(), 8);
    let mut to: Vec<String> = sink.received().iter().skip(1).flat_map(|r| r.rcpt_tos.clone()).collect();
    to.sort();
    assert_eq!(
        to,
        [
            "ann@example.com",
            "bob@example.com",
            "cy@example.com",
            "dee@example.com",
            "fay@example.com",
            "max@example.com",
            "mia@example.com"
        ]
    );
    // Each memo is dated when it was approved and sent (15:00), not when it was held
    // (14:00); its Message-ID is the one the digest's example showed.
    for r in sink.received().iter().skip(1) {
        assert!(
            r.email.raw.contains("\nDate: Mon, 02 Nov 2026 15:00:00 +0000\r\n"),
            "{}",
            &r.email.raw[..600.min(r.email.raw.len())]
        );
    }
    // The ledger names the approver; approving again, or running the job again, sends nothing.
    let trail = env.store().approval_history("quota-memo", "2026-11").unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].decided_by.as_deref(), Some("salesops@test-homes.com"));
    let again = env.quotad_env(&["approve", "quota-memo", "--period", "2026-11", "--token", &tok], &vars);
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("was approved on 2026-11-02 15:00 UTC by salesops@test-homes.com"),
        "{}",
        again.stderr
    );
    let rerun = env.quotad_env(&["run", "quota-memo", "--period", "2026-11", "--now", "2026-11-02T16:00:00Z"], &vars);
    assert_eq!(rerun.code, 0, "{rerun:?}");
    assert!(!rerun.stdout.contains("HELD"), "{}", rerun.stdout);
    assert_eq!(sink.count(), 8);
}

/// Starts `quotad serve` at `now` and waits for `n` of its heartbeats (each delivers
/// whatever the outbox has due), then stops it with SIGTERM.
fn daemon_ticks(env: &Env, vars: &[(&str, &str)], now: &str, n: usize) {
    let mut child = env.spawn("serve", &["--now", now, "serve"], vars);
    let store = quotad::store::Store::open(&env.path("quotad.sqlite")).unwrap();
    let mut last = store.last_seen().unwrap();
    let start = Instant::now();
    let mut seen = 0;
    while seen < n {
        assert!(start.elapsed() < Duration::from_secs(60), "{seen} of {n} heartbeats in 60 s");
        assert!(child.try_wait().unwrap().is_none(), "quotad serve exited");
        std::thread::sleep(Duration::from_millis(20));
        let now = store.last_seen().unwrap();
        if now != last {
            last = now;
            seen += 1;
        }
    }
    let pid = child.id().to_string();
    assert!(std::process::Command::new("sh").args(["-c", &format!("kill -TERM {pid}")]).status().unwrap().success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn an_approval_of_figures_that_changed_since_the_digest_is_refused_and_a_new_digest_sent() {
    let env = fixture("", APPROVER);
    let run = env.quotad(&["run", "quota-memo", "--period", "2026-11", "--now", NOV2]);
    assert_eq!(run.code, 0, "{run:?}");
    let first = digests(&env);
    assert_eq!(first.len(), 1);
    let old = token(&first[0].subject);
    // Running the job again on the same data holds the same content: no second digest.
    let same = env.quotad(&["run", "quota-memo", "--period", "2026-11", "--now", "2026-11-02T14:30:00Z"]);
    assert!(same.stdout.contains("unchanged since the digest already sent"), "{}", same.stdout);
    assert_eq!(digests(&env).len(), 1);

    // A corrected quota file arrives: Bob's November quota is 260,000.
    env.put("quotas-2.csv", QUOTAS.replace("bob@example.com,2026-11,250000,3", "bob@example.com,2026-11,260000,3"));
    exported(&env, "quotas-2.csv", "2026-11-02T15:00:00Z");
    assert_eq!(env.quotad(&["import", "--now", "2026-11-02T15:00:00Z"]).code, 0);
    let stale =
        env.quotad(&["approve", "quota-memo", "--period", "2026-11", "--token", &old, "--now", "2026-11-02T15:10:00Z"]);
    assert_eq!(stale.code, 1, "{stale:?}");
    assert!(
        stale.stdout.contains(&format!("NOT APPROVED: the November 2026 quota memos changed since digest {old}")),
        "{}",
        stale.stdout
    );
    // Bob's memo and Mia's team memo changed.
    assert!(
        stale.stdout.contains("2 message(s) changed: bob@example.com (rep-memo), mia@example.com (team-memo)"),
        "{}",
        stale.stdout
    );
    assert!(env.emails().is_empty(), "nothing reached a rep");
    let second = digests(&env);
    assert_eq!(second.len(), 2);
    let new = second.iter().map(|d| token(&d.subject)).find(|t| *t != old).unwrap();
    let d2 = second.iter().find(|d| d.subject.contains(&new)).unwrap();
    assert!(d2.subject.starts_with("CHANGED – Approve the November 2026 quota memos"), "{}", d2.subject);
    assert!(
        d2.text.contains(&format!("THIS DIGEST REPLACES AN EARLIER ONE: the messages of digest {old} changed")),
        "{}",
        d2.text
    );
    assert!(d2.text.contains("    Bob Baker (North): $200,000 -> $260,000 (+30.0%)"), "{}", d2.text);
    // The old token stays void; the new one sends the corrected figures.
    let void = env.quotad(&["approve", "quota-memo", "--period", "2026-11", "--token", &old]);
    assert_eq!(void.code, 1);
    let ok =
        env.quotad(&["approve", "quota-memo", "--period", "2026-11", "--token", &new, "--now", "2026-11-02T15:20:00Z"]);
    assert_eq!(ok.code, 0, "{ok:?}");
    assert_eq!(env.emails().len(), 5);
    assert!(env.email_to("bob@example.com").subject.starts_with("Your November 2026 quota: $260,000"));
    let trail = env.store().approval_history("quota-memo", "2026-11").unwrap();
    let states: Vec<&str> = trail.iter().map(|r| r.state.as_str()).collect();
    assert_eq!(states, ["superseded", "approved"]);
    let audit = env.quotad(&["approvals", "--period", "2026-11"]);
    let lines: Vec<&str> = audit.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", audit.stdout);
    assert!(
        lines[0].starts_with(&format!("2026-11 memos token {old}: 7 message(s) held 2026-11-02 14:00 UTC, superseded 2026-11-02 15:10 UTC: replaced by {new} before approval: 2 message(s) changed")),
        "{}",
        audit.stdout
    );
    assert_eq!(
        lines[1],
        format!(
            "2026-11 memos token {new}: 7 message(s) held 2026-11-02 15:10 UTC, approved 2026-11-02 15:20 UTC by salesops@test-homes.com"
        )
    );
}

#[test]
fn a_rejected_run_is_never_sent_and_the_rerun_holds_the_corrected_figures() {
    let env = fixture("", "to = [\"salesops@test-homes.com\", \"vp@test-homes.com\"]");
    assert_eq!(env.quotad(&["run", "quota-memo", "--period", "2026-11", "--now", NOV2]).code, 0);
    let tok = token(&digests(&env)[0].subject);
    assert_eq!(digests(&env)[0].to, "salesops@test-homes.com");
    // Two approvers: say which one; a stranger is refused.
    let who = env.quotad(&["reject", "quota-memo", "--period", "2026-11", "--reason", "Bob's quota is wrong"]);
    assert_eq!(who.code, 1);
    assert!(who.stderr.contains("several approvers are configured"), "{}", who.stderr);
    let stranger =
        env.quotad(&["approve", "quota-memo", "--period", "2026-11", "--token", &tok, "--by", "rep@example.com"]);
    assert!(stranger.stderr.contains("rep@example.com is not an approver"), "{}", stranger.stderr);
    let rej = env.quotad(&[
        "reject",
        "quota-memo",
        "--period",
        "2026-11",
        "--reason",
        "Bob's quota is wrong",
        "--by",
        "VP@test-homes.com",
        "--now",
        "2026-11-02T14:30:00Z",
    ]);
    assert_eq!(rej.code, 0, "{rej:?}");
    let late = env.quotad(&[
        "approve",
        "quota-memo",
        "--period",
        "2026-11",
        "--token",
        &tok,
        "--by",
        "salesops@test-homes.com",
    ]);
    assert_eq!(late.code, 1);
    assert!(late.stderr.contains("was rejected on 2026-11-02 14:30 UTC by vp@test-homes.com"), "{}", late.stderr);
    assert!(env.emails().is_empty());

    env.put("quotas-2.csv", QUOTAS.replace("bob@example.com,2026-11,250000,3", "bob@example.com,2026-11,210000,3"));
    exported(&env, "quotas-2.csv", "2026-11-02T15:00:00Z");
    assert_eq!(env.quotad(&["import", "--now", "2026-11-02T15:00:00Z"]).code, 0);
    let rerun = env.quotad(&["run", "quota-memo", "--period", "2026-11", "--now", "2026-11-02T15:05:00Z"]);
    assert!(rerun.stdout.contains("7 message(s) HELD"), "{}", rerun.stdout);
    let d = digests(&env);
    assert_eq!(d.len(), 2);
    let new = d.iter().map(|x| token(&x.subject)).find(|t| *t != tok).unwrap();
    // 200,000 -> 210,000 is +5.0%: no longer flagged.
    let d2 = d.iter().find(|x| x.subject.contains(&new)).unwrap();
    assert!(!d2.text.contains("Bob Baker (North)"), "{}", d2.text);
    let ok = env.quotad(&[
        "approve",
        "quota-memo",
        "--period",
        "2026-11",
        "--token",
        &new,
        "--by",
        "salesops@test-homes.com",
        "--now",
        "2026-11-02T15:10:00Z",
    ]);
    assert_eq!(ok.code, 0, "{ok:?}");
    assert_eq!(env.emails().len(), 5);
    assert!(env.email_to("bob@example.com").subject.starts_with("Your November 2026 quota: $210,000"));
    let trail = env.store().approval_history("quota-memo", "2026-11").unwrap();
    assert_eq!(trail[0].note.as_deref(), Some("Bob's quota is wrong"));
    assert_eq!(trail.iter().map(|r| r.state.as_str()).collect::<Vec<_>>(), ["rejected", "approved"]);
}

/// Starts `quotad serve` at `now`, waits until a file whose name holds `marker` is in the
/// outbox folder, then stops it with `signal` (TERM or KILL).
fn serve_until(env: &Env, now: &str, marker: &str, signal: &str) {
    let mut child = env.spawn("serve", &["--now", now, "serve"], &[]);
    let start = Instant::now();
    while !env.files_in("outbox").iter().any(|f| f.contains(marker)) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no {marker} within 60 s:\n{}",
            std::fs::read_to_string(env.path("serve.out")).unwrap_or_default()
        );
        assert!(child.try_wait().unwrap().is_none(), "quotad serve exited");
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("sh").args(["-c", &format!("kill -{signal} {pid}")]).status().unwrap().success()
    );
    child.wait().unwrap();
}

#[test]
fn at_the_deadline_hold_keeps_them_held_across_a_sigkill_and_tells_the_admin() {
    let env = fixture("", &format!("{APPROVER}\ndeadline = \"2d 12:00\"\nat_deadline = \"hold\""));
    let run = env.quotad(&["run", "quota-memo", "--period", "2026-11", "--now", NOV2]);
    // Held on 2 November (Chicago): deadline 4 November 12:00 CST = 18:00 UTC.
    assert!(run.stdout.contains("deadline 2026-11-04 18:00 UTC"), "{}", run.stdout);
    let tok = token(&digests(&env)[0].subject);
    assert!(
        digests(&env)[0]
            .text
            .contains("Deadline: 2026-11-04 12:00 CST; if nobody has answered by then, they stay held")
    );
    // The daemon at 18:00:05 UTC: the deadline has passed; the admin is told; killed hard.
    serve_until(&env, "2026-11-04T18:00:05Z", "approval-deadline", "KILL");
    assert!(env.emails().is_empty(), "nothing went out unapproved");
    let notice = env.all_emails().into_iter().find(|e| e.file.contains("approval-deadline")).unwrap();
    assert_eq!(notice.to, "admin@test-homes.com");
    assert!(
        notice.text.contains(&format!("(token {tok}, 7 message(s)) were not approved by the deadline")),
        "{}",
        notice.text
    );
    assert!(notice.text.contains("They stay held"), "{}", notice.text);
    // After the SIGKILL the run is still held, told once, and approving sends each memo once.
    let status = env.quotad(&["status"]);
    assert!(
        status.stdout.contains(&format!("token {tok}, deadline 2026-11-04 18:00 UTC (then hold)")),
        "{}",
        status.stdout
    );
    daemon_ticks(&env, &[], "2026-11-04T18:30:00Z", 3);
    assert_eq!(env.all_emails().iter().filter(|e| e.file.contains("approval-deadline")).count(), 1);
    let ok =
        env.quotad(&["approve", "quota-memo", "--period", "2026-11", "--token", &tok, "--now", "2026-11-04T19:00:00Z"]);
    assert_eq!(ok.code, 0, "{ok:?}");
    assert_eq!(env.emails().len(), 5);
}

#[test]
fn at_the_deadline_send_releases_them_unchanged_and_tells_the_admin() {
    let env = fixture("", &format!("{APPROVER}\ndeadline = \"2d 12:00\"\nat_deadline = \"send\""));
    assert_eq!(env.quotad(&["run", "quota-memo", "--period", "2026-11", "--now", NOV2]).code, 0);
    let tok = token(&digests(&env)[0].subject);
    // Before the deadline nothing goes.
    daemon_ticks(&env, &[], "2026-11-04T17:59:00Z", 2);
    assert!(env.emails().is_empty());
    serve_until(&env, "2026-11-04T18:00:05Z", "approval-deadline", "TERM");
    assert_eq!(env.emails().len(), 5, "the held memos went out at the deadline");
    assert_eq!(env.all_emails().iter().filter(|e| e.file.contains("team-memo")).count(), 2);
    let notice = env.all_emails().into_iter().find(|e| e.file.contains("approval-deadline")).unwrap();
    assert!(notice.text.contains("the 7 held message(s) were sent unchanged"), "{}", notice.text);
    let trail = env.store().approval_history("quota-memo", "2026-11").unwrap();
    assert_eq!(trail[0].decided_by.as_deref(), Some("deadline (at_deadline = \"send\")"));
    assert_eq!(trail[0].token, tok);
}

#[test]
fn corrections_after_approval_are_held_too_and_the_digest_lists_only_them() {
    let env = fixture("", APPROVER);
    assert_eq!(env.quotad(&["run", "quota-memo", "--period", "2026-11", "--now", NOV2]).code, 0);
    let tok = token(&digests(&env)[0].subject);
    assert_eq!(env.quotad(&["approve", "quota-memo", "--period", "2026-11", "--token", &tok, "--now", NOV2]).code, 0);
    let sent = env.all_emails().len();
    env.put("quotas-2.csv", QUOTAS.replace("cy@example.com,2026-11,160000,2", "cy@example.com,2026-11,165000,2"));
    exported(&env, "quotas-2.csv", "2026-11-03T15:00:00Z");
    assert_eq!(env.quotad(&["import", "--now", "2026-11-03T15:00:00Z"]).code, 0);
    let run =
        env.quotad(&["run", "quota-memo", "--corrections", "--period", "2026-11", "--now", "2026-11-03T15:05:00Z"]);
    assert_eq!(run.code, 0, "{run:?}");
    // Cy's correction and Max's team correction, held: only the new digest was written.
    assert!(run.stdout.contains("2 message(s) HELD"), "{}", run.stdout);
    assert_eq!(env.all_emails().len(), sent + 1);
    let d = digests(&env).into_iter().find(|d| !d.subject.contains(&tok)).unwrap();
    assert!(d.subject.starts_with("Approve the November 2026 quota corrections: 2 messages held"), "{}", d.subject);
    assert!(d.text.contains("  Corrections     2"), "{}", d.text);
    assert!(!d.text.contains("Quotas for November 2026 against last month"), "{}", d.text);
    let tok2 = token(&d.subject);
    let ok = env.quotad(&[
        "approve",
        "quota-memo",
        "--period",
        "2026-11",
        "--token",
        &tok2,
        "--now",
        "2026-11-03T15:10:00Z",
    ]);
    assert_eq!(ok.code, 0, "{ok:?}");
    let fixes: Vec<String> =
        env.all_emails().into_iter().filter(|e| e.file.contains("correction")).map(|e| e.to).collect();
    assert_eq!(fixes.len(), 2, "{fixes:?}");
    assert!(fixes.contains(&"cy@example.com".to_string()) && fixes.contains(&"max@example.com".to_string()));
}

/// The bundled sample (config/sample-inbox), totals summed by hand from quotas.csv and
/// roster.csv for the 19 active reps: November North Division 43,365,000 (63 units),
/// South Division 21,360,000 (44), Lakeside Communities 27,720,000 (39), company
/// 92,445,000 (146); October 44,440,000 (66), 21,485,000 (47), 23,510,000 (33),
/// 89,435,000 (146). Changes: −1,075,000/44,440,000 = −2.4%, −125,000/21,485,000 =
/// −0.6%, +4,210,000/23,510,000 = +17.9%, +3,010,000/89,435,000 = +3.4%. Over 10%:
/// James Schröder 2,135,000 → 3,030,000 (+41.9%), Siobhán Haddad 3,995,000 → 5,045,000
/// (+26.3%). James was hired on 10 October, after October's memo: new.
#[test]
fn the_sample_digest_totals_match_the_quota_file_and_approval_sends_the_19_memos() {
    let env = Env::sample();
    let cfg = std::fs::read_to_string(env.path("quotad.toml")).unwrap();
    std::fs::write(
        env.path("quotad.toml"),
        format!("{cfg}\n[quota_memo.approval]\nto = [\"salesops@example-homes.com\"]\n"),
    )
    .unwrap();
    let run = env.quotad(&["run", "all", "--period", "2026-11", "--now", NOV2]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("22 message(s) HELD for approval"), "{}", run.stdout);
    assert!(env.emails().is_empty(), "no rep memo before approval");
    let d = env.all_emails().into_iter().find(|e| e.file.contains("approval-digest")).unwrap();
    for line in [
        "  Lakeside Communities (5 reps): $27,720,000 (last month $23,510,000, +17.9%); units 39 (last month 33)",
        "  North Division (8 reps): $43,365,000 (last month $44,440,000, -2.4%); units 63 (last month 66)",
        "  South Division (6 reps): $21,360,000 (last month $21,485,000, -0.6%); units 44 (last month 47)",
        "  Company (19 reps): $92,445,000 (last month $89,435,000, +3.4%); units 146 (last month 146)",
        "    James Schröder (South Division): $2,135,000 -> $3,030,000 (+41.9%)",
        "    Siobhán Haddad (North Division): $3,995,000 -> $5,045,000 (+26.3%)",
        "  New reps: James Schröder",
        "  Leavers: none",
        "  Reps with no quota: none",
        "  crm-export-2026-10.xlsx [Closed Sales]: skipped totals row 108",
    ] {
        assert!(d.text.lines().any(|l| l == line), "no line '{line}' in:\n{}", d.text);
    }
    let (_, csv) = d.attachments.iter().find(|(n, _)| n.ends_with(".csv")).unwrap();
    let rows = csv::Reader::from_reader(&csv[..]).records().count();
    assert_eq!(rows, 22, "19 rep memos and 3 manager memos");
    assert_eq!(d.attachments.iter().filter(|(n, _)| n.ends_with(".eml")).count(), 3, "one example per team");
    let tok = token(&d.subject);
    let ok =
        env.quotad(&["approve", "quota-memo", "--period", "2026-11", "--token", &tok, "--now", "2026-11-02T15:00:00Z"]);
    assert_eq!(ok.code, 0, "{ok:?}");
    assert_eq!(env.emails().len(), 19);
    assert_eq!(env.all_emails().iter().filter(|e| e.file.contains("_team-memo_")).count(), 3);
}

#[test]
fn while_the_daemon_runs_an_approval_is_handed_to_it_and_carried_out_once() {
    let env = fixture("", APPROVER);
    assert_eq!(env.quotad(&["run", "quota-memo", "--period", "2026-11", "--now", NOV2]).code, 0);
    let tok = token(&digests(&env)[0].subject);
    let mut child = env.spawn("serve", &["--now", "2026-11-02T14:30:00Z", "serve"], &[]);
    let start = Instant::now();
    while !std::fs::read_to_string(env.path("serve.out")).unwrap_or_default().contains("quota-memo") {
        assert!(start.elapsed() < Duration::from_secs(30), "the daemon did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    // A wrong token is told at once, without the daemon.
    let wrong = env.quotad(&["approve", "quota-memo", "--period", "2026-11", "--token", "0123456789ab"]);
    assert_eq!(wrong.code, 1);
    assert!(wrong.stderr.contains(&format!("have token {tok}")), "{}", wrong.stderr);
    let ok = env.quotad(&["approve", "quota-memo", "--period", "2026-11", "--token", &tok]);
    assert_eq!(ok.code, 0, "{ok:?}");
    assert!(ok.stdout.contains("quotad serve (pid"), "{}", ok.stdout);
    assert!(ok.stdout.contains("Approved by salesops@test-homes.com"), "{}", ok.stdout);
    assert_eq!(env.emails().len(), 5);
    let again = env.quotad(&["approve", "quota-memo", "--period", "2026-11", "--token", &tok]);
    assert_eq!(again.code, 1);
    let pid = child.id().to_string();
    assert!(std::process::Command::new("sh").args(["-c", &format!("kill -TERM {pid}")]).status().unwrap().success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert_eq!(env.emails().len(), 5, "each memo once");
    assert!(
        std::fs::read_to_string(env.path("serve.out"))
            .unwrap()
            .contains("approval 2026-11: Approved by salesops@test-homes.com"),
        "the daemon's log says what it did"
    );
}

#[test]
fn with_approval_turned_off_the_memos_go_out_and_the_held_run_is_closed() {
    let env = fixture("", APPROVER);
    assert_eq!(env.quotad(&["run", "quota-memo", "--period", "2026-11", "--now", NOV2]).code, 0);
    let resend = env.quotad(&["run", "quota-memo", "--period", "2026-11", "--resend"]);
    assert_eq!(resend.code, 1);
    assert!(resend.stderr.contains("--resend is not available while [quota_memo.approval] is on"), "{}", resend.stderr);
    let cfg = std::fs::read_to_string(env.path("quotad.toml")).unwrap();
    std::fs::write(
        env.path("quotad.toml"),
        cfg.replace("[quota_memo.approval]\n", "[quota_memo.approval]\nto = []\n")
            .replace(&format!("{APPROVER}\n"), ""),
    )
    .unwrap();
    let run = env.quotad(&["run", "quota-memo", "--period", "2026-11", "--now", "2026-11-02T15:00:00Z"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(env.emails().len(), 5);
    assert!(!env.quotad(&["status"]).stdout.contains("Held for approval"));
    let trail = env.store().approval_history("quota-memo", "2026-11").unwrap();
    assert_eq!(trail[0].state.as_str(), "superseded");
}
