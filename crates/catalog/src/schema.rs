//! The Arrow schema of `cache_entries` and the conversion between catalog rows and batches.
//!
//! The fixed columns come first, then one nullable column per key parameter. A parameter column
//! takes its type from the first non-null value the catalog sees for that name; a later value of
//! another type is stored as NULL in that column (its true value stays in `params_json`).
//!
//! The typed columns are bounded ([`ColumnBounds`]), so that no put can grow the schema that
//! every later commit and scan carries: parameters past the bounds live in `params_json` only.

use std::collections::HashMap;
use std::sync::Arc;

use deltalake::arrow::array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Float64Array, Int64Array, RecordBatch,
    StringArray, TimestampMicrosecondArray,
};
use deltalake::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::error::{CatalogError, Result};
use crate::row::{CatalogRow, ColumnValue};

/// The names of the fixed catalog columns, in order: the names the key spec reserves
/// (`cacheness_format::keys::RESERVED_NAMES`), so no key parameter can take a column's name.
pub const FIXED_COLUMNS: [&str; 13] = cacheness_format::keys::RESERVED_NAMES;

fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// The fixed columns whose values are (nearly) all distinct: Parquet's dictionary encoding,
/// on by default, only costs time there (a commit of thousands of rows spent a fifth of its
/// Parquet writing interning them).
pub const DISTINCT_COLUMNS: [&str; 5] = [
    "cache_key",
    "path",
    "content_hash",
    "params_json",
    "signature",
];

/// The Parquet writer's settings for catalog data files: delta-rs's defaults (Snappy), without
/// dictionaries for [`DISTINCT_COLUMNS`].
pub fn writer_properties() -> deltalake::parquet::file::properties::WriterProperties {
    use deltalake::parquet::basic::Compression;
    use deltalake::parquet::file::properties::WriterProperties;
    use deltalake::parquet::schema::types::ColumnPath;
    DISTINCT_COLUMNS
        .iter()
        .fold(
            WriterProperties::builder()
                .set_created_by(format!("cacheness {}", env!("CARGO_PKG_VERSION")))
                .set_compression(Compression::SNAPPY),
            |props, column| props.set_column_dictionary_enabled(ColumnPath::from(*column), false),
        )
        .build()
}

/// The schema of an empty catalog: the fixed columns only.
pub fn base_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("cache_key", DataType::Utf8, false),
        Field::new("data_type", DataType::Utf8, false),
        Field::new("format", DataType::Utf8, false),
        Field::new("path", DataType::Utf8, false),
        Field::new("raw_bytes", DataType::Int64, false),
        Field::new("stored_bytes", DataType::Int64, false),
        Field::new("content_hash", DataType::Utf8, false),
        Field::new("created_at", timestamp_type(), false),
        Field::new("expires_at", timestamp_type(), true),
        Field::new("description", DataType::Utf8, true),
        Field::new("entry_name", DataType::Utf8, true),
        Field::new("params_json", DataType::Utf8, false),
        Field::new("signature", DataType::Utf8, true),
    ]))
}

/// The Arrow type a parameter column gets for a value.
pub fn column_type(value: &ColumnValue) -> DataType {
    match value {
        ColumnValue::Bool(_) => DataType::Boolean,
        ColumnValue::Int(_) => DataType::Int64,
        ColumnValue::Float(_) => DataType::Float64,
        ColumnValue::Str(_) => DataType::Utf8,
        ColumnValue::Bytes(_) => DataType::Binary,
        ColumnValue::Date(_) => DataType::Date32,
        ColumnValue::Timestamp(_) => timestamp_type(),
    }
}

/// The bounds on typed parameter columns (`docs/ARCHITECTURE.md#catalog`). Every catalog
/// column costs each later commit, checkpoint and scan, so one put with thousands of parameters
/// would slow the whole cache for good; past these bounds a parameter is kept in `params_json`
/// only, and its column (if any) holds NULL.
pub struct ColumnBounds;

impl ColumnBounds {
    /// At most this many parameter columns in a catalog.
    pub const MAX_COLUMNS: usize = 256;
    /// A row with more parameters than this adds no new columns (it still fills existing ones).
    pub const MAX_PARAMS_PER_ROW: usize = 64;
    /// A parameter name longer than this (in bytes) gets no column.
    pub const MAX_NAME_BYTES: usize = 64;
    /// A string or bytes value longer than this is NULL in its column.
    pub const MAX_VALUE_BYTES: usize = 1024;

    /// Whether `value` fits a typed column.
    pub fn value_fits(value: &ColumnValue) -> bool {
        match value {
            ColumnValue::Str(s) => s.len() <= Self::MAX_VALUE_BYTES,
            ColumnValue::Bytes(b) => b.len() <= Self::MAX_VALUE_BYTES,
            _ => true,
        }
    }
}

/// Delta stores timestamps without the zone name; compare parameter types modulo that.
fn same_type(a: &DataType, b: &DataType) -> bool {
    match (a, b) {
        (DataType::Timestamp(ua, _), DataType::Timestamp(ub, _)) => ua == ub,
        _ => a == b,
    }
}

/// The schema a batch of rows is written with: the table's current schema plus any nullable
/// fixed column it lacks (a catalog created before that column existed gains it) and a column
/// for every parameter name it does not have yet (typed from the first non-null value), within
/// the [`ColumnBounds`].
pub fn schema_for_rows(table_schema: &Schema, rows: &[&CatalogRow]) -> SchemaRef {
    let mut fields: Vec<Field> = table_schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    let mut known: HashMap<String, usize> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name().clone(), i))
        .collect();
    for field in base_schema().fields() {
        if field.is_nullable() && !known.contains_key(field.name()) {
            known.insert(field.name().clone(), fields.len());
            fields.push(field.as_ref().clone());
        }
    }
    let fixed = base_schema().fields().len();
    let mut param_columns = fields.len().saturating_sub(fixed);
    // Rows of one function share their parameter names: a row named like the last row whose
    // names all have columns adds nothing, and is not looked up name by name.
    let mut all_known: Option<&[(String, Option<ColumnValue>)]> = None;
    for row in rows {
        if row.params.len() > ColumnBounds::MAX_PARAMS_PER_ROW {
            continue;
        }
        let named_alike = all_known.is_some_and(|known_names| {
            known_names.len() == row.params.len()
                && known_names.iter().zip(&row.params).all(|(a, b)| a.0 == b.0)
        });
        if named_alike {
            continue;
        }
        let mut every_name_known = true;
        for (name, value) in &row.params {
            if known.contains_key(name) {
                continue;
            }
            if param_columns >= ColumnBounds::MAX_COLUMNS
                || name.len() > ColumnBounds::MAX_NAME_BYTES
            {
                every_name_known = false;
                continue;
            }
            match value.as_ref().filter(|v| ColumnBounds::value_fits(v)) {
                Some(v) => {
                    known.insert(name.clone(), fields.len());
                    fields.push(Field::new(name, column_type(v), true));
                    param_columns += 1;
                }
                None => every_name_known = false,
            }
        }
        if every_name_known {
            all_known = Some(&row.params);
        }
    }
    Arc::new(Schema::new(fields))
}

/// Build one Arrow batch of catalog rows in the given schema.
pub fn rows_to_batch(schema: &SchemaRef, rows: &[&CatalogRow], table: &str) -> Result<RecordBatch> {
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let name = field.name().as_str();
        let col: ArrayRef = match name {
            "cache_key" => Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| &r.cache_key),
            )),
            "data_type" => Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| &r.data_type),
            )),
            "format" => Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| &r.format),
            )),
            "path" => Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.path))),
            "raw_bytes" => Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|r| r.raw_bytes),
            )),
            "stored_bytes" => Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|r| r.stored_bytes),
            )),
            "content_hash" => Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| &r.content_hash),
            )),
            "created_at" => Arc::new(
                TimestampMicrosecondArray::from_iter_values(rows.iter().map(|r| r.created_at))
                    .with_timezone("UTC"),
            ),
            "expires_at" => Arc::new(
                TimestampMicrosecondArray::from(
                    rows.iter().map(|r| r.expires_at).collect::<Vec<_>>(),
                )
                .with_timezone("UTC"),
            ),
            "description" => Arc::new(StringArray::from(
                rows.iter()
                    .map(|r| r.description.as_deref())
                    .collect::<Vec<_>>(),
            )),
            "signature" => Arc::new(StringArray::from(
                rows.iter()
                    .map(|r| r.signature.as_deref())
                    .collect::<Vec<_>>(),
            )),
            "entry_name" => Arc::new(StringArray::from(
                rows.iter().map(|r| r.name.as_deref()).collect::<Vec<_>>(),
            )),
            "params_json" => Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| &r.params_json),
            )),
            _ => param_column(field.data_type(), name, rows, table)?,
        };
        columns.push(col);
    }
    RecordBatch::try_new(schema.clone(), columns).map_err(|source| CatalogError::Arrow {
        table: table.to_string(),
        source,
    })
}

fn param_value<'a>(row: &'a CatalogRow, name: &str) -> Option<&'a ColumnValue> {
    row.params
        .iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| v.as_ref())
        .filter(|v| ColumnBounds::value_fits(v))
}

fn param_column(dt: &DataType, name: &str, rows: &[&CatalogRow], table: &str) -> Result<ArrayRef> {
    let values = rows.iter().map(|r| param_value(r, name));
    Ok(match dt {
        DataType::Boolean => Arc::new(BooleanArray::from(
            values
                .map(|v| match v {
                    Some(ColumnValue::Bool(b)) => Some(*b),
                    _ => None,
                })
                .collect::<Vec<_>>(),
        )),
        DataType::Int64 => Arc::new(Int64Array::from(
            values
                .map(|v| match v {
                    Some(ColumnValue::Int(i)) => Some(*i),
                    _ => None,
                })
                .collect::<Vec<_>>(),
        )),
        DataType::Float64 => Arc::new(Float64Array::from(
            values
                .map(|v| match v {
                    Some(ColumnValue::Float(f)) => Some(*f),
                    _ => None,
                })
                .collect::<Vec<_>>(),
        )),
        DataType::Utf8 => Arc::new(StringArray::from(
            values
                .map(|v| match v {
                    Some(ColumnValue::Str(s)) => Some(s.as_str()),
                    _ => None,
                })
                .collect::<Vec<_>>(),
        )),
        DataType::Binary => Arc::new(BinaryArray::from(
            values
                .map(|v| match v {
                    Some(ColumnValue::Bytes(b)) => Some(b.as_slice()),
                    _ => None,
                })
                .collect::<Vec<_>>(),
        )),
        DataType::Date32 => Arc::new(Date32Array::from(
            values
                .map(|v| match v {
                    Some(ColumnValue::Date(d)) => Some(*d),
                    _ => None,
                })
                .collect::<Vec<_>>(),
        )),
        DataType::Timestamp(TimeUnit::Microsecond, tz) => {
            let a = TimestampMicrosecondArray::from(
                values
                    .map(|v| match v {
                        Some(ColumnValue::Timestamp(t)) => Some(*t),
                        _ => None,
                    })
                    .collect::<Vec<_>>(),
            );
            Arc::new(match tz {
                Some(tz) => a.with_timezone(tz.clone()),
                None => a,
            })
        }
        other => {
            // A column of a type we never create (added by another tool): write NULLs.
            if !same_type(other, &DataType::Null) {
                tracing::debug!(
                    column = name,
                    table,
                    "unknown parameter column type {other}; writing NULL"
                );
            }
            deltalake::arrow::array::new_null_array(other, rows.len())
        }
    })
}

/// A column of the batch as the expected Arrow type (scans may return views or dictionaries:
/// those are cast); errors name the column and `table`.
pub(crate) fn column(
    batch: &RecordBatch,
    name: &str,
    expected: &DataType,
    table: &str,
) -> Result<ArrayRef> {
    let err = |message: String| CatalogError::Column {
        table: table.to_string(),
        column: name.to_string(),
        message,
    };
    let array = batch
        .column_by_name(name)
        .ok_or_else(|| err("missing from the catalog".into()))?;
    if array.data_type() == expected {
        return Ok(array.clone());
    }
    deltalake::arrow::compute::cast(array, expected)
        .map_err(|e| err(format!("has type {}: {e}", array.data_type())))
}

/// Fixed column `i` as a `T` array, or `None` if the projection left it out.
fn projected<'a, T: 'static>(
    cols: &'a [Option<ArrayRef>],
    i: usize,
    table: &str,
) -> Result<Option<&'a T>> {
    cols[i]
        .as_ref()
        .map(|a| downcast::<T>(a, FIXED_COLUMNS[i], table))
        .transpose()
}

fn downcast<'a, T: 'static>(array: &'a ArrayRef, name: &str, table: &str) -> Result<&'a T> {
    array
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| CatalogError::Column {
            table: table.to_string(),
            column: name.to_string(),
            message: "has an unexpected type".into(),
        })
}

/// Which catalog columns a listing reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projection {
    /// Every fixed column: whole rows.
    Full,
    /// Only what totals need (`cache_key`, `raw_bytes`, `stored_bytes`, `created_at`,
    /// `expires_at`); the other string fields of the rows are left empty. Skipping the long
    /// strings (`params_json`, `path`, `content_hash`) makes a stats report a third of a listing.
    Sizes,
}

/// The columns of [`Projection::Sizes`].
const SIZE_COLUMNS: [&str; 5] = [
    "cache_key",
    "raw_bytes",
    "stored_bytes",
    "created_at",
    "expires_at",
];

impl Projection {
    /// The columns this projection reads.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Projection::Full => &FIXED_COLUMNS,
            Projection::Sizes => &SIZE_COLUMNS,
        }
    }
}

/// Convert a batch of the catalog table into rows (fixed columns only; parameter columns are
/// not read back, `params_json` holds them). Columns outside `projection` are left empty, and
/// so are nullable fixed columns the batch lacks (data files written before they existed).
pub fn batch_to_rows(
    batch: &RecordBatch,
    projection: Projection,
    table: &str,
) -> Result<Vec<CatalogRow>> {
    let base = base_schema();
    let read = |name: &str| -> Result<Option<ArrayRef>> {
        if !projection.columns().contains(&name) {
            return Ok(None);
        }
        let field = base.field_with_name(name).ok();
        if field.is_some_and(|f| f.is_nullable()) && batch.column_by_name(name).is_none() {
            return Ok(None);
        }
        let expected = field.map_or(DataType::Utf8, |f| f.data_type().clone());
        column(batch, name, &expected, table).map(Some)
    };
    let cols: Vec<Option<ArrayRef>> = FIXED_COLUMNS
        .iter()
        .map(|n| read(n))
        .collect::<Result<_>>()?;
    let strings = |i| projected::<StringArray>(&cols, i, table);
    let ints = |i| projected::<Int64Array>(&cols, i, table);
    let times = |i| projected::<TimestampMicrosecondArray>(&cols, i, table);
    let (key, data_type, format, path) = (strings(0)?, strings(1)?, strings(2)?, strings(3)?);
    let (raw, stored, hash) = (ints(4)?, ints(5)?, strings(6)?);
    let (created, expires) = (times(7)?, times(8)?);
    let (description, name, params) = (strings(9)?, strings(10)?, strings(11)?);
    let signature = strings(12)?;
    let text = |a: Option<&StringArray>, i: usize| {
        a.filter(|a| !a.is_null(i))
            .map(|a| a.value(i).to_string())
            .unwrap_or_default()
    };
    let opt_text = |a: Option<&StringArray>, i: usize| {
        a.filter(|a| !a.is_null(i)).map(|a| a.value(i).to_string())
    };
    let int = |a: Option<&Int64Array>, i: usize| a.filter(|a| !a.is_null(i)).map(|a| a.value(i));
    let time = |a: Option<&TimestampMicrosecondArray>, i: usize| {
        a.filter(|a| !a.is_null(i)).map(|a| a.value(i))
    };
    Ok((0..batch.num_rows())
        .map(|i| CatalogRow {
            cache_key: text(key, i),
            data_type: text(data_type, i),
            format: text(format, i),
            path: text(path, i),
            raw_bytes: int(raw, i).unwrap_or(0),
            stored_bytes: int(stored, i).unwrap_or(0),
            content_hash: text(hash, i),
            created_at: time(created, i).unwrap_or(0),
            expires_at: time(expires, i),
            description: opt_text(description, i),
            params_json: text(params, i),
            params: Vec::new(),
            name: opt_text(name, i),
            signature: opt_text(signature, i),
        })
        .collect())
}

/// Whether a table column can hold a value (used to report type conflicts).
pub fn accepts(dt: &DataType, value: &ColumnValue) -> bool {
    same_type(dt, &column_type(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, name: Option<&str>) -> CatalogRow {
        CatalogRow {
            cache_key: key.into(),
            data_type: "arrow_table".into(),
            format: "parquet".into(),
            path: format!("blobs/{key}.parquet"),
            raw_bytes: 10,
            stored_bytes: 20,
            content_hash: "0".repeat(32),
            created_at: 5,
            expires_at: None,
            description: None,
            params_json: "{}".into(),
            params: vec![("model".into(), Some(ColumnValue::Str("x".into())))],
            name: name.map(str::to_string),
            signature: Some(format!("cnsig1:{key}")),
        }
    }

    fn with_params(key: &str, params: Vec<(String, Option<ColumnValue>)>) -> CatalogRow {
        CatalogRow {
            params,
            ..row(key, None)
        }
    }

    fn param_names(schema: &Schema) -> Vec<String> {
        schema.fields()[FIXED_COLUMNS.len()..]
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    #[test]
    fn typed_parameter_columns_are_bounded() {
        let int = |i: i64| Some(ColumnValue::Int(i));
        // One row with 10,000 parameters adds no column at all.
        let wide = with_params(
            "w",
            (0..10_000).map(|i| (format!("p{i}"), int(i))).collect(),
        );
        let schema = schema_for_rows(&base_schema(), &[&wide]);
        assert!(param_names(&schema).is_empty());
        // It still fills the columns that exist.
        let narrow = with_params("n", vec![("p7".into(), int(7))]);
        let schema = schema_for_rows(&base_schema(), &[&narrow]);
        let batch = rows_to_batch(&schema, &[&wide, &narrow], "t").unwrap();
        let p7 = batch.column_by_name("p7").unwrap();
        let p7 = p7.as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!((p7.value(0), p7.value(1)), (7, 7));
        // Many rows of new names stop at MAX_COLUMNS.
        let rows: Vec<CatalogRow> = (0..1000)
            .map(|i| with_params(&format!("r{i}"), vec![(format!("q{i}"), int(i))]))
            .collect();
        let refs: Vec<&CatalogRow> = rows.iter().collect();
        let schema = schema_for_rows(&base_schema(), &refs);
        assert_eq!(param_names(&schema).len(), ColumnBounds::MAX_COLUMNS);
        let more = with_params("m", vec![("late".into(), int(1))]);
        assert_eq!(
            schema_for_rows(&schema, &[&more]).fields().len(),
            schema.fields().len()
        );
        // Long names get no column; long values are NULL in theirs.
        let long_name = "n".repeat(ColumnBounds::MAX_NAME_BYTES + 1);
        let big = "v".repeat(ColumnBounds::MAX_VALUE_BYTES + 1);
        let first = with_params(
            "a",
            vec![
                (long_name.clone(), int(1)),
                ("text".into(), Some(ColumnValue::Str(big.clone()))),
            ],
        );
        let schema = schema_for_rows(&base_schema(), &[&first]);
        assert!(
            param_names(&schema).is_empty(),
            "{:?}",
            param_names(&schema)
        );
        let small = with_params(
            "b",
            vec![("text".into(), Some(ColumnValue::Str("s".into())))],
        );
        let schema = schema_for_rows(&base_schema(), &[&first, &small]);
        assert_eq!(param_names(&schema), ["text"]);
        let batch = rows_to_batch(&schema, &[&first, &small], "t").unwrap();
        let text = batch.column_by_name("text").unwrap();
        let text = text.as_any().downcast_ref::<StringArray>().unwrap();
        assert!(text.is_null(0));
        assert_eq!(text.value(1), "s");
    }

    #[test]
    fn a_row_named_like_the_one_before_still_adds_the_columns_that_one_could_not() {
        let int = |i: i64| Some(ColumnValue::Int(i));
        let params = |a: Option<ColumnValue>, b: Option<ColumnValue>| {
            vec![("a".to_string(), a), ("b".to_string(), b)]
        };
        // The first row's `b` is NULL, so its type is the second row's; the third row's
        // names are all known and it adds nothing.
        let rows = [
            with_params("r1", params(int(1), None)),
            with_params("r2", params(int(2), Some(ColumnValue::Str("x".into())))),
            with_params("r3", params(int(3), int(4))),
        ];
        let refs: Vec<&CatalogRow> = rows.iter().collect();
        let schema = schema_for_rows(&base_schema(), &refs);
        assert_eq!(param_names(&schema), ["a", "b"]);
        let b = schema.field_with_name("b").unwrap();
        assert_eq!(b.data_type(), &DataType::Utf8);
        // So does a value too long for a column the first time.
        let big = Some(ColumnValue::Str(
            "v".repeat(ColumnBounds::MAX_VALUE_BYTES + 1),
        ));
        let rows = [
            with_params("r1", params(int(1), big)),
            with_params("r2", params(int(2), int(2))),
        ];
        let refs: Vec<&CatalogRow> = rows.iter().collect();
        let schema = schema_for_rows(&base_schema(), &refs);
        assert_eq!(param_names(&schema), ["a", "b"]);
    }

    #[test]
    fn entry_names_round_trip_through_a_batch() {
        let rows = [row("a", Some("train")), row("b", None)];
        let refs: Vec<&CatalogRow> = rows.iter().collect();
        let schema = schema_for_rows(&base_schema(), &refs);
        let batch = rows_to_batch(&schema, &refs, "t").unwrap();
        let back = batch_to_rows(&batch, Projection::Full, "t").unwrap();
        assert_eq!(back[0].name.as_deref(), Some("train"));
        assert_eq!(back[1].name, None);
        assert_eq!(back[0].cache_key, "a");
        assert_eq!(back[0].params_json, "{}");
    }

    #[test]
    fn a_catalog_without_a_newer_fixed_column_gains_it_and_reads_as_empty() {
        let legacy = Schema::new(
            base_schema()
                .fields()
                .iter()
                .filter(|f| f.name() != "entry_name")
                .cloned()
                .collect::<Vec<_>>(),
        );
        let rows = [row("a", Some("train"))];
        let refs: Vec<&CatalogRow> = rows.iter().collect();
        let schema = schema_for_rows(&legacy, &refs);
        assert!(schema.field_with_name("entry_name").unwrap().is_nullable());
        assert!(schema.field_with_name("model").is_ok());

        // A data file written before the column existed: the rows read with no name.
        let old_batch = rows_to_batch(&Arc::new(legacy), &refs, "t").unwrap();
        let back = batch_to_rows(&old_batch, Projection::Full, "t").unwrap();
        assert_eq!(back[0].name, None);
        assert_eq!(back[0].cache_key, "a");

        // A missing required column is still an error naming it.
        let no_key = old_batch.project(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]).unwrap();
        let err = batch_to_rows(&no_key, Projection::Full, "t").unwrap_err();
        assert!(err.to_string().contains("cache_key"), "{err}");
    }
}
