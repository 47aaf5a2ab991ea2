//! Unit tests of the metrics definitions, with expected values worked out by hand.

use chrono::{DateTime, NaiveDate, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;

use super::*;
use crate::domain::{RowOrigin, StageClass};

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}
fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}
fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}
fn p(s: &str) -> Period {
    s.parse().unwrap()
}

fn version(id: &str, name: &str, team: &str, hire: &str, effective: &str) -> RosterVersion {
    RosterVersion {
        effective: at(effective),
        rep: RosterRep {
            id: Some(id.into()),
            name: name.into(),
            email: Some(format!("{}@x.com", id.to_lowercase())),
            team: Some(team.into()),
            manager: Some("Mia Boss".into()),
            manager_email: Some("mia@x.com".into()),
            hire_date: Some(day(hire)),
            active: true,
            effective_date: None,
            leave_date: None,
            origin: RowOrigin::default(),
        },
        file: String::new(),
    }
}

fn rep(id: &str, name: &str, team: &str) -> RosterVersion {
    version(id, name, team, "2020-01-06", "2025-01-01T00:00:00Z")
}

fn deal(id: &str, rep_id: &str, class: StageClass, date: &str, amount: &str) -> DealRow {
    DealRow {
        deal_id: id.into(),
        stage: format!("{class:?}"),
        class,
        rep: RepRef { id: Some(rep_id.into()), email: None, name: None },
        team: None,
        close_date: Some(day(date)),
        amount: Some(dec(amount)),
        units: None,
        rating: None,
        paperwork_complete: None,
        paperwork_errors: None,
        share: Decimal::ONE,
        origin: RowOrigin::default(),
    }
}

fn won(id: &str, rep_id: &str, date: &str, amount: &str) -> DealRow {
    deal(id, rep_id, StageClass::Won, date, amount)
}

fn quota(rep_id: &str, month: &str, revenue: &str) -> QuotaRow {
    QuotaRow {
        rep: RepRef { id: Some(rep_id.into()), email: None, name: None },
        month: p(month),
        revenue: dec(revenue),
        units: None,
        origin: RowOrigin::default(),
    }
}

/// Every month from 2025-10 to 2026-03 exported on the 2nd of the next month: final.
fn exports() -> Vec<(Period, DateTime<Utc>)> {
    let mut v = Vec::new();
    let mut m = p("2025-10");
    while m <= p("2026-03") {
        v.push((m, m.next().first_day().and_hms_opt(6, 0, 0).unwrap().and_utc() + chrono::Duration::days(1)));
        m = m.next();
    }
    v
}

const NOW: &str = "2026-04-10T12:00:00Z";

fn standings(period: &str, roster: &[RosterVersion], deals: &[DealRow], quotas: &[QuotaRow]) -> MonthStandings {
    let ex = exports();
    let input = Input { roster, deals, quotas, exports: &ex, rollup: None, record: None };
    month_standings(p(period), &input, &Settings::default(), at(NOW))
}

fn get<'a>(m: &'a MonthStandings, id: &str) -> &'a Standing {
    m.reps.iter().find(|s| s.rep_id.as_deref() == Some(id)).unwrap()
}

#[test]
fn competition_ranking_is_1224() {
    assert_eq!(competition_ranks(&[9, 7, 7, 5, 5, 5, 1]), vec![1, 2, 2, 4, 4, 4, 7]);
    assert_eq!(competition_ranks::<u8>(&[]), Vec::<u32>::new());
}

#[test]
fn attainment_is_exact_uncapped_and_never_divides_by_zero() {
    assert_eq!(attainment(dec("170"), Some(dec("100"))), Some(dec("1.7")));
    assert_eq!(attainment(dec("-50"), Some(dec("100"))), Some(dec("-0.5")));
    assert_eq!(attainment(dec("50"), Some(Decimal::ZERO)), None);
    assert_eq!(attainment(dec("50"), None), None);
    assert_eq!(attainment_percent(dec("0.87549")), dec("87.5"));
    assert_eq!(attainment_percent(dec("0.87550")), dec("87.6"));
    assert_eq!(attainment_percent(dec("2")), dec("200.0"));
}

#[test]
fn ranks_1_2_2_2_2_6_on_attainment_as_displayed() {
    // A 120,000/100,000 = 120.0%. Four reps show 95.0%: B 95,000/100,000,
    // C 47,500/50,000, D 190,000/200,000, and E 94,960/100,000 = 94.96% which displays
    // as 95.0%. They share rank 2, listed alphabetically; F 50,000/100,000 is 6th.
    let roster: Vec<_> =
        ["A", "B", "C", "D", "E", "F"].iter().map(|id| rep(id, &format!("{id} Rep"), "North")).collect();
    // Names chosen so alphabetical order differs from id order within the tie.
    let mut roster = roster;
    roster[1].rep.name = "Zed Bravo".into();
    roster[2].rep.name = "Cy Charlie".into();
    let deals = vec![
        won("1", "A", "2026-03-05", "120000"),
        won("2", "B", "2026-03-05", "95000"),
        won("3", "C", "2026-03-05", "47500"),
        won("4", "D", "2026-03-05", "190000"),
        won("5", "E", "2026-03-05", "94960"),
        won("6", "F", "2026-03-05", "50000"),
    ];
    let quotas = vec![
        quota("A", "2026-03", "100000"),
        quota("B", "2026-03", "100000"),
        quota("C", "2026-03", "50000"),
        quota("D", "2026-03", "200000"),
        quota("E", "2026-03", "100000"),
        quota("F", "2026-03", "100000"),
    ];
    let m = standings("2026-03", &roster, &deals, &quotas);
    let board = m.board(BoardKind::Attainment, None).unwrap();
    let got: Vec<(&str, u32, Decimal)> = board.entries.iter().map(|e| (e.name.as_str(), e.rank, e.value)).collect();
    assert_eq!(
        got,
        vec![
            ("A Rep", 1, dec("120.0")),
            ("Cy Charlie", 2, dec("95.0")),
            ("D Rep", 2, dec("95.0")),
            ("E Rep", 2, dec("95.0")),
            ("Zed Bravo", 2, dec("95.0")),
            ("F Rep", 6, dec("50.0")),
        ]
    );
    assert_eq!(get(&m, "E").attainment, Some(dec("0.9496")), "exact, rounded only for display");
    // The results board ranks revenue in whole units: D 190,000 first.
    let results = m.board(BoardKind::Results, None).unwrap();
    assert_eq!(results.entries[0].name, "D Rep");
    assert_eq!(results.entries.iter().map(|e| e.rank).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5, 6]);
    // Top 3 of the attainment board, ties included: five names.
    let top = m.celebrations.top.iter().find(|b| b.kind == BoardKind::Attainment).unwrap();
    assert_eq!(top.entries.len(), 5);
    assert_eq!(m.celebrations.at_quota, vec!["A Rep".to_string()]);
}

#[test]
fn a_month_with_only_a_cancellation_goes_negative_and_the_earlier_month_is_unchanged() {
    // R won D9 for 250,000 in February (quota 500,000: 50.0%). In March her only row is
    // D9's cancellation: -250,000 against a 500,000 quota = -50.0%, ranked last; S (80%)
    // is ahead of her. February still shows 250,000 and 50.0%.
    let roster = vec![rep("R", "Rae Ruiz", "North"), rep("S", "Sam Sato", "North")];
    let feb = vec![won("D9", "R", "2026-02-20", "250000"), won("D1", "S", "2026-03-03", "400000")];
    let mut all = feb.clone();
    all.push(deal("D9", "R", StageClass::Cancelled, "2026-03-10", "-250000"));
    let quotas = vec![
        quota("R", "2026-02", "500000"),
        quota("R", "2026-03", "500000"),
        quota("S", "2026-02", "500000"),
        quota("S", "2026-03", "500000"),
    ];
    let march = standings("2026-03", &roster, &all, &quotas);
    let r = get(&march, "R");
    assert_eq!(r.revenue, dec("-250000"));
    assert_eq!(r.units, dec("-1"));
    assert_eq!(r.attainment, Some(dec("-0.5")));
    assert_eq!((r.company_rank, get(&march, "S").company_rank), (Some(2), Some(1)));
    assert!(r.flags.missed && r.flags.below_target);
    let feb_before = standings("2026-02", &roster, &feb, &quotas);
    let feb_after = standings("2026-02", &roster, &all, &quotas);
    assert_eq!(get(&feb_after, "R").revenue, dec("250000"));
    assert_eq!(get(&feb_after, "R").attainment, Some(dec("0.5")));
    assert_eq!(serde_json::to_string(&feb_before).unwrap(), serde_json::to_string(&feb_after).unwrap());
}

/// Five months (Nov 2025 – Mar 2026), quota 100,000 a month for everyone:
/// V (veteran): 100k, 110k, 90k, 110k, 130k
/// W (veteran):  80k,  90k, 100k, 110k, 110k
/// N (new hire, hired 10 Feb 2026): Feb 40,000 on a ramped 50,000 quota (a partial
///   month), March 120,000 — her first full month.
fn history() -> (Vec<RosterVersion>, Vec<DealRow>, Vec<QuotaRow>) {
    let roster = vec![
        rep("V", "Val Vance", "North"),
        rep("W", "Wes Wong", "North"),
        version("N", "Nia Nash", "North", "2026-02-10", "2026-02-10T00:00:00Z"),
    ];
    let mut deals = Vec::new();
    let mut quotas = Vec::new();
    let months = ["2025-11", "2025-12", "2026-01", "2026-02", "2026-03"];
    let v = ["100000", "110000", "90000", "110000", "130000"];
    let w = ["80000", "90000", "100000", "110000", "110000"];
    for (i, m) in months.iter().enumerate() {
        deals.push(won(&format!("V{i}"), "V", &format!("{m}-15"), v[i]));
        deals.push(won(&format!("W{i}"), "W", &format!("{m}-15"), w[i]));
        quotas.push(quota("V", m, "100000"));
        quotas.push(quota("W", m, "100000"));
    }
    deals.push(won("N1", "N", "2026-02-20", "40000"));
    deals.push(won("N2", "N", "2026-03-20", "120000"));
    quotas.push(quota("N", "2026-02", "50000"));
    quotas.push(quota("N", "2026-03", "100000"));
    (roster, deals, quotas)
}

#[test]
fn personal_bests_streaks_and_most_improved() {
    let (roster, deals, quotas) = history();
    let m = standings("2026-03", &roster, &deals, &quotas);
    assert!(!m.preliminary);
    let v = get(&m, "V");
    // V: 130,000 beats her best of 110,000 over 4 earlier months (≥ 3): a new PB in
    // revenue and units (1 deal a month: units 1 = every month, so matched) and
    // attainment (1.3 > 1.1).
    let pb = |s: &Standing, metric: &str| s.personal_bests.iter().find(|b| b.metric == metric).cloned();
    let rev = pb(v, "revenue").unwrap();
    assert_eq!((rev.value, rev.previous_best, rev.kind), (dec("130000"), dec("110000"), BestKind::New));
    assert_eq!(pb(v, "units").unwrap().kind, BestKind::Matched);
    assert_eq!(pb(v, "attainment").unwrap().value, dec("1.3"));
    // At quota in March and February; January (90%) broke the streak: 2 months.
    assert_eq!(v.quota_streak, 2);
    assert!(!v.first_at_quota, "her tenure predates the data");
    // Improvement: 1.3 − (1.1 + 0.9 + 1.1) / 3 = 1.3 − 1.0333… = 0.2666…
    assert_eq!(v.improvement, Some(dec("1.3") - dec("3.1") / dec("3")));
    let w = get(&m, "W");
    // W: 110,000 equals his best (February): matched, not new.
    assert_eq!(pb(w, "revenue").unwrap().kind, BestKind::Matched);
    // At quota Mar (1.1), Feb (1.1), Jan (1.0); December 0.9: a 3-month streak.
    assert_eq!(w.quota_streak, 3);
    // 1.1 − (1.0 + 1.1 + 0.9)/3 ... the three months before March are Dec 0.9, Jan 1.0, Feb 1.1: 1.1 − 1.0 = 0.1.
    assert_eq!(w.improvement, Some(dec("0.1")));
    assert_eq!(m.celebrations.most_improved, vec![("Val Vance".to_string(), dec("1.3") - dec("3.1") / dec("3"))]);
    assert_eq!(m.celebrations.quota_streaks, vec![("Val Vance".to_string(), 2), ("Wes Wong".to_string(), 3)]);
    assert_eq!(m.celebrations.personal_bests.len(), 2, "V's revenue and attainment; matched ones are not celebrated");
}

#[test]
fn a_new_hire_in_her_first_full_month() {
    let (roster, deals, quotas) = history();
    let m = standings("2026-03", &roster, &deals, &quotas);
    let n = get(&m, "N");
    // 120,000 of 100,000 = 120%: at quota for the first time; February was partial
    // (hired the 10th), so it counts for nothing: streak 1, no PB (no qualifying
    // history), not in most improved.
    assert_eq!(n.attainment, Some(dec("1.2")));
    assert!(!n.partial_month);
    assert!(n.first_at_quota);
    assert_eq!(n.quota_streak, 1);
    assert!(n.personal_bests.is_empty());
    assert_eq!(n.improvement, None);
    assert!(!m.celebrations.most_improved.iter().any(|(name, _)| name == "Nia Nash"));
    assert_eq!(m.celebrations.first_at_quota, vec!["Nia Nash".to_string()]);
    // In February she is listed, ranked, but her partial month qualifies for nothing.
    let feb = standings("2026-02", &roster, &deals, &quotas);
    let nf = get(&feb, "N");
    assert!(nf.partial_month);
    assert_eq!((nf.quota_streak, nf.first_at_quota), (0, false));
    // Before she was hired she is not in the standings at all.
    let jan = standings("2026-01", &roster, &deals, &quotas);
    assert!(jan.reps.iter().all(|s| s.rep_id.as_deref() != Some("N")));
}

#[test]
fn a_rename_and_team_move_mid_march_leave_february_byte_identical() {
    let (mut roster, deals, quotas) = history();
    let before = serde_json::to_string(&standings("2026-02", &roster, &deals, &quotas)).unwrap();
    // 15 March: Wes Wong becomes Wes Wong-Ortiz and moves from North to South.
    roster.push(version("W", "Wes Wong-Ortiz", "South", "2020-01-06", "2026-03-15T14:00:00Z"));
    let after = serde_json::to_string(&standings("2026-02", &roster, &deals, &quotas)).unwrap();
    assert_eq!(before, after);
    // March (the team at period end): the new name and team; he tops South's board.
    let march = standings("2026-03", &roster, &deals, &quotas);
    let w = get(&march, "W");
    assert_eq!((w.name.as_str(), w.team.as_str()), ("Wes Wong-Ortiz", "South"));
    assert_eq!(w.team_rank, Some(1));
    assert_eq!(march.board(BoardKind::Attainment, Some("South")).unwrap().entries.len(), 1);
    // His history (same rep id) carries over: the streak still counts February and January.
    assert_eq!(w.quota_streak, 3);
}

#[test]
fn month_in_progress_pacing_and_off_pace_flag() {
    // March 2026 in progress. The newest export was written 19 March: pacing runs
    // through the 19th (19 of 31 days, 61%). P has 40,000 of a 100,000 quota: expected
    // 100,000 × 19/31 = 61,290.32…, pace 0.6526… < 0.8: off pace. Q has 70,000: pace
    // 1.142… — on pace.
    let roster = vec![rep("P", "Pat Park", "North"), rep("Q", "Quin Qi", "North")];
    let deals = vec![won("1", "P", "2026-03-04", "40000"), won("2", "Q", "2026-03-18", "70000")];
    let quotas = vec![quota("P", "2026-03", "100000"), quota("Q", "2026-03", "100000")];
    let ex = vec![(p("2026-03"), at("2026-03-19T07:00:00Z"))];
    let input = Input { roster: &roster, deals: &deals, quotas: &quotas, exports: &ex, rollup: None, record: None };
    let m = month_standings(p("2026-03"), &input, &Settings::default(), at("2026-03-19T15:00:00Z"));
    assert!(m.preliminary);
    assert_eq!(m.as_of, Some(day("2026-03-19")));
    let pp = get(&m, "P");
    let pace = pp.pacing.as_ref().unwrap();
    assert_eq!((pace.elapsed, pace.selling_days), (19, 31));
    assert_eq!(pace.pace, Some(dec("40000") / (dec("100000") * dec("19") / dec("31"))));
    assert!(pp.flags.off_pace);
    assert!(!pp.flags.missed, "missed is for final months only");
    assert!(!get(&m, "Q").flags.off_pace);
    // On 5 March (5/31 = 16% of the month) nobody is flagged, however slow.
    let ex = vec![(p("2026-03"), at("2026-03-05T07:00:00Z"))];
    let input =
        Input { roster: &roster, deals: &deals[..1], quotas: &quotas, exports: &ex, rollup: None, record: None };
    let early = month_standings(p("2026-03"), &input, &Settings::default(), at("2026-03-05T15:00:00Z"));
    assert!(!get(&early, "Q").flags.off_pace);
    assert!(!get(&early, "Q").pacing.as_ref().unwrap().can_flag);
}

#[test]
fn ratings_need_min_ratings_and_paperwork_rates() {
    let roster = vec![rep("A", "Ann", "N"), rep("B", "Bo", "N")];
    let mut deals = Vec::new();
    // Ann: ratings 5, 4, 3 (n = 3, mean 4.0); paperwork: 2 clean of 3 (one with 2 errors).
    for (i, (r, errs)) in [(5, 0), (4, 2), (3, 0)].iter().enumerate() {
        let mut d = won(&format!("A{i}"), "A", "2026-03-10", "1000");
        d.rating = Some(Decimal::from(*r));
        d.paperwork_complete = Some(true);
        d.paperwork_errors = Some(*errs);
        deals.push(d);
    }
    // Bo: ratings 5, 5 (n = 2 < 3: not ranked on ratings), one deal with paperwork incomplete.
    for i in 0..2 {
        let mut d = won(&format!("B{i}"), "B", "2026-03-10", "1000");
        d.rating = Some(dec("5"));
        d.paperwork_complete = Some(i == 0);
        d.paperwork_errors = Some(0);
        deals.push(d);
    }
    let m = standings("2026-03", &roster, &deals, &[]);
    let a = get(&m, "A");
    assert_eq!((a.rating, a.rating_count, a.rating_rank), (Some(dec("4")), 3, Some(1)));
    assert_eq!(a.clean_paperwork, Some(dec("2") / dec("3")));
    assert_eq!(a.errors_per_deal, Some(dec("2") / dec("3")));
    let b = get(&m, "B");
    assert_eq!((b.rating_count, b.rating_rank), (2, None));
    assert_eq!(b.clean_paperwork, Some(dec("0.5")));
    assert_eq!(m.board(BoardKind::Ratings, None).unwrap().entries.len(), 1);
    // Paperwork board: Ann 66.7% ahead of Bo 50.0%; both below the 90% standard.
    let pw = m.board(BoardKind::Paperwork, None).unwrap();
    assert_eq!(
        pw.entries.iter().map(|e| (e.value, e.rank)).collect::<Vec<_>>(),
        vec![(dec("66.7"), 1), (dec("50.0"), 2)]
    );
    assert!(b.flags.needs_attention.iter().any(|x| matches!(x, Attention::PaperworkBelowStandard { .. })));
    // No quotas at all: nobody is ranked on attainment, nobody is "missed".
    assert_eq!(m.ranked, 0);
    assert!(!a.flags.missed);
}

#[test]
fn credit_splits_share_the_deal() {
    // A 600,000 deal split 50/50 between A and B; cancellation of half of it later.
    let roster = vec![rep("A", "Ann", "N"), rep("B", "Bo", "N")];
    let mut d1 = won("D1", "A", "2026-03-10", "600000");
    d1.share = dec("0.5");
    let mut d2 = won("D1", "B", "2026-03-10", "600000");
    d2.share = dec("0.5");
    let m = standings("2026-03", &roster, &[d1, d2], &[]);
    assert_eq!(get(&m, "A").revenue, dec("300000"));
    assert_eq!(get(&m, "B").revenue, dec("300000"));
    assert_eq!(get(&m, "A").units, dec("0.5"));
}

#[test]
fn weekly_movement_against_the_previous_week() {
    // Week 2026-W11 ends Sunday 15 March, W10 ends 8 March. By 8 March A (50k) leads B
    // (20k); by the 15th B has 90k and leads: B moves up one, A down one.
    let roster = vec![rep("A", "Ann", "N"), rep("B", "Bo", "N")];
    let deals = vec![
        won("1", "A", "2026-03-02", "50000"),
        won("2", "B", "2026-03-03", "20000"),
        won("3", "B", "2026-03-12", "70000"),
    ];
    let ex = vec![(p("2026-03"), at("2026-03-16T06:00:00Z"))];
    let input = Input { roster: &roster, deals: &deals, quotas: &[], exports: &ex, rollup: None, record: None };
    let w = week_standings("2026-W11".parse().unwrap(), &input, &Settings::default(), at("2026-03-16T12:00:00Z"));
    let results = w.board(BoardKind::Results, None).unwrap();
    let moves: Vec<(&str, u32, Option<i32>)> =
        results.entries.iter().map(|e| (e.name.as_str(), e.rank, e.movement)).collect();
    assert_eq!(moves, vec![("Bo", 1, Some(1)), ("Ann", 2, Some(-1))]);
    assert_eq!(w.data_through, Some(day("2026-03-12")));
}

#[test]
fn roster_at_picks_the_version_in_effect() {
    let v1 = version("A", "Ann", "North", "2020-01-01", "2026-01-10T00:00:00Z");
    let v2 = version("A", "Ann B", "South", "2020-01-01", "2026-03-15T00:00:00Z");
    let all = [v1, v2];
    assert_eq!(roster_at(&all, at("2026-03-01T00:00:00Z"))[0].name, "Ann");
    assert_eq!(roster_at(&all, at("2026-04-01T00:00:00Z"))[0].name, "Ann B");
    // Before the first roster: its first version.
    assert_eq!(roster_at(&all, at("2025-06-01T00:00:00Z"))[0].name, "Ann");
}

#[test]
fn month_roster_takes_the_version_on_the_months_last_day_and_the_leave_date() {
    // roster-dated: Ann moves North -> South effective 15 September (local midnight in
    // Chicago, 05:00 UTC); a version effective 1 October (05:00 UTC) is not September's.
    let tz: chrono_tz::Tz = "America/Chicago".parse().unwrap();
    let v1 = version("A", "Ann", "North", "2020-01-01", "2026-08-20T15:00:00Z");
    let v2 = version("A", "Ann", "South", "2020-01-01", "2026-09-15T05:00:00Z");
    let mut v3 = version("A", "Ann", "East", "2020-01-01", "2026-10-01T05:00:00Z");
    v3.rep.leave_date = Some(day("2026-10-15"));
    let all = [v1, v2, v3];
    let team = |m: &str| month_roster(&all, p(m), tz)[0].rep.team.clone().unwrap();
    assert_eq!(team("2026-08"), "North");
    assert_eq!(team("2026-09"), "South");
    assert_eq!(team("2026-10"), "East");
    // Leaving on 15 October: active in October, not in November.
    let active = |m: &str| month_roster(&all, p(m), tz)[0].rep.active;
    assert!(active("2026-10"));
    assert!(!active("2026-11"));
    // In UTC the 1 October version starts at 05:00 on 1 October: still not September's.
    assert_eq!(month_roster(&all, p("2026-09"), chrono_tz::UTC)[0].rep.team.as_deref(), Some("South"));
}

#[test]
fn a_leave_date_on_the_last_or_first_day_of_a_month() {
    let mut r = version("A", "Ann", "North", "2020-01-01", "2026-01-01T00:00:00Z").rep;
    r.leave_date = Some(day("2026-09-30"));
    assert!(r.active_in(p("2026-09")));
    assert!(!r.active_in(p("2026-10")));
    r.leave_date = Some(day("2026-10-01"));
    assert!(r.active_in(p("2026-10")));
    // An inactive row stays inactive whatever its leave date.
    r.active = false;
    assert!(!r.active_in(p("2026-09")));
}

proptest! {
    #[test]
    fn ranking_is_order_independent_and_standard_competition(
        values in proptest::collection::vec((0u8..6, 0u8..4), 1..30),
        seed in any::<u64>(),
    ) {
        let items: Vec<(String, String, Decimal)> = values
            .iter()
            .enumerate()
            .map(|(i, (v, n))| (format!("k{i:02}"), format!("name{n}"), Decimal::from(*v)))
            .collect();
        let mut shuffled = items.clone();
        // A deterministic shuffle from the seed.
        let mut s = seed;
        for i in (1..shuffled.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (s >> 33) as usize % (i + 1));
        }
        let a = rank(items.clone(), &NameOrder::default());
        let b = rank(shuffled, &NameOrder::default());
        prop_assert_eq!(&a, &b);
        for (k, _, v, r) in &a {
            let better = items.iter().filter(|x| x.2 > *v).count() as u32;
            prop_assert_eq!(*r, better + 1, "rank of {} is 1 + the number strictly better", k);
        }
        for w in a.windows(2) {
            prop_assert!(w[0].3 <= w[1].3);
        }
    }
}

// ---- Issue 15: figures people can trust -------------------------------------------

fn rated(id: &str, rep_id: &str, rating: u32, clean: bool) -> DealRow {
    let mut d = won(id, rep_id, "2026-03-10", "1000");
    d.rating = Some(Decimal::from(rating));
    d.paperwork_complete = Some(clean);
    d.paperwork_errors = Some(0);
    d
}

#[test]
fn no_displayed_figure_crosses_a_threshold_the_exact_value_did_not_reach() {
    // A 100,000 / 100,000 = 100% (at quota); B 99,950 / 100,000 = 99.95%, which rounds
    // half away from zero to 100.0% but is below quota: shown and ranked 99.9%, rank 2,
    // not tied with A; C 79,960 / 100,000 = 79.96% is below the 80% target: 79.9%.
    // D 108,555 / 100,000 = 108.555% -> 108.6% (no threshold near it).
    let roster = vec![rep("A", "Ann", "N"), rep("B", "Bo", "N"), rep("C", "Cy", "N"), rep("D", "Di", "N")];
    let deals = vec![
        won("1", "A", "2026-03-05", "100000"),
        won("2", "B", "2026-03-05", "99950"),
        won("3", "C", "2026-03-05", "79960"),
        won("4", "D", "2026-03-05", "108555"),
    ];
    let quotas: Vec<QuotaRow> = ["A", "B", "C", "D"].iter().map(|r| quota(r, "2026-03", "100000")).collect();
    let m = standings("2026-03", &roster, &deals, &quotas);
    let board = m.board(BoardKind::Attainment, None).unwrap();
    let got: Vec<(&str, u32, String)> =
        board.entries.iter().map(|e| (e.name.as_str(), e.rank, e.value.to_string())).collect();
    assert_eq!(
        got,
        vec![
            ("Di", 1, "108.6".to_string()),
            ("Ann", 2, "100.0".to_string()),
            ("Bo", 3, "99.9".to_string()),
            ("Cy", 4, "79.9".to_string())
        ]
    );
    assert!(get(&m, "B").flags.missed && !get(&m, "B").flags.below_target);
    assert!(get(&m, "C").flags.below_target);
    assert_eq!(m.celebrations.at_quota, vec!["Ann".to_string(), "Di".to_string()]);
    assert_eq!(m.standards.below_target, dec("0.8"));
}

#[test]
fn ratings_and_clean_paperwork_are_shown_and_ranked_below_their_standards() {
    // A: 25 ratings, 24 fours and one three: 99 / 25 = 3.96, below the 4.0 standard:
    // shown and ranked 3.9 (not 4.0), tied with nobody. B: three fours = 4.0.
    // Paperwork: A has 24 clean of 25 = 96.0%; B 3 of 3 = 100.0%. C: 9 of 10 clean = 90.0%
    // exactly (at the standard, shown 90.0%).
    let roster = vec![rep("A", "Ann", "N"), rep("B", "Bo", "N"), rep("C", "Cy", "N")];
    let mut deals: Vec<DealRow> =
        (0..25).map(|i| rated(&format!("A{i}"), "A", if i == 0 { 3 } else { 4 }, i != 0)).collect();
    deals.extend((0..3).map(|i| rated(&format!("B{i}"), "B", 4, true)));
    deals.extend((0..10).map(|i| rated(&format!("C{i}"), "C", 5, i != 0)));
    let m = standings("2026-03", &roster, &deals, &[]);
    let ratings = m.board(BoardKind::Ratings, None).unwrap();
    let got: Vec<(&str, u32, String)> =
        ratings.entries.iter().map(|e| (e.name.as_str(), e.rank, e.value.to_string())).collect();
    assert_eq!(got, vec![("Cy", 1, "5.0".into()), ("Bo", 2, "4.0".into()), ("Ann", 3, "3.9".into())]);
    let pw = m.board(BoardKind::Paperwork, None).unwrap();
    let got: Vec<(&str, String)> = pw.entries.iter().map(|e| (e.name.as_str(), e.value.to_string())).collect();
    assert_eq!(got, vec![("Bo", "100.0".into()), ("Ann", "96.0".into()), ("Cy", "90.0".into())]);
    assert_eq!(m.standards.shown(crate::domain::Judged::Rating, dec("3.96")), dec("3.9"));
    assert_eq!(m.standards.shown(crate::domain::Judged::CleanPaperwork, dec("0.8996")), dec("89.9"));
    assert_eq!(m.standards.shown(crate::domain::Judged::CleanPaperwork, dec("0.7996")), dec("80.0"));
    assert_eq!(m.standards.shown(crate::domain::Judged::Attainment, dec("0.7996")), dec("79.9"));
    assert_eq!(m.standards.shown(crate::domain::Judged::Pace, dec("0.7996")), dec("79.9"));
}

#[test]
fn nobody_is_celebrated_for_nothing() {
    // Week 2026-W10 (month to date through Sunday 8 March): Ann sold 5,000 against a
    // 100,000 quota (5.0%); Bo and Cy sold nothing (0.0%). Only Ann is on the top
    // boards; Bo and Cy are ranked (tied 2nd) but celebrated nowhere.
    let roster = vec![rep("A", "Ann", "N"), rep("B", "Bo", "N"), rep("C", "Cy", "S")];
    let deals = vec![won("1", "A", "2026-03-03", "5000")];
    let quotas: Vec<QuotaRow> = ["A", "B", "C"].iter().map(|r| quota(r, "2026-03", "100000")).collect();
    let ex = vec![(p("2026-03"), at("2026-03-09T06:00:00Z"))];
    let input = Input { roster: &roster, deals: &deals, quotas: &quotas, exports: &ex, rollup: None, record: None };
    let w = week_standings("2026-W10".parse().unwrap(), &input, &Settings::default(), at("2026-03-09T12:00:00Z"));
    assert!(w.has_results);
    for b in &w.celebrations.top {
        let names: Vec<&str> = b.entries.iter().map(|e| e.name.as_str()).collect();
        match b.kind {
            BoardKind::Results | BoardKind::Attainment => assert_eq!(names, vec!["Ann"], "{:?}", b.kind),
            _ => assert!(names.is_empty(), "{:?}", b.kind),
        }
    }
    assert_eq!(get(&w, "B").company_rank, Some(2), "still ranked, just not celebrated");

    // A week with no results at all (2026-W09 ends Sunday 1 March: nothing closed yet):
    // nobody is ranked (never "everyone 1st at 0.0%"), nothing is celebrated.
    let w = week_standings("2026-W09".parse().unwrap(), &input, &Settings::default(), at("2026-03-09T12:00:00Z"));
    assert!(!w.has_results);
    assert_eq!(w.ranked, 0);
    assert!(w.reps.iter().all(|s| s.company_rank.is_none() && s.results_rank.is_none()));
    assert!(w.celebrations.top.iter().all(|b| b.entries.is_empty()));
    assert!(w.teams.iter().all(|t| t.rank.is_none()));
}

#[test]
fn a_personal_best_needs_a_positive_value() {
    // R has three final months of -10,000 (cancellations), then a month of 0: not a new
    // personal best in revenue (0 is nothing), nor most improved.
    let roster = vec![rep("R", "Ria", "N")];
    let mut deals = Vec::new();
    for (i, m) in ["2025-11-10", "2025-12-10", "2026-01-10"].iter().enumerate() {
        deals.push(deal(&format!("X{i}"), "R", StageClass::Cancelled, m, "10000"));
    }
    let m = standings("2026-02", &roster, &deals, &[]);
    assert!(get(&m, "R").personal_bests.iter().all(|b| b.metric != "revenue"), "{:?}", get(&m, "R").personal_bests);
    assert!(m.celebrations.personal_bests.is_empty());
}

#[test]
fn a_team_is_one_team_however_it_is_typed() {
    // Six spellings of two teams on the roster; the newer roster (2026-01-01) spells
    // them "North Division" and "Lakeside Sales", which is what every page shows.
    let roster = vec![
        version("A", "Ann", "north division ", "2020-01-06", "2025-01-01T00:00:00Z"),
        version("A", "Ann", "North Division", "2020-01-06", "2026-01-01T00:00:00Z"),
        version("B", "Bo", "NORTH  DIVISION", "2020-01-06", "2025-01-01T00:00:00Z"),
        version("C", "Cy", "lakeside sales", "2020-01-06", "2025-01-01T00:00:00Z"),
        version("D", "Di", " LAKESIDE SALES", "2020-01-06", "2025-01-01T00:00:00Z"),
        version("E", "Ed", "Lakeside Sales", "2020-01-06", "2026-01-01T00:00:00Z"),
        version("F", "Fe", "Nörth Division", "2020-01-06", "2025-01-01T00:00:00Z"),
    ];
    let deals: Vec<DealRow> = ["A", "B", "C", "D", "E", "F"]
        .iter()
        .enumerate()
        .map(|(i, r)| won(&format!("{i}"), r, "2026-03-05", &format!("{}", (i + 1) * 10000)))
        .collect();
    let quotas: Vec<QuotaRow> = ["A", "B", "C", "D", "E", "F"].iter().map(|r| quota(r, "2026-03", "100000")).collect();
    let m = standings("2026-03", &roster, &deals, &quotas);
    let teams: Vec<(&str, u32, Option<u32>)> = m.teams.iter().map(|t| (t.team.as_str(), t.reps, t.rank)).collect();
    // Lakeside: (30 + 40 + 50)k / 300k = 40.0%; North: (10 + 20 + 60)k / 300k = 30.0%.
    assert_eq!(teams, vec![("Lakeside Sales", 3, Some(1)), ("North Division", 3, Some(2))]);
    assert!(m.reps.iter().all(|s| s.team == "North Division" || s.team == "Lakeside Sales"));
    assert_eq!(m.ranked_in_team.len(), 2);
    let boards: Vec<&str> =
        m.boards.iter().filter(|b| b.kind == BoardKind::Attainment).filter_map(|b| b.team.as_deref()).collect();
    assert_eq!(boards, vec!["Lakeside Sales", "North Division"]);
    assert_eq!(m.board(BoardKind::Attainment, Some("north   DIVISION")).map(|b| b.entries.len()), Some(3));
    assert_eq!(get(&m, "F").team_rank, Some(1), "F leads North with 60k");

    // The import report's note, for one roster file's rows: each team by its most
    // common spelling (ties: the first row's), then the other spellings as typed.
    let file = |teams: &[&str]| -> Vec<RosterRep> {
        teams
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut r = rep(&format!("R{i}"), &format!("Rep {i}"), t).rep;
                r.origin.row = i as u32 + 2;
                r
            })
            .collect()
    };
    let rows = file(&[
        "North Division",
        "north division ",
        "North Division",
        "NORTH DIVISION",
        "Lakeside Sales",
        "lakeside  sales",
        "LAKESIDE SALES",
        "South",
    ]);
    assert_eq!(
        team_variants(&rows),
        vec![
            "team 'Lakeside Sales' is also written 'lakeside  sales', 'LAKESIDE SALES': counted as one team"
                .to_string(),
            "team 'North Division' is also written 'north division ', 'NORTH DIVISION': counted as one team"
                .to_string(),
        ]
    );
    assert!(team_variants(&file(&["North", "South", "North"])).is_empty());
}

#[test]
fn team_attainment_counts_only_reps_with_a_quota() {
    // West: W1 80,000 on a 100,000 quota, W2 300,000 with no quota. Team attainment is
    // 80,000 / 100,000 = 80.0% (not 380,000 / 100,000 = 380.0%); W2 is listed apart.
    // East: nobody has a quota: "no quota", no attainment, not ranked.
    let roster = vec![rep("W1", "Wes", "West"), rep("W2", "Wyn", "West"), rep("E1", "Eve", "East")];
    let deals = vec![
        won("1", "W1", "2026-03-05", "80000"),
        won("2", "W2", "2026-03-05", "300000"),
        won("3", "E1", "2026-03-05", "5000"),
    ];
    let quotas = vec![quota("W1", "2026-03", "100000"), quota("W2", "2026-03", "0")];
    let m = standings("2026-03", &roster, &deals, &quotas);
    let west = m.teams.iter().find(|t| t.team == "West").unwrap();
    assert_eq!(west.attainment, Some(dec("0.8")));
    assert_eq!(west.revenue_quota, Some(dec("100000")));
    assert_eq!(west.quota_revenue, dec("80000"));
    assert_eq!(west.revenue, dec("380000"));
    assert_eq!(west.without_quota, vec![("Wyn".to_string(), dec("300000"))]);
    assert_eq!(west.rank, Some(1));
    let east = m.teams.iter().find(|t| t.team == "East").unwrap();
    assert_eq!((east.attainment, east.revenue_quota, east.rank), (None, None, None));
    assert_eq!(east.without_quota, vec![("Eve".to_string(), dec("5000"))]);
}

fn week(s: &str) -> IsoWeek {
    s.parse().unwrap()
}

#[test]
fn a_week_ranks_the_month_of_its_monday_through_its_sunday_or_the_month_end() {
    let rp = |m: &str, through: &str| RankedPeriod { month: p(m), through: day(through) };
    // 2026-W44 is Monday 26 October to Sunday 1 November: October in full.
    assert_eq!(ranked_period(week("2026-W44")), rp("2026-10", "2026-10-31"));
    assert!(ranked_period(week("2026-W44")).is_full_month());
    // 2026-W45, 2–8 November: November 1–8 (Sunday 1 November is in it).
    assert_eq!(ranked_period(week("2026-W45")), rp("2026-11", "2026-11-08"));
    assert_eq!(ranked_period(week("2026-W45")).first_day(), day("2026-11-01"));
    assert!(!ranked_period(week("2026-W45")).is_full_month());
    // 2026-W43, 19–25 October: October 1–25.
    assert_eq!(ranked_period(week("2026-W43")), rp("2026-10", "2026-10-25"));
    // 2026-W01 is Monday 29 December 2025 to Sunday 4 January: December 2025 in full.
    assert_eq!(ranked_period(week("2026-W01")), rp("2025-12", "2025-12-31"));
    // June 2026 starts on a Monday: W23 ranks 1–7 June; May ends on Sunday 31 May: W22
    // (25–31 May) ranks May in full.
    assert_eq!(ranked_period(week("2026-W23")), rp("2026-06", "2026-06-07"));
    assert_eq!(ranked_period(week("2026-W22")), rp("2026-05", "2026-05-31"));
}

#[test]
fn every_day_of_every_month_is_in_some_weekly_ranking_and_a_closed_month_is_ranked_in_full() {
    // 2020 (leap year, 53 ISO weeks) to 2030, 2026 (53 weeks) included.
    for year in 2020..=2030 {
        let first = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
        let last = NaiveDate::from_ymd_opt(year, 12, 31).unwrap();
        let mut weeks = Vec::new();
        let mut w = IsoWeek::of(first);
        while w.monday() <= last {
            weeks.push((w, ranked_period(w)));
            w = w.next();
        }
        for (w, r) in &weeks {
            assert_eq!(r.month, Period::of(w.monday()), "{w}: the month of its Monday");
            assert!(r.through >= w.monday() && r.through <= w.sunday(), "{w}: through {}", r.through);
            assert_eq!(r.through.month(), r.month.first_day().month(), "{w}: within its month");
        }
        // The union of the ranked periods covers every day of the year.
        let mut d = first;
        while d <= last {
            assert!(weeks.iter().any(|(_, r)| r.first_day() <= d && d <= r.through), "{d} is in no weekly ranking");
            d = d.succ_opt().unwrap();
        }
        // The first ranking run after a month closes (the first week whose Sunday is on or
        // after its last day) shows that month in full.
        let mut m = Period::of(first);
        while m <= Period::of(last) {
            let (w, r) = weeks.iter().find(|(w, _)| w.sunday() >= m.last_day()).unwrap();
            assert_eq!(*r, RankedPeriod { month: m, through: m.last_day() }, "{m}: the ranking of {w}");
            m = m.next();
        }
    }
}

/// Ann and Bo in October and November 2026; October exported on 31 October (before it
/// closed), November on 9 November.
type Fixture = (Vec<RosterVersion>, Vec<DealRow>, Vec<QuotaRow>, Vec<(Period, DateTime<Utc>)>);

fn october_november(october_exported: &str) -> Fixture {
    let roster = vec![rep("A", "Ann", "N"), rep("B", "Bo", "N")];
    let deals = vec![
        won("1", "B", "2026-10-20", "200000"),
        won("2", "A", "2026-10-30", "300000"),
        won("3", "B", "2026-11-01", "100000"),
    ];
    let quotas = vec![
        quota("A", "2026-10", "400000"),
        quota("B", "2026-10", "250000"),
        quota("A", "2026-11", "400000"),
        quota("B", "2026-11", "300000"),
    ];
    let ex = vec![(p("2026-10"), at(october_exported)), (p("2026-11"), at("2026-11-09T06:00:00Z"))];
    (roster, deals, quotas, ex)
}

#[test]
fn the_week_of_26_october_ranks_october_in_full_and_the_next_week_november_1_to_8() {
    let (roster, deals, quotas, ex) = october_november("2026-10-31T18:00:00Z");
    let input = Input { roster: &roster, deals: &deals, quotas: &quotas, exports: &ex, rollup: None, record: None };
    let now = at("2026-11-09T12:00:00Z");
    let w44 = week_standings(week("2026-W44"), &input, &Settings::default(), now);
    assert_eq!((w44.period, w44.through), (p("2026-10"), Some(day("2026-10-31"))));
    // Ann's deal of Friday 30 October counts; Bo's of Sunday 1 November does not.
    assert_eq!((get(&w44, "A").revenue, get(&w44, "B").revenue), (dec("300000"), dec("200000")));
    assert!(w44.preliminary && w44.dated_by_day);
    // Pace through 31 October, every day gone: Ann 300,000 / (400,000 × 31/31) = 0.75.
    let pace = get(&w44, "A").pacing.clone().unwrap();
    assert_eq!((pace.through, pace.elapsed, pace.pace), (day("2026-10-31"), 31, Some(dec("0.75"))));
    // Movement against W43 (1–25 October: Bo 200,000, Ann 0): Ann up one on results.
    let moves = |m: &MonthStandings, k: BoardKind| -> Vec<(String, u32, Option<i32>)> {
        m.board(k, None).unwrap().entries.iter().map(|e| (e.name.clone(), e.rank, e.movement)).collect()
    };
    assert_eq!(moves(&w44, BoardKind::Results), vec![("Ann".into(), 1, Some(1)), ("Bo".into(), 2, Some(-1))]);
    // Attainment: Bo 80.0% stays 1st, Ann 75.0% stays 2nd (0.0% on 1–25 October).
    assert_eq!(moves(&w44, BoardKind::Attainment), vec![("Bo".into(), 1, Some(0)), ("Ann".into(), 2, Some(0))]);

    let w45 = week_standings(week("2026-W45"), &input, &Settings::default(), now);
    assert_eq!((w45.period, w45.through), (p("2026-11"), Some(day("2026-11-08"))));
    assert_eq!((get(&w45, "A").revenue, get(&w45, "B").revenue), (dec("0"), dec("100000")));
    // Pace over 8 of November's 30 days: Bo 100,000 / (300,000 × 8/30 = 80,000) = 1.25.
    let pace = get(&w45, "B").pacing.clone().unwrap();
    assert_eq!((pace.elapsed, pace.pace), (8, Some(dec("1.25"))));
    // The first ranking of November moves nobody: last week ranked October.
    assert_eq!(moves(&w45, BoardKind::Results), vec![("Bo".into(), 1, None), ("Ann".into(), 2, None)]);
}

#[test]
fn a_full_month_ranking_is_final_once_the_final_export_is_loaded() {
    // October exported on 2 November: final; the ranking has no pace, and personal-best
    // logic may run (it needs a final month).
    let (roster, deals, quotas, ex) = october_november("2026-11-02T12:00:00Z");
    let input = Input { roster: &roster, deals: &deals, quotas: &quotas, exports: &ex, rollup: None, record: None };
    let w44 = week_standings(week("2026-W44"), &input, &Settings::default(), at("2026-11-09T12:00:00Z"));
    assert!(!w44.preliminary);
    assert!(w44.reps.iter().all(|s| s.pacing.is_none()));
    // W43 (1–25 October) is month to date: preliminary whatever the exports.
    let w43 = week_standings(week("2026-W43"), &input, &Settings::default(), at("2026-11-09T12:00:00Z"));
    assert!(w43.preliminary);
}

#[test]
fn a_summary_total_gives_no_month_to_date_pace_and_no_off_pace_flag() {
    // November 2026, exported on 12 November: 12 of 30 days gone (40%, past the 30% after
    // which "off pace" may be flagged). Bo's 20,000 against 300,000 dated by day would
    // pace at 20,000 / 120,000 = 16.7%: off pace.
    let roster = vec![rep("A", "Ann", "N"), rep("B", "Bo", "N")];
    let quotas = vec![quota("A", "2026-11", "400000"), quota("B", "2026-11", "300000")];
    let ex = vec![(p("2026-11"), at("2026-11-12T18:00:00Z"))];
    let now = at("2026-11-13T12:00:00Z");
    let by_day = vec![won("1", "A", "2026-11-03", "350000"), won("2", "B", "2026-11-04", "20000")];
    let input = Input { roster: &roster, deals: &by_day, quotas: &quotas, exports: &ex, rollup: None, record: None };
    let m = month_standings(p("2026-11"), &input, &Settings::default(), now);
    assert!(m.dated_by_day);
    let bo = get(&m, "B");
    assert_eq!(bo.pacing.as_ref().and_then(|x| x.pace).map(|x| x.round_dp(3)), Some(dec("0.167")));
    assert!(bo.flags.off_pace);
    // The same figures as a summary export's monthly totals (dated 1 November).
    let total = |rep: &str, amount: &str| {
        let mut d = won(&crate::domain::summary_deal_id(p("2026-11"), &format!("id:{rep}")), rep, "2026-11-01", amount);
        d.stage = crate::domain::SUMMARY_STAGE.into();
        assert!(d.is_month_total());
        d
    };
    let totals = vec![total("A", "350000"), total("B", "20000")];
    let input = Input { roster: &roster, deals: &totals, quotas: &quotas, exports: &ex, rollup: None, record: None };
    let m = month_standings(p("2026-11"), &input, &Settings::default(), now);
    assert!(!m.dated_by_day);
    assert_eq!(get(&m, "B").revenue, dec("20000"));
    assert!(m.reps.iter().all(|s| s.pacing.is_none() && !s.flags.off_pace), "{:?}", m.reps);
    // Month to date (a weekly ranking) the same.
    let w = week_standings(week("2026-W46"), &input, &Settings::default(), now);
    assert!(!w.dated_by_day && w.reps.iter().all(|s| s.pacing.is_none()));
}

#[test]
fn nobody_is_celebrated_on_a_board_for_nothing() {
    // March: Ann 50,000, Bo and Cy nothing. Results top: Ann only, not Bo and Cy at $0.
    let roster = vec![rep("A", "Ann", "N"), rep("B", "Bo", "N"), rep("C", "Cy", "S")];
    let m = standings("2026-03", &roster, &[won("1", "A", "2026-03-02", "50000")], &[]);
    let top = m.celebrations.top.iter().find(|b| b.kind == BoardKind::Results).unwrap();
    let names: Vec<&str> = top.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["Ann"]);
    // Bo and Cy are still on the results board itself, 2nd.
    let board = m.board(BoardKind::Results, None).unwrap();
    assert_eq!(board.entries.iter().map(|e| e.rank).collect::<Vec<_>>(), [1, 2, 2]);
}

#[test]
fn a_cancellation_counts_by_what_is_on_record_and_how_far_the_history_reaches() {
    // Settings' default lookback: 9 months.
    let s = Settings::default();
    let c = |id: &str, date: &str| deal(id, "A", StageClass::Cancelled, date, "5000");
    let record = |won: &[&str], first: &str| SaleRecord {
        won: won.iter().map(|w| w.to_string()).collect(),
        first_month: Some(p(first)),
    };
    // X2's sale is on record: it subtracts, whatever the history.
    assert_eq!(
        cancellation_rule(&c("X2", "2026-10-05"), &record(&["X2"], "2026-10"), &s),
        Some(CancellationRule::SaleOnRecord)
    );
    // Not on record, history from January: October − 9 months = January, not before it:
    // the sale would be on record, so it counts nowhere.
    let r = cancellation_rule(&c("X2", "2026-10-05"), &record(&["X1"], "2026-01"), &s);
    assert_eq!(r, Some(CancellationRule::NotOnRecord { first: p("2026-01") }));
    assert!(!r.unwrap().counts());
    // History from February: the sale may be from January, before it: subtracts.
    let r = cancellation_rule(&c("X2", "2026-10-05"), &record(&[], "2026-02"), &s);
    assert_eq!(r, Some(CancellationRule::MayPredateHistory { first: p("2026-02") }));
    assert!(r.unwrap().counts());
    // The first month imported (March) cancelling a February sale: subtracts.
    assert!(cancellation_rule(&c("C1", "2026-03-05"), &record(&[], "2026-03"), &s).unwrap().counts());
    // A lookback of 0 trusts the history from its first month on.
    let zero = Settings { cancellation_lookback_months: 0, ..Settings::default() };
    assert!(!cancellation_rule(&c("C1", "2026-03-05"), &record(&[], "2026-03"), &zero).unwrap().counts());
    // Won and ignored rows have no rule.
    assert_eq!(cancellation_rule(&won("X1", "A", "2026-10-02", "1000"), &record(&[], "2026-01"), &s), None);
}

#[test]
fn ann_keeps_her_sale_when_a_cancellation_has_no_sale_on_record() {
    // Ann: a sale every month January to September 2026 (1,000 each), X1 won 1,000 on
    // 2 October, X2 "cancelled" 5,000 on 5 October with no sale of X2 anywhere. With
    // nine months of history before October, X2 counts nowhere: October = 1,000, 1 unit.
    let roster = vec![rep("A", "Ann Archer", "North")];
    let mut deals: Vec<DealRow> =
        (1..=9).map(|m| won(&format!("H{m}"), "A", &format!("2026-{m:02}-15"), "1000")).collect();
    deals.push(won("X1", "A", "2026-10-02", "1000"));
    deals.push(deal("X2", "A", StageClass::Cancelled, "2026-10-05", "5000"));
    let oct = standings("2026-10", &roster, &deals, &[]);
    let a = get(&oct, "A");
    assert_eq!((a.revenue, a.units, a.won_deals, a.cancellations), (dec("1000"), dec("1"), 1, 0));
    // The same cancellation when October is the first month: it subtracts, −4,000.
    let only_oct: Vec<DealRow> = deals[9..].to_vec();
    let a = standings("2026-10", &roster, &only_oct, &[]);
    let a = get(&a, "A");
    assert_eq!((a.revenue, a.units, a.cancellations), (dec("-4000"), dec("0"), 1));
    // Its sale arriving (in September) makes it count: September 6,000, October −4,000.
    deals.push(won("X2", "A", "2026-09-20", "5000"));
    assert_eq!(get(&standings("2026-10", &roster, &deals, &[]), "A").revenue, dec("-4000"));
    assert_eq!(get(&standings("2026-09", &roster, &deals, &[]), "A").revenue, dec("6000"));
}

#[test]
fn last_weeks_ranks_come_from_its_boards_alone_and_match_its_full_standings() {
    // Worked by hand. 2026-W11 ranks 1–15 March, last week (W10) 1–8 March.
    // By 8 March: results Ann 50k, Bo 20k, Cy 20k (tied 2nd), Di 0 (4th: with results
    // on the board, a rep at zero is ranked last); quotas Ann 100k, Bo 40k, Cy 80k →
    // attainment Bo 50%, Ann 50%, Cy 25%; Cy's rating 4 is the only one. By 15 March:
    // Di 60k, Cy -5k cancelled (15k). Results now: Di 60k 1st (was 4th: +3), Ann 50k 2nd
    // (was 1st: -1), Bo 20k 3rd (was 2nd: -1), Cy 15k 4th (was 2nd: -2). Team South
    // (Cy, Di): Di 1st (was 2nd: +1), Cy 2nd (was 1st: -1).
    let roster =
        vec![rep("A", "Ann", "North"), rep("B", "Bo", "North"), rep("C", "Cy", "South"), rep("D", "Di", "South")];
    let mut rated = won("3", "C", "2026-03-04", "20000");
    rated.rating = Some(dec("4"));
    let mut cancel = deal("3", "C", StageClass::Cancelled, "2026-03-10", "5000");
    cancel.deal_id = "3".into();
    let deals = vec![
        won("1", "A", "2026-03-02", "50000"),
        won("2", "B", "2026-03-03", "20000"),
        rated,
        won("4", "D", "2026-03-11", "60000"),
        cancel,
    ];
    let quotas = vec![quota("A", "2026-03", "100000"), quota("B", "2026-03", "40000"), quota("C", "2026-03", "80000")];
    let ex = vec![(p("2026-03"), at("2026-03-16T06:00:00Z"))];
    let input = Input { roster: &roster, deals: &deals, quotas: &quotas, exports: &ex, rollup: None, record: None };
    let now = at("2026-03-16T12:00:00Z");
    let w = week_standings("2026-W11".parse().unwrap(), &input, &Settings::default(), now);
    let moves = |k: BoardKind, team: Option<&str>| -> Vec<(String, u32, Option<i32>)> {
        w.board(k, team).unwrap().entries.iter().map(|e| (e.name.clone(), e.rank, e.movement)).collect()
    };
    let m = |n: &str, r: u32, mv: Option<i32>| (n.to_string(), r, mv);
    assert_eq!(
        moves(BoardKind::Results, None),
        vec![m("Di", 1, Some(3)), m("Ann", 2, Some(-1)), m("Bo", 3, Some(-1)), m("Cy", 4, Some(-2))]
    );
    assert_eq!(moves(BoardKind::Results, Some("South")), vec![m("Di", 1, Some(1)), m("Cy", 2, Some(-1))]);
    // The same movement as last week's full standings give (the way it was computed before).
    let mut full = month_to_date(day("2026-03-15"), &input, &Settings::default(), now);
    let before = month_to_date(day("2026-03-08"), &input, &Settings::default(), now);
    apply_movement(&mut full, &before);
    assert_eq!(full.boards, w.boards);
    assert!(w.boards.iter().flat_map(|b| &b.entries).any(|e| e.movement.is_some_and(|v| v != 0)));
}
