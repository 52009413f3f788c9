//! Where a cache's files live and how they are reached, below everything that gives them
//! meaning: the catalog, the payload store and the pull-through tables all go through it.
//!
//! - [`location`]: [`Location`], a local directory or a prefix in an object store (`s3://`,
//!   `gs://`, `az://`...), the one type every shared file goes through; small files read and
//!   created at most once; Delta tables opened at a location.
//! - [`object_stores`]: the object stores built for remote locations (settings from the
//!   environment, then explicit options), and the factories that make delta-rs open them.
//! - [`io`]: the IO runtime every object store request runs on ([`on_io`]), and [`wait`] for
//!   synchronous callers.
//! - [`lockfile`]: [`LockFile`], an exclusive `flock` on a file, released by the OS when its
//!   holder dies: the one lock across processes on one host.
//! - [`delta`]: Delta tables created once however many processes race ([`delta::open_or_create`])
//!   and the one retry policy of commits that lose races ([`delta::Attempts`]).
//! - [`lease`]: leases on an object store (a lock across hosts that expires).
//! - [`error`]: [`StorageError`], naming the file, object or location at fault.

#![warn(missing_docs)]

pub mod delta;
pub mod error;
pub mod io;
pub mod lease;
pub mod location;
pub mod lockfile;
pub mod object_stores;

pub use error::{Result, StorageError, is_out_of_space};
pub use io::{on_io, wait};
pub use location::{Location, REMOTE_SCHEMES, Remote, store_err};
pub use lockfile::LockFile;
pub use object_stores::register;
