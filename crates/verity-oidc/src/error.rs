//! What goes wrong inside the engine. A person's mistake (a wrong password, a wrong code)
//! is never an error: it is an outcome the caller renders. These are failures of the
//! engine's ports or configuration — and a rule of the domain refusing a command, which
//! the doors answer as a refusal, never as a server error.

use verity_domain::{DecodeError, ExecuteError, StoreError};
use verity_projection::ProjectionError;

use crate::credentials::HashError;
use crate::keys::KeyError;
use crate::mfa::MfaError;

/// Why the engine could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A rule of the domain refused the command (a disabled account, a device already
    /// forgotten...): the person's state changed under the request.
    #[error("refused: {0}")]
    Refused(String),
    /// The event log or the expiring store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A stored event cannot be read.
    #[error("event: {0}")]
    Decode(#[from] DecodeError),
    /// The read models did not catch up or failed.
    #[error("read models: {0}")]
    Projection(#[from] ProjectionError),
    /// The signing keys failed (none active, another master key...).
    #[error("keys: {0}")]
    Keys(#[from] KeyError),
    /// Password hashing failed.
    #[error("password hashing: {0}")]
    Hashing(HashError),
    /// Too many sign-ins are waiting for their password to be checked: this one is
    /// refused at once (the doors answer 503 with `Retry-After`).
    #[error("too busy: too many passwords are waiting to be checked")]
    Overloaded,
    /// The second factor's cryptography failed (sealing a secret, the QR code...).
    #[error("second factor: {0}")]
    Mfa(#[from] MfaError),
    /// Protocol state in the expiring store cannot be encoded or decoded.
    #[error("protocol state: {0}")]
    State(String),
}

impl From<HashError> for EngineError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Busy => Self::Overloaded,
            failed @ HashError::Failed(_) => Self::Hashing(failed),
        }
    }
}

impl<E: std::error::Error + 'static> From<ExecuteError<E>> for EngineError {
    fn from(error: ExecuteError<E>) -> Self {
        match error {
            ExecuteError::Rejected(rule) => Self::Refused(rule.to_string()),
            ExecuteError::Store(error) => Self::Store(error),
            ExecuteError::Decode(error) => Self::Decode(error),
        }
    }
}
