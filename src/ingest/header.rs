//! Finding the header row: the row among the first `ingest.header_search_rows` of a
//! sheet (below title rows, above blank and totals rows) that names the most of a
//! source's mapped fields, and the column of each field; for a wide quotas file, the
//! month columns ([`MonthHead`]). A sheet without one yields a [`Miss`] saying what its
//! best candidate lacked.
//!
//! Imports `domain` and its ingest siblings only.

use std::collections::BTreeMap;

use super::table::{Cell, Grid, GridRow, column_letter};
use super::{IngestError, QuotaSpan, Settings, Source, SourceKind, norm_header, values};
use crate::domain::Period;

/// A month column of a wide quotas file: its header names a month with its year
/// ("Jan 2026", "2026-01", a date cell) or without ("Jan", "January", "Jan %"; the
/// year then comes from the row's `year` column). Without a `revenue_quota` column each
/// cell is that month's quota; with one (an annual quota), each cell is the percent of
/// it for that month, and a rep's percentages must add up to 100 (fractions adding up
/// to 1, as percent-formatted cells store them, are read as percents).
///
/// A quarter column (`Q3`, `FY2026 Q3`, `FY26 Q3`, `2026-Q3`, `2026 Q3`, `Q3 2026`,
/// `Q3 FY2026`) is a **fiscal** quarter (config `org.fiscal_year_start`); its year, in
/// the header, in the row's year column or in the source's `year` setting, is a fiscal
/// year. Its quota is spread evenly over the quarter's three months to the cent, the
/// remainder cent(s) on the third month ([`super::spread`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonthHead {
    /// A month with its year.
    Dated(Period),
    /// A month number 1-12, year from the row.
    Named(u32),
    /// A fiscal quarter 1-4, with its fiscal year if the header names it.
    Quarter(Option<i32>, u32),
}

/// A header cell shaped like a quarter: `Some(Ok((fiscal year, quarter)))`, or
/// `Some(Err(why))` when it looks like one but is not (`Q5`, `FY2026 Q0`,
/// `Q3 2026 2027`); `None` when it is no quarter at all.
pub(super) fn quarter_head(text: &str) -> Option<Result<(Option<i32>, u32), String>> {
    let up = text.trim().to_uppercase().replace(['-', '_', '/'], " ");
    let tokens: Vec<&str> = up.split_whitespace().collect();
    let is_q = |t: &str| t.len() >= 2 && t.starts_with('Q') && t[1..].chars().all(|c| c.is_ascii_digit());
    let qs: Vec<&&str> = tokens.iter().filter(|t| is_q(t)).collect();
    if qs.is_empty() {
        return None;
    }
    let (mut year, mut q) = (None, None);
    let mut bad = None;
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i];
        if is_q(t) {
            match t[1..].parse::<u32>() {
                Ok(n @ 1..=4) if q.is_none() => q = Some(n),
                Ok(_) if q.is_some() => bad = Some("it names two quarters".to_string()),
                _ => bad = Some(format!("'{}' is not a quarter: expected Q1, Q2, Q3 or Q4", &t)),
            }
        } else {
            // A year: 2026, FY2026, FY26, or "FY 2026".
            let digits = match t.strip_prefix("FY") {
                Some("") if i + 1 < tokens.len() => {
                    i += 1;
                    tokens[i]
                }
                Some(d) => d,
                None => t,
            };
            let y = match (digits.len(), digits.parse::<i32>()) {
                (4, Ok(y)) if (1900..=2100).contains(&y) => Some(y),
                (2, Ok(y)) if t.starts_with("FY") => Some(2000 + y),
                _ => None,
            };
            match (y, year) {
                (Some(y), None) => year = Some(y),
                (Some(_), Some(_)) => bad = Some("it names two years".to_string()),
                (None, _) => return None, // other words: not a quarter header ("Q3 notes")
            }
        }
        i += 1;
    }
    Some(match (bad, q) {
        (Some(why), _) => Err(why),
        (None, Some(q)) => Ok((year, q)),
        (None, None) => Err("expected Q1, Q2, Q3 or Q4".to_string()),
    })
}

/// The month a wide quotas header cell names, if any.
pub(super) fn month_head(cell: &Cell, epoch_1904: bool, settings: &Settings) -> Option<MonthHead> {
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

/// Why a sheet has no usable header: its best candidate row, what that row matched and
/// what it lacks (with the accepted header names).
pub(super) struct Miss {
    pub(super) sheet: String,
    pub(super) row: u32,
    pub(super) matched: Vec<&'static str>,
    pub(super) missing: Vec<String>,
}

/// The header: its row and the column of each mapped field.
#[derive(Clone)]
pub(super) struct Header {
    /// Index in the grid's rows of the first data row.
    pub(super) first_data: usize,
    pub(super) excel_row: u32,
    pub(super) col: BTreeMap<&'static str, usize>,
    pub(super) names: BTreeMap<&'static str, String>,
    /// Columns that also matched a field whose column was taken from a higher-priority name.
    pub(super) notes: Vec<String>,
    /// Wide quotas: each month or quarter column, its month or quarter and its label
    /// ("C 'Jan 2026'").
    pub(super) months: Vec<(usize, MonthHead, String)>,
    /// Read as a wide quotas file (a column per month or quarter).
    pub(super) wide: bool,
}

impl Header {
    /// "C 'Close Date'", or for a headerless file "C (close_date)".
    pub(super) fn label(&self, field: &str) -> String {
        match (self.col.get(field), self.names.get(field)) {
            (Some(c), Some(n)) if self.excel_row == 0 => format!("{} ({n})", column_letter(*c)),
            (Some(c), Some(n)) => format!("{} '{}'", column_letter(*c), n),
            _ => field.to_string(),
        }
    }
}

pub(super) fn sheet_label(sheet: &str) -> String {
    if sheet.is_empty() { String::new() } else { format!("sheet '{sheet}', ") }
}

/// Scans the first rows for the one that matches the most mapped fields. `Ok(Err(miss))`
/// when this sheet has no usable header (another sheet may).
pub(super) fn find_header(
    grid: &Grid,
    source: &Source,
    settings: &Settings,
) -> Result<Result<Header, Miss>, IngestError> {
    let search = settings.header_search_rows;
    // Without quota_layout, a quotas file's quarter columns (no month columns) make it wide.
    let auto = source.kind == SourceKind::Quotas && !source.quota_wide && source.quota_span == QuotaSpan::Month;
    let months_of = |row: &GridRow| -> Vec<(usize, MonthHead, String)> {
        if !source.quota_wide && !auto {
            return Vec::new();
        }
        row.cells
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let head = match c {
                    Cell::Text(t) => match quarter_head(t) {
                        Some(Ok((y, q))) => Some(MonthHead::Quarter(y, q)),
                        Some(Err(_)) => None,
                        None if source.quota_wide => month_head(c, grid.epoch_1904, settings),
                        None => None,
                    },
                    _ if source.quota_wide => month_head(c, grid.epoch_1904, settings),
                    _ => None,
                };
                head.map(|m| (i, m, format!("{} '{}'", column_letter(i), c.raw())))
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
    // A header cell shaped like a quarter that is not one stops the file, naming it.
    if source.quota_wide || auto {
        for (i, c) in row.cells.iter().enumerate() {
            if let Cell::Text(t) = c
                && let Some(Err(why)) = quarter_head(t)
            {
                return Err(IngestError::BadPeriodHeader {
                    sheet_label: sheet_label(&grid.sheet),
                    row: row.excel_row,
                    column: format!("{} '{}'", column_letter(i), c.raw()),
                    reason: why,
                });
            }
        }
    }
    let mut col: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut names = BTreeMap::new();
    let mut notes = Vec::new();
    // A column feeds one field: the configured fields (`columns.FIELD`) claim theirs
    // first; a default name never takes a column a configured field holds, and two
    // fields of the same rank naming one column are a clash the config must settle.
    let configured = &source.columns.configured;
    let mut order: Vec<&(&'static str, Vec<String>)> = wanted.iter().collect();
    order.sort_by_key(|(f, _)| !configured.contains(f));
    for (field, aliases) in order {
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
                } else if let Some((&other, _)) = col.iter().find(|(_, at)| **at == c) {
                    let label = format!("{} '{}'", column_letter(c), row.get(c).raw());
                    if configured.contains(other) && !configured.contains(field) {
                        notes.push(format!(
                            "column {label} is sources.{}.columns.{other}; {field} does not read it",
                            source.name
                        ));
                        continue;
                    }
                    return Err(IngestError::ColumnClash {
                        sheet_label: sheet_label(&grid.sheet),
                        row: row.excel_row,
                        column: label,
                        first: other.to_string(),
                        second: field.to_string(),
                        source_name: source.name.clone(),
                    });
                } else {
                    col.insert(*field, c);
                    names.insert(*field, row.get(c).raw());
                }
            }
        }
    }
    let months = months_of(row);
    // Wide: configured, or (auto) quarter columns and no month column.
    let wide_now = source.quota_wide || (auto && !months.is_empty() && !col.contains_key("month"));
    let months = if wide_now { months } else { Vec::new() };
    let mut missing: Vec<String> = kind
        .fields()
        .iter()
        .filter(|f| f.required && !col.contains_key(f.name))
        .filter(|f| !(f.name == "stage" && source.fixed_stage.is_some()))
        .filter(|f| {
            !(f.name == "rep_name"
                && kind == SourceKind::Roster
                && (col.contains_key("rep_id") || col.contains_key("first_name")))
        })
        .filter(|f| !(wide_now && matches!(f.name, "month" | "revenue_quota")))
        .map(|f| format!("{} ({})", f.name, source.columns.fields[f.name].join(" / ")))
        .collect();
    if source.quota_wide && months.is_empty() {
        missing.push("month columns (headers such as Jan 2026, 2026-01, Q3 2026, or Jan with a year column)".into());
    }
    let yearless = months.iter().any(|(_, m, _)| matches!(m, MonthHead::Named(_) | MonthHead::Quarter(None, _)));
    if yearless && !col.contains_key("year") && source.year.is_none() {
        missing.push(format!(
            "year ({}) or sources.{}.year, as the month or quarter columns name no year",
            source.columns.fields.get("year").map(|v| v.join(" / ")).unwrap_or_default(),
            source.name
        ));
    }
    if !["rep_id", "rep_email", "rep_name", "first_name"].iter().any(|f| col.contains_key(f)) {
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
    Ok(Ok(Header { first_data: idx + 1, excel_row: row.excel_row, col, names, notes, months, wide: wide_now }))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use rust_decimal::Decimal;

    use super::*;
    use crate::ingest::{DateOrder, Limits, NumberStyle};

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
            fiscal: crate::domain::FiscalCalendar::default(),
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
    fn quarter_headers_with_or_without_a_fiscal_year() {
        for (text, want) in [
            ("Q3", (None, 3)),
            ("q1", (None, 1)),
            ("FY2026 Q3", (Some(2026), 3)),
            ("FY26 Q3", (Some(2026), 3)),
            ("FY 2026 Q4", (Some(2026), 4)),
            ("2026-Q3", (Some(2026), 3)),
            ("2026 Q2", (Some(2026), 2)),
            ("Q3 2026", (Some(2026), 3)),
            ("Q3-2026", (Some(2026), 3)),
            ("Q3 FY2026", (Some(2026), 3)),
        ] {
            assert_eq!(quarter_head(text), Some(Ok(want)), "{text}");
        }
        assert_eq!(quarter_head("Q5"), Some(Err("'Q5' is not a quarter: expected Q1, Q2, Q3 or Q4".into())));
        assert_eq!(quarter_head("FY2026 Q0"), Some(Err("'Q0' is not a quarter: expected Q1, Q2, Q3 or Q4".into())));
        assert_eq!(quarter_head("Q3 2026 2027"), Some(Err("it names two years".into())));
        assert_eq!(quarter_head("Q1 Q2"), Some(Err("it names two quarters".into())));
        for text in ["Quota", "Region", "Q3 notes", "2026", "Location", "Qty"] {
            assert_eq!(quarter_head(text), None, "{text}");
        }
    }
}
