//! How `verify` and `checkpoint` answer a log that does not verify.

use std::process::ExitCode;

use verity_audit::AuditError;

use crate::commands::exit_status::EXIT_CHAIN_BROKEN;
use crate::commands::output::print_json;

/// A log that does not verify is reported (exit 2); any other failure is an error.
pub(super) fn refused(error: AuditError, json: bool) -> anyhow::Result<ExitCode> {
    let problem = match error {
        AuditError::Tampered(tampering) => tampering.to_string(),
        AuditError::Bundle(problem) => format!("the bundle does not verify: {problem}"),
        other => return Err(other.into()),
    };
    if json {
        print_json(&serde_json::json!({ "valid": false, "error": problem }))?;
    } else {
        eprintln!("{problem}");
    }
    Ok(ExitCode::from(EXIT_CHAIN_BROKEN))
}
