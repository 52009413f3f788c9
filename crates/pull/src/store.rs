//! Storage of a pull-through table under its directory: the rows in a Delta table (`data/`),
//! upserted on the key and range columns so that a range fetched twice never duplicates a row,
//! and the coverage record in another (`coverage/`): one row per fetch or invalidation, replayed
//! in time order into each key's [`KeyCoverage`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cacheness_storage::Location;
use deltalake::DeltaTable;
use deltalake::arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray, UInt32Array,
};
use deltalake::arrow::compute::{cast, concat_batches, take_record_batch};
use deltalake::arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use deltalake::datafusion::prelude::{Expr, SessionContext, col};
use deltalake::protocol::SaveMode;

use crate::coverage::{Fetched, KeyCoverage};
use crate::fill::Stored;
use crate::interval::Interval;

/// Commit attempts of an upsert that conflicts with another writer's
/// (`cacheness_storage::delta::Attempts`).
const MERGE_ATTEMPTS: usize = 10;

/// What a pull-through table holds.
#[derive(Debug, Clone)]
pub struct TableSpec {
    /// Every column: keys, range, values.
    pub schema: SchemaRef,
    /// The key columns (together with the range column, the primary key).
    pub key_columns: Vec<String>,
    /// The ordered range column (`None`: a lookup table, keyed by the key columns alone).
    pub range_column: Option<String>,
}

impl TableSpec {
    /// The primary key: the key columns, then the range column.
    pub fn primary_key(&self) -> Vec<&str> {
        self.key_columns
            .iter()
            .map(String::as_str)
            .chain(self.range_column.as_deref())
            .collect()
    }
}

/// Why storing failed: the table and the reason.
#[derive(Debug, thiserror::Error)]
#[error("pull-through table at {table}: {reason}")]
pub struct StoreError {
    /// Where the table lives (a path or a URL).
    pub table: String,
    /// Why.
    pub reason: String,
}

/// One pull-through table's rows and coverage record.
#[derive(Debug, Clone)]
pub struct TableStore {
    dir: Location,
    spec: TableSpec,
    /// The rows' table as last loaded, reused while its log directory is unchanged.
    loaded: Arc<tokio::sync::Mutex<Option<Loaded>>>,
}

/// A loaded snapshot of the rows' table and the log directory's mtime when it was loaded
/// (`None`: too recent to trust, reload next time).
struct Loaded {
    table: DeltaTable,
    log_mtime: Option<SystemTime>,
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded")
            .field("version", &self.table.version())
            .finish()
    }
}

/// A log directory changed this recently may change again within the same mtime tick
/// (file times are coarse, a few ms): a snapshot loaded then is not reused.
const RACY_MTIME: Duration = Duration::from_millis(50);

fn coverage_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("range_start", DataType::Int64, false),
        Field::new("range_end", DataType::Int64, false),
        Field::new("at", DataType::Int64, false),
        Field::new("valid_until", DataType::Int64, true),
        Field::new("op", DataType::Utf8, false),
    ]))
}

impl TableStore {
    /// Open the table in `dir`, creating its two Delta tables if missing. The spec's columns
    /// must include the key and range columns.
    pub async fn open(dir: &Location, spec: TableSpec) -> Result<TableStore, StoreError> {
        let store = TableStore {
            dir: dir.clone(),
            spec,
            loaded: Arc::default(),
        };
        for name in store.spec.primary_key() {
            if store.spec.schema.field_with_name(name).is_err() {
                return Err(store.error(format!("the schema has no column {name:?}")));
            }
        }
        store.create("data", store.spec.schema.clone()).await?;
        store.create("coverage", coverage_schema()).await?;
        Ok(store)
    }

    /// The columns of the rows stored in `dir` (as scans return them: strings may be views).
    pub async fn stored_schema(dir: &Location) -> Result<SchemaRef, StoreError> {
        let probe = TableStore {
            dir: dir.clone(),
            spec: TableSpec {
                schema: Arc::new(Schema::empty()),
                key_columns: Vec::new(),
                range_column: None,
            },
            loaded: Arc::default(),
        };
        Ok(probe.provider().await?.schema())
    }

    /// The table's spec.
    pub fn spec(&self) -> &TableSpec {
        &self.spec
    }

    fn error(&self, reason: impl std::fmt::Display) -> StoreError {
        StoreError {
            table: self.dir.label(),
            reason: reason.to_string(),
        }
    }

    /// The Delta table `part` (`data` or `coverage`), not loaded if it does not exist yet.
    async fn delta(&self, part: &str) -> Result<DeltaTable, StoreError> {
        let at = self.dir.join(part);
        at.create_dir_all().map_err(|e| self.error(e))?;
        at.delta_table().await.map_err(|e| self.error(e))
    }

    async fn table(&self, part: &str) -> Result<DeltaTable, StoreError> {
        let mut t = self.delta(part).await?;
        t.load()
            .await
            .map_err(|e| self.error(format!("{part}: {e}")))?;
        Ok(t)
    }

    async fn create(&self, part: &str, schema: SchemaRef) -> Result<(), StoreError> {
        let empty = RecordBatch::new_empty(schema);
        cacheness_storage::delta::open_or_create(&self.dir.join(part), empty, Default::default())
            .await
            .map_err(|e| self.error(format!("creating {part}: {e}")))?;
        Ok(())
    }

    /// Insert `batch`'s rows, replacing the stored rows with the same primary key. Retried when
    /// another writer committed first.
    pub async fn upsert(&self, batch: RecordBatch) -> Result<(), StoreError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let batch = self.last_per_primary_key(batch)?;
        let key: Vec<&str> = self.spec.primary_key();
        let predicate = key
            .iter()
            .map(|c| col(format!("target.{c}")).eq(col(format!("source.{c}"))))
            .reduce(Expr::and)
            .ok_or_else(|| self.error("no primary key columns"))?;
        let columns: Vec<String> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let mut last = String::new();
        let mut attempts = cacheness_storage::delta::Attempts::new(MERGE_ATTEMPTS);
        while attempts.next().await.is_some() {
            let table = self.table("data").await?;
            let source = SessionContext::new()
                .read_batch(batch.clone())
                .map_err(|e| self.error(e))?;
            let result = table
                .merge(source, predicate.clone())
                .with_source_alias("source")
                .with_target_alias("target")
                .when_matched_update(|u| {
                    columns
                        .iter()
                        .filter(|c| !key.contains(&c.as_str()))
                        .fold(u, |u, c| u.update(c.as_str(), col(format!("source.{c}"))))
                })
                .and_then(|m| {
                    m.when_not_matched_insert(|i| {
                        columns
                            .iter()
                            .fold(i, |i, c| i.set(c.as_str(), col(format!("source.{c}"))))
                    })
                });
            let merge = result.map_err(|e| self.error(format!("upsert: {e}")))?;
            match merge.await {
                Ok(_) => return Ok(()),
                // Another writer committed first: merge again against its rows.
                Err(e) if cacheness_storage::delta::lost_race(&e) => last = e.to_string(),
                Err(e) => return Err(self.error(format!("upsert: {e}"))),
            }
        }
        Err(self.error(format!("upsert failed {MERGE_ATTEMPTS} times: {last}")))
    }

    /// `batch` with one row per primary key, the last (a source that answers a row twice must
    /// not store it twice: a merge inserts every source row that matches no stored one). A
    /// row with a null key column is refused, naming the column.
    fn last_per_primary_key(&self, batch: RecordBatch) -> Result<RecordBatch, StoreError> {
        let columns: Vec<String> = self
            .spec
            .primary_key()
            .iter()
            .map(|c| c.to_string())
            .collect();
        let keys = crate::key::of_rows(&batch, &columns).map_err(|e| self.error(e))?;
        let mut last: HashMap<String, u32> = HashMap::with_capacity(keys.len());
        for (i, k) in keys.into_iter().enumerate() {
            let k = k.ok_or_else(|| {
                self.error(format!(
                    "row {i} has a null in a key column ({})",
                    columns.join(", ")
                ))
            })?;
            last.insert(k, u32::try_from(i).map_err(|e| self.error(e))?);
        }
        if last.len() == batch.num_rows() {
            return Ok(batch);
        }
        let mut rows: Vec<u32> = last.into_values().collect();
        rows.sort_unstable();
        take_record_batch(&batch, &UInt32Array::from(rows)).map_err(|e| self.error(e))
    }

    async fn append_coverage(&self, rows: RecordBatch) -> Result<(), StoreError> {
        let table = self.table("coverage").await?;
        table
            .write(vec![rows])
            .with_save_mode(SaveMode::Append)
            .await
            .map_err(|e| self.error(format!("coverage: {e}")))?;
        Ok(())
    }

    /// Coverage record rows: `(key, interval, at, valid_until, op)` each.
    fn coverage_rows(
        &self,
        records: &[(&str, Interval, i64, Option<i64>, &str)],
    ) -> Result<RecordBatch, StoreError> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(records.iter().map(|r| r.0))),
            Arc::new(Int64Array::from_iter_values(
                records.iter().map(|r| r.1.start),
            )),
            Arc::new(Int64Array::from_iter_values(
                records.iter().map(|r| r.1.end),
            )),
            Arc::new(Int64Array::from_iter_values(records.iter().map(|r| r.2))),
            Arc::new(Int64Array::from_iter(records.iter().map(|r| r.3))),
            Arc::new(StringArray::from_iter_values(records.iter().map(|r| r.4))),
        ];
        RecordBatch::try_new(coverage_schema(), columns).map_err(|e| self.error(e))
    }

    /// Keep the answers of a round of fetches: their rows in one upsert, then their coverage
    /// in one append (two commits however many fetches).
    pub async fn keep(&self, answers: &[Stored<String>]) -> Result<(), StoreError> {
        let batches: Vec<RecordBatch> = answers
            .iter()
            .map(|a| a.rows.clone())
            .filter(|b| b.num_rows() > 0)
            .collect();
        if let Some(first) = batches.first() {
            let rows = concat_batches(&first.schema(), &batches)
                .map_err(|e| self.error(format!("the answers' columns differ: {e}")))?;
            self.upsert(rows).await?;
        }
        let records: Vec<(&str, Interval, i64, Option<i64>, &str)> = answers
            .iter()
            .map(|a| {
                let f = &a.fetched;
                (
                    a.request.key.as_str(),
                    f.interval,
                    f.fetched_at,
                    f.valid_until,
                    "fetch",
                )
            })
            .collect();
        if records.is_empty() {
            return Ok(());
        }
        self.append_coverage(self.coverage_rows(&records)?).await
    }

    /// How many data files hold the rows now.
    pub async fn file_count(&self) -> Result<usize, StoreError> {
        let table = self.current_rows().await?;
        Ok(table.get_file_uris().map_err(|e| self.error(e))?.count())
    }

    /// The rows' table version (the number of its commits less one).
    pub async fn version(&self) -> Result<u64, StoreError> {
        Ok(self.current_rows().await?.version().unwrap_or(0))
    }

    /// Rewrite the rows' small files into files of about `target_bytes`, clustered by the key
    /// and range columns (Z-order) when `cluster`; returns (files removed, files added).
    pub async fn compact(
        &self,
        target_bytes: u64,
        cluster: bool,
    ) -> Result<(u64, u64), StoreError> {
        let table = self.table("data").await?;
        let target = std::num::NonZeroU64::new(target_bytes.max(1))
            .ok_or_else(|| self.error("a target file size of 0"))?;
        let mut optimize = table.optimize().with_target_size(target);
        if cluster {
            let columns = self
                .spec
                .primary_key()
                .iter()
                .map(|c| c.to_string())
                .collect();
            optimize = optimize.with_type(deltalake::operations::optimize::OptimizeType::ZOrder(
                columns,
            ));
        }
        let (_, metrics) = optimize
            .await
            .map_err(|e| self.error(format!("compacting: {e}")))?;
        Ok((metrics.num_files_removed, metrics.num_files_added))
    }

    /// Record a fetch of `key` whose rows were kept already.
    pub async fn record(&self, key: &str, f: &Fetched) -> Result<(), StoreError> {
        let rows =
            self.coverage_rows(&[(key, f.interval, f.fetched_at, f.valid_until, "fetch")])?;
        self.append_coverage(rows).await
    }

    /// Record that `interval` of `key` was invalidated at `at` (µs since the epoch).
    pub async fn invalidate(
        &self,
        key: &str,
        interval: Interval,
        at: i64,
    ) -> Result<(), StoreError> {
        let rows = self.coverage_rows(&[(key, interval, at, None, "invalidate")])?;
        self.append_coverage(rows).await
    }

    /// Every key's coverage, replayed from the record in time order.
    pub async fn coverage(&self) -> Result<HashMap<String, KeyCoverage>, StoreError> {
        let table = self.table("coverage").await?;
        let provider = table.table_provider().await.map_err(|e| self.error(e))?;
        let batches = SessionContext::new()
            .read_table(provider)
            .map_err(|e| self.error(e))?
            .collect()
            .await
            .map_err(|e| self.error(format!("reading coverage: {e}")))?;
        let mut events: Vec<(i64, bool, String, Fetched)> = Vec::new();
        for b in &batches {
            // Scans may hand strings back as views or dictionaries: cast to the written types.
            let text = |name: &str| -> Result<StringArray, StoreError> {
                let c = b
                    .column_by_name(name)
                    .ok_or_else(|| self.error(format!("coverage has no column {name}")))?;
                let c = cast(c, &DataType::Utf8)
                    .map_err(|e| self.error(format!("coverage {name}: {e}")))?;
                Ok(c.as_string::<i32>().clone())
            };
            let int = |name: &str| -> Result<Int64Array, StoreError> {
                let c = b
                    .column_by_name(name)
                    .ok_or_else(|| self.error(format!("coverage has no column {name}")))?;
                let c = cast(c, &DataType::Int64)
                    .map_err(|e| self.error(format!("coverage {name}: {e}")))?;
                Ok(c.as_primitive::<Int64Type>().clone())
            };
            let (keys, starts, ends, ats, valid, ops) = (
                text("key")?,
                int("range_start")?,
                int("range_end")?,
                int("at")?,
                int("valid_until")?,
                text("op")?,
            );
            for r in 0..b.num_rows() {
                let Some(interval) = Interval::new(starts.value(r), ends.value(r)) else {
                    continue;
                };
                let fetched = Fetched {
                    interval,
                    fetched_at: ats.value(r),
                    valid_until: (!valid.is_null(r)).then(|| valid.value(r)),
                };
                let invalidation = ops.value(r) == "invalidate";
                events.push((
                    ats.value(r),
                    invalidation,
                    keys.value(r).to_string(),
                    fetched,
                ));
            }
        }
        // At the same instant, an invalidation comes after the fetch it undoes.
        events.sort_by_key(|(at, invalidation, _, _)| (*at, *invalidation));
        let mut coverage: HashMap<String, KeyCoverage> = HashMap::new();
        for (_, invalidation, key, f) in events {
            let c = coverage.entry(key).or_default();
            if invalidation {
                c.invalidate(f.interval);
            } else {
                c.record(f);
            }
        }
        Ok(coverage)
    }

    /// The rows' Delta table, current: the snapshot loaded last while the log directory's
    /// mtime has not changed since (one `stat`, not a log replay, per query), else reloaded.
    async fn current_rows(&self) -> Result<DeltaTable, StoreError> {
        let Some(dir) = self.dir.local_dir() else {
            // An object store has no directory mtime: bring the last snapshot up to date
            // (one LIST of the log from its version), or load the table.
            let mut slot = self.loaded.lock().await;
            if let Some(l) = slot.as_mut()
                && l.table.update_incremental(None).await.is_ok()
            {
                return Ok(l.table.clone());
            }
            let table = self.table("data").await?;
            *slot = Some(Loaded {
                table: table.clone(),
                log_mtime: None,
            });
            return Ok(table);
        };
        let log = dir.join("data").join("_delta_log");
        let mtime = std::fs::metadata(&log).and_then(|m| m.modified()).ok();
        let mut slot = self.loaded.lock().await;
        if let Some(l) = slot.as_ref()
            && l.log_mtime.is_some()
            && l.log_mtime == mtime
        {
            return Ok(l.table.clone());
        }
        let table = self.table("data").await?;
        let settled = mtime.filter(|m| {
            SystemTime::now()
                .duration_since(*m)
                .is_ok_and(|age| age > RACY_MTIME)
        });
        *slot = Some(Loaded {
            table: table.clone(),
            log_mtime: settled,
        });
        Ok(table)
    }

    /// The rows' Delta table as a DataFusion table (filters on it are pushed into the scan).
    pub async fn provider(
        &self,
    ) -> Result<Arc<dyn deltalake::datafusion::catalog::TableProvider>, StoreError> {
        let table = self.current_rows().await?;
        table.table_provider().await.map_err(|e| self.error(e))
    }

    /// Every stored row (for tests and small tables; queries go through SQL).
    pub async fn rows(&self) -> Result<Vec<RecordBatch>, StoreError> {
        let table = self.current_rows().await?;
        let provider = table.table_provider().await.map_err(|e| self.error(e))?;
        SessionContext::new()
            .read_table(provider)
            .map_err(|e| self.error(e))?
            .collect()
            .await
            .map_err(|e| self.error(format!("reading rows: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use deltalake::arrow::array::Float64Array;

    use super::*;
    use crate::fetch::{FetchError, FetchRequest, from_fn};
    use crate::fill::{FillOptions, Filler};

    fn spec() -> TableSpec {
        TableSpec {
            schema: Arc::new(Schema::new(vec![
                Field::new("symbol", DataType::Utf8, false),
                Field::new("day", DataType::Int64, false),
                Field::new("price", DataType::Float64, true),
            ])),
            key_columns: vec!["symbol".into()],
            range_column: Some("day".into()),
        }
    }

    fn prices(symbol: &str, days: std::ops::Range<i64>, bump: f64) -> RecordBatch {
        let n = (days.end - days.start) as usize;
        RecordBatch::try_new(
            spec().schema,
            vec![
                Arc::new(StringArray::from(vec![symbol; n])),
                Arc::new(Int64Array::from_iter_values(days.clone())),
                Arc::new(Float64Array::from_iter_values(
                    days.map(|d| d as f64 + bump),
                )),
            ],
        )
        .unwrap()
    }

    /// (symbol, day, price) of every stored row, sorted.
    async fn stored(store: &TableStore) -> Vec<(String, i64, f64)> {
        let mut out = Vec::new();
        for b in store.rows().await.unwrap() {
            let s = cast(b.column(0), &DataType::Utf8).unwrap();
            let s = s.as_string::<i32>();
            let d = b.column(1).as_primitive::<Int64Type>();
            let p = b
                .column(2)
                .as_primitive::<deltalake::arrow::datatypes::Float64Type>();
            for r in 0..b.num_rows() {
                out.push((s.value(r).to_string(), d.value(r), p.value(r)));
            }
        }
        out.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        out
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_upsert_replaces_rows_with_the_same_primary_key_and_never_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let store = TableStore::open(&Location::Local(dir.path().to_path_buf()), spec())
            .await
            .unwrap();
        store.upsert(prices("AAPL", 1..4, 0.0)).await.unwrap();
        store.upsert(prices("AAPL", 2..6, 0.5)).await.unwrap();
        store.upsert(prices("MSFT", 1..2, 0.0)).await.unwrap();
        store.upsert(prices("AAPL", 2..6, 0.5)).await.unwrap();
        // One answer holding a row twice: the last one stays, once.
        let twice = concat_batches(
            &spec().schema,
            &[prices("MSFT", 5..7, 0.0), prices("MSFT", 6..7, 0.25)],
        )
        .unwrap();
        store.upsert(twice).await.unwrap();
        let msft: Vec<(i64, f64)> = stored(&store)
            .await
            .iter()
            .filter(|r| r.0 == "MSFT")
            .map(|r| (r.1, r.2))
            .collect();
        assert_eq!(msft, [(1, 1.0), (5, 5.0), (6, 6.25)]);
        let rows: Vec<_> = stored(&store)
            .await
            .into_iter()
            .filter(|r| r.0 == "AAPL" || r.1 == 1)
            .collect();
        let aapl: Vec<(i64, f64)> = rows
            .iter()
            .filter(|r| r.0 == "AAPL")
            .map(|r| (r.1, r.2))
            .collect();
        assert_eq!(aapl, [(1, 1.0), (2, 2.5), (3, 3.5), (4, 4.5), (5, 5.5)]);
        assert_eq!(rows.len(), 6);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reused_snapshot_still_sees_every_later_commit_of_any_writer() {
        let dir = tempfile::tempdir().unwrap();
        let reader = TableStore::open(&Location::Local(dir.path().to_path_buf()), spec())
            .await
            .unwrap();
        let writer = TableStore::open(&Location::Local(dir.path().to_path_buf()), spec())
            .await
            .unwrap();
        for n in 1..=4_i64 {
            // Another writer commits (as another process would), sometimes right after the
            // reader loaded, sometimes after the log's mtime settled.
            writer.upsert(prices("AAPL", n..n + 1, 0.0)).await.unwrap();
            assert_eq!(stored(&reader).await.len() as i64, n);
            assert_eq!(stored(&reader).await.len() as i64, n, "reused, same answer");
            if n % 2 == 0 {
                tokio::time::sleep(RACY_MTIME * 2).await;
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn coverage_survives_reopening_with_invalidations_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = TableStore::open(&Location::Local(dir.path().to_path_buf()), spec())
            .await
            .unwrap();
        let f = |a, b, at| Fetched {
            interval: Interval::new(a, b).unwrap(),
            fetched_at: at,
            valid_until: Some(at + 1_000),
        };
        store.record("[\"AAPL\"]", &f(1, 11, 10)).await.unwrap();
        store.record("[\"AAPL\"]", &f(20, 31, 11)).await.unwrap();
        store
            .invalidate("[\"AAPL\"]", Interval::new(5, 8).unwrap(), 12)
            .await
            .unwrap();
        let again = TableStore::open(&Location::Local(dir.path().to_path_buf()), spec())
            .await
            .unwrap();
        let c = again.coverage().await.unwrap();
        let spans: Vec<(i64, i64)> = c["[\"AAPL\"]"]
            .spans()
            .iter()
            .map(|s| (s.interval.start, s.interval.end))
            .collect();
        assert_eq!(spans, [(1, 5), (8, 11), (20, 31)]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_fill_stores_rows_then_coverage_and_a_new_process_fetches_nothing_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = TableStore::open(&Location::Local(dir.path().to_path_buf()), spec())
            .await
            .unwrap();
        let fetches = std::sync::Mutex::new(Vec::new());
        let source = from_fn(|req: FetchRequest<String>| {
            fetches.lock().unwrap().push(req.interval);
            async move {
                let s = req.key.clone();
                Ok::<_, FetchError>(prices(&s, req.interval.start..req.interval.end, 0.0))
            }
        });
        let fill = |filler: Filler<String>| {
            let (store, source) = (&store, &source);
            async move {
                filler
                    .fill(
                        &["AAPL".to_string()],
                        Interval::new(1, 11).unwrap(),
                        &FillOptions::default(),
                        source,
                        |answers| async move {
                            store
                                .keep(&answers)
                                .await
                                .map_err(|e| cacheness_format::Invalid(e.to_string()))
                        },
                    )
                    .await
                    .unwrap()
            }
        };
        fill(Filler::new()).await;
        assert_eq!(stored(&store).await.len(), 10);
        // Another process: coverage from the record, nothing fetched.
        let reopened = Filler::with_coverage(store.coverage().await.unwrap());
        let report = fill(reopened).await;
        assert!(report.fetched.is_empty());
        assert_eq!(fetches.lock().unwrap().len(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writers_of_overlapping_ranges_leave_no_duplicate() {
        let dir = tempfile::tempdir().unwrap();
        TableStore::open(&Location::Local(dir.path().to_path_buf()), spec())
            .await
            .unwrap();
        // Four writers, each with a handle of its own (as four processes), overlapping days.
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let path = dir.path().to_path_buf();
                tokio::spawn(async move {
                    let store = TableStore::open(&Location::Local(path.clone()), spec())
                        .await
                        .unwrap();
                    store.upsert(prices("AAPL", w..w + 6, 0.0)).await
                })
            })
            .collect();
        for w in writers {
            w.await.unwrap().unwrap();
        }
        let store = TableStore::open(&Location::Local(dir.path().to_path_buf()), spec())
            .await
            .unwrap();
        let days: Vec<i64> = stored(&store).await.iter().map(|r| r.1).collect();
        assert_eq!(days, (0..9).collect::<Vec<_>>(), "each day once");
    }

    #[tokio::test]
    async fn a_spec_naming_a_missing_column_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut bad = spec();
        bad.range_column = Some("date".into());
        let err = TableStore::open(&Location::Local(dir.path().to_path_buf()), bad)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("\"date\""), "{err}");
    }
}
