//! One module per command group. Each returns the process's exit status.

mod audit;
mod audit_queries;
mod backup;
mod bench;
mod bench_access;
mod bench_audit;
mod bench_console;
mod bench_signin;
mod client;
mod devices;
mod door;
mod events;
mod keys;
mod org;
mod replay;
mod role;
mod scim;
mod serve;
mod unlock;
mod user;

use std::process::ExitCode;

use uuid::Uuid;
use verity_projection::{OrganizationView, ReadModels};

use crate::app::App;
use crate::cli::{Command, EventsCommand, NetworkCommand};
use crate::config::Config;

/// Exit status of a chain that does not verify.
pub const EXIT_CHAIN_BROKEN: u8 = 2;
/// Exit status of projections that differ from a rebuild.
pub const EXIT_REPLAY_MISMATCH: u8 = 3;

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

/// An Argon2id PHC string nobody signs in with: the password of generated people who
/// never sign in.
const BENCH_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$YmVuY2hzYWx0$YmVuY2hoYXNoYmVuY2hoYXNo";

/// The metadata of the events the benchmarks append: the system as actor, now.
fn metadata() -> verity_domain::EventMetadata {
    verity_domain::EventMetadata {
        actor: verity_domain::Actor::System,
        request_id: None,
        client_ip: None,
        occurred_at: crate::app::now(),
    }
}

/// A progress bar over `length` events on stderr (hidden for `--json`).
fn progress_bar(length: u64, json: bool) -> indicatif::ProgressBar {
    let bar = if json {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(length)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} events  {per_sec}  eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// Prints a value as one JSON line.
fn print_json(value: &serde_json::Value) {
    println!("{value}");
}
