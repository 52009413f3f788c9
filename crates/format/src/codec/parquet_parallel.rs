//! Parquet written and read with every core, one column per thread at a time.
//!
//! - Writing: the columns of a row group are encoded (dictionary, pages, compression) on
//!   threads of their own, then appended to the file in schema order. arrow-rs' `ArrowWriter`
//!   encodes one column after the other on the calling thread; this uses its lower-level pieces
//!   ([`ArrowRowGroupWriterFactory`], [`ArrowColumnWriter`]) the way its documentation shows, so
//!   the file is the one `ArrowWriter` would write with the same properties: same row groups
//!   (cut at `max_row_group_row_count` rows), same encodings, same Arrow schema in the footer.
//! - Reading ([`read_columns`]): the footer is parsed once, then each top-level column is
//!   decoded by a reader of its own (a projection of that column) and the columns are put side
//!   by side.
//!
//! Below [`PARALLEL_MIN_BYTES`] a table is done on the calling thread: starting threads would
//! cost more than they save.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions, new_empty_array};
use arrow::datatypes::SchemaRef;
use bytes::Bytes;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory, compute_leaves,
};
use parquet::errors::{ParquetError, Result};
use parquet::file::writer::SerializedFileWriter;

use crate::parallel::on_threads;

/// Tables smaller than this (Arrow memory to write, file bytes to read) are written and read
/// on the calling thread.
pub const PARALLEL_MIN_BYTES: usize = 1 << 20;

/// The batches cut into row groups of at most `max_rows` rows (a batch that crosses a
/// boundary is sliced, as `ArrowWriter` does). Empty batches are left out.
pub fn row_groups(batches: &[RecordBatch], max_rows: Option<usize>) -> Vec<Vec<RecordBatch>> {
    let max_rows = max_rows.unwrap_or(usize::MAX).max(1);
    let mut groups: Vec<Vec<RecordBatch>> = Vec::new();
    let mut rows_in_last = max_rows;
    for batch in batches {
        let mut offset = 0;
        while offset < batch.num_rows() {
            if rows_in_last == max_rows {
                groups.push(Vec::new());
                rows_in_last = 0;
            }
            let take = (batch.num_rows() - offset).min(max_rows - rows_in_last);
            if let Some(group) = groups.last_mut() {
                group.push(batch.slice(offset, take));
            }
            rows_in_last += take;
            offset += take;
        }
    }
    groups
}

/// Encode `batches` into `file` as row groups, each column on one of `threads` threads.
pub fn write_row_groups<W: std::io::Write + Send>(
    file: &mut SerializedFileWriter<W>,
    factory: &ArrowRowGroupWriterFactory,
    batches: &[RecordBatch],
    threads: usize,
) -> Result<()> {
    let max_rows = file.properties().max_row_group_row_count();
    // Which top-level field each leaf column belongs to (a nested field has several).
    let roots: Vec<usize> = (0..file.schema_descr().num_columns())
        .map(|leaf| file.schema_descr().get_column_root_idx(leaf))
        .collect();
    let groups = row_groups(batches, max_rows);
    for (index, group) in groups.iter().enumerate() {
        let mut by_field: Vec<Vec<ArrowColumnWriter>> = Vec::new();
        for (writer, &root) in factory
            .create_column_writers(index)?
            .into_iter()
            .zip(&roots)
        {
            if by_field.len() <= root {
                by_field.resize_with(root + 1, Vec::new);
            }
            by_field[root].push(writer);
        }
        let chunks = encode_fields(group, by_field, threads)?;
        let mut row_group = file.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut row_group)?;
        }
        row_group.close()?;
    }
    Ok(())
}

/// Encode each field of `group` with its leaf writers on `threads` threads; the chunks come
/// back in schema order.
fn encode_fields(
    group: &[RecordBatch],
    by_field: Vec<Vec<ArrowColumnWriter>>,
    threads: usize,
) -> Result<Vec<ArrowColumnChunk>> {
    let fields: Vec<_> = by_field.into_iter().enumerate().collect();
    let encoded = on_threads(fields, threads, |(field, writers)| {
        encode_field(group, field, writers)
    });
    let mut chunks = Vec::new();
    for field in encoded {
        chunks.extend(field?);
    }
    Ok(chunks)
}

/// Encode one field of every batch of a row group, then close its writers.
fn encode_field(
    group: &[RecordBatch],
    field: usize,
    mut writers: Vec<ArrowColumnWriter>,
) -> Result<Vec<ArrowColumnChunk>> {
    for batch in group {
        let schema = batch.schema();
        let leaves = compute_leaves(schema.field(field), batch.column(field))?;
        if leaves.len() != writers.len() {
            return Err(ParquetError::General(format!(
                "column {:?} has {} leaves, its writer {}",
                schema.field(field).name(),
                leaves.len(),
                writers.len()
            )));
        }
        for (writer, leaf) in writers.iter_mut().zip(&leaves) {
            writer.write(leaf)?;
        }
    }
    writers.into_iter().map(ArrowColumnWriter::close).collect()
}

/// Decode the table in `bytes` (whose footer `metadata` holds) as one batch of `schema`
/// (the file's, as the caller wants it back), each top-level column by a reader of its own on
/// one of `threads` threads.
pub fn read_columns(
    bytes: &Bytes,
    metadata: &ArrowReaderMetadata,
    schema: &SchemaRef,
    threads: usize,
) -> Result<RecordBatch> {
    let rows = usize::try_from(metadata.metadata().file_metadata().num_rows())
        .map_err(|_| ParquetError::General("a negative row count".into()))?;
    let columns = on_threads((0..schema.fields().len()).collect(), threads, |field| {
        read_column(bytes, metadata, schema, field, rows)
    });
    let columns = columns.into_iter().collect::<Result<Vec<ArrayRef>>>()?;
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(schema),
        columns,
        &options,
    )?)
}

/// One top-level column of the file, decoded whole.
fn read_column(
    bytes: &Bytes,
    metadata: &ArrowReaderMetadata,
    schema: &SchemaRef,
    field: usize,
    rows: usize,
) -> Result<ArrayRef> {
    let mask = ProjectionMask::roots(metadata.parquet_schema(), [field]);
    let reader =
        ParquetRecordBatchReaderBuilder::new_with_metadata(bytes.clone(), metadata.clone())
            .with_projection(mask)
            .with_batch_size(rows.max(1))
            .build()?;
    let mut parts = Vec::new();
    for batch in reader {
        let batch = batch?;
        if batch.num_columns() != 1 {
            return Err(ParquetError::General(format!(
                "column {:?}: the projection gave {} columns",
                schema.field(field).name(),
                batch.num_columns()
            )));
        }
        parts.push(Arc::clone(batch.column(0)));
    }
    let want = schema.field(field).data_type();
    let column = match parts.as_slice() {
        [] => new_empty_array(want),
        [one] => Arc::clone(one),
        many => {
            let refs: Vec<&dyn arrow::array::Array> = many.iter().map(AsRef::as_ref).collect();
            arrow::compute::concat(&refs)?
        }
    };
    if column.data_type() != want || column.len() != rows {
        return Err(ParquetError::General(format!(
            "column {:?} decoded as {} rows of {}, the file says {rows} of {want}",
            schema.field(field).name(),
            column.len(),
            column.data_type()
        )));
    }
    Ok(column)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int64Array};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn batch(from: i64, rows: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("i", DataType::Int64, false)]));
        let col: ArrayRef = Arc::new(Int64Array::from_iter_values(from..from + rows));
        RecordBatch::try_new(schema, vec![col]).unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn row_groups_are_cut_where_arrow_writer_cuts_them() {
        let batches = [batch(0, 5), batch(5, 0), batch(5, 7), batch(12, 3)];
        let sizes = |groups: Vec<Vec<RecordBatch>>| -> Vec<Vec<usize>> {
            groups
                .iter()
                .map(|g| g.iter().map(RecordBatch::num_rows).collect())
                .collect()
        };
        assert_eq!(
            sizes(row_groups(&batches, Some(4))),
            [vec![4], vec![1, 3], vec![4], vec![3]]
        );
        assert_eq!(sizes(row_groups(&batches, None)), [vec![5, 7, 3]]);
        assert!(row_groups(&[batch(0, 0)], Some(4)).is_empty());
        // The rows stay in order across the cuts.
        let values: Vec<i64> = row_groups(&batches, Some(4))
            .iter()
            .flatten()
            .flat_map(|b| {
                b.column(0)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .map(|a| a.values().to_vec())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(values, (0..15).collect::<Vec<_>>());
    }
}
