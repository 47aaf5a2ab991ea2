//! Report: view structs made for templates, Tera rendering of e-mails, the PDF
//! documents (the weekly ranking and the 1:1 prep sheet, laid out with printpdf), and
//! the Excel workbooks (standings, a rep's deals; rust_xlsxwriter, [`xlsx`]).
//!
//! Owns Tera, printpdf and rust_xlsxwriter. Imports `domain` only: it reads the view data that `metrics` computed
//! ([`crate::domain::Standing`]) and formats it; it never recomputes a figure.
//! Built-in templates are embedded with `include_str!` and can be overridden file by
//! file from the folder named by `paths.templates`. Templates ending `.html` are
//! HTML-autoescaped; `.txt` templates (subjects, plain text) are not.

pub mod approval;
pub mod board;
pub mod chat;
pub mod documents;
mod flags;
mod fonts;
mod format;
pub mod pdf;
pub mod standings;
mod system_fonts;
pub mod words;
pub mod xlsx;

use std::path::Path;

use serde::Serialize;
use tera::{Context, Tera};

pub use documents::{
    OneOnOneInput, PaperworkIssue, Pdf, RankingInput, TeamEditionInput, TeamEditions, ranked_days, ranked_label,
};
pub use flags::{FlagView, flag_sentences, flag_views, talking_points};
pub use format::{Format, FormatError, MoneyDecimals, closest_locales};
pub use pdf::{Embed, Fonts, GlyphUsage, OneOnOneMail, Paper, PdfSettings, SharedFonts};
pub use words::{Language, LanguageFrom, Words, WordsError};

use crate::domain::{BoardKind, FiscalCalendar, Judged, MonthStandings, Period, Standards, Standing, ToDate};

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
    /// `paths.templates` names a folder that does not exist (or is not a folder).
    #[error(
        "the templates folder {path} (paths.templates) does not exist: create it (`quotad init` writes the built-in templates into a new setup) or remove paths.templates to use the built-in templates"
    )]
    NoTemplatesFolder {
        /// The folder, as configured (resolved against the config file's folder).
        path: String,
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
    ("email/closing.txt", include_str!("../../templates/email/closing.txt")),
    ("email/team_memo_subject.txt", include_str!("../../templates/email/team_memo_subject.txt")),
    ("email/team_memo.txt", include_str!("../../templates/email/team_memo.txt")),
    ("email/team_memo.html", include_str!("../../templates/email/team_memo.html")),
    ("email/correction_subject.txt", include_str!("../../templates/email/correction_subject.txt")),
    ("email/correction.txt", include_str!("../../templates/email/correction.txt")),
    ("email/correction.html", include_str!("../../templates/email/correction.html")),
    ("email/dead_letters_subject.txt", include_str!("../../templates/email/dead_letters_subject.txt")),
    ("email/dead_letters.txt", include_str!("../../templates/email/dead_letters.txt")),
    ("email/dead_letters.html", include_str!("../../templates/email/dead_letters.html")),
    ("email/quarantine_subject.txt", include_str!("../../templates/email/quarantine_subject.txt")),
    ("email/quarantine.txt", include_str!("../../templates/email/quarantine.txt")),
    ("email/quarantine.html", include_str!("../../templates/email/quarantine.html")),
    ("email/weekly_ranking_subject.txt", include_str!("../../templates/email/weekly_ranking_subject.txt")),
    ("email/weekly_ranking.txt", include_str!("../../templates/email/weekly_ranking.txt")),
    ("email/weekly_ranking.html", include_str!("../../templates/email/weekly_ranking.html")),
    ("email/weekly_ranking_team_subject.txt", include_str!("../../templates/email/weekly_ranking_team_subject.txt")),
    ("email/weekly_ranking_team.txt", include_str!("../../templates/email/weekly_ranking_team.txt")),
    ("email/weekly_ranking_team.html", include_str!("../../templates/email/weekly_ranking_team.html")),
    ("email/one_on_one_subject.txt", include_str!("../../templates/email/one_on_one_subject.txt")),
    ("email/one_on_one.txt", include_str!("../../templates/email/one_on_one.txt")),
    ("email/one_on_one.html", include_str!("../../templates/email/one_on_one.html")),
    ("email/admin_notice_subject.txt", include_str!("../../templates/email/admin_notice_subject.txt")),
    ("email/admin_notice.txt", include_str!("../../templates/email/admin_notice.txt")),
    ("email/admin_notice.html", include_str!("../../templates/email/admin_notice.html")),
    ("email/flags.txt", include_str!("../../templates/email/flags.txt")),
    ("email/approval_digest_subject.txt", include_str!("../../templates/email/approval_digest_subject.txt")),
    ("email/approval_digest.txt", include_str!("../../templates/email/approval_digest.txt")),
    ("email/approval_digest.html", include_str!("../../templates/email/approval_digest.html")),
    ("pdf/talking_points.txt", include_str!("../../templates/pdf/talking_points.txt")),
    // The sales-floor board (issue 21).
    ("web/board.html", include_str!("../../templates/web/board.html")),
    ("web/board_live.html", include_str!("../../templates/web/board_live.html")),
];

/// The templates written in the org's language (`org.language`): a language folder
/// (`templates/<lang>/`, bundled for de, fr and es, or the operator's own) has each of
/// these; `quotad check` names any it lacks (English is used for it). The others — the
/// admin's notices (dead letters, quarantine, `admin_notice`), the approval digest and
/// the board — stay English.
pub const TRANSLATED: &[&str] = &[
    "email/quota_memo_subject.txt",
    "email/quota_memo.txt",
    "email/quota_memo.html",
    "email/closing.txt",
    "email/team_memo_subject.txt",
    "email/team_memo.txt",
    "email/team_memo.html",
    "email/correction_subject.txt",
    "email/correction.txt",
    "email/correction.html",
    "email/weekly_ranking_subject.txt",
    "email/weekly_ranking.txt",
    "email/weekly_ranking.html",
    "email/weekly_ranking_team_subject.txt",
    "email/weekly_ranking_team.txt",
    "email/weekly_ranking_team.html",
    "email/one_on_one_subject.txt",
    "email/one_on_one.txt",
    "email/one_on_one.html",
    "email/flags.txt",
    "pdf/talking_points.txt",
];

/// The bundled translations: (language, name, text). A language's file for each of
/// [`TRANSLATED`]; the test `every_bundled_language_has_every_template` holds them to it.
const BUILTIN_LANG: &[(&str, &str, &str)] = &include!("builtin_lang.rs");

/// The built-in templates as (name, text), for `quotad init` to copy out.
pub fn builtin_templates() -> &'static [(&'static str, &'static str)] {
    BUILTIN
}

/// The bundled translated templates as (language, name, text), for `quotad init` to
/// copy out (into `templates/<lang>/<name>`).
pub fn builtin_translations() -> &'static [(&'static str, &'static str, &'static str)] {
    BUILTIN_LANG
}

/// Names of every template quotad renders (the files a user may override).
pub fn template_names() -> impl Iterator<Item = &'static str> {
    BUILTIN.iter().map(|(n, _)| *n)
}

/// Loaded templates.
pub struct Templates {
    tera: Tera,
    /// Which templates came from the override folder (a language's as `de/email/…`).
    pub overridden: Vec<String>,
    /// The language they are written in (`org.language`).
    pub language: String,
    /// The translated templates ([`TRANSLATED`]) the language has no file for, bundled
    /// or in `paths.templates/<lang>/`: English is used for each (`quotad check` names them).
    pub missing: Vec<String>,
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
    /// The templates in `language` (an ISO 639 code, `org.language`). For each name, the
    /// first that exists of: `<dir>/<language>/<name>`, the bundled translation, then —
    /// for English, for the templates that stay English, and for a translation the
    /// language lacks (listed in `missing`) — `<dir>/<name>` and the built-in English.
    pub fn load(dir: Option<&Path>, language: &str) -> Result<Templates, ReportError> {
        if let Some(d) = dir
            && !d.is_dir()
        {
            return Err(ReportError::NoTemplatesFolder { path: d.display().to_string() });
        }
        let mut tera = Tera::default();
        tera.autoescape_on(vec![".html"]);
        let mut overridden = Vec::new();
        let mut missing = Vec::new();
        let mut files = Vec::new();
        let read = |p: &Path| {
            std::fs::read_to_string(p).map_err(|source| ReportError::Io { path: p.display().to_string(), source })
        };
        for (name, builtin) in BUILTIN {
            if language != "en" && TRANSLATED.contains(name) {
                if let Some(p) = dir.map(|d| d.join(language).join(name)).filter(|p| p.is_file()) {
                    overridden.push(format!("{language}/{name}"));
                    files.push((*name, read(&p)?));
                    continue;
                }
                if let Some((_, _, text)) = BUILTIN_LANG.iter().find(|(l, n, _)| *l == language && n == name) {
                    files.push((*name, text.to_string()));
                    continue;
                }
                missing.push(name.to_string());
            }
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
        Ok(Templates { tera, overridden, language: language.to_string(), missing })
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

impl PeriodView {
    /// The month `p`, named in the org's locale ([`Format::month`]).
    pub fn new(p: Period, fmt: &Format) -> PeriodView {
        PeriodView { code: p.to_string(), label: fmt.month(p) }
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
    /// New to the team: hired in the memo month or the month before, so no full month
    /// of results yet (the memo welcomes them, and their quota is a ramp-up quota).
    pub welcome: bool,
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
    /// Newest close date among the month's deals, in the org's locale ("March 31,
    /// 2026", "31. März 2026").
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
    /// Rank company-wide on the results board (revenue).
    pub results_rank: Option<u32>,
    /// Reps on the company results board.
    pub results_ranked: u32,
    /// Rank in the team on the results board.
    pub results_team_rank: Option<u32>,
    /// Reps on the team's results board.
    pub results_team_ranked: u32,
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

/// The standards a memo states, formatted.
#[derive(Debug, Clone, Serialize)]
pub struct StandardsView {
    /// Mean customer rating expected, e.g. "4.0".
    pub rating: Option<String>,
    /// Clean paperwork expected, e.g. "90.0%".
    pub paperwork: Option<String>,
    /// Ratings needed to be ranked on ratings.
    pub min_ratings: u32,
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
    /// Selling days in the memo month.
    pub selling_days: u32,
    /// What the revenue quota means per week, e.g. "$1,281,000".
    pub quota_per_week: Option<String>,
    /// The standards for rating and paperwork.
    pub standards: StandardsView,
    /// The sales leader's closing lines (template `email/closing.txt`).
    pub closing: String,
    /// This month's quota; `None` = no quota set.
    pub quota: Option<QuotaView>,
    /// Last month's results; `None` when the rep was not on the roster last month.
    pub last: Option<ResultsView>,
    /// Fiscal quarter and year to date through last month; `None` without last month's
    /// results (set by the memo job, docs/definitions.md "Quarter and year to date").
    pub to_date: Option<FiscalToDateView>,
}

/// Revenue against quota over the months of a fiscal quarter or year to date, formatted.
#[derive(Debug, Clone, Serialize)]
pub struct ToDateView {
    /// "FY2027 Q3" or "FY2027".
    pub label: String,
    /// The months counted: "Oct 2026", or "Apr 2026 – Oct 2026".
    pub months: String,
    /// Revenue, e.g. "$1,250,000".
    pub revenue: String,
    /// The summed quota; `None` = no quota in those months.
    pub quota: Option<String>,
    /// Attainment by the display rule (99.95% shows 99.9%); `None` = no quota.
    pub attainment: Option<String>,
    /// Exact attainment at or above 100%.
    pub at_quota: bool,
}

/// Quarter to date and year to date (fiscal), through the month under review.
#[derive(Debug, Clone, Serialize)]
pub struct FiscalToDateView {
    /// Quarter to date.
    pub quarter: ToDateView,
    /// Year to date.
    pub year: ToDateView,
}

/// Formats quarter and year to date ([`ToDate`], computed by `metrics::to_date`)
/// against `standards` (attainment by the display rule), labelled by `fiscal`.
pub fn fiscal_to_date_view(
    fmt: &Format,
    standards: &Standards,
    fiscal: FiscalCalendar,
    qtd: &ToDate,
    ytd: &ToDate,
) -> FiscalToDateView {
    let view = |t: &ToDate, label: String| ToDateView {
        label,
        months: if t.first == t.through {
            fmt.month_short(t.through)
        } else {
            format!("{} – {}", fmt.month_short(t.first), fmt.month_short(t.through))
        },
        revenue: fmt.money(t.revenue),
        quota: t.attainment.map(|_| fmt.money(t.quota)),
        attainment: t.attainment.map(|a| fmt.judged(standards, Judged::Attainment, a)),
        at_quota: t.attainment.is_some_and(|a| a >= rust_decimal::Decimal::ONE),
    };
    FiscalToDateView {
        quarter: view(qtd, fiscal.quarter_label(qtd.through)),
        year: view(ytd, fiscal.year_label(ytd.through)),
    }
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
    let welcome = now.hire_date.is_some_and(|h| h > last_month.period.first_day());
    Some(QuotaMemoView {
        org: OrgView { name: org.to_string() },
        rep: RepView { name: now.name.clone(), first_name: first_name(&now.name), team: now.team.clone(), welcome },
        period: PeriodView::new(this_month.period, fmt),
        selling_days: this_month.selling_days,
        quota_per_week: now.quota_per_week.map(|q| fmt.money(q)),
        standards: standards_view(fmt, this_month),
        closing: String::new(),
        quota: now
            .revenue_quota
            .map(|q| QuotaView { revenue: fmt.money(q), units: now.units_quota.map(|u| fmt.number(u, 1)) }),
        last: last.map(|l| results_view(fmt, last_month, l)),
        to_date: None,
    })
}

pub use crate::domain::first_name;

fn standards_view(fmt: &Format, m: &MonthStandings) -> StandardsView {
    StandardsView {
        rating: m.standards.rating.map(|r| fmt.fixed(r, 1)),
        paperwork: m.standards.paperwork.map(|p| fmt.percent_vs(p, &[p])),
        min_ratings: m.standards.min_ratings,
    }
}

fn results_view(fmt: &Format, m: &MonthStandings, s: &Standing) -> ResultsView {
    ResultsView {
        period: PeriodView::new(m.period, fmt),
        team: s.team.clone(),
        has_data: m.as_of.is_some(),
        data_through: m.data_through.map(|d| fmt.date(d)),
        as_of: m.as_of.map(|d| d.to_string()),
        revenue: fmt.money(s.revenue),
        units: fmt.number(s.units, 1),
        won_deals: s.won_deals,
        cancellations: s.cancellations,
        revenue_quota: s.revenue_quota.map(|q| fmt.money(q)),
        attainment: s.attainment.map(|a| fmt.judged(&m.standards, Judged::Attainment, a)),
        company_rank: s.company_rank,
        ranked: m.ranked,
        team_rank: s.team_rank,
        team_ranked: m.ranked_in_team.get(&s.team).copied().unwrap_or(0),
        results_rank: s.results_rank,
        results_ranked: board_len(m, BoardKind::Results, None),
        results_team_rank: s.results_team_rank,
        results_team_ranked: board_len(m, BoardKind::Results, Some(&s.team)),
        rating: s.rating.map(|r| fmt.judged(&m.standards, Judged::Rating, r)),
        rating_count: s.rating_count,
        clean_paperwork: s.clean_paperwork.map(|c| fmt.judged(&m.standards, Judged::CleanPaperwork, c)),
        status: if m.preliminary { "preliminary" } else { "final" },
        earned: earned(fmt, &m.standards, s, false),
    }
}

fn board_len(m: &MonthStandings, kind: BoardKind, team: Option<&str>) -> u32 {
    m.board(kind, team).map(|b| b.entries.len() as u32).unwrap_or(0)
}

/// The celebration phrases for one rep's month, from the computed standing: addressed
/// to the rep ("matched your personal best") or, with `theirs`, about them to their
/// manager ("matched their personal best", the team memo).
fn earned(fmt: &Format, standards: &Standards, s: &Standing, theirs: bool) -> Vec<String> {
    use crate::domain::BestKind;
    let mut out = Vec::new();
    for b in &s.personal_bests {
        let value = match b.metric {
            "revenue" => fmt.money(b.value),
            "attainment" => fmt.judged(standards, Judged::Attainment, b.value),
            "rating" => fmt.judged(standards, Judged::Rating, b.value),
            _ => fmt.number(b.value, 1),
        };
        let key = match b.kind {
            BestKind::New => "earned.new_best",
            BestKind::Matched if theirs => "earned.matched_best_theirs",
            BestKind::Matched => "earned.matched_best",
        };
        out.push(fmt.tf(key, &[("metric", &fmt.t(&format!("metric.{}", b.metric))), ("value", &value)]));
    }
    if s.first_at_quota {
        out.push(fmt.t(if theirs { "earned.first_at_quota_theirs" } else { "earned.first_at_quota" }));
    } else if s.quota_streak >= 2 {
        out.push(fmt.tf("earned.quota_streak", &[("n", &s.quota_streak.to_string())]));
    }
    if s.clean_streak >= 2 {
        out.push(fmt.tf("earned.clean_streak", &[("n", &s.clean_streak.to_string())]));
    }
    out
}

/// Renders the quota memo: subject, text and HTML (the closing lines from
/// `email/closing.txt`).
pub fn render_quota_memo(t: &Templates, view: &QuotaMemoView) -> Result<RenderedMail, ReportError> {
    render_mail(t, "quota_memo", view)
}

/// Renders `email/{name}_subject.txt`, `email/{name}.txt` and `.html` with `view`, after
/// rendering `email/closing.txt` into its `closing` field.
fn render_mail<V: Serialize>(t: &Templates, name: &str, view: &V) -> Result<RenderedMail, ReportError> {
    let err = |e: tera::Error| ReportError::Template { name: format!("email/{name}"), detail: tera_detail(&e) };
    let mut ctx = Context::from_serialize(view).map_err(err)?;
    let closing = t.render("email/closing.txt", &ctx)?;
    ctx.insert("closing", closing.trim_end());
    let subject = t.render(&format!("email/{name}_subject.txt"), &ctx)?;
    Ok(RenderedMail {
        subject: subject.split_ascii_whitespace().collect::<Vec<_>>().join(" "),
        text: t.render(&format!("email/{name}.txt"), &ctx)?,
        html: t.render(&format!("email/{name}.html"), &ctx)?,
    })
}

/// One rep's line in a manager's team memo.
#[derive(Debug, Clone, Serialize)]
pub struct TeamRowView {
    /// Rep name.
    pub name: String,
    /// Team.
    pub team: String,
    /// This month's revenue quota; `None` = no quota.
    pub revenue_quota: Option<String>,
    /// This month's units quota.
    pub units_quota: Option<String>,
    /// Last month's attainment; `None` = no quota then.
    pub last_attainment: Option<String>,
    /// "▲", "▼" or "=" against the month before; empty without both months.
    pub trend: String,
}

/// A team's totals in a manager's memo. Team attainment never mixes reps with and
/// without a quota: it is the revenue of the reps with a quota against their summed
/// quota; the others are listed apart with their revenue.
#[derive(Debug, Clone, Serialize)]
pub struct TeamTotalView {
    /// Team name.
    pub team: String,
    /// This month's summed revenue quota; `None` = no rep in the team has one ("no
    /// quota", never $0).
    pub quota: Option<String>,
    /// Last month's revenue of all the team's active reps.
    pub last_revenue: String,
    /// Last month's revenue of the reps with a quota (compared with `last_quota`).
    pub last_quota_revenue: String,
    /// Last month's summed quota; `None` = no quota.
    pub last_quota: Option<String>,
    /// Last month's team attainment; `None` = no quota.
    pub last_attainment: Option<String>,
    /// Last month's reps without a quota, each "name (revenue)", e.g. "Wyn Wu ($300,000)".
    pub last_without_quota: Vec<String>,
    /// Last month's rank among teams.
    pub last_rank: Option<u32>,
    /// Teams ranked last month.
    pub teams_ranked: u32,
}

/// A rep to talk to, and why (manager only).
#[derive(Debug, Clone, Serialize)]
pub struct AttentionView {
    /// Rep name.
    pub name: String,
    /// Reasons, one sentence each.
    pub reasons: Vec<String>,
}

/// A rep to celebrate, and for what.
#[derive(Debug, Clone, Serialize)]
pub struct CelebrateView {
    /// Rep name.
    pub name: String,
    /// What they earned.
    pub what: Vec<String>,
}

/// Everything the manager's team memo templates receive.
#[derive(Debug, Clone, Serialize)]
pub struct TeamMemoView {
    /// The org.
    pub org: OrgView,
    /// The manager's name.
    pub manager: String,
    /// First word of the manager's name.
    pub first_name: String,
    /// The memo month.
    pub period: PeriodView,
    /// Last month.
    pub last_period: PeriodView,
    /// Last month's figures are preliminary.
    pub last_preliminary: bool,
    /// The manager's active reps.
    pub rows: Vec<TeamRowView>,
    /// Per team the manager leads.
    pub teams: Vec<TeamTotalView>,
    /// Reps who need attention (sub-par flags), private to the manager.
    pub attention: Vec<AttentionView>,
    /// Reps to celebrate.
    pub celebrate: Vec<CelebrateView>,
    /// The sales leader's closing lines.
    pub closing: String,
}

/// Builds a manager's team memo from three months of standings (`this_month` for the
/// quotas, `last_month` for results, `before` for the trend arrows), for the reps whose
/// keys are `rep_keys` (the manager's active reps). Who needs attention, and why, is put
/// in words by `email/flags.txt` ([`flag_sentences`]).
///
/// Errors: that template fails to render.
#[allow(clippy::too_many_arguments)]
pub fn team_memo_view(
    t: &Templates,
    org: &str,
    fmt: &Format,
    manager: &str,
    rep_keys: &[String],
    this_month: &MonthStandings,
    last_month: &MonthStandings,
    before: &MonthStandings,
) -> Result<TeamMemoView, ReportError> {
    let mut rows = Vec::new();
    let mut attention = Vec::new();
    let mut celebrate = Vec::new();
    let mut teams: Vec<String> = Vec::new();
    // Reps ranked company-wide last month: a top place must be in the board's top half.
    let ranked = last_month.reps.iter().filter(|s| s.company_rank.is_some()).count();
    for key in rep_keys {
        let Some(now) = this_month.rep(key) else { continue };
        let last = last_month.rep(key);
        let prev = before.rep(key);
        // Compared as displayed, so the arrow agrees with the two figures shown.
        let shown_last = last.and_then(|s| s.attainment).map(|a| last_month.standards.shown(Judged::Attainment, a));
        let shown_prev = prev.and_then(|s| s.attainment).map(|a| before.standards.shown(Judged::Attainment, a));
        let trend = match (shown_last, shown_prev) {
            (Some(a), Some(b)) if a > b => "▲",
            (Some(a), Some(b)) if a < b => "▼",
            (Some(_), Some(_)) => "=",
            _ => "",
        };
        rows.push(TeamRowView {
            name: now.name.clone(),
            team: now.team.clone(),
            revenue_quota: now.revenue_quota.map(|q| fmt.money(q)),
            units_quota: now.units_quota.map(|u| fmt.number(u, 1)),
            last_attainment: last
                .and_then(|s| s.attainment)
                .map(|a| fmt.judged(&last_month.standards, Judged::Attainment, a)),
            trend: trend.into(),
        });
        if !teams.contains(&now.team) {
            teams.push(now.team.clone());
        }
        if let Some(l) = last {
            let st = &last_month.standards;
            let reasons = flag_sentences(t, &flag_views(fmt, l, st))?;
            if !reasons.is_empty() {
                attention.push(AttentionView { name: l.name.clone(), reasons });
            }
            let mut what = earned(fmt, st, l, true);
            if l.attainment.is_some_and(|a| a >= rust_decimal::Decimal::ONE) {
                let shown = l.attainment.map(|a| fmt.judged(st, Judged::Attainment, a)).unwrap_or_default();
                what.insert(0, fmt.tf("earned.at_quota", &[("value", &shown)]));
            }
            // A top-3 rank is celebrated only for a positive attainment.
            if l.company_rank.is_some_and(|r| crate::domain::top_place(r, ranked))
                && l.attainment.is_some_and(|a| a > rust_decimal::Decimal::ZERO)
            {
                let rank = l.company_rank.unwrap_or_default().to_string();
                what.insert(0, fmt.tf("earned.company_rank", &[("rank", &rank)]));
            }
            if !what.is_empty() {
                celebrate.push(CelebrateView { name: l.name.clone(), what });
            }
        }
    }
    let teams_ranked = last_month.teams.iter().filter(|t| t.rank.is_some()).count() as u32;
    let teams = teams
        .iter()
        .map(|t| {
            let now = this_month.teams.iter().find(|x| &x.team == t);
            let last = last_month.teams.iter().find(|x| &x.team == t);
            TeamTotalView {
                team: t.clone(),
                quota: now.and_then(|x| x.revenue_quota).map(|q| fmt.money(q)),
                last_revenue: fmt.money(last.map(|x| x.revenue).unwrap_or_default()),
                last_quota_revenue: fmt.money(last.map(|x| x.quota_revenue).unwrap_or_default()),
                last_quota: last.and_then(|x| x.revenue_quota).map(|q| fmt.money(q)),
                last_attainment: last.and_then(|x| x.attainment).map(|a| fmt.percent(a)),
                last_without_quota: last
                    .map(|x| x.without_quota.iter().map(|(n, r)| format!("{n} ({})", fmt.money(*r))).collect())
                    .unwrap_or_default(),
                last_rank: last.and_then(|x| x.rank),
                teams_ranked,
            }
        })
        .collect();
    Ok(TeamMemoView {
        org: OrgView { name: org.to_string() },
        manager: manager.to_string(),
        first_name: first_name(manager),
        period: PeriodView::new(this_month.period, fmt),
        last_period: PeriodView::new(last_month.period, fmt),
        last_preliminary: last_month.preliminary,
        rows,
        teams,
        attention,
        celebrate,
        closing: String::new(),
    })
}

/// Renders the manager's team memo.
pub fn render_team_memo(t: &Templates, view: &TeamMemoView) -> Result<RenderedMail, ReportError> {
    render_mail(t, "team_memo", view)
}

/// One corrected figure: what was sent, and what it is now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeView {
    /// What changed, e.g. "Revenue quota".
    pub what: String,
    /// The value in the memo that went out.
    pub old: String,
    /// The value now.
    pub new: String,
}

/// A correction notice: to a rep (their own changes) or to a manager (every rep's).
#[derive(Debug, Clone, Serialize)]
pub struct CorrectionView {
    /// The org.
    pub org: OrgView,
    /// Recipient's first name.
    pub first_name: String,
    /// The memo month corrected.
    pub period: PeriodView,
    /// When the original memo went out (ISO date).
    pub sent_on: String,
    /// Per rep: (rep name, changes). A rep's own notice has one entry.
    pub reps: Vec<(String, Vec<ChangeView>)>,
    /// Whether this notice goes to a manager about their reps.
    pub for_manager: bool,
    /// The sales leader's closing lines.
    pub closing: String,
}

/// Renders a correction notice.
pub fn render_correction(t: &Templates, view: &CorrectionView) -> Result<RenderedMail, ReportError> {
    render_mail(t, "correction", view)
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

/// Everything the quarantine notice templates receive (the admin is told a file was
/// rejected whole).
#[derive(Debug, Clone, Serialize)]
pub struct QuarantineView {
    /// The org.
    pub org: OrgView,
    /// The file's name.
    pub file: String,
    /// The config source that read it.
    pub source: String,
    /// Its kind: deals, summary, quotas or roster.
    pub kind: String,
    /// Why it was rejected, one line.
    pub reason: String,
    /// The first rejected rows, each "row 3, column E 'Sale Price': '…': expected …".
    pub rejects: Vec<String>,
    /// How many more rejected rows the attached report lists.
    pub more: usize,
    /// The attached report's file name, e.g. "deals.csv.errors.txt".
    pub report_name: String,
}

/// Renders the quarantine notice for the admin.
pub fn render_quarantine(t: &Templates, view: &QuarantineView) -> Result<RenderedMail, ReportError> {
    let ctx = Context::from_serialize(view)
        .map_err(|e| ReportError::Template { name: "email/quarantine".into(), detail: tera_detail(&e) })?;
    let subject = t.render("email/quarantine_subject.txt", &ctx)?;
    Ok(RenderedMail {
        subject: subject.split_ascii_whitespace().collect::<Vec<_>>().join(" "),
        text: t.render("email/quarantine.txt", &ctx)?,
        html: t.render("email/quarantine.html", &ctx)?,
    })
}

/// A notice to `mail.admin` from the calendar or a job (an occurrence missed or skipped,
/// memos sent with last month preliminary), for `email/admin_notice*`.
#[derive(Debug, Clone, Serialize)]
pub struct AdminNoticeView {
    /// The org.
    pub org: OrgView,
    /// The subject line.
    pub subject: String,
    /// The text: paragraphs, each a list of lines.
    pub paragraphs: Vec<Vec<String>>,
}

impl AdminNoticeView {
    /// A notice whose text is `text`: paragraphs separated by a blank line.
    pub fn new(org: &str, subject: &str, text: &str) -> AdminNoticeView {
        let paragraphs = text
            .trim()
            .split("\n\n")
            .map(|p| p.lines().map(str::trim_end).map(String::from).collect())
            .filter(|p: &Vec<String>| !p.is_empty())
            .collect();
        AdminNoticeView { org: OrgView { name: org.to_string() }, subject: subject.to_string(), paragraphs }
    }
}

/// Renders an admin notice (`email/admin_notice*`): subject, text and HTML.
pub fn render_admin_notice(t: &Templates, view: &AdminNoticeView) -> Result<RenderedMail, ReportError> {
    let ctx = Context::from_serialize(view)
        .map_err(|e| ReportError::Template { name: "email/admin_notice".into(), detail: tera_detail(&e) })?;
    let subject = t.render("email/admin_notice_subject.txt", &ctx)?;
    Ok(RenderedMail {
        subject: subject.split_ascii_whitespace().collect::<Vec<_>>().join(" "),
        text: t.render("email/admin_notice.txt", &ctx)?,
        html: t.render("email/admin_notice.html", &ctx)?,
    })
}

/// Renders the admin's notice listing dead letters: subject, text and HTML.
pub fn render_dead_letters(t: &Templates, view: &DeadLettersView) -> Result<RenderedMail, ReportError> {
    let ctx = Context::from_serialize(view)
        .map_err(|e| ReportError::Template { name: "email/dead_letters".into(), detail: tera_detail(&e) })?;
    let subject = t.render("email/dead_letters_subject.txt", &ctx)?;
    Ok(RenderedMail {
        subject: subject.split_ascii_whitespace().collect::<Vec<_>>().join(" "),
        text: t.render("email/dead_letters.txt", &ctx)?,
        html: t.render("email/dead_letters.html", &ctx)?,
    })
}

/// A person as the document e-mails address them.
#[derive(Debug, Clone, Serialize)]
pub struct PersonView {
    /// Full name.
    pub name: String,
    /// First word of the name.
    pub first_name: String,
}

impl PersonView {
    /// From a full name.
    pub fn new(name: &str) -> PersonView {
        PersonView { name: name.to_string(), first_name: first_name(name) }
    }
}

/// One line of the ranking e-mail's top 3.
#[derive(Debug, Clone, Serialize)]
pub struct TopView {
    /// Company rank on attainment.
    pub rank: u32,
    /// Name.
    pub name: String,
    /// Team.
    pub team: String,
    /// Attainment, e.g. "112.5%".
    pub attainment: String,
}

/// One line of a board's top 3 in the ranking e-mail.
#[derive(Debug, Clone, Serialize)]
pub struct TopEntryView {
    /// Rank on the board (standard competition ranking).
    pub rank: u32,
    /// Name.
    pub name: String,
    /// Team.
    pub team: String,
    /// The value ranked, as displayed: "$300,000" or "112.5%".
    pub value: String,
}

/// A company board's top 3 (ties included; only positive values: nobody is
/// celebrated for nothing) in the ranking e-mail.
#[derive(Debug, Clone, Serialize)]
pub struct TopBoardView {
    /// "attainment" or "results".
    pub board: &'static str,
    /// "Top 3 on attainment", "Top 3 on results (revenue)".
    pub label: String,
    /// Its lines, best first.
    pub entries: Vec<TopEntryView>,
}

/// One celebration line: a label ("At or above quota") and its names.
#[derive(Debug, Clone, Serialize)]
pub struct CelebrationView {
    /// What is celebrated.
    pub label: String,
    /// Who, formatted.
    pub text: String,
}

/// Everything the weekly ranking e-mail templates receive.
#[derive(Debug, Clone, Serialize)]
pub struct RankingMailView {
    /// The org.
    pub org: OrgView,
    /// The recipient.
    pub recipient: PersonView,
    /// ISO week, e.g. "2026-W43".
    pub week: String,
    /// The week's days, e.g. "Oct 19, 2026 – Oct 25, 2026".
    pub days: String,
    /// The month the figures are month to date of: the month of the week's Monday.
    pub period: PeriodView,
    /// The ranked period in words: "October 2026 in full", "November 2026 to date".
    pub ranked: String,
    /// The ranked days, e.g. "Nov 1 – Nov 8".
    pub ranked_days: String,
    /// "as of" date, e.g. "25 October 2026".
    pub as_of: String,
    /// "final" or "preliminary".
    pub status: &'static str,
    /// The company attainment board's ranks 1 to 3 (ties included), only reps with a
    /// positive attainment (so possibly fewer than three, or none).
    pub top: Vec<TopView>,
    /// Nobody has a result yet this period: nobody is ranked, and the e-mail says so.
    pub no_results: bool,
    /// The company boards' top 3: attainment (when anyone has a quota), then results.
    pub boards: Vec<TopBoardView>,
    /// Nobody has a quota this month: the ranking is on results (revenue) alone.
    pub no_quotas: bool,
    /// Celebrations, as on the PDF.
    pub celebrations: Vec<CelebrationView>,
    /// The attached PDF's file name.
    pub attachment: String,
}

/// The company boards' top 3 for the ranking e-mails (attainment when anyone has a quota,
/// then results), naming only positive values (nobody is celebrated for nothing), and
/// whether nobody has a quota this period.
fn top_boards(m: &MonthStandings, fmt: &Format) -> (Vec<TopBoardView>, bool) {
    let no_quotas = m.board(BoardKind::Attainment, None).is_none_or(|b| b.entries.is_empty());
    let boards: Vec<TopBoardView> = [BoardKind::Attainment, BoardKind::Results]
        .into_iter()
        .filter_map(|kind| {
            // The celebrated top places (`metrics::celebrations`: positive, top half).
            let board = m.celebrations.top.iter().find(|b| b.kind == kind)?;
            let entries: Vec<TopEntryView> = board
                .entries
                .iter()
                .map(|e| TopEntryView {
                    rank: e.rank,
                    name: e.name.clone(),
                    team: e.team.clone(),
                    value: match kind {
                        BoardKind::Results => fmt.money(e.value),
                        _ => fmt.percent_shown(e.value),
                    },
                })
                .collect();
            let (board, label) = match kind {
                BoardKind::Results => ("results", fmt.t("celebrate.top3_results")),
                _ => ("attainment", fmt.t("celebrate.top3_attainment")),
            };
            (!entries.is_empty()).then_some(TopBoardView { board, label, entries })
        })
        .collect();
    (boards, no_quotas)
}

/// Builds the weekly ranking e-mail's view for `recipient` from the week's standings.
pub fn ranking_mail_view(
    org: &str,
    fmt: &Format,
    week: &str,
    days: (chrono::NaiveDate, chrono::NaiveDate),
    m: &MonthStandings,
    recipient: &str,
    attachment: &str,
) -> RankingMailView {
    // The celebrated top of the attainment board: ranks 1 to 3 with a positive value.
    let top = m
        .celebrations
        .top
        .iter()
        .filter(|b| b.kind == BoardKind::Attainment)
        .flat_map(|b| &b.entries)
        .map(|e| TopView {
            rank: e.rank,
            name: e.name.clone(),
            team: e.team.clone(),
            attainment: fmt.percent_shown(e.value),
        })
        .collect();
    let (boards, no_quotas) = top_boards(m, fmt);
    RankingMailView {
        org: OrgView { name: org.to_string() },
        recipient: PersonView::new(recipient),
        week: week.to_string(),
        days: fmt.days(days.0, days.1),
        period: PeriodView::new(m.period, fmt),
        ranked: ranked_label(fmt, m.period, m.through),
        ranked_days: ranked_days(fmt, m.period, m.through),
        boards,
        no_quotas,
        as_of: m.as_of.map(|d| fmt.date(d)).unwrap_or_else(|| fmt.t("word.no_export")),
        status: if m.preliminary { "preliminary" } else { "final" },
        top,
        no_results: !m.has_results,
        celebrations: documents::celebration_lines(m, fmt)
            .into_iter()
            .map(|(label, text)| CelebrationView { label, text })
            .collect(),
        attachment: attachment.to_string(),
    }
}

/// Renders the weekly ranking e-mail: subject, text and HTML.
pub fn render_ranking_mail(t: &Templates, view: &RankingMailView) -> Result<RenderedMail, ReportError> {
    render_mail(t, "weekly_ranking", view)
}

/// A team's place among the teams, for the team edition's e-mail.
#[derive(Debug, Clone, Serialize)]
pub struct TeamPlaceView {
    /// The team's name.
    pub name: String,
    /// Rank among the teams on team attainment; `None` = not ranked (no quota).
    pub rank: Option<u32>,
    /// How many teams are ranked.
    pub ranked: usize,
    /// Team attainment, e.g. "110.0%"; `None` without a quota.
    pub attainment: Option<String>,
    /// Summed revenue, formatted.
    pub revenue: String,
    /// Summed quota, formatted ("no quota" without one).
    pub quota: String,
}

/// One rep's line in the team edition's e-mail.
#[derive(Debug, Clone, Serialize)]
pub struct TeamRepView {
    /// Rank within the team on attainment; `None` = not ranked.
    pub rank: Option<u32>,
    /// Company rank on attainment; `None` = not ranked.
    pub company_rank: Option<u32>,
    /// Name.
    pub name: String,
    /// Revenue, formatted.
    pub revenue: String,
    /// Attainment, e.g. "112.5%"; `None` = no quota.
    pub attainment: Option<String>,
}

/// Everything the team edition's e-mail templates (`email/weekly_ranking_team*`) receive.
#[derive(Debug, Clone, Serialize)]
pub struct TeamRankingMailView {
    /// The org.
    pub org: OrgView,
    /// The team and its place among the teams.
    pub team: TeamPlaceView,
    /// ISO week, e.g. "2026-W43".
    pub week: String,
    /// The week's days, e.g. "Oct 19, 2026 – Oct 25, 2026".
    pub days: String,
    /// The month the figures are month to date of.
    pub period: PeriodView,
    /// The ranked period in words: "October 2026 in full", "November 2026 to date".
    pub ranked: String,
    /// The ranked days, e.g. "Nov 1 – Nov 8".
    pub ranked_days: String,
    /// "as of" date, e.g. "25 October 2026".
    pub as_of: String,
    /// "final" or "preliminary".
    pub status: &'static str,
    /// The company boards' top 3 (attainment when anyone has a quota, then results),
    /// positive values only.
    pub boards: Vec<TopBoardView>,
    /// Nobody in the company has a quota: ranked on results (revenue) alone.
    pub no_quotas: bool,
    /// The team's active reps in team rank order.
    pub reps: Vec<TeamRepView>,
    /// The team's own celebrations.
    pub celebrations: Vec<CelebrationView>,
    /// How many of the company's top ranks the edition lists (`weekly_ranking.top`).
    pub company_top: u32,
    /// The attached PDF's file name.
    pub attachment: String,
}

/// Builds the team edition's e-mail view for `team` from the week's standings and the
/// team's own celebrations (metrics `team_celebrations`).
#[allow(clippy::too_many_arguments)]
pub fn team_ranking_mail_view(
    org: &str,
    fmt: &Format,
    week: &str,
    days: (chrono::NaiveDate, chrono::NaiveDate),
    m: &MonthStandings,
    team: &str,
    celebrations: &crate::domain::Celebrations,
    company_top: u32,
    attachment: &str,
) -> TeamRankingMailView {
    let (boards, no_quotas) = top_boards(m, fmt);
    let own = m.teams.iter().find(|t| t.team == team);
    let place = TeamPlaceView {
        name: team.to_string(),
        rank: own.and_then(|t| t.rank),
        ranked: m.teams.iter().filter(|t| t.rank.is_some()).count(),
        attainment: own.and_then(|t| t.attainment).map(|a| fmt.percent(a)),
        revenue: own.map(|t| fmt.money(t.revenue)).unwrap_or_else(|| fmt.money(rust_decimal::Decimal::ZERO)),
        quota: own.and_then(|t| t.revenue_quota).map(|q| fmt.money(q)).unwrap_or_else(|| fmt.t("word.no_quota")),
    };
    // A team where nobody has a quota is ranked on results (its results board).
    let results = m.board(BoardKind::Attainment, Some(team)).is_none_or(|b| b.entries.is_empty());
    let results_rank = |s: &crate::domain::Standing| {
        m.board(BoardKind::Results, Some(team))
            .and_then(|b| b.entries.iter().find(|e| e.rep_key == s.rep_key))
            .map(|e| e.rank)
    };
    let team_rank = |s: &crate::domain::Standing| if results { results_rank(s) } else { s.team_rank };
    let mut reps: Vec<&crate::domain::Standing> = m.reps.iter().filter(|s| s.active && s.team == team).collect();
    reps.sort_by_key(|s| team_rank(s).unwrap_or(u32::MAX));
    TeamRankingMailView {
        org: OrgView { name: org.to_string() },
        team: place,
        week: week.to_string(),
        days: fmt.days(days.0, days.1),
        period: PeriodView::new(m.period, fmt),
        ranked: ranked_label(fmt, m.period, m.through),
        ranked_days: ranked_days(fmt, m.period, m.through),
        as_of: m.as_of.map(|d| fmt.date(d)).unwrap_or_else(|| fmt.t("word.no_export")),
        status: if m.preliminary { "preliminary" } else { "final" },
        boards,
        no_quotas,
        reps: reps
            .into_iter()
            .map(|s| TeamRepView {
                rank: team_rank(s),
                company_rank: if no_quotas { s.results_rank } else { s.company_rank },
                name: s.name.clone(),
                revenue: fmt.money(s.revenue),
                attainment: s.attainment.map(|a| fmt.judged(&m.standards, Judged::Attainment, a)),
            })
            .collect(),
        celebrations: documents::celebrations_lines(celebrations, fmt)
            .into_iter()
            .map(|(label, text)| CelebrationView { label, text })
            .collect(),
        company_top,
        attachment: attachment.to_string(),
    }
}

/// Renders the team edition's e-mail: subject, text and HTML.
pub fn render_team_ranking_mail(t: &Templates, view: &TeamRankingMailView) -> Result<RenderedMail, ReportError> {
    render_mail(t, "weekly_ranking_team", view)
}

/// One rep's line in the 1:1 pack e-mail.
#[derive(Debug, Clone, Serialize)]
pub struct PackRepView {
    /// Name.
    pub name: String,
    /// Revenue, formatted.
    pub revenue: String,
    /// Attainment, formatted; `None` = no quota.
    pub attainment: Option<String>,
    /// Number of flags raised (manager only).
    pub flags: usize,
    /// Deals with paperwork to fix.
    pub paperwork: usize,
    /// The attached PDF's file name.
    pub file: String,
    /// The rep's e-mail address, else rep id (keys a per-rep message).
    pub ident: String,
}

/// Everything the 1:1 pack e-mail templates receive.
#[derive(Debug, Clone, Serialize)]
pub struct PackMailView {
    /// The org.
    pub org: OrgView,
    /// The manager.
    pub manager: PersonView,
    /// The month.
    pub period: PeriodView,
    /// "as of" date.
    pub as_of: String,
    /// "final" or "preliminary".
    pub status: &'static str,
    /// One line per rep, in the order of the attachments.
    pub reps: Vec<PackRepView>,
}

/// Renders the 1:1 pack e-mail: subject, text and HTML.
pub fn render_pack_mail(t: &Templates, view: &PackMailView) -> Result<RenderedMail, ReportError> {
    render_mail(t, "one_on_one", view)
}

/// The number of flags a standing raises (the 1:1 pack summary's count).
pub fn flag_count(s: &Standing) -> usize {
    usize::from(s.flags.missed)
        + usize::from(s.flags.below_target)
        + usize::from(s.flags.off_pace)
        + s.flags.needs_attention.len()
}

/// Renders the document e-mails and the talking points with made-up figures, so
/// `quotad check` finds a broken override before a scheduled run does.
pub fn render_document_samples(t: &Templates) -> Result<(), ReportError> {
    let period = PeriodView { code: "2026-10".into(), label: "October 2026".into() };
    let ranking = RankingMailView {
        org: OrgView { name: "Example".into() },
        recipient: PersonView::new("Ann Archer"),
        week: "2026-W43".into(),
        days: "Oct 19, 2026 – Oct 25, 2026".into(),
        period: period.clone(),
        ranked: "October 2026 to date".into(),
        ranked_days: "Oct 1 – Oct 25".into(),
        as_of: "25 October 2026".into(),
        status: "preliminary",
        top: vec![TopView { rank: 1, name: "Ann Archer".into(), team: "North".into(), attainment: "112.5%".into() }],
        no_results: false,
        boards: vec![TopBoardView {
            board: "results",
            label: "Top 3 on results (revenue)".into(),
            entries: vec![TopEntryView {
                rank: 1,
                name: "Ann Archer".into(),
                team: "North".into(),
                value: "$300,000".into(),
            }],
        }],
        no_quotas: false,
        celebrations: vec![CelebrationView { label: "At or above quota".into(), text: "Ann Archer".into() }],
        attachment: "ranking_2026-W43.pdf".into(),
    };
    render_ranking_mail(t, &ranking)?;
    let team = TeamRankingMailView {
        org: OrgView { name: "Example".into() },
        team: TeamPlaceView {
            name: "North".into(),
            rank: Some(2),
            ranked: 3,
            attainment: Some("104.0%".into()),
            revenue: "$1,040,000".into(),
            quota: "$1,000,000".into(),
        },
        week: "2026-W43".into(),
        days: "Oct 19, 2026 – Oct 25, 2026".into(),
        period: period.clone(),
        ranked: ranking.ranked.clone(),
        ranked_days: ranking.ranked_days.clone(),
        as_of: "25 October 2026".into(),
        status: "preliminary",
        boards: ranking.boards.clone(),
        no_quotas: false,
        reps: vec![TeamRepView {
            rank: Some(1),
            company_rank: Some(1),
            name: "Ann Archer".into(),
            revenue: "$450,000".into(),
            attainment: Some("112.5%".into()),
        }],
        celebrations: ranking.celebrations.clone(),
        company_top: 20,
        attachment: "ranking 2026-W43 North.pdf".into(),
    };
    render_team_ranking_mail(t, &team)?;
    let pack = PackMailView {
        org: OrgView { name: "Example".into() },
        manager: PersonView::new("Mia Boss"),
        period: period.clone(),
        as_of: "31 October 2026".into(),
        status: "final",
        reps: vec![PackRepView {
            name: "Ann Archer".into(),
            revenue: "$1,000".into(),
            attainment: Some("80.0%".into()),
            flags: 2,
            paperwork: 1,
            file: "1-1 prep 2026-10 Ann Archer.pdf".into(),
            ident: "ann@example.com".into(),
        }],
    };
    render_pack_mail(t, &pack)?;
    let mut ctx = Context::new();
    ctx.insert("rep", &PersonView::new("Ann Archer"));
    ctx.insert("period", &period);
    ctx.insert("flags", &flags::sample_flags());
    t.render("pdf/talking_points.txt", &ctx)?;
    flag_sentences(t, &flags::sample_flags())?;
    render_admin_notice(
        t,
        &AdminNoticeView::new("Example", "quotad: 1 quota-memo occurrence(s) missed", "One.\nTwo.\n\nThree."),
    )?;
    Ok(())
}
