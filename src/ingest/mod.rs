//! Ingest: one inbox file -> validated domain rows plus a list of rejected rows.
//!
//! Owns reading spreadsheets (calamine) and CSV (csv), finding the header row among
//! title rows, blank rows and totals rows, mapping columns to canonical fields and
//! parsing values. Imports only `domain`; knows nothing of SQL, metrics or mail.
//! Reading is pure with respect to the store: [`read_file`] never changes anything.
//!
//! Shapes: deals exports (a row per deal event), summary exports (a row per rep per
//! month, stored as one won deal per total), quotas as rows, as a column per month, or
//! per quarter / year spread over months ([`QuotaSpan`], [`MonthHead`]), and rosters.
//! Column names come from the generic defaults or a CRM [`Preset`], overridden per
//! field; a headerless file takes its column list from the config.
//!
//! # Layout
//!
//! This file holds the stage's public types (settings, sources, errors, results) and
//! [`read_file`], which runs the steps, one file each:
//!
//! - `table`: a file -> grids of cells (calamine, csv, encoding_rs), behind the size
//!   and zip-bomb [`Limits`] (zip, quick-xml);
//! - `header`: a grid -> its header row and the column of each field;
//! - `rows`: the table under the header -> records, rejects and notes (totals, repeats,
//!   credit splits, summaries added up);
//! - `record`: one data row -> a deal, quota rows, a summary total or a roster entry;
//! - `fields`: the canonical fields per source kind, their header aliases and the CRM
//!   presets; `values`: cell -> date, money, number, flag, month.
//!
//! May import `domain` and calamine, csv, encoding_rs, zip, quick-xml, glob; never
//! another stage, `config` or `pipeline`.

mod fields;
mod header;
mod limits;
mod record;
mod rows;
mod table;
pub mod values;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fmt::Write as _;
use std::path::Path;

use rust_decimal::Decimal;

pub use fields::{ColumnMap, FieldSpec, Preset, SourceKind, norm_header};
pub use header::MonthHead;
use header::{Header, Miss, find_header, sheet_label};
pub use limits::Limits;
pub use record::email_from_pattern;
use rows::parse_rows;
pub use table::{Cell, column_letter};
pub use values::{DateOrder, NumberStyle};

use crate::domain::{DealRow, FiscalCalendar, Period, QuotaRow, RosterRep, StageClass, fold_name};

/// Errors that stop a whole file. Each message says what was expected; the caller adds
/// the file name.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The extension is not one quotad reads.
    #[error("unsupported file type '.{ext}': expected .xlsx, .xlsm, .xlsb, .xls, .ods, .csv or .tsv")]
    Unsupported {
        /// The extension found.
        ext: String,
    },
    /// The file could not be opened or decoded.
    #[error("cannot read the file: {reason}")]
    Unreadable {
        /// What calamine, csv or the OS said.
        reason: String,
    },
    /// The configured sheet does not exist.
    #[error("no sheet named '{sheet}' (sheets: {})", found.join(", "))]
    NoSuchSheet {
        /// The configured sheet name.
        sheet: String,
        /// The sheets the workbook has.
        found: Vec<String>,
    },
    /// No sheet has a row that looks like the source's header.
    #[error("no header row found in the first {searched} rows: {detail}")]
    NoHeader {
        /// How many rows were searched per sheet (config `ingest.header_search_rows`).
        searched: usize,
        /// What a header needs, and the closest candidate row with what it lacked.
        detail: String,
    },
    /// A header names the same field twice.
    #[error(
        "{sheet_label}row {row}: columns {first} and {second} both match field '{field}'; map it to one header name in sources.{source_name}.columns.{field}"
    )]
    AmbiguousColumn {
        /// "sheet 'X', " or "" for CSV.
        sheet_label: String,
        /// Excel row of the header.
        row: u32,
        /// Canonical field.
        field: String,
        /// First matching column, e.g. "C 'Email'".
        first: String,
        /// Second matching column.
        second: String,
        /// The source's config name.
        source_name: String,
    },
    /// One header cell names two fields (a column feeds one field only).
    #[error(
        "{sheet_label}row {row}: column {column} matches both {first} and {second}: set sources.{source_name}.columns.{first} or .{second} to another header"
    )]
    ColumnClash {
        /// "sheet 'X', " or "" for CSV.
        sheet_label: String,
        /// Excel row of the header.
        row: u32,
        /// The column, e.g. "C 'Fiscal Year'".
        column: String,
        /// The field that claimed it first (a configured field before a default one).
        first: String,
        /// The other field.
        second: String,
        /// The source's config name.
        source_name: String,
    },
    /// A wide quotas header cell shaped like a quarter that is not one (`Q5`, `FY2026 Q0`).
    #[error(
        "{sheet_label}row {row}, column {column}: {reason} (quarter headers read as Q3, FY2026 Q3, 2026-Q3 or Q3 2026)"
    )]
    BadPeriodHeader {
        /// "sheet 'X', " or "" for CSV.
        sheet_label: String,
        /// Excel row of the header.
        row: u32,
        /// The column with its raw header, e.g. "E 'Q5'".
        column: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The file breaks one of the size limits (config `[ingest]`, see [`Limits`]).
    #[error("{what}; the limit is {limit} (ingest.{key})")]
    OverLimit {
        /// What was found, naming the sheet and row or column where it applies.
        what: String,
        /// The limit, with its unit.
        limit: String,
        /// The config key under `[ingest]` that sets it.
        key: &'static str,
    },
    /// quotad's own code panicked while reading the file: a bug in quotad, not a damaged
    /// file. Caught like a reader's panic, so the daemon goes on; said differently, so
    /// nobody re-saves a good file to work around it.
    #[error(
        "quotad failed while reading this file ({message}, at {location}): a bug in quotad, not in the file; nothing from it was stored. Please report it with the file"
    )]
    Bug {
        /// The panic's message (its first line).
        message: String,
        /// Where quotad panicked: `src/FILE.rs:LINE`.
        location: String,
    },
}

/// Ingest settings shared by all sources (config `[ingest]` and `[stages]`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Order of all-numeric text dates.
    pub date_order: DateOrder,
    /// How text numbers are written.
    pub number_style: NumberStyle,
    /// How many rows from the top of each sheet to search for the header.
    pub header_search_rows: usize,
    /// Stage text (folded) -> how it counts.
    pub stages: HashMap<String, StageClass>,
    /// Highest valid customer rating (ratings must be > 0 and ≤ this).
    pub rating_scale: Decimal,
    /// The org's time zone: instants with a UTC offset are converted to local dates in it.
    pub time_zone: chrono_tz::Tz,
    /// Today in the org's zone, when reading a file: a won or cancelled deal cannot close
    /// after it (a typo such as 2062 for 2026 is rejected, not reported for decades).
    pub today: Option<chrono::NaiveDate>,
    /// File size, zip-bomb and sheet-size limits.
    pub limits: Limits,
    /// The org's fiscal year (config `org.fiscal_year_start`, `org.fiscal_year_named_by`):
    /// quarterly and annual quotas are spread over its quarters and years, and a "Fiscal
    /// Year" column or a quarter column's year names one of its years.
    pub fiscal: FiscalCalendar,
}

impl Settings {
    /// Classifies a Stage cell's text; `None` if it is in no configured list.
    pub fn stage_class(&self, stage: &str) -> Option<StageClass> {
        self.stages.get(&fold_name(stage)).copied()
    }
}

/// One configured source (config `[sources.NAME]`).
#[derive(Debug, Clone)]
pub struct Source {
    /// The config name, e.g. "deals".
    pub name: String,
    /// What the files hold.
    pub kind: SourceKind,
    /// File-name patterns (glob, case-insensitive) that select this source's files.
    pub files: Vec<glob::Pattern>,
    /// Read only this sheet; else the first sheet whose header matches.
    pub sheet: Option<String>,
    /// Column mapping.
    pub columns: ColumnMap,
    /// Roster only: e-mail pattern for reps without an e-mail column, with `{first}`,
    /// `{last}` and `{name}` placeholders filled from the folded ASCII name.
    pub email_pattern: Option<String>,
    /// Roster only: the same for managers.
    pub manager_email_pattern: Option<String>,
    /// The mapping preset the column map was built from (config `preset`).
    pub preset: Preset,
    /// Deals only: the export has no stage column and every row is at this stage
    /// (config `fixed_stage`, e.g. "Won" for an orders list).
    pub fixed_stage: Option<String>,
    /// A file without a header row: the field of each column, A first (`None` skips a
    /// column). Config `header`; every row is data.
    pub header: Option<Vec<Option<&'static str>>>,
    /// Quotas only: the span each quota row covers.
    pub quota_span: QuotaSpan,
    /// CSV/TSV text encoding (config `encoding`).
    pub encoding: TextEncoding,
    /// Quotas only: a column per month (config `quota_layout = "wide"`) instead of a row
    /// per rep and month. See [`MonthHead`]. Without `quota_layout`, a quotas file whose
    /// header has quarter columns (`Q1`, `FY2026 Q3`, `2026-Q3`, `Q3 2026`) and no month
    /// column is read wide too.
    pub quota_wide: bool,
    /// Quotas only: the fiscal year of month and quarter columns that name none, when
    /// the file has no year column (config `year`).
    pub year: Option<i32>,
}

/// The text encoding of a source's CSV/TSV/TXT files (config `sources.NAME.encoding`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
pub enum TextEncoding {
    /// UTF-16 when the file starts with a UTF-16 byte-order mark, else UTF-8 with or
    /// without a BOM, else Windows-1252 (UTF-16 and Windows-1252 said in a note).
    #[default]
    #[serde(rename = "auto")]
    Auto,
    /// UTF-8 (a BOM is skipped); an invalid byte makes the file unreadable.
    #[serde(rename = "utf-8")]
    Utf8,
    /// Windows-1252, always.
    #[serde(rename = "windows-1252")]
    Windows1252,
    /// UTF-16 (Excel's "Unicode Text" export): little- or big-endian as the byte-order
    /// mark says, little-endian without one. `auto` reads a file that starts with a
    /// UTF-16 mark as UTF-16 too, and says so in a note.
    #[serde(rename = "utf-16")]
    Utf16,
}

/// What one row of a quotas file covers (config `quota_period` and `distribution`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuotaSpan {
    /// One month (the default).
    Month,
    /// The fiscal quarter that holds the row's month (with the default calendar fiscal
    /// year, a date on 2011-05-31 names April–June 2011), spread over its three months
    /// by these percentages (summing to 100).
    Quarter(Vec<Decimal>),
    /// The fiscal year of the row's month, spread over its twelve months by these
    /// percentages (summing to 100).
    Year(Vec<Decimal>),
}

impl QuotaSpan {
    /// The months a quota dated in `month` covers, with each month's percentage: the
    /// fiscal quarter or year of `fiscal` that holds `month`, from its first month.
    pub fn months(&self, month: Period, fiscal: FiscalCalendar) -> Vec<(Period, Decimal)> {
        let (first, pcts) = match self {
            QuotaSpan::Month => return vec![(month, Decimal::ONE_HUNDRED)],
            QuotaSpan::Quarter(p) => (fiscal.quarter_start(month), p),
            QuotaSpan::Year(p) => (fiscal.year_start(month), p),
        };
        let mut m = first;
        pcts.iter()
            .map(|p| {
                let here = m;
                m = m.next();
                (here, *p)
            })
            .collect()
    }
}

/// Splits `total` (currency units) by `percents` (summing to 100) into cents; the
/// rounding remainder goes to the last share, so the shares add up to `total` exactly.
/// 28000 in thirds gives 9333.33, 9333.33 and 9333.34.
pub fn spread(total: Decimal, percents: &[Decimal]) -> Vec<Decimal> {
    let mut out: Vec<Decimal> = percents.iter().map(|p| (total * p / Decimal::ONE_HUNDRED).round_dp(2)).collect();
    if let Some(n) = out.len().checked_sub(1) {
        let rest: Decimal = out[..n].iter().sum();
        out[n] = total - rest;
    }
    out
}

/// Equal percentages for `n` months that sum to exactly 100 (the remainder on the last):
/// 3 gives 33.3333333333, 33.3333333333, 33.3333333334.
pub fn even_percents(n: usize) -> Vec<Decimal> {
    let each = (Decimal::ONE_HUNDRED / Decimal::from(n)).round_dp(10);
    let mut v = vec![each; n];
    if let Some(last) = v.last_mut() {
        *last = Decimal::ONE_HUNDRED - each * Decimal::from(n - 1);
    }
    v
}

impl Source {
    /// Whether `file_name` (no folder) matches one of this source's patterns.
    pub fn matches(&self, file_name: &str) -> bool {
        let opts = glob::MatchOptions { case_sensitive: false, ..Default::default() };
        self.files.iter().any(|p| p.matches_with(file_name, opts))
    }
}

/// A rejected row: where it is, what was in it, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// Sheet name ("" for CSV).
    pub sheet: String,
    /// Excel row number.
    pub row: u32,
    /// Column letter and header, e.g. "I 'Sale Price'"; empty for whole-row problems.
    pub column: String,
    /// The raw cell value.
    pub raw: String,
    /// What was expected.
    pub reason: String,
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.sheet.is_empty() {
            write!(f, "sheet '{}', ", self.sheet)?;
        }
        write!(f, "row {}", self.row)?;
        if !self.column.is_empty() {
            write!(f, ", column {}", self.column)?;
        }
        write!(f, ": '{}': {}", self.raw, self.reason)
    }
}

/// The rows a file yielded, by kind.
#[derive(Debug, Clone)]
pub enum Records {
    /// From a deals export.
    Deals(Vec<DealRow>),
    /// From a quotas file.
    Quotas(Vec<QuotaRow>),
    /// From a roster.
    Roster(Vec<RosterRep>),
}

impl Records {
    /// Number of accepted rows.
    pub fn len(&self) -> usize {
        match self {
            Records::Deals(v) => v.len(),
            Records::Quotas(v) => v.len(),
            Records::Roster(v) => v.len(),
        }
    }

    /// Whether no row was accepted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What reading one file produced.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The sheet read ("" for CSV).
    pub sheet: String,
    /// Excel row of the header.
    pub header_row: u32,
    /// Data rows seen below the header (blank, totals and exact-duplicate rows excluded, and
    /// footnotes after the table: see the notes).
    pub data_rows: usize,
    /// Accepted rows.
    pub records: Records,
    /// Rejected rows.
    pub rejects: Vec<Reject>,
    /// Things worth telling the user that are not errors (skipped totals rows,
    /// duplicates, encoding fallbacks).
    pub notes: Vec<String>,
    /// The column each mapped field was read from: (field, "C 'Close Date'"), in field
    /// order; for a headerless file, "C (config header)".
    pub columns: Vec<(String, String)>,
}

/// Reads one file as `source`. Errors stop the file; bad rows are returned in
/// [`Parsed::rejects`] for the caller to weigh against its tolerance.
pub fn read_file(path: &Path, source: &Source, settings: &Settings) -> Result<Parsed, IngestError> {
    let encoding = match source.encoding {
        TextEncoding::Auto => None,
        TextEncoding::Utf8 => Some(encoding_rs::UTF_8),
        TextEncoding::Windows1252 => Some(encoding_rs::WINDOWS_1252),
        TextEncoding::Utf16 => Some(encoding_rs::UTF_16LE),
    };
    if source.header.is_none()
        && let Some(parsed) = read_streamed(path, source, settings)?
    {
        return Ok(parsed);
    }
    let wb = table::read(path, source.sheet.as_deref(), encoding, &settings.limits)?;
    if let Some(list) = &source.header {
        let Some(grid) = wb.sheets.first() else {
            return Err(IngestError::Unreadable { reason: "the file holds no sheet".into() });
        };
        let mut col = BTreeMap::new();
        let mut names = BTreeMap::new();
        for (i, f) in list.iter().enumerate() {
            if let Some(f) = f {
                col.insert(*f, i);
                names.insert(*f, f.to_string());
            }
        }
        let header =
            Header { first_data: 0, excel_row: 0, col, names, notes: Vec::new(), months: Vec::new(), wide: false };
        let mut parsed = parse_rows(grid, &header, source, settings);
        parsed.notes.splice(0..0, wb.notes.iter().cloned());
        return Ok(parsed);
    }
    let mut best: Option<Miss> = None;
    for grid in &wb.sheets {
        match find_header(grid, source, settings)? {
            Ok(header) => {
                let mut parsed = rows::parse_unless_guessed_wrong(grid, header, source, settings);
                parsed.notes.splice(0..0, wb.notes.iter().cloned());
                return Ok(parsed);
            }
            Err(miss) => {
                if best.as_ref().is_none_or(|b| miss.matched.len() > b.matched.len()) {
                    best = Some(miss);
                }
            }
        }
    }
    Err(no_header(source, settings, best, wb.sheets.len()))
}

/// [`read_file`] for an .xlsx/.xlsm file without merged blocks, read a row at a time:
/// the first `ingest.header_search_rows` rows of a sheet are held to find its header,
/// and every row after is parsed as it is read ([`rows::RowParser`]), so a sheet is
/// never held whole. `Ok(None)` when the file needs the whole-sheet read instead (another
/// format, merged blocks, rows out of order, a column taken for a wrong guess): the
/// result is then the same as before, only slower.
fn read_streamed(path: &Path, source: &Source, settings: &Settings) -> Result<Option<Parsed>, IngestError> {
    let limits = &settings.limits;
    let Some(mut wb) = table::open_stream(path, limits)? else { return Ok(None) };
    let names = wb.sheet_names();
    if let Some(want) = source.sheet.as_deref()
        && !names.iter().any(|n| n == want)
    {
        return Err(IngestError::NoSuchSheet { sheet: want.into(), found: names });
    }
    let epoch_1904 = wb.epoch_1904;
    let mut best: Option<Miss> = None;
    let mut sheets = 0;
    for name in &names {
        if source.sheet.as_deref().is_some_and(|w| w != name) {
            continue;
        }
        sheets += 1;
        let read = limits::guarded(|| {
            let mut rows = wb.rows(name, limits)?;
            let rows_hint = rows.rows_hint;
            let mut head = Vec::new();
            let mut next = || match rows.next_row() {
                Ok(r) => Ok(Ok(r)),
                Err(table::StreamError::OutOfOrder) => Ok(Err(())),
                Err(table::StreamError::Ingest(e)) => Err(*e),
            };
            while head.len() < settings.header_search_rows {
                match next()? {
                    Ok(Some(row)) => head.push(row),
                    Ok(None) => break,
                    Err(()) => return Ok(None),
                }
            }
            let grid = table::Grid { sheet: name.clone(), rows: head, epoch_1904, merges: Vec::new() };
            let header = match find_header(&grid, source, settings)? {
                Ok(header) => header,
                Err(miss) => return Ok(Some(Err(miss))),
            };
            let first_data = header.first_data.min(grid.rows.len());
            let hint = rows_hint.saturating_sub(first_data);
            let mut parser = rows::RowParser::new(name, epoch_1904, &header, source, settings, hint);
            parser.set_header_row(first_data.checked_sub(1).and_then(|i| grid.rows.get(i)));
            for row in &grid.rows[first_data..] {
                parser.push(row);
            }
            drop(grid.rows);
            loop {
                match next()? {
                    Ok(Some(row)) => parser.push(&row),
                    Ok(None) => break,
                    Err(()) => return Ok(None),
                }
            }
            let (parsed, wrong) = parser.finish();
            // A column taken for a wrong guess: the whole-sheet read drops it and reads again.
            Ok((wrong.is_empty()).then_some(Ok(parsed)))
        })?;
        match read {
            None => return Ok(None),
            Some(Ok(mut parsed)) => {
                parsed.notes.splice(0..0, wb.notes.iter().cloned());
                return Ok(Some(parsed));
            }
            Some(Err(miss)) => {
                if best.as_ref().is_none_or(|b| miss.matched.len() > b.matched.len()) {
                    best = Some(miss);
                }
            }
        }
    }
    Err(no_header(source, settings, best, sheets))
}

/// The error for a file in none of whose `sheets` sheets a header was found; `best` is
/// the closest candidate row.
fn no_header(source: &Source, settings: &Settings, best: Option<Miss>, sheets: usize) -> IngestError {
    let required: Vec<&str> = source
        .kind
        .fields()
        .iter()
        .filter(|f| f.required && !(f.name == "stage" && source.fixed_stage.is_some()))
        .map(|f| f.name)
        .collect();
    let rep = if source.kind == SourceKind::Roster { "" } else { " and one of rep_id / rep_email / rep_name" };
    let mut detail = format!(
        "a {} header needs {}{rep} (header names per field: sources.{}.columns; a header further down needs a larger ingest.header_search_rows)",
        source.kind.as_str(),
        required.join(", "),
        source.name
    );
    match best {
        Some(m) if !m.matched.is_empty() => {
            let _ = write!(
                detail,
                "; closest: {}row {}, which has {} but lacks {}",
                sheet_label(&m.sheet),
                m.row,
                m.matched.join(", "),
                m.missing.join(", ")
            );
        }
        _ => {
            let wher = if sheets > 1 { "no sheet has a row that names" } else { "no row names" };
            let names: Vec<String> = source
                .kind
                .fields()
                .iter()
                .filter(|f| f.required || f.name.starts_with("rep_"))
                .map(|f| format!("{} = {}", f.name, source.columns.fields[f.name].join(" / ")))
                .collect();
            let _ = write!(detail, "; {wher} any of them (accepted: {})", names.join("; "));
        }
    }
    IngestError::NoHeader { searched: settings.header_search_rows, detail }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn deals_source(sheet: Option<&str>) -> Source {
        Source {
            name: "deals".into(),
            kind: SourceKind::Deals,
            files: vec![glob::Pattern::new("*.xlsx").unwrap()],
            sheet: sheet.map(str::to_string),
            columns: ColumnMap::new(SourceKind::Deals, Preset::Generic, &BTreeMap::new()).unwrap(),
            email_pattern: None,
            manager_email_pattern: None,
            preset: Preset::Generic,
            fixed_stage: None,
            header: None,
            quota_span: QuotaSpan::Month,
            encoding: TextEncoding::Auto,
            quota_wide: false,
            year: None,
        }
    }

    fn settings(search: usize) -> Settings {
        let stages = [("won", StageClass::Won), ("cancelled", StageClass::Cancelled), ("open", StageClass::Ignored)]
            .into_iter()
            .map(|(s, c)| (s.to_string(), c))
            .collect();
        Settings {
            date_order: DateOrder::MonthFirst,
            number_style: NumberStyle::default(),
            header_search_rows: search,
            stages,
            rating_scale: Decimal::from(5),
            time_zone: chrono_tz::UTC,
            today: None,
            limits: Limits::default(),
            fiscal: FiscalCalendar::default(),
        }
    }

    /// The same file read row by row (streamed) and as a whole sheet: `Some` parses
    /// when the file was streamed.
    fn both_ways(path: &Path, source: &Source, settings: &Settings) -> (Option<String>, String) {
        let streamed = read_streamed(path, source, settings).map(|p| p.map(|p| format!("{p:?}")));
        let wb = table::read(path, source.sheet.as_deref(), None, &settings.limits).unwrap();
        let whole = wb.sheets.iter().find_map(|g| find_header(g, source, settings).unwrap().ok().map(|h| (g, h))).map(
            |(g, h)| {
                let mut p = rows::parse_unless_guessed_wrong(g, h, source, settings);
                p.notes.splice(0..0, wb.notes.iter().cloned());
                format!("{p:?}")
            },
        );
        let streamed = match streamed {
            Ok(s) => s,
            Err(e) => Some(format!("{e}")),
        };
        (streamed, whole.unwrap_or_else(|| "no header".into()))
    }

    /// A messy export (title rows, a header on row 4, blank rows, a totals row, a bad
    /// row, a repeat, a note after the table, another table below, a second sheet whose
    /// header comes first in the workbook but does not match) read row by row gives what
    /// the whole-sheet read gives, field by field, note by note.
    #[test]
    fn a_streamed_sheet_reads_as_the_whole_sheet_does() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("messy.xlsx");
        let mut wb = rust_xlsxwriter::Workbook::new();
        let other = wb.add_worksheet().set_name("Notes").unwrap();
        other.write_string(0, 0, "Read me").unwrap();
        other.write_string(1, 0, "Owner").unwrap();
        other.write_string(1, 1, "Deal ID").unwrap();
        let ws = wb.add_worksheet().set_name("Deals").unwrap();
        ws.write_string(0, 0, "Pipeline export").unwrap();
        ws.write_string(1, 0, "Generated 2026-11-02").unwrap();
        let head = ["Deal ID", "Rep Name", "Stage", "Close Date", "Amount", "Rating"];
        for (c, h) in head.iter().enumerate() {
            ws.write_string(3, c as u16, *h).unwrap();
        }
        let rows: [[&str; 6]; 8] = [
            ["D1", "Ann Lee", "Won", "2026-10-03", "1000", "5"],
            ["D2", "Bo Kim", "Won", "2026-10-04", "2,500.50", ""],
            ["D3", "Ann Lee", "Won", "2026-10-05", "abc", "4"],
            ["D1", "Ann Lee", "Won", "2026-10-03", "1000", "5"],
            ["D4", "Bo Kim", "Cancelled", "2026-10-09", "300", ""],
            ["Total", "", "", "", "4800.5", ""],
            ["D5", "Cy Ng", "Open", "", "", ""],
            ["D2", "Bo Kim", "Won", "2026-10-04", "2600", ""],
        ];
        let mut r = 4;
        for (i, row) in rows.iter().enumerate() {
            if i == 2 {
                r += 1; // a blank row inside the table
            }
            for (c, v) in row.iter().enumerate() {
                if !v.is_empty() {
                    ws.write_string(r, c as u16, *v).unwrap();
                }
            }
            r += 1;
        }
        ws.write_string(r, 0, "Source: CRM, figures before returns").unwrap();
        ws.write_string(r + 2, 0, "Deal ID").unwrap();
        ws.write_string(r + 2, 1, "Stage").unwrap();
        ws.write_string(r + 3, 0, "X9").unwrap();
        wb.save(&path).unwrap();
        let source = deals_source(None);
        let (streamed, whole) = both_ways(&path, &source, &settings(30));
        let streamed = streamed.expect("an .xlsx without merged blocks is streamed");
        assert_eq!(streamed, whole);
        // The checks that the comparison is not of two empty results.
        for want in [
            "header_row: 4",
            "skipped totals row 11",
            "rows 16 to 17 were not read: another table starts at row 16",
            "skipped row 14 after the table (a note, not data): 'Source: CRM, figures before returns'",
            "row 9 repeats an earlier row exactly",
            "Deal ID D2 (sale) for name 'Bo Kim' appears on rows 6 and 13 with different values",
            "raw: \"abc\"",
        ] {
            assert!(streamed.contains(want), "{want} in {streamed}");
        }
        // A header further down than the rows searched is found by neither.
        let (streamed, whole) = both_ways(&path, &source, &settings(2));
        assert_eq!(whole, "no header");
        assert!(streamed.unwrap().contains("no header row found in the first 2 rows"));
        // One configured sheet: the other is never read.
        let (streamed, whole) = both_ways(&path, &deals_source(Some("Deals")), &settings(30));
        assert_eq!(streamed.unwrap(), whole);
    }

    /// A column guessed by its default name whose every value is bad ("Rating" holding
    /// words) is dropped and the rows read again: the streamed read hands that file to the
    /// whole-sheet read, which gives the note.
    #[test]
    fn a_wrong_guess_is_read_again_whole_and_merged_blocks_are_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("guess.xlsx");
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        for (c, h) in ["Deal ID", "Rep Name", "Stage", "Close Date", "Amount", "Rating"].iter().enumerate() {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        for (r, rating) in [(1, "good"), (2, "fine")] {
            for (c, v) in
                [format!("D{r}"), "Ann Lee".into(), "Won".into(), "2026-10-03".into(), "10".into(), rating.into()]
                    .iter()
                    .enumerate()
            {
                ws.write_string(r, c as u16, v).unwrap();
            }
        }
        wb.save(&path).unwrap();
        let source = deals_source(None);
        assert!(read_streamed(&path, &source, &settings(30)).unwrap().is_none());
        let parsed = read_file(&path, &source, &settings(30)).unwrap();
        assert_eq!(parsed.records.len(), 2);
        assert!(
            parsed.notes[0].starts_with("column F 'Rating' matches rating by its default name"),
            "{:?}",
            parsed.notes
        );

        let merged = dir.path().join("merged.xlsx");
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.merge_range(0, 0, 0, 1, "Deal ID", &rust_xlsxwriter::Format::new()).unwrap();
        wb.save(&merged).unwrap();
        assert!(read_streamed(&merged, &source, &settings(30)).unwrap().is_none());
    }

    /// A sheet whose rows are written out of order (row 3 before row 2: Excel never
    /// does, other tools may) is read whole, in row order, as before streaming.
    #[test]
    fn rows_out_of_order_are_read_whole_in_row_order() {
        use std::io::{Read as _, Write as _};
        let dir = tempfile::tempdir().unwrap();
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        let rows = [
            ["Deal ID", "Rep Name", "Stage", "Close Date", "Amount"],
            ["D1", "Ann Lee", "Won", "2026-10-03", "10"],
            ["D2", "Bo Kim", "Won", "2026-10-04", "20"],
        ];
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                ws.write_string(r as u32, c as u16, *v).unwrap();
            }
        }
        let bytes = wb.save_to_buffer().unwrap();
        // Move <row r="3"> before <row r="2"> in the sheet's XML.
        let mut src = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for i in 0..src.len() {
            let mut f = src.by_index(i).unwrap();
            let name = f.name().unwrap().to_string();
            let mut text = String::new();
            f.read_to_string(&mut text).unwrap();
            if name.ends_with("sheet1.xml") {
                let (a, b) = (text.find("<row r=\"2\"").unwrap(), text.find("<row r=\"3\"").unwrap());
                let end = text.find("</sheetData>").unwrap();
                text = format!("{}{}{}{}", &text[..a], &text[b..end], &text[a..b], &text[end..]);
            }
            out.start_file(name.as_str(), zip::write::SimpleFileOptions::default()).unwrap();
            out.write_all(text.as_bytes()).unwrap();
        }
        let path = dir.path().join("swapped.xlsx");
        std::fs::write(&path, out.finish().unwrap().into_inner()).unwrap();
        let source = deals_source(None);
        assert!(read_streamed(&path, &source, &settings(30)).unwrap().is_none(), "handed to the whole-sheet read");
        let parsed = read_file(&path, &source, &settings(30)).unwrap();
        let Records::Deals(deals) = &parsed.records else { panic!("deals") };
        let got: Vec<(&str, u32)> = deals.iter().map(|d| (d.deal_id.as_str(), d.origin.row)).collect();
        assert_eq!(got, [("D1", 2), ("D2", 3)]);
    }

    #[test]
    fn quotas_for_a_quarter_or_year_are_spread_to_the_cent() {
        let thirds = even_percents(3);
        assert_eq!(thirds.iter().sum::<Decimal>(), Decimal::ONE_HUNDRED);
        assert_eq!(spread(dec("28000"), &thirds), [dec("9333.33"), dec("9333.33"), dec("9333.34")]);
        assert_eq!(spread(dec("100"), &[dec("50"), dec("30"), dec("20")]), [dec("50"), dec("30"), dec("20")]);
        let twelfths = even_percents(12);
        let parts = spread(dec("1000000"), &twelfths);
        assert_eq!(parts.iter().sum::<Decimal>(), dec("1000000"));
        assert_eq!(parts[0], dec("83333.33"));
        assert_eq!(parts[11], dec("83333.37"));
        // A date anywhere in a quarter names that quarter (AdventureWorks dates its
        // quarterly quotas on days such as 2011-05-31 and 2012-02-29).
        let q = QuotaSpan::Quarter(thirds);
        let cal = FiscalCalendar::default();
        let at = |q: &QuotaSpan, y, m, f| -> Vec<String> {
            q.months(Period::new(y, m).unwrap(), f).iter().map(|(m, _)| m.to_string()).collect()
        };
        assert_eq!(at(&q, 2011, 5, cal), ["2011-04", "2011-05", "2011-06"]);
        assert_eq!(at(&q, 2012, 2, cal), ["2012-01", "2012-02", "2012-03"]);
        let y = QuotaSpan::Year(twelfths);
        assert_eq!(y.months(Period::new(2026, 7).unwrap(), cal)[11].0.to_string(), "2026-12");
        // A fiscal year starting in April: quarters are Apr–Jun, Jul–Sep, Oct–Dec, Jan–Mar.
        let april = FiscalCalendar { start_month: 4, named_by: crate::domain::FyNamedBy::End };
        assert_eq!(at(&q, 2012, 2, april), ["2012-01", "2012-02", "2012-03"]);
        assert_eq!(at(&q, 2011, 5, april), ["2011-04", "2011-05", "2011-06"]);
        assert_eq!(at(&q, 2026, 11, april), ["2026-10", "2026-11", "2026-12"]);
        let months = at(&y, 2027, 2, april);
        assert_eq!((months[0].as_str(), months[11].as_str()), ("2026-04", "2027-03"));
    }
}
