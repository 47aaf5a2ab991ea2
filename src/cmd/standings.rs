//! `quotad standings`: the computed standings as a table, CSV or JSON.

use super::emit;
use anyhow::{Result, bail};
use chrono::{DateTime, Utc};

use super::{open_store, require_data};
use crate::cli::OutputFormat;
use crate::config::Config;
use crate::domain::{BoardKind, IsoWeek, Period};
use crate::metrics;
use crate::pipeline::Loaded;
use crate::report::standings as view;

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
    let store = open_store(cfg)?;
    let period = match (period, week) {
        (Some(p), _) => p,
        (None, Some(w)) => Period::of(w.sunday()),
        (None, None) => match store.months_with_deals()?.last() {
            Some(p) => *p,
            None => bail!("no deals are stored yet: put a CRM export in the inbox and run `quotad import`"),
        },
    };
    require_data(&store, period)?;
    // A week's standings are month to date: its month's rows must be the loaded ones.
    let loaded = Loaded::new(&store, week.map_or(period, |w| Period::of(w.sunday())))?;
    let input = loaded.input();
    let m = match week {
        Some(w) => metrics::week_standings(w, &input, &cfg.metrics, now),
        None => metrics::month_standings(period, &input, &cfg.metrics, now),
    };
    if let Some(t) = team
        && m.team_named(t).is_none()
    {
        let mut teams: Vec<&str> = m.reps.iter().map(|s| s.team.as_str()).collect();
        teams.sort();
        teams.dedup();
        bail!("no team named '{t}' in {period}; teams: {}", teams.join(", "));
    }
    let rows = view::rows(&m, board, team);
    match format {
        OutputFormat::Csv => emit(&view::to_csv(&rows)),
        OutputFormat::Json => say!("{}", serde_json::to_string_pretty(&rows)?),
        OutputFormat::Table => {
            let when = match week {
                Some(w) => format!("{w} (month to date through {})", w.sunday().min(period.last_day())),
                None => period.label(),
            };
            let status = if m.preliminary { "preliminary" } else { "final" };
            let as_of = m.as_of.map(|d| format!(", as of {d}")).unwrap_or_default();
            let scope = team.map(|t| format!("team {t}")).unwrap_or_else(|| "company-wide".into());
            let title = format!("{} board, {scope}: {when} ({status}{as_of})", board_title(board));
            emit(&view::to_table(&rows, board, &cfg.org.format, &title, week.is_some()));
        }
    }
    Ok(0)
}

fn board_title(b: BoardKind) -> &'static str {
    match b {
        BoardKind::Results => "Results (revenue)",
        BoardKind::Attainment => "Attainment %",
        BoardKind::Ratings => "Customer ratings",
        BoardKind::Paperwork => "Clean paperwork",
    }
}
