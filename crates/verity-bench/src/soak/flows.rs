//! What one worker of the soak does in one turn: a person's whole day against several
//! nodes (sign in on one, redeem the code on the next, introspect and ask userinfo,
//! refresh, sign out), a service's client_credentials, and the checks that a code or a
//! refresh token is never accepted twice, also when two nodes are asked at once.

use anyhow::Context as _;
use base64::Engine as _;

use super::journal::{self, Entry, Journal};
use crate::browser::Browser;
use crate::people::Person;
use crate::signin::{self, PKCE_VERIFIER};

/// The nodes and the clients the soak drives.
pub struct Cluster {
    /// Each node's base URL.
    pub nodes: Vec<String>,
    /// The client people sign in to (confidential, authorization_code and refresh_token).
    pub web: Client,
    /// Its redirect URI.
    pub redirect_uri: String,
    /// The service client (client_credentials).
    pub service: Client,
    /// The HTTP client every worker shares.
    pub http: reqwest::Client,
}

/// A client's credentials.
pub struct Client {
    /// Its id.
    pub id: String,
    /// Its secret.
    pub secret: String,
}

impl Cluster {
    /// The node for turn `turn`, `step` places further round the ring.
    fn node(&self, turn: usize, step: usize) -> (usize, &str) {
        let index = (turn + step) % self.nodes.len().max(1);
        (index, self.nodes.get(index).map_or("", String::as_str))
    }

    fn target(&self, node: &str) -> signin::Target {
        signin::Target {
            issuer: node.to_owned(),
            client_id: self.web.id.clone(),
            redirect_uri: self.redirect_uri.clone(),
        }
    }

    /// Posts `form` to `path` on `node` with `client`'s Basic credentials: the status and
    /// the JSON body (or `null`).
    async fn post(
        &self,
        node: &str,
        path: &str,
        client: &Client,
        form: &[(&str, &str)],
    ) -> anyhow::Result<(u16, serde_json::Value)> {
        let response = self
            .http
            .post(format!("{node}{path}"))
            .basic_auth(&client.id, Some(&client.secret))
            .form(form)
            .send()
            .await?;
        let status = response.status().as_u16();
        let body = response.text().await?;
        Ok((status, serde_json::from_str(&body).unwrap_or_default()))
    }
}

/// Records `op` on `node` with its outcome and passes the outcome on.
fn record<T>(
    journal: &Journal,
    node: usize,
    op: &str,
    outcome: anyhow::Result<T>,
) -> anyhow::Result<T> {
    let error = outcome.as_ref().err().map(|error| format!("{error:#}"));
    journal.write(&Entry::Op {
        at: journal::now(),
        node,
        op,
        error,
    });
    outcome
}

/// The tokens of one code exchange.
struct Tokens {
    access: String,
    refresh: String,
    sid: String,
}

/// Turn `turn` of a worker: a person's day, with a code replayed (one turn in four), two
/// nodes redeeming one code at once (one in eight), a refresh token replayed (one in
/// four, others than the code's), a sign-out (every other turn), and a service's token
/// (one in three). The first error ends the turn; it is in the journal.
pub async fn person_turn(cluster: &Cluster, journal: &Journal, person: &Person, turn: usize) {
    let _ = person_day(cluster, journal, person, turn).await;
    if turn.is_multiple_of(3) {
        let (index, node) = cluster.node(turn, 0);
        let outcome = client_credentials(cluster, node).await;
        let _ = record(journal, index, "client_credentials", outcome);
    }
}

async fn person_day(
    cluster: &Cluster,
    journal: &Journal,
    person: &Person,
    turn: usize,
) -> anyhow::Result<()> {
    let (a, node_a) = cluster.node(turn, 0);
    let (b, node_b) = cluster.node(turn, 1);
    let (c, node_c) = cluster.node(turn, 2);
    let mut browser = Browser::new(&cluster.http);
    let location = signin::through_journey(&mut browser, &cluster.target(node_a), person).await;
    let code = record(journal, a, "signin", location.and_then(|l| code_of(&l)))?;
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", cluster.redirect_uri.as_str()),
        ("code_verifier", PKCE_VERIFIER),
    ];
    if turn.is_multiple_of(8) {
        // Two nodes asked at once: at most one may issue tokens.
        let (first, second) = tokio::join!(
            cluster.post(node_b, "/token", &cluster.web, &exchange),
            cluster.post(node_c, "/token", &cluster.web, &exchange),
        );
        let (first, second) = (first?, second?);
        if first.0 == 200 && second.0 == 200 {
            violation(
                journal,
                "one authorization code redeemed on two nodes at once",
            );
        }
        let won = if first.0 == 200 { first } else { second };
        let tokens = record(journal, b, "exchange", tokens_of(won))?;
        journal.write(&Entry::SessionStarted {
            at: journal::now(),
            sid: &tokens.sid,
        });
        // The loser's reuse of the code may revoke the winner's tokens (RFC 6749 4.1.2):
        // the day ends here.
        return Ok(());
    }
    let answer = cluster
        .post(node_b, "/token", &cluster.web, &exchange)
        .await;
    let tokens = record(journal, b, "exchange", answer.and_then(tokens_of))?;
    journal.write(&Entry::SessionStarted {
        at: journal::now(),
        sid: &tokens.sid,
    });
    if turn % 4 == 1 {
        let again = cluster
            .post(node_c, "/token", &cluster.web, &exchange)
            .await;
        let again = record(journal, c, "code_replay", again.and_then(refused))?;
        if again {
            violation(journal, "an authorization code redeemed twice");
        }
        return Ok(());
    }
    let active = introspect(cluster, node_c, &tokens.access).await;
    record(journal, c, "introspect", active)?;
    let userinfo = userinfo(cluster, node_a, &tokens.access).await;
    record(journal, a, "userinfo", userinfo)?;
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens.refresh.as_str()),
    ];
    let answer = cluster.post(node_b, "/token", &cluster.web, &refresh).await;
    record(journal, b, "refresh", answer.and_then(tokens_of))?;
    if turn % 4 == 3 {
        let again = cluster.post(node_c, "/token", &cluster.web, &refresh).await;
        if record(journal, c, "refresh_replay", again.and_then(refused))? {
            violation(journal, "a refresh token accepted twice");
        }
    }
    if turn.is_multiple_of(2) {
        let ended = sign_out(&mut browser, node_a).await;
        record(journal, a, "logout", ended)?;
        journal.write(&Entry::SessionEnded {
            at: journal::now(),
            sid: &tokens.sid,
        });
    }
    Ok(())
}

fn violation(journal: &Journal, what: &str) {
    journal.write(&Entry::Violation {
        at: journal::now(),
        what: what.to_owned(),
    });
}

/// The code of an authorization response's location.
fn code_of(location: &str) -> anyhow::Result<String> {
    let url = reqwest::Url::parse(location)?;
    url.query_pairs()
        .find(|(name, _)| name == "code")
        .map(|(_, code)| code.into_owned())
        .context("no code in the redirect")
}

/// The tokens of a 200 token answer, with the ID token's `sid`.
fn tokens_of((status, body): (u16, serde_json::Value)) -> anyhow::Result<Tokens> {
    anyhow::ensure!(status == 200, "token endpoint answered {status}: {body}");
    let text = |name: &str| {
        body.get(name)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .with_context(|| format!("no {name} in the token answer"))
    };
    let id_token = text("id_token")?;
    let payload = id_token
        .split('.')
        .nth(1)
        .context("an ID token that is not a JWT")?;
    let claims: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload)?)?;
    let sid = claims
        .get("sid")
        .and_then(serde_json::Value::as_str)
        .context("no sid in the ID token")?
        .to_owned();
    Ok(Tokens {
        access: text("access_token")?,
        refresh: text("refresh_token")?,
        sid,
    })
}

/// Whether a replayed grant was refused as it must be (`Ok(false)`), accepted (`Ok(true)`,
/// a violation), or answered otherwise (an error: a fault, not a verdict).
fn refused((status, body): (u16, serde_json::Value)) -> anyhow::Result<bool> {
    match status {
        200 => Ok(true),
        400 if body.get("error").and_then(serde_json::Value::as_str) == Some("invalid_grant") => {
            Ok(false)
        }
        _ => anyhow::bail!("a replay answered {status}: {body}"),
    }
}

async fn introspect(cluster: &Cluster, node: &str, token: &str) -> anyhow::Result<()> {
    let (status, body) = cluster
        .post(node, "/introspect", &cluster.web, &[("token", token)])
        .await?;
    anyhow::ensure!(
        status == 200 && body.get("active") == Some(&serde_json::Value::Bool(true)),
        "introspection answered {status}: {body}"
    );
    Ok(())
}

async fn userinfo(cluster: &Cluster, node: &str, token: &str) -> anyhow::Result<()> {
    let response = cluster
        .http
        .get(format!("{node}/userinfo"))
        .bearer_auth(token)
        .send()
        .await?;
    let status = response.status().as_u16();
    anyhow::ensure!(status == 200, "userinfo answered {status}");
    Ok(())
}

async fn client_credentials(cluster: &Cluster, node: &str) -> anyhow::Result<()> {
    let (status, body) = cluster
        .post(
            node,
            "/token",
            &cluster.service,
            &[("grant_type", "client_credentials")],
        )
        .await?;
    anyhow::ensure!(
        status == 200 && body.get("access_token").is_some(),
        "client_credentials answered {status}: {body}"
    );
    Ok(())
}

/// RP-initiated logout in the browser that signed in: "Do you want to sign out?", then
/// Confirm.
async fn sign_out(browser: &mut Browser<'_>, node: &str) -> anyhow::Result<()> {
    let page = browser.get(&format!("{node}/logout")).await?;
    anyhow::ensure!(page.status == 200, "logout answered {}", page.status);
    let csrf = page.field("csrf")?;
    let done = browser
        .post_form(
            &format!("{node}/logout"),
            &[("confirm", "yes"), ("csrf", csrf.as_str())],
        )
        .await?;
    anyhow::ensure!(
        done.status == 200,
        "the logout's confirmation answered {} {}",
        done.status,
        done.snippet()
    );
    Ok(())
}

/// One wrong password for `person` on `node` through `http` (patient: wrong passwords
/// are answered later and later): whether it was checked ("not correct") or refused
/// unchecked because the person is locked.
pub async fn wrong_password(
    cluster: &Cluster,
    http: &reqwest::Client,
    node: &str,
    person: &Person,
) -> anyhow::Result<bool> {
    let mut browser = Browser::new(http);
    let target = cluster.target(node);
    let form = browser
        .get(signin::authorize_url(&target)?.as_str())
        .await?
        .expect_form("/login")?;
    let answer = browser
        .submit(
            node,
            &form,
            "/login",
            &[("email", &person.email), ("password", "not-the-password-1")],
        )
        .await?;
    if answer
        .body
        .contains("The email or password is not correct.")
    {
        Ok(true)
    } else if answer
        .body
        .contains("Too many failed sign-ins for this account.")
    {
        Ok(false)
    } else {
        anyhow::bail!(
            "a wrong password answered {} {}",
            answer.status,
            answer.snippet()
        )
    }
}
