//! Pipeline: the one place that knows the order ingest -> store -> metrics -> report ->
//! deliver. Each function here is one job step; `cmd` (and later `schedule`) call them
//! with a loaded [`Config`], an open [`Store`] and the current time `now` (the clock is
//! passed in, never read here).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::config::{AfterImport, Config};
use crate::deliver::{self, FailureClass, Outgoing, Queued};
use crate::domain::Period;
use crate::ingest::{self, Records, SourceKind};
use crate::metrics;
use crate::report::{self, Templates};
use crate::store::{FailureOutcome, ImportReport, NewImport, OutboxEntry, OutboxRow, OutboxState, Store, StoreStats};
use chrono::Timelike;

/// What happened to one inbox file.
#[derive(Debug, Clone)]
pub enum FileStatus {
    /// Stored; rows rejected under the tolerance are listed in `rejects`.
    Imported {
        /// Rows stored, superseded, unchanged.
        stats: StoreStats,
        /// Rows rejected (not stored).
        rejects: Vec<ingest::Reject>,
        /// Sheet read ("" for CSV) and header row.
        sheet: String,
        /// Notes (totals rows skipped, duplicates, encoding).
        notes: Vec<String>,
        /// The rejected-rows report written beside the archived file, if any.
        report: Option<PathBuf>,
    },
    /// The same bytes were imported before; nothing changed.
    AlreadyImported {
        /// The earlier import's number.
        import_id: i64,
        /// When.
        at: DateTime<Utc>,
    },
    /// Rejected whole; the file and an error report are in quarantine.
    Quarantined {
        /// Why, in one line.
        reason: String,
        /// The report file.
        report: PathBuf,
        /// The admin address a notice with the report was queued to (`mail.admin`), if
        /// any; `None` also when this file's notice was queued before.
        notified: Option<String>,
    },
    /// The file matches no source's `files` patterns; left in the inbox.
    Unmatched,
}

/// One inbox file's outcome.
#[derive(Debug, Clone)]
pub struct FileOutcome {
    /// File name (no folder).
    pub file: String,
    /// Source name ("" when unmatched).
    pub source: String,
    /// What happened.
    pub status: FileStatus,
    /// The import report recorded for it (imported or quarantined files).
    pub report: Option<ImportReport>,
}

/// The result of an import pass.
#[derive(Debug, Clone, Default)]
pub struct ImportSummary {
    /// One entry per inbox file seen, in import order.
    pub files: Vec<FileOutcome>,
}

impl ImportSummary {
    /// Files stored by this pass.
    pub fn imported(&self) -> usize {
        self.files.iter().filter(|f| matches!(f.status, FileStatus::Imported { .. })).count()
    }
    /// Files rejected whole.
    pub fn quarantined(&self) -> usize {
        self.files.iter().filter(|f| matches!(f.status, FileStatus::Quarantined { .. })).count()
    }
    /// Rows stored (new + superseding) by this pass.
    pub fn rows_stored(&self) -> usize {
        self.files
            .iter()
            .map(|f| match &f.status {
                FileStatus::Imported { stats, .. } => stats.inserted + stats.superseded,
                _ => 0,
            })
            .sum()
    }
    /// Rows rejected in files that were imported, plus rows of quarantined files are not counted.
    pub fn rows_rejected(&self) -> usize {
        self.files
            .iter()
            .map(|f| match &f.status {
                FileStatus::Imported { rejects, .. } => rejected_rows(rejects),
                _ => 0,
            })
            .sum()
    }
}

fn rejected_rows(rejects: &[ingest::Reject]) -> usize {
    let mut rows: Vec<(&str, u32)> = rejects.iter().map(|r| (r.sheet.as_str(), r.row)).collect();
    rows.dedup();
    rows.len()
}

fn kind_order(k: SourceKind) -> u8 {
    match k {
        SourceKind::Roster => 0,
        SourceKind::Quotas => 1,
        SourceKind::Deals | SourceKind::Summary => 2,
    }
}

/// Imports every new file in the inbox: rosters first, then quotas, then deals, each in
/// file-name order. Each file is stored in one transaction or not at all; a file is
/// rejected whole (quarantined with a report) when it cannot be read or more than
/// `ingest.max_rejected_fraction` of its rows are bad. A bad file never stops the pass.
pub fn import(cfg: &Config, store: &mut Store, now: DateTime<Utc>) -> Result<ImportSummary> {
    import_where(cfg, store, now, &|_| true)
}

/// [`import`], for the inbox files whose name `wanted` accepts only (the daemon passes
/// the files that have settled; the others are left alone, not even listed).
pub fn import_where(
    cfg: &Config,
    store: &mut Store,
    now: DateTime<Utc>,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<ImportSummary> {
    let inbox = &cfg.paths.inbox;
    let entries = fs::read_dir(inbox).with_context(|| format!("cannot read the inbox folder {}", inbox.display()))?;
    let mut files: Vec<(u8, String, Option<&ingest::Source>)> = Vec::new();
    for e in entries {
        let e = e.with_context(|| format!("reading {}", inbox.display()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if !e.file_type().map(|t| t.is_file()).unwrap_or(false)
            || !crate::schedule::is_inbox_candidate(&name)
            || !wanted(&name)
        {
            continue;
        }
        let source = cfg.sources.iter().find(|s| s.matches(&name));
        files.push((source.map(|s| kind_order(s.kind)).unwrap_or(9), name, source));
    }
    files.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let mut summary = ImportSummary::default();
    let settings =
        ingest::Settings { today: Some(now.with_timezone(&cfg.org.time_zone).date_naive()), ..cfg.ingest.clone() };
    let known = store.import_fingerprints()?;
    let jobs: Vec<Option<(&ingest::Source, PathBuf)>> =
        files.iter().map(|(_, name, source)| source.map(|s| (s, inbox.join(name)))).collect();
    // One core stores (this thread), the others read. Each file in flight holds its whole
    // sheet (~200 MB at 85k rows), so memory grows with the readers: at most one file is
    // read ahead per reader.
    let readers = std::thread::available_parallelism().map_or(1, |n| n.get()).saturating_sub(1);
    read_ahead(
        jobs.len(),
        readers,
        |i| read_one(jobs[i].as_ref(), &settings, &known),
        |i, read| {
            let (_, name, source) = &files[i];
            let Some(source) = source else {
                summary.files.push(FileOutcome {
                    file: name.clone(),
                    source: String::new(),
                    status: FileStatus::Unmatched,
                    report: None,
                });
                return Ok(());
            };
            let (status, report) = import_one(cfg, store, source, &inbox.join(name), name, now, read)?;
            summary.files.push(FileOutcome { file: name.clone(), source: source.name.clone(), status, report });
            Ok(())
        },
    )?;
    Ok(summary)
}

/// One inbox file as read off the store's thread: its bytes' fingerprint and
/// modification time, and the parse (`None` when the same bytes were imported before
/// for this source, so there is nothing to parse).
struct ReadFile {
    sha: String,
    exported_at: Option<DateTime<Utc>>,
    parsed: Option<std::result::Result<ingest::Parsed, ingest::IngestError>>,
}

/// Reads and parses one file (pure: no store access). `known` holds the (source,
/// sha256) pairs imported before this pass began. `None` for an unmatched file.
fn read_one(
    job: Option<&(&ingest::Source, PathBuf)>,
    settings: &ingest::Settings,
    known: &std::collections::HashSet<(String, String)>,
) -> Option<Result<ReadFile>> {
    let (source, path) = job?;
    Some((|| {
        let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        // The CRM's export time is the file's modification time (DESIGN.md "As of").
        let exported_at = fs::metadata(path).and_then(|m| m.modified()).map(DateTime::<Utc>::from).ok();
        let sha: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        drop(bytes);
        let parsed =
            (!known.contains(&(source.name.clone(), sha.clone()))).then(|| ingest::read_file(path, source, settings));
        Ok(ReadFile { sha, exported_at, parsed })
    })())
}

/// Runs `read(i)` for every `i` in `0..n` on `workers` threads (none: all on the calling
/// thread, in turn), reading ahead of `store`, which gets each result on the calling
/// thread in index order. At most `workers` results are read (or being read) ahead of
/// the one being stored, which bounds memory to `workers + 1` parsed files; a `store`
/// error stops the readers and is returned, a panic in `read` is resumed on the
/// calling thread.
fn read_ahead<R: std::marker::Send>(
    n: usize,
    workers: usize,
    read: impl Fn(usize) -> R + Sync,
    mut store: impl FnMut(usize, R) -> Result<()>,
) -> Result<()> {
    use std::sync::{Condvar, Mutex};
    let workers = workers.min(n);
    if workers == 0 || n <= 1 {
        return (0..n).try_for_each(|i| store(i, read(i)));
    }
    struct State<R> {
        next: usize,
        taken: usize,
        stop: bool,
        done: Vec<Option<R>>,
    }
    let state = Mutex::new(State { next: 0, taken: 0, stop: false, done: (0..n).map(|_| None).collect() });
    let changed = Condvar::new();
    let lock = || state.lock().unwrap_or_else(|e| e.into_inner());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = {
                        let mut s = lock();
                        while !s.stop && s.next < n && s.next >= s.taken + workers {
                            s = changed.wait(s).unwrap_or_else(|e| e.into_inner());
                        }
                        if s.stop || s.next >= n {
                            return;
                        }
                        s.next += 1;
                        s.next - 1
                    };
                    // A panic is handed to the storing thread, which would otherwise wait for ever.
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read(i)));
                    lock().done[i] = Some(r);
                    changed.notify_all();
                }
            });
        }
        let mut result = Ok(());
        for i in 0..n {
            let r = {
                let mut s = lock();
                loop {
                    if let Some(r) = s.done[i].take() {
                        s.taken = i + 1;
                        break r;
                    }
                    s = changed.wait(s).unwrap_or_else(|e| e.into_inner());
                }
            };
            let r = r.unwrap_or_else(|panic| {
                lock().stop = true;
                changed.notify_all();
                std::panic::resume_unwind(panic)
            });
            changed.notify_all();
            result = store(i, r);
            if result.is_err() {
                lock().stop = true;
                changed.notify_all();
                break;
            }
        }
        result
    })
}

fn import_one(
    cfg: &Config,
    store: &mut Store,
    source: &ingest::Source,
    path: &Path,
    name: &str,
    now: DateTime<Utc>,
    read: Option<Result<ReadFile>>,
) -> Result<(FileStatus, Option<ImportReport>)> {
    let ReadFile { sha, exported_at, parsed } = read.context("an inbox file with a source was not read")??;
    let exported_at = exported_at.unwrap_or(now);
    if let Some(prev) = store.find_import(&source.name, &sha)? {
        if cfg.paths.after_import == AfterImport::Move {
            // Best effort: the content is stored either way.
            let _ = move_to(path, &cfg.paths.archive, name);
        }
        return Ok((FileStatus::AlreadyImported { import_id: prev.id, at: prev.imported_at }, None));
    }
    let mut report = ImportReport {
        at: now,
        file_name: name.to_string(),
        source: source.name.clone(),
        kind: source.kind.as_str().to_string(),
        ..Default::default()
    };
    // Not parsed ahead when the bytes were imported before this pass began; they were
    // not, so parse them now (cannot happen, as imports are never deleted; kept for safety).
    let parsed = parsed.unwrap_or_else(|| {
        let settings =
            ingest::Settings { today: Some(now.with_timezone(&cfg.org.time_zone).date_naive()), ..cfg.ingest.clone() };
        ingest::read_file(path, source, &settings)
    });
    let parsed = match parsed {
        Ok(p) => p,
        Err(e) => {
            report.reason = Some(e.to_string());
            return quarantine(cfg, store, path, name, &sha, source, report, &[], now);
        }
    };
    let bad = rejected_rows(&parsed.rejects);
    report.sheet = parsed.sheet.clone();
    report.header_row = parsed.header_row;
    report.rows_read = parsed.data_rows;
    report.rows_rejected = bad;
    report.periods = periods_of(&parsed.records);
    report.warnings = parsed.notes.clone();
    let total = parsed.data_rows.max(1);
    let fraction = rust_decimal::Decimal::from(bad) / rust_decimal::Decimal::from(total);
    if bad > 0 && fraction > cfg.max_rejected_fraction {
        let reason = format!(
            "{bad} of {} data rows rejected, more than ingest.max_rejected_fraction = {} allows",
            parsed.data_rows, cfg.max_rejected_fraction
        );
        report.reason = Some(reason);
        return quarantine(cfg, store, path, name, &sha, source, report, &parsed.rejects, now);
    }
    report.warnings.extend(identity_warnings(store, &parsed.records)?);
    if let Records::Roster(rows) = &parsed.records {
        report.warnings.extend(metrics::team_variants(rows));
    }
    let meta = NewImport {
        source: &source.name,
        kind: source.kind.as_str(),
        file_name: name,
        sha256: &sha,
        sheet: &parsed.sheet,
        rows_rejected: bad,
        now,
        exported_at,
    };
    let stats = match &parsed.records {
        Records::Deals(rows) => store.import_deals(&meta, rows)?,
        Records::Quotas(rows) => store.import_quotas(&meta, rows)?,
        Records::Roster(rows) => store.import_roster(&meta, rows)?,
    };
    let written = if parsed.rejects.is_empty() {
        None
    } else {
        let dir = match cfg.paths.after_import {
            AfterImport::Move => &cfg.paths.archive,
            AfterImport::Keep => &cfg.paths.quarantine,
        };
        let mut text = format!(
            "quotad imported {name} (source \"{}\", import #{}) at {} but rejected {bad} row(s); they were not stored:\n\n",
            source.name,
            stats.import_id,
            now.to_rfc3339()
        );
        for r in &parsed.rejects {
            let _ = writeln!(text, "  {r}");
        }
        text.push_str("\nCorrect these rows in the CRM and export again: a later export of the same Deal ID replaces the earlier one.\n");
        Some(write_report(dir, name, ".rejected-rows.txt", &text)?)
    };
    let mut notes = parsed.notes;
    notes.extend(report.warnings[notes.len()..].iter().cloned());
    report.import_id = Some(stats.import_id);
    report.new = stats.inserted;
    report.updated = stats.superseded;
    report.unchanged = stats.unchanged;
    report.superseded = stats.older;
    report.rows_stored = stats.inserted + stats.superseded;
    if cfg.paths.after_import == AfterImport::Move
        && let Err(e) = move_to(path, &cfg.paths.archive, name)
    {
        notes.push(format!("stored, but not moved to the archive ({e:#}); it stays in the inbox, and importing it again changes nothing"));
    }
    report.warnings = notes.clone();
    report.id = store.add_import_report(&report)?;
    tracing::info!("{}", report_line(&report));
    let status = FileStatus::Imported { stats, rejects: parsed.rejects, sheet: parsed.sheet, notes, report: written };
    Ok((status, Some(report)))
}

/// The months a file's rows fall in: deal close dates, quota months; none for a roster.
fn periods_of(records: &Records) -> Vec<Period> {
    let set: std::collections::BTreeSet<Period> = match records {
        Records::Deals(v) => v.iter().filter_map(|d| d.close_date).map(Period::of).collect(),
        Records::Quotas(v) => v.iter().map(|q| q.month).collect(),
        Records::Roster(_) => Default::default(),
    };
    set.into_iter().collect()
}

/// "name, name, name and 4 more" (at most `n` named).
fn some_of(names: &[String], n: usize) -> String {
    let shown: Vec<&str> = names.iter().take(n).map(String::as_str).collect();
    if names.len() > n { format!("{} and {} more", shown.join(", "), names.len() - n) } else { shown.join(", ") }
}

/// Identity (issue 7 point 5): how a deals, summary or quotas file's reps match the
/// stored roster — by rep id, else e-mail, else normalised name (trimmed, case-folded,
/// whitespace collapsed; see `metrics::Resolver`). Warns about reps matched by name
/// only, reps not on the roster, and (deals files) active roster reps with no row.
fn identity_warnings(store: &Store, records: &Records) -> Result<Vec<String>> {
    let reps: Vec<&crate::domain::RepRef> = match records {
        Records::Deals(v) => v.iter().map(|d| &d.rep).collect(),
        Records::Quotas(v) => v.iter().map(|q| &q.rep).collect(),
        Records::Roster(_) => return Ok(Vec::new()),
    };
    let roster = store.roster()?;
    let mut seen = std::collections::BTreeMap::new();
    for r in reps {
        seen.entry(r.key()).or_insert(r);
    }
    let what = if matches!(records, Records::Quotas(_)) { "quotas file" } else { "export" };
    if roster.is_empty() {
        return Ok(vec![format!(
            "no roster is stored yet: the {} rep(s) in this {what} cannot be matched to anyone (import the roster first)",
            seen.len()
        )]);
    }
    let resolver = metrics::Resolver::new(&roster);
    let (mut by_name, mut missing) = (Vec::new(), Vec::new());
    let mut matched = std::collections::BTreeSet::new();
    for r in seen.values() {
        match resolver.resolve(r) {
            Some(m) => {
                matched.insert(m.key());
                let by_id = r.id.is_some() && r.id == m.id;
                let by_email = r.email.is_some() && r.email == m.email;
                if !by_id && !by_email {
                    by_name.push(format!("'{}'", r.name.clone().unwrap_or_default()));
                }
            }
            None => missing.push(r.describe()),
        }
    }
    let mut out = Vec::new();
    if !by_name.is_empty() {
        out.push(format!(
            "{} rep(s) matched to the roster by name only (a rep id or e-mail column makes it certain): {}",
            by_name.len(),
            some_of(&by_name, 5)
        ));
    }
    if !missing.is_empty() {
        out.push(format!(
            "{} rep(s) in this {what} are not on the roster (their rows are stored, but in no memo or ranking): {}",
            missing.len(),
            some_of(&missing, 5)
        ));
    }
    if matches!(records, Records::Deals(_)) {
        let absent: Vec<String> =
            roster.iter().filter(|r| r.active && !matched.contains(&r.key())).map(|r| r.name.clone()).collect();
        if !absent.is_empty() {
            out.push(format!(
                "{} active roster rep(s) have no row in this export: {}",
                absent.len(),
                some_of(&absent, 5)
            ));
        }
    }
    Ok(out)
}

/// One line for the log: file, outcome, rows read / stored / rejected, new / updated /
/// unchanged / superseded, periods.
pub fn report_line(r: &ImportReport) -> String {
    let periods = match (r.periods.first(), r.periods.last()) {
        (Some(a), Some(b)) if a == b => format!("; period {a}"),
        (Some(a), Some(b)) => format!("; {} period(s) {a} .. {b}", r.periods.len()),
        _ => String::new(),
    };
    match &r.reason {
        Some(why) => format!(
            "{} [{}]: quarantined: {why}; {} row(s) read, {} rejected",
            r.file_name, r.source, r.rows_read, r.rows_rejected
        ),
        None => format!(
            "{} [{}]: {} row(s) read, {} stored, {} rejected; {} new, {} updated, {} unchanged, {} superseded{periods}; {} warning(s)",
            r.file_name,
            r.source,
            r.rows_read,
            r.rows_stored,
            r.rows_rejected,
            r.new,
            r.updated,
            r.unchanged,
            r.superseded,
            r.warnings.len()
        ),
    }
}

/// The newest `limit` import reports, newest first (issue 7: for `quotad imports` and
/// `quotad status`).
pub fn import_reports(store: &Store, limit: usize) -> Result<Vec<ImportReport>> {
    Ok(store.import_reports(limit)?)
}

fn write_report(dir: &Path, name: &str, suffix: &str, text: &str) -> Result<PathBuf> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(format!("{name}{suffix}"));
    fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// Moves a file into `dir`, adding `.1`, `.2`, … before the extension if the name is taken.
fn move_to(path: &Path, dir: &Path, name: &str) -> Result<PathBuf> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut target = dir.join(name);
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) => (s.to_string(), format!(".{e}")),
        None => (name.to_string(), String::new()),
    };
    let mut n = 1;
    while target.exists() {
        target = dir.join(format!("{stem}.{n}{ext}"));
        n += 1;
    }
    if fs::rename(path, &target).is_err() {
        fs::copy(path, &target).with_context(|| format!("cannot copy {} to {}", path.display(), target.display()))?;
        fs::remove_file(path).with_context(|| format!("cannot remove {}", path.display()))?;
    }
    Ok(target)
}

#[allow(clippy::too_many_arguments)]
fn quarantine(
    cfg: &Config,
    store: &mut Store,
    path: &Path,
    name: &str,
    sha: &str,
    source: &ingest::Source,
    mut import_report: ImportReport,
    rejects: &[ingest::Reject],
    now: DateTime<Utc>,
) -> Result<(FileStatus, Option<ImportReport>)> {
    let reason = import_report.reason.clone().unwrap_or_default();
    let q = &cfg.paths.quarantine;
    let mut text = format!(
        "quotad rejected {name} (source \"{}\", kind {}) at {}.\n\nReason: {reason}\n",
        source.name,
        source.kind.as_str(),
        now.to_rfc3339()
    );
    if !rejects.is_empty() {
        let _ = writeln!(text, "\nRejected rows:");
        for r in rejects {
            let _ = writeln!(text, "  {r}");
        }
    }
    text.push_str("\nNothing from this file was stored. Fix the file (or the column mapping in the config) and put it in the inbox again.\n");
    let report = write_report(q, name, ".errors.txt", &text)?;
    match cfg.paths.after_import {
        AfterImport::Move => {
            move_to(path, q, name)?;
        }
        AfterImport::Keep => {
            fs::copy(path, q.join(name))
                .with_context(|| format!("cannot copy {} to {}", path.display(), q.display()))?;
        }
    }
    import_report.id = store.add_import_report(&import_report)?;
    tracing::warn!("{}", report_line(&import_report));
    let notified = match &cfg.mail.admin {
        Some(admin) => {
            let view = report::QuarantineView {
                org: report::OrgView { name: cfg.org.name.clone() },
                file: name.to_string(),
                source: source.name.clone(),
                kind: source.kind.as_str().to_string(),
                reason: reason.clone(),
                rejects: rejects.iter().take(NOTICE_REJECTS).map(ToString::to_string).collect(),
                more: rejects.len().saturating_sub(NOTICE_REJECTS),
                report_name: format!("{name}.errors.txt"),
            };
            queue_quarantine_notice(cfg, store, admin, &view, sha, &text, now)?
        }
        None => None,
    };
    Ok((FileStatus::Quarantined { reason: reason.to_string(), report, notified }, Some(import_report)))
}

/// How many rejected rows the admin's quarantine notice lists inline (all of them are in
/// the attached report).
const NOTICE_REJECTS: usize = 20;

/// Queues one message to `admin` saying a file was quarantined (templates
/// `email/quarantine*`), with its first rejected rows inline and the whole error report
/// `text` attached, keyed `quarantine/SHA256-PREFIX/ADMIN/quarantine-notice` so that the
/// same bad content dropped again is not reported twice. Returns the address when queued.
fn queue_quarantine_notice(
    cfg: &Config,
    store: &Store,
    admin: &deliver::Mailbox,
    view: &report::QuarantineView,
    sha: &str,
    text: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    let name = &view.file;
    let to = admin.email.to_string();
    let to_name = admin.name.clone().unwrap_or_default();
    // Once per file name and content: the same bytes dropped again are not reported
    // twice, but another file (even one with the same bytes, e.g. empty) is.
    let period = format!("{name}-{}", &sha[..12.min(sha.len())]);
    let key = format!("quarantine/{period}/{to}/quarantine-notice");
    let sender = Sender::new(cfg, store, false, now);
    let mut failed = Vec::new();
    let make = || {
        let templates = Templates::load(cfg.paths.templates.as_deref())?;
        let mail = report::render_quarantine(&templates, view)?;
        let attachment = deliver::MailAttachment {
            file_name: view.report_name.clone(),
            content_type: "text/plain; charset=utf-8".into(),
            bytes: text.as_bytes().to_vec(),
        };
        Ok((mail, vec![attachment]))
    };
    let sent = sender.queue(&key, "quarantine", &period, "quarantine-notice", (&to_name, &to), make, &mut failed)?;
    if let Some(f) = failed.first() {
        tracing::warn!("the quarantine notice for {name} could not be built: {f}");
    }
    Ok(matches!(sent, Sent::Queued).then_some(to))
}

/// The default memo month: the month after the newest month with won or cancelled deals.
pub fn default_memo_period(store: &Store) -> Result<Period> {
    match store.latest_deal_month()? {
        Some(p) => Ok(p.next()),
        None => bail!(
            "no deals are stored yet: put a CRM export in the inbox and run `quotad import` (or pass --period YYYY-MM)"
        ),
    }
}

/// Computes the standings of each period in `periods` (DESIGN.md "Metrics") from
/// everything stored, as at `now`: the one path every memo, document and table takes.
pub fn standings(
    store: &Store,
    settings: &metrics::Settings,
    periods: &[Period],
    now: DateTime<Utc>,
) -> Result<Vec<crate::domain::MonthStandings>> {
    let Some(&latest) = periods.iter().max() else { return Ok(Vec::new()) };
    let loaded = Loaded::new(store, latest)?;
    let input = loaded.input();
    Ok(periods.iter().map(|p| metrics::month_standings(*p, &input, settings, now)).collect())
}

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

/// The key a resend uses to derive its own Message-ID: the key itself for the first
/// send, `KEY#resend-N` for the Nth resend (so a mail store that drops repeated
/// Message-IDs still shows a deliberate resend).
fn message_id_seed(key: &str, resends: u32) -> String {
    if resends == 0 { key.to_string() } else { format!("{key}#resend-{resends}") }
}

/// What queueing one message did.
enum Sent {
    /// Recorded in the outbox (a new key): delivered below.
    Queued,
    /// A key already sent, queued again on request (`--resend`).
    Resent,
    /// Its key was sent before: not sent again.
    Before,
    /// Recorded by an earlier run that did not finish: delivered as recorded.
    Unfinished,
    /// A dead letter from an earlier run, left alone (`quotad outbox retry`).
    Dead,
    /// The message could not be built (reported in `failed`).
    Failed,
}

/// Records messages in the outbox ledger, each with its idempotency key and a
/// Message-ID derived from it, before anything is sent; [`deliver_outbox`] then sends
/// what is due. A key already sent is never queued again unless `resend` is set
/// (DESIGN.md "Delivery").
struct Sender<'a> {
    cfg: &'a Config,
    store: &'a Store,
    resend: bool,
    now: DateTime<Utc>,
}

impl Sender<'_> {
    fn new<'a>(cfg: &'a Config, store: &'a Store, resend: bool, now: DateTime<Utc>) -> Sender<'a> {
        Sender { cfg, store, resend, now }
    }

    /// Queues the message with idempotency key `key` (job/period/recipient/kind),
    /// rendering it with `make` only if it is to be (re)queued; `facts` (rep key, JSON)
    /// are recorded with a new message for later corrections.
    #[allow(clippy::too_many_arguments)]
    fn send(
        &self,
        key: &str,
        job: &str,
        period: Period,
        kind: &str,
        to: (&str, &str),
        facts: Option<(&str, &str)>,
        make: impl FnOnce() -> Result<report::RenderedMail>,
        failed: &mut Vec<String>,
    ) -> Result<Sent> {
        let sent = self.queue(key, job, &period.to_string(), kind, to, || Ok((make()?, Vec::new())), failed)?;
        if let (Sent::Queued | Sent::Resent, Some((rep_key, json))) = (&sent, facts) {
            self.store.facts_add(key, job, period, rep_key, json, self.now)?;
        }
        Ok(sent)
    }

    /// Records one message (with attachments) in the outbox: the one place messages are
    /// built and queued. `period` is the period or occurrence ("2026-11", "2026-W43").
    #[allow(clippy::too_many_arguments)]
    fn queue(
        &self,
        key: &str,
        job: &str,
        period: &str,
        kind: &str,
        to: (&str, &str),
        make: impl FnOnce() -> Result<(report::RenderedMail, Vec<deliver::MailAttachment>)>,
        failed: &mut Vec<String>,
    ) -> Result<Sent> {
        let (to_name, to_email) = to;
        let existing = self.store.outbox_get(key)?;
        let resends = match &existing {
            Some(row) if row.state == OutboxState::Sent && self.resend => row.resends + 1,
            Some(row) if row.state == OutboxState::Sent => return Ok(Sent::Before),
            Some(row) if row.state == OutboxState::Dead => return Ok(Sent::Dead),
            Some(_) => return Ok(Sent::Unfinished),
            None => 0,
        };
        let (mail, attachments) = make()?;
        let message_id = deliver::message_id(&message_id_seed(key, resends), &self.cfg.mail.from);
        let out = Outgoing {
            to_name: to_name.to_string(),
            to_email: to_email.to_string(),
            subject: mail.subject.clone(),
            text: mail.text,
            html: mail.html,
            message_id: message_id.clone(),
            date: self.now,
            attachments,
        };
        let message = match deliver::build(&self.cfg.mail, &out) {
            Ok(m) => m,
            Err(e) => {
                failed.push(format!("{to_name}: {e}"));
                return Ok(Sent::Failed);
            }
        };
        let entry = OutboxEntry {
            idempotency_key: key.to_string(),
            job: job.into(),
            period: period.to_string(),
            recipient: to_email.to_string(),
            kind: kind.into(),
            message_id: message_id.trim_matches(['<', '>']).to_string(),
            subject: mail.subject,
            message,
        };
        if existing.is_some() {
            self.store.outbox_resend(&entry)?;
            return Ok(Sent::Resent);
        }
        self.store.outbox_add(&entry, self.now)?;
        Ok(Sent::Queued)
    }
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

/// The first-of-month quota memo (DESIGN.md: ESTABLISH) for `period`:
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
/// goes through the outbox ledger: a key already sent is never sent again.
pub fn quota_memo(
    cfg: &Config,
    store: &mut Store,
    templates: &Templates,
    period: Period,
    corrections: bool,
    resend: bool,
    now: DateTime<Utc>,
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
        finish(cfg, store, templates, period, &mut summary, now)?;
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
    finish(cfg, store, templates, period, &mut summary, now)?;
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
) -> Result<()> {
    let delivery = deliver_outbox(cfg, store, templates, now)?;
    let prefix = format!("quota-memo/{period}/");
    let ours = || delivery.sent.iter().filter(|k| k.starts_with(&prefix));
    summary.sent = ours().filter(|k| k.ends_with("/rep-memo")).count();
    summary.managers = ours().filter(|k| k.ends_with("/team-memo")).count();
    summary.corrections = ours().filter(|k| k.contains("/correction-") || k.contains("/team-correction-")).count();
    summary.delivery = delivery;
    Ok(())
}

/// What one delivery of the outbox did.
#[derive(Debug, Clone, Default)]
pub struct Delivery {
    /// Where messages went, e.g. "var/outbox" or "SMTP smtp.example.com:587 (STARTTLS)".
    pub transport: String,
    /// Keys accepted by the transport in this delivery, in order.
    pub sent: Vec<String>,
    /// Keys that became dead letters in this delivery, with their last error.
    pub dead: Vec<(String, String)>,
    /// Keys found in `sending` when the delivery started: a crash interrupted them
    /// between "sending" and "sent", so they were sent again with the same Message-ID
    /// (the server may have received them twice: README "Delivery").
    pub interrupted: Vec<String>,
    /// Failed attempts that were retried later in this delivery.
    pub retried: usize,
    /// The admin address told about dead letters in this delivery, if any.
    pub notified: Option<String>,
}

/// How many outbox rows delivery loads at once.
const DELIVERY_BATCH: usize = 32;

/// Delivers every message due in the outbox, oldest first, through the configured
/// transport (one SMTP connection for the batch), until each is `sent` or `dead`.
///
/// - Rows left `sending` by a crash are sent again first, with the same Message-ID.
/// - Each row is marked `sending` (committed) before its transaction and `sent` after
///   the server's 250 (or the file's rename).
/// - A failed attempt is retried after the backoff of `mail.retry_*`; when no session
///   can be opened (server down, silent, TLS or AUTH failing) every waiting row counts
///   one attempt and they wait together. After `mail.max_attempts` attempts, or at once
///   on a permanent (5xx) refusal, a row is `dead`; `mail.admin` then gets one message
///   listing the new dead letters.
///
/// This call sleeps through backoffs. Times recorded are `now` plus the time elapsed in
/// this call (monotonic), so they stay derived from the `now` passed in.
pub fn deliver_outbox(cfg: &Config, store: &mut Store, templates: &Templates, now: DateTime<Utc>) -> Result<Delivery> {
    let started = Instant::now();
    let clock = || now + chrono::Duration::from_std(started.elapsed()).unwrap_or_else(|_| chrono::Duration::zero());
    let _lock = delivery_lock(cfg)?;
    let mut transport = deliver::open(&cfg.mail, &cfg.paths.outbox).context("cannot deliver the outbox")?;
    let mut d = Delivery { transport: transport.describe(), ..Default::default() };
    d.interrupted = store.outbox_recover_interrupted()?;
    for key in &d.interrupted {
        tracing::warn!(
            "{key}: a crash interrupted its delivery after it was handed to {}; sending it again with the same Message-ID",
            d.transport
        );
    }
    let policy = cfg.mail.retry;
    loop {
        // A batch at a time: the messages carry their attachments.
        let due = store.outbox_due_first(clock(), DELIVERY_BATCH)?;
        if due.is_empty() {
            if let Some(admin) = &cfg.mail.admin
                && queue_dead_letter_notice(cfg, store, templates, admin, &d.transport, clock())?
            {
                d.notified = Some(admin.email.to_string());
                continue;
            }
            match store.outbox_next_retry()? {
                Some(at) => {
                    transport.close();
                    let wait = (at - clock()).to_std().unwrap_or_default();
                    tracing::info!("waiting {:.1} s for the next retry", wait.as_secs_f64());
                    let until = Instant::now() + wait;
                    while Instant::now() < until && !stop_requested() {
                        std::thread::sleep((until - Instant::now()).min(std::time::Duration::from_millis(100)));
                    }
                    if stop_requested() {
                        break;
                    }
                    continue;
                }
                None => break,
            }
        }
        if stop_requested() {
            break;
        }
        for (i, row) in due.iter().enumerate() {
            if stop_requested() {
                // Shutting down: the message in flight is finished; the rest stay
                // pending and go at the next start.
                tracing::info!("shutting down: {} message(s) left pending in the outbox", due.len() - i);
                break;
            }
            let e = &row.entry;
            // Wait for the rate limit and open the session before the row is marked
            // `sending`, so that `sending` covers only the transaction itself.
            let result = match transport.prepare() {
                Ok(()) => {
                    store.outbox_mark_sending(&e.idempotency_key, clock())?;
                    let name = file_name(row);
                    transport.send(&Queued { name: &name, recipient: &e.recipient, message: &e.message })
                }
                Err(err) => Err(err),
            };
            match result {
                Ok(()) => {
                    store.outbox_mark_sent(&e.idempotency_key, clock())?;
                    d.sent.push(e.idempotency_key.clone());
                }
                Err(err) => match err.class() {
                    FailureClass::Connection => {
                        // No session: nothing in this batch can go now. Every row left
                        // counts one attempt and waits for its backoff.
                        let left = &due[i..];
                        tracing::warn!(
                            "{err}; {} message(s) wait (attempt {} of {})",
                            left.len(),
                            row.attempts + 1,
                            policy.max_attempts
                        );
                        for r in left {
                            record_failure(store, &mut d, r, &err.to_string(), false, policy, clock())?;
                        }
                        break;
                    }
                    FailureClass::Transient => {
                        tracing::warn!(
                            "{}: {err} (attempt {} of {})",
                            e.idempotency_key,
                            row.attempts + 1,
                            policy.max_attempts
                        );
                        record_failure(store, &mut d, row, &err.to_string(), false, policy, clock())?;
                    }
                    FailureClass::Permanent => {
                        tracing::warn!("{}: {err}: permanent, not retried", e.idempotency_key);
                        record_failure(store, &mut d, row, &err.to_string(), true, policy, clock())?;
                    }
                },
            }
        }
    }
    transport.close();
    Ok(d)
}

/// One delivery at a time per state database: another process delivering would take
/// this one's in-flight message (`sending`) for a crash leftover and send it again. An
/// exclusive lock on `<state>.deliver-lock`, released when the process ends, however
/// it ends.
fn delivery_lock(cfg: &Config) -> Result<fs::File> {
    let path = cfg.paths.state.with_extension("deliver-lock");
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open the delivery lock {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => bail!(
            "another quotad is delivering from {} (it holds {}); run this again when it has finished",
            cfg.paths.state.display(),
            path.display()
        ),
        Err(fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("cannot lock {}", path.display())),
    }
}

/// The file transport's name for a row: `JOB_PERIOD_KIND_RECIPIENT`, made
/// filesystem-safe and unique, with `_resend-N` for the Nth resend.
fn file_name(row: &OutboxRow) -> String {
    let e = &row.entry;
    let base = format!("{}_{}_{}_{}", e.job, e.period, e.kind, e.recipient);
    let base = if row.resends == 0 { base } else { format!("{base}_resend-{}", row.resends) };
    deliver::safe_name(&base, &e.idempotency_key)
}

fn record_failure(
    store: &Store,
    d: &mut Delivery,
    row: &OutboxRow,
    error: &str,
    permanent: bool,
    policy: deliver::RetryPolicy,
    now: DateTime<Utc>,
) -> Result<()> {
    let made = row.attempts + 1;
    let outcome = match policy.backoff(made) {
        Some(wait) if !permanent => FailureOutcome::RetryAt(now + chrono::Duration::from_std(wait)?),
        _ => FailureOutcome::Dead,
    };
    let key = &row.entry.idempotency_key;
    store.outbox_mark_failed(key, error, outcome, now)?;
    match outcome {
        FailureOutcome::RetryAt(_) => d.retried += 1,
        FailureOutcome::Dead => {
            tracing::warn!("{key}: dead letter after {made} attempt(s): {error}");
            d.dead.push((key.clone(), error.to_string()));
        }
    }
    Ok(())
}

/// Queues one message to `admin` listing the dead letters not yet notified (the
/// notices themselves excluded); returns false when there are none.
fn queue_dead_letter_notice(
    cfg: &Config,
    store: &mut Store,
    templates: &Templates,
    admin: &deliver::Mailbox,
    transport: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let dead = store.outbox_dead_unnotified()?;
    if dead.is_empty() {
        return Ok(false);
    }
    let letters = dead
        .iter()
        .map(|r| report::DeadLetterView {
            recipient: r.entry.recipient.clone(),
            subject: r.entry.subject.clone(),
            key: r.entry.idempotency_key.clone(),
            attempts: r.attempts,
            created_at: r.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            last_error: r.last_error.clone().unwrap_or_default(),
        })
        .collect();
    let mail =
        report::render_dead_letters(templates, &report::DeadLettersView::new(&cfg.org.name, transport, letters))?;
    let stamp = now.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let to = admin.email.to_string();
    let key = format!("dead-letters/{stamp}/{to}/admin-notice");
    let message_id = deliver::message_id(&key, &cfg.mail.from);
    let out = Outgoing {
        to_name: admin.name.clone().unwrap_or_default(),
        to_email: to.clone(),
        subject: mail.subject.clone(),
        text: mail.text,
        html: mail.html,
        message_id: message_id.clone(),
        date: now,
        attachments: Vec::new(),
    };
    let message =
        deliver::build(&cfg.mail, &out).with_context(|| format!("building the dead-letter notice to {to}"))?;
    let entry = OutboxEntry {
        idempotency_key: key,
        job: "dead-letters".into(),
        period: stamp,
        recipient: to,
        kind: "admin-notice".into(),
        message_id: message_id.trim_matches(['<', '>']).to_string(),
        subject: mail.subject,
        message,
    };
    let listed: Vec<String> = dead.iter().map(|r| r.entry.idempotency_key.clone()).collect();
    store.outbox_add_notice(&entry, &listed, now)?;
    Ok(true)
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

/// Everything stored that [`metrics`] reads, loaded once for several computations: the
/// roster versions, quotas and export times whole; the deal history streamed into a
/// [`metrics::Rollup`] (sums per month and rep, so memory does not grow with the rows
/// stored); and the rows of the latest month only, for month to date and row lists.
pub struct Loaded {
    roster: Vec<crate::domain::RosterVersion>,
    rows: Vec<crate::domain::DealRow>,
    rollup: metrics::Rollup,
    quotas: Vec<crate::domain::QuotaRow>,
    exports: Vec<(Period, DateTime<Utc>)>,
}

impl Loaded {
    /// Loads every month up to `latest` (inclusive); `latest`'s deal rows are kept row by
    /// row.
    pub fn new(store: &Store, latest: Period) -> Result<Loaded> {
        let earliest = Period::new(1900, 1).expect("a valid month");
        let mut rollup = metrics::Rollup::default();
        let mut rows = Vec::new();
        // Table order: the rollup does not depend on it; the latest month's rows are
        // put in stored order after.
        store.for_each_deal(earliest, latest, false, |d| {
            rollup.add(&d);
            if d.close_date.is_some_and(|c| Period::of(c) == latest) {
                rows.push(d);
            }
        })?;
        rows.sort_by_cached_key(|d| (d.close_date, d.deal_id.clone(), d.event().as_str(), d.rep.key()));
        Ok(Loaded {
            roster: store.roster_versions()?,
            rows,
            rollup,
            quotas: store.quotas_between(earliest, latest)?,
            exports: store.month_exports()?,
        })
    }

    /// The metrics input: full months from the rollup, the latest month's rows for month
    /// to date and [`metrics::rep_rows`].
    pub fn input(&self) -> metrics::Input<'_> {
        metrics::Input {
            roster: &self.roster,
            deals: &self.rows,
            quotas: &self.quotas,
            exports: &self.exports,
            rollup: Some(&self.rollup),
        }
    }

    /// The month of the earliest stored deal row, any stage.
    pub fn first_deal_month(&self) -> Option<Period> {
        self.rollup.first_month()
    }
}

/// `f` applied to each item, on as many threads as the machine has cores (at most one
/// per item), results in the items' order. For independent rendering work.
fn par_map<T: Sync, R: std::marker::Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len().max(1));
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        out.push((i, f(item)));
                    }
                    out
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().expect("a rendering thread panicked")).collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

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
fn deliver_docs(
    cfg: &Config,
    store: &mut Store,
    templates: &Templates,
    summary: &mut DocsSummary,
    job: &str,
    period: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let d = deliver_outbox(cfg, store, templates, now)?;
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
pub fn weekly_ranking(
    cfg: &Config,
    store: &mut Store,
    templates: &Templates,
    fonts: &report::Fonts,
    week: crate::domain::IsoWeek,
    send: bool,
    now: DateTime<Utc>,
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
    deliver_docs(cfg, store, templates, &mut summary, "weekly-ranking", &week_s, now)?;
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
        let points = report::talking_points(templates, &cfg.org.format, period, s, &cfg.metrics.standards())?;
        sheets.push((s, paperwork, points));
    }
    // Each sheet is independent work: render them on every core.
    let pdfs = par_map(&sheets, |(s, paperwork, points)| {
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
    });
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
    deliver_docs(cfg, store, templates, &mut summary, "one-on-one", &period.to_string(), now)?;
    Ok(summary)
}

// ---- The calendar (issue 6): shutdown, scheduled occurrences, admin notices ----

static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Asks work in progress to stop soon (SIGTERM/SIGINT in `quotad serve`):
/// [`deliver_outbox`] finishes the message in flight and leaves the rest pending (sent
/// at the next start), and does not wait for retries.
pub fn request_stop() {
    STOP.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Whether [`request_stop`] was called.
pub fn stop_requested() -> bool {
    STOP.load(std::sync::atomic::Ordering::SeqCst)
}

/// What one scheduled occurrence of a job did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Occurrence {
    /// Ran: one line saying what went out.
    Done(String),
    /// Ran, but messages failed or died (one line), or an earlier stop left them pending.
    Failed(String),
    /// No data for its period: nothing rendered, nothing sent.
    NoData(String),
    /// The quota memo is waiting for last month's final export
    /// (`quota_memo.wait_for_final_until`).
    Waiting(String),
}

/// Runs the occurrence of `job` scheduled at `occurrence` (UTC), at time `now`, on the
/// period it targets ([`schedule::JobKind::target`]: the memo's month, the week before,
/// the month before). A period without deals (or an empty roster) is not sent as an
/// empty report: it returns [`Occurrence::NoData`]. Every message goes through the
/// outbox ledger, so running an occurrence again sends nothing twice.
///
/// Errors: whatever the job's pipeline function returns (unreadable state, templates).
pub fn scheduled_job(
    cfg: &Config,
    store: &mut Store,
    templates: &Templates,
    job: crate::schedule::JobKind,
    occurrence: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Occurrence> {
    use crate::schedule::{JobKind, Target};
    let target = job.target(occurrence, cfg.org.time_zone);
    let months = store.months_with_deals()?;
    let have = |p: Period| months.contains(&p);
    let range = match (months.first(), months.last()) {
        (Some(a), Some(b)) if a == b => format!("data for {a} only"),
        (Some(a), Some(b)) => format!("data for {a} to {b}"),
        _ => "no deals stored at all".to_string(),
    };
    let needed = match target {
        Target::Month(p) if job == JobKind::QuotaMemo => p.prev(),
        Target::Month(p) => p,
        Target::Week(w) => Period::of(w.sunday()),
    };
    if !have(needed) {
        return Ok(Occurrence::NoData(format!("no data: no deals stored for {needed} ({range})")));
    }
    if store.roster()?.is_empty() {
        return Ok(Occurrence::NoData("no data: the roster is empty".into()));
    }
    let outcome = match (job, target) {
        (JobKind::QuotaMemo, Target::Month(p)) => {
            let m = quota_memo(cfg, store, templates, p, false, false, now)?;
            if let Some(w) = m.waiting {
                return Ok(Occurrence::Waiting(w));
            }
            let line = format!(
                "quota memo {p}: {} rep memo(s) and {} manager memo(s) delivered, {} already sent earlier{}",
                m.sent,
                m.managers,
                m.already_sent,
                m.preliminary.as_ref().map(|_| "; last month preliminary").unwrap_or_default(),
            );
            if !m.failed.is_empty() || !m.delivery.dead.is_empty() {
                Occurrence::Failed(format!(
                    "{line}; {} failed, {} dead letter(s)",
                    m.failed.len(),
                    m.delivery.dead.len()
                ))
            } else {
                Occurrence::Done(line)
            }
        }
        (JobKind::WeeklyRanking, Target::Week(w)) => {
            let fonts = report::Fonts::load(&cfg.pdf)?;
            docs_outcome(&weekly_ranking(cfg, store, templates, &fonts, w, true, now)?)
        }
        (JobKind::OneOnOne, Target::Month(p)) => {
            let fonts = report::Fonts::load(&cfg.pdf)?;
            docs_outcome(&one_on_one(cfg, store, templates, &fonts, p, None, true, now)?)
        }
        (j, t) => bail!("{j} does not work on {t}"),
    };
    // A shutdown cut the delivery short: not done until the rest has gone.
    if stop_requested() {
        let left = store.outbox_due_count(now + chrono::Duration::days(36_500))?;
        if left > 0 {
            let line = match outcome {
                Occurrence::Done(l) | Occurrence::Failed(l) => l,
                other => return Ok(other),
            };
            return Ok(Occurrence::Failed(format!(
                "{line}; stopped by a shutdown with {left} message(s) left in the outbox for the next start"
            )));
        }
    }
    Ok(outcome)
}

fn docs_outcome(s: &DocsSummary) -> Occurrence {
    let line = format!(
        "{}: {} PDF(s), {} message(s) delivered, {} already sent earlier",
        s.title,
        s.files.len(),
        s.sent,
        s.already_sent
    );
    if s.failed.is_empty() {
        Occurrence::Done(line)
    } else {
        Occurrence::Failed(format!("{line}; {} failed", s.failed.len()))
    }
}

/// Tells `mail.admin` something about the calendar (a skipped or missed occurrence):
/// one message with idempotency key `schedule/PERIOD/ADMIN/KIND`, queued in the outbox
/// and delivered now. Returns the admin's address, or `None` when no admin is
/// configured (the caller logs the same text either way).
#[allow(clippy::too_many_arguments)]
pub fn admin_notice(
    cfg: &Config,
    store: &mut Store,
    templates: &Templates,
    period: &str,
    kind: &str,
    subject: &str,
    text: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    let Some(admin) = &cfg.mail.admin else { return Ok(None) };
    let to = admin.email.to_string();
    let key = format!("schedule/{period}/{to}/{kind}");
    let name = admin.name.clone().unwrap_or_default();
    let mut failed = Vec::new();
    {
        let sender = Sender::new(cfg, store, false, now);
        let html = format!("<p>{}</p>", tera::escape_html(text).replace('\n', "<br>"));
        sender.queue(
            &key,
            "schedule",
            period,
            kind,
            (&name, &to),
            || Ok((report::RenderedMail { subject: subject.to_string(), text: format!("{text}\n"), html }, Vec::new())),
            &mut failed,
        )?;
    }
    if let Some(f) = failed.first() {
        bail!("cannot build the notice to {to}: {f}");
    }
    deliver_outbox(cfg, store, templates, now)?;
    Ok(Some(to))
}

#[cfg(test)]
mod tests {
    use super::read_ahead;

    #[test]
    fn read_ahead_stores_in_order_on_any_number_of_threads() {
        for workers in [0, 1, 2, 3, 8] {
            let mut seen = Vec::new();
            read_ahead(
                20,
                workers,
                |i| {
                    // Later files finish first, so results arrive out of order.
                    std::thread::sleep(std::time::Duration::from_millis((20 - i as u64) % 3));
                    i * 10
                },
                |i, r| {
                    seen.push((i, r));
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(seen, (0..20).map(|i| (i, i * 10)).collect::<Vec<_>>(), "{workers} workers");
        }
    }

    #[test]
    fn read_ahead_stops_at_a_store_error_and_reads_at_most_workers_ahead() {
        let reads = std::sync::atomic::AtomicUsize::new(0);
        let err = read_ahead(
            50,
            2,
            |i| {
                reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                i
            },
            |i, _| if i == 3 { anyhow::bail!("disk full") } else { Ok(()) },
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert!(reads.load(std::sync::atomic::Ordering::SeqCst) <= 4 + 2, "read too far ahead");
    }
}
