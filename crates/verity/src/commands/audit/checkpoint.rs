//! `verity audit checkpoint`: verify the whole log, then sign its head and record the
//! checkpoint now — in the log, in the checkpoint file, with the witness — as the server
//! does every N events or T seconds.

use crate::commands::output::say;
use std::process::ExitCode;

use verity_audit::checkpointer::{Checkpointer, Outcome};
use verity_audit::log::verify_store;
use verity_audit::{Verifier, checkpoint_file};
use verity_domain::Actor;

use super::refusal::refused;
use crate::commands::output::print_json;
use crate::config::Config;

pub(super) async fn run(config: Config, json: bool) -> anyhow::Result<ExitCode> {
    let key = crate::audit_key::load_or_create_audit_key(&config)?;
    let file = config.audit.checkpoint_path(&config.store);
    let witness = config.audit.witness()?;
    let store = crate::app::open_store(&config).await?;
    // The node's own checkpoint file is checked too: a log cut since is never signed.
    let kept = match file.exists() {
        true => checkpoint_file::read_all(&file),
        false => Ok(Vec::new()),
    };
    let verified = match kept
        .and_then(|kept| Verifier::new(Some(key.public().clone()), kept).map_err(Into::into))
    {
        Ok(verifier) => verify_store(store.as_ref(), verifier, |_| {}).await,
        Err(error) => Err(error),
    };
    let report = match verified {
        Ok(report) => report,
        Err(error) => {
            eprintln!("no checkpoint signed:");
            return refused(error, json);
        }
    };
    let mut checkpointer = Checkpointer::new(store, key, Some(file.clone()), &report)?;
    let actor = Actor::Cli {
        os_user: crate::app::os_user(),
    };
    let checkpoint = match checkpointer.checkpoint(crate::app::now(), actor).await? {
        Outcome::Recorded(checkpoint) => checkpoint,
        Outcome::Covered => {
            say!("the log's newest event is its newest checkpoint: nothing new to sign");
            return Ok(ExitCode::SUCCESS);
        }
        Outcome::Lost => anyhow::bail!("another checkpoint was recorded meanwhile; run it again"),
    };
    if let Some(witness) = witness
        && let Err(error) = witness.post(&checkpoint).await
    {
        tracing::warn!(witness = witness.url(), %error, "the witness did not take the checkpoint");
        eprintln!(
            "warning: the witness {} did not take it: {error}",
            witness.url()
        );
    }
    if json {
        print_json(&serde_json::to_value(&checkpoint)?)?;
    } else {
        say!("{}", verity_audit::checkpoint::to_line(&checkpoint));
        eprintln!("recorded in the log and appended to {}", file.display());
    }
    Ok(ExitCode::SUCCESS)
}
