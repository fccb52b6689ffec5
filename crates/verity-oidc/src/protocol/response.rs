//! The authorization response (RFC 6749 4.1.2): where the browser goes back to the
//! client, with a code or an error, `state` and `iss` (RFC 9207).

use super::error::OAuthError;

/// The redirect URI with `code`, `state` and `iss`.
pub fn code_location(redirect_uri: &str, code: &str, state: Option<&str>, issuer: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("code", code);
    if let Some(state) = state {
        query.append_pair("state", state);
    }
    query.append_pair("iss", issuer);
    join_query(redirect_uri, &query.finish())
}

/// The redirect URI with an error (RFC 6749 4.1.2.1), `state` and `iss`.
pub fn error_location(
    redirect_uri: &str,
    error: &OAuthError,
    state: Option<&str>,
    issuer: &str,
) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("error", error.error);
    query.append_pair("error_description", &error.error_description);
    if let Some(state) = state {
        query.append_pair("state", state);
    }
    query.append_pair("iss", issuer);
    join_query(redirect_uri, &query.finish())
}

/// Appends a query to a URI that may already have one.
pub fn join_query(uri: &str, query: &str) -> String {
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_goes_back_with_state_and_iss() {
        assert_eq!(
            code_location("https://rp/cb", "c1", Some("s 1"), "https://op"),
            "https://rp/cb?code=c1&state=s+1&iss=https%3A%2F%2Fop"
        );
        assert_eq!(
            code_location("https://rp/cb?x=1", "c1", None, "https://op"),
            "https://rp/cb?x=1&code=c1&iss=https%3A%2F%2Fop"
        );
    }

    #[test]
    fn an_error_goes_back_with_its_description() {
        let error = OAuthError::login_required("sign in");
        assert_eq!(
            error_location("https://rp/cb", &error, Some("s"), "https://op"),
            "https://rp/cb?error=login_required&error_description=sign+in&state=s&iss=https%3A%2F%2Fop"
        );
    }
}
