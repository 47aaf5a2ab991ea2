//! `quotad init [DIR] [--sample]`: a new working folder, ready to run.

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::pipeline;

/// The shipped example config, every key commented.
const CONFIG: &str = include_str!("../../config/quotad.toml");

/// The bundled sample inbox (gen_crm.py --reps 20 --months 6 --deals-per-rep-month 8
/// --seed 42 --messy), for `--sample`.
const SAMPLE: &[(&str, &[u8])] = &[
    ("crm-export-2026-05.xlsx", include_bytes!("../../config/sample-inbox/crm-export-2026-05.xlsx")),
    ("crm-export-2026-06.xlsx", include_bytes!("../../config/sample-inbox/crm-export-2026-06.xlsx")),
    ("crm-export-2026-07.xlsx", include_bytes!("../../config/sample-inbox/crm-export-2026-07.xlsx")),
    ("crm-export-2026-08.xlsx", include_bytes!("../../config/sample-inbox/crm-export-2026-08.xlsx")),
    ("crm-export-2026-09.xlsx", include_bytes!("../../config/sample-inbox/crm-export-2026-09.xlsx")),
    ("crm-export-2026-10.xlsx", include_bytes!("../../config/sample-inbox/crm-export-2026-10.xlsx")),
    ("quotas.csv", include_bytes!("../../config/sample-inbox/quotas.csv")),
    ("roster.csv", include_bytes!("../../config/sample-inbox/roster.csv")),
];

/// The example config with its paths set for a self-contained working folder.
fn config_text() -> String {
    let mut out = String::new();
    let mut in_paths = false;
    for line in CONFIG.lines() {
        if line.starts_with('[') {
            in_paths = line.starts_with("[paths]");
        }
        let key = line.split('=').next().unwrap_or("").trim().trim_start_matches("# ");
        let replaced = if in_paths {
            match key {
                "inbox" => Some(
                    "inbox = \"inbox\"                     # default \"inbox\"; where CRM exports, quotas and the roster are dropped",
                ),
                "archive" => {
                    Some("archive = \"archive\"                 # default \"archive\"; imported files are moved here")
                }
                "quarantine" => Some(
                    "quarantine = \"quarantine\"           # default \"quarantine\"; rejected files go here, each with NAME.errors.txt",
                ),
                "outbox" => Some(
                    "outbox = \"outbox\"                   # default \"outbox\"; the file transport writes one .eml per message here",
                ),
                "reports" => Some(
                    "reports = \"reports\"                 # default \"reports\"; ranking PDFs and 1:1 prep sheets are written here",
                ),
                "state" => Some(
                    "state = \"quotad.sqlite\"             # default \"quotad.sqlite\"; the state database (history, outbox ledger)",
                ),
                "templates" => Some(
                    "templates = \"templates\"             # default: none; files here override the built-in templates of the same name",
                ),
                "after_import" => Some(
                    "after_import = \"move\"               # default \"move\"; \"keep\" leaves imported files in the inbox",
                ),
                _ => None,
            }
        } else {
            None
        };
        match replaced {
            Some(r) => out.push_str(r),
            None if in_paths && line.trim_start().starts_with('#') && line.contains("  ") && !line.contains('=') => {
                continue;
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out.replace(
        "# This example runs quotad on the bundled sample data in config/sample-inbox/.",
        "# Created by `quotad init`. Edit the org, the sources' column names and [mail], then\n# drop CRM exports into inbox/.",
    )
}

/// Creates the working folder; refuses (changing nothing) if `dir` exists and is not empty.
pub fn init(dir: &Path, sample: bool) -> Result<i32> {
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
        if entries.next().is_some() {
            bail!(
                "{} is not empty, so nothing was created (quotad init never overwrites files); choose a new folder, e.g. `quotad init my-team`",
                dir.display()
            );
        }
    }
    let write = |rel: &str, bytes: &[u8]| -> Result<()> {
        let p = dir.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&p, bytes).with_context(|| format!("cannot write {}", p.display()))
    };
    write("quotad.toml", config_text().as_bytes())?;
    for (name, text) in pipeline::builtin_templates() {
        write(&format!("templates/{name}"), text.as_bytes())?;
    }
    for d in ["inbox", "archive", "quarantine", "outbox", "reports"] {
        std::fs::create_dir_all(dir.join(d)).with_context(|| format!("cannot create {}", dir.join(d).display()))?;
    }
    if sample {
        for (name, bytes) in SAMPLE {
            write(&format!("inbox/{name}"), bytes)?;
        }
    }
    let cfg = dir.join("quotad.toml");
    say!(
        "Created {}: quotad.toml, templates/, inbox/, archive/, quarantine/, outbox/, reports/{}",
        dir.display(),
        if sample { " (with a sample inbox)" } else { "" }
    );
    say!("Next:");
    say!("  quotad --config {} check", cfg.display());
    say!("  quotad --config {} run all", cfg.display());
    Ok(0)
}
