//! The set-up step of a sign-in ("Set up your authenticator app"): the person names the
//! app and types its current code; the app is enrolled ([`account::enroll`]) and the
//! transaction moves on to the recovery codes, shown once.

use verity_domain::mfa::RECOVERY_CODE_COUNT;
use verity_projection::UserView;

use super::transaction::{OpenLogin, Stage, advance};
use crate::account::{self, Enrollment, EnrollmentRefused};
use crate::context::RequestContext;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::mfa::{self, TotpSecret};

/// What the set-up step decided.
#[derive(Debug, Clone)]
pub enum SetupStep {
    /// Enrolled (`user.totp.enrolled`): the first recovery codes, to be shown once.
    Enrolled(Box<[String; RECOVERY_CODE_COUNT]>),
    /// Refused, nothing written: the set-up page again, with the same secret.
    Refused {
        /// Why.
        reason: EnrollmentRefused,
        /// The secret the person was shown (and has perhaps added to their app).
        secret: TotpSecret,
        /// The person (their address labels the app's entry).
        person: Box<UserView>,
    },
    /// The transaction is not at the set-up step any more (ended, replayed or doubly
    /// posted), or its person is gone: the sign-in starts again.
    Expired,
}

/// The set-up step: enrolls the app whose secret the transaction holds, named `app_name`,
/// if `code` is its current code; then the transaction moves on to "Your recovery codes".
pub async fn set_up_app(
    engine: &Engine,
    context: &RequestContext,
    login: &mut OpenLogin,
    app_name: &str,
    code: &str,
) -> Result<SetupStep, EngineError> {
    let Stage::EnrollTotp {
        user_id,
        sealed_secret,
    } = login.transaction.stage.clone()
    else {
        return Ok(SetupStep::Expired);
    };
    let enrollment =
        account::enroll(engine, context, user_id, &sealed_secret, app_name, code).await?;
    match enrollment {
        Enrollment::Enrolled(codes) => {
            let moved_on = Stage::RecoveryCodesShown { user_id };
            if !advance(engine, context, login, moved_on).await? {
                return Ok(SetupStep::Expired);
            }
            Ok(SetupStep::Enrolled(codes))
        }
        Enrollment::Refused(reason) => {
            let secret = mfa::open_totp_secret(engine.keys.master(), user_id, &sealed_secret)?;
            Ok(match engine.person_record(user_id).await? {
                Some(person) => SetupStep::Refused {
                    reason,
                    secret,
                    person: Box::new(person),
                },
                None => SetupStep::Expired,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_engine::{TestEngine, current_code};

    #[tokio::test]
    async fn the_apps_current_code_enrolls_it_and_moves_on_to_the_codes() {
        let test = TestEngine::start().await;
        let user_id = test.person("ada@example.org").await;
        let secret = TotpSecret::generate(&mut crate::random::crypto_rng());
        let sealed_secret = test.seal(user_id, &secret);
        let mut login = test
            .login_at(Stage::EnrollTotp {
                user_id,
                sealed_secret,
            })
            .await;
        let code = current_code(&secret);

        let outcome = set_up_app(&test.engine, &test.context(), &mut login, "Phone", &code)
            .await
            .unwrap();

        assert!(matches!(outcome, SetupStep::Enrolled(_)), "{outcome:?}");
        assert_eq!(
            login.transaction.stage,
            Stage::RecoveryCodesShown { user_id }
        );
        let app = test.record(user_id).await.mfa.totp.unwrap();
        assert_eq!(app.app_name, "Phone");
    }

    #[tokio::test]
    async fn a_refused_set_up_shows_the_same_secret_again_and_stays() {
        let test = TestEngine::start().await;
        let user_id = test.person("ada@example.org").await;
        let secret = TotpSecret::generate(&mut crate::random::crypto_rng());
        let stage = Stage::EnrollTotp {
            user_id,
            sealed_secret: test.seal(user_id, &secret),
        };
        let mut login = test.login_at(stage.clone()).await;

        let outcome = set_up_app(&test.engine, &test.context(), &mut login, "  ", "123456")
            .await
            .unwrap();

        let SetupStep::Refused {
            reason,
            secret: shown,
            person,
        } = outcome
        else {
            panic!("{outcome:?}");
        };
        assert_eq!(reason, EnrollmentRefused::InvalidAppName);
        assert_eq!(shown.as_bytes(), secret.as_bytes());
        assert_eq!(person.user_id, user_id);
        assert_eq!(login.transaction.stage, stage, "not moved on");
        assert!(test.record(user_id).await.mfa.totp.is_none());
    }

    #[tokio::test]
    async fn set_up_of_a_transaction_elsewhere_is_expired() {
        let test = TestEngine::start().await;
        let user_id = test.person("ada@example.org").await;
        let mut login = test.login_at(Stage::RecoveryCodesShown { user_id }).await;

        let outcome = set_up_app(&test.engine, &test.context(), &mut login, "Phone", "1")
            .await
            .unwrap();

        assert!(matches!(outcome, SetupStep::Expired), "{outcome:?}");
    }
}
