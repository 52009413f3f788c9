//! The shard directories of a cache on disk (`<root>/blobs/00` .. `ff`), opened relative to
//! directory descriptors and never through a symbolic link.
//!
//! Whoever can write the cache directory could replace `blobs/0e` with a symbolic link to
//! another directory; a path-based store would then write its payloads there, and a cleanup or
//! repair would delete files there. So `blobs/` is opened once with `O_NOFOLLOW`, each shard
//! relative to it with `O_NOFOLLOW | O_DIRECTORY` (on first use, then kept), and every file
//! operation of the store is relative to a shard's descriptor (`openat`, `renameat2`,
//! `unlinkat`, `fstatat` without following links). A shard that is a link, or not a directory,
//! is an error naming it ([`ShardDirs::shard`]), and `verify` reports it
//! (`ProblemKind::ForeignDirectory`). A shard held open stays the directory it was when opened,
//! even if it is swapped for a link later.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rustix::fs::{Mode, OFlags};

use crate::error::{Error, Result};

/// How shard directories are opened: a directory, not through a link.
const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// The shard directories of one cache.
#[derive(Debug)]
pub(crate) struct ShardDirs {
    blobs_path: PathBuf,
    blobs: OwnedFd,
    shards: Box<[OnceLock<OwnedFd>]>,
}

/// The number of a key's shard: its first two hex digits. Keys reaching here are checked
/// (`store::is_valid_key`); anything else maps to shard 0 and fails there by name.
fn shard_of(key: &str) -> usize {
    key.get(..2)
        .and_then(|h| usize::from_str_radix(h, 16).ok())
        .unwrap_or(0)
}

/// The name of shard `i`.
pub(crate) fn shard_name(i: usize) -> String {
    format!("{i:02x}")
}

/// An I/O error from `rustix`, as the engine's error naming `path`.
pub(crate) fn io_error(path: impl Into<PathBuf>, e: rustix::io::Errno) -> Error {
    Error::io(path, std::io::Error::from(e))
}

/// The error for a directory of the cache that is a symbolic link or not a directory.
pub(crate) fn foreign(path: &Path) -> Error {
    Error::io(
        path,
        std::io::Error::other(
            "is a symbolic link or not a directory: the cache does not follow it outside its \
             root (`cacheness verify` reports it; make it a real directory)",
        ),
    )
}

/// Open `dir` (a directory of the cache) without following a link in its last component.
fn open_dir_at(at: BorrowedFd<'_>, name: &str, path: &Path) -> Result<OwnedFd> {
    rustix::fs::openat(at, name, DIR_FLAGS, Mode::empty()).map_err(|e| match e {
        rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR => foreign(path),
        e => io_error(path, e),
    })
}

impl ShardDirs {
    /// Open `<root>/blobs`, creating it and its 256 shards if missing.
    pub(crate) fn open(root: &Path) -> Result<Self> {
        let blobs_path = root.join("blobs");
        let root_fd = rustix::fs::open(root, DIR_FLAGS.difference(OFlags::NOFOLLOW), Mode::empty())
            .map_err(|e| io_error(root, e))?;
        match rustix::fs::mkdirat(&root_fd, "blobs", Mode::from_raw_mode(0o777)) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(io_error(&blobs_path, e)),
        }
        let blobs = open_dir_at(root_fd.as_fd(), "blobs", &blobs_path)?;
        let last = shard_name(255);
        if rustix::fs::statat(&blobs, last.as_str(), rustix::fs::AtFlags::SYMLINK_NOFOLLOW).is_err()
        {
            for i in 0..=255 {
                match rustix::fs::mkdirat(&blobs, shard_name(i), Mode::from_raw_mode(0o777)) {
                    Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => return Err(io_error(blobs_path.join(shard_name(i)), e)),
                }
            }
        }
        Ok(ShardDirs {
            blobs_path,
            blobs,
            shards: (0..256).map(|_| OnceLock::new()).collect(),
        })
    }

    /// The path of shard `i` (for messages).
    pub(crate) fn shard_path(&self, i: usize) -> PathBuf {
        self.blobs_path.join(shard_name(i))
    }

    /// The path of a file in the shard of `key` (for messages).
    pub(crate) fn path_of(&self, key: &str, name: &str) -> PathBuf {
        self.shard_path(shard_of(key)).join(name)
    }

    /// The descriptor of the shard that holds `key`: an error naming it if it is a symbolic
    /// link or not a directory.
    pub(crate) fn shard(&self, key: &str) -> Result<BorrowedFd<'_>> {
        self.shard_at(shard_of(key))
    }

    /// The descriptor of shard `i`.
    pub(crate) fn shard_at(&self, i: usize) -> Result<BorrowedFd<'_>> {
        let slot = &self.shards[i.min(255)];
        if let Some(fd) = slot.get() {
            return Ok(fd.as_fd());
        }
        let fd = open_dir_at(self.blobs.as_fd(), &shard_name(i), &self.shard_path(i))?;
        // Another thread may have opened it meanwhile: either descriptor is the same directory.
        Ok(slot.get_or_init(|| fd).as_fd())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_linked_shard_is_refused_by_name_and_a_held_one_stays_put() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let shards = ShardDirs::open(dir.path()).unwrap();
        let held = shards.shard("0e00000000000000").unwrap();
        let held_ino = rustix::fs::fstat(held).unwrap().st_ino;
        let blobs = dir.path().join("blobs");
        std::fs::remove_dir(blobs.join("0f")).unwrap();
        std::os::unix::fs::symlink(outside.path(), blobs.join("0f")).unwrap();
        let e = shards.shard("0f00000000000000").unwrap_err().to_string();
        assert!(e.contains("blobs/0f") && e.contains("symbolic link"), "{e}");
        // A shard opened before it was swapped is still the directory inside the root.
        std::fs::rename(blobs.join("0e"), dir.path().join("moved")).unwrap();
        std::os::unix::fs::symlink(outside.path(), blobs.join("0e")).unwrap();
        let again = shards.shard("0e00000000000000").unwrap();
        assert_eq!(rustix::fs::fstat(again).unwrap().st_ino, held_ino);
        // A regular file in a shard's place is refused too.
        std::fs::remove_dir(blobs.join("10")).unwrap();
        std::fs::write(blobs.join("10"), b"x").unwrap();
        assert!(shards.shard("1000000000000000").is_err());
    }

    #[test]
    fn a_linked_blobs_directory_is_refused_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("blobs")).unwrap();
        let e = ShardDirs::open(dir.path()).unwrap_err().to_string();
        assert!(e.contains("blobs") && e.contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    }
}
