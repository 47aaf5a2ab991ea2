//! `quotad approve` and `quotad reject`: an approver's answer to the digest of held
//! messages (`[quota_memo.approval]`), and the held runs in `quotad status`.

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::domain::Period;
use crate::pipeline::{self, Approval, HeldLine};

/// `quotad approve quota-memo --period P --token T [--by ADDRESS]`. Exit status 0 when
/// the held messages were released (and none died in delivery), 1 when the approval was
/// refused because the figures changed (a new digest was sent).
pub fn approve(
    cfg: &Config,
    period: Period,
    token: Option<&str>,
    by: Option<&str>,
    now: DateTime<Utc>,
    if_locked: pipeline::IfLocked,
) -> Result<i32> {
    // An approval names the digest the approver read: without its token, say which run is
    // held and how to approve it, and approve nothing.
    let Some(token) = token else {
        let store = pipeline::open_store_read_only(cfg)?;
        let held = pipeline::held_runs(cfg, &store)?;
        let held: Vec<_> = held.iter().filter(|h| h.period == period.to_string()).collect();
        match held.first() {
            None => anyhow::bail!(
                "nothing is held for approval for {} ({period}); `quotad approvals --period {period}` shows what became of its runs",
                period.label()
            ),
            Some(h) => anyhow::bail!(
                "--token is required: an approval names the digest it approves. The {} quota {} held since {} ({} message(s)) have token {}: read that digest, then run `quotad approve quota-memo --period {period} --token {}`",
                period.label(),
                h.round,
                h.since.format("%Y-%m-%d %H:%M UTC"),
                h.messages,
                h.token,
                h.token
            ),
        }
    };
    if let Some(pid) = pipeline::daemon_pid(cfg) {
        return through_daemon(cfg, pid, period, Some(token), None, by, now);
    }
    let signals = super::signals::Signals::listen()?;
    let templates = pipeline::load_templates(cfg)?;
    let _lock = pipeline::lock_state_as(cfg, "approve", if_locked)?;
    let mut store = pipeline::open_store(cfg)?;
    match pipeline::approve(cfg, &mut store, &templates, period, token, by, now, signals.stop())? {
        Approval::Approved { by, released, delivery } => {
            say!("Approved by {by}: the {} quota memos held with token {token} are released", period.label());
            say!(
                "  {} message(s) queued and {} delivered through {}",
                released.queued.len(),
                delivery.sent.len(),
                delivery.transport
            );
            if !released.already.is_empty() {
                say!("  {} message(s) were already in the outbox and are not sent again", released.already.len());
            }
            super::run::print_delivery(&delivery, delivery.sent.len());
            // A memo that died on release: the admin's one dead-letter notice of this run.
            if let Some(r) = pipeline::report_dead_letters(cfg, &mut store, &templates, now, signals.stop())? {
                super::run::print_reported(&r);
            }
            let status = if delivery.dead.is_empty() { 0 } else { 1 };
            super::run::print_stopped(&signals, || pipeline::outbox_status(&store))?;
            Ok(signals.exit_status(status))
        }
        Approval::Changed { old, why, held } => {
            say!(
                "NOT APPROVED: the {} quota memos changed since digest {old} ({why}); nothing was sent.",
                period.label()
            );
            super::run::print_held(&held);
            say!("  read the new digest, then approve it with its token");
            Ok(1)
        }
    }
}

/// `quotad reject quota-memo --period P --reason "…" [--by ADDRESS]`.
pub fn reject(
    cfg: &Config,
    period: Period,
    reason: &str,
    by: Option<&str>,
    now: DateTime<Utc>,
    if_locked: pipeline::IfLocked,
) -> Result<i32> {
    if let Some(pid) = pipeline::daemon_pid(cfg) {
        return through_daemon(cfg, pid, period, None, Some(reason), by, now);
    }
    let _lock = pipeline::lock_state_as(cfg, "reject", if_locked)?;
    let store = pipeline::open_store(cfg)?;
    let r = pipeline::reject(cfg, &store, period, reason, by, now)?;
    say!(
        "Rejected by {}: the {} quota {} held with token {} ({} message(s)) will not be sent.",
        r.decided_by.as_deref().unwrap_or_default(),
        period.label(),
        r.round,
        r.token,
        r.messages
    );
    say!(
        "  import the corrected file, then run `quotad run quota-memo --period {period}` to hold new memos (a new digest goes to the approvers)"
    );
    Ok(0)
}

/// While `quotad serve` (pid `pid`) holds the state database: records the answer for it
/// and waits for what it did (it acts at its next heartbeat). Exit status 0 when it was
/// carried out, 1 when refused or not answered within a minute past two heartbeats.
fn through_daemon(
    cfg: &Config,
    pid: u32,
    period: Period,
    token: Option<&str>,
    reason: Option<&str>,
    by: Option<&str>,
    now: DateTime<Utc>,
) -> Result<i32> {
    let store = pipeline::open_store(cfg)?;
    let id = pipeline::request(cfg, &store, period, token, reason, by, now)?;
    say!("quotad serve (pid {pid}) holds the state database: it acts on this at its next heartbeat; waiting for it…");
    let limit = std::time::Instant::now() + cfg.schedule.heartbeat * 2 + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < limit {
        if let Some((ok, outcome)) = pipeline::request_outcome(&store, id)? {
            say!("{outcome}");
            return Ok(if ok { 0 } else { 1 });
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    say!("quotad serve has not acted on it yet; it will at its next heartbeat (`quotad status` shows the held runs)");
    Ok(1)
}

/// `quotad approvals --period P`: the month's approval ledger, oldest first.
pub fn trail(cfg: &Config, period: Period) -> Result<i32> {
    let store = pipeline::open_store_read_only(cfg)?;
    let lines = pipeline::approval_trail(&store, period)?;
    if lines.is_empty() {
        say!("nothing was held for approval for {} ({period})", period.label());
    }
    for l in lines {
        say!("{l}");
    }
    Ok(0)
}

/// The held runs, for `quotad status`.
pub fn print_held(lines: &[HeldLine]) {
    if lines.is_empty() {
        return;
    }
    say!("Held for approval:");
    for h in lines {
        let deadline = match h.deadline {
            Some(d) => format!(", deadline {} (then {})", d.format("%Y-%m-%d %H:%M UTC"), h.at_deadline),
            None => String::new(),
        };
        say!(
            "  {} {} {}: {} message(s) held since {}, token {}{deadline}",
            h.job,
            h.period,
            h.round,
            h.messages,
            h.since.format("%Y-%m-%d %H:%M UTC"),
            h.token
        );
    }
}
