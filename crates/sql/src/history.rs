//! The catalog's history: `cache_history` (one row per Delta version) and
//! `cache_entries_at(version | timestamp)` (the catalog as it was then).
//!
//! The history is read from the Delta log itself (`_delta_log/<version>.json`, through the
//! table's object store): each commit's time, operation and parameters, the data files it added
//! and removed, and row counts from the files' statistics. Both tables are read when a statement
//! scans them, not when the session is built.

use std::collections::HashMap;
use std::sync::Arc;

use deltalake::DeltaTable;
use deltalake::arrow::array::{
    ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use deltalake::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use deltalake::datafusion::catalog::{
    Session, TableFunctionArgs, TableFunctionImpl, TableProvider,
};
use deltalake::datafusion::common::{ScalarValue, plan_err};
use deltalake::datafusion::datasource::memory::MemorySourceConfig;
use deltalake::datafusion::error::{DataFusionError, Result as DfResult};
use deltalake::datafusion::execution::context::SessionState;
use deltalake::datafusion::logical_expr::{TableProviderFilterPushDown, TableType};
use deltalake::datafusion::object_store::ObjectStoreExt;
use deltalake::datafusion::physical_plan::ExecutionPlan;
use deltalake::datafusion::prelude::{Expr, SessionContext, lit};
use futures::TryStreamExt;

use crate::args;
use crate::entries::{self, InexactFilters};

/// The history table's name in SQL.
pub const HISTORY: &str = "cache_history";
/// The time-travel table function's name in SQL.
pub const AT_FUNCTION: &str = "cache_entries_at";

/// One Delta version of the catalog, from its log entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    /// The version number.
    pub version: i64,
    /// Commit time: µs since the Unix epoch, UTC.
    pub timestamp: i64,
    /// The Delta operation (`WRITE`, `DELETE`, `OPTIMIZE`, `CREATE TABLE`, ...).
    pub operation: Option<String>,
    /// The operation's parameters as JSON text (mode, predicate, ...).
    pub parameters: Option<String>,
    /// Data files the version added.
    pub files_added: i64,
    /// Data files the version removed.
    pub files_removed: i64,
    /// Rows in the added files.
    pub rows_added: i64,
    /// Rows in the removed files; `None` when a removed file was added before the oldest log
    /// entry still kept.
    pub rows_removed: Option<i64>,
    /// Rows in the table after this version; `None` when earlier log entries are gone.
    pub rows: Option<i64>,
}

fn schema() -> SchemaRef {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("version", DataType::Int64, false),
        Field::new("timestamp", ts, false),
        Field::new("operation", DataType::Utf8, true),
        Field::new("parameters", DataType::Utf8, true),
        Field::new("files_added", DataType::Int64, false),
        Field::new("files_removed", DataType::Int64, false),
        Field::new("rows_added", DataType::Int64, false),
        Field::new("rows_removed", DataType::Int64, true),
        Field::new("rows", DataType::Int64, true),
    ]))
}

fn log_error(e: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!(
        "{HISTORY}: cannot read the catalog's Delta log: {e}"
    ))
}

/// The version number of a commit file name (`00000000000000000012.json`).
fn commit_version(name: &str) -> Option<i64> {
    let digits = name.strip_suffix(".json")?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

fn num_records(add: &serde_json::Value) -> Option<i64> {
    let stats = add.get("stats")?.as_str()?;
    serde_json::from_str::<serde_json::Value>(stats)
        .ok()?
        .get("numRecords")?
        .as_i64()
}

/// Every version of the table whose commit file is still in the log, oldest first.
pub async fn versions(table: &DeltaTable) -> DfResult<Vec<Version>> {
    let log_store = table.log_store();
    let store = log_store.object_store(None);
    let log_path = log_store.log_path().clone();
    let mut commits: Vec<(i64, deltalake::ObjectMeta)> = store
        .list(Some(&log_path))
        .try_filter_map(|meta| async move {
            let name = meta.location.filename().map(str::to_string);
            Ok(name.and_then(|n| commit_version(&n)).map(|v| (v, meta)))
        })
        .try_collect()
        .await
        .map_err(log_error)?;
    commits.sort_by_key(|(v, _)| *v);
    let complete = commits.first().is_none_or(|(v, _)| *v == 0);
    let mut file_rows: HashMap<String, Option<i64>> = HashMap::new();
    let mut total = complete.then_some(0i64);
    let mut out = Vec::with_capacity(commits.len());
    for (version, meta) in commits {
        let bytes = store
            .get(&meta.location)
            .await
            .map_err(log_error)?
            .bytes()
            .await
            .map_err(log_error)?;
        let mut v = Version {
            version,
            timestamp: meta.last_modified.timestamp_micros(),
            operation: None,
            parameters: None,
            files_added: 0,
            files_removed: 0,
            rows_added: 0,
            rows_removed: Some(0),
            rows: None,
        };
        for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let action: serde_json::Value = serde_json::from_slice(line)
                .map_err(|e| log_error(format!("version {version}: {e}")))?;
            if let Some(info) = action.get("commitInfo") {
                let ms = info
                    .get("inCommitTimestamp")
                    .or_else(|| info.get("timestamp"))
                    .and_then(|t| t.as_i64());
                if let Some(ms) = ms {
                    v.timestamp = ms.saturating_mul(1000);
                }
                v.operation = info
                    .get("operation")
                    .and_then(|o| o.as_str())
                    .map(str::to_string);
                v.parameters = info.get("operationParameters").map(|p| p.to_string());
            } else if let Some(add) = action.get("add") {
                let rows = num_records(add);
                v.files_added += 1;
                v.rows_added += rows.unwrap_or(0);
                if let Some(path) = add.get("path").and_then(|p| p.as_str()) {
                    file_rows.insert(path.to_string(), rows);
                }
            } else if let Some(remove) = action.get("remove") {
                v.files_removed += 1;
                let rows = remove
                    .get("path")
                    .and_then(|p| p.as_str())
                    .and_then(|p| file_rows.remove(p))
                    .flatten();
                v.rows_removed = v.rows_removed.zip(rows).map(|(a, b)| a + b);
            }
        }
        total = total.zip(v.rows_removed).map(|(t, r)| t + v.rows_added - r);
        v.rows = total;
        out.push(v);
    }
    Ok(out)
}

fn history_batch(versions: &[Version]) -> DfResult<RecordBatch> {
    let ints = |f: &dyn Fn(&Version) -> i64| -> ArrayRef {
        Arc::new(Int64Array::from_iter_values(versions.iter().map(f)))
    };
    let columns: Vec<ArrayRef> = vec![
        ints(&|v| v.version),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(versions.iter().map(|v| v.timestamp))
                .with_timezone("UTC"),
        ),
        Arc::new(StringArray::from_iter(
            versions.iter().map(|v| v.operation.as_deref()),
        )),
        Arc::new(StringArray::from_iter(
            versions.iter().map(|v| v.parameters.as_deref()),
        )),
        ints(&|v| v.files_added),
        ints(&|v| v.files_removed),
        ints(&|v| v.rows_added),
        Arc::new(Int64Array::from_iter(
            versions.iter().map(|v| v.rows_removed),
        )),
        Arc::new(Int64Array::from_iter(versions.iter().map(|v| v.rows))),
    ];
    Ok(RecordBatch::try_new(schema(), columns)?)
}

/// `cache_history`: the Delta versions of the catalog, read from the log when scanned.
#[derive(Debug)]
pub struct HistoryTable {
    table: DeltaTable,
}

impl HistoryTable {
    /// The history of `table`.
    pub fn new(table: DeltaTable) -> Self {
        HistoryTable { table }
    }
}

#[async_trait::async_trait]
impl TableProvider for HistoryTable {
    fn schema(&self) -> SchemaRef {
        schema()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let batch = history_batch(&versions(&self.table).await?)?;
        Ok(MemorySourceConfig::try_new_exec(
            &[vec![batch]],
            schema(),
            projection.cloned(),
        )?)
    }
}

/// Which version `cache_entries_at` reads.
#[derive(Debug, Clone, PartialEq)]
pub enum AsOf {
    /// A version number.
    Version(i64),
    /// The newest version committed at or before this time (µs since the epoch, UTC).
    Time(i64),
}

impl AsOf {
    fn from_argument(value: &ScalarValue) -> DfResult<Self> {
        let micros = |v: Option<i64>, per_second: i64| {
            v.map(|v| AsOf::Time(v.saturating_mul(1_000_000 / per_second)))
        };
        let found = match value {
            ScalarValue::Int64(Some(v)) => Some(AsOf::Version(*v)),
            ScalarValue::Int32(Some(v)) => Some(AsOf::Version(i64::from(*v))),
            ScalarValue::TimestampSecond(v, _) => micros(*v, 1),
            ScalarValue::TimestampMillisecond(v, _) => micros(*v, 1000),
            ScalarValue::TimestampMicrosecond(v, _) => micros(*v, 1_000_000),
            ScalarValue::TimestampNanosecond(v, _) => v.map(|n| AsOf::Time(n / 1000)),
            other => match args::text(other) {
                Some(s) => Some(AsOf::Time(parse_time(s)?)),
                None => None,
            },
        };
        match found {
            Some(a) => Ok(a),
            None => plan_err!(
                "{AT_FUNCTION} takes a version number or a timestamp, e.g. \
                 {AT_FUNCTION}(3) or {AT_FUNCTION}('2026-11-24T10:00:00Z'), not {value}"
            ),
        }
    }
}

fn parse_time(s: &str) -> DfResult<i64> {
    let parsed = ScalarValue::Utf8(Some(s.to_string())).cast_to(&DataType::Timestamp(
        TimeUnit::Microsecond,
        Some("UTC".into()),
    ));
    match parsed {
        Ok(ScalarValue::TimestampMicrosecond(Some(t), _)) => Ok(t),
        _ => plan_err!("{AT_FUNCTION}: '{s}' is not a timestamp (try '2026-11-24T10:00:00Z')"),
    }
}

/// `cache_entries_at(version | timestamp)`.
#[derive(Debug)]
pub struct EntriesAtFunction {
    table: DeltaTable,
    schema: SchemaRef,
}

impl EntriesAtFunction {
    /// Time travel over `table`, answering in `schema` (the current `cache_entries` schema:
    /// columns only ever get added, so it covers every older version).
    pub fn new(table: DeltaTable, schema: SchemaRef) -> Self {
        EntriesAtFunction { table, schema }
    }
}

impl TableFunctionImpl for EntriesAtFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> DfResult<Arc<dyn TableProvider>> {
        let [arg] = args.exprs() else {
            return plan_err!("{AT_FUNCTION} takes one argument: a version number or a timestamp");
        };
        let value = args::constant(AT_FUNCTION, 1, arg, args.session())?;
        Ok(Arc::new(EntriesAt {
            table: self.table.clone(),
            schema: self.schema.clone(),
            as_of: AsOf::from_argument(&value)?,
        }))
    }
}

/// `cache_entries` as of one version: loaded when scanned.
#[derive(Debug)]
struct EntriesAt {
    table: DeltaTable,
    schema: SchemaRef,
    as_of: AsOf,
}

impl EntriesAt {
    /// The version to read and the time it stands for (entries expired by then are left out);
    /// `None` when the time is before the table's first version.
    async fn resolve(&self) -> DfResult<Option<(i64, i64)>> {
        let all = versions(&self.table).await?;
        let found = match self.as_of {
            AsOf::Version(n) => match all.iter().find(|v| v.version == n) {
                Some(v) => Some((n, v.timestamp)),
                None => {
                    let range = match (all.first(), all.last()) {
                        (Some(a), Some(b)) => format!("{} to {}", a.version, b.version),
                        _ => "none".into(),
                    };
                    return plan_err!(
                        "{AT_FUNCTION}: the catalog has no version {n} (versions: {range})"
                    );
                }
            },
            AsOf::Time(t) => all
                .iter()
                .rev()
                .find(|v| v.timestamp <= t)
                .map(|v| (v.version, t)),
        };
        Ok(found)
    }
}

#[async_trait::async_trait]
impl TableProvider for EntriesAt {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

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
        let Some(state) = state.as_any().downcast_ref::<SessionState>() else {
            return plan_err!("{AT_FUNCTION}: unsupported session type");
        };
        let ctx = SessionContext::new_with_state(state.clone());
        let mut df = match self.resolve().await? {
            None => ctx
                .read_empty()?
                .select(entries::typed_nulls(&self.schema))?
                .limit(0, Some(0))?,
            Some((version, at)) => {
                let mut table = self.table.clone();
                let version = u64::try_from(version).unwrap_or_default();
                table.load_version(version).await.map_err(|e| {
                    DataFusionError::Execution(format!("{AT_FUNCTION}({version}): {e}"))
                })?;
                let provider =
                    Arc::new(InexactFilters::new(table.table_provider().await.map_err(
                        |e| DataFusionError::Execution(format!("{AT_FUNCTION}({version}): {e}")),
                    )?));
                let old_schema = provider.schema();
                let df = ctx.read_table(provider)?;
                entries::conform(df, &old_schema, &self.schema)?.filter(entries::live_at(lit(
                    ScalarValue::TimestampMicrosecond(Some(at), Some("UTC".into())),
                )))?
            }
        };
        for f in filters {
            df = df.filter(f.clone())?;
        }
        if limit.is_some() {
            df = df.limit(0, limit)?;
        }
        // Collected and re-declared in the table's schema: the plan's own schema can differ
        // from it in nullability (typed NULLs for columns the old version lacks).
        let batches: Vec<RecordBatch> = df
            .collect()
            .await?
            .into_iter()
            .map(|b| RecordBatch::try_new(self.schema.clone(), b.columns().to_vec()))
            .collect::<Result<_, _>>()?;
        Ok(MemorySourceConfig::try_new_exec(
            &[batches],
            self.schema.clone(),
            projection.cloned(),
        )?)
    }
}
