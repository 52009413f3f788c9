//! A full disk: a put fails with a clear error and leaves no partial entry, earlier entries stay
//! readable, and puts work again once space is freed. Runs on a real size-limited file system
//! (a 4 MiB tmpfs) when the machine lets the test mount one (root with CAP_SYS_ADMIN); the
//! CLI test `cli/tests/cli.rs::a_put_past_the_file_size_limit_fails_cleanly` injects the same
//! failure everywhere through the file-size limit.

mod common;

use std::path::Path;
use std::process::Command;

use cacheness::deps::ndarray::Array1;
use cacheness::{Serde, params};

/// A mounted tmpfs, unmounted on drop.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .is_ok_and(|o| o.status.success());
        ok.then_some(Tmpfs(dir))
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

fn temp_files(root: &Path) -> Vec<String> {
    common::payload_files(root)
        .into_iter()
        .filter_map(|p| p.file_name()?.to_str().map(str::to_string))
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

#[test]
fn a_put_on_a_full_disk_fails_cleanly_and_loses_nothing() {
    let Some(fs) = Tmpfs::mount("4m") else {
        eprintln!("skipped: cannot mount a tmpfs here (the CLI test covers the failure)");
        return;
    };
    let root = fs.path().join("cache");
    let cache = common::open_quiet(&root);
    let small: Vec<_> = (0..20)
        .map(|i| (params!(i = i), Serde(format!("value {i}"))))
        .collect();
    for (p, v) in &small {
        cache.put(v, p).unwrap();
    }
    cache.flush().unwrap();
    // The same key first holds an object; the failed put would replace it with an array.
    let big = params!(big = true);
    cache.put(&Serde(1), &big).unwrap();
    // Incompressible, larger than the whole file system.
    let noise = cacheness_noise(1_000_000);
    let err = cache.put(&noise, &big).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("No space left on device"), "{msg}");
    assert!(msg.contains("blobs/"), "names the payload: {msg}");
    assert!(temp_files(&root).is_empty(), "no partial file is left");
    assert_eq!(
        cache.get::<Serde<i32>>(&big).unwrap(),
        Some(Serde(1)),
        "the key's previous entry (another format) is intact"
    );
    for (p, v) in &small {
        assert_eq!(cache.get::<Serde<String>>(p).unwrap().as_ref(), Some(v));
    }
    assert!(cache.verify().unwrap().is_clean());
    // Space freed: puts work again.
    cache.invalidate(&big).unwrap();
    let fits = Array1::from(vec![0.5f64; 1000]);
    cache.put(&fits, &big).unwrap();
    assert_eq!(cache.get::<Array1<f64>>(&big).unwrap(), Some(fits));
    cache.flush().unwrap();
    assert_eq!(cache.list_entries().unwrap().len(), 21);
}

/// Pseudo-random f64s Blosc2 cannot compress.
fn cacheness_noise(n: usize) -> Array1<f64> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    Array1::from_iter((0..n).map(|_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        f64::from_bits((x >> 12) | 0x3ff0_0000_0000_0000)
    }))
}
