//! calamine's public sample files in ../shared/samples/real, read in place (never
//! copied into the repository) with the configs in tests/fixtures/<name>/quotad.toml.
//! Each test fails when the folder is absent, unless QUOTAD_ALLOW_SKIP=1 (see inputs.rs). The grid-level values (exact
//! 1904 dates, filled merged blocks, ODS dates) are checked in src/ingest/table.rs.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use quotad::config::Config;
use quotad::ingest::{self, Parsed, Records};

use crate::harness::{Env, Run};

/// The public samples folder, or a failure naming it (see [`crate::inputs`]).
fn samples() -> Option<PathBuf> {
    crate::inputs::sample("")
}

/// tests/fixtures/<fixture>/quotad.toml with its inbox made absolute and its output
/// folders moved into the test's folder; `edit` may change it further.
fn fixture_config(fixture: &str, real: &Path, edit: impl Fn(String) -> String) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cfg = std::fs::read_to_string(root.join(format!("tests/fixtures/{fixture}/quotad.toml"))).unwrap();
    assert!(cfg.contains("after_import = \"keep\""), "{fixture}: the samples folder is read-only");
    edit(
        cfg.replace(
            "inbox = \"../../../../shared/samples/real\"",
            &format!("inbox = {:?}", real.display().to_string()),
        )
        .replace(&format!("\"../../../var/{fixture}/"), "\"var/"),
    )
}

/// Runs `quotad import` with the fixture's config on the samples folder.
fn import(fixture: &str, real: &Path, edit: impl Fn(String) -> String) -> (Env, Run) {
    let env = Env::new(&fixture_config(fixture, real, edit));
    let run = env.quotad(&["import"]);
    (env, run)
}

/// Reads `file` in place as the fixture config's `source`.
fn read(fixture: &str, real: &Path, source: &str, file: &str, edit: impl Fn(String) -> String) -> Parsed {
    let cfg = Config::parse(&fixture_config(fixture, real, edit), "quotad.toml", Path::new(".")).unwrap();
    let src = cfg.sources.iter().find(|s| s.name == source).unwrap();
    ingest::read_file(&real.join(file), src, &cfg.ingest).unwrap()
}

/// (rep id, name, team) of a roster.
fn roster(p: &Parsed) -> Vec<(String, String, String)> {
    let Records::Roster(r) = &p.records else { panic!("not a roster: {:?}", p.records) };
    r.iter().map(|r| (r.id.clone().unwrap_or_default(), r.name.clone(), r.team.clone().unwrap_or_default())).collect()
}

/// (deals, quotas, roster entries) stored, from the fixture's state database.
fn counts(env: &Env) -> (i64, i64, i64) {
    quotad::store::Store::open(&env.path("var/quotad.sqlite")).unwrap().counts().unwrap()
}

fn rep(id: &str, name: &str, team: &str) -> (String, String, String) {
    (id.into(), name.into(), team.into())
}

/// A file with no header row at all: quarantined (a copy, the sample stays in place)
/// with the no-header error, nothing stored.
fn assert_no_header(fixture: &str, file: &str) {
    let Some(real) = samples() else { return };
    let (env, run) = import(fixture, &real, |c| c);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains(&format!("QUARANTINED  {file} [deals]")), "{}", run.stdout);
    assert_eq!(counts(&env), (0, 0, 0));
    let report = std::fs::read_to_string(env.path(&format!("var/quarantine/{file}.errors.txt"))).unwrap();
    assert!(
        report.contains(
            "Reason: no header row found in the first 30 rows: a deals header needs deal_id, stage, close_date, amount and one of rep_id / rep_email / rep_name"
        ),
        "{report}"
    );
    // No cell of the file names any accepted header.
    assert!(report.contains("; no row names any of them (accepted: deal_id = Deal ID"), "{report}");
    assert!(real.join(file).exists());
}

#[test]
fn calamine_date_1904_has_no_header_and_is_quarantined() {
    assert_no_header("calamine_date_1904", "calamine_date_1904.xlsx");
}

#[test]
fn calamine_date_ods_has_no_header_and_is_quarantined() {
    assert_no_header("calamine_date", "calamine_date.ods");
}

#[test]
fn calamine_merge_cells_as_a_roster_reads_the_filled_blocks() {
    let Some(real) = samples() else { return };
    let p = read("calamine_merge_cells", &real, "roster", "calamine_merge_cells.xlsx", |c| c);
    assert_eq!((p.sheet.as_str(), p.header_row, p.data_rows), ("Sheet1", 1, 3));
    assert_eq!(roster(&p), vec![rep("", "Column Merge", "Chunk Merged")]);
    assert_eq!(p.notes, vec!["rows 3, 4 repeat earlier rows exactly and were counted once"]);
    let (env, run) = import("calamine_merge_cells", &real, |c| c);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("calamine_merge_cells.xlsx [roster, sheet 'Sheet1']: 1 new"), "{}", run.stdout);
    assert_eq!(counts(&env), (0, 0, 1));
}

#[test]
fn calamine_table_multiple_first_matching_sheet_or_the_configured_one_and_its_first_table() {
    let Some(real) = samples() else { return };
    let file = "calamine_table-multiple.xlsx";
    let p = read("calamine_table-multiple", &real, "roster", file, |c| c);
    assert_eq!((p.sheet.as_str(), p.header_row, p.data_rows), ("Sheet1", 1, 4));
    assert_eq!(
        roster(&p),
        vec![rep("1", "Apple", ""), rep("2", "Banana", ""), rep("3", "Orange", ""), rep("4", "Pear", "")]
    );
    // Sheet3: Sales_Alice (A1:B5) is read; Sales_Bob (A7:B11: 750, 800, 100, 70) is not.
    let sheet3 = |c: String| {
        c.replace(
            "files = [\"calamine_table-multiple.xlsx\"]",
            "files = [\"calamine_table-multiple.xlsx\"]\nsheet = \"Sheet3\"",
        )
        .replace("rep_name = [\"Type\"]", "rep_name = [\"Units\"]")
    };
    let p = read("calamine_table-multiple", &real, "roster", file, sheet3);
    assert_eq!((p.sheet.as_str(), p.header_row, p.data_rows), ("Sheet3", 1, 4));
    assert_eq!(roster(&p), vec![rep("1", "1000", ""), rep("2", "500", ""), rep("3", "200", ""), rep("4", "50", "")]);
    assert_eq!(
        p.notes,
        vec![
            "sheet 'Sheet3', rows 7 to 11 were not read: another table starts at row 7 (one table is read per sheet: the first whose header matches)"
        ]
    );
    let (env, run) = import("calamine_table-multiple", &real, |c| c);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(counts(&env), (0, 0, 4));
}

#[test]
fn calamine_issue_174_whole_grid_dimension_is_read_by_its_cells() {
    let Some(real) = samples() else { return };
    let started = Instant::now();
    let p = read("calamine_issue_174", &real, "roster", "calamine_issue_174.xlsx", |c| c);
    // The sheet declares A1:XFD1048576; a dense read would be 17 billion cells.
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert_eq!((p.sheet.as_str(), p.header_row, p.data_rows), ("Sheet1", 1, 1));
    assert_eq!(roster(&p), vec![rep("123", "Test Contact Name", "My City")]);
    assert!(p.rejects.is_empty() && p.notes.is_empty(), "{:?} {:?}", p.rejects, p.notes);
    let (env, run) = import("calamine_issue_174", &real, |c| c);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(counts(&env), (0, 0, 1));
}
