//! The login transaction: the validated authorization request, the browser's CSRF token
//! and the [`Stage`] the person reached, in one of the bounded slots of the expiring
//! store ([`crate::pending_logins`]) under an id that names the slot.
//!
//! A step reads it once ([`load`]) and moves it on with a compare-and-set against the
//! bytes it read ([`advance`]): of two requests that post the same step (a replay, a
//! double submit, two nodes), one moves it on and the other finds it moved. Finishing
//! takes it ([`close`]), which only one request can.

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use verity_domain::signin::SecondFactorDecision;

use crate::context::RequestContext;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::pending_logins;
use crate::protocol::authorize::AuthorizationRequest;
use crate::random;
use crate::state;

/// A login transaction: the validated request, bound to the browser by its CSRF token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginTransaction {
    /// The authorization request the sign-in answers.
    pub request: AuthorizationRequest,
    /// The CSRF token every step's form and the browser's cookie must carry.
    pub csrf: String,
    /// Where the person is in the sign-in journey.
    #[serde(default)]
    pub stage: Stage,
    /// Why the second factor is what it is, once decided after the password (recorded
    /// with the sign-in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<SecondFactorDecision>,
}

/// The steps of the sign-in journey (docs/sign-in.md). Stored with the transaction: the
/// names are a data format shared by nodes of different versions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// Email and password.
    #[default]
    Credentials,
    /// Signed in with a temporary password: choose a new one.
    ChangePassword {
        /// The person.
        user_id: Uuid,
    },
    /// No authenticator yet: set one up. The pending secret is sealed under the master
    /// key (it lives in the database until the step ends).
    EnrollTotp {
        /// The person.
        user_id: Uuid,
        /// The secret shown, sealed.
        sealed_secret: String,
    },
    /// Enrolled; the recovery codes were shown once.
    RecoveryCodesShown {
        /// The person.
        user_id: Uuid,
    },
    /// Enter the code from the app (or a recovery code).
    Mfa {
        /// The person.
        user_id: Uuid,
        /// The Argon2id hash of a new password chosen in this sign-in in place of a
        /// temporary one, recorded only once the code is verified (never the password).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        new_password_hash: Option<String>,
    },
    /// A recovery code was accepted: "You used a recovery code" offers a new set before
    /// the sign-in finishes.
    RecoveryCodeUsed {
        /// The person.
        user_id: Uuid,
    },
    /// After a recovery code, a new set was generated and shown once; the sign-in
    /// finishes as one with a recovery code.
    NewRecoveryCodesShown {
        /// The person.
        user_id: Uuid,
    },
}

/// A login transaction just opened: its id and the CSRF token for the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedLogin {
    /// The transaction's id (a hidden field of every step's form).
    pub tx: String,
    /// The CSRF token (in the forms and in a cookie).
    pub csrf: String,
}

/// An open login transaction as a step read it: its id, what it says, and the bytes it
/// was stored as, which [`advance`] compares so that the step moves it on at most once.
#[derive(Debug, Clone)]
pub struct OpenLogin {
    /// The transaction's id.
    pub tx: String,
    /// What it says.
    pub transaction: LoginTransaction,
    /// The bytes read.
    stored: Vec<u8>,
}

/// Opens a login transaction for a validated request.
pub async fn open(
    engine: &Engine,
    context: &RequestContext,
    request: AuthorizationRequest,
) -> Result<OpenedLogin, EngineError> {
    let csrf = random::token();
    let transaction = LoginTransaction {
        request,
        csrf: csrf.clone(),
        stage: Stage::Credentials,
        decision: None,
    };
    let expires_at = context.now + engine.settings.login_lifetime;
    let tx = engine
        .settings
        .pending_logins
        .open(
            engine.expiring.as_ref(),
            context.ip,
            &state::encode(&transaction)?,
            expires_at,
            context.now,
        )
        .await?;
    Ok(OpenedLogin { tx, csrf })
}

/// The login transaction `tx`, if it is still open.
pub async fn load(
    engine: &Engine,
    context: &RequestContext,
    tx: &str,
) -> Result<Option<OpenLogin>, EngineError> {
    let Some(stored) = pending_logins::get(engine.expiring.as_ref(), tx, context.now).await? else {
        return Ok(None);
    };
    Ok(Some(OpenLogin {
        tx: tx.to_owned(),
        transaction: state::decode(&stored)?,
        stored,
    }))
}

/// Moves the transaction to `stage`, living for the login lifetime from now, if nothing
/// moved it since it was read (atomic across nodes). False when something did, or it
/// ended: then nothing changed, and this request must not go on.
pub async fn advance(
    engine: &Engine,
    context: &RequestContext,
    login: &mut OpenLogin,
    stage: Stage,
) -> Result<bool, EngineError> {
    let mut moved = login.transaction.clone();
    moved.stage = stage;
    let bytes = state::encode(&moved)?;
    let expires_at = context.now + engine.settings.login_lifetime;
    let advanced = pending_logins::replace(
        engine.expiring.as_ref(),
        &login.tx,
        &login.stored,
        &bytes,
        expires_at,
        context.now,
    )
    .await?;
    if advanced {
        login.transaction = moved;
        login.stored = bytes;
    }
    Ok(advanced)
}

/// Closes the transaction: true for the one caller that takes it (single use across
/// nodes), false when it was gone already.
pub async fn close(
    engine: &Engine,
    context: &RequestContext,
    login: &OpenLogin,
) -> Result<bool, EngineError> {
    let restore_until = context.now + engine.settings.login_lifetime;
    Ok(pending_logins::take(
        engine.expiring.as_ref(),
        &login.tx,
        context.now,
        restore_until,
    )
    .await?)
}
