//! Pull-through tables of Cacheness: tables that fetch, from a slow source, only the parts of a
//! query's ranges they do not hold yet (`docs/PULL_THROUGH.md`).
//!
//! A pull-through table has key columns, one ordered range column and value columns. Its
//! **coverage** records which `(key, [start, end))` intervals were asked of the source, when,
//! and until when they count; a query's requested ranges minus the coverage are the **gaps**
//! to fetch. This crate is being built in steps (issue 7); so far:
//!
//! - [`interval`]: half-open intervals of range ticks, and the granularity fetches align to.
//! - [`coverage`]: one key's coverage, recording fetches and invalidations, and gap planning
//!   (holes inside the cached span, expiry, the volatile window, granularity).
//! - [`fetch`]: the [`Fetcher`] trait (and async closures as fetchers).
//! - [`command`]: the command fetcher (an external program per fetch, its output decoded).
//! - `http` (cargo feature `http`): the HTTP fetcher (a URL template per fetch; timeouts,
//!   retries, a concurrency limit).
//! - `postgres` (cargo feature `postgres`): the PostgreSQL fetcher (a parameterized query per
//!   fetch).
//! - [`decode`]: a source's answer (CSV, JSON lines or array, Parquet, Arrow IPC) read into the
//!   table's schema.
//! - [`fill`]: filling a query's gaps: concurrent fetches with bounded parallelism, each gap
//!   fetched once across the queries of a process, coverage recorded once rows are stored.
//! - [`bounds`]: the keys and range a SQL query's filters ask for.
//! - [`columns`]: a table's columns as text (`symbol:str,day:date`), its range column's kind.
//! - [`key`]: a row's key (one or several key columns) as one text.
//! - [`provider`]: the table in SQL, a DataFusion `TableProvider` whose plan lists the fetches
//!   (`EXPLAIN`) and whose execution fills the gaps before scanning.
//! - [`table`]: a table on disk (`<root>/tables/<name>/`): settings and presets, and
//!   `get(keys, range)` without SQL.
//! - [`source`]: a table's source as settings (HTTP, command, the demo source), so SQL and the
//!   CLI can fetch without Rust code.
//! - [`store`]: a table's rows (a Delta table, upserted on its primary key) and its coverage
//!   record (a Delta table of fetches and invalidations).

#![warn(missing_docs)]

pub mod bounds;
pub mod columns;
pub mod command;
pub mod coverage;
pub mod decode;
pub mod fetch;
pub mod fill;
#[cfg(feature = "http")]
pub mod http;
pub mod interval;
pub mod key;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod provider;
pub mod source;
pub mod store;
pub mod table;

pub use coverage::{Fetched, Freshness, KeyCoverage};
pub use fetch::{FetchError, FetchRequest, Fetcher, SharedFetcher, from_fn};
pub use fill::{FillError, FillOptions, FillReport, Filler};
pub use interval::{Granularity, Interval, RangeKind};
pub use provider::PullProvider;
pub use table::{FetchObserver, PullTable, Settings, TablesRoot, WithoutBounds};
