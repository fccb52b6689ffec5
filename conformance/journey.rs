//! The sign-in journey over HTTP, rule by rule (issue 4): the pages a person walks
//! through, what they refuse, and what the tokens and the log say afterwards. The same
//! journey in a real browser is in `crates/verity/tests/it/browser.rs`.

use crate::provider::{Browser, CHOSEN_PASSWORD, Page, Provider, REDIRECT_URI, totp_code};
use crate::support::{assert_clear_error, json_lines};

/// A relying party's authorization URL (PKCE is not required for this confidential
/// client; the conformance tests cover PKCE).
async fn authorize_url(provider: &Provider) -> (String, String, String) {
    let client = provider
        .client(&["--scope", "profile", "--scope", "email"])
        .await;
    let url = format!(
        "{}/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid%20email&state=st",
        provider.issuer,
        client.client_id,
        crate::provider::encode(REDIRECT_URI)
    );
    (url, client.client_id, client.client_secret.unwrap())
}

async fn amr_of(
    provider: &Provider,
    client_id: &str,
    secret: &str,
    redirect: &Page,
) -> serde_json::Value {
    let code = redirect
        .redirect_param("code")
        .expect("back at the client with a code");
    let response = crate::provider::http_client()
        .post(format!("{}/token", provider.issuer))
        .basic_auth(client_id, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}",
            crate::provider::encode(REDIRECT_URI)
        ))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    let id_token = body["id_token"].as_str().expect("an ID token");
    use base64::Engine;
    let payload = id_token.split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["amr"].clone()
}

fn is_step(page: &Page, action: &str) -> bool {
    page.body.contains(&format!("action=\"{action}\""))
}

#[tokio::test]
async fn the_first_sign_in_walks_from_the_temporary_password_to_the_authenticator() {
    let provider = Provider::start().await;
    let (email, temporary) = provider.person("grace@example.org");
    let (url, client_id, secret) = authorize_url(&provider).await;
    let mut browser = Browser::new();
    let page = browser.get(&url).await;
    let page = browser
        .submit(
            &provider.issuer,
            &page,
            "/login",
            &[("email", &email), ("password", &temporary)],
        )
        .await;
    assert!(is_step(&page, "/login/password"), "{}", page.body);
    assert!(page.body.contains("Choose a new password"));

    for (new, confirm, expected) in [
        ("short", "short", "at least 12 characters"),
        (
            "correct horse battery staple",
            "correct horse battery stapl",
            "not the same",
        ),
        (
            "password1234",
            "password1234",
            "common and leaked passwords",
        ),
        (
            "grace-grace-grace-2026",
            "grace-grace-grace-2026",
            "email address",
        ),
        (temporary.as_str(), temporary.as_str(), "temporary password"),
    ] {
        let refused = browser
            .submit(
                &provider.issuer,
                &page,
                "/login/password",
                &[("new_password", new), ("confirm_password", confirm)],
            )
            .await;
        assert!(is_step(&refused, "/login/password"), "{new:?} accepted");
        assert!(
            refused.body.contains(expected),
            "{new:?}: expected {expected:?} in {}",
            refused.body
        );
        assert!(
            refused
                .body
                .contains("aria-describedby=\"password-rules form-error\"")
        );
    }
    let page = browser
        .submit(
            &provider.issuer,
            &page,
            "/login/password",
            &[
                ("new_password", CHOSEN_PASSWORD),
                ("confirm_password", CHOSEN_PASSWORD),
            ],
        )
        .await;
    assert!(is_step(&page, "/login/totp"), "{}", page.body);
    for text in [
        "Set up your authenticator app",
        "Authenticator app name",
        "time-based",
        "<svg",
    ] {
        assert!(page.body.contains(text), "{text} missing");
    }
    let shown = page.totp_secret().unwrap();
    assert_eq!(shown.len(), 32, "a 160-bit secret in Base32");

    let wrong = browser
        .submit(
            &provider.issuer,
            &page,
            "/login/totp",
            &[("app_name", "Work phone"), ("code", "000000")],
        )
        .await;
    assert!(is_step(&wrong, "/login/totp"));
    assert!(wrong.body.contains("not correct"));
    assert_eq!(
        wrong.totp_secret().unwrap(),
        shown,
        "a wrong code keeps the same secret"
    );
    let (code, _) = totp_code(&shown, None).await;
    let codes = browser
        .submit(
            &provider.issuer,
            &wrong,
            "/login/totp",
            &[("app_name", "Work phone"), ("code", &code)],
        )
        .await;
    assert!(is_step(&codes, "/login/continue"), "{}", codes.body);
    assert_eq!(
        codes.body.matches("<li><code>").count(),
        10,
        "ten recovery codes, shown once"
    );
    let redirect = browser
        .submit(&provider.issuer, &codes, "/login/continue", &[])
        .await;
    assert_eq!(
        amr_of(&provider, &client_id, &secret, &redirect).await,
        serde_json::json!(["pwd", "otp"])
    );

    // The temporary password is dead; the log holds no secret in clear.
    let mut other = Browser::new();
    let page = other.get(&url).await;
    let refused = other
        .submit(
            &provider.issuer,
            &page,
            "/login",
            &[("email", &email), ("password", &temporary)],
        )
        .await;
    assert!(
        refused
            .body
            .contains("The email or password is not correct.")
    );
    let export = provider.target.ok(&["events", "export"]);
    assert!(
        !export.contains(&shown)
            && !export.contains(CHOSEN_PASSWORD)
            && !export.contains(&temporary)
    );
    for event in [
        "user.password.changed",
        "user.totp.enrolled",
        "user.recovery_codes.generated",
        "user.signin.succeeded",
    ] {
        assert!(export.contains(event), "{event} not recorded");
    }
}

/// Signs `email` in through the whole first journey in `browser` and logs out.
async fn enrolled(
    provider: &Provider,
    browser: &mut Browser,
    url: &str,
    email: &str,
    temporary: &str,
) {
    let page = browser.get(url).await;
    let redirect = browser
        .sign_in_remembering(&provider.issuer, &page, email, temporary, false)
        .await;
    assert!(
        redirect.redirect_param("code").is_some(),
        "{}",
        redirect.body
    );
    let asked = browser.get(&format!("{}/logout", provider.issuer)).await;
    browser
        .confirm_logout(&provider.issuer, &asked, false)
        .await;
}

#[tokio::test]
async fn a_code_works_once_and_five_wrong_codes_lock_the_step() {
    let provider = Provider::start().await;
    let (email, temporary) = provider.person("edsger@example.org");
    let (url, ..) = authorize_url(&provider).await;
    let mut browser = Browser::new();
    enrolled(&provider, &mut browser, &url, &email, &temporary).await;
    let person = browser.person(&email);

    let page = after_password(&provider, &mut browser, &url, &email).await;
    assert!(is_step(&page, "/login/mfa"));
    assert!(page.body.contains("Enter the code from Test phone"));
    assert!(
        page.body.contains("Remember this device")
            && page.body.contains("public or shared computer")
    );
    // The code used at set-up is refused now: a code is accepted once.
    let secret = person.secret.clone().unwrap();
    let (used, _) = totp_code(&secret, person.last_step.map(|step| step - 1)).await;
    let refused = browser
        .submit(&provider.issuer, &page, "/login/mfa", &[("code", &used)])
        .await;
    assert!(refused.body.contains("already used"), "{}", refused.body);

    for attempt in 2..=5 {
        let refused = browser
            .submit(&provider.issuer, &page, "/login/mfa", &[("code", "999999")])
            .await;
        let expected = if attempt == 5 {
            "locked"
        } else {
            "not correct"
        };
        assert!(
            refused.body.contains(expected),
            "attempt {attempt}: {}",
            refused.body
        );
    }
    let (right, _) = totp_code(&secret, person.last_step).await;
    let still_locked = browser
        .submit(&provider.issuer, &page, "/login/mfa", &[("code", &right)])
        .await;
    assert!(
        still_locked.body.contains("locked"),
        "the right code is refused while locked"
    );
    let export = provider
        .target
        .ok(&["events", "export", "--type", "user.signin.succeeded"]);
    assert_eq!(
        export.lines().count(),
        1,
        "only the first sign-in succeeded"
    );
}

#[tokio::test]
async fn a_trusted_device_skips_the_code_for_its_person_only_until_forgotten() {
    let provider = Provider::start().await;
    let (ada, ada_temporary) = provider.person("ada@example.org");
    let (bob, bob_temporary) = provider.person("bob@example.org");
    let (url, client_id, secret) = authorize_url(&provider).await;
    let mut browser = Browser::new();
    enrolled(&provider, &mut browser, &url, &ada, &ada_temporary).await;

    // A code with "Remember this device" ticked.
    let page = browser.get(&url).await;
    let redirect = browser
        .sign_in_remembering(&provider.issuer, &page, &ada, "", true)
        .await;
    assert_eq!(
        amr_of(&provider, &client_id, &secret, &redirect).await,
        serde_json::json!(["pwd", "otp"])
    );
    let asked = browser.get(&format!("{}/logout", provider.issuer)).await;
    assert!(
        asked.body.contains("checked"),
        "the checkbox is ticked when this browser is trusted"
    );
    browser
        .confirm_logout(&provider.issuer, &asked, false)
        .await;

    // The password alone now: the device stands in for the code.
    let redirect = after_password(&provider, &mut browser, &url, &ada).await;
    assert_eq!(
        amr_of(&provider, &client_id, &secret, &redirect).await,
        serde_json::json!(["pwd", "trusted_device"])
    );
    let export = provider
        .target
        .ok(&["events", "export", "--type", "user.signin.succeeded"]);
    assert!(
        export
            .lines()
            .last()
            .unwrap()
            .contains("\"device_trust_used\":true")
    );

    // Ada's device cookie does nothing for Bob.
    let asked = browser.get(&format!("{}/logout", provider.issuer)).await;
    browser
        .confirm_logout(&provider.issuer, &asked, false)
        .await;
    let page = browser.get(&url).await;
    let bob_page = browser
        .sign_in_remembering(&provider.issuer, &page, &bob, &bob_temporary, false)
        .await;
    assert!(
        bob_page.redirect_param("code").is_some(),
        "Bob enrolls his own app"
    );
    let asked = browser.get(&format!("{}/logout", provider.issuer)).await;
    browser
        .confirm_logout(&provider.issuer, &asked, false)
        .await;
    let bob_again = after_password(&provider, &mut browser, &url, &bob).await;
    assert!(
        is_step(&bob_again, "/login/mfa"),
        "Bob is asked for his code despite Ada's device cookie"
    );

    // Forgetting at logout: the code is asked again.
    let ada_page = after_password(&provider, &mut browser, &url, &ada).await;
    assert!(
        ada_page.redirect_param("code").is_some(),
        "still trusted for Ada"
    );
    let asked = browser.get(&format!("{}/logout", provider.issuer)).await;
    browser.confirm_logout(&provider.issuer, &asked, true).await;
    let again = after_password(&provider, &mut browser, &url, &ada).await;
    assert!(
        is_step(&again, "/login/mfa"),
        "after forgetting, the code is asked again"
    );
    let forgotten = provider
        .target
        .ok(&["events", "export", "--type", "user.device.forgotten"]);
    assert!(forgotten.contains("logout"));
}

#[tokio::test]
async fn a_recovery_code_works_once_in_place_of_a_code() {
    let provider = Provider::start().await;
    let (email, temporary) = provider.person("margaret@example.org");
    let (url, client_id, secret) = authorize_url(&provider).await;
    let mut browser = Browser::new();
    let page = browser.get(&url).await;
    let page = browser
        .submit(
            &provider.issuer,
            &page,
            "/login",
            &[("email", &email), ("password", &temporary)],
        )
        .await;
    let page = browser
        .submit(
            &provider.issuer,
            &page,
            "/login/password",
            &[
                ("new_password", CHOSEN_PASSWORD),
                ("confirm_password", CHOSEN_PASSWORD),
            ],
        )
        .await;
    let (code, _) = totp_code(&page.totp_secret().unwrap(), None).await;
    let codes = browser
        .submit(
            &provider.issuer,
            &page,
            "/login/totp",
            &[("app_name", "Phone"), ("code", &code)],
        )
        .await;
    let first_code = codes
        .body
        .split("<li><code>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    browser
        .submit(&provider.issuer, &codes, "/login/continue", &[])
        .await;
    let asked = browser.get(&format!("{}/logout", provider.issuer)).await;
    browser
        .confirm_logout(&provider.issuer, &asked, false)
        .await;

    for (attempt, expected_ok) in [(1, true), (2, false)] {
        let page = after_password(&provider, &mut browser, &url, &email).await;
        let answer = browser
            .submit(
                &provider.issuer,
                &page,
                "/login/recovery",
                &[("recovery_code", &first_code.to_lowercase())],
            )
            .await;
        if expected_ok {
            // "You used a recovery code" comes before the application.
            assert!(
                answer.body.contains("You used a recovery code"),
                "{}",
                answer.body
            );
            let answer = browser
                .submit(&provider.issuer, &answer, "/login/continue", &[])
                .await;
            assert_eq!(
                amr_of(&provider, &client_id, &secret, &answer).await,
                serde_json::json!(["pwd", "otp"])
            );
            let asked = browser.get(&format!("{}/logout", provider.issuer)).await;
            browser
                .confirm_logout(&provider.issuer, &asked, false)
                .await;
        } else {
            assert!(
                answer.body.contains("not valid or was already used"),
                "attempt {attempt}"
            );
        }
    }
    assert!(
        provider
            .target
            .ok(&["events", "export", "--type", "user.recovery_code.used"])
            .lines()
            .count()
            == 1
    );
}

/// Opens the sign-in form at `url` and submits the chosen password: the page after it.
async fn after_password(
    provider: &Provider,
    browser: &mut Browser,
    url: &str,
    email: &str,
) -> Page {
    let page = browser.get(url).await;
    browser
        .submit(
            &provider.issuer,
            &page,
            "/login",
            &[("email", email), ("password", CHOSEN_PASSWORD)],
        )
        .await
}

async fn log_out(provider: &Provider, browser: &mut Browser) {
    let asked = browser.get(&format!("{}/logout", provider.issuer)).await;
    browser
        .confirm_logout(&provider.issuer, &asked, false)
        .await;
}

#[tokio::test]
async fn an_admin_reset_of_the_authenticator_sends_the_next_sign_in_to_set_up_again() {
    let provider = Provider::start().await;
    let (email, temporary) = provider.person("barbara@example.org");
    let (url, ..) = authorize_url(&provider).await;
    let mut browser = Browser::new();
    enrolled(&provider, &mut browser, &url, &email, &temporary).await;
    // A code with "Remember this device": this browser is now trusted.
    let page = browser.get(&url).await;
    let redirect = browser
        .sign_in_remembering(&provider.issuer, &page, &email, "", true)
        .await;
    assert!(
        redirect.redirect_param("code").is_some(),
        "{}",
        redirect.body
    );
    log_out(&provider, &mut browser).await;
    let old = browser.person(&email);
    assert_eq!(old.recovery_codes.len(), 10);

    // Someone without an app, or no one at all, is a clear error that writes nothing.
    let (never_enrolled, _) = provider.person("grace@example.org");
    let before = provider.target.ok(&["events", "export"]);
    let output = provider
        .target
        .run(&["user", "reset-mfa", &never_enrolled, "--org", "Default"]);
    assert_clear_error(
        &output,
        "grace@example.org has no authenticator app to reset",
    );
    let output = provider.target.run(&[
        "user",
        "reset-mfa",
        "nobody@example.org",
        "--org",
        "Default",
    ]);
    assert_clear_error(&output, "no user nobody@example.org");
    assert_eq!(provider.target.ok(&["events", "export"]), before);

    let text = provider
        .target
        .ok(&["user", "reset-mfa", &email, "--org", "Default"]);
    assert!(
        text.contains("forgot 1 trusted device(s)") && text.contains("sets up"),
        "{text}"
    );
    // A second reset finds nothing to reset.
    let output = provider
        .target
        .run(&["user", "reset-mfa", &email, "--org", "Default", "--json"]);
    assert_clear_error(&output, "has no authenticator app to reset");
    // The server follows the log: a client registered after the reset is served only
    // once it has read past the reset.
    let (url, client_id, secret) = authorize_url(&provider).await;

    // The trusted device's cookie no longer skips anything: set up an app, like a first
    // sign-in, with a fresh secret.
    let setup = after_password(&provider, &mut browser, &url, &email).await;
    assert!(is_step(&setup, "/login/totp"), "{}", setup.body);
    assert!(setup.body.contains("Set up your authenticator app"));
    let fresh = setup.totp_secret().unwrap();
    assert_ne!(Some(&fresh), old.secret.as_ref(), "a fresh secret");
    let (code, _) = totp_code(&fresh, old.last_step).await;
    let codes = browser
        .submit(
            &provider.issuer,
            &setup,
            "/login/totp",
            &[("app_name", "New phone"), ("code", &code)],
        )
        .await;
    let new_codes = codes.recovery_codes();
    assert_eq!(new_codes.len(), 10, "{}", codes.body);
    let redirect = browser
        .submit(&provider.issuer, &codes, "/login/continue", &[])
        .await;
    assert_eq!(
        amr_of(&provider, &client_id, &secret, &redirect).await,
        serde_json::json!(["pwd", "otp"])
    );
    log_out(&provider, &mut browser).await;

    // Next time: the code of the new app is asked (the device was forgotten); the old
    // app's code and an old recovery code are refused.
    let asked = after_password(&provider, &mut browser, &url, &email).await;
    assert!(is_step(&asked, "/login/mfa"), "{}", asked.body);
    assert!(asked.body.contains("Enter the code from New phone"));
    let (old_app_code, _) = totp_code(old.secret.as_ref().unwrap(), None).await;
    let refused = browser
        .submit(
            &provider.issuer,
            &asked,
            "/login/mfa",
            &[("code", &old_app_code)],
        )
        .await;
    assert!(refused.body.contains("not correct"), "{}", refused.body);
    let refused = browser
        .submit(
            &provider.issuer,
            &asked,
            "/login/recovery",
            &[("recovery_code", &old.recovery_codes[1])],
        )
        .await;
    assert!(
        refused.body.contains("not valid or was already used"),
        "{}",
        refused.body
    );

    // The log: one reset by the operator, the device forgotten with it.
    let reset = json_lines(
        &provider
            .target
            .ok(&["events", "export", "--type", "user.totp.reset"]),
    );
    assert_eq!(reset.len(), 1);
    assert_eq!(reset[0]["metadata"]["actor"]["kind"], "cli", "{}", reset[0]);
    let forgotten =
        json_lines(
            &provider
                .target
                .ok(&["events", "export", "--type", "user.device.forgotten"]),
        );
    assert_eq!(forgotten.len(), 1);
    assert_eq!(forgotten[0]["data"]["reason"], "authenticator_reset");
    assert_eq!(
        forgotten[0]["position"],
        reset[0]["position"].as_u64().unwrap() + 1
    );
}

#[tokio::test]
async fn after_a_recovery_code_a_new_set_can_be_generated_before_continuing() {
    let provider = Provider::start().await;
    let (email, temporary) = provider.person("frances@example.org");
    let (url, client_id, secret) = authorize_url(&provider).await;
    let mut browser = Browser::new();
    enrolled(&provider, &mut browser, &url, &email, &temporary).await;
    let old_codes = browser.person(&email).recovery_codes;
    assert_eq!(old_codes.len(), 10);

    let asked = after_password(&provider, &mut browser, &url, &email).await;
    let used = browser
        .submit(
            &provider.issuer,
            &asked,
            "/login/recovery",
            &[("recovery_code", &old_codes[0])],
        )
        .await;
    assert!(
        used.body.contains("You used a recovery code"),
        "{}",
        used.body
    );
    assert!(
        used.body.contains("You have 9 unused recovery codes left."),
        "{}",
        used.body
    );
    assert!(is_step(&used, "/login/recovery/regenerate") && is_step(&used, "/login/continue"));
    assert!(used.body.contains("Generate new recovery codes"));

    let shown = browser
        .submit(&provider.issuer, &used, "/login/recovery/regenerate", &[])
        .await;
    let new_codes = shown.recovery_codes();
    assert_eq!(new_codes.len(), 10, "{}", shown.body);
    assert!(new_codes.iter().all(|code| !old_codes.contains(code)));
    assert!(shown.body.contains("Your recovery codes") && shown.body.contains("no longer work"));
    // Shown once: the same form again is refused and generates nothing.
    let again = browser
        .submit(&provider.issuer, &used, "/login/recovery/regenerate", &[])
        .await;
    assert!(again.body.contains("took too long"), "{}", again.body);
    let redirect = browser
        .submit(&provider.issuer, &shown, "/login/continue", &[])
        .await;
    assert_eq!(
        amr_of(&provider, &client_id, &secret, &redirect).await,
        serde_json::json!(["pwd", "otp"])
    );
    log_out(&provider, &mut browser).await;

    // An old code that was never used is dead; a new one works, and "Continue" goes on
    // to the application.
    let asked = after_password(&provider, &mut browser, &url, &email).await;
    let refused = browser
        .submit(
            &provider.issuer,
            &asked,
            "/login/recovery",
            &[("recovery_code", &old_codes[1])],
        )
        .await;
    assert!(
        refused.body.contains("not valid or was already used"),
        "{}",
        refused.body
    );
    let used = browser
        .submit(
            &provider.issuer,
            &refused,
            "/login/recovery",
            &[("recovery_code", &new_codes[3])],
        )
        .await;
    assert!(
        used.body.contains("You have 9 unused recovery codes left."),
        "{}",
        used.body
    );
    let redirect = browser
        .submit(&provider.issuer, &used, "/login/continue", &[])
        .await;
    assert!(
        redirect
            .location
            .as_deref()
            .is_some_and(|location| location.starts_with(REDIRECT_URI)),
        "{:?} {}",
        redirect.location,
        redirect.body
    );
    assert_eq!(redirect.redirect_param("state").as_deref(), Some("st"));
    assert_eq!(
        amr_of(&provider, &client_id, &secret, &redirect).await,
        serde_json::json!(["pwd", "otp"])
    );

    // The log: the set-up's codes and one new set; both sign-ins with a recovery code say
    // so.
    let count = |event_type: &str| {
        provider
            .target
            .ok(&["events", "export", "--type", event_type])
            .lines()
            .count()
    };
    assert_eq!(count("user.recovery_codes.generated"), 2);
    assert_eq!(count("user.recovery_code.used"), 2);
    let sign_ins =
        json_lines(
            &provider
                .target
                .ok(&["events", "export", "--type", "user.signin.succeeded"]),
        );
    let factors: Vec<&str> = sign_ins
        .iter()
        .map(|event| event["data"]["second_factor"].as_str().unwrap())
        .collect();
    assert_eq!(factors, ["totp", "recovery_code", "recovery_code"]);
}

#[tokio::test]
async fn forged_and_replayed_forms_are_refused_and_change_nothing() {
    let provider = Provider::start().await;
    let (email, temporary) = provider.person("alan@example.org");
    let (url, ..) = authorize_url(&provider).await;
    let mut browser = Browser::new();
    let page = browser.get(&url).await;
    let before = provider.target.ok(&["events", "export"]);
    let tx = page.field("tx").unwrap();

    let forged = browser
        .post(
            &format!("{}/login", provider.issuer),
            &[
                ("tx", &tx),
                ("csrf", "forged"),
                ("email", &email),
                ("password", &temporary),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    let mut stranger = Browser::new();
    let csrf = page.field("csrf").unwrap();
    let no_cookie = stranger
        .post(
            &format!("{}/login", provider.issuer),
            &[
                ("tx", &tx),
                ("csrf", &csrf),
                ("email", &email),
                ("password", &temporary),
            ],
        )
        .await;
    assert_eq!(
        no_cookie.status, 403,
        "the transaction is bound to the browser's cookie"
    );
    let unknown = browser
        .post(
            &format!("{}/login", provider.issuer),
            &[
                ("tx", "nope"),
                ("csrf", &csrf),
                ("email", &email),
                ("password", &temporary),
            ],
        )
        .await;
    assert!(unknown.body.contains("took too long"));
    let huge = "x".repeat(70 * 1024);
    let too_big = browser
        .post(
            &format!("{}/login", provider.issuer),
            &[("tx", &tx), ("csrf", &csrf), ("email", &huge)],
        )
        .await;
    assert_eq!(too_big.status, 413);
    let skipped = browser
        .submit(
            &provider.issuer,
            &page,
            "/login/totp",
            &[("app_name", "x"), ("code", "123456")],
        )
        .await;
    assert!(
        skipped.body.contains("took too long"),
        "a step cannot be skipped"
    );
    assert_eq!(
        provider.target.ok(&["events", "export"]),
        before,
        "nothing was written"
    );
}

#[tokio::test]
async fn ten_wrong_passwords_lock_the_address_for_known_and_unknown_alike() {
    // The progressive delay (a pure function, unit-tested in verity-oidc) is turned off
    // here so the test counts failures without waiting for them.
    let target = crate::support::Target::sqlite();
    let provider = Provider::start_with(
        target,
        &[("VERITY__PASSWORDS__DELAY_AFTER_FAILURES", "1000")],
    )
    .await;
    let (email, temporary) = provider.person("tim@example.org");
    let (url, ..) = authorize_url(&provider).await;
    let mut browser = Browser::new();
    for address in [email.as_str(), "nobody@example.org"] {
        let page = browser.get(&url).await;
        let mut last = String::new();
        for _ in 0..10 {
            let answer = browser
                .submit(
                    &provider.issuer,
                    &page,
                    "/login",
                    &[("email", address), ("password", "wrong password")],
                )
                .await;
            last = answer.body;
        }
        assert!(
            last.contains("Too many failed sign-ins"),
            "{address}: {last}"
        );
        if address == email {
            let locked = browser
                .submit(
                    &provider.issuer,
                    &page,
                    "/login",
                    &[("email", address), ("password", &temporary)],
                )
                .await;
            assert!(
                locked.body.contains("Too many failed sign-ins"),
                "the right password is refused while locked"
            );
        }
    }
}

/// Asserts that `page` is the refusal for a locked client address: 429, `Retry-After` in
/// whole seconds within the lock (15 minutes), the message on the page.
fn assert_refused_for_the_network(page: &Page, what: &str) {
    assert_eq!(page.status, 429, "{what}: {}", page.body);
    let seconds: u64 = page
        .retry_after
        .as_deref()
        .unwrap_or_else(|| panic!("{what}: no Retry-After"))
        .parse()
        .unwrap();
    assert!(
        (1..=900).contains(&seconds),
        "{what}: Retry-After {seconds}"
    );
    assert!(
        page.body
            .contains("Too many failed sign-ins from your network."),
        "{what}: {}",
        page.body
    );
}

/// Fails one sign-in per address in `addresses` from `browser` (each a wrong password for
/// a different address, so no per-account limit is reached): the last answer.
async fn fail_sign_ins(
    provider: &Provider,
    browser: &mut Browser,
    url: &str,
    addresses: &[&str],
) -> Page {
    let mut last = None;
    for address in addresses {
        let page = browser.get(url).await;
        let answer = browser
            .submit(
                &provider.issuer,
                &page,
                "/login",
                &[("email", address), ("password", "wrong password")],
            )
            .await;
        last = Some(answer);
    }
    last.unwrap()
}

#[tokio::test]
async fn failed_sign_ins_from_one_address_lock_it_for_every_account() {
    let target = crate::support::Target::sqlite();
    let provider = Provider::start_with(target, &[("VERITY__SIGN_IN__IP_MAX_FAILURES", "3")]).await;
    let (email, temporary) = provider.person("ada@example.org");
    let (victim, _) = provider.person("charles@example.org");
    let (url, ..) = authorize_url(&provider).await;
    let mut attacker = Browser::new();

    // Three failures across different addresses (a known one with a wrong password and
    // unknown ones) from 127.0.0.1: the third locks the address.
    let first = fail_sign_ins(&provider, &mut attacker, &url, &[&victim]).await;
    assert_eq!(first.status, 200);
    assert!(first.body.contains("The email or password is not correct."));
    let failed = provider
        .target
        .ok(&["events", "export", "--type", "user.signin.failed"]);
    let failed = json_lines(&failed);
    assert_eq!(
        failed[0]["metadata"]["client_ip"], "127.0.0.1",
        "the peer is recorded: {}",
        failed[0]
    );
    let third = fail_sign_ins(
        &provider,
        &mut attacker,
        &url,
        &["nobody@example.org", "no-one@example.org"],
    )
    .await;
    assert_refused_for_the_network(&third, "the failure that locks");

    // Now even another person's right password is refused, unchecked and unrecorded, and
    // a made-up X-Forwarded-For from this untrusted peer changes nothing.
    let before = provider.target.ok(&["events", "export"]);
    let mut colleague = Browser::new();
    let page = colleague.get(&url).await;
    let refused = colleague
        .submit(
            &provider.issuer,
            &page,
            "/login",
            &[("email", &email), ("password", &temporary)],
        )
        .await;
    assert_refused_for_the_network(&refused, "a right password");
    let mut spoofer = Browser::forwarded_for("198.51.100.77");
    let page = spoofer.get(&url).await;
    let refused = spoofer
        .submit(
            &provider.issuer,
            &page,
            "/login",
            &[("email", &email), ("password", &temporary)],
        )
        .await;
    assert_refused_for_the_network(&refused, "a spoofed X-Forwarded-For");
    assert_eq!(
        provider.target.ok(&["events", "export"]),
        before,
        "nothing was written for the refused attempts"
    );
}

#[tokio::test]
async fn wrong_codes_count_against_the_address_too() {
    let target = crate::support::Target::sqlite();
    let provider = Provider::start_with(target, &[("VERITY__SIGN_IN__IP_MAX_FAILURES", "3")]).await;
    let (email, temporary) = provider.person("barbara@example.org");
    let (url, ..) = authorize_url(&provider).await;
    let mut browser = Browser::new();
    enrolled(&provider, &mut browser, &url, &email, &temporary).await;

    let page = after_password(&provider, &mut browser, &url, &email).await;
    assert!(is_step(&page, "/login/mfa"), "{}", page.body);
    for attempt in 1..=3 {
        let answer = browser
            .submit(&provider.issuer, &page, "/login/mfa", &[("code", "999999")])
            .await;
        if attempt < 3 {
            assert!(answer.body.contains("not correct"), "{}", answer.body);
        } else {
            // Three wrong codes: the address is locked before the person's own limit (5).
            assert_refused_for_the_network(&answer, "the third wrong code");
        }
    }
    let person = browser.person(&email);
    let (right, _) = totp_code(&person.secret.unwrap(), person.last_step).await;
    let refused = browser
        .submit(&provider.issuer, &page, "/login/mfa", &[("code", &right)])
        .await;
    assert_refused_for_the_network(&refused, "the right code");
}

#[tokio::test]
async fn behind_a_trusted_proxy_failures_count_per_forwarded_address() {
    let target = crate::support::Target::sqlite();
    let provider = Provider::start_with(
        target,
        &[
            ("VERITY__SIGN_IN__IP_MAX_FAILURES", "3"),
            ("VERITY__SERVER__TRUSTED_PROXIES", r#"["127.0.0.1"]"#),
        ],
    )
    .await;
    let (email, temporary) = provider.person("hedy@example.org");
    let (url, ..) = authorize_url(&provider).await;

    // The client's own (made-up) entry comes first; the proxy appended the real one.
    let mut attacker = Browser::forwarded_for("10.9.9.9, 198.51.100.7");
    let locked = fail_sign_ins(
        &provider,
        &mut attacker,
        &url,
        &["a@example.org", "b@example.org", "c@example.org"],
    )
    .await;
    assert_refused_for_the_network(&locked, "198.51.100.7 after three failures");
    let page = attacker.get(&url).await;
    let refused = attacker
        .submit(
            &provider.issuer,
            &page,
            "/login",
            &[("email", &email), ("password", &temporary)],
        )
        .await;
    assert_refused_for_the_network(&refused, "198.51.100.7 with a right password");

    // Another forwarded address, through the same proxy, signs in.
    let mut person = Browser::forwarded_for("203.0.113.9");
    let page = person.get(&url).await;
    let redirect = person
        .sign_in_remembering(&provider.issuer, &page, &email, &temporary, false)
        .await;
    assert!(
        redirect.redirect_param("code").is_some(),
        "{}",
        redirect.body
    );
    let succeeded =
        json_lines(
            &provider
                .target
                .ok(&["events", "export", "--type", "user.signin.succeeded"]),
        );
    assert_eq!(succeeded.len(), 1);
    assert_eq!(
        succeeded[0]["metadata"]["client_ip"], "203.0.113.9",
        "{}",
        succeeded[0]
    );
    let failed =
        json_lines(
            &provider
                .target
                .ok(&["events", "export", "--type", "user.signin.failed"]),
        );
    assert!(
        failed
            .iter()
            .all(|event| event["metadata"]["client_ip"] == "198.51.100.7"),
        "{failed:?}"
    );
}

/// The sign-in benchmark (`bench/signin/run.sh`: `verity bench people`, then the load
/// generator `verity-bench signin`) signs people in through these same pages: its people
/// are enrolled as the journey leaves them, and every sign-in it counts is one the log
/// records with a code. Keeps the benchmark honest when the pages change.
#[tokio::test]
async fn the_sign_in_benchmark_walks_the_journey_it_measures() {
    let provider = Provider::start().await;
    let people = provider.target.dir.path().join("people.jsonl");
    let people_arg = people.to_str().unwrap();
    let seeded = json_lines(&provider.target.ok(&[
        "bench", "people", "--org", "Default", "--users", "200", "--out", people_arg,
    ]));
    assert_eq!(seeded[0]["people"], 200);
    let people = verity_bench::people::read(&people).unwrap();
    assert_eq!(people.len(), 200);
    // Registered after the people: once the server serves the client, it knows them too.
    let client = provider.client(&[]).await;
    let target = verity_bench::signin::Target {
        issuer: provider.issuer.clone(),
        client_id: client.client_id.clone(),
        redirect_uri: REDIRECT_URI.into(),
    };
    let run = verity_bench::load::Run {
        concurrency: 2,
        warmup: std::time::Duration::ZERO,
        measure: std::time::Duration::from_secs(1),
    };
    let run = verity_bench::signin::run(target, people, run)
        .await
        .unwrap();
    let counted = run["sign_ins_with_warmup"].as_u64().unwrap();
    assert!(counted >= 1, "{run:?}");
    let succeeded =
        json_lines(
            &provider
                .target
                .ok(&["events", "export", "--type", "user.signin.succeeded"]),
        );
    assert_eq!(succeeded.len() as u64, counted, "one event per sign-in");
    assert!(
        succeeded
            .iter()
            .all(|event| event["data"]["second_factor"] == "totp"),
        "{succeeded:?}"
    );
}

/// Ten sign-ins with recovery codes use the whole set: the page counts down, and at none
/// left it says so and puts "Generate new recovery codes" first — "Continue" still works.
#[tokio::test]
async fn the_last_recovery_code_makes_generating_the_first_action() {
    let provider = Provider::start().await;
    let (email, temporary) = provider.person("mary@example.org");
    let (url, ..) = authorize_url(&provider).await;
    let mut browser = Browser::new();
    enrolled(&provider, &mut browser, &url, &email, &temporary).await;
    let codes = browser.person(&email).recovery_codes;
    assert_eq!(codes.len(), 10);
    for (used, code) in codes.iter().enumerate() {
        let asked = after_password(&provider, &mut browser, &url, &email).await;
        let page = browser
            .submit(
                &provider.issuer,
                &asked,
                "/login/recovery",
                &[("recovery_code", code)],
            )
            .await;
        let generate = page.body.find("action=\"/login/recovery/regenerate\"");
        let continue_at = page.body.find("action=\"/login/continue\"");
        match 9 - used {
            0 => {
                assert!(
                    page.body
                        .contains("You have no unused recovery codes left."),
                    "{}",
                    page.body
                );
                assert!(generate.unwrap() < continue_at.unwrap(), "generate first");
            }
            1 => {
                assert!(page.body.contains("You have 1 unused recovery code left."));
                assert!(continue_at.unwrap() < generate.unwrap(), "continue first");
            }
            left => {
                let text = format!("You have {left} unused recovery codes left.");
                assert!(page.body.contains(&text), "{}", page.body);
                assert!(continue_at.unwrap() < generate.unwrap(), "continue first");
            }
        }
        let redirect = browser
            .submit(&provider.issuer, &page, "/login/continue", &[])
            .await;
        assert!(
            redirect.redirect_param("code").is_some(),
            "sign-in {used}: {}",
            redirect.body
        );
        log_out(&provider, &mut browser).await;
    }
}

/// An admin lifts both locks before they end: `verity user unlock` records who did it
/// (`user.unlocked`, the operator as actor), and the right password and then the right
/// code work at once. With nothing locked it says so and writes nothing.
#[tokio::test]
async fn an_admin_unlocks_a_locked_password_and_a_locked_code_step() {
    let target = crate::support::Target::sqlite();
    let provider = Provider::start_with(
        target,
        &[("VERITY__PASSWORDS__DELAY_AFTER_FAILURES", "1000")],
    )
    .await;
    let (email, temporary) = provider.person("joan@example.org");
    let (url, ..) = authorize_url(&provider).await;
    let mut browser = Browser::new();
    enrolled(&provider, &mut browser, &url, &email, &temporary).await;
    let unlock = [
        "user",
        "unlock",
        email.as_str(),
        "--org",
        "Default",
        "--json",
    ];
    let nothing = json_lines(&provider.target.ok(&unlock));
    assert_eq!(nothing[0]["unlocked"], false);

    let page = browser.get(&url).await;
    for _ in 0..10 {
        browser
            .submit(
                &provider.issuer,
                &page,
                "/login",
                &[("email", &email), ("password", "wrong password")],
            )
            .await;
    }
    let locked = after_password(&provider, &mut browser, &url, &email).await;
    assert!(
        locked.body.contains("Too many failed sign-ins"),
        "{}",
        locked.body
    );
    let lifted = json_lines(&provider.target.ok(&unlock));
    assert_eq!(lifted[0]["unlocked"], true);
    assert!(lifted[0]["password_locked_until"].is_string(), "{lifted:?}");

    let asked = after_password(&provider, &mut browser, &url, &email).await;
    assert!(is_step(&asked, "/login/mfa"), "{}", asked.body);
    for _ in 0..5 {
        browser
            .submit(
                &provider.issuer,
                &asked,
                "/login/mfa",
                &[("code", "999999")],
            )
            .await;
    }
    let person = browser.person(&email);
    let secret = person.secret.clone().unwrap();
    let (right, step) = totp_code(&secret, person.last_step).await;
    let refused = browser
        .submit(&provider.issuer, &asked, "/login/mfa", &[("code", &right)])
        .await;
    assert!(refused.body.contains("locked"), "{}", refused.body);
    let lifted = json_lines(&provider.target.ok(&unlock));
    assert!(lifted[0]["code_locked_until"].is_string(), "{lifted:?}");
    let (right, _) = totp_code(&secret, Some(step)).await;
    let redirect = browser
        .submit(&provider.issuer, &asked, "/login/mfa", &[("code", &right)])
        .await;
    assert!(
        redirect.redirect_param("code").is_some(),
        "{}",
        redirect.body
    );

    let unlocked =
        json_lines(
            &provider
                .target
                .ok(&["events", "export", "--type", "user.unlocked"]),
        );
    assert_eq!(
        unlocked.len(),
        2,
        "one event per unlock that lifted something"
    );
    assert!(
        unlocked
            .iter()
            .all(|event| event["metadata"]["actor"]["kind"] == "cli"),
        "the operator is the actor: {unlocked:?}"
    );
}

/// An admin lifts a network's lock before it ends: `verity network unlock` records
/// `network.unlocked` on the network's stream and sign-ins from it are checked again.
#[tokio::test]
async fn an_admin_unlocks_a_locked_network() {
    let target = crate::support::Target::sqlite();
    let provider = Provider::start_with(target, &[("VERITY__SIGN_IN__IP_MAX_FAILURES", "3")]).await;
    let (email, temporary) = provider.person("hedy@example.org");
    let (url, ..) = authorize_url(&provider).await;
    let mut browser = Browser::new();
    let unlock = ["network", "unlock", "127.0.0.1", "--json"];
    assert_eq!(
        json_lines(&provider.target.ok(&unlock))[0]["unlocked"],
        false
    );
    let addresses = ["a@example.org", "b@example.org", "c@example.org"];
    let locked = fail_sign_ins(&provider, &mut browser, &url, &addresses).await;
    assert_refused_for_the_network(&locked, "the third failure");

    let lifted = json_lines(&provider.target.ok(&unlock));
    assert_eq!(lifted[0]["unlocked"], true, "{lifted:?}");
    assert_eq!(lifted[0]["network"], "127.0.0.1");
    assert!(lifted[0]["locked_until"].is_string(), "{lifted:?}");
    let page = browser.get(&url).await;
    let answer = browser
        .submit(
            &provider.issuer,
            &page,
            "/login",
            &[("email", &email), ("password", &temporary)],
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(is_step(&answer, "/login/password"), "{}", answer.body);
    let recorded =
        json_lines(
            &provider
                .target
                .ok(&["events", "export", "--type", "network.unlocked"]),
        );
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0]["stream"], "network-127.0.0.1");
    assert_eq!(recorded[0]["metadata"]["actor"]["kind"], "cli");
    assert!(
        provider
            .target
            .run(&["network", "unlock", "not-an-address"])
            .status
            .code()
            == Some(2),
        "a bad address is a usage error"
    );
}

/// The value of one sample in a Prometheus exposition (`name{labels}`), 0 when absent.
fn sample(exposition: &str, series: &str) -> f64 {
    exposition
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |value| value.trim().parse().unwrap())
}

async fn scrape(provider: &Provider) -> (u16, String) {
    let response = crate::provider::http_client()
        .get(format!("{}/metrics", provider.issuer))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn metrics_count_sign_ins_refusals_and_locks_by_route_and_reason() {
    let provider = Provider::start_with(
        crate::support::Target::sqlite(),
        &[("VERITY__MFA__MAX_FAILURES", "2")],
    )
    .await;
    let (email, temporary) = provider.person("grace@example.org");
    let (url, client_id, _) = authorize_url(&provider).await;
    let mut browser = Browser::new();
    // The first sign-in ends with the code that sets up the app.
    enrolled(&provider, &mut browser, &url, &email, &temporary).await;
    fail_sign_ins(&provider, &mut browser, &url, &["nobody@example.org"]).await;
    let page = after_password(&provider, &mut browser, &url, &email).await;
    for _ in 0..2 {
        browser
            .submit(&provider.issuer, &page, "/login/mfa", &[("code", "999999")])
            .await;
    }

    let (status, text) = scrape(&provider).await;
    assert_eq!(status, 200);
    let expected = [
        (r#"verity_sign_ins_total{second_factor="totp"}"#, 1.0),
        (
            r#"verity_sign_in_failures_total{reason="unknown_email"}"#,
            1.0,
        ),
        (
            r#"verity_second_factor_failures_total{reason="wrong_code"}"#,
            2.0,
        ),
        (r#"verity_lockouts_total{limit="second_factor"}"#, 1.0),
        (r#"verity_lockouts_total{limit="password"}"#, 0.0),
        // The set-up code went to /login/totp; the two wrong ones here.
        (
            r#"verity_http_requests_total{method="POST",route="/login/mfa",status="200"}"#,
            2.0,
        ),
    ];
    for (series, value) in expected {
        assert_eq!(sample(&text, series), value, "{series} in\n{text}");
    }
    // Every authorization request is one series, whatever its query string said.
    assert!(
        sample(
            &text,
            r#"verity_http_requests_total{method="GET",route="/authorize",status="200"}"#
        ) >= 3.0,
        "{text}"
    );
    assert!(!text.contains(&client_id), "no query string in a label");
    assert!(!text.contains("grace"), "no personal data");
    assert!(sample(&text, "verity_projection_position") > 0.0);
    assert!(text.ends_with("# EOF\n"));

    let quiet = Provider::start_with(
        crate::support::Target::sqlite(),
        &[("VERITY__SERVER__METRICS", "false")],
    )
    .await;
    assert_eq!(scrape(&quiet).await.0, 404, "turned off");
}

/// The values of a hidden field on a page, in order.
fn hidden_values(page: &Page, name: &str) -> Vec<String> {
    let marker = format!("name=\"{name}\" value=\"");
    page.body
        .match_indices(&marker)
        .map(|(at, _)| {
            let rest = &page.body[at + marker.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}

fn forgotten_events(provider: &Provider) -> Vec<serde_json::Value> {
    json_lines(
        &provider
            .target
            .ok(&["events", "export", "--type", "user.device.forgotten"]),
    )
}

#[tokio::test]
async fn a_person_forgets_a_trusted_device_on_verity_s_own_page() {
    let provider = Provider::start().await;
    let (ada, temporary) = provider.person("ada@example.org");
    let (url, ..) = authorize_url(&provider).await;
    let home = format!("{}/", provider.issuer);
    let mut phone = Browser::new();
    enrolled(&provider, &mut phone, &url, &ada, &temporary).await;
    let page = phone.get(&url).await;
    phone
        .sign_in_remembering(&provider.issuer, &page, &ada, "", true)
        .await;
    let mut laptop = Browser::new();
    laptop.knows(&ada, phone.person(&ada));
    let page = laptop.get(&url).await;
    laptop
        .sign_in_remembering(&provider.issuer, &page, &ada, "", true)
        .await;
    phone.knows(&ada, laptop.person(&ada));

    let page = phone.get(&home).await;
    assert!(page.body.contains("Trusted devices"), "{}", page.body);
    let devices = hidden_values(&page, "device");
    assert_eq!(devices.len(), 2, "{}", page.body);
    assert_eq!(page.body.matches("(This device)").count(), 1);
    let csrf = hidden_values(&page, "csrf")[0].clone();
    // The phone's own device is the one in the item marked "This device".
    let marked = page
        .body
        .split("<li>")
        .find(|item| item.contains("(This device)"))
        .unwrap();
    let phone_device = devices
        .iter()
        .find(|id| marked.contains(id.as_str()))
        .unwrap()
        .clone();
    let laptop_device = devices
        .iter()
        .find(|id| **id != phone_device)
        .unwrap()
        .clone();

    // Without the page's token, or with another session's, nothing is forgotten.
    let laptop_csrf = hidden_values(&laptop.get(&home).await, "csrf")[0].clone();
    assert_ne!(laptop_csrf, csrf, "bound to the session");
    for token in ["", laptop_csrf.as_str()] {
        let refused = phone
            .post(
                &format!("{}/devices/forget", provider.issuer),
                &[("csrf", token), ("device", &laptop_device)],
            )
            .await;
        assert_eq!(refused.status, 403, "{}", refused.body);
    }
    let mut stranger = Browser::new();
    let refused = stranger
        .post(
            &format!("{}/devices/forget", provider.issuer),
            &[("csrf", &csrf), ("device", &laptop_device)],
        )
        .await;
    assert_eq!(refused.status, 403, "not signed in");
    assert!(forgotten_events(&provider).is_empty());

    // The phone forgets the laptop: recorded with ada as the actor.
    let forgot = phone
        .post(
            &format!("{}/devices/forget", provider.issuer),
            &[("csrf", &csrf), ("device", &laptop_device)],
        )
        .await;
    assert_eq!(forgot.status, 303);
    let events = forgotten_events(&provider);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["data"]["device_id_hash"], laptop_device.as_str());
    assert_eq!(events[0]["data"]["reason"], "revoked");
    assert_eq!(
        events[0]["metadata"]["actor"]["kind"], "user",
        "{}",
        events[0]
    );
    let page = phone.get(&home).await;
    assert_eq!(hidden_values(&page, "device"), vec![phone_device.clone()]);

    // The laptop is asked for a code again.
    log_out(&provider, &mut laptop).await;
    let asked = after_password(&provider, &mut laptop, &url, &ada).await;
    assert!(is_step(&asked, "/login/mfa"), "{}", asked.body);

    // The phone forgets itself: its device cookie goes too.
    assert!(phone.has_cookie("verity_device"));
    let forgot = phone
        .post(
            &format!("{}/devices/forget", provider.issuer),
            &[("csrf", &csrf), ("device", &phone_device)],
        )
        .await;
    assert_eq!(forgot.status, 303);
    assert!(
        !phone.has_cookie("verity_device"),
        "the device cookie is cleared"
    );
    let page = phone.get(&home).await;
    assert!(page.body.contains("No device is trusted"), "{}", page.body);
    assert_eq!(forgotten_events(&provider).len(), 2);
}

#[tokio::test]
async fn a_person_changes_their_password_on_verity_s_own_page() {
    let provider = Provider::start().await;
    let (ada, temporary) = provider.person("ada@example.org");
    let (url, ..) = authorize_url(&provider).await;
    let home = format!("{}/", provider.issuer);
    let change = format!("{}/password", provider.issuer);
    let mut browser = Browser::new();
    enrolled(&provider, &mut browser, &url, &ada, &temporary).await;
    let page = browser.get(&url).await;
    browser
        .sign_in_remembering(&provider.issuer, &page, &ada, "", false)
        .await;
    let changes = |provider: &Provider| {
        json_lines(
            &provider
                .target
                .ok(&["events", "export", "--type", "user.password.changed"]),
        )
    };
    assert_eq!(changes(&provider).len(), 1, "the first sign-in's");

    let page = browser.get(&home).await;
    assert!(page.body.contains("Change password"), "{}", page.body);
    let csrf = hidden_values(&page, "csrf")[0].clone();
    const NEW: &str = "Quiet-Meadow-Lantern-5820-Harbor";
    let attempts: [(&str, &str, &str, u16, &str); 4] = [
        ("", "wrong password", NEW, 403, "form could not be verified"),
        (
            &csrf,
            "wrong password",
            NEW,
            200,
            "The current password is not correct.",
        ),
        (
            &csrf,
            CHOSEN_PASSWORD,
            "password1234",
            200,
            "common and leaked passwords",
        ),
        (
            &csrf,
            CHOSEN_PASSWORD,
            CHOSEN_PASSWORD,
            200,
            "is your current password",
        ),
    ];
    for (token, current, new, status, expected) in attempts {
        let refused = browser
            .post(
                &change,
                &[
                    ("csrf", token),
                    ("current_password", current),
                    ("new_password", new),
                    ("confirm_password", new),
                ],
            )
            .await;
        assert_eq!(refused.status, status, "{expected}: {}", refused.body);
        assert!(
            crate::provider::unescape_html(&refused.body).contains(expected),
            "{expected}: {}",
            refused.body
        );
    }
    assert_eq!(
        changes(&provider).len(),
        1,
        "nothing recorded for the refusals"
    );

    let changed = browser
        .post(
            &change,
            &[
                ("csrf", &csrf),
                ("current_password", CHOSEN_PASSWORD),
                ("new_password", NEW),
                ("confirm_password", NEW),
            ],
        )
        .await;
    assert_eq!(changed.status, 303);
    let location = changed.location.unwrap();
    assert_eq!(location, "/?changed=password");
    let page = browser.get(&format!("{}{location}", provider.issuer)).await;
    assert!(
        page.body.contains("Your password is changed"),
        "{}",
        page.body
    );
    let recorded = changes(&provider);
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[1]["metadata"]["actor"]["kind"], "user");
    assert!(
        !recorded[1]["data"].to_string().contains(NEW),
        "only the hash"
    );

    // The old password is dead, the new one leads to the code.
    log_out(&provider, &mut browser).await;
    let old = after_password(&provider, &mut browser, &url, &ada).await;
    assert!(old.body.contains("The email or password is not correct."));
    let page = browser.get(&url).await;
    let new = browser
        .submit(
            &provider.issuer,
            &page,
            "/login",
            &[("email", &ada), ("password", NEW)],
        )
        .await;
    assert!(is_step(&new, "/login/mfa"), "{}", new.body);
}

#[tokio::test]
async fn a_person_generates_new_recovery_codes_on_verity_s_own_page_with_a_code() {
    let provider = Provider::start().await;
    let (ada, temporary) = provider.person("ada@example.org");
    let (url, ..) = authorize_url(&provider).await;
    let home = format!("{}/", provider.issuer);
    let generate = format!("{}/recovery-codes", provider.issuer);
    let mut browser = Browser::new();
    enrolled(&provider, &mut browser, &url, &ada, &temporary).await;
    let page = browser.get(&url).await;
    browser
        .sign_in_remembering(&provider.issuer, &page, &ada, "", false)
        .await;
    let generated = |provider: &Provider| {
        json_lines(&provider.target.ok(&[
            "events",
            "export",
            "--type",
            "user.recovery_codes.generated",
        ]))
        .len()
    };
    assert_eq!(generated(&provider), 1, "the set of the first sign-in");
    let old_codes = browser.person(&ada).recovery_codes;
    assert_eq!(old_codes.len(), 10);

    let page = browser.get(&home).await;
    assert!(
        page.body
            .contains("You have 10 unused recovery codes left."),
        "{}",
        page.body
    );
    assert!(page.body.contains("enter the current code from Test phone"));
    let csrf = hidden_values(&page, "csrf")[0].clone();
    let missing = browser.post(&generate, &[("code", "999999")]).await;
    assert_eq!(missing.status, 403);
    let wrong = browser
        .post(&generate, &[("csrf", &csrf), ("code", "999999")])
        .await;
    assert_eq!(wrong.status, 200);
    assert!(
        wrong.body.contains("That code is not correct."),
        "{}",
        wrong.body
    );
    assert_eq!(generated(&provider), 1, "nothing recorded for the refusals");

    let mut person = browser.person(&ada);
    let (code, step) = totp_code(person.secret.as_deref().unwrap(), person.last_step).await;
    person.last_step = Some(step);
    browser.knows(&ada, person);
    let shown = browser
        .post(&generate, &[("csrf", &csrf), ("code", &code)])
        .await;
    assert_eq!(shown.status, 200);
    let new_codes = shown.recovery_codes();
    assert_eq!(new_codes.len(), 10, "{}", shown.body);
    assert!(
        shown
            .body
            .contains("Your previous recovery codes no longer work.")
    );
    assert!(shown.body.contains("Back to your account"));
    assert_eq!(generated(&provider), 2);
    // The same code again: refused, nothing new (the codes were shown once).
    let again = browser
        .post(&generate, &[("csrf", &csrf), ("code", &code)])
        .await;
    assert!(again.body.contains("already used"), "{}", again.body);
    assert_eq!(generated(&provider), 2);

    // At sign-in an old code is dead and a new one works.
    log_out(&provider, &mut browser).await;
    let mfa = after_password(&provider, &mut browser, &url, &ada).await;
    assert!(is_step(&mfa, "/login/mfa"), "{}", mfa.body);
    let refused = browser
        .submit(
            &provider.issuer,
            &mfa,
            "/login/recovery",
            &[("recovery_code", &old_codes[0])],
        )
        .await;
    assert!(
        refused
            .body
            .contains("That recovery code is not valid or was already used."),
        "{}",
        refused.body
    );
    let accepted = browser
        .submit(
            &provider.issuer,
            &mfa,
            "/login/recovery",
            &[("recovery_code", &new_codes[0])],
        )
        .await;
    assert!(
        accepted.body.contains("You used a recovery code"),
        "{}",
        accepted.body
    );
}
