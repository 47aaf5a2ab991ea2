//! The document jobs: the weekly ranking PDF and the monthly 1:1 prep sheets, written
//! to `paths.reports` and (with `send`) e-mailed through the outbox ledger; sheets are
//! rendered on every core (rayon). May import `store`, `metrics`, `report`
//! (views, PDF layout), `deliver` (attachments, safe names), `config`, `domain` and the
//! outbox (`Sender`, [`deliver_outbox`]).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};

use std::collections::{BTreeMap, HashSet};

use super::outbox::{Sender, Sent, deliver_outbox};
use super::{Figures, Stop};
use rayon::prelude::*;

use crate::config::{Config, FullTo};
use crate::deliver::{self, Addressee};
use crate::domain::{
    Celebrations, IdempotencyKey, IsoWeek, KeyJob, KeyKind, KeyRecipient, MonthStandings, Period, RankedPeriod,
    Standing, fold_name,
};
use crate::metrics;
use crate::report::{self, Templates};
use crate::store::Store;

/// The result of a document job (`weekly-ranking`, `one-on-one`).
#[derive(Debug, Clone, Default)]
pub struct DocsSummary {
    /// What was made, e.g. "Weekly ranking 2026-W43".
    pub title: String,
    /// PDFs written: (path, pages, bytes).
    pub files: Vec<(PathBuf, usize, usize)>,
    /// Deals workbooks written beside the 1:1 sheets (`[pdf] attach_deals_xlsx`): (path,
    /// bytes).
    pub workbooks: Vec<(PathBuf, usize)>,
    /// Characters no font had, drawn as U+FFFD: "FILE: 李 (U+674E), 伟 (U+4F1F)".
    pub missing_glyphs: Vec<String>,
    /// The fallback fonts this job's PDFs were drawn in — configured, or found on the
    /// system (issue 20.6) — as "Family (file)", with the characters drawn in each.
    pub fallback_fonts: BTreeMap<String, std::collections::BTreeSet<char>>,
    /// This job's messages delivered by this run.
    pub sent: usize,
    /// Messages whose idempotency key was already sent: not sent again.
    pub already_sent: usize,
    /// This job's messages that are dead letters from an earlier run: left alone, not
    /// skipped in silence (`quotad outbox retry` sends them again).
    pub dead_earlier: usize,
    /// What the delivery of the outbox did (this job's messages and anything else due),
    /// its dead letters included.
    pub delivery: super::Delivery,
    /// Recipients or reps skipped, and why.
    pub skipped: Vec<String>,
    /// Messages that could not be built (not queued).
    pub failed: Vec<String>,
    /// Where the file transport wrote.
    pub outbox: PathBuf,
    /// Nothing to draw: why ("no deals in November 2026 to date, Nov 1 – Nov 8: nothing
    /// drawn, nothing sent"). Then nothing was written or sent.
    pub no_data: Option<String>,
    /// The chat payloads a preview wrote, one JSON file per channel (issue 22).
    pub chat_previews: Vec<PathBuf>,
}

/// Says which characters of a PDF no font could draw: the file, the document (`doc`,
/// e.g. "the weekly ranking 2026-W12") and the reps among `names` whose name holds one,
/// so that the operator knows whose name came out as U+FFFD, and where.
fn note_missing(summary: &mut DocsSummary, file: &Path, pdf: &report::Pdf, doc: &str, names: &[&str]) {
    if pdf.missing.is_empty() {
        return;
    }
    let list: Vec<String> = pdf.missing.iter().map(|c| format!("{c} (U+{:04X})", *c as u32)).collect();
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let whose: Vec<&str> = names.iter().copied().filter(|n| n.chars().any(|c| pdf.missing.contains(&c))).collect();
    let reps = if whose.is_empty() { String::new() } else { format!(" in the name of {}", whose.join(", ")) };
    tracing::warn!(file = %name, document = %doc, characters = %list.join(", "), "no font has these characters; drawn as U+FFFD{reps}");
    summary.missing_glyphs.push(format!("{name} ({doc}): {}{reps}", list.join(", ")));
}

/// Writes a job's PDFs (`path`, PDF) in one durable batch ([`super::write_all_atomically`]:
/// each whole or not at all, one flush per file and one per folder), making their folders.
fn write_pdfs(files: &[(PathBuf, &report::Pdf)]) -> Result<()> {
    let mut made: Vec<&Path> = Vec::new();
    for dir in files.iter().filter_map(|(p, _)| p.parent()) {
        if !made.contains(&dir) {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            made.push(dir);
        }
    }
    let batch: Vec<(&Path, &[u8])> = files.iter().map(|(p, pdf)| (p.as_path(), pdf.bytes.as_slice())).collect();
    super::write_all_atomically(&batch)
}

/// Counts a PDF written by [`write_pdfs`] in `summary`: its file, the fallback fonts it
/// was drawn in and the characters no font had.
fn note_pdf(summary: &mut DocsSummary, path: &Path, pdf: &report::Pdf, doc: &str, names: &[&str]) {
    summary.files.push((path.to_path_buf(), pdf.pages, pdf.bytes.len()));
    for (font, chars) in &pdf.fonts {
        summary.fallback_fonts.entry(font.clone()).or_default().extend(chars.iter().filter(|c| !c.is_whitespace()));
    }
    note_missing(summary, path, pdf, doc, names);
}

/// Queues one message of a document job with idempotency key `key` to `to` (and `cc`);
/// a key already sent counts in `already_sent`, a dead letter of an earlier run in
/// `dead_earlier`.
#[allow(clippy::too_many_arguments)]
fn send_once(
    cfg: &Config,
    store: &Store,
    summary: &mut DocsSummary,
    key: &IdempotencyKey,
    to: &[Addressee],
    cc: &[Addressee],
    now: DateTime<Utc>,
    make: impl FnOnce() -> Result<(report::RenderedMail, Vec<deliver::MailAttachment>)>,
) -> Result<()> {
    let sender = Sender::new(cfg, store, false, now);
    match sender.queue(key, to, cc, make, &mut summary.failed)? {
        Sent::Before => summary.already_sent += 1,
        Sent::Dead => summary.dead_earlier += 1,
        _ => {}
    }
    Ok(())
}

/// Delivers the outbox after a documents job queued its messages, counting what
/// `job`'s messages for `period` had delivered.
#[allow(clippy::too_many_arguments)]
fn deliver_docs(
    cfg: &Config,
    store: &mut Store,
    templates: &Templates,
    summary: &mut DocsSummary,
    job: KeyJob,
    period: &str,
    now: DateTime<Utc>,
    stop: &Stop,
) -> Result<()> {
    tell_admin_missing_glyphs(cfg, store, summary, job, period, now)?;
    let d = deliver_outbox(cfg, store, templates, now, stop)?;
    summary.sent = d
        .sent
        .iter()
        .filter_map(|k| k.parse::<IdempotencyKey>().ok())
        .filter(|k| k.job == job && k.period == period)
        .count();
    summary.delivery = d;
    Ok(())
}

/// Queues one notice to `mail.admin` listing the characters no font could draw in this
/// run's documents (document and rep named, see [`note_missing`]), keyed
/// `glyphs/JOB-PERIOD/ADMIN/missing-glyphs`: once per run of a job and period, however
/// many documents lack them, and not again when the same period is run again.
fn tell_admin_missing_glyphs(
    cfg: &Config,
    store: &Store,
    summary: &DocsSummary,
    job: KeyJob,
    period: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let Some(admin) = &cfg.mail.admin else { return Ok(()) };
    if summary.missing_glyphs.is_empty() {
        return Ok(());
    }
    let to = admin.email.to_string();
    let name = admin.name.clone().unwrap_or_default();
    let lines: Vec<String> = summary.missing_glyphs.iter().map(|m| format!("  {m}")).collect();
    let text = format!(
        "quotad drew characters that no configured font has as \u{FFFD} in {job} {period}:\n\n{}\n\nInstall a font that has them (quotad looks in the system's font folders unless pdf.system_fonts = false or pdf.fallback_fonts names the fonts; e.g. Debian's fonts-droid-fallback for Chinese, fonts-noto-ui-core for Thai and Devanagari names; `quotad check` says which font draws each script) and run the job again with --resend.\n",
        lines.join("\n")
    );
    let subject = format!("{}: names drawn as \u{FFFD} in {job} {period}", cfg.org.name);
    let html = format!("<pre>{}</pre>", tera::escape_html(&text));
    let key = IdempotencyKey::new(
        KeyJob::Glyphs,
        format!("{job}-{period}"),
        KeyRecipient::Address(to.clone()),
        KeyKind::MissingGlyphs,
    );
    let sender = Sender::new(cfg, store, false, now);
    let mut failed = Vec::new();
    sender.queue(
        &key,
        &[Addressee::new(&name, &to)],
        &[],
        || Ok((report::RenderedMail { subject, text, html }, Vec::new())),
        &mut failed,
    )?;
    if let Some(f) = failed.first() {
        tracing::warn!("the missing-glyph notice to {to} could not be built: {f}");
    }
    Ok(())
}

/// The default week of the weekly ranking: the newest week with deals in its ranked
/// period ([`metrics::ranked_period`]) whose days the data covers — its last day ranked
/// is on or before the newest won/cancelled close date, or an export of that month was
/// written (a date in `cfg.org.time_zone`) after it. Without such a week, the newest
/// week with deals in its ranked period.
///
/// Errors: no deals stored; the state database cannot be read.
pub fn default_ranking_week(cfg: &Config, store: &Store) -> Result<IsoWeek> {
    let Some(newest) = store.newest_deal_date()? else {
        bail!(
            "no deals are stored yet: put a CRM export in the inbox and run `quotad import` (or pass --week YYYY-Www)"
        )
    };
    let first = store.months_with_deals()?.first().map_or(newest, |m| m.first_day());
    let exports = store.month_exports()?;
    let tz = cfg.org.time_zone;
    let covered = |r: RankedPeriod| {
        r.through <= newest
            || exports.iter().any(|(p, at)| *p == r.month && at.with_timezone(&tz).date_naive() > r.through)
    };
    let mut uncovered = None;
    // From the week after the newest deal's (whose ranked period may be the one that
    // holds it: a Sunday the 1st) back to the first month with deals.
    let mut w = IsoWeek::of(newest).next();
    while metrics::ranked_period(w).through >= first {
        let r = metrics::ranked_period(w);
        if store.has_deals_between(r.first_day(), r.through)? {
            if covered(r) {
                return Ok(w);
            }
            uncovered.get_or_insert(w);
        }
        w = w.prev();
    }
    uncovered.context("no week has deals in its ranked period")
}

/// "no deals in November 2026 to date, Nov 1 – Nov 8" when `r` has no won or cancelled
/// deal; `None` when it has. Dates in the org's locale (`fmt`).
pub fn no_deals_in(store: &Store, fmt: &report::Format, r: RankedPeriod) -> Result<Option<String>> {
    Ok((!store.has_deals_between(r.first_day(), r.through)?).then(|| {
        format!(
            "no deals in {}, {}",
            report::ranked_label(fmt, r.month, Some(r.through)),
            report::ranked_days(fmt, r.month, Some(r.through))
        )
    }))
}

/// Who receives the weekly ranking (README "Reports": who gets the ranking): each team one
/// message with its edition, to its active reps (To) and its manager(s) (Cc); the whole
/// company's PDF one message to `weekly_ranking.full_to` (the managers and `mail.admin`
/// by default).
struct Distribution {
    /// Per team (in `teams` order): To, Cc.
    teams: Vec<(Vec<Addressee>, Vec<Addressee>)>,
    /// The full ranking's recipients.
    full: Vec<Addressee>,
}

/// Works out [`Distribution`]: inactive reps, and reps past their Leave Date on `today`
/// (org-local), get nothing; a rep without an e-mail
/// address is reported in `skipped`; every address once per message (a manager who is
/// also one of the team's reps is in To only); addresses that already had this week's
/// ranking from an earlier version (per-address key `weekly-ranking/WEEK/EMAIL/ranking`)
/// are left out, so an upgrade mid-week sends nobody the week twice.
fn distribution(
    cfg: &Config,
    m: &MonthStandings,
    teams: &[&str],
    earlier: &HashSet<String>,
    today: chrono::NaiveDate,
    skipped: &mut Vec<String>,
) -> Distribution {
    let fresh = |e: &str| !earlier.contains(e);
    let mut out = Distribution { teams: Vec::new(), full: Vec::new() };
    let mut managers: BTreeMap<String, String> = BTreeMap::new();
    for team in teams {
        let mut to: Vec<Addressee> = Vec::new();
        let mut cc: Vec<Addressee> = Vec::new();
        let mut seen = HashSet::new();
        // A rep past their Leave Date (org-local `today`) still counts in the month but
        // gets no e-mail: they have left.
        let mut reps: Vec<&Standing> =
            m.reps.iter().filter(|s| s.active && s.team == *team && s.leave_date.is_none_or(|l| l >= today)).collect();
        reps.sort_by(|a, b| (fold_name(&a.name), &a.email).cmp(&(fold_name(&b.name), &b.email)));
        for s in &reps {
            match &s.email {
                Some(e) if seen.insert(e.to_ascii_lowercase()) && fresh(e) => to.push(Addressee::new(&s.name, e)),
                Some(_) => {}
                None => skipped.push(format!("{}: no e-mail address on the roster", s.name)),
            }
        }
        for s in &reps {
            if let Some(e) = &s.manager_email {
                let name = s.manager.clone().unwrap_or_default();
                managers.entry(e.clone()).or_insert_with(|| name.clone());
                if seen.insert(e.to_ascii_lowercase()) && fresh(e) {
                    cc.push(Addressee::new(&name, e));
                }
            }
        }
        if to.is_empty() {
            // A team with only its manager left to tell: the manager is the addressee.
            to = std::mem::take(&mut cc);
        }
        out.teams.push((to, cc));
    }
    let mut seen = HashSet::new();
    for who in &cfg.weekly_ranking.full_to {
        let list: Vec<Addressee> = match who {
            FullTo::Managers => managers.iter().map(|(e, n)| Addressee::new(n, e)).collect(),
            FullTo::Admin => cfg
                .mail
                .admin
                .iter()
                .map(|a| Addressee::new(&a.name.clone().unwrap_or_default(), a.email.as_ref()))
                .collect(),
            FullTo::Address(a) => vec![Addressee::new(&a.name.clone().unwrap_or_default(), a.email.as_ref())],
        };
        for a in list {
            if seen.insert(a.email.to_ascii_lowercase()) && fresh(&a.email) {
                out.full.push(a);
            }
        }
    }
    out
}

/// `quotad preview weekly-ranking --channel NAME`: only the chat payloads of the week
/// for the channels of `cfg` (the caller keeps the one asked for), written to
/// `paths.reports/chat_WEEK/NAME.json`; no PDF is drawn, nothing is queued.
pub(super) fn preview_weekly_chat(
    cfg: &Config,
    store: &Store,
    week: IsoWeek,
    now: DateTime<Utc>,
) -> Result<DocsSummary> {
    let span = metrics::ranked_period(week);
    let mut summary = DocsSummary {
        title: format!("Weekly ranking {week}: chat posts"),
        outbox: cfg.paths.outbox.clone(),
        ..Default::default()
    };
    if let Some(none) = no_deals_in(store, &cfg.org.format, span)? {
        summary.no_data = Some(format!("{none}: nothing to post"));
        return Ok(summary);
    }
    let m = Figures::default().week(store, week, &cfg.metrics, now)?;
    let week_s = week.to_string();
    let mut teams: Vec<&str> = m.reps.iter().filter(|s| s.active).map(|s| s.team.as_str()).collect();
    teams.sort_unstable();
    teams.dedup();
    let celebrations: Vec<Celebrations> =
        teams.iter().map(|t| metrics::team_celebrations(&m, t, &cfg.metrics.names)).collect();
    let chat = super::channels::WeeklyInput {
        week: &week_s,
        days: (week.monday(), week.sunday()),
        m: &m,
        teams: &teams,
        celebrations: &celebrations,
    };
    super::channels::preview_weekly(cfg, &mut summary, &chat)?;
    Ok(summary)
}

/// Writes the weekly ranking for `week` — the month to date of its ranked period
/// ([`metrics::ranked_period`]: the month of its Monday, through its Sunday or that
/// month's last day), with movement since last week's ranking of the same month — as the
/// whole company's PDF (`paths.reports/ranking_YYYY-Www.pdf`) and one team edition per team
/// (`paths.reports/ranking_YYYY-Www/ranking_YYYY-Www_TEAM.pdf`: the company's top
/// `weekly_ranking.top`, where the team stands, the team's table and celebrations),
/// rendered on every core. With `send`, e-mails each team its edition in one message to
/// its active reps with its manager in Cc (key `weekly-ranking/WEEK/team:TEAM/team-edition`),
/// and the full PDF in one message to `weekly_ranking.full_to`
/// (`weekly-ranking/WEEK/list:full/full-ranking`): a team count plus one messages,
/// whatever the company's size. A ranked period without deals is neither drawn nor
/// sent: the summary's `no_data` says so.
#[allow(clippy::too_many_arguments)]
pub fn weekly_ranking(
    cfg: &Config,
    store: &mut Store,
    templates: &Templates,
    fonts: &report::Fonts,
    week: IsoWeek,
    send: bool,
    figures: &mut Figures,
    now: DateTime<Utc>,
    stop: &Stop,
) -> Result<DocsSummary> {
    let span = metrics::ranked_period(week);
    let mut summary = DocsSummary {
        title: format!(
            "Weekly ranking {week} ({}, {})",
            report::ranked_label(&super::operator_format(cfg), span.month, Some(span.through)),
            report::ranked_days(&cfg.org.format, span.month, Some(span.through))
        ),
        outbox: cfg.paths.outbox.clone(),
        ..Default::default()
    };
    if let Some(none) = no_deals_in(store, &super::operator_format(cfg), span)? {
        let sent = if send { ", nothing sent" } else { "" };
        summary.no_data = Some(format!("{none}: nothing drawn{sent}"));
        return Ok(summary);
    }
    let m = figures.week(store, week, &cfg.metrics, now)?;
    let week_s = week.to_string();
    let days = (week.monday(), week.sunday());
    let input_with = |embed| report::RankingInput {
        org: &cfg.org.name,
        week: &week_s,
        days,
        standings: &m,
        fmt: &cfg.org.format,
        paper: cfg.pdf.paper,
        created: now.timestamp(),
        fiscal: cfg.org.fiscal,
        embed,
    };
    let mut teams: Vec<&str> = m.reps.iter().filter(|s| s.active).map(|s| s.team.as_str()).collect();
    teams.sort_unstable();
    teams.dedup();
    let celebrations: Vec<Celebrations> =
        teams.iter().map(|t| metrics::team_celebrations(&m, t, &cfg.metrics.names)).collect();
    // The full PDF (None) and each team's edition, on every core: laid out once to learn
    // the glyphs they draw, each face subset once for all of them, then drawn.
    let jobs: Vec<Option<usize>> = std::iter::once(None).chain((0..teams.len()).map(Some)).collect();
    // The full PDF (303 pages at 2,000 reps, ~80 MB of page operations while drawn) is
    // drawn on this thread, beside the team editions on the pool: its memory comes from
    // and goes back to this thread's heap, where the run's earlier jobs freed as much,
    // instead of growing a pool thread's arena that keeps it (issue 19, `run all`'s peak).
    let render = |input: &report::RankingInput| -> Vec<report::Pdf> {
        let editions = report::documents::TeamEditions::new(input, cfg.weekly_ranking.top);
        std::thread::scope(|sc| {
            let team_pdfs = sc.spawn(|| {
                jobs.par_iter()
                    .filter_map(|j| *j)
                    .map(|i| {
                        editions
                            .render(fonts, &report::TeamEditionInput { team: teams[i], celebrations: &celebrations[i] })
                    })
                    .collect::<Vec<_>>()
            });
            let mut pdfs = vec![report::documents::ranking(fonts, input)];
            pdfs.extend(team_pdfs.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
            pdfs
        })
    };
    let usage = render(&input_with(report::Embed::Collect))
        .into_iter()
        .fold(report::GlyphUsage::default(), |u, pdf| u.merge(pdf.usage));
    let shared = fonts.share(&usage);
    let pdfs = render(&input_with(report::Embed::Shared(&shared)));
    let mut pdfs = pdfs.into_iter();
    let full_pdf = pdfs.next().context("the full ranking")?;
    let team_pdfs: Vec<report::Pdf> = pdfs.collect();
    let file = format!("ranking_{week}.pdf");
    let names: Vec<&str> = m.reps.iter().map(|s| s.name.as_str()).collect();
    let dir = cfg.paths.reports.join(format!("ranking_{week}"));
    let mut files = vec![(cfg.paths.reports.join(&file), &full_pdf)];
    for (team, pdf) in teams.iter().zip(&team_pdfs) {
        files.push((dir.join(format!("{}.pdf", deliver::safe_name(&format!("ranking_{week}_{team}"), team))), pdf));
    }
    write_pdfs(&files)?;
    for (i, (path, pdf)) in files.iter().enumerate() {
        let doc = match i.checked_sub(1) {
            None => format!("the weekly ranking {week}"),
            Some(t) => format!("the weekly ranking {week}, team edition for {}", teams[t]),
        };
        note_pdf(&mut summary, path, pdf, &doc, &names);
    }
    let chat = super::channels::WeeklyInput { week: &week_s, days, m: &m, teams: &teams, celebrations: &celebrations };
    if !send {
        super::channels::preview_weekly(cfg, &mut summary, &chat)?;
        return Ok(summary);
    }
    let earlier = store.outbox_recipients_of(KeyJob::WeeklyRanking.as_str(), &week_s, &KeyKind::Ranking.column())?;
    let today = now.with_timezone(&cfg.org.time_zone).date_naive();
    let dist = distribution(cfg, &m, &teams, &earlier, today, &mut summary.skipped);
    for ((team, (to, cc)), (pdf, celebrations)) in
        teams.iter().zip(&dist.teams).zip(team_pdfs.iter().zip(&celebrations))
    {
        if to.is_empty() {
            if earlier.is_empty() {
                summary.skipped.push(format!("team {team}: no e-mail address for its reps or manager on the roster"));
            } else {
                summary.already_sent += 1;
            }
            continue;
        }
        let key = IdempotencyKey::new(KeyJob::WeeklyRanking, &week_s, KeyRecipient::team(team), KeyKind::TeamEdition);
        let name = deliver::attachment_name(&format!("ranking {week} {team}.pdf"));
        send_once(cfg, store, &mut summary, &key, to, cc, now, || {
            let view = report::team_ranking_mail_view(
                &cfg.org.name,
                &cfg.org.format,
                &week_s,
                days,
                &m,
                team,
                celebrations,
                cfg.weekly_ranking.top,
                &name,
            );
            let mail = report::render_team_ranking_mail(templates, &view)?;
            let att = deliver::MailAttachment {
                file_name: name.clone(),
                content_type: "application/pdf".into(),
                bytes: pdf.bytes.clone(),
            };
            Ok((mail, vec![att]))
        })?;
    }
    if !dist.full.is_empty() {
        let key = IdempotencyKey::new(
            KeyJob::WeeklyRanking,
            &week_s,
            KeyRecipient::List("full".into()),
            KeyKind::FullRanking,
        );
        send_once(cfg, store, &mut summary, &key, &dist.full, &[], now, || {
            let view = report::ranking_mail_view(
                &cfg.org.name,
                &cfg.org.format,
                &week_s,
                days,
                &m,
                &cfg.org.format.t("word.everyone"),
                &file,
            );
            let mail = report::render_ranking_mail(templates, &view)?;
            let att = deliver::MailAttachment {
                file_name: file.clone(),
                content_type: "application/pdf".into(),
                bytes: full_pdf.bytes.clone(),
            };
            Ok((mail, vec![att]))
        })?;
    } else if !earlier.is_empty() {
        summary.already_sent += 1;
    }
    super::channels::queue_weekly(cfg, store, &mut summary, &chat, now)?;
    deliver_docs(cfg, store, templates, &mut summary, KeyJob::WeeklyRanking, &week_s, now, stop)?;
    Ok(summary)
}

/// How many 1:1 sheets are rendered (on every core) before they are written and their
/// bytes let go: the job's memory holds this many sheets, not all of them.
const SHEETS_AT_ONCE: usize = 64;

/// Writes a 1:1 prep sheet per active rep for `period`
/// (`paths.reports/one-on-one_YYYY-MM/…pdf`): the month and the months before it, up to
/// `pdf.trend_months` in all.
/// `only` limits it to one rep (rep id, e-mail or name). With `send`, e-mails each
/// manager one message with their reps' sheets attached (idempotency key
/// `one-on-one/PERIOD/MANAGER-EMAIL/pack`), or with `pdf.one_on_one_mail = "per_rep"`
/// one message per sheet (`one-on-one/PERIOD/MANAGER-EMAIL/rep:REP-EMAIL`).
#[allow(clippy::too_many_arguments)]
pub fn one_on_one(
    cfg: &Config,
    store: &mut Store,
    templates: &Templates,
    fonts: &report::Fonts,
    period: Period,
    only: Option<&str>,
    send: bool,
    figures: &mut Figures,
    now: DateTime<Utc>,
    stop: &Stop,
) -> Result<DocsSummary> {
    let mut periods = vec![period];
    for _ in 1..cfg.pdf.trend_months {
        let p = periods[0].prev();
        periods.insert(0, p);
    }
    let first_data = figures.loaded(store, period, &[period], &cfg.metrics)?.first_deal_month();
    periods.retain(|p| first_data.is_none_or(|f| *p >= f));
    let history = figures.months(store, &periods, &cfg.metrics, now)?;
    let fiscal = cfg.org.fiscal;
    let year_months = figures.months(store, &super::figures::fiscal_year_to(fiscal, period), &cfg.metrics, now)?;
    let loaded = figures.loaded(store, period, &[period], &cfg.metrics)?;
    let input = loaded.input();
    let month = history.last().context("one month at least")?;
    let mut summary = DocsSummary {
        title: format!("1:1 prep sheets for {}", period.label()),
        outbox: cfg.paths.outbox.clone(),
        ..Default::default()
    };
    let wanted = only.map(crate::domain::fold_name);
    let dir = cfg.paths.reports.join(format!("one-on-one_{period}"));
    // (manager e-mail, manager name) -> [(pack line, the sheet written)]: a sheet's bytes
    // are read back when its message is built, so the job holds a chunk of sheets at a
    // time, not every sheet (2,000 sheets at 1M rows were ~75 MB of its peak memory).
    // Each item: the pack line, the sheet's PDF and, with `[pdf] attach_deals_xlsx`, the
    // rep's deals workbook (attachment name, file written).
    type PackItem = (report::PackRepView, PathBuf, Option<(String, PathBuf)>);
    let mut packs: std::collections::BTreeMap<(String, String), Vec<PackItem>> = std::collections::BTreeMap::new();
    let sources = if cfg.pdf.attach_deals_xlsx { store.deal_sources(period)? } else { Default::default() };
    let rows_of = metrics::rows_by_rep(period, &input, &cfg.metrics);
    // The sheets to make: (rep, paperwork to fix, talking points), in roster order.
    let mut sheets = Vec::new();
    for s in month.reps.iter().filter(|s| s.active) {
        if let Some(w) = &wanted {
            let hit = [s.rep_id.as_deref(), s.email.as_deref(), Some(s.name.as_str())]
                .into_iter()
                .flatten()
                .any(|v| crate::domain::fold_name(v) == *w);
            if !hit {
                continue;
            }
        }
        let paperwork: Vec<report::PaperworkIssue> = rows_of
            .get(&s.rep_key)
            .into_iter()
            .flatten()
            .filter(|d| d.class == crate::domain::StageClass::Won)
            .filter(|d| d.paperwork_complete == Some(false) || d.paperwork_errors.unwrap_or(0) > 0)
            .map(|d| {
                let mut issue = Vec::new();
                let fmt = &cfg.org.format;
                if d.paperwork_complete == Some(false) {
                    issue.push(fmt.t("one_on_one.issue_incomplete"));
                }
                match d.paperwork_errors.unwrap_or(0) {
                    0 => {}
                    n => issue.push(fmt.tn("plural.errors", u64::from(n), &[])),
                }
                report::PaperworkIssue { deal_id: d.deal_id.clone(), close_date: d.close_date, issue: issue.join(", ") }
            })
            .collect();
        let points = report::talking_points(templates, &cfg.org.format, period, s, &cfg.metrics.standards())?;
        sheets.push((s, paperwork, points));
    }
    let sheet = |(s, paperwork, points): &(&Standing, Vec<report::PaperworkIssue>, Vec<String>), embed| {
        report::documents::one_on_one(
            fonts,
            &report::OneOnOneInput {
                org: &cfg.org.name,
                rep_key: &s.rep_key,
                history: &history,
                paperwork,
                talking_points: points,
                rating_standard: cfg.metrics.rating_standard,
                paperwork_standard: cfg.metrics.paperwork_standard,
                fmt: &cfg.org.format,
                paper: cfg.pdf.paper,
                created: now.timestamp(),
                fiscal,
                to_date: super::figures::rep_to_date(fiscal, &year_months, &s.rep_key, period),
                embed,
            },
        )
    };
    // Render once what is the same (issue 19): the sheets are laid out once, on every
    // core, to learn the glyphs they draw; each face is subset once to their union and
    // every sheet embeds those same bytes. One sheet alone is subset for itself.
    let shared = if sheets.len() > 1 {
        let usage = sheets
            .par_iter()
            .filter_map(|job| sheet(job, report::Embed::Collect))
            .map(|pdf| pdf.usage)
            .reduce(report::GlyphUsage::default, report::GlyphUsage::merge);
        fonts.share(&usage)
    } else {
        report::SharedFonts::default()
    };
    let idents = sheet_idents(&month.reps);
    // Each sheet is independent work: render them on every core, a chunk at a time.
    for chunk in sheets.chunks(SHEETS_AT_ONCE) {
        let pdfs: Vec<_> = chunk.par_iter().map(|job| sheet(job, report::Embed::Shared(&shared))).collect();
        let mut files = Vec::new();
        for ((s, paperwork, _), pdf) in chunk.iter().zip(&pdfs) {
            let Some(pdf) = pdf else { continue };
            let ident = idents.get(s.rep_key.as_str()).cloned().unwrap_or_else(|| s.rep_key.clone());
            let path =
                dir.join(format!("{}.pdf", deliver::safe_name(&format!("one-on-one_{period}_{ident}"), &s.rep_key)));
            files.push((path, pdf, s, paperwork, ident));
        }
        let batch: Vec<(PathBuf, &report::Pdf)> = files.iter().map(|(p, pdf, ..)| (p.clone(), *pdf)).collect();
        write_pdfs(&batch)?;
        for (path, pdf, s, paperwork, ident) in files {
            note_pdf(&mut summary, &path, pdf, &format!("the 1:1 prep sheet of {}", s.name), &[&s.name]);
            let file_name = deliver::attachment_name(&format!("1-1 prep {period} {}.pdf", s.name));
            let deals = if cfg.pdf.attach_deals_xlsx {
                let rows = rows_of.get(&s.rep_key).map(Vec::as_slice).unwrap_or_default();
                let sheet = deals_sheet(cfg, month, s, rows, loaded.record(), &sources);
                let bytes = report::xlsx::deals_workbook(&sheet, &cfg.org.format)
                    .with_context(|| format!("cannot build the deals workbook of {}", s.name))?;
                let xlsx = path.with_extension("xlsx");
                super::write_atomically(&xlsx, &bytes)?;
                summary.workbooks.push((xlsx.clone(), bytes.len()));
                Some((deliver::attachment_name(&format!("1-1 prep {period} {} deals.xlsx", s.name)), xlsx))
            } else {
                None
            };
            let line = report::PackRepView {
                name: s.name.clone(),
                revenue: cfg.org.format.money(s.revenue),
                attainment: s.attainment.map(|a| cfg.org.format.percent(a)),
                flags: report::flag_count(s),
                paperwork: paperwork.len(),
                file: file_name.clone(),
                ident: ident.clone(),
            };
            match (&s.manager_email, &s.manager) {
                (Some(e), n) => packs
                    .entry((e.clone(), n.clone().unwrap_or_else(|| e.clone())))
                    .or_default()
                    .push((line, path, deals)),
                (None, _) => {
                    summary.skipped.push(format!("{}: no manager e-mail on the roster; sheet written only", s.name))
                }
            }
        }
    }
    if !send {
        return Ok(summary);
    }
    // The sheets are written: the 1:1 job is a run's last, and its delivery needs none
    // of the deals and months loaded for them (~150 MB at 1M rows; a later job loads
    // them again).
    drop(year_months);
    figures.release();
    // Pack: one message per manager. Per rep: one message per sheet (kind "rep:EMAIL-or-ID").
    let mut messages = Vec::new();
    for ((email, name), items) in packs {
        match cfg.pdf.one_on_one_mail {
            report::OneOnOneMail::Pack => messages.push((email, name, KeyKind::Pack, items)),
            report::OneOnOneMail::PerRep => {
                for (line, att, deals) in items {
                    let kind = KeyKind::RepSheet(line.ident.clone());
                    messages.push((email.clone(), name.clone(), kind, vec![(line, att, deals)]));
                }
            }
        }
    }
    for (email, name, kind, items) in messages {
        let key = IdempotencyKey::to(KeyJob::OneOnOne, period, &email, kind);
        let to = [Addressee::new(&name, &email)];
        send_once(cfg, store, &mut summary, &key, &to, &[], now, || {
            let mut reps = Vec::new();
            let mut atts = Vec::new();
            for (line, path, deals) in items {
                let read = |p: &Path| fs::read(p).with_context(|| format!("cannot read {}", p.display()));
                atts.push(deliver::MailAttachment {
                    file_name: line.file.clone(),
                    content_type: "application/pdf".into(),
                    bytes: read(&path)?,
                });
                if let Some((file_name, xlsx)) = deals {
                    atts.push(deliver::MailAttachment {
                        file_name,
                        content_type: XLSX_MIME.into(),
                        bytes: read(&xlsx)?,
                    });
                }
                reps.push(line);
            }
            let view = report::PackMailView {
                org: report::OrgView { name: cfg.org.name.clone() },
                manager: report::PersonView::new(&name),
                period: report::PeriodView::new(period, &cfg.org.format),
                as_of: month
                    .as_of
                    .map(|d| cfg.org.format.date(d))
                    .unwrap_or_else(|| cfg.org.format.t("word.no_export")),
                status: if month.preliminary { "preliminary" } else { "final" },
                reps,
            };
            Ok((report::render_pack_mail(templates, &view)?, atts))
        })?;
    }
    deliver_docs(cfg, store, templates, &mut summary, KeyJob::OneOnOne, &period.to_string(), now, stop)?;
    Ok(summary)
}

/// The name part of each active rep's 1:1 sheet (file `one-on-one_PERIOD_IDENT.pdf`,
/// and the per-rep message's key kind `rep:IDENT`), by rep key: the rep's e-mail, else
/// their rep id, else the rep key. Reps whose names would be the same (two reps sharing
/// one e-mail address, compared without case) each get `_` and 8 hex digits of the
/// SHA-256 of their rep key appended, so that no sheet overwrites another; every other
/// name is as before. Worked out over all the month's active reps, so that a sheet's
/// name does not depend on `--rep`.
fn sheet_idents(reps: &[Standing]) -> std::collections::HashMap<&str, String> {
    let base = |s: &Standing| s.email.clone().or_else(|| s.rep_id.clone()).unwrap_or_else(|| s.rep_key.clone());
    let mut count: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for s in reps.iter().filter(|s| s.active) {
        *count.entry(base(s).to_lowercase()).or_default() += 1;
    }
    reps.iter()
        .filter(|s| s.active)
        .map(|s| {
            let ident = base(s);
            let ident = if count[&ident.to_lowercase()] > 1 {
                format!("{ident}_{}", &crate::domain::sha256_hex(s.rep_key.as_bytes())[..8])
            } else {
                ident
            };
            (s.rep_key.as_str(), ident)
        })
        .collect()
}

/// The MIME type of an .xlsx attachment.
pub const XLSX_MIME: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The deals workbook's content for rep `s` of the 1:1 sheet's `month`: every won and
/// cancelled row of the month credited to the rep (`rows`, as the standings resolve
/// them), what each adds by [`metrics::credit`] and [`metrics::cancellation_rule`] —
/// the same rules that make the sheet's month-to-date revenue — and where it came from.
fn deals_sheet(
    cfg: &Config,
    month: &crate::domain::MonthStandings,
    s: &crate::domain::Standing,
    rows: &[&crate::domain::DealRow],
    record: &metrics::SaleRecord,
    sources: &std::collections::HashMap<crate::store::DealKey, (i64, String)>,
) -> report::xlsx::DealsSheet {
    let mut deals: Vec<report::xlsx::DealLine> = rows
        .iter()
        .filter_map(|d| {
            let (amount, units) = metrics::credit(d)?;
            let rule = metrics::cancellation_rule(d, record, &cfg.metrics);
            let counts = rule.is_none_or(metrics::CancellationRule::counts);
            let note = match rule {
                None => String::new(),
                Some(metrics::CancellationRule::NotOnRecord { .. }) => {
                    "cancellation: counts nowhere (its sale is not on record)".into()
                }
                Some(metrics::CancellationRule::MayPredateHistory { .. }) => {
                    "cancellation: subtracts (its sale may predate the history)".into()
                }
                Some(_) => "cancellation: subtracts".into(),
            };
            let file = sources
                .get(&(d.deal_id.clone(), d.event().as_str().to_string(), d.rep.key()))
                .map(|(_, f)| f.clone())
                .unwrap_or_default();
            Some(report::xlsx::DealLine {
                deal_id: d.deal_id.clone(),
                stage: d.stage.clone(),
                close_date: d.close_date,
                amount: d.amount,
                share: d.share,
                revenue: counts.then_some(amount),
                units: counts.then_some(units),
                rating: d.rating,
                paperwork_complete: d.paperwork_complete,
                paperwork_errors: d.paperwork_errors,
                note,
                file,
                sheet: d.origin.sheet.clone(),
                row: d.origin.row,
            })
        })
        .collect();
    deals.sort_by(|a, b| (a.close_date, &a.deal_id, a.row).cmp(&(b.close_date, &b.deal_id, b.row)));
    let status = if month.preliminary { "preliminary" } else { "final" };
    report::xlsx::DealsSheet {
        title: format!("Deals of {} ({}), {} to date ({status})", s.name, s.team, cfg.org.format.month(month.period)),
        as_of: month.as_of,
        revenue_quota: s.revenue_quota,
        revenue: s.revenue,
        units: s.units,
        attainment: s.attainment,
        below_target: cfg.metrics.below_target,
        deals,
    }
}
