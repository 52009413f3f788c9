//! The store's error type, which the API re-exports as `cacheness::Error`: every variant names
//! the key, file or value at fault.

use std::path::PathBuf;

use cacheness_storage::StorageError;

/// The error of every operation of the cache: `cacheness::Error`.
///
/// Errors of the layers below keep their own types, as the cause of one variant each:
/// [`Error::Format`] (a key, a payload's bytes, a wrong type or slice, a signing key),
/// [`Error::Catalog`], [`Error::Storage`] (a file operation, an object store request, a lock)
/// and [`Error::Sql`]. Every variant names the key, file
/// or value at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O error from code that names no file: a `?` on an `std::io::Result` in a
    /// `#[cached]` function or a closure given to the cache.
    #[error("I/O error: {0}")]
    OtherIo(#[from] std::io::Error),
    /// A value given as a reader (a file, standard input, a table's batches) could not be
    /// read; nothing was stored.
    #[error("cannot read the value for key {key}: {source}")]
    Read {
        /// The key being written.
        key: String,
        /// The reader's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A put's TTL is out of range (more than [`crate::config::MAX_TTL`]).
    #[error("invalid TTL for key {key}: {reason}")]
    InvalidTtl {
        /// The key being written.
        key: String,
        /// What is wrong with the TTL.
        reason: String,
    },
    /// The configuration is invalid.
    #[error("configuration {source_name}: {reason}")]
    Config {
        /// Where the bad setting came from (`cacheness.toml`, an environment variable...).
        source_name: String,
        /// What is wrong.
        reason: String,
    },
    /// A put wrote its payload but could not journal its catalog row (a full disk, say), so
    /// it removed the payload again: the key holds no value, and the catalog agrees.
    #[error(
        "put of key {key} undone, and the key holds no value: its catalog row could not be journaled: {source}"
    )]
    PutUndone {
        /// The key.
        key: String,
        /// Why the row could not be journaled.
        #[source]
        source: cacheness_catalog::CatalogError,
    },
    /// A key could not be derived, a value not encoded, a payload's bytes are not what they
    /// should be, a get asked for another type than the entry holds or a slice that does not
    /// fit, or a signing key cannot be loaded: a `cacheness_format::Error`, whose variants
    /// say which.
    #[error(transparent)]
    Format(#[from] cacheness_format::Error),
    /// The catalog failed.
    #[error(transparent)]
    Catalog(#[from] cacheness_catalog::CatalogError),
    /// A file or object could not be reached (`cacheness_storage`: a location, an object
    /// store request, a lock file).
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A SQL statement failed (syntax, unknown table or column, types), or its tables could
    /// not be built: a `cacheness_sql::SqlError` (downcast the source to match on it).
    #[error(transparent)]
    Sql(Box<dyn std::error::Error + Send + Sync>),
    /// An operation needs an entry that does not exist (or has expired).
    #[error("no live entry with key {key}")]
    NotFound {
        /// The key looked up.
        key: String,
    },
    /// A blocking task run for the async API did not finish, or a runtime could not start.
    #[error("a background task of the cache failed: {reason}")]
    Background {
        /// What happened to it.
        reason: String,
    },
    /// The small-entry store (`<root>/small/`, LMDB) failed: it could not be opened, or a
    /// transaction failed (a full disk, say).
    #[error("the small-entry store at {path}: {source}")]
    SmallStore {
        /// The store's directory.
        path: PathBuf,
        /// LMDB's error, through `heed`.
        #[source]
        source: heed::Error,
    },
    /// The cache was closed.
    #[error("the cache at {root} is closed")]
    Closed {
        /// The cache root.
        root: PathBuf,
    },
    /// This process was forked from one that had opened a cache, whose threads a fork cannot
    /// carry (`crate::forked`).
    #[error(
        "cannot open the cache at {root}: this process was forked from process {parent} after \
         that process opened a cache, and the threads that cache started cannot be carried \
         across a fork; open caches in processes started afresh (exec; in Python the 'spawn' \
         or 'forkserver' method: multiprocessing.get_context(\"spawn\")), or fork before the \
         first cache is opened"
    )]
    Forked {
        /// The cache root.
        root: PathBuf,
        /// The process that opened a cache and then forked (this one's ancestor).
        parent: u32,
    },
}

impl Error {
    /// A failed file operation on `path` (a [`StorageError::Io`]: files are the storage
    /// layer's, whichever crate opens them).
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Storage(StorageError::io(path, source))
    }

    /// Stored bytes at `what` that are not what they should be.
    pub fn corrupt(what: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Error::Format(cacheness_format::Error::corrupt(what, reason))
    }
}

/// Result alias of the store.
pub type Result<T, E = Error> = std::result::Result<T, E>;
