//! Lifting sign-in locks before they end (docs/sign-in.md): a person's (too many wrong
//! passwords for their address, too many wrong codes) and a client network's.
//!
//! The locks and failure counts are protocol state in the expiring store, outside the
//! log; an unlock itself is recorded first (`user.unlocked`, `network.unlocked`, naming
//! the actor), so an auditor sees who let whom try again, and a lock is never lifted
//! without its record. With nothing locked or counted, nothing is written.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use verity_domain::network::{self, NetworkEvent, NetworkUnlocked};
use verity_domain::user::{self, User, UserCommand};
use verity_domain::{AppendRequest, DomainEvent, ExpectedVersion, ExpiringStore};
use verity_oidc::limits::{
    FailureLimit, LockState, Standing, client_ip_failure_key, mfa_failure_key, password_failure_key,
};

use crate::actor::{Actor, Call, Scope};
use crate::admin::Admin;
use crate::authorization::{Permission, authorize};
use crate::error::AdminError;
use crate::people::{Person, PersonRef};

/// What unlocking a person found, and whether it lifted anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonUnlocked {
    /// The person.
    pub person: Person,
    /// Their address's password failures and lock, before the unlock.
    pub passwords: Standing,
    /// Their code step's failures and lock, before the unlock.
    pub codes: Standing,
    /// Whether anything was lifted (and recorded).
    pub unlocked: bool,
}

/// What unlocking a client network found, and whether it lifted anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkUnlock {
    /// The network as the limit counts it: an IPv4 address or an IPv6 /64.
    pub network: String,
    /// Its failures and lock, before the unlock.
    pub standing: Standing,
    /// Whether anything was lifted (and recorded).
    pub unlocked: bool,
}

/// Whether nothing is locked or counted.
fn is_clear(standing: &Standing) -> bool {
    standing.lock == LockState::Open && standing.failures == 0
}

/// Where `key` stands with `limit` at `now`.
async fn read(
    limit: &FailureLimit,
    store: &dyn ExpiringStore,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Standing, AdminError> {
    Ok(Standing {
        lock: limit.state(store, key, now).await?,
        failures: limit.failures(store, key, now).await?,
    })
}

impl Admin {
    /// Lifts a person's password lock (of their address) and code lock, and forgets the
    /// failures counted so far.
    pub async fn unlock_person(
        &self,
        actor: &Actor,
        call: &Call,
        person: &PersonRef,
    ) -> Result<PersonUnlocked, AdminError> {
        let view = self.person_to_manage(actor, person)?;
        let store = self.ports.expiring.as_ref();
        let (passwords, codes) = (&self.settings.password_limit, &self.settings.mfa_limit);
        let password_key = password_failure_key(&view.email);
        let code_key = mfa_failure_key(view.user_id);
        let password = read(passwords, store, &password_key, call.now).await?;
        let code = read(codes, store, &code_key, call.now).await?;
        let unlocked = !(is_clear(&password) && is_clear(&code));
        if unlocked {
            let outcome = self
                .decide::<User>(
                    actor,
                    call,
                    &user::stream(view.user_id),
                    &UserCommand::Unlock,
                )
                .await?;
            self.wait_for(outcome.position).await?;
            passwords.clear(store, &password_key).await?;
            codes.clear(store, &code_key).await?;
        }
        Ok(PersonUnlocked {
            person: self.person(actor, &PersonRef::Id(view.user_id))?,
            passwords: password,
            codes: code,
            unlocked,
        })
    }

    /// Lifts the per-IP sign-in lock of `address`'s network (an IPv6 address counts as its
    /// /64) and forgets its failures. Networks belong to the instance.
    pub async fn unlock_network(
        &self,
        actor: &Actor,
        call: &Call,
        address: IpAddr,
    ) -> Result<NetworkUnlock, AdminError> {
        authorize(actor, Permission::ManageNetworks, Scope::Instance)?;
        let store = self.ports.expiring.as_ref();
        let limit = &self.settings.ip_limit;
        let network = client_ip_failure_key(address);
        let standing = read(limit, store, &network, call.now).await?;
        let unlocked = !is_clear(&standing);
        if unlocked {
            let fact = NetworkEvent::Unlocked(NetworkUnlocked {
                network: network.clone(),
                locked_until: standing.lock.until(),
                failures: standing.failures,
            });
            let metadata = call.context(actor).metadata();
            let request = AppendRequest::new(
                network::stream(&network),
                ExpectedVersion::Any,
                vec![fact.to_new_event(metadata)],
            );
            self.ports.store.append(request).await?;
            limit.clear(store, &network).await?;
        }
        Ok(NetworkUnlock {
            network,
            standing,
            unlocked,
        })
    }
}
