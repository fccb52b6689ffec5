//! What admins do in the console besides people's status, through the real binary: a
//! client with every field, its secret shown once, rotated and deleted after a
//! confirmation; an organization's admins and auditors granted and revoked; a person's
//! devices forgotten one or all, one session ended, password and MFA reset, sign-in locks
//! lifted. Each action asks first and records nothing until confirmed; each records
//! events naming the admin, their console session and their address — and no secret.

use serde_json::Value;
use verity_testkit::{Device, Page, Person, Step};

use crate::console::{by_id, follow, grant, org_id, person_in, post, sign_in};
use crate::provider::{Browser, Provider};
use crate::support::json_lines;

/// The log's events after position `since`.
fn recorded_since(provider: &Provider, since: u64) -> Vec<Value> {
    json_lines(
        &provider
            .target
            .ok(&["events", "export", "--since", &since.to_string()]),
    )
}

/// The log's head position.
fn head(provider: &Provider) -> u64 {
    recorded_since(provider, 0)
        .last()
        .and_then(|event| event["position"].as_u64())
        .unwrap_or(0)
}

/// Asserts that something was recorded after `since`, every event of it naming the
/// console admin `admin_id` in a session and with the client's address (or Verity
/// itself, for what follows from it), and that none holds `secret`; returns the events.
#[track_caller]
fn recorded_by_admin(provider: &Provider, since: u64, admin_id: &str, secret: &str) -> Vec<Value> {
    let events = recorded_since(provider, since);
    assert!(!events.is_empty(), "the action recorded nothing");
    let mut by_admin = 0;
    for event in &events {
        let metadata = &event["metadata"];
        let actor = &metadata["actor"];
        if actor["kind"] == "system" {
            continue;
        }
        assert_eq!(actor["kind"], "user", "{event}");
        assert_eq!(actor["user_id"], admin_id, "{event}");
        assert!(actor["sid"].is_string(), "the admin's session: {event}");
        assert!(metadata["client_ip"].is_string(), "the address: {event}");
        by_admin += 1;
    }
    assert!(by_admin > 0, "an event names the admin: {events:?}");
    if !secret.is_empty() {
        assert!(
            !events
                .iter()
                .any(|event| event.to_string().contains(secret)),
            "no secret in the log"
        );
    }
    events
}

/// The types of `events`.
fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|event| event["type"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Asks for `path` (the question page), checks it asks with "Confirm" and records
/// nothing, then confirms with `fields`: the page the confirmation leads to.
async fn confirm(
    provider: &Provider,
    browser: &mut Browser,
    path: &str,
    fields: &[(&str, String)],
) -> Page {
    let query: Vec<String> = fields
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    let before = head(provider);
    let asked = browser.get(&format!("{path}?{}", query.join("&"))).await;
    assert_eq!(asked.status, 200, "{path}: {}", asked.body);
    assert!(
        asked.says("Are you sure?") && asked.says("Confirm"),
        "{}",
        asked.body
    );
    assert_eq!(head(provider), before, "asking records nothing");
    let mut form = vec![("csrf", asked.csrf().unwrap())];
    form.extend(fields.iter().cloned());
    let done = post(browser, path, &form).await;
    follow(browser, done).await
}

/// An instance admin signed in to the console, and their user id.
async fn admin(provider: &Provider) -> (Browser, String) {
    let (mut ada, ada_id) = person_in(provider, "Default", "ada@example.org", "Ada Lovelace").await;
    grant(provider, "ada@example.org", "instance-admin", None).await;
    let (browser, page) = sign_in(provider, &mut ada, "/console/clients").await;
    assert_eq!(page.status, 200, "{}", page.body);
    (browser, ada_id)
}

/// A client with every field the form has; its secret once; rotated and deleted after a
/// confirmation, each recorded with the admin and without the secret.
#[tokio::test]
async fn a_client_is_created_with_every_field_rotated_and_deleted_after_a_confirmation() {
    let provider = Provider::start().await;
    provider.cli(&["org", "create", "Acme"]).await;
    let (mut browser, ada) = admin(&provider).await;
    let form = browser.get("/console/clients/new").await;
    for label in [
        "Name",
        "Redirect URIs",
        "Post-logout redirect URIs",
        "Back-channel logout URI",
        "Type",
        "Grants",
        "Authentication method",
    ] {
        assert!(form.says(label), "{label} on {}", form.body);
    }
    let acme = org_id(&provider, "Acme");
    let before = head(&provider);
    let created = post(
        &mut browser,
        "/console/clients",
        &[
            ("csrf", form.csrf().unwrap()),
            ("name", "Payroll".into()),
            ("org", acme.clone()),
            ("client_type", "confidential".into()),
            (
                "redirect_uris",
                "https://payroll.example/cb\r\nhttps://payroll.example/cb2".into(),
            ),
            (
                "post_logout_redirect_uris",
                "https://payroll.example/bye".into(),
            ),
            (
                "backchannel_logout_uri",
                "https://payroll.example/backchannel".into(),
            ),
            ("grant_authorization_code", "yes".into()),
            ("grant_refresh_token", "yes".into()),
            ("auth_method", "client_secret_post".into()),
        ],
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let secret = by_id(&created, "client-secret");
    let client_id = by_id(&created, "client-id");
    let registered = recorded_by_admin(&provider, before, &ada, &secret);
    let event = registered
        .iter()
        .find(|event| event["type"] == "client.registered")
        .unwrap();
    let data = event["data"].to_string();
    for value in [
        "Payroll",
        "https://payroll.example/cb2",
        "https://payroll.example/bye",
        "https://payroll.example/backchannel",
        "refresh_token",
        "client_secret_post",
        acme.as_str(),
    ] {
        assert!(data.contains(value), "{value} in {data}");
    }
    let page = browser.get(&format!("/console/clients/{client_id}")).await;
    for shown in [
        "https://payroll.example/cb2",
        "https://payroll.example/bye",
        "https://payroll.example/backchannel",
        "client_secret_post",
        "Acme",
    ] {
        assert!(page.says(shown), "{shown} on {}", page.body);
    }
    assert!(!page.body.contains(&secret), "shown once");

    let before = head(&provider);
    let rotated = confirm(
        &provider,
        &mut browser,
        &format!("/console/clients/{client_id}/rotate-secret"),
        &[],
    )
    .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new_secret = by_id(&rotated, "client-secret");
    assert_ne!(new_secret, secret);
    let events = recorded_by_admin(&provider, before, &ada, &new_secret);
    assert_eq!(types(&events), ["client.secret_rotated"]);

    let before = head(&provider);
    let deleted = confirm(
        &provider,
        &mut browser,
        &format!("/console/clients/{client_id}/delete"),
        &[],
    )
    .await;
    assert_eq!(deleted.heading().as_deref(), Some("Clients"));
    assert!(!deleted.says("Payroll"), "{}", deleted.body);
    let events = recorded_by_admin(&provider, before, &ada, "");
    assert_eq!(types(&events), ["client.deleted"]);
    let gone = browser.get(&format!("/console/clients/{client_id}")).await;
    assert_eq!(gone.status, 404);
}

/// An organization's admins and auditors, granted by address and revoked from the list,
/// each recorded with the admin; an address of another organization is refused.
#[tokio::test]
async fn an_organizations_admins_and_auditors_are_granted_and_revoked() {
    let provider = Provider::start().await;
    provider.cli(&["org", "create", "Acme"]).await;
    let (_, bea) = person_in(&provider, "Acme", "bea@acme.example", "Bea Acme").await;
    person_in(&provider, "Acme", "cid@acme.example", "Cid Acme").await;
    let (mut browser, ada) = admin(&provider).await;
    let acme = org_id(&provider, "Acme");
    let path = format!("/console/organizations/{acme}");
    let page = browser.get(&path).await;
    let csrf = page.csrf().unwrap();
    let roles = format!("{path}/roles");
    for (email, role, said) in [
        (
            "bea@acme.example",
            "org-admin",
            "bea@acme.example is now Org admin.",
        ),
        (
            "cid@acme.example",
            "auditor",
            "cid@acme.example is now Auditor.",
        ),
    ] {
        let before = head(&provider);
        let granted = browser
            .post(&roles, &[("csrf", &csrf), ("email", email), ("role", role)])
            .await;
        assert_eq!(granted.status, 200, "{}", granted.body);
        assert!(granted.says(said), "{}", granted.body);
        let events = recorded_by_admin(&provider, before, &ada, "");
        assert_eq!(types(&events), ["role.granted"]);
        assert_eq!(events[0]["data"]["role"], role);
    }
    let listed = browser.get(&path).await;
    assert!(listed.says("bea@acme.example") && listed.says("cid@acme.example"));

    let before = head(&provider);
    let elsewhere = browser
        .post(
            &roles,
            &[
                ("csrf", &csrf),
                ("email", "ada@example.org"),
                ("role", "auditor"),
            ],
        )
        .await;
    assert_eq!(elsewhere.status, 404, "{}", elsewhere.body);
    assert!(elsewhere.says("No user ada@example.org in organization Acme."));
    assert_eq!(head(&provider), before, "nothing recorded");

    let revoked = browser
        .post(
            &format!("{roles}/revoke"),
            &[
                ("csrf", &csrf),
                ("holder_kind", "person"),
                ("holder", &bea),
                ("role", "org-admin"),
            ],
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert!(revoked.says("bea@acme.example is no longer Org admin."));
    let events = recorded_by_admin(&provider, before, &ada, "");
    assert_eq!(types(&events), ["role.revoked"]);
    let roles_now = provider.target.ok(&["role", "list", "--org", "Acme"]);
    assert!(!roles_now.contains("bea@acme.example"), "{roles_now}");
    assert!(roles_now.contains("cid@acme.example"), "{roles_now}");
}

/// `person` signs in at Verity in a fresh browser, ticking "Remember this device" when
/// `device` says so: a live session (and a trusted device).
async fn signed_in_elsewhere(provider: &Provider, person: &mut Person, device: Device) -> Browser {
    let mut browser = provider.browser();
    let asked = browser.get("/console").await;
    let form = follow(&mut browser, asked).await;
    assert_eq!(form.step(), Step::SignIn, "{}", form.body);
    let back = browser.sign_in_as(&form, person, device).await;
    follow(&mut browser, back).await;
    browser
}

/// A person's devices forgotten one and then all, one session of two ended, the password
/// and MFA reset, sign-in locks lifted: each after "Confirm", each recorded with the
/// admin, their session and their address.
#[tokio::test]
async fn devices_sessions_resets_and_locks_are_handled_and_recorded_with_the_admin() {
    let provider = Provider::start().await;
    let (mut grace, grace_id) =
        person_in(&provider, "Default", "grace@example.org", "Grace Hopper").await;
    // The first sign-in sets up her app (and trusts no device); two more trust theirs.
    let mut browsers = Vec::new();
    for device in [Device::Forget, Device::Remember, Device::Remember] {
        browsers.push(signed_in_elsewhere(&provider, &mut grace, device).await);
    }
    let (mut browser, ada) = admin(&provider).await;
    let path = format!("/console/users/{grace_id}");

    let page = browser.get(&path).await;
    let devices = page.fields("device");
    assert_eq!(devices.len(), 2, "two trusted devices: {}", page.body);
    let sessions = page.fields("sid");
    assert_eq!(sessions.len(), 3, "three live sessions: {}", page.body);

    // One device, then all.
    let before = head(&provider);
    let forgot = confirm(
        &provider,
        &mut browser,
        &format!("{path}/forget-device"),
        &[("device", devices[0].clone())],
    )
    .await;
    assert!(
        forgot.says("1 trusted devices of Grace Hopper forgotten."),
        "{}",
        forgot.body
    );
    assert_eq!(forgot.fields("device").len(), 1);
    let events = recorded_by_admin(&provider, before, &ada, "");
    assert_eq!(types(&events), ["user.device.forgotten"]);
    let before = head(&provider);
    let forgot = confirm(
        &provider,
        &mut browser,
        &format!("{path}/forget-devices"),
        &[],
    )
    .await;
    assert!(
        forgot.says("1 trusted devices of Grace Hopper forgotten."),
        "{}",
        forgot.body
    );
    assert!(forgot.says("No trusted device."));
    recorded_by_admin(&provider, before, &ada, "");

    // One session of two.
    let before = head(&provider);
    let ended = confirm(
        &provider,
        &mut browser,
        &format!("{path}/end-session"),
        &[("sid", sessions[0].clone())],
    )
    .await;
    assert!(
        ended.says("The session of Grace Hopper has ended."),
        "{}",
        ended.body
    );
    assert_eq!(ended.fields("sid"), sessions[1..]);
    let events = recorded_by_admin(&provider, before, &ada, "");
    assert!(
        types(&events).contains(&"session.ended".to_owned()),
        "{events:?}"
    );
    let mut signed_out = 0;
    for browser in &mut browsers {
        if browser.account().await.says("You are not signed in") {
            signed_out += 1;
        }
    }
    assert_eq!(signed_out, 1, "exactly one browser was signed out");

    // A failed password, counted; "Unlock" forgets it.
    let mut stranger = provider.browser();
    let asked = stranger.get("/console").await;
    let form = follow(&mut stranger, asked).await;
    stranger
        .sign_in(&form, "grace@example.org", "not her password")
        .await;
    let before = head(&provider);
    let unlocked = confirm(&provider, &mut browser, &format!("{path}/unlock"), &[]).await;
    assert!(
        unlocked.says("Grace Hopper is unlocked."),
        "{}",
        unlocked.body
    );
    let events = recorded_by_admin(&provider, before, &ada, "");
    assert_eq!(types(&events), ["user.unlocked"]);

    // Reset MFA, then the password (the email goes to the outbox).
    let before = head(&provider);
    let reset = confirm(&provider, &mut browser, &format!("{path}/reset-mfa"), &[]).await;
    assert!(
        reset.says("The MFA of Grace Hopper was reset"),
        "{}",
        reset.body
    );
    assert!(reset.says("Not set up"));
    let events = recorded_by_admin(&provider, before, &ada, "");
    assert!(
        types(&events).contains(&"user.totp.reset".to_owned()),
        "{events:?}"
    );
    let before = head(&provider);
    let reset = confirm(
        &provider,
        &mut browser,
        &format!("{path}/reset-password"),
        &[],
    )
    .await;
    assert!(
        reset.says("The password of Grace Hopper was reset; the email with a temporary one went to grace@example.org."),
        "{}",
        reset.body
    );
    let events = recorded_by_admin(&provider, before, &ada, "");
    assert!(
        types(&events).contains(&"user.temporary_password.issued".to_owned()),
        "{events:?}"
    );
}

/// "Erase", after a question that says it cannot be undone: the person's session ends,
/// they are found nowhere in the console, their history keeps its events with the
/// personal fields erased, the erasure is recorded with the admin, and the log still
/// verifies. An auditor's "Erase" posted by hand changes nothing.
#[tokio::test]
async fn a_person_is_erased_after_a_confirmation_and_found_nowhere() {
    let provider = Provider::start().await;
    let (mut grace, grace_id) =
        person_in(&provider, "Default", "grace@example.org", "Grace Hopper").await;
    let mut graces_browser = signed_in_elsewhere(&provider, &mut grace, Device::Forget).await;
    let (mut carol, _) =
        person_in(&provider, "Default", "carol@example.org", "Carol Auditor").await;
    grant(&provider, "carol@example.org", "auditor", None).await;
    let (mut browser, ada) = admin(&provider).await;
    let path = format!("/console/users/{grace_id}");
    let page = browser.get(&path).await;
    assert!(page.says(">Erase<"), "{}", page.body);

    // The auditor sees no button, and a hand-made post is refused.
    let (mut auditor, _) = sign_in(&provider, &mut carol, &path).await;
    let seen = auditor.get(&path).await;
    assert!(!seen.says(">Erase<"), "{}", seen.body);
    let before = head(&provider);
    let refused = auditor
        .post(&format!("{path}/erase"), &[("csrf", &seen.csrf().unwrap())])
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(head(&provider), before, "nothing recorded");

    let asked = browser.get(&format!("{path}/erase")).await;
    assert!(
        asked.says("Erase Grace Hopper for good?") && asked.says("This cannot be undone."),
        "{}",
        asked.body
    );
    let erased = confirm(&provider, &mut browser, &format!("{path}/erase"), &[]).await;
    assert_eq!(
        erased.heading().as_deref(),
        Some("Users"),
        "{}",
        erased.body
    );
    assert!(
        erased.says("The person is erased: their personal details can no longer be read"),
        "{}",
        erased.body
    );
    assert!(!erased.says("grace@example.org"), "{}", erased.body);
    let events = recorded_by_admin(&provider, before, &ada, "");
    assert!(
        types(&events).contains(&"user.erased".to_owned()),
        "{events:?}"
    );

    // Her session ended; nobody finds her; her page is gone; the log verifies.
    assert!(graces_browser.account().await.says("You are not signed in"));
    let searched = browser.get("/console/users?q=grace").await;
    assert!(searched.says("0 found"), "{}", searched.body);
    assert_eq!(browser.get(&path).await.status, 404);
    let timeline = browser
        .get(&format!("/console/audit/person?id={grace_id}"))
        .await;
    assert_eq!(timeline.status, 200, "{}", timeline.body);
    assert!(!timeline.says("grace@example.org") && !timeline.says("Grace Hopper"));
    assert!(timeline.says("account created"), "{}", timeline.body);
    assert!(
        timeline.says(">Erased<"),
        "the account now: {}",
        timeline.body
    );
    provider.target.ok(&["audit", "verify"]);
}
