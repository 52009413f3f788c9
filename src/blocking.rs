//! The blocking Cache API: the same methods as [`crate::Cache`], without async. Needs no tokio
//! runtime of its own: catalog work runs on the cache's committer thread, and SQL and metadata
//! table calls on a current-thread runtime built for the call.

use std::path::Path;
use std::sync::Arc;

use crate::CacheStats;
use crate::codec::Cacheable;
use crate::config::CacheConfig;
use crate::core::{CacheCore, EntryInfo, IntoLookup, PutOptions};
use crate::error::{Error, Result};
use crate::keys::{CacheKey, Params};
use crate::memo::{KeyLock, MemoError, MemoLookup, MemoOptions, Outcome, Step};
use deltalake::arrow::array::RecordBatch;
use deltalake::arrow::datatypes::Schema;

/// A runtime for one call's catalog work (SQL, metadata tables): the blocking API has none.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Background {
            reason: format!("cannot start a runtime: {e}"),
        })
}

/// A disk cache (blocking API). Cheap to clone; clones share one open cache.
///
/// ```no_run
/// use cacheness::{blocking::Cache, Serde, params};
/// let cache = Cache::open("/tmp/my-cache")?;
/// let p = params!(model = "xgboost", dataset = "train");
/// cache.put(&Serde(vec![1, 2, 3]), &p)?;
/// let back: Option<Serde<Vec<i32>>> = cache.get(&p)?;
/// # Ok::<(), cacheness::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Cache {
    core: Arc<CacheCore>,
    /// Compute-once lookups in progress in this process (shared by every handle on the cache).
    flights: Arc<crate::memo::Flights>,
}

impl Cache {
    /// Open (creating if needed) a cache in `dir`.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(CacheConfig::new(dir.as_ref()))
    }

    /// Open a cache with a configuration.
    pub fn open_with(config: CacheConfig) -> Result<Self> {
        Ok(Cache {
            core: Arc::new(CacheCore::open(config)?),
            flights: Arc::default(),
        })
    }

    pub(crate) fn from_core(core: Arc<CacheCore>, flights: Arc<crate::memo::Flights>) -> Self {
        Cache { core, flights }
    }

    /// An async handle on the same open cache.
    pub fn nonblocking(&self) -> crate::Cache {
        crate::Cache::from_core(self.core.clone(), self.flights.clone())
    }

    /// The hasher of content-hashed key parameters, with the cache's stat cache.
    pub fn content_hasher(&self) -> &crate::keys::ContentHasher {
        self.core.content_hasher()
    }

    /// The configuration the cache was opened with.
    pub fn config(&self) -> &crate::CacheConfig {
        self.core.config()
    }

    /// The cache's signer: its signing key, which checks payloads and catalog rows
    /// (`docs/SECURITY.md`).
    pub fn signer(&self) -> &crate::signing::Signer {
        self.core.signer()
    }

    /// The cache's catalog (its rows, journal and Delta table).
    pub fn catalog(&self) -> &cacheness_catalog::Catalog {
        self.core.catalog()
    }

    /// Where the catalog's Delta table lives (for tools that read it directly: Spark, DuckDB,
    /// Polars).
    pub fn catalog_location(&self) -> cacheness_storage::Location {
        self.core.catalog_table()
    }

    #[cfg(feature = "sql")]
    /// Where the cache's pull-through tables live (`<root>/tables`), and this host's directory
    /// for their lock files.
    pub fn pull_tables_root(&self) -> crate::pull::TablesRoot {
        cacheness_sql::tables_root(&self.core)
    }

    /// Store a value under parameters; returns its key.
    pub fn put<T: Cacheable>(&self, value: &T, params: &Params) -> Result<CacheKey> {
        self.core.put(value, params, &PutOptions::default())
    }

    /// Store a value with a description and/or TTL.
    pub fn put_with<T: Cacheable>(
        &self,
        value: &T,
        params: &Params,
        opts: &PutOptions,
    ) -> Result<CacheKey> {
        if opts.metadata.is_empty() {
            return self.core.put(value, params, opts);
        }
        let rt = runtime()?;
        rt.block_on(crate::metadata::check_put(&self.core, params, opts))?;
        let key = self.core.put(value, params, opts)?;
        rt.block_on(crate::metadata::attach_put(&self.core, &key, opts))?;
        Ok(key)
    }

    /// Get the value stored under parameters or a key (`&params`, `&key`), if any.
    pub fn get<T: Cacheable>(&self, entry: impl IntoLookup) -> Result<Option<T>> {
        self.core.get(&entry.into_lookup()?)
    }

    /// Get the value stored under `params`, or compute it, store it and return it. Concurrent
    /// calls with the same parameters in this process compute once ([`crate::memo`]).
    ///
    /// ```no_run
    /// use cacheness::{blocking::Cache, params, Serde};
    /// let cache = Cache::open("/tmp/my-cache")?;
    /// let Serde(n) = cache.get_or_insert_with(&params!(n = 40), || Serde(40 + 2))?;
    /// # Ok::<(), cacheness::Error>(())
    /// ```
    pub fn get_or_insert_with<T: Cacheable>(
        &self,
        params: &Params,
        compute: impl FnOnce() -> T,
    ) -> Result<T> {
        self.try_get_or_insert_with(params, || Ok::<T, Error>(compute()))
    }

    /// [`Self::get_or_insert_with`] for a computation that can fail: an error is returned and
    /// nothing is stored.
    pub fn try_get_or_insert_with<T: Cacheable, E: From<Error>>(
        &self,
        params: &Params,
        compute: impl FnOnce() -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        self.memoize(params, &MemoOptions::default(), |_| true, compute)
            .map(|(v, _)| v)
            .map_err(MemoError::into_inner)
    }

    /// The compute-once lookup behind [`Self::get_or_insert_with`] and `#[cached]`: store
    /// options, a predicate deciding whether a computed value is stored, and whether the value
    /// was a hit.
    pub fn memoize<T: Cacheable, E>(
        &self,
        params: &Params,
        opts: &MemoOptions,
        keep: impl FnOnce(&T) -> bool,
        compute: impl FnOnce() -> std::result::Result<T, E>,
    ) -> std::result::Result<(T, Outcome), MemoError<E>> {
        self.memoize_in(params, opts, keep, &mut Some(compute))
    }

    /// [`Self::memoize`] with the computation in a slot: when the cache fails
    /// ([`MemoError::Cache`]) the computation is still in it, so the caller can run it
    /// uncached (what `#[cached]` does).
    pub fn memoize_in<T: Cacheable, E, F: FnOnce() -> std::result::Result<T, E>>(
        &self,
        params: &Params,
        opts: &MemoOptions,
        keep: impl FnOnce(&T) -> bool,
        compute: &mut Option<F>,
    ) -> std::result::Result<(T, Outcome), MemoError<E>> {
        let memo =
            MemoLookup::new(&self.core, &self.flights, params, opts).map_err(MemoError::Cache)?;
        let _leader = loop {
            match memo.step::<T>().map_err(MemoError::Cache)? {
                Step::Hit(v) => return Ok((v, Outcome::Hit)),
                Step::Wait(flight) => flight.wait(),
                Step::Lead(guard) => break guard,
            }
        };
        let _lock = match memo.lock_path() {
            Some((root, key)) => Some(KeyLock::acquire(&root, &key).map_err(MemoError::Cache)?),
            None => None,
        };
        if let Some(v) = memo.stored_since().map_err(MemoError::Cache)? {
            return Ok((v, Outcome::Hit));
        }
        let compute = memo.computation(compute).map_err(MemoError::Cache)?;
        let value = compute().map_err(MemoError::Compute)?;
        if keep(&value) {
            memo.stored(self.put_with(&value, params, &opts.put));
        }
        Ok((value, Outcome::Computed))
    }

    /// Get part of the array stored under parameters: one range of indices per dimension, as
    /// an array of the part's shape (see [`crate::Cache::get_array_slice`]).
    ///
    /// ```no_run
    /// use cacheness::{blocking::Cache, params};
    /// let cache = Cache::open("/tmp/my-cache")?;
    /// let rows = cache.get_array_slice::<f64>(&params!(run = 7), &[0..10, 0..3])?;
    /// # Ok::<(), cacheness::Error>(())
    /// ```
    pub fn get_array_slice<T: crate::codec::array::Element>(
        &self,
        entry: impl IntoLookup,
        ranges: &crate::codec::array::Slice,
    ) -> Result<Option<ndarray::ArrayD<T>>> {
        self.core.get_array_slice(&entry.into_lookup()?, ranges)
    }

    /// Get an array without copying its values where its payload allows (like joblib's
    /// `mmap_mode="r"`): on a local cache an array stored as is (data that does not compress)
    /// is a view of its payload file mapped into memory, checked first as every get checks a
    /// payload; other arrays are decoded as [`Cache::get`] decodes them
    /// ([`MappedArray::is_zero_copy`](crate::codec::array::MappedArray::is_zero_copy) tells
    /// which). The view stays valid, its values as they were, if the entry is replaced or
    /// removed meanwhile (`docs/FORMATS.md`, "Mapped arrays").
    ///
    /// ```no_run
    /// use cacheness::{blocking::Cache, params};
    /// let cache = Cache::open("/tmp/my-cache")?;
    /// if let Some(weights) = cache.get_array_mapped::<f32>(&params!(layer = 3))? {
    ///     let total: f32 = weights.view().sum();
    /// }
    /// # Ok::<(), cacheness::Error>(())
    /// ```
    pub fn get_array_mapped<T: crate::codec::array::Element>(
        &self,
        entry: impl IntoLookup,
    ) -> Result<Option<crate::codec::array::MappedArray<T>>> {
        self.core.get_array_mapped(&entry.into_lookup()?)
    }

    /// Get a value and its entry information.
    pub fn get_with_metadata<T: Cacheable>(
        &self,
        entry: impl IntoLookup,
    ) -> Result<Option<(T, EntryInfo)>> {
        self.core.get_with_metadata(&entry.into_lookup()?)
    }

    /// Entry information, without decoding the value.
    pub fn info(&self, entry: impl IntoLookup) -> Result<Option<EntryInfo>> {
        self.core.info(&entry.into_lookup()?)
    }

    /// The checked payload file of an entry, and its information.
    pub fn payload(&self, entry: impl IntoLookup) -> Result<Option<(EntryInfo, bytes::Bytes)>> {
        self.core.payload(&entry.into_lookup()?)
    }

    /// [`Self::payload`], except that a large bytes value on disk comes as a reader of the
    /// value, checked in bounded memory ([`crate::streamed`]).
    pub fn payload_streamed(
        &self,
        entry: impl IntoLookup,
    ) -> Result<Option<(EntryInfo, crate::streamed::StreamedPayload)>> {
        self.core.payload_streamed(&entry.into_lookup()?)
    }

    /// Store a bytes value read from `reader` (a file, standard input): the entry
    /// `put_with(&bytes)` makes, written in bounded memory when it is large
    /// ([`crate::streamed`]).
    pub fn put_reader_with(
        &self,
        reader: &mut dyn std::io::Read,
        params: &Params,
        opts: &PutOptions,
    ) -> Result<CacheKey> {
        self.core.put_reader(reader, params, opts)
    }

    /// Store an Arrow table read batch by batch (a CSV or Parquet file being read), written
    /// as the batches come ([`crate::streamed`]).
    pub fn put_table_stream(
        &self,
        schema: deltalake::arrow::datatypes::SchemaRef,
        batches: &mut dyn Iterator<
            Item = std::result::Result<RecordBatch, deltalake::arrow::error::ArrowError>,
        >,
        params: &Params,
        opts: &PutOptions,
    ) -> Result<CacheKey> {
        self.core.put_table_stream(schema, batches, params, opts)
    }

    /// Whether a live entry exists.
    pub fn exists(&self, entry: impl IntoLookup) -> Result<bool> {
        self.core.exists(&entry.into_lookup()?)
    }

    /// Remove an entry; true if there was one.
    pub fn invalidate(&self, entry: impl IntoLookup) -> Result<bool> {
        self.core.invalidate(&entry.into_lookup()?)
    }

    /// Restart an entry's TTL from now; true if it exists.
    pub fn touch(&self, entry: impl IntoLookup) -> Result<bool> {
        self.core.touch(&entry.into_lookup()?)
    }

    /// Maintain the catalog now: compact its data files, checkpoint, delete old log files and
    /// vacuum removed data files older than the retention (`docs/RELIABILITY.md`). It also
    /// runs on its own every 100 commits; a process finding another one maintaining skips.
    pub fn maintain(&self) -> Result<cacheness_catalog::maintenance::MaintenanceReport> {
        self.core.maintain()
    }

    /// Remove every expired entry (payload and catalog row); returns how many were removed.
    /// Gets already treat expired entries as misses; this reclaims their space.
    pub fn cleanup_expired(&self) -> Result<usize> {
        self.core.cleanup_expired()
    }

    /// Run an eviction pass now (`docs/LIFECYCLE.md`, "Size and entry limits"): recalibrate the shared usage counters
    /// from the payload files, and evict least-recently-used entries down to the low watermark
    /// of any limit passed. Puts run one on their own when a limit is passed.
    pub fn evict(&self) -> Result<crate::EvictionReport> {
        self.core.evict()
    }

    /// Check every catalog row against its payload and every payload against the catalog;
    /// changes nothing ([`crate::repair`]).
    pub fn verify(&self) -> Result<crate::repair::VerifyReport> {
        crate::repair::verify(&self.core)
    }

    /// Find what [`Self::verify`] finds and fix it: rows follow their payloads, orphan
    /// payloads are indexed, corrupt ones removed ([`crate::repair`]).
    pub fn repair(&self) -> Result<crate::repair::RepairReport> {
        crate::repair::repair(&self.core)
    }

    /// Remove every entry; returns how many payloads were removed.
    pub fn clear(&self) -> Result<usize> {
        let n = self.core.clear()?;
        runtime()?.block_on(crate::metadata::clear(&self.core))?;
        Ok(n)
    }

    /// Every live entry (Delta snapshot plus rows not yet committed).
    pub fn list_entries(&self) -> Result<Vec<EntryInfo>> {
        self.core.list_entries()
    }

    #[cfg(feature = "sql")]
    /// Run a SQL statement over the cache (DataFusion; tables in `docs/SQL.md`), e.g.
    /// `SELECT cache_key, stored_bytes FROM cache_entries WHERE model = 'xgboost'`.
    /// Runs on a runtime of its own for the call.
    /// Pull-through tables under `<root>/tables/` answer too (`docs/PULL_THROUGH.md`).
    pub fn sql(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        runtime()?.block_on(cacheness_sql::run(
            &self.core,
            sql,
            None,
            Default::default(),
        ))
    }

    #[cfg(feature = "sql")]
    /// [`Self::sql`], telling `observer` of each fetch of a pull-through table.
    pub fn sql_observed(
        &self,
        sql: &str,
        observer: std::sync::Arc<dyn crate::pull::FetchObserver>,
    ) -> Result<Vec<RecordBatch>> {
        runtime()?.block_on(cacheness_sql::run(
            &self.core,
            sql,
            Some(observer),
            Default::default(),
        ))
    }

    #[cfg(feature = "sql")]
    /// [`Self::sql`], filling the pull-through tables named in `fetchers` through those
    /// fetchers instead of the source their settings name (a table made with
    /// `PullTable::create` and filled by a function has none): how a binding whose fetchers
    /// are functions of its language lets SQL fetch the gaps a statement reads.
    pub fn sql_with_fetchers(
        &self,
        sql: &str,
        fetchers: std::collections::HashMap<String, crate::pull::SharedFetcher>,
    ) -> Result<Vec<RecordBatch>> {
        runtime()?.block_on(cacheness_sql::run(&self.core, sql, None, fetchers))
    }

    /// Declare the custom metadata table `name` with `columns` (a `cache_key` column is added),
    /// or check that an existing table has exactly these columns (`docs/SQL.md`).
    pub fn declare_metadata_table(&self, name: &str, columns: &Schema) -> Result<()> {
        runtime()?.block_on(crate::metadata::declare(&self.core, name, columns))
    }

    /// Attach `rows` (the declared columns, any order) to an entry, replacing its earlier
    /// rows in `table`. Fails with [`crate::Error::NotFound`] if there is no such live entry.
    pub fn attach_metadata(
        &self,
        entry: impl IntoLookup,
        table: &str,
        rows: &RecordBatch,
    ) -> Result<()> {
        let lookup = entry.into_lookup()?;
        runtime()?.block_on(crate::metadata::attach(&self.core, &lookup, table, rows))
    }

    /// Entry and byte counts and this process's hits, misses and removals.
    pub fn stats(&self) -> Result<CacheStats> {
        self.core.stats()
    }

    /// Commit pending catalog rows to Delta.
    pub fn flush(&self) -> Result<()> {
        self.core.flush()
    }

    /// Flush and close the cache (also done when the last handle drops).
    pub fn close(&self) -> Result<()> {
        self.core.close()
    }
}
