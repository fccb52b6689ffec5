//! What the benchmarks that write straight to the log share: the organization their
//! people join, the password hash of people who never sign in, and the events' metadata.

use uuid::Uuid;
use verity_projection::{OrganizationView, ReadModels};

/// Finds an organization by id or (case-insensitive) name, for the sign-in benchmark's
/// people (which the benchmark writes straight to the log).
pub(super) fn find_org(models: &ReadModels, org: &str) -> anyhow::Result<OrganizationView> {
    let found = match Uuid::parse_str(org) {
        Ok(id) => models.organizations.get(id),
        Err(_) => models.organizations.find_by_name(org),
    };
    found
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no organization {org:?} (see `verity org list`)"))
}

/// An Argon2id PHC string nobody signs in with: the password of generated people who
/// never sign in.
pub(super) const BENCH_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$YmVuY2hzYWx0$YmVuY2hoYXNoYmVuY2hoYXNo";

/// The metadata of the events the benchmarks append: the system as actor, now.
pub(super) fn metadata() -> verity_domain::EventMetadata {
    verity_domain::EventMetadata {
        actor: verity_domain::Actor::System,
        request_id: None,
        client_ip: None,
        occurred_at: crate::app::now(),
    }
}
