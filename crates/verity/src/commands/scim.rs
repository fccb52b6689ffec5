//! `verity scim token create | list | revoke`: a door to the admin layer's SCIM tokens
//! (docs/scim.md).

use crate::commands::output::say;
use std::process::ExitCode;

use verity_admin::OrgRef;
use verity_admin::scim_tokens::ScimTokenInfo;
use verity_domain::scim_token::Invitations;

use super::door::{AdminCli, cli_error};
use super::output::print_json;
use crate::app::App;
use crate::cli::{ScimCommand, ScimTokenCommand};

pub(super) async fn run(command: ScimCommand, app: App, json: bool) -> anyhow::Result<ExitCode> {
    let cli = AdminCli::new(&app, json);
    let (admin, operator, call) = (&cli.admin, &cli.operator, &cli.call);
    let ScimCommand::Token(command) = command;
    match command {
        ScimTokenCommand::Create {
            org,
            label,
            no_email,
        } => {
            let invitations = if no_email {
                Invitations::None
            } else {
                Invitations::TemporaryPassword
            };
            let issued = admin
                .create_scim_token(operator, call, &OrgRef::parse(&org), &label, invitations)
                .await
                .map_err(cli_error)?;
            if json {
                let mut value = token_json(&issued.info);
                if let serde_json::Value::Object(object) = &mut value {
                    object.insert("token".into(), issued.token.expose().into());
                }
                print_json(&value)?;
            } else {
                say!(
                    "created SCIM token {} ({}) for organization {}",
                    issued.info.token_id,
                    issued.info.label,
                    issued.info.organization
                );
                say!("token: {}", issued.token.expose());
                say!("(shown this once; Verity keeps only its hash)");
            }
        }
        ScimTokenCommand::List { org } => {
            let org = org.as_deref().map(OrgRef::parse);
            for info in admin
                .scim_tokens(operator, org.as_ref())
                .map_err(cli_error)?
            {
                print_token(&cli, &info)?;
            }
        }
        ScimTokenCommand::Revoke { token_id } => {
            let info = admin
                .revoke_scim_token(operator, call, &token_id)
                .await
                .map_err(cli_error)?;
            if json {
                print_json(&token_json(&info))?;
            } else {
                say!("revoked SCIM token {} ({})", info.token_id, info.label);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_token(cli: &AdminCli, info: &ScimTokenInfo) -> anyhow::Result<()> {
    if cli.json {
        print_json(&token_json(info))?;
    } else {
        let state = match info.revoked_at {
            Some(at) => format!("revoked {}", at.format("%Y-%m-%d %H:%M UTC")),
            None => "active".to_owned(),
        };
        say!(
            "{}  {}  {}  {}  created {}  {}",
            info.token_id,
            info.organization,
            info.label,
            invitations(info.invitations),
            info.created_at.format("%Y-%m-%d %H:%M UTC"),
            state
        );
    }
    Ok(())
}

fn invitations(invitations: Invitations) -> &'static str {
    match invitations {
        Invitations::TemporaryPassword => "email",
        Invitations::None => "no-email",
    }
}

fn token_json(info: &ScimTokenInfo) -> serde_json::Value {
    serde_json::json!({
        "token_id": info.token_id, "org_id": info.org_id, "organization": info.organization,
        "label": info.label, "email": info.invitations == Invitations::TemporaryPassword,
        "created_at": info.created_at, "revoked_at": info.revoked_at,
    })
}
