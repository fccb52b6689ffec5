//! The back channel as a relying party sends it: the token endpoint (code exchange,
//! refresh, client credentials), introspection, revocation and userinfo, each with the
//! client's way of authenticating. The answers are [`Page`]s (`page.json()` for the
//! body); [`claims`] decodes a JWT's payload for a look inside.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::{Method, Request};
use sha2::{Digest, Sha256};

use crate::agent::{Agent, Transport, encode, form_body};
use crate::page::Page;

/// `client_assertion_type` of `private_key_jwt` (RFC 7523).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How a client authenticates at the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_secret_basic`: id and secret in `Authorization: Basic`.
    SecretBasic(String),
    /// `client_secret_post`: id and secret in the form.
    SecretPost(String),
    /// `private_key_jwt`: a signed assertion (RFC 7523) in the form.
    PrivateKeyJwt(String),
    /// None (a public client): only `client_id` in the form.
    None,
}

/// A client as the back channel presents it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// Its id.
    pub client_id: String,
    /// How it authenticates.
    pub auth: ClientAuth,
}

impl Client {
    /// A client authenticating with `client_secret_basic`.
    pub fn basic(client_id: &str, secret: &str) -> Self {
        Self {
            client_id: client_id.to_owned(),
            auth: ClientAuth::SecretBasic(secret.to_owned()),
        }
    }

    /// The same client authenticating another way.
    pub fn with_auth(&self, auth: ClientAuth) -> Self {
        Self {
            client_id: self.client_id.clone(),
            auth,
        }
    }
}

impl<T: Transport> Agent<T> {
    /// `POST path` with `fields` and the client's authentication, no browser cookies.
    pub async fn back_channel(&self, path: &str, client: &Client, fields: &[(&str, &str)]) -> Page {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        let mut basic = None;
        match &client.auth {
            ClientAuth::SecretBasic(secret) => {
                let pair = format!("{}:{}", encode(&client.client_id), encode(secret));
                basic = Some(format!("Basic {}", STANDARD.encode(pair)));
            }
            ClientAuth::SecretPost(secret) => {
                form.push(("client_id", &client.client_id));
                form.push(("client_secret", secret));
            }
            ClientAuth::PrivateKeyJwt(assertion) => {
                form.push(("client_id", &client.client_id));
                form.push(("client_assertion_type", JWT_BEARER));
                form.push(("client_assertion", assertion));
            }
            ClientAuth::None => form.push(("client_id", &client.client_id)),
        }
        let mut request = self.request(
            Method::POST,
            path,
            form_body(&form).into_bytes(),
            Some("application/x-www-form-urlencoded"),
        );
        strip_cookies(&mut request);
        if let Some(value) = basic.and_then(|value| value.parse().ok()) {
            request.headers_mut().insert(AUTHORIZATION, value);
        }
        self.send_without_cookies(request).await
    }

    /// Exchanges an authorization code (`grant_type=authorization_code`).
    pub async fn exchange(
        &self,
        client: &Client,
        code: &str,
        redirect_uri: &str,
        verifier: Option<&str>,
    ) -> Page {
        let mut fields = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ];
        if let Some(verifier) = verifier {
            fields.push(("code_verifier", verifier));
        }
        self.back_channel("/token", client, &fields).await
    }

    /// Uses a refresh token, optionally narrowing the scope.
    pub async fn refresh(&self, client: &Client, refresh_token: &str, scope: Option<&str>) -> Page {
        let mut fields = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        if let Some(scope) = scope {
            fields.push(("scope", scope));
        }
        self.back_channel("/token", client, &fields).await
    }

    /// Asks for a token for the client itself (`grant_type=client_credentials`).
    pub async fn client_credentials(&self, client: &Client, scope: Option<&str>) -> Page {
        let mut fields = vec![("grant_type", "client_credentials")];
        if let Some(scope) = scope {
            fields.push(("scope", scope));
        }
        self.back_channel("/token", client, &fields).await
    }

    /// Introspects a token (RFC 7662).
    pub async fn introspect(&self, client: &Client, token: &str) -> Page {
        self.back_channel("/introspect", client, &[("token", token)])
            .await
    }

    /// Revokes a token (RFC 7009).
    pub async fn revoke(&self, client: &Client, token: &str) -> Page {
        self.back_channel("/revoke", client, &[("token", token)])
            .await
    }

    /// `GET /userinfo` with the access token as a Bearer token.
    pub async fn userinfo(&self, access_token: &str) -> Page {
        self.bearer(Method::GET, "/userinfo", access_token).await
    }

    /// `POST /userinfo` with the access token as a Bearer token (and no body).
    pub async fn userinfo_by_post(&self, access_token: &str) -> Page {
        self.bearer(Method::POST, "/userinfo", access_token).await
    }

    async fn bearer(&self, method: Method, path: &str, access_token: &str) -> Page {
        let mut request = self.request(method, path, Vec::new(), None);
        strip_cookies(&mut request);
        if let Ok(value) = format!("Bearer {access_token}").parse() {
            request.headers_mut().insert(AUTHORIZATION, value);
        }
        self.send_without_cookies(request).await
    }

    /// `POST /userinfo` with the access token in the form body.
    pub async fn userinfo_in_body(&self, access_token: &str) -> Page {
        let body = form_body(&[("access_token", access_token)]);
        let mut request = self.request(
            Method::POST,
            "/userinfo",
            body.into_bytes(),
            Some("application/x-www-form-urlencoded"),
        );
        strip_cookies(&mut request);
        self.send_without_cookies(request).await
    }
}

/// The back channel is server to server: no browser cookie goes with it.
fn strip_cookies(request: &mut Request<Bytes>) {
    request.headers_mut().remove(http::header::COOKIE);
}

/// The PKCE S256 challenge of `verifier`: BASE64URL(SHA-256(verifier)).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The payload of a JWT, decoded (`Null` when it is not a JWT).
pub fn claims(jwt: &str) -> serde_json::Value {
    segment(jwt, 1)
}

/// The header of a JWT, decoded (`Null` when it is not a JWT).
pub fn jwt_header(jwt: &str) -> serde_json::Value {
    segment(jwt, 0)
}

fn segment(jwt: &str, index: usize) -> serde_json::Value {
    jwt.split('.')
        .nth(index)
        .and_then(|segment| URL_SAFE_NO_PAD.decode(segment).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_is_rfc_7636_s256() {
        // RFC 7636 appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn a_jwt_is_decoded_segment_by_segment() {
        let jwt = format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(br#"{"sub":"ada"}"#)
        );
        assert_eq!(jwt_header(&jwt)["alg"], "none");
        assert_eq!(claims(&jwt)["sub"], "ada");
        assert!(claims("not a jwt").is_null());
    }
}
