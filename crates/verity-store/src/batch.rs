//! Group commit: one writer task per store takes every append that queued up while the
//! previous flush was under way and commits them in one transaction (one fsync).
//!
//! The per-request rules (expected version, unique keys, positions, the hash chain) are
//! written once here against [`BatchTx`]; each backend only supplies the SQL.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;
use verity_domain::{AppendOutcome, AppendRequest, StoreError, UniqueKey};

use crate::chain::{EventFields, Hash};

/// Most appends committed in one transaction.
pub(crate) const MAX_BATCH: usize = 1024;

/// An event row as written.
#[derive(Debug)]
pub(crate) struct Row<'a> {
    pub(crate) fields: EventFields<'a>,
    pub(crate) hash: Hash,
}

/// The SQL a backend runs inside one batch transaction.
#[async_trait]
pub(crate) trait BatchTx: Send {
    /// Runs a statement without parameters (savepoints).
    async fn execute(&mut self, sql: &'static str) -> Result<(), StoreError>;
    /// The last position and its hash (0 and the genesis hash for an empty log).
    async fn head(&mut self) -> Result<(u64, Hash), StoreError>;
    /// The current version of each of these streams that exists.
    async fn stream_versions(
        &mut self,
        streams: &[&str],
    ) -> Result<HashMap<String, u64>, StoreError>;
    /// Inserts the key if free; returns the stream that holds it afterwards.
    async fn claim(
        &mut self,
        key: &UniqueKey,
        stream: &str,
        position: u64,
    ) -> Result<String, StoreError>;
    /// Deletes the key if this stream holds it.
    async fn release(&mut self, key: &UniqueKey, stream: &str) -> Result<(), StoreError>;
    /// Stores each person's data key unless they have one (or an erasure) stored, one
    /// statement for many; the keys it stored (a person twice in `keys` gets the first).
    async fn add_person_keys(
        &mut self,
        keys: &[(Uuid, &[u8])],
    ) -> Result<Vec<(Uuid, Vec<u8>)>, StoreError>;
    /// Deletes the keys of these people (ones this batch stored for appends it refused).
    async fn remove_person_keys(&mut self, subjects: &[Uuid]) -> Result<(), StoreError>;
    /// Inserts event rows (in as few statements as the backend allows).
    async fn insert_all(&mut self, rows: &[Row<'_>]) -> Result<(), StoreError>;
}

/// Applies every request of a batch inside one open transaction. A request that breaks a
/// rule gets its own error and leaves no trace; the others go on. Returns each request's
/// outcome and the head position after the batch.
pub(crate) async fn apply<T: BatchTx>(
    tx: &mut T,
    requests: &[AppendRequest],
    metadata_json: &[Vec<String>],
    recorded_at: DateTime<Utc>,
) -> Result<(Vec<Result<AppendOutcome, StoreError>>, u64), StoreError> {
    let (mut head, mut head_hash) = tx.head().await?;
    let recorded_at_micros = recorded_at.timestamp_micros();
    // One query for the versions of every stream in the batch; from then on the versions
    // are tracked here, so requests on the same stream within the batch see each other.
    let mut streams: Vec<&str> = requests
        .iter()
        .map(|request| request.stream.as_str())
        .collect();
    streams.sort_unstable();
    streams.dedup();
    let mut versions = tx.stream_versions(&streams).await?;
    // The persons' keys the batch's appends made, stored in one statement; those of the
    // appends refused below are deleted again before the commit.
    let mut keys = PersonKeysOfBatch::store(tx, requests).await?;
    let mut rows = Vec::new();
    let mut outcomes = Vec::with_capacity(requests.len());
    for (request, metadata) in requests.iter().zip(metadata_json) {
        let refused = refusal(tx, request, &versions, &keys, head + 1).await?;
        if let Some(refused) = refused {
            keys.refused(request);
            outcomes.push(Err(refused));
            continue;
        }
        let mut version = versions.get(&request.stream).copied().unwrap_or(0);
        for (event, metadata) in request.events.iter().zip(metadata) {
            head += 1;
            version += 1;
            let fields = EventFields {
                position: head,
                stream: &request.stream,
                version,
                event_type: &event.event_type,
                schema: event.schema,
                data: &event.data,
                metadata,
                recorded_at_micros,
            };
            let hash = fields.hash(&head_hash);
            rows.push(Row { fields, hash });
            head_hash = hash;
        }
        versions.insert(request.stream.clone(), version);
        outcomes.push(Ok(AppendOutcome {
            position: head,
            stream_version: version,
        }));
    }
    keys.remove_refused(tx).await?;
    tx.insert_all(&rows).await?;
    Ok((outcomes, head))
}

/// Why `request` is refused, if it is: not valid, its stream moved on, a person it made a
/// key for has one stored, a key it claims is taken (the claims are then undone).
async fn refusal<T: BatchTx>(
    tx: &mut T,
    request: &AppendRequest,
    versions: &HashMap<String, u64>,
    keys: &PersonKeysOfBatch,
    position: u64,
) -> Result<Option<StoreError>, StoreError> {
    if let Err(invalid) = validate(request) {
        return Ok(Some(invalid));
    }
    let current = versions.get(&request.stream).copied().unwrap_or(0);
    if !request.expected.accepts(current) {
        return Ok(Some(StoreError::Conflict {
            stream: request.stream.clone(),
            expected: request.expected,
            actual: current,
        }));
    }
    if let Some(subject) = keys.not_stored(request) {
        return Ok(Some(StoreError::PersonKeyExists { subject }));
    }
    if request.claims.is_empty() && request.releases.is_empty() {
        return Ok(None);
    }
    tx.execute("SAVEPOINT verity_append").await?;
    let taken = claim_all(tx, request, position).await?;
    if taken.is_some() {
        tx.execute("ROLLBACK TO SAVEPOINT verity_append").await?;
    }
    tx.execute("RELEASE SAVEPOINT verity_append").await?;
    Ok(taken.map(|key| StoreError::UniqueKeyTaken { key }))
}

/// The persons' keys a batch's appends made: which were stored, and which of those belong
/// to appends the batch refused.
struct PersonKeysOfBatch {
    stored: HashMap<Uuid, Vec<u8>>,
    refused: Vec<Uuid>,
}

impl PersonKeysOfBatch {
    /// Stores the keys every append of the batch made.
    async fn store<T: BatchTx>(tx: &mut T, requests: &[AppendRequest]) -> Result<Self, StoreError> {
        let made: Vec<(Uuid, &[u8])> = requests
            .iter()
            .flat_map(|request| &request.person_keys)
            .map(|(subject, sealed)| (*subject, sealed.as_slice()))
            .collect();
        let stored = if made.is_empty() {
            HashMap::new()
        } else {
            tx.add_person_keys(&made).await?.into_iter().collect()
        };
        Ok(Self {
            stored,
            refused: Vec::new(),
        })
    }

    /// The first person `request` made a key for whose stored key is not that one:
    /// another process's, an erasure, or another append's of the same batch.
    fn not_stored(&self, request: &AppendRequest) -> Option<Uuid> {
        request
            .person_keys
            .iter()
            .find(|(subject, sealed)| !self.holds(*subject, sealed))
            .map(|(subject, _)| *subject)
    }

    /// Notes that `request` was refused: the keys the batch stored for it go.
    fn refused(&mut self, request: &AppendRequest) {
        for (subject, sealed) in &request.person_keys {
            if self.holds(*subject, sealed) {
                self.refused.push(*subject);
            }
        }
    }

    /// Whether the key the batch stored for `subject` is `sealed`.
    fn holds(&self, subject: Uuid, sealed: &[u8]) -> bool {
        self.stored
            .get(&subject)
            .is_some_and(|stored| stored.as_slice() == sealed)
    }

    async fn remove_refused<T: BatchTx>(&self, tx: &mut T) -> Result<(), StoreError> {
        if self.refused.is_empty() {
            return Ok(());
        }
        tx.remove_person_keys(&self.refused).await
    }
}

/// The metadata of each of `request`'s events as the batch writes it (JSON text), made
/// before the request is queued so that the writer does not.
pub(crate) fn metadata_json(request: &AppendRequest) -> Result<Vec<String>, StoreError> {
    request
        .events
        .iter()
        .map(|event| serde_json::to_string(&event.metadata))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| StoreError::Invalid(format!("metadata: {error}")))
}

/// Claims and releases a request's keys; returns the first key another stream holds.
async fn claim_all<T: BatchTx>(
    tx: &mut T,
    request: &AppendRequest,
    position: u64,
) -> Result<Option<UniqueKey>, StoreError> {
    for key in &request.claims {
        let holder = tx.claim(key, &request.stream, position).await?;
        if holder != request.stream {
            return Ok(Some(key.clone()));
        }
    }
    for key in &request.releases {
        tx.release(key, &request.stream).await?;
    }
    Ok(None)
}

/// Longest stream name and event type accepted.
const MAX_NAME: usize = 200;

/// Stream names and event types are printable: no control characters, which also lets
/// SQLite pack a page of events with control characters as separators (`sqlite.rs`).
fn is_name(text: &str) -> bool {
    !text.is_empty() && text.len() <= MAX_NAME && !text.chars().any(char::is_control)
}

fn validate(request: &AppendRequest) -> Result<(), StoreError> {
    if !is_name(&request.stream) {
        return Err(StoreError::Invalid(format!(
            "stream name must have 1 to {MAX_NAME} bytes and no control characters"
        )));
    }
    for event in &request.events {
        if !is_name(&event.event_type) {
            return Err(StoreError::Invalid(format!(
                "event type must have 1 to {MAX_NAME} bytes and no control characters"
            )));
        }
        if serde_json::from_str::<serde::de::IgnoredAny>(&event.data).is_err() {
            return Err(StoreError::Invalid(format!(
                "data of {} is not JSON",
                event.event_type
            )));
        }
    }
    Ok(())
}

/// One append waiting for the writer.
struct Pending {
    request: AppendRequest,
    metadata_json: Vec<String>,
    reply: oneshot::Sender<Result<AppendOutcome, StoreError>>,
}

/// A backend's way of committing one batch.
#[async_trait]
pub(crate) trait BatchWriter: Send + Sync + 'static {
    /// Opens a transaction, runs [`apply`], commits. The outer error fails the whole batch.
    async fn write_batch(
        &self,
        requests: &[AppendRequest],
        metadata_json: &[Vec<String>],
    ) -> Result<(Vec<Result<AppendOutcome, StoreError>>, u64), StoreError>;
}

/// The front of a store's single writer: queues appends and tracks the head position.
#[derive(Debug)]
pub(crate) struct Appender {
    queue: mpsc::Sender<Pending>,
    head: watch::Sender<u64>,
}

/// Appends that may wait for the writer before callers are held back.
const QUEUE_CAPACITY: usize = 4 * MAX_BATCH;

impl Appender {
    /// Starts the writer task.
    pub(crate) fn spawn<W: BatchWriter>(writer: W, initial_head: u64) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let (head, _) = watch::channel(initial_head);
        tokio::spawn(run_writer(writer, receiver, head.clone()));
        Self { queue, head }
    }

    /// Queues an append and waits for its commit.
    pub(crate) async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, StoreError> {
        let metadata_json = metadata_json(&request)?;
        let (reply, outcome) = oneshot::channel();
        let closed = || StoreError::Unavailable("the store's writer has stopped".into());
        self.queue
            .send(Pending {
                request,
                metadata_json,
                reply,
            })
            .await
            .map_err(|_| closed())?;
        outcome.await.map_err(|_| closed())?
    }

    /// A handle to the head, for a task that learns of other processes' appends.
    pub(crate) fn head_sender(&self) -> watch::Sender<u64> {
        self.head.clone()
    }

    /// Records a head seen by other means (another process's notification, a poll).
    pub(crate) fn observe_head(&self, position: u64) {
        advance(&self.head, position);
    }

    /// Waits until the head passes `position`; polls with `poll_head` every `poll_every`
    /// to see other processes' appends.
    pub(crate) async fn wait_beyond<Poll>(
        &self,
        position: u64,
        timeout: Duration,
        poll_every: Duration,
        poll_head: impl Fn() -> Poll,
    ) -> Result<u64, StoreError>
    where
        Poll: std::future::Future<Output = Result<u64, StoreError>> + Send,
    {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut changes = self.head.subscribe();
        loop {
            let current = *changes.borrow_and_update();
            if current > position {
                return Ok(current);
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(current);
            }
            let wake = (now + poll_every).min(deadline);
            tokio::select! {
                _ = changes.changed() => {}
                () = tokio::time::sleep_until(wake) => {
                    let polled = poll_head().await?;
                    advance(&self.head, polled);
                }
            }
        }
    }
}

/// Moves the head forward (never back).
pub(crate) fn advance(head: &watch::Sender<u64>, position: u64) {
    head.send_if_modified(|current| {
        let moved = position > *current;
        if moved {
            *current = position;
        }
        moved
    });
}

/// The writer task: drains the queue into batches until every sender is gone.
async fn run_writer<W: BatchWriter>(
    writer: W,
    mut queue: mpsc::Receiver<Pending>,
    head: watch::Sender<u64>,
) {
    let mut batch: Vec<Pending> = Vec::new();
    while let Some(first) = queue.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let mut requests = Vec::with_capacity(batch.len());
        let mut metadata_json = Vec::with_capacity(batch.len());
        let mut replies = Vec::with_capacity(batch.len());
        for pending in batch.drain(..) {
            requests.push(pending.request);
            metadata_json.push(pending.metadata_json);
            replies.push(pending.reply);
        }
        match writer.write_batch(&requests, &metadata_json).await {
            Ok((outcomes, new_head)) => {
                advance(&head, new_head);
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _receiver_gone = reply.send(outcome);
                }
            }
            Err(error) => {
                tracing::error!(%error, appends = replies.len(), "batch commit failed");
                for reply in replies {
                    let _receiver_gone = reply.send(Err(error.clone()));
                }
            }
        }
    }
}
