//! What `quotad check` validates beyond the config: every template rendered with sample
//! figures built by the real metrics, the PDF fonts, how mail leaves, and a dry run of
//! the column mappings on the inbox files (ingest only: nothing is stored or moved).
//! May import `ingest`, `metrics`, `report`, `deliver` (the transport settings),
//! `config` and `domain`.

use anyhow::{Context, Result};

use crate::config::Config;
use crate::deliver::TransportKind;
use crate::domain::Period;
use crate::report::{self, Templates};

/// What rendering every template with sample figures found.
#[derive(Debug, Clone)]
pub struct TemplatesCheck {
    /// How many templates there are (all were rendered).
    pub rendered: usize,
    /// The templates overridden from `paths.templates`, by name.
    pub overridden: Vec<String>,
    /// The language memos and documents are written in, and why (`org.language`).
    pub language: String,
    /// The language's templates that are missing (English is used for each), by name.
    pub missing_templates: Vec<String>,
    /// The language catalog's missing keys (English is used for each), e.g. `col.rank`.
    pub missing_keys: Vec<String>,
    /// Where the language's own files go: `templates/<lang>/` (bundled) or the folder.
    pub folder: String,
}

/// Loads the templates (built in, or overridden from `paths.templates`) and renders
/// each with sample figures: the quota memo from a made-up rep through the real
/// metrics, the dead-letter and quarantine notices, the document mails.
///
/// Errors: a template that does not parse or render (the message names it).
pub fn check_templates(cfg: &Config) -> Result<TemplatesCheck> {
    let templates = Templates::load(cfg.paths.templates.as_deref(), &cfg.org.format.words().language().code)?;
    let view = sample_view(cfg).context("building the sample memo")?;
    report::render_quota_memo(&templates, &view)?;
    let sample_dead = report::DeadLetterView {
        recipient: "jose@example.com".into(),
        subject: "Your November 2026 quota".into(),
        key: "quota-memo/2026-11/jose@example.com/rep-memo".into(),
        attempts: 5,
        created_at: "2026-11-01 13:00 UTC".into(),
        last_error: "SMTP server smtp.example.com:587: connect failed".into(),
    };
    report::render_dead_letters(&templates, &report::DeadLettersView::new(&cfg.org.name, "SMTP", vec![sample_dead]))?;
    report::render_document_samples(&templates)?;
    report::approval::render_digest(&templates, &report::approval::DigestView::sample(&cfg.org.name))?;
    report::board::render_board_sample(&templates)?;
    report::render_quarantine(
        &templates,
        &report::QuarantineView {
            org: report::OrgView { name: cfg.org.name.clone() },
            file: "crm-export-2026-11.xlsx".into(),
            source: "deals".into(),
            kind: "deals".into(),
            reason: "1 of 40 data rows rejected, more than ingest.max_rejected_fraction = 0 allows".into(),
            rejects: vec!["sheet 'Deals', row 3, column E 'Sale Price': '$4l2500': expected an amount".into()],
            more: 0,
            report_name: "crm-export-2026-11.xlsx.errors.txt".into(),
        },
    )?;
    let words = cfg.org.format.words();
    let code = &words.language().code;
    let folder = match &cfg.paths.templates {
        Some(d) => d.join(code).display().to_string(),
        None => format!("templates/{code}/ (bundled; set paths.templates to add or override a language)"),
    };
    Ok(TemplatesCheck {
        rendered: report::template_names().count(),
        overridden: templates.overridden.clone(),
        language: words.language().describe(cfg.org.format.locale()),
        missing_templates: templates.missing.clone(),
        missing_keys: words.missing().to_vec(),
        folder,
    })
}

/// Per script, the font that draws it ("Family (file)"), `None` when none does.
pub type ScriptFonts = Vec<(&'static str, Option<String>)>;

/// The scripts `quotad check` tries the PDF fonts on, each with a sample name.
pub const SCRIPT_SAMPLES: &[(&str, &str)] = &[
    ("Chinese", "李伟"),
    ("Japanese", "佐藤さくら"),
    ("Korean", "김민준"),
    ("Arabic", "محمد"),
    ("Hebrew", "שרה"),
    ("Thai", "สมชาย"),
    ("Devanagari", "किशोर"),
    ("Greek", "Ελένη"),
    ("Cyrillic", "Дмитрий"),
];

/// Loads the PDF fonts (DejaVu Sans and `pdf.fallback_fonts`) and says, per script of
/// [`SCRIPT_SAMPLES`], which font draws it: `(script, Some("Family (file)"))`, or
/// `None` when no font has it (drawn as U+FFFD). The second value: whether the system's
/// font folders are searched.
///
/// Errors: a fallback font that cannot be read or parsed (the message names the file).
pub fn check_fonts(cfg: &Config) -> Result<(ScriptFonts, bool)> {
    let fonts = report::Fonts::load(&cfg.pdf)?;
    let samples: Vec<&str> = SCRIPT_SAMPLES.iter().map(|s| s.1).collect();
    let cover = fonts.coverage(&samples);
    Ok((SCRIPT_SAMPLES.iter().map(|s| s.0).zip(cover).collect(), fonts.searches_system()))
}

/// The built-in templates as (file name under `templates/`, text), for `quotad init`
/// to copy out.
pub fn builtin_templates() -> &'static [(&'static str, &'static str)] {
    report::builtin_templates()
}

/// The SMTP server mail goes through (`mail.transport = "smtp"`), as people see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpRoute {
    /// "host:port" (IPv6 hosts in brackets).
    pub server: String,
    /// `mail.smtp.tls`: "starttls", "tls" or "none".
    pub tls: &'static str,
    /// `mail.smtp.username`, when AUTH is configured.
    pub username: Option<String>,
    /// The environment variable holding the password (`mail.smtp.password_env`).
    pub password_env: Option<String>,
}

/// Where mail goes: `None` for the file transport (`.eml` files in `paths.outbox`),
/// else the SMTP server.
pub fn smtp_route(cfg: &Config) -> Option<SmtpRoute> {
    match &cfg.mail.transport {
        TransportKind::File => None,
        TransportKind::Smtp(s) => Some(SmtpRoute {
            server: s.server(),
            tls: s.tls.as_str(),
            username: s.username.clone(),
            password_env: s.password_env.clone(),
        }),
    }
}

/// How many problems `check --inbox` keeps per file.
const FIRST_PROBLEMS: usize = 5;

/// One inbox file as `check --inbox` read it for one source (a file that several
/// sources' `files` match has an entry per source, in config order).
#[derive(Debug, Clone)]
pub struct DryRunFile {
    /// File name (no folder).
    pub name: String,
    /// The source whose `files` patterns match it and that source's kind ("deals",
    /// "quotas", "roster", "summary"); `None` when no source matches (it would stay
    /// in the inbox).
    pub source: Option<(String, &'static str)>,
    /// What reading it found; `Err` with the reason when it would be quarantined
    /// unread (or `Ok(None)` when unmatched).
    pub read: std::result::Result<Option<DryRunRead>, String>,
}

/// What reading one inbox file found (nothing stored).
#[derive(Debug, Clone)]
pub struct DryRunRead {
    /// The sheet read ("" for CSV).
    pub sheet: String,
    /// The header row, 1-based as Excel shows it; 0 when the source gives the columns
    /// (`sources.NAME.header`).
    pub header_row: u32,
    /// Each canonical field and the column it maps to, e.g. ("sale_price", "E 'Sale Price'").
    pub columns: Vec<(String, String)>,
    /// Data rows under the header.
    pub data_rows: usize,
    /// Rows with at least one problem (rejected).
    pub rejected_rows: usize,
    /// Records that would be stored.
    pub records: usize,
    /// Whether more than `ingest.max_rejected_fraction` of the rows are bad, so the
    /// file would be quarantined.
    pub quarantined: bool,
    /// The first few problems (file, sheet, row, column, value, reason), and how many
    /// more there are.
    pub problems: (Vec<String>, usize),
    /// Notes (totals rows skipped, duplicates, encoding).
    pub notes: Vec<String>,
}

/// Reads every file of `inbox` (names in the inbox folder; hidden and Office lock
/// files skipped), in name order, as its source would: ingest only, nothing stored or
/// moved. `now` gives the org's today (for dates in the future).
pub fn dry_run_inbox(cfg: &Config, inbox: &[String], now: chrono::DateTime<chrono::Utc>) -> Vec<DryRunFile> {
    let mut files: Vec<&String> = inbox.iter().filter(|f| !f.starts_with('.') && !f.starts_with("~$")).collect();
    files.sort();
    let settings = crate::ingest::Settings {
        today: Some(now.with_timezone(&cfg.org.time_zone).date_naive()),
        ..cfg.ingest.clone()
    };
    let mut out = Vec::new();
    // One entry per (file, source): every source whose `files` match a file reads it.
    let pairs = files.into_iter().flat_map(|name| {
        let sources: Vec<&crate::ingest::Source> = cfg.sources.iter().filter(|s| s.matches(name)).collect();
        let none = sources.is_empty().then_some((name, None));
        none.into_iter().chain(sources.into_iter().map(move |s| (name, Some(s))))
    });
    for (name, source) in pairs {
        let Some(source) = source else {
            out.push(DryRunFile { name: name.clone(), source: None, read: Ok(None) });
            continue;
        };
        let read = match crate::ingest::read_file(&cfg.paths.inbox.join(name), source, &settings) {
            Ok(parsed) => {
                let bad = {
                    let mut rows: Vec<(&str, u32)> = parsed.rejects.iter().map(|r| (r.sheet.as_str(), r.row)).collect();
                    rows.dedup();
                    rows.len()
                };
                let fraction = rust_decimal::Decimal::from(bad) / rust_decimal::Decimal::from(parsed.data_rows.max(1));
                Ok(Some(DryRunRead {
                    quarantined: bad > 0 && fraction > cfg.max_rejected_fraction,
                    problems: (
                        parsed.rejects.iter().take(FIRST_PROBLEMS).map(ToString::to_string).collect(),
                        parsed.rejects.len().saturating_sub(FIRST_PROBLEMS),
                    ),
                    records: parsed.records.len(),
                    sheet: parsed.sheet,
                    header_row: parsed.header_row,
                    columns: parsed.columns,
                    data_rows: parsed.data_rows,
                    rejected_rows: bad,
                    notes: parsed.notes,
                }))
            }
            Err(e) => Err(e.to_string()),
        };
        out.push(DryRunFile { name: name.clone(), source: Some((source.name.clone(), source.kind.as_str())), read });
    }
    out
}

/// A memo view built by the real metrics from one made-up rep, so `check` renders the
/// templates with every field a real memo has.
fn sample_view(cfg: &Config) -> Option<report::QuotaMemoView> {
    use crate::domain::{DealRow, QuotaRow, RepRef, RosterRep, RosterVersion, RowOrigin, StageClass};
    let now: chrono::DateTime<chrono::Utc> = "2026-11-15T12:00:00Z".parse().ok()?;
    let (oct, nov): (Period, Period) = ("2026-10".parse().ok()?, "2026-11".parse().ok()?);
    let roster = vec![RosterVersion {
        effective: "2026-01-01T00:00:00Z".parse().ok()?,
        rep: RosterRep {
            id: Some("SAMPLE".into()),
            name: "José Núñez".into(),
            email: Some("jose@example.com".into()),
            team: Some("North".into()),
            manager: Some("Zoë Ødegaard".into()),
            manager_email: Some("zoe@example.com".into()),
            hire_date: None,
            active: true,
            effective_date: None,
            leave_date: None,
            origin: RowOrigin::default(),
        },
        file: String::new(),
    }];
    let rep = RepRef { id: Some("SAMPLE".into()), email: None, name: None };
    let deals = vec![DealRow {
        deal_id: "D1".into(),
        stage: "Closed Won".into(),
        class: StageClass::Won,
        rep: rep.clone(),
        team: None,
        close_date: Some(oct.first_day()),
        amount: Some(1_234_567.into()),
        units: Some(2.into()),
        rating: Some(5.into()),
        paperwork_complete: Some(true),
        paperwork_errors: Some(0),
        share: 1.into(),
        origin: RowOrigin::default(),
    }];
    let quotas: Vec<QuotaRow> = [oct, nov]
        .iter()
        .map(|m| QuotaRow {
            rep: rep.clone(),
            month: *m,
            revenue: 1_000_000.into(),
            units: Some(2.into()),
            origin: RowOrigin::default(),
        })
        .collect();
    let exports = vec![(oct, now)];
    let input = crate::metrics::Input {
        roster: &roster,
        deals: &deals,
        quotas: &quotas,
        exports: &exports,
        rollup: None,
        record: None,
    };
    let this = crate::metrics::month_standings(nov, &input, &cfg.metrics, now);
    let last = crate::metrics::month_standings(oct, &input, &cfg.metrics, now);
    let mut view = report::quota_memo_view(&cfg.org.name, &cfg.org.format, &this, &last, "id:SAMPLE")?;
    // The quarter and year to date lines too, so `check` renders every part of the template.
    let fiscal = cfg.org.fiscal;
    if let Some((qtd, ytd)) = super::figures::rep_to_date(fiscal, std::slice::from_ref(&last), "id:SAMPLE", oct) {
        view.to_date = Some(report::fiscal_to_date_view(&cfg.org.format, &last.standards, fiscal, &qtd, &ytd));
    }
    Some(view)
}

/// A note for the run summaries when memos and documents are not wholly in the org's
/// language: `org.locale`'s language has no templates (English is used), or the
/// language's folder lacks templates or catalog strings (English is used for each;
/// `quotad check` names them). `None` when everything is in the language.
///
/// Errors: the templates do not load.
pub fn language_note(cfg: &Config) -> Result<Option<String>> {
    let words = cfg.org.format.words();
    let language = words.language();
    if let report::LanguageFrom::EnglishFallback(_) = language.from {
        return Ok(Some(format!("language: {}", language.describe(cfg.org.format.locale()))));
    }
    let templates = Templates::load(cfg.paths.templates.as_deref(), &language.code)?;
    let (files, keys) = (templates.missing.len(), words.missing().len());
    Ok((files + keys > 0).then(|| {
        format!(
            "language: {}; {files} template(s) and {keys} catalog string(s) are missing from it and are in English (`quotad check` names them)",
            language.code
        )
    }))
}
