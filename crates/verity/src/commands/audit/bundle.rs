//! `verity audit bundle --out FILE`: the log, the checkpoint file, the public key and the
//! steps, in one file an auditor verifies elsewhere.

use crate::commands::output::say;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::commands::output::print_json;
use crate::config::Config;

pub(super) async fn run(config: Config, out: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let key = crate::audit_key::existing_audit_key(&config)?.context(
        "no audit key here: a bundle carries the audit key's public half (see [audit] key_file)",
    )?;
    let file = config.audit.checkpoint_path(&config.store);
    let checkpoints = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(error) => {
            return Err(error).with_context(|| format!("cannot read {}", file.display()));
        }
    };
    let store = crate::app::open_store(&config).await?;
    let manifest = verity_audit::bundle::write_bundle(
        store.as_ref(),
        key.public(),
        &checkpoints,
        out,
        crate::app::now(),
    )
    .await?;
    if json {
        print_json(&serde_json::json!({
            "bundle": out.display().to_string(), "events": manifest.events, "head": manifest.head,
            "checkpoints": manifest.checkpoints, "key": manifest.key,
        }))?;
    } else {
        say!(
            "wrote {}: {} events, head {}, {} checkpoints from {}, audit key {}",
            out.display(),
            manifest.events,
            manifest.head,
            manifest.checkpoints,
            file.display(),
            manifest.key
        );
    }
    Ok(ExitCode::SUCCESS)
}
