//! `verity role grant | revoke | list`: a door to the admin layer's roles
//! (docs/roles.md). The first instance admin is made here, by the operator.

use crate::commands::output::say;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use uuid::Uuid;
use verity_admin::roles::{HolderDetails, HolderRef, RoleHolding};
use verity_admin::{Grant, OrgRef, PersonRef, Role, Scope};

use super::door::{AdminCli, cli_error, person};
use super::output::print_json;
use crate::app::App;
use crate::cli::{RoleArgs, RoleCommand};

pub(super) async fn run(command: RoleCommand, app: App, json: bool) -> anyhow::Result<ExitCode> {
    let cli = AdminCli::new(&app, json);
    let (admin, operator, call) = (&cli.admin, &cli.operator, &cli.call);
    match command {
        RoleCommand::Grant(args) => {
            let (holder, grant) = parse(&cli, &args)?;
            let held = admin
                .grant_role(operator, call, &holder, grant)
                .await
                .map_err(cli_error)?;
            print_change(&cli, "granted", &held.holder, grant)?;
        }
        RoleCommand::Revoke(args) => {
            let (holder, grant) = parse(&cli, &args)?;
            admin
                .revoke_role(operator, call, &holder, grant)
                .await
                .map_err(cli_error)?;
            let label = match &holder {
                HolderRef::Client(client_id) => client_id.clone(),
                HolderRef::Person(_) => args.words.first().cloned().unwrap_or_default(),
            };
            if json {
                print_json(&serde_json::json!({
                    "revoked": grant.role().as_str(), "org_id": grant.scope().org_id(),
                    "holder": label,
                }))?;
            } else {
                say!(
                    "revoked {} {} from {label}",
                    grant.role(),
                    place(&cli, grant)
                );
            }
        }
        RoleCommand::List { org } => {
            let org = org.as_deref().map(OrgRef::parse);
            for held in admin.roles(operator, org.as_ref()).map_err(cli_error)? {
                print_holding(&cli, &held)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The holder and the grant the words and options name.
fn parse(cli: &AdminCli, args: &RoleArgs) -> anyhow::Result<(HolderRef, Grant)> {
    let (holder, role) = match (&args.client, args.words.as_slice()) {
        (Some(client_id), [role]) => (HolderRef::Client(client_id.clone()), role),
        (None, [who, role]) => {
            let person = match (Uuid::parse_str(who), &args.org) {
                (Ok(user_id), _) => PersonRef::Id(user_id),
                (Err(_), Some(org)) => person(org, who),
                (Err(_), None) => PersonRef::Address(who.clone()),
            };
            (HolderRef::Person(person), role)
        }
        (Some(_), _) => bail!("with --client, give the role only: role grant --client ID ROLE"),
        (None, _) => bail!("give the person's address and the role: role grant EMAIL ROLE"),
    };
    let role: Role = role.parse()?;
    let org_id = match &args.org {
        Some(org) => Some(
            cli.admin
                .organization(&cli.operator, &OrgRef::parse(org))
                .map_err(cli_error)?
                .org_id,
        ),
        None => None,
    };
    let grant = Grant::new(role, org_id).context("the role and --org make no grant")?;
    Ok((holder, grant))
}

fn print_change(
    cli: &AdminCli,
    verb: &str,
    holder: &HolderDetails,
    grant: Grant,
) -> anyhow::Result<()> {
    if cli.json {
        print_json(&serde_json::json!({
            verb: grant.role().as_str(), "org_id": grant.scope().org_id(),
            "holder": holder_json(holder),
        }))?;
    } else {
        say!(
            "{verb} {} {} to {}",
            grant.role(),
            place(cli, grant),
            holder.label()
        );
    }
    Ok(())
}

fn print_holding(cli: &AdminCli, held: &RoleHolding) -> anyhow::Result<()> {
    if cli.json {
        print_json(&serde_json::json!({
            "holder": holder_json(&held.holder), "role": held.grant.role().as_str(),
            "org_id": held.grant.scope().org_id(), "granted_at": held.granted_at,
        }))?;
    } else {
        say!(
            "{}  {}  {}  since {}",
            held.holder.label(),
            held.grant.role(),
            place(cli, held.grant),
            held.granted_at.format("%Y-%m-%d %H:%M UTC")
        );
    }
    Ok(())
}

fn holder_json(holder: &HolderDetails) -> serde_json::Value {
    match holder {
        HolderDetails::Person {
            user_id,
            org_id,
            email,
            name,
        } => serde_json::json!({
            "kind": "user", "user_id": user_id, "org_id": org_id, "email": email, "name": name,
        }),
        HolderDetails::Client { client_id, name } => {
            serde_json::json!({ "kind": "client", "client_id": client_id, "name": name })
        }
    }
}

/// "in the instance" or "in <organization name>".
fn place(cli: &AdminCli, grant: Grant) -> String {
    match grant.scope() {
        Scope::Instance => "in the instance".to_owned(),
        Scope::Organization(org_id) => {
            let name = cli
                .admin
                .organization(&cli.operator, &OrgRef::Id(org_id))
                .map_or_else(|_| org_id.to_string(), |org| org.name);
            format!("in {name}")
        }
    }
}
