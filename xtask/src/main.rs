//! `cargo xtask`: the project's own build tasks.
//!
//! `cargo xtask soak` runs three nodes on PostgreSQL under mixed load and faults and
//! checks what they did (`soak`).
//!
//! `cargo xtask test [--strict] [-- <cargo test arguments>]` starts the
//! services the tests need (PostgreSQL, Chromium with chromedriver, the
//! Python SCIM client in a virtual environment), runs `cargo test --workspace`
//! against them and stops them again, whatever the tests did. Under `--strict`
//! (or `CI=true`) a service that cannot be started is an error, and the tests
//! are told that skipping is forbidden.
//!
//! `cargo xtask fuzz [--time SECONDS] [--target NAME] [--dev]` runs the fuzz targets of
//! `fuzz/` (see `fuzz.rs`); `cargo xtask tidy` checks the workspace's shape.

mod chromium;
mod fuzz;
mod postgres;
mod scim_client;
mod services;
mod soak;
mod system;
mod tidy;

use anyhow::{Context, Result, bail};
use std::process::{Command, ExitCode};

use services::{Mode, Service};

const USAGE: &str = "\
usage: cargo xtask test [--strict] [-- <arguments for cargo test>]
       cargo xtask tidy
       cargo xtask fuzz [--time SECONDS] [--target NAME] [--dev]
       cargo xtask soak [--minutes N | --seconds N] [--release] [--plot]

  --strict   fail instead of skipping when a service cannot be started
             (implied by CI=true or VERITY_TEST_STRICT=1)
  --time     seconds each fuzz target runs (default 60)
  --target   run only this fuzz target
  --dev      build the fuzz targets without optimisations (quicker build)

examples:
  cargo xtask test
  cargo xtask test -- -p verity-store
  cargo xtask test -- -p verity-store -- --nocapture
  cargo xtask fuzz --time 5";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(arguments: Vec<String>) -> Result<ExitCode> {
    let mut arguments = arguments.into_iter();
    match arguments.next().as_deref() {
        Some("test") => test(parse_test_options(arguments.collect())?),
        Some("tidy") => tidy(),
        Some("fuzz") => fuzz(fuzz::parse_options(arguments.collect())?),
        Some("soak") => soak::run(&soak::parse_options(arguments.collect())?),
        Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => bail!("unknown task `{other}`\n\n{USAGE}"),
        None => bail!("no task given\n\n{USAGE}"),
    }
}

/// `cargo xtask tidy`: the shape rules (no module cycles, thin HTTP files, no tracker
/// numbers in module docs); they also run as a test.
fn tidy() -> Result<ExitCode> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let problems = tidy::check(&root)?;
    for problem in &problems {
        println!("tidy: {problem}");
    }
    if problems.is_empty() {
        println!("tidy: the workspace keeps its shape");
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::FAILURE)
    }
}

/// `cargo xtask fuzz`: every fuzz target for the time given; fails if any crashed, hung
/// or grew beyond its memory limit.
fn fuzz(options: fuzz::FuzzOptions) -> Result<ExitCode> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let runs = fuzz::run(&root, &options)?;
    let failed: Vec<&str> = runs
        .iter()
        .filter(|run| !run.passed)
        .map(|run| run.target.as_str())
        .collect();
    if !failed.is_empty() {
        println!("xtask: fuzz targets with findings: {}", failed.join(", "));
    }
    // The plain closing line CI's reader counts: targets that ran clean, and the others.
    println!(
        "fuzz: {} passed, {} failed",
        runs.len() - failed.len(),
        failed.len()
    );
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[derive(Debug, PartialEq, Eq)]
struct TestOptions {
    mode: Mode,
    cargo_test_arguments: Vec<String>,
}

fn parse_test_options(arguments: Vec<String>) -> Result<TestOptions> {
    let mut strict_flag = false;
    let mut arguments = arguments.into_iter();
    let mut cargo_test_arguments = Vec::new();
    while let Some(argument) = arguments.next() {
        match argument.as_str() {
            "--strict" => strict_flag = true,
            "--" => {
                cargo_test_arguments = arguments.collect();
                break;
            }
            other => bail!("unknown option `{other}` for `cargo xtask test`\n\n{USAGE}"),
        }
    }
    let strict_environment = strict_from_environment(
        std::env::var("CI").ok().as_deref(),
        std::env::var("VERITY_TEST_STRICT").ok().as_deref(),
    );
    let mode = if strict_flag || strict_environment {
        Mode::Strict
    } else {
        Mode::Lenient
    };
    Ok(TestOptions {
        mode,
        cargo_test_arguments,
    })
}

/// The same rule as `verity_testkit::strict`, so that the xtask and the tests
/// agree on whether skipping is allowed.
fn strict_from_environment(ci: Option<&str>, verity_test_strict: Option<&str>) -> bool {
    matches!(ci, Some("true" | "1")) || verity_test_strict == Some("1")
}

/// Starts every service the tests need. A service that is not available is
/// left out under [`Mode::Lenient`] (its tests skip loudly) and is an error
/// under [`Mode::Strict`].
fn start_services(mode: Mode) -> Result<Vec<Box<dyn Service>>> {
    let mut services: Vec<Box<dyn Service>> = Vec::new();
    if let Some(cluster) = postgres::start(mode)? {
        services.push(Box::new(cluster));
    }
    // If a later service fails to start, `?` drops `services`, which stops the
    // ones already running.
    if let Some(driver) = chromium::start(mode)? {
        services.push(Box::new(driver));
    }
    if let Some(client) = scim_client::start(mode)? {
        services.push(Box::new(client));
    }
    // The extension point: another service (an SMTP server next) gets a module
    // with `start(mode) -> Result<Option<impl Service>>`, pushed here.
    Ok(services)
}

fn test(options: TestOptions) -> Result<ExitCode> {
    if options.mode == Mode::Strict {
        println!("xtask: strict mode: a missing service fails the run");
    }
    let services = start_services(options.mode)?;

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let arguments = cargo_test_arguments(&options.cargo_test_arguments);
    println!("xtask: running cargo {}", arguments.join(" "));
    let mut command = Command::new(cargo);
    command.args(&arguments);
    for service in &services {
        command.envs(service.environment());
    }
    if options.mode == Mode::Strict {
        command.env("VERITY_TEST_STRICT", "1");
    }
    let status = command.status().context("cannot run cargo test");

    // Stop the services before reporting anything, whatever the tests did.
    drop(services);

    let status = status?;
    if status.success() {
        println!("xtask: tests passed");
        return Ok(ExitCode::SUCCESS);
    }
    println!("xtask: tests failed ({status})");
    Ok(ExitCode::from(system::exit_code(status)))
}

/// `cargo test --workspace` plus the caller's arguments; `--workspace` is left
/// out when the caller picks packages with `-p`, so that
/// `cargo xtask test -- -p verity-store` tests only that package.
fn cargo_test_arguments(extra: &[String]) -> Vec<String> {
    // Arguments after a second `--` belong to the test binaries, not to cargo.
    let cargo_arguments = extra
        .split(|argument| argument == "--")
        .next()
        .unwrap_or(&[]);
    let picks_packages = cargo_arguments.iter().any(|argument| {
        argument == "--package" || argument.starts_with("--package=") || argument.starts_with("-p")
    });
    let mut arguments = vec!["test".to_owned()];
    if !picks_packages {
        arguments.push("--workspace".to_owned());
    }
    arguments.extend(extra.iter().cloned());
    arguments
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Owned arguments, as the command line gives them (shared by the modules' tests).
    pub(crate) fn strings(arguments: &[&str]) -> Vec<String> {
        arguments
            .iter()
            .map(|&argument| argument.to_owned())
            .collect()
    }

    #[test]
    fn strict_follows_ci_and_verity_test_strict() {
        assert!(!strict_from_environment(None, None));
        assert!(strict_from_environment(Some("true"), None));
        assert!(strict_from_environment(Some("1"), None));
        assert!(!strict_from_environment(Some("false"), None));
        assert!(strict_from_environment(None, Some("1")));
    }

    #[test]
    fn options_take_strict_and_everything_after_the_separator() {
        let options =
            parse_test_options(strings(&["--strict", "--", "-p", "x", "--", "--nocapture"]))
                .unwrap();
        assert_eq!(options.mode, Mode::Strict);
        assert_eq!(
            options.cargo_test_arguments,
            strings(&["-p", "x", "--", "--nocapture"])
        );
    }

    #[test]
    fn unknown_options_are_refused() {
        assert!(parse_test_options(strings(&["--strikt"])).is_err());
    }

    #[test]
    fn cargo_test_covers_the_workspace_unless_packages_are_picked() {
        assert_eq!(cargo_test_arguments(&[]), strings(&["test", "--workspace"]));
        assert_eq!(
            cargo_test_arguments(&strings(&["--", "-p"])),
            strings(&["test", "--workspace", "--", "-p"])
        );
        assert_eq!(
            cargo_test_arguments(&strings(&["-p", "verity-store"])),
            strings(&["test", "-p", "verity-store"])
        );
        assert_eq!(
            cargo_test_arguments(&strings(&["--package=verity-store"])),
            strings(&["test", "--package=verity-store"])
        );
        assert_eq!(
            cargo_test_arguments(&strings(&["--release"])),
            strings(&["test", "--workspace", "--release"])
        );
    }
}
