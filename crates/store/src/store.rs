//! The blob store: payload files at `<root>/blobs/<first 2 hex of key>/<key>.<ext>`.
//!
//! Writes go to a temporary file in the destination directory and are renamed into place, so
//! a reader never sees a half-written payload; with [`Durability::Fsync`] the file and the
//! directory are fsync'd too. A crash leaves at worst a `.tmp` orphan. Every file operation is
//! relative to a descriptor of `blobs/` or of a shard and follows no symbolic link
//! (`crate::shard_dirs`), so nothing a store does can reach outside the cache root.
//!
//! Every write and removal is counted in the cache's shared [`Usage`] counters, which the size
//! limit reads; [`BlobStore::payload_files`] walks the files for an eviction pass, and
//! [`BlobStore::remove_if_unchanged`] removes one only if it is still the file the pass chose.
//!
//! On disk, container payloads shorter than [`SMALL_MAX`] are records of the small-entry
//! store ([`SmallStore`]) instead of files ([`in_small_store`]), and every payload file has a
//! marker there, written before the file is renamed into place. Every operation here asks the
//! store first: a record is the payload; a marker names the file; no record, once every file
//! has its marker, is a miss without a system call. Until then (the first open of a cache
//! written before the store existed marks its files) and for files the markers do not know
//! (copied in by hand, written by an older version), the files are looked for by name, and
//! `repair` marks them. On an object store there is no small-entry store: every payload is an
//! object.

use std::fs;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FlockOperation, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

use bytes::Bytes;

use crate::config::Durability;
use crate::error::{Error, Result};
use crate::read_through::ReadThrough;
use crate::remote_blobs::RemoteBlobs;
use crate::shard_dirs::{ShardDirs, io_error, shard_index, shard_name};
pub use crate::small_store::SMALL_MAX;
use crate::small_store::{Located, SmallStore, Summary};
use crate::usage::Usage;
use cacheness_format::codec::Format;
use cacheness_format::keys::CacheKey;
use cacheness_storage::Remote;

/// The payload files of one cache.
#[derive(Debug)]
pub struct BlobStore {
    root: PathBuf,
    durability: Durability,
    usage: Usage,
    /// Set when the payloads live on an object store: every operation goes there instead.
    remote: Option<RemoteBlobs>,
    /// The shard directories on disk (`None` on an object store).
    shards: Option<ShardDirs>,
    /// The small-entry store (`None` on an object store, and on disk where it is turned off
    /// and was never made).
    small: Option<SmallStore>,
    /// Whether small payloads are put into [`Self::small`] (`small_entry_store`); when off,
    /// an existing store is still read and its markers kept.
    small_puts: bool,
}

/// Whether a payload of `format` and `len` bytes on disk is a record of the small-entry
/// store: container payloads (objects, bytes, JSON) under [`SMALL_MAX`]. Tables and arrays
/// stay standard files whatever their size, which other engines open by the catalog's `path`
/// (`docs/INTEROP.md`).
pub fn in_small_store(format: Format, len: usize) -> bool {
    format == Format::Container && len < SMALL_MAX
}

/// The modification time a record's time (µs since the epoch) stands for.
fn record_time(used_at: i64) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_micros(u64::try_from(used_at).unwrap_or(0))
}

/// A payload's file name in its shard.
pub(crate) fn file_name(key: &str, format: Format) -> String {
    format!("{key}.{}", format.ext())
}

/// The modification time of a `stat`.
fn modified_of(stat: &rustix::fs::Stat) -> std::time::SystemTime {
    let since = std::time::Duration::new(
        u64::try_from(stat.st_mtime).unwrap_or(0),
        u32::try_from(stat.st_mtime_nsec).unwrap_or(0),
    );
    std::time::UNIX_EPOCH + since
}

/// Whether a `stat` is of a regular file.
fn is_file(stat: &rustix::fs::Stat) -> bool {
    rustix::fs::FileType::from_raw_mode(stat.st_mode) == rustix::fs::FileType::RegularFile
}

/// A temporary file in a shard (`dir`, borrowed or owned), removed on drop unless renamed
/// into place.
struct TempFile<D: AsFd> {
    dir: D,
    name: String,
    placed: bool,
}

impl<D: AsFd> TempFile<D> {
    /// Create a new temporary file for `key` in the shard `dir`, opened for writing (`read`:
    /// and reading); `path` (the payload's) names it in errors.
    fn create(dir: D, key: &str, path: &Path, read: bool) -> Result<(Self, fs::File)> {
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).map_err(|e| Error::io(path, std::io::Error::other(e)))?;
        let name = format!(".{key}.{}.tmp", cacheness_format::keys::hex(&nonce));
        let access = if read { OFlags::RDWR } else { OFlags::WRONLY };
        let flags = access | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW;
        let fd = rustix::fs::openat(
            dir.as_fd(),
            name.as_str(),
            flags | OFlags::CLOEXEC,
            Mode::RUSR | Mode::WUSR,
        )
        .map_err(|e| io_error(path, e))?;
        let tmp = TempFile {
            dir,
            name,
            placed: false,
        };
        Ok((tmp, fs::File::from(fd)))
    }
}

impl<D: AsFd> Drop for TempFile<D> {
    fn drop(&mut self) {
        if !self.placed {
            let _ = rustix::fs::unlinkat(self.dir.as_fd(), self.name.as_str(), AtFlags::empty());
        }
    }
}

/// A payload written in parts (a value too large to hold in memory, `crate::streamed`): a
/// temporary file in the payload's shard, renamed into place by [`PayloadDraft::place`] and
/// removed if dropped before.
pub struct PayloadDraft<'s> {
    store: &'s BlobStore,
    key: String,
    format: Format,
    tmp: TempFile<OwnedFd>,
    file: fs::File,
    path: PathBuf,
}

impl std::fmt::Debug for PayloadDraft<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PayloadDraft({})", self.path.display())
    }
}

impl PayloadDraft<'_> {
    /// The temporary file, to write and read back.
    pub fn file(&mut self) -> &mut fs::File {
        &mut self.file
    }

    /// The path the payload will have: what errors name.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Make the draft the key's payload (fsync'd if the store is durable) and remove the
    /// key's payloads in other formats, as [`BlobStore::put_payload`] does; true if it
    /// replaced any.
    pub fn place(mut self) -> Result<bool> {
        let store = self.store;
        let len = self
            .file
            .metadata()
            .map_err(|e| Error::io(&self.path, e))?
            .len();
        let at = (self.key.as_str(), self.format);
        store.place_written(&mut self.tmp, &self.file, at, len, &self.path)
    }
}

/// One payload file as a walk of `blobs/` found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadFile {
    /// Its key.
    pub key: String,
    /// Its format.
    pub format: Format,
    /// Its size in bytes.
    pub len: u64,
    /// Its modification time: its write or its last recorded get (`access.rs`).
    pub modified: std::time::SystemTime,
    /// Its inode: tells this file from one put under the same name later (0 for a record).
    pub ino: u64,
    /// Whether it is a record of the small-entry store rather than a file.
    pub in_small_store: bool,
}

/// The key and format a payload file's name (`<key>.<ext>`) stands for, if it is one.
pub fn parse_payload_name(name: &str) -> Option<(&str, Format)> {
    let (key, ext) = name.split_once('.')?;
    let format = Format::from_name(ext)?;
    CacheKey::is_valid(key).then_some((key, format))
}

/// Rename the temporary file into place as `name` in its shard; true if it replaced a file.
/// The rename first refuses to replace (`RENAME_NOREPLACE`), which tells a new key from a
/// replacement without a separate lookup; a file system without it links and unlinks instead.
fn place<D: AsFd>(tmp: &mut TempFile<D>, name: &str) -> rustix::io::Result<bool> {
    let (dir, from) = (tmp.dir.as_fd(), tmp.name.as_str());
    let replaced = match rustix::fs::renameat_with(dir, from, dir, name, RenameFlags::NOREPLACE) {
        Ok(()) => false,
        Err(Errno::EXIST) => {
            rustix::fs::renameat(dir, from, dir, name)?;
            true
        }
        Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {
            match rustix::fs::linkat(dir, from, dir, name, AtFlags::empty()) {
                Ok(()) => {
                    let _ = rustix::fs::unlinkat(dir, from, AtFlags::empty());
                    false
                }
                Err(Errno::EXIST) => {
                    rustix::fs::renameat(dir, from, dir, name)?;
                    true
                }
                Err(e) => return Err(e),
            }
        }
        Err(e) => return Err(e),
    };
    tmp.placed = true;
    Ok(replaced)
}

impl BlobStore {
    /// Open the store under `root`, creating `blobs/00` .. `blobs/ff` once so puts never need
    /// to create directories. With `small_puts`, container payloads under [`SMALL_MAX`] bytes
    /// are records of the small-entry store ([`in_small_store`]); without, they are files,
    /// and the store is opened only if it exists (its records are still read, and its markers
    /// kept).
    pub fn open(root: &Path, durability: Durability, small_puts: bool) -> Result<Self> {
        Self::open_at(root, durability, None, small_puts)
    }

    /// Open the store of a cache whose payloads live on the object store `remote`; `root` is
    /// the host's local state directory (it keeps the usage counters).
    /// With `read_through`, copies of hot payloads are kept in `<root>/read-through`, at most
    /// that many bytes.
    pub fn open_remote(
        root: &Path,
        durability: Durability,
        remote: Remote,
        read_through: Option<u64>,
    ) -> Result<Self> {
        let layer = read_through.map(|max| ReadThrough::open(root.join("read-through"), max));
        Self::open_at(
            root,
            durability,
            Some(RemoteBlobs::new(remote, layer)),
            false,
        )
    }

    /// Drop the local read-through copy of a payload (one that failed the read path's checks:
    /// the bucket's object may be sound); true if there was one.
    pub fn forget_copy(&self, key: &str, format: Format) -> bool {
        self.remote.as_ref().is_some_and(|r| r.forget(key, format))
    }

    /// Gets served by the read-through layer so far (0 without one).
    pub fn read_through_hits(&self) -> u64 {
        self.remote
            .as_ref()
            .map_or(0, RemoteBlobs::read_through_hits)
    }

    /// Ranged reads so far and the payload bytes they fetched (0 on disk).
    pub fn ranged_counts(&self) -> (u64, u64) {
        self.remote.as_ref().map_or((0, 0), |r| r.ranged_counts())
    }

    fn open_at(
        root: &Path,
        durability: Durability,
        remote: Option<RemoteBlobs>,
        small_puts: bool,
    ) -> Result<Self> {
        if remote.is_some() {
            std::fs::create_dir_all(root).map_err(|e| Error::io(root, e))?;
            return Ok(BlobStore {
                root: root.to_path_buf(),
                durability,
                usage: Usage::open(root)?,
                remote,
                shards: None,
                small: None,
                small_puts: false,
            });
        }
        let small = (small_puts || SmallStore::exists(root))
            .then(|| SmallStore::open(root, durability))
            .transpose()?;
        let store = BlobStore {
            root: root.to_path_buf(),
            durability,
            usage: Usage::open(root)?,
            remote: None,
            shards: Some(ShardDirs::open(root)?),
            small,
            small_puts,
        };
        store.mark_files_once()?;
        Ok(store)
    }

    /// The small-entry store (`None` on an object store).
    pub fn small(&self) -> Option<&SmallStore> {
        self.small.as_ref()
    }

    /// Give every payload file a marker, once per cache: the first open of a cache written
    /// before the small-entry store (or of one whose store was moved aside) walks the files.
    /// A put meanwhile marks its own file, so after the walk every file has its marker.
    fn mark_files_once(&self) -> Result<()> {
        let Some(small) = &self.small else {
            return Ok(());
        };
        if small.markers_complete()? {
            return Ok(());
        }
        self.mark_files()?;
        small.set_markers_complete()
    }

    /// Give every payload file without a record a marker (`repair` does too: files copied in
    /// by hand or written by an older version); returns how many it marked.
    pub fn mark_files(&self) -> Result<usize> {
        let Some(small) = &self.small else {
            return Ok(0);
        };
        let files: Vec<(String, Format)> = self
            .files()?
            .into_iter()
            .map(|f| (f.key, f.format))
            .collect();
        small.mark_files_if_absent(&files)
    }

    /// Where the payload of `key` is, as the small-entry store tells ([`SmallStore::locate`]);
    /// without a store, not known (the files are looked for).
    fn locate(&self, key: &str) -> Result<Located<Vec<u8>>> {
        self.small
            .as_ref()
            .map_or(Ok(Located::Unknown), |s| s.locate(key))
    }

    /// [`Self::locate`] with a record's length instead of its bytes.
    fn locate_len(&self, key: &str) -> Result<Located<u64>> {
        self.small
            .as_ref()
            .map_or(Ok(Located::Unknown), |s| s.locate_len(key))
    }

    /// The shard directories; an error on an object store (callers check
    /// [`Self::is_remote`] first).
    fn shards(&self) -> Result<&ShardDirs> {
        self.shards.as_ref().ok_or_else(|| Error::Background {
            reason: "a disk operation was asked of a store on an object store".into(),
        })
    }

    /// Whether the payloads live on an object store.
    pub fn is_remote(&self) -> bool {
        self.remote.is_some()
    }

    /// How messages name a payload: its path, or its URL on an object store.
    pub fn describe(&self, key: &str, format: Format) -> String {
        match &self.remote {
            Some(r) => r.url(key, format),
            None => self.path(key, format).display().to_string(),
        }
    }

    /// The cache's shared usage counters.
    pub fn usage(&self) -> &Usage {
        &self.usage
    }

    /// The payload's path relative to the cache root (as stored in the catalog).
    pub fn rel_path(key: &str, format: Format) -> String {
        format!("blobs/{}/{}", &key[..2], file_name(key, format))
    }

    /// The payload's absolute path.
    pub fn path(&self, key: &str, format: Format) -> PathBuf {
        self.root.join(Self::rel_path(key, format))
    }

    /// Atomically write a payload on disk, in the shard directory `dir` (the shard of `key`),
    /// and remove the key's payloads in other formats ([`Self::place_written`]); true if it
    /// replaced any.
    ///
    /// The rename first refuses to replace (`renameat2(RENAME_NOREPLACE)`), which tells a new
    /// key from a replacement without a separate `stat` of the destination: that lookup of a
    /// name the kernel has not seen costs ≈ 3 µs on ext4, a tenth of a put.
    fn write_at(
        &self,
        dir: BorrowedFd<'_>,
        key: &str,
        format: Format,
        bytes: &[u8],
    ) -> Result<bool> {
        let shards = self.shards()?;
        let name = file_name(key, format);
        let path = shards.path_of(key, &name);
        // Errors name the payload being written (the temporary file is removed on return).
        let (mut tmp, mut file) = TempFile::create(dir, key, &path, false)?;
        file.write_all(bytes).map_err(|e| Error::io(&path, e))?;
        self.place_written(&mut tmp, &file, (key, format), bytes.len() as u64, &path)
    }

    /// Make the written temporary file `tmp` (open as `file`, `len` bytes) the payload of `key`
    /// in `format` in its shard, and remove the key's payloads in other formats: the file is
    /// fsync'd first and the shard after when the store is durable, and the write is counted;
    /// true if it replaced a file. `path` (the payload's) names it in errors.
    ///
    /// The rename and the removal of the other formats happen under an exclusive `flock` of
    /// the shard directory (a descriptor of its own per put, so threads exclude each other as
    /// processes do): two puts of one key in different formats that race would otherwise each
    /// place their file and then remove the other's, leaving the key with no payload. Under
    /// the lock the later one removes the earlier one's file. A file system without `flock`
    /// on directories places without it.
    fn place_written<D: AsFd>(
        &self,
        tmp: &mut TempFile<D>,
        file: &fs::File,
        (key, format): (&str, Format),
        len: u64,
        path: &Path,
    ) -> Result<bool> {
        let durable = self.durability == Durability::Fsync;
        if durable {
            file.sync_all().map_err(|e| Error::io(path, e))?;
        }
        let locked = rustix::fs::flock(tmp.dir.as_fd(), FlockOperation::LockExclusive);
        // The marker before the file: a crash between the two leaves a marker without a file
        // (a miss), never a file without a marker (a miss that only `repair` would end). Both
        // under the lock, so that a small put of the key, which removes the file its record
        // replaced under the same lock, sees the marker and the file together or neither.
        let marked = match &self.small {
            Some(small) => small.mark_file(key, format),
            None => Ok(None),
        };
        let placed = marked.and_then(|record| {
            let replaced = place(tmp, &file_name(key, format)).map_err(|e| io_error(path, e))?;
            Ok((replaced, record))
        });
        let others = match placed {
            Ok(_) => self.remove_files(tmp.dir.as_fd(), key, Some(format)),
            Err(_) => Ok(false),
        };
        if locked.is_ok() {
            let _ = rustix::fs::flock(tmp.dir.as_fd(), FlockOperation::Unlock);
        }
        let (mut replaced, record) = placed?;
        if let Some(Summary {
            payload_len: Some(old),
            ..
        }) = record
        {
            // The key's payload was a record, which the marker replaced: its bytes go, the
            // entry stays (this write counts as a replacement).
            self.usage.add(-i64::try_from(old).unwrap_or(i64::MAX), 0);
            replaced = true;
        }
        self.count_write(usize::try_from(len).unwrap_or(usize::MAX), replaced);
        let others = others?;
        if durable {
            let shard = path.parent().unwrap_or(path);
            rustix::fs::fsync(tmp.dir.as_fd()).map_err(|e| io_error(shard, e))?;
        }
        Ok(replaced | others)
    }

    /// Count a write in the usage counters. A replaced payload's old size is unknown here:
    /// counting the new one in full only over-estimates, which the next eviction pass corrects.
    fn count_write(&self, len: usize, replaced: bool) {
        self.usage
            .add(i64::try_from(len).unwrap_or(i64::MAX), i64::from(!replaced));
    }

    /// Write a payload and remove the key's payloads in other formats (a put of another type
    /// under the same key): true if it replaced any. On disk a `stat` per other format
    /// (cheaper than unlinking files that are not there, the common case); on an object store
    /// HEADs sent together with the PUT.
    ///
    /// `outboard` is the payload's outboard tree, stored beside it on an object store (for
    /// ranged reads, `crate::ranged`); the disk has no use for it.
    pub fn put_payload(
        &self,
        key: &str,
        format: Format,
        bytes: &[u8],
        outboard: Option<Vec<u8>>,
    ) -> Result<bool> {
        let (mut replaced, others) = match &self.remote {
            Some(r) => {
                let (replaced, others) = r.write(key, format, bytes, outboard)?;
                self.count_write(bytes.len(), replaced);
                (replaced, others)
            }
            None => {
                let small = self.small.as_ref().filter(|_| self.small_puts);
                if let Some(small) = small.filter(|_| in_small_store(format, bytes.len())) {
                    return self.put_record(small, key, format, bytes);
                }
                // One shard descriptor for the write and the other formats' checks.
                let shard = self.shards()?.shard(key)?;
                return self.write_at(shard.as_fd(), key, format, bytes);
            }
        };
        for other in others {
            replaced |= self.remove(key, other)?;
        }
        Ok(replaced)
    }

    /// Store a small payload as a record of the small-entry store, and remove the payload
    /// file it replaces: the one its marker named, or, before every file has its marker, any
    /// file of the key. True if it replaced a payload.
    fn put_record(
        &self,
        small: &SmallStore,
        key: &str,
        format: Format,
        bytes: &[u8],
    ) -> Result<bool> {
        let before = small.put_payload(key, format, bytes)?;
        let len = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        match before {
            Some(Summary {
                payload_len: Some(old),
                ..
            }) => {
                self.usage
                    .add(len - i64::try_from(old).unwrap_or(i64::MAX), 0);
                return Ok(true);
            }
            Some(Summary { format: file, .. }) => {
                self.remove_replaced_files(small, key, Some(file))?;
            }
            None if !small.markers_complete()? => {
                self.remove_replaced_files(small, key, None)?;
            }
            None => {}
        }
        self.count_write(bytes.len(), false);
        Ok(before.is_some())
    }

    /// Remove the payload file a record just put replaced (`file`, the format its marker
    /// named; every format for `None`), under the shard's `flock` as a file put places its
    /// file, and only if the key's record still holds a payload (this put's, or that of a
    /// small put since, which replaced the file as well): a put of a file that marked the key
    /// since is newer, and its file stays (a file put marks and places its file under the same
    /// `flock`, so a record holding a payload here means no file of the key is current).
    fn remove_replaced_files(
        &self,
        small: &SmallStore,
        key: &str,
        file: Option<Format>,
    ) -> Result<bool> {
        let shard = self.shards()?.shard(key)?;
        let dir = shard.as_fd();
        let locked = rustix::fs::flock(dir, FlockOperation::LockExclusive);
        let holds_payload = small
            .summary(key)
            .map(|now| now.is_some_and(|s| s.payload_len.is_some()));
        let removed = match (holds_payload, file) {
            (Ok(true), Some(file)) => self.remove_at(dir, key, file),
            (Ok(true), None) => self.remove_files(dir, key, None),
            (Ok(false), _) => Ok(false),
            (Err(e), _) => Err(e),
        };
        if locked.is_ok() {
            let _ = rustix::fs::flock(dir, FlockOperation::Unlock);
        }
        removed
    }

    /// Remove the payload files of `key` in formats other than `except` (every format for
    /// `None`) from its shard `dir`; true if there were any. A `stat` per format first:
    /// cheaper than unlinking files that are not there, the common case.
    fn remove_files(&self, dir: BorrowedFd<'_>, key: &str, except: Option<Format>) -> Result<bool> {
        let mut removed = false;
        for other in Format::ALL.into_iter().filter(|f| Some(*f) != except) {
            let name = file_name(key, other);
            if rustix::fs::statat(dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW).is_ok() {
                removed |= self.remove_at(dir, key, other)?;
            }
        }
        Ok(removed)
    }

    /// Start writing a payload in parts ([`PayloadDraft`]). Only on disk: an object store
    /// takes a payload in one request.
    pub fn draft(&self, key: &str, format: Format) -> Result<PayloadDraft<'_>> {
        let shards = self.shards()?;
        let shard = shards.shard(key)?;
        let path = shards.path_of(key, &file_name(key, format));
        let (tmp, file) = TempFile::create(shard, key, &path, true)?;
        Ok(PayloadDraft {
            store: self,
            key: key.to_string(),
            format,
            tmp,
            file,
            path,
        })
    }

    /// Open a payload file on disk to read it in parts: the file and its length, or `None` if
    /// there is none (or the payloads live on an object store).
    pub fn open_local(&self, key: &str, format: Format) -> Result<Option<(fs::File, u64)>> {
        if self.remote.is_some()
            || matches!(self.locate_len(key)?, Located::Record(..) | Located::Absent)
        {
            return Ok(None);
        }
        self.open_file(key, format)
    }

    /// [`Self::open_local`], whatever the small-entry store says.
    fn open_file(&self, key: &str, format: Format) -> Result<Option<(fs::File, u64)>> {
        let Some(shards) = self.shards.as_ref().filter(|_| self.remote.is_none()) else {
            return Ok(None);
        };
        let name = file_name(key, format);
        let Some(fd) = shards.open_file(key, &name, OFlags::RDONLY)? else {
            return Ok(None);
        };
        let file = fs::File::from(fd);
        let len = file
            .metadata()
            .map_err(|e| Error::io(shards.path_of(key, &name), e))?
            .len();
        Ok(Some((file, len)))
    }

    /// Open a payload for ranged reads (`crate::ranged`): on an object store a large payload
    /// with a matching tree is read in parts; on disk (where the file is mapped) and for
    /// anything else the whole payload is read.
    pub(crate) fn open_ranged(
        &self,
        key: &str,
        format: Format,
        signer: &cacheness_format::signing::Signer,
    ) -> Result<crate::ranged::Opened> {
        use crate::ranged::Opened;
        match &self.remote {
            Some(r) => r.open_ranged(key, format, signer),
            None => Ok(self
                .read(key, format)?
                .map_or(Opened::Missing, Opened::Whole)),
        }
    }

    /// Read a payload; `None` if there is none.
    ///
    /// Reads exactly the size `fstat` reports (open, fstat, read, close: one syscall fewer than
    /// `std::fs::read`, which reads again to see the end). A file that shrinks meanwhile reads
    /// short and then fails its content hash.
    pub fn read(&self, key: &str, format: Format) -> Result<Option<Bytes>> {
        if let Some(r) = &self.remote {
            return r.read(key, format);
        }
        match self.locate(key)? {
            Located::Record(f, payload) => Ok((f == format).then(|| Bytes::from(payload))),
            Located::Absent => Ok(None),
            Located::File(_) | Located::Unknown => self.read_file(key, format),
        }
    }

    /// Read a payload file on disk, whatever the small-entry store says; `None` if there is
    /// none (`repair` judges every file this way).
    pub fn read_file(&self, key: &str, format: Format) -> Result<Option<Bytes>> {
        use std::io::Read;
        let Some((mut file, len)) = self.open_file(key, format)? else {
            return Ok(None);
        };
        let path = || self.path(key, format);
        let mut buf = cacheness_format::buffers::read_buffer(usize::try_from(len).unwrap_or(0));
        (&mut file)
            .take(len)
            .read_to_end(&mut buf)
            .map_err(|e| Error::io(path(), e))?;
        Ok(Some(cacheness_format::buffers::into_bytes(buf)))
    }

    /// Map a payload file of at least `min_len` bytes into memory, read-only; `None` if there
    /// is none, it is smaller (an empty file cannot be mapped), or the payloads live on an
    /// object store: the caller then reads it the ordinary way.
    ///
    /// The cache's own operations never change mapped bytes: it replaces a payload by renaming
    /// a new file over it and removes one by unlinking it, so a map keeps the file it was made
    /// from, and nothing in the cache writes into, or truncates, a payload file. A writer
    /// outside the cache could, so a caller copies out what it parses before checking it
    /// (`CacheCore::get_array_mapped`, `docs/FORMATS.md`, "Mapped arrays"). The pages are
    /// read ahead of use (`MAP_POPULATE`), which costs less than faulting them in one by one.
    pub fn map(&self, key: &str, format: Format, min_len: u64) -> Result<Option<Bytes>> {
        if self.remote.is_some() {
            return Ok(None);
        }
        let Some((file, len)) = self.open_local(key, format)? else {
            return Ok(None);
        };
        let Ok(len) = usize::try_from(len) else {
            return Ok(None);
        };
        if len == 0 || (len as u64) < min_len {
            return Ok(None);
        }
        // SAFETY: the map is read-only and its length is the file's as fstat gave it; the
        // cache never writes into or truncates a payload file (see above). Callers treat the
        // bytes as able to change under them (they copy out what they parse).
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::MmapOptions::new().len(len).populate().map(&file) }
            .map_err(|e| Error::io(self.path(key, format), e))?;
        Ok(Some(Bytes::from_owner(map)))
    }

    /// The payload of `key` in the first of `formats` it is stored in: its index in
    /// `formats`, the format and the bytes. On disk one read after another; on an object store
    /// a GET of the first format, and on a miss HEADs of the others at once (two round trips,
    /// not one per format).
    pub fn read_first(
        &self,
        key: &str,
        formats: &[Format],
    ) -> Result<Option<(usize, Format, Bytes)>> {
        if let Some(r) = &self.remote {
            return r.read_first(key, formats);
        }
        let index = |f: Format| formats.iter().position(|x| *x == f);
        match self.locate(key)? {
            Located::Record(f, payload) => {
                return Ok(index(f).map(|i| (i, f, Bytes::from(payload))));
            }
            Located::Absent => return Ok(None),
            // The marked file first; the others only if it is gone (a marker left by a crash).
            Located::File(f) => {
                if let Some(i) = index(f)
                    && let Some(bytes) = self.read_file(key, f)?
                {
                    return Ok(Some((i, f, bytes)));
                }
            }
            Located::Unknown => {}
        }
        for (i, format) in formats.iter().enumerate() {
            if let Some(bytes) = self.read_file(key, *format)? {
                return Ok(Some((i, *format, bytes)));
            }
        }
        Ok(None)
    }

    /// Whether a payload exists.
    pub fn exists(&self, key: &str, format: Format) -> bool {
        self.size(key, format).is_some()
    }

    /// Size of a payload, if it exists.
    pub fn size(&self, key: &str, format: Format) -> Option<u64> {
        if let Some(r) = &self.remote {
            return r.size(key, format).ok().flatten();
        }
        match self.locate_len(key).ok()? {
            Located::Record(f, len) => return (f == format).then_some(len),
            Located::Absent => return None,
            Located::File(_) | Located::Unknown => {}
        }
        let shard = self.shards.as_ref()?.shard(key).ok()?;
        let stat =
            rustix::fs::statat(&shard, file_name(key, format), AtFlags::SYMLINK_NOFOLLOW).ok()?;
        is_file(&stat).then_some(stat.st_size as u64)
    }

    /// Remove a payload; true if there was one.
    pub fn remove(&self, key: &str, format: Format) -> Result<bool> {
        if let Some(r) = &self.remote {
            let removed = r.remove(key, format)?;
            if let Some(len) = removed {
                self.uncount(len);
            }
            return Ok(removed.is_some());
        }
        let shard = self.shards()?.shard(key)?;
        let Some(small) = &self.small else {
            return self.remove_at(shard.as_fd(), key, format);
        };
        match small.summary(key)? {
            Some(seen) if seen.format == format && seen.payload_len.is_some() => {
                let removed = small.remove_if_unchanged(&seen)?;
                if let Some(len) = removed.as_ref().and_then(|r| r.payload_len) {
                    self.uncount(len);
                }
                Ok(removed.is_some())
            }
            // The file, then its marker, unless a put marked a new file meanwhile.
            Some(seen) if seen.format == format => {
                let removed = self.remove_at(shard.as_fd(), key, format)?;
                small.remove_if_unchanged(&seen)?;
                Ok(removed)
            }
            // A file the store does not know of (copied in, an older writer's): removed too.
            _ => self.remove_at(shard.as_fd(), key, format),
        }
    }

    /// [`Self::remove`] on disk, in the shard directory `dir` (the shard of `key`).
    fn remove_at(&self, dir: BorrowedFd<'_>, key: &str, format: Format) -> Result<bool> {
        let name = file_name(key, format);
        let len = rustix::fs::statat(dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW)
            .map_or(0, |s| s.st_size as u64);
        match rustix::fs::unlinkat(dir, name.as_str(), AtFlags::empty()) {
            Ok(()) => {
                self.uncount(len);
                Ok(true)
            }
            Err(Errno::NOENT) => Ok(false),
            Err(e) => Err(io_error(self.shards()?.path_of(key, &name), e)),
        }
    }

    /// Remove the file at `path` (a temporary file, or anything a repair removes), which must
    /// be a file of a shard of a cache on disk, relative to the shard's descriptor; true if it
    /// was there.
    pub fn remove_shard_file(&self, path: &Path) -> Result<bool> {
        let shards = self.shards()?;
        let shard = path
            .parent()
            .and_then(Path::file_name)
            .and_then(|n| n.to_str())
            .and_then(shard_index);
        let name = path.file_name().and_then(|n| n.to_str());
        let (Some(shard), Some(name)) = (shard, name) else {
            return Err(Error::io(
                path,
                std::io::Error::other("not a file of a shard directory"),
            ));
        };
        match rustix::fs::unlinkat(&shards.shard_at(shard)?, name, AtFlags::empty()) {
            Ok(()) => Ok(true),
            Err(Errno::NOENT) => Ok(false),
            Err(e) => Err(io_error(path, e)),
        }
    }

    fn uncount(&self, len: u64) {
        self.usage.add(-i64::try_from(len).unwrap_or(i64::MAX), -1);
    }

    /// The first payload found in a cache on disk, if any, named for a message: a file under
    /// `<root>/blobs/`, or a record of the small-entry store. Whether the cache holds signed
    /// entries, asked before a missing signing key is replaced.
    pub fn first_payload(root: &Path) -> Option<String> {
        let blobs = root.join("blobs");
        let file = (0..=255u8).find_map(|shard| {
            let dir = blobs.join(shard_name(usize::from(shard)));
            fs::read_dir(&dir).ok()?.flatten().find_map(|entry| {
                let name = entry.file_name();
                name.to_str()
                    .and_then(parse_payload_name)
                    .map(|_| entry.path().display().to_string())
            })
        });
        file.or_else(|| {
            if !SmallStore::exists(root) {
                return None;
            }
            let small = SmallStore::open(root, Durability::Buffered).ok()?;
            let first = small
                .summaries()
                .ok()?
                .into_iter()
                .find(|s| s.payload_len.is_some())?;
            Some(format!("{} record {}", small.dir().display(), first.key))
        })
    }

    /// Every payload: each file under `blobs/` (temporary files and names that are not
    /// payloads are left out: repair judges those) and each record of the small-entry store
    /// that holds one. Files that vanish during the walk are skipped.
    pub fn payload_files(&self) -> Result<Vec<PayloadFile>> {
        if let Some(r) = &self.remote {
            return r.payload_files();
        }
        let mut payloads = self.files()?;
        if let Some(small) = &self.small {
            payloads.extend(small.summaries()?.into_iter().filter_map(|s| {
                Some(PayloadFile {
                    len: s.payload_len?,
                    key: s.key,
                    format: s.format,
                    modified: record_time(s.used_at),
                    ino: 0,
                    in_small_store: true,
                })
            }));
        }
        Ok(payloads)
    }

    /// Every payload file under `blobs/` of a cache on disk (see [`Self::payload_files`]).
    fn files(&self) -> Result<Vec<PayloadFile>> {
        let shards = self.shards()?;
        let mut files = Vec::new();
        for i in 0..=255 {
            // A shard that is a link or not a directory holds no payload of this cache:
            // `verify` reports it.
            let Ok(dir) = shards.shard_at(i) else {
                continue;
            };
            let path = shards.shard_path(i);
            let entries = rustix::fs::Dir::read_from(&dir).map_err(|e| io_error(&path, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| io_error(&path, e))?;
                let Some((key, format)) =
                    entry.file_name().to_str().ok().and_then(parse_payload_name)
                else {
                    continue;
                };
                let stat =
                    match rustix::fs::statat(&dir, entry.file_name(), AtFlags::SYMLINK_NOFOLLOW) {
                        Ok(s) if is_file(&s) => s,
                        Ok(_) | Err(Errno::NOENT) => continue,
                        Err(e) => return Err(io_error(path.join(file_name(key, format)), e)),
                    };
                files.push(PayloadFile {
                    key: key.to_string(),
                    format,
                    len: stat.st_size as u64,
                    modified: modified_of(&stat),
                    ino: stat.st_ino,
                    in_small_store: false,
                });
            }
        }
        Ok(files)
    }

    /// Remove `file` only if it is still the file a walk found: same inode and modification
    /// time (not put again, not read since). It is first renamed aside, atomically, and checked
    /// there; a file that changed goes back (unless yet another put took its name, which is
    /// newer and wins). A record goes only if it is still the same record (same format,
    /// length and time). True if it was removed.
    pub fn remove_if_unchanged(&self, file: &PayloadFile) -> Result<bool> {
        if let Some(r) = &self.remote {
            let removed = r.remove_if_unchanged(file)?;
            if removed {
                self.uncount(file.len);
            }
            return Ok(removed);
        }
        if let Some(small) = &self.small {
            if file.in_small_store {
                let seen = Summary {
                    key: file.key.clone(),
                    format: file.format,
                    used_at: file
                        .modified
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX)),
                    payload_len: Some(file.len),
                };
                let removed = small.remove_if_unchanged(&seen)?.is_some();
                if removed {
                    self.uncount(file.len);
                }
                return Ok(removed);
            }
            let marker = small
                .summary(&file.key)?
                .filter(|s| s.format == file.format && s.payload_len.is_none());
            let removed = self.remove_file_if_unchanged(file)?;
            if removed && let Some(marker) = marker {
                small.remove_if_unchanged(&marker)?;
            }
            return Ok(removed);
        }
        self.remove_file_if_unchanged(file)
    }

    /// [`Self::remove_if_unchanged`] for a payload file on disk.
    fn remove_file_if_unchanged(&self, file: &PayloadFile) -> Result<bool> {
        let shards = self.shards()?;
        let shard = shards.shard(&file.key)?;
        let dir = shard.as_fd();
        let name = file_name(&file.key, file.format);
        let path = shards.path_of(&file.key, &name);
        let aside = format!(".{}.{}.evicting.tmp", file.key, file.format.ext());
        let aside_path = shards.path_of(&file.key, &aside);
        match rustix::fs::renameat(dir, name.as_str(), dir, aside.as_str()) {
            Ok(()) => {}
            Err(Errno::NOENT) => return Ok(false),
            Err(e) => return Err(io_error(&path, e)),
        }
        let stat = rustix::fs::statat(dir, aside.as_str(), AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| io_error(&aside_path, e))?;
        let unchanged = stat.st_ino == file.ino && modified_of(&stat) == file.modified;
        let len = stat.st_size as u64;
        if unchanged {
            rustix::fs::unlinkat(dir, aside.as_str(), AtFlags::empty())
                .map_err(|e| io_error(&aside_path, e))?;
            self.uncount(len);
            return Ok(true);
        }
        // Put back without replacing: a link fails if the name was taken meanwhile, by a put
        // that is newer and wins (it counted itself as a new file, so this one is uncounted).
        match rustix::fs::linkat(dir, aside.as_str(), dir, name.as_str(), AtFlags::empty()) {
            Ok(()) => {}
            Err(Errno::EXIST) => self.uncount(len),
            Err(e) => return Err(io_error(&path, e)), // it stays aside; repair reports it
        }
        rustix::fs::unlinkat(dir, aside.as_str(), AtFlags::empty())
            .map_err(|e| io_error(&aside_path, e))?;
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(store: &BlobStore) -> PayloadFile {
        let files = store.payload_files().unwrap();
        assert_eq!(files.len(), 1);
        files.into_iter().next().unwrap()
    }

    #[test]
    fn walks_count_payloads_and_guarded_removal_keeps_what_changed() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path(), Durability::Buffered, false).unwrap();
        let key = "00aabbccddeeff11";
        store
            .put_payload(key, Format::Container, b"first", None)
            .unwrap();
        // Not payloads: a temporary file and a foreign name.
        std::fs::write(dir.path().join("blobs/00/.00aabbccddeeff11.x.tmp"), b"t").unwrap();
        std::fs::write(dir.path().join("blobs/00/notes.txt"), b"n").unwrap();
        let found = one(&store);
        assert_eq!(
            (found.key.as_str(), found.format, found.len),
            (key, Format::Container, 5)
        );

        // Put again (a new inode) after the walk: kept.
        store
            .put_payload(key, Format::Container, b"second", None)
            .unwrap();
        assert!(!store.remove_if_unchanged(&found).unwrap());
        assert_eq!(
            &store.read(key, Format::Container).unwrap().unwrap()[..],
            b"second"
        );

        // Read since the walk (its time moved): kept.
        let found = one(&store);
        std::fs::File::open(store.path(key, Format::Container))
            .unwrap()
            .set_modified(found.modified + std::time::Duration::from_secs(1))
            .unwrap();
        assert!(!store.remove_if_unchanged(&found).unwrap());
        assert!(store.exists(key, Format::Container));

        // Unchanged: removed, and nothing is left aside.
        let found = one(&store);
        assert!(store.remove_if_unchanged(&found).unwrap());
        assert!(!store.exists(key, Format::Container));
        assert!(!store.remove_if_unchanged(&found).unwrap(), "already gone");
        let mut names: Vec<_> = std::fs::read_dir(dir.path().join("blobs/00"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, [".00aabbccddeeff11.x.tmp", "notes.txt"]);
    }

    #[test]
    fn small_payloads_are_records_counted_walked_and_removed_like_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path(), Durability::Buffered, true).unwrap();
        let usage = store.usage();
        usage.calibrate(usage.raw(), 0, 0);
        let key = "00aabbccddeeff11";
        assert!(
            !store
                .put_payload(key, Format::Container, &[1; 100], None)
                .unwrap()
        );
        assert!(store.payload_files().unwrap()[0].in_small_store);
        assert_eq!(store.files().unwrap(), []);
        assert_eq!(store.size(key, Format::Container), Some(100));
        assert_eq!(store.size(key, Format::Parquet), None);
        assert_eq!(usage.estimate(), Some((100, 1)));

        // A large payload in another format: a file, whose marker replaces the record.
        let large = vec![2; SMALL_MAX];
        assert!(
            store
                .put_payload(key, Format::Parquet, &large, None)
                .unwrap()
        );
        assert_eq!(store.read(key, Format::Container).unwrap(), None);
        assert_eq!(
            &store.read(key, Format::Parquet).unwrap().unwrap()[..],
            &large[..]
        );
        assert_eq!(store.files().unwrap().len(), 1);
        assert_eq!(usage.estimate(), Some((SMALL_MAX as u64, 1)));

        // A small payload again: the record replaces the file, which goes.
        assert!(
            store
                .put_payload(key, Format::Container, &[3; 10], None)
                .unwrap()
        );
        assert_eq!(store.files().unwrap(), []);
        assert_eq!(usage.estimate(), Some((10, 1)));
        let (i, format, bytes) = store
            .read_first(key, &[Format::Parquet, Format::Container])
            .unwrap()
            .unwrap();
        assert_eq!(
            (i, format, &bytes[..]),
            (1, Format::Container, &[3; 10][..])
        );

        // A walk's guarded removal: a record put again since is kept.
        let found = store.payload_files().unwrap().remove(0);
        std::thread::sleep(std::time::Duration::from_millis(2));
        store
            .put_payload(key, Format::Container, &[4; 10], None)
            .unwrap();
        assert!(!store.remove_if_unchanged(&found).unwrap());
        let found = store.payload_files().unwrap().remove(0);
        assert!(store.remove_if_unchanged(&found).unwrap());
        assert_eq!(store.read(key, Format::Container).unwrap(), None);
        assert_eq!(usage.estimate(), Some((0, 0)));
        assert!(!store.remove(key, Format::Container).unwrap());
    }

    #[test]
    fn a_small_put_spares_the_file_of_a_large_put_that_marked_the_key_since() {
        // The interleaving of a small and a large put of one key, step by step: the small
        // put's record replaces a marker, then the large put marks and places its file, then
        // the small put goes to remove the file its record replaced.
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path(), Durability::Buffered, true).unwrap();
        let small = store.small().unwrap();
        let key = "33aabbccddeeff11";
        let large = |b: u8| vec![b; SMALL_MAX];
        store
            .put_payload(key, Format::Container, &large(1), None)
            .unwrap();
        small.put_payload(key, Format::Container, b"small").unwrap();
        store
            .put_payload(key, Format::Container, &large(2), None)
            .unwrap();
        let removed = store
            .remove_replaced_files(small, key, Some(Format::Container))
            .unwrap();
        assert!(!removed, "the newer put's file stays");
        assert_eq!(
            &store.read(key, Format::Container).unwrap().unwrap()[..],
            &large(2)[..]
        );
        // Without a newer put, the replaced file goes.
        small.put_payload(key, Format::Container, b"small").unwrap();
        let removed = store
            .remove_replaced_files(small, key, Some(Format::Container))
            .unwrap();
        assert!(removed);
        assert_eq!(store.files().unwrap(), []);
        assert_eq!(
            &store.read(key, Format::Container).unwrap().unwrap()[..],
            b"small"
        );
    }

    #[test]
    fn a_small_put_removes_the_file_it_replaced_though_another_small_put_came_since() {
        // Two small puts of a key whose payload is a file race: the first replaces the
        // marker, the second the first's record, then the first goes to remove the file.
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path(), Durability::Buffered, true).unwrap();
        let small = store.small().unwrap();
        let key = "44aabbccddeeff11";
        store
            .put_payload(key, Format::B2nd, &vec![1; SMALL_MAX], None)
            .unwrap();
        small.put_payload(key, Format::Container, b"first").unwrap();
        small
            .put_payload(key, Format::Container, b"second!")
            .unwrap();
        let removed = store
            .remove_replaced_files(small, key, Some(Format::B2nd))
            .unwrap();
        assert!(removed, "no file of the key is current");
        assert_eq!(store.files().unwrap(), []);
        assert_eq!(
            &store.read(key, Format::Container).unwrap().unwrap()[..],
            b"second!"
        );
    }

    #[test]
    fn a_file_without_a_marker_is_found_only_until_every_file_is_marked() {
        let dir = tempfile::tempdir().unwrap();
        let key = "11aabbccddeeff11";
        {
            let files = BlobStore::open(dir.path(), Durability::Buffered, false).unwrap();
            files
                .put_payload(key, Format::Container, b"old", None)
                .unwrap();
        }
        // The first open with the store marks the file: it is read where it is.
        let store = BlobStore::open(dir.path(), Durability::Buffered, true).unwrap();
        assert_eq!(
            &store.read(key, Format::Container).unwrap().unwrap()[..],
            b"old"
        );
        // A file copied in afterwards has no marker: a miss, until marked (`repair`).
        let copied = "22aabbccddeeff11";
        std::fs::write(store.path(copied, Format::Container), b"copied").unwrap();
        assert_eq!(store.read(copied, Format::Container).unwrap(), None);
        assert_eq!(store.mark_files().unwrap(), 1);
        assert_eq!(
            &store.read(copied, Format::Container).unwrap().unwrap()[..],
            b"copied"
        );
        // Its removal takes the marker too.
        assert!(store.remove(copied, Format::Container).unwrap());
        assert_eq!(store.small().unwrap().get(copied).unwrap(), None);
    }

    #[test]
    fn writes_and_removals_move_the_usage_counters() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path(), Durability::Buffered, false).unwrap();
        let usage = store.usage();
        usage.calibrate(usage.raw(), 0, 0);
        store
            .put_payload("00aabbccddeeff11", Format::Container, &[0; 100], None)
            .unwrap();
        store
            .put_payload("11aabbccddeeff11", Format::Parquet, &[0; 50], None)
            .unwrap();
        assert_eq!(usage.estimate(), Some((150, 2)));
        // A replacement of the same format adds its size (the old one is unknown): an
        // over-estimate, never an under-estimate.
        store
            .put_payload("00aabbccddeeff11", Format::Container, &[0; 10], None)
            .unwrap();
        assert_eq!(usage.estimate(), Some((160, 2)));
        assert!(store.remove("11aabbccddeeff11", Format::Parquet).unwrap());
        assert_eq!(usage.estimate(), Some((110, 1)));
        assert!(!store.remove("11aabbccddeeff11", Format::Parquet).unwrap());
        assert_eq!(usage.estimate(), Some((110, 1)));
    }
}
