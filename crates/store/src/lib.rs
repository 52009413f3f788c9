//! The store of Cacheness: keys, payload codecs, the blob store and the checked read path.
//!
//! A cache entry is one payload file plus one catalog row. This crate owns the payload side;
//! the catalog side lives in `cacheness-catalog`, SQL in `cacheness-sql`, and the API users
//! call (`Cache`, `blocking::Cache`, compute-once lookups, `#[cached]`) in `cacheness`, which
//! wraps [`core::CacheCore`].
//!
//! - [`keys`]: named, typed [`Params`] and the published key spec (XXH3-64 over a canonical
//!   encoding; `docs/KEYS.md`).
//! - [`codec`]: the [`Cacheable`] trait and the payload formats: Parquet for Arrow tables,
//!   Blosc2 `.b2nd` for arrays, a documented container for serde values, bytes and JSON
//!   (`docs/FORMATS.md`).
//! - [`seal`]: whole-file XXH3-128 content hashes stored inside each payload.
//! - [`signing`]: signing keys, the payload MAC and entry HMAC every payload and catalog row
//!   carries, checked on every read (`docs/SECURITY.md`).
//! - [`store`]: payload paths and atomic writes, counted in the shared [`usage`] counters;
//!   `shard_dirs`: the shard directories, opened without following links, that every file
//!   operation of the store is relative to.
//! - `remote_blobs`, `read_through`: payloads on an object store, and local copies of hot ones;
//!   [`ranged`]: reading only the parts of a large remote payload a scan or slice needs, each
//!   part checked against the payload's signed outboard tree.
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
//! - [`config`]: [`CacheConfig`], `cacheness.toml`, `CACHENESS_*` (each variable read from
//!   the field of `Settings` it is named after, by `env_settings`).
//! - [`stats`]: counters and [`CacheStats`].
//!
//! Guarantees: a get returns exactly what was put under the same parameters, or nothing. Every
//! payload is checked before it is decoded (its signature, its key, its stored parameters, its
//! expiry); a payload that fails is removed and counted, and a 64-bit key collision is a
//! miss. Gets never read the Delta catalog.

#![warn(missing_docs)]

pub mod access;
pub mod codec;
pub mod config;
pub mod core;
mod env_settings;
pub mod error;
pub mod eviction;
pub mod keys;
pub mod metadata;
mod payload_probe;
pub mod ranged;
mod read_through;
mod remote_blobs;
pub mod repair;
pub mod seal;
mod shard_dirs;
pub mod signing;
pub mod stats;
pub mod store;
pub mod streamed;
pub mod usage;

pub use codec::array::Element;
pub use codec::object::RawObject;
pub use codec::{Cacheable, CodecOptions, DataType, EntryMeta, Format, Serde};
pub use config::{CacheConfig, Durability};
pub use core::{EntryInfo, PutOptions};
pub use error::{Error, Result};
pub use keys::{Params, Value};
pub use signing::SigningKey;
pub use stats::CacheStats;
