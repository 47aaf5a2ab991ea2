//! The selling-day calendar and month-to-date pacing (docs/definitions.md: Pacing).

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use crate::domain::{Money, Pacing, Period};

/// Which days are selling days: days of the week (Monday first) minus holidays.
/// The default is every day (model homes open on weekends).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SellingCalendar {
    /// `days[0]` is Monday … `days[6]` Sunday.
    pub days: [bool; 7],
    /// Dates that are never selling days.
    pub holidays: BTreeSet<NaiveDate>,
}

impl Default for SellingCalendar {
    fn default() -> Self {
        SellingCalendar { days: [true; 7], holidays: BTreeSet::new() }
    }
}

impl SellingCalendar {
    /// Whether `d` is a selling day.
    pub fn is_selling_day(&self, d: NaiveDate) -> bool {
        self.days[d.weekday().num_days_from_monday() as usize] && !self.holidays.contains(&d)
    }

    /// Selling days in `period`.
    pub fn selling_days(&self, period: Period) -> u32 {
        self.elapsed(period, period.last_day())
    }

    /// Selling days of `period` up to and including `through` (0 before the month,
    /// all of them after it).
    pub fn elapsed(&self, period: Period, through: NaiveDate) -> u32 {
        let end = through.min(period.last_day());
        period.first_day().iter_days().take_while(|d| *d <= end).filter(|d| self.is_selling_day(*d)).count() as u32
    }
}

/// Share of the month's selling days that must have passed before "off pace" may be
/// flagged (docs/definitions.md: no off-pace flag before 30% of the month).
pub const OFF_PACE_AFTER: Decimal = Decimal::from_parts(3, 0, 0, false, 1);

/// Month-to-date pacing of `actual` revenue against `quota` through `through`
/// (inclusive, org-local date). Pace = actual / (quota × elapsed / selling days), a
/// fraction. `None` when the month has no selling days.
pub fn pacing(
    cal: &SellingCalendar,
    period: Period,
    through: NaiveDate,
    actual: Money,
    quota: Option<Money>,
) -> Option<Pacing> {
    let total = cal.selling_days(period);
    if total == 0 {
        return None;
    }
    let elapsed = cal.elapsed(period, through);
    let (t, e) = (Decimal::from(total), Decimal::from(elapsed));
    let quota = quota.filter(|q| *q > Decimal::ZERO);
    let expected = quota.map(|q| q * e / t).unwrap_or_default();
    let remaining = total - elapsed;
    Some(Pacing {
        through: through.min(period.last_day()),
        selling_days: total,
        elapsed,
        expected_to_date: expected,
        pace: (expected > Decimal::ZERO).then(|| actual / expected),
        projected: (elapsed > 0).then(|| actual / e * t),
        needed_per_day: quota
            .filter(|_| remaining > 0)
            .map(|q| (q - actual).max(Decimal::ZERO) / Decimal::from(remaining)),
        can_flag: e / t >= OFF_PACE_AFTER,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }
    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn seven_day_calendar() {
        // March 2026 has 31 selling days. Through 10 March: 10 elapsed (10/31 = 32% ≥ 30%).
        // Quota 310,000: expected 100,000; actual 80,000 -> pace exactly 0.8;
        // projected 80,000 / 10 × 31 = 248,000; needed (310,000 − 80,000) / 21 days.
        let cal = SellingCalendar::default();
        let march: Period = "2026-03".parse().unwrap();
        let p = pacing(&cal, march, d("2026-03-10"), dec("80000"), Some(dec("310000"))).unwrap();
        assert_eq!((p.selling_days, p.elapsed), (31, 10));
        assert_eq!(p.expected_to_date, dec("100000"));
        assert_eq!(p.pace, Some(dec("0.8")));
        assert_eq!(p.projected, Some(dec("248000")));
        assert_eq!(p.needed_per_day, Some(dec("230000") / dec("21")));
        assert!(p.can_flag);
        // Through 9 March: 9/31 = 29% of the month: too early to flag.
        let p = pacing(&cal, march, d("2026-03-09"), dec("0"), Some(dec("310000"))).unwrap();
        assert!(!p.can_flag);
        assert_eq!(p.pace, Some(dec("0")));
        // No quota: no pace, no amount needed.
        let p = pacing(&cal, march, d("2026-03-20"), dec("5"), None).unwrap();
        assert_eq!((p.pace, p.needed_per_day), (None, None));
    }

    #[test]
    fn tuesday_to_saturday_with_a_holiday() {
        // March 2026 starts on a Sunday. Tue–Sat days: 3–7, 10–14, 17–21, 24–28, 31 = 21;
        // 17 March a holiday -> 20 selling days. Through Saturday 14 March: 10 elapsed
        // (exactly half). Quota 200,000: expected 100,000; actual 70,000 -> pace 0.7;
        // projected 70,000 / 10 × 20 = 140,000; needed 130,000 / 10 = 13,000 a day.
        let cal = SellingCalendar {
            days: [false, true, true, true, true, true, false],
            holidays: [d("2026-03-17")].into_iter().collect(),
        };
        let march: Period = "2026-03".parse().unwrap();
        assert_eq!(cal.selling_days(march), 20);
        assert!(!cal.is_selling_day(d("2026-03-16")), "a Monday");
        let p = pacing(&cal, march, d("2026-03-14"), dec("70000"), Some(dec("200000"))).unwrap();
        assert_eq!((p.selling_days, p.elapsed), (20, 10));
        assert_eq!(p.expected_to_date, dec("100000"));
        assert_eq!(p.pace, Some(dec("0.7")));
        assert_eq!(p.projected, Some(dec("140000")));
        assert_eq!(p.needed_per_day, Some(dec("13000")));
        // Sunday 15 and Monday 16 add nothing; the holiday neither.
        assert_eq!(cal.elapsed(march, d("2026-03-17")), 10);
        assert_eq!(cal.elapsed(march, d("2026-03-18")), 11);
        // Through month end: all elapsed, nothing remaining, needed is None.
        let p = pacing(&cal, march, d("2026-04-02"), dec("210000"), Some(dec("200000"))).unwrap();
        assert_eq!((p.elapsed, p.needed_per_day, p.pace), (20, None, Some(dec("1.05"))));
    }
}
