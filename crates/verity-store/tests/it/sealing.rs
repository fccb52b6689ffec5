//! Personal data sealed with a key per person, on both backends: what the database holds,
//! what readers see, and erasure with the chain still whole.

use std::sync::Arc;

use uuid::Uuid;
use verity_domain::personal::{ERASED_EMAIL, ERASED_TEXT, KeysInOrder, StoredKey};
use verity_domain::store::PersonalReads;
use verity_domain::{
    Actor, AppendRequest, EventStore, ExpectedVersion, NewEvent, StoreError, UniqueKey,
};
use verity_store::{PersonalSecrets, SealedStore, Store, chain};

use crate::backends::{Backend, event, metadata};

fn secrets() -> PersonalSecrets {
    PersonalSecrets::new([3; 32], [4; 32]).unwrap()
}

async fn sealed(store: Arc<dyn Store>) -> SealedStore {
    SealedStore::open(store, secrets()).await.unwrap()
}

fn created(user: Uuid, email: &str) -> NewEvent {
    event(
        "user.created",
        &format!(
            r#"{{"user_id":"{user}","org_id":"{}","email":"{email}","name":"Ada Lovelace","temporary_password_hash":"h","temporary_password_expires_at":"2026-12-01T00:00:00Z"}}"#,
            Uuid::nil()
        ),
    )
}

/// A sign-in from the person's own browser: its origin and client address are theirs.
fn signed_in(user: Uuid) -> NewEvent {
    let mut signed_in = event(
        "user.signin.succeeded",
        &format!(
            r#"{{"user_id":"{user}","sid":"s","amr":["pwd"],"device_trust_used":false,"client_id":"app","ip":"192.0.2.7","user_agent":"Firefox"}}"#
        ),
    );
    signed_in.metadata.actor = Actor::User {
        user_id: user.to_string(),
        sid: None,
    };
    signed_in.metadata.client_ip = Some("192.0.2.7".into());
    signed_in
}

fn claim(email: &str) -> UniqueKey {
    UniqueKey(format!("email:{}:{email}", Uuid::nil()))
}

async fn create(store: &SealedStore, user: Uuid, email: &str) {
    let mut request = AppendRequest::new(
        format!("user-{user}"),
        ExpectedVersion::NoStream,
        vec![created(user, email), signed_in(user)],
    );
    request.claims.push(claim(email));
    store.append(request).await.unwrap();
}

async fn all_raw(backend: &Backend) -> String {
    let events = backend.store.read_all(0, 1000).await.unwrap();
    events
        .iter()
        .map(|event| format!("{} {}", event.data, event.metadata))
        .collect::<Vec<_>>()
        .join("\n")
}

pub async fn personal_fields_are_sealed_in_the_database_and_open_for_readers(backend: Backend) {
    let store = sealed(backend.store.clone()).await;
    let ada = Uuid::from_u128(1);
    create(&store, ada, "ada@example.org").await;

    let raw = all_raw(&backend).await;
    for personal in ["ada@example.org", "Ada Lovelace", "192.0.2.7", "Firefox"] {
        assert!(!raw.contains(personal), "{personal} is in clear: {raw}");
    }
    assert!(
        raw.contains(r#""client_id":"app""#),
        "what is not personal stays"
    );
    let held = backend.store.unique_keys_like("").await.unwrap();
    assert!(
        held.iter().all(|key| !key.0.contains("ada")),
        "the claim names no address: {held:?}"
    );

    let events = store.read_stream(&format!("user-{ada}")).await.unwrap();
    assert!(events[0].data.contains(r#""email":"ada@example.org""#));
    assert!(events[0].data.contains(r#""name":"Ada Lovelace""#));
    assert!(events[1].data.contains(r#""user_agent":"Firefox""#));
    assert!(events[1].metadata.contains(r#""client_ip":"192.0.2.7""#));

    // Another node, with its own cache, reads the same.
    let other = sealed(backend.reopen().await).await;
    let again = other.read_all(0, 10).await.unwrap();
    assert_eq!(again[0].data, events[0].data);
    assert_eq!(
        chain::verify(backend.store.as_ref(), |_| {})
            .await
            .unwrap()
            .events,
        2
    );
}

pub async fn an_address_is_claimed_once_and_the_refusal_names_it(backend: Backend) {
    let store = sealed(backend.store.clone()).await;
    create(&store, Uuid::from_u128(1), "ada@example.org").await;
    let bea = Uuid::from_u128(2);
    let mut request = AppendRequest::new(
        format!("user-{bea}"),
        ExpectedVersion::NoStream,
        vec![created(bea, "ada@example.org")],
    );
    request.claims.push(claim("ada@example.org"));
    let refused = store.append(request).await.unwrap_err();
    assert_eq!(
        refused,
        StoreError::UniqueKeyTaken {
            key: claim("ada@example.org")
        }
    );
}

pub async fn erasure_blanks_the_person_everywhere_and_the_chain_still_verifies(backend: Backend) {
    let store = sealed(backend.store.clone()).await;
    let (ada, bea) = (Uuid::from_u128(1), Uuid::from_u128(2));
    create(&store, ada, "ada@example.org").await;
    create(&store, bea, "bea@example.org").await;
    let before = chain::verify(backend.store.as_ref(), |_| {}).await.unwrap();

    store.erase(ada, metadata().occurred_at).await.unwrap();

    let after = chain::verify(backend.store.as_ref(), |_| {}).await.unwrap();
    assert_eq!(after, before, "the log did not change");
    for reader in [&store, &sealed(backend.reopen().await).await] {
        assert!(reader.is_erased(ada).await.unwrap());
        let events = reader.read_stream(&format!("user-{ada}")).await.unwrap();
        assert!(
            events[0]
                .data
                .contains(&format!(r#""email":"{ERASED_EMAIL}""#))
        );
        assert!(
            events[0]
                .data
                .contains(&format!(r#""name":"{ERASED_TEXT}""#))
        );
        assert!(events[1].data.contains(&format!(r#""ip":"{ERASED_TEXT}""#)));
        assert!(
            events[1]
                .metadata
                .contains(&format!(r#""client_ip":"{ERASED_TEXT}""#))
        );
        let others = reader.read_stream(&format!("user-{bea}")).await.unwrap();
        assert!(
            others[0].data.contains("bea@example.org"),
            "Bea is untouched"
        );
    }
    // Nothing new about an erased person is sealed under a new key.
    let mut late = signed_in(ada);
    late.event_type = "user.signin.failed".into();
    late.data = format!(
        r#"{{"user_id":"{ada}","email":"ada@example.org","reason":"wrong_password","ip":"192.0.2.7"}}"#
    );
    store
        .append(AppendRequest::new(
            format!("user-{ada}"),
            ExpectedVersion::Any,
            vec![late],
        ))
        .await
        .unwrap();
    assert!(!all_raw(&backend).await.contains("ada@example.org"));
}

pub async fn events_written_in_clear_read_as_they_are_until_erased(backend: Backend) {
    let ada = Uuid::from_u128(1);
    let mut request = AppendRequest::new(
        format!("user-{ada}"),
        ExpectedVersion::NoStream,
        vec![created(ada, "ada@example.org"), signed_in(ada)],
    );
    request.claims.push(claim("ada@example.org"));
    backend.store.append(request).await.unwrap();
    let raw = backend.store.read_all(0, 10).await.unwrap();

    let store = sealed(backend.store.clone()).await;
    let held = backend.store.unique_keys_like("").await.unwrap();
    assert!(
        held.iter().all(|key| !key.0.contains("ada")),
        "the clear claim was rekeyed: {held:?}"
    );
    assert_eq!(store.read_all(0, 10).await.unwrap(), raw, "read as written");
    let mut again = AppendRequest::new(
        format!("user-{}", Uuid::from_u128(2)),
        ExpectedVersion::NoStream,
        vec![created(Uuid::from_u128(2), "ada@example.org")],
    );
    again.claims.push(claim("ada@example.org"));
    assert!(matches!(
        store.append(again).await,
        Err(StoreError::UniqueKeyTaken { .. })
    ));

    store.erase(ada, metadata().occurred_at).await.unwrap();
    let erased = store.read_all(0, 10).await.unwrap();
    assert!(!erased[0].data.contains("ada@example.org"));
    assert!(!erased[1].data.contains("Firefox"));
    assert!(!erased[1].metadata.contains("192.0.2.7"));
    chain::verify(backend.store.as_ref(), |_| {}).await.unwrap();
}

/// `nonce ‖ ciphertext ‖ tag` of `message` under XChaCha20-Poly1305, the cipher of keys
/// and fields sealed before AES-256-GCM.
fn xchacha(key: &[u8; 32], nonce: [u8; 24], aad: &[u8], message: &[u8]) -> Vec<u8> {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    let sealed = chacha20poly1305::XChaCha20Poly1305::new(&(*key).into())
        .encrypt(&nonce.into(), Payload { msg: message, aad })
        .unwrap();
    [nonce.as_slice(), &sealed].concat()
}

/// `text` sealed the way fields were before AES-256-GCM: bound to the person and the
/// member, `pd1:` and base64url of nonce, ciphertext, tag.
fn sealed_v1(key: &[u8; 32], subject: Uuid, member: &str, text: &str) -> String {
    use base64::Engine;
    let aad = [subject.as_bytes().as_slice(), b"|", member.as_bytes()].concat();
    format!(
        "pd1:{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(xchacha(
            key,
            [7; 24],
            &aad,
            text.as_bytes()
        ))
    )
}

pub async fn a_log_sealed_before_aes_still_opens_and_its_people_keep_their_cipher(
    backend: Backend,
) {
    // Ada's key and first event as the store wrote them before AES-256-GCM: her data key
    // sealed with XChaCha20-Poly1305 under the key `secrets()` is given ([3; 32]).
    let ada = Uuid::from_u128(1);
    let data_key = [9; 32];
    let context = [b"verity person key v1|".as_slice(), ada.as_bytes()].concat();
    let wrapped = xchacha(&[3; 32], [5; 24], &context, &data_key);
    backend.store.add_person_key(ada, wrapped).await.unwrap();
    let email = sealed_v1(&data_key, ada, "email", "ada@example.org");
    let name = sealed_v1(&data_key, ada, "name", "Ada Lovelace");
    let old = event(
        "user.created",
        &format!(
            r#"{{"user_id":"{ada}","org_id":"{}","email":"{email}","name":"{name}","temporary_password_hash":"h","temporary_password_expires_at":"2026-12-01T00:00:00Z"}}"#,
            Uuid::nil()
        ),
    );
    backend
        .store
        .append(AppendRequest::new(
            format!("user-{ada}"),
            ExpectedVersion::NoStream,
            vec![old],
        ))
        .await
        .unwrap();

    let store = sealed(backend.store.clone()).await;
    let read = store.read_stream(&format!("user-{ada}")).await.unwrap();
    assert!(
        read[0].data.contains(r#""email":"ada@example.org""#),
        "{}",
        read[0].data
    );
    assert!(read[0].data.contains(r#""name":"Ada Lovelace""#));

    // Her new events keep her cipher; a new person gets AES-256-GCM.
    store
        .append(AppendRequest::new(
            format!("user-{ada}"),
            ExpectedVersion::Exact(1),
            vec![signed_in(ada)],
        ))
        .await
        .unwrap();
    let bea = Uuid::from_u128(2);
    create(&store, bea, "bea@example.org").await;
    let raw = backend.store.read_all(0, 10).await.unwrap();
    assert!(
        raw[1].data.contains(r#""user_agent":"pd1:"#),
        "{}",
        raw[1].data
    );
    assert!(raw[1].metadata.contains(r#""client_ip":"pd1:"#));
    // A person with a key made now: their payload's values sealed together.
    assert!(raw[2].data.contains(r#""email":"pd3:"#), "{}", raw[2].data);
    assert!(!raw.iter().any(|event| event.data.contains("Firefox")));

    // Another node reads both; erasing Ada blanks her old and new fields alike.
    let other = sealed(backend.reopen().await).await;
    let both = other.read_all(0, 10).await.unwrap();
    assert!(both[1].data.contains(r#""user_agent":"Firefox""#));
    assert!(both[2].data.contains(r#""email":"bea@example.org""#));
    other.erase(ada, metadata().occurred_at).await.unwrap();
    let erased = other.read_all(0, 10).await.unwrap();
    assert!(
        erased[0]
            .data
            .contains(&format!(r#""email":"{ERASED_EMAIL}""#))
    );
    assert!(!erased[1].data.contains("Firefox"));
    assert!(erased[2].data.contains(r#""email":"bea@example.org""#));
    chain::verify(backend.store.as_ref(), |_| {}).await.unwrap();
}

pub async fn an_admins_address_stays_the_admins(backend: Backend) {
    let store = sealed(backend.store.clone()).await;
    let ada = Uuid::from_u128(1);
    let mut disabled = event("user.disabled", "{}");
    disabled.metadata.actor = Actor::User {
        user_id: Uuid::from_u128(9).to_string(),
        sid: None,
    };
    disabled.metadata.client_ip = Some("198.51.100.1".into());
    create(&store, ada, "ada@example.org").await;
    store
        .append(AppendRequest::new(
            format!("user-{ada}"),
            ExpectedVersion::Exact(2),
            vec![disabled],
        ))
        .await
        .unwrap();
    store.erase(ada, metadata().occurred_at).await.unwrap();
    let events = store.read_stream(&format!("user-{ada}")).await.unwrap();
    assert!(events[2].metadata.contains("198.51.100.1"));
}

/// `user.erased` (it names its person by its stream).
fn erased_event() -> NewEvent {
    event(
        "user.erased",
        &format!(
            r#"{{"org_id":"{}","email":"ada@example.org"}}"#,
            Uuid::nil()
        ),
    )
}

pub async fn recording_an_erasure_destroys_the_key_even_after_a_failure(backend: Backend) {
    let store = sealed(backend.store.clone()).await;
    let (ada, bea) = (Uuid::from_u128(1), Uuid::from_u128(2));
    create(&store, ada, "ada@example.org").await;
    create(&store, bea, "bea@example.org").await;
    let mut erasure = AppendRequest::new(
        format!("user-{ada}"),
        ExpectedVersion::Any,
        vec![erased_event()],
    );
    erasure.releases.push(claim("ada@example.org"));
    store.append(erasure).await.unwrap();
    let other = sealed(backend.reopen().await).await;
    assert!(other.is_erased(ada).await.unwrap(), "the key is gone");
    assert!(
        !all_raw(&backend).await.contains("ada@example.org"),
        "the erasure's own address is sealed"
    );
    // The address is free again.
    create(&store, Uuid::from_u128(3), "ada@example.org").await;

    // An erasure recorded without its key destroyed (a crash between the two): the next
    // reader destroys it.
    backend
        .store
        .append(AppendRequest::new(
            format!("user-{bea}"),
            ExpectedVersion::Any,
            vec![erased_event()],
        ))
        .await
        .unwrap();
    assert!(!other.is_erased(bea).await.unwrap());
    other.read_all(0, 100).await.unwrap();
    assert!(
        sealed(backend.reopen().await)
            .await
            .is_erased(bea)
            .await
            .unwrap()
    );
}

pub async fn another_master_key_is_refused_before_it_touches_anything(backend: Backend) {
    let store = sealed(backend.store.clone()).await;
    create(&store, Uuid::from_u128(1), "ada@example.org").await;
    let held = backend.store.unique_keys_like("").await.unwrap();
    let other = SealedStore::open(
        backend.reopen().await,
        PersonalSecrets::new([5; 32], [6; 32]).unwrap(),
    )
    .await
    .unwrap_err();
    assert!(other.to_string().contains("another one"), "{other}");
    assert_eq!(backend.store.unique_keys_like("").await.unwrap(), held);
}

pub async fn directory_attributes_are_sealed_item_by_item(backend: Backend) {
    let store = sealed(backend.store.clone()).await;
    let ada = Uuid::from_u128(1);
    create(&store, ada, "ada@example.org").await;
    let changed = event(
        "user.directory.changed",
        r#"{"before":{},"after":{"external_id":"hr-42","name":{"family_name":"Lovelace","given_name":"Ada"},"emails":[{"value":"ada@home.example","type":"home"},{"value":"ada@work.example"}]}}"#,
    );
    store
        .append(AppendRequest::new(
            format!("user-{ada}"),
            ExpectedVersion::Exact(2),
            vec![changed],
        ))
        .await
        .unwrap();
    let raw = all_raw(&backend).await;
    for personal in ["hr-42", "Lovelace", "ada@home.example", "ada@work.example"] {
        assert!(!raw.contains(personal), "{personal} is in clear: {raw}");
    }
    assert!(
        raw.contains(r#""type":"home""#),
        "what is not personal stays"
    );
    let opened = &store.read_stream(&format!("user-{ada}")).await.unwrap()[2];
    assert!(
        opened.data.contains(r#""value":"ada@work.example""#),
        "{}",
        opened.data
    );
    assert!(opened.data.contains(r#""given_name":"Ada""#));
}

/// A reader that starts from the log's first position reads the persons' keys in the
/// order they were added, runs at a time: every person's fields open, an erased person's
/// read as erased, and the order is the order people came.
pub async fn a_replay_from_the_start_reads_keys_in_the_order_people_came(backend: Backend) {
    let store = sealed(backend.store.clone()).await;
    let people: Vec<Uuid> = (1..=150).map(Uuid::from_u128).collect();
    for (index, person) in people.iter().enumerate() {
        create(&store, *person, &format!("person{index}@example.org")).await;
    }
    let erased = people[70];
    store.erase(erased, metadata().occurred_at).await.unwrap();

    let in_order = backend.store.person_keys_in_order(0, 1000).await.unwrap();
    let subjects: Vec<Uuid> = in_order.keys.iter().map(|(subject, _)| *subject).collect();
    assert_eq!(
        subjects[0],
        Uuid::nil(),
        "the master key's check comes first"
    );
    assert_eq!(&subjects[1..], &people[..]);
    let first = backend.store.person_keys_in_order(0, 101).await.unwrap();
    assert_eq!(first.keys[..], in_order.keys[..101]);
    let middle = first.last.expect("a run of keys has a last place");
    let rest = backend
        .store
        .person_keys_in_order(middle, 20)
        .await
        .unwrap();
    assert_eq!(rest.keys.len(), 20);
    assert_eq!(
        rest.keys[0].0, subjects[101],
        "the run after a place starts after it"
    );
    let after_all = in_order.last.expect("the whole run has a last place");
    assert_eq!(
        backend
            .store
            .person_keys_in_order(after_all, 10)
            .await
            .unwrap(),
        KeysInOrder::default(),
        "nothing comes after the last place"
    );

    let reader = sealed(backend.reopen().await).await;
    let events = reader.read_all(0, 1000).await.unwrap();
    assert_eq!(events.len(), 300);
    for (index, person) in people.iter().enumerate() {
        let created = &events[index * 2];
        assert_eq!(created.stream, format!("user-{person}"));
        let expected = if *person == erased {
            ERASED_EMAIL.to_owned()
        } else {
            format!("person{index}@example.org")
        };
        assert!(
            created.data.contains(&format!(r#""email":"{expected}""#)),
            "{}",
            created.data
        );
    }
    assert!(reader.is_erased(erased).await.unwrap());
}

/// Stored keys come back byte for byte, looked up and read in order, whatever their
/// bytes (zero, invalid UTF-8, the packing's own separators) and lengths, with erased
/// rows between them.
pub async fn stored_keys_come_back_byte_for_byte(backend: Backend) {
    let keys: Vec<Vec<u8>> = vec![
        vec![0; 61],
        (0..=255).collect(),
        b",;\x1e\x1f'\"".to_vec(),
        vec![0xff, 0xfe, 0x80, 0xc0, 0x00, 0xed, 0xa0, 0x80],
        Vec::new(),
        vec![b'A'; 72],
    ];
    let people: Vec<Uuid> = (0..keys.len() * 2)
        .map(|index| Uuid::from_u128(1000 + index as u128))
        .collect();
    let mut expected = Vec::new();
    for (index, person) in people.iter().enumerate() {
        match keys.get(index / 2) {
            Some(key) if index % 2 == 0 => {
                backend
                    .store
                    .add_person_key(*person, key.clone())
                    .await
                    .unwrap();
                expected.push((*person, Some(key.clone())));
            }
            _ => {
                backend
                    .store
                    .erase_person_key(*person, metadata().occurred_at)
                    .await
                    .unwrap();
                expected.push((*person, None));
            }
        }
    }
    let bytes = |stored: &StoredKey| match stored {
        StoredKey::Sealed(sealed) => Some(sealed.clone()),
        StoredKey::Erased(_) => None,
    };
    let mut looked_up: Vec<(Uuid, Option<Vec<u8>>)> = backend
        .store
        .person_keys(&people)
        .await
        .unwrap()
        .iter()
        .map(|(subject, stored)| (*subject, bytes(stored)))
        .collect();
    looked_up.sort();
    let mut sorted = expected.clone();
    sorted.sort();
    assert_eq!(looked_up, sorted);
    let in_order: Vec<(Uuid, Option<Vec<u8>>)> = backend
        .store
        .person_keys_in_order(0, 1000)
        .await
        .unwrap()
        .keys
        .iter()
        .map(|(subject, stored)| (*subject, bytes(stored)))
        .collect();
    assert_eq!(in_order, expected);
}

/// A person's key is stored in the transaction of the append that first seals something
/// of theirs: an append that brings a key for a person who has one (another process made
/// it first) is refused and leaves no trace, and an append refused for any reason leaves
/// no key behind.
pub async fn a_persons_key_is_stored_with_the_append_that_makes_it(backend: Backend) {
    let (ada, bea) = (Uuid::from_u128(1), Uuid::from_u128(2));
    let stored = |subject: Uuid| {
        let store = backend.store.clone();
        async move { store.person_keys(&[subject]).await.unwrap() }
    };
    let mut request = AppendRequest::new(
        format!("user-{ada}"),
        ExpectedVersion::NoStream,
        vec![event("user.disabled", "{}")],
    );
    request.person_keys.push((ada, vec![1; 61]));
    backend.store.append(request).await.unwrap();
    assert_eq!(
        stored(ada).await,
        vec![(ada, StoredKey::Sealed(vec![1; 61]))]
    );

    let head = backend.store.head().await.unwrap();
    let mut again = AppendRequest::new(
        format!("other-{ada}"),
        ExpectedVersion::NoStream,
        vec![event("user.disabled", "{}")],
    );
    again.claims.push(claim("ada@example.org"));
    again.person_keys.push((bea, vec![2; 61]));
    again.person_keys.push((ada, vec![3; 61]));
    assert!(matches!(
        backend.store.append(again).await,
        Err(StoreError::PersonKeyExists { subject }) if subject == ada
    ));
    assert_eq!(backend.store.head().await.unwrap(), head, "no event");
    assert!(stored(bea).await.is_empty(), "no key of the refused append");
    assert_eq!(
        stored(ada).await,
        vec![(ada, StoredKey::Sealed(vec![1; 61]))]
    );
    assert!(
        backend.store.unique_keys_like("").await.unwrap().is_empty(),
        "no claim"
    );

    let mut late = AppendRequest::new(
        format!("user-{ada}"),
        ExpectedVersion::NoStream,
        vec![event("user.disabled", "{}")],
    );
    late.person_keys.push((bea, vec![2; 61]));
    assert!(matches!(
        backend.store.append(late).await,
        Err(StoreError::Conflict { .. })
    ));
    assert!(
        stored(bea).await.is_empty(),
        "no key of a conflicting append"
    );
}

/// Two processes sealing the first events of the same people at once (and one of them
/// twice, so that two appends of one batch may make a key for the same person): whichever
/// stores a person's key first, the others seal again with it, and every field opens.
pub async fn two_processes_making_the_same_persons_key_agree(backend: Backend) {
    let first = Arc::new(sealed(backend.store.clone()).await);
    let second = Arc::new(sealed(backend.reopen().await).await);
    let people: Vec<Uuid> = (1..=40).map(Uuid::from_u128).collect();
    let mut tasks = Vec::new();
    for person in &people {
        for (store, stream) in [(&first, "user"), (&second, "other"), (&first, "third")] {
            let (store, person) = (Arc::clone(store), *person);
            let request = AppendRequest::new(
                format!("{stream}-{person}"),
                ExpectedVersion::NoStream,
                vec![signed_in(person)],
            );
            tasks.push(tokio::spawn(async move { store.append(request).await }));
        }
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let keys = backend.store.person_keys(&people).await.unwrap();
    assert_eq!(keys.len(), people.len(), "one key a person");
    let reader = sealed(backend.reopen().await).await;
    let events = reader.read_all(0, 1000).await.unwrap();
    assert_eq!(events.len(), people.len() * 3);
    for event in &events {
        assert!(event.data.contains(r#""ip":"192.0.2.7""#), "{}", event.data);
        assert!(event.metadata.contains("192.0.2.7"), "{}", event.metadata);
    }

    // A stream started for a person is sealed without asking for their key first; one
    // stored already (here an erasure) refuses that append, and it is sealed again with
    // what is stored.
    let erased = Uuid::from_u128(99);
    backend
        .store
        .erase_person_key(erased, metadata().occurred_at)
        .await
        .unwrap();
    let mut request = AppendRequest::new(
        format!("user-{erased}"),
        ExpectedVersion::NoStream,
        vec![created(erased, "eve@example.org")],
    );
    request.claims.push(claim("eve@example.org"));
    first.append(request).await.unwrap();
    let events = reader.read_stream(&format!("user-{erased}")).await.unwrap();
    assert!(
        events[0]
            .data
            .contains(&format!(r#""email":"{ERASED_EMAIL}""#)),
        "{}",
        events[0].data
    );
    assert!(!all_raw(&backend).await.contains("eve@example.org"));
}

/// A session's start from the person's own browser, in the session's stream.
fn session_started(user: Uuid) -> AppendRequest {
    let mut started = event(
        "session.started",
        &format!(
            r#"{{"sid":"s1","user_id":"{user}","auth_time":"2026-12-01T00:00:00Z","amr":["pwd"],"client_id":"app","ip":"192.0.2.7","user_agent":"Firefox"}}"#
        ),
    );
    started.metadata.actor = Actor::User {
        user_id: user.to_string(),
        sid: None,
    };
    started.metadata.client_ip = Some("192.0.2.7".into());
    AppendRequest::new("session-s1", ExpectedVersion::NoStream, vec![started])
}

pub async fn a_reader_that_reads_less_is_handed_the_rest_as_stored(backend: Backend) {
    let store = sealed(backend.store.clone()).await;
    let (ada, bea) = (Uuid::from_u128(1), Uuid::from_u128(2));
    create(&store, ada, "ada@example.org").await;
    store.append(session_started(ada)).await.unwrap();
    create(&store, bea, "bea@example.org").await;
    store.erase(bea, metadata().occurred_at).await.unwrap();
    let reads = PersonalReads {
        unread_types: &["user.signin.succeeded"],
        client_addresses: false,
    };

    let stored = backend.store.read_all(0, 100).await.unwrap();
    let opened = store.read_all(0, 100).await.unwrap();
    let handed = store.read_all_for(0, 100, reads).await.unwrap();
    assert_eq!(handed.len(), 5);
    for ((stored, opened), handed) in stored.iter().zip(&opened).zip(&handed) {
        let expected = if reads.reads_type(&stored.event_type) {
            &opened.data
        } else {
            &stored.data
        };
        assert_eq!(&handed.data, expected, "{}", stored.event_type);
        assert_eq!(handed.metadata, stored.metadata, "{}", stored.event_type);
    }
    // What it reads opened (Ada's address, her session's browser sealed with its client
    // address), or erased (Bea's); what it does not, still sealed.
    assert!(handed[0].data.contains(r#""email":"ada@example.org""#));
    assert!(handed[2].data.contains(r#""user_agent":"Firefox""#));
    assert!(
        handed[3]
            .data
            .contains(&format!(r#""email":"{ERASED_EMAIL}""#))
    );
    for sealed in [&handed[1], &handed[4]] {
        assert!(!sealed.data.contains("Firefox"), "{}", sealed.data);
        assert!(
            !sealed.metadata.contains("192.0.2.7"),
            "{}",
            sealed.metadata
        );
    }
    assert!(opened[1].data.contains(r#""user_agent":"Firefox""#));
    assert!(opened[2].metadata.contains(r#""client_ip":"192.0.2.7""#));
}

crate::backends::on_each_backend! {
    a_reader_that_reads_less_is_handed_the_rest_as_stored,
    a_persons_key_is_stored_with_the_append_that_makes_it,
    two_processes_making_the_same_persons_key_agree,
    a_replay_from_the_start_reads_keys_in_the_order_people_came,
    stored_keys_come_back_byte_for_byte,
    directory_attributes_are_sealed_item_by_item,
    personal_fields_are_sealed_in_the_database_and_open_for_readers,
    an_address_is_claimed_once_and_the_refusal_names_it,
    erasure_blanks_the_person_everywhere_and_the_chain_still_verifies,
    events_written_in_clear_read_as_they_are_until_erased,
    a_log_sealed_before_aes_still_opens_and_its_people_keep_their_cipher,
    an_admins_address_stays_the_admins,
    recording_an_erasure_destroys_the_key_even_after_a_failure,
    another_master_key_is_refused_before_it_touches_anything,
}
