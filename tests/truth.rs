//! The catalog tells the truth (`docs/RELIABILITY.md`, "The catalog's invariant"): after
//! `flush`, the catalog holds exactly one row per live payload, describing it. Each test is a
//! way the catalog was found to disagree with the payloads.

mod common;

use cacheness::{Serde, params};

#[test]
fn an_invalidate_after_an_outside_deletion_leaves_no_row() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_quiet(dir.path());
    let (gone, kept) = (params!(n = 1), params!(n = 2));
    let key = cache
        .put(&Serde("deleted by hand".to_string()), &gone)
        .unwrap();
    cache.put(&Serde("kept".to_string()), &kept).unwrap();
    cache.flush().unwrap();
    // A cleanup script removes the payload behind the cache's back.
    std::fs::remove_file(dir.path().join(format!("blobs/{}/{key}.cnobj", &key[..2]))).unwrap();
    assert!(
        !cache.invalidate(&gone).unwrap(),
        "there was no live entry to invalidate"
    );
    cache.flush().unwrap();
    let listed: Vec<String> = cache
        .list_entries()
        .unwrap()
        .into_iter()
        .map(|e| e.cache_key)
        .collect();
    assert!(!listed.contains(&key), "{listed:?}");
    assert_eq!(listed.len(), 1);
    let rows = common::delta_rows(dir.path());
    assert_eq!(rows.len(), 1, "the Delta table holds the kept entry alone");
    assert!(cache.verify().unwrap().is_clean());
    // Invalidating a key that never existed changes nothing.
    assert!(!cache.invalidate(&params!(n = 3)).unwrap());
    cache.flush().unwrap();
    assert_eq!(common::delta_rows(dir.path()).len(), 1);
}
