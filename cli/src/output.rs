//! Writing query results: an aligned text table, CSV, JSON (one object per row) or Parquet.

use std::io::Write;

use cacheness::deps::arrow::array::RecordBatch;
use cacheness::deps::arrow::util::pretty::pretty_format_batches;

/// Output formats of `cacheness sql`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// An aligned text table (the default).
    Table,
    /// CSV with a header row.
    Csv,
    /// JSON: one object per row, one row per line.
    Json,
    /// A Parquet file (needs --output).
    Parquet,
}

/// Write `batches` in `format` to `out`.
pub fn write(
    batches: &[RecordBatch],
    format: Format,
    out: &mut dyn Write,
) -> Result<(), Box<dyn std::error::Error>> {
    match format {
        Format::Table => {
            writeln!(out, "{}", pretty_format_batches(batches)?)?;
        }
        Format::Csv => {
            let mut w = cacheness::deps::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(out);
            for b in batches {
                w.write(b)?;
            }
        }
        Format::Json => {
            let mut w = cacheness::deps::arrow::json::LineDelimitedWriter::new(out);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
        Format::Parquet => {
            let Some(first) = batches.first() else {
                return Err("the query returned no batches to write as Parquet".into());
            };
            let mut buf = Vec::new();
            let mut w = cacheness::deps::parquet::arrow::ArrowWriter::try_new(
                &mut buf,
                first.schema(),
                None,
            )?;
            for b in batches {
                w.write(b)?;
            }
            w.close()?;
            out.write_all(&buf)?;
        }
    }
    Ok(())
}
