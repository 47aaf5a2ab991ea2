//! `[org]` and `[paths]`: who the org is (name, time zone, number format) and where
//! its files live (inbox, archive, quarantine, outbox, reports, state, templates).
//!
//! Imports `report::Format` (the number and currency format it validates into) and
//! serde/toml/chrono-tz; nothing else.

use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;
use crate::domain::{FiscalCalendar, FyNamedBy};
use crate::report::{Format, Language, MoneyDecimals, Words};

/// What to do with an inbox file once it is imported (config `paths.after_import`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AfterImport {
    /// Move it to the archive folder (rejected files to quarantine).
    Move,
    /// Leave it in the inbox (a read-only or shared inbox); rejected files are copied to
    /// quarantine with their report. Files already imported are recognised by content.
    Keep,
}

/// Where the state lives (config `paths.state`): an SQLite file (the embedded default)
/// or a PostgreSQL database, for several instances sharing one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateLocation {
    /// An SQLite file, absolute (resolved against the config file's folder).
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL, `postgres://` or `postgresql://`, exactly as
    /// configured. It never holds a password: libpq's `PGPASSWORD` gives that.
    Postgres(String),
}

impl StateLocation {
    /// The SQLite file, or `None` for PostgreSQL.
    pub fn sqlite(&self) -> Option<&Path> {
        match self {
            StateLocation::Sqlite(p) => Some(p),
            StateLocation::Postgres(_) => None,
        }
    }

    /// For messages: the file's path, or the URL (which holds no password).
    pub fn display(&self) -> std::borrow::Cow<'_, str> {
        match self {
            StateLocation::Sqlite(p) => p.to_string_lossy(),
            StateLocation::Postgres(url) => url.as_str().into(),
        }
    }

    /// Parses `paths.state`: a URL starting `postgres://` or `postgresql://` is
    /// PostgreSQL, anything else a file path resolved by `abs`.
    ///
    /// Errors (the message names `paths.state`): a URL holding a password (it comes
    /// from the environment, `PGPASSWORD`, never from quotad.toml); a URL without a
    /// host.
    pub fn parse(text: &str, abs: &dyn Fn(&Path) -> PathBuf) -> Result<StateLocation, String> {
        let lower = text.to_ascii_lowercase();
        let Some(rest) =
            ["postgres://", "postgresql://"].iter().find_map(|p| lower.starts_with(p).then(|| &text[p.len()..]))
        else {
            return Ok(StateLocation::Sqlite(abs(Path::new(text))));
        };
        let authority = rest.split(['/', '?']).next().unwrap_or("");
        if let Some((userinfo, _)) = authority.rsplit_once('@')
            && userinfo.contains(':')
        {
            return Err("paths.state: the PostgreSQL URL holds a password; quotad.toml never holds secrets: remove it from the URL and set the environment variable PGPASSWORD (libpq's) for quotad instead".into());
        }
        let query = rest.split_once('?').map(|(_, q)| q).unwrap_or("");
        if query.split('&').any(|kv| kv.to_ascii_lowercase().starts_with("password=")) {
            return Err("paths.state: the PostgreSQL URL holds a password (password=); quotad.toml never holds secrets: remove it and set the environment variable PGPASSWORD (libpq's) for quotad instead".into());
        }
        let host = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
        if host.is_empty() && !query.split('&').any(|kv| kv.to_ascii_lowercase().starts_with("host=")) {
            return Err(format!(
                "paths.state: the PostgreSQL URL '{text}' names no host: expected e.g. postgres://quotad@db.internal/quotad"
            ));
        }
        Ok(StateLocation::Postgres(text.to_string()))
    }
}

/// Org settings (config `[org]`).
#[derive(Debug, Clone)]
pub struct Org {
    /// Org name, shown in e-mails.
    pub name: String,
    /// IANA time zone: periods are calendar months in this zone.
    pub time_zone: Tz,
    /// Number, currency and date formatting and the order of names, from CLDR for
    /// `org.locale`, `org.currency` and `org.money_decimals`.
    pub format: Format,
    /// The fiscal year (config `org.fiscal_year_start`, default January, and
    /// `org.fiscal_year_named_by`, default "end").
    pub fiscal: FiscalCalendar,
}

/// Folders and files, all absolute (config `[paths]`).
#[derive(Debug, Clone)]
pub struct Paths {
    /// Where CRM exports, quotas and rosters are dropped.
    pub inbox: PathBuf,
    /// Where imported files go.
    pub archive: PathBuf,
    /// Where rejected files go, with an error report beside each.
    pub quarantine: PathBuf,
    /// Where the file transport writes .eml files.
    pub outbox: PathBuf,
    /// Where ranking PDFs and 1:1 prep sheets are written (config `paths.reports`,
    /// default "reports"): `ranking_YYYY-Www.pdf`, `one-on-one_YYYY-MM_NAME.pdf`.
    pub reports: PathBuf,
    /// The state database (config `paths.state`, default "quotad.sqlite"): an SQLite
    /// file, or a PostgreSQL database named by a `postgres://` URL.
    pub state: StateLocation,
    /// Folder of template overrides, if any.
    pub templates: Option<PathBuf>,
    /// What happens to imported files.
    pub after_import: AfterImport,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOrg {
    name: String,
    time_zone: Tz,
    #[serde(default = "default_currency")]
    currency: Spanned<String>,
    #[serde(default = "default_locale")]
    locale: Spanned<String>,
    #[serde(default)]
    money_decimals: RawMoneyDecimals,
    fiscal_year_start: Option<Spanned<toml::Value>>,
    fiscal_year_named_by: Option<Spanned<String>>,
    /// The language of memos and documents; default: `locale`'s language.
    #[serde(default)]
    language: Option<Spanned<String>>,
}

/// `org.money_decimals`: "whole" (default) or "currency".
#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum RawMoneyDecimals {
    #[default]
    Whole,
    Currency,
}

fn default_currency() -> Spanned<String> {
    Spanned::new(0..0, "USD".into())
}
fn default_locale() -> Spanned<String> {
    Spanned::new(0..0, "en-US".into())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawPaths {
    inbox: PathBuf,
    archive: PathBuf,
    quarantine: PathBuf,
    outbox: PathBuf,
    reports: PathBuf,
    state: Spanned<String>,
    templates: Option<PathBuf>,
    after_import: AfterImport,
}

impl Default for RawPaths {
    fn default() -> Self {
        RawPaths {
            inbox: "inbox".into(),
            archive: "archive".into(),
            quarantine: "quarantine".into(),
            outbox: "outbox".into(),
            reports: "reports".into(),
            state: Spanned::new(0..0, "quotad.sqlite".into()),
            templates: None,
            after_import: AfterImport::Move,
        }
    }
}

/// Validates `[org]`: the locale and currency must make a [`Format`].
pub(super) fn org(
    raw: &RawOrg,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<Org, ConfigError> {
    let format = Format::new(raw.locale.get_ref(), raw.currency.get_ref()).map_err(|e| {
        let span = if e.key() == "locale" { raw.locale.span() } else { raw.currency.span() };
        err(span, format!("org.{}: {e}", e.key()))
    })?;
    let format = format.with_money_decimals(match raw.money_decimals {
        RawMoneyDecimals::Whole => MoneyDecimals::Whole,
        RawMoneyDecimals::Currency => MoneyDecimals::Currency,
    });
    Ok(Org { name: raw.name.clone(), time_zone: raw.time_zone, format, fiscal: fiscal(raw, err)? })
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// `org.fiscal_year_start` (a month name such as "April" or "Apr", or its number 1-12)
/// and `org.fiscal_year_named_by` ("end", the default, or "start").
fn fiscal(
    raw: &RawOrg,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<FiscalCalendar, ConfigError> {
    let start_month = match &raw.fiscal_year_start {
        None => 1,
        Some(v) => {
            let m = match v.get_ref() {
                toml::Value::Integer(n) if (1..=12).contains(n) => Some(*n as u32),
                toml::Value::String(s) => {
                    let s = s.trim().to_lowercase();
                    MONTHS.iter().position(|m| s.len() >= 3 && m.starts_with(&s)).map(|i| i as u32 + 1)
                }
                _ => None,
            };
            m.ok_or_else(|| {
                err(
                    v.span(),
                    format!(
                        "org.fiscal_year_start: '{}' is not a month: expected a month name such as \"April\" or its number 1-12",
                        v.get_ref().to_string().trim_matches('"')
                    ),
                )
            })?
        }
    };
    let named_by = match raw.fiscal_year_named_by.as_ref().map(|s| (s.span(), s.get_ref().as_str())) {
        None | Some((_, "end")) => FyNamedBy::End,
        Some((_, "start")) => FyNamedBy::Start,
        Some((span, other)) => {
            return Err(err(
                span,
                format!(
                    "org.fiscal_year_named_by: '{other}' must be \"end\" (April 2026 – March 2027 is FY2027) or \"start\" (it is FY2026)"
                ),
            ));
        }
    };
    Ok(FiscalCalendar { start_month, named_by })
}

/// Chooses the language of memos and documents (`org.language`, else `org.locale`'s
/// language, else English: [`Language::choose`]) and loads its catalog of short strings
/// into `org.format` (bundled, or from `paths.templates`).
pub(super) fn language(
    raw: &RawOrg,
    org: &mut Org,
    paths: &Paths,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<(), ConfigError> {
    let templates = paths.templates.as_deref();
    let configured = raw.language.as_ref();
    let language = Language::choose(configured.map(|l| l.get_ref().as_str()), raw.locale.get_ref(), templates)
        .map_err(|e| err(configured.map(|l| l.span()).unwrap_or(0..0), format!("org.language: {e}")))?;
    let words = Words::load(templates, &language)
        .map_err(|e| err(configured.map(|l| l.span()).unwrap_or(0..0), format!("language catalog {e}")))?;
    org.format = org.format.clone().with_words(words);
    Ok(())
}

/// `[paths]` with each path resolved by `abs` (against the config file's folder).
///
/// Errors: `paths.state` is a PostgreSQL URL holding a password, or naming no host.
pub(super) fn paths(
    p: &RawPaths,
    abs: &dyn Fn(&Path) -> PathBuf,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<Paths, ConfigError> {
    let state = StateLocation::parse(p.state.get_ref(), abs).map_err(|m| err(p.state.span(), m))?;
    Ok(Paths {
        inbox: abs(&p.inbox),
        archive: abs(&p.archive),
        quarantine: abs(&p.quarantine),
        outbox: abs(&p.outbox),
        reports: abs(&p.reports),
        state,
        templates: p.templates.as_deref().map(abs),
        after_import: p.after_import,
    })
}
