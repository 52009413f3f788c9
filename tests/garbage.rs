//! Garbage on disk outside the payloads: a truncated Delta log file, empty and corrupt journal
//! segments. Each gives a clear error or is skipped, never a panic, and valid entries stay
//! readable (a get never needs the catalog).

use crate::common;

use cacheness::{Serde, params};

fn fill(root: &std::path::Path) -> Vec<cacheness::CacheKey> {
    let cache = common::open_quiet(root);
    let keys = (0..5)
        .map(|i| cache.put(&Serde(i), &params!(i = i)).unwrap())
        .collect();
    cache.close().unwrap();
    keys
}

#[test]
fn a_truncated_delta_log_file_is_a_clear_error_and_gets_still_work() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fill(root);
    let log = root.join("catalog/cache_entries/_delta_log");
    let mut newest: Vec<_> = std::fs::read_dir(&log)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    newest.sort();
    let last = newest.pop().unwrap();
    let text = std::fs::read(&last).unwrap();
    std::fs::write(&last, &text[..text.len() / 2]).unwrap();

    let cache = common::open_quiet(root);
    for i in 0..5 {
        assert_eq!(
            cache.get::<Serde<i32>>(&params!(i = i)).unwrap(),
            Some(Serde(i))
        );
    }
    let err = cache.list_entries().unwrap_err().to_string();
    assert!(err.contains("cache_entries"), "{err}");
    let err = cache
        .sql("SELECT count(*) FROM cache_entries")
        .unwrap_err()
        .to_string();
    assert!(err.contains("cache_entries"), "{err}");
    // Puts keep working: they only journal.
    cache.put(&Serde(9), &params!(i = 9)).unwrap();
    assert_eq!(
        cache.get::<Serde<i32>>(&params!(i = 9)).unwrap(),
        Some(Serde(9))
    );
    // Closing cannot commit it, and says why; the put stays in the journal.
    let err = cache.close().unwrap_err().to_string();
    assert!(err.contains("cache_entries"), "{err}");
    // The way back (docs/RELIABILITY.md): move the damaged table away and repair.
    std::fs::rename(
        root.join("catalog/cache_entries"),
        root.join("damaged_cache_entries"),
    )
    .unwrap();
    let cache = common::open_quiet(root);
    let report = cache.repair().unwrap();
    assert_eq!(cache.list_entries().unwrap().len(), 6, "{report:?}");
    assert!(cache.verify().unwrap().is_clean());
}

#[test]
fn empty_and_corrupt_journal_segments_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let keys = fill(root);
    let journal = root.join("catalog/journal");
    std::fs::write(journal.join("wdeadbeef.000000000001.jnl"), b"").unwrap();
    std::fs::write(
        journal.join("wfeedface.000000000001.jnl"),
        b"\xff\xff\xff\xffnot a journal record at all",
    )
    .unwrap();
    let cache = common::open_quiet(root);
    let mut listed: Vec<cacheness::CacheKey> = cache
        .list_entries()
        .unwrap()
        .into_iter()
        .map(|e| e.cache_key)
        .collect();
    listed.sort();
    let mut want = keys.clone();
    want.sort();
    assert_eq!(listed, want);
    for i in 0..5 {
        assert_eq!(
            cache.get::<Serde<i32>>(&params!(i = i)).unwrap(),
            Some(Serde(i))
        );
    }
    cache.put(&Serde(7), &params!(i = 7)).unwrap();
    cache.flush().unwrap();
    assert_eq!(common::delta_rows(root).len(), 6);
}

#[test]
fn a_corrupt_config_file_is_a_clear_error_and_the_entries_survive_it() {
    let dir = tempfile::tempdir().unwrap();
    let keys = fill(dir.path());
    let config = dir.path().join("cacheness.toml");
    for garbage in [
        b"\xff\xfe\x00binary\x01".as_slice(),
        b"durability = ".as_slice(),
        b"[[[".as_slice(),
        b"no_such_setting = 1".as_slice(),
        b"durability = \"sometimes\"".as_slice(),
    ] {
        std::fs::write(&config, garbage).unwrap();
        let err = cacheness::blocking::Cache::open(dir.path())
            .err()
            .unwrap_or_else(|| panic!("opened with {:?}", String::from_utf8_lossy(garbage)))
            .to_string();
        assert!(err.contains("cacheness.toml"), "{err}");
    }
    std::fs::remove_file(&config).unwrap();
    let cache = common::open_quiet(dir.path());
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(
            cache.get::<Serde<i64>>(&params!(i = i as i64)).unwrap(),
            Some(Serde(i as i64)),
            "{key}"
        );
    }
}
