//! Number formatting for the org's locale and currency: money in whole currency units,
//! percents to one decimal, plain decimals. Formatting happens here, in Rust, never in
//! templates, so a template cannot format a figure differently from a PDF.

use rust_decimal::{Decimal, RoundingStrategy};

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

    fn grouped(&self, v: Decimal, dp: u32) -> String {
        let v = v.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero).abs();
        let s = format!("{v:.prec$}", prec = dp as usize);
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

    /// Money rounded half away from zero to whole currency units: `$7,095,000`,
    /// `-$1,250`, `7.095.000 €` (de-DE).
    pub fn money(&self, v: Decimal) -> String {
        let sign = if v.round() < Decimal::ZERO { "-" } else { "" };
        let n = self.grouped(v, 0);
        if self.symbol_first { format!("{sign}{}{n}", self.symbol) } else { format!("{sign}{n}\u{a0}{}", self.symbol) }
    }

    /// A fraction as a percent with one decimal: 0.87549 -> `87.5%` (`87,5 %` in de-DE).
    pub fn percent(&self, fraction: Decimal) -> String {
        let p = fraction * Decimal::ONE_HUNDRED;
        let sign = if p.round_dp(1) < Decimal::ZERO { "-" } else { "" };
        let space = if self.percent_space { "\u{a0}" } else { "" };
        format!("{sign}{}{space}%", self.grouped(p, 1))
    }

    /// A number with exactly `dp` decimals (ratings: `4.0`, `4.3`).
    pub fn fixed(&self, v: Decimal, dp: u32) -> String {
        let r = v.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
        let sign = if r < Decimal::ZERO { "-" } else { "" };
        format!("{sign}{}", self.grouped(r, dp))
    }

    /// A plain number with up to `dp` decimals, trailing zeros dropped: 10 -> `10`,
    /// 4.25 with dp 1 -> `4.3`.
    pub fn number(&self, v: Decimal, dp: u32) -> String {
        let r = v.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero).normalize();
        let sign = if r < Decimal::ZERO { "-" } else { "" };
        format!("{sign}{}", self.grouped(r, r.scale()))
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
}
