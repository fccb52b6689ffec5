//! The contract every backend passes: the event store, snapshots and the expiring store.
//! Each case is a generic async fn over a fresh store; the macro at the bottom instantiates
//! the suite once per backend.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use verity_domain::{
    AppendRequest, Counted, CounterKey, Entry, EventStore, ExpectedVersion, NewEntry, Snapshot,
    StoreError, UniqueKey,
};
use verity_store::chain;

use crate::backends::{Backend, event, one};

pub async fn appends_and_reads_a_stream(backend: Backend) {
    let store = &backend.store;
    // Keys out of order and non-ASCII text: the payload must come back byte for byte.
    let data = r#"{"z":1,"a":"Ærøskøbing ✓","m":[3,2,1]}"#;
    let request = AppendRequest::new(
        "user-1",
        ExpectedVersion::NoStream,
        vec![
            event("user.created", data),
            event("user.disabled", "{}"),
            event("user.enabled", "{}"),
        ],
    );
    let outcome = store.append(request).await.unwrap();
    assert_eq!((outcome.position, outcome.stream_version), (3, 3));

    let events = store.read_stream("user-1").await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.version).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(
        events.iter().map(|e| e.position).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(events[0].data, data);
    assert_eq!(events[0].event_type, "user.created");
    assert_eq!(events[1].event_type, "user.disabled");
    assert!(store.read_stream("user-2").await.unwrap().is_empty());
    assert_eq!(store.head().await.unwrap(), 3);
}

pub async fn a_stream_reads_back_from_its_newest_event(backend: Backend) {
    let store = &backend.store;
    for (stream, kind) in [
        ("a", "x.one"),
        ("b", "x.other"),
        ("a", "x.two"),
        ("a", "x.three"),
    ] {
        store
            .append(AppendRequest::new(
                stream,
                ExpectedVersion::Any,
                vec![event(kind, "{}")],
            ))
            .await
            .unwrap();
    }
    let newest_two = store.read_stream_back("a", 2).await.unwrap();
    assert_eq!(
        newest_two
            .iter()
            .map(|e| (e.version, e.position, e.event_type.as_str()))
            .collect::<Vec<_>>(),
        [(3, 4, "x.three"), (2, 3, "x.two")]
    );
    assert_eq!(store.read_stream_back("a", 10).await.unwrap().len(), 3);
    assert!(store.read_stream_back("none", 1).await.unwrap().is_empty());
}

pub async fn a_stale_expected_version_is_a_conflict_naming_stream_and_versions(backend: Backend) {
    let store = &backend.store;
    store
        .append(one("org-1", ExpectedVersion::NoStream))
        .await
        .unwrap();
    store
        .append(one("org-1", ExpectedVersion::Exact(1)))
        .await
        .unwrap();

    let error = store
        .append(one("org-1", ExpectedVersion::Exact(1)))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        StoreError::Conflict {
            stream: "org-1".into(),
            expected: ExpectedVersion::Exact(1),
            actual: 2
        }
    );
    assert_eq!(
        error.to_string(),
        "conflict on stream org-1: expected version 1, found 2"
    );
    let error = store
        .append(one("org-1", ExpectedVersion::NoStream))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Conflict { actual: 2, .. }));
    assert_eq!(
        store.head().await.unwrap(),
        2,
        "a refused append writes nothing"
    );
    store
        .append(one("org-1", ExpectedVersion::Any))
        .await
        .unwrap();
}

pub async fn of_100_racing_appends_with_one_expected_version_exactly_one_wins(backend: Backend) {
    let store = backend.store.clone();
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.append(one("race", ExpectedVersion::NoStream)).await })
        })
        .collect();
    let mut wins = 0;
    let mut conflicts = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => wins += 1,
            Err(StoreError::Conflict { .. }) => conflicts += 1,
            Err(other) => panic!("unexpected {other}"),
        }
    }
    assert_eq!((wins, conflicts), (1, 99));
    assert_eq!(store.read_stream("race").await.unwrap().len(), 1);
}

pub async fn a_claimed_unique_key_is_refused_to_another_stream_atomically(backend: Backend) {
    let store = &backend.store;
    let key = UniqueKey("email:org:ada@example.org".into());
    let mut first = one("user-a", ExpectedVersion::NoStream);
    first.claims.push(key.clone());
    store.append(first).await.unwrap();

    let mut second = AppendRequest::new(
        "user-b",
        ExpectedVersion::NoStream,
        vec![event("user.created", "{}"), event("user.disabled", "{}")],
    );
    second.claims = vec![UniqueKey("email:org:other@example.org".into()), key.clone()];
    let error = store.append(second.clone()).await.unwrap_err();
    assert_eq!(error, StoreError::UniqueKeyTaken { key: key.clone() });
    assert_eq!(
        error.to_string(),
        "unique key email:org:ada@example.org is already taken"
    );
    assert!(
        store.read_stream("user-b").await.unwrap().is_empty(),
        "no event of a refused append"
    );
    assert_eq!(store.head().await.unwrap(), 1);

    // The other key of the refused append was rolled back too: a third stream may take it.
    let mut third = one("user-c", ExpectedVersion::NoStream);
    third
        .claims
        .push(UniqueKey("email:org:other@example.org".into()));
    store.append(third).await.unwrap();

    // The holder may claim its own key again; once released, another stream may take it.
    let mut again = one("user-a", ExpectedVersion::Exact(1));
    again.claims.push(key.clone());
    store.append(again).await.unwrap();
    let mut release = AppendRequest::new("user-a", ExpectedVersion::Exact(2), vec![]);
    release.releases.push(key.clone());
    store.append(release).await.unwrap();
    second.claims = vec![key];
    store.append(second).await.unwrap();
    assert_eq!(store.read_stream("user-b").await.unwrap().len(), 2);
}

pub async fn read_all_pages_through_gapless_positions(backend: Backend) {
    let store = &backend.store;
    for index in 0..25 {
        store
            .append(one(&format!("s-{}", index % 4), ExpectedVersion::Any))
            .await
            .unwrap();
    }
    let mut positions = Vec::new();
    let mut after = 0;
    loop {
        let page = store.read_all(after, 7).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 7);
        after = page.last().unwrap().position;
        positions.extend(page.iter().map(|e| e.position));
    }
    assert_eq!(positions, (1..=25).collect::<Vec<_>>());
    assert!(store.read_all(25, 10).await.unwrap().is_empty());
}

/// The positions of the events recorded in a time range are found without reading the
/// log: the first and the last of the range, none when it holds none.
pub async fn the_positions_of_a_time_range_are_found(backend: Backend) {
    let store = &backend.store;
    assert_eq!(store.recorded_within(None, None).await.unwrap(), None);
    for index in 0..6 {
        store
            .append(one(&format!("s-{index}"), ExpectedVersion::Any))
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let times: Vec<_> = store
        .read_all(0, 10)
        .await
        .unwrap()
        .iter()
        .map(|event| event.recorded_at)
        .collect();
    assert!(times.windows(2).all(|pair| pair[0] < pair[1]), "{times:?}");
    let within = |from, to| store.recorded_within(from, to);
    assert_eq!(within(None, None).await.unwrap(), Some((1, 6)));
    // From the third event's time up to (not including) the fifth's: the third and fourth.
    assert_eq!(
        within(Some(times[2]), Some(times[4])).await.unwrap(),
        Some((3, 4))
    );
    assert_eq!(within(None, Some(times[1])).await.unwrap(), Some((1, 1)));
    assert_eq!(within(Some(times[5]), None).await.unwrap(), Some((6, 6)));
    let later = times[5] + chrono::Duration::seconds(1);
    assert_eq!(within(Some(later), None).await.unwrap(), None);
    assert_eq!(within(None, Some(times[0])).await.unwrap(), None);
    assert_eq!(within(Some(times[3]), Some(times[3])).await.unwrap(), None);
}

pub async fn malformed_appends_are_refused_and_write_nothing(backend: Backend) {
    let store = &backend.store;
    let error = store
        .append(one("", ExpectedVersion::Any))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Invalid(_)), "{error}");
    let bad = AppendRequest::new("s", ExpectedVersion::Any, vec![event("t.x", "{not json")]);
    assert!(matches!(
        store.append(bad).await,
        Err(StoreError::Invalid(_))
    ));
    for (stream, event_type) in [("s\u{1f}x", "t.x"), ("s", "t\u{1e}x"), ("s\n", "t.x")] {
        let control =
            AppendRequest::new(stream, ExpectedVersion::Any, vec![event(event_type, "{}")]);
        assert!(
            matches!(store.append(control).await, Err(StoreError::Invalid(_))),
            "{stream:?} {event_type:?}"
        );
    }
    assert_eq!(store.head().await.unwrap(), 0);
}

pub async fn waiting_wakes_on_an_append_and_times_out_without_one(backend: Backend) {
    let store = backend.store.clone();
    let started = std::time::Instant::now();
    assert_eq!(
        store
            .wait_beyond(0, Duration::from_millis(200))
            .await
            .unwrap(),
        0
    );
    assert!(started.elapsed() >= Duration::from_millis(200));

    let waiter = {
        let store = store.clone();
        tokio::spawn(async move { store.wait_beyond(0, Duration::from_secs(20)).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    store.append(one("s", ExpectedVersion::Any)).await.unwrap();
    assert_eq!(waiter.await.unwrap().unwrap(), 1);
}

pub async fn a_second_handle_sees_the_first_handles_appends(backend: Backend) {
    let other_node = backend.reopen().await;
    let waiter =
        tokio::spawn(async move { other_node.wait_beyond(0, Duration::from_secs(20)).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    backend
        .store
        .append(one("s", ExpectedVersion::Any))
        .await
        .unwrap();
    assert_eq!(waiter.await.unwrap().unwrap(), 1);
}

pub async fn concurrent_appends_share_commits_and_keep_the_chain(backend: Backend) {
    let store = backend.store.clone();
    let tasks: Vec<_> = (0..8)
        .map(|writer| {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..40 {
                    store
                        .append(one(&format!("w-{writer}"), ExpectedVersion::Any))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let report = chain::verify(store.as_ref(), |_| {}).await.unwrap();
    assert_eq!(report.events, 320);
    let events = store.read_all(0, 1000).await.unwrap();
    // Events committed together carry the same recording time: fewer distinct times than
    // appends shows that appends arriving during a flush were grouped.
    let commits: HashSet<_> = events.iter().map(|e| e.recorded_at).collect();
    assert!(
        commits.len() < 320,
        "{} commits for 320 appends",
        commits.len()
    );
    for writer in 0..8 {
        let stream = store.read_stream(&format!("w-{writer}")).await.unwrap();
        assert_eq!(
            stream.iter().map(|e| e.version).collect::<Vec<_>>(),
            (1..=40).collect::<Vec<_>>()
        );
    }
}

pub async fn snapshots_are_saved_and_replaced(backend: Backend) {
    let store = &backend.store;
    assert_eq!(store.load_snapshot("users").await.unwrap(), None);
    let first = Snapshot {
        name: "users".into(),
        version: 1,
        position: 10,
        data: b"{}".to_vec(),
        hash: String::new(),
        seal: Vec::new(),
    };
    store.save_snapshot(first.clone()).await.unwrap();
    assert_eq!(store.load_snapshot("users").await.unwrap(), Some(first));
    let second = Snapshot {
        name: "users".into(),
        version: 2,
        position: 20,
        data: vec![0, 159, 146, 150],
        hash: "ab".repeat(32),
        seal: vec![7; 64],
    };
    store.save_snapshot(second.clone()).await.unwrap();
    assert_eq!(store.load_snapshot("users").await.unwrap(), Some(second));
}

pub async fn the_chain_links_every_event_to_its_predecessor(backend: Backend) {
    let store: Arc<dyn EventStore> = backend.store.clone();
    assert_eq!(
        chain::verify(store.as_ref(), |_| {}).await.unwrap().head,
        hex_zero()
    );
    for index in 0..5 {
        store
            .append(one(&format!("s-{index}"), ExpectedVersion::NoStream))
            .await
            .unwrap();
    }
    let report = chain::verify(store.as_ref(), |_| {}).await.unwrap();
    assert_eq!(report.events, 5);
    assert_eq!(report.head, store.read_all(4, 1).await.unwrap()[0].hash);
}

/// The fixed "now" of the expiring-store cases: time is passed in, so no case sleeps.
fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + chrono::Duration::seconds(seconds)
}

pub async fn expiring_entries_are_put_read_replaced_and_expire(backend: Backend) {
    let store = &backend.store;
    assert_eq!(store.get("code", "c1", at(0)).await.unwrap(), None);
    store.put("code", "c1", b"first", at(60)).await.unwrap();
    assert_eq!(
        store.get("code", "c1", at(0)).await.unwrap().as_deref(),
        Some(&b"first"[..])
    );
    assert_eq!(
        store.get("code", "c1", at(59)).await.unwrap().as_deref(),
        Some(&b"first"[..])
    );
    assert_eq!(
        store.get("code", "c1", at(60)).await.unwrap(),
        None,
        "an entry is expired at its expiry"
    );
    // Kinds are separate namespaces.
    assert_eq!(store.get("request", "c1", at(0)).await.unwrap(), None);

    // put replaces the value and the expiry, live or expired.
    let binary = vec![0, 159, 146, 150, 255];
    store.put("code", "c1", &binary, at(120)).await.unwrap();
    assert_eq!(
        store.get("code", "c1", at(100)).await.unwrap(),
        Some(binary)
    );
    store.put("code", "c1", b"shorter", at(10)).await.unwrap();
    assert_eq!(store.get("code", "c1", at(100)).await.unwrap(), None);

    store.put("code", "c2", b"x", at(60)).await.unwrap();
    store.remove("code", "c2").await.unwrap();
    store.remove("code", "never-there").await.unwrap();
    assert_eq!(store.get("code", "c2", at(0)).await.unwrap(), None);
}

pub async fn put_new_refuses_a_live_entry_and_replaces_an_expired_one(backend: Backend) {
    let store = &backend.store;
    assert!(
        store
            .put_new("jti", "j1", b"one", at(60), at(0))
            .await
            .unwrap()
    );
    assert!(
        !store
            .put_new("jti", "j1", b"two", at(90), at(30))
            .await
            .unwrap()
    );
    assert_eq!(
        store.get("jti", "j1", at(30)).await.unwrap().as_deref(),
        Some(&b"one"[..]),
        "a refused put_new changes nothing"
    );
    assert!(
        store
            .put_new("jti", "j1", b"three", at(120), at(60))
            .await
            .unwrap()
    );
    assert_eq!(
        store.get("jti", "j1", at(100)).await.unwrap().as_deref(),
        Some(&b"three"[..])
    );

    // Of concurrent put_new calls, exactly one stores its value.
    let tasks: Vec<_> = (0..20)
        .map(|index| {
            let store = backend.store.clone();
            tokio::spawn(async move {
                store
                    .put_new("jti", "race", format!("{index}").as_bytes(), at(60), at(0))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut stored = 0;
    for task in tasks {
        stored += usize::from(task.await.unwrap());
    }
    assert_eq!(stored, 1);
}

pub async fn take_is_single_use_and_ignores_expired_entries(backend: Backend) {
    let store = &backend.store;
    store.put("code", "c1", b"grant", at(60)).await.unwrap();
    assert_eq!(
        store.take("code", "c1", at(10)).await.unwrap().as_deref(),
        Some(&b"grant"[..])
    );
    assert_eq!(store.take("code", "c1", at(10)).await.unwrap(), None);
    assert_eq!(store.get("code", "c1", at(10)).await.unwrap(), None);

    store.put("code", "c2", b"late", at(60)).await.unwrap();
    assert_eq!(store.take("code", "c2", at(60)).await.unwrap(), None);
    // The expired entry is gone too: putting it back alive works as new.
    assert!(
        store
            .put_new("code", "c2", b"again", at(120), at(61))
            .await
            .unwrap()
    );
    assert_eq!(
        store.take("code", "never-there", at(0)).await.unwrap(),
        None
    );
}

pub async fn of_50_concurrent_takes_exactly_one_wins(backend: Backend) {
    backend
        .store
        .put("code", "hot", b"grant", at(60))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = backend.store.clone();
            tokio::spawn(async move { store.take("code", "hot", at(1)).await.unwrap() })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        if let Some(value) = task.await.unwrap() {
            winners.push(value);
        }
    }
    assert_eq!(winners, vec![b"grant".to_vec()]);
}

pub async fn another_node_takes_what_this_one_put(backend: Backend) {
    let other_node = backend.reopen().await;
    backend
        .store
        .put("code", "c1", b"grant", at(60))
        .await
        .unwrap();
    assert_eq!(
        other_node
            .take("code", "c1", at(1))
            .await
            .unwrap()
            .as_deref(),
        Some(&b"grant"[..])
    );
    assert_eq!(backend.store.take("code", "c1", at(1)).await.unwrap(), None);

    // Both nodes race for one entry: exactly one wins.
    backend
        .store
        .put("code", "c2", b"grant", at(60))
        .await
        .unwrap();
    let (here, there) = tokio::join!(
        backend.store.take("code", "c2", at(1)),
        other_node.take("code", "c2", at(1))
    );
    let wins = [here.unwrap(), there.unwrap()]
        .iter()
        .filter(|value| value.is_some())
        .count();
    assert_eq!(wins, 1);
}

pub async fn put_many_stores_several_entries_at_once_or_none(backend: Backend) {
    let store = &backend.store;
    // Replaced by put_many: a live entry, an expired one and a counter (its count reset).
    store.put("code_used", "c1", b"old", at(60)).await.unwrap();
    store.put("grant", "g1", b"stale", at(5)).await.unwrap();
    store
        .increment("failed", "ada", at(60), at(0))
        .await
        .unwrap();
    let entry = |kind, key, value, expires_at| NewEntry {
        kind,
        key,
        value,
        expires_at,
    };
    store
        .put_many(&[
            entry("code_used", "c1", b"grant-1", at(600)),
            entry("grant", "g1", b"record", at(3600)),
            entry("refresh", "r1", b"", at(7200)),
            entry("failed", "ada", b"set", at(30)),
        ])
        .await
        .unwrap();
    let read = store
        .get_many(
            &[
                ("code_used", "c1"),
                ("grant", "g1"),
                ("refresh", "r1"),
                ("failed", "ada"),
            ],
            at(10),
        )
        .await
        .unwrap();
    let stored = |value: &[u8], expires_at| {
        Some(Entry {
            value: value.to_vec(),
            count: 0,
            expires_at,
        })
    };
    assert_eq!(
        read,
        vec![
            stored(b"grant-1", at(600)),
            stored(b"record", at(3600)),
            stored(b"", at(7200)),
            stored(b"set", at(30)),
        ]
    );
    // A key named twice is refused, and nothing of the call is stored.
    let twice = store
        .put_many(&[
            entry("grant", "g2", b"one", at(60)),
            entry("grant", "g2", b"two", at(60)),
        ])
        .await;
    assert!(matches!(twice, Err(StoreError::Invalid(_))), "{twice:?}");
    assert_eq!(store.get("grant", "g2", at(10)).await.unwrap(), None);
    store.put_many(&[]).await.unwrap();
}

pub async fn get_many_reads_several_entries_in_the_order_asked(backend: Backend) {
    let store = &backend.store;
    store.put("login", "t1", b"one", at(60)).await.unwrap();
    store.put("login", "gone", b"old", at(10)).await.unwrap();
    store
        .increment("failed", "ada", at(60), at(0))
        .await
        .unwrap();
    store
        .increment("failed", "ada", at(60), at(1))
        .await
        .unwrap();
    let entry = |value: &[u8], count| {
        Some(Entry {
            value: value.to_vec(),
            count,
            expires_at: at(60),
        })
    };
    let read = store
        .get_many(
            &[
                ("failed", "ada"),
                ("login", "missing"),
                ("login", "t1"),
                ("login", "gone"),
                // The same key under another kind is another entry.
                ("failed", "t1"),
                ("login", "t1"),
            ],
            at(20),
        )
        .await
        .unwrap();
    assert_eq!(read.len(), 6);
    assert_eq!(
        read[0],
        entry(b"", 2),
        "a counter: its count and its window"
    );
    assert_eq!(read[1], None);
    assert_eq!(read[2], entry(b"one", 0));
    assert_eq!(read[3], None, "expired at 10");
    assert_eq!(read[4], None);
    assert_eq!(read[5], entry(b"one", 0));
    // Each entry says what get and count say of it.
    assert_eq!(
        store.get("failed", "ada", at(20)).await.unwrap(),
        read[0].as_ref().map(|entry| entry.value.clone())
    );
    assert_eq!(store.count("failed", "ada", at(20)).await.unwrap(), 2);
    // The counter's window ends at 60.
    assert_eq!(
        store.get_many(&[("failed", "ada")], at(60)).await.unwrap(),
        vec![None]
    );
    assert!(store.get_many(&[], at(0)).await.unwrap().is_empty());
}

pub async fn counters_count_within_their_window_and_restart_after_it(backend: Backend) {
    let store = &backend.store;
    assert_eq!(store.count("failed", "ada", at(0)).await.unwrap(), 0);
    assert_eq!(
        store
            .increment("failed", "ada", at(60), at(0))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .increment("failed", "ada", at(999), at(10))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .increment("failed", "ada", at(999), at(59))
            .await
            .unwrap(),
        3
    );
    assert_eq!(store.count("failed", "ada", at(59)).await.unwrap(), 3);
    // The window is the first one's: at 60 it has passed, whatever later calls asked.
    assert_eq!(store.count("failed", "ada", at(60)).await.unwrap(), 0);
    assert_eq!(
        store
            .increment("failed", "ada", at(120), at(60))
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.count("failed", "ada", at(119)).await.unwrap(), 1);
    assert_eq!(store.count("failed", "bob", at(0)).await.unwrap(), 0);
    store.remove("failed", "ada").await.unwrap();
    assert_eq!(store.count("failed", "ada", at(61)).await.unwrap(), 0);

    // Concurrent increments lose nothing: every count from 1 to 50 is handed out once.
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = backend.store.clone();
            tokio::spawn(async move {
                store
                    .increment("failed", "carol", at(60), at(0))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut counts = Vec::new();
    for task in tasks {
        counts.push(task.await.unwrap());
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=50).collect::<Vec<u64>>());
}

fn counter(kind: &'static str, key: &'static str, window_ends: i64) -> CounterKey<'static> {
    CounterKey {
        kind,
        key,
        window_expires_at: at(window_ends),
    }
}

fn counted(count: u64, window_ends: i64) -> Counted {
    Counted {
        count,
        expires_at: at(window_ends),
    }
}

pub async fn increment_many_counts_several_counters_at_once(backend: Backend) {
    let store = &backend.store;
    let both = [counter("failed", "ada", 60), counter("ip", "ada", 120)];
    assert_eq!(
        store.increment_many(&both, at(0)).await.unwrap(),
        [counted(1, 60), counted(1, 120)]
    );
    // In the order asked, each keeping its window.
    let reversed = [counter("ip", "ada", 999), counter("failed", "ada", 999)];
    assert_eq!(
        store.increment_many(&reversed, at(10)).await.unwrap(),
        [counted(2, 120), counted(2, 60)]
    );
    assert_eq!(store.count("failed", "ada", at(10)).await.unwrap(), 2);
    // One window passed: that counter starts again, the other goes on.
    let later = [counter("failed", "ada", 200), counter("ip", "ada", 200)];
    assert_eq!(
        store.increment_many(&later, at(60)).await.unwrap(),
        [counted(1, 200), counted(3, 120)]
    );
    // A counter named twice is refused, and nothing is counted.
    let twice = [counter("failed", "ada", 200), counter("failed", "ada", 200)];
    assert!(matches!(
        store.increment_many(&twice, at(61)).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.count("failed", "ada", at(61)).await.unwrap(), 1);
    assert!(store.increment_many(&[], at(0)).await.unwrap().is_empty());

    // Concurrent increments on two nodes lose nothing: each count is handed out once.
    let other_node = backend.reopen().await;
    let tasks: Vec<_> = (0..50)
        .map(|index| {
            let store = if index % 2 == 0 {
                backend.store.clone()
            } else {
                other_node.clone()
            };
            tokio::spawn(async move {
                let pair = [counter("failed", "carol", 60), counter("ip", "carol", 60)];
                store.increment_many(&pair, at(0)).await.unwrap()
            })
        })
        .collect();
    let (mut steps, mut networks) = (Vec::new(), Vec::new());
    for task in tasks {
        let counts = task.await.unwrap();
        steps.push(counts[0].count);
        networks.push(counts[1].count);
    }
    steps.sort_unstable();
    networks.sort_unstable();
    assert_eq!(steps, (1..=50).collect::<Vec<u64>>());
    assert_eq!(networks, (1..=50).collect::<Vec<u64>>());
}

pub async fn decrement_many_takes_back_down_to_zero(backend: Backend) {
    let store = &backend.store;
    let both = [counter("failed", "ada", 60), counter("ip", "ada", 60)];
    store.increment_many(&both, at(0)).await.unwrap();
    store.increment_many(&both[..1], at(0)).await.unwrap();
    let pairs = [("failed", "ada"), ("ip", "ada"), ("failed", "missing")];
    store.decrement_many(&pairs, at(1)).await.unwrap();
    assert_eq!(store.count("failed", "ada", at(1)).await.unwrap(), 1);
    assert_eq!(store.count("ip", "ada", at(1)).await.unwrap(), 0);
    store.decrement_many(&pairs, at(1)).await.unwrap();
    assert_eq!(store.count("failed", "ada", at(1)).await.unwrap(), 0);
    assert_eq!(
        store.count("ip", "ada", at(1)).await.unwrap(),
        0,
        "never below 0"
    );
    // The window stays: the next increment counts in it.
    assert_eq!(
        store.increment_many(&both[..1], at(2)).await.unwrap(),
        [counted(1, 60)]
    );
    // An expired counter is left alone.
    store.decrement_many(&pairs[..1], at(60)).await.unwrap();
    assert_eq!(store.count("failed", "ada", at(59)).await.unwrap(), 1);
    assert!(matches!(
        store
            .decrement_many(&[("ip", "ada"), ("ip", "ada")], at(1))
            .await,
        Err(StoreError::Invalid(_))
    ));
    store.decrement_many(&[], at(1)).await.unwrap();
}

pub async fn hold_keeps_a_counter_that_reached_a_count(backend: Backend) {
    let store = &backend.store;
    for _ in 0..3 {
        store
            .increment("failed", "ada", at(60), at(0))
            .await
            .unwrap();
    }
    assert!(
        !store
            .hold("failed", "ada", 4, b"locked", at(500), at(1))
            .await
            .unwrap(),
        "not at 4 yet"
    );
    assert!(
        store
            .hold("failed", "ada", 3, b"locked", at(500), at(1))
            .await
            .unwrap()
    );
    assert_eq!(store.count("failed", "ada", at(499)).await.unwrap(), 3);
    assert_eq!(
        store
            .get("failed", "ada", at(499))
            .await
            .unwrap()
            .as_deref(),
        Some(&b"locked"[..])
    );
    // Counting goes on under the hold, which keeps its value.
    assert_eq!(
        store
            .increment("failed", "ada", at(999), at(100))
            .await
            .unwrap(),
        4
    );
    assert_eq!(
        store
            .get("failed", "ada", at(100))
            .await
            .unwrap()
            .as_deref(),
        Some(&b"locked"[..])
    );
    assert_eq!(store.count("failed", "ada", at(500)).await.unwrap(), 0);
    assert!(
        !store
            .hold("failed", "ada", 1, b"again", at(900), at(500))
            .await
            .unwrap(),
        "an expired counter is not revived"
    );
    // Counting afresh after the hold starts with an empty value, one at a time or several.
    assert_eq!(
        store
            .increment("failed", "ada", at(600), at(500))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .get("failed", "ada", at(501))
            .await
            .unwrap()
            .as_deref(),
        Some(&b""[..])
    );
    store
        .hold("failed", "ada", 1, b"locked", at(700), at(501))
        .await
        .unwrap();
    let again = [counter("failed", "ada", 800)];
    assert_eq!(
        store.increment_many(&again, at(700)).await.unwrap(),
        [counted(1, 800)]
    );
    assert_eq!(
        store
            .get("failed", "ada", at(701))
            .await
            .unwrap()
            .as_deref(),
        Some(&b""[..])
    );
    assert!(
        !store
            .hold("failed", "nobody", 0, b"", at(900), at(0))
            .await
            .unwrap()
    );
}

pub async fn replace_is_a_compare_and_set(backend: Backend) {
    let store = &backend.store;
    store.put("login", "t1", b"first", at(60)).await.unwrap();
    assert!(
        !store
            .replace("login", "t1", b"other", b"second", at(120), at(1))
            .await
            .unwrap()
    );
    assert!(
        store
            .replace("login", "t1", b"first", b"second", at(120), at(1))
            .await
            .unwrap()
    );
    assert_eq!(
        store.get("login", "t1", at(100)).await.unwrap().as_deref(),
        Some(&b"second"[..]),
        "with its new expiry"
    );
    assert!(
        !store
            .replace("login", "t1", b"first", b"third", at(120), at(2))
            .await
            .unwrap(),
        "what was read once moves on once"
    );
    assert!(
        !store
            .replace("login", "t1", b"second", b"late", at(300), at(120))
            .await
            .unwrap(),
        "expired"
    );
    assert!(
        !store
            .replace("login", "none", b"", b"x", at(60), at(0))
            .await
            .unwrap()
    );

    // Of concurrent replacements of one value on two nodes, exactly one wins.
    store.put("login", "race", b"open", at(60)).await.unwrap();
    let other_node = backend.reopen().await;
    let tasks: Vec<_> = (0..20)
        .map(|index| {
            let store = if index % 2 == 0 {
                backend.store.clone()
            } else {
                other_node.clone()
            };
            tokio::spawn(async move {
                let value = format!("moved by {index}");
                store
                    .replace("login", "race", b"open", value.as_bytes(), at(60), at(0))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        won += usize::from(task.await.unwrap());
    }
    assert_eq!(won, 1);
}

pub async fn purge_deletes_only_expired_entries(backend: Backend) {
    let store = &backend.store;
    store.put("code", "old", b"x", at(10)).await.unwrap();
    store.put("request", "old", b"x", at(20)).await.unwrap();
    store.put("code", "live", b"x", at(100)).await.unwrap();
    store
        .increment("failed", "old", at(20), at(0))
        .await
        .unwrap();
    assert_eq!(store.purge_expired(at(20)).await.unwrap(), 3);
    assert_eq!(store.purge_expired(at(20)).await.unwrap(), 0);
    assert_eq!(
        store.get("code", "live", at(20)).await.unwrap().as_deref(),
        Some(&b"x"[..])
    );
    // Nothing of the expiring store is in the log.
    assert_eq!(store.head().await.unwrap(), 0);
}

fn hex_zero() -> String {
    "0".repeat(64)
}

crate::backends::on_each_backend! {
    appends_and_reads_a_stream,
    a_stream_reads_back_from_its_newest_event,
    a_stale_expected_version_is_a_conflict_naming_stream_and_versions,
    of_100_racing_appends_with_one_expected_version_exactly_one_wins,
    a_claimed_unique_key_is_refused_to_another_stream_atomically,
    read_all_pages_through_gapless_positions,
    the_positions_of_a_time_range_are_found,
    malformed_appends_are_refused_and_write_nothing,
    waiting_wakes_on_an_append_and_times_out_without_one,
    a_second_handle_sees_the_first_handles_appends,
    concurrent_appends_share_commits_and_keep_the_chain,
    snapshots_are_saved_and_replaced,
    the_chain_links_every_event_to_its_predecessor,
    expiring_entries_are_put_read_replaced_and_expire,
    put_new_refuses_a_live_entry_and_replaces_an_expired_one,
    take_is_single_use_and_ignores_expired_entries,
    of_50_concurrent_takes_exactly_one_wins,
    another_node_takes_what_this_one_put,
    put_many_stores_several_entries_at_once_or_none,
    get_many_reads_several_entries_in_the_order_asked,
    counters_count_within_their_window_and_restart_after_it,
    increment_many_counts_several_counters_at_once,
    decrement_many_takes_back_down_to_zero,
    hold_keeps_a_counter_that_reached_a_count,
    replace_is_a_compare_and_set,
    purge_deletes_only_expired_entries,
}
