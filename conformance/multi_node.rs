//! Several Verity processes on one PostgreSQL behave as one provider: a code issued by
//! node A is redeemed once at node B, of two nodes racing to redeem one code exactly
//! one wins, and wrong passwords sent to both at once are checked no more often than the
//! limits allow.

use tokio::task::JoinSet;
use verity_testkit::{Device, Page, Person, Step};

use crate::provider::{Browser, Provider, REDIRECT_URI, RegisteredClient, VERIFIER};
use crate::support::Target;

/// A master key both nodes share (base64 of 32 bytes), as a deployment configures it.
pub const SHARED_MASTER_KEY: &str = "c2hhcmVkLW1hc3Rlci1rZXktZm9yLXRoZS10ZXN0cyE=";
/// An audit key both nodes share (the base64 of a 32-byte seed): every node of a database
/// verifies the others' checkpoints with it.
pub const SHARED_AUDIT_KEY: &str = "c2hhcmVkLWF1ZGl0LWtleS1mb3ItdGhlLXRlc3RzLSE=";

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
    let (node_a, node_b) = two_nodes(first_target, &[]).await;

    let mut ada = node_a.person("ada@example.org").await;
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

/// Gives the commands run against `target` (`verity client create`, `user create`) the
/// master key the nodes share, as on an operator's host: in its data directory's key file
/// (0600). Every command that reads or writes people needs the same key as the nodes.
pub fn share_master_key(target: &Target) {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let data = target.dir.path().join("data");
    std::fs::DirBuilder::new()
        .mode(0o700)
        .recursive(true)
        .create(&data)
        .unwrap();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(data.join("master.key"))
        .unwrap();
    file.write_all(SHARED_MASTER_KEY.as_bytes()).unwrap();
}

/// Two nodes on `target`'s database with `env` besides the shared master and audit keys.
async fn two_nodes(first_target: Target, env: &[(&str, &str)]) -> (Provider, Provider) {
    let url = first_target.database_url.clone().unwrap();
    let mut env = env.to_vec();
    env.push(("VERITY__KEYS__MASTER_KEY", SHARED_MASTER_KEY));
    share_master_key(&first_target);
    env.push(("VERITY__AUDIT__KEY", SHARED_AUDIT_KEY));
    let node_a = Provider::start_with(first_target, &env).await;
    let second_target = Target {
        dir: tempfile::tempdir().unwrap(),
        database_url: Some(url),
    };
    share_master_key(&second_target);
    let node_b = Provider::start_with(second_target, &env).await;
    (node_a, node_b)
}

/// `count` browsers at the sign-in form of `client`, alternately on each node (waiting
/// until a node that follows the log knows the client).
async fn forms_on_both(
    nodes: [&Provider; 2],
    client: &RegisteredClient,
    count: usize,
) -> Vec<(Browser, Page)> {
    let mut forms = Vec::with_capacity(count);
    for index in 0..count {
        let mut browser = nodes[index % 2].browser();
        let mut form = browser.authorize(&client.authorization().query()).await;
        for _ in 0..100 {
            if form.step() == Step::SignIn {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            form = browser.authorize(&client.authorization().query()).await;
        }
        assert_eq!(form.step(), Step::SignIn, "{}", form.body);
        forms.push((browser, form));
    }
    forms
}

/// Posts every form at once, with `(email, password)` for each.
async fn sign_in_at_once(
    forms: Vec<(Browser, Page)>,
    credentials: impl Fn(usize) -> (String, String),
) {
    let mut attempts = JoinSet::new();
    for (index, (mut browser, form)) in forms.into_iter().enumerate() {
        let (email, password) = credentials(index);
        attempts.spawn(async move { browser.sign_in(&form, &email, &password).await });
    }
    attempts.join_all().await;
}

/// The reasons recorded by `user.signin.failed`: one per password checked and refused.
fn failure_reasons(node: &Provider) -> Vec<String> {
    node.events("user.signin.failed")
        .iter()
        .map(|event| event["data"]["reason"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn fifty_wrong_passwords_at_once_on_two_nodes_check_no_more_than_the_limits() {
    let Some(target) = Target::postgres().await else {
        return;
    };
    let env = [
        ("VERITY__PASSWORDS__MAX_FAILURES", "4"),
        ("VERITY__PASSWORDS__DELAY_AFTER_FAILURES", "1000"),
        ("VERITY__SIGN_IN__IP_MAX_FAILURES", "10"),
    ];
    let (node_a, node_b) = two_nodes(target, &env).await;
    let ada = node_a.person("ada@example.org").await;
    let client = node_a.client(&[]).await;

    // One address, 25 guesses at each node at once: four are checked.
    let forms = forms_on_both([&node_a, &node_b], &client, 50).await;
    sign_in_at_once(forms, |index| {
        (ada.email.clone(), format!("wrong password {index}"))
    })
    .await;
    assert_eq!(failure_reasons(&node_a), ["wrong_password"; 4]);
    let locks = node_a.events("user.signin.locked");
    assert_eq!(locks.len(), 1, "one lock, recorded once");
    assert_eq!(locks[0]["data"]["failures"], 4);

    // A spray from the same address (127.0.0.1), a new address each time: its network
    // had four failures and takes six more.
    let forms = forms_on_both([&node_a, &node_b], &client, 50).await;
    sign_in_at_once(forms, |index| {
        (format!("nobody{index}@example.org"), "guess".to_owned())
    })
    .await;
    let reasons = failure_reasons(&node_b);
    assert_eq!(
        reasons
            .iter()
            .filter(|reason| *reason == "unknown_email")
            .count(),
        6
    );
    let network_locks = node_b.events("network.locked");
    assert_eq!(network_locks.len(), 1);
    assert_eq!(network_locks[0]["data"]["failures"], 10);
}

#[tokio::test]
async fn two_nodes_record_one_checkpoint_per_interval_and_trust_each_other_s() {
    let Some(target) = Target::postgres().await else {
        return;
    };
    let every = ("VERITY__AUDIT__CHECKPOINT_EVERY_SECONDS", "1");
    let (node_a, node_b) = two_nodes(target, &[every]).await;
    // Events through both nodes' command lines, over a few intervals.
    for round in 0..8 {
        let node = if round % 2 == 0 { &node_a } else { &node_b };
        node.target.ok(&["org", "create", &format!("Org {round}")]);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;

    let checkpoints: Vec<serde_json::Value> = node_a
        .events("audit.checkpoint.signed")
        .into_iter()
        .map(|event| event["data"].clone())
        .collect();
    assert!(checkpoints.len() >= 3, "{checkpoints:?}");
    // Both nodes decide from the log; one of them records each checkpoint, a second or
    // more after the one before.
    let signed_at: Vec<chrono::DateTime<chrono::Utc>> = checkpoints
        .iter()
        .map(|checkpoint| checkpoint["signed_at"].as_str().unwrap().parse().unwrap())
        .collect();
    for pair in signed_at.windows(2) {
        assert!(
            pair[1] - pair[0] >= chrono::Duration::seconds(1),
            "two checkpoints within one interval: {checkpoints:?}"
        );
    }
    let file = |node: &Provider| {
        node.target
            .dir
            .path()
            .join("data-audit")
            .join("checkpoints.jsonl")
    };
    let lines = |node: &Provider| {
        std::fs::read_to_string(file(node)).map_or(0, |text| text.lines().count())
    };
    assert_eq!(lines(&node_a) + lines(&node_b), checkpoints.len());

    // Each node's checkpoints verify with the one key they share, against either's log.
    let public_key = |node: &Provider| {
        let output = node
            .target
            .command()
            .args(["audit", "key"])
            .env("VERITY__AUDIT__KEY", SHARED_AUDIT_KEY)
            .output()
            .unwrap();
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap()
    };
    let pinned = node_a.target.dir.path().join("pinned.jwk");
    std::fs::write(&pinned, public_key(&node_a)).unwrap();
    assert_eq!(
        public_key(&node_b),
        std::fs::read_to_string(&pinned).unwrap()
    );
    let mut args = vec!["audit", "verify", "--public-key", pinned.to_str().unwrap()];
    let (file_a, file_b) = (file(&node_a), file(&node_b));
    for file in [&file_a, &file_b] {
        if file.exists() {
            args.extend(["--checkpoints", file.to_str().unwrap()]);
        }
    }
    let verified = node_b.target.ok(&args);
    assert!(
        verified.contains(&format!("checkpoints: {} in the log", checkpoints.len())),
        "{verified}"
    );
}
