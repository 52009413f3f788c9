//! `cacheness put x.npy`: the header is checked against the bytes present before any decode.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cacheness_cli::npy::decode(data, "fuzz.npy");
});
