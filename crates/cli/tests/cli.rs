//! End-to-end tests of the real `cacheness` binary.

mod common;

use std::process::Command;

use common::{cacheness, ls, run_in};

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
    // The pull-through part: fetch, served from the cache, only the hole.
    for line in [
        "fetched AAPL 2024-01-01..2024-01-12 (10 rows)",
        "fetched nothing: served from the cache",
        "fetched MSFT 2024-01-13..2024-01-19 (5 rows)",
    ] {
        assert!(stdout.contains(line), "missing {line:?}: {stdout}");
    }
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
    // Outputs go outside the cache directory (inside it they are refused).
    let outputs = tempfile::tempdir().unwrap();
    let pq = outputs.path().join("out.parquet");
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

    let outputs = tempfile::tempdir().unwrap();
    let out = outputs.path().join("array.b2nd");
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

/// Run with `stdin` fed to the process.
fn run_with_stdin(dir: &std::path::Path, args: &[&str], stdin: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = cacheness()
        .args(args)
        .arg("--dir")
        .arg(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// The key a successful `put` printed; asserts it succeeded quietly (no progress when piped).
fn put_key(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "put failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "progress drawn when piped: {:?}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8(out.stdout.clone())
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(key.len(), 16, "{key}");
    key
}

fn sql_csv(dir: &std::path::Path, query: &str) -> String {
    let out = run_in(dir, &["sql", "--format", "csv", query]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn put_reads_each_input_format_and_get_gives_it_back() {
    use cacheness::params;
    use ndarray_npy::{ReadNpyExt, WriteNpyExt};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cache");
    let files = dir.path();

    // CSV and JSON lines become tables that SQL reads with inferred types.
    std::fs::write(
        files.join("t.csv"),
        "day,symbol,price\n1,AAPL,1.5\n2,MSFT,2.5\n3,AAPL,3.5\n",
    )
    .unwrap();
    let csv_key = put_key(&run_in(
        &root,
        &[
            "put",
            files.join("t.csv").to_str().unwrap(),
            "-p",
            "src=csv",
            "-p",
            "v=1",
        ],
    ));
    assert_eq!(
        csv_key,
        params!(src = "csv", v = 1).key().unwrap(),
        "the Rust API's key"
    );
    assert_eq!(
        sql_csv(
            &root,
            "SELECT sum(day) AS d, sum(price) AS p FROM cached_table('src', 'csv', 'v', 1) WHERE symbol = 'AAPL'"
        ),
        "d,p\n4,5.0\n"
    );
    std::fs::write(
        files.join("t.jsonl"),
        "{\"a\": 1, \"b\": \"x\"}\n{\"a\": 2, \"b\": \"y\"}\n",
    )
    .unwrap();
    put_key(&run_in(
        &root,
        &[
            "put",
            files.join("t.jsonl").to_str().unwrap(),
            "-p",
            "src=jsonl",
        ],
    ));
    assert_eq!(
        sql_csv(
            &root,
            "SELECT b FROM cached_table('src', 'jsonl') WHERE a = 2"
        ),
        "b\ny\n"
    );

    // A Parquet file comes back as a Parquet payload with the same rows.
    let parquet_out = files.join("back.parquet");
    let got = run_in(
        &root,
        &[
            "get",
            "-p",
            "src=csv",
            "-p",
            "v=1",
            "-o",
            parquet_out.to_str().unwrap(),
        ],
    );
    assert!(got.status.success());
    put_key(&run_in(
        &root,
        &["put", parquet_out.to_str().unwrap(), "-p", "src=parquet"],
    ));
    assert_eq!(
        sql_csv(
            &root,
            "SELECT count(*) AS n FROM cached_table('src', 'parquet')"
        ),
        "n\n3\n"
    );

    // .npy arrays: cached as .b2nd, given back as .npy (by extension or flag) with equal values.
    let array = ndarray::Array::from_shape_fn((3, 4), |(i, j)| (i * 10 + j) as i32).into_dyn();
    let mut npy = Vec::new();
    array.write_npy(&mut npy).unwrap();
    std::fs::write(files.join("a.npy"), &npy).unwrap();
    let akey = put_key(&run_in(
        &root,
        &[
            "put",
            files.join("a.npy").to_str().unwrap(),
            "-p",
            "src=npy",
        ],
    ));
    let entry = ls(&root)
        .into_iter()
        .find(|e| e["cache_key"] == akey.as_str())
        .unwrap();
    assert_eq!(entry["data_type"], "ndarray");
    let npy_out = files.join("back.npy");
    assert!(
        run_in(
            &root,
            &["get", "--key", &akey, "-o", npy_out.to_str().unwrap()]
        )
        .status
        .success()
    );
    let back = ndarray::ArrayD::<i32>::read_npy(std::fs::File::open(&npy_out).unwrap()).unwrap();
    assert_eq!(back, array);
    let stdout_npy = run_in(&root, &["get", "--key", &akey, "--array-format", "npy"]);
    assert_eq!(
        ndarray::ArrayD::<i32>::read_npy(&stdout_npy.stdout[..]).unwrap(),
        array
    );
    let b2nd = run_in(&root, &["get", "--key", &akey]);
    assert_ne!(
        b2nd.stdout, stdout_npy.stdout,
        "the default for arrays is the .b2nd payload"
    );

    // A JSON document, and bytes from standard input, with a description and a TTL.
    std::fs::write(files.join("d.json"), r#"{"k": [1, 2]}"#).unwrap();
    put_key(&run_in(
        &root,
        &[
            "put",
            files.join("d.json").to_str().unwrap(),
            "-p",
            "src=json",
        ],
    ));
    let doc = run_in(&root, &["get", "-p", "src=json"]);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&doc.stdout).unwrap(),
        serde_json::json!({"k": [1, 2]})
    );
    let raw: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let bkey = put_key(&run_with_stdin(
        &root,
        &[
            "put",
            "-",
            "-p",
            "src=stdin",
            "--description",
            "raw",
            "--ttl",
            "2h",
        ],
        &raw,
    ));
    assert_eq!(run_in(&root, &["get", "--key", &bkey]).stdout, raw);
    let entry = ls(&root)
        .into_iter()
        .find(|e| e["cache_key"] == bkey.as_str())
        .unwrap();
    assert_eq!(
        (entry["data_type"].as_str(), entry["description"].as_str()),
        (Some("bytes"), Some("raw"))
    );
    let created =
        chrono::DateTime::parse_from_rfc3339(entry["created_at"].as_str().unwrap()).unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(entry["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!((expires - created).num_seconds(), 7200);
    // --as overrides the extension.
    let as_bytes = put_key(&run_in(
        &root,
        &[
            "put",
            files.join("t.csv").to_str().unwrap(),
            "-p",
            "src=csvbytes",
            "--as",
            "bytes",
        ],
    ));
    assert_eq!(
        run_in(&root, &["get", "--key", &as_bytes]).stdout,
        std::fs::read(files.join("t.csv")).unwrap()
    );
}

#[test]
fn put_refuses_bad_input_and_caches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cache");
    let bad = dir.path().join("bad.parquet");
    std::fs::write(&bad, b"not parquet at all").unwrap();
    let notjson = dir.path().join("x.json");
    std::fs::write(&notjson, b"{oops").unwrap();
    let complex = dir.path().join("c.npy");
    // A complex128 .npy header: a dtype the cache does not store.
    let header = "{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }";
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    let pad = 64 - (10 + header.len() + 1) % 64;
    let text = format!("{header}{}\n", " ".repeat(pad));
    npy.extend_from_slice(&(text.len() as u16).to_le_bytes());
    npy.extend_from_slice(text.as_bytes());
    npy.extend_from_slice(&[0u8; 16]);
    std::fs::write(&complex, &npy).unwrap();
    for (file, needle) in [
        (dir.path().join("missing.csv"), "missing.csv"),
        (bad.clone(), "bad.parquet"),
        (notjson.clone(), "x.json"),
        (complex.clone(), "<c16"),
    ] {
        let out = run_in(&root, &["put", file.to_str().unwrap(), "-p", "a=1"]);
        assert_eq!(out.status.code(), Some(1), "{}", file.display());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{err}");
    }
    let usage = run_in(&root, &["put", bad.to_str().unwrap()]);
    assert_eq!(usage.status.code(), Some(2), "params are required");
    let usage = run_in(
        &root,
        &["put", bad.to_str().unwrap(), "-p", "a=1", "--ttl", "soon"],
    );
    assert_eq!(usage.status.code(), Some(2));
    assert!(ls(&root).is_empty());
}

#[test]
fn ls_filters_sorts_and_limits_and_history_lists_versions() {
    use cacheness::{Serde, params};
    let dir = tempfile::tempdir().unwrap();
    {
        let cache = cacheness::blocking::Cache::open(dir.path()).unwrap();
        for (i, model) in ["xgboost", "lgbm", "xgboost", "xgboost"].iter().enumerate() {
            cache
                .put(
                    &Serde(vec![0u8; 100 * (i + 1)]),
                    &params!(model = *model, run = i as i64),
                )
                .unwrap();
            cache.flush().unwrap();
        }
        cache
            .put(
                &serde_json::json!({"a": 1}),
                &params!(model = "xgboost", run = "json"),
            )
            .unwrap();
        cache.close().unwrap();
    }
    let keys = |args: &[&str]| -> Vec<serde_json::Value> {
        let mut all = vec!["ls"];
        all.extend_from_slice(args);
        let out = run_in(dir.path(), &all);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["params"]["run"].clone())
            .collect()
    };
    use serde_json::json;
    assert_eq!(
        keys(&["-p", "model=xgboost", "--type", "object"]),
        [json!(0), json!(2), json!(3)]
    );
    assert_eq!(
        keys(&[
            "-p",
            "model=xgboost",
            "--sort",
            "stored-bytes",
            "--desc",
            "--limit",
            "2",
            "--type",
            "object"
        ]),
        [json!(3), json!(2)]
    );
    assert_eq!(keys(&["-p", "run=1"]), [json!(1)]);
    assert!(
        keys(&["-p", "run:str=1"]).is_empty(),
        "the string \"1\" is another value"
    );
    assert_eq!(keys(&["--type", "json"]), [json!("json")]);
    assert_eq!(keys(&["--limit", "0"]).len(), 0);
    assert_eq!(
        run_in(dir.path(), &["ls", "-p", "bad:type=1"])
            .status
            .code(),
        Some(2)
    );

    let out = run_in(dir.path(), &["history", "--format", "csv", "--limit", "2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("version,timestamp,operation,parameters,files_added"),
        "{text}"
    );
    assert_eq!(lines.len(), 3, "a header and two versions: {text}");
    let versions: Vec<i64> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert!(versions[0] > versions[1], "newest first: {versions:?}");
    assert!(
        versions[0] >= 5,
        "one version per flush and the close: {versions:?}"
    );
}

#[test]
fn named_puts_are_sql_tables_and_ls_filters_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cache");
    let csv = |rows: usize| -> Vec<u8> {
        let mut text = String::from("day,price\n");
        for i in 0..rows {
            text.push_str(&format!("{i},{}.5\n", i * 2));
        }
        text.into_bytes()
    };
    let put = |rows: usize, date: &str| {
        put_key(&run_with_stdin(
            &root,
            &[
                "put",
                "-",
                "--as",
                "csv",
                "-p",
                &format!("date={date}"),
                "--name",
                "prices",
            ],
            &csv(rows),
        ))
    };
    let older = put(4, "2026-11-23");
    std::thread::sleep(std::time::Duration::from_millis(5));
    let newer = put(3, "2026-11-24");
    assert_eq!(
        sql_csv(&root, "SELECT count(*) AS n, sum(day) AS s FROM prices"),
        "n,s\n3,3\n"
    );
    let named = |name: &str| -> Vec<String> {
        let out = run_in(&root, &["ls", "--name", name]);
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                assert_eq!(v["name"], name);
                v["cache_key"].as_str().unwrap().to_string()
            })
            .collect()
    };
    assert_eq!(named("prices"), [older.clone(), newer]);
    assert!(named("other").is_empty());
    // A name SQL could not use is refused with exit 1, and nothing is cached.
    let out = run_with_stdin(
        &root,
        &["put", "-", "-p", "x=1", "--name", "Bad Name"],
        b"abc",
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid table name"), "{stderr}");
    assert_eq!(ls(&root).len(), 2);
    // Unknown names are SQL errors naming the table.
    let out = run_in(&root, &["sql", "SELECT * FROM nothing_here"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing_here"));
}

#[test]
fn cleanup_removes_expired_entries() {
    let dir = tempfile::tempdir().unwrap();
    let short = put_key(&run_with_stdin(
        dir.path(),
        &["put", "-", "-p", "ttl=short", "--ttl", "50ms"],
        // Over 64 KiB, incompressible: a payload file, not a record of the small-entry store.
        &cacheness_test_support::noise(70_000, 7),
    ));
    put_key(&run_with_stdin(
        dir.path(),
        &["put", "-", "-p", "ttl=none"],
        b"stays",
    ));
    std::thread::sleep(std::time::Duration::from_millis(100));
    let payload = dir
        .path()
        .join(format!("blobs/{}/{short}.cnobj", &short[..2]));
    assert!(payload.exists(), "expired but not yet reclaimed");
    let out = run_in(dir.path(), &["cleanup"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "removed 1 expired entries\n"
    );
    assert!(!payload.exists());
    let left = ls(dir.path());
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["params"]["ttl"], "none");
    let again = run_in(dir.path(), &["cleanup"]);
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        "removed 0 expired entries\n"
    );
}

#[test]
fn verify_reports_and_repair_rebuilds_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for i in 0..3 {
        put_key(&run_with_stdin(
            root,
            &["put", "-", "-p", &format!("i={i}")],
            b"data",
        ));
    }
    let clean = run_in(root, &["verify"]);
    assert_eq!(clean.status.code(), Some(0));
    assert!(clean.stdout.is_empty());
    assert!(String::from_utf8_lossy(&clean.stderr).contains("3 rows, 3 payload files, 0 problems"));
    std::fs::remove_dir_all(root.join("catalog")).unwrap();
    let damaged = run_in(root, &["verify"]);
    assert_eq!(damaged.status.code(), Some(4));
    let problems: Vec<serde_json::Value> = String::from_utf8_lossy(&damaged.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(problems.len(), 3);
    assert!(
        problems.iter().all(|p| p["kind"] == "orphan"),
        "{problems:?}"
    );
    let repaired = run_in(root, &["repair"]);
    assert!(repaired.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&repaired.stdout).unwrap();
    assert_eq!(summary["rows_written"], 3);
    assert_eq!(ls(root).len(), 3);
    assert_eq!(run_in(root, &["verify"]).status.code(), Some(0));
}

#[test]
fn compact_maintains_the_catalog_and_keeps_every_entry() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for i in 0..4 {
        put_key(&run_with_stdin(
            root,
            &["put", "-", "-p", &format!("i={i}")],
            b"x",
        ));
    }
    let out = run_in(root, &["compact"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["skipped"], false);
    assert_eq!(report["compacted"], true, "{report}");
    assert_eq!(report["data_files"], 1, "{report}");
    assert!(report["checkpoint_version"].as_u64().is_some(), "{report}");
    assert_eq!(ls(root).len(), 4);
}

#[test]
fn the_signing_key_comes_from_the_environment_and_another_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let file = root.join("v.txt");
    std::fs::write(&file, "signed value").unwrap();
    let with_key = |key: &str, args: &[&str]| {
        cacheness()
            .args(args)
            .arg("--dir")
            .arg(root)
            .env("CACHENESS_SIGNING_KEY", key)
            .output()
            .unwrap()
    };
    let (a, b) = ("ab".repeat(32), "cd".repeat(32));
    let put = with_key(&a, &["put", file.to_str().unwrap(), "-p", "n=1"]);
    assert!(
        put.status.success(),
        "{}",
        String::from_utf8_lossy(&put.stderr)
    );
    let key = String::from_utf8_lossy(&put.stdout).trim().to_string();
    assert!(
        !root.join("signing.key").exists(),
        "a key from the environment creates no key file"
    );
    let got = with_key(&a, &["get", "--key", &key]);
    assert_eq!(got.stdout, b"signed value");
    // Another key: refused (exit 3, not found) and, by default, removed.
    let refused = with_key(&b, &["get", "--key", &key]);
    assert_eq!(refused.status.code(), Some(3));
    // Its payload and catalog row are gone; what is left is consistent.
    let listed = with_key(&a, &["ls"]);
    assert!(
        listed.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&listed.stdout)
    );
    assert_eq!(with_key(&a, &["verify"]).status.code(), Some(0));
    // A bad key source is an error naming the setting.
    let bad = with_key("file:", &["ls"]);
    assert_eq!(bad.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("CACHENESS_SIGNING_KEY"), "{stderr}");
}

#[test]
fn a_put_past_the_file_size_limit_fails_cleanly() {
    // A fault injected without privileges: the file-size limit (RLIMIT_FSIZE) makes the
    // payload write fail as a full disk would (EFBIG instead of ENOSPC). tests/full_disk.rs
    // does the same on a real full file system where the machine allows mounting one.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cache");
    let small = dir.path().join("small.txt");
    std::fs::write(&small, "kept").unwrap();
    assert!(
        run_in(&root, &["put", small.to_str().unwrap(), "-p", "n=1"])
            .status
            .success()
    );
    let big = dir.path().join("big.bin");
    let noise = cacheness_test_support::noise(1_000_000, 88172645463325252);
    std::fs::write(&big, &noise).unwrap();
    let limited = Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 200; exec \"$0\" put \"$1\" -p n=2 --dir \"$2\"")
        .arg(env!("CARGO_BIN_EXE_cacheness"))
        .arg(&big)
        .arg(&root)
        .output()
        .unwrap();
    assert_eq!(limited.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&limited.stderr);
    assert!(
        stderr.contains("File too large") && stderr.contains("blobs/"),
        "{stderr}"
    );
    let verify = run_in(&root, &["verify"]);
    assert_eq!(
        verify.status.code(),
        Some(0),
        "no partial entry: {}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let leftovers = walk(&root.join("blobs"))
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .count();
    assert_eq!(leftovers, 0);
    assert_eq!(ls(&root).len(), 1);
    let got = run_in(&root, &["get", "-p", "n=1"]);
    assert_eq!(got.stdout, b"kept");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn limits_from_cacheness_toml_evict_and_stats_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cache");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("cacheness.toml"),
        "max_entries = 4\neviction_low_watermark = 0.5\n",
    )
    .unwrap();
    let file = dir.path().join("v.txt");
    for n in 0..5 {
        std::fs::write(&file, format!("value {n}")).unwrap();
        let out = run_in(
            &root,
            &["put", file.to_str().unwrap(), "-p", &format!("n={n}")],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(std::time::Duration::from_millis(15));
    }
    // The fifth put passed 4 entries: down to 2, the put's own entry kept.
    assert_eq!(ls(&root).len(), 2);
    assert_eq!(run_in(&root, &["get", "-p", "n=4"]).stdout, b"value 4");
    let stats = run_in(&root, &["stats"]);
    let stats: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert_eq!(stats["evicted_for_entries"], 3);
    assert_eq!(stats["evicted_for_size"], 0);
    assert_eq!(stats["max_entries"], 4);
    assert_eq!(stats["entries"], 2);
    // The environment overrides the file: a byte limit below what is stored evicts on demand.
    let out = cacheness()
        .args(["evict", "--dir"])
        .arg(&root)
        .env("CACHENESS_MAX_SIZE_BYTES", "0.5 KB")
        .env("CACHENESS_MAX_ENTRIES", "0")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["skipped"], false);
    // Two entries of about 400 bytes: over 500, evicted down to 400 or less.
    assert!(report["bytes"].as_u64().unwrap() <= 400, "{report}");
    assert!(
        report["evicted_for_size"].as_u64().unwrap() >= 1,
        "{report}"
    );
    let bad = cacheness()
        .args(["stats", "--dir"])
        .arg(&root)
        .env("CACHENESS_MAX_SIZE_BYTES", "lots")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("CACHENESS_MAX_SIZE_BYTES"));
}

#[test]
fn at_path_params_key_files_and_trees_by_content_like_the_rust_api() {
    use cacheness::keys::KeyContext;
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = dir.path().join("cache");
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("sub")).unwrap();
    std::fs::write(data.join("train.csv"), "x\n1\n").unwrap();
    std::fs::write(data.join("sub/more.csv"), "x\n2\n").unwrap();
    {
        let cache = cacheness::blocking::Cache::open(&cache_dir).unwrap();
        let cx = KeyContext::new(cache.content_hasher());
        let p = cacheness::Params::new()
            .with_param("dataset", &data.join("train.csv"), &cx)
            .unwrap()
            .with_param("tree", &data, &cx)
            .unwrap();
        cache.put(&cacheness::Serde(42), &p).unwrap();
        cache.close().unwrap();
    }
    // A copy of the file elsewhere names the same entry.
    let copy = dir.path().join("copy.csv");
    std::fs::copy(data.join("train.csv"), &copy).unwrap();
    let dataset = format!("dataset=@{}", copy.display());
    let tree = format!("tree=@{}", data.display());
    let out = run_in(&cache_dir, &["get", "-p", &dataset, "-p", &tree]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("42"));
    // An edit of a file in the tree names another entry.
    std::fs::write(data.join("sub/more.csv"), "x\n3\n").unwrap();
    let out = run_in(&cache_dir, &["get", "-p", &dataset, "-p", &tree]);
    assert_eq!(out.status.code(), Some(3), "not found");
    // A missing path is a usage error naming it.
    let out = run_in(&cache_dir, &["get", "-p", "dataset=@/no/such.csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such.csv"));
}

#[test]
fn pull_through_tables_from_a_command_fetch_only_gaps_and_show_and_forget_coverage() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("fetches.log");
    // The source: one CSV row per integer tick from $2 to $3 for key $1; logs each call.
    let script = format!(
        r#"echo "$1 $2..$3" >> {log}; echo sensor,t,reading; i=$2; while [ $i -le $3 ]; do echo "$1,$i,$((i*10))"; i=$((i+1)); done"#,
        log = log.display()
    );
    let command = format!("sh -c '{script}' sh {{key}} {{start}} {{last}}");
    let out = run_in(
        dir.path(),
        &[
            "table",
            "create",
            "readings",
            "--columns",
            "sensor:str,t:int,reading:int",
            "--key",
            "sensor",
            "--range",
            "t",
            "--command",
            &command,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fetched = || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let _ = std::fs::remove_file(&log);
        text.lines().map(str::to_string).collect::<Vec<_>>()
    };
    let q = |a: i64, b: i64| {
        format!(
            "SELECT sum(reading) AS s, count(*) AS n FROM readings \
             WHERE sensor = 'a' AND t BETWEEN {a} AND {b}"
        )
    };
    assert_eq!(sql_csv(dir.path(), &q(1, 10)), "s,n\n550,10\n");
    assert_eq!(fetched(), ["a 1..10"]);
    assert_eq!(sql_csv(dir.path(), &q(5, 15)), "s,n\n1100,11\n");
    assert_eq!(
        fetched(),
        ["a 11..15"],
        "a second process fetched only the gap"
    );

    // EXPLAIN lists the fetches a query would make, and makes none.
    let plan = sql_csv(dir.path(), &format!("EXPLAIN {}", q(1, 20)));
    assert!(plan.contains("fetches=1 [a [16, 21)]"), "{plan}");
    assert!(fetched().is_empty());

    // Coverage, then invalidation of part of it.
    let out = run_in(dir.path(), &["table", "coverage", "readings"]);
    let spans: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ranges: Vec<(String, String)> = spans
        .iter()
        .map(|s| (s["start"].to_string(), s["last"].to_string()))
        .collect();
    assert_eq!(
        ranges,
        [
            ("\"1\"".into(), "\"10\"".into()),
            ("\"11\"".into(), "\"15\"".into())
        ]
    );
    let out = run_in(
        dir.path(),
        &[
            "table",
            "invalidate",
            "readings",
            "--key",
            "a",
            "--from",
            "3",
            "--last",
            "4",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    sql_csv(dir.path(), &q(1, 15));
    assert_eq!(fetched(), ["a 3..4"]);

    // A query without a key predicate fails, naming it.
    let out = run_in(dir.path(), &["sql", "SELECT * FROM readings WHERE t < 5"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no predicate on its key column sensor"),
        "{err}"
    );

    // Bad definitions are refused, naming what is wrong.
    let out = run_in(
        dir.path(),
        &[
            "table",
            "create",
            "bad",
            "--columns",
            "k:str,t:decimal",
            "--range",
            "t",
            "--demo",
        ],
    );
    assert!(!out.status.success());
    let out = run_in(
        dir.path(),
        &[
            "table",
            "create",
            "bad",
            "--columns",
            "k:str,t:text",
            "--key",
            "k",
            "--range",
            "t",
            "--url",
            "http://x/{key}",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the range column t is Utf8"), "{err}");
    let out = run_in(dir.path(), &["table", "ls"]);
    let names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["name"].to_string())
        .collect();
    assert_eq!(names, ["\"readings\""]);
    // A damaged settings file is an error naming it, not a table silently left out.
    let settings = dir.path().join("tables/readings/settings.json");
    std::fs::write(&settings, "{not json").unwrap();
    let out = run_in(dir.path(), &["table", "ls"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("readings/settings.json"),
        "{err}"
    );
}
