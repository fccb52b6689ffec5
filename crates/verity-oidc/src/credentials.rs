//! Passwords: generating temporary ones, hashing with Argon2id, verifying.
//!
//! Hashes are PHC strings with OWASP's parameters for Argon2id (m = 19 MiB, t = 2,
//! p = 1): the only form in which a password ever reaches the event log.
//!
//! A server hashes through [`Hashing`]: a fixed number of hashing threads, each with its
//! own Argon2 working memory ([`HashMemory`]) reused for every hash it does. Memory
//! therefore stays at `concurrency x 19 MiB` however many sign-ins arrive, is never
//! page-faulted in anew, and never spreads over the allocator's per-thread arenas (glibc
//! kept one 19 MiB block per arena: ~500 MiB after a flood, before memory was reused).
//! The threads run at a lower CPU priority than the threads answering requests, so a
//! sign-in flood takes the CPU that tokens, discovery and JWKS leave idle, not theirs.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use argon2::password_hash::PasswordHasher;
use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use rand::{Rng, RngExt};
use subtle::ConstantTimeEq;

/// Characters of temporary passwords: no look-alikes (0/O, 1/l/I), easy to type from an
/// email.
pub const READABLE_ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// Length of a temporary password: 20 characters of a 56-symbol alphabet, ~116 bits.
pub const TEMPORARY_PASSWORD_LENGTH: usize = 20;

/// Why a hash was not done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// Parameters rejected by the library, or a hashing thread that died: a programming
    /// error, reported rather than panicking.
    #[error("password hashing failed: {0}")]
    Failed(String),
    /// More hashes are running and waiting than the server takes ([`Hashing::run`]):
    /// this one was refused at once rather than queued (load shedding).
    #[error("too many passwords are waiting to be checked")]
    Busy,
}

/// The Argon2id instance with OWASP's parameters.
fn argon2() -> Result<Argon2<'static>, HashError> {
    Ok(Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        owasp_params()?,
    ))
}

/// Generates a temporary password from [`READABLE_ALPHABET`] with the given RNG.
pub fn generate_temporary_password(rng: &mut impl Rng) -> String {
    (0..TEMPORARY_PASSWORD_LENGTH)
        .map(|_| {
            let index = rng.random_range(0..READABLE_ALPHABET.len());
            READABLE_ALPHABET
                .get(index)
                .copied()
                .map_or('x', char::from)
        })
        .collect()
}

/// Hashes a password with Argon2id and a fresh random salt; returns the PHC string.
/// Allocates its own working memory; servers use [`Hashing`].
pub fn hash_password(password: &str) -> Result<String, HashError> {
    argon2()?
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|error| HashError::Failed(error.to_string()))
}

/// Hashes on a blocking thread, so a burst of hashes never stalls the async runtime.
pub async fn hash_password_blocking(password: String) -> Result<String, HashError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|error| HashError::Failed(error.to_string()))?
}

/// Whether `password` matches the PHC string: [`verify_password_in`] with working memory
/// of its own; servers verify through [`Hashing`].
pub fn verify_password(password: &str, phc: &str) -> bool {
    verify_password_in(password, phc, &mut HashMemory::default())
}

/// Argon2's working memory for one hash, reused from hash to hash. It grows to the largest
/// parameters it has served (19 MiB for Verity's own hashes) and is not wiped between uses:
/// it holds intermediate blocks, never the password.
#[derive(Default)]
pub struct HashMemory(Vec<Block>);

impl HashMemory {
    /// The first `count` blocks, growing the memory when it is smaller.
    fn blocks(&mut self, count: usize) -> &mut [Block] {
        if self.0.len() < count {
            self.0.resize(count, Block::new());
        }
        let (blocks, _) = self.0.split_at_mut(count);
        blocks
    }

    /// Argon2id with `params` over `password` and `salt` into `out`, in this memory.
    fn argon2(
        &mut self,
        params: Params,
        password: &str,
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), HashError> {
        let blocks = self.blocks(params.block_count());
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into_with_memory(password.as_bytes(), salt, out, blocks)
            .map_err(|error| HashError::Failed(error.to_string()))
    }
}

/// [`hash_password`] in `memory`, with a salt drawn from `rng`.
pub fn hash_password_in(
    password: &str,
    memory: &mut HashMemory,
    rng: &mut impl rand::CryptoRng,
) -> Result<String, HashError> {
    let params = owasp_params()?;
    let mut salt = [0u8; Salt::RECOMMENDED_LENGTH];
    rng.fill_bytes(&mut salt);
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    memory.argon2(params.clone(), password, &salt, &mut out)?;
    let error = |error: argon2::password_hash::phc::Error| HashError::Failed(error.to_string());
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)
            .map_err(|error| HashError::Failed(error.to_string()))?,
        salt: Some(Salt::new(&salt).map_err(error)?),
        hash: Some(Output::new(&out).map_err(error)?),
    };
    Ok(hash.to_string())
}

/// [`verify_password`] in `memory`: Argon2id hashes of any parameters verify (older ones
/// grow the memory to their size); other algorithms and malformed strings never match.
pub fn verify_password_in(password: &str, phc: &str, memory: &mut HashMemory) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let argon2id = parsed.algorithm == Algorithm::Argon2id.ident()
        && parsed
            .version
            .is_none_or(|version| Version::try_from(version) == Ok(Version::V0x13));
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    if !argon2id {
        return false;
    }
    let mut out = vec![0u8; expected.len()];
    memory.argon2(params, password, salt, &mut out).is_ok()
        && bool::from(expected.as_bytes().ct_eq(&out))
}

/// OWASP's parameters for Argon2id.
fn owasp_params() -> Result<Params, HashError> {
    Params::new(19 * 1024, 2, 1, None).map_err(|error| HashError::Failed(error.to_string()))
}

/// Password hashing for a server: `concurrency` hashing threads (see the module
/// documentation), and at most `queue_limit` more hashes waiting for one: beyond that,
/// [`Hashing::run`] refuses at once ([`HashError::Busy`]) instead of piling up memory and
/// latency. Clones share the threads and the limits; the threads end when the last clone
/// is dropped.
#[derive(Clone)]
pub struct Hashing {
    concurrency: usize,
    workers: Arc<Workers>,
    queue: Arc<Queue>,
}

/// A hash to do, on a hashing thread's memory.
type Job = Box<dyn FnOnce(&mut HashMemory) + Send>;

/// The hashing threads: each takes jobs from one channel and keeps its own memory.
struct Workers {
    jobs: std::sync::mpsc::Sender<Job>,
    /// Each thread's memory in bytes, as of its last hash.
    memory: Arc<Vec<AtomicUsize>>,
}

/// How much lower than request handling the hashing threads run (a nice value: the
/// scheduler then gives a busy request thread about ten times their share of a core).
const HASHING_NICENESS: i32 = 10;

impl Workers {
    fn start(count: usize) -> Self {
        let (jobs, receiver) = std::sync::mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let memory: Arc<Vec<AtomicUsize>> =
            Arc::new((0..count).map(|_| AtomicUsize::new(0)).collect());
        for index in 0..count {
            let (receiver, memory) = (receiver.clone(), memory.clone());
            // A thread that cannot start leaves fewer hashing threads; with none, every
            // hash fails with a clear error instead of the server panicking.
            let _ = std::thread::Builder::new()
                .name(format!("verity-hash-{index}"))
                .spawn(move || hashing_thread(&receiver, memory.get(index)));
        }
        Self { jobs, memory }
    }
}

/// A hashing thread's life: lower its priority, then do jobs until every sender is gone.
/// A job that panics loses its answer (its caller gets [`HashError::Failed`]), not the
/// thread.
fn hashing_thread(
    receiver: &Mutex<std::sync::mpsc::Receiver<Job>>,
    memory_bytes: Option<&AtomicUsize>,
) {
    lower_this_threads_priority();
    let mut memory = HashMemory::default();
    loop {
        let job = match receiver.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut memory)));
        if let Some(bytes) = memory_bytes {
            bytes.store(
                memory.0.len() * std::mem::size_of::<Block>(),
                Ordering::Release,
            );
        }
    }
}

/// Gives the calling thread the nice value [`HASHING_NICENESS`] (Linux sets it per
/// thread). Raising one's own nice value needs no privilege; where it fails anyway, the
/// thread keeps the normal priority.
fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    {
        let _ =
            rustix::process::setpriority_process(Some(rustix::thread::gettid()), HASHING_NICENESS);
    }
}

/// The hashes in the system (running and waiting) and the bound on them.
#[derive(Debug)]
struct Queue {
    /// Hashes running or waiting for a thread.
    in_flight: AtomicUsize,
    /// Most hashes running or waiting before [`Hashing::run`] refuses.
    bound: usize,
    /// Hashes refused so far.
    shed: AtomicU64,
}

/// Holds one place in the queue until the hash ends (or its caller stops waiting).
struct Place(Arc<Queue>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Hashing {
    /// `concurrency` (at least one) hashing threads, and any number of hashes waiting.
    pub fn new(concurrency: usize) -> Self {
        let concurrency = concurrency.max(1);
        Self {
            concurrency,
            workers: Arc::new(Workers::start(concurrency)),
            queue: Arc::new(Queue {
                in_flight: AtomicUsize::new(0),
                bound: usize::MAX,
                shed: AtomicU64::new(0),
            }),
        }
    }

    /// The same, with at most `queue_limit` hashes waiting beyond the running ones
    /// (`[sign_in] hash_queue_limit`).
    pub fn with_queue_limit(self, queue_limit: usize) -> Self {
        Self {
            queue: Arc::new(Queue {
                in_flight: AtomicUsize::new(0),
                bound: self.concurrency.saturating_add(queue_limit),
                shed: AtomicU64::new(0),
            }),
            ..self
        }
    }

    /// Hashes running or waiting now.
    pub fn in_flight(&self) -> usize {
        self.queue.in_flight.load(Ordering::Acquire)
    }

    /// Hashes refused because the queue was full, since start.
    pub fn shed(&self) -> u64 {
        self.queue.shed.load(Ordering::Acquire)
    }

    /// The bound on hashes running and waiting, if there is one.
    pub fn bound(&self) -> Option<usize> {
        (self.queue.bound != usize::MAX).then_some(self.queue.bound)
    }

    /// As many hashing threads as the cores this process may use.
    pub fn for_this_machine() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get))
    }

    /// Runs `work` on a hashing thread with its memory, once one is free; or, when the
    /// queue is full, refuses at once with [`HashError::Busy`]. For what a person waits on
    /// at a page (a sign-in, a new password).
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut HashMemory) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let taken = self.queue.in_flight.fetch_add(1, Ordering::AcqRel);
        let place = Place(self.queue.clone());
        if taken >= self.queue.bound {
            self.queue.shed.fetch_add(1, Ordering::AcqRel);
            return Err(HashError::Busy);
        }
        self.run_in_place(work, place).await
    }

    /// Runs `work` like [`Hashing::run`] but always waits its turn, however long the
    /// queue: for an admin's command (a temporary password), which a caller retries
    /// badly.
    pub async fn run_waiting<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut HashMemory) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        self.queue.in_flight.fetch_add(1, Ordering::AcqRel);
        let place = Place(self.queue.clone());
        self.run_in_place(work, place).await
    }

    /// The place in the queue stays with the job until `work` ends, even when the caller
    /// stops waiting, so the bound holds for abandoned requests too.
    async fn run_in_place<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut HashMemory) -> T + Send + 'static,
        place: Place,
    ) -> Result<T, HashError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let result = work(memory);
            drop(place);
            let _ = answer.send(result);
        });
        self.workers
            .jobs
            .send(job)
            .map_err(|_| HashError::Failed("no hashing thread is running".into()))?;
        answered
            .await
            .map_err(|_| HashError::Failed("the hash ended without an answer".into()))
    }

    /// The memory the hashing threads hold now, in bytes (at most `concurrency x 19 MiB`).
    pub fn pooled_bytes(&self) -> usize {
        self.workers
            .memory
            .iter()
            .map(|bytes| bytes.load(Ordering::Acquire))
            .sum()
    }
}

impl std::fmt::Debug for Hashing {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Hashing")
            .field("threads", &self.concurrency)
            .field("in_flight", &self.in_flight())
            .field("pooled_bytes", &self.pooled_bytes())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn beyond_the_queue_limit_a_check_is_refused_at_once_and_an_admin_waits() {
        let hashing = Hashing::new(1).with_queue_limit(1);
        let (release, released) = std::sync::mpsc::channel::<()>();
        let running = tokio::spawn({
            let hashing = hashing.clone();
            async move {
                hashing
                    .run(move |_| {
                        let _ = released.recv();
                    })
                    .await
            }
        });
        while hashing.in_flight() < 1 {
            tokio::task::yield_now().await;
        }
        let waiting = tokio::spawn({
            let hashing = hashing.clone();
            async move { hashing.run(|_| 1).await }
        });
        while hashing.in_flight() < 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(hashing.run(|_| 2).await, Err(HashError::Busy));
        assert_eq!(hashing.shed(), 1);
        assert_eq!(
            hashing.in_flight(),
            2,
            "the refused one left no place taken"
        );
        let admin = tokio::spawn({
            let hashing = hashing.clone();
            async move { hashing.run_waiting(|_| 3).await }
        });
        release.send(()).unwrap();
        assert_eq!(running.await.unwrap(), Ok(()));
        assert_eq!(waiting.await.unwrap(), Ok(1));
        assert_eq!(admin.await.unwrap(), Ok(3));
        assert_eq!(hashing.in_flight(), 0);
        assert_eq!(hashing.bound(), Some(2));
        assert_eq!(Hashing::new(4).bound(), None);
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // A test may draw from the OS generator.
    fn temporary_passwords_are_long_readable_and_different() {
        let mut rng = rand::rng();
        let first = generate_temporary_password(&mut rng);
        let second = generate_temporary_password(&mut rng);
        assert_eq!(first.chars().count(), TEMPORARY_PASSWORD_LENGTH);
        assert!(first.bytes().all(|byte| READABLE_ALPHABET.contains(&byte)));
        assert_ne!(first, second);
    }

    #[test]
    fn hashes_are_argon2id_phc_and_verify_only_the_right_password() {
        let hash = hash_password("correct horse battery staple").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("correct horse battery staple", &hash));
        assert!(!verify_password("correct horse battery stapler", &hash));
        assert!(!verify_password("anything", "not a phc string"));
        assert_ne!(
            hash,
            hash_password("correct horse battery staple").unwrap(),
            "salted"
        );
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // A test may draw from the OS generator.
    fn pooled_memory_hashes_and_verifies_like_the_library() {
        let mut memory = HashMemory::default();
        let ours = hash_password_in(
            "correct horse battery staple",
            &mut memory,
            &mut rand::rng(),
        )
        .unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        // Each verifies the other's hashes: the same function, only the memory differs.
        assert!(verify_password("correct horse battery staple", &ours));
        let library = hash_password("correct horse battery staple").unwrap();
        assert!(verify_password_in(
            "correct horse battery staple",
            &library,
            &mut memory
        ));
        assert!(verify_password_in(
            "correct horse battery staple",
            &ours,
            &mut memory
        ));
        assert!(!verify_password_in(
            "correct horse battery stapler",
            &ours,
            &mut memory
        ));
        assert!(!verify_password_in(
            "anything",
            "not a phc string",
            &mut memory
        ));
        assert_eq!(
            memory.0.len(),
            19 * 1024,
            "one 19 MiB working memory, reused"
        );
        // Other parameters (an older, cheaper hash) grow nothing beyond what they need and
        // still verify; other algorithms never match.
        let cheap = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw")
        .unwrap()
        .to_string();
        assert!(verify_password_in("pw", &cheap, &mut memory));
        assert!(!verify_password_in("pw2", &cheap, &mut memory));
        let argon2i = cheap.replacen("argon2id", "argon2i", 1);
        assert!(!verify_password_in("pw", &argon2i, &mut memory));
    }

    #[tokio::test]
    async fn hashing_runs_at_most_its_limit_and_keeps_one_memory_per_thread() {
        let hashing = Hashing::new(2);
        let hash = hash_password("pw").unwrap();
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let (hashing, hash) = (hashing.clone(), hash.clone());
                let (running, peak) = (running.clone(), peak.clone());
                tokio::spawn(async move {
                    hashing
                        .run(move |memory| {
                            use std::sync::atomic::Ordering::SeqCst;
                            peak.fetch_max(running.fetch_add(1, SeqCst) + 1, SeqCst);
                            let matched = verify_password_in("pw", &hash, memory);
                            running.fetch_sub(1, SeqCst);
                            matched
                        })
                        .await
                })
            })
            .collect();
        for task in tasks {
            assert!(task.await.unwrap().unwrap());
        }
        assert!(peak.load(std::sync::atomic::Ordering::SeqCst) <= 2);
        assert!(hashing.pooled_bytes() <= 2 * 19 * 1024 * 1024);
        assert!(hashing.pooled_bytes() >= 19 * 1024 * 1024);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_yield_to_request_handling() {
        let hashing = Hashing::new(1);
        let niceness = hashing
            .run(|_| rustix::process::getpriority_process(Some(rustix::thread::gettid())))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(niceness, HASHING_NICENESS);
        let here = rustix::process::getpriority_process(None).unwrap();
        assert!(here < HASHING_NICENESS, "the test's own thread: {here}");
    }

    #[tokio::test]
    async fn a_hash_that_panics_fails_alone_and_the_thread_goes_on() {
        let hashing = Hashing::new(1);
        let failed = hashing.run(|_| -> bool { panic!("a broken hash") }).await;
        assert!(matches!(failed, Err(HashError::Failed(_))), "{failed:?}");
        assert_eq!(hashing.in_flight(), 0);
        let hash = hash_password("pw").unwrap();
        assert!(
            hashing
                .run(move |memory| verify_password_in("pw", &hash, memory))
                .await
                .unwrap()
        );
    }
}
