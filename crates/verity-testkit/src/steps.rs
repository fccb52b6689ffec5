//! The sign-in journey as typed steps: each posts the form a page shows (with its `tx`
//! and `csrf`) the way a person fills it in, and returns the next [`Page`]. Verity's own
//! page and the logout confirmation are here too. [`Agent::sign_in_as`] walks the whole
//! journey for a [`Person`], whatever steps the server asks for.

use crate::agent::{Agent, Transport, encode};
use crate::page::{Page, Step};
use crate::totp::Authenticator;

/// The password test people choose when asked for a new one (long, uncommon, strong).
pub const CHOSEN_PASSWORD: &str = "Violet-Harbor-Quartz-7391-Lantern";

/// The name test people give their authenticator app.
pub const APP_NAME: &str = "Test phone";

/// What the person at the keyboard knows: their address and password, their
/// authenticator app, the recovery codes they wrote down. Clone it to give a second
/// browser the same person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The address they sign in with.
    pub email: String,
    /// The password that works now (temporary until they choose one).
    pub password: String,
    /// Their authenticator app, once set up.
    pub authenticator: Option<Authenticator>,
    /// The recovery codes they were last shown.
    pub recovery_codes: Vec<String>,
}

impl Person {
    /// Someone who knows `email` and `password` and has no app yet.
    pub fn new(email: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            email: email.into(),
            password: password.into(),
            authenticator: None,
            recovery_codes: Vec::new(),
        }
    }

    /// The same person holding an app with `secret` (Base32).
    pub fn with_authenticator(mut self, secret: impl Into<String>) -> Self {
        self.authenticator = Some(Authenticator::new(secret));
        self
    }

    /// A fresh code from their app.
    ///
    /// # Panics
    ///
    /// When the person has no app.
    // A person without an app asked for a code is a broken test.
    #[allow(clippy::panic)]
    pub async fn next_code(&mut self) -> String {
        match &mut self.authenticator {
            Some(app) => app.next_code().await,
            None => panic!("{} has no authenticator app", self.email),
        }
    }
}

/// New passwords "Choose a new password" refuses, each with its confirmation and a phrase
/// of the refusal: too short, not confirmed, common, made of the email address (of
/// someone whose address starts `grace@`), and `temporary`, the password it replaces.
pub fn refused_passwords(temporary: &str) -> [(&str, &str, &'static str); 5] {
    [
        ("short", "short", "at least 12 characters"),
        (
            "correct horse battery staple",
            "correct horse battery stapl",
            "not the same",
        ),
        (
            "password1234",
            "password1234",
            "common and leaked passwords",
        ),
        (
            "grace-grace-grace-2026",
            "grace-grace-grace-2026",
            "email address",
        ),
        (temporary, temporary, "temporary password"),
    ]
}

/// Whether the person ticks "Remember this device" when they enter a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// They tick it: the browser becomes a trusted device.
    Remember,
    /// They leave it: the next sign-in asks for a code again.
    Forget,
}

impl<T: Transport> Agent<T> {
    /// `GET /authorize?query`.
    pub async fn authorize(&mut self, query: &str) -> Page {
        self.get(&format!("/authorize?{query}")).await
    }

    /// Posts the form of `page` that goes to `action`, with the page's `tx` and `csrf`
    /// and `fields`.
    ///
    /// # Panics
    ///
    /// When the page has no `tx` or `csrf` field.
    #[allow(clippy::panic)]
    pub async fn submit(&mut self, page: &Page, action: &str, fields: &[(&str, &str)]) -> Page {
        let (Some(tx), Some(csrf)) = (page.tx(), page.csrf()) else {
            panic!(
                "expected a sign-in step with tx and csrf, got {} {:?}: {}",
                page.status,
                page.step(),
                page.body
            );
        };
        let mut form = vec![("tx", tx.as_str()), ("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        self.post(action, &form).await
    }

    /// "Sign in": email and password.
    pub async fn sign_in(&mut self, page: &Page, email: &str, password: &str) -> Page {
        self.submit(page, "/login", &[("email", email), ("password", password)])
            .await
    }

    /// "Choose a new password": the new password and its confirmation.
    pub async fn choose_password(&mut self, page: &Page, new: &str, confirm: &str) -> Page {
        let fields = [("new_password", new), ("confirm_password", confirm)];
        self.submit(page, "/login/password", &fields).await
    }

    /// "Set up your authenticator app": the app's name and its first code.
    pub async fn enroll(&mut self, page: &Page, app_name: &str, code: &str) -> Page {
        let fields = [("app_name", app_name), ("code", code)];
        self.submit(page, "/login/totp", &fields).await
    }

    /// "Enter the code from (app)", leaving "Remember this device" unticked.
    pub async fn code(&mut self, page: &Page, code: &str) -> Page {
        self.submit(page, "/login/mfa", &[("code", code)]).await
    }

    /// "Enter the code from (app)", ticking "Remember this device".
    pub async fn code_remembering_device(&mut self, page: &Page, code: &str) -> Page {
        let fields = [("code", code), ("remember_device", "yes")];
        self.submit(page, "/login/mfa", &fields).await
    }

    /// "Use a recovery code" on the code page.
    pub async fn recovery_code(&mut self, page: &Page, code: &str) -> Page {
        self.submit(page, "/login/recovery", &[("recovery_code", code)])
            .await
    }

    /// "Continue" after the recovery codes or "You used a recovery code".
    pub async fn continue_(&mut self, page: &Page) -> Page {
        self.submit(page, "/login/continue", &[]).await
    }

    /// "Generate new recovery codes" after a sign-in with one.
    pub async fn generate_recovery_codes(&mut self, page: &Page) -> Page {
        self.submit(page, "/login/recovery/regenerate", &[]).await
    }

    /// `GET /logout?query` (`query` may be empty): the confirmation page, or the answer
    /// when nobody is signed in.
    pub async fn logout(&mut self, query: &str) -> Page {
        if query.is_empty() {
            self.get("/logout").await
        } else {
            self.get(&format!("/logout?{query}")).await
        }
    }

    /// "Confirm" on the logout page, leaving "Forget this device as trusted environment"
    /// unticked.
    pub async fn confirm_logout(&mut self, page: &Page) -> Page {
        self.post_logout(page, &[]).await
    }

    /// "Confirm" on the logout page with "Forget this device as trusted environment"
    /// ticked.
    pub async fn confirm_logout_forgetting_device(&mut self, page: &Page) -> Page {
        self.post_logout(page, &[("forget_device", "yes")]).await
    }

    #[allow(clippy::panic)]
    async fn post_logout(&mut self, page: &Page, extra: &[(&str, &str)]) -> Page {
        if page.step() != Step::Logout {
            panic!(
                "expected the logout page, got {}: {}",
                page.status, page.body
            );
        }
        let values: Vec<(&str, String)> =
            ["csrf", "client_id", "post_logout_redirect_uri", "state"]
                .into_iter()
                .filter_map(|name| page.field(name).map(|value| (name, value)))
                .collect();
        let mut form: Vec<(&str, &str)> = vec![("confirm", "yes")];
        form.extend(values.iter().map(|(name, value)| (*name, value.as_str())));
        form.extend_from_slice(extra);
        self.post("/logout", &form).await
    }

    /// Asks to log out and confirms, leaving the device trusted: the answer.
    pub async fn log_out(&mut self) -> Page {
        let asked = self.logout("").await;
        self.confirm_logout(&asked).await
    }

    /// Verity's own page, `GET /`.
    pub async fn account(&mut self) -> Page {
        self.get("/").await
    }

    /// "Change password" on Verity's own page `page`.
    pub async fn change_password(
        &mut self,
        page: &Page,
        current: &str,
        new: &str,
        confirm: &str,
    ) -> Page {
        let csrf = page.csrf().unwrap_or_default();
        let fields = [
            ("csrf", csrf.as_str()),
            ("current_password", current),
            ("new_password", new),
            ("confirm_password", confirm),
        ];
        self.post("/password", &fields).await
    }

    /// "Forget" for the trusted device `device` (its id on the page) on Verity's own page.
    pub async fn forget_device(&mut self, page: &Page, device: &str) -> Page {
        let csrf = page.csrf().unwrap_or_default();
        let fields = [("csrf", csrf.as_str()), ("device", device)];
        self.post("/devices/forget", &fields).await
    }

    /// "Generate new recovery codes" on Verity's own page, with a current code.
    pub async fn new_recovery_codes(&mut self, page: &Page, code: &str) -> Page {
        let csrf = page.csrf().unwrap_or_default();
        self.post(
            "/recovery-codes",
            &[("csrf", csrf.as_str()), ("code", code)],
        )
        .await
    }

    /// Opens the authorization request `query` and submits the person's address and
    /// password: the page after the password (the next step, a refusal, or the redirect).
    pub async fn authorize_and_sign_in(&mut self, query: &str, person: &Person) -> Page {
        let form = self.authorize(query).await;
        self.sign_in(&form, &person.email, &person.password).await
    }

    /// Signs `person` in from the sign-in form `page` and walks the journey after it:
    /// a new password ([`CHOSEN_PASSWORD`]) instead of a temporary one, the authenticator
    /// set-up ([`APP_NAME`]), the recovery codes (noted down), the code (ticking
    /// "Remember this device" or not, as `device` says). Returns the first page that is
    /// not one of those steps: usually the redirect back to the client.
    ///
    /// # Panics
    ///
    /// When `page` is not the sign-in form.
    #[allow(clippy::panic)]
    pub async fn sign_in_as(&mut self, page: &Page, person: &mut Person, device: Device) -> Page {
        if page.step() != Step::SignIn {
            panic!(
                "expected the sign-in form, got {} {:?}: {}",
                page.status,
                page.step(),
                page.body
            );
        }
        let password = person.password.clone();
        let next = self.sign_in(page, &person.email, &password).await;
        self.walk(next, person, device).await
    }

    /// Walks the journey from `page` (any step after the password) as
    /// [`Agent::sign_in_as`] does. A step that is refused again and again (a journey has
    /// at most four) ends the walk on the refusal.
    pub async fn walk(&mut self, mut page: Page, person: &mut Person, device: Device) -> Page {
        for _ in 0..8 {
            page = match page.step() {
                Step::ChoosePassword => {
                    let next = self
                        .choose_password(&page, CHOSEN_PASSWORD, CHOSEN_PASSWORD)
                        .await;
                    if next.step() != Step::ChoosePassword {
                        CHOSEN_PASSWORD.clone_into(&mut person.password);
                    }
                    next
                }
                Step::SetUpAuthenticator => {
                    let Some(secret) = page.totp_secret() else {
                        return page;
                    };
                    let mut app = Authenticator::new(secret);
                    let code = app.next_code().await;
                    person.authenticator = Some(app);
                    self.enroll(&page, APP_NAME, &code).await
                }
                Step::RecoveryCodes if page.has_form("/login/continue") => {
                    person.recovery_codes = page.recovery_codes();
                    self.continue_(&page).await
                }
                Step::Code if person.authenticator.is_some() => {
                    let code = person.next_code().await;
                    match device {
                        Device::Remember => self.code_remembering_device(&page, &code).await,
                        Device::Forget => self.code(&page, &code).await,
                    }
                }
                _ => return page,
            };
        }
        page
    }

    /// Opens the authorization request `query`, signs `person` in if the server asks, and
    /// returns the redirect back to the client.
    pub async fn code_flow(&mut self, query: &str, person: &mut Person, device: Device) -> Page {
        let page = self.authorize(query).await;
        if page.step() == Step::SignIn {
            self.sign_in_as(&page, person, device).await
        } else {
            page
        }
    }
}

/// The query of an authorization request (`GET /authorize?...`), built parameter by
/// parameter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Authorization {
    params: Vec<(String, String)>,
}

impl Authorization {
    /// A code-flow request: `response_type=code`, `client_id`, `redirect_uri` and
    /// `scope=openid`.
    pub fn code(client_id: &str, redirect_uri: &str) -> Self {
        Self::default()
            .with("response_type", "code")
            .with("client_id", client_id)
            .with("redirect_uri", redirect_uri)
            .with("scope", "openid")
    }

    /// Sets `name` to `value` (replacing an earlier value).
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.params.retain(|(key, _)| key != name);
        self.params.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds `name=value` even if `name` is there already (a repeated parameter).
    pub fn repeat(mut self, name: &str, value: &str) -> Self {
        self.params.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Removes `name`.
    pub fn without(mut self, name: &str) -> Self {
        self.params.retain(|(key, _)| key != name);
        self
    }

    /// A PKCE S256 challenge for `verifier`.
    pub fn pkce(self, verifier: &str) -> Self {
        self.with("code_challenge", &crate::oauth::pkce_challenge(verifier))
            .with("code_challenge_method", "S256")
    }

    /// The query string.
    pub fn query(&self) -> String {
        self.params
            .iter()
            .map(|(name, value)| format!("{name}={}", encode(value)))
            .collect::<Vec<_>>()
            .join("&")
    }
}
