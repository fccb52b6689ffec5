//! The discovery documents: OpenID Connect Discovery 1.0 and RFC 8414.

use serde_json::{Value, json};

/// Endpoint paths, relative to the issuer.
pub mod paths {
    /// Authorization endpoint.
    pub const AUTHORIZE: &str = "/authorize";
    /// Token endpoint.
    pub const TOKEN: &str = "/token";
    /// UserInfo endpoint.
    pub const USERINFO: &str = "/userinfo";
    /// JWK Set.
    pub const JWKS: &str = "/jwks";
    /// Token introspection (RFC 7662).
    pub const INTROSPECT: &str = "/introspect";
    /// Token revocation (RFC 7009).
    pub const REVOKE: &str = "/revoke";
    /// RP-initiated logout.
    pub const LOGOUT: &str = "/logout";
}

/// Scopes Verity knows.
pub const SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// Claims Verity can release.
pub const CLAIMS: &[&str] = &[
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "sid",
    "at_hash",
    "name",
    "updated_at",
    "email",
    "email_verified",
    "org_id",
    "org_name",
];

/// Client authentication methods at the token, introspection and revocation endpoints.
pub const AUTH_METHODS: &[&str] = &[
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "none",
];

/// Client authentication methods at the introspection endpoint: confidential clients
/// only (a public client cannot prove who it is).
pub const INTROSPECTION_AUTH_METHODS: &[&str] = &[
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
];

/// Signing algorithms of ID tokens (and access tokens).
pub const SIGNING_ALGS: &[&str] = &["RS256", "ES256", "EdDSA"];

/// The OpenID Provider configuration for `issuer` (no trailing slash).
pub fn openid_configuration(issuer: &str) -> Value {
    let mut document = oauth_authorization_server(issuer);
    if let Value::Object(map) = &mut document {
        map.insert(
            "userinfo_endpoint".into(),
            json!(format!("{issuer}{}", paths::USERINFO)),
        );
        map.insert(
            "end_session_endpoint".into(),
            json!(format!("{issuer}{}", paths::LOGOUT)),
        );
        map.insert("subject_types_supported".into(), json!(["public"]));
        map.insert(
            "id_token_signing_alg_values_supported".into(),
            json!(SIGNING_ALGS),
        );
        map.insert(
            "userinfo_signing_alg_values_supported".into(),
            json!(["none"]),
        );
        map.insert("claims_supported".into(), json!(CLAIMS));
        map.insert("claims_parameter_supported".into(), json!(false));
        map.insert("request_parameter_supported".into(), json!(false));
        map.insert("request_uri_parameter_supported".into(), json!(false));
        map.insert("frontchannel_logout_supported".into(), json!(false));
        map.insert("backchannel_logout_supported".into(), json!(true));
        map.insert("backchannel_logout_session_supported".into(), json!(true));
        map.insert(
            "acr_values_supported".into(),
            json!([crate::mfa::ACR_MFA, crate::mfa::ACR_MFA_REMEMBERED]),
        );
    }
    document
}

/// The OAuth 2.0 Authorization Server Metadata (RFC 8414) for `issuer`.
pub fn oauth_authorization_server(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}{}", paths::AUTHORIZE),
        "token_endpoint": format!("{issuer}{}", paths::TOKEN),
        "jwks_uri": format!("{issuer}{}", paths::JWKS),
        "introspection_endpoint": format!("{issuer}{}", paths::INTROSPECT),
        "revocation_endpoint": format!("{issuer}{}", paths::REVOKE),
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": super::client_auth::ASSERTION_ALGS,
        "introspection_endpoint_auth_methods_supported": INTROSPECTION_AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
    })
}
