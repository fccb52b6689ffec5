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

mod master;
mod ring;
mod rotation;
#[cfg(test)]
mod tests;

pub use master::*;
pub use ring::*;
pub use rotation::*;
pub use verity_domain::key::SigningAlgorithm;

use std::path::PathBuf;

use chrono::Duration;

/// Length of the master key: 256 bits, for AES-256-GCM.
pub const MASTER_KEY_LEN: usize = 32;

/// Bits of the RSA keys generated for RS256.
pub const RSA_BITS: u32 = 2048;

/// Default time a retired key stays in the JWKS.
pub const DEFAULT_GRACE: Duration = Duration::hours(24);

/// Why a key operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The configured master key is not 32 bytes of base64.
    #[error("the master key must be {MASTER_KEY_LEN} bytes, base64-encoded: {0}")]
    InvalidMasterKey(String),
    /// The master key file cannot be created, read or trusted.
    #[error("master key file {path}: {reason}")]
    MasterKeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The library failed to generate or encode a key.
    #[error("cannot generate a {alg} key: {reason}")]
    Generate {
        /// The algorithm.
        alg: SigningAlgorithm,
        /// What the library said.
        reason: String,
    },
    /// The library failed to encrypt a private key.
    #[error("cannot encrypt the private key: {0}")]
    Encrypt(String),
    /// A private key cannot be decrypted: most often a node configured with another
    /// master key than the one that generated the key.
    #[error(
        "cannot decrypt the private key of key {kid}: it was encrypted under master key \
         {encrypted_under}, this node has master key {this_node} (nodes sharing a database \
         must share one master key)"
    )]
    Decrypt {
        /// The signing key.
        kid: String,
        /// The id of the master key named in the ciphertext's header.
        encrypted_under: String,
        /// The id of this node's master key.
        this_node: String,
    },
    /// A stored key cannot be used: malformed, or the private part does not match the
    /// public one.
    #[error("key {kid} is unusable: {reason}")]
    UnusableKey {
        /// The signing key.
        kid: String,
        /// What is wrong.
        reason: String,
    },
    /// No key signs with this algorithm.
    #[error("no active {0} signing key")]
    NoActiveKey(SigningAlgorithm),
    /// The library failed to sign.
    #[error("signing failed: {0}")]
    Sign(String),
    /// Not a compact JWS with a JSON header and a JSON object payload.
    #[error("malformed token: {0}")]
    MalformedToken(&'static str),
    /// `alg: none`: an unsigned token is never accepted.
    #[error("unsigned tokens (alg none) are refused")]
    AlgNone,
    /// The header names no key.
    #[error("the token header has no kid")]
    MissingKid,
    /// The header names a key that is not (or no longer) published.
    #[error("unknown key id {0:?}")]
    UnknownKid(String),
    /// The header's algorithm is not the key's.
    #[error("key {kid} signs with {expected}, the token says {found:?}")]
    AlgMismatch {
        /// The key named in the header.
        kid: String,
        /// The key's algorithm.
        expected: SigningAlgorithm,
        /// The header's `alg`.
        found: String,
    },
    /// The header carries `crit` extensions, none of which Verity understands.
    #[error("critical header extensions are not supported")]
    CriticalHeader,
    /// The signature does not verify.
    #[error("invalid signature")]
    InvalidSignature,
}
