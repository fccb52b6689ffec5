//! `verity serve`: the HTTP server.

use std::net::SocketAddr;
use std::process::ExitCode;

use std::sync::Arc;

use verity_http::{AppState, router};

use crate::app::App;
use crate::config::Config;

/// How often timed-out sessions are looked for.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(2);
/// How often the back-channel outbox is looked at (a notice goes out within a second or
/// two of its session's end).
const NOTICES_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

pub(super) async fn run(mut config: Config) -> anyhow::Result<ExitCode> {
    let bind = config.server.bind;
    // Bind before opening the store: a port in use fails fast and writes nothing.
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|error| anyhow::anyhow!("cannot listen on {bind}: {error}"))?;
    // From here on the configuration names the address actually bound: with port 0 the
    // system chose one, and the issuer derived from it (`[server] public_url` unset) must
    // carry that port, not 0.
    config.server.bind = listener.local_addr()?;
    let address = config.server.bind;
    let issuer = config.public_url();
    let app = App::open(config).await?;
    // Decompress the common-password list now, not during someone's first sign-in.
    verity_oidc::password_policy::preload();
    // Signing keys: made on first start, and checked to decrypt under this node's master
    // key before any request is taken. Handlers get the current ring with
    // `key_ring.current(&models.keys, now)`, which follows rotations by any node.
    let key_ring = crate::signing::key_ring(&app).await?;
    let signing = crate::signing::current_ring(&app, &key_ring)?;
    tracing::info!(keys = ?signing, master_key_id = key_ring.master().id(), "signing keys ready");
    // Expired protocol state already reads as absent; purging keeps the table small.
    let purge = verity_store::spawn_purge(app.store.clone(), verity_store::PURGE_EVERY);
    let engine = app.engine(key_ring.clone(), &issuer)?;
    let settings = verity_http::Settings {
        trusted_proxies: app.config.server.trusted_proxies()?,
        metrics: app.config.server.metrics,
    };
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
    tracing::info!(%address, store = %crate::app::location(&app.config)?.describe(), "Verity is ready");
    // Tests (and scripts) that start the server on port 0 read the address from here.
    println!("Verity listening on http://{address} (issuer {issuer})");
    // With the peer's address: the client IP is the peer, or what trusted proxies say.
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    purge.abort();
    sweeper.abort();
    notices.abort();
    if let Err(error) = app.projector.save_snapshot().await {
        tracing::warn!(%error, "could not save the read models' snapshot at shutdown");
    }
    Ok(ExitCode::SUCCESS)
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
