//! What checking a payload costs on a get: the signature (payload MAC + entry HMAC) beside the
//! content hash alone (what a get checked before entries were signed), for a small object and
//! an 80 MB array, plus the whole get for scale. Medians in µs.
//! `cargo run --release -p cacheness-bench --example verify_cost`

use std::time::Duration;

use cacheness::deps::ndarray::Array1;
use cacheness::{CacheConfig, Serde, blocking::Cache, params};
use cacheness_bench::timing::Samples;
use cacheness_bench::{SmallValue, small_params, small_value};
use cacheness_format::seal::SlotAt;

fn time(n: usize, f: impl FnMut(usize)) -> f64 {
    Samples::collect(n, f).p50()
}

/// Print the check costs of the payload of `key` (format slots at `at`).
fn report(
    cache: &Cache,
    dir: &std::path::Path,
    key: &cacheness::CacheKey,
    ext: &str,
    at: SlotAt,
    n: usize,
) {
    let bytes = std::fs::read(dir.join(format!("blobs/{}/{key}.{ext}", &key[..2]))).unwrap();
    let info = cache.info(key).unwrap().unwrap();
    let signer = cache.signer();
    let hash = time(n, |_| {
        cacheness_format::seal::check(&bytes, at).unwrap();
    });
    let mac = time(n, |_| {
        signer.check_payload(&bytes, at).unwrap();
    });
    let sig = signer.check_payload(&bytes, at).unwrap();
    let rec = info.record();
    let hmac = time(n, |_| assert!(signer.check_record(&sig, &rec)));
    let gbps = |us: f64| bytes.len() as f64 / us / 1e3;
    println!(
        "{ext} payload of {} bytes: content hash {hash:.3} µs ({:.1} GB/s); payload MAC \
         {mac:.3} µs ({:.1} GB/s); entry HMAC {hmac:.3} µs; signature total {:.3} µs; \
         overhead over the content hash {:+.3} µs",
        bytes.len(),
        gbps(hash),
        gbps(mac),
        mac + hmac,
        mac + hmac - hash,
    );
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open_with(
        CacheConfig::new(dir.path()).with_commit_interval(Duration::from_secs(3600)),
    )
    .unwrap();
    let small = small_params(1);
    let key = cache.put(&Serde(small_value(1)), &small).unwrap();
    let get = time(20_000, |_| {
        cache.get::<Serde<SmallValue>>(&small).unwrap().unwrap();
    });
    println!("small get (whole): {get:.3} µs");
    report(&cache, dir.path(), &key, "cnobj", SlotAt::Front, 20_000);

    let big = params!(array = "80MB");
    let array = cacheness_bench::normal_f64(10_000_000, 7);
    let key = cache.put(&array, &big).unwrap();
    let get = time(15, |_| {
        cache.get::<Array1<f64>>(&big).unwrap().unwrap();
    });
    println!("80 MB array get (whole): {get:.0} µs");
    report(&cache, dir.path(), &key, "b2nd", SlotAt::Back, 15);
}
