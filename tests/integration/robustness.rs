//! Cases a break-it review found: older exports, concurrent runs, shared addresses,
//! future dates, reps hired after the memo month.

use std::time::{Duration, SystemTime};

use crate::harness::{Env, ROSTER, config, line_value};

fn set_mtime(env: &Env, name: &str, days_ago: u64) {
    let f = std::fs::File::options().write(true).open(env.path("inbox").join(name)).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(days_ago * 86_400)).unwrap();
}

const QUOTAS: &str = "Rep Email,Month,Revenue Quota\nann@example.com,2026-03,400000\nbob@example.com,2026-03,400000\ncy@example.com,2026-03,400000\n";

#[test]
fn an_older_export_imported_after_a_newer_one_changes_nothing() {
    let env = Env::new(&config(""));
    env.put("roster.csv", ROSTER);
    env.put("quotas.csv", QUOTAS);
    // The newer export (written 2 days ago) says 600,000 …
    env.put(
        "deals-new.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\nX1,ann@example.com,Closed Won,2026-03-05,600000\n",
    );
    set_mtime(&env, "deals-new.csv", 2);
    assert_eq!(env.quotad(&["import"]).code, 0);
    // … then an older one (written 10 days ago) with 500,000 turns up: it must not win.
    env.put(
        "deals-old.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\nX1,ann@example.com,Closed Won,2026-03-05,500000\n",
    );
    set_mtime(&env, "deals-old.csv", 10);
    let run = env.quotad(&["import"]);
    assert!(
        run.stdout.contains("deals-old.csv [deals]: 0 new, 0 updated, 0 unchanged, 0 rejected, 1 superseded (older than what is stored: a later export is already loaded)"),
        "{}",
        run.stdout
    );
    env.quotad(&["run", "quota-memo"]);
    assert_eq!(line_value(&env.email_to("ann@example.com").text, "Revenue"), "$600,000 against a quota of $400,000");
}

#[test]
fn two_runs_at_once_send_each_memo_once() {
    let env = Env::new(&config(""));
    let mut roster = String::from("Rep ID,Name,Email,Team\n");
    let mut deals = String::from("Deal ID,Rep Email,Stage,Close Date,Sale Price\n");
    for i in 0..300 {
        roster.push_str(&format!("R{i},Rep {i},rep{i}@example.com,T{}\n", i % 5));
        deals.push_str(&format!("D{i},rep{i}@example.com,Closed Won,2026-03-0{},{}\n", 1 + i % 9, 1000 * (i + 1)));
    }
    env.put("roster.csv", roster);
    env.put("deals.csv", deals);
    assert_eq!(env.quotad(&["import"]).code, 0);
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_quotad"))
            .args(["--config", "quotad.toml", "--wait", "run", "quota-memo"])
            .current_dir(env.dir.path())
            .output()
            .unwrap()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(spawn);
        let b = s.spawn(spawn);
        (a.join().unwrap(), b.join().unwrap())
    });
    let sent = |o: &std::process::Output| {
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(o.status.success(), "{out} {}", String::from_utf8_lossy(&o.stderr));
        let n: usize = out.split(" rep memo(s)").next().unwrap().rsplit(' ').next().unwrap().parse().unwrap();
        n
    };
    // One run sends all 300; the other (--wait) waits for the lock, then finds them
    // sent. (Without --wait it would stop at once, naming the first: durable.rs.)
    assert_eq!(sent(&a) + sent(&b), 300);
    assert_eq!(env.emails().len(), 300);
}

#[test]
fn shared_addresses_future_dates_and_later_hires() {
    let env = Env::new(&config("[ingest]\nmax_rejected_fraction = 0.5\n"));
    env.put(
        "roster.csv",
        format!("{ROSTER}R9,Ann Again,ann@example.com,North,Mia Boss,mia@example.com,2021-01-01,Active\nR10,Nova New,nova@example.com,North,,,2099-01-01,Active\n"),
    );
    env.put("quotas.csv", QUOTAS);
    env.put(
        "deals.csv",
        "Deal ID,Rep Email,Stage,Close Date,Sale Price\nX1,bob@example.com,Closed Won,2026-03-05,1000\nX2,bob@example.com,Closed Won,2062-03-05,1000\n",
    );
    let run = env.quotad(&["run", "all"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("rejected row 3, column D 'Close Date': '2062-03-05': 2062-03-05 is in the future (today is "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "skipped: Ann Archer: the roster gives ann@example.com to Ann Again and Ann Archer; fix the roster"
        ),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("skipped: Nova New: not on the roster for 2026-04 (hired later?)"), "{}", run.stdout);
    // Bob and Cy only: neither Ann gets the other's figures.
    assert_eq!(
        env.emails().iter().map(|e| e.to.as_str()).collect::<Vec<_>>(),
        vec!["bob@example.com", "cy@example.com"]
    );
}
