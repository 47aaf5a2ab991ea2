//! Quarantine holds (issue 15.1): no job runs on inputs that failed to import. A
//! quarantined file stays *unresolved* until a later file of the same source is
//! imported or the admin dismisses it (`quotad quarantine dismiss FILE`); while it is,
//! every job whose figures it could change is held — `run` refuses it (unless
//! `--ignore-quarantine`), the calendar waits for it up to the job's deadline and then
//! skips it. May import `store` (the import reports), `config`, `domain` and
//! `schedule` (the job kinds and their targets).

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::Write as _;

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::domain::Period;
use crate::schedule::{JobKind, Target};
use crate::store::{ImportReport, Store};

/// The months whose figures a job reports on: the quota memo for month M states M's
/// quotas and M−1's results; the weekly ranking its week's month to date; the 1:1
/// sheets their month.
pub fn job_periods(job: JobKind, target: Target) -> Vec<Period> {
    match (job, target) {
        (JobKind::QuotaMemo, Target::Month(p)) => vec![p.prev(), p],
        (_, Target::Month(p)) => vec![p],
        (_, Target::Week(w)) => vec![Period::of(w.sunday())],
    }
}

/// Whether quarantined file `q` could change the figures of any month in `periods`: a
/// roster changes every month (who is active, in which team); a file whose months are
/// unknown (unreadable, or no row good enough to date) could change any month; any
/// other file, the months its readable rows fall in.
fn could_change(q: &ImportReport, periods: &[Period]) -> bool {
    q.kind == "roster" || q.periods.is_empty() || q.periods.iter().any(|p| periods.contains(p))
}

/// One quarantine as a hold reason: "deals-2026-10.csv [deals] was quarantined
/// 2026-11-01 12:30 UTC (REASON) and could change 2026-10".
fn describe(q: &ImportReport) -> String {
    let months = if q.kind == "roster" {
        "every month (a roster)".to_string()
    } else if q.periods.is_empty() {
        "any month (its months are unknown)".to_string()
    } else {
        q.periods.iter().map(Period::to_string).collect::<Vec<_>>().join(", ")
    };
    format!(
        "{} [{}] was quarantined {} ({}) and could change {months}",
        q.file_name,
        q.source,
        q.at.format("%Y-%m-%d %H:%M UTC"),
        q.reason.as_deref().unwrap_or("rejected")
    )
}

/// Why a job on `periods` is held, or `None`: the unresolved quarantines that could
/// change those months' figures, each named with what to do about it. The text starts
/// "held: " and is one line.
///
/// Errors: the state database cannot be read.
pub fn quarantine_hold(store: &Store, periods: &[Period]) -> Result<Option<String>> {
    let held: Vec<ImportReport> =
        store.unresolved_quarantines()?.into_iter().filter(|q| could_change(q, periods)).collect();
    if held.is_empty() {
        return Ok(None);
    }
    let mut text = format!("held: {}", held.iter().map(describe).collect::<Vec<_>>().join("; "));
    let names: Vec<&str> = held.iter().map(|q| q.file_name.as_str()).collect();
    let _ = write!(
        text,
        ". Fix the file and put it in the inbox again (its error report is in the quarantine folder), or, if it should not count, run `quotad quarantine dismiss {}`",
        names.join("` / `quotad quarantine dismiss ")
    );
    Ok(Some(text))
}

/// The unresolved quarantines, oldest first, each as a line for `quotad status`.
///
/// Errors: the state database cannot be read.
pub fn unresolved_quarantines(store: &Store) -> Result<Vec<String>> {
    Ok(store.unresolved_quarantines()?.iter().map(describe).collect())
}

/// Appends `line` to the error report beside the quarantined copy of `file`
/// (`paths.quarantine/FILE.errors.txt`), so the folder says it is resolved. Best
/// effort: a missing report is left missing.
fn mark_report(cfg: &Config, file: &str, line: &str) {
    let path = cfg.paths.quarantine.join(format!("{file}.errors.txt"));
    if !path.exists() {
        return;
    }
    if let Ok(mut f) = OpenOptions::new().append(true).open(&path) {
        let _ = writeln!(f, "\n{line}");
    }
}

/// After `name` (source `source`, rows in `periods`) was stored as import `import_id`:
/// resolves the unresolved quarantines of that source that it stands in for — those
/// whose months it overlaps, and any whose months are unknown (a roster, an unreadable
/// file; likewise when this file's months are unknown) — marks each quarantined copy's
/// error report resolved, and returns one note per quarantine for the import report.
/// A September re-export does not resolve a quarantined October export.
pub(super) fn resolve_by_import(
    cfg: &Config,
    store: &Store,
    source: &str,
    name: &str,
    periods: &[Period],
    import_id: i64,
    now: DateTime<Utc>,
) -> Result<Vec<String>> {
    let resolution = format!("{name} (source \"{source}\") was imported as import #{import_id}");
    let mut notes = Vec::new();
    for q in store.unresolved_quarantines()? {
        let stands_in = q.periods.is_empty() || periods.is_empty() || q.periods.iter().any(|p| periods.contains(p));
        if q.source != source || !stands_in {
            continue;
        }
        store.resolve_quarantine(q.id, now, &resolution)?;
        mark_report(
            cfg,
            &q.file_name,
            &format!(
                "RESOLVED {}: {resolution}; this quarantined copy no longer holds any job.",
                now.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
            ),
        );
        // One note per file name (the same bad file dropped twice is quarantined twice).
        let note = format!("resolves the quarantine of {}: jobs no longer wait for it", q.file_name);
        if !notes.contains(&note) {
            notes.push(note);
        }
    }
    Ok(notes)
}

/// A file just quarantined (report `q`) that is the same bad file seen before (same
/// source, name and reason — with `after_import = "keep"` it stays in the inbox and is
/// read again on every pass) keeps that earlier quarantine's resolution: a dismissed or
/// superseded file does not hold the jobs again. Returns whether it was resolved so.
pub(super) fn inherit_resolution(cfg: &Config, store: &Store, q: &ImportReport, now: DateTime<Utc>) -> Result<bool> {
    let Some(reason) = q.reason.as_deref() else { return Ok(false) };
    let Some(prev) = store.previous_quarantine(q.id, &q.source, &q.file_name, reason)? else { return Ok(false) };
    let (Some(_), Some(how)) = (prev.resolved_at, prev.resolution.as_deref()) else { return Ok(false) };
    let how = format!("the same file was quarantined before and {how}");
    store.resolve_quarantine(q.id, now, &how)?;
    mark_report(
        cfg,
        &q.file_name,
        &format!("RESOLVED {}: {how}.", now.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)),
    );
    Ok(true)
}

/// `quotad quarantine dismiss FILE`: the admin decides the quarantined file `file`
/// should not count; its unresolved quarantines are resolved (dismissed) at `now` and
/// its error report says so. Returns the lines dismissed (one per quarantine).
///
/// Errors: no unresolved quarantine has that file name (the message lists the
/// unresolved ones); the state database.
pub fn dismiss_quarantine(cfg: &Config, store: &Store, file: &str, now: DateTime<Utc>) -> Result<Vec<String>> {
    let when = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
    let dismissed: Vec<ImportReport> =
        store.unresolved_quarantines()?.into_iter().filter(|q| q.file_name == file).collect();
    for q in &dismissed {
        store.resolve_quarantine(q.id, now, &format!("dismissed by the admin at {when}"))?;
    }
    if dismissed.is_empty() {
        let open: Vec<String> = store.unresolved_quarantines()?.into_iter().map(|q| q.file_name).collect();
        bail!(
            "no unresolved quarantine of {file}: {}",
            if open.is_empty() {
                "there are none (`quotad status` lists them)".to_string()
            } else {
                format!("the unresolved ones are {}", open.join(", "))
            }
        );
    }
    mark_report(
        cfg,
        file,
        &format!(
            "DISMISSED {when}: by `quotad quarantine dismiss`; this file no longer holds any job, and nothing from it was stored."
        ),
    );
    Ok(dismissed.iter().map(describe).collect())
}
