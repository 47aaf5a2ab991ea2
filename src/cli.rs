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
    },
    /// Validate the config, the column mappings and the templates; list what the inbox holds.
    Check,
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
