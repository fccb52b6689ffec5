//! SCIM's `filter` parameter (RFC 7644 3.4.2.2), read into the admin layer's filter of
//! people.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verity_admin_http::scim::filter::parse;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse(text);
    }
});
