//! The complete first-of-month memos: what reps and managers receive, waiting for the
//! final export, and corrections. Figures checked by hand against config/sample-inbox.

use crate::harness::{Email, Env, ROSTER, config, line_value};

fn team_memo(env: &Env, manager: &str, period: &str) -> Email {
    env.all_emails()
        .into_iter()
        .find(|e| e.file.contains(&format!("{period}_team-memo_")) && e.to == manager)
        .unwrap_or_else(|| panic!("no team memo to {manager}"))
}

#[test]
fn october_memos_for_a_strong_rep_a_new_hire_and_a_rep_without_quota() {
    let env = Env::sample();
    let run = env.quotad(&["run", "all", "--period", "2026-10"]);
    assert_eq!(run.code, 0, "{run:?}");

    // Björn Jones: October quota 6,150,000 and 9 units (quotas.csv); October has 31
    // selling days (every day sells), so 6,150,000 × 7 / 31 = 1,388,709.68 a week.
    // September: 7,578,500 on 6,150,000 = 123.2%, his best month: May 6,311,500,
    // June 5,586,500, July 1,959,000, August 6,229,500 — a new personal best.
    let bjorn = env.emails().into_iter().find(|e| e.to == "bjorn.jones@example-homes.com").unwrap();
    assert_eq!(bjorn.subject, "Your October 2026 quota: $6,150,000, 9 units");
    assert!(
        bjorn.text.contains("October 2026 has 31 selling days, so that is about $1,388,710 a week."),
        "{}",
        bjorn.text
    );
    assert!(
        bjorn.text.contains(
            "a customer rating of 4.0 or better, and clean paperwork (complete, zero errors) on at least 90.0% of deals"
        ),
        "{}",
        bjorn.text
    );
    assert_eq!(line_value(&bjorn.text, "Revenue"), "$7,578,500 against a quota of $6,150,000");
    assert_eq!(line_value(&bjorn.text, "Attainment"), "123.2%");
    assert!(bjorn.text.contains("a new personal best in revenue ($7,578,500)"), "{}", bjorn.text);
    assert!(line_value(&bjorn.text, "Revenue rank").ends_with("in North Division"), "{}", bjorn.text);
    assert!(bjorn.text.trim_end().ends_with("Good selling,\nExample Homes Sales Operations"), "{}", bjorn.text);
    assert!(bjorn.html.contains("Good selling,<br>Example Homes Sales Operations"), "{}", bjorn.html);

    // James Schröder, hired 10 October: the welcome variant with his ramp-up quota
    // (2,135,000 in quotas.csv, half his later quota), and no results to report.
    let james = env.emails().into_iter().find(|e| e.to == "james.schroder@example-homes.com").unwrap();
    assert!(james.text.contains("Welcome to the team! This is your first quota memo."), "{}", james.text);
    assert!(
        james.text.contains("Your ramp-up quota for October 2026 is $2,135,000 in revenue and 5 units."),
        "{}",
        james.text
    );
    assert!(james.text.contains("There are no results to report for you yet."), "{}", james.text);

    // Noah Nguyen has a zero quota for October: told plainly, never sent zeros.
    let noah = env.emails().into_iter().find(|e| e.to == "noah.nguyen@example-homes.com").unwrap();
    assert_eq!(noah.subject, "Your October 2026 memo: no quota set yet");
    assert!(noah.text.contains("You have no quota set for October 2026 yet."), "{}", noah.text);
    assert!(!noah.text.contains("$0"), "{}", noah.text);

    // Dmitri Nguyen manages North Division: exactly its 8 active reps, and the team's
    // October quota is their sum, 44,440,000 (quotas.csv).
    let dmitri = team_memo(&env, "dmitri.nguyen.mgr1@example-homes.com", "2026-10");
    let names = [
        "José Núñez",
        "李伟",
        "Carlos Williams",
        "Björn Jones",
        "Siobhán Nakamura",
        "Nadia Okafor",
        "Siobhán Kowalski",
        "Siobhán Haddad",
    ];
    let listed: Vec<&str> =
        dmitri.text.lines().filter_map(|l| l.strip_prefix("  ")).filter_map(|l| l.split(": ").next()).collect();
    for n in names {
        assert!(listed.contains(&n), "{n} missing from:\n{}", dmitri.text);
    }
    assert!(!dmitri.text.contains("Zoë"), "another manager's rep: {}", dmitri.text);
    assert!(dmitri.text.contains("North Division: October 2026 quota $44,440,000."), "{}", dmitri.text);
    assert!(dmitri.text.contains("PRIVATE, for you only"), "{}", dmitri.text);
    assert!(
        dmitri.text.contains("Björn Jones: at quota (123.2%); a new personal best in revenue ($7,578,500)"),
        "{}",
        dmitri.text
    );
    assert!(dmitri.text.contains("José Núñez: missed quota at 35.5%"), "{}", dmitri.text);
    assert_eq!(env.all_emails().iter().filter(|e| e.file.contains("team-memo")).count(), 3);
}

#[test]
fn changed_quotas_send_exactly_their_corrections() {
    let env = Env::sample();
    assert_eq!(env.quotad(&["run", "all"]).code, 0);
    let before = env.all_emails().len();
    // Three November quotas are corrected: José (North, Dmitri Nguyen), Zoë and Leila
    // (South, Leila Brown).
    let corrected = "Rep Email,Month,Revenue Quota,Units Quota\n\
        jose.nunez@example-homes.com,2026-11,5000000,8\n\
        zoe.odegaard@example-homes.com,2026-11,3400000,6\n\
        leila.obrien@example-homes.com,2026-11,4000000,8\n";
    let inbox = env.path("inbox2");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::write(inbox.join("quotas-fix.csv"), corrected).unwrap();
    let cfg = std::fs::read_to_string(env.path("quotad.toml")).unwrap();
    let cfg = cfg.replace(
        &format!(
            "inbox = {:?}",
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sample-inbox").display().to_string()
        ),
        "inbox = \"inbox2\"",
    );
    std::fs::write(env.path("quotad.toml"), cfg).unwrap();
    let run = env.quotad(&["run", "all", "--corrections", "--period", "2026-11"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("quotas-fix.csv [quotas]: 0 new, 3 updated"), "{}", run.stdout);
    assert!(run.stdout.contains("5 correction(s)"), "{}", run.stdout);
    let new: Vec<Email> = env.all_emails().into_iter().filter(|e| e.file.contains("correction")).collect();
    assert_eq!(env.all_emails().len(), before + 5, "3 reps and 2 managers; nobody else");
    let to: Vec<&str> = new.iter().map(|e| e.to.as_str()).collect();
    for who in [
        "jose.nunez@example-homes.com",
        "zoe.odegaard@example-homes.com",
        "leila.obrien@example-homes.com",
        "dmitri.nguyen.mgr1@example-homes.com",
        "leila.brown.mgr2@example-homes.com",
    ] {
        assert!(to.contains(&who), "{who} in {to:?}");
    }
    let jose = new.iter().find(|e| e.to == "jose.nunez@example-homes.com").unwrap();
    assert_eq!(jose.subject, "CORRECTION: your November 2026 quota");
    assert!(jose.text.contains("Revenue quota: was $5,550,000, now $5,000,000"), "{}", jose.text);
    assert!(!jose.text.contains("Units quota"), "units unchanged: {}", jose.text);
    let zoe = new.iter().find(|e| e.to == "zoe.odegaard@example-homes.com").unwrap();
    assert!(zoe.text.contains("Units quota: was 7, now 6"), "{}", zoe.text);
    let leila_b = new.iter().find(|e| e.to == "leila.brown.mgr2@example-homes.com").unwrap();
    assert!(leila_b.text.contains("Zoë Ødegaard:") && leila_b.text.contains("Leila O'Brien:"), "{}", leila_b.text);
    assert!(leila_b.text.contains("Revenue quota: was $3,905,000, now $4,000,000"), "{}", leila_b.text);
    // Run again: nothing new.
    let again = env.quotad(&["run", "quota-memo", "--corrections", "--period", "2026-11"]);
    // The corrected figures are now what was last stated: nothing differs, nothing is sent.
    assert!(again.stdout.contains("0 correction(s), 0 already sent earlier"), "{}", again.stdout);
    assert_eq!(env.all_emails().len(), before + 5);
}

#[test]
fn a_late_export_makes_the_memo_wait_then_go_out_preliminary() {
    let env = Env::new(&config("").replace(
        "from = \"Sales Ops <ops@test-homes.com>\"",
        "from = \"Sales Ops <ops@test-homes.com>\"\nadmin = \"Ops Admin <admin@test-homes.com>\"",
    ));
    env.put("roster.csv", ROSTER);
    env.put(
        "quotas.csv",
        "Rep Email,Month,Revenue Quota\nann@example.com,2026-02,100000\nann@example.com,2026-03,100000\n",
    );
    env.put(
        "deals.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\nD1,ann@example.com,Closed Won,2026-02-10,80000\n",
    );
    // The only February export was written on 20 February, before the month closed.
    let f = std::fs::File::options().write(true).open(env.path("inbox/deals.csv")).unwrap();
    let feb20: chrono::DateTime<chrono::Utc> = "2026-02-20T15:00:00Z".parse().unwrap();
    f.set_modified(feb20.into()).unwrap();
    assert_eq!(env.quotad(&["import", "--now", "2026-02-21T00:00:00Z"]).code, 0);
    // 1 March, 07:00 Chicago: the memo is due, the final export is not in: wait.
    let early = env.quotad(&["run", "quota-memo", "--period", "2026-03", "--now", "2026-03-01T13:00:00Z"]);
    assert_eq!(early.code, 0, "{early:?}");
    assert!(early.stdout.contains("nothing sent yet: February 2026 is still preliminary"), "{}", early.stdout);
    assert!(env.all_emails().is_empty());
    // 2 March, 12:05 Chicago (18:05 UTC): past the deadline: sent, marked preliminary,
    // and the admin is told why.
    let late = env.quotad(&["run", "quota-memo", "--period", "2026-03", "--now", "2026-03-02T18:05:00Z"]);
    assert_eq!(late.code, 0, "{late:?}");
    assert!(
        late.stdout.contains("note: February 2026's final export was not loaded by 2026-03-02 12:00 CST"),
        "{}",
        late.stdout
    );
    let ann = env.email_to("ann@example.com");
    assert!(
        ann.text.contains(
            "February 2026 results (data through February 10, 2026; preliminary: the month's final export is not in yet):"
        ),
        "{}",
        ann.text
    );
    assert_eq!(line_value(&ann.text, "Attainment"), "80.0%");
    let admin = env.all_emails().into_iter().find(|e| e.to == "admin@test-homes.com").unwrap();
    assert_eq!(admin.subject, "quotad: March 2026 quota memos sent with February 2026 preliminary");
}
