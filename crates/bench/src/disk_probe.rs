//! The file-create probe: what creating a small file costs on the scratch disk right now,
//! taken just before each workload, so that a reader can tell a quiet period of the disk from
//! a slow one (a 60-byte file create has cost 20 µs in one minute and 1 ms in the next here).

use std::path::Path;

use crate::timing::{Samples, round};

/// How many files a probe creates.
const FILES: usize = 200;
/// The size of each, as a small cache entry's payload.
const BYTES: [u8; 60] = [0x5a; 60];

/// Create [`FILES`] new 60-byte files in a directory of their own under `dir` (create, write,
/// close, as a file-per-entry cache does), then remove them; the median and p99 in µs. `None`
/// if the files could not be made (the workload then reports its own error).
pub fn file_create(dir: &Path) -> Option<serde_json::Value> {
    let probe = tempfile::Builder::new()
        .prefix("file-create-probe-")
        .tempdir_in(dir)
        .ok()?;
    let mut failed = false;
    let samples = Samples::collect(FILES, |i| {
        failed |= std::fs::write(probe.path().join(format!("{i}")), BYTES).is_err();
    });
    (!failed).then(|| {
        serde_json::json!({
            "p50_us": round(samples.p50()),
            "p99_us": round(samples.p99()),
            "files": FILES,
            "bytes": BYTES.len(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_times_its_files_and_leaves_none() {
        let dir = tempfile::tempdir().unwrap();
        let probe = file_create(dir.path()).unwrap();
        assert!(probe["p50_us"].as_f64().unwrap() > 0.0);
        assert!(probe["p99_us"].as_f64().unwrap() >= probe["p50_us"].as_f64().unwrap());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_directory_that_cannot_hold_files_gives_no_figure() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        assert!(file_create(&file).is_none());
    }
}
