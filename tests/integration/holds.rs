//! Issue 15.1: no job runs on inputs that failed to import. A quarantined file stops
//! `run all` before anything is sent; `run JOB --at` (the calendar's path) holds a job
//! while an unresolved quarantine could change its period's figures, tells the admin
//! once, and skips it at the deadline; a later clean file of the same source, or
//! `quotad quarantine dismiss FILE`, resolves it. The default memo month is never an
//! older month because this month's export was rejected.

use crate::harness::{Env, ROSTER, config, line_value};

const QUOTAS: &str = "Rep Email,Month,Revenue Quota,Units Quota
ann@example.com,2026-09,400000,1
bob@example.com,2026-09,250000,1
cy@example.com,2026-09,300000,1
ann@example.com,2026-10,400000,1
bob@example.com,2026-10,250000,1
cy@example.com,2026-10,300000,1
ann@example.com,2026-11,410000,2
bob@example.com,2026-11,260000,1
cy@example.com,2026-11,310000,1
";

const SEPTEMBER: &str = "Deal ID,Rep Email,Stage,Close Date,Sale Price
S1,ann@example.com,Closed Won,2026-09-10,300000
S2,bob@example.com,Closed Won,2026-09-12,200000
S3,cy@example.com,Closed Won,2026-09-20,250000
";

/// October's export with one typo'd stage: rejected whole (max_rejected_fraction = 0).
const OCTOBER_TYPO: &str = "Deal ID,Rep Email,Stage,Close Date,Sale Price
O1,ann@example.com,Closed Won,2026-10-05,350000
O2,bob@example.com,Closed Wn,2026-10-08,150000
O3,cy@example.com,Closed Won,2026-10-15,320000
";

const OCTOBER_FIXED: &str = "Deal ID,Rep Email,Stage,Close Date,Sale Price
O1,ann@example.com,Closed Won,2026-10-05,350000
O2,bob@example.com,Closed Won,2026-10-08,150000
O3,cy@example.com,Closed Won,2026-10-15,320000
";

/// 1 November 2026, 07:00 in Chicago (CST: DST ended at 02:00 that morning): the
/// quota memo's occurrence.
const NOV_1: &str = "2026-11-01T13:00:00Z";

fn env_with(extra: &str) -> Env {
    let env = Env::new(&config(&format!("admin = \"Ops Admin <admin@test-homes.com>\"\n{extra}")));
    env.put("roster.csv", ROSTER);
    env.put("quotas.csv", QUOTAS);
    env.put("deals-2026-09.csv", SEPTEMBER);
    env
}

/// Outbox files whose name contains `part`.
fn outbox_with(env: &Env, part: &str) -> Vec<String> {
    env.files_in("outbox").into_iter().filter(|f| f.contains(part)).collect()
}

#[test]
fn run_all_stops_after_a_quarantine_and_the_fixed_file_brings_the_november_memo_once() {
    let env = env_with("");
    env.put("deals-2026-10.csv", OCTOBER_TYPO);
    let run = env.quotad(&["--now", NOV_1, "run", "all"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("QUARANTINED  deals-2026-10.csv [deals]"), "{}", run.stdout);
    assert!(
        run.stdout.contains("Nothing was sent: 1 file(s) were quarantined by this import (deals-2026-10.csv)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("--ignore-quarantine"), "{}", run.stdout);
    assert!(!run.stdout.contains("Quota memo for"), "{}", run.stdout);
    // Only the admin's quarantine notice went out: no memo, ranking or 1:1 pack.
    assert_eq!(env.emails().len(), 0, "{:?}", env.files_in("outbox"));
    assert!(outbox_with(&env, "weekly-ranking").is_empty() && outbox_with(&env, "one-on-one").is_empty());
    assert_eq!(outbox_with(&env, "quarantine-notice").len(), 1, "{:?}", env.files_in("outbox"));

    // `status` lists it as unresolved.
    let status = env.quotad(&["--now", NOV_1, "status"]);
    assert!(
        status.stdout.contains("Unresolved quarantines (jobs whose figures they could change are held)"),
        "{}",
        status.stdout
    );
    assert!(status.stdout.contains("deals-2026-10.csv [deals] was quarantined"), "{}", status.stdout);

    // The fixed file: imported, the quarantine resolved, the November memo to everyone.
    env.put("deals-2026-10.csv", OCTOBER_FIXED);
    let run = env.quotad(&["--now", "2026-11-01T15:00:00Z", "run", "all"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("resolves the quarantine of deals-2026-10.csv"), "{}", run.stdout);
    assert!(run.stdout.contains("Quota memo for November 2026 (2026-11)"), "{}", run.stdout);
    let memos = env.emails();
    assert_eq!(memos.len(), 3, "{:?}", env.files_in("outbox"));
    assert!(memos.iter().all(|m| m.file.contains("2026-11_rep-memo")), "{memos:?}");
    let ann = env.email_to("ann@example.com");
    assert_eq!(ann.subject, "Your November 2026 quota: $410,000, 2 units");
    assert_eq!(line_value(&ann.text, "Revenue"), "$350,000 against a quota of $400,000");
    assert_eq!(line_value(&ann.text, "Attainment"), "87.5%");
    let bob = env.email_to("bob@example.com");
    assert_eq!(line_value(&bob.text, "Revenue"), "$150,000 against a quota of $250,000");
    // No October memo was ever written.
    assert!(outbox_with(&env, "2026-10_rep-memo").is_empty(), "{:?}", env.files_in("outbox"));
    // The quarantined copy's report says it is resolved, and by what.
    let report = std::fs::read_to_string(env.path("quarantine/deals-2026-10.csv.errors.txt")).unwrap();
    assert!(
        report.contains(
            "RESOLVED 2026-11-01T15:00:00+00:00: deals-2026-10.csv (source \"deals\") was imported as import #"
        ),
        "{report}"
    );
    let status = env.quotad(&["--now", "2026-11-01T15:00:00Z", "status"]);
    assert!(status.stdout.contains("Unresolved quarantines: none"), "{}", status.stdout);
}

#[test]
fn ignore_quarantine_goes_on_with_the_memo_for_the_current_month_not_an_older_one() {
    let env = env_with("");
    env.put("deals-2026-10.csv", OCTOBER_TYPO);
    let run = env.quotad(&["--now", NOV_1, "run", "all", "--ignore-quarantine"]);
    // Still exit 1 (a file was quarantined), but the jobs ran, deliberately.
    assert_eq!(run.code, 1, "{run:?}");
    // October's export was seen (and rejected): the memo month is November, not the
    // month after the newest *stored* deals (October), and it waits for October's data.
    assert!(run.stdout.contains("Quota memo for November 2026 (2026-11)"), "{}", run.stdout);
    assert!(!run.stdout.contains("Quota memo for October 2026"), "{}", run.stdout);
    assert!(outbox_with(&env, "2026-10_rep-memo").is_empty(), "{:?}", env.files_in("outbox"));
}

#[test]
fn the_memo_occurrence_waits_while_october_is_quarantined_tells_the_admin_once_and_is_skipped_at_the_deadline() {
    let env = env_with("");
    env.put("deals-2026-10.csv", OCTOBER_TYPO);
    assert_eq!(env.quotad(&["--now", "2026-11-01T12:30:00Z", "import"]).code, 1);

    let run = env.quotad(&["--now", NOV_1, "run", "quota-memo", "--at", NOV_1]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains(": waiting: held: deals-2026-10.csv [deals] was quarantined"), "{}", run.stdout);
    assert!(run.stdout.contains("until 2026-11-02 12:00 CST"), "{}", run.stdout);
    assert_eq!(env.emails().len(), 0);
    let held = outbox_with(&env, "admin-held");
    assert_eq!(held.len(), 1, "{:?}", env.files_in("outbox"));
    let notice = crate::harness::parse_email(&env.path("outbox").join(&held[0]));
    assert_eq!(notice.to, "admin@test-homes.com");
    assert!(notice.text.contains("quotad quarantine dismiss deals-2026-10.csv"), "{}", notice.text);

    // Looked at again (the daemon does so every heartbeat): still held, not told twice.
    let run = env.quotad(&["--now", "2026-11-01T16:00:00Z", "run", "quota-memo", "--at", NOV_1]);
    assert!(run.stdout.contains(": waiting: held"), "{}", run.stdout);
    assert_eq!(outbox_with(&env, "admin-held").len(), 1, "{:?}", env.files_in("outbox"));

    // After the deadline (2 November 12:00 CST = 18:00 UTC): skipped, never run on
    // September's figures; the admin is told.
    let run = env.quotad(&["--now", "2026-11-02T18:30:00Z", "run", "quota-memo", "--at", NOV_1]);
    assert!(run.stdout.contains(": skipped: held: deals-2026-10.csv [deals] was quarantined"), "{}", run.stdout);
    assert_eq!(env.emails().len(), 0, "{:?}", env.files_in("outbox"));
    assert_eq!(outbox_with(&env, "admin-skipped").len(), 1, "{:?}", env.files_in("outbox"));

    // The fixed export resolves it; the skipped occurrence run by hand sends November.
    env.put("deals-2026-10.csv", OCTOBER_FIXED);
    assert_eq!(env.quotad(&["--now", "2026-11-02T19:00:00Z", "import"]).code, 0);
    let run = env.quotad(&["--now", "2026-11-02T19:05:00Z", "run", "quota-memo", "--at", NOV_1]);
    assert!(run.stdout.contains(": succeeded: quota memo 2026-11: 3 rep memo(s)"), "{}", run.stdout);
    assert_eq!(env.emails().len(), 3);
    assert_eq!(line_value(&env.email_to("cy@example.com").text, "Revenue"), "$320,000 against a quota of $300,000");
}

#[test]
fn dismissing_a_quarantine_releases_the_held_job_and_an_unrelated_month_holds_nothing() {
    let env = env_with("");
    env.put("deals-2026-10.csv", OCTOBER_FIXED);
    // A second October export, imported after the good one, that the admin decides is
    // junk; and a June re-export with a bad row: June's figures are not the November
    // memo's, and September's export (imported after it) does not stand in for it.
    env.put(
        "deals-2026-10b.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\nX0,ann@example.com,Closed Won,2026-10-29,1\nX1,ann@example.com,Closd Won,2026-10-30,1\n",
    );
    env.put("deals-2026-06.csv", "Deal ID,Rep Email,Stage,Close Date,Sale Price\nJ1,ann@example.com,Closed Won,2026-06-03,1000\nJ2,bob@example.com,Closed Won,2026-06-31,5\n");
    assert_eq!(env.quotad(&["--now", "2026-11-01T12:00:00Z", "import"]).code, 1);
    let run = env.quotad(&["--now", NOV_1, "run", "quota-memo"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("held: deals-2026-10b.csv [deals] was quarantined"), "{}", run.stdout);
    assert!(!run.stdout.contains("deals-2026-06.csv [deals] was quarantined"), "{}", run.stdout);
    assert_eq!(env.emails().len(), 0);

    let run = env.quotad(&["--now", NOV_1, "quarantine", "dismiss", "deals-2026-10b.csv"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("dismissed: deals-2026-10b.csv [deals]"), "{}", run.stdout);
    let report = std::fs::read_to_string(env.path("quarantine/deals-2026-10b.csv.errors.txt")).unwrap();
    assert!(report.contains("DISMISSED 2026-11-01T13:00:00+00:00"), "{report}");
    let again = env.quotad(&["--now", NOV_1, "quarantine", "dismiss", "deals-2026-10b.csv"]);
    assert_eq!(again.code, 1, "{again:?}");
    assert!(again.stderr.contains("no unresolved quarantine of deals-2026-10b.csv"), "{again:?}");
    assert!(again.stderr.contains("deals-2026-06.csv"), "names the unresolved ones: {again:?}");

    let status = env.quotad(&["--now", NOV_1, "status"]);
    assert!(status.stdout.contains("deals-2026-06.csv [deals] was quarantined"), "{}", status.stdout);
    assert!(status.stdout.contains("could change 2026-06"), "{}", status.stdout);
    assert!(!status.stdout.contains("deals-2026-10b.csv [deals] was quarantined"), "{}", status.stdout);

    let run = env.quotad(&["--now", NOV_1, "run", "quota-memo"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("Quota memo for November 2026"), "{}", run.stdout);
    assert_eq!(env.emails().len(), 3);
}

/// The bundled sample with its October export as a CSV (calamine reads the xlsx, the
/// csv crate writes it) in which one "Closed Won" reads "Closed Wn".
fn sample_with_october_typo() -> Env {
    use calamine::{Data, Reader, open_workbook_auto};
    let env = Env::sample();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sample-inbox");
    let cfg = std::fs::read_to_string(env.path("quotad.toml")).unwrap();
    let cfg = cfg.replace(&format!("inbox = {:?}", root.display().to_string()), "inbox = \"inbox\"");
    std::fs::write(env.path("quotad.toml"), cfg).unwrap();
    for e in std::fs::read_dir(&root).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if name != "crm-export-2026-10.xlsx" {
            std::fs::copy(root.join(&name), env.path("inbox").join(&name)).unwrap();
        }
    }
    let mut wb = open_workbook_auto(root.join("crm-export-2026-10.xlsx")).unwrap();
    let sheet = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&sheet).unwrap();
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut typo = false;
    for row in range.rows() {
        let cells: Vec<String> = row
            .iter()
            .map(|c| match c {
                Data::DateTime(d) => d.as_datetime().unwrap().date().to_string(),
                Data::String(s) if s == "Closed Won" && !typo => {
                    typo = true;
                    "Closed Wn".to_string()
                }
                Data::Empty => String::new(),
                other => other.to_string(),
            })
            .collect();
        out.write_record(&cells).unwrap();
    }
    assert!(typo);
    env.put("crm-export-2026-10.csv", out.into_inner().unwrap());
    env
}

#[test]
fn the_sample_with_a_typo_in_october_sends_nothing_then_the_november_memo_once() {
    // The example: before, this sent the October memo to 19 reps and 3
    // managers, a ranking for an old week and the September 1:1 packs, and the fixed
    // file then brought everyone a second memo, for November.
    let env = sample_with_october_typo();
    let run = env.quotad(&["--now", NOV_1, "run", "all"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("QUARANTINED  crm-export-2026-10.csv [deals]"), "{}", run.stdout);
    let report = std::fs::read_to_string(env.path("var/quarantine/crm-export-2026-10.csv.errors.txt")).unwrap();
    assert!(report.contains("'Closed Wn': stage 'Closed Wn' is in none of"), "{report}");
    assert!(run.stdout.contains("Nothing was sent: 1 file(s) were quarantined by this import"), "{}", run.stdout);
    assert_eq!(env.emails().len(), 0);
    assert!(
        env.files_in("var/outbox")
            .iter()
            .all(|f| !f.contains("team-memo") && !f.contains("weekly-ranking") && !f.contains("one-on-one"))
    );

    // The corrected export (the original workbook) resolves it: the November memo, once.
    // The sample keeps imported files in the inbox (after_import = "keep"), so the bad
    // CSV is read again and quarantined again (exit 1), but the workbook stands in for it.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sample-inbox");
    std::fs::copy(root.join("crm-export-2026-10.xlsx"), env.path("inbox/crm-export-2026-10.xlsx")).unwrap();
    let run = env.quotad(&["--now", "2026-11-01T15:00:00Z", "run", "all"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("resolves the quarantine of crm-export-2026-10.csv"), "{}", run.stdout);
    assert!(run.stdout.contains("Quota memo for November 2026 (2026-11)"), "{}", run.stdout);
    assert!(run.stdout.contains("19 rep memo(s) and 3 manager memo(s)"), "{}", run.stdout);
    let memos = env.emails();
    assert_eq!(memos.len(), 19);
    assert!(memos.iter().all(|m| m.subject.contains("November 2026")), "{memos:?}");
    assert!(env.files_in("var/outbox").iter().all(|f| !f.contains("2026-10_rep-memo")));
    // Seen again, the same bad CSV keeps its resolution: nothing is held or sent twice.
    let run = env.quotad(&["--now", "2026-11-01T16:00:00Z", "run", "all"]);
    assert!(!run.stdout.contains("Nothing was sent") && !run.stdout.contains("not run: held"), "{}", run.stdout);
    assert!(run.stdout.contains("0 rep memo(s) and 0 manager memo(s)"), "{}", run.stdout);
    assert_eq!(env.emails().len(), 19);
    let status = env.quotad(&["--now", "2026-11-01T16:00:00Z", "status"]);
    assert!(status.stdout.contains("Unresolved quarantines: none"), "{}", status.stdout);
}
