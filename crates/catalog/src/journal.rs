//! The local journal: every catalog operation is appended here before a put returns, so an
//! acknowledged put survives a crash of its process until the group commit has put it in Delta.
//!
//! Layout: `<catalog>/journal/<writer>.lock` (held with an exclusive `flock` while the writer's
//! process lives; it holds the writer's commit interval in milliseconds) and
//! `<writer>.<seq>.jnl` segments. A segment is a sequence of records
//! `[u32 LE body length][u64 LE XXH3-64 of body][body: MessagePack CatalogOp]`. A record that is
//! cut short or fails its checksum ends the readable part of a segment.
//!
//! The group commit of segment `seq` of writer `w` carries the Delta application transaction
//! `(w, seq)`, so replaying a segment that already reached Delta is a no-op.
//!
//! Two more kinds of file serve the commit rounds of `crate::commit_round`: `commit.lock`,
//! held while a process commits segments of this journal directory ([`lock_commits`]), and
//! `<writer>.handover`, which a closing writer leaves to say that its segments up to the
//! number it holds are final and whoever commits next may commit them ([`hand_over`]).

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cacheness_storage::LockFile;
use xxhash_rust::xxh3::xxh3_64;

use crate::error::{CatalogError, Result};
use crate::row::CatalogOp;

const HEADER_LEN: usize = 12;
/// Largest record body accepted when reading (a guard against garbage lengths).
const MAX_RECORD: usize = 64 << 20;

/// Encode one journal record.
pub fn encode_record(op: &CatalogOp) -> Result<Vec<u8>, rmp_serde::encode::Error> {
    // The body is written in place after room for the header (a row is a few hundred bytes).
    let mut out = Vec::with_capacity(512);
    out.resize(HEADER_LEN, 0);
    rmp_serde::encode::write(&mut out, op)?;
    let body_len = (out.len() - HEADER_LEN) as u32;
    let sum = xxh3_64(&out[HEADER_LEN..]);
    out[..4].copy_from_slice(&body_len.to_le_bytes());
    out[4..HEADER_LEN].copy_from_slice(&sum.to_le_bytes());
    Ok(out)
}

/// Decode the records of a segment. Returns the operations read and, if the segment ends in a
/// damaged or incomplete record, a description of where and why reading stopped.
pub fn decode_records(bytes: &[u8]) -> (Vec<CatalogOp>, Option<String>) {
    let mut ops = Vec::new();
    let mut pos = 0usize;
    while pos < bytes.len() {
        let Some(header) = bytes.get(pos..pos + HEADER_LEN) else {
            return (ops, Some(format!("incomplete record header at byte {pos}")));
        };
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let mut sum = [0u8; 8];
        sum.copy_from_slice(&header[4..12]);
        let sum = u64::from_le_bytes(sum);
        if len > MAX_RECORD {
            return (
                ops,
                Some(format!("record at byte {pos} claims {len} bytes")),
            );
        }
        let Some(body) = bytes.get(pos + HEADER_LEN..pos + HEADER_LEN + len) else {
            return (ops, Some(format!("record at byte {pos} is cut short")));
        };
        if xxh3_64(body) != sum {
            return (
                ops,
                Some(format!("record at byte {pos} fails its checksum")),
            );
        }
        match rmp_serde::from_slice::<CatalogOp>(body) {
            Ok(op) => ops.push(op),
            Err(e) => {
                return (
                    ops,
                    Some(format!("record at byte {pos} does not decode: {e}")),
                );
            }
        }
        pos += HEADER_LEN + len;
    }
    (ops, None)
}

/// One segment file found in the journal directory.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SegmentRef {
    /// The writer that wrote it.
    pub writer: String,
    /// Its sequence number within the writer.
    pub seq: i64,
    /// Its path.
    pub path: PathBuf,
}

/// Read one segment's operations; damage at its end is logged and the readable part returned.
pub fn read_segment(path: &Path) -> Result<Vec<CatalogOp>> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(CatalogError::io(path, e)),
    };
    let (ops, problem) = decode_records(&bytes);
    if let Some(problem) = problem {
        tracing::warn!(path = %path.display(), "journal segment: {problem}; later records ignored");
    }
    Ok(ops)
}

/// The files of the journal directory whose name ends in `ending`: each name without it, and
/// the path. A directory not made yet has none.
fn files_ending(dir: &Path, ending: &str) -> Result<Vec<(String, PathBuf)>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(CatalogError::io(dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| CatalogError::io(dir, e))?;
        if let Some(stem) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.strip_suffix(ending))
        {
            out.push((stem.to_string(), entry.path()));
        }
    }
    Ok(out)
}

/// List every segment in the journal directory, sorted by writer and sequence.
pub fn list_segments(dir: &Path) -> Result<Vec<SegmentRef>> {
    let mut out: Vec<SegmentRef> = files_ending(dir, ".jnl")?
        .into_iter()
        .filter_map(|(stem, path)| {
            let (writer, seq) = stem.rsplit_once('.')?;
            Some(SegmentRef {
                writer: writer.to_string(),
                seq: seq.parse::<i64>().ok()?,
                path,
            })
        })
        .collect();
    out.sort();
    Ok(out)
}

fn lock_path(dir: &Path, writer: &str) -> PathBuf {
    dir.join(format!("{writer}.lock"))
}

pub(crate) fn segment_path(dir: &Path, writer: &str, seq: i64) -> PathBuf {
    dir.join(format!("{writer}.{seq:012}.jnl"))
}

/// Try to take over the journal of a writer whose process is gone. Returns the held lock when
/// the writer is not alive (nobody holds its lock), `None` when it is.
pub fn try_adopt(dir: &Path, writer: &str) -> Result<Option<LockFile>> {
    Ok(LockFile::try_acquire(&lock_path(dir, writer))?)
}

/// Remove a writer's lock file once all its segments are gone.
pub fn release_writer(lock: LockFile) {
    lock.release_removing();
}

/// The lock held while a process commits segments of the journal directory.
const COMMIT_LOCK: &str = "commit.lock";
/// The name ending of a hand-over marker.
const HANDOVER: &str = ".handover";
/// How long [`lock_commits`] waits at most between two tries of the lock.
const LOCK_POLL_MAX: Duration = Duration::from_millis(2);

/// Take the commit lock of the journal directory, waiting up to `patience` for its holder:
/// `None` if it is still held then. The wait polls with a short sleep rather than blocking in
/// `flock`, so that a holder that hangs (a stopped process, a stalled object store) costs
/// the waiters their patience, not their progress: the lock only batches commits, and a
/// commit made without it is still correct (`crate::commit_round`).
pub fn lock_commits(dir: &Path, patience: Duration) -> Result<Option<LockFile>> {
    let path = dir.join(COMMIT_LOCK);
    let deadline = Instant::now() + patience;
    let mut pause = Duration::from_micros(100);
    loop {
        if let Some(lock) = LockFile::try_acquire(&path)? {
            return Ok(Some(lock));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(LOCK_POLL_MAX);
    }
}

fn handover_path(dir: &Path, writer: &str) -> PathBuf {
    dir.join(format!("{writer}{HANDOVER}"))
}

/// Say that the segments of `writer` up to `last_seq` are final: the next process to commit
/// may commit them (written to a temporary name and renamed, so that a reader never sees
/// half of it).
pub fn hand_over(dir: &Path, writer: &str, last_seq: i64) -> Result<()> {
    let path = handover_path(dir, writer);
    let tmp = dir.join(format!("{writer}{HANDOVER}.tmp"));
    fs::write(&tmp, last_seq.to_string()).map_err(|e| CatalogError::io(&tmp, e))?;
    fs::rename(&tmp, &path).map_err(|e| CatalogError::io(&path, e))
}

/// Take back a writer's hand-over marker (once its segments are committed, or it gave up).
pub fn withdraw_hand_over(dir: &Path, writer: &str) {
    let path = handover_path(dir, writer);
    if let Err(e) = fs::remove_file(&path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), "cannot remove a hand-over marker: {e}");
    }
}

/// The hand-over markers in the journal directory: each writer's last final segment. A marker
/// that cannot be read or parsed is skipped (its writer commits its segments itself).
pub fn handovers(dir: &Path) -> Result<HashMap<String, i64>> {
    let mut out = HashMap::new();
    for (writer, path) in files_ending(dir, HANDOVER)? {
        let last = fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|text| text.trim().parse::<i64>().map_err(|e| e.to_string()));
        match last {
            Ok(last) => {
                out.insert(writer, last);
            }
            Err(e) => tracing::debug!(path = %path.display(), "hand-over marker skipped: {e}"),
        }
    }
    Ok(out)
}

/// The first letter of this version's writer ids: writers that commit what others hand over
/// (older versions' ids begin with `w`, and their processes commit only their own segments).
const WRITER_PREFIX: &str = "h";

/// Whether another writer of this host will run a commit round within `within`, and so
/// commit what is handed over now: a live writer (its lock held) of this version with
/// operations in its journal that it has not handed over, whose commit interval (its lock
/// file says) is at most `within`. It commits them within that interval or when it closes,
/// and every round takes what was handed over (`crate::commit_round`). Call it with the
/// commit lock held, so that no round is under way.
pub fn committer_to_come(dir: &Path, me: &str, within: Duration) -> Result<bool> {
    let handed = handovers(dir)?;
    let mut seen: Vec<String> = Vec::new();
    for seg in list_segments(dir)? {
        let writer = &seg.writer;
        if writer == me
            || !writer.starts_with(WRITER_PREFIX)
            || handed.contains_key(writer)
            || seen.contains(writer)
        {
            continue;
        }
        let has_ops = fs::metadata(&seg.path).is_ok_and(|m| m.len() > 0);
        if !has_ops {
            continue;
        }
        seen.push(writer.clone());
        let interval = fs::read_to_string(lock_path(dir, writer))
            .ok()
            .and_then(|text| text.trim().parse::<u128>().ok());
        if interval.is_none_or(|ms| ms > within.as_millis()) {
            continue; // commits too rarely, or says nothing
        }
        // Taken means dead (and the lock goes again at once: a round adopts it).
        if try_adopt(dir, writer)?.is_none() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Remove one committed segment.
pub fn remove_segment(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CatalogError::io(path, e)),
    }
}

/// The journal of this process: an exclusive writer id and its current segment.
#[derive(Debug)]
pub struct JournalWriter {
    dir: PathBuf,
    writer: String,
    lock: Option<LockFile>,
    seq: i64,
    file: File,
    path: PathBuf,
    records_in_segment: usize,
    fsync: bool,
}

impl JournalWriter {
    /// Create a new writer (fresh id, locked) in `dir`, whose process commits what it
    /// journals within `commits_within` (its commit interval: written in its lock file, for
    /// [`committer_to_come`]).
    pub fn create(dir: &Path, fsync: bool, commits_within: Duration) -> Result<Self> {
        fs::create_dir_all(dir).map_err(|e| CatalogError::io(dir, e))?;
        let writer = format!("{WRITER_PREFIX}{}", uuid::Uuid::new_v4().simple());
        let lock = try_adopt(dir, &writer)?.ok_or_else(|| CatalogError::Journal {
            path: lock_path(dir, &writer),
            message: "could not lock a fresh journal writer".into(),
        })?;
        // A writer that cannot say it (a full disk) is never left rows to; it still writes.
        let millis = commits_within.as_millis().to_string();
        if let Err(e) = fs::write(lock.path(), millis) {
            tracing::debug!(path = %lock.path().display(), "cannot record the commit interval: {e}");
        }
        let seq = 1;
        let path = segment_path(dir, &writer, seq);
        let file = open_segment(&path, fsync)?;
        Ok(JournalWriter {
            dir: dir.to_path_buf(),
            writer,
            lock: Some(lock),
            seq,
            file,
            path,
            records_in_segment: 0,
            fsync,
        })
    }

    /// This writer's id (the Delta application id of its commits).
    pub fn writer_id(&self) -> &str {
        &self.writer
    }

    /// Append one record to the current segment (fsync'd when the cache is configured so).
    pub fn append(&mut self, record: &[u8]) -> Result<()> {
        self.file
            .write_all(record)
            .map_err(|e| CatalogError::io(&self.path, e))?;
        if self.fsync {
            self.file
                .sync_data()
                .map_err(|e| CatalogError::io(&self.path, e))?;
        }
        self.records_in_segment += 1;
        Ok(())
    }

    /// Close the current segment and start the next; returns the closed segment's sequence
    /// number and path.
    pub fn rotate(&mut self) -> Result<(i64, PathBuf)> {
        let next = self.seq + 1;
        let path = segment_path(&self.dir, &self.writer, next);
        let file = open_segment(&path, self.fsync)?;
        let old = (self.seq, std::mem::replace(&mut self.path, path));
        self.file = file;
        self.seq = next;
        self.records_in_segment = 0;
        Ok(old)
    }

    /// Remove the current segment and the lock (called on a clean close, after everything was
    /// committed).
    pub fn finish(&mut self) {
        if self.records_in_segment == 0 {
            let _ = fs::remove_file(&self.path);
            if let Some(lock) = self.lock.take() {
                release_writer(lock);
            }
        }
    }
}

/// Create a segment; with `fsync`, also make its directory entry durable (a record fsync'd
/// into a file whose name was lost would be lost with it).
fn open_segment(path: &Path, fsync: bool) -> Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| CatalogError::io(path, e))?;
    if fsync && let Some(dir) = path.parent() {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| CatalogError::io(dir, e))?;
    }
    Ok(file)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::row::CatalogOp;

    fn del(k: &str) -> CatalogOp {
        CatalogOp::Delete {
            cache_key: k.into(),
        }
    }

    #[test]
    fn records_round_trip_and_damage_stops_reading() {
        let mut bytes = Vec::new();
        for k in ["a", "b", "c"] {
            bytes.extend(encode_record(&del(k)).unwrap());
        }
        let (ops, problem) = decode_records(&bytes);
        assert_eq!(ops, vec![del("a"), del("b"), del("c")]);
        assert!(problem.is_none());
        // Cut the last record short.
        let (ops, problem) = decode_records(&bytes[..bytes.len() - 2]);
        assert_eq!(ops, vec![del("a"), del("b")]);
        assert!(problem.unwrap().contains("cut short"));
        // Flip a byte in the second record's body.
        let first = encode_record(&del("a")).unwrap().len();
        let mut damaged = bytes.clone();
        damaged[first + HEADER_LEN] ^= 0xff;
        let (ops, problem) = decode_records(&damaged);
        assert_eq!(ops, vec![del("a")]);
        assert!(problem.unwrap().contains("checksum"));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = decode_records(&bytes);
        }
    }

    /// Write a segment of `writer` holding `ops`.
    pub(crate) fn write_segment(dir: &Path, writer: &str, seq: i64, ops: &[CatalogOp]) -> PathBuf {
        let path = segment_path(dir, writer, seq);
        let bytes: Vec<u8> = ops
            .iter()
            .flat_map(|op| encode_record(op).unwrap())
            .collect();
        fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn a_committer_to_come_is_a_live_writer_of_this_version_with_ops_not_handed_over() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let me = "hme";
        let within = Duration::from_secs(5);
        let to_come = || committer_to_come(d, me, within).unwrap();
        // A live writer whose process commits every `millis`.
        let live = |writer: &str, millis: &str| {
            let lock = try_adopt(d, writer).unwrap().unwrap();
            fs::write(lock.path(), millis).unwrap();
            lock
        };
        write_segment(d, me, 1, &[del("m")]);
        assert!(!to_come(), "only this writer");
        // A dead writer with operations: the round adopts it, nobody is to come.
        write_segment(d, "hdead", 1, &[del("x")]);
        // A live writer whose journal is empty: it may never commit.
        let _idle = live("hidle", "1000");
        write_segment(d, "hidle", 1, &[]);
        // A live writer of an older version: it commits only its own.
        let _old = live("wold", "1000");
        write_segment(d, "wold", 1, &[del("y")]);
        // Live writers that commit once an hour, or do not say how often.
        let _slow = live("hslow", "3600000");
        write_segment(d, "hslow", 1, &[del("s")]);
        let _mute = try_adopt(d, "hmute").unwrap().unwrap();
        write_segment(d, "hmute", 1, &[del("u")]);
        assert!(!to_come());
        // A live writer with operations that handed them over: closing, it may leave too.
        let _closing = live("hclosing", "5000");
        write_segment(d, "hclosing", 3, &[del("z")]);
        hand_over(d, "hclosing", 3).unwrap();
        assert!(!to_come());
        assert_eq!(
            handovers(d).unwrap(),
            HashMap::from([("hclosing".into(), 3)])
        );
        // Once it takes its marker back it is a committer to come again.
        withdraw_hand_over(d, "hclosing");
        assert!(to_come());
        assert!(handovers(d).unwrap().is_empty());
        // A fresh writer says how often it commits.
        let w = JournalWriter::create(d, false, Duration::from_millis(1500)).unwrap();
        let said = fs::read_to_string(lock_path(d, w.writer_id())).unwrap();
        assert_eq!(said, "1500");
    }

    #[test]
    fn a_garbled_hand_over_marker_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("hx.handover"), "not a number").unwrap();
        hand_over(dir.path(), "hy", 7).unwrap();
        assert_eq!(
            handovers(dir.path()).unwrap(),
            HashMap::from([("hy".into(), 7)])
        );
    }

    #[test]
    fn the_commit_lock_waits_only_as_long_as_told() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock_commits(dir.path(), Duration::ZERO).unwrap().unwrap();
        let started = Instant::now();
        assert!(
            lock_commits(dir.path(), Duration::from_millis(30))
                .unwrap()
                .is_none()
        );
        assert!(started.elapsed() >= Duration::from_millis(30));
        drop(held);
        assert!(lock_commits(dir.path(), Duration::ZERO).unwrap().is_some());
    }

    #[test]
    fn a_live_writer_cannot_be_adopted_and_a_dead_one_can() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = JournalWriter::create(dir.path(), false, Duration::from_secs(1)).unwrap();
        w.append(&encode_record(&del("x")).unwrap()).unwrap();
        let id = w.writer_id().to_string();
        assert!(try_adopt(dir.path(), &id).unwrap().is_none());
        let segs = list_segments(dir.path()).unwrap();
        assert_eq!(segs.len(), 1);
        assert_eq!(read_segment(&segs[0].path).unwrap(), vec![del("x")]);
        drop(w);
        assert!(try_adopt(dir.path(), &id).unwrap().is_some());
    }
}
