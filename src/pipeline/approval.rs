//! The approval step of the quota memo (`[quota_memo.approval]`, issue 23; README
//! "Approval before the memos go out").
//!
//! With approvers configured, the memo job renders every memo (or, with
//! `--corrections`, every correction) as usual but records none in the outbox: the
//! messages are *held* in the approval ledger (`store::approvals`), where no delivery
//! path can see them, and the approvers get one **digest** naming an approval token —
//! the digest of exactly the held messages' content (recipients, subject, text, HTML,
//! attachments). `quotad approve quota-memo --period P --token T` renders the memos
//! again from the data as it is now: when the content is still exactly what the digest
//! showed, the held messages are copied into the outbox (in the transaction that
//! records the approver) and delivered; when it is not, the approval is refused, the new
//! content is held instead and a new digest is sent. `quotad reject` discards a held
//! run. At `approval.deadline` the held run stays held or is sent (only if unchanged),
//! and the admin is told either way ([`approval_deadlines`], the daemon's heartbeat).
//!
//! May import `store`, `report`, `deliver` (the message types), `config`, `domain`, and
//! the memo job and the outbox (`Sender`, [`deliver_outbox`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::{Result, bail};
use chrono::{DateTime, Timelike, Utc};
use rust_decimal::Decimal;
use sha2::{Digest as _, Sha256};

use super::Stop;
use super::memo::{MemoMonths, MemoSummary, finish, queue_memos};
use super::outbox::{Delivery, Sender, Sent, deliver_outbox};
use crate::config::{ApprovalSettings, AtDeadline, Config};
use crate::deliver::{self, Addressee, Outgoing};
use crate::domain::{IdempotencyKey, KeyDigest, KeyJob, KeyKind, KeyRecipient, Period, Standing};
use crate::report::approval::{
    DigestView, HeldFiguresRow, HeldRecipientView, ImportWarningView, QuotaMoveView, QuotaTotalsView,
};
use crate::report::{self, OrgView, Templates};
use crate::store::{ApprovalRow, HeldMessage, Released, Store};

const JOB: &str = "quota-memo";

/// The held run a memo job left waiting for approval (in [`MemoSummary::held`]).
#[derive(Debug, Clone)]
pub struct HeldRun {
    /// The approval token the digest names.
    pub token: String,
    /// Messages held.
    pub messages: usize,
    /// When they were first held in this form (UTC).
    pub since: DateTime<Utc>,
    /// The deadline (UTC), if any.
    pub deadline: Option<DateTime<Utc>>,
    /// Where the digest went in this run; empty when an earlier run's digest still
    /// stands (nothing changed).
    pub digest_to: Vec<String>,
    /// The token this run's content replaced (figures changed before approval).
    pub replaced: Option<String>,
    /// The command that approves.
    pub approve_command: String,
}

/// The SHA-256 (hex) of a message's content as the recipient sees it: To and Cc (names
/// and addresses), subject, text, HTML and attachments (name, type, bytes). Not the
/// Message-ID or Date, which do not change what is said.
pub(super) fn content_hash(out: &Outgoing) -> String {
    let mut h = Sha256::new();
    let mut field = |tag: &str, bytes: &[u8]| {
        h.update(tag.as_bytes());
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    };
    for a in &out.to {
        field("to", a.name.as_bytes());
        field("to@", a.email.as_bytes());
    }
    for a in &out.cc {
        field("cc", a.name.as_bytes());
        field("cc@", a.email.as_bytes());
    }
    field("subject", out.subject.as_bytes());
    field("text", out.text.as_bytes());
    field("html", out.html.as_bytes());
    for a in &out.attachments {
        field("file", a.file_name.as_bytes());
        field("type", a.content_type.as_bytes());
        field("bytes", &a.bytes);
    }
    crate::domain::hex(&h.finalize())
}

/// The approval token of a set of held messages: a digest over each message's key and
/// content hash, in key order.
fn token_of(held: &[HeldMessage]) -> KeyDigest {
    let mut lines: Vec<String> =
        held.iter().map(|m| format!("{}\t{}\n", m.entry.idempotency_key, m.content_hash)).collect();
    lines.sort();
    KeyDigest::of(&lines.concat())
}

fn settings(cfg: &Config) -> Result<&ApprovalSettings> {
    match &cfg.quota_memo.approval {
        Some(a) => Ok(a),
        None => bail!(
            "{}: approval is off: add [quota_memo.approval] with to = [\"approver@example.com\"] to hold the memos for approval",
            cfg.file.display()
        ),
    }
}

/// Renders the memos (or corrections) of `period` into a holding sender: nothing is
/// recorded. Returns the held messages with the months read and the job's summary.
fn render(
    cfg: &Config,
    store: &Store,
    templates: &Templates,
    period: Period,
    corrections: bool,
    now: DateTime<Utc>,
) -> Result<(Vec<HeldMessage>, MemoMonths, MemoSummary)> {
    let mut summary = MemoSummary::default();
    let sender = Sender::holding(cfg, store, now);
    // The approval path renders on its own load of the deals (one job, one load).
    let mut figures = super::Figures::planned([]);
    let months = queue_memos(cfg, store, templates, &sender, period, corrections, &mut figures, now, &mut summary)?;
    Ok((sender.into_held(), months, summary))
}

fn round(corrections: bool) -> &'static str {
    if corrections { "corrections" } else { "memos" }
}

/// The quota memo job with approval on: renders, holds, and sends the approvers a
/// digest; then delivers whatever else is due (the digest included). When the same
/// content is already held, nothing new is sent (the earlier digest stands); when the
/// content differs from what is held, the new content replaces it and a new digest says
/// what changed.
pub(super) fn held_quota_memo(
    cfg: &Config,
    store: &mut Store,
    templates: &Templates,
    period: Period,
    corrections: bool,
    now: DateTime<Utc>,
    stop: &Stop,
) -> Result<MemoSummary> {
    let (held, months, mut summary) = render(cfg, store, templates, period, corrections, now)?;
    if summary.waiting.is_some() {
        return Ok(summary);
    }
    if !held.is_empty() {
        summary.held = Some(hold(cfg, store, templates, period, corrections, held, &months, &summary, now)?);
    }
    finish(cfg, store, templates, period, &mut summary, now, stop)?;
    Ok(summary)
}

/// Holds `held` (unless exactly this content is held already) and queues the digest.
#[allow(clippy::too_many_arguments)]
fn hold(
    cfg: &Config,
    store: &mut Store,
    templates: &Templates,
    period: Period,
    corrections: bool,
    held: Vec<HeldMessage>,
    months: &MemoMonths,
    summary: &MemoSummary,
    now: DateTime<Utc>,
) -> Result<HeldRun> {
    let a = settings(cfg)?;
    let token = token_of(&held);
    let pending = store.approval_pending(JOB, &period.to_string())?;
    let approve_command = format!("quotad approve quota-memo --period {period} --token {}", token.as_str());
    let digest_key = IdempotencyKey::new(
        KeyJob::QuotaMemo,
        period,
        KeyRecipient::List("approvers".into()),
        KeyKind::ApprovalDigest(token.clone()),
    );
    if let Some(p) = &pending
        && p.token == token.as_str()
    {
        // The same content is held: the digest sent for it stands (queued again only
        // if a crash came between holding and queueing it).
        let mut digest_to = Vec::new();
        if store.outbox_get(&digest_key.to_string())?.is_none() {
            digest_to = queue_digest(cfg, store, templates, period, corrections, &held, months, summary, p, None, now)?;
        }
        return Ok(HeldRun {
            token: p.token.clone(),
            messages: p.messages,
            since: p.created_at,
            deadline: p.deadline_at,
            digest_to,
            replaced: None,
            approve_command,
        });
    }
    let replaces = match &pending {
        Some(p) => Some(what_changed(store, p, &held)?),
        None => None,
    };
    let deadline = match &pending {
        Some(p) => p.deadline_at,
        None => a.deadline.map(|(days, time)| {
            let day = now.with_timezone(&cfg.org.time_zone).date_naive() + chrono::Duration::days(i64::from(days));
            crate::domain::local_midnight_utc(day, cfg.org.time_zone)
                + chrono::Duration::seconds(i64::from(time.num_seconds_from_midnight()))
        }),
    };
    let note = match &replaces {
        Some(why) => format!("replaced by {} before approval: {why}", token.as_str()),
        None => String::new(),
    };
    let id = store.approval_hold(
        JOB,
        &period.to_string(),
        round(corrections),
        token.as_str(),
        &digest_key.to_string(),
        deadline,
        &held,
        &note,
        now,
    )?;
    let row = store.approval_get(id)?.expect("just recorded");
    let replaced = pending.as_ref().map(|p| p.token.clone());
    let why = match (&pending, &replaces) {
        (Some(p), Some(why)) => Some(format!("the messages of digest {} changed: {why}", p.token)),
        _ => None,
    };
    let digest_to = queue_digest(cfg, store, templates, period, corrections, &held, months, summary, &row, why, now)?;
    Ok(HeldRun {
        token: row.token,
        messages: row.messages,
        since: row.created_at,
        deadline: row.deadline_at,
        digest_to,
        replaced,
        approve_command,
    })
}

/// What differs between the run `p` holds and `held`: recipients added, dropped, and
/// whose message changed.
fn what_changed(store: &Store, p: &ApprovalRow, held: &[HeldMessage]) -> Result<String> {
    let old: HashMap<String, String> =
        store.approval_messages(p.id)?.into_iter().map(|m| (m.entry.idempotency_key, m.content_hash)).collect();
    let new: HashMap<&str, &str> =
        held.iter().map(|m| (m.entry.idempotency_key.as_str(), m.content_hash.as_str())).collect();
    let who =
        |k: &str| k.parse::<IdempotencyKey>().map(|k| format!("{} ({})", k.recipient, k.kind)).unwrap_or(k.into());
    let mut changed: Vec<String> =
        new.iter().filter(|(k, h)| old.get(**k).is_some_and(|o| o != **h)).map(|(k, _)| who(k)).collect();
    let mut added: Vec<String> = new.keys().filter(|k| !old.contains_key(**k)).map(|k| who(k)).collect();
    let mut dropped: Vec<String> = old.keys().filter(|k| !new.contains_key(k.as_str())).map(|k| who(k)).collect();
    changed.sort();
    added.sort();
    dropped.sort();
    let mut parts = Vec::new();
    let list = |v: &[String]| {
        let shown: Vec<&str> = v.iter().take(10).map(String::as_str).collect();
        let more = if v.len() > 10 { format!(" and {} more", v.len() - 10) } else { String::new() };
        format!("{}{more}", shown.join(", "))
    };
    if !changed.is_empty() {
        parts.push(format!("{} message(s) changed: {}", changed.len(), list(&changed)));
    }
    if !added.is_empty() {
        parts.push(format!("{} new: {}", added.len(), list(&added)));
    }
    if !dropped.is_empty() {
        parts.push(format!("{} no longer sent: {}", dropped.len(), list(&dropped)));
    }
    if parts.is_empty() {
        parts.push("the messages' order changed".into());
    }
    Ok(parts.join("; "))
}

/// Queues the digest of run `row` to the approvers (a new Message-ID if this token's
/// digest went out before); returns their addresses.
#[allow(clippy::too_many_arguments)]
fn queue_digest(
    cfg: &Config,
    store: &Store,
    templates: &Templates,
    period: Period,
    corrections: bool,
    held: &[HeldMessage],
    months: &MemoMonths,
    summary: &MemoSummary,
    row: &ApprovalRow,
    replaces: Option<String>,
    now: DateTime<Utc>,
) -> Result<Vec<String>> {
    let a = settings(cfg)?;
    let (view, rows, examples) = digest(cfg, store, period, corrections, held, months, summary, row, replaces)?;
    let csv = report::approval::held_figures_csv(&rows)?;
    let key: IdempotencyKey = row.digest_key.parse().map_err(anyhow::Error::msg)?;
    let to: Vec<Addressee> =
        a.approvers.iter().map(|m| Addressee::new(&m.name.clone().unwrap_or_default(), m.email.as_ref())).collect();
    let sender = Sender::new(cfg, store, true, now);
    let mut failed = Vec::new();
    let sent = sender.queue(
        &key,
        &to,
        &[],
        || {
            let mail = report::approval::render_digest(templates, &view)?;
            let mut files = vec![deliver::MailAttachment {
                file_name: format!("quota-memos_{period}_{}.csv", row.token),
                content_type: "text/csv; charset=utf-8".into(),
                bytes: csv,
            }];
            files.extend(examples);
            Ok((mail, files))
        },
        &mut failed,
    )?;
    if matches!(sent, Sent::Failed) {
        bail!("the approval digest for {period} could not be built: {}", failed.join("; "));
    }
    Ok(to.into_iter().map(|t| t.email).collect())
}

fn units(cfg: &Config, d: Decimal) -> String {
    let d = d.normalize();
    cfg.org.format.number(d, d.scale().min(2))
}

/// A signed change in percent of `old`: "+5.0%", "-20.0%", "new" (from nothing), "–".
fn change(cfg: &Config, old: Decimal, new: Decimal) -> String {
    if old.is_zero() {
        return if new.is_zero() { "–".into() } else { "new".into() };
    }
    let f = (new - old) / old;
    let s = cfg.org.format.percent(f);
    if f > Decimal::ZERO { format!("+{s}") } else { s }
}

/// The digest's view, its CSV rows and one example message per team.
#[allow(clippy::too_many_arguments)]
fn digest(
    cfg: &Config,
    store: &Store,
    period: Period,
    corrections: bool,
    held: &[HeldMessage],
    months: &MemoMonths,
    summary: &MemoSummary,
    row: &ApprovalRow,
    replaces: Option<String>,
) -> Result<(DigestView, Vec<HeldFiguresRow>, Vec<deliver::MailAttachment>)> {
    let a = settings(cfg)?;
    let (this, last) = (&months.this_month, &months.last_month);
    let active_now: Vec<&Standing> = this.reps.iter().filter(|s| s.active).collect();
    let active_last: Vec<&Standing> = last.reps.iter().filter(|s| s.active).collect();
    let by_key_last: HashMap<&str, &Standing> = last.reps.iter().map(|s| (s.rep_key.as_str(), s)).collect();
    let by_email_now: HashMap<String, &Standing> =
        active_now.iter().filter_map(|s| s.email.as_ref().map(|e| (e.to_lowercase(), *s))).collect();
    let keys_now: HashSet<&str> = active_now.iter().map(|s| s.rep_key.as_str()).collect();
    let keys_last: HashSet<&str> = active_last.iter().map(|s| s.rep_key.as_str()).collect();

    // Quotas per team: this month (teams as at this month's end) against last month
    // (teams as at last month's end).
    #[derive(Default)]
    struct Sums {
        reps: usize,
        rev: Decimal,
        units: Decimal,
        last_rev: Decimal,
        last_units: Decimal,
    }
    let mut teams: BTreeMap<String, (String, Sums)> = BTreeMap::new();
    let mut company = Sums::default();
    for s in &active_now {
        let t =
            &mut teams.entry(crate::domain::team_key(&s.team)).or_insert_with(|| (s.team.clone(), Sums::default())).1;
        t.reps += 1;
        t.rev += s.revenue_quota.unwrap_or_default();
        t.units += s.units_quota.unwrap_or_default();
        company.reps += 1;
        company.rev += s.revenue_quota.unwrap_or_default();
        company.units += s.units_quota.unwrap_or_default();
    }
    for s in &active_last {
        let t =
            &mut teams.entry(crate::domain::team_key(&s.team)).or_insert_with(|| (s.team.clone(), Sums::default())).1;
        t.last_rev += s.revenue_quota.unwrap_or_default();
        t.last_units += s.units_quota.unwrap_or_default();
        company.last_rev += s.revenue_quota.unwrap_or_default();
        company.last_units += s.units_quota.unwrap_or_default();
    }
    let totals = |name: &str, x: &Sums| QuotaTotalsView {
        team: name.to_string(),
        reps: x.reps,
        revenue_quota: cfg.org.format.money(x.rev),
        last_revenue_quota: cfg.org.format.money(x.last_rev),
        change: change(cfg, x.last_rev, x.rev),
        units_quota: units(cfg, x.units),
        last_units_quota: units(cfg, x.last_units),
    };
    let team_views: Vec<QuotaTotalsView> = teams.values().map(|(n, x)| totals(n, x)).collect();

    // New since last month's memo: not active last month, or hired after last month's
    // memo went out (its first day).
    let last_start = period.prev().first_day();
    let mut new_reps: Vec<String> = active_now
        .iter()
        .filter(|s| !keys_last.contains(s.rep_key.as_str()) || s.hire_date.is_some_and(|h| h > last_start))
        .map(|s| s.name.clone())
        .collect();
    let mut leavers: Vec<String> =
        active_last.iter().filter(|s| !keys_now.contains(s.rep_key.as_str())).map(|s| s.name.clone()).collect();
    let mut no_quota: Vec<String> =
        active_now.iter().filter(|s| s.revenue_quota.is_none()).map(|s| s.name.clone()).collect();
    new_reps.sort();
    leavers.sort();
    no_quota.sort();
    let limit = a.flag_change_percent / Decimal::ONE_HUNDRED;
    let mut moves: Vec<(Decimal, QuotaMoveView)> = Vec::new();
    for s in &active_now {
        let Some(new) = s.revenue_quota else { continue };
        let Some(old) = by_key_last.get(s.rep_key.as_str()).and_then(|l| l.revenue_quota) else { continue };
        if old.is_zero() {
            continue;
        }
        let f = (new - old) / old;
        if f.abs() > limit {
            moves.push((
                -f.abs(),
                QuotaMoveView {
                    name: s.name.clone(),
                    team: s.team.clone(),
                    old: cfg.org.format.money(old),
                    new: cfg.org.format.money(new),
                    change: change(cfg, old, new),
                },
            ));
        }
    }
    moves.sort_by(|x, y| x.0.cmp(&y.0).then_with(|| x.1.name.cmp(&y.1.name)));

    // The month's import warnings: stored files that held rows of last month (results)
    // or this month (quotas).
    let mut warnings = Vec::new();
    for r in store.import_reports(500)?.into_iter().rev() {
        if r.import_id.is_none() || !r.periods.iter().any(|p| *p == period || *p == period.prev()) {
            continue;
        }
        let file = if r.sheet.is_empty() { r.file_name.clone() } else { format!("{} [{}]", r.file_name, r.sheet) };
        for w in &r.warnings {
            warnings.push(ImportWarningView { file: file.clone(), text: w.clone() });
        }
    }

    // Who gets what, the CSV, and one example per team.
    let manager_names: HashMap<String, String> = active_now
        .iter()
        .filter_map(|s| Some((s.manager_email.as_ref()?.to_lowercase(), s.manager.clone().unwrap_or_default())))
        .collect();
    let mut recipients = Vec::new();
    let mut rows = Vec::new();
    let mut examples: BTreeMap<String, deliver::MailAttachment> = BTreeMap::new();
    let (mut rep_memos, mut team_memos, mut corrections_held, mut other) = (0, 0, 0, 0);
    for m in held {
        let e = &m.entry;
        let addr = e.recipient.to_lowercase();
        let what = match e.kind.as_str() {
            "rep-memo" => {
                rep_memos += 1;
                "quota memo"
            }
            "team-memo" => {
                team_memos += 1;
                "team memo (manager)"
            }
            "correction" => {
                corrections_held += 1;
                "correction"
            }
            "team-correction" => {
                corrections_held += 1;
                "correction (manager)"
            }
            "chat-post" => {
                other += 1;
                "chat post: the teams' quota summary"
            }
            _ => {
                other += 1;
                "notice"
            }
        };
        let rep = by_email_now.get(&addr).filter(|_| matches!(e.kind.as_str(), "rep-memo" | "correction"));
        let name = match rep {
            Some(s) => s.name.clone(),
            None => manager_names.get(&addr).cloned().unwrap_or_default(),
        };
        recipients.push(HeldRecipientView { name: name.clone(), email: e.recipients.join(", "), what: what.into() });
        let mut r = HeldFiguresRow {
            key: e.idempotency_key.clone(),
            kind: e.kind.clone(),
            name,
            email: e.recipient.clone(),
            subject: e.subject.clone(),
            ..Default::default()
        };
        let exact = |d: Option<Decimal>| d.map(|d| d.normalize().to_string()).unwrap_or_default();
        if let Some(s) = rep {
            r.team = s.team.clone();
            r.revenue_quota = exact(s.revenue_quota);
            r.units_quota = exact(s.units_quota);
            if let Some(l) = by_key_last.get(s.rep_key.as_str()) {
                r.last_revenue_quota = exact(l.revenue_quota);
                r.last_revenue = l.revenue.normalize().to_string();
                r.last_attainment_pct =
                    l.attainment.map(|x| crate::domain::percent_1dp(x).to_string()).unwrap_or_default();
            }
            examples.entry(crate::domain::team_key(&s.team)).or_insert_with(|| deliver::MailAttachment {
                file_name: format!("example_{}_{}.eml", e.kind, s.team),
                content_type: "application/octet-stream".into(),
                bytes: e.message.clone(),
            });
        } else if e.kind == "team-memo" {
            let reps: Vec<&&Standing> = active_now
                .iter()
                .filter(|s| s.manager_email.as_deref().map(str::to_lowercase) == Some(addr.clone()))
                .collect();
            let mut names: Vec<String> = reps.iter().map(|s| s.team.clone()).collect();
            names.sort();
            names.dedup();
            r.team = names.join("; ");
            let sum = |f: &dyn Fn(&Standing) -> Option<Decimal>| reps.iter().filter_map(|s| f(s)).sum::<Decimal>();
            r.revenue_quota = sum(&|s| s.revenue_quota).normalize().to_string();
            r.units_quota = sum(&|s| s.units_quota).normalize().to_string();
            let last_sum = |f: &dyn Fn(&Standing) -> Option<Decimal>| {
                reps.iter().filter_map(|s| by_key_last.get(s.rep_key.as_str())).filter_map(|s| f(s)).sum::<Decimal>()
            };
            r.last_revenue_quota = last_sum(&|s| s.revenue_quota).normalize().to_string();
            r.last_revenue = last_sum(&|s| Some(s.revenue)).normalize().to_string();
        }
        rows.push(r);
    }
    let tz = cfg.org.time_zone;
    let view = DigestView {
        org: OrgView { name: cfg.org.name.clone() },
        period_label: period.label(),
        period: period.to_string(),
        corrections,
        token: row.token.clone(),
        approve_command: format!("quotad approve quota-memo --period {period} --token {}", row.token),
        reject_command: format!("quotad reject quota-memo --period {period} --reason \"…\""),
        deadline: row.deadline_at.map(|d| d.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string()),
        at_deadline: match a.at_deadline {
            AtDeadline::Hold => "they stay held (the admin is told)".into(),
            AtDeadline::Send => "they are sent as they are, if unchanged (the admin is told)".into(),
        },
        total: held.len(),
        rep_memos,
        team_memos,
        corrections_held,
        other,
        teams: team_views,
        company: totals("Company", &company),
        new_reps,
        leavers,
        flag_percent: format!("{}%", a.flag_change_percent),
        moves: moves.into_iter().map(|(_, m)| m).collect(),
        no_quota,
        skipped: summary
            .skipped
            .iter()
            .cloned()
            .chain(summary.failed.iter().map(|f| format!("{f} (the memo could not be built)")))
            .collect(),
        warnings,
        recipients,
        attachments: std::iter::once(format!("quota-memos_{period}_{}.csv", row.token))
            .chain(examples.values().map(|x| x.file_name.clone()))
            .collect(),
        replaces,
    };
    Ok((view, rows, examples.into_values().collect()))
}

/// With approval turned off, the memo job sent `period`'s memos without it: a run still
/// held from when it was on is marked superseded, so `quotad status` no longer lists it.
pub(super) fn sent_without_approval(store: &Store, period: Period, now: DateTime<Utc>) -> Result<()> {
    if let Some(p) = store.approval_pending(JOB, &period.to_string())? {
        store.approval_supersede(p.id, "sent without approval: [quota_memo.approval] was turned off", now)?;
    }
    Ok(())
}

/// Who approves: `by` when it is one of the approvers; the only approver when there is
/// one and `by` is not given.
fn approver(a: &ApprovalSettings, by: Option<&str>) -> Result<String> {
    let list = || a.approvers.iter().map(|m| m.email.to_string()).collect::<Vec<_>>().join(", ");
    match by {
        Some(b) => match a.approvers.iter().find(|m| m.email.to_string().eq_ignore_ascii_case(b.trim())) {
            Some(m) => Ok(m.email.to_string()),
            None => bail!("{b} is not an approver (quota_memo.approval.to: {})", list()),
        },
        None if a.approvers.len() == 1 => Ok(a.approvers[0].email.to_string()),
        None => bail!("several approvers are configured: say which one you are with --by ({})", list()),
    }
}

/// What `quotad approve` did.
#[derive(Debug, Clone)]
pub enum Approval {
    /// The held messages went into the outbox and were delivered.
    Approved {
        /// The approver recorded.
        by: String,
        /// Keys released into the outbox; keys it already had (not sent again).
        released: Released,
        /// What the delivery did.
        delivery: Delivery,
    },
    /// The content changed since the digest: nothing was sent; the new content is held
    /// and a new digest went to the approvers.
    Changed {
        /// The token approved (now void).
        old: String,
        /// What changed.
        why: String,
        /// The new run.
        held: HeldRun,
    },
}

/// `quotad approve quota-memo --period P --token T`: releases the run held for `period`
/// when `token` is its token and its content is still what the data gives now.
///
/// Errors: approval off; `by` not an approver; nothing held for `period` (naming what
/// happened to the last run); `token` not the held run's (naming the current one).
#[allow(clippy::too_many_arguments)]
pub fn approve(
    cfg: &Config,
    store: &mut Store,
    templates: &Templates,
    period: Period,
    token: &str,
    by: Option<&str>,
    now: DateTime<Utc>,
    stop: &Stop,
) -> Result<Approval> {
    let who = approver(settings(cfg)?, by)?;
    let p = pending_or_explain(store, period)?;
    if p.token != token.trim() {
        bail!(
            "token {token} is not the one held now: the {} quota {} held since {} have token {} (the digest sent then names it); read that digest, then approve with --token {}",
            period.label(),
            p.round,
            p.created_at.format("%Y-%m-%d %H:%M UTC"),
            p.token,
            p.token
        );
    }
    release_if_unchanged(cfg, store, templates, period, &p, &who, now, stop)
}

/// Re-renders run `p`'s messages from the data as it is now: unchanged, they are
/// released by `who`; changed, the new content is held and a new digest sent.
#[allow(clippy::too_many_arguments)]
fn release_if_unchanged(
    cfg: &Config,
    store: &mut Store,
    templates: &Templates,
    period: Period,
    p: &ApprovalRow,
    who: &str,
    now: DateTime<Utc>,
    stop: &Stop,
) -> Result<Approval> {
    let corrections = p.round == "corrections";
    let (held, months, summary) = render(cfg, store, templates, period, corrections, now)?;
    if let Some(w) = &summary.waiting {
        bail!("the {} memos cannot be checked now: {w}", period.label());
    }
    if held.is_empty() {
        // Every message of the run is in the outbox already (sent some other way, e.g.
        // with approval turned off meanwhile): nothing is left to approve.
        store.approval_supersede(p.id, "nothing left to send: every message is in the outbox already", now)?;
        bail!(
            "nothing of the {} quota {} held with token {} is left to send: every message is in the outbox already (`quotad outbox list`)",
            period.label(),
            p.round,
            p.token
        );
    }
    let token = token_of(&held);
    if token.as_str() != p.token {
        let why = what_changed(store, p, &held)?;
        let run = hold(cfg, store, templates, period, corrections, held, &months, &summary, now)?;
        let mut s = MemoSummary::default();
        finish(cfg, store, templates, period, &mut s, now, stop)?;
        return Ok(Approval::Changed { old: p.token.clone(), why, held: run });
    }
    // The held bytes were rendered when the digest went out; what goes now says the same
    // (same token) but is dated today, not the day it was held.
    store.approval_restamp(p.id, &held)?;
    let Some(released) = store.approval_release(p.id, who, now)? else {
        bail!(
            "the {} memos held with token {} were decided meanwhile (quotad status shows how)",
            period.label(),
            p.token
        );
    };
    let delivery = deliver_outbox(cfg, store, templates, now, stop)?;
    Ok(Approval::Approved { by: who.to_string(), released, delivery })
}

/// The run held for `period`, or an error saying what became of the last one.
fn pending_or_explain(store: &Store, period: Period) -> Result<ApprovalRow> {
    if let Some(p) = store.approval_pending(JOB, &period.to_string())? {
        return Ok(p);
    }
    match store.approval_history(JOB, &period.to_string())?.last() {
        None => bail!(
            "nothing is held for approval for {} ({period}): run the memo job first (`quotad run quota-memo --period {period}`)",
            period.label()
        ),
        Some(r) => bail!(
            "nothing is held for approval for {} ({period}): the last held run (token {}) was {} {}{}",
            period.label(),
            r.token,
            r.state.as_str(),
            r.decided_at.map(|t| t.format("on %Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default(),
            r.decided_by.as_ref().map(|b| format!(" by {b}")).unwrap_or_default()
        ),
    }
}

/// `quotad reject quota-memo --period P --reason "…"`: discards the run held for
/// `period` (never sent); a corrected file can then be imported and the job run again,
/// which holds the new memos and sends a new digest. Returns the run rejected.
pub fn reject(
    cfg: &Config,
    store: &Store,
    period: Period,
    reason: &str,
    by: Option<&str>,
    now: DateTime<Utc>,
) -> Result<ApprovalRow> {
    let who = approver(settings(cfg)?, by)?;
    if reason.trim().is_empty() {
        bail!("say why with --reason \"…\" (it is recorded, for the audit trail)");
    }
    let p = pending_or_explain(store, period)?;
    if !store.approval_reject(p.id, &who, reason.trim(), now)? {
        bail!("the {} memos held with token {} were decided meanwhile", period.label(), p.token);
    }
    Ok(store.approval_get(p.id)?.expect("recorded"))
}

/// The daemon's heartbeat: first the approvers' answers given while it held the state
/// ([`request`]), then each held run whose deadline has passed is acted on once —
/// `at_deadline = "send"` releases it if its content is still what the digest showed
/// (else the new content is held and a new digest sent), `"hold"` leaves it held — and
/// the admin (else the approvers) is told either way. Returns lines for the log.
pub(super) fn approval_tick(
    cfg: &Config,
    store: &mut Store,
    templates: &Templates,
    now: DateTime<Utc>,
    stop: &Stop,
) -> Result<Vec<String>> {
    let Some(a) = &cfg.quota_memo.approval else { return Ok(Vec::new()) };
    let mut log = Vec::new();
    answer_requests(cfg, store, templates, now, stop, &mut log)?;
    for p in store.approvals_pending()? {
        let Some(deadline) = p.deadline_at else { continue };
        if deadline > now || p.deadline_done.is_some() || stop.requested() {
            continue;
        }
        let period: Period = p.period.parse().map_err(anyhow::Error::msg)?;
        let what = match a.at_deadline {
            AtDeadline::Hold => format!(
                "The {} quota {} (token {}, {} message(s)) were not approved by the deadline, {}. They stay held: nobody has received them. Approve with `quotad approve quota-memo --period {period} --token {}` or reject with `quotad reject quota-memo --period {period} --reason \"…\"`.",
                period.label(),
                p.round,
                p.token,
                p.messages,
                deadline.format("%Y-%m-%d %H:%M UTC"),
                p.token
            ),
            AtDeadline::Send => match release_if_unchanged(
                cfg,
                store,
                templates,
                period,
                &p,
                "deadline (at_deadline = \"send\")",
                now,
                stop,
            )? {
                Approval::Approved { released, .. } => format!(
                    "The {} quota {} (token {}) were not approved by the deadline, {}; as configured (at_deadline = \"send\") the {} held message(s) were sent unchanged.",
                    period.label(),
                    p.round,
                    p.token,
                    deadline.format("%Y-%m-%d %H:%M UTC"),
                    released.queued.len()
                ),
                Approval::Changed { why, held, .. } => format!(
                    "The {} quota {} (token {}) were not approved by the deadline, {}, and their content changed since the digest ({why}), so nothing was sent: the new content is held as token {} and a new digest went to the approvers.",
                    period.label(),
                    p.round,
                    p.token,
                    deadline.format("%Y-%m-%d %H:%M UTC"),
                    held.token
                ),
            },
        };
        store.approval_deadline_done(p.id, now)?;
        tell(cfg, store, templates, period, &p.token, &what, now)?;
        deliver_outbox(cfg, store, templates, now, stop)?;
        log.push(format!("approval {period}: {what}"));
    }
    Ok(log)
}

/// Acts on the approvers' answers recorded while the daemon held the state, oldest
/// first, recording each outcome for the waiting `quotad approve|reject`.
fn answer_requests(
    cfg: &Config,
    store: &mut Store,
    templates: &Templates,
    now: DateTime<Utc>,
    stop: &Stop,
    log: &mut Vec<String>,
) -> Result<()> {
    for (id, r) in store.approval_requests_open()? {
        if stop.requested() {
            break;
        }
        let period: Period = match r.period.parse() {
            Ok(p) => p,
            Err(e) => {
                store.approval_request_done(id, false, &e, now)?;
                continue;
            }
        };
        let (ok, outcome) = if r.action == "approve" {
            match approve(cfg, store, templates, period, &r.token, Some(&r.by), now, stop) {
                Ok(Approval::Approved { by, released, delivery }) => (
                    true,
                    format!(
                        "Approved by {by}: the {} quota memos held with token {} are released; {} message(s) queued, {} delivered through {}{}",
                        period.label(),
                        r.token,
                        released.queued.len(),
                        delivery.sent.len(),
                        delivery.transport,
                        if released.already.is_empty() {
                            String::new()
                        } else {
                            format!(", {} already in the outbox (not sent again)", released.already.len())
                        }
                    ),
                ),
                Ok(Approval::Changed { old, why, held }) => (
                    false,
                    format!(
                        "NOT APPROVED: the {} quota memos changed since digest {old} ({why}); nothing was sent. The new content is held with token {} and a new digest went to {}",
                        period.label(),
                        held.token,
                        held.digest_to.join(", ")
                    ),
                ),
                Err(e) => (false, format!("{e:#}")),
            }
        } else {
            match reject(cfg, store, period, &r.reason, Some(&r.by), now) {
                Ok(row) => (
                    true,
                    format!(
                        "Rejected by {}: the {} quota {} held with token {} ({} message(s)) will not be sent",
                        r.by,
                        period.label(),
                        row.round,
                        row.token,
                        row.messages
                    ),
                ),
                Err(e) => (false, format!("{e:#}")),
            }
        };
        store.approval_request_done(id, ok, &outcome, now)?;
        log.push(format!("approval {period}: {outcome}"));
    }
    Ok(())
}

/// The pid of a `quotad serve` holding the state database, if one does: then an
/// approver's answer goes through [`request`] (the daemon acts on it), since only one
/// quotad may work on a state database.
pub fn daemon_pid(cfg: &Config) -> Option<u32> {
    if let crate::config::StateLocation::Postgres(url) = &cfg.paths.state {
        let holder = crate::store::pg::state_lock_holder_of(url)?;
        return holder.strip_prefix("pid ")?.strip_suffix(" serve")?.parse().ok();
    }
    let path = std::path::PathBuf::from(format!("{}.lock", cfg.paths.state.display()));
    let file = std::fs::File::open(&path).ok()?;
    match file.try_lock_shared() {
        Ok(()) => None,
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&path).ok()?;
            holder.trim().strip_prefix("pid ")?.strip_suffix(" serve")?.parse().ok()
        }
        Err(std::fs::TryLockError::Error(_)) => None,
    }
}

/// Records an approver's answer for the running daemon: `approve` with `token`, or
/// `reject` with `reason`. What can be checked now is checked now (the approver, the
/// token against the run held, the reason), so a mistake is told at once; the daemon
/// checks again, renders and decides at its next heartbeat. Returns the answer's id
/// for [`request_outcome`].
#[allow(clippy::too_many_arguments)]
pub fn request(
    cfg: &Config,
    store: &Store,
    period: Period,
    token: Option<&str>,
    reason: Option<&str>,
    by: Option<&str>,
    now: DateTime<Utc>,
) -> Result<i64> {
    let who = approver(settings(cfg)?, by)?;
    let p = pending_or_explain(store, period)?;
    if let Some(t) = token
        && p.token != t.trim()
    {
        bail!(
            "token {t} is not the one held now: the {} quota {} held since {} have token {}; read that digest, then approve with --token {}",
            period.label(),
            p.round,
            p.created_at.format("%Y-%m-%d %H:%M UTC"),
            p.token,
            p.token
        );
    }
    if token.is_none() && reason.is_none_or(|r| r.trim().is_empty()) {
        bail!("say why with --reason \"…\" (it is recorded, for the audit trail)");
    }
    let r = crate::store::ApprovalRequest {
        job: JOB.into(),
        period: period.to_string(),
        action: if token.is_some() { "approve" } else { "reject" }.into(),
        token: token.unwrap_or_default().trim().into(),
        by: who,
        reason: reason.unwrap_or_default().trim().into(),
    };
    Ok(store.approval_request_add(&r, now)?)
}

/// What the daemon did with answer `id` ([`request`]): `None` until it acted; then
/// whether it was carried out (approved or rejected) and what happened, in words.
///
/// Errors: the state database cannot be read.
pub fn request_outcome(store: &Store, id: i64) -> Result<Option<(bool, String)>> {
    Ok(store.approval_request_outcome(id)?)
}

/// Queues the deadline notice to the admin (or, without one, the approvers).
fn tell(
    cfg: &Config,
    store: &Store,
    templates: &Templates,
    period: Period,
    token: &str,
    text: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let a = settings(cfg)?;
    let to: Vec<Addressee> = match &cfg.mail.admin {
        Some(m) => vec![Addressee::new(&m.name.clone().unwrap_or_default(), m.email.as_ref())],
        None => {
            a.approvers.iter().map(|m| Addressee::new(&m.name.clone().unwrap_or_default(), m.email.as_ref())).collect()
        }
    };
    let token: KeyDigest = token.parse().map_err(anyhow::Error::msg)?;
    let key = match (&cfg.mail.admin, to.as_slice()) {
        (Some(_), [one]) => IdempotencyKey::to(KeyJob::QuotaMemo, period, &one.email, KeyKind::ApprovalDeadline(token)),
        _ => IdempotencyKey::new(
            KeyJob::QuotaMemo,
            period,
            KeyRecipient::List("approvers".into()),
            KeyKind::ApprovalDeadline(token),
        ),
    };
    let subject = format!("quotad: the {} quota memos were not approved by the deadline", period.label());
    let mut failed = Vec::new();
    Sender::new(cfg, store, false, now).queue(
        &key,
        &to,
        &[],
        || {
            let view = report::AdminNoticeView::new(&cfg.org.name, &subject, text);
            Ok((report::render_admin_notice(templates, &view)?, Vec::new()))
        },
        &mut failed,
    )?;
    Ok(())
}

/// A held run as `quotad status` shows it.
#[derive(Debug, Clone)]
pub struct HeldLine {
    /// `quota-memo`.
    pub job: String,
    /// `YYYY-MM`.
    pub period: String,
    /// `memos` or `corrections`.
    pub round: String,
    /// The approval token.
    pub token: String,
    /// Messages held.
    pub messages: usize,
    /// Held since (UTC).
    pub since: DateTime<Utc>,
    /// Deadline (UTC), if any.
    pub deadline: Option<DateTime<Utc>>,
    /// What the deadline does: "hold" or "send".
    pub at_deadline: &'static str,
}

/// The runs held for approval, oldest first (`quotad status`).
///
/// Errors: the state database cannot be read.
pub fn held_runs(cfg: &Config, store: &Store) -> Result<Vec<HeldLine>> {
    let at = match cfg.quota_memo.approval.as_ref().map(|a| a.at_deadline) {
        Some(AtDeadline::Send) => "send",
        _ => "hold",
    };
    Ok(store
        .approvals_pending()?
        .into_iter()
        .map(|p| HeldLine {
            job: p.job,
            period: p.period,
            round: p.round,
            token: p.token,
            messages: p.messages,
            since: p.created_at,
            deadline: p.deadline_at,
            at_deadline: at,
        })
        .collect())
}

/// The audit trail of `period`'s held runs, oldest first: one line each (token, state,
/// when and by whom decided, the note).
///
/// Errors: the state database cannot be read.
pub fn approval_trail(store: &Store, period: Period) -> Result<Vec<String>> {
    Ok(store
        .approval_history(JOB, &period.to_string())?
        .into_iter()
        .map(|r| {
            let mut s = format!(
                "{} {} token {}: {} message(s) held {}, {}",
                r.period,
                r.round,
                r.token,
                r.messages,
                r.created_at.format("%Y-%m-%d %H:%M UTC"),
                r.state.as_str()
            );
            if let Some(t) = r.decided_at {
                s.push_str(&t.format(" %Y-%m-%d %H:%M UTC").to_string());
            }
            if let Some(b) = &r.decided_by {
                s.push_str(&format!(" by {b}"));
            }
            if let Some(n) = r.note.as_ref().filter(|n| !n.is_empty()) {
                s.push_str(&format!(": {n}"));
            }
            s
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(text: &str) -> Outgoing {
        Outgoing {
            to: vec![Addressee::new("Ann", "ann@example.com")],
            cc: Vec::new(),
            subject: "Your quota".into(),
            text: text.into(),
            html: String::new(),
            message_id: "<a@b>".into(),
            date: "2026-11-01T13:00:00Z".parse().unwrap(),
            attachments: Vec::new(),
        }
    }

    #[test]
    fn the_content_hash_reads_what_the_recipient_sees_not_the_date_or_message_id() {
        let a = out("$400,000");
        let mut b = out("$400,000");
        b.message_id = "<other@b>".into();
        b.date = "2026-11-02T13:00:00Z".parse().unwrap();
        assert_eq!(content_hash(&a), content_hash(&b));
        assert_ne!(content_hash(&a), content_hash(&out("$410,000")));
        let mut c = out("$400,000");
        c.to[0].email = "bob@example.com".into();
        assert_ne!(content_hash(&a), content_hash(&c));
        // Fields are length-prefixed: moving text between subject and body changes it.
        let mut d = out("$400,000");
        d.subject = "Your quota$".into();
        d.text = "400,000".into();
        assert_ne!(content_hash(&a), content_hash(&d));
    }
}
