//! `quotad check`: validates the config (already loaded), renders every template with
//! sample figures, and lists which inbox files each source would read.

use anyhow::{Context, Result};

use super::shown;
use crate::config::Config;
use crate::deliver::TransportKind;
use crate::domain::{MonthStandings, Period, Standing};
use crate::report::{self, Templates};

/// `quotad check`.
pub fn check(cfg: &Config) -> Result<i32> {
    println!("config {}: ok", shown(&cfg.file));
    println!("  org: {} ({})", cfg.org.name, cfg.org.time_zone);
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
    let overridden = if templates.overridden.is_empty() { "none".to_string() } else { templates.overridden.join(", ") };
    println!(
        "  templates: {} rendered with sample figures; overridden: {overridden}",
        report::template_names().count()
    );
    let inbox: Vec<String> = match std::fs::read_dir(&cfg.paths.inbox) {
        Ok(rd) => rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect(),
        Err(e) => {
            println!(
                "  inbox {}: cannot read it ({e}); it will be needed before `quotad import`",
                shown(&cfg.paths.inbox)
            );
            Vec::new()
        }
    };
    for s in &cfg.sources {
        let mut matched: Vec<&String> = inbox.iter().filter(|f| s.matches(f)).collect();
        matched.sort();
        let patterns: Vec<&str> = s.files.iter().map(|p| p.as_str()).collect();
        println!(
            "  source {} ({}, {}): {} file(s) in the inbox",
            s.name,
            s.kind.as_str(),
            patterns.join(", "),
            matched.len()
        );
    }
    let mut status = 0;
    match &cfg.mail.transport {
        TransportKind::File => println!("  mail: .eml files in {}", shown(&cfg.paths.outbox)),
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
            println!("  mail: SMTP {} (tls = \"{}\"), {auth}", s.server(), s.tls.as_str());
        }
    }
    match &cfg.mail.admin {
        Some(a) => println!("  dead letters are reported to {a}"),
        None => println!("  dead letters are reported to nobody by e-mail (set mail.admin)"),
    }
    Ok(status)
}

fn sample_view(cfg: &Config) -> Option<report::QuotaMemoView> {
    let period: Period = "2026-11".parse().ok()?;
    let rep = Standing {
        rep_key: "id:SAMPLE".into(),
        rep_id: Some("SAMPLE".into()),
        name: "José Núñez".into(),
        email: Some("jose@example.com".into()),
        team: "North".into(),
        manager: None,
        active: true,
        revenue: "1234567".parse().ok()?,
        units: 3.into(),
        won_deals: 3,
        cancellations: 1,
        rating: Some("4.5".parse().ok()?),
        rating_count: 2,
        clean_paperwork: Some("0.5".parse().ok()?),
        revenue_quota: Some(1_000_000.into()),
        units_quota: Some(3.into()),
        attainment: Some("1.234567".parse().ok()?),
        company_rank: Some(1),
        team_rank: Some(1),
    };
    let month = |p: Period| MonthStandings {
        period: p,
        as_of: Some(p.last_day()),
        reps: vec![rep.clone()],
        ranked: 1,
        ranked_in_team: [("North".to_string(), 1)].into(),
        unmatched: vec![],
    };
    report::quota_memo_view(&cfg.org.name, &cfg.org.format, &month(period), &month(period.prev()), "id:SAMPLE")
}
