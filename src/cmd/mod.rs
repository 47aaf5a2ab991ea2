//! Subcommands: each loads what it needs, calls the pipeline, and prints a summary a
//! sales-ops person can read. Returns the process exit status (0 ok, 1 failure).

mod check;
mod outbox;
mod run;

use std::path::Path;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::store::Store;

/// Runs the parsed command line at time `now`; returns the exit status.
pub fn dispatch(cli: Cli, now: DateTime<Utc>) -> Result<i32> {
    let cfg = Config::from_file(&cli.config)?;
    match cli.command {
        Command::Import => run::import_only(&cfg, now),
        Command::Run { job, period, resend } => run::run(&cfg, job, period, resend, now),
        Command::Check => check::check(&cfg),
        Command::Status => outbox::status(&cfg, now),
        Command::Outbox { action } => outbox::outbox(&cfg, action, now),
    }
}

fn open_store(cfg: &Config) -> Result<Store> {
    Store::open(&cfg.paths.state).with_context(|| format!("opening the state database {}", cfg.paths.state.display()))
}

/// A path as the user should see it: relative to the current folder when inside it.
fn shown(p: &Path) -> String {
    let cwd = std::env::current_dir().ok();
    let p = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let p = normalize(&p);
    match cwd.as_deref().and_then(|c| p.strip_prefix(c).ok()) {
        Some(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
        _ => p.display().to_string(),
    }
}

/// Removes `.` and `a/..` components without touching the filesystem.
fn normalize(p: &Path) -> std::path::PathBuf {
    let mut out = std::path::PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
