//! Typed key-parameter values.

use std::collections::BTreeMap;

/// One key-parameter value. Types are part of the key: `1`, `1.0`, `"1"` and `true` differ.
///
/// Integers are one type whatever their Rust width (`1u8` and `1i64` give the same key);
/// `f32` is widened to `f64` exactly. See `docs/KEYS.md` for the canonical encoding.
#[derive(Debug, Clone)]
pub enum Value {
    /// No value.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer above `i64::MAX` (smaller ones are the same key as [`Value::Int`]).
    UInt(u64),
    /// A 64-bit float (`-0.0` keys as `0.0`; every NaN keys as one NaN).
    Float(f64),
    /// A UTF-8 string, keyed byte for byte (no Unicode normalisation).
    Str(String),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// A calendar date: days since 1970-01-01.
    Date(i32),
    /// An instant: microseconds since the Unix epoch, UTC.
    Timestamp(i64),
    /// An ordered list.
    List(Vec<Value>),
    /// A map with string keys; its order never matters.
    Map(BTreeMap<String, Value>),
    /// The content digest (XXH3-128) of a file, a directory tree, an array or a table: the
    /// value a content-hashed key parameter stands for ([`super::content`]).
    Digest(Digest),
}

/// What a [`Value::Digest`] is the digest of (part of the key: a file and a directory with the
/// same digest are different keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestKind {
    /// A file's bytes.
    File,
    /// A directory tree: sorted relative paths and their files' digests.
    Directory,
    /// An n-dimensional array: element type, shape and elements.
    Array,
    /// An Arrow table: schema and values.
    Table,
}

impl DigestKind {
    /// Every kind, by its code in the canonical encoding (1..=4).
    pub const ALL: [DigestKind; 4] = [
        DigestKind::File,
        DigestKind::Directory,
        DigestKind::Array,
        DigestKind::Table,
    ];

    /// The kind's byte in the canonical encoding.
    pub fn code(self) -> u8 {
        match self {
            DigestKind::File => 1,
            DigestKind::Directory => 2,
            DigestKind::Array => 3,
            DigestKind::Table => 4,
        }
    }

    /// The kind of a code.
    pub fn from_code(code: u8) -> Option<DigestKind> {
        DigestKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The kind's name (`file`, `dir`, `array`, `table`): the JSON tag is `$` + name.
    pub fn name(self) -> &'static str {
        match self {
            DigestKind::File => "file",
            DigestKind::Directory => "dir",
            DigestKind::Array => "array",
            DigestKind::Table => "table",
        }
    }
}

/// A content digest: its kind and XXH3-128 value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest {
    /// What was digested.
    pub kind: DigestKind,
    /// The XXH3-128 value.
    pub hash: u128,
}

impl Digest {
    /// 32 lower-case hex digits of the hash.
    pub fn hex(&self) -> String {
        format!("{:032x}", self.hash)
    }
}

impl From<Digest> for Value {
    fn from(d: Digest) -> Self {
        Value::Digest(d)
    }
}

impl PartialEq for Value {
    /// Two values are equal when they give the same key.
    fn eq(&self, other: &Self) -> bool {
        let mut a = Vec::new();
        let mut b = Vec::new();
        super::canonical::encode_value(self, &mut a);
        super::canonical::encode_value(other, &mut b);
        a == b
    }
}

macro_rules! from_signed {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self { Value::Int(v as i64) }
        }
    )*};
}
from_signed!(i8, i16, i32, i64, u8, u16, u32);

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        match i64::try_from(v) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::UInt(v),
        }
    }
}

impl From<usize> for Value {
    fn from(v: usize) -> Self {
        Value::from(v as u64)
    }
}

impl From<isize> for Value {
    fn from(v: isize) -> Self {
        Value::Int(v as i64)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}

impl From<f32> for Value {
    fn from(v: f32) -> Self {
        Value::Float(f64::from(v))
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.to_string())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Str(v)
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Str(v.clone())
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(v)
    }
}

impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Bytes(v.to_vec())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value
where
    T: NotU8,
{
    fn from(v: Vec<T>) -> Self {
        Value::List(v.into_iter().map(Into::into).collect())
    }
}

/// Marker for list element types (everything but `u8`, whose vectors are bytes).
pub trait NotU8 {}
macro_rules! not_u8 {
    ($($t:ty),*) => {$( impl NotU8 for $t {} )*};
}
not_u8!(
    i8, i16, i32, i64, u16, u32, u64, usize, isize, f32, f64, bool, String, &str, Value
);

impl<K: Into<String>, V: Into<Value>> From<BTreeMap<K, V>> for Value {
    fn from(v: BTreeMap<K, V>) -> Self {
        Value::Map(v.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

impl From<chrono::NaiveDate> for Value {
    fn from(d: chrono::NaiveDate) -> Self {
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
        Value::Date((d - epoch).num_days() as i32)
    }
}

impl<Tz: chrono::TimeZone> From<chrono::DateTime<Tz>> for Value {
    /// Instants are keyed at microsecond precision (what Delta and Parquet store).
    fn from(t: chrono::DateTime<Tz>) -> Self {
        Value::Timestamp(t.timestamp_micros())
    }
}

impl From<serde_json::Value> for Value {
    /// JSON numbers that are integers become [`Value::Int`] (or `UInt`), others [`Value::Float`].
    fn from(v: serde_json::Value) -> Self {
        use serde_json::Value as J;
        match v {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(b),
            J::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Value::Int(i)
                } else if let Some(u) = n.as_u64() {
                    Value::UInt(u)
                } else {
                    Value::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            J::String(s) => Value::Str(s),
            J::Array(a) => Value::List(a.into_iter().map(Value::from).collect()),
            J::Object(o) => Value::Map(o.into_iter().map(|(k, v)| (k, Value::from(v))).collect()),
        }
    }
}
