//! `[ingest]`, `[stages]` and `[sources.NAME]`: how files are read (date order, decimal
//! separator, header search, rejected-row tolerance, size and zip-bomb limits), which
//! stage names count, and each source's files, sheet, columns, preset, headerless
//! column list and quota layout.
//!
//! Validates into the ingest stage's own types ([`ingest::Settings`], [`ingest::Source`],
//! [`ingest::Limits`]); imports `domain`, `ingest`'s settings types and serde/toml/glob,
//! nothing else.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;
use crate::domain::{StageClass, fold_name};
use crate::ingest::{self, ColumnMap, DateOrder, NumberStyle, Preset, QuotaSpan, SourceKind};

#[derive(Deserialize, Clone, Copy)]
enum RawDateOrder {
    #[serde(rename = "mdy")]
    Mdy,
    #[serde(rename = "dmy")]
    Dmy,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawIngest {
    date_order: RawDateOrder,
    decimal_separator: Spanned<String>,
    header_search_rows: Spanned<usize>,
    max_rejected_fraction: Spanned<f64>,
    rating_scale: Spanned<u32>,
    /// Months before a cancellation its sale may have been made (metrics'
    /// `cancellation_lookback_months`).
    cancellation_lookback_months: Spanned<u32>,
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
            cancellation_lookback_months: Spanned::new(0..0, 9),
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
pub(super) struct RawStages {
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
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
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
    year: Option<Spanned<i64>>,
    #[serde(default)]
    encoding: ingest::TextEncoding,
}

/// Validates `[ingest]` and `[stages]` into [`ingest::Settings`] for the org's zone `tz`,
/// with `ingest.max_rejected_fraction` as an exact fraction (0..=1).
pub(super) fn ingest_settings(
    raw: &RawIngest,
    raw_stages: &RawStages,
    tz: Tz,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<(ingest::Settings, Decimal), ConfigError> {
    let decimal = match raw.decimal_separator.get_ref().as_str() {
        "." => '.',
        "," => ',',
        other => {
            return Err(err(
                raw.decimal_separator.span(),
                format!("ingest.decimal_separator: '{other}' must be \".\" (1,234.50) or \",\" (1.234,50)"),
            ));
        }
    };
    let fraction = *raw.max_rejected_fraction.get_ref();
    if !(0.0..=1.0).contains(&fraction) {
        return Err(err(
            raw.max_rejected_fraction.span(),
            format!("ingest.max_rejected_fraction: {fraction} must be a fraction from 0 to 1 (0.01 = 1% of rows)"),
        ));
    }
    let rows = &raw.header_search_rows;
    if !(1..=10_000).contains(rows.get_ref()) {
        return Err(err(rows.span(), format!("ingest.header_search_rows: {} must be from 1 to 10000", rows.get_ref())));
    }
    let scale = &raw.rating_scale;
    if *scale.get_ref() == 0 {
        return Err(err(scale.span(), "ingest.rating_scale: must be 1 or more (5 for 1–5 stars, 10 for 0–10)".into()));
    }
    let limits = ingest_limits(raw).map_err(|(span, m)| err(span, m))?;
    let mut stages = HashMap::new();
    for (list, class) in [
        (&raw_stages.won, StageClass::Won),
        (&raw_stages.cancelled, StageClass::Cancelled),
        (&raw_stages.ignored, StageClass::Ignored),
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
        date_order: match raw.date_order {
            RawDateOrder::Mdy => DateOrder::MonthFirst,
            RawDateOrder::Dmy => DateOrder::DayFirst,
        },
        number_style: NumberStyle { decimal },
        header_search_rows: *raw.header_search_rows.get_ref(),
        stages,
        rating_scale: Decimal::from(*raw.rating_scale.get_ref()),
        time_zone: tz,
        today: None,
        limits,
        fiscal: crate::domain::FiscalCalendar::default(),
    };
    Ok((ingest, Decimal::from_str(&fraction.to_string()).unwrap_or_default()))
}

/// Validates `ingest.cancellation_lookback_months`: how many months before a cancellation
/// its sale may have been made, 0 to 120 (default 9: contract to close for a new home is
/// commonly 3 to 9 months). See [`crate::metrics::cancellation_rule`].
pub(super) fn cancellation_lookback(
    raw: &RawIngest,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<u32, ConfigError> {
    let months = &raw.cancellation_lookback_months;
    if *months.get_ref() > 120 {
        return Err(err(
            months.span(),
            format!(
                "ingest.cancellation_lookback_months: {} must be from 0 to 120 (months before a cancellation its sale may have been made)",
                months.get_ref()
            ),
        ));
    }
    Ok(*months.get_ref())
}

/// Validates `[sources.NAME]` (in name order) against the ingest settings (a
/// `fixed_stage` must be a configured stage); there must be a deals or summary source
/// and a roster.
pub(super) fn sources(
    raw: Spanned<BTreeMap<String, Spanned<RawSource>>>,
    ingest: &ingest::Settings,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<Vec<ingest::Source>, ConfigError> {
    let mut sources = Vec::new();
    let sources_span = raw.span();
    for (name, spanned) in raw.into_inner() {
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
        let columns =
            ColumnMap::new(s.kind, preset, &overrides).map_err(|m| err(span.clone(), format!("{key}.columns: {m}")))?;
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
        let quota_span = quota_span(s.kind, s.quota_period.as_ref(), s.distribution.as_ref(), &key, err)?;
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
        let year = match &s.year {
            None => None,
            Some(y) if s.kind != SourceKind::Quotas => {
                return Err(err(y.span(), format!("{key}.year applies to quotas sources only")));
            }
            Some(y) if !(1900..=2100).contains(y.get_ref()) => {
                return Err(err(y.span(), format!("{key}.year: {} is not a year such as 2026", y.get_ref())));
            }
            Some(y) => Some(*y.get_ref() as i32),
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
                return Err(err(span, format!("{key}.{k}: '{p}' should look like \"{{first}}.{{last}}@example.com\"")));
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
            year,
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
    Ok(sources)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{MINIMAL, parse};

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
}
