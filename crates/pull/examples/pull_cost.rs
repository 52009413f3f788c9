//! What a pull-through table costs once it holds what is asked:
//!
//! 1. a `for_lookup_table` point lookup of a cached key through the API (`table.get`), over
//!    10,000 cached keys;
//! 2. a fully cached SQL query (one symbol, one year of days, from 20 symbols × 5 years)
//!    through the pull-through provider, against the same query over the same Delta/Parquet
//!    rows registered directly, interleaved.
//!
//! Prints p50 and p95 in µs. `cargo run --release -p cacheness-pull --example pull_cost`

use std::sync::Arc;
use std::time::Instant;

use cacheness_pull::interval::RangeKind;
use cacheness_pull::table::RangeSettings;
use cacheness_pull::{
    FetchError, FetchRequest, PullProvider, PullTable, Settings, SharedFetcher, from_fn,
};
use deltalake::arrow::array::{ArrayRef, Date32Array, Float64Array, RecordBatch, StringArray};
use deltalake::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use deltalake::datafusion::prelude::SessionContext;

fn percentiles(mut t: Vec<f64>) -> (f64, f64) {
    t.sort_by(f64::total_cmp);
    (t[t.len() / 2], t[t.len() * 95 / 100])
}

fn users() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("score", DataType::Float64, true),
    ]))
}

fn prices() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("symbol", DataType::Utf8, false),
        Field::new("day", DataType::Date32, false),
        Field::new("close", DataType::Float64, true),
    ]))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = tempfile::tempdir()?;

    // 1. Point lookups.
    let user = from_fn(|req: FetchRequest<String>| async move {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![req.key.clone()])),
            Arc::new(StringArray::from(vec![format!("user {}", req.key)])),
            Arc::new(Float64Array::from(vec![req.key.len() as f64])),
        ];
        RecordBatch::try_new(users(), columns).map_err(|e| FetchError::of(&req, e))
    });
    let table = PullTable::create(
        root.path(),
        "users",
        users(),
        Settings::for_lookup_table("id"),
    )
    .await?;
    let keys: Vec<String> = (0..10_000).map(|i| format!("u{i:05}")).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let t = Instant::now();
    table.get(&refs, None, &user).await?;
    println!(
        "lookup table: 10,000 keys fetched and stored in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let mut times = Vec::new();
    for i in 0..20_000 {
        let key = [refs[(i * 7919) % refs.len()]];
        let t = Instant::now();
        let rows = table.get(&key, None, &user).await?;
        times.push(t.elapsed().as_secs_f64() * 1e6);
        assert_eq!(rows[0].num_rows(), 1);
    }
    let (p50, p95) = percentiles(times);
    println!("lookup point get of a cached key: p50 {p50:.1} µs, p95 {p95:.1} µs");

    // 2. A fully cached query vs the same scan of the stored rows.
    let source = from_fn(|req: FetchRequest<String>| async move {
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
        RecordBatch::try_new(prices(), columns).map_err(|e| FetchError::of(&req, e))
    });
    let settings = Settings::for_timeseries(
        "symbol",
        RangeSettings {
            column: "day".into(),
            kind: RangeKind::Date,
            granularity: 1,
        },
    );
    let table = PullTable::create(root.path(), "prices", prices(), settings).await?;
    let symbols: Vec<String> = (0..20).map(|i| format!("S{i:02}")).collect();
    let refs: Vec<&str> = symbols.iter().map(String::as_str).collect();
    // 2019-01-01 .. 2023-12-31
    table
        .get(
            &refs,
            cacheness_pull::Interval::new(17_897, 19_723),
            &source,
        )
        .await?;
    let direct = table.stored_rows().await?;
    let table = Arc::new(table);
    let ctx = SessionContext::new();
    ctx.register_table(
        "prices",
        Arc::new(PullProvider::new(table.clone(), SharedFetcher::new(source)).await?),
    )?;
    ctx.register_table("direct", direct)?;
    let query = |t: &str| {
        format!(
            "SELECT day, close FROM {t} WHERE symbol = 'S07' \
             AND day BETWEEN DATE '2021-01-01' AND DATE '2021-12-31'"
        )
    };
    let (mut pulled, mut scanned) = (Vec::new(), Vec::new());
    for i in 0..400 {
        for (t, out) in [("prices", &mut pulled), ("direct", &mut scanned)] {
            let s = Instant::now();
            let rows: usize = ctx
                .sql(&query(t))
                .await?
                .collect()
                .await?
                .iter()
                .map(RecordBatch::num_rows)
                .sum();
            if i >= 20 {
                out.push(s.elapsed().as_secs_f64() * 1e6);
            }
            assert_eq!(rows, 365);
        }
    }
    let (p50, p95) = percentiles(pulled);
    let (d50, d95) = percentiles(scanned);
    println!(
        "cached query: pull-through p50 {p50:.0} µs p95 {p95:.0} µs; direct scan p50 {d50:.0} µs \
         p95 {d95:.0} µs; overhead p50 {:.0} µs p95 {:.0} µs",
        p50 - d50,
        p95 - d95
    );
    Ok(())
}
