//! A pull-through table in SQL: a DataFusion [`TableProvider`] whose scan fetches the gaps of
//! the keys and range the query's filters ask for, then reads the stored rows.
//!
//! Planning only plans: [`PullThroughExec`] lists the fetches it will run (so `EXPLAIN` shows
//! them and fetches nothing); executing it fills the gaps, then scans a fresh snapshot of the
//! stored rows with the query's projection and filters. The filters are pushed down as
//! *inexact*: DataFusion still applies them to what the scan returns.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use deltalake::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use deltalake::datafusion::catalog::{Session, TableProvider};
use deltalake::datafusion::common::tree_node::TreeNodeRecursion;
use deltalake::datafusion::error::{DataFusionError, Result as DfResult};
use deltalake::datafusion::execution::{SendableRecordBatchStream, TaskContext};
use deltalake::datafusion::logical_expr::{TableProviderFilterPushDown, TableType};
use deltalake::datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use deltalake::datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use deltalake::datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use deltalake::datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties, execute_stream,
};
use deltalake::datafusion::prelude::{Expr, SessionContext};
use futures::TryStreamExt;

use crate::bounds::{Bounds, bounds};
use crate::fetch::{FetchRequest, SharedFetcher};
use crate::interval::{Interval, RangeKind};
use crate::table::{FetchObserver, PullTable, WithoutBounds};

/// Fetches listed in a plan before the rest are counted only.
const LISTED_FETCHES: usize = 20;

/// A pull-through table with its fetcher, for registering in a `SessionContext`.
pub struct PullProvider {
    table: Arc<PullTable>,
    fetcher: SharedFetcher,
    observer: Option<Arc<dyn FetchObserver>>,
    schema: SchemaRef,
}

impl fmt::Debug for PullProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PullProvider")
            .field("table", &self.table.name())
            .finish()
    }
}

/// `schema` with string and binary views as plain strings and binaries (what the table was
/// created with, and what fetchers decode into).
pub fn without_views(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let t = match f.data_type() {
                DataType::Utf8View => DataType::Utf8,
                DataType::BinaryView => DataType::Binary,
                t => t.clone(),
            };
            f.as_ref().clone().with_data_type(t)
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

impl PullProvider {
    /// `table`, fetching from `fetcher`.
    pub async fn new(
        table: Arc<PullTable>,
        fetcher: SharedFetcher,
    ) -> Result<PullProvider, crate::table::TableError> {
        let schema = table.stored_rows().await?.schema();
        Ok(PullProvider {
            table,
            fetcher,
            observer: None,
            schema,
        })
    }

    /// Tell `observer` of each fetch.
    pub fn with_observer(mut self, observer: Arc<dyn FetchObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// What a query with `filters` asks for: keys and range, or why it reads the cache only,
    /// or an error naming the missing predicate.
    fn ask(&self, filters: &[Expr]) -> DfResult<Ask> {
        let settings = self.table.settings();
        let range = settings
            .range
            .as_ref()
            .map(|r| (r.column.as_str(), self.table.kind()));
        let Bounds {
            keys,
            unbounded_key,
            start,
            end,
        } = bounds(filters, &settings.key_columns, range);
        let name = self.table.name();
        let missing = match (&keys, range) {
            (None, _) => Some(format!(
                "no predicate on its key column {k}: add {k} = '...' or {k} IN (...)",
                k = unbounded_key.unwrap_or_default()
            )),
            (Some(_), Some((column, kind))) if start.is_none() => Some(format!(
                "no lower bound on its range column {column}: add {column} >= ... or \
                 {column} BETWEEN ... AND ...{}",
                if kind == RangeKind::Integer {
                    ""
                } else {
                    " (a missing upper bound means now)"
                }
            )),
            (Some(_), Some((column, RangeKind::Integer))) if end.is_none() => Some(format!(
                "no upper bound on its range column {column}: add {column} < ... or \
                 {column} BETWEEN ... AND ..."
            )),
            _ => None,
        };
        if let Some(missing) = missing {
            return match settings.without_bounds {
                WithoutBounds::Fail => Err(DataFusionError::Plan(format!(
                    "pull-through table {name} cannot tell what to fetch: {missing} \
                     (or create it with without_bounds = cache_only to read stored rows only)"
                ))),
                WithoutBounds::CacheOnly => Ok(Ask::CacheOnly(missing)),
            };
        }
        let keys = keys.unwrap_or_default();
        let want = match (range, start) {
            (None, _) => crate::table::WHOLE_KEY,
            (Some(_), Some(start)) => {
                // Dates and timestamps without an upper bound: up to now.
                let now = self.table.kind().now_tick(crate::fill::now_micros());
                let Some(end) = end.or(now.map(|n| n.saturating_add(1))) else {
                    return Ok(Ask::Fill(keys, None));
                };
                match Interval::new(start, end) {
                    Some(want) => want,
                    // An empty range asks for nothing.
                    None => return Ok(Ask::Fill(keys, None)),
                }
            }
            (Some(_), None) => return Ok(Ask::Fill(keys, None)),
        };
        Ok(Ask::Fill(keys, Some(want)))
    }
}

/// What a scan asks of the source.
#[derive(Debug, Clone)]
enum Ask {
    /// Fill these keys over this interval (`None`: an empty range, nothing to fetch).
    Fill(Vec<String>, Option<Interval>),
    /// Read stored rows only, for this reason.
    CacheOnly(String),
}

#[async_trait]
impl TableProvider for PullProvider {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let ask = self.ask(filters)?;
        let planned = match &ask {
            Ask::Fill(keys, Some(want)) => self.table.plan(keys, *want),
            _ => Vec::new(),
        };
        let schema = match projection {
            Some(p) => Arc::new(self.schema.project(p)?),
            None => self.schema.clone(),
        };
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        Ok(Arc::new(PullThroughExec {
            table: self.table.clone(),
            fetcher: self.fetcher.clone(),
            observer: self.observer.clone(),
            ask,
            planned,
            projection: projection.cloned(),
            filters: filters.to_vec(),
            limit,
            schema,
            properties,
        }))
    }
}

/// The scan of a pull-through table: fills the planned gaps, then reads the stored rows.
pub struct PullThroughExec {
    table: Arc<PullTable>,
    fetcher: SharedFetcher,
    observer: Option<Arc<dyn FetchObserver>>,
    ask: Ask,
    planned: Vec<FetchRequest<String>>,
    projection: Option<Vec<usize>>,
    filters: Vec<Expr>,
    limit: Option<usize>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl PullThroughExec {
    /// The fetches planned when the query was planned (execution fetches what is still
    /// missing then, which fetches of other queries may have shrunk).
    pub fn planned(&self) -> &[FetchRequest<String>] {
        &self.planned
    }
}

impl fmt::Debug for PullThroughExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PullThroughExec")
            .field("table", &self.table.name())
            .field("planned", &self.planned)
            .finish()
    }
}

/// `interval` as the source sees it (dates as dates, timestamps as RFC 3339).
fn interval_text(kind: RangeKind, interval: Interval, lookup: bool) -> String {
    kind.interval_text(interval, lookup)
}

impl DisplayAs for PullThroughExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "PullThroughExec: table={}", self.table.name())?;
        match &self.ask {
            Ask::CacheOnly(reason) => return write!(f, ", cache only ({reason})"),
            Ask::Fill(keys, None) => return write!(f, ", keys={keys:?}, empty range"),
            Ask::Fill(..) => {}
        }
        let lookup = self.table.settings().range.is_none();
        let kind = self.table.kind();
        write!(f, ", fetches={}", self.planned.len())?;
        if self.planned.is_empty() {
            return Ok(());
        }
        f.write_str(" [")?;
        for (i, req) in self.planned.iter().take(LISTED_FETCHES).enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(
                f,
                "{}{}",
                req.key,
                interval_text(kind, req.interval, lookup)
            )?;
        }
        if self.planned.len() > LISTED_FETCHES {
            write!(f, ", and {} more", self.planned.len() - LISTED_FETCHES)?;
        }
        f.write_str("]")
    }
}

impl ExecutionPlan for PullThroughExec {
    fn name(&self) -> &str {
        "PullThroughExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        if children.is_empty() {
            Ok(self)
        } else {
            Err(DataFusionError::Internal(
                "PullThroughExec has no children".into(),
            ))
        }
    }

    fn execute(
        &self,
        _partition: usize,
        _context: Arc<TaskContext>,
    ) -> DfResult<SendableRecordBatchStream> {
        let table = self.table.clone();
        let fetcher = self.fetcher.clone();
        let observer = self.observer.clone();
        let ask = self.ask.clone();
        let projection = self.projection.clone();
        let filters = self.filters.clone();
        let limit = self.limit;
        let stream = async move {
            match &ask {
                Ask::Fill(keys, Some(want)) => table
                    .fill(keys, *want, &fetcher, observer.as_deref())
                    .await
                    .map_err(|e| DataFusionError::External(Box::new(e)))?,
                Ask::CacheOnly(reason) => {
                    tracing::warn!(table = table.name(), "answered from cache only: {reason}");
                    if let Some(o) = &observer {
                        o.cache_only(table.name(), reason);
                    }
                }
                Ask::Fill(_, None) => {}
            }
            let rows = table
                .stored_rows()
                .await
                .map_err(|e| DataFusionError::External(Box::new(e)))?;
            let ctx = SessionContext::new();
            let plan = rows
                .scan(&ctx.state(), projection.as_ref(), &filters, limit)
                .await?;
            execute_stream(plan, ctx.task_ctx())
        };
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            futures::stream::once(stream).try_flatten(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use deltalake::arrow::array::{ArrayRef, Date32Array, Float64Array, RecordBatch, StringArray};
    use deltalake::arrow::util::pretty::pretty_format_batches;

    use super::*;
    use crate::fetch::{FetchError, from_fn};
    use crate::table::{RangeSettings, Settings};

    type Log = Arc<Mutex<Vec<String>>>;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("symbol", DataType::Utf8, false),
            Field::new("day", DataType::Date32, false),
            Field::new("price", DataType::Float64, true),
        ]))
    }

    /// One row per day, price = day number; each fetch logged as `KEY first..last` (dates).
    fn source(log: Log) -> SharedFetcher {
        SharedFetcher::new(from_fn(move |req: FetchRequest<String>| {
            let text = format!(
                "{} {}..{}",
                req.key,
                RangeKind::Date.text(req.interval.start),
                RangeKind::Date.text(req.interval.end - 1)
            );
            log.lock().unwrap().push(text);
            async move {
                if req.key == "FAIL" {
                    return Err(FetchError::of(&req, "the source is down"));
                }
                let days: Vec<i32> = (req.interval.start..req.interval.end)
                    .map(|d| d as i32)
                    .collect();
                let columns: Vec<ArrayRef> = vec![
                    Arc::new(StringArray::from(vec![req.key.as_str(); days.len()])),
                    Arc::new(Date32Array::from(days.clone())),
                    Arc::new(Float64Array::from(
                        days.iter().map(|d| f64::from(*d)).collect::<Vec<_>>(),
                    )),
                ];
                RecordBatch::try_new(schema(), columns).map_err(|e| FetchError::of(&req, e))
            }
        }))
    }

    async fn context(settings: Settings) -> (tempfile::TempDir, SessionContext, Log) {
        let root = tempfile::tempdir().unwrap();
        let table = PullTable::create(root.path(), "prices", schema(), settings)
            .await
            .unwrap();
        let log: Log = Arc::default();
        let provider = PullProvider::new(Arc::new(table), source(log.clone()))
            .await
            .unwrap();
        let ctx = SessionContext::new();
        ctx.register_table("prices", Arc::new(provider)).unwrap();
        (root, ctx, log)
    }

    fn daily() -> Settings {
        Settings::for_timeseries(
            "symbol",
            RangeSettings {
                column: "day".into(),
                kind: RangeKind::Date,
                granularity: 1,
            },
        )
    }

    async fn sql(ctx: &SessionContext, q: &str) -> DfResult<Vec<RecordBatch>> {
        ctx.sql(q).await?.collect().await
    }

    fn fetched(log: &Log) -> Vec<String> {
        let mut l = std::mem::take(&mut *log.lock().unwrap());
        l.sort();
        l
    }

    fn rows(batches: &[RecordBatch]) -> usize {
        batches.iter().map(RecordBatch::num_rows).sum()
    }

    fn between(a: i32, b: i32) -> String {
        format!(
            "SELECT day, price FROM prices WHERE symbol = 'AAPL' AND day BETWEEN DATE '2024-01-{a:02}' AND DATE '2024-01-{b:02}' ORDER BY day"
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sql_fetches_only_the_gaps_of_the_requested_days() {
        let (_root, ctx, log) = context(daily()).await;
        let r = sql(&ctx, &between(1, 10)).await.unwrap();
        assert_eq!(rows(&r), 10);
        assert_eq!(fetched(&log), ["AAPL 2024-01-01..2024-01-10"]);
        // Cached Jan 1–10: Jan 5–15 fetches exactly Jan 11–15.
        let r = sql(&ctx, &between(5, 15)).await.unwrap();
        assert_eq!(rows(&r), 11);
        assert_eq!(fetched(&log), ["AAPL 2024-01-11..2024-01-15"]);
        // Cached Jan 1–15 and Jan 20–30: Jan 1–30 fetches only the hole.
        sql(&ctx, &between(20, 30)).await.unwrap();
        fetched(&log);
        let r = sql(&ctx, &between(1, 30)).await.unwrap();
        assert_eq!(rows(&r), 30);
        assert_eq!(fetched(&log), ["AAPL 2024-01-16..2024-01-19"]);
        // The answer is what the source says, day by day.
        let text = pretty_format_batches(&r).unwrap().to_string();
        assert!(text.contains("| 2024-01-16 | 19738.0 |"), "{text}");
        // Other predicate forms bound the same way: < and >= with IN.
        sql(
            &ctx,
            "SELECT * FROM prices WHERE symbol IN ('AAPL', 'MSFT') AND day >= DATE '2024-01-29' AND day < DATE '2024-02-02'",
        )
        .await
        .unwrap();
        assert_eq!(
            fetched(&log),
            ["AAPL 2024-01-31..2024-02-01", "MSFT 2024-01-29..2024-02-01"]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn explain_lists_the_planned_fetches_and_fetches_nothing() {
        let (_root, ctx, log) = context(daily()).await;
        sql(&ctx, &between(5, 10)).await.unwrap();
        fetched(&log);
        let plan = sql(&ctx, &format!("EXPLAIN {}", between(1, 20)))
            .await
            .unwrap();
        let text = pretty_format_batches(&plan).unwrap().to_string();
        assert!(
            text.contains(
                "PullThroughExec: table=prices, fetches=2 [AAPL [2024-01-01, 2024-01-05), AAPL [2024-01-11, 2024-01-21)]"
            ),
            "{text}"
        );
        assert!(fetched(&log).is_empty(), "EXPLAIN fetched nothing");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_query_without_bounds_names_the_missing_predicate_or_reads_the_cache_only() {
        let (_root, ctx, log) = context(daily()).await;
        let err = sql(&ctx, "SELECT * FROM prices WHERE day > DATE '2024-01-01'")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no predicate on its key column symbol"),
            "{err}"
        );
        let err = sql(&ctx, "SELECT * FROM prices WHERE symbol = 'AAPL'")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no lower bound on its range column day"),
            "{err}"
        );
        assert!(fetched(&log).is_empty());

        let (_root, ctx, log) = context(Settings {
            without_bounds: WithoutBounds::CacheOnly,
            ..daily()
        })
        .await;
        sql(&ctx, &between(1, 3)).await.unwrap();
        fetched(&log);
        let all = sql(&ctx, "SELECT * FROM prices").await.unwrap();
        assert_eq!(rows(&all), 3, "the stored rows, nothing fetched");
        assert!(fetched(&log).is_empty());
        let plan = sql(&ctx, "EXPLAIN SELECT * FROM prices").await.unwrap();
        let text = pretty_format_batches(&plan).unwrap().to_string();
        assert!(
            text.contains("cache only (no predicate on its key column symbol"),
            "{text}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_fetch_fails_the_query_and_keeps_what_other_fetches_stored() {
        let (_root, ctx, log) = context(daily()).await;
        let q = "SELECT * FROM prices WHERE symbol IN ('AAPL', 'FAIL') AND day BETWEEN DATE '2024-01-01' AND DATE '2024-01-02'";
        let err = sql(&ctx, q).await.unwrap_err().to_string();
        assert!(
            err.contains("FAIL") && err.contains("the source is down"),
            "{err}"
        );
        // The interval as the range column reads it, as EXPLAIN shows it: not in day numbers.
        assert!(err.contains("[2024-01-01, 2024-01-03)"), "{err}");
        fetched(&log);
        let r = sql(&ctx, &between(1, 2)).await.unwrap();
        assert_eq!(rows(&r), 2);
        assert!(fetched(&log).is_empty(), "AAPL stayed stored and covered");
        sql(&ctx, q).await.unwrap_err();
        assert_eq!(
            fetched(&log),
            ["FAIL 2024-01-01..2024-01-02"],
            "FAIL is not covered"
        );
    }
}

#[cfg(test)]
mod several_keys {
    use std::sync::Mutex;

    use deltalake::arrow::array::{ArrayRef, Date32Array, RecordBatch, StringArray};

    use super::*;
    use crate::fetch::{FetchError, from_fn};
    use crate::table::{RangeSettings, Settings};

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("symbol", DataType::Utf8, false),
            Field::new("venue", DataType::Utf8, false),
            Field::new("day", DataType::Date32, false),
        ]))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_table_keyed_by_two_columns_fetches_each_combination_asked() {
        let root = tempfile::tempdir().unwrap();
        let settings = Settings::for_timeseries(
            "symbol",
            RangeSettings {
                column: "day".into(),
                kind: RangeKind::Date,
                granularity: 1,
            },
        )
        .with_key_columns(&["symbol", "venue"]);
        let table = PullTable::create(root.path(), "quotes", schema(), settings)
            .await
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        let columns = ["symbol".to_string(), "venue".to_string()];
        let fetcher = SharedFetcher::new(from_fn(move |req: FetchRequest<String>| {
            // What a URL template would say.
            l.lock().unwrap().push(req.render(
                "/{key.symbol}/{key.venue}/{start}",
                RangeKind::Date,
                &columns,
                |s| s.to_string(),
            ));
            async move {
                let parts = crate::key::decode(&req.key, 2).map_err(|e| FetchError::of(&req, e))?;
                let days: Vec<i32> = (req.interval.start..req.interval.end)
                    .map(|d| d as i32)
                    .collect();
                let n = days.len();
                let columns: Vec<ArrayRef> = vec![
                    Arc::new(StringArray::from(vec![parts[0].as_str(); n])),
                    Arc::new(StringArray::from(vec![parts[1].as_str(); n])),
                    Arc::new(Date32Array::from(days)),
                ];
                RecordBatch::try_new(schema(), columns).map_err(|e| FetchError::of(&req, e))
            }
        }));
        let provider = PullProvider::new(Arc::new(table), fetcher).await.unwrap();
        let ctx = SessionContext::new();
        ctx.register_table("quotes", Arc::new(provider)).unwrap();
        let q = "SELECT symbol, venue, count(*) AS n FROM quotes \
                 WHERE symbol IN ('A', 'B') AND venue = 'X' \
                 AND day BETWEEN DATE '2024-01-01' AND DATE '2024-01-03' GROUP BY 1, 2 ORDER BY 1";
        let r = ctx.sql(q).await.unwrap().collect().await.unwrap();
        let text = deltalake::arrow::util::pretty::pretty_format_batches(&r)
            .unwrap()
            .to_string();
        assert!(
            text.contains("| A      | X     | 3 |") && text.contains("| B      | X     | 3 |"),
            "{text}"
        );
        let mut fetched = std::mem::take(&mut *log.lock().unwrap());
        fetched.sort();
        assert_eq!(fetched, ["/A/X/2024-01-01", "/B/X/2024-01-01"]);
        // Venue Y of A is another key: fetched; A at X is not fetched again.
        ctx.sql("SELECT * FROM quotes WHERE symbol = 'A' AND venue IN ('X', 'Y') AND day BETWEEN DATE '2024-01-01' AND DATE '2024-01-03'")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        assert_eq!(*log.lock().unwrap(), ["/A/Y/2024-01-01"]);
        // Without a predicate on venue: the error names it.
        let err = ctx
            .sql("SELECT * FROM quotes WHERE symbol = 'A' AND day > DATE '2024-01-01'")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no predicate on its key column venue"),
            "{err}"
        );
    }
}
