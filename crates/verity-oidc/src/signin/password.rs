//! The password step: the attempt counted first (the address's and the network's limits,
//! [`crate::limits::reserve`]), the password verified against every account with the
//! address (a dummy hash for an unknown one), disabled and expired refusals, the facts
//! recorded (`user.signin.failed`, and `user.signin.locked` when this failure set the
//! lock), and the progressive delay before a wrong one is answered.

use chrono::{DateTime, Utc};
use verity_domain::signin::{
    LockedStep, SignInEvent, SignInFailed, SignInFailure, UNKNOWN_SIGNIN_STREAM,
};
use verity_domain::{DomainEvent, Email, NewEvent, user};
use verity_projection::{PasswordState, UserView};

use crate::context::RequestContext;
use crate::credentials::verify_password_in;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::limits::{self, Attempt, Locked, Lockout, Reservation, password_failure_key};
use crate::lockouts;

/// A dummy Argon2id hash (of a random string nobody knows): unknown emails are checked
/// against it so they take as long as known ones.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$dmVyaXR5ZHVtbXlzYWx0$3f7qQ8wL1M0m5d0r2X2f1m9bX3b9nQ2pX7t4w8r1k0A";

/// What the password step decided.
#[derive(Debug, Clone)]
pub enum PasswordOutcome {
    /// The password is this person's and they may go on.
    Accepted(Box<UserView>),
    /// Refused, and why.
    Refused(PasswordRefusal),
}

/// A refused password: what to tell the person, what the log recorded, and for metrics
/// the lock that refused it unchecked or the locks its failure set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordRefusal {
    /// Why.
    pub reason: PasswordRefused,
    /// The reason `user.signin.failed` recorded, when it recorded one.
    pub recorded: Option<SignInFailure>,
    /// The lock that refused the attempt before anything was checked (nothing recorded).
    pub refused_by: Option<Lockout>,
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
            refused_by: None,
            lockouts: Vec::new(),
        }
    }
}

/// Whether a password may be checked.
enum Admission {
    /// Counted: check it, then end the attempt.
    Checked(Attempt),
    /// A lock refused it: nothing checked, nothing counted.
    Refused(PasswordRefusal),
}

/// Counts an attempt at the password of the address with `key` against its limit and the
/// caller's network's.
async fn admit(
    engine: &Engine,
    context: &RequestContext,
    key: &str,
) -> Result<Admission, EngineError> {
    let settings = &engine.settings;
    let reservation = limits::reserve(
        engine.expiring.as_ref(),
        &settings.ip_limit,
        context.ip,
        (&settings.password_limit, key),
        context.now,
    )
    .await?;
    let (reason, lock) = match reservation {
        Reservation::Reserved(attempt) => return Ok(Admission::Checked(attempt)),
        Reservation::Refused(Locked::Network { until }) => {
            (PasswordRefused::NetworkLocked { until }, Lockout::Network)
        }
        Reservation::Refused(Locked::Step { .. }) => {
            (PasswordRefused::AccountLocked, Lockout::Password)
        }
    };
    Ok(Admission::Refused(PasswordRefusal {
        refused_by: Some(lock),
        ..PasswordRefusal::new(reason)
    }))
}

/// The check's answer with the attempt still held; or, when the check was shed (too
/// many waiting, [`EngineError::Overloaded`]) and so never made, the attempt's places
/// given back: a flood the server refused to check must not lock anyone out.
async fn checked_or_given_back<T>(
    checked: Result<T, EngineError>,
    attempt: Attempt,
    store: &dyn verity_domain::ExpiringStore,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(T, Attempt), EngineError> {
    match checked {
        Ok(answer) => Ok((answer, attempt)),
        Err(EngineError::Overloaded) => {
            attempt.not_counted(store, now).await?;
            Err(EngineError::Overloaded)
        }
        Err(error) => Err(error),
    }
}

/// The password step of a sign-in for `client_id`: counts the attempt (a lock refuses it
/// unchecked), verifies the password (timing-safe for unknown addresses), records a
/// refusal on the person's stream (or `signin-unknown`), and pauses before answering a
/// wrong one.
pub async fn check_password(
    engine: &Engine,
    context: &RequestContext,
    client_id: &str,
    typed_email: &str,
    password: &str,
) -> Result<PasswordOutcome, EngineError> {
    // A malformed address is no attempt at anyone's password: nothing checked or counted.
    let Ok(email) = Email::parse(typed_email) else {
        return Ok(refused(PasswordRefused::Wrong));
    };
    let key = password_failure_key(&email);
    let attempt = match admit(engine, context, &key).await? {
        Admission::Checked(attempt) => attempt,
        Admission::Refused(refusal) => return Ok(PasswordOutcome::Refused(refusal)),
    };
    // A client of one organization is for its people: their accounts are tried first, so
    // that the same address in another organization does not stand in for them.
    let client_org = engine
        .client(client_id)
        .and_then(|client| client.settings.org_id);
    let found = engine
        .projector
        .read(|models| models.users.find_by_email_anywhere(&email));
    let mut candidates: Vec<UserView> = Vec::with_capacity(found.len());
    if found.is_empty() {
        // An unknown address reads a stream too (nobody's), so that how long the answer
        // takes does not tell whether the address has an account.
        engine.person_record(crate::random::uuid()).await?;
    }
    for person in found {
        if let Some(record) = engine.person_record(person.user_id).await? {
            candidates.push(record);
        }
    }
    candidates.sort_by_key(|candidate| Some(candidate.org_id) != client_org);
    let now = context.now;
    let password = password.to_owned();
    let store = engine.expiring.as_ref();
    let matched = checked_or_given_back(
        engine
            .hash(move |memory| match_password(candidates, &password, now, memory))
            .await,
        attempt,
        store,
        now,
    )
    .await?;
    let (matched, attempt) = matched;
    let matched = match matched {
        PasswordMatch::Matched(person, None)
            if client_org.is_some_and(|org| org != person.org_id) =>
        {
            PasswordMatch::Matched(person, Some(SignInFailure::ClientOfAnotherOrganization))
        }
        matched => matched,
    };
    let (person, failure) = match matched {
        PasswordMatch::Matched(person, None) => {
            attempt.succeeded(store, now).await?;
            return Ok(PasswordOutcome::Accepted(Box::new(person)));
        }
        PasswordMatch::Matched(person, Some(failure)) => {
            // The right password of an account that may not sign in: not a guess.
            attempt.not_counted(store, now).await?;
            let refusal = match failure {
                SignInFailure::TemporaryPasswordExpired => {
                    PasswordRefused::TemporaryPasswordExpired
                }
                SignInFailure::ClientOfAnotherOrganization => {
                    PasswordRefused::ClientOfAnotherOrganization
                }
                _ => PasswordRefused::Disabled,
            };
            let event = failed_event(context, client_id, Some(&person), &email, failure);
            engine
                .record(user::stream(person.user_id), vec![event])
                .await?;
            return Ok(PasswordOutcome::Refused(PasswordRefusal {
                recorded: Some(failure),
                ..PasswordRefusal::new(refusal)
            }));
        }
        PasswordMatch::Wrong(person) => (Some(person), SignInFailure::WrongPassword),
        PasswordMatch::NoAccount => (None, SignInFailure::UnknownEmail),
    };
    let failed = failed_event(context, client_id, person.as_ref(), &email, failure);
    let stream = person.as_ref().map_or_else(
        || UNKNOWN_SIGNIN_STREAM.to_owned(),
        |person| user::stream(person.user_id),
    );
    let wrong = Wrong {
        key: &key,
        person: person.as_ref(),
        client_id: Some(client_id),
        stream,
        failed: Some(failed),
    };
    let mut refusal = wrong_password(engine, context, attempt, wrong).await?;
    refusal.recorded = Some(failure);
    Ok(PasswordOutcome::Refused(refusal))
}

/// The current password of a signed-in person (Verity's own page, before a change):
/// checked like a sign-in's — the address's and the network's limits, the progressive
/// delay — but no failure is recorded in the log, since nobody signs in (a lock it sets
/// is).
pub async fn check_current_password(
    engine: &Engine,
    context: &RequestContext,
    person: &UserView,
    password: &str,
) -> Result<PasswordOutcome, EngineError> {
    let key = password_failure_key(&person.email);
    let attempt = match admit(engine, context, &key).await? {
        Admission::Checked(attempt) => attempt,
        Admission::Refused(refusal) => return Ok(PasswordOutcome::Refused(refusal)),
    };
    let (current, hash) = (password.to_owned(), person.password.hash().to_owned());
    let (right, attempt) = checked_or_given_back(
        engine
            .hash(move |memory| verify_password_in(&current, &hash, memory))
            .await,
        attempt,
        engine.expiring.as_ref(),
        context.now,
    )
    .await?;
    if right {
        attempt
            .succeeded(engine.expiring.as_ref(), context.now)
            .await?;
        return Ok(PasswordOutcome::Accepted(Box::new(person.clone())));
    }
    let wrong = Wrong {
        key: &key,
        person: Some(person),
        client_id: None,
        stream: user::stream(person.user_id),
        failed: None,
    };
    Ok(PasswordOutcome::Refused(
        wrong_password(engine, context, attempt, wrong).await?,
    ))
}

fn refused(reason: PasswordRefused) -> PasswordOutcome {
    PasswordOutcome::Refused(PasswordRefusal::new(reason))
}

/// A wrong password (or an unknown address) and where its facts go.
struct Wrong<'a> {
    /// The address's key (the lock's).
    key: &'a str,
    /// The person the failure is recorded against, when the address is known.
    person: Option<&'a UserView>,
    /// The client the sign-in was for.
    client_id: Option<&'a str>,
    /// The person's stream, or `signin-unknown`.
    stream: String,
    /// `user.signin.failed`, when the step records failures.
    failed: Option<NewEvent>,
}

/// Counts a wrong password as failed against the address and the network, records its
/// facts (the failure, and the locks it set), and past a limit says so; otherwise pauses
/// (longer after each failure) before answering.
async fn wrong_password(
    engine: &Engine,
    context: &RequestContext,
    attempt: Attempt,
    wrong: Wrong<'_>,
) -> Result<PasswordRefusal, EngineError> {
    let settings = &engine.settings;
    let failed = attempt
        .failed(engine.expiring.as_ref(), context.now)
        .await?;
    let locked = lockouts::step_locked(
        context,
        LockedStep::Password,
        wrong.person.map(|person| person.user_id),
        Some(wrong.key),
        &failed.step,
        wrong.client_id,
    );
    let facts: Vec<NewEvent> = wrong.failed.into_iter().chain(locked).collect();
    if !facts.is_empty() {
        engine.record(wrong.stream, facts).await?;
    }
    lockouts::record_network_lock(engine, context, &failed).await?;
    let reason = if let Some(until) = failed.network_locked_until() {
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

/// `user.signin.failed` for `email`, about `person` when the address is known.
fn failed_event(
    context: &RequestContext,
    client_id: &str,
    person: Option<&UserView>,
    email: &Email,
    reason: SignInFailure,
) -> NewEvent {
    let user_id = person.map(|person| person.user_id.to_string());
    let metadata = context.metadata_of(user_id.as_deref());
    SignInEvent::Failed(SignInFailed {
        user_id,
        email: email.to_string(),
        reason,
        origin: context.origin(Some(client_id)),
    })
    .to_new_event(metadata)
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

#[cfg(test)]
mod tests {
    use argon2::{Algorithm, Argon2, PasswordHash, PasswordVerifier};

    use super::*;
    use crate::credentials::{HashMemory, hash_password};

    /// An unknown address is verified against [`DUMMY_HASH`] so that it takes as long as
    /// a known one. Were the hash not to parse, the verification would stop at once and
    /// the answer's speed would tell which addresses have accounts.
    #[test]
    fn the_dummy_hash_parses_and_runs_a_whole_argon2id_verification() {
        let parsed = PasswordHash::new(DUMMY_HASH).unwrap();
        assert_eq!(parsed.algorithm, Algorithm::Argon2id.ident());
        assert!(parsed.salt.is_some() && parsed.hash.is_some());
        let verified = Argon2::default().verify_password(b"a guess", &parsed);
        assert_eq!(verified, Err(argon2::password_hash::Error::PasswordInvalid));
        let mut memory = HashMemory::default();
        assert!(!verify_password_in("a guess", DUMMY_HASH, &mut memory));
    }

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_does() {
        let params = |phc: &str| phc.rsplitn(3, '$').nth(2).map(str::to_owned);
        let real = hash_password("a password").unwrap();
        assert_eq!(params(DUMMY_HASH), params(&real));
    }
}
