//! Where listing and stats spend their time, on a W1-style cache of N entries (default
//! 10,000): `cargo run --release -p cacheness-bench --example catalog_breakdown [-- N]`.

use std::time::{Duration, Instant};

use cacheness::{CacheConfig, Serde, blocking::Cache};
use cacheness_bench::timing::Samples;
use cacheness_bench::{small_params, small_value};
use cacheness_catalog::delta::DeltaCatalog;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open_with(
        CacheConfig::new(dir.path()).with_commit_interval(Duration::from_secs(3600)),
    )
    .unwrap();
    for i in 0..n {
        cache
            .put(&Serde(small_value(i as i64)), &small_params(i as i64))
            .unwrap();
    }
    cache.flush().unwrap();
    let ms = |s: Samples| s.p50() / 1e3;
    let list = ms(Samples::collect(9, |_| {
        std::hint::black_box(cache.list_entries().unwrap());
    }));
    let stats = ms(Samples::collect(9, |_| {
        std::hint::black_box(cache.stats().unwrap());
    }));
    let rows = ms(Samples::collect(9, |_| {
        std::hint::black_box(cache.catalog().list_blocking().unwrap());
    }));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let table = cache.catalog_location();
    let table_dir = table.local_dir().unwrap().to_path_buf();
    let (open, scan) = rt.block_on(async {
        let t = Instant::now();
        let mut delta = DeltaCatalog::open(&table).await.unwrap();
        let first = delta
            .rows(cacheness_catalog::Projection::Full)
            .await
            .unwrap();
        let open = t.elapsed().as_secs_f64() * 1e3;
        assert_eq!(first.len(), n);
        let mut times = Vec::new();
        for _ in 0..9 {
            let t = Instant::now();
            std::hint::black_box(
                delta
                    .rows(cacheness_catalog::Projection::Full)
                    .await
                    .unwrap(),
            );
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        times.sort_by(f64::total_cmp);
        (open, times[4])
    });
    let parquet = ms(Samples::collect(9, |_| {
        let mut rows = 0;
        for f in std::fs::read_dir(&table_dir)
            .unwrap()
            .filter_map(Result::ok)
        {
            if f.path().extension().is_some_and(|e| e == "parquet") {
                let file = std::fs::File::open(f.path()).unwrap();
                let reader =
                    deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                        .unwrap()
                        .build()
                        .unwrap();
                for b in reader {
                    rows += b.unwrap().num_rows();
                }
            }
        }
        std::hint::black_box(rows);
    }));
    println!("entries: {n}; medians of 9, ms");
    println!("  list_entries                       {list:.2}");
    println!("  stats                              {stats:.2}");
    println!("  catalog rows (snapshot + journals) {rows:.2}");
    println!("  Delta open + first read            {open:.2}");
    println!("  DeltaCatalog::rows (table loaded) {scan:.2}");
    println!("  bare Parquet read of the data files {parquet:.2}");
}
