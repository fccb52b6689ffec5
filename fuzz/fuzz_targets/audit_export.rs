//! What an auditor's tools read: the lines of an export (`events.jsonl` in a bundle,
//! `verity events export`), each read back into an event and checked by the audit
//! verifier; lines that start with `{"position"` are events, the others checkpoint lines
//! (`checkpoints.jsonl`), and a line may be a bundle's manifest.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verity_audit::Verifier;
use verity_audit::bundle::Manifest;
use verity_audit::checkpoint_file;
use verity_audit::export::{from_line, to_line};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let externals = checkpoint_file::parse("fuzz", text, 1).unwrap_or_default();
    let Ok(mut verifier) = Verifier::new(None, externals) else {
        return;
    };
    for line in text.lines() {
        let _ = serde_json::from_str::<Manifest>(line);
        if let Ok(event) = from_line(line) {
            // What was read writes back to a line that reads as the same event.
            let written = to_line(&event).ok();
            let again = written.as_deref().and_then(|line| from_line(line).ok());
            assert_eq!(again.as_ref(), Some(&event));
            if verifier.check(&event).is_err() {
                return;
            }
        }
    }
    let _ = verifier.finish();
});
