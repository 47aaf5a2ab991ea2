//! The state on PostgreSQL (issue 24): the sample job with `paths.state` a fresh
//! PostgreSQL database writes the same messages and `quotad standings` shows the same
//! figures as with SQLite. Needs the test server (see pg_db.rs).

use super::harness::*;
use super::pg_db::TestDb;

/// The shipped sample with its state on the PostgreSQL database `url`.
fn sample_on(url: &str) -> Env {
    let env = Env::sample();
    let cfg = std::fs::read_to_string(env.path("quotad.toml")).unwrap();
    assert!(cfg.contains("state = \"var/quotad.sqlite\""), "the sample's state line moved");
    std::fs::write(env.path("quotad.toml"), cfg.replace("state = \"var/quotad.sqlite\"", &format!("state = {url:?}")))
        .unwrap();
    env
}

/// What a message says, without what differs between two renderings of it (Date,
/// Message-ID, MIME boundaries): file name, recipient, subject, text, HTML, attachments' names.
fn said(e: &Email) -> (String, String, String, String, String, Vec<String>) {
    let names = e.attachments.iter().map(|(n, _)| n.clone()).collect();
    (e.file.clone(), e.to.clone(), e.subject.clone(), e.text.clone(), e.html.clone(), names)
}

#[test]
fn the_sample_job_on_postgres_sends_and_ranks_as_on_sqlite() {
    let Some(db) = TestDb::fresh() else { return };
    let lite = Env::sample();
    let on_lite = lite.quotad(&["run", "all"]);
    assert_eq!(on_lite.code, 0, "{on_lite:?}");
    let pg = sample_on(&db.url);
    let on_pg = pg.quotad(&["run", "all"]);
    assert_eq!(on_pg.code, 0, "{on_pg:?}");
    assert!(on_pg.stdout.contains("19 rep memo(s) and 3 manager memo(s) written"), "{}", on_pg.stdout);

    let (a, b) = (lite.all_emails(), pg.all_emails());
    assert_eq!(b.len(), a.len());
    assert!(a.len() >= 29, "{} messages", a.len()); // 19 + 3 memos, 4 weekly, 3 one-on-one packs
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(said(y), said(x));
    }

    let s_lite = lite.quotad(&["standings"]);
    let s_pg = pg.quotad(&["standings"]);
    assert_eq!(s_lite.code, 0, "{s_lite:?}");
    assert_eq!(s_pg.code, 0, "{s_pg:?}");
    assert_eq!(s_pg.stdout, s_lite.stdout);
    assert!(s_pg.stdout.contains("José Núñez"), "{}", s_pg.stdout);
}

#[test]
fn migrate_state_copies_the_sample_state_checks_it_and_refuses_a_database_not_empty() {
    let Some(db) = TestDb::fresh() else { return };
    let lite = Env::sample();
    let run = lite.quotad(&["run", "all"]);
    assert_eq!(run.code, 0, "{run:?}");
    let copy = lite.quotad(&["migrate-state", "--to", &db.url]);
    assert_eq!(copy.code, 0, "{copy:?}");
    assert!(
        copy.stdout.contains("checked: every table's rows equal; `quotad standings` equal on 4 board(s)"),
        "{}",
        copy.stdout
    );
    // 20 roster reps, 129 quota rows, 930 deal rows (936 less 6 exact repeats): the sample job's.
    for line in [
        "  roster_versions               20\n",
        "  quotas                       129\n",
        "  deals                        930\n",
    ] {
        assert!(copy.stdout.contains(line), "{line:?} in {}", copy.stdout);
    }
    // The copy is the state: standings read from it are the original's.
    let pg = sample_on(&db.url);
    let (a, b) =
        (lite.quotad(&["standings", "--board", "attainment"]), pg.quotad(&["standings", "--board", "attainment"]));
    assert_eq!((b.code, &b.stdout), (0, &a.stdout));
    // A database that holds rows is refused, naming it and the table.
    let again = lite.quotad(&["migrate-state", "--to", &db.url]);
    assert_ne!(again.code, 0);
    assert!(
        again.stderr.contains(&format!("127.0.0.1:5432/{} is not empty: its table imports holds", db.name)),
        "{}",
        again.stderr
    );
}

#[test]
fn a_second_quotad_on_one_postgres_state_is_refused_naming_the_holder() {
    let Some(db) = TestDb::fresh() else { return };
    let env = sample_on(&db.url);
    // Another quotad (on another machine, say) holds the state lock for `run`.
    let held = quotad::store::pg::lock_state(&db.url, "pid 4242 run", false).unwrap().expect("free");
    let run = env.quotad(&["import"]);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "another quotad (pid 4242, `quotad run`) is working on PostgreSQL 127.0.0.1:5432/{} and holds its state lock",
            db.name
        )),
        "{}",
        run.stderr
    );
    drop(held);
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    // A read-only command takes no lock and reads what the import stored.
    let status = env.quotad(&["imports"]);
    assert_eq!(status.code, 0, "{status:?}");
    assert!(status.stdout.contains("crm-export-2026-10.xlsx"), "{}", status.stdout);
}
