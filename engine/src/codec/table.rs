//! Arrow tables as Parquet (`.parquet`): readable by pyarrow, DuckDB, Spark and Polars.
//!
//! Key-value metadata: `cacheness.meta` (the [`EntryMeta`] as JSON), then
//! `cacheness.content_hash` (the hash slot, see [`crate::seal`]) and, last,
//! `cacheness.signature` (the signature slot, [`crate::signing`]). The batch sizes of a
//! multi-batch table are kept in `meta.info.batches`, so a table comes back batch for batch.

use std::sync::Arc;

use bytes::Bytes;
use deltalake::arrow::array::RecordBatch;
use deltalake::arrow::compute::concat_batches;
use deltalake::arrow::datatypes::SchemaRef;
use deltalake::parquet::arrow::ArrowWriter;
use deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use deltalake::parquet::basic::{Compression, ZstdLevel};
use deltalake::parquet::file::metadata::{KeyValue, ParquetMetaDataReader};
use deltalake::parquet::file::properties::WriterProperties;

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

/// Encode batches (all of one schema) into a sealed Parquet file.
pub fn encode_batches(
    schema: SchemaRef,
    batches: &[RecordBatch],
    ctx: &EncodeCtx<'_>,
) -> Result<Encoded> {
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
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let raw_bytes: u64 = batches
        .iter()
        .map(|b| b.get_array_memory_size() as u64)
        .sum();
    let info = serde_json::json!({
        "rows": rows,
        "columns": schema.fields().len(),
        "batches": batches.iter().map(RecordBatch::num_rows).collect::<Vec<_>>(),
    });
    let mut meta = ctx.meta.clone();
    meta.raw_bytes = raw_bytes;
    meta.info = info.clone();
    let meta_json = serde_json::to_string(&meta).map_err(|e| encode_error(&meta, "metadata", e))?;
    let props = WriterProperties::builder()
        .set_compression(compression(ctx.options.parquet_compression))
        .set_key_value_metadata(Some(vec![
            KeyValue::new(META_KEY.to_string(), meta_json),
            KeyValue::new(
                HASH_KEY.to_string(),
                String::from_utf8_lossy(seal::PLACEHOLDER).into_owned(),
            ),
            KeyValue::new(
                SIGNATURE_KEY.to_string(),
                String::from_utf8_lossy(seal::SIGNATURE_PLACEHOLDER).into_owned(),
            ),
        ]))
        .build();
    let mut out = Vec::with_capacity(raw_bytes as usize / 2 + 4096);
    let mut writer = ArrowWriter::try_new(&mut out, schema, Some(props))
        .map_err(|e| encode_error(&meta, "Parquet", e))?;
    for batch in batches {
        writer
            .write(batch)
            .map_err(|e| encode_error(&meta, "Parquet", e))?;
    }
    writer
        .close()
        .map_err(|e| encode_error(&meta, "Parquet", e))?;
    let content_hash = seal::seal(&mut out, SlotAt::Back)
        .ok_or_else(|| Error::corrupt("Parquet payload", "hash slot missing after encoding"))?;
    Ok(Encoded {
        bytes: out,
        content_hash,
        raw_bytes,
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
pub(crate) fn footer_start(bytes: &[u8]) -> usize {
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
    unpanicked(&what, || read_all_unguarded(bytes, meta, &what))
}

fn read_all_unguarded(
    bytes: Bytes,
    meta: &EntryMeta,
    what: &str,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    super::parquet_footer::check(&bytes).map_err(|e| Error::corrupt(what, e))?;
    let rows = meta.info.get("rows").and_then(|r| r.as_u64()).unwrap_or(0) as usize;
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(|e| Error::corrupt(what, format!("Parquet: {e}")))?
        .with_batch_size(rows.max(1));
    // The reader merges the file's key-value metadata into the schema's; drop ours so the
    // schema comes back as it was put.
    let mut metadata = builder.schema().metadata().clone();
    metadata.retain(|k, _| ![META_KEY, HASH_KEY, SIGNATURE_KEY].contains(&k.as_str()));
    let schema = Arc::new(builder.schema().as_ref().clone().with_metadata(metadata));
    let reader = builder
        .build()
        .map_err(|e| Error::corrupt(what, format!("Parquet: {e}")))?;
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
