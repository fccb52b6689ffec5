//! What the commands print: their lines ([`say!`]), JSON lines for `--json`, and the
//! progress of a long read of the log. A closed pipe (`verity audit history … | head`)
//! ends a command quietly instead of panicking as `println!` does.

use std::io::Write;

/// The reader of a command's output went away: the command stops there and the process
/// ends quietly with success, as other tools' output does (`main` reads it).
#[derive(Debug, thiserror::Error)]
#[error("the reader of the output went away")]
pub struct ReaderLeft;

/// What a write to stdout came to: a closed pipe is [`ReaderLeft`], any other failure an
/// error.
pub(crate) fn written(result: std::io::Result<()>) -> anyhow::Result<()> {
    match result {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Err(ReaderLeft.into()),
        Err(error) => Err(error.into()),
    }
}

/// Writes one line to stdout ([`written`]).
pub(crate) fn write_line(line: std::fmt::Arguments<'_>) -> anyhow::Result<()> {
    written(writeln!(std::io::stdout().lock(), "{line}"))
}

/// `println!` that returns from the enclosing function with [`ReaderLeft`] when the
/// reader went away, or with the error when stdout cannot be written.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::commands::output::write_line(format_args!($($arg)*))?
    };
}
pub(crate) use say;

/// A progress bar over `length` events on stderr (hidden for `--json`).
pub(super) fn progress_bar(length: u64, json: bool) -> indicatif::ProgressBar {
    let bar = if json {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(length)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} events  {per_sec}  eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// Prints a value as one JSON line.
pub(super) fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    write_line(format_args!("{value}"))
}
