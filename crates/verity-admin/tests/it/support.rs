//! A fresh admin layer per test over SQLite in a temporary directory, a mailer that keeps
//! what it was given (or refuses), the actors of the authorization matrix, and typed
//! steps that put a person's second factor and sign-in failures in place as the sign-in
//! pages would.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use tempfile::TempDir;
use uuid::Uuid;
use verity_admin::invitations::{Invitation, NewPerson};
use verity_admin::{
    Actor, Admin, AdminError, Call, Door, Grant, OrgRef, Permission, PersonRef, Ports, Principal,
    Scope,
};
use verity_domain::mfa::MfaCommand;
use verity_domain::user::{self, User, UserCommand};
use verity_domain::{Context, RecordedEvent, execute};
use verity_oidc::credentials::Hashing;
use verity_oidc::keys::MasterKey;
use verity_oidc::limits::FailureLimit;
use verity_oidc::mail::{Delivered, MailError, Mailer, OutgoingMail};
use verity_oidc::mfa::{self, TotpSecret};
use verity_oidc::random::crypto_rng;
use verity_projection::{Projector, ReadModels};
use verity_store::{PersonalSecrets, SealedStore, SqliteStore, Store};

/// The time every call of a test is decided at.
pub fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// A call at [`now`], as the CLI makes it.
pub fn call() -> Call {
    Call::at(now())
}

/// Keeps every email it is given, or refuses them all while `failing`.
#[derive(Default)]
pub struct FakeMailer {
    pub sent: Mutex<Vec<OutgoingMail>>,
    pub failing: AtomicBool,
}

#[async_trait::async_trait]
impl Mailer for FakeMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<Delivered, MailError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(MailError::Send("connection refused".into()));
        }
        self.sent.lock().unwrap().push(mail.clone());
        Ok(Delivered::Smtp {
            response: "250 queued".into(),
        })
    }
}

impl FakeMailer {
    pub fn count(&self) -> usize {
        self.sent.lock().unwrap().len()
    }

    /// The temporary password in the last email's text.
    pub fn last_password(&self) -> String {
        let sent = self.sent.lock().unwrap();
        let text = &sent.last().expect("an email").text;
        let line = text
            .lines()
            .find(|line| line.starts_with("Temporary password:"))
            .expect("a temporary password line");
        line.trim_start_matches("Temporary password:")
            .trim()
            .to_owned()
    }
}

/// The admin layer over a fresh store.
pub struct TestAdmin {
    pub admin: Admin,
    /// The log as everything reads it: personal data sealed and opened.
    pub store: Arc<dyn Store>,
    /// The log as the database holds it.
    pub raw: Arc<dyn Store>,
    pub mailer: Arc<FakeMailer>,
    pub master: MasterKey,
    projector: Arc<Projector<ReadModels>>,
    /// Keeps the database's directory alive.
    _dir: TempDir,
}

impl TestAdmin {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let raw: Arc<dyn Store> = Arc::new(
            SqliteStore::open(&dir.path().join("verity.db"))
                .await
                .unwrap(),
        );
        let master = MasterKey::generate();
        let (wrap, index) = master.personal_data_keys();
        let store: Arc<dyn Store> = Arc::new(
            SealedStore::open(raw.clone(), PersonalSecrets::new(wrap, index).unwrap())
                .await
                .unwrap(),
        );
        let projector = Projector::start(store.clone(), store.clone())
            .await
            .unwrap();
        let mailer = Arc::new(FakeMailer::default());
        let ports = Ports {
            store: store.clone(),
            log: raw.clone(),
            expiring: store.clone(),
            projector: projector.clone(),
            mailer: mailer.clone(),
            hashing: Hashing::new(2),
        };
        let window = Duration::minutes(15);
        let settings = verity_admin::Settings {
            instance_name: "Verity".into(),
            sign_in_url: "https://id.example.org".into(),
            temporary_password_days: 7,
            password_limit: FailureLimit::passwords(3, window, window),
            mfa_limit: FailureLimit::mfa(3, window, window),
            ip_limit: FailureLimit::client_ip(3, window, window),
            retired_key_grace: Duration::hours(24),
            session_lifetime: Duration::hours(12),
        };
        Self {
            admin: Admin::new(ports, settings),
            store,
            raw,
            mailer,
            master,
            projector,
            _dir: dir,
        }
    }

    /// The log's head: what "nothing was written" compares.
    pub async fn head(&self) -> u64 {
        self.store.head().await.unwrap()
    }

    /// Every event of the log.
    pub async fn events(&self) -> Vec<RecordedEvent> {
        self.store.read_all(0, 10_000).await.unwrap()
    }

    /// The events of one type.
    pub async fn events_of(&self, event_type: &str) -> Vec<RecordedEvent> {
        let mut events = self.events().await;
        events.retain(|event| event.event_type == event_type);
        events
    }

    /// A new organization, made by the operator; returns its id.
    pub async fn org(&self, name: &str) -> Uuid {
        self.admin
            .create_organization(&operator(), &call(), name)
            .await
            .unwrap()
            .org_id
    }

    /// A new person in `org`, made by the operator.
    pub async fn person(&self, org: &str, email: &str) -> Invitation {
        let new = NewPerson {
            org: OrgRef::Name(org.into()),
            email: email.into(),
            name: "Ada Lovelace".into(),
        };
        self.admin
            .create_person(&operator(), &call(), &new)
            .await
            .unwrap()
    }

    /// Enrolls an authenticator app for the person, as the setup page does.
    pub async fn enroll(&self, user_id: Uuid) {
        let secret = TotpSecret::generate(&mut crypto_rng());
        let codes = mfa::generate_recovery_codes(&mut crypto_rng());
        let command = UserCommand::Mfa(MfaCommand::EnrollTotp {
            app_name: "Aegis".into(),
            encrypted_secret: mfa::seal_totp_secret(&self.master, user_id, &secret).unwrap(),
            recovery_code_hashes: mfa::recovery_code_hashes(user_id, &codes),
        });
        self.as_person(user_id, command).await;
    }

    /// Trusts a new device for the person, as "Remember this device" does.
    pub async fn trust(&self, user_id: Uuid) {
        let device_id = mfa::new_device_id(&mut crypto_rng());
        let command = UserCommand::Mfa(MfaCommand::TrustDevice {
            device_id_hash: mfa::device_id_hash(&device_id),
            label: mfa::device_label(Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")),
            expires_at: now() + Duration::days(30),
        });
        self.as_person(user_id, command).await;
    }

    /// Starts a session `sid` for the person, as a sign-in does, from a Firefox on Linux
    /// at 192.0.2.7, signed in to `client_id`.
    pub async fn start_session(&self, user_id: Uuid, sid: &str, client_id: &str) {
        use verity_domain::session::{self, Session, SessionCommand, SessionStarted};
        let command = SessionCommand::Start(SessionStarted {
            sid: sid.into(),
            user_id: user_id.to_string(),
            auth_time: now() - Duration::minutes(5),
            amr: vec!["pwd".into(), "otp".into()],
            origin: verity_domain::signin::Origin {
                client_id: Some(client_id.into()),
                ip: Some("192.0.2.7".into()),
                user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0".into()),
            },
        });
        let outcome = execute::<Session>(
            self.store.as_ref(),
            &session::stream(sid),
            &command,
            &self.person_context(user_id),
        )
        .await
        .unwrap();
        self.wait(outcome.position).await;
    }

    fn person_context(&self, user_id: Uuid) -> Context {
        Context {
            now: now() - Duration::minutes(1),
            actor: verity_domain::Actor::User {
                user_id: user_id.to_string(),
                sid: None,
            },
            request_id: None,
            client_ip: None,
        }
    }

    async fn as_person(&self, user_id: Uuid, command: UserCommand) {
        let outcome = execute::<User>(
            self.store.as_ref(),
            &user::stream(user_id),
            &command,
            &self.person_context(user_id),
        )
        .await
        .unwrap();
        self.wait(outcome.position).await;
    }

    /// Waits until the read models show `position`.
    async fn wait(&self, position: u64) {
        self.projector
            .wait_for(position, std::time::Duration::from_secs(10))
            .await
            .unwrap();
    }
}

/// The operator at the command line.
pub fn operator() -> Actor {
    Actor::operator(Some("root".into()))
}

/// A person signed in to the console holding `grants`.
pub fn console(grants: Vec<Grant>) -> Actor {
    let principal = Principal::Person {
        user_id: Uuid::from_u128(0xad),
        sid: Some("sid-1".into()),
    };
    Actor::new(principal, Door::Console, grants)
}

/// An org admin of `org_id`, in the console.
pub fn org_admin(org_id: Uuid) -> Actor {
    console(vec![Grant::OrgAdmin { org_id }])
}

/// An auditor over `scope`, on the API.
pub fn auditor(scope: Scope) -> Actor {
    let principal = Principal::Client {
        client_id: "audit-tool".into(),
    };
    Actor::new(principal, Door::Api, vec![Grant::Auditor { scope }])
}

/// A person by address in an organization, as the CLI names them.
pub fn by_email(org: &str, email: &str) -> PersonRef {
    PersonRef::Email {
        org: OrgRef::Name(org.into()),
        email: email.into(),
    }
}

/// Asserts that `error` refuses `permission` in `scope`.
#[track_caller]
pub fn assert_forbidden(error: &AdminError, permission: Permission, scope: Scope) {
    assert!(
        matches!(
            error,
            AdminError::Forbidden { permission: refused, scope: at }
                if *refused == permission && *at == scope
        ),
        "expected {permission} {scope} to be forbidden: {error:?}"
    );
}
