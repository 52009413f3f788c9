//! A check of the Delta log's commit files before the table is trusted.
//!
//! delta-rs reads an empty commit file as a commit without actions, and skips lines it does
//! not know, so a newest log file that was truncated to nothing or overwritten with other JSON
//! made listings answer a wrong count (0, or the rows of the versions before) without an
//! error. Every commit file newer than the last checkpoint must be non-empty, and each of its
//! lines a JSON object holding exactly one Delta action.

use std::path::{Path, PathBuf};

use crate::error::{CatalogError, Result};

/// The actions a Delta commit file may hold (protocol versions up to 3/7).
const ACTIONS: &[&str] = &[
    "add",
    "remove",
    "metaData",
    "protocol",
    "commitInfo",
    "txn",
    "cdc",
    "domainMetadata",
    "checkpointMetadata",
    "sidecar",
];

/// The version a commit file's name (`00000000000000000012.json`) gives.
fn version_of(path: &Path) -> Option<i64> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(".json")?;
    (stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()))
        .then(|| stem.parse().ok())
        .flatten()
}

/// The version of the last checkpoint, if `_last_checkpoint` names one.
fn last_checkpoint(log: &Path) -> Option<i64> {
    let text = std::fs::read_to_string(log.join("_last_checkpoint")).ok()?;
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()?
        .get("version")?
        .as_i64()
}

fn damaged(file: &Path, message: impl Into<String>) -> CatalogError {
    CatalogError::LogFile {
        file: file.to_path_buf(),
        message: message.into(),
    }
}

/// Check one commit file.
fn check_file(file: &Path) -> Result<()> {
    let text = std::fs::read(file).map_err(|source| CatalogError::Io {
        path: file.to_path_buf(),
        source,
    })?;
    if text.iter().all(u8::is_ascii_whitespace) {
        return Err(damaged(file, "it is empty"));
    }
    for (n, line) in text.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let value: serde_json::Value = serde_json::from_slice(line)
            .map_err(|e| damaged(file, format!("line {} is not JSON: {e}", n + 1)))?;
        let action = value
            .as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.keys().next())
            .filter(|k| ACTIONS.contains(&k.as_str()));
        if action.is_none() {
            return Err(damaged(
                file,
                format!("line {} is not a Delta action", n + 1),
            ));
        }
    }
    Ok(())
}

/// Check the commit files of the log at `log` newer than both the last checkpoint and
/// `checked` (the newest version checked before); returns the newest version checked.
pub(crate) fn check(log: &Path, checked: Option<i64>) -> Result<Option<i64>> {
    let Ok(entries) = std::fs::read_dir(log) else {
        return Ok(checked); // no log yet: delta-rs says so
    };
    let after = checked.max(last_checkpoint(log)).unwrap_or(-1);
    let mut files: Vec<(i64, PathBuf)> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| version_of(&p).map(|v| (v, p)))
        .filter(|(v, _)| *v > after)
        .collect();
    files.sort();
    for (_, file) in &files {
        check_file(file)?;
    }
    Ok(files.last().map(|(v, _)| *v).or(checked))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_foreign_and_garbled_commit_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path();
        let file = |v: i64, text: &str| {
            std::fs::write(log.join(format!("{v:020}.json")), text).unwrap();
        };
        file(
            0,
            "{\"protocol\":{\"minReaderVersion\":1}}\n{\"commitInfo\":{}}\n",
        );
        file(1, "{\"add\":{\"path\":\"a.parquet\"}}\n");
        assert_eq!(check(log, None).unwrap(), Some(1));
        for bad in [
            "",
            "\n\n",
            "{}\n",
            "{\"unexpected\":1}\n",
            "not json\n",
            "{\"add\":{},\"remove\":{}}\n",
        ] {
            file(2, bad);
            let e = check(log, Some(1)).unwrap_err().to_string();
            assert!(e.contains("00000000000000000002.json"), "{bad:?}: {e}");
        }
        // Versions already checked, or covered by a checkpoint, are not read again.
        file(2, "{\"commitInfo\":{}}\n");
        assert_eq!(check(log, Some(1)).unwrap(), Some(2));
        file(1, "");
        assert_eq!(check(log, Some(2)).unwrap(), Some(2));
        std::fs::write(log.join("_last_checkpoint"), "{\"version\":2}").unwrap();
        assert_eq!(check(log, None).unwrap(), None);
    }
}
