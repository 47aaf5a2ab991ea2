//! Issue 7, the semantic half: mapping presets, summary exports, encodings and
//! locales, headerless files, rep identity, the import report, the admin's quarantine
//! notice and `check --inbox`. Every file is generated here; every figure was worked
//! out by hand.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::harness::{Env, ROSTER, X, config, line_value, xlsx};
use crate::smtp_server::{PASSWORD_ENV, SmtpSink, password, smtp_config};

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn p(s: &str) -> quotad::domain::Period {
    s.parse().unwrap()
}

/// Won (and cancelled) revenue per rep name in `month`, from the store.
fn won_by_name(env: &Env, month: &str) -> BTreeMap<String, Decimal> {
    let mut out = BTreeMap::new();
    for d in env.store().deals_between(p(month), p(month)).unwrap() {
        if d.class != quotad::domain::StageClass::Ignored {
            *out.entry(d.rep.name.clone().unwrap_or_default()).or_default() += d.amount.unwrap() * d.share;
        }
    }
    out
}

const STAGES: &str = "[stages]
won = [\"Closed Won\", \"Won\"]
cancelled = [\"Cancelled\"]
ignored = [\"Closed Lost\", \"Lost\", \"Open\", \"Contract Sent\"]
";

#[test]
fn salesforce_hubspot_and_pipedrive_exports_through_their_presets() {
    use X::*;
    let cfg = config(STAGES).replace(
        "[sources.deals]\nkind = \"deals\"\nfiles = [\"deals*\"]\n",
        "[sources.hubspot]
kind = \"deals\"
preset = \"hubspot\"
files = [\"hubspot-*\"]

[sources.salesforce]
kind = \"deals\"
preset = \"salesforce\"
files = [\"salesforce-*\"]
columns.amount = [\"Amount (converted)\"]

[sources.pipedrive]
kind = \"deals\"
preset = \"pipedrive\"
files = [\"pipedrive-*\"]
",
    );
    let env = Env::new(&cfg);
    env.put("roster.csv", ROSTER);
    // HubSpot's deals export: Record ID, Deal Name, Deal Stage, Close Date, Deal owner, Amount.
    env.put(
        "hubspot-deals.xlsx",
        xlsx(&[
            vec![S("Record ID"), S("Deal Name"), S("Deal Stage"), S("Close Date"), S("Deal owner"), S("Amount")],
            vec![N(101.0), S("Lot 4"), S("Closed Won"), D("2026-03-05"), S("Ann Archer"), N(300000.0)],
            vec![N(102.0), S("Lot 7"), S("Closed Lost"), E, S("Bob Baker"), N(250000.0)],
            vec![N(103.0), S("Lot 9"), S("Contract Sent"), E, S("Cy Cole"), N(90000.0)],
        ]),
    );
    // Salesforce's opportunity report; the override reads "Amount (converted)", not "Amount".
    env.put(
        "salesforce-opps.csv",
        "Opportunity Owner,Opportunity Name,Stage,Amount (converted),Amount,Close Date,Opportunity ID
Bob Baker,Lot 12,Closed Won,\"$410,000.00\",999,3/10/2026,006A
Ann Archer,Lot 13,Closed Lost,$1.00,1,3/11/2026,006B
",
    );
    // Pipedrive: "Deal - " headers, status won/lost/open, "Won time" with a time of day.
    env.put(
        "pipedrive-deals.csv",
        "Deal - ID,Deal - Title,Deal - Owner,Deal - Value,Deal - Status,Deal - Won time
7,Lot 20,Cy Cole,\"125,000\",won,2026-03-12 14:03:22
8,Lot 21,Ann Archer,5000,lost,
9,Lot 22,Bob Baker,7000,open,
",
    );
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    for line in [
        "hubspot-deals.xlsx [hubspot, sheet 'Closed Sales']: 3 new, 0 updated, 0 unchanged, 0 rejected",
        "pipedrive-deals.csv [pipedrive]: 3 new, 0 updated, 0 unchanged, 0 rejected",
        "salesforce-opps.csv [salesforce]: 2 new, 0 updated, 0 unchanged, 0 rejected",
    ] {
        assert!(run.stdout.contains(line), "{line}\n{}", run.stdout);
    }
    let won = won_by_name(&env, "2026-03");
    let want: BTreeMap<String, Decimal> = [("Ann Archer", "300000"), ("Bob Baker", "410000"), ("Cy Cole", "125000")]
        .iter()
        .map(|(n, v)| (n.to_string(), dec(v)))
        .collect();
    assert_eq!(won, want);
    // Every row is stored, lost and open ones too (8 in all), counted nowhere.
    assert_eq!(env.store().counts().unwrap().0, 8);
}

#[test]
fn a_summary_with_a_month_name_and_a_year_column_feeds_the_memo() {
    let env = Env::new(&config(
        "[ingest]\nmax_rejected_fraction = 0.3\n\n[sources.summary]\nkind = \"summary\"\nfiles = [\"summary*\"]\n",
    ));
    env.put("roster.csv", ROSTER);
    env.put(
        "quotas.csv",
        "Rep Email,Month,Revenue Quota\nann@example.com,2026-03,400000\nbob@example.com,2026-03,250000\ncy@example.com,2026-03,300000\nann@example.com,2026-04,1\nbob@example.com,2026-04,1\ncy@example.com,2026-04,1\n",
    );
    env.put(
        "summary-2026-03.csv",
        "Sales Rep,Rep Email,Month,Year,Total Sales,Units Sold
Ann Archer,ann@example.com,March,2026,\"$200,000.00\",1
Ann Archer,ann@example.com,Mar,2026,150000,1
Bob Baker,bob@example.com,3,2026,90000,
Cy Cole,cy@example.com,Marchember,2026,5,1
",
    );
    let run = env.quotad(&["run", "all"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("summary-2026-03.csv [summary]: 2 new, 0 updated, 0 unchanged, 1 rejected"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("note: 3 summary rows added up into 2 totals of one rep and month each"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "rejected row 5, column C 'Month': 'Marchember': expected a month of 2026 such as March, Mar or 3"
        ),
        "{}",
        run.stdout
    );
    // Ann: 200,000 + 150,000 = 350,000 of 400,000 = 87.5%; Bob 90,000 of 250,000 = 36.0%.
    let ann = env.email_to("ann@example.com");
    assert_eq!(line_value(&ann.text, "Revenue"), "$350,000 against a quota of $400,000");
    assert_eq!(line_value(&ann.text, "Attainment"), "87.5%");
    assert_eq!(line_value(&ann.text, "Units"), "2");
    let bob = env.email_to("bob@example.com");
    assert_eq!(line_value(&bob.text, "Attainment"), "36.0%");
    // Bob's total has no units: 0 units, not the 1 a deal row without units counts.
    assert_eq!(line_value(&bob.text, "Units"), "0");
}

#[test]
fn windows_1252_semicolons_and_european_numbers_matched_by_normalised_name() {
    let env = Env::new(&config("[ingest]\ndecimal_separator = \",\"\ndate_order = \"dmy\"\n"));
    // The roster: UTF-8 with a BOM, tab-separated.
    env.put(
        "roster.tsv",
        "\u{feff}Rep ID\tName\tEmail\tTeam\tManager\tManager Email
R7\tJosé Núñez\tjose@example.com\tNorth\tMia Boss\tmia@example.com
R8\tZoë Ødegaard\tzoe@example.com\tNorth\tMia Boss\tmia@example.com
R9\tÅsa Berg\tasa@example.com\tSouth\tMia Boss\tmia@example.com
",
    );
    // The export: Windows-1252, semicolons, de-DE and fr-FR numbers, names only (one
    // in capitals with extra spaces), a rep the roster lacks.
    let text = "Deal ID;Sales Rep;Stage;Close Date;Sale Price
E1;José Núñez;Closed Won;15.03.2026;1.234.500,00 €
E2;  JOSÉ   núñez ;Cancelled;16.03.2026;(1.000,50 €)
E3;Zoë Ødegaard;Closed Won;20.03.2026;1\u{a0}000,25 €
E4;Ola Nordmann;Closed Won;21.03.2026;10
";
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(text);
    assert!(!unmappable);
    env.put("deals-2026-03.csv", &bytes[..]);
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("roster.tsv [roster]: 3 new"), "{}", run.stdout);
    for line in [
        "deals-2026-03.csv [deals]: 4 new, 0 updated, 0 unchanged, 0 rejected",
        "4 row(s) read, 4 stored, 0 rejected, period 2026-03",
        "note: not valid UTF-8 (first bad byte at offset 52); read as Windows-1252",
        "note: 2 rep(s) matched to the roster by name only (a rep id or e-mail column makes it certain): 'José Núñez', 'Zoë Ødegaard'",
        "note: 1 rep(s) in this export are not on the roster (their rows are stored, but in no memo or ranking): name 'Ola Nordmann'",
        "note: 1 active roster rep(s) have no row in this export: Åsa Berg",
    ] {
        assert!(run.stdout.contains(line), "{line}\n{}", run.stdout);
    }
    let won = won_by_name(&env, "2026-03");
    assert_eq!(won["José Núñez"], dec("1234500.00"));
    assert_eq!(won["JOSÉ núñez"], dec("-1000.50"));
    assert_eq!(won["Zoë Ødegaard"], dec("1000.25"));
    // The memo adds José's sale and his cancellation: 1,233,499.50 -> $1,233,500.
    let run = env.quotad(&["run", "quota-memo", "--period", "2026-04"]);
    assert_eq!(run.code, 0, "{run:?}");
    let jose = env.email_to("jose@example.com");
    assert_eq!(line_value(&jose.text, "Revenue"), "$1,233,500");
}

#[test]
fn a_headerless_tab_file_with_a_configured_column_list() {
    let cfg = config("[ingest]\nmax_rejected_fraction = 0.5\n").replace(
        "files = [\"deals*\"]",
        "files = [\"deals*\"]\nheader = [\"deal_id\", \"rep_email\", \"\", \"stage\", \"close_date\", \"amount\"]",
    );
    let env = Env::new(&cfg);
    env.put("roster.csv", ROSTER);
    env.put(
        "deals.txt",
        "H1\tann@example.com\tignored column\tClosed Won\t2026-03-03\t1000\nH2\tbob@example.com\tx\tClosed Won\t2026-03-04\tabc\n",
    );
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("deals.txt [deals]: 1 new, 0 updated, 0 unchanged, 1 rejected"), "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "rejected row 2, column F (amount): 'abc': expected an amount such as 412500, $412,500.00 or (1,250.00)"
        ),
        "{}",
        run.stdout
    );
    let d = env.store().deals_between(p("2026-03"), p("2026-03")).unwrap();
    assert_eq!((d[0].deal_id.as_str(), d[0].amount, d[0].origin.row), ("H1", Some(dec("1000")), 1));
}

#[test]
fn annual_quotas_spread_by_a_configured_distribution() {
    let cfg = config("").replace(
        "files = [\"quotas*\"]",
        "files = [\"quotas*\"]\nquota_period = \"year\"\ndistribution = [5, 5, 10, 10, 10, 10, 5, 5, 10, 10, 10, 10]",
    );
    let env = Env::new(&cfg);
    env.put("roster.csv", ROSTER);
    env.put(
        "quotas.csv",
        "Rep Email,Month,Revenue Quota\nann@example.com,2026,1200000\nbob@example.com,2026-07-01,999999.99\n",
    );
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("quotas.csv [quotas]: 24 new"), "{}", run.stdout);
    let q = env.store().quotas_between(p("2026-01"), p("2026-12")).unwrap();
    let of = |email: &str, m: &str| {
        q.iter().find(|x| x.rep.email.as_deref() == Some(email) && x.month.to_string() == m).unwrap().revenue
    };
    assert_eq!(of("ann@example.com", "2026-01"), dec("60000"));
    assert_eq!(of("ann@example.com", "2026-03"), dec("120000"));
    // 999,999.99 x 5% = 49,999.9995 -> 50,000.00 (to the cent); December takes the rest.
    assert_eq!(of("bob@example.com", "2026-01"), dec("50000.00"));
    assert_eq!(of("bob@example.com", "2026-12"), dec("99999.99"));
    let bob: Decimal = q.iter().filter(|x| x.rep.email.as_deref() == Some("bob@example.com")).map(|x| x.revenue).sum();
    assert_eq!(bob, dec("999999.99"));
}

#[test]
fn check_inbox_dry_runs_the_mappings_and_stores_nothing() {
    use X::*;
    let env = Env::new(&config(""));
    env.put("roster.csv", ROSTER);
    env.put(
        "deals-2026-03.xlsx",
        xlsx(&[
            vec![S("March export")],
            vec![S("Deal ID"), S("Sales Rep"), S("Stage"), S("Close Date"), S("Sale Price")],
            vec![S("D1"), S("Ann Archer"), S("Closed Won"), D("2026-03-02"), N(100.0)],
            vec![S("D2"), S("Bob Baker"), S("Closed Won"), S("someday"), N(200.0)],
        ]),
    );
    env.put("notes.txt", "not a data file");
    env.put("quotas.csv", "Who,When\nann,now\n");
    let run = env.quotad(&["check", "--inbox"]);
    assert_eq!(run.code, 1, "{run:?}");
    let from = run.stdout.find("inbox dry run").expect(&run.stdout);
    assert_eq!(
        &run.stdout[from..],
        "inbox dry run (4 file(s); nothing is stored or moved):
  deals-2026-03.xlsx [deals]: sheet 'Closed Sales', header row 2
      amount             <- E 'Sale Price'
      close_date         <- D 'Close Date'
      deal_id            <- A 'Deal ID'
      rep_name           <- B 'Sales Rep'
      stage              <- C 'Stage'
      2 data row(s), 1 rejected, 1 record(s) to store; would be QUARANTINED: more than ingest.max_rejected_fraction = 0 of the rows are bad
      problem: sheet 'Closed Sales', row 4, column D 'Close Date': 'someday': expected a date such as 2026-03-15 or 03/15/2026 (ingest.date_order)
  notes.txt: no source's `files` pattern matches it (it would stay in the inbox)
  quotas.csv [quotas]: would be QUARANTINED: no header row found in the first 30 rows: a quotas header needs month, revenue_quota and one of rep_id / rep_email / rep_name (header names per field: sources.quotas.columns; a header further down needs a larger ingest.header_search_rows); no row names any of them (accepted: rep_id = Rep ID / Agent ID / Owner ID / Salesperson ID / Employee ID; rep_email = Rep Email / Email / Agent Email; rep_name = Rep Name / Sales Rep / Rep / Name / Sales Agent / Agent; month = Month / Period / Quota Month; revenue_quota = Revenue Quota / Quota / Sales Quota / Quota Amount / Annual Quota / Target)
  roster.csv [roster]: header row 1
      active             <- H 'Status'
      hire_date          <- G 'Hire Date'
      manager            <- E 'Manager'
      manager_email      <- F 'Manager Email'
      rep_email          <- C 'Email'
      rep_id             <- A 'Rep ID'
      rep_name           <- B 'Name'
      team               <- D 'Team'
      3 data row(s), 0 rejected, 3 record(s) to store
"
    );
    // Nothing stored, nothing moved.
    assert_eq!(env.store().counts().unwrap(), (0, 0, 0));
    assert_eq!(env.files_in("inbox").len(), 4);
}

#[test]
fn import_reports_are_recorded_and_a_quarantined_file_is_mailed_to_the_admin() {
    let pw = password();
    let sink = SmtpSink::start("starttls", &pw);
    let mail = smtp_config(sink.port, sink.cert(), "starttls", "admin = \"Ops Admin <admin@test-homes.com>\"", "");
    let env = Env::new(&config(&mail));
    env.put("roster.csv", ROSTER);
    env.put(
        "deals-1.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\nD1,ann@example.com,Closed Won,2026-03-02,100\nD2,bob@example.com,Closed Won,2026-04-02,200\n",
    );
    let bad = "Deal ID,Rep Email,Stage,Close Date,Sale Price\nX1,ann@example.com,Closed Won,2026-03-02,lots\n";
    env.put("deals-2-bad.csv", bad);
    let run = env.quotad_env(&["import"], &[(PASSWORD_ENV, &pw)]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("the admin (admin@test-homes.com) is e-mailed the report"), "{}", run.stdout);
    assert!(run.stdout.contains("delivery: 1 message(s) sent through SMTP"), "{}", run.stdout);
    let got = sink.received();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.rcpt_tos, ["admin@test-homes.com"]);
    assert_eq!(m.email.subject, "quotad quarantined deals-2-bad.csv");
    let line = "row 2, column E 'Sale Price': 'lots': expected an amount such as 412500, $412,500.00 or (1,250.00)";
    assert!(m.email.text.contains(line), "{}", m.email.text);
    assert!(m.email.text.contains("Reason: 1 of 1 data rows rejected"), "{}", m.email.text);
    assert!(
        m.email.text.starts_with("quotad (Test Homes) could not import deals-2-bad.csv (source \"deals\", deals) and put it in quarantine. Nothing from this file was stored"),
        "{}",
        m.email.text
    );
    assert!(m.email.html.contains("<b>deals-2-bad.csv</b>"), "{}", m.email.html);
    assert_eq!(m.email.attachments.len(), 1);
    assert_eq!(m.email.attachments[0].0, "deals-2-bad.csv.errors.txt");
    assert!(String::from_utf8_lossy(&m.email.attachments[0].1).contains(line));

    // A re-export updates D1 and adds D3; the same bad file again mails nobody twice.
    env.put(
        "deals-3.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\nD1,ann@example.com,Closed Won,2026-03-02,150\nD3,cy@example.com,Closed Won,2026-05-09,300\n",
    );
    env.put("deals-2-bad.csv", bad);
    let run = env.quotad_env(&["import"], &[(PASSWORD_ENV, &pw), ("RUST_LOG", "info")]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(!run.stdout.contains("is e-mailed"), "{}", run.stdout);
    // The same reports in the log.
    assert!(
        run.stderr.contains("deals-3.csv [deals]: 2 row(s) read, 2 stored, 0 rejected; 1 new, 1 updated"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("WARN") && run.stderr.contains("deals-2-bad.csv [deals]: quarantined: "),
        "{}",
        run.stderr
    );
    assert_eq!(sink.received().len(), 1);

    let list = env.quotad(&["imports"]);
    assert_eq!(list.code, 0, "{list:?}");
    let lines: Vec<String> =
        list.stdout.lines().map(|l| l.split_once(" UTC ").map_or(l, |x| x.1).to_string()).collect();
    assert_eq!(
        lines,
        [
            "deals-3.csv [deals]: 2 row(s) read, 2 stored, 0 rejected; 1 new, 1 updated, 0 unchanged, 0 superseded; 2 period(s) 2026-03 .. 2026-05; 2 warning(s)",
            "    warning: 1 active roster rep(s) have no row in this export: Bob Baker",
            // deals-2-bad.csv (no readable row, so its months are unknown) is resolved
            // by the next deals file imported: once, though it was quarantined twice.
            "    warning: resolves the quarantine of deals-2-bad.csv: jobs no longer wait for it",
            "deals-2-bad.csv [deals]: quarantined: 1 of 1 data rows rejected, more than ingest.max_rejected_fraction = 0 allows; 1 row(s) read, 1 rejected",
            "deals-2-bad.csv [deals]: quarantined: 1 of 1 data rows rejected, more than ingest.max_rejected_fraction = 0 allows; 1 row(s) read, 1 rejected",
            "deals-1.csv [deals]: 2 row(s) read, 2 stored, 0 rejected; 2 new, 0 updated, 0 unchanged, 0 superseded; 2 period(s) 2026-03 .. 2026-04; 1 warning(s)",
            "    warning: 1 active roster rep(s) have no row in this export: Cy Cole",
            "roster.csv [roster]: 3 row(s) read, 3 stored, 0 rejected; 3 new, 0 updated, 0 unchanged, 0 superseded; 0 warning(s)",
        ]
    );
    // The library call `quotad status` uses.
    let reports = quotad::pipeline::import_reports(&env.store(), 1).unwrap();
    assert_eq!((reports[0].file_name.as_str(), reports[0].new, reports[0].updated), ("deals-3.csv", 1, 1));
    assert_eq!(reports[0].periods, [p("2026-03"), p("2026-05")]);

    // The same bytes under another name are another file: the admin hears of it too.
    env.put("deals-4-bad.csv", bad);
    let run = env.quotad_env(&["import"], &[(PASSWORD_ENV, &pw)]);
    assert!(run.stdout.contains("the admin (admin@test-homes.com) is e-mailed the report"), "{}", run.stdout);
    let got = sink.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].email.subject, "quotad quarantined deals-4-bad.csv");
}

#[test]
fn wide_quotas_a_column_per_month_and_annual_quotas_with_a_distribution_per_rep() {
    let cfg = config("[ingest]\nmax_rejected_fraction = 0.5\n").replace(
        "[sources.quotas]\nkind = \"quotas\"\nfiles = [\"quotas*\"]\n",
        "[sources.quotas]\nkind = \"quotas\"\nfiles = [\"quotas-wide*\"]\nquota_layout = \"wide\"\n\n[sources.annual]\nkind = \"quotas\"\nfiles = [\"quotas-annual*\"]\nquota_layout = \"wide\"\n",
    );
    let env = Env::new(&cfg);
    env.put("roster.csv", ROSTER);
    env.put(
        "quotas-wide.csv",
        "Quotas for Q1 2026\n\nRep Email,Jan 2026,2026-02,March 2026\nann@example.com,100000,\"$110,000.00\",120000\nbob@example.com,90000,,95000\n",
    );
    env.put(
        "quotas-annual.csv",
        "Rep Email,Year,Annual Quota,Jan,Feb,Mar,Apr,May,Jun,Jul,Aug,Sep,Oct,Nov,Dec
ann@example.com,2027,1200000,5%,5%,10%,10%,10%,10%,5%,5%,10%,10%,10%,10%
cy@example.com,2027,600000,8,8,8,8,8,8,8,8,8,8,8,8
",
    );
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("quotas-wide.csv [quotas]: 5 new, 0 updated, 0 unchanged, 0 rejected"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("quotas-annual.csv [annual]: 12 new, 0 updated, 0 unchanged, 1 rejected"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("rejected row 3, column C 'Annual Quota': '600000': the monthly percentages of cy@example.com add up to 96%; they must add up to 100%"),
        "{}",
        run.stdout
    );
    let q = env.store().quotas_between(p("2026-01"), p("2027-12")).unwrap();
    let got: Vec<(String, String, String)> = q
        .iter()
        .map(|x| (x.rep.email.clone().unwrap(), x.month.to_string(), x.revenue.normalize().to_string()))
        .filter(|(e, m, _)| e != "ann@example.com" || m.as_str() < "2027-04")
        .collect();
    let want: Vec<(String, String, String)> = [
        ("ann@example.com", "2026-01", "100000"),
        ("ann@example.com", "2026-02", "110000"),
        ("ann@example.com", "2026-03", "120000"),
        ("ann@example.com", "2027-01", "60000"),
        ("ann@example.com", "2027-02", "60000"),
        ("ann@example.com", "2027-03", "120000"),
        ("bob@example.com", "2026-01", "90000"),
        ("bob@example.com", "2026-03", "95000"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    let mut got = got;
    got.sort();
    assert_eq!(got, want);
    let ann_2027: Decimal = q
        .iter()
        .filter(|x| x.rep.email.as_deref() == Some("ann@example.com") && x.month.year() == 2027)
        .map(|x| x.revenue)
        .sum();
    assert_eq!(ann_2027, dec("1200000"));
}

#[test]
fn a_configured_encoding_is_used_and_utf_8_is_enforced() {
    let text = "Deal ID,Rep Email,Stage,Close Date,Sale Price,Community\nD1,ann@example.com,Closed Won,2026-03-02,100,Zoë's Meadow\n";
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(text);
    for (setting, ok) in [("windows-1252", true), ("utf-8", false)] {
        let cfg =
            config("").replace("files = [\"deals*\"]", &format!("files = [\"deals*\"]\nencoding = \"{setting}\""));
        let env = Env::new(&cfg);
        env.put("roster.csv", ROSTER);
        env.put("deals.csv", &bytes[..]);
        let run = env.quotad(&["import"]);
        if ok {
            assert_eq!(run.code, 0, "{run:?}");
            assert!(run.stdout.contains("deals.csv [deals]: 1 new"), "{}", run.stdout);
            // Configured, so no "read as Windows-1252" note.
            assert!(!run.stdout.contains("not valid UTF-8"), "{}", run.stdout);
        } else {
            assert_eq!(run.code, 1, "{run:?}");
            assert!(
                run.stdout.contains("deals.csv [deals]: cannot read the file: not valid UTF-8 (first bad byte at offset 103), and the encoding is set to UTF-8"),
                "{}",
                run.stdout
            );
        }
    }
}

#[test]
fn summary_periods_as_dates_iso_months_and_month_names_re_exported() {
    use X::*;
    let env = Env::new(&config("[sources.summary]\nkind = \"summary\"\nfiles = [\"summary*\"]\n"));
    env.put("roster.csv", ROSTER);
    // A title row, then rep id, period in three shapes, revenue and units.
    env.put(
        "summary-1.xlsx",
        xlsx(&[
            vec![S("Sales by rep and month")],
            vec![S("Rep ID"), S("Period"), S("Revenue"), S("Units")],
            vec![S("R1"), D("2026-03-31"), N(410000.0), N(2.0)],
            vec![S("R2"), S("2026-03"), S("$250,000.00"), N(1.0)],
            vec![S("R3"), S("Mar 2026"), N(99000.5), E],
            vec![S("R1"), S("Feb 2026"), N(5.0), E],
        ]),
    );
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("summary-1.xlsx [summary, sheet 'Closed Sales']: 4 new, 0 updated, 0 unchanged, 0 rejected"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("4 row(s) read, 4 stored, 0 rejected, 2 periods 2026-02 .. 2026-03"), "{}", run.stdout);
    let by_id = |env: &Env| -> Vec<(String, String, String)> {
        env.store()
            .deals_between(p("2026-02"), p("2026-03"))
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d.rep.id.clone().unwrap(),
                    d.close_date.unwrap().to_string(),
                    d.amount.unwrap().normalize().to_string(),
                )
            })
            .collect()
    };
    let want = |r1: &str| -> Vec<(String, String, String)> {
        [
            ("R1", "2026-02-01", "5"),
            ("R1", "2026-03-01", r1),
            ("R2", "2026-03-01", "250000"),
            ("R3", "2026-03-01", "99000.5"),
        ]
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
    };
    assert_eq!(by_id(&env), want("410000"));
    // A later summary for March replaces R1's total and leaves the rest.
    env.put("summary-2.csv", "Rep ID,Month,Sales,Units\nR1,2026-03,420000,2\nR2,2026-03,250000,1\n");
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("summary-2.csv [summary]: 0 new, 1 updated, 1 unchanged, 0 rejected"),
        "{}",
        run.stdout
    );
    assert_eq!(by_id(&env), want("420000"));
}

#[test]
fn quota_rows_with_a_month_name_and_a_year_column() {
    let env = Env::new(&config("[ingest]\nmax_rejected_fraction = 0.5\n"));
    env.put("roster.csv", ROSTER);
    env.put(
        "quotas.csv",
        "Rep Email,Year,Month,Revenue Quota\nann@example.com,2026,March,400000\nbob@example.com,2026,4,250000\ncy@example.com,20x6,May,1\n",
    );
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("quotas.csv [quotas]: 2 new, 0 updated, 0 unchanged, 1 rejected"), "{}", run.stdout);
    assert!(
        run.stdout.contains("rejected row 4, column B 'Year': '20x6': expected a year such as 2026"),
        "{}",
        run.stdout
    );
    let q = env.store().quotas_between(p("2026-01"), p("2026-12")).unwrap();
    let got: Vec<(String, String)> = q.iter().map(|x| (x.rep.email.clone().unwrap(), x.month.to_string())).collect();
    assert_eq!(
        got,
        [("ann@example.com".to_string(), "2026-03".to_string()), ("bob@example.com".into(), "2026-04".into())]
    );
}

#[test]
fn a_csv_mixing_utf8_and_windows_1252_is_quarantined_naming_the_line() {
    // José is UTF-8; the community on line 3 is Windows-1252 (0xE9 = é). Read all as
    // Windows-1252, José would become "JosÃ©" and fall off the roster.
    let env = Env::new(&config(""));
    env.put("roster.csv", ROSTER);
    let mut bytes = "Deal ID,Sales Rep,Rep Email,Stage,Close Date,Sale Price,Community\nD1,José Núñez,ann@example.com,Closed Won,2026-03-02,100,Lakeside\n".as_bytes().to_vec();
    bytes.extend_from_slice(b"D2,Bob Baker,bob@example.com,Closed Won,2026-03-03,200,Caf\xE9 Park\n");
    env.put("deals.csv", bytes);
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 1, "{run:?}");
    let report = std::fs::read_to_string(env.path("quarantine/deals.csv.errors.txt")).unwrap();
    assert!(
        report.contains(
            "mixed text encodings: line 3 holds byte 0xE9, which is not UTF-8, while other text is UTF-8 (e.g. 'é')"
        ),
        "{report}"
    );
}

#[test]
fn an_empty_file_is_quarantined_as_empty_whatever_its_extension() {
    let env = Env::new(&config(""));
    env.put("roster.csv", ROSTER);
    env.put("deals.csv", "");
    env.put("deals.xlsx", "");
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 1, "{run:?}");
    for f in ["deals.csv", "deals.xlsx"] {
        let report = std::fs::read_to_string(env.path(&format!("quarantine/{f}.errors.txt"))).unwrap();
        assert!(report.contains("the file is empty (0 bytes)"), "{f}: {report}");
    }
}
