//! Tests across OS processes (including two processes racing to take the same
//! single-use entries of the expiring store, and to count attempts on the same counters). The test binary re-runs itself as the child: the test
//! `child_process` does nothing unless `VERITY_STORE_CHILD` names a role.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use verity_domain::ExpectedVersion;
use verity_store::{Location, chain};

use crate::backends::{Backend, one};

const ROLE: &str = "VERITY_STORE_CHILD";
const LOCATION: &str = "VERITY_STORE_LOCATION";
const APPENDS_PER_WRITER: usize = 50;
/// Entries the `take` children race for.
const CONTESTED_KEYS: usize = 20;
/// Attempts each `count` child counts on the same two counters.
const ATTEMPTS_PER_COUNTER: usize = 25;

/// The `now` of the expiring-store race; entries expire long after it.
fn race_time(seconds: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc)
        + chrono::Duration::seconds(seconds)
}

fn location_url(location: &Location) -> String {
    match location {
        Location::Sqlite(path) => format!("sqlite:{}", path.display()),
        Location::Postgres(url) => url.clone(),
    }
}

/// A child process and its output.
struct ChildProcess {
    child: Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

fn spawn_child(role: &str, location: &Location) -> ChildProcess {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "processes::child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE, role)
        .env(LOCATION, location_url(location))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    ChildProcess { child, lines }
}

impl ChildProcess {
    /// Reads the child's `CHILD ...` lines, handing each to `on_line` until it returns false.
    fn read_lines(&mut self, mut on_line: impl FnMut(&str) -> bool) {
        for line in self.lines.by_ref() {
            let line = line.unwrap();
            // The harness may print "test name ... " on the same line first.
            if let Some((_, message)) = line.split_once("CHILD ")
                && !on_line(message)
            {
                break;
            }
        }
    }
}

fn say(message: impl std::fmt::Display) {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "CHILD {message}").unwrap();
    stdout.flush().unwrap();
}

/// The child's side. Not a test of its own: it runs only when spawned by one below.
#[test]
fn child_process() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let location = Location::parse(&std::env::var(LOCATION).unwrap()).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let store = verity_store::open(&location).await.unwrap();
        match role.as_str() {
            "subscribe" => {
                let head = store.head().await.unwrap();
                say("ready");
                let seen = store
                    .wait_beyond(head, Duration::from_secs(30))
                    .await
                    .unwrap();
                let event = store.read_all(head, 1).await.unwrap().remove(0);
                say(format!("saw {seen} {}", event.stream));
            }
            "append-loop" => {
                let deadline = Instant::now() + Duration::from_secs(60);
                while Instant::now() < deadline {
                    let outcome = store
                        .append(one("durable", ExpectedVersion::Any))
                        .await
                        .unwrap();
                    say(outcome.position);
                }
            }
            "writers" => {
                let pid = std::process::id();
                let tasks: Vec<_> = (0..8)
                    .map(|writer| {
                        let store = store.clone();
                        tokio::spawn(async move {
                            for _ in 0..APPENDS_PER_WRITER {
                                store
                                    .append(one(&format!("p{pid}-w{writer}"), ExpectedVersion::Any))
                                    .await
                                    .unwrap();
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap();
                }
                say("done");
            }
            "take" => {
                say("ready");
                // Both children start taking when the parent says so, in the same order,
                // so each key is contested by two processes at once.
                let mut go = String::new();
                std::io::stdin().read_line(&mut go).unwrap();
                for index in 0..CONTESTED_KEYS {
                    let key = format!("k{index}");
                    if store
                        .take("code", &key, race_time(1))
                        .await
                        .unwrap()
                        .is_some()
                    {
                        say(format!("won {key}"));
                    }
                }
                say("done");
            }
            "count" => {
                say("ready");
                let mut go = String::new();
                std::io::stdin().read_line(&mut go).unwrap();
                let pair = [
                    verity_domain::CounterKey {
                        kind: "password_failures",
                        key: "contested",
                        window_expires_at: race_time(600),
                    },
                    verity_domain::CounterKey {
                        kind: "ip_failures",
                        key: "contested",
                        window_expires_at: race_time(600),
                    },
                ];
                for _ in 0..ATTEMPTS_PER_COUNTER {
                    let counts = store.increment_many(&pair, race_time(1)).await.unwrap();
                    say(format!("counted {} {}", counts[0].count, counts[1].count));
                }
                say("done");
            }
            other => panic!("unknown child role {other}"),
        }
    });
}

async fn a_subscriber_in_another_process_sees_this_ones_appends(backend: Backend) {
    let mut child = spawn_child("subscribe", &backend.location);
    child.read_lines(|line| line != "ready");
    backend
        .store
        .append(one("from-parent", ExpectedVersion::NoStream))
        .await
        .unwrap();
    let mut seen = None;
    child.read_lines(|line| {
        seen = Some(line.to_owned());
        false
    });
    assert_eq!(seen.as_deref(), Some("saw 1 from-parent"));
    assert!(child.child.wait().unwrap().success());
}

async fn every_acknowledged_append_survives_sigkill(backend: Backend) {
    let mut child = spawn_child("append-loop", &backend.location);
    let mut acknowledged = Vec::new();
    child.read_lines(|line| {
        acknowledged.push(line.parse::<u64>().unwrap());
        acknowledged.len() < 300
    });
    child.child.kill().unwrap(); // SIGKILL: no destructor, no flush.
    child.child.wait().unwrap();
    drop(backend.store);

    let store = verity_store::open(&backend.location).await.unwrap();
    let head = store.head().await.unwrap();
    let last_acknowledged = *acknowledged.last().unwrap();
    assert!(
        head >= last_acknowledged,
        "head {head} < acknowledged {last_acknowledged}"
    );
    let stored: std::collections::HashSet<u64> = store
        .read_all(0, 1_000_000)
        .await
        .unwrap()
        .iter()
        .map(|e| e.position)
        .collect();
    assert!(
        acknowledged
            .iter()
            .all(|position| stored.contains(position))
    );
    let report = chain::verify(store.as_ref(), |_| {}).await.unwrap();
    assert_eq!(report.events, head);
}

async fn writers_in_two_processes_lose_nothing_and_keep_positions_gapless(backend: Backend) {
    let mut children = [
        spawn_child("writers", &backend.location),
        spawn_child("writers", &backend.location),
    ];
    for child in &mut children {
        let mut done = false;
        child.read_lines(|line| {
            done = line == "done";
            !done
        });
        assert!(done);
        assert!(child.child.wait().unwrap().success());
    }
    let expected = 2 * 8 * APPENDS_PER_WRITER as u64;
    let events = backend.store.read_all(0, 100_000).await.unwrap();
    assert_eq!(events.len() as u64, expected);
    assert!(
        events
            .iter()
            .enumerate()
            .all(|(index, event)| event.position == index as u64 + 1)
    );
    let report = chain::verify(backend.store.as_ref(), |_| {}).await.unwrap();
    assert_eq!(report.events, expected);
}

async fn two_processes_racing_for_single_use_entries_win_each_once(backend: Backend) {
    for index in 0..CONTESTED_KEYS {
        backend
            .store
            .put("code", &format!("k{index}"), b"grant", race_time(600))
            .await
            .unwrap();
    }
    let mut children = [
        spawn_child("take", &backend.location),
        spawn_child("take", &backend.location),
    ];
    for child in &mut children {
        child.read_lines(|line| line != "ready");
    }
    for child in &mut children {
        writeln!(child.child.stdin.as_mut().unwrap(), "go").unwrap();
    }
    let mut won = Vec::new();
    for child in &mut children {
        child.read_lines(|line| match line.strip_prefix("won ") {
            Some(key) => {
                won.push(key.to_owned());
                true
            }
            None => line != "done",
        });
        assert!(child.child.wait().unwrap().success());
    }
    won.sort();
    let mut expected: Vec<String> = (0..CONTESTED_KEYS)
        .map(|index| format!("k{index}"))
        .collect();
    expected.sort();
    assert_eq!(won, expected, "every entry taken exactly once");
}

/// Two processes count attempts on the same two counters at once (as two nodes reserve
/// sign-in attempts against one limit): every count is handed out exactly once, so no
/// two attempts anywhere see the same place under a limit.
async fn two_processes_counting_on_one_counter_get_each_count_once(backend: Backend) {
    let mut children = [
        spawn_child("count", &backend.location),
        spawn_child("count", &backend.location),
    ];
    for child in &mut children {
        child.read_lines(|line| line != "ready");
    }
    for child in &mut children {
        writeln!(child.child.stdin.as_mut().unwrap(), "go").unwrap();
    }
    let (mut steps, mut networks) = (Vec::new(), Vec::new());
    for child in &mut children {
        child.read_lines(|line| match line.strip_prefix("counted ") {
            Some(counts) => {
                let (step, network) = counts.split_once(' ').unwrap();
                steps.push(step.parse::<u64>().unwrap());
                networks.push(network.parse::<u64>().unwrap());
                true
            }
            None => line != "done",
        });
        assert!(child.child.wait().unwrap().success());
    }
    steps.sort_unstable();
    networks.sort_unstable();
    let expected: Vec<u64> = (1..=2 * ATTEMPTS_PER_COUNTER as u64).collect();
    assert_eq!(steps, expected);
    assert_eq!(networks, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_two_processes_counting_on_one_counter_get_each_count_once() {
    two_processes_counting_on_one_counter_get_each_count_once(crate::backends::sqlite().await)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_two_processes_counting_on_one_counter_get_each_count_once() {
    let Some(backend) = crate::backends::postgres().await else {
        return;
    };
    two_processes_counting_on_one_counter_get_each_count_once(backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_two_processes_racing_for_single_use_entries_win_each_once() {
    two_processes_racing_for_single_use_entries_win_each_once(crate::backends::sqlite().await)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_two_processes_racing_for_single_use_entries_win_each_once() {
    let Some(backend) = crate::backends::postgres().await else {
        return;
    };
    two_processes_racing_for_single_use_entries_win_each_once(backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_a_subscriber_in_another_process_sees_this_ones_appends() {
    a_subscriber_in_another_process_sees_this_ones_appends(crate::backends::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_subscriber_in_another_process_sees_this_ones_appends() {
    let Some(backend) = crate::backends::postgres().await else {
        return;
    };
    a_subscriber_in_another_process_sees_this_ones_appends(backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_every_acknowledged_append_survives_sigkill() {
    every_acknowledged_append_survives_sigkill(crate::backends::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_every_acknowledged_append_survives_sigkill() {
    let Some(backend) = crate::backends::postgres().await else {
        return;
    };
    every_acknowledged_append_survives_sigkill(backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_writers_in_two_processes_lose_nothing() {
    writers_in_two_processes_lose_nothing_and_keep_positions_gapless(
        crate::backends::sqlite().await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_writers_in_two_processes_lose_nothing() {
    let Some(backend) = crate::backends::postgres().await else {
        return;
    };
    writers_in_two_processes_lose_nothing_and_keep_positions_gapless(backend).await;
}
