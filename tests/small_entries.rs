//! The small-entry store (issue 24): payloads under 64 KiB are records of `<root>/small/`
//! (LMDB), larger ones files; every operation treats records like files, a damaged record
//! is a miss removed and counted, and a file the store has no marker for is found by
//! `repair`. Crashes (`kill -9`) and several processes at once are covered by
//! `tests/processes.rs`, whose values are small and so records.

use crate::common;

use std::path::Path;
use std::time::Duration;

use cacheness::repair::ProblemKind;
use cacheness::{CacheConfig, PutOptions, Serde, blocking::Cache, params};
use cacheness_store::small_store::{Held, SmallStore};

fn small_store(root: &Path) -> SmallStore {
    SmallStore::open(root, cacheness::Durability::Buffered).unwrap()
}

/// The payload bytes the store holds for `key`, if it holds them.
fn record(root: &Path, key: &str) -> Option<Vec<u8>> {
    match small_store(root).get(key).unwrap()?.held {
        Held::Payload(p) => Some(p),
        Held::File => None,
    }
}

#[test]
fn small_payloads_are_records_and_large_ones_files_and_each_replaces_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_quiet(dir.path());
    let p = params!(k = 1);
    let key = cache.put(&b"small".to_vec(), &p).unwrap().to_string();
    assert!(record(dir.path(), &key).is_some());
    assert!(common::payload_files(dir.path()).is_empty());
    assert_eq!(cache.get::<Vec<u8>>(&p).unwrap(), Some(b"small".to_vec()));

    // Replaced by a large value (incompressible): a file, whose marker replaced the record.
    let mut next = common::xorshift(7);
    let large: Vec<u8> = (0..100_000).map(|_| next() as u8).collect();
    cache.put(&large, &p).unwrap();
    assert_eq!(record(dir.path(), &key), None);
    assert_eq!(common::payload_files(dir.path()).len(), 1);
    assert_eq!(cache.get::<Vec<u8>>(&p).unwrap(), Some(large));

    // And back: the record replaces the file, which is removed.
    cache.put(&b"small again".to_vec(), &p).unwrap();
    assert!(common::payload_files(dir.path()).is_empty());
    assert_eq!(
        cache.get::<Vec<u8>>(&p).unwrap(),
        Some(b"small again".to_vec())
    );
    let stats = cache.stats().unwrap();
    assert_eq!(stats.entries, 1);
    cache.flush().unwrap();
    assert!(cache.verify().unwrap().is_clean());
}

#[test]
fn invalidate_touch_clear_and_ttl_treat_records_like_files() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_quiet(dir.path());
    for i in 0..4 {
        cache.put(&Serde(i), &params!(i = i)).unwrap();
    }
    assert!(cache.invalidate(&params!(i = 0)).unwrap());
    assert!(!cache.invalidate(&params!(i = 0)).unwrap());
    assert_eq!(cache.get::<Serde<i32>>(&params!(i = 0)).unwrap(), None);
    assert!(cache.touch(&params!(i = 1)).unwrap());
    assert_eq!(
        cache.get::<Serde<i32>>(&params!(i = 1)).unwrap(),
        Some(Serde(1))
    );

    let short = PutOptions::default().ttl(Duration::from_millis(50));
    let key = cache
        .put_with(&Serde(9), &params!(i = 9), &short)
        .unwrap()
        .to_string();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(cache.cleanup_expired().unwrap(), 1);
    assert_eq!(small_store(dir.path()).get(&key).unwrap(), None);

    assert_eq!(cache.clear().unwrap(), 3);
    assert!(
        small_store(dir.path())
            .summaries()
            .unwrap()
            .iter()
            .all(|s| s.payload_len.is_none()),
        "clear leaves no record"
    );
    cache.flush().unwrap();
    assert_eq!(cache.list_entries().unwrap().len(), 0);
}

/// Write `byte` at `at` relative to each copy of `payload` in the store's data file, behind
/// the cache's back (LMDB copies pages on write, so freed pages may hold older copies).
fn overwrite_in_data_file(root: &Path, payload: &[u8], at: isize, byte: u8) {
    use std::os::unix::fs::FileExt;
    let data = root.join("small/data.mdb");
    let bytes = std::fs::read(&data).unwrap();
    let starts: Vec<usize> = bytes
        .windows(payload.len())
        .enumerate()
        .filter(|(_, w)| *w == payload)
        .map(|(i, _)| i)
        .collect();
    assert!(
        !starts.is_empty(),
        "the record's bytes are in the data file"
    );
    let file = std::fs::OpenOptions::new().write(true).open(&data).unwrap();
    for start in starts {
        file.write_all_at(&[byte], (start as isize + at) as u64)
            .unwrap();
    }
}

/// Flip one byte of a record's payload in the store's data file.
fn flip_in_data_file(root: &Path, payload: &[u8], at: usize) {
    overwrite_in_data_file(root, payload, at as isize, payload[at] ^ 0x20);
}

#[test]
fn a_flipped_byte_in_a_record_is_a_miss_removed_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_quiet(dir.path());
    let value: Vec<String> = (0..40).map(|i| format!("value {i}")).collect();
    let mut keys = Vec::new();
    // Positions spread over the record: its header, its signed metadata, its body, its end.
    let positions = [0usize, 9, 40, 200, 400];
    for (n, _) in positions.iter().enumerate() {
        let p = params!(n = n as i64);
        keys.push(cache.put(&Serde(value.clone()), &p).unwrap().to_string());
    }
    for (n, at) in positions.iter().enumerate() {
        let payload = record(dir.path(), &keys[n]).unwrap();
        flip_in_data_file(dir.path(), &payload, at % payload.len());
    }
    for n in 0..positions.len() {
        let p = params!(n = n as i64);
        assert_eq!(
            cache.get::<Serde<Vec<String>>>(&p).unwrap(),
            None,
            "flipped at {}",
            positions[n]
        );
        assert_eq!(
            small_store(dir.path()).get(&keys[n]).unwrap(),
            None,
            "removed"
        );
    }
    let stats = cache.stats().unwrap();
    assert_eq!(
        stats.removed_corrupt + stats.removed_invalid_signature,
        positions.len() as u64
    );
    cache.flush().unwrap();
    assert!(cache.verify().unwrap().is_clean());
}

#[test]
fn a_record_with_a_damaged_head_is_a_miss_removed_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_quiet(dir.path());
    let p = params!(k = "head");
    let key = cache.put(&Serde(7), &p).unwrap().to_string();
    let payload = record(dir.path(), &key).unwrap();
    // The record's head (kind, format, time) is the ten bytes before its payload: its kind
    // byte becomes one no version writes.
    overwrite_in_data_file(dir.path(), &payload, -10, b'?');
    assert_eq!(cache.get::<Serde<i32>>(&p).unwrap(), None);
    assert_eq!(small_store(dir.path()).get(&key).unwrap(), None);
    assert_eq!(cache.stats().unwrap().removed_corrupt, 1);
}

#[test]
fn a_file_the_store_does_not_know_is_found_by_repair() {
    // A payload file copied in by hand (from a cache that shares the key, written before the
    // small-entry store) is a miss until repair marks it: misses are answered by the store.
    let keyed = tempfile::tempdir().unwrap();
    let key = {
        let old = Cache::open_with(common::files_only(keyed.path())).unwrap();
        let key = old.put(&Serde(42), &params!(k = "copied")).unwrap();
        old.close().unwrap();
        key.to_string()
    };
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open_with(
        CacheConfig::new(dir.path())
            .with_commit_interval(Duration::from_secs(3600))
            .with_signing_key(cacheness::SigningKey::File(
                keyed.path().join("signing.key"),
            )),
    )
    .unwrap();
    let rel = format!("blobs/{}/{key}.cnobj", &key[..2]);
    std::fs::copy(keyed.path().join(&rel), dir.path().join(&rel)).unwrap();
    let p = params!(k = "copied");
    assert_eq!(cache.get::<Serde<i32>>(&p).unwrap(), None, "not marked yet");

    let found = cache.verify().unwrap();
    let kinds: Vec<_> = found.problems.iter().map(|p| p.kind).collect();
    assert!(kinds.contains(&ProblemKind::UnmarkedFile), "{kinds:?}");
    assert!(kinds.contains(&ProblemKind::Orphan), "{kinds:?}");
    cache.repair().unwrap();
    assert_eq!(cache.get::<Serde<i32>>(&p).unwrap(), Some(Serde(42)));
    assert!(cache.verify().unwrap().is_clean());
}

#[test]
fn a_file_left_beside_a_record_is_removed_by_repair() {
    // A put of a small value whose process died between storing the record and removing
    // the file it replaced.
    let dir = tempfile::tempdir().unwrap();
    let p = params!(k = "both");
    let (key, file) = {
        let files = Cache::open_with(common::files_only(dir.path())).unwrap();
        let key = files.put(&Serde(1), &p).unwrap().to_string();
        files.close().unwrap();
        let rel = format!("blobs/{}/{key}.cnobj", &key[..2]);
        let kept = std::fs::read(dir.path().join(&rel)).unwrap();
        (key, (rel, kept))
    };
    let cache = common::open_quiet(dir.path());
    cache.put(&Serde(2), &p).unwrap();
    assert!(record(dir.path(), &key).is_some());
    std::fs::write(dir.path().join(&file.0), &file.1).unwrap();
    assert_eq!(cache.get::<Serde<i32>>(&p).unwrap(), Some(Serde(2)));
    cache.flush().unwrap();
    let kinds: Vec<_> = cache
        .verify()
        .unwrap()
        .problems
        .iter()
        .map(|p| p.kind)
        .collect();
    assert_eq!(kinds, [ProblemKind::ReplacedFile]);
    cache.repair().unwrap();
    assert!(!dir.path().join(&file.0).exists());
    assert_eq!(cache.get::<Serde<i32>>(&p).unwrap(), Some(Serde(2)));
    assert!(cache.verify().unwrap().is_clean());
}

#[test]
fn the_entry_limit_evicts_the_least_recently_used_records() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open_with(
        CacheConfig::new(dir.path())
            .with_commit_interval(Duration::from_secs(3600))
            .with_max_entries(Some(10)),
    )
    .unwrap();
    for i in 0..10 {
        cache.put(&Serde(i), &params!(i = i)).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    // Read the oldest: its record's time moves (accesses reach the store at a flush).
    assert!(cache.get::<Serde<i32>>(&params!(i = 0)).unwrap().is_some());
    std::thread::sleep(cacheness_store::access::FLUSH_INTERVAL);
    assert!(cache.get::<Serde<i32>>(&params!(i = 9)).unwrap().is_some());
    cache.put(&Serde(10), &params!(i = 10)).unwrap();
    let present: Vec<i32> = (0..=10)
        .filter(|i| cache.get::<Serde<i32>>(&params!(i = *i)).unwrap().is_some())
        .collect();
    assert!(present.len() <= 10, "{present:?}");
    assert!(present.contains(&0), "read recently: kept {present:?}");
    assert!(present.contains(&10), "just put: kept {present:?}");
    assert!(
        !present.contains(&1),
        "least recently used: evicted {present:?}"
    );
    let stats = cache.stats().unwrap();
    assert!(stats.evicted_for_entries >= 1);
}

#[test]
fn the_size_limit_evicts_records_down_to_the_watermark() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open_with(
        CacheConfig::new(dir.path())
            .with_commit_interval(Duration::from_secs(3600))
            .with_max_size_bytes(Some(100_000)),
    )
    .unwrap();
    // Ten values of 20 kB that do not compress: records of about 20 kB each.
    for i in 0..10u64 {
        let value = common::noise_bytes(20_000, i + 1);
        cache.put(&value, &params!(i = i as i64)).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(common::payload_files(dir.path()).is_empty(), "all records");
    let report = cache.evict().unwrap();
    assert!(report.bytes <= 100_000, "{report:?}");
    let present: Vec<u64> = (0..10u64)
        .filter(|i| {
            cache
                .get::<Vec<u8>>(&params!(i = *i as i64))
                .unwrap()
                .is_some()
        })
        .collect();
    assert!((3..=4).contains(&present.len()), "{present:?}");
    assert!(present.contains(&9), "the newest is kept: {present:?}");
    assert!(!present.contains(&0), "the oldest goes: {present:?}");
    assert!(cache.stats().unwrap().evicted_for_size >= 6);
}

#[test]
fn a_cache_of_files_opens_with_the_store_and_serves_every_entry() {
    let dir = tempfile::tempdir().unwrap();
    {
        let files = Cache::open_with(common::files_only(dir.path())).unwrap();
        for i in 0..20 {
            files.put(&Serde(i), &params!(i = i)).unwrap();
        }
        files.close().unwrap();
    }
    assert!(!dir.path().join("small").exists(), "off: no store made");
    let cache = common::open_quiet(dir.path());
    for i in 0..20 {
        assert_eq!(
            cache.get::<Serde<i32>>(&params!(i = i)).unwrap(),
            Some(Serde(i))
        );
    }
    // Every file was marked at the first open: verify finds nothing to mark.
    assert!(cache.verify().unwrap().is_clean());
    // A small put over a file moves the entry into the store.
    cache.put(&Serde(100), &params!(i = 0)).unwrap();
    assert_eq!(common::payload_files(dir.path()).len(), 19);
    assert_eq!(
        cache.get::<Serde<i32>>(&params!(i = 0)).unwrap(),
        Some(Serde(100))
    );
}
