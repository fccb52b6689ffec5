//! The admin console through the real binary, with the test kit's browser: the console
//! signs admins in as a client of Verity (a code at every sign-in for anyone holding a
//! role), its session ends with the SSO session it came from, someone without a role
//! gets 403 and no data, organizations are kept apart (by address too), and bad input —
//! a taken address, a forged form token, an admin acting beyond their role — gets a
//! clear answer and changes nothing. Chromium drives it in `console_browser.rs`.

use verity_testkit::{Device, Page, Person, Step};

use crate::provider::{Browser, Provider};
use crate::support::json_lines;

/// Follows redirects (within Verity and to the console's callback) to the page they
/// lead to.
pub async fn follow(browser: &mut Browser, mut page: Page) -> Page {
    for _ in 0..10 {
        let Some(location) = page.location().map(str::to_owned) else {
            return page;
        };
        if page.step() != Step::Redirect {
            return page;
        }
        page = browser.get(&location).await;
    }
    panic!("more than 10 redirects, the last to {:?}", page.location());
}

/// Creates `email` in `org` with the CLI, as the operator would: what they know, and
/// their user id.
pub async fn person_in(
    provider: &Provider,
    org: &str,
    email: &str,
    name: &str,
) -> (Person, String) {
    let created = json_lines(
        &provider
            .cli(&[
                "user",
                "create",
                "--org",
                org,
                "--email",
                email,
                "--name",
                name,
                "--json",
                "--show-password",
            ])
            .await,
    );
    let person = Person::new(email, created[0]["temporary_password"].as_str().unwrap());
    (person, created[0]["user_id"].as_str().unwrap().to_owned())
}

/// Grants `role` (in `org`, when given) with the CLI.
pub async fn grant(provider: &Provider, email: &str, role: &str, org: Option<&str>) {
    let mut args = vec!["role", "grant", email, role];
    if let Some(org) = org {
        args.extend(["--org", org]);
    }
    provider.cli(&args).await;
}

/// `person` opens the console in a fresh browser and signs in through the journey the
/// console sends them to (a first sign-in sets a password and an app): the browser and
/// the console page they land on.
pub async fn sign_in(provider: &Provider, person: &mut Person, path: &str) -> (Browser, Page) {
    let mut browser = provider.browser();
    let asked = browser.get(path).await;
    assert_eq!(asked.status, 303, "{}", asked.body);
    let form = follow(&mut browser, asked).await;
    assert_eq!(form.step(), Step::SignIn, "{}", form.body);
    let back = browser.sign_in_as(&form, person, Device::Forget).await;
    let page = follow(&mut browser, back).await;
    (browser, page)
}

/// Posts `fields` (owned values) as a form.
pub async fn post(browser: &mut Browser, path: &str, fields: &[(&str, String)]) -> Page {
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    browser.post(path, &pairs).await
}

/// The text of the element with `id` on `page`.
pub fn by_id(page: &Page, id: &str) -> String {
    page.body
        .split(&format!("id=\"{id}\""))
        .nth(1)
        .and_then(|rest| rest.split_once('>'))
        .and_then(|(_, rest)| rest.split('<').next())
        .unwrap_or_else(|| panic!("no element {id} on {}", page.body))
        .to_owned()
}

/// The id of the organization named `name`.
pub fn org_id(provider: &Provider, name: &str) -> String {
    json_lines(&provider.target.ok(&["org", "list", "--json"]))
        .into_iter()
        .find(|org| org["name"] == name)
        .and_then(|org| org["org_id"].as_str().map(str::to_owned))
        .unwrap()
}

/// The events of `event_type` in the log.
fn events(provider: &Provider, event_type: &str) -> Vec<serde_json::Value> {
    provider.events(event_type)
}

/// How many events the log holds.
fn event_count(provider: &Provider) -> usize {
    provider.target.ok(&["events", "export"]).lines().count()
}

/// An instance admin of the Default organization, signed in to the console.
async fn instance_admin(provider: &Provider) -> (Browser, Person, Page) {
    let (mut ada, _) = person_in(provider, "Default", "ada@example.org", "Ada Lovelace").await;
    grant(provider, "ada@example.org", "instance-admin", None).await;
    let (browser, page) = sign_in(provider, &mut ada, "/console/clients").await;
    (browser, ada, page)
}

/// An admin opens the console: off to Verity's sign-in as the console's client (PKCE),
/// the journey with a code, back to the page they asked for; every console answer is
/// `no-store`, carries the CSP without script, and the sign-in is recorded as a session
/// of the console's client.
#[tokio::test]
async fn an_admin_signs_in_to_the_console_through_verity_with_a_code() {
    let provider = Provider::start().await;
    let (mut ada, _) = person_in(&provider, "Default", "ada@example.org", "Ada Lovelace").await;
    grant(&provider, "ada@example.org", "instance-admin", None).await;
    let mut browser = provider.browser();

    let asked = browser.get("/console/clients").await;
    assert_eq!(asked.status, 303);
    assert_eq!(
        asked.location(),
        Some("/console/signin?next=%2Fconsole%2Fclients")
    );
    assert_eq!(asked.header("cache-control"), Some("no-store"));
    let to_authorize = browser.get(asked.location().unwrap()).await;
    let authorize = to_authorize.location().unwrap().to_owned();
    assert!(authorize.starts_with("/authorize?"), "{authorize}");
    for parameter in [
        "client_id=verity-console",
        "code_challenge_method=S256",
        "response_type=code",
        "scope=openid",
    ] {
        assert!(authorize.contains(parameter), "{parameter} in {authorize}");
    }
    let form = browser.get(&authorize).await;
    let back = browser.sign_in_as(&form, &mut ada, Device::Remember).await;
    assert!(
        back.location()
            .unwrap()
            .starts_with(&format!("{}/console/callback?code=", provider.issuer)),
        "{:?}",
        back.location()
    );
    let landed = follow(&mut browser, back).await;
    assert_eq!(landed.status, 200, "{}", landed.body);
    assert_eq!(landed.heading().as_deref(), Some("Clients"));
    assert_eq!(landed.header("cache-control"), Some("no-store"));
    let policy = landed.header("content-security-policy").unwrap();
    assert!(policy.starts_with("default-src 'none'"), "{policy}");
    assert!(!landed.body.contains("<script"));
    for label in [
        "Users",
        "Clients",
        "Organizations",
        "Log out",
        "ada@example.org",
    ] {
        assert!(landed.says(label), "{label} on {}", landed.body);
    }
    let started = events(&provider, "session.started");
    assert_eq!(
        started.last().unwrap()["data"]["client_id"],
        "verity-console"
    );
    let signed_in = events(&provider, "user.signin.succeeded");
    assert_eq!(signed_in.last().unwrap()["data"]["amr"][1], "otp");

    // The callback's answer is single use: replaying it signs nobody in.
    let mut stranger = provider.browser();
    let replayed = stranger.get("/console/callback?code=x&state=y").await;
    assert_eq!(replayed.status, 400);
    assert!(replayed.says("took too long or was already used"));
}

/// Someone holding no role signs in and gets the 403 page: no navigation, no person, no
/// client; only "Log out". A role granted later takes effect at the next click.
#[tokio::test]
async fn someone_without_a_role_gets_403_and_no_data() {
    let provider = Provider::start().await;
    let (mut bob, _) = person_in(&provider, "Default", "bob@example.org", "Bob Nobody").await;
    person_in(&provider, "Default", "carol@example.org", "Carol Private").await;
    let (mut browser, page) = sign_in(&provider, &mut bob, "/console/clients").await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(
        page.says("You have no access to the console"),
        "{}",
        page.body
    );
    assert!(page.says("Log out"));
    for secret in [
        "carol@example.org",
        "verity-console",
        "Clients</a>",
        "Default",
    ] {
        assert!(!page.body.contains(secret), "{secret} on {}", page.body);
    }
    for path in [
        "/console/users",
        "/console/organizations",
        "/console/clients/verity-console",
    ] {
        let page = browser.get(path).await;
        assert_eq!(page.status, 403, "{path}");
        assert!(!page.body.contains("carol@example.org"));
    }

    grant(&provider, "bob@example.org", "auditor", None).await;
    let mut allowed = browser.get("/console/clients").await;
    for _ in 0..40 {
        if allowed.status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        allowed = browser.get("/console/clients").await;
    }
    assert_eq!(allowed.status, 200, "{}", allowed.body);
    assert!(allowed.says("verity-console"));
}

/// "Log out" ends the console session and the SSO session: the next console page asks
/// for a sign-in with the password, Verity's own page knows nobody, and the session's end
/// is recorded as a logout.
#[tokio::test]
async fn log_out_ends_the_console_session_and_the_sso_session() {
    let provider = Provider::start().await;
    let (mut browser, _ada, page) = instance_admin(&provider).await;
    let csrf = page.csrf().unwrap();
    let out = browser.post("/console/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 200, "{}", out.body);
    assert!(out.says("You are signed out of the console and of Verity."));
    assert!(!browser.has_cookie("verity_console"));

    let again = browser.get("/console/clients").await;
    assert_eq!(again.status, 303);
    let form = follow(&mut browser, again).await;
    assert_eq!(form.step(), Step::SignIn, "the password is asked again");
    let home = browser.account().await;
    assert!(home.says("You are not signed in"));
    let ended = events(&provider, "session.ended");
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0]["data"]["reason"], "logout");
    assert_eq!(ended[0]["data"]["client_id"], "verity-console");
}

/// The console stops answering when its SSO session ends anywhere else: here the admin
/// signs out everywhere from Verity's own page in the same browser.
#[tokio::test]
async fn the_console_stops_answering_when_its_sso_session_ends() {
    let provider = Provider::start().await;
    let (mut browser, _ada, _page) = instance_admin(&provider).await;
    let home = browser.account().await;
    let csrf = home.csrf().unwrap();
    browser.post("/sessions/end-all", &[("csrf", &csrf)]).await;
    // A copy of the console's cookie kept by someone else does not help either.
    let asked = browser.get("/console/clients").await;
    assert_eq!(asked.status, 303, "{}", asked.body);
    assert!(asked.location().unwrap().starts_with("/console/signin"));
}

/// A form of the console without the session's token, or with another's, changes nothing
/// and says why; so does an organization's name that is taken.
#[tokio::test]
async fn a_forged_form_token_or_a_taken_name_changes_nothing() {
    let provider = Provider::start().await;
    let (mut browser, _ada, page) = instance_admin(&provider).await;
    let before = event_count(&provider);
    for forged in ["", "0000", &"a".repeat(64)] {
        let refused = browser
            .post(
                "/console/organizations",
                &[("csrf", forged), ("name", "Acme")],
            )
            .await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert!(refused.says("This form could not be verified"));
    }
    assert_eq!(event_count(&provider), before, "nothing was recorded");

    let csrf = page.csrf().unwrap();
    let taken = browser
        .post(
            "/console/organizations",
            &[("csrf", &csrf), ("name", "Default")],
        )
        .await;
    assert_eq!(taken.status, 409, "{}", taken.body);
    assert!(
        taken.says("An organization named \"Default\" already exists."),
        "{}",
        taken.body
    );
    assert_eq!(event_count(&provider), before);

    let created = browser
        .post(
            "/console/organizations",
            &[("csrf", &csrf), ("name", "Acme")],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let org = events(&provider, "org.created");
    let actor = &org.last().unwrap()["metadata"]["actor"];
    assert_eq!(actor["kind"], "user", "the admin is named: {actor}");
    assert!(actor["sid"].is_string(), "with their session: {actor}");
}

/// An org admin sees and makes only their organization's clients; another
/// organization's client, by address, does not exist for them; the console's own client
/// cannot be deleted by anyone.
#[tokio::test]
async fn clients_are_kept_to_their_organization_and_the_consoles_own_is_kept() {
    let provider = Provider::start().await;
    let (mut admin, _ada, page) = instance_admin(&provider).await;
    provider.cli(&["org", "create", "Acme"]).await;
    provider.cli(&["org", "create", "Globex"]).await;
    let globex_app = provider
        .cli(&[
            "client",
            "create",
            "--org",
            "Globex",
            "--name",
            "Globex app",
            "--redirect-uri",
            "https://globex.example/cb",
            "--json",
        ])
        .await;
    let globex_id = json_lines(&globex_app)[0]["client_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let csrf = page.csrf().unwrap();
    let refused = admin
        .post("/console/clients/verity-console/delete", &[("csrf", &csrf)])
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.says("Verity manages it"));

    let (mut bea, _) = person_in(&provider, "Acme", "bea@acme.example", "Bea Acme").await;
    grant(&provider, "bea@acme.example", "org-admin", Some("Acme")).await;
    let (mut browser, page) = sign_in(&provider, &mut bea, "/console/clients").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        !page.says("Globex app") && !page.says("verity-console"),
        "{}",
        page.body
    );
    assert!(
        !page.says("Organizations</a>"),
        "no organizations for an org admin"
    );
    let theirs = browser.get(&format!("/console/clients/{globex_id}")).await;
    assert_eq!(theirs.status, 404, "{}", theirs.body);

    let form = browser.get("/console/clients/new").await;
    assert!(form.says("Acme") && !form.says("Every organization") && !form.says("Globex"));
    let csrf = form.csrf().unwrap();
    let client_form = |org: &'static str| -> Vec<(&'static str, String)> {
        vec![
            ("csrf", csrf.clone()),
            ("name", "Acme portal".into()),
            ("org", org.into()),
            ("client_type", "confidential".into()),
            ("redirect_uris", "https://acme.example/cb".into()),
            ("grant_authorization_code", "yes".into()),
        ]
    };
    let before = event_count(&provider);
    // Beyond their role: a client of the whole instance.
    let refused = post(&mut browser, "/console/clients", &client_form("")).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(event_count(&provider), before, "nothing was recorded");

    let acme = org_id(&provider, "Acme");
    let mut own = client_form("");
    own[2].1 = acme;
    let created = post(&mut browser, "/console/clients", &own).await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert!(created.says("shown only now"));
    let secret = by_id(&created, "client-secret");
    assert!(secret.len() >= 32, "{secret}");
    // Shown once: the client's page never shows it again.
    let client_id = by_id(&created, "client-id");
    let again = browser.get(&format!("/console/clients/{client_id}")).await;
    assert_eq!(again.status, 200);
    assert!(!again.body.contains(&secret));
    let listed = admin.get("/console/clients").await;
    assert!(listed.says("Acme portal") && listed.says("Globex app"));
}

/// An org admin's Users page lists their organization's people only; searching is by
/// part of an address or a name in any case; another organization's person — in the
/// list, by address, in an action by address — does not exist for them, and nothing
/// happens to them.
#[tokio::test]
async fn an_org_admin_sees_and_opens_only_their_organizations_people() {
    let provider = Provider::start().await;
    provider.cli(&["org", "create", "Acme"]).await;
    provider.cli(&["org", "create", "Globex"]).await;
    let (mut bea, _) = person_in(&provider, "Acme", "bea@acme.example", "Bea Acme").await;
    person_in(&provider, "Acme", "amy.pond@acme.example", "Amy Pond").await;
    let (_, gus) = person_in(&provider, "Globex", "gus@globex.example", "Gus Globex").await;
    grant(&provider, "bea@acme.example", "org-admin", Some("Acme")).await;
    let (mut browser, page) = sign_in(&provider, &mut bea, "/console").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.heading().as_deref(), Some("Users"));
    let listed = |page: &Page, email: &str| page.body.contains(&format!(">{email}</a>"));
    assert!(listed(&page, "amy.pond@acme.example") && listed(&page, "bea@acme.example"));
    assert!(!page.says("gus@globex.example") && !page.says("Globex"));
    assert!(page.says("2 found"));

    let found = browser.get("/console/users?q=POND").await;
    assert!(listed(&found, "amy.pond@acme.example") && !listed(&found, "bea@acme.example"));
    assert!(found.says("1 found"));
    let none = browser.get("/console/users?q=gus").await;
    assert!(none.says("No one matches.") && none.says("0 found"));

    let globex = org_id(&provider, "Globex");
    for path in [
        format!("/console/users?org={globex}"),
        format!("/console/users/{gus}"),
        format!("/console/users/{gus}/disable"),
        format!("/console/organizations/{globex}"),
    ] {
        let refused = browser.get(&path).await;
        assert_eq!(refused.status, 404, "{path}: {}", refused.body);
        assert!(!refused.says("gus@globex.example") && !refused.says("Gus Globex"));
    }
    let before = event_count(&provider);
    let csrf = page.csrf().unwrap();
    let disabled = browser
        .post(&format!("/console/users/{gus}/disable"), &[("csrf", &csrf)])
        .await;
    assert_eq!(disabled.status, 404, "{}", disabled.body);
    let renamed = browser
        .post(
            &format!("/console/users/{gus}/details"),
            &[
                ("csrf", &csrf),
                ("name", "Mallory"),
                ("email", "gus@globex.example"),
            ],
        )
        .await;
    assert_eq!(renamed.status, 404, "{}", renamed.body);
    assert_eq!(event_count(&provider), before, "nothing happened to Gus");
}

/// "Create user": the person gets the temporary-password email (here into the outbox)
/// and their page opens; the same address again is refused with a clear message and
/// records nothing.
#[tokio::test]
async fn creating_a_person_opens_their_page_and_a_taken_address_changes_nothing() {
    let provider = Provider::start().await;
    let (mut browser, _ada, _page) = instance_admin(&provider).await;
    let form = browser.get("/console/users/new").await;
    assert_eq!(form.status, 200);
    for label in ["Create user", "Email", "Name", "Create"] {
        assert!(form.says(label), "{label}");
    }
    let fields = |email: &str| -> Vec<(&'static str, String)> {
        vec![
            ("csrf", form.csrf().unwrap()),
            ("org", org_id(&provider, "Default")),
            ("email", email.to_owned()),
            ("name", "Grace Hopper".into()),
        ]
    };
    let outbox = provider.target.dir.path().join("data").join("outbox");
    let emails = || std::fs::read_dir(&outbox).unwrap().count();
    let sent_before = emails();
    let created = post(&mut browser, "/console/users", &fields("grace@example.org")).await;
    assert_eq!(created.status, 303, "{}", created.body);
    let page = follow(&mut browser, created).await;
    assert_eq!(page.heading().as_deref(), Some("Grace Hopper"));
    assert!(page.says("Created. The email with the temporary password went to grace@example.org."));
    assert!(page.says("Active"));
    assert_eq!(emails(), sent_before + 1, "one email");
    let created = events(&provider, "user.created");
    assert_eq!(created.last().unwrap()["metadata"]["actor"]["kind"], "user");

    let before = event_count(&provider);
    let taken = post(&mut browser, "/console/users", &fields("GRACE@example.org")).await;
    assert_eq!(taken.status, 409, "{}", taken.body);
    assert!(
        taken.says("Grace@example.org already has an account in organization Default.")
            || taken.says("grace@example.org already has an account"),
        "{}",
        taken.body
    );
    assert_eq!(
        taken.field("email").as_deref(),
        Some("GRACE@example.org"),
        "kept"
    );
    let malformed = post(&mut browser, "/console/users", &fields("not an address")).await;
    assert_eq!(malformed.status, 400, "{}", malformed.body);
    assert_eq!(event_count(&provider), before, "nothing was recorded");
    assert_eq!(emails(), sent_before + 1, "no email either");
}

/// Each action on a person's page asks first ("Are you sure?" with "Confirm"), then acts
/// as the admin in their session: disabling ends the person's sessions; enabling,
/// renaming and readdressing are recorded with the values before and after, and the
/// history names the admin.
#[tokio::test]
async fn a_persons_actions_ask_first_and_are_recorded_with_the_admin() {
    let provider = Provider::start().await;
    let (mut browser, _ada, _page) = instance_admin(&provider).await;
    let (mut grace, grace_id) =
        person_in(&provider, "Default", "grace@example.org", "Grace Hopper").await;
    // Grace signs in somewhere: a live session for the admin to end.
    let (mut graces_browser, _) = sign_in(&provider, &mut grace, "/console").await;
    let own_page = graces_browser.account().await;
    assert!(own_page.says("grace@example.org"));

    let page = browser.get(&format!("/console/users/{grace_id}")).await;
    for label in [
        "Grace Hopper",
        "Active",
        "Disable",
        "Reset password",
        "Reset MFA",
        "Unlock",
        "Sign out everywhere",
        "Devices",
        "Sessions",
        "History",
    ] {
        assert!(page.says(label), "{label} on {}", page.body);
    }
    let asked = browser
        .get(&format!("/console/users/{grace_id}/disable"))
        .await;
    assert_eq!(asked.status, 200);
    assert!(asked.says("Are you sure?") && asked.says("Disable Grace Hopper?"));
    assert!(asked.says("Confirm"));
    assert_eq!(
        events(&provider, "user.disabled").len(),
        0,
        "asking does nothing"
    );
    let csrf = asked.csrf().unwrap();
    let done = browser
        .post(
            &format!("/console/users/{grace_id}/disable"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(done.status, 303);
    let page = follow(&mut browser, done).await;
    assert!(page.says("Grace Hopper is disabled"), "{}", page.body);
    assert_eq!(by_id(&page, "status"), "Disabled");
    assert!(page.says("Enable"));
    let disabled = events(&provider, "user.disabled");
    let actor = &disabled[0]["metadata"]["actor"];
    assert_eq!(actor["kind"], "user");
    assert!(actor["sid"].is_string(), "{actor}");
    assert!(disabled[0]["metadata"]["client_ip"].is_string());
    // Her session ended with it.
    assert!(graces_browser.account().await.says("You are not signed in"));

    browser
        .post(
            &format!("/console/users/{grace_id}/enable"),
            &[("csrf", &csrf)],
        )
        .await;
    let renamed = browser
        .post(
            &format!("/console/users/{grace_id}/details"),
            &[
                ("csrf", &csrf),
                ("name", "Grace B. Hopper"),
                ("email", "grace.hopper@example.org"),
            ],
        )
        .await;
    assert_eq!(renamed.status, 303, "{}", renamed.body);
    let page = follow(&mut browser, renamed).await;
    assert_eq!(page.heading().as_deref(), Some("Grace B. Hopper"));
    assert!(page.says("Saved."));
    let changed = events(&provider, "user.email.changed");
    assert_eq!(changed.len(), 1);
    assert!(changed[0]["data"].to_string().contains("grace@example.org"));
    assert!(
        changed[0]["data"]
            .to_string()
            .contains("grace.hopper@example.org")
    );
    // The history, newest first, names the admin.
    let history = page
        .text()
        .split("id=\"history\"")
        .nth(1)
        .unwrap()
        .to_owned();
    assert!(history.contains("ada@example.org"), "{history}");
    assert!(history.contains("the person themselves"), "{history}");
}

/// An auditor reads people but changes nothing: no buttons, and an action posted by hand
/// is refused as beyond their role, with nothing recorded.
#[tokio::test]
async fn an_auditor_reads_but_an_action_beyond_their_role_changes_nothing() {
    let provider = Provider::start().await;
    let (mut carol, _) =
        person_in(&provider, "Default", "carol@example.org", "Carol Auditor").await;
    let (_, grace) = person_in(&provider, "Default", "grace@example.org", "Grace Hopper").await;
    grant(&provider, "carol@example.org", "auditor", None).await;
    let (mut browser, _) = sign_in(&provider, &mut carol, "/console").await;
    let page = browser.get(&format!("/console/users/{grace}")).await;
    assert_eq!(page.status, 200);
    assert!(page.says("Grace Hopper") && page.says("History"));
    assert!(!page.says(">Disable<") && !page.has_form(&format!("/console/users/{grace}/details")));
    let before = event_count(&provider);
    let csrf = page.csrf().unwrap();
    let refused = browser
        .post(
            &format!("/console/users/{grace}/disable"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.says("You may not manage people"),
        "{}",
        refused.body
    );
    let granted = browser
        .post(
            &format!(
                "/console/organizations/{}/roles",
                org_id(&provider, "Default")
            ),
            &[
                ("csrf", &csrf),
                ("email", "carol@example.org"),
                ("role", "org-admin"),
            ],
        )
        .await;
    assert_eq!(granted.status, 403, "{}", granted.body);
    assert_eq!(event_count(&provider), before, "nothing was recorded");
}
