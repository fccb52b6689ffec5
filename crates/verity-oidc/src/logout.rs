//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): which client asks, and
//! where the browser may go afterwards — only to a post-logout redirect URI that client
//! registered; then "Do you want to sign out?" ([`confirmation`]: the device checkbox
//! when this browser is a trusted device of the person) and, once confirmed, the session
//! ends and the device is forgotten if the person asked ([`sign_out`]). The door checks
//! that the confirmation's form is bound to the session it ends.

use serde_json::Value;
use uuid::Uuid;
use verity_domain::session::SessionEndReason;

use crate::account;
use crate::context::RequestContext;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::protocol::Params;
use crate::protocol::response::join_query;
use crate::sessions::{self, Session};

/// A validated logout request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutRequest {
    /// The client that asks: named, or the audience of the ID token hint.
    pub client_id: Option<String>,
    /// A registered post-logout redirect URI of that client, if one was asked for.
    pub return_to: Option<String>,
    /// Echoed back to the client.
    pub state: Option<String>,
}

impl LogoutRequest {
    /// Where the browser goes after the logout: the client's URI with `state`, if any.
    pub fn location(&self) -> Option<String> {
        let uri = self.return_to.as_ref()?;
        Some(match &self.state {
            Some(state) => {
                let query = form_urlencoded::Serializer::new(String::new())
                    .append_pair("state", state)
                    .finish();
                join_query(uri, &query)
            }
            None => uri.clone(),
        })
    }
}

/// Why a logout request is refused (shown on an error page).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogoutRefused {
    /// The hint is not an ID token this provider signed.
    #[error("The id_token_hint is not a valid ID token of this provider.")]
    InvalidHint,
    /// `client_id` names another client than the hint's audience.
    #[error("client_id does not match the id_token_hint.")]
    ClientMismatch,
}

/// Why a logout request cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum LogoutError {
    /// The request is refused: say why.
    #[error(transparent)]
    Refused(#[from] LogoutRefused),
    /// The engine failed.
    #[error(transparent)]
    Failed(#[from] EngineError),
}

/// Validates the parameters of a logout request. The hint identifies the client; its
/// signature must verify, but an expired hint is fine (it only identifies).
pub fn validate(
    engine: &Engine,
    context: &RequestContext,
    params: &Params,
) -> Result<LogoutRequest, LogoutError> {
    let hinted_client = match params.get("id_token_hint") {
        Some(hint) => match engine.key_ring(context.now)?.verify(hint) {
            Ok(claims) => claims.get("aud").and_then(audience),
            Err(_) => return Err(LogoutRefused::InvalidHint.into()),
        },
        None => None,
    };
    let client_id = match (params.get("client_id"), hinted_client) {
        (Some(named), Some(hinted)) if named != hinted => {
            return Err(LogoutRefused::ClientMismatch.into());
        }
        (Some(named), _) => Some(named.to_owned()),
        (None, hinted) => hinted,
    };
    let client = client_id.as_deref().and_then(|id| engine.client(id));
    let return_to = params
        .get("post_logout_redirect_uri")
        .filter(|uri| {
            client
                .as_ref()
                .is_some_and(|client| client.has_post_logout_redirect_uri(uri))
        })
        .map(str::to_owned);
    Ok(LogoutRequest {
        client_id,
        return_to,
        state: params.get("state").map(str::to_owned),
    })
}

/// "Do you want to sign out?", as it is shown for the browser's session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Confirmation {
    /// This browser is a trusted device of the session's person: offer "Forget this
    /// device as trusted environment".
    pub device_trusted: bool,
}

/// The confirmation for the browser's `session`, whose device cookie is `device_cookie`.
pub async fn confirmation(
    engine: &Engine,
    context: &RequestContext,
    session: &Session,
    device_cookie: Option<&str>,
) -> Result<Confirmation, EngineError> {
    let person = match session_person(session) {
        Some(user_id) => engine.person_record(user_id).await?,
        None => None,
    };
    let device_trusted = person
        .and_then(|person| account::trusted_device(&person, device_cookie, context.now))
        .is_some();
    Ok(Confirmation { device_trusted })
}

/// What a confirmed logout did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedOut {
    /// The browser's device was forgotten as trusted (`user.device.forgotten`): its
    /// cookie goes too.
    pub forgot_device: bool,
}

/// A confirmed logout: the browser's `session` ends (`session.ended`, reason `logout`,
/// for the client that asked), and when the person asked to `forget_device`, the browser
/// whose device cookie is `device_cookie` stops being one of their trusted devices, if it
/// was one.
pub async fn sign_out(
    engine: &Engine,
    context: &RequestContext,
    request: &LogoutRequest,
    session: &Session,
    device_cookie: Option<&str>,
    forget_device: bool,
) -> Result<SignedOut, EngineError> {
    let client_id = request.client_id.as_deref();
    let reason = SessionEndReason::Logout;
    sessions::end(engine, context, session, reason, client_id).await?;
    let forgot_device = match (forget_device, session_person(session)) {
        (true, Some(user_id)) => {
            account::forget_this_device(engine, context, user_id, device_cookie).await?
        }
        _ => false,
    };
    Ok(SignedOut { forgot_device })
}

/// The person a session is of.
fn session_person(session: &Session) -> Option<Uuid> {
    Uuid::parse_str(&session.authentication.user_id).ok()
}

/// The first audience of a token.
fn audience(aud: &Value) -> Option<String> {
    match aud {
        Value::String(aud) => Some(aud.clone()),
        Value::Array(list) => list.first().and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_engine::TestEngine;

    fn request() -> LogoutRequest {
        LogoutRequest {
            client_id: Some(crate::test_engine::CLIENT_ID.into()),
            return_to: None,
            state: None,
        }
    }

    #[tokio::test]
    async fn the_confirmation_offers_the_checkbox_only_to_a_trusted_device() {
        let test = TestEngine::start().await;
        let user_id = test.person("ada@example.org").await;
        test.enroll(user_id).await;
        let (_, session) = test.session(user_id).await;
        let context = test.context();
        let device = account::trust_device(&test.engine, &context, user_id)
            .await
            .unwrap();

        let trusted = confirmation(&test.engine, &context, &session, Some(&device.device_id));
        let unknown = confirmation(&test.engine, &context, &session, Some("not-a-device"));
        let without = confirmation(&test.engine, &context, &session, None);

        let offered =
            |confirmation: Result<Confirmation, EngineError>| confirmation.unwrap().device_trusted;
        assert!(offered(trusted.await));
        assert!(!offered(unknown.await));
        assert!(!offered(without.await));
    }

    #[tokio::test]
    async fn signing_out_ends_the_session_and_forgets_the_device_only_when_asked() {
        let test = TestEngine::start().await;
        let user_id = test.person("ada@example.org").await;
        test.enroll(user_id).await;
        let context = test.context();
        let device = account::trust_device(&test.engine, &context, user_id)
            .await
            .unwrap();
        let device = Some(device.device_id.as_str());

        let (kept_cookie, kept) = test.session(user_id).await;
        let keeping = sign_out(&test.engine, &context, &request(), &kept, device, false)
            .await
            .unwrap();
        assert_eq!(
            keeping,
            SignedOut {
                forgot_device: false
            }
        );
        let ended = sessions::current(&test.engine, &context, Some(&kept_cookie)).await;
        assert_eq!(ended.unwrap(), None);
        let person = test.record(user_id).await;
        assert!(account::trusted_device(&person, device, context.now).is_some());

        let (_, forgetting) = test.session(user_id).await;
        let forgot = sign_out(
            &test.engine,
            &context,
            &request(),
            &forgetting,
            device,
            true,
        )
        .await
        .unwrap();
        assert_eq!(
            forgot,
            SignedOut {
                forgot_device: true
            }
        );
        let person = test.record(user_id).await;
        assert!(account::trusted_device(&person, device, context.now).is_none());
        let types = test.event_types().await;
        let count = |wanted: &str| types.iter().filter(|found| *found == wanted).count();
        assert_eq!(count("session.ended"), 2, "{types:?}");
        assert_eq!(count("user.device.forgotten"), 1, "{types:?}");
    }

    #[tokio::test]
    async fn forgetting_a_browser_that_is_no_trusted_device_forgets_nothing() {
        let test = TestEngine::start().await;
        let user_id = test.person("ada@example.org").await;
        let (_, session) = test.session(user_id).await;
        let context = test.context();

        let signed_out = sign_out(&test.engine, &context, &request(), &session, None, true)
            .await
            .unwrap();

        assert_eq!(
            signed_out,
            SignedOut {
                forgot_device: false
            }
        );
    }
}
