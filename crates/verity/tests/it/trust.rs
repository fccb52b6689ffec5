//! Trust that does not rest on the database: someone who can write the database but does
//! not hold the audit key rewrites the log through raw SQL — recomputing every hash, so
//! the chain alone is whole — and `audit verify` with the pinned key, and the server at
//! start, find it every time; on SQLite and on PostgreSQL.

use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use sqlx::{AssertSqlSafe, Connection};
use verity_domain::RecordedEvent;
use verity_store::Location;
use verity_store::chain::{EventFields, GENESIS};

use crate::support::{Target, stderr};

/// A log with two checkpoints and events after the second one, and the files an auditor
/// keeps: the pinned public key and (the node's) checkpoint file.
pub struct Scenario {
    pub target: Target,
    pub pinned: PathBuf,
    pub checkpoints: PathBuf,
    /// The heads the two checkpoints signed, and the positions of their events.
    pub first: (u64, u64),
    pub second: (u64, u64),
}

/// Records a checkpoint now: (the head it signs, its event's position).
fn checkpoint(target: &Target) -> (u64, u64) {
    let line = target.ok(&["--json", "audit", "checkpoint"]);
    let checkpoint: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    let signed = checkpoint["position"].as_u64().unwrap();
    (signed, signed + 1)
}

impl Scenario {
    /// Acme, three people, checkpoint; two more, checkpoint; one more.
    pub fn new(target: Target) -> Self {
        let key = target.ok(&["audit", "key"]);
        assert!(key.starts_with("# Verity audit key. Fingerprint"), "{key}");
        let pinned = target.dir.path().join("pinned-audit-key.jwk");
        std::fs::write(&pinned, key).unwrap();
        target.ok(&["org", "create", "Acme"]);
        for name in ["ada", "grace", "edsger"] {
            target.create_user("Acme", name);
        }
        let first = checkpoint(&target);
        for name in ["barbara", "donald"] {
            target.create_user("Acme", name);
        }
        let second = checkpoint(&target);
        target.create_user("Acme", "frances");
        let checkpoints = target
            .dir
            .path()
            .join("data-audit")
            .join("checkpoints.jsonl");
        assert_eq!(
            std::fs::read_to_string(&checkpoints)
                .unwrap()
                .lines()
                .count(),
            2
        );
        Self {
            target,
            pinned,
            checkpoints,
            first,
            second,
        }
    }

    pub fn verify(&self, with_checkpoint_file: bool) -> Output {
        let pinned = self.pinned.display().to_string();
        let file = self.checkpoints.display().to_string();
        let mut args = vec!["audit", "verify", "--public-key", &pinned];
        if with_checkpoint_file {
            args.extend(["--checkpoints", &file]);
        }
        self.target.run(&args)
    }
}

fn location(target: &Target) -> Location {
    match &target.database_url {
        Some(url) => Location::Postgres(url.clone()),
        None => Location::Sqlite(target.sqlite_path()),
    }
}

async fn read_log(target: &Target) -> Vec<RecordedEvent> {
    let store = verity_store::open(&location(target)).await.unwrap();
    let mut events = Vec::new();
    loop {
        let page = store.read_all(events.len() as u64, 10_000).await.unwrap();
        if page.is_empty() {
            return events;
        }
        events.extend(page);
    }
}

/// Runs SQL statements against the target's database, the append-only triggers dropped.
pub async fn raw_sql(target: &Target, statements: &[String]) {
    let drop_triggers: &[&str] = match target.database_url {
        None => &[
            "DROP TRIGGER IF EXISTS events_no_update",
            "DROP TRIGGER IF EXISTS events_no_delete",
        ],
        Some(_) => &["DROP TRIGGER IF EXISTS events_no_update_or_delete ON events"],
    };
    let all: Vec<String> = drop_triggers
        .iter()
        .map(|statement| (*statement).to_owned())
        .chain(statements.iter().cloned())
        .collect();
    match &target.database_url {
        None => {
            let url = format!("sqlite:{}", target.sqlite_path().display());
            run_all::<sqlx::Sqlite>(sqlx::SqliteConnection::connect(&url).await.unwrap(), &all)
                .await;
        }
        Some(url) => {
            run_all::<sqlx::Postgres>(sqlx::PgConnection::connect(url).await.unwrap(), &all).await;
        }
    }
}

async fn run_all<DB: sqlx::Database>(mut connection: DB::Connection, statements: &[String])
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
{
    for statement in statements {
        sqlx::query(AssertSqlSafe(statement.clone()))
            .execute(&mut connection)
            .await
            .unwrap();
    }
    connection.close().await.unwrap();
}

/// SQL text of a string literal (doubled quotes) — the attacker writes plain SQL.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// What someone with write access to the database but not the audit key does: change the
/// events as they like, then renumber positions and stream versions and recompute every
/// hash with the published chain algorithm, and write the whole table back. The chain
/// alone is whole afterwards.
pub async fn rewrite(target: &Target, change: impl FnOnce(&mut Vec<RecordedEvent>)) {
    let mut events = read_log(target).await;
    change(&mut events);
    let mut versions = std::collections::HashMap::<String, u64>::new();
    let mut previous = GENESIS;
    let mut statements = vec!["DELETE FROM events".to_owned()];
    for (index, event) in events.iter_mut().enumerate() {
        event.position = index as u64 + 1;
        let version = versions.entry(event.stream.clone()).or_insert(0);
        *version += 1;
        event.version = *version;
        previous = EventFields::of(event).hash(&previous);
        let hash = match target.database_url {
            None => format!("x'{}'", hex_of(&previous)),
            Some(_) => format!("'\\x{}'::bytea", hex_of(&previous)),
        };
        statements.push(format!(
            "INSERT INTO events (position, stream, version, event_type, schema_version, data, metadata, recorded_at, hash) \
             VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {hash})",
            event.position,
            literal(&event.stream),
            event.version,
            literal(&event.event_type),
            event.schema,
            literal(&event.data),
            literal(&event.metadata),
            event.recorded_at.timestamp_micros(),
        ));
    }
    raw_sql(target, &statements).await;
}

/// Edits the first sealed personal value (`pd3:…`, or a field sealed on its own, `pd2:…`)
/// in `text`: one character of its nonce changed. Personal data is stored sealed, so that
/// is what an attacker with the database but not the keys can edit.
pub fn edit_sealed(text: &str) -> String {
    use verity_store::personal::{SEALED_PREFIX, SEALED_TOGETHER_PREFIX};
    let start = [SEALED_TOGETHER_PREFIX, SEALED_PREFIX]
        .iter()
        .find_map(|prefix| text.find(prefix).map(|at| at + prefix.len()))
        .unwrap_or_else(|| panic!("no sealed value in {text}"));
    let old = &text[start..=start];
    let new = if old == "A" { "B" } else { "A" };
    format!("{}{new}{}", &text[..start], &text[start + 1..])
}

/// Edits a sealed personal value in the event at `position` and recomputes every hash
/// after it.
pub async fn rewrite_one_event(target: &Target, position: usize) {
    rewrite(target, |events| {
        let event = &mut events[position - 1];
        event.data = edit_sealed(&event.data);
    })
    .await;
}

fn hex_of(hash: &[u8; 32]) -> String {
    hash.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Starts `verity serve` (port 0) and expects it to refuse: exit status 2 within a minute;
/// returns what it said.
pub fn refused_at_start(target: &Target) -> String {
    let output = ended_at_start(target);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let said = stderr(&output);
    assert!(said.contains("error: the log does not verify"), "{said}");
    assert!(said.contains("Refusing to serve"), "{said}");
    said
}

/// Starts `verity serve` (port 0) and expects it to end within a minute, without a panic:
/// its output.
pub fn ended_at_start(target: &Target) -> Output {
    let mut child = target
        .command()
        .arg("serve")
        .env("VERITY__SERVER__BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "the server started on a log it should refuse: {}",
                stderr(&output)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    crate::support::assert_no_panic(&output);
    output
}

/// Starts `verity serve` with `args`, waits until it listens, stops it; returns what it
/// logged.
pub fn starts(target: &Target, args: &[&str]) -> String {
    use std::io::{BufRead, BufReader};
    let mut child = target
        .command()
        .arg("serve")
        .args(args)
        .env("VERITY__SERVER__BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let listening = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.starts_with("Verity listening on "));
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    assert!(listening, "the server did not start: {}", stderr(&output));
    stderr(&output)
}

fn assert_verify_refuses(output: &Output, attack: &str, expected: &str) {
    assert_eq!(
        output.status.code(),
        Some(2),
        "{attack}: not detected by audit verify: {}{}",
        String::from_utf8_lossy(&output.stdout),
        stderr(output)
    );
    assert!(
        stderr(output).contains(expected),
        "{attack}: expected {expected:?}, got {}",
        stderr(output)
    );
}

/// One attack: what it does to the log, then what `audit verify` and the start say.
struct Attack {
    name: &'static str,
    verify_says: fn(&Scenario) -> String,
    start_says: fn(&Scenario) -> String,
}

/// A rewrite before the first checkpoint's head: its head no longer matches.
fn rewritten_before_first(s: &Scenario) -> String {
    format!(
        "the log was rewritten between positions 1 and {}",
        s.first.0
    )
}

/// A rewrite between the two checkpoints' heads.
fn rewritten_between(s: &Scenario) -> String {
    format!(
        "the log was rewritten between positions {} and {}",
        s.first.0 + 1,
        s.second.0
    )
}

/// One event fewer before it: the first checkpoint's event lands on the head it signed.
fn moved_onto_its_head(s: &Scenario) -> String {
    format!(
        "the checkpoint at position {0} signs position {0}, which is not after",
        s.first.0
    )
}

fn newest_signature_fails(s: &Scenario) -> String {
    format!(
        "the checkpoint at position {}: its signature does not verify with the pinned key",
        s.second.1
    )
}

fn older_checkpoint_copied(s: &Scenario) -> String {
    format!(
        "the checkpoint at position {} signs position {}, which is not after the previous checkpoint (at position {})",
        s.second.1, s.first.0, s.first.1
    )
}

const ATTACKS: &[Attack] = &[
    Attack {
        name: "an event edited, every later hash recomputed",
        verify_says: rewritten_before_first,
        start_says: rewritten_before_first,
    },
    Attack {
        name: "an event deleted, the later ones renumbered and rehashed",
        verify_says: moved_onto_its_head,
        start_says: rewritten_before_first,
    },
    Attack {
        name: "two events swapped, every later hash recomputed",
        verify_says: rewritten_before_first,
        start_says: rewritten_before_first,
    },
    Attack {
        name: "an event inserted, the later ones renumbered and rehashed",
        verify_says: rewritten_before_first,
        start_says: rewritten_before_first,
    },
    Attack {
        name: "an event edited after the first checkpoint, every later hash recomputed",
        verify_says: rewritten_between,
        start_says: rewritten_between,
    },
    Attack {
        name: "the newest checkpoint edited to sign other events",
        verify_says: newest_signature_fails,
        start_says: newest_signature_fails,
    },
    Attack {
        name: "the newest checkpoint replaced by a copy of the first",
        verify_says: older_checkpoint_copied,
        start_says: older_checkpoint_copied,
    },
];

/// Applies attack number `index` to the scenario's log.
async fn attack(scenario: &Scenario, index: usize) {
    let (first, second) = (scenario.first, scenario.second);
    let checkpoint_of = |events: &[RecordedEvent], position: u64| -> String {
        events[position as usize - 1].data.clone()
    };
    rewrite(&scenario.target, |events| match index {
        0 => {
            events[4].data = edit_sealed(&events[4].data);
        }
        1 => {
            events.remove(3);
        }
        2 => events.swap(2, 3),
        3 => {
            let mut forged = events[2].clone();
            forged.stream = "user-00000000-0000-4000-8000-000000000001".into();
            // The organization's creation: its name is not personal, so in clear.
            assert!(forged.data.contains("\"Acme\""), "{}", forged.data);
            forged.data = forged.data.replace("\"Acme\"", "\"Mallory\"");
            events.insert(3, forged);
        }
        4 => {
            // The first event after the first checkpoint's own.
            let index = first.1 as usize;
            events[index].data = edit_sealed(&events[index].data);
        }
        5 => {
            let signed = checkpoint_of(events, second.1);
            let other_hash = events[0].hash.clone();
            let edited = serde_json::from_str::<serde_json::Value>(&signed).unwrap();
            let old_hash = edited["hash"].as_str().unwrap().to_owned();
            events[second.1 as usize - 1].data = signed.replace(&old_hash, &other_hash);
        }
        6 => events[second.1 as usize - 1].data = checkpoint_of(events, first.1),
        _ => unreachable!(),
    })
    .await;
}

async fn every_rewrite_is_detected_by_verify_and_at_start(postgres: bool) {
    for (index, attack_case) in ATTACKS.iter().enumerate() {
        let target = if postgres {
            let Some(target) = Target::postgres().await else {
                return;
            };
            target
        } else {
            Target::sqlite()
        };
        let scenario = Scenario::new(target);
        attack(&scenario, index).await;
        // The chain alone is whole again: that is the point of the attack.
        let store = verity_store::open(&location(&scenario.target))
            .await
            .unwrap();
        let chain = verity_store::chain::verify(store.as_ref(), |_| {}).await;
        assert!(
            chain.is_ok(),
            "{}: the chain alone should pass",
            attack_case.name
        );
        drop(store);
        assert_verify_refuses(
            &scenario.verify(false),
            attack_case.name,
            &(attack_case.verify_says)(&scenario),
        );
        let said = refused_at_start(&scenario.target);
        let expected = (attack_case.start_says)(&scenario);
        assert!(
            said.contains(&expected),
            "{}: expected {expected:?} at start, got {said}",
            attack_case.name
        );
    }
}

#[tokio::test]
async fn every_rewrite_is_detected_by_verify_and_at_start_on_sqlite() {
    every_rewrite_is_detected_by_verify_and_at_start(false).await;
}

#[tokio::test]
async fn every_rewrite_is_detected_by_verify_and_at_start_on_postgres() {
    every_rewrite_is_detected_by_verify_and_at_start(true).await;
}

/// The log cut back before its newest checkpoint — and then grown again with other
/// events — leaves a whole chain and whole checkpoints in the database: only the copy of
/// the checkpoints kept outside shows it. `audit verify` with that file finds it, and so
/// does the server, which reads its own checkpoint file at start.
async fn a_cut_tail_is_detected_through_the_checkpoint_file(postgres: bool) {
    let target = if postgres {
        let Some(target) = Target::postgres().await else {
            return;
        };
        target
    } else {
        Target::sqlite()
    };
    let scenario = Scenario::new(target);
    let (first, second) = (scenario.first, scenario.second);
    // Keeps the first checkpoint's event and one more; the second checkpoint's head is gone.
    let cut = first.1 + 1;
    assert!(cut < second.0);
    raw_sql(
        &scenario.target,
        &[format!("DELETE FROM events WHERE position > {cut}")],
    )
    .await;
    // From the database alone it looks whole.
    let alone = scenario.verify(false);
    assert_eq!(alone.status.code(), Some(0), "{}", stderr(&alone));
    assert_verify_refuses(
        &scenario.verify(true),
        "a cut tail",
        &format!(
            "checkpoints.jsonl:2 signs position {}, but the log ends at position {cut}: events were removed",
            second.0
        ),
    );
    let said = refused_at_start(&scenario.target);
    assert!(
        said.contains(&format!(
            "signs position {}, but the log ends at position {cut}",
            second.0
        )),
        "{said}"
    );

    // Grown again past the second checkpoint's head with other events.
    for name in ["mallory", "oscar", "trudy", "eve"] {
        scenario.target.create_user("Acme", name);
    }
    let expected = format!("the log was rewritten at or before position {}", second.0);
    let rewritten = scenario.verify(true);
    assert_verify_refuses(&rewritten, "a cut and rewritten tail", &expected);
    assert!(
        stderr(&rewritten).contains("but checkpoint "),
        "{}",
        stderr(&rewritten)
    );
    assert!(
        stderr(&rewritten).contains("checkpoints.jsonl:2 signed "),
        "{}",
        stderr(&rewritten)
    );
    let said = refused_at_start(&scenario.target);
    assert!(said.contains(&expected), "{said}");
}

#[tokio::test]
async fn a_cut_tail_is_detected_through_the_checkpoint_file_on_sqlite() {
    a_cut_tail_is_detected_through_the_checkpoint_file(false).await;
}

#[tokio::test]
async fn a_cut_tail_is_detected_through_the_checkpoint_file_on_postgres() {
    a_cut_tail_is_detected_through_the_checkpoint_file(true).await;
}
