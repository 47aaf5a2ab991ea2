//! Config: `quotad.toml` -> a validated [`Config`] composed of each stage's settings.
//!
//! Raw TOML is read into `Raw*` structs (serde, unknown keys are errors), then
//! validated into the stages' own settings types once (ripgrep's lowargs -> hiargs).
//! Every error names the file, the line and the key. Paths are resolved against the
//! config file's folder. Secrets are never read from this file.
//!
//! This file holds the top-level [`Config`], the error type and loading
//! ([`Config::from_file`] -> [`Config::parse`], which composes the parts); each part's
//! `Raw*` types and validation live beside it: `org` (`[org]`, `[paths]`),
//! `sources` (`[ingest]`, `[stages]`, `[sources.NAME]`), `mail` (`[mail]`,
//! `[mail.smtp]`), `metrics` (`[metrics]`, `[calendar]`), `pdf` (`[pdf]`), `schedule`
//! (`[schedule]`, `[quota_memo]`), `approval` (`[quota_memo.approval]`), `weekly`
//! (`[weekly_ranking]`) and `web` (`[web]`).
//!
//! May import `domain` and the settings types of the stages it composes (`ingest`,
//! `deliver`, `metrics`, `report`, `schedule`), plus serde/toml; never `pipeline`,
//! `store` or `cmd`. Callers use the re-exports here (`crate::config::Paths`, …).

mod approval;
mod channels;
mod mail;
mod metrics;
mod org;
mod pdf;
mod schedule;
mod sources;
mod web;
mod weekly;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;
use serde::Deserialize;
use toml::Spanned;

pub use approval::{ApprovalSettings, AtDeadline};
pub use channels::{Channel, ChannelJob};
pub use org::{AfterImport, Org, Paths, StateLocation};
pub use schedule::QuotaMemoSettings;
pub use web::WebSettings;
pub use weekly::{FullTo, WeeklyRankingSettings};

/// A config error: where, and what was expected.
#[derive(Debug, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
pub struct ConfigError {
    /// The config file.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong, naming the key.
    pub message: String,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from.
    pub file: PathBuf,
    /// Org settings.
    pub org: Org,
    /// Folders.
    pub paths: Paths,
    /// Ingest settings shared by sources.
    pub ingest: crate::ingest::Settings,
    /// A file is rejected whole when more than this fraction (0..=1) of its data rows is bad.
    pub max_rejected_fraction: Decimal,
    /// Sources, in config order.
    pub sources: Vec<crate::ingest::Source>,
    /// Mail settings.
    pub mail: crate::deliver::Settings,
    /// Metric thresholds and the selling-day calendar.
    pub metrics: crate::metrics::Settings,
    /// Quota memo settings.
    pub quota_memo: QuotaMemoSettings,
    /// PDF paper size and fonts (config `[pdf]`).
    pub pdf: crate::report::PdfSettings,
    /// The calendar `quotad serve` runs (config `[schedule]`).
    pub schedule: crate::schedule::Calendar,
    /// How the weekly ranking is distributed (config `[weekly_ranking]`).
    pub weekly_ranking: WeeklyRankingSettings,
    /// The board's web face (config `[web]`; off by default).
    pub web: WebSettings,
    /// Chat channels posted to beside e-mail (config `[[channels]]`), in config order.
    pub channels: Vec<Channel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    org: org::RawOrg,
    #[serde(default)]
    paths: org::RawPaths,
    #[serde(default)]
    ingest: sources::RawIngest,
    #[serde(default)]
    stages: sources::RawStages,
    #[serde(default)]
    metrics: metrics::RawMetrics,
    #[serde(default)]
    calendar: metrics::RawCalendar,
    #[serde(default)]
    quota_memo: schedule::RawQuotaMemo,
    sources: Spanned<BTreeMap<String, Spanned<sources::RawSource>>>,
    mail: mail::RawMail,
    #[serde(default)]
    pdf: pdf::RawPdf,
    #[serde(default)]
    schedule: schedule::RawSchedule,
    #[serde(default)]
    weekly_ranking: weekly::RawWeeklyRanking,
    #[serde(default)]
    web: web::RawWeb,
    #[serde(default)]
    channels: Vec<channels::RawChannel>,
}

/// 1-based line of byte offset `at` in `text`; `None` for the synthetic 0..0 span of a default.
fn line_of(text: &str, span: std::ops::Range<usize>) -> Option<usize> {
    (span != (0..0)).then(|| text[..span.start.min(text.len())].bytes().filter(|&b| b == b'\n').count() + 1)
}

impl Config {
    /// Reads and validates the config file. Relative paths inside are resolved against
    /// the file's folder.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.display().to_string(),
            line: None,
            message: format!("cannot read the config file: {e} (pass --config PATH, or run from the folder that holds config/quotad.toml)"),
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let base = if base.as_os_str().is_empty() { PathBuf::from(".") } else { base };
        Config::parse(&text, &path.display().to_string(), &base)
    }

    /// Parses config `text` (named `file` in errors), resolving relative paths against `base`.
    pub fn parse(text: &str, file: &str, base: &Path) -> Result<Config, ConfigError> {
        let err = |span: std::ops::Range<usize>, message: String| ConfigError {
            file: file.into(),
            line: line_of(text, span),
            message,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            let line = line_of(text, span.clone());
            let snippet =
                line.and_then(|l| text.lines().nth(l - 1)).map(|l| format!(" (`{}`)", l.trim())).unwrap_or_default();
            ConfigError { file: file.into(), line, message: format!("{}{snippet}", e.message().trim()) }
        })?;
        // The parts are checked in this order (the order of the one-file parser before
        // the split), so a file with several mistakes reports the same one first.
        let mut org = org::org(&raw.org, &err)?;
        let abs = |p: &Path| if p.is_absolute() { p.to_path_buf() } else { base.join(p) };
        let paths = org::paths(&raw.paths, &abs, &err)?;
        org::language(&raw.org, &mut org, &paths, &err)?;
        let (mut ingest, max_rejected_fraction) =
            sources::ingest_settings(&raw.ingest, &raw.stages, org.time_zone, &err)?;
        ingest.fiscal = org.fiscal;
        let sources = sources::sources(raw.sources, &ingest, &err)?;
        let (from, reply_to, admin) = mail::addresses(&raw.mail, &err)?;
        let transport = mail::transport(&raw.mail, &err, &abs)?;
        let mut metrics = metrics::settings(&raw.metrics, &raw.calendar, org.time_zone, &err)?;
        metrics.names = org.format.names().clone();
        metrics.cancellation_lookback_months = sources::cancellation_lookback(&raw.ingest, &err)?;
        let quota_memo = schedule::quota_memo(&raw.quota_memo, &err)?;
        mail::spare_smtp(&raw.mail, &transport, &err, &abs)?;
        let retry = mail::retry_policy(&raw.mail, &err)?;
        let pdf = pdf::settings(&raw.pdf, &err, &abs)?;
        let schedule = schedule::settings(&raw.schedule, org.time_zone, &err)?;
        let weekly_ranking = weekly::settings(&raw.weekly_ranking, &err)?;
        let web = web::settings(&raw.web, &err)?;
        let channels = channels::channels(&raw.channels, &err)?;
        Ok(Config {
            web,
            channels,
            weekly_ranking,
            schedule,
            quota_memo,
            metrics,
            file: PathBuf::from(file),
            org,
            paths,
            ingest,
            max_rejected_fraction,
            sources,
            mail: crate::deliver::Settings { from, reply_to, admin, transport, retry },
            pdf,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::StageClass;
    use crate::ingest::DateOrder;

    pub(super) const MINIMAL: &str = r#"
[org]
name = "Example Homes"
time_zone = "America/Chicago"

[sources.deals]
kind = "deals"
files = ["crm-export-*.xlsx"]

[sources.roster]
kind = "roster"
files = ["roster.csv"]

[mail]
from = "Sales Ops <ops@example.com>"
"#;

    pub(super) fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, "quotad.toml", Path::new("/srv/quotad"))
    }

    #[test]
    fn paths_state_is_a_file_or_a_postgres_url_without_password() {
        let with = |state: &str| parse(&format!("{MINIMAL}\n[paths]\nstate = \"{state}\"\n"));
        assert_eq!(
            with("db/q.sqlite").unwrap().paths.state,
            StateLocation::Sqlite(PathBuf::from("/srv/quotad/db/q.sqlite"))
        );
        for url in
            ["postgres://quotad@db.internal/quotad", "postgresql://quotad@db.internal:5433/quotad?sslmode=disable"]
        {
            assert_eq!(with(url).unwrap().paths.state, StateLocation::Postgres(url.into()));
        }
        for url in
            ["postgres://quotad:s3cret@db.internal/quotad", "postgres://quotad@db.internal/quotad?password=s3cret"]
        {
            let e = with(url).unwrap_err();
            assert_eq!(e.line, Some(18), "{e}"); // the `state = ` line
            assert!(e.message.starts_with("paths.state: the PostgreSQL URL holds a password"), "{e}");
            assert!(e.message.contains("PGPASSWORD"), "{e}");
        }
        let e = with("postgres:///quotad").unwrap_err();
        assert!(e.message.starts_with("paths.state: the PostgreSQL URL 'postgres:///quotad' names no host"), "{e}");
    }

    #[test]
    fn minimal_config_gets_documented_defaults() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.org.time_zone, chrono_tz::America::Chicago);
        assert_eq!(c.paths.inbox, PathBuf::from("/srv/quotad/inbox"));
        assert_eq!(c.paths.state, StateLocation::Sqlite(PathBuf::from("/srv/quotad/quotad.sqlite")));
        assert_eq!(c.paths.after_import, AfterImport::Move);
        assert_eq!(c.ingest.date_order, DateOrder::MonthFirst);
        assert_eq!(c.ingest.stage_class("closed won"), Some(StageClass::Won));
        assert_eq!(c.ingest.stage_class("Canceled"), Some(StageClass::Cancelled));
        assert_eq!(c.max_rejected_fraction, Decimal::ZERO);
        assert_eq!(c.sources.len(), 2);
        assert!(c.sources[0].matches("CRM-Export-2026-03.xlsx"));
    }

    #[test]
    fn unknown_keys_and_bad_values_name_key_and_line() {
        let e =
            parse(&MINIMAL.replace("time_zone = \"America/Chicago\"", "time_zone = \"America/Chicgo\"")).unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.to_string().contains("time_zone"), "{e}");
        let e = parse(&MINIMAL.replace("[mail]", "[mail]\nfrm = \"x\"")).unwrap_err();
        assert_eq!(e.line, Some(15), "{e}");
        assert!(e.message.contains("unknown field `frm`"), "{e}");
        let e =
            parse(&MINIMAL.replace("kind = \"deals\"", "kind = \"deals\"\ncolumns.amont = [\"Price\"]")).unwrap_err();
        assert_eq!(e.line, Some(8), "{e}");
        assert!(e.message.contains("sources.deals.columns.amont"), "{e}");
        assert!(e.message.contains("amount"), "{e}");
        let e =
            parse(&MINIMAL.replace("from = \"Sales Ops <ops@example.com>\"", "from = \"not an address\"")).unwrap_err();
        assert!(e.message.starts_with("mail.from:"), "{e}");
        assert_eq!(e.line, Some(15));
        let c = parse(&format!("{MINIMAL}\n[ingest]\ncancellation_lookback_months = 3\n")).unwrap();
        assert_eq!(c.metrics.cancellation_lookback_months, 3);
        assert_eq!(parse(MINIMAL).unwrap().metrics.cancellation_lookback_months, 9);
        let e = parse(&format!("{MINIMAL}\n[ingest]\ncancellation_lookback_months = 121\n")).unwrap_err();
        assert!(e.message.contains("ingest.cancellation_lookback_months: 121 must be from 0 to 120"), "{e}");
        let e = parse(&format!("{MINIMAL}\n[ingest]\nmax_rejected_fraction = 5.0\n")).unwrap_err();
        assert!(e.message.contains("ingest.max_rejected_fraction"), "{e}");
        assert_eq!(e.line, Some(18));
        let e = parse(
            &MINIMAL.replace("time_zone = \"America/Chicago\"", "time_zone = \"America/Chicago\"\nlocale = \"xx\""),
        )
        .unwrap_err();
        assert!(e.message.contains("org.locale"), "{e}");
        // Issue 20: an unknown locale names the closest known ones, at its line.
        let e = parse(
            &MINIMAL.replace("time_zone = \"America/Chicago\"", "time_zone = \"America/Chicago\"\nlocale = \"xx-BR\""),
        )
        .unwrap_err();
        assert!(
            e.message.starts_with(
                "org.locale: unknown locale 'xx-BR': CLDR knows no language 'xx'; closest known: pt-BR (Portuguese), "
            ),
            "{e}"
        );
        assert_eq!(e.line, Some(5), "{e}");
        let c = parse(&MINIMAL.replace(
            "time_zone = \"America/Chicago\"",
            "time_zone = \"America/Chicago\"\nlocale = \"pt-BR\"\ncurrency = \"BRL\"\nmoney_decimals = \"currency\"",
        ))
        .unwrap();
        assert_eq!(c.org.format.money(rust_decimal::Decimal::from(8_000_000)), "R$\u{a0}8.000.000,00");
        assert_eq!(c.metrics.names.locale(), "pt-BR");
        let e =
            parse(&MINIMAL.replace(
                "time_zone = \"America/Chicago\"",
                "time_zone = \"America/Chicago\"\nmoney_decimals = \"cents\"",
            ))
            .unwrap_err();
        assert!(e.message.contains("money_decimals"), "{e}");
        let e = parse(&MINIMAL.replace("kind = \"roster\"", "kind = \"deals\"")).unwrap_err();
        assert!(e.message.contains("kind = \"roster\""), "{e}");
    }

    #[test]
    fn fiscal_year_start_and_naming() {
        use crate::domain::{FiscalCalendar, FyNamedBy};
        let tz = "time_zone = \"America/Chicago\"";
        assert_eq!(parse(MINIMAL).unwrap().org.fiscal, FiscalCalendar::default());
        let c = parse(&MINIMAL.replace(tz, &format!("{tz}\nfiscal_year_start = \"April\""))).unwrap();
        assert_eq!(c.org.fiscal, FiscalCalendar { start_month: 4, named_by: FyNamedBy::End });
        let c = parse(&MINIMAL.replace(tz, &format!("{tz}\nfiscal_year_start = 10\nfiscal_year_named_by = \"start\"")))
            .unwrap();
        assert_eq!(c.org.fiscal, FiscalCalendar { start_month: 10, named_by: FyNamedBy::Start });
        let e = parse(&MINIMAL.replace(tz, &format!("{tz}\nfiscal_year_start = \"Aprl\""))).unwrap_err();
        assert_eq!(
            e.message,
            "org.fiscal_year_start: 'Aprl' is not a month: expected a month name such as \"April\" or its number 1-12"
        );
        assert_eq!(e.line, Some(5), "{e}");
        let e = parse(&MINIMAL.replace(tz, &format!("{tz}\nfiscal_year_named_by = \"ending\""))).unwrap_err();
        assert!(e.message.starts_with("org.fiscal_year_named_by: 'ending' must be \"end\""), "{e}");
    }
}
