//! End-to-end tests of the real `cacheness` binary.

use std::process::Command;

fn cacheness() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cacheness"))
}

#[test]
fn demo_caches_verifies_and_lists_four_entries() {
    let dir = tempfile::tempdir().unwrap();
    let out = cacheness()
        .args(["demo", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("all 4 values read back bit-exactly"),
        "{stdout}"
    );
    for step in [
        "put 1M-row Arrow table",
        "get 10M float64 array",
        "put serde struct",
        "get JSON document",
    ] {
        assert!(stdout.contains(step), "missing step {step}: {stdout}");
    }
    // The catalog the demo left behind is readable by a second process.
    let ls = cacheness()
        .args(["ls", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(ls.status.success());
    let entries: Vec<serde_json::Value> = String::from_utf8_lossy(&ls.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(entries.len(), 4);
    let mut types: Vec<&str> = entries
        .iter()
        .map(|e| e["data_type"].as_str().unwrap())
        .collect();
    types.sort();
    assert_eq!(types, ["arrow_table", "json", "ndarray", "object"]);
    let stats = cacheness()
        .args(["stats", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stats: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert_eq!(stats["entries"], 4);
    assert!(stats["stored_bytes"].as_u64().unwrap() > 1_000_000);
}

#[test]
fn cache_dir_comes_from_the_environment_and_errors_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let ok = cacheness()
        .arg("flush")
        .env("CACHENESS_DIR", dir.path())
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(dir.path().join("catalog/cache_entries/_delta_log").is_dir());
    // A file where the cache directory should be.
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let bad = cacheness()
        .args(["ls", "--dir"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.starts_with("error: ") && err.contains("not-a-dir"),
        "{err}"
    );
    let usage = cacheness().arg("no-such-command").output().unwrap();
    assert_eq!(usage.status.code(), Some(2));
}
