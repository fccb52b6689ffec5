//! What the tests start from, made through the domain's commands as an administrator
//! would: an organization, people (with a temporary or a chosen password, with or
//! without an authenticator app), and clients of each kind.

use chrono::Duration;
use uuid::Uuid;
use verity_domain::Email;
use verity_domain::client::{
    self, Client, ClientCommand, ClientSettings, ClientType, GrantType, TokenEndpointAuthMethod,
};
use verity_domain::key::SigningAlgorithm;
use verity_domain::mfa::MfaCommand;
use verity_domain::organization::{self, Organization, OrganizationCommand};
use verity_domain::user::{self, User, UserCommand};
use verity_oidc::client_secret::{generate_client_id, generate_client_secret, hash_client_secret};
use verity_oidc::credentials::hash_password;
use verity_oidc::mfa::{
    TotpSecret, generate_recovery_codes, recovery_code_hashes, seal_totp_secret,
};
use verity_oidc::random::{crypto_rng as rng, uuid as new_id};
use verity_testkit::oauth::{Client as Credentials, ClientAuth};
use verity_testkit::steps::{APP_NAME, CHOSEN_PASSWORD};
use verity_testkit::{Authorization, Person};

use crate::support::{TestApp, now};

/// Where the test clients receive their codes.
pub const REDIRECT_URI: &str = "https://app.example/callback";

/// Where the test clients are returned to after a logout.
pub const POST_LOGOUT_URI: &str = "https://app.example/signed-out";

/// The PKCE verifier of the requests [`RegisteredClient::authorization`] builds: every
/// client must send PKCE unless it was registered as a legacy one.
pub const VERIFIER: &str = "the-test-pkce-verifier-0123456789-abcdefghijkl";

/// A registered client and what its developer knows.
#[derive(Debug, Clone)]
pub struct RegisteredClient {
    /// Its id.
    pub client_id: String,
    /// Its secret, when it authenticates with one.
    pub secret: Option<String>,
}

impl RegisteredClient {
    /// An authorization request of this client to [`REDIRECT_URI`] (scope `openid`),
    /// with a PKCE challenge for [`VERIFIER`].
    pub fn authorization(&self) -> Authorization {
        Authorization::code(&self.client_id, REDIRECT_URI).pkce(VERIFIER)
    }

    /// The client at the back channel, authenticating with `client_secret_basic`.
    pub fn basic(&self) -> Credentials {
        Credentials::basic(&self.client_id, self.secret.as_deref().unwrap_or_default())
    }

    /// The client at the back channel, authenticating as `auth` says.
    pub fn with(&self, auth: ClientAuth) -> Credentials {
        Credentials {
            client_id: self.client_id.clone(),
            auth,
        }
    }
}

/// The settings of a client to register.
#[derive(Debug, Clone)]
pub struct ClientSpec {
    /// Confidential or public.
    pub client_type: ClientType,
    /// How it authenticates.
    pub method: TokenEndpointAuthMethod,
    /// The grants it may use.
    pub grants: Vec<GrantType>,
    /// The scopes it may ask for.
    pub scopes: Vec<&'static str>,
    /// Whether it must send a PKCE challenge.
    pub require_pkce: bool,
    /// Its ID tokens' algorithm.
    pub id_token_alg: SigningAlgorithm,
    /// Its public keys, for `private_key_jwt`.
    pub jwks: Option<serde_json::Value>,
    /// The organization it belongs to (none: every organization's people may use it).
    pub org_id: Option<Uuid>,
}

impl ClientSpec {
    /// A confidential web application with `client_secret_basic`: codes (with PKCE, as
    /// every client by default), refresh tokens and client credentials; scopes openid,
    /// profile, email and api.
    pub fn confidential() -> Self {
        Self {
            client_type: ClientType::Confidential,
            method: TokenEndpointAuthMethod::ClientSecretBasic,
            grants: vec![
                GrantType::AuthorizationCode,
                GrantType::RefreshToken,
                GrantType::ClientCredentials,
            ],
            scopes: vec!["openid", "profile", "email", "api"],
            require_pkce: true,
            id_token_alg: SigningAlgorithm::RS256,
            jwks: None,
            org_id: None,
        }
    }

    /// A public client (a single-page or native app): no secret, PKCE required.
    pub fn public() -> Self {
        Self {
            client_type: ClientType::Public,
            method: TokenEndpointAuthMethod::None,
            grants: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            ..Self::confidential()
        }
    }

    /// A legacy confidential client that opted out of PKCE (`--no-require-pkce`).
    pub fn legacy() -> Self {
        Self {
            require_pkce: false,
            ..Self::confidential()
        }
    }
}

impl TestApp {
    /// Creates an organization; returns its id.
    pub async fn organization(&self, name: &str) -> Uuid {
        let org_id = new_id();
        let command = OrganizationCommand::Create {
            org_id,
            name: name.to_owned(),
        };
        self.execute::<Organization>(&organization::stream(org_id), &command)
            .await;
        org_id
    }

    /// An account created by an admin, with a temporary password valid for a week:
    /// the person knows their address and that password.
    pub async fn person_with_temporary_password(&self, email: &str) -> Person {
        self.create_person(email, Duration::days(7)).await
    }

    /// An account whose temporary password expired a minute ago.
    pub async fn person_with_expired_temporary_password(&self, email: &str) -> Person {
        let person = self.create_person(email, Duration::days(7)).await;
        let temporary = verity_oidc::credentials::generate_temporary_password(&mut rng());
        let command = UserCommand::IssueTemporaryPassword {
            temporary_password_hash: hash_password(&temporary).unwrap(),
            expires_at: now() + Duration::seconds(2),
        };
        self.execute::<User>(&user::stream(self.user_id(email)), &command)
            .await;
        // The domain refuses an expiry in the past: let this one pass.
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        Person::new(person.email, temporary)
    }

    /// Someone who chose [`CHOSEN_PASSWORD`] and has no authenticator app yet.
    pub async fn person_with_password(&self, email: &str) -> Person {
        self.create_person(email, Duration::days(7)).await;
        let command = UserCommand::ChangePassword {
            end_sessions: verity_domain::user::EndSessions::None,
            password_hash: hash_password(CHOSEN_PASSWORD).unwrap(),
        };
        self.execute::<User>(&user::stream(self.user_id(email)), &command)
            .await;
        Person::new(email, CHOSEN_PASSWORD)
    }

    /// Someone who chose [`CHOSEN_PASSWORD`], set up an app named [`APP_NAME`] and
    /// noted down their recovery codes.
    pub async fn enrolled_person(&self, email: &str) -> Person {
        let person = self.person_with_password(email).await;
        let user_id = self.user_id(email);
        let secret = TotpSecret::generate(&mut rng());
        let codes = generate_recovery_codes(&mut rng());
        let command = MfaCommand::EnrollTotp {
            app_name: APP_NAME.to_owned(),
            encrypted_secret: seal_totp_secret(&self.master, user_id, &secret).unwrap(),
            recovery_code_hashes: recovery_code_hashes(user_id, &codes),
        };
        self.execute::<User>(&user::stream(user_id), &UserCommand::Mfa(command))
            .await;
        let mut person = person.with_authenticator(secret.to_base32());
        person.recovery_codes = codes.to_vec();
        person
    }

    /// An admin resets the password of `email` (`verity user reset-password`): a new
    /// temporary password, valid for a week, which is returned.
    pub async fn reset_password(&self, email: &str) -> String {
        let temporary = verity_oidc::credentials::generate_temporary_password(&mut rng());
        let command = UserCommand::IssueTemporaryPassword {
            temporary_password_hash: hash_password(&temporary).unwrap(),
            expires_at: now() + Duration::days(7),
        };
        self.execute::<User>(&user::stream(self.user_id(email)), &command)
            .await;
        temporary
    }

    /// An admin disables the account of `email`.
    pub async fn disable(&self, email: &str) {
        self.execute::<User>(&user::stream(self.user_id(email)), &UserCommand::Disable)
            .await;
    }

    /// The id of the account of `email` in the test organization.
    pub fn user_id(&self, email: &str) -> Uuid {
        let email = Email::parse(email).unwrap();
        self.projector
            .read(|models| {
                models
                    .users
                    .find_by_email(self.org_id, &email)
                    .map(|user| user.user_id)
            })
            .unwrap_or_else(|| panic!("no account for {email}"))
    }

    async fn create_person(&self, email: &str, valid_for: Duration) -> Person {
        let user_id = new_id();
        let temporary = verity_oidc::credentials::generate_temporary_password(&mut rng());
        let command = UserCommand::Create {
            user_id,
            org_id: self.org_id,
            email: Email::parse(email).unwrap(),
            name: "Ada Lovelace".into(),
            temporary_password_hash: hash_password(&temporary).unwrap(),
            temporary_password_expires_at: now() + valid_for,
        };
        self.execute::<User>(&user::stream(user_id), &command).await;
        Person::new(email, temporary)
    }

    /// Registers a client as `spec` describes, redirecting to [`REDIRECT_URI`] and
    /// returning to [`POST_LOGOUT_URI`] after a logout.
    pub async fn client(&self, spec: ClientSpec) -> RegisteredClient {
        let client_id = generate_client_id(&mut rng());
        let secret = spec
            .method
            .uses_secret()
            .then(|| generate_client_secret(&mut rng()));
        let command = ClientCommand::Register {
            client_id: client_id.clone(),
            client_type: spec.client_type,
            settings: ClientSettings {
                name: "Test App".into(),
                redirect_uris: vec![REDIRECT_URI.into()],
                post_logout_redirect_uris: vec![POST_LOGOUT_URI.into()],
                grant_types: spec.grants,
                token_endpoint_auth_method: spec.method,
                id_token_signed_response_alg: spec.id_token_alg,
                scopes: spec.scopes.into_iter().map(str::to_owned).collect(),
                require_pkce: spec.require_pkce,
                jwks: spec.jwks,
                backchannel_logout_uri: None,
                org_id: spec.org_id,
            },
            secret_hash: secret.as_deref().map(hash_client_secret),
        };
        self.execute::<Client>(&client::stream(&client_id), &command)
            .await;
        RegisteredClient { client_id, secret }
    }

    /// A confidential client ([`ClientSpec::confidential`]).
    pub async fn confidential_client(&self) -> RegisteredClient {
        self.client(ClientSpec::confidential()).await
    }
}
