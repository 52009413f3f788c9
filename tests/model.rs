//! A model-based test of the whole cache: random sequences of operations run against the real
//! cache and against an in-memory model of it. Each step checks what it answers (a get, a
//! touch, an invalidation, a race); a list step checks the listing and SQL `count(*)` within
//! the catalog lag; after every flush the listing, SQL `count(*)`, the Delta table (read by a
//! `deltalake` scan, not our listing) and `verify` must agree with the model exactly
//! (`docs/RELIABILITY.md`, "The catalog's invariant").
//!
//! The operations: puts in three formats replacing one another, puts that expire, gets,
//! invalidations, touches, outside deletions of payloads, threads racing to put one key,
//! child processes putting and invalidating on the same cache (in turn, and racing on one key),
//! eviction past an entry limit, expiry cleanup, listings, flushes, catalog maintenance passes
//! and reopens. On disk in CI at [`DISK_CASES`] sequences, and on an S3 server (moto on
//! loopback) at [`S3_CASES`], without the racing threads and processes (hosts sharing a bucket
//! are `tests/object_store.rs`).
//!
//! A longer run: `MODEL_CASES=3000 cargo test --workspace --test tests model::` (the S3 variant
//! runs a tenth as many). Shrunk failures are kept in `tests/model.proptest-regressions` and
//! replayed first.

use crate::common;
use crate::s3;
use cacheness_store::small_store::SmallStore;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use cacheness::deps::ndarray::Array1;
use cacheness::repair::ProblemKind;
use cacheness::storage::Location;
use cacheness::{CacheConfig, Params, PutOptions, Serde, blocking::Cache, params};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use serde::{Deserialize, Serialize};

/// Sequences run on disk in CI ([`cases`] to change it).
const DISK_CASES: u32 = 24;
/// Sequences run on S3 in CI.
const S3_CASES: u32 = 6;
/// The keys a sequence works on (few, so that operations meet).
const KEYS: i64 = 4;

/// The number of sequences to run: `MODEL_CASES`, scaled for the variant, or `default`.
fn cases(default: u32, share: u32) -> u32 {
    std::env::var("MODEL_CASES")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .map(|n| (n / share).max(1))
        .unwrap_or(default)
}

/// A value as the model holds it, one per format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Value {
    Object(i64),
    Bytes(Vec<u8>),
    Array(Vec<f64>),
}

/// What a child process does on the cache, in order.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum ChildOp {
    Put(i64, Value),
    Invalidate(i64),
}

#[derive(Debug, Clone)]
enum Op {
    Put(i64, Value),
    /// A put whose entry has expired by the next step.
    PutExpiring(i64, Value),
    Get(i64),
    Invalidate(i64),
    Touch(i64),
    DeleteOutside(i64),
    /// Threads put these values of one key at once.
    RaceThreads(i64, Vec<Value>),
    /// A child process opens the cache, does these in turn and closes it.
    Child(Vec<ChildOp>),
    /// Child processes put these values of one key at once.
    RaceProcesses(i64, Vec<Value>),
    /// An eviction pass with at most this many entries allowed.
    Evict(u64),
    CleanupExpired,
    /// A listing and an SQL count, within the catalog lag (a listing commits this process's
    /// journal first, as any catalog request does).
    List,
    Flush,
    Reopen,
    /// A catalog maintenance pass: compaction, checkpoint, log cleanup, vacuum.
    Maintain,
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::Object),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
        proptest::collection::vec(-1e6f64..1e6, 1..20).prop_map(Value::Array),
    ]
}

fn child_op() -> impl Strategy<Value = ChildOp> {
    prop_oneof![
        3 => (0..KEYS, value()).prop_map(|(n, v)| ChildOp::Put(n, v)),
        1 => (0..KEYS).prop_map(ChildOp::Invalidate),
    ]
}

/// The operations; `on_disk` adds threads racing on a key and child processes, which only a
/// cache on disk settles by its payloads (`docs/RELIABILITY.md`).
fn op(on_disk: bool) -> BoxedStrategy<Op> {
    let n = 0..KEYS;
    let local = prop_oneof![
        8 => (n.clone(), value()).prop_map(|(n, v)| Op::Put(n, v)),
        1 => (n.clone(), value()).prop_map(|(n, v)| Op::PutExpiring(n, v)),
        6 => n.clone().prop_map(Op::Get),
        2 => n.clone().prop_map(Op::Invalidate),
        2 => n.clone().prop_map(Op::Touch),
        2 => n.clone().prop_map(Op::DeleteOutside),
        1 => (1..=KEYS as u64).prop_map(Op::Evict),
        1 => Just(Op::CleanupExpired),
        2 => Just(Op::List),
        2 => Just(Op::Flush),
        2 => Just(Op::Reopen),
        1 => Just(Op::Maintain),
    ];
    if !on_disk {
        return local.boxed();
    }
    prop_oneof![
        24 => local,
        1 => (n.clone(), proptest::collection::vec(value(), 2..5))
            .prop_map(|(n, v)| Op::RaceThreads(n, v)),
        1 => proptest::collection::vec(child_op(), 1..4).prop_map(Op::Child),
        1 => (n, proptest::collection::vec(value(), 2..4))
            .prop_map(|(n, v)| Op::RaceProcesses(n, v)),
    ]
    .boxed()
}

fn p(n: i64) -> Params {
    params!(n = n)
}

fn put(cache: &Cache, n: i64, v: &Value, opts: &PutOptions) {
    match v {
        Value::Object(x) => cache.put_with(&Serde(*x), &p(n), opts),
        Value::Bytes(b) => cache.put_with(b, &p(n), opts),
        Value::Array(a) => cache.put_with(&Array1::from(a.clone()), &p(n), opts),
    }
    .unwrap();
}

/// What the cache serves for key `n`, in the model's terms.
fn served(cache: &Cache, n: i64) -> Option<Value> {
    if let Ok(Some(Serde(v))) = cache.get::<Serde<i64>>(&p(n)) {
        return Some(Value::Object(v));
    }
    if let Ok(Some(v)) = cache.get::<Vec<u8>>(&p(n)) {
        return Some(Value::Bytes(v));
    }
    if let Ok(Some(v)) = cache.get::<Array1<f64>>(&p(n)) {
        return Some(Value::Array(v.to_vec()));
    }
    None
}

/// The keys `list_entries` answers.
fn listed_keys(cache: &Cache) -> BTreeSet<cacheness::CacheKey> {
    cache
        .list_entries()
        .unwrap()
        .into_iter()
        .map(|e| e.cache_key)
        .collect()
}

/// What SQL `count(*)` over `cache_entries` answers.
fn sql_count(cache: &Cache) -> usize {
    let batches = cache
        .sql("SELECT count(*) AS n FROM cache_entries")
        .unwrap();
    common::ints(&batches, "n")[0] as usize
}

/// Where the cache under test lives.
enum Backend {
    Disk(tempfile::TempDir),
    S3 {
        s3: Arc<s3::S3>,
        state: tempfile::TempDir,
        prefix: String,
    },
}

impl Backend {
    fn open(&self, max_entries: Option<u64>) -> Cache {
        let config = match self {
            Backend::Disk(dir) => CacheConfig::new(dir.path()),
            Backend::S3 { s3, state, prefix } => {
                let mut c = CacheConfig::new(s3.url(prefix)).with_local_state(state.path());
                for (k, v) in s3.options() {
                    c = c.with_storage_option(k, v);
                }
                c
            }
        };
        Cache::open_with(
            config
                .with_commit_interval(Duration::from_secs(3600))
                .with_max_entries(max_entries),
        )
        .unwrap()
    }

    /// Delete the payload files of `key` behind the cache's back.
    fn delete_payloads(&self, key: &str) {
        for ext in ["cnobj", "parquet", "b2nd"] {
            let rel = format!("blobs/{}/{key}.{ext}", &key[..2]);
            match self {
                Backend::Disk(dir) => {
                    let _ = std::fs::remove_file(dir.path().join(rel));
                    // A small payload is a record of the small-entry store instead.
                    let small = SmallStore::open(dir.path(), cacheness::Durability::Buffered);
                    let _ = small.unwrap().remove(key);
                }
                Backend::S3 { s3, prefix, .. } => s3.delete(&format!("{prefix}/{rel}")),
            }
        }
    }

    /// The keys of the rows of the Delta table itself, one per row.
    fn delta_keys(&self) -> Vec<String> {
        let location = match self {
            Backend::Disk(dir) => Location::from(dir.path().join("catalog/cache_entries")),
            Backend::S3 { s3, prefix, .. } => {
                let options = s3
                    .options()
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect();
                Location::parse(
                    &s3.url(&format!("{prefix}/catalog/cache_entries")),
                    &options,
                )
                .unwrap()
            }
        };
        common::delta_rows_at(location)
            .into_iter()
            .map(|r| r.cache_key)
            .collect()
    }

    fn dir(&self) -> Option<&std::path::Path> {
        match self {
            Backend::Disk(dir) => Some(dir.path()),
            Backend::S3 { .. } => None,
        }
    }
}

/// One sequence's cache and model.
struct Run {
    backend: Backend,
    cache: Option<Cache>,
    /// The live entries.
    model: BTreeMap<i64, Value>,
    /// Keys whose payload was deleted behind the cache's back while their row was committed
    /// and nothing journaled touched them: the row stays until an invalidate, a put of the key
    /// or `repair`, and verify reports it (`missing_payload`).
    dangling: BTreeSet<i64>,
    /// Keys whose entry has expired (or whose expired payload was then deleted outside): a
    /// row for them may or may not be left, and verify may report them.
    expired: BTreeSet<i64>,
    /// Keys this process journaled since its last commit.
    pending: BTreeSet<i64>,
    /// Keys whose payload was deleted outside while this process's row for them was still
    /// journaled: listed until the commit settles them.
    unsettled: BTreeSet<i64>,
}

impl Run {
    fn new(backend: Backend) -> Run {
        let cache = Some(backend.open(None));
        Run {
            backend,
            cache,
            model: BTreeMap::new(),
            dangling: BTreeSet::new(),
            expired: BTreeSet::new(),
            pending: BTreeSet::new(),
            unsettled: BTreeSet::new(),
        }
    }

    fn cache(&self) -> &Cache {
        self.cache.as_ref().unwrap()
    }

    /// The model after a put of `v` under `n` that the cache served.
    fn put_landed(&mut self, n: i64, v: Value) {
        self.unsettled.remove(&n);
        self.model.insert(n, v);
        self.dangling.remove(&n);
        self.expired.remove(&n);
    }

    fn reopen(&mut self, max_entries: Option<u64>) {
        self.cache.take().unwrap().close().unwrap();
        self.committed();
        self.cache = Some(self.backend.open(max_entries));
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::Put(n, v) => {
                put(self.cache(), *n, v, &PutOptions::default());
                self.put_landed(*n, v.clone());
                self.pending.insert(*n);
            }
            Op::PutExpiring(n, v) => {
                let opts = PutOptions::default().ttl(Duration::from_millis(1));
                put(self.cache(), *n, v, &opts);
                std::thread::sleep(Duration::from_millis(3));
                self.model.remove(n);
                self.dangling.remove(n);
                self.expired.insert(*n);
                self.pending.insert(*n);
            }
            Op::Get(n) => {
                assert_eq!(
                    served(self.cache(), *n),
                    self.model.get(n).cloned(),
                    "get {n}"
                );
            }
            Op::Invalidate(n) => {
                let was = self.model.remove(n).is_some();
                let answer = self.cache().invalidate(&p(*n)).unwrap();
                if !self.expired.remove(n) {
                    assert_eq!(answer, was, "invalidate {n}");
                }
                self.dangling.remove(n);
                self.unsettled.remove(n);
                self.pending.insert(*n);
            }
            Op::Touch(n) => {
                let answer = self.cache().touch(&p(*n)).unwrap();
                assert_eq!(answer, self.model.contains_key(n), "touch {n}");
                if answer {
                    self.pending.insert(*n); // rewritten: a new row is journaled
                }
                assert_eq!(served(self.cache(), *n), self.model.get(n).cloned());
            }
            Op::DeleteOutside(n) => {
                self.backend.delete_payloads(&p(*n).key().unwrap());
                // A commit on disk settles the keys it touches by their payloads; on an object
                // store rows are committed as journaled, so a row still pending stays too.
                let settled = self.backend.dir().is_some() && self.pending.contains(n);
                if self.model.remove(n).is_some() {
                    match settled {
                        true => self.unsettled.insert(*n),
                        false => self.dangling.insert(*n),
                    };
                }
            }
            Op::RaceThreads(n, values) => {
                let cache = self.cache.take().unwrap();
                let barrier = Barrier::new(values.len());
                std::thread::scope(|s| {
                    for v in values {
                        let (cache, barrier) = (&cache, &barrier);
                        s.spawn(move || {
                            barrier.wait();
                            put(cache, *n, v, &PutOptions::default());
                        });
                    }
                });
                self.cache = Some(cache);
                self.finish_race(*n, values);
                self.pending.insert(*n);
            }
            Op::Child(ops) => {
                let dir = self.backend.dir().expect("child processes run on disk");
                let left_to_us = self.children_leave_their_rows(dir);
                let status = child(dir, ops).status().unwrap();
                assert!(status.success(), "child {ops:?}");
                for op in ops {
                    match op {
                        ChildOp::Put(n, v) => {
                            self.put_landed(*n, v.clone());
                            if left_to_us {
                                self.pending.insert(*n);
                            }
                        }
                        ChildOp::Invalidate(n) => {
                            self.unsettled.remove(n);
                            self.model.remove(n);
                            self.dangling.remove(n);
                            self.expired.remove(n);
                        }
                    }
                }
            }
            Op::RaceProcesses(n, values) => {
                let dir = self.backend.dir().expect("child processes run on disk");
                let left_to_us = self.children_leave_their_rows(dir);
                let children: Vec<_> = values
                    .iter()
                    .map(|v| child(dir, &[ChildOp::Put(*n, v.clone())]).spawn().unwrap())
                    .collect();
                for mut c in children {
                    assert!(c.wait().unwrap().success(), "a racing child failed");
                }
                self.finish_race(*n, values);
                if left_to_us {
                    self.pending.insert(*n);
                }
            }
            Op::Evict(limit) => {
                self.reopen(Some(*limit));
                self.cache().evict().unwrap();
                let before = std::mem::take(&mut self.model);
                for (n, v) in before {
                    match served(self.cache(), n) {
                        Some(got) => {
                            assert_eq!(got, v, "get {n} after eviction");
                            self.model.insert(n, v);
                        }
                        None => {
                            self.pending.insert(n);
                        }
                    }
                }
                assert!(
                    self.model.len() as u64 <= *limit,
                    "{} entries left over a limit of {limit}",
                    self.model.len()
                );
                self.reopen(None);
            }
            Op::CleanupExpired => {
                // It reads the catalog (which commits the journal), then journals deletes.
                self.cache().cleanup_expired().unwrap();
                self.committed();
                for n in &self.expired {
                    self.pending.insert(*n);
                }
            }
            Op::List => {
                self.check_listing();
                self.committed();
            }
            Op::Flush => {
                self.cache().flush().unwrap();
                self.committed();
                self.check_catalog();
            }
            Op::Maintain => {
                // A maintenance pass commits what is journaled first.
                self.cache().maintain().unwrap();
                self.committed();
            }
            Op::Reopen => self.reopen(None),
        }
    }

    /// Whether child processes that close now leave their rows to this process, whose next
    /// commit takes them: it has operations of its own to commit, and commits often enough
    /// (`docs/ARCHITECTURE.md`, "Processes that close together"; this process commits once an
    /// hour, so never here, but the model follows the rule). Otherwise the last child to close
    /// commits them.
    fn children_leave_their_rows(&self, dir: &std::path::Path) -> bool {
        let journal = dir.join("catalog/journal");
        let within = cacheness::catalog::committer::LEAVE_WITHIN;
        cacheness::catalog::journal::committer_to_come(&journal, "", within).unwrap()
    }

    /// This process's journal was committed.
    fn committed(&mut self) {
        self.pending.clear();
        self.unsettled.clear();
    }

    /// Within the catalog lag: the listing (the Delta snapshot plus every journal) holds
    /// every live entry and the rows left by outside deletions, and nothing else; SQL counts
    /// what the listing holds.
    fn check_listing(&self) {
        let cache = self.cache();
        let key_of = |n: &i64| p(*n).key().unwrap();
        let listed = listed_keys(cache);
        let live: BTreeSet<cacheness::CacheKey> = self.model.keys().map(key_of).collect();
        let may: BTreeSet<cacheness::CacheKey> = self
            .dangling
            .iter()
            .chain(&self.unsettled)
            .map(key_of)
            .collect();
        assert!(
            live.is_subset(&listed) && listed.iter().all(|k| live.contains(k) || may.contains(k)),
            "listed {listed:?}, live {live:?}, rows without payload {may:?}"
        );
        assert_eq!(sql_count(cache), listed.len(), "SQL count");
    }

    /// After puts of `values` under `n` raced: one of them is served, whole (the racers'
    /// rows are this process's to commit when they were its threads; when they were child
    /// processes, which close the cache, committed already or left to this process).
    fn finish_race(&mut self, n: i64, values: &[Value]) {
        let got = served(self.cache(), n).expect("a raced key is served");
        assert!(values.contains(&got), "served {got:?}, put {values:?}");
        self.put_landed(n, got);
    }

    /// After a flush: the listing, SQL, the Delta table and verify all agree with the model.
    fn check_catalog(&self) {
        let cache = self.cache();
        let key_of = |n: &i64| p(*n).key().unwrap();
        let rows: BTreeSet<cacheness::CacheKey> = self
            .model
            .keys()
            .chain(&self.dangling)
            .map(key_of)
            .collect();
        let may: BTreeSet<cacheness::CacheKey> = self.expired.iter().map(key_of).collect();
        let listed = listed_keys(cache);
        // A row whose payload was deleted behind the cache's back is listed until an
        // invalidate, a put of its key or repair (verify reports it, below).
        assert_eq!(listed, rows, "list_entries");
        let delta = self.backend.delta_keys();
        let unique: BTreeSet<cacheness::CacheKey> = delta
            .iter()
            .map(|k| cacheness::CacheKey::parse(k).unwrap())
            .collect();
        assert_eq!(
            unique.len(),
            delta.len(),
            "one Delta row per key: {delta:?}"
        );
        let extra: BTreeSet<&cacheness::CacheKey> = unique.difference(&rows).collect();
        assert!(
            rows.is_subset(&unique) && extra.iter().all(|k| may.contains(*k)),
            "Delta rows {unique:?}, expected {rows:?} (and maybe the expired {may:?})"
        );
        assert_eq!(sql_count(cache), rows.len(), "SQL count");
        let report = cache.verify().unwrap();
        let problems: BTreeSet<(String, Option<String>)> = report
            .problems
            .iter()
            .filter(|p| {
                !p.cache_key
                    .as_ref()
                    .is_some_and(|k| may.iter().any(|m| m == k))
            })
            .map(|p| (format!("{:?}", p.kind), p.cache_key.clone()))
            .collect();
        let expected: BTreeSet<(String, Option<String>)> = self
            .dangling
            .iter()
            .map(|n| {
                (
                    format!("{:?}", ProblemKind::MissingPayload),
                    Some(key_of(n).to_string()),
                )
            })
            .collect();
        assert_eq!(problems, expected, "verify: {:?}", report.problems);
        for (n, v) in &self.model {
            assert_eq!(served(cache, *n).as_ref(), Some(v), "get {n} after flush");
        }
    }
}

/// The child's operations: MessagePack (floats exactly), in hex.
const CHILD_ENV: &str = "CACHENESS_MODEL_CHILD";

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// A child process of this test binary that runs `ops` on the cache in `dir`.
fn child(dir: &std::path::Path, ops: &[ChildOp]) -> Command {
    let mut cmd = common::rerun_test(module_path!(), "model_child");
    cmd.env(CHILD_ENV, to_hex(&rmp_serde::to_vec(ops).unwrap()))
        .env("MODEL_DIR", dir)
        .stdout(std::process::Stdio::null());
    cmd
}

#[test]
#[ignore = "run as a child process by the model test"]
fn model_child() {
    let Ok(ops) = std::env::var(CHILD_ENV) else {
        return;
    };
    let ops: Vec<ChildOp> = rmp_serde::from_slice(&from_hex(&ops)).unwrap();
    let dir = std::path::PathBuf::from(std::env::var_os("MODEL_DIR").unwrap());
    let cache = common::open_quiet(&dir);
    for op in ops {
        match op {
            ChildOp::Put(n, v) => put(&cache, n, &v, &PutOptions::default()),
            ChildOp::Invalidate(n) => {
                cache.invalidate(&p(n)).unwrap();
            }
        }
    }
    cache.close().unwrap();
}

/// Run `cases` random sequences (with the operations only a disk takes, or not) on caches
/// `backend` makes.
fn run_sequences(cases: u32, on_disk: bool, backend: impl Fn() -> Backend) {
    let config = Config {
        cases,
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel(
            "proptest-regressions",
        ))),
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let ops = proptest::collection::vec(op(on_disk), 1..30);
    let result = runner.run(&ops, |ops| {
        let mut run = Run::new(backend());
        for op in &ops {
            run.apply(op);
        }
        run.apply(&Op::Flush);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn the_cache_on_disk_agrees_with_a_model_of_it() {
    run_sequences(cases(DISK_CASES, 1), true, || {
        Backend::Disk(tempfile::tempdir().unwrap())
    });
}

#[test]
fn the_cache_on_s3_agrees_with_a_model_of_it() {
    let s3 = Arc::new(s3::S3::start("model"));
    let next = std::cell::Cell::new(0);
    run_sequences(cases(S3_CASES, 10), false, || {
        next.set(next.get() + 1);
        Backend::S3 {
            s3: s3.clone(),
            state: tempfile::tempdir().unwrap(),
            prefix: format!("case{}", next.get()),
        }
    });
}
