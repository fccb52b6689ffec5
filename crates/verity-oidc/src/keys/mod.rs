//! Signing keys: the master key that encrypts their private parts at rest, key
//! generation, the [`KeyRing`] that signs and verifies JWTs, and the rotation policy.
//!
//! - Private keys are PKCS#8 DER, encrypted under the [`MasterKey`] as a compact JWE
//!   (`dir` + `A256GCM`) before they reach the log; only the public JWK is in clear.
//! - A [`KeyRing`] is built once from the keys read model: it decrypts and parses each
//!   active private key once (parsing an RSA key per signature would halve the RS256
//!   rate), and holds a verifier for every published key. [`SharedKeyRing`] rebuilds it
//!   when the keys change or a retired key's grace period ends.
//! - [`plan_rotation`] is pure: given the keys, a freshly generated key and `now`, it
//!   returns the commands that publish the new key, activate it, and retire the previous
//!   one with a grace period, so tokens signed before stay verifiable.
//!
//! All cryptography is josekit's (OpenSSL); nothing here is hand-written.

mod error;
mod master;
mod ring;
mod rotation;
#[cfg(test)]
mod tests;

pub use error::KeyError;
pub use master::*;
pub use ring::*;
pub use rotation::*;
pub use verity_domain::key::SigningAlgorithm;
