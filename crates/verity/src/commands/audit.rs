//! `verity audit verify`: recompute the hash chain.

use std::process::ExitCode;

use verity_store::chain::{self, VerifyError};

use super::{EXIT_CHAIN_BROKEN, print_json};
use crate::config::Config;

pub(super) async fn verify(config: Config, json: bool) -> anyhow::Result<ExitCode> {
    let store = crate::app::open_store(&config).await?;
    match chain::verify(store.as_ref(), |_| {}).await {
        Ok(report) => {
            if json {
                print_json(
                    &serde_json::json!({ "valid": true, "events": report.events, "head": report.head }),
                );
            } else {
                println!("{} events, head {}", report.events, report.head);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(VerifyError::Broken(broken)) => {
            if json {
                print_json(&serde_json::json!({ "valid": false, "error": broken.to_string() }));
            } else {
                eprintln!("chain broken: {broken}");
            }
            Ok(ExitCode::from(EXIT_CHAIN_BROKEN))
        }
        Err(VerifyError::Store(error)) => Err(error.into()),
    }
}
