//! Key spec tests: golden vectors (a change to any key fails), and properties.

use std::collections::BTreeMap;

use cacheness::CacheKey;
use cacheness::keys::canonical::{decode_params, encode_value};
use cacheness::{Params, Value, params};
use proptest::prelude::*;

/// The vectors: a name, the params, and a human description of them (for docs/KEYS.md).
fn vectors() -> Vec<(&'static str, Params)> {
    let mut nested = BTreeMap::new();
    nested.insert("b".to_string(), Value::from(2));
    nested.insert(
        "a".to_string(),
        Value::List(vec![Value::from(1.5), Value::Null]),
    );
    vec![
        ("empty", Params::new()),
        ("string", params!(model = "xgboost")),
        ("int_one", params!(x = 1)),
        ("float_one", params!(x = 1.0)),
        ("string_one", params!(x = "1")),
        ("bool_true", params!(x = true)),
        ("null", params!(x = Value::Null)),
        ("neg_zero", params!(x = -0.0)),
        ("nan", params!(x = f64::NAN)),
        ("u64_max", params!(x = u64::MAX)),
        ("i64_min", params!(x = i64::MIN)),
        ("bytes", params!(x = vec![0u8, 1, 255])),
        ("date", params!(d = Value::Date(19_723))),
        (
            "timestamp",
            params!(t = Value::Timestamp(1_704_067_200_000_000)),
        ),
        ("unicode_nfc", params!(s = "caf\u{e9}")),
        ("unicode_nfd", params!(s = "cafe\u{301}")),
        ("list", params!(l = vec![1i64, 2, 3])),
        ("nested_map", params!(m = Value::Map(nested))),
        (
            "three_params",
            params!(model = "xgboost", epochs = 10, lr = 0.1),
        ),
        (
            "w1_style",
            params!(model = "resnet50", dataset = "imagenet", i = 42),
        ),
        ("file", content_params(false)),
        ("dir", content_params(true)),
        ("array", data_params(false)),
        ("table", data_params(true)),
    ]
}

/// A 2x3 `float64` array holding 0..6, or a table with columns `id` (Int64: 1, 2) and `name`
/// (nullable Utf8: "a", null), keyed by content.
fn data_params(table: bool) -> Params {
    use cacheness::deps::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
    use cacheness::keys::{ContentHasher, KeyContext};
    use std::sync::Arc;
    let hasher = ContentHasher::in_memory();
    let cx = KeyContext::new(&hasher);
    if table {
        let t = RecordBatch::try_from_iter([
            ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            (
                "name",
                Arc::new(StringArray::from(vec![Some("a"), None])) as ArrayRef,
            ),
        ])
        .unwrap();
        Params::new().with_param("data", &t, &cx).unwrap()
    } else {
        let a = ndarray::Array2::from_shape_fn((2, 3), |(i, j)| (i * 3 + j) as f64);
        Params::new().with_param("data", &a, &cx).unwrap()
    }
}

/// A file (`train.csv` holding `x,y\n1,2\n`) or a tree (that file plus `sub/b.bin` holding
/// bytes 0, 1, 2), keyed by content.
fn content_params(tree: bool) -> Params {
    use cacheness::keys::{ContentHasher, KeyContext};
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("train.csv"), b"x,y\n1,2\n").unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/b.bin"), [0u8, 1, 2]).unwrap();
    let hasher = ContentHasher::in_memory();
    let cx = KeyContext::new(&hasher);
    let path = if tree {
        dir.path().to_path_buf()
    } else {
        dir.path().join("train.csv")
    };
    Params::new().with_param("data", &path, &cx).unwrap()
}

#[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
struct Vector {
    name: String,
    params: serde_json::Value,
    canonical_hex: String,
    key: cacheness::CacheKey,
}

fn computed() -> Vec<Vector> {
    vectors()
        .into_iter()
        .map(|(name, p)| Vector {
            name: name.to_string(),
            params: p.to_json(),
            canonical_hex: cacheness::keys::hex(&p.canonical().unwrap()),
            key: p.key().unwrap(),
        })
        .collect()
}

#[test]
fn golden_key_vectors_are_stable() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/key_vectors.json");
    let now = computed();
    if std::env::var_os("CACHENESS_REGENERATE_GOLDEN").is_some() {
        std::fs::write(path, serde_json::to_string_pretty(&now).unwrap() + "\n").unwrap();
    }
    let golden: Vec<Vector> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(golden.len(), now.len(), "vector count changed");
    for (g, n) in golden.iter().zip(&now) {
        assert_eq!(
            g, n,
            "key vector {} changed: the key spec is published, keys must not change",
            g.name
        );
    }
}

#[test]
fn types_distinguish_keys_and_widths_do_not() {
    let keys: Vec<cacheness::CacheKey> = [
        params!(x = 1),
        params!(x = 1.0),
        params!(x = "1"),
        params!(x = true),
    ]
    .iter()
    .map(|p| p.key().unwrap())
    .collect();
    for i in 0..keys.len() {
        for j in i + 1..keys.len() {
            assert_ne!(keys[i], keys[j]);
        }
    }
    assert_eq!(
        params!(x = 1u8).key().unwrap(),
        params!(x = 1i64).key().unwrap()
    );
    assert_eq!(
        params!(x = 7u64).key().unwrap(),
        params!(x = 7i32).key().unwrap()
    );
    assert_eq!(
        params!(x = 0.5f32).key().unwrap(),
        params!(x = 0.5f64).key().unwrap()
    );
    assert_eq!(
        params!(x = -0.0).key().unwrap(),
        params!(x = 0.0).key().unwrap()
    );
    assert_eq!(
        params!(x = f64::NAN).key().unwrap(),
        params!(x = -f64::NAN).key().unwrap()
    );
    // No Unicode normalisation: NFC and NFD spellings are different keys.
    assert_ne!(
        params!(s = "caf\u{e9}").key().unwrap(),
        params!(s = "cafe\u{301}").key().unwrap()
    );
}

#[test]
fn invalid_names_are_errors_naming_the_name() {
    for bad in ["Model", "1x", "", "a-b", "cache_key", "params_json", "é"] {
        let err = Params::new().with(bad, 1).key().unwrap_err().to_string();
        assert!(err.contains(&format!("{bad:?}")), "{err}");
        assert!(Params::new().try_with(bad, 1).is_err());
    }
    assert!(Params::new().try_with(&"a".repeat(65), 1).is_err());
    assert!(Params::new().try_with(&"a".repeat(64), 1).is_ok());
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::Float),
        ".{0,12}".prop_map(Value::Str),
        proptest::collection::vec(any::<u8>(), 0..12).prop_map(Value::Bytes),
        any::<i32>().prop_map(Value::Date),
        any::<i64>().prop_map(Value::Timestamp),
        (0usize..4, any::<u128>()).prop_map(|(k, hash)| Value::Digest(cacheness::keys::Digest {
            kind: cacheness::keys::DigestKind::ALL[k],
            hash
        })),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::List),
            proptest::collection::btree_map("[a-z]{0,4}", inner, 0..4).prop_map(Value::Map),
        ]
    })
}

fn params_strategy() -> impl Strategy<Value = Vec<(String, Value)>> {
    proptest::collection::vec(("[a-z][a-z0-9_]{0,6}", value()), 0..6)
}

fn build(pairs: &[(String, Value)]) -> Params {
    pairs
        .iter()
        .fold(Params::new(), |p, (k, v)| p.with(k, v.clone()))
}

proptest! {
    #[test]
    fn order_never_matters(pairs in params_strategy()) {
        let mut seen = std::collections::HashSet::new();
        let pairs: Vec<_> = pairs.into_iter().filter(|(k, _)| seen.insert(k.clone())).collect();
        let mut reversed = pairs.clone();
        reversed.reverse();
        prop_assert_eq!(build(&pairs).key().unwrap(), build(&reversed).key().unwrap());
    }

    #[test]
    fn encoding_round_trips_and_is_canonical(pairs in params_strategy()) {
        let p = build(&pairs);
        let enc = p.canonical().unwrap();
        let back = Params::from_canonical(&enc).unwrap();
        prop_assert_eq!(back.canonical().unwrap(), enc);
    }

    #[test]
    fn distinct_values_give_distinct_encodings(a in value(), b in value()) {
        let (mut ea, mut eb) = (Vec::new(), Vec::new());
        encode_value(&a, &mut ea);
        encode_value(&b, &mut eb);
        // Equal encodings only for values equal under the canonical rules.
        let pa = params!(v = a.clone());
        let pb = params!(v = b.clone());
        prop_assert_eq!(ea == eb, pa.canonical().unwrap() == pb.canonical().unwrap());
        if ea != eb {
            prop_assert_ne!(CacheKey::of_canonical(&pa.canonical().unwrap()), CacheKey::of_canonical(&pb.canonical().unwrap()));
        }
    }

    #[test]
    fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut input = b"cnk1".to_vec();
        input.extend(bytes);
        let _ = decode_params(&input);
    }
}
