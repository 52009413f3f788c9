//! W3 tables: put/get 3 times of the 6-column table; baselines: arrow-rs Parquet (same codec)
//! to a plain file, and an Arrow IPC file with LZ4.

use std::fs::File;

use cacheness::deps::arrow::array::RecordBatch;
use cacheness::deps::arrow::ipc::{
    CompressionType, reader::FileReader, writer::FileWriter, writer::IpcWriteOptions,
};
use cacheness::params;
use deltalake::parquet::arrow::ArrowWriter;
use deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use deltalake::parquet::basic::{Compression, ZstdLevel};
use deltalake::parquet::file::properties::WriterProperties;
use serde_json::json;

use super::{RunConfig, dir_bytes, open_workload_cache, scratch, timed_part_reads};
use crate::timing::{Samples, mb_per_s, round};
use crate::w3_table;

const REPS: usize = 3;

/// Run W3.
pub fn run(cfg: &RunConfig) -> serde_json::Value {
    let rows = if cfg.quick { 100_000 } else { 1_000_000 };
    let table = w3_table(rows, 1);
    let bytes = table.get_array_memory_size();
    let dir = scratch(cfg, "w3");
    let cache = open_workload_cache(cfg, dir.path());
    cache.put(&table, &params!(warmup = 1)).ok();
    cache.invalidate(&params!(warmup = 1)).ok();
    let put = Samples::collect(REPS, |i| {
        cache.put(&table, &params!(table = "w3", rep = i)).ok();
    });
    let stored = dir_bytes(&dir.path().join("blobs")) / REPS as u64;
    let mut back = Vec::new();
    let get = Samples::collect(REPS, |i| {
        back.push(cache.get::<RecordBatch>(&params!(table = "w3", rep = i)))
    });
    let ok = back
        .into_iter()
        .all(|b| matches!(b, Ok(Some(b)) if b == table));
    // SQL over the cached table where it lies: one incompressible column, and one that
    // compresses to almost nothing. Only their column chunks are read.
    let scan = |sql: &'static str| {
        timed_part_reads(&cache, || {
            cache.sql(sql).ok();
        })
    };
    let sum_x1 = scan("SELECT sum(x1) FROM cached_table('table', 'w3', 'rep', 0)");
    let max_ts = scan("SELECT max(timestamp) FROM cached_table('table', 'w3', 'rep', 0)");

    let pq_path = dir.path().join("raw.parquet");
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).unwrap_or_default()))
        .build();
    let pq_put = Samples::collect(REPS, |_| {
        if let Ok(f) = File::create(&pq_path)
            && let Ok(mut w) = ArrowWriter::try_new(f, table.schema(), Some(props.clone()))
        {
            w.write(&table).ok();
            w.close().ok();
        }
    });
    let pq_get = Samples::collect(REPS, |_| {
        if let Ok(f) = File::open(&pq_path)
            && let Ok(b) = ParquetRecordBatchReaderBuilder::try_new(f)
            && let Ok(r) = b.with_batch_size(rows).build()
        {
            std::hint::black_box(r.collect::<Vec<_>>());
        }
    });
    let pq_size = std::fs::metadata(&pq_path).map(|m| m.len()).unwrap_or(0);
    let ipc_path = dir.path().join("raw.arrow");
    let ipc_put = Samples::collect(REPS, |_| {
        let opts =
            IpcWriteOptions::default().try_with_compression(Some(CompressionType::LZ4_FRAME));
        if let Ok(f) = File::create(&ipc_path)
            && let Ok(opts) = opts
            && let Ok(mut w) = FileWriter::try_new_with_options(f, &table.schema(), opts)
        {
            w.write(&table).ok();
            w.finish().ok();
        }
    });
    let ipc_get = Samples::collect(REPS, |_| {
        if let Ok(f) = File::open(&ipc_path)
            && let Ok(r) = FileReader::try_new(f, None)
        {
            std::hint::black_box(r.collect::<Vec<_>>());
        }
    });
    let ipc_size = std::fs::metadata(&ipc_path).map(|m| m.len()).unwrap_or(0);
    let p = |s: &Samples| mb_per_s(bytes, s.p50());
    json!({
        "workload": "W3",
        "sizes": {"rows": rows, "columns": 6, "arrow_bytes": bytes, "reps": REPS},
        "figures": {
            "put_mb_s": p(&put), "get_mb_s": p(&get), "stored_bytes": stored,
            "put_ms": round(put.p50() / 1e3), "get_ms": round(get.p50() / 1e3),
            "stored_over_arrow": round(stored as f64 / bytes as f64), "values_checked": ok,
            "sql_sum_x1": sum_x1, "sql_max_timestamp": max_ts,
        },
        "baselines": {
            "parquet_file": {"put_mb_s": p(&pq_put), "get_mb_s": p(&pq_get), "stored_bytes": pq_size},
            "arrow_ipc_lz4": {"put_mb_s": p(&ipc_put), "get_mb_s": p(&ipc_get), "stored_bytes": ipc_size},
        },
        "ratios": {"put_vs_parquet": round(pq_put.p50() / put.p50()), "get_vs_parquet": round(pq_get.p50() / get.p50())},
        "targets": {"put_gb_s": 0.7, "get_gb_s": 1.5, "vs_parquet": 0.9},
    })
}
