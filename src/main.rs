//! The `quotad` binary: parse arguments, set up logging, run, exit with a status
//! (0 ok, 1 failure, 2 usage error — clap exits with 2 itself).

use clap::Parser;

/// jemalloc, with its default options (`_RJEM_MALLOC_CONF` sets others at run time): see
/// Cargo.toml for why.
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    let cli = quotad::cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let code = match quotad::run(cli, chrono::Utc::now()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    };
    std::process::exit(code);
}
