//! The standard workloads W1–W7 of `shared/WORKLOADS.md`, each beside its raw baseline.

pub mod phases;
pub mod w1;
pub mod w2;
pub mod w3;
pub mod w4;
pub mod w5;
pub mod w6;
pub mod w7;

use std::path::{Path, PathBuf};
use std::time::Duration;

use cacheness::{CacheConfig, blocking::Cache};

/// How a run is set up.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Smaller sizes, for a smoke test well under 2 minutes.
    pub quick: bool,
    /// Where each workload makes its scratch directory: the run's own directory, removed only
    /// when the whole run ends (see [`scratch`]).
    pub scratch: PathBuf,
    /// An object store URL (`s3://bucket/prefix`): W1–W3 then open their caches under it
    /// (one prefix per workload, the scratch directory as the host's local state) while their
    /// baselines stay on the local disk.
    pub remote: Option<String>,
}

/// A fresh scratch directory for one workload. It is *not* removed when dropped: the run's
/// directory ([`RunConfig::scratch`]) is removed once, after the last workload, so that
/// removing one workload's files (a million of them after W4, with online discard on the
/// project's machine) does not overlap the next workload's timings.
pub fn scratch(cfg: &RunConfig, name: &str) -> tempfile::TempDir {
    let mut dir = tempfile::Builder::new()
        .prefix(&format!("cacheness-{name}-"))
        .tempdir_in(&cfg.scratch)
        .unwrap_or_else(|e| {
            panic!(
                "cannot create a scratch directory in {}: {e}",
                cfg.scratch.display()
            )
        });
    dir.disable_cleanup(true);
    dir
}

/// Open the cache of a workload that can run on an object store ([`RunConfig::remote`]): there
/// if the run says so, else in `dir`.
pub fn open_workload_cache(cfg: &RunConfig, dir: &Path) -> Cache {
    let Some(url) = &cfg.remote else {
        return open_cache(dir);
    };
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let at = format!("{}/{name}", url.trim_end_matches('/'));
    Cache::open_with(
        CacheConfig::new(at.as_str())
            .with_local_state(dir)
            .with_commit_interval(Duration::from_secs(3600)),
    )
    .unwrap_or_else(|e| panic!("cannot open a cache at {at}: {e}"))
}

/// Time `sample` on `cache` [`PART_REPS`] times: the median in milliseconds and the payload
/// bytes each call fetched in parts from an object store (0 on a local disk, where a part is
/// read from the mapped file).
pub fn timed_part_reads(cache: &Cache, mut sample: impl FnMut()) -> serde_json::Value {
    let fetched = || cache.stats().map_or(0, |s| s.ranged_bytes);
    let before = fetched();
    let t = crate::timing::Samples::collect(PART_REPS, |_| sample());
    let per_call = (fetched() - before) / PART_REPS as u64;
    serde_json::json!({"p50_ms": crate::timing::round(t.p50() / 1000.0), "fetched_bytes": per_call})
}

/// How many times each part read (a slice, a one-column scan) is timed.
pub const PART_REPS: usize = 5;

/// Open a cache the way the workloads use it: default settings, group commit left to flush.
pub fn open_cache(dir: &Path) -> Cache {
    Cache::open_with(CacheConfig::new(dir).with_commit_interval(Duration::from_secs(3600)))
        .unwrap_or_else(|e| panic!("cannot open a cache in {}: {e}", dir.display()))
}

/// Total size of the files under a directory.
pub fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
