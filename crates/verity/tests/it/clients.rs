//! OAuth clients managed at the command line: secrets shown once and never logged in
//! clear, rotation, deletion, and refused settings that write nothing.

use verity_oidc::client_secret::hash_client_secret;

use crate::support::{Target, assert_clear_error, json_lines};

/// The client events in the log, as exported.
fn client_events(target: &Target) -> Vec<serde_json::Value> {
    json_lines(&target.ok(&["events", "export"]))
        .into_iter()
        .filter(|event| event["type"].as_str().unwrap().starts_with("client."))
        .collect()
}

fn head(target: &Target) -> usize {
    json_lines(&target.ok(&["events", "export"])).len()
}

fn client_session(target: &Target) {
    // A confidential client with the defaults: code + refresh, client_secret_basic.
    let created = json_lines(&target.ok(&[
        "client",
        "create",
        "--name",
        "Wiki",
        "--redirect-uri",
        "https://wiki.example.org/callback",
        "--redirect-uri",
        "http://localhost:8080/callback",
        "--post-logout-redirect-uri",
        "https://wiki.example.org/",
        "--json",
    ]));
    assert_eq!(created.len(), 1);
    let client_id = created[0]["client_id"].as_str().unwrap().to_owned();
    let secret = created[0]["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 43, "256 bits, base64url");
    assert!(
        secret
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
    );

    let shown = json_lines(&target.ok(&["client", "show", &client_id, "--json"]));
    let shown = &shown[0];
    assert_eq!(shown["name"], "Wiki");
    assert_eq!(shown["client_type"], "confidential");
    assert_eq!(shown["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(
        shown["grant_types"],
        serde_json::json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(
        shown["scopes"],
        serde_json::json!(["openid", "profile", "email"])
    );
    assert_eq!(shown["id_token_signed_response_alg"], "RS256");
    assert_eq!(
        shown["require_pkce"], true,
        "PKCE of every client by default"
    );
    assert_eq!(shown["has_secret"], true);
    assert!(shown.get("secret_hash").is_none());
    assert!(!shown.to_string().contains(&secret));

    // A public client: no secret, auth method none, PKCE always.
    let public = json_lines(&target.ok(&[
        "client",
        "create",
        "--name",
        "Mobile",
        "--type",
        "public",
        "--redirect-uri",
        "http://127.0.0.1:53682/callback",
        "--id-token-alg",
        "EdDSA",
        "--json",
    ]));
    let public_id = public[0]["client_id"].as_str().unwrap().to_owned();
    assert!(public[0]["client_secret"].is_null());
    let shown = json_lines(&target.ok(&["client", "show", &public_id, "--json"]));
    assert_eq!(shown[0]["token_endpoint_auth_method"], "none");
    assert_eq!(shown[0]["require_pkce"], true);
    assert_eq!(shown[0]["has_secret"], false);
    assert_eq!(shown[0]["id_token_signed_response_alg"], "EdDSA");

    let listed = json_lines(&target.ok(&["client", "list", "--json"]));
    let mut ids: Vec<&str> = listed
        .iter()
        .map(|client| client["client_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut expected = vec![client_id.as_str(), public_id.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected);

    // The log holds the secret's hash, never the secret.
    let export = target.ok(&["events", "export"]);
    assert!(!export.contains(&secret), "the client secret is in the log");
    let events = client_events(target);
    assert_eq!(events[0]["type"], "client.registered");
    assert_eq!(events[0]["stream"], format!("client-{client_id}"));
    assert_eq!(
        events[0]["data"]["secret_hash"].as_str(),
        Some(hash_client_secret(&secret).as_str())
    );
    assert!(events[1]["data"].get("secret_hash").is_none());

    // Rotation: a new secret, printed once; a new hash; neither secret in the log.
    let rotated = target.ok(&["client", "rotate-secret", &client_id]);
    let new_secret = rotated
        .lines()
        .find_map(|line| line.strip_prefix("client_secret: "))
        .unwrap()
        .to_owned();
    assert_eq!(rotated.matches(&new_secret).count(), 1, "{rotated}");
    assert_ne!(new_secret, secret);
    let events = client_events(target);
    assert_eq!(events[2]["type"], "client.secret_rotated");
    assert_eq!(
        events[2]["data"]["secret_hash"].as_str(),
        Some(hash_client_secret(&new_secret).as_str())
    );
    assert_ne!(
        events[2]["data"]["secret_hash"],
        events[0]["data"]["secret_hash"]
    );
    let export = target.ok(&["events", "export"]);
    assert!(!export.contains(&secret) && !export.contains(&new_secret));
    assert_eq!(events[2]["metadata"]["actor"]["kind"], "cli");

    assert_clear_error(
        &target.run(&["client", "rotate-secret", &public_id]),
        "authenticates with none, not with a secret",
    );

    // Deletion: gone from show and list; no further changes.
    target.ok(&["client", "delete", &client_id]);
    assert_clear_error(
        &target.run(&["client", "show", &client_id]),
        &format!("no client {client_id:?}"),
    );
    assert_clear_error(
        &target.run(&["client", "rotate-secret", &client_id]),
        "is deleted",
    );
    assert_clear_error(&target.run(&["client", "delete", &client_id]), "is deleted");
    assert_clear_error(
        &target.run(&["client", "show", "no-such-client"]),
        "no client \"no-such-client\"",
    );
    let listed = json_lines(&target.ok(&["client", "list", "--json"]));
    assert_eq!(listed.len(), 1);

    let replay = json_lines(&target.ok(&["replay", "--json"]));
    assert_eq!(replay[0]["match"], true);
    target.ok(&["audit", "verify"]);
}

#[test]
fn an_operator_manages_clients_on_sqlite() {
    client_session(&Target::sqlite());
}

#[tokio::test]
async fn an_operator_manages_clients_on_postgres() {
    let Some(target) = Target::postgres().await else {
        return;
    };
    client_session(&target);
}

#[test]
fn the_secret_is_printed_once_with_a_warning() {
    let target = Target::sqlite();
    let output = target.ok(&[
        "client",
        "create",
        "--name",
        "Wiki",
        "--redirect-uri",
        "https://wiki.example.org/callback",
    ]);
    let secret = output
        .lines()
        .find_map(|line| line.strip_prefix("client_secret: "))
        .unwrap();
    assert_eq!(output.matches(secret).count(), 1, "{output}");
    assert!(output.contains("cannot show it again"), "{output}");
    assert!(output.contains("client_id: "), "{output}");
}

#[test]
fn machine_and_key_authenticated_clients_are_registered() {
    let target = Target::sqlite();
    let machine = json_lines(&target.ok(&[
        "client",
        "create",
        "--name",
        "Batch job",
        "--grant",
        "client_credentials",
        "--auth-method",
        "client_secret_post",
        "--scope",
        "api:read",
        "--json",
    ]));
    let machine_id = machine[0]["client_id"].as_str().unwrap();
    assert!(machine[0]["client_secret"].is_string());
    let shown = json_lines(&target.ok(&["client", "show", machine_id, "--json"]));
    assert_eq!(
        shown[0]["grant_types"],
        serde_json::json!(["client_credentials"])
    );
    assert_eq!(
        shown[0]["scopes"],
        serde_json::json!(["openid", "api:read"])
    );
    assert_eq!(shown[0]["redirect_uris"], serde_json::json!([]));

    let jwks = serde_json::json!({"keys": [{
        "kty": "OKP", "crv": "Ed25519", "kid": "k1",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    }]});
    let jwks_file = target.dir.path().join("jwks.json");
    std::fs::write(&jwks_file, jwks.to_string()).unwrap();
    let keyed = json_lines(&target.ok(&[
        "client",
        "create",
        "--name",
        "Keyed",
        "--redirect-uri",
        "https://keyed.example.org/cb",
        "--auth-method",
        "private_key_jwt",
        "--jwks-file",
        jwks_file.to_str().unwrap(),
        "--no-require-pkce",
        "--json",
    ]));
    assert!(keyed[0]["client_secret"].is_null());
    let keyed_id = keyed[0]["client_id"].as_str().unwrap();
    let shown = json_lines(&target.ok(&["client", "show", keyed_id, "--json"]));
    assert_eq!(shown[0]["jwks"], jwks);
    assert_eq!(shown[0]["require_pkce"], false, "a legacy client opted out");
    assert_eq!(shown[0]["has_secret"], false);
}

#[test]
fn refused_settings_are_one_clear_line_and_write_nothing() {
    let target = Target::sqlite();
    // The first command initialises the instance; count from there.
    target.ok(&["client", "list"]);
    let before = head(&target);
    let jwks_file = target.dir.path().join("private.json");
    std::fs::write(
        &jwks_file,
        r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"a","d":"private"}]}"#,
    )
    .unwrap();
    let jwks_path = jwks_file.to_str().unwrap();
    let missing_path = target.dir.path().join("missing.json");
    let missing = missing_path.to_str().unwrap();
    let cases: [(&[&str], &str); 11] = [
        (
            &[
                "--type",
                "public",
                "--redirect-uri",
                "https://app.example.org/cb",
                "--no-require-pkce",
            ],
            "a public client always requires PKCE",
        ),
        (
            &["--redirect-uri", "http://wiki.example.org/cb"],
            "invalid redirect URI \"http://wiki.example.org/cb\": http is only allowed for localhost",
        ),
        (
            &["--redirect-uri", "https://wiki.example.org/cb#frag"],
            "must not contain a fragment",
        ),
        (
            &["--redirect-uri", "/callback"],
            "invalid redirect URI \"/callback\": must be an absolute http(s) URI",
        ),
        (
            &[
                "--redirect-uri",
                "https://wiki.example.org/cb",
                "--post-logout-redirect-uri",
                "ftp://wiki.example.org/",
            ],
            "invalid post-logout redirect URI",
        ),
        (
            &[],
            "the authorization_code grant needs at least one redirect URI",
        ),
        (
            &[
                "--type",
                "public",
                "--redirect-uri",
                "https://app.example.org/cb",
                "--grant",
                "client_credentials",
            ],
            "client_credentials grant is for confidential clients only",
        ),
        (
            &[
                "--type",
                "public",
                "--redirect-uri",
                "https://app.example.org/cb",
                "--auth-method",
                "client_secret_basic",
            ],
            "a public client uses token endpoint authentication method none",
        ),
        (
            &[
                "--redirect-uri",
                "https://wiki.example.org/cb",
                "--auth-method",
                "private_key_jwt",
            ],
            "private_key_jwt needs the client's JWK Set",
        ),
        (
            &[
                "--redirect-uri",
                "https://wiki.example.org/cb",
                "--auth-method",
                "private_key_jwt",
                "--jwks-file",
                jwks_path,
            ],
            "holds private key material",
        ),
        (
            &[
                "--redirect-uri",
                "https://wiki.example.org/cb",
                "--auth-method",
                "private_key_jwt",
                "--jwks-file",
                missing,
            ],
            "cannot read",
        ),
    ];
    for (args, expected) in cases {
        let mut command = vec!["client", "create", "--name", "Wiki"];
        command.extend_from_slice(args);
        assert_clear_error(&target.run(&command), expected);
    }
    assert_eq!(head(&target), before, "a refused client wrote events");
    assert!(json_lines(&target.ok(&["client", "list", "--json"])).is_empty());
}
