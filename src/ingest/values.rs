//! Cell values -> typed values: dates (Excel serials in both epochs, ISO and configured
//! text orders), money (numbers or text such as `$412,500.00`, `(1,250.00)`, `1.234,50 €`),
//! yes/no flags, counts and months. Each parser returns `Err(expected)` where `expected`
//! says what the value should have looked like; the caller adds file, row and column.
//!
//! Imports `domain`, the ingest `Cell` and chrono/chrono-tz/rust_decimal; nothing else.

use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::table::Cell;
use crate::domain::Period;

/// Day/month order of all-numeric text dates such as `03/04/2026` (config
/// `ingest.date_order`). Never guessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOrder {
    /// Month first: 03/04/2026 is 4 March 2026 (US exports).
    MonthFirst,
    /// Day first: 03/04/2026 is 3 April 2026 (most of Europe).
    DayFirst,
}

/// How text numbers are written (config `ingest.decimal_separator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberStyle {
    /// `.` (1,234.50) or `,` (1.234,50).
    pub decimal: char,
}

impl Default for NumberStyle {
    fn default() -> Self {
        NumberStyle { decimal: '.' }
    }
}

/// Largest Excel serial day number (9999-12-31).
const MAX_SERIAL: f64 = 2_958_465.0;

/// An Excel serial day number to a date-time. `epoch_1904` selects the Mac 1904 date
/// system (serial 0 = 1904-01-01) instead of the 1900 system (serial 1 = 1900-01-01,
/// with Excel's phantom 1900-02-29 accounted for). Out of range -> `None`.
pub fn excel_serial(serial: f64, epoch_1904: bool) -> Option<NaiveDateTime> {
    if !(1.0..=MAX_SERIAL).contains(&serial) {
        return None;
    }
    let (epoch, days) = if epoch_1904 {
        (NaiveDate::from_ymd_opt(1904, 1, 1)?, serial)
    } else if serial < 60.0 {
        // Before Excel's fictitious 1900-02-29, serial 1 is 1900-01-01.
        (NaiveDate::from_ymd_opt(1899, 12, 31)?, serial)
    } else {
        (NaiveDate::from_ymd_opt(1899, 12, 30)?, serial)
    };
    let millis = (days * 86_400_000.0).round() as i64;
    epoch.and_hms_opt(0, 0, 0)?.checked_add_signed(chrono::Duration::milliseconds(millis))
}

/// A date from a cell: a date cell, a serial number (in the workbook's epoch), an ISO
/// date (`2026-03-15`, optionally with a time), an all-numeric date in `order`
/// (`03/15/2026`, `15.03.2026`, two-digit years are 20xx), or a month-name date
/// (`Mar 15, 2026`, `15 March 2026`, `15-Mar-2026`). A time of day is dropped.
/// An instant with a UTC offset (`2026-04-01T03:30:00Z`) is converted to the org's zone
/// `tz` first (that one is 2026-03-31 in America/New_York); times without an offset are
/// already local.
pub fn date(cell: &Cell, epoch_1904: bool, order: DateOrder, tz: Tz) -> Result<NaiveDate, String> {
    let expected = || {
        let ex = match order {
            DateOrder::MonthFirst => "03/15/2026",
            DateOrder::DayFirst => "15/03/2026",
        };
        format!("expected a date such as 2026-03-15 or {ex} (ingest.date_order)")
    };
    let d = match cell {
        Cell::DateTime(dt) => Ok(dt.date()),
        Cell::Number(n) => excel_serial(*n, epoch_1904).map(|d| d.date()).ok_or_else(expected),
        Cell::Text(s) => match DateTime::parse_from_rfc3339(s.trim()) {
            Ok(instant) => Ok(instant.with_timezone(&tz).date_naive()),
            Err(_) => text_date(s, order).ok_or_else(expected),
        },
        _ => Err(expected()),
    }?;
    if !(1900..=2100).contains(&d.year()) {
        return Err(format!("{d} is not a plausible date: expected a year from 1900 to 2100"));
    }
    Ok(d)
}

fn text_date(s: &str, order: DateOrder) -> Option<NaiveDate> {
    text_date_any_year(s, order).filter(|d| (1900..=9999).contains(&d.year()))
}

fn text_date_any_year(s: &str, order: DateOrder) -> Option<NaiveDate> {
    let s = s.trim();
    // ISO date, possibly followed by a time ("2026-03-15 00:00:00", "2026-03-15T10:00").
    let head = s.split(['T', ' ']).next().unwrap_or(s);
    if let Ok(d) = NaiveDate::parse_from_str(head, "%Y-%m-%d") {
        return Some(d);
    }
    let parts: Vec<&str> = head.split(['/', '.', '-']).collect();
    if parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
    {
        let n: Vec<u32> = parts.iter().map(|p| p.parse().unwrap_or(0)).collect();
        let (y, m, d) = if parts[0].len() == 4 {
            (n[0] as i32, n[1], n[2])
        } else {
            if parts[2].len() != 4 && parts[2].len() != 2 {
                return None;
            }
            let y = if parts[2].len() == 2 { 2000 + n[2] as i32 } else { n[2] as i32 };
            match order {
                DateOrder::MonthFirst => (y, n[0], n[1]),
                DateOrder::DayFirst => (y, n[1], n[0]),
            }
        };
        return NaiveDate::from_ymd_opt(y, m, d);
    }
    let cleaned = s.replace(',', " ");
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    ["%b %d %Y", "%B %d %Y", "%d %b %Y", "%d %B %Y", "%d-%b-%Y", "%d-%b-%y"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(&cleaned, f).ok())
}

/// An exact decimal from a number cell. Floats are read through their shortest
/// round-trip decimal form, so a cell showing 0.1 gives exactly 0.1.
pub fn decimal_of_f64(n: f64) -> Option<Decimal> {
    if !n.is_finite() {
        return None;
    }
    // A whole number (most amounts, units and counts) is exact as an integer: no text
    // round trip. Zero takes the text path, which keeps the sign of -0 as before.
    if n.fract() == 0.0 && n != 0.0 && n.abs() < 9.0e15 {
        return Some(Decimal::from(n as i64));
    }
    Decimal::from_str(&n.to_string()).ok()
}

/// Money: a number cell, or text with an optional currency symbol or code, thousands
/// separators, and a minus sign, trailing minus or parentheses for negatives:
/// `412500`, `$412,500.00`, `-$1,250.00`, `(1,250.00)`, `USD 99`, and with
/// `decimal = ','`: `1.234,50 €`. Result in currency units (not cents).
pub fn money(cell: &Cell, style: NumberStyle) -> Result<Decimal, String> {
    let expected = || {
        if style.decimal == ',' {
            "expected an amount such as 412500, 1.234,50 € or (1.250,00) (ingest.decimal_separator = \",\")".to_string()
        } else {
            "expected an amount such as 412500, $412,500.00 or (1,250.00)".to_string()
        }
    };
    match cell {
        Cell::Number(n) => decimal_of_f64(*n).ok_or_else(expected),
        Cell::Text(s) => text_number(s, style, true).ok_or_else(expected),
        _ => Err(expected()),
    }
}

/// A plain decimal number (units, ratings): a number cell or text such as `2`, `4.5`
/// (with `decimal = ','`: `4,5`). No currency symbols.
pub fn number(cell: &Cell, style: NumberStyle) -> Result<Decimal, String> {
    let expected = || "expected a number".to_string();
    match cell {
        Cell::Number(n) => decimal_of_f64(*n).ok_or_else(expected),
        Cell::Text(s) => text_number(s, style, false).ok_or_else(expected),
        _ => Err(expected()),
    }
}

const CURRENCY_CODES: [&str; 10] = ["USD", "EUR", "GBP", "CAD", "AUD", "NZD", "CHF", "MXN", "SEK", "NOK"];

fn text_number(s: &str, style: NumberStyle, currency: bool) -> Option<Decimal> {
    let mut t: String = s.trim().chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}')).collect();
    if t.is_empty() {
        return None;
    }
    let mut negative = false;
    if t.starts_with('(') && t.ends_with(')') {
        negative = true;
        t = t[1..t.len() - 1].to_string();
    }
    for sign in ['-', '\u{2212}'] {
        if let Some(rest) = t.strip_prefix(sign) {
            negative = !negative;
            t = rest.to_string();
        } else if let Some(rest) = t.strip_suffix(sign) {
            negative = !negative;
            t = rest.to_string();
        }
    }
    if currency {
        for code in CURRENCY_CODES {
            if let Some(rest) = t.strip_prefix(code).or_else(|| t.strip_suffix(code)) {
                t = rest.to_string();
                break;
            }
        }
        t = t.trim_matches(|c| matches!(c, '$' | '€' | '£' | '¥')).to_string();
        // "$-1,250.00" and "-$1,250.00" are both seen in exports.
        if let Some(rest) = t.strip_prefix('-') {
            negative = !negative;
            t = rest.to_string();
        }
    }
    let group = if style.decimal == ',' { '.' } else { ',' };
    let (int_part, frac) = match t.rsplit_once(style.decimal) {
        Some((i, f)) => (i, Some(f)),
        None => (t.as_str(), None),
    };
    let mut digits = String::new();
    if int_part.contains(group) || int_part.contains('\'') {
        let groups: Vec<&str> = int_part.split([group, '\'']).collect();
        if groups[0].is_empty() || groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3) {
            return None;
        }
        groups.iter().for_each(|g| digits.push_str(g));
    } else {
        digits.push_str(int_part);
    }
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if let Some(f) = frac {
        if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.push('.');
        digits.push_str(f);
    }
    let value = Decimal::from_str(&digits).ok()?;
    Some(if negative { -value } else { value })
}

/// Yes/no: Yes/No, Y/N, True/False, 1/0, X (ticked) in any case, or a boolean or
/// 0/1 number cell.
pub fn flag(cell: &Cell) -> Result<bool, String> {
    let expected = || "expected Yes/No, Y/N, True/False, 1/0 or X".to_string();
    match cell {
        Cell::Bool(b) => Ok(*b),
        Cell::Number(n) if *n == 1.0 => Ok(true),
        Cell::Number(n) if *n == 0.0 => Ok(false),
        Cell::Text(s) => match s.trim().to_lowercase().as_str() {
            "yes" | "y" | "true" | "1" | "x" => Ok(true),
            "no" | "n" | "false" | "0" => Ok(false),
            _ => Err(expected()),
        },
        _ => Err(expected()),
    }
}

/// A credit split as a fraction 0..=1: with `%` a percent (`50%`, `33.3 %`); without,
/// a number of at most 1 is a fraction (`0.5`, `1` = the whole deal; a percent-formatted
/// cell stores 0.5 for 50%) and a number above 1 a percent (`50` = 50%).
pub fn split(cell: &Cell, style: NumberStyle) -> Result<Decimal, String> {
    let expected = || "expected a split such as 50%, 0.5 or 50".to_string();
    let (v, percent) = match cell {
        Cell::Number(n) => (decimal_of_f64(*n).ok_or_else(expected)?, false),
        Cell::Text(s) => {
            let t = s.trim();
            let stripped = t.trim_end_matches('%');
            (text_number(stripped, style, false).ok_or_else(expected)?, stripped.len() != t.len())
        }
        _ => return Err(expected()),
    };
    let v = if percent || v > Decimal::ONE { v / Decimal::ONE_HUNDRED } else { v };
    if v <= Decimal::ZERO || v > Decimal::ONE {
        return Err("expected a split above 0% and at most 100%".into());
    }
    Ok(v)
}

/// A count (paperwork errors): a whole number ≥ 0.
pub fn count(cell: &Cell) -> Result<u32, String> {
    let expected = || "expected a whole number of 0 or more".to_string();
    let d = number(cell, NumberStyle::default()).map_err(|_| expected())?;
    if d.is_sign_negative() || d.fract() != Decimal::ZERO {
        return Err(expected());
    }
    d.to_u32().ok_or_else(expected)
}

/// A month: a date cell or date text (its month), `2026-03`, `2026/03`, `03/2026`,
/// `Mar 2026`, `March 2026`.
pub fn month(cell: &Cell, epoch_1904: bool, order: DateOrder, tz: Tz) -> Result<Period, String> {
    let expected = || "expected a month such as 2026-03, Mar 2026 or a date".to_string();
    if let Ok(d) = date(cell, epoch_1904, order, tz) {
        return Ok(Period::of(d));
    }
    let Cell::Text(s) = cell else { return Err(expected()) };
    let s = s.trim();
    let parts: Vec<&str> = s.split(['-', '/', '.']).collect();
    if parts.len() == 2 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) {
        let (y, m) = if parts[0].len() == 4 { (parts[0], parts[1]) } else { (parts[1], parts[0]) };
        if y.len() == 4 && m.len() <= 2 {
            return Period::new(y.parse().map_err(|_| expected())?, m.parse().map_err(|_| expected())?)
                .ok_or_else(expected);
        }
    }
    for f in ["%b %Y", "%B %Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(&format!("1 {s}"), &format!("%d {f}")) {
            return Ok(Period::of(d));
        }
    }
    Err(expected())
}

/// A month of `year` from a month column beside a year column: a month name or its
/// abbreviation (`March`, `Mar`, any case), a number 1–12, or a date (its month, which
/// must be in `year`).
pub fn month_of_year(cell: &Cell, year: i32) -> Result<Period, String> {
    let expected = || format!("expected a month of {year} such as March, Mar or 3");
    let m = match cell {
        Cell::Number(n) if n.fract() == 0.0 && (1.0..=12.0).contains(n) => *n as u32,
        Cell::DateTime(d) if d.year() == year => d.month(),
        Cell::Text(s) => {
            let t = s.trim();
            match t.parse::<u32>() {
                Ok(n) if (1..=12).contains(&n) => n,
                Ok(_) => return Err(expected()),
                Err(_) => ["%B", "%b"]
                    .iter()
                    .find_map(|f| NaiveDate::parse_from_str(&format!("1 {t} {year}"), &format!("%d {f} %Y")).ok())
                    .map(|d| d.month())
                    .ok_or_else(expected)?,
            }
        }
        _ => return Err(expected()),
    };
    Period::new(year, m).ok_or_else(expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whole numbers take the integer path, the rest the text round trip; both give the
    /// decimal the cell shows (scale and sign included).
    #[test]
    fn number_cells_become_the_decimal_they_show() {
        for (n, text) in [
            (46296.0, "46296"),
            (-878000.0, "-878000"),
            (0.1, "0.1"),
            (412500.5, "412500.5"),
            (8999999999999999.0, "8999999999999999"),
            (1e20, "100000000000000000000"),
            (0.0, "0"),
        ] {
            let d = decimal_of_f64(n).unwrap();
            assert_eq!(
                (d.to_string(), d.scale()),
                (text.to_string(), text.split('.').nth(1).map_or(0, |f| f.len() as u32)),
                "{n}"
            );
        }
        assert_eq!(decimal_of_f64(f64::NAN), None);
    }

    const UTC: Tz = chrono_tz::UTC;

    fn t(s: &str) -> Cell {
        Cell::Text(s.into())
    }
    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }
    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn excel_serials_in_both_epochs() {
        // 46096 is 2026-03-15 in the 1900 system; the same day is 44634 in the 1904 system
        // (1462 days apart: 4 years and a day).
        assert_eq!(excel_serial(46096.0, false).unwrap().date(), d("2026-03-15"));
        assert_eq!(excel_serial(44634.0, true).unwrap().date(), d("2026-03-15"));
        assert_eq!(excel_serial(1.0, false).unwrap().date(), d("1900-01-01"));
        assert_eq!(excel_serial(61.0, false).unwrap().date(), d("1900-03-01"));
        assert_eq!(excel_serial(0.0, true), None);
        // Excel's "1900-01-00" (a date cell holding 0) and far-future typos are rejected.
        let zero = Cell::DateTime(NaiveDate::from_ymd_opt(1899, 12, 31).unwrap().and_hms_opt(0, 0, 0).unwrap());
        assert!(date(&zero, false, DateOrder::MonthFirst, UTC).unwrap_err().contains("not a plausible date"));
        assert!(date(&t("9999-12-31"), false, DateOrder::MonthFirst, UTC).is_err());
        assert_eq!(excel_serial(f64::NAN, false), None);
        assert_eq!(date(&Cell::Number(46096.0), false, DateOrder::MonthFirst, UTC).unwrap(), d("2026-03-15"));
    }

    #[test]
    fn text_dates_follow_the_configured_order() {
        let mdy = DateOrder::MonthFirst;
        let dmy = DateOrder::DayFirst;
        assert_eq!(date(&t("03/04/2026"), false, mdy, UTC).unwrap(), d("2026-03-04"));
        assert_eq!(date(&t("03/04/2026"), false, dmy, UTC).unwrap(), d("2026-04-03"));
        assert_eq!(date(&t("15.03.26"), false, dmy, UTC).unwrap(), d("2026-03-15"));
        assert_eq!(date(&t("2026-03-15 00:00:00"), false, dmy, UTC).unwrap(), d("2026-03-15"));
        assert_eq!(date(&t("2026/03/15"), false, mdy, UTC).unwrap(), d("2026-03-15"));
        assert_eq!(date(&t("Mar 15, 2026"), false, dmy, UTC).unwrap(), d("2026-03-15"));
        assert_eq!(date(&t("15-Mar-2026"), false, mdy, UTC).unwrap(), d("2026-03-15"));
        // 15/03/2026 is not a date in month-first order: an error, never a silent swap.
        let err = date(&t("15/03/2026"), false, mdy, UTC).unwrap_err();
        assert!(err.contains("03/15/2026"), "{err}");
        assert!(date(&t("next Tuesday"), false, mdy, UTC).is_err());
        assert!(date(&t("2026-02-30"), false, mdy, UTC).is_err());
        // An instant with an offset lands on the org's local date: 03:30 UTC on 1 April is
        // 23:30 on 31 March in New York, so the deal counts in March.
        let ny = chrono_tz::America::New_York;
        assert_eq!(date(&t("2026-04-01T03:30:00Z"), false, mdy, ny).unwrap(), d("2026-03-31"));
        assert_eq!(date(&t("2026-04-01T03:30:00Z"), false, mdy, UTC).unwrap(), d("2026-04-01"));
        assert_eq!(date(&t("2026-03-31T23:30:00-04:00"), false, mdy, ny).unwrap(), d("2026-03-31"));
    }

    #[test]
    fn money_as_numbers_and_text() {
        let us = NumberStyle::default();
        let eu = NumberStyle { decimal: ',' };
        assert_eq!(money(&Cell::Number(412500.0), us).unwrap(), dec("412500"));
        assert_eq!(money(&Cell::Number(0.1), us).unwrap(), dec("0.1"));
        assert_eq!(money(&t("$412,500.00"), us).unwrap(), dec("412500.00"));
        assert_eq!(money(&t("(1,250.00)"), us).unwrap(), dec("-1250.00"));
        assert_eq!(money(&t("-$1,250.00"), us).unwrap(), dec("-1250.00"));
        assert_eq!(money(&t("$-1,250.00"), us).unwrap(), dec("-1250.00"));
        assert_eq!(money(&t("1250-"), us).unwrap(), dec("-1250"));
        assert_eq!(money(&t("USD 99.5"), us).unwrap(), dec("99.5"));
        assert_eq!(money(&t("1.234,50 €"), eu).unwrap(), dec("1234.50"));
        assert_eq!(money(&t("1 234 500,00 €"), eu).unwrap(), dec("1234500.00"));
        for bad in ["1,23.00", "12,34", "$", "abc", "1.234,50", "4l2,500", ""] {
            assert!(money(&t(bad), us).is_err(), "{bad}");
        }
    }

    #[test]
    fn splits_as_percent_or_fraction() {
        let us = NumberStyle::default();
        assert_eq!(split(&t("50%"), us).unwrap(), dec("0.5"));
        assert_eq!(split(&t("33.3 %"), us).unwrap(), dec("0.333"));
        assert_eq!(split(&t("60"), us).unwrap(), dec("0.6"));
        assert_eq!(split(&t("0.5"), us).unwrap(), dec("0.5"));
        assert_eq!(split(&t("1"), us).unwrap(), dec("1"));
        assert_eq!(split(&t("1%"), us).unwrap(), dec("0.01"));
        assert_eq!(split(&Cell::Number(0.25), us).unwrap(), dec("0.25"));
        assert_eq!(split(&Cell::Number(40.0), us).unwrap(), dec("0.4"));
        assert!(split(&t("120%"), us).is_err());
        assert!(split(&t("0%"), us).is_err());
    }

    #[test]
    fn flags_and_counts() {
        for (s, v) in [("Yes", true), ("n", false), ("TRUE", true), ("0", false), ("x", true), (" Y ", true)] {
            assert_eq!(flag(&t(s)).unwrap(), v, "{s}");
        }
        assert!(flag(&t("maybe")).is_err());
        assert!(flag(&Cell::Number(1.0)).unwrap());
        assert_eq!(count(&Cell::Number(3.0)).unwrap(), 3);
        assert_eq!(count(&t("12")).unwrap(), 12);
        assert!(count(&Cell::Number(-1.0)).is_err());
        assert!(count(&Cell::Number(1.5)).is_err());
    }

    #[test]
    fn months_in_common_shapes() {
        let o = DateOrder::MonthFirst;
        for s in ["2026-03", "2026/3", "03/2026", "Mar 2026", "March 2026", "2026-03-01"] {
            assert_eq!(month(&t(s), false, o, UTC).unwrap().to_string(), "2026-03", "{s}");
        }
        assert!(month(&t("2026-13"), false, o, UTC).is_err());
        for c in [t("March"), t("mar"), t(" MAR "), t("3"), Cell::Number(3.0)] {
            assert_eq!(month_of_year(&c, 2014).unwrap().to_string(), "2014-03", "{c:?}");
        }
        assert_eq!(
            month_of_year(&t("Marchember"), 2014).unwrap_err(),
            "expected a month of 2014 such as March, Mar or 3"
        );
        assert!(month_of_year(&Cell::Number(13.0), 2014).is_err());
    }
}
