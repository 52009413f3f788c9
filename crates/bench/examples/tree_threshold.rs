//! Where parallel tree hashing starts to pay: reading and hashing N small files one after
//! another beside the same N files through rayon (what `ContentHasher::hash_dir` does above
//! its threshold), for N from 4 to 1,024, files in memory. Medians of 21 runs, in µs.
//! `cargo run --release -p cacheness-bench --example tree_threshold`

use std::path::PathBuf;
use std::time::Instant;

use cacheness::keys::ContentHasher;
use rayon::prelude::*;

fn median_us(mut f: impl FnMut()) -> f64 {
    f();
    let mut t: Vec<f64> = (0..21)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let files: Vec<PathBuf> = (0..1024)
        .map(|i| {
            let p = dir.path().join(format!("f{i}"));
            std::fs::write(&p, vec![i as u8; 4096]).unwrap_or_else(|e| panic!("write: {e}"));
            p
        })
        .collect();
    println!("files  sequential_us  parallel_us  parallel/sequential");
    for n in [4, 16, 32, 64, 128, 256, 1024] {
        let set = &files[..n];
        // A fresh hasher each time: no stat cache, every file read.
        let seq = median_us(|| {
            let h = ContentHasher::in_memory();
            for f in set {
                let _ = h.hash_file(f);
            }
        });
        let par = median_us(|| {
            let h = ContentHasher::in_memory();
            set.par_iter().for_each(|f| {
                let _ = h.hash_file(f);
            });
        });
        println!("{n:>5}  {seq:>13.1}  {par:>11.1}  {:>19.2}", par / seq);
    }
}
