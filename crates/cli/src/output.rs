//! Writing query results: an aligned text table, CSV, JSON (one object per row) or Parquet.
//!
//! Text meant for a terminal (the table and CSV) shows control characters as escapes
//! ([`escape_controls`]), so a stored description cannot move the cursor, set the terminal's
//! title or hide text; JSON escapes them by its own rules and Parquet keeps every byte.

use std::borrow::Cow;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cacheness::deps::arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use cacheness::deps::arrow::compute::cast;
use cacheness::deps::arrow::datatypes::{DataType, Field, Schema};
use cacheness::deps::arrow::error::ArrowError;
use cacheness::deps::arrow::util::display::{ArrayFormatter, FormatOptions};
use cacheness::deps::arrow::util::pretty::pretty_format_batches;

/// Set when a write to standard output found its reader gone.
static PIPE_CLOSED: AtomicBool = AtomicBool::new(false);

/// Standard output, remembering a closed pipe: every command prints through this, so `main`
/// can tell "the reader left" (exit quietly) from a failure.
pub fn stdout() -> PipeAware<std::io::StdoutLock<'static>> {
    PipeAware(std::io::stdout().lock())
}

/// Whether a write to standard output found its reader gone.
pub fn pipe_closed() -> bool {
    PIPE_CLOSED.load(Ordering::Relaxed)
}

/// A writer that records a broken pipe in [`pipe_closed`].
pub struct PipeAware<W>(W);

impl<W: Write> PipeAware<W> {
    fn note<T>(result: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &result
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            PIPE_CLOSED.store(true, Ordering::Relaxed);
        }
        result
    }
}

impl<W: Write> Write for PipeAware<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Self::note(self.0.write(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Self::note(self.0.flush())
    }
}

/// Write a file whole or not at all: `write` fills a temporary file beside `path`, which
/// replaces `path` only once `write` succeeds. A get whose value fails a check halfway, or a
/// query that fails, leaves no partial file behind.
pub fn write_file_atomically(
    path: &std::path::Path,
    write: impl FnOnce(&mut dyn Write) -> Result<(), Box<dyn std::error::Error>>,
) -> Result<(), Box<dyn std::error::Error>> {
    let shown = path.display();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".cacheness-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| format!("{shown}: cannot create a temporary file beside it: {e}"))?;
    let mut out = std::io::BufWriter::new(tmp);
    write(&mut out)?;
    let tmp = out
        .into_inner()
        .map_err(|e| format!("{shown}: {}", e.error()))?;
    tmp.persist(path)
        .map_err(|e| format!("{shown}: {}", e.error))?;
    Ok(())
}

/// How `cacheness sql` and `cacheness history` write a query's answer.
#[derive(clap::Args, Debug)]
pub struct AnswerArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Write to this file instead of standard output (required for parquet).
    #[arg(long, short, required_if_eq("format", "parquet"))]
    pub output: Option<std::path::PathBuf>,
    /// The table format shows at most this many rows (0: all); the other formats write
    /// every row.
    #[arg(long, default_value_t = DEFAULT_TABLE_ROWS)]
    pub max_rows: usize,
}

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

/// The rows a table shows by default: a terminal is no place for more, and the table's
/// column widths need every row it shows in memory at once.
pub const DEFAULT_TABLE_ROWS: usize = 1000;

/// Write `batches` in `format` to `out`; a table shows at most `max_rows` rows (0: all) and
/// says on standard error how many it left out.
pub fn write(
    batches: &[RecordBatch],
    format: Format,
    max_rows: usize,
    out: &mut dyn Write,
) -> Result<(), Box<dyn std::error::Error>> {
    match format {
        Format::Table => {
            let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
            let limit = if max_rows == 0 { total } else { max_rows };
            let mut shown = Vec::new();
            let mut left = limit;
            for b in batches {
                if left == 0 && !shown.is_empty() {
                    break;
                }
                let part = b.slice(0, b.num_rows().min(left));
                left -= part.num_rows();
                shown.push(as_escaped_text(&part, |_| true)?);
            }
            writeln!(out, "{}", pretty_format_batches(&shown)?)?;
            if total > limit {
                eprintln!(
                    "showing the first {limit} of {total} rows (--max-rows 0 shows all; --format csv or json writes every row)"
                );
            }
        }
        Format::Csv => {
            let mut w = cacheness::deps::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(out);
            for b in batches {
                w.write(&as_escaped_text(b, is_text)?)?;
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

/// Whether a column of this type holds text.
fn is_text(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, values) => is_text(values),
        _ => false,
    }
}

/// `batch` with the columns `convert` picks rendered as text with control characters
/// escaped (nested values included: a list or struct is rendered whole); other columns, and
/// nulls, stay as they are.
fn as_escaped_text(
    batch: &RecordBatch,
    convert: impl Fn(&DataType) -> bool,
) -> Result<RecordBatch, ArrowError> {
    let options = FormatOptions::default();
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if !convert(field.data_type()) {
            fields.push(field.as_ref().clone());
            columns.push(column.clone());
            continue;
        }
        let text: StringArray = if is_text(field.data_type()) {
            let plain = cast(column, &DataType::Utf8)?;
            let plain = plain
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| ArrowError::CastError(format!("column {}", field.name())))?;
            plain.iter().map(|v| v.map(escape_controls)).collect()
        } else {
            let formatter = ArrayFormatter::try_new(column.as_ref(), &options)?;
            (0..column.len())
                .map(|i| {
                    (!column.is_null(i))
                        .then(|| formatter.value(i).to_string())
                        .map(|s| escape_controls(&s).into_owned())
                })
                .collect()
        };
        fields.push(Field::new(field.name(), DataType::Utf8, true));
        columns.push(Arc::new(text));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

/// Unicode's explicit bidirectional formatting characters, which reorder what a terminal
/// shows ("Trojan Source").
const BIDI_CONTROLS: [std::ops::RangeInclusive<char>; 2] =
    ['\u{202A}'..='\u{202E}', '\u{2066}'..='\u{2069}'];

fn needs_escape(c: char) -> bool {
    c.is_control() || BIDI_CONTROLS.iter().any(|r| r.contains(&c))
}

/// `s` with control characters (C0, DEL, C1) and bidirectional overrides written as Rust-style
/// escapes (`\n`, `\u{1b}`), so stored text cannot drive the terminal that shows it.
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if needs_escape(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_bidi_overrides_are_escaped() {
        assert_eq!(escape_controls("plain é ✓"), "plain é ✓");
        assert_eq!(
            escape_controls("\u{1b}]0;pwned\u{7}"),
            "\\u{1b}]0;pwned\\u{7}"
        );
        assert_eq!(escape_controls("a\nb\tc\r"), "a\\nb\\tc\\r");
        assert_eq!(escape_controls("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(escape_controls("x\u{202E}y"), "x\\u{202e}y");
    }
}
