//! Crash and concurrency: an acknowledged put survives `kill -9`; two processes lose nothing.
//!
//! The child processes are this test binary itself, re-run with one ignored test selected and
//! its instructions in environment variables.

use crate::common::{self, KillOnDrop};

use std::io::{BufRead, BufReader};
use std::process::Command;
use std::time::Duration;

use cacheness::{CacheConfig, Serde, blocking::Cache, params};

const CHILD_ENV: &str = "CACHENESS_TEST_CHILD";

fn child(test: &str, envs: &[(&str, String)]) -> Command {
    let mut cmd = common::rerun_test(module_path!(), test);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd
}

/// Run `n` copies of the child `test` at once on the cache in `dir` (each with its `PROC_ID`),
/// wait for all, assert each succeeded and printed `DONE`; their standard outputs, in order.
fn run_children(test: &str, n: usize, dir: &std::path::Path) -> Vec<String> {
    Cache::open(dir).unwrap().close().unwrap();
    let children: Vec<_> = (0..n)
        .map(|p| {
            child(
                test,
                &[
                    ("CACHE_DIR", dir.display().to_string()),
                    ("PROC_ID", p.to_string()),
                ],
            )
            .spawn()
            .unwrap()
        })
        .collect();
    children
        .into_iter()
        .enumerate()
        .map(|(p, c)| {
            let out = c.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(
                out.status.success() && stdout.contains("DONE"),
                "process {p}: {stdout}"
            );
            stdout
        })
        .collect()
}

/// Child: put entries forever, printing each acknowledged key; never commits on its own.
#[test]
#[ignore = "run as a child process by acknowledged_puts_survive_kill_9"]
fn child_put_until_killed() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let dir = std::env::var("CACHE_DIR").unwrap();
    // How often it commits (once an hour unless told), and how many puts it makes before it
    // waits to be killed (no end unless told).
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<i64>().ok());
    let interval = env("COMMIT_INTERVAL_MS").unwrap_or(3_600_000);
    let interval = Duration::from_millis(interval.unsigned_abs());
    let puts = env("PUTS").unwrap_or(i64::MAX);
    let cache = Cache::open_with(CacheConfig::new(dir).with_commit_interval(interval)).unwrap();
    for i in 0..puts {
        let key = cache.put(&Serde(vec![i; 10]), &params!(i = i)).unwrap();
        println!("ACK {i} {key}");
    }
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
fn acknowledged_puts_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = KillOnDrop(
        child(
            "child_put_until_killed",
            &[("CACHE_DIR", dir.path().display().to_string())],
        )
        .spawn()
        .unwrap(),
    );
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

/// The keys of the rows in the Delta table.
fn delta_keys(dir: &std::path::Path) -> std::collections::HashSet<String> {
    common::delta_rows(dir)
        .into_iter()
        .map(|r| r.cache_key)
        .collect()
}

#[test]
fn a_closing_cache_leaves_its_rows_to_a_writer_still_running_which_commits_them() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("catalog/journal");
    let markers = || common::count_files(&journal, |n| n.ends_with(".handover"));
    let every = |interval| {
        Cache::open_with(CacheConfig::new(dir.path()).with_commit_interval(interval)).unwrap()
    };
    let put = |cache: &Cache, i: i64| cache.put(&Serde(i), &params!(i = i)).unwrap().to_string();
    // A writer that commits once an hour is not one to leave rows to.
    let slow = every(Duration::from_secs(3600));
    let s = put(&slow, 0);
    let closing = common::open_quiet(dir.path());
    let a = put(&closing, 1);
    closing.close().unwrap();
    assert_eq!(delta_keys(dir.path()), [a.clone()].into());
    // One that commits within LEAVE_WITHIN is.
    let within = cacheness::catalog::committer::LEAVE_WITHIN;
    let running = every(within);
    let x = put(&running, 2);
    let closing = common::open_quiet(dir.path());
    let left: Vec<String> = (3..6).map(|i| put(&closing, i)).collect();
    closing.close().unwrap();
    // Its rows wait in its journal, handed over, and are served meanwhile.
    assert_eq!(delta_keys(dir.path()), [a.clone()].into());
    assert_eq!(markers(), 1);
    assert_eq!(
        running.get::<Serde<i64>>(&params!(i = 4)).unwrap(),
        Some(Serde(4))
    );
    // The running writer's commit takes them with its own (not the slow writer's rows).
    running.close().unwrap();
    let mut expected: std::collections::HashSet<String> = left.into_iter().collect();
    expected.extend([a, x]);
    assert_eq!(delta_keys(dir.path()), expected);
    assert_eq!(markers(), 0);
    slow.close().unwrap();
    expected.insert(s);
    assert_eq!(delta_keys(dir.path()), expected);
    assert_eq!(common::count_files(&journal, |n| n.ends_with(".jnl")), 0);
}

#[test]
fn rows_left_to_a_writer_that_is_then_killed_reach_delta_with_the_next_process() {
    let dir = tempfile::tempdir().unwrap();
    // A writer that commits within LEAVE_WITHIN, and not before it is killed.
    let within = cacheness::catalog::committer::LEAVE_WITHIN;
    let mut child = KillOnDrop(
        child(
            "child_put_until_killed",
            &[
                ("CACHE_DIR", dir.path().display().to_string()),
                ("COMMIT_INTERVAL_MS", within.as_millis().to_string()),
                ("PUTS", "20".into()),
            ],
        )
        .spawn()
        .unwrap(),
    );
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let acked: Vec<String> = (&mut lines)
        // The test harness may print its own words before ours on a line.
        .filter_map(|l| {
            l.unwrap()
                .split_once("ACK ")
                .map(|(_, ack)| ack.to_string())
        })
        .take(20)
        .map(|l| l.split_once(' ').unwrap().1.to_string())
        .collect();
    let closing = common::open_quiet(dir.path());
    let left = closing
        .put(&Serde(-1i64), &params!(i = -1))
        .unwrap()
        .to_string();
    closing.close().unwrap();
    assert!(!delta_keys(dir.path()).contains(&left), "left to the child");
    child.kill().unwrap();
    child.wait().unwrap();
    // The next process adopts both journals, the killed writer's and the one left to it.
    let cache = common::open_quiet(dir.path());
    cache.flush().unwrap();
    let keys = delta_keys(dir.path());
    assert!(keys.contains(&left));
    assert!(acked.iter().all(|k| keys.contains(k)));
    let journal = dir.path().join("catalog/journal");
    assert_eq!(
        common::count_files(&journal, |n| n.ends_with(".handover")),
        0
    );
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
    run_children("child_put_500", 2, dir.path());
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

/// Percentile `p` (0-100) of sorted `v`.
fn percentile(v: &[u64], p: usize) -> u64 {
    v[(v.len() * p / 100).min(v.len() - 1)]
}

/// Child: 500 puts of its own keys, each followed by a get of an earlier own key (checked), and
/// every 10th by an invalidation of an earlier one; prints put latencies and what it removed.
#[test]
#[ignore = "run as a child process by eight_processes_put_get_and_invalidate"]
fn child_stress() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let dir = std::env::var("CACHE_DIR").unwrap();
    let proc_id: i64 = std::env::var("PROC_ID").unwrap().parse().unwrap();
    let cache = Cache::open(dir).unwrap();
    let mut latencies = Vec::with_capacity(500);
    let mut invalidated = Vec::new();
    for i in 0..500i64 {
        let start = std::time::Instant::now();
        cache
            .put(&Serde((proc_id, i)), &params!(proc = proc_id, i = i))
            .unwrap();
        latencies.push(start.elapsed().as_micros() as u64);
        let j = (i * 7919) % (i + 1);
        let got = cache
            .get::<Serde<(i64, i64)>>(&params!(proc = proc_id, i = j))
            .unwrap();
        assert!(
            got.as_ref().is_none_or(|v| *v == Serde((proc_id, j))),
            "wrong value for {j}"
        );
        assert_eq!(got.is_none(), invalidated.contains(&j), "entry {j}");
        if i % 10 == 9 {
            let k = i - 5;
            assert!(cache.invalidate(&params!(proc = proc_id, i = k)).unwrap());
            invalidated.push(k);
        }
    }
    cache.close().unwrap();
    latencies.sort_unstable();
    println!(
        "LATENCY p50={} p99={} max={}",
        percentile(&latencies, 50),
        percentile(&latencies, 99),
        latencies[latencies.len() - 1]
    );
    println!(
        "INVALIDATED {}",
        invalidated
            .iter()
            .map(|k| k.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    println!("DONE");
}

#[test]
fn eight_processes_put_get_and_invalidate() {
    let dir = tempfile::tempdir().unwrap();
    let mut expected = std::collections::BTreeSet::new();
    for (p, stdout) in run_children("child_stress", 8, dir.path())
        .iter()
        .enumerate()
    {
        // The test harness may print its own words before ours on a line.
        let line = |prefix: &str| {
            stdout
                .lines()
                .find_map(|l| l.split_once(prefix).map(|(_, rest)| rest))
                .unwrap_or_else(|| panic!("process {p} printed no {prefix}: {stdout}"))
                .to_string()
        };
        // Figures for the closing note and docs/RELIABILITY.md (a debug build is slower).
        eprintln!("process {p} put latency (us): {}", line("LATENCY "));
        let removed: std::collections::HashSet<i64> = line("INVALIDATED ")
            .split(',')
            .map(|k| k.parse().unwrap())
            .collect();
        assert_eq!(removed.len(), 50);
        for i in (0..500i64).filter(|i| !removed.contains(i)) {
            expected.insert((p as i64, i));
        }
    }
    // The catalog ends exactly right: every surviving put, nothing invalidated, no duplicate,
    // in the listing and in the Delta table itself.
    let cache = common::open_quiet(dir.path());
    cache.flush().unwrap();
    let params_of = |v: &serde_json::Value| (v["proc"].as_i64().unwrap(), v["i"].as_i64().unwrap());
    let listed: Vec<(i64, i64)> = cache
        .list_entries()
        .unwrap()
        .iter()
        .map(|e| params_of(&e.params))
        .collect();
    assert_eq!(listed.len(), expected.len(), "no duplicates");
    assert_eq!(
        listed
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>(),
        expected
    );
    let rows = common::delta_rows(dir.path());
    let in_delta: std::collections::BTreeSet<(i64, i64)> = rows
        .iter()
        .map(|r| params_of(&serde_json::from_str(&r.params_json).unwrap()))
        .collect();
    assert_eq!(rows.len(), expected.len());
    assert_eq!(in_delta, expected);
    for &(p, i) in expected.iter().step_by(37) {
        assert_eq!(
            cache
                .get::<Serde<(i64, i64)>>(&params!(proc = p, i = i))
                .unwrap(),
            Some(Serde((p, i)))
        );
    }
    assert!(cache.verify().unwrap().is_clean());
}

/// The value of entry `(round, i)` in its `version`.
fn versioned(round: i64, i: i64, version: i64) -> Serde<Vec<i64>> {
    Serde(vec![
        round,
        i,
        version,
        round * 1_000_003 + i * 31 + version,
    ])
}

/// Child: put new entries forever and replace every third one's predecessor, printing each
/// acknowledged put (`ACK i version`); reads back earlier entries and prints `WRONG` if one is
/// not what it last put.
#[test]
#[ignore = "run as a child process by twenty_kill_9_rounds_lose_no_acknowledged_put"]
fn child_put_replace_until_killed() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let dir = std::env::var("CACHE_DIR").unwrap();
    let round: i64 = std::env::var("ROUND").unwrap().parse().unwrap();
    let cache = Cache::open(dir).unwrap();
    let put = |i: i64, v: i64| {
        cache
            .put(&versioned(round, i, v), &params!(round = round, i = i))
            .unwrap();
        println!("ACK {i} {v}");
    };
    for i in 0.. {
        put(i, 0);
        if i % 3 == 2 {
            put(i - 1, 1);
        }
        let j = i / 2;
        let want = versioned(round, j, i64::from(j % 3 == 1 && j < i)); // replaced at step j + 1
        let got = cache.get::<Serde<Vec<i64>>>(&params!(round = round, i = j));
        if got.as_ref().ok().and_then(|g| g.as_ref()) != Some(&want) {
            println!("WRONG {j}: {got:?}");
        }
    }
}

#[test]
fn twenty_kill_9_rounds_lose_no_acknowledged_put() {
    use rand::Rng;
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand::rng();
    // (round, i) -> the last acknowledged version.
    let mut acked: std::collections::BTreeMap<(i64, i64), i64> = Default::default();
    for round in 0..20i64 {
        let mut child = KillOnDrop(
            child(
                "child_put_replace_until_killed",
                &[
                    ("CACHE_DIR", dir.path().display().to_string()),
                    ("ROUND", round.to_string()),
                ],
            )
            .spawn()
            .unwrap(),
        );
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let before_kill = rng.random_range(1..200);
        let mut seen = 0;
        let mut record = |line: &str| {
            assert!(!line.starts_with("WRONG"), "round {round}: {line}");
            if let Some((i, v)) = line.strip_prefix("ACK ").and_then(|r| r.split_once(' ')) {
                acked.insert((round, i.parse().unwrap()), v.parse().unwrap());
            }
        };
        while seen < before_kill {
            let line = lines.next().unwrap().unwrap();
            record(&line);
            seen += 1;
        }
        // Kill at a random moment, most likely inside a put.
        std::thread::sleep(Duration::from_micros(rng.random_range(0..3000)));
        child.kill().unwrap();
        child.wait().unwrap();
        // Everything it printed before dying was acknowledged.
        for line in lines {
            record(&line.unwrap());
        }
        let cache = common::open_quiet(dir.path());
        let listed: std::collections::HashSet<(i64, i64)> = cache
            .list_entries()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e.params["round"].as_i64().unwrap(),
                    e.params["i"].as_i64().unwrap(),
                )
            })
            .collect();
        for (&(r, i), &v) in &acked {
            assert!(
                listed.contains(&(r, i)),
                "round {round}: acknowledged ({r}, {i}) not listed"
            );
            let got = cache
                .get::<Serde<Vec<i64>>>(&params!(round = r, i = i))
                .unwrap()
                .unwrap_or_else(|| panic!("round {round}: acknowledged ({r}, {i}) lost"));
            // The version acknowledged, or the replacement the kill interrupted.
            assert!(
                got == versioned(r, i, v) || (v == 0 && got == versioned(r, i, 1)),
                "round {round}: ({r}, {i}) holds {got:?}, acknowledged version {v}"
            );
        }
        cache.close().unwrap();
    }
    let cache = common::open_quiet(dir.path());
    cache.repair().unwrap();
    assert!(cache.verify().unwrap().is_clean());
}

/// Child: puts past a size limit (evicting), invalidations, and catalog maintenance passes.
#[test]
#[ignore = "run as a child process by two_processes_maintain_and_evict_at_once"]
fn child_maintain_and_evict() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let dir = std::env::var("CACHE_DIR").unwrap();
    let proc_id: i64 = std::env::var("PROC_ID").unwrap().parse().unwrap();
    let cache = Cache::open_with(
        CacheConfig::new(dir)
            .with_commit_interval(Duration::from_millis(20))
            .with_max_size_bytes(Some(150_000)),
    )
    .unwrap();
    let (mut maintained, mut evicting_passes) = (0, 0);
    for i in 0..300i64 {
        let value = Serde((proc_id, i, vec![i; 256]));
        cache.put(&value, &params!(proc = proc_id, i = i)).unwrap();
        if i % 15 == 14 {
            cache
                .invalidate(&params!(proc = proc_id, i = i - 1))
                .unwrap();
        }
        if i % 25 == 24 {
            maintained += usize::from(!cache.maintain().unwrap().skipped);
        }
        if i % 40 == 39 {
            evicting_passes += usize::from(!cache.evict().unwrap().skipped);
        }
    }
    cache.close().unwrap();
    println!("DONE maintained={maintained} evict_calls={evicting_passes}");
}

#[test]
fn two_processes_maintain_and_evict_at_once() {
    let dir = tempfile::tempdir().unwrap();
    run_children("child_maintain_and_evict", 2, dir.path());
    let cache = common::open_quiet(dir.path());
    cache.flush().unwrap();
    // The catalog is readable and agrees with the payloads exactly: no row without its
    // payload (evicted or invalidated entries left the catalog), no payload without its row.
    let report = cache.verify().unwrap();
    assert!(report.is_clean(), "{report:?}");
    let listed = cache.list_entries().unwrap();
    let stats = cache.stats().unwrap();
    assert!(stats.evicted_for_size > 0, "{stats:?}");
    assert_eq!(listed.len() as u64, stats.entries);
    let on_disk: u64 = common::payload_files(dir.path())
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert!(on_disk <= 150_000 + 10_000, "{on_disk} bytes on disk");
    // Nothing that should be there was lost: every listed entry reads back as put, none that
    // was invalidated is listed, and the newest put of all (never evicted by its own put) is
    // there.
    for e in &listed {
        let (p, i) = (
            e.params["proc"].as_i64().unwrap(),
            e.params["i"].as_i64().unwrap(),
        );
        assert!(i % 15 != 13, "invalidated ({p}, {i}) is listed");
        let got = cache
            .get::<Serde<(i64, i64, Vec<i64>)>>(&params!(proc = p, i = i))
            .unwrap()
            .unwrap();
        assert_eq!((got.0.0, got.0.1), (p, i));
    }
    assert!(
        listed.iter().any(|e| e.params["i"] == 299),
        "the newest put is there"
    );
    let n = common::ints(
        &cache
            .sql("SELECT count(*) AS n FROM cache_entries")
            .unwrap(),
        "n",
    );
    assert_eq!(n, vec![listed.len() as i64]);
    assert_eq!(common::delta_rows(dir.path()).len(), listed.len());
}

/// Child: a compute-once lookup of one key with the lock across processes; the computation
/// appends a line to `computed.log` and takes 300 ms.
#[test]
#[ignore = "run as a child process by four_processes_compute_a_locked_key_once"]
fn child_memoize_with_lock() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let dir = std::path::PathBuf::from(std::env::var("CACHE_DIR").unwrap());
    let cache = Cache::open_with(CacheConfig::new(&dir).with_lock_across_processes(true)).unwrap();
    let proc_id: i64 = std::env::var("PROC_ID").unwrap().parse().unwrap();
    let v = cache
        .get_or_insert_with(&params!(job = "train"), || {
            use std::io::Write;
            let mut log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("computed.log"))
                .unwrap();
            writeln!(log, "{proc_id}").unwrap();
            std::thread::sleep(Duration::from_millis(300));
            Serde(proc_id)
        })
        .unwrap();
    println!("VALUE {}", v.0);
    println!("DONE");
}

#[test]
fn four_processes_compute_a_locked_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let outputs = run_children("child_memoize_with_lock", 4, dir.path());
    let computed = std::fs::read_to_string(dir.path().join("computed.log")).unwrap();
    assert_eq!(computed.lines().count(), 1, "computed by: {computed}");
    let first: String = computed.trim().to_string();
    for stdout in outputs {
        let value = stdout
            .lines()
            .find_map(|l| l.split_once("VALUE ").map(|(_, v)| v.to_string()))
            .unwrap();
        assert_eq!(value, first, "every process returns the first result");
    }
    assert!(
        std::fs::read_dir(dir.path().join("locks"))
            .unwrap()
            .next()
            .is_none(),
        "lock files are removed"
    );
}

/// Child: put three keys 30 times each, alternating formats (object, bytes, array), with
/// content that differs per process and round.
#[test]
#[ignore = "run as a child process by four_processes_racing_on_keys_leave_rows_that_describe_the_payloads"]
fn child_race_keys() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let dir = std::env::var("CACHE_DIR").unwrap();
    let proc_id: i64 = std::env::var("PROC_ID").unwrap().parse().unwrap();
    let cache =
        Cache::open_with(CacheConfig::new(dir).with_commit_interval(Duration::from_millis(20)))
            .unwrap();
    for round in 0..30i64 {
        for k in 0..3i64 {
            let p = params!(raced = k);
            match (round + proc_id + k) % 3 {
                0 => cache.put(&Serde((proc_id, round)), &p),
                1 => cache.put(&vec![proc_id as u8; 10 + round as usize], &p),
                _ => cache.put(
                    &cacheness::deps::ndarray::Array1::from(vec![proc_id as f64, round as f64]),
                    &p,
                ),
            }
            .unwrap();
        }
    }
    cache.close().unwrap();
    println!("DONE");
}

#[test]
fn four_processes_racing_on_keys_leave_rows_that_describe_the_payloads() {
    for _ in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        run_children("child_race_keys", 4, dir.path());
        let cache = common::open_quiet(dir.path());
        cache.flush().unwrap();
        let report = cache.verify().unwrap();
        assert!(report.is_clean(), "{:?}", report.problems);
        let served = (0..3i64)
            .filter(|k| cache.exists(&params!(raced = *k)).unwrap())
            .count();
        assert_eq!(cache.list_entries().unwrap().len(), served);
        assert_eq!(common::delta_rows(dir.path()).len(), served);
    }
}
