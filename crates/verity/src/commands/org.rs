//! `verity org create | list`: a door to the admin layer.

use crate::commands::output::say;
use std::process::ExitCode;

use super::door::{AdminCli, cli_error};
use super::output::print_json;
use crate::app::App;
use crate::cli::OrgCommand;

pub(super) async fn run(command: OrgCommand, app: App, json: bool) -> anyhow::Result<ExitCode> {
    let cli = AdminCli::new(&app, json);
    let (admin, operator, call) = (&cli.admin, &cli.operator, &cli.call);
    match command {
        OrgCommand::Create { name } => {
            let org = admin
                .create_organization(operator, call, &name)
                .await
                .map_err(cli_error)?;
            if json {
                print_json(&serde_json::json!({ "org_id": org.org_id, "name": org.name }))?;
            } else {
                say!("created organization {} ({})", org.name, org.org_id);
            }
        }
        OrgCommand::List => {
            for org in admin.organizations(operator) {
                if json {
                    print_json(&serde_json::json!({
                        "org_id": org.org_id, "name": org.name, "created_at": org.created_at,
                    }))?;
                } else {
                    say!("{}  {}", org.org_id, org.name);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
