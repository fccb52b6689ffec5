//! Failure limits (docs/sign-in.md, docs/mfa.md): failures counted per account, per
//! person's code step or per client network in the expiring store, shared by every node,
//! and a lock once there are too many; [`ProgressiveDelay`] slows password guessing
//! before the lock.
//!
//! Everything here takes `now` as an argument; nothing reads the clock.

use std::net::{IpAddr, Ipv6Addr};

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use verity_domain::{Email, Entry, ExpiringStore, StoreError};

/// Kinds of entries in the expiring store that belong to the failure limits.
pub mod kind {
    /// Wrong codes in the current window (key: the user id).
    pub const MFA_FAILURES: &str = "mfa_failures";
    /// The MFA step is locked (key: the user id; value: the end, RFC 3339).
    pub const MFA_LOCK: &str = "mfa_lock";
    /// Wrong passwords in the current window (key: [`super::password_failure_key`]).
    pub const PASSWORD_FAILURES: &str = "password_failures";
    /// Password sign-in is locked (key: [`super::password_failure_key`]).
    pub const PASSWORD_LOCK: &str = "password_lock";
    /// Failed sign-ins (wrong passwords, unknown addresses, wrong codes) from one client
    /// address in the current window (key: [`super::client_ip_failure_key`]).
    pub const IP_FAILURES: &str = "ip_failures";
    /// Sign-in from one client address is locked (key: [`super::client_ip_failure_key`]).
    pub const IP_LOCK: &str = "ip_lock";
}

/// Failures counted per account or per client address across nodes (the expiring store is
/// shared), and a lock once there are too many: the MFA step after 5 wrong codes, password
/// sign-in after 10 wrong passwords, sign-in from one client address after 100 failures of
/// either kind, each within a window (15 minutes by default; `[mfa]`/`[passwords]`/
/// `[sign_in]`).
///
/// Around a check, the page calls [`FailureLimit::state`] first (locked: say so, check
/// nothing), then [`FailureLimit::record_failure`] on a failure or
/// [`FailureLimit::reset`] on success ("5 in a row"). The per-address limit is never
/// reset by a success: one valid account must not clear what its network did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureLimit {
    failures_kind: &'static str,
    lock_kind: &'static str,
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
    /// Failures counted in the current window (0 when none or the window passed).
    pub failures: u64,
}

/// What recording a failure found.
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
            failures_kind: kind::MFA_FAILURES,
            lock_kind: kind::MFA_LOCK,
            max_failures,
            window,
            lock_for,
        }
    }

    /// Password sign-in's limit (`[passwords] max_failures`, ...), keyed by
    /// [`password_failure_key`].
    pub fn passwords(max_failures: u64, window: Duration, lock_for: Duration) -> Self {
        Self {
            failures_kind: kind::PASSWORD_FAILURES,
            lock_kind: kind::PASSWORD_LOCK,
            max_failures,
            window,
            lock_for,
        }
    }

    /// The limit on failed sign-ins from one client address (`[sign_in] ip_max_failures`,
    /// ...), keyed by [`client_ip_failure_key`].
    pub fn client_ip(max_failures: u64, window: Duration, lock_for: Duration) -> Self {
        Self {
            failures_kind: kind::IP_FAILURES,
            lock_kind: kind::IP_LOCK,
            max_failures,
            window,
            lock_for,
        }
    }

    /// Whether this many failures in a window lock (pure).
    pub fn locks_at(&self, failures: u64) -> bool {
        failures >= self.max_failures.max(1)
    }

    /// Whether `key` is locked at `now`.
    pub async fn state(
        &self,
        store: &dyn ExpiringStore,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<LockState, StoreError> {
        let lock = store.get(self.lock_kind, key, now).await?;
        Ok(self.lock_state(lock.as_deref(), now))
    }

    /// The state of a lock entry's value (`None`: no live lock).
    fn lock_state(&self, lock: Option<&[u8]>, now: DateTime<Utc>) -> LockState {
        match lock {
            None => LockState::Open,
            Some(value) => LockState::Locked {
                until: std::str::from_utf8(value)
                    .ok()
                    .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
                    .map_or(now + self.lock_for, |until| until.with_timezone(&Utc)),
            },
        }
    }

    /// The two entries that say where `key` stands, for one
    /// [`ExpiringStore::get_many`] with other reads: its lock, then its failures.
    pub fn entries<'k>(&self, key: &'k str) -> [(&'static str, &'k str); 2] {
        [(self.lock_kind, key), (self.failures_kind, key)]
    }

    /// Where a key stands, from the two entries [`FailureLimit::entries`] named.
    pub fn standing(
        &self,
        lock: Option<&Entry>,
        failures: Option<&Entry>,
        now: DateTime<Utc>,
    ) -> Standing {
        Standing {
            lock: self.lock_state(lock.map(|entry| entry.value.as_slice()), now),
            failures: failures.map_or(0, |entry| entry.count),
        }
    }

    /// Failures counted so far in the current window.
    pub async fn failures(
        &self,
        store: &dyn ExpiringStore,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        store.count(self.failures_kind, key, now).await
    }

    /// Counts one failure; locks when it reaches the limit (and starts counting afresh
    /// for after the lock).
    pub async fn record_failure(
        &self,
        store: &dyn ExpiringStore,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<FailureRecorded, StoreError> {
        let failures = store
            .increment(self.failures_kind, key, now + self.window, now)
            .await?;
        if !self.locks_at(failures) {
            return Ok(FailureRecorded {
                failures,
                locked_until: None,
            });
        }
        let until = now + self.lock_for;
        store
            .put(self.lock_kind, key, until.to_rfc3339().as_bytes(), until)
            .await?;
        store.remove(self.failures_kind, key).await?;
        Ok(FailureRecorded {
            failures,
            locked_until: Some(until),
        })
    }

    /// Forgets the failures after a success. A lock stays until it ends.
    pub async fn reset(&self, store: &dyn ExpiringStore, key: &str) -> Result<(), StoreError> {
        store.remove(self.failures_kind, key).await
    }

    /// Lifts a lock and forgets the failures: an admin's unlock (`verity user unlock`).
    pub async fn clear(&self, store: &dyn ExpiringStore, key: &str) -> Result<(), StoreError> {
        store.remove(self.lock_kind, key).await?;
        store.remove(self.failures_kind, key).await
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

/// What a sign-in step checks before it acts, read in one round trip to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Checks {
    /// When sign-in from the caller's network is allowed again, if it is locked now.
    pub network_locked_until: Option<DateTime<Utc>>,
    /// Where the step's own limit stands (open with no failures when it has none).
    pub step: Standing,
}

/// Reads the lock of the caller's network (counted under `network`) and, when given, the
/// step's own limit for a key (the password failures of an address, the code failures of
/// a person): one [`ExpiringStore::get_many`] instead of a read each.
pub async fn checks(
    store: &dyn ExpiringStore,
    network: &FailureLimit,
    ip: Option<IpAddr>,
    step: Option<(&FailureLimit, &str)>,
    now: DateTime<Utc>,
) -> Result<Checks, StoreError> {
    let network_key = ip.map(client_ip_failure_key);
    let mut keys = Vec::with_capacity(3);
    if let Some((limit, key)) = step {
        keys.extend(limit.entries(key));
    }
    if let Some(network_key) = &network_key {
        let [lock, _failures] = network.entries(network_key);
        keys.push(lock);
    }
    let entries = store.get_many(&keys, now).await?;
    let entry = |index: usize| entries.get(index).and_then(Option::as_ref);
    let (step, network_lock) = match step {
        Some((limit, _)) => (limit.standing(entry(0), entry(1), now), entry(2)),
        None => (Standing::default(), entry(0)),
    };
    let network_locked_until = match network_key {
        Some(_) => network.standing(network_lock, None, now).lock.until(),
        None => None,
    };
    Ok(Checks {
        network_locked_until,
        step,
    })
}

/// What counting a failed step found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failed {
    /// The step's own count, and whether it locked the step.
    pub step: FailureRecorded,
    /// The end of the network's lock, when this failure set one.
    pub network_locked_until: Option<DateTime<Utc>>,
}

impl Failed {
    /// The locks this failure set: the step's (named `step`) and the network's.
    pub fn lockouts(&self, step: Lockout) -> Vec<Lockout> {
        let mut lockouts = Vec::new();
        if self.step.locked_until.is_some() {
            lockouts.push(step);
        }
        if self.network_locked_until.is_some() {
            lockouts.push(Lockout::Network);
        }
        lockouts
    }
}

/// Counts a failed step twice: against the step's own limit for `key` and against the
/// caller's network (not counted when the address is unknown).
pub async fn record_failures(
    store: &dyn ExpiringStore,
    network: &FailureLimit,
    ip: Option<IpAddr>,
    (limit, key): (&FailureLimit, &str),
    now: DateTime<Utc>,
) -> Result<Failed, StoreError> {
    let step = limit.record_failure(store, key, now).await?;
    let network_locked_until = match ip {
        Some(ip) => {
            network
                .record_failure(store, &client_ip_failure_key(ip), now)
                .await?
                .locked_until
        }
        None => None,
    };
    Ok(Failed {
        step,
        network_locked_until,
    })
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
        let recorded = limit.record_failure(&store, &key, now).await.unwrap();
        let until = now + Duration::minutes(15);
        assert_eq!(recorded.locked_until, Some(until));
        assert_eq!(
            limit
                .state(&store, &key, now + Duration::minutes(14))
                .await
                .unwrap(),
            LockState::Locked { until }
        );
        assert_eq!(
            limit.state(&store, &key, until).await.unwrap(),
            LockState::Open
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
    async fn the_standing_read_with_other_entries_is_what_state_and_failures_say() {
        let store = MemoryStore::default();
        let limit = mfa_limit();
        let key = mfa_failure_key(ADA);
        let now = at(1_000_000);
        let (store, limit, key) = (&store, &limit, key.as_str());
        let standing = |now| async move {
            let entries = store.get_many(&limit.entries(key), now).await.unwrap();
            limit.standing(entries[0].as_ref(), entries[1].as_ref(), now)
        };
        assert_eq!(standing(now).await, Standing::default());
        for _ in 0..3 {
            limit.record_failure(store, key, now).await.unwrap();
        }
        assert_eq!(
            standing(now).await,
            Standing {
                lock: LockState::Open,
                failures: 3
            }
        );
        for _ in 0..2 {
            limit.record_failure(store, key, now).await.unwrap();
        }
        let until = now + Duration::minutes(15);
        assert_eq!(standing(now).await.lock, LockState::Locked { until });
        assert_eq!(
            standing(now).await.lock,
            limit.state(store, key, now).await.unwrap()
        );
        assert_eq!(standing(until).await, Standing::default());
    }

    #[tokio::test]
    async fn a_success_resets_the_count() {
        let store = MemoryStore::default();
        let limit = mfa_limit();
        let key = mfa_failure_key(ADA);
        let now = at(1_000_000);
        for _ in 0..4 {
            limit.record_failure(&store, &key, now).await.unwrap();
        }
        limit.reset(&store, &key).await.unwrap();
        assert_eq!(limit.failures(&store, &key, now).await.unwrap(), 0);
        let recorded = limit.record_failure(&store, &key, now).await.unwrap();
        assert_eq!(recorded.failures, 1);
        assert_eq!(recorded.locked_until, None);
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
        let ip_limit = FailureLimit::client_ip(2, Duration::minutes(15), Duration::minutes(15));
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
