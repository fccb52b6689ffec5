//! What the commands print beyond their own lines: JSON lines for `--json`, and the
//! progress of a long read of the log.

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
pub(super) fn print_json(value: &serde_json::Value) {
    println!("{value}");
}
