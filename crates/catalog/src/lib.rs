//! The Delta Lake catalog of a Cacheness cache.
//!
//! Every cache entry has one row in the Delta table `<root>/catalog/cache_entries`, so any Delta
//! reader (Spark, DuckDB, Polars, pandas) can ask what the cache holds. Writing a Delta commit
//! per put would cost milliseconds and conflict between writers, so the catalog is fed through
//! a **journal and a group commit**:
//!
//! - [`Catalog::submit`] appends the operation to this process's journal segment
//!   (`<root>/catalog/journal/`) and queues it: microseconds, no Delta involved. Once it returns,
//!   the operation survives a `kill -9` of the process.
//! - A background thread ([`committer`]) turns the queue into one Delta commit per batch,
//!   bounded by rows and by time, and on [`Catalog::flush`] and close. Each commit carries the
//!   Delta application transaction `(writer, segment)`, so replaying a segment is idempotent.
//! - The committer opens the Delta table only when there is work for it: a commit, a listing,
//!   a flush, or, half a second after the catalog was opened, the replay of the journals of
//!   writers whose process died. A process that only reads and exits sooner never opens it.
//! - [`Catalog::list`] returns the snapshot plus all journaled operations not yet committed.
//! - Commits run in rounds, one at a time per host (`commit_round`): a round also commits the
//!   segments of dead writers and those that closing processes handed over, in one Delta
//!   commit; a closing process whose rows another running process will commit leaves them to
//!   it, so processes that close one after another share one commit.
//!
//! Modules: [`row`] (the row and operation types; a row's signed fields and its signature
//! check, and key parameters as typed columns, over `cacheness-format`'s signing and keys),
//! [`schema`] (Arrow schema, row ↔ batch; the fixed column names are the key spec's reserved
//! names),
//! [`journal`] (segment files and record framing), [`delta`] (the Delta table; `log_check`: its
//! commit files checked before they are trusted; `committed_keys`: which keys the committed
//! table holds, so that a fresh put over a row left without its payload replaces that row),
//! [`committer`] (the background group commit; `commit_round`: what one commit takes, and the
//! hand-over between processes), `listing` (snapshot ⊕ journals), [`custom`]
//! (user-declared metadata tables, one Delta table each, rows tied to entries by key), [`names`]
//! (the rule for names that become SQL tables), [`maintenance`] (compaction, vacuum, checkpoints
//! and log cleanup, one process at a time, under a `cacheness_storage::LockFile`). Where the
//! shared files live (a local directory or an object store prefix) is `cacheness-storage`'s
//! `Location`; see [`CatalogPlace`].
//!
//! On an object store (`s3://`, `gs://`, `az://`) the Delta tables live in the bucket and
//! every host keeps its journals and lock files in a local directory of its own: a host's
//! acknowledged operations survive its crash on its own disk and reach the shared table with
//! its next commit; Delta commits from several hosts never overwrite each other
//! (put-if-absent, see `cacheness_storage::object_stores`).

#![warn(missing_docs)]

mod commit_round;
mod committed_keys;
pub mod committer;
pub mod custom;
pub mod delta;
pub mod error;
pub mod journal;
mod listing;
mod log_check;
pub mod maintenance;
pub mod names;
pub mod row;
pub mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use cacheness_storage::Location;
pub use committer::CommitPolicy;
use committer::{Reply, Request, Shared};
pub use custom::MetadataTables;
pub use error::{CatalogError, Result};
pub use listing::Overlay;
pub use row::{CatalogOp, CatalogRow, ColumnValue, PayloadOnDisk, PayloadProbe};
pub use schema::Projection;

/// Where a catalog lives: its shared tables, and this host's journals and lock files.
#[derive(Debug, Clone)]
pub struct CatalogPlace {
    /// `<root>/catalog`: the Delta table `cache_entries` and the custom metadata tables, on
    /// a local disk or an object store.
    pub shared: Location,
    /// This host's directory for journals and lock files: the same directory as `shared`
    /// for a local cache, a directory in the host's local state for a cache on an object store.
    pub local: PathBuf,
}

impl From<&Path> for CatalogPlace {
    fn from(dir: &Path) -> Self {
        CatalogPlace {
            shared: Location::Local(dir.to_path_buf()),
            local: dir.to_path_buf(),
        }
    }
}

impl From<&PathBuf> for CatalogPlace {
    fn from(dir: &PathBuf) -> Self {
        CatalogPlace::from(dir.as_path())
    }
}

/// The catalog of one cache, as seen by one process.
pub struct Catalog {
    /// The committer, or why it could not start (the catalog directory is unusable: a file
    /// in its place, no permission). Without it gets still work; whatever needs the catalog
    /// fails with [`CatalogError::Unavailable`].
    shared: std::result::Result<Arc<Shared>, Arc<CatalogError>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    dir: PathBuf,
    place: CatalogPlace,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog").field("dir", &self.dir).finish()
    }
}

impl Catalog {
    /// Open the catalog at `place` (usually a directory `<root>/catalog`), creating the Delta
    /// table if needed and replaying journals left by dead processes (both in the background,
    /// see the crate docs).
    ///
    /// A catalog directory that cannot be used (a file in its place, no permission) does not
    /// fail the open: the cache's gets never need the catalog, so they keep working, and every
    /// operation that does need it fails with [`CatalogError::Unavailable`], naming the
    /// directory and the cause.
    pub fn open(place: impl Into<CatalogPlace>, policy: CommitPolicy) -> Result<Self> {
        let place = place.into();
        let (shared, handle) = match committer::start(&place, policy) {
            Ok((shared, handle)) => (Ok(shared), Some(handle)),
            Err(e) => {
                tracing::warn!(catalog = %place.local.display(), "the catalog is unavailable: {e}");
                (Err(Arc::new(e)), None)
            }
        };
        Ok(Catalog {
            shared,
            thread: Mutex::new(handle),
            dir: place.local.clone(),
            place,
        })
    }

    /// This host's catalog directory (journals, lock files).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The custom metadata tables of this catalog.
    pub fn metadata_tables(&self) -> MetadataTables {
        MetadataTables::new(&self.place.shared)
    }

    /// Where the `cache_entries` Delta table lives.
    pub fn table_location(&self) -> Location {
        self.place.shared.join("cache_entries")
    }

    /// The committer, or [`CatalogError::Unavailable`].
    fn committer(&self) -> Result<&Arc<Shared>> {
        self.shared
            .as_ref()
            .map_err(|cause| CatalogError::Unavailable {
                dir: self.dir.clone(),
                reason: cause.to_string(),
            })
    }

    /// Journal an operation; it reaches Delta with the next group commit.
    pub fn submit(&self, op: CatalogOp) -> Result<()> {
        self.committer()?.submit(op)
    }

    fn call_blocking<T>(&self, make: impl FnOnce(Reply<Result<T>>) -> Request) -> Result<T> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.committer()?.request(make(Reply::Blocking(tx)))?;
        rx.recv().map_err(|_| CatalogError::CommitterGone {
            root: self.dir.clone(),
        })?
    }

    async fn call_async<T>(&self, make: impl FnOnce(Reply<Result<T>>) -> Request) -> Result<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.committer()?.request(make(Reply::Async(tx)))?;
        rx.await.map_err(|_| CatalogError::CommitterGone {
            root: self.dir.clone(),
        })?
    }

    /// Commit everything submitted so far; returns when it is in Delta.
    pub fn flush_blocking(&self) -> Result<()> {
        self.call_blocking(|reply| Request::Flush {
            reply,
            closing: false,
        })
    }

    /// Commit everything submitted so far; resolves when it is in Delta.
    pub async fn flush(&self) -> Result<()> {
        self.call_async(|reply| Request::Flush {
            reply,
            closing: false,
        })
        .await
    }

    /// Every live row: the Delta snapshot plus journaled operations of all writers.
    pub fn list_blocking(&self) -> Result<Vec<CatalogRow>> {
        self.call_blocking(|r| Request::List(Projection::Full, r))
    }

    /// Every live row: the Delta snapshot plus journaled operations of all writers.
    pub async fn list(&self) -> Result<Vec<CatalogRow>> {
        self.call_async(|r| Request::List(Projection::Full, r))
            .await
    }

    /// Every live row with only its key, sizes and times filled in ([`Projection::Sizes`]):
    /// what totals need, at a fraction of a full listing's cost.
    pub fn sizes_blocking(&self) -> Result<Vec<CatalogRow>> {
        self.call_blocking(|r| Request::List(Projection::Sizes, r))
    }

    /// Async [`Self::sizes_blocking`].
    pub async fn sizes(&self) -> Result<Vec<CatalogRow>> {
        self.call_async(|r| Request::List(Projection::Sizes, r))
            .await
    }

    /// [`Self::list_blocking`], and the keys with more than one row in the Delta table itself
    /// (the listing shows only the newest): what `verify` reports as duplicate rows. One read
    /// of the table serves both.
    pub fn list_noting_duplicates_blocking(&self) -> Result<(Vec<CatalogRow>, Vec<String>)> {
        self.call_blocking(Request::ListNotingDuplicates)
    }

    /// The current Delta table and the journaled operations not in it yet (for SQL).
    pub async fn table_and_overlay(&self) -> Result<(deltalake::DeltaTable, Overlay)> {
        self.call_async(Request::Snapshot).await
    }

    /// Blocking [`Self::table_and_overlay`].
    pub fn table_and_overlay_blocking(&self) -> Result<(deltalake::DeltaTable, Overlay)> {
        self.call_blocking(Request::Snapshot)
    }

    /// Run a maintenance pass now ([`maintenance`]): compact (always, with `force`),
    /// checkpoint, delete old log files, vacuum. Skipped if another process is maintaining.
    pub fn maintain_blocking(&self, force: bool) -> Result<maintenance::MaintenanceReport> {
        self.call_blocking(|r| Request::Maintain(force, r))
    }

    /// Commit what is pending and stop the committer. Further submits fail.
    pub fn close(&self) -> Result<()> {
        // A process that wrote nothing (or whose writes are committed) does not wait for the
        // Delta table: its committer may not even have opened it.
        let Ok(shared) = &self.shared else {
            return Ok(()); // nothing was journaled, nothing runs
        };
        let dirty = shared.lock().dirty;
        // Committed, or left to another process of this host that will commit them
        // (`commit_round`): processes closing one after another share one commit.
        let flushed = match dirty {
            true => self.call_blocking(|reply| Request::Flush {
                reply,
                closing: true,
            }),
            false => Ok(()),
        };
        shared.shutdown();
        let handle = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            let _ = h.join();
        }
        match flushed {
            Err(CatalogError::CommitterGone { .. }) => Ok(()),
            other => other,
        }
    }
}

impl Drop for Catalog {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::warn!(catalog = %self.dir.display(), "closing the catalog: {e}");
        }
    }
}
