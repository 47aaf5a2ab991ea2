//! The org's fiscal calendar (config `org.fiscal_year_start`, `org.fiscal_year_named_by`):
//! which fiscal year and quarter a month falls in, the months of a fiscal quarter or
//! year, and their labels ("FY2027 Q3"). A standard fiscal year: twelve calendar
//! months from the first day of the start month. Plain data, no I/O.

use super::Period;

/// Which calendar year names a fiscal year that does not start in January.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FyNamedBy {
    /// By the calendar year it ends in: April 2026 – March 2027 is FY2027 (the default,
    /// as in Salesforce's standard fiscal year, "Fiscal Year is Based On: The Ending Month").
    #[default]
    End,
    /// By the calendar year it starts in: April 2026 – March 2027 is FY2026.
    Start,
}

/// A standard fiscal year: its first month and how it is named. `Default` is the
/// calendar year (January, named by its ending year, which is the same year).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FiscalCalendar {
    /// First month of the fiscal year, 1 (January) ..= 12.
    pub start_month: u32,
    /// How a fiscal year is named.
    pub named_by: FyNamedBy,
}

impl Default for FiscalCalendar {
    fn default() -> Self {
        FiscalCalendar { start_month: 1, named_by: FyNamedBy::End }
    }
}

/// `p` moved by `n` months (negative: back).
fn plus_months(p: Period, n: i32) -> Period {
    let idx = p.year() * 12 + p.month() as i32 - 1 + n;
    Period::new(idx.div_euclid(12), (idx.rem_euclid(12) + 1) as u32).unwrap_or(p)
}

impl FiscalCalendar {
    /// The calendar year in which the fiscal year holding `p` starts.
    fn start_year(self, p: Period) -> i32 {
        if p.month() >= self.start_month { p.year() } else { p.year() - 1 }
    }

    /// The fiscal year (its name, e.g. 2027 for FY2027) that holds month `p`.
    pub fn year_of(self, p: Period) -> i32 {
        let start = self.start_year(p);
        match self.named_by {
            FyNamedBy::End if self.start_month != 1 => start + 1,
            _ => start,
        }
    }

    /// The first month of fiscal year `fy` (April 2026 for FY2027, April start, named
    /// by its end); `None` when the year is out of range.
    pub fn first_month(self, fy: i32) -> Option<Period> {
        let start_year = match self.named_by {
            FyNamedBy::End if self.start_month != 1 => fy - 1,
            _ => fy,
        };
        Period::new(start_year, self.start_month)
    }

    /// The twelve months of fiscal year `fy`, first to last.
    pub fn year_months(self, fy: i32) -> Option<Vec<Period>> {
        let first = self.first_month(fy)?;
        Some((0..12).map(|i| plus_months(first, i)).collect())
    }

    /// The fiscal quarter (1..=4) of month `p`.
    pub fn quarter_of(self, p: Period) -> u32 {
        (p.month() + 12 - self.start_month) % 12 / 3 + 1
    }

    /// The three months of quarter `q` (1..=4) of fiscal year `fy`; `None` for a bad
    /// quarter or year.
    pub fn quarter_months(self, fy: i32, q: u32) -> Option<[Period; 3]> {
        if !(1..=4).contains(&q) {
            return None;
        }
        let first = plus_months(self.first_month(fy)?, 3 * (q as i32 - 1));
        Some([first, plus_months(first, 1), plus_months(first, 2)])
    }

    /// The first month of the fiscal quarter that holds `p`.
    pub fn quarter_start(self, p: Period) -> Period {
        plus_months(p, -(((p.month() + 12 - self.start_month) % 3) as i32))
    }

    /// The first month of the fiscal year that holds `p`.
    pub fn year_start(self, p: Period) -> Period {
        Period::new(self.start_year(p), self.start_month).unwrap_or(p)
    }

    /// Month number `m` (1..=12) of fiscal year `fy`: with an April start named by its
    /// end, March of FY2027 is March 2027 and April of FY2027 is April 2026.
    pub fn month_in(self, fy: i32, m: u32) -> Option<Period> {
        let first = self.first_month(fy)?;
        if !(1..=12).contains(&m) {
            return None;
        }
        Some(plus_months(first, ((m + 12 - self.start_month) % 12) as i32))
    }

    /// "FY2027" for the fiscal year holding `p`.
    pub fn year_label(self, p: Period) -> String {
        format!("FY{}", self.year_of(p))
    }

    /// "FY2027 Q3" for the fiscal quarter holding `p`.
    pub fn quarter_label(self, p: Period) -> String {
        format!("FY{} Q{}", self.year_of(p), self.quarter_of(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(y: i32, m: u32) -> Period {
        Period::new(y, m).unwrap()
    }

    #[test]
    fn an_april_fiscal_year_named_by_its_end_or_its_start() {
        let end = FiscalCalendar { start_month: 4, named_by: FyNamedBy::End };
        let start = FiscalCalendar { start_month: 4, named_by: FyNamedBy::Start };
        // FY2014 is Apr 2013 – Mar 2014 named by its end, Apr 2014 – Mar 2015 by its start.
        assert_eq!(end.first_month(2014), Some(p(2013, 4)));
        assert_eq!(end.year_months(2014).unwrap()[11], p(2014, 3));
        assert_eq!(start.first_month(2014), Some(p(2014, 4)));
        assert_eq!(start.year_months(2014).unwrap()[11], p(2015, 3));
        assert_eq!(end.year_of(p(2014, 3)), 2014);
        assert_eq!(end.year_of(p(2014, 4)), 2015);
        assert_eq!(start.year_of(p(2014, 3)), 2013);
        assert_eq!(start.year_of(p(2014, 4)), 2014);
        // October 2026 is the third quarter (Oct–Dec) of FY2027 / FY2026.
        assert_eq!(end.quarter_label(p(2026, 10)), "FY2027 Q3");
        assert_eq!(start.quarter_label(p(2026, 10)), "FY2026 Q3");
        assert_eq!(end.quarter_label(p(2027, 3)), "FY2027 Q4");
        assert_eq!(end.quarter_months(2027, 3), Some([p(2026, 10), p(2026, 11), p(2026, 12)]));
        assert_eq!(end.quarter_months(2027, 4), Some([p(2027, 1), p(2027, 2), p(2027, 3)]));
        assert_eq!(end.quarter_months(2027, 5), None);
        assert_eq!(end.quarter_start(p(2026, 11)), p(2026, 10));
        assert_eq!(end.quarter_start(p(2027, 3)), p(2027, 1));
        assert_eq!(end.year_start(p(2027, 3)), p(2026, 4));
        assert_eq!(end.month_in(2027, 3), Some(p(2027, 3)));
        assert_eq!(end.month_in(2027, 4), Some(p(2026, 4)));
        assert_eq!(start.month_in(2026, 3), Some(p(2027, 3)));
    }

    #[test]
    fn the_default_is_the_calendar_year() {
        let cal = FiscalCalendar::default();
        assert_eq!(cal.quarter_label(p(2026, 10)), "FY2026 Q4");
        assert_eq!(cal.first_month(2026), Some(p(2026, 1)));
        assert_eq!(cal.quarter_start(p(2026, 5)), p(2026, 4));
        assert_eq!(cal.month_in(2026, 7), Some(p(2026, 7)));
        // Named by its start, a January year is still the calendar year.
        let s = FiscalCalendar { start_month: 1, named_by: FyNamedBy::Start };
        assert_eq!(s.quarter_label(p(2026, 10)), "FY2026 Q4");
    }
}

/// A rep's revenue against quota over consecutive months of a fiscal quarter or year,
/// through one month (docs/definitions.md, "Quarter and year to date"):
/// `metrics::to_date`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToDate {
    /// First month counted (the fiscal quarter's or year's first month).
    pub first: Period,
    /// Last month counted (the month under review).
    pub through: Period,
    /// Revenue of the months counted, currency units.
    pub revenue: rust_decimal::Decimal,
    /// The sum of the months' revenue quotas (a month without one adds nothing).
    pub quota: rust_decimal::Decimal,
    /// revenue ÷ quota, exact; `None` when the summed quota is zero (no quota).
    pub attainment: Option<rust_decimal::Decimal>,
    /// Months counted in which the rep was on the roster but had no quota.
    pub months_without_quota: u32,
}
