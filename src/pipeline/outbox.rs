//! The outbox: [`Sender`] records each message in the ledger with its idempotency key
//! before anything is sent; [`deliver_outbox`] sends what is due through the configured
//! transport, only under the state lock (one deliverer per state database), with
//! retries; [`report_dead_letters`] tells the admin about a run's dead letters in one
//! notice, made true again when it goes (`true_notice`). Also the outbox as people
//! see it (`quotad status`, `quotad outbox list|retry`). May import `store` (the ledger),
//! `deliver` (transports), `report` (the dead-letter notice), `config` and `domain`.

use std::time::Instant;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use super::Stop;
use crate::config::Config;
use crate::deliver::{self, Addressee, DeliverError, FailureClass, Outgoing, Queued};
use crate::domain::{IdempotencyKey, KeyJob, KeyKind, Period};
use crate::report::{self, Templates};
use crate::store::{FailureOutcome, OutboxEntry, OutboxRow, OutboxState, RecipientOutcome, Store};

/// The key a resend uses to derive its own Message-ID: the key itself for the first
/// send, `KEY#resend-N` for the Nth resend (so a mail store that drops repeated
/// Message-IDs still shows a deliberate resend).
fn message_id_seed(key: &str, resends: u32) -> String {
    if resends == 0 { key.to_string() } else { format!("{key}#resend-{resends}") }
}

/// What queueing one message did.
pub(super) enum Sent {
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
/// (each message is delivered once per idempotency key).
///
/// A holding sender ([`Sender::holding`], for approval: `approval.rs`) records nothing:
/// it collects each message it would have queued, with its content hash, for
/// `approval.rs` to hold outside the outbox until approved.
pub(super) struct Sender<'a> {
    cfg: &'a Config,
    store: &'a Store,
    resend: bool,
    now: DateTime<Utc>,
    held: Option<std::cell::RefCell<Vec<crate::store::HeldMessage>>>,
}

impl Sender<'_> {
    pub(super) fn new<'a>(cfg: &'a Config, store: &'a Store, resend: bool, now: DateTime<Utc>) -> Sender<'a> {
        Sender { cfg, store, resend, now, held: None }
    }

    /// A sender that collects instead of queueing (see [`Sender::into_held`]).
    pub(super) fn holding<'a>(cfg: &'a Config, store: &'a Store, now: DateTime<Utc>) -> Sender<'a> {
        Sender { cfg, store, resend: false, now, held: Some(Default::default()) }
    }

    /// The messages a holding sender collected, in the order they were rendered.
    pub(super) fn into_held(self) -> Vec<crate::store::HeldMessage> {
        self.held.map(|h| h.into_inner()).unwrap_or_default()
    }

    /// Queues the message with idempotency key `key` to one address `to` (name,
    /// address), rendering it with `make` only if it is to be (re)queued; `facts` (rep
    /// key, JSON) are recorded with a new message for later corrections.
    pub(super) fn send(
        &self,
        key: &IdempotencyKey,
        to: (&str, &str),
        facts: Option<(&str, &str)>,
        make: impl FnOnce() -> Result<report::RenderedMail>,
        failed: &mut Vec<String>,
    ) -> Result<Sent> {
        let to = [Addressee::new(to.0, to.1)];
        let sent = self.queue(key, &to, &[], || Ok((make()?, Vec::new())), failed)?;
        if let (Sent::Queued | Sent::Resent, Some((rep_key, json)), Some(held)) = (&sent, facts, &self.held) {
            if let Some(m) = held.borrow_mut().last_mut() {
                m.facts = Some((rep_key.to_string(), json.to_string()));
            }
        } else if let (Sent::Queued | Sent::Resent, Some((rep_key, json))) = (&sent, facts) {
            let period: Period = key.period.parse().map_err(anyhow::Error::msg)?;
            self.store.facts_add(&key.to_string(), key.job.as_str(), period, rep_key, json, self.now)?;
        }
        Ok(sent)
    }

    /// Records one chat post (issue 22) with idempotency key `key` to `channel`
    /// (`channel:NAME`), its message the JSON `payload` and its subject `subject` (for
    /// `outbox list` and the dead-letter notice), unless the key is already in the
    /// ledger: same answers as [`Sender::queue`]. The Message-ID column holds the key.
    /// A holding sender holds it instead, as it holds e-mails.
    pub(super) fn queue_post(
        &self,
        key: &IdempotencyKey,
        channel: &str,
        subject: &str,
        payload: Vec<u8>,
    ) -> Result<Sent> {
        let text = key.to_string();
        match self.store.outbox_get(&text)? {
            Some(row) if row.state == OutboxState::Sent => return Ok(Sent::Before),
            Some(row) if row.state == OutboxState::Dead => return Ok(Sent::Dead),
            Some(_) => return Ok(Sent::Unfinished),
            None => {}
        }
        let entry = OutboxEntry {
            idempotency_key: text.clone(),
            job: key.job.as_str().into(),
            period: key.period.clone(),
            recipient: channel.to_string(),
            recipients: vec![channel.to_string()],
            kind: key.kind.column(),
            message_id: text,
            subject: subject.to_string(),
            message: payload,
        };
        if let Some(held) = &self.held {
            // Held for approval with the memos: its content is the channel and the payload.
            let content_hash = crate::domain::sha256_hex(&[channel.as_bytes(), b"\n", &entry.message].concat());
            held.borrow_mut().push(crate::store::HeldMessage { entry, content_hash, facts: None });
            return Ok(Sent::Queued);
        }
        self.store.outbox_add(&entry, self.now)?;
        Ok(Sent::Queued)
    }

    /// Records one message (with attachments) in the outbox: the one place messages are
    /// built and queued. `to` and `cc` are its recipients (To at least one; each
    /// address is an envelope recipient once); the outbox columns job, period,
    /// recipient and kind come from `key`.
    pub(super) fn queue(
        &self,
        key: &IdempotencyKey,
        to: &[Addressee],
        cc: &[Addressee],
        make: impl FnOnce() -> Result<(report::RenderedMail, Vec<deliver::MailAttachment>)>,
        failed: &mut Vec<String>,
    ) -> Result<Sent> {
        let text = key.to_string();
        let existing = self.store.outbox_get(&text)?;
        let resends = match &existing {
            Some(row) if row.state == OutboxState::Sent && self.resend => row.resends + 1,
            Some(row) if row.state == OutboxState::Sent => return Ok(Sent::Before),
            Some(row) if row.state == OutboxState::Dead => return Ok(Sent::Dead),
            Some(_) => return Ok(Sent::Unfinished),
            None => 0,
        };
        let (mail, attachments) = make()?;
        let message_id = deliver::message_id(&message_id_seed(&text, resends), &self.cfg.mail.from);
        let out = Outgoing {
            to: to.to_vec(),
            cc: cc.to_vec(),
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
                let who = match to {
                    [one] if cc.is_empty() => one.name.clone(),
                    _ => key.recipient.to_string(),
                };
                failed.push(format!("{who}: {e}"));
                return Ok(Sent::Failed);
            }
        };
        let entry = OutboxEntry {
            idempotency_key: text,
            job: key.job.as_str().into(),
            period: key.period.clone(),
            recipient: key.recipient.to_string(),
            recipients: out.envelope(),
            kind: key.kind.column(),
            message_id: message_id.trim_matches(['<', '>']).to_string(),
            subject: mail.subject,
            message,
        };
        if let Some(held) = &self.held {
            let content_hash = super::approval::content_hash(&out);
            held.borrow_mut().push(crate::store::HeldMessage { entry, content_hash, facts: None });
            return Ok(Sent::Queued);
        }
        if existing.is_some() {
            self.store.outbox_resend(&entry)?;
            return Ok(Sent::Resent);
        }
        self.store.outbox_add(&entry, self.now)?;
        Ok(Sent::Queued)
    }
}

/// What one delivery of the outbox did.
#[derive(Debug, Clone, Default)]
pub struct Delivery {
    /// Where messages went, e.g. "var/outbox" or "SMTP smtp.example.com:587 (STARTTLS)".
    pub transport: String,
    /// Keys accepted by the transport in this delivery, for every recipient (a message
    /// with several recipients counts when the last of them has it), in order.
    pub sent: Vec<String>,
    /// Keys that became dead letters in this delivery, with their last error.
    pub dead: Vec<(String, String)>,
    /// Keys found in `sending` when the delivery started: a crash interrupted them
    /// between "sending" and "sent", so they were sent again with the same Message-ID
    /// (the server may have received them twice: README "Delivery").
    pub interrupted: Vec<String>,
    /// Failed attempts that were retried later in this delivery.
    pub retried: usize,
    /// Messages still waiting in the outbox when it returned (pending, or failed and
    /// waiting for a retry): none unless it was stopped or, for the daemon, a retry is
    /// backing off.
    pub left: usize,
}

/// How many outbox rows delivery loads at once.
const DELIVERY_BATCH: usize = 32;

/// Delivers every message due in the outbox, oldest first, through the configured
/// transport (one SMTP connection for the batch), until each is `sent` or `dead`.
///
/// - Rows left `sending` by a crash are sent again first, with the same Message-ID.
/// - Each row is marked `sending` (committed) before its transaction and `sent` after
///   the server's 250 (or the file's rename).
/// - A failed attempt is retried after the backoff of `mail.retry_*`. When no session
///   can be opened (server down, silent, TLS or AUTH failing), that one failed
///   connection counts one attempt against **every** message waiting for the server,
///   not just the batch in hand, and they wait together: a dead server costs one
///   timeout per attempt, whatever the number of messages. After `mail.max_attempts`
///   attempts, or at once on a permanent (5xx) refusal, a row is `dead`
///   ([`Delivery::dead`]); the caller tells `mail.admin` once at the end of its run
///   ([`report_dead_letters`]), not this call.
/// - A dead-letter notice is checked as it goes: letters sent again since are dropped
///   from it, or it is withdrawn (`true_notice`).
/// - It runs only under the state lock: the caller's, or taken here when its process
///   holds none ([`super::hold_state_lock`]); another quotad holding it is an
///   error.
///
/// With a command's token this call sleeps through backoffs; with the daemon's
/// ([`Stop::for_daemon`]) it returns at the first one ([`Delivery::left`] says how many
/// wait) and the daemon delivers again when the retry is due. When `stop` is requested
/// it finishes the message whose payload is being written, abandons a wait that hands
/// nothing over (the row goes back as it was, no attempt counted), leaves the rest
/// pending (sent at the next start) and does not wait for retries. Times recorded are
/// `now` plus the time elapsed in this call (monotonic), so they stay derived from the
/// `now` passed in.
pub fn deliver_outbox(
    cfg: &Config,
    store: &mut Store,
    templates: &Templates,
    now: DateTime<Utc>,
    stop: &Stop,
) -> Result<Delivery> {
    let started = Instant::now();
    let clock = || now + chrono::Duration::from_std(started.elapsed()).unwrap_or_else(|_| chrono::Duration::zero());
    // Never beside another deliverer: it would take this one's `sending` rows for crash
    // leftovers and send them twice. The command that called holds the state lock.
    let _lock = super::hold_state_lock(cfg, "deliver")?;
    let mut transport =
        deliver::open(&cfg.mail, &cfg.paths.outbox, stop.flag()).context("cannot deliver the outbox")?;
    let mut d = Delivery { transport: transport.describe(), ..Default::default() };
    d.interrupted = store.outbox_recover_interrupted()?;
    for key in &d.interrupted {
        if super::channels::is_chat_key(key) {
            tracing::warn!("{key}: a crash interrupted its post; posting it again (the channel may show it twice)");
            continue;
        }
        tracing::warn!(
            "{key}: a crash interrupted its delivery after it was handed to {}; sending it again with the same Message-ID",
            d.transport
        );
    }
    let policy = cfg.mail.retry;
    // Posts to one webhook are spaced at the platform's rate (issue 22).
    let mut pacer = crate::deliver::chat::Pacer::default();
    'delivery: loop {
        // A batch at a time: the messages carry their attachments.
        // A `serve` instance on PostgreSQL claims its batch first (the others skip it).
        let due = super::channels::paced_order(store.outbox_claim_due(clock(), DELIVERY_BATCH)?);
        if due.is_empty() {
            match store.outbox_next_retry()? {
                Some(at) if stop.waits_for_retries() => {
                    transport.close();
                    let wait = (at - clock()).to_std().unwrap_or_default();
                    tracing::info!("waiting {:.1} s for the next retry", wait.as_secs_f64());
                    let until = Instant::now() + wait;
                    while Instant::now() < until && !stop.requested() {
                        std::thread::sleep((until - Instant::now()).min(std::time::Duration::from_millis(100)));
                    }
                    if stop.requested() {
                        break;
                    }
                    continue;
                }
                _ => break,
            }
        }
        if stop.requested() {
            break;
        }
        for (i, row) in due.iter().enumerate() {
            if stop.requested() {
                // Shutting down: the message in flight is finished; the rest stay
                // pending and go at the next start.
                tracing::info!("shutting down: {} message(s) left pending in the outbox", due.len() - i);
                break 'delivery;
            }
            let rewritten;
            let row = if row.entry.job == KeyJob::DeadLetters.as_str() {
                match true_notice(cfg, store, templates, row, clock())? {
                    Some(r) => {
                        rewritten = r;
                        &rewritten
                    }
                    None => continue,
                }
            } else {
                row
            };
            let e = &row.entry;
            let due_to = store.outbox_due_recipients(&e.idempotency_key, clock())?;
            if due_to.is_empty() {
                // Nobody left to try now (a crash between recording recipients and the
                // row): settle the row's state from its recipients.
                store.outbox_record_attempt(&e.idempotency_key, &[], clock())?;
                continue;
            }
            if super::channels::channel_of(e).is_some() {
                // A chat post goes to its webhook, not the mail transport (issue 22).
                if !store.outbox_mark_sending(&e.idempotency_key, clock())? {
                    continue; // another instance took it over
                }
                let policy = cfg.mail.retry;
                let mut outcomes = Vec::new();
                for r in &due_to {
                    outcomes.push((
                        r.address.clone(),
                        super::channels::deliver_post(cfg, row, r.attempts, policy, &mut pacer, clock())?,
                    ));
                }
                record(store, &mut d, &e.idempotency_key, &outcomes, clock())?;
                continue;
            }
            let addresses: Vec<&str> = due_to.iter().map(|r| r.address.as_str()).collect();
            // Wait for the rate limit and open the session before the row is marked
            // `sending`, so that `sending` covers only the transaction itself.
            let (marked, result) = match transport.prepare() {
                Ok(()) => {
                    if !store.outbox_mark_sending(&e.idempotency_key, clock())? {
                        // This instance stalled longer than a lease and another took
                        // the row over: it is theirs to send.
                        tracing::warn!("{}: claimed by another instance meanwhile; not sent here", e.idempotency_key);
                        continue;
                    }
                    let name = file_name(row);
                    (true, transport.send(&Queued { name: &name, recipients: &addresses, message: &e.message }))
                }
                Err(err) => (false, Err(err)),
            };
            match result {
                Ok(refusals) => {
                    let mut outcomes = Vec::new();
                    for r in &due_to {
                        match refusals.iter().find(|x| x.recipient == r.address) {
                            None => outcomes.push((r.address.clone(), RecipientOutcome::Accepted)),
                            Some(x) => {
                                let failure = failure(&x.error, r.attempts, policy, clock())?;
                                tracing::warn!("{}: {}", e.idempotency_key, x.error);
                                outcomes.push((r.address.clone(), failure));
                            }
                        }
                    }
                    record(store, &mut d, &row.entry.idempotency_key, &outcomes, clock())?;
                }
                Err(err) => match err.class() {
                    FailureClass::Abandoned => {
                        // Stopping before anything was handed over: as it was.
                        if marked {
                            store.outbox_unmark_sending(&e.idempotency_key)?;
                        }
                        tracing::info!("{err}; {} stays in the outbox, not counted as an attempt", e.idempotency_key);
                        break 'delivery;
                    }
                    FailureClass::Connection => {
                        // No session: nothing waiting for this server can go now. Each
                        // message due counts this one attempt and waits for its backoff.
                        if marked {
                            store.outbox_unmark_sending(&e.idempotency_key)?;
                        }
                        // Chat posts do not wait for the mail server.
                        let waiting: Vec<(String, u32)> = store
                            .outbox_due_attempts(clock())?
                            .into_iter()
                            .filter(|(k, _)| !super::channels::is_chat_key(k))
                            .collect();
                        tracing::warn!(
                            "{err}; {} message(s) wait (attempt {} of {})",
                            waiting.len(),
                            row.attempts + 1,
                            policy.max_attempts
                        );
                        let at = clock();
                        for (key, _) in &waiting {
                            let rcpts = store.outbox_due_recipients(key, at)?;
                            let mut outcomes = Vec::new();
                            for x in rcpts {
                                outcomes.push((x.address, failure(&err, x.attempts, policy, at)?));
                            }
                            record(store, &mut d, key, &outcomes, at)?;
                        }
                        continue 'delivery;
                    }
                    FailureClass::Transient | FailureClass::Permanent => {
                        tracing::warn!(
                            "{}: {err} (attempt {} of {})",
                            e.idempotency_key,
                            row.attempts + 1,
                            policy.max_attempts
                        );
                        let mut outcomes = Vec::new();
                        for x in due_to {
                            outcomes.push((x.address, failure(&err, x.attempts, policy, clock())?));
                        }
                        record(store, &mut d, &row.entry.idempotency_key, &outcomes, clock())?;
                    }
                },
            }
        }
    }
    transport.close();
    store.outbox_release_claims()?;
    d.left = store.outbox_waiting_count()?;
    Ok(d)
}

/// The file transport's name for a row: `JOB_PERIOD_KIND_RECIPIENT`, made
/// filesystem-safe and unique, with `_resend-N` for the Nth resend.
fn file_name(row: &OutboxRow) -> String {
    let e = &row.entry;
    let base = format!("{}_{}_{}_{}", e.job, e.period, e.kind, e.recipient);
    let base = if row.resends == 0 { base } else { format!("{base}_resend-{}", row.resends) };
    deliver::safe_name(&base, &e.idempotency_key)
}

/// What `err` means for a recipient that had `attempts` before this one: retried
/// after the backoff, or dead (a permanent refusal, or the last attempt allowed).
fn failure(
    err: &DeliverError,
    attempts: u32,
    policy: deliver::RetryPolicy,
    now: DateTime<Utc>,
) -> Result<RecipientOutcome> {
    let permanent = err.class() == FailureClass::Permanent;
    let outcome = match policy.backoff(attempts + 1) {
        Some(wait) if !permanent => FailureOutcome::RetryAt(now + chrono::Duration::from_std(wait)?),
        _ => FailureOutcome::Dead,
    };
    Ok(RecipientOutcome::Failed { error: err.to_string(), outcome })
}

/// Records one attempt of `row` and counts what it led to: sent (every recipient has
/// it), waiting for a retry, or dead.
fn record(
    store: &Store,
    d: &mut Delivery,
    key: &str,
    outcomes: &[(String, RecipientOutcome)],
    now: DateTime<Utc>,
) -> Result<()> {
    match store.outbox_record_attempt(key, outcomes, now)? {
        OutboxState::Sent => d.sent.push(key.to_string()),
        OutboxState::Dead => {
            let row = store.outbox_get(key)?;
            let attempts = row.as_ref().map_or(0, |r| r.attempts);
            let error = row.and_then(|r| r.last_error).unwrap_or_default();
            tracing::warn!("{key}: dead letter after {attempts} attempt(s): {error}");
            d.dead.push((key.to_string(), error));
        }
        _ => {}
    }
    if outcomes.iter().any(|(_, o)| matches!(o, RecipientOutcome::Failed { outcome: FailureOutcome::RetryAt(_), .. })) {
        d.retried += 1;
    }
    Ok(())
}

/// What [`report_dead_letters`] told `mail.admin`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeadLetterReport {
    /// The admin's address (`mail.admin`).
    pub admin: String,
    /// How many dead letters the one notice lists.
    pub letters: usize,
    /// Whether the notice was delivered now (false: it waits in the outbox, e.g. the
    /// admin's server refused it for now).
    pub delivered: bool,
}

/// Tells `mail.admin` about the dead letters nobody has been told about yet: ONE notice
/// per run, listing them all, queued and delivered now. Called once at the end of a
/// run (`run`, `run all`, `import`, `outbox retry`, each unit of `serve`'s work), never
/// per delivery, so that a run whose jobs deliver several times still sends one.
///
/// Returns `None` (nothing sent; the letters wait for a later call) when there is no
/// admin, no unreported dead letter, a stop was requested, or a message still waits for
/// a retry — the daemon's delivery returns at a backoff, and the notice then waits until
/// every message of the run is sent or dead, so that it lists them all at once.
///
/// Errors: the notice cannot be rendered or built, the state database, delivery.
pub fn report_dead_letters(
    cfg: &Config,
    store: &mut Store,
    templates: &Templates,
    now: DateTime<Utc>,
    stop: &Stop,
) -> Result<Option<DeadLetterReport>> {
    let Some(admin) = &cfg.mail.admin else { return Ok(None) };
    if stop.requested() || store.outbox_next_retry()?.is_some() {
        return Ok(None);
    }
    let dead = store.outbox_dead_unnotified()?;
    if dead.is_empty() {
        return Ok(None);
    }
    let transport = transport_label(cfg);
    let mail = dead_letter_mail(cfg, store, templates, &transport, &dead)?;
    let stamp = now.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let to = admin.email.to_string();
    let key = IdempotencyKey::to(KeyJob::DeadLetters, &stamp, &to, KeyKind::AdminNotice);
    let message_id = deliver::message_id(&key.to_string(), &cfg.mail.from);
    let subject = mail.subject.clone();
    let message = build_notice(cfg, admin, mail, &message_id, now)?;
    let entry = OutboxEntry {
        idempotency_key: key.to_string(),
        job: key.job.as_str().into(),
        period: stamp,
        recipients: vec![to.clone()],
        recipient: to.clone(),
        kind: key.kind.column(),
        message_id: message_id.trim_matches(['<', '>']).to_string(),
        subject,
        message,
    };
    let listed: Vec<String> = dead.iter().map(|r| r.entry.idempotency_key.clone()).collect();
    store.outbox_add_notice(&entry, &listed, now)?;
    let d = deliver_outbox(cfg, store, templates, now, stop)?;
    let delivered = d.sent.contains(&entry.idempotency_key);
    Ok(Some(DeadLetterReport { admin: to, letters: listed.len(), delivered }))
}

/// Where messages go, as the transport describes itself: "SMTP HOST:PORT (STARTTLS)"
/// or the outbox folder of the file transport.
fn transport_label(cfg: &Config) -> String {
    match super::smtp_route(cfg) {
        Some(s) => {
            let how = match s.tls {
                "starttls" => "STARTTLS",
                "tls" => "implicit TLS",
                _ => "unencrypted, local relay",
            };
            format!("SMTP {} ({how})", s.server)
        }
        None => cfg.paths.outbox.display().to_string(),
    }
}

/// The dead-letter notice listing `dead`, rendered.
fn dead_letter_mail(
    cfg: &Config,
    store: &Store,
    templates: &Templates,
    transport: &str,
    dead: &[OutboxRow],
) -> Result<report::RenderedMail> {
    let mut letters = Vec::new();
    for r in dead {
        // A message with several recipients names the ones it did not reach.
        let undelivered: Vec<String> = store
            .outbox_recipients(&r.entry.idempotency_key)?
            .into_iter()
            .filter(|x| x.state != OutboxState::Sent)
            .map(|x| x.address)
            .collect();
        let recipient = if r.entry.recipients.len() > 1 && !undelivered.is_empty() {
            format!("{} ({})", undelivered.join(", "), r.entry.recipient)
        } else {
            r.entry.recipient.clone()
        };
        letters.push(report::DeadLetterView {
            recipient,
            subject: r.entry.subject.clone(),
            key: r.entry.idempotency_key.clone(),
            attempts: r.attempts,
            created_at: r.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            last_error: r.last_error.clone().unwrap_or_default(),
        });
    }
    Ok(report::render_dead_letters(templates, &report::DeadLettersView::new(&cfg.org.name, transport, letters))?)
}

/// The notice's RFC 5322 message to `admin` with Message-ID `message_id` (`<…>`).
fn build_notice(
    cfg: &Config,
    admin: &deliver::Mailbox,
    mail: report::RenderedMail,
    message_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<u8>> {
    let to = admin.email.to_string();
    let out = Outgoing {
        to: vec![Addressee::new(&admin.name.clone().unwrap_or_default(), &to)],
        cc: Vec::new(),
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        message_id: message_id.to_string(),
        date: now,
        attachments: Vec::new(),
    };
    deliver::build(&cfg.mail, &out).with_context(|| format!("building the dead-letter notice to {to}"))
}

/// A dead-letter notice about to be sent, made true: the letters it lists that have
/// been sent since (`quotad outbox retry`) are dropped from it — rewritten listing the
/// ones still dead, or withdrawn (`None`: not sent) when none is. A notice queued
/// before quotad recorded its letters goes as it is.
fn true_notice(
    cfg: &Config,
    store: &mut Store,
    templates: &Templates,
    row: &OutboxRow,
    now: DateTime<Utc>,
) -> Result<Option<OutboxRow>> {
    let key = &row.entry.idempotency_key;
    let (lists, still) = store.outbox_notice_letters(key)?;
    let Some(lists) = lists else { return Ok(Some(row.clone())) };
    if still.len() == lists as usize {
        return Ok(Some(row.clone()));
    }
    if still.is_empty() {
        if store.outbox_notice_withdraw(key)? {
            tracing::info!("{key}: withdrawn, not sent: every message it listed has been sent again since");
        }
        return Ok(None);
    }
    let Some(admin) = &cfg.mail.admin else { return Ok(Some(row.clone())) };
    let mail = dead_letter_mail(cfg, store, templates, &transport_label(cfg), &still)?;
    let subject = mail.subject.clone();
    let message = build_notice(cfg, admin, mail, &format!("<{}>", row.entry.message_id), now)?;
    store.outbox_notice_rewrite(key, &subject, &message, still.len() as u32)?;
    tracing::info!(
        "{key}: rewritten to list the {} of its {lists} message(s) still undelivered (the others were sent again since)",
        still.len()
    );
    Ok(store.outbox_get(key)?)
}

/// One outbox row as people see it (`quotad status`, `quotad outbox list`).
#[derive(Debug, Clone)]
pub struct OutboxLine {
    /// The idempotency key, `JOB/PERIOD/RECIPIENT/KIND`.
    pub key: String,
    /// pending, sending, sent, failed or dead.
    pub state: &'static str,
    /// Delivery attempts made.
    pub attempts: u32,
    /// When it was queued, UTC.
    pub queued: DateTime<Utc>,
    /// The message's subject.
    pub subject: String,
    /// The last attempt's error, if any.
    pub last_error: Option<String>,
    /// When it is tried again, UTC (failed rows only).
    pub next_attempt: Option<DateTime<Utc>>,
    /// How many times `--resend` queued it again.
    pub resends: u32,
    /// How many times a crash interrupted its delivery.
    pub interrupted: u32,
}

impl From<&OutboxRow> for OutboxLine {
    fn from(r: &OutboxRow) -> OutboxLine {
        OutboxLine {
            key: r.entry.idempotency_key.clone(),
            state: r.state.as_str(),
            attempts: r.attempts,
            queued: r.created_at,
            subject: r.entry.subject.clone(),
            last_error: r.last_error.clone(),
            next_attempt: r.next_attempt_at.filter(|_| r.state == OutboxState::Failed),
            resends: r.resends,
            interrupted: r.interrupted,
        }
    }
}

/// The outbox ledger in numbers, for `quotad status`.
#[derive(Debug, Clone)]
pub struct OutboxStatus {
    /// Rows per state, every state in ledger order (pending, sending, sent, failed,
    /// dead), zeros included.
    pub counts: Vec<(&'static str, u64)>,
    /// Of those, the chat posts (issue 22) per state, zeros included.
    pub chat_counts: Vec<(&'static str, u64)>,
    /// The oldest row not yet sent (pending, sending or failed), if any.
    pub oldest_waiting: Option<OutboxLine>,
    /// Every dead letter (at most 1000), oldest first.
    pub dead: Vec<OutboxLine>,
}

/// Counts per state, the oldest message not yet sent, and the dead letters.
///
/// Errors: the state database cannot be read.
pub fn outbox_status(store: &Store) -> Result<OutboxStatus> {
    let counts = store.outbox_counts()?;
    let count = |s: OutboxState| counts.iter().find(|(x, _)| *x == s).map(|(_, n)| *n).unwrap_or(0);
    let counts = OutboxState::ALL.iter().map(|s| (s.as_str(), count(*s))).collect();
    let chat = store.outbox_chat_counts()?;
    let chat_counts = OutboxState::ALL
        .iter()
        .map(|s| (s.as_str(), chat.iter().find(|(x, _)| x == s).map_or(0, |(_, n)| *n)))
        .collect();
    let waiting = store.outbox_list(&[OutboxState::Pending, OutboxState::Sending, OutboxState::Failed], 1)?;
    let dead = store.outbox_list(&[OutboxState::Dead], 1000)?;
    Ok(OutboxStatus {
        counts,
        chat_counts,
        oldest_waiting: waiting.first().map(OutboxLine::from),
        dead: dead.iter().map(OutboxLine::from).collect(),
    })
}

/// The outbox rows in `states` (all states when empty), oldest first, at most `limit`.
///
/// Errors: the state database cannot be opened or read.
pub fn outbox_list(cfg: &Config, states: &[OutboxState], limit: usize) -> Result<Vec<OutboxLine>> {
    let store = super::open_store_read_only(cfg)?;
    Ok(store.outbox_list(states, limit)?.iter().map(OutboxLine::from).collect())
}

/// What `quotad outbox retry` requeued.
#[derive(Debug, Clone, Default)]
pub struct Requeued {
    /// Keys set back to pending, due now.
    pub requeued: Vec<String>,
    /// Keys not requeued, each with why: "no such key in the outbox", or its state
    /// when it is not failed or dead.
    pub not_requeued: Vec<(String, String)>,
}

/// Sets the failed or dead messages `keys` (all failed and dead ones when empty) back
/// to pending, due now, with their attempts reset; [`deliver_outbox`] then sends them.
/// A dead letter set back leaves the admin's notice not yet sent that listed it (the
/// notice is rewritten or withdrawn before it goes: see [`report_dead_letters`]).
/// Call it only under the state lock ([`retry_outbox`] takes it first).
///
/// Errors: the state database cannot be written.
pub fn requeue(store: &mut Store, keys: &[String]) -> Result<Requeued> {
    let requeued = store.outbox_requeue(keys)?;
    let mut not_requeued = Vec::new();
    for k in keys.iter().filter(|k| !requeued.contains(k)) {
        let why = match store.outbox_get(k)? {
            Some(r) => format!("it is {}, not failed or dead", r.state.as_str()),
            None => "no such key in the outbox".to_string(),
        };
        not_requeued.push((k.clone(), why));
    }
    Ok(Requeued { requeued, not_requeued })
}

/// What `quotad outbox retry` did, counted over the messages it requeued.
#[derive(Debug, Clone, Default)]
pub struct Retried {
    /// What was requeued, and what was not (and why).
    pub requeued: Requeued,
    /// Requeued messages sent to every recipient by this retry.
    pub delivered: Vec<String>,
    /// Requeued messages that failed for good again, with their last error.
    pub dead_again: Vec<(String, String)>,
    /// Requeued messages still waiting (a stop came first): they go at the next run.
    pub waiting: Vec<String>,
    /// Requeued dead-letter notices withdrawn unsent: every letter they listed was sent
    /// again since, so they would have told the admin something no longer true.
    pub withdrawn: Vec<String>,
    /// The whole delivery (other messages that were due went with them).
    pub delivery: Delivery,
    /// The admin's one notice about the dead letters, if one was sent.
    pub reported: Option<DeadLetterReport>,
}

/// `quotad outbox retry [KEY…]`: takes the state lock FIRST (refusing, or waiting with
/// [`IfLocked::Wait`](super::IfLocked::Wait), while another quotad works on the state —
/// so nothing in the ledger moves when it is refused), then [`requeue`]s `keys` (every
/// failed and dead message when empty), delivers, and tells the admin once about what
/// died again ([`report_dead_letters`]). Counts are over the requeued messages: a
/// notice or another job's message delivered alongside is not counted as retried.
///
/// Errors: the lock (another quotad; the message names its pid and command), the state
/// database, delivery.
pub fn retry_outbox(
    cfg: &Config,
    templates: &Templates,
    keys: &[String],
    now: DateTime<Utc>,
    stop: &Stop,
    if_locked: super::IfLocked,
) -> Result<Retried> {
    let _lock = super::lock_state_as(cfg, "outbox retry", if_locked)?;
    let mut store = super::open_store(cfg)?;
    let requeued = requeue(&mut store, keys)?;
    let delivery = deliver_outbox(cfg, &mut store, templates, now, stop)?;
    let mut r = Retried { delivery, ..Default::default() };
    for k in &requeued.requeued {
        match store.outbox_get(k)? {
            Some(row) if row.state == OutboxState::Sent => r.delivered.push(k.clone()),
            Some(row) if row.state == OutboxState::Dead => {
                r.dead_again.push((k.clone(), row.last_error.unwrap_or_default()))
            }
            Some(_) => r.waiting.push(k.clone()),
            None => r.withdrawn.push(k.clone()),
        }
    }
    r.requeued = requeued;
    r.reported = report_dead_letters(cfg, &mut store, templates, now, stop)?;
    Ok(r)
}
