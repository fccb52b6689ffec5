//! The people file that `verity bench people` writes: one JSON object per line with what
//! the person at the keyboard knows (email, password, the authenticator app's secret).

use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;

/// One person of the file: the fields `verity bench people` writes for each.
#[derive(Debug, Deserialize)]
pub struct Person {
    /// Their email address, as they type it into the sign-in form.
    pub email: String,
    /// Their password.
    pub password: String,
    /// Their authenticator app's secret, Base32.
    pub secret: String,
}

/// Every person of the file at `path`, in order.
pub fn read(path: &Path) -> anyhow::Result<Vec<Person>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .enumerate()
        .map(|(index, line)| {
            serde_json::from_str(line)
                .with_context(|| format!("{} line {}", path.display(), index + 1))
        })
        .collect()
}
