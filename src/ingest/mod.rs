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

mod fields;
mod table;
pub mod values;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fmt::Write as _;
use std::path::Path;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

pub use fields::{ColumnMap, FieldSpec, Preset, SourceKind, norm_header};
pub use table::{Cell, Limits, column_letter};
use table::{Grid, GridRow};
pub use values::{DateOrder, NumberStyle};

use crate::domain::{DealRow, Period, QuotaRow, RepRef, RosterRep, RowOrigin, StageClass, fold_name};

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
    /// per rep and month. See [`MonthHead`].
    pub quota_wide: bool,
}

/// A month column of a wide quotas file: its header names a month with its year
/// ("Jan 2026", "2026-01", a date cell) or without ("Jan", "January", "Jan %"; the
/// year then comes from the row's `year` column). Without a `revenue_quota` column each
/// cell is that month's quota; with one (an annual quota), each cell is the percent of
/// it for that month, and a rep's percentages must add up to 100 (fractions adding up
/// to 1, as percent-formatted cells store them, are read as percents).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonthHead {
    /// A month with its year.
    Dated(Period),
    /// A month number 1-12, year from the row.
    Named(u32),
}

/// The month a wide quotas header cell names, if any.
fn month_head(cell: &Cell, epoch_1904: bool, settings: &Settings) -> Option<MonthHead> {
    let text = match cell {
        Cell::Text(s) => s.trim().trim_end_matches('%').trim().to_string(),
        Cell::DateTime(_) => String::new(),
        _ => return None,
    };
    if matches!(cell, Cell::DateTime(_)) || text.chars().any(|c| c.is_ascii_digit()) {
        let c = if text.is_empty() { cell.clone() } else { Cell::Text(text) };
        return values::month(&c, epoch_1904, settings.date_order, settings.time_zone).ok().map(MonthHead::Dated);
    }
    values::month_of_year(&Cell::Text(text), 2000).ok().map(|p| MonthHead::Named(p.month()))
}

/// The text encoding of a source's CSV/TSV/TXT files (config `sources.NAME.encoding`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
pub enum TextEncoding {
    /// UTF-8 with or without a BOM, else Windows-1252 (said in a note).
    #[default]
    #[serde(rename = "auto")]
    Auto,
    /// UTF-8 (a BOM is skipped); an invalid byte makes the file unreadable.
    #[serde(rename = "utf-8")]
    Utf8,
    /// Windows-1252, always.
    #[serde(rename = "windows-1252")]
    Windows1252,
}

/// What one row of a quotas file covers (config `quota_period` and `distribution`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuotaSpan {
    /// One month (the default).
    Month,
    /// The calendar quarter that holds the row's month (a date on 2011-05-31 names
    /// April–June 2011), spread over its three months by these percentages (summing to 100).
    Quarter(Vec<Decimal>),
    /// The calendar year of the row's month, spread over its twelve months by these
    /// percentages (summing to 100).
    Year(Vec<Decimal>),
}

impl QuotaSpan {
    /// The months a quota dated in `month` covers, with each month's percentage.
    pub fn months(&self, month: Period) -> Vec<(Period, Decimal)> {
        let (first, pcts) = match self {
            QuotaSpan::Month => return vec![(month, Decimal::ONE_HUNDRED)],
            QuotaSpan::Quarter(p) => (Period::new(month.year(), (month.month() - 1) / 3 * 3 + 1), p),
            QuotaSpan::Year(p) => (Period::new(month.year(), 1), p),
        };
        let mut m = first.unwrap_or(month);
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
    /// Data rows seen below the header (blank, totals and exact-duplicate rows excluded).
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
    };
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
        let header = Header { first_data: 0, excel_row: 0, col, names, notes: Vec::new(), months: Vec::new() };
        let mut parsed = parse_rows(grid, &header, source, settings);
        parsed.notes.splice(0..0, wb.notes.iter().cloned());
        return Ok(parsed);
    }
    let mut best: Option<Miss> = None;
    for grid in &wb.sheets {
        match find_header(grid, source, settings)? {
            Ok(header) => {
                let mut parsed = parse_rows(grid, &header, source, settings);
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
            let wher = if wb.sheets.len() > 1 { "no sheet has a row that names" } else { "no row names" };
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
    Err(IngestError::NoHeader { searched: settings.header_search_rows, detail })
}

/// Why a sheet has no usable header: its best candidate row, what that row matched and
/// what it lacks (with the accepted header names).
struct Miss {
    sheet: String,
    row: u32,
    matched: Vec<&'static str>,
    missing: Vec<String>,
}

/// The header: its row and the column of each mapped field.
struct Header {
    /// Index in the grid's rows of the first data row.
    first_data: usize,
    excel_row: u32,
    col: BTreeMap<&'static str, usize>,
    names: BTreeMap<&'static str, String>,
    /// Columns that also matched a field whose column was taken from a higher-priority name.
    notes: Vec<String>,
    /// Wide quotas: each month column, its month and its label ("C 'Jan 2026'").
    months: Vec<(usize, MonthHead, String)>,
}

impl Header {
    /// "C 'Close Date'", or for a headerless file "C (close_date)".
    fn label(&self, field: &str) -> String {
        match (self.col.get(field), self.names.get(field)) {
            (Some(c), Some(n)) if self.excel_row == 0 => format!("{} ({n})", column_letter(*c)),
            (Some(c), Some(n)) => format!("{} '{}'", column_letter(*c), n),
            _ => field.to_string(),
        }
    }
}

fn sheet_label(sheet: &str) -> String {
    if sheet.is_empty() { String::new() } else { format!("sheet '{sheet}', ") }
}

/// Scans the first rows for the one that matches the most mapped fields. `Ok(Err(miss))`
/// when this sheet has no usable header (another sheet may).
fn find_header(grid: &Grid, source: &Source, settings: &Settings) -> Result<Result<Header, Miss>, IngestError> {
    let search = settings.header_search_rows;
    let months_of = |row: &GridRow| -> Vec<(usize, MonthHead, String)> {
        if !source.quota_wide {
            return Vec::new();
        }
        row.cells
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                month_head(c, grid.epoch_1904, settings).map(|m| (i, m, format!("{} '{}'", column_letter(i), c.raw())))
            })
            .collect()
    };
    let kind = source.kind;
    let wanted: Vec<(&'static str, Vec<String>)> =
        source.columns.fields.iter().map(|(f, names)| (*f, names.iter().map(|n| norm_header(n)).collect())).collect();
    let mut best: Option<(usize, usize)> = None; // (row index, score)
    for (i, row) in grid.rows.iter().take(search).enumerate() {
        let normed: Vec<String> =
            row.cells.iter().map(|c| if let Cell::Text(s) = c { norm_header(s) } else { String::new() }).collect();
        let score =
            wanted.iter().filter(|(_, names)| names.iter().any(|n| normed.contains(n))).count() + months_of(row).len();
        if score > 0 && best.is_none_or(|(_, s)| score > s) {
            best = Some((i, score));
        }
    }
    let Some((idx, _)) = best else {
        return Ok(Err(Miss { sheet: grid.sheet.clone(), row: 0, matched: vec![], missing: vec![] }));
    };
    let row = &grid.rows[idx];
    let mut col = BTreeMap::new();
    let mut names = BTreeMap::new();
    let mut notes = Vec::new();
    for (field, aliases) in &wanted {
        // The first alias (in priority order) that some column carries wins.
        for alias in aliases {
            let hits: Vec<usize> = row
                .cells
                .iter()
                .enumerate()
                .filter(|(_, c)| matches!(c, Cell::Text(s) if norm_header(s) == *alias))
                // A merged header cell is one column, however many it spans.
                .filter(|(i, _)| !grid.is_merge_copy(row.excel_row, *i))
                .map(|(i, _)| i)
                .collect();
            if hits.len() > 1 {
                return Err(IngestError::AmbiguousColumn {
                    sheet_label: sheet_label(&grid.sheet),
                    row: row.excel_row,
                    field: field.to_string(),
                    first: format!("{} '{}'", column_letter(hits[0]), row.get(hits[0]).raw()),
                    second: format!("{} '{}'", column_letter(hits[1]), row.get(hits[1]).raw()),
                    source_name: source.name.clone(),
                });
            }
            if let Some(&c) = hits.first() {
                if let Some(&taken) = col.get(field) {
                    if taken == c {
                        continue;
                    }
                    notes.push(format!(
                        "column {} '{}' also matches {field}; using {} '{}' (sources.{}.columns.{field} decides)",
                        column_letter(c),
                        row.get(c).raw(),
                        column_letter(taken),
                        row.get(taken).raw(),
                        source.name
                    ));
                } else {
                    col.insert(*field, c);
                    names.insert(*field, row.get(c).raw());
                }
            }
        }
    }
    let mut missing: Vec<String> = kind
        .fields()
        .iter()
        .filter(|f| f.required && !col.contains_key(f.name))
        .filter(|f| !(f.name == "stage" && source.fixed_stage.is_some()))
        .filter(|f| !(f.name == "rep_name" && kind == SourceKind::Roster && col.contains_key("rep_id")))
        .filter(|f| !(source.quota_wide && matches!(f.name, "month" | "revenue_quota")))
        .map(|f| format!("{} ({})", f.name, source.columns.fields[f.name].join(" / ")))
        .collect();
    let months = months_of(row);
    if source.quota_wide && months.is_empty() {
        missing.push("month columns (headers such as Jan 2026, 2026-01, or Jan with a year column)".into());
    }
    if months.iter().any(|(_, m, _)| matches!(m, MonthHead::Named(_))) && !col.contains_key("year") {
        missing.push(format!(
            "year ({}), as the month columns name no year",
            source.columns.fields.get("year").map(|v| v.join(" / ")).unwrap_or_default()
        ));
    }
    if !["rep_id", "rep_email", "rep_name"].iter().any(|f| col.contains_key(f)) {
        missing.push("one of rep_id / rep_email / rep_name".into());
    }
    if !missing.is_empty() {
        return Ok(Err(Miss {
            sheet: grid.sheet.clone(),
            row: row.excel_row,
            matched: col.keys().copied().collect(),
            missing,
        }));
    }
    Ok(Ok(Header { first_data: idx + 1, excel_row: row.excel_row, col, names, notes, months }))
}

/// Whether a row is a totals row: its first non-blank cell, or its deal id / rep cell,
/// reads "Total", "Totals", "Grand Total", "Subtotal" or "Sum" (optionally followed by
/// more words, e.g. "Total March").
fn is_totals_row(row: &GridRow, header: &Header) -> bool {
    let is_total = |c: &Cell| {
        let Cell::Text(s) = c else { return false };
        let first = fold_name(s);
        let first = first.trim_end_matches(':');
        ["total", "totals", "grand total", "subtotal", "sum"]
            .iter()
            .any(|t| first == *t || first.starts_with(&format!("{t} ")))
    };
    let first = row.cells.iter().find(|c| !c.is_blank());
    first.is_some_and(is_total)
        || ["deal_id", "rep_name", "rep_id"].iter().filter_map(|f| header.col.get(f)).any(|&c| is_total(row.get(c)))
}

/// Field access for one data row, collecting rejects.
struct RowCtx<'a> {
    row: &'a GridRow,
    header: &'a Header,
    sheet: &'a str,
    epoch_1904: bool,
    rejects: Vec<Reject>,
}

impl<'a> RowCtx<'a> {
    fn cell(&self, field: &str) -> &'a Cell {
        match self.header.col.get(field) {
            Some(&c) => self.row.get(c),
            None => &Cell::Empty,
        }
    }

    /// Rejects the row for the cell in column `col` (labelled "C 'Jan 2026'").
    fn reject_at(&mut self, col: usize, label: &str, reason: String) {
        self.rejects.push(Reject {
            sheet: self.sheet.to_string(),
            row: self.row.excel_row,
            column: label.to_string(),
            raw: self.row.get(col).raw(),
            reason,
        });
    }

    fn reject(&mut self, field: &str, reason: impl Into<String>) {
        let column = if self.header.col.contains_key(field) { self.header.label(field) } else { String::new() };
        self.rejects.push(Reject {
            sheet: self.sheet.to_string(),
            row: self.row.excel_row,
            column,
            raw: self.cell(field).raw(),
            reason: reason.into(),
        });
    }

    /// Trimmed text of a field; blank -> None. Error cells are rejected.
    fn text(&mut self, field: &str) -> Option<String> {
        let cell = self.cell(field);
        if let Cell::Error(e) = cell {
            self.reject(field, error_cell_reason(e));
            return None;
        }
        let raw = cell.raw();
        (!raw.is_empty()).then_some(raw)
    }

    /// Parses a non-blank field with `parse`; blank -> Ok(None); bad -> reject.
    fn parse<T>(&mut self, field: &str, parse: impl FnOnce(&Cell) -> Result<T, String>) -> Option<T> {
        let cell = self.cell(field);
        if cell.is_blank() {
            return None;
        }
        if let Cell::Error(e) = cell {
            self.reject(field, error_cell_reason(e));
            return None;
        }
        match parse(cell) {
            Ok(v) => Some(v),
            Err(why) => {
                self.reject(field, why);
                None
            }
        }
    }

    fn required<T>(&mut self, field: &str, what: &str, v: Option<T>) -> Option<T> {
        if v.is_none() && self.cell(field).is_blank() {
            self.reject(field, format!("{what} is required here"));
        }
        v
    }

    fn email(&mut self, field: &str) -> Option<String> {
        let e = self.text(field)?.to_lowercase();
        if valid_email(&e) {
            Some(e)
        } else {
            self.reject(field, "expected an e-mail address such as jose.nunez@example.com");
            None
        }
    }

    fn rep(&mut self) -> RepRef {
        RepRef {
            id: self.text("rep_id"),
            email: self.email("rep_email"),
            name: self.text("rep_name").map(|n| n.split_whitespace().collect::<Vec<_>>().join(" ")),
        }
    }
}

/// Why a row with a spreadsheet error cell (a failed formula's cached result) is rejected.
fn error_cell_reason(e: &str) -> String {
    format!("the cell holds the spreadsheet error {e} (a formula that failed): fix it in the source and export again")
}

/// A light e-mail check: one `@`, something on each side, a dot in the domain, no spaces.
fn valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !e.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | '"'))
}

fn parse_rows(grid: &Grid, header: &Header, source: &Source, settings: &Settings) -> Parsed {
    let mut rejects = Vec::new();
    let mut notes = header.notes.clone();
    let mut data_rows = 0;
    let mut deals = Vec::new();
    let mut quotas = Vec::new();
    let mut roster = Vec::new();
    let mut totals = Vec::new();
    let first_data = header.first_data.min(grid.rows.len());
    let end = table_end(grid, first_data, first_data.checked_sub(1).and_then(|i| grid.rows.get(i)), source);
    if end < grid.rows.len() {
        let (first, last) = (grid.rows[end].excel_row, grid.rows[grid.rows.len() - 1].excel_row);
        notes.push(format!(
            "{}rows {first} to {last} were not read: another table starts at row {first} (one table is read per sheet: the first whose header matches)",
            sheet_label(&grid.sheet)
        ));
    }
    let mut outside = Vec::new();
    for row in &grid.rows[first_data..end] {
        if row.cells.iter().all(Cell::is_blank) {
            continue;
        }
        // A row with values only outside the mapped columns belongs to a table beside this one.
        if header.col.values().all(|&c| row.get(c).is_blank()) {
            outside.push(row.excel_row);
            continue;
        }
        if is_totals_row(row, header) {
            totals.push(row.excel_row);
            continue;
        }
        let mut ctx = RowCtx { row, header, sheet: &grid.sheet, epoch_1904: grid.epoch_1904, rejects: Vec::new() };
        let origin = RowOrigin { sheet: grid.sheet.clone(), row: row.excel_row };
        match source.kind {
            SourceKind::Deals => deals.extend(parse_deal(&mut ctx, source, settings, origin)),
            SourceKind::Summary => deals.extend(parse_summary(&mut ctx, settings, origin)),
            SourceKind::Quotas => quotas.extend(parse_quota(&mut ctx, source, settings, origin)),
            SourceKind::Roster => roster.extend(parse_roster(&mut ctx, source, settings, origin)),
        }
        data_rows += 1;
        // A row with several bad cells is one rejected row with several reasons.
        rejects.extend(ctx.rejects);
    }
    if !outside.is_empty() {
        notes.push(format!(
            "skipped row{} {}: nothing in the mapped columns (a table beside this one?)",
            if outside.len() == 1 { "" } else { "s" },
            join(&outside)
        ));
    }
    if !totals.is_empty() {
        notes.push(format!("skipped totals row{} {}", if totals.len() == 1 { "" } else { "s" }, join(&totals)));
    }
    let records = match source.kind {
        SourceKind::Summary => Records::Deals(add_up_summary(deals, &mut notes)),
        SourceKind::Deals => Records::Deals(apply_splits(
            dedupe(
                deals,
                |d| format!("Deal ID {} ({}) for {}", d.deal_id, d.event().as_str(), d.rep.describe()),
                |d| d.origin.row,
                |a, b| DealRow { origin: b.origin.clone(), ..a.clone() } == *b,
                &mut notes,
            ),
            header,
            &grid.sheet,
            &mut rejects,
            &mut notes,
        )),
        SourceKind::Quotas => Records::Quotas(dedupe(
            quotas,
            |q| format!("the {} quota of {}", q.month, q.rep.describe()),
            |q| q.origin.row,
            |a, b| QuotaRow { origin: b.origin.clone(), ..a.clone() } == *b,
            &mut notes,
        )),
        SourceKind::Roster => Records::Roster(dedupe(
            roster,
            |r| format!("roster entry {}", r.key()),
            |r| r.origin.row,
            |a, b| RosterRep { origin: b.origin.clone(), ..a.clone() } == *b,
            &mut notes,
        )),
    };
    let columns = header.col.keys().map(|f| (f.to_string(), header.label(f))).collect();
    Parsed { sheet: grid.sheet.clone(), header_row: header.excel_row, data_rows, records, rejects, notes, columns }
}

/// Index in `grid.rows` where the header's table ends: the first row after a blank row
/// that looks like another table's header (two or more cells, all text, at least half
/// of them names in this header or header names mapped for the source, so a data row
/// that merely holds a word such as "Active" is not one); else the end of the sheet.
///
/// `first_data` is the index of the first data row; `header_row` the header's row (none
/// for a headerless file).
fn table_end(grid: &Grid, first_data: usize, header_row: Option<&GridRow>, source: &Source) -> usize {
    let mut known: Vec<String> = header_row
        .into_iter()
        .flat_map(|r| &r.cells)
        .filter_map(|c| if let Cell::Text(t) = c { Some(norm_header(t)) } else { None })
        .collect();
    known.extend(source.columns.fields.values().flatten().map(|n| norm_header(n)));
    known.retain(|n| !n.is_empty());
    let mut prev = header_row.map_or(0, |r| r.excel_row);
    for (i, row) in grid.rows.iter().enumerate().skip(first_data) {
        let blank = row.cells.iter().all(Cell::is_blank);
        let after_gap = row.excel_row > prev + 1;
        if !blank {
            prev = row.excel_row;
        }
        if blank || !after_gap {
            continue;
        }
        let filled: Vec<&Cell> = row.cells.iter().filter(|c| !c.is_blank()).collect();
        let texts = filled.iter().all(|c| matches!(c, Cell::Text(_)));
        let names = filled.iter().filter(|c| matches!(c, Cell::Text(t) if known.contains(&norm_header(t)))).count();
        if filled.len() >= 2 && texts && names > 0 && names * 2 >= filled.len() {
            return i;
        }
    }
    grid.rows.len()
}

fn join(rows: &[u32]) -> String {
    rows.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

/// Collapses rows with the same key within one file. An exact repeat (same values on
/// another row) is counted once; a conflicting repeat keeps the later row, in the
/// earlier row's place, and says so.
fn dedupe<T: Clone>(
    rows: Vec<T>,
    key: impl Fn(&T) -> String,
    row_of: impl Fn(&T) -> u32,
    same: impl Fn(&T, &T) -> bool,
    notes: &mut Vec<String>,
) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(rows.len());
    let mut at: HashMap<String, usize> = HashMap::with_capacity(rows.len());
    let mut exact = Vec::new();
    for r in rows {
        let k = key(&r);
        match at.get(&k) {
            Some(&i) if same(&out[i], &r) => exact.push(row_of(&r)),
            Some(&i) => {
                notes.push(format!(
                    "{k} appears on rows {} and {} with different values; the later row {} is used",
                    row_of(&out[i]),
                    row_of(&r),
                    row_of(&r)
                ));
                out[i] = r;
            }
            None => {
                at.insert(k, out.len());
                out.push(r);
            }
        }
    }
    if !exact.is_empty() {
        let (rows, verb) = if exact.len() == 1 {
            ("row", "repeats an earlier row exactly and was")
        } else {
            ("rows", "repeat earlier rows exactly and were")
        };
        notes.push(format!("{rows} {} {verb} counted once", join(&exact)));
    }
    out
}

/// Credit splits (DESIGN.md "Metrics": Credit). Rows of one (Deal ID, event) with
/// several reps share the deal: with a split column their splits must add up to 100%
/// (else every row of that deal is rejected); without one, rows that repeat the same
/// amount are credited 1/n each, and rows with different amounts are taken as each
/// agent's own credit. Either way no agent is credited the whole deal twice over.
fn apply_splits(
    mut deals: Vec<DealRow>,
    header: &Header,
    sheet: &str,
    rejects: &mut Vec<Reject>,
    notes: &mut Vec<String>,
) -> Vec<DealRow> {
    let has_split = header.col.contains_key("split");
    let mut groups: BTreeMap<(String, &'static str), Vec<usize>> = BTreeMap::new();
    for (i, d) in deals.iter().enumerate() {
        groups.entry((d.deal_id.clone(), d.event().as_str())).or_default().push(i);
    }
    let mut drop = vec![false; deals.len()];
    let (mut evened, mut own) = (Vec::new(), Vec::new());
    for ((id, event), idx) in groups.into_iter().filter(|(_, v)| v.len() > 1) {
        if has_split {
            let total: Decimal = idx.iter().map(|&i| deals[i].share).sum();
            if (total - Decimal::ONE).abs() > Decimal::new(1, 4) {
                for &i in &idx {
                    drop[i] = true;
                    rejects.push(Reject {
                        sheet: sheet.to_string(),
                        row: deals[i].origin.row,
                        column: header.label("split"),
                        raw: format!("{}%", (deals[i].share * Decimal::ONE_HUNDRED).normalize()),
                        reason: format!(
                            "the splits of Deal ID {id} ({event}) add up to {}%; they must add up to 100%",
                            (total * Decimal::ONE_HUNDRED).normalize()
                        ),
                    });
                }
            }
        } else if idx.iter().all(|&i| deals[i].amount == deals[idx[0]].amount) {
            let share = Decimal::ONE / Decimal::from(idx.len());
            idx.iter().for_each(|&i| deals[i].share = share);
            evened.push(id);
        } else {
            own.push(id);
        }
    }
    if !evened.is_empty() {
        notes.push(format!(
            "{} deal(s) list several agents with the same amount and there is no split column: each agent is credited an equal share (Deal ID {})",
            evened.len(),
            evened.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    if !own.is_empty() {
        notes.push(format!(
            "{} deal(s) list several agents with different amounts and there is no split column: each row's amount is taken as that agent's credit (Deal ID {})",
            own.len(),
            own.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    let mut keep = drop.iter().map(|d| !d);
    deals.retain(|_| keep.next().unwrap_or(true));
    deals
}

fn parse_deal(ctx: &mut RowCtx, source: &Source, settings: &Settings, origin: RowOrigin) -> Option<DealRow> {
    let deal_id = ctx.text("deal_id");
    let deal_id = ctx.required("deal_id", "a Deal ID", deal_id);
    let rep = ctx.rep();
    if rep.id.is_none() && rep.email.is_none() && rep.name.is_none() && ctx.rejects.is_empty() {
        let f = ["rep_name", "rep_email", "rep_id"]
            .into_iter()
            .find(|f| ctx.header.col.contains_key(f))
            .unwrap_or("rep_name");
        ctx.reject(f, "the rep is required here");
    }
    let stage = ctx.text("stage").or_else(|| source.fixed_stage.clone());
    let stage = ctx.required("stage", "a Stage", stage);
    let class = match stage.as_deref().map(|s| (s, settings.stage_class(s))) {
        Some((_, Some(c))) => Some(c),
        Some((s, None)) => {
            ctx.reject("stage", format!("stage '{s}' is in none of stages.won, stages.cancelled, stages.ignored"));
            None
        }
        None => None,
    };
    let counts = matches!(class, Some(StageClass::Won | StageClass::Cancelled));
    let (order, style, epoch, tz) = (settings.date_order, settings.number_style, ctx.epoch_1904, settings.time_zone);
    // Open and lost deals count nowhere: their dates and amounts are read if valid, never
    // a reason to reject the row.
    let close_date = if counts {
        let today = settings.today;
        let d = ctx.parse("close_date", |c| {
            let d = values::date(c, epoch, order, tz)?;
            match today {
                Some(t) if d > t + chrono::Duration::days(1) => {
                    Err(format!("{d} is in the future (today is {t}): a won or cancelled deal cannot close after it"))
                }
                _ => Ok(d),
            }
        });
        ctx.required("close_date", "a close date", d)
    } else {
        values::date(ctx.cell("close_date"), epoch, order, tz).ok()
    };
    let amount = if counts {
        let a = ctx.parse("amount", |c| values::money(c, style));
        ctx.required("amount", "an amount", a)
    } else {
        values::money(ctx.cell("amount"), style).ok()
    };
    let units = ctx.parse("units", |c| values::number(c, style));
    let scale = settings.rating_scale;
    let rating = ctx.parse("rating", |c| {
        let r = values::number(c, style)?;
        if r > Decimal::ZERO && r <= scale {
            Ok(r)
        } else {
            Err(format!("expected a rating from 1 to {scale} (ingest.rating_scale)"))
        }
    });
    let paperwork_complete = ctx.parse("paperwork_complete", values::flag);
    let paperwork_errors = ctx.parse("paperwork_errors", values::count);
    let share = ctx.parse("split", |c| values::split(c, style)).unwrap_or(Decimal::ONE);
    let team = ctx.text("team");
    if !ctx.rejects.is_empty() {
        return None;
    }
    Some(DealRow {
        deal_id: deal_id?,
        stage: stage?,
        class: class?,
        rep,
        team,
        close_date,
        amount,
        units,
        rating,
        paperwork_complete,
        paperwork_errors,
        share,
        origin,
    })
}

fn parse_quota(ctx: &mut RowCtx, source: &Source, settings: &Settings, origin: RowOrigin) -> Vec<QuotaRow> {
    if source.quota_wide {
        return parse_quota_wide(ctx, settings, origin);
    }
    let rep = ctx.rep();
    if rep.key().is_empty() && ctx.rejects.is_empty() {
        let f = ["rep_email", "rep_id", "rep_name"]
            .into_iter()
            .find(|f| ctx.header.col.contains_key(f))
            .unwrap_or("rep_email");
        ctx.reject(f, "the rep is required here");
    }
    let (order, style, epoch, tz) = (settings.date_order, settings.number_style, ctx.epoch_1904, settings.time_zone);
    // With a year column, the month column may hold a month name or number ("March", 3).
    let year = if ctx.header.col.contains_key("year") { Some(row_year(ctx, style)) } else { None };
    // An annual quota may name its year alone: "2026" (text or a number cell).
    let yearly = matches!(source.quota_span, QuotaSpan::Year(_));
    let month = if year == Some(None) {
        None // the year cell was rejected
    } else {
        ctx.parse("month", |c| {
            if let Some(Some(y)) = year {
                return values::month_of_year(c, y);
            }
            values::month(c, epoch, order, tz).or_else(|e| {
                let year = match c {
                    Cell::Text(s) => s.trim().parse::<i32>().ok(),
                    Cell::Number(n) if n.fract() == 0.0 => Some(*n as i32),
                    _ => None,
                };
                match year.filter(|y| yearly && (1900..=2100).contains(y)).and_then(|y| Period::new(y, 1)) {
                    Some(p) => Ok(p),
                    None if yearly => Err(format!("{e}, or a year such as 2026 (quota_period = \"year\")")),
                    None => Err(e),
                }
            })
        })
    };
    let month = ctx.required("month", "a month", month);
    // A blank revenue quota means "no quota" (zero): listed, never ranked on attainment.
    let revenue = ctx.parse("revenue_quota", |c| values::money(c, style)).unwrap_or(Decimal::ZERO);
    let units = ctx.parse("units_quota", |c| values::number(c, style));
    if revenue.is_sign_negative() {
        ctx.reject("revenue_quota", "a quota cannot be negative");
    }
    let (Some(month), true) = (month, ctx.rejects.is_empty()) else { return Vec::new() };
    let spans = source.quota_span.months(month);
    let pcts: Vec<Decimal> = spans.iter().map(|(_, p)| *p).collect();
    let revenues = spread(revenue, &pcts);
    let units = units.map(|u| spread(u, &pcts));
    spans
        .iter()
        .enumerate()
        .map(|(i, (m, _))| QuotaRow {
            rep: rep.clone(),
            month: *m,
            revenue: revenues[i],
            units: units.as_ref().map(|u| u[i]),
            origin: origin.clone(),
        })
        .collect()
}

/// The row's `year` cell (required when the column is mapped); `None` when unmapped,
/// blank or bad (then rejected).
fn row_year(ctx: &mut RowCtx, style: NumberStyle) -> Option<i32> {
    if !ctx.header.col.contains_key("year") {
        return None;
    }
    let y = ctx.parse("year", |c| {
        values::number(c, style)
            .ok()
            .filter(|y| y.fract().is_zero())
            .and_then(|y| y.to_i32())
            .filter(|y| (1900..=2100).contains(y))
            .ok_or_else(|| "expected a year such as 2026".to_string())
    });
    ctx.required("year", "a year", y)
}

/// A wide quotas row: the rep, then a quota per month column — or an annual quota
/// (`revenue_quota`) with a percent per month column, which must add up to 100 for the
/// rep (else the row is rejected, naming the rep). See [`MonthHead`].
fn parse_quota_wide(ctx: &mut RowCtx, settings: &Settings, origin: RowOrigin) -> Vec<QuotaRow> {
    let rep = ctx.rep();
    if rep.key().is_empty() && ctx.rejects.is_empty() {
        let f = ["rep_email", "rep_id", "rep_name"]
            .into_iter()
            .find(|f| ctx.header.col.contains_key(f))
            .unwrap_or("rep_email");
        ctx.reject(f, "the rep is required here");
    }
    let style = settings.number_style;
    let year = row_year(ctx, style);
    let annual = if ctx.header.col.contains_key("revenue_quota") {
        let a = ctx.parse("revenue_quota", |c| values::money(c, style));
        Some(ctx.required("revenue_quota", "an annual quota", a))
    } else {
        None
    };
    let mut cells: Vec<(Period, Decimal)> = Vec::new();
    for (c, head, label) in ctx.header.months.clone() {
        let cell = ctx.row.get(c);
        if cell.is_blank() {
            continue;
        }
        let period = match head {
            MonthHead::Dated(p) => Some(p),
            MonthHead::Named(m) => year.and_then(|y| Period::new(y, m)),
        };
        let value = if annual.is_some() {
            match cell {
                Cell::Text(s) => values::number(&Cell::Text(s.trim().trim_end_matches('%').to_string()), style),
                c => values::number(c, style),
            }
            .map_err(|_| "expected a percent of the annual quota such as 8.5% or 8.5".to_string())
        } else {
            values::money(cell, style)
        };
        match (period, value) {
            (Some(p), Ok(v)) if !v.is_sign_negative() => cells.push((p, v)),
            (Some(_), Ok(_)) => ctx.reject_at(c, &label, "a quota cannot be negative".into()),
            (Some(_), Err(why)) => ctx.reject_at(c, &label, why),
            (None, _) => {}
        }
    }
    if !ctx.rejects.is_empty() {
        return Vec::new();
    }
    let quota = |(month, revenue): (Period, Decimal)| QuotaRow {
        rep: rep.clone(),
        month,
        revenue,
        units: None,
        origin: origin.clone(),
    };
    match annual {
        None => cells.into_iter().map(quota).collect(),
        Some(None) => Vec::new(),
        Some(Some(total)) => {
            let sum: Decimal = cells.iter().map(|(_, v)| v).sum();
            let scale = if sum == Decimal::ONE { Decimal::ONE_HUNDRED } else { Decimal::ONE };
            let pcts: Vec<Decimal> = cells.iter().map(|(_, v)| v * scale).collect();
            let pct_sum: Decimal = pcts.iter().sum();
            if pct_sum != Decimal::ONE_HUNDRED {
                ctx.reject(
                    "revenue_quota",
                    format!(
                        "the monthly percentages of {} add up to {}%; they must add up to 100%",
                        rep.describe(),
                        pct_sum.normalize()
                    ),
                );
                return Vec::new();
            }
            let parts = spread(total, &pcts);
            cells.iter().zip(parts).map(|((m, _), v)| quota((*m, v))).collect()
        }
    }
}

/// A summary row: rep, period (a date, "2026-03", "Mar 2026", or a month name or number
/// with a `year` column), revenue total and optional units total (blank = 0), as one won
/// deal dated the period's first day (Deal ID "summary PERIOD REP-KEY").
fn parse_summary(ctx: &mut RowCtx, settings: &Settings, origin: RowOrigin) -> Option<DealRow> {
    let rep = ctx.rep();
    if rep.key().is_empty() && ctx.rejects.is_empty() {
        let f = ["rep_name", "rep_email", "rep_id"]
            .into_iter()
            .find(|f| ctx.header.col.contains_key(f))
            .unwrap_or("rep_name");
        ctx.reject(f, "the rep is required here");
    }
    let (order, style, epoch, tz) = (settings.date_order, settings.number_style, ctx.epoch_1904, settings.time_zone);
    let period = if ctx.header.col.contains_key("year") {
        let year = row_year(ctx, style);
        let p = ctx.parse("period", |c| match year {
            Some(y) => values::month_of_year(c, y),
            None => Err(String::new()),
        });
        if year.is_some() { ctx.required("period", "a month", p) } else { None }
    } else {
        let p = ctx.parse("period", |c| values::month(c, epoch, order, tz));
        ctx.required("period", "a period (month)", p)
    };
    let revenue = ctx.parse("revenue", |c| values::money(c, style));
    let revenue = ctx.required("revenue", "a revenue total", revenue);
    let units = ctx.parse("units", |c| values::number(c, style));
    let team = ctx.text("team");
    if !ctx.rejects.is_empty() {
        return None;
    }
    let period = period?;
    Some(DealRow {
        deal_id: format!("summary {period} {}", rep.key()),
        stage: "Summary".into(),
        class: StageClass::Won,
        rep,
        team,
        close_date: Some(period.first_day()),
        amount: revenue,
        // A total without units is 0 units, never the "1 per deal" of a deals row.
        units: Some(units.unwrap_or(Decimal::ZERO)),
        rating: None,
        paperwork_complete: None,
        paperwork_errors: None,
        share: Decimal::ONE,
        origin,
    })
}

/// Adds up a summary's rows of one rep and period (a summary broken down by product,
/// say): one total per rep and period, at the first row's place, with a note.
fn add_up_summary(rows: Vec<DealRow>, notes: &mut Vec<String>) -> Vec<DealRow> {
    let mut out: Vec<DealRow> = Vec::with_capacity(rows.len());
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut merged = 0;
    for r in rows {
        match at.get(&r.deal_id) {
            Some(&i) => {
                let o = &mut out[i];
                o.amount = Some(o.amount.unwrap_or_default() + r.amount.unwrap_or_default());
                o.units = match (o.units, r.units) {
                    (None, None) => None,
                    (a, b) => Some(a.unwrap_or_default() + b.unwrap_or_default()),
                };
                merged += 1;
            }
            None => {
                at.insert(r.deal_id.clone(), out.len());
                out.push(r);
            }
        }
    }
    if merged > 0 {
        notes.push(format!(
            "{} summary rows added up into {} totals of one rep and month each",
            merged + out.len(),
            out.len()
        ));
    }
    out
}

fn parse_roster(ctx: &mut RowCtx, source: &Source, settings: &Settings, origin: RowOrigin) -> Option<RosterRep> {
    let id = ctx.text("rep_id");
    let name = ctx.text("rep_name").map(|n| n.split_whitespace().collect::<Vec<_>>().join(" "));
    // A roster with rep ids and no name column names each rep by the id.
    let name = if ctx.header.col.contains_key("rep_name") { name } else { id.clone() };
    let name = ctx.required("rep_name", "the rep's name", name);
    let email = ctx.email("rep_email").or_else(|| {
        let (pattern, name) = (source.email_pattern.as_deref()?, name.as_deref()?);
        Some(email_from_pattern(pattern, name))
    });
    let team = ctx.text("team");
    let manager = ctx.text("manager");
    let manager_email = ctx.email("manager_email").or_else(|| {
        let (pattern, name) = (source.manager_email_pattern.as_deref()?, manager.as_deref()?);
        Some(email_from_pattern(pattern, name))
    });
    let (order, epoch, tz) = (settings.date_order, ctx.epoch_1904, settings.time_zone);
    let hire_date = ctx.parse("hire_date", |c| values::date(c, epoch, order, tz));
    let active = ctx
        .parse("active", |c| match c {
            Cell::Text(s) if matches!(fold_name(s).as_str(), "active" | "current" | "employed") => Ok(true),
            Cell::Text(s) if matches!(fold_name(s).as_str(), "inactive" | "left" | "terminated" | "former") => {
                Ok(false)
            }
            c => values::flag(c).map_err(|_| "expected Active/Inactive or Yes/No".to_string()),
        })
        .unwrap_or(true);
    if !ctx.rejects.is_empty() {
        return None;
    }
    Some(RosterRep { id, name: name?, email, team, manager, manager_email, hire_date, active, origin })
}

/// Fills an e-mail pattern from a name: `{first}`, `{last}` (first and last word) and
/// `{name}` (all words joined by dots), each folded to lower-case ASCII letters and
/// digits. `"{first}.{last}@example.com"` with "José Núñez" gives jose.nunez@example.com.
pub fn email_from_pattern(pattern: &str, name: &str) -> String {
    let words: Vec<String> = fold_name(name)
        .split(|c: char| c.is_whitespace() || c == '-')
        .map(|w| w.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>())
        .filter(|w| !w.is_empty())
        .collect();
    let first = words.first().cloned().unwrap_or_default();
    let last = words.last().cloned().unwrap_or_default();
    pattern.replace("{first}", &first).replace("{last}", &last).replace("{name}", &words.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn wide_quota_headers_name_months_with_or_without_a_year() {
        let settings = Settings {
            date_order: DateOrder::MonthFirst,
            number_style: NumberStyle::default(),
            header_search_rows: 30,
            stages: HashMap::new(),
            rating_scale: Decimal::from(5),
            time_zone: chrono_tz::UTC,
            today: None,
            limits: Limits::default(),
        };
        let head = |c: Cell| month_head(&c, false, &settings);
        let t = |s: &str| Cell::Text(s.into());
        let mar = Period::new(2026, 3).unwrap();
        for s in ["Mar 2026", "March 2026", "2026-03", "03/2026", " 2026-03 % "] {
            assert_eq!(head(t(s)), Some(MonthHead::Dated(mar)), "{s}");
        }
        let date = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
        assert_eq!(head(Cell::DateTime(date)), Some(MonthHead::Dated(mar)));
        for s in ["Mar", "march", "MAR %"] {
            assert_eq!(head(t(s)), Some(MonthHead::Named(3)), "{s}");
        }
        for s in ["Rep Email", "Year", "Annual Quota", "Total", "2026"] {
            assert_eq!(head(t(s)), None, "{s}");
        }
        assert_eq!(head(Cell::Number(3.0)), None);
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
        let months: Vec<String> = q.months(Period::new(2011, 5).unwrap()).iter().map(|(m, _)| m.to_string()).collect();
        assert_eq!(months, ["2011-04", "2011-05", "2011-06"]);
        let months: Vec<String> = q.months(Period::new(2012, 2).unwrap()).iter().map(|(m, _)| m.to_string()).collect();
        assert_eq!(months, ["2012-01", "2012-02", "2012-03"]);
        let y = QuotaSpan::Year(twelfths);
        assert_eq!(y.months(Period::new(2026, 7).unwrap())[11].0.to_string(), "2026-12");
    }
}
