//! The state database as a job holds it: opened (migrations applied at open) and locked
//! for the life of a job, so two quotad processes never import or send at the same
//! time. May import `store` and `config`.

use std::io::Write as _;

use anyhow::{Context, Result};

use crate::config::{Config, StateLocation};
use crate::store::Store;

/// Opens the state database `paths.state`, creating it and applying migrations.
///
/// Errors: the file cannot be opened or migrated (the message names it).
pub fn open_store(cfg: &Config) -> Result<Store> {
    match &cfg.paths.state {
        StateLocation::Sqlite(file) => {
            Store::open(file).with_context(|| format!("opening the state database {}", file.display()))
        }
        StateLocation::Postgres(url) => Store::open_postgres(url).context("opening the state database (paths.state)"),
    }
}

/// Opens the state database for reading only (`status`, `standings`, `explain`,
/// `imports`, `outbox list`, `preview`): needs no write access to it or its folder.
///
/// Errors: no database yet, one an older quotad wrote (the message says how to
/// upgrade it), or SQLite's (the message names the file).
pub fn open_store_read_only(cfg: &Config) -> Result<Store> {
    match &cfg.paths.state {
        StateLocation::Sqlite(file) => {
            Store::open_read_only(file).with_context(|| format!("reading the state database {}", file.display()))
        }
        StateLocation::Postgres(url) => {
            Store::open_postgres_read_only(url).context("reading the state database (paths.state)")
        }
    }
}

/// Fails, naming the folder, when the state database's folder cannot be written (a
/// read-only mount, or a user without write permission): a command that writes says so
/// before it tries, instead of SQLite's "unable to open database file".
fn require_writable_state_folder(cfg: &Config, what: &str) -> Result<()> {
    let Some(file) = cfg.paths.state.sqlite() else { return Ok(()) };
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    if std::fs::create_dir_all(&dir).is_err() && !dir.is_dir() {
        anyhow::bail!("cannot create the state folder {}", dir.display());
    }
    let probe = dir.join(format!(".quotad-write-check-{}", std::process::id()));
    match std::fs::OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) if matches!(e.kind(), std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem) => {
            let dir = std::path::absolute(&dir).unwrap_or(dir);
            anyhow::bail!(
                "the state folder {} is read-only for this user ({e}): `quotad {what}` writes the state database {} there. Run it as the user that owns the folder (e.g. `sudo -u quotad`); the read-only commands (status, standings, explain, imports, outbox list) work as they are",
                dir.display(),
                file.display()
            )
        }
        Err(_) => Ok(()), // e.g. a stale probe from a crashed process: let SQLite say what is wrong
    }
}

/// Holds an exclusive lock on the state database for the life of a job, so two quotad
/// processes never import or send at the same time. The OS releases the lock when the
/// process exits, however it exits. The one lock of a state database: every command
/// that writes the state (`run`, `import`, `serve`, `outbox retry`, `quarantine
/// dismiss`) takes it first, and delivery ([`super::deliver_outbox`]) checks that its
/// process holds it ([`hold_state_lock`]), so that no process ever delivers beside
/// another (it would take the other's in-flight `sending` message for a crash leftover
/// and send it twice).
pub struct StateLock {
    file: Option<std::fs::File>,
    /// On PostgreSQL, the session holding the advisory lock instead of a file.
    pg: Option<crate::store::pg::StateLock>,
    path: std::path::PathBuf,
}

impl Drop for StateLock {
    fn drop(&mut self) {
        if self.file.take().is_some() || self.pg.take().is_some() {
            held().lock().unwrap_or_else(|e| e.into_inner()).remove(&self.path);
        }
    }
}

/// The lock files this process holds (absolute paths), so that a second take of the
/// same lock in one process is recognised instead of refused: `flock` locks belong to
/// an open file, and a second open of the same file in the same process would be
/// refused as if another quotad held it.
fn held() -> &'static std::sync::Mutex<std::collections::HashSet<std::path::PathBuf>> {
    static HELD: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<std::path::PathBuf>>> =
        std::sync::OnceLock::new();
    HELD.get_or_init(Default::default)
}

/// The state lock's file: `<paths.state>.lock` (e.g. `var/quotad.db.lock`), absolute.
/// On PostgreSQL, where the lock is an advisory lock in the database, the URL with
/// `#state-lock` (a name for this process's record of the locks it holds).
pub fn lock_path(cfg: &Config) -> std::path::PathBuf {
    if let StateLocation::Postgres(url) = &cfg.paths.state {
        return format!("{url}#state-lock").into();
    }
    let path = std::path::PathBuf::from(format!("{}.lock", cfg.paths.state.display()));
    std::path::absolute(&path).unwrap_or(path)
}

/// What to do when another quotad holds the state lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IfLocked {
    /// Refuse at once, naming the holder's pid and command (the default).
    #[default]
    Refuse,
    /// Wait for it to finish, saying so on stderr (`--wait`); never for a `serve`.
    Wait,
}

/// [`lock_state_as`] for `quotad run`.
pub fn lock_state(cfg: &Config, if_locked: IfLocked) -> Result<StateLock> {
    lock_state_as(cfg, "run", if_locked)
}

/// For a step that must run under the state lock (delivery): `None` when this process
/// already holds it (the command that called took it), otherwise the lock taken now
/// for `what` ([`lock_state_as`], refusing when another quotad holds it).
///
/// Errors: those of [`lock_state_as`].
pub fn hold_state_lock(cfg: &Config, what: &str) -> Result<Option<StateLock>> {
    if held().lock().unwrap_or_else(|e| e.into_inner()).contains(&lock_path(cfg)) {
        return Ok(None);
    }
    lock_state_as(cfg, what, IfLocked::Refuse).map(Some)
}

/// Who holds the lock, from the lock file's `pid N COMMAND`: "pid N, `quotad COMMAND`".
fn holder_of(text: &str) -> String {
    let holder = text.trim();
    match holder.strip_prefix("pid ").and_then(|h| h.split_once(' ')) {
        Some((pid, cmd)) => format!("pid {pid}, `quotad {cmd}`"),
        None if holder.is_empty() => "holder unknown".to_string(),
        None => holder.to_string(),
    }
}

/// Locks `<paths.state>.lock` for a named command (`run`, `import`, `serve`, `outbox
/// retry`): the holder writes `pid N COMMAND` into the lock file. When another quotad
/// holds it, this one refuses, naming its pid and command and the lock file — or, with
/// [`IfLocked::Wait`], waits for it (saying so on stderr). A `serve` holds the lock for
/// months: nobody waits for one. The read-only commands (`status`, `standings`,
/// `explain`, `imports`, `outbox list`) never take it.
///
/// Errors: the state folder is read-only for this user (the message names it); the
/// lock file cannot be opened or locked; another quotad holds it; this process holds
/// it already (a second take would deadlock with `--wait`).
pub fn lock_state_as(cfg: &Config, what: &str, if_locked: IfLocked) -> Result<StateLock> {
    require_writable_state_folder(cfg, what)?;
    let path = lock_path(cfg);
    if held().lock().unwrap_or_else(|e| e.into_inner()).contains(&path) {
        anyhow::bail!("this quotad already holds {} (taking it again for `quotad {what}`)", path.display());
    }
    if let StateLocation::Postgres(url) = &cfg.paths.state {
        return lock_postgres_state(url, what, if_locked, path);
    }
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
            if let Some(pid) = holder.trim().strip_prefix("pid ").and_then(|h| h.strip_suffix(" serve")) {
                let todo = match what {
                    "serve" => "start another".to_string(),
                    // The daemon retries a failed message itself at its backoff; a dead
                    // letter waits for a person.
                    "outbox retry" => {
                        "send dead letters again (it retries failed messages itself at their backoff)".to_string()
                    }
                    _ => "do this".to_string(),
                };
                anyhow::bail!(
                    "`quotad serve` (pid {pid}) is running on {} and holds {}: it runs the calendar and imports the inbox itself, and only one quotad may work on a state database. `quotad status` shows what it did; stop it (e.g. `systemctl stop quotad`) to {todo} by hand",
                    cfg.paths.state.display(),
                    path.display(),
                );
            }
            let who = holder_of(&holder);
            if if_locked == IfLocked::Refuse {
                anyhow::bail!(
                    "another quotad ({who}) is working on {} and holds {}: only one quotad may import or send at a time. Run this again when it has finished, or add --wait to wait for it",
                    cfg.paths.state.display(),
                    path.display()
                );
            }
            eprintln!("another quotad ({who}) is working on {}; waiting for it to finish…", cfg.paths.state.display());
            file.lock().with_context(|| format!("cannot lock {}", path.display()))?;
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("cannot lock {}", path.display()));
        }
    }
    let _ = file.set_len(0).and_then(|_| file.write_all(format!("pid {} {what}\n", std::process::id()).as_bytes()));
    held().lock().unwrap_or_else(|e| e.into_inner()).insert(path.clone());
    Ok(StateLock { file: Some(file), pg: None, path })
}

/// [`lock_state_as`] on PostgreSQL: a session-level advisory lock in the database
/// (`store::pg::lock_state`), its holder named by its connection's application name.
fn lock_postgres_state(url: &str, what: &str, if_locked: IfLocked, path: std::path::PathBuf) -> Result<StateLock> {
    use crate::store::pg;
    let me = format!("pid {} {what}", std::process::id());
    let target = pg::describe(url);
    // Several `serve` instances may work on one PostgreSQL state (issue 24 part C): they
    // share the lock; every other command that takes it (run, import, outbox retry,
    // quarantine dismiss, approve by hand, migrate-state) holds it alone.
    if what == "serve" {
        let lock = match pg::lock_state_shared(url, &me)
            .with_context(|| format!("cannot take the state lock in {target}"))?
        {
            Ok(lock) => lock,
            Err(holder) => anyhow::bail!(
                "another quotad ({}) is working on {target} alone and holds its state lock: `quotad serve` starts when it has finished",
                holder_of(&holder)
            ),
        };
        held().lock().unwrap_or_else(|e| e.into_inner()).insert(path.clone());
        return Ok(StateLock { file: None, pg: Some(lock), path });
    }
    let taken = pg::lock_state(url, &me, false).with_context(|| format!("cannot take the state lock in {target}"))?;
    let lock = match taken {
        Ok(lock) => lock,
        Err(holder) => {
            if holder.ends_with(" serve") {
                let pids: Vec<&str> = holder
                    .split(", ")
                    .filter_map(|h| h.strip_prefix("pid ").and_then(|h| h.strip_suffix(" serve")))
                    .collect();
                anyhow::bail!(
                    "`quotad serve` (pid {}, on some machine) is running on {target} and holds its state lock: `quotad {what}` must work on a state database alone. `quotad status` shows what it did; stop it to do this by hand",
                    pids.join(", pid ")
                );
            }
            let who = holder_of(&holder);
            if if_locked == IfLocked::Refuse {
                anyhow::bail!(
                    "another quotad ({who}) is working on {target} and holds its state lock: only one quotad may import or send at a time. Run this again when it has finished, or add --wait to wait for it"
                );
            }
            eprintln!("another quotad ({who}) is working on {target}; waiting for it to finish…");
            pg::lock_state(url, &me, true)
                .with_context(|| format!("cannot take the state lock in {target}"))?
                .map_err(|h| anyhow::anyhow!("the state lock in {target} is held by {h}"))?
        }
    };
    held().lock().unwrap_or_else(|e| e.into_inner()).insert(path.clone());
    Ok(StateLock { file: None, pg: Some(lock), path })
}

/// `quotad migrate-state --to URL`: copies the SQLite state `paths.state` into the
/// empty PostgreSQL database `to` (migrated first), under the state lock, then checks
/// the copy: the rows of every table, and `quotad standings` (each board, as JSON) read
/// from either database. Returns the lines to print. `paths.state` is left as it was:
/// the operator points it at the URL when ready.
///
/// Errors: `paths.state` is not an SQLite file; `to` is not a PostgreSQL URL, cannot be
/// reached, or is not empty (naming the first table that holds rows); a row count or
/// the standings differ after the copy (naming the table, or the board).
pub fn migrate_state(cfg: &Config, to: &str, now: chrono::DateTime<chrono::Utc>) -> Result<String> {
    let StateLocation::Sqlite(file) = &cfg.paths.state else {
        anyhow::bail!(
            "migrate-state copies an SQLite state: paths.state is already PostgreSQL ({})",
            cfg.paths.state.display()
        );
    };
    let target = match StateLocation::parse(to, &|p| p.to_path_buf()) {
        Ok(StateLocation::Postgres(url)) => url,
        Ok(StateLocation::Sqlite(_)) => {
            anyhow::bail!("--to: '{to}' is not a PostgreSQL URL (postgres://user@host/database)")
        }
        Err(e) => anyhow::bail!("--to: {}", e.trim_start_matches("paths.state: ")),
    };
    let _lock = lock_state_as(cfg, "migrate-state", IfLocked::Refuse)?;
    let from = Store::open_read_only(file).with_context(|| format!("reading the state database {}", file.display()))?;
    let dest = Store::open_postgres(&target).context("opening the PostgreSQL database (--to)")?;
    let where_ = crate::store::pg::describe(&target);
    if let Some((table, rows)) = dest.first_nonempty_table()? {
        anyhow::bail!(
            "{where_} is not empty: its table {table} holds {rows} row(s). migrate-state copies into an empty database only (create one: `createdb -O quotad quotad`)"
        );
    }
    let copied = from.copy_into(&dest)?;
    let (a, b) = (from.table_counts()?, dest.table_counts()?);
    for ((table, n), (_, m)) in a.iter().zip(&b) {
        if n != m {
            anyhow::bail!("after the copy, table {table} holds {m} row(s) in {where_} but {n} in {}", file.display());
        }
    }
    let mut pg_cfg = cfg.clone();
    pg_cfg.paths.state = StateLocation::Postgres(target.clone());
    let mut boards = 0;
    for board in crate::domain::BoardKind::ALL {
        let q =
            super::StandingsQuery { period: None, week: None, team: None, board, format: super::StandingsFormat::Json };
        let on_lite = super::standings_report(cfg, &q, now).map_err(|e| e.to_string());
        let on_pg = super::standings_report(&pg_cfg, &q, now).map_err(|e| e.to_string());
        if on_lite != on_pg {
            anyhow::bail!(
                "after the copy, `quotad standings --board {board:?}` differs between {} and {where_}",
                file.display()
            );
        }
        boards += on_lite.is_ok() as usize;
    }
    let rows: i64 = copied.iter().map(|(_, n)| n).sum();
    let mut out = format!(
        "copied {} into {where_}: {rows} row(s) in {} tables
",
        file.display(),
        copied.len()
    );
    for (t, n) in copied.iter().filter(|(_, n)| *n > 0) {
        out.push_str(&format!("  {t:<22} {n:>9}\n"));
    }
    out.push_str(&format!(
        "checked: every table's rows equal; `quotad standings` equal on {boards} board(s)\nnext: set paths.state = \"{target}\" in {} (the password from PGPASSWORD)\n",
        cfg.file.display()
    ));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(dir: &std::path::Path) -> Config {
        let text = "[org]\nname = \"T\"\ntime_zone = \"UTC\"\n\n[sources.deals]\nkind = \"deals\"\nfiles = [\"deals*\"]\n\n[sources.roster]\nkind = \"roster\"\nfiles = [\"roster.csv\"]\n\n[mail]\nfrom = \"Ops <ops@example.com>\"\n";
        Config::parse(text, "quotad.toml", dir).unwrap()
    }

    #[test]
    fn delivery_inside_a_command_uses_its_lock_and_alone_takes_the_same_one() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = cfg(dir.path());
        assert!(lock_path(&cfg).ends_with("quotad.sqlite.lock"), "{}", lock_path(&cfg).display());
        {
            let _run = lock_state_as(&cfg, "run", IfLocked::Refuse).unwrap();
            // Delivery inside the command: no second lock (flock would refuse it).
            assert!(hold_state_lock(&cfg, "deliver").unwrap().is_none());
            // A second take for another command is a bug, said as such.
            let again = lock_state_as(&cfg, "import", IfLocked::Refuse).err().unwrap().to_string();
            assert!(again.starts_with("this quotad already holds"), "{again}");
            let text = std::fs::read_to_string(lock_path(&cfg)).unwrap();
            assert_eq!(text, format!("pid {} run\n", std::process::id()));
        }
        // Released with the command: delivery alone takes the same lock file.
        let alone = hold_state_lock(&cfg, "deliver").unwrap().expect("taken now");
        assert_eq!(std::fs::read_to_string(lock_path(&cfg)).unwrap(), format!("pid {} deliver\n", std::process::id()));
        drop(alone);
        assert!(hold_state_lock(&cfg, "deliver").unwrap().is_some());
    }

    #[test]
    fn the_holder_is_named_from_the_lock_file() {
        assert_eq!(holder_of("pid 4242 outbox retry\n"), "pid 4242, `quotad outbox retry`");
        assert_eq!(holder_of("pid 7 run"), "pid 7, `quotad run`");
        assert_eq!(holder_of(""), "holder unknown");
    }
}
