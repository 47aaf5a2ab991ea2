//! Config: `quotad.toml` -> a validated [`Config`] composed of each stage's settings.
//!
//! Raw TOML is read into `Raw*` structs (serde, unknown keys are errors), then
//! validated into the stages' own settings types once (ripgrep's lowargs -> hiargs).
//! Every error names the file, the line and the key. Paths are resolved against the
//! config file's folder. Secrets are never read from this file.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::Deserialize;
use toml::Spanned;

use crate::deliver::{self, TransportKind};
use crate::domain::{StageClass, fold_name};
use crate::ingest::{self, ColumnMap, DateOrder, NumberStyle, Preset, QuotaSpan, SourceKind};
use crate::metrics::{self, SellingCalendar};
use crate::report::{self, Format};

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

/// Org settings (config `[org]`).
#[derive(Debug, Clone)]
pub struct Org {
    /// Org name, shown in e-mails.
    pub name: String,
    /// IANA time zone: periods are calendar months in this zone.
    pub time_zone: Tz,
    /// Number and currency formatting.
    pub format: Format,
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
    /// The SQLite state database.
    pub state: PathBuf,
    /// Folder of template overrides, if any.
    pub templates: Option<PathBuf>,
    /// What happens to imported files.
    pub after_import: AfterImport,
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
    pub ingest: ingest::Settings,
    /// A file is rejected whole when more than this fraction (0..=1) of its data rows is bad.
    pub max_rejected_fraction: Decimal,
    /// Sources, in config order.
    pub sources: Vec<ingest::Source>,
    /// Mail settings.
    pub mail: deliver::Settings,
    /// Metric thresholds and the selling-day calendar.
    pub metrics: metrics::Settings,
    /// Quota memo settings.
    pub quota_memo: QuotaMemoSettings,
    /// PDF paper size and fonts (config `[pdf]`).
    pub pdf: report::PdfSettings,
    /// The calendar `quotad serve` runs (config `[schedule]`).
    pub schedule: crate::schedule::Calendar,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    org: RawOrg,
    #[serde(default)]
    paths: RawPaths,
    #[serde(default)]
    ingest: RawIngest,
    #[serde(default)]
    stages: RawStages,
    #[serde(default)]
    metrics: RawMetrics,
    #[serde(default)]
    calendar: RawCalendar,
    #[serde(default)]
    quota_memo: RawQuotaMemo,
    sources: Spanned<BTreeMap<String, Spanned<RawSource>>>,
    mail: RawMail,
    #[serde(default)]
    pdf: RawPdf,
    #[serde(default)]
    schedule: RawSchedule,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawPdf {
    paper: report::Paper,
    fallback_fonts: Vec<PathBuf>,
    one_on_one_mail: report::OneOnOneMail,
    trend_months: Spanned<u32>,
}

impl Default for RawPdf {
    fn default() -> Self {
        RawPdf {
            paper: report::Paper::default(),
            fallback_fonts: Vec::new(),
            one_on_one_mail: report::OneOnOneMail::default(),
            trend_months: Spanned::new(0..0, 6),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOrg {
    name: String,
    time_zone: Tz,
    #[serde(default = "default_currency")]
    currency: Spanned<String>,
    #[serde(default = "default_locale")]
    locale: Spanned<String>,
}

fn default_currency() -> Spanned<String> {
    Spanned::new(0..0, "USD".into())
}
fn default_locale() -> Spanned<String> {
    Spanned::new(0..0, "en-US".into())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawPaths {
    inbox: PathBuf,
    archive: PathBuf,
    quarantine: PathBuf,
    outbox: PathBuf,
    reports: PathBuf,
    state: PathBuf,
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
            state: "quotad.sqlite".into(),
            templates: None,
            after_import: AfterImport::Move,
        }
    }
}

#[derive(Deserialize, Clone, Copy)]
enum RawDateOrder {
    #[serde(rename = "mdy")]
    Mdy,
    #[serde(rename = "dmy")]
    Dmy,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawIngest {
    date_order: RawDateOrder,
    decimal_separator: Spanned<String>,
    header_search_rows: Spanned<usize>,
    max_rejected_fraction: Spanned<f64>,
    rating_scale: Spanned<u32>,
    // Limits (ingest::Limits): file size, zip bombs, sheet size.
    max_file_mb: Spanned<u64>,
    max_unzipped_mb: Spanned<u64>,
    max_zip_ratio: Spanned<u64>,
    max_rows: Spanned<u32>,
    max_columns: Spanned<u32>,
    max_cells: Spanned<u64>,
    max_merged_cells: Spanned<u64>,
}

impl Default for RawIngest {
    fn default() -> Self {
        RawIngest {
            date_order: RawDateOrder::Mdy,
            decimal_separator: Spanned::new(0..0, ".".into()),
            header_search_rows: Spanned::new(0..0, 30),
            max_rejected_fraction: Spanned::new(0..0, 0.0),
            rating_scale: Spanned::new(0..0, 5),
            max_file_mb: Spanned::new(0..0, 100),
            max_unzipped_mb: Spanned::new(0..0, 1000),
            max_zip_ratio: Spanned::new(0..0, 1000),
            max_rows: Spanned::new(0..0, 1_048_576),
            max_columns: Spanned::new(0..0, 1000),
            max_cells: Spanned::new(0..0, 20_000_000),
            max_merged_cells: Spanned::new(0..0, 2_000_000),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawStages {
    won: Vec<String>,
    cancelled: Vec<String>,
    ignored: Vec<String>,
}

impl Default for RawStages {
    fn default() -> Self {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
        RawStages {
            won: v(&["Closed Won", "Won", "Sold", "Closed"]),
            cancelled: v(&["Cancelled", "Canceled", "Cancellation"]),
            ignored: v(&[
                "Pending",
                "Open",
                "Lost",
                "Closed Lost",
                "Prospecting",
                "Engaging",
                "Qualified",
                "Negotiation",
            ]),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawMetrics {
    min_ratings: u32,
    min_history: u32,
    below_target: Spanned<f64>,
    off_pace: Spanned<f64>,
    rating_standard: Option<f64>,
    paperwork_standard: Option<Spanned<f64>>,
}

impl Default for RawMetrics {
    fn default() -> Self {
        RawMetrics {
            min_ratings: 3,
            min_history: 3,
            below_target: Spanned::new(0..0, 0.8),
            off_pace: Spanned::new(0..0, 0.8),
            rating_standard: Some(4.0),
            paperwork_standard: Some(Spanned::new(0..0, 0.9)),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawQuotaMemo {
    wait_for_final_until: Spanned<String>,
}

impl Default for RawQuotaMemo {
    fn default() -> Self {
        RawQuotaMemo { wait_for_final_until: Spanned::new(0..0, "2 12:00".into()) }
    }
}

/// Quota memo settings (config `[quota_memo]`).
#[derive(Debug, Clone, Copy)]
pub struct QuotaMemoSettings {
    /// If last month's final export is not loaded, wait until this day of the memo month…
    pub wait_day: u32,
    /// …at this local time, then send with last month marked preliminary.
    pub wait_time: chrono::NaiveTime,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawCalendar {
    selling_days: Spanned<Vec<String>>,
    holidays: Vec<chrono::NaiveDate>,
}

impl Default for RawCalendar {
    fn default() -> Self {
        let all = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].iter().map(|d| d.to_string()).collect();
        RawCalendar { selling_days: Spanned::new(0..0, all), holidays: Vec::new() }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    kind: SourceKind,
    files: Vec<String>,
    sheet: Option<String>,
    #[serde(default)]
    columns: BTreeMap<String, Spanned<Vec<String>>>,
    email_pattern: Option<String>,
    manager_email_pattern: Option<String>,
    preset: Option<Spanned<Preset>>,
    fixed_stage: Option<Spanned<String>>,
    header: Option<Spanned<Vec<String>>>,
    quota_period: Option<Spanned<String>>,
    distribution: Option<Spanned<Vec<f64>>>,
    quota_layout: Option<Spanned<String>>,
    #[serde(default)]
    encoding: ingest::TextEncoding,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMail {
    from: Spanned<String>,
    reply_to: Option<Spanned<String>>,
    admin: Option<Spanned<String>>,
    #[serde(default = "default_transport")]
    transport: Spanned<String>,
    #[serde(default = "default_max_attempts")]
    max_attempts: Spanned<u32>,
    #[serde(default = "default_retry_initial")]
    retry_initial_seconds: Spanned<u64>,
    #[serde(default = "default_retry_max")]
    retry_max_seconds: Spanned<u64>,
    smtp: Option<Spanned<RawSmtp>>,
}

fn default_transport() -> Spanned<String> {
    Spanned::new(0..0, "file".into())
}
fn default_max_attempts() -> Spanned<u32> {
    Spanned::new(0..0, 5)
}
fn default_retry_initial() -> Spanned<u64> {
    Spanned::new(0..0, 30)
}
fn default_retry_max() -> Spanned<u64> {
    Spanned::new(0..0, 600)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmtp {
    host: Spanned<String>,
    port: Option<Spanned<u16>>,
    #[serde(default = "default_tls")]
    tls: Spanned<String>,
    username: Option<Spanned<String>>,
    password_env: Option<Spanned<String>>,
    /// Only so that a password written here gets a precise error (never read).
    password: Option<Spanned<toml::Value>>,
    ca_file: Option<PathBuf>,
    #[serde(default = "default_connect_timeout")]
    connect_timeout_seconds: Spanned<u64>,
    #[serde(default = "default_command_timeout")]
    command_timeout_seconds: Spanned<u64>,
    #[serde(default)]
    max_per_minute: u32,
}

fn default_tls() -> Spanned<String> {
    Spanned::new(0..0, "starttls".into())
}
fn default_connect_timeout() -> Spanned<u64> {
    Spanned::new(0..0, 30)
}
fn default_command_timeout() -> Spanned<u64> {
    Spanned::new(0..0, 60)
}

/// A headerless file's column list (config `sources.NAME.header`): each entry a field of
/// `kind` or "" for a column to skip. Every required field and one rep field must be
/// there, none twice.
fn headerless_columns(
    kind: SourceKind,
    list: &[String],
    fixed_stage: bool,
) -> Result<Vec<Option<&'static str>>, String> {
    let mut out = Vec::new();
    for name in list {
        if name.trim().is_empty() {
            out.push(None);
            continue;
        }
        let Some(spec) = kind.field(name) else {
            let known: Vec<&str> = kind.fields().iter().map(|f| f.name).collect();
            return Err(format!(
                "'{name}' is not a field of a {} source; list the file's columns in order, each one of {} or \"\" to skip it",
                kind.as_str(),
                known.join(", ")
            ));
        };
        if out.contains(&Some(spec.name)) {
            return Err(format!("'{name}' is listed twice"));
        }
        out.push(Some(spec.name));
    }
    let has = |f: &str| out.contains(&Some(f));
    for f in kind.fields().iter().filter(|f| f.required) {
        let excused = (f.name == "stage" && fixed_stage) || (f.name == "rep_name" && has("rep_id"));
        if !has(f.name) && !excused {
            return Err(format!("the list has no '{}', which a {} file needs", f.name, kind.as_str()));
        }
    }
    if !["rep_id", "rep_email", "rep_name"].iter().any(|f| has(f)) {
        return Err("the list needs one of rep_id, rep_email, rep_name".into());
    }
    Ok(out)
}

/// `quota_period` ("month", "quarter" or "year") and `distribution` (percent per month
/// of the quarter or year, summing to 100; default equal) of a quotas source.
fn quota_span(
    kind: SourceKind,
    period: Option<&Spanned<String>>,
    distribution: Option<&Spanned<Vec<f64>>>,
    key: &str,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<QuotaSpan, ConfigError> {
    if kind != SourceKind::Quotas {
        if let Some(p) = period {
            return Err(err(p.span(), format!("{key}.quota_period applies to quotas sources only")));
        }
        if let Some(d) = distribution {
            return Err(err(d.span(), format!("{key}.distribution applies to quotas sources only")));
        }
        return Ok(QuotaSpan::Month);
    }
    let months = match period.map(|p| p.get_ref().as_str()) {
        None | Some("month") => 1,
        Some("quarter") => 3,
        Some("year") => 12,
        Some(other) => {
            return Err(err(
                period.map(|p| p.span()).unwrap_or(0..0),
                format!("{key}.quota_period: '{other}' must be \"month\", \"quarter\" or \"year\""),
            ));
        }
    };
    let pcts = match distribution {
        None => ingest::even_percents(months),
        Some(_) if months == 1 => {
            return Err(err(
                distribution.map(|d| d.span()).unwrap_or(0..0),
                format!("{key}.distribution needs quota_period = \"quarter\" or \"year\""),
            ));
        }
        Some(d) => {
            let v: Vec<Decimal> =
                d.get_ref().iter().map(|x| Decimal::from_str(&x.to_string()).unwrap_or_default()).collect();
            let sum: Decimal = v.iter().sum();
            if v.len() != months || sum != Decimal::ONE_HUNDRED || v.iter().any(|x| x.is_sign_negative()) {
                return Err(err(
                    d.span(),
                    format!(
                        "{key}.distribution: {} percentages adding up to {}; expected {months} (one per month of the {}), none negative, adding up to 100",
                        v.len(),
                        sum.normalize(),
                        if months == 3 { "quarter" } else { "year" }
                    ),
                ));
            }
            v
        }
    };
    Ok(match months {
        1 => QuotaSpan::Month,
        3 => QuotaSpan::Quarter(pcts),
        _ => QuotaSpan::Year(pcts),
    })
}

/// Whether `s` can be an environment variable's name: ASCII letters, digits and `_`,
/// not starting with a digit.
fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
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

        let format = Format::new(raw.org.locale.get_ref(), raw.org.currency.get_ref()).map_err(|m| {
            let span = if m.contains("locale") { raw.org.locale.span() } else { raw.org.currency.span() };
            err(span, format!("org.{}: {m}", if m.contains("locale") { "locale" } else { "currency" }))
        })?;
        let org = Org { name: raw.org.name.clone(), time_zone: raw.org.time_zone, format };

        let abs = |p: &Path| if p.is_absolute() { p.to_path_buf() } else { base.join(p) };
        let p = raw.paths;
        let paths = Paths {
            inbox: abs(&p.inbox),
            archive: abs(&p.archive),
            quarantine: abs(&p.quarantine),
            outbox: abs(&p.outbox),
            reports: abs(&p.reports),
            state: abs(&p.state),
            templates: p.templates.as_deref().map(abs),
            after_import: p.after_import,
        };

        let decimal = match raw.ingest.decimal_separator.get_ref().as_str() {
            "." => '.',
            "," => ',',
            other => {
                return Err(err(
                    raw.ingest.decimal_separator.span(),
                    format!("ingest.decimal_separator: '{other}' must be \".\" (1,234.50) or \",\" (1.234,50)"),
                ));
            }
        };
        let fraction = *raw.ingest.max_rejected_fraction.get_ref();
        if !(0.0..=1.0).contains(&fraction) {
            return Err(err(
                raw.ingest.max_rejected_fraction.span(),
                format!("ingest.max_rejected_fraction: {fraction} must be a fraction from 0 to 1 (0.01 = 1% of rows)"),
            ));
        }
        let rows = &raw.ingest.header_search_rows;
        if !(1..=10_000).contains(rows.get_ref()) {
            return Err(err(
                rows.span(),
                format!("ingest.header_search_rows: {} must be from 1 to 10000", rows.get_ref()),
            ));
        }
        let scale = &raw.ingest.rating_scale;
        if *scale.get_ref() == 0 {
            return Err(err(
                scale.span(),
                "ingest.rating_scale: must be 1 or more (5 for 1–5 stars, 10 for 0–10)".into(),
            ));
        }
        let limits = ingest_limits(&raw.ingest).map_err(|(span, m)| err(span, m))?;
        let mut stages = HashMap::new();
        for (list, class) in [
            (&raw.stages.won, StageClass::Won),
            (&raw.stages.cancelled, StageClass::Cancelled),
            (&raw.stages.ignored, StageClass::Ignored),
        ] {
            for s in list {
                if let Some(prev) = stages.insert(fold_name(s), class)
                    && prev != class
                {
                    return Err(err(
                        0..0,
                        format!("stages: '{s}' is listed both as {} and as {}", prev.as_str(), class.as_str()),
                    ));
                }
            }
        }
        let ingest = ingest::Settings {
            date_order: match raw.ingest.date_order {
                RawDateOrder::Mdy => DateOrder::MonthFirst,
                RawDateOrder::Dmy => DateOrder::DayFirst,
            },
            number_style: NumberStyle { decimal },
            header_search_rows: *raw.ingest.header_search_rows.get_ref(),
            stages,
            rating_scale: Decimal::from(*raw.ingest.rating_scale.get_ref()),
            time_zone: raw.org.time_zone,
            today: None,
            limits,
        };

        let mut sources = Vec::new();
        let sources_span = raw.sources.span();
        for (name, spanned) in raw.sources.into_inner() {
            let span = spanned.span();
            let s = spanned.into_inner();
            let key = format!("sources.{name}");
            if s.files.is_empty() {
                return Err(err(
                    span,
                    format!("{key}.files: list at least one file pattern, e.g. [\"crm-export-*.xlsx\"]"),
                ));
            }
            let files = s
                .files
                .iter()
                .map(|f| {
                    glob::Pattern::new(f)
                        .map_err(|e| err(span.clone(), format!("{key}.files: '{f}' is not a valid pattern: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let preset = s.preset.as_ref().map(|p| *p.get_ref()).unwrap_or(Preset::Generic);
            ColumnMap::new(s.kind, preset, &BTreeMap::new()).map_err(|m| {
                err(s.preset.as_ref().map(|p| p.span()).unwrap_or(span.clone()), format!("{key}.preset: {m}"))
            })?;
            let mut overrides = BTreeMap::new();
            for (field, headers) in &s.columns {
                let one: BTreeMap<String, Vec<String>> = [(field.clone(), headers.get_ref().clone())].into();
                ColumnMap::new(s.kind, preset, &one)
                    .map_err(|m| err(headers.span(), format!("{key}.columns.{field}: {m}")))?;
                overrides.insert(field.clone(), headers.get_ref().clone());
            }
            let columns = ColumnMap::new(s.kind, preset, &overrides)
                .map_err(|m| err(span.clone(), format!("{key}.columns: {m}")))?;
            let fixed_stage = match &s.fixed_stage {
                None => None,
                Some(_) if s.kind != SourceKind::Deals => {
                    return Err(err(span, format!("{key}.fixed_stage applies to deals sources only")));
                }
                Some(f) if !ingest.stages.contains_key(&fold_name(f.get_ref())) => {
                    return Err(err(
                        f.span(),
                        format!(
                            "{key}.fixed_stage: '{}' is in none of stages.won, stages.cancelled, stages.ignored",
                            f.get_ref()
                        ),
                    ));
                }
                Some(f) => Some(f.get_ref().clone()),
            };
            let header = match &s.header {
                None => None,
                Some(h) => Some(
                    headerless_columns(s.kind, h.get_ref(), fixed_stage.is_some())
                        .map_err(|m| err(h.span(), format!("{key}.header: {m}")))?,
                ),
            };
            let quota_span = quota_span(s.kind, s.quota_period.as_ref(), s.distribution.as_ref(), &key, &err)?;
            let quota_wide = match &s.quota_layout {
                None => false,
                Some(l) if s.kind != SourceKind::Quotas => {
                    return Err(err(l.span(), format!("{key}.quota_layout applies to quotas sources only")));
                }
                Some(l) => match l.get_ref().as_str() {
                    "rows" => false,
                    "wide" if quota_span != QuotaSpan::Month || s.header.is_some() => {
                        return Err(err(
                            l.span(),
                            format!(
                                "{key}.quota_layout = \"wide\" takes its months from the header: it cannot be combined with quota_period or header"
                            ),
                        ));
                    }
                    "wide" => true,
                    other => {
                        return Err(err(
                            l.span(),
                            format!(
                                "{key}.quota_layout: '{other}' must be \"rows\" (a row per rep and month) or \"wide\" (a column per month)"
                            ),
                        ));
                    }
                },
            };
            if s.kind != SourceKind::Roster && (s.email_pattern.is_some() || s.manager_email_pattern.is_some()) {
                return Err(err(
                    span,
                    format!("{key}: email_pattern and manager_email_pattern apply to roster sources only"),
                ));
            }
            for (k, pat) in [("email_pattern", &s.email_pattern), ("manager_email_pattern", &s.manager_email_pattern)] {
                if let Some(p) = pat
                    && (!p.contains('@') || !(p.contains("{first}") || p.contains("{last}") || p.contains("{name}")))
                {
                    return Err(err(
                        span,
                        format!("{key}.{k}: '{p}' should look like \"{{first}}.{{last}}@example.com\""),
                    ));
                }
            }
            sources.push(ingest::Source {
                name,
                kind: s.kind,
                files,
                sheet: s.sheet,
                columns,
                email_pattern: s.email_pattern,
                manager_email_pattern: s.manager_email_pattern,
                preset,
                fixed_stage,
                header,
                quota_span,
                quota_wide,
                encoding: s.encoding,
            });
        }
        for kind in [SourceKind::Deals, SourceKind::Roster] {
            let is = |k: SourceKind| k == kind || (kind == SourceKind::Deals && k == SourceKind::Summary);
            if !sources.iter().any(|s| is(s.kind)) {
                return Err(err(
                    sources_span.clone(),
                    format!(
                        "sources: no source has kind = \"{}\"{}; quotad needs one",
                        kind.as_str(),
                        if kind == SourceKind::Deals { " (or \"summary\")" } else { "" }
                    ),
                ));
            }
        }

        let mail_err = |s: &Spanned<String>, key: &str, m: String| err(s.span(), format!("mail.{key}: {m}"));
        let from = deliver::parse_mailbox(raw.mail.from.get_ref()).map_err(|m| mail_err(&raw.mail.from, "from", m))?;
        let reply_to = raw
            .mail
            .reply_to
            .as_ref()
            .map(|r| deliver::parse_mailbox(r.get_ref()).map_err(|m| mail_err(r, "reply_to", m)))
            .transpose()?;
        let admin = raw
            .mail
            .admin
            .as_ref()
            .map(|r| deliver::parse_mailbox(r.get_ref()).map_err(|m| mail_err(r, "admin", m)))
            .transpose()?;
        let transport = match raw.mail.transport.get_ref().as_str() {
            "file" => TransportKind::File,
            "smtp" => match &raw.mail.smtp {
                Some(smtp) => TransportKind::Smtp(smtp_settings(smtp, &err, &abs)?),
                None => {
                    return Err(mail_err(
                        &raw.mail.transport,
                        "transport",
                        "\"smtp\" needs a [mail.smtp] table with at least host = \"smtp.example.com\"".into(),
                    ));
                }
            },
            other => {
                return Err(mail_err(
                    &raw.mail.transport,
                    "transport",
                    format!("'{other}' must be \"file\" or \"smtp\""),
                ));
            }
        };
        let fraction_key = |v: &Spanned<f64>, key: &str| -> Result<Decimal, ConfigError> {
            let x = *v.get_ref();
            if !(0.0..=10.0).contains(&x) {
                return Err(err(v.span(), format!("{key}: {x} must be a fraction such as 0.8 (= 80%)")));
            }
            Ok(Decimal::from_str(&x.to_string()).unwrap_or_default())
        };
        let m = &raw.metrics;
        let mut days = [false; 7];
        for d in raw.calendar.selling_days.get_ref() {
            let i = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                .iter()
                .position(|x| d.to_lowercase().starts_with(x))
                .ok_or_else(|| {
                    err(
                        raw.calendar.selling_days.span(),
                        format!("calendar.selling_days: '{d}' is not a day; use Mon, Tue, Wed, Thu, Fri, Sat, Sun"),
                    )
                })?;
            days[i] = true;
        }
        if !days.contains(&true) {
            return Err(err(
                raw.calendar.selling_days.span(),
                "calendar.selling_days: list at least one day, e.g. [\"Mon\", \"Tue\"]".into(),
            ));
        }
        let metrics = metrics::Settings {
            min_ratings: m.min_ratings,
            min_history: m.min_history,
            below_target: fraction_key(&m.below_target, "metrics.below_target")?,
            off_pace: fraction_key(&m.off_pace, "metrics.off_pace")?,
            rating_standard: m.rating_standard.and_then(|r| Decimal::from_str(&r.to_string()).ok()),
            paperwork_standard: m
                .paperwork_standard
                .as_ref()
                .map(|p| fraction_key(p, "metrics.paperwork_standard"))
                .transpose()?,
            calendar: SellingCalendar { days, holidays: raw.calendar.holidays.iter().copied().collect() },
            time_zone: org.time_zone,
        };
        let wait = &raw.quota_memo.wait_for_final_until;
        let bad_wait = || {
            err(
                wait.span(),
                format!(
                    "quota_memo.wait_for_final_until: '{}' should be a day of the month and a local time, e.g. \"2 12:00\"",
                    wait.get_ref()
                ),
            )
        };
        let (day, time) = wait.get_ref().trim().split_once(' ').ok_or_else(bad_wait)?;
        let quota_memo = QuotaMemoSettings {
            wait_day: day.parse().ok().filter(|d| (1..=28).contains(d)).ok_or_else(bad_wait)?,
            wait_time: chrono::NaiveTime::parse_from_str(time.trim(), "%H:%M").map_err(|_| bad_wait())?,
        };
        if let (TransportKind::File, Some(smtp)) = (&transport, &raw.mail.smtp) {
            // Still validated, so that switching transport later cannot surprise.
            smtp_settings(smtp, &err, &abs)?;
        }
        let attempts = &raw.mail.max_attempts;
        if *attempts.get_ref() == 0 {
            return Err(err(
                attempts.span(),
                "mail.max_attempts: must be at least 1 (the first attempt counts)".into(),
            ));
        }
        for (v, key) in [
            (&raw.mail.retry_initial_seconds, "retry_initial_seconds"),
            (&raw.mail.retry_max_seconds, "retry_max_seconds"),
        ] {
            if *v.get_ref() == 0 {
                return Err(err(v.span(), format!("mail.{key}: must be at least 1 second")));
            }
        }
        let retry = deliver::RetryPolicy {
            max_attempts: *attempts.get_ref(),
            initial: Duration::from_secs(*raw.mail.retry_initial_seconds.get_ref()),
            max: Duration::from_secs(*raw.mail.retry_max_seconds.get_ref()),
        };
        let trend_months = *raw.pdf.trend_months.get_ref();
        if !(2..=12).contains(&trend_months) {
            return Err(err(
                raw.pdf.trend_months.span(),
                format!("pdf.trend_months: {trend_months} must be 2 to 12 (months in the 1:1 sheet's trend)"),
            ));
        }
        let schedule = schedule_settings(&raw.schedule, org.time_zone, &err)?;
        Ok(Config {
            schedule,
            quota_memo,
            metrics,
            file: PathBuf::from(file),
            org,
            paths,
            ingest,
            max_rejected_fraction: Decimal::from_str(&fraction.to_string()).unwrap_or_default(),
            sources,
            mail: deliver::Settings { from, reply_to, admin, transport, retry },
            pdf: report::PdfSettings {
                paper: raw.pdf.paper,
                fallback_fonts: raw.pdf.fallback_fonts.iter().map(|p| abs(p)).collect(),
                one_on_one_mail: raw.pdf.one_on_one_mail,
                trend_months,
            },
        })
    }
}

// ---- [schedule] (issue 6: quotad serve) ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawSchedule {
    catch_up: Spanned<String>,
    settle_seconds: Spanned<u64>,
    rescan_seconds: Spanned<u64>,
    heartbeat_seconds: Spanned<u64>,
    quota_memo: RawScheduledJob,
    weekly_ranking: RawScheduledJob,
    one_on_one: RawScheduledJob,
}

impl Default for RawSchedule {
    fn default() -> Self {
        RawSchedule {
            catch_up: Spanned::new(0..0, "24h".into()),
            settle_seconds: Spanned::new(0..0, 5),
            rescan_seconds: Spanned::new(0..0, 60),
            heartbeat_seconds: Spanned::new(0..0, 15),
            quota_memo: RawScheduledJob::default(),
            weekly_ranking: RawScheduledJob::default(),
            one_on_one: RawScheduledJob::default(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawScheduledJob {
    cron: Option<Spanned<String>>,
    enabled: bool,
    wait_for_data: Option<Spanned<String>>,
}

impl Default for RawScheduledJob {
    fn default() -> Self {
        RawScheduledJob { cron: None, enabled: true, wait_for_data: None }
    }
}

/// Validates `[schedule]`: cron expressions (6 fields) for the org's zone, durations.
fn schedule_settings(
    raw: &RawSchedule,
    tz: Tz,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<crate::schedule::Calendar, ConfigError> {
    use crate::schedule::{self, JobKind, JobSchedule};
    let catch_up = schedule::parse_duration(raw.catch_up.get_ref())
        .map_err(|m| err(raw.catch_up.span(), format!("schedule.catch_up: {m}")))?;
    let seconds = |v: &Spanned<u64>, key: &str, min: u64| -> Result<std::time::Duration, ConfigError> {
        if *v.get_ref() < min {
            return Err(err(v.span(), format!("schedule.{key}: must be at least {min} second(s)")));
        }
        Ok(Duration::from_secs(*v.get_ref()))
    };
    let mut jobs = Vec::new();
    for (job, r) in [
        (JobKind::QuotaMemo, &raw.quota_memo),
        (JobKind::WeeklyRanking, &raw.weekly_ranking),
        (JobKind::OneOnOne, &raw.one_on_one),
    ] {
        let key = format!("schedule.{}", job.config_key());
        let mut j = JobSchedule::default_for(job);
        if let Some(c) = &r.cron {
            j.cron = schedule::parse_cron(c.get_ref()).map_err(|m| err(c.span(), format!("{key}.cron: {m}")))?;
            j.pattern = c.get_ref().trim().to_string();
            if j.next_after(tz, crate::schedule::utc(2000, 1, 1, 0, 0)).is_none() {
                return Err(err(c.span(), format!("{key}.cron: '{}' never occurs", j.pattern)));
            }
        }
        j.enabled = r.enabled;
        j.wait_for_data = r
            .wait_for_data
            .as_ref()
            .map(|w| {
                schedule::parse_duration(w.get_ref()).map_err(|m| err(w.span(), format!("{key}.wait_for_data: {m}")))
            })
            .transpose()?;
        jobs.push(j);
    }
    Ok(schedule::Calendar {
        tz,
        jobs,
        catch_up,
        settle: seconds(&raw.settle_seconds, "settle_seconds", 0)?,
        rescan: seconds(&raw.rescan_seconds, "rescan_seconds", 1)?,
        heartbeat: seconds(&raw.heartbeat_seconds, "heartbeat_seconds", 1)?,
    })
}

/// Validates `[mail.smtp]`. `err` makes an error at a span; `abs` resolves a path
/// against the config file's folder.
/// `[ingest]` limits -> [`ingest::Limits`]; an out-of-range value names its key.
fn ingest_limits(raw: &RawIngest) -> Result<ingest::Limits, (std::ops::Range<usize>, String)> {
    let range = |v: &Spanned<u64>, key: &str, lo: u64, hi: u64, unit: &str| {
        if (lo..=hi).contains(v.get_ref()) {
            Ok(*v.get_ref())
        } else {
            Err((v.span(), format!("ingest.{key}: {} must be from {lo} to {hi} ({unit})", v.get_ref())))
        }
    };
    let mb = 1024 * 1024;
    let rows = Spanned::new(raw.max_rows.span(), u64::from(*raw.max_rows.get_ref()));
    let cols = Spanned::new(raw.max_columns.span(), u64::from(*raw.max_columns.get_ref()));
    Ok(ingest::Limits {
        max_file_bytes: range(&raw.max_file_mb, "max_file_mb", 1, 10_000, "megabytes")? * mb,
        max_unzipped_bytes: range(&raw.max_unzipped_mb, "max_unzipped_mb", 1, 100_000, "megabytes")? * mb,
        max_zip_ratio: range(&raw.max_zip_ratio, "max_zip_ratio", 10, 1_000_000, "uncompressed size per byte of file")?,
        max_rows: range(&rows, "max_rows", 2, 1_048_576, "rows; Excel's own limit is 1048576")? as u32,
        max_columns: range(&cols, "max_columns", 1, 16_384, "columns; Excel's own limit is 16384")? as u32,
        max_cells: range(&raw.max_cells, "max_cells", 1, 10_000_000_000, "cells")?,
        max_merged_cells: range(&raw.max_merged_cells, "max_merged_cells", 0, 1_000_000_000, "cells")?,
    })
}

fn smtp_settings(
    raw: &Spanned<RawSmtp>,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
    abs: &dyn Fn(&Path) -> PathBuf,
) -> Result<deliver::SmtpSettings, ConfigError> {
    let r = raw.get_ref();
    if let Some(p) = &r.password {
        return Err(err(
            p.span(),
            "mail.smtp.password: the password never goes in the config file; put it in an environment variable and name that variable with password_env = \"QUOTAD_SMTP_PASSWORD\"".into(),
        ));
    }
    let host = r.host.get_ref().trim().to_string();
    if host.is_empty() || host.contains(char::is_whitespace) || host.contains('/') {
        return Err(err(
            r.host.span(),
            format!("mail.smtp.host: '{host}' should be a host name or IP address such as \"smtp.example.com\""),
        ));
    }
    let tls = match r.tls.get_ref().as_str() {
        "starttls" => deliver::TlsMode::StartTls,
        "tls" => deliver::TlsMode::Tls,
        "none" => deliver::TlsMode::None,
        other => {
            return Err(err(
                r.tls.span(),
                format!(
                    "mail.smtp.tls: '{other}' must be \"starttls\" (port 587), \"tls\" (implicit TLS, port 465) or \"none\" (a relay on this machine only)"
                ),
            ));
        }
    };
    if tls == deliver::TlsMode::None && !deliver::is_loopback(&host) {
        return Err(err(
            r.tls.span(),
            format!(
                "mail.smtp.tls: \"none\" would send mail (and any password) unencrypted, so it is allowed only for a relay on this machine (host = \"127.0.0.1\", \"::1\" or \"localhost\"), not for host = \"{host}\"; use \"starttls\" or \"tls\""
            ),
        ));
    }
    let username = r.username.as_ref().map(|u| u.get_ref().clone());
    let password_env = match (&r.username, &r.password_env) {
        (Some(_), Some(var)) => {
            if !is_env_name(var.get_ref()) {
                // Not echoed: it may be the password itself, written in the wrong key.
                return Err(err(
                    var.span(),
                    "mail.smtp.password_env: must be the NAME of an environment variable (letters, digits and _, e.g. \"QUOTAD_SMTP_PASSWORD\"), not the password".into(),
                ));
            }
            Some(var.get_ref().clone())
        }
        (Some(u), None) => {
            return Err(err(
                u.span(),
                "mail.smtp.username: AUTH needs a password: add password_env = \"QUOTAD_SMTP_PASSWORD\" (the name of an environment variable holding it)".into(),
            ));
        }
        (None, Some(var)) => {
            return Err(err(var.span(), "mail.smtp.password_env: set username too (AUTH needs both)".into()));
        }
        (None, None) => None,
    };
    for (v, key) in [
        (&r.connect_timeout_seconds, "connect_timeout_seconds"),
        (&r.command_timeout_seconds, "command_timeout_seconds"),
    ] {
        if *v.get_ref() == 0 {
            return Err(err(v.span(), format!("mail.smtp.{key}: must be at least 1 second")));
        }
    }
    let port = match &r.port {
        Some(p) if *p.get_ref() == 0 => return Err(err(p.span(), "mail.smtp.port: must be 1 to 65535".into())),
        Some(p) => *p.get_ref(),
        None => tls.default_port(),
    };
    Ok(deliver::SmtpSettings {
        host,
        port,
        tls,
        username,
        password_env,
        ca_file: r.ca_file.as_deref().map(abs),
        connect_timeout: Duration::from_secs(*r.connect_timeout_seconds.get_ref()),
        command_timeout: Duration::from_secs(*r.command_timeout_seconds.get_ref()),
        max_per_minute: r.max_per_minute,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
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

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, "quotad.toml", Path::new("/srv/quotad"))
    }

    #[test]
    fn minimal_config_gets_documented_defaults() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.org.time_zone, chrono_tz::America::Chicago);
        assert_eq!(c.paths.inbox, PathBuf::from("/srv/quotad/inbox"));
        assert_eq!(c.paths.state, PathBuf::from("/srv/quotad/quotad.sqlite"));
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
        let e = parse(&format!("{MINIMAL}\n[ingest]\nmax_rejected_fraction = 5.0\n")).unwrap_err();
        assert!(e.message.contains("ingest.max_rejected_fraction"), "{e}");
        assert_eq!(e.line, Some(18));
        let e = parse(
            &MINIMAL.replace("time_zone = \"America/Chicago\"", "time_zone = \"America/Chicago\"\nlocale = \"xx\""),
        )
        .unwrap_err();
        assert!(e.message.contains("org.locale"), "{e}");
        let e = parse(&MINIMAL.replace("kind = \"roster\"", "kind = \"deals\"")).unwrap_err();
        assert!(e.message.contains("kind = \"roster\""), "{e}");
    }

    #[test]
    fn presets_headerless_lists_fixed_stages_and_quota_periods() {
        let c = parse(&MINIMAL.replace("kind = \"deals\"", "kind = \"deals\"\npreset = \"salesforce\"")).unwrap();
        assert_eq!(c.sources[0].preset, Preset::Salesforce);
        assert_eq!(c.sources[0].columns.fields["rep_name"][0], "Opportunity Owner");
        let e = parse(&MINIMAL.replace("kind = \"roster\"", "kind = \"roster\"\npreset = \"hubspot\"")).unwrap_err();
        assert_eq!(e.line, Some(12), "{e}");
        assert!(e.message.starts_with("sources.roster.preset: preset \"hubspot\" describes a deals export"), "{e}");
        let e = parse(&MINIMAL.replace("kind = \"deals\"", "kind = \"deals\"\npreset = \"zoho\"")).unwrap_err();
        assert!(e.message.contains("unknown variant `zoho`"), "{e}");

        let c = parse(&MINIMAL.replace("kind = \"deals\"", "kind = \"deals\"\nfixed_stage = \"Won\"")).unwrap();
        assert_eq!(c.sources[0].fixed_stage.as_deref(), Some("Won"));
        let e = parse(&MINIMAL.replace("kind = \"deals\"", "kind = \"deals\"\nfixed_stage = \"Booked\"")).unwrap_err();
        assert_eq!(e.line, Some(8));
        assert_eq!(
            e.message,
            "sources.deals.fixed_stage: 'Booked' is in none of stages.won, stages.cancelled, stages.ignored"
        );

        let quotas = "[sources.quotas]\nkind = \"quotas\"\nfiles = [\"q.tsv\"]\n";
        let q = |extra: &str| parse(&format!("{MINIMAL}\n{quotas}{extra}"));
        let c = q("header = [\"\", \"rep_id\", \"month\", \"revenue_quota\"]\nquota_period = \"quarter\"\n").unwrap();
        let src = &c.sources[1];
        assert_eq!(src.header.as_deref(), Some(&[None, Some("rep_id"), Some("month"), Some("revenue_quota")][..]));
        assert_eq!(src.quota_span, QuotaSpan::Quarter(ingest::even_percents(3)));
        let c = q("quota_period = \"quarter\"\ndistribution = [30, 30, 40]\n").unwrap();
        let pct = |v: &[i64]| v.iter().map(|&x| Decimal::from(x)).collect::<Vec<_>>();
        assert_eq!(c.sources[1].quota_span, QuotaSpan::Quarter(pct(&[30, 30, 40])));
        let e = q("quota_period = \"year\"\ndistribution = [50, 40]\n").unwrap_err();
        assert_eq!(
            e.message,
            "sources.quotas.distribution: 2 percentages adding up to 90; expected 12 (one per month of the year), none negative, adding up to 100"
        );
        assert_eq!(e.line, Some(21));
        let e = q("header = [\"rep_id\", \"quota\"]\n").unwrap_err();
        assert!(e.message.starts_with("sources.quotas.header: 'quota' is not a field of a quotas source"), "{e}");
        let e = q("header = [\"rep_id\", \"month\"]\n").unwrap_err();
        assert_eq!(e.message, "sources.quotas.header: the list has no 'revenue_quota', which a quotas file needs");
        assert!(q("quota_layout = \"wide\"\n").unwrap().sources[1].quota_wide);
        assert_eq!(q("encoding = \"windows-1252\"\n").unwrap().sources[1].encoding, ingest::TextEncoding::Windows1252);
        let e = q("encoding = \"latin9\"\n").unwrap_err();
        assert!(e.message.contains("unknown variant `latin9`, expected one of `auto`, `utf-8`, `windows-1252`"), "{e}");
        let e = q("quota_layout = \"wide\"\nquota_period = \"year\"\n").unwrap_err();
        assert!(e.message.contains("cannot be combined with quota_period or header"), "{e}");
        let e = q("quota_layout = \"columns\"\n").unwrap_err();
        assert!(e.message.starts_with("sources.quotas.quota_layout: 'columns' must be \"rows\""), "{e}");
        let e = q("quota_period = \"week\"\n").unwrap_err();
        assert!(e.message.contains("'week' must be \"month\", \"quarter\" or \"year\""), "{e}");
    }

    const SMTP: &str = r#"
[mail.smtp]
host = "smtp.example.com"
username = "quotad@example.com"
password_env = "QUOTAD_SMTP_PASSWORD"
"#;

    fn with_smtp(smtp: &str) -> Result<Config, ConfigError> {
        parse(&format!("{}\n{smtp}", MINIMAL.replace("[mail]", "[mail]\ntransport = \"smtp\"")))
    }

    #[test]
    fn smtp_defaults_and_retry_defaults() {
        let c = with_smtp(SMTP).unwrap();
        let TransportKind::Smtp(s) = &c.mail.transport else { panic!("smtp expected") };
        assert_eq!(s.host, "smtp.example.com");
        assert_eq!(s.port, 587);
        assert_eq!(s.tls, deliver::TlsMode::StartTls);
        assert_eq!(s.username.as_deref(), Some("quotad@example.com"));
        assert_eq!(s.password_env.as_deref(), Some("QUOTAD_SMTP_PASSWORD"));
        assert_eq!(s.connect_timeout, Duration::from_secs(30));
        assert_eq!(s.command_timeout, Duration::from_secs(60));
        assert_eq!(s.max_per_minute, 0);
        assert_eq!(s.ca_file, None);
        assert_eq!(
            c.mail.retry,
            deliver::RetryPolicy { max_attempts: 5, initial: Duration::from_secs(30), max: Duration::from_secs(600) }
        );
        let c = with_smtp(&format!("{SMTP}tls = \"tls\"\nca_file = \"certs/ca.pem\"\n")).unwrap();
        let TransportKind::Smtp(s) = &c.mail.transport else { panic!("smtp expected") };
        assert_eq!(s.port, 465);
        assert_eq!(s.ca_file, Some(PathBuf::from("/srv/quotad/certs/ca.pem")));
        // The file transport stays the default even with a [mail.smtp] table.
        assert_eq!(parse(&format!("{MINIMAL}{SMTP}")).unwrap().mail.transport, TransportKind::File);
    }

    #[test]
    fn unencrypted_smtp_only_for_a_relay_on_this_machine() {
        // Line 21 of MINIMAL + transport line + blank + [mail.smtp] + host: tls is on line 22.
        let e = with_smtp("[mail.smtp]\nhost = \"smtp.example.com\"\ntls = \"none\"\n").unwrap_err();
        assert!(e.message.starts_with("mail.smtp.tls: \"none\""), "{e}");
        assert!(e.message.contains("smtp.example.com"), "{e}");
        assert_eq!(e.line, Some(20), "{e}");
        for host in ["127.0.0.1", "localhost", "::1"] {
            let c = with_smtp(&format!("[mail.smtp]\nhost = \"{host}\"\ntls = \"none\"\n")).unwrap();
            let TransportKind::Smtp(s) = &c.mail.transport else { panic!("smtp expected") };
            assert_eq!((s.tls, s.port), (deliver::TlsMode::None, 25));
        }
    }

    #[test]
    fn smtp_errors_name_the_key_and_never_echo_a_password() {
        let e = with_smtp("[mail.smtp]\nhost = \"smtp.example.com\"\npassword = \"hunter2\"\n").unwrap_err();
        assert!(e.message.starts_with("mail.smtp.password: the password never goes in the config file"), "{e}");
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert_eq!(e.line, Some(20));
        let e = with_smtp("[mail.smtp]\nhost = \"h.example.com\"\nusername = \"u\"\npassword_env = \"hunter2!\"\n")
            .unwrap_err();
        assert!(e.message.starts_with("mail.smtp.password_env: must be the NAME"), "{e}");
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let e = with_smtp("[mail.smtp]\nhost = \"h.example.com\"\nusername = \"u\"\n").unwrap_err();
        assert!(e.message.starts_with("mail.smtp.username: AUTH needs a password"), "{e}");
        let e = with_smtp("[mail.smtp]\nhost = \"h.example.com\"\ntls = \"ssl\"\n").unwrap_err();
        assert!(e.message.starts_with("mail.smtp.tls: 'ssl' must be"), "{e}");
        let e = with_smtp("[mail.smtp]\nhost = \"h.example.com\"\nconnect_timeout_seconds = 0\n").unwrap_err();
        assert!(e.message.starts_with("mail.smtp.connect_timeout_seconds"), "{e}");
        let e = with_smtp("[mail.smtp]\nhost = \"h.example.com\"\npasword_env = \"X\"\n").unwrap_err();
        assert!(e.message.contains("unknown field `pasword_env`"), "{e}");
        let e = with_smtp("").unwrap_err();
        assert!(e.message.starts_with("mail.transport: \"smtp\" needs a [mail.smtp] table"), "{e}");
        let e = parse(&MINIMAL.replace("[mail]", "[mail]\nmax_attempts = 0")).unwrap_err();
        assert!(e.message.starts_with("mail.max_attempts"), "{e}");
        let e = parse(&MINIMAL.replace("[mail]", "[mail]\nadmin = \"nobody\"")).unwrap_err();
        assert!(e.message.starts_with("mail.admin:"), "{e}");
    }

    #[test]
    fn pdf_settings_default_and_validate() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.pdf.paper, report::Paper::A4);
        assert_eq!(c.pdf.trend_months, 6);
        assert_eq!(c.pdf.one_on_one_mail, report::OneOnOneMail::Pack);
        assert_eq!(c.paths.reports, PathBuf::from("/srv/quotad/reports"));
        let c = parse(&format!(
            "{MINIMAL}\n[pdf]\npaper = \"letter\"\nfallback_fonts = [\"fonts/x.ttf\"]\none_on_one_mail = \"per_rep\"\n"
        ))
        .unwrap();
        assert_eq!(c.pdf.paper, report::Paper::Letter);
        assert_eq!(c.pdf.fallback_fonts, vec![PathBuf::from("/srv/quotad/fonts/x.ttf")]);
        assert_eq!(c.pdf.one_on_one_mail, report::OneOnOneMail::PerRep);
        let e = parse(&format!("{MINIMAL}\n[pdf]\ntrend_months = 13\n")).unwrap_err();
        assert!(e.message.contains("pdf.trend_months"), "{e}");
        assert_eq!(e.line, Some(18));
        let e = parse(&format!("{MINIMAL}\n[pdf]\npaper = \"a5\"\n")).unwrap_err();
        assert!(e.message.contains("a4") && e.message.contains("letter"), "{e}");
    }

    // ---- [schedule] ----

    #[test]
    fn schedule_defaults_and_overrides() {
        use crate::schedule::JobKind;
        let c = parse(MINIMAL).unwrap();
        let s = &c.schedule;
        assert_eq!(s.tz, chrono_tz::America::Chicago);
        assert_eq!(s.catch_up, chrono::Duration::hours(24));
        assert_eq!(
            (s.settle, s.rescan, s.heartbeat),
            (Duration::from_secs(5), Duration::from_secs(60), Duration::from_secs(15))
        );
        let pats: Vec<&str> = s.jobs.iter().map(|j| j.pattern.as_str()).collect();
        assert_eq!(pats, ["0 0 7 1 * *", "0 0 8 * * Mon", "0 0 7 3 * *"]);
        assert!(s.jobs.iter().all(|j| j.enabled && j.wait_for_data.is_none()));
        let c = parse(&format!(
            "{MINIMAL}\n[schedule]\ncatch_up = \"48h\"\nsettle_seconds = 2\n[schedule.weekly_ranking]\ncron = \"0 30 9 * * Tue\"\nwait_for_data = \"1d12h\"\n[schedule.one_on_one]\nenabled = false\n"
        ))
        .unwrap();
        let s = &c.schedule;
        assert_eq!(s.catch_up, chrono::Duration::hours(48));
        assert_eq!(s.settle, Duration::from_secs(2));
        assert_eq!(s.job(JobKind::WeeklyRanking).pattern, "0 30 9 * * Tue");
        assert_eq!(s.job(JobKind::WeeklyRanking).wait_for_data, Some(chrono::Duration::hours(36)));
        assert!(!s.job(JobKind::OneOnOne).enabled);
    }

    #[test]
    fn schedule_errors_name_key_and_line() {
        let e = parse(&format!("{MINIMAL}\n[schedule.quota_memo]\ncron = \"0 7 1 * *\"\n")).unwrap_err();
        assert_eq!(e.line, Some(18), "{e}");
        assert!(e.message.starts_with("schedule.quota_memo.cron: '0 7 1 * *' has 5 fields"), "{e}");
        let e = parse(&format!("{MINIMAL}\n[schedule]\ncatch_up = \"a day\"\n")).unwrap_err();
        assert_eq!(e.line, Some(18), "{e}");
        assert!(e.message.starts_with("schedule.catch_up: 'a day' is not a duration"), "{e}");
        let e = parse(&format!("{MINIMAL}\n[schedule]\nrescan_seconds = 0\n")).unwrap_err();
        assert!(e.message.starts_with("schedule.rescan_seconds: must be at least 1"), "{e}");
        let e = parse(&format!("{MINIMAL}\n[schedule.weekly_ranking]\ncorn = \"x\"\n")).unwrap_err();
        assert!(e.message.contains("unknown field `corn`"), "{e}");
        let e = parse(&format!("{MINIMAL}\n[schedule.quota_memo]\ncron = \"0 0 7 30 2 *\"\n")).unwrap_err();
        assert!(e.message.contains("never occurs"), "{e}");
    }
}
