//! Quarter and year to date (docs/definitions.md, "Quarter and year to date"): a rep's
//! revenue against quota summed over the months of a fiscal quarter or year through
//! the month under review, from each month's computed standings.

use rust_decimal::Decimal;

use crate::domain::{MonthStandings, Period, ToDate};

/// The rep `rep_key`'s revenue and summed revenue quota over the months of `months`
/// from `first` through `through` (inclusive; other months are ignored). A month the
/// rep is not in (not yet hired, not on the roster) counts nothing; a month without a
/// quota adds its revenue but no quota, and is counted in `months_without_quota`.
/// Attainment = revenue ÷ summed quota, exact; none when that sum is zero. `None`
/// when the rep is in none of the months.
pub fn to_date(
    months: &[impl std::borrow::Borrow<MonthStandings>],
    rep_key: &str,
    first: Period,
    through: Period,
) -> Option<ToDate> {
    let mut out = ToDate {
        first,
        through,
        revenue: Decimal::ZERO,
        quota: Decimal::ZERO,
        attainment: None,
        months_without_quota: 0,
    };
    let mut seen = false;
    for m in months.iter().map(|m| m.borrow()).filter(|m| m.period >= first && m.period <= through) {
        let Some(s) = m.rep(rep_key) else { continue };
        seen = true;
        out.revenue += s.revenue;
        match s.revenue_quota.filter(|q| *q > Decimal::ZERO) {
            Some(q) => out.quota += q,
            None => out.months_without_quota += 1,
        }
    }
    out.attainment = (out.quota > Decimal::ZERO).then(|| out.revenue / out.quota);
    seen.then_some(out)
}
