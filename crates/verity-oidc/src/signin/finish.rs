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
    use crate::test_engine::TestEngine;

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

    #[tokio::test]
    async fn a_sign_in_replaces_this_browsers_session_and_takes_the_transaction() {
        let test = TestEngine::start().await;
        let user_id = test.person("ada@example.org").await;
        let (previous_cookie, previous) = test.session(user_id).await;
        let login = test.login_at(Stage::RecoveryCodesShown { user_id }).await;
        let (engine, context) = (&test.engine, test.context());
        let signing_in = (user_id, SecondFactor::Totp);

        let finished = finish(engine, &context, &login, signing_in, Some(&previous_cookie))
            .await
            .unwrap();

        let Finish::SignedIn(signed_in) = finished else {
            panic!("{finished:?}");
        };
        assert!(
            signed_in
                .location
                .starts_with("https://client.test/callback?code="),
            "{}",
            signed_in.location
        );
        assert!(
            signed_in.location.contains("state=state-1"),
            "{}",
            signed_in.location
        );
        assert_eq!(signed_in.factor, SecondFactor::Totp);
        assert_eq!(signed_in.session_max_age, 12 * 60 * 60);
        let previous_now = sessions::current(engine, &context, Some(&previous_cookie))
            .await
            .unwrap();
        assert_eq!(previous_now, None, "the previous session ended");
        let current = sessions::current(engine, &context, Some(&signed_in.session_cookie))
            .await
            .unwrap()
            .unwrap();
        assert_ne!(current.authentication.sid, previous.authentication.sid);
        // The previous session ended before the new one started.
        let types = test.event_types().await;
        let last = |wanted: &str| types.iter().rposition(|found| found == wanted).unwrap();
        assert!(
            last("session.ended") < last("user.signin.succeeded"),
            "{types:?}"
        );
        assert!(last("session.ended") < last("session.started"), "{types:?}");
        let ended = test
            .events()
            .await
            .into_iter()
            .find(|event| event.event_type == "session.ended")
            .unwrap();
        assert!(ended.data.contains("\"replaced\""), "{}", ended.data);
        assert!(
            ended.data.contains(crate::test_engine::CLIENT_ID),
            "{}",
            ended.data
        );

        // Single use: the same last step posted again finishes nothing.
        let again = finish(engine, &context, &login, signing_in, None)
            .await
            .unwrap();
        assert_eq!(again, Finish::Expired);
    }

    #[tokio::test]
    async fn continue_finishes_only_from_a_page_that_informed() {
        let test = TestEngine::start().await;
        let user_id = test.person("ada@example.org").await;
        let (engine, context) = (&test.engine, test.context());
        let at_code = test
            .login_at(Stage::Mfa {
                user_id,
                new_password_hash: None,
            })
            .await;
        let refused = continue_after_codes(engine, &context, &at_code, None).await;
        assert_eq!(refused.unwrap(), Finish::Expired);
        let after_recovery = test.login_at(Stage::RecoveryCodeUsed { user_id }).await;
        let finished = continue_after_codes(engine, &context, &after_recovery, None)
            .await
            .unwrap();
        assert!(
            matches!(
                finished,
                Finish::SignedIn(SignedIn {
                    factor: SecondFactor::RecoveryCode,
                    ..
                })
            ),
            "{finished:?}"
        );
    }
}
