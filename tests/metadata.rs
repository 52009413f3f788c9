//! Custom metadata tables: declared schemas, rows attached at put time or later, joined to
//! `cache_entries` in SQL, and gone with their entries.

use crate::common;

use std::sync::Arc;

use cacheness::deps::arrow::array::{AsArray, Float64Array, Int64Array, RecordBatch, StringArray};
use cacheness::deps::arrow::datatypes::{DataType, Field, Float64Type, Schema};
use cacheness::{Error, PutOptions, Serde, params};

fn experiments_schema() -> Schema {
    Schema::new(vec![
        Field::new("experiment_id", DataType::Utf8, false),
        Field::new("model_type", DataType::Utf8, false),
        Field::new("accuracy", DataType::Float64, true),
    ])
}

fn experiment(id: &str, model: &str, accuracy: f64) -> RecordBatch {
    RecordBatch::try_new(
        Arc::new(experiments_schema()),
        vec![
            Arc::new(StringArray::from(vec![id])),
            Arc::new(StringArray::from(vec![model])),
            Arc::new(Float64Array::from(vec![accuracy])),
        ],
    )
    .unwrap()
}

/// Rows physically in the metadata table's Delta table (live or not).
fn stored_rows(root: &std::path::Path, table: &str) -> usize {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let tables = cacheness::catalog::MetadataTables::new(root.join("catalog"));
        let t = tables.open(table).await.unwrap();
        let ctx = cacheness::deps::datafusion::prelude::SessionContext::new();
        t.update_datafusion_session(&ctx.state()).unwrap();
        ctx.register_table("m", t.table_provider().await.unwrap())
            .unwrap();
        let n = ctx
            .sql("SELECT count(*) FROM m")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        n[0].column(0)
            .as_primitive::<cacheness::deps::arrow::datatypes::Int64Type>()
            .value(0) as usize
    })
}

#[test]
fn rows_attach_at_put_or_later_and_join_to_entries() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_quiet(dir.path());
    cache
        .declare_metadata_table("ml_experiments", &experiments_schema())
        .unwrap();
    // At put time...
    let a = cache
        .put_with(
            &Serde(vec![0.1, 0.2]),
            &params!(model = "xgboost", run = 1),
            &PutOptions::default().metadata("ml_experiments", experiment("exp-1", "xgboost", 0.93)),
        )
        .unwrap();
    // ... or later, by parameters or by key.
    cache
        .put(&Serde(1), &params!(model = "lgbm", run = 2))
        .unwrap();
    cache
        .attach_metadata(
            &params!(model = "lgbm", run = 2),
            "ml_experiments",
            &experiment("exp-2", "lgbm", 0.88),
        )
        .unwrap();
    let c = cache
        .put(&Serde(2), &params!(model = "xgboost", run = 3))
        .unwrap();
    cache
        .attach_metadata(&c, "ml_experiments", &experiment("exp-3", "xgboost", 0.95))
        .unwrap();

    let good = cache
        .sql(
            "SELECT e.cache_key, m.experiment_id FROM cache_entries e \
             JOIN ml_experiments m ON e.cache_key = m.cache_key \
             WHERE m.accuracy > 0.9 AND e.model = 'xgboost'",
        )
        .unwrap();
    let mut want = vec![a.clone(), c.clone()];
    want.sort();
    assert_eq!(common::strings(&good, "cache_key"), want);
    assert_eq!(common::strings(&good, "experiment_id"), ["exp-1", "exp-3"]);

    // Attaching again replaces the entry's rows (a retry never duplicates them).
    let two = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            // Columns in another order, and a large string type: matched by name, stored as declared.
            Field::new("accuracy", DataType::Float64, true),
            Field::new("model_type", DataType::LargeUtf8, false),
            Field::new("experiment_id", DataType::Utf8, false),
        ])),
        vec![
            Arc::new(Float64Array::from(vec![0.5, 0.6])),
            Arc::new(cacheness::deps::arrow::array::LargeStringArray::from(vec![
                "xgboost", "xgboost",
            ])),
            Arc::new(StringArray::from(vec!["exp-1b", "exp-1c"])),
        ],
    )
    .unwrap();
    cache.attach_metadata(&a, "ml_experiments", &two).unwrap();
    cache.attach_metadata(&a, "ml_experiments", &two).unwrap();
    let rows = cache
        .sql(&format!(
            "SELECT experiment_id, accuracy FROM ml_experiments WHERE cache_key = '{a}'"
        ))
        .unwrap();
    assert_eq!(
        common::strings(&rows, "experiment_id"),
        ["exp-1b", "exp-1c"]
    );
    let acc: f64 = rows
        .iter()
        .flat_map(|b| b.column(1).as_primitive::<Float64Type>().values().to_vec())
        .sum();
    assert!((acc - 1.1).abs() < 1e-12);

    // Another process sees the declared table and its rows.
    let other = common::open_quiet(dir.path());
    let n = other.sql("SELECT count(*) FROM ml_experiments").unwrap();
    assert_eq!(
        n[0].column(0)
            .as_primitive::<cacheness::deps::arrow::datatypes::Int64Type>()
            .value(0),
        4
    );
}

#[test]
fn rows_of_invalidated_entries_go_with_them() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_quiet(dir.path());
    cache
        .declare_metadata_table("ml_experiments", &experiments_schema())
        .unwrap();
    let mut keys = Vec::new();
    for run in 0..4 {
        let opts = PutOptions::default().metadata(
            "ml_experiments",
            experiment(&format!("exp-{run}"), "m", 0.5),
        );
        keys.push(
            cache
                .put_with(&Serde(run), &params!(run = run), &opts)
                .unwrap(),
        );
    }
    cache.flush().unwrap();
    assert_eq!(stored_rows(dir.path(), "ml_experiments"), 4);
    cache.invalidate(&params!(run = 1)).unwrap();
    // Hidden from SQL at once, before any commit...
    let ids = cache
        .sql("SELECT experiment_id FROM ml_experiments")
        .unwrap();
    assert_eq!(
        common::strings(&ids, "experiment_id"),
        ["exp-0", "exp-2", "exp-3"]
    );
    // ... and deleted from the table when the invalidation is committed.
    cache.flush().unwrap();
    assert_eq!(stored_rows(dir.path(), "ml_experiments"), 3);
    // An entry that expires hides its rows too.
    let short = PutOptions::default()
        .ttl(std::time::Duration::from_millis(1))
        .metadata("ml_experiments", experiment("exp-ttl", "m", 0.1));
    cache
        .put_with(&Serde(9), &params!(run = 9), &short)
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let ids = cache
        .sql("SELECT experiment_id FROM ml_experiments")
        .unwrap();
    assert_eq!(
        common::strings(&ids, "experiment_id"),
        ["exp-0", "exp-2", "exp-3"]
    );
    // A clear empties every metadata table.
    cache.clear().unwrap();
    assert_eq!(stored_rows(dir.path(), "ml_experiments"), 0);
    cache.put(&Serde(1), &params!(run = 1)).unwrap();
    cache
        .attach_metadata(
            &params!(run = 1),
            "ml_experiments",
            &experiment("after", "m", 1.0),
        )
        .unwrap();
    assert_eq!(
        stored_rows(dir.path(), "ml_experiments"),
        1,
        "the table still works after a clear"
    );
}

#[test]
fn bad_declarations_and_rows_are_refused_with_their_names() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_quiet(dir.path());
    let msg = |r: cacheness::Result<()>| match r {
        Err(e) => e.to_string(),
        Ok(()) => panic!("expected an error"),
    };
    for bad in [
        "../escape",
        "Experiments",
        "cache_entries",
        "cache_mine",
        "journal",
        "a;drop",
    ] {
        let m = msg(cache.declare_metadata_table(bad, &experiments_schema()));
        assert!(m.contains("invalid table name"), "{bad}: {m}");
    }
    assert!(!dir.path().join("escape").exists());
    let with_key = Schema::new(vec![Field::new("cache_key", DataType::Utf8, false)]);
    assert!(msg(cache.declare_metadata_table("t", &with_key)).contains("cache_key"));
    cache
        .declare_metadata_table("ml_experiments", &experiments_schema())
        .unwrap();
    // Declaring again: the same columns are fine, others are an error naming both.
    cache
        .declare_metadata_table("ml_experiments", &experiments_schema())
        .unwrap();
    let other = Schema::new(vec![Field::new("accuracy", DataType::Int64, true)]);
    let m = msg(cache.declare_metadata_table("ml_experiments", &other));
    assert!(
        m.contains("already declared") && m.contains("accuracy Int64"),
        "{m}"
    );

    let key = cache.put(&Serde(1), &params!(run = 1)).unwrap();
    let m = msg(cache.attach_metadata(&key, "nope", &experiment("x", "y", 1.0)));
    assert!(m.contains("nope") && m.contains("declare"), "{m}");
    let wrong_type = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("experiment_id", DataType::Utf8, false),
            Field::new("model_type", DataType::Utf8, false),
            Field::new("accuracy", DataType::Int64, true),
        ])),
        vec![
            Arc::new(StringArray::from(vec!["e"])),
            Arc::new(StringArray::from(vec!["m"])),
            Arc::new(Int64Array::from(vec![1])),
        ],
    )
    .unwrap();
    let m = msg(cache.attach_metadata(&key, "ml_experiments", &wrong_type));
    assert!(
        m.contains("accuracy") && m.contains("Float64") && m.contains(key.as_str()),
        "{m}"
    );
    let extra = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new(
            "loss",
            DataType::Float64,
            true,
        )])),
        vec![Arc::new(Float64Array::from(vec![0.1]))],
    )
    .unwrap();
    let m = msg(cache.attach_metadata(&key, "ml_experiments", &extra));
    assert!(m.contains("loss") && m.contains("not declared"), "{m}");
    match cache.attach_metadata(
        &params!(run = 2),
        "ml_experiments",
        &experiment("x", "y", 1.0),
    ) {
        Err(Error::NotFound { key }) => assert_eq!(key, params!(run = 2).key().unwrap()),
        other => panic!("expected NotFound, got {other:?}"),
    }
    // A put whose rows are refused writes nothing.
    let put = cache.put_with(
        &Serde(5),
        &params!(run = 5),
        &PutOptions::default().metadata("ml_experiments", wrong_type.clone()),
    );
    assert!(put.is_err());
    assert!(!cache.exists(&params!(run = 5)).unwrap());
    assert_eq!(
        stored_rows(dir.path(), "ml_experiments"),
        0,
        "nothing was written"
    );
}
