//! The weekly ranking's week rule, its skip and its boards (issue 18, items 1–3): a
//! week ranks the month to date of the month its Monday falls in, through its Sunday or
//! that month's last day; a week with nothing to rank is not drawn or sent; a company
//! without quotas is ranked on results. Figures are worked out by hand in the comments.

use crate::documents::{check_pdf, pages};
use crate::harness::{Env, ROSTER, config};

/// Writes `inbox/NAME` with its modification time (the export's date) set to `when`.
fn put_at(env: &Env, name: &str, text: &str, when: &str) {
    env.put(name, text);
    let t: chrono::DateTime<chrono::Utc> = when.parse().unwrap();
    let f = std::fs::File::options().write(true).open(env.path("inbox").join(name)).unwrap();
    f.set_modified(std::time::SystemTime::from(t)).unwrap();
}

const DEALS: &str = "Deal ID,Rep Email,Stage,Close Date,Sale Price\n";

fn october_november() -> Env {
    let env = Env::new(&config(""));
    env.put("roster.csv", ROSTER);
    env.put(
        "quotas.csv",
        "Rep Email,Month,Revenue Quota
ann@example.com,2026-10,400000
bob@example.com,2026-10,250000
cy@example.com,2026-10,300000
ann@example.com,2026-11,400000
bob@example.com,2026-11,300000
cy@example.com,2026-11,300000
",
    );
    // October exported on Saturday 31 Oct, 12:00 CDT (before it closed): preliminary.
    put_at(
        &env,
        "deals-oct.csv",
        &format!(
            "{DEALS}D1,bob@example.com,Closed Won,2026-10-20,200000\nD2,ann@example.com,Closed Won,2026-10-30,300000\n"
        ),
        "2026-10-31T17:00:00Z",
    );
    // November exported on Monday 9 Nov, 06:00 CST.
    put_at(
        &env,
        "deals-nov.csv",
        &format!(
            "{DEALS}D3,cy@example.com,Closed Won,2026-11-01,50000\nD4,bob@example.com,Closed Won,2026-11-05,100000\n"
        ),
        "2026-11-09T12:00:00Z",
    );
    let run = env.quotad(&["--now", "2026-11-09T15:00:00Z", "import"]);
    assert_eq!(run.code, 0, "{run:?}");
    env
}

const NOW: &str = "2026-11-09T15:00:00Z";

/// The text of the company section of a ranking PDF's first pages (before the team pages).
fn company(text: &[String]) -> String {
    text.iter().take_while(|p| !p.contains("Team: ")).cloned().collect::<Vec<_>>().join("\n")
}

/// Asserts the `names` appear in this order in `text`.
fn in_order(text: &str, names: &[&str]) {
    let mut last = 0;
    for n in names {
        let at = text[last..].find(n).unwrap_or_else(|| panic!("{n} not after offset {last} in:\n{text}")) + last;
        last = at + n.len();
    }
}

#[test]
fn the_week_of_26_october_ranks_october_in_full_and_the_next_november_1_to_8() {
    let env = october_november();
    let run = env.quotad(&["--now", NOW, "preview", "weekly-ranking", "--week", "2026-W44", "--out", "p"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("Weekly ranking 2026-W44 (October 2026 in full, Oct 1 – Oct 31)"), "{}", run.stdout);
    let pdf = env.path("p/ranking_2026-W44.pdf");
    check_pdf(&pdf);
    let text = pages(&pdf);
    let first = &text[0];
    assert!(first.contains("October 2026 in full"), "{first}");
    assert!(!first.contains("November 2026"), "{first}");
    assert!(first.contains("Preliminary"), "{first}");
    // Ann's deal of Friday 30 October counts; Cy's of Sunday 1 November does not.
    assert!(first.contains("$300,000") && !first.contains("$50,000"), "{first}");
    let co = company(&text);
    // Attainment: Bob 200,000 / 250,000 = 80.0%, Ann 300,000 / 400,000 = 75.0%, Cy 0.0%.
    let (att, res) = co.split_once("Company — results").unwrap_or_else(|| panic!("no results board:\n{co}"));
    assert!(att.contains("Company — attainment"), "{att}");
    in_order(att, &["Bob Baker", "80.0%", "Ann Archer", "75.0%", "Cy Cole", "0.0%"]);
    // Pace through 31 October (every day gone, as of 31 Oct): the attainment itself.
    assert!(att.contains("Pace"), "{att}");
    // Results: Ann 1st (▲1: 2nd on Oct 1 – Oct 25 with $0), Bob 2nd (▼1), Cy 3rd (▼1: 2nd then).
    in_order(
        res,
        &["1", "▲1", "Ann Archer", "$300,000", "2", "▼1", "Bob Baker", "$200,000", "3", "▼1", "Cy Cole", "$0"],
    );

    // The same figures in `standings --week`.
    let json = env.quotad(&["--now", NOW, "standings", "--week", "2026-W44", "--board", "results", "--format", "json"]);
    assert_eq!(json.code, 0, "{json:?}");
    let rows: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let ann = rows.as_array().unwrap().iter().find(|r| r["name"] == "Ann Archer").unwrap();
    assert_eq!((ann["period"].as_str(), ann["revenue"].as_str()), (Some("2026-10"), Some("300000")));
    assert_eq!((ann["rank"].as_u64(), ann["movement"].as_i64()), (Some(1), Some(1)));
    // Pace 300,000 / (400,000 × 31/31) = 0.75.
    assert_eq!(ann["pace"].as_str(), Some("0.75"));

    // W45 (2–8 November) ranks November 1–8: Cy's Sunday deal and Bob's of the 5th.
    let run = env.quotad(&["--now", NOW, "preview", "weekly-ranking", "--week", "2026-W45", "--out", "p"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("Weekly ranking 2026-W45 (November 2026 to date, Nov 1 – Nov 8)"), "{}", run.stdout);
    let pdf = env.path("p/ranking_2026-W45.pdf");
    check_pdf(&pdf);
    let text = pages(&pdf);
    let co = company(&text);
    // October's figures are gone: Bob's $200,000 of 20 October, Ann's deal of the 30th.
    assert!(!co.contains("$200,000") && !co.contains("October"), "{co}");
    assert!(co.contains("Ann Archer\nNorth\n$0\n"), "{co}");
    // Bob 100,000 / 300,000 = 33.3%, Cy 50,000 / 300,000 = 16.7%; pace over 8 of 30 days:
    // Bob 100,000 / 80,000 = 125.0%, Cy 50,000 / 80,000 = 62.5%.
    let (att, _) = co.split_once("Company — results").unwrap();
    in_order(att, &["Bob Baker", "$100,000", "33.3%", "125.0%", "Cy Cole", "$50,000", "16.7%", "62.5%", "Ann Archer"]);
    // The first ranking of November moves nobody: last week ranked October.
    assert!(!co.contains('▲') && !co.contains('▼'), "{co}");

    // The default week is the newest one with deals whose days the exports cover: the
    // November export of Monday 9 November covers 1–8 November.
    let run = env.quotad(&["--now", NOW, "preview", "weekly-ranking", "--out", "d"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.starts_with("Weekly ranking 2026-W45 "), "{}", run.stdout);

    // October's final export (written 2 November) adds a deal of Saturday 31 October.
    put_at(
        &env,
        "deals-oct-final.csv",
        &format!(
            "{DEALS}D1,bob@example.com,Closed Won,2026-10-20,200000\nD2,ann@example.com,Closed Won,2026-10-30,300000\nD5,cy@example.com,Closed Won,2026-10-31,30000\n"
        ),
        "2026-11-02T12:00:00Z",
    );
    assert_eq!(env.quotad(&["--now", NOW, "import"]).code, 0);
    let run = env.quotad(&["--now", NOW, "run", "weekly-ranking", "--week", "2026-W44"]);
    assert_eq!(run.code, 0, "{run:?}");
    let pdf = env.path("reports/ranking_2026-W44.pdf");
    let text = pages(&pdf);
    assert!(text[0].contains("Final") && !text[0].contains("Preliminary"), "{}", text[0]);
    // Cy: 30,000 / 300,000 = 10.0%. A final month has no pace.
    assert!(text[0].contains("$30,000") && text[0].contains("10.0%"), "{}", text[0]);
    assert!(!company(&text).contains("Pace"), "{}", text[0]);
    let mail = env.all_emails().into_iter().find(|e| e.to == "cy@example.com").unwrap();
    assert_eq!(mail.subject, "Test Homes weekly ranking 2026-W44: South, October 2026 in full");
    assert!(mail.text.contains("October 2026 in full (Oct 1 – Oct 31)"), "{}", mail.text);
    assert!(
        mail.text.contains("Top 3 on attainment") && mail.text.contains("Top 3 on results (revenue)"),
        "{}",
        mail.text
    );
}

#[test]
fn a_company_without_quotas_is_ranked_on_results_and_with_some_quotas_on_both_boards() {
    let env = Env::new(&config(""));
    env.put("roster.csv", ROSTER);
    // March 2026, no quota file: Bob and Cy 300,000 each (rank 1, 1), Ann 120,000 (3).
    env.put(
        "deals.csv",
        format!(
            "{DEALS}D1,ann@example.com,Closed Won,2026-03-03,120000\nD2,bob@example.com,Closed Won,2026-03-04,300000\nD3,cy@example.com,Closed Won,2026-03-05,300000\n"
        ),
    );
    assert_eq!(env.quotad(&["import"]).code, 0);
    let run = env.quotad(&["--now", "2026-03-16T15:00:00Z", "run", "weekly-ranking", "--week", "2026-W11"]);
    assert_eq!(run.code, 0, "{run:?}");
    let pdf = env.path("reports/ranking_2026-W11.pdf");
    check_pdf(&pdf);
    let text = pages(&pdf);
    let co = company(&text);
    assert!(co.contains("Nobody has a quota for March 2026: ranked on results (revenue)"), "{co}");
    assert!(co.contains("Company — results") && !co.contains("Company — attainment"), "{co}");
    assert!(!co.contains("no quota") && !co.contains("Attainment"), "{co}");
    in_order(&co, &["1", "Bob Baker", "$300,000", "1", "Cy Cole", "$300,000", "3", "Ann Archer", "$120,000"]);
    // Not listed unranked: no rank cell is "–".
    assert!(!co.lines().any(|l| l.trim() == "–"), "{co}");
    // The North page ranks its own: Bob 1, Ann 2.
    let north = text.iter().find(|p| p.contains("Team: North")).unwrap();
    in_order(north, &["1", "Bob Baker", "$300,000", "2", "Ann Archer", "$120,000"]);
    // The e-mail's top 3 are on results.
    let mail = env.all_emails().into_iter().find(|e| e.to == "ann@example.com").unwrap();
    for body in [&mail.text, &mail.html] {
        assert!(body.contains("Top 3 on results (revenue)") && !body.contains("Top 3 on attainment"), "{body}");
        assert!(!body.contains("Nobody is ranked"), "{body}");
    }
    in_order(&mail.text, &["1. Bob Baker (North): $300,000", "1. Cy Cole (South): $300,000"]);
    // Ann is 3rd of 3, the last: not congratulated on a "top 3" place (domain::top_place).
    assert!(!mail.text.contains("Ann Archer (North): $120,000"), "{}", mail.text);

    // With a quota for Ann only (100,000: 120.0%), both boards, each labelled.
    env.put("quotas.csv", "Rep Email,Month,Revenue Quota\nann@example.com,2026-03,100000\n");
    assert_eq!(env.quotad(&["import"]).code, 0);
    let run =
        env.quotad(&["--now", "2026-03-16T15:00:00Z", "preview", "weekly-ranking", "--week", "2026-W11", "--out", "p"]);
    assert_eq!(run.code, 0, "{run:?}");
    let text = pages(&env.path("p/ranking_2026-W11.pdf"));
    let co = company(&text);
    let (att, res) = co.split_once("Company — results").unwrap_or_else(|| panic!("{co}"));
    assert!(att.contains("Company — attainment"), "{att}");
    in_order(att, &["1", "Ann Archer", "120.0%", "Bob Baker", "no quota", "Cy Cole", "no quota"]);
    in_order(res, &["1", "Bob Baker", "1", "Cy Cole", "3", "Ann Archer"]);
    // South has no quota at all: its page ranks on results alone, and says so.
    let south = text.iter().find(|p| p.contains("Team: South")).unwrap();
    assert!(south.contains("nobody in the team has a quota: ranked on results (revenue)"), "{south}");
    assert!(south.contains("Results (revenue)") && !south.contains("Attainment"), "{south}");
    in_order(south, &["1", "Cy Cole", "$300,000"]);
    let north = text.iter().find(|p| p.contains("Team: North")).unwrap();
    assert!(north.contains("Attainment (% of quota)") && north.contains("Results (revenue)"), "{north}");
}

#[test]
fn a_summary_source_has_no_month_to_date_pace() {
    let env = Env::new(&config("[sources.summary]\nkind = \"summary\"\nfiles = [\"summary*\"]\n"));
    env.put("roster.csv", ROSTER);
    env.put(
        "quotas.csv",
        "Rep Email,Month,Revenue Quota\nann@example.com,2026-11,400000\nbob@example.com,2026-11,300000\ncy@example.com,2026-11,300000\n",
    );
    // November totals as exported on Thursday 12 November. Dated by day they would pace at
    // Ann 350,000 / (400,000 × 12/30) = 218.8% and Bob 20,000 / 120,000 = 16.7% (off pace).
    put_at(
        &env,
        "summary-2026-11.csv",
        "Rep Email,Month,Revenue\nann@example.com,2026-11,350000\nbob@example.com,2026-11,20000\ncy@example.com,2026-11,90000\n",
        "2026-11-12T18:00:00Z",
    );
    let now = "2026-11-13T15:00:00Z";
    assert_eq!(env.quotad(&["--now", now, "import"]).code, 0);
    let json = env.quotad(&["--now", now, "standings", "--period", "2026-11", "--format", "json"]);
    assert_eq!(json.code, 0, "{json:?}");
    let rows: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    for r in rows.as_array().unwrap() {
        assert!(r["pace"].is_null(), "{r}");
    }
    let table = env.quotad(&["--now", now, "standings", "--period", "2026-11"]);
    assert!(!table.stdout.contains("218.8") && !table.stdout.contains("16.7"), "{}", table.stdout);
    let explain = env.quotad(&["--now", now, "explain", "--rep", "bob@example.com", "--period", "2026-11"]);
    assert_eq!(explain.code, 0, "{explain:?}");
    assert!(!explain.stdout.contains("off pace"), "{}", explain.stdout);
    assert!(explain.stdout.contains("no month-to-date pace"), "{}", explain.stdout);
    // The ranking of 9–15 November (1–15 November): no Pace column, no pace figures.
    let run = env.quotad(&["--now", now, "preview", "weekly-ranking", "--week", "2026-W46", "--out", "p"]);
    assert_eq!(run.code, 0, "{run:?}");
    let pdf = env.path("p/ranking_2026-W46.pdf");
    check_pdf(&pdf);
    let all = pages(&pdf).join("\n");
    assert!(all.contains("$350,000") && all.contains("87.5%"), "{all}");
    assert!(!all.contains("Pace") && !all.contains("pace") && !all.contains("218.8%"), "{all}");
    // The manager's 1:1 sheet for November flags nobody off pace.
    let run = env.quotad(&[
        "--now",
        now,
        "preview",
        "one-on-one",
        "--period",
        "2026-11",
        "--rep",
        "bob@example.com",
        "--out",
        "s",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let sheet = std::fs::read_dir(env.path("s")).unwrap().next().unwrap().unwrap().path();
    let sheet = if sheet.is_dir() { std::fs::read_dir(&sheet).unwrap().next().unwrap().unwrap().path() } else { sheet };
    let t = pages(&sheet).join("\n");
    assert!(!t.to_lowercase().contains("off pace") && t.contains("No flags this month."), "{t}");
}

#[test]
fn a_scheduled_week_with_no_deals_is_skipped_and_the_admin_told() {
    let env = Env::new(&config("admin = \"Ops Admin <admin@test-homes.com>\"\n"));
    env.put("roster.csv", ROSTER);
    env.put(
        "quotas.csv",
        "Rep Email,Month,Revenue Quota\nann@example.com,2026-10,400000\nann@example.com,2026-11,400000\n",
    );
    // October, and one November deal on the 20th: nothing on 1–8 November.
    env.put(
        "deals.csv",
        format!(
            "{DEALS}D1,ann@example.com,Closed Won,2026-10-30,300000\nD2,bob@example.com,Closed Won,2026-11-20,100000\n"
        ),
    );
    let now = "2026-11-23T15:00:00Z";
    assert_eq!(env.quotad(&["--now", now, "import"]).code, 0);
    // Monday 9 November 08:00 CST: week 2026-W45, November 1–8.
    let r = env.quotad(&["--now", now, "run", "weekly-ranking", "--at", "2026-11-09T14:00:00Z"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains(
            "weekly-ranking 2026-11-09 08:00 CST (14:00 UTC): skipped: no data: no deals stored for 2026-11 through 2026-11-08 (data for 2026-10 to 2026-11) (told admin@test-homes.com)"
        ),
        "{r:?}"
    );
    let mail = env.all_emails();
    assert_eq!(mail.len(), 1, "{:?}", mail.iter().map(|e| &e.file).collect::<Vec<_>>());
    assert_eq!(mail[0].to, "admin@test-homes.com");
    assert_eq!(mail[0].subject, "quotad: weekly-ranking for 2026-W45 skipped: no data");
    assert!(env.files_in("reports").is_empty(), "{:?}", env.files_in("reports"));
    // Monday 2 November's occurrence, week 2026-W44, ranks October in full.
    let r = env.quotad(&["--now", now, "run", "weekly-ranking", "--at", "2026-11-02T14:00:00Z"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("succeeded: Weekly ranking 2026-W44 (October 2026 in full, Oct 1 – Oct 31)"), "{r:?}");
    let ann = env.all_emails().into_iter().find(|e| e.to == "ann@example.com").unwrap();
    assert!(ann.text.contains("1. Ann Archer (North): 75.0%"), "{}", ann.text);
    // By hand: preview and run say so and draw nothing.
    let p = env.quotad(&["--now", now, "preview", "weekly-ranking", "--week", "2026-W45", "--out", "p"]);
    assert_eq!(p.code, 1, "{p:?}");
    assert!(p.stdout.contains("no deals in November 2026 to date, Nov 1 – Nov 8: nothing drawn"), "{p:?}");
    assert!(!env.path("p/ranking_2026-W45.pdf").exists());
    let before = env.all_emails().len();
    let r = env.quotad(&["--now", now, "run", "weekly-ranking", "--week", "2026-W45"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout.contains("no deals in November 2026 to date, Nov 1 – Nov 8: nothing drawn, nothing sent"),
        "{r:?}"
    );
    assert_eq!(env.all_emails().len(), before);
}
