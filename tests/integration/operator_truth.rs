//! Issue 16: files as people export them, and messages that tell the operator the truth.
//! Each example from the issue is a test with its right value, plus one input of the
//! same kind.

use rust_decimal::Decimal;

use crate::harness::{Env, ROSTER, X, config, xlsx};
use quotad::domain::Period;

fn p(s: &str) -> Period {
    s.parse().unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

const QUOTAS: &str = "Rep Email,Month,Revenue Quota\nann@example.com,2026-03,400000\nbob@example.com,2026-03,250000\ncy@example.com,2026-03,300000\n";

fn env_with(extra: &str) -> Env {
    let env = Env::new(&config(extra));
    env.put("roster.csv", ROSTER);
    env.put("quotas.csv", QUOTAS);
    env
}

// ---------------------------------------------------------------- 1. trailing notes

/// The issue's deals sheet: title rows, the header on row 9, twelve deals (rows 10-21), a
/// Total row (22), a blank row and a footnote on row 24.
fn deals_with_footnote() -> Vec<u8> {
    use X::*;
    let mut rows: Vec<Vec<X>> = vec![
        vec![S("Closed deals - March 2026")],
        vec![S("Exported 2026-04-01 by HomeBuilder CRM")],
        vec![],
        vec![S("Region: all")],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![S("Deal ID"), S("Sales Rep"), S("Rep Email"), S("Stage"), S("Close Date"), S("Sale Price")],
    ];
    let ids = ["D01", "D02", "D03", "D04", "D05", "D06", "D07", "D08", "D09", "D10", "D11", "D12"];
    let reps = [("Ann Archer", "ann@example.com"), ("Bob Baker", "bob@example.com"), ("Cy Cole", "cy@example.com")];
    let days = ["2026-03-02", "2026-03-05", "2026-03-09", "2026-03-12"];
    for (i, id) in ids.iter().enumerate() {
        let (name, email) = reps[i % 3];
        rows.push(vec![S(id), S(name), S(email), S("Closed Won"), D(days[i / 3]), N(100000.0)]);
    }
    rows.push(vec![S("Total"), E, E, E, E, N(1200000.0)]);
    rows.push(vec![]);
    rows.push(vec![S("Source: CRM, figures before returns")]);
    xlsx(&rows)
}

#[test]
fn a_footnote_after_the_totals_row_is_not_data() {
    let env = env_with("");
    env.put("deals-2026-03.xlsx", deals_with_footnote());
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = &run.stdout;
    assert!(!out.contains("QUARANTINED"), "{out}");
    assert!(
        out.contains("deals-2026-03.xlsx [deals, sheet 'Closed Sales']: 12 new, 0 updated, 0 unchanged, 0 rejected"),
        "{out}"
    );
    assert!(out.contains("12 row(s) read, 12 stored, 0 rejected, period 2026-03"), "{out}");
    assert!(out.contains("note: skipped totals row 22"), "{out}");
    assert!(
        out.contains("note: skipped row 24 after the table (a note, not data): 'Source: CRM, figures before returns'"),
        "{out}"
    );
    let deals = env.store().deals_between(p("2026-03"), p("2026-03")).unwrap();
    assert_eq!(deals.len(), 12);
    assert_eq!(deals.iter().map(|d| d.amount.unwrap()).sum::<Decimal>(), dec("1200000"));
}

#[test]
fn a_salesforce_report_footer_is_not_data() {
    let cfg = config("").replace("files = [\"deals*\"]", "files = [\"deals*\"]\npreset = \"salesforce\"");
    let env = Env::new(&cfg);
    env.put("roster.csv", ROSTER);
    env.put("quotas.csv", QUOTAS);
    let mut csv = String::from(
        "\"Opportunity Owner\",\"Opportunity Name\",\"Stage\",\"Close Date\",\"Amount\",\"Opportunity ID\"\n",
    );
    let reps = ["Ann Archer", "Bob Baker", "Cy Cole"];
    for i in 0..12 {
        csv.push_str(&format!(
            "\"{}\",\"Lot {}\",\"Closed Won\",\"2026-03-{:02}\",\"100,000.00\",\"006A{:02}\"\n",
            reps[i % 3],
            i + 1,
            i + 1,
            i + 1
        ));
    }
    csv.push_str("\"Grand Totals (12 records)\",\"\",\"\",\"\",\"1,200,000.00\",\"\"\n\"\"\n\"\"\n");
    csv.push_str("\"Confidential Information - Do Not Distribute\"\n");
    csv.push_str("\"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved.\"\n");
    env.put("deals-sf.csv", csv);
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = &run.stdout;
    assert!(out.contains("deals-sf.csv [deals]: 12 new, 0 updated, 0 unchanged, 0 rejected"), "{out}");
    assert!(out.contains("note: skipped totals row 14"), "{out}");
    assert!(
        out.contains(
            "note: skipped row 17 after the table (a note, not data): 'Confidential Information - Do Not Distribute'"
        ),
        "{out}"
    );
    assert!(
        out.contains("note: skipped row 18 after the table (a note, not data): 'Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved.'"),
        "{out}"
    );
    assert_eq!(env.store().deals_between(p("2026-03"), p("2026-03")).unwrap().len(), 12);
}

#[test]
fn a_note_inside_the_table_is_still_rejected_and_an_unquoted_comma_note_after_it_is_not() {
    // Row 3 holds only a remark between two deals: inside the table, so it is a bad row.
    // Row 5 (after the last deal) is a footnote the CSV split at its comma: two text
    // cells, only one in a required column (Deal ID): a note.
    let env = env_with("");
    env.put(
        "deals.csv",
        "Deal ID,Sales Rep,Stage,Close Date,Sale Price\n\
         D1,Ann Archer,Closed Won,2026-03-02,1000\n\
         see the next row\n\
         D2,Bob Baker,Closed Won,2026-03-03,2000\n\
         Figures in USD, before returns\n",
    );
    let run = env.quotad(&["import"]);
    // 1: a file was quarantined.
    assert_eq!(run.code, 1, "{run:?}");
    let out = &run.stdout;
    assert!(out.contains("QUARANTINED  deals.csv [deals]: 1 of 3 data rows rejected"), "{out}");
    let report = std::fs::read_to_string(env.path("quarantine/deals.csv.errors.txt")).unwrap();
    assert!(report.contains("row 3, column C 'Stage': '': a Stage is required here"), "{report}");
    assert!(!report.contains("row 5"), "{report}");
}

#[test]
fn rejected_counts_are_rows_on_every_line() {
    // Row 2 has two bad cells, row 3 one: 2 rejected rows (3 bad cells), said alike on
    // both lines.
    let env = env_with("[ingest]\nmax_rejected_fraction = 0.9\n");
    env.put(
        "deals.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\n\
         D1,ann@example.com,Closed Won,someday,lots\n\
         D2,bob@example.com,Closed Won,2026-03-03,lots\n\
         D3,cy@example.com,Closed Won,2026-03-04,3000\n",
    );
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = &run.stdout;
    assert!(out.contains("deals.csv [deals]: 1 new, 0 updated, 0 unchanged, 2 rejected"), "{out}");
    assert!(out.contains("3 row(s) read, 1 stored, 2 rejected"), "{out}");
    assert!(!out.contains("3 rejected"), "{out}");
}

// ---------------------------------------------------------------- 2. one file, several sources

fn three_sources_one_file(extra: &str) -> String {
    format!(
        r#"[org]
name = "Test Homes"
time_zone = "America/Chicago"

[sources.roster]
kind = "roster"
files = ["team-sheet*"]

[sources.quotas]
kind = "quotas"
files = ["team-sheet*"]

[sources.summary]
kind = "summary"
files = ["team-sheet*"]

[mail]
from = "Sales Ops <ops@test-homes.com>"

{extra}
"#
    )
}

fn team_sheet(april_actual_for_cy: X) -> Vec<u8> {
    use X::*;
    xlsx(&[
        vec![S("Rep"), S("Email"), S("Team"), S("Month"), S("Target"), S("Actual")],
        vec![S("Ann Archer"), S("ann@example.com"), S("North"), S("2026-03"), N(400000.0), N(300000.0)],
        vec![S("Bob Baker"), S("bob@example.com"), S("North"), S("2026-03"), N(250000.0), N(260000.0)],
        vec![S("Cy Cole"), S("cy@example.com"), S("South"), S("2026-03"), N(300000.0), N(0.0)],
        vec![S("Ann Archer"), S("ann@example.com"), S("North"), S("2026-04"), N(410000.0), N(205000.0)],
        vec![S("Bob Baker"), S("bob@example.com"), S("North"), S("2026-04"), N(260000.0), N(130000.0)],
        vec![S("Cy Cole"), S("cy@example.com"), S("South"), S("2026-04"), N(310000.0), april_actual_for_cy],
    ])
}

#[test]
fn one_sheet_feeds_the_roster_the_quotas_and_the_summary() {
    let env = Env::new(&three_sources_one_file(""));
    env.put("team-sheet.xlsx", team_sheet(X::N(310000.0)));
    let check = env.quotad(&["check"]);
    assert_eq!(check.code, 0, "{check:?}");
    assert!(check.stdout.contains("team-sheet.xlsx is read by 3 sources: quotas, roster, summary"), "{}", check.stdout);
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = &run.stdout;
    assert!(out.contains("team-sheet.xlsx [roster, sheet 'Closed Sales']: 3 new"), "{out}");
    assert!(out.contains("team-sheet.xlsx [quotas, sheet 'Closed Sales']: 6 new"), "{out}");
    assert!(out.contains("team-sheet.xlsx [summary, sheet 'Closed Sales']: 6 new"), "{out}");
    let store = env.store();
    assert_eq!(store.roster().unwrap().len(), 3);
    let q = store.quotas_between(p("2026-03"), p("2026-04")).unwrap();
    assert_eq!(q.iter().map(|q| q.revenue).sum::<Decimal>(), dec("1930000"));
    let d = store.deals_between(p("2026-03"), p("2026-04")).unwrap();
    assert_eq!(d.iter().map(|d| d.amount.unwrap()).sum::<Decimal>(), dec("1205000"));
    // Moved once, after the last source read it.
    assert_eq!(env.files_in("inbox"), Vec::<String>::new());
    assert_eq!(env.files_in("archive"), vec!["team-sheet.xlsx"]);
    let reports = store.import_reports(10).unwrap();
    assert_eq!(reports.len(), 3);
}

#[test]
fn one_source_quarantining_a_shared_file_leaves_the_others_stored() {
    // Cy's April actual is blank: the summary (which needs a revenue total) rejects that
    // row and quarantines its reading; the roster and the quotas are stored; the file
    // goes to quarantine once, after the last source.
    let env = Env::new(&three_sources_one_file(""));
    env.put("team-sheet.xlsx", team_sheet(X::E));
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 1, "{run:?}");
    let out = &run.stdout;
    assert!(out.contains("team-sheet.xlsx [roster, sheet 'Closed Sales']: 3 new"), "{out}");
    assert!(out.contains("team-sheet.xlsx [quotas, sheet 'Closed Sales']: 6 new"), "{out}");
    assert!(out.contains("QUARANTINED  team-sheet.xlsx [summary]: 1 of 6 data rows rejected"), "{out}");
    // Each source that quarantines a shared file has its own report.
    assert!(out.contains("report: quarantine/team-sheet.xlsx.summary.errors.txt"), "{out}");
    let store = env.store();
    assert_eq!(store.quotas_between(p("2026-03"), p("2026-04")).unwrap().len(), 6);
    assert_eq!(store.deals_between(p("2026-03"), p("2026-04")).unwrap().len(), 0);
    assert_eq!(env.files_in("inbox"), Vec::<String>::new());
    assert_eq!(env.files_in("archive"), Vec::<String>::new());
    assert_eq!(env.files_in("quarantine"), vec!["team-sheet.xlsx", "team-sheet.xlsx.summary.errors.txt"]);
}

// ---------------------------------------------------------------- 3. one column, one field

#[test]
fn a_yearly_quota_table_with_fiscal_year_as_its_month() {
    // 58 rows; columns.month names "Fiscal Year", which the default names of `year` also
    // hold: the configured field takes the column, `year` does not.
    let cfg = config("").replace(
        "files = [\"quotas*\"]",
        "files = [\"quotas*\"]\nquota_period = \"year\"\ncolumns.month = [\"Fiscal Year\"]\ncolumns.revenue_quota = [\"Sales Quota\"]",
    );
    let env = Env::new(&cfg);
    env.put("roster.csv", ROSTER);
    let mut csv = String::from("Rep ID,Fiscal Year,Sales Quota\n");
    for i in 0..58 {
        let rep = ["R1", "R2", "R3"][i % 3];
        csv.push_str(&format!("{rep},{},120000\n", 2011 + i / 3));
    }
    env.put("quotas.csv", csv);
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = &run.stdout;
    assert!(out.contains("quotas.csv [quotas]: 696 new, 0 updated, 0 unchanged, 0 rejected"), "{out}");
    assert!(out.contains("58 row(s) read, 696 stored, 0 rejected"), "{out}");
    assert!(out.contains("column B 'Fiscal Year' is sources.quotas.columns.month; year does not read it"), "{out}");
    let q = env.store().quotas_between(p("2011-01"), p("2011-12")).unwrap();
    assert_eq!(q.len(), 36);
    assert_eq!(q.iter().map(|q| q.revenue).sum::<Decimal>(), dec("360000"));
}

#[test]
fn two_configured_fields_naming_one_column_are_a_clash() {
    let cfg = config("").replace(
        "files = [\"quotas*\"]",
        "files = [\"quotas*\"]\ncolumns.month = [\"Fiscal Year\"]\ncolumns.year = [\"Fiscal Year\"]",
    );
    let env = Env::new(&cfg);
    env.put("quotas.csv", "Rep Email,Fiscal Year,Quota\nann@example.com,2026,1\n");
    let check = env.quotad(&["check", "--inbox"]);
    assert_eq!(check.code, 1, "{check:?}");
    let want = "column B 'Fiscal Year' matches both month and year: set sources.quotas.columns.month or .year to another header";
    assert!(check.stdout.contains(want), "{}", check.stdout);
    let run = env.quotad(&["import"]);
    assert!(run.stdout.contains(want), "{}", run.stdout);
}

#[test]
fn an_order_status_column_is_not_the_rosters_active_flag() {
    // A roster read from an orders file: its STATUS column holds order states, which
    // the default name "Status" maps to `active`. Every value fails: not the active
    // flag; the reps are read, active.
    let cfg = config("").replace("files = [\"roster*\"]", "files = [\"roster*\"]\ncolumns.rep_name = [\"Sales Rep\"]");
    let env = Env::new(&cfg);
    let mut csv = String::from("ORDER ID,Sales Rep,Rep Email,STATUS,Amount\n");
    let reps = [("Ann Archer", "ann@example.com"), ("Bob Baker", "bob@example.com"), ("Cy Cole", "cy@example.com")];
    for i in 0..1999 {
        let (n, e) = reps[i % 3];
        csv.push_str(&format!("O{i},{n},{e},{},100\n", ["Shipped", "Pending", "Delivered"][i % 3]));
    }
    env.put("roster-orders.csv", csv);
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = &run.stdout;
    assert!(!out.contains("QUARANTINED"), "{out}");
    assert!(out.contains("roster-orders.csv [roster]: 3 new, 0 updated, 0 unchanged, 0 rejected"), "{out}");
    assert!(
        out.contains("column D 'STATUS' matches active by its default name, but none of its 1999 values reads as one (e.g. 'Shipped'): not used; set sources.roster.columns.active to read it"),
        "{out}"
    );
    let roster = env.store().roster().unwrap();
    assert_eq!(roster.iter().filter(|r| r.active).count(), 3);
}

// ---------------------------------------------------------------- 4. UTF-16

fn utf16(text: &str, le: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if bom {
        out.extend(if le { [0xFF, 0xFE] } else { [0xFE, 0xFF] });
    }
    for u in text.encode_utf16() {
        out.extend(if le { u.to_le_bytes() } else { u.to_be_bytes() });
    }
    out
}

const UNICODE_TEXT_DEALS: &str = "Deal ID\tSales Rep\tRep Email\tStage\tClose Date\tSale Price\r\n\
D1\tJosé Núñez\tann@example.com\tClosed Won\t2026-03-02\t1000\r\n\
D2\tBob Baker\tbob@example.com\tClosed Won\t2026-03-03\t2000\r\n";

#[test]
fn excel_unicode_text_is_read_as_utf16_and_said_so() {
    let env = env_with("");
    env.put("deals.txt", utf16(UNICODE_TEXT_DEALS, true, true));
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = &run.stdout;
    assert!(out.contains("deals.txt [deals]: 2 new"), "{out}");
    assert!(out.contains("note: read as UTF-16LE (the file starts with its byte-order mark)"), "{out}");
    assert!(!out.contains("Windows-1252"), "{out}");
    let d = env.store().deals_between(p("2026-03"), p("2026-03")).unwrap();
    assert_eq!(d[0].rep.name.as_deref(), Some("José Núñez"));
}

#[test]
fn utf16_big_endian_and_configured_utf16_without_a_mark() {
    let env = env_with("");
    env.put("deals.txt", utf16(UNICODE_TEXT_DEALS, false, true));
    let run = env.quotad(&["import"]);
    assert!(run.stdout.contains("note: read as UTF-16BE (the file starts with its byte-order mark)"), "{}", run.stdout);
    assert_eq!(env.store().deals_between(p("2026-03"), p("2026-03")).unwrap().len(), 2);

    let cfg = config("").replace("files = [\"deals*\"]", "files = [\"deals*\"]\nencoding = \"utf-16\"");
    let env = Env::new(&cfg);
    env.put("roster.csv", ROSTER);
    env.put("deals.txt", utf16(UNICODE_TEXT_DEALS, true, false));
    let run = env.quotad(&["import"]);
    assert!(run.stdout.contains("deals.txt [deals]: 2 new"), "{}", run.stdout);
    let d = env.store().deals_between(p("2026-03"), p("2026-03")).unwrap();
    assert_eq!(d.iter().find(|d| d.deal_id == "D1").unwrap().rep.name.as_deref(), Some("José Núñez"));
}

// ---------------------------------------------------------------- 5. oversized files

#[test]
fn an_oversized_file_is_quarantined_from_its_size_and_the_next_file_is_imported() {
    // A 3 GB sparse file (no disk) beside a valid export, under a 1 GB address-space cap:
    // the size is checked from metadata, nothing is read or copied.
    let env = env_with("[paths]\nafter_import = \"keep\"\n");
    let huge = std::fs::File::create(env.path("inbox/deals-huge.csv")).unwrap();
    huge.set_len(3 * 1024 * 1024 * 1024).unwrap();
    env.put(
        "deals-ok.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\nD1,ann@example.com,Closed Won,2026-03-02,1000\n",
    );
    let out = std::process::Command::new("prlimit")
        .arg("--as=1500000000")
        .arg(env!("CARGO_BIN_EXE_quotad"))
        .args(["--config", "quotad.toml", "import"])
        .current_dir(env.dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // 1 (a file was quarantined), not a crash: the next file was imported.
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains(
            "QUARANTINED  deals-huge.csv [deals]: the file is 3072.0 MB; the limit is 100.0 MB (ingest.max_file_mb)"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("deals-ok.csv [deals]: 1 new"), "{stdout}");
    // Kept: never copied into quarantine, only the report written there.
    assert_eq!(env.files_in("quarantine"), vec!["deals-huge.csv.errors.txt"]);
    let report = std::fs::read_to_string(env.path("quarantine/deals-huge.csv.errors.txt")).unwrap();
    assert!(report.contains("The file stays in the inbox (paths.after_import = \"keep\")"), "{report}");
}

#[test]
fn an_oversized_file_is_moved_not_copied() {
    let env = env_with("[ingest]\nmax_file_mb = 1\n");
    let big = std::fs::File::create(env.path("inbox/deals-big.csv")).unwrap();
    big.set_len(2 * 1024 * 1024).unwrap();
    let check = env.quotad(&["check", "--inbox"]);
    assert_eq!(check.code, 1, "{check:?}");
    assert!(
        check.stdout.contains(
            "deals-big.csv [deals]: would be QUARANTINED: the file is 2.0 MB; the limit is 1.0 MB (ingest.max_file_mb)"
        ),
        "{}",
        check.stdout
    );
    let run = env.quotad(&["import"]);
    assert!(
        run.stdout.contains("QUARANTINED  deals-big.csv [deals]: the file is 2.0 MB; the limit is 1.0 MB"),
        "{}",
        run.stdout
    );
    assert_eq!(env.files_in("quarantine"), vec!["deals-big.csv", "deals-big.csv.errors.txt"]);
    assert!(!env.files_in("inbox").contains(&"deals-big.csv".to_string()));
}

// ---------------------------------------------------------------- 6. e-mail addresses

#[test]
fn an_invalid_roster_email_is_a_rejected_cell_at_import() {
    let env = Env::new(&config("[ingest]\nmax_rejected_fraction = 0.5\n"));
    env.put(
        "roster.csv",
        "Rep ID,Name,Email,Team\nR1,Ann Archer,ann@example.com,North\nR2,Bob Baker,../../x@example.com,North\nR3,Cy Cole,cy@example-.com,South\nR4,Di Dee,di@example.com,South\n",
    );
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = &run.stdout;
    assert!(
        out.contains("rejected row 3, column C 'Email': '../../x@example.com': expected an e-mail address such as jose.nunez@example.com: '../../x' before the @ is not a mailbox name"),
        "{out}"
    );
    assert!(out.contains("rejected row 4, column C 'Email': 'cy@example-.com': expected an e-mail address such as jose.nunez@example.com: 'example-.com' after the @ is not a domain name"), "{out}");
    let roster = env.store().roster().unwrap();
    let names: Vec<&str> = roster.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["Ann Archer", "Di Dee"]);
}

// ---------------------------------------------------------------- 7. the words of `quotad imports`

#[test]
fn a_changed_row_is_updated_not_superseded() {
    let env = env_with("");
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    // Bob moves to South; Ann's March quota is corrected.
    env.put("roster-2.csv", ROSTER.replace("R2,Bob Baker,bob@example.com,North", "R2,Bob Baker,bob@example.com,South"));
    env.put("quotas-2.csv", QUOTAS.replace("400000", "420000"));
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = &run.stdout;
    assert!(out.contains("roster-2.csv [roster]: 0 new, 1 updated, 2 unchanged, 0 rejected"), "{out}");
    assert!(out.contains("quotas-2.csv [quotas]: 0 new, 1 updated, 2 unchanged, 0 rejected"), "{out}");
    assert!(!out.contains("superseded"), "{out}");
    let imports = env.quotad(&["imports"]);
    assert!(imports.stdout.contains("0 new, 1 updated, 2 unchanged, 0 superseded"), "{}", imports.stdout);
}

// ---------------------------------------------------------------- 12. quotas before deals

#[test]
fn standings_and_explain_show_quotas_before_any_deal() {
    let env = env_with("");
    assert_eq!(env.quotad(&["import"]).code, 0);
    // No period given and no deals at all: the newest month with quotas.
    let run = env.quotad(&["standings", "--board", "attainment"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("company-wide: March 2026 (quotas only: no deals yet)"), "{}", run.stdout);
    let ann = run.stdout.lines().find(|l| l.contains("Ann Archer")).unwrap();
    assert!(ann.contains("$400,000"), "{ann}");
    let run = env.quotad(&["explain", "--rep", "ann@example.com", "--period", "2026-03"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("  no deals yet: no export with March 2026 deals is stored"), "{}", run.stdout);
    assert!(run.stdout.contains("  quota $400,000 for 2026-03  [quotas.csv, row 2 (import #2)]"), "{}", run.stdout);
}

#[test]
fn next_months_quotas_are_visible_while_its_deals_are_not_in() {
    // Deals for March, quotas for April too: April shows its quotas, "no deals yet".
    let env = env_with("");
    env.put("quotas-april.csv", "Rep Email,Month,Revenue Quota\nann@example.com,2026-04,410000\n");
    env.put(
        "deals.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\nD1,ann@example.com,Closed Won,2026-03-02,1000\n",
    );
    assert_eq!(env.quotad(&["import"]).code, 0);
    let run = env.quotad(&["standings", "--period", "2026-04"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("April 2026 (quotas only: no deals yet)"), "{}", run.stdout);
    assert!(run.stdout.lines().any(|l| l.contains("Ann Archer") && l.contains("$410,000")), "{}", run.stdout);
    // A month with neither is still refused, naming the months with data.
    let run = env.quotad(&["standings", "--period", "2026-06"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("no deals are stored for 2026-06; months with data: 2026-03"), "{}", run.stderr);
}

// ---------------------------------------------------------------- 8. names

const MARCH_DEALS: &str =
    "Deal ID,Rep Email,Stage,Close Date,Sale Price\nD1,ann@example.com,Closed Won,2026-03-02,1000\n";

#[test]
fn a_last_comma_first_name_is_greeted_by_the_first_name() {
    let env = Env::new(&config(""));
    env.put("roster.csv", ROSTER.replace("R1,Ann Archer,", "R1,\"Dvořák, Jiří\","));
    env.put("quotas.csv", QUOTAS);
    env.put("deals.csv", MARCH_DEALS);
    assert_eq!(env.quotad(&["import"]).code, 0);
    let run = env.quotad(&["run", "quota-memo", "--period", "2026-03"]);
    assert_eq!(run.code, 0, "{run:?}");
    let memo = env.email_to("ann@example.com");
    assert!(memo.text.starts_with("Hi Jiří,\n"), "{}", memo.text);
    assert!(!memo.text.contains("Dvořák,,"), "{}", memo.text);
    // The manager's team memo greets the manager by first name too.
    let team = env.all_emails().into_iter().find(|e| e.to == "mia@example.com").unwrap();
    assert!(team.text.starts_with("Hi Mia,"), "{}", team.text);
}

#[test]
fn first_name_and_last_name_columns_make_the_name() {
    let env = Env::new(&config(""));
    env.put(
        "roster.csv",
        "Rep ID,First Name,Last Name,Email,Team\nR1,Ann,Archer,ann@example.com,North\nR2,Bob,Baker,bob@example.com,North\nR3,Cy,Cole,cy@example.com,South\n",
    );
    env.put("quotas.csv", QUOTAS);
    env.put("deals.csv", MARCH_DEALS);
    assert_eq!(env.quotad(&["import"]).code, 0);
    let run = env.quotad(&["run", "quota-memo", "--period", "2026-03"]);
    assert_eq!(run.code, 0, "{run:?}");
    let names: Vec<String> = env.store().roster().unwrap().into_iter().map(|r| r.name).collect();
    assert_eq!(names, ["Ann Archer", "Bob Baker", "Cy Cole"]);
    assert!(env.email_to("bob@example.com").text.starts_with("Hi Bob,\n"));
}

// ---------------------------------------------------------------- 9. corrections

#[test]
fn corrections_without_a_period_correct_the_months_whose_memo_was_sent() {
    let env = env_with("");
    env.put("deals.csv", MARCH_DEALS);
    assert_eq!(env.quotad(&["import"]).code, 0);
    // Before any memo: nothing to correct, and it says what to do.
    let run = env.quotad(&["run", "quota-memo", "--corrections"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("no quota memo has been sent yet, so there is nothing to correct"), "{}", run.stderr);
    assert_eq!(env.quotad(&["run", "quota-memo", "--period", "2026-03"]).code, 0);
    // Ann's March quota is corrected after her memo went out.
    env.put("quotas-fix.csv", "Rep Email,Month,Revenue Quota\nann@example.com,2026-03,420000\n");
    assert_eq!(env.quotad(&["import"]).code, 0);
    let run = env.quotad(&["run", "quota-memo", "--corrections"]);
    assert_eq!(run.code, 0, "{run:?}");
    // March (the month whose memo was sent), not April (the month after the deals).
    assert!(run.stdout.contains("Quota memo for March 2026 (2026-03)"), "{}", run.stdout);
    assert!(!run.stdout.contains("April 2026"), "{}", run.stdout);
    // Ann and her manager Mia.
    assert!(run.stdout.contains("2 correction(s)"), "{}", run.stdout);
    let fixes: Vec<String> =
        env.all_emails().into_iter().filter(|e| e.file.contains("correction")).map(|e| e.to).collect();
    assert_eq!(fixes.len(), 2, "{fixes:?}");
    assert!(fixes.contains(&"ann@example.com".to_string()) && fixes.contains(&"mia@example.com".to_string()));
}

// ---------------------------------------------------------------- 11. missing glyphs

#[test]
fn the_admin_is_told_once_about_names_no_font_can_draw() {
    let env = Env::sample();
    let cfg = std::fs::read_to_string(env.path("quotad.toml")).unwrap();
    let cfg = cfg.replace("# admin = \"Sales Ops Admin", "admin = \"Sales Ops Admin");
    assert!(cfg.contains("\nadmin = \"Sales Ops Admin"));
    // DejaVu Sans only: no font draws the sample's 李伟.
    let cfg = cfg.replace("system_fonts = true ", "system_fonts = false");
    assert!(cfg.contains("system_fonts = false"));
    std::fs::write(env.path("quotad.toml"), cfg).unwrap();
    assert_eq!(env.quotad(&["import"]).code, 0);
    let run = env.quotad(&["run", "weekly-ranking"]);
    assert_eq!(run.code, 0, "{run:?}");
    let notices = |env: &Env| -> Vec<crate::harness::Email> {
        env.all_emails()
            .into_iter()
            .filter(|e| e.to == "salesops-admin@example-homes.com" && e.subject.contains("drawn as"))
            .collect()
    };
    let first = notices(&env);
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(first[0].text.contains("in the name of 李伟"), "{}", first[0].text);
    assert!(first[0].text.contains("(the weekly ranking 20"), "{}", first[0].text);
    // The same run again: not told twice.
    assert_eq!(env.quotad(&["run", "weekly-ranking"]).code, 0);
    assert_eq!(notices(&env).len(), 1);
}
