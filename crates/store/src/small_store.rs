//! The small-entry store: container payloads under [`SMALL_MAX`] bytes
//! (`crate::store::in_small_store`) kept as records of one LMDB
//! environment (`<root>/small/`, through `heed`) instead of a file each, beside a marker for
//! every key whose payload is a file. A small put then costs a write transaction in memory
//! shared by every process (no inode to allocate, whatever state the disk is in), and a get of
//! a key never stored is answered from the store without a system call.
//!
//! Why LMDB, and the measurements behind the choice and the threshold: `docs/ARCHITECTURE.md`,
//! "Small entries". The bytes a record holds are the payload file's bytes exactly (the same
//! signed container, Parquet or Blosc2 frame), checked the same way on every read.
//!
//! A record, keyed by the cache key's 8 bytes (big-endian, so records sort as the keys' hex):
//!
//! | bytes | field |
//! |---|---|
//! | 1 | kind: `P` the payload follows, `F` the payload is the key's file |
//! | 1 | format: 0 container, 1 Parquet, 2 Blosc2 |
//! | 8 | when the record was written or last got (µs since the epoch, little-endian): what a
//! |   | payload file's modification time is to least-recently-used eviction |
//! | rest | the payload (kind `P` only) |
//!
//! LMDB serialises writers across processes with a robust mutex in its lock file (a writer
//! killed inside a transaction leaves nothing behind: the transaction never committed), and
//! readers never wait. A committed transaction's pages are written to the file before the
//! commit returns, so an acknowledged put survives `kill -9`; with `durability = fsync` the
//! commit also syncs, and survives power loss.
//!
//! One process opens an environment once (LMDB's rule): caches of one root in one process
//! share it ([`SmallStore::open`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, Weak};

use heed::types::{Bytes, Str};
use heed::{Database, Env, EnvFlags, EnvOpenOptions};

use cacheness_format::codec::Format;
use cacheness_format::keys::CacheKey;

use crate::config::Durability;
use crate::error::{Error, Result};

/// Container payloads shorter than this live in the small-entry store; longer ones, and
/// tables and arrays, are a file each (`crate::store::in_small_store`).
pub const SMALL_MAX: usize = 64 << 10;

/// The store's directory under the cache root.
pub const DIR: &str = "small";

/// The address space the environment may grow into. Only what is used is on disk (the file
/// grows as pages are written, and pages freed by removals are used again).
const MAP_SIZE: usize = 1 << 40;

/// Disk space kept allocated past the store's last page (`fallocate`): the pages of the next
/// transactions, so that undoing a put whose catalog row could not be journaled (a full
/// disk) still finds room for its delete, and so that the data file is never shorter than
/// its last page says ([`SmallStore::open`]).
const RESERVE: u64 = 1 << 20;

/// Bytes of a record before the payload.
const HEAD: usize = 10;

/// The `state` record that says every payload file of the cache has its marker.
const COMPLETE: &str = "markers-complete";

/// What the store holds for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    /// The payload itself: the bytes its file would hold.
    Payload(Vec<u8>),
    /// A marker: the payload is the key's file (`<root>/blobs/…`).
    File,
}

/// A key's record: what it holds, in which format, since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The payload's format.
    pub format: Format,
    /// When the record was written or last got (µs since the epoch; `crate::access`).
    pub used_at: i64,
    /// The payload or a marker.
    pub held: Held,
}

/// Where the payload of a key is, as the store tells: `P` is what a record holding the
/// payload gives (its bytes, or its length).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Located<P> {
    /// A record holding the payload in this format.
    Record(Format, P),
    /// A marker: the payload is the key's file in this format.
    File(Format),
    /// Nothing: every payload file has its marker, so there is no payload.
    Absent,
    /// Nothing, but not every file is marked yet: look for the key's files.
    Unknown,
}

/// A record without its payload: what a walk of the store lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The key.
    pub key: String,
    /// The payload's format.
    pub format: Format,
    /// When the record was written or last got (µs since the epoch).
    pub used_at: i64,
    /// The payload's length, for a record that holds one; `None` for a marker.
    pub payload_len: Option<u64>,
}

struct Shared {
    env: Env,
    entries: Database<Bytes, Bytes>,
    state: Database<Str, Bytes>,
    /// The `markers-complete` flag once read as set: it is never cleared, so a get reads it
    /// from memory after the first time.
    complete: AtomicBool,
    /// The data file's path, and the file once a write needed it for [`RESERVE`] (held open,
    /// never closed before the environment: LMDB warns against closing its files'
    /// descriptors while it has them open). A process that only reads never opens it.
    data_path: PathBuf,
    data: std::sync::OnceLock<Option<std::fs::File>>,
    /// Where the space allocated ahead of the data file ends, as far as this process knows.
    reserved_to: std::sync::atomic::AtomicU64,
}

/// The bytes of the data file up to the end of its last page, as its meta page says.
fn pages_end(env: &Env) -> u64 {
    (env.info().last_page_number as u64 + 1).saturating_mul(u64::from(env.stat().page_size))
}

impl Shared {
    /// Keep [`RESERVE`] bytes allocated past the data file's last page, topped up once half
    /// of it is used. A file system without `fallocate`, or a full one, keeps none.
    fn reserve(&self) {
        let used = pages_end(&self.env);
        if used + RESERVE / 2 <= self.reserved_to.load(Ordering::Relaxed) {
            return;
        }
        // The file's size grows with the space: it is never shorter than its last page.
        let mode = rustix::fs::FallocateFlags::empty();
        let data = self.data.get_or_init(|| {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(&self.data_path);
            file.inspect_err(|e| tracing::debug!("cannot reserve space for the store: {e}"))
                .ok()
        });
        if let Some(data) = data
            && rustix::fs::fallocate(data, mode, used, RESERVE).is_ok()
        {
            self.reserved_to.store(used + RESERVE, Ordering::Relaxed);
        }
    }
}

/// The small-entry store of one cache root. Cheap to clone; every clone in a process shares
/// one LMDB environment.
#[derive(Clone)]
pub struct SmallStore {
    shared: Arc<Shared>,
    dir: PathBuf,
}

impl std::fmt::Debug for SmallStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SmallStore({})", self.dir.display())
    }
}

/// The environments this process has open, by directory.
/// The environments this process has open, by directory, with the process that opened them
/// (a forked child inherits the map, and must not use its parent's environments).
static OPEN: LazyLock<Mutex<HashMap<PathBuf, Opened>>> = LazyLock::new(Default::default);

/// An environment in [`OPEN`]: the process that opened it, and the environment while open.
type Opened = (u32, Weak<Shared>);

fn format_byte(format: Format) -> u8 {
    match format {
        Format::Container => 0,
        Format::Parquet => 1,
        Format::B2nd => 2,
    }
}

fn byte_format(b: u8) -> Option<Format> {
    match b {
        0 => Some(Format::Container),
        1 => Some(Format::Parquet),
        2 => Some(Format::B2nd),
        _ => None,
    }
}

/// The record key of a cache key: its 64 bits, big-endian.
fn record_key(key: &str) -> Result<[u8; 8]> {
    let key = CacheKey::parse(key)?;
    cacheness_format::keys::unhex(key.as_str())
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .ok_or_else(|| Error::corrupt(format!("key {key}"), "not 16 hex digits"))
}

/// Where a payload is, from a key's record (its format and payload, if it holds one), or,
/// with no record, from whether every payload file has its marker (`complete`, asked only
/// then).
fn located<P>(
    found: Option<(Format, Option<P>)>,
    complete: impl FnOnce() -> Result<bool>,
) -> Result<Located<P>> {
    Ok(match found {
        Some((format, Some(payload))) => Located::Record(format, payload),
        Some((format, None)) => Located::File(format),
        None if complete()? => Located::Absent,
        None => Located::Unknown,
    })
}

fn encode(format: Format, used_at: i64, payload: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEAD + payload.map_or(0, <[u8]>::len));
    out.push(if payload.is_some() { b'P' } else { b'F' });
    out.push(format_byte(format));
    out.extend_from_slice(&used_at.to_le_bytes());
    out.extend_from_slice(payload.unwrap_or_default());
    out
}

/// A record as the store's readers take it ([`decode`]); one this version cannot read (a
/// damaged head) is a container payload of all its bytes, time 0: the read path's checks
/// fail on it and remove it, and count it, as they would any damaged payload.
fn decode_or_damaged(record: &[u8]) -> (Format, i64, Option<&[u8]>) {
    decode(record).unwrap_or((Format::Container, 0, Some(record)))
}

/// The head of a record: its format, when it was written, and its payload if it holds one.
fn decode(record: &[u8]) -> Option<(Format, i64, Option<&[u8]>)> {
    let (head, rest) = record.split_first_chunk::<HEAD>()?;
    let format = byte_format(head[1])?;
    let used_at = i64::from_le_bytes(head[2..].try_into().ok()?);
    match head[0] {
        b'P' => Some((format, used_at, Some(rest))),
        b'F' if rest.is_empty() => Some((format, used_at, None)),
        _ => None,
    }
}

impl SmallStore {
    /// Open (or create) the small-entry store of the cache at `root`.
    ///
    /// LMDB maps its data file, and a read past the file's end would fault (`SIGBUS`). A file
    /// shorter than its own last page says is not always damaged: LMDB never writes a page a
    /// transaction allocated and freed again, and the last pages of a file can be such pages.
    /// This store keeps the file longer than its last page ([`RESERVE`]) after each of its
    /// transactions, so a shorter one was cut (by hand, by another tool) or left by a process
    /// killed between a commit and that step. It is then lengthened with zeros (no read can
    /// fault) and every record read once: a page that was cut reads as zeros, which LMDB
    /// reports as corruption. A store that fails is moved aside to `small.damaged-<µs>` and a
    /// new one started: its payloads are lost (their catalog rows then have no payload, which
    /// `repair` reports and removes) and its markers are rebuilt by the walk of the payload
    /// files at this open.
    pub fn open(root: &Path, durability: Durability) -> Result<SmallStore> {
        let dir = root.join(DIR);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let dir = dir.canonicalize().map_err(|e| Error::io(&dir, e))?;
        let mut open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((pid, weak)) = open.get(&dir)
            && let Some(shared) = weak.upgrade()
        {
            if *pid != std::process::id() {
                // LMDB forbids using an environment after fork(), and opening it a second
                // time in one process (heed refuses that too).
                std::mem::forget(shared);
                return Err(Error::SmallStore {
                    path: dir,
                    source: heed::Error::Io(std::io::Error::other(format!(
                        "process {pid} had this cache open when it forked this process, which \
                         cannot open it again: open caches after the fork, or start workers \
                         with the 'spawn' or 'forkserver' method"
                    ))),
                });
            }
            return Ok(SmallStore { shared, dir });
        }
        let shared = match Self::open_env(&dir, durability)? {
            Some(shared) => shared,
            None => {
                let aside = root.join(format!("{DIR}.damaged-{}", crate::core::now_micros()));
                tracing::warn!(
                    "the small-entry store {} is truncated; moved to {} and started anew",
                    dir.display(),
                    aside.display()
                );
                std::fs::rename(&dir, &aside).map_err(|e| Error::io(&dir, e))?;
                std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                Self::open_env(&dir, durability)?.ok_or_else(|| {
                    Error::corrupt(dir.display().to_string(), "a new store reads as truncated")
                })?
            }
        };
        let shared = Arc::new(shared);
        open.retain(|_, (_, w)| w.strong_count() > 0);
        open.insert(dir.clone(), (std::process::id(), Arc::downgrade(&shared)));
        Ok(SmallStore { shared, dir })
    }

    /// Whether the cache at `root` has a small-entry store (without opening or making one).
    pub fn exists(root: &Path) -> bool {
        root.join(DIR).join("data.mdb").exists()
    }

    /// Open the environment in `dir`; `None` if its data file was cut short and its records
    /// cannot all be read (see [`Self::open`]).
    fn open_env(dir: &Path, durability: Durability) -> Result<Option<Shared>> {
        let err = |source| Error::SmallStore {
            path: dir.to_path_buf(),
            source,
        };
        let mut options = EnvOpenOptions::new();
        options.map_size(MAP_SIZE).max_dbs(2).max_readers(1024);
        let flags = match durability {
            // Pages are still written before a commit returns (survives `kill -9`); only the
            // sync is left to the OS, as it is for payload files.
            Durability::Buffered => EnvFlags::NO_SYNC | EnvFlags::NO_READ_AHEAD,
            Durability::Fsync => EnvFlags::NO_READ_AHEAD,
        };
        // SAFETY: NO_SYNC only defers the sync (see above). The map is LMDB's own and LMDB's
        // lock file arbitrates every access to it; the cache never writes pages itself (it
        // only lengthens the file), this process opens the environment once (`OPEN`), and a
        // data file shorter than the pages it claims is lengthened below before any page past
        // its meta pages is read.
        #[allow(unsafe_code)]
        let env = unsafe {
            options.flags(flags);
            options.open(dir)
        }
        .map_err(err)?;
        let data = dir.join("data.mdb");
        let len = std::fs::metadata(&data)
            .map_err(|e| Error::io(&data, e))?
            .len();
        let claimed = pages_end(&env);
        let mut short = false;
        if len < claimed {
            // Longer, never shorter: zeros where pages are missing.
            let file = std::fs::OpenOptions::new().write(true).open(&data);
            let grown = file.and_then(|f| {
                let now = f.metadata()?.len();
                if now < claimed {
                    f.set_len(claimed)
                } else {
                    Ok(())
                }
            });
            grown.map_err(|e| Error::io(&data, e))?;
            short = true;
        }
        // Reader slots of processes that died inside a read transaction.
        env.clear_stale_readers().map_err(err)?;
        // An existing store's databases are opened in a read transaction: a process that
        // only reads (a `cacheness get`) never takes the writer's lock.
        let txn = env.read_txn().map_err(err)?;
        let found = (
            env.open_database::<Bytes, Bytes>(&txn, Some("entries"))
                .map_err(err)?,
            env.open_database::<Str, Bytes>(&txn, Some("state"))
                .map_err(err)?,
        );
        let (entries, state) = match found {
            (Some(entries), Some(state)) => {
                txn.commit().map_err(err)?;
                (entries, state)
            }
            _ => {
                drop(txn);
                let mut txn = env.write_txn().map_err(err)?;
                let entries = env
                    .create_database::<Bytes, Bytes>(&mut txn, Some("entries"))
                    .map_err(err)?;
                let state = env
                    .create_database::<Str, Bytes>(&mut txn, Some("state"))
                    .map_err(err)?;
                txn.commit().map_err(err)?;
                (entries, state)
            }
        };
        if short && !readable(&env, entries, state) {
            return Ok(None);
        }
        Ok(Some(Shared {
            data_path: data,
            data: std::sync::OnceLock::new(),
            env,
            entries,
            state,
            complete: AtomicBool::new(false),
            reserved_to: std::sync::atomic::AtomicU64::new(0),
        }))
    }

    fn err(&self) -> impl Fn(heed::Error) -> Error + '_ {
        |source| Error::SmallStore {
            path: self.dir.clone(),
            source: self.full_disk_named(source),
        }
    }

    /// LMDB reports a page it could not write in full as an I/O error (`EIO`); on a file
    /// system with less than a megabyte left, that is a full disk, and is named so.
    fn full_disk_named(&self, e: heed::Error) -> heed::Error {
        let eio = rustix::io::Errno::IO.raw_os_error();
        let short_write = matches!(&e, heed::Error::Io(io) if io.raw_os_error() == Some(eio));
        let full = || {
            rustix::fs::statvfs(&self.dir)
                .is_ok_and(|v| v.f_bavail.saturating_mul(v.f_frsize) < (1 << 20))
        };
        if short_write && full() {
            heed::Error::Io(std::io::Error::from(rustix::io::Errno::NOSPC))
        } else {
            e
        }
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The record of `key`, if any (a damaged one as a container payload of all its bytes:
    /// [`decode_or_damaged`]).
    pub fn get(&self, key: &str) -> Result<Option<Record>> {
        let k = record_key(key)?;
        let s = &self.shared;
        let txn = s.env.read_txn().map_err(self.err())?;
        let Some(raw) = s.entries.get(&txn, &k).map_err(self.err())? else {
            return Ok(None);
        };
        let (format, used_at, payload) = decode_or_damaged(raw);
        Ok(Some(Record {
            format,
            used_at,
            held: payload.map_or(Held::File, |p| Held::Payload(p.to_vec())),
        }))
    }

    /// The record of `key` without its payload, if any (a damaged one as [`Self::get`] gives
    /// it).
    pub fn summary(&self, key: &str) -> Result<Option<Summary>> {
        let k = record_key(key)?;
        let s = &self.shared;
        let txn = s.env.read_txn().map_err(self.err())?;
        let Some(raw) = s.entries.get(&txn, &k).map_err(self.err())? else {
            return Ok(None);
        };
        Ok(Some(summary(key, raw)))
    }

    /// Where the payload of `key` is: a record's payload (copied out), a marker's file, or
    /// nothing, known ([`Located::Absent`]) once every file has its marker.
    pub fn locate(&self, key: &str) -> Result<Located<Vec<u8>>> {
        let found = self.get(key)?.map(|r| match r.held {
            Held::Payload(p) => (r.format, Some(p)),
            Held::File => (r.format, None),
        });
        self.located(found)
    }

    /// [`Self::locate`] for many keys in one read transaction, each record's payload lent to
    /// `see` (nothing copied): what a commit asks of every key it touches. `see` runs inside
    /// the transaction and must not use the store (a thread holds one read transaction at a
    /// time: LMDB fails a second).
    pub fn locate_each<T>(
        &self,
        keys: &[&str],
        mut see: impl FnMut(Result<Located<&[u8]>>) -> T,
    ) -> Result<Vec<T>> {
        // Asked before the transaction: a thread holds one read transaction at a time.
        let complete = self.markers_complete()?;
        let s = &self.shared;
        let txn = s.env.read_txn().map_err(self.err())?;
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let found = record_key(key).and_then(|k| {
                let raw = s.entries.get(&txn, &k).map_err(self.err())?;
                let found = raw.map(decode_or_damaged).map(|(format, _, p)| (format, p));
                located(found, || Ok(complete))
            });
            out.push(see(found));
        }
        Ok(out)
    }

    /// [`Self::locate`] with a record's payload length instead of its bytes (nothing copied).
    pub fn locate_len(&self, key: &str) -> Result<Located<u64>> {
        let found = self.summary(key)?.map(|s| (s.format, s.payload_len));
        self.located(found)
    }

    /// The answer for a key whose record, if any, holds this (format, payload or `None` for a
    /// marker).
    fn located<P>(&self, found: Option<(Format, Option<P>)>) -> Result<Located<P>> {
        located(found, || self.markers_complete())
    }

    /// Store `payload` as the payload of `key` in `format`, in place of whatever the store
    /// held for it; returns what it held.
    pub fn put_payload(
        &self,
        key: &str,
        format: Format,
        payload: &[u8],
    ) -> Result<Option<Summary>> {
        self.replace(
            key,
            &encode(format, crate::core::now_micros(), Some(payload)),
        )
    }

    /// Record that the payload of `key` is its file in `format`, in place of whatever the
    /// store held for it; returns what it held.
    pub fn mark_file(&self, key: &str, format: Format) -> Result<Option<Summary>> {
        self.replace(key, &encode(format, crate::core::now_micros(), None))
    }

    fn replace(&self, key: &str, record: &[u8]) -> Result<Option<Summary>> {
        let k = record_key(key)?;
        let s = &self.shared;
        let mut txn = s.env.write_txn().map_err(self.err())?;
        let before = s
            .entries
            .get(&txn, &k)
            .map_err(self.err())?
            .map(|raw| summary(key, raw));
        s.entries.put(&mut txn, &k, record).map_err(self.err())?;
        txn.commit().map_err(self.err())?;
        s.reserve();
        Ok(before)
    }

    /// Remove the record of `key`; returns what it held.
    pub fn remove(&self, key: &str) -> Result<Option<Summary>> {
        self.remove_where(key, |_| true)
    }

    /// Remove the record a walk listed ([`Self::summaries`]) if it is still the same (a put
    /// may have replaced it since: then it stays); returns it if removed.
    pub fn remove_if_unchanged(&self, seen: &Summary) -> Result<Option<Summary>> {
        self.remove_where(&seen.key, |now| now == seen)
    }

    /// Record a marker for each payload file of `files` (key, format) whose key has no record
    /// yet, in one transaction: a key's record is newer than a walk's view of its files, so
    /// it is kept. Returns how many markers were written.
    pub fn mark_files_if_absent(&self, files: &[(String, Format)]) -> Result<usize> {
        let s = &self.shared;
        let mut txn = s.env.write_txn().map_err(self.err())?;
        let now = crate::core::now_micros();
        let mut marked = 0;
        for (key, format) in files {
            let k = record_key(key)?;
            if s.entries.get(&txn, &k).map_err(self.err())?.is_none() {
                s.entries
                    .put(&mut txn, &k, &encode(*format, now, None))
                    .map_err(self.err())?;
                marked += 1;
            }
        }
        txn.commit().map_err(self.err())?;
        s.reserve();
        Ok(marked)
    }

    /// Set the time of the records of `payloads` (key, format) that hold their payload to
    /// now, in one transaction (a batch of gets, `crate::access`); returns the ones that did.
    /// A record replaced meanwhile by another format or a marker is left as it is.
    pub fn touch(&self, payloads: &[(String, Format)]) -> Result<Vec<(String, Format)>> {
        let s = &self.shared;
        let mut txn = s.env.write_txn().map_err(self.err())?;
        let now = crate::core::now_micros();
        let mut touched = Vec::new();
        for (key, format) in payloads {
            let k = record_key(key)?;
            let Some(raw) = s.entries.get(&txn, &k).map_err(self.err())? else {
                continue;
            };
            let Some((f, _, Some(payload))) = decode(raw) else {
                continue;
            };
            if f == *format {
                let record = encode(f, now, Some(payload));
                s.entries.put(&mut txn, &k, &record).map_err(self.err())?;
                touched.push((key.clone(), *format));
            }
        }
        txn.commit().map_err(self.err())?;
        s.reserve();
        Ok(touched)
    }

    /// Remove the record of `key` if `remove_if` holds for it; returns it if removed.
    fn remove_where(
        &self,
        key: &str,
        remove_if: impl Fn(&Summary) -> bool,
    ) -> Result<Option<Summary>> {
        let k = record_key(key)?;
        let s = &self.shared;
        let mut txn = s.env.write_txn().map_err(self.err())?;
        let Some(before) = s.entries.get(&txn, &k).map_err(self.err())? else {
            return Ok(None);
        };
        let before = summary(key, before);
        if !remove_if(&before) {
            return Ok(None);
        }
        s.entries.delete(&mut txn, &k).map_err(self.err())?;
        txn.commit().map_err(self.err())?;
        s.reserve();
        Ok(Some(before))
    }

    /// Every record, without payloads, in key order (a damaged one as [`Self::get`] gives
    /// it).
    pub fn summaries(&self) -> Result<Vec<Summary>> {
        let s = &self.shared;
        let txn = s.env.read_txn().map_err(self.err())?;
        let mut out = Vec::new();
        for item in s.entries.iter(&txn).map_err(self.err())? {
            let (k, raw) = item.map_err(self.err())?;
            if let Some(summary) = k
                .try_into()
                .ok()
                .map(|k: [u8; 8]| hex8(&k))
                .map(|key| summary(&key, raw))
            {
                out.push(summary);
            }
        }
        Ok(out)
    }

    /// Whether every payload file of the cache has its marker: set once a walk of the payload
    /// files has recorded them all, so that a key with no record is a miss without looking
    /// for its files.
    pub fn markers_complete(&self) -> Result<bool> {
        let s = &self.shared;
        if s.complete.load(Ordering::Acquire) {
            return Ok(true);
        }
        let txn = s.env.read_txn().map_err(self.err())?;
        let complete = s.state.get(&txn, COMPLETE).map_err(self.err())?.is_some();
        s.complete.store(complete, Ordering::Release);
        Ok(complete)
    }

    /// Record that every payload file has its marker ([`Self::markers_complete`]).
    pub fn set_markers_complete(&self) -> Result<()> {
        let s = &self.shared;
        let mut txn = s.env.write_txn().map_err(self.err())?;
        s.state
            .put(&mut txn, COMPLETE, &crate::core::now_micros().to_le_bytes())
            .map_err(self.err())?;
        txn.commit().map_err(self.err())?;
        s.reserve();
        Ok(())
    }
}

/// Whether every record of both databases reads without an error (a page cut from the data
/// file reads as zeros, which LMDB reports as corruption).
fn readable(env: &Env, entries: Database<Bytes, Bytes>, state: Database<Str, Bytes>) -> bool {
    let Ok(txn) = env.read_txn() else {
        return false;
    };
    let all_entries = entries
        .iter(&txn)
        .is_ok_and(|mut it| it.all(|item| item.is_ok()));
    let all_state = state
        .iter(&txn)
        .is_ok_and(|mut it| it.all(|item| item.is_ok()));
    all_entries && all_state
}

/// The summary of a record (a damaged one's as [`decode_or_damaged`] reads it).
fn summary(key: &str, raw: &[u8]) -> Summary {
    let (format, used_at, payload) = decode_or_damaged(raw);
    Summary {
        key: key.to_string(),
        format,
        used_at,
        payload_len: payload.map(|p| p.len() as u64),
    }
}

fn hex8(k: &[u8]) -> String {
    cacheness_format::keys::hex(k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(i: u64) -> String {
        format!("{:016x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    fn open(dir: &Path) -> SmallStore {
        SmallStore::open(dir, Durability::Buffered).unwrap()
    }

    #[test]
    fn payloads_and_markers_round_trip_and_replace_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let k = key(1);
        assert_eq!(store.get(&k).unwrap(), None);
        assert_eq!(
            store.put_payload(&k, Format::Container, b"abc").unwrap(),
            None
        );
        let got = store.get(&k).unwrap().unwrap();
        assert_eq!(got.format, Format::Container);
        assert_eq!(got.held, Held::Payload(b"abc".to_vec()));
        let before = store.mark_file(&k, Format::Parquet).unwrap().unwrap();
        assert_eq!(
            (before.format, before.payload_len),
            (Format::Container, Some(3))
        );
        assert_eq!(store.get(&k).unwrap().unwrap().held, Held::File);
        let before = store.put_payload(&k, Format::B2nd, b"").unwrap().unwrap();
        assert_eq!((before.format, before.payload_len), (Format::Parquet, None));
        assert_eq!(
            store.get(&k).unwrap().unwrap().held,
            Held::Payload(Vec::new())
        );
        assert!(store.remove(&k).unwrap().is_some());
        assert_eq!(store.get(&k).unwrap(), None);
        assert_eq!(store.remove(&k).unwrap(), None);
    }

    #[test]
    fn many_keys_are_located_in_one_transaction_as_one_by_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let (held, marked, none) = (key(1), key(2), key(3));
        store.put_payload(&held, Format::Container, b"abc").unwrap();
        store.mark_file(&marked, Format::Parquet).unwrap();
        let keys = [held.as_str(), marked.as_str(), none.as_str(), "not a key"];
        let each = |store: &SmallStore| {
            store
                .locate_each(&keys, |located| {
                    located.map(|l| match l {
                        Located::Record(f, bytes) => Located::Record(f, bytes.to_vec()),
                        Located::File(f) => Located::File(f),
                        Located::Absent => Located::Absent,
                        Located::Unknown => Located::Unknown,
                    })
                })
                .unwrap()
        };
        // A key without a record is known absent only once every file has its marker (the
        // answer that needs a second look at the store, inside the transaction).
        for complete in [false, true] {
            if complete {
                store.set_markers_complete().unwrap();
            }
            let got = each(&store);
            for (key, got) in keys.iter().zip(&got) {
                match store.locate(key) {
                    Ok(one) => assert_eq!(got.as_ref().ok(), Some(&one), "{key}"),
                    Err(_) => assert!(got.is_err(), "{key}"),
                }
            }
            let absent = if complete {
                Located::Absent
            } else {
                Located::Unknown
            };
            assert_eq!(got[2].as_ref().ok(), Some(&absent));
        }
    }

    #[test]
    fn a_removal_by_a_walk_spares_a_record_written_since() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let k = key(2);
        store.put_payload(&k, Format::Container, b"old").unwrap();
        let seen = store.summaries().unwrap().remove(0);
        std::thread::sleep(std::time::Duration::from_millis(2));
        store.put_payload(&k, Format::Container, b"new!").unwrap();
        assert_eq!(store.remove_if_unchanged(&seen).unwrap(), None);
        assert_eq!(
            store.get(&k).unwrap().unwrap().held,
            Held::Payload(b"new!".to_vec())
        );
        let seen = store.summaries().unwrap().remove(0);
        assert_eq!(store.remove_if_unchanged(&seen).unwrap(), Some(seen));
        assert_eq!(store.get(&k).unwrap(), None);
    }

    #[test]
    fn records_survive_a_reopen_and_one_process_shares_one_environment() {
        let dir = tempfile::tempdir().unwrap();
        let a = open(dir.path());
        let b = open(dir.path());
        a.put_payload(&key(3), Format::Container, b"x").unwrap();
        assert!(b.get(&key(3)).unwrap().is_some());
        assert!(!a.markers_complete().unwrap());
        b.set_markers_complete().unwrap();
        drop((a, b));
        let c = open(dir.path());
        assert!(c.markers_complete().unwrap());
        assert_eq!(
            c.get(&key(3)).unwrap().unwrap().held,
            Held::Payload(b"x".to_vec())
        );
    }

    #[test]
    fn a_truncated_store_is_moved_aside_and_started_anew() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = open(dir.path());
            for i in 0..200 {
                store
                    .put_payload(&key(i), Format::Container, &[7; 3000])
                    .unwrap();
            }
        }
        // 200 records of 3,000 bytes fill about 600 kB of pages: cut the file at a third.
        let data = dir.path().join(DIR).join("data.mdb");
        std::fs::OpenOptions::new()
            .write(true)
            .open(&data)
            .unwrap()
            .set_len(200_000)
            .unwrap();
        let store = open(dir.path());
        assert_eq!(store.get(&key(1)).unwrap(), None);
        assert!(!store.markers_complete().unwrap());
        let aside: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("small.damaged-")
            })
            .collect();
        assert_eq!(aside.len(), 1);
    }

    #[test]
    fn a_file_cut_only_in_its_reserve_keeps_every_record() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = open(dir.path());
            for i in 0..50 {
                store
                    .put_payload(&key(i), Format::Container, &[i as u8; 100])
                    .unwrap();
            }
        }
        let data = dir.path().join(DIR).join("data.mdb");
        let len = std::fs::metadata(&data).unwrap().len();
        assert!(len > RESERVE, "the reserve lengthens the file: {len}");
        std::fs::OpenOptions::new()
            .write(true)
            .open(&data)
            .unwrap()
            .set_len(len - RESERVE / 2)
            .unwrap();
        let store = open(dir.path());
        for i in 0..50 {
            let held = store.get(&key(i)).unwrap().unwrap().held;
            assert_eq!(held, Held::Payload(vec![i as u8; 100]));
        }
    }

    #[test]
    fn a_key_that_is_not_a_cache_key_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = open(dir.path()).get("../etc").unwrap_err().to_string();
        assert!(err.contains("../etc"), "{err}");
    }

    #[derive(Debug, Clone)]
    enum Op {
        Payload(u64, Vec<u8>),
        Marker(u64, u8),
        Remove(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..8u64, proptest::collection::vec(any::<u8>(), 0..64))
                .prop_map(|(k, v)| Op::Payload(k, v)),
            (0..8u64, 0..3u8).prop_map(|(k, f)| Op::Marker(k, f)),
            (0..8u64).prop_map(Op::Remove),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// The store against a map: after any sequence of puts, markers and removals, each
        /// key holds what the map holds, and every answer of what was replaced is the map's.
        #[test]
        fn the_store_behaves_as_a_map(ops in proptest::collection::vec(op(), 1..40)) {
            let dir = tempfile::tempdir().unwrap();
            let store = open(dir.path());
            let mut model: HashMap<u64, (Format, Option<Vec<u8>>)> = HashMap::new();
            for op in ops {
                let (k, before) = match op {
                    Op::Payload(k, v) => {
                        let b = store.put_payload(&key(k), Format::Container, &v).unwrap();
                        (k, (b, model.insert(k, (Format::Container, Some(v)))))
                    }
                    Op::Marker(k, f) => {
                        let format = byte_format(f).unwrap();
                        (k, (store.mark_file(&key(k), format).unwrap(), model.insert(k, (format, None))))
                    }
                    Op::Remove(k) => (k, (store.remove(&key(k)).unwrap(), model.remove(&k))),
                };
                let (got, expected) = before;
                prop_assert_eq!(
                    got.map(|s| (s.format, s.payload_len)),
                    expected.map(|(f, p)| (f, p.map(|p| p.len() as u64)))
                );
                let now = store.get(&key(k)).unwrap().map(|r| match r.held {
                    Held::Payload(p) => (r.format, Some(p)),
                    Held::File => (r.format, None),
                });
                prop_assert_eq!(now, model.get(&k).cloned());
            }
            let mut listed: Vec<String> = store.summaries().unwrap().into_iter().map(|s| s.key).collect();
            let mut expected: Vec<String> = model.keys().map(|k| key(*k)).collect();
            listed.sort();
            expected.sort();
            prop_assert_eq!(listed, expected);
        }
    }
}
