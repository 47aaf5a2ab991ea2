//! Finding the header row: the row among the first `ingest.header_search_rows` of a
//! sheet (below title rows, above blank and totals rows) that names the most of a
//! source's mapped fields, and the column of each field; for a wide quotas file, the
//! month columns ([`MonthHead`]). A sheet without one yields a [`Miss`] saying what its
//! best candidate lacked.
//!
//! Imports `domain` and its ingest siblings only.

use std::collections::BTreeMap;

use super::table::{Cell, Grid, GridRow, column_letter};
use super::{IngestError, Settings, Source, SourceKind, norm_header, values};
use crate::domain::Period;

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
    /// Wide quotas: each month column, its month and its label ("C 'Jan 2026'").
    pub(super) months: Vec<(usize, MonthHead, String)>,
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
    Ok(Ok(Header { first_data: idx + 1, excel_row: row.excel_row, col, names, notes, months }))
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
}
