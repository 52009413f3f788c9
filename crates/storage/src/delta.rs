//! Delta tables at a [`Location`]: created once however many processes race to create them,
//! and the one retry policy of commits that lose a race to another writer.
//!
//! Every Delta table of a cache (`cache_entries`, custom metadata tables, the data and
//! coverage tables of pull-through tables) is created with [`open_or_create`] and commits
//! under [`Attempts`]: a short exponential backoff, the same for all of them.
//!
//! Creation is never retried by delta-rs: a creator that loses the race would otherwise commit
//! version 1 with a protocol and metadata of its own (a new table id, its columns in place of
//! the winner's). The loser loads the winner's table instead.

use std::time::Duration;

use deltalake::arrow::array::RecordBatch;
use deltalake::kernel::transaction::{CommitProperties, TransactionError};
use deltalake::protocol::SaveMode;
use deltalake::{DeltaTable, DeltaTableError};

use crate::error::{Result, StorageError};
use crate::location::Location;

/// How a table is created: its name in the Delta metadata and its table properties.
#[derive(Debug, Clone, Copy, Default)]
pub struct NewTable<'a> {
    /// The table's name (`metaData.name`), if any.
    pub name: Option<&'a str>,
    /// Table properties (`delta.checkpointInterval`, ...).
    pub configuration: &'a [(&'a str, &'a str)],
}

/// The Delta table at `at`, created with the columns of `empty` (a batch without rows) if it
/// does not exist. Another process creating it at the same moment is no error: its table is
/// loaded and returned (the caller checks its columns if they matter).
pub async fn open_or_create(
    at: &Location,
    empty: RecordBatch,
    new: NewTable<'_>,
) -> Result<DeltaTable> {
    at.create_dir_all()?;
    let table = at.delta_table().await?;
    if table.version().is_some() {
        return Ok(table);
    }
    // No retries: delta-rs would retry a losing creation as version 1, with a protocol and
    // metadata of its own (a new table id, and its columns in place of the winner's).
    let mut write = table
        .write(vec![empty])
        .with_save_mode(SaveMode::Ignore)
        .with_commit_properties(CommitProperties::default().with_max_retries(0))
        .with_configuration(new.configuration.iter().map(|(k, v)| (*k, Some(*v))));
    if let Some(name) = new.name {
        write = write.with_table_name(name);
    }
    match write.await {
        Ok(table) => Ok(table),
        Err(e) => {
            // Created by another process at the same moment: load theirs.
            let theirs = at.delta_table().await?;
            if theirs.version().is_some() {
                Ok(theirs)
            } else {
                Err(StorageError::Delta {
                    table: at.label(),
                    source: Box::new(e),
                })
            }
        }
    }
}

/// Whether a commit failed only because another writer committed first (trying again against
/// the new version can succeed).
pub fn lost_race(e: &DeltaTableError) -> bool {
    matches!(
        e,
        DeltaTableError::Transaction {
            source: TransactionError::CommitConflict(_) | TransactionError::MaxCommitAttempts(_)
        } | DeltaTableError::VersionAlreadyExists(_)
    )
}

/// The attempts of a commit that may lose races: `while let Some(n) = attempts.next().await`
/// runs the body up to `max` times, pausing before each retry (5 ms, doubling, at most
/// 320 ms).
#[derive(Debug)]
pub struct Attempts {
    next: usize,
    max: usize,
}

impl Attempts {
    /// At most `max` attempts.
    pub fn new(max: usize) -> Self {
        Attempts { next: 0, max }
    }

    /// The next attempt's number (0 for the first), after the pause before it; `None` when
    /// all were made.
    pub async fn next(&mut self) -> Option<usize> {
        if self.next >= self.max {
            return None;
        }
        if self.next > 0 {
            tokio::time::sleep(Self::pause(self.next)).await;
        }
        self.next += 1;
        Some(self.next - 1)
    }

    /// The pause before attempt `n` (n ≥ 1).
    fn pause(n: usize) -> Duration {
        Duration::from_millis(5 << n.min(6))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use deltalake::arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn empty(column: &str) -> RecordBatch {
        RecordBatch::new_empty(Arc::new(Schema::new(vec![Field::new(
            column,
            DataType::Int64,
            false,
        )])))
    }

    /// Creators race with different columns: one table is created (version 0), and every
    /// creator gets it, with the winner's columns and id. (Without `max_retries(0)` a loser
    /// committed version 1 with its own metadata.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn racing_creators_all_get_the_one_table() {
        for round in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let at = Location::Local(dir.path().join("t"));
            let new = NewTable {
                name: Some("t"),
                configuration: &[("delta.checkpointInterval", "10")],
            };
            let racers: Vec<_> = (0..4)
                .map(|i| {
                    let at = at.clone();
                    let column = if i % 2 == 0 { "x" } else { "y" };
                    tokio::spawn(async move { open_or_create(&at, empty(column), new).await })
                })
                .collect();
            let mut seen = Vec::new();
            for r in racers {
                let table = r.await.unwrap().unwrap();
                assert_eq!(table.version(), Some(0), "round {round}: one creation");
                let snapshot = table.snapshot().unwrap();
                let metadata = snapshot.metadata();
                seen.push((
                    metadata.id().to_string(),
                    metadata.schema_string().to_string(),
                ));
            }
            seen.dedup();
            assert_eq!(
                seen.len(),
                1,
                "round {round}: every creator has the winner's table"
            );
            let again = open_or_create(&at, empty("z"), NewTable::default())
                .await
                .unwrap();
            assert_eq!(again.version(), Some(0));
            let config = again.snapshot().unwrap().metadata().configuration().clone();
            assert_eq!(
                config.get("delta.checkpointInterval").map(String::as_str),
                Some("10")
            );
        }
    }

    #[tokio::test]
    async fn attempts_pause_longer_each_time_and_end() {
        let mut attempts = Attempts::new(4);
        let start = std::time::Instant::now();
        let mut seen = Vec::new();
        while let Some(n) = attempts.next().await {
            seen.push(n);
        }
        assert_eq!(seen, vec![0, 1, 2, 3]);
        assert!(start.elapsed() >= Duration::from_millis(10 + 20 + 40));
        assert_eq!(attempts.next().await, None);
        assert_eq!(Attempts::pause(1), Duration::from_millis(10));
        assert_eq!(Attempts::pause(20), Duration::from_millis(320));
    }
}
