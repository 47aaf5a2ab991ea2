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

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
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
