//! W7 concurrency: 8 processes put 1,000 W1-style entries each into one cache and read back
//! their own; then the cache must list all of them.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
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

/// The child side: open the cache, print `ready` and wait for a line on stdin (the start
/// signal); then put `n` entries, read each back, print the put samples' summary as JSON.
pub fn child(dir: &std::path::Path, proc_id: usize, n: usize) {
    // The default commit interval (1 s, longer than the run), as a user's processes have: the
    // runner's other workloads commit once an hour so that no commit runs while they are
    // timed, but a process that commits that rarely is one no closing process leaves its rows
    // to (docs/ARCHITECTURE.md, "Processes that close together").
    let cache = cacheness::blocking::Cache::open(dir)
        .unwrap_or_else(|e| panic!("cannot open a cache in {}: {e}", dir.display()));
    println!("ready");
    std::io::stdin().read_line(&mut String::new()).ok();
    let started = Instant::now();
    let put = Samples::collect(n, |i| {
        cache
            .put(&Serde(small_value(i as i64)), &params(proc_id, i))
            .ok();
    });
    let read_ok = (0..n).all(|i| {
        matches!(cache.get::<Serde<SmallValue>>(&params(proc_id, i)), Ok(Some(Serde(v))) if v == small_value(i as i64))
    });
    let closing = Instant::now();
    cache.close().ok();
    let ms = |d: std::time::Duration| round(d.as_secs_f64() * 1e3);
    println!(
        "{}",
        json!({
            "put": put.summary(),
            "read_back_ok": read_ok,
            "work_ms": ms(closing - started),
            "close_ms": ms(closing.elapsed()),
        })
    );
}

/// Wait for a child's `ready` line; `None` if it exited first.
fn ready(child: &mut Child) -> Option<BufReader<std::process::ChildStdout>> {
    let mut out = BufReader::new(child.stdout.take()?);
    let mut line = String::new();
    out.read_line(&mut line).ok()?;
    (line.trim() == "ready").then_some(out)
}

/// Run W7 (spawns this executable as the child processes). The clock starts when every child
/// has its cache open (process start-up is not timed, as for the peers).
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
    let mut children: Vec<_> = (0..PROCESSES)
        .filter_map(|p| {
            Command::new(&exe)
                .args(["--w7-child", &p.to_string(), "--n", &n.to_string(), "--dir"])
                .arg(dir.path())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .ok()
        })
        .collect();
    let mut outputs: Vec<_> = children.iter_mut().filter_map(ready).collect();
    let start = Instant::now();
    for c in &mut children {
        if let Some(stdin) = c.stdin.as_mut() {
            stdin.write_all(b"go\n").ok();
        }
    }
    let reports: Vec<serde_json::Value> = outputs
        .iter_mut()
        .filter_map(|out| {
            let mut text = String::new();
            out.read_to_string(&mut text).ok()?;
            serde_json::from_str(&text).ok()
        })
        .collect();
    for mut c in children {
        c.wait().ok();
    }
    let wall = start.elapsed().as_secs_f64();
    let p99_max = reports
        .iter()
        .filter_map(|r| r.pointer("/put/p99_us").and_then(serde_json::Value::as_f64))
        .fold(0.0, f64::max);
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
            "entries_per_s": round((reports.len() * n) as f64 / wall),
            "put_p99_max_us": p99_max,
            "listed": listed,
            "all_present": listed == PROCESSES * n,
        },
        "targets": {"all_present": true, "put_p99_ms": 5},
    })
}
