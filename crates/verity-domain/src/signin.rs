//! Sign-in facts on the person's stream: a sign-in succeeded (and how the second factor
//! was satisfied) or failed (and why), and a step was locked by too many failures. These
//! record what happened rather than decide anything, so they are appended without an
//! aggregate (expected version `Any`): nothing can refuse a fact.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::domain_events;
use crate::mfa::ForgetReason;

/// Stored type of [`SignInSucceeded`] (on the person's stream).
pub const USER_SIGNIN_SUCCEEDED: &str = "user.signin.succeeded";
/// Stored type of [`SignInFailed`] (on the person's stream, or [`UNKNOWN_SIGNIN_STREAM`]
/// for an address without an account).
pub const USER_SIGNIN_FAILED: &str = "user.signin.failed";

/// Stored type of [`SignInLocked`] (on the person's stream, or [`UNKNOWN_SIGNIN_STREAM`]
/// for an address without an account).
pub const USER_SIGNIN_LOCKED: &str = "user.signin.locked";

/// The stream of failed sign-ins (and their locks) for addresses that have no account.
pub const UNKNOWN_SIGNIN_STREAM: &str = "signin-unknown";

/// Where a request came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The client application, if the sign-in was for one.
    pub client_id: Option<String>,
    /// The browser's IP address.
    pub ip: Option<String>,
    /// The browser's User-Agent.
    pub user_agent: Option<String>,
}

/// How the second factor was satisfied in a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecondFactor {
    /// A TOTP code (also at enrollment, where the person just proved the app works).
    Totp,
    /// A recovery code in place of a TOTP code.
    RecoveryCode,
    /// No code: this browser holds a valid trusted-device cookie for this person.
    TrustedDevice,
}

/// Why a sign-in asked for a code, or let a trusted device stand in for it: recorded in
/// `user.signin.succeeded` so an auditor can tell, for each sign-in, why the second
/// factor was what it was (`verity audit explain`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SecondFactorDecision {
    /// The person had no authenticator app: they set one up, and its first code was the
    /// second factor.
    Enrollment,
    /// A code was asked.
    CodeAsked {
        /// Why no device stood in for it.
        #[serde(flatten)]
        reason: CodeReason,
    },
    /// The browser's trusted device stood in for the code.
    DeviceTrusted {
        /// The device (the first 12 hex digits of its id's hash, as lists show it).
        device: String,
        /// When the person trusted it.
        trusted_at: DateTime<Utc>,
        /// When its trust ends.
        until: DateTime<Utc>,
    },
}

/// Why a code was asked rather than a trusted device standing in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum CodeReason {
    /// The person holds an admin role: they give a code at every sign-in.
    AdminRole,
    /// The browser sent no trusted-device cookie.
    NoTrustedDevice,
    /// The browser's device cookie names no device this person trusted.
    UnknownDevice,
    /// The device's trust had ended.
    TrustExpired {
        /// The device.
        device: String,
        /// When its trust ended.
        expired_at: DateTime<Utc>,
    },
    /// The device had been forgotten.
    DeviceForgotten {
        /// The device.
        device: String,
        /// When.
        forgotten_at: DateTime<Utc>,
        /// Why (at logout, by an admin, an authenticator reset...).
        why: Option<ForgetReason>,
    },
}

/// Payload of `user.signin.succeeded`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInSucceeded {
    /// The person.
    pub user_id: String,
    /// The session it started.
    pub sid: String,
    /// The factors used, e.g. `["pwd", "otp"]`.
    pub amr: Vec<String>,
    /// How the second factor was satisfied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_factor: Option<SecondFactor>,
    /// Whether a trusted device stood in for the code (so an auditor can tell why no
    /// code was asked).
    #[serde(default)]
    pub device_trust_used: bool,
    /// Why the second factor was what it was (absent in sign-ins recorded before this
    /// was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<SecondFactorDecision>,
    /// Where from.
    #[serde(flatten)]
    pub origin: Origin,
}

/// Why a sign-in failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInFailure {
    /// No account has this address.
    UnknownEmail,
    /// The password did not match.
    WrongPassword,
    /// The account is disabled.
    Disabled,
    /// The temporary password expired.
    TemporaryPasswordExpired,
    /// Too many failed passwords: the account's sign-in is locked for a while. Recorded
    /// for each refusal by earlier releases; now a lock is recorded once, when it is set
    /// ([`SignInLocked`]), and its refusals are only counted in the metrics.
    Locked,
    /// The application belongs to another organization than the person's.
    ClientOfAnotherOrganization,
}

/// Payload of `user.signin.failed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInFailed {
    /// The person, when the address is known.
    pub user_id: Option<String>,
    /// The address as typed (normalised), so failures against unknown addresses can be
    /// audited too.
    pub email: String,
    /// Why.
    pub reason: SignInFailure,
    /// Where from.
    #[serde(flatten)]
    pub origin: Origin,
}

/// The sign-in step a lock closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockedStep {
    /// Email and password, for one address (every account with it).
    Password,
    /// The code step of one person.
    SecondFactor,
}

/// Payload of `user.signin.locked`: the failure that reached the limit locked a step.
/// Until `until` (or an admin's `verity user unlock`) attempts are refused unchecked and
/// without an event each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInLocked {
    /// Which step.
    pub step: LockedStep,
    /// The person, when the address is known (always for the code step).
    pub user_id: Option<String>,
    /// For the password step, the key the lock is counted under: the SHA-256 (hex) of the
    /// normalised address, so that the fact of the lock keeps no address in clear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_key: Option<String>,
    /// When attempts are allowed again.
    pub until: DateTime<Utc>,
    /// The failures that locked it.
    pub failures: u64,
    /// Where the failure that locked it came from.
    #[serde(flatten)]
    pub origin: Origin,
}

/// A sign-in fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInEvent {
    /// Both factors passed; a session started.
    Succeeded(SignInSucceeded),
    /// A password step refused the sign-in.
    Failed(SignInFailed),
    /// Too many failures locked a step.
    Locked(SignInLocked),
}

domain_events! {
    SignInEvent {
        Succeeded(SignInSucceeded) => USER_SIGNIN_SUCCEEDED,
        Failed(SignInFailed) => USER_SIGNIN_FAILED,
        Locked(SignInLocked) => USER_SIGNIN_LOCKED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DomainEvent;
    use crate::event::recorded;

    #[test]
    fn a_success_keeps_its_stored_shape() {
        let event = SignInEvent::Succeeded(SignInSucceeded {
            user_id: "u".into(),
            sid: "s".into(),
            amr: vec!["pwd".into(), "otp".into()],
            second_factor: Some(SecondFactor::RecoveryCode),
            device_trust_used: false,
            decision: None,
            origin: Origin {
                client_id: Some("c".into()),
                ip: Some("192.0.2.1".into()),
                user_agent: None,
            },
        });
        // The stored JSON is a data format: the field names and the factor's spelling
        // are what earlier releases wrote.
        assert_eq!(
            event.to_data(),
            r#"{"user_id":"u","sid":"s","amr":["pwd","otp"],"second_factor":"recovery_code","device_trust_used":false,"client_id":"c","ip":"192.0.2.1","user_agent":null}"#
        );
        let back = SignInEvent::decode(&recorded("user-u".into(), &event)).unwrap();
        assert_eq!(back, Some(event));
    }

    #[test]
    fn each_second_factor_decision_keeps_its_stored_shape() {
        let at = DateTime::UNIX_EPOCH;
        let shapes = [
            (SecondFactorDecision::Enrollment, r#"{"kind":"enrollment"}"#.to_owned()),
            (
                SecondFactorDecision::CodeAsked {
                    reason: CodeReason::AdminRole,
                },
                r#"{"kind":"code_asked","reason":"admin_role"}"#.to_owned(),
            ),
            (
                SecondFactorDecision::CodeAsked {
                    reason: CodeReason::DeviceForgotten {
                        device: "0123456789ab".into(),
                        forgotten_at: at,
                        why: Some(ForgetReason::Logout),
                    },
                },
                r#"{"kind":"code_asked","reason":"device_forgotten","device":"0123456789ab","forgotten_at":"1970-01-01T00:00:00Z","why":"logout"}"#.to_owned(),
            ),
            (
                SecondFactorDecision::DeviceTrusted {
                    device: "0123456789ab".into(),
                    trusted_at: at,
                    until: at,
                },
                r#"{"kind":"device_trusted","device":"0123456789ab","trusted_at":"1970-01-01T00:00:00Z","until":"1970-01-01T00:00:00Z"}"#.to_owned(),
            ),
        ];
        for (decision, stored) in shapes {
            assert_eq!(serde_json::to_string(&decision).unwrap(), stored);
            assert_eq!(
                serde_json::from_str::<SecondFactorDecision>(&stored).unwrap(),
                decision
            );
        }
    }

    #[test]
    fn a_failure_decodes_and_other_types_are_not_sign_in_facts() {
        let event = SignInEvent::Failed(SignInFailed {
            user_id: None,
            email: "ada@example.org".into(),
            reason: SignInFailure::UnknownEmail,
            origin: Origin::default(),
        });
        let stored = recorded(UNKNOWN_SIGNIN_STREAM.into(), &event);
        assert_eq!(stored.event_type, USER_SIGNIN_FAILED);
        assert_eq!(SignInEvent::decode(&stored).unwrap(), Some(event));
        let mut other = stored;
        other.event_type = "user.created".into();
        assert_eq!(SignInEvent::decode(&other).unwrap(), None);
    }

    #[test]
    fn a_lock_keeps_its_stored_shape() {
        let until = DateTime::parse_from_rfc3339("2026-11-28T10:15:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let password = SignInEvent::Locked(SignInLocked {
            step: LockedStep::Password,
            user_id: None,
            address_key: Some("ab12".into()),
            until,
            failures: 10,
            origin: Origin {
                client_id: Some("c".into()),
                ip: Some("192.0.2.1".into()),
                user_agent: None,
            },
        });
        assert_eq!(
            password.to_data(),
            r#"{"step":"password","user_id":null,"address_key":"ab12","until":"2026-11-28T10:15:00Z","failures":10,"client_id":"c","ip":"192.0.2.1","user_agent":null}"#
        );
        let stored = recorded(UNKNOWN_SIGNIN_STREAM.into(), &password);
        assert_eq!(stored.event_type, USER_SIGNIN_LOCKED);
        assert_eq!(SignInEvent::decode(&stored).unwrap(), Some(password));

        let code = SignInEvent::Locked(SignInLocked {
            step: LockedStep::SecondFactor,
            user_id: Some("u".into()),
            address_key: None,
            until,
            failures: 5,
            origin: Origin::default(),
        });
        assert_eq!(
            code.to_data(),
            r#"{"step":"second_factor","user_id":"u","until":"2026-11-28T10:15:00Z","failures":5,"client_id":null,"ip":null,"user_agent":null}"#
        );
        let back = SignInEvent::decode(&recorded("user-u".into(), &code)).unwrap();
        assert_eq!(back, Some(code));
    }
}
