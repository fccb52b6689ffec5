//! Failure limits (docs/sign-in.md, docs/mfa.md): failures counted per account, per
//! person's code step or per client network in the expiring store, shared by every node,
//! and a lock once there are too many; [`ProgressiveDelay`] slows password guessing
//! before the lock.
//!
//! An attempt is counted before it is checked ([`reserve`]): one statement increments the
//! step's counter and the network's, and an attempt whose count passes a limit is refused
//! without being checked. So of any number of concurrent attempts, on any number of
//! nodes, at most as many are checked as the limit allows. A counter that reaches its
//! limit with a failure holds there until the lock ends ([`Attempt::failed`]); an attempt
//! that turns out not to count gives its place back ([`Attempt::succeeded`],
//! [`Attempt::not_counted`]).
//!
//! Everything here takes `now` as an argument; nothing reads the clock.

use std::net::{IpAddr, Ipv6Addr};

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use verity_domain::{Counted, CounterKey, Email, Entry, ExpiringStore, StoreError};

/// Kinds of entries in the expiring store that belong to the failure limits. Each is a
/// counter whose count at or above the limit is the lock, and whose end is then the
/// lock's end.
pub mod kind {
    /// Wrong codes in the current window (key: the user id).
    pub const MFA_FAILURES: &str = "mfa_failures";
    /// Wrong passwords in the current window (key: [`super::password_failure_key`]).
    pub const PASSWORD_FAILURES: &str = "password_failures";
    /// Failed sign-ins (wrong passwords, unknown addresses, wrong codes) from one client
    /// address in the current window (key: [`super::client_ip_failure_key`]).
    pub const IP_FAILURES: &str = "ip_failures";
}

/// Failures counted per account or per client address across nodes (the expiring store is
/// shared), and a lock once there are too many: the MFA step after 5 wrong codes, password
/// sign-in after 10 wrong passwords, sign-in from one client address after 100 failures of
/// either kind, each within a window (15 minutes by default; `[mfa]`/`[passwords]`/
/// `[sign_in]`).
///
/// One counter per key: attempts in its window, the ones being checked included. When a
/// failure brings it to `max_failures`, it is held there until the lock's end (its value
/// then says until when, so that a reader with another limit configured, such as an
/// operator's command, sees the lock too), and counting starts afresh after it. The per-address
/// limit is never reset by a success: one valid account must not clear what its network
/// did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureLimit {
    kind: &'static str,
    /// Failures that lock.
    pub max_failures: u64,
    /// How long failures are counted: the window starts at the first failure.
    pub window: Duration,
    /// How long the lock lasts from the failure that set it.
    pub lock_for: Duration,
}

/// Whether a step is locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LockState {
    /// Attempts are allowed.
    #[default]
    Open,
    /// Locked until then.
    Locked {
        /// When attempts are allowed again.
        until: DateTime<Utc>,
    },
}

impl LockState {
    /// When attempts are allowed again, if they are not now.
    pub fn until(self) -> Option<DateTime<Utc>> {
        match self {
            Self::Open => None,
            Self::Locked { until } => Some(until),
        }
    }
}

/// Where a key stands with a [`FailureLimit`]: locked or not, and the failures counted in
/// the current window. The default is a key nothing was recorded for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Standing {
    /// Whether attempts are allowed.
    pub lock: LockState,
    /// Failures counted in the current window (0 when none or the window passed; at most
    /// the limit).
    pub failures: u64,
}

/// What counting a failure found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureRecorded {
    /// Failures in the current window, this one included.
    pub failures: u64,
    /// Set when this failure locked the step.
    pub locked_until: Option<DateTime<Utc>>,
}

impl FailureLimit {
    /// The MFA step's limit (`[mfa] max_failures`, `lockout_minutes`), keyed by
    /// [`mfa_failure_key`].
    pub fn mfa(max_failures: u64, window: Duration, lock_for: Duration) -> Self {
        Self {
            kind: kind::MFA_FAILURES,
            max_failures,
            window,
            lock_for,
        }
    }

    /// Password sign-in's limit (`[passwords] max_failures`, ...), keyed by
    /// [`password_failure_key`].
    pub fn passwords(max_failures: u64, window: Duration, lock_for: Duration) -> Self {
        Self {
            kind: kind::PASSWORD_FAILURES,
            max_failures,
            window,
            lock_for,
        }
    }

    /// The limit on failed sign-ins from one client address (`[sign_in] ip_max_failures`,
    /// ...), keyed by [`client_ip_failure_key`].
    pub fn client_ip(max_failures: u64, window: Duration, lock_for: Duration) -> Self {
        Self {
            kind: kind::IP_FAILURES,
            max_failures,
            window,
            lock_for,
        }
    }

    /// The count at which the step is locked (at least 1).
    fn ceiling(&self) -> u64 {
        self.max_failures.max(1)
    }

    /// Whether this many failures in a window lock (pure).
    pub fn locks_at(&self, failures: u64) -> bool {
        failures >= self.ceiling()
    }

    /// The counter of `key`, for [`ExpiringStore::increment_many`], with a window from
    /// `now`.
    fn counter<'k>(&self, key: &'k str, now: DateTime<Utc>) -> CounterKey<'k> {
        CounterKey {
            kind: self.kind,
            key,
            window_expires_at: now + self.window,
        }
    }

    /// Where a key stands, from its counter as [`ExpiringStore::get_many`] read it: locked
    /// when a failure held it (whatever limit the reader is configured with) or it is at
    /// this limit.
    fn standing_of(&self, counter: Option<&Entry>) -> Standing {
        let Some(counter) = counter else {
            return Standing::default();
        };
        let lock = if !counter.value.is_empty() || self.locks_at(counter.count) {
            LockState::Locked {
                until: counter.expires_at,
            }
        } else {
            LockState::Open
        };
        Standing {
            lock,
            failures: counter.count.min(self.ceiling()),
        }
    }

    /// Where `key` stands at `now` (one read).
    pub async fn standing(
        &self,
        store: &dyn ExpiringStore,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Standing, StoreError> {
        let counters = store.get_many(&[(self.kind, key)], now).await?;
        Ok(self.standing_of(counters.first().and_then(Option::as_ref)))
    }

    /// Whether `key` is locked at `now`.
    pub async fn state(
        &self,
        store: &dyn ExpiringStore,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<LockState, StoreError> {
        Ok(self.standing(store, key, now).await?.lock)
    }

    /// Failures counted so far in the current window.
    pub async fn failures(
        &self,
        store: &dyn ExpiringStore,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        Ok(self.standing(store, key, now).await?.failures)
    }

    /// Counts one failure of `key` against this limit alone (no attempt reserved first);
    /// locks when it reaches the limit.
    pub async fn record_failure(
        &self,
        store: &dyn ExpiringStore,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<FailureRecorded, StoreError> {
        let counted = store.increment_many(&[self.counter(key, now)], now).await?;
        let count = counted.first().map_or(0, |counted| counted.count);
        self.failed(store, key, count, now).await
    }

    /// A checked attempt that was counted as the `count`th failed: when it is the one that
    /// reached the limit, the counter holds there for `lock_for` from `now` (the lock).
    async fn failed(
        &self,
        store: &dyn ExpiringStore,
        key: &str,
        count: u64,
        now: DateTime<Utc>,
    ) -> Result<FailureRecorded, StoreError> {
        let ceiling = self.ceiling();
        let mut locked_until = None;
        if count == ceiling {
            let until = now + self.lock_for;
            let said = until.to_rfc3339();
            if store
                .hold(self.kind, key, ceiling, said.as_bytes(), until, now)
                .await?
            {
                locked_until = Some(until);
            }
        }
        Ok(FailureRecorded {
            failures: count.min(ceiling),
            locked_until,
        })
    }

    /// Lifts a lock and forgets the failures: after a success, or an admin's unlock
    /// (`verity user unlock`).
    pub async fn clear(&self, store: &dyn ExpiringStore, key: &str) -> Result<(), StoreError> {
        store.remove(self.kind, key).await
    }
}

/// A limit whose lock a failure set (what metrics and logs name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lockout {
    /// The password failures of an address.
    Password,
    /// The code failures of a person.
    SecondFactor,
    /// The failures from a client network.
    Network,
}

/// One limit's counter of a reserved attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reserved {
    limit: FailureLimit,
    key: String,
    /// This attempt's place in the window.
    count: u64,
}

/// An attempt at a step, counted against the step's limit for a key and, when the
/// caller's address is known, against their network's, before it is checked. It ends in
/// one of [`Attempt::failed`], [`Attempt::succeeded`] or [`Attempt::not_counted`]; an
/// attempt dropped without one (a failing store, a caller gone) stays counted as a
/// failure, never the other way round.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "an attempt ends as failed, succeeded or not counted"]
pub struct Attempt {
    step: Reserved,
    network: Option<Reserved>,
}

/// Why an attempt was refused before anything was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locked {
    /// Too many failures from the caller's network.
    Network {
        /// When attempts are allowed again.
        until: DateTime<Utc>,
    },
    /// Too many failures of the step for this key (an address, a person).
    Step {
        /// When attempts are allowed again.
        until: DateTime<Utc>,
    },
}

/// What [`reserve`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// Counted: check it, then end the attempt.
    Reserved(Attempt),
    /// Refused by a lock; nothing was checked and nothing stays counted.
    Refused(Locked),
}

/// Counts an attempt at a step before it is checked, in one statement: against `limit`
/// for `key` and, when `ip` is known, against the `network` limit of its network. An
/// attempt past either limit is refused (a locked network first, as the person is told)
/// and counts nowhere; otherwise it holds its place until it ends.
pub async fn reserve(
    store: &dyn ExpiringStore,
    network: &FailureLimit,
    ip: Option<IpAddr>,
    (limit, key): (&FailureLimit, &str),
    now: DateTime<Utc>,
) -> Result<Reservation, StoreError> {
    let network_key = ip.map(client_ip_failure_key);
    let mut counters = vec![limit.counter(key, now)];
    if let Some(network_key) = &network_key {
        counters.push(network.counter(network_key, now));
    }
    let counted = store.increment_many(&counters, now).await?;
    let count_at = |index: usize| {
        counted.get(index).copied().ok_or_else(|| {
            StoreError::Corrupt(format!(
                "{} counters counted of {}",
                counted.len(),
                index + 1
            ))
        })
    };
    let step: Counted = count_at(0)?;
    let network_counted = match &network_key {
        Some(_) => Some(count_at(1)?),
        None => None,
    };
    let refused = match network_counted {
        Some(counted) if counted.count > network.ceiling() => Some(Locked::Network {
            until: counted.expires_at,
        }),
        _ if step.count > limit.ceiling() => Some(Locked::Step {
            until: step.expires_at,
        }),
        _ => None,
    };
    if let Some(locked) = refused {
        let pairs: Vec<(&str, &str)> = counters
            .iter()
            .map(|counter| (counter.kind, counter.key))
            .collect();
        store.decrement_many(&pairs, now).await?;
        return Ok(Reservation::Refused(locked));
    }
    let network = network_key
        .zip(network_counted)
        .map(|(key, counted)| Reserved {
            limit: *network,
            key,
            count: counted.count,
        });
    Ok(Reservation::Reserved(Attempt {
        step: Reserved {
            limit: *limit,
            key: key.to_owned(),
            count: step.count,
        },
        network,
    }))
}

/// What counting a failed attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    /// The step's own count, and whether it locked the step.
    pub step: FailureRecorded,
    /// The network's (its key and count), when the caller's address is known.
    pub network: Option<(String, FailureRecorded)>,
}

impl Failed {
    /// The end of the network's lock, when this failure set one.
    pub fn network_locked_until(&self) -> Option<DateTime<Utc>> {
        self.network
            .as_ref()
            .and_then(|(_, recorded)| recorded.locked_until)
    }

    /// The locks this failure set: the step's (named `step`) and the network's.
    pub fn lockouts(&self, step: Lockout) -> Vec<Lockout> {
        let mut lockouts = Vec::new();
        if self.step.locked_until.is_some() {
            lockouts.push(step);
        }
        if self.network_locked_until().is_some() {
            lockouts.push(Lockout::Network);
        }
        lockouts
    }
}

impl Attempt {
    /// The counters this attempt holds a place in.
    fn pairs(&self) -> Vec<(&str, &str)> {
        std::iter::once(&self.step)
            .chain(&self.network)
            .map(|reserved| (reserved.limit.kind, reserved.key.as_str()))
            .collect()
    }

    /// The attempt was checked and failed: it stays counted against both limits, and the
    /// one that reached a limit locks it from `now`.
    pub async fn failed(
        self,
        store: &dyn ExpiringStore,
        now: DateTime<Utc>,
    ) -> Result<Failed, StoreError> {
        let Self { step, network } = self;
        let step = step.limit.failed(store, &step.key, step.count, now).await?;
        let network = match network {
            Some(reserved) => {
                let limit = reserved.limit;
                let recorded = limit
                    .failed(store, &reserved.key, reserved.count, now)
                    .await?;
                Some((reserved.key, recorded))
            }
            None => None,
        };
        Ok(Failed { step, network })
    }

    /// The attempt succeeded: it gives its places back, and the step's earlier failures
    /// are forgotten ("in a row"). The network's are not: successes never clear what a
    /// network did.
    pub async fn succeeded(
        self,
        store: &dyn ExpiringStore,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if self.step.count == 1 {
            return self.not_counted(store, now).await;
        }
        self.step.limit.clear(store, &self.step.key).await?;
        if let Some(network) = &self.network {
            let pairs = [(network.limit.kind, network.key.as_str())];
            store.decrement_many(&pairs, now).await?;
        }
        Ok(())
    }

    /// The attempt does not count as a failure (a right password of a disabled account):
    /// it gives its places back and changes nothing else.
    pub async fn not_counted(
        self,
        store: &dyn ExpiringStore,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        store.decrement_many(&self.pairs(), now).await
    }
}

/// The expiring-store key of a user's MFA failures.
pub fn mfa_failure_key(user_id: Uuid) -> String {
    user_id.to_string()
}

/// The expiring-store key of password failures for an address: the SHA-256 (hex) of the
/// normalised email, so that unknown addresses are counted and locked exactly like
/// known ones (no enumeration through the lock) and no address is stored in clear.
pub fn password_failure_key(email: &Email) -> String {
    hex::encode(Sha256::digest(email.as_str().as_bytes()))
}

/// The expiring-store key of failed sign-ins from a client address: an IPv4 address as
/// itself, an IPv6 address as its /64 network (`2001:db8:1:2::/64`). One IPv6 subscriber
/// usually holds a whole /64 and can pick any address in it, so counting single IPv6
/// addresses would let one client spread its failures over 2^64 counters. An IPv4 address
/// mapped into IPv6 (`::ffff:192.0.2.1`) counts as the IPv4 address.
pub fn client_ip_failure_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let network = Ipv6Addr::from(u128::from(v6) & !(u128::MAX >> 64));
            format!("{network}/64")
        }
    }
}

/// A growing pause before answering a wrong password: none for the first
/// `after_failures - 1` failures, then 1 s, 2 s, 4 s, ... up to `max` (by default 1 s
/// after the 3rd failure, then doubling, at most 8 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgressiveDelay {
    /// The failure count at which the delay starts (at 1 second).
    pub after_failures: u64,
    /// The longest delay.
    pub max: std::time::Duration,
}

impl ProgressiveDelay {
    /// The delay after `failures` failures in the window (pure):
    /// `min(2^(failures - after_failures), max)` seconds once `failures >= after_failures`.
    pub fn delay(&self, failures: u64) -> std::time::Duration {
        let Some(doublings) = failures.checked_sub(self.after_failures.max(1)) else {
            return std::time::Duration::ZERO;
        };
        let seconds = 1u64.checked_shl(u32::try_from(doublings).unwrap_or(u32::MAX));
        seconds
            .map_or(self.max, std::time::Duration::from_secs)
            .min(self.max)
    }
}

impl Default for ProgressiveDelay {
    fn default() -> Self {
        Self {
            after_failures: 3,
            max: std::time::Duration::from_secs(8),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryStore;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    const ADA: Uuid = Uuid::from_u128(1);
    const BOB: Uuid = Uuid::from_u128(2);

    fn mfa_limit() -> FailureLimit {
        FailureLimit::mfa(5, Duration::minutes(15), Duration::minutes(15))
    }

    fn ip_limit(max_failures: u64) -> FailureLimit {
        FailureLimit::client_ip(max_failures, Duration::minutes(15), Duration::minutes(15))
    }

    fn client() -> Option<IpAddr> {
        "192.0.2.7".parse().ok()
    }

    /// Reserves an attempt at Ada's code step from [`client`].
    async fn attempt(
        store: &MemoryStore,
        network: &FailureLimit,
        now: DateTime<Utc>,
    ) -> Reservation {
        let key = mfa_failure_key(ADA);
        reserve(store, network, client(), (&mfa_limit(), &key), now)
            .await
            .unwrap()
    }

    fn reserved(reservation: Reservation) -> Attempt {
        match reservation {
            Reservation::Reserved(attempt) => attempt,
            Reservation::Refused(locked) => panic!("refused: {locked:?}"),
        }
    }

    #[tokio::test]
    async fn five_wrong_codes_in_a_row_lock_the_mfa_step_for_fifteen_minutes() {
        let store = MemoryStore::default();
        let limit = mfa_limit();
        let key = mfa_failure_key(ADA);
        let now = at(1_000_000);
        for failure in 1..=4 {
            let recorded = limit.record_failure(&store, &key, now).await.unwrap();
            assert_eq!(
                recorded,
                FailureRecorded {
                    failures: failure,
                    locked_until: None
                }
            );
            assert_eq!(
                limit.state(&store, &key, now).await.unwrap(),
                LockState::Open
            );
        }
        let later = now + Duration::minutes(10);
        let recorded = limit.record_failure(&store, &key, later).await.unwrap();
        let until = later + Duration::minutes(15);
        assert_eq!(
            recorded.locked_until,
            Some(until),
            "from the failure that locked"
        );
        assert_eq!(
            limit
                .state(&store, &key, until - Duration::seconds(1))
                .await
                .unwrap(),
            LockState::Locked { until },
            "past the window of the first failure"
        );
        assert_eq!(
            limit.standing(&store, &key, until).await.unwrap(),
            Standing::default(),
            "counting starts afresh after the lock"
        );
        // Another person is not affected.
        assert_eq!(
            limit
                .state(&store, &mfa_failure_key(BOB), now)
                .await
                .unwrap(),
            LockState::Open
        );
    }

    #[tokio::test]
    async fn the_standing_says_what_state_and_failures_say() {
        let store = MemoryStore::default();
        let limit = mfa_limit();
        let key = mfa_failure_key(ADA);
        let now = at(1_000_000);
        assert_eq!(
            limit.standing(&store, &key, now).await.unwrap(),
            Standing::default()
        );
        for _ in 0..3 {
            limit.record_failure(&store, &key, now).await.unwrap();
        }
        assert_eq!(
            limit.standing(&store, &key, now).await.unwrap(),
            Standing {
                lock: LockState::Open,
                failures: 3
            }
        );
        assert_eq!(limit.failures(&store, &key, now).await.unwrap(), 3);
        for _ in 0..3 {
            limit.record_failure(&store, &key, now).await.unwrap();
        }
        let until = now + Duration::minutes(15);
        assert_eq!(
            limit.standing(&store, &key, now).await.unwrap(),
            Standing {
                lock: LockState::Locked { until },
                failures: 5
            },
            "never more failures than the limit"
        );
        limit.clear(&store, &key).await.unwrap();
        assert_eq!(
            limit.standing(&store, &key, now).await.unwrap(),
            Standing::default()
        );
    }

    #[tokio::test]
    async fn of_fifty_concurrent_attempts_only_as_many_as_the_limit_are_checked() {
        let store = std::sync::Arc::new(MemoryStore::default());
        let network = ip_limit(100);
        let now = at(1_000_000);
        let attempts: Vec<_> = (0..50)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { attempt(&store, &network, now).await })
            })
            .collect();
        let mut checked = Vec::new();
        for attempt in attempts {
            if let Reservation::Reserved(attempt) = attempt.await.unwrap() {
                checked.push(attempt);
            }
        }
        assert_eq!(checked.len(), 5);
        let mut locks = 0;
        for attempt in checked {
            let failed = attempt.failed(store.as_ref(), now).await.unwrap();
            locks += failed.lockouts(Lockout::SecondFactor).len();
        }
        assert_eq!(locks, 1, "one failure set the lock");
        let key = mfa_failure_key(ADA);
        assert_eq!(
            mfa_limit()
                .standing(store.as_ref(), &key, now)
                .await
                .unwrap(),
            Standing {
                lock: LockState::Locked {
                    until: now + Duration::minutes(15)
                },
                failures: 5
            }
        );
        let network_key = client_ip_failure_key(client().unwrap());
        assert_eq!(
            network
                .failures(store.as_ref(), &network_key, now)
                .await
                .unwrap(),
            5,
            "the 45 refused attempts count nowhere"
        );
    }

    #[tokio::test]
    async fn a_locked_network_refuses_first_and_the_step_counts_nothing() {
        let store = MemoryStore::default();
        let network = ip_limit(2);
        let now = at(1_000_000);
        for _ in 0..2 {
            let attempt = reserved(attempt(&store, &network, now).await);
            attempt.failed(&store, now).await.unwrap();
        }
        let until = now + Duration::minutes(15);
        assert_eq!(
            attempt(&store, &network, now).await,
            Reservation::Refused(Locked::Network { until })
        );
        let key = mfa_failure_key(ADA);
        assert_eq!(mfa_limit().failures(&store, &key, now).await.unwrap(), 2);
        // Another person's step from the same network is refused too.
        let other = mfa_failure_key(BOB);
        let refused = reserve(&store, &network, client(), (&mfa_limit(), &other), now)
            .await
            .unwrap();
        assert_eq!(refused, Reservation::Refused(Locked::Network { until }));
        assert_eq!(mfa_limit().failures(&store, &other, now).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_success_gives_its_places_back_and_resets_the_step_only() {
        let store = MemoryStore::default();
        let network = ip_limit(100);
        let now = at(1_000_000);
        let key = mfa_failure_key(ADA);
        let network_key = client_ip_failure_key(client().unwrap());
        for _ in 0..4 {
            let attempt = reserved(attempt(&store, &network, now).await);
            attempt.failed(&store, now).await.unwrap();
        }
        let right = reserved(attempt(&store, &network, now).await);
        right.succeeded(&store, now).await.unwrap();
        assert_eq!(mfa_limit().failures(&store, &key, now).await.unwrap(), 0);
        assert_eq!(
            network.failures(&store, &network_key, now).await.unwrap(),
            4,
            "the network keeps its failures, and the success is not one"
        );
        // The first attempt of a window gives its place back the same way.
        let right = reserved(attempt(&store, &network, now).await);
        right.succeeded(&store, now).await.unwrap();
        assert_eq!(mfa_limit().failures(&store, &key, now).await.unwrap(), 0);
        assert_eq!(
            network.failures(&store, &network_key, now).await.unwrap(),
            4
        );
        // An attempt that does not count changes nothing.
        let attempt = reserved(attempt(&store, &network, now).await);
        attempt.not_counted(&store, now).await.unwrap();
        assert_eq!(
            network.failures(&store, &network_key, now).await.unwrap(),
            4
        );
    }

    #[tokio::test]
    async fn the_attempt_that_reaches_the_limit_and_succeeds_locks_nothing() {
        let store = MemoryStore::default();
        let network = ip_limit(100);
        let now = at(1_000_000);
        for _ in 0..4 {
            let attempt = reserved(attempt(&store, &network, now).await);
            attempt.failed(&store, now).await.unwrap();
        }
        let last = reserved(attempt(&store, &network, now).await);
        // While it is checked, the step takes no other attempt.
        assert!(matches!(
            attempt(&store, &network, now).await,
            Reservation::Refused(Locked::Step { .. })
        ));
        last.succeeded(&store, now).await.unwrap();
        let again = reserved(attempt(&store, &network, now).await);
        again.not_counted(&store, now).await.unwrap();
    }

    #[tokio::test]
    async fn failures_outside_the_window_are_forgotten() {
        let store = MemoryStore::default();
        let limit = mfa_limit();
        let key = mfa_failure_key(ADA);
        for _ in 0..4 {
            limit.record_failure(&store, &key, at(0)).await.unwrap();
        }
        let later = at(0) + Duration::minutes(15);
        assert_eq!(limit.failures(&store, &key, later).await.unwrap(), 0);
        let recorded = limit.record_failure(&store, &key, later).await.unwrap();
        assert_eq!(recorded.failures, 1);
    }

    #[tokio::test]
    async fn without_an_address_only_the_step_counts() {
        let store = MemoryStore::default();
        let network = ip_limit(1);
        let key = mfa_failure_key(ADA);
        let now = at(1_000_000);
        for _ in 0..2 {
            let attempt = reserve(&store, &network, None, (&mfa_limit(), &key), now)
                .await
                .unwrap();
            let failed = reserved(attempt).failed(&store, now).await.unwrap();
            assert_eq!(failed.network, None);
        }
        assert_eq!(mfa_limit().failures(&store, &key, now).await.unwrap(), 2);
    }

    #[test]
    fn the_password_limit_locks_at_ten() {
        let limit = FailureLimit::passwords(10, Duration::minutes(15), Duration::minutes(15));
        assert!(!limit.locks_at(9));
        assert!(limit.locks_at(10));
        assert!(limit.locks_at(11));
    }

    #[test]
    fn the_password_delay_doubles_after_three_failures_up_to_eight_seconds() {
        let delay = ProgressiveDelay::default();
        let seconds: Vec<u64> = (0..=8)
            .map(|failures| delay.delay(failures).as_secs())
            .collect();
        assert_eq!(seconds, [0, 0, 0, 1, 2, 4, 8, 8, 8]);
        assert_eq!(delay.delay(u64::MAX), std::time::Duration::from_secs(8));
    }

    #[test]
    fn password_failures_are_keyed_by_a_digest_of_the_address() {
        let key = password_failure_key(&Email::parse("Ada@Example.org").unwrap());
        assert_eq!(
            key,
            password_failure_key(&Email::parse("ada@example.org").unwrap())
        );
        assert!(!key.contains("ada"));
        assert_eq!(key.len(), 64);
    }

    #[test]
    fn client_ip_failures_are_keyed_by_the_ipv4_address_or_the_ipv6_slash_64() {
        let key = |text: &str| client_ip_failure_key(text.parse().unwrap());
        assert_eq!(key("192.0.2.7"), "192.0.2.7");
        assert_eq!(key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
    }

    #[tokio::test]
    async fn the_client_ip_limit_has_its_own_counters() {
        let store = MemoryStore::default();
        let ip_limit = ip_limit(2);
        let key = client_ip_failure_key("192.0.2.7".parse().unwrap());
        let now = at(1_000_000);
        ip_limit.record_failure(&store, &key, now).await.unwrap();
        let recorded = ip_limit.record_failure(&store, &key, now).await.unwrap();
        assert_eq!(recorded.locked_until, Some(now + Duration::minutes(15)));
        assert_eq!(
            mfa_limit().state(&store, &key, now).await.unwrap(),
            LockState::Open,
            "another limit with the same key is not locked"
        );
    }
}
