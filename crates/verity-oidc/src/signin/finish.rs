//! The end of a sign-in: the login transaction is taken (single use), the browser's
//! previous session ends ("replaced": one browser, one session), a session starts with
//! the sign-in's facts, and the client gets a code. What the door renders — the
//! authorization response and the cookies — comes back as [`SignedIn`].

use uuid::Uuid;
use verity_domain::session::SessionEndReason;
use verity_domain::signin::SecondFactor;

use super::transaction::{OpenLogin, Stage, close};
use crate::context::RequestContext;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::grants;
use crate::sessions;

/// What the end of a sign-in decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    /// The person is signed in: send the browser back to the client.
    SignedIn(SignedIn),
    /// The transaction was taken already (a replayed or doubly posted last step), or is
    /// at no stage a sign-in finishes from: nothing was recorded, the sign-in starts
    /// again.
    Expired,
}

/// A finished sign-in, as the door renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    /// The client's redirect URI with the code and `state` (the authorization response).
    pub location: String,
    /// The new session's cookie value (only its digest is stored).
    pub session_cookie: String,
    /// Seconds the session cookie lives: the session's lifetime.
    pub session_max_age: i64,
    /// The second factor the person signed in with.
    pub factor: SecondFactor,
}

/// Finishes the sign-in of `user_id` with `factor`: takes the transaction, ends the
/// session `browser_session` names (reason `replaced`, for the client signing in), starts
/// the new one (`user.signin.succeeded` with the transaction's second-factor decision,
/// `session.started`) and issues the code.
pub async fn finish(
    engine: &Engine,
    context: &RequestContext,
    login: &OpenLogin,
    (user_id, factor): (Uuid, SecondFactor),
    browser_session: Option<&str>,
) -> Result<Finish, EngineError> {
    if !close(engine, context, login).await? {
        return Ok(Finish::Expired);
    }
    let decision = login.transaction.decision.clone();
    let request = login.transaction.request.clone();
    if let Some(previous) = sessions::current(engine, context, browser_session).await? {
        let reason = SessionEndReason::Replaced;
        sessions::end(engine, context, &previous, reason, Some(&request.client_id)).await?;
    }
    let client_id = request.client_id.clone();
    let started = sessions::start(engine, context, user_id, (factor, decision), &client_id).await?;
    let location = grants::issue_code(engine, context, request, started.authentication).await?;
    Ok(Finish::SignedIn(SignedIn {
        location,
        session_cookie: started.cookie,
        session_max_age: engine.settings.session_lifetime.num_seconds(),
        factor,
    }))
}

/// "Continue" after a page that only informed (the recovery codes after set-up, or "You
/// used a recovery code" and perhaps a new set): finishes with the factor that page
/// followed ([`factor_after_codes`]).
pub async fn continue_after_codes(
    engine: &Engine,
    context: &RequestContext,
    login: &OpenLogin,
    browser_session: Option<&str>,
) -> Result<Finish, EngineError> {
    let Some(signing_in) = factor_after_codes(&login.transaction.stage) else {
        return Ok(Finish::Expired);
    };
    finish(engine, context, login, signing_in, browser_session).await
}

/// Who finishes from `stage` and with which second factor: set-up ends with a code from
/// the new app; a recovery code (with or without a new set) is the factor of a sign-in
/// that used one. No other stage finishes by "Continue".
fn factor_after_codes(stage: &Stage) -> Option<(Uuid, SecondFactor)> {
    match *stage {
        Stage::RecoveryCodesShown { user_id } => Some((user_id, SecondFactor::Totp)),
        Stage::RecoveryCodeUsed { user_id } | Stage::NewRecoveryCodesShown { user_id } => {
            Some((user_id, SecondFactor::RecoveryCode))
        }
        Stage::Credentials
        | Stage::ChangePassword { .. }
        | Stage::EnrollTotp { .. }
        | Stage::Mfa { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person() -> Uuid {
        Uuid::from_u128(7)
    }

    #[test]
    fn set_up_finishes_with_the_new_apps_code() {
        let stage = Stage::RecoveryCodesShown { user_id: person() };
        assert_eq!(
            factor_after_codes(&stage),
            Some((person(), SecondFactor::Totp))
        );
    }

    #[test]
    fn a_recovery_code_is_the_factor_with_or_without_a_new_set() {
        for stage in [
            Stage::RecoveryCodeUsed { user_id: person() },
            Stage::NewRecoveryCodesShown { user_id: person() },
        ] {
            assert_eq!(
                factor_after_codes(&stage),
                Some((person(), SecondFactor::RecoveryCode)),
                "{stage:?}"
            );
        }
    }

    #[test]
    fn no_other_stage_finishes_by_continue() {
        for stage in [
            Stage::Credentials,
            Stage::ChangePassword { user_id: person() },
            Stage::EnrollTotp {
                user_id: person(),
                sealed_secret: "sealed".into(),
            },
            Stage::Mfa {
                user_id: person(),
                new_password_hash: None,
            },
        ] {
            assert_eq!(factor_after_codes(&stage), None, "{stage:?}");
        }
    }
}
