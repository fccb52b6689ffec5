//! `verity org create | list`

use std::process::ExitCode;

use verity_domain::organization::{self, Organization, OrganizationCommand};
use verity_domain::{StoreError, execute};

use super::print_json;
use crate::app::{App, cli_context};
use crate::cli::OrgCommand;

pub(super) async fn run(command: OrgCommand, app: App, json: bool) -> anyhow::Result<ExitCode> {
    match command {
        OrgCommand::Create { name } => {
            let org_id = verity_oidc::random::uuid();
            let command = OrganizationCommand::Create {
                org_id,
                name: name.clone(),
            };
            let outcome = execute::<Organization>(
                app.store.as_ref(),
                &organization::stream(org_id),
                &command,
                &cli_context(),
            )
            .await
            .map_err(|error| match error {
                verity_domain::ExecuteError::Store(StoreError::UniqueKeyTaken { .. }) => {
                    anyhow::anyhow!("an organization named {:?} already exists", name.trim())
                }
                other => other.into(),
            })?;
            app.wait_for(outcome.position).await?;
            if json {
                print_json(&serde_json::json!({ "org_id": org_id, "name": name.trim() }));
            } else {
                println!("created organization {} ({org_id})", name.trim());
            }
        }
        OrgCommand::List => {
            let orgs = app.projector.read(|models| {
                models
                    .organizations
                    .list()
                    .into_iter()
                    .cloned()
                    .collect::<Vec<_>>()
            });
            for org in orgs {
                if json {
                    print_json(&serde_json::json!({
                        "org_id": org.org_id, "name": org.name, "created_at": org.created_at,
                    }));
                } else {
                    println!("{}  {}", org.org_id, org.name);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
