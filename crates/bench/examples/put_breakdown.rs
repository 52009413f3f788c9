//! Where a small put's time goes: the file system steps beside the whole put.
//! `cargo run --release -p cacheness-bench --example put_breakdown`

use std::io::Write;
use std::time::Duration;

use cacheness::{CacheConfig, Serde, blocking::Cache};
use cacheness_bench::timing::Samples;
use cacheness_bench::{small_params, small_value};

fn time(n: usize, f: impl FnMut(usize)) -> f64 {
    Samples::collect(n, f).p50()
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open_with(
        CacheConfig::new(dir.path()).with_commit_interval(Duration::from_secs(3600)),
    )
    .unwrap();
    let n = 5000;
    let put = time(n, |i| {
        cache
            .put(&Serde(small_value(i as i64)), &small_params(i as i64))
            .unwrap();
    });
    let put2 = time(n, |i| {
        cache
            .put(
                &Serde(small_value((n + i) as i64)),
                &small_params((n + i) as i64),
            )
            .unwrap();
    });
    println!("second round of puts: {put2:.2}");
    let get = time(n, |i| {
        cache
            .get::<Serde<cacheness_bench::SmallValue>>(&small_params(i as i64))
            .unwrap()
            .unwrap();
    });
    let raw = dir.path().join("raw");
    std::fs::create_dir_all(&raw).unwrap();
    let payload = vec![7u8; 300];
    let stat = time(n, |i| {
        let _ = raw.join(format!("{i}.x")).exists();
    });
    let create_write = time(n, |i| {
        let mut f = std::fs::File::create(raw.join(format!("a{i}.x"))).unwrap();
        f.write_all(&payload).unwrap();
    });
    let tmp_rename = time(n, |i| {
        let mut t = tempfile::Builder::new().tempfile_in(&raw).unwrap();
        t.write_all(&payload).unwrap();
        t.persist(raw.join(format!("b{i}.x"))).unwrap();
    });
    let plain_rename = time(n, |i| {
        let p = raw.join(format!(".c{i}.tmp"));
        let mut f = std::fs::File::create(&p).unwrap();
        f.write_all(&payload).unwrap();
        drop(f);
        std::fs::rename(&p, raw.join(format!("c{i}.x"))).unwrap();
    });
    let unlink_missing = time(n, |i| {
        let _ = std::fs::remove_file(raw.join(format!("missing{i}.x")));
    });
    let lookup_new = time(n, |i| {
        let _ = std::fs::File::open(raw.join(format!("never{i}.x")));
    });
    let lookup_again = time(n, |i| {
        let _ = std::fs::File::open(raw.join(format!("never{i}.x")));
    });
    let read = time(n, |i| {
        std::fs::read(raw.join(format!("c{i}.x"))).unwrap();
    });
    // The content hash over an 80 MB payload (whole-file check, as every get does).
    let mut big = vec![1u8; 80_000_000];
    big[79_000_000..79_000_041].copy_from_slice(cacheness_format::seal::PLACEHOLDER);
    cacheness_format::seal::seal(&mut big, cacheness_format::seal::SlotAt::Back).unwrap();
    let hash_ms = time(5, |_| {
        assert!(
            cacheness_format::seal::check(&big, cacheness_format::seal::SlotAt::Back).is_some()
        );
    }) / 1e3;
    println!(
        "content hash check of 80 MB: {hash_ms:.2} ms ({:.1} GB/s)",
        80.0 / hash_ms
    );
    println!("median µs: put {put:.2}  get {get:.2}");
    println!(
        "  stat {stat:.2}  unlink(missing) {unlink_missing:.2}  create+write {create_write:.2}"
    );
    println!(
        "  tempfile+write+persist {tmp_rename:.2}  create+write+rename {plain_rename:.2}  read {read:.2}"
    );
    println!(
        "  failed open of a name never looked up {lookup_new:.2}  of the same names again {lookup_again:.2}"
    );
}
