//! `cacheness ls`: the live entries, filtered by key parameters, data type and name, sorted,
//! limited.

use cacheness::{EntryInfo, Params};

/// Fields `ls --sort` orders by.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortBy {
    /// Write time.
    CreatedAt,
    /// Expiry time (entries without one last).
    ExpiresAt,
    /// Payload size on disk.
    StoredBytes,
    /// Size in memory.
    RawBytes,
    /// The cache key.
    Key,
    /// The data type.
    DataType,
}

/// What `ls` keeps and in which order.
#[derive(Debug)]
pub struct Query {
    /// Entries must have each of these parameters, with an equal value (same type too).
    pub params: Params,
    /// Entries must have this data type.
    pub data_type: Option<String>,
    /// Entries must have this name.
    pub name: Option<String>,
    /// Sort field.
    pub sort: SortBy,
    /// Largest first.
    pub descending: bool,
    /// At most this many.
    pub limit: Option<usize>,
}

fn matches(entry: &EntryInfo, wanted: &serde_json::Map<String, serde_json::Value>) -> bool {
    wanted
        .iter()
        .all(|(name, value)| entry.params.get(name) == Some(value))
}

/// Apply `query` to `entries`.
pub fn select(mut entries: Vec<EntryInfo>, query: &Query) -> Vec<EntryInfo> {
    let wanted = match query.params.to_json() {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    entries.retain(|e| {
        matches(e, &wanted)
            && query
                .data_type
                .as_ref()
                .is_none_or(|t| *t == e.data_type.as_str())
            && query
                .name
                .as_ref()
                .is_none_or(|n| e.name.as_ref() == Some(n))
    });
    entries.sort_by(|a, b| {
        let order = match query.sort {
            SortBy::CreatedAt => a.created_at.cmp(&b.created_at),
            // `None` (never expires) sorts after every time.
            SortBy::ExpiresAt => match (a.expires_at, b.expires_at) {
                (Some(x), Some(y)) => x.cmp(&y),
                (x, y) => y.is_some().cmp(&x.is_some()),
            },
            SortBy::StoredBytes => a.stored_bytes.cmp(&b.stored_bytes),
            SortBy::RawBytes => a.raw_bytes.cmp(&b.raw_bytes),
            SortBy::Key => a.cache_key.cmp(&b.cache_key),
            SortBy::DataType => a.data_type.as_str().cmp(b.data_type.as_str()),
        }
        .then_with(|| a.cache_key.cmp(&b.cache_key));
        if query.descending {
            order.reverse()
        } else {
            order
        }
    });
    if let Some(n) = query.limit {
        entries.truncate(n);
    }
    entries
}
