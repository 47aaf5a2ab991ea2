//! quotad: a daemon and CLI for sales leaders. It reads the spreadsheets a CRM exports
//! and turns them into quota memos, weekly ranking PDFs and 1:1 prep sheets,
//! delivered exactly once. See `../shared/DESIGN.md` for what and why.
//!
//! # Layout
//!
//! Data flows one way: `ingest -> store -> metrics -> report -> deliver`.
//!
//! - [`domain`] sits at the bottom: plain data (periods, money, reps, deals, standings).
//!   It imports no other quotad module.
//! - The stages — [`ingest`], [`store`], [`metrics`], [`report`], [`deliver`] — import
//!   `domain` and their own external crates, never each other. calamine and csv live in
//!   ingest, rusqlite in store, tera and printpdf in report, lettre in deliver.
//! - [`config`] composes each stage's settings from `quotad.toml`.
//! - [`pipeline`] (a folder) is the one place that knows the order of the stages; it
//!   imports the stages, `config`, `domain` and `schedule`. One file per job family:
//!   `import`, `memo` (quota memo and corrections), `documents` (weekly ranking, 1:1
//!   sheets), `outbox` (the ledger and delivery), `jobs` (scheduled occurrences, the
//!   daemon's work, admin notices), and the read-only questions (`explain`,
//!   `standings`, `status`, `check`); `state` opens and locks the state database. Work
//!   stops early through a [`pipeline::Stop`] token passed in.
//! - [`schedule`] is the calendar, pure: occurrences of cron expressions in the org's
//!   zone, the catch-up planner, the clock, inbox settling. It imports `domain` only;
//!   `cmd::serve` runs the daemon loop that acts on it and calls `pipeline`; the
//!   daemon's own crates (tokio, whose interval is its heartbeat, notify) live
//!   there, so `schedule` stays testable without a runtime or a clock.
//! - [`cli`] and `cmd` sit on top; nothing imports them. `cmd` imports `pipeline`,
//!   `config`, `domain`, `schedule` and `cli` only — never a stage: a command parses
//!   its arguments, calls a pipeline function and prints the summary it returns.
//!   `main.rs` only parses arguments and calls [`run`].
//!
//! The clock is passed in (`now`), never read inside a stage.

pub mod cli;
mod cmd;
pub mod config;
pub mod deliver;
pub mod domain;
pub mod ingest;
pub mod metrics;
pub mod pipeline;
pub mod report;
pub mod schedule;
pub mod store;

/// Runs a parsed command line at time `now` and returns the process exit status
/// (0 ok, 1 failure). Errors carry context naming the file, key or row concerned.
pub fn run(cli: cli::Cli, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<i32> {
    let now = cli.now.unwrap_or(now);
    cmd::dispatch(cli, now)
}
