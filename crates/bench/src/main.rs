//! `cacheness-bench`: runs the standard workloads (`shared/WORKLOADS.md`) beside their raw
//! baselines, prints one JSON object per workload and then a table.

use std::path::PathBuf;

use cacheness_bench::peers::{self as peer_harness, Peers};
use cacheness_bench::workloads::{self, RunConfig};
use clap::Parser;

/// Run the standard workloads W1–W7.
#[derive(Parser, Debug)]
#[command(name = "cacheness-bench", version)]
struct Args {
    /// Smaller sizes: the whole run well under 2 minutes (a smoke test).
    #[arg(long)]
    quick: bool,
    /// Only these workloads, e.g. `W1,W3`.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Also write the JSON objects (as one array) to this file.
    #[arg(long)]
    json_out: Option<PathBuf>,
    /// Scratch location (default: the system temp dir).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Run W1–W3's caches on this object store URL (e.g. `s3://bench/run`; credentials and
    /// endpoint from the `AWS_*` environment): docs/SCALE.md.
    #[arg(long)]
    remote: Option<String>,
    /// Race the peers (joblib, diskcache, SQLite, polars, pyarrow) with this Python, whose venv
    /// has `benches/peers/requirements.txt`: each runs right after our own run of the same
    /// workload, and a table of ours ÷ peer follows ours. `benches/peers/run` makes the venv.
    #[arg(long, value_name = "PYTHON")]
    peers: Option<PathBuf>,
    /// Internal: run as W7 child process number N.
    #[arg(long, hide = true)]
    w7_child: Option<usize>,
    /// Internal: puts per W7 child.
    #[arg(long, hide = true, default_value_t = 1000)]
    n: usize,
}

/// A workload's entry point.
type Workload = fn(&RunConfig) -> serde_json::Value;

fn git_commit() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn main() {
    let args = Args::parse();
    let scratch = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    if let Some(p) = args.w7_child {
        workloads::w7::child(&scratch, p, args.n);
        return;
    }
    // One directory for the whole run, removed at its end (the workloads leave theirs).
    std::fs::create_dir_all(&scratch).ok(); // an error shows in the next step, with the path
    let run_dir = match tempfile::Builder::new()
        .prefix("cacheness-bench-")
        .tempdir_in(&scratch)
    {
        Ok(d) => d,
        Err(e) => {
            eprintln!(
                "error: cannot create a scratch directory in {}: {e}",
                scratch.display()
            );
            std::process::exit(1);
        }
    };
    let cfg = RunConfig {
        quick: args.quick,
        scratch: run_dir.path().to_path_buf(),
        remote: args.remote.clone(),
    };
    let wanted =
        |w: &str| args.only.is_empty() || args.only.iter().any(|o| o.eq_ignore_ascii_case(w));
    let commit = git_commit();
    let peers = match &args.peers {
        Some(python) => match Peers::new(python, run_dir.path()) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("error: cannot write the peers' script: {e}");
                std::process::exit(1);
            }
        },
        None => None,
    };
    let mut results = Vec::new();
    let mut ratios = Vec::new();
    let all: [(&str, Workload); 7] = [
        ("W1", workloads::w1::run),
        ("W2", workloads::w2::run),
        ("W3", workloads::w3::run),
        ("W4", workloads::w4::run),
        ("W5", workloads::w5::run),
        ("W6", workloads::w6::run),
        ("W7", workloads::w7::run),
    ];
    for (name, run) in all {
        if !wanted(name) {
            continue;
        }
        let probe = cacheness_bench::disk_probe::file_create(&cfg.scratch);
        let mut r = run(&cfg);
        if let Some(o) = r.as_object_mut() {
            o.insert("disk".into(), serde_json::json!({"file_create": probe}));
            o.insert("version".into(), env!("CARGO_PKG_VERSION").into());
            o.insert("commit".into(), commit.clone().into());
            o.insert("quick".into(), cfg.quick.into());
        }
        if let Some(peers) = &peers
            && peer_harness::WORKLOADS.contains(&name)
        {
            let dir = workloads::scratch(&cfg, &format!("peers-{name}"));
            let theirs = peers.run(name, cfg.quick, dir.path());
            let compared = peer_harness::compare(&r, &theirs);
            ratios.extend(compared.iter().cloned());
            if let Some(o) = r.as_object_mut() {
                o.insert(
                    "peers".into(),
                    serde_json::json!({"results": theirs, "ratios": compared}),
                );
            }
        }
        println!("{r}");
        results.push(r);
    }
    drop(run_dir);
    println!("\n{}", cacheness_bench::table::render(&results));
    if peers.is_some() {
        println!("\n{}", peer_harness::render(&ratios));
    }
    if let Some(path) = args.json_out {
        let text = serde_json::to_string_pretty(&results).unwrap_or_default();
        if let Err(e) = std::fs::write(&path, text + "\n") {
            eprintln!("error: cannot write {}: {e}", path.display());
            std::process::exit(1);
        }
    }
}
