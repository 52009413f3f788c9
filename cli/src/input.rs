//! Reading the input of `cacheness put`: a file (or standard input) as a table, an array, a JSON
//! document or bytes, chosen by `--as` or by the file's extension.

use std::io::{Cursor, Read, Seek};
use std::path::Path;

use cacheness::blocking::Cache;
use cacheness::deps::arrow::array::RecordBatch;
use cacheness::deps::arrow::datatypes::SchemaRef;
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

/// Decode `bytes` as a table in `format` (Parquet, CSV or JSON lines); `what` names the input
/// in errors.
pub fn table(bytes: Vec<u8>, format: InputFormat, what: &str) -> CliResult<Vec<RecordBatch>> {
    use cacheness::deps::arrow::{csv, json};
    let batches: Vec<RecordBatch> = match format {
        InputFormat::Parquet => {
            let kind = "Parquet";
            // Before parquet-rs reserves memory for the lists its footer declares.
            cacheness::codec::parquet_footer::check(&bytes)
                .map_err(|e| table_error(what, kind, e))?;
            ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
                .and_then(|b| b.build())
                .map_err(|e| table_error(what, kind, e))?
                .collect::<Result<_, _>>()
                .map_err(|e| table_error(what, kind, e))?
        }
        InputFormat::Csv => {
            let kind = "CSV";
            let mut cursor = Cursor::new(bytes);
            let format = csv::reader::Format::default().with_header(true);
            let (schema, _) = format
                .infer_schema(&mut cursor, None)
                .map_err(|e| table_error(what, kind, e))?;
            cursor.rewind()?;
            let columns = schema.fields().len();
            csv::ReaderBuilder::new(SchemaRef::new(schema))
                .with_format(format)
                .with_batch_size(batch_rows(columns))
                .build(cursor)
                .map_err(|e| table_error(what, kind, e))?
                .collect::<Result<_, _>>()
                .map_err(|e| table_error(what, kind, e))?
        }
        _ => {
            let kind = "JSON lines";
            let mut cursor = Cursor::new(bytes);
            let (schema, _) = json::reader::infer_json_schema(&mut cursor, None)
                .map_err(|e| table_error(what, kind, e))?;
            cursor.rewind()?;
            json::ReaderBuilder::new(SchemaRef::new(schema))
                .build(cursor)
                .map_err(|e| table_error(what, kind, e))?
                .collect::<Result<_, _>>()
                .map_err(|e| table_error(what, kind, e))?
        }
    };
    if batches.is_empty() {
        return Err(format!("{what}: the table has no rows and no batches to cache").into());
    }
    Ok(batches)
}

/// Read `path` as `format` and put it under `params`; returns the key.
pub fn put(
    cache: &Cache,
    path: &Path,
    format: InputFormat,
    params: &Params,
    opts: &PutOptions,
) -> CliResult<String> {
    let stdin = path == Path::new("-");
    let format = format.resolve((!stdin).then_some(path));
    let what = if stdin {
        "standard input".to_string()
    } else {
        path.display().to_string()
    };
    let bytes = read_all(path)?;
    let spinner = progress::spinner(&format!("caching {what}"));
    let key = match format {
        InputFormat::Parquet | InputFormat::Csv | InputFormat::Jsonl => {
            cache.put_with(&table(bytes, format, &what)?, params, opts)?
        }
        InputFormat::Npy => npy::put(cache, &bytes, &what, params, opts)?,
        InputFormat::Json => {
            let value: serde_json::Value = serde_json::from_slice(&bytes)
                .map_err(|e| format!("{what}: not a JSON document: {e}"))?;
            cache.put_with(&value, params, opts)?
        }
        InputFormat::Bytes | InputFormat::Auto => cache.put_with(&bytes, params, opts)?,
    };
    spinner.finish_and_clear();
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
