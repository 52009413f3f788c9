//! Pull-through tables with Python fetchers: `cacheness.PullTable` (docs/PULL_THROUGH.md).
//!
//! The table is the Rust one (`cacheness::pull::PullTable`): its coverage, gap planning, and
//! its once-per-gap guarantee across threads and processes (the fill lock). What is Python
//! is the fetcher: a callable `fetch(*key_values, start, end)` (`fetch(*key_values)` for a
//! lookup table) returning a pyarrow, pandas or polars table, called with the GIL for each gap.

use cacheness::deps::arrow::array::RecordBatch;
use cacheness::deps::arrow::datatypes::SchemaRef;
use cacheness::pull::columns::{parse_columns, range_kind};
use cacheness::pull::interval::{Interval, RangeKind};
use cacheness::pull::table::{RangeSettings, Settings};
use cacheness::pull::{FetchError, FetchRequest, Fetcher, SharedFetcher};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::datetime::{self, MICROS_PER_DAY, When};
use crate::{Cache, cache_err, table};

/// A Python callable as a fetcher.
struct PyFetcher {
    fetch: Py<PyAny>,
    kind: Option<RangeKind>,
    key_columns: Vec<String>,
    schema: SchemaRef,
}

impl PyFetcher {
    /// Call the Python fetcher for one request: the rows in the table's schema, or why not.
    fn call(&self, request: &FetchRequest<String>) -> Result<RecordBatch, String> {
        Python::attach(|py| {
            let parts = cacheness::pull::key::decode(&request.key, self.key_columns.len())
                .map_err(|e| e.to_string())?;
            let mut args: Vec<Py<PyAny>> = Vec::new();
            for (part, column) in parts.iter().zip(&self.key_columns) {
                args.push(
                    self.key_value(py, part, column)
                        .map_err(|e| e.to_string())?,
                );
            }
            if let Some(kind) = self.kind {
                for tick in [request.interval.start, request.interval.end] {
                    args.push(tick_value(py, kind, tick).map_err(|e| e.to_string())?);
                }
            }
            let args = pyo3::types::PyTuple::new(py, args).map_err(|e| e.to_string())?;
            let answer = self
                .fetch
                .call1(py, args)
                .map_err(|e| format!("the fetcher raised {}", e.value(py)))?;
            let stream = py
                .import("cacheness._tables")
                .and_then(|m| m.getattr("table_stream"))
                .and_then(|f| f.call1((answer.bind(py),)))
                .map_err(|e| e.to_string())?;
            if stream.is_none() {
                return Err(format!(
                    "the fetcher returned a {}, not a pyarrow, pandas or polars table",
                    crate::object::type_name(answer.bind(py))
                ));
            }
            let (_, batches) = table::from_stream(&stream).map_err(|e| e.to_string())?;
            cacheness::pull::decode::rows_of(&batches, &self.schema).map_err(|e| e.to_string())
        })
    }

    /// A key column's value as the fetcher gets it: an int for an integer column, else the
    /// text.
    fn key_value(&self, py: Python<'_>, part: &str, column: &str) -> PyResult<Py<PyAny>> {
        let integer = self
            .schema
            .field_with_name(column)
            .is_ok_and(|f| f.data_type().is_integer());
        Ok(match integer {
            true => part
                .parse::<i64>()
                .map_err(|e| PyValueError::new_err(format!("key {part:?}: {e}")))?
                .into_pyobject(py)?
                .into_any()
                .unbind(),
            false => part.into_pyobject(py)?.into_any().unbind(),
        })
    }
}

impl Fetcher<String> for PyFetcher {
    fn fetch(
        &self,
        request: &FetchRequest<String>,
    ) -> impl Future<Output = Result<RecordBatch, FetchError>> + Send {
        let answer = self
            .call(request)
            .map_err(|reason| FetchError::of(request, reason));
        async move { answer }
    }
}

/// A pull-through table filled by a Python fetcher.
#[pyclass(frozen, module = "cacheness._native")]
pub struct PullTable {
    table: cacheness::pull::PullTable,
    /// The Python fetcher (also registered with the cache, for its SQL statements).
    fetcher: SharedFetcher,
    /// The range column's kind of values (none for a lookup table).
    kind: Option<RangeKind>,
    schema: SchemaRef,
    runtime: tokio::runtime::Runtime,
    pid: u32,
}

fn runtime() -> PyResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| crate::CacheError::new_err(format!("cannot start a runtime: {e}")))
}

#[pymethods]
impl PullTable {
    /// Create (or open, with the same settings) table `name` of `cache` from a preset
    /// (`timeseries`, `realtime_timeseries`, `lookup_table`, `analytics_table`), its key
    /// columns, its range column (none for a lookup table), its columns as text
    /// (`symbol:str,date:date,close:float`) and the fetcher.
    #[staticmethod]
    #[pyo3(signature = (cache, name, preset, key, range, columns, fetch, granularity=None))]
    #[allow(clippy::too_many_arguments)]
    fn create(
        py: Python<'_>,
        cache: &Cache,
        name: &str,
        preset: &str,
        key: Vec<String>,
        range: Option<String>,
        columns: &str,
        fetch: Py<PyAny>,
        granularity: Option<i64>,
    ) -> PyResult<PullTable> {
        let invalid = |e: String| PyValueError::new_err(format!("table {name}: {e}"));
        let schema = parse_columns(columns).map_err(invalid)?;
        let first = key.first().ok_or_else(|| invalid("no key column".into()))?;
        let range = match range {
            None => None,
            Some(column) => {
                let kind = range_kind(&schema, &column).map_err(invalid)?;
                Some(RangeSettings {
                    column,
                    kind,
                    granularity: granularity.unwrap_or(1),
                })
            }
        };
        let settings = match (preset, range) {
            ("lookup_table", None) => Settings::for_lookup_table(first),
            ("lookup_table", Some(_)) => {
                return Err(invalid("a lookup table has no range column".into()));
            }
            (_, None) => return Err(invalid(format!("a {preset} table needs a range column"))),
            ("timeseries", Some(r)) => Settings::for_timeseries(first, r),
            ("realtime_timeseries", Some(r)) => Settings::for_realtime_timeseries(first, r),
            ("analytics_table", Some(r)) => Settings::for_analytics_table(first, r),
            (other, _) => return Err(invalid(format!("unknown preset {other:?}"))),
        };
        let key_refs: Vec<&str> = key.iter().map(String::as_str).collect();
        let settings = settings.with_key_columns(&key_refs);
        let kind = settings.range.as_ref().map(|r| r.kind);
        let root = cache.inner()?.pull_tables_root();
        let runtime = runtime()?;
        let table = py
            .detach(|| {
                runtime.block_on(cacheness::pull::PullTable::create(
                    root,
                    name,
                    schema.clone(),
                    settings,
                ))
            })
            .map_err(cache_err)?;
        let fetcher = SharedFetcher::new(PyFetcher {
            fetch,
            kind,
            key_columns: key,
            schema: schema.clone(),
        });
        cache.register_fetcher(name, fetcher.clone())?;
        Ok(PullTable {
            table,
            fetcher,
            kind,
            schema,
            runtime,
            pid: std::process::id(),
        })
    }

    /// The rows of `keys` (each a list of its key columns' values as text) in `[start, end)`
    /// (dates, datetimes or ints as the range column reads; none for a lookup table),
    /// fetching the gaps first: an Arrow stream capsule.
    #[pyo3(signature = (keys, start=None, end=None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        keys: Vec<Vec<String>>,
        start: Option<&Bound<'py, PyAny>>,
        end: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.check_process()?;
        let range = self.interval(start, end)?;
        let keys: Vec<String> = keys
            .iter()
            .map(|k| cacheness::pull::key::encode(k))
            .collect();
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let batches = py
            .detach(|| {
                self.runtime
                    .block_on(self.table.get(&refs, range, &self.fetcher))
            })
            .map_err(cache_err)?;
        table::to_stream(py, (self.schema.clone(), batches))
    }

    /// Forget the coverage of `key` in `[start, end)` (all of it when no range is given): the
    /// next get fetches it again.
    #[pyo3(signature = (key, start=None, end=None))]
    fn invalidate(
        &self,
        py: Python<'_>,
        key: Vec<String>,
        start: Option<&Bound<'_, PyAny>>,
        end: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        self.check_process()?;
        let range = match (start, end) {
            (None, None) => None,
            _ => self.interval(start, end)?,
        };
        let key = cacheness::pull::key::encode(&key);
        py.detach(|| self.runtime.block_on(self.table.invalidate(&key, range)))
            .map_err(cache_err)
    }

    /// The table's name.
    #[getter]
    fn name(&self) -> &str {
        self.table.name()
    }
}

impl PullTable {
    fn check_process(&self) -> PyResult<()> {
        match std::process::id() == self.pid {
            true => Ok(()),
            false => Err(crate::CacheError::new_err(format!(
                "pull-through table {} was opened by process {} before it forked this one: \
                 open it again here",
                self.table.name(),
                self.pid
            ))),
        }
    }

    /// `[start, end)` in ticks, from the range column's kind of values.
    fn interval(
        &self,
        start: Option<&Bound<'_, PyAny>>,
        end: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Option<Interval>> {
        let Some(kind) = self.kind else {
            return Ok(None);
        };
        let (Some(start), Some(end)) = (start, end) else {
            return Err(PyValueError::new_err(format!(
                "table {}: give start and end of the range",
                self.table.name()
            )));
        };
        let (a, b) = (ticks(start, kind)?, ticks(end, kind)?);
        Interval::new(a, b).map(Some).ok_or_else(|| {
            PyValueError::new_err(format!(
                "table {}: the range [{}, {}) is empty",
                self.table.name(),
                start,
                end
            ))
        })
    }
}

/// A range value as ticks of a range column of `kind`: a date as days, a datetime as
/// microseconds, an int as itself.
fn ticks(v: &Bound<'_, PyAny>, kind: RangeKind) -> PyResult<i64> {
    let wrong = || {
        PyValueError::new_err(format!(
            "{} is not a value of a {kind:?} range column (a date, a datetime or an int)",
            v.repr().map(|r| r.to_string()).unwrap_or_default()
        ))
    };
    match (kind, datetime::when(v)?) {
        (RangeKind::Date, Some(When::Day(d))) => Ok(d),
        (RangeKind::Date, Some(When::Instant(us))) => Ok(us.div_euclid(MICROS_PER_DAY)),
        (RangeKind::Timestamp, Some(When::Instant(us))) => Ok(us),
        (RangeKind::Timestamp, Some(When::Day(d))) => Ok(d * MICROS_PER_DAY),
        (RangeKind::Integer, None) => v.extract::<i64>().map_err(|_| wrong()),
        _ => Err(wrong()),
    }
}

/// A tick of a range column of `kind` as the Python value a fetcher gets.
fn tick_value(py: Python<'_>, kind: RangeKind, tick: i64) -> PyResult<Py<PyAny>> {
    Ok(match kind {
        RangeKind::Date => datetime::date(py, tick)?.unbind(),
        RangeKind::Timestamp => datetime::instant(py, tick)?.unbind(),
        RangeKind::Integer => tick.into_pyobject(py)?.into_any().unbind(),
    })
}
