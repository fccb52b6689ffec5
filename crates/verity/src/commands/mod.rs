//! One module per command group. Each returns the process's exit status.

mod audit;
mod audit_queries;
mod backup;
mod bench;
mod bench_signin;
mod client;
mod devices;
mod door;
mod events;
mod keys;
mod org;
mod replay;
mod role;
mod serve;
mod unlock;
mod user;

use std::process::ExitCode;

use uuid::Uuid;
use verity_projection::{OrganizationView, ReadModels};

use crate::app::App;
use crate::cli::{AuditCommand, Command, EventsCommand, NetworkCommand};
use crate::config::Config;

/// Exit status of a chain that does not verify.
pub const EXIT_CHAIN_BROKEN: u8 = 2;
/// Exit status of projections that differ from a rebuild.
pub const EXIT_REPLAY_MISMATCH: u8 = 3;

/// Runs one command.
pub async fn run(command: Command, config: Config, json: bool) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve => serve::run(config).await,
        Command::Org(command) => org::run(command, App::open(config).await?, json).await,
        Command::User(command) => user::run(command, App::open(config).await?, json).await,
        Command::Client(command) => client::run(command, App::open(config).await?, json).await,
        Command::Role(command) => role::run(command, App::open(config).await?, json).await,
        Command::Keys(command) => keys::run(command, App::open(config).await?, json).await,
        Command::Events(EventsCommand::Export(args)) => events::export(args, config).await,
        Command::Audit(AuditCommand::Verify { checkpoints }) => {
            audit::verify(config, json, &checkpoints).await
        }
        Command::Audit(AuditCommand::Checkpoint) => audit::checkpoint(config, json).await,
        Command::Audit(query) => audit_queries::run(query, App::open(config).await?, json).await,
        Command::Network(NetworkCommand::Unlock { address }) => {
            unlock::network(&App::open(config).await?, address, json).await
        }
        Command::Replay => replay::run(config, json).await,
        Command::Backup { out } => backup::backup(config, &out, json).await,
        Command::Restore { file } => backup::restore(config, &file, json).await,
        Command::Bench(command) => bench::run(command, config).await,
    }
}

/// Finds an organization by id or (case-insensitive) name, for the sign-in benchmark's
/// people (which the benchmark writes straight to the log).
fn find_org(models: &ReadModels, org: &str) -> anyhow::Result<OrganizationView> {
    let found = match Uuid::parse_str(org) {
        Ok(id) => models.organizations.get(id),
        Err(_) => models.organizations.find_by_name(org),
    };
    found
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no organization {org:?} (see `verity org list`)"))
}

/// Prints a value as one JSON line.
fn print_json(value: &serde_json::Value) {
    println!("{value}");
}
