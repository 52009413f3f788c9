//! Helpers shared by the end-to-end tests.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use cacheness::deps::arrow::array::{Array, AsArray, RecordBatch};
use cacheness::deps::arrow::datatypes::DataType;
use cacheness::{CacheConfig, blocking::Cache};

pub use cacheness_test_support::{KillOnDrop, noise as noise_bytes, rerun_test, xorshift};

/// The settings of a cache whose every payload is a file (`small_entry_store` off): for
/// tests that read, damage or delete payload files by path. The small-entry store is tested
/// in `tests/small_entries.rs` and by every test that opens caches the default way.
pub fn files_only(dir: impl AsRef<Path>) -> CacheConfig {
    CacheConfig::new(dir.as_ref()).with_small_entry_store(false)
}

/// Open a cache of [`files_only`].
pub fn open_files(dir: impl AsRef<Path>) -> cacheness::Result<Cache> {
    Cache::open_with(files_only(dir))
}

/// [`open_quiet`] for a cache of [`files_only`].
pub fn open_files_quiet(dir: &Path) -> Cache {
    Cache::open_with(files_only(dir).with_commit_interval(Duration::from_secs(3600))).unwrap()
}

/// Open a cache whose group commit never fires on its own during a test (only flush/close).
pub fn open_quiet(dir: &Path) -> Cache {
    Cache::open_with(CacheConfig::new(dir).with_commit_interval(Duration::from_secs(3600))).unwrap()
}

/// [`open_quiet`] on a scratch directory that signs with the key of the cache at `keyed`: its
/// payloads copied there are what another process of that cache would have written.
pub fn open_sharing_key(dir: &Path, keyed: &Path) -> Cache {
    Cache::open_with(
        files_only(dir)
            .with_commit_interval(Duration::from_secs(3600))
            .with_signing_key(cacheness::SigningKey::File(keyed.join("signing.key"))),
    )
    .unwrap()
}

/// Rows in the Delta table itself (not the journal): proves what reached Delta.
pub fn delta_rows(root: &Path) -> Vec<cacheness::catalog::CatalogRow> {
    delta_rows_at(root.join("catalog/cache_entries").into())
}

/// Rows in the Delta table at `location` (a directory or an object store prefix).
pub fn delta_rows_at(
    location: cacheness::storage::Location,
) -> Vec<cacheness::catalog::CatalogRow> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let d = cacheness::catalog::delta::DeltaCatalog::open(location)
            .await
            .unwrap();
        d.scan_rows(cacheness::catalog::Projection::Full)
            .await
            .unwrap()
    })
}

/// The payload files under `root/blobs`.
pub fn payload_files(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for d in std::fs::read_dir(root.join("blobs")).unwrap() {
        for f in std::fs::read_dir(d.unwrap().path()).unwrap() {
            out.push(f.unwrap().path());
        }
    }
    out.sort();
    out
}

/// Poll `done` every 50 ms until it holds; fail the test with `what` after 20 s.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(20), "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The values of a string column of SQL answers, sorted; asserts the column is plain `Utf8`
/// (answers never carry string views).
pub fn strings(batches: &[RecordBatch], column: &str) -> Vec<String> {
    let mut out: Vec<String> = batches
        .iter()
        .flat_map(|b| {
            let col = b.column_by_name(column).unwrap();
            assert_eq!(
                col.data_type(),
                &DataType::Utf8,
                "{column} is a plain string column"
            );
            let a = col.as_string::<i32>().clone();
            (0..a.len()).map(move |i| a.value(i).to_string())
        })
        .collect();
    out.sort();
    out
}

/// The values of a 64-bit integer column of SQL answers, in order.
pub fn ints(batches: &[RecordBatch], column: &str) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| {
            let a = b
                .column_by_name(column)
                .unwrap()
                .as_primitive::<cacheness::deps::arrow::datatypes::Int64Type>()
                .clone();
            (0..a.len()).map(move |i| a.value(i))
        })
        .collect()
}

/// How many entries of directory `dir` have a name that `matches`.
pub fn count_files(dir: &Path, matches: impl Fn(&str) -> bool) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| matches(&e.as_ref().unwrap().file_name().to_string_lossy()))
        .count()
}
