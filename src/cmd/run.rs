//! `quotad import` and `quotad run JOB`.

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::{lock_state, open_store, shown};
use crate::cli::Job;
use crate::config::Config;
use crate::domain::Period;
use crate::pipeline::{self, FileStatus, ImportSummary, MemoSummary};
use crate::report::Templates;

/// `quotad import`.
pub fn import_only(cfg: &Config, now: DateTime<Utc>) -> Result<i32> {
    let _lock = lock_state(cfg)?;
    let mut store = open_store(cfg)?;
    let summary = pipeline::import(cfg, &mut store, now)?;
    print_import(cfg, &summary);
    Ok(if summary.quarantined() > 0 { 1 } else { 0 })
}

/// `quotad run JOB [--period]`.
pub fn run(cfg: &Config, job: Job, period: Option<Period>, corrections: bool, now: DateTime<Utc>) -> Result<i32> {
    let templates = Templates::load(cfg.paths.templates.as_deref())?;
    let _lock = lock_state(cfg)?;
    let mut store = open_store(cfg)?;
    let mut status = 0;
    if job == Job::All {
        let summary = pipeline::import(cfg, &mut store, now)?;
        print_import(cfg, &summary);
        if summary.quarantined() > 0 {
            status = 1;
        }
    }
    let period = match period {
        Some(p) => p,
        None => pipeline::default_memo_period(&store)?,
    };
    let memo = pipeline::quota_memo(cfg, &store, &templates, period, corrections, now)?;
    print_memo(&memo);
    if !memo.failed.is_empty() {
        status = 1;
    }
    Ok(status)
}

fn print_import(cfg: &Config, s: &ImportSummary) {
    say!("Import from {}", shown(&cfg.paths.inbox));
    if s.files.is_empty() {
        say!("  (no files in the inbox)");
    }
    for f in &s.files {
        match &f.status {
            FileStatus::Imported { stats, rejects, sheet, notes, report } => {
                let sheet = if sheet.is_empty() { String::new() } else { format!(", sheet '{sheet}'") };
                let older = if stats.older > 0 {
                    format!(", {} older than stored (a later export already loaded; ignored)", stats.older)
                } else {
                    String::new()
                };
                say!(
                    "  imported     {} [{}{sheet}]: {} new, {} superseded, {} unchanged, {} rejected{older}",
                    f.file,
                    f.source,
                    stats.inserted,
                    stats.superseded,
                    stats.unchanged,
                    rejects.len()
                );
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
            FileStatus::Quarantined { reason, report } => {
                say!("  QUARANTINED  {} [{}]: {reason}", f.file, f.source);
                say!("               report: {}", shown(report));
            }
            FileStatus::Unmatched => {
                say!("  not matched  {}: no source's `files` pattern matches it; left in the inbox", f.file)
            }
        }
    }
    say!(
        "  {} file(s) imported, {} row(s) stored, {} row(s) rejected, {} file(s) quarantined",
        s.imported(),
        s.rows_stored(),
        s.rows_rejected(),
        s.quarantined()
    );
}

fn print_memo(m: &MemoSummary) {
    let period = m.period.map(|p| format!("{} ({p})", p.label())).unwrap_or_default();
    say!("Quota memo for {period}");
    if let Some(w) = &m.waiting {
        say!("  nothing sent yet: {w}");
        return;
    }
    if let Some(p) = &m.preliminary {
        say!("  note: {p}");
    }
    say!(
        "  {} rep memo(s) and {} manager memo(s) written to {}, {} correction(s), {} already sent earlier (not sent again)",
        m.sent,
        m.managers,
        shown(&m.outbox),
        m.corrections,
        m.already_sent
    );
    for s in &m.skipped {
        say!("  skipped: {s}");
    }
    for f in &m.failed {
        say!("  FAILED: {f}");
    }
    if !m.unmatched.is_empty() {
        say!("  not on the roster (their figures are in no memo): {}", m.unmatched.join("; "));
    }
}
