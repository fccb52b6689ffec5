//! `verity client create | list | show | rotate-secret | delete`: a door to the admin
//! layer.

use crate::commands::output::say;
use std::path::Path;
use std::process::ExitCode;

use verity_admin::OrgRef;
use verity_admin::clients::{ClientDetails, Deliveries, NewClient};
use verity_domain::client::GrantType;

use super::door::{AdminCli, cli_error};
use super::output::print_json;
use crate::app::App;
use crate::cli::{ClientCommand, ClientCreateArgs};

pub(super) async fn run(command: ClientCommand, app: App, json: bool) -> anyhow::Result<ExitCode> {
    let cli = AdminCli::new(&app, json);
    let (admin, operator, call) = (&cli.admin, &cli.operator, &cli.call);
    match command {
        ClientCommand::Create(args) => {
            let org_id = match &args.org {
                Some(org) => Some(
                    admin
                        .organization(operator, &OrgRef::parse(org))
                        .map_err(cli_error)?
                        .org_id,
                ),
                None => None,
            };
            let registered = admin
                .register_client(operator, call, new_client(args, org_id)?)
                .await
                .map_err(cli_error)?;
            let (client, secret) = (&registered.client, registered.secret.as_ref());
            let secret = secret.map(verity_admin::Secret::expose);
            if json {
                print_json(
                    &serde_json::json!({ "client_id": client.client_id, "client_secret": secret }),
                )?;
            } else {
                say!(
                    "created {} client {} ({})",
                    client.client_type,
                    client.settings.name,
                    client.settings.token_endpoint_auth_method
                );
                say!("client_id: {}", client.client_id);
                print_secret(secret)?;
            }
        }
        ClientCommand::List => {
            for client in admin.clients(operator) {
                if json {
                    print_json(&describe(&client))?;
                } else {
                    let settings = &client.settings;
                    say!(
                        "{}  {}  {}  {}  {}",
                        client.client_id,
                        settings.name,
                        client.client_type,
                        settings.token_endpoint_auth_method,
                        join(&settings.grant_types)
                    );
                }
            }
        }
        ClientCommand::Show { client_id } => {
            let client = admin.client(operator, &client_id).map_err(cli_error)?;
            let deliveries = admin
                .client_deliveries(operator, call, &client_id)
                .await
                .map_err(cli_error)?;
            show(&client, &deliveries, json)?;
        }
        ClientCommand::RotateSecret { client_id } => {
            let secret = admin
                .rotate_client_secret(operator, call, &client_id)
                .await
                .map_err(cli_error)?;
            if json {
                print_json(
                    &serde_json::json!({ "client_id": client_id, "client_secret": secret.expose() }),
                )?;
            } else {
                say!("rotated the secret of client {client_id}; the old one no longer works");
                print_secret(Some(secret.expose()))?;
            }
        }
        ClientCommand::Delete { client_id } => {
            admin
                .delete_client(operator, call, &client_id)
                .await
                .map_err(cli_error)?;
            if json {
                print_json(&serde_json::json!({ "client_id": client_id, "status": "deleted" }))?;
            } else {
                say!("deleted client {client_id}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The client the arguments describe; the JWK Set file is read here, its contents are
/// checked by the domain.
fn new_client(args: ClientCreateArgs, org_id: Option<uuid::Uuid>) -> anyhow::Result<NewClient> {
    Ok(NewClient {
        backchannel_logout_uri: args.backchannel_logout_uri,
        org_id,
        jwks: args.jwks_file.as_deref().map(read_jwks).transpose()?,
        name: args.name,
        client_type: args.client_type,
        redirect_uris: args.redirect_uris,
        post_logout_redirect_uris: args.post_logout_redirect_uris,
        grant_types: args.grants,
        auth_method: args.auth_method,
        id_token_alg: args.id_token_alg,
        scopes: args.scopes,
        require_pkce: !args.no_require_pkce,
    })
}

/// Reads a JWK Set file; the domain checks what it holds.
fn read_jwks(path: &Path) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| anyhow::anyhow!("cannot read {}: {error}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|error| anyhow::anyhow!("{} is not JSON: {error}", path.display()))
}

fn show(client: &ClientDetails, deliveries: &Deliveries, json: bool) -> anyhow::Result<()> {
    if json {
        let mut described = describe(client);
        if let Some(object) = described.as_object_mut() {
            object.insert("backchannel_deliveries".into(), deliveries_json(deliveries));
        }
        print_json(&described)?;
        return Ok(());
    }
    let settings = &client.settings;
    say!("client_id: {}", client.client_id);
    say!("name: {}", settings.name);
    say!("type: {}", client.client_type);
    say!("redirect_uris: {}", settings.redirect_uris.join(" "));
    say!(
        "post_logout_redirect_uris: {}",
        settings.post_logout_redirect_uris.join(" ")
    );
    say!("grant_types: {}", join(&settings.grant_types));
    say!(
        "token_endpoint_auth_method: {}",
        settings.token_endpoint_auth_method
    );
    say!(
        "id_token_signed_response_alg: {}",
        settings.id_token_signed_response_alg
    );
    say!("scopes: {}", settings.scopes.join(" "));
    say!("require_pkce: {}", settings.require_pkce);
    if let Some(jwks) = &settings.jwks {
        say!("jwks: {jwks}");
    }
    if let Some(org_id) = settings.org_id {
        say!("organization: {org_id}");
    }
    if let Some(uri) = &settings.backchannel_logout_uri {
        say!("backchannel_logout_uri: {uri}");
        let at = |time: Option<chrono::DateTime<chrono::Utc>>| {
            time.map_or_else(|| String::from("never"), |time| time.to_rfc3339())
        };
        say!(
            "backchannel last delivered: {}",
            at(deliveries.last_success)
        );
        match &deliveries.last_failure {
            Some((when, why)) => {
                say!("backchannel last failure: {} ({why})", when.to_rfc3339());
            }
            None => say!("backchannel last failure: never"),
        }
        say!("backchannel pending: {}", deliveries.pending);
    }
    let secret = match (client.has_secret, client.secret_rotated_at) {
        (false, _) => String::from("none"),
        (true, None) => format!("set {}", client.created_at.to_rfc3339()),
        (true, Some(rotated_at)) => format!("rotated {}", rotated_at.to_rfc3339()),
    };
    say!("secret: {secret}");
    say!("created: {}", client.created_at.to_rfc3339());
    say!("updated: {}", client.updated_at.to_rfc3339());
    Ok(())
}

/// Prints a fresh secret with the warning that it is shown this once.
fn print_secret(secret: Option<&str>) -> anyhow::Result<()> {
    if let Some(secret) = secret {
        say!("client_secret: {secret}");
        say!(
            "Store the secret now: Verity keeps only its hash and cannot show it again \
             (`verity client rotate-secret` issues a new one)."
        );
    }
    Ok(())
}

/// A client for `--json` output: every setting, and whether it has a secret (never the
/// hash).
fn describe(client: &ClientDetails) -> serde_json::Value {
    let settings = &client.settings;
    serde_json::json!({
        "client_id": client.client_id,
        "name": settings.name,
        "client_type": client.client_type,
        "redirect_uris": settings.redirect_uris,
        "post_logout_redirect_uris": settings.post_logout_redirect_uris,
        "grant_types": settings.grant_types,
        "token_endpoint_auth_method": settings.token_endpoint_auth_method,
        "id_token_signed_response_alg": settings.id_token_signed_response_alg,
        "scopes": settings.scopes,
        "require_pkce": settings.require_pkce,
        "jwks": settings.jwks,
        "backchannel_logout_uri": settings.backchannel_logout_uri,
        "org_id": settings.org_id,
        "has_secret": client.has_secret,
        "secret_rotated_at": client.secret_rotated_at,
        "created_at": client.created_at,
        "updated_at": client.updated_at,
    })
}

/// A client's back-channel deliveries for `--json` output.
fn deliveries_json(deliveries: &Deliveries) -> serde_json::Value {
    serde_json::json!({
        "pending": deliveries.pending,
        "last_success": deliveries.last_success,
        "last_failure": deliveries.last_failure.as_ref().map(|(at, why)| {
            serde_json::json!({ "at": at, "reason": why })
        }),
    })
}

fn join(grants: &[GrantType]) -> String {
    grants
        .iter()
        .map(|grant| grant.as_str())
        .collect::<Vec<_>>()
        .join(",")
}
