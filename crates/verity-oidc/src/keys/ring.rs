//! The [`KeyRing`] that signs and verifies JWTs, built once from the keys read model, and
//! the [`SharedKeyRing`] that rebuilds it when the keys change.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use josekit::jwk::{Jwk, KeyPair};
use josekit::jws::{self, JwsHeader, JwsSigner};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use verity_domain::key::SigningAlgorithm;
use verity_projection::{KeyState, KeyView, Keys};

use crate::signers::{Ed25519Signer, Es256Signer};
use crate::verifiers::Verifier;

use super::error::{KeyError, quoted};
use super::master::{MasterKey, decrypt_private_key};

/// Public members copied into a JWKS entry; nothing else can leak through.
const PUBLIC_JWK_MEMBERS: [&str; 9] = ["kty", "use", "alg", "kid", "crv", "x", "y", "n", "e"];

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
    verifier: Verifier,
}

/// How many verified tokens a ring remembers; when full it forgets them all and starts
/// again (a few MiB at most: a digest and the claims of each).
const REMEMBERED_TOKENS: usize = 4096;

/// The tokens this ring verified, by the SHA-256 digest of their bytes.
#[derive(Default)]
struct Verified(Mutex<HashMap<[u8; 32], VerifiedToken>>);

/// What a verified token's header said its type was, and its claims.
struct VerifiedToken {
    typ: Box<str>,
    claims: Arc<Map<String, Value>>,
}

impl Verified {
    fn recall(&self, digest: &[u8; 32], typ: &str) -> Option<Arc<Map<String, Value>>> {
        let remembered = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        remembered
            .get(digest)
            .filter(|verified| *verified.typ == *typ)
            .map(|verified| verified.claims.clone())
    }

    fn remember(&self, digest: [u8; 32], typ: &str, claims: &Arc<Map<String, Value>>) {
        let mut remembered = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if remembered.len() >= REMEMBERED_TOKENS {
            remembered.clear();
        }
        let verified = VerifiedToken {
            typ: typ.into(),
            claims: claims.clone(),
        };
        remembered.insert(digest, verified);
    }
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
    verified: Verified,
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
            verified: Verified::default(),
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
            verified: Verified::default(),
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
            verified: Verified::default(),
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
        let (_, claims) = self.verify_compact(token)?;
        Ok(claims)
    }

    /// [`KeyRing::verify`] for a token whose header must say `typ` (e.g. `at+jwt`), with
    /// the claims shared. A token that verified is remembered (by its SHA-256 digest,
    /// never the token itself) for as long as this ring lives, so presenting the same
    /// bytes again — a resource server introspecting the token of each call — skips the
    /// signature verification, whose answer cannot change while the ring's keys are the
    /// same: a key change or the end of a grace period builds a new ring, which starts
    /// with an empty memory. What the bytes cannot tell — expiry, revocation — is the
    /// caller's to check every time.
    pub fn verify_typed(
        &self,
        token: &str,
        typ: &str,
    ) -> Result<Arc<Map<String, Value>>, KeyError> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(claims) = self.verified.recall(&digest, typ) {
            return Ok(claims);
        }
        let (header, claims) = self.verify_compact(token)?;
        if header.typ.as_deref() != Some(typ) {
            return Err(KeyError::WrongType(quoted(
                header.typ.as_deref().unwrap_or_default(),
            )));
        }
        let claims = Arc::new(claims);
        self.verified.remember(digest, typ, &claims);
        Ok(claims)
    }

    /// Splits a compact JWS, decodes its header once, checks it (no `alg: none`, no
    /// `crit`, a published `kid` whose algorithm is the header's), verifies the signature
    /// over the header and payload as sent, and decodes the payload.
    fn verify_compact(&self, token: &str) -> Result<(Header, Map<String, Value>), KeyError> {
        let (header, payload, signature) = split_compact(token)?;
        let header_json = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| KeyError::MalformedToken("the header is not base64url"))?;
        let parsed: Header = serde_json::from_slice(&header_json)
            .map_err(|_| KeyError::MalformedToken("the header is not a JSON object"))?;
        let alg = parsed
            .alg
            .as_deref()
            .ok_or(KeyError::MalformedToken("the header has no alg"))?;
        if alg.eq_ignore_ascii_case("none") {
            return Err(KeyError::AlgNone);
        }
        if parsed.crit.0 {
            return Err(KeyError::CriticalHeader);
        }
        let kid = parsed.kid.as_deref().ok_or(KeyError::MissingKid)?;
        let key = self
            .verifiers
            .get(kid)
            .ok_or_else(|| KeyError::UnknownKid(quoted(kid)))?;
        if alg != key.alg.as_str() {
            return Err(KeyError::AlgMismatch {
                kid: kid.to_owned(),
                expected: key.alg,
                found: quoted(alg),
            });
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| KeyError::InvalidSignature)?;
        let signing_input = token
            .get(..header.len() + 1 + payload.len())
            .ok_or(KeyError::MalformedToken("not three dot-separated parts"))?;
        if !key.verifier.verify(signing_input.as_bytes(), &signature) {
            return Err(KeyError::InvalidSignature);
        }
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| KeyError::MalformedToken("the payload is not base64url"))?;
        let claims = serde_json::from_slice(&payload)
            .map_err(|_| KeyError::MalformedToken("the payload is not a JSON object"))?;
        Ok((parsed, claims))
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
    let (header, _, _) = split_compact(token)?;
    let header = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| KeyError::MalformedToken("the header is not base64url"))?;
    serde_json::from_slice(&header)
        .map_err(|_| KeyError::MalformedToken("the header is not a JSON object"))
}

/// The three parts of a compact JWS: header, payload, signature (still base64url).
fn split_compact(token: &str) -> Result<(&str, &str, &str), KeyError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(KeyError::MalformedToken("not three dot-separated parts"));
    };
    Ok((header, payload, signature))
}

/// The members of a JWS header that verification reads; any others are ignored.
#[derive(Deserialize)]
struct Header {
    alg: Option<String>,
    kid: Option<String>,
    typ: Option<String>,
    #[serde(default)]
    crit: Present,
}

/// Whether a header member is there at all, whatever its value (`"crit": null` too).
#[derive(Default)]
struct Present(bool);

impl<'de> Deserialize<'de> for Present {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(deserializer).map(|_| Self(true))
    }
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
fn build_verifier(key: &KeyView, jwk: &Value) -> Result<Verifier, KeyError> {
    let members = jwk.as_object().cloned().unwrap_or_default();
    Verifier::from_jwk(key.alg, &members).map_err(|reason| KeyError::UnusableKey {
        kid: key.kid.clone(),
        reason,
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
