//! Key parameters from Rust values: the [`KeyParam`] trait, and serde values as keys.
//!
//! A `#[cached]` function's arguments become key parameters through [`KeyParam`] when their
//! type implements it, and otherwise through serde ([`serde_value_of`]). Both give the values
//! [`crate::Params::with`] gives for the same Rust values, so `cache.get(params)` finds a
//! function's results. Paths are content-hashed ([`super::content`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::content::{ContentHasher, MissingPath};
use super::value::{NotU8, Value};
use crate::error::{Error, Result};

/// What turning a value into a key parameter may need: the content hasher (with its stat
/// cache) and what to do with missing paths.
#[derive(Debug, Clone, Copy)]
pub struct KeyContext<'a> {
    /// Hashes files and directories.
    pub hasher: &'a ContentHasher,
    /// What a path that does not exist becomes.
    pub missing: MissingPath,
}

impl<'a> KeyContext<'a> {
    /// A context with this hasher; missing paths are errors.
    pub fn new(hasher: &'a ContentHasher) -> Self {
        KeyContext {
            hasher,
            missing: MissingPath::Error,
        }
    }

    /// Key missing paths by their names instead of failing.
    pub fn missing_paths(mut self, missing: MissingPath) -> Self {
        self.missing = missing;
        self
    }
}

/// A value that can be a key parameter. Implemented for numbers, strings, bytes, dates,
/// [`Value`], options, vectors, maps and sets of these, and for paths (keyed by content).
/// Types that implement serde's `Serialize` need nothing more to be `#[cached]` arguments.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a cache key parameter",
    label = "not a key parameter",
    note = "derive or implement serde::Serialize for it, or implement cacheness::keys::KeyParam, \
            or leave the argument out of the key with #[cached(ignore = [name])]"
)]
pub trait KeyParam {
    /// The key parameter value.
    fn key_value(&self, cx: &KeyContext<'_>) -> Result<Value>;
}

macro_rules! via_into {
    ($($t:ty),*) => {$(
        impl KeyParam for $t {
            fn key_value(&self, _: &KeyContext<'_>) -> Result<Value> {
                Ok(Value::from(self.clone()))
            }
        }
    )*};
}
via_into!(
    i8,
    i16,
    i32,
    i64,
    u8,
    u16,
    u32,
    u64,
    usize,
    isize,
    f32,
    f64,
    bool,
    String,
    Value,
    chrono::NaiveDate
);

impl<Tz: chrono::TimeZone> KeyParam for chrono::DateTime<Tz> {
    fn key_value(&self, _: &KeyContext<'_>) -> Result<Value> {
        Ok(Value::from(self.clone()))
    }
}

impl KeyParam for str {
    fn key_value(&self, _: &KeyContext<'_>) -> Result<Value> {
        Ok(Value::from(self))
    }
}

impl KeyParam for [u8] {
    fn key_value(&self, _: &KeyContext<'_>) -> Result<Value> {
        Ok(Value::Bytes(self.to_vec()))
    }
}

impl KeyParam for Vec<u8> {
    fn key_value(&self, _: &KeyContext<'_>) -> Result<Value> {
        Ok(Value::Bytes(self.clone()))
    }
}

impl<T: KeyParam + ?Sized> KeyParam for &T {
    fn key_value(&self, cx: &KeyContext<'_>) -> Result<Value> {
        (**self).key_value(cx)
    }
}

impl<T: KeyParam + ?Sized> KeyParam for &mut T {
    fn key_value(&self, cx: &KeyContext<'_>) -> Result<Value> {
        (**self).key_value(cx)
    }
}

impl<T: KeyParam + ?Sized> KeyParam for Box<T> {
    fn key_value(&self, cx: &KeyContext<'_>) -> Result<Value> {
        (**self).key_value(cx)
    }
}

impl<T: KeyParam> KeyParam for Option<T> {
    fn key_value(&self, cx: &KeyContext<'_>) -> Result<Value> {
        self.as_ref().map_or(Ok(Value::Null), |v| v.key_value(cx))
    }
}

impl<T: KeyParam + NotU8> KeyParam for [T] {
    fn key_value(&self, cx: &KeyContext<'_>) -> Result<Value> {
        self.iter()
            .map(|v| v.key_value(cx))
            .collect::<Result<_>>()
            .map(Value::List)
    }
}

impl<T: KeyParam + NotU8> KeyParam for Vec<T> {
    fn key_value(&self, cx: &KeyContext<'_>) -> Result<Value> {
        self.as_slice().key_value(cx)
    }
}

impl<K: AsRef<str>, V: KeyParam> KeyParam for BTreeMap<K, V> {
    fn key_value(&self, cx: &KeyContext<'_>) -> Result<Value> {
        map_value(self.iter(), cx)
    }
}

impl<K: AsRef<str>, V: KeyParam, S> KeyParam for HashMap<K, V, S> {
    fn key_value(&self, cx: &KeyContext<'_>) -> Result<Value> {
        map_value(self.iter(), cx)
    }
}

fn map_value<'a, K: AsRef<str> + 'a, V: KeyParam + 'a>(
    entries: impl Iterator<Item = (&'a K, &'a V)>,
    cx: &KeyContext<'_>,
) -> Result<Value> {
    entries
        .map(|(k, v)| Ok((k.as_ref().to_string(), v.key_value(cx)?)))
        .collect::<Result<_>>()
        .map(Value::Map)
}

/// Sets are lists in the byte order of their elements' canonical encodings, so a `HashSet`
/// gives one key whatever its iteration order.
fn set_value<'a, T: KeyParam + 'a>(
    items: impl Iterator<Item = &'a T>,
    cx: &KeyContext<'_>,
) -> Result<Value> {
    let mut encoded: Vec<(Vec<u8>, Value)> = items
        .map(|v| {
            let value = v.key_value(cx)?;
            let mut bytes = Vec::new();
            super::canonical::encode_value(&value, &mut bytes);
            Ok((bytes, value))
        })
        .collect::<Result<_>>()?;
    encoded.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Value::List(encoded.into_iter().map(|(_, v)| v).collect()))
}

impl<T: KeyParam, S> KeyParam for HashSet<T, S> {
    fn key_value(&self, cx: &KeyContext<'_>) -> Result<Value> {
        set_value(self.iter(), cx)
    }
}

impl<T: KeyParam> KeyParam for BTreeSet<T> {
    fn key_value(&self, cx: &KeyContext<'_>) -> Result<Value> {
        set_value(self.iter(), cx)
    }
}

/// A path is keyed by the content of the file or directory tree it names.
impl KeyParam for Path {
    fn key_value(&self, cx: &KeyContext<'_>) -> Result<Value> {
        cx.hasher.path_value(self, cx.missing)
    }
}

/// A path is keyed by the content of the file or directory tree it names.
impl KeyParam for PathBuf {
    fn key_value(&self, cx: &KeyContext<'_>) -> Result<Value> {
        self.as_path().key_value(cx)
    }
}

/// A path keyed by its name (the path as text), not its content: for outputs and locations
/// whose content is not an input.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PathName(pub PathBuf);

impl KeyParam for PathName {
    fn key_value(&self, _: &KeyContext<'_>) -> Result<Value> {
        Ok(Value::Str(self.0.to_string_lossy().into_owned()))
    }
}

/// The key value of any serde value, as `Params::with` would give for the same Rust value:
/// numbers, strings, booleans and bytes as themselves; `None` and `()` as null; sequences and
/// tuples as lists; structs and maps as maps (map keys must be strings, numbers, booleans or
/// characters, which become their text); enums externally tagged (`"Variant"` or
/// `{"Variant": value}`); newtypes as their content. `what` names the value in errors.
pub fn serde_value_of<T: serde::Serialize + ?Sized>(value: &T, what: &str) -> Result<Value> {
    let v = serde_value::to_value(value).map_err(|e| Error::InvalidParamValue {
        what: format!("parameter {what}"),
        reason: format!("cannot serialize the value: {e}"),
    })?;
    from_serde(v, what)
}

fn from_serde(v: serde_value::Value, what: &str) -> Result<Value> {
    use serde_value::Value as S;
    Ok(match v {
        S::Bool(b) => Value::Bool(b),
        S::U8(n) => Value::from(n),
        S::U16(n) => Value::from(n),
        S::U32(n) => Value::from(n),
        S::U64(n) => Value::from(n),
        S::I8(n) => Value::from(n),
        S::I16(n) => Value::from(n),
        S::I32(n) => Value::from(n),
        S::I64(n) => Value::from(n),
        S::F32(f) => Value::from(f),
        S::F64(f) => Value::from(f),
        S::Char(c) => Value::Str(c.to_string()),
        S::String(s) => Value::Str(s),
        S::Unit | S::Option(None) => Value::Null,
        S::Option(Some(v)) | S::Newtype(v) => from_serde(*v, what)?,
        S::Seq(items) => Value::List(
            items
                .into_iter()
                .map(|v| from_serde(v, what))
                .collect::<Result<_>>()?,
        ),
        S::Map(map) => Value::Map(
            map.into_iter()
                .map(|(k, v)| Ok((map_key(k, what)?, from_serde(v, what)?)))
                .collect::<Result<_>>()?,
        ),
        S::Bytes(b) => Value::Bytes(b),
    })
}

fn map_key(k: serde_value::Value, what: &str) -> Result<String> {
    use serde_value::Value as S;
    Ok(match k {
        S::String(s) => s,
        S::Char(c) => c.to_string(),
        S::Bool(b) => b.to_string(),
        S::U8(n) => n.to_string(),
        S::U16(n) => n.to_string(),
        S::U32(n) => n.to_string(),
        S::U64(n) => n.to_string(),
        S::I8(n) => n.to_string(),
        S::I16(n) => n.to_string(),
        S::I32(n) => n.to_string(),
        S::I64(n) => n.to_string(),
        S::Newtype(inner) => map_key(*inner, what)?,
        other => {
            return Err(Error::InvalidParamValue {
                what: format!("parameter {what}"),
                reason: format!("map keys must be strings, numbers or booleans, not {other:?}"),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params;

    #[derive(serde::Serialize)]
    struct Config {
        model: String,
        layers: Vec<u32>,
        dropout: Option<f64>,
        mode: Mode,
    }

    #[derive(serde::Serialize)]
    enum Mode {
        Fast,
        Tuned { trials: u32 },
    }

    #[test]
    fn key_params_give_what_params_with_gives() {
        let h = ContentHasher::in_memory();
        let cx = KeyContext::new(&h);
        let kv = |v: &dyn Fn(&KeyContext<'_>) -> Result<Value>| v(&cx).unwrap();
        assert_eq!(kv(&|cx| 3u8.key_value(cx)), Value::from(3i64));
        assert_eq!(kv(&|cx| "x".key_value(cx)), Value::from("x"));
        assert_eq!(
            kv(&|cx| vec![1u8, 2].key_value(cx)),
            Value::from(vec![1u8, 2])
        );
        assert_eq!(
            kv(&|cx| vec![1i32, 2].key_value(cx)),
            Value::from(vec![1i32, 2])
        );
        assert_eq!(kv(&|cx| None::<i32>.key_value(cx)), Value::Null);
        assert_eq!(
            kv(&|cx| (&mut vec![1u8, 2]).key_value(cx)),
            Value::from(vec![1u8, 2]),
            "a &mut Vec<u8> argument is bytes, as the Vec itself"
        );
        // The serde route agrees with the KeyParam route on what both accept.
        assert_eq!(serde_value_of(&3u8, "x").unwrap(), Value::from(3i64));
        assert_eq!(
            serde_value_of(&u64::MAX, "x").unwrap(),
            Value::from(u64::MAX)
        );
        assert_eq!(
            serde_value_of(&f64::NAN, "x").unwrap(),
            Value::Float(f64::NAN)
        );
        assert_eq!(serde_value_of(&Some("s"), "x").unwrap(), Value::from("s"));
        assert_eq!(
            serde_value_of(&serde_bytes::Bytes::new(b"ab"), "x").unwrap(),
            Value::from(b"ab".to_vec())
        );
    }

    #[test]
    fn structs_and_enums_become_maps_and_tagged_values() {
        let c = Config {
            model: "xgb".into(),
            layers: vec![64, 32],
            dropout: None,
            mode: Mode::Tuned { trials: 5 },
        };
        let v = serde_value_of(&c, "config").unwrap();
        let p = params!(config = v);
        assert_eq!(
            p.to_json()["config"],
            serde_json::json!({"model": "xgb", "layers": [64, 32], "dropout": null,
                               "mode": {"Tuned": {"trials": 5}}})
        );
        assert_eq!(
            serde_value_of(&Mode::Fast, "m").unwrap(),
            Value::from("Fast")
        );
    }

    #[test]
    fn sets_and_hash_maps_key_the_same_whatever_their_order() {
        let h = ContentHasher::in_memory();
        let cx = KeyContext::new(&h);
        let a: HashSet<i32> = (0..50).collect();
        let b: HashSet<i32> = (0..50).rev().collect();
        assert_eq!(a.key_value(&cx).unwrap(), b.key_value(&cx).unwrap());
        let m1: HashMap<String, i32> = [("a".into(), 1), ("b".into(), 2)].into();
        let m2: BTreeMap<&str, i32> = [("b", 2), ("a", 1)].into();
        assert_eq!(m1.key_value(&cx).unwrap(), m2.key_value(&cx).unwrap());
    }

    #[test]
    fn map_keys_that_are_not_scalars_are_refused_naming_the_argument() {
        let m: BTreeMap<Vec<i32>, i32> = [(vec![1], 1)].into();
        let err = serde_value_of(&m, "weights").unwrap_err();
        assert!(err.to_string().contains("weights"), "{err}");
    }
}
