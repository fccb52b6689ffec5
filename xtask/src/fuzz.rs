//! `cargo xtask fuzz [--time SECONDS] [--target NAME] [--dev]`: runs the fuzz targets of `fuzz/`
//! (cargo fuzz, libFuzzer) one after the other, each for `--time` seconds under the
//! limits the project holds them to (1 s per input, 256 MB), and reports the executions
//! each reached.
//!
//! cargo-fuzz is installed from the registry when missing. The targets are built once,
//! with the nightly toolchain when rustup has one, else with the stable one told to
//! accept nightly flags (`RUSTC_BOOTSTRAP=1`), as a new machine has only that. No
//! sanitizer: the code is safe Rust (`unsafe_code` is forbidden), so AddressSanitizer
//! would only slow the search; overflow checks and debug assertions are on. `--dev`
//! builds without optimisations: quicker to build, slower to run (CI's smoke).
//!
//! Each target reads its seeds from `fuzz/corpus/<target>/` and keeps what it finds in
//! `target/fuzz/corpus/<target>/`, so a later run goes on from there; a crashing input
//! lands in `target/fuzz/artifacts/<target>/`.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::system;

/// What `cargo xtask fuzz` was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuzzOptions {
    /// Seconds per target.
    pub seconds: u64,
    /// One target only, when given.
    pub target: Option<String>,
    /// Built without optimisations.
    pub dev: bool,
}

/// Seconds per target when `--time` is not given.
const DEFAULT_SECONDS: u64 = 60;

/// libFuzzer's limits: a slower input is a hang, more memory a failure.
const LIMITS: [&str; 2] = ["-rss_limit_mb=256", "-timeout=1"];

/// Parses the arguments after `fuzz`.
pub fn parse_options(arguments: Vec<String>) -> Result<FuzzOptions> {
    let mut options = FuzzOptions {
        seconds: DEFAULT_SECONDS,
        target: None,
        dev: false,
    };
    let mut arguments = arguments.into_iter();
    while let Some(argument) = arguments.next() {
        let mut value = |name: &str| {
            arguments
                .next()
                .with_context(|| format!("{name} needs a value"))
        };
        match argument.as_str() {
            "--time" => {
                let text = value("--time")?;
                options.seconds = text
                    .parse()
                    .ok()
                    .filter(|&seconds| seconds > 0)
                    .with_context(|| format!("--time takes whole seconds above 0, not {text:?}"))?;
            }
            "--target" => options.target = Some(value("--target")?),
            "--dev" => options.dev = true,
            other => bail!("unknown option `{other}` for `cargo xtask fuzz`"),
        }
    }
    Ok(options)
}

/// How one target's run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRun {
    /// The target.
    pub target: String,
    /// Inputs executed, as libFuzzer counted them.
    pub executions: u64,
    /// Its average speed.
    pub per_second: u64,
    /// Peak resident memory, in MB.
    pub peak_rss_mb: u64,
    /// Whether it ran out its time without a crash, a hang or too much memory.
    pub passed: bool,
}

/// The counters of libFuzzer's final statistics (`-print_final_stats=1`) in `log`:
/// executions, executions per second and peak RSS.
fn final_stats(log: &str) -> Option<(u64, u64, u64)> {
    let stat = |name: &str| {
        log.lines()
            .rev()
            .filter_map(|line| line.strip_prefix(name))
            .filter_map(|rest| rest.trim_start_matches(':').trim().parse::<u64>().ok())
            .next()
    };
    Some((
        stat("stat::number_of_executed_units")?,
        stat("stat::average_exec_per_sec")?,
        stat("stat::peak_rss_mb").unwrap_or(0),
    ))
}

/// The toolchain that builds the targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Toolchain {
    /// rustup's nightly.
    Nightly,
    /// The default toolchain, accepting nightly flags.
    Bootstrapped,
}

impl Toolchain {
    fn find() -> Self {
        let nightly = Command::new("rustup")
            .args(["run", "nightly", "rustc", "--version"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if nightly {
            Self::Nightly
        } else {
            Self::Bootstrapped
        }
    }

    /// `cargo fuzz` under this toolchain, from `root`.
    fn cargo_fuzz(self, root: &Path) -> Command {
        let mut command = match self {
            Self::Nightly => {
                let mut command = Command::new("rustup");
                command.args(["run", "nightly", "cargo", "fuzz"]);
                command
            }
            Self::Bootstrapped => {
                let mut command = Command::new("cargo");
                command.arg("fuzz").env("RUSTC_BOOTSTRAP", "1");
                command
            }
        };
        // The xtask runs under `cargo run`: its toolchain must not leak into this one.
        command
            .current_dir(root)
            .env_remove("RUSTUP_TOOLCHAIN")
            .env_remove("CARGO");
        command
    }
}

/// Installs cargo-fuzz from the registry unless `cargo fuzz` already runs.
fn ensure_cargo_fuzz() -> Result<()> {
    let installed = Command::new("cargo")
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if installed {
        return Ok(());
    }
    println!("xtask: installing cargo-fuzz");
    system::run_visibly(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))
}

/// Builds and runs the targets; fails when any target crashed, hung or grew too large.
pub fn run(root: &Path, options: &FuzzOptions) -> Result<Vec<TargetRun>> {
    ensure_cargo_fuzz()?;
    let toolchain = Toolchain::find();
    println!("xtask: fuzzing with the {toolchain:?} toolchain");
    let listed = toolchain
        .cargo_fuzz(root)
        .arg("list")
        .output()
        .context("cannot run `cargo fuzz list`")?;
    let all: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    let targets = match &options.target {
        Some(target) if all.contains(target) => vec![target.clone()],
        Some(target) => bail!("no fuzz target `{target}`; there are: {}", all.join(", ")),
        None if all.is_empty() => bail!("`cargo fuzz list` names no target"),
        None => all,
    };
    let profile: &[&str] = if options.dev { &["--dev"] } else { &[] };
    let mut build = toolchain.cargo_fuzz(root);
    build.args(["build", "--sanitizer", "none"]).args(profile);
    if let Some(target) = &options.target {
        build.arg(target);
    }
    system::run_visibly(&mut build)?;

    let mut runs = Vec::new();
    for target in &targets {
        let run = run_target(root, toolchain, target, profile, options.seconds)?;
        println!(
            "xtask: fuzz {target}: {} executions in {} s ({} exec/s, peak {} MB): {}",
            run.executions,
            options.seconds,
            run.per_second,
            run.peak_rss_mb,
            if run.passed { "ok" } else { "FAILED" }
        );
        runs.push(run);
    }
    Ok(runs)
}

fn run_target(
    root: &Path,
    toolchain: Toolchain,
    target: &str,
    profile: &[&str],
    seconds: u64,
) -> Result<TargetRun> {
    let work = root.join("target/fuzz");
    let corpus = work.join("corpus").join(target);
    let artifacts = work.join("artifacts").join(target);
    let logs = work.join("logs");
    for directory in [&corpus, &artifacts, &logs] {
        std::fs::create_dir_all(directory)
            .with_context(|| format!("cannot create {}", directory.display()))?;
    }
    let log_path = logs.join(format!("{target}.log"));
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("cannot create {}", log_path.display()))?;
    let seeds: PathBuf = root.join("fuzz/corpus").join(target);
    let status = toolchain
        .cargo_fuzz(root)
        .args(["run", "--sanitizer", "none"])
        .args(profile)
        .arg(target)
        .arg(&corpus)
        .arg(&seeds)
        .arg("--")
        .args(LIMITS)
        .arg(format!("-max_total_time={seconds}"))
        .arg("-print_final_stats=1")
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .with_context(|| format!("cannot run the fuzz target {target}"))?;
    let text = std::fs::read_to_string(&log_path).unwrap_or_default();
    let (executions, per_second, peak_rss_mb) = final_stats(&text).unwrap_or_default();
    if !status.success() {
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        for line in tail.into_iter().rev() {
            println!("  {line}");
        }
        println!(
            "xtask: fuzz {target} failed ({status}); its input is in {}, the whole log in {}",
            artifacts.display(),
            log_path.display()
        );
    }
    Ok(TargetRun {
        target: target.to_owned(),
        executions,
        per_second,
        peak_rss_mb,
        passed: status.success(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::strings;

    #[test]
    fn options_take_a_time_and_a_target() {
        assert_eq!(
            parse_options(Vec::new()).unwrap(),
            FuzzOptions {
                seconds: DEFAULT_SECONDS,
                target: None,
                dev: false,
            }
        );
        assert_eq!(
            parse_options(strings(&["--time", "5", "--target", "cookies", "--dev"])).unwrap(),
            FuzzOptions {
                seconds: 5,
                target: Some("cookies".to_owned()),
                dev: true,
            }
        );
        for refused in [
            &["--time"][..],
            &["--time", "0"],
            &["--time", "1.5"],
            &["--jobs", "2"],
        ] {
            assert!(parse_options(strings(refused)).is_err(), "{refused:?}");
        }
    }

    #[test]
    fn the_final_statistics_are_read_from_the_log() {
        let log = "\
#2\tINITED cov: 10 ft: 10 corp: 1/1b exec/s: 0 rss: 30Mb
Done 1234 runs in 2 second(s)
stat::number_of_executed_units: 1234
stat::average_exec_per_sec:     617
stat::new_units_added:          3
stat::slowest_unit_time_sec:    0
stat::peak_rss_mb:              41
";
        assert_eq!(final_stats(log), Some((1234, 617, 41)));
        assert_eq!(final_stats("==1== ERROR: libFuzzer: deadly signal"), None);
    }
}
