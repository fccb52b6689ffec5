//! The sign-in's rules (docs/sign-in.md): the login transaction and its stage machine,
//! the password check and its outcomes, and the step that follows a right password.
//!
//! - A login transaction is opened by `/authorize`, bound to the browser by a CSRF token,
//!   and saved at each step with its [`Stage`]; finishing takes it (single use).
//! - The password is verified against every account with the address (one per
//!   organization); an unknown address is verified against a dummy hash so both take as
//!   long. Refusals are outcomes ([`PasswordRefused`]), never errors: unknown and wrong
//!   look the same to the person; disabled and expired temporary passwords are said.
//! - Failed passwords count against the address and the client's network across nodes
//!   ([`crate::limits`]); a locked network is refused before any hashing.
//! - After the password: a temporary one leads to "Choose a new password"; no
//!   authenticator to "Set up your authenticator app"; otherwise "Enter the code", unless
//!   this browser is a trusted device of this person.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use verity_domain::signin::{
    SecondFactor, SignInEvent, SignInFailed, SignInFailure, UNKNOWN_SIGNIN_STREAM,
};
use verity_domain::{DomainEvent, Email, user};
use verity_projection::{PasswordState, UserView};

use crate::account;
use crate::context::RequestContext;
use crate::credentials::verify_password_in;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::limits::{self, Checks, LockState, Lockout, password_failure_key};
use crate::mfa::{self, TotpSecret};
use crate::pending_logins;
use crate::protocol::authorize::AuthorizationRequest;
use crate::random;
use crate::state;

/// A dummy Argon2id hash (of a random string nobody knows): unknown emails are checked
/// against it so they take as long as known ones.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$dmVyaXR5ZHVtbXlzYWx0$3f7qQ8wL1M0m5d0r2X2f1m9bX3b9nQ2pX7t4w8r1k0A";

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
}

/// The steps of the sign-in journey (docs/sign-in.md). Stored with the transaction: the
/// names are a data format shared by nodes of different versions.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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
    };
    let expires_at = context.now + engine.settings.login_lifetime;
    let value = state::encode(&transaction)?;
    let tx = engine
        .settings
        .pending_logins
        .open(
            engine.expiring.as_ref(),
            context.ip,
            &value,
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
) -> Result<Option<LoginTransaction>, EngineError> {
    match pending_logins::get(engine.expiring.as_ref(), tx, context.now).await? {
        Some(bytes) => Ok(Some(state::decode(&bytes)?)),
        None => Ok(None),
    }
}

/// Saves the transaction with its new stage; it lives for the login lifetime from now.
pub async fn save(
    engine: &Engine,
    context: &RequestContext,
    tx: &str,
    transaction: &LoginTransaction,
) -> Result<(), EngineError> {
    let expires_at = context.now + engine.settings.login_lifetime;
    pending_logins::put(
        engine.expiring.as_ref(),
        tx,
        &state::encode(transaction)?,
        expires_at,
    )
    .await?;
    Ok(())
}

/// Closes the transaction: true for the one caller that takes it (single use across
/// nodes), false when it was gone already.
pub async fn close(
    engine: &Engine,
    context: &RequestContext,
    tx: &str,
) -> Result<bool, EngineError> {
    let restore_until = context.now + engine.settings.login_lifetime;
    Ok(pending_logins::take(engine.expiring.as_ref(), tx, context.now, restore_until).await?)
}

/// What the password step decided.
#[derive(Debug, Clone)]
pub enum PasswordOutcome {
    /// The password is this person's and they may go on.
    Accepted(Box<UserView>),
    /// Refused, and why.
    Refused(PasswordRefusal),
}

/// A refused password: what to tell the person, what the log recorded, and the locks
/// the refusal set (for metrics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordRefusal {
    /// Why.
    pub reason: PasswordRefused,
    /// The reason `user.signin.failed` recorded, when it recorded one.
    pub recorded: Option<SignInFailure>,
    /// The locks this refusal set.
    pub lockouts: Vec<Lockout>,
}

/// Why a password was refused, as the person is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordRefused {
    /// Too many failures from the person's network: nothing is checked until then.
    NetworkLocked {
        /// When sign-in from the network is allowed again.
        until: DateTime<Utc>,
    },
    /// Too many wrong passwords for this address: locked for a while.
    AccountLocked,
    /// Unknown address or wrong password (the same answer for both).
    Wrong,
    /// The account is disabled.
    Disabled,
    /// The temporary password expired.
    TemporaryPasswordExpired,
    /// The application is another organization's.
    ClientOfAnotherOrganization,
}

impl PasswordRefusal {
    fn new(reason: PasswordRefused) -> Self {
        Self {
            reason,
            recorded: None,
            lockouts: Vec::new(),
        }
    }
}

/// The password step of a sign-in for `client_id`: checks the locks, verifies the
/// password (timing-safe for unknown addresses), records a refusal on the person's
/// stream (or `signin-unknown`), counts it, and pauses before answering a wrong one.
pub async fn check_password(
    engine: &Engine,
    context: &RequestContext,
    client_id: &str,
    typed_email: &str,
    password: &str,
) -> Result<PasswordOutcome, EngineError> {
    let email = Email::parse(typed_email).ok();
    let limit = &engine.settings.password_limit;
    let lock_key = email.as_ref().map(password_failure_key);
    let checks = read_checks(engine, context, lock_key.as_deref()).await?;
    // Before anything else: a locked client network gets no password checked.
    if let Some(until) = checks.network_locked_until {
        return Ok(refused(PasswordRefused::NetworkLocked { until }));
    }
    let (Some(email), Some(lock_key)) = (email, lock_key) else {
        return Ok(refused(PasswordRefused::Wrong));
    };
    if let LockState::Locked { .. } = checks.step.lock {
        record_failure(
            engine,
            context,
            client_id,
            None,
            &email,
            SignInFailure::Locked,
        )
        .await?;
        return Ok(PasswordOutcome::Refused(PasswordRefusal {
            recorded: Some(SignInFailure::Locked),
            ..PasswordRefusal::new(PasswordRefused::AccountLocked)
        }));
    }
    // A client of one organization is for its people: their accounts are tried first, so
    // that the same address in another organization does not stand in for them.
    let client_org = engine
        .client(client_id)
        .and_then(|client| client.settings.org_id);
    let mut candidates: Vec<UserView> = engine.projector.read(|models| {
        models
            .users
            .find_by_email_anywhere(&email)
            .into_iter()
            .cloned()
            .collect()
    });
    candidates.sort_by_key(|candidate| Some(candidate.org_id) != client_org);
    let now = context.now;
    let password = password.to_owned();
    let (person, failure) = match engine
        .hash(move |memory| match_password(candidates, &password, now, memory))
        .await?
    {
        PasswordMatch::Matched(person, failure) => {
            let elsewhere = client_org.is_some_and(|org| org != person.org_id);
            let failure =
                failure.or(elsewhere.then_some(SignInFailure::ClientOfAnotherOrganization));
            (Some(person), failure)
        }
        PasswordMatch::Wrong(person) => (Some(person), Some(SignInFailure::WrongPassword)),
        PasswordMatch::NoAccount => (None, Some(SignInFailure::UnknownEmail)),
    };
    let Some(failure) = failure else {
        let Some(person) = person else {
            return Ok(refused(PasswordRefused::Wrong));
        };
        if checks.step.failures > 0 {
            limit.reset(engine.expiring.as_ref(), &lock_key).await?;
        }
        return Ok(PasswordOutcome::Accepted(Box::new(person)));
    };
    record_failure(engine, context, client_id, person.as_ref(), &email, failure).await?;
    let mut refusal = match failure {
        SignInFailure::Disabled => PasswordRefusal::new(PasswordRefused::Disabled),
        SignInFailure::TemporaryPasswordExpired => {
            PasswordRefusal::new(PasswordRefused::TemporaryPasswordExpired)
        }
        SignInFailure::ClientOfAnotherOrganization => {
            PasswordRefusal::new(PasswordRefused::ClientOfAnotherOrganization)
        }
        SignInFailure::UnknownEmail | SignInFailure::WrongPassword | SignInFailure::Locked => {
            wrong_password(engine, context, &lock_key).await?
        }
    };
    refusal.recorded = Some(failure);
    Ok(PasswordOutcome::Refused(refusal))
}

/// The current password of a signed-in person (Verity's own page, before a change):
/// checked like a sign-in's — the address's and the network's limits, the progressive
/// delay — but nothing is recorded in the log, since nobody signs in.
pub async fn check_current_password(
    engine: &Engine,
    context: &RequestContext,
    person: &UserView,
    password: &str,
) -> Result<PasswordOutcome, EngineError> {
    let key = password_failure_key(&person.email);
    let checks = read_checks(engine, context, Some(&key)).await?;
    if let Some(until) = checks.network_locked_until {
        return Ok(refused(PasswordRefused::NetworkLocked { until }));
    }
    if let LockState::Locked { .. } = checks.step.lock {
        return Ok(refused(PasswordRefused::AccountLocked));
    }
    let (current, hash) = (password.to_owned(), person.password.hash().to_owned());
    let right = engine
        .hash(move |memory| verify_password_in(&current, &hash, memory))
        .await?;
    if !right {
        return Ok(PasswordOutcome::Refused(
            wrong_password(engine, context, &key).await?,
        ));
    }
    if checks.step.failures > 0 {
        engine
            .settings
            .password_limit
            .reset(engine.expiring.as_ref(), &key)
            .await?;
    }
    Ok(PasswordOutcome::Accepted(Box::new(person.clone())))
}

fn refused(reason: PasswordRefused) -> PasswordOutcome {
    PasswordOutcome::Refused(PasswordRefusal::new(reason))
}

/// The network's lock and the password limit of `key`, in one read.
async fn read_checks(
    engine: &Engine,
    context: &RequestContext,
    key: Option<&str>,
) -> Result<Checks, EngineError> {
    let settings = &engine.settings;
    Ok(limits::checks(
        engine.expiring.as_ref(),
        &settings.ip_limit,
        context.ip,
        key.map(|key| (&settings.password_limit, key)),
        context.now,
    )
    .await?)
}

/// Counts a wrong password against the address and the network; past a limit says so,
/// otherwise pauses (longer after each failure) before answering.
async fn wrong_password(
    engine: &Engine,
    context: &RequestContext,
    key: &str,
) -> Result<PasswordRefusal, EngineError> {
    let settings = &engine.settings;
    let failed = limits::record_failures(
        engine.expiring.as_ref(),
        &settings.ip_limit,
        context.ip,
        (&settings.password_limit, key),
        context.now,
    )
    .await?;
    let reason = if let Some(until) = failed.network_locked_until {
        PasswordRefused::NetworkLocked { until }
    } else if failed.step.locked_until.is_some() {
        PasswordRefused::AccountLocked
    } else {
        tokio::time::sleep(settings.progressive_delay.delay(failed.step.failures)).await;
        PasswordRefused::Wrong
    };
    Ok(PasswordRefusal {
        lockouts: failed.lockouts(Lockout::Password),
        ..PasswordRefusal::new(reason)
    })
}

/// Records `user.signin.failed` on the person's stream, or on `signin-unknown`.
async fn record_failure(
    engine: &Engine,
    context: &RequestContext,
    client_id: &str,
    person: Option<&UserView>,
    email: &Email,
    reason: SignInFailure,
) -> Result<(), EngineError> {
    let user_id = person.map(|person| person.user_id.to_string());
    let metadata = context.metadata_of(user_id.as_deref());
    let failed = SignInEvent::Failed(SignInFailed {
        user_id,
        email: email.to_string(),
        reason,
        origin: context.origin(Some(client_id)),
    });
    let stream = person.map_or_else(
        || UNKNOWN_SIGNIN_STREAM.to_owned(),
        |person| user::stream(person.user_id),
    );
    engine
        .record(stream, vec![failed.to_new_event(metadata)])
        .await?;
    Ok(())
}

/// What the password said.
enum PasswordMatch {
    /// It matches this account; `Some` when the account may not sign in, and why.
    Matched(UserView, Option<SignInFailure>),
    /// Accounts have this address, the password matches none of them.
    Wrong(UserView),
    /// No account has this address.
    NoAccount,
}

/// Verifies the password against each account with the address (one per organization);
/// an unknown address against a dummy hash, so both take as long.
fn match_password(
    candidates: Vec<UserView>,
    password: &str,
    now: DateTime<Utc>,
    memory: &mut crate::credentials::HashMemory,
) -> PasswordMatch {
    let Some(first) = candidates.first().cloned() else {
        let _ = verify_password_in(password, DUMMY_HASH, memory);
        return PasswordMatch::NoAccount;
    };
    let matched = candidates
        .into_iter()
        .find(|candidate| verify_password_in(password, candidate.password.hash(), memory));
    let Some(candidate) = matched else {
        return PasswordMatch::Wrong(first);
    };
    let failure = if candidate.disabled {
        Some(SignInFailure::Disabled)
    } else if matches!(candidate.password, PasswordState::Temporary { expires_at, .. } if expires_at <= now)
    {
        Some(SignInFailure::TemporaryPasswordExpired)
    } else {
        None
    };
    PasswordMatch::Matched(candidate, failure)
}

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
}

/// The step after a right password: a temporary password must be replaced first.
pub async fn after_password(
    engine: &Engine,
    context: &RequestContext,
    tx: &str,
    transaction: &mut LoginTransaction,
    person: &UserView,
    device_cookie: Option<&str>,
) -> Result<NextStep, EngineError> {
    if matches!(person.password, PasswordState::Temporary { .. }) {
        transaction.stage = Stage::ChangePassword {
            user_id: person.user_id,
        };
        save(engine, context, tx, transaction).await?;
        return Ok(NextStep::ChangePassword);
    }
    second_factor(engine, context, tx, transaction, person, device_cookie).await
}

/// The second factor: set up an app, or ask for a code, or let a trusted device stand in.
pub async fn second_factor(
    engine: &Engine,
    context: &RequestContext,
    tx: &str,
    transaction: &mut LoginTransaction,
    person: &UserView,
    device_cookie: Option<&str>,
) -> Result<NextStep, EngineError> {
    let Some(totp) = &person.mfa.totp else {
        let secret = TotpSecret::generate(&mut random::crypto_rng());
        let sealed_secret = mfa::seal_totp_secret(engine.keys.master(), person.user_id, &secret)?;
        transaction.stage = Stage::EnrollTotp {
            user_id: person.user_id,
            sealed_secret,
        };
        save(engine, context, tx, transaction).await?;
        return Ok(NextStep::EnrollTotp(secret));
    };
    if account::trusted_device(person, device_cookie, context.now).is_some() {
        return Ok(NextStep::Finish(SecondFactor::TrustedDevice));
    }
    transaction.stage = Stage::Mfa {
        user_id: person.user_id,
    };
    save(engine, context, tx, transaction).await?;
    Ok(NextStep::Code {
        app_name: totp.app_name.clone(),
    })
}
