//! The instances ledger (migration 12, issue 24 part C): each `quotad serve` that ran
//! on this state, its heartbeat, and what it holds. Several `serve` instances may work
//! on one PostgreSQL state; each claim of a shared thing (a run, an outbox row, an
//! inbox file) names its holder, an instance id, and is theirs only while the holder
//! holds a **lease**: its heartbeat is fresher than the lease (`schedule.lease_seconds`)
//! and it has not stopped. A dead instance's claims are taken over by another after
//! that, each by one UPDATE that only one instance wins.
//!
//! Lease times are wall-clock instants (RFC 3339 UTC text, like every instant here)
//! read from the clock given to [`Store::hold_as`]: a lease is about a process being
//! alive, not about the calendar, which may run faster (`serve --speed`).

use chrono::{DateTime, Utc};

use super::sql::{Optional, SqlResult, params};
use super::{Result, Store, instant, ts};

/// This process as a claim holder (`quotad serve` on PostgreSQL): its instance id, the
/// lease, and the wall clock the lease is measured on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Holder {
    pub(crate) id: i64,
    pub(crate) lease: chrono::Duration,
    pub(crate) wall: fn() -> DateTime<Utc>,
}

/// An instances ledger row, with what the instance holds (for `quotad status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceRow {
    /// The instance id (claims name it).
    pub id: i64,
    /// The machine's host name.
    pub host: String,
    /// Its process id on that machine.
    pub pid: i64,
    /// When it started, UTC (wall clock).
    pub started_at: DateTime<Utc>,
    /// Its last heartbeat, UTC (wall clock).
    pub heartbeat_at: DateTime<Utc>,
    /// When it stopped cleanly, if it did.
    pub stopped_at: Option<DateTime<Utc>>,
    /// Whether it holds a lease: not stopped, heartbeat fresher than the lease.
    pub alive: bool,
    /// The runs it holds (started or waiting): "job occurrence".
    pub runs: Vec<String>,
    /// Outbox rows it has claimed (sending or about to).
    pub outbox: i64,
    /// Inbox files it has claimed for import.
    pub inbox: i64,
}

/// SQL: the holder column `col` is free for holder `?me`: NULL, `?me` itself, or an
/// instance without a lease at cutoff `?cutoff` (stopped, or its heartbeat older).
pub(super) fn free(col: &str, me: usize, cutoff: usize) -> String {
    format!(
        "({col} IS NULL OR {col} = ?{me} OR NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = {col} \
         AND i.stopped_at IS NULL AND i.heartbeat_at >= ?{cutoff}))"
    )
}

impl Store {
    /// Makes this connection claim as instance `id` (`quotad serve` on PostgreSQL): runs
    /// it claims name it, outbox rows are claimed before they are sent, inbox files
    /// before they are imported, and a claim whose holder has had no heartbeat for
    /// `lease` (on the `wall` clock) is taken over. Without it (SQLite, commands by
    /// hand) nothing is claimed: the state lock keeps everyone else out.
    pub fn hold_as(&mut self, id: i64, lease: chrono::Duration, wall: fn() -> DateTime<Utc>) {
        self.holder = Some(Holder { id, lease, wall });
    }

    /// The instance id this connection claims as, if any ([`Store::hold_as`]).
    pub fn holder_id(&self) -> Option<i64> {
        self.holder.map(|h| h.id)
    }

    /// Now on the lease's wall clock, when claiming as an instance.
    pub fn lease_clock(&self) -> Option<DateTime<Utc>> {
        self.holder.map(|h| (h.wall)())
    }

    /// (instance id, lease cutoff as stored text) when claiming.
    pub(super) fn claiming(&self) -> Option<(i64, String)> {
        self.holder.map(|h| (h.id, ts((h.wall)() - h.lease)))
    }

    /// Records a new instance (`quotad serve` starting) on `host` with `pid`, its first
    /// heartbeat at `now` (wall clock); returns its id.
    pub fn instance_register(&self, host: &str, pid: u32, now: DateTime<Utc>) -> Result<i64> {
        self.conn
            .query_row(
                "INSERT INTO instances (host, pid, started_at, heartbeat_at) VALUES (?1, ?2, ?3, ?3) RETURNING id",
                params![host, i64::from(pid), ts(now)],
                |r| r.get(0),
            )
            .map_err(self.db())
    }

    /// Renews instance `id`'s lease: its heartbeat is `now` (wall clock). Returns false
    /// when the instance has stopped (nothing renewed).
    pub fn instance_heartbeat(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "UPDATE instances SET heartbeat_at = ?2 WHERE id = ?1 AND stopped_at IS NULL",
                params![id, ts(now)],
            )
            .map_err(self.db())?;
        Ok(n == 1)
    }

    /// A clean stop of instance `id` at `now`: its lease ends at once, its outbox
    /// claims not being sent and its inbox claims are released (its interrupted runs
    /// are then free for another instance to resume).
    pub fn instance_stop(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        self.conn
            .execute("UPDATE instances SET stopped_at = ?2 WHERE id = ?1", params![id, ts(now)])
            .map_err(self.db())?;
        self.conn
            .execute(
                "UPDATE outbox SET holder = NULL, claimed_at = NULL WHERE holder = ?1 AND state <> 'sending'",
                params![id],
            )
            .map_err(self.db())?;
        self.conn.execute("DELETE FROM inbox_claims WHERE holder = ?1", params![id]).map_err(self.db())?;
        Ok(())
    }

    /// The instances that have run on this state, newest first, at most `limit`, each
    /// alive or not at `now` (wall clock) for a lease of `lease`, with what it holds.
    pub fn instances(&self, now: DateTime<Utc>, lease: chrono::Duration, limit: usize) -> Result<Vec<InstanceRow>> {
        type Raw = (i64, String, i64, String, String, Option<String>);
        let raw: Vec<Raw> = self.rows(
            "SELECT id, host, pid, started_at, heartbeat_at, stopped_at FROM instances ORDER BY id DESC LIMIT ?1",
            params![limit.min(i64::MAX as usize) as i64],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )?;
        let cutoff = now - lease;
        let mut out = Vec::new();
        for (id, host, pid, started, beat, stopped) in raw {
            let heartbeat_at = instant(&self.path, "instances.heartbeat_at", beat)?;
            let stopped_at = stopped.map(|t| instant(&self.path, "instances.stopped_at", t)).transpose()?;
            let runs: Vec<String> = self.rows(
                "SELECT job, occurrence FROM runs WHERE holder = ?1 AND state IN ('started', 'waiting')
                     ORDER BY occurrence, job",
                params![id],
                |r| Ok(format!("{} {}", r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
            )?;
            let outbox: i64 = self
                .conn
                .query_row("SELECT COUNT(*) FROM outbox WHERE holder = ?1", params![id], |r| r.get(0))
                .map_err(self.db())?;
            let inbox: i64 = self
                .conn
                .query_row("SELECT COUNT(*) FROM inbox_claims WHERE holder = ?1", params![id], |r| r.get(0))
                .map_err(self.db())?;
            out.push(InstanceRow {
                id,
                host,
                pid,
                started_at: instant(&self.path, "instances.started_at", started)?,
                heartbeat_at,
                alive: stopped_at.is_none() && heartbeat_at >= cutoff,
                stopped_at,
                runs,
                outbox,
                inbox,
            });
        }
        Ok(out)
    }

    /// The last heartbeat of instance `id`, if it is recorded (how long ago a dead
    /// holder was last seen, for the log of a takeover).
    pub fn instance_heartbeat_at(&self, id: i64) -> Result<Option<DateTime<Utc>>> {
        let t: Option<String> = self
            .conn
            .query_row("SELECT heartbeat_at FROM instances WHERE id = ?1", params![id], |r| r.get(0))
            .optional()
            .map_err(self.db())?;
        t.map(|t| instant(&self.path, "instances.heartbeat_at", t)).transpose()
    }

    /// Claims the inbox file (`source`, `sha256`) for import: true when this instance
    /// holds it now (newly, already, or taken over from a holder without a lease),
    /// false when another live instance holds it (skip the file: that instance imports
    /// it, and every instance sees the import). Without [`Store::hold_as`], always true.
    pub fn inbox_claim(&self, source: &str, sha256: &str, now: DateTime<Utc>) -> Result<bool> {
        let Some((me, cutoff)) = self.claiming() else { return Ok(true) };
        let n = self
            .conn
            .execute(
                &format!(
                    "INSERT INTO inbox_claims (source, sha256, holder, claimed_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (source, sha256) DO UPDATE SET holder = excluded.holder, claimed_at = excluded.claimed_at
                     WHERE {}",
                    free("inbox_claims.holder", 3, 5)
                ),
                params![source, sha256, me, ts(now), cutoff],
            )
            .map_err(self.db())?;
        Ok(n == 1)
    }

    /// Releases this instance's claim of an inbox file (imported, or given up).
    pub fn inbox_release(&self, source: &str, sha256: &str) -> Result<()> {
        let Some((me, _)) = self.claiming() else { return Ok(()) };
        self.conn
            .execute(
                "DELETE FROM inbox_claims WHERE source = ?1 AND sha256 = ?2 AND holder = ?3",
                params![source, sha256, me],
            )
            .map_err(self.db())?;
        Ok(())
    }

    /// Every inbox claim: (source, sha256, holder) (tests, `status`).
    pub fn inbox_claims(&self) -> Result<Vec<(String, String, i64)>> {
        self.rows("SELECT source, sha256, holder FROM inbox_claims ORDER BY source, sha256", params![], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
    }

    /// Every row of a query through `f`.
    fn rows<T>(
        &self,
        sql: &str,
        p: &[&dyn super::sql::Param],
        f: impl FnMut(&super::sql::Row<'_>) -> SqlResult<T>,
    ) -> Result<Vec<T>> {
        let mut st = self.conn.prepare(sql).map_err(self.db())?;
        st.query_map(p, f).map_err(self.db())?.collect::<SqlResult<Vec<T>>>().map_err(self.db())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{OutboxEntry, RunState, TestState};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn entry(key: &str, created: &str) -> (OutboxEntry, DateTime<Utc>) {
        let e = OutboxEntry {
            idempotency_key: key.into(),
            job: "quota-memo".into(),
            period: "2026-11".into(),
            recipient: format!("{key}@example.com"),
            recipients: Vec::new(),
            kind: "rep-memo".into(),
            message_id: format!("{key}.quotad@example.com"),
            subject: "Quota".into(),
            message: b"Subject: Quota\r\n\r\nhi\r\n".to_vec(),
        };
        (e, at(created))
    }

    const LEASE: chrono::Duration = chrono::Duration::seconds(60);

    /// PostgreSQL's fresh state, and two instances' connections to it (a, b), each
    /// registered and claiming as its own instance.
    fn two_instances() -> Option<(TestState, Store, Store)> {
        let state = TestState::each().into_iter().find(|s| s.db.is_some())?;
        let mut a = state.open();
        let mut b = state.open();
        let ia = a.instance_register("host-a", 11, Utc::now()).unwrap();
        let ib = b.instance_register("host-b", 22, Utc::now()).unwrap();
        a.hold_as(ia, LEASE, Utc::now);
        b.hold_as(ib, LEASE, Utc::now);
        Some((state, a, b))
    }

    /// `a` dies: its last heartbeat is a lease and a second ago.
    fn kill(a: &Store) {
        let id = a.holder_id().unwrap();
        a.instance_heartbeat(id, Utc::now() - LEASE - chrono::Duration::seconds(1)).unwrap();
    }

    #[test]
    fn of_instances_racing_for_an_occurrence_one_wins_and_a_dead_holder_s_run_is_taken_over_after_the_lease() {
        let Some((state, a, b)) = two_instances() else { return };
        let occ = at("2026-03-02T14:00:00Z");
        // Six connections, as six instances, claim one occurrence at once: one wins.
        let url = state.db.as_ref().unwrap().url.clone();
        let racers: Vec<_> = (0..6)
            .map(|i| {
                let url = url.clone();
                std::thread::spawn(move || {
                    let mut s = Store::open_postgres(&url).unwrap();
                    let id = s.instance_register("racer", i, Utc::now()).unwrap();
                    s.hold_as(id, LEASE, Utc::now);
                    s.run_claim("weekly-ranking", occ, "serve", occ).unwrap().then_some(id)
                })
            })
            .collect();
        let winners: Vec<i64> = racers.into_iter().filter_map(|t| t.join().unwrap()).collect();
        assert_eq!(winners.len(), 1, "{winners:?}");
        assert_eq!(a.run_holder("weekly-ranking", occ).unwrap(), Some(winners[0]));

        assert!(a.run_claim("quota-memo", occ, "serve", occ).unwrap());
        assert!(!b.run_claim("quota-memo", occ, "serve", occ).unwrap());
        let ia = a.holder_id().unwrap();
        let ib = b.holder_id().unwrap();
        // Not before the lease: a is alive.
        assert!(!b.run_hold("quota-memo", occ, occ).unwrap());
        assert!(a.run_hold("quota-memo", occ, occ).unwrap());
        assert_eq!(b.run_holder("quota-memo", occ).unwrap(), Some(ia));
        // After it: taken over by b, once; a has lost it.
        kill(&a);
        assert!(b.run_hold("quota-memo", occ, occ).unwrap());
        assert_eq!(a.run_holder("quota-memo", occ).unwrap(), Some(ib));
        assert!(!a.run_hold("quota-memo", occ, occ).unwrap());
        // A finished run is nobody's to take.
        b.run_set("quota-memo", occ, RunState::Succeeded, "done", occ).unwrap();
        kill(&b);
        let mut c = state.open();
        let ic = c.instance_register("host-c", 33, Utc::now()).unwrap();
        c.hold_as(ic, LEASE, Utc::now);
        assert!(!c.run_hold("quota-memo", occ, occ).unwrap());
        // `status`: who is alive and what each holds.
        let rows = c.instances(Utc::now(), LEASE, 20).unwrap();
        let of = |id: i64| rows.iter().find(|r| r.id == id).unwrap();
        assert_eq!((of(ia).alive, of(ib).alive, of(ic).alive), (false, false, true));
        assert_eq!(of(ia).runs, Vec::<String>::new());
        assert_eq!(of(winners[0]).runs, vec!["weekly-ranking 2026-03-02T14:00:00.000Z".to_string()]);
        c.instance_stop(ic, Utc::now()).unwrap();
        assert!(!c.instances(Utc::now(), LEASE, 20).unwrap().iter().find(|r| r.id == ic).unwrap().alive);
    }

    #[test]
    fn outbox_rows_are_claimed_by_one_instance_and_a_dead_one_s_claims_and_sending_rows_are_taken_over() {
        let Some((_state, a, mut b)) = two_instances() else { return };
        for (k, t) in [("k1", "2026-11-01T13:00:00Z"), ("k2", "2026-11-01T13:00:01Z"), ("k3", "2026-11-01T13:00:02Z")] {
            let (e, t) = entry(k, t);
            a.outbox_add(&e, t).unwrap();
        }
        let now = at("2026-11-01T13:05:00Z");
        let keys = |rows: Vec<crate::store::OutboxRow>| -> Vec<String> {
            rows.into_iter().map(|r| r.entry.idempotency_key).collect()
        };
        assert_eq!(keys(a.outbox_claim_due(now, 2).unwrap()), ["k1", "k2"]);
        // b skips a's claims.
        assert_eq!(keys(b.outbox_claim_due(now, 10).unwrap()), ["k3"]);
        assert!(a.outbox_mark_sending("k1", now).unwrap());
        assert!(!b.outbox_mark_sending("k2", now).unwrap(), "a's claim");
        assert_eq!(b.outbox_recover_interrupted().unwrap(), Vec::<String>::new(), "a's send in flight");
        assert_eq!(b.outbox_due_count(now).unwrap(), 1, "its own k3 only");
        let ia = a.holder_id().unwrap();
        assert_eq!(b.instances(Utc::now(), LEASE, 5).unwrap().iter().find(|r| r.id == ia).unwrap().outbox, 2);
        // a dies mid-send: after the lease, b recovers k1 (its one duplicate window:
        // sent again with the same Message-ID) and takes k2 over.
        kill(&a);
        assert_eq!(b.outbox_due_count(now).unwrap(), 3);
        assert_eq!(b.outbox_recover_interrupted().unwrap(), ["k1"]);
        assert_eq!(keys(b.outbox_claim_due(now, 10).unwrap()), ["k1", "k2", "k3"]);
        assert!(!a.outbox_mark_sending("k2", now).unwrap(), "no longer a's");
        assert!(b.outbox_mark_sending("k2", now).unwrap());
        b.outbox_mark_sent("k2", now).unwrap();
        b.outbox_release_claims().unwrap();
        let row = b.outbox_get("k2").unwrap().unwrap();
        assert_eq!(row.state, crate::store::OutboxState::Sent);
        let holders: i64 =
            b.conn.query_row("SELECT COUNT(*) FROM outbox WHERE holder IS NOT NULL", params![], |r| r.get(0)).unwrap();
        assert_eq!(holders, 0);
        assert_eq!(b.outbox_get("k1").unwrap().unwrap().interrupted, 1);
    }

    #[test]
    fn an_inbox_file_is_claimed_by_one_instance_until_its_lease_expires() {
        let Some((_state, a, b)) = two_instances() else { return };
        let now = at("2026-11-01T13:00:00Z");
        assert!(a.inbox_claim("deals", "abc", now).unwrap());
        assert!(a.inbox_claim("deals", "abc", now).unwrap(), "its own");
        assert!(!b.inbox_claim("deals", "abc", now).unwrap());
        assert!(b.inbox_claim("deals", "def", now).unwrap(), "another file");
        kill(&a);
        assert!(b.inbox_claim("deals", "abc", now).unwrap());
        a.inbox_release("deals", "abc").unwrap();
        let ib = b.holder_id().unwrap();
        assert_eq!(
            b.inbox_claims().unwrap(),
            [("deals".to_string(), "abc".to_string(), ib), ("deals".to_string(), "def".to_string(), ib)]
        );
        b.inbox_release("deals", "abc").unwrap();
        b.instance_stop(ib, Utc::now()).unwrap();
        assert_eq!(b.inbox_claims().unwrap(), []);
    }
}
