//! The quota memo (README "What the first-of-month memo says") and its corrections: the first-of-month memo
//! to every active rep and a team memo to each manager, queued through the outbox
//! ledger and delivered; later, a marked correction to whoever's stated figures
//! changed. May import `store`, `metrics` (through [`standings`]), `report`, `config`,
//! `domain` and the outbox (`Sender`, [`deliver_outbox`]).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Timelike, Utc};
use sha2::{Digest, Sha256};

use super::outbox::{Delivery, Sender, Sent, deliver_outbox};
use super::{Stop, standings};
use crate::config::Config;
use crate::domain::Period;
use crate::report::{self, Templates};
use crate::store::Store;

/// The result of a quota memo run.
#[derive(Debug, Clone, Default)]
pub struct MemoSummary {
    /// The memo month.
    pub period: Option<Period>,
    /// Rep memos delivered by this run.
    pub sent: usize,
    /// Manager (team) memos delivered by this run.
    pub managers: usize,
    /// Correction notices delivered by this run (reps and managers).
    pub corrections: usize,
    /// Messages recorded in the outbox by this run (new keys).
    pub queued: usize,
    /// Keys already sent that `--resend` queued again.
    pub resend: usize,
    /// Messages whose idempotency key was already sent: not sent again.
    pub already_sent: usize,
    /// Memos of this month that an earlier run recorded but did not finish (delivered now
    /// as recorded, with their Message-ID).
    pub unfinished_earlier: usize,
    /// Memos of this month that are dead letters from an earlier run
    /// (`quotad outbox retry` sends them again).
    pub dead_earlier: usize,
    /// Active reps who got no memo, and why.
    pub skipped: Vec<String>,
    /// Memos that could not be built (not queued).
    pub failed: Vec<String>,
    /// Reps in last month's deals or quotas that match no roster rep.
    pub unmatched: Vec<String>,
    /// Set when nothing was sent because last month's final export is awaited.
    pub waiting: Option<String>,
    /// Set when the memos went out with last month preliminary (and why).
    pub preliminary: Option<String>,
    /// Where the file transport wrote.
    pub outbox: PathBuf,
    /// What the delivery of the outbox did (this month's memos and anything else due).
    pub delivery: Delivery,
}

impl MemoSummary {
    /// Counts one queueing outcome.
    fn count(&mut self, s: Sent) {
        match s {
            Sent::Queued => self.queued += 1,
            Sent::Resent => self.resend += 1,
            Sent::Before => self.already_sent += 1,
            Sent::Unfinished => self.unfinished_earlier += 1,
            Sent::Dead => self.dead_earlier += 1,
            Sent::Failed => {}
        }
    }
}

/// The exact figures a rep's quota memo states, for detecting corrections later.
fn memo_facts(s: &crate::domain::Standing) -> serde_json::Value {
    serde_json::json!({
        "revenue_quota": s.revenue_quota.map(|q| q.normalize().to_string()),
        "units_quota": s.units_quota.map(|u| u.normalize().to_string()),
    })
}

/// The first-of-month quota memo (README "What the first-of-month memo says") for `period`:
/// - to every active rep: this month's quotas, selling days, standards, and last month's
///   results on both boards with celebrations (`quota-memo/PERIOD/EMAIL/rep-memo`);
/// - to every manager: the team's quotas, totals and team rank, and — private — who
///   needs attention and who to celebrate (`quota-memo/PERIOD/EMAIL/team-memo`).
///
/// If last month is still preliminary (its final export not loaded), nothing is sent
/// before `quota_memo.wait_for_final_until` (day and local time of the memo month);
/// after it the memos go out marked preliminary and the admin is told why. With
/// `corrections`, only reps whose stated figures have changed since their memo went out
/// (and their managers) get a marked correction with old and new values. Each message
/// goes through the outbox ledger: a key already sent is never sent again. `stop`
/// cuts the delivery short ([`deliver_outbox`]).
#[allow(clippy::too_many_arguments)]
pub fn quota_memo(
    cfg: &Config,
    store: &mut Store,
    templates: &Templates,
    period: Period,
    corrections: bool,
    resend: bool,
    now: DateTime<Utc>,
    stop: &Stop,
) -> Result<MemoSummary> {
    let roster = store.roster()?;
    if roster.is_empty() {
        bail!("the roster is empty: put the roster file in the inbox and run `quotad import`");
    }
    let last = period.prev();
    let mut months = standings(store, &cfg.metrics, &[period, last, last.prev()], now)?;
    let before = months.pop().context("three periods")?;
    let last_month = months.pop().context("three periods")?;
    let this_month = months.pop().context("three periods")?;
    let mut summary = MemoSummary {
        period: Some(period),
        outbox: cfg.paths.outbox.clone(),
        unmatched: last_month.unmatched.clone(),
        ..Default::default()
    };
    let sender = Sender::new(cfg, store, resend, now);
    let fmt = &cfg.org.format;
    if corrections {
        send_corrections(cfg, store, templates, &sender, &this_month, &mut summary)?;
        finish(cfg, store, templates, period, &mut summary, now, stop)?;
        return Ok(summary);
    }

    // Data readiness: wait for last month's final export until the deadline.
    if last_month.preliminary {
        let tz = cfg.org.time_zone;
        let day = period.first_day() + chrono::Duration::days(i64::from(cfg.quota_memo.wait_day) - 1);
        let deadline = crate::domain::local_midnight_utc(day, tz)
            + chrono::Duration::seconds(i64::from(cfg.quota_memo.wait_time.num_seconds_from_midnight()));
        let deadline_local = deadline.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z");
        if now < deadline {
            summary.waiting = Some(format!(
                "{} is still preliminary (its final export, written after the month closed, is not loaded); the memos wait until {deadline_local}, then go out marked preliminary",
                last.label()
            ));
            return Ok(summary);
        }
        let why = format!(
            "{}'s final export was not loaded by {deadline_local}, so the {} quota memos went out with {} marked preliminary",
            last.label(),
            period.label(),
            last.label()
        );
        if let Some(admin) = &cfg.mail.admin {
            let key = format!("quota-memo/{period}/{}/admin-preliminary", admin.email);
            let name = admin.name.clone().unwrap_or_default();
            let text = format!(
                "{why}.\n\nLoad the final export; then `quotad standings --period {last}` shows the final figures.\n"
            );
            let html = format!(
                "<p>{}.</p><p>Load the final export; then <code>quotad standings --period {last}</code> shows the final figures.</p>",
                tera::escape_html(&why)
            );
            let subject = format!("quotad: {} quota memos sent with {} preliminary", period.label(), last.label());
            sender.send(
                &key,
                "quota-memo",
                period,
                "admin-preliminary",
                (&name, admin.email.as_ref()),
                None,
                || Ok(report::RenderedMail { subject, text, html }),
                &mut summary.failed,
            )?;
        }
        summary.preliminary = Some(why);
    }

    // One memo per address: reps sharing an address is a roster error, and sending
    // either rep's figures to it would be a guess, so neither gets one.
    let mut by_address: std::collections::HashMap<&str, Vec<&str>> = std::collections::HashMap::new();
    for r in roster.iter().filter(|r| r.active) {
        if let Some(e) = r.email.as_deref() {
            by_address.entry(e).or_default().push(&r.name);
        }
    }
    let mut managers: std::collections::BTreeMap<String, (String, Vec<String>)> = std::collections::BTreeMap::new();
    for rep in roster.iter().filter(|r| r.active) {
        let Some(email) = rep.email.as_deref() else {
            summary.skipped.push(format!("{}: no e-mail address on the roster (row {})", rep.name, rep.origin.row));
            continue;
        };
        if by_address[email].len() > 1 {
            summary.skipped.push(format!(
                "{}: the roster gives {email} to {}; fix the roster (one memo per address)",
                rep.name,
                by_address[email].join(" and ")
            ));
            continue;
        }
        let Some(view) = report::quota_memo_view(&cfg.org.name, fmt, &this_month, &last_month, &rep.key()) else {
            // Hired after the memo month: no quota memo for a month before they start.
            summary.skipped.push(format!("{}: not on the roster for {period} (hired later?)", rep.name));
            continue;
        };
        if let Some(m) = rep.manager_email.as_deref() {
            let e =
                managers.entry(m.to_string()).or_insert_with(|| (rep.manager.clone().unwrap_or_default(), Vec::new()));
            e.1.push(rep.key());
        }
        let facts = this_month.rep(&rep.key()).map(|s| memo_facts(s).to_string()).unwrap_or_default();
        let key = format!("quota-memo/{period}/{email}/rep-memo");
        let rep_key = rep.key();
        let sent = sender.send(
            &key,
            "quota-memo",
            period,
            "rep-memo",
            (&rep.name, email),
            Some((&rep_key, &facts)),
            || Ok(report::render_quota_memo(templates, &view)?),
            &mut summary.failed,
        )?;
        summary.count(sent);
    }
    for (email, (name, keys)) in &managers {
        let view = report::team_memo_view(&cfg.org.name, fmt, name, keys, &this_month, &last_month, &before);
        let key = format!("quota-memo/{period}/{email}/team-memo");
        let sent = sender.send(
            &key,
            "quota-memo",
            period,
            "team-memo",
            (name, email),
            None,
            || Ok(report::render_team_memo(templates, &view)?),
            &mut summary.failed,
        )?;
        summary.count(sent);
    }
    finish(cfg, store, templates, period, &mut summary, now, stop)?;
    Ok(summary)
}

/// Delivers the outbox after a job queued its messages, and counts what this job's
/// period had delivered: rep memos, manager memos and corrections.
fn finish(
    cfg: &Config,
    store: &mut Store,
    templates: &Templates,
    period: Period,
    summary: &mut MemoSummary,
    now: DateTime<Utc>,
    stop: &Stop,
) -> Result<()> {
    let delivery = deliver_outbox(cfg, store, templates, now, stop)?;
    let prefix = format!("quota-memo/{period}/");
    let ours = || delivery.sent.iter().filter(|k| k.starts_with(&prefix));
    summary.sent = ours().filter(|k| k.ends_with("/rep-memo")).count();
    summary.managers = ours().filter(|k| k.ends_with("/team-memo")).count();
    summary.corrections = ours().filter(|k| k.contains("/correction-") || k.contains("/team-correction-")).count();
    summary.delivery = delivery;
    Ok(())
}

/// Corrections: for each rep whose memo went out, compare the figures it stated with
/// today's; a rep whose figures changed gets a marked correction (old and new values),
/// and so does their manager (one notice listing their changed reps). Nobody else gets
/// anything. The key includes the new figures, so the same correction is sent once.
fn send_corrections(
    cfg: &Config,
    store: &Store,
    templates: &Templates,
    sender: &Sender,
    this_month: &crate::domain::MonthStandings,
    summary: &mut MemoSummary,
) -> Result<()> {
    let period = this_month.period;
    let fmt = &cfg.org.format;
    let sent = store.facts_sent("quota-memo", period)?;
    let roster = store.roster()?;
    // Manager e-mail -> (manager name, each changed rep with their changes, original send date).
    type RepChanges = Vec<(String, Vec<report::ChangeView>)>;
    let mut by_manager: std::collections::BTreeMap<String, (String, RepChanges, String)> =
        std::collections::BTreeMap::new();
    for rep in roster.iter().filter(|r| r.active) {
        let Some((old, sent_at)) = sent.get(&rep.key()) else { continue };
        let Some(now_s) = this_month.rep(&rep.key()) else { continue };
        let new = memo_facts(now_s);
        let old: serde_json::Value = serde_json::from_str(old).unwrap_or_default();
        if old == new {
            continue;
        }
        let money = |v: &serde_json::Value| {
            v.as_str().and_then(|x| x.parse().ok()).map(|d| fmt.money(d)).unwrap_or_else(|| "no quota".into())
        };
        let num = |v: &serde_json::Value| {
            v.as_str().and_then(|x| x.parse().ok()).map(|d| fmt.number(d, 1)).unwrap_or_else(|| "none".into())
        };
        let mut changes = Vec::new();
        if old["revenue_quota"] != new["revenue_quota"] {
            changes.push(report::ChangeView {
                what: "Revenue quota".into(),
                old: money(&old["revenue_quota"]),
                new: money(&new["revenue_quota"]),
            });
        }
        if old["units_quota"] != new["units_quota"] {
            changes.push(report::ChangeView {
                what: "Units quota".into(),
                old: num(&old["units_quota"]),
                new: num(&new["units_quota"]),
            });
        }
        let Some(email) = rep.email.as_deref() else { continue };
        let sent_on = sent_at.get(..10).unwrap_or(sent_at).to_string();
        let digest: String =
            Sha256::digest(new.to_string().as_bytes()).iter().take(6).map(|b| format!("{b:02x}")).collect();
        let key = format!("quota-memo/{period}/{email}/correction-{digest}");
        let view = report::CorrectionView {
            org: report::OrgView { name: cfg.org.name.clone() },
            first_name: rep.name.split_whitespace().next().unwrap_or(&rep.name).to_string(),
            period: period.into(),
            sent_on: sent_on.clone(),
            reps: vec![(rep.name.clone(), changes.clone())],
            for_manager: false,
            closing: String::new(),
        };
        let facts = new.to_string();
        let rep_key = rep.key();
        let sent = sender.send(
            &key,
            "quota-memo",
            period,
            "correction",
            (&rep.name, email),
            Some((&rep_key, &facts)),
            || Ok(report::render_correction(templates, &view)?),
            &mut summary.failed,
        )?;
        let failed = matches!(sent, Sent::Failed);
        summary.count(sent);
        if failed {
            continue;
        }
        if let Some(m) = rep.manager_email.as_deref() {
            let e = by_manager
                .entry(m.to_string())
                .or_insert_with(|| (rep.manager.clone().unwrap_or_default(), Vec::new(), sent_on));
            e.1.push((rep.name.clone(), changes));
        }
    }
    for (email, (name, reps, sent_on)) in by_manager {
        let digest: String =
            Sha256::digest(format!("{reps:?}").as_bytes()).iter().take(6).map(|b| format!("{b:02x}")).collect();
        let key = format!("quota-memo/{period}/{email}/team-correction-{digest}");
        let view = report::CorrectionView {
            org: report::OrgView { name: cfg.org.name.clone() },
            first_name: name.split_whitespace().next().unwrap_or(&name).to_string(),
            period: period.into(),
            sent_on,
            reps,
            for_manager: true,
            closing: String::new(),
        };
        let sent = sender.send(
            &key,
            "quota-memo",
            period,
            "team-correction",
            (&name, &email),
            None,
            || Ok(report::render_correction(templates, &view)?),
            &mut summary.failed,
        )?;
        summary.count(sent);
    }
    Ok(())
}
