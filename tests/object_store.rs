//! One cache on an object store, shared by several hosts: against a real S3-compatible server
//! (moto) on loopback. Hosts are processes with separate local state directories; the child
//! processes are this test binary itself, re-run with one ignored test selected.

use crate::common::xorshift as noise;
use crate::common::{self, KillOnDrop};
use crate::s3;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use cacheness::deps::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use cacheness::deps::arrow::datatypes::{DataType, Field, Schema};
use cacheness::deps::ndarray::Array2;
use cacheness::{CacheConfig, PutOptions, Serde, blocking::Cache, params};
use s3::S3;

const CHILD_ENV: &str = "CACHENESS_TEST_CHILD";

/// A child process of this test binary running the ignored test `test` as a host of the cache
/// `url` whose local state is `state`.
fn host(test: &str, s3: &S3, url: &str, state: &std::path::Path) -> Command {
    let mut cmd = common::rerun_test(module_path!(), test);
    cmd.env("CACHE_URL", url)
        .env("CACHENESS_LOCAL_STATE", state);
    for (k, v) in s3.env() {
        cmd.env(k, v);
    }
    cmd
}

/// Open the cache at `url` as the host whose local state is `state` (settings as options, not
/// environment, so tests in one process do not share them).
fn open(s3: &S3, url: &str, state: &std::path::Path) -> Cache {
    let mut config = CacheConfig::new(url)
        .with_local_state(state)
        .with_commit_interval(Duration::from_millis(100));
    for (k, v) in s3.options() {
        config = config.with_storage_option(k, v);
    }
    Cache::open_with(config).unwrap()
}

/// A cache in a bucket of its own server, opened as one host: the server, the host's local
/// state and the cache (bound in this order, they drop in reverse: the cache first).
fn one_host(bucket: &str, prefix: &str) -> (S3, tempfile::TempDir, Cache) {
    let s3 = S3::start(bucket);
    let state = tempfile::tempdir().unwrap();
    let cache = open(&s3, &s3.url(prefix), state.path());
    (s3, state, cache)
}

/// Child: put 500 entries tagged with its host number, then exit normally.
#[test]
#[ignore = "run as a child process by two_hosts_put_500_each_and_both_list_1000"]
fn host_put_500() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let url = std::env::var("CACHE_URL").unwrap();
    let host_id: i64 = std::env::var("HOST_ID").unwrap().parse().unwrap();
    let cache = Cache::open_with(
        CacheConfig::new(url.as_str()).with_commit_interval(Duration::from_millis(200)),
    )
    .unwrap();
    for i in 0..500 {
        cache
            .put(&Serde((host_id, i)), &params!(host = host_id, i = i))
            .unwrap();
    }
    cache.close().unwrap();
    println!("DONE");
}

#[test]
fn two_hosts_put_500_each_and_both_list_1000() {
    let s3 = S3::start("shared");
    let url = s3.url("team/cache");
    let states: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let children: Vec<_> = states
        .iter()
        .enumerate()
        .map(|(h, state)| {
            host("host_put_500", &s3, &url, state.path())
                .env("HOST_ID", h.to_string())
                .spawn()
                .unwrap()
        })
        .collect();
    for (h, c) in children.into_iter().enumerate() {
        let out = c.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("DONE"),
            "host {h}: {stdout}"
        );
    }
    // Each host, reopened with its own state, lists all 1,000 and reads the other's entries.
    for (h, state) in states.iter().enumerate() {
        let cache = open(&s3, &url, state.path());
        let entries = cache.list_entries().unwrap();
        assert_eq!(entries.len(), 1000, "host {h} lists");
        let keys: HashSet<_> = entries.iter().map(|e| e.cache_key.clone()).collect();
        assert_eq!(keys.len(), 1000);
        let other = 1 - h as i64;
        for i in [0i64, 250, 499] {
            let got: Option<Serde<(i64, i64)>> = cache.get(&params!(host = other, i = i)).unwrap();
            assert_eq!(
                got,
                Some(Serde((other, i))),
                "host {h} reads host {other}'s {i}"
            );
        }
        cache.close().unwrap();
    }
    // Commits from the two hosts never overwrote each other: the log is one unbroken run of
    // versions, and the payloads are all there.
    let log = s3.keys("team/cache/catalog/cache_entries/_delta_log/");
    let mut versions: Vec<u64> = log
        .iter()
        .filter_map(|k| k.rsplit('/').next()?.strip_suffix(".json")?.parse().ok())
        .collect();
    versions.sort();
    assert!(versions.len() > 2, "{log:?}");
    assert_eq!(versions, (0..versions.len() as u64).collect::<Vec<_>>());
    assert_eq!(s3.keys("team/cache/blobs/").len(), 1000);
    // A third host, with fresh local state, sees the same.
    let fresh = tempfile::tempdir().unwrap();
    let cache = open(&s3, &url, fresh.path());
    let batches = cache
        .sql("SELECT host, count(*) AS n FROM cache_entries GROUP BY host ORDER BY host")
        .unwrap();
    let n: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            b.column_by_name("n")
                .unwrap()
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .values()
                .to_vec()
        })
        .collect();
    assert_eq!(n, vec![500, 500]);
}

/// Child: put entries forever, printing each acknowledged key; never commits on its own.
#[test]
#[ignore = "run as a child process by killing_a_host_mid_put_loses_no_acknowledged_entry"]
fn host_put_until_killed() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let url = std::env::var("CACHE_URL").unwrap();
    let cache = Cache::open_with(
        CacheConfig::new(url.as_str()).with_commit_interval(Duration::from_secs(3600)),
    )
    .unwrap();
    for i in 0.. {
        let key = cache.put(&Serde(vec![i; 10]), &params!(i = i)).unwrap();
        println!("ACK {i} {key}");
    }
}

#[test]
fn killing_a_host_mid_put_loses_no_acknowledged_entry() {
    let s3 = S3::start("crash");
    let url = s3.url("c");
    let state = tempfile::tempdir().unwrap();
    let mut child = KillOnDrop(
        host("host_put_until_killed", &s3, &url, state.path())
            .spawn()
            .unwrap(),
    );
    let mut acked = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while acked.len() < 100 {
        let line = lines.next().unwrap().unwrap();
        if let Some(rest) = line.strip_prefix("ACK ") {
            let (i, key) = rest.split_once(' ').unwrap();
            acked.push((i.parse::<i64>().unwrap(), key.to_string()));
        }
    }
    // SIGKILL: no destructor, no flush. Nothing reached the shared catalog.
    child.kill().unwrap();
    child.wait().unwrap();
    let other = tempfile::tempdir().unwrap();
    let elsewhere = open(&s3, &url, other.path());
    assert!(
        elsewhere.list_entries().unwrap().is_empty(),
        "another host sees rows the dead host never committed"
    );
    elsewhere.close().unwrap();
    // The host restarts (same local state): its journal is replayed into the shared catalog.
    let cache = open(&s3, &url, state.path());
    cache.flush().unwrap();
    let listed: HashSet<String> = cache
        .list_entries()
        .unwrap()
        .into_iter()
        .map(|e| e.cache_key.into())
        .collect();
    for (i, key) in &acked {
        assert!(listed.contains(key), "acknowledged put {i} ({key}) lost");
        assert_eq!(
            cache.get::<Serde<Vec<i64>>>(&params!(i = *i)).unwrap(),
            Some(Serde(vec![*i; 10]))
        );
    }
    cache.close().unwrap();
    // And every other host sees them now.
    let elsewhere = open(&s3, &url, other.path());
    let seen: HashSet<String> = elsewhere
        .list_entries()
        .unwrap()
        .into_iter()
        .map(|e| e.cache_key.into())
        .collect();
    assert!(acked.iter().all(|(_, k)| seen.contains(k)));
}

fn table(n: i64) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(0..n)),
        Arc::new(StringArray::from_iter_values(
            (0..n).map(|i| format!("r{i}")),
        )),
    ];
    RecordBatch::try_new(schema, cols).unwrap()
}

#[test]
fn every_format_round_trips_and_sql_ttl_and_invalidation_work() {
    let (s3, state, cache) = one_host("formats", "f");
    let t = table(1000);
    let a = Array2::<f64>::from_shape_fn((300, 40), |(i, j)| (i * 40 + j) as f64);
    cache
        .put(&t, &params!(kind = "table", model = "xgboost"))
        .unwrap();
    cache.put(&a, &params!(kind = "array")).unwrap();
    let serde_key = cache
        .put(
            &Serde(vec!["a".to_string(), "b".to_string()]),
            &params!(kind = "serde"),
        )
        .unwrap();
    cache
        .put_with(
            &Serde(1u8),
            &params!(kind = "short-lived"),
            &PutOptions::default().ttl(Duration::from_millis(1)),
        )
        .unwrap();
    // On an object store there is no small-entry store: small payloads are objects too.
    assert!(!state.path().join("small").exists());
    let small = format!("f/blobs/{}", &serde_key.to_string()[..2]);
    assert!(
        s3.keys(&small)
            .iter()
            .any(|name| name.ends_with(&format!("{serde_key}.cnobj"))),
        "the small payload is an object"
    );
    assert_eq!(
        cache
            .get::<RecordBatch>(&params!(kind = "table", model = "xgboost"))
            .unwrap(),
        Some(t)
    );
    assert_eq!(
        cache.get::<Array2<f64>>(&params!(kind = "array")).unwrap(),
        Some(a)
    );
    assert_eq!(
        cache
            .get::<Serde<Vec<String>>>(&params!(kind = "serde"))
            .unwrap(),
        Some(Serde(vec!["a".to_string(), "b".to_string()]))
    );
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(
        cache
            .get::<Serde<u8>>(&params!(kind = "short-lived"))
            .unwrap(),
        None
    );
    // The payloads are where the layout says, under the prefix.
    let blobs = s3.keys("f/blobs/");
    assert_eq!(
        blobs.iter().filter(|k| k.ends_with(".parquet")).count()
            + blobs.iter().filter(|k| k.ends_with(".b2nd")).count(),
        2,
        "{blobs:?}"
    );
    // Replacing a key with another format leaves one payload for it.
    cache.put(&Serde(7i64), &params!(kind = "array")).unwrap();
    // Asking for the old type finds the other format (HEADs sent with the first GET).
    let wrong = cache
        .get::<Array2<f64>>(&params!(kind = "array"))
        .unwrap_err();
    assert!(
        matches!(
            wrong,
            cacheness::Error::Format(cacheness::FormatError::WrongType { .. })
        ),
        "{wrong}"
    );
    assert_eq!(
        cache.get::<Serde<i64>>(&params!(kind = "array")).unwrap(),
        Some(Serde(7))
    );
    assert_eq!(
        cache.get::<Serde<i64>>(&params!(kind = "nothing")).unwrap(),
        None
    );
    assert_eq!(
        s3.keys("f/blobs/")
            .iter()
            .filter(|k| k.ends_with(".b2nd"))
            .count(),
        0
    );
    assert!(cache.invalidate(&params!(kind = "serde")).unwrap());
    cache.flush().unwrap();
    let batches = cache
        .sql("SELECT kind FROM cache_entries WHERE model = 'xgboost'")
        .unwrap();
    let kinds: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(kinds, 1);
    let live: Vec<String> = cache
        .list_entries()
        .unwrap()
        .into_iter()
        .map(|e| e.params["kind"].to_string())
        .collect();
    assert_eq!(live.len(), 2, "{live:?}");
}

#[test]
fn a_host_that_never_returns_leaves_payloads_that_repair_indexes() {
    let s3 = S3::start("orphans");
    let url = s3.url("o");
    let lost = tempfile::tempdir().unwrap();
    let mut child = KillOnDrop(
        host("host_put_until_killed", &s3, &url, lost.path())
            .spawn()
            .unwrap(),
    );
    let mut acked = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while acked.len() < 20 {
        let line = lines.next().unwrap().unwrap();
        if let Some(rest) = line.strip_prefix("ACK ") {
            acked.push(rest.split_once(' ').unwrap().1.to_string());
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // The machine is gone for good, journal and all.
    drop(lost);
    let state = tempfile::tempdir().unwrap();
    let cache = open(&s3, &url, state.path());
    assert!(cache.list_entries().unwrap().is_empty());
    let found = cache.verify().unwrap();
    assert!(found.payloads >= acked.len(), "{found:?}");
    let orphans: HashSet<String> = found
        .problems
        .iter()
        .filter(|p| p.kind == cacheness::repair::ProblemKind::Orphan)
        .filter_map(|p| p.cache_key.clone())
        .collect();
    assert!(acked.iter().all(|k| orphans.contains(k)), "{found:?}");
    let fixed = cache.repair().unwrap();
    assert!(fixed.rows_written >= acked.len(), "{fixed:?}");
    let listed: HashSet<String> = cache
        .list_entries()
        .unwrap()
        .into_iter()
        .map(|e| e.cache_key.into())
        .collect();
    assert!(acked.iter().all(|k| listed.contains(k)));
    assert!(cache.verify().unwrap().problems.is_empty());
}

#[test]
fn the_read_through_layer_serves_hot_payloads_and_never_a_stale_one() {
    let s3 = S3::start("readthrough");
    let url = s3.url("rt");
    let (a_state, b_state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = open(&s3, &url, a_state.path());
    let mut config = CacheConfig::new(url.as_str())
        .with_local_state(b_state.path())
        .with_read_through(Some(1 << 20));
    for (k, v) in s3.options() {
        config = config.with_storage_option(k, v);
    }
    let b = Cache::open_with(config).unwrap();
    let p = params!(k = 1);
    a.put(&Serde(vec![1i64; 1000]), &p).unwrap();
    let get = |c: &Cache| c.get::<Serde<Vec<i64>>>(&p).unwrap();
    assert_eq!(get(&b), Some(Serde(vec![1; 1000])), "the first get fetches");
    assert_eq!(b.stats().unwrap().read_through_hits, 0);
    assert_eq!(
        get(&b),
        Some(Serde(vec![1; 1000])),
        "the second is the copy"
    );
    assert_eq!(b.stats().unwrap().read_through_hits, 1);
    // Another host replaces the entry: the copy is never served again.
    a.put(&Serde(vec![2i64; 1000]), &p).unwrap();
    assert_eq!(get(&b), Some(Serde(vec![2; 1000])));
    assert_eq!(b.stats().unwrap().read_through_hits, 1);
    assert_eq!(get(&b), Some(Serde(vec![2; 1000])));
    assert_eq!(b.stats().unwrap().read_through_hits, 2);
    // ... or invalidates it: a miss here too.
    assert!(a.invalidate(&p).unwrap());
    assert_eq!(get(&b), None);
    // A copy altered on the local disk fails the read path's checks: it is dropped, and the
    // bucket's sound object is read again (and is not removed).
    let q = params!(k = 2);
    a.put(&Serde(vec![3i64; 1000]), &q).unwrap();
    assert!(b.get::<Serde<Vec<i64>>>(&q).unwrap().is_some());
    let copies: Vec<_> = walk(&b_state.path().join("read-through"));
    assert_eq!(copies.len(), 1, "{copies:?}");
    let mut bytes = std::fs::read(&copies[0]).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&copies[0], &bytes).unwrap();
    assert_eq!(
        b.get::<Serde<Vec<i64>>>(&q).unwrap(),
        Some(Serde(vec![3; 1000]))
    );
    assert_ne!(
        std::fs::read(&copies[0]).unwrap(),
        bytes,
        "the copy was replaced"
    );
    assert_eq!(
        a.get::<Serde<Vec<i64>>>(&q).unwrap(),
        Some(Serde(vec![3; 1000]))
    );
    // The directory keeps within its bound.
    use rand::Rng;
    let mut rng = rand::rng();
    for i in 0..30i64 {
        let noise: Vec<u64> = (0..12_500).map(|_| rng.random()).collect();
        a.put(&Serde(noise), &params!(noise = i)).unwrap();
        assert!(
            b.get::<Serde<Vec<u64>>>(&params!(noise = i))
                .unwrap()
                .is_some()
        );
    }
    let total: u64 = walk(&b_state.path().join("read-through"))
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    assert!(total <= 1 << 20, "{total} bytes");
    assert!(total > 0);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for shard in std::fs::read_dir(dir).unwrap().flatten() {
        for f in std::fs::read_dir(shard.path()).unwrap().flatten() {
            out.push(f.path());
        }
    }
    out
}

#[test]
fn metadata_tables_maintenance_and_eviction_work_on_the_bucket() {
    let s3 = S3::start("upkeep");
    let url = s3.url("u");
    let (a_state, b_state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = open(&s3, &url, a_state.path());
    // Custom metadata: declared and attached on host A, queried on host B.
    let columns = Schema::new(vec![
        Field::new("experiment_id", DataType::Utf8, false),
        Field::new("accuracy", DataType::Int64, false),
    ]);
    a.declare_metadata_table("ml_experiments", &columns)
        .unwrap();
    for i in 0..3i64 {
        a.put(&Serde(i), &params!(run = i)).unwrap();
        let row = RecordBatch::try_new(
            Arc::new(columns.clone()),
            vec![
                Arc::new(StringArray::from(vec![format!("exp-{i}")])) as ArrayRef,
                Arc::new(Int64Array::from(vec![90 + i])),
            ],
        )
        .unwrap();
        a.attach_metadata(&params!(run = i), "ml_experiments", &row)
            .unwrap();
    }
    a.flush().unwrap();
    assert!(
        s3.keys("u/catalog/ml_experiments/_delta_log/").len() > 1,
        "the metadata table is in the bucket"
    );
    let b = open(&s3, &url, b_state.path());
    let best = b
        .sql(
            "SELECT m.experiment_id FROM ml_experiments m JOIN cache_entries e \
             ON m.cache_key = e.cache_key WHERE m.accuracy > 90 ORDER BY m.accuracy DESC",
        )
        .unwrap();
    let ids: Vec<String> = best
        .iter()
        .flat_map(|b| {
            let col = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
            col.iter()
                .map(|v| v.unwrap_or_default().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(ids, ["exp-2", "exp-1"]);
    // Maintenance on the bucket: compaction (under the lease), checkpoint, vacuum.
    for i in 3..40i64 {
        a.put(&Serde(i), &params!(run = i)).unwrap();
        a.flush().unwrap();
    }
    let report = a.maintain().unwrap();
    assert!(!report.skipped, "{report:?}");
    assert!(report.checkpoint_version.is_some(), "{report:?}");
    assert!(report.data_files <= 2, "{report:?}");
    let history = a
        .sql("SELECT count(*) AS n FROM cache_history WHERE operation = 'OPTIMIZE'")
        .unwrap();
    let optimized = history[0]
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap()
        .value(0);
    assert!(optimized >= 1, "40 commits were compacted at least once");
    assert!(
        s3.keys("u/catalog/compaction.lock").is_empty(),
        "the compaction lease is released"
    );
    assert_eq!(b.list_entries().unwrap().len(), 40);
    // Eviction by entry count: the bucket's objects are walked and the oldest go.
    drop(b);
    let mut config = CacheConfig::new(url.as_str())
        .with_local_state(b_state.path())
        .with_max_entries(Some(30));
    for (k, v) in s3.options() {
        config = config.with_storage_option(k, v);
    }
    let limited = Cache::open_with(config).unwrap();
    let report = limited.evict().unwrap();
    assert!(report.evicted_for_entries >= 10, "{report:?}");
    limited.flush().unwrap();
    let left = s3.keys("u/blobs/").len() as u64;
    assert!(left <= 30, "{left} payloads left");
    assert_eq!(limited.list_entries().unwrap().len() as u64, left);
    assert_eq!(
        limited.get::<Serde<i64>>(&params!(run = 39i64)).unwrap(),
        Some(Serde(39)),
        "the newest stays"
    );
}

/// Three columns of incompressible integers (below 2^40, so sums fit) and a row number `id`,
/// `n` rows.
fn noise_table(n: usize) -> RecordBatch {
    let mut next = noise(0x9E37_79B9_7F4A_7C15);
    let mut column = || -> ArrayRef {
        Arc::new(Int64Array::from_iter_values(
            (0..n).map(|_| (next() >> 24) as i64),
        ))
    };
    let schema = Arc::new(Schema::new(vec![
        Field::new("a", DataType::Int64, false),
        Field::new("b", DataType::Int64, false),
        Field::new("c", DataType::Int64, false),
        Field::new("id", DataType::Int64, false),
    ]));
    let id: ArrayRef = Arc::new(Int64Array::from_iter_values(0..n as i64));
    RecordBatch::try_new(schema, vec![column(), column(), column(), id]).unwrap()
}

fn int_column(batch: &RecordBatch, i: usize) -> &Int64Array {
    batch
        .column(i)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap()
}

/// One i64 answer of a statement.
fn one_int(cache: &Cache, sql: &str) -> Result<i64, String> {
    let batches = cache.sql(sql).map_err(|e| e.to_string())?;
    Ok(int_column(&batches[0], 0).value(0))
}

#[test]
fn large_tables_are_scanned_in_checked_parts() {
    let (s3, _state, cache) = one_host("ranged", "parts");
    // 2.2 M rows: three row groups (the writer's 1 Mi rows each) of three 8-byte columns.
    let batch = noise_table(2_200_000);
    let key = cache.put(&batch, &params!(t = "big")).unwrap();
    let len = cache.info(&key).unwrap().unwrap().stored_bytes;
    assert!(len > 32 << 20, "{len}");
    let object = format!("parts/blobs/{}/{key}.parquet", &key[..2]);
    assert!(s3.keys("parts/blobs").contains(&format!("{object}.tree")));
    let sum = |i: usize| int_column(&batch, i).values().iter().sum::<i64>();

    // One column: about a third of the payload is fetched.
    let q = |col: &str| format!("SELECT sum({col}) FROM cached_table('{key}')");
    assert_eq!(one_int(&cache, &q("b")), Ok(sum(1)));
    let stats = cache.stats().unwrap();
    assert_eq!(stats.ranged_reads, 1);
    assert!(
        stats.ranged_bytes > len / 4 && stats.ranged_bytes < len / 2,
        "{} of {len}",
        stats.ranged_bytes
    );
    // A limit reads the first row group only: one column of it is a seventh or so.
    let first = cache
        .sql(&format!("SELECT c FROM cached_table('{key}') LIMIT 3"))
        .unwrap();
    assert_eq!(
        int_column(&first[0], 0).values()[..3],
        int_column(&batch, 2).values()[..3]
    );
    let fetched = cache.stats().unwrap().ranged_bytes - stats.ranged_bytes;
    assert!(fetched < len / 5, "{fetched} of {len}");
    // A filter on id rules out row groups 0 and 1 by their statistics: only c and id of the
    // last (about 100 k rows) are fetched.
    let before = cache.stats().unwrap().ranged_bytes;
    let from = 2_150_000;
    let tail_sum: i64 = int_column(&batch, 2).values()[from..].iter().sum();
    let filtered = format!("SELECT sum(c) FROM cached_table('{key}') WHERE id >= {from}");
    assert_eq!(one_int(&cache, &filtered), Ok(tail_sum));
    let fetched = cache.stats().unwrap().ranged_bytes - before;
    assert!(fetched < len / 20, "{fetched} of {len}");

    // A stranger alters bytes in column b's chunks: reading b fails and names the object,
    // while a and c, untouched, still read and check.
    let mut bytes = s3.get(&object);
    // Row group 0 holds a, b, c in turn, each about 3/20 of the file: this is inside b.
    let inside_b = bytes.len() * 23 / 100;
    bytes[inside_b] ^= 0x55;
    s3.put(&object, bytes);
    let err = one_int(&cache, &q("b")).unwrap_err();
    assert!(
        err.contains(&object) && err.contains("signed tree"),
        "{err}"
    );
    assert_eq!(one_int(&cache, &q("a")), Ok(sum(0)));
    // A whole get judges the payload as corrupt (and removes it), as on disk.
    assert_eq!(cache.get::<RecordBatch>(&params!(t = "big")).unwrap(), None);
    assert!(cache.sql(&q("a")).is_err());

    // Small tables have no tree and are read whole.
    let small = cache.put(&table(100), &params!(t = "small")).unwrap();
    assert!(
        !s3.keys("parts/blobs")
            .iter()
            .any(|k| k.contains(small.as_str()) && k.ends_with(".tree"))
    );
    let n = one_int(
        &cache,
        &format!("SELECT count(*) FROM cached_table('{small}')"),
    );
    assert_eq!(n, Ok(100));
    assert_eq!(
        cache.stats().unwrap().ranged_reads,
        5,
        "b, the limit, the filter, b, a"
    );
}

#[test]
fn array_slices_fetch_only_their_chunks() {
    let (s3, _state, cache) = one_host("slices", "arr");
    // 2 Mi rows × 4 incompressible float64s (64 MiB): chunks of 256 Ki rows (8 MiB), 8 of them.
    let mut next = noise(0x2545_F491_4F6C_DD1D);
    let a = Array2::from_shape_simple_fn((2 << 20, 4), || (next() >> 11) as f64);
    let p = params!(a = "big");
    let key = cache.put(&a, &p).unwrap();
    let len = cache.info(&key).unwrap().unwrap().stored_bytes;
    let object = format!("arr/blobs/{}/{key}.b2nd", &key[..2]);
    assert!(s3.keys("arr/blobs").contains(&format!("{object}.tree")));
    let slice = |rows: std::ops::Range<usize>| {
        cache.get_array_slice::<f64>(&p, &[rows, 0..4]).map(|got| {
            got.map(|g| {
                g.into_dimensionality::<cacheness::deps::ndarray::Ix2>()
                    .unwrap()
            })
        })
    };
    let rows = |r: std::ops::Range<usize>| a.slice(cacheness::deps::ndarray::s![r, ..]).to_owned();

    // Within the first chunk: about one chunk of eight is fetched.
    assert_eq!(slice(100..200).unwrap(), Some(rows(100..200)));
    let first = cache.stats().unwrap();
    assert_eq!(first.ranged_reads, 1);
    assert!(
        first.ranged_bytes < len / 6,
        "{} of {len}",
        first.ranged_bytes
    );
    // Across a chunk boundary: two chunks.
    let edge = 256 << 10;
    assert_eq!(
        slice(edge - 3..edge + 3).unwrap(),
        Some(rows(edge - 3..edge + 3))
    );
    let fetched = cache.stats().unwrap().ranged_bytes - first.ranged_bytes;
    assert!(fetched < len / 3, "{fetched} of {len}");
    // A mapped get on an object store decodes (the payload is fetched, not mapped).
    let mapped = cache.get_array_mapped::<f64>(&p).unwrap().unwrap();
    assert!(!mapped.is_zero_copy());
    assert!(mapped.view() == a.view().into_dyn());

    // A stranger alters the sixth chunk: slices of it fail naming the object; others still
    // read and check.
    let mut bytes = s3.get(&object);
    let in_sixth = bytes.len() * 11 / 16;
    bytes[in_sixth] ^= 0x55;
    s3.put(&object, bytes);
    let sixth = 5 * edge + 10;
    let err = slice(sixth..sixth + 2).unwrap_err().to_string();
    assert!(
        err.contains(&object) && err.contains("signed tree"),
        "{err}"
    );
    assert_eq!(slice(0..2).unwrap(), Some(rows(0..2)));
    // The whole get judges it corrupt and removes it.
    assert_eq!(cache.get::<Array2<f64>>(&p).unwrap(), None);
    assert_eq!(slice(0..2).unwrap(), None);
}

#[test]
fn a_footer_larger_than_the_first_fetch_is_read_in_parts_too() {
    let (s3, _state, cache) = one_host("footer", "wide");
    // 3,000 columns of 480 incompressible integers: 11.5 MB of data, and a footer (a chunk's
    // metadata per column, the Arrow schema) larger than the 512 KiB a ranged read first gets.
    let (columns, rows) = (3000, 480);
    let mut next = noise(0x1234_5678_9ABC_DEF1);
    let fields: Vec<Field> = (0..columns)
        .map(|i| Field::new(format!("c{i}"), DataType::Int64, false))
        .collect();
    let arrays: Vec<ArrayRef> = (0..columns)
        .map(|_| {
            Arc::new(Int64Array::from_iter_values(
                (0..rows).map(|_| (next() >> 24) as i64),
            )) as ArrayRef
        })
        .collect();
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap();
    let key = cache.put(&batch, &params!(t = "wide")).unwrap();
    let object = format!("wide/blobs/{}/{key}.parquet", &key[..2]);
    let file = s3.get(&object);
    let n = file.len();
    let footer = u32::from_le_bytes(file[n - 8..n - 4].try_into().unwrap()) as usize;
    assert!(footer > 512 << 10 && n > 8 << 20, "footer {footer} of {n}");
    let want: i64 = int_column(&batch, 1234).values().iter().sum();
    let q = format!("SELECT sum(c1234) FROM cached_table('{key}')");
    assert_eq!(one_int(&cache, &q), Ok(want));
    let stats = cache.stats().unwrap();
    assert_eq!((stats.ranged_reads, stats.removed_corrupt), (1, 0));
    assert!(
        stats.ranged_bytes < (footer + n / 4) as u64,
        "{} of {n}",
        stats.ranged_bytes
    );
}
