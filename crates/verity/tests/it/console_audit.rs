//! The console's Audit section through the real binary: an auditor reads a person's
//! timeline and their account as it was at an instant, searches the events, recomputes
//! the chain and downloads the export — and changes nothing: no page of theirs offers an
//! action, and actions posted by hand are refused by the admin layer with nothing
//! recorded. An organization's auditor reads their organization only, and neither the
//! chain nor the export (they hold every organization's events). Chromium drives it in
//! `console_browser.rs`.

use verity_testkit::Page;

use crate::console::{grant, org_id, person_in, sign_in};
use crate::provider::Provider;

/// How many events the log holds.
fn event_count(provider: &Provider) -> usize {
    provider.target.ok(&["events", "export"]).lines().count()
}

/// The page's forms that post, other than "Log out".
fn posting_forms(page: &Page) -> Vec<String> {
    page.body
        .split("<form method=\"post\"")
        .skip(1)
        .filter_map(|form| form.split('>').next())
        .filter(|form| !form.contains("/console/logout"))
        .map(str::to_owned)
        .collect()
}

/// An instance auditor reads every Audit page; their pages offer no action; the events
/// they see say who did what, when and from where; the account at an instant before a
/// change is the account before it; the chain verifies and the export is the CLI's.
#[tokio::test]
async fn an_auditor_reads_the_audit_pages_and_changes_nothing() {
    let provider = Provider::start().await;
    let (mut carol, _) =
        person_in(&provider, "Default", "carol@example.org", "Carol Auditor").await;
    let (_, grace) = person_in(&provider, "Default", "grace@example.org", "Grace Hopper").await;
    grant(&provider, "carol@example.org", "auditor", None).await;
    provider
        .target
        .ok(&["user", "disable", "grace@example.org", "--org", "Default"]);
    let default = org_id(&provider, "Default");
    let (mut browser, page) = sign_in(&provider, &mut carol, "/console/audit").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.heading().as_deref(), Some("Audit"));
    for label in [
        "Person's timeline",
        "Search events",
        "Chain",
        "Download the export",
        "Log out",
    ] {
        assert!(page.says(label), "{label} on {}", page.body);
    }
    assert!(page.body.contains("aria-current=\"page\">Audit</a>"));
    // The server signs a checkpoint of its own at start.
    assert!(
        page.says("The newest signed checkpoint covers the log up to position"),
        "{}",
        page.body
    );
    assert!(
        posting_forms(&page).is_empty(),
        "{:?}",
        posting_forms(&page)
    );
    let head = provider.target.ok(&["events", "export"]);
    let newest: serde_json::Value = serde_json::from_str(head.lines().last().unwrap()).unwrap();
    assert!(
        page.says(newest["hash"].as_str().unwrap()),
        "the head's hash: {}",
        page.body
    );

    // The timeline, oldest first, and the account now and before the change.
    let timeline = browser
        .get(&format!(
            "/console/audit/person?org={default}&email=GRACE%40example.org"
        ))
        .await;
    assert_eq!(timeline.status, 200, "{}", timeline.body);
    assert_eq!(timeline.heading().as_deref(), Some("Grace Hopper"));
    let text = timeline.text();
    let created = text.find("account created for grace@example.org").unwrap();
    let disabled = text.find("account disabled").unwrap();
    assert!(created < disabled, "oldest first");
    assert!(text.contains("the operator"), "who did it: {text}");
    assert!(posting_forms(&timeline).is_empty());
    assert!(!timeline.says(">Disable<") && !timeline.says(">Enable<"));
    let status_at = |page: &Page| crate::console::by_id(page, "status-at");
    assert_eq!(status_at(&timeline), "Disabled");
    let events = provider.events("user.created");
    let created_at = events
        .iter()
        .find(|event| event["data"]["email"] == "grace@example.org")
        .unwrap()["recorded_at"]
        .as_str()
        .unwrap()
        .to_owned();
    let then = browser
        // An RFC 3339 time in UTC ("...Z") needs no escape in a query.
        .get(&format!("/console/audit/person?id={grace}&at={created_at}"))
        .await;
    assert_eq!(then.status, 200, "{}", then.body);
    assert_eq!(status_at(&then), "Active", "before the admin disabled her");
    assert!(then.says("temporary, issued"), "{}", then.body);
    let bad = browser
        .get(&format!("/console/audit/person?id={grace}&at=yesterday"))
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.says("\"yesterday\" is not a time"), "{}", bad.body);

    // The search: by type, by organization; nothing in a range after everything.
    let found = browser
        .get(&format!(
            "/console/audit/events?type=user.disabled&org={default}"
        ))
        .await;
    assert_eq!(found.status, 200, "{}", found.body);
    let rows = found.body.split("<tr>").count() - 2;
    assert_eq!(rows, 1, "one event: {}", found.body);
    assert!(found.says("grace@example.org") && found.says("user.disabled"));
    let of_users = browser.get("/console/audit/events?type=user").await;
    assert!(of_users.says("user.created") && of_users.says("user.disabled"));
    assert!(!of_users.says("role.granted"));
    let none = browser.get("/console/audit/events?from=2999-01-01").await;
    assert!(none.says("No event matches."), "{}", none.body);

    // The chain recomputed, the newest signed checkpoint as recorded, and the export as
    // the CLI writes it.
    provider.cli(&["audit", "checkpoint"]).await;
    let signed = provider.events("audit.checkpoint.signed");
    let checkpoint = &signed.last().expect("a checkpoint was recorded")["data"];
    let chain = browser.get("/console/audit/chain?verify=1").await;
    assert_eq!(chain.status, 200, "{}", chain.body);
    assert!(chain.says("Verified: all"), "{}", chain.body);
    let shown = crate::console::by_id(&chain, "checkpoint");
    assert!(
        shown.contains(&format!(
            "up to position {} (hash {})",
            checkpoint["position"],
            checkpoint["hash"].as_str().unwrap()
        )) && shown.contains(checkpoint["key"].as_str().unwrap()),
        "{shown}"
    );
    let export = browser.get("/console/audit/export").await;
    assert_eq!(export.status, 200);
    assert!(
        export
            .header("content-disposition")
            .unwrap()
            .starts_with("attachment"),
    );
    assert_eq!(export.header("cache-control"), Some("no-store"));
    let cli = provider.target.ok(&["events", "export"]);
    assert_eq!(export.body, cli, "the download is the CLI's export");

    // Actions posted by hand: refused by the admin layer, nothing recorded.
    let csrf = page.csrf().unwrap();
    let before = event_count(&provider);
    for (path, fields) in [
        (format!("/console/users/{grace}/enable"), vec![]),
        (
            format!("/console/users/{grace}/details"),
            vec![("name", "Mallory"), ("email", "grace@example.org")],
        ),
        (
            "/console/users".to_owned(),
            vec![
                ("org", default.as_str()),
                ("email", "eve@example.org"),
                ("name", "Eve"),
            ],
        ),
        (
            "/console/clients".to_owned(),
            vec![
                ("name", "Sneaky"),
                ("client_type", "public"),
                ("redirect_uris", "https://sneaky.example/cb"),
                ("grant_authorization_code", "yes"),
            ],
        ),
        (
            "/console/organizations".to_owned(),
            vec![("name", "Sneaky Org")],
        ),
        (
            format!("/console/organizations/{default}/roles"),
            vec![("email", "carol@example.org"), ("role", "org-admin")],
        ),
    ] {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(fields);
        let refused = browser.post(&path, &form).await;
        assert_eq!(refused.status, 403, "{path}: {}", refused.body);
        assert!(refused.says("You may not"), "{path}: {}", refused.body);
    }
    assert_eq!(event_count(&provider), before, "nothing was recorded");
}

/// An organization's auditor reads their organization's timelines and events only, and
/// neither the chain nor the export; another organization's person, or events, do not
/// exist for them.
#[tokio::test]
async fn an_organizations_auditor_reads_their_organization_only() {
    let provider = Provider::start().await;
    provider.cli(&["org", "create", "Acme"]).await;
    provider.cli(&["org", "create", "Globex"]).await;
    let (mut amy, _) = person_in(&provider, "Acme", "amy@acme.example", "Amy Auditor").await;
    let (_, bob) = person_in(&provider, "Acme", "bob@acme.example", "Bob Acme").await;
    let (_, gus) = person_in(&provider, "Globex", "gus@globex.example", "Gus Globex").await;
    grant(&provider, "amy@acme.example", "auditor", Some("Acme")).await;
    let (mut browser, page) = sign_in(&provider, &mut amy, "/console/audit").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.says("an instance admin or an instance auditor reads them"),
        "{}",
        page.body
    );
    assert!(!page.says("Download the export") && !page.says("Globex"));

    let own = browser
        .get(&format!("/console/audit/person?id={bob}"))
        .await;
    assert_eq!(own.status, 200, "{}", own.body);
    let all = browser.get("/console/audit/events").await;
    assert!(all.says("bob@acme.example"), "{}", all.body);
    assert!(!all.says("gus@globex.example") && !all.says("Globex"));

    let globex = org_id(&provider, "Globex");
    for path in [
        format!("/console/audit/person?id={gus}"),
        format!("/console/audit/person?org={globex}&email=gus%40globex.example"),
        format!("/console/audit/events?org={globex}"),
        "/console/audit/events?actor=gus%40globex.example".to_owned(),
    ] {
        let hidden = browser.get(&path).await;
        assert_eq!(hidden.status, 404, "{path}: {}", hidden.body);
        assert!(!hidden.says("Gus Globex"));
    }
    for path in ["/console/audit/chain?verify=1", "/console/audit/export"] {
        let refused = browser.get(path).await;
        assert_eq!(refused.status, 403, "{path}: {}", refused.body);
        assert!(
            refused.says("You may not read the whole log"),
            "{}",
            refused.body
        );
    }
}
