//! Clients in the console: the list, "Create client" (name, redirect URIs, post-logout
//! URIs, back-channel logout URI, type, grants, authentication method, organization),
//! the secret shown once, "Rotate secret" and "Delete" after a confirmation. What an
//! admin sees and may do is the admin layer's answer: an org admin lists and creates
//! their organization's clients only.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use minijinja::value::Serde;
use minijinja::{Value, context};
use uuid::Uuid;
use verity_admin::clients::{ClientDetails, Deliveries, NewClient};
use verity_admin::console_client::is_console_client;
use verity_admin::{Permission, Scope, Secret};
use verity_domain::client::{ClientType, GrantType, SigningAlgorithm, TokenEndpointAuthMethod};

use super::error::ConsoleError;
use super::pages::{Question, Section};
use super::posted::Posted;
use super::session::Console;
use super::strings::{CONSOLE, fill};
use crate::state::AdminState;

/// The clients' routes.
pub(super) fn router() -> Router<AdminState> {
    Router::new()
        .route("/console/clients", get(list).post(create))
        .route("/console/clients/new", get(new))
        .route("/console/clients/{client_id}", get(show))
        .route(
            "/console/clients/{client_id}/rotate-secret",
            get(ask_rotate).post(rotate),
        )
        .route(
            "/console/clients/{client_id}/delete",
            get(ask_delete).post(delete),
        )
}

/// The grants a form offers, in order.
const GRANTS: [GrantType; 3] = [
    GrantType::AuthorizationCode,
    GrantType::RefreshToken,
    GrantType::ClientCredentials,
];

/// The authentication methods a form offers besides the type's default.
const METHODS: [TokenEndpointAuthMethod; 4] = [
    TokenEndpointAuthMethod::ClientSecretBasic,
    TokenEndpointAuthMethod::ClientSecretPost,
    TokenEndpointAuthMethod::PrivateKeyJwt,
    TokenEndpointAuthMethod::None,
];

/// The organizations' names the actor may read, by id.
fn organization_names(state: &AdminState, console: &Console) -> Vec<(Uuid, String)> {
    state
        .admin
        .organizations(&console.actor)
        .into_iter()
        .map(|org| (org.org_id, org.name))
        .collect()
}

/// Who owns a client, as lists show it.
fn owner_name(client: &ClientDetails, names: &[(Uuid, String)]) -> String {
    match client.settings.org_id {
        None => CONSOLE.every_organization.to_owned(),
        Some(org_id) => names
            .iter()
            .find(|(id, _)| *id == org_id)
            .map_or_else(|| org_id.to_string(), |(_, name)| name.clone()),
    }
}

fn joined<T: std::fmt::Display>(values: &[T], separator: &str) -> String {
    values
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(separator)
}

/// `GET /console/clients`: every client the admin may see.
async fn list(State(state): State<AdminState>, console: Console) -> Result<Response, ConsoleError> {
    let names = organization_names(&state, &console);
    let clients: Vec<Value> = state
        .admin
        .clients(&console.actor)
        .iter()
        .map(|client| {
            context! {
                client_id => &client.client_id,
                name => &client.settings.name,
                client_type => client.client_type.as_str(),
                organization => owner_name(client, &names),
                grants => joined(&client.settings.grant_types, ", "),
            }
        })
        .collect();
    let may_create = !owners(&state, &console).is_empty();
    console.page(
        &state,
        Section::Clients,
        "clients.html",
        context! { clients, may_create },
    )
}

/// Where the admin may create a client: the instance ("" in the form) and the
/// organizations, as the admin layer's rule allows.
fn owners(state: &AdminState, console: &Console) -> Vec<(String, String)> {
    let actor = &console.actor;
    let instance = actor
        .may(Permission::ManageClients, Scope::Instance)
        .then(|| (String::new(), CONSOLE.every_organization.to_owned()));
    instance
        .into_iter()
        .chain(
            organization_names(state, console)
                .into_iter()
                .filter(|(org_id, _)| {
                    actor.may(Permission::ManageClients, Scope::Organization(*org_id))
                })
                .map(|(org_id, name)| (org_id.to_string(), name)),
        )
        .collect()
}

/// What the create form holds, as typed.
#[derive(Debug, Default, serde::Serialize)]
struct ClientForm {
    name: String,
    org: String,
    client_type: String,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    backchannel_logout_uri: String,
    grants: Vec<GrantType>,
    auth_method: String,
    jwks: String,
}

impl ClientForm {
    fn read(posted: &Posted) -> Self {
        Self {
            name: posted.field("name").to_owned(),
            org: posted.field("org").to_owned(),
            client_type: posted.field("client_type").to_owned(),
            redirect_uris: posted.field("redirect_uris").to_owned(),
            post_logout_redirect_uris: posted.field("post_logout_redirect_uris").to_owned(),
            backchannel_logout_uri: posted.field("backchannel_logout_uri").to_owned(),
            grants: GRANTS
                .into_iter()
                .filter(|grant| posted.ticked(&format!("grant_{}", grant.as_str())))
                .collect(),
            auth_method: posted.field("auth_method").to_owned(),
            jwks: posted.field("jwks").to_owned(),
        }
    }

    /// The client to register; what the form cannot say is refused here, every rule of
    /// clients by the admin layer and the domain.
    fn new_client(&self) -> Result<NewClient, String> {
        let lines = |text: &str| -> Vec<String> {
            text.lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let client_type: ClientType = self
            .client_type
            .parse()
            .map_err(|error| format!("{error}"))?;
        let auth_method = match self.auth_method.as_str() {
            "" => None,
            method => Some(method.parse().map_err(|error| format!("{error}"))?),
        };
        let org_id = match self.org.as_str() {
            "" => None,
            org => Some(Uuid::parse_str(org).map_err(|error| error.to_string())?),
        };
        let jwks = match self.jwks.as_str() {
            "" => None,
            jwks => Some(
                serde_json::from_str(jwks)
                    .map_err(|error| format!("the public keys are not JSON: {error}"))?,
            ),
        };
        let backchannel = Some(self.backchannel_logout_uri.clone()).filter(|uri| !uri.is_empty());
        Ok(NewClient {
            name: self.name.clone(),
            client_type,
            redirect_uris: lines(&self.redirect_uris),
            post_logout_redirect_uris: lines(&self.post_logout_redirect_uris),
            grant_types: self.grants.clone(),
            auth_method,
            id_token_alg: SigningAlgorithm::RS256,
            scopes: Vec::new(),
            require_pkce: true,
            jwks,
            backchannel_logout_uri: backchannel,
            org_id,
        })
    }
}

/// The create form, with what was typed and why it was refused.
fn form_page(
    state: &AdminState,
    console: &Console,
    status: StatusCode,
    form: &ClientForm,
    error: Option<&str>,
) -> Result<Response, ConsoleError> {
    let owners: Vec<Value> = owners(state, console)
        .into_iter()
        .map(|(value, label)| context! { value, label })
        .collect();
    let fresh = form.name.is_empty() && form.grants.is_empty();
    let grants: Vec<Value> = GRANTS
        .iter()
        .map(|grant| {
            let checked = if fresh {
                *grant != GrantType::ClientCredentials
            } else {
                form.grants.contains(grant)
            };
            context! { value => grant.as_str(), checked }
        })
        .collect();
    let methods: Vec<Value> =
        std::iter::once(context! { value => "", label => CONSOLE.auth_method_default })
            .chain(
                METHODS
                    .iter()
                    .map(|method| context! { value => method.as_str(), label => method.as_str() }),
            )
            .collect();
    console.page_with_status(
        state,
        status,
        Section::Clients,
        "client_new.html",
        context! { form => Value::from(Serde(form)), owners, grants, methods, error },
    )
}

/// `GET /console/clients/new`: "Create client".
async fn new(State(state): State<AdminState>, console: Console) -> Result<Response, ConsoleError> {
    form_page(
        &state,
        &console,
        StatusCode::OK,
        &ClientForm::default(),
        None,
    )
}

/// `POST /console/clients`: registers the client; its page shows the secret once.
async fn create(State(state): State<AdminState>, posted: Posted) -> Result<Response, ConsoleError> {
    let form = ClientForm::read(&posted);
    let console = &posted.console;
    let new = match form.new_client() {
        Ok(new) => new,
        Err(message) => {
            return form_page(
                &state,
                console,
                StatusCode::BAD_REQUEST,
                &form,
                Some(&message),
            );
        }
    };
    match state
        .admin
        .register_client(&console.actor, &console.call(), new)
        .await
    {
        Ok(registered) => {
            let secret = registered.secret;
            page(&state, console, &registered.client, secret.as_ref()).await
        }
        Err(error) => match ConsoleError::from(error) {
            ConsoleError::Refused { status, message } => {
                form_page(&state, console, status, &form, Some(&message))
            }
            other => Err(other),
        },
    }
}

/// How the back-channel logout notices go, in one line.
fn deliveries_line(deliveries: &Deliveries) -> String {
    let mut line = format!("{} pending", deliveries.pending);
    if let Some(at) = deliveries.last_success {
        line.push_str(&format!(
            "; last delivered {}",
            at.format("%Y-%m-%d %H:%M UTC")
        ));
    }
    if let Some((at, why)) = &deliveries.last_failure {
        line.push_str(&format!(
            "; last failed {}: {why}",
            at.format("%Y-%m-%d %H:%M UTC")
        ));
    }
    line
}

/// A client's page, with its secret when it was just made.
async fn page(
    state: &AdminState,
    console: &Console,
    client: &ClientDetails,
    secret: Option<&Secret>,
) -> Result<Response, ConsoleError> {
    let names = organization_names(state, console);
    let settings = &client.settings;
    let deliveries = match settings.backchannel_logout_uri {
        Some(_) => Some(deliveries_line(
            &state
                .admin
                .client_deliveries(&console.actor, &console.call(), &client.client_id)
                .await?,
        )),
        None => None,
    };
    let secret_line = match (client.has_secret, client.secret_rotated_at) {
        (false, _) => CONSOLE.no_secret.to_owned(),
        (true, Some(at)) => format!("•••• ({})", at.format("%Y-%m-%d %H:%M UTC")),
        (true, None) => "••••".to_owned(),
    };
    let owner = settings.org_id.map_or(Scope::Instance, Scope::Organization);
    let values = context! {
        client => context! {
            client_id => &client.client_id,
            name => &settings.name,
            client_type => client.client_type.as_str(),
            organization => owner_name(client, &names),
            redirect_uris => &settings.redirect_uris,
            post_logout_redirect_uris => &settings.post_logout_redirect_uris,
            backchannel_logout_uri => &settings.backchannel_logout_uri,
            deliveries,
            grants => joined(&settings.grant_types, ", "),
            auth_method => settings.token_endpoint_auth_method.as_str(),
            scopes => settings.scopes.join(" "),
            secret => secret_line,
            has_secret => client.has_secret,
            managed => is_console_client(&client.client_id),
        },
        may_manage => console.actor.may(Permission::ManageClients, owner),
        secret => secret.map(Secret::expose),
    };
    console.page(state, Section::Clients, "client.html", values)
}

/// `GET /console/clients/{client_id}`.
async fn show(
    State(state): State<AdminState>,
    console: Console,
    Path(client_id): Path<String>,
) -> Result<Response, ConsoleError> {
    let client = state.admin.client(&console.actor, &client_id)?;
    page(&state, &console, &client, None).await
}

/// The question before replacing or deleting, about a client the admin may see.
fn ask(
    state: &AdminState,
    console: &Console,
    client_id: &str,
    what: &str,
    question: &str,
) -> Result<Response, ConsoleError> {
    let client = state.admin.client(&console.actor, client_id)?;
    let question = Question {
        question: fill(question, &[("name", &client.settings.name)]),
        action: format!("/console/clients/{client_id}/{what}"),
        fields: Vec::new(),
        back: format!("/console/clients/{client_id}"),
        danger: true,
    };
    console.confirm(state, Section::Clients, question)
}

/// `GET /console/clients/{client_id}/rotate-secret`: "Are you sure?"
async fn ask_rotate(
    State(state): State<AdminState>,
    console: Console,
    Path(client_id): Path<String>,
) -> Result<Response, ConsoleError> {
    ask(
        &state,
        &console,
        &client_id,
        "rotate-secret",
        CONSOLE.confirm_rotate_secret,
    )
}

/// `POST /console/clients/{client_id}/rotate-secret`: a new secret, shown once.
async fn rotate(
    State(state): State<AdminState>,
    Path(client_id): Path<String>,
    posted: Posted,
) -> Result<Response, ConsoleError> {
    let console = &posted.console;
    let secret = state
        .admin
        .rotate_client_secret(&console.actor, &console.call(), &client_id)
        .await?;
    let client = state.admin.client(&console.actor, &client_id)?;
    page(&state, console, &client, Some(&secret)).await
}

/// `GET /console/clients/{client_id}/delete`: "Are you sure?"
async fn ask_delete(
    State(state): State<AdminState>,
    console: Console,
    Path(client_id): Path<String>,
) -> Result<Response, ConsoleError> {
    ask(
        &state,
        &console,
        &client_id,
        "delete",
        CONSOLE.confirm_delete_client,
    )
}

/// `POST /console/clients/{client_id}/delete`: gone; back to the list.
async fn delete(
    State(state): State<AdminState>,
    Path(client_id): Path<String>,
    posted: Posted,
) -> Result<Response, ConsoleError> {
    let console = &posted.console;
    state
        .admin
        .delete_client(&console.actor, &console.call(), &client_id)
        .await?;
    Ok(Redirect::to("/console/clients").into_response())
}
