//! Plain data shared by every stage: periods, money, reps, deals, quotas.
//!
//! This module sits at the bottom of the crate: it imports no other quotad module and
//! does no I/O. Everything here is a value type that the stages pass to each other.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::Serialize;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

mod fiscal;
mod key;
mod order;
mod sums;
pub use fiscal::{FiscalCalendar, FyNamedBy, ToDate};
pub use key::{
    CorrectedFigure, IdempotencyKey, KeyDigest, KeyJob, KeyKind, KeyRecipient, LegacyRepChanges, correction_digest,
    legacy_team_correction_digest, team_correction_digest,
};
pub use order::NameOrder;
pub use sums::{RepMonthSums, credit, event_name};

/// An amount of money in the org's currency, as an exact decimal of currency units
/// (dollars, euros — not cents). Negative amounts are valid (cancellations).
pub type Money = Decimal;

/// A calendar month, the reporting period of docs/definitions.md: the half-open
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

    /// The first instant of the month in zone `tz`, as UTC: the inclusive start of the
    /// half-open interval [start, next month's start). Midnight that does not exist (a
    /// DST gap) moves to the first valid instant after it.
    pub fn start_utc(self, tz: Tz) -> DateTime<Utc> {
        local_midnight_utc(self.first_day(), tz)
    }

    /// Whether the month has closed at `now` (its interval's end has passed in `tz`).
    pub fn closed_at(self, now: DateTime<Utc>, tz: Tz) -> bool {
        now >= self.next().start_utc(tz)
    }
}

/// Midnight at the start of `day` in `tz`, as UTC (the earliest instant of that local day).
pub fn local_midnight_utc(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let mut t = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    // A zone may skip midnight (DST gap): try each following minute until one exists.
    for _ in 0..180 {
        if let Some(local) = tz.from_local_datetime(&t).earliest() {
            return local.with_timezone(&Utc);
        }
        t += chrono::Duration::minutes(1);
    }
    Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight exists"))
}

/// An ISO 8601 week (Monday to Sunday), e.g. 2026-W12 (docs/definitions.md: weeks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "String")]
pub struct IsoWeek {
    year: i32,
    week: u32,
}

impl IsoWeek {
    /// The ISO week that contains `date`.
    pub fn of(date: NaiveDate) -> IsoWeek {
        let w = date.iso_week();
        IsoWeek { year: w.year(), week: w.week() }
    }

    /// Monday of the week.
    pub fn monday(self) -> NaiveDate {
        NaiveDate::from_isoywd_opt(self.year, self.week, chrono::Weekday::Mon).expect("a valid ISO week")
    }

    /// Sunday of the week (its last day).
    pub fn sunday(self) -> NaiveDate {
        self.monday() + chrono::Duration::days(6)
    }

    /// The week before.
    pub fn prev(self) -> IsoWeek {
        IsoWeek::of(self.monday() - chrono::Duration::days(7))
    }

    /// The week after.
    pub fn next(self) -> IsoWeek {
        IsoWeek::of(self.monday() + chrono::Duration::days(7))
    }
}

/// The days a week's ranking covers (docs/definitions.md, the weekly ranking's week rule): the month to
/// date of `month`, from its first day through `through` (org-local, inclusive). Made by
/// `metrics::ranked_period`, which holds the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct RankedPeriod {
    /// The month ranked.
    pub month: Period,
    /// The last day counted, within `month`.
    pub through: NaiveDate,
}

impl RankedPeriod {
    /// The first day counted: the month's first day.
    pub fn first_day(self) -> NaiveDate {
        self.month.first_day()
    }

    /// Whether the ranking shows the month in full (`through` is its last day).
    pub fn is_full_month(self) -> bool {
        self.through >= self.month.last_day()
    }
}

impl fmt::Display for IsoWeek {
    /// `YYYY-Www`, e.g. `2026-W09`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-W{:02}", self.year, self.week)
    }
}

impl From<IsoWeek> for String {
    fn from(w: IsoWeek) -> String {
        w.to_string()
    }
}

impl FromStr for IsoWeek {
    type Err = String;

    /// Parses `YYYY-Www` (e.g. 2026-W12); the error says what was expected.
    fn from_str(s: &str) -> Result<IsoWeek, String> {
        let bad = || format!("'{s}' is not an ISO week: expected YYYY-Www, e.g. 2026-W12");
        let (y, w) = s.trim().split_once("-W").ok_or_else(bad)?;
        let (year, week) = (y.parse().map_err(|_| bad())?, w.parse().map_err(|_| bad())?);
        NaiveDate::from_isoywd_opt(year, week, chrono::Weekday::Mon).ok_or_else(bad)?;
        Ok(IsoWeek { year, week })
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
/// supersedes the earlier one (re-exports supersede).
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct RepRef {
    /// The CRM's rep id, e.g. "R00001".
    pub id: Option<String>,
    /// E-mail address, lower-cased.
    pub email: Option<String>,
    /// Display name as exported, whitespace trimmed.
    pub name: Option<String>,
}

impl RepRef {
    /// The reference's key: `id:…`, else `email:…`, else `name:` + folded name; empty when
    /// the row names no rep. The same scheme as [`RosterRep::key`].
    pub fn key(&self) -> String {
        match (&self.id, &self.email, &self.name) {
            (Some(id), _, _) => format!("id:{id}"),
            (None, Some(e), _) => format!("email:{e}"),
            (None, None, Some(n)) => format!("name:{}", fold_name(n)),
            _ => String::new(),
        }
    }

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

/// The first name to greet a person by, from their name as the roster writes it: the
/// first word ("José Núñez" -> "José"), or, for the "Last, First" form, the first word
/// after the comma ("Dvořák, Jiří" -> "Jiří", "van der Berg, Anna" -> "Anna"). A comma
/// is read so only when the part before it is one word (hyphens allowed) or a surname
/// with particles (van, de, von, …) and the part after it is not a suffix: "Søren
/// Müller, Sales West" greets Søren and "King, Jr." greets King. The one rule every
/// template view uses.
pub fn first_name(name: &str) -> String {
    const PARTICLES: [&str; 14] =
        ["van", "von", "de", "der", "den", "da", "di", "du", "del", "della", "le", "la", "ten", "ter"];
    const SUFFIXES: [&str; 8] = ["jr", "sr", "ii", "iii", "iv", "phd", "md", "esq"];
    let first_word = |s: &str| s.split_whitespace().next().map(|w| w.trim_end_matches(',').to_string());
    if let Some((last, rest)) = name.split_once(',') {
        let last_words: Vec<&str> = last.split_whitespace().collect();
        let surname = match last_words.split_last() {
            Some((_, [])) => true,
            Some((_, before)) => before.iter().all(|w| PARTICLES.contains(&w.to_lowercase().as_str())),
            None => false,
        };
        let given = first_word(rest).filter(|w| !SUFFIXES.contains(&w.trim_end_matches('.').to_lowercase().as_str()));
        if surname && let Some(g) = given {
            return g;
        }
    }
    first_word(name).unwrap_or_else(|| name.to_string())
}

/// Whether place `rank` on a board of `ranked` ranked reps is celebrated as a top place
/// (docs/definitions.md, "Celebrations"): one of the first three, and in the top half of
/// the board (`rank <= ceil(ranked / 2)`), so the last of three reps or the third of four
/// is never congratulated on a "top 3" place. The value must also be positive; callers
/// check that.
pub fn top_place(rank: u32, ranked: usize) -> bool {
    rank <= 3 && (rank as usize) * 2 <= ranked + 1
}

/// Folds a person's name for matching: Unicode-compatibility decomposed, combining marks
/// dropped, case-folded, whitespace collapsed. "  José  NÚÑEZ " -> "jose nunez".
pub fn fold_name(name: &str) -> String {
    // ASCII text has no decompositions or combining marks: lower-case it and collapse
    // its whitespace in one pass (one allocation; most names and every stage read so).
    if name.is_ascii() {
        let mut out = String::with_capacity(name.len());
        for w in name.split_ascii_whitespace().flat_map(|w| w.split(|c: char| c.is_whitespace())) {
            if w.is_empty() {
                continue;
            }
            if !out.is_empty() {
                out.push(' ');
            }
            out.extend(w.chars().map(|c| c.to_ascii_lowercase()));
        }
        return out;
    }
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
    /// The fraction of the deal credited to this rep, 0..=1 (1 = the whole deal). Set
    /// from a split column, or 1/n when one row per co-agent repeats the deal's amount
    /// (docs/definitions.md: Credit). Amount and units are multiplied by it.
    pub share: Decimal,
    /// Sheet and Excel row of the row.
    pub origin: RowOrigin,
}

impl DealRow {
    /// The event this row records (see [`DealEvent`]).
    pub fn event(&self) -> DealEvent {
        self.class.event()
    }

    /// Whether the row is a summary export's monthly total (README "Inputs": summary
    /// export) rather than a deal dated by day: Stage [`SUMMARY_STAGE`] and a Deal ID made
    /// by [`summary_deal_id`].
    pub fn is_month_total(&self) -> bool {
        self.stage == SUMMARY_STAGE && self.deal_id.starts_with(SUMMARY_ID_PREFIX)
    }
}

/// The Stage of a summary export's row, stored as one won deal per rep and month.
pub const SUMMARY_STAGE: &str = "Summary";

const SUMMARY_ID_PREFIX: &str = "summary ";

/// The Deal ID of a summary export's total for `period` and the rep whose reference key
/// is `rep_key`: "summary 2026-03 id:R1".
pub fn summary_deal_id(period: Period, rep_key: &str) -> String {
    format!("{SUMMARY_ID_PREFIX}{period} {rep_key}")
}

/// A rep's quota for one month (a row of a quotas source).
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

/// One rep on the roster (a row of a roster source).
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
    /// The local date (`org.time_zone`) from which this row's team, manager and status
    /// hold (the roster's Effective Date column); `None`: from the roster file's export
    /// time. docs/definitions.md, "The roster of a month".
    pub effective_date: Option<NaiveDate>,
    /// The rep's last working day (the Leave Date column), local date: active through
    /// it, inactive in every month after its month ([`RosterRep::active_in`]).
    pub leave_date: Option<NaiveDate>,
    /// Sheet and Excel row of the row.
    pub origin: RowOrigin,
}

impl RosterRep {
    /// Whether the rep is active in `period`: the row's status, and, with a leave date,
    /// only through the month of that date (a rep leaving on 15 September is active in
    /// September, not in October). docs/definitions.md, "The roster of a month".
    pub fn active_in(&self, period: Period) -> bool {
        self.active && self.leave_date.is_none_or(|l| l >= period.first_day())
    }

    /// The rep's identity key: rep id, else e-mail, else folded name (docs/definitions.md: "a
    /// rep keeps one identity (rep id, else email)"). Prefixed so the kinds never collide.
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

/// One version of a rep on the roster, in effect from `effective` (the row's Effective
/// Date at local midnight, else the roster file's export time) until the next version of
/// the same rep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RosterVersion {
    /// In effect from this instant (UTC).
    pub effective: chrono::DateTime<chrono::Utc>,
    /// The rep as that roster described them.
    pub rep: RosterRep,
    /// The roster file's name (no folder) that stored this version; empty when unknown.
    pub file: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ASCII fast path of `fold_name` folds as the Unicode path does (worked out by
    /// hand; the vertical tab and form feed are whitespace too).
    #[test]
    fn ascii_names_fold_as_the_unicode_path_folds_them() {
        for (name, folded) in [
            ("  Closed   WON ", "closed won"),
            ("Ana\tPatel\r\n", "ana patel"),
            ("a\x0Bb\x0Cc", "a b c"),
            ("", ""),
            ("   ", ""),
            ("O'Neil-Smith Jr.", "o'neil-smith jr."),
        ] {
            assert_eq!(fold_name(name), folded, "{name:?}");
            // The Unicode path, forced by a non-ASCII character that folds to nothing.
            assert_eq!(fold_name(&format!("{name}\u{301}")), folded, "{name:?} + a combining mark");
        }
        assert_eq!(fold_name("  José  NÚÑEZ "), "jose nunez");
    }

    #[test]
    fn a_top_place_is_one_of_the_first_three_and_in_the_top_half() {
        // (rank, ranked reps) -> celebrated as a top place?
        for (rank, ranked, top) in [
            (1, 1, true),
            (1, 2, true),
            (2, 2, false), // the last of two
            (2, 3, true),
            (3, 3, false), // the last of three (the tester's "Platz 3" for 80% of quota)
            (3, 4, false),
            (3, 5, true),
            (3, 20, true),
            (4, 20, false),
        ] {
            assert_eq!(top_place(rank, ranked), top, "rank {rank} of {ranked}");
        }
    }

    #[test]
    fn first_names_from_first_last_and_last_comma_first() {
        for (name, first) in [
            ("José Núñez", "José"),
            ("Dvořák, Jiří", "Jiří"),
            ("Dvořák,Jiří", "Jiří"),
            ("García-Lorca, Ana María", "Ana"),
            ("van der Berg, Anna", "Anna"),
            ("Søren Müller, Sales West", "Søren"),
            ("Martin Luther King, Jr.", "Martin"),
            ("King, Jr.", "King"),
            ("Cher", "Cher"),
        ] {
            assert_eq!(first_name(name), first, "{name}");
        }
    }

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
    fn months_are_half_open_intervals_in_the_org_zone() {
        let ny = chrono_tz::America::New_York;
        let march: Period = "2026-03".parse().unwrap();
        // March starts at 05:00 UTC (EST, -05:00) and ends at 04:00 UTC on 1 April (EDT).
        assert_eq!(march.start_utc(ny).to_rfc3339(), "2026-03-01T05:00:00+00:00");
        assert_eq!(march.next().start_utc(ny).to_rfc3339(), "2026-04-01T04:00:00+00:00");
        // 23:30 on 31 March in New York is 03:30 UTC on 1 April: still March there.
        let t: DateTime<Utc> = "2026-04-01T03:30:00Z".parse().unwrap();
        assert!(t >= march.start_utc(ny) && t < march.next().start_utc(ny));
        assert!(!march.closed_at(t, ny));
        assert!(march.closed_at("2026-04-01T04:00:00Z".parse().unwrap(), ny));
        // A zone whose midnight is skipped by DST (Havana, 2026-03-08 00:00 -> 01:00).
        let havana = chrono_tz::America::Havana;
        let day = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        assert_eq!(local_midnight_utc(day, havana).to_rfc3339(), "2026-03-08T05:00:00+00:00");
    }

    #[test]
    fn iso_weeks() {
        let w: IsoWeek = "2026-W12".parse().unwrap();
        assert_eq!(w.monday().to_string(), "2026-03-16");
        assert_eq!(w.sunday().to_string(), "2026-03-22");
        assert_eq!(w.prev().to_string(), "2026-W11");
        // 1 January 2027 is a Friday: it belongs to 2026-W53.
        assert_eq!(IsoWeek::of(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()).to_string(), "2026-W53");
        assert!("2026-W54".parse::<IsoWeek>().is_err());
        assert!("2026-12".parse::<IsoWeek>().is_err());
    }

    #[test]
    fn names_fold_accents_case_and_spaces() {
        assert_eq!(fold_name("  José   NÚÑEZ "), "jose nunez");
        assert_eq!(fold_name("Zoë Ødegaard"), "zoe ødegaard");
        assert_eq!(fold_name("Ngozi Okonkwo-Adébáyọ̀"), "ngozi okonkwo-adebayo");
    }
}

/// The one rounding of every figure quotad displays or ranks (docs/definitions.md:
/// Attainment): `value` rounded half away from zero to exactly `dp` decimals (the scale
/// is kept, so 0 at one decimal is `0.0`), except that a value below any of
/// `thresholds` (same units as `value`) is never shown at or above it: it is then
/// rounded down to `dp` decimals instead (99.95 against 100 -> 99.9; 108.555 -> 108.6).
/// A result of zero carries no minus sign. The sign of what is shown is the sign of
/// this result, so a sign and its digits always come from the same rounding.
pub fn shown(value: Decimal, dp: u32, thresholds: &[Decimal]) -> Decimal {
    let half_away = value.round_dp_with_strategy(dp, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    let crosses = thresholds.iter().any(|t| value < *t && half_away >= *t);
    let mut r = if crosses {
        value.round_dp_with_strategy(dp, rust_decimal::RoundingStrategy::ToNegativeInfinity)
    } else {
        half_away
    };
    if r.is_zero() {
        r.set_sign_positive(true);
    }
    r.rescale(dp);
    r
}

/// A fraction as a percent to one decimal, as displayed and ranked: [`shown`] of
/// `fraction` × 100 against 100% (a percent below 100% never shows as 100.0%) and
/// against each of `thresholds`, given as fractions (0.9 = 90%).
pub fn percent_shown(fraction: Decimal, thresholds: &[Decimal]) -> Decimal {
    let mut limits = vec![Decimal::ONE_HUNDRED];
    limits.extend(thresholds.iter().map(|t| *t * Decimal::ONE_HUNDRED));
    shown(fraction * Decimal::ONE_HUNDRED, 1, &limits)
}

/// A fraction as a percent to one decimal (0.87549 -> 87.5; 0.9995 -> 99.9, below
/// 100%): [`percent_shown`] against 100% only. How team attainment is displayed and
/// ranked, and the `attainment_pct` of `quotad standings` (docs/definitions.md: ties
/// are compared on the value as displayed).
pub fn percent_1dp(fraction: Decimal) -> Decimal {
    percent_shown(fraction, &[])
}

/// Folds a team name for matching, exactly as [`fold_name`] folds a rep's name
/// (trimmed, spaces collapsed, case- and accent-folded): "North Division",
/// "north division " and "NORTH  DIVISION" are one team (docs/definitions.md: teams are
/// matched like names).
pub fn team_key(team: &str) -> String {
    fold_name(team)
}

/// Whether two team names name the same team (see [`team_key`]).
pub fn same_team(a: &str, b: &str) -> bool {
    a == b || team_key(a) == team_key(b)
}

/// A figure judged against a threshold, for [`Standards::shown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judged {
    /// A rep's attainment, a fraction: against 100% (quota) and `below_target`.
    Attainment,
    /// Month-to-date pace, a fraction: against 100% and `off_pace`.
    Pace,
    /// Clean paperwork rate, a fraction: against 100% and the paperwork standard.
    CleanPaperwork,
    /// Mean customer rating on the rating scale: against the rating standard.
    Rating,
}

/// Which way is better for a metric (docs/definitions.md: each metric knows whether
/// higher or lower is better).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Revenue, units, attainment, rating, clean paperwork rate.
    HigherIsBetter,
    /// Paperwork errors per deal.
    LowerIsBetter,
}

/// The boards of docs/definitions.md: results and attainment (both labelled), plus the
/// ratings and paperwork boards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BoardKind {
    /// Results: revenue in whole currency units (units shown beside it).
    Results,
    /// Attainment %, to one decimal. Reps without a quota are not on it.
    Attainment,
    /// Mean customer rating to one decimal; only reps with at least `min_ratings`.
    Ratings,
    /// Clean paperwork rate %, to one decimal; only reps with paperwork recorded.
    Paperwork,
}

impl BoardKind {
    /// All boards, in display order.
    pub const ALL: [BoardKind; 4] =
        [BoardKind::Results, BoardKind::Attainment, BoardKind::Ratings, BoardKind::Paperwork];

    /// Lower-case name, as the CLI takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            BoardKind::Results => "results",
            BoardKind::Attainment => "attainment",
            BoardKind::Ratings => "ratings",
            BoardKind::Paperwork => "paperwork",
        }
    }

    /// Which way is better (all four boards: higher).
    pub fn direction(self) -> Direction {
        Direction::HigherIsBetter
    }
}

/// One line of a board.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BoardEntry {
    /// Rep identity key.
    pub rep_key: String,
    /// Rep name (as at the period's end).
    pub name: String,
    /// Team (as at the period's end).
    pub team: String,
    /// Standard competition rank (1, 2, 2, 4).
    pub rank: u32,
    /// The value ranked, exactly as displayed: whole currency units (results), percent
    /// to one decimal (attainment, paperwork), rating to one decimal (ratings).
    pub value: Decimal,
    /// Places gained since the previous board (positive = up); `None` = not on it then.
    pub movement: Option<i32>,
}

/// A ranked board, company-wide or for one team.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Board {
    /// Which board.
    pub kind: BoardKind,
    /// `None` = company-wide, else the team.
    pub team: Option<String>,
    /// Entries by rank, alphabetical by name within a tie.
    pub entries: Vec<BoardEntry>,
}

/// Month-to-date pacing on the selling-day calendar (docs/definitions.md: Pacing).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pacing {
    /// The date the figures run through (inclusive, org-local).
    pub through: NaiveDate,
    /// Selling days in the month.
    pub selling_days: u32,
    /// Selling days elapsed up to and including `through`.
    pub elapsed: u32,
    /// Revenue expected by now: quota × elapsed / selling days (currency units).
    pub expected_to_date: Money,
    /// Pace = revenue / expected to date, a fraction (0.8 = 80%); `None` without a
    /// quota or before the first selling day.
    pub pace: Option<Decimal>,
    /// Revenue at month end at the current rate: revenue / elapsed × selling days.
    pub projected: Option<Money>,
    /// Revenue still needed per remaining selling day to reach quota (0 when reached).
    pub needed_per_day: Option<Money>,
    /// Whether at least 30% of the month's selling days have passed (no "off pace"
    /// flag before that).
    pub can_flag: bool,
}

/// Whether a personal best is new or matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BestKind {
    /// Strictly better than every earlier qualifying month.
    New,
    /// Equal to the best earlier month.
    Matched,
}

/// A personal best (docs/definitions.md: Personal best).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonalBest {
    /// "revenue", "units", "attainment" (fraction) or "rating".
    pub metric: &'static str,
    /// This month's value.
    pub value: Decimal,
    /// The best earlier value.
    pub previous_best: Decimal,
    /// New or matched.
    pub kind: BestKind,
}

/// Why a rep needs attention (docs/definitions.md: Sub-par, "needs attention").
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Attention {
    /// Final attainment below 100% this month and last (fractions).
    MissedTwice {
        /// Last month's attainment.
        previous: Decimal,
        /// This month's attainment.
        current: Decimal,
    },
    /// Mean rating below the standard, with at least `min_ratings` ratings.
    RatingBelowStandard {
        /// The mean rating.
        rating: Decimal,
        /// Ratings it is over.
        count: u32,
        /// The standard (config `metrics.rating_standard`).
        standard: Decimal,
    },
    /// Clean paperwork rate below the standard (fractions).
    PaperworkBelowStandard {
        /// The rate.
        rate: Decimal,
        /// The standard (config `metrics.paperwork_standard`).
        standard: Decimal,
    },
}

/// Sub-par flags: for the rep's manager only, never on a public board
/// (docs/definitions.md: Sub-par flags).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Flags {
    /// Final attainment below 100%.
    pub missed: bool,
    /// Final attainment below `below_target` (default 80%).
    pub below_target: bool,
    /// Reasons the rep needs attention.
    pub needs_attention: Vec<Attention>,
    /// Month in progress, at least 30% elapsed, pace below `off_pace` (default 80%).
    pub off_pace: bool,
}

impl Flags {
    /// Whether any flag is raised.
    pub fn any(&self) -> bool {
        self.missed || self.below_target || self.off_pace || !self.needs_attention.is_empty()
    }
}

/// A rep's figures for one month, computed by `metrics` and read by `report`
/// (docs/definitions.md). Plain, serializable view data: templates and documents read
/// these values and never recompute them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Standing {
    /// Identity key (see [`RosterRep::key`]).
    pub rep_key: String,
    /// Rep id, if known.
    pub rep_id: Option<String>,
    /// Display name as at the period's end.
    pub name: String,
    /// E-mail address, if known.
    pub email: Option<String>,
    /// Team as at the period's end (the roster's team, else the export's).
    pub team: String,
    /// Manager's name.
    pub manager: Option<String>,
    /// Manager's e-mail address.
    pub manager_email: Option<String>,
    /// Hire date, if known.
    pub hire_date: Option<NaiveDate>,
    /// The roster's Leave Date (the rep's last working day), if any: the rep counts in
    /// the whole month of it, but gets no e-mail after it (docs/definitions.md).
    pub leave_date: Option<NaiveDate>,
    /// Whether the rep is active on the roster (inactive reps are on no board).
    pub active: bool,
    /// Hired after the month's first day: a partial month, which counts for neither
    /// personal bests nor streaks nor most improved.
    pub partial_month: bool,
    /// Revenue in currency units: credited won amounts minus cancelled amounts. May be negative.
    pub revenue: Money,
    /// Units: won units minus cancelled units (a won deal without a units column is 1),
    /// times the rep's credit share.
    pub units: Decimal,
    /// Won deal rows credited to the rep in the month.
    pub won_deals: u32,
    /// Cancellations in the month.
    pub cancellations: u32,
    /// Mean customer rating over the month's rated won deals; `None` when none was rated.
    pub rating: Option<Decimal>,
    /// How many ratings the mean is over (always shown with it).
    pub rating_count: u32,
    /// Clean paperwork rate, a fraction 0..=1: won deals with paperwork complete and zero
    /// errors / won deals with paperwork recorded. `None` when nothing was recorded.
    pub clean_paperwork: Option<Decimal>,
    /// Paperwork errors in the month.
    pub paperwork_errors: u32,
    /// Paperwork errors per won deal with paperwork recorded (lower is better).
    pub errors_per_deal: Option<Decimal>,
    /// Revenue quota for the month in currency units; `None` = no quota (missing or zero).
    pub revenue_quota: Option<Money>,
    /// Units quota, if any.
    pub units_quota: Option<Decimal>,
    /// What the revenue quota means per week: quota × selling days a week ÷ selling days
    /// in the month, currency units.
    pub quota_per_week: Option<Money>,
    /// Attainment = revenue / revenue quota as an exact, uncapped fraction (1.7 = 170%);
    /// `None` = "no quota" (never 0, ∞ or NaN).
    pub attainment: Option<Decimal>,
    /// Rank company-wide on attainment; `None` = not ranked.
    pub company_rank: Option<u32>,
    /// Rank within the team on attainment; `None` = not ranked.
    pub team_rank: Option<u32>,
    /// Rank company-wide on results (revenue).
    pub results_rank: Option<u32>,
    /// Rank within the team on results.
    pub results_team_rank: Option<u32>,
    /// Rank company-wide on rating (only with at least `min_ratings` ratings).
    pub rating_rank: Option<u32>,
    /// Rank company-wide on clean paperwork rate.
    pub paperwork_rank: Option<u32>,
    /// Month-to-date pacing, for a month in progress.
    pub pacing: Option<Pacing>,
    /// Personal bests set or matched this month (final months only).
    pub personal_bests: Vec<PersonalBest>,
    /// Months in a row at or above quota, ending this month (0 if not at quota).
    pub quota_streak: u32,
    /// This is the rep's first month at quota (their whole tenure is in the data).
    pub first_at_quota: bool,
    /// Months in a row with paperwork all clean, ending this month.
    pub clean_streak: u32,
    /// Attainment minus the rep's own average over the previous 3 qualifying months, a
    /// fraction (0.25 = 25 points); `None` without that history.
    pub improvement: Option<Decimal>,
    /// Sub-par flags (manager only).
    pub flags: Flags,
}

/// Who to celebrate this period (docs/definitions.md: Celebrations). Names as at the
/// period's end.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Celebrations {
    /// The top of each company-wide board: every entry ranked 1 to 3, ties included
    /// (so possibly more than three).
    pub top: Vec<Board>,
    /// Everyone at or above 100% of quota.
    pub at_quota: Vec<String>,
    /// New (not matched) personal bests: (name, best).
    pub personal_bests: Vec<(String, PersonalBest)>,
    /// Streaks of two or more months at quota: (name, months).
    pub quota_streaks: Vec<(String, u32)>,
    /// First month at quota.
    pub first_at_quota: Vec<String>,
    /// Streaks of two or more clean-paperwork months: (name, months).
    pub clean_streaks: Vec<(String, u32)>,
    /// The most improved rep(s) against their own 3-month average: (name, points as a fraction).
    pub most_improved: Vec<(String, Decimal)>,
}

/// Every rostered rep's standing for one month, plus boards and celebrations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthStandings {
    /// The month.
    pub period: Period,
    /// Month to date: deals closed after this day (org-local) are not counted; `None` =
    /// the whole month.
    pub through: Option<NaiveDate>,
    /// Whether the month's figures come from deals dated by day. `false` when any of
    /// them is a summary export's monthly total (dated the month's first day): then no
    /// month-to-date pace is computed, for anyone.
    pub dated_by_day: bool,
    /// Newest export date (org-local) of the files that fed this month: every figure is
    /// "as of" this date (docs/definitions.md: As of).
    pub as_of: Option<NaiveDate>,
    /// Newest close date among the month's counted deals.
    pub data_through: Option<NaiveDate>,
    /// True until the month has closed and an export made after its close is loaded.
    pub preliminary: bool,
    /// One per rep on the roster at the period's end, ordered by attainment rank, then
    /// unranked reps by name.
    pub reps: Vec<Standing>,
    /// How many reps are ranked company-wide on attainment.
    pub ranked: u32,
    /// How many reps are ranked on attainment in each team.
    pub ranked_in_team: std::collections::BTreeMap<String, u32>,
    /// Boards: each kind company-wide, then per team.
    pub boards: Vec<Board>,
    /// Who to celebrate.
    pub celebrations: Celebrations,
    /// Teams ranked on team attainment (summed revenue ÷ summed quota).
    pub teams: Vec<TeamStanding>,
    /// Whether anyone active has a result this period (a won or cancelled deal, or
    /// non-zero revenue or units). Without one nobody is ranked or celebrated and
    /// documents say there are no results yet (docs/definitions.md: Celebrations).
    pub has_results: bool,
    /// Selling days in the month (config `[calendar]`).
    pub selling_days: u32,
    /// The standards reps are held to (config `[metrics]`).
    pub standards: Standards,
    /// Reps named in the month's deals or quotas that match no roster rep, described.
    pub unmatched: Vec<String>,
    /// `rep_key` -> position in `reps`, for [`MonthStandings::rep`]: built from `reps` on
    /// the first look-up (`Default::default()` when constructing). Not serialized.
    #[serde(skip)]
    pub rep_index: RepIndex,
}

/// The index [`MonthStandings::rep`] builds from `reps` on its first call (a search from
/// the front cost the 1:1 job at 2,000 reps 2,000 × 2,000 × 16 months of key compares,
/// issue 19). Derived from `reps`, so it never makes two standings unequal.
#[derive(Debug, Clone, Default)]
pub struct RepIndex(std::sync::OnceLock<std::collections::HashMap<String, usize>>);

impl PartialEq for RepIndex {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// The standards of docs/definitions.md a memo states, from the config.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Standards {
    /// Mean customer rating expected (e.g. 4.0), if any.
    pub rating: Option<Decimal>,
    /// Clean paperwork rate expected, a fraction (0.9 = 90%), if any.
    pub paperwork: Option<Decimal>,
    /// Ratings needed in a month to be ranked on ratings.
    pub min_ratings: u32,
    /// Attainment below this fraction is "below target" (config `metrics.below_target`).
    pub below_target: Decimal,
    /// Pace below this fraction is "off pace" (config `metrics.off_pace`).
    pub off_pace: Decimal,
}

impl Standards {
    /// The value `figure` is displayed and ranked as: a percent to one decimal for the
    /// fractions (attainment, pace, clean paperwork), the rating to one decimal, rounded
    /// by [`shown`] so that a value below a threshold it is judged against (100%, the
    /// target, the standard) is never displayed at or above it.
    pub fn shown(&self, figure: Judged, value: Decimal) -> Decimal {
        match figure {
            Judged::Attainment => percent_shown(value, &[self.below_target]),
            Judged::Pace => percent_shown(value, &[self.off_pace]),
            Judged::CleanPaperwork => percent_shown(value, self.paperwork.as_slice()),
            Judged::Rating => shown(value, 1, self.rating.as_slice()),
        }
    }
}

/// A team's month: the sum over its active reps (docs/definitions.md: boards per team).
/// Team attainment never mixes reps with and without a quota: it is the revenue of the
/// reps with a quota ÷ the sum of their quotas; reps without one are listed apart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamStanding {
    /// Team name (the newest roster's spelling).
    pub team: String,
    /// Summed revenue of all the team's active reps, currency units.
    pub revenue: Money,
    /// Summed revenue of the active reps with a quota (the attainment's numerator),
    /// currency units.
    pub quota_revenue: Money,
    /// Summed revenue quota of the reps with one, currency units; `None` = no rep in the
    /// team has a quota ("no quota", never $0).
    pub revenue_quota: Option<Money>,
    /// Summed units quota of the reps with one; `None` = none has a units quota.
    pub units_quota: Option<Decimal>,
    /// `quota_revenue` ÷ `revenue_quota`, an exact fraction; `None` without any quota.
    pub attainment: Option<Decimal>,
    /// Standard competition rank among teams on attainment as displayed
    /// ([`percent_1dp`]); `None` = not ranked (no quota, or no results yet).
    pub rank: Option<u32>,
    /// Active reps in the team.
    pub reps: u32,
    /// Active reps without a quota, by name: (name, revenue in currency units).
    pub without_quota: Vec<(String, Money)>,
}

impl MonthStandings {
    /// The standing of the rep with this identity key.
    /// `reps` is not changed after the first call (the index is built from it then).
    pub fn rep(&self, key: &str) -> Option<&Standing> {
        let index = self.rep_index.0.get_or_init(|| {
            // The first of a key, as a search from the front finds.
            let mut index = std::collections::HashMap::with_capacity(self.reps.len());
            for (i, s) in self.reps.iter().enumerate() {
                index.entry(s.rep_key.clone()).or_insert(i);
            }
            index
        });
        index.get(key).and_then(|&i| self.reps.get(i))
    }

    /// A board: `team` `None` for company-wide; a team is matched however it is typed
    /// ([`same_team`]).
    pub fn board(&self, kind: BoardKind, team: Option<&str>) -> Option<&Board> {
        self.boards.iter().find(|b| {
            b.kind == kind
                && match (b.team.as_deref(), team) {
                    (None, None) => true,
                    (Some(a), Some(t)) => same_team(a, t),
                    _ => false,
                }
        })
    }

    /// The team's name as displayed (the newest roster's spelling) for `team` typed any
    /// way ([`same_team`]); `None` when no rep of the period is in such a team.
    pub fn team_named(&self, team: &str) -> Option<&str> {
        self.reps.iter().map(|s| s.team.as_str()).find(|t| same_team(t, team))
    }
}

/// The SHA-256 of `bytes` as 64 lowercase hexadecimal digits: file fingerprints, and
/// (a prefix of it) the Message-IDs, file names and correction keys derived from a key.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex(&Sha256::digest(bytes))
}

/// `bytes` in lower-case hex, two digits a byte (a digest computed block by block, e.g.
/// an inbox file's fingerprint, is encoded with this too).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

#[cfg(test)]
mod sha_tests {
    #[test]
    fn sha256_hex_of_abc() {
        // FIPS 180-2, appendix B.1.
        assert_eq!(super::sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}

/// A chat platform quotad posts to through an incoming webhook (config
/// `[[channels]] kind`; issue 22).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChatKind {
    /// Slack incoming webhook; the payload is Block Kit.
    Slack,
    /// Microsoft Teams workflow/incoming webhook; the payload is an Adaptive Card.
    Teams,
    /// Google Chat space webhook; the payload is a cards v2 message.
    GoogleChat,
}

impl ChatKind {
    /// Every kind, in config order.
    pub const ALL: [ChatKind; 3] = [ChatKind::Slack, ChatKind::Teams, ChatKind::GoogleChat];

    /// The config spelling: `slack`, `teams`, `google_chat`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChatKind::Slack => "slack",
            ChatKind::Teams => "teams",
            ChatKind::GoogleChat => "google_chat",
        }
    }

    /// The platform's name for people: Slack, Microsoft Teams, Google Chat.
    pub fn label(self) -> &'static str {
        match self {
            ChatKind::Slack => "Slack",
            ChatKind::Teams => "Microsoft Teams",
            ChatKind::GoogleChat => "Google Chat",
        }
    }
}

/// What one celebrated event is (docs/definitions.md: Celebrations; issue 22: posted to
/// chat channels as they happen after an import). Only positive results: the rules of
/// [`Standing::personal_bests`], [`Standing::first_at_quota`], [`Standing::quota_streak`]
/// and [`Standing::clean_streak`], for a final month.
#[derive(Debug, Clone, PartialEq)]
pub enum Celebrated {
    /// A new (not matched) personal best.
    PersonalBest(PersonalBest),
    /// The rep's first month at quota: attainment (a fraction, ≥ 1) and the revenue quota.
    FirstAtQuota {
        /// Attainment, a fraction.
        attainment: Decimal,
        /// Revenue quota, currency units.
        quota: Money,
    },
    /// Two or more months in a row at quota, ending this month.
    QuotaStreak {
        /// Months in the streak.
        months: u32,
        /// This month's attainment, a fraction.
        attainment: Decimal,
    },
    /// Two or more months in a row of clean paperwork, ending this month.
    CleanStreak {
        /// Months in the streak.
        months: u32,
    },
}

/// One celebrated event of one rep in one month: who (identity key, name, team as at
/// the month's end) and what. Never an e-mail address or a flag in what is shown.
#[derive(Debug, Clone, PartialEq)]
pub struct CelebratedEvent {
    /// The rep's identity key (hashed into the idempotency key, never shown).
    pub rep_key: String,
    /// The rep's name.
    pub name: String,
    /// The rep's team at the month's end.
    pub team: String,
    /// What is celebrated.
    pub what: Celebrated,
}

impl CelebratedEvent {
    /// What is celebrated, as the idempotency key spells it: `personal-best-revenue`
    /// (`-units`, `-attainment`, `-rating`), `first-at-quota`, `quota-streak`,
    /// `clean-streak`. With the rep and the month it identifies the event: a streak
    /// that grows next month is another month's event.
    pub fn slug(&self) -> String {
        match &self.what {
            Celebrated::PersonalBest(b) => format!("personal-best-{}", b.metric),
            Celebrated::FirstAtQuota { .. } => "first-at-quota".into(),
            Celebrated::QuotaStreak { .. } => "quota-streak".into(),
            Celebrated::CleanStreak { .. } => "clean-streak".into(),
        }
    }
}
