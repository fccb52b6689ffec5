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
