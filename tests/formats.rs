//! Every payload format round-trips exactly; wrong-type gets are clear errors.

use crate::common;

use std::sync::Arc;

use cacheness::deps::arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int32Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use cacheness::deps::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use cacheness::deps::ndarray::{
    Array, Array0, Array1, Array2, Array3, ArrayD, CowArray, Ix2, IxDyn,
};
use cacheness::{Error, FormatError, Serde, blocking::Cache, params};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

fn table(n: usize, offset: i32) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int32, false),
        Field::new("x", DataType::Float64, true),
        Field::new("name", DataType::Utf8, true),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("flag", DataType::Boolean, true),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from_iter_values(
            (0..n as i32).map(|i| i + offset),
        )),
        Arc::new(Float64Array::from_iter(
            (0..n).map(|i| (i % 7 != 0).then_some(i as f64 * 0.5)),
        )),
        Arc::new(StringArray::from_iter(
            (0..n).map(|i| (i % 5 != 0).then(|| format!("row-{i}"))),
        )),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values((0..n as i64).map(|i| i * 1_000))
                .with_timezone("UTC"),
        ),
        Arc::new(BooleanArray::from_iter(
            (0..n).map(|i| (i % 3 != 0).then_some(i % 2 == 0)),
        )),
    ];
    RecordBatch::try_new(schema, cols).unwrap()
}

#[test]
fn tables_round_trip_batch_for_batch() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let one = table(1000, 0);
    cache.put(&one, &params!(t = "one")).unwrap();
    assert_eq!(
        cache.get::<RecordBatch>(&params!(t = "one")).unwrap(),
        Some(one.clone())
    );

    let many = vec![table(10, 0), table(0, 10), table(2500, 10)];
    cache.put(&many, &params!(t = "many")).unwrap();
    let back: Vec<RecordBatch> = cache.get(&params!(t = "many")).unwrap().unwrap();
    assert_eq!(back, many);
    // As one batch: the concatenation.
    let concat: RecordBatch = cache.get(&params!(t = "many")).unwrap().unwrap();
    assert_eq!(concat.num_rows(), 2510);

    let empty = table(0, 0);
    cache.put(&empty, &params!(t = "empty")).unwrap();
    assert_eq!(
        cache.get::<RecordBatch>(&params!(t = "empty")).unwrap(),
        Some(empty)
    );

    let err = cache
        .put(&Vec::<RecordBatch>::new(), &params!(t = "none"))
        .unwrap_err();
    assert!(err.to_string().contains("at least one batch"), "{err}");
}

#[test]
fn parquet_payload_is_plain_parquet_with_our_metadata() {
    use cacheness::deps::arrow as _;
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let key = cache.put(&table(100, 0), &params!(t = "pq")).unwrap();
    let path = dir
        .path()
        .join(format!("blobs/{}/{key}.parquet", &key[..2]));
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..4], b"PAR1");
    assert_eq!(&bytes[bytes.len() - 4..], b"PAR1");
    let schema = cacheness::codec::table::schema_of(bytes.into(), "test").unwrap();
    assert_eq!(schema.fields().len(), 5);
}

fn check_array<T, D>(cache: &Cache, a: Array<T, D>, name: &str)
where
    T: cacheness::Element + PartialEq + std::fmt::Debug,
    D: cacheness::deps::ndarray::Dimension,
{
    let p = params!(array = name);
    cache.put(&a, &p).unwrap();
    let back: Array<T, D> = cache
        .get(&p)
        .unwrap()
        .unwrap_or_else(|| panic!("{name} missing"));
    assert_eq!(back.shape(), a.shape(), "{name}");
    assert_eq!(back, a, "{name}");
    // The mapped get: a view of the file, or decoded; the same values either way.
    let mapped = cache.get_array_mapped::<T>(&p).unwrap().unwrap();
    assert!(mapped.view() == a.view().into_dyn(), "{name}: mapped");
}

#[test]
fn arrays_of_every_dtype_and_shape_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    check_array(
        &cache,
        Array1::from_iter((0..100_000).map(|i| (i as f64).sin())),
        "f64",
    );
    check_array(
        &cache,
        Array1::from_iter((0..1000).map(|i| i as f32 * 0.25)),
        "f32",
    );
    check_array(
        &cache,
        Array2::from_shape_fn((30, 70), |(i, j)| (i * 70 + j) as i32),
        "i32_2d",
    );
    check_array(
        &cache,
        Array3::from_shape_fn((4, 5, 6), |(i, j, k)| (i + j + k) % 2 == 0),
        "bool_3d",
    );
    check_array(&cache, Array1::from_iter((0..300).map(|i| i as u8)), "u8");
    check_array(&cache, Array1::from_iter((0..300).map(|i| -i as i8)), "i8");
    check_array(&cache, Array1::from_iter((0..300).map(|i| i as u16)), "u16");
    check_array(&cache, Array1::from_iter((0..300).map(|i| i as i16)), "i16");
    check_array(
        &cache,
        Array1::from_iter((0..300).map(|i| u64::MAX - i)),
        "u64",
    );
    check_array(
        &cache,
        Array1::from_iter((0..300).map(|i| i64::MIN + i)),
        "i64",
    );
    check_array(&cache, Array1::from_iter((0..300).map(|i| i as u32)), "u32");
    check_array(&cache, Array0::from_elem((), 3.5f64), "zero_d");
    check_array(&cache, Array2::<f64>::zeros((0, 5)), "empty");
    check_array(&cache, Array1::<i32>::zeros(0), "empty_1d");
    check_array(
        &cache,
        ArrayD::<u8>::from_elem(IxDyn(&[2; 8]), 7),
        "eight_d",
    );
    check_array(&cache, Array1::from_elem(1, 42u16), "one_element");
    // Data that does not compress (stored as is, in one chunk written from the array where it
    // lies); several Blosc2 chunks (8 MiB each) and a partial last one: data that does
    // compress (LZ4 with the AVX2 shuffle), and a large array in another memory order.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut noise = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        f64::from_bits(x >> 2)
    };
    check_array(
        &cache,
        Array2::from_shape_simple_fn((600_000, 3), &mut noise),
        "f64_incompressible",
    );
    check_array(
        &cache,
        Array1::from_iter((0..3_000_000i32).map(|i| i / 100 % 999)),
        "i32_chunks_runs",
    );
    check_array(
        &cache,
        Array2::from_shape_fn((4, 700_000), |(i, j)| (i * 700_000 + j) as u32).reversed_axes(),
        "u32_chunks_transposed",
    );
    // A transposed (non-standard layout) array comes back with the same logical values.
    check_array(
        &cache,
        Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as i64).reversed_axes(),
        "transposed",
    );
    let err = cache
        .put(
            &ArrayD::<u8>::zeros(IxDyn(&[1; 9])),
            &params!(array = "nine"),
        )
        .unwrap_err();
    assert!(err.to_string().contains("at most 8 dimensions"), "{err}");
}

#[test]
fn borrowed_arrays_are_stored_as_the_owned_ones_and_read_back_owned() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let owned = Array2::from_shape_fn((30, 40), |(i, j)| (i * 100 + j) as f64);
    // A view in standard order (encoded where it lies) and a transposed one (not in standard
    // order: copied into it first).
    for (name, view) in [("view", owned.view()), ("transposed", owned.t())] {
        let p = params!(array = name);
        cache.put(&CowArray::from(view), &p).unwrap();
        let back: Array2<f64> = cache.get(&p).unwrap().unwrap();
        assert_eq!(back, view, "{name}");
        let again: CowArray<'_, f64, Ix2> = cache.get(&p).unwrap().unwrap();
        assert!(
            again.is_owned() && again == view,
            "{name}: a get returns it owned"
        );
    }
}

#[test]
fn a_binding_s_facts_are_kept_by_every_codec_and_by_touch() {
    use cacheness::codec::BINDING_INFO;
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let facts = serde_json::json!({"python": {"type": "tuple"}});
    let opts = cacheness::PutOptions {
        binding: Some(facts.clone()),
        ..Default::default()
    };
    let stored_facts = |p: &cacheness::Params| {
        let (info, bytes) = cache.payload(p).unwrap().unwrap();
        let (meta, _) = info.format.read_meta(&bytes, "test").unwrap();
        (meta.info.get(BINDING_INFO).cloned(), meta.info)
    };
    let object = params!(kind = "object");
    cache.put_with(&Serde(vec![1, 2]), &object, &opts).unwrap();
    let array = params!(kind = "array");
    cache
        .put_with(&Array1::from(vec![1.0f64, 2.0]), &array, &opts)
        .unwrap();
    let rows = params!(kind = "table");
    cache.put_with(&table(10, 0), &rows, &opts).unwrap();
    for p in [&object, &array, &rows] {
        let (kept, info) = stored_facts(p);
        assert_eq!(kept.as_ref(), Some(&facts), "{p:?}: {info}");
        assert!(cache.touch(p).unwrap());
        assert_eq!(
            stored_facts(p).0.as_ref(),
            Some(&facts),
            "{p:?} after a touch"
        );
    }
    // The codec's own details stay beside them, and a value without facts has none.
    assert_eq!(stored_facts(&array).1["dtype"], "float64");
    assert_eq!(stored_facts(&rows).1["rows"], 10);
    let plain = params!(kind = "plain");
    cache.put(&Serde(vec![1, 2]), &plain).unwrap();
    assert_eq!(
        stored_facts(&plain).1,
        serde_json::Value::Null,
        "unchanged format"
    );
    let back: Serde<Vec<i32>> = cache.get(&object).unwrap().unwrap();
    assert_eq!(
        back.0,
        [1, 2],
        "readers that do not know the facts read the value"
    );
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Record {
    name: String,
    values: Vec<f64>,
    nested: Option<Box<Record>>,
    tag: (u8, i64),
}

#[test]
fn wrong_type_gets_are_errors_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let p = params!(k = 1);
    let key = cache.put(&Serde(vec![1, 2, 3]), &p).unwrap();
    let err = cache.get::<Vec<u8>>(&p).unwrap_err();
    assert!(
        matches!(err, Error::Format(FormatError::WrongType { .. })),
        "{err}"
    );
    assert!(err.to_string().contains(key.as_str()));
    assert!(matches!(
        cache.get::<RecordBatch>(&p).unwrap_err(),
        Error::Format(FormatError::WrongType { .. })
    ));
    assert!(matches!(
        cache.get::<Array1<f64>>(&p).unwrap_err(),
        Error::Format(FormatError::WrongType { .. })
    ));
    assert!(matches!(
        cache.get::<Serde<Record>>(&p).unwrap_err(),
        Error::Format(FormatError::WrongType { .. })
    ));

    let a = params!(k = 2);
    cache.put(&Array1::from_vec(vec![1.0f64, 2.0]), &a).unwrap();
    assert!(matches!(
        cache.get::<Array1<i32>>(&a).unwrap_err(),
        Error::Format(FormatError::WrongType { .. })
    ));
    assert!(matches!(
        cache.get::<Array2<f64>>(&a).unwrap_err(),
        Error::Format(FormatError::WrongType { .. })
    ));
    assert!(cache.get::<ArrayD<f64>>(&a).unwrap().is_some());
    // Overwriting with another type replaces the entry.
    cache.put(&b"raw".to_vec(), &a).unwrap();
    assert_eq!(cache.get::<Vec<u8>>(&a).unwrap(), Some(b"raw".to_vec()));
    assert!(matches!(
        cache.get::<Array1<f64>>(&a).unwrap_err(),
        Error::Format(FormatError::WrongType { .. })
    ));
}

fn record() -> impl Strategy<Value = Record> {
    (
        ".{0,20}",
        proptest::collection::vec(any::<f64>(), 0..50),
        any::<u8>(),
        any::<i64>(),
    )
        .prop_map(|(name, values, a, b)| Record {
            name: name.clone(),
            values: values.clone(),
            nested: Some(Box::new(Record {
                name,
                values,
                nested: None,
                tag: (a, b),
            })),
            tag: (a, b),
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn objects_bytes_json_and_arrays_round_trip(
        r in record(),
        bytes in proptest::collection::vec(any::<u8>(), 0..5000),
        floats in proptest::collection::vec(any::<f64>(), 0..3000),
        ints in proptest::collection::vec(any::<i32>(), 1..3000),
        s in ".{0,40}",
    ) {
        let dir = tempfile::tempdir().unwrap();
        let cache = common::open_files_quiet(dir.path());
        cache.put(&Serde(r.clone()), &params!(t = "r")).unwrap();
        let back: Serde<Record> = cache.get(&params!(t = "r")).unwrap().unwrap();
        // NaN != NaN: compare bit patterns through MessagePack bytes.
        prop_assert_eq!(rmp_serde::to_vec(&back.0).unwrap(), rmp_serde::to_vec(&r).unwrap());
        cache.put(&bytes, &params!(t = "b")).unwrap();
        prop_assert_eq!(cache.get::<Vec<u8>>(&params!(t = "b")).unwrap(), Some(bytes));
        let json = serde_json::json!({"s": s, "n": ints.len(), "list": ints.iter().take(5).collect::<Vec<_>>()});
        cache.put(&json, &params!(t = "j")).unwrap();
        prop_assert_eq!(cache.get::<serde_json::Value>(&params!(t = "j")).unwrap(), Some(json));
        let fa = Array1::from_vec(floats.clone());
        cache.put(&fa, &params!(t = "f")).unwrap();
        let fb: Array1<f64> = cache.get(&params!(t = "f")).unwrap().unwrap();
        prop_assert!(fb.iter().zip(fa.iter()).all(|(x, y)| x.to_bits() == y.to_bits()) && fb.len() == fa.len());
        let cols = 3;
        let rows = ints.len() / cols;
        let ia = Array2::from_shape_vec((rows, cols), ints[..rows * cols].to_vec()).unwrap();
        cache.put(&ia, &params!(t = "i")).unwrap();
        prop_assert_eq!(cache.get::<Array2<i32>>(&params!(t = "i")).unwrap(), Some(ia));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn tables_round_trip(
        ints in proptest::collection::vec(proptest::option::of(any::<i64>()), 0..400),
        strings in proptest::collection::vec(proptest::option::of(".{0,8}"), 0..400),
        cuts in proptest::collection::vec(0usize..400, 0..4),
    ) {
        let n = ints.len().min(strings.len());
        let schema = Arc::new(Schema::new(vec![
            Field::new("i", DataType::Int64, true),
            Field::new("f", DataType::Float64, false),
            Field::new("s", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(schema, vec![
            Arc::new(cacheness::deps::arrow::array::Int64Array::from(ints[..n].to_vec())) as ArrayRef,
            Arc::new(Float64Array::from_iter_values(ints[..n].iter().map(|v| v.unwrap_or(0) as f64 / 3.0))),
            Arc::new(StringArray::from(strings[..n].to_vec())),
        ]).unwrap();
        // Split into batches at the given cuts (possibly empty batches).
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(n)).collect();
        cuts.sort_unstable();
        let mut batches = Vec::new();
        let mut start = 0;
        for c in cuts.into_iter().chain([n]) {
            batches.push(batch.slice(start, c - start));
            start = c;
        }
        let dir = tempfile::tempdir().unwrap();
        let cache = common::open_files_quiet(dir.path());
        cache.put(&batches, &params!(t = "prop")).unwrap();
        prop_assert_eq!(cache.get::<Vec<RecordBatch>>(&params!(t = "prop")).unwrap().unwrap(), batches);
        prop_assert_eq!(cache.get::<RecordBatch>(&params!(t = "prop")).unwrap().unwrap(), batch);
    }
}
