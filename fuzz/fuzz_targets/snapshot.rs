//! A snapshot of the read models as the projector loads it at start: JSON decoded into
//! `ReadModels` (a snapshot that cannot be read is ignored and the log folded instead).
//! What decodes must save and load again to the same state, or a restart would serve
//! other data than the node that saved it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verity_projection::ReadModels;

fuzz_target!(|data: &[u8]| {
    let Ok(models) = serde_json::from_slice::<ReadModels>(data) else {
        return;
    };
    let saved = serde_json::to_vec(&models);
    assert!(saved.is_ok(), "a loaded snapshot cannot be saved again");
    let again = saved
        .ok()
        .and_then(|saved| serde_json::from_slice::<ReadModels>(&saved).ok());
    assert_eq!(
        again.as_ref(),
        Some(&models),
        "a saved snapshot loads differently"
    );
});
