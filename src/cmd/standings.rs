//! `quotad standings`: the computed standings as a table, CSV or JSON
//! ([`pipeline::standings_report`]).

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::emit;
use crate::cli::OutputFormat;
use crate::config::Config;
use crate::domain::{BoardKind, IsoWeek, Period};
use crate::pipeline::{self, StandingsFormat, StandingsQuery};

/// `quotad standings [--period | --week] [--team] [--board] [--format]`.
pub fn standings(
    cfg: &Config,
    period: Option<Period>,
    week: Option<IsoWeek>,
    team: Option<&str>,
    board: BoardKind,
    format: OutputFormat,
    now: DateTime<Utc>,
) -> Result<i32> {
    let format = match format {
        OutputFormat::Table => StandingsFormat::Table,
        OutputFormat::Csv => StandingsFormat::Csv,
        OutputFormat::Json => StandingsFormat::Json,
    };
    let query = StandingsQuery { period, week, team, board, format };
    emit(&pipeline::standings_report(cfg, &query, now)?);
    Ok(0)
}
