//! What an event about a person says, in one line, and where it came from ([`read`]): the event
//! decoded by the domain's own types (`UserEvent`, `SignInEvent`, `RoleEvent`), so the
//! log's format is written down once. An event of a type this binary does not know reads
//! as its type.

use serde::Serialize;
use verity_domain::mfa::MfaEvent;
use verity_domain::personal::{ERASED_EMAIL, ERASED_TEXT};
use verity_domain::role::{RoleChanged, RoleEvent};
use verity_domain::signin::{Origin, SecondFactor, SignInEvent, SignInSucceeded};
use verity_domain::user::UserEvent;
use verity_domain::{DomainEvent, Email, RecordedEvent};

/// An event about a person, as the domain reads it.
enum AboutPerson {
    User(UserEvent),
    SignIn(SignInEvent),
    Role(RoleEvent),
}

impl AboutPerson {
    fn decode(event: &RecordedEvent) -> Option<Self> {
        if let Ok(Some(user)) = UserEvent::decode(event) {
            return Some(Self::User(user));
        }
        if let Ok(Some(sign_in)) = SignInEvent::decode(event) {
            return Some(Self::SignIn(sign_in));
        }
        RoleEvent::decode(event).ok().flatten().map(Self::Role)
    }
}

/// What an event about a person says, in one line, and where the request behind it came
/// from when the event says (sign-ins do): the event decoded once for both.
pub fn read(event: &RecordedEvent) -> (String, Option<Origin>) {
    let Some(about) = AboutPerson::decode(event) else {
        return (event.event_type.clone(), None);
    };
    let line = match &about {
        AboutPerson::User(user) => user_line(user),
        AboutPerson::SignIn(sign_in) => sign_in_line(sign_in),
        AboutPerson::Role(RoleEvent::Granted(granted)) => {
            format!("given the role {}", role_in_org(granted))
        }
        AboutPerson::Role(RoleEvent::Revoked(revoked)) => {
            format!("role {} taken away", role_in_org(revoked))
        }
    };
    let origin = match about {
        AboutPerson::SignIn(SignInEvent::Succeeded(succeeded)) => Some(succeeded.origin),
        AboutPerson::SignIn(SignInEvent::Failed(failed)) => Some(failed.origin),
        AboutPerson::SignIn(SignInEvent::Locked(locked)) => Some(locked.origin),
        _ => None,
    };
    (line, origin)
}

fn user_line(event: &UserEvent) -> String {
    match event {
        UserEvent::Created(created) => format!("account created for {}", shown(&created.email)),
        UserEvent::PasswordChanged(_) => "chose a new password".into(),
        UserEvent::TemporaryPasswordIssued(_) => "a new temporary password was issued".into(),
        UserEvent::Disabled => "account disabled".into(),
        UserEvent::Enabled => "account enabled".into(),
        UserEvent::Unlocked => "sign-in locks lifted".into(),
        UserEvent::Erased(_) => "erased: their personal data is destroyed".into(),
        UserEvent::SessionsEnded(ended) => {
            format!("every session ended ({})", words(&ended.reason))
        }
        UserEvent::NameChanged(changed) => {
            format!(
                "name changed from {:?} to {:?}",
                changed.before, changed.after
            )
        }
        UserEvent::EmailChanged(changed) => format!(
            "address changed from {} to {}",
            shown(&changed.before),
            shown(&changed.after)
        ),
        UserEvent::DirectoryChanged(_) => {
            "directory attributes changed (external id, name parts or other addresses)".into()
        }
        UserEvent::Deleted(deleted) => {
            format!("account deleted; {} is free again", shown(&deleted.email))
        }
        UserEvent::Mfa(mfa) => mfa_line(mfa),
    }
}

fn mfa_line(event: &MfaEvent) -> String {
    match event {
        MfaEvent::TotpEnrolled(enrolled) => {
            format!("set up the authenticator app {:?}", enrolled.app_name)
        }
        MfaEvent::TotpReset(_) => "authenticator app removed".into(),
        MfaEvent::RecoveryCodesGenerated(_) => "new recovery codes".into(),
        MfaEvent::RecoveryCodeUsed(_) => "used a recovery code".into(),
        MfaEvent::DeviceTrusted(trusted) => format!("trusted the device {:?}", trusted.label),
        MfaEvent::DeviceForgotten(forgotten) => {
            format!("forgot a trusted device ({})", words(&forgotten.reason))
        }
    }
}

fn sign_in_line(event: &SignInEvent) -> String {
    match event {
        SignInEvent::Succeeded(succeeded) => signed_in(succeeded).into(),
        SignInEvent::Failed(failed) => format!("sign-in refused: {}", words(&failed.reason)),
        SignInEvent::Locked(locked) => format!(
            "sign-in locked at the {} step until {}",
            words(&locked.step),
            locked
                .until
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
    }
}

fn signed_in(succeeded: &SignInSucceeded) -> &'static str {
    match (succeeded.device_trust_used, succeeded.second_factor) {
        (true, _) | (_, Some(SecondFactor::TrustedDevice)) => {
            "signed in with password; a trusted device stood in for the code"
        }
        (_, Some(SecondFactor::Totp)) => "signed in with password and authenticator code",
        (_, Some(SecondFactor::RecoveryCode)) => "signed in with password and a recovery code",
        (false, None) => "signed in",
    }
}

/// `org-admin in organization <id>`, or the role alone for one of the instance.
fn role_in_org(changed: &RoleChanged) -> String {
    match changed.org_id {
        Some(org_id) => format!("{} in organization {org_id}", changed.role.as_str()),
        None => changed.role.as_str().to_owned(),
    }
}

/// An address as people read it: an erased one reads as erased, like every other erased
/// field.
fn shown(email: &Email) -> &str {
    match email.as_str() {
        ERASED_EMAIL => ERASED_TEXT,
        address => address,
    }
}

/// A reason or step as stored (`password_reset`), in words (`password reset`).
fn words(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name.replace('_', " "),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use uuid::Uuid;
    use verity_domain::role::{Holder, Role};
    use verity_domain::signin::{LockedStep, SignInLocked};
    use verity_domain::user::{AccessEndReason, NameChanged, SessionsEnded, UserCreated};

    use super::*;

    fn describe(event: &RecordedEvent) -> String {
        read(event).0
    }

    fn origin(event: &RecordedEvent) -> Option<Origin> {
        read(event).1
    }

    fn recorded(event: &impl DomainEvent) -> RecordedEvent {
        RecordedEvent {
            position: 1,
            stream: "user-x".into(),
            version: 1,
            event_type: event.event_type().into(),
            schema: event.schema(),
            data: event.to_data(),
            metadata: "{}".into(),
            recorded_at: chrono::DateTime::UNIX_EPOCH,
            hash: String::new(),
        }
    }

    fn signed_in_with(second_factor: Option<SecondFactor>, trusted: bool) -> RecordedEvent {
        recorded(&SignInEvent::Succeeded(SignInSucceeded {
            user_id: "u".into(),
            sid: "s".into(),
            amr: vec!["pwd".into()],
            second_factor,
            device_trust_used: trusted,
            decision: None,
            origin: Origin {
                client_id: None,
                ip: Some("192.0.2.7".into()),
                user_agent: Some("Firefox".into()),
            },
        }))
    }

    #[test]
    fn each_kind_of_event_reads_as_one_line() {
        let ended = UserEvent::SessionsEnded(SessionsEnded {
            reason: AccessEndReason::PasswordReset,
            except_sid: None,
        });
        assert_eq!(
            describe(&recorded(&ended)),
            "every session ended (password reset)"
        );
        let renamed = UserEvent::NameChanged(NameChanged {
            before: "Ada".into(),
            after: "Ada King".into(),
        });
        assert_eq!(
            describe(&recorded(&renamed)),
            "name changed from \"Ada\" to \"Ada King\""
        );
        assert_eq!(
            describe(&signed_in_with(Some(SecondFactor::Totp), false)),
            "signed in with password and authenticator code"
        );
        assert_eq!(describe(&signed_in_with(None, false)), "signed in");
        assert_eq!(
            describe(&signed_in_with(None, true)),
            "signed in with password; a trusted device stood in for the code"
        );
        let org_id = Uuid::from_u128(7);
        let granted = RoleEvent::Granted(RoleChanged {
            holder: Holder::User {
                user_id: Uuid::from_u128(1),
            },
            role: Role::OrgAdmin,
            org_id: Some(org_id),
        });
        assert_eq!(
            describe(&recorded(&granted)),
            format!("given the role org-admin in organization {org_id}")
        );
        let locked = SignInEvent::Locked(SignInLocked {
            step: LockedStep::SecondFactor,
            user_id: Some("u".into()),
            address_key: None,
            until: Utc.with_ymd_and_hms(2026, 12, 6, 11, 0, 0).unwrap(),
            failures: 5,
            origin: Origin::default(),
        });
        assert_eq!(
            describe(&recorded(&locked)),
            "sign-in locked at the second factor step until 2026-12-06T11:00:00Z"
        );
        let mut unknown = recorded(&UserEvent::Disabled);
        unknown.event_type = "something.new".into();
        assert_eq!(describe(&unknown), "something.new");
    }

    #[test]
    fn an_erased_address_reads_as_erased_and_a_sign_in_gives_its_origin() {
        let created = UserEvent::Created(UserCreated {
            user_id: Uuid::from_u128(1),
            org_id: Uuid::from_u128(2),
            email: Email::parse(ERASED_EMAIL).unwrap(),
            name: ERASED_TEXT.into(),
            temporary_password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            temporary_password_expires_at: chrono::DateTime::UNIX_EPOCH,
        });
        assert_eq!(
            describe(&recorded(&created)),
            format!("account created for {ERASED_TEXT}")
        );
        assert_eq!(origin(&recorded(&created)), None);
        let origin = origin(&signed_in_with(Some(SecondFactor::Totp), false)).unwrap();
        assert_eq!(origin.ip.as_deref(), Some("192.0.2.7"));
        assert_eq!(origin.user_agent.as_deref(), Some("Firefox"));
    }
}
