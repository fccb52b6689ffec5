//! Recording checkpoints: verify what is new in the log, sign its head with the audit key,
//! append the checkpoint to the log on condition that no other checkpoint came first,
//! then to the checkpoint file; and the task every node runs to do so every N events or
//! T seconds.
//!
//! With several nodes on one database each runs the task, and each decides from the log
//! alone that a checkpoint is due. The append expects the audit stream's exact version, so
//! of the nodes that sign at the same moment one records its checkpoint; the others get a
//! conflict, read the new checkpoint and wait for the next interval (ADR 0009).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use verity_domain::audit::{self, AuditEvent, Checkpoint};
use verity_domain::{
    Actor, AppendRequest, DomainEvent as _, EventMetadata, EventStore, ExpectedVersion, StoreError,
};
use verity_store::chain::parse_hash;

use crate::checkpoint::sign;
use crate::checkpoint_file;
use crate::key::AuditKey;
use crate::log::{AuditError, feed_store};
use crate::verifier::{Report, Verifier};
use crate::witness::Witness;

/// The longest wait between two looks at the log.
const LONGEST_WAIT: Duration = Duration::from_secs(60);
/// The first and the longest pause after the store failed.
const RETRY_FIRST: Duration = Duration::from_millis(200);
const RETRY_LONGEST: Duration = Duration::from_secs(30);

/// When the task records a checkpoint: after this many events or this long, whichever
/// comes first, and only when the log has moved since the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Events after the last checkpoint that make one due (0: no count).
    pub every_events: u64,
    /// Time after the last checkpoint that makes one due for any event since (`None`: no
    /// time limit).
    pub every: Option<Duration>,
}

/// What [`Checkpointer::checkpoint`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The checkpoint is in the log and in the checkpoint file.
    Recorded(Checkpoint),
    /// Nothing to sign: the log's newest event is its newest checkpoint (or it is empty).
    Covered,
    /// Another node (or command) recorded a checkpoint first.
    Lost,
}

/// Signs and records checkpoints of one log, verifying every event before it signs.
pub struct Checkpointer {
    store: Arc<dyn EventStore>,
    key: AuditKey,
    file: Option<PathBuf>,
    verifier: Option<Verifier>,
}

impl std::fmt::Debug for Checkpointer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Checkpointer")
            .field("key", &self.key)
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl Checkpointer {
    /// Goes on from a verified log (`verified`: the start check's or a full verification's
    /// report, made with this key's public half).
    pub fn new(
        store: Arc<dyn EventStore>,
        key: AuditKey,
        file: Option<PathBuf>,
        verified: &Report,
    ) -> Result<Self, AuditError> {
        let hash = parse_hash(&verified.head).ok_or_else(|| {
            AuditError::Task(format!("the head hash {} is not hex", verified.head))
        })?;
        let verifier = Verifier::resume(
            verified.events,
            hash,
            verified.last_in_log,
            key.public().clone(),
            Vec::new(),
        )?;
        Ok(Self {
            store,
            key,
            file,
            verifier: Some(verifier),
        })
    }

    /// Verifies the events since the last call, signs the head at `now`, and records the
    /// checkpoint — in the log unless another checkpoint was appended since the last one
    /// read here, then in the checkpoint file. `actor` is who the event names.
    ///
    /// A chain that does not verify is never signed: the error says where it breaks, and
    /// every later call fails the same way.
    pub async fn checkpoint(
        &mut self,
        now: DateTime<Utc>,
        actor: Actor,
    ) -> Result<Outcome, AuditError> {
        let newest = Newest::read(self.store.as_ref()).await?;
        self.record(newest, now, actor).await
    }

    /// Like [`Checkpointer::checkpoint`], on condition that the newest checkpoint is still
    /// `newest`, the one the decision to record one was made on.
    async fn record(
        &mut self,
        newest: Newest,
        now: DateTime<Utc>,
        actor: Actor,
    ) -> Result<Outcome, AuditError> {
        let verifier = self
            .verifier
            .take()
            .ok_or_else(|| AuditError::Task("an earlier verification failed".into()))?;
        let verifier = feed_store(self.store.as_ref(), verifier, |_| {}).await?;
        let (head, hash) = (verifier.position(), *verifier.head_hash());
        self.verifier = Some(verifier);
        if head == 0 || head == newest.event {
            return Ok(Outcome::Covered);
        }
        let checkpoint = sign(&self.key, head, &hash, now);
        let expected = match newest.version {
            0 => ExpectedVersion::NoStream,
            version => ExpectedVersion::Exact(version),
        };
        let metadata = EventMetadata {
            actor,
            request_id: None,
            client_ip: None,
            occurred_at: now,
        };
        let event = AuditEvent::CheckpointSigned(checkpoint.clone()).to_new_event(metadata);
        let request = AppendRequest::new(audit::STREAM, expected, vec![event]);
        match self.store.append(request).await {
            Ok(_) => {}
            Err(StoreError::Conflict { .. }) => return Ok(Outcome::Lost),
            Err(error) => return Err(error.into()),
        }
        if let Some(file) = &self.file {
            checkpoint_file::append(file, &checkpoint)?;
        }
        Ok(Outcome::Recorded(checkpoint))
    }
}

/// The log's newest checkpoint, as a decision to record the next one sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Newest {
    /// Its event's position (0: none).
    event: u64,
    /// The audit stream's version (0: no stream).
    version: u64,
    /// When it was signed.
    signed_at: Option<DateTime<Utc>>,
}

impl Newest {
    async fn read(store: &dyn EventStore) -> Result<Self, StoreError> {
        let newest = store.read_stream_back(audit::STREAM, 1).await?;
        Ok(match newest.first() {
            Some(event) => Self {
                event: event.position,
                version: event.version,
                signed_at: AuditEvent::checkpoint_of(event)
                    .ok()
                    .flatten()
                    .map(|checkpoint| checkpoint.signed_at),
            },
            None => Self {
                event: 0,
                version: 0,
                signed_at: None,
            },
        })
    }
}

/// Runs `checkpointer` on `schedule` until dropped: every node of a database runs one
/// (see the module documentation). Each recorded checkpoint is also posted to `witness`.
pub fn spawn(
    checkpointer: Checkpointer,
    schedule: Schedule,
    witness: Option<Witness>,
    now: fn() -> DateTime<Utc>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(checkpointer, schedule, witness, now))
}

async fn run(
    mut checkpointer: Checkpointer,
    schedule: Schedule,
    witness: Option<Witness>,
    now: fn() -> DateTime<Utc>,
) {
    if schedule.every_events == 0 && schedule.every.is_none() {
        return;
    }
    let mut retry_in = RETRY_FIRST;
    loop {
        match next(&mut checkpointer, schedule, witness.as_ref(), now).await {
            Ok(()) => retry_in = RETRY_FIRST,
            Err(AuditError::Store(error)) => {
                tracing::warn!(%error, retry_in_ms = retry_in.as_millis() as u64, "cannot record a checkpoint; retrying");
                tokio::time::sleep(retry_in).await;
                retry_in = (retry_in * 2).min(RETRY_LONGEST);
            }
            Err(AuditError::Io { what, source }) => {
                // The checkpoint is in the log; the file missed it. Say so and go on.
                tracing::error!(error = %source, "{what}");
            }
            Err(error) => {
                tracing::error!(%error, "the log does not verify: no more checkpoints are signed");
                return;
            }
        }
    }
}

/// Waits until a checkpoint is due, then records it.
async fn next(
    checkpointer: &mut Checkpointer,
    schedule: Schedule,
    witness: Option<&Witness>,
    now: fn() -> DateTime<Utc>,
) -> Result<(), AuditError> {
    let store = checkpointer.store.clone();
    let newest = Newest::read(store.as_ref()).await?;
    let (last_event, last_signed_at) = (newest.event, newest.signed_at);
    let head = store.head().await?;
    let uncovered = head.saturating_sub(last_event);
    let by_count = schedule.every_events > 0 && uncovered >= schedule.every_events;
    let time_left = schedule.every.map(|every| {
        let elapsed = last_signed_at.map_or(every, |signed_at| {
            (now() - signed_at).to_std().unwrap_or_default()
        });
        every.saturating_sub(elapsed)
    });
    let by_time = uncovered > 0 && time_left == Some(Duration::ZERO);
    if by_count || by_time {
        if let Outcome::Recorded(checkpoint) = checkpointer.checkpoint(now(), Actor::System).await?
        {
            tracing::info!(position = checkpoint.position, hash = %checkpoint.hash, "recorded a checkpoint");
            if let Some(witness) = witness {
                let witness = witness.clone();
                tokio::spawn(async move {
                    if let Err(error) = witness.post(&checkpoint).await {
                        tracing::warn!(witness = witness.url(), %error, position = checkpoint.position, "the witness did not take a checkpoint");
                    }
                });
            }
        }
        return Ok(());
    }
    // Wake at the count, at the time limit, or (nothing uncovered) at the next append.
    let count_target = match schedule.every_events {
        0 => u64::MAX,
        every => last_event + every - 1,
    };
    let (target, wait) = if uncovered == 0 {
        (head, LONGEST_WAIT)
    } else {
        (
            count_target,
            time_left.unwrap_or(LONGEST_WAIT).min(LONGEST_WAIT),
        )
    };
    store.wait_beyond(target, wait).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use verity_domain::NewEvent;
    use verity_store::SqliteStore;

    use super::*;
    use crate::key::SEED_LEN;
    use crate::start::check_at_start;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    async fn append_one(store: &dyn EventStore) {
        let event = NewEvent {
            event_type: "test.happened".into(),
            schema: 1,
            data: "{}".into(),
            metadata: EventMetadata {
                actor: Actor::System,
                request_id: None,
                client_ip: None,
                occurred_at: at(0),
            },
        };
        store
            .append(AppendRequest::new(
                "test-1",
                ExpectedVersion::Any,
                vec![event],
            ))
            .await
            .unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn of_nodes_checkpointing_at_once_one_records_it_and_each_verifies_what_it_signs() {
        let directory = tempfile::tempdir().unwrap();
        let store: Arc<dyn EventStore> = Arc::new(
            SqliteStore::open(&directory.path().join("verity.db"))
                .await
                .unwrap(),
        );
        for _ in 0..3 {
            append_one(store.as_ref()).await;
        }
        let key = AuditKey::from_seed([4; SEED_LEN]);
        let file = directory.path().join("checkpoints.jsonl");
        let report = check_at_start(store.as_ref(), key.public(), Some(&file))
            .await
            .unwrap();
        let node =
            || Checkpointer::new(store.clone(), key.clone(), Some(file.clone()), &report).unwrap();
        let (mut one, mut other) = (node(), node());
        let (first, second) = tokio::join!(
            one.checkpoint(at(10), Actor::System),
            other.checkpoint(at(10), Actor::System)
        );
        let outcomes = [first.unwrap(), second.unwrap()];
        let recorded: Vec<&Checkpoint> = outcomes
            .iter()
            .filter_map(|outcome| match outcome {
                Outcome::Recorded(checkpoint) => Some(checkpoint),
                _ => None,
            })
            .collect();
        assert_eq!(recorded.len(), 1, "{outcomes:?}");
        assert_eq!(recorded[0].position, 3);
        assert!(
            outcomes
                .iter()
                .any(|outcome| matches!(outcome, Outcome::Lost | Outcome::Covered))
        );
        assert_eq!(store.read_stream(audit::STREAM).await.unwrap().len(), 1);
        assert_eq!(checkpoint_file::read_all(&file).unwrap().len(), 1);

        // Nothing new: nothing to sign. A new event: the next checkpoint covers it and the
        // first checkpoint's event.
        assert_eq!(
            other.checkpoint(at(11), Actor::System).await.unwrap(),
            Outcome::Covered
        );
        append_one(store.as_ref()).await;
        let Outcome::Recorded(next) = other.checkpoint(at(12), Actor::System).await.unwrap() else {
            panic!("no checkpoint recorded");
        };
        assert_eq!(next.position, 5);
        let report = check_at_start(store.as_ref(), key.public(), Some(&file))
            .await
            .unwrap();
        assert_eq!((report.from, report.events), (5, 6));
    }

    /// The checkpoints in the log, once there are `count` (within ten seconds).
    async fn checkpoints(store: &dyn EventStore, count: usize) -> Vec<Checkpoint> {
        for _ in 0..200 {
            let events = store.read_stream(audit::STREAM).await.unwrap();
            if events.len() >= count {
                return events
                    .iter()
                    .map(|event| AuditEvent::checkpoint_of(event).unwrap().unwrap())
                    .collect();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("fewer than {count} checkpoints in the log");
    }

    #[tokio::test]
    async fn the_task_records_a_checkpoint_every_n_events_and_not_before() {
        let directory = tempfile::tempdir().unwrap();
        let store: Arc<dyn EventStore> = Arc::new(
            SqliteStore::open(&directory.path().join("verity.db"))
                .await
                .unwrap(),
        );
        let key = AuditKey::from_seed([4; SEED_LEN]);
        let file = directory.path().join("checkpoints.jsonl");
        let report = check_at_start(store.as_ref(), key.public(), Some(&file))
            .await
            .unwrap();
        let checkpointer =
            Checkpointer::new(store.clone(), key.clone(), Some(file.clone()), &report).unwrap();
        let schedule = Schedule {
            every_events: 3,
            every: None,
        };
        let task = spawn(checkpointer, schedule, None, || at(10));

        for _ in 0..2 {
            append_one(store.as_ref()).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(store.read_stream(audit::STREAM).await.unwrap().is_empty());
        append_one(store.as_ref()).await;
        let first = checkpoints(store.as_ref(), 1).await;
        assert_eq!(first[0].position, 3);

        // The checkpoint's own event (position 4) starts the next count: 5, 6, 7.
        for _ in 0..2 {
            append_one(store.as_ref()).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(store.read_stream(audit::STREAM).await.unwrap().len(), 1);
        append_one(store.as_ref()).await;
        let both = checkpoints(store.as_ref(), 2).await;
        assert_eq!(both[1].position, 7);
        // The file is written after the log: give it the time to catch up.
        let mut kept = Vec::new();
        for _ in 0..100 {
            kept = checkpoint_file::read_all(&file).unwrap();
            if kept.len() >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        task.abort();
        let kept: Vec<u64> = kept.iter().map(|kept| kept.checkpoint.position).collect();
        assert_eq!(kept, [3, 7]);
    }

    #[tokio::test]
    async fn a_chain_broken_since_the_last_verification_is_never_signed() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("verity.db");
        let store = Arc::new(SqliteStore::open(&path).await.unwrap());
        append_one(store.as_ref()).await;
        let key = AuditKey::from_seed([4; SEED_LEN]);
        let report = check_at_start(store.as_ref(), key.public(), None)
            .await
            .unwrap();
        let mut checkpointer = Checkpointer::new(store.clone(), key, None, &report).unwrap();
        append_one(store.as_ref()).await;
        sqlx::query("DROP TRIGGER events_no_update")
            .execute(store.pool())
            .await
            .unwrap();
        sqlx::query("UPDATE events SET data = '{\"x\":1}' WHERE position = 2")
            .execute(store.pool())
            .await
            .unwrap();
        let refused = checkpointer
            .checkpoint(at(10), Actor::System)
            .await
            .unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("event 2: stored hash does not match"),
            "{refused}"
        );
        assert!(store.read_stream(audit::STREAM).await.unwrap().is_empty());
        assert!(
            checkpointer
                .checkpoint(at(11), Actor::System)
                .await
                .is_err()
        );
    }
}
