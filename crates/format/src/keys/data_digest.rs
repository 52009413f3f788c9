//! Arrays and Arrow tables as key parameters: keyed by their type, shape and values
//! (spec: `docs/KEYS.md`, "Content digests").
//!
//! - **Array** (kind 3): XXH3-128 over `"cnarr1"`, `u64le(len) dtype-name` (`float64`, ...),
//!   `u64le(ndim)`, each dimension as `u64le`, then the elements in row-major order as their
//!   little-endian bytes (`bool` as one byte 0/1). Floats are keyed by their bits: `-0.0` and
//!   `0.0`, or two NaN payloads, are different arrays.
//! - **Table** (kind 4): XXH3-128 over `"cntab1"`, `u64le(columns)`, per column
//!   `u64le(len) name u64le(len) type nullable-byte` (the type as Arrow prints it, e.g.
//!   `Int64`, `Timestamp(µs, "UTC")`), `u64le(rows)`, then each column's values: a primitive
//!   column without nulls as its values' little-endian bytes; any other column as
//!   `u64le(len) row-bytes` per row in Arrow's row format, which encodes equal values equally
//!   (dictionary and view columns included). Batch boundaries and slicing do not matter; column
//!   names, order and types do, so equal values under other names or types never collide.
//!   Field and schema metadata are not part of it.

use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::datatypes::SchemaRef;
use arrow::row::{RowConverter, SortField};
use ndarray::{ArrayBase, Data, Dimension};
use xxhash_rust::xxh3::Xxh3;

use super::param::{KeyContext, KeyParam};
use super::value::{Digest, DigestKind, Value};
use crate::codec::array::{Element, as_bytes};
use crate::error::{Error, Result};

fn len_prefixed(h: &mut Xxh3, bytes: &[u8]) {
    h.update(&(bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

/// The digest of an array (see the module doc).
pub fn array_digest<S, D, T>(a: &ArrayBase<S, D>) -> Digest
where
    S: Data<Elem = T>,
    D: Dimension,
    T: Element,
{
    let mut h = Xxh3::new();
    h.update(b"cnarr1");
    len_prefixed(&mut h, T::NAME.as_bytes());
    h.update(&(a.ndim() as u64).to_le_bytes());
    for d in a.shape() {
        h.update(&(*d as u64).to_le_bytes());
    }
    match a.as_slice() {
        Some(s) => h.update(as_bytes(s)),
        None => {
            // Not contiguous in row-major order: feed it in blocks, in logical order.
            let mut block: Vec<T> = Vec::with_capacity(8192);
            for v in a.iter() {
                block.push(*v);
                if block.len() == block.capacity() {
                    h.update(as_bytes(&block));
                    block.clear();
                }
            }
            h.update(as_bytes(&block));
        }
    }
    Digest {
        kind: DigestKind::Array,
        hash: h.digest128(),
    }
}

/// The digest of a table given as batches of one schema (see the module doc). Fails, naming
/// the column, on a batch of another schema or a column Arrow's row format cannot encode.
pub fn table_digest(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Digest> {
    let mut h = Xxh3::new();
    h.update(b"cntab1");
    h.update(&(schema.fields().len() as u64).to_le_bytes());
    for f in schema.fields() {
        len_prefixed(&mut h, f.name().as_bytes());
        len_prefixed(&mut h, f.data_type().to_string().as_bytes());
        h.update(&[u8::from(f.is_nullable())]);
    }
    for b in batches {
        if b.schema().fields() != schema.fields() {
            return Err(Error::InvalidParamValue {
                what: "a table".into(),
                reason: format!(
                    "the batches of a table key parameter have different schemas: {} and {}",
                    schema,
                    b.schema()
                ),
            });
        }
    }
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    h.update(&(rows as u64).to_le_bytes());
    for (i, field) in schema.fields().iter().enumerate() {
        let columns: Vec<&ArrayRef> = batches.iter().map(|b| b.column(i)).collect();
        let raw = field.data_type().is_primitive() && columns.iter().all(|c| c.null_count() == 0);
        if raw {
            for c in &columns {
                let data = c.to_data();
                let width = field.data_type().primitive_width().unwrap_or(0);
                let values = &data.buffers()[0].as_slice()
                    [data.offset() * width..(data.offset() + data.len()) * width];
                h.update(values);
            }
        } else {
            let column_error = |e: arrow::error::ArrowError| Error::InvalidParamValue {
                what: format!("table column {}", field.name()),
                reason: e.to_string(),
            };
            let converter = RowConverter::new(vec![SortField::new(field.data_type().clone())])
                .map_err(column_error)?;
            for c in &columns {
                let encoded = converter
                    .convert_columns(&[ArrayRef::clone(c)])
                    .map_err(column_error)?;
                for row in encoded.iter() {
                    len_prefixed(&mut h, row.as_ref());
                }
            }
        }
    }
    Ok(Digest {
        kind: DigestKind::Table,
        hash: h.digest128(),
    })
}

/// An array is keyed by its element type, shape and elements.
impl<S, D, T> KeyParam for ArrayBase<S, D>
where
    S: Data<Elem = T>,
    D: Dimension,
    T: Element,
{
    fn key_value(&self, _: &KeyContext<'_>) -> Result<Value> {
        Ok(Value::Digest(array_digest(self)))
    }
}

/// A table is keyed by its schema and values.
impl KeyParam for RecordBatch {
    fn key_value(&self, _: &KeyContext<'_>) -> Result<Value> {
        table_digest(&self.schema(), std::slice::from_ref(self)).map(Value::Digest)
    }
}

/// Batches of one schema are keyed as one table (however they are split).
impl KeyParam for [RecordBatch] {
    fn key_value(&self, _: &KeyContext<'_>) -> Result<Value> {
        let Some(first) = self.first() else {
            return Err(Error::InvalidParamValue {
                what: "a table".into(),
                reason: "an empty list of batches has no schema to key".into(),
            });
        };
        table_digest(&first.schema(), self).map(Value::Digest)
    }
}

/// Batches of one schema are keyed as one table (however they are split).
impl KeyParam for Vec<RecordBatch> {
    fn key_value(&self, cx: &KeyContext<'_>) -> Result<Value> {
        self.as_slice().key_value(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{DictionaryArray, Float64Array, Int32Array, StringArray};
    use arrow::datatypes::{DataType, Field, Int32Type, Schema};

    use super::*;

    fn batch(names: [&str; 2], ints: Vec<Option<i32>>, texts: Vec<Option<&str>>) -> RecordBatch {
        RecordBatch::try_from_iter([
            (names[0], Arc::new(Int32Array::from(ints)) as ArrayRef),
            (names[1], Arc::new(StringArray::from(texts)) as ArrayRef),
        ])
        .unwrap()
    }

    fn digest(b: &RecordBatch) -> Digest {
        table_digest(&b.schema(), std::slice::from_ref(b)).unwrap()
    }

    #[test]
    fn tables_with_equal_values_but_other_names_or_types_differ() {
        let t = batch(["a", "b"], vec![Some(1), Some(2)], vec![Some("x"), None]);
        assert_eq!(
            digest(&t),
            digest(&batch(
                ["a", "b"],
                vec![Some(1), Some(2)],
                vec![Some("x"), None]
            ))
        );
        assert_ne!(
            digest(&t),
            digest(&batch(
                ["a", "c"],
                vec![Some(1), Some(2)],
                vec![Some("x"), None]
            ))
        );
        assert_ne!(
            digest(&t),
            digest(&batch(
                ["a", "b"],
                vec![Some(1), Some(3)],
                vec![Some("x"), None]
            ))
        );
        assert_ne!(
            digest(&t),
            digest(&batch(
                ["a", "b"],
                vec![Some(1), Some(2)],
                vec![Some("x"), Some("")]
            )),
            "null and empty differ"
        );
        let floats = RecordBatch::try_from_iter([
            (
                "a",
                Arc::new(Float64Array::from(vec![1.0, 2.0])) as ArrayRef,
            ),
            (
                "b",
                Arc::new(StringArray::from(vec![Some("x"), None])) as ArrayRef,
            ),
        ])
        .unwrap();
        assert_ne!(digest(&t), digest(&floats), "same numbers, other type");
    }

    #[test]
    fn batch_boundaries_slices_and_nulls_in_some_batches_do_not_matter() {
        let whole = batch(
            ["a", "b"],
            vec![Some(1), Some(2), None, Some(4)],
            vec![Some("w"), Some("x"), Some("y"), Some("z")],
        );
        let parts = [whole.slice(0, 2), whole.slice(2, 2)];
        let split = table_digest(&whole.schema(), &parts).unwrap();
        assert_eq!(digest(&whole), split);
        // A slice keys as a copy of its rows.
        let copy = batch(["a", "b"], vec![None, Some(4)], vec![Some("y"), Some("z")]);
        assert_eq!(digest(&whole.slice(2, 2)), digest(&copy));
    }

    #[test]
    fn batches_of_two_schemas_or_none_are_errors_saying_so() {
        let h = crate::keys::ContentHasher::in_memory();
        let cx = KeyContext::new(&h);
        let a = batch(["a", "b"], vec![Some(1)], vec![Some("x")]);
        let b = batch(["a", "c"], vec![Some(1)], vec![Some("x")]);
        let err = vec![a, b].key_value(&cx).unwrap_err();
        assert!(err.to_string().contains("different schemas"), "{err}");
        let err = Vec::<RecordBatch>::new().key_value(&cx).unwrap_err();
        assert!(err.to_string().contains("no schema"), "{err}");
    }

    #[test]
    fn dictionary_columns_key_by_value() {
        let schema = Arc::new(Schema::new(vec![Field::new(
            "d",
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            true,
        )]));
        let one: DictionaryArray<Int32Type> = vec!["a", "b", "a"].into_iter().collect();
        let other = DictionaryArray::<Int32Type>::try_new(
            Int32Array::from(vec![1, 0, 1]),
            Arc::new(StringArray::from(vec!["b", "a"])),
        )
        .unwrap();
        let d = |a: DictionaryArray<Int32Type>| {
            let b = RecordBatch::try_new(schema.clone(), vec![Arc::new(a)]).unwrap();
            digest(&b)
        };
        assert_eq!(d(one), d(other));
    }

    #[test]
    fn arrays_key_by_type_shape_and_elements_in_logical_order() {
        let a = ndarray::Array2::<f64>::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f64);
        let t = a.t().to_owned();
        assert_ne!(array_digest(&a), array_digest(&t), "shape is part of it");
        // A transposed view and its standard-layout copy key the same.
        assert_eq!(array_digest(&a.t()), array_digest(&t));
        let flat = ndarray::Array1::from_iter((0..12).map(f64::from));
        assert_ne!(array_digest(&a), array_digest(&flat));
        let ints = a.mapv(|v| v as i64);
        assert_ne!(
            array_digest(&a),
            array_digest(&ints),
            "element type is part of it"
        );
        // The spec, by hand, for the 3x4 array.
        let mut h = Xxh3::new();
        h.update(b"cnarr1");
        h.update(&7u64.to_le_bytes());
        h.update(b"float64");
        h.update(&2u64.to_le_bytes());
        h.update(&3u64.to_le_bytes());
        h.update(&4u64.to_le_bytes());
        for v in 0..12 {
            h.update(&f64::from(v).to_le_bytes());
        }
        assert_eq!(array_digest(&a).hash, h.digest128());
    }
}
