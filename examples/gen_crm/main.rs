//! Benchmark and test data: synthetic homebuilder CRM exports that the shipped
//! `config/quotad.toml` reads (`roster.csv`, `quotas.csv`, `crm-export-YYYY-MM.xlsx`).
//!
//! ```sh
//! cargo run --release --example gen_crm -- --reps 2000 --months 12 \
//!     --deals-per-rep-month 45 --seed 42 --out DIR
//! ```
//!
//! Deterministic per seed (same rows, byte-identical files). Prints one line of totals,
//! then a table per export: data rows written, distinct won / cancelled / pending
//! rows, duplicates, won and cancelled revenue and their difference, net units — the
//! figures an importer should arrive at. See `generate.rs` for what makes the files
//! messy.

mod generate;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

/// Writes synthetic CRM exports (roster, quotas, one xlsx per month) into --out.
#[derive(Parser, Debug)]
struct Args {
    /// Folder to write into (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Reps on the roster.
    #[arg(long)]
    reps: usize,
    /// Monthly exports, ending at --end-month.
    #[arg(long)]
    months: usize,
    /// Mean deal rows per rep and month (before profile, season and ramp-up).
    #[arg(long)]
    deals_per_rep_month: f64,
    /// PRNG seed.
    #[arg(long)]
    seed: u64,
    /// The last export month, YYYY-MM.
    #[arg(long, default_value = "2026-10")]
    end_month: String,
    /// Plain exports: no title, totals, text cells, padded names or duplicate rows.
    #[arg(long)]
    clean: bool,
    /// Threads writing xlsx files (default: the number of cores).
    #[arg(long)]
    jobs: Option<usize>,
}

fn main() -> ExitCode {
    let a = Args::parse();
    let Some(end_month) =
        a.end_month.split_once('-').and_then(|(y, m)| Some((y.parse::<i32>().ok()?, m.parse::<u32>().ok()?)))
    else {
        eprintln!("gen_crm: --end-month must be YYYY-MM, got {:?}", a.end_month);
        return ExitCode::from(2);
    };
    let jobs = a.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let opts = generate::Options {
        out: a.out,
        reps: a.reps,
        months: a.months,
        deals_per_rep_month: a.deals_per_rep_month,
        seed: a.seed,
        end_month,
        messy: !a.clean,
        jobs,
    };
    let t0 = Instant::now();
    let s = match generate::generate(&opts) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gen_crm: {e}");
            return ExitCode::FAILURE;
        }
    };
    let sum = |f: fn(&generate::MonthSummary) -> usize| s.months.iter().map(f).sum::<usize>();
    println!(
        "gen_crm: {} reps, {} teams, {} months ({}..{}), {} deal rows (won {}, cancelled {}, pending {}, duplicate {}), {} quota rows, {}, seed {} -> {} in {:.1}s",
        s.reps,
        s.teams,
        s.months.len(),
        s.months[0].period,
        s.months[s.months.len() - 1].period,
        s.total_rows(),
        sum(|m| m.won),
        sum(|m| m.cancelled),
        sum(|m| m.pending),
        sum(|m| m.duplicates),
        s.quota_rows,
        if opts.messy { "messy" } else { "clean" },
        opts.seed,
        opts.out.display(),
        t0.elapsed().as_secs_f64()
    );
    print!("{}", s.table());
    ExitCode::SUCCESS
}
