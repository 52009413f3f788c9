//! A table's source as settings (`settings.json`), so that SQL and the CLI can fetch for a
//! table without Rust code: an HTTP URL template, a command, a PostgreSQL query, or the
//! built-in demo source.
//! Tables filled only through the Rust API (a closure fetcher) have no source here.

use std::time::Duration;

use cacheness_format::Invalid;

use deltalake::arrow::array::RecordBatch;
use deltalake::arrow::array::{ArrayRef, Date32Array, Float64Array, Int64Array, StringArray};
use deltalake::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use crate::command::CommandFetcher;
use crate::decode::Format;
use crate::fetch::{FetchError, FetchRequest, Fetcher, SharedFetcher};
#[cfg(feature = "http")]
use crate::http::HttpFetcher;
use crate::interval::RangeKind;
#[cfg(feature = "postgres")]
use crate::postgres::PostgresFetcher;

/// The defaults of source settings left out of `settings.json` (the fetchers' own defaults
/// too).
pub mod defaults {
    /// Each fetch's (for HTTP, each attempt's) timeout, in seconds.
    pub const TIMEOUT_SECONDS: u64 = 30;
    /// HTTP retries after a first failed attempt.
    pub const HTTP_RETRIES: u32 = 3;
    /// HTTP requests at once.
    pub const HTTP_CONCURRENCY: usize = 8;
    /// PostgreSQL connections at once.
    pub const POSTGRES_CONCURRENCY: usize = 4;
}

/// Where a table's rows come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceSettings {
    /// GET a URL template (`{key}`, `{start}`, `{end}`, `{last}`) per fetch.
    Http {
        /// The template.
        url: String,
        /// The answer's format: `csv`, `jsonl`, `json`, `parquet` or `arrow`.
        format: String,
        /// Each attempt's timeout in seconds.
        #[serde(default = "default_timeout")]
        timeout_seconds: u64,
        /// Retries after a first failed attempt (5xx, 429, transport errors).
        #[serde(default = "default_retries")]
        retries: u32,
        /// The most requests at once.
        #[serde(default = "default_concurrency")]
        concurrency: usize,
    },
    /// Run a program per fetch (arguments are templates like the URL's).
    Command {
        /// The program.
        program: String,
        /// Its arguments.
        args: Vec<String>,
        /// Its standard output's format.
        format: String,
        /// The longest a run may take, in seconds.
        #[serde(default = "default_timeout")]
        timeout_seconds: u64,
    },
    /// Run a parameterized query on a PostgreSQL server (`$1` key, `$2`/`$3` the interval).
    Postgres {
        /// `host=... port=... user=... dbname=...` or a `postgresql://` URL (without a
        /// password, `PGPASSWORD` is used).
        conninfo: String,
        /// The query.
        query: String,
        /// Each fetch's timeout, in seconds.
        #[serde(default = "default_timeout")]
        timeout_seconds: u64,
        /// The most connections at once.
        #[serde(default = "default_pg_concurrency")]
        concurrency: usize,
    },
    /// The built-in deterministic daily prices of `cacheness demo` ([`demo_schema`]).
    Demo,
}

fn default_timeout() -> u64 {
    defaults::TIMEOUT_SECONDS
}

fn default_pg_concurrency() -> usize {
    defaults::POSTGRES_CONCURRENCY
}

fn default_retries() -> u32 {
    defaults::HTTP_RETRIES
}

fn default_concurrency() -> usize {
    defaults::HTTP_CONCURRENCY
}

/// The error of a source this build cannot fetch from: its cargo feature was left out.
#[cfg(not(all(feature = "http", feature = "postgres")))]
fn not_built(source: &str, feature: &str) -> Invalid {
    Invalid(format!(
        "this build of cacheness cannot fetch from {source} sources: it was built without the \
         cargo feature `{feature}`"
    ))
}

impl SourceSettings {
    /// The fetcher these settings describe, for a table of `schema` whose range is `kind`
    /// (`None`: a lookup table).
    pub fn fetcher(
        &self,
        schema: &SchemaRef,
        kind: Option<RangeKind>,
        key_columns: &[String],
    ) -> Result<SharedFetcher, Invalid> {
        let ticks = kind.unwrap_or(RangeKind::Integer);
        Ok(match self {
            #[cfg(feature = "postgres")]
            SourceSettings::Postgres {
                conninfo,
                query,
                timeout_seconds,
                concurrency,
            } => SharedFetcher::new(
                PostgresFetcher::new(conninfo, query, schema.clone(), kind)?
                    .key_columns(key_columns.len())
                    .timeout(Duration::from_secs(*timeout_seconds))
                    .concurrency(*concurrency),
            ),
            #[cfg(not(feature = "postgres"))]
            SourceSettings::Postgres { .. } => return Err(not_built("PostgreSQL", "postgres")),
            #[cfg(feature = "http")]
            SourceSettings::Http {
                url,
                format,
                timeout_seconds,
                retries,
                concurrency,
            } => SharedFetcher::new(
                HttpFetcher::new(url, format.parse()?, schema.clone(), ticks)
                    .key_columns(key_columns)
                    .timeout(Duration::from_secs(*timeout_seconds))
                    .retries(*retries, HttpFetcher::BACKOFF)
                    .concurrency(*concurrency),
            ),
            #[cfg(not(feature = "http"))]
            SourceSettings::Http { .. } => return Err(not_built("HTTP", "http")),
            SourceSettings::Command {
                program,
                args,
                format,
                timeout_seconds,
            } => SharedFetcher::new(CommandFetcher {
                program: program.clone(),
                args: args.clone(),
                format: format.parse::<Format>()?,
                schema: schema.clone(),
                kind: ticks,
                timeout: Duration::from_secs(*timeout_seconds),
                key_columns: key_columns.to_vec(),
            }),
            SourceSettings::Demo => {
                if schema.fields() != demo_schema().fields() {
                    return Err(format!(
                        "the demo source answers {}, not this table's columns",
                        describe(&demo_schema())
                    )
                    .into());
                }
                SharedFetcher::new(DemoSource)
            }
        })
    }
}

fn describe(schema: &Schema) -> String {
    let columns: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| format!("{} {}", f.name(), f.data_type()))
        .collect();
    format!("({})", columns.join(", "))
}

/// The demo source's columns: `symbol` (text), `day` (date), `close` (float), `volume` (int).
pub fn demo_schema() -> SchemaRef {
    std::sync::Arc::new(Schema::new(vec![
        Field::new("symbol", DataType::Utf8, false),
        Field::new("day", DataType::Date32, false),
        Field::new("close", DataType::Float64, false),
        Field::new("volume", DataType::Int64, false),
    ]))
}

/// Daily prices that are a pure function of symbol and day (weekends have no rows), as if
/// from a slow market-data API.
#[derive(Debug, Clone, Copy)]
pub struct DemoSource;

impl DemoSource {
    /// The demo close of `symbol` on `day` (days since the epoch).
    pub fn close(symbol: &str, day: i64) -> f64 {
        let seed = xxhash_rust::xxh3::xxh3_64(symbol.as_bytes()) % 900;
        let base = 100.0 + seed as f64;
        let wave = ((day as f64) / 7.0).sin() * 5.0;
        ((base + wave) * 100.0).round() / 100.0
    }
}

impl Fetcher<String> for DemoSource {
    async fn fetch(&self, req: &FetchRequest<String>) -> Result<RecordBatch, FetchError> {
        // 1970-01-01 was a Thursday: day 2 and 3 (mod 7) are Saturday and Sunday.
        let days: Vec<i64> = (req.interval.start..req.interval.end)
            .filter(|d| !matches!(d.rem_euclid(7), 2 | 3))
            .collect();
        let dates = days
            .iter()
            .map(|d| i32::try_from(*d).map_err(|_| FetchError::of(req, "day out of range")))
            .collect::<Result<Vec<i32>, _>>()?;
        let closes: Vec<f64> = days.iter().map(|d| Self::close(&req.key, *d)).collect();
        let volumes: Vec<i64> = days
            .iter()
            .map(|d| 1_000 + (xxhash_rust::xxh3::xxh3_64(&d.to_le_bytes()) % 9_000) as i64)
            .collect();
        let columns: Vec<ArrayRef> = vec![
            std::sync::Arc::new(StringArray::from(vec![req.key.as_str(); days.len()])),
            std::sync::Arc::new(Date32Array::from(dates)),
            std::sync::Arc::new(Float64Array::from(closes)),
            std::sync::Arc::new(Int64Array::from(volumes)),
        ];
        RecordBatch::try_new(demo_schema(), columns).map_err(|e| FetchError::of(req, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interval::Interval;

    #[tokio::test]
    async fn the_demo_source_is_deterministic_and_skips_weekends() {
        let req = FetchRequest {
            key: "AAPL".to_string(),
            // Mon 2024-01-01 .. Sun 2024-01-07.
            interval: Interval::new(19_723, 19_730).unwrap(),
        };
        let a = DemoSource.fetch(&req).await.unwrap();
        let b = DemoSource.fetch(&req).await.unwrap();
        assert_eq!(a, b);
        assert_eq!(a.num_rows(), 5, "Monday to Friday");
    }

    #[test]
    fn settings_build_their_fetcher_or_say_why_not() {
        let schema = demo_schema();
        let bad = SourceSettings::Http {
            url: "http://x/{key}".into(),
            format: "xml".into(),
            timeout_seconds: 1,
            retries: 0,
            concurrency: 1,
        };
        let err = bad
            .fetcher(&schema, Some(RangeKind::Date), &[])
            .unwrap_err();
        assert!(err.0.contains("xml"), "{err}");
        let other = std::sync::Arc::new(Schema::new(vec![Field::new("x", DataType::Utf8, false)]));
        let err = SourceSettings::Demo
            .fetcher(&other, Some(RangeKind::Date), &[])
            .unwrap_err();
        assert!(err.0.contains("symbol Utf8"), "{err}");
        assert!(
            SourceSettings::Demo
                .fetcher(&schema, Some(RangeKind::Date), &[])
                .is_ok()
        );
        // Settings files written before a field existed still read.
        let old: SourceSettings =
            serde_json::from_str(r#"{"kind":"http","url":"u","format":"csv"}"#).unwrap();
        assert!(matches!(old, SourceSettings::Http { retries: 3, .. }));
    }
}
