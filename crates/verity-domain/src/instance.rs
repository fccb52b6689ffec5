//! The instance: created once, on first start, with its default organization.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::aggregate::{Aggregate, Context};
use crate::event::domain_events;

/// The one stream of the instance.
pub const STREAM: &str = "instance";

/// Stored type name of [`InstanceInitialized`].
pub const INSTANCE_INITIALIZED: &str = "instance.initialized";

/// What can be asked of the instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceCommand {
    /// First start.
    Initialize {
        /// A fresh id for the instance.
        instance_id: Uuid,
        /// The instance's display name (the issuer shown in authenticator apps).
        name: String,
        /// The id the default organization is created with.
        default_org_id: Uuid,
    },
}

/// What the instance records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InstanceEvent {
    /// `instance.initialized`
    Initialized(InstanceInitialized),
}

/// Payload of `instance.initialized`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceInitialized {
    /// The instance's id.
    pub instance_id: Uuid,
    /// Its display name.
    pub name: String,
    /// Its default organization.
    pub default_org_id: Uuid,
}

domain_events! {
    InstanceEvent {
        Initialized(InstanceInitialized) => INSTANCE_INITIALIZED,
    }
}

/// Why an instance command is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstanceError {
    /// Initialised before (by this node or another).
    #[error("the instance is already initialised")]
    AlreadyInitialized,
}

/// The instance as its rules see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Instance {
    /// Present once initialised.
    pub initialized: Option<InstanceInitialized>,
}

impl Aggregate for Instance {
    type Command = InstanceCommand;
    type Event = InstanceEvent;
    type Error = InstanceError;

    fn decide(
        &self,
        command: &Self::Command,
        _context: &Context,
    ) -> Result<Vec<Self::Event>, Self::Error> {
        match command {
            InstanceCommand::Initialize {
                instance_id,
                name,
                default_org_id,
            } => {
                if self.initialized.is_some() {
                    return Err(InstanceError::AlreadyInitialized);
                }
                Ok(vec![InstanceEvent::Initialized(InstanceInitialized {
                    instance_id: *instance_id,
                    name: name.clone(),
                    default_org_id: *default_org_id,
                })])
            }
        }
    }

    fn evolve(self, event: &Self::Event) -> Self {
        match event {
            InstanceEvent::Initialized(initialized) => Self {
                initialized: Some(initialized.clone()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::scenario::Scenario;

    fn initialize() -> InstanceCommand {
        InstanceCommand::Initialize {
            instance_id: Uuid::nil(),
            name: "Verity".into(),
            default_org_id: Uuid::max(),
        }
    }

    fn initialized() -> InstanceEvent {
        InstanceEvent::Initialized(InstanceInitialized {
            instance_id: Uuid::nil(),
            name: "Verity".into(),
            default_org_id: Uuid::max(),
        })
    }

    #[test]
    fn the_instance_is_initialised_once() {
        Scenario::<Instance>::given([])
            .when(initialize())
            .then([initialized()]);
        Scenario::<Instance>::given([initialized()])
            .when(initialize())
            .then_err(InstanceError::AlreadyInitialized);
    }
}
