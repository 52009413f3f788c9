//! Journal segments: records decoded up to the first damaged one, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cacheness::catalog::journal::decode_records(data);
});
