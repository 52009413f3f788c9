//! Advisory lock files, the one lock across processes on a host.
//!
//! An exclusive `flock` on a file that is created if missing. The operating system releases it
//! when its holder exits or dies, so a crashed holder never leaves a stale lock behind.
//! (`flock` is unreliable on some network file systems.) A holder either skips the work when
//! the lock is taken ([`LockFile::try_acquire`]: maintenance, eviction, adopting a dead
//! writer's journal) or waits for it ([`LockFile::acquire`]: a pull-through table's fills;
//! [`LockFile::acquire_transient`]: compute-once lookups, one file per key, removed after use).

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Result, StorageError};

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct LockFile {
    file: File,
    path: PathBuf,
    /// Remove the file (while still holding it) on release.
    remove: bool,
}

fn open(path: &Path) -> Result<File> {
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| StorageError::io(path, e))
}

impl LockFile {
    /// Take the lock on the file at `path` if no other holder has it; `None` if one has.
    pub fn try_acquire(path: &Path) -> Result<Option<LockFile>> {
        let file = open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(LockFile::held(file, path, false))),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(StorageError::io(path, e)),
        }
    }

    /// Wait for and take the lock on the file at `path` (blocking the thread).
    pub fn acquire(path: &Path) -> Result<LockFile> {
        let file = open(path)?;
        file.lock().map_err(|e| StorageError::io(path, e))?;
        Ok(LockFile::held(file, path, false))
    }

    /// Wait for and take the lock on the file at `path`, which is removed when the lock is
    /// released, so that lock files of short-lived locks (one per key) do not pile up. A
    /// waiter that then gets the lock on the removed file sees that the path no longer names
    /// the file it locked, and starts over on the new one.
    pub fn acquire_transient(path: &Path) -> Result<LockFile> {
        loop {
            let file = open(path)?;
            file.lock().map_err(|e| StorageError::io(path, e))?;
            if let Some(held) = Self::still_named(file, path)? {
                return Ok(held);
            }
        }
    }

    /// [`LockFile::acquire_transient`] without waiting: `None` if another holder has the lock.
    pub fn try_acquire_transient(path: &Path) -> Result<Option<LockFile>> {
        loop {
            let file = open(path)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
                Err(std::fs::TryLockError::Error(e)) => return Err(StorageError::io(path, e)),
            }
            if let Some(held) = Self::still_named(file, path)? {
                return Ok(Some(held));
            }
        }
    }

    /// The transient lock just taken on `file`, if `path` still names that file (its previous
    /// holder may have removed it while this one waited: then `None`, start over).
    fn still_named(file: File, path: &Path) -> Result<Option<LockFile>> {
        use std::os::unix::fs::MetadataExt;
        let held = file.metadata().map_err(|e| StorageError::io(path, e))?;
        match std::fs::metadata(path) {
            Ok(now) if now.ino() == held.ino() && now.dev() == held.dev() => {
                Ok(Some(LockFile::held(file, path, true)))
            }
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StorageError::io(path, e)),
        }
    }

    fn held(file: File, path: &Path, remove: bool) -> LockFile {
        LockFile {
            file,
            path: path.to_path_buf(),
            remove,
        }
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Remove the lock file, then release the lock (for a lock whose purpose has ended: a
    /// journal writer whose segments are all committed).
    pub fn release_removing(mut self) {
        self.remove = true;
    }
}

impl Drop for LockFile {
    fn drop(&mut self) {
        // Removed while still held (the file closes after this); a failure only leaves an
        // empty file behind.
        if self.remove {
            let _ = std::fs::remove_file(&self.path);
        }
        let _ = self.file.unlock();
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
        let waited = LockFile::acquire(&path).unwrap();
        assert!(LockFile::try_acquire(&path).unwrap().is_none());
        drop(waited);
        assert!(LockFile::try_acquire(&path).unwrap().is_some());
        assert!(path.exists(), "a plain lock file stays");
    }

    #[test]
    fn a_transient_lock_file_is_removed_on_release_and_waiters_follow_the_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.lock");
        let held = LockFile::acquire_transient(&path).unwrap();
        let waiter = {
            let path = path.clone();
            std::thread::spawn(move || {
                let lock = LockFile::acquire_transient(&path).unwrap();
                // The waiter holds the file the path names now, not the removed one.
                assert!(LockFile::try_acquire(&path).unwrap().is_none());
                drop(lock);
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        drop(held);
        waiter.join().unwrap();
        assert!(!path.exists(), "released transient locks leave no file");
    }

    #[test]
    fn release_removing_removes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.lock");
        let lock = LockFile::try_acquire(&path).unwrap().unwrap();
        assert_eq!(lock.path(), path);
        lock.release_removing();
        assert!(!path.exists());
    }
}
