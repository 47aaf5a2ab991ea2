//! The public samples in ../shared/samples/real, read in place (never copied into the
//! repository). Each test fails when the folder is absent, unless QUOTAD_ALLOW_SKIP=1 (see inputs.rs).

use std::collections::BTreeMap;
use std::path::PathBuf;

use rust_decimal::Decimal;

use crate::harness::{Env, config, line_value};

/// The public samples folder, or a failure naming it (see [`crate::inputs`]).
fn samples() -> Option<PathBuf> {
    crate::inputs::sample("")
}

/// The committed tests/fixtures/maven/quotad.toml, with its output folders moved into
/// the test's folder and its inbox made absolute. Nothing else is changed.
fn maven_env(real: &std::path::Path) -> Env {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let cfg = std::fs::read_to_string(root.join("tests/fixtures/maven/quotad.toml")).unwrap();
    let cfg = cfg
        .replace("inbox = \"../../../../shared/samples/real\"", &format!("inbox = {:?}", real.display().to_string()))
        .replace("\"../../../var/maven/", "\"var/");
    Env { outbox: "var/outbox", ..Env::new(&cfg) }
}

/// The committed tests/fixtures/NAME/quotad.toml with its inbox made absolute and its
/// output folders moved into the test's folder (as [`maven_env`] does).
fn fixture_env(name: &str, real: &std::path::Path) -> Env {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let cfg = std::fs::read_to_string(root.join(format!("tests/fixtures/{name}/quotad.toml"))).unwrap();
    assert!(cfg.contains("inbox = \"../../../../shared/samples/real\""));
    let cfg = cfg
        .replace("inbox = \"../../../../shared/samples/real\"", &format!("inbox = {:?}", real.display().to_string()))
        .replace(&format!("\"../../../var/{name}/"), "\"var/");
    Env { outbox: "var/outbox", ..Env::new(&cfg) }
}

fn store_of(env: &Env) -> quotad::store::Store {
    quotad::store::Store::open(&env.path("var/quotad.sqlite")).unwrap()
}

fn p(s: &str) -> quotad::domain::Period {
    s.parse().unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// "$1,234,567" for whole dollars, computed here independently of quotad's formatter.
fn dollars(v: Decimal) -> String {
    let digits = v.round().abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{}${out}", if v < Decimal::ZERO { "-" } else { "" })
}

/// Won close_value per agent for deals closed in `month` ("2017-12"), read straight
/// from the CSV with the csv crate.
fn won_by_agent(real: &std::path::Path, month: &str) -> BTreeMap<String, (Decimal, u32)> {
    let mut rdr = csv::Reader::from_path(real.join("maven_crm_sales_pipeline.csv")).unwrap();
    let h = rdr.headers().unwrap().clone();
    let col = |name: &str| h.iter().position(|x| x == name).unwrap();
    let (agent, stage, close, value) = (col("sales_agent"), col("deal_stage"), col("close_date"), col("close_value"));
    let mut sums: BTreeMap<String, (Decimal, u32)> = BTreeMap::new();
    for r in rdr.records() {
        let r = r.unwrap();
        if &r[stage] == "Won" && r[close].starts_with(month) {
            let e = sums.entry(r[agent].to_string()).or_default();
            e.0 += r[value].parse::<Decimal>().unwrap();
            e.1 += 1;
        }
    }
    sums
}

#[test]
fn maven_crm_export_memos_match_sums_computed_from_the_csv() {
    let Some(real) = samples() else { return };
    let env = maven_env(&real);
    let roster: Vec<String> = csv::Reader::from_path(real.join("maven_crm_sales_teams.csv"))
        .unwrap()
        .records()
        .map(|r| r.unwrap()[0].to_string())
        .collect();
    assert_eq!(roster.len(), 35);

    // --period names the memo month: the 2018-01 memo reports December 2017, the
    // 2017-12 memo reports November 2017.
    for (memo, results, label) in [("2018-01", "2017-12", "December 2017"), ("2017-12", "2017-11", "November 2017")] {
        let run = env.quotad(&["run", "all", "--period", memo]);
        assert_eq!(run.code, 0, "{run:?}");
        let won = won_by_agent(&real, results);
        assert!(won.len() >= 25, "most agents sold in {results}: {}", won.len());
        let memos: Vec<_> =
            env.emails().into_iter().filter(|e| e.file.starts_with(&format!("quota-memo_{memo}_rep-memo_"))).collect();
        // Every agent on the sales-teams sheet gets one, at a pattern-made address.
        assert_eq!(memos.len(), 35, "{}", run.stdout);
        for agent in &roster {
            let m = memos.iter().find(|m| &m.to_name == agent).unwrap_or_else(|| panic!("no memo for {agent}"));
            assert!(m.to.ends_with("@mavenanalytics.example"), "{}", m.to);
            let (sum, n) = won.get(agent).copied().unwrap_or_default();
            assert!(m.text.contains(&format!("{label} results")), "{}", m.text);
            assert_eq!(line_value(&m.text, "Revenue"), dollars(sum), "{agent} {results}");
            assert_eq!(line_value(&m.text, "Deals won"), n.to_string(), "{agent} {results}");
            // No quotas in this data set: said plainly, never 0%.
            assert_eq!(line_value(&m.text, "Attainment"), "no quota, so not ranked");
        }
    }
    // Darcel Schlecht, checked by hand against the CSV: the top seller of December 2017.
    let darcel = env
        .emails()
        .into_iter()
        .find(|e| e.file == "quota-memo_2018-01_rep-memo_darcel.schlecht@mavenanalytics.example.eml")
        .unwrap();
    let (sum, _) = won_by_agent(&real, "2017-12")["Darcel Schlecht"];
    assert_eq!(line_value(&darcel.text, "Revenue"), dollars(sum));
}

#[test]
fn every_other_public_sample_imports_or_fails_with_a_specific_error() {
    let Some(real) = samples() else { return };
    // Every file offered as a deals export; none has a deals header, so each must be
    // quarantined with the reason, and nothing may panic or be half-stored.
    let env = Env::new(
        &config("")
            .replace("files = [\"deals*\"]", "files = [\"*.csv\", \"*.xlsx\", \"*.xls\", \"*.ods\"]")
            .replace("files = [\"roster*\"]", "files = [\"roster-none\"]")
            .replace("files = [\"quotas*\"]", "files = [\"quotas-none\"]"),
    );
    let mut names = Vec::new();
    for e in std::fs::read_dir(&real).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        // calamine_* are covered by real_calamine.rs with their own configs.
        if !name.starts_with("maven_crm") && !name.starts_with("calamine_") {
            env.put(&name, std::fs::read(real.join(&name)).unwrap());
            names.push(name);
        }
    }
    assert!(names.len() >= 4, "{names:?}");
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(env.store().counts().unwrap().0, 0);
    for name in &names {
        let report = std::fs::read_to_string(env.path(&format!("quarantine/{name}.errors.txt")))
            .unwrap_or_else(|_| panic!("{name} has no error report: {}", run.stdout));
        assert!(report.contains("Reason: no header row found in the first 30 rows: a deals header needs deal_id, stage, close_date, amount"), "{name}: {report}");
    }
    // The closest candidate is named, with what it lacks.
    let fin = std::fs::read_to_string(env.path("quarantine/financial_sample.xlsx.errors.txt")).unwrap();
    assert!(
        fin.contains("closest: sheet 'Sheet1', row 1, which has amount but lacks deal_id (Deal ID / Opportunity ID"),
        "{fin}"
    );
    let xls = std::fs::read_to_string(env.path("quarantine/superstore_sales_canada.xls.errors.txt")).unwrap();
    assert!(xls.contains("closest: sheet 'Returns', row 1, which has stage but lacks deal_id"), "{xls}");
}

#[test]
fn maven_lost_and_open_deals_are_stored_but_never_counted() {
    let Some(real) = samples() else { return };
    let env = maven_env(&real);
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    // 8,800 rows: every row is stored (Lost and open ones too, counted nowhere).
    assert!(run.stdout.contains("maven_crm_sales_pipeline.csv [deals]: 8800 new"), "{}", run.stdout);
    let store = store_of(&env);
    assert_eq!(store.counts().unwrap().0, 8800);
    // Rows with a close date: the 4,238 Won and 2,473 Lost; the 2,089 open ones have none.
    let all = store.deals_between(p("2016-10"), p("2017-12")).unwrap();
    assert_eq!(all.len(), 4238 + 2473);
    // Counted rows are the won ones with a close date; Python (csv module) on the file:
    // 4,238 Won, 2,473 Lost (with close dates), 1,589 Engaging and 500 Prospecting
    // (the open ones, whose close dates are empty).
    let won: Vec<_> = all.iter().filter(|d| d.class == quotad::domain::StageClass::Won).collect();
    assert_eq!(won.len(), 4238);
    let sum: Decimal = won.iter().map(|d| d.amount.unwrap()).sum();
    assert_eq!(sum, dec("10005534"));
    assert!(all.iter().all(|d| d.class != quotad::domain::StageClass::Cancelled));
    let lost = all.iter().filter(|d| d.stage == "Lost").count();
    assert_eq!(lost, 2473);
}

#[test]
fn superstore_xls_order_lines_as_a_deals_export_with_region_as_team() {
    let Some(real) = samples() else { return };
    let env = fixture_env("superstore", &real);
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(
            "superstore_sales_canada.xls [orders, sheet 'Orders']: 8399 new, 0 updated, 0 unchanged, 0 rejected"
        ),
        "{}",
        run.stdout
    );
    let store = store_of(&env);
    let all = store.deals_between(p("2009-01"), p("2012-12")).unwrap();
    assert_eq!(all.len(), 8399);
    // Figures from pandas + xlrd on the same file (another reader): the 8,399 lines'
    // Sales add up to 14,915,600.82 and their quantities to 214,777.
    let total: Decimal = all.iter().map(|d| d.amount.unwrap()).sum();
    assert_eq!(total.round_dp(2), dec("14915600.82"));
    let units: Decimal = all.iter().map(|d| d.units.unwrap()).sum();
    assert_eq!(units, dec("214777"));
    // December 2012 per region (156 lines), from pandas.
    let dec12 = store.deals_between(p("2012-12"), p("2012-12")).unwrap();
    assert_eq!(dec12.len(), 156);
    let mut by_team: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
    for d in &dec12 {
        let e = by_team.entry(d.team.clone().unwrap()).or_default();
        e.0 += d.amount.unwrap();
        e.1 += d.units.unwrap();
    }
    let got: Vec<(String, String, String)> =
        by_team.iter().map(|(t, (s, u))| (t.clone(), s.round_dp(2).to_string(), u.to_string())).collect();
    let want = [
        ("Atlantic", "24166.77", "490"),
        ("Northwest Territories", "888.38", "54"),
        ("Ontario", "77848.16", "772"),
        ("Prarie", "57237.82", "592"),
        ("Quebec", "102097.89", "462"),
        ("West", "77988.75", "1330"),
        ("Yukon", "14481.56", "260"),
    ];
    let want: Vec<(String, String, String)> =
        want.iter().map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect();
    assert_eq!(got, want);
    // Row 2 of the sheet is Row ID 1, Nunavut, 2010-10-13, 261.54, 6 units.
    let first = all.iter().find(|d| d.deal_id == "1").unwrap();
    assert_eq!(first.origin.row, 2);
    assert_eq!(first.rep.name.as_deref(), Some("Nunavut"));
    assert_eq!(first.close_date.unwrap().to_string(), "2010-10-13");
    assert_eq!(first.amount, Some(dec("261.54")));
    assert_eq!(first.stage, "Won");
}

#[test]
fn financial_sample_as_a_summary_sheet_by_country_and_month() {
    let Some(real) = samples() else { return };
    let env = fixture_env("financial", &real);
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    // 700 rows, 5 countries x 16 months (2013-09 .. 2014-12) = 80 totals.
    assert!(
        run.stdout
            .contains("financial_sample.xlsx [summary, sheet 'Sheet1']: 80 new, 0 updated, 0 unchanged, 0 rejected"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("note: 700 summary rows added up into 80 totals"), "{}", run.stdout);
    let store = store_of(&env);
    let all = store.deals_between(p("2013-01"), p("2014-12")).unwrap();
    assert_eq!(all.len(), 80);
    let total: Decimal = all.iter().map(|d| d.amount.unwrap()).sum();
    // pandas on the " Sales" column: 118,726,350.26.
    assert_eq!(total.round_dp(2), dec("118726350.26"));
    // June 2014 per country (70 rows), from pandas: Sales and Units Sold.
    let june = store.deals_between(p("2014-06"), p("2014-06")).unwrap();
    let got: BTreeMap<String, (String, String)> = june
        .iter()
        .map(|d| {
            (
                d.rep.name.clone().unwrap(),
                (d.amount.unwrap().round_dp(2).normalize().to_string(), d.units.unwrap().normalize().to_string()),
            )
        })
        .collect();
    let want: BTreeMap<String, (String, String)> = [
        ("Canada", "2725979.4", "25028"),
        ("France", "1629183.98", "19798"),
        ("Germany", "1630025.24", "18804"),
        ("Mexico", "2210094.4", "19236"),
        ("United States of America", "1323610.8", "20436"),
    ]
    .iter()
    .map(|(c, s, u)| (c.to_string(), (s.to_string(), u.to_string())))
    .collect();
    assert_eq!(got, want);
    assert!(june.iter().all(|d| d.close_date.unwrap().to_string() == "2014-06-01" && d.stage == "Summary"));
    // The same file again changes nothing.
    let again = env.quotad(&["import"]);
    assert!(again.stdout.contains("unchanged    financial_sample.xlsx"), "{}", again.stdout);
}

#[test]
fn adventureworks_quarterly_quotas_without_a_header_are_spread_over_months() {
    let Some(real) = samples() else { return };
    let env = fixture_env("adventureworks", &real);
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    // 17 reps; 163 quarterly quotas -> 489 monthly quotas.
    assert!(run.stdout.contains("aw_SalesPerson.csv [roster]: 17 new"), "{}", run.stdout);
    assert!(run.stdout.contains("aw_SalesPersonQuotaHistory.csv [quotas]: 489 new"), "{}", run.stdout);
    let store = store_of(&env);
    let roster = store.roster().unwrap();
    let r274 = roster.iter().find(|r| r.id.as_deref() == Some("274")).unwrap();
    assert_eq!(r274.name, "274");
    assert_eq!(r274.team, None);
    assert_eq!(r274.email.as_deref(), Some("rep274@adventure-works.example"));
    let r275 = roster.iter().find(|r| r.id.as_deref() == Some("275")).unwrap();
    assert_eq!(r275.team.as_deref(), Some("2"));
    let q = store.quotas_between(p("2011-01"), p("2014-12")).unwrap();
    assert_eq!(q.len(), 489);
    // The file's SalesQuota column adds up to 95,714,000 (Python csv); the spread keeps it exact.
    assert_eq!(q.iter().map(|x| x.revenue).sum::<Decimal>(), dec("95714000"));
    // Line 1: rep 274, dated 2011-05-31, 28,000 for April-June 2011.
    let of = |rep: &str, m: &str| {
        q.iter().find(|x| x.rep.id.as_deref() == Some(rep) && x.month.to_string() == m).map(|x| x.revenue)
    };
    assert_eq!(of("274", "2011-04"), Some(dec("9333.33")));
    assert_eq!(of("274", "2011-05"), Some(dec("9333.33")));
    assert_eq!(of("274", "2011-06"), Some(dec("9333.34")));
    // Line 4: 2012-02-29, 140,000 for the first quarter of 2012.
    assert_eq!(of("274", "2012-01"), Some(dec("46666.67")));
    assert_eq!(of("274", "2012-03"), Some(dec("46666.66")));
    let origin =
        &q.iter().find(|x| x.rep.id.as_deref() == Some("274") && x.month.to_string() == "2011-05").unwrap().origin;
    assert_eq!(origin.row, 1);
}
