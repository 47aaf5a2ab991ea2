//! Report: view structs made for templates, and Tera rendering of e-mails.
//!
//! Owns Tera. Imports `domain` only: it reads the view data that `metrics` computed
//! ([`crate::domain::Standing`]) and formats it; it never recomputes a figure.
//! Built-in templates are embedded with `include_str!` and can be overridden file by
//! file from the folder named by `paths.templates`. Templates ending `.html` are
//! HTML-autoescaped; `.txt` templates (subjects, plain text) are not.

mod format;

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
    ("email/dead_letters_subject.txt", include_str!("../../templates/email/dead_letters_subject.txt")),
    ("email/dead_letters.txt", include_str!("../../templates/email/dead_letters.txt")),
    ("email/dead_letters.html", include_str!("../../templates/email/dead_letters.html")),
];

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
    /// Figures are as of this date (newest close date), ISO.
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
    /// Last month's results.
    pub last: ResultsView,
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
    let last = last_month.rep(rep_key)?;
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
        last: results_view(fmt, last_month, last),
    })
}

fn results_view(fmt: &Format, m: &MonthStandings, s: &Standing) -> ResultsView {
    ResultsView {
        period: m.period.into(),
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
    }
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

/// One undelivered message, as the admin's dead-letter notice shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetterView {
    /// The recipient's address.
    pub recipient: String,
    /// The message's subject.
    pub subject: String,
    /// The outbox idempotency key (job/period/recipient/kind).
    pub key: String,
    /// Attempts made.
    pub attempts: u32,
    /// When it was first queued, e.g. "2026-11-01 13:00 UTC".
    pub created_at: String,
    /// The last failure, naming the server or file.
    pub last_error: String,
}

/// Everything the dead-letter notice templates receive.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLettersView {
    /// The org.
    pub org: OrgView,
    /// Where delivery was attempted, e.g. "SMTP smtp.example.com:587 (STARTTLS)".
    pub transport: String,
    /// How many letters (the length of `letters`).
    pub count: usize,
    /// The dead letters, oldest first.
    pub letters: Vec<DeadLetterView>,
}

impl DeadLettersView {
    /// A view for `org` and `transport` listing `letters`.
    pub fn new(org: &str, transport: &str, letters: Vec<DeadLetterView>) -> DeadLettersView {
        DeadLettersView {
            org: OrgView { name: org.into() },
            transport: transport.into(),
            count: letters.len(),
            letters,
        }
    }
}

/// Renders the admin's notice listing dead letters: subject, text and HTML.
pub fn render_dead_letters(t: &Templates, view: &DeadLettersView) -> Result<RenderedMail, ReportError> {
    let ctx = Context::from_serialize(view)
        .map_err(|e| ReportError::Template { name: "email/dead_letters".into(), detail: tera_detail(&e) })?;
    let subject = t.render("email/dead_letters_subject.txt", &ctx)?;
    Ok(RenderedMail {
        subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
        text: t.render("email/dead_letters.txt", &ctx)?,
        html: t.render("email/dead_letters.html", &ctx)?,
    })
}
