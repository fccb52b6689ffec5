//! The second factor, on the user's stream: the authenticator app (TOTP), the recovery
//! codes that stand in for it, and the devices a person chose to trust.
//!
//! These are rules of the [`User`](crate::user::User) aggregate: its commands carry an
//! [`MfaCommand`], its events an [`MfaEvent`], and `decide` hands both to
//! [`MfaState::decide`] after checking that the user exists (and, where it matters, is not
//! disabled). Keeping them on the user's stream means one optimistic-concurrency check
//! covers the password and the second factor together: two nodes using the same recovery
//! code at once cannot both succeed.
//!
//! Secrets never reach this crate in clear:
//! - the TOTP secret arrives as a compact JWE (encrypted under the master key by the
//!   engine); anything else is refused;
//! - recovery codes and device ids arrive as SHA-256 digests (64 lowercase hex digits);
//!   the codes are 80-bit random values and the device ids 256-bit ones, so a fast hash
//!   is enough (nobody can guess through it; docs/mfa.md explains).
//!
//! Deliberately absent: the time step of an accepted TOTP code. Refusing the same code
//! twice is protocol state, kept in the expiring store (`put_new`, atomic across nodes,
//! see `verity_oidc::mfa`), not a fact for the log; the successful sign-in is the fact.
//!
//! Enrolling twice is refused. An admin who must replace a lost authenticator app resets
//! it first ([`MfaCommand::ResetAuthenticator`], `user.totp.reset`): the app and every
//! recovery code stop working, the devices it vouched for are forgotten in the same
//! append, and the next sign-in sets up an app again like a first one.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::domain_events;
use crate::key::is_compact_jwe;

/// Longest authenticator app name, in characters (after trimming).
pub const MAX_APP_NAME: usize = 64;
/// How many recovery codes are generated at a time.
pub const RECOVERY_CODE_COUNT: usize = 10;
/// Longest encrypted TOTP secret accepted (a JWE of a 20-byte secret is about 250 bytes).
pub const MAX_ENCRYPTED_SECRET: usize = 2048;
/// Longest device label, in characters; longer labels are cut.
pub const MAX_DEVICE_LABEL: usize = 64;
/// Most devices one person may trust at once. Trusting one more forgets the one whose
/// trust ends first, in the same append, so a person's state stays small.
pub const MAX_TRUSTED_DEVICES: usize = 10;
/// Hex digits of a device id's hash that name the device where people read it (lists,
/// the audit's explanations); the whole hash is never shown.
pub const DEVICE_NAME_DIGITS: usize = 12;

/// The name of the device whose id hashes to `device_id_hash`: its first
/// [`DEVICE_NAME_DIGITS`] hex digits.
pub fn device_name(device_id_hash: &str) -> &str {
    device_id_hash
        .get(..DEVICE_NAME_DIGITS)
        .unwrap_or(device_id_hash)
}

/// Stored type name of [`TotpEnrolled`].
pub const USER_TOTP_ENROLLED: &str = "user.totp.enrolled";
/// Stored type name of [`RecoveryCodesGenerated`].
pub const USER_RECOVERY_CODES_GENERATED: &str = "user.recovery_codes.generated";
/// Stored type name of [`RecoveryCodeUsed`].
pub const USER_RECOVERY_CODE_USED: &str = "user.recovery_code.used";
/// Stored type name of [`DeviceTrusted`].
pub const USER_DEVICE_TRUSTED: &str = "user.device.trusted";
/// Stored type name of [`DeviceForgotten`].
pub const USER_DEVICE_FORGOTTEN: &str = "user.device.forgotten";
/// Stored type name of [`TotpReset`].
pub const USER_TOTP_RESET: &str = "user.totp.reset";

/// What can be asked of a user's second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MfaCommand {
    /// The person confirmed their authenticator app with a valid code: record the app
    /// and its first set of recovery codes (two events, one append).
    EnrollTotp {
        /// The name they gave the app (a hint at later sign-ins).
        app_name: String,
        /// The TOTP secret as a compact JWE under the master key.
        encrypted_secret: String,
        /// SHA-256 digests (hex) of the [`RECOVERY_CODE_COUNT`] recovery codes.
        recovery_code_hashes: Vec<String>,
    },
    /// Replace the recovery codes with a fresh set (every old code stops working).
    RegenerateRecoveryCodes {
        /// SHA-256 digests (hex) of the new codes.
        code_hashes: Vec<String>,
    },
    /// A recovery code was presented in place of a TOTP code.
    UseRecoveryCode {
        /// Which code of the current set matched.
        index: usize,
    },
    /// The person ticked "Remember this device".
    TrustDevice {
        /// SHA-256 digest (hex) of the device id held in the browser's cookie.
        device_id_hash: String,
        /// Where it is, for people to recognise (from the user agent).
        label: String,
        /// When the trust ends.
        expires_at: DateTime<Utc>,
    },
    /// Stop trusting one device.
    ForgetDevice {
        /// SHA-256 digest (hex) of its device id.
        device_id_hash: String,
        /// Why.
        reason: ForgetReason,
    },
    /// Stop trusting every device whose trust has not ended yet: one
    /// `user.device.forgotten` per device.
    ForgetAllDevices {
        /// Why.
        reason: ForgetReason,
    },
    /// An admin removes the authenticator app of a person who lost it (and their
    /// recovery codes): `user.totp.reset`, then one `user.device.forgotten`
    /// ([`ForgetReason::AuthenticatorReset`]) per device still trusted, in one append.
    /// The devices were vouched for by the old app, so they go with it.
    ResetAuthenticator,
}

impl MfaCommand {
    /// Whether a disabled user is refused this command. Forgetting devices and resetting
    /// the authenticator app stay possible: they only take ways in away, and an admin may
    /// well want to prepare a disabled account before enabling it again.
    pub fn refused_when_disabled(&self) -> bool {
        !matches!(
            self,
            Self::ForgetDevice { .. } | Self::ForgetAllDevices { .. } | Self::ResetAuthenticator
        )
    }
}

/// Why a device stopped being trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForgetReason {
    /// The person ticked "Forget this device as trusted environment" at logout.
    Logout,
    /// Revoked by an admin or by the person (the event's actor says who).
    Revoked,
    /// The person trusted more than [`MAX_TRUSTED_DEVICES`] devices; this one's trust
    /// would have ended first.
    LimitReached,
    /// An admin reset the person's authenticator app, which had vouched for the device.
    AuthenticatorReset,
    /// An admin disabled the account: nothing it trusted stays trusted.
    AccountDisabled,
}

/// What a user's second factor records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MfaEvent {
    /// `user.totp.enrolled`
    TotpEnrolled(TotpEnrolled),
    /// `user.recovery_codes.generated`
    RecoveryCodesGenerated(RecoveryCodesGenerated),
    /// `user.recovery_code.used`
    RecoveryCodeUsed(RecoveryCodeUsed),
    /// `user.device.trusted`
    DeviceTrusted(DeviceTrusted),
    /// `user.device.forgotten`
    DeviceForgotten(DeviceForgotten),
    /// `user.totp.reset`
    TotpReset(TotpReset),
}

/// Payload of `user.totp.enrolled`.
///
/// `Debug` leaves the ciphertext out: it is harmless without the master key, but there
/// is no reason to spread it into logs.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpEnrolled {
    /// The authenticator app's name, trimmed, 1 to [`MAX_APP_NAME`] characters.
    pub app_name: String,
    /// The TOTP secret, a compact JWE under the master key.
    pub encrypted_secret: String,
    /// When the code that confirmed it was accepted.
    pub enrolled_at: DateTime<Utc>,
}

impl std::fmt::Debug for TotpEnrolled {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("TotpEnrolled")
            .field("app_name", &self.app_name)
            .field("enrolled_at", &self.enrolled_at)
            .finish_non_exhaustive()
    }
}

/// Payload of `user.recovery_codes.generated`: a new set that replaces any previous one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodesGenerated {
    /// SHA-256 digests (lowercase hex) of the codes, in the order they were shown.
    pub code_hashes: Vec<String>,
}

/// Payload of `user.recovery_code.used`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodeUsed {
    /// Position of the code in the current set.
    pub index: usize,
}

/// Payload of `user.device.trusted`. When it was trusted is the event's `occurred_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceTrusted {
    /// SHA-256 digest (lowercase hex) of the device id in the browser's cookie.
    pub device_id_hash: String,
    /// A label from the user agent, at most [`MAX_DEVICE_LABEL`] characters.
    pub label: String,
    /// When the trust ends.
    pub expires_at: DateTime<Utc>,
}

/// Payload of `user.device.forgotten`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceForgotten {
    /// SHA-256 digest (lowercase hex) of the device id.
    pub device_id_hash: String,
    /// Why.
    pub reason: ForgetReason,
}

/// Payload of `user.totp.reset`: the authenticator app is gone and every recovery code
/// of the current set is dead; the person sets up an app again at the next sign-in.
///
/// Empty on purpose: what was removed is in the earlier events of the stream, who removed
/// it in the metadata's actor. A later field would come with a new schema version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpReset {}

domain_events! {
    MfaEvent {
        TotpEnrolled(TotpEnrolled) => USER_TOTP_ENROLLED,
        RecoveryCodesGenerated(RecoveryCodesGenerated) => USER_RECOVERY_CODES_GENERATED,
        RecoveryCodeUsed(RecoveryCodeUsed) => USER_RECOVERY_CODE_USED,
        DeviceTrusted(DeviceTrusted) => USER_DEVICE_TRUSTED,
        DeviceForgotten(DeviceForgotten) => USER_DEVICE_FORGOTTEN,
        TotpReset(TotpReset) => USER_TOTP_RESET,
    }
}

/// Why a second-factor command is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MfaError {
    /// Enrolling a second authenticator app (an admin resets the first one before).
    #[error("an authenticator app is already set up")]
    AlreadyEnrolled,
    /// Recovery codes, device trust or a reset without an authenticator app.
    #[error("no authenticator app is set up")]
    NotEnrolled,
    /// Empty or overlong app name.
    #[error("an authenticator app name must have 1 to {MAX_APP_NAME} characters")]
    InvalidAppName,
    /// The secret is not a compact JWE: it would enter the log in clear.
    #[error("a TOTP secret must be stored encrypted, as a compact JWE")]
    SecretNotEncrypted,
    /// Not exactly [`RECOVERY_CODE_COUNT`] distinct SHA-256 digests: a code could be in
    /// clear, or a set could be short.
    #[error("recovery codes must be {RECOVERY_CODE_COUNT} distinct SHA-256 digests (hex)")]
    InvalidRecoveryCodes,
    /// No code at this position.
    #[error("no recovery code {0}")]
    NoSuchRecoveryCode(usize),
    /// The code was used before.
    #[error("recovery code {0} was already used")]
    RecoveryCodeAlreadyUsed(usize),
    /// A device id hash that is not a SHA-256 digest (hex).
    #[error("a device id must be stored as a SHA-256 digest (hex)")]
    InvalidDeviceHash,
    /// An empty label.
    #[error("a device label must not be empty")]
    InvalidDeviceLabel,
    /// The trust would already be over.
    #[error("a device's trust must end in the future")]
    ExpiryInThePast,
    /// The device is trusted already.
    #[error("this device is already trusted")]
    DeviceAlreadyTrusted,
    /// Forgetting a device that is not trusted (never was, or forgotten already).
    #[error("this device is not trusted")]
    DeviceNotTrusted,
    /// Forgetting all devices when none is trusted.
    #[error("no device is trusted")]
    NoTrustedDevice,
}

/// The second factor as its rules see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MfaState {
    /// Whether an authenticator app is set up.
    pub totp_enrolled: bool,
    /// Per recovery code of the current set, whether it was used.
    pub recovery_codes_used: Vec<bool>,
    /// Devices trusted and not forgotten: device id hash to the end of their trust. Ones
    /// whose trust ended stay until forgotten; the rules compare with `now`.
    pub trusted_devices: BTreeMap<String, DateTime<Utc>>,
}

/// Whether `text` is a SHA-256 digest in lowercase hex: the only form in which recovery
/// codes and device ids reach the log.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
}

/// Checks a new set of recovery-code digests.
fn valid_code_hashes(hashes: &[String]) -> Result<(), MfaError> {
    let distinct: std::collections::BTreeSet<&String> = hashes.iter().collect();
    if hashes.len() != RECOVERY_CODE_COUNT
        || distinct.len() != hashes.len()
        || !hashes.iter().all(|hash| is_sha256_hex(hash))
    {
        return Err(MfaError::InvalidRecoveryCodes);
    }
    Ok(())
}

/// A device label as stored: control characters dropped, whitespace trimmed, at most
/// [`MAX_DEVICE_LABEL`] characters.
fn clean_label(label: &str) -> String {
    let cleaned: String = label.chars().filter(|c| !c.is_control()).collect();
    let cut: String = cleaned.trim().chars().take(MAX_DEVICE_LABEL).collect();
    cut.trim_end().to_owned()
}

impl MfaState {
    /// Every rule of the second factor. The caller (the user aggregate) has checked that
    /// the user exists and, for [`MfaCommand::refused_when_disabled`], is enabled.
    pub fn decide(
        &self,
        command: &MfaCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<MfaEvent>, MfaError> {
        match command {
            MfaCommand::EnrollTotp {
                app_name,
                encrypted_secret,
                recovery_code_hashes,
            } => {
                if self.totp_enrolled {
                    return Err(MfaError::AlreadyEnrolled);
                }
                let app_name = app_name.trim();
                if app_name.is_empty()
                    || app_name.chars().count() > MAX_APP_NAME
                    || app_name.chars().any(char::is_control)
                {
                    return Err(MfaError::InvalidAppName);
                }
                if encrypted_secret.len() > MAX_ENCRYPTED_SECRET
                    || !is_compact_jwe(encrypted_secret)
                {
                    return Err(MfaError::SecretNotEncrypted);
                }
                valid_code_hashes(recovery_code_hashes)?;
                Ok(vec![
                    MfaEvent::TotpEnrolled(TotpEnrolled {
                        app_name: app_name.to_owned(),
                        encrypted_secret: encrypted_secret.clone(),
                        enrolled_at: now,
                    }),
                    MfaEvent::RecoveryCodesGenerated(RecoveryCodesGenerated {
                        code_hashes: recovery_code_hashes.clone(),
                    }),
                ])
            }
            MfaCommand::RegenerateRecoveryCodes { code_hashes } => {
                if !self.totp_enrolled {
                    return Err(MfaError::NotEnrolled);
                }
                valid_code_hashes(code_hashes)?;
                Ok(vec![MfaEvent::RecoveryCodesGenerated(
                    RecoveryCodesGenerated {
                        code_hashes: code_hashes.clone(),
                    },
                )])
            }
            MfaCommand::UseRecoveryCode { index } => {
                if !self.totp_enrolled {
                    return Err(MfaError::NotEnrolled);
                }
                match self.recovery_codes_used.get(*index) {
                    None => Err(MfaError::NoSuchRecoveryCode(*index)),
                    Some(true) => Err(MfaError::RecoveryCodeAlreadyUsed(*index)),
                    Some(false) => Ok(vec![MfaEvent::RecoveryCodeUsed(RecoveryCodeUsed {
                        index: *index,
                    })]),
                }
            }
            MfaCommand::TrustDevice {
                device_id_hash,
                label,
                expires_at,
            } => self.trust_device(device_id_hash, label, *expires_at, now),
            MfaCommand::ForgetDevice {
                device_id_hash,
                reason,
            } => {
                if !self.trusted_devices.contains_key(device_id_hash) {
                    return Err(MfaError::DeviceNotTrusted);
                }
                Ok(vec![MfaEvent::DeviceForgotten(DeviceForgotten {
                    device_id_hash: device_id_hash.clone(),
                    reason: *reason,
                })])
            }
            MfaCommand::ForgetAllDevices { reason } => {
                let events: Vec<MfaEvent> = self
                    .live_devices(now)
                    .map(|(hash, _)| {
                        MfaEvent::DeviceForgotten(DeviceForgotten {
                            device_id_hash: hash.clone(),
                            reason: *reason,
                        })
                    })
                    .collect();
                if events.is_empty() {
                    return Err(MfaError::NoTrustedDevice);
                }
                Ok(events)
            }
            MfaCommand::ResetAuthenticator => {
                if !self.totp_enrolled {
                    return Err(MfaError::NotEnrolled);
                }
                let forgotten = self.forget_every_device(ForgetReason::AuthenticatorReset, now);
                Ok(std::iter::once(MfaEvent::TotpReset(TotpReset {}))
                    .chain(forgotten)
                    .collect())
            }
        }
    }

    fn trust_device(
        &self,
        device_id_hash: &str,
        label: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<MfaEvent>, MfaError> {
        if !self.totp_enrolled {
            // Trust lets a sign-in skip the code; without an app there is nothing to skip.
            return Err(MfaError::NotEnrolled);
        }
        if !is_sha256_hex(device_id_hash) {
            return Err(MfaError::InvalidDeviceHash);
        }
        let label = clean_label(label);
        if label.is_empty() {
            return Err(MfaError::InvalidDeviceLabel);
        }
        if expires_at <= now {
            return Err(MfaError::ExpiryInThePast);
        }
        if self.trusted_devices.contains_key(device_id_hash) {
            return Err(MfaError::DeviceAlreadyTrusted);
        }
        let mut events = Vec::with_capacity(2);
        let mut live: Vec<(&String, &DateTime<Utc>)> = self.live_devices(now).collect();
        if live.len() >= MAX_TRUSTED_DEVICES {
            // Make room: forget the devices whose trust ends first.
            live.sort_by(|left, right| left.1.cmp(right.1).then(left.0.cmp(right.0)));
            let excess = live.len() + 1 - MAX_TRUSTED_DEVICES;
            events.extend(live.into_iter().take(excess).map(|(hash, _)| {
                MfaEvent::DeviceForgotten(DeviceForgotten {
                    device_id_hash: hash.clone(),
                    reason: ForgetReason::LimitReached,
                })
            }));
        }
        events.push(MfaEvent::DeviceTrusted(DeviceTrusted {
            device_id_hash: device_id_hash.to_owned(),
            label,
            expires_at,
        }));
        Ok(events)
    }

    /// Devices whose trust has not ended at `now`.
    /// `user.device.forgotten` for each device trusted at `now`, for `reason`.
    pub fn forget_every_device(&self, reason: ForgetReason, now: DateTime<Utc>) -> Vec<MfaEvent> {
        self.live_devices(now)
            .map(|(hash, _)| {
                MfaEvent::DeviceForgotten(DeviceForgotten {
                    device_id_hash: hash.clone(),
                    reason,
                })
            })
            .collect()
    }

    fn live_devices(
        &self,
        now: DateTime<Utc>,
    ) -> impl Iterator<Item = (&String, &DateTime<Utc>)> + '_ {
        self.trusted_devices
            .iter()
            .filter(move |(_, expires_at)| **expires_at > now)
    }

    /// Applies one event.
    pub fn evolve(mut self, event: &MfaEvent) -> Self {
        match event {
            MfaEvent::TotpEnrolled(_) => self.totp_enrolled = true,
            MfaEvent::RecoveryCodesGenerated(generated) => {
                self.recovery_codes_used = vec![false; generated.code_hashes.len()];
            }
            MfaEvent::RecoveryCodeUsed(used) => {
                if let Some(slot) = self.recovery_codes_used.get_mut(used.index) {
                    *slot = true;
                }
            }
            MfaEvent::DeviceTrusted(trusted) => {
                self.trusted_devices
                    .insert(trusted.device_id_hash.clone(), trusted.expires_at);
            }
            MfaEvent::DeviceForgotten(forgotten) => {
                self.trusted_devices.remove(&forgotten.device_id_hash);
            }
            // The devices are forgotten by their own events in the same append.
            MfaEvent::TotpReset(_) => {
                self.totp_enrolled = false;
                self.recovery_codes_used.clear();
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use uuid::Uuid;

    use super::*;
    use crate::aggregate::Aggregate;
    use crate::aggregate::scenario::{Scenario, context};
    use crate::email::Email;
    use crate::event::{DecodeError, DomainEvent, RecordedEvent, recorded};
    use crate::user::{User, UserCommand, UserCreated, UserError, UserEvent};

    /// The shape of a `dir` + `A256GCM` JWE: the encrypted key part is empty.
    const JWE: &str =
        "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aXZpdml2aXZpdml2.Y2lwaGVy.dGFndGFndGFndGFn";

    fn hash(n: u8) -> String {
        format!("{n:02x}").repeat(32)
    }

    fn code_hashes() -> Vec<String> {
        (0..10).map(hash).collect()
    }

    fn created() -> UserEvent {
        UserEvent::Created(UserCreated {
            user_id: Uuid::nil(),
            org_id: Uuid::max(),
            email: Email::parse("ada@example.org").unwrap(),
            name: "Ada".into(),
            temporary_password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            temporary_password_expires_at: context().now + Duration::days(7),
        })
    }

    fn mfa(command: MfaCommand) -> UserCommand {
        UserCommand::Mfa(command)
    }

    fn refused(error: MfaError) -> UserError {
        UserError::Mfa(error)
    }

    fn enroll() -> MfaCommand {
        MfaCommand::EnrollTotp {
            app_name: "  Aegis on my phone ".into(),
            encrypted_secret: JWE.into(),
            recovery_code_hashes: code_hashes(),
        }
    }

    fn enrolled() -> [UserEvent; 2] {
        [
            UserEvent::Mfa(MfaEvent::TotpEnrolled(TotpEnrolled {
                app_name: "Aegis on my phone".into(),
                encrypted_secret: JWE.into(),
                enrolled_at: context().now,
            })),
            UserEvent::Mfa(MfaEvent::RecoveryCodesGenerated(RecoveryCodesGenerated {
                code_hashes: code_hashes(),
            })),
        ]
    }

    fn given_enrolled(more: impl IntoIterator<Item = UserEvent>) -> Scenario<User> {
        Scenario::<User>::given(std::iter::once(created()).chain(enrolled()).chain(more))
    }

    fn trust(n: u8, days: i64) -> MfaCommand {
        MfaCommand::TrustDevice {
            device_id_hash: hash(n),
            label: "Firefox on Linux".into(),
            expires_at: context().now + Duration::days(days),
        }
    }

    fn trusted(n: u8, days: i64) -> UserEvent {
        UserEvent::Mfa(MfaEvent::DeviceTrusted(DeviceTrusted {
            device_id_hash: hash(n),
            label: "Firefox on Linux".into(),
            expires_at: context().now + Duration::days(days),
        }))
    }

    fn forgotten(n: u8, reason: ForgetReason) -> UserEvent {
        UserEvent::Mfa(MfaEvent::DeviceForgotten(DeviceForgotten {
            device_id_hash: hash(n),
            reason,
        }))
    }

    // Enrollment.

    #[test]
    fn a_person_enrolls_an_authenticator_app_with_recovery_codes() {
        Scenario::<User>::given([created()])
            .when(mfa(enroll()))
            .then(enrolled());
    }

    #[test]
    fn an_authenticator_app_is_enrolled_once() {
        given_enrolled([])
            .when(mfa(enroll()))
            .then_err(refused(MfaError::AlreadyEnrolled));
    }

    #[test]
    fn a_disabled_person_cannot_enroll() {
        Scenario::<User>::given([created(), UserEvent::Disabled])
            .when(mfa(enroll()))
            .then_err(UserError::Disabled);
    }

    #[test]
    fn a_missing_user_cannot_enroll() {
        Scenario::<User>::given([])
            .when(mfa(enroll()))
            .then_err(UserError::NotFound);
    }

    #[test]
    fn an_empty_overlong_or_control_app_name_is_refused() {
        for name in [
            "   ".to_owned(),
            "x".repeat(MAX_APP_NAME + 1),
            "app\nname".to_owned(),
        ] {
            Scenario::<User>::given([created()])
                .when(mfa(MfaCommand::EnrollTotp {
                    app_name: name,
                    encrypted_secret: JWE.into(),
                    recovery_code_hashes: code_hashes(),
                }))
                .then_err(refused(MfaError::InvalidAppName));
        }
        // Exactly the limit, in characters rather than bytes, is fine.
        let mut command = enroll();
        if let MfaCommand::EnrollTotp { app_name, .. } = &mut command {
            *app_name = "é".repeat(MAX_APP_NAME);
        }
        assert!(
            User::default()
                .evolve(&created())
                .decide(&mfa(command), &context())
                .is_ok()
        );
    }

    #[test]
    fn a_totp_secret_in_clear_is_refused() {
        for secret in [
            "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP".to_owned(),
            "3132333435363738393031323334353637383930".to_owned(),
            format!("{JWE}.extra"),
            format!("eyJ{}..aXY.Y2k.dGFn", "A".repeat(MAX_ENCRYPTED_SECRET)),
        ] {
            Scenario::<User>::given([created()])
                .when(mfa(MfaCommand::EnrollTotp {
                    app_name: "Aegis".into(),
                    encrypted_secret: secret,
                    recovery_code_hashes: code_hashes(),
                }))
                .then_err(refused(MfaError::SecretNotEncrypted));
        }
    }

    #[test]
    fn recovery_codes_must_be_ten_distinct_digests() {
        let mut clear = code_hashes();
        clear[3] = "ABCD-EFGH-JKMN-PQRS".into();
        let mut upper = code_hashes();
        upper[0] = upper[0].to_uppercase().replace('0', "A");
        let mut duplicate = code_hashes();
        duplicate[9] = duplicate[0].clone();
        let short: Vec<String> = code_hashes().into_iter().take(9).collect();
        for hashes in [clear, upper, duplicate, short] {
            Scenario::<User>::given([created()])
                .when(mfa(MfaCommand::EnrollTotp {
                    app_name: "Aegis".into(),
                    encrypted_secret: JWE.into(),
                    recovery_code_hashes: hashes,
                }))
                .then_err(refused(MfaError::InvalidRecoveryCodes));
        }
    }

    // Recovery codes.

    #[test]
    fn a_recovery_code_is_used_once() {
        given_enrolled([])
            .when(mfa(MfaCommand::UseRecoveryCode { index: 4 }))
            .then([UserEvent::Mfa(MfaEvent::RecoveryCodeUsed(
                RecoveryCodeUsed { index: 4 },
            ))]);
        given_enrolled([UserEvent::Mfa(MfaEvent::RecoveryCodeUsed(
            RecoveryCodeUsed { index: 4 },
        ))])
        .when(mfa(MfaCommand::UseRecoveryCode { index: 4 }))
        .then_err(refused(MfaError::RecoveryCodeAlreadyUsed(4)));
    }

    #[test]
    fn a_recovery_code_out_of_range_is_refused() {
        given_enrolled([])
            .when(mfa(MfaCommand::UseRecoveryCode { index: 10 }))
            .then_err(refused(MfaError::NoSuchRecoveryCode(10)));
    }

    #[test]
    fn recovery_codes_need_an_enrolled_app() {
        Scenario::<User>::given([created()])
            .when(mfa(MfaCommand::UseRecoveryCode { index: 0 }))
            .then_err(refused(MfaError::NotEnrolled));
        Scenario::<User>::given([created()])
            .when(mfa(MfaCommand::RegenerateRecoveryCodes {
                code_hashes: code_hashes(),
            }))
            .then_err(refused(MfaError::NotEnrolled));
    }

    #[test]
    fn a_disabled_person_cannot_use_a_recovery_code() {
        given_enrolled([UserEvent::Disabled])
            .when(mfa(MfaCommand::UseRecoveryCode { index: 0 }))
            .then_err(UserError::Disabled);
    }

    #[test]
    fn regenerated_codes_replace_the_used_ones() {
        let fresh: Vec<String> = (20..30).map(hash).collect();
        let used = UserEvent::Mfa(MfaEvent::RecoveryCodeUsed(RecoveryCodeUsed { index: 4 }));
        let regenerated =
            UserEvent::Mfa(MfaEvent::RecoveryCodesGenerated(RecoveryCodesGenerated {
                code_hashes: fresh.clone(),
            }));
        given_enrolled([used.clone()])
            .when(mfa(MfaCommand::RegenerateRecoveryCodes {
                code_hashes: fresh,
            }))
            .then([regenerated.clone()]);
        given_enrolled([used, regenerated])
            .when(mfa(MfaCommand::UseRecoveryCode { index: 4 }))
            .then([UserEvent::Mfa(MfaEvent::RecoveryCodeUsed(
                RecoveryCodeUsed { index: 4 },
            ))]);
    }

    // Trusted devices.

    #[test]
    fn a_person_trusts_a_device() {
        given_enrolled([])
            .when(mfa(trust(1, 30)))
            .then([trusted(1, 30)]);
    }

    #[test]
    fn a_device_label_is_cleaned_and_cut() {
        let label = format!(" \u{7}{}", "Firefox ".repeat(20));
        let expected: String = "Firefox "
            .repeat(20)
            .chars()
            .take(MAX_DEVICE_LABEL)
            .collect();
        let expected = expected.trim_end().to_owned();
        given_enrolled([])
            .when(mfa(MfaCommand::TrustDevice {
                device_id_hash: hash(1),
                label,
                expires_at: context().now + Duration::days(30),
            }))
            .then([UserEvent::Mfa(MfaEvent::DeviceTrusted(DeviceTrusted {
                device_id_hash: hash(1),
                label: expected,
                expires_at: context().now + Duration::days(30),
            }))]);
        given_enrolled([])
            .when(mfa(MfaCommand::TrustDevice {
                device_id_hash: hash(1),
                label: " \t ".into(),
                expires_at: context().now + Duration::days(30),
            }))
            .then_err(refused(MfaError::InvalidDeviceLabel));
    }

    #[test]
    fn a_device_id_in_clear_is_refused() {
        given_enrolled([])
            .when(mfa(MfaCommand::TrustDevice {
                device_id_hash: "q1w2e3r4t5y6u7i8o9p0q1w2e3r4t5y6u7i8o9p0q1w".into(),
                label: "Firefox".into(),
                expires_at: context().now + Duration::days(30),
            }))
            .then_err(refused(MfaError::InvalidDeviceHash));
    }

    #[test]
    fn trust_must_end_in_the_future() {
        given_enrolled([])
            .when(mfa(trust(1, 0)))
            .then_err(refused(MfaError::ExpiryInThePast));
    }

    #[test]
    fn trust_needs_an_enrolled_app_and_an_enabled_person() {
        Scenario::<User>::given([created()])
            .when(mfa(trust(1, 30)))
            .then_err(refused(MfaError::NotEnrolled));
        given_enrolled([UserEvent::Disabled])
            .when(mfa(trust(1, 30)))
            .then_err(UserError::Disabled);
    }

    #[test]
    fn a_device_is_trusted_once() {
        given_enrolled([trusted(1, 30)])
            .when(mfa(trust(1, 30)))
            .then_err(refused(MfaError::DeviceAlreadyTrusted));
    }

    #[test]
    fn trusting_one_device_too_many_forgets_the_one_ending_first() {
        // Devices 0..10, device 3 ending first; device 20 expired long ago and is not
        // counted.
        let mut history: Vec<UserEvent> = (0..10u8)
            .map(|n| trusted(n, if n == 3 { 2 } else { 10 + i64::from(n) }))
            .collect();
        history.push(trusted(20, 1));
        given_enrolled(history)
            .at(context().now + Duration::days(1))
            .when(mfa(trust(11, 31)))
            .then([forgotten(3, ForgetReason::LimitReached), trusted(11, 31)]);
    }

    #[test]
    fn a_person_forgets_a_device_at_logout() {
        given_enrolled([trusted(1, 30)])
            .when(mfa(MfaCommand::ForgetDevice {
                device_id_hash: hash(1),
                reason: ForgetReason::Logout,
            }))
            .then([forgotten(1, ForgetReason::Logout)]);
    }

    #[test]
    fn an_unknown_or_forgotten_device_cannot_be_forgotten() {
        let forget = || {
            mfa(MfaCommand::ForgetDevice {
                device_id_hash: hash(1),
                reason: ForgetReason::Logout,
            })
        };
        given_enrolled([])
            .when(forget())
            .then_err(refused(MfaError::DeviceNotTrusted));
        given_enrolled([trusted(1, 30), forgotten(1, ForgetReason::Revoked)])
            .when(forget())
            .then_err(refused(MfaError::DeviceNotTrusted));
    }

    #[test]
    fn forgetting_all_devices_forgets_each_live_one() {
        given_enrolled([
            trusted(1, 30),
            trusted(2, 30),
            trusted(3, 1),
            trusted(4, 30),
            forgotten(4, ForgetReason::Logout),
        ])
        .at(context().now + Duration::days(2))
        .when(mfa(MfaCommand::ForgetAllDevices {
            reason: ForgetReason::Revoked,
        }))
        .then([
            forgotten(1, ForgetReason::Revoked),
            forgotten(2, ForgetReason::Revoked),
        ]);
    }

    #[test]
    fn forgetting_all_devices_when_none_is_trusted_is_refused() {
        given_enrolled([trusted(1, 1)])
            .at(context().now + Duration::days(2))
            .when(mfa(MfaCommand::ForgetAllDevices {
                reason: ForgetReason::Revoked,
            }))
            .then_err(refused(MfaError::NoTrustedDevice));
    }

    #[test]
    fn a_disabled_persons_devices_can_still_be_forgotten() {
        given_enrolled([trusted(1, 30), UserEvent::Disabled])
            .when(mfa(MfaCommand::ForgetAllDevices {
                reason: ForgetReason::Revoked,
            }))
            .then([forgotten(1, ForgetReason::Revoked)]);
    }

    // Resetting the authenticator app.

    fn reset() -> UserEvent {
        UserEvent::Mfa(MfaEvent::TotpReset(TotpReset {}))
    }

    fn reset_command() -> UserCommand {
        mfa(MfaCommand::ResetAuthenticator)
    }

    #[test]
    fn a_reset_removes_the_app_and_forgets_every_device_still_trusted() {
        // Device 2's trust has ended and device 3 was forgotten: neither is forgotten
        // again.
        given_enrolled([
            trusted(1, 30),
            trusted(2, 1),
            trusted(3, 30),
            forgotten(3, ForgetReason::Logout),
            trusted(4, 30),
        ])
        .at(context().now + Duration::days(2))
        .when(reset_command())
        .then([
            reset(),
            forgotten(1, ForgetReason::AuthenticatorReset),
            forgotten(4, ForgetReason::AuthenticatorReset),
            sessions_ended(),
        ]);
    }

    #[test]
    fn a_reset_without_trusted_devices_resets_and_ends_the_sessions() {
        given_enrolled([])
            .when(reset_command())
            .then([reset(), sessions_ended()]);
    }

    /// A reset authenticator vouches for no session any more.
    fn sessions_ended() -> UserEvent {
        UserEvent::SessionsEnded(crate::user::SessionsEnded {
            reason: crate::user::AccessEndReason::AuthenticatorReset,
            except_sid: None,
        })
    }

    #[test]
    fn a_reset_needs_an_enrolled_app() {
        Scenario::<User>::given([created()])
            .when(reset_command())
            .then_err(refused(MfaError::NotEnrolled));
        given_enrolled([reset()])
            .when(reset_command())
            .then_err(refused(MfaError::NotEnrolled));
    }

    #[test]
    fn a_missing_user_cannot_be_reset() {
        Scenario::<User>::given([])
            .when(reset_command())
            .then_err(UserError::NotFound);
    }

    #[test]
    fn a_disabled_persons_authenticator_can_still_be_reset() {
        given_enrolled([trusted(1, 30), UserEvent::Disabled])
            .when(reset_command())
            .then([
                reset(),
                forgotten(1, ForgetReason::AuthenticatorReset),
                sessions_ended(),
            ]);
    }

    #[test]
    fn after_a_reset_the_old_recovery_codes_and_the_app_are_dead() {
        for command in [
            MfaCommand::UseRecoveryCode { index: 0 },
            MfaCommand::RegenerateRecoveryCodes {
                code_hashes: code_hashes(),
            },
            trust(1, 30),
        ] {
            given_enrolled([reset()])
                .when(mfa(command))
                .then_err(refused(MfaError::NotEnrolled));
        }
    }

    #[test]
    fn after_a_reset_the_person_enrolls_again_with_a_fresh_set_of_codes() {
        let used = UserEvent::Mfa(MfaEvent::RecoveryCodeUsed(RecoveryCodeUsed { index: 4 }));
        given_enrolled([used.clone(), reset()])
            .when(mfa(enroll()))
            .then(enrolled());
        given_enrolled(
            [used, reset()]
                .into_iter()
                .chain(enrolled())
                .collect::<Vec<_>>(),
        )
        .when(mfa(MfaCommand::UseRecoveryCode { index: 4 }))
        .then([UserEvent::Mfa(MfaEvent::RecoveryCodeUsed(
            RecoveryCodeUsed { index: 4 },
        ))]);
    }

    // The envelope.

    #[test]
    fn events_round_trip_through_the_envelope() {
        let mut events: Vec<UserEvent> = enrolled().into();
        events.extend([
            UserEvent::Mfa(MfaEvent::RecoveryCodeUsed(RecoveryCodeUsed { index: 2 })),
            trusted(1, 30),
            forgotten(1, ForgetReason::LimitReached),
            reset(),
            forgotten(2, ForgetReason::AuthenticatorReset),
        ]);
        let types: Vec<&str> = events.iter().map(DomainEvent::event_type).collect();
        assert_eq!(
            types,
            [
                "user.totp.enrolled",
                "user.recovery_codes.generated",
                "user.recovery_code.used",
                "user.device.trusted",
                "user.device.forgotten",
                "user.totp.reset",
                "user.device.forgotten"
            ]
        );
        // Stored names are a data format: the new ones are pinned too.
        assert_eq!(reset().to_data(), "{}");
        assert!(
            forgotten(2, ForgetReason::AuthenticatorReset)
                .to_data()
                .contains("\"reason\":\"authenticator_reset\""),
        );
        for event in events {
            let recorded = recorded(crate::user::stream(Uuid::nil()), &event);
            assert_eq!(UserEvent::decode(&recorded).unwrap(), Some(event));
        }
    }

    #[test]
    fn a_newer_schema_is_refused_rather_than_misread() {
        let event = trusted(1, 30);
        let recorded = RecordedEvent {
            position: 7,
            schema: 2,
            ..recorded(crate::user::stream(Uuid::nil()), &event)
        };
        assert!(matches!(
            UserEvent::decode(&recorded),
            Err(DecodeError::UnknownSchema { schema: 2, .. })
        ));
    }

    #[test]
    fn debug_output_leaves_the_encrypted_secret_out() {
        let printed = format!("{:?}", enrolled());
        assert!(!printed.contains(JWE), "{printed}");
        assert!(printed.contains("Aegis on my phone"));
    }
}
