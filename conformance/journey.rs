//! The sign-in journey over HTTP against the real binary, rule by rule: the pages a
//! person walks through, what they refuse, and what the tokens and the log say
//! afterwards. The steps are the test kit's typed ones, the same the in-process tests of
//! verity-http use; the same journey in a real browser is in
//! `crates/verity/tests/it/browser.rs`.

use serde_json::{Value, json};
use verity_testkit::oauth::claims;
use verity_testkit::steps::{CHOSEN_PASSWORD, refused_passwords};
use verity_testkit::totp::Authenticator;
use verity_testkit::{Device, Page, Person, Step};

use crate::provider::{Browser, Provider, REDIRECT_URI, RegisteredClient, VERIFIER};
use crate::support::{Target, assert_clear_error, json_lines};

/// A confidential client that may ask for profile and email (its requests carry PKCE,
/// as every client's must).
async fn client(provider: &Provider) -> RegisteredClient {
    provider
        .client(&["--scope", "profile", "--scope", "email"])
        .await
}

/// Its authorization request: scope `openid email`, state `st`.
fn request(client: &RegisteredClient) -> String {
    client
        .authorization()
        .with("scope", "openid email")
        .with("state", "st")
        .query()
}

/// Exchanges the code of `redirect` and returns the ID token's `amr`.
async fn amr_of(browser: &Browser, client: &RegisteredClient, redirect: &Page) -> Value {
    let code = redirect.code().expect("back at the client with a code");
    let tokens = browser
        .exchange(&client.basic(), &code, REDIRECT_URI, Some(VERIFIER))
        .await
        .json();
    claims(tokens["id_token"].as_str().expect("an ID token"))["amr"].clone()
}

/// Signs `person` in through the whole first journey in `browser` and logs out.
async fn enrolled(browser: &mut Browser, client: &RegisteredClient, person: &mut Person) {
    let redirect = browser
        .code_flow(&request(client), person, Device::Forget)
        .await;
    assert!(redirect.code().is_some(), "{}", redirect.body);
    browser.log_out().await;
}

/// Opens the sign-in form and submits the person's password: the page after it.
async fn after_password(browser: &mut Browser, client: &RegisteredClient, person: &Person) -> Page {
    browser
        .authorize_and_sign_in(&request(client), person)
        .await
}

#[tokio::test]
async fn the_first_sign_in_walks_from_the_temporary_password_to_the_authenticator() {
    let provider = Provider::start().await;
    let grace = provider.person("grace@example.org").await;
    let client = client(&provider).await;
    let mut browser = provider.browser();
    let form = browser.authorize(&request(&client)).await;
    let page = browser.sign_in(&form, &grace.email, &grace.password).await;
    assert_eq!(page.step(), Step::ChoosePassword, "{}", page.body);
    assert!(page.says("Choose a new password"));

    for (new, confirm, expected) in refused_passwords(&grace.password) {
        let refused = browser.choose_password(&page, new, confirm).await;
        assert_eq!(refused.step(), Step::ChoosePassword, "{new:?} accepted");
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
        .choose_password(&page, CHOSEN_PASSWORD, CHOSEN_PASSWORD)
        .await;
    assert_eq!(page.step(), Step::SetUpAuthenticator, "{}", page.body);
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

    let wrong = browser.enroll(&page, "Work phone", "000000").await;
    assert_eq!(wrong.step(), Step::SetUpAuthenticator);
    assert!(wrong.says("not correct"));
    assert_eq!(
        wrong.totp_secret().unwrap(),
        shown,
        "a wrong code keeps the same secret"
    );
    let code = Authenticator::new(&shown).next_code().await;
    let codes = browser.enroll(&wrong, "Work phone", &code).await;
    assert_eq!(codes.step(), Step::RecoveryCodes, "{}", codes.body);
    assert_eq!(
        codes.recovery_codes().len(),
        10,
        "ten recovery codes, shown once"
    );
    let redirect = browser.continue_(&codes).await;
    assert_eq!(
        amr_of(&browser, &client, &redirect).await,
        json!(["pwd", "otp"])
    );

    // The temporary password is dead; the log holds no secret in clear.
    let mut other = provider.browser();
    let form = other.authorize(&request(&client)).await;
    let refused = other.sign_in(&form, &grace.email, &grace.password).await;
    assert!(refused.says("The email or password is not correct."));
    let export = provider.target.ok(&["events", "export"]);
    assert!(
        !export.contains(&shown)
            && !export.contains(CHOSEN_PASSWORD)
            && !export.contains(&grace.password)
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

#[tokio::test]
async fn a_code_works_once_and_five_wrong_codes_lock_the_step() {
    let provider = Provider::start().await;
    let mut edsger = provider.person("edsger@example.org").await;
    let client = client(&provider).await;
    let mut browser = provider.browser();
    enrolled(&mut browser, &client, &mut edsger).await;

    let page = after_password(&mut browser, &client, &edsger).await;
    assert_eq!(page.step(), Step::Code);
    assert!(page.says("Enter the code from Test phone"));
    assert!(page.says("Remember this device") && page.says("public or shared computer"));
    // The code used at set-up is refused now: a code is accepted once.
    let used = edsger.authenticator.as_ref().unwrap().used_code().unwrap();
    let refused = browser.code(&page, &used).await;
    assert!(refused.says("already used"), "{}", refused.body);

    for attempt in 2..=5 {
        let refused = browser.code(&page, "999999").await;
        let expected = if attempt == 5 {
            "locked"
        } else {
            "not correct"
        };
        assert!(
            refused.says(expected),
            "attempt {attempt}: {}",
            refused.body
        );
    }
    let right = edsger.next_code().await;
    let still_locked = browser.code(&page, &right).await;
    assert!(
        still_locked.says("locked"),
        "the right code is refused while locked"
    );
    assert_eq!(
        provider.events("user.signin.succeeded").len(),
        1,
        "only the first sign-in succeeded"
    );
}

#[tokio::test]
async fn a_trusted_device_skips_the_code_for_its_person_only_until_forgotten() {
    let provider = Provider::start().await;
    let mut ada = provider.person("ada@example.org").await;
    let mut bob = provider.person("bob@example.org").await;
    let client = client(&provider).await;
    let mut browser = provider.browser();
    enrolled(&mut browser, &client, &mut ada).await;

    // A code with "Remember this device" ticked.
    let redirect = browser
        .code_flow(&request(&client), &mut ada, Device::Remember)
        .await;
    assert_eq!(
        amr_of(&browser, &client, &redirect).await,
        json!(["pwd", "otp"])
    );
    let asked = browser.logout("").await;
    assert!(
        asked.body.contains("checked"),
        "the checkbox is ticked when this browser is trusted"
    );
    browser.confirm_logout(&asked).await;

    // The password alone now: the device stands in for the code.
    let redirect = after_password(&mut browser, &client, &ada).await;
    assert_eq!(
        amr_of(&browser, &client, &redirect).await,
        json!(["pwd", "trusted_device"])
    );
    let succeeded = provider.events("user.signin.succeeded");
    assert_eq!(succeeded.last().unwrap()["data"]["device_trust_used"], true);

    // Ada's device cookie does nothing for Bob: he enrolls his own app, and is asked for
    // his code.
    browser.log_out().await;
    enrolled(&mut browser, &client, &mut bob).await;
    let bob_again = after_password(&mut browser, &client, &bob).await;
    assert_eq!(
        bob_again.step(),
        Step::Code,
        "Bob is asked for his code despite Ada's device cookie"
    );

    // Forgetting at logout: the code is asked again.
    let ada_page = after_password(&mut browser, &client, &ada).await;
    assert!(ada_page.code().is_some(), "still trusted for Ada");
    let asked = browser.logout("").await;
    browser.confirm_logout_forgetting_device(&asked).await;
    let again = after_password(&mut browser, &client, &ada).await;
    assert_eq!(
        again.step(),
        Step::Code,
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
    let mut margaret = provider.person("margaret@example.org").await;
    let client = client(&provider).await;
    let mut browser = provider.browser();
    enrolled(&mut browser, &client, &mut margaret).await;
    let first_code = margaret.recovery_codes[0].clone();

    for (attempt, expected_ok) in [(1, true), (2, false)] {
        let page = after_password(&mut browser, &client, &margaret).await;
        let answer = browser
            .recovery_code(&page, &first_code.to_lowercase())
            .await;
        if expected_ok {
            // "You used a recovery code" comes before the application.
            assert!(answer.says("You used a recovery code"), "{}", answer.body);
            let answer = browser.continue_(&answer).await;
            assert_eq!(
                amr_of(&browser, &client, &answer).await,
                json!(["pwd", "otp"])
            );
            browser.log_out().await;
        } else {
            assert!(
                answer.says("not valid or was already used"),
                "attempt {attempt}"
            );
        }
    }
    assert_eq!(provider.events("user.recovery_code.used").len(), 1);
}

#[tokio::test]
async fn an_admin_reset_of_the_authenticator_sends_the_next_sign_in_to_set_up_again() {
    let provider = Provider::start().await;
    let mut barbara = provider.person("barbara@example.org").await;
    let client = client(&provider).await;
    let mut browser = provider.browser();
    enrolled(&mut browser, &client, &mut barbara).await;
    // A code with "Remember this device": this browser is now trusted.
    let redirect = browser
        .code_flow(&request(&client), &mut barbara, Device::Remember)
        .await;
    assert!(redirect.code().is_some(), "{}", redirect.body);
    browser.log_out().await;
    let old = barbara.clone();
    assert_eq!(old.recovery_codes.len(), 10);
    let old_app = old.authenticator.clone().unwrap();

    // Someone without an app, or no one at all, is a clear error that writes nothing.
    let never_enrolled = provider.person("grace@example.org").await;
    let before = provider.target.ok(&["events", "export"]);
    let output = provider.target.run(&[
        "user",
        "reset-mfa",
        &never_enrolled.email,
        "--org",
        "Default",
    ]);
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
        .cli(&["user", "reset-mfa", &barbara.email, "--org", "Default"])
        .await;
    assert!(
        text.contains("forgot 1 trusted device(s)") && text.contains("sets up"),
        "{text}"
    );
    // A second reset finds nothing to reset.
    let output = provider.target.run(&[
        "user",
        "reset-mfa",
        &barbara.email,
        "--org",
        "Default",
        "--json",
    ]);
    assert_clear_error(&output, "has no authenticator app to reset");
    // The server follows the log: a client registered after the reset is served only
    // once it has read past the reset.
    let client = self::client(&provider).await;

    // The trusted device's cookie no longer skips anything: set up an app, like a first
    // sign-in, with a fresh secret.
    let setup = after_password(&mut browser, &client, &barbara).await;
    assert_eq!(setup.step(), Step::SetUpAuthenticator, "{}", setup.body);
    assert!(setup.says("Set up your authenticator app"));
    let fresh = setup.totp_secret().unwrap();
    assert_ne!(fresh, old_app.secret, "a fresh secret");
    // Time steps are claimed per person: the new app goes on after the old one's last.
    let mut new_app = Authenticator {
        secret: fresh,
        last_step: old_app.last_step,
    };
    let code = new_app.next_code().await;
    let codes = browser.enroll(&setup, "New phone", &code).await;
    let new_codes = codes.recovery_codes();
    assert_eq!(new_codes.len(), 10, "{}", codes.body);
    let redirect = browser.continue_(&codes).await;
    assert_eq!(
        amr_of(&browser, &client, &redirect).await,
        json!(["pwd", "otp"])
    );
    browser.log_out().await;

    // Next time: the code of the new app is asked (the device was forgotten); the old
    // app's code and an old recovery code are refused.
    let asked = after_password(&mut browser, &client, &barbara).await;
    assert_eq!(asked.step(), Step::Code, "{}", asked.body);
    assert!(asked.says("Enter the code from New phone"));
    let old_app_code = Authenticator::new(&old_app.secret).next_code().await;
    let refused = browser.code(&asked, &old_app_code).await;
    assert!(refused.says("not correct"), "{}", refused.body);
    let refused = browser.recovery_code(&asked, &old.recovery_codes[1]).await;
    assert!(
        refused.says("not valid or was already used"),
        "{}",
        refused.body
    );

    // The log: one reset by the operator, the device forgotten with it.
    let reset = provider.events("user.totp.reset");
    assert_eq!(reset.len(), 1);
    assert_eq!(reset[0]["metadata"]["actor"]["kind"], "cli", "{}", reset[0]);
    let forgotten = provider.events("user.device.forgotten");
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
    let mut frances = provider.person("frances@example.org").await;
    let client = client(&provider).await;
    let mut browser = provider.browser();
    enrolled(&mut browser, &client, &mut frances).await;
    let old_codes = frances.recovery_codes.clone();
    assert_eq!(old_codes.len(), 10);

    let asked = after_password(&mut browser, &client, &frances).await;
    let used = browser.recovery_code(&asked, &old_codes[0]).await;
    assert!(used.says("You used a recovery code"), "{}", used.body);
    assert!(
        used.says("You have 9 unused recovery codes left."),
        "{}",
        used.body
    );
    assert!(used.has_form("/login/recovery/regenerate") && used.has_form("/login/continue"));
    assert!(used.says("Generate new recovery codes"));

    let shown = browser.generate_recovery_codes(&used).await;
    let new_codes = shown.recovery_codes();
    assert_eq!(new_codes.len(), 10, "{}", shown.body);
    assert!(new_codes.iter().all(|code| !old_codes.contains(code)));
    assert!(shown.says("Your recovery codes") && shown.says("no longer work"));
    // Shown once: the same form again is refused and generates nothing.
    let again = browser.generate_recovery_codes(&used).await;
    assert!(again.says("took too long"), "{}", again.body);
    let redirect = browser.continue_(&shown).await;
    assert_eq!(
        amr_of(&browser, &client, &redirect).await,
        json!(["pwd", "otp"])
    );
    browser.log_out().await;

    // An old code that was never used is dead; a new one works, and "Continue" goes on
    // to the application.
    let asked = after_password(&mut browser, &client, &frances).await;
    let refused = browser.recovery_code(&asked, &old_codes[1]).await;
    assert!(
        refused.says("not valid or was already used"),
        "{}",
        refused.body
    );
    let used = browser.recovery_code(&refused, &new_codes[3]).await;
    assert!(
        used.says("You have 9 unused recovery codes left."),
        "{}",
        used.body
    );
    let redirect = browser.continue_(&used).await;
    assert!(
        redirect
            .location()
            .is_some_and(|location| location.starts_with(REDIRECT_URI)),
        "{:?} {}",
        redirect.location(),
        redirect.body
    );
    assert_eq!(redirect.redirect_param("state").as_deref(), Some("st"));
    assert_eq!(
        amr_of(&browser, &client, &redirect).await,
        json!(["pwd", "otp"])
    );

    // The log: the set-up's codes and one new set; both sign-ins with a recovery code say
    // so.
    assert_eq!(provider.events("user.recovery_codes.generated").len(), 2);
    assert_eq!(provider.events("user.recovery_code.used").len(), 2);
    let factors: Vec<String> = provider
        .events("user.signin.succeeded")
        .iter()
        .map(|event| event["data"]["second_factor"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(factors, ["totp", "recovery_code", "recovery_code"]);
}

/// Posts the sign-in form by hand, with `tx` and `csrf` as given.
async fn post_login(browser: &mut Browser, tx: &str, csrf: &str, person: &Person) -> Page {
    let fields = [
        ("tx", tx),
        ("csrf", csrf),
        ("email", &person.email),
        ("password", &person.password),
    ];
    browser.post("/login", &fields).await
}

#[tokio::test]
async fn forged_and_replayed_forms_are_refused_and_change_nothing() {
    let provider = Provider::start().await;
    let alan = provider.person("alan@example.org").await;
    let client = client(&provider).await;
    let mut browser = provider.browser();
    let page = browser.authorize(&request(&client)).await;
    let before = provider.target.ok(&["events", "export"]);
    let (tx, csrf) = (page.tx().unwrap(), page.csrf().unwrap());

    let forged = post_login(&mut browser, &tx, "forged", &alan).await;
    assert_eq!(forged.status, 403);
    let mut stranger = provider.browser();
    let no_cookie = post_login(&mut stranger, &tx, &csrf, &alan).await;
    assert_eq!(
        no_cookie.status, 403,
        "the transaction is bound to the browser's cookie"
    );
    let unknown = post_login(&mut browser, "nope", &csrf, &alan).await;
    assert!(unknown.says("took too long"));
    let huge = "x".repeat(70 * 1024);
    let too_big = browser
        .post("/login", &[("tx", &tx), ("csrf", &csrf), ("email", &huge)])
        .await;
    assert_eq!(too_big.status, 413);
    let skipped = browser.enroll(&page, "x", "123456").await;
    assert!(skipped.says("took too long"), "a step cannot be skipped");
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
    let provider = Provider::start_with(
        Target::sqlite(),
        &[("VERITY__PASSWORDS__DELAY_AFTER_FAILURES", "1000")],
    )
    .await;
    let tim = provider.person("tim@example.org").await;
    let client = client(&provider).await;
    let mut browser = provider.browser();
    for address in [tim.email.as_str(), "nobody@example.org"] {
        let page = browser.authorize(&request(&client)).await;
        let mut last = None;
        for _ in 0..10 {
            last = Some(browser.sign_in(&page, address, "wrong password").await);
        }
        let last = last.unwrap();
        assert!(
            last.says("Too many failed sign-ins"),
            "{address}: {}",
            last.body
        );
        if address == tim.email {
            let locked = browser.sign_in(&page, address, &tim.password).await;
            assert!(
                locked.says("Too many failed sign-ins"),
                "the right password is refused while locked"
            );
        }
    }
}

/// Asserts that `page` is the refusal for a locked client address: 429, `Retry-After` in
/// whole seconds within the lock (15 minutes), the message on the page.
fn assert_refused_for_the_network(page: &Page, what: &str) {
    assert_eq!(page.status, 429, "{what}: {}", page.body);
    let seconds = page
        .retry_after()
        .unwrap_or_else(|| panic!("{what}: no Retry-After"));
    assert!(
        (1..=900).contains(&seconds),
        "{what}: Retry-After {seconds}"
    );
    assert!(
        page.says("Too many failed sign-ins from your network."),
        "{what}: {}",
        page.body
    );
}

/// Fails one sign-in per address in `addresses` from `browser` (each a wrong password for
/// a different address, so no per-account limit is reached): the last answer.
async fn fail_sign_ins(
    browser: &mut Browser,
    client: &RegisteredClient,
    addresses: &[&str],
) -> Page {
    let mut last = None;
    for address in addresses {
        let page = browser.authorize(&request(client)).await;
        last = Some(browser.sign_in(&page, address, "wrong password").await);
    }
    last.unwrap()
}

#[tokio::test]
async fn failed_sign_ins_from_one_address_lock_it_for_every_account() {
    let provider = Provider::start_with(
        Target::sqlite(),
        &[("VERITY__SIGN_IN__IP_MAX_FAILURES", "3")],
    )
    .await;
    let ada = provider.person("ada@example.org").await;
    let victim = provider.person("charles@example.org").await;
    let client = client(&provider).await;
    let mut attacker = provider.browser();

    // Three failures across different addresses (a known one with a wrong password and
    // unknown ones) from 127.0.0.1: the third locks the address.
    let first = fail_sign_ins(&mut attacker, &client, &[&victim.email]).await;
    assert_eq!(first.status, 200);
    assert!(first.says("The email or password is not correct."));
    let failed = provider.events("user.signin.failed");
    assert_eq!(
        failed[0]["metadata"]["client_ip"], "127.0.0.1",
        "the peer is recorded: {}",
        failed[0]
    );
    let third = fail_sign_ins(
        &mut attacker,
        &client,
        &["nobody@example.org", "no-one@example.org"],
    )
    .await;
    assert_refused_for_the_network(&third, "the failure that locks");

    // Now even another person's right password is refused, unchecked and unrecorded, and
    // a made-up X-Forwarded-For from this untrusted peer changes nothing.
    let before = provider.target.ok(&["events", "export"]);
    for (mut browser, what) in [
        (provider.browser(), "a right password"),
        (
            provider.browser_forwarded_for("198.51.100.77"),
            "a spoofed X-Forwarded-For",
        ),
    ] {
        let refused = after_password(&mut browser, &client, &ada).await;
        assert_refused_for_the_network(&refused, what);
    }
    assert_eq!(
        provider.target.ok(&["events", "export"]),
        before,
        "nothing was written for the refused attempts"
    );
}

#[tokio::test]
async fn wrong_codes_count_against_the_address_too() {
    let provider = Provider::start_with(
        Target::sqlite(),
        &[("VERITY__SIGN_IN__IP_MAX_FAILURES", "3")],
    )
    .await;
    let mut barbara = provider.person("barbara@example.org").await;
    let client = client(&provider).await;
    let mut browser = provider.browser();
    enrolled(&mut browser, &client, &mut barbara).await;

    let page = after_password(&mut browser, &client, &barbara).await;
    assert_eq!(page.step(), Step::Code, "{}", page.body);
    for attempt in 1..=3 {
        let answer = browser.code(&page, "999999").await;
        if attempt < 3 {
            assert!(answer.says("not correct"), "{}", answer.body);
        } else {
            // Three wrong codes: the address is locked before the person's own limit (5).
            assert_refused_for_the_network(&answer, "the third wrong code");
        }
    }
    let right = barbara.next_code().await;
    let refused = browser.code(&page, &right).await;
    assert_refused_for_the_network(&refused, "the right code");
}

#[tokio::test]
async fn behind_a_trusted_proxy_failures_count_per_forwarded_address() {
    let provider = Provider::start_with(
        Target::sqlite(),
        &[
            ("VERITY__SIGN_IN__IP_MAX_FAILURES", "3"),
            ("VERITY__SERVER__TRUSTED_PROXIES", r#"["127.0.0.1"]"#),
        ],
    )
    .await;
    let mut hedy = provider.person("hedy@example.org").await;
    let client = client(&provider).await;

    // The client's own (made-up) entry comes first; the proxy appended the real one.
    let mut attacker = provider.browser_forwarded_for("10.9.9.9, 198.51.100.7");
    let addresses = ["a@example.org", "b@example.org", "c@example.org"];
    let locked = fail_sign_ins(&mut attacker, &client, &addresses).await;
    assert_refused_for_the_network(&locked, "198.51.100.7 after three failures");
    let refused = after_password(&mut attacker, &client, &hedy).await;
    assert_refused_for_the_network(&refused, "198.51.100.7 with a right password");

    // Another forwarded address, through the same proxy, signs in.
    let mut person = provider.browser_forwarded_for("203.0.113.9");
    let redirect = person
        .code_flow(&request(&client), &mut hedy, Device::Forget)
        .await;
    assert!(redirect.code().is_some(), "{}", redirect.body);
    let succeeded = provider.events("user.signin.succeeded");
    assert_eq!(succeeded.len(), 1);
    assert_eq!(
        succeeded[0]["metadata"]["client_ip"], "203.0.113.9",
        "{}",
        succeeded[0]
    );
    let failed = provider.events("user.signin.failed");
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
    let succeeded = provider.events("user.signin.succeeded");
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
    let mut mary = provider.person("mary@example.org").await;
    let client = client(&provider).await;
    let mut browser = provider.browser();
    enrolled(&mut browser, &client, &mut mary).await;
    let codes = mary.recovery_codes.clone();
    assert_eq!(codes.len(), 10);
    for (used, code) in codes.iter().enumerate() {
        let asked = after_password(&mut browser, &client, &mary).await;
        let page = browser.recovery_code(&asked, code).await;
        let generate = page.form_position("/login/recovery/regenerate");
        let continue_at = page.form_position("/login/continue");
        match 9 - used {
            0 => {
                assert!(
                    page.says("You have no unused recovery codes left."),
                    "{}",
                    page.body
                );
                assert!(generate.unwrap() < continue_at.unwrap(), "generate first");
            }
            1 => {
                assert!(page.says("You have 1 unused recovery code left."));
                assert!(continue_at.unwrap() < generate.unwrap(), "continue first");
            }
            left => {
                let text = format!("You have {left} unused recovery codes left.");
                assert!(page.says(&text), "{}", page.body);
                assert!(continue_at.unwrap() < generate.unwrap(), "continue first");
            }
        }
        let redirect = browser.continue_(&page).await;
        assert!(
            redirect.code().is_some(),
            "sign-in {used}: {}",
            redirect.body
        );
        browser.log_out().await;
    }
}

/// An admin lifts both locks before they end: `verity user unlock` records who did it
/// (`user.unlocked`, the operator as actor), and the right password and then the right
/// code work at once. With nothing locked it says so and writes nothing.
#[tokio::test]
async fn an_admin_unlocks_a_locked_password_and_a_locked_code_step() {
    let provider = Provider::start_with(
        Target::sqlite(),
        &[("VERITY__PASSWORDS__DELAY_AFTER_FAILURES", "1000")],
    )
    .await;
    let mut joan = provider.person("joan@example.org").await;
    let client = client(&provider).await;
    let mut browser = provider.browser();
    enrolled(&mut browser, &client, &mut joan).await;
    let email = joan.email.clone();
    let unlock = ["user", "unlock", &email, "--org", "Default", "--json"];
    let nothing = json_lines(&provider.cli(&unlock).await);
    assert_eq!(nothing[0]["unlocked"], false);

    let page = browser.authorize(&request(&client)).await;
    for _ in 0..10 {
        browser.sign_in(&page, &joan.email, "wrong password").await;
    }
    let locked = after_password(&mut browser, &client, &joan).await;
    assert!(locked.says("Too many failed sign-ins"), "{}", locked.body);
    let lifted = json_lines(&provider.cli(&unlock).await);
    assert_eq!(lifted[0]["unlocked"], true);
    assert!(lifted[0]["password_locked_until"].is_string(), "{lifted:?}");

    let asked = after_password(&mut browser, &client, &joan).await;
    assert_eq!(asked.step(), Step::Code, "{}", asked.body);
    for _ in 0..5 {
        browser.code(&asked, "999999").await;
    }
    let right = joan.next_code().await;
    let refused = browser.code(&asked, &right).await;
    assert!(refused.says("locked"), "{}", refused.body);
    let lifted = json_lines(&provider.cli(&unlock).await);
    assert!(lifted[0]["code_locked_until"].is_string(), "{lifted:?}");
    // The same right code: refused only for the lock, it was never used.
    let redirect = browser.code(&asked, &right).await;
    assert!(redirect.code().is_some(), "{}", redirect.body);

    let unlocked = provider.events("user.unlocked");
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
    let provider = Provider::start_with(
        Target::sqlite(),
        &[("VERITY__SIGN_IN__IP_MAX_FAILURES", "3")],
    )
    .await;
    let hedy = provider.person("hedy@example.org").await;
    let client = client(&provider).await;
    let mut browser = provider.browser();
    let unlock = ["network", "unlock", "127.0.0.1", "--json"];
    assert_eq!(
        json_lines(&provider.cli(&unlock).await)[0]["unlocked"],
        false
    );
    let addresses = ["a@example.org", "b@example.org", "c@example.org"];
    let locked = fail_sign_ins(&mut browser, &client, &addresses).await;
    assert_refused_for_the_network(&locked, "the third failure");

    let lifted = json_lines(&provider.cli(&unlock).await);
    assert_eq!(lifted[0]["unlocked"], true, "{lifted:?}");
    assert_eq!(lifted[0]["network"], "127.0.0.1");
    assert!(lifted[0]["locked_until"].is_string(), "{lifted:?}");
    let answer = after_password(&mut browser, &client, &hedy).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.step(), Step::ChoosePassword, "{}", answer.body);
    let recorded = provider.events("network.unlocked");
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

#[tokio::test]
async fn metrics_count_sign_ins_refusals_and_locks_by_route_and_reason() {
    let provider =
        Provider::start_with(Target::sqlite(), &[("VERITY__MFA__MAX_FAILURES", "2")]).await;
    let mut grace = provider.person("grace@example.org").await;
    let client = client(&provider).await;
    let mut browser = provider.browser();
    // The first sign-in ends with the code that sets up the app.
    enrolled(&mut browser, &client, &mut grace).await;
    fail_sign_ins(&mut browser, &client, &["nobody@example.org"]).await;
    let page = after_password(&mut browser, &client, &grace).await;
    for _ in 0..2 {
        browser.code(&page, "999999").await;
    }

    let scraped = browser.peek("/metrics").await;
    assert_eq!(scraped.status, 200);
    let text = &scraped.body;
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
        assert_eq!(scraped.sample(series), value, "{series} in\n{text}");
    }
    // Every authorization request is one series, whatever its query string said.
    assert!(
        scraped
            .sample(r#"verity_http_requests_total{method="GET",route="/authorize",status="200"}"#)
            >= 3.0,
        "{text}"
    );
    assert!(
        !text.contains(&client.client_id),
        "no query string in a label"
    );
    assert!(!text.contains("grace"), "no personal data");
    assert!(scraped.sample("verity_projection_position") > 0.0);
    assert!(text.ends_with("# EOF\n"));

    let quiet =
        Provider::start_with(Target::sqlite(), &[("VERITY__SERVER__METRICS", "false")]).await;
    assert_eq!(
        quiet.browser().peek("/metrics").await.status,
        404,
        "turned off"
    );
}

#[tokio::test]
async fn a_person_forgets_a_trusted_device_on_verity_s_own_page() {
    let provider = Provider::start().await;
    let mut ada = provider.person("ada@example.org").await;
    let client = client(&provider).await;
    let mut phone = provider.browser();
    enrolled(&mut phone, &client, &mut ada).await;
    phone
        .code_flow(&request(&client), &mut ada, Device::Remember)
        .await;
    let mut laptop = provider.browser();
    laptop
        .code_flow(&request(&client), &mut ada, Device::Remember)
        .await;

    let page = phone.account().await;
    assert!(page.says("Trusted devices"), "{}", page.body);
    let devices = page.fields("device");
    assert_eq!(devices.len(), 2, "{}", page.body);
    // "This device" marks the phone once among the sessions and once among the devices.
    assert_eq!(page.body.matches("(This device)").count(), 2);
    // The phone's own device is the one in the item marked "This device".
    let phone_device = page.this_device().unwrap();
    let laptop_device = devices
        .iter()
        .find(|id| **id != phone_device)
        .unwrap()
        .clone();

    // Without the page's token, or with another session's, nothing is forgotten.
    let laptop_page = laptop.account().await;
    assert_ne!(laptop_page.csrf(), page.csrf(), "bound to the session");
    for refused in [
        phone
            .post(
                "/devices/forget",
                &[("csrf", ""), ("device", &laptop_device)],
            )
            .await,
        phone.forget_device(&laptop_page, &laptop_device).await,
    ] {
        assert_eq!(refused.status, 403, "{}", refused.body);
    }
    let refused = provider
        .browser()
        .forget_device(&page, &laptop_device)
        .await;
    assert_eq!(refused.status, 403, "not signed in");
    assert!(provider.events("user.device.forgotten").is_empty());

    // The phone forgets the laptop: recorded with ada as the actor.
    let forgot = phone.forget_device(&page, &laptop_device).await;
    assert_eq!(forgot.status, 303);
    let events = provider.events("user.device.forgotten");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["data"]["device_id_hash"], laptop_device.as_str());
    assert_eq!(events[0]["data"]["reason"], "revoked");
    assert_eq!(
        events[0]["metadata"]["actor"]["kind"], "user",
        "{}",
        events[0]
    );
    assert_eq!(
        phone.account().await.fields("device"),
        vec![phone_device.clone()]
    );

    // The laptop is asked for a code again.
    laptop.log_out().await;
    let asked = after_password(&mut laptop, &client, &ada).await;
    assert_eq!(asked.step(), Step::Code, "{}", asked.body);

    // The phone forgets itself: its device cookie goes too.
    assert!(phone.has_cookie("verity_device"));
    let forgot = phone.forget_device(&page, &phone_device).await;
    assert_eq!(forgot.status, 303);
    assert!(
        !phone.has_cookie("verity_device"),
        "the device cookie is cleared"
    );
    let page = phone.account().await;
    assert!(page.says("No device is trusted"), "{}", page.body);
    assert_eq!(provider.events("user.device.forgotten").len(), 2);
}

#[tokio::test]
async fn a_person_changes_their_password_on_verity_s_own_page() {
    let provider = Provider::start().await;
    let mut ada = provider.person("ada@example.org").await;
    let client = client(&provider).await;
    let mut browser = provider.browser();
    enrolled(&mut browser, &client, &mut ada).await;
    browser
        .code_flow(&request(&client), &mut ada, Device::Forget)
        .await;
    let changes = || provider.events("user.password.changed");
    assert_eq!(changes().len(), 1, "the first sign-in's");

    let page = browser.account().await;
    assert!(page.says("Change password"), "{}", page.body);
    let csrf = page.csrf().unwrap();
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
        let fields = [
            ("csrf", token),
            ("current_password", current),
            ("new_password", new),
            ("confirm_password", new),
        ];
        let refused = browser.post("/password", &fields).await;
        assert_eq!(refused.status, status, "{expected}: {}", refused.body);
        assert!(refused.says(expected), "{expected}: {}", refused.body);
    }
    assert_eq!(changes().len(), 1, "nothing recorded for the refusals");

    let changed = browser
        .change_password(&page, CHOSEN_PASSWORD, NEW, NEW)
        .await;
    assert_eq!(changed.status, 303);
    let location = changed.location().unwrap().to_owned();
    assert_eq!(location, "/?changed=password");
    let page = browser.get(&location).await;
    assert!(page.says("Your password is changed"), "{}", page.body);
    let recorded = changes();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[1]["metadata"]["actor"]["kind"], "user");
    assert!(
        !recorded[1]["data"].to_string().contains(NEW),
        "only the hash"
    );

    // The old password is dead, the new one leads to the code.
    browser.log_out().await;
    let old = after_password(&mut browser, &client, &ada).await;
    assert!(old.says("The email or password is not correct."));
    ada.password = NEW.to_owned();
    let new = after_password(&mut browser, &client, &ada).await;
    assert_eq!(new.step(), Step::Code, "{}", new.body);
}

#[tokio::test]
async fn a_person_generates_new_recovery_codes_on_verity_s_own_page_with_a_code() {
    let provider = Provider::start().await;
    let mut ada = provider.person("ada@example.org").await;
    let client = client(&provider).await;
    let mut browser = provider.browser();
    enrolled(&mut browser, &client, &mut ada).await;
    browser
        .code_flow(&request(&client), &mut ada, Device::Forget)
        .await;
    let generated = || provider.events("user.recovery_codes.generated").len();
    assert_eq!(generated(), 1, "the set of the first sign-in");
    let old_codes = ada.recovery_codes.clone();
    assert_eq!(old_codes.len(), 10);

    let page = browser.account().await;
    assert!(
        page.says("You have 10 unused recovery codes left."),
        "{}",
        page.body
    );
    assert!(page.says("enter the current code from Test phone"));
    let missing = browser.post("/recovery-codes", &[("code", "999999")]).await;
    assert_eq!(missing.status, 403);
    let wrong = browser.new_recovery_codes(&page, "999999").await;
    assert_eq!(wrong.status, 200);
    assert!(wrong.says("That code is not correct."), "{}", wrong.body);
    assert_eq!(generated(), 1, "nothing recorded for the refusals");

    let code = ada.next_code().await;
    let shown = browser.new_recovery_codes(&page, &code).await;
    assert_eq!(shown.status, 200);
    let new_codes = shown.recovery_codes();
    assert_eq!(new_codes.len(), 10, "{}", shown.body);
    assert!(shown.says("Your previous recovery codes no longer work."));
    assert!(shown.says("Back to your account"));
    assert_eq!(generated(), 2);
    // The same code again: refused, nothing new (the codes were shown once).
    let again = browser.new_recovery_codes(&page, &code).await;
    assert!(again.says("already used"), "{}", again.body);
    assert_eq!(generated(), 2);

    // At sign-in an old code is dead and a new one works.
    browser.log_out().await;
    let mfa = after_password(&mut browser, &client, &ada).await;
    assert_eq!(mfa.step(), Step::Code, "{}", mfa.body);
    let refused = browser.recovery_code(&mfa, &old_codes[0]).await;
    assert!(
        refused.says("That recovery code is not valid or was already used."),
        "{}",
        refused.body
    );
    let accepted = browser.recovery_code(&mfa, &new_codes[0]).await;
    assert!(
        accepted.says("You used a recovery code"),
        "{}",
        accepted.body
    );
}
