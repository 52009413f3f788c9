//! A model-based test of the whole cache on disk, in one process: random sequences of puts
//! (three formats, replacing one another), gets, invalidations, touches, outside deletions of
//! payloads, flushes, catalog maintenance passes and reopens, checked against an in-memory model after every step; after
//! every flush the listing, SQL `count(*)`, the Delta table (read through the `deltalake` and
//! `parquet` crates, not our listing) and `verify` must agree with it exactly
//! (`docs/RELIABILITY.md`, "The catalog's invariant").
//!
//! CI runs the default case count; a longer run:
//! `PROPTEST_CASES=2000 cargo test --workspace --test model` (proptest keeps shrunk failures in
//! `tests/model.proptest-regressions`, which are replayed first).

mod common;

use std::collections::{BTreeMap, BTreeSet};

use cacheness::deps::ndarray::Array1;
use cacheness::repair::ProblemKind;
use cacheness::{Params, Serde, blocking::Cache, params};
use proptest::prelude::*;

/// A value as the model holds it, one per format.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Object(i64),
    Bytes(Vec<u8>),
    Array(Vec<f64>),
}

#[derive(Debug, Clone)]
enum Op {
    Put(i64, Value),
    Get(i64),
    Invalidate(i64),
    Touch(i64),
    DeleteOutside(i64),
    Flush,
    Reopen,
    /// A catalog maintenance pass: compaction, checkpoint, log cleanup, vacuum.
    Maintain,
}

const KEYS: i64 = 4;

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::Object),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
        proptest::collection::vec(-1e6f64..1e6, 1..20).prop_map(Value::Array),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let n = 0..KEYS;
    prop_oneof![
        4 => (n.clone(), value()).prop_map(|(n, v)| Op::Put(n, v)),
        3 => n.clone().prop_map(Op::Get),
        1 => n.clone().prop_map(Op::Invalidate),
        1 => n.clone().prop_map(Op::Touch),
        1 => n.prop_map(Op::DeleteOutside),
        1 => Just(Op::Flush),
        1 => Just(Op::Reopen),
        1 => Just(Op::Maintain),
    ]
}

fn p(n: i64) -> Params {
    params!(n = n)
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

struct Run {
    dir: tempfile::TempDir,
    cache: Option<Cache>,
    /// The live entries.
    model: BTreeMap<i64, Value>,
    /// Keys whose payload was deleted behind the cache's back after their row was committed:
    /// the row stays until an invalidate or a put of the key, and verify reports it
    /// (`missing_payload`). A row still journaled when its payload goes is never committed.
    dangling: BTreeSet<i64>,
    /// Keys whose current row is committed (a flush or reopen since their last put).
    committed: BTreeSet<i64>,
}

impl Run {
    fn cache(&self) -> &Cache {
        self.cache.as_ref().unwrap()
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::Put(n, v) => {
                let c = self.cache();
                match v {
                    Value::Object(x) => c.put(&Serde(*x), &p(*n)),
                    Value::Bytes(b) => c.put(b, &p(*n)),
                    Value::Array(a) => c.put(&Array1::from(a.clone()), &p(*n)),
                }
                .unwrap();
                self.model.insert(*n, v.clone());
                self.dangling.remove(n);
                self.committed.remove(n);
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
                assert_eq!(
                    self.cache().invalidate(&p(*n)).unwrap(),
                    was,
                    "invalidate {n}"
                );
                self.dangling.remove(n);
                self.committed.remove(n);
            }
            Op::Touch(n) => {
                assert_eq!(
                    self.cache().touch(&p(*n)).unwrap(),
                    self.model.contains_key(n),
                    "touch {n}"
                );
                self.committed.remove(n); // rewritten: a new row is journaled
            }
            Op::DeleteOutside(n) => {
                let key = p(*n).key().unwrap();
                let shard = self.dir.path().join(format!("blobs/{}", &key[..2]));
                for ext in ["cnobj", "parquet", "b2nd"] {
                    let _ = std::fs::remove_file(shard.join(format!("{key}.{ext}")));
                }
                if self.model.remove(n).is_some() && self.committed.contains(n) {
                    self.dangling.insert(*n);
                }
            }
            Op::Flush => {
                self.cache().flush().unwrap();
                self.committed = self.model.keys().copied().collect();
                self.check_catalog();
            }
            Op::Maintain => {
                // A maintenance pass commits what is journaled first.
                self.cache().maintain().unwrap();
                self.committed = self.model.keys().copied().collect();
            }
            Op::Reopen => {
                self.cache.take().unwrap().close().unwrap();
                self.committed = self.model.keys().copied().collect();
                self.cache = Some(common::open_quiet(self.dir.path()));
            }
        }
    }

    /// After a flush: the listing, SQL, the Delta table and verify all agree with the model.
    fn check_catalog(&self) {
        let cache = self.cache();
        let key_of = |n: &i64| p(*n).key().unwrap();
        let rows: BTreeSet<String> = self
            .model
            .keys()
            .chain(&self.dangling)
            .map(key_of)
            .collect();
        let listed: BTreeSet<String> = cache
            .list_entries()
            .unwrap()
            .into_iter()
            .map(|e| e.cache_key)
            .collect();
        // A row whose payload was deleted behind the cache's back is listed until an
        // invalidate, a put of its key or repair (verify reports it, below).
        assert_eq!(listed, rows, "list_entries");
        let delta: Vec<String> = common::delta_rows(self.dir.path())
            .into_iter()
            .map(|r| r.cache_key)
            .collect();
        assert_eq!(delta.len(), rows.len(), "one Delta row per key: {delta:?}");
        assert_eq!(
            delta.into_iter().collect::<BTreeSet<_>>(),
            rows,
            "Delta rows"
        );
        let batches = cache
            .sql("SELECT count(*) AS n FROM cache_entries")
            .unwrap();
        assert_eq!(
            common::ints(&batches, "n"),
            vec![rows.len() as i64],
            "SQL count"
        );
        let report = cache.verify().unwrap();
        let problems: BTreeSet<(String, Option<String>)> = report
            .problems
            .iter()
            .map(|p| (format!("{:?}", p.kind), p.cache_key.clone()))
            .collect();
        let expected: BTreeSet<(String, Option<String>)> = self
            .dangling
            .iter()
            .map(|n| {
                (
                    format!("{:?}", ProblemKind::MissingPayload),
                    Some(key_of(n)),
                )
            })
            .collect();
        assert_eq!(problems, expected, "verify: {:?}", report.problems);
        for (n, v) in &self.model {
            assert_eq!(served(cache, *n).as_ref(), Some(v), "get {n} after flush");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_cache_agrees_with_a_model_of_it(ops in proptest::collection::vec(op(), 1..30)) {
        let dir = tempfile::tempdir().unwrap();
        let cache = Some(common::open_quiet(dir.path()));
        let mut run = Run {
            dir,
            cache,
            model: BTreeMap::new(),
            dangling: BTreeSet::new(),
            committed: BTreeSet::new(),
        };
        for op in &ops {
            run.apply(op);
        }
        run.apply(&Op::Flush);
    }
}
