//! The quota memo (README "What the first-of-month memo says") and its corrections: the first-of-month memo
//! to every active rep and a team memo to each manager, queued through the outbox
//! ledger and delivered; later, a marked correction to whoever's stated figures
//! changed. May import `store`, `metrics` (through [`standings`]), `report`, `config`,
//! `domain` and the outbox (`Sender`, [`deliver_outbox`]).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Timelike, Utc};
use rust_decimal::Decimal;

use super::outbox::{Delivery, Sender, Sent, deliver_outbox};
use super::{Figures, Stop};
use crate::config::Config;
use crate::domain::{
    CorrectedFigure, IdempotencyKey, KeyJob, KeyKind, LegacyRepChanges, Period, correction_digest,
    legacy_team_correction_digest, team_correction_digest,
};
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
    /// With `[quota_memo.approval]`: the run held for approval (nothing above was sent
    /// to a rep or manager), its token and where its digest went.
    pub held: Option<super::approval::HeldRun>,
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
fn memo_facts(s: &crate::domain::Standing, last: Option<&crate::domain::Standing>) -> serde_json::Value {
    let mut facts = serde_json::json!({
        "revenue_quota": s.revenue_quota.map(|q| q.normalize().to_string()),
        "units_quota": s.units_quota.map(|u| u.normalize().to_string()),
    });
    // roster-dated: last month's team and ranks as the memo stated them, so a roster
    // change dated back into last month reaches the corrections flow. A memo recorded
    // before these keys existed is compared on its quotas only ([`LAST_MONTH_FACTS`]).
    if let Some(l) = last {
        facts["last_month_team"] = serde_json::json!(l.team);
        facts["last_month_manager_email"] = serde_json::json!(l.manager_email);
        for (field, rank) in [
            ("last_month_company_rank", l.company_rank),
            ("last_month_team_rank", l.team_rank),
            ("last_month_results_rank", l.results_rank),
            ("last_month_results_team_rank", l.results_team_rank),
        ] {
            facts[field] = serde_json::json!(rank);
        }
    }
    facts
}

/// roster-dated: the last-month figures a rep memo states beyond its quotas, as
/// (facts key, the catalog key of what a correction notice calls it). Compared only when the sent memo
/// recorded them.
const LAST_MONTH_FACTS: [(&str, &str); 5] = [
    ("last_month_team", "correction.team"),
    ("last_month_company_rank", "correction.company_rank"),
    ("last_month_team_rank", "correction.team_rank"),
    ("last_month_results_rank", "correction.results_rank"),
    ("last_month_results_team_rank", "correction.results_team_rank"),
];

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
    figures: &mut Figures,
    now: DateTime<Utc>,
    stop: &Stop,
) -> Result<MemoSummary> {
    if cfg.quota_memo.approval.is_some() {
        if resend {
            bail!(
                "--resend is not available while [quota_memo.approval] is on: a resend would go out without approval"
            );
        }
        return super::approval::held_quota_memo(cfg, store, templates, period, corrections, now, stop);
    }
    let mut summary = MemoSummary::default();
    let sender = Sender::new(cfg, store, resend, now);
    queue_memos(cfg, store, templates, &sender, period, corrections, figures, now, &mut summary)?;
    if summary.waiting.is_some() {
        return Ok(summary);
    }
    finish(cfg, store, templates, period, &mut summary, now, stop)?;
    super::approval::sent_without_approval(store, period, now)?;
    Ok(summary)
}

/// The months a memo run read: the memo month and last month (for the approver's digest).
pub(super) struct MemoMonths {
    /// The memo month's standings (its quotas).
    pub this_month: crate::domain::MonthStandings,
    /// Last month's standings (the results the memo reports).
    pub last_month: crate::domain::MonthStandings,
}

/// Renders the `period` memos (or, with `corrections`, the corrections) and hands each
/// to `sender`: the outbox, or a holding sender for approval. Fills `summary` (counts,
/// skipped reps, `waiting` when last month's final export is awaited: nothing queued).
#[allow(clippy::too_many_arguments)]
pub(super) fn queue_memos(
    cfg: &Config,
    store: &Store,
    templates: &Templates,
    sender: &Sender,
    period: Period,
    corrections: bool,
    figures: &mut Figures,
    now: DateTime<Utc>,
    summary: &mut MemoSummary,
) -> Result<MemoMonths> {
    let roster = store.roster()?;
    if roster.is_empty() {
        bail!("the roster is empty: put the roster file in the inbox and run `quotad import`");
    }
    let last = period.prev();
    let mut months = figures.months(store, &[period, last, last.prev()], &cfg.metrics, now)?;
    let before = months.pop().context("three periods")?;
    let last_month = std::sync::Arc::unwrap_or_clone(months.pop().context("three periods")?);
    let this_month = std::sync::Arc::unwrap_or_clone(months.pop().context("three periods")?);
    // Quarter and year to date (fiscal) through last month.
    let fiscal = cfg.org.fiscal;
    let year_months = figures.months(store, &super::figures::fiscal_year_to(fiscal, last), &cfg.metrics, now)?;
    summary.period = Some(period);
    summary.outbox = cfg.paths.outbox.clone();
    summary.unmatched = last_month.unmatched.clone();
    let fmt = &cfg.org.format;
    if corrections {
        send_corrections(cfg, store, templates, sender, &this_month, &last_month, summary)?;
        return Ok(MemoMonths { this_month, last_month });
    }

    // Data readiness: wait for last month's final export until the deadline.
    if last_month.preliminary {
        let tz = cfg.org.time_zone;
        let deadline = final_deadline(cfg, period);
        let deadline_local = deadline.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z");
        if now < deadline {
            summary.waiting = Some(format!(
                "{} is still preliminary (its final export, written after the month closed, is not loaded); the memos wait until {deadline_local}, then go out marked preliminary",
                last.label()
            ));
            return Ok(MemoMonths { this_month, last_month });
        }
        let why = format!(
            "{}'s final export was not loaded by {deadline_local}, so the {} quota memos went out with {} marked preliminary",
            last.label(),
            period.label(),
            last.label()
        );
        if let Some(admin) = &cfg.mail.admin {
            let key = IdempotencyKey::to(KeyJob::QuotaMemo, period, admin.email.as_ref(), KeyKind::AdminPreliminary);
            let name = admin.name.clone().unwrap_or_default();
            let text = format!(
                "{why}.\n\nLoad the final export; then `quotad standings --period {last}` shows the final figures.\n"
            );
            let subject = format!("quotad: {} quota memos sent with {} preliminary", period.label(), last.label());
            sender.send(
                &key,
                (&name, admin.email.as_ref()),
                None,
                || {
                    Ok(report::render_admin_notice(
                        templates,
                        &report::AdminNoticeView::new(&cfg.org.name, &subject, &text),
                    )?)
                },
                &mut summary.failed,
            )?;
        }
        summary.preliminary = Some(why);
    }

    // One memo per address: reps sharing an address is a roster error, and sending
    // either rep's figures to it would be a guess, so neither gets one.
    let mut by_address: std::collections::HashMap<&str, Vec<&str>> = std::collections::HashMap::new();
    for r in roster.iter().filter(|r| r.active_in(period)) {
        if let Some(e) = r.email.as_deref() {
            by_address.entry(e).or_default().push(&r.name);
        }
    }
    let mut managers: std::collections::BTreeMap<String, (String, Vec<String>)> = std::collections::BTreeMap::new();
    for rep in roster.iter().filter(|r| r.active_in(period)) {
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
        let Some(mut view) = report::quota_memo_view(&cfg.org.name, fmt, &this_month, &last_month, &rep.key()) else {
            // Hired after the memo month: no quota memo for a month before they start.
            summary.skipped.push(format!("{}: not on the roster for {period} (hired later?)", rep.name));
            continue;
        };
        if view.last.as_ref().is_some_and(|l| l.has_data)
            && let Some((qtd, ytd)) = super::figures::rep_to_date(fiscal, &year_months, &rep.key(), last)
        {
            view.to_date = Some(report::fiscal_to_date_view(fmt, &last_month.standards, fiscal, &qtd, &ytd));
        }
        // The manager of the rep's team in the memo month (the roster on its last day,
        // so a move dated into a later month does not move the rep early).
        let (manager, manager_email) = match this_month.rep(&rep.key()) {
            Some(s) => (s.manager.clone(), s.manager_email.clone()),
            None => (rep.manager.clone(), rep.manager_email.clone()),
        };
        if let Some(m) = manager_email {
            let e = managers.entry(m).or_insert_with(|| (manager.unwrap_or_default(), Vec::new()));
            e.1.push(rep.key());
        }
        let facts = this_month
            .rep(&rep.key())
            .map(|s| memo_facts(s, last_month.rep(&rep.key())).to_string())
            .unwrap_or_default();
        let key = IdempotencyKey::to(KeyJob::QuotaMemo, period, email, KeyKind::RepMemo);
        let rep_key = rep.key();
        let sent = sender.send(
            &key,
            (&rep.name, email),
            Some((&rep_key, &facts)),
            || Ok(report::render_quota_memo(templates, &view)?),
            &mut summary.failed,
        )?;
        summary.count(sent);
    }
    for (email, (name, keys)) in &managers {
        let view =
            report::team_memo_view(templates, &cfg.org.name, fmt, name, keys, &this_month, &last_month, &before)?;
        let key = IdempotencyKey::to(KeyJob::QuotaMemo, period, email, KeyKind::TeamMemo);
        let sent = sender.send(
            &key,
            (name, email),
            None,
            || Ok(report::render_team_memo(templates, &view)?),
            &mut summary.failed,
        )?;
        summary.count(sent);
    }
    for sent in super::channels::queue_quota_summary(cfg, sender, &this_month, summary)? {
        summary.count(sent);
    }
    Ok(MemoMonths { this_month, last_month })
}

/// Delivers the outbox after a job queued its messages, and counts what this job's
/// period had delivered: rep memos, manager memos and corrections.
pub(super) fn finish(
    cfg: &Config,
    store: &mut Store,
    templates: &Templates,
    period: Period,
    summary: &mut MemoSummary,
    now: DateTime<Utc>,
    stop: &Stop,
) -> Result<()> {
    let delivery = deliver_outbox(cfg, store, templates, now, stop)?;
    let period = period.to_string();
    let ours: Vec<IdempotencyKey> = delivery
        .sent
        .iter()
        .filter_map(|k| k.parse::<IdempotencyKey>().ok())
        .filter(|k| k.job == KeyJob::QuotaMemo && k.period == period)
        .collect();
    summary.sent = ours.iter().filter(|k| k.kind == KeyKind::RepMemo).count();
    summary.managers = ours.iter().filter(|k| k.kind == KeyKind::TeamMemo).count();
    summary.corrections =
        ours.iter().filter(|k| matches!(k.kind, KeyKind::Correction(_) | KeyKind::TeamCorrection(_))).count();
    summary.delivery = delivery;
    Ok(())
}

/// The key of a manager's correction notice: its digest is over the exact changed
/// figures ([`team_correction_digest`]). Before keys were typed the digest was over the
/// notice's formatted text; a notice recorded under that older key is the same notice,
/// so when the outbox has it, its key is used (and it is not sent again).
fn team_correction_key(
    store: &Store,
    period: Period,
    email: &str,
    reps: &[(String, Vec<report::ChangeView>)],
    figures: &[(String, String, Option<Decimal>, Option<Decimal>)],
) -> Result<IdempotencyKey> {
    let figures: Vec<CorrectedFigure> = figures
        .iter()
        .map(|(rep_key, field, old, new)| CorrectedFigure { rep_key, field, old: *old, new: *new })
        .collect();
    let key =
        IdempotencyKey::to(KeyJob::QuotaMemo, period, email, KeyKind::TeamCorrection(team_correction_digest(&figures)));
    let legacy: Vec<LegacyRepChanges> = reps
        .iter()
        .map(|(n, c)| (n.as_str(), c.iter().map(|c| (c.what.as_str(), c.old.as_str(), c.new.as_str())).collect()))
        .collect();
    let legacy = IdempotencyKey::to(
        KeyJob::QuotaMemo,
        period,
        email,
        KeyKind::TeamCorrection(legacy_team_correction_digest(&legacy)),
    );
    if store.outbox_get(&key.to_string())?.is_none() && store.outbox_get(&legacy.to_string())?.is_some() {
        return Ok(legacy);
    }
    Ok(key)
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
    last_month: &crate::domain::MonthStandings,
    summary: &mut MemoSummary,
) -> Result<()> {
    let period = this_month.period;
    let fmt = &cfg.org.format;
    let sent = store.facts_sent("quota-memo", period)?;
    let roster = store.roster()?;
    // Manager e-mail -> (manager name, each changed rep with their changes, original
    // send date, the changed figures as exact values: (rep key, field, old, new)).
    type RepChanges = Vec<(String, Vec<report::ChangeView>)>;
    type Figures = Vec<(String, String, Option<Decimal>, Option<Decimal>)>;
    let mut by_manager: std::collections::BTreeMap<String, (String, RepChanges, String, Figures)> =
        std::collections::BTreeMap::new();
    for rep in roster.iter().filter(|r| r.active_in(period)) {
        let Some((old, sent_at)) = sent.get(&rep.key()) else { continue };
        let Some(now_s) = this_month.rep(&rep.key()) else { continue };
        let new = memo_facts(now_s, last_month.rep(&rep.key()));
        let old: serde_json::Value = serde_json::from_str(old).unwrap_or_default();
        // A memo sent before roster-dated recorded its quotas only: compare what it stated.
        let stated = |k: &str| old.get(k).is_some();
        let roster_changed: Vec<(&str, &str)> =
            LAST_MONTH_FACTS.into_iter().filter(|(k, _)| stated(k) && old[*k] != new[*k]).collect();
        if old["revenue_quota"] == new["revenue_quota"]
            && old["units_quota"] == new["units_quota"]
            && roster_changed.is_empty()
        {
            continue;
        }
        let money = |v: &serde_json::Value| {
            v.as_str().and_then(|x| x.parse().ok()).map(|d| fmt.money(d)).unwrap_or_else(|| "no quota".into())
        };
        let num = |v: &serde_json::Value| {
            v.as_str().and_then(|x| x.parse().ok()).map(|d| fmt.number(d, 1)).unwrap_or_else(|| "none".into())
        };
        let exact = |v: &serde_json::Value| v.as_str().and_then(|x| x.parse::<Decimal>().ok());
        let mut figures: Figures = Vec::new();
        for field in ["revenue_quota", "units_quota"] {
            if old[field] != new[field] {
                figures.push((rep.key(), field.to_string(), exact(&old[field]), exact(&new[field])));
            }
        }
        let mut changes = Vec::new();
        if old["revenue_quota"] != new["revenue_quota"] {
            changes.push(report::ChangeView {
                what: fmt.t("correction.revenue_quota"),
                old: money(&old["revenue_quota"]),
                new: money(&new["revenue_quota"]),
            });
        }
        if old["units_quota"] != new["units_quota"] {
            changes.push(report::ChangeView {
                what: fmt.t("correction.units_quota"),
                old: num(&old["units_quota"]),
                new: num(&new["units_quota"]),
            });
        }
        // roster-dated: last month's team and ranks, as the memo stated them and now.
        let last_label = fmt.month(period.prev());
        for (field, what) in &roster_changed {
            let show = |v: &serde_json::Value| match v {
                serde_json::Value::String(t) => t.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                _ => fmt.t("correction.not_ranked"),
            };
            changes.push(report::ChangeView {
                what: fmt.tf("correction.in_month", &[("what", &fmt.t(what)), ("month", &last_label)]),
                old: show(&old[*field]),
                new: show(&new[*field]),
            });
            // The figure, exact, for the manager's key: a rank as a number, a team as
            // its folded name in the field (a move to another team is another figure).
            let figure = |v: &serde_json::Value| v.as_u64().map(Decimal::from);
            let (was, now) = (figure(&old[*field]), figure(&new[*field]));
            let name = match (&old[*field], &new[*field]) {
                (serde_json::Value::String(o), serde_json::Value::String(n)) => {
                    format!("{field}:{}>{}", crate::domain::team_key(o), crate::domain::team_key(n))
                }
                _ => field.to_string(),
            };
            figures.push((rep.key(), name, was, now));
        }
        let Some(email) = rep.email.as_deref() else { continue };
        let sent_on = sent_at.get(..10).unwrap_or(sent_at).to_string();
        // Quota changes alone keep the key they always had; a roster change makes the
        // digest read every stated figure, so each distinct correction is sent once.
        let digest = if roster_changed.is_empty() {
            correction_digest(now_s.revenue_quota, now_s.units_quota)
        } else {
            crate::domain::KeyDigest::of(&new.to_string())
        };
        let key = IdempotencyKey::to(KeyJob::QuotaMemo, period, email, KeyKind::Correction(digest));
        let view = report::CorrectionView {
            org: report::OrgView { name: cfg.org.name.clone() },
            first_name: crate::domain::first_name(&rep.name),
            period: report::PeriodView::new(period, &cfg.org.format),
            sent_on: sent_on.clone(),
            reps: vec![(rep.name.clone(), changes.clone())],
            for_manager: false,
            closing: String::new(),
        };
        let facts = new.to_string();
        let rep_key = rep.key();
        let sent = sender.send(
            &key,
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
        // The rep's manager now, and — when last month's manager changed with the
        // move — the manager whose team memo counted the rep then.
        let mut managers: Vec<(String, String)> = Vec::new();
        if let Some(m) = now_s.manager_email.as_deref().or(rep.manager_email.as_deref()) {
            let name = if now_s.manager_email.is_some() { &now_s.manager } else { &rep.manager };
            managers.push((m.to_string(), name.clone().unwrap_or_default()));
        }
        if let Some(m) = old["last_month_manager_email"].as_str()
            && !managers.iter().any(|(e, _)| e == m)
            && !roster_changed.is_empty()
        {
            let name = last_month
                .reps
                .iter()
                .chain(this_month.reps.iter())
                .find(|s| s.manager_email.as_deref() == Some(m))
                .and_then(|s| s.manager.clone())
                .unwrap_or_default();
            managers.push((m.to_string(), name));
        }
        for (m, manager) in managers {
            let e = by_manager.entry(m).or_insert_with(|| (manager, Vec::new(), sent_on.clone(), Vec::new()));
            e.1.push((rep.name.clone(), changes.clone()));
            e.3.extend(figures.iter().cloned());
        }
    }
    for (email, (name, reps, sent_on, figures)) in by_manager {
        let key = team_correction_key(store, period, &email, &reps, &figures)?;
        let view = report::CorrectionView {
            org: report::OrgView { name: cfg.org.name.clone() },
            first_name: crate::domain::first_name(&name),
            period: report::PeriodView::new(period, &cfg.org.format),
            sent_on,
            reps,
            for_manager: true,
            closing: String::new(),
        };
        let sent = sender.send(
            &key,
            (&name, &email),
            None,
            || Ok(report::render_correction(templates, &view)?),
            &mut summary.failed,
        )?;
        summary.count(sent);
    }
    Ok(())
}

/// When the `period` quota memo stops waiting for last month's final export
/// (`quota_memo.wait_for_final_until`: a day of the memo month and a local time), UTC.
pub(super) fn final_deadline(cfg: &Config, period: Period) -> DateTime<Utc> {
    let day = period.first_day() + chrono::Duration::days(i64::from(cfg.quota_memo.wait_day) - 1);
    crate::domain::local_midnight_utc(day, cfg.org.time_zone)
        + chrono::Duration::seconds(i64::from(cfg.quota_memo.wait_time.num_seconds_from_midnight()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// The digests correction keys had before keys were typed, computed here with that
    /// code's very expressions: `memo_facts(..).to_string()` for a rep's correction and
    /// `format!("{reps:?}")` over the notice's formatted changes for a manager's. The
    /// typed key must keep the first, and recognise the second.
    #[test]
    fn todays_correction_digests_are_pinned() {
        let old_digest =
            |s: &str| -> String { Sha256::digest(s.as_bytes()).iter().take(6).map(|b| format!("{b:02x}")).collect() };
        let facts = serde_json::json!({
            "revenue_quota": Some("410000"),
            "units_quota": Some("2"),
        });
        assert_eq!(old_digest(&facts.to_string()), "25fde0d1445d");
        let q = |s: &str| Some(s.parse::<Decimal>().unwrap());
        // 410000.00 normalizes to 410000, as memo_facts wrote it.
        assert_eq!(correction_digest(q("410000.00"), q("2")).as_str(), "25fde0d1445d");
        let none = serde_json::json!({"revenue_quota": None::<String>, "units_quota": None::<String>});
        assert_eq!(old_digest(&none.to_string()), "6fe979937d47");
        assert_eq!(correction_digest(None, None).as_str(), "6fe979937d47");

        let change = |what: &str, old: &str, new: &str| report::ChangeView {
            what: what.into(),
            old: old.into(),
            new: new.into(),
        };
        let reps = vec![
            (
                "Ann Archer".to_string(),
                vec![change("Revenue quota", "$400,000", "$410,000"), change("Units quota", "2", "3")],
            ),
            ("Bob Baker".to_string(), vec![change("Revenue quota", "$250,000", "no quota")]),
        ];
        assert_eq!(old_digest(&format!("{reps:?}")), "13f62f49dd0e");
        let legacy: Vec<LegacyRepChanges> = reps
            .iter()
            .map(|(n, c)| (n.as_str(), c.iter().map(|c| (c.what.as_str(), c.old.as_str(), c.new.as_str())).collect()))
            .collect();
        assert_eq!(legacy_team_correction_digest(&legacy).as_str(), "13f62f49dd0e");
        // The new digest reads exact values only: the same figures, whatever their
        // display or order, give the same key; another figure another.
        let f =
            |rep_key, field, old: Option<Decimal>, new: Option<Decimal>| CorrectedFigure { rep_key, field, old, new };
        let a = [f("id:R1", "revenue_quota", q("400000"), q("410000")), f("id:R2", "revenue_quota", q("250000"), None)];
        let b = [f("id:R2", "revenue_quota", q("250000.0"), None), f("id:R1", "revenue_quota", q("4e5"), q("410000"))];
        assert_eq!(team_correction_digest(&a), team_correction_digest(&b));
        let c = [f("id:R1", "revenue_quota", q("400000"), q("410001")), f("id:R2", "revenue_quota", q("250000"), None)];
        assert_ne!(team_correction_digest(&a), team_correction_digest(&c));
    }

    #[test]
    fn a_manager_correction_recorded_under_the_older_key_is_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("q.sqlite")).unwrap();
        let period: Period = "2026-11".parse().unwrap();
        let reps = vec![(
            "Ann Archer".to_string(),
            vec![report::ChangeView { what: "Revenue quota".into(), old: "$400,000".into(), new: "$410,000".into() }],
        )];
        let figures = vec![(
            "id:R1".to_string(),
            "revenue_quota".to_string(),
            Some(Decimal::from(400_000)),
            Some(Decimal::from(410_000)),
        )];
        let new = team_correction_key(&store, period, "mia@example.com", &reps, &figures).unwrap();
        let legacy = "quota-memo/2026-11/mia@example.com/team-correction-".to_string()
            + legacy_team_correction_digest(&[("Ann Archer", vec![("Revenue quota", "$400,000", "$410,000")])])
                .as_str();
        assert_ne!(new.to_string(), legacy);
        // The older version sent it: its key is the one used, so it is not sent again.
        let entry = crate::store::OutboxEntry {
            idempotency_key: legacy.clone(),
            job: "quota-memo".into(),
            period: "2026-11".into(),
            recipient: "mia@example.com".into(),
            recipients: Vec::new(),
            kind: "team-correction".into(),
            message_id: "x.quotad@example.com".into(),
            subject: "CORRECTION".into(),
            message: b"x".to_vec(),
        };
        store.outbox_add(&entry, "2026-11-02T13:00:00Z".parse().unwrap()).unwrap();
        let key = team_correction_key(&store, period, "mia@example.com", &reps, &figures).unwrap();
        assert_eq!(key.to_string(), legacy);
    }
}
