//! Helpers that the test suites of several Cacheness crates share, so that no test harness is
//! written twice or reached across crates by `#[path]`.
//!
//! - [`Tmpfs`]: a size-limited file system mounted for one test, to fill the disk at will.
//! - [`s3::S3`]: an S3-compatible server (moto) on loopback, one per test.
//! - [`rerun_test`]: the test binary run again as a child process running one ignored test,
//!   for the tests that start, race and kill processes on one cache; [`KillOnDrop`] to keep
//!   such a child from outliving its test.
//! - [`xorshift`], [`noise`]: pseudo-random streams and bytes no codec compresses.

#![warn(missing_docs)]

use std::path::Path;
use std::process::{Child, Command};

pub mod s3;

/// A xorshift64 stream from `seed` (not 0): cheap, reproducible pseudo-random numbers.
pub fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

/// `n` pseudo-random bytes from `seed` (not 0), which no codec compresses.
pub fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut next = xorshift(seed);
    (0..n).map(|_| next() as u8).collect()
}

/// A child process that is killed when the test ends, however it ends: a child that waits to
/// be killed would otherwise outlive a failed assertion.
pub struct KillOnDrop(pub Child);

impl std::ops::Deref for KillOnDrop {
    type Target = Child;

    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // Already gone when the test killed it: both calls then fail harmlessly.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// This test binary run again as a child process that runs only the ignored test `test` of
/// the module `module` (its `module_path!()`), with `CACHENESS_TEST_CHILD` set. Standard
/// output is piped, standard error inherited.
pub fn rerun_test(module: &str, test: &str) -> Command {
    // Test names are module paths without the crate's own name.
    let name = match module.split_once("::") {
        Some((_, inner)) => format!("{inner}::{test}"),
        None => test.to_string(),
    };
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut cmd = Command::new(exe);
    cmd.args([
        "--exact",
        &name,
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("CACHENESS_TEST_CHILD", "1")
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::inherit());
    cmd
}

/// A tmpfs mounted on a fresh temporary directory, unmounted on drop: a real file system of
/// a known size, for tests of a full disk.
#[derive(Debug)]
pub struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    /// Mount a tmpfs of `size` (`4m`, `512k`); `None` where the machine does not allow it
    /// (mounting needs root with `CAP_SYS_ADMIN`), so the test can say so and skip.
    pub fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .is_ok_and(|o| o.status.success());
        ok.then_some(Tmpfs(dir))
    }

    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// Fill it with the file `filler` until about `left` bytes stay free (tmpfs counts whole
    /// pages, so the space a write gets is rounded to 4 KiB).
    pub fn fill_leaving(&self, filler: &Path, left: u64) {
        use std::io::Write;
        let Ok(file) = std::fs::File::create(filler) else {
            return;
        };
        let mut w = std::io::BufWriter::new(file);
        let mut remaining = self.available().saturating_sub(left);
        let chunk = vec![0u8; 1 << 16];
        while remaining > 0 {
            let n = remaining.min(chunk.len() as u64) as usize;
            if w.write_all(&chunk[..n]).is_err() {
                break;
            }
            remaining -= n as u64;
        }
        let _ = w.flush();
    }

    /// The bytes free (0 if the file system cannot tell).
    pub fn available(&self) -> u64 {
        fs4::available_space(self.path()).unwrap_or(0)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}
