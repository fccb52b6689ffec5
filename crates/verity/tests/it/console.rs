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

/// Creates `email` in `org` with the CLI, as the operator would: what they know.
pub fn person_in(provider: &Provider, org: &str, email: &str, name: &str) -> Person {
    let created = json_lines(&provider.target.ok(&[
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
    ]));
    Person::new(
        email,
        created[0]["temporary_password"].as_str().unwrap(),
    )
}

/// Grants `role` (in `org`, when given) with the CLI.
pub fn grant(provider: &Provider, email: &str, role: &str, org: Option<&str>) {
    let mut args = vec!["role", "grant", email, role];
    if let Some(org) = org {
        args.extend(["--org", org]);
    }
    provider.target.ok(&args);
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
    let mut ada = person_in(provider, "Default", "ada@example.org", "Ada Lovelace");
    grant(provider, "ada@example.org", "instance-admin", None);
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
    let mut ada = person_in(&provider, "Default", "ada@example.org", "Ada Lovelace");
    grant(&provider, "ada@example.org", "instance-admin", None);
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
    for label in ["Users", "Clients", "Organizations", "Log out", "ada@example.org"] {
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
    let mut bob = person_in(&provider, "Default", "bob@example.org", "Bob Nobody");
    person_in(&provider, "Default", "carol@example.org", "Carol Private");
    let (mut browser, page) = sign_in(&provider, &mut bob, "/console/clients").await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.says("You have no access to the console"), "{}", page.body);
    assert!(page.says("Log out"));
    for secret in ["carol@example.org", "verity-console", "Clients</a>", "Default"] {
        assert!(!page.body.contains(secret), "{secret} on {}", page.body);
    }
    for path in ["/console/users", "/console/organizations", "/console/clients/verity-console"] {
        let page = browser.get(path).await;
        assert_eq!(page.status, 403, "{path}");
        assert!(!page.body.contains("carol@example.org"));
    }

    grant(&provider, "bob@example.org", "auditor", None);
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
            .post("/console/organizations", &[("csrf", forged), ("name", "Acme")])
            .await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert!(refused.says("This form could not be verified"));
    }
    assert_eq!(event_count(&provider), before, "nothing was recorded");

    let csrf = page.csrf().unwrap();
    let taken = browser
        .post("/console/organizations", &[("csrf", &csrf), ("name", "Default")])
        .await;
    assert_eq!(taken.status, 409, "{}", taken.body);
    assert!(taken.says("An organization named \"Default\" already exists."), "{}", taken.body);
    assert_eq!(event_count(&provider), before);

    let created = browser
        .post("/console/organizations", &[("csrf", &csrf), ("name", "Acme")])
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
    provider.target.ok(&["org", "create", "Acme"]);
    provider.target.ok(&["org", "create", "Globex"]);
    let acme_app = provider
        .target
        .ok(&["client", "create", "--org", "Globex", "--name", "Globex app", "--redirect-uri", "https://globex.example/cb", "--json"]);
    let globex_id = json_lines(&acme_app)[0]["client_id"].as_str().unwrap().to_owned();

    let csrf = page.csrf().unwrap();
    let refused = admin
        .post("/console/clients/verity-console/delete", &[("csrf", &csrf)])
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.says("Verity manages it"));

    let mut bea = person_in(&provider, "Acme", "bea@acme.example", "Bea Acme");
    grant(&provider, "bea@acme.example", "org-admin", Some("Acme"));
    let (mut browser, page) = sign_in(&provider, &mut bea, "/console/clients").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.says("Globex app") && !page.says("verity-console"), "{}", page.body);
    assert!(!page.says("Organizations</a>"), "no organizations for an org admin");
    let theirs = browser.get(&format!("/console/clients/{globex_id}")).await;
    assert_eq!(theirs.status, 404, "{}", theirs.body);

    let form = browser.get("/console/clients/new").await;
    assert!(form.says("Acme") && !form.says("Every organization") && !form.says("Globex"));
    let csrf = form.csrf().unwrap();
    let fields = |org: String| {
        vec![
            ("csrf".to_owned(), csrf.clone()),
            ("name".to_owned(), "Acme portal".to_owned()),
            ("org".to_owned(), org),
            ("client_type".to_owned(), "confidential".to_owned()),
            ("redirect_uris".to_owned(), "https://acme.example/cb".to_owned()),
            ("grant_authorization_code".to_owned(), "yes".to_owned()),
        ]
    };
    let as_refs = |fields: &[(String, String)]| -> Vec<(String, String)> { fields.to_vec() };
    let before = event_count(&provider);
    // Beyond their role: a client of the whole instance.
    let instance_wide = as_refs(&fields(String::new()));
    let pairs: Vec<(&str, &str)> = instance_wide.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let refused = browser.post("/console/clients", &pairs).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(event_count(&provider), before, "nothing was recorded");

    let acme = json_lines(&provider.target.ok(&["org", "list", "--json"]))
        .into_iter()
        .find(|org| org["name"] == "Acme")
        .unwrap();
    let own = fields(acme["org_id"].as_str().unwrap().to_owned());
    let pairs: Vec<(&str, &str)> = own.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let created = browser.post("/console/clients", &pairs).await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert!(created.says("shown only now"));
    let secret = created.body.split("id=\"client-secret\">").nth(1).unwrap();
    assert!(secret.len() > 20);
    // Shown once: the client's page never shows it again.
    let client_id = created
        .body
        .split("id=\"client-id\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    let again = browser.get(&format!("/console/clients/{client_id}")).await;
    let secret_text = secret.split('<').next().unwrap();
    assert!(!again.body.contains(secret_text));
    let listed = admin.get("/console/clients").await;
    assert!(listed.says("Acme portal") && listed.says("Globex app"));
}
