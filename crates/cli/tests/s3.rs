//! The real `cacheness` binary on a cache in an S3 bucket (moto's server on loopback): `--dir`
//! takes the URL, two hosts (separate `CACHENESS_LOCAL_STATE`) share entries, SQL, pull-through
//! tables (the built-in demo source), verify and stats.

use cacheness_test_support::s3;

use std::process::{Command, Output};

/// Run `cacheness --dir <url> <args>` as the host whose local state is `state`.
fn run(s3: &s3::S3, url: &str, state: &std::path::Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_cacheness"))
        .arg("--dir")
        .arg(url)
        .args(args)
        .env("CACHENESS_LOCAL_STATE", state)
        .envs(s3.env())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cacheness {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_cli_works_on_a_bucket_shared_by_two_hosts() {
    let s3 = s3::S3::start("clitest");
    let url = s3.url("team/cache");
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let work = tempfile::tempdir().unwrap();
    let doc = work.path().join("doc.json");
    std::fs::write(&doc, br#"{"loss": 0.25}"#).unwrap();
    let key = text(&run(
        &s3,
        &url,
        a.path(),
        &["put", doc.to_str().unwrap(), "-p", "model=xgboost"],
    ))
    .trim()
    .to_string();
    run(&s3, &url, a.path(), &["flush"]);
    // Host B reads it back and finds it by SQL.
    let got = text(&run(&s3, &url, b.path(), &["get", "--key", &key]));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&got).unwrap(),
        serde_json::json!({"loss": 0.25})
    );
    let rows = text(&run(
        &s3,
        &url,
        b.path(),
        &[
            "sql",
            "--format",
            "json",
            "SELECT cache_key FROM cache_entries WHERE model = 'xgboost'",
        ],
    ));
    assert!(rows.contains(&key), "{rows}");
    // A pull-through table created on host A is filled once and shared.
    run(
        &s3,
        &url,
        a.path(),
        &["table", "create", "prices", "--demo"],
    );
    let query = "SELECT count(*) AS n FROM prices WHERE symbol = 'AAPL' \
                 AND day BETWEEN DATE '2024-01-01' AND DATE '2024-01-31'";
    let first = text(&run(
        &s3,
        &url,
        a.path(),
        &["sql", "--format", "json", query],
    ));
    let second = text(&run(
        &s3,
        &url,
        b.path(),
        &["sql", "--format", "json", query],
    ));
    assert_eq!(first, second);
    let coverage = text(&run(&s3, &url, b.path(), &["table", "coverage", "prices"]));
    assert_eq!(coverage.lines().count(), 1, "one fetched span: {coverage}");
    assert!(
        s3.keys("team/cache/tables/prices/settings.json").len() == 1,
        "the table is in the bucket"
    );
    // verify walks the bucket and finds nothing wrong; stats counts the entry.
    let verify = run(&s3, &url, b.path(), &["verify"]);
    assert!(text(&verify).trim().is_empty(), "{}", text(&verify));
    let stats: serde_json::Value =
        serde_json::from_str(&text(&run(&s3, &url, b.path(), &["stats"]))).unwrap();
    assert_eq!(stats["entries"], 1);
}
