//! Verity's authentication engine. Knows nothing of HTTP frameworks.
//!
//! For now it holds [`credentials`]: temporary passwords and their Argon2id hashes, and
//! [`keys`]: the signing keys, encrypted at rest under the master key, and the key ring. The
//! OpenID Connect protocol engine (requests, clients, codes, tokens, keys, discovery)
//! joins it with the provider-core issue.

pub mod client_secret;
pub mod credentials;
pub mod keys;
pub mod limits;
pub mod mail;
pub mod mfa;
pub mod password_policy;
pub mod protocol;
pub mod pwned;
mod signers;
#[cfg(test)]
mod testing;
