//! The Parquet payload decoder, called directly (see `object_payload.rs`).
#![no_main]
use cacheness::deps::arrow::array::RecordBatch;
use cacheness::{Cacheable, DataType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let meta = cacheness_fuzz::meta(DataType::ArrowTable, 0, serde_json::Value::Null);
    let _ = <RecordBatch as Cacheable>::decode(bytes::Bytes::copy_from_slice(data), &meta);
});
