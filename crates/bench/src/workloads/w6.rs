//! W6 cold start: a fresh `cacheness` process getting one key of the 10,000-entry W1 cache and
//! printing it, beside the same binary printing `--version`.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use cacheness::Serde;
use serde_json::json;

use super::{RunConfig, open_cache, scratch};
use crate::timing::{Samples, round};
use crate::{small_params, small_value};

/// The `cacheness` binary built beside this one (same target directory and profile).
fn cacheness_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let bin = exe
        .parent()?
        .join(format!("cacheness{}", std::env::consts::EXE_SUFFIX));
    bin.is_file().then_some(bin)
}

/// Median wall time of `runs` runs of a command (after one warm-up), and whether every run
/// succeeded and printed something.
fn wall_ms(runs: usize, mut cmd: impl FnMut() -> Command) -> (f64, bool) {
    let mut ok = true;
    let mut once = || {
        let out = cmd().stdout(Stdio::piped()).stderr(Stdio::null()).output();
        ok &= out.is_ok_and(|o| o.status.success() && !o.stdout.is_empty());
    };
    once();
    let s = Samples::collect(runs, |_| once());
    (round(s.p50() / 1e3), ok)
}

/// Run W6.
pub fn run(cfg: &RunConfig) -> serde_json::Value {
    let Some(bin) = cacheness_binary() else {
        return json!({"workload": "W6", "skipped": "no `cacheness` binary beside this one: build it first (cargo build --release -p cacheness-cli)"});
    };
    let n = 10_000;
    let dir = scratch(cfg, "w6");
    let key = {
        let cache = open_cache(dir.path());
        for i in 0..n {
            cache.put(&Serde(small_value(i)), &small_params(i)).ok();
        }
        cache.close().ok();
        small_params(4242)
            .key()
            .map(String::from)
            .unwrap_or_default()
    };
    let (get_ms, get_ok) = wall_ms(5, || {
        let mut c = Command::new(&bin);
        c.args(["get", "--key", &key, "--dir"]).arg(dir.path());
        c
    });
    let (version_ms, _) = wall_ms(5, || {
        let mut c = Command::new(&bin);
        c.arg("--version");
        c
    });
    json!({
        "workload": "W6",
        "sizes": {"entries": n, "runs": 5},
        "figures": {"get_wall_ms": get_ms, "version_wall_ms": version_ms, "printed_value": get_ok},
        "ratios": {"get_over_version": round(get_ms / version_ms)},
        "targets": {"get_wall_ms": 10},
    })
}
