//! W2 arrays: put/get 3 times (a new key each time) of float64 and run-length int32 arrays;
//! baselines: Blosc2 alone + file, plain file, memcpy.

use cacheness::deps::ndarray::Array1;
use cacheness::{CodecOptions, Element, codec::array::NotBool, params};
use serde_json::json;

use super::{RunConfig, dir_bytes, open_workload_cache, scratch, timed_part_reads};
use crate::timing::{Samples, mb_per_s, round};
use crate::{normal_f64, runs_i32};

const REPS: usize = 3;

fn one<T: Element + NotBool + PartialEq + Default>(
    cfg: &RunConfig,
    label: &str,
    arr: Array1<T>,
) -> serde_json::Value {
    let dir = scratch(cfg, "w2");
    let cache = open_workload_cache(cfg, dir.path());
    let bytes = arr.len() * std::mem::size_of::<T>();
    // Warm-up.
    cache.put(&arr, &params!(warmup = label)).ok();
    cache.invalidate(&params!(warmup = label)).ok();
    let put = Samples::collect(REPS, |i| {
        cache.put(&arr, &params!(array = label, rep = i)).ok();
    });
    let stored = dir_bytes(&dir.path().join("blobs"));
    let mut back = Vec::new();
    let get = Samples::collect(REPS, |i| {
        back.push(cache.get::<Array1<T>>(&params!(array = label, rep = i)))
    });
    let ok = back
        .into_iter()
        .all(|b| matches!(b, Ok(Some(b)) if b == arr));
    // The mapped get (a view of the file where the array is stored as is), the maps kept
    // alive until all are timed, as joblib's mmap_mode="r" loads are.
    let mut maps = Vec::new();
    let get_mapped = Samples::collect(REPS, |i| {
        maps.push(cache.get_array_mapped::<T>(&params!(array = label, rep = i)))
    });
    let zero_copy = maps
        .iter()
        .all(|m| matches!(m, Ok(Some(m)) if m.is_zero_copy()));
    let mapped_ok = maps
        .into_iter()
        .all(|m| matches!(m, Ok(Some(m)) if m.view().iter().eq(arr.iter())));
    // A 1 % slice from the middle: only the chunks it touches are read (and, on an object
    // store, fetched).
    let (from, to) = (arr.len() / 2, arr.len() / 2 + arr.len() / 100);
    let mut part_ok = true;
    let slice = timed_part_reads(&cache, || {
        let part = from..to;
        let part = std::slice::from_ref(&part);
        let got = cache.get_array_slice::<T>(&params!(array = label, rep = 0), part);
        part_ok &=
            matches!(got, Ok(Some(g)) if g.as_slice() == arr.as_slice().map(|a| &a[from..to]));
    });

    let data = arr.as_slice().unwrap_or(&[]);
    let options = CodecOptions::default();
    let raw_path = dir.path().join("raw.b2frame");
    let blosc_put = Samples::collect(REPS, |_| {
        if let Ok(frame) = cacheness::codec::array::raw_frame(data, &options) {
            std::fs::write(&raw_path, frame).ok();
        }
    });
    // The output is allocated inside the timed region, as a get must.
    let mut out = Vec::new();
    let blosc_get = Samples::collect(REPS, |_| {
        out = vec![T::default(); data.len()];
        if let Ok(frame) = std::fs::read(&raw_path) {
            cacheness::codec::array::raw_unframe(&frame, &mut out).ok();
        }
    });
    let blosc_ok = out == data;
    // The plain-file baseline writes the raw little-endian buffer.
    let plain_path = dir.path().join("raw.bin");
    let buf = cacheness::codec::array::as_bytes(data).to_vec();
    let file_put = Samples::collect(REPS, |_| {
        std::fs::write(&plain_path, &buf).ok();
    });
    let file_get = Samples::collect(REPS, |_| {
        std::hint::black_box(std::fs::read(&plain_path).ok());
    });
    let memcpy = Samples::collect(REPS, |_| {
        std::hint::black_box(buf.clone());
    });
    let p = |s: &Samples| mb_per_s(bytes, s.p50());
    // Where the time of the largest arrays goes, step by step.
    let phases = (bytes >= 32 << 20).then(|| super::phases::array(&arr, dir.path()));
    json!({
        "phases": phases,
        "array": label, "bytes": bytes,
        "put_mb_s": p(&put), "get_mb_s": p(&get), "stored_over_raw": round(stored as f64 / (REPS * bytes) as f64),
        "get_mapped_mb_s": p(&get_mapped), "get_mapped_zero_copy": zero_copy,
        "values_checked": ok && blosc_ok && part_ok && mapped_ok,
        "slice_1pct": slice,
        "baselines": {
            "blosc2_file": {"put_mb_s": p(&blosc_put), "get_mb_s": p(&blosc_get)},
            "plain_file": {"put_mb_s": p(&file_put), "get_mb_s": p(&file_get)},
            "memcpy_mb_s": p(&memcpy),
        },
        "ratios": {"put_vs_blosc2": round(blosc_put.p50() / put.p50()), "get_vs_blosc2": round(blosc_get.p50() / get.p50())},
    })
}

/// Run W2.
pub fn run(cfg: &RunConfig) -> serde_json::Value {
    let (small, big) = if cfg.quick {
        (100_000, 1_000_000)
    } else {
        (1_000_000, 10_000_000)
    };
    let arrays = vec![
        one(cfg, "float64_small", normal_f64(small, 1)),
        one(cfg, "float64_big", normal_f64(big, 2)),
        one(cfg, "int32_runs", runs_i32(big, 3)),
    ];
    json!({
        "workload": "W2",
        "sizes": {"float64_small": small, "float64_big": big, "int32_runs": big, "reps": REPS},
        "figures": {"arrays": arrays},
        "targets": {"float64_big_put_gb_s": 1.5, "float64_big_get_gb_s": 2.5, "int32_runs_gb_s": 5.0, "vs_blosc2": 0.8},
    })
}
