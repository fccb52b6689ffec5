//! Email delivery (docs/email.md): SMTP through lettre when `[smtp] host` is set, else
//! `.eml` files in `<data_dir>/outbox/`. Both implement the [`Mailer`] port that
//! `verity-oidc` defines, so the CLI and the server hold an `Arc<dyn Mailer>`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use verity_oidc::mail::{Delivered, MailError, Mailer, OutgoingMail};

use crate::config::{Config, SmtpTls};

/// The folder of `.eml` files when no SMTP server is configured.
pub fn outbox_dir(config: &Config) -> PathBuf {
    config.store.data_dir.join("outbox")
}

/// The mailer the configuration asks for: SMTP when `[smtp] host` is set, else the
/// outbox.
pub fn mailer(config: &Config) -> Result<Arc<dyn Mailer>, MailError> {
    if config.smtp.host.trim().is_empty() {
        let from = if config.smtp.from.trim().is_empty() {
            format!("{} <no-reply@localhost>", config.instance.name)
        } else {
            config.smtp.from.clone()
        };
        Ok(Arc::new(OutboxMailer::new(outbox_dir(config), &from)?))
    } else {
        Ok(Arc::new(SmtpMailer::new(config)?))
    }
}

/// The mailer the configuration asks for, built when an email is sent: a command that
/// sends nothing never reads `[smtp]`, and a configuration that cannot send fails that
/// email (which records nothing), like an unreachable server.
#[derive(Clone)]
pub struct ConfiguredMailer {
    config: Arc<Config>,
}

impl std::fmt::Debug for ConfiguredMailer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ConfiguredMailer")
            .finish_non_exhaustive()
    }
}

impl ConfiguredMailer {
    /// A mailer for `config`.
    pub fn new(config: Config) -> Self {
        Self {
            config: Arc::new(config),
        }
    }
}

#[async_trait::async_trait]
impl Mailer for ConfiguredMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<Delivered, MailError> {
        mailer(&self.config)?.send(mail).await
    }
}

/// Builds the MIME message: `multipart/alternative` with the text and the HTML body.
fn message(from: &Mailbox, mail: &OutgoingMail) -> Result<Message, MailError> {
    let address = mail
        .to
        .as_str()
        .parse()
        .map_err(|error| MailError::Address(format!("{}: {error}", mail.to)))?;
    let to = Mailbox::new(Some(mail.to_name.clone()), address);
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            mail.html.clone(),
        ))
        .map_err(|error| MailError::Render(error.to_string()))
}

fn parse_from(from: &str) -> Result<Mailbox, MailError> {
    from.trim()
        .parse()
        .map_err(|error| MailError::Address(format!("[smtp] from {from:?}: {error}")))
}

/// Delivers through an SMTP server.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    server: String,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SmtpMailer")
            .field("server", &self.server)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A transport to `[smtp] host:port` with the configured protection and credentials.
    pub fn new(config: &Config) -> Result<Self, MailError> {
        let smtp = &config.smtp;
        let host = smtp.host.trim();
        let builder = match smtp.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(|error| MailError::Send(error.to_string()))?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .map_err(|error| MailError::Send(error.to_string()))?,
        };
        let mut builder = builder
            .port(smtp.port)
            .timeout(Some(Duration::from_secs(smtp.timeout_seconds)));
        if !smtp.user.is_empty() {
            let password = smtp
                .password
                .as_ref()
                .map(|password| password.expose().to_owned())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(smtp.user.clone(), password));
        }
        Ok(Self {
            transport: builder.build(),
            from: parse_from(&smtp.from)?,
            server: format!("{host}:{}", smtp.port),
        })
    }
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<Delivered, MailError> {
        let message = message(&self.from, mail)?;
        let response =
            self.transport.send(message).await.map_err(|error| {
                MailError::Send(format!("SMTP server {}: {error}", self.server))
            })?;
        let response = format!(
            "{} {}",
            response.code(),
            response.message().collect::<Vec<_>>().join(" ")
        );
        tracing::info!(to = %mail.to, server = %self.server, %response, "email sent");
        Ok(Delivered::Smtp { response })
    }
}

/// Writes each email as an `.eml` file (RFC 5322, readable by any mail program), for
/// instances without an SMTP server. The files hold temporary passwords: they are
/// created with mode 0600.
#[derive(Debug)]
pub struct OutboxMailer {
    dir: PathBuf,
    from: Mailbox,
}

impl OutboxMailer {
    /// An outbox in `dir` (created at the first email).
    pub fn new(dir: PathBuf, from: &str) -> Result<Self, MailError> {
        Ok(Self {
            dir,
            from: parse_from(from)?,
        })
    }
}

#[async_trait::async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<Delivered, MailError> {
        let bytes = message(&self.from, mail)?.formatted();
        let name = format!(
            "{}-{}.eml",
            crate::app::now().format("%Y%m%dT%H%M%SZ"),
            verity_oidc::random::uuid()
        );
        let path = self.dir.join(name);
        let written = path.clone();
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || write_private(&dir, &written, &bytes))
            .await
            .map_err(|error| MailError::Outbox(error.to_string()))?
            .map_err(|error| MailError::Outbox(format!("{}: {error}", path.display())))?;
        tracing::info!(to = %mail.to, path = %path.display(), "no SMTP server configured; email written to the outbox");
        Ok(Delivered::Outbox { path })
    }
}

/// Creates `path` (new, never overwriting) readable by the owner only, in `dir` (created
/// 0700 when missing).
fn write_private(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    verity_oidc::private_files::create_private_dir(dir)?;
    verity_oidc::private_files::write_private_file(path, bytes)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use verity_domain::Email;
    use verity_oidc::mail::{MailTemplates, TemporaryPasswordMail, TemporaryPasswordReason};

    use super::*;

    fn outgoing() -> OutgoingMail {
        let email = Email::parse("ada@example.org").unwrap();
        MailTemplates::new()
            .unwrap()
            .temporary_password(&TemporaryPasswordMail {
                instance: "Verity",
                email: &email,
                name: "Ada Lovelace",
                temporary_password: "Kq7mZt4hWx9cRb2nPs3v",
                sign_in_url: "http://127.0.0.1:8080",
                expires_at: DateTime::parse_from_rfc3339("2026-12-05T10:00:00Z")
                    .unwrap()
                    .with_timezone(&Utc),
                valid_days: 7,
                reason: TemporaryPasswordReason::AccountCreated,
            })
            .unwrap()
    }

    #[tokio::test]
    async fn the_outbox_holds_a_private_eml_file_with_both_bodies() {
        let dir = tempfile::tempdir().unwrap();
        let outbox =
            OutboxMailer::new(dir.path().join("outbox"), "Verity <no-reply@localhost>").unwrap();
        let Delivered::Outbox { path } = outbox.send(&outgoing()).await.unwrap() else {
            panic!("expected an outbox file");
        };
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("To: \"Ada Lovelace\" <ada@example.org>"),
            "{text}"
        );
        assert!(text.contains("Subject: Your Verity account"));
        assert!(text.contains("multipart/alternative"));
        assert!(text.contains("text/html"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_sender_that_is_not_an_address_is_refused() {
        let error = OutboxMailer::new(PathBuf::from("outbox"), "not an address").unwrap_err();
        assert!(matches!(error, MailError::Address(_)), "{error}");
    }
}
