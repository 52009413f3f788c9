//! Catalog maintenance: what one pass does, and the lock that lets one process at a time run it.
//!
//! A pass ([`crate::delta::DeltaCatalog::maintain`]) compacts small data files, vacuums data
//! files removed from the table longer ago than the retention, writes a checkpoint at the
//! current version, and deletes log files older than the retention that the checkpoint makes
//! unneeded. So the `_delta_log` and data file counts stay bounded by the retention, not by the
//! cache's age. Reading the catalog as of a version older than the retention may then fail.
//!
//! The lock is a [`LockFile`] on `<catalog>/maintenance.lock` taken without waiting: a process
//! that finds it held skips its pass. The operating system releases it when its holder exits or
//! dies, so a crashed maintainer never leaves a stale lock behind.

use std::path::Path;
use std::time::Duration;

use crate::error::Result;
use cacheness_storage::lockfile::LockFile;

/// Default retention of removed data files and old log files.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(24 * 3600);

/// What one maintenance pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct MaintenanceReport {
    /// Another process held the maintenance lock: nothing was done.
    pub skipped: bool,
    /// Data files were compacted.
    pub compacted: bool,
    /// The version a checkpoint was written at.
    pub checkpoint_version: Option<u64>,
    /// Log files deleted.
    pub logs_removed: usize,
    /// Data files deleted by vacuum.
    pub files_vacuumed: usize,
    /// Live data files after the pass.
    pub data_files: usize,
}

/// The held maintenance lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct MaintenanceLock {
    _lock: LockFile,
}

impl MaintenanceLock {
    /// Take the lock of the catalog in `catalog_dir` if no other process holds it.
    pub fn try_acquire(catalog_dir: &Path) -> Result<Option<MaintenanceLock>> {
        Ok(
            LockFile::try_acquire(&catalog_dir.join("maintenance.lock"))?
                .map(|lock| MaintenanceLock { _lock: lock }),
        )
    }
}
