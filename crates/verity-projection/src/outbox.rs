//! The back-channel logout outbox (ADR 0007): the notices still to deliver, derived from
//! the log — each session that ended, for each client it signed in to that registered a
//! back-channel logout URI — and closed by `backchannel.delivered` or
//! `backchannel.failed`. Because it is a fold, a restart or a crash loses no notice; the
//! worker that delivers them (`verity_oidc::backchannel`) keeps only its attempts'
//! timing outside the log.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use verity_domain::backchannel::{
    BACKCHANNEL_DELIVERED, BACKCHANNEL_FAILED, BackchannelEvent, NoticeDelivered, NoticeFailed,
};
use verity_domain::{DecodeError, DomainEvent, RecordedEvent};

use crate::clients::Clients;
use crate::sessions::Ended;

/// A logout notice to post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// Unique and stable: the ending event's position, the session and the client.
    pub id: String,
    /// The client to notify.
    pub client_id: String,
    /// The session that ended (`sid` of the logout token).
    pub sid: String,
    /// Its person (`sub` of the logout token).
    pub sub: String,
    /// When the session ended (the log's recording time).
    pub created_at: DateTime<Utc>,
}

/// How a client's notices went, as the log tells it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryStatus {
    /// The last delivered notice, when.
    pub last_success: Option<DateTime<Utc>>,
    /// The last notice given up, when and why.
    pub last_failure: Option<(DateTime<Utc>, String)>,
}

/// The outbox read model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outbox {
    pending: BTreeMap<String, Notice>,
    status: HashMap<String, DeliveryStatus>,
}

impl Outbox {
    /// The notices still to deliver, oldest first.
    pub fn pending(&self) -> impl Iterator<Item = &Notice> {
        self.pending.values()
    }

    /// How many notices to `client_id` are still to deliver.
    pub fn pending_for(&self, client_id: &str) -> usize {
        self.pending
            .values()
            .filter(|notice| notice.client_id == client_id)
            .count()
    }

    /// How `client_id`'s notices went.
    pub fn status(&self, client_id: &str) -> Option<&DeliveryStatus> {
        self.status.get(client_id)
    }

    /// A notice for each client the ended sessions signed in to that has a back-channel
    /// logout URI (as registered now, when the session ended).
    pub(crate) fn enqueue(&mut self, ended: &Ended, clients: &Clients, event: &RecordedEvent) {
        for session in &ended.sessions {
            for client_id in &session.clients {
                let notifiable = clients
                    .get(client_id)
                    .is_some_and(|client| client.settings.backchannel_logout_uri.is_some());
                if !notifiable {
                    continue;
                }
                let notice = Notice {
                    id: format!("{}:{}:{client_id}", event.position, session.sid),
                    client_id: client_id.clone(),
                    sid: session.sid.clone(),
                    sub: session.user_id.to_string(),
                    created_at: event.recorded_at,
                };
                self.pending.insert(notice.id.clone(), notice);
            }
        }
    }

    /// Folds what became of a notice.
    pub(crate) fn apply(&mut self, event: &RecordedEvent) -> Result<(), DecodeError> {
        if !matches!(
            event.event_type.as_str(),
            BACKCHANNEL_DELIVERED | BACKCHANNEL_FAILED
        ) {
            return Ok(());
        }
        match BackchannelEvent::decode(event)? {
            Some(BackchannelEvent::Delivered(NoticeDelivered {
                notice_id,
                client_id,
                ..
            })) => {
                self.pending.remove(&notice_id);
                self.status.entry(client_id).or_default().last_success = Some(event.recorded_at);
            }
            Some(BackchannelEvent::Failed(NoticeFailed {
                notice_id,
                client_id,
                reason,
                ..
            })) => {
                self.pending.remove(&notice_id);
                self.status.entry(client_id).or_default().last_failure =
                    Some((event.recorded_at, reason));
            }
            None => {}
        }
        Ok(())
    }
}
