//! Command-line interface (clap derive). The doc comments here are the `--help` text.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::domain::{BoardKind, IsoWeek, Period};

/// quotad turns the spreadsheets your CRM exports into quota memos, rankings and 1:1 prep
/// sheets, and sends them on a fixed calendar.
#[derive(Debug, Parser)]
#[command(name = "quotad", version, about, long_about = None)]
pub struct Cli {
    /// The config file. Relative paths inside it are resolved against its folder.
    #[arg(long, global = true, env = "QUOTAD_CONFIG", default_value = "config/quotad.toml")]
    pub config: PathBuf,

    /// Act as if the time were this instant (RFC 3339, e.g. 2026-11-02T18:00:00Z): for
    /// replaying a past run, or testing the calendar. Default: now.
    #[arg(long, global = true, value_parser = parse_instant)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,

    /// When another quotad is importing or sending on the same state (`run`, `import`,
    /// `outbox retry`): wait for it to finish instead of stopping at once with its pid.
    /// A running `quotad serve` is never waited for.
    #[arg(long, global = true)]
    pub wait: bool,

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
        /// The job: `quota-memo`, `weekly-ranking`, `one-on-one`, or `all` (import, then every job).
        job: Job,
        /// The month, YYYY-MM. quota-memo: the memo month (default: the month after the
        /// newest deals stored); one-on-one: the month reviewed (default: the newest month
        /// with deals).
        #[arg(long, value_parser = parse_period)]
        period: Option<Period>,
        /// Send corrections instead: only to reps whose memo figures have changed since it
        /// went out (and their managers), showing old and new values. Without --period,
        /// every month whose memo was sent is checked.
        #[arg(long)]
        corrections: bool,
        /// Send again to recipients who were already sent this job's message for the
        /// period: re-rendered, with a new Message-ID. Without it a sent message is never
        /// sent twice.
        #[arg(long)]
        resend: bool,
        /// weekly-ranking: the ISO week, YYYY-Www; it ranks the month of its Monday to date,
        /// through its Sunday or that month's end (default: the newest week with deals
        /// that the exports cover).
        #[arg(long, value_parser = parse_week)]
        week: Option<IsoWeek>,
        /// Run the calendar's occurrence at this instant (RFC 3339, e.g.
        /// 2026-11-01T13:00:00Z) by hand, through the runs ledger: an occurrence that
        /// already ran is not run again (a missed or skipped one is). The periods come
        /// from the occurrence, as `serve` would choose them.
        #[arg(long, value_parser = parse_instant, conflicts_with_all = ["period", "week", "corrections", "resend", "ignore_quarantine"])]
        at: Option<chrono::DateTime<chrono::Utc>>,
        /// Go on although a file was quarantined: `run all` does not stop after an import
        /// that quarantined a file, and jobs are not held by unresolved quarantines (their
        /// figures are then those stored without the rejected file).
        #[arg(long)]
        ignore_quarantine: bool,
    },
    /// Run the calendar: the jobs of `[schedule]` in the org's time zone, unattended,
    /// until SIGTERM or SIGINT; watch the inbox and import each file once it has settled.
    Serve {
        /// With --now: the clock starts there and runs this many times as fast as real
        /// time (for tests and trying the calendar; 60 = a minute a second). Default 1.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// With --now: the wall-clock instant (RFC 3339) at which the clock read --now,
        /// so that several instances started at different times agree on the time:
        /// clock = NOW + (wall clock - EPOCH) x speed. Default: when this one starts;
        /// without --now, ignored.
        #[arg(long, value_parser = parse_instant)]
        clock_epoch: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Render a job's PDFs into a folder without sending anything or touching the outbox.
    Preview {
        /// The job: `weekly-ranking` or `one-on-one` (PDFs and chat posts), `quota-memo`
        /// or `celebrations` (chat posts).
        job: PreviewJob,
        /// The folder to write the PDFs to.
        #[arg(long)]
        out: PathBuf,
        /// one-on-one: only this rep (rep id, e-mail address or name).
        #[arg(long)]
        rep: Option<String>,
        /// one-on-one: the month, YYYY-MM (default: the newest month with deals).
        #[arg(long, value_parser = parse_period)]
        period: Option<Period>,
        /// weekly-ranking: the ISO week, YYYY-Www; it ranks the month of its Monday to date,
        /// through its Sunday or that month's end (default: the newest week with deals
        /// that the exports cover).
        #[arg(long, value_parser = parse_week)]
        week: Option<IsoWeek>,
        /// Only this chat channel's payload(s) (`[[channels]] name`), no PDF.
        #[arg(long)]
        channel: Option<String>,
    },
    /// Validate the config, the column mappings and the templates; list what the inbox holds.
    Check {
        /// Also dry-run the mappings on every inbox file: the header row found, the
        /// column each field maps to, the first problems. Stores nothing, moves nothing.
        #[arg(long)]
        inbox: bool,
    },
    /// List the latest import reports, newest first: per file, rows read / stored /
    /// rejected, new / updated / unchanged / superseded rows, periods, warnings.
    Imports {
        /// At most this many reports.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Print the computed standings: the same figures the memos use.
    Standings {
        /// The month, YYYY-MM (default: the newest month with deals).
        #[arg(long, value_parser = parse_period, conflicts_with = "week")]
        period: Option<Period>,
        /// An ISO week, YYYY-Www: the month of its Monday to date, through its Sunday or that
        /// month's end, with movement since last week's ranking of the same month.
        #[arg(long, value_parser = parse_week)]
        week: Option<IsoWeek>,
        /// Only this team (its team board's ranks).
        #[arg(long)]
        team: Option<String>,
        /// Which board ranks the rows.
        #[arg(long, value_enum, default_value_t = BoardArg::Attainment)]
        board: BoardArg,
        /// Output format: an aligned table, CSV / JSON for scripts (fields in the README),
        /// or an Excel workbook with a sheet per board (needs --out).
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
        /// The file to write (--format xlsx), e.g. standings-2026-10.xlsx; its folder
        /// must exist. Written whole or not at all.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Show how one rep's figures were built, deal row by deal row.
    Explain {
        /// The rep: rep id, e-mail address or name.
        #[arg(long)]
        rep: String,
        /// The month, YYYY-MM.
        #[arg(long, value_parser = parse_period)]
        period: Period,
        /// Only this metric (default: all).
        #[arg(long, value_enum)]
        metric: Option<MetricArg>,
    },
    /// Create a working folder: a commented config, inbox/archive/quarantine/outbox and
    /// the templates to customise. Never overwrites anything.
    Init {
        /// The folder to create (default: the current folder, which must be empty).
        #[arg(default_value = ".")]
        dir: std::path::PathBuf,
        /// Also put a small sample inbox (20 reps, 6 months) in it.
        #[arg(long)]
        sample: bool,
    },
    /// Copy the SQLite state (`paths.state`) into an empty PostgreSQL database, then
    /// check the copy: every table's rows, and the same `quotad standings`. The
    /// password comes from PGPASSWORD. `paths.state` is left as it is: point it at the
    /// URL afterwards.
    MigrateState {
        /// The PostgreSQL database, e.g. postgres://quotad@db.internal/quotad (no
        /// password in it).
        #[arg(long)]
        to: String,
    },
    /// Show the calendar (each job's last run, its result, the next occurrence in local
    /// time and UTC), the unresolved quarantines, the runs held for approval, and the
    /// outbox (messages per state, the oldest not yet sent, dead letters).
    Status,
    /// Act on quarantined files: while one is unresolved, the jobs whose figures it could
    /// change are held.
    Quarantine {
        /// What to do.
        #[command(subcommand)]
        action: QuarantineAction,
    },
    /// Approve the messages held for approval (`[quota_memo.approval]`): they are sent
    /// exactly as the digest showed them. If the figures changed since the digest, the
    /// approval is refused, nothing is sent, and a new digest goes to the approvers.
    Approve {
        /// The job: `quota-memo`.
        job: ApprovalJob,
        /// The memo month, YYYY-MM.
        #[arg(long, value_parser = parse_period)]
        period: Period,
        /// The approval token the digest names (12 hex digits): it binds the approval to
        /// exactly the messages the digest showed. Without it nothing is approved: the
        /// command names the held run's token and when its digest went out.
        #[arg(long)]
        token: Option<String>,
        /// The approver (an address of `quota_memo.approval.to`); needed when several
        /// are configured. Recorded in the ledger.
        #[arg(long)]
        by: Option<String>,
    },
    /// The approval ledger of a month (the audit trail): every run held for approval,
    /// its token, how many messages, and whether it was approved, rejected or replaced
    /// (by whom, when, why).
    Approvals {
        /// The memo month, YYYY-MM.
        #[arg(long, value_parser = parse_period)]
        period: Period,
    },
    /// Reject the messages held for approval: they are never sent. Import a corrected
    /// file and run the job again to hold new ones (and send a new digest).
    Reject {
        /// The job: `quota-memo`.
        job: ApprovalJob,
        /// The memo month, YYYY-MM.
        #[arg(long, value_parser = parse_period)]
        period: Period,
        /// Why (recorded in the ledger).
        #[arg(long)]
        reason: String,
        /// The approver rejecting (an address of `quota_memo.approval.to`); needed when
        /// several are configured.
        #[arg(long)]
        by: Option<String>,
    },
    /// Look at or act on the outbox ledger.
    Outbox {
        /// What to do.
        #[command(subcommand)]
        action: OutboxAction,
    },
}

/// Boards `quotad standings` can rank by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BoardArg {
    /// Revenue (units beside it).
    Results,
    /// Attainment % of quota.
    Attainment,
    /// Mean customer rating (reps with enough ratings).
    Ratings,
    /// Clean paperwork rate.
    Paperwork,
}

impl From<BoardArg> for BoardKind {
    fn from(b: BoardArg) -> BoardKind {
        match b {
            BoardArg::Results => BoardKind::Results,
            BoardArg::Attainment => BoardKind::Attainment,
            BoardArg::Ratings => BoardKind::Ratings,
            BoardArg::Paperwork => BoardKind::Paperwork,
        }
    }
}

/// Output formats of `quotad standings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned text for a 100-column terminal.
    Table,
    /// Comma-separated values with a header line.
    Csv,
    /// A JSON array of row objects.
    Json,
    /// An Excel workbook, a sheet per board (`quotad standings` only, with --out).
    Xlsx,
}

/// Metrics `quotad explain` can focus on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MetricArg {
    /// Revenue and attainment.
    Revenue,
    /// Units.
    Units,
    /// Customer rating.
    Rating,
    /// Clean paperwork.
    Paperwork,
}

/// `quotad quarantine` actions.
#[derive(Debug, Subcommand)]
pub enum QuarantineAction {
    /// List the unresolved quarantines and the months each could change.
    List,
    /// Decide that a quarantined file should not count: it no longer holds any job
    /// (nothing from it is stored). FILE is its name as quarantined, e.g.
    /// crm-export-2026-10.xlsx.
    Dismiss {
        /// The quarantined file's name.
        file: String,
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

/// Jobs whose messages can be held for approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApprovalJob {
    /// The first-of-month quota memo (and its corrections).
    QuotaMemo,
}

/// Jobs that `quotad run` can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Job {
    /// The first-of-month quota memo to every active rep.
    QuotaMemo,
    /// The weekly ranking PDF, e-mailed to each team's reps and manager.
    WeeklyRanking,
    /// The monthly 1:1 prep sheets (one PDF per rep), e-mailed to each manager.
    OneOnOne,
    /// Import, then every job.
    All,
}

/// Jobs that `quotad preview` can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PreviewJob {
    /// The quota memo's team summary posted to chat channels.
    QuotaMemo,
    /// The weekly ranking PDFs and chat posts.
    WeeklyRanking,
    /// The 1:1 prep sheets.
    OneOnOne,
    /// The celebrations an import posts to chat channels (`--period`: the month).
    Celebrations,
}

fn parse_period(s: &str) -> Result<Period, String> {
    s.parse()
}

fn parse_instant(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("'{s}' is not an RFC 3339 instant such as 2026-11-02T18:00:00Z ({e})"))
}

fn parse_week(s: &str) -> Result<IsoWeek, String> {
    s.parse()
}

impl Job {
    /// The scheduled job this is; `None` for `all`.
    pub fn scheduled(self) -> Option<crate::schedule::JobKind> {
        match self {
            Job::QuotaMemo => Some(crate::schedule::JobKind::QuotaMemo),
            Job::WeeklyRanking => Some(crate::schedule::JobKind::WeeklyRanking),
            Job::OneOnOne => Some(crate::schedule::JobKind::OneOnOne),
            Job::All => None,
        }
    }
}
