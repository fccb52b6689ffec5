//! The code step of a sign-in ("Enter the code from <app>", or a recovery code in its
//! place) and what follows an accepted code: a new password that waited for it is
//! recorded; a recovery code stops at "You used a recovery code", which offers a new set
//! before the sign-in finishes; an app's code finishes it, trusting this browser when the
//! person asked and may ("Remember this device", never for an admin).

use uuid::Uuid;
use verity_domain::mfa::RECOVERY_CODE_COUNT;
use verity_domain::signin::SecondFactor;

use super::next::second_factor_verified;
use super::transaction::{OpenLogin, Stage, advance};
use crate::account::{self, TrustedDevice};
use crate::context::RequestContext;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::second_factor::{self, CodeOutcome, CodeRefusal, Presented};

/// What the code step decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeStep {
    /// Refused: "Enter the code from <app>" again, with why.
    Refused {
        /// Why, and for metrics what was wrong or locked.
        refusal: CodeRefusal,
        /// The name the person gave the app.
        app_name: String,
        /// Whether "Remember this device" is offered (not to admins).
        may_remember: bool,
    },
    /// A recovery code was accepted and used up: "You used a recovery code", which
    /// offers a new set before the sign-in finishes.
    RecoveryCodeUsed {
        /// The person's recovery codes still unused.
        remaining: usize,
    },
    /// An app's code was accepted: finish the sign-in.
    Finish {
        /// The person.
        user_id: Uuid,
        /// The second factor they gave.
        factor: SecondFactor,
        /// This browser, trusted just now (`user.device.trusted`) when the person asked.
        device: Option<TrustedDevice>,
    },
    /// The transaction is not at the code step any more (ended, replayed or doubly
    /// posted), or its person or their app is gone: the sign-in starts again.
    Expired,
}

/// The code step: checks the code or recovery code the person `presented`
/// ([`second_factor::check`]: counted first, accepted once); once accepted, records a new
/// password that waited for it, then moves on as [`after_code`] decides.
/// `asked_to_remember` is the form's "Remember this device".
pub async fn enter_code(
    engine: &Engine,
    context: &RequestContext,
    login: &mut OpenLogin,
    presented: Presented<'_>,
    asked_to_remember: bool,
) -> Result<CodeStep, EngineError> {
    let Stage::Mfa { user_id, .. } = login.transaction.stage else {
        return Ok(CodeStep::Expired);
    };
    let Some(person) = engine.person_record(user_id).await? else {
        return Ok(CodeStep::Expired);
    };
    let Some(totp) = &person.mfa.totp else {
        return Ok(CodeStep::Expired);
    };
    let may_remember = account::may_trust_devices(engine, user_id);
    let factor = match second_factor::check(engine, context, &person, totp, presented).await? {
        CodeOutcome::Accepted(factor) => factor,
        CodeOutcome::Refused(refusal) => {
            return Ok(CodeStep::Refused {
                refusal,
                app_name: totp.app_name.clone(),
                may_remember,
            });
        }
    };
    second_factor_verified(engine, context, login).await?;
    match after_code(factor, may_remember, asked_to_remember) {
        AfterCode::OfferNewCodes => {
            if !advance(engine, context, login, Stage::RecoveryCodeUsed { user_id }).await? {
                return Ok(CodeStep::Expired);
            }
            // Read again: one code fewer than before.
            Ok(match engine.person_record(user_id).await? {
                Some(person) => CodeStep::RecoveryCodeUsed {
                    remaining: person.mfa.unused_recovery_codes(),
                },
                None => CodeStep::Expired,
            })
        }
        AfterCode::Finish { trust_device } => {
            let device = if trust_device {
                Some(account::trust_device(engine, context, user_id).await?)
            } else {
                None
            };
            Ok(CodeStep::Finish {
                user_id,
                factor,
                device,
            })
        }
    }
}

/// What follows an accepted code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AfterCode {
    /// A recovery code: offer a new set before finishing (this browser is not trusted).
    OfferNewCodes,
    /// An app's code: finish, trusting this browser or not.
    Finish {
        /// The person asked to be remembered here and may be.
        trust_device: bool,
    },
}

/// After an accepted `factor`: a recovery code leads to "You used a recovery code"; an
/// app's code finishes, trusting the browser only when the person `may_remember` (no
/// admin role) and `asked_to_remember`.
fn after_code(factor: SecondFactor, may_remember: bool, asked_to_remember: bool) -> AfterCode {
    if factor == SecondFactor::RecoveryCode {
        return AfterCode::OfferNewCodes;
    }
    AfterCode::Finish {
        trust_device: may_remember && asked_to_remember,
    }
}

/// What "Generate new recovery codes" after a sign-in with one decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewRecoveryCodes {
    /// The new set, recorded (every older code stopped working), to be shown once.
    Generated(Box<[String; RECOVERY_CODE_COUNT]>),
    /// The transaction is not at "You used a recovery code" any more (the set was
    /// generated by an earlier post, or the sign-in ended): nothing generated.
    Expired,
}

/// "Generate new recovery codes" after a sign-in with one. Shown once: the transaction
/// moves on first, so that posting again (or twice at once) finds the next stage and
/// generates nothing; then the new set is recorded (`user.recovery_codes.generated`).
pub async fn new_recovery_codes(
    engine: &Engine,
    context: &RequestContext,
    login: &mut OpenLogin,
) -> Result<NewRecoveryCodes, EngineError> {
    let Stage::RecoveryCodeUsed { user_id } = login.transaction.stage else {
        return Ok(NewRecoveryCodes::Expired);
    };
    let moved_on = Stage::NewRecoveryCodesShown { user_id };
    if !advance(engine, context, login, moved_on).await? {
        return Ok(NewRecoveryCodes::Expired);
    }
    let codes = account::new_recovery_codes(engine, context, user_id).await?;
    Ok(NewRecoveryCodes::Generated(Box::new(codes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::second_factor::CodeRefused;
    use crate::signin::load;
    use crate::test_engine::{TestEngine, current_code};

    fn at_code(user_id: Uuid) -> Stage {
        Stage::Mfa {
            user_id,
            new_password_hash: None,
        }
    }

    fn count(types: &[String], wanted: &str) -> usize {
        types.iter().filter(|found| *found == wanted).count()
    }

    #[test]
    fn a_recovery_code_offers_a_new_set_and_trusts_no_browser() {
        for (may, asked) in [(true, true), (true, false), (false, true), (false, false)] {
            assert_eq!(
                after_code(SecondFactor::RecoveryCode, may, asked),
                AfterCode::OfferNewCodes,
                "may {may}, asked {asked}"
            );
        }
    }

    #[test]
    fn an_apps_code_trusts_the_browser_only_when_asked_and_allowed() {
        let finish = |trust_device| AfterCode::Finish { trust_device };
        assert_eq!(after_code(SecondFactor::Totp, true, true), finish(true));
        assert_eq!(after_code(SecondFactor::Totp, true, false), finish(false));
        // An admin gives a code at every sign-in: asking changes nothing.
        assert_eq!(after_code(SecondFactor::Totp, false, true), finish(false));
        assert_eq!(after_code(SecondFactor::Totp, false, false), finish(false));
    }

    #[tokio::test]
    async fn an_apps_code_finishes_and_trusts_this_browser_when_asked() {
        let test = TestEngine::start().await;
        let user_id = test.person("ada@example.org").await;
        let (secret, _) = test.enroll(user_id).await;
        let mut login = test.login_at(at_code(user_id)).await;
        let code = current_code(&secret);

        let outcome = enter_code(
            &test.engine,
            &test.context(),
            &mut login,
            Presented::AppCode(&code),
            true,
        )
        .await
        .unwrap();

        let CodeStep::Finish {
            user_id: finishing,
            factor,
            device: Some(device),
        } = outcome
        else {
            panic!("{outcome:?}");
        };
        assert_eq!((finishing, factor), (user_id, SecondFactor::Totp));
        assert_eq!(device.max_age, 30 * 24 * 60 * 60);
        let types = test.event_types().await;
        assert_eq!(count(&types, "user.device.trusted"), 1, "{types:?}");
    }

    #[tokio::test]
    async fn an_apps_code_without_remember_trusts_nothing() {
        let test = TestEngine::start().await;
        let user_id = test.person("ada@example.org").await;
        let (secret, _) = test.enroll(user_id).await;
        let mut login = test.login_at(at_code(user_id)).await;
        let code = current_code(&secret);
        let context = test.context();
        let presented = Presented::AppCode(&code);

        let outcome = enter_code(&test.engine, &context, &mut login, presented, false)
            .await
            .unwrap();

        assert!(
            matches!(outcome, CodeStep::Finish { device: None, .. }),
            "{outcome:?}"
        );
        assert_eq!(count(&test.event_types().await, "user.device.trusted"), 0);
    }

    #[tokio::test]
    async fn a_wrong_code_is_refused_with_what_the_page_shows_again() {
        let test = TestEngine::start().await;
        let user_id = test.person("ada@example.org").await;
        test.enroll(user_id).await;
        let mut login = test.login_at(at_code(user_id)).await;
        let presented = Presented::AppCode("000000x");

        let outcome = enter_code(&test.engine, &test.context(), &mut login, presented, true)
            .await
            .unwrap();

        let CodeStep::Refused {
            refusal,
            app_name,
            may_remember,
        } = outcome
        else {
            panic!("{outcome:?}");
        };
        assert_eq!(refusal.reason, CodeRefused::WrongCode);
        assert_eq!((app_name.as_str(), may_remember), ("Phone", true));
        assert_eq!(login.transaction.stage, at_code(user_id), "not moved on");
    }

    #[tokio::test]
    async fn a_recovery_code_stops_at_recovery_code_used_and_trusts_nothing() {
        let test = TestEngine::start().await;
        let user_id = test.person("ada@example.org").await;
        let (_, codes) = test.enroll(user_id).await;
        let mut login = test.login_at(at_code(user_id)).await;
        let presented = Presented::RecoveryCode(&codes[0]);

        let outcome = enter_code(&test.engine, &test.context(), &mut login, presented, true)
            .await
            .unwrap();

        assert_eq!(
            outcome,
            CodeStep::RecoveryCodeUsed {
                remaining: RECOVERY_CODE_COUNT - 1
            }
        );
        assert_eq!(login.transaction.stage, Stage::RecoveryCodeUsed { user_id });
        assert_eq!(count(&test.event_types().await, "user.device.trusted"), 0);
    }

    #[tokio::test]
    async fn the_code_step_of_a_transaction_elsewhere_is_expired() {
        let test = TestEngine::start().await;
        let user_id = test.person("ada@example.org").await;
        let (secret, _) = test.enroll(user_id).await;
        let mut login = test.login_at(Stage::RecoveryCodeUsed { user_id }).await;
        let code = current_code(&secret);
        let presented = Presented::AppCode(&code);

        let outcome = enter_code(&test.engine, &test.context(), &mut login, presented, true)
            .await
            .unwrap();

        assert_eq!(outcome, CodeStep::Expired);
    }

    #[tokio::test]
    async fn new_recovery_codes_are_generated_once_however_often_posted() {
        let test = TestEngine::start().await;
        let user_id = test.person("ada@example.org").await;
        test.enroll(user_id).await;
        let mut login = test.login_at(Stage::RecoveryCodeUsed { user_id }).await;
        let mut posted_at_once = login.clone();
        let context = test.context();
        // Enrolling generated the first set.
        let before = count(&test.event_types().await, "user.recovery_codes.generated");

        let first = new_recovery_codes(&test.engine, &context, &mut login)
            .await
            .unwrap();
        // The same step posted twice at once: it read the transaction before it moved.
        let concurrent = new_recovery_codes(&test.engine, &context, &mut posted_at_once)
            .await
            .unwrap();
        // And posted again later: it reads the transaction moved on.
        let mut reloaded = load(&test.engine, &context, &login.tx)
            .await
            .unwrap()
            .unwrap();
        let later = new_recovery_codes(&test.engine, &context, &mut reloaded)
            .await
            .unwrap();

        assert!(matches!(first, NewRecoveryCodes::Generated(_)), "{first:?}");
        assert_eq!(concurrent, NewRecoveryCodes::Expired);
        assert_eq!(later, NewRecoveryCodes::Expired);
        let types = test.event_types().await;
        let generated = count(&types, "user.recovery_codes.generated");
        assert_eq!(generated, before + 1, "{types:?}");
        assert_eq!(
            login.transaction.stage,
            Stage::NewRecoveryCodesShown { user_id }
        );
    }
}
