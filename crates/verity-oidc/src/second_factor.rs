//! Checking a person's second factor — at sign-in ("Enter the code from <app>", or a
//! recovery code) and on Verity's own page (before new recovery codes): the attempt
//! counted against the person's and the network's limits before the code is checked (a
//! lock refuses it unchecked), the code accepted once, a success clearing the person's
//! count, and the failure that sets a lock recorded as such (docs/mfa.md).

use chrono::{DateTime, Utc};
use verity_domain::mfa::MfaCommand;
use verity_domain::signin::{LockedStep, SecondFactor};
use verity_domain::user::{self, UserCommand};
use verity_projection::{TotpView, UserView};

use crate::context::RequestContext;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::limits::{self, Locked, Lockout, Reservation, mfa_failure_key};
use crate::lockouts;
use crate::mfa::{self, CodeCheck};

/// What the person typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presented<'a> {
    /// A code from the authenticator app.
    AppCode(&'a str),
    /// One of the recovery codes.
    RecoveryCode(&'a str),
}

/// What the check decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeOutcome {
    /// Accepted (and, for a recovery code, used up).
    Accepted(SecondFactor),
    /// Refused, and why.
    Refused(CodeRefusal),
}

/// A refused code: why, and for metrics what was found wrong, the lock that refused it
/// unchecked or the locks it set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRefusal {
    /// Why, as the person is told (a lock this failure set, or what was wrong).
    pub reason: CodeRefused,
    /// When a code was checked and found wrong: how (`wrong_code`, `reused_code`,
    /// `wrong_recovery_code`), even when the failure then set a lock.
    pub failure: Option<&'static str>,
    /// The lock that refused the attempt before anything was checked.
    pub refused_by: Option<Lockout>,
    /// The locks this refusal set.
    pub lockouts: Vec<Lockout>,
}

/// Why a code was refused, as the person is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRefused {
    /// Too many failures from the person's network.
    NetworkLocked {
        /// When sign-in from the network is allowed again.
        until: DateTime<Utc>,
    },
    /// Too many wrong codes: the person's code step is locked for a while.
    StepLocked,
    /// Not the current code.
    WrongCode,
    /// The current code, already used once.
    ReusedCode,
    /// Not one of the person's unused recovery codes.
    WrongRecoveryCode,
}

impl CodeRefused {
    /// How a checked code was wrong, as metrics name it (none for the locks).
    fn failure_label(self) -> Option<&'static str> {
        match self {
            Self::WrongCode => Some("wrong_code"),
            Self::ReusedCode => Some("reused_code"),
            Self::WrongRecoveryCode => Some("wrong_recovery_code"),
            Self::NetworkLocked { .. } | Self::StepLocked => None,
        }
    }
}

/// Checks the person's code or recovery code. `totp` is the person's enrolled app.
pub async fn check(
    engine: &Engine,
    context: &RequestContext,
    person: &UserView,
    totp: &TotpView,
    presented: Presented<'_>,
) -> Result<CodeOutcome, EngineError> {
    let user_id = person.user_id;
    let key = mfa_failure_key(user_id);
    let settings = &engine.settings;
    let store = engine.expiring.as_ref();
    let reservation = limits::reserve(
        store,
        &settings.ip_limit,
        context.ip,
        (&settings.mfa_limit, &key),
        context.now,
    )
    .await?;
    let attempt = match reservation {
        Reservation::Reserved(attempt) => attempt,
        Reservation::Refused(Locked::Network { until }) => {
            return Ok(refused(
                CodeRefused::NetworkLocked { until },
                Lockout::Network,
            ));
        }
        Reservation::Refused(Locked::Step { .. }) => {
            return Ok(refused(CodeRefused::StepLocked, Lockout::SecondFactor));
        }
    };
    let checked = match presented {
        Presented::RecoveryCode(code) => {
            match mfa::match_recovery_code(user_id, &person.mfa.recovery_codes, code) {
                Some(index) => {
                    let command = UserCommand::Mfa(MfaCommand::UseRecoveryCode { index });
                    engine.act(context, user_id, command).await?;
                    Ok(SecondFactor::RecoveryCode)
                }
                None => Err(CodeRefused::WrongRecoveryCode),
            }
        }
        Presented::AppCode(code) => {
            let secret =
                mfa::open_totp_secret(engine.keys.master(), user_id, &totp.encrypted_secret)?;
            match mfa::check_code(
                engine.expiring.as_ref(),
                user_id,
                &secret,
                code,
                context.now,
            )
            .await?
            {
                CodeCheck::Accepted { .. } => Ok(SecondFactor::Totp),
                CodeCheck::Reused => Err(CodeRefused::ReusedCode),
                CodeCheck::Wrong => Err(CodeRefused::WrongCode),
            }
        }
    };
    let reason = match checked {
        Ok(factor) => {
            attempt.succeeded(store, context.now).await?;
            return Ok(CodeOutcome::Accepted(factor));
        }
        Err(reason) => reason,
    };
    let failed = attempt.failed(store, context.now).await?;
    let locked = lockouts::step_locked(
        context,
        LockedStep::SecondFactor,
        Some(user_id),
        None,
        &failed.step,
        None,
    );
    if let Some(locked) = locked {
        engine.record(user::stream(user_id), vec![locked]).await?;
    }
    lockouts::record_network_lock(engine, context, &failed).await?;
    let said = match failed.network_locked_until() {
        Some(until) => CodeRefused::NetworkLocked { until },
        None if failed.step.locked_until.is_some() => CodeRefused::StepLocked,
        None => reason,
    };
    Ok(CodeOutcome::Refused(CodeRefusal {
        reason: said,
        failure: reason.failure_label(),
        refused_by: None,
        lockouts: failed.lockouts(Lockout::SecondFactor),
    }))
}

/// Refused by `lock` before any code was checked (nothing counted).
fn refused(reason: CodeRefused, lock: Lockout) -> CodeOutcome {
    CodeOutcome::Refused(CodeRefusal {
        reason,
        failure: None,
        refused_by: Some(lock),
        lockouts: Vec::new(),
    })
}
