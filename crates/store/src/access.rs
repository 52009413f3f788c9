//! The access record that least-recently-used eviction reads: a payload's modification time
//! is its last write or its last recorded get, whichever is later.
//!
//! A get does not write to disk: it notes the payload in this process's pending set (a mutex
//! and a hash-set insert). At most once per [`FLUSH_INTERVAL`], on a later get, the pending
//! payloads get their modification time set to now; so do the ones pending when this process
//! runs an eviction pass and when the cache is closed or dropped. Every process sees the
//! others' accesses through the file system: within a second while they keep reading, and at
//! their close otherwise. A record of the small-entry store keeps its time in the record
//! (`crate::small_store`), set the same way, in one transaction per flush. Only caches with a
//! size or entry limit keep the record (a cache that never evicts has no use for it), so set
//! limits where every process reads them: in `cacheness.toml` or the environment.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::small_store::SmallStore;
use crate::store::BlobStore;
use cacheness_format::codec::Format;

/// How long accesses wait before their times reach the payload files.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct Pending {
    payloads: HashSet<(u64, Format)>,
    since: Instant,
}

/// Pending payload accesses of this process.
#[derive(Debug)]
pub(crate) struct AccessLog {
    root: PathBuf,
    small: Option<SmallStore>,
    pending: Mutex<Pending>,
}

impl AccessLog {
    pub(crate) fn new(root: PathBuf, small: Option<SmallStore>) -> Self {
        AccessLog {
            root,
            small,
            pending: Mutex::new(Pending {
                payloads: HashSet::new(),
                since: Instant::now(),
            }),
        }
    }

    /// Note a get of `key`'s payload in `format`; flushes the pending set once it is
    /// [`FLUSH_INTERVAL`] old.
    pub(crate) fn record(&self, key: &str, format: Format) {
        let Ok(k) = u64::from_str_radix(key, 16) else {
            return; // not a key this cache writes (callers pass checked keys)
        };
        let due = {
            let Ok(mut p) = self.pending.lock() else {
                return;
            };
            if p.payloads.is_empty() {
                p.since = Instant::now();
            }
            p.payloads.insert((k, format));
            p.since.elapsed() >= FLUSH_INTERVAL
        };
        if due {
            self.flush();
        }
    }

    /// Set the modification time of every pending payload to now. A payload removed or
    /// replaced meanwhile is skipped (or gets the time, which is as good).
    pub(crate) fn flush(&self) {
        let mut payloads = match self.pending.lock() {
            Ok(mut p) => std::mem::take(&mut p.payloads),
            Err(_) => return,
        };
        if let Some(small) = self.small.as_ref().filter(|_| !payloads.is_empty()) {
            let pending: Vec<(String, Format)> = payloads
                .iter()
                .map(|(k, f)| (format!("{k:016x}"), *f))
                .collect();
            match small.touch(&pending) {
                Ok(touched) => {
                    for (key, format) in touched {
                        if let Ok(k) = u64::from_str_radix(&key, 16) {
                            payloads.remove(&(k, format));
                        }
                    }
                }
                Err(e) => tracing::debug!("cannot record accesses in the small-entry store: {e}"),
            }
        }
        use rustix::fs::{AtFlags, CWD, Timestamps, UTIME_NOW, UTIME_OMIT, utimensat};
        // One system call per payload: the modification time becomes now, the access time
        // stays.
        let times = Timestamps {
            last_access: rustix::fs::Timespec {
                tv_sec: 0,
                tv_nsec: UTIME_OMIT,
            },
            last_modification: rustix::fs::Timespec {
                tv_sec: 0,
                tv_nsec: UTIME_NOW,
            },
        };
        for (k, format) in payloads {
            let path = self
                .root
                .join(BlobStore::rel_path(&format!("{k:016x}"), format));
            if let Err(e) = utimensat(CWD, &path, &times, AtFlags::SYMLINK_NOFOLLOW)
                && e != rustix::io::Errno::NOENT
            {
                tracing::debug!(path = %path.display(), "cannot record an access: {e}");
            }
        }
    }
}

impl Drop for AccessLog {
    fn drop(&mut self) {
        self.flush();
    }
}
