//! quotad: a daemon and CLI for sales leaders. It reads the spreadsheets a CRM exports
//! (closed deals, quotas, the roster) and turns them into a first-of-month quota memo
//! per rep and manager, a weekly ranking PDF and monthly 1:1 prep sheets, delivered
//! exactly once through an outbox. The README says what it does for its users; this
//! page is the map for a contributor.
//!
//! # Where to start reading
//!
//! 1. [`domain`]: the plain data every stage shares — [`domain::Period`],
//!    [`domain::DealRow`], [`domain::Standing`], [`domain::MonthStandings`].
//! 2. [`metrics::month_standings`]: every figure a memo, PDF or `quotad standings`
//!    shows, computed once. What each figure means, its config keys and defaults, and
//!    the function that computes it: `docs/definitions.md`, rendered as
//!    [`metrics::definitions`].
//! 3. [`pipeline::import`] and [`ingest::read_file`]: how an inbox file becomes stored
//!    rows (header search, column mapping, values, rejects with their cell).
//! 4. [`pipeline`]'s job families (`memo`, `documents`, `outbox`, `jobs`): how the
//!    standings become e-mails and PDFs and reach the outbox.
//! 5. [`schedule`] and `cmd::serve`: the calendar and the daemon.
//!
//! A command travels `main.rs` -> [`run`] -> `cmd::dispatch` -> one `cmd` file ->
//! a `pipeline` function -> the stages.
//!
//! # Data flow
//!
//! ```text
//! inbox/*.xlsx|csv ──ingest──> rows ──store──> quotad.sqlite (imports, deal events,
//!                                              quotas, roster versions, outbox, runs)
//!      quotad.sqlite ──metrics──> MonthStandings ──report──> e-mails (Tera), PDFs
//!      ──store (outbox ledger)──> deliver (SMTP or .eml files), once per idempotency key
//! ```
//!
//! Configuration is `config/quotad.toml` (every key commented with its default),
//! parsed and validated by [`config`]. Tests: unit tests beside the code; one
//! integration binary (`tests/integration/`) that drives the real `quotad` executable
//! on generated spreadsheets, the bundled sample (`config/sample-inbox/`), a real
//! SQLite file and a real SMTP server. Benchmark data: `examples/gen_crm/`, used by
//! `benches/run.sh`.
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
//! - [`web`] is the daemon's optional read-only web face (the sales-floor board,
//!   `/healthz`, `/metrics`; config `[web]`): it owns axum and imports `pipeline`,
//!   `config` and `schedule` (the clock), never a stage; `cmd::serve` runs it on the
//!   daemon's tokio runtime.
//! - [`cli`] and `cmd` sit on top; nothing imports them. `cmd` imports `pipeline`,
//!   `config`, `domain`, `schedule` and `cli` only (and `cmd::serve` the [`web`] face) — never a stage: a command parses
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
pub mod web;

/// Runs a parsed command line at time `now` and returns the process exit status
/// (0 ok, 1 failure). Errors carry context naming the file, key or row concerned.
pub fn run(cli: cli::Cli, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<i32> {
    let now = cli.now.unwrap_or(now);
    cmd::dispatch(cli, now)
}
