//! `verity-bench soak`: mixed traffic spread over several nodes for as long as asked,
//! every operation and every acknowledged fact written to a journal (`journal`) for
//! `cargo xtask soak` to check against the log once the faults it injects are over.
//!
//! Workers take people from the file in turn, each person's turn a day of theirs
//! (`flows`); a lock test at the start sends wrong passwords for one person to every node
//! at once. The generator never stops on an error: errors are what a fault window is
//! expected to cause, and the journal says when and where they happened.

mod flows;
pub mod journal;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use flows::{Client, Cluster};
use journal::{Entry, Journal};

use crate::people::Person;

/// What to drive and for how long.
pub struct Soak {
    /// The nodes and clients.
    pub cluster: Cluster,
    /// People who sign in (each at most once per [`TOTP_REUSE`], so the file must be
    /// large enough for the rate).
    pub people: Vec<Person>,
    /// The person the lock test sends wrong passwords for.
    pub lock_target: Person,
    /// Wrong passwords the lock test sends in all.
    pub lock_attempts: usize,
    /// Workers in flight at once.
    pub concurrency: usize,
    /// How long to run.
    pub duration: Duration,
    /// Where the journal goes.
    pub journal: PathBuf,
}

/// How long before a person may sign in again: an authenticator code is accepted once,
/// and a code stays acceptable for its step and the ones beside it.
pub const TOTP_REUSE: Duration = Duration::from_secs(95);

/// Runs the soak; answers a summary (operations, errors, people turned) for stdout.
pub async fn run(soak: Soak) -> anyhow::Result<serde_json::Value> {
    let journal = Arc::new(Journal::create(&soak.journal)?);
    let deadline = Instant::now() + soak.duration;
    let shared = Arc::new(soak);
    let lock = tokio::spawn(lock_test(shared.clone(), journal.clone()));
    let next = Arc::new(AtomicUsize::new(0));
    let last_use = Arc::new(Mutex::new(vec![None; shared.people.len()]));
    let workers: Vec<_> = (0..shared.concurrency)
        .map(|_| {
            let (shared, journal) = (shared.clone(), journal.clone());
            let (next, last_use) = (next.clone(), last_use.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let turn = next.fetch_add(1, Ordering::Relaxed);
                    let index = turn % shared.people.len().max(1);
                    let Some(person) = shared.people.get(index) else {
                        return;
                    };
                    tokio::time::sleep(wait_for_new_code(&last_use, index)).await;
                    flows::person_turn(&shared.cluster, &journal, person, turn).await;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await?;
    }
    lock.await??;
    journal.flush()?;
    Ok(serde_json::json!({
        "bench": "soak",
        "turns": next.load(Ordering::Relaxed),
        "seconds": shared.duration.as_secs(),
        "journal": shared.journal,
    }))
}

/// How long person `index` must wait before their next sign-in so their authenticator
/// shows a code not used yet ([`TOTP_REUSE`] after their last); marks the turn as theirs.
fn wait_for_new_code(last_use: &Mutex<Vec<Option<Instant>>>, index: usize) -> Duration {
    let now = Instant::now();
    let Ok(mut last_use) = last_use.lock() else {
        return Duration::ZERO;
    };
    let Some(slot) = last_use.get_mut(index) else {
        return Duration::ZERO;
    };
    let free_at = slot.map_or(now, |last| last + TOTP_REUSE).max(now);
    *slot = Some(free_at);
    free_at - now
}

/// `lock_attempts` wrong passwords for the lock's target, a few at once, spread over
/// every node: the journal says which were checked and which refused as locked.
async fn lock_test(soak: Arc<Soak>, journal: Arc<Journal>) -> anyhow::Result<()> {
    let next = Arc::new(AtomicUsize::new(0));
    // Past a few failures each wrong password is answered later (1 s, doubling): wait.
    let http = crate::browser::client(6, Duration::from_secs(120))?;
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (soak, journal, next) = (soak.clone(), journal.clone(), next.clone());
            let http = http.clone();
            tokio::spawn(async move {
                loop {
                    let attempt = next.fetch_add(1, Ordering::Relaxed);
                    if attempt >= soak.lock_attempts {
                        return;
                    }
                    let index = attempt % soak.cluster.nodes.len().max(1);
                    let Some(node) = soak.cluster.nodes.get(index) else {
                        return;
                    };
                    let outcome =
                        flows::wrong_password(&soak.cluster, &http, node, &soak.lock_target).await;
                    let entry = match &outcome {
                        Ok(checked) => Entry::LockAttempt {
                            at: journal::now(),
                            node: index,
                            checked: *checked,
                        },
                        Err(error) => Entry::Op {
                            at: journal::now(),
                            node: index,
                            op: "lock_attempt",
                            error: Some(format!("{error:#}")),
                        },
                    };
                    journal.write(&entry);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await?;
    }
    Ok(())
}
