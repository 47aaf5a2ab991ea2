//! Roster changes that take effect on a date (issue 20, item 7): the roster's Effective
//! Date and Leave Date columns, a back-dated team move corrected through the corrections
//! flow, a move on the 15th, a leave date mid-month, and bad dates. Figures worked by
//! hand below.

use crate::harness::{Env, X, config, xlsx};

/// Four reps, two teams: Ann and Bob in North (Mia), Cy and Dee in South (Max).
const AUG_ROSTER: &str = "Rep ID,Name,Email,Team,Manager,Manager Email,Hire Date,Status
R1,Ann Archer,ann@example.com,North,Mia Boss,mia@example.com,2020-01-06,Active
R2,Bob Baker,bob@example.com,North,Mia Boss,mia@example.com,2021-02-01,Active
R3,Cy Cole,cy@example.com,South,Max Chief,max@example.com,2019-05-20,Active
R4,Dee Dunn,dee@example.com,South,Max Chief,max@example.com,2019-05-20,Active
";

/// 100,000 each for September and October.
const QUOTAS: &str = "Rep Email,Month,Revenue Quota
ann@example.com,2026-09,100000
bob@example.com,2026-09,100000
cy@example.com,2026-09,100000
dee@example.com,2026-09,100000
ann@example.com,2026-10,100000
bob@example.com,2026-10,100000
cy@example.com,2026-10,100000
dee@example.com,2026-10,100000
";

/// September: Ann 120,000 (10th), Bob 70,000, Cy 80,000, Dee 60,000 (12th).
const DEALS: &str = "Deal ID,Rep Email,Stage,Close Date,Sale Price
D1,ann@example.com,Closed Won,2026-09-10,120000
D2,bob@example.com,Closed Won,2026-09-20,70000
D3,cy@example.com,Closed Won,2026-09-05,80000
D4,dee@example.com,Closed Won,2026-09-12,60000
";

fn exported(env: &Env, file: &str, at: &str) {
    let f = std::fs::File::options().write(true).open(env.path(&format!("inbox/{file}"))).unwrap();
    let t: chrono::DateTime<chrono::Utc> = at.parse().unwrap();
    f.set_modified(t.into()).unwrap();
}

/// The August roster (or `roster`), quotas and September's deals, exported after
/// September closed, imported on 1 October.
fn september(roster: &str) -> Env {
    let env = Env::new(&config(""));
    env.put("roster-aug.csv", roster);
    exported(&env, "roster-aug.csv", "2026-08-20T15:00:00Z");
    env.put("quotas.csv", QUOTAS);
    exported(&env, "quotas.csv", "2026-08-20T15:00:00Z");
    env.put("deals.csv", DEALS);
    // After September closed in America/Chicago (1 October 05:00 UTC): September is final.
    exported(&env, "deals.csv", "2026-10-01T08:00:00Z");
    let run = env.quotad(&["import", "--now", "2026-10-01T12:00:00Z"]);
    assert_eq!(run.code, 0, "{run:?}");
    env
}

/// Imports `roster` as `roster-oct.csv`, exported 10 October.
fn october_roster(env: &Env, roster: &str) -> crate::harness::Run {
    env.put("roster-oct.csv", roster);
    exported(env, "roster-oct.csv", "2026-10-10T15:00:00Z");
    let run = env.quotad(&["import", "--now", "2026-10-10T16:00:00Z"]);
    assert_eq!(run.code, 0, "{run:?}");
    run
}

/// September's teams as `quotad standings` computes them: (team, revenue, attainment
/// as a percent to one decimal, team rank).
fn september_teams(env: &Env) -> Vec<(String, String, String, Option<u32>)> {
    let cfg = quotad::config::Config::from_file(&env.path("quotad.toml")).unwrap();
    let now = "2026-10-10T16:30:00Z".parse().unwrap();
    let m = quotad::pipeline::standings(&env.store(), &cfg.metrics, &["2026-09".parse().unwrap()], now).unwrap();
    let mut teams: Vec<_> = m[0]
        .teams
        .iter()
        .map(|t| {
            let pct = t.attainment.map(|a| (a * rust_decimal::Decimal::from(100)).round_dp(1).to_string());
            (t.team.clone(), t.revenue.normalize().to_string(), pct.unwrap_or_default(), t.rank)
        })
        .collect();
    teams.sort();
    teams
}

fn team(name: &str, revenue: &str, pct: &str, rank: u32) -> (String, String, String, Option<u32>) {
    (name.into(), revenue.into(), pct.into(), Some(rank))
}

/// Ann moves North → South (and to Max) as of `effective` ("" = no Effective Date column).
fn ann_moves(effective: &str) -> String {
    let rows = [
        "R1,Ann Archer,ann@example.com,South,Max Chief,max@example.com,2020-01-06,Active",
        "R2,Bob Baker,bob@example.com,North,Mia Boss,mia@example.com,2021-02-01,Active",
        "R3,Cy Cole,cy@example.com,South,Max Chief,max@example.com,2019-05-20,Active",
        "R4,Dee Dunn,dee@example.com,South,Max Chief,max@example.com,2019-05-20,Active",
    ];
    let head = "Rep ID,Name,Email,Team,Manager,Manager Email,Hire Date,Status";
    if effective.is_empty() {
        format!("{head}\n{}\n", rows.join("\n"))
    } else {
        // Only Ann's row has a date: the others keep their versions.
        let mut out = format!("{head},Effective Date\n{},{effective}\n", rows[0]);
        for r in &rows[1..] {
            out.push_str(&format!("{r},\n"));
        }
        out
    }
}

// Before the move (by hand): North = Ann 120,000 + Bob 70,000 = 190,000 of 200,000 =
// 95.0%, 1st; South = Cy 80,000 + Dee 60,000 = 140,000 of 200,000 = 70.0%, 2nd.
// After Ann moves to South for September: North = Bob 70,000 of 100,000 = 70.0%, 2nd;
// South = 120,000 + 80,000 + 60,000 = 260,000 of 300,000 = 86.666…% → 86.7%, 1st.

#[test]
fn a_back_dated_team_move_changes_september_and_corrects_the_sent_memo() {
    let env = september(AUG_ROSTER);
    let memo = env.quotad(&["run", "quota-memo", "--period", "2026-10", "--now", "2026-10-01T13:00:00Z"]);
    assert_eq!(memo.code, 0, "{memo:?}");
    assert!(memo.stdout.contains("4 rep memo(s) and 2 manager memo(s)"), "{}", memo.stdout);
    let mia = env.all_emails().into_iter().find(|e| e.to == "mia@example.com").unwrap();
    assert!(mia.text.contains("September 2026: $190,000 against $200,000 = 95.0%, team rank 1 of 2"), "{}", mia.text);
    assert_eq!(september_teams(&env), [team("North", "190000", "95.0", 1), team("South", "140000", "70.0", 2)]);

    // The roster arriving on 10 October moves Ann to South as of 1 September.
    let run = october_roster(&env, &ann_moves("2026-09-01"));
    assert!(
        run.stdout.contains("roster-oct.csv [roster]: 0 new, 1 updated, 3 unchanged, 0 rejected"),
        "{}",
        run.stdout
    );
    // Flagged, never a silent change of a month whose memo went out.
    assert!(
        run.stdout.contains(
            "roster-oct.csv, row 2: Ann Archer — team North → South, manager Mia Boss → Max Chief from 2026-09-01 changes September 2026 (stated by the 2026-10 memo), already sent: `quotad run quota-memo --corrections` sends the corrections"
        ),
        "{}",
        run.stdout
    );
    assert_eq!(september_teams(&env), [team("North", "70000", "70.0", 2), team("South", "260000", "86.7", 1)]);

    // explain names the roster row that put Ann in South for September.
    let ex =
        env.quotad(&["explain", "--rep", "ann@example.com", "--period", "2026-09", "--now", "2026-10-10T16:30:00Z"]);
    assert_eq!(ex.code, 0, "{ex:?}");
    assert!(
        ex.stdout.contains("Roster: roster-oct.csv, row 2, effective 2026-09-01 (its Effective Date): team South, active in September 2026"),
        "{}",
        ex.stdout
    );
    let ex =
        env.quotad(&["explain", "--rep", "bob@example.com", "--period", "2026-09", "--now", "2026-10-10T16:30:00Z"]);
    assert!(
        ex.stdout.contains("Roster: roster-aug.csv, row 3, in effect for every month until a later row moves the rep (the rep's first roster row, no Effective Date): team North"),
        "{}",
        ex.stdout
    );

    // The corrections flow: Ann's team; Bob's team ranks 2 → 1 (North is his alone);
    // Cy 1 → 2 and Dee 2 → 3 in South (Ann 120,000 ahead of them). Company ranks are
    // unchanged (Ann 1, Cy 2, Bob 3, Dee 4). Managers: Mia (Ann's manager in September:
    // Ann, Bob) and Max (Ann, Cy, Dee). 4 + 2 = 6.
    let before = env.all_emails().len();
    let fix =
        env.quotad(&["run", "quota-memo", "--corrections", "--period", "2026-10", "--now", "2026-10-10T16:05:00Z"]);
    assert_eq!(fix.code, 0, "{fix:?}");
    assert!(fix.stdout.contains("6 correction(s)"), "{}", fix.stdout);
    let fixes: Vec<_> = env.all_emails().into_iter().filter(|e| e.file.contains("correction")).collect();
    assert_eq!(fixes.len(), 6);
    assert_eq!(env.all_emails().len(), before + 6);
    let to = |who: &str| fixes.iter().find(|e| e.to == who).unwrap_or_else(|| panic!("no correction to {who}"));
    let ann = to("ann@example.com");
    assert!(ann.text.contains("Team in September 2026: was North, now South"), "{}", ann.text);
    assert!(!ann.text.contains("rank"), "Ann's ranks did not change: {}", ann.text);
    let bob = to("bob@example.com");
    assert!(bob.text.contains("Attainment rank in the team in September 2026: was 2, now 1"), "{}", bob.text);
    assert!(bob.text.contains("Revenue rank in the team in September 2026: was 2, now 1"), "{}", bob.text);
    assert!(!bob.text.contains("Team in"), "{}", bob.text);
    let cy = to("cy@example.com");
    assert!(cy.text.contains("Attainment rank in the team in September 2026: was 1, now 2"), "{}", cy.text);
    let dee = to("dee@example.com");
    assert!(dee.text.contains("Revenue rank in the team in September 2026: was 2, now 3"), "{}", dee.text);
    let mia = to("mia@example.com");
    assert!(mia.text.contains("Ann Archer:") && mia.text.contains("Bob Baker:"), "{}", mia.text);
    assert!(!mia.text.contains("Cy Cole"), "{}", mia.text);
    let max = to("max@example.com");
    for who in ["Ann Archer:", "Cy Cole:", "Dee Dunn:"] {
        assert!(max.text.contains(who), "{who} in {}", max.text);
    }
    // Once only.
    let again =
        env.quotad(&["run", "quota-memo", "--corrections", "--period", "2026-10", "--now", "2026-10-10T16:10:00Z"]);
    assert!(again.stdout.contains("0 correction(s)"), "{}", again.stdout);
    assert_eq!(env.all_emails().len(), before + 6);
}

#[test]
fn without_an_effective_date_a_move_takes_effect_when_the_roster_was_exported() {
    // Today's behaviour: the October roster's move holds from its export (10 October),
    // so September keeps Ann in North and nothing is flagged or corrected.
    let env = september(AUG_ROSTER);
    assert_eq!(env.quotad(&["run", "quota-memo", "--period", "2026-10", "--now", "2026-10-01T13:00:00Z"]).code, 0);
    let run = october_roster(&env, &ann_moves(""));
    assert!(run.stdout.contains("0 new, 1 updated, 3 unchanged, 0 rejected"), "{}", run.stdout);
    assert!(!run.stdout.contains("already sent"), "{}", run.stdout);
    assert_eq!(september_teams(&env), [team("North", "190000", "95.0", 1), team("South", "140000", "70.0", 2)]);
    let fix =
        env.quotad(&["run", "quota-memo", "--corrections", "--period", "2026-10", "--now", "2026-10-10T16:05:00Z"]);
    assert!(fix.stdout.contains("0 correction(s)"), "{}", fix.stdout);
}

#[test]
fn a_move_on_the_15th_puts_the_whole_month_in_the_new_team_and_one_on_the_1st_the_next_month() {
    // The team at the month's end: Ann's deal of 10 September counts for South too.
    let env = september(AUG_ROSTER);
    october_roster(&env, &ann_moves("2026-09-15"));
    assert_eq!(september_teams(&env), [team("North", "70000", "70.0", 2), team("South", "260000", "86.7", 1)]);
    // Effective 1 October (local midnight, America/Chicago): September is untouched.
    let env = september(AUG_ROSTER);
    october_roster(&env, &ann_moves("2026-10-01"));
    assert_eq!(september_teams(&env), [team("North", "190000", "95.0", 1), team("South", "140000", "70.0", 2)]);
}

#[test]
fn a_leave_date_mid_month_counts_that_month_and_stops_the_memos_after_it() {
    // Dee leaves on 15 September, a date still in the future when the August roster
    // was exported: she is active in September (her 60,000 of the 12th counts for
    // South: 140,000 of 200,000 = 70.0%, and she is ranked), and gets no October memo.
    let roster = AUG_ROSTER.replace("Hire Date,Status\n", "Hire Date,Status,Leave Date\n").replace(
        "R4,Dee Dunn,dee@example.com,South,Max Chief,max@example.com,2019-05-20,Active",
        "R4,Dee Dunn,dee@example.com,South,Max Chief,max@example.com,2019-05-20,Active,2026-09-15",
    );
    let roster = roster.replace("Active\n", "Active,\n");
    let env = september(&roster);
    assert_eq!(september_teams(&env), [team("North", "190000", "95.0", 1), team("South", "140000", "70.0", 2)]);
    let memo = env.quotad(&["run", "quota-memo", "--period", "2026-10", "--now", "2026-10-01T13:00:00Z"]);
    assert_eq!(memo.code, 0, "{memo:?}");
    assert!(memo.stdout.contains("3 rep memo(s) and 2 manager memo(s)"), "{}", memo.stdout);
    let to: Vec<String> = env.emails().into_iter().map(|e| e.to).collect();
    assert_eq!(to.len(), 3, "{to:?}");
    assert!(!to.contains(&"dee@example.com".to_string()), "{to:?}");
    // Her September rank stands: company attainment Ann 120%, Cy 80%, Bob 70%, Dee 60%.
    let cy = env.email_to("cy@example.com");
    assert!(cy.text.contains("2 of 4 company-wide, 1 of 2 in South"), "{}", cy.text);
    let ex =
        env.quotad(&["explain", "--rep", "dee@example.com", "--period", "2026-09", "--now", "2026-10-01T13:00:00Z"]);
    assert!(
        ex.stdout.contains("row 5, in effect for every month until a later row moves the rep (the rep's first roster row, no Effective Date), leave date 2026-09-15: team South, active in September 2026"),
        "{}",
        ex.stdout
    );
}

#[test]
fn bad_roster_dates_name_the_file_sheet_row_column_and_value() {
    let env = Env::new(&config("[ingest]\nmax_rejected_fraction = 0.6\n"));
    use X::{D, S};
    let head =
        || vec![S("Rep ID"), S("Name"), S("Email"), S("Team"), S("Status"), S("Effective Date"), S("Leave Date")];
    let rows = vec![
        head(),
        vec![S("R1"), S("Ann Archer"), S("ann@example.com"), S("North"), S("Active"), D("2026-09-01"), X::E],
        vec![S("R2"), S("Bob Baker"), S("bob@example.com"), S("North"), S("Active"), S("2026-02-30"), X::E],
        vec![S("R3"), S("Cy Cole"), S("cy@example.com"), S("South"), S("Active"), D("2026-09-01"), D("2026-08-31")],
        vec![S("R4"), S("Dee Dunn"), S("dee@example.com"), S("South"), S("Active"), X::E, X::E],
    ];
    env.put("roster.xlsx", xlsx(&rows));
    let run = env.quotad(&["import"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("roster.xlsx [roster, sheet 'Closed Sales']: 2 new, 0 updated, 0 unchanged, 2 rejected"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "rejected sheet 'Closed Sales', row 3, column F 'Effective Date': '2026-02-30': expected a date such as 2026-03-15"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "rejected sheet 'Closed Sales', row 4, column G 'Leave Date': '2026-08-31': the leave date 2026-08-31 is before the row's effective date 2026-09-01"
        ),
        "{}",
        run.stdout
    );
    let report = std::fs::read_to_string(env.path("archive/roster.xlsx.rejected-rows.txt")).unwrap();
    assert!(report.contains("Closed Sales"), "the sheet is named: {report}");
    assert!(report.contains("row 3, column F 'Effective Date': '2026-02-30'"), "{report}");
}

#[test]
fn a_move_dated_in_the_future_waits_for_its_month() {
    // Imported before the October memo, effective 1 November: October (and September)
    // keep Ann in North, so Mia's October team memo lists her and Max's does not.
    let env = september(AUG_ROSTER);
    env.put("roster-oct.csv", ann_moves("2026-11-01"));
    exported(&env, "roster-oct.csv", "2026-09-25T15:00:00Z");
    assert_eq!(env.quotad(&["import", "--now", "2026-10-01T12:30:00Z"]).code, 0);
    let memo = env.quotad(&["run", "quota-memo", "--period", "2026-10", "--now", "2026-10-01T13:00:00Z"]);
    assert_eq!(memo.code, 0, "{memo:?}");
    let team_memo =
        |to: &str| env.all_emails().into_iter().find(|e| e.to == to && e.file.contains("team-memo")).unwrap().text;
    let mia = team_memo("mia@example.com");
    assert!(mia.contains("Ann Archer:") && mia.contains("Bob Baker:"), "{mia}");
    let max = team_memo("max@example.com");
    assert!(!max.contains("Ann Archer"), "{max}");
    assert!(env.email_to("ann@example.com").text.contains("1 of 2 in North"));
    assert_eq!(september_teams(&env), [team("North", "190000", "95.0", 1), team("South", "140000", "70.0", 2)]);
}

/// A dated row that arrives after an undated first roster exported *later* than the
/// row's date (the usual first roster: no Effective Date column). The undated first
/// roster is each rep's baseline, in effect since always: a move applies from its own
/// date and never to the months before it, and a move dated the first roster's export
/// day is not undone by that roster (tester's case: both moves were pushed into the past
/// and undone for the current month, with false correction e-mails).
#[test]
fn an_undated_first_roster_is_the_baseline_a_later_dated_move_applies_from_its_date_only() {
    let env = Env::new(&config(""));
    // The first roster, without an Effective Date, exported on 5 October.
    env.put("roster-aug.csv", AUG_ROSTER);
    exported(&env, "roster-aug.csv", "2026-10-05T15:00:00Z");
    env.put("quotas.csv", QUOTAS);
    exported(&env, "quotas.csv", "2026-10-05T15:00:00Z");
    env.put("deals.csv", DEALS);
    exported(&env, "deals.csv", "2026-10-05T15:00:00Z");
    assert_eq!(env.quotad(&["import", "--now", "2026-10-05T16:00:00Z"]).code, 0);
    // Ann moves to South as of 1 September (before that export); Cy to North as of
    // 5 October (the export's day; local midnight is before its 15:00 UTC).
    let roster = "Rep ID,Name,Email,Team,Manager,Manager Email,Hire Date,Status,Effective Date
R1,Ann Archer,ann@example.com,South,Max Chief,max@example.com,2020-01-06,Active,2026-09-01
R2,Bob Baker,bob@example.com,North,Mia Boss,mia@example.com,2021-02-01,Active,
R3,Cy Cole,cy@example.com,North,Mia Boss,mia@example.com,2019-05-20,Active,2026-10-05
R4,Dee Dunn,dee@example.com,South,Max Chief,max@example.com,2019-05-20,Active,
";
    october_roster(&env, roster);
    // September: Ann in South (moved 1 September), Cy still in South (moves in October):
    // North = Bob 70,000 of 100,000 = 70.0%; South = Ann 120,000 + Cy 80,000 + Dee 60,000
    // = 260,000 of 300,000 = 86.7%. (The bug put Cy in North: North 150,000 = 75.0%.)
    assert_eq!(september_teams(&env), [team("North", "70000", "70.0", 2), team("South", "260000", "86.7", 1)]);
    // October: both moves hold (the bug undid Cy's: the undated row's export, 15:00 UTC,
    // came after his move's local midnight).
    let explain = |rep: &str, period: &str| {
        let ex = env.quotad(&["explain", "--rep", rep, "--period", period, "--now", "2026-10-10T16:30:00Z"]);
        assert_eq!(ex.code, 0, "{ex:?}");
        ex.stdout
    };
    let cy = explain("cy@example.com", "2026-10");
    assert!(cy.contains("effective 2026-10-05 (its Effective Date): team North, active in October 2026"), "{cy}");
    let ann = explain("ann@example.com", "2026-10");
    assert!(ann.contains("effective 2026-09-01 (its Effective Date): team South"), "{ann}");
    let cy = explain("cy@example.com", "2026-09");
    assert!(
        cy.contains("roster-aug.csv, row 4, in effect for every month until a later row moves the rep (the rep's first roster row, no Effective Date): team South"),
        "{cy}"
    );
}

/// A rep past their Leave Date still counts in the month they left (ranked in its weekly
/// ranking), but gets no e-mail: the team edition sent after the date leaves them out
/// (tester's case: the edition of the week after she left was addressed to her).
#[test]
fn a_rep_past_their_leave_date_is_ranked_in_that_month_but_gets_no_weekly_ranking() {
    let roster = AUG_ROSTER.replace("Hire Date,Status\n", "Hire Date,Status,Leave Date\n").replace(
        "R4,Dee Dunn,dee@example.com,South,Max Chief,max@example.com,2019-05-20,Active",
        "R4,Dee Dunn,dee@example.com,South,Max Chief,max@example.com,2019-05-20,Active,2026-09-15",
    );
    let env = september(&roster.replace("Active\n", "Active,\n"));
    // 2026-W39 (21–27 September) ranks September to date; sent on 1 October.
    let run = env.quotad(&["run", "weekly-ranking", "--week", "2026-W39", "--now", "2026-10-01T13:00:00Z"]);
    assert_eq!(run.code, 0, "{run:?}");
    let mails = env.all_emails();
    let south = mails.iter().find(|e| e.raw.contains("cy@example.com")).expect("South's edition to Cy");
    assert!(!south.raw.contains("dee@example.com"), "{}", south.raw);
    assert!(!mails.iter().any(|e| e.raw.contains("dee@example.com")), "no message to Dee");
    // She is still on September's board: 60,000 of 100,000 = 60.0%, 4th of 4.
    let pdf = crate::harness::pdftotext(&env.path("reports/ranking_2026-W39.pdf"));
    assert!(pdf.contains("Dee Dunn"), "{pdf}");
}
