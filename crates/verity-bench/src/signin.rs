//! `verity-bench signin`: complete sign-ins per second. Each browser signs in one person
//! after another as the journey asks — `/authorize`, the password form, the code form —
//! and ends at the redirect to the client with an authorization code. A code is accepted
//! once, so every person of the file signs in once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::authenticator;
use crate::browser::{self, Browser};
use crate::load::{self, Run};
use crate::people::Person;

/// The server and the client the sign-ins are for.
pub struct Target {
    /// The server's issuer URL.
    pub issuer: String,
    /// A registered client.
    pub client_id: String,
    /// One of its redirect URIs.
    pub redirect_uri: String,
}

/// `run.concurrency` browsers, each signing in one person after another until the time is
/// up. Any step that does not answer as the journey should stops the run with the page it
/// got, except a sign-in the server sheds (503), which is counted apart. Answers the
/// figures: sign-ins counted and per second, p50 and p99 latency, sign-ins shed.
pub async fn run(
    target: Target,
    people: Vec<Person>,
    run: Run,
) -> anyhow::Result<serde_json::Value> {
    // A sign-in waits its turn for hashing under a flood: a minute before giving up.
    let http = browser::client(run.concurrency, std::time::Duration::from_secs(60))?;
    let shed = Arc::new(AtomicUsize::new(0));
    let shared = Arc::new((target, people, AtomicUsize::new(0), http, shed.clone()));
    let tally = load::drive(run, move || {
        let shared = shared.clone();
        async move {
            let (target, people, next, http, shed) = &*shared;
            let Some(person) = people.get(next.fetch_add(1, Ordering::Relaxed)) else {
                anyhow::bail!(
                    "every person of the file has signed in: seed more with `verity bench people`"
                );
            };
            match sign_in(http, target, person).await {
                Err(error) if error.is::<Busy>() => {
                    // As a browser would, wait the Retry-After the server asked for.
                    shed.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                    Ok(())
                }
                outcome => outcome,
            }
        }
    })
    .await?;
    let shed = shed.load(Ordering::Relaxed);
    let seconds = run.measure.as_secs_f64();
    Ok(serde_json::json!({
        "bench": "signin", "concurrency": run.concurrency, "seconds": seconds,
        "sign_ins": tally.counted(), "sign_ins_with_warmup": tally.all,
        // Sign-ins the server shed (503) are among the counted ones: under a flood, read
        // the rate as attempts answered.
        "shed_with_warmup": shed,
        "sign_ins_per_second": (tally.counted() as f64 / seconds * 10.0).round() / 10.0,
        "p50_ms": tally.percentile_ms(50), "p99_ms": tally.percentile_ms(99),
    }))
}

/// The server shed the sign-in: too many passwords waiting to be checked (503 with
/// Retry-After). Counted, not a failure of the run.
#[derive(Debug)]
pub struct Busy;

impl std::fmt::Display for Busy {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("the server is busy (503)")
    }
}

impl std::error::Error for Busy {}

/// The PKCE verifier every generated sign-in uses (RFC 7636 allows any 43 to 128
/// characters of its alphabet); [`PKCE_CHALLENGE`] is its S256 challenge, computed once
/// with `printf %s VERIFIER | openssl dgst -sha256 -binary | basenc --base64url`.
pub const PKCE_VERIFIER: &str = "soak-pkce-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";
/// The S256 challenge of [`PKCE_VERIFIER`], unpadded.
pub const PKCE_CHALLENGE: &str = "eDcD5-kS4A2OXFoDDjasSvn8aoWth6UUOYFA3AvrT6w";

/// One browser's sign-in: `/authorize`, the password form, the code form, and the
/// redirect back with a code.
async fn sign_in(http: &reqwest::Client, target: &Target, person: &Person) -> anyhow::Result<()> {
    through_journey(&mut Browser::new(http), target, person)
        .await
        .map(drop)
}

/// Walks `browser` through the journey for `person` — `/authorize` with
/// [`PKCE_CHALLENGE`], the password form, the code form — and answers the redirect's
/// location, which carries the authorization code. The browser keeps the session cookie.
pub async fn through_journey(
    browser: &mut Browser<'_>,
    target: &Target,
    person: &Person,
) -> anyhow::Result<String> {
    let form = browser
        .get(authorize_url(target)?.as_str())
        .await?
        .expect_form("/login")?;
    let checked = browser
        .submit(
            &target.issuer,
            &form,
            "/login",
            &[("email", &person.email), ("password", &person.password)],
        )
        .await?;
    if checked.status == 503 {
        return Err(Busy.into());
    }
    let mfa = checked.expect_form("/login/mfa")?;
    let code = authenticator::current_code(&person.secret)?;
    let done = browser
        .submit(&target.issuer, &mfa, "/login/mfa", &[("code", &code)])
        .await?;
    match done.location {
        Some(location)
            if location.starts_with(&target.redirect_uri) && location.contains("code=") =>
        {
            Ok(location)
        }
        _ => anyhow::bail!(
            "expected the redirect with a code, got {} {}",
            done.status,
            done.snippet()
        ),
    }
}

/// The authorization request of a generated sign-in (`openid`, PKCE with
/// [`PKCE_CHALLENGE`]).
pub fn authorize_url(target: &Target) -> anyhow::Result<reqwest::Url> {
    Ok(reqwest::Url::parse_with_params(
        &format!("{}/authorize", target.issuer),
        [
            ("response_type", "code"),
            ("scope", "openid"),
            ("client_id", &target.client_id),
            ("redirect_uri", &target.redirect_uri),
            ("state", "bench"),
            ("nonce", "bench"),
            ("code_challenge", PKCE_CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    )?)
}
