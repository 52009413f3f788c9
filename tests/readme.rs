//! The README's quick start, compiled and run (keep the two in step).

use cacheness::{PutOptions, Serde, blocking::Cache, params};
use std::time::Duration;

#[test]
fn readme_quick_start() -> Result<(), cacheness::Error> {
    let dir = tempfile::tempdir().map_err(|e| cacheness::Error::Io {
        path: "tmp".into(),
        source: e,
    })?;
    let cache = Cache::open(dir.path().join(".cacheness"))?;

    // Any serde value, keyed by named, typed parameters.
    let p = params!(model = "xgboost", dataset = "train", epochs = 10);
    cache.put(&Serde(vec![0.91, 0.93]), &p)?;
    let scores: Option<Serde<Vec<f64>>> = cache.get(&p)?;
    assert_eq!(scores, Some(Serde(vec![0.91, 0.93])));

    // Arrow tables (Parquet), ndarray arrays (Blosc2), bytes, JSON; with a TTL and a description.
    let arr = ndarray::Array1::<f64>::linspace(0.0, 1.0, 1_000_000);
    cache.put_with(
        &arr,
        &params!(kind = "grid"),
        &PutOptions::default()
            .ttl(Duration::from_secs(3600))
            .description("grid"),
    )?;

    // What is in the cache: the Delta snapshot plus rows not yet committed.
    let mut n = 0;
    for e in cache.list_entries()? {
        println!(
            "{} {} {} bytes {}",
            e.cache_key, e.data_type, e.stored_bytes, e.params
        );
        n += 1;
    }
    assert_eq!(n, 2);
    cache.flush()?; // commit pending catalog rows to Delta now (otherwise within 1 s)

    // SQL over the catalog (DataFusion): one column per key parameter.
    let batches =
        cache.sql("SELECT cache_key, stored_bytes FROM cache_entries WHERE model = 'xgboost'")?;
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    Ok(())
}

static TRAIN_CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();

/// The README's `#[cached]` example, with a cache of the test's own (the README's uses the
/// default cache at `$CACHENESS_DIR` or `./.cacheness`).
#[cacheness::cached(
    cache = TRAIN_CACHE.get().ok_or(cacheness::Error::Background { reason: "not open".into() }),
    version = 1, ttl = "7d", ignore = [verbose]
)]
fn train(data: &std::path::Path, epochs: u32, verbose: bool) -> Result<Vec<f64>, std::io::Error> {
    let text = std::fs::read_to_string(data)?; // runs on a miss only
    let _ = verbose;
    Ok(vec![text.len() as f64 * f64::from(epochs)])
}

#[test]
fn readme_function_caching() {
    let dir = tempfile::tempdir().unwrap();
    TRAIN_CACHE
        .set(Cache::open(dir.path().join(".cacheness")).unwrap())
        .ok();
    let data = dir.path().join("train.csv");
    std::fs::write(&data, "x\n1\n").unwrap();
    assert_eq!(train(&data, 2, false).unwrap(), [8.0]);
    assert_eq!(train(&data, 2, true).unwrap(), [8.0]);
    assert_eq!(train_cache_info().hits, 1);
    assert!(train(&dir.path().join("missing.csv"), 2, false).is_err());
}
