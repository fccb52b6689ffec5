//! The second factor through the real binary: trusted devices listed and forgotten with
//! `verity user devices | forget-devices`, and no TOTP secret or recovery code in clear
//! in `verity events export`. The enrollment and the devices are recorded in-test
//! through the library (as the sign-in pages will), against the binary's own store and
//! master key.

use chrono::Duration;
use uuid::Uuid;
use verity::app::{App, now};
use verity::config::Config;
use verity_domain::mfa::MfaCommand;
use verity_domain::user::{self, User, UserCommand};
use verity_domain::{Actor, Context, execute};
use verity_oidc::mfa::{self, TotpSecret};

use crate::support::{Target, json_lines};

const EMAIL: &str = "ada@example.org";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The configuration the binary runs with for `target`.
fn config(target: &Target) -> Config {
    let mut config = Config::default();
    config.store.data_dir = target.dir.path().join("data");
    config.store.database_url = target.database_url.clone();
    config
}

fn context() -> Context {
    Context {
        now: now(),
        actor: Actor::System,
        request_id: None,
        client_ip: None,
    }
}

/// An organization with one person; returns the person's id.
fn person(target: &Target) -> Uuid {
    target.ok(&["org", "create", "Acme"]);
    let created = json_lines(&target.ok(&[
        "user", "create", "--org", "Acme", "--email", EMAIL, "--name", "Ada", "--json",
    ]));
    created[0]["user_id"].as_str().unwrap().parse().unwrap()
}

/// Enrolls `secret` for the person as the setup page does: sealed under the binary's
/// master key, with ten recovery codes. Returns the codes.
async fn enroll(app: &App, user_id: Uuid, secret: &TotpSecret) -> [String; 10] {
    let master = verity::signing::load_master_key(&app.config).unwrap();
    #[allow(clippy::disallowed_methods)] // A test may draw from the OS generator.
    let codes = mfa::generate_recovery_codes(&mut rand::rng());
    let command = UserCommand::Mfa(MfaCommand::EnrollTotp {
        app_name: "Aegis".into(),
        encrypted_secret: mfa::seal_totp_secret(&master, user_id, secret).unwrap(),
        recovery_code_hashes: mfa::recovery_code_hashes(user_id, &codes),
    });
    execute::<User>(
        app.store.as_ref(),
        &user::stream(user_id),
        &command,
        &context(),
    )
    .await
    .unwrap();
    codes
}

/// Trusts a new device as "Remember this device" does; returns its cookie value.
async fn trust(app: &App, user_id: Uuid, days: i64) -> String {
    #[allow(clippy::disallowed_methods)] // A test may draw from the OS generator.
    let device_id = mfa::new_device_id(&mut rand::rng());
    let command = UserCommand::Mfa(MfaCommand::TrustDevice {
        device_id_hash: mfa::device_id_hash(&device_id),
        label: mfa::device_label(Some(
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        )),
        expires_at: now() + Duration::days(days),
    });
    execute::<User>(
        app.store.as_ref(),
        &user::stream(user_id),
        &command,
        &context(),
    )
    .await
    .unwrap();
    device_id
}

fn devices(target: &Target) -> Vec<serde_json::Value> {
    json_lines(&target.ok(&["user", "devices", EMAIL, "--org", "Acme", "--json"]))
}

#[tokio::test]
async fn trusted_devices_are_listed_and_forgotten_from_the_command_line() {
    let target = Target::sqlite();
    let user_id = person(&target);
    assert!(devices(&target).is_empty());
    let listed = target.ok(&["user", "devices", EMAIL, "--org", "Acme"]);
    assert!(listed.contains("no trusted devices"), "{listed}");

    let (first, second) = {
        let app = App::open(config(&target)).await.unwrap();
        #[allow(clippy::disallowed_methods)] // A test may draw from the OS generator.
        let secret = TotpSecret::generate(&mut rand::rng());
        enroll(&app, user_id, &secret).await;
        (
            trust(&app, user_id, 30).await,
            trust(&app, user_id, 30).await,
        )
    };

    let listed = devices(&target);
    assert_eq!(listed.len(), 2, "{listed:?}");
    for (device, cookie) in listed.iter().zip([&first, &second]) {
        assert_eq!(device["label"], "Firefox on Linux");
        assert_eq!(device["state"], "active");
        let hash = mfa::device_id_hash(cookie);
        let shown = device["device"].as_str().unwrap();
        // A short prefix tells entries apart; the hash is never printed whole, the
        // cookie value never at all.
        assert!(
            hash.starts_with(shown) && shown.len() < hash.len(),
            "{shown}"
        );
        assert!(!device.to_string().contains(&hash));
        assert!(!device.to_string().contains(cookie.as_str()));
    }
    let text = target.ok(&["user", "devices", EMAIL, "--org", "Acme"]);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        text.contains("Firefox on Linux") && text.contains("active"),
        "{text}"
    );

    let forgot =
        json_lines(&target.ok(&["user", "forget-devices", EMAIL, "--org", "Acme", "--json"]));
    assert_eq!(forgot[0]["forgotten"], 2);
    let listed = devices(&target);
    assert!(
        listed.iter().all(|device| device["state"] == "forgotten"),
        "{listed:?}"
    );

    // One event per device, the operator as actor.
    let forgotten: Vec<serde_json::Value> = json_lines(&target.ok(&["events", "export"]))
        .into_iter()
        .filter(|event| event["type"] == "user.device.forgotten")
        .collect();
    assert_eq!(forgotten.len(), 2);
    for event in &forgotten {
        assert_eq!(event["metadata"]["actor"]["kind"], "cli", "{event}");
        assert_eq!(event["data"]["reason"], "revoked", "{event}");
    }

    // Nothing left to forget is not an error.
    let again = target.ok(&["user", "forget-devices", EMAIL, "--org", "Acme"]);
    assert!(again.contains("no trusted devices to forget"), "{again}");

    // The person's record answers the sign-in page's question the same way.
    let app = App::open(config(&target)).await.unwrap();
    let mfa_view = verity_projection::load_person(app.store.as_ref(), user_id)
        .await
        .unwrap()
        .unwrap()
        .mfa;
    assert!(mfa_view.is_enrolled());
    assert!(
        mfa_view
            .trusted_device(&mfa::device_id_hash(&first), now())
            .is_none()
    );
}

#[tokio::test]
async fn devices_of_an_unknown_person_are_a_clear_error() {
    let target = Target::sqlite();
    target.ok(&["org", "create", "Acme"]);
    let output = target.run(&["user", "devices", "nobody@example.org", "--org", "Acme"]);
    crate::support::assert_clear_error(&output, "no user nobody@example.org");
    let output = target.run(&[
        "user",
        "forget-devices",
        "nobody@example.org",
        "--org",
        "Acme",
    ]);
    crate::support::assert_clear_error(&output, "no user nobody@example.org");
}

#[tokio::test]
async fn the_log_never_holds_a_totp_secret_or_recovery_code_in_clear() {
    let target = Target::sqlite();
    let user_id = person(&target);
    #[allow(clippy::disallowed_methods)] // A test may draw from the OS generator.
    let secret = TotpSecret::generate(&mut rand::rng());
    let codes = {
        let app = App::open(config(&target)).await.unwrap();
        let codes = enroll(&app, user_id, &secret).await;
        trust(&app, user_id, 30).await;
        codes
    };

    let export = target.ok(&["events", "export"]);
    assert!(export.contains("user.totp.enrolled"), "{export}");
    assert!(export.contains("user.recovery_codes.generated"));
    let base32 = secret.to_base32();
    let forms = [
        base32.clone(),
        base32.to_lowercase(),
        mfa::secret_base32_grouped(&secret),
        hex(secret.as_bytes()),
        hex(secret.as_bytes()).to_uppercase(),
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            secret.as_bytes(),
        ),
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            secret.as_bytes(),
        ),
    ];
    for form in forms {
        assert!(
            !export.contains(&form),
            "the secret is in the log as {form}"
        );
    }
    for code in &codes {
        assert!(
            !export.contains(code.as_str()),
            "recovery code {code} in the log"
        );
        assert!(!export.contains(&code.replace('-', "")));
    }

    // What is there is the sealed secret, which the master key opens for this person.
    let enrolled = json_lines(&export)
        .into_iter()
        .find(|event| event["type"] == "user.totp.enrolled")
        .unwrap();
    let sealed = enrolled["data"]["encrypted_secret"].as_str().unwrap();
    let master = verity::signing::load_master_key(&config(&target)).unwrap();
    assert_eq!(
        mfa::open_totp_secret(&master, user_id, sealed).unwrap(),
        secret
    );
}
