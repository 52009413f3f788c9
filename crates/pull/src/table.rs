//! A pull-through table: `<root>/tables/<name>/` holding its settings (`settings.json`), rows and
//! coverage record ([`crate::store`]), and `get(keys, range)`, which fills the gaps and answers
//! from the stored rows, without SQL. The tables live where the cache does, on a local disk or
//! an object store ([`TablesRoot`]); the lock that lets one process at a time fill a table is
//! a lock file on disk, and a lease object on an object store.
//!
//! Presets give the ancestor's access patterns documented defaults (`docs/PULL_THROUGH.md`).
//! This step supports one key column; several key columns come with the SQL provider.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use cacheness_format::Invalid;

use deltalake::arrow::array::{RecordBatch, UInt32Array};
use deltalake::arrow::compute::{cast as cast_array, take_record_batch};
use deltalake::arrow::datatypes::{DataType, SchemaRef};
use deltalake::datafusion::prelude::{Expr, SessionContext, cast, col, lit};
use serde::{Deserialize, Serialize};

use crate::coverage::Fetched;
use crate::fetch::{FetchError, FetchRequest, Fetcher, SharedFetcher, from_fn};
use crate::fill::{FillError, FillOptions, Filler, Stored, now_micros};
use crate::interval::{Granularity, Interval, RangeKind};
use crate::provider::without_views;
use crate::source::SourceSettings;
use crate::store::{StoreError, TableSpec, TableStore};
use cacheness_storage::Location;

/// Where a cache's pull-through tables live.
#[derive(Debug, Clone)]
pub struct TablesRoot {
    /// `<root>/tables`: the tables themselves, on a local disk or an object store.
    pub shared: Location,
    /// A local directory for this host's lock files (the same directory as `shared` for a
    /// cache on a local disk).
    pub local: PathBuf,
}

impl TablesRoot {
    /// The tables of the cache whose root directory is `root` (`<root>/tables`).
    pub fn under(root: &Path) -> Self {
        let dir = root.join("tables");
        TablesRoot {
            shared: Location::Local(dir.clone()),
            local: dir,
        }
    }
}

impl From<&Path> for TablesRoot {
    fn from(root: &Path) -> Self {
        TablesRoot::under(root)
    }
}

impl From<&PathBuf> for TablesRoot {
    fn from(root: &PathBuf) -> Self {
        TablesRoot::under(root)
    }
}

impl From<&TablesRoot> for TablesRoot {
    fn from(root: &TablesRoot) -> Self {
        root.clone()
    }
}

/// How long a remote fill lease lasts if its holder dies without releasing it.
const FILL_LEASE_TTL: Duration = Duration::from_secs(600);

/// The interval a lookup table (no range column) covers per key: the whole key.
pub const WHOLE_KEY: Interval = Interval { start: 0, end: 1 };

/// The range column of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeSettings {
    /// Its name.
    pub column: String,
    /// What it holds (timestamps in microseconds).
    pub kind: RangeKind,
    /// The unit fetches align to, in ticks (days for dates, µs for timestamps).
    pub granularity: i64,
}

/// How a table fetches and keeps what it fetched (`settings.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// The preset these settings started from.
    pub preset: String,
    /// The key columns (one or more; `key_column` in files written before several were
    /// supported).
    #[serde(alias = "key_column", deserialize_with = "one_or_many")]
    pub key_columns: Vec<String>,
    /// The range column (`None`: a lookup table).
    pub range: Option<RangeSettings>,
    /// How long a fetch counts, in seconds (`None`: forever).
    pub ttl_seconds: Option<u64>,
    /// The volatile window in ticks (`None`: none).
    pub volatile_window: Option<i64>,
    /// The most fetches at once.
    pub parallelism: usize,
    /// What a SQL query that does not bound the keys (or the range) gets.
    #[serde(default)]
    pub without_bounds: WithoutBounds,
    /// Where SQL and the CLI fetch from (`None`: only the Rust API fills the table, with
    /// the fetcher it passes).
    #[serde(default)]
    pub source: Option<SourceSettings>,
    /// How the rows' files are laid out and compacted.
    #[serde(default)]
    pub layout: Layout,
}

/// How a table's rows are laid out on disk: each fill writes one file; every `compact_every`
/// commits of rows, the small files are rewritten into files of about `target_file_mib`,
/// clustered by key and range (Z-order) when `cluster`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// The size compaction aims for, in MiB.
    pub target_file_mib: u64,
    /// Compact after this many commits of rows (0: never; `OPTIMIZE` from any engine works).
    pub compact_every: u64,
    /// Cluster files by the key and range columns, so a query for a few keys and a short
    /// range reads few files.
    pub cluster: bool,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            target_file_mib: 128,
            compact_every: 100,
            cluster: true,
        }
    }
}

/// A column name or a list of them.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(c) => vec![c],
        OneOrMany::Many(cs) => cs,
    })
}

/// What a SQL query gets when its filters do not say which keys (or which range) to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithoutBounds {
    /// An error naming the missing predicate (the default).
    #[default]
    Fail,
    /// The rows already stored, fetching nothing; the plan and a warning say so.
    CacheOnly,
}

/// Told what a table fetches, as it happens (the CLI's progress bar).
pub trait FetchObserver: Send + Sync {
    /// A query of `table` is about to run `fetches` (fetches of other queries it waits for
    /// are not counted).
    fn planned(&self, table: &str, fetches: &[FetchRequest<String>]) {
        let _ = (table, fetches);
    }
    /// `fetch` returned `rows` rows, now stored and covered.
    fn stored(&self, table: &str, fetch: &FetchRequest<String>, rows: usize) {
        let _ = (table, fetch, rows);
    }
    /// A query of `table` is answered from stored rows only, for `reason`.
    fn cache_only(&self, table: &str, reason: &str) {
        let _ = (table, reason);
    }
}

impl Settings {
    fn with(preset: &str, key: &str, range: Option<RangeSettings>) -> Settings {
        Settings {
            preset: preset.into(),
            key_columns: vec![key.into()],
            range,
            ttl_seconds: None,
            volatile_window: None,
            parallelism: 8,
            without_bounds: WithoutBounds::Fail,
            source: None,
            layout: Layout::default(),
        }
    }

    /// These settings with several key columns (the presets take one).
    pub fn with_key_columns(self, columns: &[&str]) -> Settings {
        Settings {
            key_columns: columns.iter().map(|c| c.to_string()).collect(),
            ..self
        }
    }

    /// These settings fetching from `source`.
    pub fn with_source(self, source: SourceSettings) -> Settings {
        Settings {
            source: Some(source),
            ..self
        }
    }

    /// Historical analysis: fetched ranges stay valid (no TTL, no volatile window); large
    /// files (256 MiB) clustered by key and range, compacted every 50 commits.
    pub fn for_timeseries(key: &str, range: RangeSettings) -> Settings {
        Settings {
            layout: Layout {
                target_file_mib: 256,
                compact_every: 50,
                cluster: true,
            },
            ..Settings::with("timeseries", key, Some(range))
        }
    }

    /// Live data: fetches count for 5 minutes and the last 2 granules (today and yesterday
    /// for dates) are refetched on every query; many small appends, so small files (32 MiB)
    /// compacted often (every 20 commits), not clustered (cheap to rewrite).
    pub fn for_realtime_timeseries(key: &str, range: RangeSettings) -> Settings {
        let window = 2 * range.granularity;
        Settings {
            ttl_seconds: Some(300),
            volatile_window: Some(window),
            layout: Layout {
                target_file_mib: 32,
                compact_every: 20,
                cluster: false,
            },
            ..Settings::with("realtime_timeseries", key, Some(range))
        }
    }

    /// Records by key (no range column): the gaps are the missing keys, kept for a day, fetched
    /// 16 at a time; point lookups through the API read an in-memory index; files of 64 MiB
    /// clustered by key, compacted every 50 commits.
    pub fn for_lookup_table(key: &str) -> Settings {
        Settings {
            ttl_seconds: Some(86_400),
            parallelism: 16,
            layout: Layout {
                target_file_mib: 64,
                compact_every: 50,
                cluster: true,
            },
            ..Settings::with("lookup_table", key, None)
        }
    }

    /// Bulk scans of ranges that do not change: like `for_timeseries`, 4 fetches at a time,
    /// the largest files (512 MiB) for scan throughput.
    pub fn for_analytics_table(key: &str, range: RangeSettings) -> Settings {
        Settings {
            parallelism: 4,
            layout: Layout {
                target_file_mib: 512,
                compact_every: 50,
                cluster: true,
            },
            ..Settings::with("analytics_table", key, Some(range))
        }
    }

    fn kind(&self) -> RangeKind {
        self.range.as_ref().map_or(RangeKind::Integer, |r| r.kind)
    }

    fn fill_options(&self) -> Result<FillOptions, Invalid> {
        let granularity = self
            .range
            .as_ref()
            .map_or(Some(Granularity::TICK), |r| Granularity::new(r.granularity));
        Ok(FillOptions {
            kind: self.kind(),
            granularity: granularity.ok_or("granularity must be at least 1")?,
            ttl: self.ttl_seconds.map(Duration::from_secs),
            volatile_window: self.volatile_window,
            parallelism: self.parallelism.max(1),
        })
    }
}

/// Why a table operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The name, settings or schema are not acceptable.
    #[error("pull-through table {name}: {reason}")]
    Invalid {
        /// The table.
        name: String,
        /// Why.
        reason: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Filling a gap failed (fetched ranges stay stored and covered).
    #[error(transparent)]
    Fill(#[from] FillError),
}

/// A pull-through table, open.
pub struct PullTable {
    name: String,
    dir: Location,
    /// This host's directory for the table's lock file.
    lock_dir: PathBuf,
    settings: Settings,
    options: FillOptions,
    store: TableStore,
    filler: Filler<String>,
    /// A lookup table's rows by key: loaded on the first `get`, kept current by this process's
    /// fills, so a point lookup of a covered key costs a hash lookup, not a query.
    index: std::sync::Mutex<Option<HashMap<String, RecordBatch>>>,
    /// `version / compact_every` when last checked (-1: not yet).
    compacted: std::sync::atomic::AtomicI64,
}

/// `batch`'s rows grouped by their key text ([`crate::key`]).
fn rows_by_key(
    batch: &RecordBatch,
    keys: &[String],
) -> Result<HashMap<String, RecordBatch>, Invalid> {
    let mut rows: HashMap<String, Vec<u32>> = HashMap::new();
    for (i, key) in crate::key::of_rows(batch, keys)?.into_iter().enumerate() {
        if let Some(key) = key {
            let row = u32::try_from(i).map_err(|e| Invalid(e.to_string()))?;
            rows.entry(key).or_default().push(row);
        }
    }
    rows.into_iter()
        .map(|(k, idx)| {
            take_record_batch(batch, &UInt32Array::from(idx))
                .map(|b| (k, b))
                .map_err(|e| Invalid(e.to_string()))
        })
        .collect()
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}

impl PullTable {
    /// Where table `name` lives, and its host-local lock directory.
    fn place(root: &TablesRoot, name: &str) -> (Location, PathBuf) {
        (root.shared.join(name), root.local.join(name))
    }

    /// On a local disk, refuse a table whose directory (or `tables/` itself) is a symbolic
    /// link: the Delta table and its coverage would be read and written outside the cache
    /// root. (`cacheness verify` reports such links.)
    fn check_real_dirs(root: &TablesRoot, name: &str) -> Result<(), TableError> {
        let Location::Local(tables) = &root.shared else {
            return Ok(());
        };
        for dir in [tables.clone(), tables.join(name)] {
            if std::fs::symlink_metadata(&dir).is_ok_and(|m| !m.is_dir()) {
                return Err(TableError::Invalid {
                    name: name.to_string(),
                    reason: format!(
                        "{} is a symbolic link or not a directory: the cache does not follow it \
                         outside its root",
                        dir.display()
                    ),
                });
            }
        }
        Ok(())
    }

    /// Create table `name` (or open it if it exists with the same settings).
    pub async fn create(
        root: impl Into<TablesRoot>,
        name: &str,
        schema: SchemaRef,
        settings: Settings,
    ) -> Result<PullTable, TableError> {
        let root = root.into();
        let invalid = |reason: String| TableError::Invalid {
            name: name.to_string(),
            reason,
        };
        Self::check_real_dirs(&root, name)?;
        if !valid_name(name) {
            return Err(invalid(
                "names are [a-z][a-z0-9_]*, at most 63 bytes".into(),
            ));
        }
        let named = settings
            .key_columns
            .iter()
            .chain(settings.range.as_ref().map(|r| &r.column));
        for column in named {
            if schema.field_with_name(column).is_err() {
                return Err(invalid(format!("the columns have no {column:?}")));
            }
        }
        if settings.key_columns.is_empty() {
            return Err(invalid("no key column".into()));
        }
        let (dir, lock_dir) = Self::place(&root, name);
        let file = format!("{}settings.json", dir_label(&dir));
        let text = serde_json::to_vec_pretty(&settings).map_err(|e| invalid(e.to_string()))?;
        // Created once, whole (two processes creating the table at once agree on one).
        let failed = |e: cacheness_storage::StorageError| invalid(e.to_string());
        if !dir
            .create_small("settings.json", text)
            .await
            .map_err(failed)?
        {
            let bytes = dir
                .read_small("settings.json")
                .await
                .map_err(failed)?
                .unwrap_or_default();
            let existing: Settings =
                serde_json::from_slice(&bytes).map_err(|e| invalid(format!("{file}: {e}")))?;
            if existing != settings {
                return Err(invalid(format!("exists with other settings ({file})")));
            }
        }
        Self::open_with(name, dir, lock_dir, schema, settings).await
    }

    /// Open table `name` under `root`, with the columns it was created with.
    pub async fn open(root: impl Into<TablesRoot>, name: &str) -> Result<PullTable, TableError> {
        let root = root.into();
        Self::check_real_dirs(&root, name)?;
        let (dir, lock_dir) = Self::place(&root, name);
        let file = format!("{}settings.json", dir_label(&dir));
        let invalid = |reason: String| TableError::Invalid {
            name: name.to_string(),
            reason,
        };
        let bytes = dir
            .read_small("settings.json")
            .await
            .map_err(|e| invalid(e.to_string()))?
            .ok_or_else(|| invalid(format!("no such table ({file} is missing)")))?;
        let settings: Settings =
            serde_json::from_slice(&bytes).map_err(|e| invalid(format!("{file}: {e}")))?;
        let schema = TableStore::stored_schema(&dir).await?;
        Self::open_with(name, dir, lock_dir, without_views(&schema), settings).await
    }

    /// The names of the tables under `root`, sorted.
    pub async fn list(root: impl Into<TablesRoot>) -> Result<Vec<String>, TableError> {
        let tables = Self::list_settings(root).await?;
        Ok(tables.into_iter().map(|(name, _)| name).collect())
    }

    /// The tables under `root` with their settings, sorted by name. Reads each table's
    /// `settings.json` only, not its Delta log. A settings file that cannot be read or parsed
    /// is an error naming it.
    pub async fn list_settings(
        root: impl Into<TablesRoot>,
    ) -> Result<Vec<(String, Settings)>, TableError> {
        let root = root.into();
        let failed = |name: &str, reason: String| TableError::Invalid {
            name: name.to_string(),
            reason,
        };
        let listed = root.shared.child_dirs().await;
        let listed = listed.map_err(|e| failed(&root.shared.label(), e.to_string()))?;
        let mut tables = Vec::new();
        for name in listed.into_iter().filter(|n| valid_name(n)) {
            let dir = root.shared.join(&name);
            let bytes = dir.read_small("settings.json").await;
            let Some(bytes) = bytes.map_err(|e| failed(&name, e.to_string()))? else {
                continue; // a directory that is not a table
            };
            let file = format!("{}settings.json", dir_label(&dir));
            let settings: Settings = serde_json::from_slice(&bytes)
                .map_err(|e| failed(&name, format!("{file}: {e}")))?;
            tables.push((name, settings));
        }
        tables.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(tables)
    }

    /// The fetcher of the table's configured source; without one, a fetcher that fails
    /// saying the table is filled through the Rust API only (so stored ranges still answer).
    pub fn fetcher(&self) -> Result<SharedFetcher, TableError> {
        match &self.settings.source {
            Some(source) => source
                .fetcher(
                    &self.store.spec().schema,
                    self.settings.range.as_ref().map(|_| self.options.kind),
                    &self.settings.key_columns,
                )
                .map_err(|e| self.invalid(e)),
            None => {
                let name = self.name.clone();
                Ok(SharedFetcher::new(from_fn(
                    move |req: FetchRequest<String>| {
                        let why = format!(
                            "table {name} has no source in its settings; fill it through \
                         PullTable::get with a fetcher (Rust, or Python's cacheness.PullTable, \
                         whose cache's SQL then fetches through it too)"
                        );
                        async move { Err(FetchError::of(&req, why)) }
                    },
                )))
            }
        }
    }

    /// The durable coverage record: each key's fetched intervals, when and until when.
    pub async fn coverage(&self) -> Result<Vec<(String, Vec<Fetched>)>, TableError> {
        let mut all: Vec<(String, Vec<Fetched>)> = self
            .store
            .coverage()
            .await?
            .into_iter()
            .map(|(k, c)| (k, c.spans().to_vec()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(all)
    }

    async fn open_with(
        name: &str,
        dir: Location,
        lock_dir: PathBuf,
        schema: SchemaRef,
        settings: Settings,
    ) -> Result<PullTable, TableError> {
        let invalid = |reason: String| TableError::Invalid {
            name: name.to_string(),
            reason,
        };
        let options = settings.fill_options().map_err(|e| invalid(e.0))?;
        let spec = TableSpec {
            schema,
            key_columns: settings.key_columns.clone(),
            range_column: settings.range.as_ref().map(|r| r.column.clone()),
        };
        let store = TableStore::open(&dir, spec).await?;
        let filler = Filler::with_coverage(store.coverage().await?);
        Ok(PullTable {
            name: name.to_string(),
            dir,
            lock_dir,
            settings,
            options,
            store,
            filler,
            index: std::sync::Mutex::new(None),
            compacted: std::sync::atomic::AtomicI64::new(-1),
        })
    }

    /// The table's settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Where the table lives.
    pub fn location(&self) -> &Location {
        &self.dir
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The kind of its range column (integer for a lookup table).
    pub fn kind(&self) -> RangeKind {
        self.options.kind
    }

    /// The fetches a query for `keys` over `want` would run now (ignoring fetches in flight).
    pub fn plan(&self, keys: &[String], want: Interval) -> Vec<FetchRequest<String>> {
        self.filler.plan(keys, want, &self.options)
    }

    /// The interval a query asks for: `range` for a table with a range column (required),
    /// [`WHOLE_KEY`] for a lookup table.
    pub fn wanted(&self, range: Option<Interval>) -> Result<Interval, TableError> {
        match (&self.settings.range, range) {
            (None, _) => Ok(WHOLE_KEY),
            (Some(_), Some(r)) => Ok(r),
            (Some(r), None) => Err(self.invalid(format!("a range of {} is needed", r.column))),
        }
    }

    /// Fetch what `keys` over `want` are missing with `fetcher`, storing rows and coverage;
    /// `observer` hears of each fetch. A failed fetch fails the call; what was fetched stays.
    pub async fn fill<F: Fetcher<String>>(
        &self,
        keys: &[String],
        want: Interval,
        fetcher: &F,
        observer: Option<&dyn FetchObserver>,
    ) -> Result<(), TableError> {
        let planned = self.plan(keys, want);
        if planned.is_empty() {
            return Ok(());
        }
        // Across processes: one filler of this table at a time, which first takes up what the
        // others fetched meanwhile, so two processes never fetch the same gap twice.
        // (Compaction runs under it too: on an object store that keeps it to one host.)
        let lock = self.lock_fills().await?;
        let filled = self.fill_locked(keys, want, fetcher, observer).await;
        lock.release().await;
        filled
    }

    /// [`Self::fill`] with the fill lock held.
    async fn fill_locked<F: Fetcher<String>>(
        &self,
        keys: &[String],
        want: Interval,
        fetcher: &F,
        observer: Option<&dyn FetchObserver>,
    ) -> Result<(), TableError> {
        self.filler.refresh(self.store.coverage().await?);
        if let Some(o) = observer {
            o.planned(&self.name, &self.plan(keys, want));
        }
        let store = &self.store;
        let name = self.name.as_str();
        let (kind, lookup) = (self.kind(), self.settings.range.is_none());
        self.filler
            .fill(keys, want, &self.options, fetcher, |answers| async move {
                store
                    .keep(&answers)
                    .await
                    .map_err(|e| Invalid(e.to_string()))?;
                self.remember(&answers)?;
                if let Some(o) = observer {
                    for a in &answers {
                        o.stored(name, &a.request, a.rows.num_rows());
                    }
                }
                Ok(())
            })
            .await
            .map_err(|e| e.shown(|i| kind.interval_text(i, lookup)))?;
        self.compact_if_due().await
    }

    /// Compact the rows' files when `layout.compact_every` commits of rows went by since the
    /// table's version last crossed a multiple of it (checked after each fill that stored).
    async fn compact_if_due(&self) -> Result<(), TableError> {
        let layout = self.settings.layout;
        if layout.compact_every == 0 {
            return Ok(());
        }
        let version = self.store.version().await?;
        let due = i64::try_from(version / layout.compact_every).unwrap_or(i64::MAX);
        let last = self
            .compacted
            .swap(due, std::sync::atomic::Ordering::SeqCst);
        if last >= 0 && due > last {
            let (removed, added) = self
                .store
                .compact(
                    layout.target_file_mib.saturating_mul(1 << 20),
                    layout.cluster,
                )
                .await?;
            tracing::info!(
                table = self.name,
                removed,
                added,
                "compacted the rows' files"
            );
        }
        Ok(())
    }

    /// Hold the table's fill lock, waiting for another process's fill to end: `fill.lock` in
    /// the host's lock directory, and on an object store also the lease object `fill.lock`
    /// beside the table's settings (one filling process across hosts).
    async fn lock_fills(&self) -> Result<FillLock, TableError> {
        std::fs::create_dir_all(&self.lock_dir)
            .map_err(|e| self.invalid(format!("{}: {e}", self.lock_dir.display())))?;
        let path = self.lock_dir.join("fill.lock");
        let file = tokio::task::spawn_blocking(move || cacheness_storage::LockFile::acquire(&path))
            .await
            .map_err(|e| self.invalid(e))?
            .map_err(|e| self.invalid(e))?;
        let mut lease = None;
        if self.dir.remote().is_some() {
            loop {
                match cacheness_storage::lease::try_acquire(&self.dir, "fill.lock", FILL_LEASE_TTL)
                    .await
                    .map_err(|e| self.invalid(e))?
                {
                    Some(held) => {
                        lease = Some(held);
                        break;
                    }
                    None => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        }
        Ok(FillLock { _file: file, lease })
    }

    /// The rows of `keys` in `range` (`None` for a lookup table): the gaps are fetched with
    /// `fetcher` first. A failed fetch fails the call; what was fetched stays. A lookup table
    /// answers from its in-memory index (no query is planned).
    pub async fn get<F: Fetcher<String>>(
        &self,
        keys: &[&str],
        range: Option<Interval>,
        fetcher: &F,
    ) -> Result<Vec<RecordBatch>, TableError> {
        let want = self.wanted(range)?;
        let owned: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        if self.settings.range.is_none() {
            self.load_index().await?;
        }
        self.fill(&owned, want, fetcher, None).await?;
        if self.settings.range.is_none() {
            return self.indexed_rows(&owned);
        }
        self.read(&owned, range).await
    }

    /// Fill the index of a lookup table from the stored rows, once.
    async fn load_index(&self) -> Result<(), TableError> {
        if self.lock_index().is_some() {
            return Ok(());
        }
        let schema = self.store.spec().schema.clone();
        let mut index = HashMap::new();
        for batch in self.store.rows().await? {
            let columns = schema
                .fields()
                .iter()
                .map(|f| {
                    let c = batch
                        .column_by_name(f.name())
                        .ok_or_else(|| self.invalid(format!("stored rows lack {}", f.name())))?;
                    cast_array(c, f.data_type()).map_err(|e| self.invalid(e))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let batch =
                RecordBatch::try_new(schema.clone(), columns).map_err(|e| self.invalid(e))?;
            index.extend(
                rows_by_key(&batch, &self.settings.key_columns).map_err(|e| self.invalid(e))?,
            );
        }
        let mut slot = self.lock_index();
        if slot.is_none() {
            *slot = Some(index);
        }
        Ok(())
    }

    fn lock_index(&self) -> std::sync::MutexGuard<'_, Option<HashMap<String, RecordBatch>>> {
        self.index
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Put the rows of `answers` in the index (if loaded).
    fn remember(&self, answers: &[Stored<String>]) -> Result<(), Invalid> {
        if self.settings.range.is_some() {
            return Ok(());
        }
        let mut slot = self.lock_index();
        if let Some(index) = slot.as_mut() {
            for a in answers {
                // A key the source has no row for is remembered as having none.
                index.remove(&a.request.key);
                index.extend(rows_by_key(&a.rows, &self.settings.key_columns)?);
            }
        }
        Ok(())
    }

    /// The indexed rows of `keys`, in their order.
    fn indexed_rows(&self, keys: &[String]) -> Result<Vec<RecordBatch>, TableError> {
        let slot = self.lock_index();
        let index = slot
            .as_ref()
            .ok_or_else(|| self.invalid("the key index is not loaded"))?;
        let batches: Vec<RecordBatch> = keys.iter().filter_map(|k| index.get(k).cloned()).collect();
        if batches.is_empty() {
            return Ok(vec![RecordBatch::new_empty(
                self.store.spec().schema.clone(),
            )]);
        }
        Ok(batches)
    }

    /// The stored rows as a DataFusion table (a fresh snapshot: what was stored so far).
    pub async fn stored_rows(
        &self,
    ) -> Result<Arc<dyn deltalake::datafusion::catalog::TableProvider>, TableError> {
        Ok(self.store.provider().await?)
    }

    async fn read(
        &self,
        keys: &[String],
        range: Option<Interval>,
    ) -> Result<Vec<RecordBatch>, TableError> {
        let ctx = SessionContext::new();
        let mut df = ctx
            .read_table(self.store.provider().await?)
            .map_err(|e| self.invalid(e))?;
        let text = |c: &str| cast(col(format!("\"{c}\"")), DataType::Utf8);
        let columns = &self.settings.key_columns;
        let wanted = match columns.as_slice() {
            [one] => text(one).in_list(keys.iter().map(|k| lit(k.as_str())).collect(), false),
            _ => {
                let mut any = lit(false);
                for k in keys {
                    let parts =
                        crate::key::decode(k, columns.len()).map_err(|e| self.invalid(e))?;
                    let all = columns
                        .iter()
                        .zip(&parts)
                        .map(|(c, p)| text(c).eq(lit(p.as_str())))
                        .fold(lit(true), Expr::and);
                    any = any.or(all);
                }
                any
            }
        };
        df = df.filter(wanted).map_err(|e| self.invalid(e))?;
        if let (Some(r), Some(i)) = (&self.settings.range, range) {
            let ticks = cast(col(format!("\"{}\"", r.column)), DataType::Int64);
            df = df
                .filter(ticks.clone().gt_eq(lit(i.start)).and(ticks.lt(lit(i.end))))
                .map_err(|e| self.invalid(e))?;
        }
        df.collect().await.map_err(|e| self.invalid(e))
    }

    fn invalid(&self, e: impl std::fmt::Display) -> TableError {
        TableError::Invalid {
            name: self.name.clone(),
            reason: e.to_string(),
        }
    }

    /// Forget the coverage of `range` (all of it for a lookup table) of `key`: the next query
    /// fetches it again.
    pub async fn invalidate(&self, key: &str, range: Option<Interval>) -> Result<(), TableError> {
        let interval = range.unwrap_or(match &self.settings.range {
            None => WHOLE_KEY,
            Some(_) => Interval {
                start: i64::MIN,
                end: i64::MAX,
            },
        });
        self.store.invalidate(key, interval, now_micros()).await?;
        self.filler.invalidate(&key.to_string(), interval);
        Ok(())
    }
}

/// A held fill lock ([`PullTable::lock_fills`]); [`FillLock::release`] it when the fill ends.
struct FillLock {
    _file: cacheness_storage::LockFile,
    lease: Option<cacheness_storage::lease::Guard>,
}

impl FillLock {
    async fn release(self) {
        if let Some(lease) = self.lease {
            lease.release().await;
        }
    }
}

/// A location's label ending in a separator, to name a file in it.
fn dir_label(dir: &Location) -> String {
    let label = dir.label();
    if label.ends_with('/') {
        label
    } else {
        format!("{label}/")
    }
}

impl std::fmt::Debug for PullTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullTable")
            .field("name", &self.name)
            .field("dir", &self.dir.label())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use deltalake::arrow::array::{ArrayRef, AsArray, Float64Array, Int64Array, StringArray};
    use deltalake::arrow::datatypes::{Field, Int64Type, Schema};

    use super::*;
    use crate::fetch::{FetchError, FetchRequest, from_fn};

    fn prices_schema() -> SchemaRef {
        std::sync::Arc::new(Schema::new(vec![
            Field::new("symbol", DataType::Utf8, false),
            Field::new("day", DataType::Int64, false),
            Field::new("price", DataType::Float64, true),
        ]))
    }

    #[test]
    fn range_kinds_are_written_by_name_and_unknown_ones_refused() {
        let settings = Settings::for_timeseries("symbol", day_range());
        let text = serde_json::to_string(&settings).unwrap();
        assert!(text.contains(r#""kind":"integer""#), "{text}");
        let back: Settings = serde_json::from_str(&text).unwrap();
        assert_eq!(back, settings);
        let weekly = text.replace(r#""kind":"integer""#, r#""kind":"weekly""#);
        let e = serde_json::from_str::<Settings>(&weekly).unwrap_err();
        assert!(e.to_string().contains("weekly"), "{e}");
    }

    fn day_range() -> RangeSettings {
        RangeSettings {
            column: "day".into(),
            kind: RangeKind::Integer,
            granularity: 1,
        }
    }

    /// A source of one row per day, price = day; logs its requests.
    fn source(log: &Mutex<Vec<(String, Interval)>>) -> impl Fetcher<String> + '_ {
        from_fn(move |req: FetchRequest<String>| {
            log.lock().unwrap().push((req.key.clone(), req.interval));
            async move {
                let days: Vec<i64> = (req.interval.start..req.interval.end).collect();
                let prices: Vec<f64> = days.iter().map(|d| *d as f64).collect();
                let symbols = vec![req.key.as_str(); days.len()];
                let columns: Vec<ArrayRef> = vec![
                    std::sync::Arc::new(StringArray::from(symbols)),
                    std::sync::Arc::new(Int64Array::from(days)),
                    std::sync::Arc::new(Float64Array::from(prices)),
                ];
                RecordBatch::try_new(prices_schema(), columns).map_err(|e| FetchError::of(&req, e))
            }
        })
    }

    fn days(batches: &[RecordBatch]) -> Vec<i64> {
        let mut d: Vec<i64> = batches
            .iter()
            .flat_map(|b| b.column(1).as_primitive::<Int64Type>().values().to_vec())
            .collect();
        d.sort();
        d
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn get_fetches_the_gaps_answers_from_storage_and_remembers_after_reopening() {
        let root = tempfile::tempdir().unwrap();
        let log = Mutex::new(Vec::new());
        let src = source(&log);
        let settings = Settings::for_timeseries("symbol", day_range());
        let t = PullTable::create(root.path(), "prices", prices_schema(), settings.clone())
            .await
            .unwrap();
        let rows = t.get(&["AAPL"], Interval::new(1, 11), &src).await.unwrap();
        assert_eq!(days(&rows), (1..11).collect::<Vec<_>>());
        let rows = t.get(&["AAPL"], Interval::new(5, 16), &src).await.unwrap();
        assert_eq!(days(&rows), (5..16).collect::<Vec<_>>());
        assert_eq!(
            std::mem::take(&mut *log.lock().unwrap()),
            [
                ("AAPL".to_string(), Interval::new(1, 11).unwrap()),
                ("AAPL".to_string(), Interval::new(11, 16).unwrap())
            ]
        );
        drop(t);
        let t = PullTable::open(root.path(), "prices").await.unwrap();
        let coverage = t.coverage().await.unwrap();
        let spans: Vec<Interval> = coverage[0].1.iter().map(|f| f.interval).collect();
        assert_eq!(
            (coverage[0].0.as_str(), spans),
            (
                "AAPL",
                vec![
                    Interval::new(1, 11).unwrap(),
                    Interval::new(11, 16).unwrap()
                ]
            ),
            "the durable coverage record, one span per fetch"
        );
        let rows = t.get(&["AAPL"], Interval::new(1, 16), &src).await.unwrap();
        assert_eq!(rows.iter().map(RecordBatch::num_rows).sum::<usize>(), 15);
        assert!(log.lock().unwrap().is_empty(), "reopened: nothing fetched");
        t.invalidate("AAPL", Interval::new(3, 5)).await.unwrap();
        t.get(&["AAPL"], Interval::new(1, 16), &src).await.unwrap();
        assert_eq!(
            std::mem::take(&mut *log.lock().unwrap()),
            [("AAPL".to_string(), Interval::new(3, 5).unwrap())]
        );
        // Creating it again with other settings is refused.
        let other = Settings::for_realtime_timeseries("symbol", day_range());
        let err = PullTable::create(root.path(), "prices", prices_schema(), other)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("other settings"), "{err}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lookup_table_fetches_missing_keys_only() {
        let root = tempfile::tempdir().unwrap();
        let log = Mutex::new(Vec::new());
        let src = source(&log);
        let t = PullTable::create(
            root.path(),
            "users",
            prices_schema(),
            Settings::for_lookup_table("symbol"),
        )
        .await
        .unwrap();
        t.get(&["a", "b"], None, &src).await.unwrap();
        let rows = t.get(&["a", "c"], None, &src).await.unwrap();
        let mut keys: Vec<String> = log.lock().unwrap().iter().map(|(k, _)| k.clone()).collect();
        keys.sort();
        assert_eq!(keys, ["a", "b", "c"], "a was not fetched twice");
        let symbols: Vec<&str> = rows
            .iter()
            .flat_map(|b| b.column(0).as_string::<i32>().iter().flatten())
            .collect();
        assert_eq!(symbols, ["a", "c"], "one row each, in the order asked");
        // Another process: its index is loaded from the stored rows; nothing is fetched.
        let other = PullTable::open(root.path(), "users").await.unwrap();
        log.lock().unwrap().clear();
        let rows = other.get(&["c", "b"], None, &src).await.unwrap();
        let symbols: Vec<&str> = rows
            .iter()
            .flat_map(|b| b.column(0).as_string::<i32>().iter().flatten())
            .collect();
        assert_eq!(symbols, ["c", "b"]);
        assert!(log.lock().unwrap().is_empty());
        assert_eq!(rows[0].schema(), prices_schema(), "the declared types");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_processes_needing_the_same_gap_fetch_it_once() {
        let root = tempfile::tempdir().unwrap();
        let settings = Settings::for_timeseries("symbol", day_range());
        let a = PullTable::create(root.path(), "prices", prices_schema(), settings)
            .await
            .unwrap();
        // A second opening has its own filler and its own lock file handle, as another
        // process would.
        let b = PullTable::open(root.path(), "prices").await.unwrap();
        let log = Mutex::new(Vec::new());
        let fast = source(&log);
        let fast = &fast;
        let slow = from_fn(move |req: FetchRequest<String>| async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            fast.fetch(&req).await
        });
        let want = Interval::new(1, 31);
        let (ra, rb) = tokio::join!(a.get(&["AAPL"], want, &slow), b.get(&["AAPL"], want, &slow));
        assert_eq!(days(&ra.unwrap()).len(), 30);
        assert_eq!(days(&rb.unwrap()).len(), 30);
        assert_eq!(
            log.lock().unwrap().len(),
            1,
            "one fetch for both: {:?}",
            log.lock().unwrap()
        );
        let rows: usize = a
            .store
            .rows()
            .await
            .unwrap()
            .iter()
            .map(RecordBatch::num_rows)
            .sum();
        assert_eq!(rows, 30, "no duplicate rows");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn small_fills_are_compacted_every_n_commits_and_lose_nothing() {
        let root = tempfile::tempdir().unwrap();
        let mut settings = Settings::for_timeseries("symbol", day_range());
        settings.layout.compact_every = 4;
        let t = PullTable::create(root.path(), "prices", prices_schema(), settings)
            .await
            .unwrap();
        let log = Mutex::new(Vec::new());
        let src = source(&log);
        let mut files = Vec::new();
        for d in 0..9 {
            t.get(&["AAPL"], Interval::new(d * 10, d * 10 + 10), &src)
                .await
                .unwrap();
            files.push(t.store.file_count().await.unwrap());
        }
        // Version 0 is the empty table; each fill adds a commit; crossing versions 4 and 8
        // compacts (which is a commit too).
        assert!(files.iter().max().unwrap() <= &4, "{files:?}");
        assert_eq!(files[3], 1, "compacted at the 4th commit: {files:?}");
        let rows = t.get(&["AAPL"], Interval::new(0, 90), &src).await.unwrap();
        assert_eq!(days(&rows), (0..90).collect::<Vec<_>>());
    }

    #[test]
    fn presets_have_their_documented_defaults_and_bad_names_are_refused() {
        let rt = Settings::for_realtime_timeseries("s", day_range());
        assert_eq!((rt.ttl_seconds, rt.volatile_window), (Some(300), Some(2)));
        let lookup = Settings::for_lookup_table("id");
        assert_eq!(
            (lookup.range, lookup.ttl_seconds, lookup.parallelism),
            (None, Some(86_400), 16)
        );
        assert_eq!(
            Settings::for_analytics_table("s", day_range()).parallelism,
            4
        );
        assert_eq!(Settings::for_timeseries("s", day_range()).ttl_seconds, None);
        assert!(!valid_name("Prices") && !valid_name("../x") && valid_name("prices_1d"));
    }
}
