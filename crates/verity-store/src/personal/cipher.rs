//! The cryptography of personal data, all of it RustCrypto's: XChaCha20-Poly1305 for the
//! persons' data keys (sealed under a key the master key gives) and for each personal
//! field (under the person's key), HMAC-SHA-256 for the address claims. Random 192-bit
//! nonces from the operating system, so no node has to count anything.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;
use verity_domain::StoreError;

/// How a sealed field starts; the rest is base64url of nonce, ciphertext and tag.
pub const SEALED_PREFIX: &str = "pd1:";

/// Length of a nonce.
const NONCE_LEN: usize = 24;

/// Domain separation of the associated data of sealed data keys.
const KEY_CONTEXT: &[u8] = b"verity person key v1|";

/// The two keys the master key gives personal data (`MasterKey::derive`): one seals the
/// persons' data keys, the other keys the hash that stands for an address in the
/// unique-key table. `Debug` shows neither.
#[derive(Clone)]
pub struct PersonalSecrets {
    wrap: XChaCha20Poly1305,
    index: [u8; 32],
}

impl std::fmt::Debug for PersonalSecrets {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("PersonalSecrets(..)")
    }
}

/// A person's data key, ready to seal and open their fields.
#[derive(Clone)]
pub(crate) struct DataKey(XChaCha20Poly1305);

/// Random bytes from the operating system.
fn random<const N: usize>() -> Result<[u8; N], StoreError> {
    <[u8; N]>::try_generate()
        .map_err(|error| StoreError::Unavailable(format!("no random numbers: {error}")))
}

/// `nonce ‖ ciphertext ‖ tag` of `plaintext` under `cipher`, bound to `aad`.
fn seal_bytes(
    cipher: &XChaCha20Poly1305,
    plaintext: &[u8],
    aad: &[u8],
) -> Result<Vec<u8>, StoreError> {
    let nonce = XNonce::from(random::<NONCE_LEN>()?);
    let ciphertext = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| StoreError::Invalid("cannot seal personal data".into()))?;
    let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
    sealed.extend_from_slice(&nonce);
    sealed.extend_from_slice(&ciphertext);
    Ok(sealed)
}

/// The plaintext of [`seal_bytes`]'s output, if it was sealed under `cipher` with `aad`.
fn open_bytes(cipher: &XChaCha20Poly1305, sealed: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
    let (nonce, ciphertext) = sealed.split_at_checked(NONCE_LEN)?;
    let nonce = XNonce::try_from(nonce).ok()?;
    cipher
        .decrypt(
            &nonce,
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .ok()
}

fn key_context(subject: Uuid) -> Vec<u8> {
    [KEY_CONTEXT, subject.as_bytes().as_slice()].concat()
}

impl PersonalSecrets {
    /// The secrets from the two keys the master key derives.
    pub fn new(wrap: [u8; 32], index: [u8; 32]) -> Self {
        Self {
            wrap: XChaCha20Poly1305::new(&Key::from(wrap)),
            index,
        }
    }

    /// A fresh data key for `subject`, and the same sealed for the key table.
    pub(crate) fn new_data_key(&self, subject: Uuid) -> Result<(DataKey, Vec<u8>), StoreError> {
        let key = random::<32>()?;
        let sealed = seal_bytes(&self.wrap, &key, &key_context(subject))?;
        Ok((DataKey(XChaCha20Poly1305::new(&Key::from(key))), sealed))
    }

    /// The data key of `subject` from the key table's sealed bytes.
    pub(crate) fn open_data_key(
        &self,
        subject: Uuid,
        sealed: &[u8],
    ) -> Result<DataKey, StoreError> {
        let key = open_bytes(&self.wrap, sealed, &key_context(subject))
            .and_then(|key| <[u8; 32]>::try_from(key).ok())
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "the personal data key {subject} does not open with this master key: \
                     the database's keys were sealed under another one (the nodes and \
                     commands sharing a database must share one master key; docs/keys.md)"
                ))
            })?;
        Ok(DataKey(XChaCha20Poly1305::new(&Key::from(key))))
    }

    /// HMAC-SHA-256 (hex) of `text` under the index key: what stands for an address.
    pub(crate) fn index(&self, text: &str) -> String {
        // An HMAC takes a key of any length; 32 bytes never fail.
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.index) else {
            return String::new();
        };
        mac.update(text.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

impl DataKey {
    /// `plaintext` sealed as a JSON string value, bound to the person and the field.
    pub(crate) fn seal(&self, aad: &[u8], plaintext: &str) -> Result<String, StoreError> {
        let sealed = seal_bytes(&self.0, plaintext.as_bytes(), aad)?;
        Ok(format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(sealed)))
    }

    /// The plaintext of a sealed field, if it opens with this key and `aad`.
    pub(crate) fn open(&self, aad: &[u8], sealed: &str) -> Option<String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(sealed.strip_prefix(SEALED_PREFIX)?)
            .ok()?;
        String::from_utf8(open_bytes(&self.0, &bytes, aad)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(byte: u8) -> PersonalSecrets {
        PersonalSecrets::new([byte; 32], [byte ^ 1; 32])
    }

    #[test]
    fn a_field_opens_only_with_its_key_and_binding() {
        let subject = Uuid::from_u128(1);
        let (key, sealed_key) = secrets(7).new_data_key(subject).unwrap();
        let sealed = key.seal(b"ada|email", "ada@example.org").unwrap();
        assert!(sealed.starts_with(SEALED_PREFIX));
        assert!(!sealed.contains("ada"));
        assert_eq!(
            key.open(b"ada|email", &sealed).as_deref(),
            Some("ada@example.org")
        );
        assert_eq!(key.open(b"ada|name", &sealed), None, "another field");
        let reopened = secrets(7).open_data_key(subject, &sealed_key).unwrap();
        assert_eq!(
            reopened.open(b"ada|email", &sealed).as_deref(),
            Some("ada@example.org")
        );
        assert!(secrets(8).open_data_key(subject, &sealed_key).is_err());
        assert!(
            secrets(7)
                .open_data_key(Uuid::from_u128(2), &sealed_key)
                .is_err(),
            "a key moved to another person"
        );
        let (other, _) = secrets(7).new_data_key(subject).unwrap();
        assert_eq!(other.open(b"ada|email", &sealed), None);
    }

    #[test]
    fn the_index_is_keyed() {
        assert_eq!(secrets(1).index("a"), secrets(1).index("a"));
        assert_ne!(secrets(1).index("a"), secrets(2).index("a"));
        assert_eq!(secrets(1).index("a").len(), 64);
    }
}
