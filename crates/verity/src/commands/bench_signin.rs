//! `verity bench people | signin | argon2`: the sign-in benchmark of docs/performance.md.
//!
//! `people` enrolls people the way the journey leaves them (a password of their own, an
//! authenticator app); `signin` signs them in against a running server as a browser
//! would, with form posts, playing the authenticator app too; `argon2` measures the
//! password-hash rate that bounds it. `bench/signin/run.sh` runs the three in one go.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use verity_domain::mfa::MfaCommand;
use verity_domain::user::{self, User, UserCommand};
use verity_domain::{Email, execute};
use verity_oidc::credentials::{HashMemory, hash_password_blocking, verify_password_in};
use verity_oidc::mfa::{self as engine, TotpSecret};

use super::{find_org, print_json};
use crate::app::{App, cli_context, now, os_rng};
use crate::config::Config;

/// The password every bench person chose (it passes the password policy).
const BENCH_PASSWORD: &str = "Bench-Quartz-Harbor-7391-Lantern";

/// What the person at the keyboard knows: one line of the `bench people` file.
#[derive(Debug, Serialize, Deserialize)]
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
        let user_id = verity_oidc::random::uuid();
        let email = Email::parse(&format!("signin{index}.{run}@bench.example.org"))?;
        let secret = TotpSecret::generate(&mut os_rng());
        let codes = engine::generate_recovery_codes(&mut os_rng());
        let context = cli_context();
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
            },
            UserCommand::Mfa(MfaCommand::EnrollTotp {
                app_name: "Bench phone".into(),
                encrypted_secret: engine::seal_totp_secret(key_ring.master(), user_id, &secret)?,
                recovery_code_hashes: engine::recovery_code_hashes(user_id, &codes),
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
    std::fs::write(out, lines).with_context(|| format!("writing {}", out.display()))?;
    print_json(&serde_json::json!({
        "bench": "people", "org": org.name, "people": users,
        "seconds": started.elapsed().as_secs_f64(), "out": out,
    }));
    Ok(ExitCode::SUCCESS)
}

/// The server and the client the sign-ins are for.
pub(super) struct Target {
    /// The server's issuer URL.
    pub issuer: String,
    /// A registered client.
    pub client_id: String,
    /// One of its redirect URIs.
    pub redirect_uri: String,
}

/// How hard and how long.
#[derive(Debug, Clone, Copy)]
pub(super) struct Run {
    /// Sign-ins in flight at once.
    pub concurrency: usize,
    /// Sign-ins that end before this are not counted.
    pub warmup: Duration,
    /// How long to count after the warm-up.
    pub measure: Duration,
}

/// Complete sign-ins per second: `concurrency` browsers, each signing in one person after
/// another until the time is up. Any step that does not answer as the journey should
/// stops the run with the page it got.
pub(super) async fn signin(target: Target, people: &Path, run: Run) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(people).with_context(|| format!("reading {}", people.display()))?;
    let people = text
        .lines()
        .map(serde_json::from_str::<Person>)
        .collect::<Result<Vec<_>, _>>()?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(run.concurrency)
        .build()?;
    let shared = Arc::new((target, people, AtomicUsize::new(0)));
    let started = Instant::now();
    let counted_from = started + run.warmup;
    let deadline = counted_from + run.measure;
    let workers: Vec<_> = (0..run.concurrency)
        .map(|_| {
            let (shared, http) = (shared.clone(), http.clone());
            tokio::spawn(async move {
                let (target, people, next) = &*shared;
                let (mut latencies, mut all) = (Vec::new(), 0u64);
                while Instant::now() < deadline {
                    let Some(person) = people.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        anyhow::bail!(
                            "every person of the file has signed in: seed more with `bench people`"
                        );
                    };
                    let began = Instant::now();
                    sign_in(&http, target, person).await?;
                    all += 1;
                    let ended = Instant::now();
                    if ended >= counted_from && ended <= deadline {
                        latencies.push(ended.duration_since(began));
                    }
                }
                anyhow::Ok((latencies, all))
            })
        })
        .collect();
    let (mut latencies, mut all) = (Vec::new(), 0);
    for worker in workers {
        let (measured, count) = worker.await??;
        latencies.extend(measured);
        all += count;
    }
    latencies.sort();
    let percentile = |p: usize| {
        latencies
            .get((latencies.len() * p / 100).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |latency| latency.as_secs_f64() * 1e3)
    };
    let seconds = run.measure.as_secs_f64();
    print_json(&serde_json::json!({
        "bench": "signin", "concurrency": run.concurrency, "seconds": seconds,
        "sign_ins": latencies.len(), "sign_ins_with_warmup": all,
        "sign_ins_per_second": (latencies.len() as f64 / seconds * 10.0).round() / 10.0,
        "p50_ms": percentile(50), "p99_ms": percentile(99),
    }));
    Ok(ExitCode::SUCCESS)
}

/// One browser's sign-in: `/authorize`, the password form, the code form, and the
/// redirect back with a code.
async fn sign_in(http: &reqwest::Client, target: &Target, person: &Person) -> anyhow::Result<()> {
    let mut browser = Browser {
        http,
        cookies: HashMap::new(),
    };
    let authorize = reqwest::Url::parse_with_params(
        &format!("{}/authorize", target.issuer),
        [
            ("response_type", "code"),
            ("scope", "openid"),
            ("client_id", &target.client_id),
            ("redirect_uri", &target.redirect_uri),
            ("state", "bench"),
            ("nonce", "bench"),
            // RFC 7636's example: the server checks the verifier only at the token endpoint.
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ],
    )?;
    let form = browser
        .get(authorize.as_str())
        .await?
        .expect_form("/login")?;
    let mfa = browser
        .submit(
            &target.issuer,
            &form,
            "/login",
            &[("email", &person.email), ("password", &person.password)],
        )
        .await?
        .expect_form("/login/mfa")?;
    let code = totp_code(&person.secret)?;
    let done = browser
        .submit(&target.issuer, &mfa, "/login/mfa", &[("code", &code)])
        .await?;
    match &done.location {
        Some(location)
            if location.starts_with(&target.redirect_uri) && location.contains("code=") =>
        {
            Ok(())
        }
        _ => anyhow::bail!(
            "expected the redirect with a code, got {} {}",
            done.status,
            done.snippet()
        ),
    }
}

/// The current code of the person's authenticator app.
fn totp_code(secret: &str) -> anyhow::Result<String> {
    let bytes = totp_rs::Secret::try_from_base32(secret)
        .map_err(|error| anyhow::anyhow!("a bench secret: {error:?}"))?;
    let totp = totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(bytes)
        .build()
        .map_err(|error| anyhow::anyhow!("a bench secret: {error:?}"))?;
    let time = u64::try_from(now().timestamp())?;
    Ok(totp.generate(time).to_string())
}

/// A cookie jar and form posts.
struct Browser<'a> {
    http: &'a reqwest::Client,
    cookies: HashMap<String, String>,
}

/// What came back.
struct Page {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Page {
    /// This page, when it is the form posting to `action`.
    fn expect_form(self, action: &str) -> anyhow::Result<Self> {
        if self.status == 200 && self.body.contains(&format!("action=\"{action}\"")) {
            Ok(self)
        } else {
            anyhow::bail!(
                "expected the form of {action}, got {} {}",
                self.status,
                self.snippet()
            )
        }
    }

    /// A hidden field's value.
    fn field(&self, name: &str) -> anyhow::Result<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let value = self
            .body
            .split_once(&marker)
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(value, _)| value.replace("&#x2f;", "/").replace("&amp;", "&"));
        value.with_context(|| format!("no field {name} on the page"))
    }

    /// The start of the body, for error messages.
    fn snippet(&self) -> String {
        self.body.chars().take(400).collect()
    }
}

impl Browser<'_> {
    async fn get(&mut self, url: &str) -> anyhow::Result<Page> {
        let request = self.http.get(url);
        self.send(request).await
    }

    /// Posts the journey form on `page` to `action`, with its tx and csrf and `fields`.
    async fn submit(
        &mut self,
        issuer: &str,
        page: &Page,
        action: &str,
        fields: &[(&str, &str)],
    ) -> anyhow::Result<Page> {
        let (tx, csrf) = (page.field("tx")?, page.field("csrf")?);
        let mut form = vec![("tx", tx.as_str()), ("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        let request = self.http.post(format!("{issuer}{action}")).form(&form);
        self.send(request).await
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> anyhow::Result<Page> {
        let cookie = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let response = request
            .header(reqwest::header::COOKIE, cookie)
            .send()
            .await?;
        for value in response.headers().get_all(reqwest::header::SET_COOKIE) {
            let text = value.to_str()?;
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        Ok(Page {
            status,
            location,
            body: response.text().await?,
        })
    }
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
    }));
    Ok(ExitCode::SUCCESS)
}
