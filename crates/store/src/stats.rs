//! Counters kept by a cache in this process, and the [`CacheStats`] report.

use std::sync::atomic::{AtomicU64, Ordering};

/// Why an entry was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovalReason {
    /// Its TTL had passed.
    Expired,
    /// Its payload failed a check (content hash, metadata, format, key).
    Corrupt,
    /// The user invalidated it.
    Invalidated,
    /// Its signature did not verify (tampered with, or signed with another key).
    InvalidSignature,
}

/// Process-local counters (atomic, lock-free).
#[derive(Debug, Default)]
pub struct Counters {
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
    pub(crate) collisions: AtomicU64,
    pub(crate) removed_expired: AtomicU64,
    pub(crate) removed_corrupt: AtomicU64,
    pub(crate) removed_invalidated: AtomicU64,
    pub(crate) removed_invalid_signature: AtomicU64,
    pub(crate) invalid_signatures: AtomicU64,
}

impl Counters {
    pub(crate) fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn removed(&self, reason: RemovalReason) {
        let c = match reason {
            RemovalReason::Expired => &self.removed_expired,
            RemovalReason::Corrupt => &self.removed_corrupt,
            RemovalReason::Invalidated => &self.removed_invalidated,
            RemovalReason::InvalidSignature => &self.removed_invalid_signature,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// What [`crate::Cache::stats`] reports. Entry and byte counts come from the catalog (all
/// processes); hits, misses and removals are counted by this process since it opened the cache;
/// evictions are counted by every process on this machine (the shared usage counters,
/// `usage.rs`) since the cache was created.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CacheStats {
    /// Live entries.
    pub entries: u64,
    /// Bytes of payload files.
    pub stored_bytes: u64,
    /// Bytes of the values in memory.
    pub raw_bytes: u64,
    /// Gets that returned a value.
    pub hits: u64,
    /// Gets that returned nothing.
    pub misses: u64,
    /// Gets whose key matched an entry made from other parameters (a 64-bit collision).
    pub collisions: u64,
    /// Entries removed because they had expired.
    pub removed_expired: u64,
    /// Entries removed because their payload failed a check.
    pub removed_corrupt: u64,
    /// Entries removed by `invalidate`.
    pub removed_invalidated: u64,
    /// Payloads whose signature did not verify (counted whether or not they were removed).
    pub invalid_signatures: u64,
    /// Entries removed because their signature did not verify (`delete_invalid_signatures`).
    pub removed_invalid_signature: u64,
    /// The size limit in force in this process (`max_size_bytes`), if any.
    pub max_size_bytes: Option<u64>,
    /// The entry limit in force in this process (`max_entries`), if any.
    pub max_entries: Option<u64>,
    /// Entries evicted because the payload bytes passed the size limit (all processes).
    pub evicted_for_size: u64,
    /// Entries evicted because the entry count passed the entry limit (all processes).
    pub evicted_for_entries: u64,
    /// Payload bytes freed by evictions (all processes).
    pub evicted_bytes: u64,
    /// Eviction passes run (all processes; a pass that finds the cache within its limits only
    /// recalibrates the usage counters).
    pub eviction_passes: u64,
    /// When the last eviction pass ran.
    pub last_eviction_pass: Option<chrono::DateTime<chrono::Utc>>,
    /// Gets of a cache on an object store served from the local read-through copy after a
    /// `304 Not Modified` (this process).
    pub read_through_hits: u64,
    /// Gets and `cached_table` scans that read a large payload on an object store in checked
    /// parts rather than whole (this process; `docs/SCALE.md`, "Ranged reads").
    pub ranged_reads: u64,
    /// Payload bytes those ranged reads fetched (this process).
    pub ranged_bytes: u64,
}

/// What a report says beyond the counters: catalog sums, limits and eviction totals.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ReportInputs {
    pub entries: u64,
    pub stored_bytes: u64,
    pub raw_bytes: u64,
    pub max_size_bytes: Option<u64>,
    pub max_entries: Option<u64>,
    pub evictions: crate::usage::EvictionTotals,
    pub read_through_hits: u64,
    pub ranged: (u64, u64),
}

impl Counters {
    pub(crate) fn report(&self, r: ReportInputs) -> CacheStats {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let ev = r.evictions;
        CacheStats {
            entries: r.entries,
            stored_bytes: r.stored_bytes,
            raw_bytes: r.raw_bytes,
            hits: g(&self.hits),
            misses: g(&self.misses),
            collisions: g(&self.collisions),
            removed_expired: g(&self.removed_expired),
            removed_corrupt: g(&self.removed_corrupt),
            removed_invalidated: g(&self.removed_invalidated),
            invalid_signatures: g(&self.invalid_signatures),
            removed_invalid_signature: g(&self.removed_invalid_signature),
            max_size_bytes: r.max_size_bytes,
            max_entries: r.max_entries,
            evicted_for_size: ev.for_size,
            evicted_for_entries: ev.for_entries,
            evicted_bytes: ev.bytes,
            eviction_passes: ev.passes,
            last_eviction_pass: (ev.last_pass_at > 0)
                .then(|| chrono::DateTime::from_timestamp_micros(ev.last_pass_at))
                .flatten(),
            read_through_hits: r.read_through_hits,
            ranged_reads: r.ranged.0,
            ranged_bytes: r.ranged.1,
        }
    }
}
