//! `verity serve`: the HTTP server, on its listener and, with `[server] metrics_bind`,
//! `/metrics` on a listener of its own.

use crate::commands::output::say;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use verity_admin_http::AdminState;
use verity_audit::checkpointer::Checkpointer;
use verity_audit::snapshots::SealedSnapshots;
use verity_audit::{AuditError, AuditKey, Report};
use verity_http::{AppState, metrics_router, router_with};

use super::exit_status::EXIT_CHAIN_BROKEN;
use crate::app::App;
use crate::cli::ServeArgs;
use crate::config::Config;
use crate::listener;

/// Listens on `bind`, or says which address could not be had.
async fn bind(bind: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(bind)
        .await
        .map_err(|error| anyhow::anyhow!("cannot listen on {bind}: {error}"))
}

/// How often timed-out sessions are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(2);
/// How often the back-channel outbox is looked at (a notice goes out within a second or
/// two of its session's end).
const NOTICES_EVERY: Duration = Duration::from_secs(1);

pub(super) async fn run(mut config: Config, args: ServeArgs) -> anyhow::Result<ExitCode> {
    // Bind before opening the store: a port in use fails fast and writes nothing.
    let listener = bind(config.server.bind).await?;
    let metrics_listener = match config.server.metrics_bind {
        Some(address) if config.server.metrics => Some(bind(address).await?),
        _ => None,
    };
    // From here on the configuration names the address actually bound: with port 0 the
    // system chose one, and the issuer derived from it (`[server] public_url` unset) must
    // carry that port, not 0.
    config.server.bind = listener.local_addr()?;
    let address = config.server.bind;
    let issuer = config.public_url();
    // The log is verified before anything reads or writes it (docs/audit.md).
    let audit_key = crate::audit_key::load_or_create_audit_key(&config)?;
    let checkpoint_file = config.audit.checkpoint_path(&config.store);
    crate::audit_key::warn_if_inside_data_dir(&config, &checkpoint_file, "the checkpoint file");
    let witness = config.audit.witness()?;
    let store = crate::app::open_store(&config).await?;
    let verified = match check_log(&store, &audit_key, &checkpoint_file, &args).await? {
        LogAtStart::Verified(report) => Some(*report),
        LogAtStart::BrokenServedAnyway => None,
        LogAtStart::Refused => return Ok(ExitCode::from(EXIT_CHAIN_BROKEN)),
    };
    let snapshots = Arc::new(SealedSnapshots::new(
        store.clone(),
        store.clone(),
        Some(audit_key.clone()),
    ));
    let app = App::open_on(config, store, snapshots).await?;
    // Decompress the common-password list now, not during someone's first sign-in.
    verity_oidc::password_policy::preload();
    // Signing keys: made on first start, and checked to decrypt under this node's master
    // key before any request is taken. Handlers get the current ring with
    // `key_ring.current(&models.keys, now)`, which follows rotations by any node.
    let key_ring = crate::signing::key_ring(&app).await?;
    let signing = crate::signing::current_ring(&app, &key_ring)?;
    tracing::info!(keys = ?signing, master_key_id = key_ring.master().id(), "signing keys ready");
    // The admin console signs admins in as a client of this server: registered on the
    // first start, and following the issuer when it changes. Without it only the console
    // is unavailable (an http issuer that is not loopback cannot be a redirect URI).
    if let Err(error) = app
        .admin()
        .ensure_console_client(&crate::admin::cli_call(), &issuer)
        .await
    {
        tracing::warn!(error = %verity_domain::error_chain::ErrorChain(&error), "the admin console's client could not be registered: the console will not sign anyone in");
    }
    // Expired protocol state already reads as absent; purging keeps the table small.
    let purge = verity_store::spawn_purge(app.store.clone(), verity_store::PURGE_EVERY);
    let engine = app.engine(key_ring.clone(), &issuer)?;
    let server = &app.config.server;
    let settings = verity_http::Settings {
        trusted_proxies: server.trusted_proxies()?,
        // On the main listener unless it has its own.
        metrics: server.metrics && metrics_listener.is_none(),
        body_read_timeout: Some(seconds(server.body_read_timeout_seconds)),
    };
    let header_read_timeout = seconds(server.header_read_timeout_seconds);
    let state = AppState::new(engine.clone(), settings)?;
    // Every node ends timed-out sessions and posts back-channel logout notices; the log
    // and the expiring store make each happen once (ADR 0007).
    let sweeper = verity_oidc::timeouts::spawn(engine.clone(), SWEEP_EVERY, crate::app::now);
    let notices = verity_oidc::backchannel::spawn(
        engine,
        Arc::new(verity_oidc::backchannel::HttpPoster::new()?),
        state.metrics.clone(),
        NOTICES_EVERY,
        crate::app::now,
    );
    // Every node records checkpoints; the log makes one per interval (ADR 0009). Not on a
    // log that did not verify: a broken chain is never signed.
    let checkpoints = match verified {
        Some(report) => Some(verity_audit::checkpointer::spawn(
            Checkpointer::new(app.raw.clone(), audit_key, Some(checkpoint_file), &report)?,
            app.config.audit.schedule(),
            witness,
            crate::app::now,
        )),
        None => None,
    };
    tracing::info!(%address, store = %crate::app::location(&app.config)?.describe(), "Verity is ready");
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let metrics = match metrics_listener {
        Some(metrics_listener) => {
            let metrics_address = metrics_listener.local_addr()?;
            // Tests (and scripts) read the metrics' address from here.
            say!("Verity metrics on http://{metrics_address}/metrics");
            let served = metrics_router(state.clone());
            let until = stopped(stopping.clone());
            Some(tokio::spawn(listener::serve(
                metrics_listener,
                served,
                header_read_timeout,
                until,
            )))
        }
        None => None,
    };
    // Tests (and scripts) that start the server on port 0 read the address from here.
    say!("Verity listening on http://{address} (issuer {issuer})");
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let admin_doors = verity_admin_http::router(AdminState::new(state.clone(), app.admin()));
    listener::serve(
        listener,
        router_with(state, admin_doors),
        header_read_timeout,
        stopped(stopping),
    )
    .await;
    if let Some(metrics) = metrics {
        let _ = metrics.await;
    }
    purge.abort();
    sweeper.abort();
    notices.abort();
    if let Some(checkpoints) = checkpoints {
        checkpoints.abort();
    }
    if let Err(error) = app.projector.save_snapshot().await {
        tracing::warn!(error = %verity_domain::error_chain::ErrorChain(&error), "could not save the read models' snapshot at shutdown");
    }
    Ok(ExitCode::SUCCESS)
}

/// What the start check found in the log.
enum LogAtStart {
    /// It verifies from its newest checkpoint to its head.
    Verified(Box<Report>),
    /// It does not, and `--allow-broken-chain` serves it anyway (logged; no checkpoint
    /// will be signed).
    BrokenServedAnyway,
    /// It does not, and the server refuses to serve (said on stderr).
    Refused,
}

/// The start check (`verity_audit::start`): whether the log verifies, and on one that
/// does not, where it breaks, said on stderr or (with `--allow-broken-chain`) logged.
async fn check_log(
    store: &Arc<dyn verity_store::Store>,
    key: &AuditKey,
    checkpoint_file: &std::path::Path,
    args: &ServeArgs,
) -> anyhow::Result<LogAtStart> {
    let started = std::time::Instant::now();
    let checked =
        verity_audit::start::check_at_start(store.as_ref(), key.public(), Some(checkpoint_file))
            .await;
    let tampering = match checked {
        Ok(report) => {
            tracing::info!(
                from = report.from,
                head = report.events,
                newest_checkpoint = report
                    .newest
                    .as_ref()
                    .map(|newest| newest.checkpoint.position),
                audit_key = key.public().fingerprint(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "the log verifies from its newest checkpoint to its head"
            );
            return Ok(LogAtStart::Verified(Box::new(report)));
        }
        Err(AuditError::Tampered(tampering)) => tampering,
        Err(other) => return Err(other.into()),
    };
    if args.allow_broken_chain {
        tracing::error!(%tampering, "the log does not verify; serving anyway (--allow-broken-chain): no checkpoint will be signed");
        return Ok(LogAtStart::BrokenServedAnyway);
    }
    eprintln!(
        "error: the log does not verify: {tampering}. Refusing to serve: run `verity audit \
         verify --public-key FILE` for a full report; `verity serve --allow-broken-chain` \
         serves anyway, for forensics"
    );
    Ok(LogAtStart::Refused)
}

fn seconds(value: u32) -> Duration {
    Duration::from_secs(u64::from(value))
}

/// Completes once `stopping` says to stop (or its sender is gone).
async fn stopped(mut stopping: tokio::sync::watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stop| *stop).await;
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    tracing::info!("shutting down");
}
