//! The object container's decoders (serde values, bytes, JSON), called directly: in the cache
//! they see only bytes whose signature verified, so this is what a holder of the key could
//! make them read.
#![no_main]
use cacheness::{Cacheable, DataType, Serde};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let bytes = bytes::Bytes::copy_from_slice(data);
    let claimed = data.len() as u64 * 4;
    for data_type in [DataType::Object, DataType::Bytes, DataType::Json] {
        let meta = cacheness_fuzz::meta(data_type, claimed, serde_json::Value::Null);
        let _ = <Serde<serde_json::Value> as Cacheable>::decode(bytes.clone(), &meta);
        let _ = <Vec<u8> as Cacheable>::decode(bytes.clone(), &meta);
        let _ = <serde_json::Value as Cacheable>::decode(bytes.clone(), &meta);
    }
});
