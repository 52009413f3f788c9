//! The PostgreSQL fetcher: a parameterized query per fetch against a real server, its rows
//! read into the table's schema.
//!
//! The query takes `$1` = the key (text), `$2` = the interval's first tick and `$3` = the
//! first tick after it, typed as the range column (`bigint`, `date`, `timestamptz`), e.g.
//! `SELECT symbol, day, close FROM prices WHERE symbol = $1 AND day >= $2 AND day < $3`. A
//! lookup table's query takes `$1` only. A table with several key columns binds one
//! parameter per key column first (`$1`, `$2`, ...), then the range's two. Values are bound, never spliced into the text, so a
//! key cannot inject SQL. Result columns are matched to the table's by name and cast; a
//! column of a type with no Arrow reading here (`numeric`, `json`, ...) is an error that says
//! to cast it in the query (`close::float8`).
//!
//! Each fetch opens its own connection (no TLS: for servers on loopback or a private
//! network), at most `concurrency` at once; a password missing from the connection string is
//! taken from `PGPASSWORD`.

use std::sync::Arc;
use std::time::Duration;

use cacheness_format::Invalid;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use deltalake::arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use deltalake::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use tokio::sync::Semaphore;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{NoTls, Row};

use crate::decode::conform;
use crate::fetch::{FetchError, FetchRequest, Fetcher};
use crate::interval::RangeKind;

/// Runs a parameterized query per fetch.
#[derive(Debug, Clone)]
pub struct PostgresFetcher {
    config: tokio_postgres::Config,
    query: String,
    schema: SchemaRef,
    kind: Option<RangeKind>,
    key_columns: usize,
    timeout: Duration,
    slots: Arc<Semaphore>,
}

impl PostgresFetcher {
    /// Each fetch's timeout by default (connecting and running the query).
    pub const TIMEOUT: Duration = Duration::from_secs(60);
    /// Connections at once by default.
    pub const CONCURRENCY: usize = crate::source::defaults::POSTGRES_CONCURRENCY;

    /// Run `query` on the server `conninfo` names (`host=... port=... user=... dbname=...` or
    /// a `postgresql://` URL); `kind` types `$2` and `$3` (`None`: a lookup table, `$1` only).
    pub fn new(
        conninfo: &str,
        query: &str,
        schema: SchemaRef,
        kind: Option<RangeKind>,
    ) -> Result<PostgresFetcher, Invalid> {
        let mut config: tokio_postgres::Config = conninfo
            .parse()
            .map_err(|e| Invalid(format!("connection string: {e}")))?;
        if config.get_password().is_none()
            && let Ok(p) = std::env::var("PGPASSWORD")
        {
            config.password(p);
        }
        Ok(PostgresFetcher {
            config,
            query: query.to_string(),
            schema,
            kind,
            key_columns: 1,
            timeout: Self::TIMEOUT,
            slots: Arc::new(Semaphore::new(Self::CONCURRENCY)),
        })
    }

    /// Bind one parameter per key column (`n` of them) before the range's.
    pub fn key_columns(mut self, n: usize) -> Self {
        self.key_columns = n.max(1);
        self
    }

    /// Each fetch's timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The most connections at once (at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.slots = Arc::new(Semaphore::new(n.max(1)));
        self
    }

    async fn run(&self, req: &FetchRequest<String>) -> Result<RecordBatch, Invalid> {
        let (client, connection) = self
            .config
            .connect(NoTls)
            .await
            .map_err(|e| Invalid(format!("connecting: {e}")))?;
        let driver = tokio::spawn(connection);
        let statement = client
            .prepare(&self.query)
            .await
            .map_err(|e| Invalid(format!("preparing the query: {}", db_error(&e))))?;
        let i = req.interval;
        let days = |t: i64| -> Result<NaiveDate, Invalid> {
            NaiveDate::from_ymd_opt(1970, 1, 1)
                .and_then(|e| e.checked_add_signed(chrono::Duration::days(t)))
                .ok_or_else(|| Invalid(format!("day {t} is out of range")))
        };
        let micros = |t: i64| -> Result<DateTime<Utc>, Invalid> {
            DateTime::from_timestamp_micros(t)
                .ok_or_else(|| Invalid(format!("time {t} is out of range")))
        };
        let parts = crate::key::decode(&req.key, self.key_columns)?;
        let mut params: Vec<&(dyn ToSql + Sync)> =
            parts.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let (ints, dates, times);
        match self.kind {
            None => {}
            Some(RangeKind::Integer) => {
                ints = [i.start, i.end];
                params.extend(ints.iter().map(|v| v as &(dyn ToSql + Sync)));
            }
            Some(RangeKind::Date) => {
                dates = [days(i.start)?, days(i.end)?];
                params.extend(dates.iter().map(|v| v as &(dyn ToSql + Sync)));
            }
            Some(RangeKind::Timestamp) => {
                times = [micros(i.start)?, micros(i.end)?];
                params.extend(times.iter().map(|v| v as &(dyn ToSql + Sync)));
            }
        }
        let rows = client
            .query(&statement, &params)
            .await
            .map_err(|e| Invalid(format!("running the query: {}", db_error(&e))))?;
        drop(client);
        driver.abort();
        let batch = to_batch(statement.columns(), &rows)?;
        conform(&batch, &self.schema)
    }
}

/// A database error with the server's message and detail (the driver's own text omits them).
fn db_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{}: {detail}", db.message()),
            None => db.message().to_string(),
        },
        None => e.to_string(),
    }
}

/// The rows as Arrow, each column in the type its Postgres type reads as.
fn to_batch(columns: &[tokio_postgres::Column], rows: &[Row]) -> Result<RecordBatch, Invalid> {
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for (c, column) in columns.iter().enumerate() {
        let name = column.name();
        let get_err = |e: tokio_postgres::Error| format!("column {name:?}: {e}");
        macro_rules! collect {
            ($t:ty) => {
                rows.iter()
                    .map(|r| r.try_get::<_, Option<$t>>(c))
                    .collect::<Result<Vec<Option<$t>>, _>>()
                    .map_err(get_err)?
            };
        }
        let (data_type, array): (DataType, ArrayRef) = match *column.type_() {
            Type::BOOL => (
                DataType::Boolean,
                Arc::new(BooleanArray::from(collect!(bool))),
            ),
            Type::INT2 => {
                let v: Vec<Option<i64>> = collect!(i16)
                    .into_iter()
                    .map(|x| x.map(i64::from))
                    .collect();
                (DataType::Int64, Arc::new(Int64Array::from(v)))
            }
            Type::INT4 => {
                let v: Vec<Option<i64>> = collect!(i32)
                    .into_iter()
                    .map(|x| x.map(i64::from))
                    .collect();
                (DataType::Int64, Arc::new(Int64Array::from(v)))
            }
            Type::INT8 => (DataType::Int64, Arc::new(Int64Array::from(collect!(i64)))),
            Type::FLOAT4 => {
                let v: Vec<Option<f64>> = collect!(f32)
                    .into_iter()
                    .map(|x| x.map(f64::from))
                    .collect();
                (DataType::Float64, Arc::new(Float64Array::from(v)))
            }
            Type::FLOAT8 => (
                DataType::Float64,
                Arc::new(Float64Array::from(collect!(f64))),
            ),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => (
                DataType::Utf8,
                Arc::new(StringArray::from(collect!(String))),
            ),
            Type::DATE => {
                let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).ok_or("no epoch")?;
                let v = collect!(NaiveDate)
                    .into_iter()
                    .map(|d| {
                        d.map(|d| i32::try_from(d.signed_duration_since(epoch).num_days()))
                            .transpose()
                    })
                    .collect::<Result<Vec<Option<i32>>, _>>()
                    .map_err(|e| Invalid(format!("column {name:?}: {e}")))?;
                (DataType::Date32, Arc::new(Date32Array::from(v)))
            }
            Type::TIMESTAMP => {
                let v: Vec<Option<i64>> = collect!(NaiveDateTime)
                    .into_iter()
                    .map(|t| t.map(|t| t.and_utc().timestamp_micros()))
                    .collect();
                (
                    DataType::Timestamp(TimeUnit::Microsecond, None),
                    Arc::new(TimestampMicrosecondArray::from(v)),
                )
            }
            Type::TIMESTAMPTZ => {
                let v: Vec<Option<i64>> = collect!(DateTime<Utc>)
                    .into_iter()
                    .map(|t| t.map(|t| t.timestamp_micros()))
                    .collect();
                (
                    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                    Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC")),
                )
            }
            ref other => {
                return Err(format!(
                    "column {name:?} is {other}, which is not read here: cast it in the query \
                     ({name}::float8, {name}::text, ...)"
                )
                .into());
            }
        };
        fields.push(Field::new(name, data_type, true));
        arrays.push(array);
    }
    let schema = Arc::new(Schema::new(fields));
    RecordBatch::try_new_with_options(
        schema,
        arrays,
        &deltalake::arrow::array::RecordBatchOptions::new().with_row_count(Some(rows.len())),
    )
    .map_err(|e| Invalid(e.to_string()))
}

impl Fetcher<String> for PostgresFetcher {
    async fn fetch(&self, req: &FetchRequest<String>) -> Result<RecordBatch, FetchError> {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|e| FetchError::of(req, e))?;
        match tokio::time::timeout(self.timeout, self.run(req)).await {
            Ok(Ok(batch)) => Ok(batch),
            Ok(Err(why)) => Err(FetchError::of(req, format!("PostgreSQL: {why}"))),
            Err(_) => Err(FetchError::of(
                req,
                format!("PostgreSQL: timed out after {:?}", self.timeout),
            )),
        }
    }
}
