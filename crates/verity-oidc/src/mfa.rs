//! The second factor's engine: TOTP secrets, codes and their single use, recovery codes,
//! device ids, and what the tokens say about it (docs/mfa.md).
//!
//! - TOTP is RFC 6238 as every authenticator app supports it: HMAC-SHA-1, 6 digits,
//!   30-second steps, one step of clock skew either way; 160-bit secrets. Computing and
//!   comparing codes is totp-rs's (its `Token` equality is constant-time).
//! - The secret is encrypted under the [`MasterKey`] before it reaches the log (a compact
//!   JWE, `dir` + `A256GCM`, bound to the user's id in its authenticated header), the same
//!   sealing as the signing keys'.
//! - A code is accepted once: the matched time step is claimed in the expiring store
//!   (`put_new`, atomic across nodes) until no clock could accept it any more.
//! - Recovery codes are 16 characters of Crockford's base32 (80 random bits), stored as
//!   SHA-256 digests salted with the user's id: with 80 bits of entropy per code nobody
//!   can search the digest space, so a slow hash would add cost without adding safety
//!   (the argument of ADR 0002); the salt stops one search from testing every person's
//!   codes at once.
//! - Device ids are 256 random bits in a cookie; only their SHA-256 digest is stored.
//! - Failures and locks are [`crate::limits`]'.
//!
//! Everything here takes `now` and random generators as arguments; nothing reads the
//! clock or the system generator.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use qrcode::QrCode;
use qrcode::render::svg;
use rand::{CryptoRng, RngExt};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Builder, Totp};
use uuid::Uuid;
use verity_domain::mfa::{MAX_DEVICE_LABEL, RECOVERY_CODE_COUNT};
use verity_domain::signin::SecondFactor;
use verity_domain::{ExpiringStore, StoreError};
use verity_projection::RecoveryCodeView;

use crate::keys::{MasterKey, OpenError};

/// Length of a TOTP secret: 160 bits, RFC 4226's recommendation.
pub const TOTP_SECRET_LEN: usize = 20;
/// Digits of a code.
pub const TOTP_DIGITS: u8 = 6;
/// Seconds of a time step.
pub const TOTP_STEP_SECONDS: u64 = 30;
/// Steps of clock skew accepted either way.
pub const TOTP_SKEW_STEPS: u16 = 1;
/// Length of a recovery code without separators: 16 symbols of 5 bits, 80 bits.
pub const RECOVERY_CODE_LEN: usize = 16;
/// Crockford's base32 alphabet: no I, L, O or U, so nothing looks like something else.
pub const RECOVERY_CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Random bytes in a device id: 256 bits.
pub const DEVICE_ID_BYTES: usize = 32;

/// Domain separation of recovery-code digests.
const RECOVERY_CODE_TAG: &[u8] = b"verity.recovery-code.v1\0";
/// JWE header member binding an encrypted TOTP secret to its user.
const TOTP_USER_HEADER: &str = "verity_totp_user";
/// Longest code input looked at; anything longer is wrong without further work.
const MAX_CODE_INPUT: usize = 32;
/// Longest recovery-code input looked at.
const MAX_RECOVERY_CODE_INPUT: usize = 64;

/// Kinds of entries in the expiring store that belong to the second factor.
pub mod kind {
    /// A TOTP time step accepted for a user (key `<user_id>:<step>`).
    pub const TOTP_STEP: &str = "totp_step";
}

/// Why a second-factor operation failed. None of these are the person's mistakes (a
/// wrong code is `None`/[`CodeCheck::Wrong`], not an error); they are configuration or
/// programming errors, reported rather than panicking.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MfaError {
    /// The otpauth URI cannot be made (an account name with a colon, say).
    #[error("cannot make the otpauth URI: {0}")]
    Otpauth(String),
    /// The QR code cannot be made (a URI too long for a QR code).
    #[error("cannot make the QR code: {0}")]
    QrCode(String),
    /// The library failed to encrypt.
    #[error("cannot encrypt the TOTP secret: {0}")]
    Encrypt(String),
    /// The secret cannot be decrypted: most often a node with another master key.
    #[error(
        "cannot decrypt the TOTP secret: it was encrypted under master key \
         {encrypted_under}, this node has master key {this_node}"
    )]
    Decrypt {
        /// The master key id named in the ciphertext.
        encrypted_under: String,
        /// This node's master key id.
        this_node: String,
    },
    /// The ciphertext belongs to another person, or decrypts to something that is not a
    /// TOTP secret.
    #[error("the encrypted TOTP secret does not belong to this user")]
    NotThisUsersSecret,
}

/// A TOTP secret: 160 random bits. `Debug` never shows it; equality is constant-time.
#[derive(Clone)]
pub struct TotpSecret([u8; TOTP_SECRET_LEN]);

impl PartialEq for TotpSecret {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for TotpSecret {}

impl TotpSecret {
    /// A secret from random bytes drawn by the caller.
    pub fn from_bytes(bytes: [u8; TOTP_SECRET_LEN]) -> Self {
        Self(bytes)
    }

    /// A fresh secret from a cryptographic generator.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        Self(rng.random())
    }

    /// The raw bytes (for encryption, and tests).
    pub fn as_bytes(&self) -> &[u8; TOTP_SECRET_LEN] {
        &self.0
    }

    /// The secret in base32 (RFC 4648, no padding), as authenticator apps read it.
    pub fn to_base32(&self) -> String {
        totp_rs::Secret::from(self.0).to_base32()
    }

    /// The totp-rs generator/verifier with Verity's parameters.
    fn totp(&self) -> Option<Totp> {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(TOTP_DIGITS)
            .with_skew(TOTP_SKEW_STEPS)
            .with_step_duration(TOTP_STEP_SECONDS)
            .with_secret(self.0)
            .build()
            .ok()
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("TotpSecret(<redacted>)")
    }
}

/// The `otpauth://totp/...` URI the QR code holds (Google's Key URI format): issuer =
/// the instance name, account = the email, and the parameters stated explicitly
/// (`algorithm=SHA1&digits=6&period=30`) although they are the defaults, for apps that
/// guess otherwise. A colon in the issuer (the label's separator) becomes a space.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &TotpSecret) -> Result<String, MfaError> {
    let issuer = issuer.replace(':', " ");
    let issuer = issuer.trim();
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(TOTP_DIGITS)
        .with_skew(TOTP_SKEW_STEPS)
        .with_step_duration(TOTP_STEP_SECONDS)
        .with_secret(secret.0)
        .with_account_name(account)
        .with_issuer((!issuer.is_empty()).then_some(issuer))
        .build()
        .map_err(|error| MfaError::Otpauth(error.to_string()))?;
    let uri = totp
        .to_url()
        .map_err(|error| MfaError::Otpauth(error.to_string()))?;
    Ok(format!(
        "{uri}&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP_SECONDS}"
    ))
}

/// The QR code of `uri` as an inline `<svg>` element (no XML declaration, no script, no
/// external reference), with `role="img"` and `label` as its accessible name.
pub fn qr_svg(uri: &str, label: &str) -> Result<String, MfaError> {
    let code = QrCode::new(uri.as_bytes()).map_err(|error| MfaError::QrCode(error.to_string()))?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    let element = image
        .find("<svg")
        .and_then(|start| image.get(start + "<svg".len()..))
        .ok_or_else(|| MfaError::QrCode("the renderer made no <svg> element".into()))?;
    Ok(format!(
        r#"<svg role="img" aria-label="{}"{element}"#,
        escape_attribute(label)
    ))
}

/// Escapes text for an HTML/XML attribute value in double quotes.
fn escape_attribute(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// The secret in base32 in groups of four, for typing into an app by hand:
/// `"ABCD EFGH ..."` (32 characters, 8 groups).
pub fn secret_base32_grouped(secret: &TotpSecret) -> String {
    let base32: Vec<char> = secret.to_base32().chars().collect();
    base32
        .chunks(4)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The time step a code matches at `now`, accepting one step of skew either way; `None`
/// for a wrong or malformed code. Spaces and dashes in the input are ignored ("123 456").
/// The comparison is totp-rs's, constant-time per step.
///
/// This does not make the code single-use: claim the step with [`claim_totp_step`] (or
/// use [`check_code`], which does both).
pub fn verify_code(secret: &TotpSecret, code: &str, now: DateTime<Utc>) -> Option<u64> {
    if code.len() > MAX_CODE_INPUT {
        return None;
    }
    let code: String = code
        .chars()
        .filter(|character| !character.is_whitespace() && *character != '-')
        .collect();
    let now = u64::try_from(now.timestamp()).ok()?;
    secret.totp()?.check(&code, now)
}

/// Until when the step must stay claimed: while any accepted clock reading (the step
/// itself, or one step later with the skew) could still accept its code.
pub fn step_claim_expires_at(step: u64) -> DateTime<Utc> {
    let end = step
        .saturating_add(u64::from(TOTP_SKEW_STEPS) + 1)
        .saturating_mul(TOTP_STEP_SECONDS);
    i64::try_from(end)
        .ok()
        .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn step_key(user_id: Uuid, step: u64) -> String {
    format!("{user_id}:{step}")
}

/// Claims a matched step for a user: true the first time, false if it was claimed
/// before (the same code again) or a later step was already accepted (an older code
/// after a newer one). The claim is the expiring store's `put_new`: of two nodes
/// accepting the same code at once, exactly one wins.
pub async fn claim_totp_step(
    store: &dyn ExpiringStore,
    user_id: Uuid,
    step: u64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let later = step_key(user_id, step.saturating_add(1));
    if store.get(kind::TOTP_STEP, &later, now).await?.is_some() {
        return Ok(false);
    }
    store
        .put_new(
            kind::TOTP_STEP,
            &step_key(user_id, step),
            b"",
            step_claim_expires_at(step),
            now,
        )
        .await
}

/// What became of a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// Right, and not used before: the step is now claimed.
    Accepted {
        /// The matched time step.
        step: u64,
    },
    /// Right, but already used (or older than one already used): refused. Counts as a
    /// failure like a wrong code; the page can say "this code was already used, wait
    /// for the next one".
    Reused,
    /// Wrong or malformed.
    Wrong,
}

/// Verifies a code and claims its step: what the MFA and enrollment pages call.
pub async fn check_code(
    store: &dyn ExpiringStore,
    user_id: Uuid,
    secret: &TotpSecret,
    code: &str,
    now: DateTime<Utc>,
) -> Result<CodeCheck, StoreError> {
    let Some(step) = verify_code(secret, code, now) else {
        return Ok(CodeCheck::Wrong);
    };
    Ok(if claim_totp_step(store, user_id, step, now).await? {
        CodeCheck::Accepted { step }
    } else {
        CodeCheck::Reused
    })
}

/// Encrypts a user's TOTP secret under the master key, for `user.totp.enrolled` (and
/// for a pending enrollment kept in the expiring store). The JWE's authenticated header
/// binds it to `user_id`: moved to another person's event it does not decrypt.
pub fn seal_totp_secret(
    master: &MasterKey,
    user_id: Uuid,
    secret: &TotpSecret,
) -> Result<String, MfaError> {
    master
        .seal(TOTP_USER_HEADER, &user_id.to_string(), secret.as_bytes())
        .map_err(|error| MfaError::Encrypt(error.to_string()))
}

/// Decrypts what [`seal_totp_secret`] made for `user_id`.
pub fn open_totp_secret(
    master: &MasterKey,
    user_id: Uuid,
    encrypted: &str,
) -> Result<TotpSecret, MfaError> {
    let plaintext = master
        .open(TOTP_USER_HEADER, &user_id.to_string(), encrypted)
        .map_err(|error| match error {
            OpenError::Undecryptable { encrypted_under } => MfaError::Decrypt {
                encrypted_under,
                this_node: master.id().to_owned(),
            },
            OpenError::WrongBinding => MfaError::NotThisUsersSecret,
        })?;
    let bytes: [u8; TOTP_SECRET_LEN] = plaintext
        .try_into()
        .map_err(|_| MfaError::NotThisUsersSecret)?;
    Ok(TotpSecret(bytes))
}

// Recovery codes.

/// A fresh set of recovery codes, formatted for display: `XXXX-XXXX-XXXX-XXXX`.
/// Show them once; store only [`recovery_code_hashes`].
pub fn generate_recovery_codes(rng: &mut impl CryptoRng) -> [String; RECOVERY_CODE_COUNT] {
    std::array::from_fn(|_| {
        let symbols: Vec<char> = (0..RECOVERY_CODE_LEN)
            .map(|_| {
                let index = rng.random_range(0..RECOVERY_CODE_ALPHABET.len());
                RECOVERY_CODE_ALPHABET
                    .get(index)
                    .copied()
                    .map_or('0', char::from)
            })
            .collect();
        symbols
            .chunks(4)
            .map(|group| group.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join("-")
    })
}

/// A presented recovery code in canonical form: separators (dashes, spaces) dropped,
/// upper case, and the look-alikes Crockford's base32 folds (O to 0; I and L to 1).
/// `None` when it cannot be a code.
pub fn normalise_recovery_code(presented: &str) -> Option<String> {
    if presented.len() > MAX_RECOVERY_CODE_INPUT {
        return None;
    }
    let canonical: String = presented
        .chars()
        .filter(|character| !character.is_whitespace() && *character != '-')
        .map(|character| match character.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    let valid = canonical.len() == RECOVERY_CODE_LEN
        && canonical
            .bytes()
            .all(|byte| RECOVERY_CODE_ALPHABET.contains(&byte));
    valid.then_some(canonical)
}

/// SHA-256 over a tag, the user's id (the salt) and the canonical code.
fn recovery_code_digest(user_id: Uuid, canonical: &str) -> [u8; 32] {
    Sha256::new()
        .chain_update(RECOVERY_CODE_TAG)
        .chain_update(user_id.as_bytes())
        .chain_update(canonical.as_bytes())
        .finalize()
        .into()
}

/// The digest (lowercase hex) of one of `user_id`'s recovery codes, as
/// `user.recovery_codes.generated` stores it; `None` for something that is not a code.
pub fn recovery_code_hash(user_id: Uuid, code: &str) -> Option<String> {
    normalise_recovery_code(code)
        .map(|canonical| hex::encode(recovery_code_digest(user_id, &canonical)))
}

/// The digests of a set of codes made by [`generate_recovery_codes`] for `user_id`, for
/// `MfaCommand::EnrollTotp` / `RegenerateRecoveryCodes`.
pub fn recovery_code_hashes(user_id: Uuid, codes: &[String; RECOVERY_CODE_COUNT]) -> Vec<String> {
    codes
        .iter()
        .filter_map(|code| recovery_code_hash(user_id, code))
        .collect()
}

/// Which unused recovery code of `user_id`'s set the person typed, if any; then record
/// `MfaCommand::UseRecoveryCode { index }` (the domain refuses a second use, also when
/// two nodes race). Every code is compared, in constant time.
pub fn match_recovery_code(
    user_id: Uuid,
    codes: &[RecoveryCodeView],
    presented: &str,
) -> Option<usize> {
    let digest = recovery_code_digest(user_id, &normalise_recovery_code(presented)?);
    let mut found = None;
    for (index, code) in codes.iter().enumerate() {
        let equal: bool = code.hash.ct_eq(&digest).into();
        if equal && !code.used {
            found = Some(index);
        }
    }
    found
}

// Trusted devices.

/// A fresh device id for the "Remember this device" cookie: 256 random bits, base64url
/// without padding (43 characters).
pub fn new_device_id(rng: &mut impl CryptoRng) -> String {
    let bytes: [u8; DEVICE_ID_BYTES] = rng.random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The SHA-256 digest (lowercase hex) of a device id as the cookie holds it: what the
/// log stores and the read model is searched by. Any input is safe to hash: a tampered
/// cookie simply matches nothing.
pub fn device_id_hash(device_id: &str) -> String {
    hex::encode(Sha256::digest(device_id.as_bytes()))
}

/// A label people recognise, from the User-Agent: "Firefox on Linux", or the user agent
/// itself (cut) when it names no known browser, or "Unknown browser".
pub fn device_label(user_agent: Option<&str>) -> String {
    let Some(user_agent) = user_agent.map(str::trim).filter(|agent| !agent.is_empty()) else {
        return "Unknown browser".into();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("EdgA/", "Edge"),
        ("EdgiOS/", "Edge"),
        ("OPR/", "Opera"),
        ("Vivaldi/", "Vivaldi"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("Chromium/", "Chromium"),
        ("CriOS/", "Chrome"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .into_iter()
    .find(|(marker, _)| user_agent.contains(marker))
    .map(|(_, name)| name);
    let system = [
        ("Windows", "Windows"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Android", "Android"),
        ("CrOS", "ChromeOS"),
        ("Macintosh", "macOS"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(marker, _)| user_agent.contains(marker))
    .map(|(_, name)| name);
    let label = match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser.to_owned(),
        (None, _) => user_agent
            .chars()
            .filter(|character| !character.is_control())
            .collect(),
    };
    label.chars().take(MAX_DEVICE_LABEL).collect()
}

// What the tokens say.

/// `acr` of a sign-in with a fresh second factor (a code or a recovery code).
pub const ACR_MFA: &str = "urn:verity:acr:mfa";
/// `acr` of a sign-in where a trusted device stood in for the code.
pub const ACR_MFA_REMEMBERED: &str = "urn:verity:acr:mfa-remembered-device";
/// `amr` value for "a trusted device stood in for the second factor". RFC 8176 has
/// none for this; the name is Verity's own.
pub const AMR_TRUSTED_DEVICE: &str = "trusted_device";

/// The `amr` claim: `["pwd", "otp"]` after a code or a recovery code (both one-time
/// passwords in RFC 8176's sense), `["pwd", "trusted_device"]` when a trusted device
/// skipped the code.
pub fn amr(factor: SecondFactor) -> Vec<String> {
    let second = match factor {
        SecondFactor::Totp | SecondFactor::RecoveryCode => "otp",
        SecondFactor::TrustedDevice => AMR_TRUSTED_DEVICE,
    };
    vec!["pwd".into(), second.into()]
}

/// The `acr` claim: [`ACR_MFA`] or [`ACR_MFA_REMEMBERED`].
pub fn acr(factor: SecondFactor) -> &'static str {
    match factor {
        SecondFactor::Totp | SecondFactor::RecoveryCode => ACR_MFA,
        SecondFactor::TrustedDevice => ACR_MFA_REMEMBERED,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::Duration;

    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;
    use crate::testing::MemoryStore;

    /// RFC 6238 appendix B's SHA-1 secret ("12345678901234567890").
    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(*b"12345678901234567890")
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    fn rng() -> StdRng {
        StdRng::seed_from_u64(7)
    }

    /// The RFC's 8-digit values, cut to the last 6 digits (what 6-digit TOTP computes).
    const RFC_VECTORS: [(i64, &str); 6] = [
        (59, "287082"),
        (1_111_111_109, "081804"),
        (1_111_111_111, "050471"),
        (1_234_567_890, "005924"),
        (2_000_000_000, "279037"),
        (20_000_000_000, "353130"),
    ];

    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        for (time, code) in RFC_VECTORS {
            let step = u64::try_from(time).unwrap() / TOTP_STEP_SECONDS;
            assert_eq!(
                verify_code(&rfc_secret(), code, at(time)),
                Some(step),
                "{time}"
            );
        }
    }

    #[test]
    fn one_step_of_skew_is_accepted_either_way_and_no_more() {
        let (time, code) = (1_234_567_890, "005924");
        let step = 1_234_567_890 / 30;
        assert_eq!(verify_code(&rfc_secret(), code, at(time + 30)), Some(step));
        assert_eq!(verify_code(&rfc_secret(), code, at(time - 30)), Some(step));
        assert_eq!(verify_code(&rfc_secret(), code, at(time + 60)), None);
        assert_eq!(verify_code(&rfc_secret(), code, at(time - 60)), None);
    }

    #[test]
    fn wrong_and_malformed_codes_are_refused() {
        let time = at(1_234_567_890);
        for code in [
            "005925",
            "05924",
            "0059240",
            "+05924",
            "abcdef",
            "",
            &"1".repeat(1000),
        ] {
            assert_eq!(verify_code(&rfc_secret(), code, time), None, "{code:?}");
        }
        assert_eq!(verify_code(&rfc_secret(), "005924", at(-5)), None);
    }

    #[test]
    fn spaces_and_dashes_in_a_code_are_ignored() {
        let time = at(1_234_567_890);
        assert!(verify_code(&rfc_secret(), " 005 924 ", time).is_some());
        assert!(verify_code(&rfc_secret(), "005-924", time).is_some());
    }

    #[test]
    fn the_otpauth_uri_names_issuer_account_and_parameters() {
        let uri = otpauth_uri("Acme: Staff", "ada@example.org", &rfc_secret()).unwrap();
        assert!(
            uri.starts_with("otpauth://totp/Acme%20%20Staff:ada%40example.org?"),
            "{uri}"
        );
        assert!(
            uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
            "{uri}"
        );
        assert!(uri.contains("issuer=Acme%20%20Staff"), "{uri}");
        assert!(uri.ends_with("&algorithm=SHA1&digits=6&period=30"), "{uri}");
        // An authenticator app reading it gets the same secret and parameters.
        let app = Totp::from_url(&uri).unwrap();
        assert_eq!(app.secret().as_bytes(), rfc_secret().as_bytes());
        assert_eq!(app.algorithm(), Algorithm::SHA1);
        assert_eq!((app.digits(), app.step()), (6, 30));
        assert_eq!(app.generate(59).to_string(), "287082");
    }

    #[test]
    fn an_account_name_with_a_colon_is_an_error_not_a_panic() {
        assert!(matches!(
            otpauth_uri("Verity", "a:b", &rfc_secret()),
            Err(MfaError::Otpauth(_))
        ));
    }

    #[test]
    fn the_qr_code_is_an_inline_svg_without_script() {
        let uri = otpauth_uri("Verity", "ada@example.org", &rfc_secret()).unwrap();
        let svg = qr_svg(&uri, "QR code \"for\" <your> app").unwrap();
        assert!(svg.starts_with(r#"<svg role="img" aria-label="QR code &quot;for&quot; &lt;your&gt; app" xmlns="http://www.w3.org/2000/svg""#), "{svg}");
        assert!(svg.ends_with("</svg>"));
        assert!(!svg.contains("<?xml"));
        assert!(!svg.to_lowercase().contains("script"));
        assert!(!svg.contains("href"));
        // The secret is in the picture only as modules, never as text.
        assert!(!svg.contains("GEZDGNBV"));
    }

    #[test]
    fn the_secret_is_shown_in_groups_of_four() {
        assert_eq!(
            secret_base32_grouped(&rfc_secret()),
            "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"
        );
    }

    #[test]
    fn secrets_are_random_and_never_debug_printed() {
        let mut rng = rng();
        let first = TotpSecret::generate(&mut rng);
        let second = TotpSecret::generate(&mut rng);
        assert_ne!(first, second);
        let printed = format!("{first:?}");
        assert!(!printed.contains(&first.to_base32()));
        assert!(!printed.contains(&hex::encode(first.as_bytes())));
    }

    #[test]
    fn a_sealed_secret_opens_for_its_user_only() {
        let master = MasterKey::generate();
        let user = Uuid::from_u128(1);
        let secret = TotpSecret::generate(&mut rng());
        let sealed = seal_totp_secret(&master, user, &secret).unwrap();
        assert_eq!(sealed.split('.').count(), 5);
        assert!(!sealed.contains(&secret.to_base32()));
        assert_eq!(open_totp_secret(&master, user, &sealed).unwrap(), secret);

        assert_eq!(
            open_totp_secret(&master, Uuid::from_u128(2), &sealed),
            Err(MfaError::NotThisUsersSecret)
        );
        let other = MasterKey::generate();
        assert!(matches!(
            open_totp_secret(&other, user, &sealed),
            Err(MfaError::Decrypt { encrypted_under, this_node })
                if encrypted_under == master.id() && this_node == other.id()
        ));
        // A signing key's ciphertext is not a TOTP secret, even under the same master key.
        let private_key = crate::keys::encrypt_private_key(&master, "kid", b"key").unwrap();
        assert_eq!(
            open_totp_secret(&master, user, &private_key),
            Err(MfaError::NotThisUsersSecret)
        );
        assert!(open_totp_secret(&master, user, "not.a.jwe.at.all").is_err());
    }

    // Recovery codes.

    #[test]
    fn recovery_codes_are_readable_distinct_and_80_bits() {
        let codes = generate_recovery_codes(&mut rng());
        let distinct: BTreeSet<&String> = codes.iter().collect();
        assert_eq!(distinct.len(), RECOVERY_CODE_COUNT);
        for code in &codes {
            assert_eq!(code.len(), 19, "{code}");
            let groups: Vec<&str> = code.split('-').collect();
            assert_eq!(groups.len(), 4);
            assert!(groups.iter().all(|group| group.len() == 4));
            assert!(!code.contains(['I', 'L', 'O', 'U']));
        }
        // 16 symbols of a 32-symbol alphabet.
        assert_eq!(
            RECOVERY_CODE_LEN as f64 * (RECOVERY_CODE_ALPHABET.len() as f64).log2(),
            80.0
        );
        let hashes = recovery_code_hashes(ADA, &codes);
        // Salted per person: the same codes give other digests for someone else.
        assert!(
            recovery_code_hashes(BOB, &codes)
                .iter()
                .all(|hash| !hashes.contains(hash))
        );
        assert_eq!(hashes.len(), RECOVERY_CODE_COUNT);
        assert!(
            hashes
                .iter()
                .all(|hash| verity_domain::mfa::is_sha256_hex(hash))
        );
    }

    fn views(codes: &[String; RECOVERY_CODE_COUNT]) -> Vec<RecoveryCodeView> {
        recovery_code_hashes(ADA, codes)
            .iter()
            .map(|hash| {
                let mut digest = [0; 32];
                hex::decode_to_slice(hash, &mut digest).unwrap();
                RecoveryCodeView {
                    hash: digest,
                    used: false,
                }
            })
            .collect()
    }

    #[test]
    fn a_recovery_code_matches_however_it_is_typed() {
        let codes = generate_recovery_codes(&mut rng());
        let views = views(&codes);
        let code = &codes[6];
        let sloppy = code
            .replace('-', " ")
            .to_lowercase()
            .replace('0', "o")
            .replace('1', "l");
        for presented in [
            code.clone(),
            code.replace('-', ""),
            sloppy,
            format!("  {code} "),
        ] {
            assert_eq!(
                match_recovery_code(ADA, &views, &presented),
                Some(6),
                "{presented}"
            );
        }
    }

    #[test]
    fn a_used_wrong_or_malformed_recovery_code_matches_nothing() {
        let codes = generate_recovery_codes(&mut rng());
        let mut views = views(&codes);
        views[2].used = true;
        assert_eq!(match_recovery_code(ADA, &views, &codes[2]), None);
        // Another person's account never matches these codes.
        assert_eq!(match_recovery_code(BOB, &views, &codes[3]), None);
        let other = generate_recovery_codes(&mut StdRng::seed_from_u64(8));
        assert_eq!(match_recovery_code(ADA, &views, &other[0]), None);
        for presented in ["", "ABCD", "UUUU-UUUU-UUUU-UUUU", &"A".repeat(10_000)] {
            assert_eq!(match_recovery_code(ADA, &views, presented), None);
        }
    }

    // Devices.

    #[test]
    fn device_ids_are_256_bits_and_only_their_digest_is_kept() {
        let mut rng = rng();
        let id = new_device_id(&mut rng);
        assert_eq!(id.len(), 43);
        assert_eq!(URL_SAFE_NO_PAD.decode(&id).unwrap().len(), 32);
        assert_ne!(id, new_device_id(&mut rng));
        let hash = device_id_hash(&id);
        assert!(verity_domain::mfa::is_sha256_hex(&hash));
        assert_eq!(hash, device_id_hash(&id));
        assert_ne!(hash, device_id_hash(&format!("{id}x")));
    }

    #[test]
    fn device_labels_name_browser_and_system() {
        let cases = [
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                "Firefox on Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
                "Edge on Windows",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
                "Safari on iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15",
                "Safari on macOS",
            ),
        ];
        for (agent, label) in cases {
            assert_eq!(device_label(Some(agent)), label);
        }
        assert_eq!(device_label(None), "Unknown browser");
        assert_eq!(device_label(Some("  ")), "Unknown browser");
        assert_eq!(device_label(Some("curl/8.0\u{7}")), "curl/8.0");
        assert_eq!(
            device_label(Some(&"x".repeat(500))).chars().count(),
            MAX_DEVICE_LABEL
        );
    }

    const ADA: Uuid = Uuid::from_u128(1);
    const BOB: Uuid = Uuid::from_u128(2);

    #[tokio::test]
    async fn a_code_is_accepted_once() {
        let store = MemoryStore::default();
        let now = at(1_234_567_890);
        let step = 1_234_567_890 / 30;
        let secret = rfc_secret();
        let check = |user, now| check_code(&store, user, &secret, "005924", now);
        assert_eq!(check(ADA, now).await.unwrap(), CodeCheck::Accepted { step });
        assert_eq!(check(ADA, now).await.unwrap(), CodeCheck::Reused);
        // Still refused in the next step, where the skew would accept it.
        assert_eq!(
            check(ADA, now + Duration::seconds(30)).await.unwrap(),
            CodeCheck::Reused
        );
        // The claim is per person (same secret only in this test).
        assert_eq!(check(BOB, now).await.unwrap(), CodeCheck::Accepted { step });
        assert_eq!(
            check_code(&store, ADA, &rfc_secret(), "000000", now)
                .await
                .unwrap(),
            CodeCheck::Wrong
        );
    }

    #[tokio::test]
    async fn an_older_code_after_a_newer_one_is_refused() {
        let store = MemoryStore::default();
        let now = at(1_234_567_890);
        let step = 1_234_567_890 / 30;
        assert!(claim_totp_step(&store, ADA, step + 1, now).await.unwrap());
        assert!(!claim_totp_step(&store, ADA, step, now).await.unwrap());
    }

    #[test]
    fn a_step_stays_claimed_while_any_clock_could_accept_it() {
        // Step 10 covers [300, 330); with one step of skew its code works until 360.
        assert_eq!(step_claim_expires_at(10), at(360));
        assert_eq!(step_claim_expires_at(u64::MAX), DateTime::<Utc>::MAX_UTC);
    }

    #[test]
    fn amr_and_acr_say_how_the_second_factor_was_satisfied() {
        assert_eq!(amr(SecondFactor::Totp), ["pwd", "otp"]);
        assert_eq!(amr(SecondFactor::RecoveryCode), ["pwd", "otp"]);
        assert_eq!(amr(SecondFactor::TrustedDevice), ["pwd", "trusted_device"]);
        assert_eq!(acr(SecondFactor::Totp), "urn:verity:acr:mfa");
        assert_eq!(
            acr(SecondFactor::TrustedDevice),
            "urn:verity:acr:mfa-remembered-device"
        );
        assert_eq!(
            serde_json::to_string(&SecondFactor::RecoveryCode).unwrap(),
            "\"recovery_code\""
        );
    }
}
