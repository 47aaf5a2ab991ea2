//! The weekly ranking's distribution (issue 18.4): one message per team carrying the
//! team edition (the company's top 20, where the team stands, the team's table and
//! celebrations), the full company PDF to the managers and the admin in one message, and
//! messages with several recipients in the outbox: each recipient's RCPT TO is recorded,
//! and a refused recipient is retried (or dead-lettered) alone, through a real SMTP server
//! on 127.0.0.1.

use std::collections::BTreeMap;

use crate::documents::{check_pdf, pages};
use crate::harness::{Env, ROSTER, config};
use crate::smtp_server::{Certs, PASSWORD_ENV, SmtpSink, free_port, password, smtp_config};
use quotad::store::OutboxState;

/// The To and Cc addresses of an .eml file.
fn to_cc(raw: &[u8]) -> (Vec<String>, Vec<String>) {
    let m = mail_parser::MessageParser::default().parse(raw).unwrap();
    let list = |a: Option<&mail_parser::Address>| -> Vec<String> {
        a.map(|a| a.iter().filter_map(|x| x.address().map(str::to_string)).collect()).unwrap_or_default()
    };
    (list(m.to()), list(m.cc()))
}

/// 45 reps in three teams: Agent i is in North (i % 3 = 0, manager Mia), South (1, Max)
/// or West (2, Wes); quota $100,000 each in March 2026, revenue $5,000 × i (closed
/// 4 March), so Agent i's attainment is 5i % and Agent 045 ranks first.
fn three_teams(env: &Env) {
    let mut roster = String::from("Rep ID,Name,Email,Team,Manager,Manager Email\n");
    let mut quotas = String::from("Rep Email,Month,Revenue Quota\n");
    let mut deals = String::from("Deal ID,Rep Email,Stage,Close Date,Sale Price\n");
    for i in 1..=45 {
        let (team, mgr, mgr_email) = match i % 3 {
            0 => ("North", "Mia Boss", "mia@example.com"),
            1 => ("South", "Max Chief", "max@example.com"),
            _ => ("West", "Wes Lead", "wes@example.com"),
        };
        roster.push_str(&format!("R{i},Agent {i:03},agent{i}@example.com,{team},{mgr},{mgr_email}\n"));
        quotas.push_str(&format!("agent{i}@example.com,2026-03,100000\n"));
        deals.push_str(&format!("D{i},agent{i}@example.com,Closed Won,2026-03-04,{}\n", 5000 * i));
    }
    env.put("roster.csv", roster);
    env.put("quotas.csv", quotas);
    env.put("deals.csv", deals);
}

#[test]
fn each_team_gets_its_edition_and_the_managers_and_admin_the_full_ranking_once() {
    let env = Env::new(&config("admin = \"Ops Admin <admin@test-homes.com>\""));
    three_teams(&env);
    assert_eq!(env.quotad(&["import"]).code, 0);
    let run = env.quotad(&["run", "weekly-ranking", "--week", "2026-W10"]);
    assert_eq!(run.code, 0, "{run:?}");
    // The full ranking and three team editions; 3 team messages and 1 full.
    assert!(run.stdout.contains("  4 PDF(s) written"), "{}", run.stdout);
    assert!(run.stdout.contains("4 message(s) written to outbox, 0 already sent earlier"), "{}", run.stdout);
    let mails = env.all_emails();
    assert_eq!(mails.len(), 4, "{:?}", mails.iter().map(|m| &m.file).collect::<Vec<_>>());

    // South's message: its 15 reps in To, Max in Cc, South's edition attached.
    let south: Vec<String> = (1..=45).filter(|i| i % 3 == 1).map(|i| format!("agent{i}@example.com")).collect();
    let south_mail = mails.iter().find(|m| m.raw.contains("agent43@example.com")).unwrap();
    let (to, cc) = to_cc(south_mail.raw.as_bytes());
    assert_eq!(to, south);
    assert_eq!(cc, ["max@example.com"]);
    assert_eq!(south_mail.attachments.len(), 1);
    let edition = env.path("reports/ranking_2026-W10/ranking_2026-W10_South.pdf");
    assert_eq!(south_mail.attachments[0].0, "ranking 2026-W10 South.pdf");
    assert_eq!(south_mail.attachments[0].1, std::fs::read(&edition).unwrap());
    assert!(south_mail.text.starts_with("Hi South team,"), "{}", south_mail.text);
    assert!(south_mail.text.contains("South ranks 3 of 3 teams on team attainment (110.0%)"), "{}", south_mail.text);
    // South's best: first in South, third in the company, $5,000 × 43 = $215,000 on a
    // $100,000 quota.
    assert!(south_mail.text.contains("  1. Agent 043: $215,000, 215.0% (company 3)\n"), "{}", south_mail.text);
    assert!(south_mail.html.contains("Agent 043") && south_mail.html.contains("Agent 001"), "{}", south_mail.html);
    assert!(!south_mail.text.contains("Agent 042"), "North's Agent 042 is not in South's e-mail: {}", south_mail.text);

    // The full ranking: one message to the three managers and the admin.
    let full = mails.iter().find(|m| m.file.contains("full-ranking")).unwrap();
    let (to, cc) = to_cc(full.raw.as_bytes());
    assert_eq!(to, ["max@example.com", "mia@example.com", "wes@example.com", "admin@test-homes.com"]);
    assert!(cc.is_empty());
    assert_eq!(full.attachments[0].1, std::fs::read(env.path("reports/ranking_2026-W10.pdf")).unwrap());

    // South's edition: the company's top 20 (Agents 045 down to 026, 225% to 130%), where
    // South stands (3rd of 3 on 110.0%; 6 of its reps in the top 20: 043, 040, 037, 034,
    // 031, 028), then South's 15 reps and South's celebrations; two pages at most.
    check_pdf(&edition);
    let text = pages(&edition);
    assert!(text.len() <= 2, "{} pages", text.len());
    let all = text.join("\n");
    let (top, rest) = all.split_once("Where the team stands").unwrap();
    assert!(top.contains("Company top 20"), "{top}");
    for i in 26..=45 {
        assert_eq!(top.matches(&format!("Agent {i:03}")).count(), 1, "Agent {i:03} in the top 20:\n{top}");
    }
    for i in 1..=25 {
        assert!(!top.contains(&format!("Agent {i:03}")), "Agent {i:03} is not in the top 20:\n{top}");
    }
    assert!(top.contains("225.0%") && top.contains("130.0%") && !top.contains("125.0%"), "{top}");
    let (stands, team) = rest.split_once("Team: South").unwrap();
    assert!(
        stands.contains("South ranks 3 of 3 teams on team attainment; 6 of its reps are in the company's top 20."),
        "{stands}"
    );
    for want in ["North", "120.0%", "West", "115.0%", "$1,650,000", "$1,500,000", "110.0%"] {
        assert!(stands.contains(want), "'{want}' not in:\n{stands}");
    }
    let (table, celebrations) = team.split_once("Celebrations in South").unwrap();
    for i in (1..=45).filter(|i| i % 3 == 1) {
        // Once on each of the team's two boards: attainment, then results (revenue).
        assert_eq!(table.matches(&format!("Agent {i:03}")).count(), 2, "Agent {i:03} in South's tables:\n{table}");
    }
    for i in (1..=45).filter(|i| i % 3 != 1) {
        assert!(!table.contains(&format!("Agent {i:03}")), "Agent {i:03} is not in South:\n{table}");
    }
    assert!(celebrations.contains("1. Agent 043 (215.0%)"), "{celebrations}");
    assert!(celebrations.contains("Agent 022, Agent 025, Agent 028"), "{celebrations}");
    assert!(!celebrations.contains("Agent 045") && !celebrations.contains("Agent 021"), "{celebrations}");

    // Again: nothing is sent twice.
    let again = env.quotad(&["run", "weekly-ranking", "--week", "2026-W10"]);
    assert!(again.stdout.contains("0 message(s) written to outbox, 4 already sent earlier"), "{}", again.stdout);
    assert_eq!(env.all_emails().len(), 4);
}

/// Ann and Bob (North, manager Mia), Cy (South, manager Max), March 2026 deals; the admin
/// is told about dead letters.
fn small(mail: &str) -> Env {
    let env = Env::new(&config(mail));
    env.put("roster.csv", ROSTER);
    env.put("quotas.csv", "Rep Email,Month,Revenue Quota\nann@example.com,2026-03,400000\nbob@example.com,2026-03,250000\ncy@example.com,2026-03,300000\n");
    env.put(
        "deals.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\nD1,ann@example.com,Closed Won,2026-03-02,300000\nD2,bob@example.com,Closed Won,2026-03-05,250000\nD3,cy@example.com,Closed Won,2026-03-03,200000\n",
    );
    env
}

/// (Message-ID, envelope recipient) -> how many times the server received it.
fn deliveries(sinks: &[&SmtpSink]) -> BTreeMap<(String, String), usize> {
    let mut out = BTreeMap::new();
    for s in sinks {
        for r in s.received() {
            for to in r.rcpt_tos {
                *out.entry((r.email.message_id.clone(), to)).or_insert(0) += 1;
            }
        }
    }
    out
}

#[test]
fn a_recipient_deferred_with_450_is_retried_alone_and_nobody_gets_a_message_twice() {
    let pw = password();
    let sink = SmtpSink::start_with(
        free_port(),
        std::rc::Rc::new(Certs::new()),
        "starttls",
        &pw,
        &["--defer-rcpt", "bob@example.com"],
    );
    let env = small(&smtp_config(
        sink.port,
        sink.cert(),
        "starttls",
        "admin = \"Ops Admin <admin@test-homes.com>\"\nretry_initial_seconds = 1",
        "",
    ));
    let vars = [(PASSWORD_ENV, pw.as_str())];
    assert_eq!(env.quotad(&["import"]).code, 0);
    let run = env.quotad_env(&["run", "weekly-ranking", "--week", "2026-W10"], &vars);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(&format!(
            "3 message(s) sent through SMTP 127.0.0.1:{} (STARTTLS), 0 already sent earlier",
            sink.port
        )),
        "{}",
        run.stdout
    );
    // North's message went to Ann and Mia, then to Bob alone, with the same Message-ID.
    let got = sink.received();
    let north: Vec<_> = got
        .iter()
        .filter(|r| r.email.raw.contains("bob@example.com"))
        .filter(|r| r.email.subject.contains("North"))
        .collect();
    assert_eq!(north.len(), 2, "{:?}", got.iter().map(|r| &r.rcpt_tos).collect::<Vec<_>>());
    assert_eq!(north[0].rcpt_tos, ["ann@example.com", "mia@example.com"]);
    assert_eq!(north[1].rcpt_tos, ["bob@example.com"]);
    assert_eq!(north[0].email.message_id, north[1].email.message_id);
    // Every (message, recipient) exactly once: North 3, South 2, the full ranking 3.
    let d = deliveries(&[&sink]);
    assert_eq!(d.len(), 8, "{d:?}");
    assert!(d.values().all(|n| *n == 1), "{d:?}");
    let key = "weekly-ranking/2026-W10/team:north/team-edition";
    let row = env.store().outbox_get(key).unwrap().unwrap();
    assert_eq!((row.state, row.attempts), (OutboxState::Sent, 2));
    let rcpts = env.store().outbox_recipients(key).unwrap();
    let states: Vec<(&str, OutboxState, u32)> =
        rcpts.iter().map(|r| (r.address.as_str(), r.state, r.attempts)).collect();
    assert_eq!(
        states,
        [
            ("ann@example.com", OutboxState::Sent, 1),
            ("bob@example.com", OutboxState::Sent, 2),
            ("mia@example.com", OutboxState::Sent, 1)
        ]
    );
}

#[test]
fn a_recipient_refused_with_550_is_dead_alone_and_a_retry_sends_to_it_only() {
    let pw = password();
    let port = free_port();
    let certs = std::rc::Rc::new(Certs::new());
    let sink = SmtpSink::start_with(port, certs.clone(), "starttls", &pw, &["--reject-rcpt", "bob@example.com"]);
    let env = small(&smtp_config(port, sink.cert(), "starttls", "admin = \"Ops Admin <admin@test-homes.com>\"", ""));
    let vars = [(PASSWORD_ENV, pw.as_str())];
    assert_eq!(env.quotad(&["import"]).code, 0);
    let run = env.quotad_env(&["run", "weekly-ranking", "--week", "2026-W10"], &vars);
    assert_eq!(run.code, 1, "{run:?}");
    let key = "weekly-ranking/2026-W10/team:north/team-edition";
    assert!(
        run.stdout.contains(&format!(
            "DEAD LETTER {key}: 1 of 3 recipient(s) not delivered: bob@example.com: SMTP server 127.0.0.1:{port} refused the message to bob@example.com: permanent error (550)"
        )),
        "{}",
        run.stdout
    );
    let row = env.store().outbox_get(key).unwrap().unwrap();
    assert_eq!((row.state, row.attempts), (OutboxState::Dead, 1));
    // Ann and Mia got North's message once; Bob not at all.
    let first = deliveries(&[&sink]);
    assert!(first.values().all(|n| *n == 1), "{first:?}");
    let north_id = env.store().outbox_get(key).unwrap().unwrap().entry.message_id;
    let north_id = format!("<{north_id}>");
    let to_north: Vec<&str> = first
        .keys()
        .filter(|(id, _)| id.trim_matches(['<', '>']) == north_id.trim_matches(['<', '>']))
        .map(|(_, a)| a.as_str())
        .collect();
    assert_eq!(to_north, ["ann@example.com", "mia@example.com"]);
    let notice = sink
        .received()
        .into_iter()
        .find(|r| r.rcpt_tos == ["admin@test-homes.com"] && r.email.subject.contains("could not be delivered"))
        .expect("the admin is told");
    assert!(notice.email.text.contains("bob@example.com"), "{}", notice.email.text);
    drop(sink);

    // The mailbox is fixed; `outbox retry` sends North's message to Bob only.
    let fixed = SmtpSink::start_on(port, certs, "starttls", &pw);
    let retry = env.quotad_env(&["outbox", "retry", key], &vars);
    assert_eq!(retry.code, 0, "{retry:?}");
    let again = fixed.received();
    assert_eq!(again.len(), 1, "{:?}", again.iter().map(|r| &r.rcpt_tos).collect::<Vec<_>>());
    assert_eq!(again[0].rcpt_tos, ["bob@example.com"]);
    assert_eq!(env.store().outbox_get(key).unwrap().unwrap().state, OutboxState::Sent);
}

#[test]
fn a_week_an_earlier_version_already_sent_per_address_reaches_nobody_twice() {
    let env = small("");
    assert_eq!(env.quotad(&["import"]).code, 0);
    // The version before team editions sent 2026-W10's ranking to Ann and Mia, one
    // message each (key weekly-ranking/WEEK/ADDRESS/ranking), then was upgraded.
    let store = env.store();
    for who in ["ann@example.com", "mia@example.com"] {
        let key = format!("weekly-ranking/2026-W10/{who}/ranking");
        let entry = quotad::store::OutboxEntry {
            idempotency_key: key.clone(),
            job: "weekly-ranking".into(),
            period: "2026-W10".into(),
            recipient: who.into(),
            recipients: Vec::new(),
            kind: "ranking".into(),
            message_id: "x.quotad@test-homes.com".into(),
            subject: "ranking".into(),
            message: b"Subject: ranking\r\n\r\nx\r\n".to_vec(),
        };
        let t = "2026-03-09T14:00:00Z".parse().unwrap();
        assert!(store.outbox_add(&entry, t).unwrap());
        store.outbox_mark_sent(&key, t).unwrap();
    }
    drop(store);
    let run = env.quotad(&["run", "weekly-ranking", "--week", "2026-W10"]);
    assert_eq!(run.code, 0, "{run:?}");
    let mails: Vec<_> = env.all_emails().into_iter().filter(|e| e.file.starts_with("weekly-ranking_")).collect();
    // North's edition to Bob only (Ann and Mia had the week), South's to Cy and Max, and
    // the full ranking to Max only (Mia had it).
    let mut got: Vec<(Vec<String>, Vec<String>)> = mails.iter().map(|m| to_cc(m.raw.as_bytes())).collect();
    got.sort();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        got,
        [
            (s(&["bob@example.com"]), s(&[])),
            (s(&["cy@example.com"]), s(&["max@example.com"])),
            (s(&["max@example.com"]), s(&[]))
        ]
    );
}
