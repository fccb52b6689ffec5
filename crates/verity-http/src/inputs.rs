//! What a browser's request carries, read by the same parsers the handlers use: Verity's
//! cookies from the `Cookie` headers and a form body. Public so the fuzz targets
//! (`fuzz/`) call these parsers themselves rather than copies of them.

use axum::http::HeaderMap;
use verity_oidc::protocol::Params;

use crate::cookies::{self, Jar};
use crate::form;

/// Verity's cookies in a request, as a server whose issuer is `issuer` reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestCookies<'headers> {
    /// The SSO session cookie.
    pub session: Option<&'headers str>,
    /// The trusted-device cookie.
    pub device: Option<&'headers str>,
    /// The CSRF cookie of the sign-in forms.
    pub csrf: Option<&'headers str>,
}

/// Reads Verity's cookies from `headers` under the names a server with `issuer` gives
/// them (`__Host-` names over https).
pub fn read_cookies<'headers>(
    headers: &'headers HeaderMap,
    issuer: &str,
) -> RequestCookies<'headers> {
    let jar = Jar::for_issuer(issuer);
    RequestCookies {
        session: jar.get(headers, cookies::SESSION),
        device: jar.get(headers, cookies::DEVICE),
        csrf: jar.get(headers, cookies::CSRF),
    }
}

/// Parses a posted form (a sign-in step, the account page, the logout confirmation): its
/// fields, or `None` when the body is not `application/x-www-form-urlencoded` or is
/// malformed (a repeated or overlong field).
pub fn read_form(headers: &HeaderMap, body: &[u8]) -> Option<Params> {
    form::parse(headers, body).ok()
}
