//! Spreadsheet quirks and limits (issue 7, points 4 and 6): merged cells, two tables on
//! one sheet, a wrong declared dimension, formulas (cached values, error cells), several
//! sheets, file-size / zip-bomb / row / column limits and a malicious ODS. Every file is
//! generated here (rust_xlsxwriter, or a zip written by hand for .ods and for rewritten
//! .xlsx), except tests/fixtures/quirks/formula-dates.xls (see its README).

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use quotad::config::Config;
use quotad::domain::DealRow;
use quotad::ingest::{self, Parsed, Records};
use rust_decimal::Decimal;
use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook, Worksheet};

use crate::harness::{Env, ROSTER, config};

/// The test config (harness `config`) with `extra` appended, parsed.
pub fn parsed_config(extra: &str) -> Config {
    Config::parse(&config(extra), "quotad.toml", Path::new(".")).unwrap()
}

/// Reads `bytes`, written as `dir/name`, as the config's `source` through the public
/// ingest entry point; an error as its message.
pub fn read_as(cfg: &Config, source: &str, name: &str, bytes: &[u8]) -> Result<Parsed, String> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    let src = cfg.sources.iter().find(|s| s.name == source).unwrap();
    ingest::read_file(&p, src, &cfg.ingest).map_err(|e| e.to_string())
}

fn deals(p: &Parsed) -> &[DealRow] {
    match &p.records {
        Records::Deals(d) => d,
        other => panic!("not deals: {other:?}"),
    }
}

/// (Deal ID, team, stage, amount, close date) of each deal, for exact comparisons.
fn summary(p: &Parsed) -> Vec<(String, String, String, String, String)> {
    deals(p)
        .iter()
        .map(|d| {
            (
                d.deal_id.clone(),
                d.team.clone().unwrap_or_default(),
                d.stage.clone(),
                d.amount.map(|a| a.normalize().to_string()).unwrap_or_default(),
                d.close_date.map(|d| d.to_string()).unwrap_or_default(),
            )
        })
        .collect()
}

fn row(d: &str, team: &str, stage: &str, amount: &str, date: &str) -> (String, String, String, String, String) {
    (d.into(), team.into(), stage.into(), amount.into(), date.into())
}

fn date_fmt() -> Format {
    Format::new().set_num_format("yyyy-mm-dd")
}

fn write_date(ws: &mut Worksheet, r: u32, c: u16, d: &str) {
    ws.write_datetime_with_format(r, c, ExcelDateTime::parse_from_str(d).unwrap(), &date_fmt()).unwrap();
}

/// A plain deals sheet: header in row 1, then `n` won deals D1..Dn for ann@example.com
/// on 2026-03-02 with Sale Price 1000 × i.
pub fn plain_deals(ws: &mut Worksheet, n: u32) {
    for (c, h) in ["Deal ID", "Rep Email", "Stage", "Close Date", "Sale Price"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for i in 1..=n {
        ws.write_string(i, 0, format!("D{i}")).unwrap();
        ws.write_string(i, 1, "ann@example.com").unwrap();
        ws.write_string(i, 2, "Closed Won").unwrap();
        write_date(ws, i, 3, "2026-03-02");
        ws.write_number(i, 4, 1000.0 * f64::from(i)).unwrap();
    }
}

/// Copies a zip, passing each entry's text through `edit(name, text)`.
pub fn rewrite_zip(bytes: &[u8], edit: impl Fn(&str, String) -> String) -> Vec<u8> {
    let mut src = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..src.len() {
        let mut f = src.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut text = String::new();
        f.read_to_string(&mut text).unwrap();
        out.start_file(name.as_str(), zip::write::SimpleFileOptions::default()).unwrap();
        out.write_all(edit(&name, text).as_bytes()).unwrap();
    }
    out.finish().unwrap().into_inner()
}

/// A zip of (name, bytes) entries, deflated (the first one stored, as ODS's mimetype is).
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (i, (name, bytes)) in entries.iter().enumerate() {
        let method = if i == 0 { zip::CompressionMethod::Stored } else { zip::CompressionMethod::Deflated };
        out.start_file(*name, SimpleFileOptions::default().compression_method(method)).unwrap();
        out.write_all(bytes).unwrap();
    }
    out.finish().unwrap().into_inner()
}

/// An .ods file with one sheet named `sheet` whose `<table:table>` holds `rows` (XML).
pub fn ods(sheet: &str, rows: &str) -> Vec<u8> {
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="{sheet}">{rows}</table:table></office:spreadsheet></office:body></office:document-content>"#
    );
    let manifest = r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#;
    zip_of(&[
        ("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
        ("META-INF/manifest.xml", manifest.as_bytes()),
        ("content.xml", content.as_bytes()),
    ])
}

/// ODS cells: `s:` text, `n:` number, `d:` date, else text.
pub fn ods_row(cells: &[&str], extra_row_attrs: &str) -> String {
    let mut r = format!("<table:table-row{extra_row_attrs}>");
    for c in cells {
        r.push_str(&match c.split_once(':') {
            Some(("n", v)) => {
                format!(r#"<table:table-cell office:value-type="float" office:value="{v}"><text:p>{v}</text:p></table:table-cell>"#)
            }
            Some(("d", v)) => format!(
                r#"<table:table-cell office:value-type="date" office:date-value="{v}"><text:p>{v}</text:p></table:table-cell>"#
            ),
            Some(("span2", v)) => format!(
                r#"<table:table-cell table:number-columns-spanned="2" office:value-type="string"><text:p>{v}</text:p></table:table-cell><table:covered-table-cell/>"#
            ),
            _ => format!(r#"<table:table-cell office:value-type="string"><text:p>{c}</text:p></table:table-cell>"#),
        });
    }
    r.push_str("</table:table-row>");
    r
}

// ---------------------------------------------------------------------------------
// Merged cells

/// A deals sheet with a merged title, a header cell merged over two columns, a Team
/// block merged down three rows and a Stage block merged down two.
pub fn merged_deals_xlsx() -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet().set_name("Closed Sales").unwrap();
    let plain = Format::new();
    ws.merge_range(0, 0, 0, 5, "March 2026 closed sales", &plain).unwrap();
    for (c, h) in ["Deal ID", "Rep Email", "Team", "Stage", "Close Date"].iter().enumerate() {
        ws.write_string(1, c as u16, *h).unwrap();
    }
    ws.merge_range(1, 5, 1, 6, "Sale Price", &plain).unwrap(); // F2:G2
    ws.merge_range(2, 2, 4, 2, "North", &plain).unwrap(); // C3:C5
    ws.merge_range(2, 3, 3, 3, "Closed Won", &plain).unwrap(); // D3:D4
    let rows = [
        ("D1", "ann@example.com", "2026-03-02", 100000.0),
        ("D2", "bob@example.com", "2026-03-03", 200000.0),
        ("D3", "ann@example.com", "2026-03-04", 50000.0),
        ("D4", "cy@example.com", "2026-03-05", 300000.0),
    ];
    for (i, (id, email, date, price)) in rows.iter().enumerate() {
        let r = 2 + i as u32;
        ws.write_string(r, 0, *id).unwrap();
        ws.write_string(r, 1, *email).unwrap();
        write_date(ws, r, 4, date);
        ws.write_number(r, 5, *price).unwrap();
    }
    ws.write_string(4, 3, "Cancelled").unwrap();
    ws.write_string(5, 2, "South").unwrap();
    ws.write_string(5, 3, "Closed Won").unwrap();
    wb.save_to_buffer().unwrap()
}

#[test]
fn merged_blocks_fill_their_cells_and_a_merged_header_is_one_column() {
    let cfg = parsed_config("");
    let p = read_as(&cfg, "deals", "deals.xlsx", &merged_deals_xlsx()).unwrap();
    assert_eq!((p.sheet.as_str(), p.header_row, p.data_rows), ("Closed Sales", 2, 4));
    assert!(p.rejects.is_empty(), "{:?}", p.rejects);
    assert_eq!(
        summary(&p),
        vec![
            row("D1", "North", "Closed Won", "100000", "2026-03-02"),
            row("D2", "North", "Closed Won", "200000", "2026-03-03"),
            row("D3", "North", "Cancelled", "50000", "2026-03-04"),
            row("D4", "South", "Closed Won", "300000", "2026-03-05"),
        ]
    );
    // End to end: the binary stores all four.
    let env = Env::new(&config(""));
    env.put("roster.csv", ROSTER);
    env.put("deals.xlsx", merged_deals_xlsx());
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(env.store().counts().unwrap().0, 4, "{}", run.stdout);
}

#[test]
fn a_merged_block_over_the_whole_grid_is_refused_not_filled() {
    let mut wb = Workbook::new();
    plain_deals(wb.add_worksheet().set_name("Deals").unwrap(), 2);
    let bytes = rewrite_zip(&wb.save_to_buffer().unwrap(), |name, text| {
        if name == "xl/worksheets/sheet1.xml" {
            text.replace(
                "</sheetData>",
                r#"</sheetData><mergeCells count="1"><mergeCell ref="A2:XFD1048576"/></mergeCells>"#,
            )
        } else {
            text
        }
    });
    let started = Instant::now();
    let e = read_as(&parsed_config(""), "deals", "deals.xlsx", &bytes).unwrap_err();
    // Clipped to the limits first: 1,048,575 rows × 1000 columns.
    assert_eq!(
        e,
        "the merged blocks of sheet 'Deals' cover 1048575000 cells or more (the last counted: A2:XFD1048576); the limit is 2000000 cells (ingest.max_merged_cells)"
    );
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

#[test]
fn ods_merged_blocks_are_named_in_a_note() {
    let cfg = parsed_config("[ingest]\nmax_rejected_fraction = 0.5\n");
    let rows = [
        ods_row(&["Deal ID", "Rep Email", "Team", "Stage", "Close Date", "Sale Price"], ""),
        ods_row(&["D1", "ann@example.com", "span2:North", "d:2026-03-02", "n:1000"], ""),
        ods_row(&["D2", "bob@example.com", "North", "Closed Won", "d:2026-03-03", "n:2000"], ""),
    ]
    .concat();
    let p = read_as(&cfg, "deals", "deals.ods", &ods("Deals", &rows)).unwrap();
    assert!(
        p.notes.contains(&"sheet 'Deals' has 1 merged block(s), the first at C2: in .ods files only the first cell of a merged block holds its value (save as .xlsx to have blocks filled)".to_string()),
        "{:?}",
        p.notes
    );
    // D1's Stage cell (D2) is covered by the Team block, so it is empty: that row is
    // rejected, naming the cell; D2 is read.
    assert_eq!(p.rejects.len(), 1, "{:?}", p.rejects);
    assert_eq!(p.rejects[0].to_string(), "sheet 'Deals', row 2, column D 'Stage': '': a Stage is required here");
    assert_eq!(summary(&p), vec![row("D2", "North", "Closed Won", "2000", "2026-03-03")]);
}

// ---------------------------------------------------------------------------------
// Two tables on one sheet

#[test]
fn two_tables_on_one_sheet_the_one_whose_header_matches_is_read() {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet().set_name("Report").unwrap();
    // A team summary above (rows 1-3), the deals table (header row 5, deals rows 6-7),
    // a notes table beside it (I5:J8), a blank row 9, then a rep summary (rows 10-12).
    ws.write_string(0, 0, "Team").unwrap();
    ws.write_string(0, 1, "Total").unwrap();
    ws.write_string(1, 0, "North").unwrap();
    ws.write_number(1, 1, 5.0).unwrap();
    ws.write_string(2, 0, "South").unwrap();
    ws.write_number(2, 1, 3.0).unwrap();
    for (c, h) in ["Deal ID", "Rep Email", "Stage", "Close Date", "Sale Price"].iter().enumerate() {
        ws.write_string(4, c as u16, *h).unwrap();
    }
    for (i, (id, email, price)) in
        [("D1", "ann@example.com", 1000.0), ("D2", "bob@example.com", 2000.0)].iter().enumerate()
    {
        let r = 5 + i as u32;
        ws.write_string(r, 0, *id).unwrap();
        ws.write_string(r, 1, *email).unwrap();
        ws.write_string(r, 2, "Closed Won").unwrap();
        write_date(ws, r, 3, "2026-03-02");
        ws.write_number(r, 4, *price).unwrap();
    }
    ws.write_string(4, 8, "Note").unwrap();
    ws.write_string(4, 9, "By").unwrap();
    for r in 5..8 {
        ws.write_string(r, 8, format!("note {r}")).unwrap();
        ws.write_string(r, 9, "Mia").unwrap();
    }
    ws.write_string(9, 0, "Rep Email").unwrap();
    ws.write_string(9, 1, "Deals").unwrap();
    ws.write_string(10, 0, "ann@example.com").unwrap();
    ws.write_number(10, 1, 1.0).unwrap();
    ws.write_string(11, 0, "bob@example.com").unwrap();
    ws.write_number(11, 1, 1.0).unwrap();
    let bytes = wb.save_to_buffer().unwrap();

    let p = read_as(&parsed_config(""), "deals", "deals.xlsx", &bytes).unwrap();
    assert_eq!((p.header_row, p.data_rows), (5, 2));
    assert!(p.rejects.is_empty(), "{:?}", p.rejects);
    assert_eq!(
        summary(&p),
        vec![row("D1", "", "Closed Won", "1000", "2026-03-02"), row("D2", "", "Closed Won", "2000", "2026-03-02")]
    );
    assert_eq!(
        p.notes,
        vec![
            "sheet 'Report', rows 10 to 12 were not read: another table starts at row 10 (one table is read per sheet: the first whose header matches)",
            "skipped row 8: nothing in the mapped columns (a table beside this one?)",
        ]
    );
}

#[test]
fn two_tables_with_the_same_header_on_one_sheet_the_first_is_read_and_the_second_named() {
    let csv = "Deal ID,Rep Email,Stage,Close Date,Sale Price\n\
               D1,ann@example.com,Closed Won,2026-03-02,1000\n\
               \n\
               Deal ID,Rep Email,Stage,Close Date,Sale Price\n\
               D9,bob@example.com,Closed Won,2026-03-02,9000\n";
    let p = read_as(&parsed_config(""), "deals", "deals.csv", csv.as_bytes()).unwrap();
    assert_eq!(summary(&p), vec![row("D1", "", "Closed Won", "1000", "2026-03-02")]);
    assert_eq!(
        p.notes,
        vec![
            "rows 4 to 5 were not read: another table starts at row 4 (one table is read per sheet: the first whose header matches)"
        ]
    );
}

#[test]
fn a_data_row_after_a_blank_row_that_holds_a_header_word_is_still_data() {
    // CSV cells are all text; "Active" and "Agent" are header names of the roster, but
    // 2 of 8 cells do not make a header.
    let csv = "Rep ID,Name,Email,Team,Manager,Manager Email,Hire Date,Status\n\
               R1,Ann Archer,ann@example.com,North,Mia Boss,mia@example.com,2020-01-06,Active\n\
               \n\
               R2,Agent,bob@example.com,North,Mia Boss,mia@example.com,2021-02-01,Active\n";
    let p = read_as(&parsed_config(""), "roster", "roster.csv", csv.as_bytes()).unwrap();
    let Records::Roster(r) = &p.records else { panic!() };
    let names: Vec<&str> = r.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["Ann Archer", "Agent"]);
    assert!(p.notes.is_empty(), "{:?}", p.notes);
}

// ---------------------------------------------------------------------------------
// A wrong declared dimension

#[test]
fn a_sheet_whose_declared_dimension_is_wrong_is_read_whole() {
    let mut wb = Workbook::new();
    plain_deals(wb.add_worksheet().set_name("Deals").unwrap(), 4);
    let good = wb.save_to_buffer().unwrap();
    let cfg = parsed_config("");
    for (dimension, why) in [("A1:B2", "too small"), ("A1:XFD1048576", "the whole grid"), ("", "absent")] {
        let bytes = rewrite_zip(&good, |name, text| {
            if name != "xl/worksheets/sheet1.xml" {
                return text;
            }
            assert!(text.contains(r#"<dimension ref="A1:E5"/>"#), "{text}");
            let with = if dimension.is_empty() { String::new() } else { format!(r#"<dimension ref="{dimension}"/>"#) };
            text.replace(r#"<dimension ref="A1:E5"/>"#, &with)
        });
        let p = read_as(&cfg, "deals", "deals.xlsx", &bytes).unwrap_or_else(|e| panic!("{why}: {e}"));
        assert_eq!(p.data_rows, 4, "{why}");
        let ids: Vec<&str> = deals(&p).iter().map(|d| d.deal_id.as_str()).collect();
        assert_eq!(ids, ["D1", "D2", "D3", "D4"], "{why}");
        assert_eq!(deals(&p)[3].amount, Some(Decimal::from(4000)), "{why}");
    }
}

// ---------------------------------------------------------------------------------
// Formulas

#[test]
fn formulas_give_their_cached_values_and_an_error_cell_rejects_its_row_only() {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet().set_name("Deals").unwrap();
    for (c, h) in ["Deal ID", "Rep Email", "Stage", "Close Date", "Sale Price", "Base", "Uplift"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    let d = date_fmt();
    // (id, close-date formula and cached serial, price formula and cached result)
    let rows = [
        ("D1", "=DATE(2026,3,5)", "46086", "=F2*G2", "412500"),
        ("D2", "=DATE(2026,3,15)", "46096", "=1/0", "#DIV/0!"),
        ("D3", r#"=DATEVALUE("soon")"#, "#VALUE!", "=F4*G4", "90000"),
        ("D4", "=D2+10", "46106", "=F5+G5", "1234.5"),
    ];
    for (i, (id, date_f, date_v, price_f, price_v)) in rows.iter().enumerate() {
        let r = 1 + i as u32;
        ws.write_string(r, 0, *id).unwrap();
        ws.write_string(r, 1, "ann@example.com").unwrap();
        ws.write_string(r, 2, "Closed Won").unwrap();
        ws.write_formula_with_format(r, 3, Formula::new(*date_f).set_result(*date_v), &d).unwrap();
        ws.write_formula(r, 4, Formula::new(*price_f).set_result(*price_v)).unwrap();
        ws.write_number(r, 5, 1.0).unwrap();
        ws.write_number(r, 6, 2.0).unwrap();
    }
    let bytes = wb.save_to_buffer().unwrap();
    let p = read_as(&parsed_config("[ingest]\nmax_rejected_fraction = 0.5\n"), "deals", "deals.xlsx", &bytes).unwrap();
    // Cached values, not recomputed (F2*G2 would be 2): 46086 is 2026-03-05, 46106 is 2026-03-25.
    assert_eq!(
        summary(&p),
        vec![row("D1", "", "Closed Won", "412500", "2026-03-05"), row("D4", "", "Closed Won", "1234.5", "2026-03-25")]
    );
    let rejects: Vec<String> = p.rejects.iter().map(|r| r.to_string()).collect();
    assert_eq!(
        rejects,
        vec![
            "sheet 'Deals', row 3, column E 'Sale Price': '#DIV/0!': the cell holds the spreadsheet error #DIV/0! (a formula that failed): fix it in the source and export again",
            "sheet 'Deals', row 4, column D 'Close Date': '#VALUE!': the cell holds the spreadsheet error #VALUE! (a formula that failed): fix it in the source and export again",
        ]
    );

    // End to end: 2 of 4 rows rejected is within a 50% tolerance; the two good rows are stored.
    let env = Env::new(&config("[ingest]\nmax_rejected_fraction = 0.5\n"));
    env.put("roster.csv", ROSTER);
    env.put("deals.xlsx", &bytes);
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("rejected sheet 'Deals', row 3, column E 'Sale Price': '#DIV/0!': the cell holds"),
        "{}",
        run.stdout
    );
    assert_eq!(env.store().counts().unwrap().0, 2);
}

#[test]
fn error_literals_in_a_csv_export_are_error_cells_too() {
    let csv = "Deal ID,Rep Email,Stage,Close Date,Sale Price\nD1,ann@example.com,Closed Won,2026-03-02,#N/A\nD2,ann@example.com,Closed Won,2026-03-02,10\n";
    let p = read_as(&parsed_config("[ingest]\nmax_rejected_fraction = 0.5\n"), "deals", "deals.csv", csv.as_bytes())
        .unwrap();
    assert_eq!(
        p.rejects[0].to_string(),
        "row 2, column E 'Sale Price': '#N/A': the cell holds the spreadsheet error #N/A (a formula that failed): fix it in the source and export again"
    );
    assert_eq!(summary(&p), vec![row("D2", "", "Closed Won", "10", "2026-03-02")]);
}

// ---------------------------------------------------------------------------------
// Several sheets

fn three_sheets() -> Vec<u8> {
    let mut wb = Workbook::new();
    let notes = wb.add_worksheet().set_name("Read me").unwrap();
    notes.write_string(0, 0, "Exported from the CRM; deals on the next sheet").unwrap();
    plain_deals(wb.add_worksheet().set_name("Deals").unwrap(), 2);
    plain_deals(wb.add_worksheet().set_name("Deals (old)").unwrap(), 3);
    wb.save_to_buffer().unwrap()
}

#[test]
fn several_sheets_the_configured_one_else_the_first_that_matches() {
    let bytes = three_sheets();
    let p = read_as(&parsed_config(""), "deals", "deals.xlsx", &bytes).unwrap();
    assert_eq!((p.sheet.as_str(), deals(&p).len()), ("Deals", 2));

    let named = |sheet: &str| {
        let text = config("").replace("files = [\"deals*\"]", &format!("files = [\"deals*\"]\nsheet = {sheet:?}"));
        Config::parse(&text, "quotad.toml", Path::new(".")).unwrap()
    };
    let p = read_as(&named("Deals (old)"), "deals", "deals.xlsx", &bytes).unwrap();
    assert_eq!((p.sheet.as_str(), deals(&p).len()), ("Deals (old)", 3));
    let e = read_as(&named("Deals 2026"), "deals", "deals.xlsx", &bytes).unwrap_err();
    assert_eq!(e.to_string(), "no sheet named 'Deals 2026' (sheets: Read me, Deals, Deals (old))");
    // Only the configured sheet is searched: "Read me" has no header.
    let e = read_as(&named("Read me"), "deals", "deals.xlsx", &bytes).unwrap_err();
    assert!(e.to_string().starts_with("no header row found in the first 30 rows"), "{e}");
}

// ---------------------------------------------------------------------------------
// Limits

/// Runs `quotad import` on one deals file and returns its quarantine report.
fn quarantined(extra: &str, name: &str, bytes: &[u8]) -> String {
    let env = Env::new(&config(extra));
    env.put(name, bytes);
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(env.store().counts().unwrap().0, 0);
    std::fs::read_to_string(env.path(&format!("quarantine/{name}.errors.txt")))
        .unwrap_or_else(|_| panic!("no report: {}", run.stdout))
}

#[test]
fn a_file_over_max_file_mb_is_refused_before_it_is_read() {
    let mut csv = String::from("Deal ID,Rep Email,Stage,Close Date,Sale Price\n");
    while csv.len() < 1_300_000 {
        csv.push_str("D1,ann@example.com,Closed Won,2026-03-02,1000\n");
    }
    let report = quarantined("[ingest]\nmax_file_mb = 1\n", "deals.csv", csv.as_bytes());
    assert!(report.contains("Reason: the file is 1.2 MB; the limit is 1.0 MB (ingest.max_file_mb)"), "{report}");
}

#[test]
fn zip_bombs_are_refused_by_uncompressed_size_and_by_ratio() {
    // 20 MB of zeros deflate to about 20 KB.
    let zeros = vec![0u8; 20 << 20];
    let bomb = zip_of(&[("[Content_Types].xml", b"<Types/>"), ("xl/worksheets/sheet1.xml", &zeros)]);
    assert!(bomb.len() < 100_000, "{}", bomb.len());
    let report = quarantined("[ingest]\nmax_unzipped_mb = 10\n", "deals.xlsx", &bomb);
    assert!(
        report.contains("Reason: the workbook declares 20.0 MB uncompressed (a zip bomb?); the limit is 10.0 MB (ingest.max_unzipped_mb)"),
        "{report}"
    );
    let report = quarantined("[ingest]\nmax_zip_ratio = 100\n", "deals.xlsx", &bomb);
    assert!(
        report.contains(&format!(
            "Reason: the workbook inflates to 20.0 MB from {:.1} MB (",
            bomb.len() as f64 / 1048576.0
        )),
        "{report}"
    );
    assert!(report.contains(":1; a zip bomb?); the limit is 100:1 (ingest.max_zip_ratio)"), "{report}");
    // Written as a stream, entries carry their sizes after the data (data descriptors),
    // so nothing is declared up front: the inflated bytes are counted, up to the limit.
    let mut w = zip::ZipWriter::new_stream(Vec::new());
    w.start_file("xl/worksheets/sheet1.xml", zip::write::SimpleFileOptions::default()).unwrap();
    w.write_all(&zeros).unwrap();
    let streamed = w.finish().unwrap().into_inner();
    let e = read_as(&parsed_config("[ingest]\nmax_unzipped_mb = 10\n"), "deals", "deals.xlsx", &streamed).unwrap_err();
    assert_eq!(
        e,
        "the workbook inflates to more than 10.0 MB uncompressed (a zip bomb?); the limit is 10.0 MB (ingest.max_unzipped_mb)"
    );
    // The same bomb as an .ods (content.xml) is refused before any XML is parsed.
    let ods_bomb = zip_of(&[("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"), ("content.xml", &zeros)]);
    let report = quarantined("[ingest]\nmax_unzipped_mb = 10\n", "deals.ods", &ods_bomb);
    assert!(report.contains("(ingest.max_unzipped_mb)"), "{report}");
}

#[test]
fn rows_and_columns_past_the_limits_stop_the_read_naming_the_cell_and_key() {
    let mut wb = Workbook::new();
    plain_deals(wb.add_worksheet().set_name("Deals").unwrap(), 12);
    let bytes = wb.save_to_buffer().unwrap();
    let cfg = parsed_config("[ingest]\nmax_rows = 10\n");
    let e = read_as(&cfg, "deals", "deals.xlsx", &bytes).unwrap_err();
    assert_eq!(e.to_string(), "sheet 'Deals' has data in row 11 (cell A11); the limit is 10 rows (ingest.max_rows)");
    // A lone cell far below the data (row 1,048,576) with the default limit is fine…
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet().set_name("Deals").unwrap();
    plain_deals(ws, 2);
    ws.write_string(1_048_575, 0, "end").unwrap();
    ws.write_string(0, 999, "note").unwrap(); // column ALL = 1000
    let far = wb.save_to_buffer().unwrap();
    let p = read_as(&parsed_config(""), "deals", "deals.xlsx", &far).unwrap();
    // D1 and D2; the "end" row below them is a note, not data (issue 16).
    assert_eq!(p.data_rows, 2);
    assert!(
        p.notes.contains(&"skipped row 1048576 after the table (a note, not data): 'end'".to_string()),
        "{:?}",
        p.notes
    );
    // …and one column further is refused.
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet().set_name("Deals").unwrap();
    plain_deals(ws, 2);
    ws.write_string(2, 1000, "note").unwrap();
    let e = read_as(&parsed_config(""), "deals", "deals.xlsx", &wb.save_to_buffer().unwrap()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "sheet 'Deals' has data in column 1001 (ALM, cell ALM3); the limit is 1000 columns (ingest.max_columns)"
    );
    // CSV: the same keys.
    let csv = "Deal ID,Rep Email,Stage,Close Date,Sale Price,Note\nD1,ann@example.com,Closed Won,2026-03-02,10,x\n";
    let e = read_as(&parsed_config("[ingest]\nmax_columns = 5\n"), "deals", "deals.csv", csv.as_bytes()).unwrap_err();
    assert_eq!(e.to_string(), "row 1 has 6 columns; the limit is 5 columns (ingest.max_columns)");
    let e = read_as(
        &parsed_config("[ingest]\nmax_rows = 2\n"),
        "deals",
        "deals.csv",
        format!("{csv}D2,ann@example.com,Closed Won,2026-03-02,20,y\n").as_bytes(),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "the file has data on row 3; the limit is 2 rows (ingest.max_rows)");
}

#[test]
fn a_sheet_spanning_more_than_max_cells_is_refused() {
    let mut wb = Workbook::new();
    plain_deals(wb.add_worksheet().set_name("Deals").unwrap(), 3);
    let cfg = parsed_config("[ingest]\nmax_cells = 10\n");
    // Header (5 cells) + D1 (5) fit; D2's first cell is the 11th.
    let e = read_as(&cfg, "deals", "deals.xlsx", &wb.save_to_buffer().unwrap()).unwrap_err();
    assert_eq!(
        e,
        "sheet 'Deals' spans more than 10 cells (rows × columns, at cell A3); the limit is 10 cells (ingest.max_cells)"
    );
    let csv = "Deal ID,Rep Email,Stage,Close Date,Sale Price\nD1,ann@example.com,Closed Won,2026-03-02,10\nD2,ann@example.com,Closed Won,2026-03-02,20\n";
    let e = read_as(&cfg, "deals", "deals.csv", csv.as_bytes()).unwrap_err();
    assert_eq!(e, "the file spans more than 10 cells (at row 3); the limit is 10 cells (ingest.max_cells)");
    // An ODS row of 20 cells repeated 1,048,576 times from row 1: within max_rows, but
    // calamine would hold 20,971,520 cells.
    let cells: Vec<String> = (0..20).map(|i| format!("n:{i}")).collect();
    let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
    let bomb = ods("Deals", &ods_row(&cells, r#" table:number-rows-repeated="1048576""#));
    let started = Instant::now();
    let e = read_as(&parsed_config(""), "deals", "deals.ods", &bomb).unwrap_err();
    assert_eq!(
        e,
        "sheet 'Deals' spans 20971520 cells when its repeated rows and columns are expanded (rows 1 to 1048576 × 20 columns); the limit is 20000000 cells (ingest.max_cells)"
    );
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

#[test]
fn limit_keys_are_checked_and_a_bad_value_names_key_and_line() {
    for (key, bad, says) in [
        ("max_rows", "0", "ingest.max_rows: 0 must be from 2 to 1048576 (rows; Excel's own limit is 1048576)"),
        ("max_columns", "20000", "ingest.max_columns: 20000 must be from 1 to 16384"),
        ("max_file_mb", "0", "ingest.max_file_mb: 0 must be from 1 to 10000 (megabytes)"),
        ("max_unzipped_mb", "0", "ingest.max_unzipped_mb: 0 must be from 1 to 100000 (megabytes)"),
        ("max_zip_ratio", "1", "ingest.max_zip_ratio: 1 must be from 10 to 1000000"),
        ("max_cells", "0", "ingest.max_cells: 0 must be from 1 to 10000000000 (cells)"),
        ("max_merged_cells", "1000000001", "ingest.max_merged_cells: 1000000001 must be from 0 to 1000000000 (cells)"),
    ] {
        let text = config(&format!("[ingest]\n{key} = {bad}\n"));
        let line = text.lines().position(|l| l.starts_with(key)).unwrap() + 1;
        let e = Config::parse(&text, "quotad.toml", Path::new(".")).unwrap_err();
        assert!(e.message.contains(says), "{e}");
        assert_eq!(e.line, Some(line), "{e}");
    }
    let limits = parsed_config("").ingest.limits;
    assert_eq!(limits, ingest::Limits::default());
    assert_eq!(
        (
            limits.max_file_bytes,
            limits.max_unzipped_bytes,
            limits.max_zip_ratio,
            limits.max_rows,
            limits.max_columns,
            limits.max_cells,
            limits.max_merged_cells
        ),
        (100 << 20, 1000 << 20, 1000, 1_048_576, 1000, 20_000_000, 2_000_000)
    );
}

#[test]
fn an_ods_row_repeated_1048576_times_is_refused_in_bounded_time() {
    let header = ods_row(&["Deal ID", "Rep Email", "Stage", "Close Date", "Sale Price"], "");
    let bomb_row = ods_row(
        &["D1", "ann@example.com", "Closed Won", "d:2026-03-02", "n:1000"],
        r#" table:number-rows-repeated="1048576""#,
    );
    let bytes = ods("Deals", &format!("{header}{bomb_row}"));
    assert!(bytes.len() < 4000, "{}", bytes.len());
    let started = Instant::now();
    let e = read_as(&parsed_config(""), "deals", "deals.ods", &bytes).unwrap_err();
    assert_eq!(
        e.to_string(),
        "sheet 'Deals' has data down to row 1048577 (row 2 is repeated 1048576 times); the limit is 1048576 rows (ingest.max_rows)"
    );
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    // The same repeat on a row with no content (as LibreOffice writes below the data) is normal.
    let tail = r#"<table:table-row table:number-rows-repeated="1048570"><table:table-cell table:number-columns-repeated="1024"/></table:table-row>"#;
    let row = ods_row(&["D1", "ann@example.com", "Closed Won", "d:2026-03-02", "n:1000"], "");
    let p = read_as(&parsed_config(""), "deals", "deals.ods", &ods("Deals", &format!("{header}{row}{tail}"))).unwrap();
    assert_eq!(summary(&p), vec![row_("D1", "1000")]);
    // Columns: a cell with content repeated past max_columns.
    let wide = r#"<table:table-row><table:table-cell office:value-type="string" table:number-columns-repeated="16384"><text:p>x</text:p></table:table-cell></table:table-row>"#;
    let e = read_as(&parsed_config(""), "deals", "deals.ods", &ods("Deals", &format!("{header}{wide}"))).unwrap_err();
    assert_eq!(
        e.to_string(),
        "sheet 'Deals' has data in column 16384 of row 2; the limit is 1000 columns (ingest.max_columns)"
    );
}

fn row_(id: &str, amount: &str) -> (String, String, String, String, String) {
    row(id, "", "Closed Won", amount, "2026-03-02")
}

// ---------------------------------------------------------------------------------
// .xls: dates produced by formulas, merged cells (committed fixture, see its script)

#[test]
fn xls_formula_dates_and_merged_cells() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/quirks/formula-dates.xls");
    let bytes = std::fs::read(path).unwrap();
    let p = read_as(&parsed_config("[ingest]\nmax_rejected_fraction = 0.5\n"), "deals", "deals.xls", &bytes).unwrap();
    assert_eq!((p.sheet.as_str(), p.header_row, p.data_rows), ("Closed Sales", 2, 4));
    assert_eq!(
        summary(&p),
        vec![
            row("D1", "North", "Closed Won", "400000", "2026-03-03"),
            row("D2", "North", "Closed Won", "150500", "2026-03-05"),
            row("D3", "North", "Cancelled", "199999", "2026-03-07"),
        ]
    );
    let rejects: Vec<String> = p.rejects.iter().map(|r| r.to_string()).collect();
    assert_eq!(
        rejects,
        vec![
            "sheet 'Closed Sales', row 6, column G 'Sale Price': '#DIV/0!': the cell holds the spreadsheet error #DIV/0! (a formula that failed): fix it in the source and export again"
        ]
    );
}

#[test]
fn a_zip_whose_directory_understates_its_size_is_still_bounded() {
    // A real deals workbook whose sheet1.xml is padded with 20 MB of blanks (valid XML),
    // its local and central headers patched to claim 1,000 bytes: the declared total
    // passes the check, and the zip reader under calamine stops at the declared size.
    let mut wb = Workbook::new();
    plain_deals(wb.add_worksheet().set_name("Deals").unwrap(), 2);
    let padded = rewrite_zip(&wb.save_to_buffer().unwrap(), |name, text| {
        if name == "xl/worksheets/sheet1.xml" {
            text.replace("<sheetData>", &format!("{}<sheetData>", " ".repeat(20 << 20)))
        } else {
            text
        }
    });
    let mut bomb = padded.clone();
    let mut patched = 0;
    for i in 0..bomb.len().saturating_sub(30) {
        let field = match &bomb[i..i + 4] {
            b"PK\x03\x04" => i + 22, // local header: uncompressed size
            b"PK\x01\x02" => i + 24, // central directory: uncompressed size
            _ => continue,
        };
        if u32::from_le_bytes(bomb[field..field + 4].try_into().unwrap()) > 20 << 20 {
            bomb[field..field + 4].copy_from_slice(&1000u32.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 2);
    let cfg = parsed_config("[ingest]\nmax_unzipped_mb = 10\n");
    // Honest headers: refused before calamine.
    let e = read_as(&cfg, "deals", "deals.xlsx", &padded).unwrap_err();
    assert!(e.starts_with("the workbook declares 20.0 MB uncompressed (a zip bomb?)"), "{e}");
    let started = Instant::now();
    let e = read_as(&cfg, "deals", "deals.xlsx", &bomb).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert_eq!(
        e,
        "cannot read the file: Xlsx error: Xml error: I/O error: File is larger than its declared uncompressed size"
    );
}

#[test]
fn a_truncated_xls_that_panics_calamine_is_quarantined_and_the_run_goes_on() {
    // calamine 0.38 panics on 896 of the 7168 truncations of this file (found by
    // fuzz.rs; utils.rs `to_u32` asserts a length that is a multiple of 4, cfb.rs slices
    // past the data). quotad catches the panic: an error for that file, nothing more.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/quirks/formula-dates.xls");
    let bytes = std::fs::read(path).unwrap();
    let e = read_as(&parsed_config(""), "deals", "deals.xls", &bytes[..513]).unwrap_err();
    assert_eq!(
        e,
        "cannot read the file: the spreadsheet reader failed on this file (assertion `left == right` failed); it is probably damaged: open it in a spreadsheet program and save it again"
    );
    let env = Env::new(&config("[ingest]\nmax_rejected_fraction = 0.5\n"));
    env.put("roster.csv", ROSTER);
    env.put("deals-1.xls", &bytes[..513]);
    env.put("deals-2.xls", &bytes);
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains("QUARANTINED  deals-1.xls [deals]: cannot read the file: the spreadsheet reader failed"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("imported     deals-2.xls [deals, sheet 'Closed Sales']: 3 new"), "{}", run.stdout);
}

#[test]
fn a_libreoffice_ods_with_merged_blocks_and_formulas() {
    // formula-dates.xls opened and saved as .ods by LibreOffice 7.4 (see the script):
    // LibreOffice writes its merges as number-columns/rows-spanned plus covered cells,
    // and pads each sheet to row 1,048,576 with empty repeated rows.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/quirks/formula-dates.ods");
    let bytes = std::fs::read(path).unwrap();
    let p = read_as(&parsed_config("[ingest]\nmax_rejected_fraction = 0.5\n"), "deals", "deals.ods", &bytes).unwrap();
    assert_eq!(
        p.notes,
        vec![
            "sheet 'Closed Sales' has 2 merged block(s), the first at A1: in .ods files only the first cell of a merged block holds its value (save as .xlsx to have blocks filled)"
        ]
    );
    // Not filled: only D1 has the team; cached formula values and dates are read.
    assert_eq!(
        summary(&p),
        vec![
            row("D1", "North", "Closed Won", "400000", "2026-03-03"),
            row("D2", "", "Closed Won", "150500", "2026-03-05"),
            row("D3", "", "Cancelled", "199999", "2026-03-07"),
        ]
    );
    let rejects: Vec<String> = p.rejects.iter().map(|r| r.to_string()).collect();
    assert_eq!(
        rejects,
        vec![
            "sheet 'Closed Sales', row 6, column G 'Sale Price': '#DIV/0!': the cell holds the spreadsheet error #DIV/0! (a formula that failed): fix it in the source and export again"
        ]
    );
}
