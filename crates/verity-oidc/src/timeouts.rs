//! Sessions that time out end on their own (ADR 0007): past their absolute lifetime
//! (`[sessions] lifetime_hours`) or unused for the idle timeout (`[sessions]
//! idle_minutes`). Use of a session checks its time too (`sessions::alive`), but a
//! session nobody uses again must still end — and tell the clients it signed in to —
//! so every node runs [`spawn`]; the Session aggregate records each end once, whichever
//! node finds it first.

use std::collections::{HashMap, HashSet};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use verity_domain::Actor;
use verity_domain::session::SessionEndReason;

use crate::context::RequestContext;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::random;
use crate::sessions;
use crate::state::kind;
use verity_domain::error_chain::ErrorChain;

/// Sessions whose activity is read at once.
const BATCH: usize = 500;

/// When each live session is next worth looking at: not before its activity could have
/// lapsed. One node's memory, rebuilt as it goes.
#[derive(Debug, Default)]
pub struct Sweeper {
    next_check: HashMap<String, DateTime<Utc>>,
}

impl Sweeper {
    /// Ends the sessions that timed out by `context.now`; returns how many.
    pub async fn sweep(
        &mut self,
        engine: &Engine,
        context: &RequestContext,
    ) -> Result<usize, EngineError> {
        let now = context.now;
        let settings = &engine.settings;
        let live: Vec<(String, DateTime<Utc>)> = engine.projector.read(|models| {
            models
                .sessions
                .live()
                .map(|session| (session.sid.clone(), session.started_at))
                .collect()
        });
        let live_sids: HashSet<&str> = live.iter().map(|(sid, _)| sid.as_str()).collect();
        self.next_check
            .retain(|sid, _| live_sids.contains(sid.as_str()));
        let mut ended = 0;
        let mut candidates = Vec::new();
        for (sid, started_at) in live {
            if now >= started_at + settings.session_lifetime {
                end(engine, context, &sid, SessionEndReason::Expired).await?;
                ended += 1;
                continue;
            }
            // Its activity was written at the start and lives the idle timeout at least.
            let first_check = started_at + settings.session_idle_timeout;
            let due = self.next_check.get(&sid).copied().unwrap_or(first_check);
            if due <= now {
                candidates.push(sid);
            }
        }
        for batch in candidates.chunks(BATCH) {
            let keys: Vec<(&str, &str)> = batch
                .iter()
                .map(|sid| (kind::SESSION_ACTIVITY, sid.as_str()))
                .collect();
            let entries = engine.expiring.get_many(&keys, now).await?;
            for (sid, entry) in batch.iter().zip(entries) {
                let last_active = entry.and_then(|entry| {
                    let text = String::from_utf8(entry.value).ok()?;
                    DateTime::parse_from_rfc3339(&text).ok()
                });
                match last_active {
                    Some(last_active) => {
                        let lapses =
                            last_active.with_timezone(&Utc) + settings.session_idle_timeout;
                        self.next_check.insert(sid.clone(), lapses);
                    }
                    None => {
                        end(engine, context, sid, SessionEndReason::IdleTimeout).await?;
                        self.next_check.remove(sid);
                        ended += 1;
                    }
                }
            }
        }
        Ok(ended)
    }
}

/// Ends a timed-out session in Verity's own name.
async fn end(
    engine: &Engine,
    context: &RequestContext,
    sid: &str,
    reason: SessionEndReason,
) -> Result<(), EngineError> {
    tracing::info!(sid, ?reason, "a session timed out");
    sessions::end_as(engine, context, sid, reason, None, Actor::System).await
}

/// Runs the sweeper on this node: a pass every `every`, until the task is dropped.
pub fn spawn(
    engine: Engine,
    every: StdDuration,
    now: fn() -> DateTime<Utc>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut sweeper = Sweeper::default();
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let context = RequestContext::new(now(), random::uuid().to_string(), None, None);
            if let Err(error) = sweeper.sweep(&engine, &context).await {
                tracing::warn!(error = %ErrorChain(&error), "ending timed-out sessions failed");
            }
        }
    })
}
