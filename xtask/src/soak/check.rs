//! What a soak proves once its load and faults are over, each a [`Verdict`]: the journal
//! of `verity-bench soak` against the log (`verity events export`), the chain and its
//! checkpoints (`verity audit verify` with the audit key), the admin's acknowledged
//! disables against the people's state, and the nodes' memory. It also writes the
//! per-second timeline the plot draws.

use anyhow::{Context, Result};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use super::cluster::{
    MAX_FAILURES, ORG, STATE_SETTLES_SECONDS, checkpoint_file, pinned_audit_key, verity,
};
use super::window::Window;

/// Seconds after a fault window in which errors are still the fault's: a request sent
/// just before it ended may wait out the generator's 5 s timeout, and a node reconnects
/// to the database after it.
const GRACE_SECONDS: f64 = 10.0;

/// What the checks look at.
pub struct Run<'a> {
    /// Where `verity` is.
    pub binaries: &'a Path,
    /// The database.
    pub url: &'a str,
    /// The run's directory.
    pub out: &'a Path,
    /// The faults.
    pub windows: &'a [Window],
    /// When the load started and ended (Unix seconds).
    pub started: f64,
    /// When the load ended.
    pub ended: f64,
    /// A run long enough (30 min) for the memory bound to be asserted.
    pub long: bool,
}

/// One check's outcome.
#[derive(Debug)]
pub struct Verdict {
    /// What was checked.
    pub name: &'static str,
    /// Whether it held.
    pub held: bool,
    /// The figures behind it.
    pub detail: String,
}

fn verdict(name: &'static str, held: bool, detail: String) -> Verdict {
    Verdict { name, held, detail }
}

/// Every check, and `summary.json`, `timeline.csv` and `faults.csv` in the run's
/// directory.
pub fn all(run: &Run<'_>) -> Result<Vec<Verdict>> {
    let journal = read_journal(&run.out.join("journal.jsonl"))?;
    let mut verdicts = vec![
        chain(run)?,
        acknowledged_sessions(run, &journal)?,
        acknowledged_disables(run)?,
        replays(&journal),
        lockout(&journal),
        errors_inside_windows(run, &journal)?,
        recovery(run, &journal),
    ];
    verdicts.push(memory(run)?);
    write_timeline(run, &journal)?;
    let summary: Vec<Value> = verdicts
        .iter()
        .map(|v| serde_json::json!({"check": v.name, "held": v.held, "detail": v.detail}))
        .collect();
    let faults: Vec<Value> = run
        .windows
        .iter()
        .map(|w| serde_json::json!({"fault": w.fault, "node": w.node, "from": w.from, "to": w.to}))
        .collect();
    std::fs::write(
        run.out.join("summary.json"),
        serde_json::to_string_pretty(&serde_json::json!({
            "seconds": run.ended - run.started,
            "operations": journal.iter().filter(|e| kind(e) == "op").count(),
            "faults": faults,
            "checks": summary,
        }))?,
    )?;
    Ok(verdicts)
}

fn read_journal(path: &Path) -> Result<Vec<Value>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the journal {}", path.display()))?;
    text.lines()
        .map(|line| serde_json::from_str(line).with_context(|| format!("a journal line: {line}")))
        .collect()
}

fn kind(entry: &Value) -> &str {
    entry
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn at(entry: &Value) -> f64 {
    entry.get("at").and_then(Value::as_f64).unwrap_or_default()
}

fn text<'a>(entry: &'a Value, name: &str) -> &'a str {
    entry.get(name).and_then(Value::as_str).unwrap_or_default()
}

/// Runs `verity ARGUMENTS` on the soak's database: its success and output.
fn run_verity(run: &Run<'_>, arguments: &[&str]) -> Result<(bool, String)> {
    let output = verity(run.binaries, run.url, run.out)
        .args(arguments)
        .output()?;
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    Ok((output.status.success(), text))
}

/// The chain, and every checkpoint — in the log and in each node's checkpoint file —
/// against the audit key the set-up printed.
fn chain(run: &Run<'_>) -> Result<Verdict> {
    let pinned = pinned_audit_key(run.out).display().to_string();
    let files: Vec<String> = (0..)
        .map(|index| checkpoint_file(run.out, index))
        .take_while(|file| file.parent().is_some_and(Path::exists))
        .filter(|file| file.exists())
        .map(|file| file.display().to_string())
        .collect();
    let mut arguments = vec!["audit", "verify", "--public-key", pinned.as_str()];
    for file in &files {
        arguments.extend(["--checkpoints", file.as_str()]);
    }
    let (held, output) = run_verity(run, &arguments)?;
    Ok(verdict(
        "the chain and every checkpoint verify with the audit key",
        held,
        output.trim().lines().last().unwrap_or_default().to_owned(),
    ))
}

/// Every session the generator saw started (an ID token with its sid) is in the log,
/// and every one it saw ended by a logout is recorded as ended.
fn acknowledged_sessions(run: &Run<'_>, journal: &[Value]) -> Result<Verdict> {
    let (_, started) = run_verity(run, &["events", "export", "--type", "session.started"])?;
    let (_, ended) = run_verity(run, &["events", "export", "--type", "session.ended"])?;
    // Every string of the exports, once: a search of the whole export per session took
    // hours on a 30-minute run's tens of thousands of sessions.
    let (started, ended) = (strings_in(&started), strings_in(&ended));
    let mut missing = Vec::new();
    let (mut starts, mut ends) = (0, 0);
    for entry in journal {
        let sid = text(entry, "sid");
        match kind(entry) {
            "session_started" => {
                starts += 1;
                if !started.contains(sid) {
                    missing.push(format!("started {sid}"));
                }
            }
            "session_ended" => {
                ends += 1;
                if !ended.contains(sid) {
                    missing.push(format!("ended {sid}"));
                }
            }
            _ => {}
        }
    }
    Ok(verdict(
        "acknowledged sessions are in the log",
        missing.is_empty() && starts > 0,
        format!("{starts} started, {ends} ended, missing: {missing:?}"),
    ))
}

/// Every string value of an export's events (one JSON object a line).
fn strings_in(export: &str) -> HashSet<String> {
    fn collect(value: Value, into: &mut HashSet<String>) {
        match value {
            Value::String(text) => {
                into.insert(text);
            }
            Value::Array(items) => items.into_iter().for_each(|item| collect(item, into)),
            Value::Object(members) => members
                .into_iter()
                .for_each(|(_, item)| collect(item, into)),
            _ => {}
        }
    }
    let mut found = HashSet::new();
    for line in export.lines() {
        if let Ok(value) = serde_json::from_str::<Value>(line) {
            collect(value, &mut found);
        }
    }
    found
}

/// Every disable the admin saw acknowledged left the person disabled (`verity user list`
/// after the run: the people as the log says they are).
fn acknowledged_disables(run: &Run<'_>) -> Result<Verdict> {
    let text = std::fs::read_to_string(run.out.join("disabled.txt"))?;
    let (_, listed) = run_verity(run, &["--json", "user", "list", "--org", ORG])?;
    let mut wrong = Vec::new();
    let mut count = 0;
    for email in text.lines().filter(|line| !line.is_empty()) {
        count += 1;
        let disabled = listed.lines().any(|line| {
            line.contains(&format!("\"email\":\"{email}\""))
                && line.contains("\"status\":\"disabled\"")
        });
        if !disabled {
            wrong.push(email.to_owned());
        }
    }
    Ok(verdict(
        "acknowledged disables are in the log",
        wrong.is_empty() && count > 0,
        format!("{count} disabled, not disabled now: {wrong:?}"),
    ))
}

/// No authorization code or refresh token was accepted twice, on one node or two at once.
fn replays(journal: &[Value]) -> Verdict {
    let violations: Vec<&str> = journal
        .iter()
        .filter(|e| kind(e) == "violation")
        .map(|e| text(e, "what"))
        .collect();
    let tried = journal
        .iter()
        .filter(|e| kind(e) == "op" && matches!(text(e, "op"), "code_replay" | "refresh_replay"))
        .count();
    verdict(
        "no code or refresh token accepted twice",
        violations.is_empty() && tried > 0,
        format!("{tried} replays refused, violations: {violations:?}"),
    )
}

/// At most MAX_FAILURES wrong passwords were checked for the lock's target, the rest
/// refused as locked, across every node.
fn lockout(journal: &[Value]) -> Verdict {
    let attempts: Vec<&Value> = journal
        .iter()
        .filter(|e| kind(e) == "lock_attempt")
        .collect();
    let checked = attempts
        .iter()
        .filter(|e| e.get("checked").and_then(Value::as_bool) == Some(true))
        .count() as u64;
    let nodes: HashSet<u64> = attempts
        .iter()
        .filter_map(|e| e.get("node")?.as_u64())
        .collect();
    verdict(
        "the lockout held across nodes",
        checked <= MAX_FAILURES && attempts.len() as u64 > MAX_FAILURES && nodes.len() > 1,
        format!(
            "{} wrong passwords on {} nodes, {checked} checked (limit {MAX_FAILURES})",
            attempts.len(),
            nodes.len()
        ),
    )
}

fn inside_a_window(run: &Run<'_>, when: f64) -> bool {
    run.windows
        .iter()
        .any(|w| when >= w.from && when <= w.to + GRACE_SECONDS)
}

/// Every failed operation (and every refused admin disable) happened inside a fault
/// window or its grace.
fn errors_inside_windows(run: &Run<'_>, journal: &[Value]) -> Result<Verdict> {
    let failed: Vec<&Value> = journal
        .iter()
        .filter(|e| e.get("error").is_some_and(|error| !error.is_null()))
        .collect();
    let mut outside: Vec<String> = failed
        .iter()
        .filter(|e| !inside_a_window(run, at(e)))
        .map(|e| {
            format!(
                "{:.0}s node {} {}: {}",
                at(e) - run.started,
                e["node"],
                text(e, "op"),
                text(e, "error")
            )
        })
        .collect();
    let admin = std::fs::read_to_string(run.out.join("disable-errors.txt"))?;
    for line in admin.lines() {
        let when: f64 = line
            .split(' ')
            .next()
            .and_then(|t| t.parse().ok())
            .unwrap_or_default();
        if !inside_a_window(run, when) {
            outside.push(format!("admin: {line}"));
        }
    }
    let total = journal.iter().filter(|e| kind(e) == "op").count();
    outside.truncate(10);
    Ok(verdict(
        "errors only inside fault windows",
        outside.is_empty(),
        format!(
            "{total} operations, {} failed, outside the windows: {outside:?}",
            failed.len()
        ),
    ))
}

/// Every node answered operations as it should after the last fault was over.
fn recovery(run: &Run<'_>, journal: &[Value]) -> Verdict {
    let last = run
        .windows
        .iter()
        .map(|w| w.to + GRACE_SECONDS)
        .fold(run.started, f64::max);
    let mut per_node = BTreeMap::new();
    for entry in journal {
        if kind(entry) == "op"
            && at(entry) > last
            && entry.get("error").is_none()
            && let Some(node) = entry.get("node").and_then(Value::as_u64)
        {
            *per_node.entry(node).or_insert(0u64) += 1;
        }
    }
    verdict(
        "every node recovered on its own",
        per_node.len() == 3 && per_node.values().all(|&count| count > 0),
        format!("successful operations per node after the last fault: {per_node:?}"),
    )
}

/// The resident memory of the nodes that were never restarted: the median of the last
/// tenth of the run against the median of a tenth once the sessions' state has settled
/// (sessions ending by idleness, their marks expiring: `STATE_SETTLES_SECONDS`), or of
/// the second tenth in a short run. Asserted (at most 5% growth) on a run of 30 minutes
/// or more, reported otherwise.
fn memory(run: &Run<'_>) -> Result<Verdict> {
    let text = std::fs::read_to_string(run.out.join("rss.csv"))?;
    let span = run.ended - run.started;
    let mut growth = Vec::new();
    for node in [0u64, 2] {
        let samples: Vec<(f64, f64)> = text
            .lines()
            .skip(1)
            .filter_map(|line| {
                let mut fields = line.split(',');
                let at: f64 = fields.next()?.parse().ok()?;
                let index: u64 = fields.next()?.parse().ok()?;
                let kib: f64 = fields.next()?.parse().ok()?;
                (index == node).then_some((at - run.started, kib))
            })
            .collect();
        let median = |from: f64, to: f64| {
            let mut values: Vec<f64> = samples
                .iter()
                .filter(|(t, _)| *t >= from * span && *t < to * span)
                .map(|(_, kib)| *kib)
                .collect();
            values.sort_by(f64::total_cmp);
            values.get(values.len() / 2).copied()
        };
        let settled = (STATE_SETTLES_SECONDS / span).clamp(0.1, 0.5);
        if let (Some(early), Some(late)) = (median(settled, settled + 0.1), median(0.9, 1.0)) {
            growth.push((node, early, late, 100.0 * (late - early) / early));
        }
    }
    let worst = growth.iter().map(|g| g.3).fold(f64::MIN, f64::max);
    let detail = growth
        .iter()
        .map(|(node, early, late, percent)| {
            format!(
                "node {node}: {:.0} -> {:.0} MiB ({percent:+.1}%)",
                early / 1024.0,
                late / 1024.0
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let held = !growth.is_empty() && (!run.long || worst <= 5.0);
    let detail = if run.long {
        detail
    } else {
        format!("{detail} (asserted at most +5% on runs of 30 minutes or more)")
    };
    Ok(verdict("memory stays flat", held, detail))
}

/// `timeline.csv` (per second: operations that answered as they should, errors, each
/// node's RSS in MiB) and `faults.csv`, in seconds since the load started.
fn write_timeline(run: &Run<'_>, journal: &[Value]) -> Result<()> {
    let mut seconds: BTreeMap<i64, (u64, u64, [f64; 3])> = BTreeMap::new();
    for entry in journal.iter().filter(|e| kind(e) == "op") {
        let second = (at(entry) - run.started) as i64;
        let slot = seconds.entry(second).or_default();
        if entry.get("error").is_some() {
            slot.1 += 1;
        } else {
            slot.0 += 1;
        }
    }
    let rss = std::fs::read_to_string(run.out.join("rss.csv"))?;
    for line in rss.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        if let [at, node, kib] = fields.as_slice() {
            let (Ok(at), Ok(node), Ok(kib)) =
                (at.parse::<f64>(), node.parse::<usize>(), kib.parse::<f64>())
            else {
                continue;
            };
            if let Some(value) = seconds
                .entry((at - run.started) as i64)
                .or_default()
                .2
                .get_mut(node)
            {
                *value = kib / 1024.0;
            }
        }
    }
    let mut csv = String::from("second,ok,errors,rss0_mib,rss1_mib,rss2_mib\n");
    for (second, (ok, errors, rss)) in seconds.range(0..) {
        csv.push_str(&format!(
            "{second},{ok},{errors},{:.1},{:.1},{:.1}\n",
            rss[0], rss[1], rss[2]
        ));
    }
    std::fs::write(run.out.join("timeline.csv"), csv)?;
    let mut faults = String::from("fault,from,to\n");
    for window in run.windows {
        faults.push_str(&format!(
            "{},{:.1},{:.1}\n",
            window.fault,
            window.from - run.started,
            window.to - run.started
        ));
    }
    std::fs::write(run.out.join("faults.csv"), faults)?;
    Ok(())
}
