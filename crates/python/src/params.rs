//! Key parameters from Python: the same [`Value`]s, and so the same keys, as Rust's `params!`
//! and the CLI's `-p` (the golden vectors in `tests/data/key_vectors.json` check all three).

use cacheness::{Params, Value};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::object::{MAX_DEPTH, type_name};

/// Parameters from a dict of names to values.
pub fn params(dict: &Bound<'_, PyDict>) -> PyResult<Params> {
    let mut params = Params::new();
    for (name, value) in dict.iter() {
        let name = str_key(&name, "a parameter name")?;
        let value = key_value(&value, 0).map_err(|e| at_parameter(&name, e))?;
        params = params.with(&name, value);
    }
    Ok(params)
}

/// A name or dict key, which must be a `str`.
fn str_key(k: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    k.extract()
        .map_err(|_| PyTypeError::new_err(format!("{what} must be a str, not {}", type_name(k))))
}

fn at_parameter(name: &str, e: PyErr) -> PyErr {
    Python::attach(|py| PyTypeError::new_err(format!("parameter {name:?}: {}", e.value(py))))
}

/// The key value of a Python value.
fn key_value(v: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyTypeError::new_err(format!(
            "the value nests deeper than {MAX_DEPTH} levels (or contains itself)"
        )));
    }
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
        let items: PyResult<Vec<Value>> = list.iter().map(|x| key_value(&x, depth + 1)).collect();
        return Ok(Value::List(items?));
    }
    if let Ok(tuple) = v.cast::<PyTuple>() {
        let items: PyResult<Vec<Value>> = tuple.iter().map(|x| key_value(&x, depth + 1)).collect();
        return Ok(Value::List(items?));
    }
    if let Ok(dict) = v.cast::<PyDict>() {
        let mut map = std::collections::BTreeMap::new();
        for (k, x) in dict.iter() {
            let k = str_key(&k, "a dict key in a key parameter")?;
            map.insert(k, key_value(&x, depth + 1)?);
        }
        return Ok(Value::Map(map));
    }
    Err(PyTypeError::new_err(format!(
        "a key parameter of type {} is not supported (str, int, float, bool, None, bytes, and \
         lists, tuples and dicts of them are)",
        type_name(v)
    )))
}
