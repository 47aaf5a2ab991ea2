//! `quotad explain`: how one rep's figures were built, row by row — each deal with the
//! file, sheet and row it came from, what it superseded, the quota row, the ratings,
//! the paperwork — ending at the same figures `quotad standings` and the memos show.
//! May import `store` (row sources), `metrics`, `report` (number formats), `config`
//! and `domain`.

use std::fmt::Write as _;

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::{Loaded, require_data};
use crate::config::Config;
use crate::domain::{BestKind, Judged, MonthStandings, Period, StageClass, Standing, fold_name};
use crate::metrics;
use crate::report::Format;

/// The metrics `quotad explain --metric` can focus on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExplainMetric {
    /// Revenue and attainment.
    Revenue,
    /// Units.
    Units,
    /// Customer rating.
    Rating,
    /// Clean paperwork.
    Paperwork,
}

/// `quotad explain --rep X --period YYYY-MM [--metric]`: the explanation of rep `who`
/// (rep id, e-mail or name) in `period` as at `now`, as text (lines ending in `\n`);
/// with `metric`, that metric's section only (and the bests, streaks and flags).
///
/// Errors: no deals stored for `period` (the message lists the months that have
/// some); no rep matches `who` (it lists the closest), or several do by name; the
/// rows do not add up to the standings (an internal check).
pub fn explain(
    cfg: &Config,
    who: &str,
    period: Period,
    metric: Option<ExplainMetric>,
    now: DateTime<Utc>,
) -> Result<String> {
    let store = super::open_store_read_only(cfg)?;
    let has_deals = require_data(&store, period)?;
    let loaded = Loaded::new(&store, period, &cfg.metrics)?;
    let input = loaded.input();
    let settings = &cfg.metrics;
    let m = metrics::month_standings(period, &input, settings, now);
    let s = find_rep(&m, who)?;
    let f = &cfg.org.format;
    let show = |x: ExplainMetric| metric.is_none_or(|m| m == x);
    let mut out = String::new();
    let status =
        if m.preliminary { "preliminary: the month has not closed or its final export is not loaded" } else { "final" };
    let ids: Vec<&str> = [s.rep_id.as_deref(), s.email.as_deref()].into_iter().flatten().collect();
    let _ = writeln!(out, "{} ({}), team {} — {} ({status})", s.name, ids.join(", "), s.team, period.label());
    // roster-dated: the roster row that put the rep in this team for the month.
    if let Some(v) =
        metrics::month_roster(input.roster, period, cfg.org.time_zone).into_iter().find(|v| v.rep.key() == s.rep_key)
    {
        let file = if v.file.is_empty() { "roster".to_string() } else { v.file.clone() };
        let from = match v.rep.effective_date {
            Some(d) => format!("effective {d} (its Effective Date)"),
            None if v.effective == chrono::DateTime::<chrono::Utc>::MIN_UTC => {
                "in effect for every month until a later row moves the rep (the rep's first roster row, no Effective Date)"
                    .to_string()
            }
            None => format!(
                "effective {} (the roster file's export date; no Effective Date)",
                v.effective.with_timezone(&cfg.org.time_zone).date_naive()
            ),
        };
        let leave = v.rep.leave_date.map(|l| format!(", leave date {l}")).unwrap_or_default();
        let state = if v.rep.active { "active" } else { "inactive" };
        let _ = writeln!(
            out,
            "Roster: {file}, {}row {}, {from}{leave}: team {}, {state} in {} (the version in effect on {}, the month's last day)",
            sheet(&v.rep.origin.sheet),
            v.rep.origin.row,
            v.rep.team.as_deref().unwrap_or("none"),
            period.label(),
            period.last_day()
        );
    }
    if !has_deals {
        let _ = writeln!(
            out,
            "  no deals yet: no export with {} deals is stored; the quota below is what the month is measured against",
            period.label()
        );
    }
    if let Some(d) = m.as_of {
        let _ = writeln!(out, "Figures as of {d} (the newest export that fed {period}).");
    }

    let rows = metrics::rep_rows(period, &s.rep_key, &input, settings);
    let sources = store.deal_sources(period)?;
    if show(ExplainMetric::Revenue) || show(ExplainMetric::Units) {
        let _ = writeln!(out, "\nRevenue and units: won deals add, cancellations subtract, by close date in {period}");
        if rows.is_empty() {
            let _ = writeln!(out, "  no won or cancelled deal closed in {period} is credited to {}", s.name);
        }
        let (mut rev, mut units) = (Decimal::ZERO, Decimal::ZERO);
        for d in &rows {
            let Some((amount, u)) = metrics::credit(d) else { continue };
            let rule = metrics::cancellation_rule(d, loaded.record(), settings);
            let src = sources
                .get(&(d.deal_id.clone(), d.event().as_str().to_string(), d.rep.key()))
                .map(|(id, file)| format!("{file}, {}row {} (import #{id})", sheet(&d.origin.sheet), d.origin.row))
                .unwrap_or_else(|| format!("{}row {}", sheet(&d.origin.sheet), d.origin.row));
            let share =
                if d.share == Decimal::ONE { String::new() } else { format!(" × {} split", f.percent(d.share)) };
            let head = format!(
                "  {:<10} {:<11} {}  {}{share}",
                d.deal_id,
                d.stage,
                d.close_date.map(|c| c.to_string()).unwrap_or_default(),
                f.money(d.amount.unwrap_or_default()),
            );
            if let Some(metrics::CancellationRule::NotOnRecord { first }) = rule {
                let _ = writeln!(
                    out,
                    "{head} = counts nowhere: no sale of {} is on record, and the history (from {first}) covers the {} months before it (ingest.cancellation_lookback_months), so the sale it cancels was never counted  [{src}]",
                    d.deal_id, settings.cancellation_lookback_months
                );
                continue;
            }
            rev += amount;
            units += u;
            let sign = if amount < Decimal::ZERO { "−" } else { "+" };
            let _ = writeln!(
                out,
                "{head} = {sign}{} revenue, {sign}{} units  [{src}]",
                f.money(amount.abs()),
                f.number(u.abs(), 2)
            );
            match rule {
                Some(metrics::CancellationRule::MayPredateHistory { first }) => {
                    let _ = writeln!(
                        out,
                        "             a cancellation: its sale is not on record but may predate the history (from {first}), so it subtracts in the month it was cancelled"
                    );
                }
                Some(_) => {
                    let _ = writeln!(
                        out,
                        "             a cancellation: it counts in the month it was cancelled, whatever month the sale was in"
                    );
                }
                None => {}
            }
            for v in store.superseded_versions(&d.deal_id, d.event().as_str())? {
                if v.rep_ref == d.rep.key() {
                    let amount = v
                        .amount
                        .as_deref()
                        .and_then(|a| a.parse::<Decimal>().ok())
                        .map(|a| f.money(a))
                        .unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "             replaces {} {} {amount} from {}, {}row {} (import #{}), superseded by import #{} ({})",
                        v.stage,
                        v.close_date.unwrap_or_default(),
                        v.file_name,
                        sheet(&v.sheet),
                        v.row,
                        v.import_id,
                        v.superseded_by,
                        v.superseded_by_file
                    );
                }
            }
        }
        let _ = writeln!(out, "  = revenue {}, units {}", f.money(rev), f.number(units, 2));
        if rev != s.revenue || units != s.units {
            bail!(
                "internal check failed: the rows add up to {rev} / {units} but the standings say {} / {}",
                s.revenue,
                s.units
            );
        }
    }

    if show(ExplainMetric::Revenue) {
        let _ = writeln!(out, "\nQuota and attainment");
        match metrics::rep_quota(period, &s.rep_key, &input, settings) {
            Some(q) => {
                let src = store
                    .quota_source(&q.rep, period)?
                    .map(|(id, file, sh, row)| format!("{file}, {}row {row} (import #{id})", sheet(&sh)))
                    .unwrap_or_default();
                let _ = writeln!(out, "  quota {} for {period}  [{src}]", f.money(q.revenue));
            }
            None => {
                let _ = writeln!(out, "  no quota row for {period}");
            }
        }
        match (s.attainment, s.revenue_quota) {
            (Some(a), Some(q)) => {
                let _ = writeln!(
                    out,
                    "  attainment = {} / {} = {} = {} (shown and ranked to one decimal)",
                    f.money(s.revenue),
                    f.money(q),
                    a.round_dp(6).normalize(),
                    f.judged(&m.standards, Judged::Attainment, a)
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    "  attainment: no quota (missing or zero), so none — never 0% — and not ranked on attainment"
                );
            }
        }
        let _ = writeln!(out, "  {}", rank_reason(&m, s));
        if s.pacing.is_none() && m.preliminary && !m.dated_by_day {
            let _ = writeln!(
                out,
                "  no month-to-date pace: the month's figures are a summary export's monthly totals, not deals dated by day"
            );
        }
        if let Some(p) = &s.pacing {
            let pace = p.pace.map(|x| f.judged(&m.standards, Judged::Pace, x)).unwrap_or_else(|| "—".into());
            let _ = writeln!(
                out,
                "  pacing through {}: {} of {} selling days; expected {} by now; pace {pace}",
                p.through,
                p.elapsed,
                p.selling_days,
                f.money(p.expected_to_date)
            );
        }
    }

    if show(ExplainMetric::Rating) {
        let _ = writeln!(out, "\nCustomer rating");
        let rated: Vec<String> = rows
            .iter()
            .filter(|d| d.class == StageClass::Won)
            .filter_map(|d| d.rating.map(|r| format!("{} {}", d.deal_id, r.normalize())))
            .collect();
        match s.rating {
            Some(r) => {
                let _ = writeln!(out, "  ratings: {}", rated.join(", "));
                let _ =
                    writeln!(out, "  mean {} over n = {}", f.judged(&m.standards, Judged::Rating, r), s.rating_count);
            }
            None => {
                let _ = writeln!(out, "  no ratings this month");
            }
        }
        let _ = writeln!(
            out,
            "  {}",
            match s.rating_rank {
                Some(r) => format!("rank {r} on the ratings board"),
                None => format!(
                    "not ranked on ratings: {} rating(s), fewer than metrics.min_ratings = {}",
                    s.rating_count, settings.min_ratings
                ),
            }
        );
    }

    if show(ExplainMetric::Paperwork) {
        let _ = writeln!(out, "\nClean paperwork (won deals complete with zero errors)");
        let mut any = false;
        for d in rows.iter().filter(|d| d.class == StageClass::Won) {
            if d.paperwork_complete.is_none() && d.paperwork_errors.is_none() {
                continue;
            }
            any = true;
            let clean = d.paperwork_complete != Some(false) && d.paperwork_errors.unwrap_or(0) == 0;
            let _ = writeln!(
                out,
                "  {:<10} complete: {:<3} errors: {}  {}",
                d.deal_id,
                match d.paperwork_complete {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "—",
                },
                d.paperwork_errors.unwrap_or(0),
                if clean { "clean" } else { "NOT clean: fix in the 1:1" }
            );
        }
        match s.clean_paperwork {
            Some(c) if any => {
                let _ = writeln!(
                    out,
                    "  = {} clean; {} error(s) per deal",
                    f.judged(&m.standards, Judged::CleanPaperwork, c),
                    s.errors_per_deal.map(|e| f.fixed(e, 2)).unwrap_or_default()
                );
            }
            _ => {
                let _ = writeln!(out, "  no paperwork recorded this month");
            }
        }
    }

    let _ = writeln!(out, "\nPersonal bests, streaks, flags");
    let _ = writeln!(out, "  {}", bests_reason(&m, s, settings.min_history, f));
    if s.quota_streak > 0 {
        let _ = writeln!(
            out,
            "  {} month(s) in a row at quota{}",
            s.quota_streak,
            if s.first_at_quota { " (the first ever)" } else { "" }
        );
    }
    if s.clean_streak > 0 {
        let _ = writeln!(out, "  {} month(s) in a row of clean paperwork", s.clean_streak);
    }
    // The same words as the manager's team memo (email/flags.txt), in English like the
    // rest of `explain` (the operator's output; the memo is in the org's language).
    let templates = crate::report::Templates::load(cfg.paths.templates.as_deref(), "en")?;
    let flags = crate::report::flag_sentences(&templates, &crate::report::flag_views(f, s, &m.standards))?;
    let _ =
        writeln!(out, "  flags (manager only): {}", if flags.is_empty() { "none".into() } else { flags.join("; ") });
    Ok(out)
}

fn sheet(s: &str) -> String {
    if s.is_empty() { String::new() } else { format!("sheet '{s}', ") }
}

fn rank_reason(m: &MonthStandings, s: &Standing) -> String {
    if !s.active {
        return "not ranked: inactive on the roster".into();
    }
    match (s.company_rank, s.team_rank) {
        (Some(c), Some(t)) => format!(
            "rank {c} of {} company-wide and {t} of {} in {} on attainment (ties share a rank)",
            m.ranked,
            m.ranked_in_team.get(&s.team).copied().unwrap_or(0),
            s.team
        ),
        _ => "not ranked on attainment: no quota".into(),
    }
}

fn bests_reason(m: &MonthStandings, s: &Standing, min_history: u32, f: &Format) -> String {
    if !s.personal_bests.is_empty() {
        return s
            .personal_bests
            .iter()
            .map(|b| {
                let kind = if b.kind == BestKind::New { "new personal best" } else { "matched personal best" };
                let v = |x: Decimal| match b.metric {
                    "revenue" => f.money(x),
                    "attainment" => f.percent(x),
                    _ => f.number(x, 2),
                };
                format!("{kind} in {}: {} (best before: {})", b.metric, v(b.value), v(b.previous_best))
            })
            .collect::<Vec<_>>()
            .join("; ");
    }
    if m.preliminary {
        "no personal bests: only a final month can set one".into()
    } else if s.partial_month {
        "no personal bests: a partial first month (hired after the 1st) counts for none".into()
    } else {
        format!(
            "no personal best this month (needs a value better than every earlier final month, with at least {min_history} of them)"
        )
    }
}

/// Finds a rep by id, e-mail or name; the error lists the closest names.
fn find_rep<'a>(m: &'a MonthStandings, who: &str) -> Result<&'a Standing> {
    let w = who.trim();
    let wl = w.to_lowercase();
    if let Some(s) = m.reps.iter().find(|s| s.rep_id.as_deref().is_some_and(|id| id.eq_ignore_ascii_case(w))) {
        return Ok(s);
    }
    if let Some(s) = m.reps.iter().find(|s| s.email.as_deref() == Some(wl.as_str())) {
        return Ok(s);
    }
    let by_name: Vec<&Standing> = m.reps.iter().filter(|s| fold_name(&s.name) == fold_name(w)).collect();
    match by_name.as_slice() {
        [one] => return Ok(one),
        [] => {}
        many => bail!(
            "{} reps are named '{w}'; give the rep id or e-mail instead: {}",
            many.len(),
            many.iter().map(|s| describe(s)).collect::<Vec<_>>().join(", ")
        ),
    }
    let mut scored: Vec<(usize, &Standing)> = m
        .reps
        .iter()
        .map(|s| {
            let d = distance(&fold_name(w), &fold_name(&s.name))
                .min(s.email.as_deref().map(|e| distance(&wl, e)).unwrap_or(usize::MAX));
            (d, s)
        })
        .collect();
    scored.sort_by_key(|(d, s)| (*d, fold_name(&s.name)));
    let close: Vec<String> = scored.iter().take(3).map(|(_, s)| describe(s)).collect();
    bail!("no rep matches '{w}' in {}; closest: {}", m.period, close.join(", "))
}

fn describe(s: &Standing) -> String {
    let ids: Vec<&str> = [s.rep_id.as_deref(), s.email.as_deref()].into_iter().flatten().collect();
    format!("{} ({})", s.name, ids.join(", "))
}

/// Levenshtein edit distance between two strings, by characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    #[test]
    fn edit_distance() {
        assert_eq!(super::distance("jose nunes", "jose nunez"), 1);
        assert_eq!(super::distance("", "abc"), 3);
        assert_eq!(super::distance("kitten", "sitting"), 3);
    }
}
