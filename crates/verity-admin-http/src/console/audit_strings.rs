//! The Audit section's strings (templates use them as `a.<key>`), apart from the rest of
//! the console's so that each file stays one subject. `{name}`-style placeholders are
//! replaced by the handlers.

use serde::Serialize;

/// The Audit section's strings.
#[derive(Debug, Clone, Serialize)]
pub struct AuditStrings {
    /// What the section shows, under its heading.
    pub intro: &'static str,
    /// The heading of a person's timeline, and of the form that opens one.
    pub timeline: &'static str,
    /// The button that opens a person's timeline.
    pub open_timeline: &'static str,
    /// The timeline asked for no one.
    pub no_person: &'static str,
    /// Label of the instant of the point-in-time view.
    pub at: &'static str,
    /// How instants are typed.
    pub time_hint: &'static str,
    /// The heading of the account as it was at an instant: `{at}` is replaced.
    pub account_at: &'static str,
    /// The button that shows the account at the instant typed.
    pub show_account: &'static str,
    /// Password facts: `{at}` is replaced.
    pub password_set: &'static str,
    /// The same, for a temporary password.
    pub password_temporary: &'static str,
    /// Label: the password.
    pub password: &'static str,
    /// Label: authenticator apps.
    pub authenticators: &'static str,
    /// Label: trusted devices.
    pub trusted_devices: &'static str,
    /// Label: live sessions.
    pub live_sessions: &'static str,
    /// Label: roles.
    pub roles: &'static str,
    /// Label: sign-in locks.
    pub locks: &'static str,
    /// A lock: `{step}` and `{until}` are replaced.
    pub lock: &'static str,
    /// An empty list.
    pub none: &'static str,
    /// The heading of the events' search.
    pub search_events: &'static str,
    /// Label of the event type.
    pub event_type: &'static str,
    /// How event types are typed.
    pub event_type_hint: &'static str,
    /// Label of the actor's address.
    pub actor: &'static str,
    /// Label of the start of a time range.
    pub from: &'static str,
    /// Label of its end.
    pub to: &'static str,
    /// The organization choice meaning all of them.
    pub any_organization: &'static str,
    /// Column: the event's type.
    pub type_column: &'static str,
    /// Column: whom or what it was about.
    pub about: &'static str,
    /// Column: the browser.
    pub browser: &'static str,
    /// Column: the position in the log.
    pub position: &'static str,
    /// Nothing found.
    pub no_events: &'static str,
    /// The link to later events.
    pub later_events: &'static str,
    /// The heading of the chain's state.
    pub chain: &'static str,
    /// The head: `{position}`, `{hash}` and `{at}` are replaced.
    pub head: &'static str,
    /// An empty log.
    pub empty_log: &'static str,
    /// The link that recomputes the chain.
    pub verify_chain: &'static str,
    /// The chain recomputed: `{events}` and `{head}` are replaced.
    pub chain_whole: &'static str,
    /// A break: `{problem}` is replaced.
    pub chain_broken: &'static str,
    /// The newest signed checkpoint: `{position}`, `{hash}`, `{at}`, `{age}` and `{key}`
    /// are replaced.
    pub checkpoint: &'static str,
    /// No checkpoint is recorded yet.
    pub no_checkpoint: &'static str,
    /// How a checkpoint is checked.
    pub checkpoints: &'static str,
    /// The heading and link of the export.
    pub export: &'static str,
    /// What the export is.
    pub export_hint: &'static str,
    /// What someone without a grant over the whole instance reads instead of the chain
    /// and the export.
    pub whole_log_only: &'static str,
}

/// The Audit section's strings, in English.
pub const AUDIT: AuditStrings = AuditStrings {
    intro: "Read-only: what happened to whom, an account as it was at any instant, and the log's own state. Nothing here changes anything.",
    timeline: "Person's timeline",
    open_timeline: "Open timeline",
    no_person: "Name the person by their email (and organization).",
    at: "At",
    time_hint: "UTC, as 2026-01-31 14:00 (or a full RFC 3339 time).",
    account_at: "The account at {at}",
    show_account: "Show the account then",
    password_set: "set {at}",
    password_temporary: "temporary, issued {at}",
    password: "Password",
    authenticators: "Authenticator apps",
    trusted_devices: "Trusted devices",
    live_sessions: "Active sessions",
    roles: "Roles",
    locks: "Sign-in locks",
    lock: "{step} step locked until {until}",
    none: "None",
    search_events: "Search events",
    event_type: "Event type",
    event_type_hint: "A type (user.disabled) or its start (user, user.signin).",
    actor: "Done by (email)",
    from: "From",
    to: "To",
    any_organization: "Any organization",
    type_column: "Type",
    about: "About",
    browser: "Browser",
    position: "Position",
    no_events: "No event matches.",
    later_events: "Later events",
    chain: "Chain",
    head: "The log holds {position} events; the newest, recorded {at}, has the hash {hash}.",
    empty_log: "The log is empty.",
    verify_chain: "Verify the chain",
    chain_whole: "Verified: all {events} events chain from the first to the head {head}.",
    chain_broken: "The chain is broken: {problem}",
    checkpoint: "The newest signed checkpoint covers the log up to position {position} (hash {hash}); it was signed {at}, {age} ago, with the audit key {key}.",
    no_checkpoint: "No signed checkpoint is recorded yet: the chain alone shows that no event was changed inside the log, not that its tail was kept.",
    checkpoints: "A checkpoint proves something only when its signature is checked with the audit key you pinned, never with a key read from this server: run verity audit verify --public-key FILE (docs/audit.md).",
    export: "Download the export",
    export_hint: "Every event as one JSON line, exactly as stored and hashed (what verity events export writes): recompute the chain from it on another machine.",
    whole_log_only: "The chain and the export cover every organization: an instance admin or an instance auditor reads them.",
};
