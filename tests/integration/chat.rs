//! Chat channels end to end (issue 22): the real `quotad` binary posts the weekly
//! ranking to a real HTTP server on 127.0.0.1 (a thread here speaking HTTP/1.1 over a
//! `TcpListener`) that records every request and answers from a script (200 by
//! default; 500, 404 or 429 with `Retry-After` on demand), through the outbox ledger.
//!
//! The data, worked out by hand — November 2026, week 2026-W45 (1–8 Nov ranked):
//! - quotas: Ann 400,000, Bob 300,000 (North), Cy 300,000 (South);
//! - deals: Ann 399,800 → 399,800 / 400,000 = 99.95%, shown 99.9% (below 100% never
//!   shows as 100.0%); Bob 100,000 → 33.3%; Cy nothing → 0.0%, $0 (never celebrated);
//! - teams: North 499,800 / 700,000 = 71.4%, 1st of 2; South 0.0%, 2nd;
//! - company top 3 on attainment: Ann 99.9%, Bob 33.3% (Cy's 0 is not on it); on
//!   results: Ann $399,800, Bob $100,000.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::harness::{Env, ROSTER, config};

/// Scripted answers: (path, status, extra header line, body).
type Script = Arc<Mutex<Vec<(String, u16, String, String)>>>;

/// Recorded requests: (path, body, when).
type Seen = Arc<Mutex<Vec<(String, String, Instant)>>>;

/// An HTTP receiver on 127.0.0.1: records each POST and answers with the next scripted
/// (status, extra header line, body) for its path, else 200 "ok".
pub(crate) struct Receiver {
    pub(crate) port: u16,
    seen: Seen,
    script: Script,
}

impl Receiver {
    pub(crate) fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen: Seen = Arc::default();
        let script: Script = Arc::default();
        let (s2, sc2) = (seen.clone(), script.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let mut len = 0;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; len];
                let _ = reader.read_exact(&mut body);
                s2.lock().unwrap().push((path.clone(), String::from_utf8_lossy(&body).into_owned(), Instant::now()));
                let answer = {
                    let mut sc = sc2.lock().unwrap();
                    sc.iter().position(|(p, ..)| *p == path).map(|i| sc.remove(i))
                };
                let (status, header, text) =
                    answer.map_or((200, String::new(), "ok".to_string()), |(_, s, h, t)| (s, h, t));
                let reply = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n{header}\r\n{text}",
                    text.len()
                );
                let _ = conn.write_all(reply.as_bytes());
            }
        });
        Receiver { port, seen, script }
    }

    /// Answers the next POST to `path` with `status`, `header` (a full line with CRLF, or
    /// empty) and `body`.
    pub(crate) fn answer(&self, path: &str, status: u16, header: &str, body: &str) {
        self.script.lock().unwrap().push((path.into(), status, header.into(), body.into()));
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Bodies posted to `path`, in order.
    pub(crate) fn bodies(&self, path: &str) -> Vec<serde_json::Value> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, ..)| p == path)
            .map(|(_, b, _)| serde_json::from_str(b).unwrap())
            .collect()
    }

    pub(crate) fn times(&self, path: &str) -> Vec<Instant> {
        self.seen.lock().unwrap().iter().filter(|(p, ..)| p == path).map(|(.., t)| *t).collect()
    }
}

/// The secret parts of the webhook URLs: never in any output, log or the ledger.
const NORTH: &str = "/services/T0NORTH/B0NORTH/north-secret-token";
const COMPANY: &str = "/services/T0CO/B0CO/company-secret-token";
const NOW: &str = "2026-11-09T15:00:00Z";

fn env_with(extra_mail: &str) -> Env {
    let cfg = config(
        r#"[[channels]]
name = "north"
kind = "slack"
webhook_env = "QUOTAD_TEST_SLACK_NORTH"
teams = ["north"]

[[channels]]
name = "company"
kind = "slack"
webhook_env = "QUOTAD_TEST_SLACK_CO"
jobs = ["weekly_ranking"]
"#,
    )
    .replace("[mail]\n", &format!("[mail]\n{extra_mail}\n"));
    let env = Env::new(&cfg);
    env.put("roster.csv", ROSTER);
    env.put(
        "quotas.csv",
        "Rep Email,Month,Revenue Quota\nann@example.com,2026-11,400000\nbob@example.com,2026-11,300000\ncy@example.com,2026-11,300000\n",
    );
    env.put(
        "deals.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\nD1,ann@example.com,Closed Won,2026-11-03,399800\nD2,bob@example.com,Closed Won,2026-11-05,100000\n",
    );
    // Exported Monday 9 November, 06:00 CST: the figures are as of that day.
    for f in ["roster.csv", "quotas.csv", "deals.csv"] {
        let t: chrono::DateTime<chrono::Utc> = "2026-11-09T12:00:00Z".parse().unwrap();
        let file = std::fs::File::options().write(true).open(env.path("inbox").join(f)).unwrap();
        file.set_modified(std::time::SystemTime::from(t)).unwrap();
    }
    let run = env.quotad(&["--now", NOW, "import"]);
    assert_eq!(run.code, 0, "{run:?}");
    env
}

fn vars(r: &Receiver) -> [(&'static str, String); 2] {
    [("QUOTAD_TEST_SLACK_NORTH", r.url(NORTH)), ("QUOTAD_TEST_SLACK_CO", r.url(COMPANY))]
}

fn run_week(env: &Env, r: &Receiver, args: &[&str]) -> crate::harness::Run {
    let v = vars(r);
    let v: Vec<(&str, &str)> = v.iter().map(|(k, x)| (*k, x.as_str())).collect();
    let mut a = vec!["--now", NOW];
    a.extend_from_slice(args);
    env.quotad_env(&a, &v)
}

/// Section texts of a Slack payload, in order.
pub(crate) fn sections(p: &serde_json::Value) -> Vec<String> {
    p["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "section")
        .map(|b| b["text"]["text"].as_str().unwrap().to_string())
        .collect()
}

/// Neither secret appears in `text`.
pub(crate) fn no_secret(what: &str, text: &str) {
    for s in ["north-secret-token", "company-secret-token", "T0NORTH", "B0CO"] {
        assert!(!text.contains(s), "{what} leaks the webhook URL ({s}):\n{text}");
    }
}

#[test]
fn the_weekly_ranking_posts_once_per_channel_with_hand_worked_figures_and_no_secret() {
    let r = Receiver::start();
    let env = env_with("");
    let run = run_week(&env, &r, &["run", "weekly-ranking", "--week", "2026-W45"]);
    assert_eq!(run.code, 0, "{run:?}");
    let north = r.bodies(NORTH);
    let company = r.bodies(COMPANY);
    assert_eq!((north.len(), company.len()), (1, 1), "{run:?}");
    let p = &north[0];
    assert_eq!(p["blocks"][0]["type"], "header");
    assert_eq!(p["blocks"][0]["text"]["type"], "plain_text");
    assert_eq!(p["blocks"][0]["text"]["text"], "Test Homes · weekly ranking 2026-W45 · North");
    assert_eq!(
        p["blocks"][1]["elements"][0]["text"],
        "November 2026 to date (Nov 1 – Nov 8) · preliminary · as of November 9, 2026"
    );
    let s = sections(p);
    assert_eq!(
        s[..3],
        [
            "*Company top 3 on attainment*\n1. Ann Archer (North) — 99.9%\n2. Bob Baker (North) — 33.3%",
            "*Company top 3 on results (revenue)*\n1. Ann Archer (North) — $399,800\n2. Bob Baker (North) — $100,000",
            "*North: 1st of 2 teams · 71.4% of $700,000*\n1. Ann Archer — 99.9% · $399,800\n2. Bob Baker — 33.3% · $100,000",
        ],
        "{p:#}"
    );
    assert!(p["text"].as_str().unwrap().starts_with("Test Homes · weekly ranking 2026-W45 · North — "), "{p}");
    // The company channel: the teams ranked, Cy's $0 nowhere celebrated.
    let c = sections(&company[0]);
    assert_eq!(c.last().unwrap(), "*Teams*\n1. North — 71.4% · $499,800\n2. South — 0.0% · $0");
    assert!(!c[0].contains("Cy Cole") && !c[1].contains("Cy Cole"), "{c:?}");
    for body in [&north[0], &company[0]] {
        let t = body.to_string();
        assert!(!t.contains('@') && !t.contains("100.0%"), "{t}");
        for flag in ["flag", "paperwork", "stale", "discount"] {
            assert!(!t.to_lowercase().contains(flag), "{flag} in {t}");
        }
    }
    // Run again: nothing is posted twice.
    let again = run_week(&env, &r, &["run", "weekly-ranking", "--week", "2026-W45"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!((r.bodies(NORTH).len(), r.bodies(COMPANY).len()), (1, 1), "{again:?}");
    let store = env.store();
    let row = store.outbox_get("weekly-ranking/2026-W45/channel:north/chat-post").unwrap().unwrap();
    assert_eq!((row.state.as_str(), row.attempts), ("sent", 1));
    let list = env.quotad(&["outbox", "list"]);
    assert!(list.stdout.contains("weekly-ranking/2026-W45/channel:company/chat-post"), "{list:?}");
    // The URL is nowhere: output, logs, the ledger file.
    for (what, text) in [("run", format!("{run:?}")), ("again", format!("{again:?}")), ("list", format!("{list:?}"))] {
        no_secret(what, &text);
    }
    let db = std::fs::read(env.path("quotad.sqlite")).unwrap();
    no_secret("quotad.sqlite", &String::from_utf8_lossy(&db));
    assert!(!String::from_utf8_lossy(&db).contains(&format!("127.0.0.1:{}", r.port)));
}

#[test]
fn a_500_then_200_is_posted_once_after_the_retry_and_a_429_waits_its_retry_after() {
    let r = Receiver::start();
    // Backoff 1 s after a 500; a 429 says Retry-After: 2 while the backoff would be 1 s.
    let env = env_with("retry_initial_seconds = 1\nretry_max_seconds = 1\nmax_attempts = 3");
    r.answer(NORTH, 500, "", "internal error");
    r.answer(COMPANY, 429, "Retry-After: 2\r\n", "rate limited");
    let run = run_week(&env, &r, &["run", "weekly-ranking", "--week", "2026-W45"]);
    assert_eq!(run.code, 0, "{run:?}");
    let (n, c) = (r.times(NORTH), r.times(COMPANY));
    assert_eq!((n.len(), c.len()), (2, 2), "{run:?}");
    assert_eq!(r.bodies(NORTH)[0], r.bodies(NORTH)[1], "the retry posts the recorded payload");
    assert!(c[1] - c[0] >= Duration::from_millis(1900), "429 retried after {:?}", c[1] - c[0]);
    assert!(n[1] - n[0] >= Duration::from_millis(900), "500 retried after {:?}", n[1] - n[0]);
    let store = env.store();
    for ch in ["north", "company"] {
        let row = store.outbox_get(&format!("weekly-ranking/2026-W45/channel:{ch}/chat-post")).unwrap().unwrap();
        assert_eq!((row.state.as_str(), row.attempts), ("sent", 2), "{ch}");
    }
    assert!(run.stderr.contains("HTTP 500") && run.stderr.contains("HTTP 429 (rate limited)"), "{}", run.stderr);
    no_secret("run", &format!("{run:?}"));
    let again = run_week(&env, &r, &["run", "weekly-ranking", "--week", "2026-W45"]);
    assert_eq!(again.code, 0);
    assert_eq!((r.times(NORTH).len(), r.times(COMPANY).len()), (2, 2));
}

#[test]
fn a_404_is_a_dead_letter_at_once_counted_listed_and_told_to_the_admin_without_the_url() {
    let r = Receiver::start();
    let env = env_with("admin = \"admin@test-homes.com\"\nmax_attempts = 5");
    r.answer(NORTH, 404, "", "no_service");
    let run = run_week(&env, &r, &["run", "weekly-ranking", "--week", "2026-W45"]);
    // One dead letter: the run says so and exits 1, as for e-mail.
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!((r.bodies(NORTH).len(), r.bodies(COMPANY).len()), (1, 1));
    assert!(run.stdout.contains("1 dead letter(s)"), "{}", run.stdout);
    let key = "weekly-ranking/2026-W45/channel:north/chat-post";
    let row = env.store().outbox_get(key).unwrap().unwrap();
    assert_eq!((row.state.as_str(), row.attempts), ("dead", 1));
    let err = row.last_error.unwrap();
    assert_eq!(
        err,
        format!(
            "Slack channel 'north' (http://127.0.0.1:{}/…): HTTP 404 (the webhook or its channel is gone): no_service",
            r.port
        )
    );
    let list = env.quotad(&["outbox", "list"]);
    assert!(list.stdout.contains("no_service"), "{list:?}");
    // The admin's one notice lists it (the file transport writes it to the outbox folder).
    let notice = env
        .all_emails()
        .into_iter()
        .find(|e| e.to == "admin@test-homes.com" && e.file.contains("dead-letters"))
        .unwrap_or_else(|| panic!("no notice: {:?}", env.files_in("outbox")));
    assert!(notice.text.contains(key) && notice.text.contains("no_service"), "{}", notice.text);
    for (what, text) in [("run", format!("{run:?}")), ("list", format!("{list:?}")), ("notice", notice.raw.clone())] {
        no_secret(what, &text);
    }
    // A second run leaves the dead letter alone: still one request.
    let again = run_week(&env, &r, &["run", "weekly-ranking", "--week", "2026-W45"]);
    assert!(again.stdout.contains("1 dead letter(s) from an earlier run left alone"), "{again:?}");
    assert_eq!(r.bodies(NORTH).len(), 1);
}

#[test]
fn a_missing_webhook_variable_is_a_dead_letter_naming_the_variable() {
    let r = Receiver::start();
    let env = env_with("");
    let run = env.quotad_env(
        &["--now", NOW, "run", "weekly-ranking", "--week", "2026-W45"],
        &[("QUOTAD_TEST_SLACK_CO", &r.url(COMPANY))],
    );
    assert_eq!(run.code, 1, "{run:?}");
    let row = env.store().outbox_get("weekly-ranking/2026-W45/channel:north/chat-post").unwrap().unwrap();
    assert_eq!(row.state.as_str(), "dead");
    assert_eq!(
        row.last_error.as_deref(),
        Some(
            "channel 'north': environment variable QUOTAD_TEST_SLACK_NORTH (webhook_env) is not set: set it to the Slack incoming-webhook URL"
        )
    );
    assert_eq!(r.bodies(COMPANY).len(), 1);
}

#[test]
fn a_webhook_url_in_the_config_file_is_refused_without_echoing_it() {
    let env = Env::new(&config(
        "[[channels]]\nname = \"north\"\nkind = \"slack\"\nurl = \"https://hooks.slack.com/services/T/B/very-secret\"\n",
    ));
    let run = env.quotad(&["check"]);
    assert_ne!(run.code, 0, "{run:?}");
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(all.contains("channels[0].url: a webhook URL is a secret"), "{all}");
    assert!(!all.contains("very-secret"), "{all}");
}

#[test]
fn teams_gets_an_adaptive_card_and_google_chat_a_cards_v2_message_with_the_same_figures() {
    let r = Receiver::start();
    let env = env_with("");
    let cfg = std::fs::read_to_string(env.path("quotad.toml"))
        .unwrap()
        .replace(
            "kind = \"slack\"\nwebhook_env = \"QUOTAD_TEST_SLACK_NORTH\"",
            "kind = \"teams\"\nwebhook_env = \"QUOTAD_TEST_SLACK_NORTH\"",
        )
        .replace(
            "kind = \"slack\"\nwebhook_env = \"QUOTAD_TEST_SLACK_CO\"",
            "kind = \"google_chat\"\nwebhook_env = \"QUOTAD_TEST_SLACK_CO\"",
        );
    std::fs::write(env.path("quotad.toml"), cfg).unwrap();
    let run = run_week(&env, &r, &["run", "weekly-ranking", "--week", "2026-W45"]);
    assert_eq!(run.code, 0, "{run:?}");
    // Teams: a message with one Adaptive Card 1.4 attachment of TextBlocks.
    let t = &r.bodies(NORTH)[0];
    assert_eq!(t["type"], "message");
    let a = &t["attachments"][0];
    assert_eq!(a["contentType"], "application/vnd.microsoft.card.adaptive");
    let card = &a["content"];
    assert_eq!((card["type"].as_str(), card["version"].as_str()), (Some("AdaptiveCard"), Some("1.4")));
    let texts: Vec<&str> = card["body"].as_array().unwrap().iter().map(|b| b["text"].as_str().unwrap()).collect();
    assert!(card["body"].as_array().unwrap().iter().all(|b| b["type"] == "TextBlock"));
    assert_eq!(texts[0], "Test Homes · weekly ranking 2026-W45 · North");
    let north = texts.iter().position(|x| *x == "North: 1st of 2 teams · 71.4% of $700,000").expect("north heading");
    assert_eq!(texts[north + 1], "1. Ann Archer — 99.9% · $399,800\n\n2. Bob Baker — 33.3% · $100,000");
    assert!(t.to_string().len() < 28 * 1024);
    // Google Chat: text plus one card with a header and textParagraph sections.
    let g = &r.bodies(COMPANY)[0];
    let card = &g["cardsV2"][0]["card"];
    assert_eq!(g["cardsV2"][0]["cardId"], "weekly-ranking");
    assert_eq!(card["header"]["title"], "Test Homes · weekly ranking 2026-W45");
    let teams = card["sections"].as_array().unwrap().iter().find(|s| s["header"] == "Teams").expect("teams section");
    assert_eq!(teams["widgets"][0]["textParagraph"]["text"], "1. North — 71.4% · $499,800<br>2. South — 0.0% · $0");
    assert!(g["text"].as_str().unwrap().starts_with("Test Homes · weekly ranking 2026-W45 — "));
    for body in [t, g] {
        let s = body.to_string();
        assert!(!s.contains('@') && !s.contains("100.0%"), "{s}");
    }
}

#[test]
fn check_validates_each_channel_without_showing_its_url() {
    let r = Receiver::start();
    let env = env_with("");
    let cfg = std::fs::read_to_string(env.path("quotad.toml"))
        .unwrap()
        .replace("teams = [\"north\"]", "teams = [\"north\", \"West\"]");
    std::fs::write(env.path("quotad.toml"), cfg).unwrap();
    let run = env.quotad_env(
        &["check"],
        &[
            ("QUOTAD_TEST_SLACK_NORTH", &r.url(NORTH)),
            ("QUOTAD_TEST_SLACK_CO", "http://hooks.example.com/x/company-secret-token"),
        ],
    );
    assert_eq!(run.code, 1, "{run:?}");
    let out = &run.stdout;
    assert!(out.contains(&format!("channel north: Slack (http://127.0.0.1:{}/…), for north, West", r.port)), "{out}");
    assert!(out.contains("problem: channel 'north': teams: no active rep of the roster is in team 'West'"), "{out}");
    assert!(
        out.contains("problem: channel 'company': the URL in QUOTAD_TEST_SLACK_CO uses plain http to a remote host: webhooks must be https://"),
        "{out}"
    );
    no_secret("check", &format!("{run:?}"));
}

#[test]
fn a_stalled_server_times_out_and_the_post_is_retried_then_dead() {
    // Accepts connections and never answers.
    let stall = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = stall.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in stall.incoming() {
            held.push(c);
        }
    });
    let r = Receiver::start();
    let env = env_with("max_attempts = 2\nretry_initial_seconds = 1\nretry_max_seconds = 1");
    let cfg = std::fs::read_to_string(env.path("quotad.toml"))
        .unwrap()
        .replace("teams = [\"north\"]", "teams = [\"north\"]\ntimeout_seconds = 1");
    std::fs::write(env.path("quotad.toml"), cfg).unwrap();
    let url = format!("http://127.0.0.1:{port}{NORTH}");
    let started = Instant::now();
    let run = env.quotad_env(
        &["--now", NOW, "run", "weekly-ranking", "--week", "2026-W45"],
        &[("QUOTAD_TEST_SLACK_NORTH", &url), ("QUOTAD_TEST_SLACK_CO", &r.url(COMPANY))],
    );
    let took = started.elapsed();
    assert_eq!(run.code, 1, "{run:?}");
    // Two attempts of 1 s each and a 1 s backoff: about 3 s, well under a minute.
    assert!(took >= Duration::from_secs(2) && took < Duration::from_secs(30), "{took:?}");
    let row = env.store().outbox_get("weekly-ranking/2026-W45/channel:north/chat-post").unwrap().unwrap();
    assert_eq!((row.state.as_str(), row.attempts), ("dead", 2));
    assert_eq!(
        row.last_error.as_deref(),
        Some(format!("Slack channel 'north' (http://127.0.0.1:{port}/…): no answer within 1 s (connect 1 s)").as_str())
    );
    assert_eq!(r.bodies(COMPANY).len(), 1, "the company channel is not held up");
    no_secret("run", &format!("{run:?}"));
}

#[test]
fn a_crash_between_the_post_and_its_2xx_posts_that_one_message_again_and_only_it() {
    let r = Receiver::start();
    let env = env_with("");
    let run = run_week(&env, &r, &["run", "weekly-ranking", "--week", "2026-W45"]);
    assert_eq!(run.code, 0, "{run:?}");
    // As if quotad died after POSTing north's message and before recording the 200:
    // the row is left `sending` on disk, its one recipient not yet answered.
    let key = "weekly-ranking/2026-W45/channel:north/chat-post";
    let db = rusqlite::Connection::open(env.path("quotad.sqlite")).unwrap();
    db.execute("UPDATE outbox SET state = 'sending', sent_at = NULL WHERE idempotency_key = ?1", [key]).unwrap();
    db.execute("UPDATE outbox_recipients SET state = 'pending' WHERE idempotency_key = ?1", [key]).unwrap();
    drop(db);
    let again = run_week(&env, &r, &["run", "weekly-ranking", "--week", "2026-W45"]);
    assert_eq!(again.code, 0, "{again:?}");
    // North's post went again (the documented window), the company's did not.
    assert_eq!((r.bodies(NORTH).len(), r.bodies(COMPANY).len()), (2, 1), "{again:?}");
    assert_eq!(r.bodies(NORTH)[0], r.bodies(NORTH)[1]);
    let row = env.store().outbox_get(key).unwrap().unwrap();
    assert_eq!((row.state.as_str(), row.interrupted), ("sent", 1));
    assert!(again.stderr.contains(&format!("{key}: a crash interrupted its post; posting it again")), "{again:?}");
    let third = run_week(&env, &r, &["run", "weekly-ranking", "--week", "2026-W45"]);
    assert_eq!(third.code, 0);
    assert_eq!(r.bodies(NORTH).len(), 2);
}

#[test]
fn preview_writes_each_channels_payload_and_posts_nothing() {
    let r = Receiver::start();
    let env = env_with("");
    let run = run_week(&env, &r, &["preview", "weekly-ranking", "--week", "2026-W45", "--out", "p"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("p/chat_2026-W45/north.json (the chat post, not sent)"), "{}", run.stdout);
    assert_eq!(env.files_in("p/chat_2026-W45"), ["company.json", "north.json"]);
    assert!(r.bodies(NORTH).is_empty() && r.bodies(COMPANY).is_empty());
    assert!(env.store().outbox_get("weekly-ranking/2026-W45/channel:north/chat-post").unwrap().is_none());
    // What `run` then posts is what the preview showed.
    let shown: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.path("p/chat_2026-W45/north.json")).unwrap()).unwrap();
    assert_eq!(run_week(&env, &r, &["run", "weekly-ranking", "--week", "2026-W45"]).code, 0);
    assert_eq!(r.bodies(NORTH), [shown]);
}
