//! The facts of locks (docs/sign-in.md): the failure that reaches a limit records one
//! event — `user.signin.locked` on the person's stream (or `signin-unknown` for an
//! address without an account), `network.locked` on the network's — and the refusals
//! while the lock lasts record none, so a flood cannot grow the log; the doors count them
//! in the metrics.

use uuid::Uuid;
use verity_domain::network::{self, NetworkEvent, NetworkLocked};
use verity_domain::signin::{LockedStep, SignInEvent, SignInLocked};
use verity_domain::{Actor, DomainEvent, NewEvent};

use crate::context::RequestContext;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::limits::{Failed, FailureRecorded};

/// `user.signin.locked` when counting a failure of `step` found that it set the lock
/// (`recorded`); `None` when it set none. The limit set it: the actor is the system.
pub(crate) fn step_locked(
    context: &RequestContext,
    step: LockedStep,
    user_id: Option<Uuid>,
    address_key: Option<&str>,
    recorded: &FailureRecorded,
    client_id: Option<&str>,
) -> Option<NewEvent> {
    let until = recorded.locked_until?;
    let fact = SignInEvent::Locked(SignInLocked {
        step,
        user_id: user_id.map(|user_id| user_id.to_string()),
        address_key: address_key.map(str::to_owned),
        until,
        failures: recorded.failures,
        origin: context.origin(client_id),
    });
    Some(fact.to_new_event(context.metadata(Actor::System)))
}

/// Records `network.locked` on the network's stream when `failed` locked the caller's
/// network.
pub(crate) async fn record_network_lock(
    engine: &Engine,
    context: &RequestContext,
    failed: &Failed,
) -> Result<(), EngineError> {
    let Some((network_key, recorded)) = &failed.network else {
        return Ok(());
    };
    let Some(until) = recorded.locked_until else {
        return Ok(());
    };
    let fact = NetworkEvent::Locked(NetworkLocked {
        network: network_key.clone(),
        until,
        failures: recorded.failures,
    });
    let event = fact.to_new_event(context.metadata(Actor::System));
    engine
        .record(network::stream(network_key), vec![event])
        .await?;
    Ok(())
}
