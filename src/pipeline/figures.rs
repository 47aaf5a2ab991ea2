//! Compute once (issue 19): the stored deals loaded once for the jobs of one run, and
//! each month's standings computed once from them. `quotad run all` plans the months its
//! jobs need (the memo month and the two before it, the ranked month, the 1:1 months),
//! loads them in one pass over the deal events ([`Loaded`]) and hands the same
//! [`Figures`] to the memo, the weekly ranking and the 1:1 sheets; a job run alone gets
//! an empty one and loads what it needs. The figures are the ones each job computed
//! before: [`metrics`] stays pure and is given the same input. May import `store`,
//! `metrics`, `domain`.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::Loaded;
use crate::domain::{FiscalCalendar, IsoWeek, MonthStandings, Period, ToDate};
use crate::metrics;
use crate::store::Store;

/// The deals of one run loaded once, and each month's standings once. Only for one
/// `now` and one set of metric settings (one run); the deals must not change while it
/// lives (the jobs after an import only write the outbox).
#[derive(Default)]
pub struct Figures {
    /// The load, with the newest month it covers and the months whose rows it kept.
    loaded: Option<(Loaded, Period, BTreeSet<Period>)>,
    /// Month standings already computed, by month: shared with the jobs, not copied
    /// (a month is ~4 MB at 2,000 reps; the 1:1 job alone takes sixteen).
    months: HashMap<Period, Arc<MonthStandings>>,
    /// Months a later job of the run will need, loaded with the first.
    planned: BTreeSet<Period>,
}

impl Figures {
    /// An empty cache that, on its first load, also loads the months in `planned` (rows
    /// kept for each), so the later jobs of the run find them loaded.
    pub fn planned(planned: impl IntoIterator<Item = Period>) -> Figures {
        Figures { planned: planned.into_iter().collect(), ..Figures::default() }
    }

    /// The deals loaded up to `latest` at least, with `keep`'s rows kept row by row
    /// (month to date and row lists need them); loads again (with what was loaded
    /// before and what is planned) only when the load held does not cover them.
    pub fn loaded(
        &mut self,
        store: &Store,
        latest: Period,
        keep: &[Period],
        settings: &metrics::Settings,
    ) -> Result<&Loaded> {
        let covered = self
            .loaded
            .as_ref()
            .is_some_and(|(_, newest, kept)| latest <= *newest && keep.iter().all(|p| kept.contains(p)));
        if !covered {
            let mut kept: BTreeSet<Period> = keep.iter().copied().chain(self.planned.iter().copied()).collect();
            let mut newest = kept.iter().copied().chain([latest]).max().unwrap_or(latest);
            if let Some((_, n, k)) = self.loaded.take() {
                newest = newest.max(n);
                kept.extend(k);
            }
            let keep: Vec<Period> = kept.iter().copied().collect();
            let l = Loaded::keeping(store, newest, &keep, settings)?;
            self.months.clear();
            self.loaded = Some((l, newest, kept));
        }
        Ok(&self.loaded.as_ref().expect("loaded above").0)
    }

    /// Lets go of the load and the months computed (a job that needs them again loads
    /// them again): for the end of a run's last job, whose delivery needs neither.
    pub fn release(&mut self) {
        self.loaded = None;
        self.months.clear();
    }

    /// [`metrics::month_standings`] of each of `periods`, in that order, as at `now`:
    /// each month computed once per run, and shared (not copied) with each job that
    /// asks for it.
    pub fn months(
        &mut self,
        store: &Store,
        periods: &[Period],
        settings: &metrics::Settings,
        now: DateTime<Utc>,
    ) -> Result<Vec<Arc<MonthStandings>>> {
        let Some(&latest) = periods.iter().max() else { return Ok(Vec::new()) };
        self.loaded(store, latest, &[], settings)?;
        let missing: Vec<Period> = periods.iter().copied().filter(|p| !self.months.contains_key(p)).collect();
        if !missing.is_empty() {
            let (loaded, _, _) = self.loaded.as_ref().expect("loaded above");
            let input = loaded.input();
            for p in missing {
                let m = metrics::month_standings(p, &input, settings, now);
                self.months.insert(p, Arc::new(m));
            }
        }
        Ok(periods.iter().map(|p| Arc::clone(&self.months[p])).collect())
    }

    /// [`metrics::week_standings`] of `week` as at `now`.
    pub fn week(
        &mut self,
        store: &Store,
        week: IsoWeek,
        settings: &metrics::Settings,
        now: DateTime<Utc>,
    ) -> Result<MonthStandings> {
        let month = metrics::ranked_period(week).month;
        let loaded = self.loaded(store, month, &[month], settings)?;
        Ok(metrics::week_standings(week, &loaded.input(), settings, now))
    }
}

/// The months of the fiscal year that holds `through`, from its first month through
/// `through` (docs/definitions.md, "Quarter and year to date").
pub fn fiscal_year_to(fiscal: FiscalCalendar, through: Period) -> Vec<Period> {
    let mut out = Vec::new();
    let mut m = fiscal.year_start(through);
    while m <= through {
        out.push(m);
        m = m.next();
    }
    out
}

/// The rep's fiscal quarter to date and year to date through `through`, from the
/// standings of the fiscal year's months ([`fiscal_year_to`]); `None` when the rep is
/// in none of them.
pub fn rep_to_date(
    fiscal: FiscalCalendar,
    months: &[impl std::borrow::Borrow<MonthStandings>],
    rep_key: &str,
    through: Period,
) -> Option<(ToDate, ToDate)> {
    let qtd = metrics::to_date(months, rep_key, fiscal.quarter_start(through), through)?;
    let ytd = metrics::to_date(months, rep_key, fiscal.year_start(through), through)?;
    Some((qtd, ytd))
}
