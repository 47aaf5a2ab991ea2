//! Messy inputs through the real binary, each with values worked out by hand.

use crate::harness::{Env, ROSTER, X, config, line_value, xlsx};

/// Quotas for March and April 2026 (April is the memo month; March is "last month").
const QUOTAS: &str = "Rep Email,Month,Revenue Quota,Units Quota
ann@example.com,2026-03,400000,2
bob@example.com,2026-03,\"$250,000.00\",1
cy@example.com,Mar 2026,300000,1
ann@example.com,2026-04,410000,2
bob@example.com,2026-04,260000,1
cy@example.com,2026-04,310000,1
";

fn env_with(extra: &str) -> Env {
    let env = Env::new(&config(extra));
    env.put("roster.csv", ROSTER);
    env.put("quotas.csv", QUOTAS);
    env
}

#[test]
fn title_rows_blank_rows_a_blank_column_and_a_totals_row_around_the_table() {
    use X::*;
    let env = env_with("");
    let header = || {
        vec![
            S("Deal ID"),
            S("Sales Rep"),
            S("Rep Email"),
            S("Team"),
            E,
            S("Stage"),
            S("Close Date"),
            S("Sale Price"),
            S("Units"),
        ]
    };
    let deal = |id, name, email, stage, date, price: f64, units: f64| {
        vec![S(id), S(name), S(email), S("North"), E, S(stage), D(date), N(price), N(units)]
    };
    env.put(
        "deals-2026-03.xlsx",
        xlsx(&[
            vec![S("Closed Sales Report - March 2026 - exported by HomeBuilder CRM")],
            vec![],
            header(),
            deal("D1", "Ann Archer", "ann@example.com", "Closed Won", "2026-03-02", 300000.0, 1.0),
            deal("D2", "Bob Baker", "bob@example.com", "Closed Won", "2026-03-05", 250000.0, 1.0),
            vec![],
            deal("D3", "Ann Archer ", "ann@example.com", "Closed Won", "2026-03-31", 150000.0, 1.0),
            deal("D4", "Cy Cole", "cy@example.com", "Pending", "2026-03-20", 500000.0, 1.0),
            vec![S("Total"), E, E, E, E, E, E, N(1200000.0), N(4.0)],
        ]),
    );
    let run = env.quotad(&["run", "all"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("deals-2026-03.xlsx [deals, sheet 'Closed Sales']: 4 new"), "{}", run.stdout);
    assert!(run.stdout.contains("note: skipped totals row 9"), "{}", run.stdout);
    // The memo month defaults to the month after the newest deals: April 2026.
    assert!(run.stdout.contains("Quota memo for April 2026"), "{}", run.stdout);
    // Ann: 300,000 + 150,000 = 450,000 of 400,000 = 112.5%, rank 1 of 3.
    let ann = env.email_to("ann@example.com");
    assert_eq!(ann.subject, "Your April 2026 quota: $410,000, 2 units");
    assert_eq!(line_value(&ann.text, "Revenue"), "$450,000 against a quota of $400,000");
    assert_eq!(line_value(&ann.text, "Units"), "2");
    assert_eq!(line_value(&ann.text, "Attainment"), "112.5%");
    assert_eq!(line_value(&ann.text, "Rank"), "1 of 3 company-wide, 1 of 2 in North");
    // Bob: 250,000 of "$250,000.00" (text money in the quota file) = 100.0%.
    let bob = env.email_to("bob@example.com");
    assert_eq!(line_value(&bob.text, "Attainment"), "100.0%");
    assert_eq!(line_value(&bob.text, "Rank"), "2 of 3 company-wide, 2 of 2 in North");
    // Cy's only deal is Pending: nothing counts; 0.0% of quota, last.
    let cy = env.email_to("cy@example.com");
    assert_eq!(line_value(&cy.text, "Revenue"), "$0 against a quota of $300,000");
    assert_eq!(line_value(&cy.text, "Attainment"), "0.0%");
    assert_eq!(line_value(&cy.text, "Rank"), "3 of 3 company-wide, 1 of 1 in South");
    // Imported files were moved to the archive.
    assert_eq!(env.files_in("inbox"), Vec::<String>::new());
    assert_eq!(env.files_in("archive"), vec!["deals-2026-03.xlsx", "quotas.csv", "roster.csv"]);
}

/// One CSV with text dates and text money, read month-first and day-first.
const TEXT_DEALS: &str = "\u{feff}Deal ID,Rep Email,Stage,Close Date,Sale Price
D1,ann@example.com,Closed Won,03/04/2026,\"$412,500.00\"
D2,ann@example.com,Closed Won,2026-03-20,\"(1,250.00)\"
D3,bob@example.com,Closed Won,03/15/2026 ,\"$200,000.00\"
D0,bob@example.com,Closed Won,2026-02-10,\"$50,000.00\"
D0,bob@example.com,Cancelled,03/28/2026,\"-$50,000.00\"
";

#[test]
fn text_dates_follow_the_configured_order_and_text_money_parses() {
    // Month first: D1 is 4 March. Ann: 412,500 + (-1,250) = 411,250 of 400,000 = 102.8%.
    // Bob: D3 200,000 in March, D0 cancelled in March -50,000 (its sale was in February).
    let env = env_with("");
    env.put("deals.csv", TEXT_DEALS);
    let run = env.quotad(&["run", "all"]);
    assert_eq!(run.code, 0, "{run:?}");
    let ann = env.email_to("ann@example.com");
    assert_eq!(line_value(&ann.text, "Revenue"), "$411,250 against a quota of $400,000");
    assert_eq!(line_value(&ann.text, "Attainment"), "102.8%");
    assert_eq!(line_value(&ann.text, "Units"), "2");
    let bob = env.email_to("bob@example.com");
    assert_eq!(line_value(&bob.text, "Revenue"), "$150,000 against a quota of $250,000");
    assert_eq!(line_value(&bob.text, "Deals won"), "1 (1 cancelled)");
    assert_eq!(line_value(&bob.text, "Units"), "0");

    // Day first: 03/04/2026 is 3 April, so D1 leaves March; 03/15/2026 and 03/28/2026
    // have no 15th or 28th month and reject their rows (2 of 5: the tolerance is raised
    // to 0.5 so the file still imports).
    let env = env_with("[ingest]\ndate_order = \"dmy\"\nmax_rejected_fraction = 0.5\n");
    env.put("deals.csv", TEXT_DEALS);
    let run = env.quotad(&["run", "quota-memo", "--period", "2026-04"]);
    assert_ne!(run.code, 0, "no deals imported yet: {run:?}");
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("3 new, 0 updated, 0 unchanged, 2 rejected"), "{}", run.stdout);
    assert!(
        run.stdout.contains("rejected row 4, column D 'Close Date': '03/15/2026': expected a date such as 2026-03-15 or 15/03/2026 (ingest.date_order)"),
        "{}",
        run.stdout
    );
    let report = std::fs::read_to_string(env.path("archive/deals.csv.rejected-rows.txt")).unwrap();
    assert!(report.contains("row 4, column D 'Close Date': '03/15/2026'"), "{report}");
    assert!(report.contains("row 6, column D 'Close Date': '03/28/2026'"), "{report}");
    let run = env.quotad(&["run", "quota-memo", "--period", "2026-04"]);
    assert_eq!(run.code, 0, "{run:?}");
    let ann = env.email_to("ann@example.com");
    assert_eq!(line_value(&ann.text, "Revenue"), "-$1,250 against a quota of $400,000");
    assert_eq!(line_value(&ann.text, "Attainment"), "-0.3%");
}

#[test]
fn semicolon_csv_with_european_numbers() {
    let env = Env::new(&config("[ingest]\ndecimal_separator = \",\"\ndate_order = \"dmy\"\n"));
    env.put("roster.csv", ROSTER);
    env.put("quotas.csv", "Rep Email;Month;Revenue Quota\nann@example.com;03.2026;400.000,00 €\n");
    env.put(
        "deals.csv",
        "Deal ID;Rep Email;Stage;Close Date;Sale Price;Units\nD1;ann@example.com;Closed Won;15.03.2026;1.234.500,50 €;1\nD2;ann@example.com;Closed Won;16.03.2026;\"99,5\";1\n",
    );
    let run = env.quotad(&["run", "all"]);
    assert_eq!(run.code, 0, "{run:?}");
    // 1,234,500.50 + 99.50 = 1,234,600 of 400,000 = 308.65% -> 308.7%.
    let ann = env.email_to("ann@example.com");
    assert_eq!(line_value(&ann.text, "Revenue"), "$1,234,600 against a quota of $400,000");
    assert_eq!(line_value(&ann.text, "Attainment"), "308.7%");
}

#[test]
fn duplicated_deal_ids_within_a_file_and_re_exports_across_files() {
    let env = env_with("");
    // Within one file: D1 exported twice identically (counted once); D2 twice with
    // different prices (the later row wins, and the run says so).
    env.put(
        "deals-a.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\n\
         D1,ann@example.com,Closed Won,2026-03-02,100000\n\
         D2,ann@example.com,Closed Won,2026-03-03,200000\n\
         D1,ann@example.com,Closed Won,2026-03-02,100000\n\
         D2,ann@example.com,Closed Won,2026-03-03,210000\n",
    );
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("deals-a.csv [deals]: 2 new, 0 updated, 0 unchanged, 0 rejected"), "{}", run.stdout);
    assert!(run.stdout.contains("note: row 4 repeats an earlier row exactly and was counted once"), "{}", run.stdout);
    assert!(
        run.stdout.contains("Deal ID D2 (sale) for ann@example.com appears on rows 3 and 5 with different values; the later row 5 is used"),
        "{}",
        run.stdout
    );
    // A later export supersedes: D1's price corrected to 120,000; D2 unchanged; D2 also
    // cancelled in March (a second event of the same Deal ID, kept beside the sale).
    env.put(
        "deals-b.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\n\
         D1,ann@example.com,Closed Won,2026-03-02,120000\n\
         D2,ann@example.com,Closed Won,2026-03-03,210000\n\
         D2,ann@example.com,Cancelled,2026-03-30,-210000\n",
    );
    let run = env.quotad(&["import"]);
    assert!(run.stdout.contains("deals-b.csv [deals]: 1 new, 1 updated, 1 unchanged, 0 rejected"), "{}", run.stdout);
    // The same bytes again under another name change nothing.
    env.put("deals-c.csv", std::fs::read(env.path("archive/deals-b.csv")).unwrap());
    let run = env.quotad(&["import"]);
    assert!(run.stdout.contains("unchanged    deals-c.csv [deals]: same content as import #"), "{}", run.stdout);
    assert_eq!(env.store().counts().unwrap().0, 3, "D1 sale, D2 sale, D2 cancellation");
    let run = env.quotad(&["run", "quota-memo"]);
    assert_eq!(run.code, 0, "{run:?}");
    // Ann: 120,000 + 210,000 - 210,000 = 120,000 of 400,000 = 30.0%.
    let ann = env.email_to("ann@example.com");
    assert_eq!(line_value(&ann.text, "Revenue"), "$120,000 against a quota of $400,000");
    assert_eq!(line_value(&ann.text, "Attainment"), "30.0%");
}

#[test]
fn a_workbook_in_the_1904_date_system() {
    // tests/fixtures/deals-1904.xlsx (see make_1904.py): D1 2026-03-15 (formatted date),
    // D2 2026-03-31 (an unformatted 1904 serial), D3 2026-02-28.
    let env = env_with("");
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/deals-1904.xlsx");
    env.put("deals-1904.xlsx", std::fs::read(fixture).unwrap());
    let run = env.quotad(&["run", "all"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("Quota memo for April 2026"), "{}", run.stdout);
    let ann = env.email_to("ann@example.com");
    // March: D1 300,000 + D2 200,000 = 500,000 of 400,000 = 125.0%, as of 2026-03-31.
    assert_eq!(line_value(&ann.text, "Revenue"), "$500,000 against a quota of $400,000");
    assert_eq!(line_value(&ann.text, "Attainment"), "125.0%");
    assert!(ann.text.contains("March 2026 results (data through March 31, 2026)"), "{}", ann.text);
    let run = env.quotad(&["run", "quota-memo", "--period", "2026-03"]);
    assert_eq!(run.code, 0, "{run:?}");
    let feb = env.emails().into_iter().find(|e| e.file.contains("2026-03_rep-memo_ann")).unwrap();
    assert_eq!(line_value(&feb.text, "Revenue"), "$999,000");
}

#[test]
fn a_bad_row_rejects_the_whole_file_and_names_the_cell() {
    let env = env_with("");
    let bad = "Deal ID,Rep Email,Stage,Close Date,Sale Price\n\
               D1,ann@example.com,Closed Won,2026-03-02,100000\n\
               D2,ann@example.com,Closed Won,2026-03-03,$4l2500\n\
               D3,bob@example.com,Won Maybe,2026-03-04,5\n\
               D4,not-an-address,Closed Won,2026-03-04,5\n";
    env.put("deals.csv", bad);
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("QUARANTINED  deals.csv [deals]: 3 of 4 data rows rejected"), "{}", run.stdout);
    let report = std::fs::read_to_string(env.path("quarantine/deals.csv.errors.txt")).unwrap();
    assert!(
        report.contains(
            "row 3, column E 'Sale Price': '$4l2500': expected an amount such as 412500, $412,500.00 or (1,250.00)"
        ),
        "{report}"
    );
    assert!(report.contains("row 4, column C 'Stage': 'Won Maybe': stage 'Won Maybe' is in none of stages.won, stages.cancelled, stages.ignored"), "{report}");
    assert!(report.contains("row 5, column B 'Rep Email': 'not-an-address': expected an e-mail address"), "{report}");
    assert!(report.contains("Nothing from this file was stored."), "{report}");
    assert_eq!(env.files_in("quarantine"), vec!["deals.csv", "deals.csv.errors.txt"]);
    assert_eq!(env.store().counts().unwrap().0, 0, "the good row D1 was not stored either");
    // The roster and quotas in the same pass were imported: a bad file stops nothing else.
    assert_eq!(env.store().counts().unwrap().2, 3);
    assert!(env.files_in("inbox").is_empty());
}

#[test]
fn a_file_without_the_mapped_header_says_what_it_looked_for() {
    let env = env_with("");
    env.put("deals.csv", "Order,Customer,Total\n1,Acme,5\n");
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 1, "{run:?}");
    let report = std::fs::read_to_string(env.path("quarantine/deals.csv.errors.txt")).unwrap();
    assert!(report.contains("no header row found in the first 30 rows"), "{report}");
    assert!(report.contains("no row names any of them (accepted: deal_id = Deal ID / Opportunity ID /"), "{report}");
}

#[test]
fn reps_missing_from_the_roster_are_reported_not_dropped_silently() {
    let env = env_with("");
    env.put(
        "deals.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\nD1,ann@example.com,Closed Won,2026-03-02,1\nD2,zed@example.com,Closed Won,2026-03-02,77\n",
    );
    let run = env.quotad(&["run", "all"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("not on the roster (their figures are in no memo): zed@example.com (revenue 77)"),
        "{}",
        run.stdout
    );
}

#[test]
fn co_agent_deals_credit_each_agent_their_share() {
    let env = env_with("");
    // D1: a split column, Ann 60% / Bob 40% of 500,000 -> 300,000 and 200,000.
    // D2: one row per agent, same amount, no split value -> equal shares of 100,000.
    // D3: splits adding up to 90% -> both rows rejected (tolerance raised below).
    env.put(
        "deals.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price,Split\n\
         D1,ann@example.com,Closed Won,2026-03-02,500000,60%\n\
         D1,bob@example.com,Closed Won,2026-03-02,500000,40%\n\
         D3,ann@example.com,Closed Won,2026-03-04,80000,50%\n\
         D3,cy@example.com,Closed Won,2026-03-04,80000,40%\n",
    );
    env.put("deals-b.csv", "Deal ID,Rep Email,Stage,Close Date,Sale Price\nD2,bob@example.com,Closed Won,2026-03-03,100000\nD2,cy@example.com,Closed Won,2026-03-03,100000\n");
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 1, "D3's bad splits quarantine deals.csv: {run:?}");
    let report = std::fs::read_to_string(env.path("quarantine/deals.csv.errors.txt")).unwrap();
    assert!(
        report.contains(
            "row 4, column F 'Split': '50%': the splits of Deal ID D3 (sale) add up to 90%; they must add up to 100%"
        ),
        "{report}"
    );
    assert!(run.stdout.contains("1 deal(s) list several agents with the same amount and there is no split column: each agent is credited an equal share (Deal ID D2)"), "{}", run.stdout);
    // Fixed: D3 now 50/50.
    env.put(
        "deals.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price,Split\n\
         D1,ann@example.com,Closed Won,2026-03-02,500000,60%\n\
         D1,bob@example.com,Closed Won,2026-03-02,500000,40%\n\
         D3,ann@example.com,Closed Won,2026-03-04,80000,50%\n\
         D3,cy@example.com,Closed Won,2026-03-04,80000,50%\n",
    );
    let run = env.quotad(&["run", "all"]);
    assert_eq!(run.code, 0, "{run:?}");
    // Ann: 300,000 + 40,000 = 340,000 (85.0% of 400,000); units 0.6 + 0.5 = 1.1.
    let ann = env.email_to("ann@example.com");
    assert_eq!(line_value(&ann.text, "Revenue"), "$340,000 against a quota of $400,000");
    assert_eq!(line_value(&ann.text, "Units"), "1.1");
    // Bob: 200,000 + 50,000 = 250,000 = 100.0%. Cy: 50,000 + 40,000 = 90,000 = 30.0%.
    assert_eq!(line_value(&env.email_to("bob@example.com").text, "Attainment"), "100.0%");
    assert_eq!(line_value(&env.email_to("cy@example.com").text, "Revenue"), "$90,000 against a quota of $300,000");
}
