//! The outbox ledger: the `outbox` table (every rendered message, keyed by its
//! idempotency key, with its delivery state and history) and
//! `outbox_recipients` (each envelope recipient of a message with its own acceptance, so
//! that a recipient the server refused is retried or dead alone, never by sending the
//! message again to those who accepted it). Imports the store's `sql` layer (both engines) only.

use std::collections::HashSet;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::sql::{Conn, Optional, Param, Row, SqlResult, params};
use super::{Result, Store, StoreError, instant, ts};

/// A message to record in the outbox ledger.
#[derive(Debug, Clone)]
pub struct OutboxEntry {
    /// (job, period, recipient, kind) joined with '/', e.g.
    /// `quota-memo/2026-11/ann@example.com/rep-memo`.
    pub idempotency_key: String,
    /// Job name, e.g. "quota-memo".
    pub job: String,
    /// Period or occurrence, e.g. "2026-11".
    pub period: String,
    /// The key's recipient: the address of a one-recipient message, else the group
    /// (`team:NAME`, `list:NAME`).
    pub recipient: String,
    /// The envelope recipients (SMTP RCPT TO), To then Cc, each once. Empty when
    /// recording means `[recipient]`.
    pub recipients: Vec<String>,
    /// Message kind, e.g. "rep-memo".
    pub kind: String,
    /// Message-ID derived from the key, without angle brackets.
    pub message_id: String,
    /// Subject line.
    pub subject: String,
    /// The formatted RFC 5322 message.
    pub message: Vec<u8>,
}

/// Where a message is in the outbox ledger. Transitions: `Pending -> Sending -> Sent`;
/// a failed attempt goes `Sending -> Failed` (retried when its backoff has passed,
/// `Failed -> Sending`) or, after the configured attempts or on a permanent refusal,
/// `Sending -> Dead`. A row found in `Sending` when a run starts was interrupted by a
/// crash and is sent again with the same Message-ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OutboxState {
    /// Recorded, not yet attempted.
    Pending,
    /// Handed to the transport; not yet acknowledged.
    Sending,
    /// Accepted by the transport (SMTP 250, or the .eml file renamed into place).
    Sent,
    /// The last attempt failed; retried at `next_attempt_at`.
    Failed,
    /// Given up: the admin is told once; `quotad outbox retry` requeues it.
    Dead,
}

impl OutboxState {
    /// Every state, in lifecycle order.
    pub const ALL: [OutboxState; 5] =
        [OutboxState::Pending, OutboxState::Sending, OutboxState::Sent, OutboxState::Failed, OutboxState::Dead];

    /// The stored (and displayed) name: pending, sending, sent, failed, dead.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Sending => "sending",
            OutboxState::Sent => "sent",
            OutboxState::Failed => "failed",
            OutboxState::Dead => "dead",
        }
    }

    /// Parses a stored name; `None` for anything else.
    pub fn parse(s: &str) -> Option<OutboxState> {
        OutboxState::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// An outbox ledger row as stored: the message plus its delivery history.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    /// The recorded message.
    pub entry: OutboxEntry,
    /// Current state.
    pub state: OutboxState,
    /// Attempts made since it was (re)queued; a success counts as one.
    pub attempts: u32,
    /// The last failure, naming the server or file and the recipient.
    pub last_error: Option<String>,
    /// When it was first recorded (UTC).
    pub created_at: DateTime<Utc>,
    /// When it was accepted (UTC), if it was.
    pub sent_at: Option<DateTime<Utc>>,
    /// A failed row is retried at or after this instant (UTC).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// How many times a user asked to send it again (`--resend`).
    pub resends: u32,
    /// How many times it was found in `sending` after a crash and sent again with the
    /// same Message-ID (the documented duplicate window).
    pub interrupted: u32,
}

/// What a failed attempt leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOutcome {
    /// Retry at or after this instant (state `failed`).
    RetryAt(DateTime<Utc>),
    /// Give up (state `dead`).
    Dead,
}

/// One envelope recipient of an outbox message and how far it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientRow {
    /// The address (SMTP RCPT TO).
    pub address: String,
    /// `Pending`, `Sent`, `Failed` (retried at `next_attempt_at`) or `Dead`; never `Sending`
    /// (the message's row says when a transaction is under way).
    pub state: OutboxState,
    /// Attempts made for this recipient since the message was (re)queued.
    pub attempts: u32,
    /// Its last failure, naming the server and the address.
    pub last_error: Option<String>,
    /// A failed recipient is retried at or after this instant (UTC).
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// What one attempt did for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecipientOutcome {
    /// The server accepted the message for it (or the .eml file is in place).
    Accepted,
    /// Refused, or not reached: the error, and whether it is retried or dead.
    Failed {
        /// What failed, naming the server and the recipient.
        error: String,
        /// Retry at an instant, or dead.
        outcome: FailureOutcome,
    },
}

impl Store {
    /// The outbox row with this idempotency key, if any.
    pub fn outbox_get(&self, key: &str) -> Result<Option<OutboxRow>> {
        let raw = self
            .conn
            .query_row(&format!("{OUTBOX_SELECT} WHERE idempotency_key = ?1"), params![key], RawOutbox::from_row)
            .optional()
            .map_err(self.db())?;
        raw.map(|r| self.with_recipients(r.finish(&self.path)?)).transpose()
    }

    fn outbox_query(&self, where_order: &str, p: &[&dyn Param]) -> Result<Vec<OutboxRow>> {
        let mut st = self.conn.prepare(&format!("{OUTBOX_SELECT} {where_order}")).map_err(self.db())?;
        let raw = st
            .query_map(p, RawOutbox::from_row)
            .map_err(self.db())?
            .collect::<SqlResult<Vec<_>>>()
            .map_err(self.db())?;
        raw.into_iter().map(|r| self.with_recipients(r.finish(&self.path)?)).collect()
    }

    /// Fills `entry.recipients` from `outbox_recipients`.
    fn with_recipients(&self, mut row: OutboxRow) -> Result<OutboxRow> {
        let mut st = self
            .conn
            .prepare_cached("SELECT address FROM outbox_recipients WHERE idempotency_key = ?1 ORDER BY position")
            .map_err(self.db())?;
        row.entry.recipients = st
            .query_map(params![row.entry.idempotency_key], |r| r.get(0))
            .map_err(self.db())?
            .collect::<SqlResult<Vec<String>>>()
            .map_err(self.db())?;
        Ok(row)
    }

    /// The envelope recipients of a message, in envelope order, with their states.
    pub fn outbox_recipients(&self, key: &str) -> Result<Vec<RecipientRow>> {
        self.recipients_where(key, "")
    }

    /// The recipients of a message to attempt now: `pending`, and `failed` ones whose
    /// `next_attempt_at` is at or before `now`.
    pub fn outbox_due_recipients(&self, key: &str, now: DateTime<Utc>) -> Result<Vec<RecipientRow>> {
        let all = self.recipients_where(key, "AND (state = 'pending' OR state = 'failed')")?;
        Ok(all
            .into_iter()
            .filter(|r| r.state == OutboxState::Pending || r.next_attempt_at.is_some_and(|t| t <= now))
            .collect())
    }

    fn recipients_where(&self, key: &str, filter: &str) -> Result<Vec<RecipientRow>> {
        let mut st = self
            .conn
            .prepare_cached(&format!(
                "SELECT address, state, attempts, last_error, next_attempt_at FROM outbox_recipients
                 WHERE idempotency_key = ?1 {filter} ORDER BY position"
            ))
            .map_err(self.db())?;
        let raw = st
            .query_map(params![key], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, u32>(2)?,
                    r.get(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            })
            .map_err(self.db())?
            .collect::<SqlResult<Vec<_>>>()
            .map_err(self.db())?;
        raw.into_iter()
            .map(|(address, state, attempts, last_error, next)| {
                Ok(RecipientRow {
                    state: OutboxState::parse(&state).ok_or_else(|| StoreError::Corrupt {
                        path: self.path.clone(),
                        what: "outbox_recipients.state".into(),
                        value: state.clone(),
                    })?,
                    address,
                    attempts,
                    last_error,
                    next_attempt_at: next
                        .map(|t| instant(&self.path, "outbox_recipients.next_attempt_at", t))
                        .transpose()?,
                })
            })
            .collect()
    }

    /// Addresses that have a message of this job, period and kind (outbox columns), in
    /// any state: e.g. who already got a week's ranking under the per-address keys of
    /// earlier versions.
    pub fn outbox_recipients_of(&self, job: &str, period: &str, kind: &str) -> Result<HashSet<String>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT r.address FROM outbox o JOIN outbox_recipients r ON r.idempotency_key = o.idempotency_key
                 WHERE o.job = ?1 AND o.period = ?2 AND o.kind = ?3",
            )
            .map_err(self.db())?;
        st.query_map(params![job, period, kind], |r| r.get(0))
            .map_err(self.db())?
            .collect::<SqlResult<HashSet<String>>>()
            .map_err(self.db())
    }

    /// Records a rendered message as `pending`, with each of its envelope recipients
    /// `pending`, before it is handed to a transport. A key already present is left
    /// unchanged (returns false).
    pub fn outbox_add(&self, e: &OutboxEntry, now: DateTime<Utc>) -> Result<bool> {
        let tx = self.conn.begin(false).map_err(self.db())?;
        let n = tx
            .execute(
                "INSERT INTO outbox (idempotency_key, job, period, recipient, kind, message_id, subject, message, state, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9) ON CONFLICT (idempotency_key) DO NOTHING",
                params![e.idempotency_key, e.job, e.period, e.recipient, e.kind, e.message_id, e.subject, e.message, ts(now)],
            )
            .map_err(self.db())?;
        if n == 1 {
            add_recipients(&tx, e).map_err(self.db())?;
        }
        tx.commit().map_err(self.db())?;
        Ok(n == 1)
    }

    /// Queues a user-requested resend of a key: the new rendering (with its own
    /// Message-ID) replaces the recorded message, the state goes back to `pending`,
    /// attempts restart at 0 and `resends` grows by one. Returns false if the key is absent.
    pub fn outbox_resend(&self, e: &OutboxEntry) -> Result<bool> {
        let tx = self.conn.begin(false).map_err(self.db())?;
        let n = tx
            .execute(
                "UPDATE outbox SET message_id = ?2, subject = ?3, message = ?4, state = 'pending', attempts = 0,
                    last_error = NULL, next_attempt_at = NULL, dead_at = NULL, notified_at = NULL, sent_at = NULL,
                    resends = resends + 1
                 WHERE idempotency_key = ?1",
                params![e.idempotency_key, e.message_id, e.subject, e.message],
            )
            .map_err(self.db())?;
        if n == 1 {
            // A resend goes to every recipient again: that is what was asked for.
            tx.execute("DELETE FROM outbox_recipients WHERE idempotency_key = ?1", params![e.idempotency_key])
                .map_err(self.db())?;
            add_recipients(&tx, e).map_err(self.db())?;
        }
        tx.commit().map_err(self.db())?;
        Ok(n == 1)
    }

    /// Rows to attempt now, oldest first: `pending`, `sending` (interrupted by a crash)
    /// and `failed` rows whose `next_attempt_at` is at or before `now`.
    pub fn outbox_due(&self, now: DateTime<Utc>) -> Result<Vec<OutboxRow>> {
        self.outbox_due_first(now, i64::MAX as usize)
    }

    /// How many rows [`Store::outbox_due`] would return, without loading them.
    /// For an instance ([`Store::hold_as`]): the due rows it could claim, and the
    /// `sending` rows of holders without a lease (taken over at its next delivery).
    pub fn outbox_due_count(&self, now: DateTime<Utc>) -> Result<usize> {
        if let Some((me, cutoff)) = self.claiming() {
            let n: i64 = self
                .conn
                .query_row(
                    &format!(
                        "SELECT COUNT(*) FROM outbox WHERE (state = 'pending' OR (state = 'failed' AND next_attempt_at <= ?1)
                            OR state = 'sending') AND {}",
                        super::instances::free("holder", 2, 3)
                    ),
                    params![ts(now), me, cutoff],
                    |r| r.get(0),
                )
                .map_err(self.db())?;
            return Ok(n as usize);
        }
        let n: i64 = self.conn
            .query_row(
                "SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending') OR (state = 'failed' AND next_attempt_at <= ?1)",
                params![ts(now)],
                |r| r.get(0),
            )
            .map_err(self.db())?;
        Ok(n as usize)
    }

    /// Rows not yet sent nor given up (pending, sending, or failed and waiting for a
    /// retry), whenever they are due.
    pub fn outbox_waiting_count(&self) -> Result<usize> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending', 'failed')", params![], |r| {
                r.get(0)
            })
            .map_err(self.db())?;
        Ok(n as usize)
    }

    /// The first `limit` rows of [`Store::outbox_due`]: delivery takes them a batch at a
    /// time, so a run of thousands of messages with PDFs attached never holds them all
    /// in memory.
    pub fn outbox_due_first(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxRow>> {
        self.outbox_query(
            "WHERE state IN ('pending', 'sending') OR (state = 'failed' AND next_attempt_at <= ?1)
             ORDER BY created_at, idempotency_key LIMIT ?2",
            params![ts(now), limit.min(i64::MAX as usize) as i64],
        )
    }

    /// The rows to deliver next, up to `limit`, oldest first. Without an instance
    /// ([`Store::hold_as`]) [`Store::outbox_due_first`]. An instance claims them first,
    /// in one transaction: the due rows (pending, or failed with the retry time passed)
    /// that are free — nobody's, its own, or a holder's without a lease — locked with `FOR UPDATE SKIP LOCKED` on
    /// PostgreSQL (rows another instance is claiming at that moment are skipped), then
    /// marked with its id. It sends only the rows it holds ([`Store::outbox_mark_sending`]
    /// checks that the claim is still its own).
    pub fn outbox_claim_due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxRow>> {
        let Some((me, cutoff)) = self.claiming() else { return self.outbox_due_first(now, limit) };
        let limit = limit.min(i64::MAX as usize) as i64;
        let tx = self.conn.begin(true).map_err(self.db())?;
        let lock = if self.conn.is_pg() { " FOR UPDATE SKIP LOCKED" } else { "" };
        let keys: Vec<String> = {
            let mut st = tx
                .prepare(&format!(
                    "SELECT idempotency_key FROM outbox
                      WHERE (state = 'pending' OR (state = 'failed' AND next_attempt_at <= ?1)) AND {}
                      ORDER BY created_at, idempotency_key LIMIT ?4{lock}",
                    super::instances::free("holder", 2, 3)
                ))
                .map_err(self.db())?;
            st.query_map(params![ts(now), me, cutoff, limit], |r| r.get(0))
                .map_err(self.db())?
                .collect::<SqlResult<Vec<_>>>()
                .map_err(self.db())?
        };
        let wall = self.holder.map(|h| (h.wall)()).unwrap_or(now);
        for k in &keys {
            tx.execute(
                "UPDATE outbox SET holder = ?2, claimed_at = ?3 WHERE idempotency_key = ?1",
                params![k, me, ts(wall)],
            )
            .map_err(self.db())?;
        }
        tx.commit().map_err(self.db())?;
        self.outbox_query(
            "WHERE holder = ?1 AND (state = 'pending' OR (state = 'failed' AND next_attempt_at <= ?2))
             ORDER BY created_at, idempotency_key",
            params![me, ts(now)],
        )
    }

    /// Releases this instance's claims of the rows it is not sending (the end of a
    /// delivery, or a stop), so any instance may take them.
    pub fn outbox_release_claims(&self) -> Result<()> {
        let Some((me, _)) = self.claiming() else { return Ok(()) };
        self.conn
            .execute(
                "UPDATE outbox SET holder = NULL, claimed_at = NULL WHERE holder = ?1 AND state <> 'sending'",
                params![me],
            )
            .map_err(self.db())?;
        Ok(())
    }

    /// The earliest `next_attempt_at` of a `failed` row, if any is waiting.
    pub fn outbox_next_retry(&self) -> Result<Option<DateTime<Utc>>> {
        let t: Option<String> = self
            .conn
            .query_row("SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'failed'", params![], |r| r.get(0))
            .map_err(self.db())?;
        t.map(|t| instant(&self.path, "outbox.next_attempt_at", t)).transpose()
    }

    /// Recovers from a crash: every row still `sending` was interrupted between
    /// "sending" and "sent" (the server may or may not have it). Each goes back to
    /// `pending`, keeping its message and Message-ID, and its `interrupted` count grows
    /// by one. Call once when delivery starts, before any row is marked `sending`.
    /// Returns the keys recovered.
    ///
    /// An instance ([`Store::hold_as`]) recovers only the rows whose holder has no lease
    /// (died mid-send, or nobody's): a live instance's `sending` row is its send in flight.
    pub fn outbox_recover_interrupted(&mut self) -> Result<Vec<String>> {
        let path = self.path.clone();
        let err = |source| super::db_error(&path, source);
        let claiming = self.claiming();
        let tx = self.conn.begin(true).map_err(err)?;
        let keys: Vec<String> = {
            let select = "SELECT idempotency_key FROM outbox WHERE state = 'sending'";
            let order = "ORDER BY created_at, idempotency_key";
            let rows = match &claiming {
                // Without an instance: every `sending` row.
                None => tx.prepare(&format!("{select} {order}")).map_err(err)?.query_map(params![], |r| r.get(0)),
                Some((me, cutoff)) => tx
                    .prepare(&format!("{select} AND {} {order}", super::instances::free("holder", 1, 2)))
                    .map_err(err)?
                    .query_map(params![me, cutoff], |r| r.get(0)),
            };
            rows.map_err(err)?.collect::<SqlResult<Vec<_>>>().map_err(err)?
        };
        for k in &keys {
            tx.execute(
                "UPDATE outbox SET state = 'pending', interrupted = interrupted + 1, holder = NULL, claimed_at = NULL
                  WHERE idempotency_key = ?1 AND state = 'sending'",
                params![k],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(keys)
    }

    /// Marks a row `sending` just before its transaction starts (committed, and on
    /// disk, before any byte goes to the server).
    /// Returns false (and changes nothing) when this connection claims as an instance
    /// ([`Store::hold_as`]) and the row's claim is no longer its own (it stalled longer
    /// than a lease and another instance took the row): it must not send it.
    pub fn outbox_mark_sending(&self, key: &str, now: DateTime<Utc>) -> Result<bool> {
        self.synchronous_full(true)?;
        let n = match self.holder_id() {
            None => self.conn.execute(
                "UPDATE outbox SET state = 'sending', sending_at = ?2 WHERE idempotency_key = ?1",
                params![key, ts(now)],
            ),
            Some(me) => self.conn.execute(
                "UPDATE outbox SET state = 'sending', sending_at = ?2 WHERE idempotency_key = ?1 AND holder = ?3
                    AND state IN ('pending', 'failed')",
                params![key, ts(now), me],
            ),
        }
        .map_err(self.db())?;
        self.synchronous_full(false)?;
        Ok(n == 1 || self.holder.is_none())
    }

    /// Puts a row marked `sending` back as it was — `failed` (and due) if it had a
    /// retry time, else `pending` — when its transaction was abandoned before anything
    /// was handed over (a stop during the greeting, MAIL or RCPT): no attempt counted.
    pub fn outbox_unmark_sending(&self, key: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE outbox SET state = CASE WHEN next_attempt_at IS NULL THEN 'pending' ELSE 'failed' END,
                    holder = NULL, claimed_at = NULL
                 WHERE idempotency_key = ?1 AND state = 'sending'",
                params![key],
            )
            .map_err(self.db())?;
        Ok(())
    }

    /// The key and attempts made of every row due at `now` (pending, or failed with its
    /// retry time passed), oldest first, without the messages: when the server cannot
    /// be reached, each counts one attempt.
    /// An instance ([`Store::hold_as`]) counts the attempt only against the rows it holds.
    pub fn outbox_due_attempts(&self, now: DateTime<Utc>) -> Result<Vec<(String, u32)>> {
        let me = self.holder_id();
        let mine = if me.is_some() { "AND holder = ?2" } else { "" };
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT idempotency_key, attempts FROM outbox
                 WHERE (state = 'pending' OR (state = 'failed' AND next_attempt_at <= ?1)) {mine}
                 ORDER BY created_at, idempotency_key"
            ))
            .map_err(self.db())?;
        let now = ts(now);
        let both: [&dyn Param; 2] = [&now, &me];
        let p = if me.is_some() { &both[..] } else { &both[..1] };
        let rows = st
            .query_map(p, |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u32)))
            .map_err(self.db())?
            .collect::<SqlResult<Vec<_>>>()
            .map_err(self.db())?;
        Ok(rows)
    }

    /// Marks a row `sent` (after the SMTP server's 250, or the .eml file's rename): every
    /// recipient not yet sent or dead is accepted. Committed and on disk when this
    /// returns, so a power cut cannot send it again.
    pub fn outbox_mark_sent(&self, key: &str, now: DateTime<Utc>) -> Result<()> {
        let all = self.outbox_recipients(key)?;
        let open: Vec<(String, RecipientOutcome)> = all
            .into_iter()
            .filter(|r| !matches!(r.state, OutboxState::Sent | OutboxState::Dead))
            .map(|r| (r.address, RecipientOutcome::Accepted))
            .collect();
        self.synchronous_full(true)?;
        let recorded = self.outbox_record_attempt(key, &open, now).map(|_| ());
        self.synchronous_full(false)?;
        recorded
    }

    /// Records a failed attempt for every recipient not yet sent or dead: attempts grow
    /// by one, `error` is kept, and the row becomes `failed` (retried at the given
    /// instant) or `dead`.
    pub fn outbox_mark_failed(
        &self,
        key: &str,
        error: &str,
        outcome: FailureOutcome,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let all = self.outbox_recipients(key)?;
        let open: Vec<(String, RecipientOutcome)> = all
            .into_iter()
            .filter(|r| !matches!(r.state, OutboxState::Sent | OutboxState::Dead))
            .map(|r| (r.address, RecipientOutcome::Failed { error: error.to_string(), outcome }))
            .collect();
        self.outbox_record_attempt(key, &open, now).map(|_| ())
    }

    /// Records one attempt of a message: each attempted recipient's outcome, then the
    /// row's state from all its recipients, in one transaction: `sent` when every
    /// recipient is; else `failed` while any recipient waits for a retry (the row's
    /// `next_attempt_at` is the earliest); else `dead`. The row's `attempts` grows by one
    /// (unless `outcomes` is empty: then the row's state is only settled) and
    /// `last_error` names what failed (for a message with several recipients,
    /// "K of N recipient(s) not delivered: ADDRESS: ERROR; …"). Returns the row's new state.
    pub fn outbox_record_attempt(
        &self,
        key: &str,
        outcomes: &[(String, RecipientOutcome)],
        now: DateTime<Utc>,
    ) -> Result<OutboxState> {
        let tx = self.conn.begin(false).map_err(self.db())?;
        for (address, outcome) in outcomes {
            let (state, error, next, sent) = match outcome {
                RecipientOutcome::Accepted => ("sent", None, None, Some(ts(now))),
                RecipientOutcome::Failed { error, outcome: FailureOutcome::RetryAt(t) } => {
                    ("failed", Some(error.as_str()), Some(ts(*t)), None)
                }
                RecipientOutcome::Failed { error, outcome: FailureOutcome::Dead } => {
                    ("dead", Some(error.as_str()), None, None)
                }
            };
            tx.execute(
                "UPDATE outbox_recipients SET state = ?3, attempts = attempts + 1, last_error = ?4, next_attempt_at = ?5,
                    sent_at = COALESCE(?6, sent_at) WHERE idempotency_key = ?1 AND address = ?2",
                params![key, address, state, error, next, sent],
            )
            .map_err(self.db())?;
        }
        let all = self.outbox_recipients(key)?;
        let waiting: Vec<&RecipientRow> = all.iter().filter(|r| r.state != OutboxState::Sent).collect();
        let state = if waiting.is_empty() {
            OutboxState::Sent
        } else if waiting.iter().any(|r| r.state == OutboxState::Failed) {
            OutboxState::Failed
        } else if waiting.iter().any(|r| r.state == OutboxState::Pending) {
            OutboxState::Pending
        } else {
            OutboxState::Dead
        };
        let next = waiting.iter().filter(|r| r.state == OutboxState::Failed).filter_map(|r| r.next_attempt_at).min();
        let error = match (all.len(), waiting.as_slice()) {
            (_, []) => None,
            (1, [r]) => r.last_error.clone(),
            (n, w) => Some(format!(
                "{} of {n} recipient(s) not delivered: {}",
                w.len(),
                w.iter()
                    .map(|r| format!("{}: {}", r.address, r.last_error.as_deref().unwrap_or(r.state.as_str())))
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
        };
        tx.execute(
            "UPDATE outbox SET state = ?2, attempts = attempts + ?6, last_error = ?3, next_attempt_at = ?4,
                sent_at = CASE WHEN ?2 = 'sent' THEN ?5 ELSE sent_at END,
                dead_at = CASE WHEN ?2 = 'dead' THEN ?5 ELSE NULL END,
                holder = NULL, claimed_at = NULL
             WHERE idempotency_key = ?1",
            params![key, state.as_str(), error, next.map(ts), ts(now), i64::from(!outcomes.is_empty())],
        )
        .map_err(self.db())?;
        tx.commit().map_err(self.db())?;
        Ok(state)
    }

    /// Puts `failed` and `dead` rows back to `pending` with attempts at 0, so they are
    /// sent at the next delivery — to their failed and dead recipients only: a recipient
    /// that accepted the message does not get it again. `keys` empty means every such
    /// row. Returns the keys requeued.
    pub fn outbox_requeue(&mut self, keys: &[String]) -> Result<Vec<String>> {
        let path = self.path.clone();
        let err = |source| super::db_error(&path, source);
        let tx = self.conn.begin(false).map_err(err)?;
        let mut requeued = Vec::new();
        {
            let candidates: Vec<String> = {
                let mut st = tx
                    .prepare("SELECT idempotency_key FROM outbox WHERE state IN ('failed', 'dead') ORDER BY created_at, idempotency_key")
                    .map_err(err)?;
                st.query_map(params![], |r| r.get(0)).map_err(err)?.collect::<SqlResult<Vec<_>>>().map_err(err)?
            };
            let mut up = tx
                .prepare(
                    "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = NULL, dead_at = NULL,
                        notified_at = NULL, notified_by = NULL WHERE idempotency_key = ?1",
                )
                .map_err(err)?;
            let mut rcpt = tx
                .prepare(
                    "UPDATE outbox_recipients SET state = 'pending', attempts = 0, next_attempt_at = NULL
                     WHERE idempotency_key = ?1 AND state IN ('failed', 'dead')",
                )
                .map_err(err)?;
            for k in candidates.into_iter().filter(|k| keys.is_empty() || keys.contains(k)) {
                up.execute(params![k]).map_err(err)?;
                rcpt.execute(params![k]).map_err(err)?;
                requeued.push(k);
            }
        }
        tx.commit().map_err(err)?;
        Ok(requeued)
    }

    /// Dead letters the admin has not been told about (the admin's own notices excluded).
    pub fn outbox_dead_unnotified(&self) -> Result<Vec<OutboxRow>> {
        self.outbox_query(
            "WHERE state = 'dead' AND notified_at IS NULL AND job <> 'dead-letters' ORDER BY created_at, idempotency_key", params![],
        )
    }

    /// Records the admin's notice (`notice`, as `pending`, with the number of letters it
    /// lists) and marks the dead letters it lists as notified by it, in one transaction:
    /// the admin is told about each dead letter once.
    pub fn outbox_add_notice(&mut self, notice: &OutboxEntry, listed: &[String], now: DateTime<Utc>) -> Result<()> {
        let path = self.path.clone();
        let err = |source| super::db_error(&path, source);
        let tx = self.conn.begin(false).map_err(err)?;
        tx.execute(
            "INSERT INTO outbox (idempotency_key, job, period, recipient, kind, message_id, subject, message, state, created_at, lists)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9, ?10) ON CONFLICT (idempotency_key) DO NOTHING",
            params![
                notice.idempotency_key,
                notice.job,
                notice.period,
                notice.recipient,
                notice.kind,
                notice.message_id,
                notice.subject,
                notice.message,
                ts(now),
                listed.len() as i64
            ],
        )
        .map_err(err)?;
        add_recipients(&tx, notice).map_err(err)?;
        for k in listed {
            tx.execute(
                "UPDATE outbox SET notified_at = ?2, notified_by = ?3 WHERE idempotency_key = ?1",
                params![k, ts(now), notice.idempotency_key],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(())
    }

    /// For a dead-letter notice `key` not yet sent: how many letters it listed when it
    /// was queued (`None` for a notice queued before quotad recorded that, or a row that
    /// is not a notice) and the rows it lists that are still dead, oldest first. A letter
    /// sent again since (`quotad outbox retry`) is no longer listed by it.
    pub fn outbox_notice_letters(&self, key: &str) -> Result<(Option<u32>, Vec<OutboxRow>)> {
        let lists: Option<i64> = self
            .conn
            .query_row("SELECT lists FROM outbox WHERE idempotency_key = ?1", params![key], |r| r.get(0))
            .optional()
            .map_err(self.db())?
            .flatten();
        let rows = self.outbox_query(
            "WHERE notified_by = ?1 AND state = 'dead' ORDER BY created_at, idempotency_key",
            params![key],
        )?;
        Ok((lists.map(|n| n as u32), rows))
    }

    /// Rewrites a dead-letter notice not yet sent (state pending or failed) so that it
    /// lists `lists` letters, with its new `subject` and rendered `message`; the
    /// Message-ID stays. Returns whether a row changed.
    pub fn outbox_notice_rewrite(&self, key: &str, subject: &str, message: &[u8], lists: u32) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "UPDATE outbox SET subject = ?2, message = ?3, lists = ?4
                 WHERE idempotency_key = ?1 AND state IN ('pending', 'failed')",
                params![key, subject, message, lists as i64],
            )
            .map_err(self.db())?;
        Ok(n > 0)
    }

    /// Withdraws a dead-letter notice not yet sent (state pending or failed) whose
    /// letters have all been sent since: its row and recipients are deleted, so nobody
    /// is told of a failure that no longer stands. Returns whether it was withdrawn.
    pub fn outbox_notice_withdraw(&mut self, key: &str) -> Result<bool> {
        let path = self.path.clone();
        let err = |source| super::db_error(&path, source);
        let tx = self.conn.begin(false).map_err(err)?;
        let n = tx
            .execute(
                "DELETE FROM outbox WHERE idempotency_key = ?1 AND job = 'dead-letters' AND state IN ('pending', 'failed')",
                params![key],
            )
            .map_err(err)?;
        if n > 0 {
            tx.execute("DELETE FROM outbox_recipients WHERE idempotency_key = ?1", params![key]).map_err(err)?;
            tx.execute("UPDATE outbox SET notified_by = NULL WHERE notified_by = ?1", params![key]).map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(n > 0)
    }

    /// Row counts per state (states with no rows are absent), in lifecycle order.
    pub fn outbox_counts(&self) -> Result<Vec<(OutboxState, u64)>> {
        self.counts_where("")
    }

    /// [`Store::outbox_counts`] of the chat posts only (recipient `channel:NAME`, issue 22).
    pub fn outbox_chat_counts(&self) -> Result<Vec<(OutboxState, u64)>> {
        self.counts_where("WHERE recipient LIKE 'channel:%'")
    }

    fn counts_where(&self, filter: &str) -> Result<Vec<(OutboxState, u64)>> {
        let sql = format!("SELECT state, COUNT(*) FROM outbox {filter} GROUP BY state");
        let mut st = self.conn.prepare(&sql).map_err(self.db())?;
        let raw = st
            .query_map(params![], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(self.db())?
            .collect::<SqlResult<Vec<_>>>()
            .map_err(self.db())?;
        let mut out = raw
            .into_iter()
            .map(|(s, n)| {
                let state = OutboxState::parse(&s).ok_or_else(|| StoreError::Corrupt {
                    path: self.path.clone(),
                    what: "outbox.state".into(),
                    value: s,
                })?;
                Ok((state, n as u64))
            })
            .collect::<Result<Vec<_>>>()?;
        out.sort();
        Ok(out)
    }

    /// Rows in the given states (every state when empty), oldest first, at most `limit`.
    pub fn outbox_list(&self, states: &[OutboxState], limit: usize) -> Result<Vec<OutboxRow>> {
        let filter = if states.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = states.iter().map(|s| format!("'{}'", s.as_str())).collect();
            format!("WHERE state IN ({})", names.join(", "))
        };
        self.outbox_query(&format!("{filter} ORDER BY created_at, idempotency_key LIMIT ?1"), params![limit as i64])
    }
}

/// Records `e`'s envelope recipients as `pending` (`[recipient]` when none are given).
pub(super) fn add_recipients(tx: &Conn, e: &OutboxEntry) -> SqlResult<()> {
    let one = [e.recipient.clone()];
    let list = if e.recipients.is_empty() { &one[..] } else { &e.recipients[..] };
    let mut st = tx.prepare_cached(
        "INSERT INTO outbox_recipients (idempotency_key, position, address, state) VALUES (?1, ?2, ?3, 'pending')
         ON CONFLICT (idempotency_key, address) DO NOTHING",
    )?;
    for (i, a) in list.iter().enumerate() {
        st.execute(params![e.idempotency_key, i as i64, a])?;
    }
    Ok(())
}

const OUTBOX_SELECT: &str = "SELECT idempotency_key, job, period, recipient, kind, message_id, subject, message, state,
    attempts, last_error, created_at, sent_at, next_attempt_at, resends, interrupted FROM outbox";

/// An outbox row as SQLite returns it, before its text columns are checked.
struct RawOutbox {
    entry: OutboxEntry,
    state: String,
    attempts: u32,
    last_error: Option<String>,
    created_at: String,
    sent_at: Option<String>,
    next_attempt_at: Option<String>,
    resends: u32,
    interrupted: u32,
}

impl RawOutbox {
    fn from_row(r: &Row) -> SqlResult<RawOutbox> {
        Ok(RawOutbox {
            entry: OutboxEntry {
                idempotency_key: r.get(0)?,
                job: r.get(1)?,
                period: r.get(2)?,
                recipient: r.get(3)?,
                recipients: Vec::new(),
                kind: r.get(4)?,
                message_id: r.get(5)?,
                subject: r.get(6)?,
                message: r.get(7)?,
            },
            state: r.get(8)?,
            attempts: r.get(9)?,
            last_error: r.get(10)?,
            created_at: r.get(11)?,
            sent_at: r.get(12)?,
            next_attempt_at: r.get(13)?,
            resends: r.get(14)?,
            interrupted: r.get(15)?,
        })
    }

    fn finish(self, path: &Path) -> Result<OutboxRow> {
        Ok(OutboxRow {
            state: OutboxState::parse(&self.state).ok_or_else(|| StoreError::Corrupt {
                path: path.into(),
                what: "outbox.state".into(),
                value: self.state.clone(),
            })?,
            entry: self.entry,
            attempts: self.attempts,
            last_error: self.last_error,
            created_at: instant(path, "outbox.created_at", self.created_at)?,
            sent_at: self.sent_at.map(|t| instant(path, "outbox.sent_at", t)).transpose()?,
            next_attempt_at: self.next_attempt_at.map(|t| instant(path, "outbox.next_attempt_at", t)).transpose()?,
            resends: self.resends,
            interrupted: self.interrupted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str) -> OutboxEntry {
        OutboxEntry {
            idempotency_key: key.into(),
            job: "quota-memo".into(),
            period: "2026-11".into(),
            recipient: "ann@example.com".into(),
            recipients: Vec::new(),
            kind: "rep-memo".into(),
            message_id: "abc.quotad@example.com".into(),
            subject: "Quota".into(),
            message: b"Subject: Quota\r\n\r\nhi\r\n".to_vec(),
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn outbox_lifecycle_retries_dead_letters_and_crash_recovery() {
        for state in crate::store::TestState::each() {
            let mut s = state.open();
            let t0 = at("2026-11-01T13:00:00Z");
            assert!(s.outbox_add(&entry("a"), t0).unwrap());
            assert!(!s.outbox_add(&entry("a"), t0).unwrap(), "a key is recorded once");
            s.outbox_add(&entry("b"), at("2026-11-01T13:00:01Z")).unwrap();
            assert_eq!(
                s.outbox_due(t0).unwrap().iter().map(|r| r.entry.idempotency_key.as_str()).collect::<Vec<_>>(),
                ["a", "b"]
            );

            // a: sent. b: failed once, due again at 13:00:31.
            s.outbox_mark_sending("a", t0).unwrap();
            s.outbox_mark_sent("a", t0).unwrap();
            s.outbox_mark_sending("b", t0).unwrap();
            s.outbox_mark_failed(
                "b",
                "SMTP server h:587: connect failed",
                FailureOutcome::RetryAt(at("2026-11-01T13:00:31Z")),
                t0,
            )
            .unwrap();
            let b = s.outbox_get("b").unwrap().unwrap();
            assert_eq!(
                (b.state, b.attempts, b.last_error.as_deref()),
                (OutboxState::Failed, 1, Some("SMTP server h:587: connect failed"))
            );
            assert!(s.outbox_due(at("2026-11-01T13:00:30.999Z")).unwrap().is_empty());
            assert_eq!(s.outbox_due(at("2026-11-01T13:00:31Z")).unwrap().len(), 1);
            assert_eq!(s.outbox_next_retry().unwrap(), Some(at("2026-11-01T13:00:31Z")));

            // A crash while b is `sending`: recovery puts it back to pending, counted.
            s.outbox_mark_sending("b", at("2026-11-01T13:00:31Z")).unwrap();
            assert_eq!(s.outbox_recover_interrupted().unwrap(), ["b"]);
            let b = s.outbox_get("b").unwrap().unwrap();
            assert_eq!((b.state, b.interrupted, b.attempts), (OutboxState::Pending, 1, 1));

            // Dead, listed once for the admin, then requeued by `outbox retry`.
            s.outbox_mark_failed("b", "550 no such user", FailureOutcome::Dead, t0).unwrap();
            assert_eq!(s.outbox_dead_unnotified().unwrap().len(), 1);
            let mut notice = entry("dead-letters/x/admin@example.com/admin-notice");
            notice.job = "dead-letters".into();
            s.outbox_add_notice(&notice, &["b".to_string()], t0).unwrap();
            assert!(s.outbox_dead_unnotified().unwrap().is_empty());
            let counts = s.outbox_counts().unwrap();
            assert_eq!(counts, [(OutboxState::Pending, 1), (OutboxState::Sent, 1), (OutboxState::Dead, 1)]);
            assert_eq!(s.outbox_requeue(&[]).unwrap(), ["b"]);
            let b = s.outbox_get("b").unwrap().unwrap();
            assert_eq!((b.state, b.attempts), (OutboxState::Pending, 0));
            assert!(s.outbox_requeue(&["a".to_string()]).unwrap().is_empty(), "a sent key is not requeued");

            // --resend: a new rendering and Message-ID, attempts from 0.
            let mut again = entry("a");
            again.message_id = "def.quotad@example.com".into();
            assert!(s.outbox_resend(&again).unwrap());
            let a = s.outbox_get("a").unwrap().unwrap();
            assert_eq!(
                (a.state, a.resends, a.attempts, a.entry.message_id.as_str()),
                (OutboxState::Pending, 1, 0, "def.quotad@example.com")
            );
        }
    }

    #[test]
    fn a_notice_knows_its_letters_and_loses_those_sent_again() {
        for state in crate::store::TestState::each() {
            let mut s = state.open();
            let t0 = at("2026-11-01T13:00:00Z");
            for k in ["a", "b", "c"] {
                s.outbox_add(&entry(k), t0).unwrap();
                s.outbox_mark_failed(k, "550 no such user", FailureOutcome::Dead, t0).unwrap();
            }
            let mut notice = entry("dead-letters/x/admin@example.com/admin-notice");
            notice.job = "dead-letters".into();
            let key = notice.idempotency_key.clone();
            s.outbox_add_notice(&notice, &["a".to_string(), "b".to_string(), "c".to_string()], t0).unwrap();
            let letters = |s: &Store| {
                let (n, rows) = s.outbox_notice_letters(&key).unwrap();
                (n, rows.into_iter().map(|r| r.entry.idempotency_key).collect::<Vec<_>>())
            };
            assert_eq!(letters(&s), (Some(3), vec!["a".to_string(), "b".into(), "c".into()]));
            // `outbox retry a`: a leaves the notice (told again if it dies again).
            assert_eq!(s.outbox_requeue(&["a".to_string()]).unwrap(), ["a"]);
            assert_eq!(letters(&s), (Some(3), vec!["b".to_string(), "c".into()]));
            assert!(s.outbox_notice_rewrite(&key, "quotad: 2 messages", b"new", 2).unwrap());
            let row = s.outbox_get(&key).unwrap().unwrap();
            assert_eq!((row.entry.subject.as_str(), row.entry.message.as_slice()), ("quotad: 2 messages", &b"new"[..]));
            assert_eq!(letters(&s).0, Some(2));
            // b and c sent again too: the notice is withdrawn, its recipients with it.
            s.outbox_requeue(&[]).unwrap();
            assert_eq!(letters(&s).1, Vec::<String>::new());
            assert!(s.outbox_notice_withdraw(&key).unwrap());
            assert!(s.outbox_get(&key).unwrap().is_none());
            assert!(s.outbox_recipients(&key).unwrap().is_empty());
            // A sent notice, or any other row, is never withdrawn.
            assert!(!s.outbox_notice_withdraw("b").unwrap());
            assert!(s.outbox_get("b").unwrap().is_some());
        }
    }

    #[test]
    fn a_refused_recipient_is_retried_or_dead_alone_and_requeued_alone() {
        for state in crate::store::TestState::each() {
            let mut s = state.open();
            let t0 = at("2026-03-09T14:00:00Z");
            let key = "weekly-ranking/2026-W10/team:north/team-edition";
            let mut e = entry(key);
            e.recipient = "team:north".into();
            e.recipients = vec!["ann@example.com".into(), "bob@example.com".into(), "mia@example.com".into()];
            assert!(s.outbox_add(&e, t0).unwrap());
            assert_eq!(s.outbox_get(key).unwrap().unwrap().entry.recipients, e.recipients);
            assert_eq!(s.outbox_due_recipients(key, t0).unwrap().len(), 3);

            // Ann and Mia accepted, Bob deferred (450) until 14:00:30.
            let retry = at("2026-03-09T14:00:30Z");
            let bob = |outcome| RecipientOutcome::Failed { error: "450 mailbox busy".into(), outcome };
            let outcomes = vec![
                ("ann@example.com".to_string(), RecipientOutcome::Accepted),
                ("bob@example.com".to_string(), bob(FailureOutcome::RetryAt(retry))),
                ("mia@example.com".to_string(), RecipientOutcome::Accepted),
            ];
            assert_eq!(s.outbox_record_attempt(key, &outcomes, t0).unwrap(), OutboxState::Failed);
            let row = s.outbox_get(key).unwrap().unwrap();
            assert_eq!((row.state, row.attempts, row.next_attempt_at), (OutboxState::Failed, 1, Some(retry)));
            assert_eq!(
                row.last_error.as_deref(),
                Some("1 of 3 recipient(s) not delivered: bob@example.com: 450 mailbox busy")
            );
            assert!(s.outbox_due_recipients(key, at("2026-03-09T14:00:29Z")).unwrap().is_empty());
            let due: Vec<String> =
                s.outbox_due_recipients(key, retry).unwrap().into_iter().map(|r| r.address).collect();
            assert_eq!(due, ["bob@example.com"], "only Bob is tried again");

            // Bob refused for good (550): the message is dead, for Bob only.
            let outcomes = vec![("bob@example.com".to_string(), bob(FailureOutcome::Dead))];
            assert_eq!(s.outbox_record_attempt(key, &outcomes, retry).unwrap(), OutboxState::Dead);
            assert_eq!(s.outbox_dead_unnotified().unwrap().len(), 1);
            let states: Vec<(String, OutboxState, u32)> =
                s.outbox_recipients(key).unwrap().into_iter().map(|r| (r.address, r.state, r.attempts)).collect();
            assert_eq!(
                states,
                [
                    ("ann@example.com".into(), OutboxState::Sent, 1),
                    ("bob@example.com".into(), OutboxState::Dead, 2),
                    ("mia@example.com".into(), OutboxState::Sent, 1)
                ]
            );

            // `outbox retry`: pending again, for Bob alone; then accepted: sent.
            assert_eq!(s.outbox_requeue(&[key.to_string()]).unwrap(), [key]);
            let due: Vec<String> =
                s.outbox_due_recipients(key, retry).unwrap().into_iter().map(|r| r.address).collect();
            assert_eq!(due, ["bob@example.com"]);
            let outcomes = vec![("bob@example.com".to_string(), RecipientOutcome::Accepted)];
            assert_eq!(s.outbox_record_attempt(key, &outcomes, retry).unwrap(), OutboxState::Sent);
            let row = s.outbox_get(key).unwrap().unwrap();
            assert_eq!((row.state, row.last_error, row.sent_at), (OutboxState::Sent, None, Some(retry)));
            // Who has this week's message, by columns (job, period, kind).
            let mut who: Vec<String> =
                s.outbox_recipients_of("quota-memo", "2026-11", "rep-memo").unwrap().into_iter().collect();
            who.sort();
            assert_eq!(who, ["ann@example.com", "bob@example.com", "mia@example.com"]);
        }
    }
}
