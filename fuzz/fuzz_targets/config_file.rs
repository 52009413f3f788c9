//! `cacheness.toml`: parsed and applied to a configuration, or refused with an error.
#![no_main]
use cacheness::CacheConfig;
use cacheness::config::Settings;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(settings) = toml::from_str::<Settings>(text) {
        let mut config = CacheConfig::new("/nonexistent");
        let _ = settings.apply(&mut config, "cacheness.toml");
    }
});
