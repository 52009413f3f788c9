//! `#[cached]` functions: keys shared with `put`/`get`, single flight, what is stored, clearing
//! through the catalog, content-hashed path arguments.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, LazyLock, Mutex};
use std::time::Duration;

use cacheness::function::function_params;
use cacheness::{Serde, blocking::Cache, cached};

/// A cache per test, replaceable (to reopen it): each test's functions name their own slot.
struct Slot(Mutex<Option<(tempfile::TempDir, Cache)>>);

impl Slot {
    const fn new() -> Self {
        Slot(Mutex::new(None))
    }

    fn cache(&self) -> Cache {
        let mut slot = self.0.lock().unwrap();
        if slot.is_none() {
            let dir = tempfile::tempdir().unwrap();
            let cache = Cache::open(dir.path()).unwrap();
            *slot = Some((dir, cache));
        }
        slot.as_ref().unwrap().1.clone()
    }

    /// Close the cache and open the same directory again (as a new process would).
    fn reopen(&self) {
        let mut slot = self.0.lock().unwrap();
        let (dir, cache) = slot.take().unwrap();
        cache.close().unwrap();
        drop(cache);
        let cache = Cache::open(dir.path()).unwrap();
        *slot = Some((dir, cache));
    }
}

static ADD: Slot = Slot::new();
static ADD_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(cache = ADD.cache())]
fn add(a: i64, b: i64) -> i64 {
    ADD_RUNS.fetch_add(1, Ordering::SeqCst);
    a + b
}

#[test]
fn a_call_hits_after_its_first_run_and_put_get_share_its_key() {
    assert_eq!(add(1, 2), 3);
    assert_eq!(add(1, 2), 3);
    assert_eq!(add(2, 2), 4);
    assert_eq!(ADD_RUNS.load(Ordering::SeqCst), 2);
    let info = add_cache_info();
    assert_eq!((info.hits, info.misses, info.errors), (1, 2, 0));
    assert_eq!(info.function, concat!(module_path!(), "::add"));
    // The API finds the function's result under the same named parameters...
    let p = function_params(concat!(module_path!(), "::add"), None)
        .with("a", 1)
        .with("b", 2);
    let stored: Option<Serde<i64>> = ADD.cache().get(&p).unwrap();
    assert_eq!(stored.unwrap().0, 3);
    // ...and the function finds what the API put there.
    let p = function_params(concat!(module_path!(), "::add"), None)
        .with("a", 10)
        .with("b", 20);
    ADD.cache().put(&Serde(-1i64), &p).unwrap();
    assert_eq!(add(10, 20), -1);
}

static FIND: Slot = Slot::new();
static FIND_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(cache = FIND.cache(), name = "find_user")]
fn find(id: u32) -> Option<String> {
    FIND_RUNS.fetch_add(1, Ordering::SeqCst);
    (id == 1).then(|| "ada".to_string())
}

#[test]
fn a_none_result_is_stored_and_hits() {
    for _ in 0..3 {
        assert_eq!(find(2), None);
        assert_eq!(find(1).as_deref(), Some("ada"));
    }
    assert_eq!(FIND_RUNS.load(Ordering::SeqCst), 2);
    assert_eq!(find_cache_info().function, "find_user");
}

static SLOW: Slot = Slot::new();
static SLOW_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(cache = SLOW.cache())]
fn slow(x: u64) -> u64 {
    SLOW_RUNS.fetch_add(1, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(300));
    x * x
}

#[test]
fn eight_threads_calling_with_one_argument_compute_once() {
    let start = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                slow(9)
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 81);
    }
    assert_eq!(SLOW_RUNS.load(Ordering::SeqCst), 1);
    let info = slow_cache_info();
    assert_eq!((info.hits, info.misses), (7, 1));
}

static CLEAR: Slot = Slot::new();

#[cached(cache = CLEAR.cache(), version = 1)]
fn square(x: i64) -> i64 {
    x * x
}

#[cached(cache = CLEAR.cache())]
fn cube(x: i64) -> i64 {
    x * x * x
}

#[test]
fn cache_clear_after_reopening_removes_the_earlier_runs_entries_only() {
    for x in 0..5 {
        square(x);
        cube(x);
    }
    CLEAR.reopen();
    assert_eq!(square_cache_clear().unwrap(), 5);
    let cache = CLEAR.cache();
    assert_eq!(
        cache.list_entries().unwrap().len(),
        5,
        "cube's entries stay"
    );
    let p = function_params(concat!(module_path!(), "::square"), Some(1.into())).with("x", 3);
    assert!(!cache.exists(&p).unwrap());
    assert_eq!(square_cache_clear().unwrap(), 0);
}

static PARSE: Slot = Slot::new();
static PARSE_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(cache = PARSE.cache())]
fn parse(text: &str) -> Result<i64, std::num::ParseIntError> {
    PARSE_RUNS.fetch_add(1, Ordering::SeqCst);
    let n: i64 = text.parse()?;
    if n < 0 {
        return Ok(0);
    }
    Ok(n)
}

#[test]
fn a_result_function_stores_ok_values_only() {
    assert!(parse("x").is_err());
    assert!(parse("x").is_err());
    assert_eq!(
        PARSE_RUNS.load(Ordering::SeqCst),
        2,
        "errors are not stored"
    );
    assert_eq!(
        parse("-4"),
        Ok(0),
        "an early return is the function's result"
    );
    assert_eq!(parse("-4"), Ok(0));
    assert_eq!(PARSE_RUNS.load(Ordering::SeqCst), 3);
}

static OPTS: Slot = Slot::new();
static OPTS_RUNS: AtomicUsize = AtomicUsize::new(0);

#[derive(serde::Serialize)]
struct Config {
    depth: u32,
    features: Vec<String>,
}

#[cached(
    cache = OPTS.cache(),
    version = "2024-06",
    ignore = [verbose],
    cache_if = |v: &Vec<f64>| !v.is_empty(),
    description = "training scores",
    ttl = "1h"
)]
fn train(config: &Config, seed: u64, verbose: bool) -> Vec<f64> {
    OPTS_RUNS.fetch_add(1, Ordering::SeqCst);
    if verbose {
        eprintln!("training");
    }
    if seed == 0 {
        return Vec::new();
    }
    vec![f64::from(config.depth), seed as f64]
}

#[test]
fn options_version_ignore_cache_if_description_and_ttl() {
    let config = Config {
        depth: 3,
        features: vec!["a".into()],
    };
    assert_eq!(train(&config, 7, true), [3.0, 7.0]);
    assert_eq!(train(&config, 7, false), [3.0, 7.0], "verbose is not keyed");
    assert_eq!(OPTS_RUNS.load(Ordering::SeqCst), 1);
    train(&config, 0, false);
    train(&config, 0, false);
    assert_eq!(
        OPTS_RUNS.load(Ordering::SeqCst),
        3,
        "empty results are not kept"
    );
    let entries = OPTS.cache().list_entries().unwrap();
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(e.description.as_deref(), Some("training scores"));
    let ttl = e.expires_at.unwrap() - e.created_at;
    assert_eq!(ttl.num_seconds(), 3600);
    assert_eq!(e.params["_version"], "2024-06");
    assert_eq!(
        e.params["config"],
        serde_json::json!({"depth": 3, "features": ["a"]})
    );
    assert!(e.params.get("verbose").is_none());
}

static KEYED: Slot = Slot::new();
static KEYED_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(cache = KEYED.cache(), key = |name: &&str, _retries: &u32| {
    cacheness::params!(name = name.to_lowercase())
})]
fn fetch(name: &str, retries: u32) -> String {
    KEYED_RUNS.fetch_add(1, Ordering::SeqCst);
    format!("{name}:{retries}")
}

#[test]
fn a_custom_key_function_decides_the_key() {
    assert_eq!(fetch("Ada", 1), "Ada:1");
    assert_eq!(fetch("ADA", 5), "Ada:1", "same key: the stored result");
    assert_eq!(KEYED_RUNS.load(Ordering::SeqCst), 1);
}

static FILES: Slot = Slot::new();
static FILES_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(cache = FILES.cache())]
fn count_lines(data: &Path) -> usize {
    FILES_RUNS.fetch_add(1, Ordering::SeqCst);
    std::fs::read_to_string(data).map_or(0, |t| t.lines().count())
}

#[test]
fn a_path_argument_is_keyed_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.csv");
    std::fs::write(&a, "x\n1\n2\n").unwrap();
    // Old enough to be trusted by the stat cache.
    std::thread::sleep(cacheness::keys::content::RACY_WINDOW + Duration::from_millis(50));
    assert_eq!(count_lines(&a), 3);
    let hasher = FILES.cache();
    let reads = || hasher.content_hasher().counters().files_read;
    let read_before = reads();
    assert_eq!(count_lines(&a), 3);
    assert_eq!(
        reads(),
        read_before,
        "unchanged: the stat cache answers, no read"
    );
    assert_eq!(FILES_RUNS.load(Ordering::SeqCst), 1);
    // A copy elsewhere hits.
    let b = dir.path().join("copy.csv");
    std::fs::copy(&a, &b).unwrap();
    assert_eq!(count_lines(&b), 3);
    assert_eq!(FILES_RUNS.load(Ordering::SeqCst), 1);
    // Touched (new modification time), same bytes: read once more, still a hit.
    let f = std::fs::File::options().write(true).open(&a).unwrap();
    f.set_modified(std::time::SystemTime::now()).unwrap();
    assert_eq!(count_lines(&a), 3);
    assert_eq!(FILES_RUNS.load(Ordering::SeqCst), 1);
    // Edited: a miss.
    std::fs::write(&a, "x\n1\n2\n3\n").unwrap();
    assert_eq!(count_lines(&a), 4);
    assert_eq!(FILES_RUNS.load(Ordering::SeqCst), 2);
    // A missing file: the function runs uncached, the error is counted.
    assert_eq!(count_lines(&dir.path().join("missing.csv")), 0);
    assert_eq!(count_lines(&dir.path().join("missing.csv")), 0);
    assert_eq!(FILES_RUNS.load(Ordering::SeqCst), 4);
    assert_eq!(count_lines_cache_info().errors, 2);
}

static NAMES: Slot = Slot::new();
static NAMES_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(cache = NAMES.cache(), missing_paths = "name")]
fn maybe(file: PathBuf) -> bool {
    NAMES_RUNS.fetch_add(1, Ordering::SeqCst);
    file.exists()
}

#[test]
fn missing_paths_can_be_keyed_by_name() {
    let dir = tempfile::tempdir().unwrap();
    assert!(!maybe(dir.path().join("nope")));
    assert!(!maybe(dir.path().join("nope")));
    assert_eq!(NAMES_RUNS.load(Ordering::SeqCst), 1);
    assert_eq!(maybe_cache_info().errors, 0);
}

static ASYNC: Slot = Slot::new();
static ASYNC_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(cache = ASYNC.cache())]
async fn embed(text: String) -> Result<Vec<f32>, std::io::Error> {
    ASYNC_RUNS.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(200)).await;
    if text.is_empty() {
        return Err(std::io::Error::other("empty"));
    }
    Ok(vec![text.len() as f32])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_functions_cache_and_compute_once() {
    let calls: Vec<_> = (0..8)
        .map(|_| tokio::spawn(embed("hello".into())))
        .collect();
    for c in calls {
        assert_eq!(c.await.unwrap().unwrap(), [5.0]);
    }
    assert_eq!(ASYNC_RUNS.load(Ordering::SeqCst), 1);
    assert!(embed(String::new()).await.is_err());
    assert!(embed(String::new()).await.is_err());
    assert_eq!(ASYNC_RUNS.load(Ordering::SeqCst), 3);
}

static METHOD: LazyLock<Slot> = LazyLock::new(Slot::new);
static METHOD_RUNS: AtomicUsize = AtomicUsize::new(0);

#[derive(serde::Serialize)]
struct Model {
    depth: u32,
    #[serde(skip)]
    _handle: (),
}

impl Model {
    #[cached(cache = METHOD.cache())]
    fn predict(&self, x: f64) -> f64 {
        METHOD_RUNS.fetch_add(1, Ordering::SeqCst);
        x * f64::from(self.depth)
    }
}

#[test]
fn methods_key_their_receiver() {
    let a = Model {
        depth: 2,
        _handle: (),
    };
    let b = Model {
        depth: 3,
        _handle: (),
    };
    assert_eq!(a.predict(1.5), 3.0);
    assert_eq!(a.predict(1.5), 3.0);
    assert_eq!(b.predict(1.5), 4.5);
    assert_eq!(METHOD_RUNS.load(Ordering::SeqCst), 2);
    assert_eq!(
        Model::predict_cache_info().function,
        concat!(module_path!(), "::Model::predict")
    );
}

static TABLE: Slot = Slot::new();

#[cached(cache = TABLE.cache())]
fn make_array(n: usize) -> ndarray::Array1<f64> {
    ndarray::Array1::from_iter((0..n).map(|i| i as f64))
}

#[test]
fn cacheable_results_are_stored_in_their_own_format() {
    assert_eq!(make_array(4).len(), 4);
    assert_eq!(make_array(4).len(), 4);
    assert_eq!(make_array_cache_info().hits, 1);
    let entries = TABLE.cache().list_entries().unwrap();
    assert_eq!(entries[0].data_type, cacheness::DataType::Ndarray);
}

#[test]
fn the_names_the_macro_refuses_are_the_catalogs() {
    // `#[cached]` refuses argument names with `is_reserved_name` at compile time.
    for name in cacheness::keys::RESERVED_NAMES {
        assert!(cacheness::keys::is_reserved_name(name), "{name}");
        assert!(
            !cacheness::keys::is_reserved_name(&name[1..]),
            "{name} without its first letter"
        );
    }
    for name in ["path_", "paths", "pat", "", "key", "cache_keys"] {
        assert!(!cacheness::keys::is_reserved_name(name), "{name}");
    }
}

static DATA: Slot = Slot::new();
static DATA_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(cache = DATA.cache())]
fn column_sum(
    table: &cacheness::deps::arrow::array::RecordBatch,
    weights: ndarray::Array1<f64>,
) -> f64 {
    DATA_RUNS.fetch_add(1, Ordering::SeqCst);
    weights.sum() * table.num_rows() as f64
}

#[test]
fn tables_and_arrays_are_keyed_by_their_values() {
    use cacheness::deps::arrow::array::{ArrayRef, Int64Array, RecordBatch};
    let t = |name: &str, v: Vec<i64>| {
        RecordBatch::try_from_iter([(name, std::sync::Arc::new(Int64Array::from(v)) as ArrayRef)])
            .unwrap()
    };
    let w = ndarray::Array1::from(vec![0.5, 0.5]);
    assert_eq!(column_sum(&t("x", vec![1, 2]), w.clone()), 2.0);
    assert_eq!(column_sum(&t("x", vec![1, 2]), w.clone()), 2.0);
    assert_eq!(DATA_RUNS.load(Ordering::SeqCst), 1, "equal values: a hit");
    column_sum(&t("y", vec![1, 2]), w.clone());
    column_sum(&t("x", vec![1, 3]), w.clone());
    column_sum(&t("x", vec![1, 2]), ndarray::Array1::from(vec![0.5, 0.25]));
    assert_eq!(
        DATA_RUNS.load(Ordering::SeqCst),
        4,
        "a name, a value, a weight: misses"
    );
}

static SERVICE: Slot = Slot::new();
static SERVICE_RUNS: AtomicUsize = AtomicUsize::new(0);

/// A handle that cannot be keyed (no Serialize, no KeyParam).
struct Service {
    calls: AtomicUsize,
}

impl Service {
    #[cached(cache = SERVICE.cache(), ignore = [self], name = "service_lookup")]
    fn lookup(&self, id: u32) -> String {
        self.calls.fetch_add(1, Ordering::SeqCst);
        SERVICE_RUNS.fetch_add(1, Ordering::SeqCst);
        format!("user {id}")
    }
}

#[test]
fn an_ignored_receiver_leaves_the_key_to_the_other_arguments() {
    let (a, b) = (
        Service {
            calls: AtomicUsize::new(0),
        },
        Service {
            calls: AtomicUsize::new(0),
        },
    );
    assert_eq!(a.lookup(1), "user 1");
    assert_eq!(b.lookup(1), "user 1", "another handle, same key: a hit");
    assert_eq!(SERVICE_RUNS.load(Ordering::SeqCst), 1);
    assert_eq!(
        a.calls.load(Ordering::SeqCst) + b.calls.load(Ordering::SeqCst),
        1
    );
    assert_eq!(Service::lookup_cache_info().hits, 1);
    assert_eq!(Service::lookup_cache_clear().unwrap(), 1);
}

static TTL: Slot = Slot::new();
static TTL_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(cache = TTL.cache(), ttl = 1)]
fn quote(symbol: &str) -> f64 {
    TTL_RUNS.fetch_add(1, Ordering::SeqCst);
    symbol.len() as f64
}

#[test]
fn the_ttl_expires_results_within_the_process() {
    assert_eq!(quote("ACME"), 4.0);
    assert_eq!(quote("ACME"), 4.0);
    assert_eq!(TTL_RUNS.load(Ordering::SeqCst), 1);
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(quote("ACME"), 4.0);
    assert_eq!(
        TTL_RUNS.load(Ordering::SeqCst),
        2,
        "expired: computed again"
    );
}

/// A function on the default cache (`$CACHENESS_DIR`), run in a child process.
#[cached(version = 3)]
fn on_the_default_cache(x: i64) -> i64 {
    x + 1
}

#[test]
#[ignore = "run as a child process by the_default_cache_is_at_cacheness_dir"]
fn child_uses_the_default_cache() {
    if std::env::var_os("CACHENESS_TEST_CHILD").is_none() {
        return;
    }
    assert_eq!(on_the_default_cache(41), 42);
    assert_eq!(on_the_default_cache(41), 42);
    let info = on_the_default_cache_cache_info();
    assert_eq!((info.hits, info.misses, info.errors), (1, 1, 0));
    cacheness::function::default_cache()
        .unwrap()
        .close()
        .unwrap();
    println!("DONE");
}

#[test]
fn the_default_cache_is_at_cacheness_dir() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::rerun_test(module_path!(), "child_uses_the_default_cache")
        .env("CACHENESS_DIR", dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("DONE"), "{stdout}");
    let cache = Cache::open(dir.path()).unwrap();
    let p = function_params(
        concat!(module_path!(), "::on_the_default_cache"),
        Some(3.into()),
    )
    .with("x", 41);
    let stored: Option<Serde<i64>> = cache.get(&p).unwrap();
    assert_eq!(stored.unwrap().0, 42);
}
