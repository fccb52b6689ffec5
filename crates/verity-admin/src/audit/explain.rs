//! Why a sign-in went as it did (`verity audit explain`): for a sign-in that succeeded,
//! why a code was asked or a trusted device stood in for it (recorded with the sign-in,
//! [`SecondFactorDecision`]); for one refused, why; for a lock, which step and until
//! when. A sign-in is named by its session id or by the log position of its event.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use verity_domain::mfa::ForgetReason;
use verity_domain::signin::{
    CodeReason, SecondFactor, SecondFactorDecision, SignInEvent, SignInFailure,
    UNKNOWN_SIGNIN_STREAM,
};
use verity_domain::{DomainEvent, RecordedEvent, user};

use crate::actor::{Actor, Scope};
use crate::admin::Admin;
use crate::authorization::{Permission, authorize};
use crate::error::AdminError;
use crate::people::PersonRef;

/// A sign-in as an auditor names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInRef {
    /// The log position of its `user.signin.*` event.
    Position(u64),
    /// The session a successful sign-in started.
    Sid(String),
}

impl SignInRef {
    /// A position when `text` is a number, else a session id.
    pub fn parse(text: &str) -> Self {
        text.trim()
            .parse()
            .map_or_else(|_| Self::Sid(text.trim().to_owned()), Self::Position)
    }
}

/// How the sign-in ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Both factors passed; a session started.
    SignedIn {
        /// The session.
        sid: String,
        /// The factors (`amr`).
        amr: Vec<String>,
        /// How the second factor was satisfied.
        second_factor: Option<SecondFactor>,
        /// Why it was that (absent for sign-ins recorded before this was).
        decision: Option<SecondFactorDecision>,
    },
    /// Refused at the password step.
    Refused {
        /// Why.
        reason: SignInFailure,
    },
    /// This failure locked a step.
    Locked {
        /// `password` or `second_factor`.
        step: &'static str,
        /// Until when.
        until: DateTime<Utc>,
        /// After how many failures.
        failures: u64,
    },
}

/// A sign-in, explained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The position of its event.
    pub position: u64,
    /// When.
    pub at: DateTime<Utc>,
    /// The person, when the address has an account.
    pub user_id: Option<Uuid>,
    /// The address (as typed, for a refusal).
    pub email: Option<String>,
    /// The application it was for.
    pub client_id: Option<String>,
    /// From which address.
    pub ip: Option<String>,
    /// With which browser.
    pub user_agent: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// Why, in one line.
    pub because: String,
}

impl Admin {
    /// Explains a sign-in the actor may read about.
    pub async fn explain_sign_in(
        &self,
        actor: &Actor,
        sign_in: &SignInRef,
    ) -> Result<Explanation, AdminError> {
        let not_found = || AdminError::Invalid(format!("no sign-in {}", describe_ref(sign_in)));
        let event = match sign_in {
            SignInRef::Position(position) => self
                .ports
                .store
                .read_all(position.saturating_sub(1), 1)
                .await?
                .into_iter()
                .find(|event| event.position == *position),
            SignInRef::Sid(sid) => self.sign_in_of_session(sid).await?,
        }
        .ok_or_else(not_found)?;
        let typed = SignInEvent::decode(&event)?.ok_or_else(not_found)?;
        // Whose it is decides who may read it: the person's organization, or for an
        // address without an account, the instance.
        if event.stream == UNKNOWN_SIGNIN_STREAM {
            authorize(actor, Permission::ReadPeople, Scope::Instance)?;
        } else {
            let user_id = user::of_stream(&event.stream).ok_or_else(not_found)?;
            self.find_person(actor, &PersonRef::Id(user_id))
                .map_err(|_| not_found())?;
        }
        Ok(explanation(&event, typed))
    }

    /// The `user.signin.succeeded` that started session `sid`.
    async fn sign_in_of_session(&self, sid: &str) -> Result<Option<RecordedEvent>, AdminError> {
        let stream = verity_domain::session::stream(sid);
        let Some(started) = self
            .ports
            .store
            .read_stream(&stream)
            .await?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let Some(user_id) = serde_json::from_str::<serde_json::Value>(&started.data)
            .ok()
            .and_then(|data| data.get("user_id")?.as_str().map(str::to_owned))
        else {
            return Ok(None);
        };
        let events = self
            .ports
            .store
            .read_stream(&format!("user-{user_id}"))
            .await?;
        Ok(events.into_iter().find(|event| {
            matches!(
                SignInEvent::decode(event),
                Ok(Some(SignInEvent::Succeeded(succeeded))) if succeeded.sid == sid
            )
        }))
    }
}

fn describe_ref(sign_in: &SignInRef) -> String {
    match sign_in {
        SignInRef::Position(position) => format!("at position {position}"),
        SignInRef::Sid(sid) => format!("that started session {sid:?}"),
    }
}

fn explanation(event: &RecordedEvent, typed: SignInEvent) -> Explanation {
    let user_id = user::of_stream(&event.stream);
    let (origin, email, outcome) = match typed {
        SignInEvent::Succeeded(succeeded) => (
            succeeded.origin,
            None,
            Outcome::SignedIn {
                sid: succeeded.sid,
                amr: succeeded.amr,
                second_factor: succeeded.second_factor,
                decision: succeeded.decision,
            },
        ),
        SignInEvent::Failed(failed) => (
            failed.origin,
            Some(failed.email),
            Outcome::Refused {
                reason: failed.reason,
            },
        ),
        SignInEvent::Locked(locked) => (
            locked.origin,
            None,
            Outcome::Locked {
                step: match locked.step {
                    verity_domain::signin::LockedStep::Password => "password",
                    verity_domain::signin::LockedStep::SecondFactor => "second_factor",
                },
                until: locked.until,
                failures: locked.failures,
            },
        ),
    };
    Explanation {
        position: event.position,
        at: event.recorded_at,
        user_id,
        email,
        client_id: origin.client_id,
        ip: origin.ip,
        user_agent: origin.user_agent,
        because: because(&outcome),
        outcome,
    }
}

/// Why, in one line.
pub fn because(outcome: &Outcome) -> String {
    match outcome {
        Outcome::SignedIn {
            decision: Some(decision),
            ..
        } => decided(decision),
        Outcome::SignedIn {
            second_factor,
            decision: None,
            ..
        } => format!(
            "signed in with {}; why was not recorded (a sign-in from before Verity recorded it)",
            match second_factor {
                Some(SecondFactor::TrustedDevice) => "a trusted device standing in for the code",
                Some(SecondFactor::RecoveryCode) => "a recovery code",
                Some(SecondFactor::Totp) => "an authenticator code",
                None => "both factors",
            }
        ),
        Outcome::Refused { reason } => format!(
            "refused: {}",
            match reason {
                SignInFailure::UnknownEmail => "no account has this address",
                SignInFailure::WrongPassword => "the password was wrong",
                SignInFailure::Disabled => "the account is disabled",
                SignInFailure::TemporaryPasswordExpired => "the temporary password had expired",
                SignInFailure::Locked => "sign-in was locked after too many failures",
                SignInFailure::ClientOfAnotherOrganization => {
                    "the application belongs to another organization"
                }
            }
        ),
        Outcome::Locked {
            step,
            until,
            failures,
        } => format!(
            "{failures} failures locked the {} step until {until}",
            step.replace('_', " ")
        ),
    }
}

fn decided(decision: &SecondFactorDecision) -> String {
    match decision {
        SecondFactorDecision::Enrollment => {
            "a code was asked: they set up an authenticator app, whose first code was the second factor".into()
        }
        SecondFactorDecision::DeviceTrusted {
            device,
            trusted_at,
            until,
        } => format!(
            "no code was asked: the browser's trusted device {device} stood in (trusted at {trusted_at}, until {until})"
        ),
        SecondFactorDecision::CodeAsked { reason } => format!(
            "a code was asked: {}",
            match reason {
                CodeReason::AdminRole =>
                    "they hold an admin role, so a code is asked at every sign-in".to_owned(),
                CodeReason::NoTrustedDevice => "the browser had no trusted device".to_owned(),
                CodeReason::UnknownDevice => {
                    "the browser's device is not one they trusted".to_owned()
                }
                CodeReason::TrustExpired { device, expired_at } => {
                    format!("the trust of device {device} had ended at {expired_at}")
                }
                CodeReason::DeviceForgotten {
                    device,
                    forgotten_at,
                    why,
                } => format!(
                    "device {device} had been forgotten at {forgotten_at}{}",
                    match why {
                        Some(ForgetReason::Logout) => " (at logout)",
                        Some(ForgetReason::Revoked) => " (by an admin or the person)",
                        Some(ForgetReason::LimitReached) => " (to make room for a newer one)",
                        Some(ForgetReason::AuthenticatorReset) => {
                            " (their authenticator app was reset)"
                        }
                        Some(ForgetReason::AccountDisabled) => " (the account was disabled)",
                        None => "",
                    }
                ),
            }
        ),
    }
}
