//! The master key: loaded or created (0600), and sealing and opening what must not be in
//! the log in clear (private signing keys, TOTP secrets).

use std::fmt;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use josekit::jwe::{self, JweHeader};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::error::{KeyError, quoted};
use crate::private_files::{PrivateFile, load_or_create};

/// Length of the master key: 256 bits, for AES-256-GCM.
pub const MASTER_KEY_LEN: usize = 32;

/// The JWE `enc` of encrypted private keys.
const CONTENT_ENCRYPTION: &str = "A256GCM";
/// JWE header member naming the signing key a ciphertext belongs to. The header is
/// authenticated, so a ciphertext moved to another key's event fails to decrypt.
const SIGNING_KID_HEADER: &str = "verity_kid";
/// Domain separation of the master key's id.
const MASTER_KEY_ID_TAG: &[u8] = b"verity.master-key.id.v1\0";

/// The key that encrypts signing keys' private parts at rest (AES-256-GCM).
///
/// `Debug` shows only its id, a fingerprint that reveals nothing of the key and lets
/// operators see whether two nodes hold the same one.
#[derive(Clone)]
pub struct MasterKey {
    pub(super) bytes: [u8; MASTER_KEY_LEN],
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
        .map_err(|error| {
            KeyError::InvalidMasterKey(format!(
                "not base64 ({error}); {MASTER_KEY_LEN} bytes expected"
            ))
        })?;
        let bytes: [u8; MASTER_KEY_LEN] = decoded.try_into().map_err(|decoded: Vec<u8>| {
            KeyError::InvalidMasterKey(format!(
                "{MASTER_KEY_LEN} bytes expected, got {}",
                decoded.len()
            ))
        })?;
        Ok(Self::from_bytes(bytes))
    }

    /// The key in standard base64, as [`MasterKey::from_base64`] reads it.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.bytes)
    }

    /// A key of 32 bytes for one `purpose`, derived with HKDF-SHA-256: the master key
    /// itself seals only signing keys and TOTP secrets, and each other use gets its own.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut derived = [0; 32];
        // 32 bytes is far below HKDF-SHA-256's limit of 255 blocks, so this cannot fail.
        let _ =
            hkdf::Hkdf::<Sha256>::new(None, &self.bytes).expand(purpose.as_bytes(), &mut derived);
        derived
    }

    /// The two keys of personal data (docs/adr/0010-per-person-encryption.md): the one
    /// that seals each person's data key, and the one that keys the hash standing for an
    /// address in the unique-key table.
    pub fn personal_data_keys(&self) -> ([u8; 32], [u8; 32]) {
        (
            self.derive("verity person keys v1"),
            self.derive("verity address index v1"),
        )
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
        let (text, file) = load_or_create(path, || format!("{}\n", Self::generate().to_base64()))
            .map_err(file_error)?;
        let key = Self::from_base64(&text).map_err(|error| file_error(error.to_string()))?;
        let file = match file {
            PrivateFile::Created => MasterKeyFile::Created,
            PrivateFile::Existing => MasterKeyFile::Existing,
        };
        Ok((key, file))
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

/// The master key id named in a JWE's header: which key an operator must supply (a
/// restore names it). The header is read unauthenticated, so this is a hint, never a check.
pub fn encrypted_under(encrypted: &str) -> Option<String> {
    let header = encrypted.split('.').next()?;
    let header = URL_SAFE_NO_PAD.decode(header).ok()?;
    let header: Map<String, Value> = serde_json::from_slice(&header).ok()?;
    let kid = header.get("kid")?.as_str()?;
    Some(quoted(kid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_purpose_gets_its_own_key() {
        let master = MasterKey::from_bytes([7; MASTER_KEY_LEN]);
        assert_eq!(master.derive("a"), master.derive("a"));
        assert_ne!(master.derive("a"), master.derive("b"));
        assert_ne!(master.derive("a"), [7; 32]);
        assert_ne!(
            master.derive("a"),
            MasterKey::from_bytes([8; MASTER_KEY_LEN]).derive("a")
        );
    }
}
