//! The Delta catalog: typed parameter columns, type conflicts, listing before commit, and
//! bounded file counts under many commits.

use crate::common;

use std::time::Duration;

use cacheness::deps::arrow::datatypes::DataType;
use cacheness::{CacheConfig, Serde, blocking::Cache, params};

fn delta_schema(root: &std::path::Path) -> cacheness::deps::arrow::datatypes::SchemaRef {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let url = deltalake::ensure_table_uri(root.join("catalog/cache_entries").to_str().unwrap())
            .unwrap();
        let t = deltalake::open_table(url).await.unwrap();
        t.snapshot().unwrap().snapshot().arrow_schema()
    })
}

#[test]
fn parameters_get_typed_columns_and_conflicts_become_null() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_quiet(dir.path());
    cache
        .put(
            &Serde(1),
            &params!(model = "xgboost", epochs = 10, lr = 0.1, tuned = true),
        )
        .unwrap();
    cache.flush().unwrap();
    cache
        .put(&Serde(2), &params!(model = "lgbm", epochs = "ten"))
        .unwrap();
    cache.flush().unwrap();
    let schema = delta_schema(dir.path());
    let ty = |n: &str| schema.field_with_name(n).unwrap().data_type().clone();
    assert_eq!(ty("model"), DataType::Utf8);
    assert_eq!(ty("epochs"), DataType::Int64);
    assert_eq!(ty("lr"), DataType::Float64);
    assert_eq!(ty("tuned"), DataType::Boolean);
    // The conflicting value is NULL in the column but kept in params_json.
    let rows = common::delta_rows(dir.path());
    let lgbm = rows
        .iter()
        .find(|r| r.params_json.contains("lgbm"))
        .unwrap();
    assert_eq!(lgbm.params_json, r#"{"epochs":"ten","model":"lgbm"}"#);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let nulls = rt.block_on(async {
        use cacheness::deps::arrow::array::Array;
        let url =
            deltalake::ensure_table_uri(dir.path().join("catalog/cache_entries").to_str().unwrap())
                .unwrap();
        let t = deltalake::open_table(url).await.unwrap();
        let (_, mut stream) = t
            .scan_table()
            .with_columns(["epochs", "model"])
            .await
            .unwrap();
        let mut nulls = Vec::new();
        use futures::StreamExt;
        while let Some(b) = stream.next().await {
            let b = b.unwrap();
            let epochs = b.column_by_name("epochs").unwrap();
            let model = cacheness::deps::arrow::compute::cast(
                b.column_by_name("model").unwrap(),
                &DataType::Utf8,
            )
            .unwrap();
            let model = model
                .as_any()
                .downcast_ref::<cacheness::deps::arrow::array::StringArray>()
                .unwrap();
            for i in 0..b.num_rows() {
                nulls.push((model.value(i).to_string(), epochs.is_null(i)));
            }
        }
        nulls.sort();
        nulls
    });
    assert_eq!(
        nulls,
        vec![("lgbm".to_string(), true), ("xgboost".to_string(), false)]
    );
}

#[test]
fn listing_sees_puts_before_they_are_committed() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_quiet(dir.path());
    for i in 0..25 {
        cache.put(&Serde(i), &params!(i = i)).unwrap();
    }
    assert!(common::delta_rows(dir.path()).is_empty());
    assert_eq!(cache.list_entries().unwrap().len(), 25);
    // A second process (another open of the same cache) sees them too, from the journal.
    let other = common::open_quiet(dir.path());
    assert_eq!(other.list_entries().unwrap().len(), 25);
    cache.invalidate(&params!(i = 3)).unwrap();
    assert_eq!(other.list_entries().unwrap().len(), 24);
    let stats = cache.stats().unwrap();
    assert_eq!(stats.entries, 24);
    assert_eq!(stats.removed_invalidated, 1);
    // Stats read only the size columns; their totals must be the listing's, before and after
    // the commit, with a replaced entry among them.
    let before = stats;
    cache.put(&Serde(vec![7u64; 500]), &params!(i = 5)).unwrap();
    let totals = |c: &Cache| {
        let entries = c.list_entries().unwrap();
        let stored: u64 = entries.iter().map(|e| e.stored_bytes).sum();
        let raw: u64 = entries.iter().map(|e| e.raw_bytes).sum();
        (entries.len() as u64, stored, raw)
    };
    for _ in 0..2 {
        let stats = other.stats().unwrap();
        assert_eq!(
            (stats.entries, stats.stored_bytes, stats.raw_bytes),
            totals(&other)
        );
        assert_eq!(stats.entries, 24);
        assert!(
            stats.raw_bytes > before.raw_bytes + 400,
            "the replaced entry's size counts"
        );
        cache.flush().unwrap();
    }
}

#[test]
fn a_process_that_only_reads_never_opens_the_catalog_table() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("catalog/cache_entries/_delta_log");
    let cache = common::open_quiet(dir.path());
    assert!(cache.get::<Serde<i32>>(&params!(i = 1)).unwrap().is_none());
    cache.close().unwrap();
    assert!(
        !log.exists(),
        "closing a reader opened (created) the Delta table"
    );
    // Left open and idle, the committer opens the table in the background (when it replays
    // the journals of dead writers), and that does not commit a pending row before its time.
    let idle = common::open_quiet(dir.path());
    idle.put(&Serde(1), &params!(i = 1)).unwrap();
    common::wait_until("the idle committer never opened the table", || log.exists());
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        common::delta_rows(dir.path()).is_empty(),
        "the idle open committed a pending row"
    );
    assert_eq!(idle.list_entries().unwrap().len(), 1);
}

#[test]
fn the_group_commit_fires_on_its_own_within_the_interval() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open_with(
        CacheConfig::new(dir.path()).with_commit_interval(Duration::from_millis(100)),
    )
    .unwrap();
    cache.put(&Serde(1), &params!(i = 1)).unwrap();
    common::wait_until("no group commit happened", || {
        !common::delta_rows(dir.path()).is_empty()
    });
    // A batch bounded by rows: 50 puts with max_rows 10 commit without waiting for the interval.
    let dir2 = tempfile::tempdir().unwrap();
    let rows_bound = Cache::open_with(
        CacheConfig::new(dir2.path())
            .with_commit_interval(Duration::from_secs(3600))
            .with_commit_max_rows(10),
    )
    .unwrap();
    for i in 0..50 {
        rows_bound.put(&Serde(i), &params!(i = i)).unwrap();
    }
    common::wait_until("row-bounded commits did not happen", || {
        common::delta_rows(dir2.path()).len() >= 40
    });
}

#[test]
fn many_commits_keep_data_files_and_log_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_quiet(dir.path());
    for batch in 0..60 {
        for i in 0..5 {
            cache.put(&Serde(i), &params!(b = batch, i = i)).unwrap();
        }
        if batch % 7 == 0 {
            cache.invalidate(&params!(b = batch, i = 0)).unwrap();
        }
        cache.flush().unwrap();
    }
    assert_eq!(cache.list_entries().unwrap().len(), 300 - 9);
    let log = dir.path().join("catalog/cache_entries/_delta_log");
    let checkpoints = common::count_files(&log, |name| name.contains("checkpoint"));
    assert!(checkpoints >= 1, "no checkpoint after 60 commits");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let live_files = rt.block_on(async {
        let d = cacheness::catalog::delta::DeltaCatalog::open(
            &dir.path().join("catalog/cache_entries"),
        )
        .await
        .unwrap();
        d.file_count()
    });
    assert!(
        live_files <= 24,
        "{live_files} live data files after 60 commits: compaction is not running"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_api_matches_the_blocking_one() {
    let dir = tempfile::tempdir().unwrap();
    let cache = cacheness::Cache::open(dir.path()).await.unwrap();
    let p = params!(model = "xgboost");
    let key = cache.put(Serde(vec![1u8, 2]), &p).await.unwrap();
    assert_eq!(
        cache.get::<Serde<Vec<u8>>>(&p).await.unwrap(),
        Some(Serde(vec![1, 2]))
    );
    assert_eq!(
        cache.get::<Serde<Vec<u8>>>(&key).await.unwrap(),
        Some(Serde(vec![1, 2]))
    );
    assert!(cache.exists(&p).await.unwrap());
    let (_, info) = cache
        .get_with_metadata::<Serde<Vec<u8>>>(&p)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.cache_key, key);
    assert_eq!(info.params, serde_json::json!({"model": "xgboost"}));
    assert_eq!(cache.list_entries().await.unwrap().len(), 1);
    cache.flush().await.unwrap();
    assert_eq!(cache.stats().await.unwrap().entries, 1);
    assert!(cache.invalidate(&p).await.unwrap());
    assert_eq!(cache.clear().await.unwrap(), 0);
    cache.close().await.unwrap();
    assert!(matches!(
        cache.get::<Serde<Vec<u8>>>(&p).await,
        Err(cacheness::Error::Closed { .. })
    ));
}

#[test]
fn a_batch_of_thousands_of_replacements_and_deletes_commits() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_quiet(dir.path());
    for i in 0..2500 {
        cache.put(&Serde(i), &params!(i = i)).unwrap();
    }
    cache.flush().unwrap();
    // One segment: 1,500 deletes, 1,000 overwrites, 2,500 new keys, and a put+delete pair.
    for i in 0..1500 {
        cache.invalidate(&params!(i = i)).unwrap();
    }
    for i in 1500..2500 {
        cache.put(&Serde(-i), &params!(i = i)).unwrap();
    }
    for i in 2500..5000 {
        cache.put(&Serde(i), &params!(i = i)).unwrap();
    }
    cache.put(&Serde(0), &params!(tmp = 1)).unwrap();
    cache.invalidate(&params!(tmp = 1)).unwrap();
    cache.flush().unwrap();
    let rows = common::delta_rows(dir.path());
    assert_eq!(rows.len(), 3500);
    let keys: std::collections::HashSet<_> = rows.iter().map(|r| r.cache_key.clone()).collect();
    assert_eq!(keys.len(), 3500, "duplicate rows after replacements");
    assert!(!keys.contains(params!(i = 0).key().unwrap().as_str()));
    assert!(keys.contains(params!(i = 1500).key().unwrap().as_str()));
    assert_eq!(
        cache.get::<Serde<i32>>(&params!(i = 1500)).unwrap(),
        Some(Serde(-1500))
    );
}

#[test]
fn fsync_durability_writes_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open_with(
        CacheConfig::new(dir.path())
            .with_durability(cacheness::Durability::Fsync)
            .with_commit_interval(Duration::from_secs(3600)),
    )
    .unwrap();
    assert_eq!(cache.config().durability, cacheness::Durability::Fsync);
    for i in 0..20 {
        cache.put(&Serde(i), &params!(i = i)).unwrap();
    }
    assert_eq!(
        cache.get::<Serde<i32>>(&params!(i = 7)).unwrap(),
        Some(Serde(7))
    );
    cache.flush().unwrap();
    assert_eq!(common::delta_rows(dir.path()).len(), 20);
    // The setting also comes from cacheness.toml.
    let dir2 = tempfile::tempdir().unwrap();
    std::fs::write(
        dir2.path().join("cacheness.toml"),
        "durability = \"fsync\"\n",
    )
    .unwrap();
    let c2 = Cache::open(dir2.path()).unwrap();
    assert_eq!(c2.config().durability, cacheness::Durability::Fsync);
}

/// `EntryInfo` types its data type and format; a catalog row of a type this version does not
/// know (written by a newer version, or by hand) is left out of listings rather than shown
/// as an entry no get could read, and `verify` reports it.
#[test]
fn a_row_of_an_unknown_data_type_is_left_out_of_listings_and_verify_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_quiet(dir.path());
    let key = cache.put(&Serde(1), &params!(model = "m")).unwrap();
    cache.flush().unwrap();
    let entries = cache.list_entries().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].data_type, cacheness::DataType::Object);
    assert_eq!(entries[0].format, cacheness::Format::Container);
    let json = serde_json::to_value(&entries[0]).unwrap();
    assert_eq!(
        json["data_type"], "object",
        "serialized as the catalog names it"
    );
    assert_eq!(
        json["format"], "cnobj",
        "serialized as the catalog names it"
    );

    let mut row = common::delta_rows(dir.path())
        .into_iter()
        .find(|r| r.cache_key == key)
        .unwrap();
    // Someone rewrites the row (the commit keeps it: it names the payload's content hash).
    row.data_type = "hologram".into();
    cache
        .catalog()
        .submit(cacheness::catalog::CatalogOp::Put {
            row: Box::new(row),
            replaces: true,
        })
        .unwrap();
    cache.flush().unwrap();
    assert!(
        common::delta_rows(dir.path())
            .iter()
            .any(|r| r.data_type == "hologram"),
        "the row reached the table"
    );
    assert_eq!(cache.list_entries().unwrap(), vec![]);
    let report = cache.verify().unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.cache_key.as_deref() == Some(key.as_str())),
        "{report:?}"
    );
    // The payload is untouched: a get still reads it.
    assert_eq!(
        cache.get::<Serde<i32>>(&params!(model = "m")).unwrap(),
        Some(Serde(1))
    );
}
