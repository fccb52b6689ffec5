//! What a person does to their own account, at sign-in or on Verity's own page: choose a
//! new password, set up the authenticator app, trust or forget a browser, replace the
//! recovery codes. Each is a command on the person's stream with the person as actor,
//! and each waits until the read models show it.

use uuid::Uuid;
use verity_domain::mfa::{ForgetReason, MAX_APP_NAME, MfaCommand, RECOVERY_CODE_COUNT};
use verity_domain::signin::{CodeReason, SecondFactorDecision};
use verity_domain::user::{EndSessions, UserCommand};
use verity_projection::{DeviceState, UserView};

use crate::context::RequestContext;
use crate::credentials::{hash_password_in, verify_password_in};
use crate::engine::Engine;
use crate::error::EngineError;
use crate::mfa::{self, CodeCheck};
use crate::password_policy::{self, PolicyContext, PolicyViolation};
use crate::random;

/// What became of a new password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordChoice {
    /// It is the person's password now (`user.password.changed`).
    Changed,
    /// The policy refused it; nothing was written.
    Refused(PolicyViolation),
}

/// What a new password replaces: the temporary one at a first sign-in (no session ends),
/// or the current one on Verity's page (the person's other sessions end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replacing {
    /// The temporary password, at the first sign-in.
    Temporary,
    /// The current password, from the session `sid`, which stays.
    Current {
        /// The session the change is made from.
        sid: String,
    },
}

/// A new password the policy accepted, not yet anyone's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewPassword {
    /// Its Argon2id hash (the password itself is kept nowhere).
    Hashed(String),
    /// The policy refused it.
    Refused(PolicyViolation),
}

/// Checks `new` against the policy — length, confirmation, email, the shipped list,
/// strength, then not the password the person has now (`replacing` says which), then the
/// breach service when configured — and hashes it. Records nothing.
pub async fn new_password_hash(
    engine: &Engine,
    person: &UserView,
    new: &str,
    confirm: &str,
    replacing: &Replacing,
) -> Result<NewPassword, EngineError> {
    let same = match replacing {
        Replacing::Temporary => PolicyViolation::SameAsTemporary,
        Replacing::Current { .. } => PolicyViolation::SameAsCurrent,
    };
    let policy = PolicyContext::new(&person.email, engine.settings.password_min_length);
    if let Err(violation) = password_policy::check(new, confirm, &policy) {
        return Ok(NewPassword::Refused(violation));
    }
    // The password they have is known only by its hash: compare by verifying.
    let (candidate, present_hash) = (new.to_owned(), person.password.hash().to_owned());
    let unchanged = engine
        .hash(move |memory| verify_password_in(&candidate, &present_hash, memory))
        .await?;
    if unchanged {
        return Ok(NewPassword::Refused(same));
    }
    if let Some(pwned) = &engine.settings.pwned
        && let Err(violation) = pwned.check(new).await
    {
        return Ok(NewPassword::Refused(violation));
    }
    let new = new.to_owned();
    let password_hash = engine
        .hash(move |memory| hash_password_in(&new, memory, &mut random::crypto_rng()))
        .await??;
    Ok(NewPassword::Hashed(password_hash))
}

/// Records `password_hash` as the person's password (`user.password.changed`, the person
/// as actor). Replacing the current one ends the person's other sessions in the same
/// append.
pub async fn record_password(
    engine: &Engine,
    context: &RequestContext,
    user_id: Uuid,
    password_hash: String,
    replacing: Replacing,
) -> Result<(), EngineError> {
    let end_sessions = match replacing {
        Replacing::Temporary => EndSessions::None,
        Replacing::Current { sid } => EndSessions::AllExcept(sid),
    };
    let command = UserCommand::ChangePassword {
        password_hash,
        end_sessions,
    };
    engine.act(context, user_id, command).await
}

/// Makes `new` the person's password if the policy allows it
/// ([`new_password_hash`], then [`record_password`]).
pub async fn choose_password(
    engine: &Engine,
    context: &RequestContext,
    person: &UserView,
    new: &str,
    confirm: &str,
    replacing: Replacing,
) -> Result<PasswordChoice, EngineError> {
    match new_password_hash(engine, person, new, confirm, &replacing).await? {
        NewPassword::Refused(violation) => Ok(PasswordChoice::Refused(violation)),
        NewPassword::Hashed(password_hash) => {
            record_password(engine, context, person.user_id, password_hash, replacing).await?;
            Ok(PasswordChoice::Changed)
        }
    }
}

/// What became of an authenticator set-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enrollment {
    /// Enrolled (`user.totp.enrolled`): the recovery codes, to be shown once.
    Enrolled(Box<[String; RECOVERY_CODE_COUNT]>),
    /// Refused; nothing was written.
    Refused(EnrollmentRefused),
}

/// Why a set-up was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrollmentRefused {
    /// The app's name is empty or longer than 64 characters.
    InvalidAppName,
    /// Not the app's current code.
    WrongCode,
    /// The app's current code, already used once.
    ReusedCode,
}

/// Enrolls the app whose secret the person was shown (`sealed_secret`), once they
/// named it and typed its current code; generates the first recovery codes.
pub async fn enroll(
    engine: &Engine,
    context: &RequestContext,
    user_id: Uuid,
    sealed_secret: &str,
    app_name: &str,
    code: &str,
) -> Result<Enrollment, EngineError> {
    let app_name = app_name.trim();
    if app_name.is_empty() || app_name.chars().count() > MAX_APP_NAME {
        return Ok(Enrollment::Refused(EnrollmentRefused::InvalidAppName));
    }
    let secret = mfa::open_totp_secret(engine.keys.master(), user_id, sealed_secret)?;
    match mfa::check_code(
        engine.expiring.as_ref(),
        user_id,
        &secret,
        code,
        context.now,
    )
    .await?
    {
        CodeCheck::Accepted { .. } => {}
        CodeCheck::Reused => return Ok(Enrollment::Refused(EnrollmentRefused::ReusedCode)),
        CodeCheck::Wrong => return Ok(Enrollment::Refused(EnrollmentRefused::WrongCode)),
    }
    let codes = mfa::generate_recovery_codes(&mut random::crypto_rng());
    let command = MfaCommand::EnrollTotp {
        app_name: app_name.to_owned(),
        encrypted_secret: sealed_secret.to_owned(),
        recovery_code_hashes: mfa::recovery_code_hashes(user_id, &codes),
    };
    engine
        .act(context, user_id, UserCommand::Mfa(command))
        .await?;
    Ok(Enrollment::Enrolled(Box::new(codes)))
}

/// Records a new set of recovery codes for the person (`user.recovery_codes.generated`,
/// every older code stops working) and returns them, to be shown once.
pub async fn new_recovery_codes(
    engine: &Engine,
    context: &RequestContext,
    user_id: Uuid,
) -> Result<[String; RECOVERY_CODE_COUNT], EngineError> {
    let codes = mfa::generate_recovery_codes(&mut random::crypto_rng());
    let command = MfaCommand::RegenerateRecoveryCodes {
        code_hashes: mfa::recovery_code_hashes(user_id, &codes),
    };
    engine
        .act(context, user_id, UserCommand::Mfa(command))
        .await?;
    Ok(codes)
}

/// A browser just trusted: the device id for its cookie (only the digest is stored)
/// and how long the cookie lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedDevice {
    /// The device cookie's value.
    pub device_id: String,
    /// Seconds until the trust ends.
    pub max_age: i64,
}

/// Whether "Remember this device" is offered to the person: not to anyone holding an
/// admin role, who gives a code at every sign-in (docs/roles.md).
pub fn may_trust_devices(engine: &Engine, user_id: Uuid) -> bool {
    !engine.holds_role(user_id)
}

/// "Remember this device": records `user.device.trusted` (labelled from the browser's
/// User-Agent) and returns the cookie's value. Refused for a person holding an admin
/// role ([`may_trust_devices`]).
pub async fn trust_device(
    engine: &Engine,
    context: &RequestContext,
    user_id: Uuid,
) -> Result<TrustedDevice, EngineError> {
    if !may_trust_devices(engine, user_id) {
        return Err(EngineError::Refused(
            "a person holding an admin role gives a code at every sign-in".into(),
        ));
    }
    let device_id = mfa::new_device_id(&mut random::crypto_rng());
    let trust = engine.settings.device_trust;
    let command = MfaCommand::TrustDevice {
        device_id_hash: mfa::device_id_hash(&device_id),
        label: mfa::device_label(context.user_agent.as_deref()),
        expires_at: context.now + trust,
    };
    engine
        .act(context, user_id, UserCommand::Mfa(command))
        .await?;
    Ok(TrustedDevice {
        device_id,
        max_age: trust.num_seconds(),
    })
}

/// Why the second factor of `person`, signing in with `device_cookie` at `now`, is what
/// it is: set up an app (none yet), a code (an admin, no trusted device, an unknown,
/// expired or forgotten one) or the trusted device standing in. Recorded with the
/// sign-in (`user.signin.succeeded`), for `verity audit explain`.
pub fn second_factor_decision(
    engine: &Engine,
    person: &UserView,
    device_cookie: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> SecondFactorDecision {
    let asked = |reason| SecondFactorDecision::CodeAsked { reason };
    if person.mfa.totp.is_none() {
        return SecondFactorDecision::Enrollment;
    }
    if !may_trust_devices(engine, person.user_id) {
        return asked(CodeReason::AdminRole);
    }
    let Some(cookie) = device_cookie else {
        return asked(CodeReason::NoTrustedDevice);
    };
    let Some(device) = person.mfa.device_with(&mfa::device_id_hash(cookie)) else {
        return asked(CodeReason::UnknownDevice);
    };
    let name = verity_domain::mfa::device_name(&device.device_id_hash).to_owned();
    match (device.forgotten_at, device.state(now)) {
        (Some(forgotten_at), _) => asked(CodeReason::DeviceForgotten {
            device: name,
            forgotten_at,
            why: device.forget_reason,
        }),
        (None, DeviceState::Active) => SecondFactorDecision::DeviceTrusted {
            device: name,
            trusted_at: device.trusted_at,
            until: device.expires_at,
        },
        (None, _) => asked(CodeReason::TrustExpired {
            device: name,
            expired_at: device.expires_at,
        }),
    }
}

/// The digest of the browser's device cookie, when it names a device this person
/// trusts at `now`. (Sign-in honours it only for people without an admin role:
/// [`may_trust_devices`].)
pub fn trusted_device(
    person: &UserView,
    device_cookie: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<String> {
    let hash = mfa::device_id_hash(device_cookie?);
    person
        .mfa
        .trusted_device(&hash, now)
        .map(|device| device.device_id_hash.clone())
}

/// Records that the person forgot one of their trusted devices (`user.device.forgotten`,
/// the person as actor).
pub async fn forget_device(
    engine: &Engine,
    context: &RequestContext,
    user_id: Uuid,
    device_id_hash: String,
    reason: ForgetReason,
) -> Result<(), EngineError> {
    let command = MfaCommand::ForgetDevice {
        device_id_hash,
        reason,
    };
    engine
        .act(context, user_id, UserCommand::Mfa(command))
        .await
}

/// Forgets this browser as a trusted device of the person (logout's "Forget this
/// device"), if it is one; true when it was.
pub async fn forget_this_device(
    engine: &Engine,
    context: &RequestContext,
    user_id: Uuid,
    device_cookie: Option<&str>,
) -> Result<bool, EngineError> {
    let trusted = engine
        .person_record(user_id)
        .await?
        .and_then(|person| trusted_device(&person, device_cookie, context.now));
    let Some(device_id_hash) = trusted else {
        return Ok(false);
    };
    forget_device(
        engine,
        context,
        user_id,
        device_id_hash,
        ForgetReason::Logout,
    )
    .await?;
    Ok(true)
}
