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
    /// Rep memos delivered by this run.
    pub sent: usize,
    /// Manager (team) memos delivered by this run.
    pub managers: usize,
    /// Correction notices delivered by this run (reps and managers).
    pub corrections: usize,
    /// Messages whose idempotency key was already sent: not sent again.
    pub already_sent: usize,
    /// Active reps who got no memo, and why.
    pub skipped: Vec<String>,
    /// Messages that failed (left pending in the outbox).
    pub failed: Vec<String>,
    /// Reps in last month's deals or quotas that match no roster rep.
    pub unmatched: Vec<String>,
    /// Set when nothing was sent because last month's final export is awaited.
    pub waiting: Option<String>,
    /// Set when the memos went out with last month preliminary (and why).
    pub preliminary: Option<String>,
    /// Where the file transport wrote.
    pub outbox: PathBuf,
}

/// What happened to one message.
enum Sent {
    /// Delivered now.
    Now,
    /// Its key was sent before.
    Before,
    /// The transport failed; it stays pending.
    Failed,
}

/// Hands messages to the transport through the outbox ledger: each is recorded as
/// pending with its idempotency key before it is sent, and marked sent after; a key
/// already sent is never sent again (DESIGN.md "Delivery").
struct Sender<'a> {
    cfg: &'a Config,
    store: &'a Store,
    transport: Box<dyn Transport>,
    now: DateTime<Utc>,
}

impl Sender<'_> {
    fn new<'a>(cfg: &'a Config, store: &'a Store, now: DateTime<Utc>) -> Sender<'a> {
        let transport: Box<dyn Transport> = match cfg.mail.transport {
            TransportKind::File => Box::new(FileTransport::new(&cfg.paths.outbox)),
        };
        Sender { cfg, store, transport, now }
    }

    /// Sends the message with idempotency key `key` (job/period/recipient/kind), rendering
    /// it with `make` only if the key is new. Returns what happened; on a new key,
    /// `facts` (JSON) are recorded with it for later corrections.
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
        let (to_name, to_email) = to;
        let entry = match self.store.outbox_get(key)? {
            Some(e) if e.state == "sent" => return Ok(Sent::Before),
            // Pending from an interrupted run: send exactly what was recorded.
            Some(e) => e,
            None => {
                let mail = make()?;
                let message_id = deliver::message_id(key, &self.cfg.mail.from);
                let out = Outgoing {
                    to_name: to_name.to_string(),
                    to_email: to_email.to_string(),
                    subject: mail.subject.clone(),
                    text: mail.text,
                    html: mail.html,
                    message_id: message_id.clone(),
                    date: self.now,
                };
                let message = match deliver::build(&self.cfg.mail, &out) {
                    Ok(m) => m,
                    Err(e) => {
                        failed.push(format!("{to_name}: {e}"));
                        return Ok(Sent::Failed);
                    }
                };
                let e = OutboxEntry {
                    idempotency_key: key.to_string(),
                    job: job.into(),
                    period: period.to_string(),
                    recipient: to_email.to_string(),
                    kind: kind.into(),
                    message_id: message_id.trim_matches(['<', '>']).to_string(),
                    subject: mail.subject,
                    message,
                    state: "pending".into(),
                };
                self.store.outbox_add(&e, self.now)?;
                if let Some((rep_key, json)) = facts {
                    self.store.facts_add(key, job, period, rep_key, json, self.now)?;
                }
                e
            }
        };
        let name = deliver::safe_name(&format!("{job}_{period}_{kind}_{to_email}"), key);
        match self.transport.send(&name, &entry.message) {
            Ok(()) => {
                self.store.outbox_mark_sent(key, self.now)?;
                Ok(Sent::Now)
            }
            Err(e) => {
                self.store.outbox_mark_failed(key, &e.to_string())?;
                failed.push(format!("{to_name}: {e}"));
                Ok(Sent::Failed)
            }
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
    store: &Store,
    templates: &Templates,
    period: Period,
    corrections: bool,
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
    let sender = Sender::new(cfg, store, now);
    let fmt = &cfg.org.format;
    if corrections {
        send_corrections(cfg, store, templates, &sender, &this_month, &mut summary)?;
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
        if let Some(admin) = &cfg.admin {
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
        match sender.send(
            &key,
            "quota-memo",
            period,
            "rep-memo",
            (&rep.name, email),
            Some((&rep_key, &facts)),
            || Ok(report::render_quota_memo(templates, &view)?),
            &mut summary.failed,
        )? {
            Sent::Now => summary.sent += 1,
            Sent::Before => summary.already_sent += 1,
            Sent::Failed => {}
        }
    }
    for (email, (name, keys)) in &managers {
        let view = report::team_memo_view(&cfg.org.name, fmt, name, keys, &this_month, &last_month, &before);
        let key = format!("quota-memo/{period}/{email}/team-memo");
        match sender.send(
            &key,
            "quota-memo",
            period,
            "team-memo",
            (name, email),
            None,
            || Ok(report::render_team_memo(templates, &view)?),
            &mut summary.failed,
        )? {
            Sent::Now => summary.managers += 1,
            Sent::Before => summary.already_sent += 1,
            Sent::Failed => {}
        }
    }
    Ok(summary)
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
        match sender.send(
            &key,
            "quota-memo",
            period,
            "correction",
            (&rep.name, email),
            Some((&rep_key, &facts)),
            || Ok(report::render_correction(templates, &view)?),
            &mut summary.failed,
        )? {
            Sent::Now => summary.corrections += 1,
            Sent::Before => summary.already_sent += 1,
            Sent::Failed => continue,
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
        match sender.send(
            &key,
            "quota-memo",
            period,
            "team-correction",
            (&name, &email),
            None,
            || Ok(report::render_correction(templates, &view)?),
            &mut summary.failed,
        )? {
            Sent::Now => summary.corrections += 1,
            Sent::Before => summary.already_sent += 1,
            Sent::Failed => {}
        }
    }
    Ok(())
}
