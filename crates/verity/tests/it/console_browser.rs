//! The admin console in Chromium, against the real `verity serve`, with a real SMTP server
//! receiving the mail: an admin signs in with their code, creates a person, the email
//! arrives, the person signs in at an application and sets up their app, the admin
//! disables them and their session and tokens end, and "Log out" ends the console; an org
//! admin cannot open another organization's person; someone without a role gets 403; an
//! auditor reads the Audit section and can change nothing; the console works with the
//! keyboard alone and reads without a sideways scroll on a laptop and on a phone.
//!
//! The tests save screenshots of the main pages under `target/e2e-screenshots/console/`;
//! with `VERITY_DOCS_SCREENSHOTS=1` also under `docs/console/`, where docs/console.md
//! shows them (`VERITY_DOCS_SCREENSHOTS=1 cargo xtask test -- -p verity --test it
//! console_browser`).

use std::path::PathBuf;
use std::time::Duration;

use verity_testkit::steps::CHOSEN_PASSWORD;
use verity_testkit::totp::Authenticator;

use crate::browser::{BrowserSession, RelyingParty, provider_with_mail, screenshot_directory};
use crate::console::{grant, org_id, person_in};
use crate::provider::{Provider, http_client};

/// The laptop the console must be readable on.
const LAPTOP: (u32, u32) = (1280, 800);
/// A phone.
const PHONE: (u32, u32) = (390, 844);

/// Saves a screenshot of the page as `name.png` for docs/console.md.
async fn screenshot(browser: &BrowserSession, name: &str) {
    let file = format!("{name}.png");
    if let Some(directory) = screenshot_directory() {
        browser
            .screenshot(&directory.join("console").join(&file))
            .await;
    }
    if std::env::var_os("VERITY_DOCS_SCREENSHOTS").is_some() {
        let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/console");
        browser.screenshot(&docs.join(&file)).await;
    }
}

/// A first sign-in on the sign-in page shown: the temporary password, a new one, the
/// authenticator app set up from the secret on the page, the recovery codes. Returns the
/// app.
async fn first_sign_in(browser: &BrowserSession, email: &str, temporary: &str) -> Authenticator {
    browser.fill("Email", email).await;
    browser.fill("Password", temporary).await;
    browser.click_button("Sign in").await;
    browser.wait_for_text("Choose a new password").await;
    browser.fill("New password", CHOSEN_PASSWORD).await;
    browser.fill("Confirm new password", CHOSEN_PASSWORD).await;
    browser.click_button("Save password").await;
    browser.wait_for_text("Set up your authenticator app").await;
    browser.fill("Authenticator app name", "Phone").await;
    let secret: String = browser
        .text_of("#totp-secret")
        .await
        .split_whitespace()
        .collect();
    let mut app = Authenticator::new(secret);
    let code = app.next_code().await;
    browser.fill("Code", &code).await;
    browser.click_button("Verify").await;
    browser.wait_for_text("Your recovery codes").await;
    browser.click_button("Continue").await;
    app
}

/// Every field of the page is named by a label.
async fn assert_labelled(browser: &BrowserSession) {
    let unlabelled = browser.unlabelled_fields().await;
    assert!(
        unlabelled.is_empty(),
        "fields without a label on {}: {unlabelled:?}",
        browser.current_url().await
    );
}

/// The whole story of an admin and a new person, in Chromium.
#[tokio::test]
async fn an_admin_creates_a_person_who_signs_in_and_is_then_disabled() {
    let Some(admin) = BrowserSession::start().await else {
        return;
    };
    let (provider, sink) = provider_with_mail().await;
    let (ada, _) = person_in(&provider, "Default", "ada@example.org", "Ada Lovelace").await;
    grant(&provider, "ada@example.org", "instance-admin", None).await;
    person_in(&provider, "Default", "alan@example.org", "Alan Turing").await;
    admin.resize(LAPTOP.0, LAPTOP.1).await;

    // The admin signs in to the console through Verity, with a code.
    admin.goto(&format!("{}/console", provider.issuer)).await;
    admin.wait_for_text("Sign in").await;
    first_sign_in(&admin, &ada.email, &ada.password).await;
    admin.wait_for_text("Search users").await;
    assert!(admin.current_url().await.contains("/console/users"));
    let page = admin.text().await;
    for label in [
        "Users",
        "Clients",
        "Organizations",
        "Log out",
        "alan@example.org",
    ] {
        assert!(page.contains(label), "{label} on the Users page:\n{page}");
    }
    assert_labelled(&admin).await;
    screenshot(&admin, "users").await;

    // "Create user": Email, Name, Create; the person's page opens.
    admin.click_link("Create user").await;
    admin.fill("Email", "grace@example.org").await;
    admin.fill("Name", "Grace Hopper").await;
    assert_labelled(&admin).await;
    screenshot(&admin, "create-user").await;
    admin.click_button("Create").await;
    admin
        .wait_for_text("The email with the temporary password went to")
        .await;
    assert!(admin.text().await.contains("Active"));

    // The email arrives with the temporary password.
    let mail = sink.wait_for_message(Duration::from_secs(20)).text();
    let temporary = mail
        .lines()
        .find_map(|line| line.trim().strip_prefix("Temporary password:"))
        .expect("the temporary password in the mail")
        .trim()
        .to_owned();

    // The new person signs in at an application and sets up their app.
    let grace = BrowserSession::start().await.unwrap();
    let mut relying = RelyingParty::start(&provider, &[]).await;
    let request = relying.authorize(&["email"]);
    grace.goto(&request.url).await;
    first_sign_in(&grace, "grace@example.org", &temporary).await;
    grace.wait_for_text("signed in").await;
    let code = relying.callback().await.get("code").unwrap().to_owned();
    let (tokens, _) = relying.exchange(&code, request).await;
    let access_token = openidconnect::OAuth2TokenResponse::access_token(&tokens)
        .secret()
        .clone();
    let userinfo = |token: String| {
        let url = format!("{}/userinfo", provider.issuer);
        async move {
            http_client()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(userinfo(access_token.clone()).await, 200);

    // The admin sees her session, then disables her after a confirmation.
    admin.goto(&admin.current_url().await).await;
    admin.wait_for_text("Grace Hopper").await;
    let page = admin.text().await;
    assert!(page.contains("Set up"), "her app is set up:\n{page}");
    screenshot(&admin, "person").await;
    admin.click_button("Disable").await;
    admin.wait_for_text("Are you sure?").await;
    screenshot(&admin, "confirm").await;
    admin.click_button("Confirm").await;
    admin
        .wait_for_text("Grace Hopper is disabled: their sessions and tokens have ended.")
        .await;
    assert_eq!(admin.text_of("#status").await, "Disabled");

    // Her session and tokens have ended.
    assert_eq!(userinfo(access_token).await, 401);
    grace.goto(&format!("{}/", provider.issuer)).await;
    grace.wait_for_text("You are not signed in").await;
    grace.quit().await;

    // On a phone the console still reads: one column, "Log out" at the page's end.
    admin
        .goto(&format!("{}/console/users", provider.issuer))
        .await;
    admin.resize(PHONE.0, PHONE.1).await;
    admin.wait_for_text("Search users").await;
    screenshot(&admin, "users-phone").await;
    admin.resize(LAPTOP.0, LAPTOP.1).await;

    // "Log out" ends the console: the next visit asks for the password again.
    admin.click_button("Log out").await;
    admin
        .wait_for_text("You are signed out of the console and of Verity.")
        .await;
    admin
        .goto(&format!("{}/console/users", provider.issuer))
        .await;
    admin.wait_for_text("Sign in").await;
    assert!(admin.current_url().await.contains("/authorize"));
    admin.quit().await;
}

/// An org admin in Chromium: their organization's people only, another's person "not
/// found" by address; the clients and organizations pages of an instance admin, and the
/// 403 page of someone without a role, for the docs.
#[tokio::test]
async fn organizations_are_kept_apart_and_someone_without_a_role_gets_403() {
    let Some(browser) = BrowserSession::start().await else {
        return;
    };
    let provider = Provider::start().await;
    provider.cli(&["org", "create", "Acme"]).await;
    provider.cli(&["org", "create", "Globex"]).await;
    let (bea, _) = person_in(&provider, "Acme", "bea@acme.example", "Bea Acme").await;
    person_in(&provider, "Acme", "amy@acme.example", "Amy Pond").await;
    let (_, gus) = person_in(&provider, "Globex", "gus@globex.example", "Gus Globex").await;
    grant(&provider, "bea@acme.example", "org-admin", Some("Acme")).await;
    browser.resize(LAPTOP.0, LAPTOP.1).await;

    browser.goto(&format!("{}/console", provider.issuer)).await;
    first_sign_in(&browser, &bea.email, &bea.password).await;
    browser.wait_for_text("Search users").await;
    let page = browser.text().await;
    assert!(page.contains("amy@acme.example"), "{page}");
    assert!(!page.contains("gus@globex.example") && !page.contains("Organizations"));
    browser
        .goto(&format!("{}/console/users/{gus}", provider.issuer))
        .await;
    browser.wait_for_text(&format!("No user {gus}.")).await;
    assert!(!browser.text().await.contains("Gus Globex"));
    browser.quit().await;

    // An instance admin's clients and organizations.
    let admin = BrowserSession::start().await.unwrap();
    admin.resize(LAPTOP.0, LAPTOP.1).await;
    let (ada, _) = person_in(&provider, "Default", "ada@example.org", "Ada Lovelace").await;
    grant(&provider, "ada@example.org", "instance-admin", None).await;
    admin
        .goto(&format!("{}/console/clients", provider.issuer))
        .await;
    first_sign_in(&admin, &ada.email, &ada.password).await;
    admin.wait_for_text("Create client").await;
    admin.click_link("Create client").await;
    admin.fill("Name", "Payroll").await;
    admin
        .fill("Redirect URIs", "https://payroll.example/callback")
        .await;
    assert_labelled(&admin).await;
    admin.click_button("Create").await;
    admin.wait_for_text("shown only now").await;
    assert!(!admin.text_of("#client-secret").await.is_empty());
    screenshot(&admin, "client-created").await;
    admin.click_link("Organizations").await;
    admin.wait_for_text("Create organization").await;
    admin.fill("Name", "Initech").await;
    admin.click_button("Create").await;
    admin.wait_for_text("Admins and auditors").await;
    admin.fill("Email", "bea@acme.example").await;
    admin.click_button("Grant").await;
    admin
        .wait_for_text("No user bea@acme.example in organization Initech.")
        .await;
    admin
        .goto(&format!(
            "{}/console/organizations/{}",
            provider.issuer,
            org_id(&provider, "Acme")
        ))
        .await;
    admin.fill("Email", "amy@acme.example").await;
    admin.click_button("Grant").await;
    admin
        .wait_for_text("amy@acme.example is now Org admin.")
        .await;
    assert_labelled(&admin).await;
    screenshot(&admin, "organization").await;
    admin.quit().await;

    // Someone without a role.
    let nobody = BrowserSession::start().await.unwrap();
    nobody.resize(LAPTOP.0, LAPTOP.1).await;
    let (gus_person, _) = person_in(&provider, "Globex", "gil@globex.example", "Gil").await;
    nobody.goto(&format!("{}/console", provider.issuer)).await;
    first_sign_in(&nobody, &gus_person.email, &gus_person.password).await;
    nobody
        .wait_for_text("You have no access to the console.")
        .await;
    assert!(!nobody.text().await.contains("Users"));
    screenshot(&nobody, "no-access").await;
    nobody.quit().await;
}

/// The console's form token, from the page's HTML.
async fn csrf_of(browser: &BrowserSession) -> String {
    let html = browser.html().await;
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a form token on the page")
        .to_owned()
}

/// An auditor in Chromium: the Audit section's pages — the timeline with the account at
/// an instant, the events' search, the chain verified — and no action anywhere; an
/// action posted by hand from their browser is refused by the admin layer.
#[tokio::test]
async fn an_auditor_reads_the_audit_section_and_can_change_nothing() {
    let Some(browser) = BrowserSession::start().await else {
        return;
    };
    let provider = Provider::start().await;
    let (carol, _) = person_in(&provider, "Default", "carol@example.org", "Carol Auditor").await;
    let (_, grace) = person_in(&provider, "Default", "grace@example.org", "Grace Hopper").await;
    grant(&provider, "carol@example.org", "auditor", None).await;
    provider
        .target
        .ok(&["user", "disable", "grace@example.org", "--org", "Default"]);
    browser.resize(LAPTOP.0, LAPTOP.1).await;
    browser
        .goto(&format!("{}/console/audit", provider.issuer))
        .await;
    first_sign_in(&browser, &carol.email, &carol.password).await;
    browser.wait_for_text("Search events").await;
    let page = browser.text().await;
    for label in ["Users", "Clients", "Audit", "Chain", "Download the export"] {
        assert!(page.contains(label), "{label} on the Audit page:\n{page}");
    }
    assert_labelled(&browser).await;
    assert!(!browser.scrolls_sideways().await);
    screenshot(&browser, "audit").await;

    // A person's timeline and their account now.
    browser.fill("Email", "grace@example.org").await;
    browser.click_button("Open timeline").await;
    browser.wait_for_text("account disabled").await;
    assert_eq!(browser.text_of("#status-at").await, "Disabled");
    assert!(browser.text().await.contains("the operator"));
    assert_labelled(&browser).await;
    assert!(!browser.scrolls_sideways().await);
    screenshot(&browser, "audit-person").await;

    // The events' search.
    browser
        .goto(&format!("{}/console/audit", provider.issuer))
        .await;
    browser.fill("Event type", "user.disabled").await;
    browser.click_button("Search").await;
    browser.wait_for_text("account disabled").await;
    assert!(
        browser
            .text_of("#events")
            .await
            .contains("grace@example.org")
    );

    // The chain, recomputed.
    browser.click_link("Audit").await;
    browser.click_link("Verify the chain").await;
    browser.wait_for_text("Verified: all").await;
    screenshot(&browser, "audit-chain").await;

    // Her page in Users offers no action to an auditor, and none of their pages posts
    // anything but "Log out".
    browser
        .goto(&format!("{}/console/users/{grace}", provider.issuer))
        .await;
    browser.wait_for_text("History").await;
    let html = browser.html().await;
    for action in ["Enable", "Reset password", "Reset MFA", "Unlock", "Save"] {
        assert!(
            !html.contains(&format!(">{action}</button>")),
            "{action} offered to an auditor"
        );
    }
    assert_eq!(html.matches("method=\"post\"").count(), 1, "only Log out");

    // An action posted by hand: the admin layer refuses it.
    let csrf = csrf_of(&browser).await;
    browser
        .post_form(
            &format!("/console/users/{grace}/enable"),
            &[("csrf", &csrf)],
        )
        .await;
    browser.wait_for_text("You may not manage people").await;
    let disabled = provider.events("user.enabled");
    assert!(disabled.is_empty(), "nothing was recorded: {disabled:?}");
    browser
        .goto(&format!("{}/console/users/{grace}", provider.issuer))
        .await;
    assert_eq!(browser.text_of("#status").await, "Disabled");
    browser.quit().await;
}

/// The console with the keyboard alone: Tab reaches the navigation and "Log out" first,
/// with a visible focus ring at every step; an admin creates a person and disables them
/// without a mouse. Every main page reads without a sideways scroll on a laptop and on
/// a phone.
#[tokio::test]
async fn the_console_works_with_the_keyboard_and_reads_on_a_laptop_and_a_phone() {
    let Some(browser) = BrowserSession::start().await else {
        return;
    };
    let provider = Provider::start().await;
    let (ada, _) = person_in(&provider, "Default", "ada@example.org", "Ada Lovelace").await;
    grant(&provider, "ada@example.org", "instance-admin", None).await;
    browser.resize(LAPTOP.0, LAPTOP.1).await;
    browser.goto(&format!("{}/console", provider.issuer)).await;
    first_sign_in(&browser, &ada.email, &ada.password).await;
    browser.wait_for_text("Search users").await;

    // The order of the keyboard: past the skip link, the navigation, then "Log out".
    let passed = browser.tab_to("Log out", 8).await;
    assert_eq!(
        passed,
        [
            "Skip to content",
            "Users",
            "Clients",
            "Organizations",
            "Audit"
        ]
    );
    browser.tab_to("Create user", 10).await;
    browser.press_enter().await;
    browser.wait_for_text("temporary password").await;
    browser.tab_to("Email", 12).await;
    browser.press_key("grace@example.org").await;
    browser.tab_to("Name", 3).await;
    browser.press_key("Grace Hopper").await;
    browser.tab_to("Create", 5).await;
    browser.press_enter().await;
    browser
        .wait_for_text("The email with the temporary password went to")
        .await;
    browser.tab_to("Disable", 15).await;
    browser.press_enter().await;
    browser.wait_for_text("Are you sure?").await;
    browser.tab_to("Confirm", 12).await;
    browser.press_enter().await;
    browser.wait_for_text("Grace Hopper is disabled").await;
    let person = browser.current_url().await;

    for (width, height) in [LAPTOP, PHONE] {
        browser.resize(width, height).await;
        for path in [
            "/console/users",
            "/console/users/new",
            "/console/clients",
            "/console/clients/new",
            "/console/organizations",
            "/console/audit",
            "/console/audit/events?type=user",
            "/console/audit/chain",
        ] {
            browser.goto(&format!("{}{path}", provider.issuer)).await;
            browser.wait_for_text("Log out").await;
            assert!(
                !browser.scrolls_sideways().await,
                "{path} needs a sideways scroll at {width}×{height}"
            );
        }
        browser.goto(&person).await;
        browser.wait_for_text("Log out").await;
        assert!(
            !browser.scrolls_sideways().await,
            "a person's page needs a sideways scroll at {width}×{height}"
        );
    }
    browser.quit().await;
}
