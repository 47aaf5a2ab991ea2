//! Sub-par flags in words: one typed view ([`FlagView`]) of a rep's flags, made once from
//! the computed [`Standing`], and the templates that turn it into words — the sentences
//! of the manager's team memo and of `quotad explain` (`email/flags.txt`) and the 1:1
//! sheet's talking points (`pdf/talking_points.txt`). Both templates may be overridden
//! like the others. Imports `domain` only.

use rust_decimal::Decimal;
use serde::Serialize;
use tera::Context;

use super::{Format, PeriodView, PersonView, ReportError, Templates};
use crate::domain::{Attention, Judged, Period, Standards, Standing};

/// One sub-par flag, its figures formatted ("87.5%", "$12,000", "3.5"). Serialized with
/// its kind as `reason` (`missed_twice`, `below_target`, `missed`, `off_pace`, `rating`,
/// `paperwork`), the names the templates test.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum FlagView {
    /// Below quota this month and last (then neither `below_target` nor `missed`).
    MissedTwice {
        /// Last month's attainment.
        previous: String,
        /// This month's attainment.
        current: String,
    },
    /// Final attainment below `metrics.below_target` (then not `missed` too).
    BelowTarget {
        /// The attainment.
        attainment: String,
        /// The target (`metrics.below_target`).
        threshold: String,
    },
    /// Final attainment below 100%.
    Missed {
        /// The attainment.
        attainment: String,
    },
    /// Month in progress, pace below `metrics.off_pace`.
    OffPace {
        /// The pace.
        pace: String,
        /// The threshold (`metrics.off_pace`).
        threshold: String,
        /// Revenue needed per selling day from here to reach quota, if known.
        needed_per_day: Option<String>,
    },
    /// Mean rating below `metrics.rating_standard`.
    Rating {
        /// The mean rating, one decimal.
        rating: String,
        /// How many ratings.
        count: u32,
        /// The standard, one decimal.
        standard: String,
    },
    /// Clean paperwork rate below `metrics.paperwork_standard`.
    Paperwork {
        /// The rate.
        rate: String,
        /// The standard.
        standard: String,
    },
}

/// The flags of `s` as views, in the order they are told: the attainment flag (missed
/// two months running, else below target, else missed), off pace, then rating and
/// paperwork below standard. Empty when no flag is raised. Each figure is shown against
/// the standard it is judged by (`standards`, metrics `Settings::standards`): a rep who
/// missed quota never reads "missed quota at 100.0%" (docs/definitions.md, the display rule).
pub fn flag_views(fmt: &Format, s: &Standing, standards: &Standards) -> Vec<FlagView> {
    let f = &s.flags;
    let pct = |d: Decimal| fmt.judged(standards, Judged::Attainment, d);
    let attainment = s.attainment.map(pct).unwrap_or_default();
    let mut out = Vec::new();
    let twice = f.needs_attention.iter().find_map(|a| match a {
        Attention::MissedTwice { previous, current } => Some((*previous, *current)),
        _ => None,
    });
    if let Some((previous, current)) = twice {
        out.push(FlagView::MissedTwice { previous: pct(previous), current: pct(current) });
    } else if f.below_target {
        out.push(FlagView::BelowTarget { attainment, threshold: fmt.percent(standards.below_target) });
    } else if f.missed {
        out.push(FlagView::Missed { attainment });
    }
    if f.off_pace {
        let p = s.pacing.as_ref();
        out.push(FlagView::OffPace {
            pace: p.and_then(|p| p.pace).map(|x| fmt.judged(standards, Judged::Pace, x)).unwrap_or_default(),
            threshold: fmt.percent(standards.off_pace),
            needed_per_day: p.and_then(|p| p.needed_per_day).map(|n| fmt.money(n)),
        });
    }
    for a in &f.needs_attention {
        match a {
            Attention::MissedTwice { .. } => {}
            Attention::RatingBelowStandard { rating, count, standard } => out.push(FlagView::Rating {
                rating: fmt.fixed_vs(*rating, 1, &[*standard]),
                count: *count,
                standard: fmt.fixed(*standard, 1),
            }),
            Attention::PaperworkBelowStandard { rate, standard } => out.push(FlagView::Paperwork {
                rate: fmt.percent_vs(*rate, &[*standard]),
                standard: fmt.percent_vs(*standard, &[*standard]),
            }),
        }
    }
    out
}

/// The flags as one sentence each, for a manager (the team memo) or `quotad explain`:
/// `email/flags.txt`, one non-empty line per flag.
pub fn flag_sentences(t: &Templates, flags: &[FlagView]) -> Result<Vec<String>, ReportError> {
    if flags.is_empty() {
        return Ok(Vec::new());
    }
    let mut ctx = Context::new();
    ctx.insert("flags", flags);
    lines(&t.render("email/flags.txt", &ctx)?)
}

/// The manager's talking points for a rep's flags on the 1:1 sheet:
/// `pdf/talking_points.txt`, one entry per non-empty line.
pub fn talking_points(
    t: &Templates,
    fmt: &Format,
    period: Period,
    s: &Standing,
    standards: &Standards,
) -> Result<Vec<String>, ReportError> {
    let mut ctx = Context::new();
    ctx.insert("rep", &PersonView::new(&s.name));
    ctx.insert("period", &PeriodView::new(period, fmt));
    ctx.insert("flags", &flag_views(fmt, s, standards));
    lines(&t.render("pdf/talking_points.txt", &ctx)?)
}

fn lines(text: &str) -> Result<Vec<String>, ReportError> {
    Ok(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect())
}

/// One flag of each kind with made-up figures: what `quotad check` renders to find a
/// broken override.
pub fn sample_flags() -> Vec<FlagView> {
    vec![
        FlagView::MissedTwice { previous: "80.0%".into(), current: "70.0%".into() },
        FlagView::BelowTarget { attainment: "70.0%".into(), threshold: "80.0%".into() },
        FlagView::Missed { attainment: "90.0%".into() },
        FlagView::OffPace { pace: "60.0%".into(), threshold: "80.0%".into(), needed_per_day: Some("$1,000".into()) },
        FlagView::Rating { rating: "3.5".into(), count: 4, standard: "4.0".into() },
        FlagView::Paperwork { rate: "80.0%".into(), standard: "90.0%".into() },
    ]
}
