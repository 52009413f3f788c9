//! `cacheness.toml`: read over a configuration's settings, or refused with an error.
#![no_main]
use cacheness::CacheConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = CacheConfig::new("/nonexistent").layered(Some(("cacheness.toml", text)), |_| None);
});
