//! The command line: `verity <command>`, with `--help` everywhere.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use verity_domain::client::{ClientType, GrantType, SigningAlgorithm, TokenEndpointAuthMethod};

/// Verity: an OpenID Connect identity provider whose source of truth is a tamper-evident
/// event log.
#[derive(Debug, Parser)]
#[command(name = "verity", version, propagate_version = true)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Configuration file (TOML; see config/verity.toml).
    #[arg(long, global = true, env = "VERITY_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Directory of the embedded store (default: ./data).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Event store URL: postgres://... or sqlite:PATH (default: SQLite in the data dir).
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Machine-readable output (JSON).
    #[arg(long, global = true)]
    pub json: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the server.
    Serve(ServeArgs),
    /// Manage organizations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage OAuth clients (the applications that sign people in through Verity).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Grant, revoke and list admin roles (instance-admin, org-admin, auditor).
    #[command(subcommand)]
    Role(RoleCommand),
    /// SCIM 2.0 provisioning (docs/scim.md): the tokens identity systems use.
    #[command(subcommand)]
    Scim(ScimCommand),
    /// Manage signing keys (list, rotate, JWKS).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Read the event log.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Check the log's integrity.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Client networks and the per-IP sign-in limit.
    #[command(subcommand)]
    Network(NetworkCommand),
    /// Rebuild every projection from position 0 and compare with the live state.
    Replay,
    /// Copy the embedded store to FILE while Verity serves (a consistent snapshot, mode
    /// 0600), and name what else must be kept: the master key, the configuration. For
    /// PostgreSQL, use pg_dump or base backups (docs/operations.md).
    Backup {
        /// The backup file to write; it must not exist.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Restore a backup into the data directory (--data-dir), which must be empty or
    /// missing; the restored log's chain is verified before it is kept.
    Restore {
        /// The backup file (written by `verity backup`).
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Measure the store and the read models (see docs/performance.md).
    #[command(subcommand, hide = true)]
    Bench(BenchCommand),
}

/// Options of `verity serve`.
#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// Serve even when the log does not verify from its newest checkpoint on, for
    /// forensics: the break is logged, and no checkpoint is signed while it runs.
    #[arg(long)]
    pub allow_broken_chain: bool,
}

/// `verity bench ...`
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Durable appends per second, one event per append.
    Append {
        /// Concurrent writers.
        #[arg(long, default_value_t = 1)]
        writers: usize,
        /// How long to run.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Append sign-ins of people (address, browser, client address: personal data)
        /// instead of facts without any.
        #[arg(long)]
        personal: bool,
        /// Through the seal of personal data, as the server appends (compare with and
        /// without, on `--personal` events: the cost of per-person encryption).
        #[arg(long)]
        sealed: bool,
        /// Also record a checkpoint every this many events, as a server does (the cost of
        /// automatic checkpoints: compare with a run without).
        #[arg(long, value_name = "EVENTS")]
        checkpoint_every: Option<u64>,
    },
    /// Fill the log with generated users, then save a snapshot.
    Seed {
        /// How many users.
        #[arg(long, default_value_t = 100_000)]
        users: u64,
        /// Events per user.
        #[arg(long, default_value_t = 10)]
        events_per_user: u64,
        /// Through the seal of personal data, as the server appends (compare `bench
        /// startup --sealed` on such a log with `bench startup` on one seeded without).
        #[arg(long)]
        sealed: bool,
        /// Organizations they are spread over (`user<i>` joins organization `i % orgs`).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
        orgs: u64,
        /// Addresses in the order people are created (`user<i>@…`). By default each
        /// begins with four hex digits drawn from `i` (`3fa2.user<i>@…`), so that, as in
        /// a real directory, the people created together are not neighbours by address.
        #[arg(long)]
        alphabetical: bool,
        /// Each person's events after the first are their sign-ins from their browser,
        /// as a server records them: a successful sign-in in their stream and the session
        /// it starts in its own, in turn (address, User-Agent and client address in
        /// each). Without it they are password changes, disables and enables, nothing
        /// personal.
        #[arg(long)]
        sign_ins: bool,
    },
    /// The console's Users page with a search, rendered by the router in process for an
    /// instance admin with a console session: server time per request, its percentiles.
    /// Fill the store first (`verity bench seed --orgs 1`).
    Console {
        /// Requests to time (after a warm-up).
        #[arg(long, default_value_t = 1000)]
        requests: usize,
        /// The organization whose people are searched (default: the one with the most).
        #[arg(long)]
        org: Option<String>,
    },
    /// Time from start to read models caught up.
    Startup {
        /// Read through the seal of personal data, as the server does (for a log seeded
        /// with `--sealed`).
        #[arg(long)]
        sealed: bool,
    },
    /// The auditor's questions on the log as it is (fill it with `bench seed`): a
    /// person's history and their account at an instant, for `--samples` people picked
    /// at random; prints p50, p95 and the slowest, in milliseconds.
    Audit {
        /// How many people to ask about.
        #[arg(long, default_value_t = 200)]
        samples: usize,
    },
    /// People for the sign-in benchmark: each with a password of their own and an
    /// enrolled authenticator app. Writes one JSON line per person (email, password, TOTP
    /// secret) to `--out`.
    People {
        /// The organization they join.
        #[arg(long)]
        org: String,
        /// How many people.
        #[arg(long, default_value_t = 1000)]
        users: u64,
        /// Where the people's credentials go (JSON lines).
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Argon2id verifications per second (OWASP parameters, the ones sign-in uses) on
    /// `--threads` threads.
    Argon2 {
        /// Threads verifying at once.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// How long to run.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
    /// Lookups in the shipped common-password list: the one-time load and the time per
    /// lookup (run with --release).
    Passwords {
        /// Lookups to time.
        #[arg(long, default_value_t = 1_000_000)]
        lookups: u64,
    },
    /// Signatures per second of one thread with the active key (RFC 9068 access-token
    /// claims), one JSON line per algorithm.
    Sign {
        /// RS256, ES256, EdDSA or all.
        #[arg(long, value_enum, ignore_case = true, default_value = "RS256")]
        alg: AlgorithmChoice,
        /// How long to run, per algorithm.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
    /// The access-token check of userinfo and introspection, in process: the token's
    /// bytes alone against the whole check with the sessions read model, for a token
    /// presented again and again and for tokens seen once. Seeds `--people` people with
    /// two sessions each (some ended) first.
    Access {
        /// RS256, ES256, EdDSA or all.
        #[arg(long, value_enum, ignore_case = true, default_value = "ES256")]
        alg: AlgorithmChoice,
        /// People to seed, two sessions each.
        #[arg(long, default_value_t = 10_000)]
        people: u64,
        /// How long to run, per algorithm.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
    /// Ending access for a person with `--sessions` live sessions (started through the
    /// engine): the admin's sign-out, end to end, `--runs` times.
    EndAccess {
        /// Live sessions of the person.
        #[arg(long, default_value_t = 100)]
        sessions: usize,
        /// Runs (a new person each).
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
}

/// `verity keys ...`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List signing keys: id, algorithm, state and dates (never private material).
    List,
    /// Publish a new key, sign with it, and retire the previous one, which stays in the
    /// JWKS for `[keys] retired_grace_hours` so tokens it signed stay verifiable.
    Rotate {
        /// RS256, ES256, EdDSA or all.
        #[arg(long, value_enum, ignore_case = true, default_value = "all")]
        alg: AlgorithmChoice,
    },
    /// Print the JWKS (the public keys, as served at /jwks).
    Jwks,
}

/// A signing algorithm, or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AlgorithmChoice {
    /// RSA 2048.
    #[value(name = "RS256")]
    Rs256,
    /// ECDSA P-256.
    #[value(name = "ES256")]
    Es256,
    /// Ed25519.
    #[value(name = "EdDSA")]
    EdDsa,
    /// Every algorithm.
    #[value(name = "all")]
    All,
}

/// `verity org ...`
#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organization.
    Create {
        /// Its name, unique within the instance.
        name: String,
    },
    /// List organizations.
    List,
}

/// `verity user ...`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a person with a temporary password, sent to them by email (or written to
    /// <data_dir>/outbox/ when no SMTP server is configured; see docs/email.md).
    Create {
        /// Organization name or id.
        #[arg(long)]
        org: String,
        /// Email address.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Also print the temporary password (and put it in --json output), for handing
        /// it over another way. Off by default: it is in the email only.
        #[arg(long)]
        show_password: bool,
    },
    /// Issue a new temporary password and email it; the person's current password stops
    /// working and they choose a new one at the next sign-in.
    ResetPassword {
        /// Email address.
        email: String,
        /// Organization name or id.
        #[arg(long)]
        org: String,
        /// Also print the temporary password (and put it in --json output).
        #[arg(long)]
        show_password: bool,
    },
    /// List the users of an organization.
    List {
        /// Organization name or id.
        #[arg(long)]
        org: String,
    },
    /// End every session of a user: their applications' refresh and access tokens stop
    /// working and the applications are told (back-channel logout); trusted devices stay.
    SignOut {
        /// Email address.
        email: String,
        /// Organization name or id.
        #[arg(long)]
        org: String,
    },
    /// Block a user's sign-in: every session ends and every trusted device is forgotten.
    Disable {
        /// Email address.
        email: String,
        /// Organization name or id.
        #[arg(long)]
        org: String,
    },
    /// Erase a person for good (GDPR Art. 17): every session ends, their key is destroyed
    /// so their personal data in the log reads as erased, and they leave every list and
    /// search; the log still verifies (docs/audit.md, "Erasure"). A deleted person is
    /// erased by their user id.
    Erase {
        /// Email address (or user id).
        email: String,
        /// Organization name or id.
        #[arg(long)]
        org: String,
    },
    /// Allow a disabled user to sign in again.
    Enable {
        /// Email address.
        email: String,
        /// Organization name or id.
        #[arg(long)]
        org: String,
    },
    /// List the devices a person chose to trust ("Remember this device"): label, when
    /// trusted, when the trust ends, state (active, expired, forgotten).
    Devices {
        /// Email address.
        email: String,
        /// Organization name or id.
        #[arg(long)]
        org: String,
    },
    /// Forget every device a person trusts: their next sign-in asks for a code again.
    ForgetDevices {
        /// Email address.
        email: String,
        /// Organization name or id.
        #[arg(long)]
        org: String,
    },
    /// Remove a person's authenticator app (lost phone and recovery codes): the app's
    /// codes and every recovery code stop working, every trusted device is forgotten, and
    /// the next sign-in sets up an app again after the password.
    ResetMfa {
        /// Email address.
        email: String,
        /// Organization name or id.
        #[arg(long)]
        org: String,
    },
    /// Lift a person's sign-in locks (too many wrong passwords for their address, too
    /// many wrong codes) before they end, and forget the failures counted so far.
    Unlock {
        /// Email address.
        email: String,
        /// Organization name or id.
        #[arg(long)]
        org: String,
    },
}

/// `verity role ...`
#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Give a person (or, with --client, a service client) a role: `instance-admin`,
    /// `org-admin` (with --org) or `auditor` (of the instance, or with --org of one
    /// organization). A person holding a role gives a code at every sign-in.
    Grant(RoleArgs),
    /// Take a role away.
    Revoke(RoleArgs),
    /// Who holds which role (with --org, in that organization).
    List {
        /// Organization name or id.
        #[arg(long)]
        org: Option<String>,
    },
}

/// Who gets or loses which role, where.
#[derive(Debug, Args)]
#[command(
    override_usage = "verity role grant|revoke EMAIL ROLE [--org ORG]\n       \
                            verity role grant|revoke --client CLIENT_ID ROLE [--org ORG]"
)]
pub struct RoleArgs {
    /// The person's address (or user id) and the role; with --client, the role only.
    #[arg(value_name = "EMAIL ROLE", num_args = 1..=2, required = true)]
    pub words: Vec<String>,
    /// A service client instead of a person (it acts on the admin API with its
    /// client_credentials tokens).
    #[arg(long, value_name = "CLIENT_ID")]
    pub client: Option<String>,
    /// The organization: where an org-admin or auditor role applies, and where the
    /// person is found.
    #[arg(long)]
    pub org: Option<String>,
}

/// `verity scim ...`
#[derive(Debug, Subcommand)]
pub enum ScimCommand {
    /// The bearer tokens of SCIM provisioning, one organization each.
    #[command(subcommand)]
    Token(ScimTokenCommand),
}

/// `verity scim token ...`
#[derive(Debug, Subcommand)]
pub enum ScimTokenCommand {
    /// Create a token for an organization's provisioning; prints it this once (it is
    /// stored only as a hash).
    Create {
        /// Organization name or id.
        #[arg(long)]
        org: String,
        /// What to call it (e.g. the identity system's name).
        #[arg(long, default_value = "SCIM provisioning")]
        label: String,
        /// Send no temporary-password email to the people it creates (for an
        /// organization that signs in another way).
        #[arg(long)]
        no_email: bool,
    },
    /// List tokens (with --org, of that organization), revoked ones included.
    List {
        /// Organization name or id.
        #[arg(long)]
        org: Option<String>,
    },
    /// Revoke a token: it opens nothing from its next request on.
    Revoke {
        /// The token's id (from `verity scim token list`).
        token_id: String,
    },
}

/// `verity client ...`
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; prints its id and, when it authenticates with a secret, the
    /// secret (shown this once, stored only as a hash).
    Create(ClientCreateArgs),
    /// List clients.
    List,
    /// Show a client's settings, and how its back-channel logout notices go.
    Show {
        /// The client id.
        client_id: String,
    },
    /// Replace a client's secret; prints the new one once. The old one stops working at once.
    RotateSecret {
        /// The client id.
        client_id: String,
    },
    /// Delete a client: nothing can authenticate as it any more.
    Delete {
        /// The client id.
        client_id: String,
    },
}

/// Settings of `verity client create`.
#[derive(Debug, Args)]
pub struct ClientCreateArgs {
    /// Display name, shown to people signing in.
    #[arg(long)]
    pub name: String,
    /// Where authorization responses may go (exact match; https, or http for localhost).
    /// Repeatable.
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may return to. Repeatable.
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    pub post_logout_redirect_uris: Vec<String>,
    /// confidential (a server that keeps a secret) or public (browser or native app).
    #[arg(long = "type", value_name = "TYPE", default_value = "confidential")]
    pub client_type: ClientType,
    /// authorization_code, refresh_token or client_credentials. Repeatable (default:
    /// authorization_code and refresh_token).
    #[arg(long = "grant", value_name = "GRANT")]
    pub grants: Vec<GrantType>,
    /// client_secret_basic, client_secret_post, private_key_jwt or none (default:
    /// client_secret_basic for confidential clients, none for public ones).
    #[arg(long = "auth-method", value_name = "METHOD")]
    pub auth_method: Option<TokenEndpointAuthMethod>,
    /// Algorithm of the client's ID tokens: RS256, ES256 or EdDSA.
    #[arg(long = "id-token-alg", value_name = "ALG", default_value = "RS256")]
    pub id_token_alg: SigningAlgorithm,
    /// A scope the client may ask for. Repeatable (default: openid profile email; openid
    /// is always allowed).
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// Let a legacy confidential client that cannot send PKCE leave it out. PKCE is
    /// required of every client by default (RFC 9700); refused for public clients.
    #[arg(long)]
    pub no_require_pkce: bool,
    /// The client's public keys (a JWK Set, JSON), for private_key_jwt.
    #[arg(long, value_name = "PATH")]
    pub jwks_file: Option<PathBuf>,
    /// Where logout notices are posted when a session the client signed in to ends
    /// (OpenID Connect Back-Channel Logout; https, or http for localhost; exact URI).
    #[arg(long, value_name = "URI")]
    pub backchannel_logout_uri: Option<String>,
    /// The organization the client belongs to: only its people may sign in to it
    /// (default: every organization's).
    #[arg(long, value_name = "ORG")]
    pub org: Option<String>,
}

/// `verity events ...`
#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Print events as JSON lines (data and metadata byte for byte as hashed).
    Export(ExportArgs),
}

/// Filters of `verity events export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Only this stream.
    #[arg(long)]
    pub stream: Option<String>,
    /// Only this event type (e.g. user.created).
    #[arg(long = "type", value_name = "TYPE")]
    pub event_type: Option<String>,
    /// Only events after this position.
    #[arg(long, value_name = "POSITION", default_value_t = 0)]
    pub since: u64,
    /// Only events recorded at or after this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Only events recorded before this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    /// Personal data opened with each person's key (an erased person's as `[erased]`),
    /// for reading; needs the master key, and the hashes no longer cover the lines.
    /// Without it, `data` and `metadata` are as stored and hashed (sealed).
    #[arg(long)]
    pub open: bool,
}

/// `verity network ...`
#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// Lift the per-IP sign-in lock of a client address (an IPv6 address counts as its
    /// /64) before it ends, and forget its failures.
    Unlock {
        /// The client IP address, as the server sees it (after trusted proxies).
        address: std::net::IpAddr,
    },
}

/// `verity audit ...`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print the audit key's public half (a JWK, with its fingerprint in a comment line)
    /// for auditors to pin: saved to a file, it is what `--public-key FILE` reads. Creates
    /// the key when there is none yet.
    Key,
    /// Recompute the hash chain and check every checkpoint, in the log and kept outside,
    /// with the pinned key; report the newest checkpoint's age. Exit 0 when the log
    /// verifies, 2 at the first position that does not.
    Verify(VerifyArgs),
    /// Verify the chain up to the head, sign the head with the audit key and record the
    /// checkpoint now (the server records them by itself, see `[audit]`); prints it.
    Checkpoint,
    /// Write a self-contained bundle (events, checkpoints, the public key, a README with
    /// the steps) to verify on another machine: `verity audit verify --bundle FILE
    /// --public-key FILE`.
    Bundle {
        /// Where the bundle goes (a .tar.gz).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Every event about a person (--subject), what an admin did to others (--actor), or
    /// an organization's admin actions (--org alone), oldest first.
    History(AuditHistoryArgs),
    /// A person's account as it was at an instant, replayed from the log.
    Account {
        /// The person's address (or user id).
        email: String,
        /// Their organization (name or id).
        #[arg(long)]
        org: String,
        /// The instant (RFC 3339).
        #[arg(long, value_name = "TIME")]
        at: chrono::DateTime<chrono::Utc>,
    },
    /// Why a sign-in went as it did: why a code was asked or not, why it was refused.
    Explain {
        /// The session id of a sign-in, or the log position of a `user.signin.*` event.
        sign_in: String,
    },
}

/// Options of `verity audit verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The audit key you pinned (the output of `verity audit key`, saved to a file).
    /// Without it only the chain is checked, and no signature.
    #[arg(long, value_name = "FILE")]
    pub public_key: Option<PathBuf>,
    /// Checkpoints kept outside the database (a node's `[audit] checkpoint_file`, a
    /// witness's copy), one JSON line each; repeatable. Needs --public-key.
    #[arg(long = "checkpoints", value_name = "FILE")]
    pub checkpoints: Vec<PathBuf>,
    /// Verify this bundle (`verity audit bundle`) instead of the database: no database and
    /// no configuration needed. Needs --public-key.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
}

/// Whose history `verity audit history` tells, and when.
#[derive(Debug, Args)]
pub struct AuditHistoryArgs {
    /// Every event about this person (address or user id).
    #[arg(long, value_name = "EMAIL", conflicts_with = "actor")]
    pub subject: Option<String>,
    /// What this person (an admin) did to others.
    #[arg(long, value_name = "EMAIL")]
    pub actor: Option<String>,
    /// The organization of --subject or --actor; alone, its admin actions.
    #[arg(long)]
    pub org: Option<String>,
    /// From this time on (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Before this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub to: Option<chrono::DateTime<chrono::Utc>>,
}
