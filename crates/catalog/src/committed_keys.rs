//! Which keys the committed table holds a row for, kept per data file, so that a commit can tell
//! a fresh key from one that still has a row without reading the whole table each time.
//!
//! A put that finds no payload for its key is journaled as fresh and committed as an append.
//! That is right unless the key still has a row whose payload went behind the cache's back
//! (deleted by hand, or a process killed between removing a payload and journaling its
//! delete): an append would then leave two rows for the key, one describing nothing. The
//! commit asks [`CommittedKeys::may_hold`] first and replaces, rather than appends, any key the
//! table may hold.
//!
//! The index holds a 64-bit fingerprint of each key per data file. It is brought up to date
//! with each snapshot by reading the key column of the files it has not seen and forgetting the
//! files the snapshot no longer lists (a compaction's rewrite is both), so the first commit of
//! a process reads the keys once and later commits read only the files written since. A
//! fingerprint that collides only turns an append into a replacement, which is always correct.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use bytes::Bytes;
use deltalake::arrow::array::AsArray;
use deltalake::arrow::datatypes::DataType;
use deltalake::parquet::arrow::ProjectionMask;
use deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::{CatalogError, Result};

/// The fingerprints of the keys in each data file of the table's current snapshot.
#[derive(Debug, Default)]
pub(crate) struct CommittedKeys {
    /// Data file (its path in the table) -> fingerprints of the keys of its rows.
    files: HashMap<String, Vec<u64>>,
    /// Fingerprint -> how many rows of the current files carry it.
    counts: HashMap<u64, u32>,
}

/// The fingerprint of a key.
fn fingerprint(key: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(key.as_bytes())
}

impl CommittedKeys {
    /// Forget the files not in `files` (the data files of the current snapshot) and return
    /// those of `files` whose keys are not known yet: read each and pass it to [`Self::add`].
    pub(crate) fn retain(&mut self, files: &[String]) -> Vec<String> {
        let current: HashSet<&String> = files.iter().collect();
        let gone: Vec<String> = self
            .files
            .keys()
            .filter(|f| !current.contains(f))
            .cloned()
            .collect();
        for file in gone {
            for fp in self.files.remove(&file).unwrap_or_default() {
                if let Some(n) = self.counts.get_mut(&fp) {
                    *n -= 1;
                    if *n == 0 {
                        self.counts.remove(&fp);
                    }
                }
            }
        }
        files
            .iter()
            .filter(|f| !self.files.contains_key(*f))
            .cloned()
            .collect()
    }

    /// Take in the keys of data file `file`, whose bytes are `parquet`.
    pub(crate) fn add(&mut self, file: &str, parquet: Bytes) -> Result<()> {
        if self.files.contains_key(file) {
            return Ok(());
        }
        let fps = read_key_fingerprints(file, parquet)?;
        for fp in &fps {
            *self.counts.entry(*fp).or_default() += 1;
        }
        self.files.insert(file.to_string(), fps);
        Ok(())
    }

    /// Whether the table may hold a row for `key` (false means it certainly does not).
    pub(crate) fn may_hold(&self, key: &str) -> bool {
        self.counts.contains_key(&fingerprint(key))
    }

    /// Forget everything (after a file could not be read).
    pub(crate) fn clear(&mut self) {
        self.files.clear();
        self.counts.clear();
    }
}

/// The fingerprints of the `cache_key` column of data file `file`, whose bytes are `parquet`.
fn read_key_fingerprints(file: &str, parquet: Bytes) -> Result<Vec<u64>> {
    let err = |message: String| CatalogError::DataFile {
        file: PathBuf::from(file),
        message,
    };
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(parquet).map_err(|e| err(e.to_string()))?;
    let mask = ProjectionMask::columns(builder.parquet_schema(), ["cache_key"]);
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(|e| err(e.to_string()))?;
    let mut fps = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| err(e.to_string()))?;
        let keys = crate::schema::column(&batch, "cache_key", &DataType::Utf8, file)?;
        fps.extend(keys.as_string::<i32>().iter().flatten().map(fingerprint));
    }
    Ok(fps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use deltalake::arrow::array::{RecordBatch, StringArray};
    use deltalake::arrow::datatypes::{Field, Schema};
    use deltalake::parquet::arrow::ArrowWriter;
    use std::sync::Arc;

    fn parquet(keys: &[&str]) -> Bytes {
        let schema = Arc::new(Schema::new(vec![Field::new(
            "cache_key",
            DataType::Utf8,
            false,
        )]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(StringArray::from_iter_values(
                keys.iter().copied(),
            ))],
        )
        .unwrap();
        let mut out = Vec::new();
        let mut w = ArrowWriter::try_new(&mut out, schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        Bytes::from(out)
    }

    fn files(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn follows_the_files_of_each_snapshot() {
        let mut index = CommittedKeys::default();
        assert_eq!(index.retain(&files(&["a", "b"])), files(&["a", "b"]));
        index.add("a", parquet(&["k1", "k2"])).unwrap();
        index.add("b", parquet(&["k2", "k3"])).unwrap();
        for k in ["k1", "k2", "k3"] {
            assert!(index.may_hold(k), "{k}");
        }
        assert!(!index.may_hold("k4"));
        // Files known are not asked for again.
        assert!(index.retain(&files(&["a", "b"])).is_empty());
        // A rewrite: a and b go, c holds what is left. A key in both old files goes only
        // with the last of them.
        assert!(index.retain(&files(&["b"])).is_empty());
        assert!(!index.may_hold("k1"));
        assert!(index.may_hold("k2"));
        assert_eq!(index.retain(&files(&["c"])), files(&["c"]));
        index.add("c", parquet(&["k3"])).unwrap();
        assert!(!index.may_hold("k2"));
        assert!(index.may_hold("k3"));
        index.clear();
        assert!(!index.may_hold("k3"));
    }

    #[test]
    fn an_unreadable_file_is_an_error_naming_it() {
        let e = CommittedKeys::default()
            .add("part-bad.parquet", Bytes::from_static(b"not parquet"))
            .unwrap_err();
        assert!(e.to_string().contains("part-bad.parquet"), "{e}");
        // A file without rows holds no key.
        let mut index = CommittedKeys::default();
        index.add("part-x.parquet", parquet(&[])).unwrap();
        assert!(index.counts.is_empty());
    }
}
