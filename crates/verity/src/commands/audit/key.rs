//! `verity audit key`: the public audit key, for auditors to pin.

use crate::commands::output::say;
use std::process::ExitCode;

use crate::commands::output::print_json;
use crate::config::Config;

pub(super) fn run(config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    let key = crate::audit_key::load_or_create_audit_key(config)?;
    let public = key.public();
    if json {
        print_json(&serde_json::json!({
            "jwk": public.jwk(), "fingerprint": public.fingerprint(),
        }))?;
    } else {
        // The text ends its last line itself.
        say!("{}", public.to_text().trim_end_matches('\n'));
    }
    Ok(ExitCode::SUCCESS)
}
