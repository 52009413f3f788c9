//! The Blosc2 `.b2nd` payload decoder, called directly (see `object_payload.rs`). Known to
//! crash in C-Blosc2 on some malformed frames (docs/RELIABILITY.md): in the cache only a holder
//! of the signing key can make it read one.
#![no_main]
use cacheness::deps::ndarray::ArrayD;
use cacheness::{Cacheable, DataType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let info = serde_json::json!({"dtype": "float64"});
    let meta = cacheness_fuzz::meta(DataType::Ndarray, 1 << 20, info);
    let _ = <ArrayD<f64> as Cacheable>::decode(bytes::Bytes::copy_from_slice(data), &meta);
});
