//! Verity's authentication engine: every rule of signing in and of the OpenID Connect
//! protocol, over the store ports, knowing nothing of HTTP. The doors (the HTTP crate)
//! extract a request, call a function here with the [`Engine`] and a
//! [`RequestContext`], and render the typed outcome.
//!
//! - [`authorization`]: what `/authorize` decides; [`signin`]: the login transaction, the
//!   password and the step after it; [`second_factor`]: codes and recovery codes;
//!   [`account`]: the steps a person takes on their own account, at sign-in or on
//!   Verity's page; [`account_page`]: the page's rules over them (change password,
//!   replace recovery codes, forget a device); [`sessions`]: SSO sessions.
//! - [`grants`]: codes, tokens, refresh rotation, client authentication, introspection.
//! - [`limits`]: failure counts and locks (an attempt is counted before it is checked);
//!   [`mfa`]: TOTP, recovery codes, device ids;
//!   [`credentials`]: Argon2id; [`keys`]: the master key, the key ring and rotation;
//!   [`protocol`]: pure protocol pieces (parameters, requests, PKCE, claims, discovery);
//!   [`private_files`]: directories 0700 and files 0600 for what holds secrets.

pub mod account;
pub mod account_page;
pub mod authorization;
pub mod backchannel;
pub mod client_secret;
mod context;
pub mod credentials;
mod engine;
mod error;
pub mod grants;
pub mod keys;
pub mod limits;
mod lockouts;
pub mod logout;
pub mod mail;
pub mod mfa;
pub mod password_policy;
pub mod pending_logins;
pub mod private_files;
pub mod protocol;
pub mod pwned;
pub mod random;
pub mod second_factor;
pub mod sessions;
mod signers;
pub mod signin;
pub mod state;
#[cfg(test)]
mod test_engine;
#[cfg(test)]
mod testing;
pub mod timeouts;
mod verifiers;

pub use context::RequestContext;
pub use engine::{Engine, READ_YOUR_WRITES, Settings};
pub use error::EngineError;
