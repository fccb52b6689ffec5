//! `verity`: see `verity --help`.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use verity::cli::{Cli, Command, ServeArgs};
use verity::config::{Config, LogFormat, Overrides};

/// jemalloc instead of the C library's allocator: pages freed by a burst or a snapshot go
/// back to the system after a few seconds (its decay, run by a background thread) instead
/// of staying in per-thread arenas, so a node's resident memory follows what it holds
/// (docs/adr/0012-allocator.md).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let overrides = Overrides {
        data_dir: cli.global.data_dir.clone(),
        database_url: cli.global.database_url.clone(),
    };
    let config = match Config::load(cli.global.config.as_deref(), &overrides) {
        Ok(config) => config,
        Err(error) => return fail(&error.into()),
    };
    let command = cli.command.unwrap_or(Command::Serve(ServeArgs::default()));
    // Commands other than `serve` print their results; their logs stay quiet by default.
    let quiet = !matches!(command, Command::Serve(_)) && config.log.level == "info";
    init_tracing(&config, if quiet { "warn" } else { &config.log.level });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(&error.into()),
    };
    match runtime.block_on(verity::commands::run(command, config, cli.global.json)) {
        Ok(code) => code,
        // `verity … | head`: the reader has what it wanted.
        Err(error) if error.is::<verity::commands::ReaderLeft>() => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

/// One clear line on stderr and a non-zero exit; never a panic.
fn fail(error: &anyhow::Error) -> ExitCode {
    let chain: Vec<String> = error.chain().map(ToString::to_string).collect();
    eprintln!("error: {}", chain.join(": "));
    ExitCode::FAILURE
}

fn init_tracing(config: &Config, level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log.format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}
