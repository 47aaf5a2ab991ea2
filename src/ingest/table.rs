//! Files -> a grid of cells with Excel row numbers: spreadsheets through calamine,
//! CSV/TSV through the csv crate (UTF-8 with or without BOM, else Windows-1252;
//! `,`, `;` or tab delimiter, sniffed).

use std::path::Path;

use calamine::{Data, Reader, Sheets, open_workbook_auto};
use chrono::NaiveDateTime;

use super::IngestError;

/// One cell, reduced to what quotad reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Nothing in the cell (or only whitespace).
    Empty,
    /// Text, as stored (untrimmed).
    Text(String),
    /// A number (integers too). In a date column this is an Excel serial.
    Number(f64),
    /// A boolean cell.
    Bool(bool),
    /// A cell formatted as a date (epoch already applied).
    DateTime(NaiveDateTime),
    /// An error value such as `#VALUE!`.
    Error(String),
}

impl Cell {
    /// Whether the cell holds nothing but whitespace.
    pub fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }

    /// The cell as a person would read it in a report: text trimmed, integers without
    /// `.0`, dates ISO.
    pub fn raw(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.trim().to_string(),
            Cell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Cell::Number(n) => n.to_string(),
            Cell::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
            Cell::DateTime(d) => d.format("%Y-%m-%d").to_string(),
            Cell::Error(e) => e.clone(),
        }
    }
}

/// A row of cells with its Excel row number; `cells[0]` is column A.
#[derive(Debug, Clone)]
pub struct GridRow {
    /// 1-based row number as Excel shows it (for CSV: the line number).
    pub excel_row: u32,
    /// Cells by absolute column, A first.
    pub cells: Vec<Cell>,
}

impl GridRow {
    /// The cell in column `col` (0 = A), or Empty past the end.
    pub fn get(&self, col: usize) -> &Cell {
        self.cells.get(col).unwrap_or(&Cell::Empty)
    }
}

/// One sheet (or a CSV file) as rows of cells.
#[derive(Debug)]
pub struct Grid {
    /// Sheet name; empty for CSV.
    pub sheet: String,
    /// Non-empty rows in order.
    pub rows: Vec<GridRow>,
    /// Whether the workbook uses the 1904 date system (Mac Excel).
    pub epoch_1904: bool,
}

/// A file's sheets, in workbook order (a CSV file has one, named "").
pub struct Workbook {
    /// The sheets.
    pub sheets: Vec<Grid>,
    /// Notes for the run report (e.g. a Windows-1252 fallback).
    pub notes: Vec<String>,
}

/// Column index (0 = A) to Excel letters: 0 -> "A", 27 -> "AB".
pub fn column_letter(mut col: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).expect("ASCII letters")
}

/// Reads every sheet of a spreadsheet, or the one table of a CSV/TSV file.
/// `only_sheet` limits a workbook to the named sheet. The encoding of a CSV is detected.
#[cfg_attr(not(test), allow(dead_code))]
pub fn read(path: &Path, only_sheet: Option<&str>) -> Result<Workbook, IngestError> {
    read_encoded(path, only_sheet, None)
}

/// [`read`], with a CSV/TSV file's text encoding configured (`Some`) rather than
/// detected: UTF-8 then fails on an invalid byte instead of falling back.
pub fn read_encoded(
    path: &Path,
    only_sheet: Option<&str>,
    encoding: Option<&'static encoding_rs::Encoding>,
) -> Result<Workbook, IngestError> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "csv" | "tsv" | "txt" => read_csv(path, encoding),
        "xlsx" | "xlsm" | "xlsb" | "xls" | "ods" => read_workbook(path, only_sheet),
        _ => Err(IngestError::Unsupported { ext }),
    }
}

fn read_workbook(path: &Path, only_sheet: Option<&str>) -> Result<Workbook, IngestError> {
    let unreadable = |e: calamine::Error| IngestError::Unreadable { reason: e.to_string() };
    let mut wb = open_workbook_auto(path).map_err(unreadable)?;
    let epoch_1904 = match &wb {
        Sheets::Xlsx(x) => x.has_1904_epoch(),
        Sheets::Xls(x) => x.has_1904_epoch(),
        Sheets::Xlsb(x) => x.has_1904_epoch(),
        Sheets::Ods(_) => false,
    };
    let names = wb.sheet_names();
    if let Some(want) = only_sheet
        && !names.iter().any(|n| n == want)
    {
        return Err(IngestError::NoSuchSheet { sheet: want.into(), found: names });
    }
    let mut sheets = Vec::new();
    for name in names {
        if only_sheet.is_some_and(|w| w != name) {
            continue;
        }
        let range = wb.worksheet_range(&name).map_err(unreadable)?;
        let (r0, c0) = range.start().unwrap_or((0, 0));
        let mut rows = Vec::new();
        for (i, row) in range.rows().enumerate() {
            if row.iter().all(|c| matches!(c, Data::Empty)) {
                continue;
            }
            let mut cells = vec![Cell::Empty; c0 as usize];
            cells.extend(row.iter().map(convert));
            rows.push(GridRow { excel_row: r0 + i as u32 + 1, cells });
        }
        sheets.push(Grid { sheet: name, rows, epoch_1904 });
    }
    Ok(Workbook { sheets, notes: Vec::new() })
}

fn convert(d: &Data) -> Cell {
    match d {
        Data::Empty => Cell::Empty,
        Data::String(s) => Cell::Text(s.clone()),
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Float(f) => Cell::Number(*f),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(v) if dt.is_datetime() => Cell::DateTime(v),
            _ => Cell::Number(dt.as_f64()),
        },
        Data::DateTimeIso(s) => match NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").or_else(|_| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
        }) {
            Ok(v) => Cell::DateTime(v),
            Err(_) => Cell::Text(s.clone()),
        },
        Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Error(e) => Cell::Error(format!("{e}")),
    }
}

fn read_csv(path: &Path, encoding: Option<&'static encoding_rs::Encoding>) -> Result<Workbook, IngestError> {
    let bytes = std::fs::read(path).map_err(|e| IngestError::Unreadable { reason: e.to_string() })?;
    let mut notes = Vec::new();
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let text = match std::str::from_utf8(body) {
        _ if encoding.is_some_and(|e| e != encoding_rs::UTF_8) => {
            encoding.unwrap_or(encoding_rs::WINDOWS_1252).decode_without_bom_handling(body).0.into_owned()
        }
        Ok(s) => s.to_string(),
        Err(e) if encoding.is_some() => {
            return Err(IngestError::Unreadable {
                reason: format!(
                    "not valid UTF-8 (first bad byte at offset {}), and the encoding is set to UTF-8",
                    e.valid_up_to()
                ),
            });
        }
        Err(e) => {
            let (s, _, _) = encoding_rs::WINDOWS_1252.decode(body);
            notes.push(format!("not valid UTF-8 (first bad byte at offset {}); read as Windows-1252", e.valid_up_to()));
            s.into_owned()
        }
    };
    let delimiter = sniff_delimiter(&text);
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(text.as_bytes());
    let mut rows = Vec::new();
    // Excel shows a quoted field with line breaks as one row: count rows, not lines.
    // (The csv crate's own line numbers skip blank lines, so count from byte offsets.)
    let mut embedded = 0u32;
    let (mut counted_to, mut newlines) = (0usize, 0u32);
    for rec in reader.records() {
        let rec = rec.map_err(|e| IngestError::Unreadable { reason: format!("CSV: {e}") })?;
        let mut at = rec.position().map(|p| p.byte() as usize).unwrap_or(counted_to).min(text.len());
        // The position is where parsing resumed: skip the line breaks before the record.
        while at < text.len() && matches!(text.as_bytes()[at], b'\r' | b'\n') {
            at += 1;
        }
        newlines += text.as_bytes()[counted_to..at].iter().filter(|&&b| b == b'\n').count() as u32;
        counted_to = at;
        let line = newlines + 1 - embedded;
        embedded += rec.iter().map(|f| f.matches('\n').count() as u32).sum::<u32>();
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let cells =
            rec.iter().map(|f| if f.trim().is_empty() { Cell::Empty } else { Cell::Text(f.to_string()) }).collect();
        rows.push(GridRow { excel_row: line, cells });
    }
    Ok(Workbook { sheets: vec![Grid { sheet: String::new(), rows, epoch_1904: false }], notes })
}

/// Picks `,`, `;` or tab: the one that splits the most of the first lines into the
/// most fields (quoted text is not counted).
fn sniff_delimiter(text: &str) -> u8 {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).take(30).collect();
    let mut best = (b',', 0usize);
    for d in [b',', b';', b'\t'] {
        let total: usize = lines
            .iter()
            .map(|l| {
                let mut quoted = false;
                l.bytes()
                    .filter(|&b| {
                        if b == b'"' {
                            quoted = !quoted;
                        }
                        b == d && !quoted
                    })
                    .count()
            })
            .sum();
        if total > best.1 {
            best = (d, total);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
    }

    #[test]
    fn csv_rows_are_counted_as_excel_shows_them() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(&p, "Deal ID,Note\r\nX1,\"two\r\nlines\"\r\n\r\nX2,plain\r\n").unwrap();
        let g = &read(&p, None).unwrap().sheets[0];
        let rows: Vec<(u32, String)> = g.rows.iter().map(|r| (r.excel_row, r.get(0).raw())).collect();
        // Header row 1, X1 row 2 (its note spans two lines), a blank row 3, X2 row 4.
        assert_eq!(rows, vec![(1, "Deal ID".into()), (2, "X1".into()), (4, "X2".into())]);
    }

    #[test]
    fn delimiters_are_sniffed() {
        assert_eq!(sniff_delimiter("a;b;c\n1;\"2,5\";3\n"), b';');
        assert_eq!(sniff_delimiter("Title, with comma\n\na,b,c\n1,2,3\n"), b',');
        assert_eq!(sniff_delimiter("a\tb\tc\n"), b'\t');
    }
}

#[cfg(test)]
mod real_sample_tests {
    use super::*;

    fn sample(name: &str) -> Option<std::path::PathBuf> {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/samples/real").join(name);
        if !p.exists() {
            eprintln!(
                "SKIPPED: {} is absent (the public samples live in ../shared/samples/real beside the clone)",
                p.display()
            );
        }
        p.exists().then_some(p)
    }

    fn dt(s: &str) -> Cell {
        Cell::DateTime(NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap())
    }

    #[test]
    fn a_1904_workbook_gives_true_dates() {
        let Some(p) = sample("calamine_date_1904.xlsx") else { return };
        let wb = read(&p, None).unwrap();
        let g = &wb.sheets[0];
        assert!(g.epoch_1904);
        assert_eq!(g.rows[0].cells, vec![dt("2021-01-01 00:00:00"), Cell::Number(15.0)]);
        assert_eq!(g.rows[1].cells[0], dt("2021-01-02 00:00:00"));
    }

    #[test]
    fn ods_dates_and_durations() {
        let Some(p) = sample("calamine_date.ods") else { return };
        let g = &read(&p, None).unwrap().sheets[0];
        assert_eq!(g.rows[0].cells[0], dt("2021-01-01 00:00:00"));
        assert_eq!(g.rows[1].cells[0], dt("2021-01-01 10:10:10"));
        assert_eq!(g.rows[2].cells[0], Cell::Text("PT10H10M10S".into()));
    }

    #[test]
    fn legacy_xls_with_three_sheets() {
        let Some(p) = sample("superstore_sales_canada.xls") else { return };
        let wb = read(&p, None).unwrap();
        let names: Vec<&str> = wb.sheets.iter().map(|g| g.sheet.as_str()).collect();
        assert_eq!(names, ["Orders", "Returns", "Users"]);
        let orders = &wb.sheets[0];
        assert_eq!(orders.rows.len(), 8400);
        assert_eq!(orders.rows[0].get(2), &Cell::Text("Order Date".into()));
        assert_eq!(orders.rows[1].excel_row, 2);
        assert_eq!(orders.rows[1].get(2), &dt("2010-10-13 00:00:00"));
        assert_eq!(orders.rows[1].get(5), &Cell::Number(261.54));
        let only = read(&p, Some("Users")).unwrap();
        assert_eq!(only.sheets.len(), 1);
        assert!(matches!(read(&p, Some("Nope")), Err(IngestError::NoSuchSheet { .. })));
    }
}
