//! The OpenID Connect / OAuth 2.0 protocol engine: parameters, authorization requests,
//! PKCE, token contents, discovery and errors. Pure functions over the read models; the
//! HTTP layer extracts, calls these, and maps the results.

pub mod authorize;
pub mod client_auth;
pub mod discovery;
pub mod error;
pub mod params;
pub mod pkce;
pub mod response;
pub mod tokens;

pub use error::OAuthError;
pub use params::Params;
