//! The peer harness: the tools our users would otherwise pick, run on the same workloads right
//! after ours, and each of our figures divided by theirs.
//!
//! The peers are a Python script (`benches/peers/peers.py`, compiled into the runner and written
//! into the run's scratch directory) run by the interpreter of a venv that
//! `benches/peers/run` makes from PyPI. [`Peers::run`] runs it for one workload and returns its
//! JSON; [`compare`] pairs its figures with ours by the table in [`FIGURES`], and [`render`]
//! prints the ratios.
//!
//! Every ratio reads the same way: **how many times better ours is**. 1.00 is level; 2.00 is
//! twice the speed (half the time, half the stored bytes); 0.50 is half as good. A figure either
//! side did not produce is reported as missing, never skipped silently.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::timing::round;

/// The peers' script, as committed.
const SCRIPT: &str = include_str!("../../../benches/peers/peers.py");

/// The workloads the peers run.
pub const WORKLOADS: [&str; 5] = ["W1", "W2", "W3", "W5", "W7"];

/// Which way a figure is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Times, sizes: less is better.
    Lower,
    /// Throughputs: more is better.
    Higher,
}

/// One figure compared with one peer: where it is in our workload's JSON and in the peer's.
#[derive(Debug, Clone, Copy)]
pub struct Figure {
    /// The workload, e.g. `"W1"`.
    pub workload: &'static str,
    /// What is compared, as printed.
    pub name: &'static str,
    /// A JSON pointer into our workload's result.
    pub ours: &'static str,
    /// The peer, a key of the script's `peers` object.
    pub peer: &'static str,
    /// A JSON pointer into that peer's object.
    pub theirs: &'static str,
    /// The figure's unit, as printed.
    pub unit: &'static str,
    /// Which way is better.
    pub better: Better,
}

macro_rules! fig {
    ($w:literal, $name:literal, $ours:literal, $peer:literal, $theirs:literal, $unit:literal, $b:ident) => {
        Figure {
            workload: $w,
            name: $name,
            ours: $ours,
            peer: $peer,
            theirs: $theirs,
            unit: $unit,
            better: Better::$b,
        }
    };
}

/// Every figure compared, in the order printed.
#[rustfmt::skip]
pub const FIGURES: &[Figure] = &[
    fig!("W1", "put p50", "/figures/put/p50_us", "diskcache", "/put/p50_us", "µs", Lower),
    fig!("W1", "get-hit p50", "/figures/get_hit/p50_us", "diskcache", "/get_hit/p50_us", "µs", Lower),
    fig!("W1", "get-miss p50", "/figures/get_miss/p50_us", "diskcache", "/get_miss/p50_us", "µs", Lower),
    fig!("W1", "put p50", "/figures/put/p50_us", "sqlite", "/put/p50_us", "µs", Lower),
    fig!("W1", "get-hit p50", "/figures/get_hit/p50_us", "sqlite", "/get_hit/p50_us", "µs", Lower),
    fig!("W1", "get-miss p50", "/figures/get_miss/p50_us", "sqlite", "/get_miss/p50_us", "µs", Lower),
    fig!("W2", "float64 small put", "/figures/arrays/0/put_mb_s", "joblib", "/arrays/0/put_mb_s", "MB/s", Higher),
    fig!("W2", "float64 small get", "/figures/arrays/0/get_mb_s", "joblib", "/arrays/0/get_mb_s", "MB/s", Higher),
    fig!("W2", "float64 big put", "/figures/arrays/1/put_mb_s", "joblib", "/arrays/1/put_mb_s", "MB/s", Higher),
    fig!("W2", "float64 big get", "/figures/arrays/1/get_mb_s", "joblib", "/arrays/1/get_mb_s", "MB/s", Higher),
    fig!("W2", "float64 big mapped get", "/figures/arrays/1/get_mapped_mb_s", "joblib", "/arrays/1/mmap_get_mb_s", "MB/s", Higher),
    fig!("W2", "float64 big stored/raw", "/figures/arrays/1/stored_over_raw", "joblib", "/arrays/1/stored_over_raw", "", Lower),
    fig!("W2", "int32 runs put", "/figures/arrays/2/put_mb_s", "joblib", "/arrays/2/put_mb_s", "MB/s", Higher),
    fig!("W2", "int32 runs get", "/figures/arrays/2/get_mb_s", "joblib", "/arrays/2/get_mb_s", "MB/s", Higher),
    fig!("W2", "int32 runs stored/raw", "/figures/arrays/2/stored_over_raw", "joblib", "/arrays/2/stored_over_raw", "", Lower),
    fig!("W3", "put", "/figures/put_ms", "polars", "/put_ms", "ms", Lower),
    fig!("W3", "get", "/figures/get_ms", "polars", "/get_ms", "ms", Lower),
    fig!("W3", "stored bytes", "/figures/stored_bytes", "polars", "/stored_bytes", "B", Lower),
    fig!("W3", "put", "/figures/put_ms", "pyarrow", "/put_ms", "ms", Lower),
    fig!("W3", "get", "/figures/get_ms", "pyarrow", "/get_ms", "ms", Lower),
    fig!("W3", "stored bytes", "/figures/stored_bytes", "pyarrow", "/stored_bytes", "B", Lower),
    fig!("W5", "memoized miss p50", "/figures/first_call/p50_us", "diskcache", "/first_call/p50_us", "µs", Lower),
    fig!("W5", "memoized hit p50", "/figures/second_call/p50_us", "diskcache", "/second_call/p50_us", "µs", Lower),
    fig!("W7", "entries/s, 8 processes", "/figures/entries_per_s", "diskcache", "/entries_per_s", "1/s", Higher),
    fig!("W7", "put p99, worst process", "/figures/put_p99_max_us", "diskcache", "/put_p99_max_us", "µs", Lower),
    fig!("W7", "entries/s, 8 processes", "/figures/entries_per_s", "sqlite", "/entries_per_s", "1/s", Higher),
    fig!("W7", "put p99, worst process", "/figures/put_p99_max_us", "sqlite", "/put_p99_max_us", "µs", Lower),
];

/// The peers' script and the interpreter that runs it.
#[derive(Debug, Clone)]
pub struct Peers {
    python: PathBuf,
    script: PathBuf,
}

impl Peers {
    /// Write the script into `scratch` (the run's directory) for `python` to run.
    pub fn new(python: &Path, scratch: &Path) -> std::io::Result<Peers> {
        let script = scratch.join("peers.py");
        std::fs::write(&script, SCRIPT)?;
        Ok(Peers {
            python: python.to_path_buf(),
            script,
        })
    }

    /// Run the peers of `workload` (one of [`WORKLOADS`]) with their scratch under `dir`: the
    /// script's JSON, or `{"error": ...}` saying why there is none.
    pub fn run(&self, workload: &str, quick: bool, dir: &Path) -> Value {
        let mut cmd = Command::new(&self.python);
        cmd.arg(&self.script).arg(workload).arg("--dir").arg(dir);
        if quick {
            cmd.arg("--quick");
        }
        let out = match cmd.output() {
            Ok(o) => o,
            Err(e) => {
                return json!({"error": format!("cannot run {}: {e}", self.python.display())});
            }
        };
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
            return json!({"error": format!("the peers of {workload} failed ({}): {}", out.status,
                tail.into_iter().rev().collect::<Vec<_>>().join(" | "))});
        }
        serde_json::from_slice(&out.stdout).unwrap_or_else(
            |e| json!({"error": format!("the peers of {workload} printed no JSON object: {e}")}),
        )
    }
}

/// One compared figure: ours, theirs, and how many times better ours is (`None` when either
/// side is missing or not a positive number).
pub fn ratio(figure: &Figure, ours: &Value, peers: &Value) -> Value {
    let mine = ours.pointer(figure.ours).and_then(Value::as_f64);
    let theirs = peers
        .get("peers")
        .and_then(|p| p.get(figure.peer))
        .and_then(|p| p.pointer(figure.theirs))
        .and_then(Value::as_f64);
    let times_better = match (mine, theirs) {
        (Some(m), Some(t)) if m > 0.0 && t > 0.0 => Some(round(match figure.better {
            Better::Lower => t / m,
            Better::Higher => m / t,
        })),
        _ => None,
    };
    json!({
        "workload": figure.workload, "figure": figure.name, "peer": figure.peer,
        "unit": figure.unit, "ours": mine, "theirs": theirs, "ours_times_better": times_better,
    })
}

/// Every figure of `ours` (one workload's result) compared with `peers` (the script's output
/// for it).
pub fn compare(ours: &Value, peers: &Value) -> Vec<Value> {
    let workload = ours.get("workload").and_then(Value::as_str).unwrap_or("");
    FIGURES
        .iter()
        .filter(|f| f.workload == workload)
        .map(|f| ratio(f, ours, peers))
        .collect()
}

/// The ratio table: one line per compared figure.
pub fn render(ratios: &[Value]) -> String {
    let text = |v: &Value, k: &str| match v.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "missing".into(),
        Some(other) => other.to_string(),
    };
    let mut lines = vec![format!(
        "{:<4}  {:<24}  {:<10}  {:>14}  {:>14}  {:<5}  ours ÷ peer (× better)",
        "", "figure", "peer", "ours", "peer's", "unit"
    )];
    for r in ratios {
        lines.push(format!(
            "{:<4}  {:<24}  {:<10}  {:>14}  {:>14}  {:<5}  {}",
            text(r, "workload"),
            text(r, "figure"),
            text(r, "peer"),
            text(r, "ours"),
            text(r, "theirs"),
            text(r, "unit"),
            text(r, "ours_times_better"),
        ));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_read_as_times_better_both_ways() {
        let ours = json!({"workload": "W1", "figures": {"put": {"p50_us": 10.0}, "get_hit": {"p50_us": 4.0}}});
        let peers =
            json!({"peers": {"diskcache": {"put": {"p50_us": 40.0}, "get_hit": {"p50_us": 2.0}}}});
        let r = compare(&ours, &peers);
        assert_eq!(r.len(), 6, "three figures for each of two peers");
        assert_eq!(r[0]["ours_times_better"], json!(4.0), "{}", r[0]);
        assert_eq!(r[1]["ours_times_better"], json!(0.5), "{}", r[1]);
        // Missing on our side (get-miss) and on the peer's (sqlite): reported as missing.
        assert!(r[2]["ours_times_better"].is_null());
        assert!(r[3]["theirs"].is_null() && r[3]["ours_times_better"].is_null());
        assert!(render(&r).contains("missing"));

        let ours = json!({"workload": "W2", "figures": {"arrays": [{"put_mb_s": 300.0}]}});
        let peers = json!({"peers": {"joblib": {"arrays": [{"put_mb_s": 100.0}]}}});
        assert_eq!(compare(&ours, &peers)[0]["ours_times_better"], json!(3.0));
    }

    #[test]
    fn every_peer_figure_the_script_prints_is_compared() {
        // Each pointer into a peer names a figure the script writes (a key in its source), so
        // a renamed figure on the Python side cannot leave a ratio silently missing.
        for f in FIGURES {
            let last = f.theirs.rsplit('/').next().unwrap_or_default();
            assert!(
                SCRIPT.contains(&format!("\"{last}\"")),
                "{} {}: the script prints no {last:?}",
                f.workload,
                f.name
            );
            assert!(WORKLOADS.contains(&f.workload));
        }
    }
}
