//! `id_token_hint` at `/authorize` and `/logout`: a compact JWS verified by the key ring
//! (its header read first, unverified, to choose the key). The first byte picks the
//! input's shape as in `client_assertion`: `s` signs the rest with a published key.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use verity_oidc::keys::{KeyRing, decode_header};

static RING: LazyLock<Option<KeyRing>> = LazyLock::new(verity_fuzz::verifying_ring);

fuzz_target!(|data: &[u8]| {
    let Some(ring) = RING.as_ref() else {
        return;
    };
    let Some(token) = verity_fuzz::token(data) else {
        return;
    };
    let header = decode_header(&token);
    if let Ok(claims) = ring.verify(&token) {
        // Only a token whose header names a published key verifies.
        let header = header.ok();
        let kid = header.as_ref().and_then(|header| header.get("kid"));
        assert_eq!(kid.and_then(|kid| kid.as_str()), Some(verity_fuzz::KID));
        let _ = claims.get("sub").and_then(|sub| sub.as_str());
    }
});
