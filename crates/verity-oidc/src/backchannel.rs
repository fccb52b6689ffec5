//! OpenID Connect Back-Channel Logout 1.0: when a session ends, each client it signed in
//! to that registered a back-channel logout URI receives a logout token (ADR 0007).
//!
//! - What to send is the outbox read model (`verity_projection::Outbox`): derived from
//!   the log, so a restart or a crash loses no notice.
//! - [`deliver_due`] is one pass of the worker every node runs ([`spawn`]): each due
//!   notice is claimed with the expiring store's single-use `put_new` (one node sends
//!   it; a claim lapses after [`CLAIM_LEASE`] if its node dies), posted with a freshly
//!   signed logout token (a new `jti` each attempt, so a client that remembers `jti`s
//!   never takes a retry for a replay), and closed in the log on a 2xx
//!   (`backchannel.delivered`) or a 4xx (`backchannel.failed`). Network errors, timeouts,
//!   redirects and 5xx are retried with exponential backoff for [`RETRY_FOR`]; the
//!   attempts' count and timing are protocol state in the expiring store.
//! - Nothing is sent from the request that ended the session.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, json};
use verity_domain::backchannel::{self, BackchannelEvent, NoticeDelivered, NoticeFailed};
use verity_domain::{Actor, DomainEvent};
use verity_projection::Notice;

use crate::context::RequestContext;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::random;
use crate::state;
use verity_domain::error_chain::ErrorChain;

/// How long a node holds a notice it is sending before another may take it: longer than
/// an attempt can take (5 s), short enough that a dead node's notice goes out soon.
pub const CLAIM_LEASE: Duration = Duration::seconds(15);
/// How long failed deliveries are retried from the session's end.
pub const RETRY_FOR: Duration = Duration::hours(24);
/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::hours(1);
/// The event a logout token carries (OIDC Back-Channel Logout 1.0, 2.4).
pub const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// Notices posted at once by one node.
const CONCURRENT_POSTS: usize = 16;

/// Kinds of entries in the expiring store that belong to the back channel.
pub mod kind {
    /// A notice being sent by one node (key: the notice id).
    pub const CLAIM: &str = "backchannel_claim";
    /// The attempts made on a notice so far (key: the notice id).
    pub const ATTEMPTS: &str = "backchannel_attempts";
}

/// What a post of a logout token came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostOutcome {
    /// The client answered 2xx.
    Delivered,
    /// The client answered 4xx: it refuses the notice, retrying will not help.
    Refused(u16),
    /// A network error, a timeout, a redirect or a 5xx: worth retrying.
    Failed(String),
}

/// Posts logout tokens to clients (the HTTP client is an adapter, so tests can stand in).
#[async_trait]
pub trait LogoutPoster: Send + Sync {
    /// POSTs `logout_token=<token>` (form-encoded) to `uri`.
    async fn post(&self, uri: &str, logout_token: &str) -> PostOutcome;
}

/// The real poster: 2 s to connect, 5 s in all, no redirect followed, only the URI
/// given ever called.
#[derive(Debug, Clone)]
pub struct HttpPoster {
    client: reqwest::Client,
}

impl HttpPoster {
    /// A poster with the timeouts above.
    pub fn new() -> Result<Self, EngineError> {
        let client = reqwest::Client::builder()
            .connect_timeout(StdDuration::from_secs(2))
            .timeout(StdDuration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| EngineError::State(format!("back-channel HTTP client: {error}")))?;
        Ok(Self { client })
    }
}

#[async_trait]
impl LogoutPoster for HttpPoster {
    async fn post(&self, uri: &str, logout_token: &str) -> PostOutcome {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("logout_token", logout_token)
            .finish();
        let sent = self
            .client
            .post(uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await;
        match sent {
            Ok(response) => classify(response.status().as_u16()),
            Err(error) if error.is_timeout() => PostOutcome::Failed("timed out".into()),
            Err(error) if error.is_connect() => PostOutcome::Failed("cannot connect".into()),
            Err(error) => PostOutcome::Failed(format!("request failed: {error}")),
        }
    }
}

/// A status code's outcome: 2xx delivered, 4xx refused, anything else (3xx: no redirect
/// is followed; 5xx) retried.
pub fn classify(status: u16) -> PostOutcome {
    match status {
        200..=299 => PostOutcome::Delivered,
        400..=499 => PostOutcome::Refused(status),
        other => PostOutcome::Failed(format!("HTTP {other}")),
    }
}

/// Counts what became of each attempt (`verity_backchannel_attempts_total`).
pub trait Observer: Send + Sync {
    /// One attempt's outcome: `delivered`, `refused`, `retried` or `given_up`.
    fn attempt(&self, outcome: &'static str);
}

/// The attempts on a notice so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempts {
    /// How many were made.
    pub count: u32,
    /// When the next may be made.
    pub next_at: Option<DateTime<Utc>>,
    /// When the last one was made, and why it failed.
    pub last_failure: Option<(DateTime<Utc>, String)>,
}

/// The wait after the `attempts`-th failed attempt: 1 s, 2 s, 4 s, ... at most an hour.
pub fn backoff(attempts: u32) -> Duration {
    let seconds = 1i64
        .checked_shl(attempts.saturating_sub(1).min(30))
        .unwrap_or(i64::MAX);
    Duration::seconds(seconds).min(MAX_BACKOFF)
}

/// The logout token for a notice: signed with the algorithm of the client's ID tokens,
/// `typ: logout+jwt`; `iss`, `aud`, `iat`, `exp`, a fresh `jti`, the logout event, `sid`
/// and `sub`; never a `nonce`.
pub fn logout_token(
    engine: &Engine,
    notice: &Notice,
    alg: verity_domain::key::SigningAlgorithm,
    now: DateTime<Utc>,
) -> Result<String, EngineError> {
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(engine.settings.issuer));
    claims.insert("aud".into(), json!(notice.client_id));
    claims.insert("iat".into(), json!(now.timestamp()));
    claims.insert(
        "exp".into(),
        json!((now + engine.settings.logout_token_lifetime).timestamp()),
    );
    claims.insert("jti".into(), json!(random::uuid().to_string()));
    claims.insert("events".into(), json!({ LOGOUT_EVENT: {} }));
    claims.insert("sid".into(), json!(notice.sid));
    claims.insert("sub".into(), json!(notice.sub));
    Ok(engine
        .key_ring(now)?
        .sign(alg, Some("logout+jwt"), &claims)?)
}

/// One pass over the outbox at `context.now`: every due notice this node can claim is
/// posted (up to 16 at once). Returns how many were attempted.
pub async fn deliver_due(
    engine: &Engine,
    context: &RequestContext,
    poster: &dyn LogoutPoster,
    observer: &dyn Observer,
) -> Result<usize, EngineError> {
    let pending: Vec<Notice> = engine
        .projector
        .read(|models| models.outbox.pending().cloned().collect());
    if pending.is_empty() {
        return Ok(0);
    }
    let keys: Vec<(&str, &str)> = pending
        .iter()
        .map(|notice| (kind::ATTEMPTS, notice.id.as_str()))
        .collect();
    let entries = engine.expiring.get_many(&keys, context.now).await?;
    let due: Vec<(Notice, Attempts)> = pending
        .into_iter()
        .zip(entries)
        .map(|(notice, entry)| {
            let attempts = entry
                .and_then(|entry| state::decode::<Attempts>(&entry.value).ok())
                .unwrap_or_default();
            (notice, attempts)
        })
        .filter(|(_, attempts)| attempts.next_at.is_none_or(|next| next <= context.now))
        .collect();
    let attempted = due.len();
    let results: Vec<Result<(), EngineError>> = futures_util::stream::iter(due)
        .map(|(notice, attempts)| attempt(engine, context, poster, observer, notice, attempts))
        .buffer_unordered(CONCURRENT_POSTS)
        .collect()
        .await;
    for result in results {
        result?;
    }
    Ok(attempted)
}

/// One attempt at one notice, if this node claims it.
async fn attempt(
    engine: &Engine,
    context: &RequestContext,
    poster: &dyn LogoutPoster,
    observer: &dyn Observer,
    notice: Notice,
    attempts: Attempts,
) -> Result<(), EngineError> {
    let now = context.now;
    let claimed = engine
        .expiring
        .put_new(kind::CLAIM, &notice.id, b"1", now + CLAIM_LEASE, now)
        .await?;
    if !claimed {
        return Ok(());
    }
    let count = attempts.count + 1;
    let target = engine.client(&notice.client_id).and_then(|client| {
        let uri = client.settings.backchannel_logout_uri.clone()?;
        Some((uri, client.settings.id_token_signed_response_alg))
    });
    let outcome = match &target {
        None => PostOutcome::Refused(0),
        Some((uri, alg)) => {
            let token = logout_token(engine, &notice, *alg, now)?;
            poster.post(uri, &token).await
        }
    };
    match outcome {
        PostOutcome::Delivered => {
            observer.attempt("delivered");
            let delivered = BackchannelEvent::Delivered(NoticeDelivered {
                notice_id: notice.id.clone(),
                client_id: notice.client_id.clone(),
                sid: notice.sid.clone(),
                attempts: count,
            });
            close(engine, context, &notice, delivered).await?;
        }
        PostOutcome::Refused(status) => {
            observer.attempt("refused");
            let reason = if target.is_none() {
                "the client or its back-channel logout URI is gone".to_owned()
            } else {
                format!("HTTP {status}")
            };
            tracing::warn!(client_id = %notice.client_id, %reason, "back-channel logout notice refused");
            let failed = BackchannelEvent::Failed(NoticeFailed {
                notice_id: notice.id.clone(),
                client_id: notice.client_id.clone(),
                sid: notice.sid.clone(),
                attempts: count,
                reason,
            });
            close(engine, context, &notice, failed).await?;
        }
        PostOutcome::Failed(reason) if now - notice.created_at >= RETRY_FOR => {
            observer.attempt("given_up");
            tracing::warn!(client_id = %notice.client_id, %reason, attempts = count, "back-channel logout notice given up");
            let failed = BackchannelEvent::Failed(NoticeFailed {
                notice_id: notice.id.clone(),
                client_id: notice.client_id.clone(),
                sid: notice.sid.clone(),
                attempts: count,
                reason,
            });
            close(engine, context, &notice, failed).await?;
        }
        PostOutcome::Failed(reason) => {
            observer.attempt("retried");
            tracing::info!(client_id = %notice.client_id, %reason, attempts = count, "back-channel logout notice will be retried");
            let next = Attempts {
                count,
                next_at: Some(now + backoff(count)),
                last_failure: Some((now, reason)),
            };
            engine
                .expiring
                .put(
                    kind::ATTEMPTS,
                    &notice.id,
                    &state::encode(&next)?,
                    notice.created_at + RETRY_FOR + Duration::hours(1),
                )
                .await?;
            engine.expiring.remove(kind::CLAIM, &notice.id).await?;
        }
    }
    Ok(())
}

/// Closes a notice in the log (Verity as actor) and forgets its attempts.
async fn close(
    engine: &Engine,
    context: &RequestContext,
    notice: &Notice,
    event: BackchannelEvent,
) -> Result<(), EngineError> {
    let metadata = context.metadata(Actor::System);
    engine
        .record(
            backchannel::stream(&notice.client_id),
            vec![event.to_new_event(metadata)],
        )
        .await?;
    engine.expiring.remove(kind::ATTEMPTS, &notice.id).await?;
    Ok(())
}

/// The attempts on a client's pending notices (for `verity client show`).
pub async fn attempts_of(
    engine: &Engine,
    now: DateTime<Utc>,
    client_id: &str,
) -> Result<Vec<Attempts>, EngineError> {
    let ids: Vec<String> = engine.projector.read(|models| {
        models
            .outbox
            .pending()
            .filter(|notice| notice.client_id == client_id)
            .map(|notice| notice.id.clone())
            .collect()
    });
    let keys: Vec<(&str, &str)> = ids.iter().map(|id| (kind::ATTEMPTS, id.as_str())).collect();
    let entries = engine.expiring.get_many(&keys, now).await?;
    Ok(entries
        .into_iter()
        .flatten()
        .filter_map(|entry| state::decode::<Attempts>(&entry.value).ok())
        .collect())
}

/// Runs the worker on this node: a pass every `every`, until the task is dropped. A pass
/// that fails is logged and the next one tries again. `now` is the node's clock.
pub fn spawn(
    engine: Engine,
    poster: Arc<dyn LogoutPoster>,
    observer: Arc<dyn Observer>,
    every: StdDuration,
    now: fn() -> DateTime<Utc>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let context = RequestContext::new(now(), random::uuid().to_string(), None, None);
            if let Err(error) =
                deliver_due(&engine, &context, poster.as_ref(), observer.as_ref()).await
            {
                tracing::warn!(error = %ErrorChain(&error), "a back-channel logout pass failed");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(1), Duration::seconds(1));
        assert_eq!(backoff(2), Duration::seconds(2));
        assert_eq!(backoff(5), Duration::seconds(16));
        assert_eq!(backoff(13), Duration::hours(1));
        assert_eq!(backoff(u32::MAX), Duration::hours(1));
    }

    #[test]
    fn a_4xx_is_final_and_anything_but_a_2xx_or_4xx_is_retried() {
        assert_eq!(classify(200), PostOutcome::Delivered);
        assert_eq!(classify(204), PostOutcome::Delivered);
        assert_eq!(classify(400), PostOutcome::Refused(400));
        assert_eq!(classify(404), PostOutcome::Refused(404));
        assert_eq!(classify(500), PostOutcome::Failed("HTTP 500".into()));
        assert_eq!(classify(302), PostOutcome::Failed("HTTP 302".into()));
    }
}
