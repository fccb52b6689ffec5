//! The pages: minijinja templates compiled into the binary (every file of
//! `templates/pages`, listed by `build.rs`), every visible string in one table
//! ([`STRINGS`], ready for translation) and the stylesheet.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::{Environment, Value, context};
use serde::Serialize;

use crate::error::log_failure;

/// Every string a person sees, by key. Templates use them as `t.<key>`.
#[derive(Debug, Clone, Serialize)]
pub struct Strings {
    /// Product name.
    pub product: &'static str,
    /// Title and heading of the sign-in page.
    pub sign_in_title: &'static str,
    /// Label of the email field.
    pub email: &'static str,
    /// Label of the password field.
    pub password: &'static str,
    /// The sign-in button.
    pub sign_in: &'static str,
    /// Unknown email or wrong password (the same message for both).
    pub bad_credentials: &'static str,
    /// A disabled account.
    pub account_disabled: &'static str,
    /// A person signing in to another organization's application.
    pub not_for_your_organization: &'static str,
    /// An expired temporary password.
    pub temporary_password_expired: &'static str,
    /// A page asked for something a rule refused (the account changed meanwhile).
    pub action_refused: &'static str,
    /// Something failed on our side.
    pub server_error: &'static str,
    /// Too many sign-ins at once: try again in a moment.
    pub busy: &'static str,
    /// A form handler was sent something that is not a form.
    pub not_a_form: &'static str,
    /// The sign-in took too long or the form was replayed.
    pub login_expired: &'static str,
    /// A form without a valid CSRF token.
    pub csrf_failed: &'static str,
    /// Heading of an error page.
    pub error_heading: &'static str,
    /// Heading of the signed-out page.
    pub signed_out_heading: &'static str,
    /// Message of the signed-out page.
    pub signed_out: &'static str,
    /// Title of the logout confirmation page.
    pub logout_title: &'static str,
    /// The question on the logout confirmation page.
    pub logout_question: &'static str,
    /// The checkbox that forgets this browser as a trusted device.
    pub forget_device: &'static str,
    /// The confirmation button.
    pub confirm: &'static str,
    /// The link to sign out on Verity's own pages.
    pub logout_link: &'static str,
    /// Verity's home page for a signed-in person.
    pub signed_in_as: &'static str,
    /// Verity's home page for someone not signed in.
    pub home_signed_out: &'static str,
    /// Heading of the sessions on the home page.
    pub sessions: &'static str,
    /// What the sessions are, above their list.
    pub sessions_intro: &'static str,
    /// A session's times: `{started}` and `{active}` are replaced.
    pub session_times: &'static str,
    /// The button that ends one session.
    pub sign_out: &'static str,
    /// The button that ends every session.
    pub sign_out_everywhere: &'static str,
    /// Heading of the trusted devices on the home page.
    pub trusted_devices: &'static str,
    /// What trusted devices are, above their list.
    pub trusted_devices_intro: &'static str,
    /// Instead of the list when no device is trusted.
    pub no_trusted_devices: &'static str,
    /// Marks the browser the page is shown in.
    pub this_device: &'static str,
    /// A device's dates: `{since}` and `{until}` are replaced.
    pub trusted_device_dates: &'static str,
    /// The button that forgets one trusted device.
    pub forget: &'static str,
    /// A form of Verity's own page posted without a session.
    pub not_signed_in: &'static str,
    /// Heading and button of the password change on Verity's own page.
    pub change_password: &'static str,
    /// Label of the current password there.
    pub current_password: &'static str,
    /// A wrong current password there.
    pub wrong_current_password: &'static str,
    /// After a password change there.
    pub password_changed: &'static str,
    /// What new recovery codes need on Verity's own page: `{app}` is replaced.
    pub new_codes_need_a_code: &'static str,
    /// The link from the new recovery codes back to Verity's own page.
    pub back_to_account: &'static str,
    /// Title of the new-password page.
    pub new_password_title: &'static str,
    /// Label of the new password field.
    pub new_password: &'static str,
    /// Label of the confirmation field.
    pub confirm_new_password: &'static str,
    /// The button that saves the new password.
    pub save_password: &'static str,
    /// Title of the authenticator set-up page.
    pub totp_setup_title: &'static str,
    /// Label of the app name field.
    pub app_name: &'static str,
    /// What the app name is for.
    pub app_name_hint: &'static str,
    /// Above the QR code.
    pub scan_qr: &'static str,
    /// The QR code's accessible name.
    pub qr_label: &'static str,
    /// Above the secret in text.
    pub or_enter_secret: &'static str,
    /// The method, stated.
    pub time_based: &'static str,
    /// Label of the code field.
    pub code: &'static str,
    /// The button that checks a code.
    pub verify: &'static str,
    /// Title of the recovery codes page.
    pub recovery_codes_title: &'static str,
    /// What recovery codes are for.
    pub recovery_codes_intro: &'static str,
    /// Under a new set of recovery codes: the old set is dead.
    pub recovery_codes_replaced: &'static str,
    /// The button after the recovery codes.
    pub continue_label: &'static str,
    /// Title of the page after a sign-in with a recovery code.
    pub recovery_used_title: &'static str,
    /// How many recovery codes are left; `{count}` is the number (2 or more).
    pub recovery_codes_left: &'static str,
    /// One recovery code left.
    pub one_recovery_code_left: &'static str,
    /// No recovery code left.
    pub no_recovery_codes_left: &'static str,
    /// What generating a new set does.
    pub regenerate_hint: &'static str,
    /// The button that generates a new set of recovery codes.
    pub generate_recovery_codes: &'static str,
    /// Title of the code page.
    pub mfa_title: &'static str,
    /// Heading of the code page; `{app}` is the app's name.
    pub mfa_heading: &'static str,
    /// The remember-this-device checkbox.
    pub remember_device: &'static str,
    /// In its place, for a person holding an admin role.
    pub code_every_time: &'static str,
    /// The warning under it.
    pub remember_device_warning: &'static str,
    /// Label of the recovery code field.
    pub recovery_code: &'static str,
    /// The button that uses a recovery code.
    pub use_recovery_code: &'static str,
    /// A wrong TOTP code.
    pub wrong_code: &'static str,
    /// A TOTP code used before.
    pub code_reused: &'static str,
    /// Too many wrong codes.
    pub mfa_locked: &'static str,
    /// A wrong or used recovery code.
    pub wrong_recovery_code: &'static str,
    /// Too many failed passwords.
    pub password_locked: &'static str,
    /// Too many failed sign-ins from one client address (`[sign_in] ip_max_failures`).
    pub ip_locked: &'static str,
    /// An app name that is empty or too long.
    pub app_name_invalid: &'static str,
}

/// The strings, in English.
pub const STRINGS: Strings = Strings {
    product: "Verity",
    sign_in_title: "Sign in",
    email: "Email",
    password: "Password",
    sign_in: "Sign in",
    bad_credentials: "The email or password is not correct.",
    account_disabled: "Your account is disabled. Ask your administrator.",
    not_for_your_organization: "This application is not available to your organization.",
    temporary_password_expired: "Your temporary password has expired — ask your administrator for a new one.",
    action_refused: "This could not be done: your account changed meanwhile. Start again from the application.",
    busy: "Verity is busy right now. Please try again in a moment.",
    server_error: "Something went wrong on our side.",
    not_a_form: "The request must be a form.",
    login_expired: "Your sign-in took too long or was already used. Go back to the application and start again.",
    csrf_failed: "This form could not be verified. Reload the page and try again.",
    error_heading: "Something is wrong",
    signed_out_heading: "Signed out",
    signed_out: "You are signed out.",
    logout_title: "Logout",
    logout_question: "Do you want to sign out?",
    forget_device: "Forget this device as trusted environment",
    confirm: "Confirm",
    logout_link: "Logout",
    signed_in_as: "You are signed in as",
    home_signed_out: "You are not signed in. Applications send you here when you sign in to them.",
    sessions: "Sessions",
    sessions_intro: "You are signed in on these browsers. Sign out of one you no longer use or do not recognise; signing out everywhere ends this one too.",
    session_times: "Signed in {started}, last active {active}",
    sign_out: "Sign out",
    sign_out_everywhere: "Sign out everywhere",
    trusted_devices: "Trusted devices",
    trusted_devices_intro: "Signing in from these browsers asks for no code. Forget one you no longer use or do not recognise.",
    no_trusted_devices: "No device is trusted: every sign-in asks for a code.",
    this_device: "This device",
    trusted_device_dates: "Trusted since {since}, until {until}",
    forget: "Forget",
    not_signed_in: "You are not signed in (any more). Sign in through your application again.",
    change_password: "Change password",
    current_password: "Current password",
    wrong_current_password: "The current password is not correct.",
    password_changed: "Your password is changed. Use the new one the next time you sign in.",
    new_codes_need_a_code: "To generate a new set, enter the current code from {app}. Your present recovery codes then stop working.",
    back_to_account: "Back to your account",
    new_password_title: "Choose a new password",
    new_password: "New password",
    confirm_new_password: "Confirm new password",
    save_password: "Save password",
    totp_setup_title: "Set up your authenticator app",
    app_name: "Authenticator app name",
    app_name_hint: "Only a hint for you: we show it when we ask for a code, e.g. \"Phone\".",
    scan_qr: "Scan this QR code with your authenticator app.",
    qr_label: "QR code for your authenticator app",
    or_enter_secret: "Or enter this secret in the app:",
    time_based: "The method is time-based (TOTP, SHA-1, 6 digits, a new code every 30 seconds), which every authenticator app supports.",
    code: "Code",
    verify: "Verify",
    recovery_codes_title: "Your recovery codes",
    recovery_codes_intro: "Keep these codes somewhere safe. Each works once in place of a code from your app, if you lose it. They are shown only now.",
    recovery_codes_replaced: "Your previous recovery codes no longer work.",
    continue_label: "Continue",
    recovery_used_title: "You used a recovery code",
    recovery_codes_left: "You have {count} unused recovery codes left.",
    one_recovery_code_left: "You have 1 unused recovery code left.",
    no_recovery_codes_left: "You have no unused recovery codes left. Generate new ones now: without them, losing your authenticator app would lock you out.",
    regenerate_hint: "Each recovery code works once. A new set replaces all your current codes, used or not, and is shown only once.",
    generate_recovery_codes: "Generate new recovery codes",
    mfa_title: "Enter your code",
    mfa_heading: "Enter the code from {app}",
    remember_device: "Remember this device",
    code_every_time: "You hold an admin role, so Verity asks for a code at every sign-in.",
    remember_device_warning: "Do not tick this on a public or shared computer: anyone using it could sign in as you with your password alone.",
    recovery_code: "Recovery code",
    use_recovery_code: "Use a recovery code",
    wrong_code: "That code is not correct. Enter the current code from your app.",
    code_reused: "That code was already used. Wait for the next code in your app.",
    mfa_locked: "Too many wrong codes. Entering codes is locked for 15 minutes.",
    wrong_recovery_code: "That recovery code is not valid or was already used.",
    password_locked: "Too many failed sign-ins for this account. Try again in 15 minutes.",
    ip_locked: "Too many failed sign-ins from your network. Try again later.",
    app_name_invalid: "Give the app a name of 1 to 64 characters.",
};

include!(concat!(env!("OUT_DIR"), "/templates.rs"));

/// The compiled templates.
pub struct Pages {
    environment: Environment<'static>,
    instance: String,
}

impl std::fmt::Debug for Pages {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Pages")
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

impl Pages {
    /// Compiles the templates shipped in `templates/pages`.
    pub fn new(instance: impl Into<String>) -> Result<Self, minijinja::Error> {
        let mut environment = Environment::new();
        environment.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        // Every file of templates/pages, listed by build.rs: a new page needs no list.
        for (name, source) in TEMPLATES {
            environment.add_template(name, source)?;
        }
        Ok(Self {
            environment,
            instance: instance.into(),
        })
    }

    /// Renders `template` with `values` plus the strings and the instance name.
    pub fn render(&self, template: &str, values: Value) -> Result<String, minijinja::Error> {
        let template = self.environment.get_template(template)?;
        template.render(context! { t => Value::from(minijinja::value::Serde(STRINGS)), instance => self.instance.as_str(), ..values })
    }

    /// A page for one person (a sign-in step, their own page) with `status`, never
    /// cached (`Cache-Control: no-store`); a template that fails to render is a 500.
    pub fn personal(&self, status: StatusCode, template: &str, values: Value) -> Response {
        match self.render(template, values) {
            Ok(html) => {
                let mut response = (status, Html(html)).into_response();
                response
                    .headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                response
            }
            Err(error) => crate::error::HttpError::internal(template, &error).into_response(),
        }
    }

    /// A message page (errors, signed out) with `status`.
    pub fn message(
        &self,
        status: StatusCode,
        heading: &str,
        message: &str,
        is_error: bool,
    ) -> Response {
        match self.render("message.html", context! { heading, message, is_error }) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(error) => {
                log_failure("rendering a message page", &error);
                (StatusCode::INTERNAL_SERVER_ERROR, "error").into_response()
            }
        }
    }

    /// An error page that never redirects.
    pub fn error(&self, status: StatusCode, message: &str) -> Response {
        self.message(status, STRINGS.error_heading, message, true)
    }
}

/// The stylesheet.
pub(crate) async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../../templates/static/style.css"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recovery_used(remaining: usize, remaining_text: &str) -> String {
        Pages::new("Test")
            .unwrap()
            .render(
                "recovery_used.html",
                context! { tx => "the-tx", csrf => "the-csrf", remaining, remaining_text },
            )
            .unwrap()
    }

    #[test]
    fn the_recovery_used_page_offers_both_forms_with_tx_and_csrf() {
        let html = recovery_used(9, "You have 9 unused recovery codes left.");
        assert!(html.contains("You used a recovery code"), "{html}");
        assert!(html.contains("9 unused recovery codes"), "{html}");
        for action in ["/login/recovery/regenerate", "/login/continue"] {
            let form = html
                .split(&format!("action=\"{action}\""))
                .nth(1)
                .and_then(|rest| rest.split("</form>").next())
                .unwrap_or_else(|| panic!("no form for {action}: {html}"));
            assert!(form.contains("name=\"tx\" value=\"the-tx\""), "{form}");
            assert!(form.contains("name=\"csrf\" value=\"the-csrf\""), "{form}");
        }
        // With codes left, continuing is the first (primary) action.
        let continue_at = html.find("/login/continue").unwrap();
        let generate_at = html.find("/login/recovery/regenerate").unwrap();
        assert!(continue_at < generate_at, "{html}");
        assert!(!html.contains("<script"));
    }

    #[test]
    fn without_codes_left_generating_comes_first() {
        let html = recovery_used(0, STRINGS.no_recovery_codes_left);
        assert!(html.contains("no unused recovery codes"), "{html}");
        let continue_at = html.find("/login/continue").unwrap();
        let generate_at = html.find("/login/recovery/regenerate").unwrap();
        assert!(generate_at < continue_at, "{html}");
        // Continue stays possible, as the secondary action.
        assert!(
            html.contains("action=\"/login/continue\" class=\"secondary\""),
            "{html}"
        );
    }
}
