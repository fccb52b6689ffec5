//! Test support: an [`Engine`] over SQLite in a temporary directory, with people created
//! as an admin would, so that the engine's rules are tested where they live — outcomes
//! and events, no HTTP.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tempfile::TempDir;
use totp_rs::Totp;
use uuid::Uuid;
use verity_domain::mfa::{MfaCommand, RECOVERY_CODE_COUNT};
use verity_domain::organization::{self, Organization, OrganizationCommand};
use verity_domain::user::{self, EndSessions, User, UserCommand};
use verity_domain::{Actor, Aggregate, Email, RecordedEvent, execute};
use verity_projection::Projector;
use verity_store::Location;

use crate::context::RequestContext;
use crate::credentials::{Hashing, hash_password};
use crate::engine::{Engine, Settings};
use crate::keys::{MasterKey, SharedKeyRing};
use crate::mfa::{self, TotpSecret};
use crate::protocol::authorize::{AuthorizationRequest, Prompt};
use crate::random;
use crate::sessions::{self, Session};
use crate::signin::{self, OpenLogin, Stage};

/// The password of every person [`TestEngine::person`] creates.
pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// The client every test sign-in is for.
pub(crate) const CLIENT_ID: &str = "test-client";

/// An engine over a fresh SQLite store, and the organization people are created in.
pub(crate) struct TestEngine {
    pub(crate) engine: Engine,
    org_id: Uuid,
    _dir: TempDir,
}

/// Now, for a test (the clock is read only in adapters and tests).
#[allow(clippy::disallowed_methods)]
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now()
}

impl TestEngine {
    /// A fresh engine with the default settings.
    pub(crate) async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = verity_store::open(&Location::Sqlite(dir.path().join("verity.db")))
            .await
            .unwrap();
        let projector = Projector::start(store.clone(), store.clone())
            .await
            .unwrap();
        let engine = Engine {
            store: store.clone(),
            expiring: store,
            projector,
            keys: Arc::new(SharedKeyRing::new(MasterKey::generate())),
            hashing: Hashing::new(1),
            settings: Arc::new(Settings::new("https://verity.test", "Verity")),
        };
        let mut test = Self {
            engine,
            org_id: Uuid::nil(),
            _dir: dir,
        };
        test.org_id = random::uuid();
        let create = OrganizationCommand::Create {
            org_id: test.org_id,
            name: "Test Org".into(),
        };
        test.execute::<Organization>(&organization::stream(test.org_id), &create)
            .await;
        test
    }

    /// One request's context, now, from a browser.
    pub(crate) fn context(&self) -> RequestContext {
        let request_id = random::uuid().to_string();
        RequestContext::new(now(), request_id, None, Some("Mozilla/5.0 Firefox/128.0"))
    }

    /// Runs `command` on `stream` as the system and waits until the read models show it.
    async fn execute<A: Aggregate>(&self, stream: &str, command: &A::Command)
    where
        A::Command: Sync,
    {
        let context = self.context().domain(Actor::System);
        let outcome = execute::<A>(self.engine.store.as_ref(), stream, command, &context)
            .await
            .unwrap();
        self.engine.wait_for(outcome.position).await.unwrap();
    }

    /// Someone an admin created, whose temporary password is still theirs.
    pub(crate) async fn person_with_temporary_password(&self, email: &str) -> Uuid {
        let user_id = random::uuid();
        let command = UserCommand::Create {
            user_id,
            org_id: self.org_id,
            email: Email::parse(email).unwrap(),
            name: "Ada Lovelace".into(),
            temporary_password_hash: hash_password("temporary password").unwrap(),
            temporary_password_expires_at: now() + Duration::days(7),
        };
        self.execute::<User>(&user::stream(user_id), &command).await;
        user_id
    }

    /// Someone who chose [`PASSWORD`] and has no authenticator app yet.
    pub(crate) async fn person(&self, email: &str) -> Uuid {
        let user_id = self.person_with_temporary_password(email).await;
        let command = UserCommand::ChangePassword {
            password_hash: hash_password(PASSWORD).unwrap(),
            end_sessions: EndSessions::None,
        };
        self.execute::<User>(&user::stream(user_id), &command).await;
        user_id
    }

    /// Sets up an app for the person: its secret and the recovery codes.
    pub(crate) async fn enroll(
        &self,
        user_id: Uuid,
    ) -> (TotpSecret, [String; RECOVERY_CODE_COUNT]) {
        let secret = TotpSecret::generate(&mut random::crypto_rng());
        let codes = mfa::generate_recovery_codes(&mut random::crypto_rng());
        let command = MfaCommand::EnrollTotp {
            app_name: "Phone".into(),
            encrypted_secret: self.seal(user_id, &secret),
            recovery_code_hashes: mfa::recovery_code_hashes(user_id, &codes),
        };
        self.execute::<User>(&user::stream(user_id), &UserCommand::Mfa(command))
            .await;
        (secret, codes)
    }

    /// `secret` sealed for the person under the master key.
    pub(crate) fn seal(&self, user_id: Uuid, secret: &TotpSecret) -> String {
        mfa::seal_totp_secret(self.engine.keys.master(), user_id, secret).unwrap()
    }

    /// A login transaction for [`CLIENT_ID`] at `stage`, as a step reads it.
    pub(crate) async fn login_at(&self, stage: Stage) -> OpenLogin {
        let context = self.context();
        let request = AuthorizationRequest {
            client_id: CLIENT_ID.into(),
            redirect_uri: "https://client.test/callback".into(),
            scopes: vec!["openid".into()],
            state: Some("state-1".into()),
            nonce: None,
            code_challenge: None,
            prompt: Prompt::default(),
            max_age: None,
            login_hint: None,
            id_token_hint: None,
        };
        let opened = signin::open(&self.engine, &context, request).await.unwrap();
        let mut login = signin::load(&self.engine, &context, &opened.tx)
            .await
            .unwrap()
            .unwrap();
        if stage != Stage::Credentials {
            assert!(
                signin::advance(&self.engine, &context, &mut login, stage)
                    .await
                    .unwrap()
            );
        }
        login
    }

    /// A session of the person, as their browser's cookie names it.
    pub(crate) async fn session(&self, user_id: Uuid) -> (String, Session) {
        let context = self.context();
        let factor = verity_domain::signin::SecondFactor::Totp;
        let started = sessions::start(&self.engine, &context, user_id, (factor, None), CLIENT_ID)
            .await
            .unwrap();
        let session = sessions::current(&self.engine, &context, Some(&started.cookie))
            .await
            .unwrap()
            .unwrap();
        (started.cookie, session)
    }

    /// The person's whole record.
    pub(crate) async fn record(&self, user_id: Uuid) -> verity_projection::UserView {
        self.engine.person_record(user_id).await.unwrap().unwrap()
    }

    /// Every event of the log, in order.
    pub(crate) async fn events(&self) -> Vec<RecordedEvent> {
        self.engine.store.read_all(0, 10_000).await.unwrap()
    }

    /// The stored types of every event of the log, in order.
    pub(crate) async fn event_types(&self) -> Vec<String> {
        self.events()
            .await
            .into_iter()
            .map(|event| event.event_type)
            .collect()
    }
}

/// The app's current code for `secret`.
pub(crate) fn current_code(secret: &TotpSecret) -> String {
    let uri = mfa::otpauth_uri("Verity", "ada@example.org", secret).unwrap();
    let app = Totp::from_url(&uri).unwrap();
    app.generate(u64::try_from(now().timestamp()).unwrap())
        .to_string()
}
