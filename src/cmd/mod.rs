//! Subcommands: each parses its arguments, calls the pipeline, and prints the summary
//! it returns for a sales-ops person to read. Returns the process exit status (0 ok, 1
//! failure).
//!
//! `cmd` reaches the stages only through [`crate::pipeline`]: it may import `pipeline`,
//! `config`, `domain`, `schedule` (the daemon loop in `serve`) and `cli`, never
//! `ingest`, `store`, `metrics`, `report` or `deliver`. Nothing imports `cmd` but
//! [`crate::run`].

/// Prints a line to stdout. A closed pipe (`quotad standings | head`) is not an error:
/// the job goes on and finishes; the reader simply stopped reading.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cmd::emit(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// Writes text to stdout, ignoring a closed pipe.
pub(crate) fn emit(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
}

mod approval;
mod check;
mod explain;
mod init;
mod outbox;
mod run;
mod serve;
mod signals;
mod standings;

use std::path::Path;

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::cli::{Cli, Command};
use crate::config::Config;

/// Runs the parsed command line at time `now`; returns the exit status.
pub fn dispatch(cli: Cli, now: DateTime<Utc>) -> Result<i32> {
    if let Command::Init { dir, sample } = &cli.command {
        return init::init(dir, *sample);
    }
    let cfg = Config::from_file(&cli.config)?;
    let if_locked = if cli.wait { crate::pipeline::IfLocked::Wait } else { crate::pipeline::IfLocked::Refuse };
    match cli.command {
        Command::Import => run::import_only(&cfg, now, if_locked),
        Command::Run { job, at: Some(at), .. } => match job.scheduled() {
            Some(kind) => serve::run_at(&cfg, kind, at, now, if_locked),
            None => anyhow::bail!("--at runs one occurrence of one job: quota-memo, weekly-ranking or one-on-one"),
        },
        Command::Run { job, period, corrections, resend, week, at: None, ignore_quarantine } => {
            run::run(&cfg, job, period, corrections, resend, week, ignore_quarantine, now, if_locked)
        }
        Command::Serve { speed, clock_epoch } => serve::serve(&cfg, cli.now, clock_epoch, speed),
        Command::Preview { job, out, rep, period, week, channel } => {
            run::preview(&cfg, job, &out, rep.as_deref(), period, week, channel.as_deref(), now)
        }
        Command::Check { inbox } => check::check(&cfg, inbox, now),
        Command::Imports { limit } => run::imports(&cfg, limit),
        Command::Standings { period, week, team, board, format, out } => {
            standings::standings(&cfg, period, week, team.as_deref(), board.into(), format, out.as_deref(), now)
        }
        Command::Explain { rep, period, metric } => explain::explain(&cfg, &rep, period, metric, now),
        Command::Init { .. } => unreachable!("handled above"),
        Command::MigrateState { to } => {
            emit(&crate::pipeline::migrate_state(&cfg, &to, now)?);
            Ok(0)
        }
        Command::Status => {
            let store = crate::pipeline::open_store_read_only(&cfg)?;
            serve::print_calendar(&cfg, &crate::pipeline::calendar_status(&cfg, &store)?, now);
            let wall = chrono::Utc::now();
            serve::print_instances(&cfg, &crate::pipeline::instances_status(&cfg, &store, wall, 10)?, wall);
            run::print_quarantines(&crate::pipeline::unresolved_quarantines(&store)?);
            approval::print_held(&crate::pipeline::held_runs(&cfg, &store)?);
            let code = outbox::status(&cfg, &crate::pipeline::outbox_status(&store)?, now);
            say!("Latest imports (`quotad imports --limit N` for more):");
            run::print_import_reports(&cfg, &crate::pipeline::import_reports(&store, 5)?, "  ");
            Ok(code)
        }
        Command::Approve { job: _, period, token, by } => {
            approval::approve(&cfg, period, token.as_deref(), by.as_deref(), now, if_locked)
        }
        Command::Approvals { period } => approval::trail(&cfg, period),
        Command::Reject { job: _, period, reason, by } => {
            approval::reject(&cfg, period, &reason, by.as_deref(), now, if_locked)
        }
        Command::Outbox { action } => outbox::outbox(&cfg, action, now, if_locked),
        Command::Quarantine { action } => run::quarantine(&cfg, action, now, if_locked),
    }
}

/// A path as the user should see it: relative to the current folder when inside it.
/// [`shown`] for the state database: its file, or its PostgreSQL URL as configured.
fn shown_state(state: &crate::config::StateLocation) -> String {
    match state.sqlite() {
        Some(p) => shown(p),
        None => state.display().into_owned(),
    }
}

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
