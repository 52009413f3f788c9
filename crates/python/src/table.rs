//! Arrow tables cross the boundary through the Arrow C stream interface (the PyCapsule
//! protocol, `__arrow_c_stream__`): pyarrow, polars and pandas export and import it without
//! copying the columns, and arrow-rs imports and exports it (`arrow::ffi_stream`).

use bytes::Bytes;
use cacheness::deps::arrow::array::{RecordBatch, RecordBatchIterator, RecordBatchReader};
use cacheness::deps::arrow::datatypes::SchemaRef;
use cacheness::deps::arrow::ffi_stream::{ArrowArrayStreamReader, FFI_ArrowArrayStream};
use cacheness::{Cacheable, EntryMeta};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

use crate::cache_err;

/// The capsule name the protocol gives a stream.
const STREAM: &std::ffi::CStr = c"arrow_array_stream";

/// A table read: its schema (even with no batches) and batches.
pub type Table = (SchemaRef, Vec<RecordBatch>);

/// The table a stream capsule (`obj.__arrow_c_stream__()`) holds, moved out of it (the
/// capsule is left holding a released stream, as the protocol asks). The columns are not
/// copied: the batches keep the producer's buffers alive.
pub fn from_stream(capsule: &Bound<'_, PyAny>) -> PyResult<Table> {
    let capsule = capsule.cast::<PyCapsule>()?;
    let raw = capsule
        .pointer_checked(Some(STREAM))?
        .cast::<FFI_ArrowArrayStream>();
    // SAFETY: a capsule named "arrow_array_stream" holds an `ArrowArrayStream` (the
    // protocol); `from_raw` moves it out and leaves a released one in its place.
    let reader = unsafe { ArrowArrayStreamReader::from_raw(raw.as_ptr()) }
        .map_err(|e| PyValueError::new_err(format!("the table's Arrow stream: {e}")))?;
    let schema = reader.schema();
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PyValueError::new_err(format!("the table's Arrow stream: {e}")))?;
    Ok((schema, batches))
}

/// A stream capsule of a table (for `pyarrow.table(...)` through `__arrow_c_stream__`).
pub fn to_stream<'py>(py: Python<'py>, (schema, batches): Table) -> PyResult<Bound<'py, PyAny>> {
    let reader = RecordBatchIterator::new(batches.into_iter().map(Ok), schema);
    let stream = FFI_ArrowArrayStream::new(Box::new(reader));
    Ok(PyCapsule::new_with_value(py, stream, STREAM)?.into_any())
}

/// The table a table payload holds.
pub fn decode(bytes: Bytes, meta: &EntryMeta) -> PyResult<Table> {
    let batches = <Vec<RecordBatch> as Cacheable>::decode(bytes, meta).map_err(cache_err)?;
    Ok((schema_of(&batches), batches))
}

/// The schema of batches (one schema; none is an empty schema).
pub fn schema_of(batches: &[RecordBatch]) -> SchemaRef {
    match batches.first() {
        Some(b) => b.schema(),
        None => std::sync::Arc::new(cacheness::deps::arrow::datatypes::Schema::empty()),
    }
}
