//! The format's error type: every variant names the key, file, parameter or value at fault.
//! The API returns it as the cause of `cacheness::Error::Format` (`cacheness::FormatError`).

use std::path::PathBuf;

/// Errors of keying, encoding, decoding and signing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
    /// A cache key given as text is not 16 lower-case hex digits.
    #[error("invalid cache key {key:?}: keys are 16 lower-case hex digits")]
    InvalidKey {
        /// The key given.
        key: String,
    },
    /// A file operation failed (a file keyed by content, a signing key file).
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
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
    /// A decode asked for a different type than the payload holds.
    #[error("entry {key} holds {stored}, not {requested}")]
    WrongType {
        /// The entry's key.
        key: String,
        /// The data type stored.
        stored: String,
        /// The data type asked for.
        requested: String,
    },
    /// A slice asked of an array payload does not fit its shape.
    #[error("cannot slice entry {key}: {reason}")]
    InvalidSlice {
        /// The entry's key.
        key: String,
        /// What does not fit.
        reason: String,
    },
    /// A signing key cannot be loaded (unreadable, malformed, wrong length, unsafe mode).
    #[error("signing key {source_name}: {reason}")]
    SigningKey {
        /// Where the key was looked for (a file, an environment variable).
        source_name: String,
        /// What is wrong.
        reason: String,
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

/// Why a text or a file is not what it should be, as the layer that found it says it: a
/// setting that is not a size, a signing key source that is no source, a Parquet footer that
/// does not walk, a Blosc2 call that failed, a pull-through source's answer that does not
/// decode. The caller turns it into an error that names the setting, key, file or table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl From<String> for Invalid {
    fn from(reason: String) -> Self {
        Invalid(reason)
    }
}

impl From<&str> for Invalid {
    fn from(reason: &str) -> Self {
        Invalid(reason.to_string())
    }
}

/// Result alias of the format.
pub type Result<T, E = Error> = std::result::Result<T, E>;
