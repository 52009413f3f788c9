//! Large bytes values put from a reader and read into a writer in bounded memory
//! (`cacheness::streamed`, `docs/LIFECYCLE.md` "Large values"): the same entries as puts in
//! memory, checked whole before a byte is served, and refused if the file changes between the
//! check and the read.

use crate::common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use cacheness::streamed::{STREAM_MIN, StreamedPayload};
use cacheness::{PutOptions, RawObject, params};

/// `len` pseudo-random (incompressible) bytes.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn payload_path(root: &Path, key: &str) -> PathBuf {
    root.join(format!("blobs/{}/{key}.cnobj", &key[..2]))
}

/// Read a streamed payload's value whole (the tests' way to compare it).
fn streamed_value(
    cache: &cacheness::blocking::Cache,
    key: &cacheness::CacheKey,
) -> Option<Vec<u8>> {
    let (info, payload) = cache.payload_streamed(key).unwrap()?;
    let StreamedPayload::Bytes(mut reader) = payload else {
        panic!("a large bytes value on disk is streamed");
    };
    assert_eq!(reader.len(), info.raw_bytes);
    let mut value = Vec::new();
    reader.read_to_end(&mut value).unwrap();
    Some(value)
}

const LARGE: usize = STREAM_MIN as usize + (3 << 20);

#[test]
fn a_large_value_put_from_a_reader_is_the_value_a_get_returns() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let value = noise(LARGE, 7);
    let p = params!(n = 1);
    let opts = PutOptions::default().description("large");
    let key = cache
        .put_reader_with(&mut value.as_slice(), &p, &opts)
        .unwrap();

    // Read in parts, and by the get of the in-memory API: the same container.
    assert_eq!(streamed_value(&cache, &key).as_deref(), Some(&value[..]));
    assert_eq!(
        cache.get::<Vec<u8>>(&p).unwrap().as_deref(),
        Some(&value[..])
    );
    let info = cache.info(&key).unwrap().unwrap();
    assert_eq!(info.raw_bytes, LARGE as u64);
    assert_eq!(info.description.as_deref(), Some("large"));
    let file_len = std::fs::metadata(payload_path(dir.path(), &key))
        .unwrap()
        .len();
    assert_eq!(info.stored_bytes, file_len);
    // The content hash in its slot is the file's: a signed payload's hash is not recomputed by
    // a get, so only this says the hash written while streaming is right.
    let file = std::fs::read(payload_path(dir.path(), &key)).unwrap();
    assert_eq!(
        cacheness_format::seal::check(&file, cacheness_format::seal::SlotAt::Front),
        Some(info.content_hash.clone())
    );
    // No scratch or temporary file is left in the shard.
    let shard = payload_path(dir.path(), &key)
        .parent()
        .unwrap()
        .to_path_buf();
    assert_eq!(std::fs::read_dir(shard).unwrap().count(), 1);
    // The catalog row agrees with the payload: verify finds nothing to report.
    cache.flush().unwrap();
    let report = cache.verify().unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let stats = cache.stats().unwrap();
    assert_eq!(
        stats.hits, 2,
        "the streamed read and the get; info is not a get"
    );
}

#[test]
fn a_large_value_that_compresses_well_is_finished_in_memory_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let value: Vec<u8> = (0..LARGE).map(|i| (i / 4096 % 7) as u8).collect();
    let p = params!(n = 2);
    let key = cache
        .put_reader_with(&mut value.as_slice(), &p, &PutOptions::default())
        .unwrap();
    let stored = std::fs::metadata(payload_path(dir.path(), &key))
        .unwrap()
        .len();
    assert!(stored < (1 << 20), "compressed to {stored} bytes");
    assert_eq!(
        cache.get::<Vec<u8>>(&p).unwrap().as_deref(),
        Some(&value[..])
    );
    // A small file: read whole.
    let (_, payload) = cache.payload_streamed(&key).unwrap().unwrap();
    assert!(matches!(payload, StreamedPayload::Whole(_)));
}

#[test]
fn a_small_value_from_a_reader_is_the_entry_a_put_in_memory_makes() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let value = noise(5000, 3);
    let (a, b) = (params!(n = 1), params!(n = 2));
    let ka = cache
        .put_reader_with(&mut value.as_slice(), &a, &PutOptions::default())
        .unwrap();
    let kb = cache.put(&value, &b).unwrap();
    let read = |k: &str| std::fs::read(payload_path(dir.path(), k)).unwrap();
    // Same layout and size (the keys, times and signatures differ).
    assert_eq!(read(&ka).len(), read(&kb).len());
    assert_eq!(cache.get::<Vec<u8>>(&a).unwrap(), Some(value));
}

#[test]
fn a_large_value_stored_uncompressed_streams_as_is() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    // Put in memory: noise does not shrink, so it is stored with codec "none".
    let value = noise(LARGE, 11);
    let key = cache.put(&value, &params!(n = 3)).unwrap();
    assert_eq!(streamed_value(&cache, &key).as_deref(), Some(&value[..]));
}

#[test]
fn a_large_object_is_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let key = cache
        .put(&RawObject(noise(LARGE, 5)), &params!(n = 4))
        .unwrap();
    let (info, payload) = cache.payload_streamed(&key).unwrap().unwrap();
    assert_eq!(info.data_type, cacheness::DataType::Object);
    let StreamedPayload::Whole(bytes) = payload else {
        panic!("only bytes values are streamed");
    };
    assert_eq!(bytes.len() as u64, info.stored_bytes);
}

#[test]
fn a_payload_changed_after_its_check_fails_the_read() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let value = noise(LARGE, 13);
    let key = cache
        .put_reader_with(
            &mut value.as_slice(),
            &params!(n = 5),
            &PutOptions::default(),
        )
        .unwrap();
    let (_, payload) = cache.payload_streamed(&key).unwrap().unwrap();
    let StreamedPayload::Bytes(mut reader) = payload else {
        panic!("streamed");
    };
    // Someone with write access rewrites a byte in place after the first pass.
    let path = payload_path(dir.path(), &key);
    let len = std::fs::metadata(&path).unwrap().len();
    let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    use std::io::{Seek, SeekFrom};
    file.seek(SeekFrom::Start(len - 100)).unwrap();
    file.write_all(b"X").unwrap();
    drop(file);
    let mut out = Vec::new();
    let err = reader.read_to_end(&mut out).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(
        err.to_string().contains("changed while it was read"),
        "{err}"
    );
    // The next get checks the file again and refuses it.
    assert_eq!(cache.payload_streamed(&key).unwrap().map(|_| ()), None);
    assert!(!path.exists(), "the damaged payload is removed");
}

#[test]
fn a_damaged_or_expired_large_payload_is_a_miss() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let value = noise(LARGE, 17);
    let key = cache
        .put_reader_with(
            &mut value.as_slice(),
            &params!(n = 6),
            &PutOptions::default(),
        )
        .unwrap();
    let path = payload_path(dir.path(), &key);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(cache.payload_streamed(&key).unwrap().map(|_| ()), None);
    assert!(!path.exists(), "removed");

    let opts = PutOptions::default().ttl(std::time::Duration::from_secs(1));
    let key = cache
        .put_reader_with(&mut value.as_slice(), &params!(n = 7), &opts)
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(cache.payload_streamed(&key).unwrap().map(|_| ()), None);
    assert!(!payload_path(dir.path(), &key).exists(), "expired: removed");
    assert_eq!(cache.stats().unwrap().misses, 2);
}

#[test]
fn a_reader_that_fails_puts_nothing_and_names_the_key() {
    struct Failing(usize);
    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("the disk went away"));
            }
            let n = buf.len().min(self.0);
            buf[..n].fill(1);
            self.0 -= n;
            Ok(n)
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    let p = params!(n = 8);
    // Fails after the first part (streamed) and before it (in memory).
    for len in [LARGE, 1000] {
        let err = cache
            .put_reader_with(&mut Failing(len), &p, &PutOptions::default())
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("the disk went away"), "{text}");
        assert!(text.contains(p.key().unwrap().as_str()), "{text}");
        assert!(matches!(err, cacheness::Error::Read { .. }));
    }
    assert!(common::payload_files(dir.path()).is_empty());
    let shards = std::fs::read_dir(dir.path().join("blobs")).unwrap();
    let left: usize = shards
        .map(|shard| common::count_files(&shard.unwrap().path(), |_| true))
        .sum();
    assert_eq!(left, 0, "no scratch or temporary file is left");
    assert_eq!(cache.get::<Vec<u8>>(&p).unwrap(), None);
}

#[test]
fn a_large_table_put_batch_by_batch_carries_its_own_content_hash() {
    use cacheness::deps::arrow::array::{Int64Array, RecordBatch};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let cache = common::open_files_quiet(dir.path());
    // 24 MiB of incompressible integers: past the size sealed in memory.
    let words = noise(24 << 20, 19);
    let batches: Vec<RecordBatch> = words
        .chunks(8 << 16)
        .map(|chunk| {
            let values = chunk
                .chunks_exact(8)
                .map(|w| i64::from_le_bytes(w.try_into().unwrap()));
            RecordBatch::try_from_iter([("v", Arc::new(Int64Array::from_iter_values(values)) as _)])
                .unwrap()
        })
        .collect();
    let schema = batches[0].schema();
    let p = params!(t = 1);
    let key = cache
        .put_table_stream(
            schema,
            &mut batches.clone().into_iter().map(Ok),
            &p,
            &PutOptions::default(),
        )
        .unwrap();
    let path = dir
        .path()
        .join(format!("blobs/{}/{key}.parquet", &key[..2]));
    let file = std::fs::read(&path).unwrap();
    assert!(file.len() > 16 << 20, "{} bytes", file.len());
    let info = cache.info(&key).unwrap().unwrap();
    assert_eq!(
        cacheness_format::seal::check(&file, cacheness_format::seal::SlotAt::Back),
        Some(info.content_hash.clone())
    );
    let back = cache.get::<Vec<RecordBatch>>(&p).unwrap().unwrap();
    assert_eq!(back, batches);
    cache.flush().unwrap();
    assert!(cache.verify().unwrap().is_clean());
}
