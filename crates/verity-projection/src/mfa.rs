//! A person's second factor as the sign-in journey reads it: the authenticator app, the
//! recovery codes and the trusted devices. Part of [`UserView`](crate::UserView), folded
//! by [`Users`](crate::Users) from the `user.totp.*` (enrolled, reset), `user.recovery_code*` and
//! `user.device.*` events of the user's stream.
//!
//! Memory: a person without a second factor costs one empty [`MfaView`]; an enrolled one
//! the app name, the JWE (about 250 bytes), 33 bytes per recovery code (the digest is
//! kept as bytes, not hex) and at most [`MAX_DEVICE_HISTORY`] device entries.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use verity_domain::mfa::{
    DeviceForgotten, DeviceTrusted, ForgetReason, MfaEvent, RecoveryCodeUsed,
    RecoveryCodesGenerated, TotpEnrolled, TotpReset,
};
use verity_domain::{DecodeError, DomainEvent, RecordedEvent};

use crate::decode;

/// Most device entries kept per person, live or not. When a new trust would exceed it,
/// the oldest entries that are forgotten or expired (at the time of the event) are
/// dropped; the domain caps live ones below this, so live devices are never dropped.
pub const MAX_DEVICE_HISTORY: usize = 20;

/// The second factor of one person.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaView {
    /// The authenticator app, once enrolled.
    pub totp: Option<TotpView>,
    /// The current set of recovery codes, in the order they were shown.
    pub recovery_codes: Vec<RecoveryCodeView>,
    /// Trusted devices, oldest first, including forgotten and expired ones (for
    /// `verity user devices`), at most [`MAX_DEVICE_HISTORY`].
    pub trusted_devices: Vec<DeviceView>,
}

/// The enrolled authenticator app.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpView {
    /// The name the person gave it ("Enter the code from <app name>").
    pub app_name: String,
    /// The TOTP secret, a compact JWE under the master key.
    pub encrypted_secret: String,
    /// When it was enrolled.
    pub enrolled_at: DateTime<Utc>,
}

impl fmt::Debug for TotpView {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("TotpView")
            .field("app_name", &self.app_name)
            .field("enrolled_at", &self.enrolled_at)
            .finish_non_exhaustive()
    }
}

/// One recovery code: its SHA-256 digest and whether it was used.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodeView {
    /// SHA-256 of the normalised code.
    #[serde(with = "hex_digest")]
    pub hash: [u8; 32],
    /// Whether it was used (a used code never works again).
    pub used: bool,
}

impl fmt::Debug for RecoveryCodeView {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("RecoveryCodeView")
            .field("used", &self.used)
            .finish_non_exhaustive()
    }
}

/// A device a person chose to trust.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceView {
    /// SHA-256 of the device id in the browser's cookie, lowercase hex.
    pub device_id_hash: String,
    /// Where it is, from the user agent.
    pub label: String,
    /// When it was trusted.
    pub trusted_at: DateTime<Utc>,
    /// When the trust ends.
    pub expires_at: DateTime<Utc>,
    /// When it was forgotten (at logout, by an admin, or to make room), if it was.
    pub forgotten_at: Option<DateTime<Utc>>,
    /// Why it was forgotten, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forget_reason: Option<ForgetReason>,
}

/// Where a trusted device stands at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceState {
    /// A sign-in from it skips the code.
    Active,
    /// Its trust ended.
    Expired,
    /// It was forgotten.
    Forgotten,
}

impl DeviceState {
    /// The state's name, as printed by the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Forgotten => "forgotten",
        }
    }
}

impl DeviceView {
    /// Where it stands at `now`.
    pub fn state(&self, now: DateTime<Utc>) -> DeviceState {
        if self.forgotten_at.is_some() {
            DeviceState::Forgotten
        } else if self.expires_at <= now {
            DeviceState::Expired
        } else {
            DeviceState::Active
        }
    }

    /// Whether a sign-in from it skips the code at `now`.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.state(now) == DeviceState::Active
    }
}

impl MfaView {
    /// Whether an authenticator app is set up (else the journey asks to set one up).
    pub fn is_enrolled(&self) -> bool {
        self.totp.is_some()
    }

    /// The active trusted device with this device id hash, if any. Every entry is
    /// compared in constant time, so the answer's timing says nothing about the hash.
    /// The view is one person's: another person's device cookie never matches.
    pub fn trusted_device(&self, device_id_hash: &str, now: DateTime<Utc>) -> Option<&DeviceView> {
        let presented = device_id_hash.as_bytes();
        let mut found = None;
        for device in &self.trusted_devices {
            let equal: bool = device.device_id_hash.as_bytes().ct_eq(presented).into();
            if equal && device.is_active(now) {
                found = Some(device);
            }
        }
        found
    }

    /// The device with this device id hash, whatever its state (the latest entry when it
    /// was trusted more than once), compared in constant time as
    /// [`MfaView::trusted_device`] does.
    pub fn device_with(&self, device_id_hash: &str) -> Option<&DeviceView> {
        let presented = device_id_hash.as_bytes();
        let mut found = None;
        for device in &self.trusted_devices {
            let equal: bool = device.device_id_hash.as_bytes().ct_eq(presented).into();
            if equal {
                found = Some(device);
            }
        }
        found
    }

    /// The devices whose trust is active at `now`.
    pub fn active_devices(&self, now: DateTime<Utc>) -> impl Iterator<Item = &DeviceView> {
        self.trusted_devices
            .iter()
            .filter(move |device| device.is_active(now))
    }

    /// How many recovery codes are left.
    pub fn unused_recovery_codes(&self) -> usize {
        self.recovery_codes.iter().filter(|code| !code.used).count()
    }

    /// Applies a change decoded by [`Change::decode`]. Cannot fail.
    pub(crate) fn apply(&mut self, change: Change, at: DateTime<Utc>) {
        match change {
            Change::Enrolled(totp) => self.totp = Some(totp),
            Change::CodesGenerated(codes) => self.recovery_codes = codes,
            Change::CodeUsed(index) => {
                if let Some(code) = self.recovery_codes.get_mut(index) {
                    code.used = true;
                }
            }
            Change::Trusted(device) => {
                self.make_room(at);
                self.trusted_devices.push(DeviceView {
                    device_id_hash: device.device_id_hash,
                    label: device.label,
                    trusted_at: at,
                    expires_at: device.expires_at,
                    forgotten_at: None,
                    forget_reason: None,
                });
            }
            Change::Forgotten(forgotten) => {
                if let Some(device) = self.trusted_devices.iter_mut().find(|device| {
                    device.forgotten_at.is_none()
                        && device.device_id_hash == forgotten.device_id_hash
                }) {
                    device.forgotten_at = Some(at);
                    device.forget_reason = Some(forgotten.reason);
                }
            }
            // The app and every recovery code are gone; the trusted devices are forgotten
            // by their own `user.device.forgotten` events in the same append and stay
            // listed.
            Change::Reset => {
                self.totp = None;
                self.recovery_codes.clear();
            }
        }
    }

    /// Drops the oldest inactive entries until one more fits in [`MAX_DEVICE_HISTORY`].
    fn make_room(&mut self, at: DateTime<Utc>) {
        while self.trusted_devices.len() >= MAX_DEVICE_HISTORY {
            let Some(oldest_inactive) = self
                .trusted_devices
                .iter()
                .position(|device| !device.is_active(at))
            else {
                return;
            };
            self.trusted_devices.remove(oldest_inactive);
        }
    }
}

/// A second-factor event, decoded and checked, ready to apply.
pub(crate) enum Change {
    Enrolled(TotpView),
    CodesGenerated(Vec<RecoveryCodeView>),
    CodeUsed(usize),
    Trusted(DeviceTrusted),
    Forgotten(DeviceForgotten),
    Reset,
}

impl Change {
    /// Decodes a second-factor event; `Ok(None)` for any other type.
    pub(crate) fn decode(event: &RecordedEvent) -> Result<Option<Self>, DecodeError> {
        decode::check_schema(event)?;
        let Some(decoded) = MfaEvent::decode(event)? else {
            return Ok(None);
        };
        Ok(Some(match decoded {
            MfaEvent::TotpEnrolled(TotpEnrolled {
                app_name,
                encrypted_secret,
                enrolled_at,
            }) => Self::Enrolled(TotpView {
                app_name,
                encrypted_secret,
                enrolled_at,
            }),
            MfaEvent::RecoveryCodesGenerated(RecoveryCodesGenerated { code_hashes }) => {
                let codes = code_hashes
                    .iter()
                    .map(|hash| {
                        hex_digest::parse(hash).map(|hash| RecoveryCodeView { hash, used: false })
                    })
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        decode::invalid(
                            event,
                            "a recovery code hash is not a SHA-256 digest".into(),
                        )
                    })?;
                Self::CodesGenerated(codes)
            }
            MfaEvent::RecoveryCodeUsed(RecoveryCodeUsed { index }) => Self::CodeUsed(index),
            MfaEvent::DeviceTrusted(trusted) => Self::Trusted(trusted),
            MfaEvent::DeviceForgotten(forgotten) => Self::Forgotten(forgotten),
            MfaEvent::TotpReset(TotpReset {}) => Self::Reset,
        }))
    }
}

/// A SHA-256 digest as 64 lowercase hex digits in snapshots.
mod hex_digest {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn parse(text: &str) -> Option<[u8; 32]> {
        let mut digest = [0; 32];
        hex::decode_to_slice(text, &mut digest).ok()?;
        Some(digest)
    }

    pub(super) fn serialize<S: Serializer>(
        digest: &[u8; 32],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(digest))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<[u8; 32], D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        parse(&text).ok_or_else(|| serde::de::Error::custom("not a SHA-256 digest"))
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use uuid::Uuid;
    use verity_domain::Email;
    use verity_domain::mfa::ForgetReason;
    use verity_domain::user::{UserCreated, UserEvent, stream};

    use super::*;
    use crate::projection::Projection;
    use crate::{UserView, Users};

    const ADA: Uuid = Uuid::from_u128(1);
    const JWE: &str = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aXZpdml2aXZpdml2.Y2lwaGVy.dGFndGFn";

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::minutes(minute)
    }

    fn hash(n: u8) -> String {
        format!("{n:02x}").repeat(32)
    }

    /// An event as the domain writes it, recorded at minute `position`.
    fn recorded(position: u64, event: &UserEvent) -> RecordedEvent {
        RecordedEvent {
            position,
            stream: stream(ADA),
            version: position,
            event_type: event.event_type().into(),
            schema: event.schema(),
            data: event.to_data(),
            metadata: "{}".into(),
            recorded_at: at(position as i64),
            hash: String::new(),
        }
    }

    fn created() -> UserEvent {
        UserEvent::Created(UserCreated {
            user_id: ADA,
            org_id: Uuid::max(),
            email: Email::parse("ada@example.org").unwrap(),
            name: "Ada".into(),
            temporary_password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            temporary_password_expires_at: at(10_000),
        })
    }

    fn enrolled() -> UserEvent {
        UserEvent::Mfa(MfaEvent::TotpEnrolled(TotpEnrolled {
            app_name: "Aegis".into(),
            encrypted_secret: JWE.into(),
            enrolled_at: at(2),
        }))
    }

    fn codes(first: u8) -> UserEvent {
        UserEvent::Mfa(MfaEvent::RecoveryCodesGenerated(RecoveryCodesGenerated {
            code_hashes: (first..first + 10).map(hash).collect(),
        }))
    }

    fn used(index: usize) -> UserEvent {
        UserEvent::Mfa(MfaEvent::RecoveryCodeUsed(RecoveryCodeUsed { index }))
    }

    fn trusted(n: u8, until_minute: i64) -> UserEvent {
        UserEvent::Mfa(MfaEvent::DeviceTrusted(DeviceTrusted {
            device_id_hash: hash(n),
            label: format!("Browser {n}"),
            expires_at: at(until_minute),
        }))
    }

    fn forgotten(n: u8) -> UserEvent {
        UserEvent::Mfa(MfaEvent::DeviceForgotten(DeviceForgotten {
            device_id_hash: hash(n),
            reason: ForgetReason::Logout,
        }))
    }

    fn reset() -> UserEvent {
        UserEvent::Mfa(MfaEvent::TotpReset(TotpReset {}))
    }

    fn forgotten_by_reset(n: u8) -> UserEvent {
        UserEvent::Mfa(MfaEvent::DeviceForgotten(DeviceForgotten {
            device_id_hash: hash(n),
            reason: ForgetReason::AuthenticatorReset,
        }))
    }

    /// Folds `events` after `user.created`, the n-th at minute n + 2.
    fn fold(events: &[UserEvent]) -> UserView {
        let mut recorded_events = vec![recorded(1, &created())];
        for (offset, event) in events.iter().enumerate() {
            recorded_events.push(recorded(offset as u64 + 2, event));
        }
        let view = UserView::fold(&recorded_events).unwrap().unwrap();
        assert_eq!(
            people(events).get(ADA),
            Some(crate::PersonSummary::from(&view))
        );
        view
    }

    /// The people model after the same events.
    fn people(events: &[UserEvent]) -> Users {
        let mut users = Users::default();
        users.apply(&recorded(1, &created())).unwrap();
        for (offset, event) in events.iter().enumerate() {
            users.apply(&recorded(offset as u64 + 2, event)).unwrap();
        }
        users
    }

    fn mfa(view: &UserView) -> &MfaView {
        &view.mfa
    }

    #[test]
    fn a_new_person_has_no_second_factor() {
        let users = fold(&[]);
        assert!(!mfa(&users).is_enrolled());
        assert_eq!(mfa(&users), &MfaView::default());
    }

    #[test]
    fn enrollment_records_the_app_and_the_recovery_codes() {
        let users = fold(&[enrolled(), codes(0)]);
        let view = mfa(&users);
        assert!(view.is_enrolled());
        let totp = view.totp.as_ref().unwrap();
        assert_eq!(totp.app_name, "Aegis");
        assert_eq!(totp.encrypted_secret, JWE);
        assert_eq!(totp.enrolled_at, at(2));
        assert_eq!(view.recovery_codes.len(), 10);
        assert_eq!(view.recovery_codes[3].hash, [3; 32]);
        assert_eq!(view.unused_recovery_codes(), 10);
        assert_eq!(users.updated_at, at(3));
    }

    #[test]
    fn a_used_recovery_code_is_marked_and_a_new_set_replaces_the_old() {
        let users = fold(&[enrolled(), codes(0), used(4)]);
        assert!(mfa(&users).recovery_codes[4].used);
        assert_eq!(mfa(&users).unused_recovery_codes(), 9);

        let users = fold(&[enrolled(), codes(0), used(4), codes(20)]);
        assert_eq!(mfa(&users).unused_recovery_codes(), 10);
        assert_eq!(mfa(&users).recovery_codes[0].hash, [20; 32]);
    }

    #[test]
    fn a_trusted_device_is_found_by_its_hash_until_it_expires() {
        let users = fold(&[enrolled(), codes(0), trusted(1, 100)]);
        let view = mfa(&users);
        let device = view.trusted_device(&hash(1), at(50)).unwrap();
        assert_eq!(device.label, "Browser 1");
        assert_eq!(device.trusted_at, at(4));
        assert_eq!(device.state(at(50)), DeviceState::Active);
        assert!(view.trusted_device(&hash(2), at(50)).is_none());
        assert!(view.trusted_device(&hash(1), at(100)).is_none());
        assert_eq!(view.trusted_devices[0].state(at(100)), DeviceState::Expired);
    }

    #[test]
    fn a_forgotten_device_no_longer_counts_but_stays_listed() {
        let users = fold(&[
            enrolled(),
            codes(0),
            trusted(1, 100),
            trusted(2, 100),
            forgotten(1),
        ]);
        let view = mfa(&users);
        assert!(view.trusted_device(&hash(1), at(10)).is_none());
        assert!(view.trusted_device(&hash(2), at(10)).is_some());
        assert_eq!(view.trusted_devices.len(), 2);
        assert_eq!(view.trusted_devices[0].forgotten_at, Some(at(6)));
        assert_eq!(
            view.trusted_devices[0].state(at(10)),
            DeviceState::Forgotten
        );
        let active: Vec<&str> = view
            .active_devices(at(10))
            .map(|device| device.label.as_str())
            .collect();
        assert_eq!(active, ["Browser 2"]);
    }

    #[test]
    fn a_device_trusted_again_after_being_forgotten_is_active_again() {
        let users = fold(&[
            enrolled(),
            codes(0),
            trusted(1, 100),
            forgotten(1),
            trusted(1, 200),
        ]);
        let view = mfa(&users);
        assert_eq!(
            view.trusted_device(&hash(1), at(150)).map(|d| d.expires_at),
            Some(at(200))
        );
    }

    #[test]
    fn the_device_history_is_bounded_and_keeps_active_devices() {
        let mut events = vec![enrolled(), codes(0)];
        // 30 devices trusted and forgotten, then one active one.
        for n in 0..30 {
            events.push(trusted(n, 10_000));
            events.push(forgotten(n));
        }
        events.push(trusted(99, 10_000));
        let users = fold(&events);
        let view = mfa(&users);
        assert_eq!(view.trusted_devices.len(), MAX_DEVICE_HISTORY);
        assert!(view.trusted_device(&hash(99), at(100)).is_some());
        // The oldest were dropped.
        assert_eq!(view.trusted_devices[0].device_id_hash, hash(11));
    }

    #[test]
    fn a_reset_removes_the_app_and_the_codes_and_its_devices_are_forgotten() {
        let users = fold(&[
            enrolled(),
            codes(0),
            used(2),
            trusted(1, 100),
            reset(),
            forgotten_by_reset(1),
        ]);
        let view = mfa(&users);
        assert!(!view.is_enrolled(), "the journey sets up an app again");
        assert!(view.recovery_codes.is_empty());
        assert_eq!(view.unused_recovery_codes(), 0);
        assert!(view.trusted_device(&hash(1), at(10)).is_none());
        // Still listed for `verity user devices`, as forgotten.
        assert_eq!(view.trusted_devices.len(), 1);
        assert_eq!(view.trusted_devices[0].forgotten_at, Some(at(7)));
        assert_eq!(users.updated_at, at(7));
    }

    #[test]
    fn after_a_reset_a_new_enrollment_brings_a_new_app_and_codes() {
        let users = fold(&[enrolled(), codes(0), reset(), enrolled(), codes(20)]);
        let view = mfa(&users);
        assert!(view.is_enrolled());
        assert_eq!(view.unused_recovery_codes(), 10);
        assert_eq!(view.recovery_codes[0].hash, [20; 32]);
    }

    #[test]
    fn a_malformed_recovery_code_hash_is_an_error_and_changes_nothing() {
        let users = people(&[enrolled()]);
        let mut bad = recorded(5, &codes(0));
        bad.data = bad.data.replacen("00", "zz", 1);
        let mut after = users.clone();
        assert!(matches!(
            after.apply(&bad),
            Err(DecodeError::Payload { position: 5, .. })
        ));
        assert_eq!(after, users);
    }

    #[test]
    fn debug_output_leaves_secrets_and_digests_out() {
        let users = fold(&[enrolled(), codes(0), trusted(1, 100)]);
        let printed = format!("{users:?}");
        assert!(!printed.contains(JWE), "{printed}");
        assert!(!printed.contains(&hash(3)), "{printed}");
        assert!(printed.contains("Aegis"));
    }

    #[test]
    fn the_second_factor_stays_out_of_the_snapshot_but_whether_there_is_one_does_not() {
        let users = people(&[enrolled(), codes(0), used(2), trusted(1, 100), forgotten(1)]);
        let json = serde_json::to_string(&users).unwrap();
        assert!(!json.contains(JWE) && !json.contains(&hash(1)), "{json}");
        let restored: Users = serde_json::from_str(&json).unwrap();
        assert_eq!(restored, users);
        assert_eq!(
            restored.get(ADA).map(|person| person.has_authenticator),
            Some(true)
        );
        // A person without a sign-in or directory attributes costs one null each in the
        // snapshot, then the stream's version.
        let json = serde_json::to_string(&people(&[])).unwrap();
        assert!(json.ends_with(",null,null,1]]]"), "{json}");
    }
}
