//! [`Transport`] over TCP with reqwest: for the real `verity` binary. Redirects are not
//! followed (a test looks at each one).

use bytes::Bytes;
use http::{Request, Response};

use crate::agent::Transport;

/// Sends requests over the network to wherever their URI points.
#[derive(Debug, Clone)]
pub struct Remote {
    client: reqwest::Client,
}

impl Remote {
    /// A client that follows no redirect.
    ///
    /// # Panics
    ///
    /// When reqwest cannot build a client (no TLS backend is needed for loopback HTTP).
    #[allow(clippy::panic)]
    pub fn new() -> Self {
        match reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
        {
            Ok(client) => Self { client },
            Err(error) => panic!("cannot build an HTTP client: {error}"),
        }
    }

    /// The reqwest client, for a relying-party library that wants one.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }
}

impl Default for Remote {
    fn default() -> Self {
        Self::new()
    }
}

impl Transport for Remote {
    // A request that cannot reach the server fails the test, by panicking.
    #[allow(clippy::panic)]
    async fn send(&self, request: Request<Bytes>) -> Response<Bytes> {
        let uri = request.uri().to_string();
        let request = match reqwest::Request::try_from(request) {
            Ok(request) => request,
            Err(error) => panic!("cannot send {uri}: {error}"),
        };
        let response = match self.client.execute(request).await {
            Ok(response) => response,
            Err(error) => panic!("{uri}: {error}"),
        };
        let mut answer = Response::builder().status(response.status());
        if let Some(headers) = answer.headers_mut() {
            headers.extend(
                response
                    .headers()
                    .iter()
                    .map(|(name, value)| (name.clone(), value.clone())),
            );
        }
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(error) => panic!("{uri}: reading the body: {error}"),
        };
        match answer.body(body) {
            Ok(answer) => answer,
            Err(error) => panic!("{uri}: {error}"),
        }
    }
}
