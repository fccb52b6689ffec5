//! Access tokens presented to an API of Verity's own (the admin API): who the token
//! speaks for, if it carries the scope that API asks for.
//!
//! The token is validated exactly as for userinfo ([`validate_access_token`]: signature,
//! issuer, expiry, not revoked, its grant, session and person live). On top of that the
//! API's scope must be among the token's scopes and still allowed to the token's client —
//! a client may ask for a scope only if it was registered with it, and one deleted or
//! registered again without it speaks for no one any more. The scope is what keeps a
//! token an ordinary application obtained for a person from doing anything else in their
//! name (ADR 0008).

use serde_json::{Map, Value};
use uuid::Uuid;
use verity_projection::ClientView;

use super::access::{AccessTokenProblem, validate_access_token};
use crate::context::RequestContext;
use crate::engine::Engine;
use crate::error::EngineError;

/// The scope the admin API asks for: only tokens issued with it administer anything.
pub const ADMIN_SCOPE: &str = "verity:admin";

/// Who a token accepted by [`bearer`] speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bearer {
    /// A person, signed in through a client (the authorization code flow).
    Person {
        /// Their user id (`sub`).
        user_id: Uuid,
        /// The SSO session the token belongs to (`sid`).
        sid: String,
        /// The client the token was issued to.
        client_id: String,
    },
    /// A client acting on its own behalf (`client_credentials`).
    Client {
        /// Its client id (`sub` and `client_id`).
        client_id: String,
    },
}

/// Why a token is not accepted for an API.
#[derive(Debug, thiserror::Error)]
pub enum BearerProblem {
    /// No valid access token of this issuer (RFC 6750 `invalid_token`, 401).
    #[error("{0}")]
    Invalid(&'static str),
    /// A valid token without the API's scope (RFC 6750 `insufficient_scope`, 403).
    #[error("the token was not issued with the scope {scope}")]
    InsufficientScope {
        /// The scope the API asks for.
        scope: &'static str,
    },
    /// The engine failed.
    #[error(transparent)]
    Failed(#[from] EngineError),
}

impl From<AccessTokenProblem> for BearerProblem {
    fn from(problem: AccessTokenProblem) -> Self {
        match problem {
            AccessTokenProblem::Invalid(why) => Self::Invalid(why),
            AccessTokenProblem::Failed(error) => Self::Failed(error),
        }
    }
}

/// Who `token` speaks for, if it is a live access token of this issuer carrying `scope`
/// for a client that may still ask for it.
pub async fn bearer(
    engine: &Engine,
    context: &RequestContext,
    token: &str,
    scope: &'static str,
) -> Result<Bearer, BearerProblem> {
    let claims = validate_access_token(engine, context, token).await?;
    let client_id = claims.get("client_id").and_then(Value::as_str);
    let client = engine
        .projector
        .read(|models| client_id.and_then(|client_id| models.clients.get(client_id).cloned()));
    speaks_for(&claims, scope, client.as_ref())
}

/// The decision of [`bearer`] over a token's validated claims and its client as the read
/// models know it now (`None`: deleted or never registered).
fn speaks_for(
    claims: &Map<String, Value>,
    scope: &'static str,
    client: Option<&ClientView>,
) -> Result<Bearer, BearerProblem> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let client = client.ok_or(BearerProblem::Invalid(
        "the token's client is no longer registered",
    ))?;
    let granted = text("scope")
        .unwrap_or_default()
        .split(' ')
        .any(|granted| granted == scope);
    if !granted || !client.allows_scope(scope) {
        return Err(BearerProblem::InsufficientScope { scope });
    }
    let client_id = client.client_id.clone();
    let subject = text("sub").ok_or(BearerProblem::Invalid("the token has no subject"))?;
    match text("sid") {
        Some(sid) => {
            let user_id = Uuid::parse_str(subject)
                .map_err(|_| BearerProblem::Invalid("the token's subject is not a person"))?;
            Ok(Bearer::Person {
                user_id,
                sid: sid.to_owned(),
                client_id,
            })
        }
        None if subject == client_id => Ok(Bearer::Client { client_id }),
        None => Err(BearerProblem::Invalid(
            "the token names neither a session nor its own client",
        )),
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use serde_json::json;
    use verity_domain::client::{
        ClientSettings, ClientType, GrantType, SigningAlgorithm, TokenEndpointAuthMethod,
    };

    use super::*;

    fn client(scopes: &[&str]) -> ClientView {
        ClientView {
            client_id: "service".into(),
            client_type: ClientType::Confidential,
            settings: ClientSettings {
                name: "Service".into(),
                redirect_uris: Vec::new(),
                post_logout_redirect_uris: Vec::new(),
                grant_types: vec![GrantType::ClientCredentials],
                token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
                id_token_signed_response_alg: SigningAlgorithm::RS256,
                scopes: scopes.iter().map(|scope| (*scope).to_owned()).collect(),
                require_pkce: true,
                jwks: None,
                backchannel_logout_uri: None,
                org_id: None,
            },
            secret_hash: None,
            secret_rotated_at: None,
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
        }
    }

    fn claims(value: serde_json::Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn a_client_credentials_token_with_the_scope_speaks_for_its_client() {
        let token =
            claims(json!({"sub": "service", "client_id": "service", "scope": "verity:admin"}));
        let answer = speaks_for(&token, ADMIN_SCOPE, Some(&client(&["openid", ADMIN_SCOPE])));
        assert_eq!(
            answer.unwrap(),
            Bearer::Client {
                client_id: "service".into()
            }
        );
    }

    #[test]
    fn a_persons_token_with_the_scope_speaks_for_the_person_in_their_session() {
        let user_id = Uuid::from_u128(7);
        let token = claims(json!({
            "sub": user_id.to_string(), "sid": "s1", "client_id": "service",
            "scope": "openid verity:admin",
        }));
        let answer = speaks_for(&token, ADMIN_SCOPE, Some(&client(&["openid", ADMIN_SCOPE])));
        assert_eq!(
            answer.unwrap(),
            Bearer::Person {
                user_id,
                sid: "s1".into(),
                client_id: "service".into()
            }
        );
    }

    #[test]
    fn a_token_without_the_scope_is_refused_as_insufficient() {
        let token =
            claims(json!({"sub": "service", "client_id": "service", "scope": "openid profile"}));
        let answer = speaks_for(&token, ADMIN_SCOPE, Some(&client(&["openid", ADMIN_SCOPE])));
        assert!(matches!(
            answer,
            Err(BearerProblem::InsufficientScope { scope: ADMIN_SCOPE })
        ));
    }

    #[test]
    fn a_scope_no_longer_allowed_to_the_client_or_a_client_gone_speaks_for_no_one() {
        let token =
            claims(json!({"sub": "service", "client_id": "service", "scope": "verity:admin"}));
        assert!(matches!(
            speaks_for(&token, ADMIN_SCOPE, Some(&client(&["openid"]))),
            Err(BearerProblem::InsufficientScope { .. })
        ));
        assert!(matches!(
            speaks_for(&token, ADMIN_SCOPE, None),
            Err(BearerProblem::Invalid(_))
        ));
    }

    #[test]
    fn a_token_without_a_session_must_name_its_own_client() {
        let token =
            claims(json!({"sub": "someone-else", "client_id": "service", "scope": "verity:admin"}));
        assert!(matches!(
            speaks_for(&token, ADMIN_SCOPE, Some(&client(&[ADMIN_SCOPE]))),
            Err(BearerProblem::Invalid(_))
        ));
        let token = claims(
            json!({"sub": "not-a-uuid", "sid": "s1", "client_id": "service", "scope": "verity:admin"}),
        );
        assert!(matches!(
            speaks_for(&token, ADMIN_SCOPE, Some(&client(&[ADMIN_SCOPE]))),
            Err(BearerProblem::Invalid(_))
        ));
    }
}
