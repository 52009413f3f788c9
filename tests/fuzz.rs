//! Decoder fuzzing past the checks. Payloads with random bytes changed are
//!
//! - **re-sealed** (their content hash recomputed, as an attacker without the signing key
//!   could): the signature stops every one before any decoder, arrays (Blosc2 is C) included;
//! - **re-sealed and re-signed** with the cache's key (as a bug in a writer holding the key
//!   could): they reach the format decoders, and every get must return a value, a miss or an
//!   error, never panic.
//!
//! Accidental damage is stopped by the content hash and signature alike (tests/integrity.rs).

use crate::common;

use std::sync::Arc;

use cacheness::deps::arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
use cacheness::deps::arrow::datatypes::{DataType, Field, Schema};
use cacheness::deps::ndarray::Array2;
use cacheness::signing::{Record, Signer};
use cacheness::{EntryInfo, Format, Serde, SigningKey, params};
use cacheness_format::seal::{PLACEHOLDER, SIGNATURE_LEN, SIGNATURE_PLACEHOLDER, SLOT_LEN};
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

/// Change `edits` bytes of `payload` outside its slots, then re-seal it, and re-sign it when a
/// signer is given (with the entry's fields as `info` has them).
fn mutate(
    payload: &[u8],
    format: Format,
    edits: &[(usize, u8)],
    resign: Option<(&Signer, &EntryInfo)>,
) -> Vec<u8> {
    let at = format.slot_at();
    let mut buf = payload.to_vec();
    let slots = cacheness_format::seal::locate(&buf, at).expect("every payload has its slots");
    let sig = slots.signature.expect("every payload is signed");
    buf[slots.hash..slots.hash + SLOT_LEN].copy_from_slice(PLACEHOLDER);
    buf[sig..sig + SIGNATURE_LEN].copy_from_slice(SIGNATURE_PLACEHOLDER);
    for &(at_index, byte) in edits {
        let i = at_index % buf.len();
        if !(slots.hash..slots.hash + SLOT_LEN).contains(&i)
            && !(sig..sig + SIGNATURE_LEN).contains(&i)
        {
            buf[i] ^= byte.max(1);
        }
    }
    let hash = cacheness_format::seal::seal(&mut buf, at).expect("the placeholder is in place");
    if let Some((signer, info)) = resign {
        let record = Record {
            stored_bytes: buf.len() as u64,
            content_hash: &hash,
            ..info.record()
        };
        signer
            .sign(&mut buf, at, &record)
            .expect("the slot is in place");
    }
    buf
}

/// Put a value of kind `which` (0 object, 1 table, 2 array), mutate and re-seal its payload
/// (re-signing it when `resign`), then read it every way there is.
fn fuzz_case(which: usize, edits: &[(usize, u8)], resign: bool) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
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
    let info = cache.info(&key).unwrap().unwrap();
    let signer = Signer::load(&SigningKey::Default, dir.path()).unwrap();
    let mutated = mutate(&bytes, format, edits, resign.then_some((&signer, &info)));
    // It passes the content hash.
    prop_assert!(cacheness_format::seal::check(&mutated, format.slot_at()).is_some());
    std::fs::write(&path, mutated).unwrap();
    if !resign {
        // Without the key, nothing gets past the signature, whatever the bytes.
        let got = match which {
            0 => cache
                .get::<Serde<Vec<(String, f64)>>>(&p)
                .map(|v| v.is_some()),
            1 => cache.get::<Vec<RecordBatch>>(&p).map(|v| v.is_some()),
            _ => cache
                .get::<cacheness::deps::ndarray::ArrayD<f64>>(&p)
                .map(|v| v.is_some()),
        };
        prop_assert_eq!(got.unwrap(), false);
        prop_assert_eq!(cache.stats().unwrap().invalid_signatures, 1);
        prop_assert!(!path.exists(), "the payload is removed");
        return Ok(());
    }
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
    let _ = cache.info(&key);
    let _ = cache.verify();
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn resealed_payloads_without_the_key_never_reach_a_decoder(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        which in 0usize..3,
    ) {
        fuzz_case(which, &edits, false)?;
    }

    #[test]
    fn resigned_objects_and_tables_never_panic(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        which in 0usize..2,
    ) {
        fuzz_case(which, &edits, true)?;
    }

    /// KNOWN FAILURE, kept as a reproducer: the Blosc2 decoder (C) crashes the process
    /// (SIGSEGV) on some malformed arrays. Since payloads are signed only a writer holding the
    /// key can produce one (the test above shows nothing else reaches the decoder);
    /// `docs/SECURITY.md` says so. Run with `cargo test --workspace --test tests fuzz:: -- --ignored`.
    #[test]
    #[ignore = "the Blosc2 C decoder crashes on malformed frames signed with the cache's own key"]
    fn resigned_arrays_never_crash(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
    ) {
        fuzz_case(2, &edits, true)?;
    }
}
