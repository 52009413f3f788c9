//! One catalog row per cache entry, and the operations that change the catalog.

use cacheness_format::keys::{Params, Value};
use cacheness_format::signing::{Record, Signature, Signer, Unverified};
use serde::{Deserialize, Serialize};

/// A key parameter's value as it is stored in its own catalog column.
///
/// Lists and maps are stored as JSON text ([`ColumnValue::columns_of`] maps parameters to
/// columns).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ColumnValue {
    /// A boolean column (`boolean` in Delta).
    Bool(bool),
    /// A 64-bit integer column (`long`).
    Int(i64),
    /// A 64-bit float column (`double`).
    Float(f64),
    /// A string column (`string`), also used for JSON text of lists and maps.
    Str(String),
    /// A binary column (`binary`).
    Bytes(#[serde(with = "serde_bytes")] Vec<u8>),
    /// A date column (`date`): days since 1970-01-01.
    Date(i32),
    /// A timestamp column (`timestamp`, UTC): microseconds since the Unix epoch.
    Timestamp(i64),
}

impl ColumnValue {
    /// The typed catalog columns of key parameters, by name: lists and maps as JSON text,
    /// digests as `kind:hex`, unsigned integers beyond `i64` as decimal text; nulls have no
    /// column value.
    pub fn columns_of(params: &Params) -> Vec<(String, Option<ColumnValue>)> {
        params
            .iter()
            .map(|(name, v)| (name.to_string(), ColumnValue::of(v)))
            .collect()
    }

    /// The column value of one parameter value (`None` for null).
    pub fn of(v: &Value) -> Option<ColumnValue> {
        Some(match v {
            Value::Null => return None,
            Value::Bool(b) => ColumnValue::Bool(*b),
            Value::Int(i) => ColumnValue::Int(*i),
            Value::UInt(u) => match i64::try_from(*u) {
                Ok(i) => ColumnValue::Int(i),
                Err(_) => ColumnValue::Str(u.to_string()),
            },
            Value::Float(f) => ColumnValue::Float(*f),
            Value::Str(s) => ColumnValue::Str(s.clone()),
            Value::Bytes(b) => ColumnValue::Bytes(b.clone()),
            Value::Date(d) => ColumnValue::Date(*d),
            Value::Timestamp(t) => ColumnValue::Timestamp(*t),
            Value::List(_) | Value::Map(_) => ColumnValue::Str(v.to_json().to_string()),
            Value::Digest(d) => ColumnValue::Str(format!("{}:{}", d.kind.name(), d.hex())),
        })
    }
}

/// The catalog row of one cache entry: what the entry is, where its payload lives, and its
/// key parameters (as JSON and as one typed column each).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogRow {
    /// The entry's key: 16 lower-case hex digits.
    pub cache_key: String,
    /// What kind of value the entry holds (`arrow_table`, `ndarray`, `object`, `bytes`, `json`).
    pub data_type: String,
    /// The payload format (`parquet`, `b2nd`, `cnobj`).
    pub format: String,
    /// The payload's path relative to the cache root.
    pub path: String,
    /// Size of the value in memory (uncompressed), in bytes.
    pub raw_bytes: i64,
    /// Size of the payload file, in bytes.
    pub stored_bytes: i64,
    /// XXH3-128 content hash of the payload (32 hex digits).
    pub content_hash: String,
    /// When the entry was written: microseconds since the Unix epoch (UTC).
    pub created_at: i64,
    /// When the entry expires, if it has a TTL: microseconds since the Unix epoch (UTC).
    pub expires_at: Option<i64>,
    /// The user's description of the entry.
    pub description: Option<String>,
    /// The canonical key parameters as a JSON object.
    pub params_json: String,
    /// The key parameters that have a column of their own, by name.
    pub params: Vec<(String, Option<ColumnValue>)>,
    /// The name the user gave the entry (column `entry_name`): a cached table is queryable in
    /// SQL under it. Last, and defaulted, so journal records written before it existed decode.
    #[serde(default)]
    pub name: Option<String>,
    /// The entry's signature (`cnsig1:...`, see `cacheness_format::signing`): the same text
    /// its payload carries. Defaulted like `name`.
    #[serde(default)]
    pub signature: Option<String>,
}

impl CatalogRow {
    /// The fields of this row that its signature covers (a put signs its row's fields;
    /// `verify` checks a row's).
    pub fn record(&self) -> Record<'_> {
        Record {
            key: &self.cache_key,
            data_type: &self.data_type,
            format: &self.format,
            raw_bytes: self.raw_bytes.max(0) as u64,
            stored_bytes: self.stored_bytes.max(0) as u64,
            content_hash: &self.content_hash,
            created_at: self.created_at,
            expires_at: self.expires_at,
            description: self.description.as_deref(),
            name: self.name.as_deref(),
        }
    }

    /// Check this row's signature against its own fields with `signer`'s key.
    pub fn check_signature(&self, signer: &Signer) -> Result<(), Unverified> {
        let text = self.signature.as_deref().ok_or(Unverified::Unsigned)?;
        let sig = Signature::parse(text.as_bytes()).ok_or(Unverified::Malformed)?;
        signer.check_signature(&sig, &self.record())
    }
}

/// One change to the catalog, as journaled and committed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CatalogOp {
    /// Add (or, with `replaces`, replace) the row of an entry.
    Put {
        /// The row to write (boxed: rows are large, deletes small).
        row: Box<CatalogRow>,
        /// True when an earlier row for the same key may exist in the catalog and must go.
        replaces: bool,
    },
    /// Remove the row of an entry.
    Delete {
        /// The key whose row goes.
        cache_key: String,
    },
    /// Remove every row (the cache was cleared).
    Clear,
}

impl CatalogOp {
    /// The key this operation is about.
    pub fn cache_key(&self) -> Option<&str> {
        match self {
            CatalogOp::Put { row, .. } => Some(&row.cache_key),
            CatalogOp::Delete { cache_key } => Some(cache_key),
            CatalogOp::Clear => None,
        }
    }
}

/// A payload file of an entry as it is now: its format and the content hash it claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadOnDisk {
    /// The format name (`parquet`, `b2nd`, `cnobj`).
    pub format: String,
    /// The content hash the file claims (32 hex digits; not checked).
    pub content_hash: String,
}

impl PayloadOnDisk {
    /// Whether `row` describes this payload.
    pub fn is_described_by(&self, row: &CatalogRow) -> bool {
        row.format == self.format && row.content_hash == self.content_hash
    }
}

/// What commits ask of the payloads: which payload files an entry has now. Puts of one key
/// that race can journal their rows in another order than their payloads land, so a commit
/// keeps, for each key it touches, the row that describes the payload there now, and no row
/// when there is none (`docs/RELIABILITY.md`, "The catalog's invariant").
pub trait PayloadProbe: Send + Sync + std::fmt::Debug {
    /// The payload files of `key` now; `None` if that cannot be told (an unreadable file),
    /// and then the key's rows are committed as journaled.
    fn payloads(&self, key: &str) -> Option<Vec<PayloadOnDisk>>;

    /// [`Self::payloads`] of each of `keys`, in order (a probe may answer them together).
    fn payloads_of(&self, keys: &[&str]) -> Vec<Option<Vec<PayloadOnDisk>>> {
        keys.iter().map(|k| self.payloads(k)).collect()
    }

    /// A row for `payload` of `key` made from the payload's own metadata, if the payload
    /// passes every check a get makes: the row of a payload that no journaled row describes
    /// (its put was killed between placing the payload and journaling the row). `None`
    /// otherwise.
    fn row_of(&self, key: &str, payload: &PayloadOnDisk) -> Option<CatalogRow>;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The row as journals recorded it before `name` existed.
    #[derive(Serialize)]
    struct RowBeforeNames {
        cache_key: String,
        data_type: String,
        format: String,
        path: String,
        raw_bytes: i64,
        stored_bytes: i64,
        content_hash: String,
        created_at: i64,
        expires_at: Option<i64>,
        description: Option<String>,
        params_json: String,
        params: Vec<(String, Option<ColumnValue>)>,
    }

    #[derive(Serialize)]
    enum OpBeforeNames {
        Put {
            row: Box<RowBeforeNames>,
            replaces: bool,
        },
    }

    #[test]
    fn journal_records_written_before_entry_names_still_decode() {
        let old = OpBeforeNames::Put {
            row: Box::new(RowBeforeNames {
                cache_key: "00112233445566ff".into(),
                data_type: "bytes".into(),
                format: "cnobj".into(),
                path: "blobs/00/00112233445566ff.cnobj".into(),
                raw_bytes: 3,
                stored_bytes: 40,
                content_hash: "ab".repeat(16),
                created_at: 7,
                expires_at: Some(9),
                description: Some("d".into()),
                params_json: r#"{"x":1}"#.into(),
                params: vec![("x".into(), Some(ColumnValue::Int(1)))],
            }),
            replaces: true,
        };
        let bytes = rmp_serde::to_vec(&old).unwrap();
        let CatalogOp::Put { row, replaces } = rmp_serde::from_slice(&bytes).unwrap() else {
            panic!("not a put");
        };
        assert!(replaces);
        assert_eq!(row.name, None);
        assert_eq!(row.signature, None);
        assert_eq!(row.params, vec![("x".into(), Some(ColumnValue::Int(1)))]);
        assert_eq!(row.expires_at, Some(9));

        let named = CatalogOp::Put {
            row: Box::new(CatalogRow {
                name: Some("train".into()),
                signature: Some("cnsig1:...".into()),
                ..*row
            }),
            replaces: false,
        };
        let back: CatalogOp = rmp_serde::from_slice(&rmp_serde::to_vec(&named).unwrap()).unwrap();
        assert_eq!(back, named);
    }
}
