//! SQL over the cache: `cache_entries` (journaled and committed rows, parameter columns, deletes
//! and replacements, TTL, errors), cached tables (`cached_table`, entry names), and the
//! catalog's history (`cache_history`, `cache_entries_at`).

use crate::common;

use std::time::Duration;

use std::sync::Arc;

use cacheness::deps::arrow::array::{AsArray, Float64Array, Int64Array, RecordBatch, StringArray};
use cacheness::deps::arrow::datatypes::{DataType, Field, Int64Type, Schema};
use cacheness::{Error, PutOptions, Serde, params};

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
    let cache = common::open_files_quiet(dir.path());
    // Another writer (as another process would): the committer of the cache that queries
    // commits its own pending rows first, so only another writer's stay in the journal.
    let writer = common::open_files_quiet(dir.path());
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
    assert_eq!(common::strings(&cache.sql(q).unwrap(), "cache_key"), want);
    assert!(common::delta_rows(dir.path()).is_empty());
    writer.flush().unwrap();
    assert_eq!(common::delta_rows(dir.path()).len(), 8);
    assert_eq!(common::strings(&cache.sql(q).unwrap(), "cache_key"), want);
    let n = cache.sql("SELECT count(*) FROM cache_entries").unwrap();
    assert_eq!(count(&n), 8);
}

#[test]
fn deletes_replacements_and_new_columns_show_before_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    for i in 0..10 {
        cache.put(&Serde(i), &params!(i = i)).unwrap();
    }
    cache.flush().unwrap();
    // Changes by another writer, still only in its journal.
    let writer = common::open_files_quiet(dir.path());
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
    let cache = common::open_files_quiet(dir.path());
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
    let cache = common::open_files_quiet(dir.path());
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
        cache.put(Serde(i), &params!(i = i)).await.unwrap();
    }
    let n = cache
        .sql("SELECT count(*) FROM cache_entries WHERE i >= 2")
        .await
        .unwrap();
    assert_eq!(count(&n), 3);
}

fn sql_error(cache: &cacheness::blocking::Cache, sql: &str) -> String {
    match cache.sql(sql) {
        Err(Error::Sql(e)) => e.to_string(),
        other => panic!("{sql}: expected an SQL error, got {other:?}"),
    }
}

fn prices(n: i64) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("day", DataType::Int64, false),
        Field::new("symbol", DataType::Utf8, false),
        Field::new("price", DataType::Float64, false),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(0..n)),
            Arc::new(StringArray::from_iter_values(
                (0..n).map(|i| if i % 2 == 0 { "AAPL" } else { "MSFT" }),
            )),
            Arc::new(Float64Array::from_iter_values(
                (0..n).map(|i| i as f64 * 0.5),
            )),
        ],
    )
    .unwrap()
}

#[test]
fn cached_tables_are_queried_by_key_and_by_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let table = prices(1000);
    let key = cache
        .put(
            &table,
            &params!(source = "prices", version = 2, scale = 0.5),
        )
        .unwrap();
    cache
        .put(
            &prices(10),
            &params!(source = "prices", version = 3, scale = 0.5),
        )
        .unwrap();
    let by_params = cache
        .sql("SELECT count(*), sum(day) AS s FROM cached_table('source', 'prices', 'version', 2, 'scale', 0.5) WHERE symbol = 'MSFT'")
        .unwrap();
    assert_eq!(count(&by_params), 500);
    assert_eq!(
        common::ints(&by_params, "s"),
        vec![(0..1000).filter(|i| i % 2 == 1).sum::<i64>()]
    );
    // By key, with a projection, a join against the catalog, and the same values as a get.
    let by_key = cache
        .sql(&format!(
            "SELECT t.day, t.price, e.version FROM cached_table('{key}') t \
             JOIN cache_entries e ON e.cache_key = '{key}' ORDER BY t.day"
        ))
        .unwrap();
    let days = common::ints(&by_key, "day");
    assert_eq!(days, (0..1000).collect::<Vec<_>>());
    assert_eq!(common::ints(&by_key, "version"), vec![2; 1000]);
    let price: Vec<f64> = by_key
        .iter()
        .flat_map(|b| {
            b.column_by_name("price")
                .unwrap()
                .as_primitive::<cacheness::deps::arrow::datatypes::Float64Type>()
                .values()
                .to_vec()
        })
        .collect();
    assert_eq!(price, (0..1000).map(|i| i as f64 * 0.5).collect::<Vec<_>>());
    // Parameters in another order give the same entry; a missing one names what was asked.
    let reordered = cache
        .sql("SELECT count(*) FROM cached_table('scale', 0.5, 'version', 3, 'source', 'prices')")
        .unwrap();
    assert_eq!(count(&reordered), 10);
    let msg = sql_error(
        &cache,
        "SELECT * FROM cached_table('source', 'prices', 'version', 4, 'scale', 0.5)",
    );
    assert!(
        msg.contains("no cached entry") && msg.contains("version=4"),
        "{msg}"
    );
}

#[test]
fn cached_table_refuses_what_is_not_a_valid_table() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let obj = cache
        .put(&Serde(vec![1, 2, 3]), &params!(kind = "object"))
        .unwrap();
    let msg = sql_error(&cache, &format!("SELECT * FROM cached_table('{obj}')"));
    assert!(
        msg.contains(obj.as_str()) && msg.contains("object") && msg.contains("not an Arrow table"),
        "{msg}"
    );
    for (call, needle) in [
        ("cached_table('not-a-key')", "not-a-key"),
        ("cached_table(42)", "cache key"),
        ("cached_table('a', 1, 'b')", "pairs"),
        ("cached_table(1, 2)", "parameter name"),
    ] {
        let msg = sql_error(&cache, &format!("SELECT * FROM {call}"));
        assert!(msg.contains(needle), "{call}: {msg}");
    }
    // A damaged payload is never served: the query fails, and the payload is gone, as after a get.
    let key = cache.put(&prices(100), &params!(kind = "table")).unwrap();
    let path = dir
        .path()
        .join(format!("blobs/{}/{key}.parquet", &key[..2]));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[10] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let msg = sql_error(
        &cache,
        &format!("SELECT count(*) FROM cached_table('{key}')"),
    );
    assert!(msg.contains("no cached entry"), "{msg}");
    assert!(!path.exists(), "the corrupt payload is removed");
}

#[test]
fn cached_tables_are_queried_by_entry_name_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let named = |n: &str| PutOptions::default().name(n);
    let old = cache
        .put_with(
            &prices(100),
            &params!(split = "train", day = 1),
            &named("train"),
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(5));
    let new = cache
        .put_with(
            &prices(10),
            &params!(split = "train", day = 2),
            &named("train"),
        )
        .unwrap();
    cache
        .put(&prices(7), &params!(split = "test", day = 2))
        .unwrap();
    // The newest entry of the name answers, still only in the journal.
    assert!(common::delta_rows(dir.path()).is_empty());
    let q = "SELECT count(*), sum(day) AS s FROM train WHERE symbol = 'MSFT'";
    let n = cache.sql(q).unwrap();
    assert_eq!(
        (count(&n), common::ints(&n, "s")),
        (5, vec![1 + 3 + 5 + 7 + 9])
    );
    // The name is a catalog column, and a named table joins like any other.
    let names = cache
        .sql("SELECT cache_key FROM cache_entries WHERE entry_name = 'train' ORDER BY created_at")
        .unwrap();
    assert_eq!(
        common::strings(&names, "cache_key"),
        vec![old.clone(), new.clone()]
    );
    let joined = cache
        .sql(&format!(
            "SELECT DISTINCT e.day FROM train t JOIN cache_entries e ON e.cache_key = '{new}'"
        ))
        .unwrap();
    assert_eq!(common::ints(&joined, "day"), vec![2]);
    // It is stored with the entry: listings and the payload's own metadata carry it.
    let listed = cache.list_entries().unwrap();
    let listed_name = |k: &str| {
        listed
            .iter()
            .find(|e| e.cache_key == k)
            .unwrap()
            .name
            .clone()
    };
    assert_eq!(listed_name(&new).as_deref(), Some("train"));
    assert_eq!(
        cache.info(&old).unwrap().unwrap().name.as_deref(),
        Some("train")
    );
    // Committed to Delta, and after a touch (which rewrites the payload), the same.
    assert!(cache.touch(&params!(split = "train", day = 2)).unwrap());
    cache.flush().unwrap();
    assert_eq!(
        cache.info(&new).unwrap().unwrap().name.as_deref(),
        Some("train")
    );
    assert_eq!(count(&cache.sql("SELECT count(*) FROM train").unwrap()), 10);
    // Once the newest goes, the name falls back to the one before it.
    cache.invalidate(&new).unwrap();
    assert_eq!(
        count(&cache.sql("SELECT count(*) FROM train").unwrap()),
        100
    );
    cache.invalidate(&old).unwrap();
    let msg = sql_error(&cache, "SELECT * FROM train");
    assert!(msg.contains("train") && msg.contains("not found"), "{msg}");
}

#[test]
fn entry_names_are_checked_and_never_shadow_other_tables() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    // A name the SQL could not use, or that a built-in table has, is refused before any write.
    for bad in ["Train", "cache_entries", "cache_mine", "a;drop", "../x", ""] {
        let err = cache
            .put_with(
                &prices(3),
                &params!(i = 1),
                &PutOptions::default().name(bad),
            )
            .unwrap_err();
        assert!(
            err.to_string().contains("invalid table name"),
            "{bad}: {err}"
        );
    }
    assert_eq!(count_where(&cache, "true"), 0);
    assert!(common::payload_files(dir.path()).is_empty());
    // A custom metadata table's name cannot be an entry's, nor the reverse.
    let columns = Schema::new(vec![Field::new("score", DataType::Float64, true)]);
    cache.declare_metadata_table("runs", &columns).unwrap();
    let err = cache
        .put_with(
            &prices(3),
            &params!(i = 1),
            &PutOptions::default().name("runs"),
        )
        .unwrap_err();
    assert!(err.to_string().contains("metadata table"), "{err}");
    let key = cache
        .put_with(
            &prices(3),
            &params!(i = 2),
            &PutOptions::default().name("scores"),
        )
        .unwrap();
    let err = cache
        .declare_metadata_table("scores", &columns)
        .unwrap_err();
    assert!(err.to_string().contains(key.as_str()), "{err}");
    // A named entry that is not a table is named in the error.
    let weights = cache
        .put_with(
            &Serde(vec![0.5, 0.25]),
            &params!(w = 1),
            &PutOptions::default().name("weights"),
        )
        .unwrap();
    let msg = sql_error(&cache, "SELECT * FROM weights");
    assert!(
        msg.contains(weights.as_str()) && msg.contains("not an Arrow table"),
        "{msg}"
    );
    // Entries without a name are not tables by any name.
    let msg = sql_error(&cache, "SELECT * FROM nobody");
    assert!(msg.contains("nobody") && msg.contains("not found"), "{msg}");
}

#[test]
fn history_lists_versions_and_entries_can_be_read_as_of_one() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let before = chrono::Utc::now();
    for i in 0..5 {
        cache.put(&Serde(i), &params!(i = i)).unwrap();
    }
    cache.flush().unwrap();
    let first = cache
        .sql("SELECT max(version) AS v FROM cache_history")
        .unwrap();
    let first = common::ints(&first, "v")[0];
    std::thread::sleep(Duration::from_millis(20));
    let between = chrono::Utc::now();
    std::thread::sleep(Duration::from_millis(20));
    cache.invalidate(&params!(i = 3)).unwrap();
    let new_key = cache.put(&Serde(10), &params!(i = 10, lr = 0.1)).unwrap();
    cache.flush().unwrap();

    let history = cache
        .sql("SELECT version, operation, files_added, rows_added, rows_removed, rows FROM cache_history ORDER BY version")
        .unwrap();
    let versions = common::ints(&history, "version");
    assert_eq!(versions, (0..versions.len() as i64).collect::<Vec<_>>());
    assert!(
        common::strings(&history, "operation")
            .iter()
            .all(|o| !o.is_empty())
    );
    let rows = common::ints(&history, "rows");
    assert_eq!(rows[first as usize], 5, "5 rows after the first commit");
    assert_eq!(*rows.last().unwrap(), 5, "one deleted, one added");
    let added: i64 = common::ints(&history, "rows_added").iter().sum();
    let removed: i64 = common::ints(&history, "rows_removed").iter().sum();
    assert_eq!(added - removed, 5);

    let at = |arg: &str| {
        cache
            .sql(&format!("SELECT i FROM cache_entries_at({arg}) ORDER BY i"))
            .unwrap()
    };
    assert_eq!(
        common::ints(&at(&first.to_string()), "i"),
        vec![0, 1, 2, 3, 4]
    );
    assert_eq!(
        common::ints(&at(&format!("'{}'", between.to_rfc3339())), "i"),
        vec![0, 1, 2, 3, 4]
    );
    assert_eq!(
        common::ints(&at(&format!("TIMESTAMP '{}'", between.naive_utc())), "i"),
        vec![0, 1, 2, 3, 4]
    );
    assert_eq!(common::ints(&at("now()"), "i"), vec![0, 1, 2, 4, 10]);
    assert!(
        at(&format!(
            "'{}'",
            (before - chrono::Duration::days(1)).to_rfc3339()
        ))
        .iter()
        .all(|b| b.num_rows() == 0)
    );
    // Filters and projections apply to the old version too.
    let filtered = cache
        .sql(&format!(
            "SELECT cache_key FROM cache_entries_at({first}) WHERE i >= 3"
        ))
        .unwrap();
    assert_eq!(common::strings(&filtered, "cache_key").len(), 2);

    // Set operations with today's table (whose columns differ in nullability and number).
    let added = cache
        .sql(&format!(
            "SELECT cache_key FROM cache_entries EXCEPT SELECT cache_key FROM cache_entries_at({first})"
        ))
        .unwrap();
    assert_eq!(common::strings(&added, "cache_key"), vec![new_key]);
    let lr = cache
        .sql(&format!(
            "SELECT count(*) FROM cache_entries_at({first}) WHERE lr IS NULL"
        ))
        .unwrap();
    assert_eq!(
        count(&lr),
        5,
        "a column added later is NULL in older versions"
    );

    let msg = sql_error(&cache, "SELECT * FROM cache_entries_at(999)");
    assert!(msg.contains("no version 999"), "{msg}");
    let msg = sql_error(&cache, "SELECT * FROM cache_entries_at('yesterday-ish')");
    assert!(msg.contains("yesterday-ish"), "{msg}");
}

/// SQL over a cache only reads: every statement kind DataFusion parses that is not a query is
/// refused before it runs, and the cache, the catalog and the file system are as before.
#[test]
fn only_queries_run_every_other_statement_kind_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    cache
        .put_with(
            &Serde(1),
            &params!(model = "xgboost"),
            &PutOptions::default().description("kept"),
        )
        .unwrap();
    cache.flush().unwrap();
    let key_file = dir.path().join("signing.key");
    let key_before = std::fs::read(&key_file).unwrap();
    let target = outside.path().join("written.csv");
    let t = target.display();
    let k = key_file.display();
    let refused = [
        format!(
            "COPY (SELECT '{}' AS k) TO '{k}' STORED AS CSV",
            "0".repeat(64)
        ),
        format!("COPY (SELECT 1 AS a) TO '{t}' STORED AS CSV"),
        format!("COPY cache_entries TO '{t}' STORED AS PARQUET"),
        format!("EXPLAIN COPY (SELECT 1 AS a) TO '{t}' STORED AS CSV"),
        format!("EXPLAIN ANALYZE COPY (SELECT 1 AS a) TO '{t}' STORED AS CSV"),
        "CREATE EXTERNAL TABLE pw STORED AS CSV LOCATION '/etc/passwd'".into(),
        format!("CREATE EXTERNAL TABLE w (a INT) STORED AS CSV LOCATION '{t}'"),
        "CREATE TABLE t (a INT)".into(),
        "CREATE TABLE t AS SELECT 1 AS a".into(),
        "CREATE OR REPLACE TABLE cache_entries AS SELECT 1 AS a".into(),
        "CREATE VIEW v AS SELECT 1 AS a".into(),
        "CREATE SCHEMA s".into(),
        "CREATE DATABASE d".into(),
        "CREATE FUNCTION f(INT) RETURNS INT RETURN $1 + 1".into(),
        "DROP TABLE cache_entries".into(),
        "DROP TABLE IF EXISTS cache_entries".into(),
        "DROP VIEW IF EXISTS v".into(),
        "DROP SCHEMA IF EXISTS public".into(),
        "DROP FUNCTION IF EXISTS f".into(),
        "INSERT INTO cache_entries SELECT * FROM cache_entries".into(),
        "INSERT INTO cache_entries (description) VALUES ('x')".into(),
        "EXPLAIN ANALYZE INSERT INTO cache_entries SELECT * FROM cache_entries".into(),
        "UPDATE cache_entries SET description = 'changed'".into(),
        "DELETE FROM cache_entries".into(),
        "TRUNCATE cache_entries".into(),
        "SET datafusion.execution.batch_size = 1".into(),
        "SET TIME ZONE = 'UTC'".into(),
        "PREPARE p(INT) AS SELECT $1".into(),
        "EXECUTE p(1)".into(),
        "DEALLOCATE p".into(),
        "BEGIN".into(),
        "START TRANSACTION".into(),
        "COMMIT".into(),
        "ROLLBACK".into(),
        "SELECT 1; DROP TABLE cache_entries".into(),
        "CREATE INDEX i ON cache_entries (model)".into(),
        "ALTER TABLE cache_entries ADD COLUMN x INT".into(),
        "GRANT SELECT ON cache_entries TO public".into(),
    ];
    for sql in &refused {
        let e = sql_error(&cache, sql);
        // Statements DataFusion can plan are refused by the read-only check; the others fail
        // to plan at all. Either way nothing runs.
        let planned_and_refused = e.contains("SQL over a cache only reads");
        let unsupported = e.contains("not supported")
            || e.contains("Unsupported")
            || e.contains("only supports a single SQL statement");
        assert!(planned_and_refused || unsupported, "{sql}: {e}");
    }
    assert!(!target.exists(), "a refused statement wrote {t}");
    assert_eq!(std::fs::read(&key_file).unwrap(), key_before);
    assert_eq!(count_where(&cache, "description = 'kept'"), 1);
    let got: Option<Serde<i32>> = cache.get(&params!(model = "xgboost")).unwrap();
    assert_eq!(got.map(|s| s.0), Some(1));
    // The same statement kinds that only read do run.
    for sql in [
        "SELECT count(*) FROM cache_entries",
        "WITH x AS (SELECT 1 AS a) SELECT a FROM x",
        "VALUES (1), (2)",
        "SELECT 1 UNION ALL SELECT 2",
        "EXPLAIN SELECT * FROM cache_entries",
        "DESCRIBE cache_entries",
        "SELECT * FROM cache_entries WHERE cache_key IN (SELECT cache_key FROM cache_entries)",
    ] {
        cache
            .sql(sql)
            .unwrap_or_else(|e| panic!("{sql} should run: {e}"));
    }
}

/// One put with 10,000 parameters is stored and found, but adds no typed column: the schema
/// every later commit and scan carries stays small (the parameters are in `params_json`).
#[test]
fn a_put_with_thousands_of_parameters_does_not_grow_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let mut wide = cacheness::Params::new();
    for i in 0..10_000 {
        wide = wide.with(&format!("p{i}"), i);
    }
    cache.put(&Serde(1), &wide).unwrap();
    cache.put(&Serde(2), &params!(model = "small")).unwrap();
    cache.flush().unwrap();
    let batches = cache.sql("SELECT * FROM cache_entries").unwrap();
    let columns: Vec<String> = batches[0]
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert!(columns.len() < 20, "{} columns", columns.len());
    assert!(columns.contains(&"model".to_string()));
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
    assert_eq!(
        count_where(&cache, "params_json LIKE '%\"p9999\":9999%'"),
        1
    );
    let got: Option<Serde<i32>> = cache.get(&wide).unwrap();
    assert_eq!(got.map(|s| s.0), Some(1));
    assert!(cache.invalidate(&wide).unwrap());
    cache.flush().unwrap();
    assert_eq!(count_where(&cache, "true"), 1);
}
