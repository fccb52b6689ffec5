//! The clients read model: every OAuth client that is not deleted, by client id.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use verity_domain::client::{
    CLIENT_DELETED, CLIENT_REGISTERED, CLIENT_SECRET_ROTATED, CLIENT_UPDATED, ClientRegistered,
    ClientSecretRotated, ClientSettings, ClientType, GrantType, STREAM_PREFIX,
};
use verity_domain::{DecodeError, RecordedEvent};

use crate::decode;
use crate::projection::Projection;

/// A client as the rest of Verity sees it: everything the protocol engine checks a request
/// against, including the secret's hash (to verify a presented secret).
///
/// The settings an admin chooses are the domain's [`ClientSettings`], held as they were
/// recorded; the view adds what only the log knows (type, secret hash, times). In
/// snapshots the settings are flattened into the view, the shape it had before it
/// embedded them, so older snapshots still load.
///
/// `Debug` does not print the secret hash.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientView {
    /// Its id.
    pub client_id: String,
    /// Confidential or public.
    pub client_type: ClientType,
    /// Everything an admin chose: name, redirect URIs, grants, authentication, scopes,
    /// PKCE, keys.
    #[serde(flatten)]
    pub settings: ClientSettings,
    /// `sha256:<hex>` of its secret, for `client_secret_basic` and `client_secret_post`.
    pub secret_hash: Option<String>,
    /// When `client.registered` was recorded.
    pub created_at: DateTime<Utc>,
    /// When the last event about it was recorded.
    pub updated_at: DateTime<Utc>,
    /// When its secret was last rotated, if ever.
    pub secret_rotated_at: Option<DateTime<Utc>>,
}

impl ClientView {
    /// Whether the client is public (no secret, PKCE always).
    pub fn is_public(&self) -> bool {
        self.client_type == ClientType::Public
    }

    /// Whether the client may use `grant`.
    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.settings.allows_grant(grant)
    }

    /// Whether `uri` is one of its redirect URIs, by exact string match.
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.settings.has_redirect_uri(uri)
    }

    /// Whether `uri` is one of its post-logout redirect URIs, by exact string match.
    pub fn has_post_logout_redirect_uri(&self, uri: &str) -> bool {
        self.settings.has_post_logout_redirect_uri(uri)
    }

    /// Whether the client may ask for `scope`.
    pub fn allows_scope(&self, scope: &str) -> bool {
        self.settings.allows_scope(scope)
    }
}

impl fmt::Debug for ClientView {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ClientView")
            .field("client_id", &self.client_id)
            .field("client_type", &self.client_type)
            .field("settings", &self.settings)
            .field(
                "secret_hash",
                &self.secret_hash.as_ref().map(|_| "<redacted>"),
            )
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .field("secret_rotated_at", &self.secret_rotated_at)
            .finish()
    }
}

/// Every client that is not deleted, by client id. A deleted client disappears from the
/// model (its history stays in the log), so nothing can authenticate as it.
///
/// Serialised as the list of views.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Clients {
    /// Ordered by id, so listing needs no sort.
    by_id: BTreeMap<String, ClientView>,
}

impl Clients {
    /// The client with this id.
    pub fn get(&self, client_id: &str) -> Option<&ClientView> {
        self.by_id.get(client_id)
    }

    /// Every client, sorted by id.
    pub fn list(&self) -> Vec<&ClientView> {
        self.by_id.values().collect()
    }

    /// How many clients there are.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether there is no client.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The view an event after `client.registered` is about, if that client exists.
    fn existing(&mut self, event: &RecordedEvent) -> Result<Option<&mut ClientView>, DecodeError> {
        let client_id = event.stream.strip_prefix(STREAM_PREFIX).ok_or_else(|| {
            decode::invalid(
                event,
                format!(
                    "stream {:?} is not of the form {STREAM_PREFIX}<client id>",
                    event.stream
                ),
            )
        })?;
        let view = self.by_id.get_mut(client_id);
        if view.is_none() {
            // The domain refuses commands on clients that do not exist (or are deleted),
            // so this is a log written by something else; the fold skips it.
            tracing::warn!(
                position = event.position,
                event_type = %event.event_type,
                client_id,
                "event about a client that is not registered; skipped"
            );
        }
        Ok(view)
    }

    fn apply_registered(&mut self, event: &RecordedEvent) -> Result<(), DecodeError> {
        let ClientRegistered {
            client_id,
            client_type,
            settings,
            secret_hash,
        } = decode::payload(event)?;
        let view = ClientView {
            client_id,
            client_type,
            settings,
            secret_hash,
            created_at: event.recorded_at,
            updated_at: event.recorded_at,
            secret_rotated_at: None,
        };
        self.by_id.insert(view.client_id.clone(), view);
        Ok(())
    }

    fn apply_updated(&mut self, event: &RecordedEvent) -> Result<(), DecodeError> {
        let settings: ClientSettings = decode::payload(event)?;
        if let Some(view) = self.existing(event)? {
            view.settings = settings;
            view.updated_at = event.recorded_at;
        }
        Ok(())
    }

    fn apply_secret_rotated(&mut self, event: &RecordedEvent) -> Result<(), DecodeError> {
        let rotated: ClientSecretRotated = decode::payload(event)?;
        if let Some(view) = self.existing(event)? {
            view.secret_hash = Some(rotated.secret_hash);
            view.secret_rotated_at = Some(event.recorded_at);
            view.updated_at = event.recorded_at;
        }
        Ok(())
    }

    fn apply_deleted(&mut self, event: &RecordedEvent) -> Result<(), DecodeError> {
        decode::check_schema(event)?;
        if let Some(view) = self.existing(event)? {
            let client_id = view.client_id.clone();
            self.by_id.remove(&client_id);
        }
        Ok(())
    }
}

impl Projection for Clients {
    const NAME: &'static str = "clients";
    const VERSION: u32 = 1;

    fn apply(&mut self, event: &RecordedEvent) -> Result<(), DecodeError> {
        match event.event_type.as_str() {
            CLIENT_REGISTERED => self.apply_registered(event),
            CLIENT_UPDATED => self.apply_updated(event),
            CLIENT_SECRET_ROTATED => self.apply_secret_rotated(event),
            CLIENT_DELETED => self.apply_deleted(event),
            _ => Ok(()),
        }
    }
}

impl Serialize for Clients {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.by_id.values())
    }
}

impl<'de> Deserialize<'de> for Clients {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let views = Vec::<ClientView>::deserialize(deserializer)?;
        Ok(Self {
            by_id: views
                .into_iter()
                .map(|view| (view.client_id.clone(), view))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use verity_domain::DomainEvent;
    use verity_domain::client::{ClientEvent, SigningAlgorithm, TokenEndpointAuthMethod, stream};

    use super::*;

    const HASH: &str = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    const NEW_HASH: &str =
        "sha256:486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7";

    fn at(minute: u32) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2026-11-28T10:{minute:02}:00Z"))
            .unwrap()
            .with_timezone(&Utc)
    }

    fn settings(name: &str) -> ClientSettings {
        ClientSettings {
            name: name.into(),
            redirect_uris: vec!["https://wiki.example.org/callback".into()],
            post_logout_redirect_uris: vec!["https://wiki.example.org/".into()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
            id_token_signed_response_alg: SigningAlgorithm::RS256,
            scopes: vec!["openid".into(), "profile".into()],
            require_pkce: false,
            jwks: None,
            backchannel_logout_uri: None,
            org_id: None,
        }
    }

    fn registered(client_id: &str, name: &str) -> ClientEvent {
        ClientEvent::Registered(ClientRegistered {
            client_id: client_id.into(),
            client_type: ClientType::Confidential,
            settings: settings(name),
            secret_hash: Some(HASH.into()),
        })
    }

    fn recorded(position: u64, client_id: &str, event: &ClientEvent) -> RecordedEvent {
        RecordedEvent {
            position,
            stream: stream(client_id),
            version: position,
            event_type: event.event_type().into(),
            schema: event.schema(),
            data: event.to_data(),
            metadata: "{}".into(),
            recorded_at: at(position as u32),
            hash: String::new(),
        }
    }

    fn fold(events: &[RecordedEvent]) -> Clients {
        let mut clients = Clients::default();
        for event in events {
            clients.apply(event).unwrap();
        }
        clients
    }

    #[test]
    fn a_registered_client_is_found_by_id_with_every_field() {
        let clients = fold(&[recorded(1, "wiki", &registered("wiki", "Wiki"))]);
        let view = clients.get("wiki").unwrap();
        assert_eq!(view.settings.name, "Wiki");
        assert_eq!(view.client_type, ClientType::Confidential);
        assert_eq!(view.secret_hash.as_deref(), Some(HASH));
        assert!(view.has_redirect_uri("https://wiki.example.org/callback"));
        assert!(!view.has_redirect_uri("https://wiki.example.org/callback/"));
        assert!(view.has_post_logout_redirect_uri("https://wiki.example.org/"));
        assert!(view.allows_grant(GrantType::RefreshToken));
        assert!(!view.allows_grant(GrantType::ClientCredentials));
        assert!(view.allows_scope("profile") && !view.allows_scope("email"));
        assert!(!view.is_public());
        assert_eq!((view.created_at, view.updated_at), (at(1), at(1)));
        assert_eq!(view.secret_rotated_at, None);
        assert_eq!(clients.get("other"), None);
    }

    #[test]
    fn updates_and_rotations_change_the_view() {
        let clients = fold(&[
            recorded(1, "wiki", &registered("wiki", "Wiki")),
            recorded(2, "wiki", &ClientEvent::Updated(settings("Team wiki"))),
            recorded(
                3,
                "wiki",
                &ClientEvent::SecretRotated(ClientSecretRotated {
                    secret_hash: NEW_HASH.into(),
                }),
            ),
        ]);
        let view = clients.get("wiki").unwrap();
        assert_eq!(view.settings.name, "Team wiki");
        assert_eq!(view.secret_hash.as_deref(), Some(NEW_HASH));
        assert_eq!(view.secret_rotated_at, Some(at(3)));
        assert_eq!((view.created_at, view.updated_at), (at(1), at(3)));
    }

    #[test]
    fn a_deleted_client_disappears() {
        let clients = fold(&[
            recorded(1, "wiki", &registered("wiki", "Wiki")),
            recorded(2, "crm", &registered("crm", "CRM")),
            recorded(3, "wiki", &ClientEvent::Deleted),
        ]);
        assert_eq!(clients.get("wiki"), None);
        assert_eq!(clients.len(), 1);
    }

    #[test]
    fn clients_are_listed_by_id() {
        let clients = fold(&[
            recorded(1, "zeta", &registered("zeta", "Z")),
            recorded(2, "alpha", &registered("alpha", "A")),
        ]);
        let ids: Vec<&str> = clients
            .list()
            .iter()
            .map(|view| view.client_id.as_str())
            .collect();
        assert_eq!(ids, ["alpha", "zeta"]);
    }

    #[test]
    fn events_about_unknown_clients_are_skipped() {
        let clients = fold(&[recorded(1, "ghost", &ClientEvent::Deleted)]);
        assert!(clients.is_empty());
    }

    #[test]
    fn an_unreadable_payload_is_an_error_and_changes_nothing() {
        let mut clients = fold(&[recorded(1, "wiki", &registered("wiki", "Wiki"))]);
        let before = clients.clone();
        let mut event = recorded(2, "wiki", &ClientEvent::Updated(settings("x")));
        event.data = r#"{"name":"x"}"#.into();
        let error = clients.apply(&event).unwrap_err();
        assert!(
            matches!(error, DecodeError::Payload { position: 2, .. }),
            "{error:?}"
        );
        let mut newer = recorded(2, "wiki", &ClientEvent::Deleted);
        newer.schema = 2;
        assert!(matches!(
            clients.apply(&newer),
            Err(DecodeError::UnknownSchema { schema: 2, .. })
        ));
        assert_eq!(clients, before);
    }

    #[test]
    fn debug_output_hides_the_secret_hash() {
        let clients = fold(&[recorded(1, "wiki", &registered("wiki", "Wiki"))]);
        let debug = format!("{:?}", clients.get("wiki").unwrap());
        assert!(!debug.contains(HASH), "{debug}");
        assert!(debug.contains("<redacted>"));
    }

    /// A client as the view serialised it before it embedded [`ClientSettings`]: every
    /// setting at the top level, `jwks` written out even when absent.
    const SNAPSHOT_BEFORE_EMBEDDING: &str = r#"[{
        "client_id": "wiki",
        "client_type": "confidential",
        "name": "Wiki",
        "redirect_uris": ["https://wiki.example.org/callback"],
        "post_logout_redirect_uris": ["https://wiki.example.org/"],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "client_secret_basic",
        "id_token_signed_response_alg": "RS256",
        "scopes": ["openid", "profile"],
        "require_pkce": false,
        "jwks": null,
        "secret_hash": "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
        "created_at": "2026-11-28T10:01:00Z",
        "updated_at": "2026-11-28T10:01:00Z",
        "secret_rotated_at": null
    }]"#;

    #[test]
    fn a_snapshot_from_before_the_view_embedded_its_settings_still_loads() {
        let folded = fold(&[recorded(1, "wiki", &registered("wiki", "Wiki"))]);
        let restored: Clients = serde_json::from_str(SNAPSHOT_BEFORE_EMBEDDING).unwrap();
        assert_eq!(restored, folded);
    }

    #[test]
    fn the_settings_stay_flat_in_snapshots() {
        let folded = fold(&[recorded(1, "wiki", &registered("wiki", "Wiki"))]);
        let mut before: serde_json::Value =
            serde_json::from_str(SNAPSHOT_BEFORE_EMBEDDING).unwrap();
        // The one difference: an absent `jwks` is now left out, as in the events.
        before[0].as_object_mut().unwrap().remove("jwks");
        assert_eq!(serde_json::to_value(&folded).unwrap(), before);
    }

    #[test]
    fn a_snapshot_round_trip_keeps_every_client() {
        let clients = fold(&[
            recorded(1, "wiki", &registered("wiki", "Wiki")),
            recorded(2, "crm", &registered("crm", "CRM")),
        ]);
        let json = serde_json::to_string(&clients).unwrap();
        let restored: Clients = serde_json::from_str(&json).unwrap();
        assert_eq!(restored, clients);
    }
}
