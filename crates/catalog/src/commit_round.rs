//! A commit round: what a process commits when it commits, and how processes closing
//! together share one Delta commit.
//!
//! A Delta commit costs tens of milliseconds of CPU whatever it carries (the log loaded, a
//! Parquet file written, the commit and its post-commit work), so when eight processes close
//! at once, each committing its own 1,000 rows, the commits cost more than the puts
//! (`docs/ARCHITECTURE.md`, "Processes that close together"). So:
//!
//! - A round runs under the journal directory's commit lock when it can get it
//!   (`journal::lock_commits`), and takes, besides the committing process's own closed
//!   segments, the segments it may commit for others of this host: those of writers whose
//!   process died (adopted through their writer lock, as before), and the final segments of
//!   writers that handed theirs over while closing (`journal::hand_over`). They go to Delta in
//!   as few commits as their operations allow: one, unless a segment clears the catalog, which
//!   is then committed alone, in its place in the order.
//! - A closing process with segments to commit first hands them over, then waits for the
//!   lock. If the holder took them, they are gone when it gets the lock, and it returns
//!   without opening the table; if not, its own round commits them, with those of everyone
//!   who handed theirs over in the meantime.
//!
//! The lock batches commits and keeps this host's commits from conflicting; correctness never
//! depends on it. Every segment is committed with its writer's Delta application transaction,
//! so two rounds that commit the same segment (one that gave up waiting for the lock, or a
//! process of an older version) conflict in Delta, and the loser's retry finds it committed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use cacheness_storage::LockFile;

use crate::delta::{DeltaCatalog, Segment};
use crate::error::Result;
use crate::journal;
use crate::row::CatalogOp;

/// A closed segment waiting to be committed.
pub(crate) struct Batch {
    /// Its sequence number within its writer.
    pub(crate) seq: i64,
    /// Its file.
    pub(crate) path: PathBuf,
    /// Its operations.
    pub(crate) ops: Vec<CatalogOp>,
}

/// The segments a round takes from another writer.
struct Taken {
    writer: String,
    batches: Vec<Batch>,
    /// The writer's lock, when its process died and this round adopted it.
    adopted: Option<LockFile>,
}

/// Commit `own` (the closed segments of `writer`, oldest first) with what may be committed
/// for other writers of `journal_dir`. Segments committed leave `own` and the directory; on
/// an error the rest stay, to be tried again (operations on a key are never applied out of
/// order: a round stops at its first failed commit). A round whose commit with others'
/// segments failed but which committed its own alone succeeds.
pub(crate) async fn run(
    delta: &mut DeltaCatalog,
    journal_dir: &Path,
    writer: &str,
    own: &mut Vec<Batch>,
) -> Result<()> {
    let mut others = take_others(journal_dir, writer)?;
    let mut order: Vec<Segment<'_>> = own
        .iter()
        .map(|b| Segment {
            writer,
            seq: b.seq,
            ops: &b.ops,
        })
        .collect();
    for taken in &others {
        order.extend(taken.batches.iter().map(|b| Segment {
            writer: &taken.writer,
            seq: b.seq,
            ops: &b.ops,
        }));
    }
    let mut result = commit_in_groups(delta, &order).await;
    let mut done = match &result {
        Ok(()) => order.len(),
        Err((done, _)) => *done,
    };
    // A failed commit that held this writer's segments with others' is tried again with this
    // writer's alone: no other writer's segment holds them back (theirs stay for a later
    // round, which tries them again).
    if let Err((_, e)) = &result
        && done < own.len()
        && order.len() > own.len()
        && !crate::error::is_out_of_space(e)
    {
        tracing::warn!(
            "a commit with other writers' segments failed, committing this process's alone: {e}"
        );
        result = match commit_in_groups(delta, &order[done..own.len()]).await {
            Ok(()) => {
                done = own.len();
                Ok(())
            }
            Err((more, e)) => {
                done += more;
                Err((done, e))
            }
        };
    }
    drop(order);
    // Own segments come first in the order, then the others' in theirs.
    let own_done = done.min(own.len());
    let mut committed: Vec<Batch> = own.drain(..own_done).collect();
    let mut left = done - own_done;
    for taken in &mut others {
        let n = left.min(taken.batches.len());
        left -= n;
        committed.extend(taken.batches.drain(..n));
        tracing::debug!(
            writer = taken.writer,
            segments = n,
            "committed for another writer"
        );
    }
    for batch in &committed {
        journal::remove_segment(&batch.path)?;
    }
    drop_aside(committed);
    for taken in others {
        if let Some(lock) = taken.adopted
            && taken.batches.is_empty()
        {
            journal::withdraw_hand_over(journal_dir, &taken.writer);
            journal::release_writer(lock);
        }
    }
    result.map_err(|(_, e)| e)
}

/// Drop committed segments' operations off this thread when there are many: freeing the
/// rows of thousands of puts takes milliseconds that a closing process would wait for.
fn drop_aside(committed: Vec<Batch>) {
    const MANY: usize = 1_000;
    if committed.iter().map(|b| b.ops.len()).sum::<usize>() < MANY {
        return;
    }
    // Should the thread not start, the closure, and the rows with it, are dropped here.
    let _ = std::thread::Builder::new()
        .name("cacheness-drop".into())
        .spawn(move || drop(committed));
}

/// Commit `order` in runs that hold no clear (one commit each), a segment that clears alone.
/// On an error, how many segments were committed before it.
async fn commit_in_groups(
    delta: &mut DeltaCatalog,
    order: &[Segment<'_>],
) -> std::result::Result<(), (usize, crate::error::CatalogError)> {
    let mut start = 0;
    while start < order.len() {
        let clears = |s: &Segment<'_>| s.ops.iter().any(|op| matches!(op, CatalogOp::Clear));
        let end = match order[start..].iter().position(clears) {
            Some(0) => start + 1,
            Some(i) => start + i,
            None => order.len(),
        };
        delta
            .commit_segments(&order[start..end])
            .await
            .map_err(|e| (start, e))?;
        start = end;
    }
    Ok(())
}

/// The segments this round may commit for other writers: every segment of a writer whose
/// process is gone (its lock adopted), and a live writer's segments up to the last one it
/// handed over. Empty segments are removed on the way.
fn take_others(journal_dir: &Path, me: &str) -> Result<Vec<Taken>> {
    let handed = journal::handovers(journal_dir)?;
    let mut by_writer: HashMap<String, Vec<journal::SegmentRef>> = HashMap::new();
    for seg in journal::list_segments(journal_dir)? {
        if seg.writer != me {
            by_writer.entry(seg.writer.clone()).or_default().push(seg);
        }
    }
    let mut out = Vec::new();
    for (writer, segments) in by_writer {
        let (adopted, last) = match journal::try_adopt(journal_dir, &writer)? {
            Some(lock) => (Some(lock), i64::MAX),
            None => match handed.get(&writer) {
                Some(last) => (None, *last),
                None => continue, // alive: it commits its own
            },
        };
        let mut batches = Vec::new();
        for seg in segments.into_iter().filter(|s| s.seq <= last) {
            let ops = journal::read_segment(&seg.path)?;
            if ops.is_empty() {
                journal::remove_segment(&seg.path)?;
                continue;
            }
            batches.push(Batch {
                seq: seg.seq,
                path: seg.path,
                ops,
            });
        }
        out.push(Taken {
            writer,
            batches,
            adopted,
        });
    }
    // Markers left by writers that died after their segments were committed.
    for writer in handed
        .keys()
        .filter(|w| *w != me && !out.iter().any(|t: &Taken| &t.writer == *w))
    {
        if let Some(lock) = journal::try_adopt(journal_dir, writer)? {
            journal::withdraw_hand_over(journal_dir, writer);
            journal::release_writer(lock);
        }
    }
    // A stable order (the map's is random): by writer, as the directory lists them.
    out.sort_by(|a, b| a.writer.cmp(&b.writer));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delta::tests::{REFUSED, row};
    use crate::journal::tests::write_segment;
    use crate::schema::Projection;

    fn put(k: &str) -> CatalogOp {
        CatalogOp::Put {
            row: row(k),
            replaces: false,
        }
    }

    async fn keys(d: &mut DeltaCatalog) -> Vec<String> {
        let mut keys: Vec<String> = d
            .rows(Projection::Full)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.cache_key)
            .collect();
        keys.sort();
        keys
    }

    /// A directory with a journal directory and a new table in it.
    async fn fresh() -> (tempfile::TempDir, DeltaCatalog) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("journal")).unwrap();
        let d = DeltaCatalog::open(&dir.path().join("t")).await.unwrap();
        (dir, d)
    }

    #[tokio::test]
    async fn a_segment_of_another_writer_that_fails_its_commit_does_not_hold_back_this_ones() {
        let (dir, mut d) = fresh().await;
        let journal = dir.path().join("journal");
        // A dead writer whose segment fails every commit that holds it.
        let refused = write_segment(&journal, REFUSED, 1, &[put("b")]);
        let own_path = write_segment(&journal, "hme", 1, &[put("a")]);
        let mut own = vec![Batch {
            seq: 1,
            path: own_path.clone(),
            ops: vec![put("a")],
        }];
        run(&mut d, &journal, "hme", &mut own).await.unwrap();
        assert!(own.is_empty());
        assert_eq!(keys(&mut d).await, ["a"]);
        assert_eq!(d.committed_seq("hme").await.unwrap(), Some(1));
        assert_eq!(d.committed_seq(REFUSED).await.unwrap(), None);
        assert!(refused.exists(), "left for a later round");
        assert!(!own_path.exists());
        // With only the refused segment to commit, a round fails and keeps it.
        let mut none = Vec::new();
        assert!(run(&mut d, &journal, "hme", &mut none).await.is_err());
        assert!(refused.exists());
    }

    #[tokio::test]
    async fn a_round_commits_its_own_the_handed_over_and_the_dead_in_one_commit() {
        let (dir, mut d) = fresh().await;
        let journal = dir.path().join("journal");
        let before = d.version().unwrap();
        // A live writer that handed over its first segment, not its second (still writing).
        let _alive = journal::try_adopt(&journal, "hother").unwrap().unwrap();
        let other_1 = write_segment(&journal, "hother", 1, &[put("b")]);
        let other_2 = write_segment(&journal, "hother", 2, &[put("c")]);
        journal::hand_over(&journal, "hother", 1).unwrap();
        // A live writer that handed nothing over, and a dead one.
        let _busy = journal::try_adopt(&journal, "hbusy").unwrap().unwrap();
        let busy = write_segment(&journal, "hbusy", 1, &[put("e")]);
        let dead = write_segment(&journal, "hdead", 4, &[put("d")]);
        let mut own = vec![Batch {
            seq: 1,
            path: write_segment(&journal, "hme", 1, &[put("a")]),
            ops: vec![put("a")],
        }];
        run(&mut d, &journal, "hme", &mut own).await.unwrap();
        assert!(own.is_empty());
        assert_eq!(d.version().unwrap(), before + 1, "one Delta commit");
        assert_eq!(keys(&mut d).await, ["a", "b", "d"]);
        for (writer, seq) in [("hme", 1), ("hother", 1), ("hdead", 4)] {
            assert_eq!(
                d.committed_seq(writer).await.unwrap(),
                Some(seq),
                "{writer}"
            );
        }
        assert_eq!(d.committed_seq("hbusy").await.unwrap(), None);
        assert!(!other_1.exists() && !dead.exists());
        assert!(other_2.exists() && busy.exists(), "not theirs to take");
        assert!(
            !journal.join("hdead.lock").exists(),
            "the dead writer's lock is gone"
        );
        // The live writer's marker stays for it to take back.
        assert_eq!(journal::handovers(&journal).unwrap().len(), 1);
        // Committing a committed segment again is a no-op.
        let ops = [put("d")];
        let again = Segment {
            writer: "hdead",
            seq: 4,
            ops: &ops,
        };
        d.commit_segments(&[again]).await.unwrap();
        assert_eq!(d.version().unwrap(), before + 1);
    }

    #[tokio::test]
    async fn a_segment_that_clears_is_committed_alone_in_its_place() {
        let (dir, mut d) = fresh().await;
        let journal = dir.path().join("journal");
        let before = d.version().unwrap();
        let segments = [
            vec![put("a")],
            vec![put("b")],
            vec![CatalogOp::Clear, put("c")],
            vec![put("d")],
        ];
        let mut own: Vec<Batch> = segments
            .iter()
            .enumerate()
            .map(|(i, ops)| Batch {
                seq: i as i64 + 1,
                path: write_segment(&journal, "hme", i as i64 + 1, ops),
                ops: ops.clone(),
            })
            .collect();
        run(&mut d, &journal, "hme", &mut own).await.unwrap();
        assert_eq!(
            keys(&mut d).await,
            ["c", "d"],
            "the clear came after a and b"
        );
        assert_eq!(d.version().unwrap(), before + 3, "a+b, the clear, d");
        assert_eq!(d.committed_seq("hme").await.unwrap(), Some(4));
    }
}
