//! Metrics: pure functions from stored rows to the figures quotad shows.
//!
//! What each figure means, its config keys and defaults, and the function here that
//! computes it: `docs/definitions.md` in the repository, rendered below as
//! [`definitions`]. Change a definition here and there together.
//!
//! No I/O, no SQL, no templates, and no clock of its own: callers pass the roster
//! versions, deal events, quotas and export times in, plus `now`, and get plain view
//! data ([`crate::domain::MonthStandings`]) out. Imports `domain` only. Every figure a
//! memo, PDF or CLI table shows is computed here, once.

mod calendar;
mod to_date;

/// What quotad's figures mean: `docs/definitions.md`, included verbatim.
#[doc = include_str!("../../docs/definitions.md")]
pub mod definitions {}

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

pub use calendar::{OFF_PACE_AFTER, SellingCalendar, pacing};
pub use to_date::to_date;

use crate::domain::{
    Attention, BestKind, Board, BoardEntry, BoardKind, Celebrations, DealRow, Flags, IsoWeek, Judged, MonthStandings,
    NameOrder, PersonalBest, QuotaRow, RankedPeriod, RepMonthSums, RepRef, RosterRep, RosterVersion, StageClass,
    Standards, Standing, TeamStanding, fold_name, team_key,
};
use crate::domain::{Period, local_midnight_utc};

/// Thresholds and calendar (config `[metrics]` and `[calendar]`), with the defaults of docs/definitions.md.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Ratings are ranked only with at least this many in the month (default 3).
    pub min_ratings: u32,
    /// A personal best needs at least this many earlier qualifying months (default 3).
    pub min_history: u32,
    /// "Below target" under this attainment fraction (default 0.8).
    pub below_target: Decimal,
    /// "Off pace" under this pace fraction (default 0.8).
    pub off_pace: Decimal,
    /// Mean rating below this needs attention (default 4.0); `None` = no standard.
    pub rating_standard: Option<Decimal>,
    /// Clean paperwork rate below this fraction needs attention (default 0.9).
    pub paperwork_standard: Option<Decimal>,
    /// Selling days for pacing.
    pub calendar: SellingCalendar,
    /// The org's zone: months are calendar months in it.
    pub time_zone: Tz,
    /// How many months before a cancellation its sale may have been made (config
    /// `ingest.cancellation_lookback_months`, default 9: contract to close for a new home
    /// is commonly 3 to 9 months). A cancellation whose sale is not on record subtracts
    /// only while the history does not yet reach that far back; see [`cancellation_rule`].
    pub cancellation_lookback_months: u32,
    /// The order names are listed in within a tie and among the unranked: the collation
    /// of `org.locale` (CLDR; default the root order).
    pub names: NameOrder,
}

impl Settings {
    /// The standards figures are judged against, as [`MonthStandings`] carries them
    /// (and [`crate::domain::Standards::shown`] displays figures against them).
    pub fn standards(&self) -> Standards {
        Standards {
            rating: self.rating_standard,
            paperwork: self.paperwork_standard,
            min_ratings: self.min_ratings,
            below_target: self.below_target,
            off_pace: self.off_pace,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            min_ratings: 3,
            min_history: 3,
            below_target: Decimal::new(8, 1),
            off_pace: Decimal::new(8, 1),
            rating_standard: Some(Decimal::new(40, 1)),
            paperwork_standard: Some(Decimal::new(9, 1)),
            calendar: SellingCalendar::default(),
            time_zone: chrono_tz::UTC,
            cancellation_lookback_months: 9,
            names: NameOrder::default(),
        }
    }
}

/// Everything metrics reads, as stored.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// Every version of every rep (see [`roster_at`]).
    pub roster: &'a [RosterVersion],
    /// Deal events of every month up to the period wanted (earlier months feed personal
    /// bests and streaks).
    pub deals: &'a [DealRow],
    /// Quotas of those months.
    pub quotas: &'a [QuotaRow],
    /// Per month, the newest export time of the files that held its rows.
    pub exports: &'a [(Period, DateTime<Utc>)],
    /// `deals` already summed per month and rep ([`Rollup`]), covering every month up to
    /// the period wanted. With it, `deals` need only hold the rows of the months computed
    /// month to date (a `through` date) or listed row by row ([`rep_rows`]); the
    /// pipeline streams the history into it so 1M stored rows never sit in memory at
    /// once. `None`: summed from `deals` on each call.
    pub rollup: Option<&'a Rollup>,
    /// What the store holds that decides whether a cancellation counts (every month, not
    /// only those in `deals`). `None`: taken from `deals`, which must then hold the whole
    /// history.
    pub record: Option<&'a SaleRecord>,
}

impl<'a> Input<'a> {
    /// [`Input::record`], or the record `deals` make on their own, built into `own`
    /// (the caller's slot, so the borrow outlives this call).
    fn sale_record<'b>(&'b self, own: &'b mut Option<SaleRecord>) -> &'b SaleRecord {
        match self.record {
            Some(r) => r,
            None => own.insert(SaleRecord::of(self.deals)),
        }
    }
}

/// The facts about the stored history that decide whether a cancellation counts
/// (docs/definitions.md, cancellations: a cancellation subtracts the sale it cancels; one whose sale is
/// not on record counts only where the sale may predate the history). The store tells
/// them; [`cancellation_rule`] decides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SaleRecord {
    /// Deal IDs with a won row on record, in any export and any month (the store may
    /// leave out IDs that have no cancellation among the rows given with it: only those
    /// are looked up; the stored sums already hold the answer for the other months).
    pub won: HashSet<String>,
    /// The month of the earliest stored deal row, any stage: where the history starts.
    pub first_month: Option<Period>,
}

impl SaleRecord {
    /// The record `deals` make on their own (the whole history, e.g. in tests).
    pub fn of<'d>(deals: impl IntoIterator<Item = &'d DealRow>) -> SaleRecord {
        let mut r = SaleRecord::default();
        for d in deals {
            if d.class == StageClass::Won {
                r.won.insert(d.deal_id.clone());
            }
            if let Some(c) = d.close_date {
                let m = Period::of(c);
                r.first_month = Some(r.first_month.map_or(m, |f| f.min(m)));
            }
        }
        r
    }
}

/// Which rule a cancelled row falls under (issue 15.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancellationRule {
    /// Its Deal ID has a won row on record: it subtracts, in the month of its own date.
    SaleOnRecord,
    /// No sale on record, but the cancellation falls within
    /// `cancellation_lookback_months` of the history's first month (`first`): the sale
    /// may predate the history, so it subtracts as the export says, with a warning.
    MayPredateHistory {
        /// The first month of the stored history.
        first: Period,
    },
    /// No sale on record although the history (from `first`) reaches back the whole
    /// lookback before it: the sale was never counted, so neither is the cancellation.
    NotOnRecord {
        /// The first month of the stored history.
        first: Period,
    },
}

impl CancellationRule {
    /// Whether the cancellation subtracts from its rep's month.
    pub fn counts(self) -> bool {
        !matches!(self, CancellationRule::NotOnRecord { .. })
    }
}

/// The rule for a cancelled row `d` given what is on record; `None` for a won or
/// ignored row. A cancellation dated in month C whose sale is not on record subtracts
/// only when C minus `settings.cancellation_lookback_months` falls before the history's
/// first month (the sale may predate what was imported); otherwise it counts nowhere.
/// A cancellation without a date (never stored) is treated as in the first month.
pub fn cancellation_rule(d: &DealRow, record: &SaleRecord, settings: &Settings) -> Option<CancellationRule> {
    if d.class != StageClass::Cancelled {
        return None;
    }
    if record.won.contains(&d.deal_id) {
        return Some(CancellationRule::SaleOnRecord);
    }
    let Some(month) = d.close_date.map(Period::of) else {
        let first = record.first_month.or(Period::new(1900, 1)).expect("a valid month");
        return Some(CancellationRule::MayPredateHistory { first });
    };
    let first = record.first_month.map_or(month, |f| f.min(month));
    Some(if no_sale_counts(month, record, settings) {
        CancellationRule::MayPredateHistory { first }
    } else {
        CancellationRule::NotOnRecord { first }
    })
}

/// Whether a cancellation in `month` whose sale is not on record subtracts: when `month`
/// minus `settings.cancellation_lookback_months` falls before the history's first month
/// (`record.first_month`, or `month` itself when nothing is stored) — the same for every
/// such cancellation of the month ([`cancellation_rule`]).
pub fn no_sale_counts(month: Period, record: &SaleRecord, settings: &Settings) -> bool {
    let first = record.first_month.map_or(month, |f| f.min(month));
    let mut earliest_sale = month;
    for _ in 0..settings.cancellation_lookback_months {
        earliest_sale = earliest_sale.prev();
    }
    earliest_sale < first
}

/// Whether row `d` adds to (or subtracts from) its rep's figures: won and cancelled rows
/// do, except a cancellation whose sale is not on record ([`cancellation_rule`]).
pub fn counts(d: &DealRow, record: &SaleRecord, settings: &Settings) -> bool {
    d.class != StageClass::Ignored && cancellation_rule(d, record, settings).is_none_or(CancellationRule::counts)
}

/// Deal rows summed per month (by close date) and per rep *as the export named them*
/// (before roster matching, which depends on the month's roster): the history metrics
/// reads, in O(reps × months) memory instead of O(rows). Won and cancelled rows only
/// (a cancellation whose sale is not on record only where [`cancellation_rule`] says it
/// counts); ignored stages add nothing but still count for [`Rollup::first_month`].
#[derive(Debug, Default, Clone)]
pub struct Rollup {
    months: HashMap<Period, HashMap<RepRef, Tally>>,
    first: Option<Period>,
}

impl Rollup {
    /// Sums `deals` (in stored order), deciding each cancellation against `record`.
    pub fn of<'d>(deals: impl IntoIterator<Item = &'d DealRow>, record: &SaleRecord, settings: &Settings) -> Rollup {
        let mut r = Rollup::default();
        for d in deals {
            r.add(d, record, settings);
        }
        r
    }

    /// Adds one deal row, in any order: a rep's team as exported is the one on their
    /// last row in stored order (close date, deal id, event), whatever order rows come in.
    /// A cancellation adds only when [`counts`] says so, given `record`.
    pub fn add(&mut self, d: &DealRow, record: &SaleRecord, settings: &Settings) {
        let Some(date) = d.close_date else { return };
        let m = Period::of(date);
        self.first = Some(self.first.map_or(m, |f| f.min(m)));
        if !counts(d, record, settings) {
            return;
        }
        let month = self.months.entry(m).or_default();
        match month.get_mut(&d.rep) {
            Some(t) => t.add_row(d),
            None => month.entry(d.rep.clone()).or_default().add_row(d),
        }
    }

    /// The rollup made from stored sums (the store's `rep_month_sums`, issue 19) instead
    /// of rows: each entry is (month, rep as exported, whether its rows are won rows and
    /// cancellations whose sale is on record, their sums). An entry of cancellations
    /// whose sale is not on record is added only where [`no_sale_counts`] says such a
    /// cancellation counts in its month. `first` is the month of the earliest stored row
    /// with a close date, any stage ([`Rollup::first_month`]); `record` gives where the
    /// history starts. Equal to [`Rollup::of`] over the rows the sums were made of.
    pub fn from_sums(
        sums: impl IntoIterator<Item = (Period, RepRef, bool, RepMonthSums)>,
        first: Option<Period>,
        record: &SaleRecord,
        settings: &Settings,
    ) -> Rollup {
        let mut r = Rollup { months: HashMap::new(), first };
        for (m, rep, on_record, s) in sums {
            if !on_record && !no_sale_counts(m, record, settings) {
                continue;
            }
            r.months.entry(m).or_default().entry(rep).or_default().merge(&s);
        }
        r
    }

    /// Adds `other`'s months (made from rows of months this rollup does not hold, e.g.
    /// months whose stored sums are not built yet) and its first month.
    pub fn absorb(&mut self, other: Rollup) {
        for (m, reps) in other.months {
            let month = self.months.entry(m).or_default();
            for (rep, t) in reps {
                month.entry(rep).or_default().merge(&t);
            }
        }
        self.first = match (self.first, other.first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    /// The month of the earliest row with a close date, any stage.
    pub fn first_month(&self) -> Option<Period> {
        self.first
    }

    fn month(&self, m: Period) -> impl Iterator<Item = (&RepRef, &Tally)> {
        self.months.get(&m).into_iter().flatten()
    }
}

/// The roster as it stood at `instant`: for each rep, the newest version in effect by
/// then, or (for a rep whose first version came later) that first version. So a closed
/// month keeps the name and team a rep had then, whatever a later roster says, and data
/// older than the first roster still has one (docs/definitions.md: history is never
/// rewritten). Ordered by rep key.
pub fn roster_at(versions: &[RosterVersion], instant: DateTime<Utc>) -> Vec<RosterRep> {
    versions_at(versions, instant).into_iter().map(|v| v.rep.clone()).collect()
}

/// The roster of `period` (docs/definitions.md, "The roster of a month"): each rep's
/// version in effect on the month's last day (at its last instant in `tz`, so a change
/// effective on the 1st of the next month is not yet in it, and one effective on the
/// 15th is: the rep is in the new team for the whole month), with `active` true only for
/// a rep active in the month ([`RosterRep::active_in`]: a leave date before the
/// month's first day makes the rep inactive). With the version itself, so `explain` can
/// name the roster row. Ordered by rep key.
pub fn month_roster(versions: &[RosterVersion], period: Period, tz: Tz) -> Vec<RosterVersion> {
    let last_instant = period.next().start_utc(tz) - chrono::Duration::nanoseconds(1);
    versions_at(versions, last_instant)
        .into_iter()
        .map(|v| {
            let mut v = v.clone();
            v.rep.active = v.rep.active_in(period);
            v
        })
        .collect()
}

/// [`month_roster`]'s reps alone.
fn month_reps(versions: &[RosterVersion], period: Period, tz: Tz) -> Vec<RosterRep> {
    month_roster(versions, period, tz).into_iter().map(|v| v.rep).collect()
}

fn versions_at(versions: &[RosterVersion], instant: DateTime<Utc>) -> Vec<&RosterVersion> {
    let mut by_key: BTreeMap<String, &RosterVersion> = BTreeMap::new();
    for v in versions {
        let key = v.rep.key();
        match by_key.get(&key) {
            None => {
                by_key.insert(key, v);
            }
            Some(cur) => {
                let better = match (v.effective <= instant, cur.effective <= instant) {
                    (true, true) => v.effective >= cur.effective, // the newer version in effect
                    (true, false) => true,                        // in effect beats not yet
                    (false, true) => false,
                    (false, false) => v.effective < cur.effective, // neither yet: the first
                };
                if better {
                    by_key.insert(key, v);
                }
            }
        }
    }
    by_key.into_values().collect()
}

/// Matches the rep named in a row to a roster rep: by rep id, else e-mail, else folded
/// name (only when exactly one roster rep has that name). docs/definitions.md: a rep
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

/// Running totals for one rep and month ([`RepMonthSums`]).
type Tally = RepMonthSums;

/// What one deal row adds to its rep's revenue and units: [`crate::domain::credit`]
/// (docs/definitions.md: Revenue).
pub fn credit(d: &DealRow) -> Option<(Decimal, Decimal)> {
    crate::domain::credit(d)
}

/// The won and cancelled rows of `period` credited to the rep with identity `rep_key`,
/// resolved exactly as [`month_standings`] resolves them (roster as at the period's end).
/// A cancellation whose sale is not on record is listed too: [`cancellation_rule`] says
/// whether it counts.
pub fn rep_rows<'a>(period: Period, rep_key: &str, input: &Input<'a>, settings: &Settings) -> Vec<&'a DealRow> {
    rows_by_rep(period, input, settings).remove(rep_key).unwrap_or_default()
}

/// The deal rows of `period` per rep key, resolved as [`month_standings`] resolves them
/// (roster as at the period's end), in one pass (for documents that list every rep's
/// rows). Rows of no roster rep are left out.
pub fn rows_by_rep<'a>(period: Period, input: &Input<'a>, settings: &Settings) -> HashMap<String, Vec<&'a DealRow>> {
    let roster = month_reps(input.roster, period, settings.time_zone);
    let resolver = Resolver::new(&roster);
    let mut out: HashMap<String, Vec<&'a DealRow>> = HashMap::new();
    for d in input.deals {
        if d.close_date.is_some_and(|c| period.contains(c))
            && d.class != StageClass::Ignored
            && let Some(r) = resolver.resolve(&d.rep)
        {
            out.entry(r.key()).or_default().push(d);
        }
    }
    out
}

/// The quota row of `period` that [`month_standings`] uses for the rep `rep_key`.
pub fn rep_quota<'a>(period: Period, rep_key: &str, input: &Input<'a>, settings: &Settings) -> Option<&'a QuotaRow> {
    let roster = month_reps(input.roster, period, settings.time_zone);
    let resolver = Resolver::new(&roster);
    input.quotas.iter().rfind(|q| q.month == period && resolver.resolve(&q.rep).is_some_and(|r| r.key() == rep_key))
}

/// Attainment = actual / quota as an exact, uncapped fraction; `None` ("no quota") when
/// the quota is missing, zero or negative. docs/definitions.md: Attainment.
pub fn attainment(actual: Decimal, quota: Option<Decimal>) -> Option<Decimal> {
    let q = quota.filter(|q| *q > Decimal::ZERO)?;
    actual.checked_div(q)
}

/// Attainment (or a rate) as displayed and ranked; see [`crate::domain::percent_1dp`].
pub fn attainment_percent(fraction: Decimal) -> Decimal {
    crate::domain::percent_1dp(fraction)
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

/// Ranks `items` (rep key, name, value as displayed) best first: standard competition
/// ranking on the value, alphabetical by folded name within a tie, then by key, so the
/// result does not depend on input order.
pub fn rank(mut items: Vec<(String, String, Decimal)>, names: &NameOrder) -> Vec<(String, String, Decimal, u32)> {
    items.sort_by_cached_key(|(key, name, value)| (std::cmp::Reverse(*value), names.key(name), key.clone()));
    let values: Vec<Decimal> = items.iter().map(|i| i.2).collect();
    items.into_iter().zip(competition_ranks(&values)).map(|((k, n, v), r)| (k, n, v, r)).collect()
}

/// The value a board ranks for a standing, exactly as displayed
/// ([`crate::domain::shown`]: revenue in whole units; attainment and clean paperwork as
/// percents to one decimal, a rating to one decimal, never shown at or above a
/// threshold they are judged against and did not reach); `None` = not on that board.
/// Inactive reps and a new hire's partial first month are on no board
/// (docs/definitions.md: a new hire's partial first month counts for neither PB nor
/// ranking).
pub fn board_value(kind: BoardKind, s: &Standing, standards: &Standards) -> Option<Decimal> {
    if !s.active || s.partial_month {
        return None;
    }
    match kind {
        BoardKind::Results => Some(crate::domain::shown(s.revenue, 0, &[])),
        BoardKind::Attainment => s.attainment.map(|a| standards.shown(Judged::Attainment, a)),
        BoardKind::Ratings => {
            s.rating.filter(|_| s.rating_count >= standards.min_ratings).map(|r| standards.shown(Judged::Rating, r))
        }
        BoardKind::Paperwork => s.clean_paperwork.map(|c| standards.shown(Judged::CleanPaperwork, c)),
    }
}

/// Whether a standing has a result this period: a won or cancelled deal, or non-zero
/// revenue or units (docs/definitions.md: a period without results yet says so).
pub fn has_result(s: &Standing) -> bool {
    s.won_deals > 0 || s.cancellations > 0 || !s.revenue.is_zero() || !s.units.is_zero()
}

/// Whether a month is final at `now`: closed in the org's zone, and an export made after
/// its close is loaded (docs/definitions.md: preliminary).
pub fn is_final(period: Period, exports: &[(Period, DateTime<Utc>)], now: DateTime<Utc>, tz: Tz) -> bool {
    let close = period.next().start_utc(tz);
    now >= close && exports.iter().any(|(p, at)| *p == period && *at >= close)
}

/// One month's basic figures, before ranks and history.
struct Basics {
    reps: Vec<Standing>,
    unmatched: Vec<String>,
    data_through: Option<NaiveDate>,
    /// No row summed is a summary export's monthly total.
    dated_by_day: bool,
}

/// `sums`: the month's deal rows summed per rep as exported ([`Rollup`]).
fn basics<'t>(
    period: Period,
    sums: impl IntoIterator<Item = (&'t RepRef, &'t Tally)>,
    input: &Input,
    settings: &Settings,
) -> Basics {
    let roster: Vec<RosterRep> = month_reps(input.roster, period, settings.time_zone)
        .into_iter()
        .filter(|r| r.hire_date.is_none_or(|h| h <= period.last_day()))
        .collect();
    let resolver = Resolver::new(&roster);
    let team_names = team_spellings(input.roster);
    let mut tallies: HashMap<String, Tally> = HashMap::new();
    let mut unmatched: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut data_through = None;
    let mut dated_by_day = true;
    for (rep, t) in sums {
        data_through = data_through.max(t.through);
        dated_by_day &= t.month_totals == 0;
        match resolver.resolve(rep) {
            Some(r) => tallies.entry(r.key()).or_default().merge(t),
            None => *unmatched.entry(rep.describe()).or_default() += t.revenue,
        }
    }
    let mut quota_of: HashMap<String, &QuotaRow> = HashMap::new();
    let mut unmatched_quotas = Vec::new();
    for q in input.quotas.iter().filter(|q| q.month == period) {
        match resolver.resolve(&q.rep) {
            Some(rep) => {
                quota_of.insert(rep.key(), q);
            }
            None => unmatched_quotas.push(format!("{} (quota only)", q.rep.describe())),
        }
    }
    let reps = roster
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
                team: display_team(&team_names, r.team.as_deref().or(t.export_team.as_deref())),
                manager: r.manager.clone(),
                manager_email: r.manager_email.clone(),
                hire_date: r.hire_date,
                leave_date: r.leave_date,
                active: r.active,
                partial_month: r.hire_date.is_some_and(|h| h > period.first_day()),
                revenue: t.revenue,
                units: t.units,
                won_deals: t.won,
                cancellations: t.cancelled,
                rating: (t.rating_n > 0).then(|| t.rating_sum / Decimal::from(t.rating_n)),
                rating_count: t.rating_n,
                clean_paperwork: (t.paperwork_n > 0).then(|| Decimal::from(t.clean_n) / Decimal::from(t.paperwork_n)),
                paperwork_errors: t.errors,
                errors_per_deal: (t.paperwork_n > 0).then(|| Decimal::from(t.errors) / Decimal::from(t.paperwork_n)),
                attainment: attainment(t.revenue, revenue_quota),
                revenue_quota,
                units_quota: q.and_then(|q| q.units).filter(|u| *u > Decimal::ZERO),
                quota_per_week: revenue_quota.and_then(|q| {
                    let month = settings.calendar.selling_days(period);
                    let week = settings.calendar.days.iter().filter(|d| **d).count() as u32;
                    (month > 0).then(|| q * Decimal::from(week) / Decimal::from(month))
                }),
                company_rank: None,
                team_rank: None,
                results_rank: None,
                results_team_rank: None,
                rating_rank: None,
                paperwork_rank: None,
                pacing: None,
                personal_bests: Vec::new(),
                quota_streak: 0,
                first_at_quota: false,
                clean_streak: 0,
                improvement: None,
                flags: Flags::default(),
                rep_key: key,
            }
        })
        .collect();
    let mut unmatched: Vec<String> = unmatched.into_iter().map(|(who, rev)| format!("{who} (revenue {rev})")).collect();
    unmatched.extend(unmatched_quotas);
    Basics { reps, unmatched, data_through, dated_by_day }
}

/// Builds the boards (each kind company-wide, then per team) and writes each rep's ranks.
/// Nobody is ranked in a period without results (never "everyone 1st at 0.0%"): the
/// company boards are then empty and there are no team boards.
fn boards(reps: &mut [Standing], settings: &Settings) -> Vec<Board> {
    let mut out = Vec::new();
    let standards = settings.standards();
    let any_result = reps.iter().any(|s| s.active && has_result(s));
    let teams: std::collections::BTreeSet<String> = reps.iter().filter(|s| s.active).map(|s| s.team.clone()).collect();
    let at: HashMap<String, usize> = reps.iter().enumerate().map(|(i, s)| (s.rep_key.clone(), i)).collect();
    let mut of_team: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, s) in reps.iter().enumerate() {
        of_team.entry(s.team.as_str()).or_default().push(i);
    }
    let of_team: BTreeMap<String, Vec<usize>> = of_team.into_iter().map(|(t, v)| (t.to_string(), v)).collect();
    let everyone: Vec<usize> = (0..reps.len()).collect();
    let nobody: Vec<usize> = Vec::new();
    for kind in BoardKind::ALL {
        for team in std::iter::once(None).chain(teams.iter().map(Some)) {
            let members = match team {
                _ if !any_result => &nobody,
                None => &everyone,
                Some(t) => &of_team[t],
            };
            let items = members
                .iter()
                .map(|&i| &reps[i])
                .filter_map(|s| board_value(kind, s, &standards).map(|v| (s.rep_key.clone(), s.name.clone(), v)))
                .collect();
            let entries: Vec<BoardEntry> = rank(items, &settings.names)
                .into_iter()
                .map(|(rep_key, name, value, rank)| {
                    let team = at.get(&rep_key).map(|&i| reps[i].team.clone()).unwrap_or_default();
                    BoardEntry { rep_key, name, team, rank, value, movement: None }
                })
                .collect();
            for e in &entries {
                if let Some(s) = at.get(&e.rep_key).map(|&i| &mut reps[i]) {
                    let slot = match (kind, team.is_some()) {
                        (BoardKind::Attainment, false) => &mut s.company_rank,
                        (BoardKind::Attainment, true) => &mut s.team_rank,
                        (BoardKind::Results, false) => &mut s.results_rank,
                        (BoardKind::Results, true) => &mut s.results_team_rank,
                        (BoardKind::Ratings, false) => &mut s.rating_rank,
                        (BoardKind::Paperwork, false) => &mut s.paperwork_rank,
                        _ => continue,
                    };
                    *slot = Some(e.rank);
                }
            }
            if team.is_none() || !entries.is_empty() {
                out.push(Board { kind, team: team.cloned(), entries });
            }
        }
    }
    out
}

/// A rep's month in their own history: the standing, and whether it qualifies (final,
/// active, a full month of employment).
struct HistMonth {
    period: Period,
    standing: Standing,
    qualifies: bool,
}

/// Every roster rep's standing for `period` as at `now`: revenue and units (won minus
/// cancelled by close date in the org's zone, credited by split share), rating with its
/// count, clean paperwork rate and errors per deal, attainment against the month's
/// quota, the four boards company-wide and per team, pacing for a month in progress,
/// personal bests, streaks, most improved, sub-par flags and celebrations — every
/// definition under docs/definitions.md.
///
/// `input.deals` should hold every month from the first with data up to `period`
/// (history feeds personal bests and streaks); later months are ignored.
pub fn month_standings(period: Period, input: &Input, settings: &Settings, now: DateTime<Utc>) -> MonthStandings {
    standings_through(period, None, input, settings, now)
}

/// Month to date: [`month_standings`] counting only deals closed on or before `through`
/// (org-local), with pacing through that date. The weekly ranking uses it.
pub fn month_to_date(through: NaiveDate, input: &Input, settings: &Settings, now: DateTime<Utc>) -> MonthStandings {
    standings_through(Period::of(through), Some(through), input, settings, now)
}

/// The days a week's ranking covers (docs/definitions.md, the weekly ranking's week rule): the month
/// to date of the month its Monday falls in, through its Sunday or that month's last
/// day, whichever is first. So every day of every month is in some weekly ranking, and
/// the first ranking after a month closes (the week holding its last day) shows that
/// month in full: 2026-W44 (26 Oct – 1 Nov) ranks 1–31 October, 2026-W45 ranks 1–8
/// November.
pub fn ranked_period(week: IsoWeek) -> RankedPeriod {
    let month = Period::of(week.monday());
    RankedPeriod { month, through: week.sunday().min(month.last_day()) }
}

/// The week's standings: the month to date of its [`ranked_period`], with each board's
/// rank movement against last week's ranking (the same rule, a week earlier) when that
/// ranked the same month; the first ranking of a month has no movement.
///
/// `input.deals` must hold the rows of the ranked month (the pipeline loads
/// `ranked_period(week).month`).
pub fn week_standings(week: IsoWeek, input: &Input, settings: &Settings, now: DateTime<Utc>) -> MonthStandings {
    let span = ranked_period(week);
    let mut cur = month_to_date(span.through, input, settings, now);
    let prev = ranked_period(week.prev());
    if prev.month == span.month {
        // Movement needs last week's ranks only: its boards, not its full standings
        // (history, personal bests, flags), which cost as much again (issue 19).
        apply_movement_from(&mut cur, &boards_to_date(prev.through, input, settings));
    }
    cur
}

/// The boards of the month to date through `through` (org-local), exactly as
/// [`month_to_date`] ranks them, without the rest of the standings: each board's
/// entries by rank. What [`week_standings`] compares this week's ranks with.
pub fn boards_to_date(through: NaiveDate, input: &Input, settings: &Settings) -> Vec<Board> {
    let period = Period::of(through);
    let mut own_record = None;
    let record = input.sale_record(&mut own_record);
    let mtd = month_to_date_rollup(period, through, input, record, settings);
    let mut reps = basics(period, mtd.month(period), input, settings).reps;
    boards(&mut reps, settings)
}

/// The month's rows closed on or before `through`, summed per rep.
fn month_to_date_rollup(
    period: Period,
    through: NaiveDate,
    input: &Input,
    record: &SaleRecord,
    settings: &Settings,
) -> Rollup {
    Rollup::of(
        input.deals.iter().filter(|d| d.close_date.is_some_and(|c| c <= through && Period::of(c) == period)),
        record,
        settings,
    )
}

/// Sets each board entry's movement: its rank on the same board in `previous` minus its
/// rank now (positive = moved up); `None` for reps not on that board before.
pub fn apply_movement(current: &mut MonthStandings, previous: &MonthStandings) {
    apply_movement_from(current, &previous.boards);
}

/// [`apply_movement`] against the boards `previous` ([`boards_to_date`]).
pub fn apply_movement_from(current: &mut MonthStandings, previous: &[Board]) {
    for b in &mut current.boards {
        let Some(pb) = previous.iter().find(|p| p.kind == b.kind && p.team == b.team) else { continue };
        let before: HashMap<&str, u32> = pb.entries.iter().map(|p| (p.rep_key.as_str(), p.rank)).collect();
        for e in &mut b.entries {
            e.movement = before.get(e.rep_key.as_str()).map(|&r| r as i32 - e.rank as i32);
        }
    }
}

fn first_month(rollup: &Rollup, input: &Input) -> Option<Period> {
    let d = rollup.first_month();
    let q = input.quotas.iter().map(|q| q.month).min();
    match (d, q) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn standings_through(
    period: Period,
    through: Option<NaiveDate>,
    input: &Input,
    settings: &Settings,
    now: DateTime<Utc>,
) -> MonthStandings {
    let tz = settings.time_zone;
    let final_ = through.is_none_or(|t| t >= period.last_day()) && is_final(period, input.exports, now, tz);
    let newest_export = input.exports.iter().filter(|(p, _)| *p == period).map(|(_, at)| *at).max();
    let as_of = newest_export.map(|at| at.with_timezone(&tz).date_naive());

    // What is on record, and the history summed per month and rep: given, or made here
    // in one pass each.
    let mut own_record = None;
    let record = input.sale_record(&mut own_record);
    let own;
    let rollup = match input.rollup {
        Some(r) => r,
        None => {
            own = Rollup::of(input.deals, record, settings);
            &own
        }
    };

    // History: every earlier month's basics, by rep.
    let first = first_month(rollup, input);
    let mut history: HashMap<String, Vec<HistMonth>> = HashMap::new();
    if let Some(mut m) = first {
        while m < period {
            let fin = is_final(m, input.exports, now, tz);
            for s in basics(m, rollup.month(m), input, settings).reps {
                let qualifies = fin && s.active && !s.partial_month;
                history.entry(s.rep_key.clone()).or_default().push(HistMonth { period: m, standing: s, qualifies });
            }
            m = m.next();
        }
    }

    let Basics { mut reps, unmatched, data_through, dated_by_day } = match through {
        // Month to date: this month's rows up to `through`, summed afresh.
        Some(t) => {
            let mtd = month_to_date_rollup(period, t, input, record, settings);
            basics(period, mtd.month(period), input, settings)
        }
        None => basics(period, rollup.month(period), input, settings),
    };
    let mut boards = boards(&mut reps, settings);
    boards.sort_by(|a, b| (a.kind, a.team.is_some(), &a.team).cmp(&(b.kind, b.team.is_some(), &b.team)));

    // Pacing for a month in progress whose deals are dated by day (a summary export's
    // monthly total says nothing of the days): through `through` or the data's as-of
    // date, whichever is first, never past today.
    let today = now.with_timezone(&tz).date_naive();
    let pace_through = match (through, as_of) {
        _ if final_ || !dated_by_day => None,
        (Some(t), Some(a)) => Some(t.min(a)),
        (t, a) => t.or(a),
    }
    .map(|d| d.min(today));
    for s in &mut reps {
        if let Some(t) = pace_through {
            s.pacing = pacing(&settings.calendar, period, t, s.revenue, s.revenue_quota);
        }
        let empty = Vec::new();
        let hist = history.get(&s.rep_key).unwrap_or(&empty);
        history_figures(s, hist, period, final_, first, settings);
        s.flags = flags(s, hist, period, final_, settings);
    }

    // Reps: attainment rank first, then unranked by name.
    reps.sort_by(|a, b| {
        a.company_rank
            .unwrap_or(u32::MAX)
            .cmp(&b.company_rank.unwrap_or(u32::MAX))
            .then_with(|| settings.names.cmp(&a.name, &b.name))
            .then_with(|| a.rep_key.cmp(&b.rep_key))
    });
    let ranked = reps.iter().filter(|s| s.company_rank.is_some()).count() as u32;
    let mut ranked_in_team = BTreeMap::new();
    for s in reps.iter().filter(|s| s.team_rank.is_some()) {
        *ranked_in_team.entry(s.team.clone()).or_insert(0) += 1;
    }
    let has_results = reps.iter().any(|s| s.active && has_result(s));
    let celebrations = celebrations(&reps, &boards, &settings.names);
    let teams = team_standings(&reps, has_results, &settings.names);
    MonthStandings {
        teams,
        has_results,
        selling_days: settings.calendar.selling_days(period),
        standards: settings.standards(),
        period,
        through,
        dated_by_day,
        as_of,
        data_through,
        preliminary: !final_,
        reps,
        ranked,
        ranked_in_team,
        boards,
        celebrations,
        unmatched,
        rep_index: Default::default(),
    }
}

/// Teams summed over their active reps and ranked on team attainment as displayed
/// ([`crate::domain::percent_1dp`]). Team attainment = revenue of the reps with a quota
/// ÷ the sum of their quotas; reps without a quota are listed apart; a team without any
/// quota has no attainment and is listed, not ranked; without results nobody is ranked.
fn team_standings(reps: &[Standing], has_results: bool, names: &NameOrder) -> Vec<TeamStanding> {
    let mut by_team: BTreeMap<&str, TeamStanding> = BTreeMap::new();
    for s in reps.iter().filter(|s| s.active) {
        let t = by_team.entry(&s.team).or_insert_with(|| TeamStanding {
            team: s.team.clone(),
            revenue: Decimal::ZERO,
            quota_revenue: Decimal::ZERO,
            revenue_quota: None,
            units_quota: None,
            attainment: None,
            rank: None,
            reps: 0,
            without_quota: Vec::new(),
        });
        t.revenue += s.revenue;
        t.reps += 1;
        match s.revenue_quota {
            Some(q) => {
                t.quota_revenue += s.revenue;
                t.revenue_quota = Some(t.revenue_quota.unwrap_or_default() + q);
                if let Some(u) = s.units_quota {
                    t.units_quota = Some(t.units_quota.unwrap_or_default() + u);
                }
            }
            None => t.without_quota.push((s.name.clone(), s.revenue)),
        }
    }
    let mut teams: Vec<TeamStanding> = by_team.into_values().collect();
    for t in &mut teams {
        t.attainment = attainment(t.quota_revenue, t.revenue_quota);
        t.without_quota.sort_by_cached_key(|(n, _)| names.key(n));
    }
    let ranked = if has_results {
        rank(
            teams
                .iter()
                .filter_map(|t| t.attainment.map(|a| (t.team.clone(), t.team.clone(), attainment_percent(a))))
                .collect(),
            names,
        )
    } else {
        Vec::new()
    };
    for (team, _, _, r) in ranked {
        if let Some(t) = teams.iter_mut().find(|t| t.team == team) {
            t.rank = Some(r);
        }
    }
    teams.sort_by_key(|t| (t.rank.unwrap_or(u32::MAX), t.team.clone()));
    teams
}

/// Each team's display spelling, by [`team_key`]: the spelling (trimmed, spaces
/// collapsed) on the newest roster version that names the team; within one roster, its
/// most common spelling, then the first row's (docs/definitions.md: teams are matched
/// like names).
fn team_spellings(roster: &[RosterVersion]) -> HashMap<String, String> {
    /// (roster effective, spelling) -> (rows, first row).
    type Spellings = BTreeMap<(DateTime<Utc>, String), (usize, u32)>;
    let mut seen: HashMap<String, Spellings> = HashMap::new();
    for v in roster {
        let Some(team) = v.rep.team.as_deref() else { continue };
        let spelled = team.split_whitespace().collect::<Vec<_>>().join(" ");
        if spelled.is_empty() {
            continue;
        }
        let e = seen.entry(team_key(team)).or_default().entry((v.effective, spelled)).or_insert((0, u32::MAX));
        e.0 += 1;
        e.1 = e.1.min(v.rep.origin.row);
    }
    seen.into_iter()
        .filter_map(|(key, spellings)| {
            let newest = spellings.keys().map(|(at, _)| *at).max()?;
            let best = spellings
                .into_iter()
                .filter(|((at, _), _)| *at == newest)
                .max_by(|((_, a), (na, ra)), ((_, b), (nb, rb))| na.cmp(nb).then(rb.cmp(ra)).then(b.cmp(a)))?;
            Some((key, best.0.1))
        })
        .collect()
}

/// The display name of a rep's team (the roster's, else the export's), as
/// [`team_spellings`] spells it; "(no team)" without one.
fn display_team(spellings: &HashMap<String, String>, team: Option<&str>) -> String {
    let Some(team) = team.filter(|t| !t.trim().is_empty()) else { return "(no team)".into() };
    match spellings.get(&team_key(team)) {
        Some(s) => s.clone(),
        None => team.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// The team spellings one roster file merges, one note each for the import report:
/// "team 'North Division' is also written 'north division ', 'NORTH DIVISION': counted
/// as one team". Teams are matched like names ([`team_key`]); each is named by its most
/// common spelling in `rows` (ties: the first row's), the others are quoted as typed.
/// Teams spelled one way give no note. Ordered by team key.
pub fn team_variants(rows: &[RosterRep]) -> Vec<String> {
    // Per key: spelling as typed -> (rows, first row).
    let mut by_key: BTreeMap<String, Vec<(String, usize, u32)>> = BTreeMap::new();
    for r in rows {
        let Some(team) = r.team.as_deref().filter(|t| !t.trim().is_empty()) else { continue };
        let list = by_key.entry(team_key(team)).or_default();
        match list.iter_mut().find(|(t, _, _)| t == team) {
            Some(e) => {
                e.1 += 1;
                e.2 = e.2.min(r.origin.row);
            }
            None => list.push((team.to_string(), 1, r.origin.row)),
        }
    }
    by_key
        .into_values()
        .filter(|list| list.len() > 1)
        .map(|mut list| {
            list.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)).then(a.0.cmp(&b.0)));
            let others: Vec<String> = list[1..].iter().map(|(t, _, _)| format!("'{t}'")).collect();
            format!("team '{}' is also written {}: counted as one team", list[0].0, others.join(", "))
        })
        .collect()
}

/// Reads one personal-best metric from a standing (given `min_ratings`); `None` = the
/// month does not qualify for that metric.
type BestValue = fn(&Standing, u32) -> Option<Decimal>;

/// Personal bests, streaks, first month at quota and improvement for one rep.
fn history_figures(
    s: &mut Standing,
    hist: &[HistMonth],
    period: Period,
    final_: bool,
    first_month: Option<Period>,
    settings: &Settings,
) {
    let qualifies = final_ && s.active && !s.partial_month;
    if !qualifies {
        return;
    }
    let earlier: Vec<&Standing> = hist.iter().filter(|h| h.qualifies).map(|h| &h.standing).collect();
    let min = settings.min_history as usize;
    let mut bests = Vec::new();
    let metrics: [(&'static str, BestValue); 4] = [
        ("revenue", |s, _| Some(s.revenue)),
        ("units", |s, _| Some(s.units)),
        ("attainment", |s, _| s.attainment),
        ("rating", |s, min_ratings| s.rating.filter(|_| s.rating_count >= min_ratings)),
    ];
    for (name, value) in metrics {
        // Nobody is celebrated for nothing: a best must be a positive value.
        let Some(cur) = value(s, settings.min_ratings).filter(|v| *v > Decimal::ZERO) else { continue };
        let prior: Vec<Decimal> = earlier.iter().filter_map(|e| value(e, settings.min_ratings)).collect();
        if prior.len() < min {
            continue;
        }
        let best = prior.iter().copied().max().unwrap_or_default();
        let kind = if cur > best {
            BestKind::New
        } else if cur == best {
            BestKind::Matched
        } else {
            continue;
        };
        bests.push(PersonalBest { metric: name, value: cur, previous_best: best, kind });
    }
    s.personal_bests = bests;

    // Streaks walk back over consecutive calendar months.
    let by_period: HashMap<Period, &HistMonth> = hist.iter().map(|h| (h.period, h)).collect();
    let at_quota = |x: &Standing| x.attainment.is_some_and(|a| a >= Decimal::ONE);
    if at_quota(s) {
        let mut n = 1;
        let mut m = period.prev();
        while let Some(h) = by_period.get(&m).filter(|h| h.qualifies && at_quota(&h.standing)) {
            let _ = h;
            n += 1;
            m = m.prev();
        }
        s.quota_streak = n;
        // "First month at quota" only when the data covers the rep's whole tenure.
        let first_full = s.hire_date.map(|h| if h.day() == 1 { Period::of(h) } else { Period::of(h).next() });
        let covered = match (first_full, first_month) {
            (Some(f), Some(first)) => f >= first,
            _ => false,
        };
        s.first_at_quota = covered && !earlier.iter().any(|e| at_quota(e));
    }
    let clean = |x: &Standing| x.clean_paperwork.map(|c| c == Decimal::ONE);
    if clean(s) == Some(true) {
        let mut n = 1;
        let mut m = period.prev();
        while let Some(h) = by_period.get(&m).filter(|h| h.qualifies) {
            match clean(&h.standing) {
                Some(true) => n += 1,
                Some(false) => break,
                None => {}
            }
            m = m.prev();
        }
        s.clean_streak = n;
    }
    if let Some(cur) = s.attainment.filter(|a| *a > Decimal::ZERO) {
        let last3: Vec<Decimal> = earlier.iter().rev().filter_map(|e| e.attainment).take(3).collect();
        if last3.len() == 3 {
            s.improvement = Some(cur - last3.iter().sum::<Decimal>() / Decimal::from(3));
        }
    }
}

/// Sub-par flags (docs/definitions.md: Sub-par).
fn flags(s: &Standing, hist: &[HistMonth], period: Period, final_: bool, settings: &Settings) -> Flags {
    let mut f = Flags::default();
    if !s.active {
        return f;
    }
    if final_ && let Some(a) = s.attainment {
        f.missed = a < Decimal::ONE;
        f.below_target = a < settings.below_target;
        let last = hist.iter().find(|h| h.period == period.prev() && h.qualifies).and_then(|h| h.standing.attainment);
        if let Some(prev) = last.filter(|p| f.missed && *p < Decimal::ONE) {
            f.needs_attention.push(Attention::MissedTwice { previous: prev, current: a });
        }
    }
    if let (Some(r), Some(std)) = (s.rating, settings.rating_standard)
        && s.rating_count >= settings.min_ratings
        && r < std
    {
        f.needs_attention.push(Attention::RatingBelowStandard { rating: r, count: s.rating_count, standard: std });
    }
    if let (Some(rate), Some(std)) = (s.clean_paperwork, settings.paperwork_standard)
        && rate < std
    {
        f.needs_attention.push(Attention::PaperworkBelowStandard { rate, standard: std });
    }
    if !final_
        && let Some(p) = &s.pacing
        && p.can_flag
    {
        f.off_pace = p.pace.is_some_and(|pace| pace < settings.off_pace);
    }
    f
}

/// One team's celebrations, for its edition of the weekly ranking (issue 18.4): the
/// same rules as the company's ([`MonthStandings::celebrations`]) over the team's
/// active reps only, with the tops of the team's own boards (ranks within the team)
/// and the team's most improved.
pub fn team_celebrations(m: &MonthStandings, team: &str, names: &NameOrder) -> Celebrations {
    let reps: Vec<Standing> = m.reps.iter().filter(|s| s.team == team).cloned().collect();
    let boards: Vec<Board> = m
        .boards
        .iter()
        .filter(|b| b.team.as_deref() == Some(team))
        .map(|b| Board { kind: b.kind, team: None, entries: b.entries.clone() })
        .collect();
    let mut c = celebrations(&reps, &boards, names);
    for b in &mut c.top {
        b.team = Some(team.to_string());
    }
    c
}

/// Every celebrated event of a final month, for the chat channels' posts after an
/// import (issue 22): each active rep's new personal bests, first month at quota, and
/// streaks of two or more months at quota or of clean paperwork — the rules of
/// [`MonthStandings::celebrations`] (positive results only: nobody is celebrated for
/// $0), one event each. Empty for a preliminary month or one without results. In the
/// order of `m.reps`, each rep's events in the order above.
pub fn celebrated_events(m: &MonthStandings) -> Vec<crate::domain::CelebratedEvent> {
    use crate::domain::{Celebrated, CelebratedEvent};
    if m.preliminary || !m.has_results {
        return Vec::new();
    }
    let mut out = Vec::new();
    for s in m.reps.iter().filter(|s| s.active) {
        let ev =
            |what| CelebratedEvent { rep_key: s.rep_key.clone(), name: s.name.clone(), team: s.team.clone(), what };
        for b in s.personal_bests.iter().filter(|b| b.kind == BestKind::New && b.value > Decimal::ZERO) {
            out.push(ev(Celebrated::PersonalBest(b.clone())));
        }
        if s.first_at_quota
            && let (Some(attainment), Some(quota)) = (s.attainment, s.revenue_quota)
        {
            out.push(ev(Celebrated::FirstAtQuota { attainment, quota }));
        }
        if s.quota_streak >= 2
            && let Some(attainment) = s.attainment
        {
            out.push(ev(Celebrated::QuotaStreak { months: s.quota_streak, attainment }));
        }
        if s.clean_streak >= 2 {
            out.push(ev(Celebrated::CleanStreak { months: s.clean_streak }));
        }
    }
    out
}

fn celebrations(reps: &[Standing], boards: &[Board], names: &NameOrder) -> Celebrations {
    let active: Vec<&Standing> = reps.iter().filter(|s| s.active).collect();
    let mut by_name = active.clone();
    by_name.sort_by_cached_key(|s| (names.key(&s.name), s.rep_key.clone()));
    // Nobody is celebrated for nothing: a top place needs a positive value.
    let top = boards
        .iter()
        .filter(|b| b.team.is_none())
        .map(|b| Board {
            kind: b.kind,
            team: None,
            // Only a positive value is celebrated: a rep tied 3rd at $0 is not "top".
            entries: b
                .entries
                .iter()
                .filter(|e| crate::domain::top_place(e.rank, b.entries.len()) && e.value > Decimal::ZERO)
                .cloned()
                .collect(),
        })
        .collect();
    let best_improvement = active.iter().filter_map(|s| s.improvement).max().filter(|m| *m > Decimal::ZERO);
    Celebrations {
        top,
        at_quota: by_name
            .iter()
            .filter(|s| s.attainment.is_some_and(|a| a >= Decimal::ONE))
            .map(|s| s.name.clone())
            .collect(),
        personal_bests: by_name
            .iter()
            .flat_map(|s| {
                s.personal_bests.iter().filter(|b| b.kind == BestKind::New).map(|b| (s.name.clone(), b.clone()))
            })
            .collect(),
        quota_streaks: by_name
            .iter()
            .filter(|s| s.quota_streak >= 2)
            .map(|s| (s.name.clone(), s.quota_streak))
            .collect(),
        first_at_quota: by_name.iter().filter(|s| s.first_at_quota).map(|s| s.name.clone()).collect(),
        clean_streaks: by_name
            .iter()
            .filter(|s| s.clean_streak >= 2)
            .map(|s| (s.name.clone(), s.clean_streak))
            .collect(),
        most_improved: match best_improvement {
            Some(m) => by_name.iter().filter(|s| s.improvement == Some(m)).map(|s| (s.name.clone(), m)).collect(),
            None => Vec::new(),
        },
    }
}

/// The local midnight that starts `day` in the settings' zone, as UTC (for callers that
/// need an instant inside a period).
pub fn day_start(day: NaiveDate, settings: &Settings) -> DateTime<Utc> {
    local_midnight_utc(day, settings.time_zone)
}

#[cfg(test)]
mod tests;
