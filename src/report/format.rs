//! Formatting for the org's locale and currency: money (whole currency units, or the
//! currency's minor units), percents to one decimal, plain decimals, months and dates.
//! Formatting happens here, in Rust, never in templates, so a template cannot format a
//! figure differently from a PDF.
//!
//! The conventions come from CLDR through ICU4X's compiled data (issue 20): the
//! locale's digits, group and decimal separators, minus sign and percent pattern
//! (`icu_decimal`, `icu_experimental`'s percent formatter), the currency's symbol in
//! that locale and where it goes (`icu_experimental`'s currency formatter: stable ICU4X
//! has no currency formatting yet), month names and date patterns in the Gregorian
//! calendar (`icu_datetime`). Every figure is rounded first, once, by
//! [`crate::domain::shown`] (the display rule: a value below a threshold never shows at
//! or above it), and ICU4X only lays out the digits it is given, so the display rule
//! holds in every locale. The currency formatter always pads to the currency's minor
//! units, so money takes from it only what goes before and after the digits
//! (`affixes`), and lays out quotad's own rounded digits between them.

use std::fmt;
use std::sync::{Arc, OnceLock};

use chrono::{Datelike, NaiveDate};
use fixed_decimal::Decimal as Digits;
use icu_calendar::{Date, Gregorian};
use icu_datetime::FixedCalendarDateTimeFormatter;
use icu_datetime::fieldsets::{MD, YM, YMD};
use icu_decimal::DecimalFormatter;
use icu_experimental::dimension::currency::CurrencyType;
use icu_experimental::dimension::currency::formatter::CurrencyFormatter;
use icu_experimental::dimension::percent::formatter::PercentFormatter;
use icu_experimental::displaynames::provider::{LocaleNamesLanguageV0, LocaleNamesRegionV0};
use icu_locale_core::Locale;
use icu_provider::prelude::*;
use rust_decimal::Decimal;

use super::words::Words;
use crate::domain::{Judged, NameOrder, Period, Standards, percent_shown, shown};

/// Locale and currency conventions (config `org.locale`, `org.currency`), from CLDR.
///
/// Cheap to clone (the ICU4X formatters are shared) and `Send + Sync`.
#[derive(Clone)]
pub struct Format {
    locale: String,
    currency: String,
    money_decimals: MoneyDecimals,
    icu: Arc<Formatters>,
    names: NameOrder,
    words: Arc<Words>,
}

/// The ICU4X formatters of one locale and currency, built once.
struct Formatters {
    decimal: DecimalFormatter,
    percent: PercentFormatter<DecimalFormatter>,
    /// "October 2026", "Oct 2026", "October 31, 2026", "Oct 31, 2026", "Oct 31" (en-US).
    month_long: FixedCalendarDateTimeFormatter<Gregorian, YM>,
    month_medium: FixedCalendarDateTimeFormatter<Gregorian, YM>,
    date_long: FixedCalendarDateTimeFormatter<Gregorian, YMD>,
    date_medium: FixedCalendarDateTimeFormatter<Gregorian, YMD>,
    day_month: FixedCalendarDateTimeFormatter<Gregorian, MD>,
    /// What goes before and after the digits of a positive and of a negative amount
    /// (`("R$\u{a0}", "")`, `("-R$\u{a0}", "")`), from CLDR's currency pattern.
    positive: (String, String),
    negative: (String, String),
    /// The currency's minor units in CLDR (2 for BRL, 0 for JPY).
    minor: u32,
}

/// How many decimals money shows (config `org.money_decimals`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MoneyDecimals {
    /// Whole currency units (`$7,095,000`), the default: quotas and revenue are large.
    #[default]
    Whole,
    /// The currency's minor units as CLDR gives them (`R$ 8.000.000,00`, `￥8,000,000`).
    Currency,
}

/// CLDR's long month-and-year formatter. ICU4X 2.4's own `try_new` leaves the number
/// formatter unloaded for some locales' pattern (pt, pt-BR: "MMMM 'de' y"), and the
/// year is then written through a fallback (with a debug assertion): its pattern has an
/// era variant. So the names (era and month) are loaded first, number formatting
/// included, and the plain constructor is the fallback.
fn month_year_long(
    prefs: icu_datetime::DateTimeFormatterPreferences,
) -> Result<FixedCalendarDateTimeFormatter<Gregorian, YM>, icu_datetime::DateTimeFormatterLoadError> {
    use icu_datetime::pattern::{FixedCalendarDateTimeNames, MonthNameLength, YearNameLength};
    for length in [MonthNameLength::Wide, MonthNameLength::StandaloneWide] {
        let Ok(mut names) = FixedCalendarDateTimeNames::<Gregorian, YM>::try_new(prefs) else { break };
        // The pattern may carry an era variant (pt: for years before 1 CE).
        let _ = names.include_year_names(YearNameLength::Abbreviated);
        if names.include_month_names(length).is_ok()
            && let Ok(f) = names.try_into_formatter(YM::long())
        {
            return Ok(f);
        }
    }
    FixedCalendarDateTimeFormatter::try_new(prefs, YM::long())
}

/// `d` in ICU4X's Gregorian calendar (quotad's dates are proleptic Gregorian).
fn gregorian(d: NaiveDate) -> Date<Gregorian> {
    Date::try_new_gregorian(d.year(), d.month() as u8, d.day() as u8).expect("a chrono date is a Gregorian date")
}

/// Splits CLDR's formatting of 7 in the currency (`R$ 7,00`, `-7,00 €`, `￥7`) around its
/// digits: (before, after, decimals). `seven` and `zero` are the locale's digits.
fn affixes(formatted: &str, seven: &str, zero: &str) -> (String, String, u32) {
    let Some(i) = formatted.find(seven) else { return (String::new(), String::new(), 0) };
    let (before, after) = (&formatted[..i], &formatted[i + seven.len()..]);
    match after.rfind(zero) {
        Some(j) => (before.to_string(), after[j + zero.len()..].to_string(), after.matches(zero).count() as u32),
        None => (before.to_string(), after.to_string(), 0),
    }
}

impl fmt::Debug for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Format").field("locale", &self.locale).field("currency", &self.currency).finish()
    }
}

impl PartialEq for Format {
    fn eq(&self, other: &Format) -> bool {
        self.locale == other.locale
            && self.currency == other.currency
            && self.money_decimals == other.money_decimals
            && self.words.language() == other.words.language()
    }
}
impl Eq for Format {}

/// Why a locale or currency was refused (config `org.locale`, `org.currency`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Not a BCP 47 tag at all.
    #[error("'{tag}' is not a BCP 47 locale tag such as en-US, pt-BR, de-DE or ja-JP{}", closest_hint(.closest))]
    Malformed {
        /// The tag as written.
        tag: String,
        /// The closest locales CLDR knows, best first (at most 3).
        closest: Vec<String>,
    },
    /// A well-formed tag whose language or region CLDR does not know.
    #[error("unknown locale '{tag}': CLDR knows no {}{}", unknown_part(.language, .region), closest_hint(.closest))]
    Unknown {
        /// The tag as written.
        tag: String,
        /// Its language subtag.
        language: String,
        /// Its region subtag, if any.
        region: Option<String>,
        /// The closest locales CLDR knows, best first (at most 3).
        closest: Vec<String>,
    },
    /// Not three capital letters.
    #[error("'{0}' is not an ISO 4217 currency code such as USD, EUR, GBP or BRL")]
    Currency(String),
}

fn unknown_part(language: &str, region: &Option<String>) -> String {
    match region {
        Some(r) if language_known(language) => format!("region '{r}'"),
        _ => format!("language '{language}'"),
    }
}

fn closest_hint(closest: &[String]) -> String {
    if closest.is_empty() { String::new() } else { format!("; closest known: {}", closest.join(", ")) }
}

impl FormatError {
    /// The config key the error is about: `locale` or `currency`.
    pub fn key(&self) -> &'static str {
        match self {
            FormatError::Currency(_) => "currency",
            _ => "locale",
        }
    }
}

/// CLDR's English names of languages and regions: a language or region CLDR has a name
/// for is one it knows (`xx` and `pt-XX` are not).
struct Known {
    languages: DataPayload<LocaleNamesLanguageV0>,
    regions: DataPayload<LocaleNamesRegionV0>,
}

fn known() -> &'static Known {
    static KNOWN: OnceLock<Known> = OnceLock::new();
    KNOWN.get_or_init(|| {
        let en: Locale = "en".parse().expect("en");
        let en = DataLocale::from(&en);
        let req = || DataRequest { id: DataIdentifierBorrowed::for_locale(&en), ..Default::default() };
        let baked = icu_experimental::provider::Baked;
        Known {
            languages: DataProvider::<LocaleNamesLanguageV0>::load(&baked, req()).expect("compiled data").payload,
            regions: DataProvider::<LocaleNamesRegionV0>::load(&baked, req()).expect("compiled data").payload,
        }
    })
}

/// The locales CLDR knows closest to `tag`, best first, at most 3, each with its English
/// name: `pt-BR (Portuguese)`. With a known region, its most likely language comes first
/// (`xx-BR` -> `pt-BR`); then the languages closest by edit distance to the language code
/// or to the language's English name (so `portuguese` finds `pt`). With a known language
/// and an unknown region, the regions one letter away (`pt-BX` -> `pt-BR`, …).
pub fn closest_locales(tag: &str) -> Vec<String> {
    let lower = tag.trim().to_ascii_lowercase().replace('_', "-");
    let (language, rest) = lower.split_once('-').unwrap_or((&lower, ""));
    let region = rest
        .split('-')
        .find(|s| s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic()))
        .map(|r| r.to_ascii_uppercase());
    let k = known().languages.get();
    let name_of = |code: &str| {
        code.parse::<icu_locale_core::subtags::Language>()
            .ok()
            .and_then(|l| k.names.get(&l.to_tinystr().to_unvalidated()))
            .map(|n| n.to_string())
            .unwrap_or_default()
    };
    if language_known(language)
        && let Some(r) = region.as_deref()
        && !region_known(r)
    {
        let regions = known().regions.get();
        let mut near: Vec<(usize, String, String)> = regions
            .names
            .iter()
            .filter_map(|(code, name)| {
                let code = code.try_into_tinystr().ok()?.to_string();
                let d = strsim::levenshtein(r, &code);
                (d <= 1 && code.len() == 2).then(|| (d, code, name.to_string()))
            })
            .collect();
        // Regions where the language is the likely one first (pt-BX: pt-BR before pt-BA).
        near.sort_by_cached_key(|(d, code, _)| (*d, likely_language(code).as_deref() != Some(language), code.clone()));
        return near.into_iter().take(3).map(|(_, code, name)| format!("{language}-{code} ({name})")).collect();
    }
    let region = region.filter(|r| region_known(r));
    let mut out: Vec<String> = Vec::new();
    if let Some(l) = region.as_deref().and_then(likely_language) {
        out.push(l);
    }
    let mut scored: Vec<(usize, String)> = k
        .names
        .iter()
        .filter_map(|(code, name)| {
            let code = code.try_into_tinystr().ok()?.to_string();
            let special = ["und", "zxx", "mul", "mis"].contains(&code.as_str());
            let d = strsim::levenshtein(language, &code).min(strsim::levenshtein(&lower, &name.to_lowercase()));
            (!special).then_some((d, code))
        })
        .collect();
    scored.sort_by(|a, b| (a.0, a.1.len(), &a.1).cmp(&(b.0, b.1.len(), &b.1)));
    out.extend(scored.into_iter().map(|(_, c)| c));
    let mut seen = std::collections::HashSet::new();
    out.retain(|c| seen.insert(c.clone()));
    out.into_iter()
        .take(3)
        .map(|code| match &region {
            Some(r) => format!("{code}-{r} ({})", name_of(&code)),
            None => format!("{code} ({})", name_of(&code)),
        })
        .collect()
}

/// The most likely language of a region in CLDR (`BR` -> `pt`).
fn likely_language(region: &str) -> Option<String> {
    let mut id: icu_locale_core::LanguageIdentifier = format!("und-{region}").parse().ok()?;
    icu_locale::LocaleExpander::new_common().maximize(&mut id);
    Some(id.language.to_string()).filter(|l| l != "und")
}

fn language_known(language: &str) -> bool {
    let names = &known().languages.get().names;
    language
        .parse::<icu_locale_core::subtags::Language>()
        .is_ok_and(|l| names.get(&l.to_tinystr().to_unvalidated()).is_some())
}

fn region_known(region: &str) -> bool {
    let names = &known().regions.get().names;
    region
        .parse::<icu_locale_core::subtags::Region>()
        .is_ok_and(|r| names.get(&r.to_tinystr().to_unvalidated()).is_some())
}

impl Format {
    /// Conventions for `locale` (a BCP 47 tag whose language CLDR knows: `en-US`,
    /// `pt-BR`, `de-DE`, `ja-JP`, `sv-SE`, …) and the ISO 4217 `currency` code. A
    /// currency CLDR has no symbol for is shown as its code. A region CLDR has no data
    /// of its own for takes the language's conventions (`de-XX` is formatted as `de`).
    ///
    /// Errors: [`FormatError::Malformed`], [`FormatError::Unknown`] (naming the closest
    /// known locales), [`FormatError::Currency`].
    pub fn new(locale: &str, currency: &str) -> Result<Format, FormatError> {
        let parsed: Locale = locale
            .parse()
            .map_err(|_| FormatError::Malformed { tag: locale.to_string(), closest: closest_locales(locale) })?;
        let language = parsed.id.language.to_string();
        let region = parsed.id.region.map(|r| r.to_string());
        if !language_known(&language) || region.as_deref().is_some_and(|r| !region_known(r)) {
            return Err(FormatError::Unknown {
                tag: locale.to_string(),
                language,
                region,
                closest: closest_locales(locale),
            });
        }
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(FormatError::Currency(currency.to_string()));
        }
        let code = CurrencyType::try_from_str(&currency.to_ascii_lowercase())
            .map_err(|_| FormatError::Currency(currency.to_string()))?;
        let data = |e: DataError| FormatError::Malformed { tag: format!("{locale} ({e})"), closest: Vec::new() };
        let decimal = DecimalFormatter::try_new((&parsed).into(), Default::default()).map_err(data)?;
        let percent = PercentFormatter::try_new((&parsed).into(), Default::default()).map_err(data)?;
        let money = CurrencyFormatter::try_new_symbol((&parsed).into(), code, Default::default()).map_err(data)?;
        let seven = decimal.format(&Digits::from(7)).to_string();
        let zero = decimal.format(&Digits::from(0)).to_string();
        let (before, after, minor) = affixes(&money.format_fixed_decimal(&Digits::from(7)).to_string(), &seven, &zero);
        let (neg_before, neg_after, _) =
            affixes(&money.format_fixed_decimal(&Digits::from(-7)).to_string(), &seven, &zero);
        let dates = |e: icu_datetime::DateTimeFormatterLoadError| FormatError::Malformed {
            tag: format!("{locale} (dates: {e})"),
            closest: Vec::new(),
        };
        let prefs = || (&parsed).into();
        let month_long = month_year_long(prefs()).map_err(dates)?;
        let month_medium = FixedCalendarDateTimeFormatter::try_new(prefs(), YM::medium()).map_err(dates)?;
        let date_long = FixedCalendarDateTimeFormatter::try_new(prefs(), YMD::long()).map_err(dates)?;
        let date_medium = FixedCalendarDateTimeFormatter::try_new(prefs(), YMD::medium()).map_err(dates)?;
        let day_month = FixedCalendarDateTimeFormatter::try_new(prefs(), MD::medium()).map_err(dates)?;
        Ok(Format {
            locale: parsed.to_string(),
            currency: currency.to_string(),
            money_decimals: MoneyDecimals::Whole,
            icu: Arc::new(Formatters {
                decimal,
                percent,
                month_long,
                month_medium,
                date_long,
                date_medium,
                day_month,
                positive: (before, after),
                negative: (neg_before, neg_after),
                minor,
            }),
            names: NameOrder::new(&parsed),
            words: Arc::new(Words::default()),
        })
    }

    /// The same conventions writing in the language of `words` (config `org.language`).
    pub fn with_words(mut self, words: Words) -> Format {
        self.words = Arc::new(words);
        self
    }

    /// The org language's catalog of short strings.
    pub fn words(&self) -> &Words {
        &self.words
    }

    /// The catalog text of `key` ([`Words::text`]), e.g. `t("col.rank")` = "Rank".
    pub fn t(&self, key: &str) -> String {
        self.words.text(key, &[])
    }

    /// The catalog text of `key` with each `{name}` filled from `args`.
    pub fn tf(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.words.text(key, args)
    }

    /// The catalog text of `key` in its plural form for `n` ([`Words::count`]).
    pub fn tn(&self, key: &str, n: u64, args: &[(&str, &str)]) -> String {
        self.words.count(key, n, args)
    }

    /// The same conventions with money shown to `decimals`.
    pub fn with_money_decimals(mut self, decimals: MoneyDecimals) -> Format {
        self.money_decimals = decimals;
        self
    }

    /// The locale, as a canonical BCP 47 tag (`pt-BR`).
    pub fn locale(&self) -> &str {
        &self.locale
    }

    /// The order names are listed in for this locale (its CLDR collation).
    pub fn names(&self) -> &NameOrder {
        &self.names
    }

    /// The ISO 4217 currency code (`BRL`).
    pub fn currency(&self) -> &str {
        &self.currency
    }

    /// What CLDR puts before and after the digits of a positive and of a negative
    /// amount in this locale and currency: `(("$", ""), ("-$", ""))` (en-US, USD),
    /// `(("", "\u{a0}€"), ("-", "\u{a0}€"))` (de-DE, EUR). For spreadsheet number formats.
    pub fn money_affixes(&self) -> ((&str, &str), (&str, &str)) {
        let ((a, b), (c, d)) = (&self.icu.positive, &self.icu.negative);
        ((a, b), (c, d))
    }

    /// The decimals money is shown with: 0 (whole units, the default) or the currency's
    /// CLDR minor units with `org.money_decimals = "currency"` (2 for BRL, 0 for JPY).
    pub fn money_dp(&self) -> u32 {
        match self.money_decimals {
            MoneyDecimals::Whole => 0,
            MoneyDecimals::Currency => self.icu.minor,
        }
    }

    /// The exact digits of a value already rounded for display, for ICU4X. A value that
    /// rounded to zero carries no sign.
    fn digits(r: Decimal) -> Digits {
        let r = if r.is_zero() { r.abs() } else { r };
        Digits::try_from_str(&r.to_string()).expect("a rust_decimal prints as a plain decimal")
    }

    /// Money rounded half away from zero to whole currency units (or to the currency's
    /// minor units with [`MoneyDecimals::Currency`]), placed as CLDR's currency pattern
    /// says: `$7,095,000`, `-$1,251` for -1,250.5, `-$1` for -0.5, `$0` for -0.4 (no
    /// sign on a zero), `1.234.500 €` (de-DE), `R$ 8.000.000` (pt-BR; `R$ 8.000.000,00`
    /// with the currency's decimals).
    pub fn money(&self, v: Decimal) -> String {
        let r = shown(v, self.money_dp(), &[]);
        let (before, after) = if r < Decimal::ZERO { &self.icu.negative } else { &self.icu.positive };
        let digits = self.icu.decimal.format(&Self::digits(r.abs())).to_string();
        format!("{before}{digits}{after}")
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
    /// percents, a board value), with its sign and the locale's percent pattern.
    pub fn percent_shown(&self, percent: Decimal) -> String {
        self.icu.percent.format(&Self::digits(percent)).to_string()
    }

    /// A figure judged against the org's standards, formatted as displayed and ranked
    /// ([`crate::domain::Standards::shown`]): attainment, pace and clean paperwork as
    /// percents, a rating to one decimal.
    pub fn judged(&self, standards: &Standards, figure: Judged, value: Decimal) -> String {
        let v = standards.shown(figure, value);
        match figure {
            Judged::Rating => self.plain(v),
            Judged::Attainment | Judged::Pace | Judged::CleanPaperwork => self.percent_shown(v),
        }
    }

    /// The sign and digits of a value [`shown`] has rounded, in the locale's digits.
    fn plain(&self, r: Decimal) -> String {
        self.icu.decimal.format(&Self::digits(r)).to_string()
    }

    /// A number with exactly `dp` decimals, half away from zero (ratings: `4.0`, `4.3`).
    pub fn fixed(&self, v: Decimal, dp: u32) -> String {
        self.fixed_vs(v, dp, &[])
    }

    /// [`Format::fixed`] of a figure judged against `thresholds` (same units, e.g. the
    /// 4.0 rating standard): a value below one is never shown at or above it (3.96
    /// against 4.0 -> `3.9`).
    pub fn fixed_vs(&self, v: Decimal, dp: u32, thresholds: &[Decimal]) -> String {
        self.plain(shown(v, dp, thresholds))
    }

    /// A month with its year, CLDR's long form in the Gregorian calendar: "October 2026"
    /// (en-US), "outubro de 2026" (pt-BR), "Oktober 2026" (de-DE), "2026年10月" (ja-JP).
    pub fn month(&self, p: Period) -> String {
        self.icu.month_long.format(&gregorian(p.first_day())).to_string()
    }

    /// A month with its year, abbreviated: "Oct 2026" (en-US), "out. de 2026" (pt-BR).
    pub fn month_short(&self, p: Period) -> String {
        self.icu.month_medium.format(&gregorian(p.first_day())).to_string()
    }

    /// A day in full: "October 31, 2026" (en-US), "31 de outubro de 2026" (pt-BR),
    /// "31. Oktober 2026" (de-DE), "31 oktober 2026" (sv-SE).
    pub fn date(&self, d: NaiveDate) -> String {
        self.icu.date_long.format(&gregorian(d)).to_string()
    }

    /// A day, abbreviated: "Oct 31, 2026" (en-US), "31.10.2026" (de-DE).
    pub fn date_short(&self, d: NaiveDate) -> String {
        self.icu.date_medium.format(&gregorian(d)).to_string()
    }

    /// A day of the month with its month, abbreviated: "Oct 26" (en-US), "26. Okt." (de-DE).
    pub fn day_month(&self, d: NaiveDate) -> String {
        self.icu.day_month.format(&gregorian(d)).to_string()
    }

    /// A span of days, both ends abbreviated with their year (CLDR's interval formats
    /// are not in stable ICU4X): "Oct 26, 2026 – Nov 1, 2026" (en-US),
    /// "26.10.2026 – 01.11.2026" (de-DE).
    pub fn days(&self, from: NaiveDate, to: NaiveDate) -> String {
        format!("{} – {}", self.date_short(from), self.date_short(to))
    }

    /// A plain number with up to `dp` decimals, trailing zeros dropped: 10 -> `10`,
    /// 4.25 with dp 1 -> `4.3`.
    pub fn number(&self, v: Decimal, dp: u32) -> String {
        self.plain(shown(v, dp, &[]).normalize())
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
        assert!(matches!(Format::new("xx-YY", "USD").unwrap_err(), FormatError::Unknown { .. }));
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

    /// Issue 20: CLDR's conventions for any locale; every string worked out from CLDR's
    /// number and currency data (group, decimal, minus, percent pattern, symbol placement).
    #[test]
    fn cldr_locales_money_percents_numbers() {
        let nb = "\u{a0}";
        let br = Format::new("pt-BR", "BRL").unwrap();
        assert_eq!(br.money(d("8000000")), format!("R${nb}8.000.000"));
        let br2 = br.clone().with_money_decimals(MoneyDecimals::Currency);
        assert_eq!(br2.money(d("8000000")), format!("R${nb}8.000.000,00"));
        assert_eq!(br2.money(d("-1250.505")), format!("-R${nb}1.250,51"));
        assert_eq!(br2.money(d("-0.004")), format!("R${nb}0,00"), "rounds to zero: no sign");
        let jp = Format::new("ja-JP", "JPY").unwrap().with_money_decimals(MoneyDecimals::Currency);
        assert_eq!(jp.money(d("1234.5")), "￥1,235", "the yen has no minor units");
        assert_eq!(br.money(d("-1250.5")), format!("-R${nb}1.251"));
        assert_eq!(br.percent(d("0.875")), "87,5%");
        assert_eq!(br.number(d("1234.5"), 1), "1.234,5");
        let de = Format::new("de-DE", "EUR").unwrap();
        assert_eq!(de.money(d("1234500")), format!("1.234.500{nb}€"));
        assert_eq!(de.money(d("-1234500")), format!("-1.234.500{nb}€"));
        let ja = Format::new("ja-JP", "JPY").unwrap();
        assert_eq!(ja.money(d("8000000")), "￥8,000,000");
        assert_eq!(ja.percent(d("0.875")), "87.5%");
        let sv = Format::new("sv-SE", "SEK").unwrap();
        assert_eq!(sv.money(d("1234500")), format!("1\u{a0}234\u{a0}500{nb}kr"));
        assert_eq!(sv.percent(d("0.875")), format!("87,5{nb}%"));
        assert_eq!(sv.fixed(d("-0.05"), 1), "\u{2212}0,1", "sv uses the minus sign U+2212");
        // A currency CLDR has no symbol for in the locale is shown by its code.
        assert_eq!(Format::new("en-US", "BRL").unwrap().money(d("5")), "R$5");
        assert_eq!(Format::new("en-US", "XYZ").unwrap().money(d("5")), format!("XYZ{nb}5"));
        // A region CLDR has no number data of its own for takes its language's conventions.
        assert_eq!(Format::new("de-BR", "EUR").unwrap().money(d("1234500")), format!("1.234.500{nb}€"));
        assert_eq!(br.locale(), "pt-BR");
        assert_eq!(br.currency(), "BRL");
    }

    #[test]
    fn an_unknown_locale_names_the_closest_known_ones() {
        let e = Format::new("xx-BR", "BRL").unwrap_err();
        let FormatError::Unknown { language, closest, .. } = &e else { panic!("{e:?}") };
        assert_eq!(language, "xx");
        assert_eq!(closest[0], "pt-BR (Portuguese)", "the region's likely language first: {closest:?}");
        assert_eq!(closest.len(), 3, "{closest:?}");
        assert_eq!(
            e.to_string(),
            format!("unknown locale 'xx-BR': CLDR knows no language 'xx'; closest known: {}", closest.join(", "))
        );
        // A language's English name finds its code.
        let FormatError::Malformed { closest, .. } = Format::new("portuguese", "BRL").unwrap_err() else { panic!() };
        assert_eq!(closest[0], "pt (Portuguese)", "{closest:?}");
        // A known language in an unknown region: the regions one letter away.
        let e = Format::new("pt-BX", "BRL").unwrap_err();
        assert!(e.to_string().starts_with("unknown locale 'pt-BX': CLDR knows no region 'BX'; closest known: "), "{e}");
        let FormatError::Unknown { closest, .. } = e else { panic!() };
        assert_eq!(closest[0], "pt-BR (Brazil)", "where Portuguese is the likely language first: {closest:?}");
        assert!(closest.iter().all(|c| c.starts_with("pt-")), "{closest:?}");
        assert!(matches!(Format::new("en US!", "USD").unwrap_err(), FormatError::Malformed { .. }));
        let FormatError::Malformed { closest, .. } = Format::new("en_USA", "USD").unwrap_err() else { panic!() };
        assert_eq!(closest[0], "en (English)", "{closest:?}");
        assert_eq!(Format::new("en-US", "usd").unwrap_err().key(), "currency");
        assert_eq!(Format::new("zz", "USD").unwrap_err().key(), "locale");
        // Every locale the old hand-written table knew is still known.
        for l in ["en-US", "en-CA", "en-GB", "en-AU", "de-DE", "fr-FR", "fr-CA", "es-ES", "es-MX", "nl-NL"] {
            assert!(Format::new(l, "USD").is_ok(), "{l}");
        }
    }

    /// The display rule (issue 20): a figure below a line is never shown at or across it,
    /// whatever the locale's separators and percent pattern.
    #[test]
    fn the_display_rule_holds_in_every_locale() {
        let nb = "\u{a0}";
        let standards = Standards {
            rating: Some(d("4.0")),
            paperwork: Some(d("0.9")),
            min_ratings: 3,
            below_target: d("0.8"),
            off_pace: d("0.8"),
        };
        for (locale, currency, below, at, paper, rating) in [
            ("pt-BR", "BRL", "99,9%".to_string(), "100,0%".to_string(), "89,9%".to_string(), "3,9"),
            ("de-DE", "EUR", format!("99,9{nb}%"), format!("100,0{nb}%"), format!("89,9{nb}%"), "3,9"),
            ("ja-JP", "JPY", "99.9%".to_string(), "100.0%".to_string(), "89.9%".to_string(), "3.9"),
            ("sv-SE", "SEK", format!("99,9{nb}%"), format!("100,0{nb}%"), format!("89,9{nb}%"), "3,9"),
        ] {
            let f = Format::new(locale, currency).unwrap();
            assert_eq!(f.percent(d("0.9995")), below, "{locale}: 99.95% of quota");
            assert_eq!(f.judged(&standards, Judged::Attainment, d("0.99999")), below, "{locale}");
            assert_eq!(f.judged(&standards, Judged::Attainment, d("1")), at, "{locale}");
            assert_eq!(f.percent_vs(d("0.8996"), &[d("0.9")]), paper, "{locale}: 89.96% paperwork");
            assert_eq!(f.judged(&standards, Judged::CleanPaperwork, d("0.8996")), paper, "{locale}");
            assert_eq!(f.fixed_vs(d("3.96"), 1, &[d("4.0")]), rating, "{locale}: a 3.96 rating");
            assert_eq!(f.judged(&standards, Judged::Rating, d("3.96")), rating, "{locale}");
        }
    }

    /// Issue 20: dates and month names from CLDR, in the Gregorian calendar.
    #[test]
    fn dates_and_month_names_from_cldr() {
        let oct: Period = "2026-10".parse().unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 10, 31).unwrap();
        let from = NaiveDate::from_ymd_opt(2026, 10, 26).unwrap();
        let to = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let us = Format::new("en-US", "USD").unwrap();
        assert_eq!(us.month(oct), "October 2026");
        assert_eq!(us.month_short(oct), "Oct 2026");
        assert_eq!(us.date(day), "October 31, 2026");
        assert_eq!(us.days(from, to), "Oct 26, 2026 – Nov 1, 2026");
        let gb = Format::new("en-GB", "GBP").unwrap();
        assert_eq!(gb.date(day), "31 October 2026");
        assert_eq!(gb.days(from, to), "26 Oct 2026 – 1 Nov 2026");
        let de = Format::new("de-DE", "EUR").unwrap();
        assert_eq!(de.days(from, to), "26.10.2026 – 01.11.2026");
        assert_eq!(de.day_month(from), "26. Okt.");
        let br = Format::new("pt-BR", "BRL").unwrap();
        assert_eq!(br.month(oct), "outubro de 2026");
        assert_eq!(br.date(day), "31 de outubro de 2026");
        assert_eq!(de.month(oct), "Oktober 2026");
        assert_eq!(de.date(day), "31. Oktober 2026");
        let ja = Format::new("ja-JP", "JPY").unwrap();
        assert_eq!(ja.month(oct), "2026年10月");
        assert_eq!(ja.date(day), "2026年10月31日");
        let sv = Format::new("sv-SE", "SEK").unwrap();
        assert_eq!(sv.month(oct), "oktober 2026");
        assert_eq!(sv.date(day), "31 oktober 2026");
        // A Thai org still reads Gregorian years (its CLDR default is Buddhist).
        assert!(Format::new("th-TH", "THB").unwrap().date(day).contains("2026"));
        // Every date form writes without ICU4X's "unexpected error" in many locales (pt's
        // long month needed a workaround: `month_year_long`).
        for l in [
            "en-US", "en-GB", "pt-BR", "pt-PT", "es-ES", "es-MX", "fr-FR", "fr-CA", "de-DE", "de-CH", "it-IT", "nl-NL",
            "sv-SE", "nb-NO", "da-DK", "fi-FI", "pl-PL", "cs-CZ", "ru-RU", "uk-UA", "tr-TR", "el-GR", "he-IL", "ar-EG",
            "hi-IN", "th-TH", "ja-JP", "ko-KR", "zh-CN", "zh-TW", "vi-VN", "id-ID",
        ] {
            let f = Format::new(l, "USD").unwrap();
            let r = std::panic::catch_unwind(|| {
                (f.month(oct), f.month_short(oct), f.date(day), f.date_short(day), f.day_month(day))
            });
            assert!(r.is_ok(), "{l}");
            let (m, ..) = r.unwrap();
            assert!(!m.is_empty(), "{l}");
        }
    }
}
