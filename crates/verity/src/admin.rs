//! The admin layer as the binary wires it: over the configured store, sending email as
//! configured, with the operator at the command line as its actor.

use std::sync::Arc;

use verity_admin::{Actor, Admin, Call, Ports};

use crate::app::{App, now, os_user};
use crate::mail::ConfiguredMailer;

impl App {
    /// The admin layer over this store, sending email as configured.
    pub fn admin(&self) -> Admin {
        let ports = Ports {
            store: self.store.clone(),
            log: self.raw.clone(),
            expiring: self.store.clone(),
            projector: self.projector.clone(),
            mailer: Arc::new(ConfiguredMailer::new(self.config.clone())),
            hashing: self.hashing.clone(),
        };
        Admin::new(ports, self.config.admin_settings())
    }
}

/// The operator at the command line, as the admin layer sees them: an instance admin,
/// named by their operating-system user.
pub fn operator() -> Actor {
    Actor::operator(os_user())
}

/// One command-line call, at the time it is given.
pub fn cli_call() -> Call {
    Call::at(now())
}
