//! Benchmarks of Cacheness.
//!
//! - `cacheness-bench` (`src/main.rs`): the standard workload runner, W1–W7 of
//!   `shared/WORKLOADS.md`, each beside its raw baseline ([`workloads`]), timed by the rules
//!   there ([`timing`]), printed as JSON lines and a [`table`].
//! - [`disk_probe`]: the file-create probe taken before each workload (the disk's period).
//! - [`peers`]: the peer harness, the same workloads run by the tools our users would
//!   otherwise pick (`benches/peers/` at the workspace root), and ours ÷ theirs.
//! - `benches/hot_paths.rs`: criterion micro-benches of the hot paths.
//! - `examples/put_breakdown.rs`: where a small put's time goes.
//! - This file: the data generators shared by all of them and by `cacheness demo`.

#![warn(missing_docs)]

pub mod disk_probe;
pub mod peers;
pub mod table;
pub mod timing;
pub mod workloads;

use std::sync::Arc;

use cacheness::deps::arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use cacheness::deps::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use cacheness::deps::ndarray::Array1;
use rand::{Rng, SeedableRng, rngs::StdRng};
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// The W1 value: `{results: [1, 2, 3], i: i}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmallValue {
    /// Always `[1, 2, 3]`.
    pub results: Vec<i64>,
    /// The entry number.
    pub i: i64,
}

/// The W1 value for entry `i`.
pub fn small_value(i: i64) -> SmallValue {
    SmallValue {
        results: vec![1, 2, 3],
        i,
    }
}

/// The W1 key parameters for entry `i`.
pub fn small_params(i: i64) -> cacheness::Params {
    cacheness::params!(model = "resnet50", dataset = "imagenet", i = i)
}

/// W2: `n` float64 values drawn from a standard normal.
pub fn normal_f64(n: usize, seed: u64) -> Array1<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    Array1::from_iter((0..n).map(|_| StandardNormal.sample(&mut rng)))
}

/// W2: `n` int32 values in runs of 100 equal values drawn from 0..999.
pub fn runs_i32(n: usize, seed: u64) -> Array1<i32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let v = rng.random_range(0..999);
        out.extend(std::iter::repeat_n(v, 100.min(n - out.len())));
    }
    Array1::from_vec(out)
}

/// W3: the 6-column table of `rows` rows.
pub fn w3_table(rows: usize, seed: u64) -> RecordBatch {
    let mut rng = StdRng::seed_from_u64(seed);
    let cats: Vec<String> = (0..20).map(|i| format!("category_{i:02}")).collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("x1", DataType::Float64, false),
        Field::new("x2", DataType::Float64, false),
        Field::new("category", DataType::Utf8, false),
        Field::new(
            "timestamp",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
        Field::new("flag", DataType::Boolean, false),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(0..rows as i64)),
        Arc::new(Float64Array::from_iter_values(
            (0..rows).map(|_| StandardNormal.sample(&mut rng)),
        )),
        Arc::new(Float64Array::from_iter_values(
            (0..rows).map(|_| rng.random::<f64>()),
        )),
        Arc::new(StringArray::from_iter_values(
            (0..rows).map(|_| &cats[rng.random_range(0..20)]),
        )),
        Arc::new(TimestampMicrosecondArray::from_iter_values(
            (0..rows as i64).map(|i| 1_700_000_000_000_000 + i * 1_000_000),
        )),
        Arc::new(BooleanArray::from_iter(
            (0..rows).map(|_| Some(rng.random::<bool>())),
        )),
    ];
    RecordBatch::try_new(schema, cols).unwrap_or_else(|e| unreachable!("fixed schema: {e}"))
}
