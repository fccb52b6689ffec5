//! One module per command group. Each returns the process's exit status.

mod audit;
mod audit_queries;
mod backup;
mod bench;
mod bench_access;
mod bench_audit;
mod bench_console;
mod bench_fixtures;
mod bench_signin;
mod client;
mod devices;
mod door;
mod events;
mod exit_status;
mod keys;
mod org;
mod output;
mod replay;
mod role;
mod scim;
mod serve;
mod unlock;
mod user;

use std::process::ExitCode;

use crate::app::App;
use crate::cli::{Command, EventsCommand, NetworkCommand};
use crate::config::Config;

pub use exit_status::{EXIT_CHAIN_BROKEN, EXIT_REPLAY_MISMATCH};
pub use output::ReaderLeft;

/// Runs one command.
pub async fn run(command: Command, config: Config, json: bool) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => serve::run(config, args).await,
        Command::Org(command) => org::run(command, App::open(config).await?, json).await,
        Command::User(command) => user::run(command, App::open(config).await?, json).await,
        Command::Client(command) => client::run(command, App::open(config).await?, json).await,
        Command::Role(command) => role::run(command, App::open(config).await?, json).await,
        Command::Scim(command) => scim::run(command, App::open(config).await?, json).await,
        Command::Keys(command) => keys::run(command, App::open(config).await?, json).await,
        Command::Events(EventsCommand::Export(args)) => events::export(args, config).await,
        Command::Audit(command) => audit::run(command, config, json).await,
        Command::Network(NetworkCommand::Unlock { address }) => {
            unlock::network(&App::open(config).await?, address, json).await
        }
        Command::Replay => replay::run(config, json).await,
        Command::Backup { out } => backup::backup(config, &out, json).await,
        Command::Restore { file } => backup::restore(config, &file, json).await,
        Command::Bench(command) => bench::run(command, config).await,
    }
}
