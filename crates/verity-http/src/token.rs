//! The token endpoint (codes, refresh tokens, client credentials), introspection
//! (RFC 7662) and revocation (RFC 7009), with client authentication.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use uuid::Uuid;
use verity_domain::client::{GrantType, TokenEndpointAuthMethod};
use verity_domain::grant::GrantRevocationReason;
use verity_domain::key::SigningAlgorithm;
use verity_oidc::client_secret::verify_client_secret;
use verity_oidc::protocol::client_auth::{JWT_BEARER, verify_client_assertion};
use verity_oidc::protocol::discovery::paths;
use verity_oidc::protocol::tokens::{AccessTokenClaims, GRANT_CLAIM, IdTokenClaims, token_digest};
use verity_oidc::protocol::{OAuthError, Params, pkce};
use verity_projection::ClientView;

use crate::authorize::is_form;
use crate::session::{self, CodeRecord, GrantRecord, RefreshRecord, kind};
use crate::{AppState, HttpError, runtime};

/// The typ of RFC 9068 access tokens.
pub(crate) const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Reads a form body; anything else is `invalid_request`.
fn form(headers: &HeaderMap, body: &Bytes) -> Result<Params, HttpError> {
    if !is_form(headers) {
        return Err(HttpError::bad_request(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        )));
    }
    Params::parse(body).map_err(HttpError::bad_request)
}

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// Credentials in an `Authorization: Basic` header (RFC 6749 2.3.1: form-encoded id and
/// secret).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, HttpError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let broken = || HttpError::invalid_client("malformed Basic authorization header");
    let text = value.to_str().map_err(|_| broken())?;
    let Some(encoded) = text
        .strip_prefix("Basic ")
        .or_else(|| text.strip_prefix("basic "))
    else {
        return Err(broken());
    };
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| broken())?;
    let decoded = String::from_utf8(decoded).map_err(|_| broken())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(broken)?;
    let decode = |part: &str| -> String {
        form_urlencoded::parse(format!("x={part}").as_bytes())
            .next()
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((decode(id), decode(secret))))
}

/// Authenticates the client of a token, introspection or revocation request with the
/// method it registered.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<ClientView, HttpError> {
    let basic = basic_credentials(headers)?;
    let assertion = params.get("client_assertion");
    let posted_secret = params.get("client_secret");
    let methods = usize::from(basic.is_some())
        + usize::from(assertion.is_some())
        + usize::from(posted_secret.is_some());
    if methods > 1 {
        return Err(HttpError::bad_request(OAuthError::invalid_request(
            "use exactly one client authentication method",
        )));
    }
    let client_id = match (&basic, params.get("client_id")) {
        (Some((id, _)), Some(posted)) if posted != id => {
            return Err(HttpError::bad_request(OAuthError::invalid_request(
                "client_id differs from the Basic credentials",
            )));
        }
        (Some((id, _)), _) => id.clone(),
        (None, Some(posted)) => posted.to_owned(),
        (None, None) => return Err(HttpError::invalid_client("no client authentication")),
    };
    let client = state
        .projector
        .read(|models| models.clients.get(&client_id).cloned())
        .ok_or_else(|| HttpError::invalid_client("unknown client"))?;
    let method = client.token_endpoint_auth_method;
    let authenticated = match (method, &basic, posted_secret, assertion) {
        (TokenEndpointAuthMethod::ClientSecretBasic, Some((_, secret)), None, None) => {
            verify_client_secret(&client, secret)
        }
        (TokenEndpointAuthMethod::ClientSecretPost, None, Some(secret), None) => {
            verify_client_secret(&client, secret)
        }
        (TokenEndpointAuthMethod::PrivateKeyJwt, None, None, Some(assertion)) => {
            if params.get("client_assertion_type") != Some(JWT_BEARER) {
                return Err(HttpError::bad_request(OAuthError::invalid_request(
                    "client_assertion_type must be jwt-bearer",
                )));
            }
            verify_assertion(state, &client, assertion).await?
        }
        (TokenEndpointAuthMethod::None, None, None, None) => client.is_public(),
        _ => {
            return Err(HttpError::invalid_client(format!(
                "this client authenticates with {}",
                method.as_str()
            )));
        }
    };
    if !authenticated {
        return Err(HttpError::invalid_client("client authentication failed"));
    }
    Ok(client)
}

async fn verify_assertion(
    state: &AppState,
    client: &ClientView,
    assertion: &str,
) -> Result<bool, HttpError> {
    let Some(jwks) = &client.jwks else {
        return Ok(false);
    };
    let token_endpoint = format!("{}{}", state.settings.issuer, paths::TOKEN);
    let audiences = [token_endpoint.as_str(), state.settings.issuer.as_str()];
    let now = runtime::now();
    let verified = verify_client_assertion(
        jwks,
        assertion,
        &client.client_id,
        &audiences,
        now.timestamp(),
    )
    .map_err(|error| HttpError::invalid_client(error.error_description))?;
    let expires_at = chrono::DateTime::from_timestamp(verified.exp, 0).unwrap_or(now);
    let key = format!("{}:{}", client.client_id, verified.jti);
    if !state
        .expiring
        .put_new(kind::ASSERTION_JTI, &key, b"1", expires_at, now)
        .await?
    {
        return Err(HttpError::invalid_client("client assertion replayed"));
    }
    Ok(true)
}

/// `POST /token`
pub(crate) async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HttpError> {
    let params = form(&headers, &body)?;
    let grant_type = params
        .required("grant_type")
        .map_err(HttpError::bad_request)?;
    let client = authenticate(&state, &headers, &params).await?;
    let answer = match grant_type {
        "authorization_code" => authorization_code(&state, &client, &params).await?,
        "refresh_token" => refresh_token(&state, &client, &params).await?,
        "client_credentials" => client_credentials(&state, &client, &params)?,
        other => {
            return Err(HttpError::bad_request(OAuthError::unsupported_grant_type(
                format!("grant_type {other:?} is not supported"),
            )));
        }
    };
    Ok(no_store(Json(answer).into_response()))
}

fn require_grant(client: &ClientView, grant: GrantType) -> Result<(), HttpError> {
    if client.allows_grant(grant) {
        Ok(())
    } else {
        Err(HttpError::bad_request(OAuthError::unauthorized_client(
            format!("this client may not use {}", grant.as_str()),
        )))
    }
}

fn invalid_grant(description: &str) -> HttpError {
    HttpError::bad_request(OAuthError::invalid_grant(description))
}

async fn authorization_code(
    state: &AppState,
    client: &ClientView,
    params: &Params,
) -> Result<Value, HttpError> {
    require_grant(client, GrantType::AuthorizationCode)?;
    let code = params.required("code").map_err(HttpError::bad_request)?;
    let digest = token_digest(code);
    let now = runtime::now();
    let Some(bytes) = state.expiring.take(kind::CODE, &digest, now).await? else {
        // A second use of a redeemed code revokes what the first use issued.
        if let Some(grant) = state.expiring.get(kind::CODE_USED, &digest, now).await? {
            let grant_id = String::from_utf8_lossy(&grant).into_owned();
            session::revoke_grant(state, &grant_id, GrantRevocationReason::CodeReused).await?;
        }
        return Err(invalid_grant(
            "the code is invalid, expired or already used",
        ));
    };
    let record: CodeRecord = session::decode(&bytes)?;
    let request = &record.request;
    if request.client_id != client.client_id {
        return Err(invalid_grant("the code was issued to another client"));
    }
    if params.get("redirect_uri") != Some(request.redirect_uri.as_str()) {
        return Err(invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&request.code_challenge, params.get("code_verifier")) {
        (Some(challenge), Some(verifier)) if pkce::verify(verifier, challenge) => {}
        (Some(_), _) => return Err(invalid_grant("the PKCE code_verifier does not match")),
        (None, Some(_)) => {
            return Err(invalid_grant(
                "a code_verifier was sent but the request had no code_challenge",
            ));
        }
        (None, None) => {}
    }
    let grant_id = runtime::uuid().to_string();
    let used_until = now + chrono::Duration::seconds(state.settings.code_lifetime * 10);
    state
        .expiring
        .put(kind::CODE_USED, &digest, grant_id.as_bytes(), used_until)
        .await?;
    let grant = GrantRecord {
        client_id: client.client_id.clone(),
        scope: request.scope(),
        authentication: record.authentication.clone(),
    };
    // The grant outlives the access token only when refresh tokens extend it. Every token
    // carries its id, so revoking the grant (e.g. on code reuse) revokes them all.
    let refresh = client.allows_grant(GrantType::RefreshToken);
    let lifetime = if refresh {
        state.settings.refresh_token_lifetime
    } else {
        state.settings.access_token_lifetime
    };
    state
        .expiring
        .put(
            kind::GRANT,
            &grant_id,
            &session::encode(&grant)?,
            session::expires_in(lifetime),
        )
        .await?;
    tokens_for_person(
        state,
        client,
        &grant,
        &grant_id,
        refresh,
        request.nonce.as_deref(),
        true,
    )
    .await
}

/// Access token, ID token and (when the client may refresh) a refresh token.
async fn tokens_for_person(
    state: &AppState,
    client: &ClientView,
    grant: &GrantRecord,
    grant_id: &str,
    with_refresh_token: bool,
    nonce: Option<&str>,
    with_id_token: bool,
) -> Result<Value, HttpError> {
    let ring = state.key_ring()?;
    let now = runtime::now().timestamp();
    let settings = &state.settings;
    let jti = runtime::uuid().to_string();
    let access_claims = AccessTokenClaims {
        issuer: &settings.issuer,
        subject: &grant.authentication.user_id,
        client_id: &client.client_id,
        scope: &grant.scope,
        jti: &jti,
        grant_id: Some(grant_id),
        authentication: Some(&grant.authentication),
        now,
        lifetime: settings.access_token_lifetime,
    };
    let access_token = ring
        .sign(
            settings.access_token_alg,
            Some(ACCESS_TOKEN_TYP),
            &access_claims.to_claims(),
        )
        .map_err(|error| HttpError::internal("signing an access token", error))?;
    let mut answer = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": settings.access_token_lifetime,
        "scope": grant.scope,
    });
    if with_id_token {
        let alg = id_token_alg(client);
        let profile = profile_claims(state, &grant.authentication.user_id, &grant.scope);
        let id_claims = IdTokenClaims {
            issuer: &settings.issuer,
            client_id: &client.client_id,
            authentication: &grant.authentication,
            nonce,
            access_token: Some(&access_token),
            alg,
            now,
            lifetime: settings.id_token_lifetime,
            profile,
        };
        let id_token = ring
            .sign(alg, Some("JWT"), &id_claims.to_claims())
            .map_err(|error| HttpError::internal("signing an ID token", error))?;
        crate::set_field(&mut answer, "id_token", json!(id_token));
    }
    if with_refresh_token {
        let refresh_token = runtime::token();
        let record = RefreshRecord {
            grant_id: grant_id.to_owned(),
        };
        let expires_at = session::expires_in(settings.refresh_token_lifetime);
        state
            .expiring
            .put(
                kind::REFRESH,
                &token_digest(&refresh_token),
                &session::encode(&record)?,
                expires_at,
            )
            .await?;
        crate::set_field(&mut answer, "refresh_token", json!(refresh_token));
    }
    Ok(answer)
}

fn id_token_alg(client: &ClientView) -> SigningAlgorithm {
    client.id_token_signed_response_alg
}

/// The claims the scopes release about a person (ID token and userinfo).
pub(crate) fn profile_claims(state: &AppState, user_id: &str, scope: &str) -> Map<String, Value> {
    let mut claims = Map::new();
    let Ok(id) = Uuid::parse_str(user_id) else {
        return claims;
    };
    let Some(user) = state.projector.read(|models| models.users.get(id).cloned()) else {
        return claims;
    };
    let scopes: Vec<&str> = scope.split(' ').collect();
    if scopes.contains(&"profile") {
        claims.insert("name".into(), json!(user.name));
        claims.insert("updated_at".into(), json!(user.updated_at.timestamp()));
    }
    if scopes.contains(&"email") {
        claims.insert("email".into(), json!(user.email.as_str()));
        // Addresses are set by admins; verification of control comes with the emailed
        // temporary password (the sign-in journey), so none is claimed yet.
        claims.insert("email_verified".into(), json!(false));
    }
    claims
}

async fn refresh_token(
    state: &AppState,
    client: &ClientView,
    params: &Params,
) -> Result<Value, HttpError> {
    require_grant(client, GrantType::RefreshToken)?;
    let presented = params
        .required("refresh_token")
        .map_err(HttpError::bad_request)?;
    let digest = token_digest(presented);
    let now = runtime::now();
    let Some(bytes) = state.expiring.take(kind::REFRESH, &digest, now).await? else {
        // A rotated token used again: someone holds a copy. Revoke the whole grant.
        if let Some(grant) = state.expiring.get(kind::REFRESH_USED, &digest, now).await? {
            let grant_id = String::from_utf8_lossy(&grant).into_owned();
            session::revoke_grant(state, &grant_id, GrantRevocationReason::RefreshTokenReused)
                .await?;
        }
        return Err(invalid_grant(
            "the refresh token is invalid, expired, rotated or revoked",
        ));
    };
    let record: RefreshRecord = session::decode(&bytes)?;
    let expires_at = session::expires_in(state.settings.refresh_token_lifetime);
    state
        .expiring
        .put(
            kind::REFRESH_USED,
            &digest,
            record.grant_id.as_bytes(),
            expires_at,
        )
        .await?;
    let Some(grant_bytes) = state
        .expiring
        .get(kind::GRANT, &record.grant_id, now)
        .await?
    else {
        return Err(invalid_grant("the grant was revoked"));
    };
    let grant: GrantRecord = session::decode(&grant_bytes)?;
    if grant.client_id != client.client_id {
        return Err(invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    let narrowed = match params.get("scope") {
        None => grant.clone(),
        Some(scope) => {
            let granted: Vec<&str> = grant.scope.split(' ').collect();
            if !scope
                .split(' ')
                .filter(|s| !s.is_empty())
                .all(|s| granted.contains(&s))
            {
                return Err(HttpError::bad_request(OAuthError::invalid_scope(
                    "a refresh cannot widen the scope",
                )));
            }
            GrantRecord {
                scope: scope.to_owned(),
                ..grant.clone()
            }
        }
    };
    let with_id_token = narrowed.scope.split(' ').any(|s| s == "openid");
    tokens_for_person(
        state,
        client,
        &narrowed,
        &record.grant_id,
        true,
        None,
        with_id_token,
    )
    .await
}

fn client_credentials(
    state: &AppState,
    client: &ClientView,
    params: &Params,
) -> Result<Value, HttpError> {
    require_grant(client, GrantType::ClientCredentials)?;
    if client.is_public() {
        return Err(HttpError::bad_request(OAuthError::unauthorized_client(
            "public clients cannot use client_credentials",
        )));
    }
    let scope = match params.get("scope") {
        Some(requested) => {
            let scopes: Vec<&str> = requested.split(' ').filter(|s| !s.is_empty()).collect();
            if let Some(refused) = scopes
                .iter()
                .find(|scope| **scope == "openid" || !client.allows_scope(scope))
            {
                return Err(HttpError::bad_request(OAuthError::invalid_scope(format!(
                    "scope {refused:?} is not allowed for this client"
                ))));
            }
            scopes.join(" ")
        }
        None => client
            .scopes
            .iter()
            .filter(|scope| *scope != "openid")
            .cloned()
            .collect::<Vec<_>>()
            .join(" "),
    };
    let ring = state.key_ring()?;
    let jti = runtime::uuid().to_string();
    let claims = AccessTokenClaims {
        issuer: &state.settings.issuer,
        subject: &client.client_id,
        client_id: &client.client_id,
        scope: &scope,
        jti: &jti,
        grant_id: None,
        authentication: None,
        now: runtime::now().timestamp(),
        lifetime: state.settings.access_token_lifetime,
    };
    let access_token = ring
        .sign(
            state.settings.access_token_alg,
            Some(ACCESS_TOKEN_TYP),
            &claims.to_claims(),
        )
        .map_err(|error| HttpError::internal("signing an access token", error))?;
    Ok(
        json!({ "access_token": access_token, "token_type": "Bearer", "expires_in": state.settings.access_token_lifetime, "scope": scope }),
    )
}

/// Why an access token is not accepted.
pub(crate) enum TokenProblem {
    /// Bad signature, wrong issuer, expired, revoked.
    Invalid(&'static str),
    /// Our side failed.
    Internal(HttpError),
}

/// Validates an access token: signature with a published key, an access token (not an ID
/// token), our issuer, not expired, not revoked, its grant still live.
pub(crate) async fn validate_access_token(
    state: &AppState,
    token: &str,
) -> Result<Map<String, Value>, TokenProblem> {
    let ring = state.key_ring().map_err(TokenProblem::Internal)?;
    let claims = ring
        .verify(token)
        .map_err(|_| TokenProblem::Invalid("the token's signature does not verify"))?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(state.settings.issuer.as_str()) || text("client_id").is_none() {
        return Err(TokenProblem::Invalid("not an access token of this issuer"));
    }
    let now = runtime::now();
    if claims
        .get("exp")
        .and_then(Value::as_i64)
        .is_none_or(|exp| exp <= now.timestamp())
    {
        return Err(TokenProblem::Invalid("the token has expired"));
    }
    let jti = text("jti").ok_or(TokenProblem::Invalid("the token has no jti"))?;
    let revoked = state
        .expiring
        .get(kind::REVOKED_JTI, jti, now)
        .await
        .map_err(|error| TokenProblem::Internal(error.into()))?;
    if revoked.is_some() {
        return Err(TokenProblem::Invalid("the token was revoked"));
    }
    if let Some(grant_id) = text(GRANT_CLAIM) {
        let live = state
            .expiring
            .get(kind::GRANT, grant_id, now)
            .await
            .map_err(|error| TokenProblem::Internal(error.into()))?;
        if live.is_none() {
            return Err(TokenProblem::Invalid("the token's grant was revoked"));
        }
    }
    Ok(claims)
}

/// `POST /introspect` (RFC 7662): authenticated clients only.
pub(crate) async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HttpError> {
    let params = form(&headers, &body)?;
    let _client = authenticate(&state, &headers, &params).await?;
    let token = params.required("token").map_err(HttpError::bad_request)?;
    let answer = match validate_access_token(&state, token).await {
        Ok(claims) => {
            let mut answer = json!({ "active": true, "token_type": "Bearer" });
            for name in [
                "scope",
                "client_id",
                "sub",
                "exp",
                "iat",
                "iss",
                "aud",
                "jti",
                "sid",
            ] {
                if let Some(value) = claims.get(name) {
                    crate::set_field(&mut answer, name, value.clone());
                }
            }
            answer
        }
        Err(TokenProblem::Internal(error)) => return Err(error),
        Err(TokenProblem::Invalid(_)) => introspect_refresh_token(&state, token).await?,
    };
    Ok(no_store(Json(answer).into_response()))
}

async fn introspect_refresh_token(state: &AppState, token: &str) -> Result<Value, HttpError> {
    let now = runtime::now();
    let Some(bytes) = state
        .expiring
        .get(kind::REFRESH, &token_digest(token), now)
        .await?
    else {
        return Ok(json!({ "active": false }));
    };
    let record: RefreshRecord = session::decode(&bytes)?;
    let Some(grant_bytes) = state
        .expiring
        .get(kind::GRANT, &record.grant_id, now)
        .await?
    else {
        return Ok(json!({ "active": false }));
    };
    let grant: GrantRecord = session::decode(&grant_bytes)?;
    Ok(json!({
        "active": true,
        "token_type": "refresh_token",
        "scope": grant.scope,
        "client_id": grant.client_id,
        "sub": grant.authentication.user_id,
        "iss": state.settings.issuer,
    }))
}

/// `POST /revoke` (RFC 7009): always 200 for a well-formed request by an authenticated
/// client, whether or not the token was known.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HttpError> {
    let params = form(&headers, &body)?;
    let client = authenticate(&state, &headers, &params).await?;
    let token = params.required("token").map_err(HttpError::bad_request)?;
    let now = runtime::now();
    let digest = token_digest(token);
    if let Some(bytes) = state.expiring.get(kind::REFRESH, &digest, now).await? {
        let record: RefreshRecord = session::decode(&bytes)?;
        let owned = match state
            .expiring
            .get(kind::GRANT, &record.grant_id, now)
            .await?
        {
            Some(grant) => session::decode::<GrantRecord>(&grant)?.client_id == client.client_id,
            None => false,
        };
        if owned {
            state.expiring.remove(kind::REFRESH, &digest).await?;
            session::revoke_grant(&state, &record.grant_id, GrantRevocationReason::Revoked).await?;
        }
    } else if let Ok(claims) = validate_access_token(&state, token).await {
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        if text("client_id") == Some(client.client_id.as_str())
            && let (Some(jti), Some(exp)) = (text("jti"), claims.get("exp").and_then(Value::as_i64))
        {
            let until = chrono::DateTime::from_timestamp(exp, 0).unwrap_or(now);
            state
                .expiring
                .put(kind::REVOKED_JTI, jti, b"1", until)
                .await?;
        }
    }
    Ok(no_store(().into_response()))
}
