//! Command-line interface (clap derive). The doc comments here are the `--help` text.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::domain::Period;

/// quotad turns the spreadsheets your CRM exports into quota memos, rankings and 1:1 prep
/// sheets, and sends them on a fixed calendar.
#[derive(Debug, Parser)]
#[command(name = "quotad", version, about, long_about = None)]
pub struct Cli {
    /// The config file. Relative paths inside it are resolved against its folder.
    #[arg(long, global = true, env = "QUOTAD_CONFIG", default_value = "config/quotad.toml")]
    pub config: PathBuf,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import every new file in the inbox (exports, quotas, roster) into the state database.
    Import,
    /// Run a job once, now.
    Run {
        /// The job: `quota-memo`, or `all` (import, then every job).
        job: Job,
        /// The memo month, YYYY-MM (default: the month after the newest deals stored).
        #[arg(long, value_parser = parse_period)]
        period: Option<Period>,
        /// Send again to recipients who were already sent this job's message for the
        /// period: re-rendered, with a new Message-ID. Without it a sent message is never
        /// sent twice.
        #[arg(long)]
        resend: bool,
    },
    /// Validate the config, the column mappings and the templates; list what the inbox holds.
    Check,
    /// Show the outbox: messages per state, the oldest one not yet sent, dead letters.
    Status,
    /// Look at or act on the outbox ledger.
    Outbox {
        /// What to do.
        #[command(subcommand)]
        action: OutboxAction,
    },
}

/// `quotad outbox` actions.
#[derive(Debug, Subcommand)]
pub enum OutboxAction {
    /// List outbox messages, oldest first: state, attempts, key, subject, last error.
    List {
        /// Only messages in this state (repeatable).
        #[arg(long, value_enum)]
        state: Vec<StateArg>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Put failed and dead messages back in the queue (attempts restart at 0) and
    /// deliver the outbox now. Without KEYs, every failed and dead message.
    Retry {
        /// Idempotency keys, as `outbox list` shows them.
        keys: Vec<String>,
    },
}

/// Outbox states, as `--state` takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StateArg {
    /// Recorded, not yet attempted.
    Pending,
    /// Handed to the transport, not yet acknowledged.
    Sending,
    /// Delivered.
    Sent,
    /// Failed; will be retried.
    Failed,
    /// Given up on.
    Dead,
}

/// Jobs that `quotad run` can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Job {
    /// The first-of-month quota memo to every active rep.
    QuotaMemo,
    /// Import, then every job.
    All,
}

fn parse_period(s: &str) -> Result<Period, String> {
    s.parse()
}
