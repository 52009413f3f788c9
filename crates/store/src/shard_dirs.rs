//! The shard directories of a cache on disk (`<root>/blobs/00` .. `ff`), opened relative to
//! directory descriptors and never through a symbolic link.
//!
//! Whoever can write the cache directory could replace `blobs/0e` with a symbolic link to
//! another directory; a path-based store would then write its payloads there, and a cleanup or
//! repair would delete files there. So `blobs/` is opened once with `O_NOFOLLOW` and kept, and
//! every file operation of the store is relative to it:
//!
//! - reading a payload is one `openat2(blobs, "0e/<key>.<ext>", RESOLVE_NO_SYMLINKS |
//!   RESOLVE_BENEATH)`, the same one system call as a plain open ([`ShardDirs::open_file`]);
//! - everything else (temporary files, renames, removals, `stat`) is relative to the shard's
//!   descriptor, opened for the operation with `O_NOFOLLOW | O_DIRECTORY` ([`ShardDirs::shard`]).
//!
//! Shard descriptors are not kept: 256 of them per open cache would run a process that opens a
//! few caches out of descriptors where the limit is 1,024 (or macOS's 256). A shard that is a
//! link, or not a directory, is an error naming it, and `verify` reports it
//! (`ProblemKind::ForeignDirectory`).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

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
    /// Set once `openat2` proved missing (a kernel before 5.6, a seccomp filter): opens then
    /// take two steps, the shard and then the file.
    no_openat2: AtomicBool,
}

/// The number of a key's shard: its first two hex digits. Keys reaching here are checked
/// (`CacheKey::is_valid`); anything else maps to shard 0 and fails there by name.
fn shard_of(key: &str) -> usize {
    key.get(..2).and_then(shard_index).unwrap_or(0)
}

/// The number of the shard named `name` (`00` .. `ff`), if it is a shard's name.
pub(crate) fn shard_index(name: &str) -> Option<usize> {
    (name.len() == 2)
        .then(|| usize::from_str_radix(name, 16).ok())
        .flatten()
}

/// The name of shard `i`.
pub(crate) fn shard_name(i: usize) -> String {
    format!("{i:02x}")
}

/// An I/O error from `rustix`, as the store's error naming `path`.
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
        Errno::LOOP | Errno::NOTDIR => foreign(path),
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
            no_openat2: AtomicBool::new(false),
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
    pub(crate) fn shard(&self, key: &str) -> Result<OwnedFd> {
        self.shard_at(shard_of(key))
    }

    /// The descriptor of shard `i`.
    pub(crate) fn shard_at(&self, i: usize) -> Result<OwnedFd> {
        let i = i.min(255);
        open_dir_at(self.blobs.as_fd(), &shard_name(i), &self.shard_path(i))
    }

    /// Open the file `name` in the shard of `key` with `flags` (`O_NOFOLLOW` and `O_CLOEXEC`
    /// added), following no link on the way: `Ok(None)` if it does not exist.
    pub(crate) fn open_file(
        &self,
        key: &str,
        name: &str,
        flags: OFlags,
    ) -> Result<Option<OwnedFd>> {
        let flags = flags | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let path = self.path_of(key, name);
        if !self.no_openat2.load(Ordering::Relaxed) {
            let rel = format!("{}/{name}", shard_name(shard_of(key)));
            let how = ResolveFlags::NO_SYMLINKS | ResolveFlags::BENEATH;
            match rustix::fs::openat2(&self.blobs, rel.as_str(), flags, Mode::empty(), how) {
                Ok(fd) => return Ok(Some(fd)),
                Err(Errno::NOENT) => return Ok(None),
                Err(Errno::LOOP | Errno::XDEV | Errno::NOTDIR) => {
                    // Which of the shard and the file is the link: ask the two-step path.
                }
                Err(Errno::NOSYS | Errno::INVAL) => {
                    self.no_openat2.store(true, Ordering::Relaxed);
                }
                Err(e) => return Err(io_error(&path, e)),
            }
        }
        let shard = self.shard(key)?;
        match rustix::fs::openat(&shard, name, flags, Mode::empty()) {
            Ok(fd) => Ok(Some(fd)),
            Err(Errno::NOENT) => Ok(None),
            Err(Errno::LOOP) => Err(Error::io(
                &path,
                std::io::Error::other("is a symbolic link: the cache does not follow it"),
            )),
            Err(e) => Err(io_error(&path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_refused_by_name_in_one_step_and_in_two() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("0f00000000000000.cnobj"), b"theirs").unwrap();
        for two_steps in [false, true] {
            let shards = ShardDirs::open(dir.path()).unwrap();
            shards.no_openat2.store(two_steps, Ordering::Relaxed);
            let blobs = dir.path().join("blobs");
            let _ = std::fs::remove_dir(blobs.join("0f"));
            let _ = std::fs::remove_file(blobs.join("0f"));
            std::os::unix::fs::symlink(outside.path(), blobs.join("0f")).unwrap();
            let e = shards.shard("0f00000000000000").unwrap_err().to_string();
            assert!(e.contains("blobs/0f") && e.contains("symbolic link"), "{e}");
            let opened =
                shards.open_file("0f00000000000000", "0f00000000000000.cnobj", OFlags::RDONLY);
            let e = opened.unwrap_err().to_string();
            assert!(
                e.contains("blobs/0f") && e.contains("symbolic link"),
                "{two_steps}: {e}"
            );
            // A link in place of a payload file.
            let real = blobs.join("0e").join("0e00000000000000.cnobj");
            std::fs::write(outside.path().join("x"), b"x").unwrap();
            let _ = std::fs::remove_file(&real);
            std::os::unix::fs::symlink(outside.path().join("x"), &real).unwrap();
            let opened =
                shards.open_file("0e00000000000000", "0e00000000000000.cnobj", OFlags::RDONLY);
            assert!(opened.unwrap_err().to_string().contains("symbolic link"));
            // Missing files are `None`; real ones open.
            let absent =
                shards.open_file("0e00000000000001", "0e00000000000001.cnobj", OFlags::RDONLY);
            assert!(absent.unwrap().is_none());
            std::fs::write(blobs.join("0e").join("0e00000000000002.cnobj"), b"ours").unwrap();
            let present =
                shards.open_file("0e00000000000002", "0e00000000000002.cnobj", OFlags::RDONLY);
            assert!(present.unwrap().is_some());
            // A regular file in a shard's place is refused too.
            let _ = std::fs::remove_dir(blobs.join("10"));
            std::fs::write(blobs.join("10"), b"x").unwrap();
            assert!(shards.shard("1000000000000000").is_err());
            std::fs::remove_file(blobs.join("10")).unwrap();
            std::fs::create_dir(blobs.join("10")).unwrap();
        }
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
