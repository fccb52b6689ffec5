//! What a signed-in person does on Verity's own page, over the steps they share with the
//! sign-in ([`crate::account`]): change their password (the current one checked like a
//! sign-in's), replace their recovery codes against a fresh code, forget one of their
//! trusted devices. Each rule is decided here; the door extracts, calls and renders.

use verity_domain::mfa::{ForgetReason, RECOVERY_CODE_COUNT};
use verity_projection::{PasswordState, UserView};

use crate::account::{self, PasswordChoice, Replacing};
use crate::context::RequestContext;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::second_factor::{self, CodeOutcome, CodeRefusal, Presented};
use crate::signin::password::{PasswordOutcome, PasswordRefusal, check_current_password};

/// What "Change password" on Verity's page did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordChange {
    /// The person's password is a temporary one (an admin issued it since they signed
    /// in): the sign-in journey takes it, not this page. Nothing was checked.
    TemporaryPending,
    /// The current password was refused, as a sign-in's would be (counted, locks).
    CurrentRefused(PasswordRefusal),
    /// The new password: changed, or refused by the policy.
    Chosen(PasswordChoice),
}

/// "Change password" on Verity's page, from the person's session `sid`: not while a
/// temporary password waits; the current password checked like a sign-in's
/// ([`check_current_password`]); then the new one by the policy, and
/// `user.password.changed` with the person's other sessions ended
/// ([`account::choose_password`]).
pub async fn change_password(
    engine: &Engine,
    context: &RequestContext,
    person: &UserView,
    (current, new, confirm): (&str, &str, &str),
    sid: &str,
) -> Result<PasswordChange, EngineError> {
    if matches!(person.password, PasswordState::Temporary { .. }) {
        return Ok(PasswordChange::TemporaryPending);
    }
    if let PasswordOutcome::Refused(refusal) =
        check_current_password(engine, context, person, current).await?
    {
        return Ok(PasswordChange::CurrentRefused(refusal));
    }
    let replacing = Replacing::Current {
        sid: sid.to_owned(),
    };
    let choice = account::choose_password(engine, context, person, new, confirm, replacing).await?;
    Ok(PasswordChange::Chosen(choice))
}

/// What "Generate new recovery codes" on Verity's page did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecoveryCodesReplacement {
    /// The new set (`user.recovery_codes.generated`; every older code stops working), to
    /// be shown once.
    Generated(Box<[String; RECOVERY_CODE_COUNT]>),
    /// The person has no authenticator app, so no recovery codes to replace.
    NoAuthenticator,
    /// The app's code was refused, as a sign-in's would be (counted, locks); nothing was
    /// generated.
    CodeRefused(CodeRefusal),
}

/// "Generate new recovery codes" on Verity's page: only against a current code from the
/// authenticator app, checked like the sign-in's, so that a stolen session alone cannot
/// replace the codes.
pub async fn replace_recovery_codes(
    engine: &Engine,
    context: &RequestContext,
    person: &UserView,
    app_code: &str,
) -> Result<RecoveryCodesReplacement, EngineError> {
    let Some(totp) = &person.mfa.totp else {
        return Ok(RecoveryCodesReplacement::NoAuthenticator);
    };
    let presented = Presented::AppCode(app_code);
    if let CodeOutcome::Refused(refusal) =
        second_factor::check(engine, context, person, totp, presented).await?
    {
        return Ok(RecoveryCodesReplacement::CodeRefused(refusal));
    }
    let codes = account::new_recovery_codes(engine, context, person.user_id).await?;
    Ok(RecoveryCodesReplacement::Generated(Box::new(codes)))
}

/// What "Forget" of a trusted device on Verity's page did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceForgetting {
    /// Not a device this person trusts now (another person's, unknown, expired or
    /// already forgotten): nothing was written.
    NotTrusted,
    /// Forgotten (`user.device.forgotten`, reason `revoked`, the person as actor);
    /// `this_browser` when it is the browser that asked, whose device cookie then goes.
    Forgotten {
        /// Whether the forgotten device is the browser that asked.
        this_browser: bool,
    },
}

/// "Forget" on Verity's page: forgets `device_id_hash` if it names one of the person's
/// devices still trusted at `context.now`; `device_cookie` is the asking browser's.
pub async fn forget_trusted_device(
    engine: &Engine,
    context: &RequestContext,
    person: &UserView,
    device_id_hash: &str,
    device_cookie: Option<&str>,
) -> Result<DeviceForgetting, EngineError> {
    let Some(device) = person.mfa.trusted_device(device_id_hash, context.now) else {
        return Ok(DeviceForgetting::NotTrusted);
    };
    let device_id_hash = device.device_id_hash.clone();
    let this_browser = account::trusted_device(person, device_cookie, context.now).as_ref()
        == Some(&device_id_hash);
    account::forget_device(
        engine,
        context,
        person.user_id,
        device_id_hash,
        ForgetReason::Revoked,
    )
    .await?;
    Ok(DeviceForgetting::Forgotten { this_browser })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mfa;
    use crate::signin::PasswordRefused;
    use crate::test_engine::{PASSWORD, TestEngine, current_code};

    /// A password the policy accepts.
    const NEW: &str = "Quartz-lantern-harbor-1987";

    async fn changed_passwords(test: &TestEngine) -> usize {
        test.event_types()
            .await
            .iter()
            .filter(|found| *found == "user.password.changed")
            .count()
    }

    #[tokio::test]
    async fn a_waiting_temporary_password_is_not_changed_on_the_page() {
        let test = TestEngine::start().await;
        let user_id = test.person_with_temporary_password("ada@example.org").await;
        let person = test.record(user_id).await;

        let change = change_password(
            &test.engine,
            &test.context(),
            &person,
            ("temporary password", NEW, NEW),
            "sid",
        )
        .await
        .unwrap();

        assert_eq!(change, PasswordChange::TemporaryPending);
        assert_eq!(changed_passwords(&test).await, 0);
    }

    #[tokio::test]
    async fn the_current_password_is_checked_before_the_new_one() {
        let test = TestEngine::start().await;
        let user_id = test.person("ada@example.org").await;
        let person = test.record(user_id).await;
        let before = changed_passwords(&test).await;

        let change = change_password(
            &test.engine,
            &test.context(),
            &person,
            ("not the password", NEW, NEW),
            "sid",
        )
        .await
        .unwrap();

        let PasswordChange::CurrentRefused(refusal) = change else {
            panic!("{change:?}");
        };
        assert_eq!(refusal.reason, PasswordRefused::Wrong);
        assert_eq!(changed_passwords(&test).await, before);
    }

    #[tokio::test]
    async fn the_new_password_is_the_policys_then_recorded() {
        let test = TestEngine::start().await;
        let user_id = test.person("ada@example.org").await;
        let person = test.record(user_id).await;
        let context = test.context();
        let before = changed_passwords(&test).await;

        let typed = (PASSWORD, "short", "short");
        let refused = change_password(&test.engine, &context, &person, typed, "sid").await;
        let typed = (PASSWORD, NEW, NEW);
        let changed = change_password(&test.engine, &context, &person, typed, "sid").await;

        assert!(
            matches!(
                refused.unwrap(),
                PasswordChange::Chosen(PasswordChoice::Refused(_))
            ),
            "the policy refuses a short one"
        );
        assert_eq!(
            changed.unwrap(),
            PasswordChange::Chosen(PasswordChoice::Changed)
        );
        assert_eq!(changed_passwords(&test).await, before + 1);
    }

    async fn generated_sets(test: &TestEngine) -> usize {
        test.event_types()
            .await
            .iter()
            .filter(|found| *found == "user.recovery_codes.generated")
            .count()
    }

    #[tokio::test]
    async fn recovery_codes_are_replaced_only_against_a_current_code() {
        let test = TestEngine::start().await;
        let without_app = test.record(test.person("bob@example.org").await).await;
        let user_id = test.person("ada@example.org").await;
        let (secret, _) = test.enroll(user_id).await;
        let person = test.record(user_id).await;
        let context = test.context();
        let before = generated_sets(&test).await;

        let no_app = replace_recovery_codes(&test.engine, &context, &without_app, "123456");
        let wrong = replace_recovery_codes(&test.engine, &context, &person, "not-a-code");

        assert_eq!(
            no_app.await.unwrap(),
            RecoveryCodesReplacement::NoAuthenticator
        );
        let RecoveryCodesReplacement::CodeRefused(refusal) = wrong.await.unwrap() else {
            panic!("a wrong code replaced the recovery codes");
        };
        assert_eq!(refusal.failure, Some("wrong_code"));
        assert_eq!(generated_sets(&test).await, before);

        let code = current_code(&secret);
        let right = replace_recovery_codes(&test.engine, &context, &person, &code);
        let RecoveryCodesReplacement::Generated(codes) = right.await.unwrap() else {
            panic!("the current code was refused");
        };
        assert_eq!(codes.len(), RECOVERY_CODE_COUNT);
        assert_eq!(generated_sets(&test).await, before + 1);
    }

    #[tokio::test]
    async fn only_a_device_the_person_trusts_is_forgotten() {
        let test = TestEngine::start().await;
        let context = test.context();
        let ada = test.person("ada@example.org").await;
        let bob = test.person("bob@example.org").await;
        test.enroll(ada).await;
        test.enroll(bob).await;
        let laptop = account::trust_device(&test.engine, &context, ada)
            .await
            .unwrap();
        let phone = account::trust_device(&test.engine, &context, ada)
            .await
            .unwrap();
        let bobs = account::trust_device(&test.engine, &context, bob)
            .await
            .unwrap();
        let ada_now = test.record(ada).await;
        let forgotten = |events: Vec<String>| {
            events
                .iter()
                .filter(|found| *found == "user.device.forgotten")
                .count()
        };

        let forget = |person: UserView, hash: String| {
            let (engine, context) = (test.engine.clone(), context.clone());
            let cookie = laptop.device_id.clone();
            async move {
                forget_trusted_device(&engine, &context, &person, &hash, Some(&cookie))
                    .await
                    .unwrap()
            }
        };
        let others = mfa::device_id_hash(&bobs.device_id);
        let unknown = mfa::device_id_hash("no such device");
        for hash in [others, unknown] {
            let outcome = forget(ada_now.clone(), hash).await;
            assert_eq!(outcome, DeviceForgetting::NotTrusted);
        }
        assert_eq!(forgotten(test.event_types().await), 0);

        let laptop_hash = mfa::device_id_hash(&laptop.device_id);
        let this_one = forget(ada_now.clone(), laptop_hash.clone()).await;
        assert_eq!(this_one, DeviceForgetting::Forgotten { this_browser: true });
        let another = forget(ada_now, mfa::device_id_hash(&phone.device_id)).await;
        assert_eq!(
            another,
            DeviceForgetting::Forgotten {
                this_browser: false
            }
        );
        assert_eq!(forgotten(test.event_types().await), 2);
        let again = forget(test.record(ada).await, laptop_hash).await;
        assert_eq!(again, DeviceForgetting::NotTrusted);
    }
}
