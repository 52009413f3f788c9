//! Criterion benches of the hot paths. `cargo bench -p cacheness-bench`.

use std::time::Duration;

use cacheness::catalog::{Catalog, CatalogOp, CatalogRow, CommitPolicy};
use cacheness::codec::EncodeCtx;
use cacheness::deps::arrow::array::RecordBatch;
use cacheness::deps::ndarray::Array1;
use cacheness::{
    CacheConfig, Cacheable, CodecOptions, EntryMeta, RawObject, Serde, blocking::Cache, params,
};
use cacheness_bench::{SmallValue, normal_f64, runs_i32, small_params, small_value, w3_table};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

fn quiet(dir: &std::path::Path) -> Cache {
    Cache::open_with(CacheConfig::new(dir).with_commit_interval(Duration::from_secs(3600))).unwrap()
}

fn keys(c: &mut Criterion) {
    let small = small_params(4242);
    c.bench_function("key/small_params", |b| b.iter(|| small.key().unwrap()));
    let big = (0..100).fold(cacheness::Params::new(), |p, i| {
        p.with(&format!("p{i}"), i as f64 * 0.5)
    });
    c.bench_function("key/100_params", |b| b.iter(|| big.key().unwrap()));
}

fn small_objects(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let cache = quiet(dir.path());
    for i in 0..10_000 {
        cache.put(&Serde(small_value(i)), &small_params(i)).unwrap();
    }
    cache.flush().unwrap();
    let mut i = 10_000i64;
    c.bench_function("small/put (10k entries)", |b| {
        b.iter(|| {
            i += 1;
            cache.put(&Serde(small_value(i)), &small_params(i)).unwrap()
        })
    });
    let hit = small_params(4242);
    c.bench_function("small/get_hit (10k entries)", |b| {
        b.iter(|| cache.get::<Serde<SmallValue>>(&hit).unwrap().unwrap())
    });
    let miss = params!(model = "resnet50", dataset = "imagenet", i = -1);
    c.bench_function("small/get_miss", |b| {
        b.iter(|| cache.get::<Serde<SmallValue>>(&miss).unwrap())
    });
}

/// Encode one value into its payload bytes and decode it back, in memory (no files): the
/// format's own cost inside a put and a get.
fn codec_pair<T: Cacheable>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    value: &T,
    raw_bytes: u64,
) {
    let meta = EntryMeta::bare("00112233445566ff", T::DATA_TYPE);
    let options = CodecOptions::default();
    let ctx = EncodeCtx {
        meta: &meta,
        options: &options,
        mappable: true,
    };
    g.throughput(Throughput::Bytes(raw_bytes));
    g.bench_function(format!("{name}/encode"), |b| {
        b.iter(|| value.encode(&ctx).unwrap())
    });
    let encoded = bytes::Bytes::from(value.encode(&ctx).unwrap().bytes.into_vec());
    let format = T::DATA_TYPE.format();
    let (stored_meta, _) = format.read_meta(&encoded, "bench").unwrap();
    g.bench_function(format!("{name}/decode"), |b| {
        b.iter(|| T::decode(encoded.clone(), &stored_meta).unwrap())
    });
}

fn codecs(c: &mut Criterion) {
    let mut g = c.benchmark_group("codec");
    g.sample_size(20).measurement_time(Duration::from_secs(4));
    let small = Serde(small_value(4242));
    codec_pair(&mut g, "cnobj_small_struct", &small, 32);
    let blob = RawObject(
        (0..1_000_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect(),
    );
    codec_pair(&mut g, "cnobj_4MB_bytes", &blob, 4_000_000);
    let table = w3_table(100_000, 1);
    let tbytes = table.get_array_memory_size() as u64;
    codec_pair(&mut g, "parquet_100k_rows", &table, tbytes);
    let array = normal_f64(1_000_000, 2);
    codec_pair(&mut g, "b2nd_f64_8MB", &array, 8_000_000);
    g.finish();
}

fn big_values(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let cache = quiet(dir.path());
    let mut g = c.benchmark_group("big");
    g.sample_size(10).measurement_time(Duration::from_secs(8));

    let table = w3_table(1_000_000, 1);
    let tbytes: usize = table.get_array_memory_size();
    g.throughput(Throughput::Bytes(tbytes as u64));
    let tp = params!(w = "table");
    g.bench_function("table_1M/put", |b| {
        b.iter(|| cache.put(&table, &tp).unwrap())
    });
    g.bench_function("table_1M/get", |b| {
        b.iter(|| cache.get::<RecordBatch>(&tp).unwrap().unwrap())
    });

    let f = normal_f64(10_000_000, 2);
    g.throughput(Throughput::Bytes(80_000_000));
    let fp = params!(w = "f64");
    g.bench_function("f64_80MB/put", |b| b.iter(|| cache.put(&f, &fp).unwrap()));
    g.bench_function("f64_80MB/get", |b| {
        b.iter(|| cache.get::<Array1<f64>>(&fp).unwrap().unwrap())
    });

    let r = runs_i32(20_000_000, 3);
    g.throughput(Throughput::Bytes(80_000_000));
    let rp = params!(w = "i32");
    g.bench_function("i32_runs_80MB/put", |b| {
        b.iter(|| cache.put(&r, &rp).unwrap())
    });
    g.bench_function("i32_runs_80MB/get", |b| {
        b.iter(|| cache.get::<Array1<i32>>(&rp).unwrap().unwrap())
    });
    g.finish();
}

fn row(i: i64) -> Box<CatalogRow> {
    let p = small_params(i);
    Box::new(CatalogRow {
        cache_key: p.key().unwrap().into(),
        data_type: "object".into(),
        format: "cnobj".into(),
        path: "blobs/x".into(),
        raw_bytes: 20,
        stored_bytes: 120,
        content_hash: "0".repeat(32),
        created_at: i,
        expires_at: None,
        description: None,
        params_json: p.to_json().to_string(),
        params: cacheness::catalog::ColumnValue::columns_of(&p),
        name: None,
        signature: Some(
            String::from_utf8_lossy(cacheness_format::seal::SIGNATURE_PLACEHOLDER).into_owned(),
        ),
    })
}

fn catalog_commit(c: &mut Criterion) {
    let mut g = c.benchmark_group("catalog");
    g.sample_size(10);
    for existing in [1_000i64, 100_000] {
        let dir = tempfile::tempdir().unwrap();
        let policy = CommitPolicy {
            interval: Duration::from_secs(3600),
            max_rows: 1_000_000,
            ..CommitPolicy::default()
        };
        let catalog = Catalog::open(dir.path(), policy).unwrap();
        for batch in 0..existing / 1000 {
            for i in 0..1000 {
                catalog
                    .submit(CatalogOp::Put {
                        row: row(batch * 1000 + i),
                        replaces: false,
                    })
                    .unwrap();
            }
            catalog.flush_blocking().unwrap();
        }
        catalog.maintain_blocking(true).unwrap();
        let mut next = existing;
        g.bench_function(format!("commit_1000_rows_at_{existing}"), |b| {
            b.iter_batched(
                || {
                    for _ in 0..1000 {
                        next += 1;
                        catalog
                            .submit(CatalogOp::Put {
                                row: row(next),
                                replaces: false,
                            })
                            .unwrap();
                    }
                },
                |()| catalog.flush_blocking().unwrap(),
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    keys,
    codecs,
    small_objects,
    big_values,
    catalog_commit
);
criterion_main!(benches);
