//! Several Verity processes on one PostgreSQL behave as one provider: a code issued by
//! node A is redeemed once at node B, and of two nodes racing to redeem one code exactly
//! one wins.

use verity_testkit::{Device, Person};

use crate::provider::{Browser, Provider, REDIRECT_URI, RegisteredClient, VERIFIER};
use crate::support::Target;

/// A master key both nodes share (base64 of 32 bytes), as a deployment configures it.
pub const SHARED_MASTER_KEY: &str = "c2hhcmVkLW1hc3Rlci1rZXktZm9yLXRoZS10ZXN0cyE=";

/// A code for `client` from the node `browser` talks to (signing in if asked).
async fn code(browser: &mut Browser, client: &RegisteredClient, person: &mut Person) -> String {
    let request = client.authorization().with("state", "s").query();
    let redirect = browser.code_flow(&request, person, Device::Remember).await;
    redirect.code().expect("a code")
}

/// Redeems `code` at `node`: the status.
async fn redeem(node: &Provider, client: &RegisteredClient, code: &str) -> u16 {
    node.browser()
        .exchange(&client.basic(), code, REDIRECT_URI, Some(VERIFIER))
        .await
        .status
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

    let mut ada = node_a.person("ada@example.org");
    let client = node_a.client(&[]).await;
    let mut browser = node_a.browser();

    // Issued by A (which signed the person in), redeemed once at B.
    let issued_at_a = code(&mut browser, &client, &mut ada).await;
    assert_eq!(redeem(&node_b, &client, &issued_at_a).await, 200);
    assert_eq!(redeem(&node_a, &client, &issued_at_a).await, 400);

    // Racing: both nodes redeem the same code at once; exactly one wins, several times over.
    for _ in 0..5 {
        let raced = code(&mut browser, &client, &mut ada).await;
        let (at_a, at_b) = tokio::join!(
            redeem(&node_a, &client, &raced),
            redeem(&node_b, &client, &raced)
        );
        let mut statuses = [at_a, at_b];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 400]);
    }

    // Both publish the same keys.
    assert_eq!(
        node_a.browser().peek("/jwks").await.body,
        node_b.browser().peek("/jwks").await.body
    );
}
