//! Listing the catalog: the Delta snapshot plus every journaled operation that has not reached
//! it yet, from every writer, so a listing sees every put that has returned.

use std::collections::HashMap;
use std::path::Path;

use crate::delta::DeltaCatalog;
use crate::error::Result;
use crate::journal;
use crate::row::{CatalogOp, CatalogRow};

/// Read the journals first, then the snapshot: a segment committed in between is then in the
/// snapshot and is skipped by its application-transaction version, never lost.
pub(crate) async fn list(delta: &mut DeltaCatalog, journal_dir: &Path) -> Result<Vec<CatalogRow>> {
    let mut segments = Vec::new();
    for seg in journal::list_segments(journal_dir)? {
        let ops = journal::read_segment(&seg.path)?;
        segments.push((seg, ops));
    }
    let rows = delta.rows().await?;
    let mut by_key: HashMap<String, CatalogRow> = HashMap::with_capacity(rows.len());
    for row in rows {
        match by_key.get(&row.cache_key) {
            // Two rows for one key (racing writers): the newer wins.
            Some(old) if old.created_at > row.created_at => {}
            _ => {
                by_key.insert(row.cache_key.clone(), row);
            }
        }
    }
    let mut committed: HashMap<String, Option<i64>> = HashMap::new();
    for (seg, ops) in segments {
        if !committed.contains_key(&seg.writer) {
            let v = delta.committed_seq(&seg.writer).await?;
            committed.insert(seg.writer.clone(), v);
        }
        if committed[&seg.writer].is_some_and(|v| v >= seg.seq) {
            continue;
        }
        for op in ops {
            match op {
                CatalogOp::Put { row, .. } => {
                    by_key.insert(row.cache_key.clone(), *row);
                }
                CatalogOp::Delete { cache_key } => {
                    by_key.remove(&cache_key);
                }
                CatalogOp::Clear => by_key.clear(),
            }
        }
    }
    let mut rows: Vec<CatalogRow> = by_key.into_values().collect();
    rows.sort_by(|a, b| (a.created_at, &a.cache_key).cmp(&(b.created_at, &b.cache_key)));
    Ok(rows)
}
