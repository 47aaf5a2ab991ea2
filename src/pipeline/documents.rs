//! The document jobs: the weekly ranking PDF and the monthly 1:1 prep sheets, written
//! to `paths.reports` and (with `send`) e-mailed through the outbox ledger; sheets are
//! rendered on every core (rayon). May import `store`, `metrics`, `report`
//! (views, PDF layout), `deliver` (attachments, safe names), `config`, `domain` and the
//! outbox (`Sender`, [`deliver_outbox`]).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};

use super::outbox::{Sender, Sent, deliver_outbox};
use super::{Loaded, Stop};
use rayon::prelude::*;

use crate::config::Config;
use crate::deliver;
use crate::domain::Period;
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
    /// Characters no font had, drawn as U+FFFD: "FILE: 李 (U+674E), 伟 (U+4F1F)".
    pub missing_glyphs: Vec<String>,
    /// Messages delivered by this run.
    pub sent: usize,
    /// Messages whose idempotency key was already sent: not sent again.
    pub already_sent: usize,
    /// Recipients or reps skipped, and why.
    pub skipped: Vec<String>,
    /// Messages that failed (left pending in the outbox).
    pub failed: Vec<String>,
    /// Where the file transport wrote.
    pub outbox: PathBuf,
}

fn note_missing(summary: &mut DocsSummary, file: &Path, pdf: &report::Pdf) {
    if pdf.missing.is_empty() {
        return;
    }
    let list: Vec<String> = pdf.missing.iter().map(|c| format!("{c} (U+{:04X})", *c as u32)).collect();
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    tracing::warn!(file = %name, characters = %list.join(", "), "no font has these characters; drawn as U+FFFD");
    summary.missing_glyphs.push(format!("{name}: {}", list.join(", ")));
}

fn write_pdf(summary: &mut DocsSummary, path: &Path, pdf: &report::Pdf) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = path.with_extension("pdf.tmp");
    fs::write(&tmp, &pdf.bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    summary.files.push((path.to_path_buf(), pdf.pages, pdf.bytes.len()));
    note_missing(summary, path, pdf);
    Ok(())
}

/// One message of a document job: recorded in the outbox ledger as pending, then sent.
struct Send<'a> {
    job: &'a str,
    period: String,
    kind: String,
    to_name: String,
    to_email: String,
}

fn send_once(
    cfg: &Config,
    store: &Store,
    summary: &mut DocsSummary,
    s: Send,
    now: DateTime<Utc>,
    make: impl FnOnce() -> Result<(report::RenderedMail, Vec<deliver::MailAttachment>)>,
) -> Result<()> {
    let key = format!("{}/{}/{}/{}", s.job, s.period, s.to_email, s.kind);
    let sender = Sender::new(cfg, store, false, now);
    if let Sent::Before =
        sender.queue(&key, s.job, &s.period, &s.kind, (&s.to_name, &s.to_email), make, &mut summary.failed)?
    {
        summary.already_sent += 1;
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
    job: &str,
    period: &str,
    now: DateTime<Utc>,
    stop: &Stop,
) -> Result<()> {
    let d = deliver_outbox(cfg, store, templates, now, stop)?;
    let prefix = format!("{job}/{period}/");
    summary.sent = d.sent.iter().filter(|k| k.starts_with(&prefix)).count();
    for (key, err) in &d.dead {
        summary.failed.push(format!("{key}: dead letter: {err}"));
    }
    Ok(())
}

/// The default week of the weekly ranking: the newest full ISO week with deals — the
/// week whose Sunday is the newest won/cancelled close date, else the week before it.
pub fn default_ranking_week(store: &Store) -> Result<crate::domain::IsoWeek> {
    use crate::domain::IsoWeek;
    let Some(month) = store.latest_deal_month()? else {
        bail!(
            "no deals are stored yet: put a CRM export in the inbox and run `quotad import` (or pass --week YYYY-Www)"
        )
    };
    let newest = store
        .deals_between(month, month)?
        .iter()
        .filter(|d| d.class != crate::domain::StageClass::Ignored)
        .filter_map(|d| d.close_date)
        .max()
        .unwrap_or_else(|| month.last_day());
    let w = IsoWeek::of(newest);
    Ok(if w.sunday() == newest { w } else { w.prev() })
}

/// Writes the weekly ranking PDF (`paths.reports/ranking_YYYY-Www.pdf`) for `week`:
/// month to date through its Sunday, with movement since the week before. With `send`,
/// e-mails it (HTML summary, text twin, PDF attached) to every active rep of each team
/// and to each team's manager, once per address (idempotency key
/// `weekly-ranking/WEEK/EMAIL/ranking`).
#[allow(clippy::too_many_arguments)]
pub fn weekly_ranking(
    cfg: &Config,
    store: &mut Store,
    templates: &Templates,
    fonts: &report::Fonts,
    week: crate::domain::IsoWeek,
    send: bool,
    now: DateTime<Utc>,
    stop: &Stop,
) -> Result<DocsSummary> {
    let loaded = Loaded::new(store, Period::of(week.sunday()))?;
    let m = metrics::week_standings(week, &loaded.input(), &cfg.metrics, now);
    let mut summary = DocsSummary {
        title: format!("Weekly ranking {week} ({} month to date)", m.period.label()),
        outbox: cfg.paths.outbox.clone(),
        ..Default::default()
    };
    let week_s = week.to_string();
    let pdf = report::documents::ranking(
        fonts,
        &report::RankingInput {
            org: &cfg.org.name,
            week: &week_s,
            days: (week.monday(), week.sunday()),
            standings: &m,
            fmt: &cfg.org.format,
            paper: cfg.pdf.paper,
            created: now.timestamp(),
        },
    );
    let file = format!("ranking_{week}.pdf");
    write_pdf(&mut summary, &cfg.paths.reports.join(&file), &pdf)?;
    if !send {
        return Ok(summary);
    }
    // Each team's distribution: its active reps and its manager, one message per address.
    let mut recipients: Vec<(String, String)> = Vec::new();
    for s in m.reps.iter().filter(|s| s.active) {
        match &s.email {
            Some(e) => recipients.push((e.clone(), s.name.clone())),
            None => summary.skipped.push(format!("{}: no e-mail address on the roster", s.name)),
        }
        if let (Some(e), Some(n)) = (&s.manager_email, &s.manager) {
            recipients.push((e.clone(), n.clone()));
        }
    }
    let mut seen = std::collections::HashSet::new();
    recipients.retain(|(e, _)| seen.insert(e.clone()));
    for (email, name) in recipients {
        let send = Send {
            job: "weekly-ranking",
            period: week_s.clone(),
            kind: "ranking".into(),
            to_name: name.clone(),
            to_email: email,
        };
        send_once(cfg, store, &mut summary, send, now, || {
            let view = report::ranking_mail_view(
                &cfg.org.name,
                &cfg.org.format,
                &week_s,
                (week.monday(), week.sunday()),
                &m,
                &name,
                &file,
            );
            let mail = report::render_ranking_mail(templates, &view)?;
            let att = deliver::MailAttachment {
                file_name: file.clone(),
                content_type: "application/pdf".into(),
                bytes: pdf.bytes.clone(),
            };
            Ok((mail, vec![att]))
        })?;
    }
    deliver_docs(cfg, store, templates, &mut summary, "weekly-ranking", &week_s, now, stop)?;
    Ok(summary)
}

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
    now: DateTime<Utc>,
    stop: &Stop,
) -> Result<DocsSummary> {
    let loaded = Loaded::new(store, period)?;
    let input = loaded.input();
    let mut periods = vec![period];
    for _ in 1..cfg.pdf.trend_months {
        let p = periods[0].prev();
        periods.insert(0, p);
    }
    let first_data = loaded.first_deal_month();
    periods.retain(|p| first_data.is_none_or(|f| *p >= f));
    let history: Vec<_> = periods.iter().map(|p| metrics::month_standings(*p, &input, &cfg.metrics, now)).collect();
    let month = history.last().context("one month at least")?;
    let mut summary = DocsSummary {
        title: format!("1:1 prep sheets for {}", period.label()),
        outbox: cfg.paths.outbox.clone(),
        ..Default::default()
    };
    let wanted = only.map(crate::domain::fold_name);
    let dir = cfg.paths.reports.join(format!("one-on-one_{period}"));
    // (manager e-mail, manager name) -> [(pack line, attachment)]
    let mut packs: std::collections::BTreeMap<(String, String), Vec<(report::PackRepView, deliver::MailAttachment)>> =
        std::collections::BTreeMap::new();
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
                if d.paperwork_complete == Some(false) {
                    issue.push("incomplete".to_string());
                }
                match d.paperwork_errors.unwrap_or(0) {
                    0 => {}
                    1 => issue.push("1 error".into()),
                    n => issue.push(format!("{n} errors")),
                }
                report::PaperworkIssue { deal_id: d.deal_id.clone(), close_date: d.close_date, issue: issue.join(", ") }
            })
            .collect();
        let thresholds =
            report::FlagThresholds { below_target: cfg.metrics.below_target, off_pace: cfg.metrics.off_pace };
        let points = report::talking_points(templates, &cfg.org.format, period, s, thresholds)?;
        sheets.push((s, paperwork, points));
    }
    // Each sheet is independent work: render them on every core.
    let pdfs: Vec<_> = sheets
        .par_iter()
        .map(|(s, paperwork, points)| {
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
                },
            )
        })
        .collect();
    for ((s, paperwork, _), pdf) in sheets.iter().zip(pdfs) {
        let Some(pdf) = pdf else { continue };
        let ident = s.email.clone().or_else(|| s.rep_id.clone()).unwrap_or_else(|| s.rep_key.clone());
        let path = dir.join(format!("{}.pdf", deliver::safe_name(&format!("one-on-one_{period}_{ident}"), &s.rep_key)));
        write_pdf(&mut summary, &path, &pdf)?;
        let file_name = deliver::attachment_name(&format!("1-1 prep {period} {}.pdf", s.name));
        let line = report::PackRepView {
            name: s.name.clone(),
            revenue: cfg.org.format.money(s.revenue),
            attainment: s.attainment.map(|a| cfg.org.format.percent(a)),
            flags: report::flag_count(s),
            paperwork: paperwork.len(),
            file: file_name.clone(),
            ident: ident.clone(),
        };
        let att = deliver::MailAttachment { file_name, content_type: "application/pdf".into(), bytes: pdf.bytes };
        match (&s.manager_email, &s.manager) {
            (Some(e), n) => {
                packs.entry((e.clone(), n.clone().unwrap_or_else(|| e.clone()))).or_default().push((line, att))
            }
            (None, _) => {
                summary.skipped.push(format!("{}: no manager e-mail on the roster; sheet written only", s.name))
            }
        }
    }
    if !send {
        return Ok(summary);
    }
    // Pack: one message per manager. Per rep: one message per sheet (kind "rep:EMAIL-or-ID").
    let mut messages = Vec::new();
    for ((email, name), items) in packs {
        match cfg.pdf.one_on_one_mail {
            report::OneOnOneMail::Pack => messages.push((email, name, "pack".to_string(), items)),
            report::OneOnOneMail::PerRep => {
                for (line, att) in items {
                    let kind = format!("rep:{}", line.ident);
                    messages.push((email.clone(), name.clone(), kind, vec![(line, att)]));
                }
            }
        }
    }
    for (email, name, kind, items) in messages {
        let send = Send { job: "one-on-one", period: period.to_string(), kind, to_name: name.clone(), to_email: email };
        send_once(cfg, store, &mut summary, send, now, || {
            let (reps, atts): (Vec<_>, Vec<_>) = items.into_iter().unzip();
            let view = report::PackMailView {
                org: report::OrgView { name: cfg.org.name.clone() },
                manager: report::PersonView::new(&name),
                period: period.into(),
                as_of: month.as_of.map(|d| d.format("%-d %B %Y").to_string()).unwrap_or_else(|| "no export yet".into()),
                status: if month.preliminary { "preliminary" } else { "final" },
                reps,
            };
            Ok((report::render_pack_mail(templates, &view)?, atts))
        })?;
    }
    deliver_docs(cfg, store, templates, &mut summary, "one-on-one", &period.to_string(), now, stop)?;
    Ok(summary)
}
