//! The cryptography of personal data. Each person's data key and each personal value
//! made now are sealed with AES-256-GCM (ring): a payload's values together (`pd3:`), the
//! metadata's client address on its own (`pd2:`, as every field was before 2026-12-07); a
//! stored key starts with the byte 2. Those made before are XChaCha20-Poly1305
//! (RustCrypto; `pd1:`, stored keys of 72 bytes) and open as they always did: a person
//! keeps the cipher their key was made for. HMAC-SHA-256 keys the address claims. Nonces
//! are random (96 bits for AES-GCM, 192 for XChaCha20), so no node has to count anything
//! (docs/adr/0010-per-person-encryption.md).

use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{AeadInOut, Generate, KeyInit};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use memchr::memmem;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use sha2::Sha256;
use uuid::Uuid;
use verity_domain::StoreError;

/// How a field sealed with AES-256-GCM starts; the rest is base64url of nonce, ciphertext
/// and tag.
pub const SEALED_PREFIX: &str = "pd2:";
/// How a field sealed with XChaCha20-Poly1305 (before AES-256-GCM) starts.
const SEALED_PREFIX_V1: &str = "pd1:";
/// How a payload's personal values sealed together with AES-256-GCM start: the first in
/// the text's order holds them all (base64url of nonce, ciphertext and tag; the plaintext
/// every value in that order, each after its length in bytes), each other is the prefix
/// and its place (`pd3:1`, `pd3:2`…).
pub const SEALED_TOGETHER_PREFIX: &str = "pd3:";
/// How a payload's personal values sealed together and bound to the payload's text start
/// (since 2026-12-07): as [`SEALED_TOGETHER_PREFIX`], then a `+`, which no base64url text
/// holds, so a reader that knows only the values bound to their fields' paths reads them
/// as erased.
pub const SEALED_IN_TEXT_PREFIX: &str = "pd3:+";

/// Length of an AES-256-GCM nonce; 12 bytes are 16 base64 characters.
const NONCE_LEN: usize = 12;
/// Length of an XChaCha20-Poly1305 nonce; 24 bytes are 32 base64 characters.
const NONCE_LEN_V1: usize = 24;
/// Length of either cipher's tag.
const TAG_LEN: usize = 16;
/// The first byte of a data key sealed with AES-256-GCM.
const KEY_VERSION: u8 = 2;
/// Length of a data key sealed with AES-256-GCM: version, nonce, key, tag.
const SEALED_KEY_LEN: usize = 1 + NONCE_LEN + 32 + TAG_LEN;
/// Length of a data key sealed with XChaCha20-Poly1305: nonce, key, tag.
const SEALED_KEY_LEN_V1: usize = NONCE_LEN_V1 + 32 + TAG_LEN;

/// Domain separation of the associated data of sealed data keys.
const KEY_CONTEXT: &[u8] = b"verity person key v1|";
/// What the AES-256-GCM key that seals data keys is derived for, from the master key's
/// key of personal data (HKDF-SHA-256): a key is used with one cipher only.
const WRAP_PURPOSE: &[u8] = b"verity person keys aes-256-gcm";

/// Whether a string value is a sealed field, of any of the three forms.
pub(crate) fn is_sealed_value(text: &str) -> bool {
    text.starts_with(SEALED_TOGETHER_PREFIX)
        || text.starts_with(SEALED_PREFIX)
        || text.starts_with(SEALED_PREFIX_V1)
}

/// Whether `text` (a payload's or metadata's JSON) holds a sealed field: a string that
/// starts with either prefix. Every event of a replay is searched (SIMD, one pass).
pub(crate) fn holds_sealed(text: &str) -> bool {
    first_sealed(text).is_some()
}

/// Where the first sealed field of `text` starts (its opening quote), if it holds one.
pub(crate) fn first_sealed(text: &str) -> Option<usize> {
    static QUOTE_PD: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(b"\"pd"));
    QUOTE_PD
        .find_iter(text.as_bytes())
        .find(|&at| text.get(at + 1..).is_some_and(is_sealed_value))
}

/// The two keys the master key gives personal data (`MasterKey::derive`): one seals the
/// persons' data keys, the other keys the hash that stands for an address in the
/// unique-key table. `Debug` shows neither.
#[derive(Clone)]
pub struct PersonalSecrets {
    /// Seals data keys made now (derived from the master key's key of personal data).
    wrap: LessSafeKey,
    /// Opens data keys sealed before AES-256-GCM (that key itself).
    wrap_v1: XChaCha20Poly1305,
    index: [u8; 32],
}

impl std::fmt::Debug for PersonalSecrets {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("PersonalSecrets(..)")
    }
}

/// A person's data key. The cache holds up to 100,000 of them, so an AES key is kept as
/// its bytes (set up, it is half a kilobyte) and set up once per event it opens.
#[derive(Clone)]
pub(crate) enum DataKey {
    /// Made with AES-256-GCM: seals and opens `pd2:` fields.
    Aes([u8; 32]),
    /// Made before: seals and opens `pd1:` fields with XChaCha20-Poly1305.
    XChaCha(XChaCha20Poly1305),
}

/// A data key set up to seal and open one event's fields.
// It lives on the stack for one event: boxing the set-up AES key would allocate per event.
#[allow(clippy::large_enum_variant)]
pub(crate) enum FieldCipher<'key> {
    /// AES-256-GCM, set up from the key's bytes.
    Aes(LessSafeKey),
    /// XChaCha20-Poly1305, as the cache holds it.
    XChaCha(&'key XChaCha20Poly1305),
}

/// Random bytes from the operating system.
fn random<const N: usize>() -> Result<[u8; N], StoreError> {
    <[u8; N]>::try_generate()
        .map_err(|error| StoreError::Unavailable(format!("no random numbers: {error}")))
}

fn cannot_seal() -> StoreError {
    StoreError::Invalid("cannot seal personal data".into())
}

/// `bytes` set up as an AES-256-GCM key (ring refuses only keys of another length).
fn aes_key(bytes: &[u8; 32]) -> Result<LessSafeKey, StoreError> {
    UnboundKey::new(&AES_256_GCM, bytes)
        .map(LessSafeKey::new)
        .map_err(|_| StoreError::Invalid("an AES-256-GCM key of 32 bytes was refused".into()))
}

/// `nonce ‖ ciphertext ‖ tag` of `plaintext` under AES-256-GCM `key`, bound to `aad`,
/// after `prefix`.
fn seal_aes(
    key: &LessSafeKey,
    prefix: &[u8],
    plaintext: &[u8],
    aad: &[u8],
) -> Result<Vec<u8>, StoreError> {
    let nonce = random::<NONCE_LEN>()?;
    let mut sealed = Vec::with_capacity(prefix.len() + NONCE_LEN + plaintext.len() + TAG_LEN);
    sealed.extend_from_slice(prefix);
    sealed.extend_from_slice(&nonce);
    let start = sealed.len();
    sealed.extend_from_slice(plaintext);
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            sealed.get_mut(start..).ok_or_else(cannot_seal)?,
        )
        .map_err(|_| cannot_seal())?;
    sealed.extend_from_slice(tag.as_ref());
    Ok(sealed)
}

/// Opens `ciphertext ‖ tag` in place under AES-256-GCM; the plaintext's length.
fn open_aes(
    key: &LessSafeKey,
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    in_out: &mut [u8],
) -> Option<usize> {
    key.open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad), in_out)
        .ok()
        .map(|plaintext| plaintext.len())
}

/// Opens `ciphertext ‖ tag` in place under XChaCha20-Poly1305 (the buffer keeps the
/// plaintext only).
fn open_xchacha(
    cipher: &XChaCha20Poly1305,
    nonce: &[u8],
    aad: &[u8],
    in_out: &mut Vec<u8>,
) -> Option<()> {
    let nonce = XNonce::try_from(nonce).ok()?;
    cipher.decrypt_in_place(&nonce, aad, in_out).ok()
}

fn key_context(subject: Uuid) -> Vec<u8> {
    [KEY_CONTEXT, subject.as_bytes().as_slice()].concat()
}

impl PersonalSecrets {
    /// The secrets from the two keys the master key derives.
    pub fn new(wrap: [u8; 32], index: [u8; 32]) -> Result<Self, StoreError> {
        let mut wrap_aes = [0; 32];
        hkdf::Hkdf::<Sha256>::from_prk(&wrap)
            .ok()
            .and_then(|hkdf| hkdf.expand(WRAP_PURPOSE, &mut wrap_aes).ok())
            .ok_or_else(|| StoreError::Invalid("cannot derive the key of data keys".into()))?;
        Ok(Self {
            wrap: aes_key(&wrap_aes)?,
            wrap_v1: XChaCha20Poly1305::new(&Key::from(wrap)),
            index,
        })
    }

    /// A fresh data key for `subject`, and the same sealed for the key table.
    pub(crate) fn new_data_key(&self, subject: Uuid) -> Result<(DataKey, Vec<u8>), StoreError> {
        let key = random::<32>()?;
        let sealed = seal_aes(&self.wrap, &[KEY_VERSION], &key, &key_context(subject))?;
        Ok((DataKey::Aes(key), sealed))
    }

    /// The data key of `subject` from the key table's sealed bytes.
    pub(crate) fn open_data_key(
        &self,
        subject: Uuid,
        sealed: &[u8],
    ) -> Result<DataKey, StoreError> {
        let context = key_context(subject);
        let opened = match (sealed.len(), sealed.first()) {
            (SEALED_KEY_LEN, Some(&KEY_VERSION)) => {
                let mut in_out = [0; 32 + TAG_LEN];
                let (nonce, rest) = sealed
                    .get(1..)
                    .and_then(|rest| rest.split_first_chunk::<NONCE_LEN>())
                    .unzip();
                match (nonce, rest) {
                    (Some(nonce), Some(rest)) if rest.len() == in_out.len() => {
                        in_out.copy_from_slice(rest);
                        open_aes(&self.wrap, *nonce, &context, &mut in_out)
                            .and_then(|_| in_out.first_chunk::<32>().copied())
                            .map(DataKey::Aes)
                    }
                    _ => None,
                }
            }
            (SEALED_KEY_LEN_V1, _) => {
                sealed
                    .split_at_checked(NONCE_LEN_V1)
                    .and_then(|(nonce, rest)| {
                        let mut in_out = rest.to_vec();
                        open_xchacha(&self.wrap_v1, nonce, &context, &mut in_out)?;
                        let key = <[u8; 32]>::try_from(in_out.as_slice()).ok()?;
                        Some(DataKey::XChaCha(XChaCha20Poly1305::new(&Key::from(key))))
                    })
            }
            _ => None,
        };
        opened.ok_or_else(|| {
            StoreError::Corrupt(format!(
                "the personal data key {subject} does not open with this master key: \
                 the database's keys were sealed under another one (the nodes and \
                 commands sharing a database must share one master key; docs/keys.md)"
            ))
        })
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
    /// The key set up for one event's fields.
    pub(crate) fn cipher(&self) -> Result<FieldCipher<'_>, StoreError> {
        Ok(match self {
            Self::Aes(bytes) => FieldCipher::Aes(aes_key(bytes)?),
            Self::XChaCha(cipher) => FieldCipher::XChaCha(cipher),
        })
    }
}

impl FieldCipher<'_> {
    /// `plaintext` sealed as a JSON string value, bound to the person and the field.
    pub(crate) fn seal(&self, aad: &[u8], plaintext: &str) -> Result<String, StoreError> {
        let (prefix, sealed) = match self {
            Self::Aes(key) => (
                SEALED_PREFIX,
                seal_aes(key, &[], plaintext.as_bytes(), aad)?,
            ),
            Self::XChaCha(cipher) => {
                let nonce = random::<NONCE_LEN_V1>()?;
                let mut sealed = plaintext.as_bytes().to_vec();
                cipher
                    .encrypt_in_place(&XNonce::from(nonce), aad, &mut sealed)
                    .map_err(|_| cannot_seal())?;
                (SEALED_PREFIX_V1, [nonce.as_slice(), &sealed].concat())
            }
        };
        Ok(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(sealed)))
    }

    /// Whether this key seals a payload's values together (`pd3:`): one made with
    /// AES-256-GCM; those made before seal each field on its own.
    pub(crate) fn seals_together(&self) -> bool {
        matches!(self, Self::Aes(_))
    }

    /// `values` sealed together as one JSON string value (`pd3:`), bound to the person and
    /// the values' fields ([`seals_together`](Self::seals_together)).
    pub(crate) fn seal_together(&self, aad: &[u8], values: &[&str]) -> Result<String, StoreError> {
        self.seal_values(SEALED_TOGETHER_PREFIX, aad, values)
    }

    /// `values` sealed together as the text of one JSON string value after `prefix`
    /// ([`SEALED_TOGETHER_PREFIX`], or [`SEALED_IN_TEXT_PREFIX`] when `aad` binds the
    /// payload's text).
    pub(crate) fn seal_values(
        &self,
        prefix: &str,
        aad: &[u8],
        values: &[&str],
    ) -> Result<String, StoreError> {
        let Self::Aes(key) = self else {
            return Err(cannot_seal());
        };
        let sealed = seal_aes(key, &[], &pack(values), aad)?;
        Ok(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(sealed)))
    }

    /// Opens values sealed together (`pd3:`), if they open with this key and `aad`, into
    /// `together`, whose [`Together::value`] then gives each.
    pub(crate) fn open_together(&self, aad: &[u8], sealed: &str, together: &mut Together) -> bool {
        self.open_values(SEALED_TOGETHER_PREFIX, aad, sealed, together)
    }

    /// Opens values sealed together after `prefix` ([`seal_values`](Self::seal_values)),
    /// if they open with this key and `aad`, into `together`.
    pub(crate) fn open_values(
        &self,
        prefix: &str,
        aad: &[u8],
        sealed: &str,
        together: &mut Together,
    ) -> bool {
        together.clear();
        let Self::Aes(key) = self else {
            return false;
        };
        let Together { plaintext, spans } = together;
        let opened = split_sealed::<NONCE_LEN>(sealed, prefix, plaintext)
            .and_then(|nonce| open_aes(key, nonce, aad, plaintext))
            .is_some_and(|len| {
                plaintext.truncate(len);
                unpack(plaintext, spans)
            });
        if !opened {
            together.clear();
        }
        opened
    }

    /// The plaintext of a sealed field, if it opens with this key and `aad`.
    #[cfg(test)]
    pub(crate) fn open(&self, aad: &[u8], sealed: &str) -> Option<String> {
        let mut plaintext = String::new();
        self.open_into(aad, sealed, &mut Vec::new(), &mut plaintext)
            .then_some(plaintext)
    }

    /// Appends the plaintext of a sealed field to `out` if it opens with this key and
    /// `aad`. The field is decoded into `scratch` and opened there, in place: a replay
    /// opens a page's fields with one buffer.
    pub(crate) fn open_into(
        &self,
        aad: &[u8],
        sealed: &str,
        scratch: &mut Vec<u8>,
        out: &mut String,
    ) -> bool {
        let opened = match self {
            Self::Aes(key) => split_sealed::<NONCE_LEN>(sealed, SEALED_PREFIX, scratch)
                .and_then(|nonce| open_aes(key, nonce, aad, scratch))
                .and_then(|len| scratch.get(..len)),
            Self::XChaCha(cipher) => {
                split_sealed::<NONCE_LEN_V1>(sealed, SEALED_PREFIX_V1, scratch)
                    .and_then(|nonce| open_xchacha(cipher, &nonce, aad, scratch))
                    .map(|()| scratch.as_slice())
            }
        };
        match opened.and_then(|plaintext| std::str::from_utf8(plaintext).ok()) {
            Some(plaintext) => {
                out.push_str(plaintext);
                true
            }
            None => false,
        }
    }
}

/// Values sealed together, opened: the plaintext and where each value is in it. A replay
/// keeps one for every payload it opens.
#[derive(Default)]
pub(crate) struct Together {
    plaintext: Vec<u8>,
    spans: Vec<(usize, usize)>,
}

impl Together {
    /// Forgets the values.
    pub(crate) fn clear(&mut self) {
        self.plaintext.clear();
        self.spans.clear();
    }

    /// How many values there are.
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    /// The value at `index`, if there is one and it is text.
    pub(crate) fn value(&self, index: usize) -> Option<&str> {
        let &(start, end) = self.spans.get(index)?;
        std::str::from_utf8(self.plaintext.get(start..end)?).ok()
    }
}

/// The plaintext of values sealed together: each value's length in bytes (LEB128: seven
/// bits a byte, the lowest first, the high bit set on every byte but the last), then its
/// bytes.
fn pack(values: &[&str]) -> Vec<u8> {
    let mut packed = Vec::with_capacity(values.iter().map(|value| value.len() + 2).sum());
    for value in values {
        let mut length = value.len();
        while length >= 0x80 {
            // The low seven bits; the cast keeps exactly them.
            packed.push(0x80 | (length & 0x7f) as u8);
            length >>= 7;
        }
        packed.push(length as u8);
        packed.extend_from_slice(value.as_bytes());
    }
    packed
}

/// The spans of the values [`pack`] wrote into `packed`; `false` when it does not split so.
fn unpack(packed: &[u8], spans: &mut Vec<(usize, usize)>) -> bool {
    spans.clear();
    let mut at = 0;
    while at < packed.len() {
        let mut length: usize = 0;
        let mut shift = 0;
        loop {
            let Some(&byte) = packed.get(at) else {
                return false;
            };
            at += 1;
            if shift > 28 {
                return false;
            }
            length |= usize::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
        let Some(end) = at.checked_add(length).filter(|&end| end <= packed.len()) else {
            return false;
        };
        spans.push((at, end));
        at = end;
    }
    true
}

/// A sealed field's nonce of `N` bytes, and its `ciphertext ‖ tag` left in `scratch`,
/// from the text after `prefix`. The whole text is decoded in one call, then the nonce
/// taken off its front: a replay decodes every sealed field, and a call per part cost
/// more than the decoding.
fn split_sealed<const N: usize>(
    sealed: &str,
    prefix: &str,
    scratch: &mut Vec<u8>,
) -> Option<[u8; N]> {
    scratch.clear();
    URL_SAFE_NO_PAD
        .decode_vec(sealed.strip_prefix(prefix)?, scratch)
        .ok()?;
    let nonce = *scratch.first_chunk::<N>()?;
    scratch.drain(..N);
    Some(nonce)
}

#[cfg(test)]
mod tests {
    use chacha20poly1305::aead::Aead;
    use chacha20poly1305::aead::Payload;

    use super::*;

    fn secrets(byte: u8) -> PersonalSecrets {
        PersonalSecrets::new([byte; 32], [byte ^ 1; 32]).unwrap()
    }

    /// `nonce ‖ ciphertext ‖ tag` under XChaCha20-Poly1305, as keys and fields were
    /// sealed before AES-256-GCM.
    fn xchacha(key: [u8; 32], nonce: [u8; NONCE_LEN_V1], aad: &[u8], msg: &[u8]) -> Vec<u8> {
        let sealed = XChaCha20Poly1305::new(&Key::from(key))
            .encrypt(&XNonce::from(nonce), Payload { msg, aad })
            .unwrap();
        [nonce.as_slice(), &sealed].concat()
    }

    /// A data key sealed the way keys were before AES-256-GCM, under the master key's
    /// key of personal data `[byte; 32]`.
    fn sealed_key_v1(byte: u8, subject: Uuid, key: [u8; 32]) -> Vec<u8> {
        xchacha([byte; 32], [9; NONCE_LEN_V1], &key_context(subject), &key)
    }

    #[test]
    fn a_field_opens_only_with_its_key_and_binding() {
        let subject = Uuid::from_u128(1);
        let (key, sealed_key) = secrets(7).new_data_key(subject).unwrap();
        assert_eq!(sealed_key.len(), SEALED_KEY_LEN);
        assert_eq!(sealed_key.first(), Some(&KEY_VERSION));
        let cipher = key.cipher().unwrap();
        let sealed = cipher.seal(b"ada|email", "ada@example.org").unwrap();
        assert!(sealed.starts_with(SEALED_PREFIX));
        assert!(!sealed.contains("ada"));
        assert!(holds_sealed(&format!("{{\"email\":\"{sealed}\"}}")));
        assert_eq!(
            cipher.open(b"ada|email", &sealed).as_deref(),
            Some("ada@example.org")
        );
        assert_eq!(cipher.open(b"ada|name", &sealed), None, "another field");
        let reopened = secrets(7).open_data_key(subject, &sealed_key).unwrap();
        assert_eq!(
            reopened
                .cipher()
                .unwrap()
                .open(b"ada|email", &sealed)
                .as_deref(),
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
        assert_eq!(other.cipher().unwrap().open(b"ada|email", &sealed), None);
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(cipher.open(b"ada|email", &tampered), None);
    }

    #[test]
    fn keys_and_fields_sealed_before_aes_still_open_with_their_own_cipher() {
        let subject = Uuid::from_u128(3);
        let sealed_key = sealed_key_v1(7, subject, [5; 32]);
        let key = secrets(7).open_data_key(subject, &sealed_key).unwrap();
        assert!(matches!(key, DataKey::XChaCha(_)));
        assert!(secrets(8).open_data_key(subject, &sealed_key).is_err());
        assert!(
            secrets(7)
                .open_data_key(Uuid::from_u128(4), &sealed_key)
                .is_err()
        );

        // A person whose key was made before keeps sealing with XChaCha20-Poly1305.
        let cipher = key.cipher().unwrap();
        let sealed = cipher.seal(b"ada|name", "Ada").unwrap();
        assert!(sealed.starts_with(SEALED_PREFIX_V1));
        assert!(holds_sealed(&format!("[\"{sealed}\"]")));
        assert_eq!(cipher.open(b"ada|name", &sealed).as_deref(), Some("Ada"));
        // A field as the earlier code wrote it: nonce, ciphertext and tag in base64url.
        let written = xchacha([5; 32], [1; NONCE_LEN_V1], b"ada|email", b"ada@example.org");
        let written = format!("{SEALED_PREFIX_V1}{}", URL_SAFE_NO_PAD.encode(written));
        assert_eq!(
            cipher.open(b"ada|email", &written).as_deref(),
            Some("ada@example.org")
        );

        // Each cipher opens only its own prefix.
        let (aes, _) = secrets(7).new_data_key(subject).unwrap();
        assert_eq!(aes.cipher().unwrap().open(b"ada|email", &written), None);
        let aes_sealed = aes.cipher().unwrap().seal(b"ada|email", "x").unwrap();
        assert_eq!(cipher.open(b"ada|email", &aes_sealed), None);
    }

    #[test]
    fn stored_keys_of_another_shape_are_refused() {
        let subject = Uuid::from_u128(1);
        for sealed in [
            Vec::new(),
            vec![KEY_VERSION; SEALED_KEY_LEN],
            vec![0; SEALED_KEY_LEN],
            vec![0; SEALED_KEY_LEN_V1],
            vec![KEY_VERSION; SEALED_KEY_LEN + 1],
        ] {
            assert!(secrets(7).open_data_key(subject, &sealed).is_err());
        }
    }

    #[test]
    fn values_packed_together_unpack_to_the_same() {
        let long = "é".repeat(9000);
        let values = [
            "",
            "a",
            "x".repeat(127).as_str(),
            "y".repeat(128).as_str(),
            long.as_str(),
            "\u{0}\"漢",
        ]
        .map(str::to_owned);
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let packed = pack(&refs);
        let mut spans = Vec::new();
        assert!(unpack(&packed, &mut spans));
        let mut together = Together {
            plaintext: packed.clone(),
            spans,
        };
        assert_eq!(together.len(), values.len());
        for (index, value) in values.iter().enumerate() {
            assert_eq!(together.value(index), Some(value.as_str()));
        }
        assert_eq!(together.value(values.len()), None);
        together.clear();
        assert_eq!(together.len(), 0);
        // Cut short, a length running past the end or never ending: refused.
        let mut spans = Vec::new();
        for broken in [
            &packed[..packed.len() - 1],
            &[3, b'a'][..],
            &[0x80, 0x80][..],
            &[0xff; 6][..],
        ] {
            assert!(!unpack(broken, &mut spans), "{broken:?}");
        }
        assert!(unpack(&[], &mut spans) && spans.is_empty());
    }

    #[test]
    fn only_strings_with_a_sealed_prefix_count_as_sealed() {
        assert!(!holds_sealed(
            r#"{"note":"pd2:x"}"#.replace("\"pd", "\" pd").as_str()
        ));
        assert!(!holds_sealed(r#"{"a":"pd4:x","b":"pd"}"#));
        assert!(!holds_sealed(r#"{"a":"pd"#));
        assert!(holds_sealed(r#"{"a":"pd1:x"}"#));
        assert!(holds_sealed(r#"{"a":"pd3:1"}"#));
        assert!(holds_sealed(r#"{"a":"pdx","b":"pd2:"}"#));
    }

    #[test]
    fn the_index_is_keyed() {
        assert_eq!(secrets(1).index("a"), secrets(1).index("a"));
        assert_ne!(secrets(1).index("a"), secrets(2).index("a"));
        assert_eq!(secrets(1).index("a").len(), 64);
    }
}
