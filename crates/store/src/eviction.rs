//! The size and entry limits: least-recently-used eviction, shared by every process.
//!
//! After each put, the put checks the shared usage counters (`usage.rs`: two atomic loads).
//! Past `max_size_bytes` or `max_entries` (or before the counters were first calibrated) it runs
//! a pass, inline, before it returns:
//!
//! 1. Take `<root>/eviction.lock` without waiting (`flock`; the OS releases it if the holder
//!    dies). A process that finds it held returns at once: the holder is evicting.
//! 2. Flush this process's pending accesses (`access.rs`), so its own recent gets count.
//! 3. Walk `blobs/` (one `readdir` per shard and a `stat` per file): the true bytes and
//!    entries recalibrate the counters.
//! 4. Within the limits: done. Otherwise evict the payloads with the oldest modification time
//!    (write or last recorded get) until both are at or below `eviction_low_watermark` of their
//!    limits. The entry the triggering put just wrote is never evicted by its own put, even if
//!    it alone is larger than the limit (the next put's pass may evict it).
//! 5. Each eviction renames the payload aside and removes it only if it is still the file the
//!    walk found (`BlobStore::remove_if_unchanged`): a payload put again or read since is kept.
//!    Its catalog row is deleted through the journal like any removal.
//!
//! The payloads decide, not the catalog: a pass never opens the Delta table, so a put never
//! waits on Delta, and a stale catalog cannot make a pass evict the wrong file.

use cacheness_storage::lockfile::LockFile;

use crate::core::CacheCore;
use crate::error::Result;
use crate::store::PayloadFile;

/// What one eviction pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct EvictionReport {
    /// Another process was running a pass: this one did nothing.
    pub skipped: bool,
    /// Entries evicted because the bytes were over the size limit.
    pub evicted_for_size: u64,
    /// Entries evicted because the count was over the entry limit.
    pub evicted_for_entries: u64,
    /// Payload bytes freed.
    pub freed_bytes: u64,
    /// Payload bytes after the pass.
    pub bytes: u64,
    /// Entries (payload files) after the pass.
    pub entries: u64,
}

/// Whether a put must run a pass: a limit is set and the shared counters are past it (or
/// were never calibrated).
pub(crate) fn needed(core: &CacheCore) -> bool {
    let c = core.config();
    if !c.has_limits() {
        return false;
    }
    match core.store().usage().estimate() {
        None => true,
        Some((bytes, entries)) => {
            c.max_size_bytes.is_some_and(|m| bytes > m)
                || c.max_entries.is_some_and(|m| entries > m)
        }
    }
}

/// The level a pass evicts down to: `watermark` of `max` (at least 0).
fn target(max: Option<u64>, watermark: f64) -> u64 {
    max.map_or(u64::MAX, |m| (m as f64 * watermark).floor() as u64)
}

/// Run one pass (see the module doc); `keep` is the key the triggering put wrote.
pub(crate) fn run(core: &CacheCore, keep: Option<&str>) -> Result<EvictionReport> {
    let Some(_lock) = LockFile::try_acquire(&core.root().join("eviction.lock"))? else {
        return Ok(EvictionReport {
            skipped: true,
            ..Default::default()
        });
    };
    core.flush_accesses();
    let store = core.store();
    let usage = store.usage();
    let before = usage.raw();
    let mut files = store.payload_files()?;
    let mut bytes: u64 = files.iter().map(|f| f.len).sum();
    let mut entries = files.len() as u64;
    usage.calibrate(before, bytes, entries);
    let config = core.config();
    let (max_bytes, max_entries) = (config.max_size_bytes, config.max_entries);
    let mut report = EvictionReport::default();
    let over = |bytes: u64, entries: u64| {
        max_bytes.is_some_and(|m| bytes > m) || max_entries.is_some_and(|m| entries > m)
    };
    if over(bytes, entries) {
        let w = config.eviction_low_watermark;
        let (bytes_target, entries_target) = (target(max_bytes, w), target(max_entries, w));
        files.sort_by(|a, b| a.modified.cmp(&b.modified).then_with(|| a.key.cmp(&b.key)));
        for file in files.iter().filter(|f| Some(f.key.as_str()) != keep) {
            let for_size = bytes > bytes_target;
            if !for_size && entries <= entries_target {
                break;
            }
            if evict(core, file)? {
                bytes -= file.len.min(bytes);
                entries -= 1;
                report.freed_bytes += file.len;
                if for_size {
                    report.evicted_for_size += 1;
                } else {
                    report.evicted_for_entries += 1;
                }
            }
        }
    }
    usage.record_pass(
        report.evicted_for_size,
        report.evicted_for_entries,
        report.freed_bytes,
        crate::core::now_micros(),
    );
    report.bytes = bytes;
    report.entries = entries;
    if report.freed_bytes > 0 {
        tracing::debug!(
            evicted = report.evicted_for_size + report.evicted_for_entries,
            freed = report.freed_bytes,
            "eviction pass"
        );
    }
    Ok(report)
}

/// Evict one payload if it is still the file the walk found; its catalog row goes through the
/// journal.
fn evict(core: &CacheCore, file: &PayloadFile) -> Result<bool> {
    if !core.store().remove_if_unchanged(file)? {
        return Ok(false);
    }
    core.catalog()
        .submit(cacheness_catalog::CatalogOp::Delete {
            cache_key: file.key.clone(),
        })?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::target;

    #[test]
    fn targets_are_the_watermark_of_each_limit() {
        assert_eq!(target(Some(1000), 0.8), 800);
        assert_eq!(target(Some(10), 1.0), 10);
        assert_eq!(target(Some(3), 0.5), 1);
        assert_eq!(target(None, 0.8), u64::MAX);
    }
}
