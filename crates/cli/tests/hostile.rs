//! What a careless or hostile user can try through the real `cacheness` binary, and what it
//! must answer: a clean error, or the right behaviour, and a cache that is as it was
//! (docs/SECURITY.md). One test per reproduction of issue 20.

mod common;

use std::path::Path;
use std::process::Output;

use cacheness_test_support::Tmpfs;
use common::{assert_exit, assert_fails_saying, cacheness, run_in, stderr, stdout};

/// Put the bytes `content` under `-p k=<k>` and return the key.
fn put_bytes(dir: &Path, k: &str, content: &[u8], extra: &[&str]) -> String {
    let file = dir.parent().unwrap().join(format!("input-{k}.bin"));
    std::fs::write(&file, content).unwrap();
    let p = format!("k={k}");
    let mut args = vec!["put", file.to_str().unwrap(), "-p", &p];
    args.extend_from_slice(extra);
    let out = run_in(dir, &args);
    assert_exit(&out, 0);
    stdout(&out).trim().to_string()
}

#[test]
fn sql_cannot_overwrite_the_signing_key_or_read_outside_files() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("cache");
    put_bytes(&dir, "1", b"precious", &[]);
    let key_file = dir.join("signing.key");
    let before = std::fs::read(&key_file).unwrap();
    let copy = format!(
        "COPY (SELECT '{}' AS k) TO '{}' STORED AS CSV OPTIONS ('format.has_header' 'false')",
        "ab".repeat(32),
        key_file.display()
    );
    let out = run_in(&dir, &["sql", &copy]);
    assert_fails_saying(&out, 1, "only reads");
    assert_eq!(std::fs::read(&key_file).unwrap(), before);
    let out = run_in(
        &dir,
        &[
            "sql",
            "CREATE EXTERNAL TABLE pw STORED AS CSV LOCATION '/etc/passwd'",
        ],
    );
    assert_fails_saying(&out, 1, "only reads");
    // The entry is intact and still served.
    let out = run_in(&dir, &["get", "-p", "k=1"]);
    assert_exit(&out, 0);
    assert_eq!(out.stdout, b"precious");
}

#[test]
fn stored_control_characters_reach_the_terminal_escaped() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("cache");
    let hostile = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m";
    put_bytes(&dir, "1", b"x", &["-d", hostile]);
    for format in ["table", "csv"] {
        let out = run_in(
            &dir,
            &[
                "sql",
                "--format",
                format,
                "SELECT description FROM cache_entries",
            ],
        );
        assert_exit(&out, 0);
        let text = stdout(&out);
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{format}: {text:?}"
        );
        assert!(text.contains("\\u{1b}]0;pwned\\u{7}"), "{format}: {text}");
    }
    // JSON escapes by its own rules and keeps the text exact.
    let out = run_in(
        &dir,
        &[
            "sql",
            "--format",
            "json",
            "SELECT description FROM cache_entries",
        ],
    );
    assert_exit(&out, 0);
    let row: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(row["description"], hostile);
}

/// A `.npy` file: a version 1.0 header for `descr` and `shape` (a Python tuple), then `data`.
fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// Put `bytes` as a `.npy` file under `-p k=<k>`.
fn put_npy(dir: &Path, k: &str, bytes: &[u8]) -> Output {
    let file = dir.parent().unwrap().join(format!("array-{k}.npy"));
    std::fs::write(&file, bytes).unwrap();
    run_in(
        dir,
        &["put", file.to_str().unwrap(), "-p", &format!("k={k}")],
    )
}

#[test]
fn npy_headers_cannot_claim_more_than_the_file_holds() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("cache");
    // 208 bytes claiming 2**40 float64s (8 TiB): refused before anything is allocated.
    let out = put_npy(&dir, "huge", &npy("<f8", "(1099511627776,)", &[0; 80]));
    assert_fails_saying(&out, 1, "needs 8796093022208 bytes");
    // A shape whose byte count overflows.
    let out = put_npy(
        &dir,
        "overflow",
        &npy("<f8", "(4611686018427387904, 4)", &[]),
    );
    assert_fails_saying(&out, 1, "address");
    // No elements, but a product of dimensions that does not fit: no division by zero.
    let out = put_npy(&dir, "empty", &npy("<f8", "(0, 4611686018427387904)", &[]));
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{:?}: {}",
        out.status,
        stderr(&out)
    );
    // Too few bytes for an honest shape.
    let out = put_npy(&dir, "short", &npy("<i4", "(10,)", &[0; 8]));
    assert_fails_saying(&out, 1, "the file has 8");
    // 40 dimensions: more than Blosc2 holds, said as such.
    let shape = format!("({})", "1, ".repeat(40));
    let out = put_npy(&dir, "deep", &npy("<f8", &shape, &[0; 8]));
    assert_fails_saying(&out, 1, "at most 8 dimensions");
    // An honest array still goes in and comes out.
    let data: Vec<u8> = (0..6).flat_map(|i: i32| i.to_le_bytes()).collect();
    let out = put_npy(&dir, "ok", &npy("<i4", "(2, 3)", &data));
    assert_exit(&out, 0);
    let back = base.path().join("back.npy");
    let out = run_in(&dir, &["get", "-p", "k=ok", "-o", back.to_str().unwrap()]);
    assert_exit(&out, 0);
    assert!(std::fs::read(&back).unwrap().ends_with(&data));
}

#[test]
fn ttls_are_range_checked_and_zero_means_never() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("cache");
    let file = base.path().join("v.bin");
    std::fs::write(&file, b"v").unwrap();
    let f = file.to_str().unwrap();
    let out = run_in(&dir, &["put", f, "-p", "k=1", "--ttl", "96000000d"]);
    assert_fails_saying(&out, 1, "longest TTL");
    assert!(stdout(&out).is_empty());
    let out = run_in(&dir, &["put", f, "-p", "k=2", "--ttl", "0s"]);
    assert_exit(&out, 0);
    let out = run_in(&dir, &["ls"]);
    let rows: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["expires_at"], serde_json::Value::Null);
    assert_exit(&run_in(&dir, &["get", "-p", "k=2"]), 0);
}

#[test]
fn outputs_inside_the_cache_are_refused() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("cache");
    put_bytes(&dir, "1", b"attacker chosen", &[]);
    let key_file = dir.join("signing.key");
    let before = std::fs::read(&key_file).unwrap();
    let out = run_in(
        &dir,
        &["get", "-p", "k=1", "-o", key_file.to_str().unwrap()],
    );
    assert_fails_saying(&out, 1, "inside the cache directory");
    // Through a symbolic link from outside, and into a shard, and by SQL's --output.
    let link = base.path().join("innocent");
    std::os::unix::fs::symlink(&dir, &link).unwrap();
    let via_link = link.join("signing.key");
    let out = run_in(
        &dir,
        &["get", "-p", "k=1", "-o", via_link.to_str().unwrap()],
    );
    assert_exit(&out, 1);
    let new_file = dir.join("blobs").join("00").join("x.bin");
    let out = run_in(
        &dir,
        &["get", "-p", "k=1", "-o", new_file.to_str().unwrap()],
    );
    assert_exit(&out, 1);
    assert!(!new_file.exists());
    let out = run_in(
        &dir,
        &[
            "sql",
            "SELECT 1",
            "--format",
            "csv",
            "-o",
            key_file.to_str().unwrap(),
        ],
    );
    assert_exit(&out, 1);
    assert_eq!(std::fs::read(&key_file).unwrap(), before);
    // Outside the cache, -o works.
    let fine = base.path().join("value.bin");
    assert_exit(
        &run_in(&dir, &["get", "-p", "k=1", "-o", fine.to_str().unwrap()]),
        0,
    );
    assert_eq!(std::fs::read(&fine).unwrap(), b"attacker chosen");
}

#[test]
fn a_lost_signing_key_is_an_error_not_a_new_key() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("cache");
    put_bytes(&dir, "1", b"kept", &[]);
    let key_file = dir.join("signing.key");
    let saved = base.path().join("saved.key");
    std::fs::rename(&key_file, &saved).unwrap();
    let out = run_in(&dir, &["get", "-p", "k=1"]);
    assert_exit(&out, 1);
    let e = stderr(&out);
    assert!(e.contains("key file is missing"), "{e}");
    assert!(e.contains("Restore the key file"), "{e}");
    assert!(!key_file.exists(), "no new key was minted");
    // Restored, the entry is served as before: nothing was removed meanwhile.
    std::fs::rename(&saved, &key_file).unwrap();
    let out = run_in(&dir, &["get", "-p", "k=1"]);
    assert_exit(&out, 0);
    assert_eq!(out.stdout, b"kept");
    // A cache without entries still gets a key of its own.
    let fresh = base.path().join("fresh");
    put_bytes(&fresh, "1", b"x", &[]);
    assert!(fresh.join("signing.key").exists());
}

#[test]
fn cache_directories_that_cannot_be_one_fail_before_any_write() {
    use std::os::unix::ffi::OsStrExt;
    let base = tempfile::tempdir().unwrap();
    let input = base.path().join("v.bin");
    std::fs::write(&input, b"v").unwrap();
    let not_utf8 = base
        .path()
        .join(std::ffi::OsStr::from_bytes(b"cache-\xff\xfe"));
    let out = cacheness()
        .args(["put", input.to_str().unwrap(), "-p", "k=1", "--dir"])
        .arg(&not_utf8)
        .output()
        .unwrap();
    assert_fails_saying(&out, 1, "not valid UTF-8");
    assert!(!not_utf8.exists(), "nothing was written");
    let file = base.path().join("a-file");
    std::fs::write(&file, b"").unwrap();
    let out = run_in(&file, &["put", input.to_str().unwrap(), "-p", "k=1"]);
    assert_fails_saying(&out, 1, "is not a directory");
}

/// Run `cacheness <args> --dir <dir>`, read `keep` bytes of its output, then close the pipe.
fn run_and_close_early(dir: &Path, args: &[&str], keep: usize) -> Output {
    use std::io::Read;
    let mut child = cacheness()
        .args(args)
        .arg("--dir")
        .arg(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = vec![0; keep];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The read end is dropped here: the rest of the output has nowhere to go.
    child.wait_with_output().unwrap()
}

#[test]
fn a_reader_that_leaves_early_is_not_an_error() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("cache");
    put_bytes(&dir, "big", &vec![b'x'; 4 << 20], &[]);
    for args in [
        &[
            "sql",
            "--max-rows",
            "0",
            "SELECT * FROM generate_series(1, 300000)",
        ][..],
        &[
            "sql",
            "--format",
            "csv",
            "SELECT * FROM generate_series(1, 300000)",
        ],
        &["get", "-p", "k=big"],
    ] {
        let out = run_and_close_early(&dir, args, 10);
        assert_exit(&out, 0);
        assert_eq!(stderr(&out), "", "{args:?}");
    }
}

#[test]
fn sql_runs_within_a_memory_limit_and_tables_show_a_bounded_number_of_rows() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("cache");
    // A 10^8-row cross join: an error naming the limit, not 7 GB and an abort.
    let out = cacheness()
        .args([
            "sql",
            "SELECT * FROM generate_series(1, 10000) a, generate_series(1, 10000) b",
            "--format",
            "csv",
            "--dir",
        ])
        .arg(&dir)
        .env("CACHENESS_SQL_MEMORY_LIMIT_BYTES", "64MiB")
        .output()
        .unwrap();
    assert_exit(&out, 1);
    let e = stderr(&out);
    assert!(
        e.contains("needs more memory than the 67108864 bytes"),
        "{e}"
    );
    // An aggregate of a large join needs little memory, and runs.
    let out = run_in(
        &dir,
        &[
            "sql",
            "SELECT count(*) AS n FROM generate_series(1, 10000) a, generate_series(1, 1000) b",
            "--format",
            "csv",
        ],
    );
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "n\n10000000\n");
    // The table format shows the first rows and says how many it left out.
    let out = run_in(&dir, &["sql", "SELECT * FROM generate_series(1, 5000)"]);
    assert_exit(&out, 0);
    let shown = stdout(&out).lines().filter(|l| l.starts_with("| ")).count();
    assert_eq!(shown, 1 + 1000, "a header and 1,000 rows");
    assert!(
        stderr(&out).contains("showing the first 1000 of 5000 rows"),
        "{}",
        stderr(&out)
    );
    let out = run_in(
        &dir,
        &[
            "sql",
            "--max-rows",
            "0",
            "SELECT * FROM generate_series(1, 5000)",
        ],
    );
    assert_eq!(
        stdout(&out).lines().filter(|l| l.starts_with("| ")).count(),
        5001
    );
}

#[test]
fn a_table_with_duplicate_column_names_is_refused() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("cache");
    let csv = base.path().join("dup.csv");
    std::fs::write(&csv, "a,b,a\n1,2,3\n").unwrap();
    let out = run_in(&dir, &["put", csv.to_str().unwrap(), "-p", "k=1"]);
    assert_fails_saying(&out, 1, "column \"a\" appears more than once");
    let out = run_in(&dir, &["ls"]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "");
}

#[test]
fn a_symlinked_shard_cannot_lead_writes_or_removals_outside_the_root() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("cache");
    let outside = base.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    // Over 64 KiB, incompressible: a payload file in the shard, not a record of the
    // small-entry store.
    let key = put_bytes(&dir, "1", &cacheness_test_support::noise(70_000, 7), &[]);
    let shard = dir.join("blobs").join(&key[..2]);
    let payload_name = format!("{key}.cnobj");
    // The attacker's directory holds a file named like the payload, which a repair of the
    // shard would judge and remove.
    std::fs::rename(shard.join(&payload_name), outside.join(&payload_name)).unwrap();
    std::fs::write(outside.join(format!(".{key}.abc.tmp")), b"theirs").unwrap();
    std::fs::remove_dir_all(&shard).unwrap();
    std::os::unix::fs::symlink(&outside, &shard).unwrap();
    let before: Vec<_> = std::fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();

    let out = run_in(
        &dir,
        &[
            "put",
            base.path().join("input-1.bin").to_str().unwrap(),
            "-p",
            "k=1",
        ],
    );
    assert_exit(&out, 1);
    let e = stderr(&out);
    assert!(
        e.contains(&format!("blobs/{}", &key[..2])) && e.contains("symbolic link"),
        "{e}"
    );
    let out = run_in(&dir, &["verify"]);
    assert_exit(&out, 4);
    let problems: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        problems.iter().any(
            |p| p["kind"] == "foreign_directory" && p["path"] == format!("blobs/{}", &key[..2])
        ),
        "{problems:?}"
    );
    let out = run_in(&dir, &["repair"]);
    assert_exit(&out, 0);
    let summary: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let shard_path = format!("blobs/{}", &key[..2]);
    assert!(
        summary["left_alone"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == shard_path.as_str()),
        "{summary}"
    );
    let after: Vec<_> = std::fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        before, after,
        "nothing outside the root was written or removed"
    );
    assert!(
        !std::fs::read(outside.join(&payload_name))
            .unwrap()
            .is_empty()
    );
    // Other shards work as before.
    put_bytes(&dir, "2", b"second", &[]);
    let out = run_in(&dir, &["get", "-p", "k=2"]);
    assert_exit(&out, 0);
    assert_eq!(out.stdout, b"second");
    // Links elsewhere in the cache are reported too.
    std::fs::create_dir_all(dir.join("tables")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("tables").join("evil")).unwrap();
    let out = run_in(&dir, &["verify"]);
    assert!(
        stdout(&out).contains("\"path\":\"tables/evil\""),
        "{}",
        stdout(&out)
    );
}

#[test]
fn malformed_names_and_keys_get_messages_that_say_what_is_wrong() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("cache");
    let input = base.path().join("v.bin");
    std::fs::write(&input, b"v").unwrap();
    // Parameter names the key spec refuses are usage errors (exit 2), for every command.
    for name in ["path", "_hidden", "has space", "format"] {
        let p = format!("{name}=1");
        let out = run_in(&dir, &["put", input.to_str().unwrap(), "-p", &p]);
        assert_fails_saying(&out, 2, "invalid key parameter name");
        assert_exit(&run_in(&dir, &["get", "-p", &p]), 2);
    }
    // A key file of 64 characters that are not all hex digits says which one is not.
    put_bytes(&dir, "1", b"x", &[]);
    std::fs::write(dir.join("signing.key"), format!("{}z\n", "a".repeat(63))).unwrap();
    let out = run_in(&dir, &["get", "-p", "k=1"]);
    assert_fails_saying(&out, 1, "'z' (at byte 63) is not a hex digit");
}

/// A full disk during the catalog commit of `cacheness put`: the put is acknowledged (its key
/// printed, exit 0) because its payload and journal record are written, the failed commit is
/// one warning and no panic, `ls` lists it, and the next process with space commits it.
#[test]
fn a_commit_on_a_full_disk_does_not_fail_an_acknowledged_put() {
    let Some(fs) = Tmpfs::mount("3m") else {
        eprintln!("skipped: cannot mount a tmpfs here");
        return;
    };
    let dir = fs.path().join("cache");
    let inputs = tempfile::tempdir().unwrap();
    let input = inputs.path().join("tiny.txt");
    std::fs::write(&input, b"tiny").unwrap();
    let mut acknowledged_with_failed_commit = false;
    for left_kib in [4u64, 8, 12, 16, 20, 24] {
        let _ = std::fs::remove_dir_all(&dir);
        assert_exit(
            &run_in(&dir, &["put", input.to_str().unwrap(), "-p", "k=0"]),
            0,
        );
        let filler = fs.path().join("filler");
        fs.fill_leaving(&filler, left_kib * 1024);
        let out = run_in(&dir, &["put", input.to_str().unwrap(), "-p", "k=1"]);
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{left_kib} KiB: {err}");
        assert!(
            err.lines().count() <= 1,
            "{left_kib} KiB: one message at most: {err}"
        );
        let listed = run_in(&dir, &["ls"]);
        let get = run_in(&dir, &["get", "-p", "k=1"]);
        if out.status.success() {
            assert_eq!(stdout(&out).trim().len(), 16, "the key is printed");
            assert_eq!(get.stdout, b"tiny", "{left_kib} KiB");
            assert_exit(&listed, 0);
            assert_eq!(stdout(&listed).lines().count(), 2, "{left_kib} KiB");
            acknowledged_with_failed_commit |= err.contains("catalog commit failed");
        } else {
            assert!(err.contains("No space left"), "{left_kib} KiB: {err}");
            assert_exit(&get, 3);
        }
        std::fs::remove_file(&filler).unwrap();
        // With space again, the catalog catches up and agrees with the payloads.
        assert_exit(&run_in(&dir, &["flush"]), 0);
        let expected = if out.status.success() { 2 } else { 1 };
        assert_eq!(stdout(&run_in(&dir, &["ls"])).lines().count(), expected);
        assert_exit(&run_in(&dir, &["verify"]), 0);
    }
    assert!(
        acknowledged_with_failed_commit,
        "some run failed only the commit"
    );
}

#[test]
fn a_file_in_place_of_the_catalog_leaves_gets_working() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("cache");
    put_bytes(&dir, "1", b"still here", &[]);
    assert_exit(&run_in(&dir, &["flush"]), 0);
    let aside = base.path().join("catalog-aside");
    std::fs::rename(dir.join("catalog"), &aside).unwrap();
    std::fs::write(dir.join("catalog"), b"not a directory").unwrap();
    // Gets do not need the catalog.
    let out = run_in(&dir, &["get", "-p", "k=1"]);
    assert_exit(&out, 0);
    assert_eq!(out.stdout, b"still here");
    // What needs it fails, naming it and saying what to do; a put is undone.
    for args in [&["ls"][..], &["sql", "SELECT 1"], &["repair"]] {
        let out = run_in(&dir, args);
        assert_exit(&out, 1);
        let e = stderr(&out);
        assert!(
            e.contains("catalog") && e.contains("unavailable") && e.contains("move it aside"),
            "{args:?}: {e}"
        );
    }
    let input = base.path().join("v2.bin");
    std::fs::write(&input, b"v2").unwrap();
    let out = run_in(&dir, &["put", input.to_str().unwrap(), "-p", "k=2"]);
    assert_fails_saying(&out, 1, "undone");
    assert_exit(&run_in(&dir, &["get", "-p", "k=2"]), 3);
    // Moved aside, repair rebuilds the catalog from the payloads.
    std::fs::remove_file(dir.join("catalog")).unwrap();
    let out = run_in(&dir, &["repair"]);
    assert_exit(&out, 0);
    let out = run_in(&dir, &["ls"]);
    assert_eq!(stdout(&out).lines().count(), 1, "{}", stdout(&out));
}

/// Found by the `parquet_import` fuzz target: a 29-byte file whose footer declares a list of
/// billions of elements made parquet-rs reserve 154 GB and abort the process.
#[test]
fn a_parquet_footer_cannot_claim_more_than_the_file_holds() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("cache");
    let file = base.path().join("claims.parquet");
    std::fs::write(
        &file,
        [
            0xff, 0x1c, 0x1c, 0x1c, 0x1c, 0x28, 0x96, 0x96, 0x96, 0x01, 0x2d, 0x00, 0x00, 0x24,
            0xfc, 0xdc, 0xb9, 0x9b, 0xff, 0x05, 0x41, 0x14, 0x00, 0x00, 0x00, 0x50, 0x41, 0x52,
            0x31,
        ],
    )
    .unwrap();
    let out = run_in(&dir, &["put", file.to_str().unwrap(), "-p", "k=1"]);
    assert_fails_saying(&out, 1, "the Parquet footer is malformed");
}

/// Run `cmd` to its end: its exit code and its peak resident memory in bytes (`wait4`'s
/// rusage, of this child alone).
fn peak_memory(cmd: &mut std::process::Command) -> (Option<i32>, u64) {
    use std::os::unix::process::ExitStatusExt;
    // Reaped by wait4 below, which clippy cannot see.
    #[allow(clippy::zombie_processes)]
    let child = cmd.stdout(std::process::Stdio::null()).spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for the child just spawned.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid);
    let code = std::process::ExitStatus::from_raw(status).code();
    (code, u64::try_from(usage.ru_maxrss).unwrap() * 1024)
}

/// Whether two files hold the same bytes, read in parts.
fn same_file(a: &Path, b: &Path) -> bool {
    use std::io::Read;
    let (mut a, mut b) = (
        std::fs::File::open(a).unwrap(),
        std::fs::File::open(b).unwrap(),
    );
    let (mut x, mut y) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = a.read(&mut x).unwrap();
        let mut m = 0;
        while m < n {
            match b.read(&mut y[m..n]).unwrap() {
                0 => return false,
                k => m += k,
            }
        }
        if x[..n] != y[..n] {
            return false;
        }
        if n == 0 {
            return b.read(&mut y).unwrap() == 0;
        }
    }
}

#[test]
fn large_values_are_put_and_read_in_bounded_memory() {
    use std::io::Write;
    const LEN: usize = 400 << 20;
    let tmp = tempfile::tempdir().unwrap();
    let (dir, input, output) = (
        tmp.path().join("cache"),
        tmp.path().join("value.bin"),
        tmp.path().join("out.bin"),
    );
    // Incompressible bytes, written in parts.
    let mut file = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..LEN / 8 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        file.write_all(&x.to_le_bytes()).unwrap();
    }
    file.flush().unwrap();
    drop(file);

    let (code, put_peak) = peak_memory(
        common::cacheness()
            .arg("--dir")
            .arg(&dir)
            .args(["put", "-p", "k=1"])
            .arg(&input),
    );
    assert_eq!(code, Some(0));
    let (code, get_peak) = peak_memory(
        common::cacheness()
            .arg("--dir")
            .arg(&dir)
            .args(["get", "-p", "k=1", "-o"])
            .arg(&output),
    );
    assert_eq!(code, Some(0));
    assert!(same_file(&input, &output), "the value read back differs");
    // Before: the whole value (and its compressed copy) in memory, over 800 MB.
    let mb = |b: u64| b >> 20;
    assert!(
        put_peak < (LEN as u64) / 2,
        "put peaked at {} MiB",
        mb(put_peak)
    );
    assert!(
        get_peak < (LEN as u64) / 4,
        "get peaked at {} MiB",
        mb(get_peak)
    );
    // And to standard output.
    let (code, _) = peak_memory(
        common::cacheness()
            .arg("--dir")
            .arg(&dir)
            .args(["get", "-p", "k=1"]),
    );
    assert_eq!(code, Some(0));
}

#[test]
fn tables_are_imported_in_memory_bounded_by_their_width_not_their_length() {
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");
    let put = |path: &Path, k: &str| {
        peak_memory(
            common::cacheness()
                .arg("--dir")
                .arg(&dir)
                .args(["put", "-p", &format!("k={k}")])
                .arg(path),
        )
    };

    // Long: 4.5 million rows (110 MB). Before: read whole, decoded whole and encoded whole
    // in memory, 320 MB.
    let long = tmp.path().join("long.csv");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&long).unwrap());
    writeln!(file, "a,b,c,d").unwrap();
    const ROWS: u64 = 4_500_000;
    for r in 0..ROWS {
        writeln!(
            file,
            "{r},{},{},{}",
            r * 7 % 1_000_003,
            r % 977,
            r * 13 % 100_000
        )
        .unwrap();
    }
    file.flush().unwrap();
    drop(file);
    let (code, peak) = put(&long, "long");
    assert_eq!(code, Some(0));
    assert!(peak < 200 << 20, "a long CSV peaked at {} MiB", peak >> 20);
    let out = common::run_in(
        &dir,
        &[
            "sql",
            "--format",
            "csv",
            "SELECT count(*) AS n, sum(c) AS s FROM cached_table('k', 'long')",
        ],
    );
    common::assert_exit(&out, 0);
    let sum: u64 = (0..ROWS).map(|r| r % 977).sum();
    assert_eq!(common::stdout(&out), format!("n,s\n{ROWS},{sum}\n"));

    // Wide: 10,000 columns of 100 rows (4 MB). Before: 1 GB, a dictionary encoder per column.
    let wide = tmp.path().join("wide.csv");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&wide).unwrap());
    let header: Vec<String> = (0..10_000).map(|c| format!("c{c}")).collect();
    writeln!(file, "{}", header.join(",")).unwrap();
    for r in 0..100u32 {
        let row: Vec<String> = (0..10_000u32)
            .map(|c| ((r * c) % 1000).to_string())
            .collect();
        writeln!(file, "{}", row.join(",")).unwrap();
    }
    file.flush().unwrap();
    drop(file);
    let (code, peak) = put(&wide, "wide");
    assert_eq!(code, Some(0));
    assert!(peak < 600 << 20, "a wide CSV peaked at {} MiB", peak >> 20);

    // Wider than the importer takes: refused, naming the limit, and nothing is stored.
    let widest = tmp.path().join("widest.csv");
    let columns = cacheness_cli::input::MAX_COLUMNS + 1;
    let header: Vec<String> = (0..columns).map(|c| format!("c{c}")).collect();
    let row = vec!["1"; columns];
    std::fs::write(
        &widest,
        format!("{}\n{}\n", header.join(","), row.join(",")),
    )
    .unwrap();
    let out = common::run_in(&dir, &["put", "-p", "k=widest", widest.to_str().unwrap()]);
    common::assert_fails_saying(&out, 1, &format!("the table has {columns} columns"));
    assert_eq!(common::ls(&dir).len(), 2);
}
