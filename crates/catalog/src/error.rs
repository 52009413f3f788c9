//! The catalog's error type.

use std::path::PathBuf;

/// Everything that can go wrong in the catalog. Each variant names the file or table at fault.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A file system operation on a catalog file failed.
    #[error("catalog I/O error on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The Delta table rejected an operation.
    #[error("Delta table {table}: {source}")]
    Delta {
        /// Location of the Delta table.
        table: String,
        /// The underlying error.
        source: Box<deltalake::DeltaTableError>,
    },
    /// Arrow could not build or read a catalog batch.
    #[error("catalog batch for {table}: {source}")]
    Arrow {
        /// Location of the Delta table.
        table: String,
        /// The underlying error.
        source: deltalake::arrow::error::ArrowError,
    },
    /// A catalog row could not be read back (missing or mistyped column).
    #[error("catalog table {table}: column {column}: {message}")]
    Column {
        /// Location of the Delta table.
        table: String,
        /// The column at fault.
        column: String,
        /// What was wrong with it.
        message: String,
    },
    /// A commit file of the catalog table's Delta log is damaged (empty, not JSON, or lines
    /// that are no Delta action): nothing read from the table can be trusted.
    #[error(
        "catalog log file {file} is damaged ({message}): listings and SQL cannot be trusted \
         until it is repaired; gets keep working. Move the table aside and run `cacheness \
         repair`, which rebuilds it from the payloads"
    )]
    LogFile {
        /// The log file at fault.
        file: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A data file of the catalog table could not be read.
    #[error("catalog data file {file}: {message}")]
    DataFile {
        /// The Parquet file at fault.
        file: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A name that would become a SQL table (a metadata table, a named cached table) is not
    /// allowed.
    #[error("invalid table name {name:?}: {reason}")]
    InvalidName {
        /// The name given.
        name: String,
        /// Why it is refused.
        reason: String,
    },
    /// A custom metadata table operation was refused (undeclared table, wrong columns).
    #[error("metadata table {table}: {message}")]
    Metadata {
        /// The metadata table.
        table: String,
        /// What was wrong.
        message: String,
    },
    /// A journal record could not be encoded.
    #[error("journal {path}: {message}")]
    Journal {
        /// The journal segment involved.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A cache location (a path or an object store URL) cannot be used.
    #[error("cache location {location}: {message}")]
    Location {
        /// The location as given.
        location: String,
        /// What is wrong with it.
        message: String,
    },
    /// The background committer has stopped (the catalog was closed or its thread died).
    #[error("the catalog committer for {root} is not running")]
    CommitterGone {
        /// The catalog directory.
        root: PathBuf,
    },
    /// The catalog directory cannot be used (a file in its place, no permission): gets still
    /// work, nothing that needs the catalog does.
    #[error(
        "the catalog at {dir} is unavailable ({reason}); gets still work. If a file or link is in its place, move it aside and run `cacheness repair`, which rebuilds the catalog from the payloads"
    )]
    Unavailable {
        /// The catalog directory.
        dir: PathBuf,
        /// Why it could not be opened.
        reason: String,
    },
    /// A file or object of the catalog could not be reached (`cacheness_storage`).
    #[error(transparent)]
    Storage(#[from] cacheness_storage::StorageError),
    /// A commit to the catalog failed; the operations stay in the journal and are retried.
    #[error("commit to {table} failed (the rows stay journaled and will be retried): {message}")]
    CommitFailed {
        /// Location of the Delta table.
        table: String,
        /// Why the commit failed.
        message: String,
    },
}

impl CatalogError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CatalogError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias for catalog operations.
pub type Result<T, E = CatalogError> = std::result::Result<T, E>;

pub use cacheness_storage::is_out_of_space;
