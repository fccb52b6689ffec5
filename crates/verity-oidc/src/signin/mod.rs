//! The sign-in's rules (docs/sign-in.md): the login transaction and its stage machine,
//! the password check and its outcomes, and the steps that follow a right password.
//!
//! - A login transaction is opened by `/authorize`, bound to the browser by a CSRF token,
//!   and moved from stage to stage by compare-and-set: a step moves it on once, however
//!   often or on however many nodes it is posted ([`transaction`]); finishing takes it
//!   (single use).
//! - The password is verified against every account with the address (one per
//!   organization); an unknown address is verified against a dummy hash so both take as
//!   long. Refusals are outcomes ([`PasswordRefused`]), never errors: unknown and wrong
//!   look the same to the person; disabled and expired temporary passwords are said.
//! - Every attempt is counted against the address and the client's network before it is
//!   verified ([`crate::limits::reserve`]): concurrent guesses on any number of nodes get
//!   no more checks than the limit. A lock is recorded once, when it is set
//!   ([`crate::lockouts`]); the refusals while it lasts are not.
//! - After the password ([`next`]): a temporary one leads to "Choose a new password"; no
//!   authenticator to "Set up your authenticator app"; otherwise "Enter the code",
//!   unless this browser is a trusted device of this person. A person with an
//!   authenticator who replaces a temporary password has the new one recorded only after
//!   their code.
//! - The code step ([`code`]): an accepted recovery code stops at "You used a recovery
//!   code", which offers a new set (generated once: the transaction moves on first); an
//!   app's code finishes, trusting the browser when the person asked and may. Set-up
//!   ([`setup`]) moves on to the recovery codes, shown once.
//! - The end ([`finish`]): the transaction taken (single use), the browser's previous
//!   session replaced by the new one, and a code for the client.

mod code;
mod finish;
mod next;
pub(crate) mod password;
mod setup;
mod transaction;

pub use code::{CodeStep, NewRecoveryCodes, enter_code, new_recovery_codes};
pub use finish::{Finish, SignedIn, continue_after_codes, finish};
pub use next::{
    NewPasswordOutcome, NextStep, PasswordStep, new_password, password_step, second_factor,
    second_factor_verified,
};
pub use password::{
    PasswordOutcome, PasswordRefusal, PasswordRefused, check_current_password, check_password,
};
pub use setup::{SetupStep, set_up_app};
pub use transaction::{
    LoginTransaction, OpenLogin, OpenedLogin, Stage, advance, close, load, open,
};
