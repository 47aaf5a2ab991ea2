//! The state database as a job holds it: opened (migrations applied at open) and locked
//! for the life of a job, so two quotad processes never import or send at the same
//! time. May import `store` and `config`.

use std::io::Write as _;

use anyhow::{Context, Result};

use crate::config::Config;
use crate::store::Store;

/// Opens the state database `paths.state`, creating it and applying migrations.
///
/// Errors: the file cannot be opened or migrated (the message names it).
pub fn open_store(cfg: &Config) -> Result<Store> {
    Store::open(&cfg.paths.state).with_context(|| format!("opening the state database {}", cfg.paths.state.display()))
}

/// Holds an exclusive lock on the state database for the life of a job, so two quotad
/// processes never import or send at the same time (the second waits, and says why).
/// The OS releases the lock when the process exits, however it exits.
pub struct StateLock {
    _file: std::fs::File,
}

/// [`lock_state_as`] for `quotad run` and `quotad import`.
pub fn lock_state(cfg: &Config) -> Result<StateLock> {
    lock_state_as(cfg, "run")
}

/// Locks `<paths.state>.lock` for a named command: the holder writes `pid N COMMAND`
/// into the lock file. While a `quotad serve` holds the lock, anyone else (a second
/// `serve`, a `run`, an `import`) refuses at once, naming its pid and the lock file:
/// the daemon holds it for months. Otherwise a second process waits, and says why on
/// stderr.
///
/// Errors: the lock file cannot be opened or locked; a `serve` holds it.
pub fn lock_state_as(cfg: &Config, what: &str) -> Result<StateLock> {
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
