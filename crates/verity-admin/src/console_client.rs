//! Verity's admin console as a client of Verity itself (docs/console.md): a public
//! client with PKCE whose one redirect URI is derived from the issuer, registered by
//! Verity at start (no one asked for it, so the event names the system) and managed by
//! Verity alone: no admin may rotate, change or delete it, since the console would stop
//! working for every admin at once.

use verity_domain::client::{
    self, Client, ClientCommand, ClientError, ClientSettings, ClientType, GrantType,
    SigningAlgorithm, TokenEndpointAuthMethod,
};
use verity_domain::{ExecuteError, execute};

use crate::actor::Call;
use crate::admin::Admin;
use crate::error::AdminError;

/// The console's client id.
pub const CONSOLE_CLIENT_ID: &str = "verity-console";

/// Where the console receives its authorization responses, below the issuer.
pub const CONSOLE_CALLBACK_PATH: &str = "/console/callback";

/// The console's redirect URI on the server whose issuer is `issuer`.
pub fn console_redirect_uri(issuer: &str) -> String {
    format!("{}{CONSOLE_CALLBACK_PATH}", issuer.trim_end_matches('/'))
}

/// Whether `client_id` names the console's own client.
pub fn is_console_client(client_id: &str) -> bool {
    client_id == CONSOLE_CLIENT_ID
}

/// The console's settings on the server whose issuer is `issuer`.
fn console_settings(issuer: &str) -> ClientSettings {
    ClientSettings {
        name: "Verity console".into(),
        redirect_uris: vec![console_redirect_uri(issuer)],
        post_logout_redirect_uris: Vec::new(),
        grant_types: vec![GrantType::AuthorizationCode],
        token_endpoint_auth_method: TokenEndpointAuthMethod::None,
        id_token_signed_response_alg: SigningAlgorithm::RS256,
        scopes: vec!["openid".into()],
        require_pkce: true,
        jwks: None,
        backchannel_logout_uri: None,
        org_id: None,
    }
}

impl Admin {
    /// Registers the console's client, or brings it in line with `issuer` when the
    /// issuer changed since (`client.updated`). With nothing to change, nothing is
    /// written; several nodes starting at once register it once.
    pub async fn ensure_console_client(&self, call: &Call, issuer: &str) -> Result<(), AdminError> {
        let settings = console_settings(issuer);
        let current = self.read(|models| {
            models
                .clients
                .get(CONSOLE_CLIENT_ID)
                .map(|view| view.settings.clone())
        });
        let command = match current {
            None => ClientCommand::Register {
                client_id: CONSOLE_CLIENT_ID.to_owned(),
                client_type: ClientType::Public,
                settings,
                secret_hash: None,
            },
            Some(current) if current == settings => return Ok(()),
            Some(_) => ClientCommand::Update { settings },
        };
        let context = call.context_recorded_as(verity_domain::Actor::System);
        match execute::<Client>(
            self.ports.store.as_ref(),
            &client::stream(CONSOLE_CLIENT_ID),
            &command,
            &context,
        )
        .await
        {
            Ok(outcome) => self.wait_for(outcome.position).await,
            // Another node registered it a moment ago.
            Err(ExecuteError::Rejected(ClientError::AlreadyExists)) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_receives_its_responses_below_the_issuer() {
        assert_eq!(
            console_redirect_uri("https://id.example.org/"),
            "https://id.example.org/console/callback"
        );
        let settings = console_settings("http://127.0.0.1:8080");
        assert_eq!(
            settings.redirect_uris,
            ["http://127.0.0.1:8080/console/callback"]
        );
        assert!(settings.require_pkce);
        assert_eq!(
            settings.token_endpoint_auth_method,
            TokenEndpointAuthMethod::None
        );
        assert!(is_console_client(CONSOLE_CLIENT_ID));
        assert!(!is_console_client("another"));
    }
}
