//! Plain data shared by every stage: periods, money, reps, deals, quotas.
//!
//! This module sits at the bottom of the crate: it imports no other quotad module and
//! does no I/O. Everything here is a value type that the stages pass to each other.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// An amount of money in the org's currency, as an exact decimal of currency units
/// (dollars, euros — not cents). Negative amounts are valid (cancellations).
pub type Money = Decimal;

/// A calendar month, the reporting period of DESIGN.md "Metrics": the half-open
/// interval [first day, first day of the next month) in the org's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "String")]
pub struct Period {
    year: i32,
    month: u32,
}

impl Period {
    /// The month `year`-`month`; `None` unless `month` is 1..=12 and the year is 1900..=9999.
    pub fn new(year: i32, month: u32) -> Option<Period> {
        ((1..=12).contains(&month) && (1900..=9999).contains(&year)).then_some(Period { year, month })
    }

    /// The month that contains `date`.
    pub fn of(date: NaiveDate) -> Period {
        Period { year: date.year(), month: date.month() }
    }

    /// Calendar year, e.g. 2026.
    pub fn year(self) -> i32 {
        self.year
    }

    /// Month of the year, 1..=12.
    pub fn month(self) -> u32 {
        self.month
    }

    /// The following month.
    pub fn next(self) -> Period {
        if self.month == 12 {
            Period { year: self.year + 1, month: 1 }
        } else {
            Period { month: self.month + 1, ..self }
        }
    }

    /// The preceding month.
    pub fn prev(self) -> Period {
        if self.month == 1 {
            Period { year: self.year - 1, month: 12 }
        } else {
            Period { month: self.month - 1, ..self }
        }
    }

    /// First day of the month (the inclusive start of the interval).
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("Period is always a valid month")
    }

    /// Last day of the month (inclusive).
    pub fn last_day(self) -> NaiveDate {
        self.next().first_day().pred_opt().expect("a month has a last day")
    }

    /// Whether `date` falls in this month.
    pub fn contains(self, date: NaiveDate) -> bool {
        Period::of(date) == self
    }

    /// English label for people, e.g. "November 2026".
    pub fn label(self) -> String {
        self.first_day().format("%B %Y").to_string()
    }
}

impl fmt::Display for Period {
    /// `YYYY-MM`, the form the CLI takes and the store keeps.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl From<Period> for String {
    fn from(p: Period) -> String {
        p.to_string()
    }
}

impl FromStr for Period {
    type Err = String;

    /// Parses `YYYY-MM` (the CLI's `--period`); the error says what was expected.
    fn from_str(s: &str) -> Result<Period, String> {
        let bad = || format!("'{s}' is not a month: expected YYYY-MM, e.g. 2026-11");
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.is_empty() || m.len() > 2 {
            return Err(bad());
        }
        Period::new(y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?).ok_or_else(bad)
    }
}

/// How a deal's Stage counts, from the configured stage lists (`[stages]` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StageClass {
    /// A sale that counts: adds its amount and units in the month of its close date.
    Won,
    /// A cancellation of an earlier sale: subtracts its amount and units in the month of
    /// its close date (the cancellation date), whatever sign the export gave them.
    Cancelled,
    /// Open, pending or lost: stored (a later export may mark it won) but counts nowhere.
    Ignored,
}

impl StageClass {
    /// The event a row with this stage records. A sale and its later cancellation are two
    /// events of one Deal ID, so the store keys deal rows by (Deal ID, event).
    pub fn event(self) -> DealEvent {
        match self {
            StageClass::Cancelled => DealEvent::Cancellation,
            StageClass::Won | StageClass::Ignored => DealEvent::Sale,
        }
    }

    /// Stable lower-case name used in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            StageClass::Won => "won",
            StageClass::Cancelled => "cancelled",
            StageClass::Ignored => "ignored",
        }
    }

    /// Inverse of [`StageClass::as_str`]; `None` for any other text.
    pub fn parse(s: &str) -> Option<StageClass> {
        match s {
            "won" => Some(StageClass::Won),
            "cancelled" => Some(StageClass::Cancelled),
            "ignored" => Some(StageClass::Ignored),
            _ => None,
        }
    }
}

/// The two events a Deal ID can have. A later export of the same (Deal ID, event)
/// supersedes the earlier one (DESIGN.md "Inputs": re-exports supersede).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DealEvent {
    /// The sale itself, in whatever stage it is now.
    Sale,
    /// Its cancellation.
    Cancellation,
}

impl DealEvent {
    /// Stable name used in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            DealEvent::Sale => "sale",
            DealEvent::Cancellation => "cancellation",
        }
    }
}

/// How a row names its rep: any of rep id, e-mail and name, as the file gave them
/// (trimmed; e-mail lower-cased). Resolution against the roster happens in metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RepRef {
    /// The CRM's rep id, e.g. "R00001".
    pub id: Option<String>,
    /// E-mail address, lower-cased.
    pub email: Option<String>,
    /// Display name as exported, whitespace trimmed.
    pub name: Option<String>,
}

impl RepRef {
    /// A short human description for messages: "rep id R00001", "jose@x.com" or "name 'José'".
    pub fn describe(&self) -> String {
        match (&self.id, &self.email, &self.name) {
            (Some(id), _, _) => format!("rep id {id}"),
            (None, Some(e), _) => e.clone(),
            (None, None, Some(n)) => format!("name '{n}'"),
            _ => "(no rep)".into(),
        }
    }
}

/// Folds a person's name for matching: Unicode-compatibility decomposed, combining marks
/// dropped, case-folded, whitespace collapsed. "  José  NÚÑEZ " -> "jose nunez".
pub fn fold_name(name: &str) -> String {
    let folded: String = name.nfkd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase).collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Where a row came from inside its file: the sheet name ("" for CSV) and the row number
/// as Excel shows it (1-based; for CSV the line number).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RowOrigin {
    /// Sheet name; empty for CSV files.
    pub sheet: String,
    /// 1-based row number as Excel shows it.
    pub row: u32,
}

/// One deal event from a deals export, parsed and validated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DealRow {
    /// The CRM's deal id (trimmed), e.g. "D0000123".
    pub deal_id: String,
    /// The Stage text as exported, trimmed.
    pub stage: String,
    /// How that stage counts.
    pub class: StageClass,
    /// The rep credited.
    pub rep: RepRef,
    /// The team the export gives for the rep, if any.
    pub team: Option<String>,
    /// Close date (for a cancellation: the cancellation date). Required for won and
    /// cancelled rows; may be absent for ignored (open) rows.
    pub close_date: Option<NaiveDate>,
    /// Sale price in currency units. Required for won and cancelled rows.
    pub amount: Option<Money>,
    /// Units (homes) sold; `None` when the export has no units column (then a won deal
    /// counts 1 unit).
    pub units: Option<Decimal>,
    /// Customer rating on the configured scale, if the customer gave one.
    pub rating: Option<Decimal>,
    /// Whether the deal's paperwork is complete, if exported.
    pub paperwork_complete: Option<bool>,
    /// Number of paperwork errors, if exported.
    pub paperwork_errors: Option<u32>,
    /// Sheet and Excel row of the row.
    pub origin: RowOrigin,
}

impl DealRow {
    /// The event this row records (see [`DealEvent`]).
    pub fn event(&self) -> DealEvent {
        self.class.event()
    }
}

/// A rep's quota for one month (DESIGN.md "Inputs": Quotas).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuotaRow {
    /// The rep the quota belongs to.
    pub rep: RepRef,
    /// The month it applies to.
    pub month: Period,
    /// Revenue quota in currency units; zero means "no quota".
    pub revenue: Money,
    /// Units quota, if the file has one.
    pub units: Option<Decimal>,
    /// Sheet and Excel row of the row.
    pub origin: RowOrigin,
}

/// One rep on the roster (DESIGN.md "Inputs": Roster).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RosterRep {
    /// Rep id, if the roster has one.
    pub id: Option<String>,
    /// Display name, trimmed.
    pub name: String,
    /// E-mail address (lower-cased): from the file, else from the configured pattern.
    pub email: Option<String>,
    /// Team name.
    pub team: Option<String>,
    /// Manager's name.
    pub manager: Option<String>,
    /// Manager's e-mail address (lower-cased).
    pub manager_email: Option<String>,
    /// Hire date.
    pub hire_date: Option<NaiveDate>,
    /// Whether the rep is active; inactive reps get no memo and are not ranked.
    pub active: bool,
    /// Sheet and Excel row of the row.
    pub origin: RowOrigin,
}

impl RosterRep {
    /// The rep's identity key: rep id, else e-mail, else folded name (DESIGN.md: "a rep
    /// keeps one identity (rep id, else email)"). Prefixed so the kinds never collide.
    pub fn key(&self) -> String {
        match (&self.id, &self.email) {
            (Some(id), _) => format!("id:{id}"),
            (None, Some(e)) => format!("email:{e}"),
            _ => format!("name:{}", fold_name(&self.name)),
        }
    }

    /// The rep as a [`RepRef`].
    pub fn as_ref(&self) -> RepRef {
        RepRef { id: self.id.clone(), email: self.email.clone(), name: Some(self.name.clone()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_parses_and_steps_across_years() {
        let p: Period = "2026-12".parse().unwrap();
        assert_eq!(p.next().to_string(), "2027-01");
        assert_eq!("2027-01".parse::<Period>().unwrap().prev(), p);
        assert_eq!(p.last_day(), NaiveDate::from_ymd_opt(2026, 12, 31).unwrap());
        assert_eq!("2028-02".parse::<Period>().unwrap().last_day().to_string(), "2028-02-29");
        assert_eq!(p.label(), "December 2026");
        for bad in ["2026-13", "2026", "26-11", "2026-1x", "", "2026-00"] {
            assert!(bad.parse::<Period>().is_err(), "{bad}");
        }
    }

    #[test]
    fn names_fold_accents_case_and_spaces() {
        assert_eq!(fold_name("  José   NÚÑEZ "), "jose nunez");
        assert_eq!(fold_name("Zoë Ødegaard"), "zoe ødegaard");
        assert_eq!(fold_name("Ngozi Okonkwo-Adébáyọ̀"), "ngozi okonkwo-adebayo");
    }
}

/// A rep's figures for one month, computed by `metrics` and read by `report`
/// (DESIGN.md "Metrics"). Plain, serializable view data: templates and documents read
/// these values and never recompute them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Standing {
    /// Identity key (see [`RosterRep::key`]).
    pub rep_key: String,
    /// Rep id, if known.
    pub rep_id: Option<String>,
    /// Display name from the roster.
    pub name: String,
    /// E-mail address, if known.
    pub email: Option<String>,
    /// Team for the period (the roster's team, else the export's).
    pub team: String,
    /// Manager's name.
    pub manager: Option<String>,
    /// Whether the rep is active on the roster.
    pub active: bool,
    /// Revenue in currency units: won amounts minus cancelled amounts. May be negative.
    pub revenue: Money,
    /// Units: won units minus cancelled units (a won deal without a units column is 1).
    pub units: Decimal,
    /// Won deals in the month (count of rows, not units).
    pub won_deals: u32,
    /// Cancellations in the month.
    pub cancellations: u32,
    /// Mean customer rating over the month's rated won deals; `None` when none was rated.
    pub rating: Option<Decimal>,
    /// How many ratings the mean is over (always shown with it).
    pub rating_count: u32,
    /// Clean paperwork rate, a fraction 0..=1: won deals with paperwork complete and zero
    /// errors / won deals with paperwork recorded. `None` when the export has no
    /// paperwork columns or the rep won nothing.
    pub clean_paperwork: Option<Decimal>,
    /// Revenue quota for the month in currency units; `None` = no quota (missing or zero).
    pub revenue_quota: Option<Money>,
    /// Units quota, if any.
    pub units_quota: Option<Decimal>,
    /// Attainment = revenue / revenue quota as an exact, uncapped fraction (1.7 = 170%);
    /// `None` = "no quota" (never 0, ∞ or NaN).
    pub attainment: Option<Decimal>,
    /// Rank company-wide on attainment (standard competition ranking); `None` = not ranked.
    pub company_rank: Option<u32>,
    /// Rank within the team on attainment; `None` = not ranked.
    pub team_rank: Option<u32>,
}

/// Every rostered rep's standing for one month, plus what could not be matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthStandings {
    /// The month.
    pub period: Period,
    /// Newest close date among the month's counted deals: figures are "as of" this date.
    pub as_of: Option<NaiveDate>,
    /// One per roster rep, ordered by company rank, then unranked reps by name.
    pub reps: Vec<Standing>,
    /// How many reps are ranked company-wide.
    pub ranked: u32,
    /// How many reps are ranked in each team.
    pub ranked_in_team: std::collections::BTreeMap<String, u32>,
    /// Reps named in the month's deals or quotas that match no roster rep, described.
    pub unmatched: Vec<String>,
}

impl MonthStandings {
    /// The standing of the rep with this identity key.
    pub fn rep(&self, key: &str) -> Option<&Standing> {
        self.reps.iter().find(|s| s.rep_key == key)
    }
}
