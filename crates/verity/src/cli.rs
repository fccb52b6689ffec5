//! The command line: `verity <command>`, with `--help` everywhere.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    Serve,
    /// Manage organizations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Read the event log.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Check the log's integrity.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Rebuild every projection from position 0 and compare with the live state.
    Replay,
    /// Measure the store and the read models (see docs/performance.md).
    #[command(subcommand, hide = true)]
    Bench(BenchCommand),
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
    },
    /// Fill the log with generated users, then save a snapshot.
    Seed {
        /// How many users.
        #[arg(long, default_value_t = 100_000)]
        users: u64,
        /// Events per user.
        #[arg(long, default_value_t = 10)]
        events_per_user: u64,
    },
    /// Time from start to read models caught up.
    Startup,
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
    /// Create a person with a temporary password.
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
    },
    /// List the users of an organization.
    List {
        /// Organization name or id.
        #[arg(long)]
        org: String,
    },
    /// Block a user's sign-in.
    Disable {
        /// Email address.
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
}

/// `verity audit ...`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain; exit 0 when intact, non-zero at the first break.
    Verify,
}
