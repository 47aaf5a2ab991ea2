//! Metrics: pure functions from stored rows to the figures of DESIGN.md "Metrics".
//!
//! No I/O, no clock, no SQL, no templates: callers pass the roster, the deal events and
//! the quotas in, and get plain view data ([`crate::domain::MonthStandings`]) out.
//! Imports `domain` only.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::{Decimal, RoundingStrategy};

use crate::domain::{DealRow, MonthStandings, Period, QuotaRow, RepRef, RosterRep, StageClass, Standing, fold_name};

/// Matches the rep named in a row to a roster rep: by rep id, else e-mail, else folded
/// name (only when exactly one roster rep has that name). DESIGN.md "Metrics": a rep
/// keeps one identity (rep id, else email).
pub struct Resolver<'a> {
    roster: &'a [RosterRep],
    by_id: HashMap<&'a str, usize>,
    by_email: HashMap<&'a str, usize>,
    by_name: HashMap<String, Vec<usize>>,
}

impl<'a> Resolver<'a> {
    /// Indexes `roster`.
    pub fn new(roster: &'a [RosterRep]) -> Resolver<'a> {
        let mut r = Resolver { roster, by_id: HashMap::new(), by_email: HashMap::new(), by_name: HashMap::new() };
        for (i, rep) in roster.iter().enumerate() {
            if let Some(id) = &rep.id {
                r.by_id.insert(id, i);
            }
            if let Some(e) = &rep.email {
                r.by_email.insert(e, i);
            }
            r.by_name.entry(fold_name(&rep.name)).or_default().push(i);
        }
        r
    }

    /// The roster rep `rep` refers to, if exactly one.
    pub fn resolve(&self, rep: &RepRef) -> Option<&'a RosterRep> {
        let i = rep
            .id
            .as_deref()
            .and_then(|id| self.by_id.get(id))
            .or_else(|| rep.email.as_deref().and_then(|e| self.by_email.get(e)))
            .copied()
            .or_else(|| match rep.name.as_deref().and_then(|n| self.by_name.get(&fold_name(n))) {
                Some(v) if v.len() == 1 => Some(v[0]),
                _ => None,
            })?;
        Some(&self.roster[i])
    }
}

/// Running totals for one rep and month.
#[derive(Debug, Default, Clone)]
struct Tally {
    revenue: Decimal,
    units: Decimal,
    won: u32,
    cancelled: u32,
    rating_sum: Decimal,
    rating_n: u32,
    paperwork_n: u32,
    clean_n: u32,
    export_team: Option<String>,
}

impl Tally {
    /// Adds one deal event: won adds its amount and units as exported, cancelled
    /// subtracts its absolute amount and units (exports differ on the sign they give
    /// cancellations), ignored adds nothing.
    fn add(&mut self, d: &DealRow) {
        let amount = d.amount.unwrap_or_default();
        let units = d.units.unwrap_or(Decimal::ONE);
        match d.class {
            StageClass::Won => {
                // As exported: a negative won amount (a credit) stays negative.
                self.revenue += amount;
                self.units += units;
                self.won += 1;
                if let Some(r) = d.rating {
                    self.rating_sum += r;
                    self.rating_n += 1;
                }
                if d.paperwork_complete.is_some() || d.paperwork_errors.is_some() {
                    self.paperwork_n += 1;
                    if d.paperwork_complete == Some(true) && d.paperwork_errors.unwrap_or(0) == 0 {
                        self.clean_n += 1;
                    }
                }
            }
            StageClass::Cancelled => {
                self.revenue -= amount.abs();
                self.units -= units.abs();
                self.cancelled += 1;
            }
            StageClass::Ignored => return,
        }
        if d.team.is_some() {
            self.export_team.clone_from(&d.team);
        }
    }
}

/// Attainment = actual / quota as an exact, uncapped fraction; `None` ("no quota") when
/// the quota is missing, zero or negative. DESIGN.md "Metrics": Attainment.
pub fn attainment(actual: Decimal, quota: Option<Decimal>) -> Option<Decimal> {
    let q = quota.filter(|q| *q > Decimal::ZERO)?;
    actual.checked_div(q)
}

/// Attainment as displayed and ranked: a percent rounded half away from zero to one
/// decimal (0.87549 -> 87.5). DESIGN.md "Metrics": ties are compared as displayed.
pub fn attainment_percent(fraction: Decimal) -> Decimal {
    (fraction * Decimal::ONE_HUNDRED).round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero)
}

/// Standard competition ranking ("1224"): items with equal values share a rank and the
/// next rank skips. `values` must already be sorted best first; returns one rank per item.
pub fn competition_ranks<T: PartialEq>(values: &[T]) -> Vec<u32> {
    let mut ranks = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        if i > 0 && values[i - 1] == *v {
            ranks.push(ranks[i - 1]);
        } else {
            ranks.push(i as u32 + 1);
        }
    }
    ranks
}

/// Every roster rep's standing for `period`: revenue and units (won minus cancelled by
/// close date in the month), rating with its count, clean paperwork rate, attainment
/// against the month's revenue quota, and ranks company-wide and per team on attainment
/// as displayed (highest first; ties share a rank and are listed alphabetically).
/// Inactive reps and reps without a quota are listed but not ranked.
///
/// `deals` may hold other months' rows; only `period`'s are used. `quotas` likewise.
pub fn month_standings(period: Period, roster: &[RosterRep], deals: &[DealRow], quotas: &[QuotaRow]) -> MonthStandings {
    let resolver = Resolver::new(roster);
    let mut tallies: HashMap<String, Tally> = HashMap::new();
    let mut unmatched: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut as_of = None;
    for d in deals {
        let Some(date) = d.close_date else { continue };
        if !period.contains(date) || d.class == StageClass::Ignored {
            continue;
        }
        as_of = as_of.max(Some(date));
        match resolver.resolve(&d.rep) {
            Some(rep) => tallies.entry(rep.key()).or_default().add(d),
            None => {
                let mut t = Tally::default();
                t.add(d);
                *unmatched.entry(d.rep.describe()).or_default() += t.revenue;
            }
        }
    }
    let mut quota_of: HashMap<String, &QuotaRow> = HashMap::new();
    let mut unmatched_quotas = Vec::new();
    for q in quotas.iter().filter(|q| q.month == period) {
        match resolver.resolve(&q.rep) {
            Some(rep) => {
                quota_of.insert(rep.key(), q);
            }
            None => unmatched_quotas.push(format!("{} (quota only)", q.rep.describe())),
        }
    }
    let mut reps: Vec<Standing> = roster
        .iter()
        .map(|r| {
            let key = r.key();
            let t = tallies.remove(&key).unwrap_or_default();
            let q = quota_of.get(&key);
            let revenue_quota = q.map(|q| q.revenue).filter(|v| *v > Decimal::ZERO);
            Standing {
                rep_id: r.id.clone(),
                name: r.name.clone(),
                email: r.email.clone(),
                team: r.team.clone().or(t.export_team.clone()).unwrap_or_else(|| "(no team)".into()),
                manager: r.manager.clone(),
                active: r.active,
                revenue: t.revenue,
                units: t.units,
                won_deals: t.won,
                cancellations: t.cancelled,
                rating: (t.rating_n > 0).then(|| t.rating_sum / Decimal::from(t.rating_n)),
                rating_count: t.rating_n,
                clean_paperwork: (t.paperwork_n > 0).then(|| Decimal::from(t.clean_n) / Decimal::from(t.paperwork_n)),
                attainment: attainment(t.revenue, revenue_quota),
                revenue_quota,
                units_quota: q.and_then(|q| q.units).filter(|u| *u > Decimal::ZERO),
                company_rank: None,
                team_rank: None,
                rep_key: key,
            }
        })
        .collect();

    // Ranked: active with an attainment, best displayed attainment first, then by name.
    let display = |s: &Standing| s.attainment.filter(|_| s.active).map(attainment_percent);
    reps.sort_by(|a, b| {
        display(b)
            .cmp(&display(a))
            .then_with(|| fold_name(&a.name).cmp(&fold_name(&b.name)))
            .then_with(|| a.rep_key.cmp(&b.rep_key))
    });
    let ranked: Vec<usize> = (0..reps.len()).filter(|&i| display(&reps[i]).is_some()).collect();
    let values: Vec<_> = ranked.iter().map(|&i| display(&reps[i])).collect();
    for (&i, rank) in ranked.iter().zip(competition_ranks(&values)) {
        reps[i].company_rank = Some(rank);
    }
    let mut by_team: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for &i in &ranked {
        by_team.entry(reps[i].team.clone()).or_default().push(i);
    }
    let mut ranked_in_team = BTreeMap::new();
    for (team, idx) in by_team {
        let values: Vec<_> = idx.iter().map(|&i| display(&reps[i])).collect();
        for (&i, rank) in idx.iter().zip(competition_ranks(&values)) {
            reps[i].team_rank = Some(rank);
        }
        ranked_in_team.insert(team, idx.len() as u32);
    }
    let mut unmatched: Vec<String> = unmatched.into_iter().map(|(who, rev)| format!("{who} (revenue {rev})")).collect();
    unmatched.extend(unmatched_quotas);
    MonthStandings { period, as_of, reps, ranked: ranked.len() as u32, ranked_in_team, unmatched }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::RowOrigin;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn rep(id: &str, name: &str, team: &str, active: bool) -> RosterRep {
        RosterRep {
            id: Some(id.into()),
            name: name.into(),
            email: Some(format!("{}@x.com", id.to_lowercase())),
            team: Some(team.into()),
            manager: None,
            manager_email: None,
            hire_date: None,
            active,
            origin: RowOrigin::default(),
        }
    }

    fn deal(id: &str, rep_email: &str, class: StageClass, date: &str, amount: &str) -> DealRow {
        DealRow {
            deal_id: id.into(),
            stage: format!("{class:?}"),
            class,
            rep: RepRef { id: None, email: Some(rep_email.into()), name: None },
            team: None,
            close_date: Some(date.parse().unwrap()),
            amount: Some(dec(amount)),
            units: None,
            rating: None,
            paperwork_complete: None,
            paperwork_errors: None,
            origin: RowOrigin::default(),
        }
    }

    fn quota(email: &str, month: &str, revenue: &str) -> QuotaRow {
        QuotaRow {
            rep: RepRef { id: None, email: Some(email.into()), name: None },
            month: month.parse().unwrap(),
            revenue: dec(revenue),
            units: None,
            origin: RowOrigin::default(),
        }
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
    fn month_totals_ranks_and_ties_as_displayed() {
        let roster = vec![
            rep("A", "Zed Able", "North", true),
            rep("B", "Amy Baker", "North", true),
            rep("C", "Cy Cole", "South", true),
            rep("D", "Di Dunn", "South", false), // inactive: listed, not ranked
            rep("E", "Ed Eve", "South", true),   // no quota: listed, not ranked
        ];
        let deals = vec![
            deal("1", "a@x.com", StageClass::Won, "2026-03-01", "100000"),
            deal("2", "a@x.com", StageClass::Won, "2026-03-31", "50000"),
            deal("2", "a@x.com", StageClass::Cancelled, "2026-03-31", "-50000"), // sign as exported: subtracts
            deal("3", "b@x.com", StageClass::Won, "2026-03-15", "100040"),
            deal("4", "c@x.com", StageClass::Won, "2026-03-10", "200000"),
            deal("5", "c@x.com", StageClass::Won, "2026-04-01", "999999"), // April: not March
            deal("6", "d@x.com", StageClass::Won, "2026-03-10", "500000"),
            deal("7", "e@x.com", StageClass::Won, "2026-03-10", "10"),
            deal("8", "zz@x.com", StageClass::Won, "2026-03-10", "10"), // not on the roster
            deal("9", "c@x.com", StageClass::Ignored, "2026-03-10", "777"),
        ];
        let quotas = vec![
            quota("a@x.com", "2026-03", "100000"),
            quota("b@x.com", "2026-03", "100000"),
            quota("c@x.com", "2026-03", "400000"),
            quota("d@x.com", "2026-03", "100000"),
            quota("e@x.com", "2026-03", "0"),
        ];
        let m = month_standings("2026-03".parse().unwrap(), &roster, &deals, &quotas);
        let get = |id: &str| m.reps.iter().find(|s| s.rep_id.as_deref() == Some(id)).unwrap();
        assert_eq!(get("A").revenue, dec("100000"));
        assert_eq!(get("A").units, dec("1"));
        assert_eq!(get("A").cancellations, 1);
        // 100040/100000 = 100.04% displays as 100.0%, tying A's 100.0%: same rank,
        // alphabetical by name within the tie (Amy Baker before Zed Able).
        assert_eq!(get("B").attainment, Some(dec("1.0004")));
        assert_eq!((get("A").company_rank, get("B").company_rank), (Some(1), Some(1)));
        assert_eq!(m.reps[0].name, "Amy Baker");
        assert_eq!(get("C").company_rank, Some(3));
        assert_eq!(get("C").team_rank, Some(1));
        assert_eq!(get("C").revenue, dec("200000"));
        assert_eq!(get("D").company_rank, None);
        assert_eq!(get("E").attainment, None);
        assert_eq!(get("E").revenue_quota, None);
        assert_eq!(get("E").company_rank, None);
        assert_eq!(m.ranked, 3);
        assert_eq!(m.ranked_in_team["South"], 1);
        assert_eq!(m.as_of, Some("2026-03-31".parse().unwrap()));
        assert_eq!(m.unmatched, vec!["zz@x.com (revenue 10)".to_string()]);
    }

    #[test]
    fn ratings_and_paperwork() {
        let roster = vec![rep("A", "Ann", "N", true)];
        let mut d1 = deal("1", "a@x.com", StageClass::Won, "2026-03-01", "1");
        d1.rating = Some(dec("5"));
        d1.paperwork_complete = Some(true);
        d1.paperwork_errors = Some(0);
        let mut d2 = deal("2", "a@x.com", StageClass::Won, "2026-03-02", "1");
        d2.rating = Some(dec("4"));
        d2.paperwork_complete = Some(true);
        d2.paperwork_errors = Some(2);
        let mut d3 = deal("3", "a@x.com", StageClass::Won, "2026-03-03", "1");
        d3.paperwork_complete = Some(false);
        d3.units = Some(dec("3"));
        let m = month_standings("2026-03".parse().unwrap(), &roster, &[d1, d2, d3], &[]);
        let s = &m.reps[0];
        assert_eq!((s.rating, s.rating_count), (Some(dec("4.5")), 2));
        assert_eq!(s.clean_paperwork, Some(dec("1") / dec("3")));
        assert_eq!(s.units, dec("5"));
    }
}
