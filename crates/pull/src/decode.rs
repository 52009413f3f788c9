//! A source's answer, as bytes, read into the table's schema: CSV with a header, JSON lines, a
//! JSON array of objects, Parquet, or Arrow IPC (stream or file). Columns are matched by name;
//! a value that does not fit its column is an error naming the format and the reason.

use std::io::Cursor;
use std::sync::Arc;

use cacheness_format::Invalid;

use deltalake::arrow::array::RecordBatch;
use deltalake::arrow::compute::concat_batches;
use deltalake::arrow::datatypes::SchemaRef;
use deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// The format of a source's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CSV with a header row.
    Csv,
    /// One JSON object per line.
    JsonLines,
    /// One JSON array of objects.
    JsonArray,
    /// A Parquet file.
    Parquet,
    /// Arrow IPC, stream or file.
    ArrowIpc,
}

impl std::str::FromStr for Format {
    type Err = Invalid;

    fn from_str(s: &str) -> Result<Self, Invalid> {
        Ok(match s {
            "csv" => Format::Csv,
            "jsonl" | "ndjson" | "json-lines" => Format::JsonLines,
            "json" => Format::JsonArray,
            "parquet" => Format::Parquet,
            "arrow" | "ipc" => Format::ArrowIpc,
            other => {
                return Err(
                    format!("unknown format {other:?} (csv, jsonl, json, parquet, arrow)").into(),
                );
            }
        })
    }
}

/// Read `bytes` in `format` as rows of `schema` (one batch; an empty answer is an empty batch).
pub fn decode(bytes: Vec<u8>, format: Format, schema: &SchemaRef) -> Result<RecordBatch, Invalid> {
    use deltalake::arrow::{csv, ipc, json};
    let fail =
        |kind: &str, e: &dyn std::fmt::Display| format!("not {kind} of the table's columns: {e}");
    let batches: Vec<RecordBatch> = match format {
        Format::Csv => csv::ReaderBuilder::new(schema.clone())
            .with_header(true)
            .build(Cursor::new(bytes))
            .and_then(|r| r.collect::<Result<_, _>>())
            .map_err(|e| fail("CSV", &e))?,
        Format::JsonLines => json::ReaderBuilder::new(schema.clone())
            .build(Cursor::new(bytes))
            .and_then(|r| r.collect::<Result<_, _>>())
            .map_err(|e| fail("JSON lines", &e))?,
        Format::JsonArray => {
            let rows: Vec<serde_json::Value> =
                serde_json::from_slice(&bytes).map_err(|e| fail("a JSON array", &e))?;
            let mut decoder = json::ReaderBuilder::new(schema.clone())
                .build_decoder()
                .map_err(|e| fail("a JSON array", &e))?;
            decoder
                .serialize(&rows)
                .map_err(|e| fail("a JSON array", &e))?;
            decoder
                .flush()
                .map_err(|e| fail("a JSON array", &e))?
                .into_iter()
                .collect()
        }
        Format::Parquet => ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
            .and_then(|b| b.build())
            .map_err(|e| fail("Parquet", &e))?
            .collect::<Result<_, _>>()
            .map_err(|e| fail("Parquet", &e))?,
        Format::ArrowIpc => {
            let stream = ipc::reader::StreamReader::try_new(Cursor::new(bytes.clone()), None)
                .and_then(|r| r.collect::<Result<Vec<_>, _>>());
            match stream {
                Ok(b) => b,
                Err(_) => ipc::reader::FileReader::try_new(Cursor::new(bytes), None)
                    .and_then(|r| r.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| fail("Arrow IPC", &e))?,
            }
        }
    };
    rows_of(&batches, schema)
}

/// Batches (a source's answer in any column order and compatible types) as one batch of
/// `schema`'s columns: each column by name, cast to its type.
pub fn rows_of(batches: &[RecordBatch], schema: &SchemaRef) -> Result<RecordBatch, Invalid> {
    let batches = batches
        .iter()
        .map(|b| conform(b, schema))
        .collect::<Result<Vec<_>, _>>()?;
    concat_batches(schema, &batches).map_err(|e| Invalid(e.to_string()))
}

/// A batch with `schema`'s columns, by name, cast to their types (self-describing formats
/// may carry other column orders or narrower types).
pub(crate) fn conform(b: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, Invalid> {
    if b.schema().fields() == schema.fields() {
        return Ok(b.clone());
    }
    let columns = schema
        .fields()
        .iter()
        .map(|f| {
            let c = b
                .column_by_name(f.name())
                .ok_or_else(|| Invalid(format!("the answer has no column {:?}", f.name())))?;
            deltalake::arrow::compute::cast(c, f.data_type())
                .map_err(|e| Invalid(format!("column {:?}: {e}", f.name())))
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(Arc::clone(schema), columns).map_err(|e| Invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use deltalake::arrow::array::{AsArray, Float64Array, Int64Array, StringArray};
    use deltalake::arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema};

    use super::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("symbol", DataType::Utf8, false),
            Field::new("day", DataType::Int64, false),
            Field::new("price", DataType::Float64, true),
        ]))
    }

    fn expected() -> RecordBatch {
        RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(StringArray::from(vec!["A", "A"])),
                Arc::new(Int64Array::from(vec![1, 2])),
                Arc::new(Float64Array::from(vec![Some(1.5), None])),
            ],
        )
        .unwrap()
    }

    #[test]
    fn every_format_reads_into_the_schema() {
        let s = schema();
        let csv = b"symbol,day,price\nA,1,1.5\nA,2,\n".to_vec();
        assert_eq!(decode(csv, Format::Csv, &s).unwrap(), expected());
        let jsonl = b"{\"symbol\":\"A\",\"day\":1,\"price\":1.5}\n{\"symbol\":\"A\",\"day\":2}\n";
        assert_eq!(
            decode(jsonl.to_vec(), Format::JsonLines, &s).unwrap(),
            expected()
        );
        let json = br#"[{"day":1,"symbol":"A","price":1.5},{"symbol":"A","day":2,"price":null}]"#;
        assert_eq!(
            decode(json.to_vec(), Format::JsonArray, &s).unwrap(),
            expected()
        );
        let mut ipc = Vec::new();
        {
            let mut w = deltalake::arrow::ipc::writer::StreamWriter::try_new(&mut ipc, &s).unwrap();
            w.write(&expected()).unwrap();
            w.finish().unwrap();
        }
        assert_eq!(decode(ipc, Format::ArrowIpc, &s).unwrap(), expected());
        let mut pq = Vec::new();
        {
            let mut w =
                deltalake::parquet::arrow::ArrowWriter::try_new(&mut pq, s.clone(), None).unwrap();
            w.write(&expected()).unwrap();
            w.close().unwrap();
        }
        assert_eq!(decode(pq, Format::Parquet, &s).unwrap(), expected());
        assert_eq!(
            decode(b"[]".to_vec(), Format::JsonArray, &s)
                .unwrap()
                .num_rows(),
            0
        );
        assert_eq!(
            decode(b"symbol,day,price\n".to_vec(), Format::Csv, &s)
                .unwrap()
                .num_rows(),
            0
        );
    }

    #[test]
    fn answers_that_do_not_fit_say_why() {
        let s = schema();
        let err = decode(b"symbol,day,price\nA,x,1\n".to_vec(), Format::Csv, &s).unwrap_err();
        assert!(err.0.contains("CSV"), "{err}");
        let err = decode(b"{\"symbol\":1}".to_vec(), Format::JsonArray, &s).unwrap_err();
        assert!(err.0.contains("JSON array"), "{err}");
        let err = decode(b"garbage".to_vec(), Format::Parquet, &s).unwrap_err();
        assert!(err.0.contains("Parquet"), "{err}");
        assert!("yaml".parse::<Format>().unwrap_err().0.contains("yaml"));
        // A self-describing answer with other column order and a narrower type is conformed.
        let narrow = Arc::new(Schema::new(vec![
            Field::new("day", DataType::Int32, false),
            Field::new("price", DataType::Float64, true),
            Field::new("symbol", DataType::Utf8, false),
        ]));
        let b = RecordBatch::try_new(
            narrow.clone(),
            vec![
                Arc::new(deltalake::arrow::array::Int32Array::from(vec![1])),
                Arc::new(Float64Array::from(vec![2.0])),
                Arc::new(StringArray::from(vec!["A"])),
            ],
        )
        .unwrap();
        let mut ipc = Vec::new();
        {
            let mut w =
                deltalake::arrow::ipc::writer::StreamWriter::try_new(&mut ipc, &narrow).unwrap();
            w.write(&b).unwrap();
            w.finish().unwrap();
        }
        let got = decode(ipc, Format::ArrowIpc, &s).unwrap();
        assert_eq!(got.column(1).as_primitive::<Int64Type>().value(0), 1);
        assert_eq!(got.column(2).as_primitive::<Float64Type>().value(0), 2.0);
    }
}
