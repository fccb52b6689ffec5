//! Signing in to the console and out of it. The console is an OpenID Connect client of
//! Verity itself (docs/console.md): `GET /console/signin` sends the browser to
//! `/authorize` with a fresh state, nonce and PKCE challenge (code flow, public client
//! `verity-console`), so the admin signs in through the same journey as at any
//! application — and, holding a role, always gives a code. `GET /console/callback`
//! redeems the code in process through the engine with the PKCE verifier (the same
//! exchange as at `/token`), verifies the ID token (signature, issuer, audience, nonce)
//! and opens a console session bound to the SSO session named by its `sid`.
//! `POST /console/logout` ends the console session and that SSO session.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use subtle::ConstantTimeEq;
use verity_admin::console_client::{CONSOLE_CLIENT_ID, console_redirect_uri};
use verity_domain::session::SessionEndReason;
use verity_http::web::{Caller, Cookie, set_on};
use verity_oidc::grants::{GrantError, redeem_code};
use verity_oidc::protocol::pkce::challenge_of;
use verity_oidc::protocol::tokens::{Authentication, token_digest};
use verity_oidc::{random, sessions};

use super::error::{ConsoleError, encode};
use super::pages;
use super::posted::PostedBySession;
use super::session;
use super::strings::{CONSOLE, fill};
use crate::state::AdminState;

/// The expiring store's kind of console sign-ins in progress, by the digest of their
/// cookie.
const SIGN_IN_KIND: &str = "console_signin";

/// The second factor a console session needs: a code (or a recovery code), never a
/// remembered device.
const CODE: &str = "otp";

/// A sign-in in progress, between the redirect to `/authorize` and the callback.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    state: String,
    nonce: String,
    verifier: String,
    /// The console page to open afterwards.
    next: String,
    /// Whether this sign-in asked for a fresh one (`prompt=login`).
    fresh: bool,
}

/// The query of `GET /console/signin`.
#[derive(Debug, Deserialize)]
pub(crate) struct Start {
    /// The console page to open after signing in.
    next: Option<String>,
}

/// A console page to come back to: a path of the console, nothing else (no other site,
/// no other page of Verity).
fn console_path(next: Option<&str>) -> String {
    next.filter(|next| {
        (*next == "/console" || next.starts_with("/console/") || next.starts_with("/console?"))
            && !next.contains("//")
            && !next.contains('\\')
            && !next.chars().any(char::is_control)
    })
    .unwrap_or("/console")
    .to_owned()
}

/// `GET /console/signin`: off to `/authorize`.
pub(crate) async fn start(
    State(state): State<AdminState>,
    caller: Caller,
    Query(start): Query<Start>,
) -> Result<Response, ConsoleError> {
    redirect_to_authorize(&state, &caller, console_path(start.next.as_deref()), false).await
}

/// Stores a new sign-in and redirects to `/authorize` for it (`fresh`: with
/// `prompt=login`, for a session that was not signed in with a code).
async fn redirect_to_authorize(
    state: &AdminState,
    caller: &Caller,
    next: String,
    fresh: bool,
) -> Result<Response, ConsoleError> {
    let engine = &state.app.engine;
    let pending = Pending {
        state: random::token(),
        nonce: random::token(),
        verifier: random::token(),
        next,
        fresh,
    };
    let mut query = vec![
        ("response_type", "code".to_owned()),
        ("client_id", CONSOLE_CLIENT_ID.to_owned()),
        (
            "redirect_uri",
            console_redirect_uri(&engine.settings.issuer),
        ),
        ("scope", "openid".to_owned()),
        ("state", pending.state.clone()),
        ("nonce", pending.nonce.clone()),
        ("code_challenge", challenge_of(&pending.verifier)),
        ("code_challenge_method", "S256".to_owned()),
    ];
    if fresh {
        query.push(("prompt", "login".to_owned()));
    }
    let query: Vec<String> = query
        .iter()
        .map(|(name, value)| format!("{name}={}", encode(value)))
        .collect();
    let cookie = random::token();
    let record = serde_json::to_vec(&pending).map_err(ConsoleError::internal)?;
    let expires_at = caller.context().now + engine.settings.login_lifetime;
    engine
        .expiring
        .put(SIGN_IN_KIND, &token_digest(&cookie), &record, expires_at)
        .await
        .map_err(ConsoleError::internal)?;
    let mut response = Redirect::to(&format!("/authorize?{}", query.join("&"))).into_response();
    let jar = state.app.cookies();
    let max_age = engine.settings.login_lifetime.num_seconds();
    set_on(
        &mut response,
        &jar.set(Cookie::ConsoleSignIn, &cookie, max_age),
    );
    Ok(response)
}

/// The query of `GET /console/callback`: the authorization response.
#[derive(Debug, Deserialize)]
pub(crate) struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /console/callback`: the code redeemed, the ID token verified, a console session
/// opened; on to the page asked for.
pub(crate) async fn callback(
    State(state): State<AdminState>,
    caller: Caller,
    Query(callback): Query<Callback>,
) -> Result<Response, ConsoleError> {
    let engine = &state.app.engine;
    let context = caller.context();
    let expired = || ConsoleError::bad_request(CONSOLE.sign_in_expired);
    // The sign-in this browser started, once: a replayed or foreign answer finds none.
    let cookie = caller.cookie(Cookie::ConsoleSignIn).ok_or_else(expired)?;
    let record = engine
        .expiring
        .take(SIGN_IN_KIND, &token_digest(cookie), context.now)
        .await
        .map_err(ConsoleError::internal)?
        .ok_or_else(expired)?;
    let pending: Pending = serde_json::from_slice(&record).map_err(|_| expired())?;
    let answered = callback.state.as_deref().unwrap_or_default();
    if !bool::from(answered.as_bytes().ct_eq(pending.state.as_bytes())) {
        return Err(expired());
    }
    if let Some(error) = callback.error {
        let reason = callback.error_description.unwrap_or(error);
        return Err(ConsoleError::bad_request(fill(
            CONSOLE.sign_in_failed,
            &[("reason", &reason)],
        )));
    }
    let code = callback.code.ok_or_else(expired)?;
    let client = engine
        .client(CONSOLE_CLIENT_ID)
        .ok_or_else(|| ConsoleError::bad_request(CONSOLE.console_unavailable))?;
    let redirect_uri = console_redirect_uri(&engine.settings.issuer);
    let tokens = redeem_code(
        engine,
        context,
        &client,
        &code,
        Some(&redirect_uri),
        Some(&pending.verifier),
    )
    .await
    .map_err(|error| match error {
        GrantError::Refused(refused) => ConsoleError::bad_request(fill(
            CONSOLE.sign_in_failed,
            &[("reason", &refused.error_description)],
        )),
        GrantError::InvalidClient(reason) => {
            ConsoleError::bad_request(fill(CONSOLE.sign_in_failed, &[("reason", &reason)]))
        }
        GrantError::Failed(error) => ConsoleError::from(error),
    })?;
    let id_token = tokens.id_token.ok_or(ConsoleError::Internal)?;
    let authentication = verified(&state, &caller, &id_token, &pending.nonce)?;
    let holds_role = authentication
        .user_id
        .parse()
        .is_ok_and(|user_id| !state.admin.grants_of_person(user_id).is_empty());
    if holds_role && !authentication.amr.iter().any(|method| method == CODE) {
        // A session that began with a remembered device (before the role was granted):
        // the console asks for a fresh sign-in, which for someone holding a role always
        // takes a code. Asked once; a second time would loop.
        if pending.fresh {
            return Err(ConsoleError::bad_request(fill(
                CONSOLE.sign_in_failed,
                &[("reason", "no authenticator code was given")],
            )));
        }
        return redirect_to_authorize(&state, &caller, pending.next, true).await;
    }
    let console_cookie = session::open(&state, context, &authentication).await?;
    let jar = state.app.cookies();
    let mut response = Redirect::to(&console_path(Some(&pending.next))).into_response();
    let lifetime = engine.settings.session_lifetime.num_seconds();
    set_on(
        &mut response,
        &jar.set(Cookie::Console, &console_cookie, lifetime),
    );
    set_on(&mut response, &jar.clear(Cookie::ConsoleSignIn));
    Ok(response)
}

/// The authentication an ID token of the console states, once its signature (with a key
/// Verity publishes), issuer, audience, expiry and nonce check out.
fn verified(
    state: &AdminState,
    caller: &Caller,
    id_token: &str,
    nonce: &str,
) -> Result<Authentication, ConsoleError> {
    let engine = &state.app.engine;
    let now = caller.context().now;
    let claims = engine
        .key_ring(now)?
        .verify(id_token)
        .map_err(ConsoleError::internal)?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let audience_is_console = match claims.get("aud") {
        Some(Value::String(audience)) => audience == CONSOLE_CLIENT_ID,
        Some(Value::Array(audiences)) => audiences
            .iter()
            .any(|audience| audience.as_str() == Some(CONSOLE_CLIENT_ID)),
        _ => false,
    };
    let nonce_matches =
        text("nonce").is_some_and(|sent| bool::from(sent.as_bytes().ct_eq(nonce.as_bytes())));
    let fresh = claims
        .get("exp")
        .and_then(Value::as_i64)
        .is_some_and(|exp| exp > now.timestamp());
    let (Some(user_id), Some(sid), Some(auth_time)) = (
        text("sub"),
        text("sid"),
        claims.get("auth_time").and_then(Value::as_i64),
    ) else {
        return Err(ConsoleError::Internal);
    };
    if text("iss") != Some(engine.settings.issuer.as_str())
        || !audience_is_console
        || !nonce_matches
        || !fresh
    {
        tracing::warn!("an ID token of the console did not verify");
        return Err(ConsoleError::bad_request(CONSOLE.sign_in_expired));
    }
    let amr = claims
        .get("amr")
        .and_then(Value::as_array)
        .map(|methods| {
            methods
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Ok(Authentication {
        user_id: user_id.to_owned(),
        sid: sid.to_owned(),
        auth_time,
        amr,
        acr: text("acr").unwrap_or_default().to_owned(),
    })
}

/// `POST /console/logout`: "Log out" ends the console session and the SSO session it
/// came from (`session.ended`, reason `logout`, by the person through the console), and
/// clears both cookies. Someone without a role can log out too.
pub(crate) async fn logout(
    State(state): State<AdminState>,
    PostedBySession { session }: PostedBySession,
) -> Result<Response, ConsoleError> {
    session::close(&state, &session).await?;
    sessions::end_by_id(
        &state.app.engine,
        session.caller.context(),
        &session.authentication.sid,
        SessionEndReason::Logout,
        Some(CONSOLE_CLIENT_ID),
    )
    .await?;
    let values = context! {
        heading => CONSOLE.signed_out_heading,
        message => CONSOLE.signed_out,
        sign_in_again => true,
    };
    let mut response = pages::plain(&state, "message.html", values)?;
    let jar = state.app.cookies();
    set_on(&mut response, &jar.clear(Cookie::Console));
    set_on(&mut response, &jar.clear(Cookie::Session));
    Ok(response)
}

/// `GET /console`: the console opens on its people (signing in first when needed).
pub(crate) async fn home(_signed_in: super::session::Console) -> Response {
    Redirect::to("/console/users").into_response()
}

/// Any other path under `/console`.
pub(crate) async fn unknown() -> ConsoleError {
    ConsoleError::no_such_page()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_console_paths_are_come_back_to() {
        assert_eq!(
            console_path(Some("/console/users/1?q=a")),
            "/console/users/1?q=a"
        );
        assert_eq!(console_path(Some("/console")), "/console");
        for elsewhere in [
            "https://evil.example/console/",
            "//evil.example/console/",
            "/console//evil.example",
            "/consolex",
            "/console/\\evil",
            "/account",
        ] {
            assert_eq!(console_path(Some(elsewhere)), "/console", "{elsewhere}");
        }
        assert_eq!(console_path(None), "/console");
    }
}
