//! Issue 20 items 3 and 4: fiscal years and quarter columns. Quotas spread over fiscal
//! months, fiscal-year naming, quarter columns, QTD/YTD in the memo and the 1:1 sheet,
//! the ranking's fiscal quarter. Every figure was worked out by hand (in the comments).

use rust_decimal::Decimal;

use crate::harness::{Env, ROSTER, X, config, xlsx};

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn p(s: &str) -> quotad::domain::Period {
    s.parse().unwrap()
}

/// `config` with `org_extra` added under `[org]` and `quotas` under `[sources.quotas]`.
fn fiscal_config(org_extra: &str, quotas: &str) -> String {
    config("")
        .replace("time_zone = \"America/Chicago\"", &format!("time_zone = \"America/Chicago\"\n{org_extra}"))
        .replace("files = [\"quotas*\"]", &format!("files = [\"quotas*\"]\n{quotas}"))
}

/// The stored revenue quota of `email` for month `m`, if any.
fn quota(env: &Env, email: &str, m: &str) -> Option<Decimal> {
    let q = env.store().quotas_between(p(m), p(m)).unwrap();
    q.iter().find(|x| x.rep.email.as_deref() == Some(email) || x.rep.id.as_deref() == Some(email)).map(|x| x.revenue)
}

fn months_of(env: &Env, who: &str) -> Vec<String> {
    let q = env.store().quotas_between(p("2000-01"), p("2100-12")).unwrap();
    q.iter()
        .filter(|x| x.rep.email.as_deref() == Some(who) || x.rep.id.as_deref() == Some(who))
        .map(|x| x.month.to_string())
        .collect()
}

#[test]
fn a_fiscal_april_annual_quota_table_spreads_over_the_fiscal_months() {
    // FY2027, April start, named by its end (the default): April 2026 – March 2027.
    let cfg =
        fiscal_config("fiscal_year_start = \"April\"", "quota_period = \"year\"\ncolumns.month = [\"Fiscal Year\"]");
    let env = Env::new(&cfg);
    env.put("roster.csv", ROSTER);
    env.put(
        "quotas.csv",
        "Rep Email,Fiscal Year,Revenue Quota\nann@example.com,2027,1200000\nbob@example.com,2027,1000000\n",
    );
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("quotas.csv [quotas]: 24 new"), "{}", run.stdout);
    // 1,200,000 / 12 = 100,000 a month, April 2026 .. March 2027; nothing in March 2026.
    assert_eq!(quota(&env, "ann@example.com", "2026-03"), None);
    assert_eq!(quota(&env, "ann@example.com", "2026-04"), Some(dec("100000")));
    assert_eq!(quota(&env, "ann@example.com", "2027-03"), Some(dec("100000")));
    assert_eq!(quota(&env, "ann@example.com", "2027-04"), None);
    // 1,000,000 / 12 = 83,333.33 (rounded to the cent) for April .. February; March,
    // the fiscal year's last month, takes the rest: 1,000,000 - 11 x 83,333.33 = 83,333.37.
    assert_eq!(quota(&env, "bob@example.com", "2026-04"), Some(dec("83333.33")));
    assert_eq!(quota(&env, "bob@example.com", "2027-02"), Some(dec("83333.33")));
    assert_eq!(quota(&env, "bob@example.com", "2027-03"), Some(dec("83333.37")));
    let bob: Vec<String> = months_of(&env, "bob@example.com");
    assert_eq!((bob.len(), bob[0].as_str(), bob[11].as_str()), (12, "2026-04", "2027-03"));
}

#[test]
fn a_fiscal_year_is_named_by_its_end_or_by_its_start() {
    // FY2014 with an April start: April 2013 – March 2014 named by its end (default),
    // April 2014 – March 2015 named by its start.
    for (named_by, first, last) in
        [("", "2013-04", "2014-03"), ("fiscal_year_named_by = \"start\"", "2014-04", "2015-03")]
    {
        let cfg = fiscal_config(
            &format!("fiscal_year_start = \"April\"\n{named_by}"),
            "quota_period = \"year\"\ncolumns.month = [\"Fiscal Year\"]",
        );
        let env = Env::new(&cfg);
        env.put("roster.csv", ROSTER);
        env.put("quotas.csv", "Rep Email,Fiscal Year,Revenue Quota\nann@example.com,FY2014,120000\n".replace("FY", ""));
        let run = env.quotad(&["import"]);
        assert_eq!(run.code, 0, "{run:?}");
        let months = months_of(&env, "ann@example.com");
        assert_eq!((months.len(), months[0].as_str(), months[11].as_str()), (12, first, last), "{named_by}");
        assert_eq!(quota(&env, "ann@example.com", first), Some(dec("10000")));
    }
}

/// A roster whose rep ids are the sales offices (locations) each rep runs.
const OFFICES: &str = "Rep ID,Name,Email,Team,Manager,Manager Email,Hire Date,Status
OAK-RIDGE,Ann Archer,ann@example.com,North,Mia Boss,mia@example.com,2020-01-06,Active
PINE-HILL,Bob Baker,bob@example.com,North,Mia Boss,mia@example.com,2021-02-01,Active
";

#[test]
fn a_q1_to_q4_table_with_a_year_column_reads_as_fiscal_quarterly_quotas() {
    use X::*;
    // No quota_layout: the quarter columns make it a table with a column per quarter.
    let cfg = fiscal_config("fiscal_year_start = \"April\"", "columns.rep_id = [\"Location\"]");
    let env = Env::new(&cfg);
    env.put("roster.csv", OFFICES);
    env.put(
        "quotas.xlsx",
        xlsx(&[
            vec![S("Quotas by location")],
            vec![S("Location"), S("Region"), S("Year"), S("Q1"), S("Q2"), S("Q3"), S("Q4")],
            vec![S("OAK-RIDGE"), S("North"), N(2027.0), N(300000.0), N(250000.01), N(600000.0), N(100000.0)],
            vec![S("PINE-HILL"), S("North"), N(2027.0), E, N(90000.0), E, E],
        ]),
    );
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("quotas.xlsx [quotas, sheet 'Closed Sales']: 15 new"), "{}", run.stdout);
    let q = |m: &str| quota(&env, "OAK-RIDGE", m);
    // FY2027 Q1 = April – June 2026: 300,000 / 3 = 100,000 each.
    assert_eq!((q("2026-04"), q("2026-06")), (Some(dec("100000")), Some(dec("100000"))));
    // Q2 = July – September: 250,000.01 / 3 = 83,333.3366.. -> 83,333.34 for July and
    // August; September takes the rest, 250,000.01 - 166,666.68 = 83,333.33.
    assert_eq!(q("2026-07"), Some(dec("83333.34")));
    assert_eq!(q("2026-08"), Some(dec("83333.34")));
    assert_eq!(q("2026-09"), Some(dec("83333.33")));
    // Q3 = October – December: 200,000 each. Q4 = January – March 2027: 100,000 / 3 =
    // 33,333.33, 33,333.33 and the rest, 33,333.34, in March.
    assert_eq!(q("2026-12"), Some(dec("200000")));
    assert_eq!(q("2027-01"), Some(dec("33333.33")));
    assert_eq!(q("2027-03"), Some(dec("33333.34")));
    assert_eq!(q("2026-03"), None);
    // Pine Hill: Q2 only, 30,000 a month, July – September 2026.
    assert_eq!(months_of(&env, "PINE-HILL"), ["2026-07", "2026-08", "2026-09"]);
    assert_eq!(quota(&env, "PINE-HILL", "2026-08"), Some(dec("30000")));
}

#[test]
fn fiscal_quarter_headers_name_their_year_or_take_the_sources_year() {
    // `FY2027 Q3`, `2027-Q4` and `Q1 2028`, April start named by its end: October –
    // December 2026, January – March 2027 and April – June 2027.
    let cfg = fiscal_config("fiscal_year_start = \"April\"", "");
    let env = Env::new(&cfg);
    env.put("roster.csv", ROSTER);
    env.put("quotas.csv", "Rep Email,FY2027 Q3,2027-Q4,Q1 2028\nann@example.com,90000,60000,30000\n");
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    let ann = months_of(&env, "ann@example.com");
    assert_eq!(
        ann,
        ["2026-10", "2026-11", "2026-12", "2027-01", "2027-02", "2027-03", "2027-04", "2027-05", "2027-06"]
    );
    assert_eq!(quota(&env, "ann@example.com", "2026-11"), Some(dec("30000")));
    assert_eq!(quota(&env, "ann@example.com", "2027-02"), Some(dec("20000")));
    assert_eq!(quota(&env, "ann@example.com", "2027-06"), Some(dec("10000")));

    // Q1..Q4 without a year column take `year` from the source's config: FY2027 Q1 is
    // April – June 2026; named by its start, it is April – June 2027.
    for (named_by, first) in [("", "2026-04"), ("fiscal_year_named_by = \"start\"", "2027-04")] {
        let cfg = fiscal_config(&format!("fiscal_year_start = \"April\"\n{named_by}"), "year = 2027");
        let env = Env::new(&cfg);
        env.put("roster.csv", ROSTER);
        env.put("quotas.csv", "Rep Email,Q1,Q2,Q3,Q4\nbob@example.com,30000,30000,30000,30000\n");
        let run = env.quotad(&["import"]);
        assert_eq!(run.code, 0, "{run:?}");
        let bob = months_of(&env, "bob@example.com");
        assert_eq!((bob.len(), bob[0].as_str()), (12, first), "{named_by}");
    }

    // Without a year anywhere, the file is refused, saying where a year can come from.
    let env = Env::new(&fiscal_config("", ""));
    env.put("roster.csv", ROSTER);
    env.put("quotas.csv", "Rep Email,Q1,Q2\nbob@example.com,1,2\n");
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains(
            "lacks year (Year / Fiscal Year) or sources.quotas.year, as the month or quarter columns name no year"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn a_bad_quarter_header_or_value_names_file_sheet_row_column_and_value() {
    use X::*;
    let env = Env::new(&fiscal_config("fiscal_year_start = \"April\"", ""));
    env.put("roster.csv", ROSTER);
    env.put("quotas-bad-header.csv", "Rep Email,FY2027 Q3,FY2027 Q5\nann@example.com,1,2\n");
    env.put(
        "quotas-bad-value.xlsx",
        xlsx(&[
            vec![S("Rep Email"), S("Year"), S("Q1"), S("Q2")],
            vec![S("ann@example.com"), N(2027.0), N(1000.0), S("12,5OO")],
            vec![S("bob@example.com"), N(2027.0), N(1000.0), N(-5.0)],
        ]),
    );
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 1, "{run:?}");
    let out = &run.stdout;
    assert!(
        out.contains("quotas-bad-header.csv [quotas]: row 1, column C 'FY2027 Q5': 'Q5' is not a quarter: expected Q1, Q2, Q3 or Q4 (quarter headers read as Q3, FY2026 Q3, 2026-Q3 or Q3 2026)"),
        "{out}"
    );
    assert!(out.contains("QUARANTINED  quotas-bad-value.xlsx [quotas]: 2 of 2 data rows rejected"), "{out}");
    let report = std::fs::read_to_string(env.dir.path().join("quarantine/quotas-bad-value.xlsx.errors.txt")).unwrap();
    assert!(report.contains("sheet 'Closed Sales', row 2, column D 'Q2': '12,5OO': expected an amount"), "{report}");
    assert!(
        report.contains("sheet 'Closed Sales', row 3, column D 'Q2': '-5': a quota cannot be negative"),
        "{report}"
    );
    assert!(env.store().quotas_between(p("2026-01"), p("2027-12")).unwrap().is_empty());
}

/// Ann (at her desk since 2020) and Dee, hired 10 August 2026, in the middle of FY2027
/// Q2 (an April fiscal year).
const ANN_AND_DEE: &str = "Rep ID,Name,Email,Team,Manager,Manager Email,Hire Date,Status
R1,Ann Archer,ann@example.com,North,Mia Boss,mia@example.com,2020-01-06,Active
R4,Dee Dunn,dee@example.com,North,Mia Boss,mia@example.com,2026-08-10,Active
";

/// Quotas: Ann 100,000 a month April – September 2026, 200,000 in October, 100,000 in
/// November; Dee 50,000 (ramp-up) in August, then 100,000 a month.
fn to_date_env(org_extra: &str) -> Env {
    let env = Env::new(&fiscal_config(org_extra, ""));
    env.put("roster.csv", ANN_AND_DEE);
    let mut q = String::from("Rep Email,Month,Revenue Quota\n");
    for m in 4..=9 {
        q.push_str(&format!("ann@example.com,2026-{m:02},100000\n"));
    }
    q.push_str("ann@example.com,2026-10,200000\nann@example.com,2026-11,100000\n");
    q.push_str("dee@example.com,2026-08,50000\ndee@example.com,2026-09,100000\n");
    q.push_str("dee@example.com,2026-10,100000\ndee@example.com,2026-11,100000\n");
    env.put("quotas.csv", q);
    env.put(
        "deals.csv",
        "Deal ID,Sales Rep,Stage,Close Date,Sale Price
A1,Ann Archer,Closed Won,2026-05-10,100000
A2,Ann Archer,Closed Won,2026-06-12,300000
A3,Ann Archer,Closed Won,2026-07-08,150000
A4,Ann Archer,Closed Won,2026-09-20,150000
A5,Ann Archer,Closed Won,2026-10-15,199900
D1,Dee Dunn,Closed Won,2026-08-20,40000
D2,Dee Dunn,Closed Won,2026-10-05,120000
",
    );
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    env
}

#[test]
fn the_memo_states_fiscal_quarter_and_year_to_date_against_quota() {
    let env = to_date_env("fiscal_year_start = \"April\"");
    let run = env.quotad(&["run", "quota-memo", "--period", "2026-11"]);
    assert_eq!(run.code, 0, "{run:?}");
    // The November memo reviews October, FY2027 Q3's first month.
    // Ann: quarter to date = October: 199,900 of 200,000 = 99.95%, shown 99.9% (never
    // 100.0%). Year to date = April – October: 100,000 + 300,000 + 150,000 + 150,000 +
    // 199,900 = 899,900 against 6 x 100,000 + 200,000 = 800,000: 112.4875% -> 112.5%.
    let ann = env.email_to("ann@example.com");
    assert!(
        ann.text.contains("  Quarter to date   $199,900 of $200,000 quota, 99.9% (FY2027 Q3: Oct 2026)\n"),
        "{}",
        ann.text
    );
    assert!(
        ann.text.contains("  Year to date      $899,900 of $800,000 quota, 112.5% (FY2027: Apr 2026 – Oct 2026)\n"),
        "{}",
        ann.text
    );
    assert!(
        ann.html.contains("<td>Quarter to date</td><td style=\"text-align: right;\">$199,900</td>"),
        "{}",
        ann.html
    );
    assert!(ann.html.contains("112.5% of $800,000 quota &middot; FY2027: Apr 2026 – Oct 2026"), "{}", ann.html);
    // Dee joined mid-Q2: the months before she joined count nothing. Quarter to date:
    // 120,000 of 100,000 = 120.0%. Year to date: August 40,000 + October 120,000 =
    // 160,000 against 50,000 + 100,000 + 100,000 = 250,000: 64.0%.
    let dee = env.email_to("dee@example.com");
    assert!(
        dee.text.contains("  Quarter to date   $120,000 of $100,000 quota, 120.0% (FY2027 Q3: Oct 2026)\n"),
        "{}",
        dee.text
    );
    assert!(
        dee.text.contains("  Year to date      $160,000 of $250,000 quota, 64.0% (FY2027: Apr 2026 – Oct 2026)\n"),
        "{}",
        dee.text
    );
}

/// The one PDF under `dir` (searched recursively).
fn pdf_in(dir: &std::path::Path) -> std::path::PathBuf {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "pdf") {
                found.push(p);
            }
        }
    }
    assert_eq!(found.len(), 1, "{found:?}");
    found.pop().unwrap()
}

/// The PDF's text with its whitespace runs as single spaces.
fn pdftotext(path: &std::path::Path) -> String {
    crate::harness::pdftotext(path).split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn the_one_on_one_sheet_states_fiscal_quarter_and_year_to_date() {
    // Named by its start, the same year is FY2026: only the labels change.
    for (org, fy) in [
        ("fiscal_year_start = \"April\"", "FY2027"),
        ("fiscal_year_start = 4\nfiscal_year_named_by = \"start\"", "FY2026"),
    ] {
        let env = to_date_env(org);
        let run =
            env.quotad(&["preview", "one-on-one", "--period", "2026-09", "--rep", "Ann Archer", "--out", "previews"]);
        assert_eq!(run.code, 0, "{run:?}");
        let file = pdf_in(&env.path("previews"));
        let t = pdftotext(&file);
        // September closes FY Q2 (July – September): 150,000 + 0 + 150,000 = 300,000 of
        // 300,000 = 100.0%. Year to date April – September: 700,000 of 600,000 = 116.7%
        // (116.666..., half away from zero).
        assert!(
            t.contains(&format!("Quarter to date ({fy} Q2: Jul 2026 – Sep 2026): $300,000 of $300,000 quota · 100.0%")),
            "{t}"
        );
        assert!(
            t.contains(&format!("Year to date ({fy}: Apr 2026 – Sep 2026): $700,000 of $600,000 quota · 116.7%")),
            "{t}"
        );
    }
    // Dee in October: the quarter is October alone (120.0%); the year, her months only.
    let env = to_date_env("fiscal_year_start = \"April\"");
    let run = env.quotad(&["preview", "one-on-one", "--period", "2026-10", "--rep", "Dee Dunn", "--out", "previews"]);
    assert_eq!(run.code, 0, "{run:?}");
    let file = pdf_in(&env.path("previews"));
    let t = pdftotext(&file);
    assert!(t.contains("Quarter to date (FY2027 Q3: Oct 2026): $120,000 of $100,000 quota · 120.0%"), "{t}");
    assert!(t.contains("Year to date (FY2027: Apr 2026 – Oct 2026): $160,000 of $250,000 quota · 64.0%"), "{t}");
}

#[test]
fn the_weekly_rankings_title_names_the_fiscal_quarter() {
    // 2026-W44 (26 October – 1 November) ranks October 2026 in full.
    for (org, quarter) in [
        ("fiscal_year_start = \"April\"", "FY2027 Q3"),
        ("fiscal_year_start = \"April\"\nfiscal_year_named_by = \"start\"", "FY2026 Q3"),
        ("", "FY2026 Q4"),
    ] {
        let env = to_date_env(org);
        let run = env.quotad(&["preview", "weekly-ranking", "--week", "2026-W44", "--out", "previews"]);
        assert_eq!(run.code, 0, "{run:?}");
        let t = pdftotext(&env.path("previews/ranking_2026-W44.pdf"));
        assert!(t.contains(&format!("Weekly ranking · {quarter}")), "{org}: {t}");
        let t = pdftotext(&env.path("previews/ranking_2026-W44/ranking_2026-W44_North.pdf"));
        assert!(t.contains(&format!("Weekly ranking: North · {quarter}")), "{org}: {t}");
    }
}

#[test]
fn a_fiscal_year_column_names_fiscal_months_a_year_column_calendar_ones() {
    // April start, named by its end: month 3 of FY2027 is March 2027, month 4 April 2026;
    // beside a plain "Year" column the months are calendar months.
    let env = Env::new(&fiscal_config("fiscal_year_start = \"April\"", ""));
    env.put("roster.csv", ROSTER);
    env.put(
        "quotas-fy.csv",
        "Rep Email,Fiscal Year,Month,Revenue Quota\nann@example.com,2027,March,1000\nann@example.com,2027,April,2000\n",
    );
    env.put("quotas-cal.csv", "Rep Email,Year,Month,Revenue Quota\nbob@example.com,2027,April,3000\n");
    // Two columns that give one month a quota reject the row, naming both.
    env.put("quotas-twice.csv", "Rep Email,FY2027 Q3,2027-Q3\ncy@example.com,300,300\n");
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(quota(&env, "ann@example.com", "2027-03"), Some(dec("1000")));
    assert_eq!(quota(&env, "ann@example.com", "2026-04"), Some(dec("2000")));
    assert_eq!(months_of(&env, "bob@example.com"), ["2027-04"]);
    assert!(months_of(&env, "cy@example.com").is_empty());
    let report = std::fs::read_to_string(env.dir.path().join("quarantine/quotas-twice.csv.errors.txt")).unwrap();
    assert!(
        report.contains("row 2, column C '2027-Q3': '300': columns B 'FY2027 Q3' and C '2027-Q3' both give a quota for 2026-10: keep one"),
        "{report}"
    );
}
