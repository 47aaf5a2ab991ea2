//! Import (stage 1): every new inbox file is read (ingest) on reader threads ahead of
//! the store, then stored in one transaction or quarantined whole with an error report
//! and a notice to the admin; each file gets an import report, with identity warnings
//! (reps matched by name only, not on the roster, absent). May import `ingest`,
//! `store`, `metrics` (the identity resolver), `report` (the quarantine notice),
//! `deliver` (its attachment), `config`, `domain`, `schedule` (inbox candidates) and
//! the outbox `Sender`.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::Stop;
use super::outbox::{Sender, Sent};
use crate::config::{AfterImport, Config};
use crate::deliver;
use crate::domain::{IdempotencyKey, KeyJob, KeyKind, Period};
use crate::ingest::{self, Records, SourceKind};
use crate::metrics;
use crate::report::{self, Templates};
use crate::store::{ImportReport, NewImport, Store, StoreStats};

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
    /// Another `quotad serve` instance on the same PostgreSQL state holds this file's
    /// claim (source, sha256) and imports it, or has already moved it away; left to it
    /// (every instance sees its import).
    ClaimedElsewhere,
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

impl FileStatus {
    /// For an imported file, its counts in the words of `quotad imports`: "3 new,
    /// 1 updated, 8 unchanged, 2 rejected" (a changed row is *updated*; rejected counts
    /// rows, however many bad cells each has), then ", 1 superseded (older than what is
    /// stored: a later export is already loaded)" when some rows were older. `None` for
    /// any other outcome.
    pub fn counts(&self) -> Option<String> {
        let FileStatus::Imported { stats, rejects, .. } = self else { return None };
        let older = if stats.older > 0 {
            format!(", {} superseded (older than what is stored: a later export is already loaded)", stats.older)
        } else {
            String::new()
        };
        Some(format!(
            "{} new, {} updated, {} unchanged, {} rejected{older}",
            stats.inserted,
            stats.superseded,
            stats.unchanged,
            rejected_rows(rejects)
        ))
    }
}

/// The result of an import pass.
#[derive(Debug, Clone, Default)]
pub struct ImportSummary {
    /// One entry per inbox file seen, in import order.
    pub files: Vec<FileOutcome>,
    /// Files not looked at because a stop was requested (SIGTERM/SIGINT): they stay in
    /// the inbox, untouched, for the next import. The file in hand when the stop came
    /// was finished and recorded first.
    pub left: Vec<String>,
    /// The celebrations queued for the chat channels after this pass (issue 22): only
    /// when a file was imported, nothing when none has `celebrations` in its jobs.
    pub celebrations: super::CelebrationsQueued,
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
///
/// With `stop` requested the file in hand is finished (stored and recorded, or
/// quarantined) and the rest are left in the inbox ([`ImportSummary::left`]).
pub fn import(cfg: &Config, store: &mut Store, now: DateTime<Utc>, stop: &Stop) -> Result<ImportSummary> {
    import_where(cfg, store, now, &|_| true, stop)
}

/// The error that ends [`read_ahead`] early when a stop is requested between files.
#[derive(Debug)]
struct StoppedBetweenFiles;

impl std::fmt::Display for StoppedBetweenFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stopped between two files")
    }
}

impl std::error::Error for StoppedBetweenFiles {}

/// [`import`], for the inbox files whose name `wanted` accepts only (the daemon passes
/// the files that have settled; the others are left alone, not even listed).
pub fn import_where(
    cfg: &Config,
    store: &mut Store,
    now: DateTime<Utc>,
    wanted: &dyn Fn(&str) -> bool,
    stop: &Stop,
) -> Result<ImportSummary> {
    let inbox = &cfg.paths.inbox;
    let entries = fs::read_dir(inbox).with_context(|| format!("cannot read the inbox folder {}", inbox.display()))?;
    // One entry per (file, source): every source whose `files` match a file reads it.
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
        let sources: Vec<&ingest::Source> = cfg.sources.iter().filter(|s| s.matches(&name)).collect();
        if sources.is_empty() {
            files.push((9, name.clone(), None));
        }
        for s in sources {
            files.push((kind_order(s.kind), name.clone(), Some(s)));
        }
    }
    // Stable: the sources of one kind reading one file keep their config order.
    files.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    // How many sources read each file: it is moved only once the last is done with it.
    let mut readers_of: HashMap<&str, usize> = HashMap::new();
    for (_, name, source) in &files {
        if source.is_some() {
            *readers_of.entry(name.as_str()).or_default() += 1;
        }
    }
    let mut left = readers_of.clone();
    let mut quarantined: HashSet<String> = HashSet::new();
    let mut summary = ImportSummary::default();
    let settings =
        ingest::Settings { today: Some(now.with_timezone(&cfg.org.time_zone).date_naive()), ..cfg.ingest.clone() };
    let known = store.import_fingerprints()?;
    let jobs: Vec<Option<(&ingest::Source, PathBuf)>> =
        files.iter().map(|(_, name, source)| source.map(|s| (s, inbox.join(name)))).collect();
    // The reader threads parse while this one stores, at most READ_AHEAD files ahead of
    // the one being stored, so memory is set by that bound, not by the file count or the
    // cores.
    let ahead = read_ahead_files();
    let readers = if ahead == 0 { 0 } else { std::thread::available_parallelism().map_or(1, |n| n.get()) };
    let outcome = read_ahead(
        jobs.len(),
        readers,
        ahead,
        // Once a stop is requested, nothing more is read (the storing side stops too).
        |i| if stop.requested() { None } else { read_one(jobs[i].as_ref(), &settings, &known) },
        |i, read| {
            if stop.requested() {
                return Err(StoppedBetweenFiles.into());
            }
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
            let left = left.get_mut(name.as_str()).map_or(0, |n| {
                *n -= 1;
                *n
            });
            let place = Place {
                last: left == 0,
                quarantined: quarantined.contains(name),
                shared: readers_of.get(name.as_str()).is_some_and(|n| *n > 1),
            };
            let (status, report) = import_one(cfg, store, source, &inbox.join(name), name, now, read, place)?;
            if matches!(status, FileStatus::Quarantined { .. }) {
                quarantined.insert(name.clone());
            }
            summary.files.push(FileOutcome { file: name.clone(), source: source.name.clone(), status, report });
            Ok(())
        },
    );
    match outcome {
        Ok(()) => {}
        Err(e) if e.is::<StoppedBetweenFiles>() => {
            summary.left = files[summary.files.len()..].iter().map(|(_, name, _)| name.clone()).collect();
            tracing::info!("stopping: {} inbox file(s) left for the next import", summary.left.len());
        }
        Err(e) => return Err(e),
    }
    if summary.imported() > 0 {
        // The files are stored whatever comes of this: a failure here is reported, not
        // the import's (the next import queues what is new then).
        summary.celebrations = super::channels::queue_celebrations(cfg, store, now).unwrap_or_else(|e| {
            tracing::warn!("celebrations for the chat channels not queued: {e:#}");
            super::CelebrationsQueued {
                month: Some(Period::of(now.with_timezone(&cfg.org.time_zone).date_naive()).prev()),
                queued: 0,
                held: Some(format!("could not be queued: {e:#}")),
            }
        });
    }
    Ok(summary)
}

/// How many inbox files are read (or parsed and waiting) ahead of the one being stored.
/// One: the next file is parsed on one core while this thread stores on the other
/// (storing takes about 0.7× as long as parsing), and memory holds two files at most.
/// Two would save about a sixth of the wall time on two cores for one more parsed file
/// (~100 MB at 85k rows), over the 300 MB target (measured: 395 MB at 1M rows).
const READ_AHEAD: usize = 1;

/// The environment variable that sets how many files are read ahead of the one being
/// stored ([`READ_AHEAD`] when unset or not a number; `0` reads and stores each file in
/// turn on one thread). Whatever its value, files are stored in file-name order, so the
/// import ids, the stored rows and every import report are the same.
pub const READ_AHEAD_ENV: &str = "QUOTAD_READ_AHEAD";

/// [`READ_AHEAD`], or the value of [`READ_AHEAD_ENV`] (at most 8).
fn read_ahead_files() -> usize {
    std::env::var(READ_AHEAD_ENV).ok().and_then(|v| v.trim().parse::<usize>().ok()).map_or(READ_AHEAD, |n| n.min(8))
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
///
/// The size limit (`ingest.max_file_mb`) is checked from the file's metadata before a
/// byte is read: an oversized file is neither hashed nor read, and neither is one that
/// cannot be read; both come back as a parse error (to quarantine) with a stand-in
/// fingerprint of name, size and time, so that one bad file never stops the others.
fn read_one(
    job: Option<&(&ingest::Source, PathBuf)>,
    settings: &ingest::Settings,
    known: &HashSet<(String, String)>,
) -> Option<Result<ReadFile>> {
    let (source, path) = job?;
    let meta = fs::metadata(path);
    // The CRM's export time is the file's modification time (docs/definitions.md, "As of").
    let exported_at = meta.as_ref().ok().and_then(|m| m.modified().ok()).map(DateTime::<Utc>::from);
    let size = meta.as_ref().map_or(0, |m| m.len());
    let stand_in = || {
        let id = format!("{}\n{size}\n{exported_at:?}", path.display());
        format!("unread-{}", crate::domain::sha256_hex(id.as_bytes()))
    };
    if size > settings.limits.max_file_bytes {
        // ingest checks the size from the metadata first and reads nothing.
        return Some(Ok(ReadFile {
            sha: stand_in(),
            exported_at,
            parsed: Some(ingest::read_file(path, source, settings)),
        }));
    }
    let sha = match sha256_of(path) {
        Ok(sha) => sha,
        Err(e) => {
            let parsed = Err(ingest::IngestError::Unreadable { reason: e.to_string() });
            return Some(Ok(ReadFile { sha: stand_in(), exported_at, parsed: Some(parsed) }));
        }
    };
    let parsed =
        (!known.contains(&(source.name.clone(), sha.clone()))).then(|| ingest::read_file(path, source, settings));
    Some(Ok(ReadFile { sha, exported_at, parsed }))
}

/// The SHA-256 of a file's bytes, in lower-case hex, read in 64 KiB blocks (never the
/// whole file in memory).
fn sha256_of(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(crate::domain::hex(&hasher.finalize()))
}

/// Where an inbox file stands among the sources that read it (see [`put_away`]).
#[derive(Debug, Clone, Copy)]
struct Place {
    /// This source is the last (or only) one to read the file in this pass.
    last: bool,
    /// An earlier source of this pass quarantined the file.
    quarantined: bool,
    /// More than one source reads the file: its reports name the source.
    shared: bool,
}

impl Place {
    /// "deals.xlsx" + suffix, or "deals.xlsx.SOURCE" + suffix for a file several sources read.
    fn report_name(&self, name: &str, source: &str, suffix: &str) -> String {
        if self.shared { format!("{name}.{source}{suffix}") } else { format!("{name}{suffix}") }
    }
}

/// With `paths.after_import = "move"`, moves the file once the last source that reads it
/// is done: to the quarantine folder when this or an earlier source quarantined it, else
/// to the archive. Nothing moves before the last source, and nothing ever with "keep"
/// (a quarantined file is then named in its report, never copied).
fn put_away(cfg: &Config, path: &Path, name: &str, place: Place, quarantined: bool) -> Result<Option<PathBuf>> {
    if !place.last || cfg.paths.after_import != AfterImport::Move {
        return Ok(None);
    }
    let dir = if quarantined || place.quarantined { &cfg.paths.quarantine } else { &cfg.paths.archive };
    move_to(path, dir, name).map(Some)
}

/// Runs `read(i)` for every `i` in `0..n` on `workers` threads (none: all on the calling
/// thread, in turn), reading ahead of `store`, which gets each result on the calling
/// thread in index order. At most `ahead` reads are handed out (queued, being read, or
/// done and waiting) beyond the one being stored, which bounds memory to `ahead + 1`
/// parsed files whatever the file count; a `store` error stops the readers (reads not
/// yet begun are skipped) and is returned, a panic in `read` is resumed on the calling
/// thread.
///
/// Built on `crossbeam-channel`: one unbounded job queue that the calling thread fills
/// only up to the `ahead` bound, and a one-slot channel per file for its result, taken
/// in file order.
fn read_ahead<R: std::marker::Send>(
    n: usize,
    workers: usize,
    ahead: usize,
    read: impl Fn(usize) -> R + Sync,
    mut store: impl FnMut(usize, R) -> Result<()>,
) -> Result<()> {
    use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
    use std::sync::atomic::{AtomicBool, Ordering};
    let workers = workers.min(n);
    if workers == 0 || n <= 1 || ahead == 0 {
        return (0..n).try_for_each(|i| store(i, read(i)));
    }
    type Done<R> = std::thread::Result<R>;
    let stop = AtomicBool::new(false);
    let (jobs, queue) = unbounded::<(usize, Sender<Done<R>>)>();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let queue = queue.clone();
            let (stop, read) = (&stop, &read);
            scope.spawn(move || {
                for (i, done) in queue.iter() {
                    if stop.load(Ordering::SeqCst) {
                        continue;
                    }
                    // A panic is handed to the storing thread, which would otherwise wait for ever.
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read(i)));
                    // The storing side may have stopped and dropped its end: nothing to do then.
                    let _ = done.send(r);
                }
            });
        }
        drop(queue);
        let mut pending: std::collections::VecDeque<Receiver<Done<R>>> = std::collections::VecDeque::new();
        let mut next = 0;
        let mut result = Ok(());
        for i in 0..n {
            // Hand out reads up to `ahead` past the one stored now.
            while next < n && next <= i + ahead {
                let (done, result) = bounded(1);
                jobs.send((next, done)).expect("the readers outlive the job queue");
                pending.push_back(result);
                next += 1;
            }
            let got = pending.pop_front().expect("file i was handed out").recv().expect("a reader sends each result");
            let got = got.unwrap_or_else(|panic| {
                stop.store(true, Ordering::SeqCst);
                std::panic::resume_unwind(panic)
            });
            result = store(i, got);
            if result.is_err() {
                stop.store(true, Ordering::SeqCst);
                break;
            }
        }
        // Dropping the job queue ends the readers once they are done with what they hold.
        drop(jobs);
        result
    })
}

/// roster-dated: the roster rows whose Effective Date moves a change (team, manager,
/// manager e-mail, status, leave date) into a month whose results a quota memo already
/// stated (the memo of the month after it was sent): one warning per row, naming the
/// change, the months and the command that sends the corrections. History is corrected
/// through the corrections flow, never silently (README "Roster changes that take
/// effect on a date").
fn back_dated_changes(
    cfg: &Config,
    store: &Store,
    rows: &[crate::domain::RosterRep],
    file: &str,
    exported_at: DateTime<Utc>,
) -> Result<Vec<String>> {
    let tz = cfg.org.time_zone;
    let sent = store.facts_periods_sent("quota-memo")?;
    if sent.is_empty() {
        return Ok(Vec::new());
    }
    let current: std::collections::HashMap<String, crate::domain::RosterRep> =
        store.roster()?.into_iter().map(|r| (r.key(), r)).collect();
    let export_month = crate::domain::Period::of(exported_at.with_timezone(&tz).date_naive());
    let mut out = Vec::new();
    for r in rows {
        let Some(from) = r.effective_date else { continue };
        let Some(old) = current.get(&r.key()) else { continue };
        let mut changes = Vec::new();
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".into());
        if crate::domain::team_key(old.team.as_deref().unwrap_or(""))
            != crate::domain::team_key(r.team.as_deref().unwrap_or(""))
        {
            changes.push(format!("team {} → {}", show(&old.team), show(&r.team)));
        }
        if old.manager_email != r.manager_email || old.manager != r.manager {
            changes.push(format!("manager {} → {}", show(&old.manager), show(&r.manager)));
        }
        if old.active != r.active {
            changes.push(format!("status {} → {}", status(old.active), status(r.active)));
        }
        if old.leave_date != r.leave_date {
            let d = |v: Option<chrono::NaiveDate>| v.map_or_else(|| "none".to_string(), |d| d.to_string());
            changes.push(format!("leave date {} → {}", d(old.leave_date), d(r.leave_date)));
        }
        if changes.is_empty() {
            continue;
        }
        // The months whose roster (as at their end) this row now changes, and whose
        // results were stated by the next month's memo.
        let mut month = crate::domain::Period::of(from);
        let mut hit = Vec::new();
        while month < export_month {
            if sent.contains(&month.next()) {
                hit.push(month);
            }
            month = month.next();
        }
        if hit.is_empty() {
            continue;
        }
        let months: Vec<String> =
            hit.iter().map(|m| format!("{} (stated by the {} memo)", m.label(), m.next())).collect();
        out.push(format!(
            "{file}, row {}: {} — {} from {from} changes {}, already sent: `quotad run quota-memo --corrections` sends the corrections",
            r.origin.row,
            r.name,
            changes.join(", "),
            months.join(", ")
        ));
    }
    Ok(out)
}

fn status(active: bool) -> &'static str {
    if active { "active" } else { "inactive" }
}

#[allow(clippy::too_many_arguments)]
fn import_one(
    cfg: &Config,
    store: &mut Store,
    source: &ingest::Source,
    path: &Path,
    name: &str,
    now: DateTime<Utc>,
    read: Option<Result<ReadFile>>,
    place: Place,
) -> Result<(FileStatus, Option<ImportReport>)> {
    let ReadFile { sha, exported_at, parsed } = read.context("an inbox file with a source was not read")??;
    let exported_at = exported_at.unwrap_or(now);
    if let Some(prev) = store.find_import(&source.name, &sha)? {
        // Best effort: the content is stored either way.
        let _ = put_away(cfg, path, name, place, false);
        return Ok((FileStatus::AlreadyImported { import_id: prev.id, at: prev.imported_at }, None));
    }
    // Several instances on one state (a shared inbox): the file is imported by the one
    // that claims it; one whose file another instance moved away meanwhile leaves it.
    if store.holder_id().is_some() && (!path.exists() || !store.inbox_claim(&source.name, &sha, now)?) {
        return Ok((FileStatus::ClaimedElsewhere, None));
    }
    let done = import_claimed(cfg, store, source, path, name, now, &sha, exported_at, parsed, place);
    store.inbox_release(&source.name, &sha)?;
    done
}

/// [`import_one`] once the file is this process's to import.
#[allow(clippy::too_many_arguments)]
fn import_claimed(
    cfg: &Config,
    store: &mut Store,
    source: &ingest::Source,
    path: &Path,
    name: &str,
    now: DateTime<Utc>,
    sha: &str,
    exported_at: DateTime<Utc>,
    parsed: Option<std::result::Result<ingest::Parsed, ingest::IngestError>>,
    place: Place,
) -> Result<(FileStatus, Option<ImportReport>)> {
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
            return quarantine(cfg, store, path, name, sha, source, report, &[], now, place);
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
        return quarantine(cfg, store, path, name, sha, source, report, &parsed.rejects, now, place);
    }
    report.warnings.extend(identity_warnings(store, &parsed.records)?);
    if let Records::Roster(rows) = &parsed.records {
        report.warnings.extend(metrics::team_variants(rows));
        report.warnings.extend(back_dated_changes(cfg, store, rows, name, exported_at)?);
    }
    let meta = NewImport {
        source: &source.name,
        kind: source.kind.as_str(),
        file_name: name,
        sha256: sha,
        sheet: &parsed.sheet,
        rows_rejected: bad,
        now,
        exported_at,
    };
    let stats = match &parsed.records {
        Records::Deals(rows) => store.import_deals(&meta, rows)?,
        Records::Quotas(rows) => store.import_quotas(&meta, rows)?,
        Records::Roster(rows) => {
            let tz = cfg.org.time_zone;
            store.import_roster(&meta, rows, &|d| crate::domain::local_midnight_utc(d, tz))?
        }
    };
    crash_point("after-import-commit");
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
        Some(write_report(dir, &place.report_name(name, &source.name, ""), ".rejected-rows.txt", &text)?)
    };
    let mut notes = parsed.notes;
    notes.extend(report.warnings[notes.len()..].iter().cloned());
    if let Records::Deals(rows) = &parsed.records {
        notes.extend(cancellation_warnings(store, rows, &cfg.metrics)?);
    }
    notes.extend(super::holds::resolve_by_import(
        cfg,
        store,
        &source.name,
        name,
        &report.periods,
        stats.import_id,
        now,
    )?);
    report.import_id = Some(stats.import_id);
    report.new = stats.inserted;
    report.updated = stats.superseded;
    report.unchanged = stats.unchanged;
    report.superseded = stats.older;
    report.rows_stored = stats.inserted + stats.superseded;
    if let Err(e) = put_away(cfg, path, name, place, false) {
        notes.push(format!(
            "stored, but not moved out of the inbox ({e:#}); it stays there, and importing it again changes nothing"
        ));
    }
    report.warnings = notes.clone();
    report.id = store.add_import_report(&report)?;
    tracing::info!("{}", report_line(&report));
    let status = FileStatus::Imported { stats, rejects: parsed.rejects, sheet: parsed.sheet, notes, report: written };
    Ok((status, Some(report)))
}

/// The import report's warnings about the file's cancellations whose sale is not on
/// record (issue 15.4), decided by [`metrics::cancellation_rule`] against the store as
/// it is after this file: which count nowhere (the history reaches far enough back that
/// the sale would be on record), which subtract anyway (the sale may predate the
/// history), each naming the Deal IDs.
fn cancellation_warnings(
    store: &Store,
    rows: &[crate::domain::DealRow],
    settings: &metrics::Settings,
) -> Result<Vec<String>> {
    use std::collections::BTreeSet;
    if !rows.iter().any(|d| d.class == crate::domain::StageClass::Cancelled) {
        return Ok(Vec::new());
    }
    // The sales on record for this file's cancellations only: one seek per cancelled
    // Deal ID, not a scan of every stored cancellation (the incremental import stays
    // set by the new file). The same answer for these rows as `Loaded::keeping` gives.
    let cancelled: BTreeSet<&str> =
        rows.iter().filter(|d| d.class == crate::domain::StageClass::Cancelled).map(|d| d.deal_id.as_str()).collect();
    let record = metrics::SaleRecord { won: store.ids_with_sale(&cancelled)?, first_month: store.first_deal_month()? };
    let (mut nowhere, mut anyway) = (BTreeSet::new(), BTreeSet::new());
    let mut first = None;
    for d in rows {
        match metrics::cancellation_rule(d, &record, settings) {
            Some(metrics::CancellationRule::NotOnRecord { first: f }) => {
                nowhere.insert(d.deal_id.clone());
                first = Some(f);
            }
            Some(metrics::CancellationRule::MayPredateHistory { first: f }) => {
                anyway.insert(d.deal_id.clone());
                first = Some(f);
            }
            _ => {}
        }
    }
    let first = first.map(|f| f.to_string()).unwrap_or_default();
    let mut out = Vec::new();
    if !nowhere.is_empty() {
        let ids: Vec<String> = nowhere.into_iter().collect();
        out.push(format!(
            "{} cancellation(s) whose sale is not on record count nowhere (the history from {first} covers the {} months before each, ingest.cancellation_lookback_months): {}",
            ids.len(),
            settings.cancellation_lookback_months,
            some_of(&ids, 20)
        ));
    }
    if !anyway.is_empty() {
        let ids: Vec<String> = anyway.into_iter().collect();
        out.push(format!(
            "{} cancellation(s) whose sale is not on record subtract anyway (their sale may predate the history, which starts {first}): {}",
            ids.len(),
            some_of(&ids, 20)
        ));
    }
    Ok(out)
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
    if let Records::Deals(rows) = records {
        // A rep who left (Leave Date) before the export's first close date is not missed.
        let first = rows.iter().filter_map(|d| d.close_date).min();
        let absent: Vec<String> = roster
            .iter()
            .filter(|r| r.active && r.leave_date.is_none_or(|l| first.is_none_or(|f| l >= f)))
            .filter(|r| !matched.contains(&r.key()))
            .map(|r| r.name.clone())
            .collect();
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

/// Moves an imported (or quarantined) file into `dir`, adding `.1`, `.2`, … before the
/// extension if the name is taken by another file; if `dir` already holds a copy with
/// the same bytes (an earlier move cut short by a crash), only the inbox file goes.
///
/// Durable in this order, so that a power cut between any two steps leaves the file
/// in the inbox or in `dir` (never in neither): the state database's commit is on disk
/// before this is called (`synchronous = FULL`); the archive copy is made (a hard link,
/// else a copy that is fsynced) and `dir` is fsynced; only then is the inbox file
/// removed and the inbox folder fsynced.
fn move_to(path: &Path, dir: &Path, name: &str) -> Result<PathBuf> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut target = dir.join(name);
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) => (s.to_string(), format!(".{e}")),
        None => (name.to_string(), String::new()),
    };
    let mut n = 1;
    let mut already = false;
    while target.exists() {
        if same_bytes(path, &target) {
            already = true;
            break;
        }
        target = dir.join(format!("{stem}.{n}{ext}"));
        n += 1;
    }
    if !already {
        if fs::hard_link(path, &target).is_err() {
            let copy = || -> std::io::Result<()> {
                fs::copy(path, &target)?;
                fs::File::open(&target)?.sync_all()
            };
            copy().with_context(|| format!("cannot copy {} to {}", path.display(), target.display()))?;
        }
        sync_dir(dir)?;
    }
    crash_point("after-archive-copy");
    fs::remove_file(path).with_context(|| format!("cannot remove {}", path.display()))?;
    if let Some(inbox) = path.parent() {
        sync_dir(inbox)?;
    }
    crash_point("after-inbox-remove");
    Ok(target)
}

/// Whether two files hold the same bytes (sizes first).
fn same_bytes(a: &Path, b: &Path) -> bool {
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(x), Ok(y)) if x.len() == y.len() => matches!((fs::read(a), fs::read(b)), (Ok(x), Ok(y)) if x == y),
        _ => false,
    }
}

/// fsyncs a folder, so that a file created in it or removed from it survives a power
/// cut.
fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir).and_then(|d| d.sync_all()).with_context(|| format!("cannot sync the folder {}", dir.display()))
}

/// A test hook: with `QUOTAD_CRASH_AT=NAME` in the environment, the process aborts
/// (as a power cut would stop it) when it reaches the step `NAME`: `after-import-commit`
/// (an import's rows committed, the file not yet archived), `after-archive-copy` (the
/// file in both the archive and the inbox), `after-inbox-remove` (archived, the import
/// report not yet written). Unset, nothing happens.
pub(super) fn crash_point(name: &str) {
    static AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if AT.get_or_init(|| std::env::var("QUOTAD_CRASH_AT").ok()).as_deref() == Some(name) {
        eprintln!("QUOTAD_CRASH_AT={name}: aborting here (a test of crash safety)");
        std::process::abort();
    }
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
    place: Place,
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
    match (cfg.paths.after_import, place.last) {
        (AfterImport::Keep, _) => text.push_str("The file stays in the inbox (paths.after_import = \"keep\").\n"),
        (AfterImport::Move, false) => text
            .push_str("The file stays in the inbox until the other sources that read it are done, then moves here.\n"),
        (AfterImport::Move, true) => {}
    }
    let report_name = place.report_name(name, &source.name, ".errors.txt");
    let report = write_report(q, &report_name, "", &text)?;
    // Moved, never copied (a 3 GB file stays where it is): a file that cannot be moved
    // stays in the inbox, said in the log, and the pass goes on.
    if let Err(e) = put_away(cfg, path, name, place, true) {
        tracing::warn!("{name} is quarantined but stays in the inbox: {e:#}");
    }
    import_report.id = store.add_import_report(&import_report)?;
    if super::holds::inherit_resolution(cfg, store, &import_report, now)? {
        import_report.resolved_at = Some(now);
    }
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
                report_name: report_name.clone(),
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
    let key = IdempotencyKey::to(KeyJob::Quarantine, &period, &to, KeyKind::QuarantineNotice);
    let sender = Sender::new(cfg, store, false, now);
    let mut failed = Vec::new();
    let make = || {
        let templates = Templates::load(cfg.paths.templates.as_deref(), &cfg.org.format.words().language().code)?;
        let mail = report::render_quarantine(&templates, view)?;
        let attachment = deliver::MailAttachment {
            file_name: view.report_name.clone(),
            content_type: "text/plain; charset=utf-8".into(),
            bytes: text.as_bytes().to_vec(),
        };
        Ok((mail, vec![attachment]))
    };
    let sent = sender.queue(&key, &[deliver::Addressee::new(&to_name, &to)], &[], make, &mut failed)?;
    if let Some(f) = failed.first() {
        tracing::warn!("the quarantine notice for {name} could not be built: {f}");
    }
    Ok(matches!(sent, Sent::Queued).then_some(to))
}

#[cfg(test)]
mod tests {
    use super::read_ahead;

    #[test]
    fn read_ahead_stores_in_order_on_any_number_of_threads() {
        for workers in [0, 1, 2, 3, 8] {
            for ahead in [0, 1, 2, 5] {
                let mut seen = Vec::new();
                read_ahead(
                    20,
                    workers,
                    ahead,
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
                assert_eq!(seen, (0..20).map(|i| (i, i * 10)).collect::<Vec<_>>(), "{workers} workers, {ahead} ahead");
            }
        }
    }

    #[test]
    fn read_ahead_stops_at_a_store_error_and_reads_at_most_ahead() {
        let reads = std::sync::atomic::AtomicUsize::new(0);
        let err = read_ahead(
            50,
            4,
            2,
            |i| {
                reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                i
            },
            |i, _| if i == 3 { anyhow::bail!("disk full") } else { Ok(()) },
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        // Files 0..=3 stored or failing, at most 2 handed out beyond file 3.
        assert!(reads.load(std::sync::atomic::Ordering::SeqCst) <= 4 + 2, "read too far ahead");
    }

    /// The bound holds whatever the file count and the threads: never more than
    /// `ahead + 1` files read and not yet stored (each one a parsed file in memory).
    #[test]
    fn read_ahead_holds_at_most_ahead_plus_one_files() {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        for (workers, ahead) in [(2, 1), (4, 2), (8, 3)] {
            let held = AtomicUsize::new(0);
            let most = AtomicUsize::new(0);
            read_ahead(
                40,
                workers,
                ahead,
                |i| {
                    let now = held.fetch_add(1, SeqCst) + 1;
                    most.fetch_max(now, SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis((i % 3) as u64));
                    i
                },
                |_, _| {
                    // A slow store: the readers run ahead as far as they may.
                    std::thread::sleep(std::time::Duration::from_millis(2));
                    held.fetch_sub(1, SeqCst);
                    Ok(())
                },
            )
            .unwrap();
            let most = most.load(SeqCst);
            assert!(most <= ahead + 1, "{workers} workers, {ahead} ahead: {most} files held at once");
            assert!(most >= 2, "{workers} workers, {ahead} ahead: never read ahead ({most})");
        }
    }

    #[test]
    fn read_ahead_resumes_a_reader_panic_on_the_storing_thread() {
        let caught = std::panic::catch_unwind(|| {
            let _ = read_ahead(10, 2, 2, |i| if i == 4 { panic!("reader broke on 4") } else { i }, |_, _| Ok(()));
        });
        let panic = caught.expect_err("the reader's panic reaches the caller");
        assert_eq!(panic.downcast_ref::<&str>(), Some(&"reader broke on 4"));
    }
}
