//! Several Verity processes on one PostgreSQL behave as one provider: a code issued by
//! node A is redeemed once at node B, and of two nodes racing to redeem one code exactly
//! one wins.

use crate::provider::{Browser, Provider, REDIRECT_URI, http_client};
use crate::support::Target;

/// A master key both nodes share (base64 of 32 bytes), as a deployment configures it.
const SHARED_MASTER_KEY: &str = "c2hhcmVkLW1hc3Rlci1rZXktZm9yLXRoZS10ZXN0cyE=";

async fn code(
    provider: &Provider,
    browser: &mut Browser,
    client_id: &str,
    email: &str,
    password: &str,
) -> String {
    let url = format!(
        "{}/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid&state=s",
        provider.issuer,
        crate::provider::encode(REDIRECT_URI)
    );
    let page = browser.get(&url).await;
    let redirect = if page.location.is_some() {
        page
    } else {
        browser
            .sign_in(&provider.issuer, &page, email, password)
            .await
    };
    redirect.redirect_param("code").expect("a code")
}

async fn redeem(node: &Provider, client_id: &str, secret: &str, code: &str) -> u16 {
    http_client()
        .post(format!("{}/token", node.issuer))
        .basic_auth(client_id, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}",
            crate::provider::encode(REDIRECT_URI)
        ))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn two_nodes_on_one_postgres_behave_as_one() {
    let Some(first_target) = Target::postgres().await else {
        return;
    };
    let url = first_target.database_url.clone().unwrap();
    let env = [("VERITY__KEYS__MASTER_KEY", SHARED_MASTER_KEY)];
    let node_a = Provider::start_with(first_target, &env).await;
    let second_target = Target {
        dir: tempfile::tempdir().unwrap(),
        database_url: Some(url),
    };
    let node_b = Provider::start_with(second_target, &env).await;

    let (email, password) = node_a.person("ada@example.org");
    let client = node_a.client(&[]).await;
    let secret = client.client_secret.clone().unwrap();
    let mut browser = Browser::new();

    // Issued by A (which signed the person in), redeemed once at B.
    let issued_at_a = code(&node_a, &mut browser, &client.client_id, &email, &password).await;
    assert_eq!(
        redeem(&node_b, &client.client_id, &secret, &issued_at_a).await,
        200
    );
    assert_eq!(
        redeem(&node_a, &client.client_id, &secret, &issued_at_a).await,
        400
    );

    // Racing: both nodes redeem the same code at once; exactly one wins, several times over.
    for _ in 0..5 {
        let raced = code(&node_a, &mut browser, &client.client_id, &email, &password).await;
        let (at_a, at_b) = tokio::join!(
            redeem(&node_a, &client.client_id, &secret, &raced),
            redeem(&node_b, &client.client_id, &secret, &raced)
        );
        let mut statuses = [at_a, at_b];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 400]);
    }

    // Both publish the same keys.
    let jwks = |node: &Provider| {
        let url = format!("{}/jwks", node.issuer);
        async move {
            http_client()
                .get(url)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    assert_eq!(jwks(&node_a).await, jwks(&node_b).await);
}
