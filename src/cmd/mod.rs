//! Subcommands: each loads what it needs, calls the pipeline, and prints a summary a
//! sales-ops person can read. Returns the process exit status (0 ok, 1 failure).

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

mod check;
mod explain;
mod init;
mod outbox;
mod run;
mod serve;
mod standings;

use std::path::Path;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::store::Store;

/// Runs the parsed command line at time `now`; returns the exit status.
pub fn dispatch(cli: Cli, now: DateTime<Utc>) -> Result<i32> {
    if let Command::Init { dir, sample } = &cli.command {
        return init::init(dir, *sample);
    }
    let cfg = Config::from_file(&cli.config)?;
    match cli.command {
        Command::Import => run::import_only(&cfg, now),
        Command::Run { job, at: Some(at), .. } => match job.scheduled() {
            Some(kind) => serve::run_at(&cfg, kind, at, now),
            None => anyhow::bail!("--at runs one occurrence of one job: quota-memo, weekly-ranking or one-on-one"),
        },
        Command::Run { job, period, corrections, resend, week, at: None } => {
            run::run(&cfg, job, period, corrections, resend, week, now)
        }
        Command::Serve { speed } => serve::serve(&cfg, cli.now, speed),
        Command::Preview { job, out, rep, period, week } => {
            run::preview(&cfg, job, &out, rep.as_deref(), period, week, now)
        }
        Command::Check { inbox } => check::check(&cfg, inbox, now),
        Command::Imports { limit } => run::imports(&cfg, limit),
        Command::Standings { period, week, team, board, format } => {
            standings::standings(&cfg, period, week, team.as_deref(), board.into(), format, now)
        }
        Command::Explain { rep, period, metric } => explain::explain(&cfg, &rep, period, metric, now),
        Command::Init { .. } => unreachable!("handled above"),
        Command::Status => {
            let store = open_store(&cfg)?;
            serve::print_calendar(&cfg, &store, now)?;
            let code = outbox::status(&cfg, now)?;
            say!("Latest imports (`quotad imports --limit N` for more):");
            run::print_import_reports(&cfg, &store, 5, "  ")?;
            Ok(code)
        }
        Command::Outbox { action } => outbox::outbox(&cfg, action, now),
    }
}

/// Checks that `period` has deals; the error lists the months that do.
fn require_data(store: &Store, period: crate::domain::Period) -> Result<()> {
    let months = store.months_with_deals()?;
    if months.contains(&period) {
        return Ok(());
    }
    match (months.first(), months.last()) {
        (Some(a), Some(b)) => anyhow::bail!(
            "no deals are stored for {period}; months with data: {}{}",
            a,
            if a == b { String::new() } else { format!(" to {b} ({} months)", months.len()) }
        ),
        _ => anyhow::bail!("no deals are stored yet: put a CRM export in the inbox and run `quotad import`"),
    }
}

/// Holds an exclusive lock on the state database for the life of a job, so two quotad
/// processes never import or send at the same time (the second waits, and says why).
/// The OS releases the lock when the process exits, however it exits.
pub(crate) struct StateLock {
    _file: std::fs::File,
}

fn lock_state(cfg: &Config) -> Result<StateLock> {
    lock_state_as(cfg, "run")
}

/// [`lock_state`] for a named command: the holder writes `pid N COMMAND` into the lock
/// file. While a `quotad serve` holds the lock, anyone else (a second `serve`, a `run`,
/// an `import`) refuses at once, naming its pid and the lock file: the daemon holds it
/// for months. Otherwise a second process waits, and says why.
pub(crate) fn lock_state_as(cfg: &Config, what: &str) -> Result<StateLock> {
    use std::io::Write as _;
    let path = std::path::PathBuf::from(format!("{}.lock", cfg.paths.state.display()));
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open the lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            let holder = holder.trim();
            if let Some(pid) = holder.strip_prefix("pid ").and_then(|h| h.strip_suffix(" serve")) {
                anyhow::bail!(
                    "`quotad serve` (pid {pid}) is running on {} and holds {}: it runs the calendar and imports the inbox itself, and only one quotad may work on a state database. `quotad status` shows what it did; stop it (e.g. `systemctl stop quotad`) to {} by hand",
                    cfg.paths.state.display(),
                    path.display(),
                    if what == "serve" { "start another" } else { "do this" }
                );
            }
            eprintln!(
                "another quotad ({}) is importing or sending with {}; waiting for it to finish…",
                if holder.is_empty() { "holder unknown" } else { holder },
                cfg.paths.state.display()
            );
            file.lock().with_context(|| format!("cannot lock {}", path.display()))?;
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("cannot lock {}", path.display()));
        }
    }
    let _ = file.set_len(0).and_then(|_| file.write_all(format!("pid {} {what}\n", std::process::id()).as_bytes()));
    Ok(StateLock { _file: file })
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
