//! `verity keys list | rotate | jwks`

use crate::commands::output::say;
use std::process::ExitCode;

use verity_admin::keys::SigningKeyInfo;
use verity_oidc::keys::SigningAlgorithm;
use verity_projection::KeyState;

use super::door::{AdminCli, cli_error};
use super::output::print_json;
use crate::app::App;
use crate::cli::{AlgorithmChoice, KeysCommand};
use crate::signing;

pub(super) async fn run(command: KeysCommand, app: App, json: bool) -> anyhow::Result<ExitCode> {
    let cli = AdminCli::new(&app, json);
    let (admin, operator, call) = (&cli.admin, &cli.operator, &cli.call);
    let master = signing::load_master_key(&app.config)?;
    admin
        .ensure_signing_keys(call, &master)
        .await
        .map_err(cli_error)?;
    match command {
        KeysCommand::List => {
            let keys = admin.signing_keys(operator, call).map_err(cli_error)?;
            list(&keys, json)?;
        }
        KeysCommand::Rotate { alg } => {
            for alg in alg.algorithms() {
                let rotation = admin
                    .rotate_signing_key(operator, call, &master, alg)
                    .await
                    .map_err(cli_error)?;
                if json {
                    print_json(&serde_json::json!({
                        "alg": rotation.alg, "kid": rotation.kid,
                        "retired": rotation.retired.iter().map(|(kid, keep_until)| {
                            serde_json::json!({ "kid": kid, "keep_until": keep_until })
                        }).collect::<Vec<_>>(),
                    }))?;
                } else {
                    say!("{alg}: now signing with {}", rotation.kid);
                    for (kid, keep_until) in &rotation.retired {
                        say!("{alg}: retired {kid}, published until {keep_until}");
                    }
                }
            }
        }
        KeysCommand::Jwks => {
            let shared = verity_oidc::keys::SharedKeyRing::new(master);
            let ring = signing::current_ring(&app, &shared)?;
            say!("{}", ring.jwks_json());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Every key with its state and dates; never any private material.
fn list(keys: &[SigningKeyInfo], json: bool) -> anyhow::Result<()> {
    for key in keys {
        let (active_since, retired_at, keep_until) = match key.state {
            KeyState::Generated => (None, None, None),
            KeyState::Active { since } => (Some(since), None, None),
            KeyState::Retired { since, keep_until } => (None, Some(since), Some(keep_until)),
        };
        if json {
            print_json(&serde_json::json!({
                "kid": key.kid, "alg": key.alg, "state": key.state.name(),
                "published": key.published, "generated_at": key.generated_at,
                "active_since": active_since, "retired_at": retired_at, "keep_until": keep_until,
            }))?;
        } else {
            let detail = match (active_since, retired_at, keep_until) {
                (Some(since), _, _) => format!("active since {since}"),
                (_, Some(retired_at), Some(keep_until)) => {
                    format!("retired {retired_at}, published until {keep_until}")
                }
                _ => "published, not signing yet".to_owned(),
            };
            say!(
                "{}  {:<5}  {:<9}  generated {}  {detail}",
                key.kid,
                key.alg,
                key.state.name(),
                key.generated_at
            );
        }
    }
    Ok(())
}

impl AlgorithmChoice {
    /// The algorithms this choice names.
    pub fn algorithms(self) -> Vec<SigningAlgorithm> {
        match self {
            Self::Rs256 => vec![SigningAlgorithm::RS256],
            Self::Es256 => vec![SigningAlgorithm::ES256],
            Self::EdDsa => vec![SigningAlgorithm::EdDSA],
            Self::All => SigningAlgorithm::ALL.to_vec(),
        }
    }
}
