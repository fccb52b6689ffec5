//! Grants: what a client may do on someone's behalf, and the codes and tokens that carry
//! it (docs/oidc.md). Issuing and redeeming codes (a reused code revokes what it issued),
//! rotating refresh tokens (a reused one revokes its grant), narrowing scopes,
//! authenticating clients, minting tokens, and checking, introspecting and revoking them,
//! and who a token presented to Verity's own admin API speaks for ([`bearer`]).
//! Every rule here is the engine's; the token endpoint extracts, calls and answers.

mod access;
mod bearer;
mod client;
mod code;
mod error;
mod records;
mod refresh;
mod revoke;
mod tokens;

pub use access::{
    AccessTokenProblem, Introspection, introspect, revoke_token, userinfo, validate_access_token,
    verify_access_token,
};
pub use bearer::{ADMIN_SCOPE, Bearer, BearerProblem, bearer};
pub use client::{authenticate_client, basic_credentials};
pub use code::{issue_code, redeem_code};
pub use error::GrantError;
pub use refresh::{narrow_scope, refresh};
pub use revoke::revoke_grant;
pub use tokens::{ACCESS_TOKEN_TYP, TokenResponse, client_credentials, profile_claims};
