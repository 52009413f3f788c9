//! SQL over `cache_entries`: journaled and committed rows, parameter columns, deletes and
//! replacements, TTL, and errors.

mod common;

use std::time::Duration;

use cacheness::deps::arrow::array::{Array, AsArray, RecordBatch};
use cacheness::deps::arrow::datatypes::Int64Type;
use cacheness::{Error, PutOptions, Serde, params};

fn strings(batches: &[RecordBatch], column: &str) -> Vec<String> {
    let mut out: Vec<String> = batches
        .iter()
        .flat_map(|b| {
            let a = b.column_by_name(column).unwrap().as_string::<i32>().clone();
            (0..a.len()).map(move |i| a.value(i).to_string())
        })
        .collect();
    out.sort();
    out
}

fn count(batches: &[RecordBatch]) -> i64 {
    batches[0].column(0).as_primitive::<Int64Type>().value(0)
}

/// `SELECT count(*) FROM cache_entries WHERE <condition>`.
fn count_where(cache: &cacheness::blocking::Cache, condition: &str) -> i64 {
    count(
        &cache
            .sql(&format!(
                "SELECT count(*) FROM cache_entries WHERE {condition}"
            ))
            .unwrap(),
    )
}

#[test]
fn where_on_parameters_sees_journaled_and_committed_rows() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_quiet(dir.path());
    // Another writer (as another process would): the committer of the cache that queries
    // commits its own pending rows first, so only another writer's stay in the journal.
    let writer = common::open_quiet(dir.path());
    let mut want = Vec::new();
    for epochs in [5, 10, 20, 40] {
        for model in ["xgboost", "lgbm"] {
            let key = writer
                .put(&Serde(epochs), &params!(model = model, epochs = epochs))
                .unwrap();
            if model == "xgboost" && epochs > 10 {
                want.push(key);
            }
        }
    }
    want.sort();
    let q = "SELECT cache_key FROM cache_entries WHERE model = 'xgboost' AND epochs > 10";
    // Nothing is in Delta yet: the rows come from the journal.
    assert!(common::delta_rows(dir.path()).is_empty());
    assert_eq!(strings(&cache.sql(q).unwrap(), "cache_key"), want);
    assert!(common::delta_rows(dir.path()).is_empty());
    writer.flush().unwrap();
    assert_eq!(common::delta_rows(dir.path()).len(), 8);
    assert_eq!(strings(&cache.sql(q).unwrap(), "cache_key"), want);
    let n = cache.sql("SELECT count(*) FROM cache_entries").unwrap();
    assert_eq!(count(&n), 8);
}

#[test]
fn deletes_replacements_and_new_columns_show_before_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_quiet(dir.path());
    for i in 0..10 {
        cache.put(&Serde(i), &params!(i = i)).unwrap();
    }
    cache.flush().unwrap();
    // Changes by another writer, still only in its journal.
    let writer = common::open_quiet(dir.path());
    writer.invalidate(&params!(i = 3)).unwrap();
    writer.put(&Serde(vec![0u8; 300]), &params!(i = 4)).unwrap(); // a replacement
    writer
        .put(&Serde(1), &params!(i = 100, lr = 0.5)) // a column Delta does not have yet
        .unwrap();
    let all = cache
        .sql("SELECT cache_key, i, lr FROM cache_entries ORDER BY i")
        .unwrap();
    let rows: usize = all.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 10, "9 committed + 1 new, minus the deleted one");
    assert_eq!(
        count_where(&cache, "i = 4"),
        1,
        "a replaced entry appears once"
    );
    assert_eq!(
        count_where(&cache, "i = 4 AND raw_bytes > 250"),
        1,
        "with its new size"
    );
    assert_eq!(count_where(&cache, "lr = 0.5"), 1);
    assert_eq!(count_where(&cache, "i = 3"), 0);
    assert_eq!(
        common::delta_rows(dir.path()).len(),
        10,
        "none of it was committed"
    );
}

#[test]
fn expired_entries_are_not_listed() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_quiet(dir.path());
    cache.put(&Serde(1), &params!(i = 1)).unwrap();
    cache
        .put_with(
            &Serde(2),
            &params!(i = 2),
            &PutOptions::default().ttl(Duration::from_millis(1)),
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let n = cache.sql("SELECT count(*) FROM cache_entries").unwrap();
    assert_eq!(count(&n), 1);
}

#[test]
fn bad_statements_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_quiet(dir.path());
    cache.put(&Serde(1), &params!(i = 1)).unwrap();
    for (sql, needle) in [
        ("SELECT nope FROM cache_entries", "nope"),
        ("SELECT * FROM no_such_table", "no_such_table"),
        ("SELEC * FROM cache_entries", "SELEC"),
    ] {
        match cache.sql(sql) {
            Err(Error::Sql(e)) => {
                let msg = e.to_string();
                assert!(msg.contains(needle), "{sql}: {msg}");
            }
            other => panic!("{sql}: expected an SQL error, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_api_answers_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let cache = cacheness::Cache::open(dir.path()).await.unwrap();
    for i in 0..5 {
        cache.put(&Serde(i), &params!(i = i)).await.unwrap();
    }
    let n = cache
        .sql("SELECT count(*) FROM cache_entries WHERE i >= 2")
        .await
        .unwrap();
    assert_eq!(count(&n), 3);
}
