//! `verity bench ...`: the measurements behind docs/performance.md, run against a real
//! store (never timed unit tests).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use uuid::Uuid;
use verity_domain::organization::{self, OrganizationCreated, OrganizationEvent};
use verity_domain::session::{self, SessionEvent, SessionStarted};
use verity_domain::signin::{Origin, SignInEvent, SignInSucceeded};
use verity_domain::user::{self, PasswordChanged, UserCreated, UserEvent};
use verity_domain::{
    Actor, AppendRequest, DomainEvent, Email, EventMetadata, ExpectedVersion, NewEvent,
};
use verity_projection::{Projector, ProjectorOptions, ReadModels};
use verity_store::Store;

use super::bench_fixtures::{BENCH_HASH, metadata};
use super::output::print_json;
use crate::app::{location, now};
use crate::cli::{AlgorithmChoice, BenchCommand};
use crate::config::Config;

pub(super) async fn run(command: BenchCommand, config: Config) -> anyhow::Result<ExitCode> {
    match command {
        BenchCommand::Append {
            writers,
            seconds,
            personal,
            sealed,
            checkpoint_every,
        } => {
            let workload = Workload { personal, sealed };
            append(config, writers, seconds, workload, checkpoint_every).await
        }
        BenchCommand::Seed {
            users,
            events_per_user,
            sealed,
            orgs,
            alphabetical,
            sign_ins,
        } => {
            let log = SeededLog {
                users,
                events_per_user,
                orgs,
                alphabetical,
                sign_ins,
            };
            seed(config, log, sealed).await
        }
        BenchCommand::Console { requests, org } => {
            super::bench_console::users_page(config, requests, org).await
        }
        BenchCommand::Startup { sealed } => startup(config, sealed).await,
        BenchCommand::Audit { samples } => audit(config, samples).await,
        BenchCommand::People { org, users, out } => {
            super::bench_signin::people(config, &org, users, &out).await
        }
        BenchCommand::Argon2 { threads, seconds } => {
            super::bench_signin::argon2(threads, Duration::from_secs(seconds)).await
        }
        BenchCommand::Passwords { lookups } => passwords(lookups),
        BenchCommand::Sign { alg, seconds } => sign(config, alg, seconds).await,
        BenchCommand::Access {
            alg,
            people,
            seconds,
        } => super::bench_access::access(config, alg, people, seconds).await,
        BenchCommand::EndAccess { sessions, runs } => {
            super::bench_access::end_access(config, sessions, runs).await
        }
    }
}

/// The store as stored (`sealed: false`) or behind the seal of personal data.
async fn bench_store(config: &Config, sealed: bool) -> anyhow::Result<Arc<dyn Store>> {
    Ok(if sealed {
        crate::app::open_sealed_store(config).await?
    } else {
        crate::app::open_store(config).await?
    })
}

/// What `bench append` appends, and through what.
#[derive(Debug, Clone, Copy)]
struct Workload {
    personal: bool,
    sealed: bool,
}

/// The event a writer appends: an organization's fact (nothing personal), or a person's
/// sign-in from their own browser (address, User-Agent and client address, all sealed).
fn bench_event(person: Uuid, personal: bool) -> NewEvent {
    if !personal {
        let event = OrganizationEvent::Created(OrganizationCreated {
            org_id: Uuid::nil(),
            name: "bench".into(),
        });
        return event.to_new_event(metadata());
    }
    signed_in(person, "bench-session")
}

/// Where a person's sign-ins come from: their browser.
fn their_browser() -> Origin {
    Origin {
        client_id: Some("bench".into()),
        ip: Some("192.0.2.7".into()),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0".into()),
    }
}

/// The metadata of what a person does from their browser: they are the actor, and the
/// client address is theirs (so it is sealed).
fn by_them(person: Uuid) -> EventMetadata {
    EventMetadata {
        actor: Actor::User {
            user_id: person.to_string(),
            sid: None,
        },
        client_ip: their_browser().ip,
        ..metadata()
    }
}

/// `person`'s successful sign-in that starts the session `sid` (their stream's event).
fn signed_in(person: Uuid, sid: &str) -> NewEvent {
    SignInEvent::Succeeded(SignInSucceeded {
        user_id: person.to_string(),
        sid: sid.into(),
        amr: vec!["pwd".into(), "otp".into()],
        second_factor: None,
        device_trust_used: false,
        decision: None,
        origin: their_browser(),
    })
    .to_new_event(by_them(person))
}

/// The session `sid` that `person`'s sign-in started (its own stream's first event).
fn session_started(person: Uuid, sid: &str) -> AppendRequest {
    let started = SessionEvent::Started(SessionStarted {
        sid: sid.into(),
        user_id: person.to_string(),
        auth_time: now(),
        amr: vec!["pwd".into(), "otp".into()],
        origin: their_browser(),
    });
    AppendRequest::new(
        session::stream(sid),
        ExpectedVersion::NoStream,
        vec![started.to_new_event(by_them(person))],
    )
}

/// Durable appends per second: `writers` tasks each appending one event at a time.
async fn append(
    config: Config,
    writers: usize,
    seconds: u64,
    workload: Workload,
    checkpoint_every: Option<u64>,
) -> anyhow::Result<ExitCode> {
    let store = bench_store(&config, workload.sealed).await?;
    let checkpoints = match checkpoint_every {
        Some(every) => Some(super::bench_audit::Checkpoints::start(&config, &store, every).await?),
        None => None,
    };
    let appended = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|writer| {
            let store = store.clone();
            let appended = appended.clone();
            let person = verity_oidc::random::person_id(now());
            let stream = if workload.personal {
                user::stream(person)
            } else {
                format!("bench-{person}-{writer}")
            };
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let request = AppendRequest::new(
                        stream.clone(),
                        ExpectedVersion::Any,
                        vec![bench_event(person, workload.personal)],
                    );
                    store.append(request).await?;
                    appended.fetch_add(1, Ordering::Relaxed);
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let count = appended.load(Ordering::Relaxed);
    let recorded = match checkpoints {
        Some(checkpoints) => Some(checkpoints.stop(store.as_ref()).await?),
        None => None,
    };
    print_json(&serde_json::json!({
        "bench": "append", "store": location(&config)?.describe(), "writers": writers,
        "personal": workload.personal, "sealed": workload.sealed,
        "events": count, "seconds": elapsed, "events_per_second": (count as f64 / elapsed).round(),
        "checkpoint_every": checkpoint_every, "checkpoints": recorded,
    }))?;
    Ok(ExitCode::SUCCESS)
}

/// The address of the seed's person `index`: `user<index>@bench.example.org`, or (not
/// `alphabetical`) the same after four hex digits that scatter consecutive people over
/// the whole alphabet (Fibonacci hashing of the index: fixed, so runs compare).
fn seed_address(index: u64, alphabetical: bool) -> String {
    if alphabetical {
        return format!("user{index}@bench.example.org");
    }
    let scatter = index.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 48;
    format!("{scatter:04x}.user{index}@bench.example.org")
}

/// The log `bench seed` writes (its options).
#[derive(Debug, Clone, Copy)]
struct SeededLog {
    users: u64,
    events_per_user: u64,
    orgs: u64,
    alphabetical: bool,
    sign_ins: bool,
}

/// Fills the log with `log.users` people in `log.orgs` organizations, `events_per_user`
/// events each ([`seeded_person`]), then saves a snapshot; through the seal of personal
/// data when `sealed`.
async fn seed(config: Config, log: SeededLog, sealed: bool) -> anyhow::Result<ExitCode> {
    let store = bench_store(&config, sealed).await?;
    crate::app::bootstrap(store.as_ref(), &config).await?;
    let orgs: Vec<Uuid> = (0..log.orgs).map(|_| verity_oidc::random::uuid()).collect();
    for (index, org_id) in orgs.iter().enumerate() {
        let event = OrganizationEvent::Created(OrganizationCreated {
            org_id: *org_id,
            name: format!("Bench {index} {org_id}"),
        });
        let request = AppendRequest::new(
            organization::stream(*org_id),
            ExpectedVersion::NoStream,
            vec![event.to_new_event(metadata())],
        );
        store.append(request).await?;
    }
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (store, next, orgs) = (store.clone(), next.clone(), orgs.clone());
            tokio::spawn(async move {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= log.users {
                        return anyhow::Ok(());
                    }
                    let org_id = orgs
                        .get((index % log.orgs) as usize)
                        .copied()
                        .unwrap_or_default();
                    for request in seeded_person(index, org_id, log)? {
                        store.append(request).await?;
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let seeded = started.elapsed().as_secs_f64();
    // Sealed with the audit key, as a server's: `bench startup` and `serve` trust it.
    crate::audit_key::load_or_create_audit_key(&config)?;
    let projector = Projector::<ReadModels>::start_with(
        store.clone(),
        crate::app::sealed_snapshots(&config, &store)?,
        ProjectorOptions {
            snapshot_every: u64::MAX,
        },
    )
    .await?;
    projector.save_snapshot().await?;
    print_json(&serde_json::json!({
        "bench": "seed", "users": log.users, "events": store.head().await?, "seconds": seeded,
    }))?;
    Ok(ExitCode::SUCCESS)
}

/// The appends that make the person `index` of a seeded log, in order: their stream
/// (created, then password changes, disables and enables, or their sign-ins), then the
/// sessions their sign-ins started.
fn seeded_person(index: u64, org_id: Uuid, log: SeededLog) -> anyhow::Result<Vec<AppendRequest>> {
    let user_id = verity_oidc::random::person_id(now());
    let email = Email::parse(&seed_address(index, log.alphabetical))?;
    let created = UserEvent::Created(UserCreated {
        user_id,
        org_id,
        email: email.clone(),
        name: format!("Bench User {index}"),
        temporary_password_hash: BENCH_HASH.to_owned(),
        temporary_password_expires_at: now() + chrono::Duration::days(7),
    });
    let mut events = vec![created.to_new_event(metadata())];
    // Each sign-in's session, appended after the person's stream.
    let mut sessions = Vec::new();
    let mut sid = String::new();
    for step in 1..log.events_per_user {
        if log.sign_ins {
            if step % 2 == 1 {
                sid = verity_oidc::random::uuid().to_string();
                events.push(signed_in(user_id, &sid));
            } else {
                sessions.push(session_started(user_id, &sid));
            }
            continue;
        }
        let event = match step % 3 {
            1 => UserEvent::PasswordChanged(PasswordChanged {
                password_hash: BENCH_HASH.to_owned(),
            }),
            2 => UserEvent::Disabled,
            _ => UserEvent::Enabled,
        };
        events.push(event.to_new_event(metadata()));
    }
    let mut request = AppendRequest::new(user::stream(user_id), ExpectedVersion::NoStream, events);
    request.claims.push(user::email_key(org_id, &email));
    Ok(std::iter::once(request).chain(sessions).collect())
}

/// The common-password list: the one-time decompression, then lookups of a mix of
/// listed and unlisted candidates; and the whole offline policy check, zxcvbn included.
fn passwords(lookups: u64) -> anyhow::Result<ExitCode> {
    use std::hint::black_box;
    use verity_oidc::password_policy::{self, PolicyContext};

    let started = Instant::now();
    password_policy::preload();
    let load = started.elapsed();
    // Half on the list, half not; mixed case and padding, as people type them.
    let candidates = [
        "Password1234",
        "violet tractor hums at dawn",
        " iloveyou1234",
        "Kq7mZt4hWx9cRb2nPs3v",
    ];
    let started = Instant::now();
    let mut hits = 0u64;
    for candidate in candidates.iter().cycle().take(usize::try_from(lookups)?) {
        if password_policy::is_common(black_box(candidate)) {
            hits += 1;
        }
    }
    let lookup = started.elapsed();
    let email = Email::parse("ada.lovelace@example.org")?;
    let context = PolicyContext::new(&email, password_policy::DEFAULT_MIN_LENGTH);
    let checks = 1_000u32;
    let started = Instant::now();
    for candidate in candidates.iter().cycle().take(checks as usize) {
        let _ = black_box(password_policy::check(candidate, candidate, &context));
    }
    let check = started.elapsed();
    print_json(&serde_json::json!({
        "entries": password_policy::common_password_count(),
        "load_ms": load.as_secs_f64() * 1e3,
        "lookups": lookups,
        "hits": hits,
        "lookup_ns": lookup.as_secs_f64() * 1e9 / lookups.max(1) as f64,
        "check_us": check.as_secs_f64() * 1e6 / f64::from(checks),
    }))?;
    Ok(ExitCode::SUCCESS)
}

/// Start-up to ready: open the store and bring the read models up to the head.
async fn startup(config: Config, sealed: bool) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let store = bench_store(&config, sealed).await?;
    let projector = Projector::<ReadModels>::start_with(
        store.clone(),
        crate::app::sealed_snapshots(&config, &store)?,
        ProjectorOptions {
            snapshot_every: u64::MAX,
        },
    )
    .await?;
    let head = store.head().await?;
    projector.wait_for(head, Duration::from_secs(60)).await?;
    let elapsed = started.elapsed().as_secs_f64();
    print_json(&serde_json::json!({
        "bench": "startup", "sealed": sealed, "events": head, "started_from": projector.started_from(), "seconds": elapsed,
        "users": projector.read(|models| models.users.len()),
    }))?;
    Ok(ExitCode::SUCCESS)
}

/// Signatures per second of one thread, with the active key of the store's key ring and
/// the claims of an RFC 9068 access token (a fresh `jti` each time).
async fn sign(config: Config, alg: AlgorithmChoice, seconds: u64) -> anyhow::Result<ExitCode> {
    let app = crate::app::App::open(config).await?;
    let shared = crate::signing::key_ring(&app).await?;
    let ring = crate::signing::current_ring(&app, &shared)?;
    for alg in alg.algorithms() {
        let ring = ring.clone();
        let (count, elapsed) = tokio::task::spawn_blocking(move || {
            let issued_at = now().timestamp();
            let serde_json::Value::Object(mut claims) = serde_json::json!({
                "iss": "https://id.example.org", "sub": verity_oidc::random::uuid(), "aud": "https://api.example.org",
                "client_id": "bench-client", "scope": "openid profile email",
                "iat": issued_at, "exp": issued_at + 300,
            }) else {
                anyhow::bail!("claims are an object");
            };
            let deadline = Instant::now() + Duration::from_secs(seconds);
            let started = Instant::now();
            let mut count: u64 = 0;
            while Instant::now() < deadline {
                claims.insert("jti".into(), serde_json::Value::String(count.to_string()));
                ring.sign(alg, Some("at+jwt"), &claims)?;
                count += 1;
            }
            anyhow::Ok((count, started.elapsed().as_secs_f64()))
        })
        .await??;
        print_json(&serde_json::json!({
            "bench": "sign", "alg": alg, "threads": 1, "signatures": count, "seconds": elapsed,
            "signatures_per_second": (count as f64 / elapsed).round(),
        }))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Times `audit history --subject` and `audit account --at` through the admin layer, as
/// the CLI runs them, for `samples` people of the log.
async fn audit(config: Config, samples: usize) -> anyhow::Result<ExitCode> {
    use rand::seq::IteratorRandom;
    use verity_admin::PersonRef;

    let app = crate::app::App::open(config).await?;
    let admin = app.admin();
    let operator = crate::admin::operator();
    let people: Vec<Uuid> = app.projector.read(|models| {
        let mut rng = verity_oidc::random::crypto_rng();
        models
            .organizations
            .list()
            .iter()
            .flat_map(|org| models.users.in_org_after(org.org_id, None))
            .map(|view| view.user_id)
            .sample(&mut rng, samples)
    });
    let events = app.store.head().await?;
    let (mut history, mut account) = (Vec::new(), Vec::new());
    for user_id in &people {
        let person = PersonRef::Id(*user_id);
        let started = Instant::now();
        admin.events_about(&operator, &person, (None, None)).await?;
        history.push(started.elapsed());
        let started = Instant::now();
        admin.account_at(&operator, &person, now()).await?;
        account.push(started.elapsed());
    }
    let summary = |mut times: Vec<Duration>| {
        times.sort();
        let at = |fraction: f64| {
            let index = ((times.len() as f64 - 1.0) * fraction).round() as usize;
            times
                .get(index)
                .map_or(0.0, |time| time.as_secs_f64() * 1000.0)
        };
        serde_json::json!({ "p50_ms": at(0.5), "p95_ms": at(0.95), "max_ms": at(1.0) })
    };
    print_json(&serde_json::json!({
        "bench": "audit", "store": location(&app.config)?.describe(), "events": events,
        "samples": people.len(), "history": summary(history), "account_at": summary(account),
    }))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::seed_address;

    #[test]
    fn seed_addresses_scatter_the_people_created_together_unless_alphabetical() {
        assert_eq!(seed_address(7, true), "user7@bench.example.org");
        assert_eq!(
            seed_address(7, false).split_once('.').map(|(_, rest)| rest),
            Some("user7@bench.example.org")
        );
        // 64 people created one after another, by address: alphabetically each would be
        // beside the one created before or after; scattered, hardly any two are.
        let mut by_address: Vec<(String, u64)> = (0..64)
            .map(|index| (seed_address(index, false), index))
            .collect();
        by_address.sort();
        by_address.dedup_by(|a, b| a.0 == b.0);
        assert_eq!(by_address.len(), 64);
        let neighbours = by_address
            .windows(2)
            .filter(|pair| pair[0].1.abs_diff(pair[1].1) == 1)
            .count();
        assert!(neighbours < 8, "{neighbours} neighbours");
    }
}
