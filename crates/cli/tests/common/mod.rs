//! Helpers shared by the end-to-end tests of the `cacheness` binary.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// The binary under test.
pub fn cacheness() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cacheness"))
}

/// Run `cacheness <args> --dir <dir>`.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    cacheness()
        .args(args)
        .arg("--dir")
        .arg(dir)
        .output()
        .unwrap()
}

/// The entries `cacheness ls` prints, parsed.
pub fn ls(dir: &Path) -> Vec<serde_json::Value> {
    let out = run_in(dir, &["ls"]);
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// What a command printed on standard output.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What a command printed on standard error.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Assert that `out` exited with `code`, showing its output otherwise.
#[track_caller]
pub fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
}

/// Assert that `out` exited with `code` and that its standard error says `needle`.
#[track_caller]
pub fn assert_fails_saying(out: &Output, code: i32, needle: &str) {
    assert_exit(out, code);
    assert!(stderr(out).contains(needle), "{}", stderr(out));
}
