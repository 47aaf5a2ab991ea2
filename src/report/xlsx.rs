//! Excel workbooks (rust_xlsxwriter): the standings as a workbook a manager opens
//! (`quotad standings --format xlsx`, a sheet per board) and a rep's month-to-date
//! deals beside the 1:1 sheet (`[pdf] attach_deals_xlsx`).
//!
//! Cells are typed: money is a number with a currency number format built from the
//! org's CLDR currency pattern ([`money_format`]), attainment, pace and clean paperwork
//! are percent cells holding the exact fraction, ranks and counts are integers, dates
//! are dates. Excel's number format codes are locale-independent: `#,##0` shows with
//! the reader's own separators, the currency symbol and its side come from
//! `org.locale`/`org.currency`, dates use Excel's built-in short date (format 14), which
//! Excel shows in the reader's date order.
//!
//! **The display rule** (docs/definitions.md) in a workbook: a cell stores the exact
//! value, and its format shows one decimal — unless Excel's rounding to one decimal
//! would show a value at or above a threshold it is below (100%, `metrics.below_target`,
//! the standards), when the cell gets as many decimals as it takes to show it honestly
//! (0.9995 is stored as 0.9995 with `0.00%`: 99.95%, never 100.0%) ([`honest_format`]).
//!
//! Text cells are written as strings, never as formulas, so a roster name starting with
//! `=` stays text. Imports `domain` and this stage's views only.

use chrono::Datelike;
use rust_decimal::Decimal;
use rust_xlsxwriter::{ColNum, ExcelDateTime, Format as Cell, FormatAlign, RowNum, Workbook, Worksheet, XlsxError};

use super::Format;
use super::standings::StandingRow;
use crate::domain::BoardKind;

/// One sheet of the standings workbook: a board's rows ([`super::standings::rows`])
/// under a title row.
#[derive(Debug, Clone)]
pub struct BoardSheet {
    /// The board the rows are ranked on (names the sheet).
    pub board: BoardKind,
    /// The title row's text: board, scope, period and status ("Attainment % board,
    /// company-wide: October 2026 (final, as of 2026-10-31)").
    pub title: String,
    /// The figures are as of this day (newest export), shown as a date cell.
    pub as_of: Option<chrono::NaiveDate>,
    /// The rows, in board order.
    pub rows: Vec<StandingRow>,
    /// A week's standings: a movement column (▲/▼ places since last week).
    pub weekly: bool,
    /// Whether Excel opens on this sheet (the board asked for with `--board`).
    pub active: bool,
}

/// The Excel number format for money in `fmt`'s locale and currency, with the
/// decimals money is shown with (`org.money_decimals`): `[$$-409]#,##0;-[$$-409]#,##0`
/// (en-US, USD), `#,##0" "[$€-407];-#,##0" "[$€-407]` (de-DE, EUR, with a no-break
/// space), `[$R$-416]" "#,##0.00;-[$R$-416]" "#,##0.00` (pt-BR, BRL, currency decimals).
/// The symbol sits where CLDR puts it; the separators are the reader's Excel's.
pub fn money_format(fmt: &Format) -> String {
    let dp = fmt.money_dp();
    let digits = if dp == 0 { "#,##0".to_string() } else { format!("#,##0.{}", "0".repeat(dp as usize)) };
    let ((pb, pa), (nb, na)) = fmt.money_affixes();
    let lcid = lcid(fmt.locale());
    let section = |before: &str, after: &str| format!("{}{digits}{}", affix(before, lcid), affix(after, lcid));
    format!("{};{}", section(pb, pa), section(nb, na))
}

/// An affix of CLDR's currency pattern as format code: the symbol as `[$SYM-LCID]`
/// (Excel's currency tag: the cell counts as Currency), spaces and signs quoted.
fn affix(text: &str, lcid: Option<u32>) -> String {
    let is_symbol = |c: char| !(c.is_whitespace() || matches!(c, '-' | '\u{2212}' | '\u{200e}' | '\u{200f}'));
    let (Some(start), Some(end)) = (text.find(is_symbol), text.rfind(is_symbol)) else { return quoted(text) };
    let end = end + text[end..].chars().next().map_or(0, char::len_utf8);
    let tag = match lcid {
        Some(id) => format!("[${}-{id:X}]", &text[start..end]),
        None => format!("[${}]", &text[start..end]),
    };
    format!("{}{tag}{}", quoted(&text[..start]), quoted(&text[end..]))
}

/// Literal text in a number format: quoted (empty stays empty).
fn quoted(s: &str) -> String {
    if s.is_empty() { String::new() } else { format!("\"{}\"", s.replace('"', "")) }
}

/// Windows locale ids for the currency tag of the locales quotad is used with; others
/// get the bare symbol tag `[$SYM]`, which Excel also reads.
fn lcid(locale: &str) -> Option<u32> {
    Some(match locale {
        "en-US" => 0x409,
        "en-GB" => 0x809,
        "en-CA" => 0x1009,
        "en-AU" => 0xC09,
        "de-DE" => 0x407,
        "de-AT" => 0xC07,
        "de-CH" => 0x807,
        "fr-FR" => 0x40C,
        "fr-CA" => 0xC0C,
        "es-ES" => 0xC0A,
        "es-MX" => 0x80A,
        "it-IT" => 0x410,
        "nl-NL" => 0x413,
        "pt-BR" => 0x416,
        "pt-PT" => 0x816,
        "sv-SE" => 0x41D,
        "nb-NO" => 0x414,
        "da-DK" => 0x406,
        "fi-FI" => 0x40B,
        "pl-PL" => 0x415,
        "ja-JP" => 0x411,
        "zh-CN" => 0x804,
        _ => return None,
    })
}

/// The number format showing `value` (a fraction when `percent`) with one decimal, or
/// with more when one decimal would show it at or above a threshold it is below
/// (`thresholds` in the value's units): against 1.0, 0.9995 -> `0.00%` (99.95%);
/// 0.99996 -> `0.000%`; 0.875 -> `0.0%`; a 3.96 rating against 4.0 -> `0.00`. Excel
/// rounds a displayed cell half away from zero, as [`Decimal`] does here. At most 10
/// decimals (a value closer to a threshold than that is shown with them).
pub fn honest_format(value: Decimal, percent: bool, thresholds: &[Decimal]) -> String {
    let scale = if percent { 2 } else { 0 };
    let dp = (1..=10)
        .find(|dp| {
            let r = value.round_dp_with_strategy(dp + scale, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
            !thresholds.iter().any(|t| value < *t && r >= *t)
        })
        .unwrap_or(10);
    format!("0.{}{}", "0".repeat(dp as usize), if percent { "%" } else { "" })
}

/// The sheet name of `board` for `team` (or the company): "Attainment", or
/// "Attainment – North" for a team, made valid for Excel — at most 31 UTF-16 units (a
/// long team name is cut with "…"), no `[ ] : * ? / \` (each becomes `_`), no
/// apostrophe at either end, not "History" — and different (ignoring case) from every
/// name in `taken` (" (2)", " (3)" … appended). The name returned is added to `taken`.
pub fn sheet_name(base: &str, taken: &mut Vec<String>) -> String {
    let clean: String = base
        .chars()
        .map(|c| if matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\') || c.is_control() { '_' } else { c })
        .collect();
    let clean = clean.trim().trim_matches('\'').trim().to_string();
    let clean = if clean.is_empty() || clean.eq_ignore_ascii_case("history") { format!("{clean}_") } else { clean };
    let mut n = 1;
    loop {
        let suffix = if n == 1 { String::new() } else { format!(" ({n})") };
        let name = format!("{}{suffix}", cut_utf16(&clean, 31 - suffix.len()));
        if !taken.iter().any(|t| t.to_lowercase() == name.to_lowercase()) {
            taken.push(name.clone());
            return name;
        }
        n += 1;
    }
}

/// `s` cut to at most `max` UTF-16 units, ending in "…" when cut (and never in an
/// apostrophe or space).
fn cut_utf16(s: &str, max: usize) -> String {
    if s.encode_utf16().count() <= max {
        return s.to_string();
    }
    let mut out = String::new();
    for c in s.chars() {
        if out.encode_utf16().count() + c.len_utf16() + 1 > max {
            break;
        }
        out.push(c);
    }
    format!("{}…", out.trim_end_matches([' ', '\'']))
}

/// The standings workbook: one sheet per entry of `sheets`, named by its board (and
/// `team`), each with a title row, an "As of" date row, a header row frozen with the
/// rank and rep columns, an autofilter over the table, and column widths that fit.
///
/// Errors: rust_xlsxwriter's (a sheet past Excel's 1,048,576 rows).
pub fn standings_workbook(sheets: &[BoardSheet], team: Option<&str>, fmt: &Format) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let mut taken = Vec::new();
    for sheet in sheets {
        let label = board_label(sheet.board);
        let name = sheet_name(&team.map_or_else(|| label.to_string(), |t| format!("{label} – {t}")), &mut taken);
        let ws = wb.add_worksheet();
        ws.set_name(name)?;
        write_board(ws, sheet, fmt)?;
        if sheet.active {
            ws.set_active(true);
        }
    }
    wb.save_to_buffer()
}

/// A board's sheet name (before the team).
fn board_label(b: BoardKind) -> &'static str {
    match b {
        BoardKind::Results => "Results",
        BoardKind::Attainment => "Attainment",
        BoardKind::Ratings => "Ratings",
        BoardKind::Paperwork => "Paperwork",
    }
}

/// The header row's index (0-based): title, "As of", a blank row, then the header.
pub const HEADER_ROW: RowNum = 3;

/// One cell of a standings row.
enum Value {
    Text(String),
    Int(Option<i64>),
    Money(Option<Decimal>),
    /// A fraction shown as a percent, judged against thresholds (fractions).
    Percent(Option<Decimal>, Vec<Decimal>),
    /// A plain decimal with one (or more, see [`honest_format`]) decimal, judged.
    Fixed(Option<Decimal>, Vec<Decimal>),
    /// A plain decimal with a fixed format code.
    Number(Option<Decimal>, &'static str),
    Movement(Option<i32>),
    Bool(bool),
}

/// The columns of a standings sheet: header and value.
type Column = (&'static str, fn(&StandingRow) -> Value);

fn columns(weekly: bool) -> Vec<Column> {
    let mut cols: Vec<Column> = vec![("Rank", |r| Value::Int(r.rank.map(i64::from)))];
    if weekly {
        cols.push(("Movement", |r| Value::Movement(r.movement)));
    }
    cols.extend::<[Column; 20]>([
        ("Rep", |r| Value::Text(r.name.clone())),
        ("Team", |r| Value::Text(r.team.clone())),
        ("Revenue", |r| Value::Money(Some(r.revenue))),
        ("Units", |r| Value::Number(Some(r.units), "#,##0.0")),
        ("Quota", |r| Value::Money(r.revenue_quota)),
        ("Attainment", |r| Value::Percent(r.attainment, vec![Decimal::ONE, r.standards.below_target])),
        ("Pace", |r| Value::Percent(r.pace, vec![Decimal::ONE, r.standards.off_pace])),
        ("Rating", |r| Value::Fixed(r.rating, r.standards.rating.into_iter().collect())),
        ("Ratings", |r| Value::Int(Some(r.rating_count.into()))),
        ("Clean paperwork", |r| {
            Value::Percent(r.clean_paperwork, [Decimal::ONE].into_iter().chain(r.standards.paperwork).collect())
        }),
        ("Errors per deal", |r| Value::Number(r.errors_per_deal, "0.00")),
        ("Won deals", |r| Value::Int(Some(r.won_deals.into()))),
        ("Cancellations", |r| Value::Int(Some(r.cancellations.into()))),
        ("Personal bests", |r| Value::Text(r.personal_bests.join(", "))),
        ("Quota streak", |r| Value::Int(Some(r.quota_streak.into()))),
        ("First at quota", |r| Value::Bool(r.first_at_quota)),
        ("Active", |r| Value::Bool(r.active)),
        ("Rep ID", |r| Value::Text(r.rep_id.clone().unwrap_or_default())),
        ("E-mail", |r| Value::Text(r.email.clone().unwrap_or_default())),
        ("Period", |r| Value::Text(r.period.clone())),
    ]);
    cols
}

/// Decimal to an Excel number (Excel holds IEEE doubles): the double nearest the exact
/// decimal (through its digits: `Decimal::to_f64` is not always the nearest).
fn num(d: Decimal) -> f64 {
    d.to_string().parse().unwrap_or(0.0)
}

fn write_board(ws: &mut Worksheet, sheet: &BoardSheet, fmt: &Format) -> Result<(), XlsxError> {
    let bold = Cell::new().set_bold();
    let header = Cell::new().set_bold().set_text_wrap().set_align(FormatAlign::Top);
    let money = Cell::new().set_num_format(money_format(fmt));
    let int = Cell::new().set_num_format("0");
    let movement = Cell::new().set_num_format("\"▲\"0;\"▼\"0;\"=\"");
    let date = Cell::new().set_num_format_index(14).set_align(FormatAlign::Left);
    ws.write_string_with_format(0, 0, &sheet.title, &Cell::new().set_bold().set_font_size(14))?;
    ws.write_string_with_format(1, 0, "As of", &bold)?;
    match sheet.as_of {
        Some(d) => {
            let dt = ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)?;
            ws.write_datetime_with_format(1, 1, &dt, &date)?;
        }
        None => {
            ws.write_string(1, 1, "no export yet")?;
        }
    }
    let cols = columns(sheet.weekly);
    let mut widths: Vec<usize> = cols.iter().map(|(h, _)| h.chars().count().max(6)).collect();
    for (c, (h, _)) in cols.iter().enumerate() {
        ws.write_string_with_format(HEADER_ROW, c as ColNum, *h, &header)?;
    }
    for (i, r) in sheet.rows.iter().enumerate() {
        let row = HEADER_ROW + 1 + i as RowNum;
        for (c, (_, f)) in cols.iter().enumerate() {
            let col = c as ColNum;
            let shown = match f(r) {
                Value::Text(s) => {
                    if !s.is_empty() {
                        ws.write_string(row, col, &s)?;
                    }
                    s.chars().count()
                }
                Value::Int(Some(v)) => {
                    ws.write_number_with_format(row, col, v as f64, &int)?;
                    v.to_string().len()
                }
                Value::Money(Some(v)) => {
                    ws.write_number_with_format(row, col, num(v), &money)?;
                    fmt.money(v).chars().count()
                }
                Value::Percent(Some(v), th) => {
                    let code = honest_format(v, true, &th);
                    ws.write_number_with_format(row, col, num(v), &Cell::new().set_num_format(&code))?;
                    code.len() + 4
                }
                Value::Fixed(Some(v), th) => {
                    let code = honest_format(v, false, &th);
                    ws.write_number_with_format(row, col, num(v), &Cell::new().set_num_format(&code))?;
                    code.len() + 2
                }
                Value::Number(Some(v), code) => {
                    ws.write_number_with_format(row, col, num(v), &Cell::new().set_num_format(code))?;
                    fmt.number(v, 2).chars().count() + 2
                }
                Value::Movement(Some(m)) => {
                    ws.write_number_with_format(row, col, f64::from(m), &movement)?;
                    4
                }
                Value::Bool(b) => {
                    ws.write_boolean(row, col, b)?;
                    5
                }
                Value::Int(None)
                | Value::Money(None)
                | Value::Percent(None, _)
                | Value::Fixed(None, _)
                | Value::Number(None, _)
                | Value::Movement(None) => 0,
            };
            widths[c] = widths[c].max(shown);
        }
    }
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as ColNum, (*w).min(40) as f64 + 2.0)?;
    }
    let last_row = HEADER_ROW + sheet.rows.len() as RowNum;
    ws.autofilter(HEADER_ROW, 0, last_row, (cols.len() - 1) as ColNum)?;
    // The header and the rank/movement and rep columns stay in view.
    ws.set_freeze_panes(HEADER_ROW + 1, if sheet.weekly { 3 } else { 2 })?;
    Ok(())
}

/// One deal row behind a rep's 1:1 sheet, as credited ([`deals_workbook`]).
#[derive(Debug, Clone, PartialEq)]
pub struct DealLine {
    /// The CRM's Deal ID.
    pub deal_id: String,
    /// The Stage as exported.
    pub stage: String,
    /// Close date (a cancellation's: the cancellation date).
    pub close_date: Option<chrono::NaiveDate>,
    /// The sale price as exported, currency units.
    pub amount: Option<Decimal>,
    /// The rep's share of the deal, a fraction (1 = the whole deal).
    pub share: Decimal,
    /// What the row adds to the rep's revenue, currency units (a cancellation
    /// subtracts: negative); `None` when it counts nowhere (a cancellation whose sale is
    /// not on record).
    pub revenue: Option<Decimal>,
    /// What the row adds to the rep's units; `None` when it counts nowhere.
    pub units: Option<Decimal>,
    /// The customer's rating, if any.
    pub rating: Option<Decimal>,
    /// Whether the paperwork is complete, if exported.
    pub paperwork_complete: Option<bool>,
    /// Paperwork errors, if exported.
    pub paperwork_errors: Option<u32>,
    /// Why the row counts as it does, when it is not a plain won deal ("cancellation:
    /// subtracts", "counts nowhere: no sale on record").
    pub note: String,
    /// The file the row was imported from ("" if unknown).
    pub file: String,
    /// Its sheet ("" for CSV) and Excel row.
    pub sheet: String,
    /// The Excel row number.
    pub row: u32,
}

/// A rep's month-to-date deals, beside the 1:1 sheet: the figures the sheet shows and
/// the rows they are built from.
#[derive(Debug, Clone)]
pub struct DealsSheet {
    /// "Deals of Ann Archer (North), October 2026 to date (preliminary)".
    pub title: String,
    /// The figures are as of this day.
    pub as_of: Option<chrono::NaiveDate>,
    /// The month's revenue quota, currency units; `None` = no quota.
    pub revenue_quota: Option<Decimal>,
    /// Month-to-date revenue as on the 1:1 sheet (the sum of the rows' revenue).
    pub revenue: Decimal,
    /// Month-to-date units as on the 1:1 sheet.
    pub units: Decimal,
    /// Attainment, an exact fraction; `None` without a quota.
    pub attainment: Option<Decimal>,
    /// The below-target line attainment is judged against (a fraction).
    pub below_target: Decimal,
    /// The deal rows, by close date.
    pub deals: Vec<DealLine>,
}

/// The header row of the deals sheet (0-based): title, as of, quota, revenue, units,
/// attainment, a blank row, then the header.
pub const DEALS_HEADER_ROW: RowNum = 7;

/// The workbook of one rep's month-to-date deals (one sheet, "Deals"): a summary block
/// (as of, quota, month-to-date revenue and units, attainment — the 1:1 sheet's figures),
/// then a row per deal with what it credits, under a frozen, filtered header, and a total
/// row equal to the month-to-date revenue.
///
/// Errors: rust_xlsxwriter's.
pub fn deals_workbook(sheet: &DealsSheet, fmt: &Format) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Deals")?;
    let bold = Cell::new().set_bold();
    let money = Cell::new().set_num_format(money_format(fmt));
    let money_bold = Cell::new().set_bold().set_num_format(money_format(fmt));
    let date = Cell::new().set_num_format_index(14).set_align(FormatAlign::Left);
    let units = Cell::new().set_num_format("#,##0.0#");
    let header = Cell::new().set_bold().set_text_wrap().set_align(FormatAlign::Top);
    ws.write_string_with_format(0, 0, &sheet.title, &Cell::new().set_bold().set_font_size(14))?;
    let labels = ["As of", "Revenue quota", "Revenue, month to date", "Units, month to date", "Attainment"];
    for (i, l) in labels.iter().enumerate() {
        ws.write_string_with_format(1 + i as RowNum, 0, *l, &bold)?;
    }
    match sheet.as_of {
        Some(d) => ws.write_datetime_with_format(
            1,
            1,
            ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)?,
            &date,
        )?,
        None => ws.write_string(1, 1, "no export yet")?,
    };
    match sheet.revenue_quota {
        Some(q) => ws.write_number_with_format(2, 1, num(q), &money)?,
        None => ws.write_string(2, 1, "no quota")?,
    };
    ws.write_number_with_format(3, 1, num(sheet.revenue), &money)?;
    ws.write_number_with_format(4, 1, num(sheet.units), &units)?;
    if let Some(a) = sheet.attainment {
        let code = honest_format(a, true, &[Decimal::ONE, sheet.below_target]);
        ws.write_number_with_format(5, 1, num(a), &Cell::new().set_num_format(&code))?;
    }
    let heads = [
        "Deal ID",
        "Close date",
        "Stage",
        "Sale price",
        "Share",
        "Revenue credited",
        "Units credited",
        "Rating",
        "Paperwork complete",
        "Paperwork errors",
        "Note",
        "File",
        "Sheet",
        "Row",
    ];
    let mut widths: Vec<usize> = heads.iter().map(|h| h.chars().count().min(12)).collect();
    for (c, h) in heads.iter().enumerate() {
        ws.write_string_with_format(DEALS_HEADER_ROW, c as ColNum, *h, &header)?;
    }
    let share = Cell::new().set_num_format("0.##%");
    let int = Cell::new().set_num_format("0");
    let plain = Cell::new().set_num_format("0.0");
    for (i, d) in sheet.deals.iter().enumerate() {
        let r = DEALS_HEADER_ROW + 1 + i as RowNum;
        let mut wide = |c: usize, n: usize| widths[c] = widths[c].max(n);
        ws.write_string(r, 0, &d.deal_id)?;
        wide(0, d.deal_id.chars().count());
        if let Some(cd) = d.close_date {
            ws.write_datetime_with_format(
                r,
                1,
                ExcelDateTime::from_ymd(cd.year() as u16, cd.month() as u8, cd.day() as u8)?,
                &date,
            )?;
            wide(1, 10);
        }
        ws.write_string(r, 2, &d.stage)?;
        wide(2, d.stage.chars().count());
        if let Some(a) = d.amount {
            ws.write_number_with_format(r, 3, num(a), &money)?;
            wide(3, fmt.money(a).chars().count());
        }
        ws.write_number_with_format(r, 4, num(d.share), &share)?;
        if let Some(v) = d.revenue {
            ws.write_number_with_format(r, 5, num(v), &money)?;
            wide(5, fmt.money(v).chars().count());
        }
        if let Some(u) = d.units {
            ws.write_number_with_format(r, 6, num(u), &units)?;
        }
        if let Some(v) = d.rating {
            ws.write_number_with_format(r, 7, num(v), &plain)?;
        }
        if let Some(b) = d.paperwork_complete {
            ws.write_boolean(r, 8, b)?;
        }
        if let Some(n) = d.paperwork_errors {
            ws.write_number_with_format(r, 9, f64::from(n), &int)?;
        }
        for (c, t) in [(10, &d.note), (11, &d.file), (12, &d.sheet)] {
            if !t.is_empty() {
                ws.write_string(r, c, t)?;
                wide(c as usize, t.chars().count());
            }
        }
        ws.write_number_with_format(r, 13, f64::from(d.row), &int)?;
    }
    let last = DEALS_HEADER_ROW + sheet.deals.len() as RowNum;
    // The total: the month-to-date revenue (exact, from the same rows), not a formula,
    // so it reads the same in any viewer and after any filter.
    ws.write_string_with_format(last + 1, 0, "Total", &bold)?;
    ws.write_number_with_format(last + 1, 5, num(sheet.revenue), &money_bold)?;
    ws.write_number_with_format(last + 1, 6, num(sheet.units), &units)?;
    widths[0] = widths[0].max(labels.iter().map(|l| l.chars().count()).max().unwrap_or(0));
    widths[1] = widths[1].max(12);
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as ColNum, (*w).min(40) as f64 + 2.0)?;
    }
    ws.autofilter(DEALS_HEADER_ROW, 0, last, (heads.len() - 1) as ColNum)?;
    ws.set_freeze_panes(DEALS_HEADER_ROW + 1, 1)?;
    wb.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn a_percent_below_a_threshold_gets_the_decimals_it_needs_to_show_below_it() {
        let quota = [Decimal::ONE, d("0.8")];
        assert_eq!(honest_format(d("0.875"), true, &quota), "0.0%");
        assert_eq!(honest_format(d("0.9995"), true, &quota), "0.00%", "99.95% is not 100.0%");
        assert_eq!(honest_format(d("0.99996"), true, &quota), "0.000%");
        assert_eq!(honest_format(d("0.79996"), true, &quota), "0.000%", "79.996% is not 80.0% (below target)");
        // At or above a threshold: one decimal, as it rounds.
        assert_eq!(honest_format(d("1"), true, &quota), "0.0%");
        assert_eq!(honest_format(d("1.00049"), true, &quota), "0.0%");
        // A rating against the 4.0 standard.
        assert_eq!(honest_format(d("3.96"), false, &[d("4.0")]), "0.00");
        assert_eq!(honest_format(d("4.25"), false, &[d("4.0")]), "0.0");
    }

    #[test]
    fn money_formats_put_the_symbol_where_the_locale_does() {
        let f = |l: &str, c: &str| Format::new(l, c).unwrap();
        assert_eq!(money_format(&f("en-US", "USD")), "[$$-409]#,##0;\"-\"[$$-409]#,##0");
        assert_eq!(money_format(&f("de-DE", "EUR")), "#,##0\"\u{a0}\"[$€-407];\"-\"#,##0\"\u{a0}\"[$€-407]");
        let brl = f("pt-BR", "BRL").with_money_decimals(crate::report::MoneyDecimals::Currency);
        assert_eq!(money_format(&brl), "[$R$-416]\"\u{a0}\"#,##0.00;\"-\"[$R$-416]\"\u{a0}\"#,##0.00");
        // A locale without a known LCID: the bare symbol tag.
        assert_eq!(money_format(&f("en-IE", "EUR")), "[$€]#,##0;\"-\"[$€]#,##0");
    }

    #[test]
    fn sheet_names_are_valid_for_excel_and_unique() {
        let mut taken = Vec::new();
        assert_eq!(sheet_name("Attainment", &mut taken), "Attainment");
        assert_eq!(sheet_name("attainment", &mut taken), "attainment (2)", "Excel ignores case");
        assert_eq!(sheet_name("Results – a/b: [c]*?\\", &mut taken), "Results – a_b_ _c____");
        let long = sheet_name("Attainment – Northern Territories and Islands", &mut taken);
        assert_eq!(long, "Attainment – Northern Territor…");
        assert_eq!(long.encode_utf16().count(), 31);
        let again = sheet_name("Attainment – Northern Territories and Islands East", &mut taken);
        assert_eq!(again, "Attainment – Northern Terr… (2)");
        assert_eq!(sheet_name("'History'", &mut taken), "History_");
        for n in &taken {
            rust_xlsxwriter::utility::check_sheet_name(n).unwrap();
        }
    }
}
