//! Chat channels beyond the weekly ranking (issue 22): celebrations posted as they
//! happen after an import, the quota memo's team summary, `preview --channel`, and the
//! pacing of posts to one webhook — the real `quotad` binary against the recording
//! HTTP receiver of `chat.rs`.
//!
//! The data, worked out by hand — July to November 2026, every quota 100,000, one deal
//! per rep per month (so units are 1 every month: matched, never a new best), every
//! file exported 1 December 2026 (after November closed: November is final):
//! - Ann (North, hired 2020): 50,000, 60,000, 70,000, 80,000, 99,950 → new personal
//!   bests in revenue ($99,950, before $80,000) and attainment (99.95% shows 99.9%,
//!   before 80.0%); not at quota;
//! - Bob (North, hired 2021): 50,000 ×3, 100,000, 120,000 → bests in revenue ($120,000,
//!   before $100,000) and attainment (120.0%, before 100.0%), 2 months in a row at
//!   quota (his whole tenure is not in the data: no "first month");
//! - Nia (South, hired 1 July 2026): 10,000 … 40,000, 100,000 → first month at quota
//!   (100.0% of $100,000), bests in revenue ($100,000) and attainment (100.0%);
//! - Cy (South): no deal → $0: never celebrated.
//!
//! North's channel gets Ann's 2 and Bob's 3 events (5 posts); the company channel
//! those and Nia's 3 (8 posts).

use std::collections::BTreeSet;
use std::time::Duration;

use crate::chat::{Receiver, no_secret};
use crate::harness::{Env, config};

const NORTH: &str = "/services/T0NORTH/B0NORTH/north-secret-token";
const COMPANY: &str = "/services/T0CO/B0CO/company-secret-token";
/// Wednesday 2 December 2026, 09:00 in Chicago.
const NOW: &str = "2026-12-02T15:00:00Z";
/// When the CRM exported the files: 1 December, 06:00 in Chicago.
const EXPORTED: &str = "2026-12-01T12:00:00Z";

const ROSTER: &str = "Rep ID,Name,Email,Team,Manager,Manager Email,Hire Date,Status
R1,Ann Archer,ann@example.com,North,Mia Boss,mia@example.com,2020-01-06,Active
R2,Bob Baker,bob@example.com,North,Mia Boss,mia@example.com,2021-02-01,Active
R3,Cy Cole,cy@example.com,South,Max Chief,max@example.com,2019-05-20,Active
R4,Nia Nash,nia@example.com,South,Max Chief,max@example.com,2026-07-01,Active
";

/// Puts `name` in the inbox, exported at [`EXPORTED`].
fn put(env: &Env, name: &str, text: &str) {
    env.put(name, text);
    let t: chrono::DateTime<chrono::Utc> = EXPORTED.parse().unwrap();
    let file = std::fs::File::options().write(true).open(env.path("inbox").join(name)).unwrap();
    file.set_modified(std::time::SystemTime::from(t)).unwrap();
}

fn deals(rows: &[(&str, &str, &str, u32)]) -> String {
    let mut s = "Deal ID,Rep Email,Stage,Close Date,Sale Price\n".to_string();
    for (id, rep, day, price) in rows {
        s.push_str(&format!("{id},{rep}@example.com,Closed Won,{day},{price}\n"));
    }
    s
}

fn history() -> String {
    let mut rows = Vec::new();
    let months = ["07", "08", "09", "10", "11"];
    let amounts = [
        ("ann", [50_000, 60_000, 70_000, 80_000, 99_950]),
        ("bob", [50_000, 50_000, 50_000, 100_000, 120_000]),
        ("nia", [10_000, 20_000, 30_000, 40_000, 100_000]),
    ];
    for (rep, a) in amounts {
        for (m, v) in months.iter().zip(a) {
            rows.push((format!("{rep}-{m}"), rep, format!("2026-{m}-15"), v));
        }
    }
    let rows: Vec<(&str, &str, &str, u32)> =
        rows.iter().map(|(id, r, d, v)| (id.as_str(), *r, d.as_str(), *v)).collect();
    deals(&rows)
}

fn quotas() -> String {
    let mut s = "Rep Email,Month,Revenue Quota\n".to_string();
    for rep in ["ann", "bob", "cy", "nia"] {
        for m in 7..=11 {
            s.push_str(&format!("{rep}@example.com,2026-{m:02},100000\n"));
        }
    }
    s
}

/// The roster, quotas and deal history the celebration tests import (exported after
/// November closed).
fn put_history(env: &Env) {
    put(env, "roster.csv", ROSTER);
    put(env, "quotas.csv", &quotas());
    put(env, "deals.csv", &history());
}

fn env_with(jobs: &str) -> Env {
    let cfg = config(&format!(
        r#"[[channels]]
name = "north"
kind = "slack"
webhook_env = "QUOTAD_TEST_SLACK_NORTH"
teams = ["North"]
jobs = [{jobs}]

[[channels]]
name = "company"
kind = "slack"
webhook_env = "QUOTAD_TEST_SLACK_CO"
jobs = [{jobs}]
"#
    ));
    Env::new(&cfg)
}

fn quotad(env: &Env, r: &Receiver, args: &[&str]) -> crate::harness::Run {
    let (n, c) = (r.url(NORTH), r.url(COMPANY));
    let mut a = vec!["--now", NOW];
    a.extend_from_slice(args);
    env.quotad_env(&a, &[("QUOTAD_TEST_SLACK_NORTH", &n), ("QUOTAD_TEST_SLACK_CO", &c)])
}

/// (header, first section's text) of each Slack post to `path`.
fn posts(r: &Receiver, path: &str) -> BTreeSet<(String, String)> {
    r.bodies(path)
        .iter()
        .map(|p| {
            let header = p["blocks"][0]["text"]["text"].as_str().unwrap().to_string();
            let section = crate::chat::sections(p).join("\n");
            (header, section)
        })
        .collect()
}

fn set(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    items.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

const ANN: [(&str, &str); 2] = [
    ("New personal best: Ann Archer", "*Revenue $99,950 in November 2026 (best before: $80,000)*"),
    ("New personal best: Ann Archer", "*Attainment 99.9% in November 2026 (best before: 80.0%)*"),
];
const BOB: [(&str, &str); 3] = [
    ("New personal best: Bob Baker", "*Revenue $120,000 in November 2026 (best before: $100,000)*"),
    ("New personal best: Bob Baker", "*Attainment 120.0% in November 2026 (best before: 100.0%)*"),
    ("2 months in a row at quota: Bob Baker", "*120.0% of quota in November 2026*"),
];
const NIA: [(&str, &str); 3] = [
    ("New personal best: Nia Nash", "*Revenue $100,000 in November 2026 (best before: $40,000)*"),
    ("New personal best: Nia Nash", "*Attainment 100.0% in November 2026 (best before: 40.0%)*"),
    ("First month at quota: Nia Nash", "*100.0% of $100,000 in November 2026*"),
];

#[test]
fn celebrations_are_posted_once_ever_per_event_and_channel_after_imports() {
    let r = Receiver::start();
    let env = env_with("\"celebrations\"");
    put_history(&env);
    let run = quotad(&env, &r, &["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("celebrations of 2026-11: 13 new post(s) to the chat channels"), "{}", run.stdout);
    let north: Vec<_> = ANN.iter().chain(&BOB).copied().collect();
    let company: Vec<_> = ANN.iter().chain(&BOB).chain(&NIA).copied().collect();
    assert_eq!(posts(&r, NORTH), set(&north), "{run:?}");
    assert_eq!(posts(&r, COMPANY), set(&company));
    assert_eq!((r.bodies(NORTH).len(), r.bodies(COMPANY).len()), (5, 8));
    let p = &r.bodies(NORTH)[0];
    assert_eq!(p["blocks"][1]["elements"][0]["text"].as_str().unwrap().split(" · ").nth(1), Some("November 2026"));
    for body in r.bodies(NORTH).iter().chain(&r.bodies(COMPANY)) {
        let t = body.to_string();
        assert!(!t.contains('@') && !t.contains("Cy Cole"), "{t}");
        assert!(!t.contains("Ann Archer") || !t.contains("100.0%"), "99.95% never shows as 100.0%: {t}");
        assert!(body["blocks"].as_array().unwrap().len() <= 50);
    }
    // The keys name the event: job, month, channel, what and the rep (hashed, no address).
    let list = env.quotad(&["outbox", "list"]);
    let keys: Vec<&str> = list.stdout.split_whitespace().filter(|w| w.starts_with("celebrations/")).collect();
    assert_eq!(keys.len(), 13, "{}", list.stdout);
    assert!(keys.iter().all(|k| !k.contains('@')), "{keys:?}");
    assert_eq!(keys.iter().filter(|k| k.contains("/channel:north/celebration-quota-streak-")).count(), 1);
    no_secret("import", &format!("{run:?}{list:?}"));

    // The same files again, and a second import the same day that changes nothing
    // celebrated: nothing is posted again.
    put(&env, "deals-2.csv", &deals(&[("cy-12", "cy", "2026-12-01", 5_000)]));
    let again = quotad(&env, &r, &["import"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stdout.contains("celebrations of 2026-11: 0 new post(s)"), "{}", again.stdout);
    assert_eq!((r.bodies(NORTH).len(), r.bodies(COMPANY).len()), (5, 8));

    // A correction takes Bob's November down to 90,000: his three celebrations are gone,
    // nothing is posted.
    put(&env, "deals-3.csv", &deals(&[("bob-11", "bob", "2026-11-15", 90_000)]));
    let corrected = quotad(&env, &r, &["import"]);
    assert!(corrected.stdout.contains("celebrations of 2026-11: 0 new post(s)"), "{}", corrected.stdout);
    assert_eq!((r.bodies(NORTH).len(), r.bodies(COMPANY).len()), (5, 8));
    // Corrected back: the celebrations return, but were posted once already.
    put(&env, "deals-4.csv", &deals(&[("bob-11", "bob", "2026-11-15", 120_000)]));
    let back = quotad(&env, &r, &["import"]);
    assert!(back.stdout.contains("celebrations of 2026-11: 0 new post(s)"), "{}", back.stdout);
    assert_eq!((r.bodies(NORTH).len(), r.bodies(COMPANY).len()), (5, 8));

    // A quarantined file posts nothing and holds the month until it is resolved.
    put(
        &env,
        "deals-5.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\ncy-11,cy@example.com,Closed Won,not a date,150000\n",
    );
    let bad = quotad(&env, &r, &["import"]);
    assert_eq!(bad.code, 1, "{bad:?}");
    assert_eq!((r.bodies(NORTH).len(), r.bodies(COMPANY).len()), (5, 8));
    put(&env, "deals-6.csv", &deals(&[("cy-11", "cy", "2026-11-20", 150_000)]));
    let good = quotad(&env, &r, &["import"]);
    assert_eq!(good.code, 0, "{good:?}");
    // It gives Cy a November deal of 150,000 after four $0 months (history all the
    // same): new bests in revenue, attainment and units (1 deal against 0), posted to
    // the company channel only (South has no channel of its own).
    assert!(good.stdout.contains("celebrations of 2026-11: 3 new post(s)"), "{}", good.stdout);
    assert_eq!((r.bodies(NORTH).len(), r.bodies(COMPANY).len()), (5, 11));
    let cy: BTreeSet<_> = posts(&r, COMPANY).into_iter().filter(|(h, _)| h.contains("Cy Cole")).collect();
    assert_eq!(
        cy,
        set(&[
            ("New personal best: Cy Cole", "*Revenue $150,000 in November 2026 (best before: $0)*"),
            ("New personal best: Cy Cole", "*Attainment 150.0% in November 2026 (best before: 0.0%)*"),
            ("New personal best: Cy Cole", "*Units 1 in November 2026 (best before: 0)*"),
        ])
    );
}

#[test]
fn posts_to_one_slack_webhook_are_a_second_apart() {
    let r = Receiver::start();
    let env = env_with("\"celebrations\"");
    put_history(&env);
    let run = quotad(&env, &r, &["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    for path in [NORTH, COMPANY] {
        let t = r.times(path);
        assert!(t.len() >= 5, "{}", t.len());
        for w in t.windows(2) {
            assert!(w[1] - w[0] >= Duration::from_millis(990), "{path}: {:?} apart", w[1] - w[0]);
        }
    }
    // The two webhooks are paced apart, not one after the other: 8 posts to the company
    // channel take about 7 s, the 5 to north fit in those seconds.
    let all: Vec<_> = r.times(NORTH).into_iter().chain(r.times(COMPANY)).collect();
    let span = *all.iter().max().unwrap() - *all.iter().min().unwrap();
    assert!(span < Duration::from_secs(11), "{span:?}");
}

/// The history above, plus Zed Zane (North, hired 16 November: new since the last
/// memo) and December's quotas: Ann 100,000, Bob 110,000, Zed 50,000 (North: $260,000,
/// 3 of 3 reps with a quota, 1 new); Cy 100,000, Nia none (South: $100,000, 1 of 2);
/// the company $360,000, 4 of 5. `tables` is appended to the config.
fn memo_env(tables: &str) -> Env {
    let env = env_with("\"quota_memo\"");
    memo_data(&env, tables);
    assert_eq!(env.quotad(&["--now", NOW, "import"]).code, 0);
    env
}

fn memo_data(env: &Env, tables: &str) {
    let cfg = std::fs::read_to_string(env.path("quotad.toml")).unwrap();
    std::fs::write(env.path("quotad.toml"), format!("{cfg}\n{tables}\n")).unwrap();
    put(
        env,
        "roster.csv",
        &format!("{ROSTER}R5,Zed Zane,zed@example.com,North,Mia Boss,mia@example.com,2026-11-16,Active\n"),
    );
    put(
        env,
        "quotas.csv",
        &format!(
            "{}ann@example.com,2026-12,100000\nbob@example.com,2026-12,110000\nzed@example.com,2026-12,50000\ncy@example.com,2026-12,100000\n",
            quotas()
        ),
    );
    put(env, "deals.csv", &history());
}

const MEMO_NORTH: [&str; 1] =
    ["*North: $260,000 quota · 3 of 3 reps with a quota · 1 new*\nWelcome to the team: Zed Zane"];
const MEMO_COMPANY: [&str; 2] = [
    "*Company: $360,000 quota · 4 of 5 reps with a quota · 2 teams*",
    "*Teams*\nNorth: $260,000 quota · 3 of 3 reps with a quota · 1 new\nSouth: $100,000 quota · 1 of 2 reps with a quota",
];

#[test]
fn the_quota_memo_posts_each_channel_its_teams_quota_summary_once_without_individual_quotas() {
    let r = Receiver::start();
    let env = memo_env("");
    let run = quotad(&env, &r, &["run", "quota-memo", "--period", "2026-12"]);
    assert_eq!(run.code, 0, "{run:?}");
    let (north, company) = (r.bodies(NORTH), r.bodies(COMPANY));
    assert_eq!((north.len(), company.len()), (1, 1), "{run:?}");
    assert_eq!(north[0]["blocks"][0]["text"]["text"], "Test Homes · quotas for December 2026 · North");
    assert_eq!(crate::chat::sections(&north[0]), MEMO_NORTH);
    assert_eq!(company[0]["blocks"][0]["text"]["text"], "Test Homes · quotas for December 2026");
    assert_eq!(crate::chat::sections(&company[0]), MEMO_COMPANY);
    for body in [&north[0], &company[0]] {
        let t = body.to_string();
        // No one's own quota, no address.
        assert!(!t.contains("$110,000") && !t.contains("$50,000") && !t.contains('@'), "{t}");
    }
    let row = env.store().outbox_get("quota-memo/2026-12/channel:north/chat-post").unwrap().unwrap();
    assert_eq!(row.state.as_str(), "sent");
    // The job again: nothing posted twice.
    assert_eq!(quotad(&env, &r, &["run", "quota-memo", "--period", "2026-12"]).code, 0);
    assert_eq!((r.bodies(NORTH).len(), r.bodies(COMPANY).len()), (1, 1));
}

/// The approval token the digest in the outbox folder names.
fn digest_token(env: &Env) -> String {
    let d = env.all_emails().into_iter().find(|e| e.file.contains("approval-digest")).expect("a digest");
    d.subject.rsplit("(token ").next().unwrap().trim_end_matches(')').to_string()
}

#[test]
fn a_held_quota_memo_holds_its_channel_posts_until_approved_and_a_rejected_one_posts_nothing() {
    for approve in [true, false] {
        let r = Receiver::start();
        let env = memo_env("[quota_memo.approval]\nto = [\"salesops@test-homes.com\"]");
        let run = quotad(&env, &r, &["run", "quota-memo", "--period", "2026-12"]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(run.stdout.contains("HELD for approval"), "{}", run.stdout);
        assert_eq!((r.bodies(NORTH).len(), r.bodies(COMPANY).len()), (0, 0), "held: nothing posted");
        assert!(env.store().outbox_get("quota-memo/2026-12/channel:north/chat-post").unwrap().is_none());
        let tok = digest_token(&env);
        if approve {
            let ok = quotad(&env, &r, &["approve", "quota-memo", "--period", "2026-12", "--token", &tok]);
            assert_eq!(ok.code, 0, "{ok:?}");
            assert_eq!((r.bodies(NORTH).len(), r.bodies(COMPANY).len()), (1, 1), "{ok:?}");
            assert_eq!(crate::chat::sections(&r.bodies(NORTH)[0]), MEMO_NORTH);
        } else {
            let no = quotad(&env, &r, &["reject", "quota-memo", "--period", "2026-12", "--reason", "wrong quotas"]);
            assert_eq!(no.code, 0, "{no:?}");
            let retry = quotad(&env, &r, &["outbox", "retry"]);
            assert!(retry.code == 0 || retry.code == 1, "{retry:?}");
            assert_eq!((r.bodies(NORTH).len(), r.bodies(COMPANY).len()), (0, 0), "rejected: never posted");
        }
    }
}

#[test]
fn preview_with_channel_writes_only_that_channels_payloads_for_every_job_that_posts() {
    let r = Receiver::start();
    let env = env_with("\"weekly_ranking\", \"quota_memo\", \"celebrations\"");
    memo_data(&env, "");
    assert_eq!(quotad(&env, &r, &["import"]).code, 0);
    let posted = (r.bodies(NORTH).len(), r.bodies(COMPANY).len());
    let ok = |args: &[&str]| {
        let run = quotad(&env, &r, args);
        assert_eq!(run.code, 0, "{run:?}");
        run
    };
    let week = ok(&["preview", "weekly-ranking", "--week", "2026-W48", "--channel", "north", "--out", "p"]);
    assert_eq!(env.files_in("p"), ["chat_2026-W48"], "no PDF: {week:?}");
    assert_eq!(env.files_in("p/chat_2026-W48"), ["north.json"]);
    ok(&["preview", "quota-memo", "--period", "2026-12", "--channel", "company", "--out", "q"]);
    assert_eq!(env.files_in("q/chat_quota-memo_2026-12"), ["company.json"]);
    let memo: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.path("q/chat_quota-memo_2026-12/company.json")).unwrap()).unwrap();
    assert_eq!(crate::chat::sections(&memo), MEMO_COMPANY);
    ok(&["preview", "celebrations", "--channel", "north", "--out", "c"]);
    assert_eq!(env.files_in("c/chat_celebrations_2026-11"), ["north"]);
    assert_eq!(env.files_in("c/chat_celebrations_2026-11/north").len(), 5);
    // Previews post nothing.
    assert_eq!((r.bodies(NORTH).len(), r.bodies(COMPANY).len()), posted);
    // An unknown channel names the known ones; a job that posts nowhere says so.
    let bad = quotad(&env, &r, &["preview", "weekly-ranking", "--channel", "west", "--out", "x"]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("--channel west: no such channel in [[channels]] of"), "{}", bad.stderr);
    assert!(bad.stderr.contains("(channels: north, company)"), "{}", bad.stderr);
    let sheets = quotad(&env, &r, &["preview", "one-on-one", "--channel", "north", "--out", "x"]);
    assert!(sheets.stderr.contains("one-on-one posts to no chat channel"), "{}", sheets.stderr);
    assert!(!env.path("x").exists());
}

/// `quotad serve` watching the inbox: the files dropped there are imported and the
/// celebrations posted at once — north's 5 (its webhook set), the company's 8 dead
/// letters (its variable unset) — and `status` and `/metrics` count them with the
/// e-mails: 5 sent, 8 dead, of which chat posts the same.
#[test]
fn serve_posts_the_celebrations_of_a_watched_import_and_status_and_metrics_count_them() {
    use crate::board::{Daemon, get, parse_prometheus, wait_for};
    let r = Receiver::start();
    let env = env_with("\"celebrations\"");
    let cfg = std::fs::read_to_string(env.path("quotad.toml")).unwrap();
    let serve = "[schedule]\nsettle_seconds = 1\nrescan_seconds = 1\nheartbeat_seconds = 1\n[schedule.quota_memo]\nenabled = false\n[schedule.weekly_ranking]\nenabled = false\n[schedule.one_on_one]\nenabled = false\n[web]\nlisten = \"127.0.0.1:0\"\n";
    std::fs::write(env.path("quotad.toml"), format!("{cfg}\n{serve}")).unwrap();
    put_history(&env);
    let north = r.url(NORTH);
    let d = Daemon::start(
        &env,
        &["--now", NOW, "serve"],
        &[("QUOTAD_TEST_SLACK_NORTH", &north), ("QUOTAD_BOARD_TOKEN", "chat-jobs-test-token-0123")],
    );
    assert!(wait_for(Duration::from_secs(90), || r.bodies(NORTH).len() == 5), "{}", d.out());
    assert!(
        wait_for(Duration::from_secs(30), || d.out().contains("inbox: celebrations of 2026-11: 13 new post(s)")),
        "{}",
        d.out()
    );
    assert_eq!(posts(&r, NORTH), set(&ANN.iter().chain(&BOB).copied().collect::<Vec<_>>()));
    let value = |text: &str, name: &str| parse_prometheus(text).into_iter().find(|(n, _)| n == name).map(|(_, v)| v);
    let mut text = String::new();
    assert!(
        wait_for(Duration::from_secs(30), || {
            text = get(&d.url("/metrics")).2;
            value(&text, "quotad_outbox_chat_posts{state=\"dead\"}") == Some(8.0)
        }),
        "{text}"
    );
    assert_eq!(value(&text, "quotad_outbox_chat_posts{state=\"sent\"}"), Some(5.0), "{text}");
    assert_eq!(value(&text, "quotad_outbox_messages{state=\"sent\"}"), Some(5.0), "{text}");
    assert_eq!(value(&text, "quotad_dead_letters"), Some(8.0), "{text}");
    let status = env.quotad(&["--now", NOW, "status"]);
    assert!(status.stdout.contains("  0 pending, 0 sending, 5 sent, 0 failed, 8 dead"), "{}", status.stdout);
    assert!(
        status.stdout.contains("  of which chat posts: 0 pending, 0 sending, 5 sent, 0 failed, 8 dead"),
        "{}",
        status.stdout
    );
    assert!(status.stdout.contains("celebrations/2026-11/channel:company/celebration-"), "{}", status.stdout);
    no_secret("serve", &format!("{}{}", d.out(), status.stdout));
}
