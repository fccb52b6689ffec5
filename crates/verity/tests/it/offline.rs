//! What an auditor does away from the server: a bundle verified in an empty directory,
//! with no database and no configuration; the server's own start with a whole log, and
//! with a broken one for forensics; checkpoints sent to a witness; snapshots forged in
//! the database refused.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use crate::provider::Provider;
use crate::support::{Target, stderr};
use crate::trust::{Scenario, refused_at_start, starts};

/// The binary alone, in `dir`, with nothing of Verity's environment: no data directory,
/// no database URL, no configuration.
fn bare_verity(dir: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_verity"));
    command
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("VERITY_CONFIG");
    for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("VERITY")) {
        command.env_remove(key);
    }
    let output = command.args(args).output().unwrap();
    crate::support::assert_no_panic(&output);
    output
}

/// `verity audit verify --bundle BUNDLE --public-key KEY [--checkpoints KEPT]` in `dir`.
fn verify_bundle(dir: &Path, bundle: &Path, key: &Path, kept: Option<&Path>) -> Output {
    let (bundle, key) = (bundle.to_str().unwrap(), key.to_str().unwrap());
    let mut args = vec!["audit", "verify", "--bundle", bundle, "--public-key", key];
    if let Some(kept) = kept {
        args.extend(["--checkpoints", kept.to_str().unwrap()]);
    }
    bare_verity(dir, &args)
}

/// Exit status 2, and `expected` said.
fn assert_refused(output: &Output, expected: &str) {
    assert_eq!(output.status.code(), Some(2), "{}", stderr(output));
    assert!(
        stderr(output).contains(expected),
        "expected {expected:?}: {}",
        stderr(output)
    );
}

/// Copies a file into `dir`, under the same name.
fn hand_over(file: &Path, dir: &Path) -> PathBuf {
    let copy = dir.join(file.file_name().unwrap());
    std::fs::copy(file, &copy).unwrap();
    copy
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The bundle's files, by name.
fn unpack(bundle: &Path) -> Vec<(String, Vec<u8>)> {
    let file = std::fs::File::open(bundle).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    archive
        .entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            (name, bytes)
        })
        .collect()
}

fn repack(files: &[(String, Vec<u8>)], bundle: &Path) {
    let file = std::fs::File::create(bundle).unwrap();
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        file,
        flate2::Compression::default(),
    ));
    for (name, bytes) in files {
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, name, bytes.as_slice())
            .unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap();
}

#[tokio::test]
async fn a_bundle_verifies_in_an_empty_directory_and_shows_what_was_done_to_it() {
    let scenario = Scenario::new(Target::sqlite());
    let bundle = scenario
        .target
        .dir
        .path()
        .join("verity-audit-bundle.tar.gz");
    let wrote = scenario
        .target
        .ok(&["audit", "bundle", "--out", bundle.to_str().unwrap()]);
    assert!(wrote.contains("2 checkpoints"), "{wrote}");
    let names: Vec<String> = unpack(&bundle).into_iter().map(|(name, _)| name).collect();
    assert_eq!(
        names,
        [
            "verity-audit-bundle/manifest.json",
            "verity-audit-bundle/README.md",
            "verity-audit-bundle/audit-key.jwk",
            "verity-audit-bundle/checkpoints.jsonl",
            "verity-audit-bundle/events.jsonl",
        ]
    );

    // Another machine: an empty directory holding the bundle and the key pinned earlier.
    let elsewhere = tempfile::tempdir().unwrap();
    let bundle = hand_over(&bundle, elsewhere.path());
    let pinned = hand_over(&scenario.pinned, elsewhere.path());
    let verified = verify_bundle(
        elsewhere.path(),
        Path::new("verity-audit-bundle.tar.gz"),
        Path::new("pinned-audit-key.jwk"),
        None,
    );
    assert_eq!(verified.status.code(), Some(0), "{}", stderr(&verified));
    let said = String::from_utf8_lossy(&verified.stdout);
    let head = scenario.second.1 + 1;
    assert!(said.starts_with(&format!("{head} events, head ")), "{said}");
    assert!(
        said.contains(
            "checkpoints: 2 in the log and 2 kept outside, every one signed by the pinned key"
        ),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "newest checkpoint: position {}",
            scenario.second.0
        )),
        "{said}"
    );
    // Nothing was created there: no data directory, no key, no database.
    assert_eq!(
        entries(elsewhere.path()),
        ["pinned-audit-key.jwk", "verity-audit-bundle.tar.gz"]
    );

    // Another key pinned: refused.
    let other = Target::sqlite();
    let other_key = elsewhere.path().join("other.jwk");
    std::fs::write(&other_key, other.ok(&["audit", "key"])).unwrap();
    assert_refused(
        &verify_bundle(elsewhere.path(), &bundle, Path::new("other.jwk"), None),
        "not the pinned key",
    );

    // An event edited inside the bundle (a sealed personal value of event 5): the chain
    // breaks where.
    let mut files = unpack(&bundle);
    let events = &mut files[4].1;
    let text: String = String::from_utf8(events.clone())
        .unwrap()
        .lines()
        .enumerate()
        .map(|(index, line)| match index {
            4 => format!("{}\n", crate::trust::edit_sealed(line)),
            _ => format!("{line}\n"),
        })
        .collect();
    *events = text.into_bytes();
    let edited = elsewhere.path().join("edited.tar.gz");
    repack(&files, &edited);
    assert_refused(
        &verify_bundle(elsewhere.path(), &edited, &pinned, None),
        "chain broken: event 5: stored hash does not match",
    );

    // The tail cut before the bundle was made, and the bundle's own checkpoint file cut
    // with it: the auditor's copy of the checkpoints shows it.
    let kept = hand_over(&scenario.checkpoints, elsewhere.path());
    let mut files = unpack(&bundle);
    let cut_at = scenario.first.1 + 1;
    let events = String::from_utf8(files[4].1.clone()).unwrap();
    let cut: String = events
        .lines()
        .take(cut_at as usize)
        .map(|line| format!("{line}\n"))
        .collect();
    let first_line = String::from_utf8(files[3].1.clone()).unwrap();
    files[3].1 = format!("{}\n", first_line.lines().next().unwrap()).into_bytes();
    files[4].1 = cut.into_bytes();
    let last = cut_events_head(&files[4].1);
    let mut manifest: serde_json::Value = serde_json::from_slice(&files[0].1).unwrap();
    manifest["events"] = cut_at.into();
    manifest["head"] = last.into();
    manifest["checkpoints"] = 1.into();
    files[0].1 = serde_json::to_vec(&manifest).unwrap();
    let shortened = elsewhere.path().join("shortened.tar.gz");
    repack(&files, &shortened);
    let alone = verify_bundle(elsewhere.path(), &shortened, &pinned, None);
    assert_eq!(
        alone.status.code(),
        Some(0),
        "the bundle alone cannot show a cut: {}",
        stderr(&alone)
    );
    assert_refused(
        &verify_bundle(elsewhere.path(), &shortened, &pinned, Some(&kept)),
        &format!(
            "signs position {}, but the log ends at position {cut_at}: events were removed",
            scenario.second.0
        ),
    );
}

/// The hash of the last event of an `events.jsonl`.
fn cut_events_head(events: &[u8]) -> String {
    let text = String::from_utf8(events.to_vec()).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    last["hash"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_whole_log_serves_and_a_broken_one_only_with_the_forensics_flag() {
    let scenario = Scenario::new(Target::sqlite());
    let logged = starts(&scenario.target, &[]);
    assert!(!logged.contains("does not verify"), "{logged}");

    crate::trust::rewrite_one_event(&scenario.target, 5).await;
    refused_at_start(&scenario.target);
    let logged = starts(&scenario.target, &["--allow-broken-chain"]);
    assert!(
        logged.contains("the log does not verify; serving anyway (--allow-broken-chain)"),
        "{logged}"
    );
}

/// A witness: records the bodies posted to it.
async fn witness() -> (String, Arc<Mutex<Vec<String>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let kept = received.clone();
    let app = axum::Router::new().route(
        "/checkpoints",
        axum::routing::post(move |body: String| {
            let kept = kept.clone();
            async move {
                kept.lock().unwrap().push(body);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/checkpoints", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

#[tokio::test]
async fn the_server_records_checkpoints_by_itself_in_the_log_the_file_and_with_the_witness() {
    let (url, received) = witness().await;
    let target = Target::sqlite();
    let pinned = target.dir.path().join("pinned.jwk");
    std::fs::write(&pinned, target.ok(&["audit", "key"])).unwrap();
    let provider = Provider::start_with(
        target,
        &[
            ("VERITY__AUDIT__CHECKPOINT_EVERY_SECONDS", "1"),
            ("VERITY__AUDIT__WITNESS_URL", &url),
        ],
    )
    .await;
    let target = &provider.target;
    // Events after start (the signing keys, a person): checkpointed within a second or two.
    target.ok(&["org", "create", "Acme"]);
    let file = target
        .dir
        .path()
        .join("data-audit")
        .join("checkpoints.jsonl");
    let mut lines = 0;
    for _ in 0..100 {
        lines = std::fs::read_to_string(&file).map_or(0, |text| text.lines().count());
        if lines >= 2 && received.lock().unwrap().len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(lines >= 2, "{lines} checkpoints in {}", file.display());
    let posted = received.lock().unwrap().clone();
    let written: Vec<String> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        posted[..2],
        written[..2],
        "the witness got what the file got"
    );
    let checkpoint: serde_json::Value = serde_json::from_str(&posted[0]).unwrap();
    assert!(checkpoint["signature"].as_str().unwrap().len() > 80);

    let verified = target.run(&[
        "audit",
        "verify",
        "--public-key",
        pinned.to_str().unwrap(),
        "--checkpoints",
        file.to_str().unwrap(),
    ]);
    assert_eq!(verified.status.code(), Some(0), "{}", stderr(&verified));
    let said = String::from_utf8_lossy(&verified.stdout);
    assert!(
        said.contains("every one signed by the pinned key"),
        "{said}"
    );
    assert!(
        said.contains(" ago, "),
        "the newest checkpoint's age: {said}"
    );

    // The newest checkpoint's age, in JSON: from its signing time to now.
    #[allow(clippy::disallowed_methods)] // The test compares with the wall clock.
    let before = chrono::Utc::now();
    let json: serde_json::Value = serde_json::from_str(
        target
            .ok(&[
                "--json",
                "audit",
                "verify",
                "--public-key",
                pinned.to_str().unwrap(),
            ])
            .trim(),
    )
    .unwrap();
    #[allow(clippy::disallowed_methods)] // The test compares with the wall clock.
    let after = chrono::Utc::now();
    let newest = &json["newest_checkpoint"];
    let signed_at: chrono::DateTime<chrono::Utc> =
        newest["signed_at"].as_str().unwrap().parse().unwrap();
    let age = newest["age_seconds"].as_i64().unwrap();
    assert!(
        (before - signed_at).num_seconds() - 1 <= age && age <= (after - signed_at).num_seconds(),
        "{json}"
    );
    assert!(newest["position"].as_u64().unwrap() > 0, "{json}");
}

/// A snapshot of the read models written into the database by someone without the audit
/// key is refused, and the read models are folded from the log instead.
async fn a_forged_snapshot_is_refused(target: Target) {
    target.ok(&["audit", "key"]);
    target.ok(&["org", "create", "Acme"]);
    for name in ["ada", "grace"] {
        target.create_user("Acme", name);
    }
    // A genuine, sealed snapshot: saved after catching up with at least one event.
    let saved = target
        .command()
        .args(["org", "list"])
        .env("VERITY__PROJECTION__SNAPSHOT_EVERY", "1")
        .output()
        .unwrap();
    assert!(saved.status.success(), "{}", stderr(&saved));
    let listed = target.run(&["user", "list", "--org", "Acme"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("grace@example.org"));
    assert!(
        !stderr(&listed).contains("refused the snapshot"),
        "{}",
        stderr(&listed)
    );

    // Forged: grace becomes mallory in the saved state; the seal stays.
    let forge = match &target.database_url {
        None => {
            "UPDATE snapshots SET data = CAST(replace(CAST(data AS TEXT), 'grace@example.org', 'mallory@example.org') AS BLOB)"
        }
        Some(_) => {
            "UPDATE snapshots SET data = convert_to(replace(convert_from(data, 'UTF8'), 'grace@example.org', 'mallory@example.org'), 'UTF8')"
        }
    };
    crate::trust::raw_sql(&target, &[forge.to_owned()]).await;
    let listed = target.run(&["user", "list", "--org", "Acme"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let people = String::from_utf8_lossy(&listed.stdout);
    assert!(people.contains("grace@example.org"), "{people}");
    assert!(
        !people.contains("mallory"),
        "the forged snapshot was used: {people}"
    );
    assert!(
        stderr(&listed).contains("refused the snapshot: its seal does not verify"),
        "{}",
        stderr(&listed)
    );
}

#[tokio::test]
async fn a_forged_snapshot_is_refused_on_sqlite() {
    a_forged_snapshot_is_refused(Target::sqlite()).await;
}

#[tokio::test]
async fn a_forged_snapshot_is_refused_on_postgres() {
    let Some(target) = Target::postgres().await else {
        return;
    };
    a_forged_snapshot_is_refused(target).await;
}
