//! What came back from the server, read the way a person (or a relying party) reads it:
//! which step of the sign-in the page shows, its hidden `tx` and `csrf` fields, the error
//! it announces, where a redirect goes.

use bytes::Bytes;
use http::header::{LOCATION, RETRY_AFTER};
use http::{HeaderMap, Response};

/// Which page the server showed, told apart by the form it carries (the pages are
/// Verity's templates; see `templates/pages`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A redirect (3xx with `Location`): back to the client, or within Verity.
    Redirect,
    /// "Sign in": email and password (`POST /login`).
    SignIn,
    /// "Choose a new password" (`POST /login/password`).
    ChoosePassword,
    /// "Set up your authenticator app" (`POST /login/totp`).
    SetUpAuthenticator,
    /// "Enter the code from (app)" with the recovery-code form (`POST /login/mfa`).
    Code,
    /// "Your recovery codes", shown once (during a sign-in with "Continue", or on
    /// Verity's own page with a link back).
    RecoveryCodes,
    /// "You used a recovery code": "Generate new recovery codes" and "Continue".
    RecoveryCodeUsed,
    /// "Do you want to sign out?" (`POST /logout`).
    Logout,
    /// Verity's own page for a signed-in person (`GET /`).
    Account,
    /// A page with a heading and a message: errors, "You are signed out", the home page
    /// of someone not signed in.
    Message,
    /// Anything else (JSON, plain text, an empty body).
    Other,
}

/// One answer: status, headers and body.
#[derive(Debug, Clone)]
pub struct Page {
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body as text (lossy UTF-8).
    pub body: String,
}

impl Page {
    /// Reads a response.
    pub fn from_response(response: Response<Bytes>) -> Self {
        let status = response.status().as_u16();
        let (parts, body) = response.into_parts();
        Self {
            status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// Which page this is.
    pub fn step(&self) -> Step {
        if (300..400).contains(&self.status) && self.location().is_some() {
            return Step::Redirect;
        }
        let has = |action: &str| self.has_form(action);
        if has("/login") {
            Step::SignIn
        } else if has("/login/password") {
            Step::ChoosePassword
        } else if has("/login/totp") {
            Step::SetUpAuthenticator
        } else if has("/login/mfa") {
            Step::Code
        } else if has("/login/recovery/regenerate") {
            Step::RecoveryCodeUsed
        } else if self.body.contains("<ul class=\"codes\"") {
            Step::RecoveryCodes
        } else if has("/logout") {
            Step::Logout
        } else if has("/password") {
            Step::Account
        } else if self.body.contains("<main class=\"card\">") {
            Step::Message
        } else {
            Step::Other
        }
    }

    /// Whether the page has a form posting to `action`.
    pub fn has_form(&self, action: &str) -> bool {
        self.body.contains(&format!("action=\"{action}\""))
    }

    /// Where the form posting to `action` starts in the body (to compare the order of
    /// forms), if there is one.
    pub fn form_position(&self, action: &str) -> Option<usize> {
        self.body.find(&format!("action=\"{action}\""))
    }

    /// The login transaction of a sign-in step (the hidden `tx` field).
    pub fn tx(&self) -> Option<String> {
        self.field("tx")
    }

    /// The CSRF token of the page's forms (the hidden `csrf` field).
    pub fn csrf(&self) -> Option<String> {
        self.field("csrf")
    }

    /// The value of the first field named `name`, HTML escapes undone.
    pub fn field(&self, name: &str) -> Option<String> {
        self.fields(name).into_iter().next()
    }

    /// The values of every field named `name`, in order, HTML escapes undone.
    pub fn fields(&self, name: &str) -> Vec<String> {
        field_values(&self.body, name)
    }

    /// On Verity's own page: the id of the trusted device marked "(This device)", if
    /// this browser is one.
    pub fn this_device(&self) -> Option<String> {
        self.body
            .split("<li>")
            .filter(|item| item.contains("(This device)"))
            .find_map(|item| field_values(item, "device").into_iter().next())
    }

    /// In a Prometheus exposition (`GET /metrics`): the value of one series
    /// (`name{labels}`), 0 when absent.
    pub fn sample(&self, series: &str) -> f64 {
        self.body
            .lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0.0)
    }

    /// The text of the element that announces an error (`role="alert"`), if any.
    pub fn error(&self) -> Option<String> {
        self.element_text("role=\"alert\"")
    }

    /// The page's main heading (`<h1>`).
    pub fn heading(&self) -> Option<String> {
        self.element_text("<h1")
    }

    /// The body with HTML escapes undone (for looking for a sentence with quotes in it).
    pub fn text(&self) -> String {
        unescape_html(&self.body)
    }

    /// Whether the body, HTML escapes undone, contains `sentence`.
    pub fn says(&self, sentence: &str) -> bool {
        self.text().contains(sentence)
    }

    /// The text inside the element whose start tag contains `marker`.
    fn element_text(&self, marker: &str) -> Option<String> {
        let start = self.body.find(marker)?;
        let after_tag = start + self.body.get(start..)?.find('>')? + 1;
        let rest = self.body.get(after_tag..)?;
        let end = rest.find('<')?;
        rest.get(..end).map(|text| unescape_html(text.trim()))
    }

    /// A response header, as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Where a redirect goes.
    pub fn location(&self) -> Option<&str> {
        self.header(LOCATION.as_str())
    }

    /// `Retry-After`, in seconds.
    pub fn retry_after(&self) -> Option<u64> {
        self.header(RETRY_AFTER.as_str())?.parse().ok()
    }

    /// A query parameter of the redirect's target.
    pub fn redirect_param(&self, name: &str) -> Option<String> {
        let query = self.location()?.split_once('?')?.1;
        query_param(query, name)
    }

    /// The authorization code of a redirect back to the client.
    pub fn code(&self) -> Option<String> {
        self.redirect_param("code")
    }

    /// The recovery codes listed on "Your recovery codes", in order (none elsewhere).
    pub fn recovery_codes(&self) -> Vec<String> {
        self.body
            .split("<li><code>")
            .skip(1)
            .filter_map(|item| item.split('<').next())
            .map(str::to_owned)
            .collect()
    }

    /// The authenticator secret shown in text on the set-up page (spaces removed).
    pub fn totp_secret(&self) -> Option<String> {
        let marker = "id=\"totp-secret\">";
        let start = self.body.find(marker)? + marker.len();
        let rest = self.body.get(start..)?;
        let end = rest.find('<')?;
        Some(rest.get(..end)?.split_whitespace().collect())
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// The values of the fields named `name` in `html`, in order, HTML escapes undone.
fn field_values(html: &str, name: &str) -> Vec<String> {
    let marker = format!("name=\"{name}\" value=\"");
    html.match_indices(&marker)
        .filter_map(|(at, _)| {
            let rest = html.get(at + marker.len()..)?;
            let end = rest.find('"')?;
            rest.get(..end).map(unescape_html)
        })
        .collect()
}

/// The value of `name` in a query string, percent-decoded.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// Undoes the HTML escapes the templates produce (minijinja's HTML auto-escaping).
pub fn unescape_html(text: &str) -> String {
    text.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(status: u16, body: &str) -> Page {
        Page::from_response(
            Response::builder()
                .status(status)
                .body(Bytes::from(body.to_owned()))
                .unwrap(),
        )
    }

    #[test]
    fn the_step_follows_the_form_and_fields_are_unescaped() {
        let sign_in = page(
            200,
            "<main class=\"card\"><h1>Sign in</h1><p class=\"error\" id=\"form-error\" role=\"alert\">The email &amp; password</p>\
             <form method=\"post\" action=\"/login\"><input type=\"hidden\" name=\"tx\" value=\"a&#x2f;b\">\
             <input type=\"hidden\" name=\"csrf\" value=\"c\"></form></main>",
        );
        assert_eq!(sign_in.step(), Step::SignIn);
        assert_eq!(sign_in.tx().as_deref(), Some("a/b"));
        assert_eq!(sign_in.csrf().as_deref(), Some("c"));
        assert_eq!(sign_in.error().as_deref(), Some("The email & password"));
        assert_eq!(sign_in.heading().as_deref(), Some("Sign in"));
        assert_eq!(page(200, "{}").step(), Step::Other);
        assert_eq!(
            page(200, "<main class=\"card\"><h1>x</h1></main>").step(),
            Step::Message
        );
    }

    #[test]
    fn the_device_of_this_browser_and_a_metric_are_found() {
        let account = page(
            200,
            "<li><input type=\"hidden\" name=\"device\" value=\"a\"> Phone</li>\
             <li><input type=\"hidden\" name=\"device\" value=\"b\"> Laptop (This device)</li>",
        );
        assert_eq!(account.this_device().as_deref(), Some("b"));
        assert_eq!(account.fields("device"), ["a", "b"]);
        let metrics = page(
            200,
            "# TYPE x counter\nx_total{a=\"1\"} 3\nx_total{a=\"2\"} 4.5\n",
        );
        assert_eq!(metrics.sample(r#"x_total{a="2"}"#), 4.5);
        assert_eq!(metrics.sample(r#"x_total{a="3"}"#), 0.0);
    }

    #[test]
    fn a_redirect_names_its_parameters() {
        let redirect = Page::from_response(
            Response::builder()
                .status(303)
                .header(LOCATION, "http://rp.test/cb?code=abc&state=s%20t")
                .body(Bytes::new())
                .unwrap(),
        );
        assert_eq!(redirect.step(), Step::Redirect);
        assert_eq!(redirect.code().as_deref(), Some("abc"));
        assert_eq!(redirect.redirect_param("state").as_deref(), Some("s t"));
    }
}
