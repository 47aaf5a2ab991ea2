//! Issue 19, "compute once": the per month and rep sums the import stores
//! (`rep_month_sums`) and history is computed from. After each import of a sequence with
//! corrections — a deal re-exported with a new amount, moved to another month, moved to
//! another rep, dropped to an ignored stage (the model's deletion), a cancellation whose
//! sale arrives later in another month, an export imported after a newer one, a back-dated
//! roster change — the standings computed from the stored sums equal (a) the figures
//! worked out by hand below and (b) the standings recomputed from every stored deal
//! event (metrics without sums, the way quotad computed them before the table).

use quotad::domain::{MonthStandings, Period};

use crate::harness::{Env, ROSTER, config};

const HEADER: &str = "Deal ID,Rep Email,Stage,Close Date,Sale Price,Units\n";

/// First export (4 April). With `cancellation_lookback_months = 1` and the history from
/// January, a March cancellation whose sale is not on record counts nowhere (February,
/// the month before, is in the history), a January one would subtract.
///   Jan: Ann A1 1,000.
///   Feb: Ann A2 2,000 + A3 3,000 = 5,000; Bob A4 4,000.
///   Mar: Bob A5 500; Cy A6 600, C7 cancelled 700 (no sale on record: counts nowhere) = 600.
const FIRST: &str = "A1,ann@example.com,Won,2026-01-10,1000,1
A2,ann@example.com,Won,2026-02-12,2000,1
A3,ann@example.com,Won,2026-02-20,3000,1
A4,bob@example.com,Won,2026-02-05,4000,1
A5,bob@example.com,Won,2026-03-03,500,1
A6,cy@example.com,Won,2026-03-09,600,1
C7,cy@example.com,Cancelled,2026-03-15,700,1
";

/// Second export (9 April), correcting the first:
///   A1 re-exported at 1,500 (Jan: Ann 1,000 → 1,500);
///   A2 moved from 12 Feb to 12 Mar (Feb: Ann −2,000; Mar: Ann +2,000);
///   A3 now Lost, an ignored stage (Feb: Ann −3,000, so Ann's February is 0);
///   A4 moved from Bob to Cy (Feb: Bob 0, Cy 4,000);
///   C7's sale arrives, won 25 Jan (Jan: Cy 700), so March's cancellation now subtracts:
///   Cy's March = 600 − 700 = −100, one cancellation.
/// So: Jan Ann 1,500, Cy 700; Feb Ann 0, Bob 0, Cy 4,000; Mar Ann 2,000, Bob 500, Cy −100.
const SECOND: &str = "A1,ann@example.com,Won,2026-01-10,1500,1
A2,ann@example.com,Won,2026-03-12,2000,1
A3,ann@example.com,Lost,2026-02-20,3000,1
A4,cy@example.com,Won,2026-02-05,4000,1
C7,cy@example.com,Won,2026-01-25,700,1
";

/// An export of 6 April, imported after the one of 9 April: A1 is older than the stored
/// version (9 April), so it stays 1,500; A6 is newer than its stored version (4 April),
/// so it replaces it, moving A6 from Cy to Ann: Ann's March = 2,000 + 600 = 2,600 (two
/// won), Cy's = −700 (the cancellation alone).
const LATE: &str = "A1,ann@example.com,Won,2026-01-10,9999,1
A6,ann@example.com,Won,2026-03-09,600,1
";

/// Bob moves to South, back-dated to 1 February (Effective Date): February and March
/// are South's for him; January stays North's.
const ROSTER_BOB_SOUTH: &str = "Rep ID,Name,Email,Team,Manager,Manager Email,Hire Date,Status,Effective Date
R1,Ann Archer,ann@example.com,North,Mia Boss,mia@example.com,2020-01-06,Active,
R2,Bob Baker,bob@example.com,South,Max Chief,max@example.com,2021-02-01,Active,2026-02-01
R3,Cy Cole,cy@example.com,South,Max Chief,max@example.com,2019-05-20,Active,
";

fn put_at(env: &Env, name: &str, text: &str, when: &str) {
    env.put(name, text);
    let t: chrono::DateTime<chrono::Utc> = when.parse().unwrap();
    let f = std::fs::File::options().write(true).open(env.path("inbox").join(name)).unwrap();
    f.set_modified(std::time::SystemTime::from(t)).unwrap();
}

fn import(env: &Env, now: &str) {
    let run = env.quotad(&["import", "--now", now]);
    assert_eq!(run.code, 0, "{run:?}");
}

const NOW: &str = "2026-04-20T12:00:00Z";

fn months() -> Vec<Period> {
    ["2026-01", "2026-02", "2026-03"].iter().map(|m| m.parse().unwrap()).collect()
}

/// Each month's standings as quotad computes them (from the stored sums), checked equal
/// to the standings recomputed from every stored deal event (no sums).
fn standings(env: &Env) -> Vec<MonthStandings> {
    let cfg = quotad::config::Config::from_file(&env.path("quotad.toml")).unwrap();
    let now = NOW.parse().unwrap();
    let store = env.store();
    let from_sums = quotad::pipeline::standings(&store, &cfg.metrics, &months(), now).unwrap();
    let first = Period::new(1900, 1).unwrap();
    let last = Period::new(2100, 12).unwrap();
    let deals = store.deals_between(first, last).unwrap();
    let roster = store.roster_versions().unwrap();
    let quotas = store.quotas_between(first, last).unwrap();
    let exports = store.month_exports().unwrap();
    let input = quotad::metrics::Input {
        roster: &roster,
        deals: &deals,
        quotas: &quotas,
        exports: &exports,
        rollup: None,
        record: None,
    };
    for (m, got) in months().into_iter().zip(&from_sums) {
        let want = quotad::metrics::month_standings(m, &input, &cfg.metrics, now);
        assert_eq!(
            serde_json::to_value(got).unwrap(),
            serde_json::to_value(&want).unwrap(),
            "{m}: the standings from the stored sums differ from those recomputed from the deal events"
        );
    }
    from_sums
}

/// (rep id, team, revenue, won deals, cancellations) of every rep in `m`.
fn reps(m: &MonthStandings) -> Vec<RepLine> {
    let mut out: Vec<_> = m
        .reps
        .iter()
        .map(|s| {
            (
                s.rep_id.clone().unwrap_or_default(),
                s.team.clone(),
                s.revenue.normalize().to_string(),
                s.won_deals,
                s.cancellations,
            )
        })
        .collect();
    out.sort();
    out
}

/// One rep's line on a month's board: rep id, team, revenue, won deals, cancellations.
type RepLine = (String, String, String, u32, u32);

/// Each month's rep rows (January, February, March), in `reps`' shape.
fn boards(s: &[MonthStandings]) -> Vec<Vec<RepLine>> {
    s.iter().map(reps).collect()
}

fn rep(id: &str, team: &str, revenue: &str, won: u32, cancelled: u32) -> RepLine {
    (id.into(), team.into(), revenue.into(), won, cancelled)
}

/// The stored sums, as text rows, for comparing before and after.
fn stored_sums(env: &Env) -> Vec<String> {
    let mut rows: Vec<String> = env
        .store()
        .rep_month_sums(Period::new(2100, 12).unwrap())
        .unwrap()
        .into_iter()
        .map(|(m, r, on_record, s)| format!("{m} {r:?} {on_record} {s:?}"))
        .collect();
    rows.sort();
    rows
}

#[test]
fn stored_sums_follow_every_correction_and_equal_a_recomputation_from_the_deal_events() {
    let env = Env::new(&config("[ingest]\ncancellation_lookback_months = 1\n"));
    put_at(&env, "roster.csv", ROSTER, "2026-01-02T15:00:00Z");
    put_at(&env, "deals-1.csv", &format!("{HEADER}{FIRST}"), "2026-04-04T15:00:00Z");
    import(&env, "2026-04-04T16:00:00Z");
    let s = standings(&env);
    // March: C7 counts nowhere: no sale on record, and February is in the history.
    assert_eq!(
        boards(&s),
        [
            [rep("R1", "North", "1000", 1, 0), rep("R2", "North", "0", 0, 0), rep("R3", "South", "0", 0, 0)],
            [rep("R1", "North", "5000", 2, 0), rep("R2", "North", "4000", 1, 0), rep("R3", "South", "0", 0, 0)],
            [rep("R1", "North", "0", 0, 0), rep("R2", "North", "500", 1, 0), rep("R3", "South", "600", 1, 0)],
        ]
    );

    put_at(&env, "deals-2.csv", &format!("{HEADER}{SECOND}"), "2026-04-09T15:00:00Z");
    import(&env, "2026-04-09T16:00:00Z");
    let s = standings(&env);
    assert_eq!(
        boards(&s),
        [
            [rep("R1", "North", "1500", 1, 0), rep("R2", "North", "0", 0, 0), rep("R3", "South", "700", 1, 0)],
            [rep("R1", "North", "0", 0, 0), rep("R2", "North", "0", 0, 0), rep("R3", "South", "4000", 1, 0)],
            [rep("R1", "North", "2000", 1, 0), rep("R2", "North", "500", 1, 0), rep("R3", "South", "-100", 1, 1)],
        ]
    );

    // An export older than the stored A1 but newer than the stored A6, imported late:
    // only March changes.
    let before = stored_sums(&env);
    put_at(&env, "deals-0.csv", &format!("{HEADER}{LATE}"), "2026-04-06T15:00:00Z");
    import(&env, "2026-04-10T16:00:00Z");
    let after = stored_sums(&env);
    let other_months =
        |rows: &[String]| -> Vec<String> { rows.iter().filter(|r| !r.starts_with("2026-03")).cloned().collect() };
    assert_eq!(other_months(&after), other_months(&before), "January and February are untouched");
    assert_ne!(after, before);
    let s = standings(&env);
    assert_eq!(reps(&s[0])[0], rep("R1", "North", "1500", 1, 0));
    assert_eq!(
        reps(&s[2]),
        [rep("R1", "North", "2600", 2, 0), rep("R2", "North", "500", 1, 0), rep("R3", "South", "-700", 0, 1)]
    );

    // A back-dated roster change moves Bob's February and March to South; the sums,
    // kept per rep as exported, do not change; the teams are read at each month's end.
    put_at(&env, "roster-2.csv", ROSTER_BOB_SOUTH, "2026-04-12T15:00:00Z");
    import(&env, "2026-04-12T16:00:00Z");
    assert_eq!(stored_sums(&env), after);
    let s = standings(&env);
    assert_eq!(reps(&s[0])[1], rep("R2", "North", "0", 0, 0));
    assert_eq!(reps(&s[1])[1], rep("R2", "South", "0", 0, 0));
    assert_eq!(reps(&s[2])[1], rep("R2", "South", "500", 1, 0));
    // March's teams: North = Ann 2,600; South = Bob 500 + Cy −700 = −200.
    let teams: Vec<(String, String)> =
        s[2].teams.iter().map(|t| (t.team.clone(), t.revenue.normalize().to_string())).collect();
    assert_eq!(teams.iter().find(|t| t.0 == "North").unwrap().1, "2600");
    assert_eq!(teams.iter().find(|t| t.0 == "South").unwrap().1, "-200");
}

#[test]
fn a_store_written_before_the_sums_gets_them_at_its_first_write_and_is_read_right_before() {
    let env = Env::new(&config("[ingest]\ncancellation_lookback_months = 1\n"));
    put_at(&env, "roster.csv", ROSTER, "2026-01-02T15:00:00Z");
    put_at(&env, "deals-1.csv", &format!("{HEADER}{FIRST}"), "2026-04-04T15:00:00Z");
    put_at(&env, "deals-2.csv", &format!("{HEADER}{SECOND}"), "2026-04-09T15:00:00Z");
    import(&env, "2026-04-09T16:00:00Z");
    let built = stored_sums(&env);
    // Cy's March: A6 won 600 (sale on record) and C7's cancellation, whose sale is now on
    // record too: one row, 600 − 700 = −100.
    assert!(
        built
            .iter()
            .any(|r| r.starts_with("2026-03 RepRef { id: None, email: Some(\"cy@example.com\"), name: None } true")
                && r.contains("revenue: -100,")),
        "{built:#?}"
    );
    let json = |env: &Env| {
        let r = env.quotad(&["standings", "--period", "2026-03", "--format", "json", "--now", NOW]);
        assert_eq!(r.code, 0, "{r:?}");
        r.stdout
    };
    let want = json(&env);
    let v: serde_json::Value = serde_json::from_str(&want).unwrap();
    let cy = v.as_array().unwrap().iter().find(|r| r["rep_id"] == "R3").unwrap();
    assert_eq!(cy["revenue"].as_str(), Some("-100"), "{want}");

    // As a store written before the table: the migration undone (tables dropped, the
    // version one back), then the migration applied again by a read-write open, which
    // marks every month with deals stale and builds them.
    let path = env.path("quotad.sqlite");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        let v: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        // The sums are migration 11; migration 12 (instances and claims) is undone too.
        assert_eq!(v, 12);
        c.execute_batch(&format!(
            "DROP TABLE instances; DROP TABLE inbox_claims; ALTER TABLE runs DROP COLUMN holder;
             ALTER TABLE outbox DROP COLUMN holder; ALTER TABLE outbox DROP COLUMN claimed_at;
             DROP TABLE rep_month_sums; DROP TABLE rep_month_sums_stale; DROP INDEX deal_history_by_import;
             PRAGMA user_version = {};",
            v - 2
        ))
        .unwrap();
    }
    assert_eq!(stored_sums(&env), built, "built again at the first read-write open");
    let c = rusqlite::Connection::open(&path).unwrap();
    let stale: i64 = c.query_row("SELECT COUNT(*) FROM rep_month_sums_stale", [], |r| r.get(0)).unwrap();
    assert_eq!(stale, 0);

    // A month marked stale (its sums not built yet) is summed from its rows by a
    // read-only reader: the same figures.
    c.execute_batch(
        "DELETE FROM rep_month_sums WHERE month = '2026-03'; INSERT INTO rep_month_sums_stale (month) VALUES ('2026-03');",
    )
    .unwrap();
    drop(c);
    assert_eq!(json(&env), want);
    let c = rusqlite::Connection::open(&path).unwrap();
    let stale: i64 = c.query_row("SELECT COUNT(*) FROM rep_month_sums_stale", [], |r| r.get(0)).unwrap();
    assert_eq!(stale, 1, "standings only read");
}
