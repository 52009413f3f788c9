//! Entry lifecycle: expired entries are reclaimed by `cleanup_expired` and at open, and the
//! payload, not a possibly stale catalog row, decides what has expired.

use crate::common;

use std::time::Duration;

use cacheness::{PutOptions, Serde, blocking::Cache, params};

fn short() -> PutOptions {
    PutOptions::default().ttl(Duration::from_millis(100))
}

#[test]
fn cleanup_expired_removes_payloads_and_rows_of_expired_entries_only() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    // Long enough that a loaded machine cannot let it pass before the first cleanup.
    let ttl = Duration::from_secs(2);
    let put_at = std::time::Instant::now();
    for i in 0..5 {
        cache
            .put_with(&Serde(i), &params!(i = i), &PutOptions::default().ttl(ttl))
            .unwrap();
    }
    for i in 5..8 {
        cache.put(&Serde(i), &params!(i = i)).unwrap();
    }
    cache.flush().unwrap();
    assert_eq!(
        cache.cleanup_expired().unwrap(),
        0,
        "nothing has expired yet"
    );
    assert!(
        put_at.elapsed() < ttl,
        "the machine is too slow for this test"
    );
    std::thread::sleep(ttl.saturating_sub(put_at.elapsed()) + Duration::from_millis(50));
    // Expired entries are misses already, but their files stay until cleaned up.
    assert_eq!(common::payload_files(dir.path()).len(), 8);
    assert_eq!(cache.cleanup_expired().unwrap(), 5);
    assert_eq!(common::payload_files(dir.path()).len(), 3);
    assert_eq!(cache.stats().unwrap().removed_expired, 5);
    cache.flush().unwrap();
    let mut left: Vec<String> = common::delta_rows(dir.path())
        .into_iter()
        .map(|r| r.params_json)
        .collect();
    left.sort();
    assert_eq!(left, [r#"{"i":5}"#, r#"{"i":6}"#, r#"{"i":7}"#]);
    assert_eq!(cache.cleanup_expired().unwrap(), 0);
    for i in 5..8 {
        assert_eq!(
            cache.get::<Serde<i32>>(&params!(i = i)).unwrap(),
            Some(Serde(i))
        );
    }
}

#[test]
fn the_payload_decides_and_dangling_rows_go() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let renewed = params!(name = "renewed");
    let dangling = params!(name = "dangling");
    let renewed_key = cache.put_with(&Serde(1), &renewed, &short()).unwrap();
    let dangling_key = cache.put_with(&Serde(2), &dangling, &short()).unwrap();
    cache.flush().unwrap();
    std::thread::sleep(Duration::from_millis(150));
    // Another process put `renewed` again without a TTL, and its catalog row is not visible
    // yet: here, the payload file is replaced by one made in another cache.
    let other_dir = tempfile::tempdir().unwrap();
    let other = common::open_sharing_key(other_dir.path(), dir.path());
    assert_eq!(other.put(&Serde(10), &renewed).unwrap(), renewed_key);
    let rel = format!("blobs/{}/{renewed_key}.cnobj", &renewed_key[..2]);
    std::fs::copy(other_dir.path().join(&rel), dir.path().join(&rel)).unwrap();
    // The payload of `dangling` vanished (a crash between its unlink and the journal).
    let rel = format!("blobs/{}/{dangling_key}.cnobj", &dangling_key[..2]);
    std::fs::remove_file(dir.path().join(rel)).unwrap();

    assert_eq!(cache.cleanup_expired().unwrap(), 1, "only the dangling row");
    assert_eq!(
        cache.get::<Serde<i32>>(&renewed).unwrap(),
        Some(Serde(10)),
        "a live payload is never removed for a stale row"
    );
    cache.flush().unwrap();
    let keys: Vec<String> = common::delta_rows(dir.path())
        .into_iter()
        .map(|r| r.cache_key)
        .collect();
    assert_eq!(keys, [renewed_key]);
}

#[test]
fn cleanup_on_open_reclaims_before_the_first_call() {
    let dir = tempfile::tempdir().unwrap();
    {
        let cache = common::open_files(dir.path()).unwrap();
        cache
            .put_with(&Serde(1), &params!(i = 1), &short())
            .unwrap();
        cache.put(&Serde(2), &params!(i = 2)).unwrap();
        cache.close().unwrap();
    }
    std::thread::sleep(Duration::from_millis(150));
    // Opening without the option leaves the files; with it, the expired one is gone.
    common::open_files(dir.path()).unwrap().close().unwrap();
    assert_eq!(common::payload_files(dir.path()).len(), 2);
    let cache =
        Cache::open_with(common::files_only(dir.path()).with_cleanup_on_open(true)).unwrap();
    assert_eq!(common::payload_files(dir.path()).len(), 1);
    assert_eq!(cache.stats().unwrap().removed_expired, 1);
    cache.close().unwrap();
    // The setting also comes from cacheness.toml.
    cache_with_toml(dir.path(), "cleanup_on_open = true\n");
    std::fs::write(dir.path().join("cacheness.toml"), "cleanup_on_open = 3\n").unwrap();
    let err = common::open_files(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("cacheness.toml") && err.contains("cleanup_on_open"),
        "{err}"
    );
}

/// Put an entry that expires at once, then reopen with `toml` as the config file: the entry's
/// payload is gone when `open` returns.
fn cache_with_toml(root: &std::path::Path, toml: &str) {
    {
        let cache = common::open_files(root).unwrap();
        cache
            .put_with(
                &Serde(3),
                &params!(i = 3),
                &PutOptions::default().ttl(Duration::from_millis(1)),
            )
            .unwrap();
        cache.close().unwrap();
    }
    std::thread::sleep(Duration::from_millis(5));
    std::fs::write(root.join("cacheness.toml"), toml).unwrap();
    let before = common::payload_files(root).len();
    common::open_files(root).unwrap().close().unwrap();
    assert_eq!(common::payload_files(root).len(), before - 1);
}

/// One TTL rule: zero means never (overriding a default), more than 1,000 years is an error
/// naming the key before anything is written, and a default past the limit fails the open.
#[test]
fn ttls_are_range_checked_and_zero_means_never() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open_with(
        common::files_only(dir.path())
            .with_default_ttl(Some(Duration::from_millis(50)))
            .with_lock_across_processes(false),
    )
    .unwrap();
    cache
        .put_with(
            &Serde(1),
            &params!(i = 1),
            &PutOptions::default().ttl(Duration::ZERO),
        )
        .unwrap();
    cache.put(&Serde(2), &params!(i = 2)).unwrap();
    std::thread::sleep(Duration::from_millis(120));
    let never: Option<Serde<i32>> = cache.get(&params!(i = 1)).unwrap();
    assert_eq!(never.map(|s| s.0), Some(1), "a zero TTL never expires");
    let defaulted: Option<Serde<i32>> = cache.get(&params!(i = 2)).unwrap();
    assert!(defaulted.is_none(), "the default TTL applies without one");
    let entry = &cache.list_entries().unwrap()[0];
    assert_eq!(entry.expires_at, None);

    let too_long = Duration::from_secs(96_000_000 * 86_400);
    match cache.put_with(
        &Serde(3),
        &params!(i = 3),
        &PutOptions::default().ttl(too_long),
    ) {
        Err(cacheness::Error::InvalidTtl { key, reason }) => {
            assert_eq!(key, params!(i = 3).key().unwrap());
            assert!(reason.contains("96000000d"), "{reason}");
        }
        other => panic!("expected InvalidTtl, got {other:?}"),
    }
    assert!(!cache.exists(&params!(i = 3)).unwrap());
    assert_eq!(cache.list_entries().unwrap().len(), 1);
    // The longest TTL itself is fine and shows as a real time.
    cache
        .put_with(
            &Serde(4),
            &params!(i = 4),
            &PutOptions::default().ttl(cacheness::config::MAX_TTL),
        )
        .unwrap();
    let year = cache
        .list_entries()
        .unwrap()
        .into_iter()
        .find_map(|e| e.expires_at)
        .map(|t| chrono::Datelike::year(&t))
        .unwrap();
    assert!(year > 2900, "{year}");
    drop(cache);

    let bad_default = tempfile::tempdir().unwrap();
    std::fs::write(
        bad_default.path().join("cacheness.toml"),
        format!("default_ttl_seconds = {}\n", too_long.as_secs()),
    )
    .unwrap();
    let e = common::open_files(bad_default.path())
        .unwrap_err()
        .to_string();
    assert!(e.contains("default_ttl_seconds"), "{e}");
}
