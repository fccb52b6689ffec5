//! The auditor's questions against a real server's log: why each sign-in asked for a
//! code or not (`audit explain`), every event about a person (`audit history`), and the
//! account at instants captured while the scenario ran (`audit account --at`).

use chrono::{DateTime, Utc};
use serde_json::Value;
use verity_testkit::{Device, Step};

use crate::provider::Provider;
use crate::support::{assert_clear_error, json_lines};

/// The wall clock of the test, between two steps of the scenario.
#[allow(clippy::disallowed_methods)]
fn now() -> DateTime<Utc> {
    Utc::now()
}

/// A moment that surely lies between what happened before and what happens after.
async fn instant() -> DateTime<Utc> {
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let at = now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    at
}

fn explain(provider: &Provider, sign_in: &str) -> Value {
    let lines = json_lines(&provider.target.ok(&["audit", "explain", sign_in, "--json"]));
    lines[0].clone()
}

fn account_at(provider: &Provider, at: DateTime<Utc>) -> Value {
    let at = at.to_rfc3339();
    let lines = json_lines(&provider.target.ok(&[
        "audit",
        "account",
        "grace@example.org",
        "--org",
        "Default",
        "--at",
        &at,
        "--json",
    ]));
    lines[0].clone()
}

#[tokio::test]
async fn an_auditor_learns_why_each_sign_in_went_as_it_did_and_how_the_account_stood() {
    let provider = Provider::start().await;
    let mut grace = provider.person("grace@example.org").await;
    let client = provider.client(&["--scope", "email"]).await;
    let query = client.authorization().query();
    let before_anything = instant().await;

    // 1. The first sign-in sets up the app.
    let mut browser = provider.browser();
    let redirect = browser.code_flow(&query, &mut grace, Device::Forget).await;
    assert!(redirect.code().is_some(), "{}", redirect.body);
    let sid = |n: usize| {
        provider.events("user.signin.succeeded")[n]["data"]["sid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let first_sid = sid(0);
    let while_signed_in = instant().await;
    browser.log_out().await;

    // 2. A code, and "Remember this device".
    let page = browser.authorize_and_sign_in(&query, &grace).await;
    assert_eq!(page.step(), Step::Code);
    let code = grace.next_code().await;
    let redirect = browser.code_remembering_device(&page, &code).await;
    assert!(redirect.code().is_some(), "{}", redirect.body);
    let remembered_sid = sid(1);
    let while_remembered = instant().await;
    browser.log_out().await;

    // 3. The trusted browser stands in for the code.
    let redirect = browser.authorize_and_sign_in(&query, &grace).await;
    assert_eq!(redirect.step(), Step::Redirect, "{}", redirect.body);
    let trusted_sid = sid(2);

    // 4. The operator forgets her devices; the browser still holds its cookie, and the
    //    next sign-in asks for the code again.
    browser.log_out().await;
    provider.target.ok(&[
        "user",
        "forget-devices",
        "grace@example.org",
        "--org",
        "Default",
    ]);
    provider.caught_up().await;
    let page = browser.authorize_and_sign_in(&query, &grace).await;
    assert_eq!(page.step(), Step::Code);
    let code = grace.next_code().await;
    assert!(browser.code(&page, &code).await.code().is_some());
    let forgotten_sid = sid(3);

    // 5. A wrong password, then the operator disables her.
    let mut other = provider.browser();
    let form = other.authorize(&query).await;
    other.sign_in(&form, &grace.email, "not her password").await;
    let failed = provider.events("user.signin.failed");
    let failed_at = failed[0]["position"].as_u64().unwrap().to_string();
    provider
        .target
        .ok(&["user", "disable", "grace@example.org", "--org", "Default"]);
    let after_disable = instant().await;

    let first = explain(&provider, &first_sid);
    assert_eq!(first["outcome"], "signed_in");
    assert!(
        first["because"]
            .as_str()
            .unwrap()
            .contains("set up an authenticator app"),
        "{first}"
    );
    let remembered = explain(&provider, &remembered_sid);
    assert_eq!(
        remembered["because"],
        "a code was asked: the browser had no trusted device"
    );
    let trusted = explain(&provider, &trusted_sid);
    assert!(
        trusted["because"]
            .as_str()
            .unwrap()
            .starts_with("no code was asked: the browser's trusted device"),
        "{trusted}"
    );
    let again = explain(&provider, &forgotten_sid);
    assert!(
        again["because"]
            .as_str()
            .unwrap()
            .contains("had been forgotten")
            && again["because"]
                .as_str()
                .unwrap()
                .contains("(by an admin or the person)"),
        "{again}"
    );
    let refused = explain(&provider, &failed_at);
    assert_eq!(refused["outcome"], "refused");
    assert_eq!(refused["because"], "refused: the password was wrong");
    assert_clear_error(
        &provider
            .target
            .run(&["audit", "explain", "no-such-session"]),
        "no sign-in",
    );

    // Every event about her, oldest first, each with who did it.
    let history = json_lines(&provider.target.ok(&[
        "audit",
        "history",
        "--subject",
        "grace@example.org",
        "--org",
        "Default",
        "--json",
    ]));
    assert_eq!(history[0]["type"], "user.created");
    assert!(
        history[0]["actor"]
            .as_str()
            .unwrap()
            .starts_with("the operator")
    );
    let last = history.last().unwrap();
    assert_eq!(last["type"], "user.sessions.ended");
    let positions: Vec<u64> = history
        .iter()
        .map(|line| line["position"].as_u64().unwrap())
        .collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "oldest first"
    );
    assert!(history.iter().any(
        |line| line["type"] == "user.totp.enrolled" && line["actor"] == "the person themselves"
    ));
    let windowed = json_lines(&provider.target.ok(&[
        "audit",
        "history",
        "--subject",
        "grace@example.org",
        "--org",
        "Default",
        "--from",
        &while_signed_in.to_rfc3339(),
        "--json",
    ]));
    assert!(windowed.len() < history.len() && !windowed.is_empty());
    assert!(windowed.iter().all(|line| line["type"] != "user.created"));

    // The account at instants captured while it happened.
    let none_yet = provider.target.run(&[
        "audit",
        "account",
        "grace@example.org",
        "--org",
        "Default",
        "--at",
        &(before_anything - chrono::Duration::hours(1)).to_rfc3339(),
    ]);
    assert!(
        !none_yet.status.success(),
        "she did not exist an hour before"
    );
    let then = account_at(&provider, while_signed_in);
    assert_eq!(then["status"], "active");
    assert_eq!(then["password"]["kind"], "chosen");
    assert_eq!(then["authenticators"].as_array().unwrap().len(), 1);
    assert_eq!(then["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(then["sessions"][0]["sid"], first_sid.as_str());
    assert!(then["trusted_devices"].as_array().unwrap().is_empty());
    let remembered_then = account_at(&provider, while_remembered);
    assert_eq!(
        remembered_then["sessions"][0]["sid"],
        remembered_sid.as_str()
    );
    assert_eq!(remembered_then["trusted_devices"][0]["state"], "active");
    let now_ = account_at(&provider, after_disable);
    assert_eq!(now_["status"], "disabled");
    assert!(now_["sessions"].as_array().unwrap().is_empty());
    assert!(
        now_["trusted_devices"]
            .as_array()
            .unwrap()
            .iter()
            .all(|device| device["state"] != "active")
    );
}
