//! The two printed documents: the weekly ranking and the 1:1 prep sheet, laid out on
//! a [`Canvas`]. Every figure is read from the computed standings
//! ([`MonthStandings`], [`Standing`]) and formatted with [`Format`]; nothing is
//! recomputed here except the distance to the best month shown (a subtraction of two
//! displayed values, labelled as such).

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::Format;
use super::fonts::isolate;
use super::pdf::{Align, Canvas, Embed, Fonts, Paper, Rgb3, colors};
use crate::domain::{
    BestKind, BoardKind, Celebrations, FiscalCalendar, Judged, MonthStandings, Period, Standards, Standing, ToDate,
};

pub use super::pdf::Pdf;

const ROW_H: f32 = 16.0;
const BODY: f32 = 8.0;

struct Col {
    title: String,
    /// Fraction of the content width.
    w: f32,
    align: Align,
}

enum Cell {
    Text(String),
    Bold(String),
    /// Rank and movement against last week.
    Rank(Option<u32>, Option<i32>),
    /// A name and its marks (★ ✓) kept visible however long the name is.
    Name(String, String),
    /// Attainment: label and fraction for the bar.
    Bar(String, Option<f32>),
}

/// "▲2" (up two places since last week), "▼1", "=" (same place), or nothing (not
/// ranked last week, or last week was in another month).
fn movement_text(m: Option<i32>) -> (String, Rgb3) {
    match m {
        Some(n) if n > 0 => (format!("▲{n}"), colors::GOOD),
        Some(n) if n < 0 => (format!("▼{}", -n), colors::BAD),
        Some(_) => ("=".into(), colors::MUTED),
        None => (String::new(), colors::MUTED),
    }
}

fn header(c: &mut Canvas, cols: &[Col]) {
    let (m, w) = (c.margin, c.content_width());
    let y = c.y;
    c.fill(m, y, w, ROW_H, colors::ACCENT_LIGHT);
    let mut x = m;
    for col in cols {
        let cw = col.w * w;
        // A header wider than its column (a translated one, often) is set smaller, down to
        // 5.5 pt, before it is cut with "…".
        let mut size = 7.5;
        while size > 5.5 && c.fonts().width(&col.title, size, true) > cw - 6.0 {
            size -= 0.25;
        }
        c.text_in(x + 3.0, cw - 6.0, y + 11.0, size, true, colors::ACCENT, col.align, &col.title);
        x += cw;
    }
    c.y += ROW_H;
}

fn heading(c: &mut Canvas, text: &str) {
    let m = c.margin;
    let w = c.content_width();
    c.text_in(m, w, c.y + 14.0, 12.5, true, colors::TEXT, Align::Left, text);
    c.y += 22.0;
}

/// Draws a table: its heading, header row, then rows of fixed height; a row that does
/// not fit goes to a new page, where the heading ("continued") and header repeat.
fn table(c: &mut Canvas, fmt: &Format, title: &str, cols: &[Col], rows: &[Vec<Cell>]) {
    titled_table(c, fmt, title, title, cols, rows);
}

/// [`table`] whose heading differs from the title repeated on further pages (a team
/// page's "Results (revenue)" continues as "Team: North — results (revenue)").
fn titled_table(c: &mut Canvas, fmt: &Format, heading_text: &str, title: &str, cols: &[Col], rows: &[Vec<Cell>]) {
    if !c.fits(22.0 + ROW_H * 3.0) {
        c.new_page();
    }
    heading(c, heading_text);
    table_rows(c, fmt, title, cols, rows);
}

/// The header and rows of a table whose heading is already drawn; `title` is repeated
/// with "(continued)" on each further page.
fn table_rows(c: &mut Canvas, fmt: &Format, title: &str, cols: &[Col], rows: &[Vec<Cell>]) {
    header(c, cols);
    for (i, row) in rows.iter().enumerate() {
        if !c.fits(ROW_H) {
            c.new_page();
            heading(c, &fmt.tf("ranking.continued", &[("title", title)]));
            header(c, cols);
        }
        let (m, w, y) = (c.margin, c.content_width(), c.y);
        if i % 2 == 1 {
            c.fill(m, y, w, ROW_H, colors::STRIPE);
        }
        let base = y + 11.0;
        let mut x = m;
        for (col, cell) in cols.iter().zip(row) {
            let (cx, cw) = (x + 3.0, col.w * w - 6.0);
            match cell {
                Cell::Text(s) => c.text_in(cx, cw, base, BODY, false, colors::TEXT, col.align, s),
                Cell::Bold(s) => c.text_in(cx, cw, base, BODY, true, colors::TEXT, col.align, s),
                Cell::Rank(rank, mv) => {
                    let r = rank.map(|r| r.to_string()).unwrap_or_else(|| "–".into());
                    c.text_in(cx, cw * 0.52, base, BODY, true, colors::TEXT, Align::Right, &r);
                    let (t, color) = movement_text(*mv);
                    c.text_in(cx + cw * 0.56, cw * 0.44, base, 7.0, false, color, Align::Left, &t);
                }
                Cell::Name(name, marks) => {
                    let fonts = c.fonts();
                    let mw = if marks.is_empty() { 0.0 } else { fonts.width(marks, BODY, true) + 3.0 };
                    let shown = fonts.fit(name, cw - mw, BODY, false);
                    let nw = fonts.width(&shown, BODY, false);
                    c.text(cx, base, BODY, false, colors::TEXT, &shown);
                    if !marks.is_empty() {
                        c.text(cx + nw + 3.0, base, BODY, true, colors::GOOD, marks);
                    }
                }
                Cell::Bar(label, frac) => {
                    let bar_w = cw * 0.48;
                    if let Some(f) = frac {
                        c.fill(cx, y + 5.0, bar_w, 6.0, colors::TRACK);
                        let color = if *f >= 1.0 { colors::GOOD } else { colors::ACCENT };
                        c.fill(cx, y + 5.0, bar_w * f.clamp(0.0, 1.0), 6.0, color);
                        if *f > 1.0 {
                            // Past 100%: a notch at the quota line, the bar full.
                            c.fill(cx + bar_w - 1.0, y + 3.5, 1.2, 9.0, colors::TEXT);
                        }
                    }
                    c.text_in(cx + bar_w + 2.0, cw - bar_w - 2.0, base, BODY, false, colors::TEXT, Align::Right, label);
                }
            }
            x += col.w * w;
        }
        c.y += ROW_H;
    }
    c.line(c.margin, c.y, c.margin + c.content_width(), c.y, colors::RULE, 0.5);
    c.y += 10.0;
}

fn frac(d: Option<Decimal>) -> Option<f32> {
    d.and_then(|x| x.to_f32())
}

fn marks(s: &Standing) -> String {
    let mut m = String::new();
    if s.personal_bests.iter().any(|b| b.kind == BestKind::New) {
        m.push('★');
    }
    if s.attainment.is_some_and(|a| a >= Decimal::ONE) {
        m.push('✓');
    }
    m
}

fn status(fmt: &Format, m: &MonthStandings) -> String {
    fmt.t(if m.preliminary { "status.preliminary" } else { "status.final" })
}

fn as_of(fmt: &Format, m: &MonthStandings) -> String {
    m.as_of.map(|d| fmt.date(d)).unwrap_or_else(|| fmt.t("word.no_export"))
}

/// The ranked period in words: "October 2026 in full", or "November 2026 to date" when
/// `through` (the last day counted) is before the month's last day; the month named in
/// the org's locale ([`Format::month`]).
pub fn ranked_label(fmt: &Format, month: Period, through: Option<NaiveDate>) -> String {
    match through {
        Some(t) if t < month.last_day() => fmt.tf("ranking.to_date", &[("month", &fmt.month(month))]),
        _ => fmt.tf("ranking.in_full", &[("month", &fmt.month(month))]),
    }
}

/// The ranked days: "Nov 1 – Nov 8" (en-US; the month's first day through `through`,
/// else its last), in the org's locale ([`Format::day_month`]).
pub fn ranked_days(fmt: &Format, month: Period, through: Option<NaiveDate>) -> String {
    let t = through.map_or(month.last_day(), |t| t.min(month.last_day()));
    format!("{} – {}", fmt.day_month(month.first_day()), fmt.day_month(t))
}

/// Everything the weekly ranking needs besides the standings.
pub struct RankingInput<'a> {
    /// Org name for the title.
    pub org: &'a str,
    /// The ISO week, e.g. "2026-W43".
    pub week: &'a str,
    /// The week's Monday and Sunday.
    pub days: (NaiveDate, NaiveDate),
    /// The month to date of the week's ranked period, with movement (metrics
    /// `week_standings`): its `period` and `through` say which days.
    pub standings: &'a MonthStandings,
    /// Number formats.
    pub fmt: &'a Format,
    /// Paper size.
    pub paper: Paper,
    /// When the PDF is made, Unix seconds (its creation date).
    pub created: i64,
    /// The fiscal year: the title names the ranked month's fiscal quarter ("FY2027 Q3").
    pub fiscal: FiscalCalendar,
    /// How the fonts are embedded: the full ranking and the team editions share one
    /// subset per face (see [`Embed`]).
    pub embed: Embed<'a>,
}

/// The attainment board's rows: ranked reps first, then the active reps without a quota,
/// unranked; `pace` adds the pace column.
fn ranking_rows(inp: &RankingInput, team: Option<&str>, pace: bool) -> Vec<Vec<Cell>> {
    let m = inp.standings;
    let fmt = inp.fmt;
    let board = m.board(BoardKind::Attainment, team);
    m.reps
        .iter()
        .filter(|s| s.active && team.is_none_or(|t| s.team == t))
        .map(|s| {
            let entry = board.and_then(|b| b.entries.iter().find(|e| e.rep_key == s.rep_key));
            let rank = if team.is_some() { s.team_rank } else { s.company_rank };
            let st = &m.standards;
            let mut row = vec![
                Cell::Rank(rank, entry.and_then(|e| e.movement)),
                Cell::Name(s.name.clone(), marks(s)),
                Cell::Text(s.team.clone()),
                Cell::Text(fmt.money(s.revenue)),
                Cell::Text(fmt.number(s.units, 1)),
                Cell::Text(s.revenue_quota.map(|q| fmt.money(q)).unwrap_or_else(|| fmt.t("word.no_quota"))),
                Cell::Bar(
                    s.attainment.map(|a| fmt.judged(st, Judged::Attainment, a)).unwrap_or_else(|| "–".into()),
                    frac(s.attainment),
                ),
            ];
            if pace {
                let p = s.pacing.as_ref().and_then(|p| p.pace).map(|p| fmt.judged(st, Judged::Pace, p));
                row.push(Cell::Text(p.unwrap_or_else(|| "–".into())));
            }
            row
        })
        .collect()
}

fn ranking_cols(fmt: &Format, pace: bool) -> Vec<Col> {
    let mut cols = vec![
        Col { title: fmt.t("col.rank"), w: 0.085, align: Align::Right },
        Col { title: fmt.t("col.rep"), w: if pace { 0.21 } else { 0.29 }, align: Align::Left },
        Col { title: fmt.t("col.team"), w: 0.155, align: Align::Left },
        Col { title: fmt.t("col.revenue"), w: 0.125, align: Align::Right },
        Col { title: fmt.t("col.units"), w: 0.06, align: Align::Right },
        Col { title: fmt.t("col.quota"), w: 0.12, align: Align::Right },
        Col { title: fmt.t("col.attainment"), w: 0.165, align: Align::Right },
    ];
    if pace {
        cols.push(Col { title: fmt.t("col.pace"), w: 0.08, align: Align::Right });
    }
    cols
}

/// The results board's rows (docs/definitions.md: two boards): ranked on revenue, then
/// the active reps on no board (a new hire's partial first month), unranked, by name.
fn results_rows(inp: &RankingInput, team: Option<&str>) -> Vec<Vec<Cell>> {
    let m = inp.standings;
    let fmt = inp.fmt;
    let by_key: HashMap<&str, &Standing> = m.reps.iter().map(|s| (s.rep_key.as_str(), s)).collect();
    let row = |rank: Option<u32>, movement: Option<i32>, s: &Standing| {
        vec![
            Cell::Rank(rank, movement),
            Cell::Name(s.name.clone(), marks(s)),
            Cell::Text(s.team.clone()),
            Cell::Text(fmt.money(s.revenue)),
            Cell::Text(fmt.number(s.units, 1)),
        ]
    };
    let mut seen = HashSet::new();
    let mut rows = Vec::new();
    for e in m.board(BoardKind::Results, team).map(|b| b.entries.as_slice()).unwrap_or_default() {
        if let Some(s) = by_key.get(e.rep_key.as_str()) {
            seen.insert(e.rep_key.as_str());
            rows.push(row(Some(e.rank), e.movement, s));
        }
    }
    for s in m.reps.iter().filter(|s| s.active && team.is_none_or(|t| s.team == t)) {
        if !seen.contains(s.rep_key.as_str()) {
            rows.push(row(None, None, s));
        }
    }
    rows
}

fn results_cols(fmt: &Format) -> Vec<Col> {
    vec![
        Col { title: fmt.t("col.rank"), w: 0.085, align: Align::Right },
        Col { title: fmt.t("col.rep"), w: 0.33, align: Align::Left },
        Col { title: fmt.t("col.team"), w: 0.25, align: Align::Left },
        Col { title: fmt.t("col.revenue"), w: 0.20, align: Align::Right },
        Col { title: fmt.t("col.units"), w: 0.135, align: Align::Right },
    ]
}

/// Whether anyone in the scope (`team`, or `None` for the company) is on the attainment
/// board: someone active has a quota.
/// Pace only where it was computed: a month in progress whose deals are dated by day.
fn shows_pace(m: &MonthStandings) -> bool {
    m.reps.iter().any(|s| s.active && s.pacing.as_ref().is_some_and(|p| p.pace.is_some()))
}

fn has_quotas(m: &MonthStandings, team: Option<&str>) -> bool {
    m.board(BoardKind::Attainment, team).is_some_and(|b| !b.entries.is_empty())
}

/// One scope's boards, each under its own heading: attainment % (when someone in it has
/// a quota), then results. Without quotas the scope is ranked on results alone, never
/// listed unranked. `scope` is "Company" or "Team: NAME"; on a team page (whose own
/// heading is drawn) the boards' headings leave the scope out, and keep it on further
/// pages.
fn board_tables(c: &mut Canvas, inp: &RankingInput, team: Option<&str>, pace: bool) {
    let fmt = inp.fmt;
    let scope = team.map_or_else(|| fmt.t("ranking.company"), |t| fmt.tf("ranking.team", &[("team", t)]));
    let titled = |board: &str| {
        let title = format!("{scope} — {board}");
        let shown = if team.is_some() { capitalized(board) } else { title.clone() };
        (shown, title)
    };
    if has_quotas(inp.standings, team) {
        let (shown, title) = titled(&fmt.t("ranking.board_attainment"));
        titled_table(c, fmt, &shown, &title, &ranking_cols(inp.fmt, pace), &ranking_rows(inp, team, pace));
    }
    let (shown, title) = titled(&fmt.t("ranking.board_results"));
    titled_table(c, fmt, &shown, &title, &results_cols(inp.fmt), &results_rows(inp, team));
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|f| f.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// The line under the title: which boards, and what the marks mean.
fn legend(fmt: &Format, m: &MonthStandings, pace: bool) -> String {
    let quotas = has_quotas(m, None);
    let mut l = if quotas {
        fmt.t("ranking.legend_two_boards")
    } else {
        fmt.tf("ranking.legend_no_quotas", &[("month", &fmt.month(m.period))])
    };
    // Movement only against last week's ranking of the same month.
    let mut marks = vec![if m.boards.iter().any(|b| b.entries.iter().any(|e| e.movement.is_some())) {
        fmt.t("ranking.legend_movement")
    } else {
        fmt.t("ranking.legend_first")
    }];
    marks.push(fmt.t("ranking.legend_best"));
    if quotas {
        marks.push(fmt.t("ranking.legend_at_quota"));
    }
    if pace {
        marks.push(fmt.t("ranking.legend_pace"));
    }
    l.push(' ');
    l.push_str(&marks.join(" · "));
    l
}

pub(crate) fn celebration_lines(m: &MonthStandings, fmt: &Format) -> Vec<(String, String)> {
    celebrations_lines(&m.celebrations, fmt)
}

/// The celebration lines of `c` (the company's, or a team's): (label, text), e.g.
/// ("Top attainment", "1. Ann Archer (112.5%),  2. …").
pub(crate) fn celebrations_lines(c: &Celebrations, fmt: &Format) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for b in &c.top {
        let label = match b.kind {
            BoardKind::Results => fmt.t("celebrate.top_revenue"),
            BoardKind::Attainment => fmt.t("celebrate.top_attainment"),
            BoardKind::Ratings => fmt.t("celebrate.top_rating"),
            BoardKind::Paperwork => fmt.t("celebrate.cleanest_paperwork"),
        };
        let list: Vec<String> = b
            .entries
            .iter()
            .map(|e| {
                let v = match b.kind {
                    BoardKind::Results => fmt.money(e.value),
                    BoardKind::Attainment | BoardKind::Paperwork => fmt.percent_shown(e.value),
                    BoardKind::Ratings => fmt.fixed(e.value, 1),
                };
                format!("{}. {} ({v})", e.rank, isolate(&e.name))
            })
            .collect();
        if !list.is_empty() {
            out.push((label, list.join(",  ")));
        }
    }
    // Names (right-to-left ones isolated) and "NAME (N months)" streaks, comma-joined.
    let names = |v: &[String]| v.iter().map(|n| isolate(n)).collect::<Vec<_>>().join(", ");
    let streaks = |v: &[(String, u32)]| {
        v.iter()
            .map(|(n, k)| fmt.tn("celebrate.streak", u64::from(*k), &[("name", &isolate(n))]))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !c.at_quota.is_empty() {
        out.push((fmt.t("celebrate.at_quota"), names(&c.at_quota)));
    }
    if !c.personal_bests.is_empty() {
        let l: Vec<String> = c
            .personal_bests
            .iter()
            .map(|(n, b)| format!("{} ({})", isolate(n), fmt.t(&format!("metric.{}", b.metric))))
            .collect();
        out.push((fmt.t("celebrate.personal_bests"), l.join(", ")));
    }
    if !c.quota_streaks.is_empty() {
        out.push((fmt.t("celebrate.quota_streaks"), streaks(&c.quota_streaks)));
    }
    if !c.first_at_quota.is_empty() {
        out.push((fmt.t("celebrate.first_at_quota"), names(&c.first_at_quota)));
    }
    if !c.clean_streaks.is_empty() {
        out.push((fmt.t("celebrate.clean_streaks"), streaks(&c.clean_streaks)));
    }
    if !c.most_improved.is_empty() {
        let l: Vec<String> = c
            .most_improved
            .iter()
            .map(|(n, p)| {
                fmt.tf(
                    "celebrate.improved",
                    &[("name", &isolate(n)), ("points", &fmt.fixed(*p * Decimal::ONE_HUNDRED, 1))],
                )
            })
            .collect();
        out.push((fmt.t("celebrate.most_improved"), l.join(", ")));
    }
    out
}

fn title_block(c: &mut Canvas, kicker: &str, title: &str, sub: &str, badge: &str, good: bool) {
    let (m, w) = (c.margin, c.content_width());
    let y = c.y;
    c.text_in(m + 12.0, w - 100.0, y + 10.0, 8.5, true, colors::ACCENT, Align::Left, kicker);
    // A long title (a rep's full name) shrinks to fit before it is cut.
    let mut size = 17.0;
    // The badge sits on the kicker's line, so the title has the full width.
    while size > 10.0 && c.fonts().width(title, size, true) > w - 12.0 {
        size -= 1.0;
    }
    c.text_in(m + 12.0, w - 12.0, y + 27.0, size, true, colors::TEXT, Align::Left, title);
    let lines = c.fonts().wrap(sub, w - 12.0, 8.5, false);
    for (i, l) in lines.iter().take(2).enumerate() {
        c.text(m + 12.0, y + 40.0 + 11.0 * i as f32, 8.5, false, colors::MUTED, l);
    }
    let extra = 11.0 * (lines.len().clamp(1, 2) - 1) as f32;
    let bw = c.fonts().width(badge, 8.0, true) + 14.0;
    let color = if good { colors::GOOD } else { colors::BAD };
    c.stroke_rect(m + w - bw, y + 2.0, bw, 15.0, color, 0.8);
    c.text_in(m + w - bw, bw, y + 12.5, 8.0, true, color, Align::Center, badge);
    c.fill(m, y, 4.0, 43.0 + extra, colors::ACCENT);
    c.y += 58.0 + extra;
}

/// The title block of the full ranking and of a team edition (`title`; `suffix` ends the
/// line under it): week, ranked period, "as of", Preliminary/Final, then the legend.
fn ranking_heading(c: &mut Canvas, inp: &RankingInput, title: &str, suffix: &str, pace: bool) {
    let m = inp.standings;
    let fmt = inp.fmt;
    let mut sub = fmt.tf(
        "ranking.week_line",
        &[
            ("week", inp.week),
            ("days", &fmt.days(inp.days.0, inp.days.1)),
            ("ranked", &ranked_label(fmt, m.period, m.through)),
            ("ranked_days", &ranked_days(fmt, m.period, m.through)),
            ("as_of", &as_of(fmt, m)),
        ],
    );
    if !suffix.is_empty() {
        sub.push_str(" · ");
        sub.push_str(suffix);
    }
    let title = format!("{title} · {}", inp.fiscal.quarter_label(m.period));
    title_block(c, inp.org, &title, &sub, &status(fmt, m), !m.preliminary);
    for line in c.fonts().wrap(&legend(inp.fmt, m, pace), c.content_width(), 7.5, false) {
        let (x, y) = (c.margin, c.y);
        c.text(x, y, 7.5, false, colors::MUTED, &line);
        c.y += 10.0;
    }
    c.y += 6.0;
}

/// The weekly ranking: title, the company table, celebrations, then one page per team.
pub fn ranking(fonts: &Fonts, inp: &RankingInput) -> Pdf {
    let m = inp.standings;
    let fmt = inp.fmt;
    let doc_title = format!(
        "{} ({})",
        fmt.tf("ranking.doc_title", &[("org", inp.org), ("week", inp.week)]),
        inp.fiscal.quarter_label(m.period)
    );
    let mut c = Canvas::new(fonts, inp.paper, &doc_title).embedding(inp.embed);
    let pace = shows_pace(m);
    ranking_heading(&mut c, inp, &fmt.t("ranking.title"), "", pace);
    if !m.has_results {
        // Never "everyone 1st at 0.0%": a period without results says so.
        let text = fmt.tf(
            "ranking.no_results",
            &[("month", &fmt.month(m.period)), ("date", &fmt.date(inp.days.1.min(m.period.last_day())))],
        );
        for line in fonts.wrap(&text, c.content_width(), 9.5, true) {
            let (x, y) = (c.margin, c.y);
            c.text(x, y + 4.0, 9.5, true, colors::BAD, &line);
            c.y += 13.0;
        }
        c.y += 6.0;
    }
    board_tables(&mut c, inp, None, pace);

    let lines = celebration_lines(m, inp.fmt);
    celebrations_block(&mut c, fmt, fonts, &fmt.t("ranking.celebrations"), &lines);

    let mut teams: Vec<&str> = m.reps.iter().filter(|s| s.active).map(|s| s.team.as_str()).collect();
    teams.sort_unstable();
    teams.dedup();
    for team in teams {
        c.new_page();
        let mut line = team_line(fmt, m, team);
        if !m.has_results {
            line.push_str(" · ");
            line.push_str(&fmt.t("ranking.no_results_yet"));
        }
        heading(&mut c, &fmt.tf("ranking.team", &[("team", team)]));
        let (x, y, w) = (c.margin, c.y, c.content_width());
        c.text_in(x, w, y, 8.5, false, colors::MUTED, Align::Left, &line);
        c.y += 10.0;
        board_tables(&mut c, inp, Some(team), pace);
    }
    let footer = fmt.tf(
        "ranking.footer",
        &[("org", inp.org), ("week", inp.week), ("as_of", &as_of(fmt, m)), ("status", &status(fmt, m).to_lowercase())],
    );
    c.finish(&footer, inp.created)
}

// ---- The team edition of the weekly ranking (issue 18.4) ----

/// The parts of the weekly ranking that every team edition shares, laid out once: the
/// company's top rows. Make it once per week, then [`TeamEditions::render`] each team
/// (from any number of threads).
pub struct TeamEditions<'a> {
    inp: &'a RankingInput<'a>,
    top: u32,
    top_rows: Vec<Vec<Cell>>,
    /// Anyone in the company has a quota: the top rows are the attainment board's, else
    /// the results board's (docs/definitions.md: two boards).
    quotas: bool,
    /// The pace column is shown (a month in progress whose deals are dated by day).
    pace: bool,
}

/// One team's figures for its edition.
pub struct TeamEditionInput<'a> {
    /// The team, as the standings name it.
    pub team: &'a str,
    /// The team's own celebrations (metrics `team_celebrations`).
    pub celebrations: &'a Celebrations,
}

impl<'a> TeamEditions<'a> {
    /// Lays out the company's top `top` rows (standard competition ranks up to `top`,
    /// so ties at the last place are all in).
    pub fn new(inp: &'a RankingInput<'a>, top: u32) -> TeamEditions<'a> {
        let m = inp.standings;
        let pace = shows_pace(m);
        let quotas = has_quotas(m, None);
        let rows = if quotas { ranking_rows(inp, None, pace) } else { results_rows(inp, None) };
        // Ranked rows come first, in rank order: keep those ranked `top` or better.
        let top_rows = rows
            .into_iter()
            .take_while(|row| matches!(row.first(), Some(Cell::Rank(Some(r), _)) if *r <= top))
            .collect();
        TeamEditions { inp, top, top_rows, quotas, pace }
    }

    /// The team edition: title, the company's top rows, where the team stands among the
    /// teams, then the team's own table and celebrations. A few pages whatever the
    /// company's size (the top rows, a team's reps and its celebrations).
    pub fn render(&self, fonts: &Fonts, t: &TeamEditionInput) -> Pdf {
        let inp = self.inp;
        let m = inp.standings;
        let fmt = inp.fmt;
        let doc_title = fmt.tf("ranking.doc_title_team", &[("org", inp.org), ("week", inp.week), ("team", t.team)]);
        let mut c = Canvas::new(fonts, inp.paper, &doc_title).embedding(inp.embed);
        let title = fmt.tf("ranking.title_team", &[("team", t.team)]);
        ranking_heading(&mut c, inp, &title, &fmt.t("ranking.team_edition"), self.pace);
        let (cols, board) = if self.quotas {
            (ranking_cols(fmt, self.pace), fmt.t("ranking.board_attainment"))
        } else {
            (results_cols(fmt), fmt.t("ranking.board_results"))
        };
        let top_title = fmt.tf("ranking.company_top", &[("top", &self.top.to_string()), ("board", &board)]);
        if self.top_rows.is_empty() {
            heading(&mut c, &top_title);
            note(&mut c, &fmt.t("ranking.nobody_ranked"));
        } else {
            table(&mut c, fmt, &top_title, &cols, &self.top_rows);
        }
        team_stands(&mut c, inp, t.team, self.top, self.quotas);
        let team_title = fmt.tf("ranking.team", &[("team", t.team)]);
        if !c.fits(22.0 + ROW_H * 3.0 + 10.0) {
            c.new_page();
        }
        heading(&mut c, &team_title);
        let line = team_line(fmt, m, t.team);
        note(&mut c, &line);
        board_tables(&mut c, inp, Some(t.team), self.pace);
        let lines = celebrations_lines(t.celebrations, inp.fmt);
        let title = fmt.tf("ranking.celebrations_in", &[("team", t.team)]);
        celebrations_block(&mut c, fmt, fonts, &title, &lines);
        let footer = fmt.tf(
            "ranking.footer_team",
            &[
                ("org", inp.org),
                ("week", inp.week),
                ("team", t.team),
                ("as_of", &as_of(fmt, m)),
                ("status", &status(fmt, m).to_lowercase()),
            ],
        );
        c.finish(&footer, inp.created)
    }
}

/// One muted line of text at the current position.
fn note(c: &mut Canvas, text: &str) {
    let (x, y, w) = (c.margin, c.y, c.content_width());
    c.text_in(x, w, y, 8.5, false, colors::MUTED, Align::Left, text);
    c.y += 12.0;
}

/// "Manager: … · 8 active reps, 7 ranked on attainment within the team".
fn team_line(fmt: &Format, m: &MonthStandings, team: &str) -> String {
    let managers: BTreeSet<&str> =
        m.reps.iter().filter(|s| s.active && s.team == team).filter_map(|s| s.manager.as_deref()).collect();
    let reps = m.reps.iter().filter(|s| s.active && s.team == team).count();
    let ranked = m.ranked_in_team.get(team).copied().unwrap_or(0);
    let ranked = ranked.to_string();
    let line = if has_quotas(m, Some(team)) {
        fmt.tn("ranking.team_reps_ranked", reps as u64, &[("ranked", &ranked)])
    } else {
        fmt.tn("ranking.team_reps_no_quota", reps as u64, &[])
    };
    if managers.is_empty() {
        line
    } else {
        let managers = managers.into_iter().collect::<Vec<_>>().join(", ");
        format!("{} · {line}", fmt.tf("ranking.manager", &[("managers", &managers)]))
    }
}

/// Where the team stands: its rank among the teams on team attainment (summed revenue
/// ÷ summed quota) with the top three teams for comparison, and how many of its reps
/// are in the company's top rows.
fn team_stands(c: &mut Canvas, inp: &RankingInput, team: &str, top: u32, quotas: bool) {
    let m = inp.standings;
    let fmt = inp.fmt;
    let ranked = m.teams.iter().filter(|t| t.rank.is_some()).count();
    let own = m.teams.iter().find(|t| t.team == team);
    let rank = |s: &Standing| if quotas { s.company_rank } else { s.results_rank };
    let in_top = m.reps.iter().filter(|s| s.active && s.team == team && rank(s).is_some_and(|r| r <= top)).count();
    let place = match own.and_then(|t| t.rank) {
        Some(r) => {
            fmt.tf("ranking.team_ranks", &[("team", team), ("rank", &r.to_string()), ("ranked", &ranked.to_string())])
        }
        None => fmt.tf("ranking.team_not_ranked", &[("team", team)]),
    };
    let summary =
        fmt.tf("ranking.team_in_top", &[("place", &place), ("in_top", &in_top.to_string()), ("top", &top.to_string())]);
    let cols = vec![
        Col { title: fmt.t("col.rank"), w: 0.085, align: Align::Right },
        Col { title: fmt.t("col.team"), w: 0.365, align: Align::Left },
        Col { title: fmt.t("col.revenue"), w: 0.145, align: Align::Right },
        Col { title: fmt.t("col.quota"), w: 0.145, align: Align::Right },
        Col { title: fmt.t("col.attainment"), w: 0.165, align: Align::Right },
        Col { title: fmt.t("col.reps"), w: 0.095, align: Align::Right },
    ];
    let row = |t: &crate::domain::TeamStanding, own: bool| {
        let name = if own { Cell::Bold(t.team.clone()) } else { Cell::Text(t.team.clone()) };
        vec![
            Cell::Rank(t.rank, None),
            name,
            Cell::Text(fmt.money(t.revenue)),
            Cell::Text(t.revenue_quota.map(|q| fmt.money(q)).unwrap_or_else(|| fmt.t("word.no_quota"))),
            Cell::Bar(t.attainment.map(|a| fmt.percent(a)).unwrap_or_else(|| "–".into()), frac(t.attainment)),
            Cell::Text(t.reps.to_string()),
        ]
    };
    let mut rows: Vec<Vec<Cell>> =
        m.teams.iter().filter(|t| t.rank.is_some_and(|r| r <= 3)).map(|t| row(t, t.team == team)).collect();
    if let Some(t) = own.filter(|t| t.rank.is_none_or(|r| r > 3)) {
        rows.push(row(t, true));
    }
    if !c.fits(22.0 + 12.0 + ROW_H * (rows.len() as f32 + 1.0)) {
        c.new_page();
    }
    let title = fmt.t("ranking.where_team_stands");
    heading(c, &title);
    note(c, &summary);
    table_rows(c, fmt, &title, &cols, &rows);
}

/// A celebrations section: `label  text` lines, wrapped, continued on a new page with
/// its heading repeated. Nothing when there is nothing to celebrate.
fn celebrations_block(c: &mut Canvas, fmt: &Format, fonts: &Fonts, title: &str, lines: &[(String, String)]) {
    if lines.is_empty() {
        return;
    }
    if !c.fits(60.0) {
        c.new_page();
    }
    heading(c, title);
    let (x, w) = (c.margin, c.content_width());
    // The labels' column is as wide as the widest label (a translated label is often
    // longer than the English one), from 125 pt up to 40 % of the width.
    let lw = lines.iter().map(|(l, _)| fonts.width(l, BODY, true)).fold(125.0f32, f32::max).min(w * 0.4);
    for (label, text) in lines {
        let wrapped = fonts.wrap(text, w - lw - 5.0, BODY, false);
        if !c.fits(12.0 * wrapped.len() as f32 + 4.0) {
            c.new_page();
            heading(c, &fmt.tf("ranking.continued", &[("title", title)]));
        }
        let y = c.y + 9.0;
        c.text_in(x, lw, y, BODY, true, colors::ACCENT, Align::Left, label);
        for (i, l) in wrapped.iter().enumerate() {
            c.text(x + lw + 5.0, y + 12.0 * i as f32, BODY, false, colors::TEXT, l);
        }
        c.y += 12.0 * wrapped.len().max(1) as f32 + 4.0;
    }
}

/// A deal whose paperwork needs fixing, for the 1:1 sheet.
#[derive(Debug, Clone)]
pub struct PaperworkIssue {
    /// The CRM's Deal ID.
    pub deal_id: String,
    /// Close date.
    pub close_date: Option<NaiveDate>,
    /// What is wrong: "incomplete", "2 errors", "incomplete, 1 error".
    pub issue: String,
}

/// Everything the 1:1 prep sheet needs.
pub struct OneOnOneInput<'a> {
    /// Org name.
    pub org: &'a str,
    /// The rep's identity key.
    pub rep_key: &'a str,
    /// Standings of up to 12 months, oldest first; the last is the sheet's month (shared
    /// with the run's other jobs: `pipeline::Figures`).
    pub history: &'a [std::sync::Arc<MonthStandings>],
    /// The month's deals with incomplete paperwork or errors, by Deal ID.
    pub paperwork: &'a [PaperworkIssue],
    /// Talking points for the manager (rendered from `pdf/talking_points.txt`), one per entry.
    pub talking_points: &'a [String],
    /// Config `metrics.rating_standard`.
    pub rating_standard: Option<Decimal>,
    /// Config `metrics.paperwork_standard`, a fraction.
    pub paperwork_standard: Option<Decimal>,
    /// Number formats.
    pub fmt: &'a Format,
    /// Paper size.
    pub paper: Paper,
    /// Creation date, Unix seconds.
    pub created: i64,
    /// The fiscal year, for the to-date labels.
    pub fiscal: FiscalCalendar,
    /// Quarter and year to date (fiscal) through the sheet's month (`metrics::to_date`).
    pub to_date: Option<(ToDate, ToDate)>,
    /// How the fonts are embedded: a run's sheets share one subset per face (see
    /// [`Embed`]).
    pub embed: Embed<'a>,
}

fn tenure(fmt: &Format, hire: Option<NaiveDate>, end: NaiveDate) -> String {
    let Some(h) = hire else { return fmt.t("one_on_one.hire_unknown") };
    if h > end {
        return fmt.tf("one_on_one.starts", &[("date", &fmt.date_short(h))]);
    }
    let months = (end.year() - h.year()) * 12 + end.month() as i32 - h.month() as i32 - i32::from(end.day() < h.day());
    let (y, mo) = (months / 12, months % 12);
    let (years, months) = (fmt.tn("plural.years", y as u64, &[]), fmt.tn("plural.months", mo as u64, &[]));
    let span = match (y, mo) {
        (0, 0) => fmt.t("one_on_one.under_a_month"),
        (0, _) => months,
        (_, 0) => years,
        _ => format!("{years} {months}"),
    };
    fmt.tf("one_on_one.tenure", &[("span", &span), ("date", &fmt.date_short(h))])
}

#[allow(clippy::too_many_arguments)]
fn tile(c: &mut Canvas, x: f32, w: f32, label: &str, value: &str, detail: &str, verdict: Option<bool>) {
    let y = c.y;
    c.fill(x, y, w, 52.0, colors::ACCENT_LIGHT);
    let color = match verdict {
        Some(true) => colors::GOOD,
        Some(false) => colors::BAD,
        None => colors::ACCENT,
    };
    c.fill(x, y, 3.0, 52.0, color);
    c.text_in(x + 10.0, w - 16.0, y + 13.0, 7.5, true, colors::MUTED, Align::Left, label);
    c.text_in(x + 10.0, w - 16.0, y + 31.0, 15.0, true, color, Align::Left, value);
    c.text_in(x + 10.0, w - 16.0, y + 45.0, 7.5, false, colors::TEXT, Align::Left, detail);
}

/// The 1:1 prep sheet for one rep; `None` when the rep is not in the month's standings.
pub fn one_on_one(fonts: &Fonts, inp: &OneOnOneInput) -> Option<Pdf> {
    let month = inp.history.last()?;
    let s = month.rep(inp.rep_key)?;
    let fmt = inp.fmt;
    // Figures are shown against the month's standards (the same ones that flag them).
    let st = &month.standards;
    let doc_title = fmt.tf("one_on_one.doc_title", &[("name", &s.name), ("month", &fmt.month(month.period))]);
    let mut c = Canvas::new(fonts, inp.paper, &doc_title).embedding(inp.embed);
    let sub = format!(
        "{}{}",
        s.email.as_deref().map(|e| format!("{e} · ")).unwrap_or_default(),
        fmt.tf(
            "one_on_one.sub",
            &[
                ("team", &s.team),
                ("manager", &s.manager.clone().unwrap_or_else(|| fmt.t("word.not_on_roster"))),
                ("tenure", &tenure(fmt, s.hire_date, month.period.last_day())),
                ("month", &fmt.month(month.period)),
                ("as_of", &as_of(fmt, month)),
            ],
        )
    );
    let kicker = fmt.tf("one_on_one.kicker", &[("org", inp.org)]);
    title_block(&mut c, &kicker, &s.name, &sub, &status(fmt, month), !month.preliminary);

    // Tiles.
    let (m, w) = (c.margin, c.content_width());
    let tw = (w - 16.0) / 3.0;
    let sales_detail = match (s.revenue_quota, s.attainment) {
        (Some(q), Some(a)) => fmt.tf(
            "one_on_one.of_quota",
            &[("attainment", &fmt.judged(st, Judged::Attainment, a)), ("quota", &fmt.money(q))],
        ),
        _ => fmt.t("one_on_one.no_quota_month"),
    };
    tile(
        &mut c,
        m,
        tw,
        &fmt.t("one_on_one.sales"),
        &fmt.money(s.revenue),
        &sales_detail,
        s.attainment.map(|a| a >= Decimal::ONE),
    );
    let (rating, rating_detail) = match s.rating {
        Some(r) => (
            fmt.fixed_vs(r, 1, inp.rating_standard.as_slice()),
            fmt.tf(
                "one_on_one.rating_detail",
                &[
                    ("n", &s.rating_count.to_string()),
                    ("standard", &inp.rating_standard.map(|x| fmt.fixed(x, 1)).unwrap_or_else(|| fmt.t("word.none"))),
                ],
            ),
        ),
        None => ("–".into(), fmt.t("one_on_one.no_ratings")),
    };
    let rating_ok = s.rating.zip(inp.rating_standard).map(|(r, st)| r >= st);
    tile(&mut c, m + tw + 8.0, tw, &fmt.t("one_on_one.rating"), &rating, &rating_detail, rating_ok);
    let (clean, clean_detail) = match s.clean_paperwork {
        Some(p) => (
            fmt.percent_vs(p, inp.paperwork_standard.as_slice()),
            fmt.tf(
                "one_on_one.paperwork_detail",
                &[
                    (
                        "standard",
                        &inp.paperwork_standard.map(|x| fmt.percent_vs(x, &[x])).unwrap_or_else(|| fmt.t("word.none")),
                    ),
                    ("errors", &fmt.tn("plural.errors", u64::from(s.paperwork_errors), &[])),
                ],
            ),
        ),
        None => ("–".into(), fmt.t("one_on_one.no_paperwork")),
    };
    let clean_ok = s.clean_paperwork.zip(inp.paperwork_standard).map(|(p, st)| p >= st);
    tile(&mut c, m + 2.0 * (tw + 8.0), tw, &fmt.t("one_on_one.paperwork"), &clean, &clean_detail, clean_ok);
    c.y += 64.0;

    // Quarter and year to date (fiscal), through this month.
    if let Some((qtd, ytd)) = &inp.to_date {
        let v = super::fiscal_to_date_view(fmt, st, inp.fiscal, qtd, ytd);
        for (name, t) in
            [(fmt.t("one_on_one.quarter_to_date"), &v.quarter), (fmt.t("one_on_one.year_to_date"), &v.year)]
        {
            let figure = match (&t.quota, &t.attainment) {
                (Some(q), Some(a)) => {
                    fmt.tf("one_on_one.to_date_of_quota", &[("revenue", &t.revenue), ("quota", q), ("attainment", a)])
                }
                _ => fmt.tf("one_on_one.to_date_no_quota", &[("revenue", &t.revenue)]),
            };
            let line = fmt.tf(
                "one_on_one.to_date_line",
                &[("name", &name), ("label", &t.label), ("months", &t.months), ("figure", &figure)],
            );
            let (x, y) = (c.margin, c.y + 10.0);
            c.text(x, y, 9.0, false, colors::TEXT, &line);
            c.y += 14.0;
        }
        c.y += 6.0;
    }

    // Trend: table on the left, attainment bars on the right.
    let months: Vec<(&MonthStandings, Option<&Standing>)> =
        inp.history.iter().map(|h| (&**h, h.rep(inp.rep_key))).collect();
    let cols = vec![
        Col { title: fmt.t("col.month"), w: 0.10, align: Align::Left },
        Col { title: fmt.t("col.revenue"), w: 0.14, align: Align::Right },
        Col { title: fmt.t("col.quota"), w: 0.14, align: Align::Right },
        Col { title: fmt.t("col.attainment"), w: 0.11, align: Align::Right },
        Col { title: fmt.t("col.company_rank"), w: 0.13, align: Align::Right },
        Col { title: fmt.t("col.team_rank"), w: 0.11, align: Align::Right },
        Col { title: fmt.t("col.rating_n"), w: 0.12, align: Align::Right },
        Col { title: fmt.t("col.clean"), w: 0.15, align: Align::Right },
    ];
    let dash = || "–".to_string();
    let rows: Vec<Vec<Cell>> = months
        .iter()
        .map(|(h, r)| {
            let label = fmt.month_short(h.period);
            match r {
                None => vec![Cell::Text(label), Cell::Text(fmt.t("word.not_on_roster"))],
                Some(r) => vec![
                    Cell::Bold(label),
                    Cell::Text(fmt.money(r.revenue)),
                    Cell::Text(r.revenue_quota.map(|q| fmt.money(q)).unwrap_or_else(|| fmt.t("word.no_quota"))),
                    Cell::Text(
                        r.attainment.map(|a| fmt.judged(&h.standards, Judged::Attainment, a)).unwrap_or_else(dash),
                    ),
                    Cell::Text(r.company_rank.map(|k| rank_of(fmt, k, h.ranked)).unwrap_or_else(dash)),
                    Cell::Text(
                        r.team_rank
                            .map(|k| rank_of(fmt, k, h.ranked_in_team.get(&r.team).copied().unwrap_or(0)))
                            .unwrap_or_else(dash),
                    ),
                    Cell::Text(
                        r.rating
                            .map(|x| format!("{} ({})", fmt.judged(&h.standards, Judged::Rating, x), r.rating_count))
                            .unwrap_or_else(dash),
                    ),
                    Cell::Text(
                        r.clean_paperwork
                            .map(|p| fmt.judged(&h.standards, Judged::CleanPaperwork, p))
                            .unwrap_or_else(dash),
                    ),
                ],
            }
        })
        .collect();
    table(&mut c, fmt, &fmt.tn("one_on_one.history", months.len() as u64, &[]), &cols, &rows);

    // Bar chart of attainment.
    let chart_h = 70.0;
    if !c.fits(chart_h + 50.0) {
        c.new_page();
    }
    heading(&mut c, &fmt.t("one_on_one.chart"));
    let (m, w) = (c.margin, c.content_width());
    let top = c.y + 10.0;
    let max = months.iter().filter_map(|(_, r)| r.and_then(|r| frac(r.attainment))).fold(1.2f32, f32::max).min(3.0);
    let base = top + chart_h;
    let slot = (w - 40.0) / months.len().max(1) as f32;
    let q_y = base - chart_h * (1.0 / max);
    c.line(m + 36.0, q_y, m + w, q_y, colors::MUTED, 0.6);
    c.text_in(m, 32.0, q_y + 3.0, 7.0, false, colors::MUTED, Align::Right, "100%");
    c.line(m + 36.0, base, m + w, base, colors::RULE, 0.6);
    for (i, (h, r)) in months.iter().enumerate() {
        let x = m + 40.0 + slot * i as f32;
        let bw = (slot * 0.55).min(40.0);
        let bx = x + (slot - bw) / 2.0;
        if let Some(a) = r.and_then(|r| r.attainment) {
            let f = frac(Some(a)).unwrap_or(0.0).clamp(0.0, max);
            let bh = chart_h * f / max;
            c.fill(bx, base - bh, bw, bh, if f >= 1.0 { colors::GOOD } else { colors::ACCENT });
            let label = fmt.judged(&h.standards, Judged::Attainment, a);
            c.text_in(x, slot, base - bh - 3.0, 7.0, true, colors::TEXT, Align::Center, &label);
        } else {
            // A month before the rep was on the roster is not a month without a quota.
            let word = if r.is_some() { "word.no_quota" } else { "word.not_on_roster" };
            c.text_in(x, slot, base - 3.0, 7.0, false, colors::MUTED, Align::Center, &fmt.t(word));
        }
        let label = fmt.month_short(h.period);
        c.text_in(x, slot, base + 10.0, 7.0, false, colors::MUTED, Align::Center, &label);
    }
    c.y = base + 22.0;

    // Personal bests, flags + talking points, paperwork, commitments: two columns.
    let half = (w - 16.0) / 2.0;
    if !c.fits(120.0) {
        c.new_page();
    }
    let col_top = c.y;
    heading_at(&mut c, m, half, &fmt.t("one_on_one.personal_bests"));
    let mut lines: Vec<(String, Rgb3)> = Vec::new();
    for b in &s.personal_bests {
        let v = metric_value(fmt, st, b.metric, b.value);
        let key = if b.kind == BestKind::New { "one_on_one.new_best" } else { "one_on_one.matched_best" };
        let before = metric_value(fmt, st, b.metric, b.previous_best);
        let metric = fmt.t(&format!("metric.{}", b.metric));
        lines.push((fmt.tf(key, &[("metric", &metric), ("value", &v), ("before", &before)]), colors::GOOD));
    }
    for (metric, get) in [
        ("revenue", (|r: &Standing| Some(r.revenue)) as fn(&Standing) -> Option<Decimal>),
        ("attainment", |r: &Standing| r.attainment),
        ("units", |r: &Standing| Some(r.units)),
    ] {
        let best = months
            .iter()
            .filter_map(|(h, r)| r.and_then(|r| get(r).map(|v| (v, h.period))))
            .max_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        let (Some((bv, bp)), Some(cur)) = (best, get(s)) else { continue };
        let name = fmt.t(&format!("metric.{metric}"));
        let text = if bp == month.period {
            fmt.tf("one_on_one.best_this_month", &[("metric", &name), ("value", &metric_value(fmt, st, metric, bv))])
        } else {
            let gap = bv - cur;
            let gap = if metric == "attainment" {
                fmt.tf("one_on_one.points", &[("points", &fmt.fixed(gap * Decimal::ONE_HUNDRED, 1))])
            } else {
                metric_value(fmt, st, metric, gap)
            };
            fmt.tf(
                "one_on_one.best_shown",
                &[
                    ("metric", &name),
                    ("value", &metric_value(fmt, st, metric, bv)),
                    ("month", &fmt.month_short(bp)),
                    ("gap", &gap),
                ],
            )
        };
        lines.push((text, colors::TEXT));
    }
    if s.quota_streak >= 2 {
        lines.push((fmt.tf("one_on_one.quota_streak", &[("n", &s.quota_streak.to_string())]), colors::GOOD));
    }
    let after_bests = bullet_lines(&mut c, m, half, &lines);

    c.y = col_top;
    let x2 = m + half + 16.0;
    heading_at(&mut c, x2, half, &fmt.t("one_on_one.flags"));
    let tps: Vec<(String, Rgb3)> = if inp.talking_points.is_empty() {
        vec![(fmt.t("one_on_one.no_flags"), colors::MUTED)]
    } else {
        inp.talking_points.iter().map(|t| (t.clone(), colors::TEXT)).collect()
    };
    let after_flags = bullet_lines(&mut c, x2, half, &tps);
    c.y = after_bests.max(after_flags) + 4.0;

    if !c.fits(110.0) {
        c.new_page();
    }
    let col_top = c.y;
    heading_at(&mut c, m, half, &fmt.t("one_on_one.paperwork_fix"));
    let issues: Vec<(String, Rgb3)> = if inp.paperwork.is_empty() {
        vec![(fmt.t("one_on_one.paperwork_ok"), colors::GOOD)]
    } else {
        inp.paperwork
            .iter()
            .map(|p| {
                let d = p
                    .close_date
                    .map(|d| format!(" ({})", fmt.tf("one_on_one.closed", &[("date", &fmt.day_month(d))])))
                    .unwrap_or_default();
                (format!("{}{d}: {}", p.deal_id, p.issue), colors::BAD)
            })
            .collect()
    };
    let after_pw = bullet_lines(&mut c, m, half, &issues);
    c.y = col_top;
    heading_at(&mut c, x2, half, &fmt.t("one_on_one.commitments"));
    for _ in 0..5 {
        c.y += 18.0;
        let y = c.y;
        c.line(x2, y, x2 + half, y, colors::RULE, 0.6);
    }
    c.y = c.y.max(after_pw);

    let footer = fmt.tf(
        "one_on_one.footer",
        &[
            ("org", inp.org),
            ("name", &s.name),
            ("month", &fmt.month(month.period)),
            ("manager", &s.manager.clone().unwrap_or_else(|| fmt.t("one_on_one.the_manager"))),
        ],
    );
    Some(c.finish(&footer, inp.created))
}

/// "3 of 12": a rank among how many.
fn rank_of(fmt: &Format, rank: u32, of: u32) -> String {
    fmt.tf("word.rank_of", &[("rank", &rank.to_string()), ("of", &of.to_string())])
}

/// A heading confined to the column [x, x + w]: set smaller (down to 9.5 pt) when it is
/// wider than the column (a translated heading, often), never over the next column.
fn heading_at(c: &mut Canvas, x: f32, w: f32, text: &str) {
    let mut size = 12.5;
    while size > 9.5 && c.fonts().width(text, size, true) > w {
        size -= 0.5;
    }
    c.text_in(x, w, c.y + 14.0, size, true, colors::TEXT, Align::Left, text);
    c.y += 22.0;
}

/// Wrapped bullet lines in the column [x, x + w]; returns the y below them.
fn bullet_lines(c: &mut Canvas, x: f32, w: f32, lines: &[(String, Rgb3)]) -> f32 {
    for (text, color) in lines {
        let wrapped = c.fonts().wrap(text, w - 10.0, BODY, false);
        if !c.fits(11.0 * wrapped.len() as f32) {
            c.new_page();
        }
        for (i, l) in wrapped.iter().enumerate() {
            c.y += 11.0;
            if i == 0 {
                let y = c.y;
                c.fill(x + 1.0, y - 4.5, 3.0, 3.0, *color);
            }
            let y = c.y;
            c.text(x + 10.0, y, BODY, false, *color, l);
        }
        c.y += 3.0;
    }
    c.y
}

fn metric_value(fmt: &Format, st: &Standards, metric: &str, v: Decimal) -> String {
    match metric {
        "revenue" => fmt.money(v),
        "attainment" => fmt.judged(st, Judged::Attainment, v),
        "rating" => fmt.judged(st, Judged::Rating, v),
        _ => fmt.number(v, 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenure_reads_naturally() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let us = Format::new("en-US", "USD").unwrap();
        assert_eq!(tenure(&us, Some(d("2022-02-10")), d("2026-10-31")), "4 years 8 months (since Feb 10, 2022)");
        assert_eq!(tenure(&us, Some(d("2026-10-10")), d("2026-10-31")), "under a month (since Oct 10, 2026)");
        assert_eq!(tenure(&us, None, d("2026-10-31")), "hire date not on the roster");
        let gb = Format::new("en-GB", "GBP").unwrap();
        assert_eq!(tenure(&gb, Some(d("2022-02-10")), d("2026-10-31")), "4 years 8 months (since 10 Feb 2022)");
    }
}
