//! A pull-through table on an object store (moto's S3 server on loopback), filled from an HTTP
//! source on loopback: gaps are fetched once, and a second host, with local state of its own,
//! answers from what the first stored in the bucket without fetching again.

use cacheness_test_support::s3;
mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use cacheness_pull::decode::Format;
use cacheness_pull::http::HttpFetcher;
use cacheness_pull::table::RangeSettings;
use cacheness_pull::{PullProvider, PullTable, RangeKind, Settings, SharedFetcher, TablesRoot};
use cacheness_storage::Location;
use deltalake::arrow::array::{Float64Array, RecordBatch};
use deltalake::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use deltalake::datafusion::prelude::SessionContext;
use support::Source;

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("symbol", DataType::Utf8, false),
        Field::new("day", DataType::Date32, false),
        Field::new("price", DataType::Float64, true),
    ]))
}

fn fetcher(src: &Source) -> SharedFetcher {
    SharedFetcher::new(
        HttpFetcher::new(
            &format!("{}/daily/{{key}}?start={{start}}&last={{last}}", src.base),
            Format::Csv,
            schema(),
            RangeKind::Date,
        )
        .retries(1, Duration::from_millis(10)),
    )
}

/// The tables of the cache at `s3://pull/cache`, as the host whose local state is `local`.
fn root(s3: &s3::S3, local: &std::path::Path) -> TablesRoot {
    let options: HashMap<String, String> = s3
        .options()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    TablesRoot {
        shared: Location::parse(&s3.url("cache"), &options)
            .unwrap()
            .join("tables"),
        local: local.join("tables"),
    }
}

async fn query(table: PullTable, src: &Source, a: &str, b: &str) -> Vec<RecordBatch> {
    let provider = PullProvider::new(Arc::new(table), fetcher(src))
        .await
        .unwrap();
    let ctx = SessionContext::new();
    ctx.register_table("prices", Arc::new(provider)).unwrap();
    ctx.sql(&format!(
        "SELECT price FROM prices WHERE symbol = 'AAPL' \
         AND day BETWEEN DATE '{a}' AND DATE '{b}' ORDER BY day"
    ))
    .await
    .unwrap()
    .collect()
    .await
    .unwrap()
}

fn prices(batches: &[RecordBatch]) -> Vec<f64> {
    batches
        .iter()
        .flat_map(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<Float64Array>()
                .unwrap()
                .values()
                .to_vec()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_on_the_bucket_fills_gaps_once_for_every_host() {
    let s3 = s3::S3::start("pull");
    let src = Source::start().await;
    let (host_a, host_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let settings = Settings::for_timeseries(
        "symbol",
        RangeSettings {
            column: "day".into(),
            kind: RangeKind::Date,
            granularity: 1,
        },
    );
    let a = PullTable::create(&root(&s3, host_a.path()), "prices", schema(), settings)
        .await
        .unwrap();
    let first = query(a, &src, "2024-01-01", "2024-01-10").await;
    assert_eq!(src.take_log(), ["AAPL 2024-01-01..2024-01-10"]);
    let epoch_day = 19723; // 2024-01-01
    let want: Vec<f64> = (0..10)
        .map(|d| support::price("AAPL", epoch_day + d))
        .collect();
    assert_eq!(prices(&first), want);
    // Everything lives in the bucket: settings, rows, coverage.
    let stored = s3.keys("cache/tables/prices/");
    for part in ["settings.json", "data/_delta_log/", "coverage/_delta_log/"] {
        assert!(
            stored.iter().any(|k| k.contains(part)),
            "{part} not in {stored:?}"
        );
    }
    // Host B (its own local state) lists and opens the table from the bucket, answers the
    // covered range without a fetch, and fetches only the part nobody has.
    let names = PullTable::list(&root(&s3, host_b.path())).await.unwrap();
    assert_eq!(names, ["prices"]);
    let b = PullTable::open(&root(&s3, host_b.path()), "prices")
        .await
        .unwrap();
    let again = query(b, &src, "2024-01-05", "2024-01-15").await;
    assert_eq!(src.take_log(), ["AAPL 2024-01-11..2024-01-15"]);
    let want: Vec<f64> = (4..15)
        .map(|d| support::price("AAPL", epoch_day + d))
        .collect();
    assert_eq!(prices(&again), want);
    // Host A sees B's fill: nothing left to fetch.
    let a = PullTable::open(&root(&s3, host_a.path()), "prices")
        .await
        .unwrap();
    query(a, &src, "2024-01-01", "2024-01-15").await;
    assert!(src.take_log().is_empty());
}
