//! The storage layer's error type: every variant names the file, object or location at fault.

use std::path::PathBuf;

/// Everything that can go wrong reaching a cache's files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// A file system operation failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A cache location (a path or an object store URL) cannot be used.
    #[error("cache location {location}: {message}")]
    Location {
        /// The location as given.
        location: String,
        /// What is wrong with it.
        message: String,
    },
    /// An object store request failed.
    #[error("object store {location}: {source}")]
    ObjectStore {
        /// The object (or prefix) involved.
        location: String,
        /// The underlying error.
        #[source]
        source: Box<object_store::Error>,
    },
    /// A Delta table could not be opened or created.
    #[error("Delta table {table}: {source}")]
    Delta {
        /// Location of the Delta table.
        table: String,
        /// The underlying error.
        #[source]
        source: Box<deltalake::DeltaTableError>,
    },
}

impl StorageError {
    /// A failed file operation on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StorageError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias of storage operations.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Whether `e` comes from a file system that cannot take writes now (full, over quota,
/// read-only): an error that retrying at once cannot cure. The cause is looked for along the
/// error's sources; where a library keeps only the text of an I/O error (delta-rs turns
/// object_store's into strings on some paths), the OS's message is recognised in it.
pub fn is_out_of_space(e: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind;
    const MESSAGES: [&str; 3] = [
        "No space left on device",
        "Disk quota exceeded",
        "Read-only file system",
    ];
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                ErrorKind::StorageFull | ErrorKind::QuotaExceeded | ErrorKind::ReadOnlyFilesystem
            )
        {
            return true;
        }
        let text = err.to_string();
        if MESSAGES.iter().any(|m| text.contains(m)) {
            return true;
        }
        next = err.source();
    }
    false
}
