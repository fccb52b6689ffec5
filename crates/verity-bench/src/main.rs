//! `verity-bench`: the command line of Verity's load generators (see the library's docs).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use verity_bench::{load, people, scim, signin, soak};

/// Load generators for Verity's benchmarks (docs/performance.md).
#[derive(Debug, Parser)]
#[command(name = "verity-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// One load generator per subcommand.
#[derive(Debug, Subcommand)]
enum Command {
    /// Complete sign-ins per second against a running server: the authorization request,
    /// the password form and the code form, as a browser posts them (no browser). Each
    /// person of `--people` signs in once.
    Signin {
        /// The server's issuer URL.
        #[arg(long)]
        issuer: String,
        /// A client registered with `--redirect-uri`.
        #[arg(long)]
        client_id: String,
        /// Its redirect URI.
        #[arg(long)]
        redirect_uri: String,
        /// The file `verity bench people` wrote.
        #[arg(long)]
        people: PathBuf,
        /// Sign-ins in flight at once.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Sign-ins before this many seconds are not counted.
        #[arg(long, default_value_t = 3)]
        warmup: u64,
        /// How long to measure after the warm-up.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// People created per second over SCIM (`POST /Users`, each with a new address and
    /// so a new temporary password to hash) with an organization's token.
    ScimCreate {
        /// The server's SCIM base, `<issuer>/scim/v2`.
        #[arg(long)]
        url: String,
        /// The organization's SCIM token (`verity scim token create`).
        #[arg(long)]
        token: String,
        /// Creations in flight at once.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Creations before this many seconds are not counted.
        #[arg(long, default_value_t = 3)]
        warmup: u64,
        /// How long to measure after the warm-up.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// `userName eq` lookups over SCIM (`GET /Users?filter=...`) of the people `verity
    /// bench seed --orgs 1` made, with a token of their organization.
    ScimLookup {
        /// The server's SCIM base, `<issuer>/scim/v2`.
        #[arg(long)]
        url: String,
        /// The organization's SCIM token.
        #[arg(long)]
        token: String,
        /// How many people were seeded (user0 .. user<N-1>@bench.example.org).
        #[arg(long, default_value_t = 100_000)]
        users: u64,
        /// How far apart successive lookups are in the seeded order.
        #[arg(long, default_value_t = 7919)]
        stride: u64,
        /// Lookups in flight at once.
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
        /// Lookups before this many seconds are not counted.
        #[arg(long, default_value_t = 3)]
        warmup: u64,
        /// How long to measure after the warm-up.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Mixed traffic over several nodes (`cargo xtask soak` runs it with faults): sign-ins
    /// with password and code, code exchanges, refreshes, introspection, userinfo,
    /// logouts and client_credentials, with replays of codes and refresh tokens and a
    /// lock test, every operation written to `--journal`. The people file's first person
    /// is the lock test's target; the others sign in.
    Soak {
        /// A node's base URL. Repeat for each node.
        #[arg(long = "node", required = true)]
        nodes: Vec<String>,
        /// The confidential client people sign in to (authorization_code, refresh_token).
        #[arg(long)]
        web_client_id: String,
        /// Its secret.
        #[arg(long)]
        web_client_secret: String,
        /// Its redirect URI.
        #[arg(long)]
        redirect_uri: String,
        /// A client allowed client_credentials.
        #[arg(long)]
        service_client_id: String,
        /// Its secret.
        #[arg(long)]
        service_client_secret: String,
        /// The file `verity bench people` wrote.
        #[arg(long)]
        people: PathBuf,
        /// Wrong passwords the lock test sends for its target.
        #[arg(long, default_value_t = 30)]
        lock_attempts: usize,
        /// People's turns in flight at once.
        #[arg(long, default_value_t = 6)]
        concurrency: usize,
        /// How long to run.
        #[arg(long)]
        seconds: u64,
        /// Where each operation's outcome goes, as JSON lines.
        #[arg(long)]
        journal: PathBuf,
    },
}

/// A timed run of `concurrency` workers.
fn timed(concurrency: usize, warmup: u64, seconds: u64) -> load::Run {
    load::Run {
        concurrency,
        warmup: Duration::from_secs(warmup),
        measure: Duration::from_secs(seconds),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(&error.into()),
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

/// Runs one generator and prints its figures as one JSON line on stdout.
async fn run(command: Command) -> anyhow::Result<()> {
    let figures = match command {
        Command::Signin {
            issuer,
            client_id,
            redirect_uri,
            people,
            concurrency,
            warmup,
            seconds,
        } => {
            let target = signin::Target {
                issuer,
                client_id,
                redirect_uri,
            };
            let run = timed(concurrency, warmup, seconds);
            signin::run(target, people::read(&people)?, run).await?
        }
        Command::ScimCreate {
            url,
            token,
            concurrency,
            warmup,
            seconds,
        } => {
            let target = scim::Target { url, token };
            scim::create(target, timed(concurrency, warmup, seconds)).await?
        }
        Command::ScimLookup {
            url,
            token,
            users,
            stride,
            concurrency,
            warmup,
            seconds,
        } => {
            let target = scim::Target { url, token };
            scim::lookup(target, users, stride, timed(concurrency, warmup, seconds)).await?
        }
        Command::Soak {
            nodes,
            web_client_id,
            web_client_secret,
            redirect_uri,
            service_client_id,
            service_client_secret,
            people,
            lock_attempts,
            concurrency,
            seconds,
            journal,
        } => {
            let mut people = people::read(&people)?.into_iter();
            let lock_target = people
                .next()
                .ok_or_else(|| anyhow::anyhow!("the people file is empty"))?;
            let cluster = soak::Cluster {
                nodes,
                web: soak::Client {
                    id: web_client_id,
                    secret: web_client_secret,
                },
                redirect_uri,
                service: soak::Client {
                    id: service_client_id,
                    secret: service_client_secret,
                },
                // A node stopped by SIGSTOP answers nothing: give up after 5 s.
                http: verity_bench::browser::client(concurrency * 4, Duration::from_secs(5))?,
            };
            soak::run(soak::Soak {
                cluster,
                people: people.collect(),
                lock_target,
                lock_attempts,
                concurrency,
                duration: Duration::from_secs(seconds),
                journal,
            })
            .await?
        }
    };
    println!("{figures}");
    Ok(())
}

/// One clear line on stderr and a non-zero exit; never a panic.
fn fail(error: &anyhow::Error) -> ExitCode {
    let chain: Vec<String> = error.chain().map(ToString::to_string).collect();
    eprintln!("error: {}", chain.join(": "));
    ExitCode::FAILURE
}
