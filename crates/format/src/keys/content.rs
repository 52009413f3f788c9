//! Content-hashed key parameters: files and directory trees keyed by what they hold, not by
//! where they are (spec: `docs/KEYS.md`).
//!
//! - A **file** is keyed by the XXH3-128 of its bytes: the same bytes at two paths give the same
//!   key, an edit gives a new one. Files of [`MMAP_MIN`] bytes or more are memory-mapped, smaller
//!   ones read in 1 MiB blocks.
//! - A **directory** is keyed by its tree: XXH3-128 over `"cndir1"` then, for every regular file
//!   under it (symbolic links followed) in byte order of its relative path (`/`-separated),
//!   `u64le(len) path-bytes file-digest(16 bytes, big-endian)`. Empty directories add nothing.
//!   When a tree has at least [`PARALLEL_MIN_FILES`] files, they are stat'ed in parallel, and
//!   when it has that many files or [`PARALLEL_MIN_BYTES`] bytes to read, they are hashed in
//!   parallel (rayon): below that, handing work to the pool costs more than it saves
//!   (`benches/examples/tree_threshold.rs`: parallel loses up to 32 files, wins from 64).
//! - A **stat cache** remembers each hashed file's device, inode, size, modification and change
//!   times: a file whose stat is unchanged is not read again. An entry is trusted only if it was
//!   recorded at least [`RACY_WINDOW`] after the file's last change (a file edited within the
//!   clock tick of its hashing could otherwise keep the same stat). A cache's hasher keeps its
//!   stat cache in `<root>/stat-cache.v1`, saved at most once per [`SAVE_INTERVAL`] while
//!   paths are hashed and when the hasher is dropped (with its cache), and authenticated
//!   with the cache's signing key: a forged entry would key one file's content as another's,
//!   so a file that fails its MAC is ignored.

use std::collections::HashMap;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

use super::value::{Digest, DigestKind, Value};
use crate::error::{Error, Result};
use crate::signing::Signer;

/// Files at least this large are memory-mapped rather than read.
pub const MMAP_MIN: u64 = 16 << 20;
/// A tree with this many files to read is hashed in parallel.
pub const PARALLEL_MIN_FILES: usize = 64;
/// A tree with this many bytes to read is hashed in parallel.
pub const PARALLEL_MIN_BYTES: u64 = 64 << 20;
/// A stat cache entry recorded less than this after its file's last change is not trusted.
pub const RACY_WINDOW: Duration = Duration::from_secs(1);
/// The most entries a stat cache keeps (the oldest recorded go first).
pub const STAT_CACHE_MAX: usize = 1_000_000;
/// The least time between two saves of a stat cache while paths are hashed: a function called
/// with a thousand files does not rewrite the file a thousand times.
pub const SAVE_INTERVAL: Duration = Duration::from_secs(1);
/// The stat cache file under a cache root.
pub const STAT_CACHE_FILE: &str = "stat-cache.v1";
const READ_BLOCK: usize = 1 << 20;

/// What to do with a path parameter that does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingPath {
    /// Fail, naming the path (the default: a typo should not quietly become a key).
    #[default]
    Error,
    /// Key it by its name (the path as text), as a string parameter.
    KeyByName,
}

/// The identity and times of a file when it was hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Stat {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Stat {
    fn of(m: &std::fs::Metadata) -> Stat {
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        Stat {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime_ns: ns(m.mtime(), m.mtime_nsec()),
            ctime_ns: ns(m.ctime(), m.ctime_nsec()),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Remembered {
    stat: Stat,
    hash: u128,
    recorded_ns: i128,
}

impl Remembered {
    fn trusted_for(&self, stat: &Stat) -> bool {
        let changed = self.stat.mtime_ns.max(self.stat.ctime_ns);
        self.stat == *stat && self.recorded_ns - changed >= RACY_WINDOW.as_nanos() as i128
    }
}

fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

/// How much work a hasher did (for tests and benchmarks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HashCounters {
    /// Files read and hashed.
    pub files_read: u64,
    /// Bytes read and hashed.
    pub bytes_read: u64,
    /// Files answered by the stat cache without reading.
    pub stat_hits: u64,
}

#[derive(Default)]
struct StatCache {
    loaded: bool,
    dirty: bool,
    last_save: Option<std::time::Instant>,
    by_inode: HashMap<(u64, u64), Remembered>,
}

/// Hashes files and directory trees, with a stat cache. Cheap to share between threads.
pub struct ContentHasher {
    file: Option<(PathBuf, Signer)>,
    stats: Mutex<StatCache>,
    files_read: AtomicU64,
    bytes_read: AtomicU64,
    stat_hits: AtomicU64,
}

impl std::fmt::Debug for ContentHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContentHasher")
            .field("file", &self.file.as_ref().map(|(f, _)| f))
            .finish()
    }
}

impl ContentHasher {
    /// A hasher whose stat cache lives in this process only.
    pub fn in_memory() -> Self {
        Self::new(None)
    }

    /// A hasher whose stat cache is kept in `file` (loaded on first use, saved after each path
    /// hashed), authenticated with `signer`. A missing, unreadable or unauthentic file starts an
    /// empty cache: it only saves work.
    pub fn persistent(file: impl Into<PathBuf>, signer: Signer) -> Self {
        Self::new(Some((file.into(), signer)))
    }

    fn new(file: Option<(PathBuf, Signer)>) -> Self {
        ContentHasher {
            file,
            stats: Mutex::new(StatCache::default()),
            files_read: AtomicU64::new(0),
            bytes_read: AtomicU64::new(0),
            stat_hits: AtomicU64::new(0),
        }
    }

    /// The work done so far.
    pub fn counters(&self) -> HashCounters {
        HashCounters {
            files_read: self.files_read.load(Ordering::Relaxed),
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
            stat_hits: self.stat_hits.load(Ordering::Relaxed),
        }
    }

    /// The key value of a path: the digest of a file or a directory tree. A missing path is an
    /// error, or its name as a string with [`MissingPath::KeyByName`].
    pub fn path_value(&self, path: &Path, missing: MissingPath) -> Result<Value> {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return match missing {
                    MissingPath::KeyByName => Ok(Value::Str(path.to_string_lossy().into_owned())),
                    MissingPath::Error => Err(Error::io(path, e)),
                };
            }
            Err(e) => return Err(Error::io(path, e)),
        };
        let digest = if meta.is_dir() {
            Digest {
                kind: DigestKind::Directory,
                hash: self.hash_dir(path)?,
            }
        } else {
            Digest {
                kind: DigestKind::File,
                hash: self.hash_file_with(path, &meta)?,
            }
        };
        let due = self.with_stats(|s| s.last_save.is_none_or(|t| t.elapsed() >= SAVE_INTERVAL));
        if due {
            self.save_or_warn();
        }
        Ok(Value::Digest(digest))
    }

    /// The XXH3-128 of a file's bytes (consulting and feeding the stat cache).
    pub fn hash_file(&self, path: &Path) -> Result<u128> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        self.hash_file_with(path, &meta)
    }

    fn hash_file_with(&self, path: &Path, meta: &std::fs::Metadata) -> Result<u128> {
        if !meta.is_file() {
            return Err(not_regular(path));
        }
        let stat = Stat::of(meta);
        if let Some(hash) = self.remembered(&stat) {
            return Ok(hash);
        }
        let recorded_ns = now_ns();
        let hash = self.read_and_hash(path, meta.len())?;
        self.remember(Remembered {
            stat,
            hash,
            recorded_ns,
        });
        Ok(hash)
    }

    fn read_and_hash(&self, path: &Path, len: u64) -> Result<u128> {
        let io = |e| Error::io(path, e);
        let mut file = std::fs::File::open(path).map_err(io)?;
        let (hash, read) = if len >= MMAP_MIN {
            // SAFETY: the map is read-only and dropped before returning. A file truncated by
            // another process meanwhile raises SIGBUS, as for any mapped reader; that is why
            // small files, the common case, are read instead.
            let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
            let _ = map.advise(memmap2::Advice::Sequential);
            (xxhash_rust::xxh3::xxh3_128(&map), map.len() as u64)
        } else {
            let mut hasher = Xxh3::new();
            let mut buf = vec![0u8; READ_BLOCK.min(len as usize + 1).max(4096)];
            let mut read = 0u64;
            loop {
                let n = file.read(&mut buf).map_err(io)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                read += n as u64;
            }
            (hasher.digest128(), read)
        };
        self.files_read.fetch_add(1, Ordering::Relaxed);
        self.bytes_read.fetch_add(read, Ordering::Relaxed);
        Ok(hash)
    }

    /// The digest of a directory tree (see the module doc).
    pub fn hash_dir(&self, root: &Path) -> Result<u128> {
        // The walk reads directories only (types come from the directory entries); the files
        // are then stat'ed, in parallel for a large tree.
        let mut paths: Vec<(Vec<u8>, PathBuf)> = Vec::new();
        for entry in walkdir::WalkDir::new(root).follow_links(true) {
            let entry = entry.map_err(|e| {
                let path = e.path().unwrap_or(root).to_path_buf();
                Error::io(path, e.into())
            })?;
            if entry.file_type().is_dir() {
                continue;
            }
            let relative = entry.path().strip_prefix(root).unwrap_or(entry.path());
            paths.push((relative.as_os_str().as_bytes().to_vec(), entry.into_path()));
        }
        let stat_one = |(relative, path): (Vec<u8>, PathBuf)| {
            let meta = std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?;
            if !meta.is_file() {
                return Err(not_regular(&path));
            }
            Ok((relative, path, meta))
        };
        let mut files: Vec<(Vec<u8>, PathBuf, std::fs::Metadata)> =
            if paths.len() >= PARALLEL_MIN_FILES {
                paths.into_par_iter().map(stat_one).collect::<Result<_>>()?
            } else {
                paths.into_iter().map(stat_one).collect::<Result<_>>()?
            };
        files.sort_by(|a, b| a.0.cmp(&b.0));
        // One look at the stat cache for the whole tree; only the files it cannot answer are
        // read, in parallel when there are enough of them.
        let stats: Vec<Stat> = files.iter().map(|(_, _, m)| Stat::of(m)).collect();
        let mut hashes: Vec<Option<u128>> = self.with_stats(|s| {
            stats
                .iter()
                .map(|stat| {
                    s.by_inode
                        .get(&(stat.dev, stat.ino))
                        .filter(|r| r.trusted_for(stat))
                        .map(|r| r.hash)
                })
                .collect()
        });
        let known = hashes.iter().filter(|h| h.is_some()).count() as u64;
        self.stat_hits.fetch_add(known, Ordering::Relaxed);
        let unknown: Vec<usize> = (0..files.len()).filter(|i| hashes[*i].is_none()).collect();
        let to_read: u64 = unknown.iter().map(|i| files[*i].2.len()).sum();
        let parallel = unknown.len() >= PARALLEL_MIN_FILES || to_read >= PARALLEL_MIN_BYTES;
        let read_one = |i: &usize| -> Result<(usize, Remembered)> {
            let (_, path, meta) = &files[*i];
            let recorded_ns = now_ns();
            let hash = self.read_and_hash(path, meta.len())?;
            Ok((
                *i,
                Remembered {
                    stat: stats[*i],
                    hash,
                    recorded_ns,
                },
            ))
        };
        let read: Vec<(usize, Remembered)> = if parallel {
            unknown.par_iter().map(read_one).collect::<Result<_>>()?
        } else {
            unknown.iter().map(read_one).collect::<Result<_>>()?
        };
        for (i, r) in &read {
            hashes[*i] = Some(r.hash);
        }
        if !read.is_empty() {
            self.with_stats(|s| {
                for (_, r) in read {
                    s.by_inode.insert((r.stat.dev, r.stat.ino), r);
                }
                s.dirty = true;
            });
        }
        let hashes = hashes.into_iter().map(|h| h.unwrap_or_default());
        let mut tree = Xxh3::new();
        tree.update(b"cndir1");
        for ((relative, _, _), hash) in files.iter().zip(hashes) {
            tree.update(&(relative.len() as u64).to_le_bytes());
            tree.update(relative);
            tree.update(&hash.to_be_bytes());
        }
        Ok(tree.digest128())
    }

    fn with_stats<R>(&self, f: impl FnOnce(&mut StatCache) -> R) -> R {
        let mut stats = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
        if !stats.loaded {
            stats.loaded = true;
            if let Some((file, signer)) = &self.file {
                stats.by_inode = load(file, signer);
            }
        }
        f(&mut stats)
    }

    fn remembered(&self, stat: &Stat) -> Option<u128> {
        let hash = self.with_stats(|s| {
            s.by_inode
                .get(&(stat.dev, stat.ino))
                .filter(|r| r.trusted_for(stat))
                .map(|r| r.hash)
        })?;
        self.stat_hits.fetch_add(1, Ordering::Relaxed);
        Some(hash)
    }

    fn remember(&self, r: Remembered) {
        self.with_stats(|s| {
            s.by_inode.insert((r.stat.dev, r.stat.ino), r);
            s.dirty = true;
        });
    }

    /// The stat cache only saves work: a cache directory that cannot take it (read-only, full)
    /// costs re-reading next time, not a key.
    fn save_or_warn(&self) {
        if let Err(e) = self.save() {
            tracing::warn!("stat cache not saved: {e}");
        }
    }

    /// Write the stat cache to its file if it changed (atomically; a failure is an error naming
    /// the file, and leaves the previous file in place).
    pub fn save(&self) -> Result<()> {
        let Some((file, signer)) = &self.file else {
            return Ok(());
        };
        self.with_stats(|s| {
            if !s.dirty {
                return Ok(());
            }
            if s.by_inode.len() > STAT_CACHE_MAX {
                let mut recorded: Vec<i128> = s.by_inode.values().map(|r| r.recorded_ns).collect();
                recorded.sort_unstable();
                let cutoff = recorded[s.by_inode.len() - STAT_CACHE_MAX];
                s.by_inode.retain(|_, r| r.recorded_ns >= cutoff);
            }
            let entries: Vec<&Remembered> = s.by_inode.values().collect();
            let mut bytes = rmp_serde::to_vec(&entries).map_err(|e| Error::Encode {
                key: file.display().to_string(),
                what: "stat cache".into(),
                reason: e.to_string(),
            })?;
            let mac = signer.mac(MAC_PURPOSE, &bytes);
            bytes.extend_from_slice(&mac);
            let dir = file.parent().unwrap_or(Path::new("."));
            let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
            std::io::Write::write_all(&mut tmp, &bytes).map_err(|e| Error::io(file, e))?;
            tmp.persist(file).map_err(|e| Error::io(file, e.error))?;
            s.dirty = false;
            s.last_save = Some(std::time::Instant::now());
            Ok(())
        })
    }
}

impl Drop for ContentHasher {
    fn drop(&mut self) {
        self.save_or_warn();
    }
}

/// The error of a FIFO, socket or device given to be hashed (reading one could block forever).
fn not_regular(path: &Path) -> Error {
    Error::io(
        path,
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file or directory: cannot be content-hashed",
        ),
    )
}

/// Compare MACs in constant time.
fn subtle_eq(a: &[u8; 32], b: &[u8]) -> bool {
    b.len() == 32 && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What the stat cache's MAC is for.
const MAC_PURPOSE: &str = "stat cache v1";

/// Read a stat cache file (MessagePack entries, then their 32-byte MAC); anything unreadable
/// or unauthentic is an empty cache (it only saves work).
fn load(file: &Path, signer: &Signer) -> HashMap<(u64, u64), Remembered> {
    let Ok(bytes) = std::fs::read(file) else {
        return HashMap::new();
    };
    let Some(split) = bytes.len().checked_sub(32) else {
        return HashMap::new();
    };
    let (body, mac) = bytes.split_at(split);
    if !subtle_eq(&signer.mac(MAC_PURPOSE, body), mac) {
        tracing::warn!(file = %file.display(), "stat cache fails its MAC, ignored");
        return HashMap::new();
    }
    match rmp_serde::from_slice::<Vec<Remembered>>(body) {
        Ok(entries) => entries
            .into_iter()
            .map(|r| ((r.stat.dev, r.stat.ino), r))
            .collect(),
        Err(e) => {
            tracing::warn!(file = %file.display(), "stat cache unreadable, starting empty: {e}");
            HashMap::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Set a file's modification time into the past; its change time stays "now", so entries
    /// recorded for it are not trusted until [`RACY_WINDOW`] has passed.
    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn signer() -> Signer {
        Signer::from_key(&[7; 32])
    }

    fn digest(v: Value) -> Digest {
        match v {
            Value::Digest(d) => d,
            other => panic!("not a digest: {other:?}"),
        }
    }

    #[test]
    fn a_file_is_keyed_by_its_bytes_not_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let h = ContentHasher::in_memory();
        let a = write(dir.path(), "a.csv", b"x,y\n1,2\n");
        let b = write(dir.path(), "copy/b.csv", b"x,y\n1,2\n");
        let c = write(dir.path(), "c.csv", b"x,y\n1,3\n");
        let da = digest(h.path_value(&a, MissingPath::Error).unwrap());
        assert_eq!(da.kind, DigestKind::File);
        assert_eq!(da.hash, xxhash_rust::xxh3::xxh3_128(b"x,y\n1,2\n"));
        assert_eq!(da, digest(h.path_value(&b, MissingPath::Error).unwrap()));
        assert_ne!(da, digest(h.path_value(&c, MissingPath::Error).unwrap()));
    }

    #[test]
    fn a_missing_path_is_an_error_naming_it_or_its_name_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let h = ContentHasher::in_memory();
        let missing = dir.path().join("nope.parquet");
        let err = h.path_value(&missing, MissingPath::Error).unwrap_err();
        assert!(err.to_string().contains("nope.parquet"), "{err}");
        assert_eq!(
            h.path_value(&missing, MissingPath::KeyByName).unwrap(),
            Value::Str(missing.to_string_lossy().into_owned())
        );
    }

    #[test]
    fn a_tree_is_keyed_by_relative_paths_and_contents() {
        let dir = tempfile::tempdir().unwrap();
        let h = ContentHasher::in_memory();
        let one = dir.path().join("one");
        let two = dir.path().join("two");
        for root in [&one, &two] {
            write(root, "a.txt", b"a");
            write(root, "a/b.txt", b"b");
            std::fs::create_dir_all(root.join("empty")).unwrap();
        }
        let d1 = h.hash_dir(&one).unwrap();
        assert_eq!(d1, h.hash_dir(&two).unwrap(), "same tree, other place");
        // The spec, by hand: files in byte order of their relative paths ("a.txt" < "a/b.txt").
        let mut spec = Xxh3::new();
        spec.update(b"cndir1");
        for (rel, content) in [("a.txt", b"a"), ("a/b.txt", b"b")] {
            spec.update(&(rel.len() as u64).to_le_bytes());
            spec.update(rel.as_bytes());
            spec.update(&xxhash_rust::xxh3::xxh3_128(content).to_be_bytes());
        }
        assert_eq!(d1, spec.digest128());
        std::fs::rename(two.join("a/b.txt"), two.join("a/c.txt")).unwrap();
        assert_ne!(d1, h.hash_dir(&two).unwrap(), "a rename changes the tree");
        write(&one, "a/b.txt", b"B");
        assert_ne!(d1, h.hash_dir(&one).unwrap(), "an edit changes the tree");
    }

    #[test]
    fn parallel_and_sequential_hashing_agree() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..PARALLEL_MIN_FILES + 5 {
            write(dir.path(), &format!("d{}/f{i}", i % 7), &[i as u8; 100]);
        }
        let parallel = ContentHasher::in_memory().hash_dir(dir.path()).unwrap();
        let mut spec = Xxh3::new();
        spec.update(b"cndir1");
        let mut names: Vec<String> = (0..PARALLEL_MIN_FILES + 5)
            .map(|i| format!("d{}/f{i}", i % 7))
            .collect();
        names.sort();
        for name in names {
            let i: usize = name.rsplit('f').next().unwrap().parse().unwrap();
            spec.update(&(name.len() as u64).to_le_bytes());
            spec.update(name.as_bytes());
            spec.update(&xxhash_rust::xxh3::xxh3_128(&[i as u8; 100]).to_be_bytes());
        }
        assert_eq!(parallel, spec.digest128());
    }

    #[test]
    fn the_stat_cache_skips_unchanged_files_and_never_trusts_a_racy_entry() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "data.bin", b"first");
        let h = ContentHasher::persistent(dir.path().join(STAT_CACHE_FILE), signer());
        h.hash_file(&path).unwrap();
        h.hash_file(&path).unwrap();
        // Hashed within the racy window of its last change: read both times.
        assert_eq!(h.counters().files_read, 2);
        std::thread::sleep(RACY_WINDOW + Duration::from_millis(50));
        let first = h.hash_file(&path).unwrap();
        assert_eq!(h.counters().files_read, 3);
        assert_eq!(h.hash_file(&path).unwrap(), first);
        assert_eq!(
            h.counters().files_read,
            3,
            "unchanged: the stat cache answers"
        );
        assert_eq!(h.counters().stat_hits, 1);
        h.save().unwrap();
        // Another process (a new hasher on the same file) trusts the saved entry.
        let again = ContentHasher::persistent(dir.path().join(STAT_CACHE_FILE), signer());
        assert_eq!(again.hash_file(&path).unwrap(), first);
        assert_eq!(again.counters().files_read, 0);
        // An edit of the same size is seen (the change time moves).
        std::fs::write(&path, b"secnd").unwrap();
        assert_ne!(again.hash_file(&path).unwrap(), first);
        assert_eq!(again.counters().files_read, 1);
    }

    #[test]
    fn a_fifo_in_a_tree_is_an_error_naming_it_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.txt", b"a");
        let fifo = dir.path().join("pipe");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let h = ContentHasher::in_memory();
        let err = h.hash_dir(dir.path()).unwrap_err();
        assert!(err.to_string().contains("pipe"), "{err}");
        let err = h.path_value(&fifo, MissingPath::Error).unwrap_err();
        assert!(err.to_string().contains("pipe"), "{err}");
    }

    #[test]
    fn saves_are_spaced_while_hashing_and_the_last_happens_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(STAT_CACHE_FILE);
        let paths: Vec<PathBuf> = (0..3)
            .map(|i| write(dir.path(), &format!("f{i}"), &[i as u8; 10]))
            .collect();
        std::thread::sleep(RACY_WINDOW + Duration::from_millis(50));
        let h = ContentHasher::persistent(&file, signer());
        h.path_value(&paths[0], MissingPath::Error).unwrap();
        assert_eq!(
            load(&file, &signer()).len(),
            1,
            "the first path saves at once"
        );
        h.path_value(&paths[1], MissingPath::Error).unwrap();
        h.path_value(&paths[2], MissingPath::Error).unwrap();
        assert_eq!(
            load(&file, &signer()).len(),
            1,
            "within the interval: not yet"
        );
        drop(h);
        assert_eq!(
            load(&file, &signer()).len(),
            3,
            "dropping the hasher saves the rest"
        );
    }

    #[test]
    fn a_corrupt_stat_cache_file_is_an_empty_cache() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "x", b"x");
        std::fs::write(dir.path().join(STAT_CACHE_FILE), b"\xc1garbage").unwrap();
        let h = ContentHasher::persistent(dir.path().join(STAT_CACHE_FILE), signer());
        assert_eq!(
            h.hash_file(&path).unwrap(),
            xxhash_rust::xxh3::xxh3_128(b"x")
        );
        h.save().unwrap();
        assert!(!load(&dir.path().join(STAT_CACHE_FILE), &signer()).is_empty());
    }

    #[test]
    fn a_stat_cache_forged_without_the_key_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "x", b"x");
        std::thread::sleep(RACY_WINDOW + Duration::from_millis(50));
        let file = dir.path().join(STAT_CACHE_FILE);
        // Whoever writes the directory without the key: a stat cache claiming another digest,
        // under another key's MAC.
        let forger = ContentHasher::persistent(&file, Signer::from_key(&[9; 32]));
        forger.hash_file(&path).unwrap();
        forger.with_stats(|s| {
            for r in s.by_inode.values_mut() {
                r.hash = 42;
            }
        });
        forger.save().unwrap();
        let h = ContentHasher::persistent(&file, signer());
        assert_eq!(
            h.hash_file(&path).unwrap(),
            xxhash_rust::xxh3::xxh3_128(b"x")
        );
        assert_eq!(h.counters().files_read, 1, "the forged entry was not used");
        // The same file under the right key is used.
        h.save().unwrap();
        let trusted = ContentHasher::persistent(&file, signer());
        trusted.hash_file(&path).unwrap();
        assert_eq!(trusted.counters().files_read, 0);
    }
}
