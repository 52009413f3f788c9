//! The store of Cacheness: the payload files, and the checked read path every get goes
//! through.
//!
//! A cache entry is one payload file plus one catalog row. This crate owns the payload side:
//! the bytes of a payload and the key it lives under are specified in `cacheness-format`
//! (keys, codecs, seal, signatures), the catalog side lives in `cacheness-catalog`, SQL in
//! `cacheness-sql`, and the API users call (`Cache`, `blocking::Cache`, compute-once lookups,
//! `#[cached]`) in `cacheness`, which wraps [`core::CacheCore`].
//!
//! - [`store`]: payload paths and atomic writes, counted in the shared [`usage`] counters;
//!   `shard_dirs`: the shard directories, opened without following links, that every file
//!   operation of the store is relative to.
//! - [`small_store`]: objects, bytes and JSON under 64 KiB as records of one LMDB environment
//!   (`store::in_small_store`), and a marker
//!   for every payload file, so that a miss needs no system call.
//! - `remote_blobs`, `read_through`: payloads on an object store, and local copies of hot ones;
//!   [`ranged`]: reading only the parts of a large remote payload a scan or slice needs, each
//!   part checked against the payload's signed outboard tree.
//! - [`sealing_write`]: a large payload written while its content hash and payload MAC are
//!   computed, in one pass over its bytes.
//! - [`streamed`]: bytes values too large to hold in memory, put from a reader and read into
//!   a writer through small buffers, checked whole before a decoder sees them.
//! - `payload_probe`: the payload files an entry has now, which the catalog's commits match
//!   rows against (the row that survives describes the payload that survives).
//! - [`eviction`]: the size and entry limits (least-recently-used eviction across processes);
//!   `access` records gets in payload modification times, in batches.
//! - [`core`]: the synchronous put/get logic (`cacheness::Cache` and
//!   `cacheness::blocking::Cache` wrap it).
//! - [`metadata`]: custom metadata tables (declare, attach rows to entries, clear).
//! - [`repair`]: verify every row against its payload and every payload against the catalog,
//!   and repair what is wrong (the catalog can be rebuilt from payloads alone).
//! - [`config`]: [`CacheConfig`], whose fields are the settings, read in layers from
//!   the builder, `cacheness.toml` and `CACHENESS_*` (one declaration: the field's serde name).
//! - [`stats`]: counters and [`CacheStats`].
//! - `forked`: a process forked from one that had opened a cache cannot open one (the threads
//!   a cache starts cannot be carried across `fork()`).
//!
//! Guarantees: a get returns exactly what was put under the same parameters, or nothing. Every
//! payload is checked before it is decoded (its signature, its key, its stored parameters, its
//! expiry); a payload that fails is removed and counted, and a 64-bit key collision is a
//! miss. Gets never read the Delta catalog.

#![warn(missing_docs)]

pub mod access;
pub mod config;
pub mod core;
pub mod error;
pub mod eviction;
mod forked;
pub mod metadata;
mod payload_probe;
pub mod ranged;
mod read_through;
mod remote_blobs;
pub mod repair;
pub mod sealing_write;
mod shard_dirs;
pub mod small_store;
pub mod stats;
pub mod store;
pub mod streamed;
pub mod usage;

pub use config::{CacheConfig, Durability};
pub use core::{EntryInfo, PutOptions};
pub use error::{Error, Result};
pub use stats::CacheStats;
