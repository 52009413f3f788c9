//! Listing the catalog: the Delta snapshot plus every journaled operation that has not reached
//! it yet, from every writer, so a listing sees every put that has returned.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::Path;

use crate::delta::DeltaCatalog;
use crate::error::Result;
use crate::journal;
use crate::row::{CatalogOp, CatalogRow};
use crate::schema::Projection;

/// The loaded Delta table with the overlay of journaled operations not in it yet: what SQL
/// over `cache_entries` reads (the same order rule as [`list`]).
pub(crate) async fn table_and_overlay(
    delta: &mut DeltaCatalog,
    journal_dir: &Path,
) -> Result<(deltalake::DeltaTable, Overlay)> {
    let segments = read_journals(journal_dir)?;
    let table = delta.current_table().await?;
    let pending = overlay(delta, segments).await?;
    Ok((table, pending))
}

/// Read the journals first, then the snapshot: a segment committed in between is then in the
/// snapshot and is skipped by its application-transaction version, never lost.
pub(crate) async fn list(
    delta: &mut DeltaCatalog,
    journal_dir: &Path,
    projection: Projection,
) -> Result<Vec<CatalogRow>> {
    Ok(list_noting_duplicates(delta, journal_dir, projection)
        .await?
        .0)
}

/// [`list`], and the keys with more than one row in the Delta snapshot (sorted): the listing
/// shows the newest of them; `verify` reports the key so that `repair` leaves it one row.
pub(crate) async fn list_noting_duplicates(
    delta: &mut DeltaCatalog,
    journal_dir: &Path,
    projection: Projection,
) -> Result<(Vec<CatalogRow>, Vec<String>)> {
    let segments = read_journals(journal_dir)?;
    let rows = delta.rows(projection).await?;
    // The snapshot's rows stay where they are; an index of borrowed keys finds duplicates
    // (racing writers: the newer row wins) and the rows the journals override.
    let mut keep = vec![true; rows.len()];
    let mut latest: HashMap<&str, usize> = HashMap::with_capacity(rows.len());
    let mut duplicated = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        match latest.entry(row.cache_key.as_str()) {
            Entry::Vacant(v) => {
                v.insert(i);
            }
            Entry::Occupied(mut o) => {
                duplicated.push(row.cache_key.clone());
                let j = *o.get();
                if rows[j].created_at > row.created_at {
                    keep[i] = false;
                } else {
                    keep[j] = false;
                    o.insert(i);
                }
            }
        }
    }
    let pending = overlay(delta, segments).await?;
    if pending.cleared {
        keep.fill(false);
    } else {
        for key in pending.ops.keys() {
            if let Some(&i) = latest.get(key.as_str()) {
                keep[i] = false;
            }
        }
    }
    drop(latest);
    let mut rows: Vec<CatalogRow> = rows
        .into_iter()
        .zip(keep)
        .filter_map(|(row, keep)| keep.then_some(row))
        .chain(pending.ops.into_values().flatten())
        .collect();
    let order = |a: &CatalogRow, b: &CatalogRow| {
        (a.created_at, &a.cache_key).cmp(&(b.created_at, &b.cache_key))
    };
    // Snapshot rows usually arrive in commit order already.
    if !rows.is_sorted_by(|a, b| order(a, b).is_le()) {
        rows.sort_by(order);
    }
    duplicated.sort();
    duplicated.dedup();
    Ok((rows, duplicated))
}

/// Every journal segment on disk with its operations.
pub(crate) fn read_journals(
    journal_dir: &Path,
) -> Result<Vec<(journal::SegmentRef, Vec<CatalogOp>)>> {
    let mut segments = Vec::new();
    for seg in journal::list_segments(journal_dir)? {
        let ops = journal::read_segment(&seg.path)?;
        segments.push((seg, ops));
    }
    Ok(segments)
}

/// The journaled operations that are not in the loaded snapshot, folded per key.
#[derive(Debug, Default)]
pub struct Overlay {
    /// The last operation on each key: its row, or `None` if it was deleted.
    pub ops: HashMap<String, Option<CatalogRow>>,
    /// A clear came among them: no snapshot row survives.
    pub cleared: bool,
}

/// Fold the segments not yet committed to `delta`'s loaded snapshot (read the segments
/// *before* loading the snapshot: a segment committed in between is then skipped by its
/// application-transaction version, never lost).
pub(crate) async fn overlay(
    delta: &DeltaCatalog,
    segments: Vec<(journal::SegmentRef, Vec<CatalogOp>)>,
) -> Result<Overlay> {
    let mut out = Overlay::default();
    let mut committed: HashMap<String, Option<i64>> = HashMap::new();
    for (seg, ops) in segments {
        if ops.is_empty() {
            continue; // nothing to apply; spares a look-up of the writer's transaction
        }
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
                    out.ops.insert(row.cache_key.clone(), Some(*row));
                }
                CatalogOp::Delete { cache_key } => {
                    out.ops.insert(cache_key, None);
                }
                CatalogOp::Clear => {
                    out.ops.clear();
                    out.cleared = true;
                }
            }
        }
    }
    Ok(out)
}
