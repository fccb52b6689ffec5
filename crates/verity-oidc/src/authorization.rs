//! What `/authorize` decides (OIDC Core 3.1.2): an error page when the client or the
//! redirect URI cannot be trusted, an error back to the client, a code at once when the
//! browser's session answers the request (`prompt`, `max_age`, `id_token_hint`
//! permitting), or a login transaction for the person to sign in.

use verity_domain::DomainEvent;
use verity_domain::signin::{SignInEvent, SignInFailed, SignInFailure};

use crate::context::RequestContext;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::grants::issue_code;
use crate::protocol::authorize::{AuthorizationRequest, AuthorizeFailure, validate};
use crate::protocol::response::error_location;
use crate::protocol::tokens::Authentication;
use crate::protocol::{OAuthError, Params};
use crate::sessions;
use crate::signin::{self, OpenedLogin};

/// Where an authorization request leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Shown on an error page, never redirected: the request cannot be trusted to name
    /// where to go.
    Refused(String),
    /// Back to the client: with a code (the session answered) or with an error.
    Redirect(String),
    /// The browser's session is a person of another organization than the client's:
    /// shown on a page ("This application is not available to your organization"),
    /// recorded, never a code.
    NotForTheirOrganization,
    /// The person signs in: a login transaction is open.
    SignIn {
        /// The transaction.
        opened: OpenedLogin,
        /// `login_hint`, to pre-fill the email field.
        login_hint: Option<String>,
        /// Where the sign-in ends: the request's redirect URI.
        redirect_uri: String,
    },
}

/// Decides an authorization request, given the browser's session cookie.
pub async fn authorize(
    engine: &Engine,
    context: &RequestContext,
    params: Result<Params, OAuthError>,
    session_cookie: Option<&str>,
) -> Result<Decision, EngineError> {
    // Before the redirect URI is validated, errors are shown, never redirected.
    let params = match params {
        Ok(params) => params,
        Err(error) => return Ok(Decision::Refused(error.error_description)),
    };
    let client = params.get("client_id").and_then(|id| engine.client(id));
    let issuer = &engine.settings.issuer;
    let request = match validate(&params, client.as_ref()) {
        Ok(request) => request,
        Err(AuthorizeFailure::Page(message)) => return Ok(Decision::Refused(message)),
        Err(AuthorizeFailure::Redirect {
            redirect_uri,
            state,
            error,
        }) => {
            let location = error_location(&redirect_uri, &error, state.as_deref(), issuer);
            return Ok(Decision::Redirect(location));
        }
    };
    let session = sessions::current(engine, context, session_cookie).await?;
    let usable = session
        .map(|session| session.authentication)
        .filter(|authentication| answers(engine, context, &request, authentication));
    if let Some(authentication) = usable {
        if !admits(engine, &request.client_id, &authentication) {
            refuse_other_organization(engine, context, &request.client_id, &authentication).await?;
            return Ok(Decision::NotForTheirOrganization);
        }
        sessions::add_client(engine, context, &authentication, &request.client_id).await?;
        // The code carries the session's activity: the idle timeout starts again.
        let location = issue_code(engine, context, request, authentication).await?;
        return Ok(Decision::Redirect(location));
    }
    if request.prompt.none {
        let error = OAuthError::login_required("the person must sign in");
        let location = error_location(
            &request.redirect_uri,
            &error,
            request.state.as_deref(),
            issuer,
        );
        return Ok(Decision::Redirect(location));
    }
    let login_hint = request.login_hint.clone();
    let redirect_uri = request.redirect_uri.clone();
    let opened = signin::open(engine, context, request).await?;
    Ok(Decision::SignIn {
        opened,
        login_hint,
        redirect_uri,
    })
}

/// Whether the client is for everyone's people, or for the organization of the session's
/// person.
fn admits(engine: &Engine, client_id: &str, authentication: &Authentication) -> bool {
    let Some(client_org) = engine
        .client(client_id)
        .and_then(|client| client.settings.org_id)
    else {
        return true;
    };
    uuid::Uuid::parse_str(&authentication.user_id)
        .ok()
        .and_then(|user_id| engine.projector.read(|models| models.users.org_of(user_id)))
        .is_some_and(|org_id| org_id == client_org)
}

/// Records the refusal: `user.signin.failed`, reason `client_of_another_organization`.
async fn refuse_other_organization(
    engine: &Engine,
    context: &RequestContext,
    client_id: &str,
    authentication: &Authentication,
) -> Result<(), EngineError> {
    let Some(person) = uuid::Uuid::parse_str(&authentication.user_id)
        .ok()
        .and_then(|user_id| engine.person(user_id))
    else {
        return Ok(());
    };
    let failed = SignInEvent::Failed(SignInFailed {
        user_id: Some(authentication.user_id.clone()),
        email: person.email.to_string(),
        reason: SignInFailure::ClientOfAnotherOrganization,
        origin: context.origin(Some(client_id)),
    });
    let metadata = context.metadata_of(Some(&authentication.user_id));
    engine
        .record(
            verity_domain::user::stream(person.user_id),
            vec![failed.to_new_event(metadata)],
        )
        .await?;
    Ok(())
}

/// Whether a live session answers the request without a sign-in: not `prompt=login`,
/// recent enough for `max_age`, and the person `id_token_hint` names.
fn answers(
    engine: &Engine,
    context: &RequestContext,
    request: &AuthorizationRequest,
    authentication: &Authentication,
) -> bool {
    let now = context.now.timestamp();
    let fresh = request.max_age.is_none_or(|max_age| {
        now - authentication.auth_time <= i64::try_from(max_age).unwrap_or(i64::MAX)
    });
    !request.prompt.login && fresh && hint_matches(engine, context, request, authentication)
}

/// With `id_token_hint`, the session must be the hinted person's.
fn hint_matches(
    engine: &Engine,
    context: &RequestContext,
    request: &AuthorizationRequest,
    authentication: &Authentication,
) -> bool {
    let Some(hint) = &request.id_token_hint else {
        return true;
    };
    let Ok(ring) = engine.key_ring(context.now) else {
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
