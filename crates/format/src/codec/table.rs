//! Arrow tables as Parquet (`.parquet`): readable by pyarrow, DuckDB, Spark and Polars.
//!
//! Key-value metadata: `cacheness.meta` (the [`EntryMeta`] as JSON), then
//! `cacheness.content_hash` (the hash slot, see [`crate::seal`]) and, last,
//! `cacheness.signature` (the signature slot, [`crate::signing`]). The batch sizes of a
//! multi-batch table are kept in `meta.info.batches`, so a table comes back batch for batch.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use arrow::datatypes::SchemaRef;
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::{KeyValue, ParquetMetaDataReader};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

use super::parquet_parallel;
use super::{Cacheable, DataType, EncodeCtx, Encoded, EntryMeta, ParquetCompression, encode_error};
use crate::error::{Error, Result};
use crate::seal::{self, SlotAt};

/// Key of the entry metadata in the Parquet key-value metadata.
pub const META_KEY: &str = "cacheness.meta";
/// Key of the hash slot in the Parquet key-value metadata.
pub const HASH_KEY: &str = "cacheness.content_hash";
/// Key of the signature slot in the Parquet key-value metadata.
pub const SIGNATURE_KEY: &str = "cacheness.signature";

fn compression(c: ParquetCompression) -> Compression {
    match c {
        ParquetCompression::None => Compression::UNCOMPRESSED,
        ParquetCompression::Snappy => Compression::SNAPPY,
        ParquetCompression::Lz4 => Compression::LZ4_RAW,
        ParquetCompression::Zstd(level) => {
            Compression::ZSTD(ZstdLevel::try_new(level).unwrap_or_default())
        }
    }
}

/// Tables with more columns than this are written without dictionary encoding, which costs
/// ≈ 75 KiB of memory per column while a file is written (`docs/FORMATS.md`, "Tables").
pub const DICTIONARY_MAX_COLUMNS: usize = 512;

/// A table file being written batch by batch: the whole table in memory
/// ([`encode_batches`]) or a table streamed to disk (`crate::streamed`). The entry metadata,
/// which states the rows and batches, is written with the footer, followed by the hash and
/// signature slots (placeholders until the file is sealed and signed).
pub struct TableWriter<W: std::io::Write + Send> {
    writer: ArrowWriter<W>,
    meta: EntryMeta,
    raw_bytes: u64,
    batches: Vec<usize>,
    schema: SchemaRef,
}

/// Buffered row-group data at which a streamed table's row group is written out: what bounds
/// the memory a table of any length takes to write.
pub const ROW_GROUP_BYTES: usize = 64 << 20;

impl<W: std::io::Write + Send> TableWriter<W> {
    /// Start a table of `schema` for the entry `ctx.meta`, writing to `out`. Refuses
    /// duplicate column names (SQL could not tell them apart).
    pub fn new(out: W, schema: SchemaRef, ctx: &EncodeCtx<'_>) -> Result<Self> {
        let mut seen = std::collections::HashSet::new();
        if let Some(twice) = schema
            .fields()
            .iter()
            .find(|f| !seen.insert(f.name().as_str()))
        {
            return Err(encode_error(
                ctx.meta,
                "table",
                format!(
                    "column {:?} appears more than once; SQL could not name it, so rename one \
                     (column names must be unique)",
                    twice.name()
                ),
            ));
        }
        let columns = schema.fields().len();
        let mut props = WriterProperties::builder()
            .set_compression(compression(ctx.options.parquet_compression))
            // parquet-rs keeps a dictionary encoder of ≈ 75 KiB per column however few the
            // rows: 10,000 columns took 770 MB for a 4 MB table. A wide table goes without.
            .set_dictionary_enabled(columns <= DICTIONARY_MAX_COLUMNS);
        // Floating-point columns rarely repeat a value: a dictionary costs a hash per value
        // until it overflows, and below ≈ 130,000 rows it never does and stays in the file,
        // larger than the plain values (docs/FORMATS.md, "Tables").
        for field in schema.fields() {
            if field.data_type().is_floating() {
                props = props
                    .set_column_dictionary_enabled(ColumnPath::from(field.name().as_str()), false);
            }
        }
        let props = props.build();
        let writer = ArrowWriter::try_new(out, schema.clone(), Some(props))
            .map_err(|e| encode_error(ctx.meta, "Parquet", e))?;
        Ok(TableWriter {
            writer,
            meta: ctx.meta.clone(),
            raw_bytes: 0,
            batches: Vec::new(),
            schema,
        })
    }

    /// Add a batch. `bounded`: write the row group out once [`ROW_GROUP_BYTES`] are buffered.
    pub fn write(&mut self, batch: &RecordBatch, bounded: bool) -> Result<()> {
        self.writer
            .write(batch)
            .map_err(|e| encode_error(&self.meta, "Parquet", e))?;
        self.raw_bytes += batch.get_array_memory_size() as u64;
        self.batches.push(batch.num_rows());
        if bounded && self.writer.in_progress_size() >= ROW_GROUP_BYTES {
            self.writer
                .flush()
                .map_err(|e| encode_error(&self.meta, "Parquet", e))?;
        }
        Ok(())
    }

    /// The footer's key-value metadata (entry metadata, then the slot placeholders), with the
    /// entry's metadata as written and its type details.
    fn footer(&self) -> Result<(EntryMeta, serde_json::Value, Vec<KeyValue>)> {
        let info = super::with_binding(
            serde_json::json!({
                "rows": self.batches.iter().sum::<usize>(),
                "columns": self.schema.fields().len(),
                "batches": self.batches,
            }),
            &self.meta,
        );
        let mut meta = self.meta.clone();
        meta.raw_bytes = self.raw_bytes;
        meta.info = info.clone();
        let meta_json =
            serde_json::to_string(&meta).map_err(|e| encode_error(&meta, "metadata", e))?;
        // In this order: text in the metadata (a description) comes before the real slot,
        // which is found from the end (`crate::seal`).
        let placeholder = |p: &[u8]| String::from_utf8_lossy(p).into_owned();
        let kv = [
            (META_KEY, meta_json),
            (HASH_KEY, placeholder(seal::PLACEHOLDER)),
            (SIGNATURE_KEY, placeholder(seal::SIGNATURE_PLACEHOLDER)),
        ]
        .into_iter()
        .map(|(key, value)| KeyValue::new(key.to_string(), value))
        .collect();
        Ok((meta, info, kv))
    }

    /// Write the footer (metadata and slot placeholders) and return the output, the entry's
    /// metadata as written, and its type details.
    pub fn finish(mut self) -> Result<(W, EntryMeta, serde_json::Value)> {
        let (meta, info, kv) = self.footer()?;
        for entry in kv {
            self.writer.append_key_value_metadata(entry);
        }
        let out = self
            .writer
            .into_inner()
            .map_err(|e| encode_error(&meta, "Parquet", e))?;
        Ok((out, meta, info))
    }

    /// Write all of `batches` (nothing may have been written before) with the columns of each
    /// row group encoded on `threads` threads ([`super::parquet_parallel`]), then the footer,
    /// as [`TableWriter::finish`] does. The file is the one [`TableWriter::write`] would make.
    pub fn write_all_and_finish(
        mut self,
        batches: &[RecordBatch],
        threads: usize,
    ) -> Result<(W, EntryMeta, serde_json::Value)> {
        for batch in batches {
            // ArrowWriter refuses a batch of another schema; the column writers would not.
            let (want, got) = (self.schema.fields(), batch.schema_ref().fields());
            let differs = want
                .iter()
                .zip(got)
                .find(|(w, g)| w.data_type() != g.data_type())
                .map(|(w, g)| {
                    format!(
                        "column {:?} of type {}, not {}",
                        w.name(),
                        g.data_type(),
                        w.data_type()
                    )
                })
                .or_else(|| {
                    (want.len() != got.len()).then(|| {
                        format!("{} columns where the first has {}", got.len(), want.len())
                    })
                });
            if let Some(differs) = differs {
                return Err(encode_error(
                    &self.meta,
                    "table",
                    format!("a batch differs from the first one's schema: {differs}"),
                ));
            }
            self.raw_bytes += batch.get_array_memory_size() as u64;
            self.batches.push(batch.num_rows());
        }
        let (meta, info, kv) = self.footer()?;
        let parquet = |e| encode_error(&meta, "Parquet", e);
        let (mut file, factory) = self.writer.into_serialized_writer().map_err(parquet)?;
        super::parquet_parallel::write_row_groups(&mut file, &factory, batches, threads)
            .map_err(parquet)?;
        for entry in kv {
            file.append_key_value_metadata(entry);
        }
        let out = file.into_inner().map_err(parquet)?;
        Ok((out, meta, info))
    }
}

/// Encode batches (all of one schema) into a sealed Parquet file.
pub fn encode_batches(
    schema: SchemaRef,
    batches: &[RecordBatch],
    ctx: &EncodeCtx<'_>,
) -> Result<Encoded> {
    let guess: u64 = batches
        .iter()
        .map(|b| b.get_array_memory_size() as u64)
        .sum();
    let out = Vec::with_capacity(usize::try_from(guess / 2).unwrap_or(0) + 4096);
    let writer = TableWriter::new(out, schema, ctx)?;
    let threads =
        if usize::try_from(guess).unwrap_or(usize::MAX) >= parquet_parallel::PARALLEL_MIN_BYTES {
            ctx.options.threads
        } else {
            1
        };
    let (out, meta, info) = writer.write_all_and_finish(batches, threads)?;
    if seal::placeholders(&out, SlotAt::Back).is_none() {
        return Err(Error::corrupt(
            "Parquet payload",
            "the slots are missing after encoding",
        ));
    }
    Ok(Encoded {
        bytes: out.into(),
        raw_bytes: meta.raw_bytes,
        info,
    })
}

/// Run a Parquet/Arrow decoding step, turning a panic of the decoder into a corrupt-payload
/// error: the `parquet` and `arrow-ipc` readers can panic on malformed input that still
/// carries a valid content hash (tests/fuzz.rs found such inputs).
fn unpanicked<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(Error::corrupt(what, "the Parquet decoder failed on it")))
}

/// The metadata and claimed content hash of a Parquet payload (reads only the footer).
pub fn read_meta(bytes: &[u8], what: &str) -> Result<(EntryMeta, String)> {
    unpanicked(what, || read_meta_unguarded(bytes, what))
}

fn read_meta_unguarded(bytes: &[u8], what: &str) -> Result<(EntryMeta, String)> {
    super::parquet_footer::check(bytes).map_err(|e| Error::corrupt(what, e))?;
    let footer = ParquetMetaDataReader::new()
        .parse_and_finish(&Bytes::copy_from_slice(tail(bytes)))
        .or_else(|_| ParquetMetaDataReader::new().parse_and_finish(&Bytes::copy_from_slice(bytes)))
        .map_err(|e| Error::corrupt(what, format!("Parquet footer: {e}")))?;
    let kv = footer.file_metadata().key_value_metadata();
    let get = |k: &str| {
        kv.and_then(|kv| kv.iter().find(|e| e.key == k))
            .and_then(|e| e.value.clone())
            .ok_or_else(|| Error::corrupt(what, format!("Parquet metadata lacks {k}")))
    };
    let meta: EntryMeta = serde_json::from_str(&get(META_KEY)?)
        .map_err(|e| Error::corrupt(what, format!("{META_KEY}: {e}")))?;
    let slot = get(HASH_KEY)?;
    let hash = seal::parse_slot(&slot)
        .ok_or_else(|| Error::corrupt(what, "malformed content hash"))?
        .to_string();
    Ok((meta, hash))
}

/// The footer and its length (the whole file if small): parsing needs only this.
fn tail(bytes: &[u8]) -> &[u8] {
    &bytes[footer_start(bytes)..]
}

/// Where the footer starts: its length is the little-endian u32 8 bytes from the end.
pub fn footer_start(bytes: &[u8]) -> usize {
    let n = bytes.len();
    if n < 8 {
        return 0;
    }
    let footer_len =
        u32::from_le_bytes([bytes[n - 8], bytes[n - 7], bytes[n - 6], bytes[n - 5]]) as usize;
    n.saturating_sub(footer_len.saturating_add(8))
}

fn read_all(bytes: Bytes, meta: &EntryMeta) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let what = format!("payload of {}", meta.key);
    let threads = if bytes.len() >= parquet_parallel::PARALLEL_MIN_BYTES {
        crate::parallel::cores()
    } else {
        1
    };
    unpanicked(&what, || read_all_unguarded(bytes, meta, &what, threads))
}

/// The table in `bytes`: with `threads` > 1 (and more than one column) its columns are decoded
/// on threads of their own and come back as one batch ([`parquet_parallel::read_columns`]);
/// otherwise as the file's reader yields them.
fn read_all_unguarded(
    bytes: Bytes,
    meta: &EntryMeta,
    what: &str,
    threads: usize,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    super::parquet_footer::check(&bytes).map_err(|e| Error::corrupt(what, e))?;
    let parquet = |e: parquet::errors::ParquetError| Error::corrupt(what, format!("Parquet: {e}"));
    let metadata =
        ArrowReaderMetadata::load(&bytes, ArrowReaderOptions::default()).map_err(parquet)?;
    // The reader merges the file's key-value metadata into the schema's; drop ours so the
    // schema comes back as it was put.
    let mut kv = metadata.schema().metadata().clone();
    kv.retain(|k, _| ![META_KEY, HASH_KEY, SIGNATURE_KEY].contains(&k.as_str()));
    let schema = Arc::new(metadata.schema().as_ref().clone().with_metadata(kv));
    if threads > 1 && schema.fields().len() > 1 {
        let batch =
            parquet_parallel::read_columns(&bytes, &metadata, &schema, threads).map_err(parquet)?;
        return Ok((schema, vec![batch]));
    }
    let rows = meta.info.get("rows").and_then(|r| r.as_u64()).unwrap_or(0) as usize;
    let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(bytes, metadata)
        .with_batch_size(rows.max(1))
        .build()
        .map_err(parquet)?;
    let batches = reader
        .map(|b| b.and_then(|b| b.with_schema(schema.clone())))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::corrupt(what, format!("Parquet: {e}")))?;
    Ok((schema, batches))
}

fn concat(schema: &SchemaRef, batches: &[RecordBatch], meta: &EntryMeta) -> Result<RecordBatch> {
    match batches {
        [one] => Ok(one.clone()),
        _ => concat_batches(schema, batches)
            .map_err(|e| Error::corrupt(format!("payload of {}", meta.key), format!("Arrow: {e}"))),
    }
}

impl super::sealed::Sealed for RecordBatch {}

impl Cacheable for RecordBatch {
    const DATA_TYPE: DataType = DataType::ArrowTable;

    fn type_name() -> String {
        "arrow_table (RecordBatch)".into()
    }

    fn encode(&self, ctx: &EncodeCtx<'_>) -> Result<Encoded> {
        encode_batches(self.schema(), std::slice::from_ref(self), ctx)
    }

    fn decode(bytes: Bytes, meta: &EntryMeta) -> Result<Self> {
        let (schema, batches) = read_all(bytes, meta)?;
        concat(&schema, &batches, meta)
    }
}

impl super::sealed::Sealed for Vec<RecordBatch> {}

impl Cacheable for Vec<RecordBatch> {
    const DATA_TYPE: DataType = DataType::ArrowTable;

    fn type_name() -> String {
        "arrow_table (Vec<RecordBatch>)".into()
    }

    /// An empty vector has no schema to write and is refused.
    fn encode(&self, ctx: &EncodeCtx<'_>) -> Result<Encoded> {
        let schema = self.first().map(RecordBatch::schema).ok_or_else(|| {
            encode_error(
                ctx.meta,
                "table",
                "a table needs at least one batch (for its schema)",
            )
        })?;
        if let Some(i) = self.iter().position(|b| b.schema() != schema) {
            return Err(encode_error(
                ctx.meta,
                "table",
                format!("batch {i} has another schema than batch 0"),
            ));
        }
        encode_batches(schema, self, ctx)
    }

    fn decode(bytes: Bytes, meta: &EntryMeta) -> Result<Self> {
        let (schema, batches) = read_all(bytes, meta)?;
        let all = concat(&schema, &batches, meta)?;
        let sizes: Vec<usize> = meta
            .info
            .get("batches")
            .and_then(|b| serde_json::from_value(b.clone()).ok())
            .unwrap_or_else(|| vec![all.num_rows()]);
        if sizes.iter().sum::<usize>() != all.num_rows() {
            return Err(Error::corrupt(
                format!("payload of {}", meta.key),
                "batch sizes in the metadata do not add up to the rows",
            ));
        }
        let mut offset = 0;
        Ok(sizes
            .into_iter()
            .map(|n| {
                let b = all.slice(offset, n);
                offset += n;
                b
            })
            .collect())
    }
}

/// A convenience for tests and tools: the schema of a payload.
pub fn schema_of(bytes: Bytes, what: &str) -> Result<SchemaRef> {
    ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map(|b| Arc::clone(b.schema()))
        .map_err(|e| Error::corrupt(what, format!("Parquet: {e}")))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Float64Array, Int32Array, ListArray, StringArray, StructArray};
    use arrow::datatypes::{DataType as Arrow, Field, Int32Type, Schema};

    use super::*;
    use crate::codec::CodecOptions;

    fn meta() -> EntryMeta {
        EntryMeta::bare("0123456789abcdef", DataType::ArrowTable)
    }

    /// Batches with a nested struct (two leaves) and a list between flat columns.
    fn batches() -> Vec<RecordBatch> {
        let inner = vec![
            Field::new("a", Arrow::Int32, true),
            Field::new("b", Arrow::Utf8, true),
        ];
        let schema = Arc::new(Schema::new(vec![
            Field::new("x", Arrow::Float64, false),
            Field::new("s", Arrow::Struct(inner.clone().into()), true),
            Field::new(
                "l",
                Arrow::List(Arc::new(Field::new_list_field(Arrow::Int32, true))),
                true,
            ),
            Field::new("name", Arrow::Utf8, true),
        ]));
        [(0, 3000), (3000, 0), (3000, 2500)]
            .into_iter()
            .map(|(from, rows)| {
                let ids = from..from + rows;
                let s = StructArray::new(
                    inner.clone().into(),
                    vec![
                        Arc::new(Int32Array::from_iter(
                            ids.clone().map(|i| (i % 7 != 0).then_some(i)),
                        )),
                        Arc::new(StringArray::from_iter(
                            ids.clone().map(|i| Some(format!("v{}", i % 13))),
                        )),
                    ],
                    None,
                );
                let l = ListArray::from_iter_primitive::<Int32Type, _, _>(
                    ids.clone()
                        .map(|i| (i % 5 != 0).then(|| (0..i % 4).map(Some).collect::<Vec<_>>())),
                );
                let cols: Vec<ArrayRef> = vec![
                    Arc::new(Float64Array::from_iter_values(
                        ids.clone().map(|i| f64::from(i) / 3.0),
                    )),
                    Arc::new(s),
                    Arc::new(l),
                    Arc::new(StringArray::from_iter(
                        ids.map(|i| (i % 3 != 0).then(|| format!("n{i}"))),
                    )),
                ];
                RecordBatch::try_new(schema.clone(), cols).unwrap_or_else(|e| unreachable!("{e}"))
            })
            .collect()
    }

    #[test]
    fn columns_encoded_on_threads_give_the_file_of_the_one_thread_writer() {
        let batches = batches();
        let schema = batches[0].schema();
        let options = CodecOptions::default();
        let meta = meta();
        let ctx = EncodeCtx {
            meta: &meta,
            options: &options,
            mappable: true,
        };
        let mut one = TableWriter::new(Vec::new(), schema.clone(), &ctx).unwrap();
        for batch in &batches {
            one.write(batch, false).unwrap();
        }
        let (one, one_meta, one_info) = one.finish().unwrap();
        for threads in [1, 3, 8] {
            let many = TableWriter::new(Vec::new(), schema.clone(), &ctx).unwrap();
            let (many, many_meta, many_info) =
                many.write_all_and_finish(&batches, threads).unwrap();
            assert!(one == many, "{threads} threads: the files differ");
            assert_eq!(
                (&one_meta.raw_bytes, &one_info),
                (&many_meta.raw_bytes, &many_info)
            );
        }
        // And it reads back batch for batch.
        let encoded = encode_batches(schema, &batches, &ctx).unwrap();
        let (stored, _) = read_meta(&encoded.bytes, "the test table").unwrap();
        // Columns decoded on threads of their own give the table the one reader gives.
        let bytes = Bytes::from(encoded.bytes.to_vec());
        let read = |threads| {
            let (schema, batches) =
                read_all_unguarded(bytes.clone(), &stored, "t", threads).unwrap();
            concat(&schema, &batches, &stored).unwrap()
        };
        let (one, many) = (read(1), read(3));
        assert_eq!(one, many);
        assert_eq!(many.num_rows(), 5500);
        let back =
            Vec::<RecordBatch>::decode(Bytes::from(encoded.bytes.into_vec()), &stored).unwrap();
        assert_eq!(back, batches);
    }

    #[test]
    fn a_batch_of_another_schema_is_refused_by_name() {
        let batches = batches();
        let options = CodecOptions::default();
        let meta = meta();
        let ctx = EncodeCtx {
            meta: &meta,
            options: &options,
            mappable: true,
        };
        let other = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("x", Arrow::Int32, false)])),
            vec![Arc::new(Int32Array::from(vec![1]))],
        )
        .unwrap();
        let writer = TableWriter::new(Vec::new(), batches[0].schema(), &ctx).unwrap();
        let err = writer
            .write_all_and_finish(&[batches[0].clone(), other], 2)
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"x\""), "{err}");
    }
}
