//! W1 small objects: N puts, N hits, N misses; baselines: a file per key, and a HashMap.

use std::collections::HashMap;

use cacheness::Serde;
use serde_json::json;

use super::{RunConfig, open_workload_cache, scratch};
use crate::timing::Samples;
use crate::{SmallValue, small_params, small_value};

/// The baselines' codec: MessagePack + zstd with reused contexts (as a tuned library would).
struct Codec {
    comp: zstd::bulk::Compressor<'static>,
    decomp: zstd::bulk::Decompressor<'static>,
}

impl Codec {
    fn new() -> Codec {
        Codec {
            comp: zstd::bulk::Compressor::new(3).unwrap_or_else(|e| panic!("zstd: {e}")),
            decomp: zstd::bulk::Decompressor::new().unwrap_or_else(|e| panic!("zstd: {e}")),
        }
    }

    fn encode(&mut self, v: &SmallValue) -> Vec<u8> {
        let raw = rmp_serde::to_vec_named(v).unwrap_or_default();
        self.comp.compress(&raw).unwrap_or(raw)
    }

    fn decode(&mut self, b: &[u8]) -> SmallValue {
        let raw = self.decomp.decompress(b, 1 << 10).unwrap_or_default();
        rmp_serde::from_slice(&raw).unwrap_or_else(|_| small_value(-1))
    }
}

/// Run W1.
pub fn run(cfg: &RunConfig) -> serde_json::Value {
    let n = if cfg.quick { 1_000 } else { 10_000 };
    let dir = scratch(cfg, "w1");
    let cache = open_workload_cache(cfg, dir.path());
    // Warm-up on keys of their own, removed afterwards.
    for i in 0..100 {
        let p = cacheness::params!(warmup = i);
        cache.put(&Serde(small_value(i)), &p).ok();
        cache.get::<Serde<SmallValue>>(&p).ok();
        cache.invalidate(&p).ok();
    }
    let put = Samples::collect(n, |i| {
        cache
            .put(&Serde(small_value(i as i64)), &small_params(i as i64))
            .ok();
    });
    let mut got = Vec::with_capacity(n);
    let hit = Samples::collect(n, |i| {
        got.push(cache.get::<Serde<SmallValue>>(&small_params(i as i64)))
    });
    let hits_ok = got
        .into_iter()
        .enumerate()
        .all(|(i, g)| matches!(g, Ok(Some(Serde(v))) if v == small_value(i as i64)));
    let miss = Samples::collect(n, |i| {
        let _ = cache.get::<Serde<SmallValue>>(&small_params(-(i as i64) - 1));
    });
    cache.flush().ok();

    // Baseline: one file per key (xxh3 name, MessagePack + zstd), plain std::fs.
    let mut codec = Codec::new();
    let raw = dir.path().join("raw");
    std::fs::create_dir_all(&raw).ok();
    let name = |i: usize| {
        raw.join(format!(
            "{:016x}",
            xxhash_rust::xxh3::xxh3_64(format!("resnet50/imagenet/{i}").as_bytes())
        ))
    };
    let file_put = Samples::collect(n, |i| {
        std::fs::write(name(i), codec.encode(&small_value(i as i64))).ok();
    });
    let mut file_vals = Vec::with_capacity(n);
    let file_get = Samples::collect(n, |i| {
        file_vals.push(std::fs::read(name(i)).map(|b| codec.decode(&b)))
    });
    let file_ok = file_vals
        .into_iter()
        .enumerate()
        .all(|(i, v)| v.is_ok_and(|v| v == small_value(i as i64)));
    // Baseline: an in-memory HashMap of the serialized bytes.
    let mut map: HashMap<String, Vec<u8>> = HashMap::new();
    let map_put = Samples::collect(n, |i| {
        map.insert(
            format!("resnet50/imagenet/{i}"),
            codec.encode(&small_value(i as i64)),
        );
    });
    let map_get = Samples::collect(n, |i| {
        let v = map
            .get(&format!("resnet50/imagenet/{i}"))
            .map(|b| codec.decode(b));
        std::hint::black_box(v);
    });
    json!({
        "workload": "W1",
        "sizes": {"n": n},
        "figures": {
            "put": put.summary(), "get_hit": hit.summary(), "get_miss": miss.summary(),
            "values_checked": hits_ok,
        },
        "baselines": {
            "file_per_key": {"put": file_put.summary(), "get": file_get.summary(), "values_checked": file_ok},
            "hashmap": {"put": map_put.summary(), "get": map_get.summary()},
        },
        "ratios": {
            "put_vs_file_p50": crate::timing::round(put.p50() / file_put.p50()),
            "get_hit_vs_file_p50": crate::timing::round(hit.p50() / file_get.p50()),
        },
        "targets": {"put_p50_us": 12, "get_hit_p50_us": 5, "get_miss_p50_us": 3},
    })
}
