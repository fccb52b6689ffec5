//! Form bodies: `application/x-www-form-urlencoded` only, parsed into [`Params`]
//! (repeated parameters refused).

use axum::http::{HeaderMap, header};
use verity_oidc::protocol::{OAuthError, Params};

/// Whether the request's body is a form.
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| {
            mime.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Why a body is not a usable form.
#[derive(Debug)]
pub enum FormError {
    /// Not `application/x-www-form-urlencoded`.
    NotAForm,
    /// A form, but malformed (a repeated parameter, an overlong value).
    Malformed(OAuthError),
}

/// Parses a form body.
pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Params, FormError> {
    if !is_form(headers) {
        return Err(FormError::NotAForm);
    }
    Params::parse(body).map_err(FormError::Malformed)
}
