//! The sign-in journey's pages, every `POST /login*` (docs/sign-in.md): email and
//! password ([`password`]), "Choose a new password" ([`new_password`]), "Set up your
//! authenticator app" ([`setup`]), "Enter the code from <app>" and recovery codes
//! ([`code`]), and the end of the sign-in ([`finish`]). The rules are the engine's
//! (`verity_oidc::signin`, `second_factor`, `account`); these modules read the form,
//! call it, and render the next page.
//!
//! Every step is a form bound to its login transaction: `LoginStep` loads it and
//! checks the CSRF token (form, cookie and transaction must agree) before a handler runs
//! (`step.rs`); `next.rs` shows what the engine decided comes next.

pub(crate) mod code;
pub(crate) mod finish;
pub(crate) mod new_password;
mod next;
pub(crate) mod password;
pub(crate) mod setup;
mod step;
