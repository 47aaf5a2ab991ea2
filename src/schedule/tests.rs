//! The calendar cases, with the exact UTC instants worked out by hand:
//! Europe/Berlin changes at 01:00 UTC (2026-03-29: 02:00 CET -> 03:00 CEST;
//! 2026-10-25: 03:00 CEST -> 02:00 CET); America/Chicago at 2026-03-08 08:00 UTC and
//! 2026-11-01 07:00 UTC; Asia/Shanghai is UTC+8 all year.

use std::collections::HashSet;

use super::*;

fn job(job: JobKind, pattern: &str) -> JobSchedule {
    JobSchedule { job, pattern: pattern.into(), cron: parse_cron(pattern).unwrap(), enabled: true, wait_for_data: None }
}

fn calendar(tz: Tz, jobs: Vec<JobSchedule>, catch_up_hours: i64) -> Calendar {
    Calendar { jobs, catch_up: Duration::hours(catch_up_hours), ..Calendar::default_for(tz) }
}

type Occ = (JobKind, DateTime<Utc>);

/// Runs the heartbeat loop the daemon runs, every `step`, from `start` to `end`, with an
/// in-memory ledger; returns the (job, occurrence) runs in order and the missed ones.
fn simulate(cal: &Calendar, start: DateTime<Utc>, end: DateTime<Utc>, step: Duration) -> (Vec<Occ>, Vec<Occ>) {
    let mut ledger: HashSet<(JobKind, DateTime<Utc>)> = HashSet::new();
    let (mut runs, mut missed) = (Vec::new(), Vec::new());
    let mut since = start;
    let mut now = start;
    while now < end {
        now += step;
        for a in plan(now, since, &|j, o| ledger.contains(&(j, o)), cal) {
            match a {
                Action::Run { job, occurrence } => {
                    assert!(ledger.insert((job, occurrence)), "ran twice: {job} {occurrence}");
                    runs.push((job, occurrence));
                }
                Action::Missed { job, occurrences } => {
                    for o in occurrences {
                        ledger.insert((job, o));
                        missed.push((job, o));
                    }
                }
            }
        }
        since = now;
    }
    (runs, missed)
}

#[test]
fn daily_0230_berlin_across_spring_forward_runs_once_a_day_at_0300_cest_on_the_29th() {
    let tz: Tz = "Europe/Berlin".parse().unwrap();
    let j = job(JobKind::QuotaMemo, "0 30 2 * * *");
    let got = j.occurrences(tz, utc(2026, 3, 27, 12, 0), utc(2026, 3, 31, 12, 0), 100);
    assert_eq!(
        got,
        vec![
            utc(2026, 3, 28, 1, 30), // 02:30 CET
            utc(2026, 3, 29, 1, 0),  // 02:30 does not exist: 03:00 CEST, the first valid instant after
            utc(2026, 3, 30, 0, 30), // 02:30 CEST
            utc(2026, 3, 31, 0, 30),
        ]
    );
    assert_eq!(local_and_utc(got[1], tz), "2026-03-29 03:00 CEST (01:00 UTC)");
    // The daemon's heartbeat loop, every 7 minutes, sees the same: once a day.
    let cal = calendar(tz, vec![j], 24);
    let (runs, missed) = simulate(&cal, utc(2026, 3, 27, 12, 0), utc(2026, 3, 31, 12, 0), Duration::minutes(7));
    let at: Vec<_> = runs.iter().map(|r| r.1).collect();
    assert_eq!(at, got);
    assert!(missed.is_empty());
}

#[test]
fn daily_0230_berlin_across_fall_back_runs_once_at_the_first_0230() {
    let tz: Tz = "Europe/Berlin".parse().unwrap();
    let j = job(JobKind::QuotaMemo, "0 30 2 * * *");
    let want = vec![
        utc(2026, 10, 24, 0, 30), // 02:30 CEST
        utc(2026, 10, 25, 0, 30), // 02:30 happens twice: the first (CEST) only, not 01:30 UTC (CET)
        utc(2026, 10, 26, 1, 30), // 02:30 CET
    ];
    assert_eq!(j.occurrences(tz, utc(2026, 10, 23, 12, 0), utc(2026, 10, 26, 12, 0), 100), want);
    // Looking from inside the repeated hour (01:15 UTC = 02:15 CET, after the first
    // 02:30) finds no occurrence on the 25th again.
    assert_eq!(j.next_after(tz, utc(2026, 10, 25, 1, 15)), Some(utc(2026, 10, 26, 1, 30)));
    let cal = calendar(tz, vec![j], 24);
    for step in [1, 5, 13, 60] {
        let (runs, _) = simulate(&cal, utc(2026, 10, 23, 12, 0), utc(2026, 10, 26, 12, 0), Duration::minutes(step));
        assert_eq!(runs.iter().map(|r| r.1).collect::<Vec<_>>(), want, "heartbeat every {step} min");
    }
}

#[test]
fn shanghai_0800_on_a_utc_host_runs_three_times_in_three_days_at_midnight_utc() {
    let tz: Tz = "Asia/Shanghai".parse().unwrap();
    let cal = calendar(tz, vec![job(JobKind::WeeklyRanking, "0 0 8 * * *")], 24);
    let (runs, missed) = simulate(&cal, utc(2026, 3, 1, 12, 0), utc(2026, 3, 4, 12, 0), Duration::minutes(1));
    assert_eq!(
        runs,
        vec![
            (JobKind::WeeklyRanking, utc(2026, 3, 2, 0, 0)),
            (JobKind::WeeklyRanking, utc(2026, 3, 3, 0, 0)),
            (JobKind::WeeklyRanking, utc(2026, 3, 4, 0, 0)),
        ]
    );
    assert!(missed.is_empty());
}

#[test]
fn seven_on_the_first_chicago_created_in_february_runs_at_1200_utc_on_1_april() {
    let tz: Tz = "America/Chicago".parse().unwrap();
    let j = JobSchedule::default_for(JobKind::QuotaMemo);
    assert_eq!(j.pattern, "0 0 7 1 * *");
    // Created on 10 February (CST, UTC-6); the US changes to CDT on 8 March.
    let got = j.occurrences(tz, utc(2026, 2, 10, 9, 0), utc(2026, 5, 2, 0, 0), 100);
    assert_eq!(got, vec![utc(2026, 3, 1, 13, 0), utc(2026, 4, 1, 12, 0), utc(2026, 5, 1, 12, 0)]);
    assert_eq!(local_and_utc(got[1], tz), "2026-04-01 07:00 CDT (12:00 UTC)");
    // And the heartbeat loop, started in February, runs it then (not at 13:00 UTC).
    let cal = calendar(tz, vec![j], 24);
    let (runs, _) = simulate(&cal, utc(2026, 2, 10, 9, 0), utc(2026, 4, 2, 0, 0), Duration::minutes(10));
    assert_eq!(runs, vec![(JobKind::QuotaMemo, utc(2026, 3, 1, 13, 0)), (JobKind::QuotaMemo, utc(2026, 4, 1, 12, 0))]);
}

/// Down from Saturday 2026-02-28 20:00 to Monday 2026-03-02 09:10 (Chicago, CST).
fn downtime(catch_up_hours: i64) -> Vec<Action> {
    let tz: Tz = "America/Chicago".parse().unwrap();
    let cal = calendar(tz, JobKind::ALL.into_iter().map(JobSchedule::default_for).collect(), catch_up_hours);
    let since = utc(2026, 3, 1, 2, 0); // Sat 20:00 CST
    let now = utc(2026, 3, 2, 15, 10); // Mon 09:10 CST
    plan(now, since, &|_, _| false, &cal)
}

#[test]
fn after_weekend_downtime_the_monday_ranking_runs_and_the_sunday_memo_is_missed() {
    assert_eq!(
        downtime(24),
        vec![
            // Sun 1 March 07:00 CST is 26 h 10 min before the start: over catch_up.
            Action::Missed { job: JobKind::QuotaMemo, occurrences: vec![utc(2026, 3, 1, 13, 0)] },
            // Mon 08:00 CST, 1 h 10 min ago.
            Action::Run { job: JobKind::WeeklyRanking, occurrence: utc(2026, 3, 2, 14, 0) },
        ]
    );
}

#[test]
fn after_weekend_downtime_with_catch_up_48h_the_memo_runs_once_too() {
    assert_eq!(
        downtime(48),
        vec![
            Action::Run { job: JobKind::QuotaMemo, occurrence: utc(2026, 3, 1, 13, 0) },
            Action::Run { job: JobKind::WeeklyRanking, occurrence: utc(2026, 3, 2, 14, 0) },
        ]
    );
}

#[test]
fn a_job_that_missed_many_occurrences_runs_only_the_latest() {
    let tz: Tz = "America/Chicago".parse().unwrap();
    let cal = calendar(tz, vec![JobSchedule::default_for(JobKind::WeeklyRanking)], 24);
    // Down from Friday 6 March to Monday 30 March 10:00 CDT: four Mondays.
    let actions = plan(utc(2026, 3, 30, 15, 0), utc(2026, 3, 6, 12, 0), &|_, _| false, &cal);
    assert_eq!(
        actions,
        vec![
            Action::Missed {
                job: JobKind::WeeklyRanking,
                // 9 March is CDT already (the change was on the 8th): 13:00 UTC.
                occurrences: vec![utc(2026, 3, 9, 13, 0), utc(2026, 3, 16, 13, 0), utc(2026, 3, 23, 13, 0)],
            },
            Action::Run { job: JobKind::WeeklyRanking, occurrence: utc(2026, 3, 30, 13, 0) },
        ]
    );
}

#[test]
fn restarts_within_a_minute_plan_nothing_the_ledger_knows() {
    let tz: Tz = "America/Chicago".parse().unwrap();
    let cal = calendar(tz, JobKind::ALL.into_iter().map(JobSchedule::default_for).collect(), 24);
    let occ = utc(2026, 3, 2, 14, 0);
    let first = plan(utc(2026, 3, 2, 14, 0), utc(2026, 3, 2, 13, 59), &|_, _| false, &cal);
    assert_eq!(first, vec![Action::Run { job: JobKind::WeeklyRanking, occurrence: occ }]);
    // Restarted 20 s and 50 s later, looking back from a `since` before the occurrence.
    for secs in [20, 50] {
        let now = occ + Duration::seconds(secs);
        let again = plan(now, utc(2026, 3, 2, 13, 0), &|j, o| j == JobKind::WeeklyRanking && o == occ, &cal);
        assert_eq!(again, vec![]);
    }
}

#[test]
fn disabled_jobs_are_never_planned() {
    let tz: Tz = "America/Chicago".parse().unwrap();
    let mut cal = calendar(tz, JobKind::ALL.into_iter().map(JobSchedule::default_for).collect(), 48);
    cal.jobs[0].enabled = false;
    let actions = plan(utc(2026, 3, 2, 15, 10), utc(2026, 3, 1, 2, 0), &|_, _| false, &cal);
    assert_eq!(actions, vec![Action::Run { job: JobKind::WeeklyRanking, occurrence: utc(2026, 3, 2, 14, 0) }]);
}

#[test]
fn targets_follow_the_run_command_defaults() {
    let tz: Tz = "America/Chicago".parse().unwrap();
    // 1 Nov 2026 07:00 CST = 13:00 UTC (the US fell back that morning).
    let memo = JobKind::QuotaMemo.target(utc(2026, 11, 1, 13, 0), tz);
    assert_eq!(memo.to_string(), "2026-11");
    // Monday 2 Nov 08:00 CST: the week before is 2026-W44 (26 Oct – 1 Nov).
    assert_eq!(JobKind::WeeklyRanking.target(utc(2026, 11, 2, 14, 0), tz).to_string(), "2026-W44");
    assert_eq!(JobKind::OneOnOne.target(utc(2026, 11, 3, 13, 0), tz).to_string(), "2026-10");
    // 1 March 03:00 UTC is still 28 February in Chicago: February's memo.
    assert_eq!(JobKind::QuotaMemo.target(utc(2026, 3, 1, 3, 0), tz).to_string(), "2026-02");
}

#[test]
fn cron_expressions_need_six_fields() {
    let e = parse_cron("0 7 1 * *").unwrap_err();
    assert!(e.contains("has 5 fields; quotad uses 6"), "{e}");
    assert!(parse_cron("0 0 8 * * Mon").is_ok());
    assert!(parse_cron("0 0 25 * * *").is_err());
}

#[test]
fn durations() {
    assert_eq!(parse_duration("24h"), Ok(Duration::hours(24)));
    assert_eq!(parse_duration("1h30m"), Ok(Duration::minutes(90)));
    assert_eq!(parse_duration("2d"), Ok(Duration::days(2)));
    assert!(parse_duration("24").is_err());
    assert!(parse_duration("1w").is_err());
}

#[test]
fn offset_clock_runs_fast() {
    let c = OffsetClock::new(utc(2026, 1, 1, 0, 0), 3600.0);
    std::thread::sleep(StdDuration::from_millis(50));
    let t = c.now();
    // 50 ms at 3600x is at least 180 s.
    assert!(t >= utc(2026, 1, 1, 0, 3) && t < utc(2026, 1, 1, 1, 0), "{t}");
    assert_eq!(FixedClock(utc(2026, 1, 1, 0, 0)).now(), utc(2026, 1, 1, 0, 0));
}

#[test]
fn a_file_copied_in_chunks_is_ready_once_after_it_settles() {
    let mut s = Settler::new(StdDuration::from_secs(2));
    let t0 = Instant::now();
    let wall = SystemTime::now();
    let at = |secs: f64| t0 + StdDuration::from_secs_f64(secs);
    let mtime = |secs: u64| wall + StdDuration::from_secs(secs);
    let file = |size: u64, m: u64| vec![Listed { name: "deals-big.csv".into(), size, modified: mtime(m) }];
    // Five 4 MB chunks a second apart, observed every half second.
    let mut ready = Vec::new();
    for tick in 0..20 {
        let secs = tick as f64 * 0.5;
        let chunks = ((secs as u64) + 1).min(5);
        let listing = file((chunks * 4) << 20, chunks - 1);
        for r in s.observe(&listing, at(secs), mtime(chunks - 1)) {
            ready.push((r, secs));
        }
    }
    // The last chunk lands at t = 4 s; it has been stable for 2 s at t = 6 s.
    assert_eq!(ready, vec![("deals-big.csv".to_string(), 6.0)]);
    assert!(!s.pending());
    // Lock files, partial downloads and hidden files are never handed out.
    let junk: Vec<Listed> = ["~$deals.xlsx", "deals.csv.part", "deals.tmp", ".hidden.csv", ".~lock.deals.xlsx#"]
        .iter()
        .map(|n| Listed { name: n.to_string(), size: 1, modified: mtime(0) })
        .collect();
    assert!(s.observe(&junk, at(100.0), wall + StdDuration::from_secs(1000)).is_empty());
    // A file that was there before the daemon started (older than settle) is ready at once.
    let old = vec![Listed { name: "roster.csv".into(), size: 10, modified: mtime(0) }];
    assert_eq!(s.observe(&old, at(101.0), wall + StdDuration::from_secs(60)), vec!["roster.csv".to_string()]);
    assert!(s.observe(&old, at(102.0), wall + StdDuration::from_secs(61)).is_empty(), "handed out once");
}

#[test]
fn the_daemon_looks_again_exactly_when_the_earliest_file_will_have_settled() {
    let mut s = Settler::new(StdDuration::from_secs(5));
    let t0 = Instant::now();
    let wall = SystemTime::now();
    assert_eq!(s.next_due(), None, "nothing settling: sleep until the rescan");
    let listed = |name: &str, size: u64| Listed { name: name.into(), size, modified: wall };
    // b.csv seen at t0 + 1 s, a.csv at t0 + 3 s: b is due at 6 s, a at 8 s.
    assert!(s.observe(&[listed("b.csv", 10)], t0 + StdDuration::from_secs(1), wall).is_empty());
    assert!(s.observe(&[listed("b.csv", 10), listed("a.csv", 7)], t0 + StdDuration::from_secs(3), wall).is_empty());
    assert_eq!(s.next_due(), Some(t0 + StdDuration::from_secs(6)));
    // b grows at 4 s: it starts settling again (due at 9 s); a is now the earliest.
    let both = [listed("b.csv", 20), listed("a.csv", 7)];
    assert!(s.observe(&both, t0 + StdDuration::from_secs(4), wall).is_empty());
    assert_eq!(s.next_due(), Some(t0 + StdDuration::from_secs(8)));
    assert_eq!(s.observe(&both, t0 + StdDuration::from_secs(8), wall), vec!["a.csv".to_string()]);
    assert_eq!(s.next_due(), Some(t0 + StdDuration::from_secs(9)));
    assert_eq!(s.observe(&both, t0 + StdDuration::from_secs(9), wall), vec!["b.csv".to_string()]);
    assert_eq!(s.next_due(), None);
    // Unchanged files are not handed out again, however often the inbox is listed.
    assert!(s.observe(&both, t0 + StdDuration::from_secs(99), wall).is_empty());
}

#[test]
fn the_second_0230_of_the_fall_back_night_is_no_occurrence_and_the_nearest_is_the_first() {
    let tz: Tz = "Europe/Berlin".parse().unwrap();
    let j = job(JobKind::QuotaMemo, "0 30 2 * * *");
    // 25 Oct 2026: 02:30 CEST = 00:30 UTC (the occurrence), 02:30 CET = 01:30 UTC.
    assert!(j.is_occurrence(tz, utc(2026, 10, 25, 0, 30)));
    assert!(!j.is_occurrence(tz, utc(2026, 10, 25, 1, 30)));
    assert_eq!(j.previous_before(tz, utc(2026, 10, 25, 1, 30)), Some(utc(2026, 10, 25, 0, 30)));
    assert_eq!(j.nearest(tz, utc(2026, 10, 25, 1, 30)), Some(utc(2026, 10, 25, 0, 30)));
    // 20:00 UTC on the 24th: 4.5 h before the next, 19.5 h after the previous.
    assert_eq!(j.nearest(tz, utc(2026, 10, 24, 20, 0)), Some(utc(2026, 10, 25, 0, 30)));
    // 10:00 UTC: 9.5 h after 00:30 UTC that day, 14.5 h before the next.
    assert_eq!(j.nearest(tz, utc(2026, 10, 24, 10, 0)), Some(utc(2026, 10, 24, 0, 30)));
    // The day after: 02:30 CET = 01:30 UTC; from 01:30 UTC on the 25th, 24 h ahead.
    assert_eq!(j.next_after(tz, utc(2026, 10, 25, 1, 30)), Some(utc(2026, 10, 26, 1, 30)));
    // Spring forward: 02:30 does not exist on 29 March; the occurrence is 03:00 CEST.
    assert_eq!(j.previous_before(tz, utc(2026, 3, 29, 5, 0)), Some(utc(2026, 3, 29, 1, 0)));
}

#[test]
fn occurrences_are_whole_seconds_whatever_the_start() {
    let tz: Tz = "America/Chicago".parse().unwrap();
    let j = JobSchedule::default_for(JobKind::QuotaMemo);
    let after = utc(2026, 11, 1, 12, 59) + Duration::milliseconds(40_620);
    assert_eq!(j.occurrences(tz, after, utc(2026, 11, 2, 0, 0), 10), vec![utc(2026, 11, 1, 13, 0)]);
    assert_eq!(j.next_after(tz, after), Some(utc(2026, 11, 1, 13, 0)));
    // From just after the occurrence, it is not found again.
    let after = utc(2026, 11, 1, 13, 0) + Duration::milliseconds(620);
    assert!(j.occurrences(tz, after, utc(2026, 11, 2, 0, 0), 10).is_empty());
    assert_eq!(j.next_after(tz, after), Some(utc(2026, 12, 1, 13, 0)));
}

#[test]
fn an_hourly_expression_runs_the_repeated_hour_once() {
    let tz: Tz = "Europe/Berlin".parse().unwrap();
    let j = job(JobKind::WeeklyRanking, "0 30 * * * *");
    // 25 Oct 2026: local 01:30 CEST, 02:30 CEST, (02:30 CET again: not run), 03:30 CET.
    let got = j.occurrences(tz, utc(2026, 10, 24, 23, 0), utc(2026, 10, 25, 2, 45), 100);
    assert_eq!(got, vec![utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 2, 30)]);
    // Nor when looking from between the two passes.
    assert_eq!(j.next_after(tz, utc(2026, 10, 25, 0, 45)), Some(utc(2026, 10, 25, 2, 30)));
}
