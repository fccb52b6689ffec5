//! `verity client create | list | show | rotate-secret | delete`

use std::path::Path;
use std::process::ExitCode;

use verity_domain::client::{
    self, Client, ClientCommand as Command, ClientError, ClientSettings, ClientType, GrantType,
    TokenEndpointAuthMethod,
};
use verity_domain::{AppendOutcome, ExecuteError, execute};
use verity_oidc::client_secret::{generate_client_id, generate_client_secret, hash_client_secret};
use verity_projection::ClientView;

use super::print_json;
use crate::app::{App, cli_context};
use crate::cli::{ClientCommand, ClientCreateArgs};

/// Scopes a client may ask for unless `--scope` says otherwise.
const DEFAULT_SCOPES: [&str; 3] = ["openid", "profile", "email"];

pub(super) async fn run(command: ClientCommand, app: App, json: bool) -> anyhow::Result<ExitCode> {
    match command {
        ClientCommand::Create(args) => create(&app, args, json).await,
        ClientCommand::List => list(&app, json),
        ClientCommand::Show { client_id } => show(&app, &client_id, json),
        ClientCommand::RotateSecret { client_id } => rotate_secret(&app, &client_id, json).await,
        ClientCommand::Delete { client_id } => delete(&app, &client_id, json).await,
    }
}

async fn create(app: &App, args: ClientCreateArgs, json: bool) -> anyhow::Result<ExitCode> {
    let jwks = args.jwks_file.as_deref().map(read_jwks).transpose()?;
    let method = args.auth_method.unwrap_or(match args.client_type {
        ClientType::Confidential => TokenEndpointAuthMethod::ClientSecretBasic,
        ClientType::Public => TokenEndpointAuthMethod::None,
    });
    let grant_types = if args.grants.is_empty() {
        vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
    } else {
        args.grants
    };
    let scopes = if args.scopes.is_empty() {
        DEFAULT_SCOPES.map(String::from).to_vec()
    } else {
        args.scopes
    };
    let mut rng = crate::app::os_rng();
    let client_id = generate_client_id(&mut rng);
    let secret = method
        .uses_secret()
        .then(|| generate_client_secret(&mut rng));
    let command = Command::Register {
        client_id: client_id.clone(),
        client_type: args.client_type,
        settings: ClientSettings {
            name: args.name,
            redirect_uris: args.redirect_uris,
            post_logout_redirect_uris: args.post_logout_redirect_uris,
            grant_types,
            token_endpoint_auth_method: method,
            id_token_signed_response_alg: args.id_token_alg,
            scopes,
            require_pkce: args.require_pkce,
            jwks,
        },
        secret_hash: secret.as_deref().map(hash_client_secret),
    };
    let outcome = decide(app, &client_id, &command).await?;
    app.wait_for(outcome.position).await?;
    let view = find(app, &client_id)?;
    if json {
        print_json(&serde_json::json!({ "client_id": client_id, "client_secret": secret }));
    } else {
        println!(
            "created {} client {} ({})",
            view.client_type, view.settings.name, view.settings.token_endpoint_auth_method
        );
        println!("client_id: {client_id}");
        print_secret(secret.as_deref());
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads a JWK Set file; the domain checks what it holds.
fn read_jwks(path: &Path) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| anyhow::anyhow!("cannot read {}: {error}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|error| anyhow::anyhow!("{} is not JSON: {error}", path.display()))
}

fn list(app: &App, json: bool) -> anyhow::Result<ExitCode> {
    let clients: Vec<ClientView> = app.projector.read(|models| {
        models
            .clients
            .list()
            .into_iter()
            .cloned()
            .collect::<Vec<_>>()
    });
    for view in clients {
        if json {
            print_json(&describe(&view));
        } else {
            println!(
                "{}  {}  {}  {}  {}",
                view.client_id,
                view.settings.name,
                view.client_type,
                view.settings.token_endpoint_auth_method,
                join(&view.settings.grant_types)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show(app: &App, client_id: &str, json: bool) -> anyhow::Result<ExitCode> {
    let view = find(app, client_id)?;
    if json {
        print_json(&describe(&view));
        return Ok(ExitCode::SUCCESS);
    }
    println!("client_id: {}", view.client_id);
    println!("name: {}", view.settings.name);
    println!("type: {}", view.client_type);
    println!("redirect_uris: {}", view.settings.redirect_uris.join(" "));
    println!(
        "post_logout_redirect_uris: {}",
        view.settings.post_logout_redirect_uris.join(" ")
    );
    println!("grant_types: {}", join(&view.settings.grant_types));
    println!(
        "token_endpoint_auth_method: {}",
        view.settings.token_endpoint_auth_method
    );
    println!(
        "id_token_signed_response_alg: {}",
        view.settings.id_token_signed_response_alg
    );
    println!("scopes: {}", view.settings.scopes.join(" "));
    println!("require_pkce: {}", view.settings.require_pkce);
    if let Some(jwks) = &view.settings.jwks {
        println!("jwks: {jwks}");
    }
    let secret = match (&view.secret_hash, view.secret_rotated_at) {
        (None, _) => String::from("none"),
        (Some(_), None) => format!("set {}", view.created_at.to_rfc3339()),
        (Some(_), Some(rotated_at)) => format!("rotated {}", rotated_at.to_rfc3339()),
    };
    println!("secret: {secret}");
    println!("created: {}", view.created_at.to_rfc3339());
    println!("updated: {}", view.updated_at.to_rfc3339());
    Ok(ExitCode::SUCCESS)
}

async fn rotate_secret(app: &App, client_id: &str, json: bool) -> anyhow::Result<ExitCode> {
    let secret = generate_client_secret(&mut crate::app::os_rng());
    let command = Command::RotateSecret {
        secret_hash: hash_client_secret(&secret),
    };
    let outcome = decide(app, client_id, &command).await?;
    app.wait_for(outcome.position).await?;
    if json {
        print_json(&serde_json::json!({ "client_id": client_id, "client_secret": secret }));
    } else {
        println!("rotated the secret of client {client_id}; the old one no longer works");
        print_secret(Some(&secret));
    }
    Ok(ExitCode::SUCCESS)
}

async fn delete(app: &App, client_id: &str, json: bool) -> anyhow::Result<ExitCode> {
    let outcome = decide(app, client_id, &Command::Delete).await?;
    app.wait_for(outcome.position).await?;
    if json {
        print_json(&serde_json::json!({ "client_id": client_id, "status": "deleted" }));
    } else {
        println!("deleted client {client_id}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs a command on the client's stream; refusals become one line naming the client.
async fn decide(app: &App, client_id: &str, command: &Command) -> anyhow::Result<AppendOutcome> {
    execute::<Client>(
        app.store.as_ref(),
        &client::stream(client_id),
        command,
        &cli_context(),
    )
    .await
    .map_err(|error| match error {
        ExecuteError::Rejected(ClientError::NotFound) => not_found(client_id),
        ExecuteError::Rejected(ClientError::Deleted | ClientError::AlreadyDeleted) => {
            anyhow::anyhow!("client {client_id:?} is deleted")
        }
        other => other.into(),
    })
}

/// The client as the read models show it.
fn find(app: &App, client_id: &str) -> anyhow::Result<ClientView> {
    app.projector
        .read(|models| models.clients.get(client_id).cloned())
        .ok_or_else(|| not_found(client_id))
}

fn not_found(client_id: &str) -> anyhow::Error {
    anyhow::anyhow!("no client {client_id:?} (see `verity client list`)")
}

/// Prints a fresh secret with the warning that it is shown this once.
fn print_secret(secret: Option<&str>) {
    if let Some(secret) = secret {
        println!("client_secret: {secret}");
        println!(
            "Store the secret now: Verity keeps only its hash and cannot show it again \
             (`verity client rotate-secret` issues a new one)."
        );
    }
}

/// A client for `--json` output: every setting, and whether it has a secret (never the
/// hash).
fn describe(view: &ClientView) -> serde_json::Value {
    serde_json::json!({
        "client_id": view.client_id,
        "name": view.settings.name,
        "client_type": view.client_type,
        "redirect_uris": view.settings.redirect_uris,
        "post_logout_redirect_uris": view.settings.post_logout_redirect_uris,
        "grant_types": view.settings.grant_types,
        "token_endpoint_auth_method": view.settings.token_endpoint_auth_method,
        "id_token_signed_response_alg": view.settings.id_token_signed_response_alg,
        "scopes": view.settings.scopes,
        "require_pkce": view.settings.require_pkce,
        "jwks": view.settings.jwks,
        "has_secret": view.secret_hash.is_some(),
        "secret_rotated_at": view.secret_rotated_at,
        "created_at": view.created_at,
        "updated_at": view.updated_at,
    })
}

fn join(grants: &[GrantType]) -> String {
    grants
        .iter()
        .map(|grant| grant.as_str())
        .collect::<Vec<_>>()
        .join(",")
}
