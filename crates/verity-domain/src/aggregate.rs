//! Aggregates: `decide` holds every rule, `evolve` only changes state. [`execute`] is the
//! one command handler: read the stream, fold it, decide, append with the expected
//! version and the unique keys the new events claim.

use chrono::{DateTime, Utc};

use crate::event::{Actor, DecodeError, DomainEvent, EventMetadata};
use crate::store::{
    AppendOutcome, AppendRequest, EventStore, ExpectedVersion, StoreError, UniqueKey,
};

/// What a command is decided with besides the state: the time and who asks. Random values
/// (ids, salts) travel in the commands themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The current time, read once by the adapter.
    pub now: DateTime<Utc>,
    /// Who issues the command.
    pub actor: Actor,
    /// The HTTP request id, if any.
    pub request_id: Option<String>,
    /// The client's IP address, if any.
    pub client_ip: Option<String>,
}

impl Context {
    /// The metadata of events decided in this context.
    pub fn metadata(&self) -> EventMetadata {
        EventMetadata {
            actor: self.actor.clone(),
            request_id: self.request_id.clone(),
            client_ip: self.client_ip.clone(),
            occurred_at: self.now,
        }
    }
}

/// A consistency boundary: one stream of events and the rules over it.
pub trait Aggregate: Default + Send + Sync {
    /// What can be asked of it.
    type Command: Clone + Send + Sync;
    /// What it records.
    type Event: DomainEvent + Send + Sync;
    /// Why it refuses.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Every rule: the events the command produces, or why not.
    fn decide(
        &self,
        command: &Self::Command,
        context: &Context,
    ) -> Result<Vec<Self::Event>, Self::Error>;

    /// Applies one event. Cannot fail: the event already happened.
    fn evolve(self, event: &Self::Event) -> Self;

    /// The unique keys an event claims and releases, committed atomically with it.
    fn unique_keys(_event: &Self::Event) -> (Vec<UniqueKey>, Vec<UniqueKey>) {
        (Vec::new(), Vec::new())
    }
}

/// Why a command did not produce its events.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError<E: std::error::Error + 'static> {
    /// A rule refused it.
    #[error(transparent)]
    Rejected(E),
    /// The store refused (unique key taken, conflict after retries) or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stream holds an event this binary cannot read.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// How often a command is decided again when another writer moved the stream meanwhile.
const CONFLICT_RETRIES: usize = 3;

/// Loads the aggregate from `stream`, decides `command` and appends the result.
///
/// On a version conflict the stream is read again and the command decided anew (decide is
/// pure, so this is safe), up to a few times.
pub async fn execute<A: Aggregate>(
    store: &dyn EventStore,
    stream: &str,
    command: &A::Command,
    context: &Context,
) -> Result<AppendOutcome, ExecuteError<A::Error>> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (state, version) = load::<A>(store, stream).await?;
        let events = state
            .decide(command, context)
            .map_err(ExecuteError::Rejected)?;
        let mut request = AppendRequest::new(
            stream,
            if version == 0 {
                ExpectedVersion::NoStream
            } else {
                ExpectedVersion::Exact(version)
            },
            Vec::with_capacity(events.len()),
        );
        let metadata = context.metadata();
        for event in &events {
            let (claims, releases) = A::unique_keys(event);
            request.claims.extend(claims);
            request.releases.extend(releases);
            request.events.push(event.to_new_event(metadata.clone()));
        }
        match store.append(request).await {
            Err(StoreError::Conflict { .. }) if attempt < CONFLICT_RETRIES => continue,
            result => return result.map_err(ExecuteError::Store),
        }
    }
}

/// Folds a stream into its aggregate; returns the state and the stream's version.
pub async fn load<A: Aggregate>(
    store: &dyn EventStore,
    stream: &str,
) -> Result<(A, u64), ExecuteError<A::Error>> {
    let recorded = store.read_stream(stream).await?;
    let mut state = A::default();
    let mut version = 0;
    for event in &recorded {
        version = event.version;
        if let Some(typed) = A::Event::decode(event)? {
            state = state.evolve(&typed);
        }
    }
    Ok((state, version))
}

/// Given / when / then, for one rule at a time.
#[cfg(test)]
pub(crate) mod scenario {
    use super::*;

    pub(crate) fn context() -> Context {
        Context {
            now: DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            actor: Actor::System,
            request_id: None,
            client_ip: None,
        }
    }

    pub(crate) struct Scenario<A: Aggregate> {
        state: A,
        context: Context,
    }

    impl<A: Aggregate> Scenario<A>
    where
        A::Event: std::fmt::Debug + PartialEq,
        A::Error: PartialEq,
    {
        pub(crate) fn given(events: impl IntoIterator<Item = A::Event>) -> Self {
            let state = events
                .into_iter()
                .fold(A::default(), |state, event| state.evolve(&event));
            Self {
                state,
                context: context(),
            }
        }

        pub(crate) fn at(mut self, now: DateTime<Utc>) -> Self {
            self.context.now = now;
            self
        }

        pub(crate) fn when(self, command: A::Command) -> Outcome<A> {
            Outcome(self.state.decide(&command, &self.context))
        }
    }

    pub(crate) struct Outcome<A: Aggregate>(Result<Vec<A::Event>, A::Error>);

    impl<A: Aggregate> Outcome<A>
    where
        A::Event: std::fmt::Debug + PartialEq,
        A::Error: PartialEq,
    {
        pub(crate) fn then(self, expected: impl IntoIterator<Item = A::Event>) {
            let expected: Vec<A::Event> = expected.into_iter().collect();
            match self.0 {
                Ok(events) => assert_eq!(events, expected),
                Err(error) => panic!("expected events {expected:?}, got error {error}"),
            }
        }

        pub(crate) fn then_err(self, expected: A::Error) {
            match self.0 {
                Ok(events) => panic!("expected error {expected}, got events {events:?}"),
                Err(error) => assert_eq!(error, expected),
            }
        }
    }
}
