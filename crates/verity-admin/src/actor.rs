//! Who acts, through which door, holding which roles ([`Actor`]), and what one call
//! shares ([`Call`]): the two values every admin command and query takes.

use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use uuid::Uuid;
use verity_domain::Context;
use verity_oidc::RequestContext;

pub use verity_domain::role::{Grant, Role, Scope};

/// The way in: each door translates its input into a call of the admin layer and its
/// answer back, and holds no rule of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Door {
    /// `verity ...` on the server.
    Cli,
    /// The admin console's pages.
    Console,
    /// The admin API (`/api/v1`).
    Api,
    /// SCIM 2.0 provisioning (`/scim/v2`).
    Scim,
}

impl Door {
    /// The door's name in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cli => "cli",
            Self::Console => "console",
            Self::Api => "api",
            Self::Scim => "scim",
        }
    }
}

impl fmt::Display for Door {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Who is acting, as the door authenticated them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The operator at the server's command line. Whoever can run `verity` there holds
    /// the server and its database, so the CLI acts as an instance admin.
    Operator {
        /// The operating-system user name, when known.
        os_user: Option<String>,
    },
    /// A signed-in person: the console with their session, or the API with their access
    /// token.
    Person {
        /// Their user id.
        user_id: Uuid,
        /// The SSO session they act in, when they act through one.
        sid: Option<String>,
    },
    /// A service client on the admin API (`client_credentials`).
    Client {
        /// Its client id.
        client_id: String,
    },
    /// An organization's SCIM provisioning token.
    ScimToken {
        /// The token's id (never the token itself).
        token_id: String,
    },
}

/// Who acts, through which door, holding which grants. Every command and query of the
/// admin layer takes one and is decided against it ([`crate::authorization`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Who.
    pub principal: Principal,
    /// Through which door.
    pub door: Door,
    /// What they may do, and where.
    pub grants: Vec<Grant>,
}

impl Actor {
    /// The operator at the command line: an instance admin (they hold the server).
    pub fn operator(os_user: Option<String>) -> Self {
        Self {
            principal: Principal::Operator { os_user },
            door: Door::Cli,
            grants: vec![Grant::InstanceAdmin],
        }
    }

    /// Anyone else: the door says who they are and which grants they hold.
    pub fn new(principal: Principal, door: Door, grants: Vec<Grant>) -> Self {
        Self {
            principal,
            door,
            grants,
        }
    }

    /// How the events this actor causes name them in their metadata. The operator is
    /// recorded exactly as the CLI always recorded it (`{"kind":"cli","os_user":...}`).
    pub fn recorded_as(&self) -> verity_domain::Actor {
        match &self.principal {
            Principal::Operator { os_user } => verity_domain::Actor::Cli {
                os_user: os_user.clone(),
            },
            Principal::Person { user_id, sid } => verity_domain::Actor::User {
                user_id: user_id.to_string(),
                sid: sid.clone(),
            },
            Principal::Client { client_id } => verity_domain::Actor::Client {
                client_id: client_id.clone(),
            },
            Principal::ScimToken { token_id } => verity_domain::Actor::ScimToken {
                token_id: token_id.clone(),
            },
        }
    }
}

/// What one call shares: the time it is decided at (read once, by the door), and, over
/// HTTP, the request's id and the client's address for the events' metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The time the call is decided at.
    pub now: DateTime<Utc>,
    /// The HTTP request's id, if the call came over HTTP.
    pub request_id: Option<String>,
    /// The client's IP address, if known.
    pub client_ip: Option<IpAddr>,
}

impl Call {
    /// A call at `now` with no request behind it (the command line).
    pub fn at(now: DateTime<Utc>) -> Self {
        Self {
            now,
            request_id: None,
            client_ip: None,
        }
    }

    /// The domain's context for a command `actor` gives in this call.
    pub fn context(&self, actor: &Actor) -> Context {
        self.context_recorded_as(actor.recorded_as())
    }

    /// The domain's context for a command recorded as `recorded` (Verity itself, for
    /// what no one asked for).
    pub fn context_recorded_as(&self, recorded: verity_domain::Actor) -> Context {
        Context {
            now: self.now,
            actor: recorded,
            request_id: self.request_id.clone(),
            client_ip: self.client_ip.map(|ip| ip.to_string()),
        }
    }
}

impl From<&RequestContext> for Call {
    fn from(request: &RequestContext) -> Self {
        Self {
            now: request.now,
            request_id: Some(request.request_id.clone()),
            client_ip: request.ip,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operator_is_recorded_as_the_cli_always_recorded_it() {
        let operator = Actor::operator(Some("root".into()));
        assert_eq!(operator.door, Door::Cli);
        assert_eq!(operator.grants, vec![Grant::InstanceAdmin]);
        let context = Call::at(DateTime::UNIX_EPOCH).context(&operator);
        assert_eq!(
            serde_json::to_string(&context.metadata()).unwrap(),
            r#"{"actor":{"kind":"cli","os_user":"root"},"occurred_at":"1970-01-01T00:00:00Z"}"#
        );
    }

    #[test]
    fn every_principal_is_named_in_the_events_it_causes() {
        let user_id = Uuid::nil();
        let person = Principal::Person {
            user_id,
            sid: Some("s".into()),
        };
        assert_eq!(
            Actor::new(person, Door::Console, Vec::new()).recorded_as(),
            verity_domain::Actor::User {
                user_id: user_id.to_string(),
                sid: Some("s".into()),
            }
        );
        let client = Principal::Client {
            client_id: "c".into(),
        };
        assert_eq!(
            Actor::new(client, Door::Api, Vec::new()).recorded_as(),
            verity_domain::Actor::Client {
                client_id: "c".into()
            }
        );
        let token = Principal::ScimToken {
            token_id: "t".into(),
        };
        assert_eq!(
            Actor::new(token, Door::Scim, Vec::new()).recorded_as(),
            verity_domain::Actor::ScimToken {
                token_id: "t".into()
            }
        );
    }

    #[test]
    fn a_call_over_http_carries_the_request_into_the_metadata() {
        let request = RequestContext::new(
            DateTime::UNIX_EPOCH,
            "req-7",
            "192.0.2.1".parse().ok(),
            None,
        );
        let metadata = Call::from(&request)
            .context(&Actor::operator(None))
            .metadata();
        assert_eq!(metadata.request_id.as_deref(), Some("req-7"));
        assert_eq!(metadata.client_ip.as_deref(), Some("192.0.2.1"));
    }

    #[test]
    fn the_instance_covers_every_organization_and_an_organization_only_itself() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert!(Scope::Instance.covers(Scope::Organization(a)));
        assert!(Scope::Organization(a).covers(Scope::Organization(a)));
        assert!(!Scope::Organization(a).covers(Scope::Organization(b)));
        assert!(!Scope::Organization(a).covers(Scope::Instance));
        assert_eq!(
            Grant::OrgAdmin { org_id: a }.scope(),
            Scope::Organization(a)
        );
        assert_eq!(
            Grant::Auditor {
                scope: Scope::Instance
            }
            .role(),
            Role::Auditor
        );
    }
}
