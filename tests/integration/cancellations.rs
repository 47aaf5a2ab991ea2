//! Issue 15.4: a cancellation subtracts only a sale that was, or could have been,
//! counted. Matched by Deal ID against every won row on record (any export, any month,
//! either order of import); one whose sale is not on record counts nowhere once the
//! history reaches `ingest.cancellation_lookback_months` (default 9) before it, and
//! subtracts as before when it falls so early that its sale may predate the history.
//! Either way the import report warns and `explain` says which rule applied.

use crate::harness::{Env, ROSTER, config};

const HEADER: &str = "Deal ID,Rep Email,Stage,Close Date,Sale Price,Units\n";

/// Ann's won deals January to September 2026, $1,000 each: a history of nine months
/// before October.
fn history() -> String {
    let mut s = HEADER.to_string();
    for m in 1..=9 {
        s.push_str(&format!("H{m},ann@example.com,Won,2026-{m:02}-15,1000,1\n"));
    }
    s
}

/// The brief's example: X1 won, X2 a cancellation of a sale never exported.
const OCTOBER: &str = "Deal ID,Rep Email,Stage,Close Date,Sale Price,Units
X1,ann@example.com,Won,2026-10-02,1000,1
X2,ann@example.com,Cancelled,2026-10-05,5000,1
";

fn env_with(extra: &str) -> Env {
    let env = Env::new(&config(extra));
    env.put("roster.csv", ROSTER);
    env
}

/// Ann's (revenue, units, cancellations) in `period` as `quotad standings` prints them.
fn ann(env: &Env, period: &str) -> (String, String, u64) {
    let s = env.quotad(&["standings", "--period", period, "--format", "json"]);
    assert_eq!(s.code, 0, "{s:?}");
    let v: serde_json::Value = serde_json::from_str(&s.stdout).unwrap();
    let a = v.as_array().unwrap().iter().find(|r| r["rep_id"] == "R1").unwrap().clone();
    (
        a["revenue"].as_str().unwrap().to_string(),
        a["units"].as_str().unwrap().to_string(),
        a["cancellations"].as_u64().unwrap(),
    )
}

#[test]
fn a_cancellation_of_a_sale_never_on_record_counts_nowhere_in_a_long_enough_history() {
    let env = env_with("");
    env.put("deals-2026-01-09.csv", history());
    env.put("deals-2026-10.csv", OCTOBER);
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    // History from January 2026: a sale cancelled in October would be on record if it
    // were made in the 9 months before (January to October), so X2 counts nowhere.
    assert!(
        run.stdout.contains("note: 1 cancellation(s) whose sale is not on record count nowhere (the history from 2026-01 covers the 9 months before each, ingest.cancellation_lookback_months): X2"),
        "{}",
        run.stdout
    );
    // Ann's October: X1 $1,000 and 1 unit; not −$4,000.
    assert_eq!(ann(&env, "2026-10"), ("1000".into(), "1".into(), 0));
    let ex = env.quotad(&["explain", "--rep", "Ann Archer", "--period", "2026-10", "--metric", "revenue"]);
    assert_eq!(ex.code, 0, "{ex:?}");
    assert!(
        ex.stdout.contains("X2         Cancelled   2026-10-05  $5,000 = counts nowhere: no sale of X2 is on record"),
        "{}",
        ex.stdout
    );
    assert!(ex.stdout.contains("= revenue $1,000, units 1"), "{}", ex.stdout);
    // The warning is kept with the import report.
    let imports = env.quotad(&["imports"]);
    assert!(imports.stdout.contains("count nowhere") && imports.stdout.contains(": X2"), "{}", imports.stdout);
}

#[test]
fn a_cancellation_in_the_first_month_of_history_still_subtracts_and_is_warned_about() {
    // March is the first month imported: the sale X2 cancels may be from February.
    let env = env_with("");
    env.put(
        "deals-2026-03.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price,Units\nX1,ann@example.com,Won,2026-03-02,1000,1\nX2,ann@example.com,Cancelled,2026-03-05,5000,1\n",
    );
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("note: 1 cancellation(s) whose sale is not on record subtract anyway (their sale may predate the history, which starts 2026-03): X2"),
        "{}",
        run.stdout
    );
    assert_eq!(ann(&env, "2026-03"), ("-4000".into(), "0".into(), 1));
    let ex = env.quotad(&["explain", "--rep", "R1", "--period", "2026-03", "--metric", "revenue"]);
    assert!(
        ex.stdout.contains("its sale is not on record but may predate the history (from 2026-03)"),
        "{}",
        ex.stdout
    );
    assert!(
        ex.stdout.contains("= revenue −$4,000, units −0") || ex.stdout.contains("= revenue -$4,000"),
        "{}",
        ex.stdout
    );
}

#[test]
fn a_cancellation_imported_before_its_sale_counts_once_the_sale_arrives() {
    let env = env_with("");
    env.put("deals-2026-01-09.csv", history());
    env.put("deals-2026-10.csv", OCTOBER);
    assert_eq!(env.quotad(&["import"]).code, 0);
    assert_eq!(ann(&env, "2026-10"), ("1000".into(), "1".into(), 0));
    // The sale arrives in a later export (a September re-export): September gains
    // $5,000 and October now subtracts it: 1,000 − 5,000 = −4,000.
    env.put("deals-2026-09b.csv", format!("{HEADER}X2,ann@example.com,Won,2026-09-20,5000,1\n"));
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains("not on record"), "{}", run.stdout);
    assert_eq!(ann(&env, "2026-09"), ("6000".into(), "2".into(), 0));
    assert_eq!(ann(&env, "2026-10"), ("-4000".into(), "0".into(), 1));
}

#[test]
fn the_lookback_is_a_setting_and_a_history_one_month_short_of_it_subtracts() {
    // lookback 3: a history from July covers the 3 months before October; from August
    // it does not.
    for (first, counted) in [(7u32, false), (8, true)] {
        let env = env_with("[ingest]\ncancellation_lookback_months = 3\n");
        let mut h = HEADER.to_string();
        for m in first..=9 {
            h.push_str(&format!("H{m},ann@example.com,Won,2026-{m:02}-15,1000,1\n"));
        }
        env.put("deals-history.csv", h);
        env.put("deals-2026-10.csv", OCTOBER);
        let run = env.quotad(&["import"]);
        assert_eq!(run.code, 0, "{run:?}");
        let want =
            if counted { ("-4000".to_string(), "0".to_string(), 1) } else { ("1000".to_string(), "1".to_string(), 0) };
        assert_eq!(ann(&env, "2026-10"), want, "history from 2026-{first:02}: {}", run.stdout);
    }
}
