//! The witness: a service of someone else's (`[audit] witness_url`) that is sent every
//! checkpoint this node records, as a JSON POST of its line. Like the checkpoint file, it
//! keeps a copy the database's writers cannot take back; unlike the file, it is on
//! another machine, under other people's control.

use std::time::Duration;

use verity_domain::audit::Checkpoint;
use verity_domain::error_chain::ErrorChain;

use crate::checkpoint::to_line;

/// How long one delivery may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Posts checkpoints to one URL.
#[derive(Debug, Clone)]
pub struct Witness {
    url: reqwest::Url,
    client: reqwest::Client,
}

impl Witness {
    /// A witness at `url` (http or https).
    pub fn new(url: &str) -> Result<Self, String> {
        let url = reqwest::Url::parse(url).map_err(|error| format!("{url:?}: {error}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "{url}: only http and https witnesses are supported"
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| ErrorChain(&error).to_string())?;
        Ok(Self { url, client })
    }

    /// The witness's URL.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// Posts one checkpoint; `Err` says why it was not accepted (any status but 2xx).
    pub async fn post(&self, checkpoint: &Checkpoint) -> Result<(), String> {
        let response = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(to_line(checkpoint))
            .send()
            .await
            .map_err(|error| ErrorChain(&error).to_string())?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("the witness answered {status}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_witness_that_cannot_be_reached_says_why() {
        // A port nothing listens on any more.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        let witness = Witness::new(&format!("http://{address}/checkpoints")).unwrap();
        let checkpoint = Checkpoint {
            position: 1,
            hash: "0".repeat(64),
            signed_at: chrono::DateTime::UNIX_EPOCH,
            key: "k".into(),
            signature: "s".into(),
        };
        let refused = witness.post(&checkpoint).await.unwrap_err();
        assert!(
            refused.to_lowercase().contains("connection refused"),
            "the cause is named, not only \"error sending request\": {refused}"
        );
    }
}
