//! The limit on failed sign-ins from one client address (`[sign_in]`, docs/sign-in.md),
//! like Auth0's suspicious-IP throttling: wrong passwords, unknown addresses and wrong
//! codes from one address are counted across nodes ([`FailureLimit`] in the expiring
//! store); past the limit, every sign-in attempt from it is refused with 429 before any
//! password is hashed or code checked. A success never resets the count (one valid
//! account must not clear what its network did), and successes are never counted, so
//! many people behind one NAT sign in undisturbed. An unknown address is not counted.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Utc};
use verity_oidc::limits::{FailureLimit, FailureRecorded, Standing, client_ip_failure_key};

use crate::client_ip::Caller;
use crate::metrics::Lockout;
use crate::{AppState, HttpError};

/// What a sign-in step checks before it acts, read in one round trip to the store.
pub(crate) struct Checks {
    /// When sign-in from the caller's network is allowed again, if it is locked now.
    pub(crate) network_locked_until: Option<DateTime<Utc>>,
    /// Where the step's own limit stands (open with no failures when it has none).
    pub(crate) step: Standing,
}

/// Reads the lock of the caller's network and, when given, the step's own limit for a key
/// (the password failures of an address, the code failures of a person): one
/// [`ExpiringStore::get_many`](verity_domain::ExpiringStore::get_many) instead of a read each.
pub(crate) async fn checks(
    state: &AppState,
    caller: &Caller,
    step: Option<(&FailureLimit, &str)>,
    now: DateTime<Utc>,
) -> Result<Checks, HttpError> {
    let network = &state.settings.ip_limit;
    let network_key = caller.ip.map(client_ip_failure_key);
    let mut keys = Vec::with_capacity(3);
    if let Some((limit, key)) = step {
        keys.extend(limit.entries(key));
    }
    if let Some(network_key) = &network_key {
        let [lock, _failures] = network.entries(network_key);
        keys.push(lock);
    }
    let entries = state.expiring.get_many(&keys, now).await?;
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
pub(crate) struct Failed {
    /// The step's own count, and whether it locked the step.
    pub(crate) step: FailureRecorded,
    /// The end of the network's lock, when this failure set one.
    pub(crate) network_locked_until: Option<DateTime<Utc>>,
}

/// Counts a failed step twice: against the step's own limit for `key` (the password
/// failures of an address, the code failures of a person; `lockout` names it in the
/// metrics) and against the caller's network.
pub(crate) async fn record_failures(
    state: &AppState,
    caller: &Caller,
    (limit, key, lockout): (&FailureLimit, &str, Lockout),
    now: DateTime<Utc>,
) -> Result<Failed, HttpError> {
    let step = limit
        .record_failure(state.expiring.as_ref(), key, now)
        .await?;
    if step.locked_until.is_some() {
        state.metrics.lockout(lockout);
    }
    Ok(Failed {
        step,
        network_locked_until: record_network_failure(state, caller, now).await?,
    })
}

/// Counts a failed sign-in from the caller's address; returns the end of the lock when
/// this failure set one.
async fn record_network_failure(
    state: &AppState,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, HttpError> {
    let Some(ip) = caller.ip else {
        return Ok(None);
    };
    let recorded = state
        .settings
        .ip_limit
        .record_failure(state.expiring.as_ref(), &client_ip_failure_key(ip), now)
        .await?;
    if recorded.locked_until.is_some() {
        state.metrics.lockout(Lockout::Network);
    }
    Ok(recorded.locked_until)
}

/// Makes `page` (the step's form with the refusal message) a 429 with `Retry-After`.
pub(crate) fn refused(mut page: Response, until: DateTime<Utc>, now: DateTime<Utc>) -> Response {
    *page.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    page.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(retry_after(until, now)),
    );
    page
}

/// Whole seconds until `until`, rounded up, at least 1.
fn retry_after(until: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    let milliseconds = (until - now).num_milliseconds();
    milliseconds
        .div_euclid(1000)
        .saturating_add(i64::from(milliseconds.rem_euclid(1000) > 0))
        .max(1)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        assert_eq!(retry_after(now + Duration::minutes(15), now), 900);
        assert_eq!(retry_after(now + Duration::milliseconds(1500), now), 2);
        assert_eq!(retry_after(now, now), 1);
        assert_eq!(retry_after(now - Duration::seconds(5), now), 1);
    }
}
