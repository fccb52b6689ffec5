//! Clients: registered with a secret handed out once (only its hash in the log), read
//! without it, rotated, deleted; the instance's, so org admins neither see nor make them.

use verity_admin::clients::{NewClient, RegisteredClient};
use verity_admin::{AdminError, Missing, Permission, Scope};
use verity_domain::client::{ClientType, GrantType, SigningAlgorithm, TokenEndpointAuthMethod};
use verity_oidc::client_secret::hash_client_secret;

use crate::support::{TestAdmin, assert_forbidden, auditor, call, operator, org_admin};

/// The operator registers `new`.
async fn register(test: &TestAdmin, new: NewClient) -> RegisteredClient {
    test.admin
        .register_client(&operator(), &call(), new)
        .await
        .unwrap()
}

/// The operator tries to register `new`, which is refused: why.
async fn refused(test: &TestAdmin, new: NewClient) -> AdminError {
    test.admin
        .register_client(&operator(), &call(), new)
        .await
        .unwrap_err()
}

pub(crate) fn wiki() -> NewClient {
    NewClient {
        name: "Wiki".into(),
        client_type: ClientType::Confidential,
        redirect_uris: vec!["https://wiki.example.org/cb".into()],
        post_logout_redirect_uris: Vec::new(),
        grant_types: Vec::new(),
        auth_method: None,
        id_token_alg: SigningAlgorithm::RS256,
        scopes: Vec::new(),
        require_pkce: true,
        jwks: None,
        backchannel_logout_uri: None,
        org_id: None,
    }
}

#[tokio::test]
async fn a_client_is_registered_with_defaults_and_its_secret_only_hashed() {
    let test = TestAdmin::new().await;
    let registered = register(&test, wiki()).await;
    let client = &registered.client;
    let secret = registered
        .secret
        .clone()
        .expect("a confidential client's secret");
    assert!(client.has_secret);
    assert_eq!(
        client.settings.token_endpoint_auth_method,
        TokenEndpointAuthMethod::ClientSecretBasic
    );
    assert_eq!(
        client.settings.grant_types,
        [GrantType::AuthorizationCode, GrantType::RefreshToken]
    );
    assert_eq!(client.settings.scopes, ["openid", "profile", "email"]);
    assert_eq!(test.admin.clients(&operator()), vec![client.clone()]);
    assert_eq!(
        &test.admin.client(&operator(), &client.client_id).unwrap(),
        client
    );

    let events = test.events().await;
    let log: String = events.iter().map(|event| event.data.as_str()).collect();
    assert!(!log.contains(secret.expose()), "the secret is in the log");
    assert!(log.contains(&hash_client_secret(secret.expose())));

    let public = register(
        &test,
        NewClient {
            client_type: ClientType::Public,
            ..wiki()
        },
    )
    .await;
    assert!(public.secret.is_none());
    assert_eq!(
        public.client.settings.token_endpoint_auth_method,
        TokenEndpointAuthMethod::None
    );
}

/// RFC 9700: PKCE for every client; a legacy confidential client may opt out, a public
/// client may not, and the refusal records nothing.
#[tokio::test]
async fn only_a_confidential_client_may_opt_out_of_pkce() {
    let test = TestAdmin::new().await;
    let legacy = register(
        &test,
        NewClient {
            require_pkce: false,
            ..wiki()
        },
    )
    .await;
    assert!(!legacy.client.settings.require_pkce);
    let before = test.events().await.len();
    let refused = refused(
        &test,
        NewClient {
            client_type: ClientType::Public,
            require_pkce: false,
            ..wiki()
        },
    )
    .await;
    assert!(
        matches!(&refused, AdminError::Invalid(why) if why.contains("public client always requires PKCE")),
        "{refused:?}"
    );
    assert_eq!(test.events().await.len(), before, "nothing recorded");
}

#[tokio::test]
async fn a_secret_is_rotated_and_a_deleted_client_is_gone() {
    let test = TestAdmin::new().await;
    let registered = register(&test, wiki()).await;
    let client_id = registered.client.client_id.clone();
    let rotated = test
        .admin
        .rotate_client_secret(&operator(), &call(), &client_id)
        .await
        .unwrap();
    assert_ne!(Some(&rotated), registered.secret.as_ref());
    let rotated_event = test.events_of("client.secret_rotated").await;
    assert!(
        rotated_event[0]
            .data
            .contains(&hash_client_secret(rotated.expose()))
    );
    assert!(
        test.admin
            .client(&operator(), &client_id)
            .unwrap()
            .secret_rotated_at
            .is_some()
    );

    test.admin
        .delete_client(&operator(), &call(), &client_id)
        .await
        .unwrap();
    let gone = test.admin.client(&operator(), &client_id).unwrap_err();
    assert!(
        matches!(gone, AdminError::NotFound(Missing::Client(_))),
        "{gone:?}"
    );
    let head = test.head().await;
    let again = test
        .admin
        .delete_client(&operator(), &call(), &client_id)
        .await
        .unwrap_err();
    assert_eq!(
        again.to_string(),
        format!("client {client_id:?} is deleted")
    );
    let unknown = test
        .admin
        .rotate_client_secret(&operator(), &call(), "no-such-client")
        .await
        .unwrap_err();
    assert_eq!(unknown.to_string(), "no client \"no-such-client\"");
    assert_eq!(test.head().await, head);
}

#[tokio::test]
async fn a_refused_setting_writes_nothing() {
    let test = TestAdmin::new().await;
    let refused = refused(
        &test,
        NewClient {
            auth_method: Some(TokenEndpointAuthMethod::PrivateKeyJwt),
            ..wiki()
        },
    )
    .await;
    assert!(refused.is_refusal());
    assert_eq!(
        refused.to_string(),
        "private_key_jwt needs the client's JWK Set"
    );
    assert_eq!(test.head().await, 0);
}

#[tokio::test]
async fn org_admins_neither_see_nor_make_the_instances_clients_and_auditors_only_read() {
    let test = TestAdmin::new().await;
    let acme = test.org("Acme").await;
    let client_id = register(&test, wiki()).await.client.client_id;
    let head = test.head().await;
    let admin = org_admin(acme);
    assert!(test.admin.clients(&admin).is_empty());
    let hidden = test.admin.client(&admin, &client_id).unwrap_err();
    assert!(matches!(hidden, AdminError::NotFound(_)), "{hidden:?}");
    for refused in [
        test.admin
            .rotate_client_secret(&admin, &call(), &client_id)
            .await
            .map(drop),
        test.admin.delete_client(&admin, &call(), &client_id).await,
    ] {
        assert!(
            matches!(refused, Err(AdminError::NotFound(_))),
            "{refused:?}"
        );
    }
    let registering = test
        .admin
        .register_client(&admin, &call(), wiki())
        .await
        .unwrap_err();
    assert_forbidden(&registering, Permission::ManageClients, Scope::Instance);

    let reader = auditor(Scope::Instance);
    assert_eq!(test.admin.clients(&reader).len(), 1);
    let rotating = test
        .admin
        .rotate_client_secret(&reader, &call(), &client_id)
        .await
        .unwrap_err();
    assert_forbidden(&rotating, Permission::ManageClients, Scope::Instance);
    assert_eq!(test.head().await, head);
}
