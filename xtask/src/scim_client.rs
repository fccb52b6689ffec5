//! The independent SCIM client for the SCIM tests: Python's `scim2-client` and
//! `scim2-tester` (PyPI), pinned in `conformance/scim/requirements.txt`.
//!
//! They are installed with pip into a virtual environment under the target directory
//! (`target/scim-client-venv`), which is kept between runs and made again whenever the
//! requirements change (a copy of them inside says what it holds). When `python3` or
//! its `venv` module is missing and the xtask runs as root, Debian's `python3-venv` is
//! installed with apt-get. The tests find the environment's interpreter through
//! `VERITY_TEST_SCIM_PYTHON`; nothing runs in the background, so there is nothing to
//! stop.

use crate::services::{Mode, Service};
use crate::system::{self, run_quietly, run_visibly, succeeds};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The variable through which the tests find the interpreter.
const PYTHON_VARIABLE: &str = "VERITY_TEST_SCIM_PYTHON";

/// The pinned requirements, relative to the workspace root.
const REQUIREMENTS: &str = "conformance/scim/requirements.txt";

/// The environment's directory name under the target directory.
const VENV: &str = "scim-client-venv";

/// The copy of the requirements an environment was made from.
const STAMP: &str = "verity-requirements.txt";

/// A virtual environment with the SCIM client installed.
pub struct ScimClient {
    python: PathBuf,
}

impl Service for ScimClient {
    fn environment(&self) -> Vec<(&'static str, String)> {
        vec![(PYTHON_VARIABLE, self.python.display().to_string())]
    }
}

/// Makes (or reuses) the environment, or returns `None` when Python cannot be had under
/// [`Mode::Lenient`], so that the tests that need it skip.
///
/// When `VERITY_TEST_SCIM_PYTHON` is already set, that interpreter is used.
pub fn start(mode: Mode) -> Result<Option<ScimClient>> {
    if let Ok(python) = std::env::var(PYTHON_VARIABLE) {
        println!("xtask: using the SCIM client's Python at {PYTHON_VARIABLE}={python}");
        return Ok(None);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let requirements = std::fs::read_to_string(root.join(REQUIREMENTS))
        .with_context(|| format!("cannot read {REQUIREMENTS}"))?;
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let venv = target.join(VENV);
    let python = venv.join("bin").join("python");
    let stamp = venv.join(STAMP);
    if python.is_file() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(&requirements) {
        return Ok(Some(ScimClient { python }));
    }
    match make(&root, &venv, &stamp, &requirements) {
        Ok(()) => Ok(Some(ScimClient { python })),
        Err(error) if mode == Mode::Lenient => {
            eprintln!(
                "\nxtask: WARNING: cannot install the SCIM client ({REQUIREMENTS}): {error:#}\n\
                 xtask: WARNING: continuing without it; the SCIM client tests will be SKIPPED.\n"
            );
            Ok(None)
        }
        Err(error) => {
            Err(error.context(format!("cannot install the SCIM client ({REQUIREMENTS})")))
        }
    }
}

/// A fresh environment at `venv` with the requirements installed, stamped last (so that
/// a half-made one is made again next time).
fn make(root: &Path, venv: &Path, stamp: &Path, requirements: &str) -> Result<()> {
    find_or_install_python()?;
    if venv.exists() {
        std::fs::remove_dir_all(venv)
            .with_context(|| format!("cannot remove {}", venv.display()))?;
    }
    println!(
        "xtask: installing the SCIM client ({REQUIREMENTS}) into {}",
        venv.display()
    );
    run_quietly(Command::new("python3").arg("-m").arg("venv").arg(venv))?;
    run_visibly(
        Command::new(venv.join("bin").join("python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg("--requirement")
            .arg(root.join(REQUIREMENTS)),
    )?;
    std::fs::write(stamp, requirements).with_context(|| format!("cannot write {}", stamp.display()))
}

/// Whether `python3 -m venv` works, installing Debian's `python3-venv` when it does not
/// and we are root.
fn find_or_install_python() -> Result<()> {
    let works = || succeeds(Command::new("python3").args(["-m", "venv", "--help"]));
    if works() {
        return Ok(());
    }
    if system::is_root()? {
        println!("xtask: python3 or its venv module is missing; installing python3-venv");
        let install = || {
            run_visibly(
                Command::new("apt-get")
                    .args(["install", "-y", "python3-venv"])
                    .env("DEBIAN_FRONTEND", "noninteractive"),
            )
        };
        if install().is_err() {
            run_visibly(
                Command::new("apt-get")
                    .arg("update")
                    .env("DEBIAN_FRONTEND", "noninteractive"),
            )?;
            install()?;
        }
        if works() {
            return Ok(());
        }
    }
    bail!("`python3 -m venv` does not work; install python3 and python3-venv")
}
