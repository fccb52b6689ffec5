//! The admin API's OpenAPI 3.1 document, generated from the code: utoipa describes each
//! handler from its `#[utoipa::path]` and the types it reads and answers, as the router
//! registers it ([`super::router`]). What every operation shares is added here by rule,
//! so that the document says what the code does:
//!
//! - every operation needs a `verity:admin` token (the security requirement) and may
//!   answer 401, 403 and 500;
//! - one with a path parameter may answer 404 (nothing by that id that the caller sees)
//!   and 400 (a segment that is not UTF-8); one with query parameters 400; one with a
//!   JSON body 400, 413, 415 and 422;
//! - every command (POST, PATCH, DELETE) 409;
//!
//! each as `application/problem+json` with the `Problem` schema. The servers and the
//! OAuth flows name the issuer this server runs as, filled in when the document is
//! served.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{
    AuthorizationCode, ClientCredentials, Flow, OAuth2, Scopes, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::server::Server;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use verity_oidc::grants::ADMIN_SCOPE;
use verity_oidc::protocol::discovery::paths;

use super::problem::{PROBLEM_JSON, Problem};
use crate::state::AdminState;

/// The name of the security scheme in the document.
const SCHEME: &str = "verity";

/// What the document says before any route is added.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Verity admin API",
        description = "Manage people, clients, organizations and roles. Authenticate with an access token of this Verity carrying the scope `verity:admin` (docs/api.md).",
    ),
    components(schemas(Problem)),
    tags(
        (name = "people", description = "People, their devices, sessions and history"),
        (name = "clients", description = "OAuth clients"),
        (name = "organizations", description = "Organizations"),
        (name = "roles", description = "Who may administer what"),
    )
)]
struct Skeleton;

/// The document before the routes are added.
pub(super) fn skeleton() -> utoipa::openapi::OpenApi {
    Skeleton::openapi()
}

/// The finished document, shared by every request for it.
#[derive(Clone)]
pub(super) struct Document(Arc<utoipa::openapi::OpenApi>);

impl Document {
    /// `generated` with what every operation shares.
    pub(super) fn new(mut generated: utoipa::openapi::OpenApi) -> Self {
        for item in generated.paths.paths.values_mut() {
            let operations = [
                (&mut item.get, false),
                (&mut item.post, true),
                (&mut item.patch, true),
                (&mut item.put, true),
                (&mut item.delete, true),
            ];
            for (operation, command) in operations {
                if let Some(operation) = operation.as_mut() {
                    shared_answers(operation, command);
                }
            }
        }
        Self(Arc::new(generated))
    }
}

/// Adds the security requirement and the problems every operation of its kind may answer.
fn shared_answers(operation: &mut Operation, command: bool) {
    operation.security = Some(vec![SecurityRequirement::new(SCHEME, [ADMIN_SCOPE])]);
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let in_path = parameters
        .iter()
        .any(|parameter| parameter.parameter_in == ParameterIn::Path);
    let in_query = parameters
        .iter()
        .any(|parameter| parameter.parameter_in == ParameterIn::Query);
    let body = operation.request_body.is_some();
    let mut answers: Vec<(u16, &str)> = vec![
        (401, "No valid access token (see WWW-Authenticate)"),
        (
            403,
            "The token lacks the scope verity:admin, its holder has no role, or the role does not allow this",
        ),
        (500, "The server failed"),
    ];
    if in_path {
        answers.push((404, "Nothing by that id that the caller may see"));
    }
    if in_path || in_query || body {
        answers.push((
            400,
            "The request cannot be read (a path segment, the query or the body)",
        ));
    }
    if body {
        answers.push((413, "The body is too large"));
        answers.push((415, "The body is not JSON"));
        answers.push((
            422,
            "A value does not fit (a missing or unknown field, an invalid address)",
        ));
    }
    if command {
        answers.push((
            409,
            "It conflicts with what exists, or a rule refuses it as things are",
        ));
    }
    for (status, description) in answers {
        operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| problem_response(description));
    }
}

/// A problem+json answer described as `description`.
fn problem_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .build();
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(PROBLEM_JSON, content)
            .build(),
    )
}

/// `GET /api/v1/openapi.json`: the document, with this server's issuer as its server and
/// in its OAuth flows. Public, like discovery: it says what the API is, not what is in it.
pub(super) async fn serve(State(state): State<AdminState>, document: Document) -> Response {
    let issuer = state.app.engine.settings.issuer.as_str();
    let mut document = (*document.0).clone();
    document.servers = Some(vec![Server::new(issuer)]);
    let scopes = || {
        Scopes::one(
            ADMIN_SCOPE,
            "administer Verity as the token's person or client, within their roles",
        )
    };
    let token_url = format!("{issuer}{}", paths::TOKEN);
    let flows = [
        Flow::ClientCredentials(ClientCredentials::new(token_url.clone(), scopes())),
        Flow::AuthorizationCode(AuthorizationCode::new(
            format!("{issuer}{}", paths::AUTHORIZE),
            token_url,
            scopes(),
        )),
    ];
    document
        .components
        .get_or_insert_with(Default::default)
        .add_security_scheme(SCHEME, SecurityScheme::OAuth2(OAuth2::new(flows)));
    match document.to_json() {
        Ok(json) => {
            let mut response = json.into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(error) => super::problem::ApiError::internal(&error).into_response(),
    }
}
