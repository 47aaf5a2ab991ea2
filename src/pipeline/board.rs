//! The sales-floor board's read-only questions (issue 21), for the web face: the
//! board's standings (the month to date by the same [`metrics::month_to_date`] the
//! weekly ranking PDF and `quotad standings --week` use), the board views, the daemon's health, and the
//! operator's metrics in the Prometheus text format. Everything here opens the state
//! database read-only ([`super::open_store_read_only`]) and writes nothing.
//!
//! May import `metrics`, `report` (the board views), `store`, `config`, `schedule` and
//! `domain`.

use std::fmt::Write as _;

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::{Loaded, open_store_read_only};
use crate::config::Config;
use crate::domain::{IsoWeek, MonthStandings, Period};
use crate::metrics;
use crate::report::board::{BoardScope, BoardView, board_view};
use crate::store::{OutboxState, Store};

/// What decides whether the board's figures may have changed: the newest import
/// report's id and the org-local day (month to date, preliminary or final). Cheap to
/// read: an open board asks for it every few seconds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BoardKey {
    /// The newest import report's id (0 = none yet).
    pub import: i64,
    /// Today in the org's zone.
    pub day: chrono::NaiveDate,
}

/// The board's standings for the day `now` falls on (org-local): the month to date
/// through today ([`metrics::month_to_date`], what the weekly ranking computes for the
/// days it ranks), with each board's movement since last week's ranking
/// ([`metrics::apply_movement`] against the ranking of the ISO week before this one,
/// when that ranked the same month; the first days of a month show none).
pub struct BoardData {
    /// What the figures were computed from.
    pub key: BoardKey,
    /// The standings.
    pub standings: MonthStandings,
}

/// The board key as at `now` ([`BoardKey`]).
///
/// Errors: the state database cannot be opened or read.
pub fn board_key(cfg: &Config, now: DateTime<Utc>) -> Result<BoardKey> {
    let store = open_store_read_only(cfg)?;
    key_of(&store, cfg, now)
}

fn key_of(store: &Store, cfg: &Config, now: DateTime<Utc>) -> Result<BoardKey> {
    let import = store.import_reports(1)?.first().map_or(0, |r| r.id);
    Ok(BoardKey { import, day: now.with_timezone(&cfg.org.time_zone).date_naive() })
}

/// Computes the board's standings as at `now` ([`BoardData`]) from the state database,
/// opened read-only.
///
/// Errors: the state database cannot be opened or read.
pub fn board_data(cfg: &Config, now: DateTime<Utc>) -> Result<BoardData> {
    let store = open_store_read_only(cfg)?;
    let key = key_of(&store, cfg, now)?;
    let today = key.day;
    let month = Period::of(today);
    let loaded = Loaded::new(&store, month, &cfg.metrics)?;
    let input = loaded.input();
    let mut standings = metrics::month_to_date(today, &input, &cfg.metrics, now);
    let last_week = metrics::ranked_period(IsoWeek::of(today).prev());
    if last_week.month == month && last_week.through < today {
        let before = metrics::month_to_date(last_week.through, &input, &cfg.metrics, now);
        metrics::apply_movement(&mut standings, &before);
    }
    Ok(BoardData { key, standings })
}

/// The board view of `data`: the company's (`team` = `None`) or one team's (its name,
/// matched however it is typed). `None` when no team of that name is in the standings.
pub fn board_page(cfg: &Config, data: &BoardData, team: Option<&str>) -> Option<BoardView> {
    let m = &data.standings;
    match team {
        None => board_view(&cfg.org.name, m, BoardScope::Company, &m.celebrations, &cfg.org.format, cfg.web.rows),
        Some(t) => {
            let t = m.team_named(t)?;
            let c = metrics::team_celebrations(m, t, &cfg.metrics.names);
            // A team's board lists all of its ranked reps.
            board_view(&cfg.org.name, m, BoardScope::Team(t), &c, &cfg.org.format, usize::MAX)
        }
    }
}

/// Renders `view` for the web face: the whole page, or only its live part (what an
/// open page fetches every `web.refresh_seconds` and swaps in). `live_url` is the live
/// part's URL, token included.
///
/// Errors: a template fails to render (names it).
pub fn render_board(
    cfg: &Config,
    templates: &crate::report::Templates,
    view: &BoardView,
    live_url: &str,
    whole_page: bool,
) -> Result<String> {
    let ms = |d: std::time::Duration| d.as_millis() as u64;
    Ok(crate::report::board::render_board(
        templates,
        view,
        live_url,
        ms(cfg.web.refresh),
        ms(cfg.web.rotate),
        whole_page,
    )?)
}

/// The daemon's health for `/healthz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// The state database opens and the calendar was looked at recently.
    pub ok: bool,
    /// One line per check, for people: "state database: ok", "heartbeat: 4 s ago".
    pub lines: Vec<String>,
}

/// How long the calendar may go unlooked-at before the daemon counts as stalled:
/// three heartbeats plus 30 seconds (a job in progress delays a heartbeat).
pub fn heartbeat_limit(cfg: &Config) -> chrono::Duration {
    chrono::Duration::from_std(cfg.schedule.heartbeat * 3).unwrap_or(chrono::Duration::MAX)
        + chrono::Duration::seconds(30)
}

/// Whether the daemon is healthy as at `now` (the daemon's clock): the state database
/// opens read-only, and the worker looked at the calendar (its heartbeat, recorded as
/// `last_seen` in the state) within [`heartbeat_limit`].
pub fn health(cfg: &Config, now: DateTime<Utc>) -> Health {
    let store = match open_store_read_only(cfg) {
        Ok(s) => s,
        Err(e) => return Health { ok: false, lines: vec![format!("state database: cannot open: {e:#}")] },
    };
    let mut lines = vec!["state database: ok".to_string()];
    let limit = heartbeat_limit(cfg);
    let ok = match store.last_seen() {
        Ok(Some(t)) => {
            let age = now - t;
            let fresh = age <= limit;
            lines.push(format!(
                "heartbeat: {}: last looked at the calendar {} s ago ({}; limit {} s)",
                if fresh { "ok" } else { "STALLED" },
                age.num_seconds(),
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                limit.num_seconds()
            ));
            fresh
        }
        Ok(None) => {
            lines.push("heartbeat: STALLED: the calendar was never looked at".into());
            false
        }
        Err(e) => {
            lines.push(format!("heartbeat: cannot read it: {e}"));
            false
        }
    };
    Health { ok, lines }
}

/// The operator's metrics as at `now`, in the Prometheus text exposition format
/// (version 0.0.4): the heartbeat, each scheduled job's last run (time, result) and
/// next occurrence, outbox messages by state, dead letters, the last import (time,
/// rows rejected, quarantined) and unresolved quarantines. Times are Unix seconds.
///
/// Errors: the state database cannot be opened or read.
pub fn prometheus(cfg: &Config, now: DateTime<Utc>) -> Result<String> {
    let store = open_store_read_only(cfg)?;
    let mut out = String::new();
    let mut family = |name: &str, help: &str, samples: &[(String, f64)]| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for (labels, v) in samples {
            let _ = writeln!(out, "{name}{labels} {v}");
        }
    };
    let last_seen = store.last_seen()?;
    family(
        "quotad_heartbeat_timestamp_seconds",
        "When quotad serve last looked at the calendar (its heartbeat).",
        &last_seen.map(|t| (String::new(), t.timestamp() as f64)).into_iter().collect::<Vec<_>>(),
    );
    family(
        "quotad_heartbeat_age_seconds",
        "Seconds since quotad serve last looked at the calendar, by the daemon's clock.",
        &last_seen.map(|t| (String::new(), (now - t).num_seconds() as f64)).into_iter().collect::<Vec<_>>(),
    );
    let h = health(cfg, now);
    family("quotad_healthy", "1 when /healthz answers 200.", &[(String::new(), if h.ok { 1.0 } else { 0.0 })]);
    let mut last_run = Vec::new();
    let mut last_ok = Vec::new();
    let mut next = Vec::new();
    for j in &cfg.schedule.jobs {
        let job = j.job.as_str();
        let (last, _) = store.run_last(job)?;
        if let Some(r) = last {
            last_run.push((labels(&[("job", job), ("state", r.state.as_str())]), r.occurrence.timestamp() as f64));
            last_ok.push((labels(&[("job", job)]), if r.state.as_str() == "failed" { 0.0 } else { 1.0 }));
        }
        if j.enabled
            && let Some(n) = j.next_after(cfg.schedule.tz, now)
        {
            next.push((labels(&[("job", job)]), n.timestamp() as f64));
        }
    }
    family(
        "quotad_job_last_run_timestamp_seconds",
        "The scheduled instant of each job's last run, with its state.",
        &last_run,
    );
    family("quotad_job_last_run_ok", "1 unless the job's last run failed.", &last_ok);
    family("quotad_job_next_run_timestamp_seconds", "Each enabled job's next occurrence.", &next);
    let counts = store.outbox_counts()?;
    let by_state: Vec<(String, f64)> = OutboxState::ALL
        .iter()
        .map(|s| {
            let n = counts.iter().find(|(x, _)| x == s).map_or(0, |(_, n)| *n);
            (labels(&[("state", s.as_str())]), n as f64)
        })
        .collect();
    family("quotad_outbox_messages", "Messages in the outbox ledger by state.", &by_state);
    let chat = store.outbox_chat_counts()?;
    let chat_by_state: Vec<(String, f64)> = OutboxState::ALL
        .iter()
        .map(|s| {
            let n = chat.iter().find(|(x, _)| x == s).map_or(0, |(_, n)| *n);
            (labels(&[("state", s.as_str())]), n as f64)
        })
        .collect();
    family(
        "quotad_outbox_chat_posts",
        "Of the outbox's messages, the chat posts (Slack, Teams, Google Chat) by state.",
        &chat_by_state,
    );
    let dead = counts.iter().find(|(x, _)| *x == OutboxState::Dead).map_or(0, |(_, n)| *n);
    family("quotad_dead_letters", "Messages given up on (dead letters).", &[(String::new(), dead as f64)]);
    let last = store.import_reports(1)?;
    if let Some(r) = last.first() {
        family(
            "quotad_last_import_timestamp_seconds",
            "When the last inbox file was read.",
            &[(String::new(), r.at.timestamp() as f64)],
        );
        family(
            "quotad_last_import_rows_rejected",
            "Rows the last inbox file had rejected.",
            &[(String::new(), r.rows_rejected as f64)],
        );
        family(
            "quotad_last_import_quarantined",
            "1 when the last inbox file was quarantined.",
            &[(String::new(), if r.reason.is_some() { 1.0 } else { 0.0 })],
        );
    }
    family(
        "quotad_quarantines_unresolved",
        "Quarantined files not yet resolved.",
        &[(String::new(), store.unresolved_quarantines()?.len() as f64)],
    );
    Ok(out)
}

/// `{a="x",b="y"}` with the values escaped for the Prometheus text format.
fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")))
        .collect();
    format!("{{{}}}", inner.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(labels(&[("job", "a\"b\\c\nd")]), "{job=\"a\\\"b\\\\c\\nd\"}");
        assert_eq!(
            labels(&[("job", "weekly_ranking"), ("state", "succeeded")]),
            "{job=\"weekly_ranking\",state=\"succeeded\"}"
        );
    }
}
