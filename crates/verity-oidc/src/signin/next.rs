//! What follows a right password: "Choose a new password" after a temporary one, then
//! the second factor — "Set up your authenticator app" without one, otherwise "Enter the
//! code" unless this browser is a trusted device of the person. Each step moves the
//! login transaction on by compare-and-set ([`super::transaction::advance`]); a step
//! that finds it moved by another request ends with [`NextStep::Replayed`].

use verity_domain::signin::SecondFactor;
use verity_projection::{PasswordState, UserView};

use super::transaction::{OpenLogin, Stage, advance};
use crate::account;
use crate::context::RequestContext;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::mfa::{self, TotpSecret};
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
    },
    /// A trusted device stands in for the code: finish the sign-in.
    Finish(SecondFactor),
    /// Another request moved the transaction on first (a replayed or doubly posted
    /// step): this one changes nothing more, and the sign-in starts again.
    Replayed,
}

/// The step after a right password: a temporary password must be replaced first.
pub async fn after_password(
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
    second_factor(engine, context, login, person, device_cookie).await
}

/// The second factor: set up an app, or ask for a code, or let a trusted device stand in.
pub async fn second_factor(
    engine: &Engine,
    context: &RequestContext,
    login: &mut OpenLogin,
    person: &UserView,
    device_cookie: Option<&str>,
) -> Result<NextStep, EngineError> {
    let user_id = person.user_id;
    let Some(totp) = &person.mfa.totp else {
        let secret = TotpSecret::generate(&mut random::crypto_rng());
        let sealed_secret = mfa::seal_totp_secret(engine.keys.master(), user_id, &secret)?;
        let stage = Stage::EnrollTotp {
            user_id,
            sealed_secret,
        };
        return moved_on(engine, context, login, stage, NextStep::EnrollTotp(secret)).await;
    };
    if account::trusted_device(person, device_cookie, context.now).is_some() {
        return Ok(NextStep::Finish(SecondFactor::TrustedDevice));
    }
    let stage = Stage::Mfa { user_id };
    let next = NextStep::Code {
        app_name: totp.app_name.clone(),
    };
    moved_on(engine, context, login, stage, next).await
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
