//! `quotad import`, `quotad imports`, `quotad run JOB` and `quotad preview JOB`: each
//! calls its pipeline function and prints the summaries.

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::shown;
use super::signals::Signals;
use crate::cli::{Job, PreviewJob};
use crate::config::Config;
use crate::domain::{IsoWeek, Period};
use crate::pipeline::{
    self, Delivery, DocsSummary, FileStatus, IfLocked, ImportReport, ImportSummary, MemoSummary, OutboxStatus,
    RunRequest, Step,
};

/// `quotad import`. SIGTERM/SIGINT finish the file in hand, record it, and exit
/// 128 + the signal's number, the other files left in the inbox.
pub fn import_only(cfg: &Config, now: DateTime<Utc>, if_locked: IfLocked) -> Result<i32> {
    let signals = Signals::listen()?;
    let _lock = pipeline::lock_state_as(cfg, "import", if_locked)?;
    let mut store = pipeline::open_store(cfg)?;
    let summary = pipeline::import(cfg, &mut store, now, signals.stop())?;
    print_import(cfg, &summary);
    if (notified(&summary) || summary.celebrations.queued > 0) && !signals.stop().requested() {
        // The admin's quarantine notices and the celebrations go out now, not with the
        // next job.
        let templates = pipeline::load_templates(cfg)?;
        let d = pipeline::deliver_outbox(cfg, &mut store, &templates, now, signals.stop())?;
        say!("  delivery: {} message(s) sent through {}, {} dead", d.sent.len(), d.transport, d.dead.len());
        print_dead(&d.dead);
        if let Some(r) = pipeline::report_dead_letters(cfg, &mut store, &templates, now, signals.stop())? {
            print_reported(&r);
        }
    }
    print_stopped(&signals, || pipeline::outbox_status(&store))?;
    Ok(signals.exit_status(if summary.quarantined() > 0 { 1 } else { 0 }))
}

/// After a stop by signal: says what was left for the next run (nothing when no
/// signal came).
pub(super) fn print_stopped(signals: &Signals, outbox: impl FnOnce() -> Result<OutboxStatus>) -> Result<()> {
    let Some((name, _)) = signals.received() else { return Ok(()) };
    let status = outbox()?;
    let left: u64 =
        status.counts.iter().filter(|(s, _)| matches!(*s, "pending" | "sending" | "failed")).map(|(_, n)| n).sum();
    say!(
        "stopped by {name}: {left} message(s) left in the outbox; the next `quotad run` or `quotad outbox retry` sends them (never twice)"
    );
    Ok(())
}

/// `quotad imports [--limit N]`: the latest import reports, newest first.
pub fn imports(cfg: &Config, limit: usize) -> Result<i32> {
    let store = pipeline::open_store_read_only(cfg)?;
    print_import_reports(cfg, &pipeline::import_reports(&store, limit)?, "");
    Ok(0)
}

/// Prints import reports (newest first), each line prefixed by `indent`: `quotad
/// imports` and `quotad status` share it.
pub fn print_import_reports(cfg: &Config, reports: &[ImportReport], indent: &str) {
    if reports.is_empty() {
        say!("{indent}No import reports yet: put files in {} and run `quotad import`", shown(&cfg.paths.inbox));
    }
    for r in reports {
        say!("{indent}#{} {} {}", r.id, r.at.format("%Y-%m-%d %H:%M UTC"), pipeline::report_line(r));
        for w in &r.warnings {
            say!("{indent}    warning: {w}");
        }
    }
}

fn notified(s: &ImportSummary) -> bool {
    s.files.iter().any(|f| matches!(&f.status, FileStatus::Quarantined { notified: Some(_), .. }))
}

fn job(job: Job) -> pipeline::Job {
    match job {
        Job::QuotaMemo => pipeline::Job::QuotaMemo,
        Job::WeeklyRanking => pipeline::Job::WeeklyRanking,
        Job::OneOnOne => pipeline::Job::OneOnOne,
        Job::All => pipeline::Job::All,
    }
}

/// `quotad run JOB [--period] [--week] [--ignore-quarantine]`.
#[allow(clippy::too_many_arguments)] // the command line's arguments, one each
pub fn run(
    cfg: &Config,
    job: Job,
    period: Option<Period>,
    corrections: bool,
    resend: bool,
    week: Option<IsoWeek>,
    ignore_quarantine: bool,
    now: DateTime<Utc>,
    if_locked: IfLocked,
) -> Result<i32> {
    let req = RunRequest { job: self::job(job), period, week, corrections, resend, ignore_quarantine, if_locked };
    let signals = Signals::listen()?;
    let mut status = 0;
    if let Some(note) = pipeline::language_note(cfg)? {
        say!("{note}");
    }
    pipeline::run_jobs(cfg, &req, now, signals.stop(), &mut |step| match step {
        Step::Import(summary) => {
            print_import(cfg, summary);
            if summary.quarantined() > 0 {
                status = 1;
            }
        }
        Step::Memo(memo) => {
            print_memo(cfg, memo);
            if !memo.failed.is_empty() || !memo.delivery.dead.is_empty() {
                status = 1;
            }
        }
        Step::Docs(s) => status = status.max(print_docs(cfg, s)),
        Step::Stopped(files) => {
            say!(
                "Nothing was sent: {} file(s) were quarantined by this import ({}), and the memos, ranking and 1:1 sheets would be built on the figures stored without them.",
                files.len(),
                files.join(", ")
            );
            say!(
                "  Fix each file (its error report is in {}) and put it in the inbox again, then run `quotad run all` again; or, to send on the figures stored now, `quotad run all --ignore-quarantine`.",
                shown(&cfg.paths.quarantine)
            );
            status = 1;
        }
        Step::Held(title, why) => {
            say!("{title}");
            say!("  not run: {why}; or run it with --ignore-quarantine");
            status = 1;
        }
        Step::Reported(r) => print_reported(r),
    })?;
    print_stopped(&signals, || pipeline::outbox_status(&pipeline::open_store(cfg)?))?;
    Ok(signals.exit_status(status))
}

/// Prints the unresolved quarantines for `quotad status` and `quotad quarantine list`.
pub fn print_quarantines(lines: &[String]) {
    if lines.is_empty() {
        say!("Unresolved quarantines: none");
        return;
    }
    say!("Unresolved quarantines (jobs whose figures they could change are held):");
    for l in lines {
        say!("  {l}");
    }
    say!(
        "  Fix and re-export each (a later file of the same source resolves it), or `quotad quarantine dismiss FILE`."
    );
}

/// `quotad quarantine list|dismiss FILE`.
pub fn quarantine(
    cfg: &Config,
    action: crate::cli::QuarantineAction,
    now: DateTime<Utc>,
    if_locked: IfLocked,
) -> Result<i32> {
    use crate::cli::QuarantineAction;
    match action {
        QuarantineAction::List => {
            let store = pipeline::open_store_read_only(cfg)?;
            print_quarantines(&pipeline::unresolved_quarantines(&store)?);
        }
        QuarantineAction::Dismiss { file } => {
            let _lock = pipeline::lock_state(cfg, if_locked)?;
            let store = pipeline::open_store(cfg)?;
            for l in pipeline::dismiss_quarantine(cfg, &store, &file, now)? {
                say!("dismissed: {l}");
            }
            say!("  jobs no longer wait for it; nothing from it was stored");
        }
    }
    Ok(0)
}

/// `quotad preview JOB --out DIR [--rep] [--period] [--week]`: PDFs only, nothing sent.
#[allow(clippy::too_many_arguments)]
pub fn preview(
    cfg: &Config,
    job: PreviewJob,
    out: &std::path::Path,
    rep: Option<&str>,
    period: Option<Period>,
    week: Option<IsoWeek>,
    channel: Option<&str>,
    now: DateTime<Utc>,
) -> Result<i32> {
    let job = match job {
        PreviewJob::Celebrations => {
            let s = pipeline::preview_celebrations(cfg, out, period, channel, now)?;
            return Ok(print_docs(cfg, &s));
        }
        PreviewJob::QuotaMemo => Job::QuotaMemo,
        PreviewJob::WeeklyRanking => Job::WeeklyRanking,
        PreviewJob::OneOnOne => Job::OneOnOne,
    };
    let s = pipeline::preview(cfg, self::job(job), out, rep, period, week, channel, now)?;
    Ok(print_docs(cfg, &s))
}

fn print_docs(cfg: &Config, s: &DocsSummary) -> i32 {
    say!("{}", s.title);
    if let Some(none) = &s.no_data {
        // Nothing to rank: no all-zero PDF, nobody e-mailed.
        say!("  {none}");
        return 1;
    }
    let total: usize = s.files.iter().map(|f| f.2).sum();
    if !s.files.is_empty() || s.chat_previews.is_empty() {
        say!("  {} PDF(s) written ({} KB in all)", s.files.len(), total.div_ceil(1024));
    }
    for (path, pages, bytes) in s.files.iter().take(3) {
        say!("    {} ({pages} page{}, {} KB)", shown(path), if *pages == 1 { "" } else { "s" }, bytes.div_ceil(1024));
    }
    if s.files.len() > 3 {
        let dir = s.files[3].0.parent().map(shown).unwrap_or_default();
        say!("    … and {} more in {dir}", s.files.len() - 3);
    }
    if let Some((first, _)) = s.workbooks.first() {
        let total: usize = s.workbooks.iter().map(|w| w.1).sum();
        let dir = first.parent().map(shown).unwrap_or_default();
        say!(
            "  {} deals workbook(s) written beside them in {dir} ({} KB in all)",
            s.workbooks.len(),
            total.div_ceil(1024)
        );
    }
    for p in &s.chat_previews {
        say!("    {} (the chat post, not sent)", shown(p));
    }
    for (font, chars) in &s.fallback_fonts {
        let mut shown: String = chars.iter().take(40).collect();
        if chars.len() > 40 {
            shown.push('…');
        }
        say!("  drawn in the fallback font {font}: {shown}");
    }
    for m in &s.missing_glyphs {
        say!(
            "  characters no font has, drawn as \u{FFFD} (install a font that has them, or name one in pdf.fallback_fonts): {m}"
        );
    }
    let d = &s.delivery;
    if s.sent + s.already_sent + s.dead_earlier + s.failed.len() + d.dead.len() > 0 {
        // Where they went as the transport says it ("SMTP host:587 (STARTTLS)", or the
        // outbox folder); a preview delivers nothing.
        let place = match pipeline::smtp_route(cfg) {
            Some(_) if !d.transport.is_empty() => format!("sent through {}", d.transport),
            _ => format!("written to {}", shown(&s.outbox)),
        };
        let dead = if d.dead.is_empty() { String::new() } else { format!(", {} dead letter(s)", d.dead.len()) };
        say!("  {} message(s) {place}{dead}, {} already sent earlier (not sent again)", s.sent, s.already_sent);
    }
    if s.dead_earlier > 0 {
        say!(
            "  {} dead letter(s) from an earlier run left alone (`quotad outbox retry` sends them again)",
            s.dead_earlier
        );
    }
    for k in &s.skipped {
        say!("  skipped: {k}");
    }
    for f in &s.failed {
        say!("  FAILED: {f}");
    }
    print_delivery(d, s.sent);
    i32::from(!s.failed.is_empty() || !d.dead.is_empty())
}

fn print_import(cfg: &Config, s: &ImportSummary) {
    say!("Import from {}", shown(&cfg.paths.inbox));
    if s.files.is_empty() && s.left.is_empty() {
        say!("  (no files in the inbox)");
    }
    for f in &s.files {
        match &f.status {
            FileStatus::Imported { rejects, sheet, notes, report, .. } => {
                let sheet = if sheet.is_empty() { String::new() } else { format!(", sheet '{sheet}'") };
                say!("  imported     {} [{}{sheet}]: {}", f.file, f.source, f.status.counts().unwrap_or_default());
                if let Some(r) = &f.report {
                    let periods = match (r.periods.first(), r.periods.last()) {
                        (Some(a), Some(b)) if a == b => format!(", period {a}"),
                        (Some(a), Some(b)) => format!(", {} periods {a} .. {b}", r.periods.len()),
                        _ => String::new(),
                    };
                    say!(
                        "               {} row(s) read, {} stored, {} rejected{periods}",
                        r.rows_read,
                        r.rows_stored,
                        r.rows_rejected
                    );
                }
                for n in notes {
                    say!("               note: {n}");
                }
                for r in rejects.iter().take(5) {
                    say!("               rejected {r}");
                }
                if let Some(p) = report {
                    say!("               all rejected rows: {}", shown(p));
                }
            }
            FileStatus::AlreadyImported { import_id, at } => {
                say!(
                    "  unchanged    {} [{}]: same content as import #{import_id} of {}",
                    f.file,
                    f.source,
                    at.format("%Y-%m-%d %H:%M UTC")
                )
            }
            FileStatus::Quarantined { reason, report, notified } => {
                say!("  QUARANTINED  {} [{}]: {reason}", f.file, f.source);
                say!("               report: {}", shown(report));
                if let Some(admin) = notified {
                    say!("               the admin ({admin}) is e-mailed the report");
                }
            }
            FileStatus::ClaimedElsewhere => {
                say!("  elsewhere    {} [{}]: another quotad serve instance imports it", f.file, f.source)
            }
            FileStatus::Unmatched => {
                say!("  not matched  {}: no source's `files` pattern matches it; left in the inbox", f.file)
            }
        }
    }
    for name in &s.left {
        say!("  stopped      {name}: not looked at (stopping); left in the inbox for the next import");
    }
    say!(
        "  {} file(s) imported, {} row(s) stored, {} row(s) rejected, {} file(s) quarantined",
        s.imported(),
        s.rows_stored(),
        s.rows_rejected(),
        s.quarantined()
    );
    if let Some(line) = celebrations_line(&s.celebrations) {
        say!("  {line}");
    }
}

/// What an import queued for the chat channels, in one line (`None` when no channel
/// posts celebrations or nothing was imported).
pub(super) fn celebrations_line(c: &pipeline::CelebrationsQueued) -> Option<String> {
    let month = c.month?;
    Some(match &c.held {
        Some(why) => format!("celebrations of {month}: not posted, {why}"),
        None => format!("celebrations of {month}: {} new post(s) to the chat channels", c.queued),
    })
}

fn print_memo(cfg: &Config, m: &MemoSummary) {
    let period = m.period.map(|p| format!("{} ({p})", p.label())).unwrap_or_default();
    say!("Quota memo for {period}");
    if let Some(w) = &m.waiting {
        say!("  nothing sent yet: {w}");
        return;
    }
    if let Some(p) = &m.preliminary {
        say!("  note: {p}");
    }
    if let Some(h) = &m.held {
        print_held(h);
        for s in &m.skipped {
            say!("  skipped: {s}");
        }
        for f in &m.failed {
            say!("  FAILED: {f}");
        }
        print_delivery(&m.delivery, 0);
        return;
    }
    let place = match pipeline::smtp_route(cfg) {
        None => format!("written to {}", shown(&m.outbox)),
        Some(_) => format!("sent through {}", m.delivery.transport),
    };
    say!(
        "  {} rep memo(s) and {} manager memo(s) {place}, {} correction(s), {} already sent earlier (not sent again)",
        m.sent,
        m.managers,
        m.corrections,
        m.already_sent
    );
    if m.resend > 0 {
        say!("  {} of them sent again on request (--resend), each with a new Message-ID", m.resend);
    }
    if m.unfinished_earlier > 0 {
        say!("  {} recorded by an earlier, unfinished run and delivered as recorded", m.unfinished_earlier);
    }
    if m.dead_earlier > 0 {
        say!(
            "  {} dead letter(s) from an earlier run left alone (`quotad outbox retry` sends them again)",
            m.dead_earlier
        );
    }
    for s in &m.skipped {
        say!("  skipped: {s}");
    }
    for f in &m.failed {
        say!("  FAILED: {f}");
    }
    if !m.unmatched.is_empty() {
        say!("  not on the roster (their figures are in no memo): {}", m.unmatched.join("; "));
    }
    print_delivery(&m.delivery, m.sent + m.managers + m.corrections);
}

/// A run held for approval: what is held, the digest, the deadline, how to approve.
pub(super) fn print_held(h: &pipeline::HeldRun) {
    say!(
        "  {} message(s) HELD for approval (token {}), held since {}",
        h.messages,
        h.token,
        h.since.format("%Y-%m-%d %H:%M UTC")
    );
    if let Some(old) = &h.replaced {
        say!("  the figures changed since digest {old}: that token is void");
    }
    if h.digest_to.is_empty() {
        say!("  unchanged since the digest already sent: nothing new sent to the approvers");
    } else {
        say!("  digest sent to {}", h.digest_to.join(", "));
    }
    if let Some(d) = h.deadline {
        say!("  deadline {}", d.format("%Y-%m-%d %H:%M UTC"));
    }
    say!("  approve: {}", h.approve_command);
}

/// The delivery lines shared by `run` and `outbox retry`; `counted` messages were
/// already reported by the caller. Dead letters — messages that failed for good — are
/// counted, listed (the first ten) and followed by how to send them again.
pub(super) fn print_delivery(d: &Delivery, counted: usize) {
    if d.sent.len() > counted {
        say!("  {} other queued message(s) delivered through {}", d.sent.len() - counted, d.transport);
    }
    if !d.interrupted.is_empty() {
        say!(
            "  {} message(s) had been interrupted by a crash mid-send and were sent again with the same Message-ID (see README \"Delivery\")",
            d.interrupted.len()
        );
    }
    if d.retried > 0 {
        say!("  {} failed attempt(s) retried", d.retried);
    }
    print_dead(&d.dead);
}

/// How many of the shown dead letters are listed one by one.
const DEAD_SHOWN: usize = 10;

/// "N dead letter(s)" with the first [`DEAD_SHOWN`] keys and errors, and how to send
/// them again; nothing when `dead` is empty.
pub(super) fn print_dead(dead: &[(String, String)]) {
    if dead.is_empty() {
        return;
    }
    say!(
        "  {} dead letter(s): failed for good, not tried again; `quotad outbox retry` sends them again once the cause is fixed",
        dead.len()
    );
    for (key, error) in dead.iter().take(DEAD_SHOWN) {
        say!("  DEAD LETTER {key}: {error}");
    }
    if dead.len() > DEAD_SHOWN {
        say!("  … and {} more: `quotad outbox list --state dead`", dead.len() - DEAD_SHOWN);
    }
}

/// The end of a run's output: the one notice the admin got about its dead letters.
pub(super) fn print_reported(r: &pipeline::DeadLetterReport) {
    if r.delivered {
        say!("{} dead letter(s) reported to {} (one notice)", r.letters, r.admin);
    } else {
        say!(
            "{} dead letter(s) to report to {}, but the notice was not delivered: `quotad outbox list` shows it, `quotad outbox retry` sends it",
            r.letters,
            r.admin
        );
    }
}
