//! Pull-through tables against a real HTTP source on loopback, shown by its request log: the
//! done-when cases of issue 7 (gaps, holes, empty answers, TTL, the volatile window, single
//! flight, failures, results identical to the source) and the HTTP fetcher's own behaviour
//! (retries, timeouts, the concurrency limit, URL encoding).

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use cacheness_pull::decode::Format;
use cacheness_pull::http::HttpFetcher;
use cacheness_pull::table::RangeSettings;
use cacheness_pull::{
    FetchRequest, Fetcher, Interval, PullProvider, PullTable, RangeKind, Settings, SharedFetcher,
};
use deltalake::arrow::array::RecordBatch;
use deltalake::arrow::compute::concat_batches;
use deltalake::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use deltalake::arrow::util::pretty::pretty_format_batches;
use deltalake::datafusion::prelude::SessionContext;
use support::Source;

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("symbol", DataType::Utf8, false),
        Field::new("day", DataType::Date32, false),
        Field::new("price", DataType::Float64, true),
    ]))
}

fn fetcher(src: &Source) -> HttpFetcher {
    HttpFetcher::new(
        &format!("{}/daily/{{key}}?start={{start}}&last={{last}}", src.base),
        Format::Csv,
        schema(),
        RangeKind::Date,
    )
    .retries(1, Duration::from_millis(10))
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

struct Fixture {
    _root: tempfile::TempDir,
    ctx: SessionContext,
    src: Source,
}

async fn fixture(settings: Settings) -> Fixture {
    let src = Source::start().await;
    let root = tempfile::tempdir().unwrap();
    let table = PullTable::create(root.path(), "prices", schema(), settings)
        .await
        .unwrap();
    let provider = PullProvider::new(Arc::new(table), SharedFetcher::new(fetcher(&src)))
        .await
        .unwrap();
    let ctx = SessionContext::new();
    ctx.register_table("prices", Arc::new(provider)).unwrap();
    Fixture {
        _root: root,
        ctx,
        src,
    }
}

impl Fixture {
    async fn sql(&self, q: &str) -> Result<Vec<RecordBatch>, String> {
        let df = self.ctx.sql(q).await.map_err(|e| e.to_string())?;
        df.collect().await.map_err(|e| e.to_string())
    }

    /// `symbol` from `a` to `b` (dates, inclusive), ordered by day.
    async fn days(&self, symbol: &str, a: &str, b: &str) -> Result<Vec<RecordBatch>, String> {
        self.sql(&format!(
            "SELECT symbol, day, price FROM prices WHERE symbol = '{symbol}' \
             AND day BETWEEN DATE '{a}' AND DATE '{b}' ORDER BY day"
        ))
        .await
    }
}

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_jan_1_to_10_a_query_for_jan_5_to_15_fetches_exactly_jan_11_to_15() {
    let f = fixture(daily()).await;
    f.days("AAPL", "2024-01-01", "2024-01-10").await.unwrap();
    assert_eq!(f.src.take_log(), ["AAPL 2024-01-01..2024-01-10"]);
    let r = f.days("AAPL", "2024-01-05", "2024-01-15").await.unwrap();
    assert_eq!(rows(&r), 11);
    assert_eq!(f.src.take_log(), ["AAPL 2024-01-11..2024-01-15"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_jan_5_to_10_a_query_for_jan_1_to_20_fetches_both_sides_in_parallel() {
    let f = fixture(daily()).await;
    f.days("AAPL", "2024-01-05", "2024-01-10").await.unwrap();
    f.src.take_log();
    f.src.take_max_in_flight();
    f.src.delay_ms.store(300, Ordering::SeqCst);
    let r = f.days("AAPL", "2024-01-01", "2024-01-20").await.unwrap();
    assert_eq!(rows(&r), 20);
    assert_eq!(
        f.src.take_log(),
        ["AAPL 2024-01-01..2024-01-04", "AAPL 2024-01-11..2024-01-20"]
    );
    assert_eq!(
        f.src.take_max_in_flight(),
        2,
        "both gaps were in flight at once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_jan_1_to_10_and_20_to_30_a_query_for_jan_1_to_30_fetches_only_the_hole() {
    let f = fixture(daily()).await;
    f.days("AAPL", "2024-01-01", "2024-01-10").await.unwrap();
    f.days("AAPL", "2024-01-20", "2024-01-30").await.unwrap();
    f.src.take_log();
    let r = f.days("AAPL", "2024-01-01", "2024-01-30").await.unwrap();
    assert_eq!(rows(&r), 30);
    assert_eq!(f.src.take_log(), ["AAPL 2024-01-11..2024-01-19"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_answer_is_covered_within_its_ttl_and_refetched_after() {
    let f = fixture(Settings {
        ttl_seconds: Some(2),
        ..daily()
    })
    .await;
    for _ in 0..3 {
        let r = f.days("EMPTY", "2024-12-24", "2024-12-26").await.unwrap();
        assert_eq!(rows(&r), 0);
    }
    assert_eq!(
        f.src.take_log(),
        ["EMPTY 2024-12-24..2024-12-26"],
        "a range with no rows is fetched once within its TTL"
    );
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    f.days("EMPTY", "2024-12-24", "2024-12-26").await.unwrap();
    assert_eq!(
        f.src.take_log(),
        ["EMPTY 2024-12-24..2024-12-26"],
        "expired coverage is fetched again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_volatile_window_refetches_the_last_days_and_nothing_else() {
    let f = fixture(Settings::for_realtime_timeseries(
        "symbol",
        RangeSettings {
            column: "day".into(),
            kind: RangeKind::Date,
            granularity: 1,
        },
    ))
    .await;
    let today = chrono::Utc::now().date_naive();
    let ago = |d: i64| (today - chrono::Duration::days(d)).to_string();
    f.days("AAPL", &ago(9), &ago(0)).await.unwrap();
    assert_eq!(f.src.take_log(), [format!("AAPL {}..{}", ago(9), ago(0))]);
    // Within the TTL, only the volatile window (yesterday and today) is asked again.
    f.days("AAPL", &ago(9), &ago(0)).await.unwrap();
    assert_eq!(f.src.take_log(), [format!("AAPL {}..{}", ago(1), ago(0))]);
    // A range entirely before the window is final.
    f.days("AAPL", &ago(9), &ago(3)).await.unwrap();
    assert!(f.src.take_log().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_concurrent_identical_queries_cause_one_fetch() {
    let f = Arc::new(fixture(daily()).await);
    f.src.delay_ms.store(300, Ordering::SeqCst);
    let queries: Vec<_> = (0..8)
        .map(|_| {
            let f = f.clone();
            tokio::spawn(async move { f.days("AAPL", "2024-03-01", "2024-03-31").await })
        })
        .collect();
    for q in queries {
        assert_eq!(rows(&q.await.unwrap().unwrap()), 31);
    }
    assert_eq!(f.src.take_log(), ["AAPL 2024-03-01..2024-03-31"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_source_fails_the_query_naming_key_and_range_and_leaves_it_uncovered() {
    let f = fixture(daily()).await;
    let q = "SELECT * FROM prices WHERE symbol IN ('AAPL', 'DOWN') \
             AND day BETWEEN DATE '2024-02-01' AND DATE '2024-02-03'";
    let err = f.sql(q).await.unwrap_err();
    assert!(
        err.contains("DOWN")
            && err.contains("2024-02-01")
            && err.contains("503")
            && err.contains("the source is down"),
        "{err}"
    );
    assert_eq!(
        f.src.take_log(),
        [
            "AAPL 2024-02-01..2024-02-03",
            "DOWN 2024-02-01..2024-02-03",
            "DOWN 2024-02-01..2024-02-03"
        ],
        "a 503 is retried once (retries = 1)"
    );
    // AAPL's fetch of the same query stays stored and covered; DOWN is asked again.
    let r = f.days("AAPL", "2024-02-01", "2024-02-03").await.unwrap();
    assert_eq!(rows(&r), 3);
    assert!(f.src.take_log().is_empty());
    f.sql(q).await.unwrap_err();
    assert_eq!(f.src.take_log().len(), 2, "DOWN was not covered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_are_identical_to_querying_the_source_directly() {
    let f = fixture(daily()).await;
    // Stitched from several fetches: two earlier ones and the holes around them.
    f.days("MSFT", "2024-01-03", "2024-01-07").await.unwrap();
    f.days("MSFT", "2024-01-12", "2024-01-14").await.unwrap();
    let cached = f.days("MSFT", "2024-01-01", "2024-01-20").await.unwrap();
    let direct = fetcher(&f.src)
        .fetch(&FetchRequest {
            key: "MSFT".to_string(),
            interval: Interval::new(19_723, 19_743).unwrap(),
        })
        .await
        .unwrap();
    let cached = concat_batches(&cached[0].schema(), &cached).unwrap();
    assert_eq!(
        pretty_format_batches(&[cached]).unwrap().to_string(),
        pretty_format_batches(&[direct]).unwrap().to_string()
    );
}

fn request(key: &str) -> FetchRequest<String> {
    FetchRequest {
        key: key.to_string(),
        interval: Interval::new(19_723, 19_725).unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_fetcher_retries_with_backoff_and_gives_up_on_client_errors() {
    let src = Source::start().await;
    src.fail_next.store(2, Ordering::SeqCst);
    let f = fetcher(&src).retries(2, Duration::from_millis(20));
    let started = std::time::Instant::now();
    let b = f.fetch(&request("AAPL")).await.unwrap();
    assert_eq!(b.num_rows(), 2);
    assert_eq!(src.take_log().len(), 3, "two 503s, then the answer");
    assert!(
        started.elapsed() >= Duration::from_millis(60),
        "waited 20 ms, then 40 ms"
    );
    let err = f.fetch(&request("MISSING")).await.unwrap_err().to_string();
    assert!(
        err.contains("404") && err.contains("no such symbol"),
        "{err}"
    );
    assert_eq!(src.take_log().len(), 1, "a 404 is not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_fetcher_times_out_limits_concurrency_and_encodes_keys() {
    let src = Source::start().await;
    src.delay_ms.store(1_000, Ordering::SeqCst);
    let slow = fetcher(&src)
        .timeout(Duration::from_millis(200))
        .retries(0, Duration::ZERO);
    let err = slow.fetch(&request("AAPL")).await.unwrap_err().to_string();
    assert!(err.contains("timed out") && err.contains("AAPL"), "{err}");

    // A new source: the timed-out request is still being answered by the first.
    let src = Source::start().await;
    src.delay_ms.store(100, Ordering::SeqCst);
    let one = fetcher(&src).concurrency(1);
    let keys = ["A", "B", "C", "D"].map(request);
    let all = futures::future::join_all(keys.iter().map(|k| one.fetch(k))).await;
    assert!(all.iter().all(Result::is_ok));
    assert_eq!(src.take_max_in_flight(), 1, "one request at a time");

    src.take_log();
    src.delay_ms.store(0, Ordering::SeqCst);
    let hostile = "A/B?x=1&start=1999-01-01 #";
    let b = fetcher(&src).fetch(&request(hostile)).await.unwrap();
    assert_eq!(
        src.take_log(),
        [format!("{hostile} 2024-01-01..2024-01-02")],
        "the key reached the source whole, the range unchanged"
    );
    assert_eq!(b.num_rows(), 2);
}
