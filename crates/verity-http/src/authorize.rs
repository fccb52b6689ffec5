//! The authorization endpoint and the sign-in form.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use verity_domain::DomainEvent;
use verity_domain::signin::{
    Origin, SignInEvent, SignInFailed, SignInFailure, UNKNOWN_SIGNIN_STREAM,
};
use verity_domain::{Email, user};
use verity_oidc::credentials::verify_password_in;
use verity_oidc::limits::{LockState, password_failure_key};
use verity_oidc::protocol::authorize::{self, AuthorizationRequest, AuthorizeFailure};
use verity_oidc::protocol::tokens::{Authentication, token_digest};
use verity_oidc::protocol::{OAuthError, Params};
use verity_projection::{PasswordState, UserView};

use crate::client_ip::Caller;
use crate::metrics::Lockout;
use crate::pages::STRINGS;
use crate::session::{self, CodeRecord, LoginTransaction, kind};
use crate::{AppState, HttpError, cookies, ip_limit, runtime};

/// A dummy Argon2id hash (of a random string nobody knows): unknown emails are checked
/// against it so they take as long as known ones.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$dmVyaXR5ZHVtbXlzYWx0$3f7qQ8wL1M0m5d0r2X2f1m9bX3b9nQ2pX7t4w8r1k0A";

/// `GET /authorize`
pub(crate) async fn authorize_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    respond(authorize(&state, &headers, params).await, &state)
}

/// `POST /authorize` (form body)
pub(crate) async fn authorize_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !is_form(&headers) {
        return state.pages.error(
            StatusCode::BAD_REQUEST,
            "The request must be a form (application/x-www-form-urlencoded).",
        );
    }
    respond(
        authorize(&state, &headers, Params::parse(&body)).await,
        &state,
    )
}

pub(crate) fn respond(result: Result<Response, HttpError>, state: &AppState) -> Response {
    match result {
        Ok(response) => response,
        Err(HttpError::OAuth { error, .. }) => state
            .pages
            .error(StatusCode::BAD_REQUEST, &error.error_description),
        Err(HttpError::Internal) => state.pages.error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong on our side.",
        ),
    }
}

pub(crate) fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| {
            mime.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    params: Result<Params, OAuthError>,
) -> Result<Response, HttpError> {
    let params = match params {
        Ok(params) => params,
        // Before the redirect URI is validated, errors are shown, never redirected.
        Err(error) => {
            return Ok(state
                .pages
                .error(StatusCode::BAD_REQUEST, &error.error_description));
        }
    };
    let client = params.get("client_id").and_then(|id| {
        state
            .projector
            .read(|models| models.clients.get(id).cloned())
    });
    let request = match authorize::validate(&params, client.as_ref()) {
        Ok(request) => request,
        Err(AuthorizeFailure::Page(message)) => {
            return Ok(state.pages.error(StatusCode::BAD_REQUEST, &message));
        }
        Err(AuthorizeFailure::Redirect {
            redirect_uri,
            state: client_state,
            error,
        }) => {
            return Ok(error_redirect(
                state,
                &redirect_uri,
                client_state.as_deref(),
                &error,
            ));
        }
    };
    let session = session::current(state, headers).await?;
    let now = runtime::now().timestamp();
    let usable = session.filter(|(_, authentication)| {
        let fresh = request.max_age.is_none_or(|max_age| {
            now - authentication.auth_time <= i64::try_from(max_age).unwrap_or(i64::MAX)
        });
        !request.prompt.login && fresh && hint_matches(state, &request, authentication)
    });
    if let Some((_, authentication)) = usable {
        return issue_code(state, request, authentication).await;
    }
    if request.prompt.none {
        let error = OAuthError::login_required("the person must sign in");
        return Ok(error_redirect(
            state,
            &request.redirect_uri,
            request.state.as_deref(),
            &error,
        ));
    }
    start_login(state, request).await
}

/// With `id_token_hint`, the session must be the hinted person's.
fn hint_matches(
    state: &AppState,
    request: &AuthorizationRequest,
    authentication: &Authentication,
) -> bool {
    let Some(hint) = &request.id_token_hint else {
        return true;
    };
    let Ok(ring) = state.key_ring() else {
        return false;
    };
    ring.verify(hint)
        .ok()
        .and_then(|claims| {
            claims
                .get("sub")
                .and_then(|sub| sub.as_str())
                .map(|sub| sub == authentication.user_id)
        })
        .unwrap_or(false)
}

/// Opens a login transaction and shows the sign-in form.
async fn start_login(
    state: &AppState,
    request: AuthorizationRequest,
) -> Result<Response, HttpError> {
    let tx = runtime::token();
    let csrf = runtime::token();
    let email = request.login_hint.clone().unwrap_or_default();
    let transaction = LoginTransaction {
        request,
        csrf: csrf.clone(),
        stage: crate::session::Stage::Credentials,
    };
    let expires_at = session::expires_in(state.settings.login_lifetime);
    state
        .expiring
        .put(
            kind::LOGIN,
            &tx,
            &session::encode(&transaction)?,
            expires_at,
        )
        .await?;
    let mut response = login_page(state, StatusCode::OK, &tx, &csrf, &email, None);
    set_cookie(
        &mut response,
        &cookies::set(
            cookies::CSRF,
            &csrf,
            state.settings.login_lifetime,
            state.settings.secure_cookies(),
        ),
    );
    Ok(response)
}

fn login_page(
    state: &AppState,
    status: StatusCode,
    tx: &str,
    csrf: &str,
    email: &str,
    error: Option<&str>,
) -> Response {
    state
        .pages
        .personal(status, "login.html", context! { tx, csrf, email, error })
}

pub(crate) fn set_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// `POST /login`: email and password of a login transaction.
pub(crate) async fn login(State(state): State<AppState>, caller: Caller, body: Bytes) -> Response {
    let result = async {
        match crate::journey::load(&state, &caller, &body).await? {
            Ok(loaded) => login_form(&state, &caller, loaded).await,
            Err(page) => Ok(page),
        }
    }
    .await;
    respond(result, &state)
}

async fn login_form(
    state: &AppState,
    caller: &Caller,
    loaded: crate::journey::Loaded,
) -> Result<Response, HttpError> {
    let crate::journey::Loaded {
        tx,
        transaction,
        form,
    } = loaded;
    let tx = tx.as_str();
    let typed_email = form.get("email").unwrap_or_default();
    let password = form.get("password").unwrap_or_default();
    let origin = session::origin(caller, Some(&transaction.request.client_id));
    let again = |message: &str| {
        login_page(
            state,
            StatusCode::OK,
            tx,
            &transaction.csrf,
            typed_email,
            Some(message),
        )
    };

    let now = runtime::now();
    let email = Email::parse(typed_email).ok();
    let limit = &state.settings.password_limit;
    let lock_key = email.as_ref().map(password_failure_key);
    let checks = ip_limit::checks(
        state,
        caller,
        lock_key.as_deref().map(|key| (limit, key)),
        now,
    )
    .await?;
    // Before anything else: a locked client address gets no password checked.
    if let Some(until) = checks.network_locked_until {
        return Ok(ip_limit::refused(again(STRINGS.ip_locked), until, now));
    }
    let (Some(email), Some(lock_key)) = (email, lock_key) else {
        return Ok(again(STRINGS.bad_credentials));
    };
    if let LockState::Locked { .. } = checks.step.lock {
        record_failure(state, None, &email, SignInFailure::Locked, &origin).await?;
        return Ok(again(STRINGS.password_locked));
    }
    let candidates: Vec<UserView> = state.projector.read(|models| {
        models
            .users
            .find_by_email_anywhere(&email)
            .into_iter()
            .cloned()
            .collect()
    });
    let (person, failure) = match check_password(state, candidates, password.to_owned()).await? {
        PasswordCheck::Matched(person, failure) => (Some(person), failure),
        PasswordCheck::Wrong(person) => (Some(person), Some(SignInFailure::WrongPassword)),
        PasswordCheck::NoAccount => (None, Some(SignInFailure::UnknownEmail)),
    };
    if let Some(reason) = failure {
        record_failure(state, person.as_ref(), &email, reason, &origin).await?;
        let message = match reason {
            SignInFailure::Disabled => STRINGS.account_disabled,
            SignInFailure::TemporaryPasswordExpired => STRINGS.temporary_password_expired,
            SignInFailure::UnknownEmail | SignInFailure::WrongPassword | SignInFailure::Locked => {
                let failed = ip_limit::record_failures(
                    state,
                    caller,
                    (limit, &lock_key, Lockout::Password),
                    now,
                )
                .await?;
                if let Some(until) = failed.network_locked_until {
                    return Ok(ip_limit::refused(again(STRINGS.ip_locked), until, now));
                }
                if failed.step.locked_until.is_some() {
                    STRINGS.password_locked
                } else {
                    tokio::time::sleep(
                        state.settings.progressive_delay.delay(failed.step.failures),
                    )
                    .await;
                    STRINGS.bad_credentials
                }
            }
        };
        return Ok(again(message));
    }
    let Some(person) = person else {
        return Ok(again(STRINGS.bad_credentials));
    };
    if checks.step.failures > 0 {
        limit.reset(state.expiring.as_ref(), &lock_key).await?;
    }
    crate::journey::after_password(state, caller, tx, transaction, person).await
}

/// Records `user.signin.failed` on the person's stream, or on `signin-unknown`.
async fn record_failure(
    state: &AppState,
    person: Option<&UserView>,
    email: &Email,
    reason: SignInFailure,
    origin: &Origin,
) -> Result<(), HttpError> {
    state
        .metrics
        .sign_in_failure(&crate::metrics::label(&reason));
    let user_id = person.map(|person| person.user_id.to_string());
    let failed = SignInFailed {
        user_id: user_id.clone(),
        email: email.to_string(),
        reason,
        origin: origin.clone(),
    };
    let event =
        SignInEvent::Failed(failed).to_new_event(session::metadata(user_id.as_deref(), origin));
    let stream = person.map_or_else(
        || UNKNOWN_SIGNIN_STREAM.to_owned(),
        |person| user::stream(person.user_id),
    );
    session::record(state, stream, vec![event]).await
}

/// What the password said.
enum PasswordCheck {
    /// It matches this account; `Some` when the account may not sign in, and why.
    Matched(UserView, Option<SignInFailure>),
    /// Accounts have this address, the password matches none of them.
    Wrong(UserView),
    /// No account has this address.
    NoAccount,
}

/// Verifies the password against each account with this address (one per organization)
/// on a blocking thread; unknown addresses are verified against a dummy hash, so both take
/// as long. Returns the matching account and, when it may not sign in, why.
async fn check_password(
    state: &AppState,
    candidates: Vec<UserView>,
    password: String,
) -> Result<PasswordCheck, HttpError> {
    state.hash(move |memory| {
        let Some(first) = candidates.first().cloned() else {
            let _ = verify_password_in(&password, DUMMY_HASH, memory);
            return PasswordCheck::NoAccount;
        };
        let now = runtime::now();
        let matched = candidates.into_iter().find(|candidate| verify_password_in(&password, candidate.password.hash(), memory));
        match matched {
            None => PasswordCheck::Wrong(first),
            Some(candidate) => {
                let failure = if candidate.disabled {
                    Some(SignInFailure::Disabled)
                } else if matches!(candidate.password, PasswordState::Temporary { expires_at, .. } if expires_at <= now) {
                    Some(SignInFailure::TemporaryPasswordExpired)
                } else {
                    None
                };
                PasswordCheck::Matched(candidate, failure)
            }
        }
    })
    .await
}

/// Issues an authorization code for an authenticated request and redirects back.
pub(crate) async fn issue_code(
    state: &AppState,
    request: AuthorizationRequest,
    authentication: Authentication,
) -> Result<Response, HttpError> {
    let code = runtime::token();
    let record = CodeRecord {
        request,
        authentication,
    };
    let expires_at = session::expires_in(state.settings.code_lifetime);
    state
        .expiring
        .put(
            kind::CODE,
            &token_digest(&code),
            &session::encode(&record)?,
            expires_at,
        )
        .await?;
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("code", &code);
    if let Some(client_state) = &record.request.state {
        query.append_pair("state", client_state);
    }
    query.append_pair("iss", &state.settings.issuer);
    Ok(Redirect::to(&join_query(&record.request.redirect_uri, &query.finish())).into_response())
}

/// Redirects an error to the client (RFC 6749 4.1.2.1) with `state` and `iss`.
fn error_redirect(
    state: &AppState,
    redirect_uri: &str,
    client_state: Option<&str>,
    error: &OAuthError,
) -> Response {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("error", error.error);
    query.append_pair("error_description", &error.error_description);
    if let Some(client_state) = client_state {
        query.append_pair("state", client_state);
    }
    query.append_pair("iss", &state.settings.issuer);
    Redirect::to(&join_query(redirect_uri, &query.finish())).into_response()
}

/// Appends a query to a URI that may already have one.
pub(crate) fn join_query(uri: &str, query: &str) -> String {
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{query}")
}
