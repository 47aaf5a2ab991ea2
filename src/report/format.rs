//! Number formatting for the org's locale and currency: money in whole currency units,
//! percents to one decimal, plain decimals. Formatting happens here, in Rust, never in
//! templates, so a template cannot format a figure differently from a PDF.

use rust_decimal::Decimal;

use crate::domain::{Judged, Standards, percent_shown, shown};

/// Locale and currency conventions (config `org.locale`, `org.currency`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    group: &'static str,
    decimal: char,
    symbol: String,
    symbol_first: bool,
    percent_space: bool,
}

/// Locales quotad formats for.
pub const LOCALES: [&str; 10] =
    ["en-US", "en-CA", "en-GB", "en-AU", "de-DE", "fr-FR", "fr-CA", "es-ES", "es-MX", "nl-NL"];

impl Format {
    /// Conventions for `locale` (one of [`LOCALES`]) and the ISO 4217 `currency` code.
    /// Errors say which locales are known; an unknown currency code is shown as its code.
    pub fn new(locale: &str, currency: &str) -> Result<Format, String> {
        let (group, decimal, symbol_first, percent_space) = match locale {
            "en-US" | "en-CA" | "en-GB" | "en-AU" | "es-MX" => (",", '.', true, false),
            "de-DE" | "es-ES" => (".", ',', false, true),
            "nl-NL" => (".", ',', true, false),
            "fr-FR" | "fr-CA" => ("\u{202f}", ',', false, true),
            other => return Err(format!("unknown locale '{other}': expected one of {}", LOCALES.join(", "))),
        };
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!("'{currency}' is not an ISO 4217 currency code such as USD, EUR or GBP"));
        }
        let symbol = match (currency, locale) {
            ("USD", "en-US") | ("CAD", "en-CA" | "fr-CA") | ("AUD", "en-AU") | ("MXN", "es-MX") => "$".to_string(),
            ("USD", _) => "US$".into(),
            ("EUR", _) => "€".into(),
            ("GBP", _) => "£".into(),
            (code, _) => code.to_string(),
        };
        Ok(Format { group, decimal, symbol, symbol_first, percent_space })
    }

    /// The digits of `v`, which [`shown`] has already rounded, grouped for the locale;
    /// the sign is left to the caller.
    fn grouped(&self, v: Decimal) -> String {
        let s = v.abs().to_string();
        let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
        let mut out = String::new();
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                out.push_str(self.group);
            }
            out.push(c);
        }
        if !frac.is_empty() {
            out.push(self.decimal);
            out.push_str(frac);
        }
        out
    }

    /// The sign and digits of a value [`shown`] has rounded.
    fn signed(&self, r: Decimal) -> String {
        let sign = if r < Decimal::ZERO { "-" } else { "" };
        format!("{sign}{}", self.grouped(r))
    }

    /// Money rounded half away from zero to whole currency units: `$7,095,000`,
    /// `-$1,250`, `-$1` for -0.5, `7.095.000 €` (de-DE).
    pub fn money(&self, v: Decimal) -> String {
        let r = shown(v, 0, &[]);
        let sign = if r < Decimal::ZERO { "-" } else { "" };
        let n = self.grouped(r);
        if self.symbol_first { format!("{sign}{}{n}", self.symbol) } else { format!("{sign}{n}\u{a0}{}", self.symbol) }
    }

    /// A fraction as a percent with one decimal: 0.87549 -> `87.5%` (`87,5 %` in de-DE),
    /// -0.0005 -> `-0.1%`. A fraction below 1 never shows as `100.0%` (0.9995 ->
    /// `99.9%`): see [`crate::domain::percent_shown`].
    pub fn percent(&self, fraction: Decimal) -> String {
        self.percent_vs(fraction, &[])
    }

    /// [`Format::percent`] of a figure also judged against `thresholds` (fractions, e.g.
    /// the 0.9 clean-paperwork standard): a fraction below one of them never shows at or
    /// above it (0.8996 against 0.9 -> `89.9%`).
    pub fn percent_vs(&self, fraction: Decimal, thresholds: &[Decimal]) -> String {
        self.percent_shown(percent_shown(fraction, thresholds))
    }

    /// A percent already rounded for display (one of [`crate::domain::Standards::shown`]'s
    /// percents, a board value), with its sign and the locale's percent sign.
    pub fn percent_shown(&self, percent: Decimal) -> String {
        let space = if self.percent_space { "\u{a0}" } else { "" };
        format!("{}{space}%", self.signed(percent))
    }

    /// A figure judged against the org's standards, formatted as displayed and ranked
    /// ([`crate::domain::Standards::shown`]): attainment, pace and clean paperwork as
    /// percents, a rating to one decimal.
    pub fn judged(&self, standards: &Standards, figure: Judged, value: Decimal) -> String {
        let v = standards.shown(figure, value);
        match figure {
            Judged::Rating => self.signed(v),
            Judged::Attainment | Judged::Pace | Judged::CleanPaperwork => self.percent_shown(v),
        }
    }

    /// A number with exactly `dp` decimals, half away from zero (ratings: `4.0`, `4.3`).
    pub fn fixed(&self, v: Decimal, dp: u32) -> String {
        self.fixed_vs(v, dp, &[])
    }

    /// [`Format::fixed`] of a figure judged against `thresholds` (same units, e.g. the
    /// 4.0 rating standard): a value below one is never shown at or above it (3.96
    /// against 4.0 -> `3.9`).
    pub fn fixed_vs(&self, v: Decimal, dp: u32, thresholds: &[Decimal]) -> String {
        self.signed(shown(v, dp, thresholds))
    }

    /// A plain number with up to `dp` decimals, trailing zeros dropped: 10 -> `10`,
    /// 4.25 with dp 1 -> `4.3`.
    pub fn number(&self, v: Decimal, dp: u32) -> String {
        self.signed(shown(v, dp, &[]).normalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn us_and_european_conventions() {
        let us = Format::new("en-US", "USD").unwrap();
        assert_eq!(us.money(d("7095000")), "$7,095,000");
        assert_eq!(us.money(d("-1250.5")), "-$1,251");
        assert_eq!(us.money(d("999.49")), "$999");
        assert_eq!(us.money(d("-0.4")), "$0");
        assert_eq!(us.percent(d("0.87549")), "87.5%");
        assert_eq!(us.percent(d("1.7")), "170.0%");
        assert_eq!(us.percent(d("-0.05")), "-5.0%");
        assert_eq!(us.number(d("10.00"), 1), "10");
        assert_eq!(us.number(d("4.25"), 1), "4.3");
        assert_eq!(us.number(d("1234.5"), 1), "1,234.5");
        assert_eq!(us.fixed(d("3"), 1), "3.0");
        assert_eq!(us.fixed(d("4.25"), 1), "4.3");
        let de = Format::new("de-DE", "EUR").unwrap();
        assert_eq!(de.money(d("1234500")), "1.234.500\u{a0}€");
        assert_eq!(de.percent(d("0.875")), "87,5\u{a0}%");
        let fr = Format::new("fr-FR", "EUR").unwrap();
        assert_eq!(fr.money(d("1234500")), "1\u{202f}234\u{202f}500\u{a0}€");
        assert!(Format::new("xx-YY", "USD").unwrap_err().contains("en-US"));
        assert!(Format::new("en-US", "dollars").is_err());
        assert_eq!(Format::new("en-GB", "USD").unwrap().money(d("5")), "US$5");
    }

    #[test]
    fn signs_come_from_the_one_rounded_value() {
        // Issue 26.5: the sign and the digits come from one rounding (half away from zero).
        let us = Format::new("en-US", "USD").unwrap();
        assert_eq!(us.money(d("-0.5")), "-$1", "-0.5 rounds away from zero to -1");
        assert_eq!(us.money(d("-2.5")), "-$3");
        assert_eq!(us.money(d("0.5")), "$1");
        assert_eq!(us.money(d("-0.49")), "$0", "rounds to zero: no minus sign");
        // -0.0005 = -0.05% -> -0.1% (half away from zero), as it is ranked.
        assert_eq!(us.percent(d("-0.0005")), "-0.1%");
        assert_eq!(crate::domain::percent_1dp(d("-0.0005")), d("-0.1"));
        assert_eq!(us.percent(d("-0.0004")), "0.0%", "rounds to zero: no minus sign");
        assert_eq!(us.fixed(d("-0.05"), 1), "-0.1");
        assert_eq!(us.number(d("-0.05"), 1), "-0.1");
    }

    #[test]
    fn a_value_below_a_threshold_is_never_shown_at_it() {
        let us = Format::new("en-US", "USD").unwrap();
        // 0.9995 = 99.95%: half away from zero would give 100.0%, but it is below quota.
        assert_eq!(us.percent(d("0.9995")), "99.9%");
        assert_eq!(crate::domain::percent_1dp(d("0.9995")), d("99.9"));
        assert_eq!(us.percent(d("0.99999")), "99.9%");
        assert_eq!(us.percent(d("1")), "100.0%");
        assert_eq!(us.percent(d("1.00001")), "100.0%");
        // Away from a threshold the rounding is unchanged: 108.555% -> 108.6%, 87.96% -> 88.0%.
        assert_eq!(us.percent(d("1.08555")), "108.6%");
        assert_eq!(us.percent(d("0.8796")), "88.0%");
        // A clean-paperwork rate of 89.96% against a 90% standard; a rating of 3.96 against 4.0.
        assert_eq!(us.percent_vs(d("0.8996"), &[d("0.9")]), "89.9%");
        assert_eq!(us.percent_vs(d("0.9"), &[d("0.9")]), "90.0%");
        assert_eq!(us.percent_vs(d("0.7996"), &[d("0.9")]), "80.0%", "not judged against 80%");
        assert_eq!(us.fixed_vs(d("3.96"), 1, &[d("4.0")]), "3.9");
        assert_eq!(us.fixed_vs(d("3.95"), 1, &[d("4.0")]), "3.9");
        assert_eq!(us.fixed_vs(d("4"), 1, &[d("4.0")]), "4.0");
        assert_eq!(us.fixed_vs(d("4.96"), 1, &[d("4.0")]), "5.0");
        let de = Format::new("de-DE", "EUR").unwrap();
        assert_eq!(de.percent(d("0.9995")), "99,9\u{a0}%");
        // The displayed value keeps its one decimal (JSON "0.0", "200.0").
        assert_eq!(crate::domain::percent_1dp(d("0")).to_string(), "0.0");
        assert_eq!(crate::domain::percent_1dp(d("2")).to_string(), "200.0");
    }
}
