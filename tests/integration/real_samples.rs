//! The public samples in ../shared/samples/real, read in place (never copied into the
//! repository). Each test says plainly when the folder is absent.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rust_decimal::Decimal;

use crate::harness::{Env, config, line_value};

fn samples() -> Option<PathBuf> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/samples/real");
    if !p.is_dir() {
        eprintln!("SKIPPED: {} is absent; these tests read the public samples in place", p.display());
        return None;
    }
    Some(p.canonicalize().unwrap())
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
