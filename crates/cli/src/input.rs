//! Reading the input of `cacheness put`: a file (or standard input) as a table, an array, a JSON
//! document or bytes, chosen by `--as` or by the file's extension.

use std::io::{Cursor, Read, Seek};
use std::path::Path;

use cacheness::blocking::Cache;
use cacheness::deps::arrow::array::{RecordBatch, RecordBatchReader};
use cacheness::deps::arrow::datatypes::SchemaRef;
use cacheness::deps::arrow::error::ArrowError;
use cacheness::deps::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use cacheness::{Params, PutOptions};

use crate::{CliResult, npy, progress};

/// How `put` reads its input.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    /// By extension: .parquet, .csv, .jsonl/.ndjson (tables), .npy (arrays), .json (a JSON
    /// document); anything else, and standard input, as bytes.
    Auto,
    /// A Parquet file, cached as an Arrow table.
    Parquet,
    /// CSV with a header row (column types inferred from every row), cached as an Arrow table.
    Csv,
    /// JSON lines, one object per row (types inferred), cached as an Arrow table.
    Jsonl,
    /// A NumPy .npy file, cached as an n-d array (.b2nd).
    Npy,
    /// A JSON document, cached as JSON.
    Json,
    /// The bytes as they are.
    Bytes,
}

impl InputFormat {
    /// The format `auto` means for `path` (`None`: standard input).
    pub fn resolve(self, path: Option<&Path>) -> InputFormat {
        if self != InputFormat::Auto {
            return self;
        }
        let ext = path
            .and_then(|p| p.extension())
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("parquet" | "pq") => InputFormat::Parquet,
            Some("csv") => InputFormat::Csv,
            Some("jsonl" | "ndjson") => InputFormat::Jsonl,
            Some("npy") => InputFormat::Npy,
            Some("json") => InputFormat::Json,
            _ => InputFormat::Bytes,
        }
    }
}

/// Read all of `path` (`-`: standard input), with a byte progress bar on a terminal.
pub fn read_all(path: &Path) -> CliResult<Vec<u8>> {
    let what = path.display();
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut buf)
            .map_err(|e| format!("standard input: {e}"))?;
        return Ok(buf);
    }
    let file = std::fs::File::open(path).map_err(|e| format!("{what}: {e}"))?;
    let len = file.metadata().map_err(|e| format!("{what}: {e}"))?.len();
    let bar = progress::bytes(len, &format!("reading {what}"));
    let mut buf = Vec::new();
    usize::try_from(len)
        .ok()
        .and_then(|n| buf.try_reserve_exact(n).ok())
        .ok_or_else(|| format!("{what}: {len} bytes do not fit in memory"))?;
    bar.wrap_read(file)
        .read_to_end(&mut buf)
        .map_err(|e| format!("{what}: {e}"))?;
    bar.finish_and_clear();
    Ok(buf)
}

/// Cells a batch of a CSV import holds: the reader allocates every column's builder for a
/// whole batch, so a wide file gets fewer rows per batch (10,000 columns took 200 times the
/// file's size at 1,024 rows per batch).
const CELLS_PER_BATCH: usize = 1 << 20;

/// Rows per batch for a table of `columns` columns.
fn batch_rows(columns: usize) -> usize {
    (CELLS_PER_BATCH / columns.max(1)).clamp(1, 8192)
}

fn table_error(what: &str, kind: &str, e: impl std::fmt::Display) -> String {
    format!("{what}: cannot read it as {kind}: {e}")
}

/// Where a table is read from: a file (read as the batches are asked for) or bytes already in
/// memory (standard input, which cannot be read twice).
pub enum TableSource {
    /// A file on disk.
    File(std::fs::File),
    /// Bytes in memory.
    Memory(Vec<u8>),
}

/// A table being read: its schema, and its batches as they are read.
pub struct TableInput {
    /// The table's schema (inferred from every row for CSV and JSON lines).
    pub schema: SchemaRef,
    /// The batches, read one at a time.
    pub batches: Box<dyn Iterator<Item = Result<RecordBatch, ArrowError>> + Send>,
}

/// A reader of a table source, for the CSV and JSON readers (which rewind it after inferring
/// the schema).
trait Rewindable: Read + Seek + Send {}
impl<T: Read + Seek + Send> Rewindable for T {}

fn rewindable(source: TableSource) -> Box<dyn Rewindable> {
    match source {
        TableSource::File(f) => Box::new(std::io::BufReader::with_capacity(1 << 20, f)),
        TableSource::Memory(b) => Box::new(Cursor::new(b)),
    }
}

/// Open `source` as a table in `format` (Parquet, CSV or JSON lines): its schema, and its
/// batches to be read one at a time. `what` names the input in errors.
pub fn open_table(source: TableSource, format: InputFormat, what: &str) -> CliResult<TableInput> {
    use cacheness::deps::arrow::{csv, json};
    let input = match format {
        InputFormat::Parquet => {
            let kind = "Parquet";
            let fail = |e: &dyn std::fmt::Display| table_error(what, kind, e);
            // Before parquet-rs reserves memory for the lists its footer declares.
            let reader = match source {
                TableSource::File(file) => {
                    cacheness::codec::parquet_footer::check_file(&file).map_err(|e| fail(&e))?;
                    ParquetRecordBatchReaderBuilder::try_new(file).and_then(|b| b.build())
                }
                TableSource::Memory(bytes) => {
                    cacheness::codec::parquet_footer::check(&bytes).map_err(|e| fail(&e))?;
                    ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
                        .and_then(|b| b.build())
                }
            }
            .map_err(|e| fail(&e))?;
            TableInput {
                schema: reader.schema(),
                batches: Box::new(reader),
            }
        }
        InputFormat::Csv => {
            let kind = "CSV";
            let mut reader = rewindable(source);
            let format = csv::reader::Format::default().with_header(true);
            let (schema, _) = format
                .infer_schema(&mut reader, None)
                .map_err(|e| table_error(what, kind, e))?;
            reader.rewind()?;
            let schema = SchemaRef::new(schema);
            let columns = schema.fields().len();
            let batches = csv::ReaderBuilder::new(schema.clone())
                .with_format(format)
                .with_batch_size(batch_rows(columns))
                .build(reader)
                .map_err(|e| table_error(what, kind, e))?;
            TableInput {
                schema,
                batches: Box::new(batches),
            }
        }
        _ => {
            let kind = "JSON lines";
            let mut reader = rewindable(source);
            let (schema, _) =
                json::reader::infer_json_schema(&mut std::io::BufReader::new(&mut reader), None)
                    .map_err(|e| table_error(what, kind, e))?;
            reader.rewind()?;
            let schema = SchemaRef::new(schema);
            let batches = json::ReaderBuilder::new(schema.clone())
                .build(std::io::BufReader::new(reader))
                .map_err(|e| table_error(what, kind, e))?;
            TableInput {
                schema,
                batches: Box::new(batches),
            }
        }
    };
    let columns = input.schema.fields().len();
    if columns > MAX_COLUMNS {
        return Err(format!(
            "{what}: the table has {columns} columns; `cacheness put` imports at most \
             {MAX_COLUMNS} (writing Parquet takes ≈ 30 KiB of memory per column). Split it, or \
             cache it through the library, which has no limit"
        )
        .into());
    }
    Ok(input)
}

/// The most columns an imported table may have: writing Parquet costs memory per column
/// (≈ 12 KiB, ≈ 33 KiB with zstd) however few the rows, so a small file of a million
/// columns could otherwise take tens of gigabytes (`docs/CLI.md`).
pub const MAX_COLUMNS: usize = 16_384;

/// Decode `bytes` as a table in `format` (Parquet, CSV or JSON lines), all batches; `what`
/// names the input in errors.
pub fn table(bytes: Vec<u8>, format: InputFormat, what: &str) -> CliResult<Vec<RecordBatch>> {
    let input = open_table(TableSource::Memory(bytes), format, what)?;
    let kind = match format {
        InputFormat::Parquet => "Parquet",
        InputFormat::Csv => "CSV",
        _ => "JSON lines",
    };
    let batches: Vec<RecordBatch> = input
        .batches
        .collect::<Result<_, _>>()
        .map_err(|e| table_error(what, kind, e))?;
    if batches.is_empty() {
        return Err(format!("{what}: the table has no rows and no batches to cache").into());
    }
    Ok(batches)
}

/// Put a table read from `path` (`-`: standard input, read whole first) batch by batch: the
/// Parquet payload is written as the batches come (`cacheness::streamed`).
fn put_table(
    cache: &Cache,
    path: &Path,
    format: InputFormat,
    what: &str,
    params: &Params,
    opts: &PutOptions,
) -> CliResult<cacheness::CacheKey> {
    let source = if path == Path::new("-") {
        TableSource::Memory(read_all(path)?)
    } else {
        TableSource::File(std::fs::File::open(path).map_err(|e| format!("{what}: {e}"))?)
    };
    let spinner = progress::spinner(&format!("caching {what}"));
    let mut input = open_table(source, format, what)?;
    let key = cache
        .put_table_stream(input.schema, &mut input.batches, params, opts)
        .map_err(|e| match e {
            // The reader's own error, with the input named.
            cacheness::Error::Read { source, .. } => format!("{what}: cannot read it: {source}"),
            other => other.to_string(),
        })?;
    spinner.finish_and_clear();
    Ok(key)
}

/// Read `path` as `format` and put it under `params`; returns the key.
pub fn put(
    cache: &Cache,
    path: &Path,
    format: InputFormat,
    params: &Params,
    opts: &PutOptions,
) -> CliResult<cacheness::CacheKey> {
    let stdin = path == Path::new("-");
    let format = format.resolve((!stdin).then_some(path));
    let what = if stdin {
        "standard input".to_string()
    } else {
        path.display().to_string()
    };
    // Tables and bytes are read as they are stored: a large input never sits in memory whole.
    // Arrays and JSON documents are decoded whole.
    match format {
        InputFormat::Bytes | InputFormat::Auto => put_bytes(cache, path, &what, params, opts),
        InputFormat::Parquet | InputFormat::Csv | InputFormat::Jsonl => {
            put_table(cache, path, format, &what, params, opts)
        }
        InputFormat::Npy => {
            let bytes = read_all(path)?;
            let spinner = progress::spinner(&format!("caching {what}"));
            let key = npy::put(cache, &bytes, &what, params, opts)?;
            spinner.finish_and_clear();
            Ok(key)
        }
        InputFormat::Json => {
            let bytes = read_all(path)?;
            let value: serde_json::Value = serde_json::from_slice(&bytes)
                .map_err(|e| format!("{what}: not a JSON document: {e}"))?;
            Ok(cache.put_with(&value, params, opts)?)
        }
    }
}

/// Put the bytes of `path` (`-`: standard input) as they are read, with a byte progress bar
/// for a file on a terminal: in bounded memory however large (`cacheness::streamed`).
fn put_bytes(
    cache: &Cache,
    path: &Path,
    what: &str,
    params: &Params,
    opts: &PutOptions,
) -> CliResult<cacheness::CacheKey> {
    if path == Path::new("-") {
        let spinner = progress::spinner(&format!("caching {what}"));
        let key = cache.put_reader_with(&mut std::io::stdin().lock(), params, opts)?;
        spinner.finish_and_clear();
        return Ok(key);
    }
    let file = std::fs::File::open(path).map_err(|e| format!("{what}: {e}"))?;
    let len = file.metadata().map_err(|e| format!("{what}: {e}"))?.len();
    let bar = progress::bytes(len, &format!("caching {what}"));
    let key = cache.put_reader_with(&mut bar.wrap_read(file), params, opts)?;
    bar.finish_and_clear();
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Bytes that start like `prefix` often, then anything.
    fn input(prefix: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
        (
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..600),
        )
            .prop_map(move |(prefixed, tail)| match prefixed {
                true => [prefix, &tail].concat(),
                false => tail,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The importers of outside input (`cacheness put` of a CSV, JSON lines or Parquet
        /// file) answer arbitrary bytes with a table or an error, never a panic.
        #[test]
        fn table_importers_never_panic(
            csv in input(b"a,b,c\n1,2.5,x\n"),
            jsonl in input(b"{\"a\": 1, \"b\": [1, 2]}\n"),
            parquet in input(b"PAR1"),
        ) {
            let _ = table(csv, InputFormat::Csv, "fuzz.csv");
            let _ = table(jsonl, InputFormat::Jsonl, "fuzz.jsonl");
            let _ = table(parquet, InputFormat::Parquet, "fuzz.parquet");
        }
    }

    #[test]
    fn wide_tables_get_short_batches() {
        assert_eq!(batch_rows(6), 8192);
        assert_eq!(batch_rows(10_000), 104);
        assert_eq!(batch_rows(10_000_000), 1);
    }
}
