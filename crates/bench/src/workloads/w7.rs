//! W7 concurrency: 8 processes put 1,000 W1-style entries each into one cache and read back
//! their own; then the cache must list all of them.

use std::process::{Command, Stdio};
use std::time::Instant;

use cacheness::Serde;
use serde_json::json;

use super::{RunConfig, open_cache, scratch};
use crate::timing::{Samples, round};
use crate::{SmallValue, small_value};

const PROCESSES: usize = 8;

fn params(proc_id: usize, i: usize) -> cacheness::Params {
    cacheness::params!(
        model = "resnet50",
        dataset = "imagenet",
        proc = proc_id,
        i = i
    )
}

/// The child side: put `n` entries, read each back, print the put samples' summary as JSON.
pub fn child(dir: &std::path::Path, proc_id: usize, n: usize) {
    let cache = open_cache(dir);
    let put = Samples::collect(n, |i| {
        cache
            .put(&Serde(small_value(i as i64)), &params(proc_id, i))
            .ok();
    });
    let read_ok = (0..n).all(|i| {
        matches!(cache.get::<Serde<SmallValue>>(&params(proc_id, i)), Ok(Some(Serde(v))) if v == small_value(i as i64))
    });
    cache.close().ok();
    println!("{}", json!({"put": put.summary(), "read_back_ok": read_ok}));
}

/// Run W7 (spawns this executable as the child processes).
pub fn run(cfg: &RunConfig) -> serde_json::Value {
    let n = if cfg.quick { 200 } else { 1_000 };
    let dir = scratch(cfg, "w7");
    open_cache(dir.path()).close().ok();
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            return json!({"workload": "W7", "skipped": format!("cannot find this executable: {e}")});
        }
    };
    let start = Instant::now();
    let children: Vec<_> = (0..PROCESSES)
        .filter_map(|p| {
            Command::new(&exe)
                .args(["--w7-child", &p.to_string(), "--n", &n.to_string(), "--dir"])
                .arg(dir.path())
                .stdout(Stdio::piped())
                .spawn()
                .ok()
        })
        .collect();
    let reports: Vec<serde_json::Value> = children
        .into_iter()
        .filter_map(|c| c.wait_with_output().ok())
        .filter_map(|o| serde_json::from_slice(&o.stdout).ok())
        .collect();
    let wall = start.elapsed().as_secs_f64();
    let cache = open_cache(dir.path());
    cache.flush().ok();
    let listed = cache.list_entries().map(|e| e.len()).unwrap_or(0);
    json!({
        "workload": "W7",
        "sizes": {"processes": PROCESSES, "puts_per_process": n},
        "figures": {
            "per_process": reports,
            "processes_reported": reports.len(),
            "wall_s": round(wall),
            "listed": listed,
            "all_present": listed == PROCESSES * n,
        },
        "targets": {"all_present": true, "put_p99_ms": 5},
    })
}
