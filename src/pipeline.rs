//! Pipeline: the one place that knows the order ingest -> store -> metrics -> report ->
//! deliver. Each function here is one job step; `cmd` (and later `schedule`) call them
//! with a loaded [`Config`], an open [`Store`] and the current time `now` (the clock is
//! passed in, never read here).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::config::{AfterImport, Config};
use crate::deliver::{self, FileTransport, Outgoing, Transport, TransportKind};
use crate::domain::Period;
use crate::ingest::{self, Records, SourceKind};
use crate::metrics;
use crate::report::{self, Templates};
use crate::store::{NewImport, OutboxEntry, Store, StoreStats};

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

/// Whether a file in the inbox should be looked at: not hidden, not an Excel/LibreOffice
/// lock file, not a partial download.
fn is_candidate(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    !(name.starts_with('.')
        || name.starts_with("~$")
        || lower.ends_with(".part")
        || lower.ends_with(".tmp")
        || lower.ends_with(".crdownload"))
}

fn kind_order(k: SourceKind) -> u8 {
    match k {
        SourceKind::Roster => 0,
        SourceKind::Quotas => 1,
        SourceKind::Deals => 2,
    }
}

/// Imports every new file in the inbox: rosters first, then quotas, then deals, each in
/// file-name order. Each file is stored in one transaction or not at all; a file is
/// rejected whole (quarantined with a report) when it cannot be read or more than
/// `ingest.max_rejected_fraction` of its rows are bad. A bad file never stops the pass.
pub fn import(cfg: &Config, store: &mut Store, now: DateTime<Utc>) -> Result<ImportSummary> {
    let inbox = &cfg.paths.inbox;
    let entries = fs::read_dir(inbox).with_context(|| format!("cannot read the inbox folder {}", inbox.display()))?;
    let mut files: Vec<(u8, String, Option<&ingest::Source>)> = Vec::new();
    for e in entries {
        let e = e.with_context(|| format!("reading {}", inbox.display()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if !e.file_type().map(|t| t.is_file()).unwrap_or(false) || !is_candidate(&name) {
            continue;
        }
        let source = cfg.sources.iter().find(|s| s.matches(&name));
        files.push((source.map(|s| kind_order(s.kind)).unwrap_or(9), name, source));
    }
    files.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let mut summary = ImportSummary::default();
    for (_, name, source) in files {
        let Some(source) = source else {
            summary.files.push(FileOutcome { file: name, source: String::new(), status: FileStatus::Unmatched });
            continue;
        };
        let status = import_one(cfg, store, source, &inbox.join(&name), &name, now)?;
        summary.files.push(FileOutcome { file: name, source: source.name.clone(), status });
    }
    Ok(summary)
}

fn import_one(
    cfg: &Config,
    store: &mut Store,
    source: &ingest::Source,
    path: &Path,
    name: &str,
    now: DateTime<Utc>,
) -> Result<FileStatus> {
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    // The CRM's export time is the file's modification time (DESIGN.md "As of").
    let exported_at = fs::metadata(path).and_then(|m| m.modified()).map(DateTime::<Utc>::from).unwrap_or(now);
    let sha: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    if let Some(prev) = store.find_import(&source.name, &sha)? {
        if cfg.paths.after_import == AfterImport::Move {
            // Best effort: the content is stored either way.
            let _ = move_to(path, &cfg.paths.archive, name);
        }
        return Ok(FileStatus::AlreadyImported { import_id: prev.id, at: prev.imported_at });
    }
    let settings =
        ingest::Settings { today: Some(now.with_timezone(&cfg.org.time_zone).date_naive()), ..cfg.ingest.clone() };
    let parsed = match ingest::read_file(path, source, &settings) {
        Ok(p) => p,
        Err(e) => return quarantine(cfg, path, name, source, &e.to_string(), &[], now),
    };
    let bad = rejected_rows(&parsed.rejects);
    let total = parsed.data_rows.max(1);
    let fraction = rust_decimal::Decimal::from(bad) / rust_decimal::Decimal::from(total);
    if bad > 0 && fraction > cfg.max_rejected_fraction {
        let reason = format!(
            "{bad} of {} data rows rejected, more than ingest.max_rejected_fraction = {} allows",
            parsed.data_rows, cfg.max_rejected_fraction
        );
        return quarantine(cfg, path, name, source, &reason, &parsed.rejects, now);
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
    let report = if parsed.rejects.is_empty() {
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
    if cfg.paths.after_import == AfterImport::Move
        && let Err(e) = move_to(path, &cfg.paths.archive, name)
    {
        notes.push(format!("stored, but not moved to the archive ({e:#}); it stays in the inbox, and importing it again changes nothing"));
    }
    Ok(FileStatus::Imported { stats, rejects: parsed.rejects, sheet: parsed.sheet, notes, report })
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

fn quarantine(
    cfg: &Config,
    path: &Path,
    name: &str,
    source: &ingest::Source,
    reason: &str,
    rejects: &[ingest::Reject],
    now: DateTime<Utc>,
) -> Result<FileStatus> {
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
    Ok(FileStatus::Quarantined { reason: reason.to_string(), report })
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
    let earliest = Period::new(1900, 1).expect("a valid month");
    let roster = store.roster_versions()?;
    let deals = store.deals_between(earliest, latest)?;
    let quotas = store.quotas_between(earliest, latest)?;
    let exports = store.month_exports()?;
    let input = metrics::Input { roster: &roster, deals: &deals, quotas: &quotas, exports: &exports };
    Ok(periods.iter().map(|p| metrics::month_standings(*p, &input, settings, now)).collect())
}

/// The result of a quota memo run.
#[derive(Debug, Clone, Default)]
pub struct MemoSummary {
    /// The memo month.
    pub period: Option<Period>,
    /// Messages delivered by this run.
    pub sent: usize,
    /// Messages whose idempotency key was already sent: not sent again.
    pub already_sent: usize,
    /// Active reps who got no memo, and why.
    pub skipped: Vec<String>,
    /// Messages that failed (left pending in the outbox).
    pub failed: Vec<String>,
    /// Reps in last month's deals or quotas that match no roster rep.
    pub unmatched: Vec<String>,
    /// Where the file transport wrote.
    pub outbox: PathBuf,
}

/// Sends the quota memo for `period` to every active rep: this month's quota and last
/// month's results, attainment and ranks. Each message is recorded in the outbox ledger
/// (idempotency key `quota-memo/PERIOD/EMAIL/rep-memo`) before it is handed to the
/// transport; a key already sent is never sent again.
pub fn quota_memo(
    cfg: &Config,
    store: &Store,
    templates: &Templates,
    period: Period,
    now: DateTime<Utc>,
) -> Result<MemoSummary> {
    let roster = store.roster()?;
    if roster.is_empty() {
        bail!("the roster is empty: put the roster file in the inbox and run `quotad import`");
    }
    let last = period.prev();
    let mut both = standings(store, &cfg.metrics, &[period, last], now)?;
    let (last_month, this_month) = (both.pop().context("two periods")?, both.pop().context("two periods")?);
    let transport: Box<dyn Transport> = match cfg.mail.transport {
        TransportKind::File => Box::new(FileTransport::new(&cfg.paths.outbox)),
    };
    let mut summary = MemoSummary {
        period: Some(period),
        outbox: cfg.paths.outbox.clone(),
        unmatched: last_month.unmatched.clone(),
        ..Default::default()
    };
    // One memo per address: reps sharing an address is a roster error, and sending
    // either rep's figures to it would be a guess, so neither gets one.
    let mut by_address: std::collections::HashMap<&str, Vec<&str>> = std::collections::HashMap::new();
    for r in roster.iter().filter(|r| r.active) {
        if let Some(e) = r.email.as_deref() {
            by_address.entry(e).or_default().push(&r.name);
        }
    }
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
        let key = format!("quota-memo/{period}/{email}/rep-memo");
        let entry = match store.outbox_get(&key)? {
            Some(e) if e.state == "sent" => {
                summary.already_sent += 1;
                continue;
            }
            // Pending from an interrupted run: send exactly what was recorded.
            Some(e) => e,
            None => {
                let Some(view) =
                    report::quota_memo_view(&cfg.org.name, &cfg.org.format, &this_month, &last_month, &rep.key())
                else {
                    // Hired after the memo month: no quota memo for a month before they start.
                    summary.skipped.push(format!("{}: not on the roster for {period} (hired later?)", rep.name));
                    continue;
                };
                let mail = report::render_quota_memo(templates, &view)?;
                let message_id = deliver::message_id(&key, &cfg.mail.from);
                let out = Outgoing {
                    to_name: rep.name.clone(),
                    to_email: email.to_string(),
                    subject: mail.subject.clone(),
                    text: mail.text,
                    html: mail.html,
                    message_id: message_id.clone(),
                    date: now,
                    attachments: Vec::new(),
                };
                let message = match deliver::build(&cfg.mail, &out) {
                    Ok(m) => m,
                    Err(e) => {
                        summary.failed.push(format!("{}: {e}", rep.name));
                        continue;
                    }
                };
                let e = OutboxEntry {
                    idempotency_key: key.clone(),
                    job: "quota-memo".into(),
                    period: period.to_string(),
                    recipient: email.to_string(),
                    kind: "rep-memo".into(),
                    message_id: message_id.trim_matches(['<', '>']).to_string(),
                    subject: mail.subject,
                    message,
                    state: "pending".into(),
                };
                store.outbox_add(&e, now)?;
                e
            }
        };
        let name = deliver::safe_name(&format!("quota-memo_{period}_{email}"), &key);
        match transport.send(&name, &entry.message) {
            Ok(()) => {
                store.outbox_mark_sent(&key, now)?;
                summary.sent += 1;
            }
            Err(e) => {
                store.outbox_mark_failed(&key, &e.to_string())?;
                summary.failed.push(format!("{}: {e}", rep.name));
            }
        }
    }
    Ok(summary)
}

/// Everything stored, loaded once: the input of [`metrics`] for several computations.
struct Loaded {
    roster: Vec<crate::domain::RosterVersion>,
    deals: Vec<crate::domain::DealRow>,
    quotas: Vec<crate::domain::QuotaRow>,
    exports: Vec<(Period, DateTime<Utc>)>,
}

impl Loaded {
    fn new(store: &Store, latest: Period) -> Result<Loaded> {
        let earliest = Period::new(1900, 1).expect("a valid month");
        Ok(Loaded {
            roster: store.roster_versions()?,
            deals: store.deals_between(earliest, latest)?,
            quotas: store.quotas_between(earliest, latest)?,
            exports: store.month_exports()?,
        })
    }

    fn input(&self) -> metrics::Input<'_> {
        metrics::Input { roster: &self.roster, deals: &self.deals, quotas: &self.quotas, exports: &self.exports }
    }
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
    transport: &dyn Transport,
    summary: &mut DocsSummary,
    s: Send,
    now: DateTime<Utc>,
    make: impl FnOnce() -> Result<(report::RenderedMail, Vec<deliver::MailAttachment>)>,
) -> Result<()> {
    let key = format!("{}/{}/{}/{}", s.job, s.period, s.to_email, s.kind);
    let entry = match store.outbox_get(&key)? {
        Some(e) if e.state == "sent" => {
            summary.already_sent += 1;
            return Ok(());
        }
        Some(e) => e,
        None => {
            let (mail, attachments) = make()?;
            let message_id = deliver::message_id(&key, &cfg.mail.from);
            let out = Outgoing {
                to_name: s.to_name.clone(),
                to_email: s.to_email.clone(),
                subject: mail.subject.clone(),
                text: mail.text,
                html: mail.html,
                message_id: message_id.clone(),
                date: now,
                attachments,
            };
            let message = match deliver::build(&cfg.mail, &out) {
                Ok(m) => m,
                Err(e) => {
                    summary.failed.push(format!("{}: {e}", s.to_email));
                    return Ok(());
                }
            };
            let e = OutboxEntry {
                idempotency_key: key.clone(),
                job: s.job.into(),
                period: s.period.clone(),
                recipient: s.to_email.clone(),
                kind: s.kind.clone(),
                message_id: message_id.trim_matches(['<', '>']).to_string(),
                subject: mail.subject,
                message,
                state: "pending".into(),
            };
            store.outbox_add(&e, now)?;
            e
        }
    };
    let readable = match s.kind.split_once(':') {
        // One of several messages to the same address (a 1:1 sheet per rep): name the rep.
        Some((_, rep)) => format!("{}_{}_{}_{rep}", s.job, s.period, s.to_email),
        None => format!("{}_{}_{}", s.job, s.period, s.to_email),
    };
    let name = deliver::safe_name(&readable, &key);
    match transport.send(&name, &entry.message) {
        Ok(()) => {
            store.outbox_mark_sent(&key, now)?;
            summary.sent += 1;
        }
        Err(e) => {
            store.outbox_mark_failed(&key, &e.to_string())?;
            summary.failed.push(format!("{}: {e}", s.to_email));
        }
    }
    Ok(())
}

fn transport(cfg: &Config) -> Box<dyn Transport> {
    match cfg.mail.transport {
        TransportKind::File => Box::new(FileTransport::new(&cfg.paths.outbox)),
    }
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
    store: &Store,
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
    let transport = transport(cfg);
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
        send_once(cfg, store, transport.as_ref(), &mut summary, send, now, || {
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
    store: &Store,
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
    let first_data = loaded.deals.iter().filter_map(|d| d.close_date).min().map(Period::of);
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
        let paperwork: Vec<report::PaperworkIssue> = metrics::rep_rows(period, &s.rep_key, &input, &cfg.metrics)
            .into_iter()
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
        let points = report::talking_points(templates, &cfg.org.format, period, s, cfg.metrics.below_target)?;
        let Some(pdf) = report::documents::one_on_one(
            fonts,
            &report::OneOnOneInput {
                org: &cfg.org.name,
                rep_key: &s.rep_key,
                history: &history,
                paperwork: &paperwork,
                talking_points: &points,
                rating_standard: cfg.metrics.rating_standard,
                paperwork_standard: cfg.metrics.paperwork_standard,
                fmt: &cfg.org.format,
                paper: cfg.pdf.paper,
                created: now.timestamp(),
            },
        ) else {
            continue;
        };
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
    let transport = transport(cfg);
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
        send_once(cfg, store, transport.as_ref(), &mut summary, send, now, || {
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
    Ok(summary)
}
