//! Short-lived protocol state as the engine reads it back from the expiring store (the
//! database, shared by every node): a login transaction, a session's authentication and
//! a back-channel notice's attempts. What decodes must save and load again, as a step
//! saves the transaction it moved on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verity_oidc::backchannel::{Attempts, backoff};
use verity_oidc::protocol::tokens::Authentication;
use verity_oidc::signin::LoginTransaction;

fuzz_target!(|data: &[u8]| {
    if let Ok(transaction) = serde_json::from_slice::<LoginTransaction>(data) {
        let saved = serde_json::to_vec(&transaction).unwrap_or_default();
        assert!(
            serde_json::from_slice::<LoginTransaction>(&saved).is_ok(),
            "a saved login transaction cannot be read back"
        );
        let _ = transaction.request.scope();
    }
    if let Ok(authentication) = serde_json::from_slice::<Authentication>(data) {
        let saved = serde_json::to_vec(&authentication).unwrap_or_default();
        let again = serde_json::from_slice::<Authentication>(&saved).ok();
        assert_eq!(again.as_ref(), Some(&authentication));
    }
    if let Ok(attempts) = serde_json::from_slice::<Attempts>(data) {
        let wait = backoff(attempts.count);
        assert!(wait >= chrono::Duration::zero());
    }
});
