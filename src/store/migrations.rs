//! The schema: every migration, applied in order at [`Store::open`](super::Store::open)
//! (`PRAGMA user_version` counts those applied). Owns every table's `CREATE`.
//!
//! Append-only: a released migration is never edited or renumbered; a change is a new
//! entry at the end. Imports rusqlite only.

use rusqlite::{Connection, TransactionBehavior};

/// The migrations, oldest first; the database is at version `MIGRATIONS.len()` when done.
pub(super) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE imports (
    id            INTEGER PRIMARY KEY,
    source        TEXT NOT NULL,              -- config source name
    kind          TEXT NOT NULL,              -- deals | quotas | roster
    file_name     TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    sheet         TEXT NOT NULL,
    imported_at   TEXT NOT NULL,              -- RFC 3339 UTC
    exported_at   TEXT NOT NULL,              -- RFC 3339 UTC: the file's modification time, when the CRM wrote it
    rows_stored   INTEGER NOT NULL,
    rows_rejected INTEGER NOT NULL,
    UNIQUE (source, sha256)
);
CREATE TABLE deals (                          -- the current version of each deal event, one row per credited rep
    deal_id            TEXT NOT NULL,
    event              TEXT NOT NULL,         -- sale | cancellation
    rep_ref            TEXT NOT NULL,         -- id:..., email:... or name:...
    stage              TEXT NOT NULL,
    class              TEXT NOT NULL,         -- won | cancelled | ignored
    rep_id             TEXT,
    rep_email          TEXT,
    rep_name           TEXT,
    team               TEXT,
    close_date         TEXT,                  -- YYYY-MM-DD
    amount             TEXT,                  -- exact decimal, currency units
    units              TEXT,                  -- exact decimal
    rating             TEXT,                  -- exact decimal
    paperwork_complete INTEGER,
    paperwork_errors   INTEGER,
    share              TEXT NOT NULL,         -- exact decimal fraction of the deal credited to this rep
    import_id          INTEGER NOT NULL REFERENCES imports(id),
    sheet              TEXT NOT NULL,
    excel_row          INTEGER NOT NULL,
    PRIMARY KEY (deal_id, event, rep_ref)
) WITHOUT ROWID;
CREATE INDEX deals_by_close_date ON deals(close_date);
CREATE TABLE deal_history AS SELECT *, 0 AS superseded_by FROM deals WHERE 0;  -- versions a later export replaced
CREATE TABLE import_months (                  -- which months each deals file held rows for ("as of", final)
    import_id  INTEGER NOT NULL REFERENCES imports(id),
    month      TEXT NOT NULL,                 -- YYYY-MM
    PRIMARY KEY (import_id, month)
);
CREATE TABLE quotas (
    rep_ref    TEXT NOT NULL,                 -- id:..., email:... or name:...
    rep_id     TEXT,
    rep_email  TEXT,
    rep_name   TEXT,
    month      TEXT NOT NULL,                 -- YYYY-MM
    revenue    TEXT NOT NULL,                 -- exact decimal, currency units; 0 = no quota
    units      TEXT,
    import_id  INTEGER NOT NULL REFERENCES imports(id),
    sheet      TEXT NOT NULL,
    excel_row  INTEGER NOT NULL,
    PRIMARY KEY (rep_ref, month)
);
CREATE TABLE roster_versions (                -- every version of each rep, so closed months keep their team and name
    rep_key       TEXT NOT NULL,
    effective_at  TEXT NOT NULL,              -- RFC 3339 UTC: the roster file's export time
    rep_id        TEXT,
    name          TEXT NOT NULL,
    email         TEXT,
    team          TEXT,
    manager       TEXT,
    manager_email TEXT,
    hire_date     TEXT,
    active        INTEGER NOT NULL,
    import_id     INTEGER NOT NULL REFERENCES imports(id),
    sheet         TEXT NOT NULL,
    excel_row     INTEGER NOT NULL
);
CREATE VIEW roster AS                         -- the current roster: each rep's most recently imported version
    SELECT * FROM roster_versions v
    WHERE import_id = (SELECT MAX(import_id) FROM roster_versions w WHERE w.rep_key = v.rep_key);
CREATE TABLE outbox (
    idempotency_key TEXT PRIMARY KEY,         -- job/period/recipient/kind
    job             TEXT NOT NULL,
    period          TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    kind            TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    message         BLOB NOT NULL,            -- the rendered RFC 5322 message
    state           TEXT NOT NULL,            -- pending | sent
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE TABLE memo_facts (                     -- the figures a sent memo stated, to detect corrections
    idempotency_key TEXT PRIMARY KEY,         -- the outbox message that stated them
    job             TEXT NOT NULL,
    period          TEXT NOT NULL,            -- YYYY-MM
    rep_key         TEXT NOT NULL,
    facts           TEXT NOT NULL,            -- JSON object of formatted-independent exact values
    recorded_at     TEXT NOT NULL             -- RFC 3339 UTC
);
CREATE INDEX memo_facts_by_rep ON memo_facts(job, period, rep_key);
"#,
    r#"
-- Delivery (issue 5): retries with backoff, dead letters, crash-interrupted sends, resends.
-- state is now pending | sending | sent | failed | dead.
ALTER TABLE outbox ADD COLUMN next_attempt_at TEXT;          -- RFC 3339 UTC; a failed row waits until then
ALTER TABLE outbox ADD COLUMN sending_at      TEXT;          -- when the last attempt started
ALTER TABLE outbox ADD COLUMN dead_at         TEXT;
ALTER TABLE outbox ADD COLUMN notified_at     TEXT;          -- when the admin was told about this dead letter
ALTER TABLE outbox ADD COLUMN resends         INTEGER NOT NULL DEFAULT 0;  -- user-requested resends
ALTER TABLE outbox ADD COLUMN interrupted     INTEGER NOT NULL DEFAULT 0;  -- found in 'sending' after a crash
CREATE INDEX outbox_by_state ON outbox(state, next_attempt_at);
"#,
    r#"
-- Import reports (issue 7): what each inbox file gave, imported or quarantined.
CREATE TABLE import_reports (
    id            INTEGER PRIMARY KEY,
    at            TEXT NOT NULL,              -- RFC 3339 UTC
    file_name     TEXT NOT NULL,
    source        TEXT NOT NULL,              -- config source name
    kind          TEXT NOT NULL,              -- deals | summary | quotas | roster
    outcome       TEXT NOT NULL,              -- imported | quarantined
    import_id     INTEGER REFERENCES imports(id),  -- NULL when quarantined
    sheet         TEXT NOT NULL,
    header_row    INTEGER NOT NULL,           -- Excel row; 0 = none found, or a headerless file
    rows_read     INTEGER NOT NULL,           -- data rows below the header (blank and totals rows excluded)
    rows_stored   INTEGER NOT NULL,           -- new + updated
    rows_rejected INTEGER NOT NULL,
    new           INTEGER NOT NULL,           -- rows new to the store
    updated       INTEGER NOT NULL,           -- rows that replaced an earlier export's version
    unchanged     INTEGER NOT NULL,           -- rows identical to what was stored
    superseded    INTEGER NOT NULL,           -- rows a later export, already stored, supersedes (ignored)
    periods       TEXT NOT NULL,              -- months touched, YYYY-MM, comma-separated
    warnings      TEXT NOT NULL,              -- one per line
    reason        TEXT                        -- why it was quarantined
);
"#,
    r#"
-- The calendar (issue 6): the runs ledger, one row per (job, occurrence), and what the
-- daemon last saw. See runs.rs.
CREATE TABLE runs (
    job          TEXT NOT NULL,               -- quota-memo | weekly-ranking | one-on-one
    occurrence   TEXT NOT NULL,               -- RFC 3339 UTC, milliseconds: the scheduled instant
    state        TEXT NOT NULL,               -- started | waiting | succeeded | skipped | failed | missed
    result       TEXT NOT NULL DEFAULT '',    -- one line for people: what it did, or why not
    source       TEXT NOT NULL,               -- serve | run (by hand, `run JOB --at`)
    started_at   TEXT,                        -- RFC 3339 UTC
    finished_at  TEXT,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (job, occurrence)
) WITHOUT ROWID;
CREATE TABLE daemon (                         -- key/value: last_seen = the calendar was looked at up to here
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
"#,
    r#"
-- The roster view's "latest version of this rep" subquery, once per rep, was a scan of
-- every version (quadratic in the roster's size; each import reads the roster).
CREATE INDEX roster_versions_by_rep ON roster_versions(rep_key, import_id);
"#,
    // week-distribution: messages with several recipients (issue 18.4).
    r#"
-- Each envelope recipient of an outbox message, with its own acceptance: a recipient the
-- server refused is retried (or dead) alone, never by sending the message again to those
-- who accepted it. The outbox row's state is the summary of its recipients'.
CREATE TABLE outbox_recipients (
    idempotency_key TEXT NOT NULL,              -- the outbox message
    position        INTEGER NOT NULL,           -- order in the envelope: To, then Cc
    address         TEXT NOT NULL,
    state           TEXT NOT NULL,              -- pending | sent | failed | dead
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at TEXT,                       -- RFC 3339 UTC; a failed recipient waits until then
    sent_at         TEXT,                       -- when the server took the message for it
    PRIMARY KEY (idempotency_key, address)
) WITHOUT ROWID;
-- Every message recorded before had one recipient: the row's state is its recipient's.
INSERT INTO outbox_recipients (idempotency_key, position, address, state, attempts, last_error, next_attempt_at, sent_at)
    SELECT idempotency_key, 0, recipient, CASE state WHEN 'sending' THEN 'pending' ELSE state END,
           attempts, last_error, next_attempt_at, sent_at FROM outbox;
"#,
    // hold-data: quarantines hold the jobs whose figures they could change until resolved (issue 15.1).
    r#"
-- A quarantined file holds every job whose figures it could change until it is resolved:
-- a later file of the same source imported, or dismissed by the admin
-- (`quotad quarantine dismiss FILE`).
ALTER TABLE import_reports ADD COLUMN resolved_at TEXT;   -- RFC 3339 UTC; NULL = unresolved (quarantined rows only)
ALTER TABLE import_reports ADD COLUMN resolution  TEXT;   -- how: the import that resolved it, or the dismissal
-- Quarantines from before this migration that a later file of their source already
-- followed are resolved by it.
UPDATE import_reports
   SET resolved_at = (SELECT MIN(l.at) FROM import_reports l
                       WHERE l.source = import_reports.source AND l.outcome = 'imported' AND l.id > import_reports.id),
       resolution = 'a later file of the same source was imported'
 WHERE outcome = 'quarantined'
   AND EXISTS (SELECT 1 FROM import_reports l
                WHERE l.source = import_reports.source AND l.outcome = 'imported' AND l.id > import_reports.id);
"#,
    // dead-letters: a dead-letter notice knows which letters it lists (issue 16.10).
    r#"
-- A dead-letter notice tells the truth when it goes out: each dead letter records the
-- notice that lists it, and the notice how many it listed when queued. A letter sent
-- again (`quotad outbox retry`) leaves its notice; a notice none of whose letters is
-- still dead is withdrawn, one with fewer is rewritten before it is sent.
ALTER TABLE outbox ADD COLUMN notified_by TEXT;     -- a dead letter: the key of the admin notice listing it
ALTER TABLE outbox ADD COLUMN lists       INTEGER;  -- a dead-letter notice: letters listed when queued (NULL: queued before this column)
CREATE INDEX outbox_by_notice ON outbox(notified_by);
"#,
    // approval: held quota memos wait for an approver ([quota_memo.approval], issue 23).
    r#"
-- One held run of a job's messages awaiting approval: its token is the digest of exactly
-- the held messages' content, which the approver's digest names. At most one `pending`
-- run per (job, period); a re-render with other content supersedes it.
CREATE TABLE approvals (
    id            INTEGER PRIMARY KEY,
    job           TEXT NOT NULL,              -- quota-memo
    period        TEXT NOT NULL,              -- YYYY-MM
    round         TEXT NOT NULL,              -- memos | corrections
    token         TEXT NOT NULL,              -- 12 hex digits
    state         TEXT NOT NULL,              -- pending | approved | rejected | superseded
    messages      INTEGER NOT NULL,
    digest_key    TEXT NOT NULL,              -- the outbox key of the digest sent to the approvers
    created_at    TEXT NOT NULL,              -- RFC 3339 UTC: held
    deadline_at   TEXT,                       -- RFC 3339 UTC; NULL = no deadline
    deadline_done TEXT,                       -- when the deadline was acted on
    decided_at    TEXT,
    decided_by    TEXT,                       -- approver's address, or "deadline (at_deadline = send)"
    note          TEXT                        -- rejection reason, or why it was superseded
);
CREATE UNIQUE INDEX approvals_one_pending ON approvals(job, period) WHERE state = 'pending';
-- The held messages, outside the outbox: no delivery path can see them until an approval
-- copies them into the outbox (as pending) in the same transaction that records it.
CREATE TABLE approval_messages (
    approval_id     INTEGER NOT NULL REFERENCES approvals(id),
    position        INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL,
    content_hash    TEXT NOT NULL,            -- SHA-256 of recipients, subject, text, HTML, attachments
    job             TEXT NOT NULL,
    period          TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    recipients      TEXT NOT NULL,            -- envelope recipients, one per line
    kind            TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    message         BLOB NOT NULL,
    rep_key         TEXT,                     -- memo_facts written on release
    facts           TEXT,
    PRIMARY KEY (approval_id, idempotency_key)
) WITHOUT ROWID;
-- An approver's answer given while `quotad serve` holds the state: the daemon acts on it
-- at its next heartbeat and records the outcome, which `quotad approve` waits for.
CREATE TABLE approval_requests (
    id            INTEGER PRIMARY KEY,
    job           TEXT NOT NULL,
    period        TEXT NOT NULL,
    action        TEXT NOT NULL,              -- approve | reject
    token         TEXT NOT NULL,              -- approve: the token; reject: ''
    by            TEXT NOT NULL,              -- the approver's address
    reason        TEXT NOT NULL,              -- reject: why; approve: ''
    requested_at  TEXT NOT NULL,
    done_at       TEXT,
    ok            INTEGER,                    -- 1 approved/rejected, 0 refused
    outcome       TEXT                        -- what the daemon did, in words
);
"#,
    // roster-dated: a roster row's Effective Date (its version then holds from that
    // local date's midnight, `effective_at`, instead of the file's export time) and
    // Leave Date (the rep's last working day). Both local dates, NULL when not given.
    r#"
ALTER TABLE roster_versions ADD COLUMN effective_date TEXT;
ALTER TABLE roster_versions ADD COLUMN leave_date TEXT;
"#,
    // sums: per month and rep as exported, the sums of the stored deal rows that history
    // is computed from instead of every row (issue 19, "compute once"); see sums.rs.
    r#"
CREATE TABLE rep_month_sums (                 -- one row per month, rep as exported and sale_on_record
    month          TEXT NOT NULL,             -- YYYY-MM: the rows' close-date month
    rep_id         TEXT,                      -- the rep as the export named them (matched to the roster when read)
    rep_email      TEXT,
    rep_name       TEXT,
    sale_on_record INTEGER NOT NULL,          -- 1: won rows and cancellations whose sale is on record; 0: cancellations whose sale is not
    revenue        TEXT NOT NULL,             -- exact decimal, currency units: won amount x share minus cancelled |amount| x share
    units          TEXT NOT NULL,             -- exact decimal, likewise (a row without units counts 1)
    won            INTEGER NOT NULL,          -- won rows
    cancelled      INTEGER NOT NULL,          -- cancelled rows
    rating_sum     TEXT NOT NULL,             -- exact decimal: sum of the won rows' ratings
    rating_n       INTEGER NOT NULL,          -- won rows with a rating
    paperwork_n    INTEGER NOT NULL,          -- won rows reporting paperwork
    clean_n        INTEGER NOT NULL,          -- of those, complete with zero errors
    errors         INTEGER NOT NULL,          -- paperwork errors on won rows
    month_totals   INTEGER NOT NULL,          -- rows that are a summary export's monthly totals
    through        TEXT,                      -- YYYY-MM-DD: the latest close date summed
    team           TEXT,                      -- the team on the rep's last row (stored order) that gives one
    team_date      TEXT,                      -- that row's close date, Deal ID and event (sale | cancellation)
    team_deal_id   TEXT,
    team_event     TEXT
);
CREATE INDEX rep_month_sums_by_month ON rep_month_sums(month);
CREATE TABLE rep_month_sums_stale (           -- months whose sums are to be (re)built
    month TEXT NOT NULL PRIMARY KEY           -- YYYY-MM
);
-- Which versions an import replaced, found without a scan of the whole history.
CREATE INDEX deal_history_by_import ON deal_history(superseded_by);
-- A store written before this migration: every month with deals is built at the next
-- read-write open.
INSERT INTO rep_month_sums_stale (month)
    SELECT DISTINCT substr(close_date, 1, 7) FROM deals WHERE close_date IS NOT NULL;
"#,
    // multi: several `quotad serve` instances on one PostgreSQL state (issue 24 part C).
    r#"
-- Each `quotad serve` that ran on this state: it renews heartbeat_at while it lives. An
-- instance holds a lease while its heartbeat is fresher than schedule.lease_seconds and
-- it has not stopped; what a dead instance held (runs, outbox rows, inbox files) is
-- taken over by another after that.
CREATE TABLE instances (
    id           INTEGER PRIMARY KEY,
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    started_at   TEXT NOT NULL,                -- RFC 3339 UTC (wall clock)
    heartbeat_at TEXT NOT NULL,                -- RFC 3339 UTC (wall clock)
    stopped_at   TEXT                          -- a clean stop; NULL = running, or died
);
ALTER TABLE runs ADD COLUMN holder INTEGER;       -- the instance running it (started, waiting); NULL = by hand
ALTER TABLE outbox ADD COLUMN holder INTEGER;     -- the instance that claimed it for delivery; NULL = free
ALTER TABLE outbox ADD COLUMN claimed_at TEXT;    -- RFC 3339 UTC (wall clock)
CREATE TABLE inbox_claims (                       -- an inbox file being imported, by its fingerprint
    source     TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    holder     INTEGER NOT NULL,
    claimed_at TEXT NOT NULL,                     -- RFC 3339 UTC (wall clock)
    PRIMARY KEY (source, sha256)
) WITHOUT ROWID;
"#,
];

/// How many migrations there are: the `user_version` of an up-to-date database.
pub(super) fn count() -> usize {
    MIGRATIONS.len()
}

/// Applies the migrations `conn`'s database has not had yet, in one transaction.
pub(super) fn apply(conn: &mut Connection) -> rusqlite::Result<()> {
    let version = |c: &Connection| c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0));
    if (version(conn)? as usize) < MIGRATIONS.len() {
        // Another process may be migrating the same file right now (`quotad status`
        // while `quotad run` starts): take the write lock, then look again.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let done = version(&tx)? as usize;
        for sql in MIGRATIONS.iter().skip(done) {
            tx.execute_batch(sql)?;
        }
        tx.execute_batch(&format!("PRAGMA user_version = {}", MIGRATIONS.len()))?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::store::{OutboxState, Store};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn processes_opening_a_new_database_at_once_migrate_it_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.sqlite");
        let opened: Vec<_> = (0..8)
            .map(|_| {
                let p = path.clone();
                std::thread::spawn(move || Store::open(&p).map(|_| ()).map_err(|e| e.to_string()))
            })
            .collect();
        for t in opened {
            assert_eq!(t.join().unwrap(), Ok(()));
        }
        let s = Store::open(&path).unwrap();
        let v: i64 = s.conn.lite().unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v as usize, MIGRATIONS.len());
    }

    #[test]
    fn a_version_1_database_is_migrated_with_its_outbox_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.execute_batch(
                "PRAGMA user_version = 1;
                 INSERT INTO outbox (idempotency_key, job, period, recipient, kind, message_id, subject, message, state,
                    attempts, created_at, sent_at)
                 VALUES ('k', 'quota-memo', '2026-11', 'ann@example.com', 'rep-memo', 'm', 's', x'00', 'sent', 1,
                    '2026-11-01T13:00:00+00:00', '2026-11-01T13:00:01+00:00');",
            )
            .unwrap();
        }
        let s = Store::open(&path).unwrap();
        let k = s.outbox_get("k").unwrap().unwrap();
        assert_eq!((k.state, k.attempts, k.resends, k.interrupted), (OutboxState::Sent, 1, 0, 0));
        assert_eq!(k.sent_at, Some(at("2026-11-01T13:00:01Z")));
        // The one recipient of a message recorded before outbox_recipients existed.
        assert_eq!(k.entry.recipients, ["ann@example.com"]);
        let r = s.outbox_recipients("k").unwrap();
        assert_eq!((r.len(), r[0].state, r[0].attempts), (1, OutboxState::Sent, 1));
    }
}
