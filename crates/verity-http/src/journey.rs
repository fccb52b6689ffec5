//! The sign-in journey after the password (issue 4, docs/sign-in.md): a temporary
//! password leads to "Choose a new password"; without an authenticator app, to "Set up
//! your authenticator app" and the recovery codes; with one, to "Enter the code from
//! <app>" unless this browser is a trusted device of this person. A sign-in with a
//! recovery code stops at "You used a recovery code", which offers a new set before it
//! finishes. Every step is a form bound to the login transaction and its CSRF token.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use minijinja::{Value, context};
use subtle::ConstantTimeEq;
use uuid::Uuid;
use verity_domain::DomainEvent;
use verity_domain::mfa::{ForgetReason, MfaCommand, RECOVERY_CODE_COUNT};
use verity_domain::session::{self as sessions, SessionEndReason, SessionEvent, SessionStarted};
use verity_domain::signin::{SecondFactor, SignInEvent, SignInSucceeded};
use verity_domain::user::{self, User, UserCommand};
use verity_domain::{Actor, Context, execute};
use verity_oidc::credentials::{hash_password_in, verify_password_in};
use verity_oidc::limits::{LockState, mfa_failure_key};
use verity_oidc::mfa::{self as engine, CodeCheck, TotpSecret};
use verity_oidc::password_policy::{self, PolicyContext, PolicyViolation};
use verity_oidc::protocol::Params;
use verity_oidc::protocol::tokens::{Authentication, token_digest};
use verity_projection::{PasswordState, TotpView, UserView};

use crate::authorize::{is_form, issue_code, set_cookie};
use crate::client_ip::Caller;
use crate::metrics::Lockout;
use crate::pages::STRINGS;
use crate::session::{self, LoginTransaction, Stage, kind};
use crate::{AppState, HttpError, cookies, ip_limit, runtime};

/// A loaded, CSRF-checked login transaction.
pub(crate) struct Loaded {
    pub(crate) tx: String,
    pub(crate) transaction: LoginTransaction,
    pub(crate) form: Params,
}

/// Reads the form, the transaction and checks the CSRF token (form, cookie and
/// transaction must agree); otherwise the page to show.
pub(crate) async fn load(
    state: &AppState,
    caller: &Caller,
    body: &Bytes,
) -> Result<Result<Loaded, Response>, HttpError> {
    if !is_form(&caller.headers) {
        return Ok(Err(state
            .pages
            .error(StatusCode::BAD_REQUEST, "The request must be a form.")));
    }
    let Ok(form) = Params::parse(body) else {
        return Ok(Err(state
            .pages
            .error(StatusCode::BAD_REQUEST, STRINGS.csrf_failed)));
    };
    let (Some(tx), Some(posted_csrf)) = (
        form.get("tx").map(str::to_owned),
        form.get("csrf").map(str::to_owned),
    ) else {
        return Ok(Err(state
            .pages
            .error(StatusCode::BAD_REQUEST, STRINGS.csrf_failed)));
    };
    let Some(bytes) = state.expiring.get(kind::LOGIN, &tx, runtime::now()).await? else {
        return Ok(Err(expired(state)));
    };
    let transaction: LoginTransaction = session::decode(&bytes)?;
    let cookie_csrf = cookies::get(&caller.headers, cookies::CSRF).unwrap_or_default();
    let form_matches: bool = posted_csrf
        .as_bytes()
        .ct_eq(transaction.csrf.as_bytes())
        .into();
    let cookie_matches: bool = cookie_csrf
        .as_bytes()
        .ct_eq(transaction.csrf.as_bytes())
        .into();
    if !(form_matches && cookie_matches) {
        return Ok(Err(state
            .pages
            .error(StatusCode::FORBIDDEN, STRINGS.csrf_failed)));
    }
    Ok(Ok(Loaded {
        tx,
        transaction,
        form,
    }))
}

/// The page for a login transaction that is gone, or at another step than the form
/// posted: start again from the application.
fn expired(state: &AppState) -> Response {
    state
        .pages
        .error(StatusCode::BAD_REQUEST, STRINGS.login_expired)
}

/// Saves the transaction with its new stage.
async fn save(state: &AppState, tx: &str, transaction: &LoginTransaction) -> Result<(), HttpError> {
    let expires_at = session::expires_in(state.settings.login_lifetime);
    state
        .expiring
        .put(kind::LOGIN, tx, &session::encode(transaction)?, expires_at)
        .await?;
    Ok(())
}

fn page(state: &AppState, template: &str, values: Value) -> Response {
    state.pages.personal(StatusCode::OK, template, values)
}

fn user(state: &AppState, user_id: Uuid) -> Result<UserView, HttpError> {
    state
        .projector
        .read(|models| models.users.get(user_id).cloned())
        .ok_or_else(|| HttpError::internal("journey", "the user vanished"))
}

/// Runs a command on the person's own behalf and waits until the read models show it.
pub(crate) async fn act(
    state: &AppState,
    caller: &Caller,
    user_id: Uuid,
    command: UserCommand,
) -> Result<(), HttpError> {
    let origin = session::origin(caller, None);
    let context = Context {
        now: runtime::now(),
        actor: Actor::User {
            user_id: user_id.to_string(),
        },
        request_id: None,
        client_ip: origin.ip,
    };
    let outcome = execute::<User>(
        state.store.as_ref(),
        &user::stream(user_id),
        &command,
        &context,
    )
    .await
    .map_err(|error| HttpError::internal("a sign-in step", error))?;
    state
        .projector
        .wait_for(outcome.position, std::time::Duration::from_secs(10))
        .await
        .map_err(|error| HttpError::internal("waiting for the read models", error))
}

/// After a correct password: the next step for this person.
pub(crate) async fn after_password(
    state: &AppState,
    caller: &Caller,
    tx: &str,
    mut transaction: LoginTransaction,
    person: UserView,
) -> Result<Response, HttpError> {
    if matches!(person.password, PasswordState::Temporary { .. }) {
        transaction.stage = Stage::ChangePassword {
            user_id: person.user_id,
        };
        save(state, tx, &transaction).await?;
        return Ok(password_page(state, tx, &transaction.csrf, None));
    }
    second_factor(state, caller, tx, transaction, person).await
}

fn password_page(state: &AppState, tx: &str, csrf: &str, error: Option<&str>) -> Response {
    let rules = password_policy::hint(state.settings.password_min_length);
    page(state, "password.html", context! { tx, csrf, error, rules })
}

/// The second factor: set up an app, or ask for a code, or let a trusted device stand in.
async fn second_factor(
    state: &AppState,
    caller: &Caller,
    tx: &str,
    mut transaction: LoginTransaction,
    person: UserView,
) -> Result<Response, HttpError> {
    let Some(totp) = &person.mfa.totp else {
        let secret = TotpSecret::generate(&mut runtime::crypto_rng());
        let sealed_secret = engine::seal_totp_secret(state.keys.master(), person.user_id, &secret)
            .map_err(|error| HttpError::internal("sealing a TOTP secret", error))?;
        transaction.stage = Stage::EnrollTotp {
            user_id: person.user_id,
            sealed_secret,
        };
        save(state, tx, &transaction).await?;
        return enrollment_page(state, tx, &transaction.csrf, &person, &secret, "", None);
    };
    let now = runtime::now();
    let trusted = cookies::get(&caller.headers, cookies::DEVICE)
        .map(engine::device_id_hash)
        .is_some_and(|hash| person.mfa.trusted_device(&hash, now).is_some());
    if trusted {
        return finish(
            state,
            caller,
            tx,
            transaction,
            person.user_id,
            SecondFactor::TrustedDevice,
            None,
        )
        .await;
    }
    let app_name = totp.app_name.clone();
    transaction.stage = Stage::Mfa {
        user_id: person.user_id,
    };
    save(state, tx, &transaction).await?;
    Ok(mfa_page(state, tx, &transaction.csrf, &app_name, None))
}

fn enrollment_page(
    state: &AppState,
    tx: &str,
    csrf: &str,
    person: &UserView,
    secret: &TotpSecret,
    app_name: &str,
    error: Option<&str>,
) -> Result<Response, HttpError> {
    let uri = engine::otpauth_uri(&state.settings.instance_name, person.email.as_str(), secret)
        .map_err(|error| HttpError::internal("the otpauth URI", error))?;
    let qr_svg = engine::qr_svg(&uri, STRINGS.qr_label)
        .map_err(|error| HttpError::internal("the QR code", error))?;
    let secret = engine::secret_base32_grouped(secret);
    Ok(page(
        state,
        "totp_setup.html",
        context! { tx, csrf, qr_svg, secret, app_name, error },
    ))
}

fn mfa_page(
    state: &AppState,
    tx: &str,
    csrf: &str,
    app_name: &str,
    error: Option<&str>,
) -> Response {
    let heading = STRINGS.mfa_heading.replace("{app}", app_name);
    page(state, "mfa.html", context! { tx, csrf, heading, error })
}

/// `POST /login/password`: "Choose a new password".
pub(crate) async fn password(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Response {
    crate::authorize::respond(change_password(&state, &caller, &body).await, &state)
}

async fn change_password(
    state: &AppState,
    caller: &Caller,
    body: &Bytes,
) -> Result<Response, HttpError> {
    let Loaded {
        tx,
        transaction,
        form,
    } = match load(state, caller, body).await? {
        Ok(loaded) => loaded,
        Err(page) => return Ok(page),
    };
    let Stage::ChangePassword { user_id } = transaction.stage else {
        return Ok(expired(state));
    };
    let person = user(state, user_id)?;
    let new = form.get("new_password").unwrap_or_default().to_owned();
    let confirm = form.get("confirm_password").unwrap_or_default();
    match new_password(
        state,
        caller,
        &person,
        new,
        confirm,
        PolicyViolation::SameAsTemporary,
    )
    .await?
    {
        Ok(()) => second_factor(state, caller, &tx, transaction, user(state, user_id)?).await,
        Err(violation) => Ok(password_page(
            state,
            &tx,
            &transaction.csrf,
            Some(&violation.message()),
        )),
    }
}

/// Makes `new` the person's password (`user.password.changed`, the person as actor) if
/// the policy allows it: length, confirmation, email, the shipped list, strength, then not
/// the password they have now (`same` is the refusal to give: the temporary one at a first
/// sign-in, the current one on Verity's page), then the breach service when configured.
pub(crate) async fn new_password(
    state: &AppState,
    caller: &Caller,
    person: &UserView,
    new: String,
    confirm: &str,
    same: PolicyViolation,
) -> Result<Result<(), PolicyViolation>, HttpError> {
    let context = PolicyContext::new(&person.email, state.settings.password_min_length);
    if let Err(violation) = password_policy::check(&new, confirm, &context) {
        return Ok(Err(violation));
    }
    // The password they have is known only by its hash: compare by verifying.
    let present_hash = person.password.hash().to_owned();
    let candidate = new.clone();
    let unchanged = state
        .hash(move |memory| verify_password_in(&candidate, &present_hash, memory))
        .await?;
    if unchanged {
        return Ok(Err(same));
    }
    if let Some(pwned) = &state.settings.pwned
        && let Err(violation) = pwned.check(&new).await
    {
        return Ok(Err(violation));
    }
    let password_hash = state
        .hash(move |memory| hash_password_in(&new, memory, &mut runtime::crypto_rng()))
        .await?
        .map_err(|error| HttpError::internal("password hashing", error))?;
    act(
        state,
        caller,
        person.user_id,
        UserCommand::ChangePassword { password_hash },
    )
    .await?;
    Ok(Ok(()))
}

/// `POST /login/totp`: "Set up your authenticator app".
pub(crate) async fn enroll(State(state): State<AppState>, caller: Caller, body: Bytes) -> Response {
    crate::authorize::respond(enroll_totp(&state, &caller, &body).await, &state)
}

async fn enroll_totp(
    state: &AppState,
    caller: &Caller,
    body: &Bytes,
) -> Result<Response, HttpError> {
    let Loaded {
        tx,
        mut transaction,
        form,
    } = match load(state, caller, body).await? {
        Ok(loaded) => loaded,
        Err(page) => return Ok(page),
    };
    let Stage::EnrollTotp {
        user_id,
        sealed_secret,
    } = transaction.stage.clone()
    else {
        return Ok(expired(state));
    };
    let person = user(state, user_id)?;
    let secret = engine::open_totp_secret(state.keys.master(), user_id, &sealed_secret)
        .map_err(|error| HttpError::internal("opening a pending TOTP secret", error))?;
    let app_name = form.get("app_name").unwrap_or_default().trim().to_owned();
    let again = |message: &str| {
        enrollment_page(
            state,
            &tx,
            &transaction.csrf,
            &person,
            &secret,
            &app_name,
            Some(message),
        )
    };
    if app_name.is_empty() || app_name.chars().count() > verity_domain::mfa::MAX_APP_NAME {
        return again(STRINGS.app_name_invalid);
    }
    let code = form.get("code").unwrap_or_default();
    match engine::check_code(
        state.expiring.as_ref(),
        user_id,
        &secret,
        code,
        runtime::now(),
    )
    .await?
    {
        CodeCheck::Accepted { .. } => {}
        CodeCheck::Reused => return again(STRINGS.code_reused),
        CodeCheck::Wrong => return again(STRINGS.wrong_code),
    }
    let codes = engine::generate_recovery_codes(&mut runtime::crypto_rng());
    let command = MfaCommand::EnrollTotp {
        app_name,
        encrypted_secret: sealed_secret,
        recovery_code_hashes: engine::recovery_code_hashes(user_id, &codes),
    };
    act(state, caller, user_id, UserCommand::Mfa(command)).await?;
    transaction.stage = Stage::RecoveryCodesShown { user_id };
    save(state, &tx, &transaction).await?;
    Ok(recovery_codes_page(
        state,
        &tx,
        &transaction.csrf,
        &codes,
        false,
    ))
}

/// "You have N unused recovery codes left." (one, none: their own sentences).
pub(crate) fn recovery_codes_left(remaining: usize) -> String {
    match remaining {
        0 => STRINGS.no_recovery_codes_left.to_owned(),
        1 => STRINGS.one_recovery_code_left.to_owned(),
        _ => STRINGS
            .recovery_codes_left
            .replace("{count}", &remaining.to_string()),
    }
}

/// "Your recovery codes", shown once; `replaced` says that an older set stopped working.
/// Without a login transaction (`tx` empty: Verity's own page) it links back to the page.
pub(crate) fn recovery_codes_page(
    state: &AppState,
    tx: &str,
    csrf: &str,
    codes: &[String],
    replaced: bool,
) -> Response {
    let codes = codes.to_vec();
    page(
        state,
        "recovery_codes.html",
        context! { tx, csrf, codes, replaced },
    )
}

/// `POST /login/continue`: finishes a sign-in whose second factor is done and whose
/// last page was informational (the recovery codes, or "You used a recovery code").
pub(crate) async fn continue_after_codes(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Response {
    let result = async {
        let Loaded {
            tx, transaction, ..
        } = match load(&state, &caller, &body).await? {
            Ok(loaded) => loaded,
            Err(page) => return Ok(page),
        };
        let (user_id, factor) = match transaction.stage {
            // Set-up ends with a code from the new app.
            Stage::RecoveryCodesShown { user_id } => (user_id, SecondFactor::Totp),
            Stage::RecoveryCodeUsed { user_id } | Stage::NewRecoveryCodesShown { user_id } => {
                (user_id, SecondFactor::RecoveryCode)
            }
            _ => {
                return Ok(expired(&state));
            }
        };
        finish(&state, &caller, &tx, transaction, user_id, factor, None).await
    }
    .await;
    crate::authorize::respond(result, &state)
}

/// `POST /login/mfa`: "Enter the code from <app>".
pub(crate) async fn mfa(State(state): State<AppState>, caller: Caller, body: Bytes) -> Response {
    crate::authorize::respond(mfa_code(&state, &caller, &body, false).await, &state)
}

/// `POST /login/recovery`: a recovery code in place of a code.
pub(crate) async fn recovery(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Response {
    crate::authorize::respond(mfa_code(&state, &caller, &body, true).await, &state)
}

async fn mfa_code(
    state: &AppState,
    caller: &Caller,
    body: &Bytes,
    recovery: bool,
) -> Result<Response, HttpError> {
    let Loaded {
        tx,
        mut transaction,
        form,
    } = match load(state, caller, body).await? {
        Ok(loaded) => loaded,
        Err(page) => return Ok(page),
    };
    let Stage::Mfa { user_id } = transaction.stage else {
        return Ok(expired(state));
    };
    let person = user(state, user_id)?;
    let Some(totp) = &person.mfa.totp else {
        return Ok(expired(state));
    };
    let app_name = totp.app_name.clone();
    let again = |message: &str| {
        Ok(mfa_page(
            state,
            &tx,
            &transaction.csrf,
            &app_name,
            Some(message),
        ))
    };
    let now = runtime::now();
    let answer = |refused: CodeRefused| match refused {
        CodeRefused::NetworkLocked(until) => {
            Ok(ip_limit::refused(again(STRINGS.ip_locked)?, until, now))
        }
        CodeRefused::Say(message) => again(message),
    };
    let checks = match code_step_open(state, caller, user_id, now).await? {
        Ok(checks) => checks,
        Err(refused) => return answer(refused),
    };
    // The factor, or what to say and count when the code is refused.
    let outcome = if recovery {
        let presented = form.get("recovery_code").unwrap_or_default();
        match engine::match_recovery_code(user_id, &person.mfa.recovery_codes, presented) {
            Some(index) => {
                act(
                    state,
                    caller,
                    user_id,
                    UserCommand::Mfa(MfaCommand::UseRecoveryCode { index }),
                )
                .await?;
                Ok(SecondFactor::RecoveryCode)
            }
            None => Err((STRINGS.wrong_recovery_code, "wrong_recovery_code")),
        }
    } else {
        let presented = form.get("code").unwrap_or_default();
        check_app_code(state, user_id, totp, presented, now)
            .await?
            .map(|()| SecondFactor::Totp)
    };
    let factor = match outcome {
        Ok(factor) => factor,
        Err(refusal) => return answer(refused_code(state, caller, user_id, refusal, now).await?),
    };
    code_accepted(state, user_id, &checks).await?;
    if factor == SecondFactor::RecoveryCode {
        // One code fewer: before finishing, offer a new set.
        transaction.stage = Stage::RecoveryCodeUsed { user_id };
        save(state, &tx, &transaction).await?;
        let remaining = user(state, user_id)?.mfa.unused_recovery_codes();
        return Ok(recovery_used_page(state, &tx, &transaction.csrf, remaining));
    }
    let device_cookie = if !recovery && form.get("remember_device") == Some("yes") {
        Some(trust_device(state, caller, user_id).await?)
    } else {
        None
    };
    finish(
        state,
        caller,
        &tx,
        transaction,
        user_id,
        factor,
        device_cookie,
    )
    .await
}

/// What to answer a refused code.
pub(crate) enum CodeRefused {
    /// This failure locked the caller's network until then.
    NetworkLocked(DateTime<Utc>),
    /// The message to show: why the code was refused, or that the step is now locked.
    Say(&'static str),
}

/// Why a code was refused: the message for the person and the metric's reason.
pub(crate) type Refusal = (&'static str, &'static str);

/// Whether the person's code step is open: neither the caller's network nor the step may
/// be locked. The step's checks (its failure count, for [`code_accepted`]), or what to
/// answer.
pub(crate) async fn code_step_open(
    state: &AppState,
    caller: &Caller,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Result<ip_limit::Checks, CodeRefused>, HttpError> {
    let key = mfa_failure_key(user_id);
    let limit = &state.settings.mfa_limit;
    let checks = ip_limit::checks(state, caller, Some((limit, &key)), now).await?;
    if let Some(until) = checks.network_locked_until {
        return Ok(Err(CodeRefused::NetworkLocked(until)));
    }
    if let LockState::Locked { .. } = checks.step.lock {
        return Ok(Err(CodeRefused::Say(STRINGS.mfa_locked)));
    }
    Ok(Ok(checks))
}

/// A code from the person's authenticator app: accepted once (its time step is claimed),
/// or why not.
pub(crate) async fn check_app_code(
    state: &AppState,
    user_id: Uuid,
    totp: &TotpView,
    presented: &str,
    now: DateTime<Utc>,
) -> Result<Result<(), Refusal>, HttpError> {
    let secret = engine::open_totp_secret(state.keys.master(), user_id, &totp.encrypted_secret)
        .map_err(|error| HttpError::internal("opening a TOTP secret", error))?;
    Ok(
        match engine::check_code(state.expiring.as_ref(), user_id, &secret, presented, now).await? {
            CodeCheck::Accepted { .. } => Ok(()),
            CodeCheck::Reused => Err((STRINGS.code_reused, "reused_code")),
            CodeCheck::Wrong => Err((STRINGS.wrong_code, "wrong_code")),
        },
    )
}

/// After an accepted code: the person's failure count, if there is one, starts again.
pub(crate) async fn code_accepted(
    state: &AppState,
    user_id: Uuid,
    checks: &ip_limit::Checks,
) -> Result<(), HttpError> {
    if checks.step.failures > 0 {
        let key = mfa_failure_key(user_id);
        state
            .settings
            .mfa_limit
            .reset(state.expiring.as_ref(), &key)
            .await?;
    }
    Ok(())
}

/// Records a new set of recovery codes for the person (`user.recovery_codes.generated`,
/// every older code stops working) and returns them, to be shown once.
pub(crate) async fn new_recovery_codes(
    state: &AppState,
    caller: &Caller,
    user_id: Uuid,
) -> Result<[String; RECOVERY_CODE_COUNT], HttpError> {
    let codes = engine::generate_recovery_codes(&mut runtime::crypto_rng());
    let command = MfaCommand::RegenerateRecoveryCodes {
        code_hashes: engine::recovery_code_hashes(user_id, &codes),
    };
    act(state, caller, user_id, UserCommand::Mfa(command)).await?;
    Ok(codes)
}

/// Counts a refused code — in the metrics by `reason`, against the person's code limit and
/// against the caller's network — and says what to answer.
pub(crate) async fn refused_code(
    state: &AppState,
    caller: &Caller,
    user_id: Uuid,
    (message, reason): Refusal,
    now: DateTime<Utc>,
) -> Result<CodeRefused, HttpError> {
    state.metrics.second_factor_failure(reason);
    let key = mfa_failure_key(user_id);
    let limit = (
        &state.settings.mfa_limit,
        key.as_str(),
        Lockout::SecondFactor,
    );
    let failed = ip_limit::record_failures(state, caller, limit, now).await?;
    Ok(match failed.network_locked_until {
        Some(until) => CodeRefused::NetworkLocked(until),
        None if failed.step.locked_until.is_some() => CodeRefused::Say(STRINGS.mfa_locked),
        None => CodeRefused::Say(message),
    })
}

/// "You used a recovery code": how many are left, "Generate new recovery codes" and
/// "Continue" (generating is the obvious action when none is left).
fn recovery_used_page(state: &AppState, tx: &str, csrf: &str, remaining: usize) -> Response {
    let remaining_text = recovery_codes_left(remaining);
    page(
        state,
        "recovery_used.html",
        context! { tx, csrf, remaining, remaining_text },
    )
}

/// `POST /login/recovery/regenerate`: "Generate new recovery codes" after a sign-in
/// with one. Records a new set (`user.recovery_codes.generated`, every old code stops
/// working), shows it once, and the sign-in continues from there.
pub(crate) async fn regenerate_recovery_codes(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Response {
    let result = async {
        let Loaded {
            tx,
            mut transaction,
            ..
        } = match load(&state, &caller, &body).await? {
            Ok(loaded) => loaded,
            Err(page) => return Ok(page),
        };
        let Stage::RecoveryCodeUsed { user_id } = transaction.stage else {
            return Ok(expired(&state));
        };
        let codes = new_recovery_codes(&state, &caller, user_id).await?;
        // Shown once: posting again finds the next stage and is refused.
        transaction.stage = Stage::NewRecoveryCodesShown { user_id };
        save(&state, &tx, &transaction).await?;
        Ok(recovery_codes_page(
            &state,
            &tx,
            &transaction.csrf,
            &codes,
            true,
        ))
    }
    .await;
    crate::authorize::respond(result, &state)
}

/// Records `user.device.trusted` and returns the cookie to set.
async fn trust_device(
    state: &AppState,
    caller: &Caller,
    user_id: Uuid,
) -> Result<String, HttpError> {
    let device_id = engine::new_device_id(&mut runtime::crypto_rng());
    let user_agent = caller
        .headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok());
    let days = state.settings.device_trust_days;
    let command = MfaCommand::TrustDevice {
        device_id_hash: engine::device_id_hash(&device_id),
        label: engine::device_label(user_agent),
        expires_at: runtime::now() + Duration::days(days),
    };
    act(state, caller, user_id, UserCommand::Mfa(command)).await?;
    Ok(cookies::set(
        cookies::DEVICE,
        &device_id,
        days * 24 * 3600,
        state.settings.secure_cookies(),
    ))
}

/// Forgets this browser as a trusted device of `user_id` (logout), if it is one.
pub(crate) async fn forget_device(
    state: &AppState,
    caller: &Caller,
    user_id: Uuid,
) -> Result<bool, HttpError> {
    let Some(hash) = cookies::get(&caller.headers, cookies::DEVICE).map(engine::device_id_hash)
    else {
        return Ok(false);
    };
    let trusted = state.projector.read(|models| {
        models
            .users
            .get(user_id)
            .is_some_and(|person| person.mfa.trusted_device(&hash, runtime::now()).is_some())
    });
    if !trusted {
        return Ok(false);
    }
    forget_trusted_device(state, caller, user_id, hash, ForgetReason::Logout).await?;
    Ok(true)
}

/// Records that `user_id` forgot a trusted device (`user.device.forgotten`, the person as
/// actor) and waits until the read models show it.
pub(crate) async fn forget_trusted_device(
    state: &AppState,
    caller: &Caller,
    user_id: Uuid,
    device_id_hash: String,
    reason: ForgetReason,
) -> Result<(), HttpError> {
    let command = MfaCommand::ForgetDevice {
        device_id_hash,
        reason,
    };
    act(state, caller, user_id, UserCommand::Mfa(command)).await
}

/// Whether this browser is a trusted device of `user_id`.
pub(crate) fn is_trusted_device(state: &AppState, caller: &Caller, user_id: Uuid) -> bool {
    let Some(hash) = cookies::get(&caller.headers, cookies::DEVICE).map(engine::device_id_hash)
    else {
        return false;
    };
    state.projector.read(|models| {
        models
            .users
            .get(user_id)
            .is_some_and(|person| person.mfa.trusted_device(&hash, runtime::now()).is_some())
    })
}

/// Both factors done: start the SSO session, record the sign-in, return to the client.
async fn finish(
    state: &AppState,
    caller: &Caller,
    tx: &str,
    transaction: LoginTransaction,
    user_id: Uuid,
    factor: SecondFactor,
    device_cookie: Option<String>,
) -> Result<Response, HttpError> {
    if state
        .expiring
        .take(kind::LOGIN, tx, runtime::now())
        .await?
        .is_none()
    {
        return Ok(expired(state));
    }
    let origin = session::origin(caller, Some(&transaction.request.client_id));
    if let Some((digest, previous)) = session::current(state, &caller.headers).await? {
        session::end(
            state,
            &digest,
            &previous,
            SessionEndReason::Replaced,
            &origin,
        )
        .await?;
    }
    let user_id_text = user_id.to_string();
    let authentication = Authentication {
        user_id: user_id_text.clone(),
        sid: Uuid::new_v4().to_string(),
        auth_time: runtime::now().timestamp(),
        amr: engine::amr(factor),
        acr: engine::acr(factor).to_owned(),
    };
    let cookie = runtime::token();
    let expires_at = session::expires_in(state.settings.session_lifetime);
    let session_state = session::encode(&authentication)?;
    let metadata = session::metadata(Some(&user_id_text), &origin);
    let succeeded = SignInSucceeded {
        user_id: user_id_text.clone(),
        sid: authentication.sid.clone(),
        amr: authentication.amr.clone(),
        second_factor: Some(factor),
        device_trust_used: factor == SecondFactor::TrustedDevice,
        origin: origin.clone(),
    };
    let started = SessionStarted {
        sid: authentication.sid.clone(),
        user_id: user_id_text,
        auth_time: runtime::now(),
        amr: authentication.amr.clone(),
    };
    // At once: the two facts then reach the store's writer together and share one commit
    // (group commit), and the session is stored meanwhile.
    let session_digest = token_digest(&cookie);
    tokio::try_join!(
        async {
            state
                .expiring
                .put(kind::SESSION, &session_digest, &session_state, expires_at)
                .await
                .map_err(HttpError::from)
        },
        session::record(
            state,
            user::stream(user_id),
            vec![SignInEvent::Succeeded(succeeded).to_new_event(metadata.clone())],
        ),
        session::record(
            state,
            sessions::stream(&authentication.sid),
            vec![SessionEvent::Started(started).to_new_event(metadata)],
        ),
    )?;
    state.metrics.sign_in(&crate::metrics::label(&factor));
    let mut response = issue_code(state, transaction.request, authentication).await?;
    let secure = state.settings.secure_cookies();
    set_cookie(
        &mut response,
        &cookies::set(
            cookies::SESSION,
            &cookie,
            state.settings.session_lifetime,
            secure,
        ),
    );
    set_cookie(&mut response, &cookies::clear(cookies::CSRF, secure));
    if let Some(device_cookie) = device_cookie {
        set_cookie(&mut response, &device_cookie);
    }
    Ok(response)
}
