//! Cached Arrow tables as SQL tables: `cached_table(...)` and the provider over a payload.
//!
//! The store finds and checks payloads (content hash, key, expiry: the same checks as a get;
//! [`Payloads`]); this module turns a checked Parquet payload into a table. The checked
//! bytes are held in memory for the statement, so the table is exactly the file that passed
//! the checks even if the entry is replaced meanwhile; each scan decodes only the projected
//! columns.
//!
//! Filters skip the row groups whose statistics rule them out (they are still applied to
//! every row read), and a `LIMIT` without filters reads only the first row groups it needs.
//!
//! A large payload on an object store comes in parts ([`RangedPayload`]): a scan fetches only
//! the column chunks it reads (the projected columns of the row groups it reads), each part
//! checked against the payload's signed tree before the
//! decoder sees it. Parts fetched stay for the statement; an entry replaced meanwhile makes the
//! fetch fail rather than mix two versions.

use std::ops::Range;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use deltalake::arrow::array::{RecordBatch, RecordBatchOptions};
use deltalake::arrow::datatypes::SchemaRef;
use deltalake::datafusion::catalog::TableFunctionArgs;
use deltalake::datafusion::catalog::{Session, TableFunctionImpl, TableProvider};
use deltalake::datafusion::common::DFSchema;
use deltalake::datafusion::common::{ScalarValue, plan_err};
use deltalake::datafusion::datasource::memory::MemorySourceConfig;
use deltalake::datafusion::datasource::physical_plan::parquet::{
    ParquetAccessPlan, ParquetFileMetrics, RowGroupAccessPlanFilter,
};
use deltalake::datafusion::error::{DataFusionError, Result as DfResult};
use deltalake::datafusion::logical_expr::utils::conjunction;
use deltalake::datafusion::logical_expr::{TableProviderFilterPushDown, TableType};
use deltalake::datafusion::physical_optimizer::pruning::{
    PruningPredicate, PruningPredicateBuilder,
};
use deltalake::datafusion::physical_plan::ExecutionPlan;
use deltalake::datafusion::prelude::Expr;
use deltalake::parquet::arrow::ProjectionMask;
use deltalake::parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ParquetRecordBatchReaderBuilder,
};
use deltalake::parquet::errors::{ParquetError, Result as ParquetResult};
use deltalake::parquet::file::reader::{ChunkReader, Length};

use cacheness_store::ranged::RangedPayload;

use crate::args;
use crate::store_payloads::Payloads;

/// The table function's name in SQL.
pub const FUNCTION: &str = "cached_table";
/// The catalog's `data_type` of entries that hold Arrow tables.
pub const ARROW_TABLE: &str = "arrow_table";

/// How a statement names a cached table.
#[derive(Debug, Clone, PartialEq)]
pub enum TableLookup {
    /// By cache key (16 hex digits).
    Key(String),
    /// By key parameters, as SQL values (`'xgboost'`, `10`, `0.5`, `true`, dates, timestamps).
    Params(Vec<(String, ScalarValue)>),
}

impl std::fmt::Display for TableLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TableLookup::Key(k) => write!(f, "key {k}"),
            TableLookup::Params(p) => {
                let parts: Vec<String> = p.iter().map(|(n, v)| format!("{n}={v}")).collect();
                write!(f, "parameters {}", parts.join(", "))
            }
        }
    }
}

/// A checked Parquet payload of an `arrow_table` entry.
#[derive(Debug, Clone)]
pub struct TablePayload {
    /// The entry's key.
    pub key: String,
    /// The payload file: whole, or read in checked parts.
    pub bytes: PayloadBytes,
}

/// A payload's bytes as the Parquet reader sees them.
#[derive(Debug, Clone)]
pub enum PayloadBytes {
    /// The whole file, checked.
    Whole(Bytes),
    /// The file read in checked parts.
    Parts(Arc<RangedPayload>),
}

impl Length for PayloadBytes {
    fn len(&self) -> u64 {
        match self {
            PayloadBytes::Whole(b) => b.len() as u64,
            PayloadBytes::Parts(p) => p.len(),
        }
    }
}

impl ChunkReader for PayloadBytes {
    type T = PayloadRead;

    fn get_read(&self, start: u64) -> ParquetResult<PayloadRead> {
        Ok(match self {
            PayloadBytes::Whole(b) => {
                let start = (start as usize).min(b.len());
                PayloadRead::Whole(b.slice(start..).reader())
            }
            PayloadBytes::Parts(p) => PayloadRead::Parts {
                parts: p.clone(),
                pos: start,
                held: Bytes::new(),
            },
        })
    }

    fn get_bytes(&self, start: u64, length: usize) -> ParquetResult<Bytes> {
        match self {
            PayloadBytes::Whole(b) => b.get_bytes(start, length),
            PayloadBytes::Parts(p) => p
                .read(start..start + length as u64)
                .map_err(|m| ParquetError::External(m.into())),
        }
    }
}

/// A streaming read of a payload from some position.
pub enum PayloadRead {
    /// Of a whole file.
    Whole(bytes::buf::Reader<Bytes>),
    /// Of a file in parts: one part is held at a time.
    Parts {
        /// The parts.
        parts: Arc<RangedPayload>,
        /// The file position after `held`.
        pos: u64,
        /// Checked bytes not yet read.
        held: Bytes,
    },
}

impl std::io::Read for PayloadRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            PayloadRead::Whole(r) => r.read(buf),
            PayloadRead::Parts { parts, pos, held } => {
                if held.is_empty() {
                    if *pos >= parts.len() {
                        return Ok(0);
                    }
                    *held = parts.read_at(*pos).map_err(std::io::Error::other)?;
                    *pos += held.len() as u64;
                }
                let n = buf.len().min(held.len());
                buf[..n].copy_from_slice(&held.split_to(n));
                Ok(n)
            }
        }
    }
}

/// A cached table as a DataFusion table: the checked payload, decoded per scan.
#[derive(Debug)]
pub struct PayloadTable {
    payload: TablePayload,
    /// The parsed footer and Arrow schema, read once and reused by every scan.
    metadata: ArrowReaderMetadata,
}

impl PayloadTable {
    /// Read the payload's footer and schema (its embedded Arrow schema).
    pub fn new(payload: TablePayload) -> DfResult<Self> {
        let metadata = unpanicked(&payload.key, || {
            ArrowReaderMetadata::load(&payload.bytes, Default::default())
                .map_err(|e| decode_error(&payload.key, e))
        })?;
        Ok(PayloadTable { payload, metadata })
    }
}

/// Run a decoding step, turning a panic of the `parquet`/`arrow-ipc` readers (possible on
/// malformed input that still has a valid content hash) into an error naming the entry.
fn unpanicked<T>(key: &str, f: impl FnOnce() -> DfResult<T>) -> DfResult<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(decode_error(key, "the Parquet decoder failed on it")))
}

fn decode_error(key: &str, e: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("cached table {key}: cannot read its payload: {e}"))
}

#[async_trait::async_trait]
impl TableProvider for PayloadTable {
    fn schema(&self) -> SchemaRef {
        self.metadata.schema().clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// Filters prune row groups by their statistics; DataFusion still applies them to the rows.
    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        // Statistics and decoding both parse what the file says: a panic of either (possible
        // on malformed input that still has a valid signature) is an error naming the entry.
        unpanicked(&self.payload.key, || {
            let groups = self.row_groups(state, filters, limit);
            self.decode(projection, &groups, limit)
        })
    }
}

impl PayloadTable {
    /// The row groups a scan reads: those whose statistics (min, max, null count) do not rule
    /// out `filters`, and of those only the first ones that hold `limit` rows.
    fn row_groups(
        &self,
        state: &dyn Session,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Vec<usize> {
        let meta = self.metadata.metadata();
        let groups = meta.row_groups();
        let mut kept = RowGroupAccessPlanFilter::new(ParquetAccessPlan::new_all(groups.len()));
        if let Some(predicate) =
            conjunction(filters.iter().cloned()).and_then(|e| self.pruning_predicate(state, e))
        {
            let metrics = ParquetFileMetrics::new(0, &self.payload.key, &Default::default());
            let schema = self.schema();
            let parquet = meta.file_metadata().schema_descr();
            kept.prune_by_statistics(&schema, parquet, groups, &predicate, &metrics);
        }
        let mut rows = 0usize;
        let mut out = Vec::with_capacity(groups.len());
        for i in kept.build().row_group_indexes() {
            if limit.is_some_and(|n| rows >= n) {
                break;
            }
            out.push(i);
            let n = groups.get(i).map_or(0, |g| g.num_rows());
            rows = rows.saturating_add(usize::try_from(n).unwrap_or(usize::MAX));
        }
        out
    }

    /// The statistics test of a filter; `None` if DataFusion cannot plan one (then nothing is
    /// pruned: the filter is still applied to every row).
    fn pruning_predicate(&self, state: &dyn Session, filter: Expr) -> Option<PruningPredicate> {
        let df_schema = DFSchema::try_from(self.schema()).ok()?;
        let physical = state.create_physical_expr(filter, &df_schema).ok()?;
        PruningPredicateBuilder::new()
            .with_file_schema(self.schema())
            .try_build(physical)
            .ok()
    }

    /// The file ranges of the column chunks of `groups` that `projection` (top-level column
    /// indices; `None`: all) reads.
    fn column_chunks(&self, groups: &[usize], projection: Option<&Vec<usize>>) -> Vec<Range<u64>> {
        let meta = self.metadata.metadata();
        let schema = meta.file_metadata().schema_descr();
        let row_groups = meta.row_groups();
        groups
            .iter()
            .filter_map(|g| row_groups.get(*g))
            .flat_map(|g| g.columns().iter().enumerate())
            .filter(|(leaf, _)| {
                projection.is_none_or(|p| p.contains(&schema.get_column_root_idx(*leaf)))
            })
            .map(|(_, c)| {
                let (start, len) = c.byte_range();
                start..start + len
            })
            .collect()
    }

    /// The rows of the projected columns (at most `limit`), as an in-memory plan.
    fn decode(
        &self,
        projection: Option<&Vec<usize>>,
        groups: &[usize],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let key = &self.payload.key;
        if projection.is_some_and(|p| p.is_empty()) {
            // Only the row count is needed (`count(*)`, a join that uses no column of this
            // side): the footer has it, and the Parquet reader cannot make column-less batches.
            let rows: i64 = self
                .metadata
                .metadata()
                .row_groups()
                .iter()
                .map(|g| g.num_rows())
                .sum();
            let rows = usize::try_from(rows).map_err(|e| decode_error(key, e))?;
            let rows = limit.map_or(rows, |n| n.min(rows));
            let schema = Arc::new(self.schema().project(&[])?);
            let batch = RecordBatch::try_new_with_options(
                schema.clone(),
                Vec::new(),
                &RecordBatchOptions::new().with_row_count(Some(rows)),
            )?;
            return Ok(MemorySourceConfig::try_new_exec(
                &[vec![batch]],
                schema,
                None,
            )?);
        }
        let mut builder = ParquetRecordBatchReaderBuilder::new_with_metadata(
            self.payload.bytes.clone(),
            self.metadata.clone(),
        );
        let schema = match projection {
            Some(p) => {
                let mask = ProjectionMask::roots(builder.parquet_schema(), p.iter().copied());
                builder = builder.with_projection(mask);
                Arc::new(self.schema().project(p)?)
            }
            None => self.schema(),
        };
        if let Some(n) = limit {
            builder = builder.with_limit(n);
        }
        if let PayloadBytes::Parts(parts) = &self.payload.bytes {
            parts
                .prefetch(&self.column_chunks(groups, projection))
                .map_err(|e| decode_error(key, e))?;
        }
        builder = builder.with_row_groups(groups.to_vec());
        let batches: Vec<RecordBatch> = builder
            .build()
            .map_err(|e| decode_error(key, e))?
            .collect::<Result<_, _>>()
            .map_err(|e| decode_error(key, e))?;
        Ok(MemorySourceConfig::try_new_exec(&[batches], schema, None)?)
    }
}

/// `cached_table(key)` or `cached_table('name', value, 'name', value, ...)`.
#[derive(Debug)]
pub struct CachedTableFunction {
    payloads: Payloads,
}

impl CachedTableFunction {
    /// The function over a cache's payloads.
    pub fn new(payloads: Payloads) -> Self {
        CachedTableFunction { payloads }
    }

    fn lookup(args: &TableFunctionArgs) -> DfResult<TableLookup> {
        let values: Vec<ScalarValue> = args
            .exprs()
            .iter()
            .enumerate()
            .map(|(i, e)| args::constant(FUNCTION, i + 1, e, args.session()))
            .collect::<DfResult<_>>()?;
        match values.as_slice() {
            [key] => match args::text(key) {
                Some(k) => Ok(TableLookup::Key(k.to_string())),
                None => plan_err!(
                    "{FUNCTION}: a single argument is a cache key (a string of 16 hex digits), not {key}"
                ),
            },
            pairs if !pairs.is_empty() && pairs.len() % 2 == 0 => {
                let mut params = Vec::with_capacity(pairs.len() / 2);
                for (i, pair) in pairs.chunks(2).enumerate() {
                    let Some(name) = args::text(&pair[0]) else {
                        return plan_err!(
                            "{FUNCTION}: argument {} must be a parameter name (a string), not {}",
                            2 * i + 1,
                            pair[0]
                        );
                    };
                    params.push((name.to_string(), pair[1].clone()));
                }
                Ok(TableLookup::Params(params))
            }
            _ => plan_err!(
                "{FUNCTION} takes a cache key, or parameter names and values in pairs: \
                 cached_table('3f2a9c0d1e2b4a5f') or cached_table('model', 'xgboost', 'epochs', 10)"
            ),
        }
    }
}

impl TableFunctionImpl for CachedTableFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> DfResult<Arc<dyn TableProvider>> {
        let lookup = Self::lookup(&args)?;
        match self.payloads.table(&lookup) {
            Ok(Some(payload)) => Ok(Arc::new(PayloadTable::new(payload)?)),
            Ok(None) => plan_err!("{FUNCTION}: no cached entry with {lookup}"),
            Err(e) => plan_err!("{FUNCTION}: {e}"),
        }
    }
}
