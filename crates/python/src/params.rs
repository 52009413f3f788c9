//! Key parameters from Python: the same [`Value`]s, and so the same keys, as Rust's `params!`
//! and the CLI's `-p` (the golden vectors in `tests/data/key_vectors.json` check all three).
//!
//! | Python | key value |
//! |---|---|
//! | `None`, `bool`, `int` (64-bit), `float`, `str`, `bytes` | themselves |
//! | `list`, `tuple` | a list |
//! | `dict` with `str` keys | a map |
//! | `datetime.datetime` | an instant, UTC microseconds (a naive one is read as UTC) |
//! | `datetime.date` | a date |
//! | `os.PathLike` (`pathlib.Path`) | the content digest of the file or directory tree |
//! | NumPy array | the array's digest (dtype, shape, elements) |
//! | NumPy scalar | the Python scalar it holds (`.item()`) |
//! | pyarrow, pandas or polars table or series | the table's digest (schema and values) |

use cacheness::keys::data_digest::{array_digest, table_digest};
use cacheness::keys::{ContentHasher, MissingPath};
use cacheness::{Params, Value};
use numpy::{PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::datetime::{self, When};
use crate::object::{MAX_DEPTH, type_name};
use crate::{cache_err, table};

/// What keying a parameter may need besides the value: the hasher of path contents (a
/// cache's, with its stat cache, or a process-wide one for `cacheness.key`).
#[derive(Clone, Copy)]
pub struct KeyCx<'a> {
    /// Hashes files and directory trees named by path parameters.
    pub hasher: &'a ContentHasher,
}

/// Parameters from a dict of names to values, added to `params`.
pub fn params(mut params: Params, dict: &Bound<'_, PyDict>, cx: KeyCx<'_>) -> PyResult<Params> {
    for (name, value) in dict.iter() {
        let name = str_key(&name, "a parameter name")?;
        let value = key_value(&value, 0, cx).map_err(|e| at_parameter(&name, e))?;
        params = params.with(&name, value);
    }
    Ok(params)
}

/// The key value of one Python value (for system parameters such as a function's version).
pub fn value(v: &Bound<'_, PyAny>, cx: KeyCx<'_>) -> PyResult<Value> {
    key_value(v, 0, cx)
}

/// A name or dict key, which must be a `str`.
pub fn str_key(k: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    k.extract()
        .map_err(|_| PyTypeError::new_err(format!("{what} must be a str, not {}", type_name(k))))
}

/// `e`, of the same class, with its message prefixed by the parameter's name.
fn at_parameter(name: &str, e: PyErr) -> PyErr {
    Python::attach(|py| {
        let text = format!("parameter {name:?}: {}", e.value(py));
        PyErr::from_type(e.get_type(py), text)
    })
}

/// The table a pyarrow, pandas or polars value holds, if it is one: its digest.
fn table_value(v: &Bound<'_, PyAny>) -> PyResult<Option<Value>> {
    let module = v.get_type().module()?.to_cow()?.into_owned();
    let root = module.split('.').next().unwrap_or("");
    if !matches!(root, "pyarrow" | "pandas" | "polars") {
        return Ok(None);
    }
    let stream = v
        .py()
        .import("cacheness._tables")?
        .getattr("table_stream")?
        .call1((v,))?;
    if stream.is_none() {
        return Ok(None);
    }
    let (schema, batches) = table::from_stream(&stream)?;
    let digest = table_digest(&schema, &batches).map_err(cache_err)?;
    Ok(Some(Value::Digest(digest)))
}

/// The digest of a NumPy array, if `v` is one.
fn array_value(v: &Bound<'_, PyAny>) -> PyResult<Option<Value>> {
    let Ok(untyped) = v.cast::<PyUntypedArray>() else {
        return Ok(None);
    };
    macro_rules! by_dtype {
        ($($t:ty),*) => {$(
            if let Ok(a) = v.cast::<PyArrayDyn<$t>>() {
                return Ok(Some(Value::Digest(array_digest(&a.readonly().as_array()))));
            }
        )*};
    }
    by_dtype!(f64, f32, i64, i32, i16, i8, u64, u32, u16, u8, bool);
    Err(PyTypeError::new_err(format!(
        "an array of dtype {} cannot be a key parameter (bool and the numeric dtypes can)",
        untyped.dtype()
    )))
}

/// The key value of a Python value.
fn key_value(v: &Bound<'_, PyAny>, depth: usize, cx: KeyCx<'_>) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyTypeError::new_err(format!(
            "the value nests deeper than {MAX_DEPTH} levels (or contains itself)"
        )));
    }
    let py = v.py();
    if v.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(i) = v.cast::<PyInt>() {
        if let Ok(x) = i.extract::<i64>() {
            return Ok(Value::Int(x));
        }
        if let Ok(x) = i.extract::<u64>() {
            return Ok(Value::UInt(x));
        }
        return Err(PyTypeError::new_err(format!(
            "the int {i} does not fit in 64 bits"
        )));
    }
    if let Ok(f) = v.cast::<PyFloat>() {
        return Ok(Value::Float(f.value()));
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Value::Str(s.to_cow()?.into_owned()));
    }
    if let Ok(b) = v.cast::<PyBytes>() {
        return Ok(Value::Bytes(b.as_bytes().to_vec()));
    }
    if let Ok(list) = v.cast::<PyList>() {
        let items: PyResult<Vec<Value>> =
            list.iter().map(|x| key_value(&x, depth + 1, cx)).collect();
        return Ok(Value::List(items?));
    }
    if let Ok(tuple) = v.cast::<PyTuple>() {
        let items: PyResult<Vec<Value>> =
            tuple.iter().map(|x| key_value(&x, depth + 1, cx)).collect();
        return Ok(Value::List(items?));
    }
    if let Ok(dict) = v.cast::<PyDict>() {
        let mut map = std::collections::BTreeMap::new();
        for (k, x) in dict.iter() {
            let k = str_key(&k, "a dict key in a key parameter")?;
            map.insert(k, key_value(&x, depth + 1, cx)?);
        }
        return Ok(Value::Map(map));
    }
    match datetime::when(v)? {
        Some(When::Instant(micros)) => return Ok(Value::Timestamp(micros)),
        Some(When::Day(days)) => {
            let days = i32::try_from(days)
                .map_err(|_| PyTypeError::new_err("the date is out of range"))?;
            return Ok(Value::Date(days));
        }
        None => {}
    }
    if let Ok(path) = py.import("os")?.call_method1("fspath", (v,)) {
        let path = std::path::PathBuf::from(path.extract::<String>().map_err(|_| {
            PyTypeError::new_err("a path parameter must name its file as text (not bytes)")
        })?);
        let hasher = cx.hasher;
        return py
            .detach(|| hasher.path_value(&path, MissingPath::Error))
            .map_err(cache_err);
    }
    if let Some(value) = array_value(v)? {
        return Ok(value);
    }
    // A NumPy scalar (`numpy.float64(1.5)`) is keyed as the Python scalar it holds.
    if v.get_type().module()?.to_cow()?.starts_with("numpy") && v.hasattr("item")? {
        let item = v.call_method0("item")?;
        if !item.get_type().is(v.get_type()) {
            return key_value(&item, depth + 1, cx);
        }
    }
    if let Some(value) = table_value(v)? {
        return Ok(value);
    }
    Err(PyTypeError::new_err(format!(
        "a key parameter of type {} is not supported (str, int, float, bool, None, bytes, \
         datetime, date, paths, NumPy arrays and scalars, pyarrow/pandas/polars tables, and \
         lists, tuples and dicts of them are)",
        type_name(v)
    )))
}
