//! Crash and concurrency: an acknowledged put survives `kill -9`; two processes lose nothing.
//!
//! The child processes are this test binary itself, re-run with one ignored test selected and
//! its instructions in environment variables.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use cacheness::{CacheConfig, Serde, blocking::Cache, params};

const CHILD_ENV: &str = "CACHENESS_TEST_CHILD";

fn child(test: &str, envs: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        test,
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_ENV, "1")
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd
}

/// Child: put entries forever, printing each acknowledged key; never commits on its own.
#[test]
#[ignore = "run as a child process by acknowledged_puts_survive_kill_9"]
fn child_put_until_killed() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let dir = std::env::var("CACHE_DIR").unwrap();
    let cache =
        Cache::open_with(CacheConfig::new(dir).with_commit_interval(Duration::from_secs(3600)))
            .unwrap();
    for i in 0.. {
        let key = cache.put(&Serde(vec![i; 10]), &params!(i = i)).unwrap();
        println!("ACK {i} {key}");
    }
}

#[test]
fn acknowledged_puts_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = child(
        "child_put_until_killed",
        &[("CACHE_DIR", dir.path().display().to_string())],
    )
    .spawn()
    .unwrap();
    let mut acked = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while acked.len() < 300 {
        let line = lines.next().unwrap().unwrap();
        if let Some(rest) = line.strip_prefix("ACK ") {
            let (i, key) = rest.split_once(' ').unwrap();
            acked.push((i.parse::<i64>().unwrap(), key.to_string()));
        }
    }
    // SIGKILL: no destructor, no flush.
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        common::delta_rows(dir.path()).is_empty(),
        "the child committed although it never should"
    );
    let cache = common::open_quiet(dir.path());
    // Reopening replays the dead writer's journal into Delta (in the background; a flush waits
    // for it).
    cache.flush().unwrap();
    let in_delta: std::collections::HashSet<String> = common::delta_rows(dir.path())
        .into_iter()
        .map(|r| r.cache_key)
        .collect();
    for (i, key) in &acked {
        assert!(in_delta.contains(key), "acknowledged put {i} ({key}) lost");
        assert_eq!(
            cache.get::<Serde<Vec<i64>>>(&params!(i = *i)).unwrap(),
            Some(Serde(vec![*i; 10]))
        );
    }
    assert!(cache.list_entries().unwrap().len() >= acked.len());
    // The journal of the dead writer is gone once replayed.
    let leftovers = std::fs::read_dir(dir.path().join("catalog/journal"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "jnl")
        })
        .count();
    assert_eq!(leftovers, 1, "only this process's own segment remains");
}

/// Child: put 500 entries tagged with its process number, then exit normally.
#[test]
#[ignore = "run as a child process by two_processes_put_500_each"]
fn child_put_500() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let dir = std::env::var("CACHE_DIR").unwrap();
    let proc_id: i64 = std::env::var("PROC_ID").unwrap().parse().unwrap();
    let cache =
        Cache::open_with(CacheConfig::new(dir).with_commit_interval(Duration::from_millis(50)))
            .unwrap();
    for i in 0..500 {
        cache
            .put(&Serde((proc_id, i)), &params!(proc = proc_id, i = i))
            .unwrap();
    }
    cache.close().unwrap();
    println!("DONE");
}

#[test]
fn two_processes_put_500_each() {
    let dir = tempfile::tempdir().unwrap();
    Cache::open(dir.path()).unwrap().close().unwrap();
    let children: Vec<_> = (0..2)
        .map(|p| {
            child(
                "child_put_500",
                &[
                    ("CACHE_DIR", dir.path().display().to_string()),
                    ("PROC_ID", p.to_string()),
                ],
            )
            .spawn()
            .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("DONE"));
    }
    let rows = common::delta_rows(dir.path());
    assert_eq!(rows.len(), 1000);
    let keys: std::collections::HashSet<_> = rows.iter().map(|r| r.cache_key.clone()).collect();
    assert_eq!(keys.len(), 1000);
    let cache = common::open_quiet(dir.path());
    assert_eq!(cache.list_entries().unwrap().len(), 1000);
    for p in 0..2i64 {
        for i in [0i64, 250, 499] {
            assert_eq!(
                cache
                    .get::<Serde<(i64, i64)>>(&params!(proc = p, i = i))
                    .unwrap(),
                Some(Serde((p, i)))
            );
        }
    }
}
