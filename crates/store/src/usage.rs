//! The cache's usage counters, shared by every process on this machine: payload bytes and
//! entries (so a put knows in nanoseconds whether the size limit is passed) and the eviction
//! totals that `stats` reports.
//!
//! They live in `<root>/usage.counters`, a 4 KiB file mapped into each process
//! (`MAP_SHARED`): the counters are 64-bit atomics at fixed, aligned offsets, so processes on
//! one machine update them without locks or system calls. The file is derived state: the byte
//! and entry counts are *estimates* (a put that replaces a payload of its own format adds its
//! size without knowing the old one; a crash between a write and the count loses a delta), and
//! every eviction pass recalibrates them from a walk of `blobs/`. A file that is not ours (bad
//! magic) is reset to zero and recalibrated; nothing depends on it but timing.
//!
//! Layout (native byte order; the file is never shared between machines): see the `OFF_*`
//! constants.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use memmap2::MmapRaw;

use crate::error::{Error, Result};

/// The file's name under the cache root.
pub const FILE_NAME: &str = "usage.counters";
const LEN: u64 = 4096;
const MAGIC: u64 = u64::from_le_bytes(*b"CNUSAGE1");

const OFF_MAGIC: usize = 0;
const OFF_BYTES: usize = 8;
const OFF_ENTRIES: usize = 16;
/// Non-zero once a pass has walked `blobs/` (before that the counts are unknown).
const OFF_CALIBRATED: usize = 24;
const OFF_EVICTED_FOR_SIZE: usize = 32;
const OFF_EVICTED_FOR_ENTRIES: usize = 40;
const OFF_EVICTED_BYTES: usize = 48;
const OFF_PASSES: usize = 56;
const OFF_LAST_PASS_AT: usize = 64;

/// The shared counters of one cache (see the module doc).
#[derive(Debug)]
pub struct Usage {
    map: MmapRaw,
    path: PathBuf,
}

/// Eviction totals since the counters file was created, all processes together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EvictionTotals {
    /// Entries evicted because the payload bytes passed `max_size_bytes`.
    pub for_size: u64,
    /// Entries evicted because the entry count passed `max_entries`.
    pub for_entries: u64,
    /// Payload bytes those evictions freed.
    pub bytes: u64,
    /// Eviction passes run (each walks `blobs/`).
    pub passes: u64,
    /// When the last pass ran (µs since the epoch; 0: never).
    pub last_pass_at: i64,
}

impl Usage {
    /// Map (creating if needed) the counters file of the cache at `root`.
    pub fn open(root: &Path) -> Result<Self> {
        let path = root.join(FILE_NAME);
        let io = |e| Error::io(&path, e);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        // Two processes creating it at once both extend it to LEN with zeros: harmless.
        if file.metadata().map_err(io)?.len() < LEN {
            file.set_len(LEN).map_err(io)?;
        }
        let map = MmapRaw::map_raw(&file).map_err(io)?;
        let usage = Usage { map, path };
        let magic = usage.u64_at(OFF_MAGIC);
        if magic.load(Ordering::Acquire) != MAGIC {
            // New (all zeros) or not ours: start from zero, uncalibrated.
            for off in (8..LEN as usize).step_by(8) {
                usage.u64_at(off).store(0, Ordering::Relaxed);
            }
            magic.store(MAGIC, Ordering::Release);
        }
        Ok(usage)
    }

    /// The counters file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The address of the 8-byte slot at `off` (a multiple of 8 below LEN: the constants of
    /// this module).
    fn slot(&self, off: usize) -> *mut u64 {
        debug_assert!(off.is_multiple_of(8) && off + 8 <= LEN as usize);
        self.map.as_mut_ptr().wrapping_add(off).cast::<u64>()
    }

    fn u64_at(&self, off: usize) -> &AtomicU64 {
        // SAFETY: the mapping is LEN bytes long, page-aligned and lives as long as `self`, so
        // `slot` is valid and aligned for an AtomicU64. The bytes are only ever accessed
        // atomically, here and by other processes mapping the same file.
        #[allow(unsafe_code)]
        unsafe {
            AtomicU64::from_ptr(self.slot(off))
        }
    }

    fn i64_at(&self, off: usize) -> &AtomicI64 {
        // SAFETY: as in `u64_at`.
        #[allow(unsafe_code)]
        unsafe {
            AtomicI64::from_ptr(self.slot(off).cast::<i64>())
        }
    }

    /// Add (or, negative, subtract) payload bytes and entries.
    pub fn add(&self, bytes: i64, entries: i64) {
        if bytes != 0 {
            self.i64_at(OFF_BYTES).fetch_add(bytes, Ordering::Relaxed);
        }
        if entries != 0 {
            self.i64_at(OFF_ENTRIES)
                .fetch_add(entries, Ordering::Relaxed);
        }
    }

    /// The estimated payload bytes and entries, or `None` before the first calibration.
    pub fn estimate(&self) -> Option<(u64, u64)> {
        if self.u64_at(OFF_CALIBRATED).load(Ordering::Acquire) == 0 {
            return None;
        }
        let clamp = |v: i64| v.max(0) as u64;
        Some((
            clamp(self.i64_at(OFF_BYTES).load(Ordering::Relaxed)),
            clamp(self.i64_at(OFF_ENTRIES).load(Ordering::Relaxed)),
        ))
    }

    /// The raw counts (for a calibration: read before a walk, passed to [`Self::calibrate`]).
    pub fn raw(&self) -> (i64, i64) {
        (
            self.i64_at(OFF_BYTES).load(Ordering::Relaxed),
            self.i64_at(OFF_ENTRIES).load(Ordering::Relaxed),
        )
    }

    /// Set the counts to a walk's truth (`bytes`, `entries`) while keeping the changes other
    /// processes made since `before` was read: the counters move by `truth - before`. A put
    /// that the walk saw *and* counted meanwhile is counted twice, an over-estimate that the
    /// next pass corrects (never an under-estimate that would let the cache outgrow its limit).
    pub fn calibrate(&self, before: (i64, i64), bytes: u64, entries: u64) {
        let truth = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.add(truth(bytes) - before.0, truth(entries) - before.1);
        self.u64_at(OFF_CALIBRATED).store(1, Ordering::Release);
    }

    /// Forget the calibration (after something removed payloads without counting them, like
    /// repair): the next put that checks the limit walks `blobs/` first.
    pub fn uncalibrate(&self) {
        self.u64_at(OFF_CALIBRATED).store(0, Ordering::Release);
    }

    /// Count one eviction pass and what it evicted.
    pub fn record_pass(&self, for_size: u64, for_entries: u64, bytes: u64, at: i64) {
        self.u64_at(OFF_EVICTED_FOR_SIZE)
            .fetch_add(for_size, Ordering::Relaxed);
        self.u64_at(OFF_EVICTED_FOR_ENTRIES)
            .fetch_add(for_entries, Ordering::Relaxed);
        self.u64_at(OFF_EVICTED_BYTES)
            .fetch_add(bytes, Ordering::Relaxed);
        self.u64_at(OFF_PASSES).fetch_add(1, Ordering::Relaxed);
        self.i64_at(OFF_LAST_PASS_AT).store(at, Ordering::Relaxed);
    }

    /// Eviction totals of all processes.
    pub fn evictions(&self) -> EvictionTotals {
        let g = |off| self.u64_at(off).load(Ordering::Relaxed);
        EvictionTotals {
            for_size: g(OFF_EVICTED_FOR_SIZE),
            for_entries: g(OFF_EVICTED_FOR_ENTRIES),
            bytes: g(OFF_EVICTED_BYTES),
            passes: g(OFF_PASSES),
            last_pass_at: self.i64_at(OFF_LAST_PASS_AT).load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_mappings_share_counts_and_calibration_keeps_concurrent_changes() {
        let dir = tempfile::tempdir().unwrap();
        let a = Usage::open(dir.path()).unwrap();
        let b = Usage::open(dir.path()).unwrap();
        assert_eq!(a.estimate(), None, "uncalibrated until a walk");
        let before = a.raw();
        a.add(100, 1);
        b.add(50, 1); // another process, during the walk
        // The walk found 1,000 bytes in 10 files (it may or may not have seen the two puts).
        a.calibrate(before, 1000, 10);
        assert_eq!(b.estimate(), Some((1150, 12)));
        b.add(-150, -2);
        assert_eq!(a.estimate(), Some((1000, 10)));
        a.record_pass(3, 1, 300, 42);
        let t = b.evictions();
        assert_eq!(
            (t.for_size, t.for_entries, t.bytes, t.passes),
            (3, 1, 300, 1)
        );
        assert_eq!(t.last_pass_at, 42);
        b.uncalibrate();
        assert_eq!(a.estimate(), None);
        // A reopen keeps the totals.
        drop((a, b));
        assert_eq!(Usage::open(dir.path()).unwrap().evictions().passes, 1);
    }

    #[test]
    fn a_foreign_or_short_file_is_reset_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), [0xffu8; 100]).unwrap();
        let u = Usage::open(dir.path()).unwrap();
        assert_eq!(u.estimate(), None);
        assert_eq!(u.evictions(), EvictionTotals::default());
        assert_eq!(std::fs::metadata(u.path()).unwrap().len(), LEN);
    }

    #[test]
    fn counts_below_zero_read_as_zero() {
        let dir = tempfile::tempdir().unwrap();
        let u = Usage::open(dir.path()).unwrap();
        u.calibrate(u.raw(), 0, 0);
        u.add(-10, -1);
        assert_eq!(u.estimate(), Some((0, 0)));
    }
}
