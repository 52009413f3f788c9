//! `cacheness demo`: the main job end to end, timed.

use cacheness::deps::arrow::util::pretty::pretty_format_batches;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use cacheness::pull::interval::RangeKind;
use cacheness::pull::source::{SourceSettings, demo_schema};
use cacheness::pull::table::{RangeSettings, Settings};
use cacheness::pull::{FetchObserver, FetchRequest, PullTable};

use cacheness::deps::arrow::array::RecordBatch;
use cacheness::deps::ndarray::Array1;
use cacheness::{PutOptions, Serde, blocking::Cache, params};
use cacheness_bench::w3_table;
use rand::{SeedableRng, rngs::StdRng};
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

type DemoResult<T> = Result<T, Box<dyn std::error::Error>>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Experiment {
    model: String,
    accuracy: f64,
    epochs: u32,
    losses: Vec<f32>,
    tags: Vec<String>,
}

fn step<T>(name: &str, f: impl FnOnce() -> DemoResult<T>) -> DemoResult<T> {
    let t = Instant::now();
    let out = f()?;
    outln!("  {name:<44} {:>9.1} ms", t.elapsed().as_secs_f64() * 1e3)?;
    Ok(out)
}

fn check(ok: bool, what: &str) -> DemoResult<()> {
    if ok {
        Ok(())
    } else {
        Err(format!("{what}: value read back differs from the value put").into())
    }
}

pub fn run(dir: Option<PathBuf>) -> DemoResult<()> {
    let _tmp;
    let dir = match dir {
        Some(d) => d,
        None => {
            _tmp = tempfile::tempdir()?;
            _tmp.path().to_path_buf()
        }
    };
    outln!("cacheness demo in {}", dir.display())?;
    let cache = step("open cache", || Ok(Cache::open(&dir)?))?;

    let table = w3_table(1_000_000, 42);
    let tp = params!(kind = "table", dataset = "demo", rows = 1_000_000);
    step("put 1M-row Arrow table (Parquet)", || {
        Ok(cache.put_with(
            &table,
            &tp,
            &PutOptions::default().description("1M-row demo table"),
        )?)
    })?;
    let back: Option<RecordBatch> = step("get 1M-row Arrow table", || Ok(cache.get(&tp)?))?;
    check(back.as_ref() == Some(&table), "table")?;

    let mut rng = StdRng::seed_from_u64(7);
    let normal = Normal::new(0.0, 1.0)?;
    let array: Array1<f64> = Array1::from_iter((0..10_000_000).map(|_| normal.sample(&mut rng)));
    let ap = params!(kind = "array", dataset = "demo", n = 10_000_000);
    step("put 10M float64 array (Blosc2)", || {
        Ok(cache.put(&array, &ap)?)
    })?;
    let back: Option<Array1<f64>> = step("get 10M float64 array", || Ok(cache.get(&ap)?))?;
    check(
        back.as_ref().is_some_and(|b| {
            b.len() == array.len()
                && b.iter()
                    .zip(array.iter())
                    .all(|(x, y)| x.to_bits() == y.to_bits())
        }),
        "array",
    )?;

    let exp = Experiment {
        model: "xgboost".into(),
        accuracy: 0.9731,
        epochs: 10,
        losses: vec![0.9, 0.5, 0.31, 0.2],
        tags: vec!["baseline".into(), "demo".into()],
    };
    let sp = params!(kind = "struct", model = "xgboost", epochs = 10, lr = 0.1);
    step("put serde struct (MessagePack + zstd)", || {
        Ok(cache.put(&Serde(exp.clone()), &sp)?)
    })?;
    let back: Option<Serde<Experiment>> = step("get serde struct", || Ok(cache.get(&sp)?))?;
    check(back.map(|s| s.0) == Some(exp), "struct")?;

    let doc = serde_json::json!({
        "status": "ok",
        "results": [{"symbol": "AAPL", "price": 189.5}, {"symbol": "MSFT", "price": 411.2}],
        "page": {"next": null, "size": 2}
    });
    let jp = params!(kind = "json", endpoint = "/v1/quotes", page = 1);
    step("put JSON document", || Ok(cache.put(&doc, &jp)?))?;
    let back: Option<serde_json::Value> = step("get JSON document", || Ok(cache.get(&jp)?))?;
    check(back.as_ref() == Some(&doc), "json")?;

    step("flush catalog (one Delta commit)", || Ok(cache.flush()?))?;
    let entries = step("list catalog entries", || Ok(cache.list_entries()?))?;
    outln!("\ncatalog {}:", cache.catalog_location().label())?;
    outln!(
        "  {:<16} {:<12} {:<8} {:>12} {:>12}  params",
        "cache_key",
        "data_type",
        "format",
        "raw_bytes",
        "stored"
    )?;
    for e in &entries {
        outln!(
            "  {:<16} {:<12} {:<8} {:>12} {:>12}  {}",
            e.cache_key,
            e.data_type,
            e.format,
            e.raw_bytes,
            e.stored_bytes,
            e.params
        )?;
    }
    if entries.len() != 4 {
        return Err(format!("expected 4 catalog entries, found {}", entries.len()).into());
    }
    let query = "SELECT cache_key, data_type, stored_bytes FROM cache_entries \
                 WHERE dataset = 'demo' ORDER BY stored_bytes";
    let batches = step("SQL over the catalog", || Ok(cache.sql(query)?))?;
    outln!(
        "
{query}"
    )?;
    outln!("{}", pretty_format_batches(&batches)?)?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    if rows != 2 {
        return Err(format!("expected 2 entries with dataset = 'demo', found {rows}").into());
    }
    pull_through(&cache, &dir)?;
    cache.close()?;
    outln!("\nall 4 values read back bit-exactly; the pull-through table fetched only its gaps")?;
    Ok(())
}

/// Records each fetch as `KEY first..last`.
#[derive(Default)]
struct FetchLog(Mutex<Vec<String>>);

impl FetchObserver for FetchLog {
    fn stored(&self, _table: &str, f: &FetchRequest<String>, rows: usize) {
        let day = |t: i64| RangeKind::Date.text(t);
        if let Ok(mut log) = self.0.lock() {
            log.push(format!(
                "{} {}..{} ({rows} rows)",
                f.key,
                day(f.interval.start),
                day(f.interval.end - 1)
            ));
        }
    }
}

impl FetchLog {
    fn take(&self) -> Vec<String> {
        let mut l = self
            .0
            .lock()
            .map(|mut l| std::mem::take(&mut *l))
            .unwrap_or_default();
        l.sort();
        l
    }
}

/// A pull-through table over the built-in demo source: a first query fetches, a repeat is
/// served from the cache, an overlapping query fetches only the hole.
fn pull_through(cache: &Cache, dir: &std::path::Path) -> DemoResult<()> {
    outln!("\npull-through table `prices` (built-in deterministic daily prices):")?;
    let settings = Settings::for_timeseries(
        "symbol",
        RangeSettings {
            column: "day".into(),
            kind: RangeKind::Date,
            granularity: 1,
        },
    )
    .with_source(SourceSettings::Demo);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(PullTable::create(dir, "prices", demo_schema(), settings))?;
    let log = Arc::new(FetchLog::default());
    let queries = [
        ("first query", "2024-01-01", "2024-01-12", 1),
        ("the same again", "2024-01-01", "2024-01-12", 0),
        ("an overlapping query", "2024-01-08", "2024-01-19", 1),
    ];
    for (what, a, b, fetches) in queries {
        let q = format!(
            "SELECT symbol, count(*) AS days, round(avg(close), 2) AS avg_close FROM prices \
             WHERE symbol IN ('AAPL', 'MSFT') AND day BETWEEN DATE '{a}' AND DATE '{b}' \
             GROUP BY symbol ORDER BY symbol"
        );
        let batches = step(&format!("{what}: {a}..{b}"), || {
            Ok(cache.sql_observed(&q, log.clone())?)
        })?;
        let fetched = log.take();
        if fetched.is_empty() {
            outln!("    fetched nothing: served from the cache")?;
        }
        for f in &fetched {
            outln!("    fetched {f}")?;
        }
        if fetched.len() != 2 * fetches {
            return Err(
                format!("{what}: expected {} fetches, saw {fetched:?}", 2 * fetches).into(),
            );
        }
        outln!("{}", pretty_format_batches(&batches)?)?;
    }
    Ok(())
}
