//! End-to-end tests of the real `cacheness` binary.

use std::process::Command;

fn cacheness() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cacheness"))
}

/// Run `cacheness <args> --dir <dir>`.
fn run_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    cacheness()
        .args(args)
        .arg("--dir")
        .arg(dir)
        .output()
        .unwrap()
}

/// The entries `cacheness ls` prints, parsed.
fn ls(dir: &std::path::Path) -> Vec<serde_json::Value> {
    let out = run_in(dir, &["ls"]);
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn demo_caches_verifies_and_lists_four_entries() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["demo"]);
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
    let entries = ls(dir.path());
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
    assert!(stdout.contains("WHERE dataset = 'demo'"), "{stdout}");
}

#[test]
fn sql_answers_in_every_output_format() {
    let dir = tempfile::tempdir().unwrap();
    assert!(run_in(dir.path(), &["demo"]).status.success());
    let q = "SELECT data_type, stored_bytes FROM cache_entries WHERE kind IN ('json', 'struct') ORDER BY data_type";
    let table = run_in(dir.path(), &["sql", q]);
    assert!(table.status.success());
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("| json") && text.contains("| object"),
        "{text}"
    );
    let csv = run_in(dir.path(), &["sql", "--format", "csv", q]);
    let csv = String::from_utf8_lossy(&csv.stdout);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "data_type,stored_bytes");
    assert_eq!(lines.len(), 3);
    assert!(lines[1].starts_with("json,") && lines[2].starts_with("object,"));
    let json = run_in(dir.path(), &["sql", "--format", "json", q]);
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&json.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["data_type"], "json");
    assert!(rows[1]["stored_bytes"].as_i64().unwrap() > 0);
    let pq = dir.path().join("out.parquet");
    let out = run_in(
        dir.path(),
        &["sql", "--format", "parquet", "-o", pq.to_str().unwrap(), q],
    );
    assert!(out.status.success());
    let bytes = std::fs::read(&pq).unwrap();
    assert_eq!(&bytes[..4], b"PAR1");
    // Usage errors exit 2; a bad statement exits 1 and names what is wrong.
    assert_eq!(
        run_in(dir.path(), &["sql", "--format", "parquet", q])
            .status
            .code(),
        Some(2)
    );
    let bad = run_in(dir.path(), &["sql", "SELECT nope FROM cache_entries"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("nope"));
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

#[test]
fn get_writes_each_value_in_its_natural_format() {
    let dir = tempfile::tempdir().unwrap();
    let demo = run_in(dir.path(), &["demo"]);
    assert!(demo.status.success());
    let entries = ls(dir.path());
    let key_of = |t: &str| {
        entries.iter().find(|e| e["data_type"] == t).unwrap()["cache_key"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let get = |key: &str| {
        cacheness()
            .args(["get", "--key", key, "--dir"])
            .arg(dir.path())
            .output()
            .unwrap()
    };

    let object = get(&key_of("object"));
    assert!(object.status.success());
    let v: serde_json::Value = serde_json::from_slice(&object.stdout).unwrap();
    assert_eq!(v["model"], "xgboost");
    assert_eq!(v["epochs"], 10);

    let json = get(&key_of("json"));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["results"][0]["symbol"], "AAPL");

    let table_key = key_of("arrow_table");
    let table = get(&table_key);
    let file = std::fs::read(
        dir.path()
            .join(format!("blobs/{}/{table_key}.parquet", &table_key[..2])),
    )
    .unwrap();
    assert_eq!(
        table.stdout, file,
        "a table comes out as its Parquet payload"
    );
    assert_eq!(&table.stdout[..4], b"PAR1");

    let out = dir.path().join("array.b2nd");
    let array = cacheness()
        .args(["get", "--key", &key_of("ndarray"), "--output"])
        .arg(&out)
        .arg("--dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(array.status.success());
    assert!(std::fs::metadata(&out).unwrap().len() > 1_000_000);

    let missing = get("0123456789abcdef");
    assert_eq!(missing.status.code(), Some(3));
    let bad = get("../../etc/passwd");
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid cache key"));
}

#[test]
fn params_on_the_command_line_give_the_rust_api_key() {
    use cacheness::{Serde, params};
    let dir = tempfile::tempdir().unwrap();
    {
        let cache = cacheness::blocking::Cache::open(dir.path()).unwrap();
        cache
            .put(
                &Serde(vec![1, 2, 3]),
                &params!(model = "xgboost", epochs = 10, lr = 0.1, full = true),
            )
            .unwrap();
        cache.put(&Serde(7), &params!(id = "007")).unwrap();
        cache.close().unwrap();
    }
    let get = |args: &[&str]| {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        run_in(dir.path(), &all)
    };
    let out = get(&[
        "-p",
        "model=xgboost",
        "-p",
        "epochs=10",
        "-p",
        "lr=0.1",
        "-p",
        "full=true",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v, serde_json::json!([1, 2, 3]));
    // Order does not matter; a different type is a different key.
    assert!(
        get(&[
            "-p",
            "lr=0.1",
            "-p",
            "full=true",
            "-p",
            "epochs=10",
            "-p",
            "model=xgboost"
        ])
        .status
        .success()
    );
    let as_string = get(&[
        "-p",
        "model=xgboost",
        "-p",
        "epochs:str=10",
        "-p",
        "lr=0.1",
        "-p",
        "full=true",
    ]);
    assert_eq!(as_string.status.code(), Some(3));
    // A string that looks like a number needs its type forced.
    assert_eq!(get(&["-p", "id=007"]).status.code(), Some(3));
    assert!(get(&["-p", "id:str=007"]).status.success());
    // Usage errors exit 2: no entry named, both forms, a bad parameter type.
    assert_eq!(get(&[]).status.code(), Some(2));
    assert_eq!(
        get(&["--key", "0011223344556677", "-p", "a=1"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(get(&["-p", "a:int=x"]).status.code(), Some(2));
    assert_eq!(get(&["-p", "Bad=1"]).status.code(), Some(2));
    // invalidate by parameters, then the entry is gone (exit 3 both ways).
    let inv = run_in(dir.path(), &["invalidate", "-p", "id:str=007"]);
    assert!(inv.status.success());
    assert_eq!(
        run_in(dir.path(), &["invalidate", "-p", "id:str=007"])
            .status
            .code(),
        Some(3)
    );
    assert_eq!(get(&["-p", "id:str=007"]).status.code(), Some(3));
    // clear needs --yes.
    assert_eq!(run_in(dir.path(), &["clear"]).status.code(), Some(2));
    assert_eq!(ls(dir.path()).len(), 1);
    let cleared = run_in(dir.path(), &["clear", "--yes"]);
    assert!(String::from_utf8_lossy(&cleared.stdout).contains("removed 1 entries"));
    assert!(ls(dir.path()).is_empty());
}
