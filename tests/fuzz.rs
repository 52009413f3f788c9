//! Decoder fuzzing past the content hash: payloads with random bytes changed and then
//! **re-sealed** (their hash slot recomputed, as a bug or an attacker without the signing key
//! could) reach the format decoders. Every get must return a value, a miss or an error, never
//! panic or crash. The content hash alone stops accidental damage before any decoder
//! (tests/integrity.rs); this covers what gets past it.

mod common;

use std::sync::Arc;

use cacheness::deps::arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
use cacheness::deps::arrow::datatypes::{DataType, Field, Schema};
use cacheness::deps::ndarray::Array2;
use cacheness::seal::{PLACEHOLDER, SLOT_LEN};
use cacheness::{Format, Serde, params};
use proptest::prelude::*;

fn table() -> RecordBatch {
    RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("i", DataType::Int64, false),
            Field::new("s", DataType::Utf8, true),
            Field::new("f", DataType::Float64, true),
        ])),
        vec![
            Arc::new(Int64Array::from_iter_values(0..200)),
            Arc::new(StringArray::from_iter_values(
                (0..200).map(|i| format!("v{i}")),
            )),
            Arc::new(Float64Array::from_iter_values((0..200).map(|i| i as f64))),
        ],
    )
    .unwrap()
}

/// Change `edits` bytes of `payload` outside its hash slot, then re-seal it.
fn mutate_and_reseal(payload: &[u8], format: Format, edits: &[(usize, u8)]) -> Vec<u8> {
    let at = format.slot_at();
    let mut buf = payload.to_vec();
    let pos = cacheness::seal::slot_position(&buf, at).expect("every payload has a hash slot");
    buf[pos..pos + SLOT_LEN].copy_from_slice(PLACEHOLDER);
    for &(at_index, byte) in edits {
        let i = at_index % buf.len();
        if !(pos..pos + SLOT_LEN).contains(&i) {
            buf[i] ^= byte.max(1);
        }
    }
    cacheness::seal::seal(&mut buf, at).expect("the placeholder is in place");
    buf
}

/// Put a value of kind `which` (0 object, 1 table, 2 array), mutate and re-seal its payload,
/// then read it every way there is.
fn fuzz_case(which: usize, edits: &[(usize, u8)]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_quiet(dir.path());
    let p = params!(which = which as i64);
    let (key, format) = match which {
        0 => (
            cache
                .put(&Serde(vec![("a".to_string(), 1.5f64); 50]), &p)
                .unwrap(),
            Format::Container,
        ),
        1 => (cache.put(&table(), &p).unwrap(), Format::Parquet),
        _ => (
            cache
                .put(&Array2::<f64>::from_elem((30, 20), 0.25), &p)
                .unwrap(),
            Format::B2nd,
        ),
    };
    let path = dir
        .path()
        .join(format!("blobs/{}/{key}.{}", &key[..2], format.as_str()));
    let bytes = std::fs::read(&path).unwrap();
    let resealed = mutate_and_reseal(&bytes, format, edits);
    // It passes the content hash, so the decoders see it.
    prop_assert!(cacheness::seal::check(&resealed, format.slot_at()).is_some());
    std::fs::write(&path, resealed).unwrap();
    // Any outcome but a panic (or a crash of the process) is acceptable here.
    match which {
        0 => {
            let _ = cache.get::<Serde<Vec<(String, f64)>>>(&p);
        }
        1 => {
            let _ = cache.get::<Vec<RecordBatch>>(&p);
            let _ = cache.sql(&format!(
                "SELECT i, s FROM cached_table('{key}') WHERE f > 3"
            ));
        }
        _ => {
            let _ = cache.get::<cacheness::deps::ndarray::ArrayD<f64>>(&p);
        }
    }
    let _ = cache.info_by_key(&key);
    let _ = cache.verify();
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn resealed_objects_and_tables_never_panic(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        which in 0usize..2,
    ) {
        fuzz_case(which, &edits)?;
    }

    /// KNOWN FAILURE, kept as a reproducer: the Blosc2 decoder (C) crashes the process
    /// (SIGSEGV) on some re-sealed arrays. Signing (issue 5) is to stop such payloads before
    /// the decoder; run with `cargo test --test fuzz -- --ignored` to check a fix.
    #[test]
    #[ignore = "the Blosc2 C decoder crashes on re-sealed garbage until payloads are signed (issue 5)"]
    fn resealed_arrays_never_crash(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
    ) {
        fuzz_case(2, &edits)?;
    }
}
