//! `verity org create | list`: a door to the admin layer.

use std::process::ExitCode;

use super::{cli_error, print_json};
use crate::app::{App, cli_call, operator};
use crate::cli::OrgCommand;

pub(super) async fn run(command: OrgCommand, app: App, json: bool) -> anyhow::Result<ExitCode> {
    let (admin, operator) = (app.admin(), operator());
    match command {
        OrgCommand::Create { name } => {
            let org = admin
                .create_organization(&operator, &cli_call(), &name)
                .await
                .map_err(cli_error)?;
            if json {
                print_json(&serde_json::json!({ "org_id": org.org_id, "name": org.name }));
            } else {
                println!("created organization {} ({})", org.name, org.org_id);
            }
        }
        OrgCommand::List => {
            for org in admin.organizations(&operator) {
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
