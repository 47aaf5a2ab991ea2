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
use crate::store::{FailureOutcome, NewImport, OutboxEntry, OutboxRow, OutboxState, Store, StoreStats};

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
    let sha: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    if let Some(prev) = store.find_import(&source.name, &sha)? {
        if cfg.paths.after_import == AfterImport::Move {
            move_to(path, &cfg.paths.archive, name)?;
        }
        return Ok(FileStatus::AlreadyImported { import_id: prev.id, at: prev.imported_at });
    }
    let parsed = match ingest::read_file(path, source, &cfg.ingest) {
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
    if cfg.paths.after_import == AfterImport::Move {
        move_to(path, &cfg.paths.archive, name)?;
    }
    Ok(FileStatus::Imported { stats, rejects: parsed.rejects, sheet: parsed.sheet, notes: parsed.notes, report })
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

/// The result of a quota memo run.
#[derive(Debug, Clone, Default)]
pub struct MemoSummary {
    /// The memo month.
    pub period: Option<Period>,
    /// Memos of this month delivered by this run.
    pub sent: usize,
    /// Memos recorded in the outbox by this run (new keys).
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
    /// Where the file transport writes.
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

/// Sends the quota memo for `period` to every active rep: this month's quota and last
/// month's results, attainment and ranks. Each message is first recorded in the outbox
/// ledger (idempotency key `quota-memo/PERIOD/EMAIL/rep-memo`, state `pending`), then
/// the outbox is delivered ([`deliver_outbox`]). A key already sent is never sent again
/// unless `resend` is set, which queues it again, freshly rendered, with a new Message-ID.
pub fn quota_memo(
    cfg: &Config,
    store: &mut Store,
    templates: &Templates,
    period: Period,
    resend: bool,
    now: DateTime<Utc>,
) -> Result<MemoSummary> {
    let roster = store.roster()?;
    if roster.is_empty() {
        bail!("the roster is empty: put the roster file in the inbox and run `quotad import`");
    }
    let last = period.prev();
    let deals = store.deals_between(last, period)?;
    let quotas = store.quotas_for(&[last, period])?;
    let this_month = metrics::month_standings(period, &roster, &deals, &quotas);
    let last_month = metrics::month_standings(last, &roster, &deals, &quotas);
    let mut summary = MemoSummary {
        period: Some(period),
        outbox: cfg.paths.outbox.clone(),
        unmatched: last_month.unmatched.clone(),
        ..Default::default()
    };
    for rep in roster.iter().filter(|r| r.active) {
        let Some(email) = rep.email.as_deref() else {
            summary.skipped.push(format!("{}: no e-mail address on the roster (row {})", rep.name, rep.origin.row));
            continue;
        };
        let key = format!("quota-memo/{period}/{email}/rep-memo");
        let existing = store.outbox_get(&key)?;
        let resends = match &existing {
            Some(row) if row.state == OutboxState::Sent && resend => row.resends + 1,
            Some(row) if row.state == OutboxState::Sent => {
                summary.already_sent += 1;
                continue;
            }
            Some(row) if row.state == OutboxState::Dead => {
                summary.dead_earlier += 1;
                continue;
            }
            // Recorded by an interrupted or failed run: delivered exactly as recorded.
            Some(_) => {
                summary.unfinished_earlier += 1;
                continue;
            }
            None => 0,
        };
        let view = report::quota_memo_view(&cfg.org.name, &cfg.org.format, &this_month, &last_month, &rep.key())
            .context("rep missing from standings")?;
        let mail = report::render_quota_memo(templates, &view)?;
        let message_id = deliver::message_id(&message_id_seed(&key, resends), &cfg.mail.from);
        let out = Outgoing {
            to_name: rep.name.clone(),
            to_email: email.to_string(),
            subject: mail.subject.clone(),
            text: mail.text,
            html: mail.html,
            message_id: message_id.clone(),
            date: now,
        };
        let message = match deliver::build(&cfg.mail, &out) {
            Ok(m) => m,
            Err(e) => {
                summary.failed.push(format!("{}: {e}", rep.name));
                continue;
            }
        };
        let entry = OutboxEntry {
            idempotency_key: key.clone(),
            job: "quota-memo".into(),
            period: period.to_string(),
            recipient: email.to_string(),
            kind: "rep-memo".into(),
            message_id: message_id.trim_matches(['<', '>']).to_string(),
            subject: mail.subject,
            message,
        };
        if existing.is_some() {
            store.outbox_resend(&entry)?;
            summary.resend += 1;
        } else {
            store.outbox_add(&entry, now)?;
            summary.queued += 1;
        }
    }
    let delivery = deliver_outbox(cfg, store, templates, now)?;
    let prefix = format!("quota-memo/{period}/");
    summary.sent = delivery.sent.iter().filter(|k| k.starts_with(&prefix)).count();
    summary.delivery = delivery;
    Ok(summary)
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
        let due = store.outbox_due(clock())?;
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
                    std::thread::sleep(wait);
                    continue;
                }
                None => break,
            }
        }
        for (i, row) in due.iter().enumerate() {
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

/// The file transport's name for a row: `JOB_PERIOD_RECIPIENT_KIND`, made
/// filesystem-safe, with `_resend-N` for the Nth resend.
fn file_name(row: &OutboxRow) -> String {
    let e = &row.entry;
    let base = format!("{}_{}_{}_{}", e.job, e.period, e.recipient, e.kind);
    let base = if row.resends == 0 { base } else { format!("{base}_resend-{}", row.resends) };
    deliver::safe_name(&base)
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
