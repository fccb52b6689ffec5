//! What follows a right password: "Choose a new password" after a temporary one, then
//! the second factor — "Set up your authenticator app" without one, otherwise "Enter the
//! code" unless this browser is a trusted device of the person. Each step moves the
//! login transaction on by compare-and-set ([`super::transaction::advance`]); a step
//! that finds it moved by another request ends with [`NextStep::Replayed`].
//!
//! A new password replaces a temporary one at once only for a person without an
//! authenticator (their first sign-in: password, then set-up). A person with one (after
//! `verity user reset-password`) has it recorded only once their second factor is
//! verified: until then its Argon2id hash waits in the transaction, so that whoever holds
//! just the temporary password cannot choose the password.

use uuid::Uuid;
use verity_domain::signin::{SecondFactor, SecondFactorDecision};
use verity_projection::{PasswordState, UserView};

use super::password::{PasswordOutcome, PasswordRefusal, check_password};
use super::transaction::{OpenLogin, Stage, advance};
use crate::account::{self, NewPassword, Replacing};
use crate::context::RequestContext;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::mfa::{self, TotpSecret};
use crate::password_policy::PolicyViolation;
use crate::random;

/// The step after a right password, decided (and saved with the transaction).
#[derive(Debug, Clone)]
pub enum NextStep {
    /// "Choose a new password": the password was a temporary one.
    ChangePassword,
    /// "Set up your authenticator app", with this secret (sealed in the transaction).
    EnrollTotp(TotpSecret),
    /// "Enter the code from <app>".
    Code {
        /// The name the person gave the app.
        app_name: String,
        /// Whether "Remember this device" is offered (not to admins).
        may_remember: bool,
    },
    /// A trusted device stands in for the code: finish the sign-in.
    Finish(SecondFactor),
    /// Another request moved the transaction on first (a replayed or doubly posted
    /// step): this one changes nothing more, and the sign-in starts again.
    Replayed,
}

/// What the password step decided.
#[derive(Debug, Clone)]
pub enum PasswordStep {
    /// The transaction no longer waits for a password (it went on, or another request
    /// moved it): nothing was checked.
    Expired,
    /// Refused, and why ([`check_password`]).
    Refused(PasswordRefusal),
    /// Right: the person, and the step that follows.
    Accepted {
        /// The person who signs in.
        person: Box<UserView>,
        /// What follows.
        next: NextStep,
    },
}

/// `POST /login`: only while the transaction waits for a password (one that went on
/// takes no other), the address and password for its client ([`check_password`]), then
/// the step after a right one (a temporary password is replaced first).
pub async fn password_step(
    engine: &Engine,
    context: &RequestContext,
    login: &mut OpenLogin,
    (email, password): (&str, &str),
    device_cookie: Option<&str>,
) -> Result<PasswordStep, EngineError> {
    if login.transaction.stage != Stage::Credentials {
        return Ok(PasswordStep::Expired);
    }
    let client_id = login.transaction.request.client_id.clone();
    match check_password(engine, context, &client_id, email, password).await? {
        PasswordOutcome::Refused(refusal) => Ok(PasswordStep::Refused(refusal)),
        PasswordOutcome::Accepted(person) => {
            let next = after_password(engine, context, login, &person, device_cookie).await?;
            Ok(PasswordStep::Accepted { person, next })
        }
    }
}

/// The step after a right password: a temporary password must be replaced first.
async fn after_password(
    engine: &Engine,
    context: &RequestContext,
    login: &mut OpenLogin,
    person: &UserView,
    device_cookie: Option<&str>,
) -> Result<NextStep, EngineError> {
    if matches!(person.password, PasswordState::Temporary { .. }) {
        let stage = Stage::ChangePassword {
            user_id: person.user_id,
        };
        return moved_on(engine, context, login, stage, NextStep::ChangePassword).await;
    }
    second_factor(engine, context, login, person, device_cookie, None).await
}

/// The second factor: set up an app, or ask for a code, or let a trusted device stand
/// in (never for a person holding an admin role), as
/// [`account::second_factor_decision`] decides; the decision goes with the transaction
/// to be recorded with the sign-in. `new_password_hash` is a new password chosen in this
/// sign-in that waits for the second factor (a person without an authenticator has none
/// waiting).
pub async fn second_factor(
    engine: &Engine,
    context: &RequestContext,
    login: &mut OpenLogin,
    person: &UserView,
    device_cookie: Option<&str>,
    new_password_hash: Option<String>,
) -> Result<NextStep, EngineError> {
    let user_id = person.user_id;
    let decision = account::second_factor_decision(engine, person, device_cookie, context.now);
    login.transaction.decision = Some(decision.clone());
    let Some(totp) = &person.mfa.totp else {
        let secret = TotpSecret::generate(&mut random::crypto_rng());
        let sealed_secret = mfa::seal_totp_secret(engine.keys.master(), user_id, &secret)?;
        let stage = Stage::EnrollTotp {
            user_id,
            sealed_secret,
        };
        return moved_on(engine, context, login, stage, NextStep::EnrollTotp(secret)).await;
    };
    let may_remember = account::may_trust_devices(engine, person.user_id);
    if matches!(decision, SecondFactorDecision::DeviceTrusted { .. }) {
        if let Some(password_hash) = new_password_hash {
            // The device stands in for the code: the second factor is met.
            record_new_password(engine, context, user_id, password_hash).await?;
        }
        return Ok(NextStep::Finish(SecondFactor::TrustedDevice));
    }
    let stage = Stage::Mfa {
        user_id,
        new_password_hash,
    };
    let next = NextStep::Code {
        app_name: totp.app_name.clone(),
        may_remember,
    };
    moved_on(engine, context, login, stage, next).await
}

/// What the new-password step decided.
#[derive(Debug, Clone)]
pub enum NewPasswordOutcome {
    /// The transaction does not wait for a new password (or its person is gone): nothing
    /// was checked.
    Expired,
    /// The policy refused it; nothing was written.
    Refused(PolicyViolation),
    /// It was taken (recorded, or waiting for the code): the step that follows.
    Next {
        /// The person who signs in.
        person: Box<UserView>,
        /// What follows.
        next: NextStep,
    },
}

/// "Choose a new password" in place of a temporary one, only while the transaction waits
/// for it: the policy first; then, for a person without an authenticator,
/// `user.password.changed` and the set-up; for a person with one, the hash waits in the
/// transaction until their code is verified ([`second_factor_verified`]).
pub async fn new_password(
    engine: &Engine,
    context: &RequestContext,
    login: &mut OpenLogin,
    (new, confirm): (&str, &str),
    device_cookie: Option<&str>,
) -> Result<NewPasswordOutcome, EngineError> {
    let Stage::ChangePassword { user_id } = login.transaction.stage else {
        return Ok(NewPasswordOutcome::Expired);
    };
    let Some(person) = engine.person_record(user_id).await? else {
        return Ok(NewPasswordOutcome::Expired);
    };
    let replacing = Replacing::Temporary;
    let password_hash =
        match account::new_password_hash(engine, &person, new, confirm, &replacing).await? {
            NewPassword::Hashed(password_hash) => password_hash,
            NewPassword::Refused(violation) => return Ok(NewPasswordOutcome::Refused(violation)),
        };
    let waiting = if person.mfa.totp.is_some() {
        Some(password_hash)
    } else {
        let user_id = person.user_id;
        account::record_password(engine, context, user_id, password_hash, replacing).await?;
        None
    };
    let next = second_factor(engine, context, login, &person, device_cookie, waiting).await?;
    Ok(NewPasswordOutcome::Next {
        person: Box::new(person),
        next,
    })
}

/// After the code step accepted a code or a recovery code: records the new password that
/// waited for it, if one did (`user.password.changed`, the person as actor).
pub async fn second_factor_verified(
    engine: &Engine,
    context: &RequestContext,
    login: &OpenLogin,
) -> Result<(), EngineError> {
    if let Stage::Mfa {
        user_id,
        new_password_hash: Some(password_hash),
    } = &login.transaction.stage
    {
        record_new_password(engine, context, *user_id, password_hash.clone()).await?;
    }
    Ok(())
}

/// Records the new password chosen in place of a temporary one.
async fn record_new_password(
    engine: &Engine,
    context: &RequestContext,
    user_id: Uuid,
    password_hash: String,
) -> Result<(), EngineError> {
    account::record_password(
        engine,
        context,
        user_id,
        password_hash,
        Replacing::Temporary,
    )
    .await
}

/// Moves the transaction to `stage` and answers `next`, or [`NextStep::Replayed`] when
/// another request moved it first.
async fn moved_on(
    engine: &Engine,
    context: &RequestContext,
    login: &mut OpenLogin,
    stage: Stage,
    next: NextStep,
) -> Result<NextStep, EngineError> {
    if advance(engine, context, login, stage).await? {
        Ok(next)
    } else {
        Ok(NextStep::Replayed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_engine::{PASSWORD, TestEngine};

    #[tokio::test]
    async fn a_transaction_past_a_step_takes_nothing_more_for_it() {
        let test = TestEngine::start().await;
        let user_id = test.person("ada@example.org").await;
        let context = test.context();
        let before = test.event_types().await.len();

        let mut at_code = test
            .login_at(Stage::Mfa {
                user_id,
                new_password_hash: None,
            })
            .await;
        let typed = ("ada@example.org", PASSWORD);
        let password = password_step(&test.engine, &context, &mut at_code, typed, None).await;
        assert!(matches!(password.unwrap(), PasswordStep::Expired));

        let mut at_credentials = test.login_at(Stage::Credentials).await;
        let typed = ("Quartz-lantern-harbor-1987", "Quartz-lantern-harbor-1987");
        let chosen = new_password(&test.engine, &context, &mut at_credentials, typed, None).await;
        assert!(matches!(chosen.unwrap(), NewPasswordOutcome::Expired));

        assert_eq!(
            test.event_types().await.len(),
            before,
            "nothing was checked or recorded"
        );
        assert_eq!(at_credentials.transaction.stage, Stage::Credentials);
    }

    #[tokio::test]
    async fn a_right_password_at_its_step_names_the_person_and_what_follows() {
        let test = TestEngine::start().await;
        let user_id = test.person("ada@example.org").await;
        let mut login = test.login_at(Stage::Credentials).await;

        let typed = ("ada@example.org", PASSWORD);
        let step = password_step(&test.engine, &test.context(), &mut login, typed, None).await;

        let PasswordStep::Accepted { person, next } = step.unwrap() else {
            panic!("the right password was refused");
        };
        assert_eq!(person.user_id, user_id);
        assert!(matches!(next, NextStep::EnrollTotp(_)), "{next:?}");
    }
}
