//! Catalog maintenance: the Delta log and data file counts stay bounded under a long run of
//! puts and invalidations, and two processes maintaining at once lose nothing.

use crate::common;

use std::path::Path;
use std::time::Duration;

use cacheness::{CacheConfig, Serde, blocking::Cache, params};

fn open(root: &Path) -> Cache {
    Cache::open_with(
        CacheConfig::new(root)
            .with_commit_interval(Duration::from_secs(3600))
            .with_maintenance_retention(Duration::ZERO),
    )
    .unwrap()
}

/// (log JSON files, data files) on disk in the catalog table.
fn file_counts(root: &Path) -> (usize, usize) {
    let table = root.join("catalog/cache_entries");
    let count = |dir: &Path, ext: &str| common::count_files(dir, |name| name.ends_with(ext));
    (
        count(&table.join("_delta_log"), ".json"),
        count(&table, ".parquet"),
    )
}

#[test]
fn log_and_data_files_stay_bounded_under_puts_and_invalidations() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let cache = open(root);
    let mut live = std::collections::BTreeSet::new();
    for round in 0..40i64 {
        for i in 0..10 {
            let k = round * 10 + i;
            cache.put(&Serde(k), &params!(k = k)).unwrap();
            live.insert(k);
        }
        for i in (0..10).step_by(2) {
            let k = round * 10 + i;
            cache.invalidate(&params!(k = k)).unwrap();
            live.remove(&k);
        }
        cache.flush().unwrap();
    }
    let (logs_before, data_before) = file_counts(root);
    assert!(
        logs_before > 40 && data_before > 20,
        "{logs_before} {data_before}"
    );
    let report = cache.maintain().unwrap();
    assert!(!report.skipped, "{report:?}");
    assert!(
        report.logs_removed > 30 && report.files_vacuumed > 20,
        "{report:?}"
    );
    let (logs, data) = file_counts(root);
    assert!(logs <= 4, "{logs} log files left");
    assert_eq!(data, report.data_files);
    assert!(data <= 2, "{data} data files left");
    // Nothing was lost: the catalog lists exactly the live entries, in Delta and in SQL.
    let mut listed: Vec<i64> = common::delta_rows(root)
        .iter()
        .map(|r| {
            serde_json::from_str::<serde_json::Value>(&r.params_json).unwrap()["k"]
                .as_i64()
                .unwrap()
        })
        .collect();
    listed.sort();
    assert_eq!(listed, live.iter().copied().collect::<Vec<_>>());
    let n = cache
        .sql("SELECT count(*) AS n FROM cache_entries")
        .unwrap();
    assert_eq!(common::ints(&n, "n"), vec![live.len() as i64]);
    // More work after maintenance commits and reads as usual.
    cache.put(&Serde(-1), &params!(k = -1)).unwrap();
    cache.flush().unwrap();
    assert_eq!(cache.list_entries().unwrap().len(), live.len() + 1);
}

#[test]
fn two_maintainers_at_once_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    {
        let cache = open(&root);
        for round in 0..20i64 {
            for i in 0..5 {
                cache.put(&Serde(0), &params!(k = round * 5 + i)).unwrap();
            }
            cache.flush().unwrap();
        }
    }
    let handles: Vec<_> = (0..2)
        .map(|w| {
            let root = root.clone();
            std::thread::spawn(move || {
                let cache = open(&root);
                let mut reports = Vec::new();
                for i in 0..3i64 {
                    cache.put(&Serde(1), &params!(w = w, i = i)).unwrap();
                    cache.flush().unwrap();
                    reports.push(cache.maintain().unwrap());
                }
                cache.close().unwrap();
                reports
            })
        })
        .collect();
    let reports: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert!(reports.iter().any(|r| !r.skipped));
    let cache = open(&root);
    assert_eq!(cache.list_entries().unwrap().len(), 100 + 6);
    assert_eq!(common::delta_rows(&root).len(), 106);
    assert!(cache.verify().unwrap().is_clean());
}
