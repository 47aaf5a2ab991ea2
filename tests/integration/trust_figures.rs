//! Figures people can trust (issue 15 items 2, 3, 5, 6; issue 26 item 5), end to end
//! through the real binary: generated CSV exports, `--now`, the .eml files of the file
//! transport and the ranking PDF's text. Every expected value is worked out by hand in
//! the comments.

use crate::harness::{Email, Env, config, line_value};

/// The text of every page of a PDF, joined.
fn pdf_text(path: &std::path::Path) -> String {
    let doc = lopdf::Document::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let n = doc.get_pages().len() as u32;
    (1..=n).map(|p| doc.extract_text(&[p]).unwrap()).collect::<Vec<_>>().join("\n")
}

/// Sets a file's modification time (its export date) to `at` (RFC 3339).
fn exported(env: &Env, file: &str, at: &str) {
    let f = std::fs::File::options().write(true).open(env.path(&format!("inbox/{file}"))).unwrap();
    let t: chrono::DateTime<chrono::Utc> = at.parse().unwrap();
    f.set_modified(t.into()).unwrap();
}

fn team_memo(env: &Env, manager: &str) -> Email {
    env.all_emails()
        .into_iter()
        .find(|e| e.file.contains("_team-memo_") && e.to == manager)
        .unwrap_or_else(|| panic!("no team memo to {manager}"))
}

const DEALS_HEADER: &str = "Deal ID,Rep Email,Stage,Close Date,Sale Price,Customer Rating,Paperwork Complete\n";

/// Five reps on a 100,000 February quota. Company attainment board, as displayed:
/// Eve 150,000 = 150.0% (1), Cy 108,555 = 108.555% -> 108.6% (2), Bob 100,000 = 100.0%
/// (3), Ann 99,950 = 99.95% -> 99.9%, never 100.0% (4), Dee 79,960 = 79.96% -> 79.9%,
/// below the 80% target (5). Dee's 79,960 is 25 deals (24 × 3,200 + 3,160) rated 4
/// except one 3: 99 / 25 = 3.96, below the 4.0 standard: shown 3.9.
fn threshold_env() -> Env {
    let env = Env::new(&config(""));
    env.put(
        "roster.csv",
        "Rep ID,Name,Email,Team,Manager,Manager Email,Hire Date,Status
R1,Ann Archer,ann@example.com,North,Mia Boss,mia@example.com,2020-01-06,Active
R2,Bob Baker,bob@example.com,North,Mia Boss,mia@example.com,2020-01-06,Active
R3,Cy Cole,cy@example.com,South,Max Chief,max@example.com,2020-01-06,Active
R4,Dee Dunn,dee@example.com,South,Max Chief,max@example.com,2020-01-06,Active
R5,Eve Ezra,eve@example.com,South,Max Chief,max@example.com,2020-01-06,Active
",
    );
    let mut quotas = String::from("Rep Email,Month,Revenue Quota\n");
    for r in ["ann", "bob", "cy", "dee", "eve"] {
        for m in ["2026-02", "2026-03"] {
            quotas.push_str(&format!("{r}@example.com,{m},100000\n"));
        }
    }
    env.put("quotas.csv", quotas);
    let mut deals = String::from(DEALS_HEADER);
    deals.push_str("A1,ann@example.com,Closed Won,2026-02-10,99950,5,Yes\n");
    deals.push_str("B1,bob@example.com,Closed Won,2026-02-10,100000,5,Yes\n");
    deals.push_str("C1,cy@example.com,Closed Won,2026-02-10,108555,5,Yes\n");
    deals.push_str("E1,eve@example.com,Closed Won,2026-02-10,150000,5,Yes\n");
    for i in 0..25 {
        let (amount, rating) = if i == 0 { (3160, 3) } else { (3200, 4) };
        deals.push_str(&format!("D{i:02},dee@example.com,Closed Won,2026-02-{:02},{amount},{rating},Yes\n", 1 + i));
    }
    env.put("deals.csv", deals);
    // Written after February closed (1 March 06:00 UTC in Chicago): February is final.
    exported(&env, "deals.csv", "2026-03-01T12:00:00Z");
    env
}

#[test]
fn a_value_below_quota_is_never_shown_at_quota_in_memos_standings_and_explain() {
    let env = threshold_env();
    assert_eq!(env.quotad(&["import", "--now", "2026-03-01T13:00:00Z"]).code, 0);
    let run = env.quotad(&["run", "quota-memo", "--period", "2026-03", "--now", "2026-03-01T13:00:00Z"]);
    assert_eq!(run.code, 0, "{run:?}");

    // Ann: 99.95% shows 99.9% and ranks 4th alone (not tied with Bob's 100.0% at 3rd);
    // in North, Bob 1st, Ann 2nd.
    let ann = env.email_to("ann@example.com");
    assert_eq!(line_value(&ann.text, "Attainment"), "99.9%");
    assert_eq!(line_value(&ann.text, "Rank"), "4 of 5 company-wide, 2 of 2 in North");
    assert!(ann.html.contains("<strong>99.9%</strong>"), "{}", ann.html);
    let bob = env.email_to("bob@example.com");
    assert_eq!(line_value(&bob.text, "Attainment"), "100.0%");
    assert_eq!(line_value(&bob.text, "Rank"), "3 of 5 company-wide, 1 of 2 in North");
    // Away from a threshold, half away from zero: 108.555% -> 108.6%.
    assert_eq!(line_value(&env.email_to("cy@example.com").text, "Attainment"), "108.6%");
    // Dee: 79.96% shows 79.9% (below the 80% target); her rating 3.96 shows 3.9
    // (below the 4.0 standard), with its count.
    let dee = env.email_to("dee@example.com");
    assert_eq!(line_value(&dee.text, "Attainment"), "79.9%");
    assert_eq!(line_value(&dee.text, "Customer rating"), "3.9 (from 25 ratings)");

    // Mia's memo: Ann missed quota at 99.9%, and she is not "to celebrate" (4th, below
    // quota); Bob is (3rd, at quota with 100.0%).
    let mia = team_memo(&env, "mia@example.com");
    assert!(mia.text.contains("Ann Archer: missed quota at 99.9%"), "{}", mia.text);
    let celebrate = mia.text.split("To celebrate:").nth(1).unwrap();
    assert!(!celebrate.contains("Ann Archer"), "{}", mia.text);
    assert!(celebrate.contains("Bob Baker: rank 3 company-wide; at quota (100.0%)"), "{}", mia.text);
    assert!(!mia.text.contains("missed quota at 100.0%"), "{}", mia.text);
    // Max's memo: Dee's figures below their thresholds, never at them.
    let max = team_memo(&env, "max@example.com");
    assert!(max.text.contains("Dee Dunn: missed quota at 79.9%"), "{}", max.text);
    assert!(max.text.contains("customer rating 3.9 (n = 25) below the 4.0 standard"), "{}", max.text);

    // standings: the table, CSV and JSON show and rank the same values.
    let t = env.quotad(&["standings", "--period", "2026-02", "--now", "2026-03-01T13:00:00Z"]);
    assert_eq!(t.code, 0, "{t:?}");
    let line = |name: &str| t.stdout.lines().find(|l| l.contains(name)).unwrap().to_string();
    assert!(line("Ann Archer").starts_with("  4 Ann Archer") && line("Ann Archer").contains(" 99.9%"), "{}", t.stdout);
    assert!(line("Bob Baker").starts_with("  3 Bob Baker") && line("Bob Baker").contains("100.0%"), "{}", t.stdout);
    assert!(line("Dee Dunn").contains(" 79.9%"), "{}", t.stdout);
    let json = env.quotad(&["standings", "--period", "2026-02", "--format", "json", "--now", "2026-03-01T13:00:00Z"]);
    let rows: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let by = |n: &str| rows.as_array().unwrap().iter().find(|r| r["name"] == n).unwrap().clone();
    assert_eq!(
        (by("Ann Archer")["attainment_pct"].clone(), by("Ann Archer")["rank"].clone()),
        ("99.9".into(), 4.into())
    );
    assert_eq!(by("Ann Archer")["attainment"], "0.9995", "the exact value is kept");
    assert_eq!(by("Bob Baker")["attainment_pct"], "100.0", "one decimal always");
    assert_eq!(by("Eve Ezra")["attainment_pct"], "150.0");
    assert_eq!(by("Dee Dunn")["attainment_pct"], "79.9");
    let csv = env.quotad(&["standings", "--period", "2026-02", "--format", "csv", "--now", "2026-03-01T13:00:00Z"]);
    let mut rdr = csv::Reader::from_reader(csv.stdout.as_bytes());
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    let col = |h: &str| header.iter().position(|x| x == h).unwrap();
    let ann_row = rdr.records().map(|r| r.unwrap()).find(|r| &r[col("name")] == "Ann Archer").unwrap();
    assert_eq!((&ann_row[col("rank")], &ann_row[col("attainment_pct")]), ("4", "99.9"));
    let ratings =
        env.quotad(&["standings", "--period", "2026-02", "--board", "ratings", "--now", "2026-03-01T13:00:00Z"]);
    let dee_line = ratings.stdout.lines().find(|l| l.contains("Dee Dunn")).unwrap();
    assert!(dee_line.contains(" 3.9 ") && dee_line.trim_start().starts_with('1'), "{}", ratings.stdout);

    // explain ends at the same figure.
    let ex = env.quotad(&["explain", "--rep", "Ann Archer", "--period", "2026-02", "--now", "2026-03-01T13:00:00Z"]);
    assert_eq!(ex.code, 0, "{ex:?}");
    assert!(ex.stdout.contains("attainment = $99,950 / $100,000 = 0.9995 = 99.9% (shown and ranked"), "{}", ex.stdout);
    let ex = env.quotad(&["explain", "--rep", "Dee Dunn", "--period", "2026-02", "--now", "2026-03-01T13:00:00Z"]);
    assert!(ex.stdout.contains("= 79.9% (shown and ranked"), "{}", ex.stdout);
    assert!(ex.stdout.contains("mean 3.9 over n = 25"), "{}", ex.stdout);
    assert!(ex.stdout.contains("rating 3.9 (n = 25) below the 4.0 standard"), "{}", ex.stdout);
}

/// Ann, Bob (North) and Cy (South) on a 100,000 March quota; only Ann has sold by
/// Sunday 8 March (5,000 on the 3rd = 5.0%).
fn quiet_week_env() -> Env {
    let env = Env::new(&config(""));
    env.put("roster.csv", crate::harness::ROSTER);
    env.put(
        "quotas.csv",
        "Rep Email,Month,Revenue Quota\nann@example.com,2026-03,100000\nbob@example.com,2026-03,100000\ncy@example.com,2026-03,100000\n",
    );
    env.put("deals.csv", format!("{DEALS_HEADER}A1,ann@example.com,Closed Won,2026-03-03,5000,5,Yes\n"));
    exported(&env, "deals.csv", "2026-03-09T12:00:00Z");
    env
}

#[test]
fn nobody_is_celebrated_for_nothing_and_a_week_without_results_says_so() {
    let env = quiet_week_env();
    assert_eq!(env.quotad(&["import", "--now", "2026-03-09T15:00:00Z"]).code, 0);
    let run = env.quotad(&["run", "weekly-ranking", "--week", "2026-W10", "--now", "2026-03-09T15:00:00Z"]);
    assert_eq!(run.code, 0, "{run:?}");
    let mail = env
        .all_emails()
        .into_iter()
        .find(|e| e.file.starts_with("weekly-ranking_") && e.file.contains("full-ranking"))
        .unwrap();
    // The full ranking's message (to the managers). Top 3 on attainment: Ann alone (Bob and Cy, tied 2nd at 0.0%, are not "top").
    let top = mail.text.split("Top 3 on attainment:").nth(1).unwrap().split("\n\n").next().unwrap();
    assert_eq!(top.trim(), "1. Ann Archer (North): 5.0%", "{}", mail.text);
    assert!(mail.text.contains("Top revenue: 1. Ann Archer ($5,000)"), "{}", mail.text);
    assert!(!mail.text.contains("($0)") && !mail.text.contains("(0.0%)"), "{}", mail.text);
    assert!(!mail.html.contains("Bob Baker") && !mail.html.contains("Cy Cole"), "{}", mail.html);
    let pdf = pdf_text(&env.path("reports/ranking_2026-W10.pdf"));
    let celebrations = pdf.split("Celebrations").nth(1).unwrap().split("Team:").next().unwrap();
    assert!(celebrations.contains("1. Ann Archer ($5,000)"), "{pdf}");
    assert!(!celebrations.contains("Bob Baker") && !celebrations.contains("Cy Cole"), "{pdf}");
    // Still ranked, at 0.0% (one decimal in JSON).
    let json = env.quotad(&["standings", "--week", "2026-W10", "--format", "json", "--now", "2026-03-09T15:00:00Z"]);
    let rows: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let bob = rows.as_array().unwrap().iter().find(|r| r["name"] == "Bob Baker").unwrap();
    assert_eq!((bob["rank"].clone(), bob["attainment_pct"].clone()), (2.into(), "0.0".into()));

    // Week 2026-W09 (23 February – 1 March) ranks February in full (the month of its
    // Monday), which has no deals: the week is not drawn or sent at all (never
    // "everyone 1st at 0.0%"), and the run says why.
    let run = env.quotad(&["run", "weekly-ranking", "--week", "2026-W09", "--now", "2026-03-09T15:00:00Z"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains("no deals in February 2026") || run.stderr.contains("no deals in February 2026"),
        "{run:?}"
    );
    assert!(!env.all_emails().iter().any(|e| e.file.starts_with("weekly-ranking_2026-W09")));
    assert!(!env.path("reports/ranking_2026-W09.pdf").exists());
}

#[test]
fn a_team_is_one_team_however_the_roster_types_it() {
    // Six spellings of two teams. North: N1 50,000 + N2 70,000 + N3 90,000 = 210,000
    // on 300,000 = 70.0%; Lakeside: 100,000 + 120,000 + 20,000 = 240,000 on 300,000 =
    // 80.0%: Lakeside 1st, North 2nd of 2 (six teams before). Spelled as on the first
    // row of each: "North Division", "Lakeside Sales". (The import trims cells, so
    // "north division " is noted as 'north division'.)
    let env = Env::new(&config(""));
    env.put(
        "roster.csv",
        "Rep ID,Name,Email,Team,Manager,Manager Email,Hire Date,Status
N1,Nia One,n1@example.com,North Division,Mia Boss,mia@example.com,2020-01-06,Active
N2,Ned Two,n2@example.com,north division ,Mia Boss,mia@example.com,2020-01-06,Active
N3,Noa Three,n3@example.com,NORTH DIVISION,Mia Boss,mia@example.com,2020-01-06,Active
L1,Lia One,l1@example.com,Lakeside Sales,Max Chief,max@example.com,2020-01-06,Active
L2,Leo Two,l2@example.com,lakeside sales,Max Chief,max@example.com,2020-01-06,Active
L3,Lou Three,l3@example.com,LAKESIDE  SALES,Max Chief,max@example.com,2020-01-06,Active
",
    );
    let mut quotas = String::from("Rep Email,Month,Revenue Quota\n");
    let mut deals = String::from(DEALS_HEADER);
    for (r, amount) in [("n1", 50000), ("n2", 70000), ("n3", 90000), ("l1", 100000), ("l2", 120000), ("l3", 20000)] {
        quotas.push_str(&format!("{r}@example.com,2026-02,100000\n{r}@example.com,2026-03,100000\n"));
        deals.push_str(&format!("{r}-1,{r}@example.com,Closed Won,2026-02-10,{amount},5,Yes\n"));
    }
    env.put("quotas.csv", quotas);
    env.put("deals.csv", deals);
    exported(&env, "deals.csv", "2026-03-01T12:00:00Z");
    let import = env.quotad(&["import", "--now", "2026-03-01T13:00:00Z"]);
    assert_eq!(import.code, 0, "{import:?}");
    assert!(
        import
            .stdout
            .contains("team 'North Division' is also written 'north division', 'NORTH DIVISION': counted as one team"),
        "{}",
        import.stdout
    );
    assert!(
        import
            .stdout
            .contains("team 'Lakeside Sales' is also written 'lakeside sales', 'LAKESIDE  SALES': counted as one team"),
        "{}",
        import.stdout
    );
    let run = env.quotad(&["run", "quota-memo", "--period", "2026-03", "--now", "2026-03-01T13:00:00Z"]);
    assert_eq!(run.code, 0, "{run:?}");
    let mia = team_memo(&env, "mia@example.com");
    assert!(
        mia.text.contains(
            "North Division: March 2026 quota $300,000. February 2026: $210,000 against $300,000 = 70.0%, team rank 2 of 2."
        ),
        "{}",
        mia.text
    );
    assert_eq!(mia.text.matches("March 2026 quota").count(), 1, "one team, one total: {}", mia.text);
    let max = team_memo(&env, "max@example.com");
    assert!(max.text.contains("Lakeside Sales: March 2026 quota $300,000. February 2026: $240,000 against $300,000 = 80.0%, team rank 1 of 2."), "{}", max.text);
    // Ned's memo: company L2 120.0%, L1 100.0%, N3 90.0%, N2 70.0% (4th), N1 50.0%,
    // L3 20.0%; in his team, among North's three (N3, N2, N1): 2nd of 3.
    let ned = env.email_to("n2@example.com");
    assert_eq!(line_value(&ned.text, "Rank"), "4 of 6 company-wide, 2 of 3 in North Division");
    // --team matches however it is typed.
    let t = env.quotad(&[
        "standings",
        "--period",
        "2026-02",
        "--team",
        "  NORTH division",
        "--format",
        "json",
        "--now",
        "2026-03-01T13:00:00Z",
    ]);
    assert_eq!(t.code, 0, "{t:?}");
    let rows: serde_json::Value = serde_json::from_str(&t.stdout).unwrap();
    let names: Vec<&str> = rows.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["Noa Three", "Ned Two", "Nia One"]);
    assert!(rows.as_array().unwrap().iter().all(|r| r["scope"] == "North Division" && r["team"] == "North Division"));
    // The weekly ranking PDF: one page per team, two teams.
    let w = env.quotad(&["run", "weekly-ranking", "--week", "2026-W09", "--now", "2026-03-02T15:00:00Z"]);
    assert_eq!(w.code, 0, "{w:?}");
    let pdf = pdf_text(&env.path("reports/ranking_2026-W09.pdf"));
    assert_eq!(pdf.matches("Team: ").count(), 2, "{pdf}");
}

#[test]
fn team_attainment_never_mixes_reps_with_and_without_a_quota() {
    // Mia manages West (Wes: 80,000 on a 100,000 quota; Wyn: 300,000 and no quota) and
    // East (Eve: 5,000, no quota). West = 80,000 / 100,000 = 80.0%, never 380,000 /
    // 100,000 = 380.0%; Wyn is listed apart. East has no quota at all: "no quota",
    // never "$0" or a percent.
    let env = Env::new(&config(""));
    env.put(
        "roster.csv",
        "Rep ID,Name,Email,Team,Manager,Manager Email,Hire Date,Status
W1,Wes West,wes@example.com,West,Mia Boss,mia@example.com,2020-01-06,Active
W2,Wyn Wu,wyn@example.com,West,Mia Boss,mia@example.com,2020-01-06,Active
E1,Eve East,eve@example.com,East,Mia Boss,mia@example.com,2020-01-06,Active
",
    );
    env.put(
        "quotas.csv",
        "Rep Email,Month,Revenue Quota\nwes@example.com,2026-02,100000\nwes@example.com,2026-03,100000\nwyn@example.com,2026-02,0\n",
    );
    env.put(
        "deals.csv",
        format!(
            "{DEALS_HEADER}W1,wes@example.com,Closed Won,2026-02-10,80000,5,Yes\nW2,wyn@example.com,Closed Won,2026-02-11,300000,5,Yes\nE1,eve@example.com,Closed Won,2026-02-12,5000,5,Yes\n"
        ),
    );
    exported(&env, "deals.csv", "2026-03-01T12:00:00Z");
    assert_eq!(env.quotad(&["import", "--now", "2026-03-01T13:00:00Z"]).code, 0);
    let run = env.quotad(&["run", "quota-memo", "--period", "2026-03", "--now", "2026-03-01T13:00:00Z"]);
    assert_eq!(run.code, 0, "{run:?}");
    let mia = team_memo(&env, "mia@example.com");
    assert!(
        mia.text.contains(
            "West: March 2026 quota $100,000. February 2026: $80,000 against $100,000 = 80.0%, team rank 1 of 1; without a quota: Wyn Wu ($300,000)."
        ),
        "{}",
        mia.text
    );
    assert!(mia.text.contains("East: no quota for March 2026. February 2026: $5,000, no quota."), "{}", mia.text);
    assert!(!mia.text.contains("$0") && !mia.text.contains("380.0%"), "{}", mia.text);
    assert!(!mia.html.contains("$0") && mia.html.contains("without a quota: Wyn Wu ($300,000)"), "{}", mia.html);
}
