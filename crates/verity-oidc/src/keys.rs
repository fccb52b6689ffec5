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

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use josekit::jwe::{self, JweHeader};
use josekit::jwk::{Jwk, KeyPair};
use josekit::jws::{self, JwsHeader, JwsSigner, JwsVerifier};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
pub use verity_domain::key::SigningAlgorithm;
use verity_domain::key::{SigningKeyCommand, stream};
use verity_projection::{KeyState, KeyView, Keys};

use crate::signers::{Ed25519Signer, Es256Signer};

/// Length of the master key: 256 bits, for AES-256-GCM.
pub const MASTER_KEY_LEN: usize = 32;

/// Bits of the RSA keys generated for RS256.
pub const RSA_BITS: u32 = 2048;

/// Default time a retired key stays in the JWKS.
pub const DEFAULT_GRACE: Duration = Duration::hours(24);

/// The JWE `enc` of encrypted private keys.
const CONTENT_ENCRYPTION: &str = "A256GCM";
/// JWE header member naming the signing key a ciphertext belongs to. The header is
/// authenticated, so a ciphertext moved to another key's event fails to decrypt.
const SIGNING_KID_HEADER: &str = "verity_kid";
/// Domain separation of the master key's id.
const MASTER_KEY_ID_TAG: &[u8] = b"verity.master-key.id.v1\0";
/// Public members copied into a JWKS entry; nothing else can leak through.
const PUBLIC_JWK_MEMBERS: [&str; 9] = ["kty", "use", "alg", "kid", "crv", "x", "y", "n", "e"];
/// Longest key id quoted back in an error (key ids in tokens are attacker-chosen).
const MAX_QUOTED_KID: usize = 64;

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

/// The key that encrypts signing keys' private parts at rest (AES-256-GCM).
///
/// `Debug` shows only its id, a fingerprint that reveals nothing of the key and lets
/// operators see whether two nodes hold the same one.
#[derive(Clone)]
pub struct MasterKey {
    bytes: [u8; MASTER_KEY_LEN],
    id: String,
}

/// Whether [`MasterKey::load_or_create`] made a new file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MasterKeyFile {
    /// The file did not exist; a new key was written to it.
    Created,
    /// The key was read from the existing file.
    Existing,
}

impl MasterKey {
    /// A fresh random key (OpenSSL's CSPRNG).
    pub fn generate() -> Self {
        let random = josekit::util::random_bytes(MASTER_KEY_LEN);
        let mut bytes = [0; MASTER_KEY_LEN];
        for (byte, random) in bytes.iter_mut().zip(random) {
            *byte = random;
        }
        Self::from_bytes(bytes)
    }

    fn from_bytes(bytes: [u8; MASTER_KEY_LEN]) -> Self {
        let digest: [u8; 32] = Sha256::new()
            .chain_update(MASTER_KEY_ID_TAG)
            .chain_update(bytes)
            .finalize()
            .into();
        let id = digest
            .iter()
            .take(8)
            .map(|byte| format!("{byte:02x}"))
            .collect();
        Self { bytes, id }
    }

    /// Reads a key from base64 (standard or URL-safe alphabet, padded or not, surrounding
    /// whitespace ignored), e.g. the output of `openssl rand -base64 32`.
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let text = text.trim().trim_end_matches('=');
        let decoded = if text.contains(['-', '_']) {
            URL_SAFE_NO_PAD.decode(text)
        } else {
            STANDARD_NO_PAD.decode(text)
        }
        .map_err(|error| KeyError::InvalidMasterKey(error.to_string()))?;
        let bytes: [u8; MASTER_KEY_LEN] = decoded.try_into().map_err(|decoded: Vec<u8>| {
            KeyError::InvalidMasterKey(format!("got {} bytes", decoded.len()))
        })?;
        Ok(Self::from_bytes(bytes))
    }

    /// The key in standard base64, as [`MasterKey::from_base64`] reads it.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.bytes)
    }

    /// A fingerprint of the key (16 hex digits), safe to log and to compare across nodes.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Reads the key from `path`, or creates the file with a fresh key when it does not
    /// exist. The file is created with mode 0600 (atomically: several processes starting
    /// at once end up with one key); an existing file readable or writable by group or
    /// others is refused rather than used.
    pub fn load_or_create(path: &Path) -> Result<(Self, MasterKeyFile), KeyError> {
        let file_error = |reason: String| KeyError::MasterKeyFile {
            path: path.to_owned(),
            reason,
        };
        match std::fs::symlink_metadata(path) {
            Ok(_) => return Ok((Self::load(path)?, MasterKeyFile::Existing)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(file_error(error.to_string())),
        }
        let key = Self::generate();
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|error| file_error(error.to_string()))?;
        }
        // Written in full to a private temporary file, then linked into place: the link
        // fails if another process created the file meanwhile, and nobody ever reads a
        // half-written key.
        let temporary = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
        let written = write_private_file(&temporary, format!("{}\n", key.to_base64()).as_bytes())
            .and_then(|()| std::fs::hard_link(&temporary, path));
        let _ = std::fs::remove_file(&temporary);
        match written {
            Ok(()) => {
                sync_parent(path);
                Ok((key, MasterKeyFile::Created))
            }
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                Ok((Self::load(path)?, MasterKeyFile::Existing))
            }
            Err(error) => Err(file_error(error.to_string())),
        }
    }

    /// Reads an existing key file, refusing one that others may read.
    fn load(path: &Path) -> Result<Self, KeyError> {
        let file_error = |reason: String| KeyError::MasterKeyFile {
            path: path.to_owned(),
            reason,
        };
        let metadata = std::fs::metadata(path).map_err(|error| file_error(error.to_string()))?;
        if !metadata.is_file() {
            return Err(file_error("not a regular file".into()));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(file_error(format!(
                    "mode {mode:04o} lets group or others read it; refusing to use it \
                     (restrict it with `chmod 600 {}`, and consider the key exposed)",
                    path.display()
                )));
            }
        }
        let text = std::fs::read_to_string(path).map_err(|error| file_error(error.to_string()))?;
        Self::from_base64(&text).map_err(|error| file_error(error.to_string()))
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("MasterKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Creates `path` (which must not exist) with mode 0600 and writes `contents` durably.
fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Makes a new directory entry durable (best effort: not every platform can).
fn sync_parent(path: &Path) {
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        && let Ok(directory) = std::fs::File::open(parent)
    {
        let _ = directory.sync_all();
    }
}

/// Why [`MasterKey::open`] refused a ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OpenError {
    /// Not a JWE this master key made, or tampered with. Carries the master key id the
    /// ciphertext's header names, to tell operators which key it needs.
    Undecryptable {
        /// The master key id in the header, or `(unreadable)`.
        encrypted_under: String,
    },
    /// Decrypted, but made for something else (its binding differs) or with another
    /// content encryption.
    WrongBinding,
}

impl MasterKey {
    /// Encrypts `plaintext` under the master key: a compact JWE, `dir` + `A256GCM`, whose
    /// authenticated header names the master key (`kid`) and binds the ciphertext to what
    /// it belongs to (`binding_member: binding_value`, e.g. the signing key's kid or the
    /// user's id), so it cannot be moved to another key's or person's event.
    pub(crate) fn seal(
        &self,
        binding_member: &str,
        binding_value: &str,
        plaintext: &[u8],
    ) -> Result<String, josekit::JoseError> {
        let mut header = JweHeader::new();
        header.set_content_encryption(CONTENT_ENCRYPTION);
        header.set_key_id(self.id());
        header.set_claim(
            binding_member,
            Some(Value::String(binding_value.to_owned())),
        )?;
        let encrypter = jwe::Dir.encrypter_from_bytes(self.bytes)?;
        jwe::serialize_compact(plaintext, &header, &encrypter)
    }

    /// Decrypts what [`MasterKey::seal`] made with the same binding. Fails cleanly (never
    /// panics) with another master key, a tampered ciphertext or another binding.
    pub(crate) fn open(
        &self,
        binding_member: &str,
        binding_value: &str,
        encrypted: &str,
    ) -> Result<Vec<u8>, OpenError> {
        let undecryptable = || OpenError::Undecryptable {
            encrypted_under: encrypted_under(encrypted).unwrap_or_else(|| "(unreadable)".into()),
        };
        let decrypter = jwe::Dir
            .decrypter_from_bytes(self.bytes)
            .map_err(|_| undecryptable())?;
        let (plaintext, header) =
            jwe::deserialize_compact(encrypted, &decrypter).map_err(|_| undecryptable())?;
        let bound_to = header.claim(binding_member).and_then(Value::as_str);
        if header.content_encryption() != Some(CONTENT_ENCRYPTION)
            || bound_to != Some(binding_value)
        {
            return Err(OpenError::WrongBinding);
        }
        Ok(plaintext)
    }
}

/// Encrypts a private key (PKCS#8 DER or a private JWK's JSON) under the master key:
/// a compact JWE, `dir` + `A256GCM`, whose authenticated header names the master key
/// (`kid`) and the signing key it belongs to.
pub fn encrypt_private_key(
    master: &MasterKey,
    kid: &str,
    private_key: &[u8],
) -> Result<String, KeyError> {
    master
        .seal(SIGNING_KID_HEADER, kid, private_key)
        .map_err(|error| KeyError::Encrypt(error.to_string()))
}

/// Decrypts what [`encrypt_private_key`] made for `kid`. Fails cleanly (never panics)
/// with another master key, a tampered ciphertext, or a ciphertext of another key.
pub fn decrypt_private_key(
    master: &MasterKey,
    kid: &str,
    encrypted: &str,
) -> Result<Vec<u8>, KeyError> {
    master
        .open(SIGNING_KID_HEADER, kid, encrypted)
        .map_err(|error| match error {
            OpenError::Undecryptable { encrypted_under } => KeyError::Decrypt {
                kid: kid.to_owned(),
                encrypted_under,
                this_node: master.id().to_owned(),
            },
            OpenError::WrongBinding => KeyError::UnusableKey {
                kid: kid.to_owned(),
                reason: "the encrypted private key belongs to another key".into(),
            },
        })
}

/// The master key id named in a JWE's (unauthenticated, for this purpose) header.
fn encrypted_under(encrypted: &str) -> Option<String> {
    let header = encrypted.split('.').next()?;
    let header = URL_SAFE_NO_PAD.decode(header).ok()?;
    let header: Map<String, Value> = serde_json::from_slice(&header).ok()?;
    let kid = header.get("kid")?.as_str()?;
    Some(kid.chars().take(MAX_QUOTED_KID).collect())
}

/// A key pair just generated: what `key.generated` records.
#[derive(Clone, PartialEq, Eq)]
pub struct GeneratedKey {
    /// The key id.
    pub kid: String,
    /// What it signs with.
    pub alg: SigningAlgorithm,
    /// The public key: kid, alg, use = sig, kty and the public parameters.
    pub public_jwk: Value,
    /// The PKCS#8 private key, encrypted under the master key (compact JWE).
    pub encrypted_private_key: String,
}

impl GeneratedKey {
    /// The command that records it.
    pub fn generate_command(&self) -> SigningKeyCommand {
        SigningKeyCommand::Generate {
            kid: self.kid.clone(),
            alg: self.alg,
            public_jwk: self.public_jwk.clone(),
            encrypted_private_key: self.encrypted_private_key.clone(),
        }
    }
}

impl fmt::Debug for GeneratedKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("GeneratedKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("public_jwk", &self.public_jwk)
            .finish_non_exhaustive()
    }
}

/// A fresh key id: 32 random hex digits.
pub fn new_kid() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Generates a key pair for `alg` (RSA 2048, P-256 or Ed25519) and encrypts its private
/// part under `master`.
pub fn generate(
    alg: SigningAlgorithm,
    kid: &str,
    master: &MasterKey,
) -> Result<GeneratedKey, KeyError> {
    let generate_error = |error: josekit::JoseError| KeyError::Generate {
        alg,
        reason: error.to_string(),
    };
    let (private_der, public) = match alg {
        SigningAlgorithm::RS256 => {
            let pair = jws::RS256
                .generate_key_pair(RSA_BITS)
                .map_err(generate_error)?;
            (pair.to_der_private_key(), pair.to_jwk_public_key())
        }
        SigningAlgorithm::ES256 => {
            let pair = jws::ES256.generate_key_pair().map_err(generate_error)?;
            (pair.to_der_private_key(), pair.to_jwk_public_key())
        }
        SigningAlgorithm::EdDSA => {
            let pair = jws::EdDSA
                .generate_key_pair(josekit::jwk::Ed25519)
                .map_err(generate_error)?;
            (pair.to_der_private_key(), pair.to_jwk_public_key())
        }
    };
    Ok(GeneratedKey {
        kid: kid.to_owned(),
        alg,
        public_jwk: public_jwk(public.as_ref(), kid, alg),
        encrypted_private_key: encrypt_private_key(master, kid, &private_der)?,
    })
}

/// A JWKS entry: kty, use, alg, kid, then the public parameters of `members`; private
/// members are never copied.
fn public_jwk(members: &Map<String, Value>, kid: &str, alg: SigningAlgorithm) -> Value {
    let mut jwk = Map::new();
    jwk.insert(
        "kty".into(),
        members.get("kty").cloned().unwrap_or_default(),
    );
    jwk.insert("use".into(), Value::String("sig".into()));
    jwk.insert("alg".into(), Value::String(alg.as_str().into()));
    jwk.insert("kid".into(), Value::String(kid.into()));
    for member in ["crv", "x", "y", "n", "e"] {
        if let Some(value) = members.get(member) {
            jwk.insert(member.into(), value.clone());
        }
    }
    Value::Object(jwk)
}

/// A verifier and the JWKS entry of each key.
fn verifiers(keys: &[&KeyView]) -> Result<(HashMap<String, PublishedKey>, Vec<Value>), KeyError> {
    let mut verifiers = HashMap::with_capacity(keys.len());
    let mut entries = Vec::with_capacity(keys.len());
    for key in keys {
        let jwk = published_jwk(key);
        verifiers.insert(
            key.kid.clone(),
            PublishedKey {
                alg: key.alg,
                verifier: build_verifier(key, &jwk)?,
            },
        );
        entries.push(jwk);
    }
    Ok((verifiers, entries))
}

/// The JWKS entry of a stored key, keeping only the public members.
fn published_jwk(key: &KeyView) -> Value {
    let members = key
        .public_jwk
        .as_object()
        .map(|members| {
            PUBLIC_JWK_MEMBERS
                .iter()
                .filter_map(|member| {
                    members
                        .get(*member)
                        .map(|value| ((*member).to_owned(), value.clone()))
                })
                .collect::<Map<String, Value>>()
        })
        .unwrap_or_default();
    Value::Object(members)
}

/// The key that signs with one algorithm.
struct ActiveSigner {
    kid: String,
    signer: Box<dyn JwsSigner>,
}

/// A published key, able to verify.
struct PublishedKey {
    alg: SigningAlgorithm,
    verifier: Box<dyn JwsVerifier>,
}

/// The keys as the protocol uses them: a signer per algorithm (built once), a verifier
/// per published key, and the JWKS.
///
/// Built by [`KeyRing::from_keys`] at a time `now`; it is stale once the keys change
/// ([`Keys::revision`]) or a retired key's grace period ends ([`KeyRing::expires_at`]).
/// [`SharedKeyRing`] takes care of both.
pub struct KeyRing {
    signers: BTreeMap<SigningAlgorithm, ActiveSigner>,
    verifiers: HashMap<String, PublishedKey>,
    jwks: Value,
    jwks_json: String,
    revision: Option<u64>,
    expires_at: Option<DateTime<Utc>>,
}

impl KeyRing {
    /// A ring with no key: signs nothing, verifies nothing, publishes an empty JWKS.
    pub fn empty() -> Self {
        let jwks = serde_json::json!({ "keys": [] });
        Self {
            signers: BTreeMap::new(),
            verifiers: HashMap::new(),
            jwks_json: jwks.to_string(),
            jwks,
            revision: None,
            expires_at: None,
        }
    }

    /// Builds the ring from the keys read model: decrypts and parses the active key of
    /// each algorithm once, and makes a verifier for every key published at `now`
    /// (generated, active, or retired within its grace period).
    pub fn from_keys(
        keys: &Keys,
        master: &MasterKey,
        now: DateTime<Utc>,
    ) -> Result<Self, KeyError> {
        let mut signers = BTreeMap::new();
        for alg in SigningAlgorithm::ALL {
            if let Some(key) = keys.active(alg) {
                signers.insert(alg, build_signer(key, master)?);
            }
        }
        let published = keys.published_at(now);
        let (verifiers, entries) = verifiers(&published)?;
        let expires_at = published
            .iter()
            .filter_map(|key| match key.state {
                KeyState::Retired { keep_until, .. } => Some(keep_until),
                _ => None,
            })
            .min();
        let jwks = serde_json::json!({ "keys": entries });
        Ok(Self {
            signers,
            verifiers,
            jwks_json: jwks.to_string(),
            jwks,
            revision: Some(keys.revision()),
            expires_at,
        })
    }

    /// A ring that signs nothing and verifies with every key the log ever recorded, long
    /// retired ones included: for checking what was signed in the past (an audit
    /// checkpoint), never for tokens, whose keys must still be published.
    pub fn verifying_every_key(keys: &Keys) -> Result<Self, KeyError> {
        let (verifiers, entries) = verifiers(&keys.list())?;
        let jwks = serde_json::json!({ "keys": entries });
        Ok(Self {
            signers: BTreeMap::new(),
            verifiers,
            jwks_json: jwks.to_string(),
            jwks,
            revision: Some(keys.revision()),
            expires_at: None,
        })
    }

    /// Signs `claims` as a compact JWS with the active key of `alg`: the header carries
    /// `alg`, `kid` and, when given, `typ` (e.g. `at+jwt` for RFC 9068 access tokens).
    pub fn sign(
        &self,
        alg: SigningAlgorithm,
        header_typ: Option<&str>,
        claims: &Map<String, Value>,
    ) -> Result<String, KeyError> {
        let active = self.signers.get(&alg).ok_or(KeyError::NoActiveKey(alg))?;
        let mut header = JwsHeader::new();
        if let Some(typ) = header_typ {
            header.set_token_type(typ);
        }
        let payload =
            serde_json::to_vec(claims).map_err(|error| KeyError::Sign(error.to_string()))?;
        jws::serialize_compact(&payload, &header, active.signer.as_ref())
            .map_err(|error| KeyError::Sign(error.to_string()))
    }

    /// Verifies a compact JWS signed by a published key and returns its claims. The key
    /// is chosen by the header's `kid`; `alg` must be the key's. This checks the
    /// signature only: expiry, issuer and audience are the caller's to check.
    pub fn verify(&self, token: &str) -> Result<Map<String, Value>, KeyError> {
        let header = decode_header(token)?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(KeyError::MalformedToken("the header has no alg"))?;
        if alg.eq_ignore_ascii_case("none") {
            return Err(KeyError::AlgNone);
        }
        if header.contains_key("crit") {
            return Err(KeyError::CriticalHeader);
        }
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .ok_or(KeyError::MissingKid)?;
        let key = self
            .verifiers
            .get(kid)
            .ok_or_else(|| KeyError::UnknownKid(kid.chars().take(MAX_QUOTED_KID).collect()))?;
        if alg != key.alg.as_str() {
            return Err(KeyError::AlgMismatch {
                kid: kid.to_owned(),
                expected: key.alg,
                found: alg.chars().take(MAX_QUOTED_KID).collect(),
            });
        }
        let (payload, _) = jws::deserialize_compact(token, key.verifier.as_ref())
            .map_err(|_| KeyError::InvalidSignature)?;
        serde_json::from_slice(&payload)
            .map_err(|_| KeyError::MalformedToken("the payload is not a JSON object"))
    }

    /// The JWKS: `{"keys": [...]}` with the public members only (kid, alg, use, kty and
    /// the public parameters) of every published key.
    pub fn jwks(&self) -> Value {
        self.jwks.clone()
    }

    /// The JWKS as JSON text, serialised once when the ring was built.
    pub fn jwks_json(&self) -> &str {
        &self.jwks_json
    }

    /// The key id that signs with `alg`, if any.
    pub fn active_kid(&self, alg: SigningAlgorithm) -> Option<&str> {
        self.signers.get(&alg).map(|active| active.kid.as_str())
    }

    /// When the ring goes stale without any event: the end of the earliest grace period
    /// among the published retired keys.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.expires_at
    }

    /// Whether the ring still reflects `keys` at `now`.
    pub fn is_current(&self, keys: &Keys, now: DateTime<Utc>) -> bool {
        self.revision == Some(keys.revision())
            && self.expires_at.is_none_or(|expires_at| now < expires_at)
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let signing: BTreeMap<&str, &str> = self
            .signers
            .iter()
            .map(|(alg, active)| (alg.as_str(), active.kid.as_str()))
            .collect();
        let mut published: Vec<&str> = self.verifiers.keys().map(String::as_str).collect();
        published.sort_unstable();
        formatter
            .debug_struct("KeyRing")
            .field("signing", &signing)
            .field("published", &published)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The JSON header of a compact JWS, NOT verified: for choosing a key (by `kid`) or
/// reporting, never for trusting what it says.
pub fn decode_header(token: &str) -> Result<Map<String, Value>, KeyError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(KeyError::MalformedToken("not three dot-separated parts"));
    };
    let header = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| KeyError::MalformedToken("the header is not base64url"))?;
    serde_json::from_slice(&header)
        .map_err(|_| KeyError::MalformedToken("the header is not a JSON object"))
}

/// Decrypts and parses the private key once, after checking it is the private half of
/// the published key.
fn build_signer(key: &KeyView, master: &MasterKey) -> Result<ActiveSigner, KeyError> {
    let unusable = |reason: String| KeyError::UnusableKey {
        kid: key.kid.clone(),
        reason,
    };
    let der = decrypt_private_key(master, &key.kid, &key.encrypted_private_key)?;
    let parse_error = |error: josekit::JoseError| unusable(error.to_string());
    let (derived_public, signer): (Jwk, Box<dyn JwsSigner>) = match key.alg {
        SigningAlgorithm::RS256 => {
            let pair = jws::RS256.key_pair_from_der(&der).map_err(parse_error)?;
            let mut signer = jws::RS256.signer_from_der(&der).map_err(parse_error)?;
            signer.set_key_id(&key.kid);
            (pair.to_jwk_public_key(), Box::new(signer))
        }
        SigningAlgorithm::ES256 => {
            let pair = jws::ES256.key_pair_from_der(&der).map_err(parse_error)?;
            let signer = Es256Signer::from_der(&der, &key.kid)
                .map_err(|error| unusable(error.to_string()))?;
            (pair.to_jwk_public_key(), Box::new(signer))
        }
        SigningAlgorithm::EdDSA => {
            let pair = jws::EdDSA.key_pair_from_der(&der).map_err(parse_error)?;
            let public = pair.to_jwk_public_key();
            let signer = Ed25519Signer::from_der(&der, &key.kid)
                .map_err(|error| unusable(error.to_string()))?;
            // Another library read the same key: check it found the published one too.
            let x = public.parameter("x").and_then(Value::as_str);
            if x != Some(URL_SAFE_NO_PAD.encode(signer.public_key()).as_str()) {
                return Err(unusable("the Ed25519 public key does not match".into()));
            }
            (public, Box::new(signer))
        }
    };
    let matches = ["kty", "crv", "x", "y", "n", "e"]
        .iter()
        .all(|member| derived_public.parameter(member) == key.public_jwk.get(*member));
    if !matches {
        return Err(unusable(
            "the private key is not the one of the published public key".into(),
        ));
    }
    Ok(ActiveSigner {
        kid: key.kid.clone(),
        signer,
    })
}

/// A verifier for a published key, from its public JWK.
fn build_verifier(key: &KeyView, jwk: &Value) -> Result<Box<dyn JwsVerifier>, KeyError> {
    let unusable = |error: josekit::JoseError| KeyError::UnusableKey {
        kid: key.kid.clone(),
        reason: error.to_string(),
    };
    let members = jwk.as_object().cloned().unwrap_or_default();
    let jwk = Jwk::from_map(members).map_err(unusable)?;
    Ok(match key.alg {
        SigningAlgorithm::RS256 => Box::new(jws::RS256.verifier_from_jwk(&jwk).map_err(unusable)?),
        SigningAlgorithm::ES256 => Box::new(jws::ES256.verifier_from_jwk(&jwk).map_err(unusable)?),
        SigningAlgorithm::EdDSA => Box::new(jws::EdDSA.verifier_from_jwk(&jwk).map_err(unusable)?),
    })
}

/// A [`KeyRing`] shared by request handlers, rebuilt when it goes stale.
///
/// `current` is cheap when nothing changed (a read lock and an `Arc` clone); after a key
/// event or the end of a grace period, the first caller rebuilds the ring.
pub struct SharedKeyRing {
    master: MasterKey,
    ring: RwLock<Arc<KeyRing>>,
}

impl SharedKeyRing {
    /// Starts with an empty ring; the first call to [`SharedKeyRing::current`] builds it.
    pub fn new(master: MasterKey) -> Self {
        Self {
            master,
            ring: RwLock::new(Arc::new(KeyRing::empty())),
        }
    }

    /// The ring for `keys` at `now`, rebuilt first if it is stale.
    pub fn current(&self, keys: &Keys, now: DateTime<Utc>) -> Result<Arc<KeyRing>, KeyError> {
        {
            let ring = self.ring.read().unwrap_or_else(PoisonError::into_inner);
            if ring.is_current(keys, now) {
                return Ok(ring.clone());
            }
        }
        let rebuilt = Arc::new(KeyRing::from_keys(keys, &self.master, now)?);
        let mut ring = self.ring.write().unwrap_or_else(PoisonError::into_inner);
        *ring = rebuilt.clone();
        Ok(rebuilt)
    }

    /// The master key the ring decrypts with.
    pub fn master(&self) -> &MasterKey {
        &self.master
    }
}

impl fmt::Debug for SharedKeyRing {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("SharedKeyRing")
            .field("master", &self.master)
            .finish_non_exhaustive()
    }
}

/// One command of a plan: what to ask of which key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStep {
    /// The key.
    pub kid: String,
    /// What to ask of it.
    pub command: SigningKeyCommand,
}

impl KeyStep {
    /// The key's stream.
    pub fn stream(&self) -> String {
        stream(&self.kid)
    }
}

/// The rotation policy, pure: the commands that rotate `new_key.alg` to `new_key`, to be
/// executed in order.
///
/// 1. Generate: the new key is published in the JWKS before it signs anything.
/// 2. Activate: it signs from now on.
/// 3. Retire every previously active key of the algorithm, kept in the JWKS until
///    `now + grace`, so that tokens it signed stay verifiable until then.
///
/// With no active key (first start), the plan is generate and activate.
pub fn plan_rotation(
    keys: &Keys,
    new_key: &GeneratedKey,
    now: DateTime<Utc>,
    grace: Duration,
) -> Vec<KeyStep> {
    let mut steps = vec![
        KeyStep {
            kid: new_key.kid.clone(),
            command: new_key.generate_command(),
        },
        KeyStep {
            kid: new_key.kid.clone(),
            command: SigningKeyCommand::Activate,
        },
    ];
    let keep_until = now + grace.max(Duration::zero());
    steps.extend(
        keys.list()
            .into_iter()
            .filter(|key| key.alg == new_key.alg && key.kid != new_key.kid)
            .filter(|key| matches!(key.state, KeyState::Active { .. }))
            .map(|key| KeyStep {
                kid: key.kid.clone(),
                command: SigningKeyCommand::Retire { keep_until },
            }),
    );
    steps
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_json::json;
    use verity_domain::key::{KeyGenerated, SigningKey, SigningKeyEvent};
    use verity_domain::{Actor, Aggregate, Context, DomainEvent, RecordedEvent};
    use verity_projection::Projection;

    use super::*;

    fn at(hour: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-28T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::hours(hour)
    }

    /// Keys as the binary builds them: plans executed through the aggregate's rules,
    /// their events folded into the read model.
    #[derive(Default)]
    struct Log {
        aggregates: HashMap<String, SigningKey>,
        keys: Keys,
        position: u64,
    }

    impl Log {
        fn execute(&mut self, steps: &[KeyStep], now: DateTime<Utc>) {
            let context = Context {
                now,
                actor: Actor::System,
                request_id: None,
                client_ip: None,
            };
            for step in steps {
                let aggregate = self.aggregates.remove(&step.kid).unwrap_or_default();
                let events = aggregate.decide(&step.command, &context).unwrap();
                let mut aggregate = aggregate;
                for event in &events {
                    aggregate = aggregate.evolve(event);
                    self.position += 1;
                    self.keys
                        .apply(&RecordedEvent {
                            position: self.position,
                            stream: step.stream(),
                            version: 1,
                            event_type: event.event_type().into(),
                            schema: event.schema(),
                            data: event.to_data(),
                            metadata: "{}".into(),
                            recorded_at: now,
                            hash: String::new(),
                        })
                        .unwrap();
                }
                self.aggregates.insert(step.kid.clone(), aggregate);
            }
        }

        /// Rotates `alg` to a fresh key; returns its kid.
        fn rotate(
            &mut self,
            alg: SigningAlgorithm,
            master: &MasterKey,
            now: DateTime<Utc>,
        ) -> String {
            let key = generate(alg, &new_kid(), master).unwrap();
            let steps = plan_rotation(&self.keys, &key, now, DEFAULT_GRACE);
            self.execute(&steps, now);
            key.kid
        }
    }

    /// A log with one active key per algorithm.
    fn bootstrapped(master: &MasterKey) -> Log {
        let mut log = Log::default();
        for alg in SigningAlgorithm::ALL {
            log.rotate(alg, master, at(0));
        }
        log
    }

    fn claims() -> Map<String, Value> {
        let Value::Object(claims) = json!({
            "iss": "https://id.example.org", "sub": "ada", "aud": "app", "exp": 1_900_000_000,
            "scope": "openid email",
        }) else {
            unreachable!()
        };
        claims
    }

    fn header_of(token: &str) -> Map<String, Value> {
        decode_header(token).unwrap()
    }

    /// Replaces the header of a token, keeping payload and signature.
    fn with_header(token: &str, header: &Value) -> String {
        let mut parts = token.splitn(2, '.');
        let _ = parts.next();
        let rest = parts.next().unwrap();
        format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()))
    }

    #[test]
    fn each_algorithm_signs_and_verifies_with_kid_and_typ_in_the_header() {
        let master = MasterKey::generate();
        let log = bootstrapped(&master);
        let ring = KeyRing::from_keys(&log.keys, &master, at(0)).unwrap();
        for alg in SigningAlgorithm::ALL {
            let token = ring.sign(alg, Some("at+jwt"), &claims()).unwrap();
            let header = header_of(&token);
            assert_eq!(header["alg"], alg.as_str());
            assert_eq!(header["typ"], "at+jwt");
            assert_eq!(header["kid"].as_str(), ring.active_kid(alg));
            assert_eq!(ring.verify(&token).unwrap(), claims());

            // JWS signatures, not DER: what relying parties' libraries expect (RFC 7518).
            let signature = URL_SAFE_NO_PAD
                .decode(token.rsplit('.').next().unwrap())
                .unwrap();
            let expected_len = match alg {
                SigningAlgorithm::RS256 => 256,
                SigningAlgorithm::ES256 | SigningAlgorithm::EdDSA => 64,
            };
            assert_eq!(signature.len(), expected_len, "{alg}");

            let untyped = ring.sign(alg, None, &claims()).unwrap();
            assert!(!header_of(&untyped).contains_key("typ"));
        }
    }

    #[test]
    fn the_jwks_holds_public_members_only() {
        let master = MasterKey::generate();
        let log = bootstrapped(&master);
        let ring = KeyRing::from_keys(&log.keys, &master, at(0)).unwrap();
        let jwks = ring.jwks();
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 3);
        for key in keys {
            let members = key.as_object().unwrap();
            for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
                assert!(!members.contains_key(private), "{private} in {key}");
            }
            assert_eq!(key["use"], "sig");
            let alg: SigningAlgorithm = key["alg"].as_str().unwrap().parse().unwrap();
            assert_eq!(key["kid"].as_str(), ring.active_kid(alg));
            let expected_kty = match alg {
                SigningAlgorithm::RS256 => "RSA",
                SigningAlgorithm::ES256 => "EC",
                SigningAlgorithm::EdDSA => "OKP",
            };
            assert_eq!(key["kty"], expected_kty);
        }
        assert_eq!(
            serde_json::from_str::<Value>(ring.jwks_json()).unwrap(),
            jwks
        );
    }

    #[test]
    fn an_unsigned_token_is_refused() {
        let master = MasterKey::generate();
        let log = bootstrapped(&master);
        let ring = KeyRing::from_keys(&log.keys, &master, at(0)).unwrap();
        let kid = ring.active_kid(SigningAlgorithm::RS256).unwrap();
        let payload = URL_SAFE_NO_PAD.encode(Value::Object(claims()).to_string());
        for alg in ["none", "None", "NONE"] {
            let header = URL_SAFE_NO_PAD.encode(json!({"alg": alg, "kid": kid}).to_string());
            assert_eq!(
                ring.verify(&format!("{header}.{payload}.")),
                Err(KeyError::AlgNone)
            );
        }
    }

    #[test]
    fn an_unknown_or_missing_kid_is_refused() {
        let master = MasterKey::generate();
        let log = bootstrapped(&master);
        let ring = KeyRing::from_keys(&log.keys, &master, at(0)).unwrap();
        let token = ring.sign(SigningAlgorithm::ES256, None, &claims()).unwrap();
        let forged = with_header(&token, &json!({"alg": "ES256", "kid": "someone-else"}));
        assert_eq!(
            ring.verify(&forged),
            Err(KeyError::UnknownKid("someone-else".into()))
        );
        let anonymous = with_header(&token, &json!({"alg": "ES256"}));
        assert_eq!(ring.verify(&anonymous), Err(KeyError::MissingKid));

        // A ring of other keys knows none of these.
        let other = KeyRing::from_keys(&bootstrapped(&master).keys, &master, at(0)).unwrap();
        assert!(matches!(other.verify(&token), Err(KeyError::UnknownKid(_))));
    }

    #[test]
    fn an_algorithm_other_than_the_keys_is_refused() {
        let master = MasterKey::generate();
        let log = bootstrapped(&master);
        let ring = KeyRing::from_keys(&log.keys, &master, at(0)).unwrap();
        let token = ring.sign(SigningAlgorithm::RS256, None, &claims()).unwrap();
        let kid = ring.active_kid(SigningAlgorithm::RS256).unwrap();
        for alg in ["HS256", "ES256", "PS256"] {
            let confused = with_header(&token, &json!({"alg": alg, "kid": kid}));
            assert!(
                matches!(ring.verify(&confused), Err(KeyError::AlgMismatch { .. })),
                "{alg}"
            );
        }
        let critical = with_header(
            &token,
            &json!({"alg": "RS256", "kid": kid, "b64": false, "crit": ["b64"]}),
        );
        assert_eq!(ring.verify(&critical), Err(KeyError::CriticalHeader));
    }

    #[test]
    fn a_tampered_signature_or_payload_is_refused() {
        let master = MasterKey::generate();
        let log = bootstrapped(&master);
        let ring = KeyRing::from_keys(&log.keys, &master, at(0)).unwrap();
        for alg in SigningAlgorithm::ALL {
            let token = ring.sign(alg, None, &claims()).unwrap();
            let (signed, signature) = token.rsplit_once('.').unwrap();
            let mut signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
            signature[0] ^= 1;
            let tampered = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(&signature));
            assert_eq!(
                ring.verify(&tampered),
                Err(KeyError::InvalidSignature),
                "{alg}"
            );

            let mut elevated = claims();
            elevated.insert("sub".into(), json!("admin"));
            let (header, _) = token.split_once('.').unwrap();
            let (_, signature) = token.rsplit_once('.').unwrap();
            let forged = format!(
                "{header}.{}.{signature}",
                URL_SAFE_NO_PAD.encode(Value::Object(elevated).to_string())
            );
            assert_eq!(
                ring.verify(&forged),
                Err(KeyError::InvalidSignature),
                "{alg}"
            );
        }
        assert!(matches!(
            ring.verify("not a token"),
            Err(KeyError::MalformedToken(_))
        ));
        assert!(matches!(
            ring.verify("a.b.c.d"),
            Err(KeyError::MalformedToken(_))
        ));
        assert!(matches!(
            ring.verify("!!.e30.c2ln"),
            Err(KeyError::MalformedToken(_))
        ));
    }

    #[test]
    fn without_an_active_key_nothing_is_signed() {
        let master = MasterKey::generate();
        let ring = KeyRing::from_keys(&Keys::default(), &master, at(0)).unwrap();
        assert_eq!(
            ring.sign(SigningAlgorithm::EdDSA, None, &claims()),
            Err(KeyError::NoActiveKey(SigningAlgorithm::EdDSA))
        );
        assert_eq!(ring.jwks(), json!({"keys": []}));
        assert_eq!(ring.active_kid(SigningAlgorithm::RS256), None);
    }

    #[test]
    fn a_private_key_round_trips_through_encryption() {
        let master = MasterKey::generate();
        let secret = b"private key bytes".to_vec();
        let encrypted = encrypt_private_key(&master, "k1", &secret).unwrap();
        assert_eq!(encrypted.split('.').count(), 5);
        assert!(!encrypted.contains("private key bytes"));
        assert_eq!(
            decrypt_private_key(&master, "k1", &encrypted).unwrap(),
            secret
        );
        // Each encryption uses a fresh IV.
        assert_ne!(
            encrypt_private_key(&master, "k1", &secret).unwrap(),
            encrypted
        );
    }

    #[test]
    fn a_wrong_master_key_fails_cleanly_and_names_both_keys() {
        let master = MasterKey::generate();
        let other = MasterKey::generate();
        let encrypted = encrypt_private_key(&master, "k1", b"secret").unwrap();
        let error = decrypt_private_key(&other, "k1", &encrypted).unwrap_err();
        assert_eq!(
            error,
            KeyError::Decrypt {
                kid: "k1".into(),
                encrypted_under: master.id().into(),
                this_node: other.id().into(),
            }
        );
        assert!(
            error.to_string().contains("share one master key"),
            "{error}"
        );
        assert!(matches!(
            decrypt_private_key(&master, "k1", "garbage"),
            Err(KeyError::Decrypt { .. })
        ));
    }

    #[test]
    fn a_ciphertext_moved_to_another_key_is_refused() {
        let master = MasterKey::generate();
        let encrypted = encrypt_private_key(&master, "k1", b"secret").unwrap();
        assert!(matches!(
            decrypt_private_key(&master, "k2", &encrypted),
            Err(KeyError::UnusableKey { .. })
        ));
    }

    #[test]
    fn a_ring_cannot_be_built_under_another_master_key() {
        let master = MasterKey::generate();
        let log = bootstrapped(&master);
        let error = KeyRing::from_keys(&log.keys, &MasterKey::generate(), at(0)).unwrap_err();
        assert!(matches!(error, KeyError::Decrypt { .. }), "{error}");
    }

    #[test]
    fn a_private_key_that_is_not_the_published_ones_is_refused() {
        let master = MasterKey::generate();
        let published = generate(SigningAlgorithm::EdDSA, "k1", &master).unwrap();
        let impostor = jws::EdDSA
            .generate_key_pair(josekit::jwk::Ed25519)
            .unwrap()
            .to_der_private_key();
        let swapped = GeneratedKey {
            encrypted_private_key: encrypt_private_key(&master, "k1", &impostor).unwrap(),
            ..published
        };
        let mut log = Log::default();
        log.execute(
            &plan_rotation(&log.keys.clone(), &swapped, at(0), DEFAULT_GRACE),
            at(0),
        );
        let error = KeyRing::from_keys(&log.keys, &master, at(0)).unwrap_err();
        assert!(matches!(error, KeyError::UnusableKey { .. }), "{error}");
    }

    #[test]
    fn generated_keys_satisfy_the_domain_and_keep_the_private_part_encrypted() {
        let master = MasterKey::generate();
        for alg in SigningAlgorithm::ALL {
            let key = generate(alg, "k1", &master).unwrap();
            let members = key.public_jwk.as_object().unwrap();
            assert_eq!(
                members
                    .keys()
                    .map(String::as_str)
                    .take(4)
                    .collect::<Vec<_>>(),
                ["kty", "use", "alg", "kid"]
            );
            for private in ["d", "p", "q", "dp", "dq", "qi"] {
                assert!(!members.contains_key(private));
            }
            let event = SigningKey::default()
                .decide(
                    &key.generate_command(),
                    &Context {
                        now: at(0),
                        actor: Actor::System,
                        request_id: None,
                        client_ip: None,
                    },
                )
                .unwrap();
            assert!(!event[0].to_data().contains("\"d\":"));
            assert!(!format!("{key:?}").contains(&key.encrypted_private_key));
        }
    }

    #[test]
    fn a_first_rotation_generates_and_activates() {
        let master = MasterKey::generate();
        let key = generate(SigningAlgorithm::ES256, "first", &master).unwrap();
        let steps = plan_rotation(&Keys::default(), &key, at(0), DEFAULT_GRACE);
        assert_eq!(
            steps,
            [
                KeyStep {
                    kid: "first".into(),
                    command: key.generate_command()
                },
                KeyStep {
                    kid: "first".into(),
                    command: SigningKeyCommand::Activate
                },
            ]
        );
    }

    #[test]
    fn a_rotation_publishes_first_and_keeps_the_old_key_for_the_grace_period() {
        let master = MasterKey::generate();
        let mut log = bootstrapped(&master);
        let before = KeyRing::from_keys(&log.keys, &master, at(1)).unwrap();
        let old_kid = before
            .active_kid(SigningAlgorithm::RS256)
            .unwrap()
            .to_owned();
        let old_token = before
            .sign(SigningAlgorithm::RS256, None, &claims())
            .unwrap();

        let new_key = generate(SigningAlgorithm::RS256, "new", &master).unwrap();
        let steps = plan_rotation(&log.keys, &new_key, at(2), DEFAULT_GRACE);
        let commands: Vec<(&str, &SigningKeyCommand)> = steps
            .iter()
            .map(|step| (step.kid.as_str(), &step.command))
            .collect();
        assert_eq!(
            commands,
            [
                ("new", &new_key.generate_command()),
                ("new", &SigningKeyCommand::Activate),
                (
                    old_kid.as_str(),
                    &SigningKeyCommand::Retire {
                        keep_until: at(2) + DEFAULT_GRACE
                    }
                ),
            ]
        );

        // Published before it signs: after the first step, the JWKS has the new key
        // while the old one still signs.
        log.execute(&steps[..1], at(2));
        let published = KeyRing::from_keys(&log.keys, &master, at(2)).unwrap();
        assert_eq!(
            published.active_kid(SigningAlgorithm::RS256),
            Some(old_kid.as_str())
        );
        assert!(published.jwks_json().contains("\"new\""));

        log.execute(&steps[1..], at(2));
        let after = KeyRing::from_keys(&log.keys, &master, at(3)).unwrap();
        assert_eq!(after.active_kid(SigningAlgorithm::RS256), Some("new"));
        assert_eq!(after.verify(&old_token).unwrap(), claims());
        let new_token = after
            .sign(SigningAlgorithm::RS256, None, &claims())
            .unwrap();
        assert_eq!(header_of(&new_token)["kid"], "new");
        let jwks = after.jwks();
        let kids: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|key| key["alg"] == "RS256")
            .map(|key| key["kid"].as_str().unwrap())
            .map(|kid| if kid == old_kid { "old" } else { kid })
            .collect();
        assert_eq!(kids, ["old", "new"]);
        assert_eq!(after.expires_at(), Some(at(2) + DEFAULT_GRACE));

        // Past the grace period the old key leaves the JWKS and its tokens fail.
        let later = KeyRing::from_keys(&log.keys, &master, at(2) + DEFAULT_GRACE).unwrap();
        assert!(!later.jwks_json().contains(&old_kid));
        assert!(matches!(
            later.verify(&old_token),
            Err(KeyError::UnknownKid(_))
        ));
        assert_eq!(later.verify(&new_token).unwrap(), claims());
    }

    #[test]
    fn the_shared_ring_is_rebuilt_only_when_keys_change_or_a_grace_period_ends() {
        let master = MasterKey::generate();
        let mut log = bootstrapped(&master);
        let shared = SharedKeyRing::new(master.clone());
        let first = shared.current(&log.keys, at(1)).unwrap();
        assert!(Arc::ptr_eq(
            &first,
            &shared.current(&log.keys, at(1)).unwrap()
        ));

        log.rotate(SigningAlgorithm::EdDSA, &master, at(2));
        let rotated = shared.current(&log.keys, at(2)).unwrap();
        assert!(!Arc::ptr_eq(&first, &rotated));
        assert_ne!(
            rotated.active_kid(SigningAlgorithm::EdDSA),
            first.active_kid(SigningAlgorithm::EdDSA)
        );
        assert_eq!(rotated.jwks()["keys"].as_array().unwrap().len(), 4);
        assert!(Arc::ptr_eq(
            &rotated,
            &shared.current(&log.keys, at(3)).unwrap()
        ));

        let expired = shared.current(&log.keys, at(2) + DEFAULT_GRACE).unwrap();
        assert!(!Arc::ptr_eq(&rotated, &expired));
        assert_eq!(expired.jwks()["keys"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn a_master_key_reads_from_any_base64_and_never_shows_itself() {
        let key = MasterKey::generate();
        let standard = key.to_base64();
        let url_safe = URL_SAFE_NO_PAD.encode(key.bytes);
        for text in [
            standard.clone(),
            format!("  {standard}\n"),
            standard.trim_end_matches('=').to_owned(),
            url_safe,
        ] {
            assert_eq!(MasterKey::from_base64(&text).unwrap().id(), key.id());
        }
        assert!(matches!(
            MasterKey::from_base64(&STANDARD.encode([7u8; 16])),
            Err(KeyError::InvalidMasterKey(_))
        ));
        assert!(matches!(
            MasterKey::from_base64("not base64 at all!"),
            Err(KeyError::InvalidMasterKey(_))
        ));
        assert_ne!(MasterKey::generate().id(), key.id());
        assert_eq!(key.id().len(), 16);
        let debug = format!("{key:?}");
        assert!(
            !debug.contains(&standard) && debug.contains(key.id()),
            "{debug}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_master_key_file_is_created_private_once_and_then_reused() {
        use std::os::unix::fs::PermissionsExt;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join("master.key");
        let (created, outcome) = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(outcome, MasterKeyFile::Created);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let (loaded, outcome) = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(outcome, MasterKeyFile::Existing);
        assert_eq!(loaded.id(), created.id());
        // No temporary file is left behind.
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_master_key_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        MasterKey::load_or_create(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let error = MasterKey::load_or_create(&path).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("master.key")
                && message.contains("0640")
                && message.contains("chmod 600"),
            "{message}"
        );

        std::fs::write(dir.path().join("bad.key"), "short").unwrap();
        std::fs::set_permissions(
            dir.path().join("bad.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        assert!(matches!(
            MasterKey::load_or_create(&dir.path().join("bad.key")),
            Err(KeyError::MasterKeyFile { .. })
        ));
    }

    #[test]
    fn events_of_a_rotation_carry_no_private_material() {
        let master = MasterKey::generate();
        let key = generate(SigningAlgorithm::RS256, "k1", &master).unwrap();
        let generated = SigningKeyEvent::Generated(KeyGenerated {
            kid: key.kid.clone(),
            alg: key.alg,
            public_jwk: key.public_jwk.clone(),
            encrypted_private_key: key.encrypted_private_key.clone(),
            generated_at: at(0),
        });
        let data = generated.to_data();
        for private in ["\"d\":", "\"p\":", "\"q\":", "PRIVATE KEY"] {
            assert!(!data.contains(private), "{private} in {data}");
        }
    }
}
