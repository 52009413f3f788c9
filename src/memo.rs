//! Compute-once lookups: `get_or_insert_with` and its async twin, behind which `#[cached]`
//! functions run.
//!
//! A lookup that misses computes the value, stores it and returns it. Concurrent identical
//! lookups in one process compute once (**single flight**): the first caller for a key leads,
//! the others wait for it and then read its stored result. Across processes an optional
//! per-key lock file (`<root>/locks/<key>.lock`, an exclusive `flock`) makes other processes
//! wait for the first one's result instead of computing it too.
//!
//! A leader whose value is not stored (its computation failed, `cache_if` refused the value,
//! or the put failed) wakes its followers, and the next of them computes in turn: waiters never
//! receive a value that was not stored, so no `Clone` bound is needed. A put that fails after
//! the computation is logged and the computed value is still returned: the work is never lost
//! to a full disk.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use cacheness_storage::LockFile;

use crate::codec::Cacheable;
use crate::core::{CacheCore, Lookup, PutOptions};
use crate::error::{Error, Result};
use crate::keys::CacheKey;

/// How a compute-once lookup was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The value was in the cache.
    Hit,
    /// The value was computed here (and stored unless refused or the put failed).
    Computed,
}

/// Why a compute-once lookup failed.
#[derive(Debug, thiserror::Error)]
pub enum MemoError<E> {
    /// The cache failed before anything was computed (reading the entry, taking the lock).
    #[error(transparent)]
    Cache(Error),
    /// The computation returned an error (nothing was stored).
    #[error("the computation failed")]
    Compute(E),
}

impl<E> MemoError<E> {
    /// The computation's error, or the cache's converted into `E`.
    pub fn into_inner(self) -> E
    where
        E: From<Error>,
    {
        match self {
            MemoError::Cache(e) => E::from(e),
            MemoError::Compute(e) => e,
        }
    }
}

/// How a compute-once lookup stores what it computes.
#[derive(Debug, Clone, Default)]
pub struct MemoOptions {
    /// Description, TTL, name and metadata of the stored entry.
    pub put: PutOptions,
    /// Wait for other processes computing the same key (`None`: the cache's
    /// `lock_across_processes` setting).
    pub lock_across_processes: Option<bool>,
}

impl MemoOptions {
    /// Store computed values with these put options.
    pub fn put(put: PutOptions) -> Self {
        MemoOptions {
            put,
            lock_across_processes: None,
        }
    }

    /// Wait for (or do not wait for) other processes computing the same key.
    pub fn lock_across_processes(mut self, on: bool) -> Self {
        self.lock_across_processes = Some(on);
        self
    }

    pub(crate) fn locks(&self, core: &CacheCore) -> bool {
        self.lock_across_processes
            .unwrap_or(core.config().lock_across_processes)
    }
}

/// One compute-once lookup, the protocol both APIs follow ([`crate::Cache::memoize_in`] and
/// [`crate::blocking::Cache::memoize_in`] differ only in how they wait, lock, compute and put):
///
/// 1. [`Self::step`] until it answers a hit or makes the caller the leader (a follower waits
///    for the flight in progress, then steps again);
/// 2. the leader takes the key's lock across processes if [`Self::lock_path`] says so;
/// 3. [`Self::stored_since`]: another leader may have stored the value meanwhile;
/// 4. [`Self::computation`] takes the computation out of its slot; the caller runs it;
/// 5. the caller puts the value if `keep` accepts it, and hands the put's result to
///    [`Self::stored`]: a failed put is logged and the value returned anyway.
pub(crate) struct MemoLookup<'a> {
    core: &'a CacheCore,
    flights: &'a Flights,
    lookup: Lookup,
    opts: &'a MemoOptions,
}

/// What [`MemoLookup::step`] found.
pub(crate) enum Step<'a, T> {
    /// The value was stored.
    Hit(T),
    /// Another caller in this process computes it: wait, then step again.
    Wait(FollowerWait),
    /// Compute it; the flight ends when the guard drops.
    Lead(LeaderGuard<'a>),
}

impl<'a> MemoLookup<'a> {
    /// Start the lookup of `params` in `core`.
    pub(crate) fn new(
        core: &'a CacheCore,
        flights: &'a Flights,
        params: &crate::keys::Params,
        opts: &'a MemoOptions,
    ) -> Result<Self> {
        Ok(MemoLookup {
            core,
            flights,
            lookup: Lookup::params(params)?,
            opts,
        })
    }

    /// A stored value, or this caller's role in the key's flight.
    pub(crate) fn step<T: Cacheable>(&self) -> Result<Step<'a, T>> {
        if let Some(v) = stored::<T>(self.core, &self.lookup)? {
            return Ok(Step::Hit(v));
        }
        Ok(match self.flights.join(self.lookup.cache_key()) {
            Role::Follower(flight) => Step::Wait(flight),
            Role::Leader(guard) => Step::Lead(guard),
        })
    }

    /// Where the leader's lock across processes is (the cache root and the key), if it takes
    /// one: [`KeyLock::acquire`] them, blocking.
    pub(crate) fn lock_path(&self) -> Option<(PathBuf, String)> {
        self.opts.locks(self.core).then(|| {
            (
                self.core.root().to_path_buf(),
                self.lookup.cache_key().to_string(),
            )
        })
    }

    /// The value stored since the first look, if another leader stored it.
    pub(crate) fn stored_since<T: Cacheable>(&self) -> Result<Option<T>> {
        stored::<T>(self.core, &self.lookup)
    }

    /// The computation, out of its slot (an error if the caller gave none).
    pub(crate) fn computation<C>(&self, slot: &mut Option<C>) -> Result<C> {
        slot.take().ok_or_else(taken)
    }

    /// Take note of the put of the computed value: a failed put is logged (the value is
    /// returned anyway).
    pub(crate) fn stored(&self, put: Result<CacheKey>) {
        if let Err(e) = put {
            report_failed_put(self.lookup.cache_key(), &e);
        }
    }
}

/// Look for a stored value. A stored value of another type is a miss: the computed value
/// replaces it (a function whose return type changed recomputes instead of failing forever).
fn stored<T: Cacheable>(core: &CacheCore, lookup: &Lookup) -> Result<Option<T>> {
    match core.get(lookup) {
        Err(Error::Format(cacheness_format::Error::WrongType { key, stored, .. })) => {
            tracing::debug!(key = %key, "stored value is {stored}: recomputing");
            Ok(None)
        }
        other => other,
    }
}

/// The error of a computation slot found empty (a caller passed `&mut None`).
fn taken() -> Error {
    Error::Background {
        reason: "compute-once lookup given no computation".into(),
    }
}

/// Log a put of a computed value that failed: the value is still returned.
fn report_failed_put(key: &str, e: &Error) {
    tracing::warn!(key = %key, "computed value not stored: {e}");
}

/// One key's computation in progress in this process.
#[derive(Default)]
struct Flight {
    done: Mutex<bool>,
    finished: Condvar,
    finished_async: tokio::sync::Notify,
}

impl Flight {
    fn is_done(&self) -> bool {
        *self.done.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Block until the leader finishes.
    fn wait(&self) {
        let mut done = self.done.lock().unwrap_or_else(PoisonError::into_inner);
        while !*done {
            done = self
                .finished
                .wait(done)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Wait without blocking the runtime until the leader finishes.
    async fn wait_async(&self) {
        loop {
            let notified = self.finished_async.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_done() {
                return;
            }
            notified.await;
        }
    }
}

/// The computations in progress in this process, by key.
#[derive(Default)]
pub(crate) struct Flights {
    by_key: Mutex<HashMap<String, Arc<Flight>>>,
}

impl std::fmt::Debug for Flights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flights").finish_non_exhaustive()
    }
}

/// The role a caller gets for a key.
pub(crate) enum Role<'a> {
    /// Compute; the flight ends (waking followers) when the guard drops, even on a panic.
    Leader(LeaderGuard<'a>),
    /// Wait for this flight, then look again.
    Follower(FollowerWait),
}

/// A follower's handle on the flight it waits for.
pub(crate) struct FollowerWait(Arc<Flight>);

impl FollowerWait {
    /// Block until the leader finishes.
    pub(crate) fn wait(self) {
        self.0.wait();
    }

    /// Wait without blocking the runtime.
    pub(crate) async fn wait_async(self) {
        self.0.wait_async().await;
    }
}

/// The leader's guard: ends the flight when dropped.
pub(crate) struct LeaderGuard<'a> {
    flights: &'a Flights,
    key: String,
    flight: Arc<Flight>,
}

impl Drop for LeaderGuard<'_> {
    fn drop(&mut self) {
        self.flights
            .by_key
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
        *self
            .flight
            .done
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = true;
        self.flight.finished.notify_all();
        self.flight.finished_async.notify_waiters();
    }
}

impl Flights {
    /// Lead the computation of `key`, or follow the one in progress.
    pub(crate) fn join(&self, key: &str) -> Role<'_> {
        let mut map = self.by_key.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(flight) = map.get(key) {
            return Role::Follower(FollowerWait(flight.clone()));
        }
        let flight = Arc::new(Flight::default());
        map.insert(key.to_string(), flight.clone());
        Role::Leader(LeaderGuard {
            flights: self,
            key: key.to_string(),
            flight,
        })
    }

    /// Computations in progress (for tests).
    #[cfg(test)]
    fn in_flight(&self) -> usize {
        self.by_key
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// An exclusive lock on one key across processes: `<root>/locks/<key>.lock`, a transient
/// [`LockFile`] (removed when released, so lock files do not pile up). Compute-once lookups
/// take it; the Python package's `@cached` takes it too, polling with
/// [`KeyLock::try_acquire`] so that Ctrl-C can interrupt the wait.
#[derive(Debug)]
pub struct KeyLock {
    _file: LockFile,
}

impl KeyLock {
    /// The directory of the lock files under a cache root.
    pub(crate) fn dir(root: &Path) -> PathBuf {
        root.join("locks")
    }

    fn path(root: &Path, key: &str) -> Result<PathBuf> {
        // The key names a file: only a key's 16 hex digits may.
        let key = CacheKey::parse(key)?;
        let dir = Self::dir(root);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(dir.join(format!("{key}.lock")))
    }

    /// Wait for and take the lock on `key` (16 hex digits) of the cache at `root`.
    pub fn acquire(root: &Path, key: &str) -> Result<KeyLock> {
        let file = LockFile::acquire_transient(&Self::path(root, key)?)?;
        Ok(KeyLock { _file: file })
    }

    /// Take the lock on `key` if no other holder has it; `None` if one has.
    pub fn try_acquire(root: &Path, key: &str) -> Result<Option<KeyLock>> {
        let file = LockFile::try_acquire_transient(&Self::path(root, key)?)?;
        Ok(file.map(|f| KeyLock { _file: f }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_leader_per_key_and_followers_wake_when_it_ends() {
        let flights = Flights::default();
        let Role::Leader(guard) = flights.join("k") else {
            panic!("the first caller leads")
        };
        assert!(matches!(flights.join("other"), Role::Leader(_)));
        let Role::Follower(wait) = flights.join("k") else {
            panic!("a second caller follows")
        };
        let waiter = std::thread::spawn(move || wait.wait());
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!waiter.is_finished());
        drop(guard);
        waiter.join().unwrap();
        assert_eq!(flights.in_flight(), 0);
        assert!(matches!(flights.join("k"), Role::Leader(_)));
    }

    #[test]
    fn a_key_lock_excludes_a_second_holder_and_removes_its_file() {
        const KEY: &str = "00c0ffee00c0ffee";
        let dir = tempfile::tempdir().unwrap();
        let lock = KeyLock::acquire(dir.path(), KEY).unwrap();
        let path = KeyLock::dir(dir.path()).join(format!("{KEY}.lock"));
        assert!(path.exists());
        assert!(
            KeyLock::try_acquire(dir.path(), KEY).unwrap().is_none(),
            "a try while it is held finds it taken"
        );
        let root = dir.path().to_path_buf();
        let second = std::thread::spawn(move || KeyLock::acquire(&root, KEY).map(|_| ()));
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!second.is_finished(), "the second holder waits");
        drop(lock);
        second.join().unwrap().unwrap();
        assert!(!path.exists(), "the last holder removes the file");
        let again = KeyLock::try_acquire(dir.path(), KEY).unwrap();
        assert!(again.is_some(), "a try on a free key takes it");
    }

    #[test]
    fn a_key_lock_names_only_a_key() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["../../etc/passwd", "abc", "00C0FFEE00C0FFEE/x"] {
            assert!(KeyLock::try_acquire(dir.path(), bad).is_err(), "{bad}");
        }
    }
}
