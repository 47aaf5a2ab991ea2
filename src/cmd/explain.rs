//! `quotad explain`: how one rep's figures were built, row by row, ending at the same
//! figures `quotad standings` and the memos show ([`pipeline::explain`]).

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::emit;
use crate::cli::MetricArg;
use crate::config::Config;
use crate::domain::Period;
use crate::pipeline::{self, ExplainMetric};

/// `quotad explain --rep X --period YYYY-MM [--metric]`.
pub fn explain(cfg: &Config, who: &str, period: Period, metric: Option<MetricArg>, now: DateTime<Utc>) -> Result<i32> {
    let metric = metric.map(|m| match m {
        MetricArg::Revenue => ExplainMetric::Revenue,
        MetricArg::Units => ExplainMetric::Units,
        MetricArg::Rating => ExplainMetric::Rating,
        MetricArg::Paperwork => ExplainMetric::Paperwork,
    });
    emit(&pipeline::explain(cfg, who, period, metric, now)?);
    Ok(0)
}
