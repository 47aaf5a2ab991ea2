//! Report: view structs made for templates, and Tera rendering of e-mails.
//!
//! Owns Tera. Imports `domain` only: it reads the view data that `metrics` computed
//! ([`crate::domain::Standing`]) and formats it; it never recomputes a figure.
//! Built-in templates are embedded with `include_str!` and can be overridden file by
//! file from the folder named by `paths.templates`. Templates ending `.html` are
//! HTML-autoescaped; `.txt` templates (subjects, plain text) are not.

mod format;
pub mod standings;

use std::path::Path;

use serde::Serialize;
use tera::{Context, Tera};

pub use format::{Format, LOCALES};

use crate::domain::{MonthStandings, Period, Standing};

/// Report errors name the template.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A template failed to parse or render.
    #[error("template {name}: {detail}")]
    Template {
        /// Template name, e.g. "email/quota_memo.html".
        name: String,
        /// Tera's error chain.
        detail: String,
    },
    /// An override file could not be read.
    #[error("template override {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// The built-in templates: (name, text).
const BUILTIN: &[(&str, &str)] = &[
    ("email/quota_memo_subject.txt", include_str!("../../templates/email/quota_memo_subject.txt")),
    ("email/quota_memo.txt", include_str!("../../templates/email/quota_memo.txt")),
    ("email/quota_memo.html", include_str!("../../templates/email/quota_memo.html")),
];

/// The built-in templates as (name, text), for `quotad init` to copy out.
pub fn builtin_templates() -> &'static [(&'static str, &'static str)] {
    BUILTIN
}

/// Names of every template quotad renders (the files a user may override).
pub fn template_names() -> impl Iterator<Item = &'static str> {
    BUILTIN.iter().map(|(n, _)| *n)
}

/// Loaded templates.
pub struct Templates {
    tera: Tera,
    /// Which templates came from the override folder.
    pub overridden: Vec<String>,
}

fn tera_detail(e: &tera::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}

impl Templates {
    /// The built-in templates, each replaced by `<dir>/<name>` when that file exists.
    pub fn load(dir: Option<&Path>) -> Result<Templates, ReportError> {
        let mut tera = Tera::default();
        tera.autoescape_on(vec![".html"]);
        let mut overridden = Vec::new();
        let mut files = Vec::new();
        for (name, builtin) in BUILTIN {
            let text = match dir.map(|d| d.join(name)).filter(|p| p.is_file()) {
                Some(p) => {
                    overridden.push(name.to_string());
                    std::fs::read_to_string(&p)
                        .map_err(|source| ReportError::Io { path: p.display().to_string(), source })?
                }
                None => builtin.to_string(),
            };
            files.push((*name, text));
        }
        tera.add_raw_templates(files)
            .map_err(|e| ReportError::Template { name: "(loading)".into(), detail: tera_detail(&e) })?;
        Ok(Templates { tera, overridden })
    }

    fn render(&self, name: &str, ctx: &Context) -> Result<String, ReportError> {
        self.tera.render(name, ctx).map_err(|e| ReportError::Template { name: name.into(), detail: tera_detail(&e) })
    }
}

/// A rendered e-mail: subject, plain text and HTML.
#[derive(Debug, Clone)]
pub struct RenderedMail {
    /// One line, no CR/LF.
    pub subject: String,
    /// text/plain body.
    pub text: String,
    /// text/html body.
    pub html: String,
}

/// The org as templates see it.
#[derive(Debug, Clone, Serialize)]
pub struct OrgView {
    /// Org name.
    pub name: String,
}

/// A month as templates see it.
#[derive(Debug, Clone, Serialize)]
pub struct PeriodView {
    /// `YYYY-MM`.
    pub code: String,
    /// "November 2026".
    pub label: String,
}

impl From<Period> for PeriodView {
    fn from(p: Period) -> Self {
        PeriodView { code: p.to_string(), label: p.label() }
    }
}

/// The rep as templates see it.
#[derive(Debug, Clone, Serialize)]
pub struct RepView {
    /// Full name.
    pub name: String,
    /// First word of the name, for the greeting.
    pub first_name: String,
    /// Team.
    pub team: String,
}

/// The memo month's targets, formatted.
#[derive(Debug, Clone, Serialize)]
pub struct QuotaView {
    /// Revenue quota, e.g. "$7,095,000".
    pub revenue: String,
    /// Units quota, e.g. "10"; absent when the quota file has none.
    pub units: Option<String>,
}

/// Last month's results, formatted. Absent values are `None` so a template can say
/// "no quota" or "no ratings" rather than print a zero.
#[derive(Debug, Clone, Serialize)]
pub struct ResultsView {
    /// The month.
    pub period: PeriodView,
    /// The rep's team that month (team ranks are within it).
    pub team: String,
    /// Whether any export has been loaded for the month; when not, the figures are
    /// placeholders and templates say the results are not in yet.
    pub has_data: bool,
    /// Newest close date among the month's deals, ISO.
    pub data_through: Option<String>,
    /// Figures are as of this date (the newest export that fed them), ISO.
    pub as_of: Option<String>,
    /// Revenue, won minus cancelled, e.g. "$6,210,500".
    pub revenue: String,
    /// Units, won minus cancelled.
    pub units: String,
    /// Won deals (rows).
    pub won_deals: u32,
    /// Cancellations.
    pub cancellations: u32,
    /// Revenue quota; `None` = no quota.
    pub revenue_quota: Option<String>,
    /// Attainment, e.g. "87.5%"; `None` = no quota.
    pub attainment: Option<String>,
    /// Company rank, e.g. 3; `None` = not ranked.
    pub company_rank: Option<u32>,
    /// Reps ranked company-wide.
    pub ranked: u32,
    /// Rank in the team.
    pub team_rank: Option<u32>,
    /// Reps ranked in the team.
    pub team_ranked: u32,
    /// Mean rating to one decimal, e.g. "4.3" or "3.0"; `None` = no ratings.
    pub rating: Option<String>,
    /// How many ratings.
    pub rating_count: u32,
    /// Clean paperwork rate, e.g. "92.0%"; `None` = not recorded.
    pub clean_paperwork: Option<String>,
    /// "final" or "preliminary" (the month's final export is not loaded yet).
    pub status: &'static str,
    /// What the rep earned, one short phrase each: "a new personal best in revenue
    /// ($130,000)", "3 months in a row at quota", "your first month at quota".
    pub earned: Vec<String>,
}

/// Everything the quota memo templates receive.
#[derive(Debug, Clone, Serialize)]
pub struct QuotaMemoView {
    /// The org.
    pub org: OrgView,
    /// The rep.
    pub rep: RepView,
    /// The memo month (the month the quota is for).
    pub period: PeriodView,
    /// This month's quota; `None` = no quota set.
    pub quota: Option<QuotaView>,
    /// Last month's results; `None` when the rep was not on the roster last month.
    pub last: Option<ResultsView>,
}

/// Builds a quota memo's view from computed standings: `this_month` gives the memo
/// month's quota, `last_month` the previous month's results and ranks.
pub fn quota_memo_view(
    org: &str,
    fmt: &Format,
    this_month: &MonthStandings,
    last_month: &MonthStandings,
    rep_key: &str,
) -> Option<QuotaMemoView> {
    let now = this_month.rep(rep_key)?;
    let last = last_month.rep(rep_key);
    Some(QuotaMemoView {
        org: OrgView { name: org.to_string() },
        rep: RepView {
            name: now.name.clone(),
            first_name: now.name.split_whitespace().next().unwrap_or(&now.name).to_string(),
            team: now.team.clone(),
        },
        period: this_month.period.into(),
        quota: now
            .revenue_quota
            .map(|q| QuotaView { revenue: fmt.money(q), units: now.units_quota.map(|u| fmt.number(u, 1)) }),
        last: last.map(|l| results_view(fmt, last_month, l)),
    })
}

fn results_view(fmt: &Format, m: &MonthStandings, s: &Standing) -> ResultsView {
    ResultsView {
        period: m.period.into(),
        team: s.team.clone(),
        has_data: m.as_of.is_some(),
        data_through: m.data_through.map(|d| d.to_string()),
        as_of: m.as_of.map(|d| d.to_string()),
        revenue: fmt.money(s.revenue),
        units: fmt.number(s.units, 1),
        won_deals: s.won_deals,
        cancellations: s.cancellations,
        revenue_quota: s.revenue_quota.map(|q| fmt.money(q)),
        attainment: s.attainment.map(|a| fmt.percent(a)),
        company_rank: s.company_rank,
        ranked: m.ranked,
        team_rank: s.team_rank,
        team_ranked: m.ranked_in_team.get(&s.team).copied().unwrap_or(0),
        rating: s.rating.map(|r| fmt.fixed(r, 1)),
        rating_count: s.rating_count,
        clean_paperwork: s.clean_paperwork.map(|c| fmt.percent(c)),
        status: if m.preliminary { "preliminary" } else { "final" },
        earned: earned(fmt, s),
    }
}

/// The celebration phrases for one rep's month, from the computed standing.
fn earned(fmt: &Format, s: &Standing) -> Vec<String> {
    use crate::domain::BestKind;
    let mut out = Vec::new();
    for b in &s.personal_bests {
        let value = match b.metric {
            "revenue" => fmt.money(b.value),
            "attainment" => fmt.percent(b.value),
            "rating" => fmt.fixed(b.value, 1),
            _ => fmt.number(b.value, 1),
        };
        let what = match b.kind {
            BestKind::New => "a new personal best",
            BestKind::Matched => "matched your personal best",
        };
        out.push(format!("{what} in {} ({value})", b.metric));
    }
    if s.first_at_quota {
        out.push("your first month at quota".into());
    } else if s.quota_streak >= 2 {
        out.push(format!("{} months in a row at quota", s.quota_streak));
    }
    if s.clean_streak >= 2 {
        out.push(format!("{} months in a row of clean paperwork", s.clean_streak));
    }
    out
}

/// Renders the quota memo: subject, text and HTML.
pub fn render_quota_memo(t: &Templates, view: &QuotaMemoView) -> Result<RenderedMail, ReportError> {
    let ctx = Context::from_serialize(view)
        .map_err(|e| ReportError::Template { name: "email/quota_memo".into(), detail: tera_detail(&e) })?;
    let subject = t.render("email/quota_memo_subject.txt", &ctx)?;
    Ok(RenderedMail {
        subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
        text: t.render("email/quota_memo.txt", &ctx)?,
        html: t.render("email/quota_memo.html", &ctx)?,
    })
}
