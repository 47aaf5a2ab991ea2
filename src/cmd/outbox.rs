//! `quotad status` and `quotad outbox list|retry`: the outbox ledger for people.

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::{open_store, shown};
use crate::cli::{OutboxAction, StateArg};
use crate::config::Config;
use crate::deliver::TransportKind;
use crate::pipeline;
use crate::report::Templates;
use crate::store::{OutboxRow, OutboxState};

fn transport_label(cfg: &Config) -> String {
    match &cfg.mail.transport {
        TransportKind::File => format!(".eml files in {}", shown(&cfg.paths.outbox)),
        TransportKind::Smtp(s) => format!("SMTP {} (tls = \"{}\")", s.server(), s.tls.as_str()),
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

/// `quotad status`: counts per state, the oldest message not yet sent, dead letters.
/// Exit status 0 (it only reports).
pub fn status(cfg: &Config, now: DateTime<Utc>) -> Result<i32> {
    let store = open_store(cfg)?;
    say!("Outbox in {}; delivery through {}", shown(&cfg.paths.state), transport_label(cfg));
    let counts = store.outbox_counts()?;
    let count = |s: OutboxState| counts.iter().find(|(x, _)| *x == s).map(|(_, n)| *n).unwrap_or(0);
    let line: Vec<String> = OutboxState::ALL.iter().map(|s| format!("{} {}", count(*s), s.as_str())).collect();
    say!("  {}", line.join(", "));
    let waiting = store.outbox_list(&[OutboxState::Pending, OutboxState::Sending, OutboxState::Failed], 1)?;
    match waiting.first() {
        Some(r) => say!(
            "  oldest not yet sent: {} ({}), queued {} ({} ago)",
            r.entry.idempotency_key,
            r.state.as_str(),
            when(r.created_at),
            ago(now - r.created_at)
        ),
        None => say!("  nothing waiting to be sent"),
    }
    let dead = store.outbox_list(&[OutboxState::Dead], 1000)?;
    if !dead.is_empty() {
        say!("  dead letters ({}; `quotad outbox retry` sends them again):", dead.len());
        for r in &dead {
            say!(
                "    {} after {} attempt(s): {}",
                r.entry.idempotency_key,
                r.attempts,
                r.last_error.as_deref().unwrap_or("(no error recorded)")
            );
        }
    }
    Ok(0)
}

/// `quotad outbox list|retry`.
pub fn outbox(cfg: &Config, action: OutboxAction, now: DateTime<Utc>) -> Result<i32> {
    match action {
        OutboxAction::List { state, limit } => list(cfg, &state, limit),
        OutboxAction::Retry { keys } => retry(cfg, &keys, now),
    }
}

fn list(cfg: &Config, states: &[StateArg], limit: usize) -> Result<i32> {
    let store = open_store(cfg)?;
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
    let rows = store.outbox_list(&states, limit)?;
    if rows.is_empty() {
        say!("(no messages)");
        return Ok(0);
    }
    say!("{:<8} {:>8}  {:<20} {:<52} SUBJECT / LAST ERROR", "STATE", "ATTEMPTS", "QUEUED", "KEY");
    for r in &rows {
        say!(
            "{:<8} {:>8}  {:<20} {:<52} {}",
            r.state.as_str(),
            r.attempts,
            when(r.created_at),
            r.entry.idempotency_key,
            detail(r)
        );
    }
    Ok(0)
}

fn detail(r: &OutboxRow) -> String {
    let mut s = r.entry.subject.clone();
    if let Some(e) = &r.last_error {
        s.push_str(" | ");
        s.push_str(e);
    }
    if let Some(t) = r.next_attempt_at.filter(|_| r.state == OutboxState::Failed) {
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

fn retry(cfg: &Config, keys: &[String], now: DateTime<Utc>) -> Result<i32> {
    let templates = Templates::load(cfg.paths.templates.as_deref())?;
    let mut store = open_store(cfg)?;
    let requeued = store.outbox_requeue(keys)?;
    let mut status = 0;
    for k in keys.iter().filter(|k| !requeued.contains(k)) {
        let why = match store.outbox_get(k)? {
            Some(r) => format!("it is {}, not failed or dead", r.state.as_str()),
            None => "no such key in the outbox".to_string(),
        };
        say!("  not requeued: {k}: {why}");
        status = 1;
    }
    say!("Retry: {} message(s) requeued", requeued.len());
    let d = pipeline::deliver_outbox(cfg, &mut store, &templates, now)?;
    say!("  {} message(s) delivered through {}", d.sent.len(), d.transport);
    super::run::print_delivery(&d, d.sent.len());
    if !d.dead.is_empty() {
        status = 1;
    }
    Ok(status)
}
