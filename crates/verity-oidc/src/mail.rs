//! The emails Verity sends, rendered from `templates/email`, and the [`Mailer`] port
//! that delivers them (docs/email.md).
//!
//! Rendering is here, pure; delivery is the binary's choice (SMTP through lettre, or
//! `.eml` files in the outbox when no SMTP server is configured). Every sentence of an
//! email is in [`MAIL_STRINGS`], ready for translation.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use minijinja::{Environment, context};
use verity_domain::Email;

/// Every sentence of the emails. `{instance}`, `{name}`, `{days}` and `{expires}` are
/// filled in.
#[derive(Debug, Clone, Copy)]
pub struct MailStrings {
    /// The `lang` of the HTML body.
    pub lang: &'static str,
    /// Subject of the email sent when an account is created.
    pub subject_created: &'static str,
    /// Subject of the email sent when an admin issues a new temporary password.
    pub subject_reset: &'static str,
    /// First line.
    pub greeting: &'static str,
    /// Why the email came, for a new account.
    pub intro_created: &'static str,
    /// Why the email came, for a new temporary password.
    pub intro_reset: &'static str,
    /// Label before the address.
    pub email_label: &'static str,
    /// Label before the temporary password.
    pub password_label: &'static str,
    /// Label before the sign-in URL.
    pub sign_in_label: &'static str,
    /// The HTML body's button.
    pub sign_in_button: &'static str,
    /// When the temporary password stops working, and what comes next.
    pub expiry: &'static str,
    /// What to do once it has expired.
    pub expired_help: &'static str,
    /// The closing warning.
    pub ignore: &'static str,
}

/// The strings, in English.
pub const MAIL_STRINGS: MailStrings = MailStrings {
    lang: "en",
    subject_created: "Your {instance} account",
    subject_reset: "Your new temporary password for {instance}",
    greeting: "Hello {name},",
    intro_created: "An administrator has created an account for you at {instance}. Sign in with this temporary password:",
    intro_reset: "An administrator has issued a new temporary password for your account at {instance}. Your previous password no longer works. Sign in with this temporary password:",
    email_label: "Email:",
    password_label: "Temporary password:",
    sign_in_label: "Sign in at:",
    sign_in_button: "Sign in",
    expiry: "The temporary password works until you choose your own password when you first sign in, and expires in {days} days, on {expires}.",
    expired_help: "If it has expired, ask your administrator for a new one.",
    ignore: "If you did not expect this email, tell your administrator. Never share this password: {instance} will never ask you for it.",
};

/// An email ready to be delivered.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// The recipient.
    pub to: Email,
    /// The recipient's display name.
    pub to_name: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

impl std::fmt::Debug for OutgoingMail {
    // The bodies carry the temporary password: never in a log or an assertion message.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("OutgoingMail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Why an email was not rendered or delivered.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// A template failed to render (a bug in a template).
    #[error("rendering the email failed: {0}")]
    Render(String),
    /// An address (sender or recipient) is not usable.
    #[error("invalid email address: {0}")]
    Address(String),
    /// The SMTP server could not be reached or refused the message.
    #[error("the email could not be sent: {0}")]
    Send(String),
    /// The outbox file could not be written.
    #[error("the email could not be written to the outbox: {0}")]
    Outbox(String),
}

/// Where a delivered email went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// Accepted by the SMTP server.
    Smtp {
        /// The server's answer to the end of the message.
        response: String,
    },
    /// Written as an `.eml` file (no SMTP server configured).
    Outbox {
        /// The file.
        path: PathBuf,
    },
}

/// Delivers emails. The binary picks the implementation; the HTTP layer and the CLI hold
/// an `Arc<dyn Mailer>`.
#[async_trait::async_trait]
pub trait Mailer: Send + Sync {
    /// Delivers one email, or says why not. Returning `Ok` means the SMTP server accepted
    /// it (or the outbox file is written), not that the person has read it.
    async fn send(&self, mail: &OutgoingMail) -> Result<Delivered, MailError>;
}

/// What the temporary-password email says.
#[derive(Clone, Copy)]
pub struct TemporaryPasswordMail<'a> {
    /// The instance's display name.
    pub instance: &'a str,
    /// The person's address.
    pub email: &'a Email,
    /// The person's display name.
    pub name: &'a str,
    /// The temporary password, in clear: only ever in this email.
    pub temporary_password: &'a str,
    /// Where to sign in.
    pub sign_in_url: &'a str,
    /// When the temporary password stops working.
    pub expires_at: DateTime<Utc>,
    /// Its lifetime in days, as configured.
    pub valid_days: u32,
    /// A new account, or a new temporary password for an existing one.
    pub reason: TemporaryPasswordReason,
}

/// Why a temporary password is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemporaryPasswordReason {
    /// `verity user create`.
    AccountCreated,
    /// `verity user reset-password`.
    PasswordReset,
}

/// The compiled email templates.
pub struct MailTemplates {
    environment: Environment<'static>,
}

impl std::fmt::Debug for MailTemplates {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("MailTemplates")
            .finish_non_exhaustive()
    }
}

impl MailTemplates {
    /// Compiles the templates shipped in `templates/email`.
    pub fn new() -> Result<Self, MailError> {
        let mut environment = Environment::new();
        // `.html` is escaped for HTML, `.txt` is not escaped (minijinja's default).
        for (name, source) in [
            (
                "temporary_password.txt",
                include_str!("../../../templates/email/temporary_password.txt"),
            ),
            (
                "temporary_password.html",
                include_str!("../../../templates/email/temporary_password.html"),
            ),
        ] {
            environment
                .add_template(name, source)
                .map_err(|error| MailError::Render(error.to_string()))?;
        }
        Ok(Self { environment })
    }

    /// The email that gives a person their temporary password.
    pub fn temporary_password(
        &self,
        mail: &TemporaryPasswordMail<'_>,
    ) -> Result<OutgoingMail, MailError> {
        let strings = &MAIL_STRINGS;
        let expires = mail.expires_at.format("%Y-%m-%d %H:%M UTC").to_string();
        let days = mail.valid_days.to_string();
        let fill = |template: &str| {
            template
                .replace("{instance}", mail.instance)
                .replace("{name}", mail.name)
                .replace("{days}", &days)
                .replace("{expires}", &expires)
        };
        let (subject, intro) = match mail.reason {
            TemporaryPasswordReason::AccountCreated => {
                (strings.subject_created, strings.intro_created)
            }
            TemporaryPasswordReason::PasswordReset => (strings.subject_reset, strings.intro_reset),
        };
        let subject = fill(subject);
        let values = context! {
            s => context! {
                lang => strings.lang,
                greeting => fill(strings.greeting),
                intro => fill(intro),
                email_label => strings.email_label,
                password_label => strings.password_label,
                sign_in_label => strings.sign_in_label,
                sign_in_button => strings.sign_in_button,
                expiry => fill(strings.expiry),
                expired_help => strings.expired_help,
                ignore => fill(strings.ignore),
            },
            subject => subject.as_str(),
            email => mail.email.as_str(),
            temporary_password => mail.temporary_password,
            sign_in_url => mail.sign_in_url,
        };
        Ok(OutgoingMail {
            to: mail.email.clone(),
            to_name: mail.name.to_owned(),
            subject: subject.clone(),
            text: self.render("temporary_password.txt", &values)?,
            html: self.render("temporary_password.html", &values)?,
        })
    }

    fn render(&self, name: &str, values: &minijinja::Value) -> Result<String, MailError> {
        self.environment
            .get_template(name)
            .and_then(|template| template.render(values))
            .map_err(|error| MailError::Render(error.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail<'a>(email: &'a Email, reason: TemporaryPasswordReason) -> TemporaryPasswordMail<'a> {
        TemporaryPasswordMail {
            instance: "Acme ID",
            email,
            name: "Ada <Lovelace>",
            temporary_password: "Kq7mZt4hWx9cRb2nPs3v",
            sign_in_url: "https://id.example.org/?a=1&b=2",
            expires_at: DateTime::parse_from_rfc3339("2026-12-05T10:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            valid_days: 7,
            reason,
        }
    }

    #[test]
    fn the_email_gives_the_password_the_url_and_the_expiry_in_both_bodies() {
        let email = Email::parse("ada@example.org").unwrap();
        let rendered = MailTemplates::new()
            .unwrap()
            .temporary_password(&mail(&email, TemporaryPasswordReason::AccountCreated))
            .unwrap();
        assert_eq!(rendered.subject, "Your Acme ID account");
        assert_eq!(rendered.to, email);
        for body in [&rendered.text, &rendered.html] {
            assert!(body.contains("Kq7mZt4hWx9cRb2nPs3v"), "{body}");
            assert!(body.contains("expires in 7 days, on 2026-12-05 10:00 UTC"));
            assert!(body.contains("ada@example.org"));
        }
        // Text is text; HTML is escaped.
        assert!(rendered.text.contains("Hello Ada <Lovelace>,"));
        assert!(
            rendered
                .text
                .contains("Sign in at: https://id.example.org/?a=1&b=2")
        );
        assert!(rendered.html.contains("Hello Ada &lt;Lovelace&gt;,"));
        assert!(
            rendered.html.contains("?a=1&amp;b=2\""),
            "the URL is escaped in the attribute"
        );
        assert!(!rendered.text.contains("{{") && !rendered.text.contains('{'));
    }

    #[test]
    fn a_reset_says_the_previous_password_no_longer_works() {
        let email = Email::parse("ada@example.org").unwrap();
        let rendered = MailTemplates::new()
            .unwrap()
            .temporary_password(&mail(&email, TemporaryPasswordReason::PasswordReset))
            .unwrap();
        assert_eq!(rendered.subject, "Your new temporary password for Acme ID");
        assert!(
            rendered
                .text
                .contains("Your previous password no longer works.")
        );
    }

    #[test]
    fn debug_output_does_not_show_the_bodies() {
        let email = Email::parse("ada@example.org").unwrap();
        let rendered = MailTemplates::new()
            .unwrap()
            .temporary_password(&mail(&email, TemporaryPasswordReason::AccountCreated))
            .unwrap();
        assert!(!format!("{rendered:?}").contains("Kq7mZt4hWx9cRb2nPs3v"));
    }
}
