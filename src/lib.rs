//! Cacheness: a disk cache for data and ML work, built as a small data lake.
//!
//! Payloads are Parquet (Arrow tables), Blosc2 (n-d arrays) and a documented container (serde
//! values, bytes, JSON), addressed by keys hashed from typed parameters; every entry is a row in
//! a Delta Lake catalog that Spark, DuckDB or Polars can read.
//!
//! This crate is the API: [`Cache`] (async, `cache.rs`) and [`blocking::Cache`], compute-once
//! lookups ([`memo`]: single flight in a process, an optional lock across processes), what
//! `#[cached]` functions run on ([`function`]), and re-exports of the types they take and
//! return: [`params!`], [`Params`], [`Serde`] and the modules [`keys`], [`codec`] and
//! [`signing`] from `cacheness-format` (the on-disk spec), [`CacheConfig`], [`EntryInfo`],
//! [`Error`] and friends from `cacheness-store` (the payload files), the catalog types from
//! `cacheness-catalog` under [`catalog`], pull-through tables under `pull`. SQL statements
//! run through `cacheness-sql`.
//!
//! Cargo features (all on by default): `sql` (`Cache::sql`, pull-through tables:
//! `cacheness-sql` and `cacheness-pull`), `http` and `postgres` (the pull-through tables'
//! HTTP and PostgreSQL sources; each implies `sql`). Without them the API is the cache alone:
//! no SQL session crate, no fetchers, no PostgreSQL driver. `docs/ARCHITECTURE.md` draws the crates.
//!
//! ```no_run
//! use cacheness::{blocking::Cache, params, Serde};
//! let cache = Cache::open("./cache")?;
//! cache.put(&Serde(vec![1, 2, 3]), &params!(model = "xgboost", dataset = "train"))?;
//! let v: Option<Serde<Vec<i32>>> = cache.get(&params!(model = "xgboost", dataset = "train"))?;
//! # Ok::<(), cacheness::Error>(())
//! ```

#![warn(missing_docs)]

pub mod blocking;
mod cache;
pub mod function;
pub mod memo;

pub use cache::Cache;
// The types the API takes and returns, and the modules that hold more of them. The store's
// internals (the blob store, eviction, usage counters, the access log) and the seal stay in
// their crates: tests and benches that check them name those crates.
/// The catalog's errors: the cause in [`Error::Catalog`].
pub use cacheness_catalog::CatalogError;
/// The errors of keys, payload bytes, types and slices: the cause in [`Error::Format`].
pub use cacheness_format::Error as FormatError;
pub use cacheness_format::{
    CacheKey, Cacheable, CodecOptions, DataType, Element, EntryMeta, Format, Params, RawObject,
    Serde, SigningKey, Value, codec, keys, params, signing,
};
#[cfg(feature = "sql")]
pub use cacheness_pull as pull;
/// The storage layer's errors: the cause in [`Error::Storage`].
pub use cacheness_storage::StorageError;
pub use cacheness_store::core::IntoLookup;
pub use cacheness_store::eviction::EvictionReport;
pub use cacheness_store::{
    CacheConfig, CacheStats, Durability, EntryInfo, Error, PutOptions, Result, config, repair,
    streamed,
};
// The store's modules the API is written against (`crate::core::CacheCore`, ...).
use cacheness_store::{core, error, metadata};

/// Cache a function's results on disk, keyed by its arguments (`docs/FUNCTIONS.md`).
///
/// ```no_run
/// use cacheness::cached;
///
/// #[cached(version = 1, ttl = "1h")]
/// fn slow_square(x: u64) -> u64 {
///     std::thread::sleep(std::time::Duration::from_secs(1));
///     x * x
/// }
///
/// assert_eq!(slow_square(12), 144); // computed, stored
/// assert_eq!(slow_square(12), 144); // read back
/// assert_eq!(slow_square_cache_info().hits, 1);
/// ```
///
/// An argument that can be neither a [`keys::KeyParam`] nor serialized is a compile error at
/// that argument ("the traits `KeyParam` and `Serialize` must be implemented"):
///
/// ```compile_fail
/// struct Connection;
/// #[cacheness::cached]
/// fn query(db: Connection, sql: String) -> Vec<String> { vec![] }
/// ```
///
/// Leave such an argument out of the key with `ignore`:
///
/// ```no_run
/// struct Connection;
/// #[cacheness::cached(ignore = [db])]
/// fn query(db: &Connection, sql: String) -> Vec<String> { vec![] }
/// ```
///
/// So is an argument named after a catalog column (`path`, `format`, ...), and a result that is
/// neither [`Cacheable`] nor serde-serializable:
///
/// ```compile_fail
/// #[cacheness::cached]
/// fn load(path: std::path::PathBuf) -> usize { 0 }
/// ```
///
/// ```compile_fail
/// #[cacheness::cached]
/// fn open_log(name: String) -> std::fs::File { std::fs::File::open(name).unwrap() }
/// ```
pub use cacheness_macros::cached;

/// The Delta Lake catalog (entry rows, journal, group commit).
pub use cacheness_catalog as catalog;

/// Where the cache's files live (a directory or an object store prefix), lock files, leases.
pub use cacheness_storage as storage;

/// Re-exported dependencies whose types appear in the API (use these to avoid version clashes).
pub mod deps {
    pub use deltalake::arrow;
    pub use deltalake::datafusion;
    pub use deltalake::parquet;
    pub use ndarray;
}

/// [`Cacheable`] is sealed: a type of one's own is cached through [`Serde`], not by
/// implementing it (this implementation is complete but for the seal, and does not compile):
///
/// ```compile_fail
/// use cacheness::codec::{EncodeCtx, Encoded};
/// use cacheness::{Cacheable, DataType, EntryMeta};
/// struct Mine;
/// impl Cacheable for Mine {
///     const DATA_TYPE: DataType = DataType::Bytes;
///     fn type_name() -> String { "Mine".into() }
///     fn encode(&self, _: &EncodeCtx<'_>) -> Result<Encoded, cacheness::FormatError> { unimplemented!() }
///     fn decode(_: bytes::Bytes, _: &EntryMeta) -> Result<Self, cacheness::FormatError> { Ok(Mine) }
/// }
/// ```
#[cfg(doctest)]
pub struct CacheableIsSealed;

/// The README's Rust snippets, run as doctests from the README itself.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
