//! Request parameters from a query string or a form body.
//!
//! RFC 6749 3.1: parameters "MUST NOT be included more than once". A repeated parameter
//! is an error; unknown parameters are ignored (OIDC Core 3.1.2.1).

use std::collections::HashMap;

use super::error::OAuthError;

/// Longest value accepted for any one parameter.
pub const MAX_VALUE: usize = 8 * 1024;

/// Decoded parameters, each present at most once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// Parses `application/x-www-form-urlencoded` bytes (a query string or a body).
    ///
    /// Most requests need no decoding at all (tokens, codes and ids are URL-safe), and
    /// decoding a token of a few hundred characters byte by byte was a tenth of an
    /// introspection: text without `%` or `+` is split as it is, which gives exactly the
    /// pairs the decoder would.
    pub fn parse(encoded: &[u8]) -> Result<Self, OAuthError> {
        match undecoded(encoded) {
            Some(text) => {
                Self::from_pairs(text.split('&').filter(|pair| !pair.is_empty()).map(|pair| {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    (key.to_owned(), value.to_owned())
                }))
            }
            None => Self::from_pairs(
                form_urlencoded::parse(encoded)
                    .map(|(key, value)| (key.into_owned(), value.into_owned())),
            ),
        }
    }

    /// Builds from decoded pairs, refusing repeats and oversized values.
    pub fn from_pairs(
        pairs: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, OAuthError> {
        let mut map = HashMap::new();
        for (key, value) in pairs {
            if value.len() > MAX_VALUE {
                return Err(OAuthError::invalid_request(format!(
                    "parameter {key} is too long"
                )));
            }
            if map.contains_key(&key) {
                return Err(OAuthError::invalid_request(format!(
                    "parameter {key} is repeated"
                )));
            }
            map.insert(key, value);
        }
        Ok(Self(map))
    }

    /// A parameter's value; an empty value counts as absent (RFC 6749 3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }

    /// A parameter that must be present.
    pub fn required(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("parameter {name} is missing")))
    }

    /// Merges `other` (e.g. the body) into these (e.g. the query), refusing parameters
    /// present in both.
    pub fn merge(mut self, other: Params) -> Result<Self, OAuthError> {
        for (key, value) in other.0 {
            if self.0.contains_key(&key) {
                return Err(OAuthError::invalid_request(format!(
                    "parameter {key} is repeated"
                )));
            }
            self.0.insert(key, value);
        }
        Ok(self)
    }
}

/// `encoded` as text, when decoding would not change it: UTF-8 with no `%` escape and no
/// `+` for a space.
fn undecoded(encoded: &[u8]) -> Option<&str> {
    if encoded.contains(&b'%') || encoded.contains(&b'+') {
        return None;
    }
    std::str::from_utf8(encoded).ok()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn repeated_parameters_are_refused_and_empty_ones_are_absent() {
        assert!(Params::parse(b"a=1&a=2").is_err());
        let params = Params::parse(b"a=1&b=&c=x%20y").unwrap();
        assert_eq!(params.get("a"), Some("1"));
        assert_eq!(params.get("b"), None);
        assert_eq!(params.get("c"), Some("x y"));
        assert!(
            params
                .required("d")
                .unwrap_err()
                .error_description
                .contains("missing")
        );
        assert!(params.merge(Params::parse(b"a=3").unwrap()).is_err());
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_keeps_distinct_keys(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(params) = Params::parse(&bytes) {
                for (key, value) in &params.0 {
                    prop_assert!(value.len() <= MAX_VALUE);
                    prop_assert!(params.0.contains_key(key));
                }
            }
        }

        /// Text split as it is gives the pairs the decoder gives.
        #[test]
        fn undecoded_text_parses_as_the_decoder_does(text in "[a-z=&_.~-]{0,64}|[\\PC=&]{0,64}") {
            let decoded = form_urlencoded::parse(text.as_bytes())
                .map(|(key, value)| (key.into_owned(), value.into_owned()));
            prop_assert_eq!(Params::parse(text.as_bytes()), Params::from_pairs(decoded));
        }

        #[test]
        fn encoded_pairs_round_trip(pairs in proptest::collection::btree_map("[a-z_]{1,12}", "\\PC{0,40}", 0..8)) {
            let encoded: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
            let params = Params::parse(encoded.as_bytes()).unwrap();
            for (key, value) in &pairs {
                let expected = if value.is_empty() { None } else { Some(value.as_str()) };
                prop_assert_eq!(params.get(key), expected);
            }
        }
    }
}
