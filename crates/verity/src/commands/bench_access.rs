//! `verity bench access | end-access`: what checking and ending access costs
//! (docs/performance.md, "Access tokens and ending access").
//!
//! `access` times the access-token check of userinfo and introspection in process, over a
//! read model with many people, sessions and ended marks: the token's bytes alone
//! (`verify_access_token`) against the whole check (`validate_access_token`, which adds
//! the sessions read model), for a token presented again and again and for tokens seen
//! once. `end-access` signs a person in `--sessions` times through the engine and times
//! the admin's sign-out of that person, end to end.

use std::hint::black_box;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use uuid::Uuid;
use verity_admin::PersonRef;
use verity_domain::grant::{self, GrantEvent, GrantRevocationReason, GrantRevoked};
use verity_domain::session::{self, SessionEndReason, SessionEnded, SessionEvent, SessionStarted};
use verity_domain::signin::{Origin, SecondFactor};
use verity_domain::token::{self, AccessTokenRevoked, TokenEvent};
use verity_domain::user::{self, AccessEndReason, SessionsEnded, UserCommand, UserEvent};
use verity_domain::{
    AppendRequest, DomainEvent, Email, EventStore, ExpectedVersion, NewEvent, execute,
};
use verity_oidc::Engine;
use verity_oidc::RequestContext;
use verity_oidc::grants::{ACCESS_TOKEN_TYP, validate_access_token, verify_access_token};
use verity_oidc::keys::KeyRing;
use verity_oidc::protocol::tokens::{AccessTokenClaims, Authentication};

use super::bench_fixtures::{BENCH_HASH, metadata};
use super::output::print_json;
use crate::admin::{cli_call, operator};
use crate::app::{App, cli_context, now};
use crate::cli::AlgorithmChoice;
use crate::config::Config;

/// The client the bench's tokens and sessions are for (it needs no registration).
const BENCH_CLIENT: &str = "bench-client";

/// Checks per timed batch; batches of the two checks alternate, so drift on a shared
/// machine hits both alike.
const BATCH: u32 = 2_000;

/// The store and an engine over it, with the store's signing keys.
async fn open(config: Config) -> anyhow::Result<(App, Engine)> {
    let app = App::open(config).await?;
    let keys = crate::signing::key_ring(&app).await?;
    let engine = app.engine(keys, "https://id.bench.example")?;
    Ok((app, engine))
}

/// Access-token checks per second over a read model of `people` people.
pub(super) async fn access(
    config: Config,
    alg: AlgorithmChoice,
    people: u64,
    seconds: u64,
) -> anyhow::Result<ExitCode> {
    let (app, engine) = open(config).await?;
    let seeded = seed_sessions(&app, people).await?;
    let ring = engine.key_ring(now())?;
    let (marks, live) = engine.projector.read(|models| {
        (
            models.sessions.len(),
            models.sessions.of_person(seeded.person).len(),
        )
    });
    anyhow::ensure!(live > 0, "the bench person has no live session");
    for alg in alg.algorithms() {
        let context = RequestContext::new(now(), "bench", None, None);
        let mint = |count: u32| -> anyhow::Result<Vec<String>> {
            (0..count)
                .map(|_| seeded.token(&engine, &ring, alg, &context))
                .collect()
        };
        // The same token again and again: after its first check, its signature is
        // remembered.
        let again = seeded.token(&engine, &ring, alg, &context)?;
        anyhow::ensure!(
            validate_access_token(&engine, &context, &again)
                .await
                .is_ok(),
            "the token is refused"
        );
        let (mut repeated, mut once) = (Pair::default(), Pair::default());
        let deadline = Instant::now() + Duration::from_secs(seconds);
        while Instant::now() < deadline {
            repeated.bytes += time(BATCH, |_| {
                verify_access_token(&engine, &context, &again).is_ok()
            })?;
            repeated.whole += time_whole(&engine, &context, BATCH, |_| Some(&again)).await?;
            // Tokens seen once each: every check verifies a signature.
            let fresh = mint(BATCH)?;
            once.bytes += time(BATCH, |index| {
                fresh
                    .get(index)
                    .is_some_and(|token| verify_access_token(&engine, &context, token).is_ok())
            })?;
            let fresh = mint(BATCH)?;
            once.whole += time_whole(&engine, &context, BATCH, |index| fresh.get(index)).await?;
            repeated.batches += 1;
            once.batches += 1;
        }
        print_json(&serde_json::json!({
            "bench": "access", "alg": alg, "people": people, "sessions_live": marks,
            "checks_per_batch": BATCH, "batches": repeated.batches,
            "repeated_token": repeated.report(),
            "token_seen_once": once.report(),
        }))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Time spent on each half, summed over the batches.
#[derive(Default)]
struct Pair {
    bytes: Duration,
    whole: Duration,
    batches: u32,
}

impl Pair {
    fn report(&self) -> serde_json::Value {
        let checks = f64::from(BATCH) * f64::from(self.batches.max(1));
        let per_check = |total: Duration| total.as_secs_f64() * 1e9 / checks;
        let (bytes, whole) = (per_check(self.bytes), per_check(self.whole));
        serde_json::json!({
            "bytes_only_ns": bytes.round(), "with_read_model_ns": whole.round(),
            "read_model_extra_percent": ((whole / bytes - 1.0) * 1000.0).round() / 10.0,
        })
    }
}

/// Times `count` checks of the token's bytes; each must pass.
fn time(count: u32, check: impl Fn(usize) -> bool) -> anyhow::Result<Duration> {
    let started = Instant::now();
    for index in 0..count {
        anyhow::ensure!(
            black_box(check(usize::try_from(index)?)),
            "a token was refused"
        );
    }
    Ok(started.elapsed())
}

/// Times `count` whole checks (`validate_access_token`); each must pass.
async fn time_whole<'t>(
    engine: &Engine,
    context: &RequestContext,
    count: u32,
    token: impl Fn(usize) -> Option<&'t String>,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    for index in 0..count {
        let token = token(usize::try_from(index)?).map_or("", String::as_str);
        let checked = validate_access_token(engine, context, token).await;
        anyhow::ensure!(black_box(checked).is_ok(), "a token was refused");
    }
    Ok(started.elapsed())
}

/// The read model the access bench checks against, and the person whose tokens it mints.
struct Seeded {
    person: Uuid,
    sid: String,
    auth_time: DateTime<Utc>,
}

impl Seeded {
    /// A fresh access token of the bench person's live session, as the token endpoint
    /// signs it (a grant, a `sid`, `at+jwt`).
    fn token(
        &self,
        engine: &Engine,
        ring: &KeyRing,
        alg: verity_domain::key::SigningAlgorithm,
        context: &RequestContext,
    ) -> anyhow::Result<String> {
        let authentication = Authentication {
            user_id: self.person.to_string(),
            sid: self.sid.clone(),
            auth_time: self.auth_time.timestamp(),
            amr: vec!["pwd".into(), "otp".into()],
            acr: "urn:verity:mfa".into(),
        };
        let jti = verity_oidc::random::uuid().to_string();
        let grant_id = verity_oidc::random::uuid().to_string();
        let claims = AccessTokenClaims {
            issuer: &engine.settings.issuer,
            subject: &authentication.user_id,
            client_id: BENCH_CLIENT,
            scope: "openid profile email",
            jti: &jti,
            grant_id: Some(&grant_id),
            authentication: Some(&authentication),
            now: context.now.timestamp(),
            lifetime: 3600,
        };
        Ok(ring.sign(alg, Some(ACCESS_TOKEN_TYP), &claims.to_claims())?)
    }
}

/// Fills the log with `people` people with two sessions each, then ends some: every tenth
/// person signed out everywhere, every tenth other session ended on its own, and a
/// thousand revoked grants and revoked access tokens. Returns a person with live sessions.
async fn seed_sessions(app: &App, people: u64) -> anyhow::Result<Seeded> {
    let store: Arc<dyn EventStore> = app.store.clone();
    let org_id = app
        .projector
        .read(|models| models.organizations.list().first().map(|org| org.org_id))
        .ok_or_else(|| anyhow::anyhow!("no organization"))?;
    let started_at = now();
    let next = Arc::new(AtomicU64::new(0));
    let run = verity_oidc::random::uuid().simple().to_string();
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (store, next, run) = (store.clone(), next.clone(), run.clone());
            tokio::spawn(async move {
                let mut first = None;
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= people {
                        return anyhow::Ok(first);
                    }
                    let seeded =
                        seed_person(store.as_ref(), org_id, index, &run, started_at).await?;
                    first = first.or(seeded);
                }
            })
        })
        .collect();
    let mut person = None;
    for task in tasks {
        person = person.or(task.await??);
    }
    for index in 0..1_000 {
        let grant_id = format!("bench-grant-{run}-{index}");
        let revoked = GrantEvent::Revoked(GrantRevoked {
            grant_id: grant_id.clone(),
            client_id: BENCH_CLIENT.into(),
            user_id: None,
            reason: GrantRevocationReason::Revoked,
        });
        append(
            store.as_ref(),
            grant::stream(&grant_id),
            revoked.to_new_event(metadata()),
        )
        .await?;
        let jti = format!("bench-token-{run}-{index}");
        let revoked = TokenEvent::Revoked(AccessTokenRevoked {
            jti: jti.clone(),
            client_id: BENCH_CLIENT.into(),
            expires_at: started_at + chrono::Duration::hours(1),
        });
        append(
            store.as_ref(),
            token::stream(&jti),
            revoked.to_new_event(metadata()),
        )
        .await?;
    }
    app.wait_for(store.head().await?).await?;
    person.ok_or_else(|| anyhow::anyhow!("no person was seeded"))
}

/// One person of the access bench, with two sessions; some are then ended. Returns the
/// person and a session of theirs when both stay live.
async fn seed_person(
    store: &dyn EventStore,
    org_id: Uuid,
    index: u64,
    run: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<Option<Seeded>> {
    let user_id = verity_oidc::random::person_id(at);
    let created = UserEvent::Created(verity_domain::user::UserCreated {
        user_id,
        org_id,
        email: Email::parse(&format!("access{index}.{run}@bench.example.org"))?,
        name: format!("Bench Person {index}"),
        temporary_password_hash: BENCH_HASH.into(),
        temporary_password_expires_at: at + chrono::Duration::days(7),
    });
    append(
        store,
        user::stream(user_id),
        created.to_new_event(metadata()),
    )
    .await?;
    let mut sids = Vec::new();
    for _ in 0..2 {
        let sid = verity_oidc::random::uuid().to_string();
        let started = SessionEvent::Started(SessionStarted {
            sid: sid.clone(),
            user_id: user_id.to_string(),
            auth_time: at,
            amr: vec!["pwd".into(), "otp".into()],
            origin: Origin {
                client_id: Some(BENCH_CLIENT.into()),
                ip: Some("192.0.2.1".into()),
                user_agent: Some("bench".into()),
            },
        });
        append(
            store,
            session::stream(&sid),
            started.to_new_event(metadata()),
        )
        .await?;
        sids.push(sid);
    }
    if index % 10 == 5 {
        let ended = UserEvent::SessionsEnded(SessionsEnded {
            reason: AccessEndReason::SignedOut,
            except_sid: None,
        });
        append(store, user::stream(user_id), ended.to_new_event(metadata())).await?;
        return Ok(None);
    }
    if index % 10 == 7 {
        let sid = sids.remove(0);
        let ended = SessionEvent::Ended(SessionEnded {
            sid: sid.clone(),
            user_id: user_id.to_string(),
            reason: SessionEndReason::Logout,
            client_id: None,
        });
        append(store, session::stream(&sid), ended.to_new_event(metadata())).await?;
    }
    Ok(sids.pop().map(|sid| Seeded {
        person: user_id,
        sid,
        auth_time: at,
    }))
}

async fn append(store: &dyn EventStore, stream: String, event: NewEvent) -> anyhow::Result<()> {
    store
        .append(AppendRequest::new(
            stream,
            ExpectedVersion::Any,
            vec![event],
        ))
        .await?;
    Ok(())
}

/// Ending access for a person with `sessions` live sessions: the admin's sign-out, from
/// the command to this node's read models showing every session ended, `runs` times.
pub(super) async fn end_access(
    config: Config,
    sessions: usize,
    runs: usize,
) -> anyhow::Result<ExitCode> {
    let (app, engine) = open(config).await?;
    let admin = app.admin();
    let org_id = app
        .projector
        .read(|models| models.organizations.list().first().map(|org| org.org_id))
        .ok_or_else(|| anyhow::anyhow!("no organization"))?;
    let mut took = Vec::with_capacity(runs);
    let run_id = verity_oidc::random::uuid().simple().to_string();
    for run in 0..runs {
        let context = cli_context();
        let user_id = verity_oidc::random::person_id(context.now);
        let create = UserCommand::Create {
            user_id,
            org_id,
            email: Email::parse(&format!("end{run}.{run_id}@bench.example.org"))?,
            name: format!("Bench Person {run}"),
            temporary_password_hash: BENCH_HASH.into(),
            temporary_password_expires_at: context.now + chrono::Duration::days(7),
        };
        let outcome = execute::<user::User>(
            app.store.as_ref(),
            &user::stream(user_id),
            &create,
            &context,
        )
        .await?;
        app.wait_for(outcome.position).await?;
        for _ in 0..sessions {
            let context = RequestContext::new(now(), "bench", None, Some("bench"));
            verity_oidc::sessions::start(
                &engine,
                &context,
                user_id,
                (SecondFactor::Totp, None),
                BENCH_CLIENT,
            )
            .await?;
        }
        let live = app
            .projector
            .read(|models| models.sessions.of_person(user_id).len());
        anyhow::ensure!(live == sessions, "{live} live sessions, not {sessions}");
        let started = Instant::now();
        let (_, ended) = admin
            .sign_out_person(&operator(), &cli_call(), &PersonRef::Id(user_id))
            .await?;
        let elapsed = started.elapsed();
        let left = app
            .projector
            .read(|models| models.sessions.of_person(user_id).len());
        anyhow::ensure!(ended == sessions && left == 0, "{ended} ended, {left} left");
        took.push(elapsed);
    }
    took.sort();
    let ms = |duration: Duration| duration.as_secs_f64() * 1e3;
    let percentile = |fraction: f64| {
        let index = ((took.len() as f64 - 1.0) * fraction).round() as usize;
        took.get(index).copied().map(ms).unwrap_or_default()
    };
    print_json(&serde_json::json!({
        "bench": "end-access", "store": crate::app::location(&app.config)?.describe(),
        "sessions": sessions, "runs": runs,
        "median_ms": percentile(0.5), "p95_ms": percentile(0.95),
        "min_ms": took.first().copied().map(ms), "max_ms": took.last().copied().map(ms),
    }))?;
    Ok(ExitCode::SUCCESS)
}
