//! The signing key as written in a key file or `CACHENESS_SIGNING_KEY`.
#![no_main]
use cacheness::SigningKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = SigningKey::parse(text);
    }
});
