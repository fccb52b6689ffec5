//! Verity's SCIM service driven by an independent SCIM client: Python's `scim2-tester`
//! (RFC 7643/7644 checks) and `scim2-client` (a provisioning scenario with typed
//! requests), run by `conformance/scim/check.py` in the virtual environment
//! `cargo xtask test` makes (`VERITY_TEST_SCIM_PYTHON`). Without it the test skips
//! loudly (fails under CI).

use std::process::Command;

use super::Scim;

/// What `check.py` must report as `ok`: every check of its scenario.
const SCENARIO: [&str; 24] = [
    "create",
    "create meta",
    "read",
    "filter userName eq in any case",
    "filter externalId eq",
    "filter co, sw, and",
    "filter pr, or, grouping",
    "filter ne",
    "count=0 answers only totalResults",
    "attributes",
    "excludedAttributes",
    "uniqueness 409",
    "invalidFilter",
    "invalidValue",
    "404",
    "patch with a path",
    "patch without a path",
    "patch remove leaves it unassigned",
    "replace",
    "another organization's token: 404",
    "another organization's token: no results",
    "another organization's token: no change",
    "wrong token: 401",
    "delete",
];

/// The checks of scim2-tester that must succeed (it names each by its function).
const TESTER: [&str; 16] = [
    "service_provider_config_endpoint",
    "service_provider_config_endpoint_methods",
    "query_all_resource_types",
    "query_resource_type_by_id",
    "resource_types_endpoint_methods",
    "query_all_schemas",
    "schemas_endpoint_methods",
    "random_url",
    "object_creation",
    "object_query",
    "object_query_without_id",
    "object_replacement",
    "object_deletion",
    "check_add_attribute",
    "check_remove_attribute",
    "check_replace_attribute",
];

#[tokio::test]
async fn an_independent_scim_client_provisions_people_as_the_rfcs_say() {
    let Ok(python) = std::env::var("VERITY_TEST_SCIM_PYTHON") else {
        verity_testkit::skip(
            "the Python SCIM client (VERITY_TEST_SCIM_PYTHON; cargo xtask test installs it)",
        );
        return;
    };
    let scim = Scim::start().await;
    scim.organization("Elsewhere");
    let other = scim.token_of("Elsewhere", &[]).await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../conformance/scim/check.py"
    );
    let url = scim.url.clone();
    let token = scim.token.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .env("VERITY_SCIM_URL", url)
            .env("VERITY_SCIM_TOKEN", token)
            .env("VERITY_SCIM_OTHER_TOKEN", other)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "check.py failed:\n{stdout}\n{stderr}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    for check in SCENARIO {
        assert!(
            lines.contains(&format!("ok {check}").as_str()),
            "no `ok {check}` in:\n{stdout}"
        );
    }
    for title in TESTER {
        assert!(
            lines
                .iter()
                .any(|line| line.starts_with(&format!("tester SUCCESS {title}:"))),
            "scim2-tester's {title} did not succeed:\n{stdout}"
        );
    }
    assert!(
        !lines
            .iter()
            .any(|line| line.starts_with("FAIL") || line.starts_with("tester ERROR")),
        "{stdout}"
    );

    // What the client did is in the log, each event naming the SCIM token.
    let created = scim.provider.events("user.created");
    assert!(created.len() >= 5, "{}", created.len());
    assert!(
        created
            .iter()
            .all(|event| event["metadata"]["actor"]["kind"] == "scim_token")
    );
    assert!(!scim.provider.events("user.deleted").is_empty());
    scim.provider.target.ok(&["audit", "verify"]);
}
