//! W5 memoized function: a `#[cached]` function of one integer returning the W1 value, first
//! call (miss + store) and second call (hit); beside it, a plain `get` of the same entry and a
//! HashMap memo. Then the content-hashed parameters of issue 6: hashing a large file warm, and
//! a 10,000-file tree hashed the first time and again with the stat cache.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use cacheness::keys::ContentHasher;
use cacheness::{Serde, blocking::Cache, cached};
use serde_json::json;

use super::{RunConfig, open_cache, scratch};
use crate::timing::{Samples, round};
use crate::{SmallValue, small_value};

/// The cache of this run's `compute` (one W5 run per process).
static CACHE: OnceLock<Cache> = OnceLock::new();

/// The memoized function: one integer argument, the W1 value.
#[cached(cache = CACHE.get().ok_or(cacheness::Error::Background { reason: "W5 cache not open".into() }), name = "w5_compute")]
fn compute(i: i64) -> SmallValue {
    small_value(i)
}

/// Median of `runs` timings of `f`, in seconds.
fn median_secs(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

/// Write `bytes` of pseudo-random data to `path` in 1 MiB blocks.
fn write_big_file(path: &Path, bytes: usize) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let block: Vec<u8> = (0..1 << 20)
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut left = bytes;
    while left > 0 {
        let n = left.min(block.len());
        f.write_all(&block[..n])?;
        left -= n;
    }
    f.flush()
}

/// Every file under `dir`.
fn walk_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => todo.push(e.path()),
                Ok(_) => out.push(e.path()),
                Err(_) => {}
            }
        }
    }
    out
}

/// File and tree hashing figures.
fn hashing(cfg: &RunConfig, dir: &Path) -> serde_json::Value {
    let file_bytes = if cfg.quick { 64 << 20 } else { 1 << 30 };
    let files = if cfg.quick { 1_000 } else { 10_000 };
    let big = dir.join("big.bin");
    if let Err(e) = write_big_file(&big, file_bytes) {
        return json!({"error": format!("cannot write {}: {e}", big.display())});
    }
    // Warm: the file was just written (page cache), and one read first.
    let hasher = ContentHasher::in_memory();
    let _ = hasher.hash_file(&big);
    let file_secs = median_secs(5, || {
        // A fresh hasher each time: no stat cache, every byte read and hashed.
        let _ = ContentHasher::in_memory().hash_file(&big);
    });
    let _ = std::fs::remove_file(&big);

    let tree = dir.join("tree");
    for i in 0..files {
        let sub = tree.join(format!("d{:02}", i % 100));
        let _ = std::fs::create_dir_all(&sub);
        let body: Vec<u8> = (0..4096).map(|j| ((i * 31 + j) % 251) as u8).collect();
        let _ = std::fs::write(sub.join(format!("f{i}.bin")), body);
    }
    // Files changed less than the racy window ago are never trusted: let it pass.
    std::thread::sleep(cacheness::keys::content::RACY_WINDOW + Duration::from_millis(100));
    // The first hash of a tree not in memory (after a reboot, a new dataset): write it back,
    // then drop its pages from the page cache.
    rustix::fs::sync();
    for entry in walk_files(&tree) {
        if let Ok(f) = std::fs::File::open(&entry) {
            let _ = rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed);
        }
    }
    let t = Instant::now();
    let cold = ContentHasher::in_memory().hash_dir(&tree).ok();
    let cold_secs = t.elapsed().as_secs_f64();
    let stat_file = dir.join("stat-cache.v1");
    let signer = cacheness::signing::Signer::from_key(&[5; 32]);
    let first_hasher = ContentHasher::persistent(&stat_file, signer.clone());
    let t = Instant::now();
    let first = first_hasher.hash_dir(&tree).ok();
    let first_secs = t.elapsed().as_secs_f64();
    let _ = first_hasher.save();
    let again_secs = median_secs(5, || {
        let _ = first_hasher.hash_dir(&tree);
    });
    // Another process: the stat cache loaded from its file.
    let t = Instant::now();
    let loaded = ContentHasher::persistent(&stat_file, signer);
    let reloaded = loaded.hash_dir(&tree).ok();
    let reload_secs = t.elapsed().as_secs_f64();
    json!({
        "file_bytes": file_bytes,
        "file_hash_gb_per_s": round(file_bytes as f64 / file_secs / 1e9),
        "tree_files": files,
        "tree_first_cold_ms": round(cold_secs * 1e3),
        "tree_first_ms": round(first_secs * 1e3),
        "tree_again_ms": round(again_secs * 1e3),
        "tree_new_process_ms": round(reload_secs * 1e3),
        "tree_speedup": round(first_secs / again_secs),
        "tree_cold_speedup": round(cold_secs / again_secs),
        "tree_new_process_speedup": round(first_secs / reload_secs),
        "tree_digests_agree": first.is_some() && first == reloaded && first == cold,
        "tree_reads_again": first_hasher.counters().files_read as usize - files,
    })
}

/// Run W5.
pub fn run(cfg: &RunConfig) -> serde_json::Value {
    let n = if cfg.quick { 100 } else { 1_000 };
    let dir = scratch(cfg, "w5");
    let cache = open_cache(&dir.path().join("cache"));
    if CACHE.set(cache.clone()).is_err() {
        return json!({"workload": "W5", "skipped": "W5 runs once per process"});
    }
    // Warm-up on arguments of their own.
    for i in 0..100 {
        compute(-1 - i);
        compute(-1 - i);
    }
    let mut first_ok = true;
    let first = Samples::collect(n, |i| {
        first_ok &= compute(i as i64) == small_value(i as i64)
    });
    let mut second_ok = true;
    let second = Samples::collect(n, |i| {
        second_ok &= compute(i as i64) == small_value(i as i64)
    });
    let info = compute_cache_info();
    // Baseline: a plain get of the same entries (what a hit must at least do).
    let get = Samples::collect(n, |i| {
        let p = cacheness::function::function_params("w5_compute", None).with("i", i as i64);
        let _ = cache.get::<Serde<SmallValue>>(&p);
    });
    // Baseline: an in-memory memo (no persistence).
    let mut memo: HashMap<i64, SmallValue> = HashMap::new();
    let memo_first = Samples::collect(n, |i| {
        memo.entry(i as i64)
            .or_insert_with(|| small_value(i as i64));
    });
    let memo_hit = Samples::collect(n, |i| {
        std::hint::black_box(memo.get(&(i as i64)));
    });
    cache.flush().ok();
    let hashing = hashing(cfg, dir.path());
    json!({
        "workload": "W5",
        "n": n,
        "figures": {
            "first_call": first.summary(),
            "second_call": second.summary(),
            "results_correct": first_ok && second_ok,
            "hits": info.hits,
            "misses": info.misses,
            "errors": info.errors,
            "hashing": hashing,
        },
        "baselines": {
            "get_hit": get.summary(),
            "hashmap_first": memo_first.summary(),
            "hashmap_hit": memo_hit.summary(),
        },
        "ratios": {
            "second_call_over_get_hit": round(second.p50() / get.p50()),
        },
    })
}
