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
            origin: RowOrigin::default(),
        },
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
        let a = rank(items.clone());
        let b = rank(shuffled);
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
