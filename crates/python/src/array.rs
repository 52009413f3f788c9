//! NumPy arrays ↔ Blosc2 arrays, by element type: every numeric dtype and bool.

use bytes::Bytes;
use cacheness::deps::ndarray::{ArrayD, CowArray};
use cacheness::{Cacheable, EntryMeta, Params, PutOptions};
use numpy::{IntoPyArray, PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use crate::{CacheError, cache_err};

/// The binding fact (`info.binding.python.order`) of an array put in Fortran order: it is
/// stored in C order (as every Blosc2 array) and given back in Fortran order.
pub const FORTRAN: &str = "F";

/// Whether `value` is an array in Fortran order and not also in C order (as a 1-d or empty
/// one is).
pub fn is_fortran(value: &Bound<'_, PyAny>) -> bool {
    value
        .cast::<PyUntypedArray>()
        .is_ok_and(|a| a.ndim() > 1 && a.is_fortran_contiguous() && !a.is_c_contiguous())
}

/// Store `value`, a NumPy array, under `params`.
pub fn put(
    py: Python<'_>,
    cache: &cacheness::blocking::Cache,
    value: &Bound<'_, PyAny>,
    params: &Params,
    opts: &PutOptions,
) -> PyResult<String> {
    macro_rules! by_dtype {
        ($($t:ty),*) => {$(
            if let Ok(a) = value.cast::<PyArrayDyn<$t>>() {
                // The encoder reads the array where it lies (a copy only when it is not in C
                // order), with the GIL released: as for NumPy's own functions that release
                // it, a thread that changes the array meanwhile races with the put. The
                // borrow keeps the array alive and unresizable until the put returns.
                let borrowed = a.readonly();
                let view = CowArray::from(borrowed.as_array());
                return py
                    .detach(|| cache.put_with(&view, params, opts))
                    .map(|k| k.to_string())
                    .map_err(cache_err);
            }
        )*};
    }
    by_dtype!(f64, f32, i64, i32, i16, i8, u64, u32, u16, u8, bool);
    let dtype = value
        .cast::<PyUntypedArray>()
        .map(|a| a.dtype().to_string())
        .unwrap_or_else(|_| crate::object::type_name(value));
    Err(PyTypeError::new_err(format!(
        "an array of dtype {dtype} cannot be stored (bool and the numeric dtypes can, in \
         native byte order)"
    )))
}

/// The NumPy array an array payload holds.
pub fn get(py: Python<'_>, bytes: Bytes, meta: &EntryMeta) -> PyResult<Py<PyAny>> {
    let dtype = meta
        .info
        .get("dtype")
        .and_then(|d| d.as_str())
        .unwrap_or("?")
        .to_string();
    macro_rules! by_name {
        ($($t:ty),*) => {$(
            if dtype == <$t as cacheness::Element>::NAME {
                let array = py
                    .detach(|| <ArrayD<$t> as Cacheable>::decode(bytes, meta))
                    .map_err(cache_err)?;
                let array = array.into_pyarray(py).into_any();
                if crate::python_fact(meta, "order").as_deref() == Some(FORTRAN) {
                    // One copy, into the order it was put in.
                    let numpy = py.import("numpy")?;
                    return Ok(numpy.call_method1("asfortranarray", (array,))?.unbind());
                }
                return Ok(array.unbind());
            }
        )*};
    }
    by_name!(f64, f32, i64, i32, i16, i8, u64, u32, u16, u8, bool);
    Err(CacheError::new_err(format!(
        "entry {}: its array holds elements of type {dtype:?}, which this version cannot read",
        meta.key
    )))
}
