//! Python values ↔ the container's MessagePack: `None`, `bool`, `int` (64-bit), `float`, `str`,
//! `bytes`, and lists, tuples and dicts of them. A tuple is stored as a list (MessagePack has
//! no tuple): a top-level tuple is marked in the payload's binding facts ([`TUPLE`]) and comes
//! back a tuple, a nested one comes back a list. What Rust stores with `Serde<T>` comes back as the
//! plain values MessagePack holds: structs as dicts, sequences as lists.
//!
//! Any other object, with `allow_pickle=True` only, is pickled into a MessagePack extension
//! value of type [`PICKLE_EXT`] (anywhere in the value: a dict may hold a model). A get
//! unpickles it only after the payload's signature was checked, and only with
//! `allow_pickle=True`: without it the get fails and says so.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde::de::{self, DeserializeSeed, Visitor};
use serde::ser::{self, Serialize, SerializeMap, SerializeSeq};

/// Nesting deeper than this is refused: a cyclic or hostile value must not exhaust the stack.
pub const MAX_DEPTH: usize = 256;

/// The binding fact (`info.binding.python.type`) of a value put as a tuple.
pub const TUPLE: &str = "tuple";

/// The MessagePack extension type of a pickled Python object (`'P'`).
pub const PICKLE_EXT: i8 = 0x50;

/// MessagePack of a Python value, or why it cannot be stored (a `TypeError` message). With
/// `pickle`, objects of other types are pickled.
pub fn to_msgpack(value: &Bound<'_, PyAny>, pickle: bool) -> Result<Vec<u8>, String> {
    rmp_serde::to_vec_named(&Obj {
        value,
        depth: 0,
        pickle,
    })
    .map_err(|e| e.to_string())
}

/// The Python value of MessagePack bytes; pickled objects are unpickled only with `unpickle`.
pub fn from_msgpack(py: Python<'_>, bytes: &[u8], unpickle: bool) -> Result<Py<PyAny>, String> {
    let mut de = rmp_serde::Deserializer::from_read_ref(bytes);
    Seed { py, unpickle }
        .deserialize(&mut de)
        .map_err(|e: rmp_serde::decode::Error| e.to_string())
}

/// The name of a value's type, for messages.
pub fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .fully_qualified_name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "<unknown type>".into())
}

struct Obj<'a, 'py> {
    value: &'a Bound<'py, PyAny>,
    depth: usize,
    pickle: bool,
}

impl Obj<'_, '_> {
    fn child<'b, 'py>(&self, value: &'b Bound<'py, PyAny>) -> Obj<'b, 'py> {
        Obj {
            value,
            depth: self.depth + 1,
            pickle: self.pickle,
        }
    }
}

/// Bytes serialized as MessagePack `bin`.
struct Bin<'a>(&'a [u8]);

impl Serialize for Bin<'_> {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

/// A MessagePack extension value: its type and data.
struct Ext<'a>(i8, &'a [u8]);

impl Serialize for Ext<'_> {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use ser::SerializeTuple;
        let mut t = s.serialize_tuple(2)?;
        t.serialize_element(&self.0)?;
        t.serialize_element(&Bin(self.1))?;
        t.end()
    }
}

/// The pickle of a value (protocol 5).
fn pickled(v: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let data = v.py().import("pickle")?.call_method1("dumps", (v, 5))?;
    Ok(data.cast::<PyBytes>()?.as_bytes().to_vec())
}

impl Serialize for Obj<'_, '_> {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use ser::Error;
        let v = self.value;
        if self.depth > MAX_DEPTH {
            return Err(S::Error::custom(format!(
                "the value nests deeper than {MAX_DEPTH} levels (or contains itself)"
            )));
        }
        if v.is_none() {
            return s.serialize_unit();
        }
        if let Ok(b) = v.cast::<PyBool>() {
            return s.serialize_bool(b.is_true());
        }
        if let Ok(i) = v.cast::<PyInt>() {
            if let Ok(x) = i.extract::<i64>() {
                return s.serialize_i64(x);
            }
            if let Ok(x) = i.extract::<u64>() {
                return s.serialize_u64(x);
            }
            return Err(S::Error::custom(format!(
                "the int {i} does not fit in 64 bits"
            )));
        }
        if let Ok(f) = v.cast::<PyFloat>() {
            return s.serialize_f64(f.value());
        }
        if let Ok(text) = v.cast::<PyString>() {
            let text = text.to_cow().map_err(S::Error::custom)?;
            return s.serialize_str(&text);
        }
        if let Ok(b) = v.cast::<PyBytes>() {
            return s.serialize_bytes(b.as_bytes());
        }
        if let Ok(list) = v.cast::<PyList>() {
            let mut seq = s.serialize_seq(Some(list.len()))?;
            for item in list.iter() {
                seq.serialize_element(&self.child(&item))?;
            }
            return seq.end();
        }
        if let Ok(tuple) = v.cast::<PyTuple>() {
            let mut seq = s.serialize_seq(Some(tuple.len()))?;
            for item in tuple.iter() {
                seq.serialize_element(&self.child(&item))?;
            }
            return seq.end();
        }
        if let Ok(dict) = v.cast::<PyDict>() {
            let mut map = s.serialize_map(Some(dict.len()))?;
            for (k, item) in dict.iter() {
                map.serialize_entry(&self.child(&k), &self.child(&item))?;
            }
            return map.end();
        }
        if self.pickle {
            let data = pickled(v)
                .map_err(|e| S::Error::custom(format!("cannot pickle a {}: {e}", type_name(v))))?;
            return s.serialize_newtype_struct(
                rmp_serde::MSGPACK_EXT_STRUCT_NAME,
                &Ext(PICKLE_EXT, &data),
            );
        }
        Err(S::Error::custom(format!(
            "a value of type {} cannot be stored as an object (dict, list, tuple, str, int, \
             float, bool, None and bytes can; other objects need allow_pickle=True)",
            type_name(v)
        )))
    }
}

#[derive(Clone, Copy)]
struct Seed<'py> {
    py: Python<'py>,
    unpickle: bool,
}

/// The bytes of an extension value (`bin` to serde).
struct Blob(Vec<u8>);

impl<'de> de::Deserialize<'de> for Blob {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Blob;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Blob, E> {
                Ok(Blob(v.to_vec()))
            }
        }
        d.deserialize_bytes(V)
    }
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Py<PyAny>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

fn py_err<E: de::Error>(e: PyErr) -> E {
    E::custom(e.to_string())
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Py<PyAny>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a MessagePack value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(self.py.None())
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(self.py.None())
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    /// A MessagePack extension value: a pickled object is the only kind this package writes.
    fn visit_newtype_struct<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        use de::Error;
        let (kind, Blob(data)): (i8, Blob) = de::Deserialize::deserialize(d)?;
        if kind != PICKLE_EXT {
            return Err(D::Error::custom(format!(
                "the value holds a MessagePack extension of type {kind}, which this version \
                 cannot read"
            )));
        }
        if !self.unpickle {
            return Err(D::Error::custom(
                "the value holds a pickled Python object: open the cache with \
                 allow_pickle=True to read it",
            ));
        }
        let loaded = self
            .py
            .import("pickle")
            .and_then(|m| m.call_method1("loads", (PyBytes::new(self.py, &data),)));
        loaded
            .map(Bound::unbind)
            .map_err(|e| D::Error::custom(format!("cannot unpickle the value: {e}")))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(PyBool::new(self.py, v).to_owned().into_any().unbind())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(PyInt::new(self.py, v).into_any().unbind())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(PyInt::new(self.py, v).into_any().unbind())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(PyFloat::new(self.py, v).into_any().unbind())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(PyString::new(self.py, v).into_any().unbind())
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
        Ok(PyBytes::new(self.py, v).into_any().unbind())
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let list = PyList::empty(self.py);
        while let Some(item) = seq.next_element_seed(self)? {
            list.append(item).map_err(py_err)?;
        }
        Ok(list.into_any().unbind())
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let dict = PyDict::new(self.py);
        while let Some(k) = map.next_key_seed(self)? {
            let v = map.next_value_seed(self)?;
            dict.set_item(k, v).map_err(py_err)?;
        }
        Ok(dict.into_any().unbind())
    }
}
