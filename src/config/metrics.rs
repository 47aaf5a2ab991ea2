//! `[metrics]` and `[calendar]`: the thresholds of the metric flags (below target, off
//! pace, rating and paperwork standards, minimum history) and the selling-day calendar
//! (selling weekdays, holidays) that pacing counts in.
//!
//! Validates into the metrics stage's own [`metrics::Settings`]; imports `metrics`'
//! settings types and serde/toml, nothing else.

use std::str::FromStr;

use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;
use crate::metrics::{self, SellingCalendar};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawMetrics {
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
pub(super) struct RawCalendar {
    selling_days: Spanned<Vec<String>>,
    holidays: Vec<chrono::NaiveDate>,
}

impl Default for RawCalendar {
    fn default() -> Self {
        let all = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].iter().map(|d| d.to_string()).collect();
        RawCalendar { selling_days: Spanned::new(0..0, all), holidays: Vec::new() }
    }
}

/// Validates `[metrics]` and `[calendar]` (selling days first) for the org's zone `tz`.
pub(super) fn settings(
    m: &RawMetrics,
    calendar: &RawCalendar,
    tz: Tz,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<metrics::Settings, ConfigError> {
    let fraction_key = |v: &Spanned<f64>, key: &str| -> Result<Decimal, ConfigError> {
        let x = *v.get_ref();
        if !(0.0..=10.0).contains(&x) {
            return Err(err(v.span(), format!("{key}: {x} must be a fraction such as 0.8 (= 80%)")));
        }
        Ok(Decimal::from_str(&x.to_string()).unwrap_or_default())
    };
    let mut days = [false; 7];
    for d in calendar.selling_days.get_ref() {
        let i = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .iter()
            .position(|x| d.to_lowercase().starts_with(x))
            .ok_or_else(|| {
                err(
                    calendar.selling_days.span(),
                    format!("calendar.selling_days: '{d}' is not a day; use Mon, Tue, Wed, Thu, Fri, Sat, Sun"),
                )
            })?;
        days[i] = true;
    }
    if !days.contains(&true) {
        return Err(err(
            calendar.selling_days.span(),
            "calendar.selling_days: list at least one day, e.g. [\"Mon\", \"Tue\"]".into(),
        ));
    }
    Ok(metrics::Settings {
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
        calendar: SellingCalendar { days, holidays: calendar.holidays.iter().copied().collect() },
        time_zone: tz,
        // Set from `ingest.cancellation_lookback_months` by the caller.
        cancellation_lookback_months: metrics::Settings::default().cancellation_lookback_months,
        // Set from `org.locale` by the caller.
        names: Default::default(),
    })
}
