//! `quotad check`: validates the config (already loaded), renders every template with
//! sample figures, and lists which inbox files each source would read. With `--inbox`
//! it also dry-runs the column mappings on those files (ingest only: nothing is stored).

use anyhow::{Context, Result};

use super::shown;
use crate::config::Config;
use crate::deliver::TransportKind;
use crate::domain::Period;
use crate::report::{self, Templates};

/// `quotad check [--inbox]`.
pub fn check(cfg: &Config, dry_run: bool, now: chrono::DateTime<chrono::Utc>) -> Result<i32> {
    say!("config {}: ok", shown(&cfg.file));
    say!("  org: {} ({})", cfg.org.name, cfg.org.time_zone);
    let templates = Templates::load(cfg.paths.templates.as_deref())?;
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
    let overridden = if templates.overridden.is_empty() { "none".to_string() } else { templates.overridden.join(", ") };
    say!("  templates: {} rendered with sample figures; overridden: {overridden}", report::template_names().count());
    report::Fonts::load(&cfg.pdf)?;
    say!(
        "  pdf: {:?} paper, DejaVu Sans + {} fallback font(s); PDFs go to {}",
        cfg.pdf.paper,
        cfg.pdf.fallback_fonts.len(),
        shown(&cfg.paths.reports)
    );
    let inbox: Vec<String> = match std::fs::read_dir(&cfg.paths.inbox) {
        Ok(rd) => rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect(),
        Err(e) => {
            say!("  inbox {}: cannot read it ({e}); it will be needed before `quotad import`", shown(&cfg.paths.inbox));
            Vec::new()
        }
    };
    for s in &cfg.sources {
        let mut matched: Vec<&String> = inbox.iter().filter(|f| s.matches(f)).collect();
        matched.sort();
        let patterns: Vec<&str> = s.files.iter().map(|p| p.as_str()).collect();
        say!(
            "  source {} ({}, {}): {} file(s) in the inbox",
            s.name,
            s.kind.as_str(),
            patterns.join(", "),
            matched.len()
        );
    }
    let mut status = 0;
    match &cfg.mail.transport {
        TransportKind::File => say!("  mail: .eml files in {}", shown(&cfg.paths.outbox)),
        TransportKind::Smtp(s) => {
            let auth = match (&s.username, &s.password_env) {
                (Some(u), Some(var)) if std::env::var_os(var).is_some() => {
                    format!("AUTH as {u}, password from ${var} (set)")
                }
                (Some(u), Some(var)) => {
                    status = 1;
                    format!("AUTH as {u}, but ${var} is NOT SET: set it to the SMTP password before sending")
                }
                _ => "no AUTH".into(),
            };
            say!("  mail: SMTP {} (tls = \"{}\"), {auth}", s.server(), s.tls.as_str());
        }
    }
    match &cfg.mail.admin {
        Some(a) => say!("  dead letters and quarantined files are reported to {a}"),
        None => say!("  dead letters and quarantined files are reported to nobody by e-mail (set mail.admin)"),
    }
    let cal = &cfg.schedule;
    say!(
        "  calendar ({}): catch_up {}h, settle {} s, rescan {} s, heartbeat {} s",
        cal.tz,
        cal.catch_up.num_hours(),
        cal.settle.as_secs(),
        cal.rescan.as_secs(),
        cal.heartbeat.as_secs()
    );
    for j in &cal.jobs {
        let wait = j.wait_for_data.map(|w| format!(", waits {}h for data", w.num_hours())).unwrap_or_default();
        say!("    {:<15} \"{}\"{}{wait}", j.job.as_str(), j.pattern, if j.enabled { "" } else { " (disabled)" });
    }
    // Last, so that its per-file report reads as one block.
    if dry_run {
        status = status.max(dry_run_inbox(cfg, &inbox, now));
    }
    Ok(status)
}

/// How many problems `check --inbox` prints per file.
const FIRST_PROBLEMS: usize = 5;

/// Reads every inbox file as its source would (ingest only, nothing stored) and prints
/// the sheet and header row found, the column each field maps to, and the first
/// problems. 1 when a file would be quarantined.
fn dry_run_inbox(cfg: &Config, inbox: &[String], now: chrono::DateTime<chrono::Utc>) -> i32 {
    let mut files: Vec<&String> = inbox.iter().filter(|f| !f.starts_with('.') && !f.starts_with("~$")).collect();
    files.sort();
    say!("inbox dry run ({} file(s); nothing is stored or moved):", files.len());
    let settings = crate::ingest::Settings {
        today: Some(now.with_timezone(&cfg.org.time_zone).date_naive()),
        ..cfg.ingest.clone()
    };
    let mut status = 0;
    for name in files {
        let Some(source) = cfg.sources.iter().find(|s| s.matches(name)) else {
            say!("  {name}: no source's `files` pattern matches it (it would stay in the inbox)");
            continue;
        };
        let label = if source.name == source.kind.as_str() {
            format!("{name} [{}]", source.name)
        } else {
            format!("{name} [{}, {}]", source.name, source.kind.as_str())
        };
        let parsed = match crate::ingest::read_file(&cfg.paths.inbox.join(name), source, &settings) {
            Ok(p) => p,
            Err(e) => {
                status = 1;
                say!("  {label}: would be QUARANTINED: {e}");
                continue;
            }
        };
        let sheet = if parsed.sheet.is_empty() { String::new() } else { format!("sheet '{}', ", parsed.sheet) };
        if parsed.header_row == 0 {
            say!("  {label}: {sheet}no header row (sources.{}.header lists the columns)", source.name);
        } else {
            say!("  {label}: {sheet}header row {}", parsed.header_row);
        }
        for (field, column) in &parsed.columns {
            say!("      {field:<18} <- {column}");
        }
        let bad = {
            let mut rows: Vec<(&str, u32)> = parsed.rejects.iter().map(|r| (r.sheet.as_str(), r.row)).collect();
            rows.dedup();
            rows.len()
        };
        let fraction = rust_decimal::Decimal::from(bad) / rust_decimal::Decimal::from(parsed.data_rows.max(1));
        let verdict = if bad > 0 && fraction > cfg.max_rejected_fraction {
            status = 1;
            format!(
                "; would be QUARANTINED: more than ingest.max_rejected_fraction = {} of the rows are bad",
                cfg.max_rejected_fraction
            )
        } else {
            String::new()
        };
        say!(
            "      {} data row(s), {bad} rejected, {} record(s) to store{verdict}",
            parsed.data_rows,
            parsed.records.len()
        );
        for r in parsed.rejects.iter().take(FIRST_PROBLEMS) {
            say!("      problem: {r}");
        }
        if parsed.rejects.len() > FIRST_PROBLEMS {
            say!("      … and {} more problem(s)", parsed.rejects.len() - FIRST_PROBLEMS);
        }
        for n in &parsed.notes {
            say!("      note: {n}");
        }
    }
    status
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
            origin: RowOrigin::default(),
        },
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
    let input =
        crate::metrics::Input { roster: &roster, deals: &deals, quotas: &quotas, exports: &exports, rollup: None };
    let this = crate::metrics::month_standings(nov, &input, &cfg.metrics, now);
    let last = crate::metrics::month_standings(oct, &input, &cfg.metrics, now);
    report::quota_memo_view(&cfg.org.name, &cfg.org.format, &this, &last, "id:SAMPLE")
}
