//! The log as Verity reads it back from disk: events, three lines each (`<type> <stream>
//! <schema>`, the metadata JSON, the payload JSON), at positions 1, 2, ... Each one is
//! hashed into the chain and checked by the verifier, its metadata decoded, its payload
//! decoded (and upcast) by every aggregate's event table and evolved into that
//! aggregate, then folded into the read models until the first event they refuse, as
//! the projector stops there.
#![no_main]

use std::collections::HashMap;

use chrono::Duration;
use libfuzzer_sys::fuzz_target;
use verity_domain::backchannel::BackchannelEvent;
use verity_domain::client::Client;
use verity_domain::grant::GrantEvent;
use verity_domain::instance::Instance;
use verity_domain::key::SigningKey;
use verity_domain::network::NetworkEvent;
use verity_domain::organization::Organization;
use verity_domain::role::Roles;
use verity_domain::session::Session;
use verity_domain::signin::SignInEvent;
use verity_domain::token::TokenEvent;
use verity_domain::user::User;
use verity_domain::{Aggregate, DomainEvent, RecordedEvent};
use verity_projection::{Projection, ReadModels};
use verity_store::chain::{ChainVerifier, EventFields, GENESIS};

/// Most events read from one input.
const MAX_EVENTS: usize = 64;

/// Decodes `event` for `A` and evolves `state` with it when it is one of `A`'s.
fn fold<A: Aggregate>(state: &mut A, event: &RecordedEvent) {
    if let Ok(Some(typed)) = A::Event::decode(event) {
        // Re-encoding a decoded event keeps its stored type name.
        assert_eq!(typed.event_type(), event.event_type);
        let _ = typed.to_data();
        *state = std::mem::take(state).evolve(&typed);
    }
}

/// Decodes `event` as one of the facts nothing refuses (no aggregate folds them).
fn decode<E: DomainEvent>(event: &RecordedEvent) {
    if let Ok(Some(typed)) = E::decode(event) {
        assert_eq!(typed.event_type(), event.event_type);
        let _ = typed.to_data();
    }
}

/// Every aggregate, each evolved by the events of its own.
#[derive(Default)]
struct Aggregates {
    instance: Instance,
    organization: Organization,
    user: User,
    client: Client,
    key: SigningKey,
    session: Session,
    roles: Roles,
}

impl Aggregates {
    fn fold(&mut self, event: &RecordedEvent) {
        fold(&mut self.instance, event);
        fold(&mut self.organization, event);
        fold(&mut self.user, event);
        fold(&mut self.client, event);
        fold(&mut self.key, event);
        fold(&mut self.session, event);
        fold(&mut self.roles, event);
        decode::<SignInEvent>(event);
        decode::<GrantEvent>(event);
        decode::<TokenEvent>(event);
        decode::<NetworkEvent>(event);
        decode::<BackchannelEvent>(event);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let mut events = Vec::new();
    let mut versions: HashMap<String, u64> = HashMap::new();
    let mut previous = GENESIS;
    while let (Some(head), Some(metadata), Some(payload)) =
        (lines.next(), lines.next(), lines.next())
    {
        if events.len() == MAX_EVENTS {
            break;
        }
        let mut fields = head.split(' ');
        let event_type = fields.next().unwrap_or_default().to_owned();
        let stream = fields.next().unwrap_or_default().to_owned();
        let schema = fields
            .next()
            .and_then(|schema| schema.parse().ok())
            .unwrap_or(1);
        let version = versions.entry(stream.clone()).or_insert(0);
        *version += 1;
        let position = events.len() as u64 + 1;
        let mut event = RecordedEvent {
            position,
            stream,
            version: *version,
            event_type,
            schema,
            data: payload.to_owned(),
            metadata: metadata.to_owned(),
            recorded_at: verity_fuzz::now() + Duration::seconds(position as i64),
            hash: String::new(),
        };
        previous = EventFields::of(&event).hash(&previous);
        event.hash = hex::encode(previous);
        events.push(event);
    }
    let mut verifier = ChainVerifier::default();
    let mut aggregates = Aggregates::default();
    let mut models = ReadModels::default();
    let mut folding = true;
    for event in &events {
        assert!(
            verifier.check(event).is_ok(),
            "the chain breaks at {}",
            event.position
        );
        let _ = event.decoded_metadata();
        aggregates.fold(event);
        if folding {
            folding = models.apply(event).is_ok();
        }
    }
    assert_eq!(verifier.report().events, events.len() as u64);
});
