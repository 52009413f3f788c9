//! A full disk: a put fails with a clear error and leaves no partial entry, earlier entries stay
//! readable, and puts work again once space is freed. Runs on a real size-limited file system
//! (a 4 MiB tmpfs) when the machine lets the test mount one (root with CAP_SYS_ADMIN); the
//! CLI test `cli/tests/cli.rs::a_put_past_the_file_size_limit_fails_cleanly` injects the same
//! failure everywhere through the file-size limit.

use crate::common;

use cacheness_test_support::Tmpfs;

use std::path::Path;

use cacheness::deps::ndarray::Array1;
use cacheness::{Serde, params};

fn temp_files(root: &Path) -> Vec<String> {
    common::payload_files(root)
        .into_iter()
        .filter_map(|p| p.file_name()?.to_str().map(str::to_string))
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

#[test]
fn a_put_on_a_full_disk_fails_cleanly_and_loses_nothing() {
    let Some(fs) = Tmpfs::mount("4m") else {
        eprintln!("skipped: cannot mount a tmpfs here (the CLI test covers the failure)");
        return;
    };
    let root = fs.path().join("cache");
    let cache = common::open_files_quiet(&root);
    let small: Vec<_> = (0..20)
        .map(|i| (params!(i = i), Serde(format!("value {i}"))))
        .collect();
    for (p, v) in &small {
        cache.put(v, p).unwrap();
    }
    cache.flush().unwrap();
    // The same key first holds an object; the failed put would replace it with an array.
    let big = params!(big = true);
    cache.put(&Serde(1), &big).unwrap();
    // Incompressible, larger than the whole file system.
    let noise = cacheness_noise(1_000_000);
    let err = cache.put(&noise, &big).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("No space left on device"), "{msg}");
    assert!(msg.contains("blobs/"), "names the payload: {msg}");
    assert!(temp_files(&root).is_empty(), "no partial file is left");
    assert_eq!(
        cache.get::<Serde<i32>>(&big).unwrap(),
        Some(Serde(1)),
        "the key's previous entry (another format) is intact"
    );
    for (p, v) in &small {
        assert_eq!(cache.get::<Serde<String>>(p).unwrap().as_ref(), Some(v));
    }
    assert!(cache.verify().unwrap().is_clean());
    // Space freed: puts work again.
    cache.invalidate(&big).unwrap();
    let fits = Array1::from(vec![0.5f64; 1000]);
    cache.put(&fits, &big).unwrap();
    assert_eq!(cache.get::<Array1<f64>>(&big).unwrap(), Some(fits));
    cache.flush().unwrap();
    assert_eq!(cache.list_entries().unwrap().len(), 21);
}

/// Pseudo-random f64s Blosc2 cannot compress.
fn cacheness_noise(n: usize) -> Array1<f64> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    Array1::from_iter((0..n).map(|_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        f64::from_bits((x >> 12) | 0x3ff0_0000_0000_0000)
    }))
}

/// The disk fills up at every write point of a put and of the commit that follows (payload,
/// journal record, Delta data file, Delta log entry), one run per amount of space left: a put
/// either succeeds and is served, listed and committed once space is back, or fails, is not
/// served and is never listed. Nothing panics, and the cache verifies clean afterwards.
#[test]
fn a_full_disk_at_any_write_of_a_put_or_a_commit_keeps_payloads_and_catalog_in_agreement() {
    let Some(fs) = Tmpfs::mount("8m") else {
        eprintln!("skipped: cannot mount a tmpfs here");
        return;
    };
    let filler = fs.path().join("filler");
    let mut outcomes = std::collections::BTreeSet::new();
    for left_kib in (0..=48).step_by(4) {
        let root = fs.path().join(format!("cache-{left_kib}"));
        let cache = common::open_files_quiet(&root);
        cache.put(&Serde(0), &params!(i = 0)).unwrap();
        cache.flush().unwrap();
        fs.fill_leaving(&filler, left_kib * 1024);
        let p = params!(i = 1);
        let put = cache.put(&Serde(1), &p);
        let flushed = cache.flush();
        let served = cache.get::<Serde<i32>>(&p).unwrap();
        match &put {
            Ok(_) => assert_eq!(served, Some(Serde(1)), "{left_kib} KiB: acknowledged"),
            Err(e) => {
                let msg = e.to_string();
                assert!(msg.contains("No space left"), "{left_kib} KiB: {msg}");
                assert_eq!(served, None, "{left_kib} KiB: a failed put is not served");
            }
        }
        outcomes.insert((put.is_ok(), flushed.is_ok()));
        drop(cache);
        std::fs::remove_file(&filler).unwrap();
        // Space is back: the next process commits what was journaled.
        let cache = common::open_files_quiet(&root);
        cache.flush().unwrap();
        let listed: Vec<_> = cache
            .list_entries()
            .unwrap()
            .into_iter()
            .map(|e| e.cache_key)
            .collect();
        let expected = if put.is_ok() { 2 } else { 1 };
        assert_eq!(listed.len(), expected, "{left_kib} KiB: {listed:?}");
        let report = cache.verify().unwrap();
        assert!(report.is_clean(), "{left_kib} KiB: {:?}", report.problems);
        drop(cache);
        std::fs::remove_dir_all(&root).unwrap();
    }
    // The runs hit a failed put, a put whose commit failed, and a put that went through.
    assert!(
        outcomes.contains(&(false, true)) || outcomes.contains(&(false, false)),
        "{outcomes:?}"
    );
    assert!(outcomes.contains(&(true, false)), "{outcomes:?}");
    assert!(outcomes.contains(&(true, true)), "{outcomes:?}");
}

#[test]
fn a_large_value_streamed_onto_a_full_disk_fails_cleanly_and_loses_nothing() {
    use cacheness::PutOptions;
    use cacheness::streamed::STREAM_MIN;
    // Room for the value once, not for its scratch file and its payload at the same time.
    let len = STREAM_MIN as usize + (8 << 20);
    let Some(fs) = Tmpfs::mount(&format!("{}", len + len / 2)) else {
        eprintln!("skipped: cannot mount a tmpfs here");
        return;
    };
    let root = fs.path().join("cache");
    let cache = common::open_files_quiet(&root);
    let p = params!(large = 1);
    cache.put(&Serde("before".to_string()), &p).unwrap();
    let value: Vec<u8> = cacheness_noise(len / 8)
        .iter()
        .flat_map(|f| f.to_le_bytes())
        .collect();
    let err = cache
        .put_reader_with(&mut value.as_slice(), &p, &PutOptions::default())
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("No space left on device"), "{msg}");
    assert!(msg.contains("blobs/"), "names the payload: {msg}");
    assert!(
        temp_files(&root).is_empty(),
        "neither scratch nor draft is left"
    );
    assert_eq!(
        cache.get::<Serde<String>>(&p).unwrap(),
        Some(Serde("before".to_string())),
        "the key's previous entry is intact"
    );
    assert!(cache.verify().unwrap().is_clean());
}
