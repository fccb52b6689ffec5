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
    /// The policy refused it; nothing was written.
    Refused(PolicyViolation),
    /// It was taken (recorded, or waiting for the code): the step that follows.
    Next(NextStep),
}

/// "Choose a new password" in place of a temporary one: the policy first; then, for a
/// person without an authenticator, `user.password.changed` and the set-up; for a person
/// with one, the hash waits in the transaction until their code is verified
/// ([`second_factor_verified`]).
pub async fn new_password(
    engine: &Engine,
    context: &RequestContext,
    login: &mut OpenLogin,
    person: &UserView,
    (new, confirm): (&str, &str),
    device_cookie: Option<&str>,
) -> Result<NewPasswordOutcome, EngineError> {
    let replacing = Replacing::Temporary;
    let password_hash =
        match account::new_password_hash(engine, person, new, confirm, &replacing).await? {
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
    let next = second_factor(engine, context, login, person, device_cookie, waiting).await?;
    Ok(NewPasswordOutcome::Next(next))
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
