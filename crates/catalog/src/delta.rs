//! The Delta table `cache_entries`: creation, group commits, snapshot reads and compaction.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use deltalake::DeltaTable;
use deltalake::arrow::datatypes::Schema;
use deltalake::datafusion::prelude::{Expr, col, lit};
use deltalake::kernel::Transaction;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::operations::write::SchemaMode;
use deltalake::protocol::SaveMode;
use futures::StreamExt;

use crate::committed_keys::CommittedKeys;
use crate::custom::MetadataTables;
use crate::error::{CatalogError, Result};
use crate::maintenance::{MaintenanceLock, MaintenanceReport};
use crate::row::{CatalogOp, CatalogRow, PayloadProbe};
use crate::schema::{
    Projection, base_schema, batch_to_rows, rows_to_batch, schema_for_rows, writer_properties,
};
use cacheness_storage::Location;
use cacheness_storage::delta::Attempts;

/// How many times a commit that lost a race with another writer is tried again.
const COMMIT_ATTEMPTS: usize = 20;
/// Most keys named in one `replace_where` predicate (large IN lists make deep plans).
const REPLACE_CHUNK: usize = 1000;
/// How many times a failed compaction is planned again.
const COMPACT_ATTEMPTS: usize = 3;
/// The guard of compaction, beside the table (`<root>/catalog/compaction.lock`).
const COMPACTION_LEASE: &str = "compaction.lock";
/// How long a compaction lease lasts if its holder dies before releasing it.
const COMPACTION_TTL: Duration = Duration::from_secs(600);
/// Compact when the table has more live data files than this.
const COMPACT_FILES: usize = 16;

/// Table properties set at creation: frequent checkpoints keep loading the table cheap.
const TABLE_CONFIG: [(&str, &str); 2] = [
    ("delta.checkpointInterval", "20"),
    ("delta.logRetentionDuration", "interval 7 days"),
];

/// One journal segment to commit: whose, which, and its operations.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    /// The writer that journaled it (its Delta application id).
    pub writer: &'a str,
    /// Its sequence number within the writer.
    pub seq: i64,
    /// Its operations, in journal order.
    pub ops: &'a [CatalogOp],
}

/// Handle on the `cache_entries` Delta table of one cache.
pub struct DeltaCatalog {
    location: Location,
    /// Where this host keeps the maintenance lock (the catalog directory for a local cache).
    lock_dir: Option<PathBuf>,
    label: String,
    table: Option<DeltaTable>,
    /// What commits match rows against, when set ([`DeltaCatalog::match_payloads_with`]).
    probe: Option<Arc<dyn PayloadProbe>>,
    /// The newest log version whose commit file was checked (`crate::log_check`).
    log_checked: Option<i64>,
    /// The keys the committed table holds rows for, to tell fresh keys from held ones.
    committed: CommittedKeys,
}

/// A Delta error on the table labelled `label` (its path), as a catalog error.
pub(crate) fn delta_err(label: &str) -> impl Fn(deltalake::DeltaTableError) -> CatalogError + '_ {
    move |source| CatalogError::Delta {
        table: label.to_string(),
        source: Box::new(source),
    }
}

impl DeltaCatalog {
    /// Open (creating if needed) the table at `location` (a directory or an object store
    /// prefix).
    pub async fn open(location: impl Into<Location>) -> Result<Self> {
        let location = location.into();
        location.create_dir_all()?;
        let lock_dir = location
            .local_dir()
            .and_then(Path::parent)
            .map(Path::to_path_buf);
        let mut me = DeltaCatalog {
            label: location.label(),
            location,
            lock_dir,
            table: None,
            probe: None,
            log_checked: None,
            committed: CommittedKeys::default(),
        };
        me.load().await?;
        if me.table.is_none() {
            me.create().await?;
        }
        Ok(me)
    }

    /// Make every commit keep, for each key it touches, the row that describes the key's
    /// payload now, as `probe` finds it, and no row when it has none. Puts of one key that
    /// race (threads, processes) can journal their rows in another order than their payloads
    /// land, and an entry can be removed (invalidated, evicted, expired) by another process
    /// before its put's row is committed: a row of a put that lost, or whose payload is gone,
    /// is left out, and rows of the key that describe no payload there are deleted. Costs a
    /// look at each touched key's payload files, on the committer thread.
    pub fn match_payloads_with(&mut self, probe: Arc<dyn PayloadProbe>) {
        self.probe = Some(probe);
    }

    /// Keep the maintenance lock in `dir` (this host's state directory, for a cache on an
    /// object store: maintenance is then one process per host; see `docs/SCALE.md`).
    pub fn lock_maintenance_in(&mut self, dir: &Path) {
        self.lock_dir = Some(dir.to_path_buf());
    }

    /// Where the table lives.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// (Re)load the latest table state; `table` stays `None` if no table exists yet. A loaded
    /// table is brought up to date incrementally (only new log entries are read).
    async fn load(&mut self) -> Result<()> {
        self.load_unchecked().await?;
        // delta-rs reads an empty or foreign commit file as a commit of nothing: a listing
        // would answer a wrong count without an error.
        if let Some(dir) = self.location.local_dir() {
            self.log_checked = crate::log_check::check(&dir.join("_delta_log"), self.log_checked)?;
        }
        Ok(())
    }

    async fn load_unchecked(&mut self) -> Result<()> {
        if let Some(table) = self.table.as_mut() {
            match table.update_incremental(None).await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    tracing::debug!(table = %self.label, "incremental update failed, reloading: {e}")
                }
            }
        }
        let table = self.location.delta_table().await?;
        self.table = table.version().is_some().then_some(table);
        Ok(())
    }

    async fn create(&mut self) -> Result<()> {
        let empty = rows_to_batch(&base_schema(), &[], &self.label)?;
        let new = cacheness_storage::delta::NewTable {
            name: Some("cache_entries"),
            configuration: &TABLE_CONFIG,
        };
        let table = cacheness_storage::delta::open_or_create(&self.location, empty, new).await?;
        // Brought up to date through `load`, which checks the log files, whoever created it
        // (an incremental update of the table in hand, not a second open).
        self.table = table.version().is_some().then_some(table);
        self.load().await?;
        if self.table.is_none() {
            return Err(CatalogError::CommitFailed {
                table: self.label.clone(),
                message: "could not create the catalog table".into(),
            });
        }
        Ok(())
    }

    fn table(&self) -> Result<&DeltaTable> {
        self.table
            .as_ref()
            .ok_or_else(|| CatalogError::CommitFailed {
                table: self.label.clone(),
                message: "catalog table is not loaded".into(),
            })
    }

    /// The table's location label (for messages).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The latest committed version of the table.
    pub fn version(&self) -> Option<u64> {
        self.table.as_ref().and_then(|t| t.version())
    }

    /// The last committed journal segment of a writer, from the table's application transactions.
    pub async fn committed_seq(&self, writer: &str) -> Result<Option<i64>> {
        let table = self.table()?;
        let snapshot = table.snapshot().map_err(delta_err(&self.label))?;
        snapshot
            .transaction_version(table.log_store().as_ref(), writer)
            .await
            .map_err(delta_err(&self.label))
    }

    /// Commit one journal segment's operations as one Delta commit, tagged with the application
    /// transaction `(writer, seq)` so that a repeat is a no-op. Retries conflicts with other
    /// writers, reloading the table each time.
    pub async fn commit(&mut self, ops: &[CatalogOp], writer: &str, seq: i64) -> Result<()> {
        self.commit_segments(&[Segment { writer, seq, ops }]).await
    }

    /// Commit the operations of several journal segments (of one writer or several, each
    /// writer's in sequence order) as one Delta commit, tagged with each writer's application
    /// transaction at its last segment here. Segments already committed are left out (all
    /// of them: a no-op), so a repeat is harmless. Retries conflicts with other writers,
    /// reloading the table each time. The operations apply in the order given; none may
    /// clear the catalog unless it is the only segment (a clear drops what came before it).
    pub async fn commit_segments(&mut self, segments: &[Segment<'_>]) -> Result<()> {
        let mut last_error = String::new();
        let mut attempts = Attempts::new(COMMIT_ATTEMPTS);
        while let Some(attempt) = attempts.next().await {
            if attempt > 0 {
                self.load().await?;
            }
            let mut committed: HashMap<&str, Option<i64>> = HashMap::new();
            let mut pending = Vec::with_capacity(segments.len());
            for segment in segments {
                let seq = match committed.get(segment.writer) {
                    Some(seq) => *seq,
                    None => {
                        let seq = self.committed_seq(segment.writer).await?;
                        committed.insert(segment.writer, seq);
                        seq
                    }
                };
                if seq.is_none_or(|v| v < segment.seq) {
                    pending.push(segment);
                }
            }
            if pending.is_empty() {
                return Ok(());
            }
            match self.try_commit(&pending).await {
                Ok(()) => return Ok(()),
                // Retrying cannot help a full disk or a read-only file system.
                Err(e) if crate::error::is_out_of_space(&e) => {
                    return Err(CatalogError::CommitFailed {
                        table: self.label.clone(),
                        message: e.to_string(),
                    });
                }
                Err(e) => {
                    tracing::debug!(table = %self.label, attempt, "catalog commit retry: {e}");
                    last_error = e.to_string();
                }
            }
        }
        Err(CatalogError::CommitFailed {
            table: self.label.clone(),
            message: last_error,
        })
    }

    /// One segment's commits: first the replacements (each a `replace_where` over at most
    /// [`REPLACE_CHUNK`] keys: deletes and rewritten rows), then one append of the new rows
    /// carrying the application transaction. Replacements are idempotent and the append is the
    /// only step that adds rows without a predicate, so a crash between steps and a replay never
    /// duplicates a row. A segment that cleared the catalog is one overwrite.
    async fn try_commit(&mut self, segments: &[&Segment<'_>]) -> Result<()> {
        #[cfg(test)]
        if let Some(s) = segments.iter().find(|s| s.writer == tests::REFUSED) {
            return Err(CatalogError::CommitFailed {
                table: self.label.clone(),
                message: format!("the segments of {} are refused in this test", s.writer),
            });
        }
        let mut plan = plan_batch(segments.iter().flat_map(|s| s.ops));
        // Each writer's transaction at its last segment here.
        let mut txns: Vec<Transaction> = Vec::new();
        for segment in segments {
            match txns.iter_mut().find(|t| t.app_id == segment.writer) {
                Some(t) => t.version = t.version.max(segment.seq),
                None => txns.push(Transaction::new(segment.writer, segment.seq)),
            }
        }
        if let Some(probe) = &self.probe {
            plan.settle(probe.as_ref());
        }
        // The rows the segment leaves: the journaled ones kept and those made from payloads.
        let all: Vec<&CatalogRow> = plan.rows.iter().copied().chain(&plan.adopted).collect();
        // A key journaled as fresh can still have a row (its payload went behind the cache's
        // back): such keys are replaced, not appended, so that the key keeps one row.
        let mut replace_keys = plan.replace_keys.clone();
        if !plan.clear {
            let journaled: HashSet<&str> = replace_keys.iter().map(String::as_str).collect();
            let fresh: Vec<&str> = all
                .iter()
                .map(|r| r.cache_key.as_str())
                .filter(|k| !journaled.contains(k))
                .collect();
            if !fresh.is_empty() {
                let held = self.held_keys(&fresh).await?;
                replace_keys.extend(held);
            }
        }
        let mut table = self.table()?.clone();
        let table_schema: Schema = table
            .snapshot()
            .map_err(delta_err(&self.label))?
            .snapshot()
            .arrow_schema()
            .as_ref()
            .clone();
        let schema = schema_for_rows(&table_schema, &all);
        let txn = || {
            CommitProperties::default()
                .with_application_transactions(txns.clone())
                .with_max_retries(COMMIT_ATTEMPTS)
        };
        if plan.clear {
            let t = self
                .write(table, &schema, &all, SaveMode::Overwrite, None, txn())
                .await?;
            self.table = Some(t);
            return Ok(());
        }
        let replace: HashSet<&str> = replace_keys.iter().map(String::as_str).collect();
        let (replacing, appending): (Vec<&CatalogRow>, Vec<&CatalogRow>) = all
            .iter()
            .copied()
            .partition(|r| replace.contains(r.cache_key.as_str()));
        let chunks: Vec<&[String]> = replace_keys.chunks(REPLACE_CHUNK).collect();
        if !plan.sweeps.is_empty() {
            // Rows of keys whose payload no row of this segment describes: only the rows that
            // describe no payload there go (the payload's own row stays, or comes later).
            let last = chunks.is_empty() && appending.is_empty();
            let props = if last {
                txn()
            } else {
                CommitProperties::default().with_max_retries(COMMIT_ATTEMPTS)
            };
            let predicate = plan
                .sweeps
                .iter()
                .map(|(key, keep)| {
                    let keep: Vec<Expr> = keep.iter().map(|h| lit(h.as_str())).collect();
                    let stale = col("cache_key").eq(lit(key.as_str()));
                    match keep.is_empty() {
                        true => stale,
                        false => stale.and(col("content_hash").in_list(keep, true)),
                    }
                })
                .reduce(Expr::or);
            table = self
                .write(table, &schema, &[], SaveMode::Overwrite, predicate, props)
                .await?;
            self.table = Some(table.clone());
        }
        for (i, keys) in chunks.iter().enumerate() {
            let in_chunk: HashSet<&str> = keys.iter().map(String::as_str).collect();
            let rows: Vec<&CatalogRow> = replacing
                .iter()
                .copied()
                .filter(|r| in_chunk.contains(r.cache_key.as_str()))
                .collect();
            let last = i + 1 == chunks.len() && appending.is_empty();
            let props = if last {
                txn()
            } else {
                CommitProperties::default().with_max_retries(COMMIT_ATTEMPTS)
            };
            let keys: Vec<Expr> = keys.iter().map(|k| lit(k.as_str())).collect();
            let predicate = col("cache_key").in_list(keys, false);
            table = self
                .write(
                    table,
                    &schema,
                    &rows,
                    SaveMode::Overwrite,
                    Some(predicate),
                    props,
                )
                .await?;
            self.table = Some(table.clone());
        }
        if !appending.is_empty() || (chunks.is_empty() && plan.sweeps.is_empty()) {
            table = self
                .write(table, &schema, &appending, SaveMode::Append, None, txn())
                .await?;
            self.table = Some(table);
        }
        self.delete_metadata(&plan.deleted).await;
        Ok(())
    }

    /// Delete the custom metadata rows of entries whose deletion was just committed. Best
    /// effort: SQL shows only rows of live entries anyway, so a failure is logged, not raised
    /// (which would replay the committed segment).
    async fn delete_metadata(&self, keys: &[String]) {
        let Some(catalog) = self.location.parent() else {
            return;
        };
        if let Err(e) = MetadataTables::new(catalog).delete_keys(keys).await {
            tracing::warn!(catalog = %self.label, "deleting metadata rows of invalidated entries: {e}");
        }
    }

    /// Of `keys`, journaled as fresh, those the committed table may hold a row for (the table
    /// reloaded first, and the keys of data files not seen before read): all of them when a
    /// data file cannot be read, which costs a replacement, never a second row.
    async fn held_keys(&mut self, keys: &[&str]) -> Result<Vec<String>> {
        self.load().await?;
        let table = self.table()?.clone();
        let files: Vec<String> = table
            .snapshot()
            .map_err(delta_err(&self.label))?
            .log_data()
            .iter()
            .map(|f| f.path().to_string())
            .collect();
        let store = table.object_store();
        for file in self.committed.retain(&files) {
            let read = async {
                let path = deltalake::Path::parse(&file).map_err(|e| e.to_string())?;
                let got = object_store::ObjectStoreExt::get(&store, &path)
                    .await
                    .map_err(|e| e.to_string())?;
                got.bytes().await.map_err(|e| e.to_string())
            };
            let added = match read.await {
                Ok(bytes) => self.committed.add(&file, bytes).map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            if let Err(e) = added {
                tracing::debug!(table = %self.label, file = %file, "keys of a data file unknown, replacing the fresh keys: {e}");
                self.committed.clear();
                return Ok(keys.iter().map(|k| k.to_string()).collect());
            }
        }
        Ok(keys
            .iter()
            .filter(|k| self.committed.may_hold(k))
            .map(|k| k.to_string())
            .collect())
    }

    /// One Delta write of catalog rows (schema merged), optionally replacing what a predicate
    /// matches.
    async fn write(
        &self,
        table: DeltaTable,
        schema: &deltalake::arrow::datatypes::SchemaRef,
        rows: &[&CatalogRow],
        mode: SaveMode,
        replace_where: Option<Expr>,
        props: CommitProperties,
    ) -> Result<DeltaTable> {
        let batch = rows_to_batch(schema, rows, &self.label)?;
        let mut builder = table
            .write(vec![batch])
            .with_schema_mode(SchemaMode::Merge)
            .with_writer_properties(writer_properties())
            .with_save_mode(mode)
            .with_commit_properties(props);
        if let Some(p) = replace_where {
            builder = builder.with_replace_where(p);
        }
        builder.await.map_err(delta_err(&self.label))
    }

    /// The table, reloaded first (a cheap clone: snapshots are shared).
    pub async fn current_table(&mut self) -> Result<DeltaTable> {
        self.load().await?;
        Ok(self.table()?.clone())
    }

    /// Every row of the current snapshot (reloaded first).
    ///
    /// When the table's data files are plain Parquet to a reader (no deletion vectors, no
    /// column mapping, no partitions: every table this crate creates, unless another engine
    /// turned those on) they are read directly with the `parquet` crate, which is a quarter
    /// of the cost of a Delta scan through DataFusion at 10,000 rows (docs/PERFORMANCE.md);
    /// otherwise the Delta scan reads them.
    pub async fn rows(&mut self, projection: Projection) -> Result<Vec<CatalogRow>> {
        self.load().await?;
        if let Some(files) = self.plain_parquet_files()? {
            match read_parquet_rows(&files, projection, &self.label) {
                Ok(rows) => return Ok(rows),
                Err(e) => {
                    tracing::debug!(table = %self.label, "direct read failed, scanning: {e}")
                }
            }
        }
        self.scan_rows(projection).await
    }

    /// Every row of the loaded snapshot, read through the Delta scan (DataFusion), whatever
    /// the table's features. [`Self::rows`] uses it when the files are not plain Parquet.
    pub async fn scan_rows(&self, projection: Projection) -> Result<Vec<CatalogRow>> {
        let table = self.table()?.clone();
        // A catalog created before a nullable fixed column existed lacks it until its next
        // commit; `batch_to_rows` reads such a column as empty.
        let present = table
            .snapshot()
            .map_err(delta_err(&self.label))?
            .snapshot()
            .arrow_schema();
        let columns = projection
            .columns()
            .iter()
            .copied()
            .filter(|c| present.field_with_name(c).is_ok());
        let (_, mut stream) = table
            .scan_table()
            .with_columns(columns)
            .await
            .map_err(delta_err(&self.label))?;
        let mut rows = Vec::new();
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(|e| CatalogError::Delta {
                table: self.label.clone(),
                source: Box::new(e.into()),
            })?;
            rows.extend(batch_to_rows(&batch, projection, &self.label)?);
        }
        Ok(rows)
    }

    /// The snapshot's data files, if plain Parquet reads of them give the table's rows.
    fn plain_parquet_files(&self) -> Result<Option<Vec<PathBuf>>> {
        let Some(dir) = self.location.local_dir() else {
            return Ok(None); // on an object store the Delta scan reads them
        };
        let table = self.table()?;
        let snapshot = table.snapshot().map_err(delta_err(&self.label))?;
        let metadata = snapshot.metadata();
        let mapped = metadata
            .configuration()
            .get("delta.columnMapping.mode")
            .is_some_and(|m| m != "none");
        if mapped || !metadata.partition_columns().is_empty() {
            return Ok(None);
        }
        let mut files = Vec::new();
        for file in snapshot.log_data().iter() {
            if file.deletion_vector_descriptor().is_some() {
                return Ok(None);
            }
            let path = file.path();
            if path.contains("://") || path.starts_with('/') {
                return Ok(None); // absolute paths (shallow clones): leave them to the scan
            }
            files.push(dir.join(path.as_ref()));
        }
        Ok(Some(files))
    }

    /// Number of live data files (what compaction keeps bounded).
    pub fn file_count(&self) -> usize {
        self.table
            .as_ref()
            .and_then(|t| t.snapshot().ok())
            .map(|s| s.log_data().num_files())
            .unwrap_or(0)
    }

    /// One maintenance pass ([`crate::maintenance`]): compact (always with `force`, else when
    /// there are many data files), vacuum data files removed longer than `retention` ago,
    /// checkpoint, delete log files older than `retention` that the checkpoint makes unneeded,
    /// and reload the table. Skipped if another process holds the maintenance lock.
    pub async fn maintain(
        &mut self,
        retention: Duration,
        force: bool,
    ) -> Result<MaintenanceReport> {
        let lock_dir = match &self.lock_dir {
            Some(d) => d.clone(),
            None => {
                return Err(CatalogError::Location {
                    location: self.label.clone(),
                    message: "no local directory to hold the maintenance lock in".into(),
                });
            }
        };
        let Some(_lock) = MaintenanceLock::try_acquire(&lock_dir)? else {
            return Ok(MaintenanceReport {
                skipped: true,
                ..Default::default()
            });
        };
        self.load().await?;
        let label = self.label.clone();
        let err = delta_err(&label);
        let mut report = MaintenanceReport {
            compacted: self
                .compact_beyond(if force { 1 } else { COMPACT_FILES })
                .await?,
            ..Default::default()
        };
        // Vacuum before the log cleanup: the loaded snapshot may still need log files that
        // the cleanup deletes (it is reloaded afterwards).
        let (table, metrics) = self
            .table()?
            .clone()
            .vacuum()
            .with_retention_period(
                chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX),
            )
            .with_enforce_retention_duration(false)
            .await
            .map_err(&err)?;
        report.files_vacuumed = metrics.files_deleted.len();
        let version = table.version().unwrap_or(0);
        deltalake::checkpoints::create_checkpoint(&table, None)
            .await
            .map_err(&err)?;
        report.checkpoint_version = Some(version);
        let retention_ms = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
        let cutoff = chrono::Utc::now()
            .timestamp_millis()
            .saturating_sub(retention_ms);
        report.logs_removed = deltalake::checkpoints::cleanup_expired_logs_for(
            version,
            table.log_store().as_ref(),
            cutoff,
            None,
        )
        .await
        .map_err(&err)?;
        self.table = None;
        self.load().await?;
        report.data_files = self.file_count();
        Ok(report)
    }

    /// Rewrite small data files into larger ones when there are many.
    pub async fn maybe_compact(&mut self) -> Result<bool> {
        self.compact_beyond(COMPACT_FILES).await
    }

    /// Compact the data files if there are more than `files`; true if it did.
    async fn compact_beyond(&mut self, files: usize) -> Result<bool> {
        if self.file_count() <= files {
            return Ok(false);
        }
        // One compaction at a time across processes and hosts. delta-rs lets two compactions
        // that removed the same files both commit (their removes are `dataChange: false`),
        // and the second then re-adds rows the first already rewrote, duplicating them:
        // measured with two hosts on S3, 5,588 rows for 1,000 entries. Hence this guard: a
        // lock file on disk, a lease object on an object store.
        let Some(lease_dir) = self.location.parent() else {
            return Ok(false);
        };
        let Some(guard) =
            cacheness_storage::lease::try_acquire(&lease_dir, COMPACTION_LEASE, COMPACTION_TTL)
                .await?
        else {
            tracing::debug!(table = %self.label, "another process is compacting");
            return Ok(false);
        };
        let done = self.compact_guarded(files).await;
        guard.release().await;
        done
    }

    /// [`Self::compact_beyond`] with the compaction guard held.
    async fn compact_guarded(&mut self, files: usize) -> Result<bool> {
        let mut last_error = String::new();
        let mut attempts = Attempts::new(COMPACT_ATTEMPTS);
        while let Some(attempt) = attempts.next().await {
            // Another process may have compacted before the guard was ours, or meanwhile.
            self.load().await?;
            if self.file_count() <= files {
                return Ok(false);
            }
            let table = self.table()?.clone();
            match table.optimize().await {
                Ok((table, _metrics)) => {
                    self.table = Some(table);
                    return Ok(true);
                }
                Err(e) => {
                    tracing::debug!(table = %self.label, attempt, "compaction lost a race: {e}");
                    last_error = e.to_string();
                }
            }
        }
        tracing::info!(table = %self.label, "compaction deferred: {last_error}");
        Ok(false)
    }
}

/// What one commit writes: the surviving rows, and the keys whose old rows must go.
struct BatchPlan<'a> {
    rows: Vec<&'a CatalogRow>,
    replace_keys: Vec<String>,
    /// Keys whose last operation in the segment deletes the entry.
    deleted: Vec<String>,
    /// The segment cleared the catalog: everything committed before goes.
    clear: bool,
    /// The keys the segment touches, in order.
    touched: Vec<Touched<'a>>,
    /// Keys whose rows go unless they describe one of these content hashes: keys with a
    /// payload that no row of the segment describes ([`BatchPlan::settle`]).
    sweeps: Vec<(String, Vec<String>)>,
    /// Rows made from payloads that no journaled row describes, replacing their keys' rows.
    adopted: Vec<CatalogRow>,
}

/// What a segment did to one key.
struct Touched<'a> {
    key: &'a str,
    /// Its last operation, when that puts a row: the key's row by the journal's order
    /// (`None`: its last operation deletes the entry).
    last_row: Option<&'a CatalogRow>,
    /// An operation on it deleted or replaced: its committed rows must go.
    replaces: bool,
    /// Every row put for it, in order.
    puts: Vec<&'a CatalogRow>,
}

impl BatchPlan<'_> {
    /// Decide each touched key by its payload now (`probe`), whatever order its puts were
    /// journaled in: the last row put for it that describes its payload is its row (added,
    /// or replacing its older rows if anything in the segment replaced or deleted); with no
    /// payload, its rows go; with a payload no row of the segment describes, only its rows
    /// that describe no payload go. A key whose payloads cannot be told keeps the plan made
    /// from the journal order.
    fn settle(&mut self, probe: &dyn PayloadProbe) {
        let keys: Vec<&str> = self.touched.iter().map(|t| t.key).collect();
        let found = probe.payloads_of(&keys);
        let mut rows = Vec::new();
        let mut replace_keys = Vec::new();
        let mut sweeps = Vec::new();
        for (touched, disk) in self.touched.iter().zip(found) {
            let key = touched.key;
            let Some(disk) = disk else {
                rows.extend(touched.last_row);
                if touched.replaces {
                    replace_keys.push(key.to_string());
                }
                continue;
            };
            let described = touched
                .puts
                .iter()
                .rev()
                .find(|r| disk.iter().any(|d| d.is_described_by(r)));
            match described {
                _ if disk.is_empty() => {
                    tracing::debug!(key = %key, "no payload when its rows were committed");
                    replace_keys.push(key.to_string());
                }
                Some(row) => {
                    rows.push(*row);
                    if touched.replaces {
                        replace_keys.push(key.to_string());
                    }
                }
                None => {
                    // Its row is in the table, or in a segment still to come, or nowhere (a
                    // put killed between placing its payload and journaling its row): made
                    // from the payload itself it is right in all three cases.
                    let adopted = match disk.as_slice() {
                        [one] => probe.row_of(key, one),
                        _ => None,
                    };
                    match adopted {
                        Some(row) => {
                            tracing::debug!(key = %key, "its row is made from its payload");
                            self.adopted.push(row);
                            replace_keys.push(key.to_string());
                        }
                        None => {
                            let keep = disk.iter().map(|d| d.content_hash.clone()).collect();
                            sweeps.push((key.to_string(), keep));
                        }
                    }
                }
            }
        }
        self.rows = rows;
        self.replace_keys = replace_keys;
        self.sweeps = sweeps;
    }
}

/// Collapse a segment's operations to the last one per key. A key needs its old rows removed
/// when any operation on it in the segment was a delete or a replacing put. A clear drops what
/// came before it in the segment and turns the commit into an overwrite of the whole table.
fn plan_batch<'a>(ops: impl IntoIterator<Item = &'a CatalogOp>) -> BatchPlan<'a> {
    // One map lookup per operation: commits of thousands of rows plan in a millisecond.
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut touched: Vec<Touched<'a>> = Vec::new();
    let mut clear = false;
    for op in ops {
        let Some(key) = op.cache_key() else {
            index.clear();
            touched.clear();
            clear = true;
            continue;
        };
        let i = *index.entry(key).or_insert_with(|| {
            touched.push(Touched {
                key,
                last_row: None,
                replaces: false,
                puts: Vec::new(),
            });
            touched.len() - 1
        });
        let t = &mut touched[i];
        match op {
            CatalogOp::Put { row, replaces } => {
                t.last_row = Some(row.as_ref());
                t.replaces |= *replaces;
                t.puts.push(row);
            }
            CatalogOp::Delete { .. } => {
                t.last_row = None;
                t.replaces = true;
            }
            CatalogOp::Clear => {}
        }
    }
    BatchPlan {
        rows: touched.iter().filter_map(|t| t.last_row).collect(),
        replace_keys: touched
            .iter()
            .filter(|t| t.replaces)
            .map(|t| t.key.to_string())
            .collect(),
        deleted: touched
            .iter()
            .filter(|t| t.last_row.is_none())
            .map(|t| t.key.to_string())
            .collect(),
        clear,
        touched,
        sweeps: Vec::new(),
        adopted: Vec::new(),
    }
}

/// Read the projected columns of plain Parquet data files into rows.
fn read_parquet_rows(
    files: &[PathBuf],
    projection: Projection,
    table: &str,
) -> Result<Vec<CatalogRow>> {
    use deltalake::parquet::arrow::ProjectionMask;
    use deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let err = |file: &Path, message: String| CatalogError::DataFile {
        file: file.to_path_buf(),
        message,
    };
    let mut rows = Vec::new();
    for file in files {
        let f = std::fs::File::open(file).map_err(|e| err(file, e.to_string()))?;
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| err(file, e.to_string()))?;
        let mask = ProjectionMask::columns(
            builder.parquet_schema(),
            projection.columns().iter().copied(),
        );
        let reader = builder
            .with_projection(mask)
            .build()
            .map_err(|e| err(file, e.to_string()))?;
        for batch in reader {
            let batch = batch.map_err(|e| err(file, e.to_string()))?;
            rows.extend(batch_to_rows(&batch, projection, table)?);
        }
    }
    Ok(rows)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::row::PayloadOnDisk;

    /// The writer whose segments no commit takes (in this crate's tests): a segment that
    /// fails whatever commit holds it.
    pub(crate) const REFUSED: &str = "hrefused";

    /// A row of key `k` (for tests elsewhere in the crate too).
    pub(crate) fn row(k: &str) -> Box<CatalogRow> {
        Box::new(CatalogRow {
            cache_key: k.into(),
            data_type: "object".into(),
            format: "cnobj".into(),
            path: format!("blobs/{k}.cnobj"),
            raw_bytes: 1,
            stored_bytes: 1,
            content_hash: "0".repeat(32),
            created_at: 0,
            expires_at: None,
            description: None,
            params_json: "{}".into(),
            params: vec![],
            name: None,
            signature: None,
        })
    }

    #[test]
    fn plan_keeps_last_op_and_marks_replacements() {
        let ops = vec![
            CatalogOp::Put {
                row: row("a"),
                replaces: false,
            },
            CatalogOp::Put {
                row: row("b"),
                replaces: false,
            },
            CatalogOp::Delete {
                cache_key: "a".into(),
            },
            CatalogOp::Put {
                row: row("c"),
                replaces: true,
            },
            CatalogOp::Delete {
                cache_key: "d".into(),
            },
            CatalogOp::Put {
                row: row("d"),
                replaces: false,
            },
        ];
        let plan = plan_batch(&ops);
        let keys: Vec<&str> = plan.rows.iter().map(|r| r.cache_key.as_str()).collect();
        assert_eq!(keys, vec!["b", "c", "d"]);
        assert_eq!(plan.replace_keys, vec!["a", "c", "d"]);
        assert!(!plan.clear);
        let ops = vec![
            CatalogOp::Put {
                row: row("a"),
                replaces: false,
            },
            CatalogOp::Clear,
            CatalogOp::Put {
                row: row("b"),
                replaces: false,
            },
        ];
        let plan = plan_batch(&ops);
        assert!(plan.clear);
        assert_eq!(plan.rows.len(), 1);
        assert!(plan.replace_keys.is_empty());
    }

    /// Payloads "on disk" for the plan to settle against.
    #[derive(Debug)]
    struct Disk(HashMap<String, Vec<PayloadOnDisk>>);

    impl PayloadProbe for Disk {
        fn payloads(&self, key: &str) -> Option<Vec<PayloadOnDisk>> {
            if key == "unknown" {
                return None;
            }
            Some(self.0.get(key).cloned().unwrap_or_default())
        }

        fn row_of(&self, key: &str, payload: &PayloadOnDisk) -> Option<CatalogRow> {
            // "adopt" holds a payload that checks out; "lost" one that does not.
            let mut row = hashed(key, payload.content_hash.chars().next()?);
            row.description = Some("made from the payload".into());
            (key == "adopt").then_some(*row)
        }
    }

    fn hashed(k: &str, hash: char) -> Box<CatalogRow> {
        let mut r = row(k);
        r.content_hash = hash.to_string().repeat(32);
        r
    }

    fn on_disk(hash: char) -> Vec<PayloadOnDisk> {
        vec![PayloadOnDisk {
            format: "cnobj".into(),
            content_hash: hash.to_string().repeat(32),
        }]
    }

    #[test]
    fn each_key_keeps_the_row_of_its_payload_whatever_the_journal_order() {
        let put = |k: &str, h: char, replaces: bool| CatalogOp::Put {
            row: hashed(k, h),
            replaces,
        };
        let ops = vec![
            // Two racing puts: the payload of the first landed last.
            put("race", '1', false),
            put("race", '2', true),
            // A payload gone before its row was committed.
            put("gone", '1', true),
            // A put that lost to a payload whose row is in another segment.
            put("lost", '3', true),
            // A fresh key: appended, as journaled.
            put("fresh", '4', false),
            // Payloads that cannot be told: the journal's plan.
            put("unknown", '5', true),
            // A put killed between placing its payload and journaling its row.
            put("adopt", '6', false),
        ];
        let disk = Disk(HashMap::from([
            ("race".to_string(), on_disk('1')),
            ("lost".to_string(), on_disk('9')),
            ("fresh".to_string(), on_disk('4')),
            ("adopt".to_string(), on_disk('7')),
        ]));
        let mut plan = plan_batch(&ops);
        plan.settle(&disk);
        let rows: Vec<(&str, &str)> = plan
            .rows
            .iter()
            .map(|r| (r.cache_key.as_str(), &r.content_hash[..1]))
            .collect();
        assert_eq!(rows, vec![("race", "1"), ("fresh", "4"), ("unknown", "5")]);
        assert_eq!(plan.replace_keys, vec!["race", "gone", "unknown", "adopt"]);
        assert_eq!(plan.adopted.len(), 1);
        assert_eq!(plan.adopted[0].content_hash, "7".repeat(32));
        assert_eq!(
            plan.sweeps,
            vec![("lost".to_string(), vec!["9".repeat(32)])],
            "only rows that describe no payload of the key go"
        );
    }

    #[tokio::test]
    async fn a_segment_that_clears_keeps_the_rows_made_from_payloads() {
        let dir = tempfile::tempdir().unwrap();
        let mut d = DeltaCatalog::open(&dir.path().join("t")).await.unwrap();
        let disk = Disk(HashMap::from([("adopt".to_string(), on_disk('7'))]));
        d.match_payloads_with(Arc::new(disk));
        let ops = vec![
            CatalogOp::Clear,
            CatalogOp::Put {
                row: hashed("adopt", '6'),
                replaces: false,
            },
        ];
        d.commit(&ops, "w", 0).await.unwrap();
        let rows = d.scan_rows(Projection::Full).await.unwrap();
        let hashes: Vec<&str> = rows.iter().map(|r| &r.content_hash[..1]).collect();
        assert_eq!(hashes, vec!["7"], "the row made from the payload there");
    }

    #[tokio::test]
    async fn direct_read_matches_the_delta_scan() {
        let dir = tempfile::tempdir().unwrap();
        let mut d = DeltaCatalog::open(&dir.path().join("t")).await.unwrap();
        let sized = |k: String, n: i64| {
            let mut r = row(&k);
            r.stored_bytes = n;
            r.raw_bytes = 2 * n;
            r.created_at = n;
            r.path = format!("blobs/{k}");
            r
        };
        let commit = |seg: i64, edits: bool| {
            let mut ops: Vec<CatalogOp> = (0..5)
                .map(|i| CatalogOp::Put {
                    row: sized(format!("k{}", seg * 5 + i), seg * 5 + i),
                    replaces: false,
                })
                .collect();
            if edits {
                ops.push(CatalogOp::Put {
                    row: sized(format!("k{}", seg - 1), 1000 + seg),
                    replaces: true,
                });
                ops.push(CatalogOp::Delete {
                    cache_key: format!("k{}", seg * 5 - 2),
                });
            }
            ops
        };
        // Enough appends for a checkpoint and a compaction, then replacements and deletes.
        for seg in 0..20i64 {
            d.commit(&commit(seg, false), "w", seg).await.unwrap();
        }
        assert!(
            d.maybe_compact().await.unwrap(),
            "the test wants a compacted table"
        );
        for seg in 20..24i64 {
            d.commit(&commit(seg, true), "w", seg).await.unwrap();
        }
        d.load().await.unwrap();
        assert!(d.plain_parquet_files().unwrap().is_some());
        let by_key = |mut rows: Vec<CatalogRow>| {
            rows.sort_by(|a, b| a.cache_key.cmp(&b.cache_key));
            rows
        };
        let direct = by_key(d.rows(Projection::Full).await.unwrap());
        let scanned = by_key(d.scan_rows(Projection::Full).await.unwrap());
        assert_eq!(direct.len(), 120 - 4);
        assert_eq!(direct, scanned);
        let replaced = direct.iter().find(|r| r.cache_key == "k19").unwrap();
        assert_eq!(replaced.stored_bytes, 1020);
        assert!(!direct.iter().any(|r| r.cache_key == "k98"));
        let sizes = by_key(d.rows(Projection::Sizes).await.unwrap());
        assert_eq!(sizes.len(), direct.len());
        for (s, f) in sizes.iter().zip(&direct) {
            assert_eq!(
                (
                    &s.cache_key,
                    s.stored_bytes,
                    s.raw_bytes,
                    s.created_at,
                    s.expires_at
                ),
                (
                    &f.cache_key,
                    f.stored_bytes,
                    f.raw_bytes,
                    f.created_at,
                    f.expires_at
                )
            );
            assert!(s.path.is_empty() && s.params_json.is_empty());
        }
    }
}
