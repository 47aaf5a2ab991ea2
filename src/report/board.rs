//! The sales-floor board (issue 21): view structs for the TV page (`templates/web/`),
//! built from the computed standings, and their rendering with the same Tera
//! templates engine as the e-mails (autoescaped: a rep named `<script>` is text).
//!
//! Only what a public board may show is copied into a view: rank, movement, name, team,
//! revenue, attainment (as displayed: [`Format::judged`], so 99.95% shows 99.9%, never
//! 100.0%), ✓ and ★ (the weekly ranking PDF's marks), team totals and the month's
//! celebrations. Never e-mail addresses, managers, flags or talking points: the view
//! types have no field for them.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;
use tera::Context;

use super::{Format, ReportError, Templates, ranked_days, ranked_label};
use crate::domain::{BestKind, BoardKind, Celebrations, Judged, MonthStandings, Standing, same_team};

/// One line of a board on the TV.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BoardRowView {
    /// Standard competition rank on the attainment board (on the results board when
    /// nobody in scope has a quota).
    pub rank: u32,
    /// Movement since last week's ranking: "▲ 2", "▼ 1", "=" (same place), "new" (not
    /// ranked last week) or "" (no ranking last week this month).
    pub movement: String,
    /// "up", "down", "same", "new" or "" (CSS class of `movement`).
    pub movement_class: &'static str,
    /// Rank 1–3 with a positive result: "gold", "silver", "bronze"; else "".
    pub medal: &'static str,
    /// Rep name as at the period's end.
    pub name: String,
    /// Team as at the period's end.
    pub team: String,
    /// Revenue, formatted for the org's locale and currency, whole units.
    pub revenue: String,
    /// Attainment as displayed ("99.9%"); never rounded up to a threshold.
    pub attainment: String,
    /// Width of the attainment bar, 0 to 100 (percent of the bar = 0% to 150% of quota).
    pub bar: u32,
    /// At or above quota (✓): exact attainment ≥ 100%.
    pub at_quota: bool,
    /// A new personal best this month (★).
    pub best: bool,
}

/// One team's line in the side panel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamPanelView {
    /// Rank among teams on team attainment; `None` = not ranked (no quota).
    pub rank: Option<u32>,
    /// Team name.
    pub team: String,
    /// Summed revenue, formatted.
    pub revenue: String,
    /// Team attainment as displayed, or "no quota".
    pub attainment: String,
    /// The team board's leader(s): rank 1 with a positive result (ties included).
    pub leaders: Vec<String>,
}

/// The whole board page: header, rows, side panels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BoardView {
    /// The org's name.
    pub org: String,
    /// "Company board" or "Team North".
    pub title: String,
    /// One team's board (its page shows no team column).
    pub team_board: bool,
    /// The ranked period in words: "December 2026 to date".
    pub period: String,
    /// The days counted: "1–6 Dec".
    pub days: String,
    /// "Preliminary", "Final", or "No results yet".
    pub status: &'static str,
    /// "as of 6 December 2026" (the newest export that fed the figures), or "no export
    /// loaded yet".
    pub as_of: String,
    /// Ranked reps, best first, at most the configured number.
    pub rows: Vec<BoardRowView>,
    /// Ranked reps not listed (beyond `rows`).
    pub more: usize,
    /// Active reps in scope who are not ranked (no quota, partial first month).
    pub unranked: usize,
    /// Whether anyone has a result this period; without one nobody is celebrated.
    pub has_results: bool,
    /// Teams, by team rank, at most [`PANEL_TEAMS`] (company board only; empty on a
    /// team's board).
    pub teams: Vec<TeamPanelView>,
    /// Teams not listed in the panel.
    pub teams_more: usize,
    /// The month's celebrations, one line each (company-wide or the team's), at most
    /// [`PANEL_LINES`]: more at quota than fit are counted ("✓ 112 reps at quota"),
    /// and further lines become "+ N more".
    pub celebrations: Vec<String>,
}

/// Teams the side panel lists (what fits a 1080p screen's panel).
pub const PANEL_TEAMS: usize = 6;

/// Celebration lines the side panel shows.
pub const PANEL_LINES: usize = 8;

/// Names listed in the "at quota" line; more are counted instead.
const AT_QUOTA_NAMES: usize = 6;

/// Which scope a board shows.
#[derive(Debug, Clone, Copy)]
pub enum BoardScope<'a> {
    /// Every team: the company attainment board.
    Company,
    /// One team (its name as displayed): the team's attainment board.
    Team(&'a str),
}

/// The board of `m` (the standings of a month to date, with last week's movement) for
/// `scope`, listing at most `rows` ranked reps; `celebrations` are the scope's (the
/// company's, or `metrics::team_celebrations` for a team). `None` when the team is
/// not in `m`.
pub fn board_view(
    org: &str,
    m: &MonthStandings,
    scope: BoardScope<'_>,
    celebrations: &Celebrations,
    fmt: &Format,
    rows: usize,
) -> Option<BoardView> {
    let team = match scope {
        BoardScope::Company => None,
        BoardScope::Team(t) => Some(m.team_named(t)?),
    };
    let by_key: std::collections::HashMap<&str, &Standing> = m.reps.iter().map(|s| (s.rep_key.as_str(), s)).collect();
    // The attainment board; a scope where nobody has a quota is ranked on results
    // alone, as the weekly ranking PDF does.
    let on = |kind| m.board(kind, team).map(|b| b.entries.as_slice()).filter(|e| !e.is_empty());
    let entries = on(BoardKind::Attainment).or_else(|| on(BoardKind::Results)).unwrap_or_default();
    let had_last_week = entries.iter().any(|e| e.movement.is_some());
    let mut listed = Vec::new();
    for e in entries.iter().take(rows) {
        let Some(s) = by_key.get(e.rep_key.as_str()) else { continue };
        let (movement, movement_class) = match e.movement {
            _ if !had_last_week => (String::new(), ""),
            None => ("new".to_string(), "new"),
            Some(0) => ("=".to_string(), "same"),
            Some(n) if n > 0 => (format!("▲ {n}"), "up"),
            Some(n) => (format!("▼ {}", -n), "down"),
        };
        let positive = s.revenue > Decimal::ZERO;
        listed.push(BoardRowView {
            rank: e.rank,
            movement,
            movement_class,
            medal: match e.rank {
                1 if positive => "gold",
                2 if positive => "silver",
                3 if positive => "bronze",
                _ => "",
            },
            name: s.name.clone(),
            team: s.team.clone(),
            revenue: fmt.money(s.revenue),
            attainment: s
                .attainment
                .map(|a| fmt.judged(&m.standards, Judged::Attainment, a))
                .unwrap_or_else(|| "no quota".into()),
            bar: bar_width(s.attainment),
            at_quota: s.attainment.is_some_and(|a| a >= Decimal::ONE),
            best: positive && s.personal_bests.iter().any(|b| b.kind == BestKind::New),
        });
    }
    let in_scope = |s: &&Standing| s.active && team.is_none_or(|t| same_team(&s.team, t));
    let ranked: std::collections::HashSet<&str> = entries.iter().map(|e| e.rep_key.as_str()).collect();
    let unranked = m.reps.iter().filter(in_scope).filter(|s| !ranked.contains(s.rep_key.as_str())).count();
    let teams = match team {
        Some(_) => Vec::new(),
        None => m
            .teams
            .iter()
            .map(|t| TeamPanelView {
                rank: t.rank,
                team: t.team.clone(),
                revenue: fmt.money(t.revenue),
                attainment: t
                    .attainment
                    .map(|a| fmt.judged(&m.standards, Judged::Attainment, a))
                    .unwrap_or_else(|| "no quota".into()),
                leaders: m
                    .board(BoardKind::Attainment, Some(&t.team))
                    .map(|b| {
                        b.entries
                            .iter()
                            .filter(|e| e.rank == 1 && e.value > Decimal::ZERO)
                            .map(|e| e.name.clone())
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect(),
    };
    let celebrations = fit_panel(celebration_lines(celebrations, m, fmt));
    let teams_more = teams.len().saturating_sub(PANEL_TEAMS);
    let teams: Vec<TeamPanelView> = teams.into_iter().take(PANEL_TEAMS).collect();
    Some(BoardView {
        org: org.to_string(),
        title: match team {
            Some(t) => format!("Team {t}"),
            None => "Company board".into(),
        },
        team_board: team.is_some(),
        period: ranked_label(fmt, m.period, m.through),
        days: ranked_days(fmt, m.period, m.through),
        status: match (m.has_results, m.preliminary) {
            (false, _) => "No results yet",
            (true, true) => "Preliminary",
            (true, false) => "Final",
        },
        as_of: m.as_of.map(|d| format!("as of {}", fmt.date(d))).unwrap_or_else(|| "no export loaded yet".into()),
        more: entries.len().saturating_sub(listed.len()),
        rows: listed,
        unranked,
        has_results: m.has_results,
        teams,
        teams_more,
        celebrations: if m.has_results { celebrations } else { Vec::new() },
    })
}

/// The celebrations as lines for the side panel; only positive results are in `c`
/// (docs/definitions.md: Celebrations).
fn celebration_lines(c: &Celebrations, m: &MonthStandings, fmt: &Format) -> Vec<String> {
    let mut out = Vec::new();
    out.extend(at_quota_line(&c.at_quota));
    for n in &c.first_at_quota {
        out.push(format!("First month at quota: {n}"));
    }
    for (n, months) in &c.quota_streaks {
        out.push(format!("{months} months in a row at quota: {n}"));
    }
    for (n, b) in &c.personal_bests {
        let v = match b.metric {
            "revenue" => fmt.money(b.value),
            "attainment" => fmt.judged(&m.standards, Judged::Attainment, b.value),
            "rating" => fmt.fixed(b.value, 1),
            _ => fmt.number(b.value, 1),
        };
        out.push(format!("★ New personal best: {n}, {} {v}", b.metric));
    }
    for (n, months) in &c.clean_streaks {
        out.push(format!("{months} months of clean paperwork: {n}"));
    }
    for (n, pts) in &c.most_improved {
        out.push(format!("Most improved: {n}, +{} points", fmt.number(*pts * Decimal::ONE_HUNDRED, 1)));
    }
    out
}

/// The "at quota" line: the names, or their count when more than [`AT_QUOTA_NAMES`];
/// `None` when nobody is at quota.
fn at_quota_line(names: &[String]) -> Option<String> {
    match names.len() {
        0 => None,
        n if n > AT_QUOTA_NAMES => Some(format!("✓ {n} reps at quota")),
        _ => Some(format!("✓ At quota: {}", names.join(", "))),
    }
}

/// At most [`PANEL_LINES`] lines: the rest become "+ N more".
fn fit_panel(mut lines: Vec<String>) -> Vec<String> {
    if lines.len() > PANEL_LINES {
        let more = lines.len() - (PANEL_LINES - 1);
        lines.truncate(PANEL_LINES - 1);
        lines.push(format!("+ {more} more"));
    }
    lines
}

/// The attainment bar's width in percent of its track, which spans 0% to 150% of quota
/// (the 100% mark sits at two thirds); no quota or a negative total = 0.
fn bar_width(attainment: Option<Decimal>) -> u32 {
    let Some(a) = attainment else { return 0 };
    let w = (a * Decimal::ONE_HUNDRED / Decimal::new(15, 1)).round().to_i64().unwrap_or(0);
    w.clamp(0, 100) as u32
}

/// Renders the board: the whole page (`web/board.html`) or only its live part
/// (`web/board_live.html`, what an open page fetches and swaps in). `token` goes into
/// the page's own links (the live part's URL), `refresh_ms` and `rotate_ms` into its
/// script.
///
/// Errors: a template fails to render (names the template).
pub fn render_board(
    t: &Templates,
    view: &BoardView,
    live_url: &str,
    refresh_ms: u64,
    rotate_ms: u64,
    whole_page: bool,
) -> Result<String, ReportError> {
    let mut ctx = Context::new();
    ctx.insert("board", view);
    ctx.insert("live_url", live_url);
    ctx.insert("refresh_ms", &refresh_ms);
    ctx.insert("rotate_ms", &rotate_ms);
    t.render(if whole_page { "web/board.html" } else { "web/board_live.html" }, &ctx)
}

/// Renders both board templates with a sample view (`quotad check`): a template a user
/// overrode that no longer renders is found before a TV shows an error.
///
/// Errors: a template fails to render (names it).
pub fn render_board_sample(t: &Templates) -> Result<(), ReportError> {
    let row = BoardRowView {
        rank: 1,
        movement: "▲ 2".into(),
        movement_class: "up",
        medal: "gold",
        name: "José Núñez".into(),
        team: "North Division".into(),
        revenue: "$412,500".into(),
        attainment: "103.1%".into(),
        bar: 69,
        at_quota: true,
        best: true,
    };
    let view = BoardView {
        org: "Example Homes".into(),
        title: "Company board".into(),
        team_board: false,
        period: "November 2026 to date".into(),
        days: "1–18 Nov".into(),
        status: "Preliminary",
        as_of: "as of 18 November 2026".into(),
        rows: vec![row],
        more: 0,
        unranked: 1,
        has_results: true,
        teams: vec![TeamPanelView {
            rank: Some(1),
            team: "North Division".into(),
            revenue: "$412,500".into(),
            attainment: "103.1%".into(),
            leaders: vec!["José Núñez".into()],
        }],
        teams_more: 0,
        celebrations: vec!["✓ At quota: José Núñez".into()],
    };
    for whole in [true, false] {
        render_board(t, &view, "/board/live?token=x", 3000, 12000, whole)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_spans_zero_to_one_and_a_half_times_quota() {
        assert_eq!(bar_width(None), 0);
        assert_eq!(bar_width(Some(Decimal::new(-5, 1))), 0);
        assert_eq!(bar_width(Some(Decimal::ONE)), 67);
        assert_eq!(bar_width(Some(Decimal::new(75, 2))), 50);
        assert_eq!(bar_width(Some(Decimal::new(3, 0))), 100);
    }

    #[test]
    fn the_panel_counts_what_does_not_fit() {
        let names = |n: usize| (1..=n).map(|i| format!("Rep {i}")).collect::<Vec<_>>();
        assert_eq!(at_quota_line(&[]), None);
        assert_eq!(at_quota_line(&names(2)).unwrap(), "✓ At quota: Rep 1, Rep 2");
        assert_eq!(at_quota_line(&names(6)).unwrap(), "✓ At quota: Rep 1, Rep 2, Rep 3, Rep 4, Rep 5, Rep 6");
        assert_eq!(at_quota_line(&names(7)).unwrap(), "✓ 7 reps at quota");
        assert_eq!(fit_panel(names(8)), names(8));
        let fitted = fit_panel(names(11));
        assert_eq!(fitted.len(), 8);
        assert_eq!(fitted[6], "Rep 7");
        assert_eq!(fitted[7], "+ 4 more");
    }

    #[test]
    fn the_sample_board_renders() {
        let t = Templates::load(None, "en").unwrap();
        render_board_sample(&t).unwrap();
    }
}
