//! `verity serve`'s listeners: a client that never finishes its headers or trickles its
//! body is cut off, and `[server] metrics_bind` moves `/metrics` to a listener of its own.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::provider::Provider;
use crate::support::Target;

/// Connects to `base` (`http://ADDRESS`), writes `sent` and reads until the server closes
/// the connection: what it answered and how long it took. Panics if the connection is
/// still open after `patience`.
pub(crate) async fn send_and_wait_for_close(
    base: &str,
    sent: &str,
    patience: Duration,
) -> (String, Duration) {
    let address = base.strip_prefix("http://").unwrap();
    let mut stream = TcpStream::connect(address).await.unwrap();
    let started = Instant::now();
    stream.write_all(sent.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(patience, stream.read_to_end(&mut answer)).await;
    assert!(
        read.is_ok(),
        "the connection was still open after {patience:?}"
    );
    (
        String::from_utf8_lossy(&answer).into_owned(),
        started.elapsed(),
    )
}

/// Sends `POST path` with `headers` (each ending in CRLF) and a body announced as 100
/// bytes of which only `begun` comes, to a server whose bodies must arrive within 1 s:
/// checks that it answers 408 after that second and closes the connection, and gives its
/// answer in lower case (for its headers) and its body as JSON.
pub(crate) async fn late_json_body(
    base: &str,
    path: &str,
    headers: &str,
    begun: &str,
) -> (String, serde_json::Value) {
    let (answer, took) = send_and_wait_for_close(
        base,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: verity\r\n{headers}Content-Length: 100\r\n\r\n{begun}"
        ),
        Duration::from_secs(10),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        took >= Duration::from_millis(900),
        "answered after {took:?}"
    );
    let lowered = answer.to_ascii_lowercase();
    assert!(lowered.contains("connection: close"), "{answer}");
    let body = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    (lowered, body)
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_or_its_body_is_cut_off() {
    let provider = Provider::start_with(
        Target::sqlite(),
        &[
            ("VERITY__SERVER__HEADER_READ_TIMEOUT_SECONDS", "1"),
            ("VERITY__SERVER__BODY_READ_TIMEOUT_SECONDS", "1"),
        ],
    )
    .await;
    let patience = Duration::from_secs(10);

    // Slowloris: headers begun, never ended.
    let (answer, took) = send_and_wait_for_close(
        &provider.base,
        "GET /healthz HTTP/1.1\r\nHost: verity\r\nX-Slow: ",
        patience,
    )
    .await;
    assert!(took >= Duration::from_millis(900), "closed after {took:?}");
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );

    // An idle keep-alive connection is closed too.
    let (answer, took) = send_and_wait_for_close(
        &provider.base,
        "GET /healthz HTTP/1.1\r\nHost: verity\r\n\r\n",
        patience,
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(took >= Duration::from_millis(900), "closed after {took:?}");

    // A body announced and never sent in full.
    let (answer, took) = send_and_wait_for_close(
        &provider.base,
        "POST /token HTTP/1.1\r\nHost: verity\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n\
         grant_type=",
        patience,
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        took >= Duration::from_millis(900),
        "answered after {took:?}"
    );

    // A prompt client is served as before.
    let ready = provider.browser().peek("/readyz").await;
    assert_eq!(ready.status, 200);
}

#[tokio::test]
async fn with_metrics_bind_metrics_answer_on_their_own_listener_only() {
    let provider = Provider::start_with(
        Target::sqlite(),
        &[("VERITY__SERVER__METRICS_BIND", "127.0.0.1:0")],
    )
    .await;
    let metrics = provider
        .metrics
        .clone()
        .expect("serve names the metrics' listener");
    assert_ne!(metrics, provider.base);
    let browser = provider.browser();
    assert_eq!(browser.peek("/readyz").await.status, 200);
    let scraped = browser.peek(&format!("{metrics}/metrics")).await;
    assert_eq!(scraped.status, 200, "{}", scraped.body);
    assert!(
        scraped.body.contains("verity_http_requests_total"),
        "{}",
        scraped.body
    );
    assert_eq!(browser.peek("/metrics").await.status, 404);
    assert_eq!(
        browser.peek(&format!("{metrics}/readyz")).await.status,
        404,
        "the metrics' listener serves /metrics only"
    );

    // Without it, /metrics is on the main listener as before.
    let default = Provider::start().await;
    assert_eq!(default.metrics, None);
    assert_eq!(default.browser().peek("/metrics").await.status, 200);
}
