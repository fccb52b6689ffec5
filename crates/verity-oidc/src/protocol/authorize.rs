//! Authorization requests (RFC 6749 4.1.1, OIDC Core 3.1.2.1).
//!
//! The client and the redirect URI are checked first: when either fails, the person sees
//! an error page and nothing redirects (an open redirector otherwise). Every later error
//! is redirected to the client with `state` and `iss` (RFC 9207).

use serde::{Deserialize, Serialize};
use verity_domain::client::GrantType;
use verity_projection::ClientView;

use super::error::OAuthError;
use super::params::Params;
use super::pkce;

/// The `prompt` values (OIDC Core 3.1.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    /// `none`: no UI; fail with `login_required` rather than ask.
    pub none: bool,
    /// `login`: ask for credentials even with a session.
    pub login: bool,
    /// `consent`: ask for consent.
    pub consent: bool,
}

/// A validated authorization request, kept for the length of the login transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    /// The client.
    pub client_id: String,
    /// One of its registered redirect URIs, exactly.
    pub redirect_uri: String,
    /// Requested scopes the client may use (always with `openid`).
    pub scopes: Vec<String>,
    /// Echoed to the client.
    pub state: Option<String>,
    /// Carried into the ID token.
    pub nonce: Option<String>,
    /// The PKCE S256 challenge, when sent.
    pub code_challenge: Option<String>,
    /// `prompt`.
    pub prompt: Prompt,
    /// `max_age` in seconds: the longest acceptable time since the person authenticated.
    pub max_age: Option<u64>,
    /// `login_hint`: pre-fills the email field.
    pub login_hint: Option<String>,
    /// `id_token_hint`: a previously issued ID token (checked by the caller).
    pub id_token_hint: Option<String>,
}

impl AuthorizationRequest {
    /// The scopes as a space-separated string.
    pub fn scope(&self) -> String {
        self.scopes.join(" ")
    }
}

/// Why an authorization request fails, and where the answer goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeFailure {
    /// The client or redirect URI cannot be trusted: show this on an error page.
    Page(String),
    /// Send the error back to the client's redirect URI.
    Redirect {
        /// The validated redirect URI.
        redirect_uri: String,
        /// The request's `state`.
        state: Option<String>,
        /// The error.
        error: OAuthError,
    },
}

/// Longest `state` or `nonce` accepted.
const MAX_OPAQUE: usize = 2048;

/// Validates the parameters against the client (looked up by the caller from
/// `client_id`; `None` when unknown).
pub fn validate(
    params: &Params,
    client: Option<&ClientView>,
) -> Result<AuthorizationRequest, AuthorizeFailure> {
    let Some(client_id) = params.get("client_id") else {
        return Err(AuthorizeFailure::Page(
            "The request names no client (client_id is missing).".into(),
        ));
    };
    let Some(client) = client.filter(|client| client.client_id == client_id) else {
        return Err(AuthorizeFailure::Page(
            "The application that sent you here is not registered.".into(),
        ));
    };
    let Some(redirect_uri) = params.get("redirect_uri") else {
        return Err(AuthorizeFailure::Page(
            "The request has no redirect_uri.".into(),
        ));
    };
    if !client.has_redirect_uri(redirect_uri) {
        return Err(AuthorizeFailure::Page(
            "The redirect_uri is not registered for this application, so you are not sent back to it.".into(),
        ));
    }
    let state = params.get("state").map(str::to_owned);
    let redirect = |error: OAuthError| AuthorizeFailure::Redirect {
        redirect_uri: redirect_uri.to_owned(),
        state: state.clone(),
        error,
    };
    validate_rest(params, client)
        .map_err(redirect)
        .map(|partial| AuthorizationRequest {
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            state: state.clone(),
            ..partial
        })
}

/// Everything after the client and the redirect URI.
fn validate_rest(params: &Params, client: &ClientView) -> Result<AuthorizationRequest, OAuthError> {
    if params.get("request").is_some() {
        return Err(OAuthError {
            error: "request_not_supported",
            error_description: "request objects are not supported".into(),
        });
    }
    if params.get("request_uri").is_some() {
        return Err(OAuthError {
            error: "request_uri_not_supported",
            error_description: "request_uri is not supported".into(),
        });
    }
    match params.get("response_type") {
        None => return Err(OAuthError::invalid_request("response_type is missing")),
        Some("code") => {}
        Some(other) => {
            return Err(OAuthError::unsupported_response_type(format!(
                "response_type {other:?} is not supported; use code"
            )));
        }
    }
    if let Some(mode) = params.get("response_mode").filter(|mode| *mode != "query") {
        return Err(OAuthError::invalid_request(format!(
            "response_mode {mode:?} is not supported; use query"
        )));
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(OAuthError::unauthorized_client(
            "this client may not use the authorization code flow",
        ));
    }
    let requested: Vec<&str> = params
        .get("scope")
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    if !requested.contains(&"openid") {
        return Err(OAuthError::invalid_scope("the scope must include openid"));
    }
    let mut scopes: Vec<String> = Vec::new();
    for scope in requested {
        if (scope == "openid" || client.allows_scope(scope))
            && !scopes.iter().any(|kept| kept == scope)
        {
            scopes.push(scope.to_owned());
        }
    }
    let code_challenge = match params.get("code_challenge") {
        Some(challenge) => {
            pkce::validate_challenge(challenge, params.get("code_challenge_method"))?;
            Some(challenge.to_owned())
        }
        None if client.is_public() || client.settings.require_pkce => {
            return Err(OAuthError::invalid_request(
                "PKCE is required: send code_challenge with code_challenge_method=S256",
            ));
        }
        None => None,
    };
    let prompt = parse_prompt(params.get("prompt"))?;
    let max_age = match params.get("max_age") {
        None => None,
        Some(text) => Some(
            text.parse::<u64>()
                .map_err(|_| OAuthError::invalid_request("max_age must be a number of seconds"))?,
        ),
    };
    for name in ["state", "nonce"] {
        if params
            .get(name)
            .is_some_and(|value| value.len() > MAX_OPAQUE)
        {
            return Err(OAuthError::invalid_request(format!("{name} is too long")));
        }
    }
    Ok(AuthorizationRequest {
        client_id: String::new(),
        redirect_uri: String::new(),
        scopes,
        state: None,
        nonce: params.get("nonce").map(str::to_owned),
        code_challenge,
        prompt,
        max_age,
        login_hint: params.get("login_hint").map(str::to_owned),
        id_token_hint: params.get("id_token_hint").map(str::to_owned),
    })
}

fn parse_prompt(value: Option<&str>) -> Result<Prompt, OAuthError> {
    let mut prompt = Prompt::default();
    for item in value
        .unwrap_or_default()
        .split(' ')
        .filter(|item| !item.is_empty())
    {
        match item {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            "select_account" => {}
            other => {
                return Err(OAuthError::invalid_request(format!(
                    "prompt {other:?} is not supported"
                )));
            }
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return Err(OAuthError::invalid_request(
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(prompt)
}
