//! Arrow tables cross the boundary as IPC streams, which pyarrow writes and reads.

use bytes::Bytes;
use cacheness::deps::arrow::array::RecordBatch;
use cacheness::deps::arrow::datatypes::SchemaRef;
use cacheness::deps::arrow::ipc::reader::StreamReader;
use cacheness::deps::arrow::ipc::writer::StreamWriter;
use cacheness::{Cacheable, EntryMeta};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::cache_err;

/// The batches of an IPC stream.
pub fn from_ipc(ipc: &[u8]) -> PyResult<Vec<RecordBatch>> {
    schema_and_batches(ipc).map(|(_, batches)| batches)
}

/// The schema and batches of an IPC stream (the schema even when there are no batches).
pub fn schema_and_batches(ipc: &[u8]) -> PyResult<(SchemaRef, Vec<RecordBatch>)> {
    let reader = StreamReader::try_new(ipc, None)
        .map_err(|e| PyValueError::new_err(format!("the table's IPC stream: {e}")))?;
    let schema = reader.schema();
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PyValueError::new_err(format!("the table's IPC stream: {e}")))?;
    Ok((schema, batches))
}

/// The IPC stream of a table payload.
pub fn to_ipc(bytes: Bytes, meta: &EntryMeta) -> PyResult<Vec<u8>> {
    let batches = <Vec<RecordBatch> as Cacheable>::decode(bytes, meta).map_err(cache_err)?;
    batches_to_ipc(&batches)
}

/// The IPC stream of batches (one schema; an empty list is an empty stream of no columns).
pub fn batches_to_ipc(batches: &[RecordBatch]) -> PyResult<Vec<u8>> {
    let schema = match batches.first() {
        Some(b) => b.schema(),
        None => std::sync::Arc::new(cacheness::deps::arrow::datatypes::Schema::empty()),
    };
    let mut out = Vec::new();
    let mut writer = StreamWriter::try_new(&mut out, &schema).map_err(cache_err)?;
    for b in batches {
        writer.write(b).map_err(cache_err)?;
    }
    writer.finish().map_err(cache_err)?;
    drop(writer);
    Ok(out)
}
