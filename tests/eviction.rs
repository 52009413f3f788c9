//! The size and entry limits: puts past a limit evict least-recently-used entries down to the
//! low watermark, gets (in any process) count as use, the entry a put writes survives its own
//! put, evicted entries leave the catalog, and `stats` says what was evicted and why.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use cacheness::{blocking::Cache, params};

/// 10,000 bytes that do not compress: each entry's payload is a little over 10 KB.
fn blob(i: u64) -> Vec<u8> {
    let mut next = crate::common::xorshift(i.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    (0..10_000).map(|_| next() as u8).collect()
}

fn limited(dir: &Path, max_bytes: Option<u64>, max_entries: Option<u64>) -> Cache {
    Cache::open_with(
        common::files_only(dir)
            .with_commit_interval(Duration::from_secs(3600))
            .with_max_size_bytes(max_bytes)
            .with_max_entries(max_entries),
    )
    .unwrap()
}

/// Which of entries `0..n` are still there.
fn present(cache: &Cache, n: u64) -> BTreeSet<u64> {
    (0..n)
        .filter(|i| cache.exists(&params!(i = *i)).unwrap())
        .collect()
}

fn payload_bytes(root: &Path) -> u64 {
    common::payload_files(root)
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum()
}

/// File times are as coarse as the kernel tick: space puts so their order is their time order.
fn tick() {
    std::thread::sleep(Duration::from_millis(15));
}

#[test]
fn a_put_past_the_size_limit_evicts_the_least_recently_used_down_to_the_watermark() {
    let dir = tempfile::tempdir().unwrap();
    let cache = limited(dir.path(), Some(100_000), None);
    for i in 0..9 {
        cache.put(&blob(i), &params!(i = i)).unwrap();
        tick();
    }
    let size = payload_bytes(dir.path()) / 9;
    assert!((10_000..10_500).contains(&size), "{size}");
    assert_eq!(
        present(&cache, 9).len(),
        9,
        "under the limit: nothing evicted"
    );
    // Entries 0 and 1 are used again: now the most recently used of the old ones.
    assert_eq!(
        cache.get::<Vec<u8>>(&params!(i = 0)).unwrap(),
        Some(blob(0))
    );
    assert!(cache.get::<Vec<u8>>(&params!(i = 1)).unwrap().is_some());
    tick();
    cache.put(&blob(9), &params!(i = 9)).unwrap(); // ~103 KB > 100 KB
    // Down to 80 KB: the three least recently used go (2, 3, 4), nothing else.
    assert_eq!(present(&cache, 10), BTreeSet::from([0, 1, 5, 6, 7, 8, 9]));
    assert!(payload_bytes(dir.path()) <= 80_000);
    let stats = cache.stats().unwrap();
    assert_eq!(stats.evicted_for_size, 3);
    assert_eq!(stats.evicted_for_entries, 0);
    assert_eq!(stats.evicted_bytes, 3 * size);
    assert_eq!(stats.max_size_bytes, Some(100_000));
    assert!(stats.last_eviction_pass.is_some());
    // Evicted entries leave the catalog (through the journal, then Delta).
    assert_eq!(cache.list_entries().unwrap().len(), 7);
    cache.flush().unwrap();
    let in_delta = common::delta_rows(dir.path()).len();
    assert_eq!(in_delta, 7);
    assert!(cache.verify().unwrap().is_clean());
}

#[test]
fn the_entry_a_put_writes_is_not_evicted_by_its_own_put() {
    let dir = tempfile::tempdir().unwrap();
    let cache = limited(dir.path(), Some(25_000), None);
    cache.put(&blob(0), &params!(i = 0)).unwrap();
    tick();
    // Larger than the whole limit: everything else goes, it stays.
    let big: Vec<u8> = (0..4).flat_map(blob).collect();
    cache.put(&big, &params!(i = 1)).unwrap();
    assert_eq!(present(&cache, 2), BTreeSet::from([1]));
    assert_eq!(cache.get::<Vec<u8>>(&params!(i = 1)).unwrap(), Some(big));
    tick();
    // The next put evicts it: it is the least recently used besides the new entry.
    cache.put(&blob(2), &params!(i = 2)).unwrap();
    assert_eq!(present(&cache, 3), BTreeSet::from([2]));
}

#[test]
fn the_entry_limit_evicts_by_count_to_its_watermark() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open_with(
        common::files_only(dir.path())
            .with_commit_interval(Duration::from_secs(3600))
            .with_max_entries(Some(10))
            .with_eviction_low_watermark(0.5),
    )
    .unwrap();
    for i in 0..10 {
        cache.put(&vec![i as u8], &params!(i = i)).unwrap();
        tick();
    }
    assert_eq!(present(&cache, 10).len(), 10);
    cache.put(&vec![10u8], &params!(i = 10)).unwrap();
    assert_eq!(present(&cache, 11), (6..11).collect());
    let stats = cache.stats().unwrap();
    assert_eq!((stats.evicted_for_entries, stats.evicted_for_size), (6, 0));
    assert_eq!(stats.entries, 5);
}

#[test]
fn gets_in_another_process_count_as_use() {
    let dir = tempfile::tempdir().unwrap();
    let writer = limited(dir.path(), Some(60_000), None);
    for i in 0..5 {
        writer.put(&blob(i), &params!(i = i)).unwrap();
        tick();
    }
    // Another process (its own open cache, its own pending accesses) reads entries 0 and 1;
    // its accesses reach the payload times when it closes (or within a second of reading).
    let reader = limited(dir.path(), Some(60_000), None);
    assert!(reader.get::<Vec<u8>>(&params!(i = 0)).unwrap().is_some());
    assert!(reader.get::<Vec<u8>>(&params!(i = 1)).unwrap().is_some());
    reader.close().unwrap();
    tick();
    writer.put(&blob(5), &params!(i = 5)).unwrap(); // ~62 KB > 60 KB: down to 48 KB
    assert_eq!(present(&writer, 6), BTreeSet::from([0, 1, 4, 5]));
}

#[test]
fn accesses_reach_payload_times_within_a_second_without_a_close() {
    let dir = tempfile::tempdir().unwrap();
    let cache = limited(dir.path(), Some(1 << 30), None);
    let key = cache.put(&blob(0), &params!(i = 0)).unwrap();
    cache.put(&blob(1), &params!(i = 1)).unwrap();
    let file = common::payload_files(dir.path())
        .into_iter()
        .find(|p| p.to_string_lossy().contains(key.as_str()))
        .unwrap();
    let written = std::fs::metadata(&file).unwrap().modified().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    cache.get::<Vec<u8>>(&params!(i = 0)).unwrap().unwrap();
    assert_eq!(
        std::fs::metadata(&file).unwrap().modified().unwrap(),
        written,
        "a get writes nothing at once"
    );
    std::thread::sleep(cacheness_store::access::FLUSH_INTERVAL);
    // The first get after the interval writes the pending accesses.
    cache.get::<Vec<u8>>(&params!(i = 1)).unwrap().unwrap();
    assert!(std::fs::metadata(&file).unwrap().modified().unwrap() > written);
}

#[test]
fn usage_counters_are_recalibrated_from_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let cache = limited(dir.path(), Some(1 << 30), None);
    for i in 0..4 {
        cache.put(&blob(i), &params!(i = i)).unwrap();
    }
    let truth = payload_bytes(dir.path());
    let report = cache.evict().unwrap();
    assert_eq!((report.bytes, report.entries), (truth, 4));
    assert_eq!(report.evicted_for_size + report.evicted_for_entries, 0);
    drop(cache);
    // A foreign or damaged counters file (replaced while no process had it open) is reset and
    // recalibrated, not trusted; the limit applies to what is on disk, whoever wrote it.
    std::fs::write(dir.path().join("usage.counters"), [0xff; 64]).unwrap();
    let cache = limited(dir.path(), Some(truth / 2), None);
    assert_eq!(
        cache.stats().unwrap().eviction_passes,
        0,
        "the totals were reset"
    );
    let report = cache.evict().unwrap();
    assert!(report.bytes <= truth / 2 * 8 / 10, "{report:?}");
    assert_eq!(report.evicted_for_size, 3);
    assert_eq!(cache.stats().unwrap().evicted_for_size, 3);
}

#[test]
fn a_cache_without_limits_never_evicts() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    for i in 0..20 {
        cache.put(&blob(i), &params!(i = i)).unwrap();
    }
    assert_eq!(present(&cache, 20).len(), 20);
    let stats = cache.stats().unwrap();
    assert_eq!((stats.eviction_passes, stats.max_size_bytes), (0, None));
}

#[test]
fn an_entry_evicted_before_its_put_reached_delta_leaves_no_row() {
    let dir = tempfile::tempdir().unwrap();
    // The writer's row waits in its journal (no commit before its flush).
    let writer = common::open_files_quiet(dir.path());
    writer.put(&blob(0), &params!(i = 0)).unwrap();
    // Another process evicts the entry and commits its delete first.
    let evictor = limited(dir.path(), Some(1), None);
    assert_eq!(evictor.evict().unwrap().evicted_for_size, 1);
    evictor.close().unwrap();
    // The writer's commit comes last: it must not bring back a row without a payload.
    writer.flush().unwrap();
    assert!(common::delta_rows(dir.path()).is_empty());
    assert!(writer.list_entries().unwrap().is_empty());
    assert!(writer.verify().unwrap().is_clean());
}
