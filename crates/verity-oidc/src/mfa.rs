//! The second factor's engine: TOTP secrets, codes and their single use, recovery codes,
//! device ids, failure limits, and what the tokens say about it (docs/mfa.md).
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
//! - [`FailureLimit`] counts failures per account in the expiring store (shared by every
//!   node) and locks after too many; [`ProgressiveDelay`] slows password guessing first.
//!
//! Everything here takes `now` and random generators as arguments; nothing reads the
//! clock or the system generator.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use qrcode::QrCode;
use qrcode::render::svg;
use rand::{CryptoRng, RngExt};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Builder, Totp};
use uuid::Uuid;
use verity_domain::mfa::{MAX_DEVICE_LABEL, RECOVERY_CODE_COUNT};
use verity_domain::{Email, Entry, ExpiringStore, StoreError};
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

/// Kinds of entries in the expiring store that belong to the second factor and to the
/// failure limits.
pub mod kind {
    /// A TOTP time step accepted for a user (key `<user_id>:<step>`).
    pub const TOTP_STEP: &str = "totp_step";
    /// Wrong codes in the current window (key: the user id).
    pub const MFA_FAILURES: &str = "mfa_failures";
    /// The MFA step is locked (key: the user id; value: the end, RFC 3339).
    pub const MFA_LOCK: &str = "mfa_lock";
    /// Wrong passwords in the current window (key: [`super::password_failure_key`]).
    pub const PASSWORD_FAILURES: &str = "password_failures";
    /// Password sign-in is locked (key: [`super::password_failure_key`]).
    pub const PASSWORD_LOCK: &str = "password_lock";
    /// Failed sign-ins (wrong passwords, unknown addresses, wrong codes) from one client
    /// address in the current window (key: [`super::client_ip_failure_key`]).
    pub const IP_FAILURES: &str = "ip_failures";
    /// Sign-in from one client address is locked (key: [`super::client_ip_failure_key`]).
    pub const IP_LOCK: &str = "ip_lock";
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

// Failure limits.

/// Failures counted per account or per client address across nodes (the expiring store is
/// shared), and a lock once there are too many: the MFA step after 5 wrong codes, password
/// sign-in after 10 wrong passwords, sign-in from one client address after 100 failures of
/// either kind, each within a window (15 minutes by default; `[mfa]`/`[passwords]`/
/// `[sign_in]`).
///
/// Around a check, the page calls [`FailureLimit::state`] first (locked: say so, check
/// nothing), then [`FailureLimit::record_failure`] on a failure or
/// [`FailureLimit::reset`] on success ("5 in a row"). The per-address limit is never
/// reset by a success: one valid account must not clear what its network did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureLimit {
    failures_kind: &'static str,
    lock_kind: &'static str,
    /// Failures that lock.
    pub max_failures: u64,
    /// How long failures are counted: the window starts at the first failure.
    pub window: Duration,
    /// How long the lock lasts from the failure that set it.
    pub lock_for: Duration,
}

/// Whether a step is locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LockState {
    /// Attempts are allowed.
    #[default]
    Open,
    /// Locked until then.
    Locked {
        /// When attempts are allowed again.
        until: DateTime<Utc>,
    },
}

impl LockState {
    /// When attempts are allowed again, if they are not now.
    pub fn until(self) -> Option<DateTime<Utc>> {
        match self {
            Self::Open => None,
            Self::Locked { until } => Some(until),
        }
    }
}

/// Where a key stands with a [`FailureLimit`]: locked or not, and the failures counted in
/// the current window. The default is a key nothing was recorded for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Standing {
    /// Whether attempts are allowed.
    pub lock: LockState,
    /// Failures counted in the current window (0 when none or the window passed).
    pub failures: u64,
}

/// What recording a failure found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureRecorded {
    /// Failures in the current window, this one included.
    pub failures: u64,
    /// Set when this failure locked the step.
    pub locked_until: Option<DateTime<Utc>>,
}

impl FailureLimit {
    /// The MFA step's limit (`[mfa] max_failures`, `lockout_minutes`), keyed by
    /// [`mfa_failure_key`].
    pub fn mfa(max_failures: u64, window: Duration, lock_for: Duration) -> Self {
        Self {
            failures_kind: kind::MFA_FAILURES,
            lock_kind: kind::MFA_LOCK,
            max_failures,
            window,
            lock_for,
        }
    }

    /// Password sign-in's limit (`[passwords] max_failures`, ...), keyed by
    /// [`password_failure_key`].
    pub fn passwords(max_failures: u64, window: Duration, lock_for: Duration) -> Self {
        Self {
            failures_kind: kind::PASSWORD_FAILURES,
            lock_kind: kind::PASSWORD_LOCK,
            max_failures,
            window,
            lock_for,
        }
    }

    /// The limit on failed sign-ins from one client address (`[sign_in] ip_max_failures`,
    /// ...), keyed by [`client_ip_failure_key`].
    pub fn client_ip(max_failures: u64, window: Duration, lock_for: Duration) -> Self {
        Self {
            failures_kind: kind::IP_FAILURES,
            lock_kind: kind::IP_LOCK,
            max_failures,
            window,
            lock_for,
        }
    }

    /// Whether this many failures in a window lock (pure).
    pub fn locks_at(&self, failures: u64) -> bool {
        failures >= self.max_failures.max(1)
    }

    /// Whether `key` is locked at `now`.
    pub async fn state(
        &self,
        store: &dyn ExpiringStore,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<LockState, StoreError> {
        let lock = store.get(self.lock_kind, key, now).await?;
        Ok(self.lock_state(lock.as_deref(), now))
    }

    /// The state of a lock entry's value (`None`: no live lock).
    fn lock_state(&self, lock: Option<&[u8]>, now: DateTime<Utc>) -> LockState {
        match lock {
            None => LockState::Open,
            Some(value) => LockState::Locked {
                until: std::str::from_utf8(value)
                    .ok()
                    .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
                    .map_or(now + self.lock_for, |until| until.with_timezone(&Utc)),
            },
        }
    }

    /// The two entries that say where `key` stands, for one
    /// [`ExpiringStore::get_many`] with other reads: its lock, then its failures.
    pub fn entries<'k>(&self, key: &'k str) -> [(&'static str, &'k str); 2] {
        [(self.lock_kind, key), (self.failures_kind, key)]
    }

    /// Where a key stands, from the two entries [`FailureLimit::entries`] named.
    pub fn standing(
        &self,
        lock: Option<&Entry>,
        failures: Option<&Entry>,
        now: DateTime<Utc>,
    ) -> Standing {
        Standing {
            lock: self.lock_state(lock.map(|entry| entry.value.as_slice()), now),
            failures: failures.map_or(0, |entry| entry.count),
        }
    }

    /// Failures counted so far in the current window.
    pub async fn failures(
        &self,
        store: &dyn ExpiringStore,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        store.count(self.failures_kind, key, now).await
    }

    /// Counts one failure; locks when it reaches the limit (and starts counting afresh
    /// for after the lock).
    pub async fn record_failure(
        &self,
        store: &dyn ExpiringStore,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<FailureRecorded, StoreError> {
        let failures = store
            .increment(self.failures_kind, key, now + self.window, now)
            .await?;
        if !self.locks_at(failures) {
            return Ok(FailureRecorded {
                failures,
                locked_until: None,
            });
        }
        let until = now + self.lock_for;
        store
            .put(self.lock_kind, key, until.to_rfc3339().as_bytes(), until)
            .await?;
        store.remove(self.failures_kind, key).await?;
        Ok(FailureRecorded {
            failures,
            locked_until: Some(until),
        })
    }

    /// Forgets the failures after a success. A lock stays until it ends.
    pub async fn reset(&self, store: &dyn ExpiringStore, key: &str) -> Result<(), StoreError> {
        store.remove(self.failures_kind, key).await
    }

    /// Lifts a lock and forgets the failures: an admin's unlock (`verity user unlock`).
    pub async fn clear(&self, store: &dyn ExpiringStore, key: &str) -> Result<(), StoreError> {
        store.remove(self.lock_kind, key).await?;
        store.remove(self.failures_kind, key).await
    }
}

/// The expiring-store key of a user's MFA failures.
pub fn mfa_failure_key(user_id: Uuid) -> String {
    user_id.to_string()
}

/// The expiring-store key of password failures for an address: the SHA-256 (hex) of the
/// normalised email, so that unknown addresses are counted and locked exactly like
/// known ones (no enumeration through the lock) and no address is stored in clear.
pub fn password_failure_key(email: &Email) -> String {
    hex::encode(Sha256::digest(email.as_str().as_bytes()))
}

/// The expiring-store key of failed sign-ins from a client address: an IPv4 address as
/// itself, an IPv6 address as its /64 network (`2001:db8:1:2::/64`). One IPv6 subscriber
/// usually holds a whole /64 and can pick any address in it, so counting single IPv6
/// addresses would let one client spread its failures over 2^64 counters. An IPv4 address
/// mapped into IPv6 (`::ffff:192.0.2.1`) counts as the IPv4 address.
pub fn client_ip_failure_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let network = Ipv6Addr::from(u128::from(v6) & !(u128::MAX >> 64));
            format!("{network}/64")
        }
    }
}

/// A growing pause before answering a wrong password: none for the first
/// `after_failures - 1` failures, then 1 s, 2 s, 4 s, ... up to `max` (by default 1 s
/// after the 3rd failure, then doubling, at most 8 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgressiveDelay {
    /// The failure count at which the delay starts (at 1 second).
    pub after_failures: u64,
    /// The longest delay.
    pub max: std::time::Duration,
}

impl ProgressiveDelay {
    /// The delay after `failures` failures in the window (pure):
    /// `min(2^(failures - after_failures), max)` seconds once `failures >= after_failures`.
    pub fn delay(&self, failures: u64) -> std::time::Duration {
        let Some(doublings) = failures.checked_sub(self.after_failures.max(1)) else {
            return std::time::Duration::ZERO;
        };
        let seconds = 1u64.checked_shl(u32::try_from(doublings).unwrap_or(u32::MAX));
        seconds
            .map_or(self.max, std::time::Duration::from_secs)
            .min(self.max)
    }
}

impl Default for ProgressiveDelay {
    fn default() -> Self {
        Self {
            after_failures: 3,
            max: std::time::Duration::from_secs(8),
        }
    }
}

// What the tokens say.

/// How the second factor was satisfied in a sign-in: what `user.signin.succeeded`
/// should record and what `amr`/`acr` say (docs/mfa.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecondFactor {
    /// A TOTP code (also at enrollment, where the person just proved the app works).
    Totp,
    /// A recovery code in place of a TOTP code.
    RecoveryCode,
    /// No code: this browser holds a valid trusted-device cookie for this person.
    TrustedDevice,
}

/// `acr` of a sign-in with a fresh second factor (a code or a recovery code).
pub const ACR_MFA: &str = "urn:verity:acr:mfa";
/// `acr` of a sign-in where a trusted device stood in for the code.
pub const ACR_MFA_REMEMBERED: &str = "urn:verity:acr:mfa-remembered-device";
/// `amr` value for "a trusted device stood in for the second factor". RFC 8176 has
/// none for this; the name is Verity's own.
pub const AMR_TRUSTED_DEVICE: &str = "trusted_device";

impl SecondFactor {
    /// The `amr` claim: `["pwd", "otp"]` after a code or a recovery code (both one-time
    /// passwords in RFC 8176's sense), `["pwd", "trusted_device"]` when a trusted device
    /// skipped the code.
    pub fn amr(self) -> Vec<String> {
        let second = match self {
            Self::Totp | Self::RecoveryCode => "otp",
            Self::TrustedDevice => AMR_TRUSTED_DEVICE,
        };
        vec!["pwd".into(), second.into()]
    }

    /// The `acr` claim: [`ACR_MFA`] or [`ACR_MFA_REMEMBERED`].
    pub fn acr(self) -> &'static str {
        match self {
            Self::Totp | Self::RecoveryCode => ACR_MFA,
            Self::TrustedDevice => ACR_MFA_REMEMBERED,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap};
    use std::sync::Mutex;

    use async_trait::async_trait;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

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

    // Failure limits, against an in-memory expiring store with the port's semantics.

    /// (kind, key) to (value, expiry).
    type Entries = HashMap<(String, String), (Vec<u8>, DateTime<Utc>)>;

    #[derive(Default)]
    struct MemoryStore(Mutex<Entries>);

    impl MemoryStore {
        fn live(&self, kind: &str, key: &str, now: DateTime<Utc>) -> Option<Vec<u8>> {
            let entries = self.0.lock().unwrap();
            entries
                .get(&(kind.into(), key.into()))
                .filter(|(_, expires_at)| *expires_at > now)
                .map(|(value, _)| value.clone())
        }
    }

    #[async_trait]
    impl ExpiringStore for MemoryStore {
        async fn put(
            &self,
            kind: &str,
            key: &str,
            value: &[u8],
            expires_at: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            let mut entries = self.0.lock().unwrap();
            entries.insert((kind.into(), key.into()), (value.to_vec(), expires_at));
            Ok(())
        }

        async fn put_new(
            &self,
            kind: &str,
            key: &str,
            value: &[u8],
            expires_at: DateTime<Utc>,
            now: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            if self.live(kind, key, now).is_some() {
                return Ok(false);
            }
            self.put(kind, key, value, expires_at).await?;
            Ok(true)
        }

        async fn get(
            &self,
            kind: &str,
            key: &str,
            now: DateTime<Utc>,
        ) -> Result<Option<Vec<u8>>, StoreError> {
            Ok(self.live(kind, key, now))
        }

        async fn get_many(
            &self,
            keys: &[(&str, &str)],
            now: DateTime<Utc>,
        ) -> Result<Vec<Option<Entry>>, StoreError> {
            // Counters hold their count as the value (see `increment`).
            Ok(keys
                .iter()
                .map(|(kind, key)| {
                    self.live(kind, key, now).map(|value| Entry {
                        count: value.as_slice().try_into().map_or(0, u64::from_le_bytes),
                        value,
                    })
                })
                .collect())
        }

        async fn take(
            &self,
            kind: &str,
            key: &str,
            now: DateTime<Utc>,
        ) -> Result<Option<Vec<u8>>, StoreError> {
            let value = self.live(kind, key, now);
            self.remove(kind, key).await?;
            Ok(value)
        }

        async fn remove(&self, kind: &str, key: &str) -> Result<(), StoreError> {
            self.0.lock().unwrap().remove(&(kind.into(), key.into()));
            Ok(())
        }

        async fn increment(
            &self,
            kind: &str,
            key: &str,
            window_expires_at: DateTime<Utc>,
            now: DateTime<Utc>,
        ) -> Result<u64, StoreError> {
            let count = match self.live(kind, key, now) {
                Some(value) => u64::from_le_bytes(value.try_into().unwrap()) + 1,
                None => 1,
            };
            let mut entries = self.0.lock().unwrap();
            let expires_at = entries
                .get(&(kind.into(), key.into()))
                .filter(|(_, expires_at)| *expires_at > now)
                .map_or(window_expires_at, |(_, expires_at)| *expires_at);
            entries.insert(
                (kind.into(), key.into()),
                (count.to_le_bytes().to_vec(), expires_at),
            );
            Ok(count)
        }

        async fn count(
            &self,
            kind: &str,
            key: &str,
            now: DateTime<Utc>,
        ) -> Result<u64, StoreError> {
            Ok(self
                .live(kind, key, now)
                .map_or(0, |value| u64::from_le_bytes(value.try_into().unwrap())))
        }

        async fn purge_expired(&self, _now: DateTime<Utc>) -> Result<u64, StoreError> {
            Ok(0)
        }
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

    fn mfa_limit() -> FailureLimit {
        FailureLimit::mfa(5, Duration::minutes(15), Duration::minutes(15))
    }

    #[tokio::test]
    async fn five_wrong_codes_in_a_row_lock_the_mfa_step_for_fifteen_minutes() {
        let store = MemoryStore::default();
        let limit = mfa_limit();
        let key = mfa_failure_key(ADA);
        let now = at(1_000_000);
        for failure in 1..=4 {
            let recorded = limit.record_failure(&store, &key, now).await.unwrap();
            assert_eq!(
                recorded,
                FailureRecorded {
                    failures: failure,
                    locked_until: None
                }
            );
            assert_eq!(
                limit.state(&store, &key, now).await.unwrap(),
                LockState::Open
            );
        }
        let recorded = limit.record_failure(&store, &key, now).await.unwrap();
        let until = now + Duration::minutes(15);
        assert_eq!(recorded.locked_until, Some(until));
        assert_eq!(
            limit
                .state(&store, &key, now + Duration::minutes(14))
                .await
                .unwrap(),
            LockState::Locked { until }
        );
        assert_eq!(
            limit.state(&store, &key, until).await.unwrap(),
            LockState::Open
        );
        // Another person is not affected.
        assert_eq!(
            limit
                .state(&store, &mfa_failure_key(BOB), now)
                .await
                .unwrap(),
            LockState::Open
        );
    }

    #[tokio::test]
    async fn the_standing_read_with_other_entries_is_what_state_and_failures_say() {
        let store = MemoryStore::default();
        let limit = mfa_limit();
        let key = mfa_failure_key(ADA);
        let now = at(1_000_000);
        let (store, limit, key) = (&store, &limit, key.as_str());
        let standing = |now| async move {
            let entries = store.get_many(&limit.entries(key), now).await.unwrap();
            limit.standing(entries[0].as_ref(), entries[1].as_ref(), now)
        };
        assert_eq!(standing(now).await, Standing::default());
        for _ in 0..3 {
            limit.record_failure(store, key, now).await.unwrap();
        }
        assert_eq!(
            standing(now).await,
            Standing {
                lock: LockState::Open,
                failures: 3
            }
        );
        for _ in 0..2 {
            limit.record_failure(store, key, now).await.unwrap();
        }
        let until = now + Duration::minutes(15);
        assert_eq!(standing(now).await.lock, LockState::Locked { until });
        assert_eq!(
            standing(now).await.lock,
            limit.state(store, key, now).await.unwrap()
        );
        assert_eq!(standing(until).await, Standing::default());
    }

    #[tokio::test]
    async fn a_success_resets_the_count() {
        let store = MemoryStore::default();
        let limit = mfa_limit();
        let key = mfa_failure_key(ADA);
        let now = at(1_000_000);
        for _ in 0..4 {
            limit.record_failure(&store, &key, now).await.unwrap();
        }
        limit.reset(&store, &key).await.unwrap();
        assert_eq!(limit.failures(&store, &key, now).await.unwrap(), 0);
        let recorded = limit.record_failure(&store, &key, now).await.unwrap();
        assert_eq!(recorded.failures, 1);
        assert_eq!(recorded.locked_until, None);
    }

    #[tokio::test]
    async fn failures_outside_the_window_are_forgotten() {
        let store = MemoryStore::default();
        let limit = mfa_limit();
        let key = mfa_failure_key(ADA);
        for _ in 0..4 {
            limit.record_failure(&store, &key, at(0)).await.unwrap();
        }
        let later = at(0) + Duration::minutes(15);
        assert_eq!(limit.failures(&store, &key, later).await.unwrap(), 0);
        let recorded = limit.record_failure(&store, &key, later).await.unwrap();
        assert_eq!(recorded.failures, 1);
    }

    #[test]
    fn the_password_limit_locks_at_ten() {
        let limit = FailureLimit::passwords(10, Duration::minutes(15), Duration::minutes(15));
        assert!(!limit.locks_at(9));
        assert!(limit.locks_at(10));
        assert!(limit.locks_at(11));
    }

    #[test]
    fn the_password_delay_doubles_after_three_failures_up_to_eight_seconds() {
        let delay = ProgressiveDelay::default();
        let seconds: Vec<u64> = (0..=8)
            .map(|failures| delay.delay(failures).as_secs())
            .collect();
        assert_eq!(seconds, [0, 0, 0, 1, 2, 4, 8, 8, 8]);
        assert_eq!(delay.delay(u64::MAX), std::time::Duration::from_secs(8));
    }

    #[test]
    fn password_failures_are_keyed_by_a_digest_of_the_address() {
        let key = password_failure_key(&Email::parse("Ada@Example.org").unwrap());
        assert_eq!(
            key,
            password_failure_key(&Email::parse("ada@example.org").unwrap())
        );
        assert!(!key.contains("ada"));
        assert_eq!(key.len(), 64);
    }

    #[test]
    fn client_ip_failures_are_keyed_by_the_ipv4_address_or_the_ipv6_slash_64() {
        let key = |text: &str| client_ip_failure_key(text.parse().unwrap());
        assert_eq!(key("192.0.2.7"), "192.0.2.7");
        assert_eq!(key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
    }

    #[tokio::test]
    async fn the_client_ip_limit_has_its_own_counters() {
        let store = MemoryStore::default();
        let ip_limit = FailureLimit::client_ip(2, Duration::minutes(15), Duration::minutes(15));
        let key = client_ip_failure_key("192.0.2.7".parse().unwrap());
        let now = at(1_000_000);
        ip_limit.record_failure(&store, &key, now).await.unwrap();
        let recorded = ip_limit.record_failure(&store, &key, now).await.unwrap();
        assert_eq!(recorded.locked_until, Some(now + Duration::minutes(15)));
        assert_eq!(
            mfa_limit().state(&store, &key, now).await.unwrap(),
            LockState::Open,
            "another limit with the same key is not locked"
        );
    }

    // What the tokens say.

    #[test]
    fn amr_and_acr_say_how_the_second_factor_was_satisfied() {
        assert_eq!(SecondFactor::Totp.amr(), ["pwd", "otp"]);
        assert_eq!(SecondFactor::RecoveryCode.amr(), ["pwd", "otp"]);
        assert_eq!(SecondFactor::TrustedDevice.amr(), ["pwd", "trusted_device"]);
        assert_eq!(SecondFactor::Totp.acr(), "urn:verity:acr:mfa");
        assert_eq!(
            SecondFactor::TrustedDevice.acr(),
            "urn:verity:acr:mfa-remembered-device"
        );
        assert_eq!(
            serde_json::to_string(&SecondFactor::RecoveryCode).unwrap(),
            "\"recovery_code\""
        );
    }
}
