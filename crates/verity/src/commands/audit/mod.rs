//! `verity audit ...`: the auditor's commands (docs/audit.md). Each file is one command:
//! `key` prints the public audit key to pin, `verify` checks a database or a bundle with
//! the pinned key, `checkpoint` records a checkpoint now, `bundle` writes an offline
//! bundle; the questions (`history`, `account`, `explain`) are in `audit_queries`. What
//! makes the log trustworthy lives in `verity-audit`; these are its doors.

mod bundle;
mod checkpoint;
mod key;
mod refusal;
mod verify;

use std::process::ExitCode;

use crate::app::App;
use crate::cli::AuditCommand;
use crate::config::Config;

/// Runs one audit command.
pub(super) async fn run(
    command: AuditCommand,
    config: Config,
    json: bool,
) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Key => key::run(&config, json),
        AuditCommand::Verify(args) => verify::run(config, args, json).await,
        AuditCommand::Checkpoint => checkpoint::run(config, json).await,
        AuditCommand::Bundle { out } => bundle::run(config, &out, json).await,
        query @ (AuditCommand::History(_)
        | AuditCommand::Account { .. }
        | AuditCommand::Explain { .. }) => {
            super::audit_queries::run(query, App::open(config).await?, json).await
        }
    }
}
