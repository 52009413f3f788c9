//! What moving the async API's work off the executor costs on small entries: a get and a put
//! of a small value through `blocking::Cache` beside the same through the async `Cache` (each
//! call a hop to tokio's blocking pool and back), on a multi-thread runtime. Medians and p99
//! in µs, three rounds. `cargo build --release -p cacheness-cli -p cacheness-bench --example
//! async_overhead`, then run `$CARGO_TARGET_DIR/release/examples/async_overhead`.

use cacheness::{Cache, Serde, params};
use cacheness_bench::timing::Samples;

const N: usize = 20_000;

fn main() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let cache = rt
        .block_on(Cache::open(dir.path()))
        .expect("the cache opens");
    let blocking = cache.blocking();
    let value = Serde(vec![7u64; 32]);
    for i in 0..N {
        blocking.put(&value, &params!(i = i as i64)).expect("put");
    }
    for round in 1..=3 {
        let b_get = Samples::collect(N, |i| {
            let v: Option<Serde<Vec<u64>>> = blocking.get(&params!(i = i as i64)).expect("get");
            assert!(v.is_some());
        });
        let a_get = Samples::collect(N, |i| {
            let v: Option<Serde<Vec<u64>>> =
                rt.block_on(cache.get(&params!(i = i as i64))).expect("get");
            assert!(v.is_some());
        });
        let b_put = Samples::collect(N / 4, |i| {
            blocking.put(&value, &params!(p = i as i64)).expect("put");
        });
        let a_put = Samples::collect(N / 4, |i| {
            rt.block_on(cache.put(value.clone(), &params!(p = i as i64)))
                .expect("put");
        });
        println!(
            "round {round}: get blocking {:.1} (p99 {:.1}) async {:.1} (p99 {:.1}); \
             put blocking {:.1} (p99 {:.1}) async {:.1} (p99 {:.1})",
            b_get.p50(),
            b_get.p99(),
            a_get.p50(),
            a_get.p99(),
            b_put.p50(),
            b_put.p99(),
            a_put.p50(),
            a_put.p99()
        );
    }
}
