//! The catalog tells the truth (`docs/RELIABILITY.md`, "The catalog's invariant"): after
//! `flush`, the catalog holds exactly one row per live payload, describing it. Each test is a
//! way the catalog was found to disagree with the payloads.

use crate::common;

use cacheness::{Serde, params};

#[test]
fn an_invalidate_after_an_outside_deletion_leaves_no_row() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
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
    let listed: Vec<cacheness::CacheKey> = cache
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

#[test]
fn a_put_after_an_outside_deletion_leaves_one_row_describing_the_new_payload() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let p = params!(n = 1);
    let key = cache.put(&Serde("first".to_string()), &p).unwrap();
    cache
        .put(&Serde("other".to_string()), &params!(n = 2))
        .unwrap();
    cache.flush().unwrap();
    std::fs::remove_file(dir.path().join(format!("blobs/{}/{key}.cnobj", &key[..2]))).unwrap();
    // The put finds no payload, so it is journaled as fresh; the table still has a row.
    cache.put(&Serde("second".to_string()), &p).unwrap();
    cache.flush().unwrap();
    let rows = common::delta_rows(dir.path());
    let of_key: Vec<_> = rows.iter().filter(|r| r.cache_key == key).collect();
    assert_eq!(of_key.len(), 1, "one Delta row for the key: {rows:?}");
    assert_eq!(rows.len(), 2);
    let n = cache
        .sql("SELECT count(*) AS n FROM cache_entries")
        .unwrap();
    assert_eq!(common::ints(&n, "n"), vec![2]);
    assert!(cache.verify().unwrap().is_clean(), "{:?}", problems(&cache));
    assert_eq!(
        cache.get::<Serde<String>>(&p).unwrap().map(|s| s.0),
        Some("second".to_string())
    );
    // Also after a reopen, where the first commit reads the keys of the table afresh.
    drop(cache);
    let cache = common::open_files_quiet(dir.path());
    let key2 = cache
        .put(&Serde("third".to_string()), &params!(n = 2))
        .unwrap();
    cache.flush().unwrap();
    std::fs::remove_file(
        dir.path()
            .join(format!("blobs/{}/{key2}.cnobj", &key2[..2])),
    )
    .unwrap();
    drop(cache);
    let cache = common::open_files_quiet(dir.path());
    cache
        .put(&Serde("fourth".to_string()), &params!(n = 2))
        .unwrap();
    cache.flush().unwrap();
    let rows = common::delta_rows(dir.path());
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(cache.verify().unwrap().is_clean(), "{:?}", problems(&cache));
}

#[test]
fn racing_puts_of_one_key_in_different_formats_leave_one_of_them() {
    use cacheness::deps::ndarray::Array1;
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    for round in 0..40 {
        let p = params!(formats = round);
        let barrier = std::sync::Barrier::new(3);
        std::thread::scope(|s| {
            let (cache, barrier, p) = (&cache, &barrier, &p);
            s.spawn(move || {
                barrier.wait();
                cache.put(&Serde(round), p).unwrap();
            });
            s.spawn(move || {
                barrier.wait();
                cache.put(&vec![round as u8; 9], p).unwrap();
            });
            s.spawn(move || {
                barrier.wait();
                cache.put(&Array1::from(vec![round as f64; 3]), p).unwrap();
            });
        });
        // Each put placed its file and removed the others': without the shard lock two of
        // them could remove each other's, leaving nothing.
        let served = [
            matches!(cache.get::<Serde<i64>>(&p), Ok(Some(_))),
            matches!(cache.get::<Vec<u8>>(&p), Ok(Some(_))),
            matches!(cache.get::<Array1<f64>>(&p), Ok(Some(_))),
        ];
        assert_eq!(
            served.iter().filter(|s| **s).count(),
            1,
            "round {round}: {served:?}"
        );
    }
    cache.flush().unwrap();
    assert_eq!(cache.list_entries().unwrap().len(), 40);
    assert!(cache.verify().unwrap().is_clean(), "{:?}", problems(&cache));
}

/// What `verify` finds wrong, by kind.
fn problems(cache: &cacheness::blocking::Cache) -> Vec<String> {
    let report = cache.verify().unwrap();
    report
        .problems
        .iter()
        .map(|p| format!("{:?}: {}", p.kind, p.detail))
        .collect()
}

#[test]
fn racing_puts_of_one_key_leave_the_row_of_the_payload_that_won() {
    let dir = tempfile::tempdir().unwrap();
    let cache = std::sync::Arc::new(common::open_files_quiet(dir.path()));
    for round in 0..12 {
        let p = params!(raced = round);
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let (cache, barrier, p) = (cache.clone(), barrier.clone(), p.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    // Every third thread puts another format under the same key.
                    if t % 3 == 2 {
                        cache.put(&vec![t as u8; 100 + t], &p).unwrap();
                    } else {
                        cache.put(&Serde(format!("thread {t}")), &p).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }
    cache.flush().unwrap();
    assert_eq!(problems(&cache), Vec::<String>::new());
    assert_eq!(cache.list_entries().unwrap().len(), 12);
    assert_eq!(common::delta_rows(dir.path()).len(), 12);
}

#[test]
fn a_payload_whose_put_died_before_journaling_its_row_gets_a_row_made_from_it() {
    use cacheness::PutOptions;
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let p = params!(n = 1);
    let described = |d: &str| PutOptions::default().description(d);
    let key = cache
        .put_with(&Serde("first".to_string()), &p, &described("first"))
        .unwrap();
    // Another process of the cache replaced the payload and was killed before journaling
    // its row: its payload is there, its row nowhere.
    let other = tempfile::tempdir().unwrap();
    let scratch = common::open_sharing_key(other.path(), dir.path());
    scratch
        .put_with(&Serde("second".to_string()), &p, &described("second"))
        .unwrap();
    let rel = format!("blobs/{}/{key}.cnobj", &key[..2]);
    std::fs::copy(other.path().join(&rel), dir.path().join(&rel)).unwrap();
    cache.flush().unwrap();
    assert_eq!(
        cache.get::<Serde<String>>(&p).unwrap(),
        Some(Serde("second".to_string()))
    );
    let rows = common::delta_rows(dir.path());
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].description.as_deref(), Some("second"));
    assert!(cache.verify().unwrap().is_clean());
}

/// The newest commit file of the catalog's Delta log.
fn newest_log_file(root: &std::path::Path) -> std::path::PathBuf {
    let log = root.join("catalog/cache_entries/_delta_log");
    let mut files: Vec<_> = std::fs::read_dir(&log)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files.pop().unwrap()
}

#[test]
fn a_damaged_newest_log_file_is_an_error_never_an_empty_listing() {
    for damage in [
        "",
        "{\"commitInfo\":{\"timestamp\":1}}\n{\"unexpected\":{\"a\":1}}\n",
        "{}\n",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let cache = common::open_files_quiet(dir.path());
        for i in 0..3 {
            cache.put(&Serde(i), &params!(i = i)).unwrap();
            cache.flush().unwrap();
        }
        cache.close().unwrap();
        std::fs::write(newest_log_file(dir.path()), damage).unwrap();
        let cache = common::open_files_quiet(dir.path());
        // Before: 2 entries (the damaged commit read as one of nothing), without an error.
        let text = match cache.list_entries() {
            Ok(entries) => panic!("damage {damage:?}: listed {} entries", entries.len()),
            Err(e) => e.to_string(),
        };
        assert!(
            text.contains("_delta_log") && text.contains("repair"),
            "damage {damage:?}: {text}"
        );
        assert!(cache.sql("SELECT count(*) FROM cache_entries").is_err());
        assert_eq!(
            cache.get::<Serde<i32>>(&params!(i = 1)).unwrap(),
            Some(Serde(1))
        );
    }
}
