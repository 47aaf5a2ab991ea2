//! Issue 20.5: `quotad standings --format xlsx --out FILE`, a workbook a manager opens,
//! read back with calamine and checked against `quotad standings`' own text output;
//! the frozen header, the autofilter and the number formats read from the xlsx XML.

use std::io::Read;
use std::path::Path;

use calamine::{Data, DataType, Reader, open_workbook_auto};

use crate::harness::{Env, config};

/// A workbook's sheets as rows of cells (calamine).
pub fn sheets(path: &Path) -> Vec<(String, Vec<Vec<Data>>)> {
    let mut wb = open_workbook_auto(path).unwrap();
    let names = wb.sheet_names().to_vec();
    names
        .into_iter()
        .map(|n| {
            let range = wb.worksheet_range(&n).unwrap();
            assert_eq!(range.start(), Some((0, 0)), "{n} starts at A1");
            (n, range.rows().map(|r| r.to_vec()).collect())
        })
        .collect()
}

/// One part of the xlsx zip as text.
pub fn part(path: &Path, name: &str) -> String {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut s = String::new();
    zip.by_name(name).unwrap().read_to_string(&mut s).unwrap();
    s
}

/// The value of attribute `attr` in the XML element text `el`.
fn attr<'a>(el: &'a str, attr: &str) -> Option<&'a str> {
    let key = format!(" {attr}=\"");
    let i = el.find(&key)? + key.len();
    Some(&el[i..i + el[i..].find('"')?])
}

/// The number format code of cell `cell` ("G5") of sheet number `sheet` (1-based).
pub fn num_format(path: &Path, sheet: usize, cell: &str) -> String {
    let xml = part(path, &format!("xl/worksheets/sheet{sheet}.xml"));
    let at = xml.find(&format!("<c r=\"{cell}\"")).unwrap_or_else(|| panic!("no cell {cell}"));
    let el = &xml[at..at + xml[at..].find('>').unwrap()];
    let style: usize = attr(el, "s").map_or(0, |s| s.parse().unwrap());
    let styles = part(path, "xl/styles.xml");
    let xfs = &styles[styles.find("<cellXfs").unwrap()..];
    let xf = xfs.split("<xf ").nth(style + 1).unwrap();
    let id = attr(&format!(" {xf}"), "numFmtId").unwrap().to_string();
    match id.as_str() {
        "0" => "General".into(),
        "14" => "builtin 14 (short date)".into(),
        _ => {
            let at = styles.find(&format!("<numFmt numFmtId=\"{id}\"")).unwrap();
            let el = &styles[at..at + styles[at..].find("/>").unwrap()];
            quick_unescape(attr(el, "formatCode").unwrap())
        }
    }
}

fn quick_unescape(s: &str) -> String {
    s.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&apos;", "'").replace("&amp;", "&")
}

/// Excel's column letters of a 0-based column.
fn col_letter(c: usize) -> String {
    let mut n = c + 1;
    let mut s = Vec::new();
    while n > 0 {
        s.push(b'A' + ((n - 1) % 26) as u8);
        n = (n - 1) / 26;
    }
    s.reverse();
    String::from_utf8(s).unwrap()
}

fn text(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        Data::Empty => String::new(),
        other => panic!("expected text, found {other:?}"),
    }
}

fn number(d: &Data) -> Option<f64> {
    match d {
        Data::Float(f) => Some(*f),
        Data::Int(i) => Some(*i as f64),
        Data::Empty => None,
        other => panic!("expected a number, found {other:?}"),
    }
}

/// A CSV decimal as Excel's double ("" = none).
fn csv_number(s: &str) -> Option<f64> {
    (!s.is_empty()).then(|| s.parse::<f64>().unwrap())
}

#[test]
fn the_standings_workbook_has_a_sheet_per_board_with_the_figures_of_quotad_standings() {
    let env = Env::sample();
    assert_eq!(env.quotad(&["import"]).code, 0);
    std::fs::create_dir(env.path("out")).unwrap();
    let run = env.quotad(&["standings", "--format", "xlsx", "--out", "out/standings.xlsx"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "wrote out/standings.xlsx: 4 sheets, 20 reps\n");
    assert_eq!(env.files_in("out"), ["standings.xlsx"], "no temporary file left beside it");
    let path = env.path("out/standings.xlsx");
    let book = sheets(&path);
    let names: Vec<&str> = book.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["Results", "Attainment", "Ratings", "Paperwork"]);
    // Excel opens on the board asked for (default: attainment, the second sheet).
    assert!(part(&path, "xl/workbook.xml").contains("activeTab=\"1\""));

    for (n, (board, rows)) in book.iter().enumerate() {
        let board = board.to_lowercase();
        // The title row is the title line of the text table; the as-of date is a date.
        let table = env.quotad(&["standings", "--board", &board]);
        assert_eq!(table.code, 0, "{table:?}");
        assert_eq!(text(&rows[0][0]), table.stdout.lines().next().unwrap());
        assert_eq!(text(&rows[1][0]), "As of");
        let csv_out = env.quotad(&["standings", "--board", &board, "--format", "csv"]);
        let mut rdr = csv::Reader::from_reader(csv_out.stdout.as_bytes());
        let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
        let c = |h: &str| header.iter().position(|x| x == h).unwrap();
        let expect: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
        let as_of = rows[1][1].as_date().expect("the as-of cell is a date");
        assert_eq!(as_of.to_string(), expect[0][c("as_of")]);
        assert!(rows[1][1].is_datetime(), "{:?}", rows[1][1]);

        let head: Vec<String> = rows[3].iter().map(text).collect();
        let x = |h: &str| head.iter().position(|x| x == h).unwrap_or_else(|| panic!("no column {h}: {head:?}"));
        let data = &rows[4..];
        assert_eq!(data.len(), expect.len(), "{board}: a row per rep, as `quotad standings`");
        for (got, want) in data.iter().zip(&expect) {
            let who = text(&got[x("Rep")]);
            assert_eq!(who, &want[c("name")], "{board}: rows in board order");
            assert_eq!(number(&got[x("Rank")]), csv_number(&want[c("rank")]), "{board} {who}: rank");
            assert_eq!(number(&got[x("Revenue")]), csv_number(&want[c("revenue")]), "{board} {who}");
            assert_eq!(number(&got[x("Quota")]), csv_number(&want[c("revenue_quota")]), "{board} {who}");
            assert_eq!(number(&got[x("Attainment")]), csv_number(&want[c("attainment")]), "{board} {who}");
            assert_eq!(number(&got[x("Rating")]), csv_number(&want[c("rating")]), "{board} {who}");
            assert_eq!(number(&got[x("Ratings")]), csv_number(&want[c("rating_count")]), "{board} {who}");
            assert_eq!(number(&got[x("Clean paperwork")]), csv_number(&want[c("clean_paperwork")]), "{board}");
            assert_eq!(number(&got[x("Won deals")]), csv_number(&want[c("won_deals")]), "{board} {who}");
            assert_eq!(text(&got[x("Team")]), &want[c("team")]);
            assert_eq!(got[x("Active")], Data::Bool(&want[c("active")] == "true"), "{board} {who}");
        }
        // The header row (4) is frozen and filtered.
        let xml = part(&path, &format!("xl/worksheets/sheet{}.xml", n + 1));
        let pane = &xml[xml.find("<pane ").expect("a frozen pane")..];
        assert_eq!(attr(pane, "ySplit"), Some("4"), "{board}: title rows and header frozen");
        assert_eq!(attr(pane, "state"), Some("frozen"));
        let filter = &xml[xml.find("<autoFilter ").expect("an autofilter")..];
        let last = format!("{}{}", col_letter(head.len() - 1), 4 + expect.len());
        assert_eq!(attr(filter, "ref"), Some(format!("A4:{last}").as_str()), "{board}");
        // Column widths are set (names are wider than Excel's default 8.43).
        assert!(xml.contains("<cols>"), "{board}");
    }

    // José Núñez on the attainment sheet: 6th, 4,888,000 of 5,860,000 = 83.4% (the text
    // table's figure), typed: an integer rank, money in dollars, a percent cell holding
    // the exact fraction.
    let (_, rows) = &book[1];
    let head: Vec<String> = rows[3].iter().map(text).collect();
    let x = |h: &str| head.iter().position(|x| x == h).unwrap();
    let (i, jose) = rows.iter().enumerate().find(|(_, r)| r[x("Rep")] == Data::String("José Núñez".into())).unwrap();
    assert_eq!(jose[x("Rank")], Data::Float(6.0));
    assert_eq!(jose[x("Revenue")], Data::Float(4_888_000.0));
    assert_eq!(jose[x("Quota")], Data::Float(5_860_000.0));
    assert_eq!(number(&jose[x("Attainment")]), Some(4_888_000.0 / 5_860_000.0));
    let cell = |h: &str| format!("{}{}", col_letter(x(h)), i + 1);
    assert_eq!(num_format(&path, 2, &cell("Attainment")), "0.0%", "83.41…% shows 83.4%");
    assert_eq!(num_format(&path, 2, &cell("Revenue")), "[$$-409]#,##0;\"-\"[$$-409]#,##0");
    assert_eq!(num_format(&path, 2, &cell("Quota")), "[$$-409]#,##0;\"-\"[$$-409]#,##0");
    assert_eq!(num_format(&path, 2, &cell("Rank")), "0");
    assert_eq!(num_format(&path, 2, "B2"), "builtin 14 (short date)");
    // Noah Nguyen has no quota: no rank, quota or attainment cell (empty, not 0).
    let noah = rows.iter().find(|r| r[x("Rep")] == Data::String("Noah Nguyen".into())).unwrap();
    assert_eq!(
        (&noah[x("Rank")], &noah[x("Quota")], &noah[x("Attainment")]),
        (&Data::Empty, &Data::Empty, &Data::Empty)
    );

    // --board results: Excel opens on the results sheet.
    let run = env.quotad(&["standings", "--board", "results", "--format", "xlsx", "--out", "out/standings.xlsx"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        part(&path, "xl/workbook.xml").contains("activeTab=\"0\"")
            || !part(&path, "xl/workbook.xml").contains("activeTab")
    );
    assert_eq!(env.files_in("out"), ["standings.xlsx"], "replaced in place, no temporary file left");
}

const ROSTER: &str = "Rep ID,Name,Email,Team,Manager,Manager Email,Hire Date,Status
R1,Anna Berg,anna@example.com,Key Accounts: North/East [Tier 1] and Partners,Mia Boss,mia@example.com,2020-01-06,Active
R2,\"=HYPERLINK(\"\"http://evil.example/\"\",\"\"x\"\")\",bob@example.com,Key Accounts: North/East [Tier 1] and Partners,Mia Boss,mia@example.com,2020-01-06,Active
R3,Cy Cole,cy@example.com,South,Max Chief,max@example.com,2020-01-06,Active
";

/// March 2026 in pt-BR reais with the currency's decimals: Anna sells 7,999,600 of
/// 8,000,000 (99.995%), Bob 8,000,000 of 8,000,000 (100%), Cy 6,399,700 of 8,000,000
/// (79.99625%, against the 80% below-target line).
fn brazil() -> Env {
    let org = "locale = \"pt-BR\"\ncurrency = \"BRL\"\nmoney_decimals = \"currency\"";
    let env = Env::new(
        &config("").replace("time_zone = \"America/Chicago\"", &format!("time_zone = \"America/Chicago\"\n{org}")),
    );
    env.put("roster.csv", ROSTER);
    env.put(
        "quotas.csv",
        "Rep Email,Month,Revenue Quota\nanna@example.com,2026-03,8000000\nbob@example.com,2026-03,8000000\ncy@example.com,2026-03,8000000\n",
    );
    env.put(
        "deals.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\nD1,anna@example.com,Closed Won,2026-03-02,7999600\nD2,bob@example.com,Closed Won,2026-03-03,8000000\nD3,cy@example.com,Closed Won,2026-03-04,6399700\n",
    );
    assert_eq!(env.quotad(&["import"]).code, 0);
    env
}

#[test]
fn a_percent_just_below_quota_keeps_its_exact_value_and_never_shows_100_percent() {
    let env = brazil();
    let run = env.quotad(&["standings", "--period", "2026-03", "--format", "xlsx", "--out", "m.xlsx"]);
    assert_eq!(run.code, 0, "{run:?}");
    let path = env.path("m.xlsx");
    let book = sheets(&path);
    let (_, rows) = &book[1];
    let head: Vec<String> = rows[3].iter().map(text).collect();
    let x = |h: &str| head.iter().position(|x| x == h).unwrap();
    let row_of = |name: &str| rows.iter().position(|r| r[x("Rep")] == Data::String(name.into())).unwrap();
    let cell = |name: &str, h: &str| format!("{}{}", col_letter(x(h)), row_of(name) + 1);
    // Anna: the exact 0.99995 is stored; "0.0%" would show 100.0% in Excel, so the cell
    // shows three decimals: 99.995%. The text table shows the display rule's 99,9%.
    assert_eq!(rows[row_of("Anna Berg")][x("Attainment")], Data::Float(0.99995));
    assert_eq!(num_format(&path, 2, &cell("Anna Berg", "Attainment")), "0.000%");
    // Bob is at quota: one decimal. Cy's 79.99625% is below the 80% target: "0.0%" would
    // show 80.0%, so 79.996% (three decimals, half away from zero).
    assert_eq!(
        num_format(&path, 2, &cell("=HYPERLINK(\"http://evil.example/\",\"x\")", "Attainment")).as_str(),
        "0.0%"
    );
    assert_eq!(rows[row_of("Cy Cole")][x("Attainment")], Data::Float(0.79996250));
    assert_eq!(num_format(&path, 2, &cell("Cy Cole", "Attainment")), "0.000%");
    // Money in reais with centavos, the symbol before the number as in pt-BR.
    assert_eq!(rows[row_of("Anna Berg")][x("Revenue")], Data::Float(7_999_600.0));
    assert_eq!(
        num_format(&path, 2, &cell("Anna Berg", "Revenue")),
        "[$R$-416]\"\u{a0}\"#,##0.00;\"-\"[$R$-416]\"\u{a0}\"#,##0.00"
    );
    // A name that looks like a formula is text, not a formula.
    assert!(!part(&path, "xl/worksheets/sheet2.xml").contains("<f>"), "no formula cells");
    assert!(rows.iter().any(|r| r[x("Rep")] == Data::String("=HYPERLINK(\"http://evil.example/\",\"x\")".into())));
}

#[test]
fn a_team_workbook_names_its_sheets_validly_for_excel() {
    let env = brazil();
    let team = "Key Accounts: North/East [Tier 1] and Partners";
    let run = env.quotad(&["standings", "--period", "2026-03", "--team", team, "--format", "xlsx", "--out", "t.xlsx"]);
    assert_eq!(run.code, 0, "{run:?}");
    let book = sheets(&env.path("t.xlsx"));
    let names: Vec<&str> = book.iter().map(|(n, _)| n.as_str()).collect();
    // ≤ 31 characters (UTF-16), no [ ] : * ? / \, unique, the board first.
    assert_eq!(
        names,
        [
            "Results – Key Accounts_ North_…",
            "Attainment – Key Accounts_ Nor…",
            "Ratings – Key Accounts_ North_…",
            "Paperwork – Key Accounts_ Nort…"
        ]
    );
    for n in &names {
        assert!(n.encode_utf16().count() <= 31, "{n}");
        assert!(!n.contains(['[', ']', ':', '*', '?', '/', '\\']), "{n}");
    }
    // The team's two reps only, and the title names the team.
    let (_, rows) = &book[1];
    assert_eq!(rows.len(), 4 + 2);
    assert!(text(&rows[0][0]).contains(&format!("team {team}")), "{:?}", rows[0][0]);
    // A week's standings: a movement column after the rank, frozen with rank and rep.
    let run = env.quotad(&["standings", "--week", "2026-W10", "--format", "xlsx", "--out", "w.xlsx"]);
    assert_eq!(run.code, 0, "{run:?}");
    let book = sheets(&env.path("w.xlsx"));
    let head: Vec<String> = book[1].1[3].iter().map(text).collect();
    assert_eq!(head[..3], ["Rank", "Movement", "Rep"]);
    assert!(
        text(&book[1].1[0][0]).starts_with("Attainment % board, company-wide: 2026-W10 ("),
        "{:?}",
        book[1].1[0][0]
    );
    let xml = part(&env.path("w.xlsx"), "xl/worksheets/sheet2.xml");
    assert_eq!(attr(&xml[xml.find("<pane ").unwrap()..], "xSplit"), Some("3"));
}

#[test]
fn a_workbook_to_a_missing_folder_or_without_out_is_a_clear_error() {
    let env = brazil();
    let run = env.quotad(&["standings", "--period", "2026-03", "--format", "xlsx", "--out", "nowhere/s.xlsx"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("cannot write nowhere/s.xlsx: the folder nowhere does not exist (create it first)"),
        "{}",
        run.stderr
    );
    assert!(!env.path("nowhere").exists());
    let run = env.quotad(&["standings", "--format", "xlsx"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("--format xlsx writes a file: give it with --out FILE.xlsx"), "{}", run.stderr);
    let run = env.quotad(&["standings", "--format", "csv", "--out", "s.csv"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("--out is for --format xlsx"), "{}", run.stderr);
    // A folder named as the file.
    std::fs::create_dir(env.path("dir.xlsx")).unwrap();
    let run = env.quotad(&["standings", "--format", "xlsx", "--out", "dir.xlsx"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("cannot write dir.xlsx: it is a folder"), "{}", run.stderr);
}

/// The number in column `header` of the deals sheet's rows (after the header row 8),
/// up to the "Total" row; and the total row's value.
fn deals_column(rows: &[Vec<Data>], header: &str) -> (Vec<Option<f64>>, Option<f64>) {
    let head: Vec<String> = rows[7].iter().map(text).collect();
    let x = head.iter().position(|h| h == header).unwrap_or_else(|| panic!("no {header}: {head:?}"));
    let total = rows.iter().position(|r| r[0] == Data::String("Total".into())).expect("a total row");
    (rows[8..total].iter().map(|r| number(&r[x])).collect(), number(&rows[total][x]))
}

#[test]
fn a_one_on_one_pack_carries_each_reps_deals_workbook_summing_to_the_sheets_revenue() {
    let env = Env::sample();
    let cfg = std::fs::read_to_string(env.path("quotad.toml")).unwrap();
    assert!(cfg.contains("attach_deals_xlsx = false"), "the shipped config shows the default");
    std::fs::write(env.path("quotad.toml"), cfg.replace("attach_deals_xlsx = false", "attach_deals_xlsx = true"))
        .unwrap();
    assert_eq!(env.quotad(&["import"]).code, 0);
    let run = env.quotad(&["run", "one-on-one", "--period", "2026-10"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("  19 PDF(s) written ("), "xlsx files are not PDFs: {}", run.stdout);
    assert!(
        run.stdout.contains("  19 deals workbook(s) written beside them in var/reports/one-on-one_2026-10 ("),
        "{}",
        run.stdout
    );
    let pack = env
        .all_emails()
        .into_iter()
        .find(|e| e.file.starts_with("one-on-one_") && e.to == "dmitri.nguyen.mgr1@example-homes.com")
        .unwrap();
    // Eight North Division reps: a PDF and a workbook each.
    let names: Vec<&str> = pack.attachments.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(names.len(), 16, "{names:?}");
    assert_eq!(names.iter().filter(|n| n.ends_with(".pdf")).count(), 8, "{names:?}");
    assert!(names.contains(&"1-1 prep 2026-10 José Núñez deals.xlsx"), "{names:?}");
    assert_eq!(
        pack.raw.matches("Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet").count(),
        8,
        "the xlsx MIME type on each workbook"
    );
    // Each workbook: the rows' credited revenue sums to the month-to-date revenue it
    // states, which is `quotad standings`' revenue for the rep.
    let csv_out = env.quotad(&["standings", "--period", "2026-10", "--format", "csv"]);
    let mut rdr = csv::Reader::from_reader(csv_out.stdout.as_bytes());
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    let c = |h: &str| header.iter().position(|x| x == h).unwrap();
    let standings: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in pack.attachments.iter().filter(|a| a.0.ends_with(".xlsx")) {
        let rep = name.trim_start_matches("1-1 prep 2026-10 ").trim_end_matches(" deals.xlsx");
        let path = dir.path().join("d.xlsx");
        std::fs::write(&path, bytes).unwrap();
        let book = sheets(&path);
        assert_eq!(book.len(), 1);
        let (sheet, rows) = &book[0];
        assert_eq!(sheet, "Deals");
        assert!(text(&rows[0][0]).starts_with(&format!("Deals of {rep} (")), "{:?}", rows[0][0]);
        assert_eq!(text(&rows[3][0]), "Revenue, month to date");
        let stated = number(&rows[3][1]).unwrap();
        let (credited, total) = deals_column(rows, "Revenue credited");
        let sum: f64 = credited.iter().flatten().sum();
        assert!(!credited.is_empty(), "{rep}: deals listed");
        assert_eq!(sum, stated, "{rep}: the rows sum to the sheet's month-to-date revenue");
        assert_eq!(total, Some(stated), "{rep}: the total row");
        let want = standings.iter().find(|r| &r[c("name")] == rep).unwrap();
        assert_eq!(Some(stated), csv_number(&want[c("revenue")]), "{rep}: as `quotad standings`");
        if rep == "José Núñez" {
            assert_eq!(stated, 4_888_000.0, "José's October, as on his 1:1 sheet");
            assert_eq!(number(&rows[2][1]), Some(5_860_000.0), "his quota");
            assert_eq!(number(&rows[5][1]), Some(4_888_000.0 / 5_860_000.0), "his attainment, exact");
            std::fs::write(env.path("jose.xlsx"), bytes).unwrap();
            assert_eq!(num_format(&env.path("jose.xlsx"), 1, "B6"), "0.0%");
            assert_eq!(num_format(&env.path("jose.xlsx"), 1, "B4"), "[$$-409]#,##0;\"-\"[$$-409]#,##0");
            // Close dates are dates.
            let head: Vec<String> = rows[7].iter().map(text).collect();
            let x = head.iter().position(|h| h == "Close date").unwrap();
            assert!(rows[8][x].as_date().is_some_and(|d| d.to_string().starts_with("2026-10-")), "{:?}", rows[8][x]);
        }
    }
    // Written beside each PDF, too.
    let beside = env.files_in("var/reports/one-on-one_2026-10");
    assert_eq!(beside.iter().filter(|f| f.ends_with(".xlsx")).count(), 19, "{beside:?}");
}

#[test]
fn a_deals_workbook_shows_a_cancellation_subtracting_and_sums_to_the_revenue() {
    // March 2026: Ann wins D1 (300,000) and D2 (200,000, sold in February), and D2 is
    // cancelled on 20 March. By hand: 300,000 − 200,000 = 100,000 of a 400,000 quota:
    // 25%.
    let env = Env::new(&config("[pdf]\nattach_deals_xlsx = true\n"));
    env.put("roster.csv", crate::harness::ROSTER);
    env.put("quotas.csv", "Rep Email,Month,Revenue Quota\nann@example.com,2026-03,400000\n");
    env.put(
        "deals.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\nD1,ann@example.com,Closed Won,2026-03-02,300000\nD2,ann@example.com,Closed Won,2026-02-10,200000\nD2,ann@example.com,Cancelled,2026-03-20,200000\n",
    );
    assert_eq!(env.quotad(&["import"]).code, 0);
    let run = env.quotad(&["run", "one-on-one", "--period", "2026-03"]);
    assert_eq!(run.code, 0, "{run:?}");
    let mail = env.all_emails().into_iter().find(|e| e.to == "mia@example.com").expect("Mia's pack");
    let (_, bytes) = mail.attachments.iter().find(|a| a.0 == "1-1 prep 2026-03 Ann Archer deals.xlsx").unwrap();
    std::fs::write(env.path("ann.xlsx"), bytes).unwrap();
    let book = sheets(&env.path("ann.xlsx"));
    let rows = &book[0].1;
    let (credited, total) = deals_column(rows, "Revenue credited");
    assert_eq!(credited, [Some(300_000.0), Some(-200_000.0)], "D1 adds, D2's cancellation subtracts");
    assert_eq!(total, Some(100_000.0));
    assert_eq!(number(&rows[3][1]), Some(100_000.0));
    assert_eq!(number(&rows[5][1]), Some(0.25));
    let head: Vec<String> = rows[7].iter().map(text).collect();
    let note = head.iter().position(|h| h == "Note").unwrap();
    assert_eq!(text(&rows[9][note]), "cancellation: subtracts");
    let file = head.iter().position(|h| h == "File").unwrap();
    assert_eq!(text(&rows[9][file]), "deals.csv");
}
