//! Verity's own page for a signed-in person (`GET /`): who is signed in, their sessions
//! with "Sign out" and "Sign out everywhere", the browsers trusted to skip the code, each
//! with "Forget", "Change password", new recovery codes against a current code, and
//! "Logout" (docs/sessions.md, docs/mfa.md, docs/passwords.md). The rules are the
//! engine's (`verity_oidc::account_page` for the password, the recovery codes and the
//! devices; `verity_oidc::sessions`); these modules read the forms and render the answers.
//!
//! The forms carry a CSRF token derived from the session cookie (a keyed digest: only
//! the browser holding the HttpOnly cookie and the server can know it), so the page sets
//! no cookie of its own and cannot disturb a sign-in going on in another tab
//! (`posted.rs`).

pub(crate) mod devices;
pub(crate) mod page;
pub(crate) mod password;
mod posted;
pub(crate) mod recovery;
pub(crate) mod sessions;
mod signed_in;
