//! The async Cache API.
//!
//! Every operation does its file work, encoding, decoding and hashing off the executor, so a
//! put of a large array never stalls the other tasks of the runtime: on a multi-thread
//! runtime the calling worker hands its other tasks on for the call (`block_in_place`), on a
//! current-thread runtime the work runs on tokio's blocking pool (`spawn_blocking`). That is
//! why a put takes its value by value (clone it to keep it) and values are `Send + 'static`.
//! Catalog work (flush, listing) is awaited without blocking the runtime.

use std::path::Path;
use std::sync::Arc;

use crate::CacheStats;
use crate::codec::Cacheable;
use crate::config::CacheConfig;
use crate::core::{CacheCore, EntryInfo, IntoLookup, PutOptions, live};
use crate::error::Result;
use crate::keys::{CacheKey, Params};
use crate::memo::{KeyLock, MemoError, MemoLookup, MemoOptions, Outcome, Step};
use deltalake::arrow::array::RecordBatch;
use deltalake::arrow::datatypes::Schema;

/// A blocking task of the async API did not finish (it panicked or the runtime shut down).
fn task_failed(e: tokio::task::JoinError) -> crate::Error {
    crate::Error::Background {
        reason: e.to_string(),
    }
}

/// Whether the caller runs on a multi-thread tokio runtime (where `block_in_place` may run
/// blocking work without a thread hop).
fn on_multi_thread_runtime() -> bool {
    tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
}

/// A disk cache (async API). Cheap to clone; clones share one open cache.
///
/// ```no_run
/// # async fn demo() -> cacheness::Result<()> {
/// use cacheness::{Cache, Serde, params};
/// let cache = Cache::open("/tmp/my-cache").await?;
/// let p = params!(model = "xgboost", dataset = "train");
/// cache.put(Serde(vec![1, 2, 3]), &p).await?;
/// let back: Option<Serde<Vec<i32>>> = cache.get(&p).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Cache {
    core: Arc<CacheCore>,
    /// Compute-once lookups in progress in this process (shared by every handle on the cache).
    flights: Arc<crate::memo::Flights>,
}

impl Cache {
    /// Open (creating if needed) a cache in `dir` with default settings, overridden by
    /// `dir/cacheness.toml` and `CACHENESS_*` variables.
    pub async fn open(dir: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(CacheConfig::new(dir.as_ref())).await
    }

    /// Open a cache with a configuration.
    pub async fn open_with(config: CacheConfig) -> Result<Self> {
        let core = tokio::task::spawn_blocking(move || CacheCore::open(config))
            .await
            .map_err(task_failed)??;
        Ok(Cache {
            core: Arc::new(core),
            flights: Arc::default(),
        })
    }

    pub(crate) fn from_core(core: Arc<CacheCore>, flights: Arc<crate::memo::Flights>) -> Self {
        Cache { core, flights }
    }

    /// The hasher of content-hashed key parameters, with the cache's stat cache.
    pub fn content_hasher(&self) -> &crate::keys::ContentHasher {
        self.core.content_hasher()
    }

    /// A blocking handle on the same open cache (it also answers what the cache was opened
    /// with: its configuration, signer, catalog and where its tables live).
    pub fn blocking(&self) -> crate::blocking::Cache {
        crate::blocking::Cache::from_core(self.core.clone(), self.flights.clone())
    }

    /// Run `op` on the core off the executor. On a multi-thread runtime the calling worker
    /// becomes a blocking thread for the call (`block_in_place`: its other tasks move to the
    /// other workers, and no thread hop is paid); elsewhere (a current-thread runtime) `op`
    /// runs on tokio's blocking pool.
    async fn off_executor<R: Send + 'static>(
        &self,
        op: impl FnOnce(&CacheCore) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        if on_multi_thread_runtime() {
            return tokio::task::block_in_place(|| op(&self.core));
        }
        let core = self.core.clone();
        tokio::task::spawn_blocking(move || op(&core))
            .await
            .map_err(task_failed)?
    }

    /// Store a value under parameters; returns its key. The value is taken by value so that
    /// its encoding and write can leave the executor (clone it to keep it).
    pub async fn put<T: Cacheable + Send + 'static>(
        &self,
        value: T,
        params: &Params,
    ) -> Result<CacheKey> {
        self.put_with(value, params, &PutOptions::default()).await
    }

    /// Store a value with a description and/or TTL.
    pub async fn put_with<T: Cacheable + Send + 'static>(
        &self,
        value: T,
        params: &Params,
        opts: &PutOptions,
    ) -> Result<CacheKey> {
        self.put_returning(value, params, opts).await?.1
    }

    /// [`Self::put_with`], handing the value back with the put's result (for compute-once
    /// lookups, which return the value they stored). An error of its own only if the blocking
    /// task died, and the value with it.
    async fn put_returning<T: Cacheable + Send + 'static>(
        &self,
        value: T,
        params: &Params,
        opts: &PutOptions,
    ) -> Result<(T, Result<CacheKey>)> {
        if let Err(e) = crate::metadata::check_put(&self.core, params, opts).await {
            return Ok((value, Err(e)));
        }
        let (p, o) = (params.clone(), opts.clone());
        let (value, put) = self
            .off_executor(move |core| {
                let put = core.put(&value, &p, &o);
                Ok((value, put))
            })
            .await?;
        let put = match put {
            Ok(key) => crate::metadata::attach_put(&self.core, &key, opts)
                .await
                .map(|()| key),
            Err(e) => Err(e),
        };
        Ok((value, put))
    }

    /// Get the value stored under parameters or a key (`&params`, `&key`), if any (expired
    /// or invalid entries are misses).
    pub async fn get<T: Cacheable + Send + 'static>(
        &self,
        entry: impl IntoLookup,
    ) -> Result<Option<T>> {
        let lookup = entry.into_lookup()?;
        self.off_executor(move |core| core.get(&lookup)).await
    }

    /// Get the value stored under `params`, or compute it (awaiting `compute`), store it and
    /// return it. Concurrent calls with the same parameters in this process compute once;
    /// waiting callers do not block the runtime ([`crate::memo`]).
    pub async fn get_or_insert_with<T: Cacheable + Send + 'static, F>(
        &self,
        params: &Params,
        compute: impl FnOnce() -> F,
    ) -> Result<T>
    where
        F: std::future::Future<Output = T>,
    {
        self.try_get_or_insert_with(params, || async { Ok::<T, crate::Error>(compute().await) })
            .await
    }

    /// [`Self::get_or_insert_with`] for a computation that can fail: an error is returned and
    /// nothing is stored.
    pub async fn try_get_or_insert_with<T: Cacheable + Send + 'static, E: From<crate::Error>, F>(
        &self,
        params: &Params,
        compute: impl FnOnce() -> F,
    ) -> std::result::Result<T, E>
    where
        F: std::future::Future<Output = std::result::Result<T, E>>,
    {
        self.memoize(params, &MemoOptions::default(), |_| true, compute)
            .await
            .map(|(v, _)| v)
            .map_err(MemoError::into_inner)
    }

    /// The compute-once lookup behind [`Self::get_or_insert_with`] and async `#[cached]`
    /// functions (see [`crate::blocking::Cache::memoize`]).
    pub async fn memoize<T: Cacheable + Send + 'static, E, F>(
        &self,
        params: &Params,
        opts: &MemoOptions,
        keep: impl FnOnce(&T) -> bool,
        compute: impl FnOnce() -> F,
    ) -> std::result::Result<(T, Outcome), MemoError<E>>
    where
        F: std::future::Future<Output = std::result::Result<T, E>>,
    {
        self.memoize_in(params, opts, keep, &mut Some(compute))
            .await
    }

    /// [`Self::memoize`] with the computation in a slot (see
    /// [`crate::blocking::Cache::memoize_in`]).
    pub async fn memoize_in<T: Cacheable + Send + 'static, E, F, C>(
        &self,
        params: &Params,
        opts: &MemoOptions,
        keep: impl FnOnce(&T) -> bool,
        compute: &mut Option<C>,
    ) -> std::result::Result<(T, Outcome), MemoError<E>>
    where
        F: std::future::Future<Output = std::result::Result<T, E>>,
        C: FnOnce() -> F,
    {
        let memo =
            MemoLookup::new(&self.core, &self.flights, params, opts).map_err(MemoError::Cache)?;
        let _leader = loop {
            match memo.step::<T>().map_err(MemoError::Cache)? {
                Step::Hit(v) => return Ok((v, Outcome::Hit)),
                Step::Wait(flight) => flight.wait_async().await,
                Step::Lead(guard) => break guard,
            }
        };
        let _lock = match memo.lock_path() {
            Some((root, key)) => Some(
                tokio::task::spawn_blocking(move || KeyLock::acquire(&root, &key))
                    .await
                    .map_err(|e| MemoError::Cache(task_failed(e)))?
                    .map_err(MemoError::Cache)?,
            ),
            None => None,
        };
        if let Some(v) = memo.stored_since().map_err(MemoError::Cache)? {
            return Ok((v, Outcome::Hit));
        }
        let compute = memo.computation(compute).map_err(MemoError::Cache)?;
        let value = compute().await.map_err(MemoError::Compute)?;
        if !keep(&value) {
            return Ok((value, Outcome::Computed));
        }
        let (value, put) = self
            .put_returning(value, params, &opts.put)
            .await
            .map_err(MemoError::Cache)?;
        memo.stored(put);
        Ok((value, Outcome::Computed))
    }

    /// Get part of the array stored under parameters: one range of indices per dimension
    /// (`&[0..10, 5..7]`), as an array of the part's shape. Only the Blosc2 chunks the part
    /// touches are decompressed; on an object store only they are fetched, each part checked
    /// against the entry's signature first (`docs/SCALE.md`, "Ranged reads"). A range outside
    /// the array is [`crate::FormatError::InvalidSlice`].
    pub async fn get_array_slice<T: crate::codec::array::Element>(
        &self,
        entry: impl IntoLookup,
        ranges: &crate::codec::array::Slice,
    ) -> Result<Option<ndarray::ArrayD<T>>> {
        let (lookup, ranges) = (entry.into_lookup()?, ranges.to_vec());
        self.off_executor(move |core| core.get_array_slice(&lookup, &ranges))
            .await
    }

    /// Get an array without copying its values where its payload allows: a view of its
    /// payload file mapped into memory if it is stored as is, else decoded (see
    /// [`crate::blocking::Cache::get_array_mapped`]).
    pub async fn get_array_mapped<T: crate::codec::array::Element>(
        &self,
        entry: impl IntoLookup,
    ) -> Result<Option<crate::codec::array::MappedArray<T>>> {
        let lookup = entry.into_lookup()?;
        self.off_executor(move |core| core.get_array_mapped(&lookup))
            .await
    }

    /// Get a value and its entry information.
    pub async fn get_with_metadata<T: Cacheable + Send + 'static>(
        &self,
        entry: impl IntoLookup,
    ) -> Result<Option<(T, EntryInfo)>> {
        let lookup = entry.into_lookup()?;
        self.off_executor(move |core| core.get_with_metadata(&lookup))
            .await
    }

    /// Entry information, without decoding the value.
    pub async fn info(&self, entry: impl IntoLookup) -> Result<Option<EntryInfo>> {
        let lookup = entry.into_lookup()?;
        self.off_executor(move |core| core.info(&lookup)).await
    }

    /// The checked payload file of an entry, and its information.
    pub async fn payload(
        &self,
        entry: impl IntoLookup,
    ) -> Result<Option<(EntryInfo, bytes::Bytes)>> {
        let lookup = entry.into_lookup()?;
        self.off_executor(move |core| core.payload(&lookup)).await
    }

    /// Whether a live entry exists.
    pub async fn exists(&self, entry: impl IntoLookup) -> Result<bool> {
        let lookup = entry.into_lookup()?;
        self.off_executor(move |core| core.exists(&lookup)).await
    }

    /// Remove an entry; true if there was one.
    pub async fn invalidate(&self, entry: impl IntoLookup) -> Result<bool> {
        let lookup = entry.into_lookup()?;
        self.off_executor(move |core| core.invalidate(&lookup))
            .await
    }

    /// Restart an entry's TTL from now; true if it exists.
    pub async fn touch(&self, entry: impl IntoLookup) -> Result<bool> {
        let lookup = entry.into_lookup()?;
        self.off_executor(move |core| core.touch(&lookup)).await
    }

    /// Maintain the catalog now (see [`crate::blocking::Cache::maintain`]).
    pub async fn maintain(&self) -> Result<cacheness_catalog::maintenance::MaintenanceReport> {
        let core = self.core.clone();
        tokio::task::spawn_blocking(move || core.maintain())
            .await
            .map_err(task_failed)?
    }

    /// Remove every expired entry (payload and catalog row); returns how many were removed.
    /// Gets already treat expired entries as misses; this reclaims their space.
    pub async fn cleanup_expired(&self) -> Result<usize> {
        let core = self.core.clone();
        tokio::task::spawn_blocking(move || core.cleanup_expired())
            .await
            .map_err(task_failed)?
    }

    /// Run an eviction pass now (see [`crate::blocking::Cache::evict`]).
    pub async fn evict(&self) -> Result<crate::EvictionReport> {
        let core = self.core.clone();
        tokio::task::spawn_blocking(move || core.evict())
            .await
            .map_err(task_failed)?
    }

    /// Check every catalog row against its payload and every payload against the catalog;
    /// changes nothing ([`crate::repair`]).
    pub async fn verify(&self) -> Result<crate::repair::VerifyReport> {
        let core = self.core.clone();
        tokio::task::spawn_blocking(move || crate::repair::verify(&core))
            .await
            .map_err(task_failed)?
    }

    /// Find what [`Self::verify`] finds and fix it ([`crate::repair`]).
    pub async fn repair(&self) -> Result<crate::repair::RepairReport> {
        let core = self.core.clone();
        tokio::task::spawn_blocking(move || crate::repair::repair(&core))
            .await
            .map_err(task_failed)?
    }

    /// Remove every entry; returns how many payloads were removed.
    pub async fn clear(&self) -> Result<usize> {
        let core = self.core.clone();
        let n = tokio::task::spawn_blocking(move || core.clear())
            .await
            .map_err(task_failed)??;
        crate::metadata::clear(&self.core).await?;
        Ok(n)
    }

    /// Declare the custom metadata table `name` with `columns` (a `cache_key` column is added),
    /// or check that an existing table has exactly these columns. Names: `[a-z_][a-z0-9_]*`,
    /// not starting with `cache_` (`docs/SQL.md`).
    pub async fn declare_metadata_table(&self, name: &str, columns: &Schema) -> Result<()> {
        crate::metadata::declare(&self.core, name, columns).await
    }

    /// Attach `rows` (the declared columns, any order) to an entry, replacing its earlier
    /// rows in `table`. Fails with [`crate::Error::NotFound`] if there is no such live entry.
    pub async fn attach_metadata(
        &self,
        entry: impl IntoLookup,
        table: &str,
        rows: &RecordBatch,
    ) -> Result<()> {
        crate::metadata::attach(&self.core, &entry.into_lookup()?, table, rows).await
    }

    /// Every live entry: the Delta snapshot plus rows not yet committed, so every returned put
    /// is listed.
    pub async fn list_entries(&self) -> Result<Vec<EntryInfo>> {
        Ok(live(self.core.catalog().list().await?))
    }

    #[cfg(feature = "sql")]
    /// Run a SQL statement over the cache (DataFusion; tables in `docs/SQL.md`), e.g.
    /// `SELECT cache_key, stored_bytes FROM cache_entries WHERE model = 'xgboost'`.
    /// Pull-through tables under `<root>/tables/` answer too (`docs/PULL_THROUGH.md`).
    pub async fn sql(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        cacheness_sql::run(&self.core, sql, None, Default::default()).await
    }

    #[cfg(feature = "sql")]
    /// [`Self::sql`], telling `observer` of each fetch of a pull-through table.
    pub async fn sql_observed(
        &self,
        sql: &str,
        observer: std::sync::Arc<dyn crate::pull::FetchObserver>,
    ) -> Result<Vec<RecordBatch>> {
        cacheness_sql::run(&self.core, sql, Some(observer), Default::default()).await
    }

    #[cfg(feature = "sql")]
    /// [`Self::sql`], filling the pull-through tables named in `fetchers` through those
    /// fetchers instead of the source their settings name (a table filled by a function has
    /// none).
    pub async fn sql_with_fetchers(
        &self,
        sql: &str,
        fetchers: std::collections::HashMap<String, crate::pull::SharedFetcher>,
    ) -> Result<Vec<RecordBatch>> {
        cacheness_sql::run(&self.core, sql, None, fetchers).await
    }

    /// Entry and byte counts (catalog) and this process's hits, misses and removals.
    pub async fn stats(&self) -> Result<CacheStats> {
        Ok(self.core.stats_from(&self.core.catalog().sizes().await?))
    }

    /// Commit pending catalog rows to Delta.
    pub async fn flush(&self) -> Result<()> {
        Ok(self.core.catalog().flush().await?)
    }

    /// Flush and close the cache (also done when the last handle drops).
    pub async fn close(&self) -> Result<()> {
        let core = self.core.clone();
        tokio::task::spawn_blocking(move || core.close())
            .await
            .map_err(task_failed)?
    }
}
