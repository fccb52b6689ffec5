//! A real SMTP server inside the test process (mailin-embedded, plain SMTP on a free
//! loopback port) that keeps every message it receives, for tests that follow an email
//! from Verity to the person.
//!
//! ```no_run
//! let sink = verity_testkit::smtp::Sink::start();
//! // VERITY__SMTP__HOST=127.0.0.1 VERITY__SMTP__PORT=<sink.port()> VERITY__SMTP__TLS=none
//! let mail = sink.wait_for_message(std::time::Duration::from_secs(10));
//! assert!(mail.text().contains("Temporary password"));
//! ```

use std::net::{IpAddr, TcpListener};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use mailin_embedded::{Handler, Response, Server, SslConfig, response};

/// One message as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// The message itself (headers and body, as sent).
    pub raw: String,
}

impl ReceivedMail {
    /// The decoded `text/plain` part (quoted-printable or base64 undone).
    ///
    /// # Panics
    ///
    /// When the message does not parse or has no text part.
    pub fn text(&self) -> String {
        self.part("text/plain")
    }

    /// The decoded `text/html` part.
    ///
    /// # Panics
    ///
    /// When the message does not parse or has no HTML part.
    pub fn html(&self) -> String {
        self.part("text/html")
    }

    /// The decoded value of a header, e.g. `Subject`.
    ///
    /// # Panics
    ///
    /// When the message does not parse.
    pub fn header(&self, name: &str) -> Option<String> {
        use mailparse::MailHeaderMap;
        parse(&self.raw).headers.get_first_value(name)
    }

    #[allow(clippy::panic)] // Test support: a malformed message fails the test.
    fn part(&self, mime_type: &str) -> String {
        let parsed = parse(&self.raw);
        find_part(&parsed, mime_type)
            .unwrap_or_else(|| panic!("no {mime_type} part in the message:\n{}", self.raw))
    }
}

#[allow(clippy::panic)] // Test support: a malformed message fails the test.
fn parse(raw: &str) -> mailparse::ParsedMail<'_> {
    mailparse::parse_mail(raw.as_bytes())
        .unwrap_or_else(|error| panic!("unparsable message ({error}):\n{raw}"))
}

fn find_part(mail: &mailparse::ParsedMail<'_>, mime_type: &str) -> Option<String> {
    if mail.subparts.is_empty() {
        return (mail.ctype.mimetype == mime_type)
            .then(|| mail.get_body().ok())
            .flatten();
    }
    mail.subparts
        .iter()
        .find_map(|part| find_part(part, mime_type))
}

/// The server's handle: its port and what it received.
#[derive(Debug, Clone)]
pub struct Sink {
    port: u16,
    received: Arc<Mutex<Vec<ReceivedMail>>>,
}

impl Sink {
    /// Starts the server on a free port of 127.0.0.1, on a thread of its own that lives
    /// as long as the test process.
    ///
    /// # Panics
    ///
    /// When no port can be bound.
    #[allow(clippy::expect_used)] // Test support: failing to start fails the test.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port for SMTP");
        let port = listener.local_addr().expect("the SMTP port").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let handler = Collector {
            received: received.clone(),
            current: None,
        };
        let mut server = Server::new(handler);
        server
            .with_name("verity-test-smtp")
            .with_ssl(SslConfig::None)
            .expect("plain SMTP needs no certificate")
            .with_num_threads(2)
            .with_tcp_listener(listener);
        std::thread::Builder::new()
            .name(format!("smtp-sink-{port}"))
            .spawn(move || {
                // It serves until the process ends; an error ends it early and the test
                // then fails waiting for its email.
                let _ = server.serve();
            })
            .expect("start the SMTP thread");
        Self { port, received }
    }

    /// The port it listens on (host 127.0.0.1, no TLS).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until at least one message more than `seen` has arrived and returns the
    /// newest; for a message sent by another process or task.
    ///
    /// # Panics
    ///
    /// When none arrives within `timeout`.
    #[allow(clippy::panic)] // Test support: a missing email fails the test.
    pub fn wait_for_message_after(&self, seen: usize, timeout: Duration) -> ReceivedMail {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() > seen
                && let Some(last) = messages.last()
            {
                return last.clone();
            }
            if Instant::now() >= deadline {
                panic!(
                    "no email arrived within {timeout:?} (have {})",
                    messages.len()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the first message.
    ///
    /// # Panics
    ///
    /// When none arrives within `timeout`.
    pub fn wait_for_message(&self, timeout: Duration) -> ReceivedMail {
        self.wait_for_message_after(0, timeout)
    }
}

/// The SMTP session's callbacks: collect the envelope and the data, store at the end.
#[derive(Clone)]
struct Collector {
    received: Arc<Mutex<Vec<ReceivedMail>>>,
    current: Option<ReceivedMail>,
}

impl Handler for Collector {
    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Some(ReceivedMail {
            from: from.to_owned(),
            to: to.to_vec(),
            raw: String::new(),
        });
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Some(current) = &mut self.current {
            current.raw.push_str(&String::from_utf8_lossy(buf));
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if let Some(done) = self.current.take() {
            self.received
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(done);
        }
        response::OK
    }

    fn mail(&mut self, _ip: IpAddr, _domain: &str, _from: &str) -> Response {
        response::OK
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpStream;

    use super::*;

    /// Speaks SMTP to the sink by hand, as any client would.
    #[test]
    fn a_message_sent_over_smtp_is_kept_and_decoded() {
        let sink = Sink::start();
        let stream = TcpStream::connect(("127.0.0.1", sink.port())).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        let mut expect = |code: &str| loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            assert!(line.starts_with(code), "expected {code}, got {line:?}");
            if line.as_bytes().get(3) == Some(&b' ') {
                break;
            }
        };
        expect("220");
        for (command, code) in [
            ("EHLO client.test\r\n", "250"),
            ("MAIL FROM:<verity@example.org>\r\n", "250"),
            ("RCPT TO:<ada@example.org>\r\n", "250"),
            ("DATA\r\n", "354"),
            (
                "Subject: Hello\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nTemporary password: Kq7mZt4h=\r\nWx9cRb2nPs3v\r\n.\r\n",
                "250",
            ),
            ("QUIT\r\n", "221"),
        ] {
            writer.write_all(command.as_bytes()).unwrap();
            expect(code);
        }
        let mail = sink.wait_for_message(Duration::from_secs(10));
        assert_eq!(mail.from, "verity@example.org");
        assert_eq!(mail.to, vec!["ada@example.org".to_owned()]);
        assert_eq!(mail.header("Subject").as_deref(), Some("Hello"));
        assert!(
            mail.text()
                .contains("Temporary password: Kq7mZt4hWx9cRb2nPs3v"),
            "soft line break undone: {}",
            mail.text()
        );
    }
}
