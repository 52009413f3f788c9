//! Advisory lock files that one process at a time holds, taken without waiting.
//!
//! An exclusive `flock` on a file that is created if missing: a process that finds it held
//! skips the work the lock guards. The operating system releases it when its holder exits or
//! dies, so a crashed holder never leaves a stale lock behind. (`flock` is unreliable on some
//! network file systems.)

use std::fs::File;
use std::path::Path;

use crate::error::{CatalogError, Result};

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct LockFile {
    _file: File,
}

impl LockFile {
    /// Take the lock on the file at `path` if no other holder has it; `None` if one has.
    pub fn try_acquire(path: &Path) -> Result<Option<LockFile>> {
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| CatalogError::io(path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(LockFile { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(CatalogError::io(path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LockFile;

    #[test]
    fn one_holder_at_a_time_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let first = LockFile::try_acquire(&path).unwrap();
        assert!(first.is_some());
        assert!(LockFile::try_acquire(&path).unwrap().is_none());
        drop(first);
        assert!(LockFile::try_acquire(&path).unwrap().is_some());
    }
}
