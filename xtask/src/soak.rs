//! `cargo xtask soak [--minutes N | --seconds N] [--release] [--plot]`: PostgreSQL and
//! three Verity nodes on loopback, mixed traffic from `verity-bench soak` spread over
//! them, and faults while it runs — a node killed with SIGKILL and started again,
//! PostgreSQL restarted, a node stopped with SIGSTOP for 10 s — then the checks of
//! `check`: what the generator saw acknowledged is in the log, the chain verifies, no
//! code or refresh token was accepted twice, the lockout held across nodes, errors only
//! inside the fault windows, every node recovered, and memory stayed flat.
//!
//! Everything a run leaves is under `target/soak/`: the nodes' logs, the journal, the
//! per-second timeline (`timeline.csv`), the verdicts (`summary.json`) and, with
//! `--plot`, `soak.png`.

mod check;
mod cluster;
mod window;

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::services::Mode;
use crate::{postgres, system};
use cluster::Nodes;
use window::{Window, unix_now};

/// How long a run lasts and how it is built.
#[derive(Debug, PartialEq)]
pub struct Options {
    /// The load's duration.
    pub duration: Duration,
    /// Build and run release binaries (the long soak), else debug (CI's short one).
    pub release: bool,
    /// Draw `soak.png` (installs matplotlib in a virtual environment under target/).
    pub plot: bool,
}

/// Parses `--minutes N`, `--seconds N`, `--release` and `--plot` (default: 2 minutes,
/// debug, no plot).
pub fn parse_options(arguments: Vec<String>) -> Result<Options> {
    let mut options = Options {
        duration: Duration::from_secs(120),
        release: false,
        plot: false,
    };
    let mut arguments = arguments.into_iter();
    while let Some(argument) = arguments.next() {
        let mut number = |name: &str| -> Result<u64> {
            let value = arguments
                .next()
                .with_context(|| format!("{name} needs a number"))?;
            value
                .parse()
                .with_context(|| format!("{name} {value}: not a whole number"))
        };
        match argument.as_str() {
            "--minutes" => options.duration = Duration::from_secs(number("--minutes")? * 60),
            "--seconds" => options.duration = Duration::from_secs(number("--seconds")?),
            "--release" => options.release = true,
            "--plot" => options.plot = true,
            other => bail!("unknown option `{other}` for `cargo xtask soak`"),
        }
    }
    if options.duration < Duration::from_secs(80) {
        bail!(
            "a soak needs at least 80 seconds: three faults, then time to show every node recovered"
        );
    }
    Ok(options)
}

/// Runs the soak; the exit code says whether every check held.
pub fn run(options: &Options) -> Result<ExitCode> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = root.join("target/soak");
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("cannot clear {}", out.display()))?;
    }
    std::fs::create_dir_all(&out)?;
    let binaries = build(&root, options.release)?;
    let Some(mut database) = postgres::start(Mode::Strict)? else {
        bail!("the soak starts its own PostgreSQL: unset VERITY_TEST_POSTGRES_URL");
    };
    let url = database.url().context("PostgreSQL is not running")?;
    let setup = cluster::set_up(&binaries, &url, &out, options.duration)?;
    let nodes = Arc::new(Mutex::new(Nodes::start(&binaries, &url, &out, &setup, 3)?));
    println!(
        "xtask: soak: {} for {} s",
        nodes_line(&nodes)?,
        options.duration.as_secs()
    );

    let started = unix_now();
    let mut generator = cluster::generator(
        &binaries,
        &setup,
        &nodes_urls(&nodes)?,
        &out,
        options.duration,
    )?;
    let windows = Arc::new(Mutex::new(Vec::new()));
    let faults = {
        let (nodes, windows) = (nodes.clone(), windows.clone());
        let duration = options.duration;
        // The thread hands the database back, so that it outlives the checks.
        std::thread::spawn(move || -> Result<postgres::Cluster> {
            inject_faults(&nodes, &mut database, &windows, duration)?;
            Ok(database)
        })
    };
    let admin = {
        let (binaries, url, out, setup) =
            (binaries.clone(), url.clone(), out.clone(), setup.clone());
        let deadline = Instant::now() + options.duration;
        std::thread::spawn(move || cluster::disable_people(&binaries, &url, &out, &setup, deadline))
    };
    let mut rss = String::from("at,node,rss_kib\n");
    while generator.try_wait()?.is_none() {
        for (node, kib) in nodes.lock().map_err(poisoned)?.rss_kib() {
            rss.push_str(&format!("{:.1},{node},{kib}\n", unix_now()));
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let generated = generator.wait()?;
    let database = faults
        .join()
        .map_err(|_| anyhow::anyhow!("the fault thread panicked"))??;
    admin
        .join()
        .map_err(|_| anyhow::anyhow!("the admin thread panicked"))??;
    std::fs::write(out.join("rss.csv"), &rss)?;
    let ended = unix_now();
    nodes.lock().map_err(poisoned)?.stop();
    if !generated.success() {
        bail!(
            "verity-bench soak failed ({generated}); see {}",
            out.display()
        );
    }
    let windows = windows.lock().map_err(poisoned)?.clone();
    let verdicts = check::all(&check::Run {
        binaries: &binaries,
        url: &url,
        out: &out,
        windows: &windows,
        started,
        ended,
        long: options.duration >= Duration::from_secs(30 * 60),
    })?;
    drop(database);
    if options.plot {
        plot(&root, &out)?;
    }
    let failed = verdicts.iter().filter(|verdict| !verdict.held).count();
    for verdict in &verdicts {
        let mark = if verdict.held { "held" } else { "FAILED" };
        println!("xtask: soak: {mark}: {}: {}", verdict.name, verdict.detail);
    }
    println!("xtask: soak: results in {}", out.display());
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Builds `verity` and `verity-bench`; answers the directory holding them.
fn build(root: &Path, release: bool) -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command
        .args(["build", "-p", "verity", "-p", "verity-bench"])
        .current_dir(root);
    if release {
        command.arg("--release");
    }
    system::run_visibly(&mut command)?;
    Ok(root
        .join("target")
        .join(if release { "release" } else { "debug" }))
}

/// The faults, at a fifth, two fifths and three fifths of the run (the rest shows every
/// node recovered): SIGKILL of node 1 and
/// its restart, a restart of PostgreSQL, SIGSTOP of node 2 for 10 s.
fn inject_faults(
    nodes: &Mutex<Nodes>,
    database: &mut postgres::Cluster,
    windows: &Mutex<Vec<Window>>,
    duration: Duration,
) -> Result<()> {
    let began = Instant::now();
    let at = |fraction: f64| {
        let when = began + duration.mul_f64(fraction);
        std::thread::sleep(when.saturating_duration_since(Instant::now()));
    };
    let record = |fault, node, from| -> Result<()> {
        windows.lock().map_err(poisoned)?.push(Window {
            fault,
            node,
            from,
            to: unix_now(),
        });
        println!("xtask: soak: {fault} over");
        Ok(())
    };
    at(0.2);
    let from = unix_now();
    nodes.lock().map_err(poisoned)?.kill(1)?;
    std::thread::sleep(Duration::from_secs(2));
    nodes.lock().map_err(poisoned)?.restart(1)?;
    record("SIGKILL and restart", Some(1), from)?;
    at(0.4);
    let from = unix_now();
    database.restart()?;
    nodes
        .lock()
        .map_err(poisoned)?
        .wait_ready(Duration::from_secs(60))?;
    record("PostgreSQL restart", None, from)?;
    at(0.6);
    let from = unix_now();
    nodes.lock().map_err(poisoned)?.signal(2, "STOP")?;
    std::thread::sleep(Duration::from_secs(10));
    nodes.lock().map_err(poisoned)?.signal(2, "CONT")?;
    nodes
        .lock()
        .map_err(poisoned)?
        .wait_ready(Duration::from_secs(30))?;
    record("SIGSTOP for 10 s", Some(2), from)?;
    Ok(())
}

/// `soak.png` from the timeline, by bench/soak/plot.py with matplotlib from a virtual
/// environment under target/.
fn plot(root: &Path, out: &Path) -> Result<()> {
    let venv = root.join("target/soak-venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        system::run_visibly(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        system::run_visibly(Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "-q",
            "matplotlib",
        ]))?;
    }
    system::run_visibly(
        Command::new(&python)
            .arg(root.join("bench/soak/plot.py"))
            .arg(out.join("timeline.csv"))
            .arg(out.join("faults.csv"))
            .arg(out.join("soak.png")),
    )
}

fn nodes_urls(nodes: &Mutex<Nodes>) -> Result<Vec<String>> {
    Ok(nodes.lock().map_err(poisoned)?.urls())
}

fn nodes_line(nodes: &Mutex<Nodes>) -> Result<String> {
    Ok(nodes_urls(nodes)?.join(", "))
}

fn poisoned<T>(_: std::sync::PoisonError<T>) -> anyhow::Error {
    anyhow::anyhow!("a soak thread panicked while holding the nodes")
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::tests::strings;

    #[test]
    fn options_take_minutes_or_seconds() {
        let options = parse_options(strings(&["--minutes", "30", "--release", "--plot"])).unwrap();
        assert_eq!(options.duration, Duration::from_secs(1800));
        assert!(options.release && options.plot);
        let options = parse_options(strings(&["--seconds", "90"])).unwrap();
        assert_eq!(options.duration, Duration::from_secs(90));
        assert!(!options.release);
    }

    #[test]
    fn too_short_or_unknown_is_refused() {
        assert!(parse_options(strings(&["--seconds", "60"])).is_err());
        assert!(parse_options(strings(&["--hours", "1"])).is_err());
        assert!(parse_options(strings(&["--minutes", "x"])).is_err());
    }
}
