//! Chat channels through the outbox (issue 22): [`queue_weekly`] records one post per
//! channel and week — idempotency key `weekly-ranking/WEEK/channel:NAME/chat-post`,
//! the message its JSON payload — beside the week's e-mails, and
//! [`deliver_post`] is how [`super::deliver_outbox`] hands a `channel:` row to its
//! webhook instead of the mail transport: same ledger, same `sending`/`sent` marks,
//! retries, dead letters and admin notice as e-mail. The webhook URL is read from the
//! environment at delivery (`[[channels]] webhook_env`): it is never in the ledger,
//! the config or any message. May import `store`, `deliver`, `report`, `config`,
//! `domain`.

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};

use super::DocsSummary;
use super::outbox::{Sender, Sent};
use crate::config::{Channel, ChannelJob, Config};
use crate::deliver::chat::{self, PostTimeouts, Webhook};
use crate::deliver::{FailureClass, RetryPolicy};
use crate::domain::{
    Celebrations, IdempotencyKey, KeyDigest, KeyJob, KeyKind, KeyRecipient, MonthStandings, Period, fold_name,
};
use crate::report::{self, chat::ChatPost};
use crate::store::{FailureOutcome, OutboxEntry, OutboxRow, RecipientOutcome};

/// The outbox recipient of channel `name`: `channel:NAME`.
fn recipient(name: &str) -> String {
    KeyRecipient::Channel(name.to_string()).to_string()
}

/// The channel an outbox row posts to, if it is a chat post (`channel:NAME`).
pub(super) fn channel_of(entry: &OutboxEntry) -> Option<&str> {
    entry.recipient.strip_prefix("channel:")
}

/// `rows` in delivery order for pacing: the e-mails first, as they came, then the chat
/// posts taking one channel's post after another's in turn (each channel's in the
/// order they came), so that the wait between two posts to one webhook is spent on
/// the others.
pub(super) fn paced_order(rows: Vec<OutboxRow>) -> Vec<OutboxRow> {
    let (chat, mut out): (Vec<OutboxRow>, Vec<OutboxRow>) =
        rows.into_iter().partition(|r| channel_of(&r.entry).is_some());
    let mut queues: Vec<(String, std::collections::VecDeque<OutboxRow>)> = Vec::new();
    for r in chat {
        let name = channel_of(&r.entry).unwrap_or_default().to_string();
        match queues.iter_mut().find(|(n, _)| *n == name) {
            Some((_, q)) => q.push_back(r),
            None => queues.push((name, std::collections::VecDeque::from([r]))),
        }
    }
    while queues.iter().any(|(_, q)| !q.is_empty()) {
        for (_, q) in &mut queues {
            if let Some(r) = q.pop_front() {
                out.push(r);
            }
        }
    }
    out
}

/// Whether the outbox key `key` is a chat post's.
pub(super) fn is_chat_key(key: &str) -> bool {
    key.parse::<IdempotencyKey>().is_ok_and(|k| matches!(k.recipient, KeyRecipient::Channel(_)))
}

/// The week's standings as the weekly ranking job has them, for its channel posts.
pub(super) struct WeeklyInput<'a> {
    /// ISO week, e.g. "2026-W45".
    pub week: &'a str,
    /// Its Monday and Sunday.
    pub days: (chrono::NaiveDate, chrono::NaiveDate),
    /// The ranked period's standings.
    pub m: &'a MonthStandings,
    /// The active teams (roster spelling) and their celebrations, in the same order.
    pub teams: &'a [&'a str],
    /// Each team's celebrations.
    pub celebrations: &'a [Celebrations],
}

/// A channel and its payload.
type ChannelPost<'c> = (&'c Channel, Vec<u8>);

/// The week's post for each channel with `weekly_ranking` in its jobs, as the JSON
/// payload of its platform: a team channel gets its teams' tables, a company channel
/// (no `teams`) the teams ranked. A channel whose teams have no active rep this week
/// gets nothing, and a line saying so in `skipped`.
fn weekly_posts<'c>(cfg: &'c Config, w: &WeeklyInput<'_>, skipped: &mut Vec<String>) -> Result<Vec<ChannelPost<'c>>> {
    let fmt = &cfg.org.format;
    let view = |i: usize| {
        report::team_ranking_mail_view(
            &cfg.org.name,
            fmt,
            w.week,
            w.days,
            w.m,
            w.teams[i],
            &w.celebrations[i],
            cfg.weekly_ranking.top,
            "",
        )
    };
    let mut out = Vec::new();
    for ch in cfg.channels.iter().filter(|c| c.jobs.contains(&ChannelJob::WeeklyRanking)) {
        let post: Option<ChatPost> = if ch.teams.is_empty() {
            (!w.teams.is_empty()).then(|| report::chat::weekly_company_post(&view(0), w.m, fmt))
        } else {
            let wanted: Vec<String> = ch.teams.iter().map(|t| fold_name(t)).collect();
            let views: Vec<_> =
                (0..w.teams.len()).filter(|&i| wanted.contains(&fold_name(w.teams[i]))).map(view).collect();
            report::chat::weekly_teams_post(&views)
        };
        match post {
            Some(p) => out.push((ch, serde_json::to_vec(&report::chat::payload(ch.kind, &p))?)),
            None => skipped.push(format!("channel {}: no active rep in {} this week", ch.name, describe_teams(ch))),
        }
    }
    Ok(out)
}

fn describe_teams(ch: &Channel) -> String {
    if ch.teams.is_empty() { "the company".into() } else { ch.teams.join(", ") }
}

/// Queues the week's post to every channel with `weekly_ranking` in its jobs
/// (`weekly_posts`). A channel with nothing to post is said in `summary.skipped`. A
/// key already sent counts in `already_sent`, a dead letter of an earlier run in
/// `dead_earlier`; nothing is posted twice.
pub(super) fn queue_weekly(
    cfg: &Config,
    store: &crate::store::Store,
    summary: &mut DocsSummary,
    w: &WeeklyInput<'_>,
    now: DateTime<Utc>,
) -> Result<()> {
    for (ch, body) in weekly_posts(cfg, w, &mut summary.skipped)? {
        let key = IdempotencyKey::new(
            KeyJob::WeeklyRanking,
            w.week,
            KeyRecipient::Channel(ch.name.clone()),
            KeyKind::ChatPost,
        );
        let subject = format!("{} post to {}: weekly ranking {}", ch.kind.label(), ch.name, w.week);
        match Sender::new(cfg, store, false, now).queue_post(&key, &recipient(&ch.name), &subject, body)? {
            Sent::Before => summary.already_sent += 1,
            Sent::Dead => summary.dead_earlier += 1,
            _ => {}
        }
    }
    Ok(())
}

/// `quotad preview weekly-ranking`: writes the payload each channel would be posted,
/// `paths.reports/chat_WEEK/NAME.json` (pretty-printed JSON), listed in
/// `summary.chat_previews`. Nothing is queued or posted.
///
/// Errors: the folder or a file cannot be written (named).
pub(super) fn preview_weekly(cfg: &Config, summary: &mut DocsSummary, w: &WeeklyInput<'_>) -> Result<()> {
    let posts = weekly_posts(cfg, w, &mut summary.skipped)?;
    write_previews(&cfg.paths.reports.join(format!("chat_{}", w.week)), &posts, &mut summary.chat_previews)
}

/// The quota memo's month summary for each channel with `quota_memo` in its jobs
/// ([`report::chat::quota_summary_post`]). A channel
/// whose teams have no active rep in the month gets nothing, said in `skipped`.
fn quota_posts<'c>(cfg: &'c Config, m: &MonthStandings, skipped: &mut Vec<String>) -> Result<Vec<ChannelPost<'c>>> {
    let mut out = Vec::new();
    for ch in cfg.channels.iter().filter(|c| c.jobs.contains(&ChannelJob::QuotaMemo)) {
        let teams: Vec<String> = ch.teams.iter().map(|t| fold_name(t)).collect();
        match report::chat::quota_summary_post(&cfg.org.name, m, &teams, &cfg.org.format) {
            Some(p) => out.push((ch, serde_json::to_vec(&report::chat::payload(ch.kind, &p))?)),
            None => {
                skipped.push(format!("channel {}: no active rep in {} in {}", ch.name, describe_teams(ch), m.period))
            }
        }
    }
    Ok(out)
}

/// Queues, through the memo job's `sender`, the month's quota summary to each channel
/// with `quota_memo` in its jobs: key `quota-memo/MONTH/channel:NAME/chat-post`. With
/// `[quota_memo.approval]` the sender holds it with the memos: it is posted when they
/// are approved, and never when they are rejected.
pub(super) fn queue_quota_summary(
    cfg: &Config,
    sender: &Sender,
    m: &MonthStandings,
    summary: &mut super::MemoSummary,
) -> Result<Vec<Sent>> {
    let mut out = Vec::new();
    for (ch, body) in quota_posts(cfg, m, &mut summary.skipped)? {
        let key =
            IdempotencyKey::new(KeyJob::QuotaMemo, m.period, KeyRecipient::Channel(ch.name.clone()), KeyKind::ChatPost);
        let subject = format!("{} post to {}: quotas for {}", ch.kind.label(), ch.name, m.period);
        out.push(sender.queue_post(&key, &recipient(&ch.name), &subject, body)?);
    }
    Ok(out)
}

/// Writes each payload of `posts` to `dir/NAME.json` (pretty-printed JSON) and lists
/// the files in `written`.
///
/// Errors: the folder or a file cannot be written (named).
fn write_previews(
    dir: &std::path::Path,
    posts: &[ChannelPost<'_>],
    written: &mut Vec<std::path::PathBuf>,
) -> Result<()> {
    for (ch, body) in posts {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join(format!("{}.json", ch.name));
        let pretty = serde_json::to_vec_pretty(&serde_json::from_slice::<serde_json::Value>(body)?)?;
        std::fs::write(&path, pretty).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(())
}

/// `cfg` with only the channel `name` (for `quotad preview JOB --channel NAME`), which
/// must post `job`.
///
/// Errors: no channel of that name (the error names the known ones), or it does not post
/// `job` (the error names its jobs).
pub(super) fn only_channel(cfg: &Config, name: &str, job: ChannelJob) -> Result<Config> {
    let spelled = |j: ChannelJob| ChannelJob::ALL.iter().find(|(x, _)| *x == j).map_or("", |(_, n)| n);
    let Some(ch) = cfg.channels.iter().find(|c| c.name == name) else {
        let known: Vec<&str> = cfg.channels.iter().map(|c| c.name.as_str()).collect();
        let known = if known.is_empty() { "none is configured".to_string() } else { known.join(", ") };
        bail!("--channel {name}: no such channel in [[channels]] of {} (channels: {known})", cfg.file.display());
    };
    if !ch.jobs.contains(&job) {
        let jobs: Vec<&str> = ch.jobs.iter().map(|j| spelled(*j)).collect();
        bail!(
            "--channel {name}: the channel does not post {} (its jobs: {}); add it to channels.jobs in {}",
            spelled(job),
            jobs.join(", "),
            cfg.file.display()
        );
    }
    let mut only = cfg.clone();
    only.channels.retain(|c| c.name == name);
    Ok(only)
}

/// `quotad preview quota-memo`: the month's quota summary each channel with
/// `quota_memo` would be posted, written to `paths.reports/chat_quota-memo_MONTH/NAME.json`;
/// nothing is queued.
pub(super) fn preview_quota(
    cfg: &Config,
    store: &crate::store::Store,
    period: Period,
    now: DateTime<Utc>,
) -> Result<DocsSummary> {
    let mut summary = DocsSummary { title: format!("Quota memo {period}: chat posts"), ..Default::default() };
    let Some(m) = super::standings(store, &cfg.metrics, &[period], now)?.pop() else { return Ok(summary) };
    let posts = quota_posts(cfg, &m, &mut summary.skipped)?;
    write_previews(&cfg.paths.reports.join(format!("chat_quota-memo_{period}")), &posts, &mut summary.chat_previews)?;
    Ok(summary)
}

/// `quotad preview celebrations`: every celebration of `month` each channel with
/// `celebrations` would be posted (whether posted already or not), written to
/// `paths.reports/chat_celebrations_MONTH/NAME/NN_WHAT.json`; nothing is queued.
pub(super) fn preview_celebrations(
    cfg: &Config,
    store: &crate::store::Store,
    month: Period,
    now: DateTime<Utc>,
) -> Result<DocsSummary> {
    let mut summary = DocsSummary { title: format!("Celebrations of {month}: chat posts"), ..Default::default() };
    let dir = cfg.paths.reports.join(format!("chat_celebrations_{month}"));
    let mut n = 0;
    for (ch, key, body) in celebration_posts(cfg, store, month, now)? {
        n += 1;
        let dir = dir.join(&ch.name);
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let what = match &key.kind {
            KeyKind::Celebration(what, rep) => format!("{what}_{}", rep.as_str()),
            k => k.to_string(),
        };
        let path = dir.join(format!("{n:02}_{what}.json"));
        let pretty = serde_json::to_vec_pretty(&serde_json::from_slice::<serde_json::Value>(&body)?)?;
        std::fs::write(&path, pretty).with_context(|| format!("cannot write {}", path.display()))?;
        summary.chat_previews.push(path);
    }
    if n == 0 {
        summary.skipped.push(format!(
            "no celebration in {month} (a final month's personal bests, first months at quota, streaks)"
        ));
    }
    Ok(summary)
}

/// Whether channel `ch` is for `team` (roster spelling, matched folded): a company
/// channel (no `teams`) is for every team.
fn for_team(ch: &Channel, team: &str) -> bool {
    ch.teams.is_empty() || ch.teams.iter().any(|t| fold_name(t) == fold_name(team))
}

/// What [`queue_celebrations`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CelebrationsQueued {
    /// The month looked at (the one before today's, org-local).
    pub month: Option<Period>,
    /// Posts newly queued (one per event and channel).
    pub queued: usize,
    /// Why nothing was looked at, when so (a quarantine holding the month).
    pub held: Option<String>,
}

/// The celebration posts of `month` for each channel with `celebrations` in its jobs:
/// (channel, event's key, payload). A team channel gets its teams' reps' events, a
/// company channel everyone's.
fn celebration_posts<'c>(
    cfg: &'c Config,
    store: &crate::store::Store,
    month: Period,
    now: DateTime<Utc>,
) -> Result<Vec<(&'c Channel, IdempotencyKey, Vec<u8>)>> {
    let chans: Vec<&Channel> = cfg.channels.iter().filter(|c| c.jobs.contains(&ChannelJob::Celebrations)).collect();
    if chans.is_empty() {
        return Ok(Vec::new());
    }
    let Some(m) = super::standings(store, &cfg.metrics, &[month], now)?.pop() else { return Ok(Vec::new()) };
    let events = crate::metrics::celebrated_events(&m);
    let mut out = Vec::new();
    for ch in chans {
        for ev in events.iter().filter(|e| for_team(ch, &e.team)) {
            let key = IdempotencyKey::new(
                KeyJob::Celebrations,
                month,
                KeyRecipient::Channel(ch.name.clone()),
                KeyKind::Celebration(ev.slug(), KeyDigest::of(&ev.rep_key)),
            );
            let post = report::chat::celebration_post(&cfg.org.name, month, ev, &m.standards, &cfg.org.format);
            out.push((ch, key, serde_json::to_vec(&report::chat::payload(ch.kind, &post))?));
        }
    }
    Ok(out)
}

/// After an import that stored something: queues, for each channel with
/// `celebrations` in its jobs, a post per celebration of the month just closed (the
/// month before today's, org-local) that is new — personal bests, first month at
/// quota, streaks (`metrics::celebrated_events`: a final month only, positive results
/// only). The key `celebrations/MONTH/channel:NAME/celebration-WHAT-REP` names the
/// event, so a re-import, a correction, a restart or a second import the same day
/// never posts it again, and one a correction took back and gave again is not
/// re-posted. A quarantined file that could change the month holds it (nothing is
/// queued until it is resolved).
pub(super) fn queue_celebrations(
    cfg: &Config,
    store: &crate::store::Store,
    now: DateTime<Utc>,
) -> Result<CelebrationsQueued> {
    let mut done = CelebrationsQueued::default();
    if !cfg.channels.iter().any(|c| c.jobs.contains(&ChannelJob::Celebrations)) {
        return Ok(done);
    }
    let month = Period::of(now.with_timezone(&cfg.org.time_zone).date_naive()).prev();
    done.month = Some(month);
    if let Some(why) = super::holds::quarantine_hold(store, &[month])? {
        done.held = Some(why);
        return Ok(done);
    }
    for (ch, key, body) in celebration_posts(cfg, store, month, now)? {
        let subject = format!("{} post to {}: celebration {month}", ch.kind.label(), ch.name);
        if matches!(
            Sender::new(cfg, store, false, now).queue_post(&key, &recipient(&ch.name), &subject, body)?,
            Sent::Queued
        ) {
            done.queued += 1;
        }
    }
    Ok(done)
}

/// Posts one chat row to its channel's webhook and says what came of it for the
/// ledger: accepted (any 2xx), retried (timeouts, network errors, 408, 429, 5xx: after
/// the server's `Retry-After` when it gives one, else after the `mail.retry_*` backoff) or dead (other answers, a
/// channel no longer configured, its environment variable unset or not a webhook URL,
/// or the last attempt allowed). `attempts` are those made before this one.
///
/// Posts to one webhook are spaced by `pacer` ([`chat::min_interval`] of the platform,
/// after the end of the last post to that webhook in this delivery pass); a stop
/// requested during that wait (at most a second) does not cut it short.
pub(super) fn deliver_post(
    cfg: &Config,
    row: &OutboxRow,
    attempts: u32,
    policy: RetryPolicy,
    pacer: &mut chat::Pacer,
    now: DateTime<Utc>,
) -> Result<RecipientOutcome> {
    let name = channel_of(&row.entry).unwrap_or_default();
    let dead = |error: String| RecipientOutcome::Failed { error, outcome: FailureOutcome::Dead };
    let Some(ch) = cfg.channels.iter().find(|c| c.name == name) else {
        return Ok(dead(format!("channel '{name}' is no longer in [[channels]] of {}", cfg.file.display())));
    };
    let hook = match webhook(ch) {
        Ok(h) => h,
        Err(e) => return Ok(dead(e)),
    };
    let timeouts = timeouts(ch);
    std::thread::sleep(pacer.wait(&hook, chat::min_interval(ch.kind), std::time::Instant::now()));
    let posted = chat::post(&hook, &ch.name, ch.kind.label(), &row.entry.message, timeouts, now);
    pacer.posted(&hook, std::time::Instant::now());
    match posted {
        Ok(()) => Ok(RecipientOutcome::Accepted),
        Err(e) => {
            let permanent = e.class() == FailureClass::Permanent;
            let outcome = match policy.backoff(attempts + 1) {
                Some(wait) if !permanent => {
                    let wait = e.retry_after.unwrap_or(wait);
                    FailureOutcome::RetryAt(now + chrono::Duration::from_std(wait)?)
                }
                _ => FailureOutcome::Dead,
            };
            tracing::warn!("{}: {e}", row.entry.idempotency_key);
            Ok(RecipientOutcome::Failed { error: e.message, outcome })
        }
    }
}

/// The channel's timeouts: the whole post `timeout_seconds`, the connection at most 10 s.
fn timeouts(ch: &Channel) -> PostTimeouts {
    let whole = std::time::Duration::from_secs(ch.timeout_seconds);
    PostTimeouts { connect: whole.min(std::time::Duration::from_secs(10)), whole }
}

/// The channel's webhook from its environment variable. Errors name the channel and
/// the variable, never its value.
pub(super) fn webhook(ch: &Channel) -> Result<Webhook, String> {
    let url = std::env::var(&ch.webhook_env).map_err(|_| {
        format!(
            "channel '{}': environment variable {} (webhook_env) is not set: set it to the {} incoming-webhook URL",
            ch.name,
            ch.webhook_env,
            ch.kind.label()
        )
    })?;
    Webhook::parse(&url).map_err(|e| format!("channel '{}': the URL in {} {e}", ch.name, ch.webhook_env))
}

/// One channel as `quotad check` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelCheck {
    /// The channel's name.
    pub name: String,
    /// "Slack", "Microsoft Teams" or "Google Chat".
    pub platform: &'static str,
    /// The webhook's origin (`https://hooks.slack.com`) when its variable holds a
    /// webhook URL.
    pub origin: Option<String>,
    /// What is wrong, each naming the channel and the config key or variable: the
    /// variable unset or not a webhook URL, a team no roster rep is active in.
    pub problems: Vec<String>,
}

/// Checks every `[[channels]]`: its `webhook_env` variable is set here and holds an
/// https webhook URL (never shown: only its origin), and each of its `teams` has an
/// active rep on the roster in the state database (skipped when there is no state
/// database yet).
pub fn check_channels(cfg: &Config) -> Vec<ChannelCheck> {
    let teams: Option<Vec<String>> = cfg.paths.state.sqlite().is_none_or(|p| p.exists()).then(|| {
        super::open_store_read_only(cfg)
            .and_then(|s| Ok(s.roster()?))
            .map(|r| r.into_iter().filter(|x| x.active).filter_map(|x| x.team).map(|t| fold_name(&t)).collect())
            .unwrap_or_default()
    });
    cfg.channels
        .iter()
        .map(|ch| {
            let mut problems = Vec::new();
            let origin = match webhook(ch) {
                Ok(h) => Some(h.origin().to_string()),
                Err(e) => {
                    problems.push(e);
                    None
                }
            };
            if let Some(known) = &teams {
                for t in &ch.teams {
                    if !known.contains(&fold_name(t)) {
                        problems.push(format!(
                            "channel '{}': teams: no active rep of the roster is in team '{t}'",
                            ch.name
                        ));
                    }
                }
            }
            ChannelCheck { name: ch.name.clone(), platform: ch.kind.label(), origin, problems }
        })
        .collect()
}
