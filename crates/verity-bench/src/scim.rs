//! `verity-bench scim-create` and `verity-bench scim-lookup`: SCIM provisioning against a
//! running server with an organization's token, as an identity system drives it.
//!
//! - [`create`]: people created per second (`POST /Users`, each a new address). Each
//!   creation hashes a temporary password, so the figure is compared with the Argon2id
//!   rate of the same core (`bench/scim/run.sh`).
//! - [`lookup`]: the `userName eq` filter an identity system sends before every create or
//!   update (`GET /Users?filter=...`), for people `verity bench seed` made: each answer
//!   must find exactly the person asked for.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::browser;
use crate::load::{self, Run};

/// How long one request may take before the run fails.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The server and the token.
pub struct Target {
    /// The server's SCIM base: `<issuer>/scim/v2`.
    pub url: String,
    /// The organization's SCIM token.
    pub token: String,
}

/// `run.concurrency` clients creating people one after another until the time is up;
/// anything but 201 stops the run with the answer. Answers the figures: people created
/// (counted and per second), p50, p95 and p99 latency.
pub async fn create(target: Target, run: Run) -> anyhow::Result<serde_json::Value> {
    let http = browser::client(run.concurrency, REQUEST_TIMEOUT)?;
    let batch = std::process::id();
    let shared = Arc::new((target, http, AtomicU64::new(0)));
    let tally = load::drive(run, move || {
        let shared = shared.clone();
        async move {
            let (target, http, next) = &*shared;
            let index = next.fetch_add(1, Ordering::Relaxed);
            let user = serde_json::json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": format!("scim{index}.{batch}@bench.example.org"),
                "name": {"givenName": "Bench", "familyName": format!("Person {index}")},
                "externalId": format!("bench-{batch}-{index}"),
            });
            let response = http
                .post(format!("{}/Users", target.url))
                .bearer_auth(&target.token)
                .header("content-type", "application/scim+json")
                .body(user.to_string())
                .send()
                .await?;
            let status = response.status().as_u16();
            if status != 201 {
                let body = response.text().await.unwrap_or_default();
                anyhow::bail!("POST /Users answered {status}: {body}");
            }
            Ok(())
        }
    })
    .await?;
    let seconds = run.measure.as_secs_f64();
    Ok(serde_json::json!({
        "bench": "scim-create", "concurrency": run.concurrency, "seconds": seconds,
        "people": tally.counted(), "people_with_warmup": tally.all,
        "people_per_second": (tally.counted() as f64 / seconds * 10.0).round() / 10.0,
        "p50_ms": tally.percentile_ms(50), "p95_ms": tally.percentile_ms(95),
        "p99_ms": tally.percentile_ms(99),
    }))
}

/// `run.concurrency` clients looking people up by `userName eq` until the time is up:
/// `user<i>@bench.example.org` (the addresses `verity bench seed` gives) for `i` walking
/// through `0..users` in steps of `stride`, so successive lookups land far apart. An
/// answer that does not find exactly that person stops the run. Answers the figures:
/// lookups per second, p50, p95 and p99 latency.
pub async fn lookup(
    target: Target,
    users: u64,
    stride: u64,
    run: Run,
) -> anyhow::Result<serde_json::Value> {
    anyhow::ensure!(users > 0, "--users must name how many people were seeded");
    let http = browser::client(run.concurrency, REQUEST_TIMEOUT)?;
    let shared = Arc::new((target, http, AtomicU64::new(0)));
    let tally = load::drive(run, move || {
        let shared = shared.clone();
        async move {
            let (target, http, next) = &*shared;
            let step = next.fetch_add(1, Ordering::Relaxed);
            let address = format!(
                "user{}@bench.example.org",
                step.wrapping_mul(stride) % users
            );
            let response = http
                .get(format!("{}/Users", target.url))
                .bearer_auth(&target.token)
                .query(&[("filter", format!("userName eq \"{address}\""))])
                .send()
                .await?;
            let status = response.status().as_u16();
            let body = response.text().await?;
            anyhow::ensure!(status == 200, "GET /Users answered {status}: {body}");
            let answer: serde_json::Value = serde_json::from_str(&body)?;
            let found = answer
                .pointer("/Resources/0/userName")
                .and_then(serde_json::Value::as_str);
            anyhow::ensure!(
                answer.get("totalResults") == Some(&serde_json::Value::from(1))
                    && found == Some(address.as_str()),
                "userName eq \"{address}\" did not find that person (seeded into the token's \
                 organization with `verity bench seed --orgs 1`?): {body}"
            );
            Ok(())
        }
    })
    .await?;
    let seconds = run.measure.as_secs_f64();
    Ok(serde_json::json!({
        "bench": "scim-lookup", "concurrency": run.concurrency, "seconds": seconds,
        "users": users, "lookups": tally.counted(),
        "lookups_per_second": (tally.counted() as f64 / seconds * 10.0).round() / 10.0,
        "p50_ms": tally.percentile_ms(50), "p95_ms": tally.percentile_ms(95),
        "p99_ms": tally.percentile_ms(99),
    }))
}
