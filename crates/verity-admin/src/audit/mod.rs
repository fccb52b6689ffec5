//! The auditor's questions (docs/audit.md), each answered from the log itself, never
//! from the read models' present state alone:
//!
//! - [`account`]: a person's account as it was at an instant, replayed from their own
//!   streams;
//! - [`explain`]: why a sign-in went as it did (a code asked or not, a refusal);
//! - [`actions`]: what an admin did to others, and the admin actions in an
//!   organization;
//! - [`events`]: a search of the events by type, actor, organization and time;
//! - [`log`]: the log as a whole — its head, its chain recomputed, its export — for
//!   those who may read all of it.
//!
//! A person's events in order are [`Admin::events_about`](crate::Admin::events_about)
//! ([`crate::history`]). Who may ask is the one authorization rule: reading people in
//! their organization, and reading the whole log for [`log`].

pub mod account;
pub mod actions;
pub mod events;
pub mod explain;
pub mod log;
