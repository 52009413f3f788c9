//! A cache written by the release before the small-entry store (issue 24) opens and serves
//! every entry. The fixture `tests/data/cache-before-small-store/` was written by that
//! release's CLI (commit 64d05e5), one entry per kind, each keyed by `kind`:
//!
//! ```sh
//! cacheness put --dir D greeting.txt -p kind=bytes        # 52 bytes
//! cacheness put --dir D doc.json     -p kind=json
//! cacheness put --dir D t.csv        -p kind=table        # id,x: 1,0.5 2,1.5 3,2.5
//! cacheness put --dir D a.npy        -p kind=array        # arange(12, int64).reshape(3, 4)
//! cacheness put --dir D big.bin      -p kind=large_bytes  # 100,000 bytes: \`large_bytes()\`
//! ```
//!
//! Its signing key is in it (`signing.key`), as a cache's is by default.

use cacheness::deps::arrow::array::{AsArray, RecordBatch};
use cacheness::deps::arrow::datatypes::{Float64Type, Int64Type};
use cacheness::deps::ndarray::ArrayD;
use cacheness::params;

use crate::common;

/// The large value: 100,000 bytes of xorshift64 (they do not compress, so its payload is
/// larger than the small-entry store takes).
fn large_bytes() -> Vec<u8> {
    let mut next = common::xorshift(0x9e37_79b9_7f4a_7c15);
    (0..100_000).map(|_| next() as u8).collect()
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A copy of the fixture to open (a cache writes to its directory).
fn fixture() -> tempfile::TempDir {
    let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/cache-before-small-store");
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&from, dir.path());
    // Git keeps no file modes but the executable bit; the cache's own key file is 0600, and
    // the cache refuses a key that others can read.
    use std::os::unix::fs::PermissionsExt;
    let key = dir.path().join("signing.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    dir
}

#[test]
fn every_entry_of_a_cache_written_before_the_small_entry_store_is_served() {
    let dir = fixture();
    let cache = common::open_quiet(dir.path());
    assert_eq!(
        cache.get::<Vec<u8>>(&params!(kind = "bytes")).unwrap(),
        Some(b"hello from the release before the small-entry store\n".to_vec())
    );
    assert_eq!(
        cache
            .get::<serde_json::Value>(&params!(kind = "json"))
            .unwrap(),
        Some(serde_json::json!({"model": "xgboost", "auc": 0.91}))
    );
    let table: RecordBatch = cache.get(&params!(kind = "table")).unwrap().unwrap();
    assert_eq!(table.num_rows(), 3);
    let ids: Vec<i64> = table
        .column(0)
        .as_primitive::<Int64Type>()
        .values()
        .to_vec();
    let xs: Vec<f64> = table
        .column(1)
        .as_primitive::<Float64Type>()
        .values()
        .to_vec();
    assert_eq!((ids, xs), (vec![1, 2, 3], vec![0.5, 1.5, 2.5]));
    let array: ArrayD<i64> = cache.get(&params!(kind = "array")).unwrap().unwrap();
    assert_eq!(array.shape(), &[3, 4]);
    assert_eq!(
        array.iter().copied().collect::<Vec<_>>(),
        (0..12).collect::<Vec<_>>()
    );
    assert_eq!(
        cache
            .get::<Vec<u8>>(&params!(kind = "large_bytes"))
            .unwrap(),
        Some(large_bytes())
    );
    let listed = cache.list_entries().unwrap();
    assert_eq!(listed.len(), 5);
    assert!(cache.verify().unwrap().is_clean());
    let stats = cache.stats().unwrap();
    assert_eq!(
        (stats.removed_corrupt, stats.removed_invalid_signature),
        (0, 0)
    );
}
