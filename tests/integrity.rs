//! Integrity on every read: damaged, truncated and moved payloads are misses, removed and
//! counted; expiry is one rule everywhere; gets never touch the Delta catalog.

use crate::common;

use std::time::Duration;

use cacheness::deps::ndarray::Array1;
use cacheness::{PutOptions, Serde, blocking::Cache, params};

fn payload_path(root: &std::path::Path, key: &str) -> std::path::PathBuf {
    common::payload_files(root)
        .into_iter()
        .find(|p| p.file_name().unwrap().to_str().unwrap().starts_with(key))
        .unwrap()
}

/// Put one value of each format; return (params, key) pairs.
fn fill(cache: &Cache) -> Vec<(cacheness::Params, cacheness::CacheKey)> {
    let mut out = Vec::new();
    let p = params!(f = "object");
    out.push((
        p.clone(),
        cache.put(&Serde(vec!["a".to_string(); 50]), &p).unwrap(),
    ));
    let p = params!(f = "array");
    out.push((
        p.clone(),
        cache
            .put(&Array1::from_iter((0..5000).map(|i| i as f64)), &p)
            .unwrap(),
    ));
    let p = params!(f = "table");
    let t = cacheness_test_table();
    out.push((p.clone(), cache.put(&t, &p).unwrap()));
    // The layouts of large values: an array that does not compress (stored as is in one
    // Blosc2 chunk, got mapped: `present`; 12 MB, so sealed and signed as it is written,
    // `sealing_write`) and a table of several MB (columns written and read on threads of
    // their own).
    let p = params!(f = "array", size = "large");
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let noise = Array1::from_iter((0..1_500_000).map(|_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        f64::from_bits(x >> 2)
    }));
    out.push((p.clone(), cache.put(&noise, &p).unwrap()));
    let p = params!(f = "table", size = "large");
    out.push((p.clone(), cache.put(&large_table(), &p).unwrap()));
    out
}

fn large_table() -> cacheness::deps::arrow::array::RecordBatch {
    use cacheness::deps::arrow::array::{Float64Array, Int64Array, RecordBatch};
    let n = 200_000;
    RecordBatch::try_from_iter([
        (
            "id",
            std::sync::Arc::new(Int64Array::from_iter_values(0..n)) as _,
        ),
        (
            "x",
            std::sync::Arc::new(Float64Array::from_iter_values(
                (0..n).map(|i| (i as f64).sqrt()),
            )) as _,
        ),
    ])
    .unwrap()
}

fn cacheness_test_table() -> cacheness::deps::arrow::array::RecordBatch {
    use cacheness::deps::arrow::array::{Int64Array, RecordBatch};
    RecordBatch::try_from_iter([(
        "v",
        std::sync::Arc::new(Int64Array::from_iter_values(0..2000)) as _,
    )])
    .unwrap()
}

/// Which value `fill` stored under these params (`f = "object" | "array" | "table"`).
fn kind(p: &cacheness::Params) -> &'static str {
    match p.get("f") {
        Some(cacheness::Value::Str(s)) if s == "object" => "object",
        Some(cacheness::Value::Str(s)) if s == "array" => "array",
        _ => "table",
    }
}

fn present(cache: &Cache, p: &cacheness::Params, f: &str) -> bool {
    match f {
        "object" => cache.get::<Serde<Vec<String>>>(p).unwrap().is_some(),
        // The large array (stored as is, one chunk) is got mapped: checked the same.
        "array" if p.get("size").is_some() => cache
            .get_array_mapped::<f64>(p)
            .unwrap()
            .is_some_and(|a| a.is_zero_copy()),
        "array" => cache.get::<Array1<f64>>(p).unwrap().is_some(),
        _ => cache
            .get::<cacheness::deps::arrow::array::RecordBatch>(p)
            .unwrap()
            .is_some(),
    }
}

#[test]
fn a_flipped_byte_anywhere_is_a_miss_removed_and_counted() {
    for position in [0.0, 0.3, 0.5, 0.9, 1.0] {
        let dir = tempfile::tempdir().unwrap();
        let cache = common::open_files_quiet(dir.path());
        let entries = fill(&cache);
        for (i, (p, key)) in entries.iter().enumerate() {
            let path = payload_path(dir.path(), key);
            let mut bytes = std::fs::read(&path).unwrap();
            let at = ((bytes.len() - 1) as f64 * position) as usize;
            bytes[at] ^= 0x40;
            std::fs::write(&path, &bytes).unwrap();
            let f = kind(p);
            assert!(
                !present(&cache, p, f),
                "{f} with byte {at} flipped was served"
            );
            assert!(!path.exists(), "{f}: corrupt payload left on disk");
            // A flip inside the signature slot leaves the content hash intact (the slot is
            // not hashed): that is an invalid signature rather than damage.
            let stats = cache.stats().unwrap();
            assert_eq!(
                stats.removed_corrupt + stats.removed_invalid_signature,
                i as u64 + 1
            );
        }
        cache.flush().unwrap();
        assert!(cache.list_entries().unwrap().is_empty());
        assert!(common::delta_rows(dir.path()).is_empty());
    }
}

#[test]
fn truncated_and_moved_payloads_are_misses_removed_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let entries = fill(&cache);
    // Truncate the array payload.
    let (ap, akey) = &entries[1];
    let path = payload_path(dir.path(), akey);
    let len = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    assert!(!present(&cache, ap, "array"));
    assert!(!path.exists());
    // Move another key's object payload to this key's path.
    let other = params!(f = "object", copy = 2);
    let okey = cache.put(&Serde(vec!["b".to_string()]), &other).unwrap();
    let (op, key) = &entries[0];
    std::fs::copy(
        payload_path(dir.path(), &okey),
        payload_path(dir.path(), key),
    )
    .unwrap();
    assert!(
        !present(&cache, op, "object"),
        "a payload moved to another key's path was served"
    );
    assert!(!payload_path_exists(dir.path(), key));
    assert!(
        cache.get::<Serde<Vec<String>>>(&other).unwrap().is_some(),
        "the source entry stays valid"
    );
    let stats = cache.stats().unwrap();
    assert_eq!(stats.removed_corrupt, 2);
    assert_eq!(stats.misses, 2);
}

fn payload_path_exists(root: &std::path::Path, key: &str) -> bool {
    common::payload_files(root)
        .iter()
        .any(|p| p.file_name().unwrap().to_str().unwrap().starts_with(key))
}

#[test]
fn gets_work_with_the_catalog_moved_away() {
    let dir = tempfile::tempdir().unwrap();
    let entries = {
        let cache = common::open_files_quiet(dir.path());
        let e = fill(&cache);
        cache.close().unwrap();
        e
    };
    // Open the cache (and let its committer open the table), then take the catalog away.
    let cache = common::open_files_quiet(dir.path());
    cache.flush().unwrap();
    let moved = dir.path().join("catalog-moved");
    std::fs::rename(dir.path().join("catalog"), &moved).unwrap();
    for (p, _) in &entries {
        let f = kind(p);
        assert!(present(&cache, p, f), "{f} not served without the catalog");
    }
    assert!(
        !dir.path().join("catalog").exists(),
        "a get recreated the catalog"
    );
}

#[test]
fn expired_entries_are_misses_for_every_method() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let p = params!(ttl = "short");
    let ttl = Duration::from_millis(500);
    let put_at = std::time::Instant::now();
    cache
        .put_with(&Serde(1), &p, &PutOptions::default().ttl(ttl))
        .unwrap();
    let keep = params!(ttl = "none");
    cache.put(&Serde(2), &keep).unwrap();
    let (exists, listed) = (
        cache.exists(&p).unwrap(),
        cache.list_entries().unwrap().len(),
    );
    // On a loaded machine the TTL may pass before these ran: only then may they differ.
    if put_at.elapsed() < ttl {
        assert!(exists);
        assert_eq!(listed, 2);
    }
    std::thread::sleep(ttl.saturating_sub(put_at.elapsed()) + Duration::from_millis(100));
    assert_eq!(cache.list_entries().unwrap().len(), 1);
    assert!(!cache.exists(&p).unwrap());
    assert_eq!(cache.get::<Serde<i32>>(&p).unwrap(), None);
    assert!(!cache.touch(&p).unwrap());
    assert_eq!(cache.get::<Serde<i32>>(&keep).unwrap(), Some(Serde(2)));
    assert_eq!(cache.stats().unwrap().removed_expired, 1);
}

#[test]
fn touch_restarts_the_ttl_and_keeps_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let p = params!(t = 1);
    let arr = Array1::from_iter(0..100i32);
    cache
        .put_with(
            &arr,
            &p,
            &PutOptions::default()
                .ttl(Duration::from_millis(600))
                .description("d"),
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    assert!(cache.touch(&p).unwrap());
    std::thread::sleep(Duration::from_millis(400));
    let (back, info) = cache
        .get_with_metadata::<Array1<i32>>(&p)
        .unwrap()
        .expect("touch extended the TTL");
    assert_eq!(back, arr);
    assert_eq!(info.description.as_deref(), Some("d"));
}

#[test]
fn invalidate_clear_and_lookup_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let a = cache.put(&Serde("a".to_string()), &params!(n = 1)).unwrap();
    cache.put(&Serde("b".to_string()), &params!(n = 2)).unwrap();
    assert_eq!(
        cache.get::<Serde<String>>(&a).unwrap(),
        Some(Serde("a".into()))
    );
    assert!(cache.exists(&a).unwrap());
    // A key that is not 16 hex digits cannot be made, so it cannot reach a file name.
    assert!(matches!(
        cacheness::CacheKey::parse("../../etc/passwd"),
        Err(cacheness::FormatError::InvalidKey { .. })
    ));
    assert!(cache.invalidate(&params!(n = 1)).unwrap());
    assert!(!cache.invalidate(&params!(n = 1)).unwrap());
    assert!(!cache.exists(&a).unwrap());
    cache.flush().unwrap();
    assert_eq!(common::delta_rows(dir.path()).len(), 1);
    cache.put(&Serde("c".to_string()), &params!(n = 3)).unwrap();
    assert_eq!(cache.clear().unwrap(), 2);
    assert!(cache.list_entries().unwrap().is_empty());
    cache.put(&Serde("d".to_string()), &params!(n = 4)).unwrap();
    cache.flush().unwrap();
    let rows = common::delta_rows(dir.path());
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].params_json, r#"{"n":4}"#);
    assert_eq!(common::payload_files(dir.path()).len(), 1);
}

#[test]
fn garbage_payloads_are_misses_never_crashes() {
    use rand::{Rng, SeedableRng};
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let entries = fill(&cache);
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    for round in 0..20 {
        for (p, key) in &entries {
            let path = match payload_path_exists(dir.path(), key) {
                true => payload_path(dir.path(), key),
                false => continue,
            };
            let mut junk: Vec<u8> = (0..rng.random_range(0..4096))
                .map(|_| rng.random())
                .collect();
            if round % 2 == 0 {
                // Keep the real magic and tail so decoders get past their first checks.
                let real = std::fs::read(&path).unwrap();
                junk.splice(0..0, real[..real.len().min(16)].iter().copied());
                junk.extend_from_slice(&real[real.len().saturating_sub(64)..]);
            }
            std::fs::write(&path, &junk).unwrap();
            let f = kind(p);
            assert!(!present(&cache, p, f));
        }
        let entries2 = fill(&cache);
        assert_eq!(entries2.len(), entries.len());
    }
    // Every round damages each of fill's entries once.
    assert_eq!(
        cache.stats().unwrap().removed_corrupt,
        20 * entries.len() as u64
    );
}
