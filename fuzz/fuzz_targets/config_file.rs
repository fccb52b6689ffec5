//! The configuration file: TOML over the defaults, checked as `verity serve` checks it,
//! then turned into the engine's and the admin layer's settings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verity::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = Config::from_toml(text) else {
        return;
    };
    let issuer = config.public_url();
    let _ = config.engine_settings(&issuer);
    let _ = config.admin_settings();
    let _ = config.sign_in_url();
    let _ = config.server.trusted_proxies();
});
