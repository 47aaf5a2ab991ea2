//! The sums of one rep's deal rows in one month (issue 19, "compute once"): what every
//! month's standings read instead of the rows themselves. Kept per month and per rep *as
//! the export named them* (before roster matching, which depends on the month's roster),
//! by `metrics::Rollup` in memory and by the store's `rep_month_sums` table, which the
//! import keeps up to date. One definition of how a row adds, here, for both.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{DealRow, StageClass};

/// What one deal row adds to its rep's revenue and units (docs/definitions.md: Revenue,
/// Credit splits): a won row adds amount × share and units × share as exported (a
/// negative won amount, a credit, stays negative; a row without units counts 1); a
/// cancelled row subtracts the absolute values (exports differ on the sign they give
/// cancellations); an ignored row adds nothing (`None`).
pub fn credit(d: &DealRow) -> Option<(Decimal, Decimal)> {
    let amount = d.amount.unwrap_or_default() * d.share;
    let units = d.units.unwrap_or(Decimal::ONE) * d.share;
    match d.class {
        StageClass::Won => Some((amount, units)),
        StageClass::Cancelled => Some((-amount.abs(), -units.abs())),
        StageClass::Ignored => None,
    }
}

/// Running totals of one rep's won and cancelled rows in one month (money and units in
/// currency units, exact; counts of rows). Which rows are added (a cancellation whose
/// sale is not on record may count nowhere) is the caller's decision.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RepMonthSums {
    /// Revenue: won amounts × share minus cancelled absolute amounts × share.
    pub revenue: Decimal,
    /// Units likewise (a row without units counts 1).
    pub units: Decimal,
    /// Won rows.
    pub won: u32,
    /// Cancelled rows.
    pub cancelled: u32,
    /// Sum of the won rows' ratings.
    pub rating_sum: Decimal,
    /// Won rows with a rating.
    pub rating_n: u32,
    /// Won rows that report paperwork (complete or errors given).
    pub paperwork_n: u32,
    /// Of those, complete with zero errors.
    pub clean_n: u32,
    /// Paperwork errors on won rows.
    pub errors: u32,
    /// The team on the rep's last row (in stored order) that gives one.
    pub export_team: Option<String>,
    /// Stored-order key (close date, deal id, event `"sale"`/`"cancellation"`) of the
    /// row that set `export_team`: the team as exported is the one on the rep's last row
    /// in stored order.
    pub team_at: Option<(NaiveDate, String, &'static str)>,
    /// The latest close date summed.
    pub through: Option<NaiveDate>,
    /// Rows that are a summary export's monthly totals (not dated by day).
    pub month_totals: u32,
}

impl RepMonthSums {
    /// Adds one won or cancelled row of this rep and month, in any order: the sums, the
    /// latest date, and the team of the row latest in stored order (close date, deal id,
    /// event) among the rows that give one. An ignored row adds nothing.
    pub fn add_row(&mut self, d: &DealRow) {
        let Some(date) = d.close_date else { return };
        if d.class == StageClass::Ignored {
            return;
        }
        self.through = self.through.max(Some(date));
        let event = d.event().as_str();
        let later = d.team.is_some()
            && self
                .team_at
                .as_ref()
                .is_none_or(|(at, id, ev)| (date, d.deal_id.as_str(), event) > (*at, id.as_str(), *ev));
        if later {
            self.team_at = Some((date, d.deal_id.clone(), event));
            self.add(d);
        } else {
            // No team on this row, or an earlier row than the one that set it: keep it.
            let team = self.export_team.take();
            self.add(d);
            self.export_team = team;
        }
    }

    /// Adds the sums of the same rep and month made from other rows (another spelling of
    /// the rep in the export, or the other half of a split by whether a cancellation's
    /// sale is on record): the sums, the later row's team, the later date. The result is
    /// the one [`RepMonthSums::add_row`] gives for all the rows.
    pub fn merge(&mut self, o: &RepMonthSums) {
        self.revenue += o.revenue;
        self.units += o.units;
        self.won += o.won;
        self.cancelled += o.cancelled;
        self.rating_sum += o.rating_sum;
        self.rating_n += o.rating_n;
        self.paperwork_n += o.paperwork_n;
        self.clean_n += o.clean_n;
        self.errors += o.errors;
        if o.team_at > self.team_at {
            self.export_team.clone_from(&o.export_team);
            self.team_at.clone_from(&o.team_at);
        }
        self.through = self.through.max(o.through);
        self.month_totals += o.month_totals;
    }

    /// Adds one deal event, credited by the row's share: won adds its amount and units
    /// as exported, cancelled subtracts its absolute amount and units, ignored adds
    /// nothing. Ratings and paperwork count per won deal row.
    fn add(&mut self, d: &DealRow) {
        let Some((amount, units)) = credit(d) else { return };
        match d.class {
            StageClass::Won => {
                self.revenue += amount;
                self.units += units;
                self.won += 1;
                if let Some(r) = d.rating {
                    self.rating_sum += r;
                    self.rating_n += 1;
                }
                if d.paperwork_complete.is_some() || d.paperwork_errors.is_some() {
                    self.paperwork_n += 1;
                    self.errors += d.paperwork_errors.unwrap_or(0);
                    if d.paperwork_complete != Some(false) && d.paperwork_errors.unwrap_or(0) == 0 {
                        self.clean_n += 1;
                    }
                }
            }
            StageClass::Cancelled => {
                self.revenue += amount;
                self.units += units;
                self.cancelled += 1;
            }
            StageClass::Ignored => return,
        }
        if d.is_month_total() {
            self.month_totals += 1;
        }
        if d.team.is_some() {
            self.export_team.clone_from(&d.team);
        }
    }
}

/// The stored-order event name of `s` (`"sale"` or `"cancellation"`), as the
/// `'static` text [`RepMonthSums::team_at`] keeps; `None` for any other text.
pub fn event_name(s: &str) -> Option<&'static str> {
    match s {
        "sale" => Some("sale"),
        "cancellation" => Some("cancellation"),
        _ => None,
    }
}
