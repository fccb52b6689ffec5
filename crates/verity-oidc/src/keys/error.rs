//! Why a key operation failed.

use std::path::PathBuf;

use verity_domain::key::SigningAlgorithm;

/// Longest key id quoted back in an error (key ids in tokens are attacker-chosen).
const MAX_QUOTED_KID: usize = 64;

/// A key id as an error may quote it: cut to 64 characters.
pub(super) fn quoted(kid: &str) -> String {
    kid.chars().take(MAX_QUOTED_KID).collect()
}

/// Why a key operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The configured master key is not 32 bytes of base64.
    #[error("invalid master key: {0}")]
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
    /// The header's `typ` is not the one this kind of token must carry (e.g. an ID token
    /// presented as an access token, RFC 9068 4).
    #[error("the token's type is {0}")]
    WrongType(String),
}
