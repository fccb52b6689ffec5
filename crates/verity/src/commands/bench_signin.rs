//! `verity bench people | argon2`: the store's side of the sign-in benchmark of
//! docs/performance.md.
//!
//! `people` enrolls people the way the journey leaves them (a password of their own, an
//! authenticator app); `argon2` measures the password-hash rate that bounds sign-ins.
//! `verity-bench signin` (crates/verity-bench) signs the people in against a running
//! server as a browser would; `bench/signin/run.sh` runs the three in one go.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Serialize;
use verity_domain::mfa::MfaCommand;
use verity_domain::user::{self, User, UserCommand};
use verity_domain::{Email, execute};
use verity_oidc::credentials::{HashMemory, hash_password_blocking, verify_password_in};
use verity_oidc::mfa::TotpSecret;

use super::bench_fixtures::find_org;
use super::output::print_json;
use crate::app::{App, cli_context, os_rng};
use crate::config::Config;

/// The password every bench person chose (it passes the password policy).
const BENCH_PASSWORD: &str = "Bench-Quartz-Harbor-7391-Lantern";

/// What the person at the keyboard knows: one line of the `bench people` file, which
/// `verity-bench signin` reads (its `people::Person`).
#[derive(Debug, Serialize)]
struct Person {
    email: String,
    password: String,
    /// The authenticator app's secret, Base32.
    secret: String,
}

/// Creates `users` people in `org`, each with [`BENCH_PASSWORD`] and an authenticator
/// app, through the same commands the journey executes.
pub(super) async fn people(
    config: Config,
    org: &str,
    users: u64,
    out: &Path,
) -> anyhow::Result<ExitCode> {
    let app = App::open(config).await?;
    let key_ring = crate::signing::key_ring(&app).await?;
    let org = app.projector.read(|models| find_org(models, org))?;
    // One hash for everyone: the benchmark measures verifying, not seeding.
    let temporary_hash = hash_password_blocking("temporary bench password".into()).await?;
    let password_hash = hash_password_blocking(BENCH_PASSWORD.into()).await?;
    let started = Instant::now();
    let mut lines = String::new();
    let mut head = 0;
    let run = verity_oidc::random::uuid().simple().to_string();
    for index in 0..users {
        let context = cli_context();
        let user_id = verity_oidc::random::person_id(context.now);
        let email = Email::parse(&format!("signin{index}.{run}@bench.example.org"))?;
        let secret = TotpSecret::generate(&mut os_rng());
        let codes = verity_oidc::mfa::generate_recovery_codes(&mut os_rng());
        let commands = [
            UserCommand::Create {
                user_id,
                org_id: org.org_id,
                email: email.clone(),
                name: format!("Bench Person {index}"),
                temporary_password_hash: temporary_hash.clone(),
                temporary_password_expires_at: context.now + chrono::Duration::days(7),
            },
            UserCommand::ChangePassword {
                password_hash: password_hash.clone(),
                end_sessions: verity_domain::user::EndSessions::None,
            },
            UserCommand::Mfa(MfaCommand::EnrollTotp {
                app_name: "Bench phone".into(),
                encrypted_secret: verity_oidc::mfa::seal_totp_secret(
                    key_ring.master(),
                    user_id,
                    &secret,
                )?,
                recovery_code_hashes: verity_oidc::mfa::recovery_code_hashes(user_id, &codes),
            }),
        ];
        for command in &commands {
            let outcome = execute::<User>(
                app.store.as_ref(),
                &user::stream(user_id),
                command,
                &context,
            )
            .await?;
            head = outcome.position;
        }
        let person = Person {
            email: email.to_string(),
            password: BENCH_PASSWORD.into(),
            secret: secret.to_base32(),
        };
        lines.push_str(&serde_json::to_string(&person)?);
        lines.push('\n');
    }
    app.wait_for(head).await?;
    // The people's passwords and authenticator secrets: for the owner's eyes only. A file
    // of an earlier run is replaced.
    match std::fs::remove_file(out) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            return Err(anyhow::anyhow!("replacing {}: {error}", out.display()));
        }
        _ => {}
    }
    verity_oidc::private_files::write_private_file(out, lines.as_bytes())
        .with_context(|| format!("writing {}", out.display()))?;
    print_json(&serde_json::json!({
        "bench": "people", "org": org.name, "people": users,
        "seconds": started.elapsed().as_secs_f64(), "out": out,
    }))?;
    Ok(ExitCode::SUCCESS)
}

/// Argon2id verifications per second on `threads` threads, with the parameters, the
/// function and the pooled memory sign-in uses.
pub(super) async fn argon2(threads: usize, measure: Duration) -> anyhow::Result<ExitCode> {
    let hash = hash_password_blocking(BENCH_PASSWORD.into()).await?;
    let deadline = Instant::now() + measure;
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let hash = hash.clone();
            tokio::task::spawn_blocking(move || {
                let mut memory = HashMemory::default();
                let mut count = 0u64;
                while Instant::now() < deadline {
                    let matched = verify_password_in(BENCH_PASSWORD, &hash, &mut memory);
                    anyhow::ensure!(matched, "the bench password does not verify");
                    count += 1;
                }
                anyhow::Ok(count)
            })
        })
        .collect();
    let mut count = 0;
    for worker in workers {
        count += worker.await??;
    }
    let seconds = started.elapsed().as_secs_f64();
    print_json(&serde_json::json!({
        "bench": "argon2", "threads": threads, "verifications": count, "seconds": seconds,
        "verifications_per_second": (count as f64 / seconds * 10.0).round() / 10.0,
    }))?;
    Ok(ExitCode::SUCCESS)
}
