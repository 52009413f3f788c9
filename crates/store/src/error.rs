//! The store's error type, which the API re-exports as `cacheness::Error`: every variant names
//! the key, file or value at fault.

use std::path::PathBuf;

/// Errors of the cache engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A key parameter name is not acceptable.
    #[error("invalid key parameter name {name:?}: {reason}")]
    InvalidParamName {
        /// The name given.
        name: String,
        /// Why it was refused.
        reason: String,
    },
    /// A value cannot be turned into a key parameter (a map with composite keys, batches of
    /// different schemas, a column Arrow cannot encode).
    #[error("cannot key {what}: {reason}")]
    InvalidParamValue {
        /// The parameter, argument or column at fault.
        what: String,
        /// Why.
        reason: String,
    },
    /// A cache key given by the caller is not 16 lower-case hex digits.
    #[error("invalid cache key {key:?}: keys are 16 lower-case hex digits")]
    InvalidKey {
        /// The key given.
        key: String,
    },
    /// A file operation failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
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
    /// A value could not be encoded into its payload format.
    #[error("cannot encode {what} for key {key}: {reason}")]
    Encode {
        /// The key being written.
        key: String,
        /// What was being encoded.
        what: String,
        /// Why it failed.
        reason: String,
    },
    /// Stored bytes are not what they should be.
    #[error("corrupt {what}: {reason}")]
    Corrupt {
        /// What was being read (a file, a header, a field).
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `get` asked for a different type than the entry holds.
    #[error("entry {key} holds {stored}, not {requested}")]
    WrongType {
        /// The entry's key.
        key: String,
        /// The data type stored.
        stored: String,
        /// The data type asked for.
        requested: String,
    },
    /// A slice asked of an array entry does not fit its shape.
    #[error("cannot slice entry {key}: {reason}")]
    InvalidSlice {
        /// The entry's key.
        key: String,
        /// What does not fit.
        reason: String,
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
    /// The signing key cannot be loaded (unreadable, malformed, wrong length, unsafe mode).
    #[error("signing key {source_name}: {reason}")]
    SigningKey {
        /// Where the key was looked for (a file, an environment variable).
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
    /// The catalog failed.
    #[error(transparent)]
    Catalog(#[from] cacheness_catalog::CatalogError),
    /// A file or object could not be reached (`cacheness_storage`: a location, an object
    /// store request, a lock file).
    #[error(transparent)]
    Storage(#[from] cacheness_storage::StorageError),
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
    /// The cache was closed.
    #[error("the cache at {root} is closed")]
    Closed {
        /// The cache root.
        root: PathBuf,
    },
}

impl Error {
    /// A failed file operation on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Stored bytes at `what` that are not what they should be.
    pub fn corrupt(what: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Error::Corrupt {
            what: what.into(),
            reason: reason.to_string(),
        }
    }
}

impl From<cacheness_format::Error> for Error {
    /// Each format error becomes the variant of the same name (the format's errors are the
    /// store's, raised one layer down).
    fn from(e: cacheness_format::Error) -> Self {
        use cacheness_format::Error as F;
        match e {
            F::InvalidParamName { name, reason } => Error::InvalidParamName { name, reason },
            F::InvalidParamValue { what, reason } => Error::InvalidParamValue { what, reason },
            F::Io { path, source } => Error::Io { path, source },
            F::Encode { key, what, reason } => Error::Encode { key, what, reason },
            F::Corrupt { what, reason } => Error::Corrupt { what, reason },
            F::WrongType {
                key,
                stored,
                requested,
            } => Error::WrongType {
                key,
                stored,
                requested,
            },
            F::InvalidSlice { key, reason } => Error::InvalidSlice { key, reason },
            F::SigningKey {
                source_name,
                reason,
            } => Error::SigningKey {
                source_name,
                reason,
            },
        }
    }
}

/// Result alias of the store.
pub type Result<T, E = Error> = std::result::Result<T, E>;
