//! Verify and repair: each kind of damage is reported by `verify` (which changes nothing) and
//! fixed by `repair`; the catalog can be rebuilt from payloads alone.

use crate::common;

use std::sync::Arc;

use cacheness::deps::arrow::array::{Int64Array, RecordBatch};
use cacheness::deps::arrow::datatypes::{DataType, Field, Schema};
use cacheness::repair::ProblemKind;
use cacheness::{EntryInfo, PutOptions, Serde, params};

fn table(n: i64) -> RecordBatch {
    RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)])),
        vec![Arc::new(Int64Array::from_iter_values(0..n))],
    )
    .unwrap()
}

fn kinds(report: &cacheness::repair::VerifyReport) -> Vec<(ProblemKind, Option<String>)> {
    let mut out: Vec<_> = report
        .problems
        .iter()
        .map(|p| (p.kind, p.cache_key.clone()))
        .collect();
    out.sort_by_key(|(k, key)| (format!("{k:?}"), key.clone()));
    out
}

fn by_key(mut entries: Vec<EntryInfo>) -> Vec<EntryInfo> {
    entries.sort_by(|a, b| a.cache_key.cmp(&b.cache_key));
    entries
}

#[test]
fn each_kind_of_damage_is_reported_then_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let cache = common::open_files_quiet(root);
    let keep = cache
        .put(&Serde("fine".to_string()), &params!(i = 0))
        .unwrap();
    let missing = cache
        .put(&Serde("gone".to_string()), &params!(i = 1))
        .unwrap();
    let corrupt = cache.put(&table(50), &params!(i = 2)).unwrap();
    let orphan = cache
        .put_with(
            &Serde(vec![1, 2, 3]),
            &params!(i = 3, model = "m"),
            &PutOptions::default().description("orphaned").name("orph"),
        )
        .unwrap();
    cache.flush().unwrap();
    assert!(cache.verify().unwrap().is_clean(), "a fresh cache is clean");
    let path = |key: &str, ext: &str| root.join(format!("blobs/{}/{key}.{ext}", &key[..2]));

    // The damage: a payload deleted, one flipped byte, an orphan (its row deleted behind the
    // cache's back, as if the journal record was lost), a stale temp file and a stranger.
    std::fs::remove_file(path(&missing, "cnobj")).unwrap();
    let mut bytes = std::fs::read(path(&corrupt, "parquet")).unwrap();
    bytes[20] ^= 1;
    std::fs::write(path(&corrupt, "parquet"), bytes).unwrap();
    let orphan_info = cache.info(&orphan).unwrap().unwrap();
    let orphan_bytes = std::fs::read(path(&orphan, "cnobj")).unwrap();
    cache.invalidate(&orphan).unwrap();
    // Committed first: a commit that touched the key while its payload is back would give it
    // a row made from the payload (tests/truth.rs).
    cache.flush().unwrap();
    std::fs::write(path(&orphan, "cnobj"), &orphan_bytes).unwrap();
    let temp = root.join(format!("blobs/{}/.{keep}.abc123.tmp", &keep[..2]));
    std::fs::write(&temp, b"half a put").unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&temp)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let young_temp = root.join(format!("blobs/{}/.{keep}.def456.tmp", &keep[..2]));
    std::fs::write(&young_temp, b"a put in progress").unwrap();
    let stranger = root.join("blobs/00/notes.txt");
    std::fs::write(&stranger, b"mine").unwrap();
    cache.flush().unwrap();

    let report = cache.verify().unwrap();
    assert_eq!(
        kinds(&report),
        vec![
            (ProblemKind::CorruptPayload, Some(corrupt.to_string())),
            (ProblemKind::MissingPayload, Some(missing.to_string())),
            (ProblemKind::Orphan, Some(orphan.to_string())),
            (ProblemKind::StaleTempFile, None),
            (ProblemKind::UnknownFile, None),
        ]
    );
    assert_eq!(report.rows, 3);
    let corrupt_problem = report
        .problems
        .iter()
        .find(|p| p.kind == ProblemKind::CorruptPayload)
        .unwrap();
    assert!(
        corrupt_problem
            .path
            .ends_with(&format!("{corrupt}.parquet"))
    );
    // verify changed nothing.
    assert!(path(&corrupt, "parquet").exists() && temp.exists());
    assert_eq!(cache.verify().unwrap(), report);

    let fixed = cache.repair().unwrap();
    assert_eq!(fixed.found, report);
    assert_eq!(fixed.rows_written, 1);
    assert!(!path(&corrupt, "parquet").exists() && !temp.exists());
    assert!(
        young_temp.exists(),
        "a recent temp file may be a put in progress"
    );
    assert!(stranger.exists(), "unknown files are never removed");
    let after = cache.verify().unwrap();
    assert_eq!(kinds(&after), vec![(ProblemKind::UnknownFile, None)]);
    // The orphan is back, from its own metadata, exactly as it was; the rest are gone.
    assert_eq!(cache.info(&orphan).unwrap().unwrap(), orphan_info);
    let listed = by_key(cache.list_entries().unwrap());
    let keys: Vec<&str> = listed.iter().map(|e| e.cache_key.as_str()).collect();
    let mut want = vec![keep.as_str(), orphan.as_str()];
    want.sort();
    assert_eq!(keys, want);
    let named = cache
        .sql("SELECT count(*) AS n FROM cache_entries WHERE entry_name = 'orph' AND model = 'm'")
        .unwrap();
    assert_eq!(common::ints(&named, "n"), vec![1]);
    assert_eq!(common::delta_rows(root).len(), 2, "the fixes are committed");
}

#[test]
fn the_catalog_is_rebuilt_from_payloads_alone() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let before = {
        let cache = common::open_files_quiet(root);
        for i in 0..20 {
            cache
                .put_with(
                    &Serde(i),
                    &params!(i = i, model = if i % 2 == 0 { "a" } else { "b" }),
                    &PutOptions::default().description(format!("entry {i}")),
                )
                .unwrap();
        }
        cache.put(&table(100), &params!(kind = "table")).unwrap();
        cache
            .put(
                &cacheness::deps::ndarray::Array2::<f32>::zeros((3, 4)),
                &params!(kind = "array"),
            )
            .unwrap();
        cache
            .put_with(
                &Serde(0),
                &params!(kind = "expiring"),
                &PutOptions::default().ttl(std::time::Duration::from_millis(1)),
            )
            .unwrap();
        let listed = by_key(cache.list_entries().unwrap());
        cache.close().unwrap();
        listed
    };
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert_eq!(before.len(), 22, "the expired entry is not listed");
    std::fs::remove_dir_all(root.join("catalog")).unwrap();

    let cache = common::open_files_quiet(root);
    assert!(cache.list_entries().unwrap().is_empty());
    let report = cache.repair().unwrap();
    let orphans = report
        .found
        .problems
        .iter()
        .filter(|p| p.kind == ProblemKind::Orphan)
        .count();
    assert_eq!((orphans, report.rows_written), (22, 22));
    assert_eq!(report.files_removed, 1, "the expired orphan is reclaimed");
    assert_eq!(by_key(cache.list_entries().unwrap()), before);
    assert!(cache.verify().unwrap().is_clean());
    let n = cache
        .sql("SELECT count(*) AS n FROM cache_entries WHERE model = 'a' AND i >= 10")
        .unwrap();
    assert_eq!(common::ints(&n, "n"), vec![5]);
}

#[test]
fn rows_follow_their_payloads_and_duplicates_keep_the_newer() {
    use cacheness::catalog::CatalogOp;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let cache = common::open_files_quiet(root);
    let p = params!(kind = "dup");
    let dup = cache.put(&Serde(1), &p).unwrap();
    let stale = cache
        .put_with(
            &Serde(2),
            &params!(kind = "stale"),
            &PutOptions::default().description("true"),
        )
        .unwrap();
    cache.flush().unwrap();
    let catalog = cache.catalog();
    // A row that lies about its payload, and one no cache could have written.
    let mut row = catalog
        .list_blocking()
        .unwrap()
        .into_iter()
        .find(|r| r.cache_key == stale)
        .unwrap();
    row.description = Some("a lie".into());
    row.stored_bytes += 1;
    catalog
        .submit(CatalogOp::Put {
            row: Box::new(row.clone()),
            replaces: true,
        })
        .unwrap();
    let mut hostile = row.clone();
    hostile.cache_key = "../../etc/passwd".into();
    catalog
        .submit(CatalogOp::Put {
            row: Box::new(hostile),
            replaces: false,
        })
        .unwrap();
    // The same key as a table, written later (a crash left both payloads).
    std::thread::sleep(std::time::Duration::from_millis(2));
    let other = tempfile::tempdir().unwrap();
    let newer = common::open_sharing_key(other.path(), root);
    assert_eq!(newer.put(&table(7), &p).unwrap(), dup);
    let rel = format!("blobs/{}/{dup}.parquet", &dup[..2]);
    std::fs::copy(other.path().join(&rel), root.join(&rel)).unwrap();

    let report = cache.verify().unwrap();
    let stale_problem = report
        .problems
        .iter()
        .find(|p| p.kind == ProblemKind::TamperedRow)
        .unwrap();
    assert!(
        stale_problem.detail.contains("stored_bytes")
            && stale_problem.detail.contains("description"),
        "{}",
        stale_problem.detail
    );
    assert_eq!(
        kinds(&report),
        vec![
            (ProblemKind::DuplicatePayload, Some(dup.to_string())),
            (ProblemKind::InvalidRow, Some("../../etc/passwd".into())),
            (ProblemKind::TamperedRow, Some(stale.to_string())),
        ]
    );
    cache.repair().unwrap();
    assert!(cache.verify().unwrap().is_clean());
    let listed = cache.list_entries().unwrap();
    assert_eq!(listed.len(), 2);
    let info = |k: &str| listed.iter().find(|e| e.cache_key == k).unwrap().clone();
    assert_eq!(info(&stale).description.as_deref(), Some("true"));
    assert_eq!(info(&dup).data_type, cacheness::DataType::ArrowTable);
    assert!(
        !root
            .join(format!("blobs/{}/{dup}.cnobj", &dup[..2]))
            .exists()
    );
    let t: Vec<RecordBatch> = cache.get(&p).unwrap().unwrap();
    assert_eq!(t[0].num_rows(), 7);
}

#[test]
fn a_corrupt_stray_format_goes_without_taking_the_valid_entry() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let cache = common::open_files_quiet(root);
    let p = params!(kind = "kept");
    let key = cache.put(&Serde(5), &p).unwrap();
    cache.flush().unwrap();
    let stray = root.join(format!("blobs/{}/{key}.parquet", &key[..2]));
    std::fs::write(&stray, b"PAR1 not really PAR1").unwrap();
    let report = cache.verify().unwrap();
    assert_eq!(
        kinds(&report),
        vec![(ProblemKind::CorruptPayload, Some(key.to_string()))]
    );
    let fixed = cache.repair().unwrap();
    assert_eq!((fixed.files_removed, fixed.rows_deleted), (1, 0));
    assert!(!stray.exists());
    assert_eq!(cache.get::<Serde<i32>>(&p).unwrap(), Some(Serde(5)));
    assert_eq!(cache.list_entries().unwrap().len(), 1);
    assert_eq!(common::delta_rows(root).len(), 1);
}

#[test]
fn a_second_row_of_a_key_in_the_delta_table_is_reported_and_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let key = cache.put(&Serde(1i64), &params!(n = 1)).unwrap();
    cache.put(&Serde(2i64), &params!(n = 2)).unwrap();
    cache.flush().unwrap();
    // Another writer (an older version, a hand edit, a race the commits cannot see) appended
    // an older row of the key beside its own.
    let mut stale = common::delta_rows(dir.path())
        .into_iter()
        .find(|r| r.cache_key == key)
        .unwrap();
    stale.created_at -= 1_000_000;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let location = cacheness::storage::Location::from(dir.path().join("catalog/cache_entries"));
        let table = location.delta_table().await.unwrap();
        let schema = cacheness::catalog::schema::schema_for_rows(
            table.snapshot().unwrap().snapshot().arrow_schema().as_ref(),
            &[&stale],
        );
        let batch = cacheness::catalog::schema::rows_to_batch(&schema, &[&stale], "t").unwrap();
        table
            .write(vec![batch])
            .with_save_mode(deltalake::protocol::SaveMode::Append)
            .await
            .unwrap();
    });
    assert_eq!(common::delta_rows(dir.path()).len(), 3);
    // The listing shows the newest row; verify names the key.
    assert_eq!(cache.list_entries().unwrap().len(), 2);
    let report = cache.verify().unwrap();
    assert_eq!(
        kinds(&report),
        vec![(ProblemKind::DuplicateRow, Some(key.to_string()))]
    );
    cache.repair().unwrap();
    cache.flush().unwrap();
    let rows = common::delta_rows(dir.path());
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(cache.verify().unwrap().is_clean());
    let n = cache
        .sql("SELECT count(*) AS n FROM cache_entries")
        .unwrap();
    assert_eq!(common::ints(&n, "n"), vec![2]);
}
