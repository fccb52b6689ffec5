//! `/authorize`: the query string, parsed into parameters and validated against a
//! registered client, then the redirect the answer would send.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use verity_fuzz::{ISSUER, REDIRECT_URI};
use verity_oidc::protocol::Params;
use verity_oidc::protocol::authorize::{AuthorizeFailure, validate};
use verity_oidc::protocol::response::{code_location, error_location};
use verity_projection::ClientView;

static CLIENT: LazyLock<ClientView> = LazyLock::new(verity_fuzz::client);

fuzz_target!(|data: &[u8]| {
    let Ok(params) = Params::parse(data) else {
        return;
    };
    match validate(&params, Some(&CLIENT)) {
        Ok(request) => {
            assert_eq!(request.redirect_uri, REDIRECT_URI);
            assert!(request.scopes.iter().any(|scope| scope == "openid"));
            let location = code_location(
                &request.redirect_uri,
                "code",
                request.state.as_deref(),
                ISSUER,
            );
            assert!(location.starts_with(REDIRECT_URI));
        }
        Err(AuthorizeFailure::Redirect {
            redirect_uri,
            state,
            error,
        }) => {
            // Only a registered redirect URI is ever sent an error.
            assert_eq!(redirect_uri, REDIRECT_URI);
            let location = error_location(&redirect_uri, &error, state.as_deref(), ISSUER);
            assert!(location.starts_with(REDIRECT_URI));
        }
        Err(AuthorizeFailure::Page(_)) => {}
    }
});
