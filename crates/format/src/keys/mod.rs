//! Cache keys: named, typed parameters and the key derived from them.
//!
//! A key is XXH3-64 over the canonical encoding of the parameters sorted by name
//! ([`canonical`]); the spec, with golden vectors, is `docs/KEYS.md`. The canonical encoding is
//! stored with each entry, so a 64-bit collision is detected and treated as a miss.
//!
//! [`param`] turns Rust values into parameters ([`KeyParam`], serde values); [`content`] keys
//! files and directory trees by their content, with a stat cache; [`data_digest`] keys arrays
//! and Arrow tables by their type and values.

mod cache_key;
pub mod canonical;
pub mod content;
pub mod data_digest;
pub mod param;
mod value;

use std::collections::BTreeMap;

pub use cache_key::CacheKey;
pub use content::{ContentHasher, MissingPath};
pub use param::{KeyContext, KeyParam, PathName};
pub use value::{Digest, DigestKind, NotU8, Value};

use crate::error::{Error, Result};

/// Parameter names key parameters may not use: the catalog's fixed columns, in the catalog's
/// order (`cacheness-catalog` takes its column names from here, so the two cannot differ).
pub const RESERVED_NAMES: [&str; 13] = [
    "cache_key",
    "data_type",
    "format",
    "path",
    "raw_bytes",
    "stored_bytes",
    "content_hash",
    "created_at",
    "expires_at",
    "description",
    "entry_name",
    "params_json",
    "signature",
];
/// Whether `name` is one of [`RESERVED_NAMES`]. A `const fn`: `#[cached]` evaluates it at
/// compile time to refuse argument names the catalog reserves.
pub const fn is_reserved_name(name: &str) -> bool {
    let name = name.as_bytes();
    let mut i = 0;
    while i < RESERVED_NAMES.len() {
        let reserved = RESERVED_NAMES[i].as_bytes();
        if reserved.len() == name.len() {
            let mut j = 0;
            while j < name.len() && reserved[j] == name[j] {
                j += 1;
            }
            if j == name.len() {
                return true;
            }
        }
        i += 1;
    }
    false
}

/// Longest parameter name accepted.
pub const MAX_NAME_LEN: usize = 64;

/// Check a user-supplied parameter name: `[a-z][a-z0-9_]*`, at most 64 bytes, not a catalog
/// column name. Names are catalog columns, so they must be portable identifiers in every SQL
/// engine (lower case: Spark and DuckDB fold case).
pub fn validate_name(name: &str) -> Result<()> {
    let bad = |why: &str| Error::InvalidParamName {
        name: name.to_string(),
        reason: why.to_string(),
    };
    let mut chars = name.chars();
    match chars.next() {
        None => return Err(bad("names may not be empty")),
        Some(c) if !c.is_ascii_lowercase() => {
            return Err(bad("names start with a lower-case ASCII letter"));
        }
        _ => {}
    }
    if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return Err(bad("names contain only a-z, 0-9 and _"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(bad("names are at most 64 bytes"));
    }
    if is_reserved_name(name) {
        return Err(bad("this name is a catalog column"));
    }
    Ok(())
}

/// Named, typed key parameters. Build with [`params!`](crate::params) or [`Params::with`].
///
/// ```
/// use cacheness_format::{params, Params};
/// let a = params!(model = "xgboost", epochs = 10, lr = 0.1);
/// let b = Params::new().with("lr", 0.1).with("epochs", 10).with("model", "xgboost");
/// assert_eq!(a.key().unwrap(), b.key().unwrap());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    values: BTreeMap<String, Value>,
    /// The first invalid name given to the builder, reported when the key is derived.
    invalid: Option<(String, String)>,
}

impl Params {
    /// No parameters (a valid key of its own).
    pub fn new() -> Self {
        Params::default()
    }

    /// Add a parameter (builder style). An invalid name is reported by [`Params::key`] and by
    /// every cache call that uses these params; a repeated name keeps the last value.
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        if let Err(Error::InvalidParamName { name, reason }) = validate_name(name) {
            self.invalid.get_or_insert((name, reason));
        } else {
            self.values.insert(name.to_string(), value.into());
        }
        self
    }

    /// Add a parameter whose value needs work to compute: a path keyed by its content, an
    /// array or table keyed by its values, anything implementing [`KeyParam`].
    ///
    /// ```
    /// use cacheness_format::{Params, keys::{ContentHasher, KeyContext}};
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("train.csv"), "x\n1\n")?;
    /// let hasher = ContentHasher::in_memory();
    /// let p = Params::new().with_param("data", &dir.path().join("train.csv"), &KeyContext::new(&hasher))?;
    /// assert!(p.to_json()["data"]["$file"].is_string());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_param<T: KeyParam + ?Sized>(
        self,
        name: &str,
        value: &T,
        cx: &KeyContext<'_>,
    ) -> Result<Self> {
        validate_name(name)?;
        Ok(self.with(name, value.key_value(cx)?))
    }

    /// Add every parameter of `other` (replacing those of the same name).
    pub fn merged(mut self, other: Params) -> Self {
        if self.invalid.is_none() {
            self.invalid = other.invalid;
        }
        self.values.extend(other.values);
        self
    }

    /// Add a parameter, failing at once on an invalid name.
    pub fn try_with(self, name: &str, value: impl Into<Value>) -> Result<Self> {
        validate_name(name)?;
        Ok(self.with(name, value))
    }

    /// Parameters from a JSON object (integers stay integers, other numbers become floats).
    pub fn from_json(json: &serde_json::Value) -> Result<Self> {
        let obj = json.as_object().ok_or_else(|| Error::InvalidParamName {
            name: json.to_string(),
            reason: "parameters from JSON must be an object".into(),
        })?;
        obj.iter().try_fold(Params::new(), |p, (k, v)| {
            p.try_with(k, Value::from(v.clone()))
        })
    }

    /// Add a parameter with a name reserved for Cacheness itself (`_` + identifier).
    pub fn with_system(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.values.insert(format!("_{name}"), value.into());
        self
    }

    /// The parameters, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// One parameter's value.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    fn check(&self) -> Result<()> {
        match &self.invalid {
            Some((name, reason)) => Err(Error::InvalidParamName {
                name: name.clone(),
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    /// The canonical encoding (see `docs/KEYS.md`).
    pub fn canonical(&self) -> Result<Vec<u8>> {
        self.check()?;
        Ok(canonical::encode_params(&self.values))
    }

    /// The cache key: 16 lower-case hex digits.
    pub fn key(&self) -> Result<CacheKey> {
        Ok(CacheKey::of_canonical(&self.canonical()?))
    }

    /// Rebuild parameters from their canonical encoding (as stored in a payload).
    pub fn from_canonical(bytes: &[u8]) -> Result<Self> {
        let values = canonical::decode_params(bytes).map_err(|e| Error::Corrupt {
            what: "stored key parameters".into(),
            reason: e.to_string(),
        })?;
        Ok(Params {
            values,
            invalid: None,
        })
    }

    /// The parameters as one JSON object, sorted by name (the catalog's `params_json`).
    ///
    /// Types JSON lacks are tagged objects: `{"$bytes": hex}`, `{"$date": "YYYY-MM-DD"}`,
    /// `{"$timestamp": RFC 3339}`, `{"$float": "NaN"|"inf"|"-inf"}`, content digests
    /// `{"$file"|"$dir"|"$array"|"$table": 32 hex digits}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.values
                .iter()
                .map(|(k, v)| (k.clone(), value_to_json(v)))
                .collect(),
        )
    }
}

fn tagged(tag: &str, v: serde_json::Value) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    m.insert(tag.to_string(), v);
    serde_json::Value::Object(m)
}

fn value_to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::UInt(u) => J::from(*u),
        Value::Float(f) => match serde_json::Number::from_f64(if *f == 0.0 { 0.0 } else { *f }) {
            Some(n) => J::Number(n),
            None => tagged(
                "$float",
                J::from(if f.is_nan() {
                    "NaN"
                } else if *f > 0.0 {
                    "inf"
                } else {
                    "-inf"
                }),
            ),
        },
        Value::Str(s) => J::from(s.as_str()),
        Value::Bytes(b) => tagged("$bytes", J::from(hex(b))),
        Value::Date(d) => tagged("$date", J::from(date_string(*d))),
        Value::Timestamp(t) => tagged("$timestamp", J::from(timestamp_string(*t))),
        Value::List(items) => J::Array(items.iter().map(value_to_json).collect()),
        Value::Digest(d) => tagged(&format!("${}", d.kind.name()), J::from(d.hex())),
        Value::Map(m) => J::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), value_to_json(v)))
                .collect(),
        ),
    }
}

impl Value {
    /// The value as JSON, as `params_json` holds it (`docs/KEYS.md`): floats that JSON cannot
    /// hold, bytes, dates, timestamps and digests as one-key objects (`{"$bytes": "0aff"}`).
    pub fn to_json(&self) -> serde_json::Value {
        value_to_json(self)
    }
}

/// Lower-case hex of bytes.
pub fn hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push(char::from(DIGITS[usize::from(x >> 4)]));
        s.push(char::from(DIGITS[usize::from(x & 0xf)]));
    }
    s
}

/// Bytes from lower-case or upper-case hex.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let mut out = vec![0; s.len() / 2];
    decode_hex(s.as_bytes(), &mut out, &ANY_CASE)?;
    Some(out)
}

/// `N` bytes from exactly `2N` lower-case hex digits, and nothing else (no allocation: the
/// get path parses signatures with it, and a digit whose case was flipped is not the digit
/// that was signed).
pub fn unhex_lower<const N: usize>(text: &[u8]) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    decode_hex(text, &mut out, &LOWER_CASE)?;
    Some(out)
}

/// Not a hex digit, in the tables below.
const NOT_HEX: u8 = 0xff;

/// The value of each byte as a hex digit, of either case or of lower case only.
const ANY_CASE: [u8; 256] = hex_table(true);
const LOWER_CASE: [u8; 256] = hex_table(false);

const fn hex_table(upper_too: bool) -> [u8; 256] {
    let mut t = [NOT_HEX; 256];
    let mut i = 0;
    while i < 16 {
        let digit = b"0123456789abcdef"[i];
        t[digit as usize] = i as u8;
        if upper_too {
            t[digit.to_ascii_uppercase() as usize] = i as u8;
        }
        i += 1;
    }
    t
}

/// Decode `text` (exactly two digits per byte of `out`) by `table`.
fn decode_hex(text: &[u8], out: &mut [u8], table: &[u8; 256]) -> Option<()> {
    if text.len() != 2 * out.len() {
        return None;
    }
    for (o, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        let (hi, lo) = (table[usize::from(pair[0])], table[usize::from(pair[1])]);
        if hi == NOT_HEX || lo == NOT_HEX {
            return None;
        }
        *o = hi << 4 | lo;
    }
    Some(())
}

fn date_string(days: i32) -> String {
    chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|e| e.checked_add_signed(chrono::Duration::days(i64::from(days))))
        .map(|d| d.to_string())
        .unwrap_or_else(|| format!("{days} days"))
}

/// RFC 3339 text of a microsecond timestamp.
pub fn timestamp_string(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .unwrap_or_else(|| format!("{micros} µs"))
}

/// Build [`Params`] from `name = value` pairs: `params!(model = "xgboost", epochs = 10)`.
#[macro_export]
macro_rules! params {
    () => { $crate::Params::new() };
    ($($name:ident = $value:expr),+ $(,)?) => {
        $crate::Params::new()$(.with(stringify!($name), $value))+
    };
}

#[cfg(test)]
mod tests {
    use super::{hex, unhex, unhex_lower};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn hex_round_trips_in_either_case(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let text = hex(&bytes);
            prop_assert_eq!(text.len(), 2 * bytes.len());
            prop_assert!(text.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
            prop_assert_eq!(unhex(&text), Some(bytes.clone()));
            prop_assert_eq!(unhex(&text.to_ascii_uppercase()), Some(bytes));
        }

        #[test]
        fn hex_decoding_agrees_with_the_standard_library(text in "[0-9a-fA-Fg-z]{0,12}") {
            let std: Option<Vec<u8>> = (text.len() % 2 == 0)
                .then(|| {
                    (0..text.len())
                        .step_by(2)
                        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
                        .collect()
                })
                .flatten();
            prop_assert_eq!(unhex(&text), std);
        }
    }

    #[test]
    fn lower_case_decoding_takes_exactly_two_lower_case_digits_a_byte() {
        assert_eq!(unhex_lower::<2>(b"00ff"), Some([0, 255]));
        assert_eq!(unhex_lower::<2>(b"00fF"), None, "an upper-case digit");
        assert_eq!(unhex_lower::<2>(b"00f"), None, "too short");
        assert_eq!(unhex_lower::<2>(b"00ff0"), None, "too long");
        assert_eq!(unhex_lower::<1>(b"0g"), None, "not a digit");
        assert_eq!(unhex_lower::<1>(b"+1"), None, "a sign is not a digit");
        assert_eq!(
            unhex("+1"),
            None,
            "from_str_radix would take a sign inside a pair"
        );
    }
}
