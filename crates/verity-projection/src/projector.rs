//! The projector: starts a [`Projection`] from its latest snapshot plus the log tail,
//! follows the log live, and lets callers wait until a position is folded.
//!
//! One follower task is the only writer of the state. It folds a page of events a few
//! hundred at a time under the write lock, so readers wait at most for a short chunk,
//! and it does the CPU-heavy work (folding, serialising snapshots) on tokio's blocking
//! pool, so the async workers that serve requests stay free.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use verity_domain::{DecodeError, EventStore, RecordedEvent, Snapshot, SnapshotStore, StoreError};

use crate::projection::Projection;
use crate::read_ahead::{ReadAhead, ReadFailed};

/// How many events one read of the log asks for.
const PAGE_SIZE: usize = 5_000;
/// How many events are folded per hold of the write lock: about a millisecond of work
/// in release builds, so a reader never waits long.
const EVENTS_PER_LOCK: usize = 500;
/// How long one wait for new events lasts before the follower asks again.
const FOLLOW_WAIT: Duration = Duration::from_secs(1);
/// The first and the longest pause after the store failed.
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_LONGEST: Duration = Duration::from_secs(10);

/// How a [`Projector`] behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjectorOptions {
    /// Save a snapshot after this many folded events (0: only when asked to, with
    /// [`Projector::save_snapshot`]). Default 100,000: folding that many events at start
    /// takes about as long as loading the snapshot of their read models, while each
    /// snapshot costs the running server the serialised state in memory and CPU time
    /// (docs/performance.md, "Snapshots").
    pub snapshot_every: u64,
}

impl Default for ProjectorOptions {
    fn default() -> Self {
        Self {
            snapshot_every: 100_000,
        }
    }
}

/// Why a projection could not start, follow, wait or save.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProjectionError {
    /// The event or snapshot store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An event of a type the projection folds could not be read.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The state could not be serialised into a snapshot.
    #[error("snapshot: {0}")]
    Snapshot(String),
    /// The projection did not reach the position in time.
    #[error("the projection reached position {reached}, not {waited_for}, in time")]
    Timeout {
        /// The position waited for.
        waited_for: u64,
        /// The position folded when the wait ended.
        reached: u64,
    },
    /// A background task of the projector failed (a bug: the fold panicked).
    #[error("projection task failed: {0}")]
    Task(String),
}

/// What the follower publishes to waiters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Progress {
    /// The last position folded into the state.
    position: u64,
    /// Whether the follower gave up (see `Shared::failure`).
    stopped: bool,
}

/// The state and everything the follower task needs; the task holds only this, so
/// dropping the [`Projector`] can stop it.
struct Shared<P> {
    state: RwLock<P>,
    /// Updated while the write lock is held, so a reader of the state under the read
    /// lock sees the position that matches it.
    progress: watch::Sender<Progress>,
    failure: Mutex<Option<ProjectionError>>,
    events: Arc<dyn EventStore>,
    snapshots: Arc<dyn SnapshotStore>,
    options: ProjectorOptions,
    /// The position of the last snapshot saved or loaded; also serialises saves, so an
    /// older snapshot never overwrites a newer one.
    last_snapshot: tokio::sync::Mutex<Option<u64>>,
    /// Held while folding and while serialising a snapshot, so the follower never waits
    /// for the write lock behind a long serialisation — readers would queue behind it.
    fold_gate: tokio::sync::Mutex<()>,
}

/// Keeps a [`Projection`] current with the log.
///
/// Built with [`Projector::start`]; readers call [`Projector::read`], and a handler that
/// has just appended at position P calls [`Projector::wait_for`] before it answers, so a
/// user always reads their own writes (also when another node wrote). Dropping the last
/// `Arc<Projector>` stops the follower task.
pub struct Projector<P: Projection> {
    shared: Arc<Shared<P>>,
    follower: JoinHandle<()>,
    started_from: u64,
}

impl<P: Projection> Projector<P> {
    /// Starts with the default [`ProjectorOptions`]: see [`Projector::start_with`].
    pub async fn start(
        events: Arc<dyn EventStore>,
        snapshots: Arc<dyn SnapshotStore>,
    ) -> Result<Arc<Self>, ProjectionError> {
        Self::start_with(events, snapshots, ProjectorOptions::default()).await
    }

    /// Loads the latest usable snapshot (or starts empty at position 0), folds the log up
    /// to its head, then follows the log in a background task.
    ///
    /// Fails when the store fails or an event in the log cannot be read; a snapshot that
    /// is missing, of another version or unreadable only means folding from 0.
    pub async fn start_with(
        events: Arc<dyn EventStore>,
        snapshots: Arc<dyn SnapshotStore>,
        options: ProjectorOptions,
    ) -> Result<Arc<Self>, ProjectionError> {
        Self::start_like(&P::default(), events, snapshots, options).await
    }

    /// [`Projector::start_with`], the state configured like `template`
    /// ([`Projection::configure_like`]), whether it starts empty or from a snapshot.
    pub async fn start_like(
        template: &P,
        events: Arc<dyn EventStore>,
        snapshots: Arc<dyn SnapshotStore>,
        options: ProjectorOptions,
    ) -> Result<Arc<Self>, ProjectionError> {
        let (mut state, started_from) = load::<P>(events.as_ref(), snapshots.as_ref()).await?;
        state.configure_like(template);
        let (progress, _) = watch::channel(Progress {
            position: started_from,
            stopped: false,
        });
        let shared = Arc::new(Shared {
            state: RwLock::new(state),
            progress,
            failure: Mutex::new(None),
            events,
            snapshots,
            options,
            last_snapshot: tokio::sync::Mutex::new((started_from > 0).then_some(started_from)),
            fold_gate: tokio::sync::Mutex::new(()),
        });

        // Catch up before answering, so the first reader sees everything already logged.
        // Snapshots are not taken page by page here: one at the end covers the catch-up.
        let mut since_snapshot = catch_up(&shared).await?;
        if options.snapshot_every > 0 && since_snapshot >= options.snapshot_every {
            save_or_warn(&shared).await;
            since_snapshot = 0;
        }
        tracing::info!(
            projection = P::NAME,
            started_from,
            position = shared.position(),
            "projection caught up with the log"
        );

        let follower = tokio::spawn(follow(Arc::clone(&shared), since_snapshot));
        Ok(Arc::new(Self {
            shared,
            follower,
            started_from,
        }))
    }

    /// Reads the state. The closure runs under the read lock: keep it short and copy out
    /// what you need.
    pub fn read<R>(&self, reader: impl FnOnce(&P) -> R) -> R {
        let state = self
            .shared
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        reader(&state)
    }

    /// The last position folded into the state.
    pub fn position(&self) -> u64 {
        self.shared.position()
    }

    /// The position of the snapshot the projector started from (0 when it folded the log
    /// from the beginning).
    pub fn started_from(&self) -> u64 {
        self.started_from
    }

    /// Returns once `position` is folded, so the state reflects a write that landed
    /// there; fails with [`ProjectionError::Timeout`] after `timeout`, or with the
    /// follower's error when it stopped before reaching `position`.
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> Result<(), ProjectionError> {
        let mut receiver = self.shared.progress.subscribe();
        let waited = tokio::time::timeout(timeout, async {
            receiver
                .wait_for(|progress| progress.position >= position || progress.stopped)
                .await
                .map(|progress| *progress)
        })
        .await;
        match waited {
            Ok(Ok(progress)) if progress.position >= position => Ok(()),
            Ok(_) => Err(self.failure().unwrap_or_else(|| {
                ProjectionError::Task("the projection stopped following the log".into())
            })),
            Err(_elapsed) => Err(ProjectionError::Timeout {
                waited_for: position,
                reached: self.position(),
            }),
        }
    }

    /// Saves the state and its position as the projection's snapshot (unless a snapshot
    /// at this position is already saved).
    pub async fn save_snapshot(&self) -> Result<(), ProjectionError> {
        save(&self.shared).await
    }

    /// `Err` with the reason when the follower stopped: the state no longer moves.
    pub fn health(&self) -> Result<(), String> {
        if let Some(error) = self.failure() {
            return Err(format!(
                "the {} projection stopped at position {}: {error}",
                P::NAME,
                self.position()
            ));
        }
        if self.follower.is_finished() {
            return Err(format!("the {} projection's follower ended", P::NAME));
        }
        Ok(())
    }

    fn failure(&self) -> Option<ProjectionError> {
        self.shared
            .failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl<P: Projection> Drop for Projector<P> {
    fn drop(&mut self) {
        self.follower.abort();
    }
}

impl<P: Projection> fmt::Debug for Projector<P> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Projector")
            .field("projection", &P::NAME)
            .field("version", &P::VERSION)
            .field("position", &self.position())
            .field("started_from", &self.started_from)
            .finish_non_exhaustive()
    }
}

impl<P: Projection> Shared<P> {
    fn position(&self) -> u64 {
        self.progress.borrow().position
    }

    /// Folds a page, a chunk per hold of the write lock. Events at or before the
    /// current position are skipped, so a page that overlaps is harmless.
    fn fold_page(&self, page: &[RecordedEvent]) -> Result<(), DecodeError> {
        for chunk in page.chunks(EVENTS_PER_LOCK) {
            let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
            let mut position = self.position();
            let mut outcome = Ok(());
            for event in chunk {
                if event.position <= position {
                    continue;
                }
                if let Err(error) = state.apply(event) {
                    outcome = Err(error);
                    break;
                }
                position = event.position;
            }
            self.progress.send_if_modified(|progress| {
                let moved = progress.position != position;
                progress.position = position;
                moved
            });
            drop(state);
            outcome?;
        }
        Ok(())
    }

    fn stop(&self, error: ProjectionError) {
        *self.failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(error);
        self.progress
            .send_modify(|progress| progress.stopped = true);
    }
}

/// Folds the log up to its head, the next pages read (`ReadAhead`) while each one folds
/// on a blocking thread. Returns how many events it folded.
async fn catch_up<P: Projection>(shared: &Arc<Shared<P>>) -> Result<u64, ProjectionError> {
    let mut folded = 0;
    let mut after = shared.position();
    let mut pages = ReadAhead::new(Arc::clone(&shared.events), PAGE_SIZE, P::PERSONAL_READS);
    let mut folding: Option<tokio::task::JoinHandle<Result<(), DecodeError>>> = None;
    loop {
        let page = pages
            .page_after(after)
            .await
            .map_err(|failed| match failed {
                ReadFailed::Store(error) => ProjectionError::Store(error),
                ReadFailed::Task(error) => ProjectionError::Task(error),
            })?;
        if let Some(fold) = folding.take() {
            fold.await
                .map_err(|error| ProjectionError::Task(error.to_string()))??;
        }
        let Some(last) = page.last().map(|event| event.position) else {
            return Ok(folded);
        };
        if last <= after {
            // The store returned nothing new; stop rather than spin.
            return Ok(folded);
        }
        after = last;
        folded += page.len() as u64;
        let folder = Arc::clone(shared);
        folding = Some(tokio::task::spawn_blocking(move || folder.fold_page(&page)));
    }
}

/// Reads the page after the current position and folds it; returns how many events it
/// held (0: caught up).
async fn fold_next_page<P: Projection>(shared: &Arc<Shared<P>>) -> Result<u64, ProjectionError> {
    let page = shared
        .events
        .read_all_for(shared.position(), PAGE_SIZE, P::PERSONAL_READS)
        .await?;
    if page.is_empty() {
        return Ok(0);
    }
    let count = page.len() as u64;
    let folder = Arc::clone(shared);
    let _gate = shared.fold_gate.lock().await;
    tokio::task::spawn_blocking(move || folder.fold_page(&page))
        .await
        .map_err(|error| ProjectionError::Task(error.to_string()))??;
    Ok(count)
}

/// The follower task: waits for new events, folds them, saves snapshots as it goes.
/// Store failures are retried with a growing pause; an unreadable event stops it.
async fn follow<P: Projection>(shared: Arc<Shared<P>>, mut since_snapshot: u64) {
    let mut retry_in = RETRY_FIRST;
    loop {
        let outcome = follow_once(&shared, &mut since_snapshot).await;
        match outcome {
            Ok(()) => retry_in = RETRY_FIRST,
            Err(ProjectionError::Store(error)) => {
                tracing::warn!(
                    projection = P::NAME,
                    position = shared.position(),
                    %error,
                    retry_in_ms = retry_in.as_millis() as u64,
                    "cannot read the log; retrying"
                );
                tokio::time::sleep(retry_in).await;
                retry_in = (retry_in * 2).min(RETRY_LONGEST);
            }
            Err(error) => {
                tracing::error!(
                    projection = P::NAME,
                    position = shared.position(),
                    %error,
                    "projection stopped following the log"
                );
                shared.stop(error);
                return;
            }
        }
    }
}

/// One wait for the log to move, then everything that is there.
async fn follow_once<P: Projection>(
    shared: &Arc<Shared<P>>,
    since_snapshot: &mut u64,
) -> Result<(), ProjectionError> {
    let head = shared
        .events
        .wait_beyond(shared.position(), FOLLOW_WAIT)
        .await?;
    if head <= shared.position() {
        return Ok(());
    }
    loop {
        let folded = fold_next_page(shared).await?;
        if folded == 0 {
            return Ok(());
        }
        *since_snapshot += folded;
        let every = shared.options.snapshot_every;
        if every > 0 && *since_snapshot >= every {
            save_or_warn(shared).await;
            *since_snapshot = 0;
        }
        if shared.position() >= head {
            // Caught up with what the wait saw; a later append ends the next wait at
            // once, so no read is spent on finding nothing (one per append, before).
            return Ok(());
        }
    }
}

/// A failed periodic snapshot only means a longer catch-up at the next start.
async fn save_or_warn<P: Projection>(shared: &Arc<Shared<P>>) {
    if let Err(error) = save(shared).await {
        tracing::warn!(projection = P::NAME, %error, "could not save a snapshot");
    }
}

async fn save<P: Projection>(shared: &Arc<Shared<P>>) -> Result<(), ProjectionError> {
    let mut last_snapshot = shared.last_snapshot.lock().await;
    if *last_snapshot == Some(shared.position()) {
        return Ok(());
    }
    let serialiser = Arc::clone(shared);
    let gate = shared.fold_gate.lock().await;
    let (position, data) = tokio::task::spawn_blocking(move || {
        // Under the read lock, which blocks no reader: the gate keeps the follower from
        // waiting for the write lock meanwhile.
        let state = serialiser
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let position = serialiser.position();
        serde_json::to_vec(&*state).map(|data| (position, data))
    })
    .await
    .map_err(|error| ProjectionError::Task(error.to_string()))?
    .map_err(|error| ProjectionError::Snapshot(error.to_string()))?;
    drop(gate);
    let bytes = data.len();
    shared
        .snapshots
        .save_snapshot(Snapshot {
            name: P::NAME.to_owned(),
            version: P::VERSION,
            position,
            data,
            // The snapshot store binds it to the chain when it can (`verity-audit`).
            hash: String::new(),
            seal: Vec::new(),
        })
        .await?;
    *last_snapshot = Some(position);
    tracing::info!(projection = P::NAME, position, bytes, "saved a snapshot");
    Ok(())
}

/// The state and position to start from: the snapshot when it is usable, else empty at 0.
async fn load<P: Projection>(
    events: &dyn EventStore,
    snapshots: &dyn SnapshotStore,
) -> Result<(P, u64), ProjectionError> {
    let Some(snapshot) = snapshots.load_snapshot(P::NAME).await? else {
        tracing::info!(
            projection = P::NAME,
            "no snapshot; folding the log from position 0"
        );
        return Ok((P::default(), 0));
    };
    if snapshot.version != P::VERSION {
        tracing::info!(
            projection = P::NAME,
            snapshot_version = snapshot.version,
            code_version = P::VERSION,
            "the snapshot is of another version; folding the log from position 0"
        );
        return Ok((P::default(), 0));
    }
    let head = events.head().await?;
    if snapshot.position > head {
        // A snapshot ahead of the log means the log was restored from an older backup:
        // the snapshot would show events that no longer exist.
        tracing::info!(
            projection = P::NAME,
            snapshot_position = snapshot.position,
            head,
            "the snapshot is ahead of the log; folding the log from position 0"
        );
        return Ok((P::default(), 0));
    }
    let position = snapshot.position;
    let decoded = tokio::task::spawn_blocking(move || serde_json::from_slice::<P>(&snapshot.data))
        .await
        .map_err(|error| ProjectionError::Task(error.to_string()))?;
    match decoded {
        Ok(state) => {
            tracing::info!(projection = P::NAME, position, "loaded the snapshot");
            Ok((state, position))
        }
        Err(error) => {
            tracing::info!(
                projection = P::NAME,
                %error,
                "the snapshot cannot be read; folding the log from position 0"
            );
            Ok((P::default(), 0))
        }
    }
}

/// Folds the log from position 0 up to its head (as it was when called), without
/// snapshots: what `verity replay` compares the live state with. `progress` is told the
/// position reached after each page. Returns the state and the last position folded.
pub async fn rebuild<P: Projection>(
    store: &dyn EventStore,
    progress: impl FnMut(u64),
) -> Result<(P, u64), ProjectionError> {
    rebuild_like(&P::default(), store, progress).await
}

/// [`rebuild`], the state configured like `template` ([`Projection::configure_like`]).
pub async fn rebuild_like<P: Projection>(
    template: &P,
    store: &dyn EventStore,
    mut progress: impl FnMut(u64),
) -> Result<(P, u64), ProjectionError> {
    let head = store.head().await?;
    let mut empty = P::default();
    empty.configure_like(template);
    let mut state = Some(empty);
    let mut position = 0;
    let mut read_up_to = 0;
    let mut folding: Option<tokio::task::JoinHandle<(P, Result<u64, DecodeError>)>> = None;
    // Reading the next page overlaps folding the previous one (on a blocking thread).
    loop {
        let page = if read_up_to < head {
            store
                .read_all_for(read_up_to, PAGE_SIZE, P::PERSONAL_READS)
                .await?
        } else {
            Vec::new()
        };
        if let Some(fold) = folding.take() {
            let (folded_state, outcome) = fold
                .await
                .map_err(|error| ProjectionError::Task(error.to_string()))?;
            state = Some(folded_state);
            position = outcome?;
            progress(position);
        }
        let Some(last) = page.last().map(|event| event.position) else {
            break;
        };
        if last <= read_up_to {
            // The store returned nothing new up to the head; stop rather than spin.
            break;
        }
        read_up_to = last;
        let Some(mut taken) = state.take() else { break };
        let from = position;
        folding = Some(tokio::task::spawn_blocking(move || {
            let outcome = fold_up_to(&mut taken, &page, from, head);
            (taken, outcome)
        }));
    }
    let state =
        state.ok_or_else(|| ProjectionError::Task("the fold did not return its state".into()))?;
    Ok((state, position))
}

/// Folds the events after `position` and up to `head`; returns the last position folded.
fn fold_up_to<P: Projection>(
    state: &mut P,
    page: &[RecordedEvent],
    mut position: u64,
    head: u64,
) -> Result<u64, DecodeError> {
    for event in page {
        if event.position <= position {
            continue;
        }
        if event.position > head {
            break;
        }
        state.apply(event)?;
        position = event.position;
    }
    Ok(position)
}
