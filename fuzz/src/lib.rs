//! What the fuzz targets share: the metadata a payload decoder is called with.

use cacheness::{DataType, EntryMeta};

/// The metadata of a payload of `data_type` under a fixed key, claiming `raw_bytes` in memory
/// and the type details `info`.
pub fn meta(data_type: DataType, raw_bytes: u64, info: serde_json::Value) -> EntryMeta {
    EntryMeta {
        v: 1,
        key: "0123456789abcdef".into(),
        params: String::new(),
        data_type,
        created_at: 0,
        expires_at: None,
        description: None,
        raw_bytes,
        info,
        name: None,
    }
}
