//! `verity bench console`: the console's Users page with a search, as the server renders
//! it — the whole router in process (security headers, the console session checked
//! against its SSO session, the grants read, the admin layer's search, the template) —
//! for an instance admin, over the store as it is. Fill it first:
//! `verity bench seed --users 100000 --orgs 1` puts 100,000 people in one organization.
//!
//! Each request is timed alone, from the router's call to the last byte of the body
//! (the server's time; no network), and the percentiles are printed as one JSON line.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt;
use verity_admin::invitations::NewPerson;
use verity_admin::roles::HolderRef;
use verity_admin::{Grant, OrgRef, PersonRef};
use verity_admin_http::AdminState;
use verity_domain::signin::SecondFactor;
use verity_http::web::Cookie;
use verity_oidc::RequestContext;

use super::output::print_json;
use crate::admin::{cli_call, operator};
use crate::app::{App, now};
use crate::config::Config;

/// What the admin types into "Search users": parts of addresses and names the seed makes
/// (`user<N>@bench.example.org`, `Bench User <N>`), in different cases, a rare one, one
/// that matches nobody, and none (the first page of everyone).
const SEARCHES: [&str; 7] = [
    "user4",
    "USER12345@",
    "bench user 9",
    "User 99999",
    "example.org",
    "nobody-matches-this",
    "",
];

/// Requests before the timed ones (caches, the first template compilation).
const WARM_UP: usize = 20;

/// The latency below which `share` of the sorted samples lie.
fn percentile(sorted: &[Duration], share: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else {
        return 0.0;
    };
    // Nearest rank; the index is within 0..=last by construction.
    let rank = ((share * sorted.len() as f64).ceil() as usize).clamp(1, last + 1) - 1;
    sorted.get(rank).map_or(0.0, |sample| {
        (sample.as_secs_f64() * 100_000.0).round() / 100.0
    })
}

/// `verity bench console [--requests N] [--org ORG]`.
pub(super) async fn users_page(
    config: Config,
    requests: usize,
    org: Option<String>,
) -> anyhow::Result<ExitCode> {
    let issuer = config.public_url();
    let app = App::open(config).await?;
    let key_ring = crate::signing::key_ring(&app).await?;
    let engine = app.engine(key_ring, &issuer)?;
    let state = AdminState::new(
        verity_http::AppState::new(engine.clone(), verity_http::Settings::default())?,
        app.admin(),
    );
    let admin = &state.admin;
    let org = match org {
        Some(org) => admin.organization(&operator(), &OrgRef::parse(&org))?,
        None => largest_organization(&app)?,
    };
    let people = app
        .projector
        .read(|models| models.users.in_org_after(org.org_id, None).count());

    // An instance admin of that organization, signed in (an SSO session with a code) and
    // with a console session, as the console's callback leaves them.
    let email = format!(
        "console-bench-{}@bench.example.org",
        verity_oidc::random::uuid().simple()
    );
    let invitation = admin
        .create_person(
            &operator(),
            &cli_call(),
            &NewPerson {
                org: OrgRef::Id(org.org_id),
                email,
                name: "Console Bench".into(),
            },
        )
        .await?;
    let user_id = invitation.person.user_id;
    admin
        .grant_role(
            &operator(),
            &cli_call(),
            &HolderRef::Person(PersonRef::Id(user_id)),
            Grant::InstanceAdmin,
        )
        .await?;
    let context = RequestContext::new(now(), "bench-console", None, Some("verity bench"));
    let started = verity_oidc::sessions::start(
        &engine,
        &context,
        user_id,
        (SecondFactor::Totp, None),
        verity_admin::console_client::CONSOLE_CLIENT_ID,
    )
    .await?;
    let console =
        verity_admin_http::console::open_session(&state, &context, &started.authentication).await?;
    let cookie = format!("{}={console}", state.app.cookies().name(Cookie::Console));
    let router =
        verity_http::router_with(state.app.clone(), verity_admin_http::router(state.clone()));

    let mut samples = Vec::with_capacity(requests);
    for index in 0..WARM_UP + requests {
        let search = SEARCHES
            .get(index % SEARCHES.len())
            .copied()
            .unwrap_or_default();
        let query: String = form_urlencoded::byte_serialize(search.as_bytes()).collect();
        let request = Request::get(format!("/console/users?org={}&q={query}", org.org_id))
            .header(header::COOKIE, &cookie)
            .body(Body::empty())?;
        let timer = Instant::now();
        let response = router.clone().oneshot(request).await?;
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
        let elapsed = timer.elapsed();
        if status != StatusCode::OK || !body.windows(6).any(|window| window == b" found") {
            anyhow::bail!(
                "the Users page answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        if index >= WARM_UP {
            samples.push(elapsed);
        }
    }
    samples.sort();
    let p95 = percentile(&samples, 0.95);
    print_json(&serde_json::json!({
        "bench": "console-users-page", "organization": org.name, "people": people,
        "requests": samples.len(), "searches": SEARCHES,
        "p50_ms": percentile(&samples, 0.50), "p95_ms": p95, "p99_ms": percentile(&samples, 0.99),
        "max_ms": percentile(&samples, 1.0), "target_p95_ms": 50, "within_target": p95 <= 50.0,
    }))?;
    Ok(ExitCode::SUCCESS)
}

/// The organization with the most people.
fn largest_organization(app: &App) -> anyhow::Result<verity_projection::OrganizationView> {
    app.projector
        .read(|models| {
            models
                .organizations
                .list()
                .into_iter()
                .max_by_key(|org| models.users.in_org_after(org.org_id, None).count())
                .cloned()
        })
        .ok_or_else(|| anyhow::anyhow!("no organization: run `verity bench seed` first"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_ranks() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&samples, 0.50), 50.0);
        assert_eq!(percentile(&samples, 0.95), 95.0);
        assert_eq!(percentile(&samples, 1.0), 100.0);
        assert_eq!(percentile(&[], 0.95), 0.0);
    }
}
