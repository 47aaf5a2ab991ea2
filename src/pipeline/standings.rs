//! `quotad standings`: the computed standings of a month (or a week, month to date) as
//! a table, CSV or JSON, company-wide or for one team, on one board. May import
//! `metrics`, `report` (the standings views), `store`, `config` and `domain`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};

use super::{Loaded, latest_quota_month, require_data};
use crate::config::Config;
use crate::domain::{BoardKind, IsoWeek, Period};
use crate::metrics;
use crate::report::standings as view;
use crate::report::{ranked_days, ranked_label, xlsx};

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

/// The month's standings a query asks for, and how its title names them.
struct Computed {
    m: crate::domain::MonthStandings,
    period: Period,
    has_deals: bool,
}

/// Computes the standings `q` asks for (its board and format aside).
fn compute(cfg: &Config, q: &StandingsQuery<'_>, now: DateTime<Utc>) -> Result<Computed> {
    let StandingsQuery { period, week, team, .. } = *q;
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
    Ok(Computed { m, period, has_deals })
}

/// The title line of a board's standings: "Attainment % board, company-wide: October
/// 2026 (final, as of 2026-10-31)".
fn title(cfg: &Config, q: &StandingsQuery<'_>, c: &Computed, board: BoardKind) -> String {
    let when = match q.week {
        Some(w) => {
            let r = metrics::ranked_period(w);
            let (label, days) = (
                ranked_label(&super::operator_format(cfg), r.month, Some(r.through)),
                ranked_days(&cfg.org.format, r.month, Some(r.through)),
            );
            format!("{w} ({label}, {days})")
        }
        None => c.period.label(),
    };
    let status = match (c.has_deals, c.m.preliminary) {
        (false, _) => "quotas only: no deals yet",
        (true, true) => "preliminary",
        (true, false) => "final",
    };
    let as_of = c.m.as_of.map(|d| format!(", as of {d}")).unwrap_or_default();
    let scope = q.team.map(|t| format!("team {t}")).unwrap_or_else(|| "company-wide".into());
    format!("{} board, {scope}: {when} ({status}{as_of})", board_title(board))
}

/// The standings `q` asks for, as at `now`, rendered as the text to print (ending in a
/// newline).
///
/// Errors: no deals stored (for the period; the message lists the months that have
/// some); no team of that name (it lists the teams).
pub fn standings_report(cfg: &Config, q: &StandingsQuery<'_>, now: DateTime<Utc>) -> Result<String> {
    let c = compute(cfg, q, now)?;
    let rows = view::rows(&c.m, q.board, q.team, cfg.org.format.names());
    Ok(match q.format {
        StandingsFormat::Csv => view::to_csv(&rows),
        StandingsFormat::Json => format!("{}\n", serde_json::to_string_pretty(&rows)?),
        StandingsFormat::Table => {
            view::to_table(&rows, q.board, &cfg.org.format, &title(cfg, q, &c, q.board), q.week.is_some())
        }
    })
}

/// Writes the standings `q` asks for as an Excel workbook at `out`, a sheet per board
/// (results, attainment, ratings, paperwork; Excel opens on `q.board`'s), each with the
/// title line of `quotad standings` and the same rows ([`crate::report::xlsx`]). The
/// file is written whole or not at all (a temporary file beside it, then renamed).
/// Returns a line for the operator ("wrote FILE: 4 sheets, 20 reps").
///
/// Errors: those of [`standings_report`]; `out`'s folder does not exist (naming it);
/// the file cannot be written.
pub fn standings_workbook(cfg: &Config, q: &StandingsQuery<'_>, out: &Path, now: DateTime<Utc>) -> Result<String> {
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        bail!("cannot write {}: the folder {} does not exist (create it first)", out.display(), dir.display());
    }
    let c = compute(cfg, q, now)?;
    let sheets: Vec<xlsx::BoardSheet> = BoardKind::ALL
        .iter()
        .map(|&board| xlsx::BoardSheet {
            board,
            title: title(cfg, q, &c, board),
            as_of: c.m.as_of,
            rows: view::rows(&c.m, board, q.team, cfg.org.format.names()),
            weekly: q.week.is_some(),
            active: board == q.board,
        })
        .collect();
    let reps = sheets.first().map_or(0, |s| s.rows.len());
    let bytes = xlsx::standings_workbook(&sheets, q.team.map(|t| c.m.team_named(t).unwrap_or(t)), &cfg.org.format)
        .with_context(|| format!("cannot build the workbook {}", out.display()))?;
    super::write_atomically(out, &bytes)?;
    Ok(format!("wrote {}: {} sheets, {reps} reps\n", out.display(), sheets.len()))
}

fn board_title(b: BoardKind) -> &'static str {
    match b {
        BoardKind::Results => "Results (revenue)",
        BoardKind::Attainment => "Attainment %",
        BoardKind::Ratings => "Customer ratings",
        BoardKind::Paperwork => "Clean paperwork",
    }
}
