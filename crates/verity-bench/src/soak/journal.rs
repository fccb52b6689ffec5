//! The soak's journal: one JSON line per operation the generator tried (when, on which
//! node, what, and whether it answered as it should) and per fact it saw acknowledged (a
//! session started or ended) or a rule it saw broken. The orchestrator
//! (`cargo xtask soak`) reads it afterwards and checks it against the log.

use std::io::Write as _;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// One line of the journal.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry<'a> {
    /// An operation and its outcome; `error` is `None` when it answered as it should.
    Op {
        /// Seconds since the Unix epoch when it ended.
        at: f64,
        /// The index of the node it went to.
        node: usize,
        /// What it was (`signin`, `exchange`, `refresh`, ...).
        op: &'a str,
        /// Why it did not answer as it should.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A session the server acknowledged as started (the `sid` of an ID token).
    SessionStarted {
        /// Seconds since the Unix epoch.
        at: f64,
        /// The session id.
        sid: &'a str,
    },
    /// A session the server acknowledged as ended by a logout.
    SessionEnded {
        /// Seconds since the Unix epoch.
        at: f64,
        /// The session id.
        sid: &'a str,
    },
    /// A wrong password for the lock's target, and whether it was checked (`checked`:
    /// the answer was "not correct") or refused unchecked as locked.
    LockAttempt {
        /// Seconds since the Unix epoch.
        at: f64,
        /// The node.
        node: usize,
        /// Whether the password was checked.
        checked: bool,
    },
    /// A rule the server broke: a code or refresh token accepted twice.
    Violation {
        /// Seconds since the Unix epoch.
        at: f64,
        /// What happened.
        what: String,
    },
}

/// The journal file, shared by every worker.
pub struct Journal {
    file: Mutex<std::io::BufWriter<std::fs::File>>,
}

impl Journal {
    /// A new journal at `path` (truncated).
    pub fn create(path: &std::path::Path) -> anyhow::Result<Self> {
        Ok(Self {
            file: Mutex::new(std::io::BufWriter::new(std::fs::File::create(path)?)),
        })
    }

    /// Writes `entry` as one line.
    pub fn write(&self, entry: &Entry<'_>) {
        let Ok(line) = serde_json::to_string(entry) else {
            return;
        };
        if let Ok(mut file) = self.file.lock() {
            // A full disk loses journal lines, and the checks then report them missing.
            let _ = writeln!(file, "{line}");
        }
    }

    /// Flushes what was written.
    pub fn flush(&self) -> anyhow::Result<()> {
        let mut file = self
            .file
            .lock()
            .map_err(|_| anyhow::anyhow!("the journal's lock is poisoned"))?;
        Ok(file.flush()?)
    }
}

/// Seconds since the Unix epoch, with fractions: the generator's clock.
#[allow(clippy::disallowed_methods)]
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64())
}
