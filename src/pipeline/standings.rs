//! `quotad standings`: the computed standings of a month (or a week, month to date) as
//! a table, CSV or JSON, company-wide or for one team, on one board. May import
//! `metrics`, `report` (the standings views), `store`, `config` and `domain`.

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};

use super::{Loaded, latest_quota_month, require_data};
use crate::config::Config;
use crate::domain::{BoardKind, IsoWeek, Period};
use crate::metrics;
use crate::report::standings as view;
use crate::report::{ranked_days, ranked_label};

/// How `quotad standings` writes its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StandingsFormat {
    /// Aligned text for a 100-column terminal, with a title line.
    Table,
    /// Comma-separated values with a header line.
    Csv,
    /// A JSON array of row objects (pretty-printed).
    Json,
}

/// What to show: the board and scope of `quotad standings`.
#[derive(Debug, Clone, Copy)]
pub struct StandingsQuery<'a> {
    /// The month; `None` with no `week`: the newest month with deals.
    pub period: Option<Period>,
    /// An ISO week: the month to date of its ranked period (the month of its Monday,
    /// through its Sunday or that month's last day), with movement since last week's
    /// ranking of the same month (ignored for the month when `period` is given).
    pub week: Option<IsoWeek>,
    /// One team only (its exact name).
    pub team: Option<&'a str>,
    /// The board ranked on.
    pub board: BoardKind,
    /// The output format.
    pub format: StandingsFormat,
}

/// The standings `q` asks for, as at `now`, rendered as the text to print (ending in a
/// newline).
///
/// Errors: no deals stored (for the period; the message lists the months that have
/// some); no team of that name (it lists the teams).
pub fn standings_report(cfg: &Config, q: &StandingsQuery<'_>, now: DateTime<Utc>) -> Result<String> {
    let StandingsQuery { period, week, team, board, format } = *q;
    let store = super::open_store_read_only(cfg)?;
    let period = match (period, week) {
        (Some(p), _) => p,
        (None, Some(w)) => metrics::ranked_period(w).month,
        (None, None) => match store.months_with_deals()?.last() {
            Some(p) => *p,
            None => match latest_quota_month(&store, Period::of(now.with_timezone(&cfg.org.time_zone).date_naive()))? {
                Some(p) => p,
                None => bail!("no deals are stored yet: put a CRM export in the inbox and run `quotad import`"),
            },
        },
    };
    let has_deals = require_data(&store, period)?;
    if let Some(w) = week
        && let Some(none) =
            super::documents::no_deals_in(&store, &super::operator_format(cfg), metrics::ranked_period(w))?
    {
        bail!("{none} (the days week {w} ranks): nothing to rank");
    }
    // A week's standings are month to date: its month's rows must be the loaded ones.
    let loaded = Loaded::new(&store, week.map_or(period, |w| metrics::ranked_period(w).month), &cfg.metrics)?;
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
    let rows = view::rows(&m, board, team, cfg.org.format.names());
    Ok(match format {
        StandingsFormat::Csv => view::to_csv(&rows),
        StandingsFormat::Json => format!("{}\n", serde_json::to_string_pretty(&rows)?),
        StandingsFormat::Table => {
            let when = match week {
                Some(w) => {
                    let r = metrics::ranked_period(w);
                    let (label, days) = (
                        ranked_label(&super::operator_format(cfg), r.month, Some(r.through)),
                        ranked_days(&cfg.org.format, r.month, Some(r.through)),
                    );
                    format!("{w} ({label}, {days})")
                }
                None => period.label(),
            };
            let status = match (has_deals, m.preliminary) {
                (false, _) => "quotas only: no deals yet",
                (true, true) => "preliminary",
                (true, false) => "final",
            };
            let as_of = m.as_of.map(|d| format!(", as of {d}")).unwrap_or_default();
            let scope = team.map(|t| format!("team {t}")).unwrap_or_else(|| "company-wide".into());
            let title = format!("{} board, {scope}: {when} ({status}{as_of})", board_title(board));
            view::to_table(&rows, board, &cfg.org.format, &title, week.is_some())
        }
    })
}

fn board_title(b: BoardKind) -> &'static str {
    match b {
        BoardKind::Results => "Results (revenue)",
        BoardKind::Attainment => "Attainment %",
        BoardKind::Ratings => "Customer ratings",
        BoardKind::Paperwork => "Clean paperwork",
    }
}
