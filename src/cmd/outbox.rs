//! `quotad status` and `quotad outbox list|retry`: the outbox ledger for people.

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::{shown, shown_state};
use crate::cli::{OutboxAction, StateArg};
use crate::config::Config;
use crate::pipeline::{self, OutboxLine, OutboxState, OutboxStatus};

fn transport_label(cfg: &Config) -> String {
    match pipeline::smtp_route(cfg) {
        None => format!(".eml files in {}", shown(&cfg.paths.outbox)),
        Some(s) => format!("SMTP {} (tls = \"{}\")", s.server, s.tls),
    }
}

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A duration as people say it: "40 s", "12 min", "5 h", "3 days".
fn ago(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..120 => format!("{s} s"),
        120..7200 => format!("{} min", s / 60),
        7200..172_800 => format!("{} h", s / 3600),
        _ => format!("{} days", s / 86_400),
    }
}

/// The outbox part of `quotad status`: counts per state, the oldest message not yet
/// sent, dead letters. Exit status 0 (it only reports).
pub fn status(cfg: &Config, s: &OutboxStatus, now: DateTime<Utc>) -> i32 {
    say!("Outbox in {}; delivery through {}", shown_state(&cfg.paths.state), transport_label(cfg));
    let line: Vec<String> = s.counts.iter().map(|(state, n)| format!("{n} {state}")).collect();
    say!("  {}", line.join(", "));
    if s.chat_counts.iter().any(|(_, n)| *n > 0) {
        let line: Vec<String> = s.chat_counts.iter().map(|(state, n)| format!("{n} {state}")).collect();
        say!("  of which chat posts: {}", line.join(", "));
    }
    match &s.oldest_waiting {
        Some(r) => say!(
            "  oldest not yet sent: {} ({}), queued {} ({} ago)",
            r.key,
            r.state,
            when(r.queued),
            ago(now - r.queued)
        ),
        None => say!("  nothing waiting to be sent"),
    }
    if !s.dead.is_empty() {
        say!("  dead letters ({}; `quotad outbox retry` sends them again):", s.dead.len());
        for r in &s.dead {
            say!(
                "    {} after {} attempt(s): {}",
                r.key,
                r.attempts,
                r.last_error.as_deref().unwrap_or("(no error recorded)")
            );
        }
    }
    0
}

/// `quotad outbox list|retry`.
pub fn outbox(cfg: &Config, action: OutboxAction, now: DateTime<Utc>, if_locked: pipeline::IfLocked) -> Result<i32> {
    match action {
        OutboxAction::List { state, limit } => list(cfg, &state, limit),
        OutboxAction::Retry { keys } => retry(cfg, &keys, now, if_locked),
    }
}

fn list(cfg: &Config, states: &[StateArg], limit: usize) -> Result<i32> {
    let states: Vec<OutboxState> = states
        .iter()
        .map(|s| match s {
            StateArg::Pending => OutboxState::Pending,
            StateArg::Sending => OutboxState::Sending,
            StateArg::Sent => OutboxState::Sent,
            StateArg::Failed => OutboxState::Failed,
            StateArg::Dead => OutboxState::Dead,
        })
        .collect();
    let rows = pipeline::outbox_list(cfg, &states, limit)?;
    if rows.is_empty() {
        say!("(no messages)");
        return Ok(0);
    }
    say!("{:<8} {:>8}  {:<20} {:<52} SUBJECT / LAST ERROR", "STATE", "ATTEMPTS", "QUEUED", "KEY");
    for r in &rows {
        say!("{:<8} {:>8}  {:<20} {:<52} {}", r.state, r.attempts, when(r.queued), r.key, detail(r));
    }
    Ok(0)
}

fn detail(r: &OutboxLine) -> String {
    let mut s = r.subject.clone();
    if let Some(e) = &r.last_error {
        s.push_str(" | ");
        s.push_str(e);
    }
    if let Some(t) = r.next_attempt {
        s.push_str(&format!(" | next attempt {}", when(t)));
    }
    if r.resends > 0 {
        s.push_str(&format!(" | resent {}x", r.resends));
    }
    if r.interrupted > 0 {
        s.push_str(&format!(" | interrupted by a crash {}x", r.interrupted));
    }
    s
}

fn retry(cfg: &Config, keys: &[String], now: DateTime<Utc>, if_locked: pipeline::IfLocked) -> Result<i32> {
    let signals = super::signals::Signals::listen()?;
    let templates = pipeline::load_templates(cfg)?;
    let r = pipeline::retry_outbox(cfg, &templates, keys, now, signals.stop(), if_locked)?;
    let mut status = 0;
    for (k, why) in &r.requeued.not_requeued {
        say!("  not requeued: {k}: {why}");
        status = 1;
    }
    let withdrawn = match r.withdrawn.len() {
        0 => String::new(),
        n => format!(", {n} stale dead-letter notice(s) withdrawn (every message they listed was sent since)"),
    };
    say!(
        "Retry: {} message(s) requeued: {} delivered, {} dead again, {} still waiting{withdrawn}",
        r.requeued.requeued.len(),
        r.delivered.len(),
        r.dead_again.len(),
        r.waiting.len()
    );
    say!("  through {}", r.delivery.transport);
    super::run::print_delivery(&r.delivery, r.delivered.len());
    if !r.dead_again.is_empty() || !r.delivery.dead.is_empty() {
        status = 1;
    }
    if let Some(n) = &r.reported {
        super::run::print_reported(n);
    }
    super::run::print_stopped(&signals, || pipeline::outbox_status(&pipeline::open_store_read_only(cfg)?))?;
    Ok(signals.exit_status(status))
}
