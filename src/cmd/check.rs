//! `quotad check`: validates the config (already loaded), renders every template with
//! sample figures, and lists which inbox files each source would read. With `--inbox`
//! it also dry-runs the column mappings on those files (ingest only: nothing is stored).

use anyhow::Result;

use super::shown;
use crate::config::Config;
use crate::pipeline::{self, DryRunFile};

/// `quotad check [--inbox]`.
pub fn check(cfg: &Config, dry_run: bool, now: chrono::DateTime<chrono::Utc>) -> Result<i32> {
    say!("config {}: ok", shown(&cfg.file));
    say!("  org: {} ({})", cfg.org.name, cfg.org.time_zone);
    let templates = pipeline::check_templates(cfg)?;
    let overridden = if templates.overridden.is_empty() { "none".to_string() } else { templates.overridden.join(", ") };
    say!("  templates: {} rendered with sample figures; overridden: {overridden}", templates.rendered);
    say!("  language: {}", templates.language);
    if templates.missing_templates.is_empty() && templates.missing_keys.is_empty() {
        if !templates.language.starts_with("en") {
            say!(
                "    every template and catalog string is translated; the admin's notices and the approval digest stay English"
            );
        }
    } else {
        say!(
            "    {} is missing {} template(s) and {} catalog string(s); English is used for each until they are added:",
            templates.folder,
            templates.missing_templates.len(),
            templates.missing_keys.len()
        );
        for t in &templates.missing_templates {
            say!("      missing template {t}");
        }
        for k in &templates.missing_keys {
            say!("      missing string {k} (strings.toml)");
        }
    }
    let (scripts, system) = pipeline::check_fonts(cfg)?;
    let fallbacks = if system {
        "fonts found on this system (pdf.fallback_fonts is empty)".to_string()
    } else if cfg.pdf.fallback_fonts.is_empty() {
        "no fallback font (pdf.system_fonts = false)".to_string()
    } else {
        format!("{} fallback font(s) from pdf.fallback_fonts", cfg.pdf.fallback_fonts.len())
    };
    say!("  pdf: {:?} paper, DejaVu Sans + {fallbacks}; PDFs go to {}", cfg.pdf.paper, shown(&cfg.paths.reports));
    for (script, font) in scripts {
        match font {
            Some(f) => say!("    {script:<11} {f}"),
            None => say!(
                "    {script:<11} no font: drawn as \u{FFFD} (install one, e.g. Debian's fonts-noto-ui-core or fonts-droid-fallback)"
            ),
        }
    }
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
    // A file several sources read is read by each (a roster, quotas and a summary in one
    // sheet): say which, so that it is never a surprise.
    let mut names: Vec<&String> = inbox.iter().collect();
    names.sort();
    for name in names {
        let readers: Vec<&str> = cfg.sources.iter().filter(|s| s.matches(name)).map(|s| s.name.as_str()).collect();
        if readers.len() > 1 {
            say!("  {name} is read by {} sources: {}", readers.len(), readers.join(", "));
        }
    }
    let mut status = 0;
    match pipeline::smtp_route(cfg) {
        None => say!("  mail: .eml files in {}", shown(&cfg.paths.outbox)),
        Some(s) => {
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
            say!("  mail: SMTP {} (tls = \"{}\"), {auth}", s.server, s.tls);
        }
    }
    match &cfg.mail.admin {
        Some(a) => say!("  dead letters and quarantined files are reported to {a}"),
        None => say!("  dead letters and quarantined files are reported to nobody by e-mail (set mail.admin)"),
    }
    match cfg.web.listen {
        None => say!("  web: off (no [web] listen)"),
        Some(addr) => {
            let var = &cfg.web.token_env;
            let token = match std::env::var(var) {
                Ok(t) if t.chars().count() >= 16 => format!("token from ${var} (set)"),
                _ => {
                    status = 1;
                    format!("but ${var} is NOT SET to a token of 16+ characters: `quotad serve` will refuse to start")
                }
            };
            say!("  web: the board at http://{addr}/board?token=${var}, /healthz, /metrics; {token}");
        }
    }
    for c in pipeline::check_channels(cfg) {
        let teams = cfg.channels.iter().find(|x| x.name == c.name).map(|x| x.teams.join(", ")).unwrap_or_default();
        let teams = if teams.is_empty() { "the company".to_string() } else { teams };
        let at = c.origin.as_deref().map(|o| format!(" ({o}/…)")).unwrap_or_default();
        say!("  channel {}: {}{at}, for {teams}", c.name, c.platform);
        for p in &c.problems {
            say!("    problem: {p}");
        }
        if !c.problems.is_empty() {
            status = status.max(1);
        }
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
        status = status.max(print_dry_run(cfg, &pipeline::dry_run_inbox(cfg, &inbox, now)));
    }
    Ok(status)
}

/// Prints what `check --inbox` read: per file the sheet and header row found, the
/// column each field maps to, and the first problems. 1 when a file would be
/// quarantined.
fn print_dry_run(cfg: &Config, files: &[DryRunFile]) -> i32 {
    say!("inbox dry run ({} file(s); nothing is stored or moved):", files.len());
    let mut status = 0;
    for f in files {
        let name = &f.name;
        let Some((source, kind)) = &f.source else {
            say!("  {name}: no source's `files` pattern matches it (it would stay in the inbox)");
            continue;
        };
        let label = if source == kind { format!("{name} [{source}]") } else { format!("{name} [{source}, {kind}]") };
        let parsed = match &f.read {
            Ok(Some(p)) => p,
            Ok(None) => continue,
            Err(e) => {
                status = 1;
                say!("  {label}: would be QUARANTINED: {e}");
                continue;
            }
        };
        let sheet = if parsed.sheet.is_empty() { String::new() } else { format!("sheet '{}', ", parsed.sheet) };
        if parsed.header_row == 0 {
            say!("  {label}: {sheet}no header row (sources.{source}.header lists the columns)");
        } else {
            say!("  {label}: {sheet}header row {}", parsed.header_row);
        }
        for (field, column) in &parsed.columns {
            say!("      {field:<18} <- {column}");
        }
        let verdict = if parsed.quarantined {
            status = 1;
            format!(
                "; would be QUARANTINED: more than ingest.max_rejected_fraction = {} of the rows are bad",
                cfg.max_rejected_fraction
            )
        } else {
            String::new()
        };
        say!(
            "      {} data row(s), {} rejected, {} record(s) to store{verdict}",
            parsed.data_rows,
            parsed.rejected_rows,
            parsed.records
        );
        let (first, more) = &parsed.problems;
        for r in first {
            say!("      problem: {r}");
        }
        if *more > 0 {
            say!("      … and {more} more problem(s)");
        }
        for n in &parsed.notes {
            say!("      note: {n}");
        }
    }
    status
}
