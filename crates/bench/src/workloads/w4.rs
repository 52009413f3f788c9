//! W4 catalog at scale: list, stats, the SQL queries (over `cache_entries`, and over a cached
//! table by key and by name), `cleanup_expired` and eviction passes, on W1-style caches.

use cacheness::Serde;
use serde_json::json;

use super::{RunConfig, dir_bytes, open_cache, scratch};
use crate::timing::{Samples, round};
use crate::{small_params, small_value};

fn at_size(cfg: &RunConfig, n: usize) -> serde_json::Value {
    let dir = scratch(cfg, "w4");
    let cache = open_cache(dir.path());
    for i in 0..n {
        cache
            .put(&Serde(small_value(i as i64)), &small_params(i as i64))
            .ok();
        if (i + 1) % 100_000 == 0 {
            cache.flush().ok();
        }
    }
    cache.flush().ok();
    // Cost growth: put, get and a 1,000-row commit on a cache of this size.
    let probe = 1_000;
    let put = Samples::collect(probe, |i| {
        let j = (n + i) as i64;
        cache.put(&Serde(small_value(j)), &small_params(j)).ok();
    });
    let commit = Samples::collect(1, |_| {
        cache.flush().ok();
    });
    let get = Samples::collect(probe, |i| {
        let j = ((i * 7_919) % n) as i64;
        std::hint::black_box(cache.get::<Serde<crate::SmallValue>>(&small_params(j)).ok());
    });
    let mut listed = 0;
    let list = Samples::collect(5, |_| {
        listed = cache.list_entries().map(|e| e.len()).unwrap_or(0)
    });
    let stats = Samples::collect(5, |_| {
        std::hint::black_box(cache.stats().ok());
    });
    let rows = |q: &str| -> Option<usize> {
        cache
            .sql(q)
            .ok()
            .map(|b| b.iter().map(|b| b.num_rows()).sum())
    };
    let point_q = "SELECT * FROM cache_entries WHERE i = 4242";
    let agg_q = "SELECT count(*), sum(stored_bytes) FROM cache_entries";
    let mut point_rows = None;
    let point = Samples::collect(5, |_| point_rows = rows(point_q));
    let mut agg_rows = None;
    let agg = Samples::collect(5, |_| agg_rows = rows(agg_q));
    // One 10,000-row table among the entries: read by key, then by its name (which costs a
    // filtered scan of cache_entries on top).
    let table_key = cache
        .put_with(
            &crate::w3_table(10_000, 4),
            &cacheness::params!(bench = "w4_table"),
            &cacheness::PutOptions::default().name("w4_table"),
        )
        .ok();
    let by_key_q = format!(
        "SELECT count(*) FROM cached_table('{}')",
        table_key.as_deref().unwrap_or("")
    );
    let by_name_q = "SELECT count(*) FROM w4_table";
    let mut by_key_rows = None;
    let by_key = Samples::collect(5, |_| by_key_rows = rows(&by_key_q));
    let mut by_name_rows = None;
    let by_name = Samples::collect(5, |_| by_name_rows = rows(by_name_q));
    let root = dir.path();
    let per = |b: u64| round(b as f64 / listed.max(1) as f64);
    let bytes_per_entry = json!({
        // Payload files and the small-entry store (records under 64 KiB, markers).
        "payloads": per(dir_bytes(&root.join("blobs")) + dir_bytes(&root.join("small"))),
        "catalog": per(dir_bytes(&root.join("catalog/cache_entries"))),
        "journal": per(dir_bytes(&root.join("catalog/journal"))),
    });
    // Cleanup: with nothing expired (the catalog read), then with 1,000 expired entries among
    // the others (reading, checking and removing each; once, since it removes them).
    let mut nothing = 0;
    let idle = Samples::collect(5, |_| {
        nothing = cache.cleanup_expired().unwrap_or(usize::MAX)
    });
    let short = cacheness::PutOptions::default().ttl(std::time::Duration::from_millis(1));
    for i in 0..1_000 {
        let j = (2 * n + i) as i64;
        cache
            .put_with(&Serde(small_value(j)), &small_params(j), &short)
            .ok();
    }
    cache.flush().ok();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let mut reclaimed = 0;
    let sweep = Samples::collect(1, |_| reclaimed = cache.cleanup_expired().unwrap_or(0));
    // A fresh process's first commit also reads the keys of the table once, to tell fresh keys
    // from keys that still have a row (catalog/src/committed_keys.rs); later commits read
    // only the data files written since.
    cache.close().ok();
    drop(cache);
    let cache = open_cache(root);
    let first_commit = Samples::collect(1, |_| {
        let j = (3 * n) as i64;
        cache.put(&Serde(small_value(j)), &small_params(j)).ok();
        cache.flush().ok();
    });
    let eviction = eviction(cache, root);
    json!({
        "entries": n,
        "entries_after_probes": n + probe,
        "listed": listed,
        "list_ms": round(list.p50() / 1e3),
        "stats_ms": round(stats.p50() / 1e3),
        "put_p50_us": round(put.p50()),
        "get_hit_p50_us": round(get.p50()),
        "commit_1000_rows_ms": round(commit.p50() / 1e3),
        "first_put_and_commit_after_open_ms": round(first_commit.p50() / 1e3),
        "cleanup_expired_ms": round(idle.p50() / 1e3),
        "cleanup_1000_expired_ms": round(sweep.p50() / 1e3),
        "cleanup_checked": nothing == 0 && reclaimed == 1_000,
        "sql_point_query_ms": round(point.p50() / 1e3),
        "sql_aggregate_ms": round(agg.p50() / 1e3),
        "sql_cached_table_by_key_ms": round(by_key.p50() / 1e3),
        "sql_cached_table_by_name_ms": round(by_name.p50() / 1e3),
        "sql_answers_checked": point_rows == Some(1)
            && agg_rows == Some(1)
            && by_key_rows == Some(1)
            && by_name_rows == Some(1),
        "bytes_per_entry": bytes_per_entry,
        "eviction": eviction,
    })
}

/// The size limit on this cache: puts and gets with a limit set (under it), an eviction pass
/// that only recounts, and one that evicts a fifth of the entries.
fn eviction(cache: cacheness::blocking::Cache, root: &std::path::Path) -> serde_json::Value {
    cache.close().ok();
    drop(cache);
    let open = |max: u64| {
        cacheness::blocking::Cache::open_with(
            cacheness::CacheConfig::new(root)
                .with_commit_interval(std::time::Duration::from_secs(3600))
                .with_max_size_bytes(Some(max)),
        )
        .ok()
    };
    let Some(roomy) = open(u64::MAX / 2) else {
        return json!({"error": "cannot open"});
    };
    let first = 3_000_000i64;
    let put = Samples::collect(1_000, |i| {
        let j = first + i as i64;
        roomy.put(&Serde(small_value(j)), &small_params(j)).ok();
    });
    let get = Samples::collect(1_000, |i| {
        let j = first + ((i * 7_919) % 1_000) as i64;
        std::hint::black_box(roomy.get::<Serde<crate::SmallValue>>(&small_params(j)).ok());
    });
    let (mut entries, mut before) = (0, 0);
    let recount = Samples::collect(5, |_| {
        (entries, before) = roomy.evict().map_or((0, 0), |r| (r.entries, r.bytes));
    });
    roomy.close().ok();
    drop(roomy);
    // One byte under what the pass counted (payload files and records): it evicts down to
    // the low watermark.
    let mut evicted = 0;
    let evict = match open(before.saturating_sub(1)) {
        Some(tight) => {
            let s = Samples::collect(1, |_| {
                evicted = tight.evict().map(|r| r.evicted_for_size).unwrap_or(0)
            });
            let flush = Samples::collect(1, |_| {
                tight.flush().ok();
            });
            tight.close().ok();
            json!({"evict_pass_ms": round(s.p50() / 1e3), "then_commit_ms": round(flush.p50() / 1e3)})
        }
        None => json!(null),
    };
    json!({
        "put_p50_us_with_limit": round(put.p50()),
        "get_hit_p50_us_with_limit": round(get.p50()),
        "recount_pass_ms": round(recount.p50() / 1e3),
        "entries_counted": entries,
        "evicting_pass": evict,
        "evicted": evicted,
        "evicted_fraction": round(evicted as f64 / entries.max(1) as f64),
    })
}

/// Run W4.
pub fn run(cfg: &RunConfig) -> serde_json::Value {
    let sizes: &[usize] = if cfg.quick {
        &[10_000]
    } else {
        &[10_000, 1_000_000]
    };
    let results: Vec<_> = sizes.iter().map(|&n| at_size(cfg, n)).collect();
    json!({
        "workload": "W4",
        "sizes": {"entries": sizes},
        "figures": {"caches": results},
        "targets": {"list_ms_10k": 20, "stats_ms_10k": 5, "cleanup_ms_10k": 20, "growth_to_1m_max": 10, "sql_point_ms_10k": 20, "sql_aggregate_ms_10k": 10},
    })
}
