//! `quotad standings`: the computed standings as a table, CSV, JSON
//! ([`pipeline::standings_report`]) or an Excel workbook ([`pipeline::standings_workbook`]).

use std::path::Path;

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};

use super::emit;
use crate::cli::OutputFormat;
use crate::config::Config;
use crate::domain::{BoardKind, IsoWeek, Period};
use crate::pipeline::{self, StandingsFormat, StandingsQuery};

/// `quotad standings [--period | --week] [--team] [--board] [--format] [--out]`.
#[allow(clippy::too_many_arguments)]
pub fn standings(
    cfg: &Config,
    period: Option<Period>,
    week: Option<IsoWeek>,
    team: Option<&str>,
    board: BoardKind,
    format: OutputFormat,
    out: Option<&Path>,
    now: DateTime<Utc>,
) -> Result<i32> {
    let format = match (format, out) {
        (OutputFormat::Xlsx, Some(out)) => {
            let query = StandingsQuery { period, week, team, board, format: StandingsFormat::Table };
            emit(&pipeline::standings_workbook(cfg, &query, out, now)?);
            return Ok(0);
        }
        (OutputFormat::Xlsx, None) => bail!("--format xlsx writes a file: give it with --out FILE.xlsx"),
        (_, Some(_)) => bail!("--out is for --format xlsx; table, CSV and JSON go to standard output"),
        (OutputFormat::Table, None) => StandingsFormat::Table,
        (OutputFormat::Csv, None) => StandingsFormat::Csv,
        (OutputFormat::Json, None) => StandingsFormat::Json,
    };
    let query = StandingsQuery { period, week, team, board, format };
    emit(&pipeline::standings_report(cfg, &query, now)?);
    Ok(0)
}
