//! Where login transactions wait between `/authorize` and the last sign-in step: a
//! bounded set of slots in the expiring store, so a flood of authorization requests
//! cannot grow the store without end (docs/sign-in.md, "Pending sign-ins").
//!
//! The slots form rings: `buckets` rings of `ring` slots each, with `buckets × ring` at
//! most `[sign_in] max_pending_logins` and `ring` at most `max_pending_logins_per_address`.
//! A client address (an IPv6 address as its /64) always lands in the same ring, chosen by
//! a salted hash that nobody outside this process can predict (so nobody can aim at
//! another person's ring). Opening a transaction counts one more in its ring's counter
//! (one `increment`, the only statement this adds to `/authorize`) and writes the
//! transaction into the slot that number names, over the oldest one there: beyond the
//! bound the oldest are dropped, and their next step says that the sign-in expired.
//!
//! A transaction's id (`tx`) names its slot and carries a secret whose SHA-256 is stored
//! with it: `<ring>.<slot>.<secret>`. Reading, saving and taking a transaction address
//! the slot directly and check the secret, so an id whose slot was reused since finds
//! nothing.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use verity_domain::{ExpiringStore, StoreError};

use crate::limits::client_ip_failure_key;
use crate::protocol::tokens::token_digest;
use crate::random;
use crate::state::kind::{LOGIN as SLOT, LOGIN_RING as RING_COUNTER};

/// How long a ring's counter lives once started: long enough that it practically never
/// restarts (a restart may drop the few transactions it overtakes).
const COUNTER_WINDOW_DAYS: i64 = 366;
/// Length of the stored digest of a transaction's secret (SHA-256, hex).
const DIGEST_LEN: usize = 64;

/// Default of `[sign_in] max_pending_logins_per_address`.
pub const DEFAULT_PER_ADDRESS: u32 = 100;
/// Default of `[sign_in] max_pending_logins`.
pub const DEFAULT_TOTAL: u32 = 100_000;

/// How many sign-ins may wait at once: per client address and in all (`[sign_in]
/// max_pending_logins_per_address`, `max_pending_logins`).
#[derive(Clone)]
pub struct PendingLogins {
    ring: u32,
    buckets: u32,
    salt: [u8; 32],
}

impl std::fmt::Debug for PendingLogins {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PendingLogins")
            .field("per_address", &self.ring)
            .field("total", &self.total())
            .finish_non_exhaustive()
    }
}

impl Default for PendingLogins {
    fn default() -> Self {
        Self::new(DEFAULT_PER_ADDRESS, DEFAULT_TOTAL)
    }
}

impl PendingLogins {
    /// At most `per_address` waiting transactions per client address and `total` in all
    /// (each at least 1). `total` is rounded down to a multiple of the per-address bound
    /// (when it is smaller, the per-address bound is `total`).
    pub fn new(per_address: u32, total: u32) -> Self {
        let total = total.max(1);
        let ring = per_address.clamp(1, total);
        let mut salt = [0u8; 32];
        random::crypto_rng().fill_bytes(&mut salt);
        Self {
            ring,
            buckets: total / ring,
            salt,
        }
    }

    /// The bound per client address.
    pub fn per_address(&self) -> u32 {
        self.ring
    }

    /// The bound on all waiting transactions.
    pub fn total(&self) -> u32 {
        self.ring.saturating_mul(self.buckets)
    }

    /// The ring of a client address (`None`: unknown, one ring for all of them).
    fn bucket(&self, ip: Option<IpAddr>) -> u32 {
        let address = ip.map_or_else(|| "unknown".to_owned(), client_ip_failure_key);
        let digest = Sha256::new()
            .chain_update(self.salt)
            .chain_update(address.as_bytes())
            .finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(digest.get(..8).unwrap_or(&[0; 8]));
        let buckets = u64::from(self.buckets.max(1));
        u32::try_from(u64::from_le_bytes(first) % buckets).unwrap_or(0)
    }

    /// Stores `value`, a new transaction from `ip`, until `expires_at`, over the oldest
    /// of its ring when the ring is full; returns its id.
    pub(crate) async fn open(
        &self,
        store: &dyn ExpiringStore,
        ip: Option<IpAddr>,
        value: &[u8],
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let bucket = self.bucket(ip);
        let window = now + Duration::days(COUNTER_WINDOW_DAYS);
        let opened = store
            .increment(RING_COUNTER, &bucket.to_string(), window, now)
            .await?;
        let slot = opened.saturating_sub(1) % u64::from(self.ring.max(1));
        let id = SlotId {
            key: format!("{bucket}.{slot}"),
            secret: random::token(),
        };
        store
            .put(SLOT, &id.key, &id.stored(value), expires_at)
            .await?;
        Ok(id.to_tx())
    }
}

/// Where a transaction is and the secret that proves its id.
struct SlotId {
    /// `<ring>.<slot>`: the key of its slot.
    key: String,
    /// The secret part of the id.
    secret: String,
}

impl SlotId {
    /// The id as the forms carry it.
    fn to_tx(&self) -> String {
        format!("{}.{}", self.key, self.secret)
    }

    /// An id as a form sent it, if it has the shape of one.
    fn parse(tx: &str) -> Option<Self> {
        let mut parts = tx.splitn(3, '.');
        let (ring, slot, secret) = (parts.next()?, parts.next()?, parts.next()?);
        ring.parse::<u32>().ok()?;
        slot.parse::<u64>().ok()?;
        (!secret.is_empty()).then(|| Self {
            key: format!("{ring}.{slot}"),
            secret: secret.to_owned(),
        })
    }

    /// What the slot holds: the digest of the secret, then the transaction.
    fn stored(&self, value: &[u8]) -> Vec<u8> {
        let mut stored = token_digest(&self.secret).into_bytes();
        stored.extend_from_slice(value);
        stored
    }

    /// The transaction in `stored`, if the slot still holds this id's.
    fn open(&self, stored: &[u8]) -> Option<Vec<u8>> {
        let (digest, value) = stored.split_at_checked(DIGEST_LEN)?;
        let expected = token_digest(&self.secret);
        bool::from(digest.ct_eq(expected.as_bytes())).then(|| value.to_vec())
    }
}

/// Whether `tx`, as a form sent it, has the shape of a transaction's id
/// (`<ring>.<slot>.<secret>`); reading, saving and taking a transaction parse it the same
/// way, and find nothing for an id without it.
pub fn is_transaction_id(tx: &str) -> bool {
    SlotId::parse(tx).is_some()
}

/// The transaction `tx`, if it is still waiting.
pub(crate) async fn get(
    store: &dyn ExpiringStore,
    tx: &str,
    now: DateTime<Utc>,
) -> Result<Option<Vec<u8>>, StoreError> {
    let Some(id) = SlotId::parse(tx) else {
        return Ok(None);
    };
    let stored = store.get(SLOT, &id.key, now).await?;
    Ok(stored.and_then(|stored| id.open(&stored)))
}

/// Replaces the transaction `tx` holding `current` with `value` until `expires_at`, if
/// nothing changed it since it was read (a compare-and-set): false when something did,
/// or its slot holds another transaction by now.
pub(crate) async fn replace(
    store: &dyn ExpiringStore,
    tx: &str,
    current: &[u8],
    value: &[u8],
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Some(id) = SlotId::parse(tx) else {
        return Ok(false);
    };
    store
        .replace(
            SLOT,
            &id.key,
            &id.stored(current),
            &id.stored(value),
            expires_at,
            now,
        )
        .await
}

/// Takes the transaction `tx` out of its slot: true for the one caller that takes it,
/// false when it was gone. Should its slot hold another transaction by now, that one is
/// put back (until `restore_until`).
pub(crate) async fn take(
    store: &dyn ExpiringStore,
    tx: &str,
    now: DateTime<Utc>,
    restore_until: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Some(id) = SlotId::parse(tx) else {
        return Ok(false);
    };
    let Some(stored) = store.take(SLOT, &id.key, now).await? else {
        return Ok(false);
    };
    if id.open(&stored).is_some() {
        return Ok(true);
    }
    store
        .put_new(SLOT, &id.key, &stored, restore_until, now)
        .await?;
    Ok(false)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::testing::MemoryStore;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap()
    }

    fn address(n: u32) -> Option<IpAddr> {
        Some(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n)))
    }

    /// How many transactions the store holds.
    fn waiting(store: &MemoryStore) -> usize {
        store.entries_of(SLOT)
    }

    async fn open(
        limits: &PendingLogins,
        store: &MemoryStore,
        ip: Option<IpAddr>,
        value: &str,
    ) -> String {
        limits
            .open(store, ip, value.as_bytes(), at(600), at(0))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_transaction_is_read_replaced_and_taken_once_by_its_id_only() {
        let limits = PendingLogins::new(5, 100);
        let store = MemoryStore::default();
        let tx = open(&limits, &store, address(1), "first").await;
        assert_eq!(
            get(&store, &tx, at(1)).await.unwrap(),
            Some(b"first".to_vec())
        );
        assert!(
            !replace(&store, &tx, b"other", b"second", at(600), at(1))
                .await
                .unwrap(),
            "only over what was read"
        );
        assert!(
            replace(&store, &tx, b"first", b"second", at(600), at(1))
                .await
                .unwrap()
        );
        assert_eq!(
            get(&store, &tx, at(2)).await.unwrap(),
            Some(b"second".to_vec())
        );
        let (slot, _) = tx.rsplit_once('.').unwrap();
        for forged in [
            format!("{slot}.not-the-secret"),
            format!("{slot}."),
            "garbage".to_owned(),
            "1.x.secret".to_owned(),
        ] {
            assert_eq!(get(&store, &forged, at(3)).await.unwrap(), None, "{forged}");
            assert!(!take(&store, &forged, at(3), at(600)).await.unwrap());
        }
        assert!(take(&store, &tx, at(4), at(600)).await.unwrap());
        assert!(!take(&store, &tx, at(5), at(600)).await.unwrap());
        assert_eq!(get(&store, &tx, at(6)).await.unwrap(), None);
    }

    #[tokio::test]
    async fn one_address_keeps_at_most_its_bound_and_the_oldest_are_dropped() {
        let limits = PendingLogins::new(3, 300);
        let store = MemoryStore::default();
        let mut ids = Vec::new();
        for n in 0..10 {
            ids.push(open(&limits, &store, address(7), &format!("tx{n}")).await);
        }
        assert!(waiting(&store) <= 3);
        for (n, tx) in ids.iter().enumerate() {
            let found = get(&store, tx, at(1)).await.unwrap();
            if n < 7 {
                assert_eq!(found, None, "tx{n} was dropped");
            } else {
                assert_eq!(found, Some(format!("tx{n}").into_bytes()), "tx{n} waits");
            }
        }
        // A dropped transaction's id takes nothing from the slot's new owner.
        assert!(!take(&store, &ids[0], at(2), at(600)).await.unwrap());
        assert_eq!(
            get(&store, &ids[9], at(3)).await.unwrap(),
            Some(b"tx9".to_vec())
        );
    }

    #[tokio::test]
    async fn a_flood_from_many_addresses_stays_within_the_total() {
        let limits = PendingLogins::new(4, 40);
        assert_eq!((limits.per_address(), limits.total()), (4, 40));
        let store = MemoryStore::default();
        for n in 0..2_000 {
            open(&limits, &store, address(n), "x").await;
        }
        open(&limits, &store, None, "unknown address").await;
        assert!(waiting(&store) <= 40, "{}", waiting(&store));
        assert!(store.entries_of(RING_COUNTER) <= 10);
    }

    #[test]
    fn the_bounds_fit_each_other() {
        let small_total = PendingLogins::new(50, 20);
        assert_eq!((small_total.per_address(), small_total.total()), (20, 20));
        let rounded = PendingLogins::new(30, 100);
        assert_eq!((rounded.per_address(), rounded.total()), (30, 90));
        let zero = PendingLogins::new(0, 0);
        assert_eq!((zero.per_address(), zero.total()), (1, 1));
    }
}
