//! The local read-through layer of a cache on an object store: a size-bounded directory of the
//! payloads this host read or wrote lately, so a get of a hot payload moves no payload bytes.
//!
//! Each copy is one file, `<dir>/<2 hex>/<key>.<ext>`, holding the object's ETag and then its
//! bytes (`u16` little-endian length, the ETag, the payload), written to a temporary file and
//! renamed into place, so an ETag never pairs with another version's bytes. A get of a copied
//! payload is **one conditional request** (`If-None-Match: <etag>`): `304 Not Modified`
//! serves the copy, a new version replaces it, a missing object removes it. So the layer never
//! serves a payload the bucket no longer holds in that state; and what it serves then passes
//! the read path's checks like any payload (content hash, signature, key, expiry).
//!
//! The directory is bounded by bytes: past the bound, the least recently used copies (file
//! modification time, set on every hit) are removed down to [`LOW_WATERMARK`] of it. Processes
//! of one host may share it; its usage figure is per process and recounted by every trim.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use crate::store::BlobStore;
use cacheness_format::codec::Format;

/// A trim removes copies down to this fraction of the bound.
pub const LOW_WATERMARK: f64 = 0.8;

/// The read-through directory of one cache on one host.
#[derive(Debug)]
pub(crate) struct ReadThrough {
    dir: PathBuf,
    max_bytes: u64,
    /// Bytes of copies, as this process last counted them plus what it added since.
    used: AtomicU64,
    /// Gets served from a copy after a `304 Not Modified`.
    hits: AtomicU64,
}

impl ReadThrough {
    /// The layer in `dir`, holding at most `max_bytes` of copies.
    pub(crate) fn open(dir: PathBuf, max_bytes: u64) -> Self {
        let rt = ReadThrough {
            dir,
            max_bytes,
            used: AtomicU64::new(0),
            hits: AtomicU64::new(0),
        };
        rt.used
            .store(rt.copies().iter().map(|c| c.1).sum(), Ordering::Relaxed);
        rt
    }

    fn path(&self, key: &str, format: Format) -> PathBuf {
        self.dir
            .join(BlobStore::rel_path(key, format).trim_start_matches("blobs/"))
    }

    /// The copy of a payload: its ETag and bytes; `None` if there is none (or it is unreadable,
    /// which is a miss of the layer, not an error of the get).
    /// Whether a copy of a payload is held (whatever its version).
    pub(crate) fn holds(&self, key: &str, format: Format) -> bool {
        self.path(key, format).exists()
    }

    pub(crate) fn get(&self, key: &str, format: Format) -> Option<(String, Bytes)> {
        let path = self.path(key, format);
        let bytes = std::fs::read(&path).ok()?;
        let n = usize::from(u16::from_le_bytes([*bytes.first()?, *bytes.get(1)?]));
        let etag = std::str::from_utf8(bytes.get(2..2 + n)?).ok()?.to_string();
        let payload = Bytes::from(bytes).slice(2 + n..);
        Some((etag, payload))
    }

    /// Count a hit and mark the copy recently used.
    pub(crate) fn hit(&self, key: &str, format: Format) {
        self.hits.fetch_add(1, Ordering::Relaxed);
        let path = self.path(key, format);
        if let Ok(f) = std::fs::File::options().write(true).open(&path) {
            let _ = f.set_modified(std::time::SystemTime::now());
        }
    }

    /// Gets served from a copy so far (by this process).
    pub(crate) fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Keep a copy of version `etag` of a payload (replacing any older one), then trim the
    /// directory if it passed its bound. Failures are logged, never raised: the layer only
    /// saves requests.
    pub(crate) fn put(&self, key: &str, format: Format, etag: &str, payload: &[u8]) {
        let Ok(n) = u16::try_from(etag.len()) else {
            return;
        };
        let len = payload.len() as u64 + 2 + u64::from(n);
        if len > self.max_bytes {
            self.remove(key, format);
            return;
        }
        let path = self.path(key, format);
        let replaced = std::fs::metadata(&path).map_or(0, |m| m.len());
        let written = (|| -> std::io::Result<()> {
            let dir = path.parent().unwrap_or(&self.dir);
            std::fs::create_dir_all(dir)?;
            let mut tmp = tempfile::Builder::new()
                .prefix(&format!(".{key}."))
                .suffix(".tmp")
                .tempfile_in(dir)?;
            tmp.write_all(&n.to_le_bytes())?;
            tmp.write_all(etag.as_bytes())?;
            tmp.write_all(payload)?;
            tmp.persist(&path).map_err(|e| e.error)?;
            Ok(())
        })();
        match written {
            Ok(()) => {
                let before = self
                    .used
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                        Some(u.saturating_sub(replaced).saturating_add(len))
                    })
                    .unwrap_or(0);
                if before.saturating_sub(replaced).saturating_add(len) > self.max_bytes {
                    self.trim();
                }
            }
            Err(e) => tracing::debug!(path = %path.display(), "read-through copy not kept: {e}"),
        }
    }

    /// Drop the copy of a payload (removed or replaced in the bucket); true if there was one.
    pub(crate) fn remove(&self, key: &str, format: Format) -> bool {
        let path = self.path(key, format);
        if let Ok(meta) = std::fs::metadata(&path)
            && std::fs::remove_file(&path).is_ok()
        {
            let _ = self
                .used
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                    Some(u.saturating_sub(meta.len()))
                });
            return true;
        }
        false
    }

    /// Every copy: path, size, last use.
    fn copies(&self) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
        let mut out = Vec::new();
        let Ok(shards) = std::fs::read_dir(&self.dir) else {
            return out;
        };
        for shard in shards.flatten() {
            let Ok(files) = std::fs::read_dir(shard.path()) else {
                continue;
            };
            for f in files.flatten() {
                if let Ok(meta) = f.metadata()
                    && meta.is_file()
                {
                    let used = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
                    out.push((f.path(), meta.len(), used));
                }
            }
        }
        out
    }

    /// Remove the least recently used copies down to the low watermark of the bound.
    fn trim(&self) {
        let mut copies = self.copies();
        let mut total: u64 = copies.iter().map(|c| c.1).sum();
        let target = (self.max_bytes as f64 * LOW_WATERMARK) as u64;
        copies.sort_by_key(|c| c.2);
        for (path, len, _) in copies {
            if total <= target {
                break;
            }
            if std::fs::remove_file(&path).is_ok() {
                total = total.saturating_sub(len);
            }
        }
        self.used.store(total, Ordering::Relaxed);
    }

    /// The directory's bytes as this process counts them.
    #[cfg(test)]
    pub(crate) fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef";

    #[test]
    fn a_copy_keeps_its_etag_with_its_bytes_and_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let rt = ReadThrough::open(dir.path().to_path_buf(), 1 << 20);
        assert!(rt.get(KEY, Format::Parquet).is_none());
        rt.put(KEY, Format::Parquet, "\"v1\"", b"first");
        assert_eq!(
            rt.get(KEY, Format::Parquet),
            Some(("\"v1\"".to_string(), Bytes::from_static(b"first")))
        );
        rt.put(KEY, Format::Parquet, "\"v2\"", b"second version");
        assert_eq!(
            rt.get(KEY, Format::Parquet),
            Some(("\"v2\"".to_string(), Bytes::from_static(b"second version")))
        );
        assert!(rt.get(KEY, Format::B2nd).is_none(), "formats are apart");
        rt.remove(KEY, Format::Parquet);
        assert!(rt.get(KEY, Format::Parquet).is_none());
        assert_eq!(rt.used(), 0);
    }

    #[test]
    fn the_directory_stays_within_its_bound_dropping_the_least_recently_used() {
        let dir = tempfile::tempdir().unwrap();
        let rt = ReadThrough::open(dir.path().to_path_buf(), 10_000);
        let key = |i: u64| format!("{i:016x}");
        for i in 0..5 {
            rt.put(&key(i), Format::Container, "e", &[0u8; 1_500]);
            // Distinct modification times, oldest first.
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        rt.hit(&key(0), Format::Container); // now the most recently used
        for i in 5..9 {
            rt.put(&key(i), Format::Container, "e", &[0u8; 1_500]);
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let total: u64 = rt.copies().iter().map(|c| c.1).sum();
        assert!(total <= 10_000, "{total}");
        assert!(
            rt.get(&key(0), Format::Container).is_some(),
            "the hit one stays"
        );
        assert!(
            rt.get(&key(1), Format::Container).is_none(),
            "the oldest unused goes"
        );
        assert!(
            rt.get(&key(8), Format::Container).is_some(),
            "the newest stays"
        );
        // A payload larger than the bound is never kept.
        rt.put(&key(99), Format::Container, "e", &[0u8; 20_000]);
        assert!(rt.get(&key(99), Format::Container).is_none());
        // A fresh process counts what is there.
        let again = ReadThrough::open(dir.path().to_path_buf(), 10_000);
        assert_eq!(again.used(), total);
    }
}
