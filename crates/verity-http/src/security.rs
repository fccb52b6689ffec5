//! The headers every answer carries: a Content-Security-Policy without inline script
//! whose `form-action` allows Verity itself and only the clients a page's forms lead to
//! ([`FormTargets`]); no framing, no referrer, no sniffing; and, when the issuer is
//! https, `Strict-Transport-Security`.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Request, header};
use axum::middleware::Next;
use axum::response::Response;
use url::{Origin, Url};

use crate::state::AppState;

/// HSTS over https: a year, subdomains included.
const HSTS: &str = "max-age=31536000; includeSubDomains";

/// Where the forms of one response may lead besides Verity: the origins its handler
/// allowed. A sign-in page's last step redirects to the client's redirect URI and the
/// logout confirmation to the client's post-logout URI; Chromium applies `form-action`
/// to the redirects that follow a form's POST too, so those origins must be allowed on
/// the page that holds the form, and no others. Shared between the layer that writes the
/// header and the request's extractors (a request extension).
#[derive(Debug, Clone, Default)]
pub(crate) struct FormTargets(Arc<Mutex<BTreeSet<String>>>);

impl FormTargets {
    /// Lets this response's forms lead to the origin of `uri` (an absolute http(s) URI;
    /// anything else allows nothing).
    pub(crate) fn allow(&self, uri: &str) {
        let Some(source) = origin_of(uri) else {
            return;
        };
        if let Ok(mut targets) = self.0.lock() {
            targets.insert(source);
        }
    }

    /// The `form-action` directive: `'self'` and the allowed origins.
    fn directive(&self) -> String {
        let mut directive = String::from("form-action 'self'");
        if let Ok(targets) = self.0.lock() {
            for target in targets.iter() {
                directive.push(' ');
                directive.push_str(target);
            }
        }
        directive
    }
}

/// The origin of an http(s) URI as a CSP source (`https://app.example`, the port when it
/// is not the scheme's default).
fn origin_of(uri: &str) -> Option<String> {
    let url = Url::parse(uri).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    match url.origin() {
        origin @ Origin::Tuple(..) => Some(origin.ascii_serialization()),
        Origin::Opaque(_) => None,
    }
}

/// The security headers of every answer (see the module's documentation).
pub(crate) async fn security_headers(
    State(state): State<AppState>,
    mut request: Request<Body>,
    next: Next,
) -> Response {
    let targets = FormTargets::default();
    request.extensions_mut().insert(targets.clone());
    let mut response = next.run(request).await;
    let policy = format!(
        "default-src 'none'; style-src 'self'; img-src 'self' data:; {}; \
         frame-ancestors 'none'; base-uri 'none'",
        targets.directive()
    );
    let headers = response.headers_mut();
    if let Ok(policy) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if state.cookies.https() {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_action_allows_self_and_the_origins_of_allowed_uris_only() {
        let targets = FormTargets::default();
        assert_eq!(targets.directive(), "form-action 'self'");
        targets.allow("https://app.example/callback?x=1");
        targets.allow("http://localhost:4000/cb");
        targets.allow("https://app.example:443/other");
        targets.allow("javascript:alert(1)");
        targets.allow("not a uri; script-src *");
        assert_eq!(
            targets.directive(),
            "form-action 'self' http://localhost:4000 https://app.example"
        );
    }
}
