//! The approval ledger (`[quota_memo.approval]`, issue 23): `approvals` (each held run of
//! a job's messages, its token, its state and who decided what, when) and
//! `approval_messages` (the held messages themselves, outside the outbox).
//!
//! Held messages are not outbox rows: no delivery path (the daemon's heartbeat, `quotad
//! outbox retry`, a catch-up run) can see them. [`Store::approval_release`] copies a held
//! run into the outbox as `pending` in the same transaction that records the approval,
//! so a crash leaves either both or neither. Imports the store's `sql` layer (both engines) only.

use chrono::{DateTime, Utc};

use super::outbox::add_recipients;
use super::sql::{Optional, Param, Row, SqlResult, params};
use super::{OutboxEntry, Result, Store, StoreError, instant, ts};

/// Where a held run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalState {
    /// Held, waiting for an approver (at most one per job and period).
    Pending,
    /// Released into the outbox.
    Approved,
    /// Discarded by an approver (`quotad reject`).
    Rejected,
    /// Replaced by a later rendering whose content differs (new figures or templates).
    Superseded,
}

impl ApprovalState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalState::Pending => "pending",
            ApprovalState::Approved => "approved",
            ApprovalState::Rejected => "rejected",
            ApprovalState::Superseded => "superseded",
        }
    }

    fn parse(s: &str) -> Option<ApprovalState> {
        [ApprovalState::Pending, ApprovalState::Approved, ApprovalState::Rejected, ApprovalState::Superseded]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// One held run as stored.
#[derive(Debug, Clone)]
pub struct ApprovalRow {
    /// Row id.
    pub id: i64,
    /// Job, e.g. `quota-memo`.
    pub job: String,
    /// Period, `YYYY-MM`.
    pub period: String,
    /// `memos` or `corrections`.
    pub round: String,
    /// The approval token (12 hex digits) the digest names.
    pub token: String,
    /// Its state.
    pub state: ApprovalState,
    /// How many messages are held.
    pub messages: usize,
    /// The outbox key of the digest sent for it.
    pub digest_key: String,
    /// When it was held (UTC).
    pub created_at: DateTime<Utc>,
    /// Its deadline (UTC), if any.
    pub deadline_at: Option<DateTime<Utc>>,
    /// When its deadline was acted on, if it was.
    pub deadline_done: Option<DateTime<Utc>>,
    /// When it was approved, rejected or superseded.
    pub decided_at: Option<DateTime<Utc>>,
    /// Who decided: an approver's address, or the deadline.
    pub decided_by: Option<String>,
    /// The rejection's reason, or why it was superseded.
    pub note: Option<String>,
}

/// One held message: the outbox entry it becomes on approval, its content hash and the
/// memo facts recorded when it is released.
#[derive(Debug, Clone)]
pub struct HeldMessage {
    /// The message as the outbox will record it.
    pub entry: OutboxEntry,
    /// SHA-256 (hex) of its content: recipients, subject, text, HTML, attachments.
    pub content_hash: String,
    /// (rep key, facts JSON) for `memo_facts`, if the message states figures.
    pub facts: Option<(String, String)>,
}

/// An approver's answer recorded for the daemon (`quotad approve|reject` while `quotad
/// serve` holds the state database).
#[derive(Debug, Clone)]
pub struct ApprovalRequest {
    /// Job, e.g. `quota-memo`.
    pub job: String,
    /// Period, `YYYY-MM`.
    pub period: String,
    /// `approve` or `reject`.
    pub action: String,
    /// The token approved (empty for a rejection).
    pub token: String,
    /// The approver's address.
    pub by: String,
    /// Why (a rejection), else empty.
    pub reason: String,
}

/// What a release did.
#[derive(Debug, Clone, Default)]
pub struct Released {
    /// Keys now pending in the outbox.
    pub queued: Vec<String>,
    /// Keys the outbox already had (left as they were: never sent twice).
    pub already: Vec<String>,
}

const APPROVAL_SELECT: &str = "SELECT id, job, period, round, token, state, messages, digest_key, created_at,
    deadline_at, deadline_done, decided_at, decided_by, note FROM approvals";

type RawApproval = (
    (i64, String, String, String, String, String, i64, String),
    (String, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>),
);

fn raw(r: &Row) -> SqlResult<RawApproval> {
    Ok((
        (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?),
        (r.get(8)?, r.get(9)?, r.get(10)?, r.get(11)?, r.get(12)?, r.get(13)?),
    ))
}

impl Store {
    fn approval_finish(&self, raw: RawApproval) -> Result<ApprovalRow> {
        let (
            (id, job, period, round, token, state, messages, digest_key),
            (created, deadline, done, decided, by, note),
        ) = raw;
        let p = &self.path;
        let at = |what: &str, v: Option<String>| v.map(|t| instant(p, what, t)).transpose();
        Ok(ApprovalRow {
            id,
            job,
            period,
            round,
            token,
            state: ApprovalState::parse(&state).ok_or_else(|| StoreError::Corrupt {
                path: p.clone(),
                what: "approvals.state".into(),
                value: state.clone(),
            })?,
            messages: messages as usize,
            digest_key,
            created_at: instant(p, "approvals.created_at", created)?,
            deadline_at: at("approvals.deadline_at", deadline)?,
            deadline_done: at("approvals.deadline_done", done)?,
            decided_at: at("approvals.decided_at", decided)?,
            decided_by: by,
            note,
        })
    }

    fn approvals_where(&self, filter: &str, p: &[&dyn Param]) -> Result<Vec<ApprovalRow>> {
        let mut st = self.conn.prepare(&format!("{APPROVAL_SELECT} {filter}")).map_err(self.db())?;
        let rows = st.query_map(p, raw).map_err(self.db())?.collect::<SqlResult<Vec<_>>>().map_err(self.db())?;
        rows.into_iter().map(|r| self.approval_finish(r)).collect()
    }

    /// The held run of `job` and `period` waiting for approval, if any.
    pub fn approval_pending(&self, job: &str, period: &str) -> Result<Option<ApprovalRow>> {
        Ok(self
            .approvals_where("WHERE job = ?1 AND period = ?2 AND state = 'pending'", params![job, period])?
            .into_iter()
            .next())
    }

    /// Every held run waiting for approval, oldest first.
    pub fn approvals_pending(&self) -> Result<Vec<ApprovalRow>> {
        self.approvals_where("WHERE state = 'pending' ORDER BY created_at, id", params![])
    }

    /// The history of `job` and `period`'s held runs, oldest first (the audit trail).
    pub fn approval_history(&self, job: &str, period: &str) -> Result<Vec<ApprovalRow>> {
        self.approvals_where("WHERE job = ?1 AND period = ?2 ORDER BY id", params![job, period])
    }

    /// Records a held run: its messages (outside the outbox), token and deadline. A run
    /// of the same job and period still pending is marked `superseded` (with `note`) in
    /// the same transaction. Returns the new row's id.
    #[allow(clippy::too_many_arguments)]
    pub fn approval_hold(
        &mut self,
        job: &str,
        period: &str,
        round: &str,
        token: &str,
        digest_key: &str,
        deadline_at: Option<DateTime<Utc>>,
        messages: &[HeldMessage],
        supersede_note: &str,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        let path = self.path.clone();
        let err = |source| super::db_error(&path, source);
        let tx = self.conn.begin(false).map_err(err)?;
        tx.execute(
            "UPDATE approvals SET state = 'superseded', decided_at = ?3, note = ?4
             WHERE job = ?1 AND period = ?2 AND state = 'pending'",
            params![job, period, ts(now), supersede_note],
        )
        .map_err(err)?;
        let id: i64 = tx.query_row(
            "INSERT INTO approvals (job, period, round, token, state, messages, digest_key, created_at, deadline_at)
             VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?7, ?8) RETURNING id",
            params![job, period, round, token, messages.len() as i64, digest_key, ts(now), deadline_at.map(ts)],
            |r| r.get(0),
        )
        .map_err(err)?;
        {
            let mut st = tx
                .prepare(
                    "INSERT INTO approval_messages (approval_id, position, idempotency_key, content_hash, job, period,
                        recipient, recipients, kind, message_id, subject, message, rep_key, facts)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                )
                .map_err(err)?;
            for (i, m) in messages.iter().enumerate() {
                let e = &m.entry;
                st.execute(params![
                    id,
                    i as i64,
                    e.idempotency_key,
                    m.content_hash,
                    e.job,
                    e.period,
                    e.recipient,
                    e.recipients.join("\n"),
                    e.kind,
                    e.message_id,
                    e.subject,
                    e.message,
                    m.facts.as_ref().map(|f| f.0.clone()),
                    m.facts.as_ref().map(|f| f.1.clone()),
                ])
                .map_err(err)?;
            }
        }
        tx.commit().map_err(err)?;
        Ok(id)
    }

    /// The held messages of run `id`, in the order they were rendered.
    pub fn approval_messages(&self, id: i64) -> Result<Vec<HeldMessage>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT idempotency_key, content_hash, job, period, recipient, recipients, kind, message_id, subject,
                    message, rep_key, facts FROM approval_messages WHERE approval_id = ?1 ORDER BY position",
            )
            .map_err(self.db())?;
        st.query_map(params![id], |r| {
            let recipients: String = r.get(5)?;
            let rep_key: Option<String> = r.get(10)?;
            let facts: Option<String> = r.get(11)?;
            Ok(HeldMessage {
                entry: OutboxEntry {
                    idempotency_key: r.get(0)?,
                    job: r.get(2)?,
                    period: r.get(3)?,
                    recipient: r.get(4)?,
                    recipients: recipients.lines().map(String::from).collect(),
                    kind: r.get(6)?,
                    message_id: r.get(7)?,
                    subject: r.get(8)?,
                    message: r.get(9)?,
                },
                content_hash: r.get(1)?,
                facts: rep_key.zip(facts),
            })
        })
        .map_err(self.db())?
        .collect::<SqlResult<Vec<_>>>()
        .map_err(self.db())
    }

    /// Replaces the stored bytes of run `id`'s held messages with `fresh` ones that say
    /// the same thing (same idempotency key and content hash: only the Date header
    /// differs), so that memos approved days after they were held carry the day they are
    /// sent. A fresh message whose content differs is ignored (the caller compares the
    /// tokens first). Returns how many were restamped.
    pub fn approval_restamp(&mut self, id: i64, fresh: &[HeldMessage]) -> Result<usize> {
        let path = self.path.clone();
        let err = |source| super::db_error(&path, source);
        let tx = self.conn.begin(false).map_err(err)?;
        let mut n = 0;
        for m in fresh {
            n += tx
                .execute(
                    "UPDATE approval_messages SET message = ?4
                     WHERE approval_id = ?1 AND idempotency_key = ?2 AND content_hash = ?3",
                    params![id, m.entry.idempotency_key, m.content_hash, m.entry.message],
                )
                .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(n)
    }

    /// Approves the pending run `id`: in one durable transaction, its held messages go
    /// into the outbox as `pending` (a key the outbox already has is left alone, never
    /// sent twice), their memo facts are recorded, and the run is marked `approved` by
    /// `by`. `None` (nothing done) if the run is no longer pending.
    pub fn approval_release(&mut self, id: i64, by: &str, now: DateTime<Utc>) -> Result<Option<Released>> {
        let held = self.approval_messages(id)?;
        self.durably(|s| {
            let path = s.path.clone();
            let err = |source| super::db_error(&path, source);
            let tx = s.conn.begin(false).map_err(err)?;
            let n = tx
                .execute(
                    "UPDATE approvals SET state = 'approved', decided_at = ?2, decided_by = ?3
                     WHERE id = ?1 AND state = 'pending'",
                    params![id, ts(now), by],
                )
                .map_err(err)?;
            if n != 1 {
                return Ok(None);
            }
            let mut out = Released::default();
            for m in &held {
                let e = &m.entry;
                let added = tx
                    .execute(
                        "INSERT INTO outbox (idempotency_key, job, period, recipient, kind, message_id, subject, message, state, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9) ON CONFLICT (idempotency_key) DO NOTHING",
                        params![e.idempotency_key, e.job, e.period, e.recipient, e.kind, e.message_id, e.subject, e.message, ts(now)],
                    )
                    .map_err(err)?;
                if added == 0 {
                    out.already.push(e.idempotency_key.clone());
                    continue;
                }
                add_recipients(&tx, e).map_err(err)?;
                if let Some((rep_key, facts)) = &m.facts {
                    tx.execute(
                        "INSERT INTO memo_facts (idempotency_key, job, period, rep_key, facts, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                         ON CONFLICT (idempotency_key) DO UPDATE SET facts = excluded.facts, rep_key = excluded.rep_key, recorded_at = excluded.recorded_at",
                        params![e.idempotency_key, e.job, e.period, rep_key, facts, ts(now)],
                    )
                    .map_err(err)?;
                }
                out.queued.push(e.idempotency_key.clone());
            }
            tx.commit().map_err(err)?;
            Ok(Some(out))
        })
    }

    /// Marks the pending run `id` `rejected` by `by` with `reason`: its messages are never
    /// sent. Returns false if it was no longer pending.
    pub fn approval_reject(&self, id: i64, by: &str, reason: &str, now: DateTime<Utc>) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "UPDATE approvals SET state = 'rejected', decided_at = ?2, decided_by = ?3, note = ?4
                 WHERE id = ?1 AND state = 'pending'",
                params![id, ts(now), by, reason],
            )
            .map_err(self.db())?;
        Ok(n == 1)
    }

    /// Marks the pending run `id` `superseded` with `note` (e.g. nothing of it is left to
    /// send). Returns false if it was no longer pending.
    pub fn approval_supersede(&self, id: i64, note: &str, now: DateTime<Utc>) -> Result<bool> {
        let n = self.conn
            .execute(
                "UPDATE approvals SET state = 'superseded', decided_at = ?2, note = ?3 WHERE id = ?1 AND state = 'pending'",
                params![id, ts(now), note],
            )
            .map_err(self.db())?;
        Ok(n == 1)
    }

    /// Records that run `id`'s deadline was acted on (the admin told), once.
    pub fn approval_deadline_done(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "UPDATE approvals SET deadline_done = ?2 WHERE id = ?1 AND deadline_done IS NULL",
                params![id, ts(now)],
            )
            .map_err(self.db())?;
        Ok(n == 1)
    }

    /// Records an approver's answer for the daemon to act on; returns its id.
    pub fn approval_request_add(&self, r: &ApprovalRequest, now: DateTime<Utc>) -> Result<i64> {
        self.conn
            .query_row(
                "INSERT INTO approval_requests (job, period, action, token, by, reason, requested_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
                params![r.job, r.period, r.action, r.token, r.by, r.reason, ts(now)],
                |r| r.get(0),
            )
            .map_err(self.db())
    }

    /// The answers not yet acted on, oldest first: (id, request).
    pub fn approval_requests_open(&self) -> Result<Vec<(i64, ApprovalRequest)>> {
        let mut st = self.conn
            .prepare(
                "SELECT id, job, period, action, token, by, reason FROM approval_requests WHERE done_at IS NULL ORDER BY id",
            )
            .map_err(self.db())?;
        st.query_map(params![], |r| {
            Ok((
                r.get(0)?,
                ApprovalRequest {
                    job: r.get(1)?,
                    period: r.get(2)?,
                    action: r.get(3)?,
                    token: r.get(4)?,
                    by: r.get(5)?,
                    reason: r.get(6)?,
                },
            ))
        })
        .map_err(self.db())?
        .collect::<SqlResult<Vec<_>>>()
        .map_err(self.db())
    }

    /// Records what the daemon did with answer `id`.
    pub fn approval_request_done(&self, id: i64, ok: bool, outcome: &str, now: DateTime<Utc>) -> Result<()> {
        self.conn
            .execute(
                "UPDATE approval_requests SET done_at = ?2, ok = ?3, outcome = ?4 WHERE id = ?1",
                params![id, ts(now), ok, outcome],
            )
            .map_err(self.db())?;
        Ok(())
    }

    /// Answer `id`'s outcome once the daemon acted on it: (ok, what it did).
    pub fn approval_request_outcome(&self, id: i64) -> Result<Option<(bool, String)>> {
        let r: Option<(Option<bool>, Option<String>)> = self
            .conn
            .query_row("SELECT ok, outcome FROM approval_requests WHERE id = ?1", params![id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(self.db())?;
        Ok(r.and_then(|(ok, o)| Some((ok?, o.unwrap_or_default()))))
    }

    /// The run with this id.
    pub fn approval_get(&self, id: i64) -> Result<Option<ApprovalRow>> {
        let r = self
            .conn
            .query_row(&format!("{APPROVAL_SELECT} WHERE id = ?1"), params![id], raw)
            .optional()
            .map_err(self.db())?;
        r.map(|r| self.approval_finish(r)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::OutboxState;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn held(key: &str, to: &str) -> HeldMessage {
        HeldMessage {
            entry: OutboxEntry {
                idempotency_key: key.into(),
                job: "quota-memo".into(),
                period: "2026-11".into(),
                recipient: to.into(),
                recipients: vec![to.into()],
                kind: "rep-memo".into(),
                message_id: format!("{key}.quotad@example.com"),
                subject: "Your quota".into(),
                message: b"Subject: Your quota\r\n\r\nhi\r\n".to_vec(),
            },
            content_hash: "00".repeat(32),
            facts: Some(("id:R1".into(), "{\"revenue_quota\":\"1\"}".into())),
        }
    }

    #[test]
    fn held_messages_stay_out_of_the_outbox_until_released_once() {
        for state in crate::store::TestState::each() {
            let mut s = state.open();
            let t0 = at("2026-11-01T13:00:00Z");
            let a = "quota-memo/2026-11/ann@example.com/rep-memo";
            let b = "quota-memo/2026-11/bob@example.com/rep-memo";
            let id = s
                .approval_hold(
                    "quota-memo",
                    "2026-11",
                    "memos",
                    "aaaaaaaaaaaa",
                    "d1",
                    None,
                    &[held(a, "ann@example.com")],
                    "",
                    t0,
                )
                .unwrap();
            // Held: nothing due, nothing in the outbox, nothing a retry could requeue.
            assert!(s.outbox_due(t0).unwrap().is_empty());
            assert!(s.outbox_get(a).unwrap().is_none());
            assert!(s.outbox_requeue(&[]).unwrap().is_empty());
            // A re-render supersedes it.
            let id2 = s
                .approval_hold(
                    "quota-memo",
                    "2026-11",
                    "memos",
                    "bbbbbbbbbbbb",
                    "d2",
                    Some(at("2026-11-03T18:00:00Z")),
                    &[held(a, "ann@example.com"), held(b, "bob@example.com")],
                    "figures changed",
                    t0,
                )
                .unwrap();
            let old = s.approval_get(id).unwrap().unwrap();
            assert_eq!((old.state, old.note.as_deref()), (ApprovalState::Superseded, Some("figures changed")));
            assert!(
                s.approval_release(id, "x@example.com", t0).unwrap().is_none(),
                "a superseded run cannot be approved"
            );
            let p = s.approval_pending("quota-memo", "2026-11").unwrap().unwrap();
            assert_eq!((p.id, p.messages, p.token.as_str()), (id2, 2, "bbbbbbbbbbbb"));
            assert_eq!(p.deadline_at, Some(at("2026-11-03T18:00:00Z")));
            assert_eq!(s.approval_messages(id2).unwrap()[1].entry.recipients, ["bob@example.com"]);

            let r = s.approval_release(id2, "ops@example.com", t0).unwrap().unwrap();
            assert_eq!((r.queued.len(), r.already.len()), (2, 0));
            assert_eq!(s.outbox_get(a).unwrap().unwrap().state, OutboxState::Pending);
            assert_eq!(s.outbox_recipients(b).unwrap()[0].address, "bob@example.com");
            let done = s.approval_get(id2).unwrap().unwrap();
            assert_eq!((done.state, done.decided_by.as_deref()), (ApprovalState::Approved, Some("ops@example.com")));
            assert!(s.approval_pending("quota-memo", "2026-11").unwrap().is_none());
            assert!(s.approval_release(id2, "ops@example.com", t0).unwrap().is_none(), "approved once");
            // Another run holding a key the outbox already has leaves it alone.
            let id3 = s
                .approval_hold(
                    "quota-memo",
                    "2026-11",
                    "corrections",
                    "cccccccccccc",
                    "d3",
                    None,
                    &[held(a, "ann@example.com")],
                    "",
                    t0,
                )
                .unwrap();
            let r = s.approval_release(id3, "ops@example.com", t0).unwrap().unwrap();
            assert_eq!((r.queued.len(), r.already), (0, vec![a.to_string()]));
            let id4 = s
                .approval_hold(
                    "quota-memo",
                    "2026-12",
                    "memos",
                    "dddddddddddd",
                    "d4",
                    None,
                    &[held(b, "bob@example.com")],
                    "",
                    t0,
                )
                .unwrap();
            assert!(s.approval_reject(id4, "ops@example.com", "wrong quota file", t0).unwrap());
            assert!(!s.approval_reject(id4, "ops@example.com", "again", t0).unwrap());
            assert_eq!(s.approval_history("quota-memo", "2026-11").unwrap().len(), 3);
        }
    }
}
