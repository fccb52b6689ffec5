//! Client authentication at the token, introspection and revocation endpoints, with the
//! method the client registered: `client_secret_basic` (RFC 6749 2.3.1),
//! `client_secret_post`, `private_key_jwt` (RFC 7523; each assertion accepted once) or
//! none for public clients. Exactly one method per request.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use verity_domain::client::TokenEndpointAuthMethod;
use verity_projection::ClientView;

use super::error::GrantError;
use crate::client_secret::verify_client_secret;
use crate::context::RequestContext;
use crate::engine::Engine;
use crate::protocol::client_auth::{JWT_BEARER, verify_client_assertion};
use crate::protocol::discovery::paths;
use crate::protocol::{OAuthError, Params};
use crate::state::kind;

/// Authenticates the client of a request from its `Authorization` header (when sent)
/// and its form parameters.
pub async fn authenticate_client(
    engine: &Engine,
    context: &RequestContext,
    authorization: Option<&str>,
    params: &Params,
) -> Result<ClientView, GrantError> {
    let basic = authorization.map(basic_credentials).transpose()?;
    let assertion = params.get("client_assertion");
    let posted_secret = params.get("client_secret");
    let methods = usize::from(basic.is_some())
        + usize::from(assertion.is_some())
        + usize::from(posted_secret.is_some());
    if methods > 1 {
        return Err(GrantError::Refused(OAuthError::invalid_request(
            "use exactly one client authentication method",
        )));
    }
    let client_id = match (&basic, params.get("client_id")) {
        (Some((id, _)), Some(posted)) if posted != id => {
            return Err(GrantError::Refused(OAuthError::invalid_request(
                "client_id differs from the Basic credentials",
            )));
        }
        (Some((id, _)), _) => id.clone(),
        (None, Some(posted)) => posted.to_owned(),
        (None, None) => return Err(invalid_client("no client authentication")),
    };
    let client = engine
        .client(&client_id)
        .ok_or_else(|| invalid_client("unknown client"))?;
    let method = client.settings.token_endpoint_auth_method;
    let authenticated = match (method, &basic, posted_secret, assertion) {
        (TokenEndpointAuthMethod::ClientSecretBasic, Some((_, secret)), None, None) => {
            verify_client_secret(&client, secret)
        }
        (TokenEndpointAuthMethod::ClientSecretPost, None, Some(secret), None) => {
            verify_client_secret(&client, secret)
        }
        (TokenEndpointAuthMethod::PrivateKeyJwt, None, None, Some(assertion)) => {
            if params.get("client_assertion_type") != Some(JWT_BEARER) {
                return Err(GrantError::Refused(OAuthError::invalid_request(
                    "client_assertion_type must be jwt-bearer",
                )));
            }
            verify_assertion(engine, context, &client, assertion).await?
        }
        (TokenEndpointAuthMethod::None, None, None, None) => client.is_public(),
        _ => {
            return Err(invalid_client(format!(
                "this client authenticates with {}",
                method.as_str()
            )));
        }
    };
    if !authenticated {
        return Err(invalid_client("client authentication failed"));
    }
    Ok(client)
}

fn invalid_client(description: impl Into<String>) -> GrantError {
    GrantError::InvalidClient(description.into())
}

/// Credentials in an `Authorization: Basic` header (RFC 6749 2.3.1: form-encoded id and
/// secret): the client id and the secret, or `invalid_client` for a malformed header.
pub fn basic_credentials(header: &str) -> Result<(String, String), GrantError> {
    let broken = || invalid_client("malformed Basic authorization header");
    let Some(encoded) = header
        .strip_prefix("Basic ")
        .or_else(|| header.strip_prefix("basic "))
    else {
        return Err(broken());
    };
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| broken())?;
    let decoded = String::from_utf8(decoded).map_err(|_| broken())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(broken)?;
    let decode = |part: &str| -> String {
        // Nothing to decode in most ids and secrets: the decoder would give them back.
        if !part.contains(['%', '+', '&']) {
            return part.to_owned();
        }
        form_urlencoded::parse(format!("x={part}").as_bytes())
            .next()
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default()
    };
    Ok((decode(id), decode(secret)))
}

/// Verifies a `private_key_jwt` assertion and claims its `jti` (single use across nodes).
async fn verify_assertion(
    engine: &Engine,
    context: &RequestContext,
    client: &ClientView,
    assertion: &str,
) -> Result<bool, GrantError> {
    let Some(jwks) = &client.settings.jwks else {
        return Ok(false);
    };
    let issuer = &engine.settings.issuer;
    let token_endpoint = format!("{issuer}{}", paths::TOKEN);
    let audiences = [token_endpoint.as_str(), issuer.as_str()];
    let now = context.now;
    let verified = verify_client_assertion(
        jwks,
        assertion,
        &client.client_id,
        &audiences,
        now.timestamp(),
    )
    .map_err(|error| invalid_client(error.error_description))?;
    let expires_at = chrono::DateTime::from_timestamp(verified.exp, 0).unwrap_or(now);
    let key = format!("{}:{}", client.client_id, verified.jti);
    if !engine
        .expiring
        .put_new(kind::ASSERTION_JTI, &key, b"1", expires_at, now)
        .await?
    {
        return Err(invalid_client("client assertion replayed"));
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header = format!("Basic {}", STANDARD.encode("my%20client:s%3Acret"));
        let (id, secret) = basic_credentials(&header).unwrap();
        assert_eq!((id.as_str(), secret.as_str()), ("my client", "s:cret"));
        for (id, secret) in [("plain-id", "pl=in_secret.~"), ("a+b", "c&d"), ("", "")] {
            let header = format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
            let decode = |part: &str| {
                form_urlencoded::parse(format!("x={part}").as_bytes())
                    .next()
                    .map(|(_, value)| value.into_owned())
                    .unwrap_or_default()
            };
            assert_eq!(
                basic_credentials(&header).unwrap(),
                (decode(id), decode(secret))
            );
        }
    }

    #[test]
    fn a_malformed_basic_header_is_invalid_client() {
        for header in ["Bearer x", "Basic !!!", "Basic bm9jb2xvbg=="] {
            assert!(matches!(
                basic_credentials(header),
                Err(GrantError::InvalidClient(_))
            ));
        }
    }
}
