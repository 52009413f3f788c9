//! Verify and repair: every catalog row against its payload, and every payload file against
//! the catalog.
//!
//! [`verify`] changes nothing and reports each [`Problem`]; [`repair`] finds the same problems
//! and fixes them. The payload is the truth (it carries its own metadata and hash): rows are
//! corrected or rebuilt from payloads, never the other way round, so deleting the whole catalog
//! directory and repairing gives back every entry (custom metadata rows excepted: they live
//! only in their Delta tables). Files under `blobs/` that are not payload names are reported
//! and never removed. Both are safe while other processes use the cache: a put or invalidate
//! caught between its payload and its journal record looks like an orphan or a missing
//! payload, and repairing it does what the operation was about to do anyway.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, SystemTime};

use cacheness_catalog::{CatalogOp, CatalogRow};

use crate::core::{CacheCore, Loaded, Lookup, Rejection, now_micros};
use crate::error::{Error, Result};
use crate::stats::RemovalReason;
use cacheness_format::codec::Format;
use cacheness_format::keys::CacheKey;

/// Temporary files younger than this may belong to a put in progress and are left alone.
pub const TEMP_FILE_GRACE: Duration = Duration::from_secs(3600);

/// What kind of problem [`verify`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A catalog row whose payload file is missing. Repair deletes the row.
    MissingPayload,
    /// A payload that fails a check (content hash, metadata, key, parameters). Repair removes
    /// it and its row.
    CorruptPayload,
    /// A payload whose bytes are intact (they match their content hash) but whose signature
    /// does not verify: altered and re-hashed, signed with another key, or unsigned (when
    /// unsigned entries are not allowed). Repair removes it and its row, or leaves both when
    /// `delete_invalid_signatures` is off.
    InvalidSignature,
    /// A catalog row that disagrees with its valid payload (sizes, hash, type, times,
    /// description, name, parameters, signature). Repair rewrites the row from the payload.
    StaleRow,
    /// A catalog row that disagrees with its valid payload and whose own signature does not
    /// match its fields: it was edited outside Cacheness. Repair rewrites it from the payload.
    TamperedRow,
    /// A catalog row with a key or format this cache never writes. Repair deletes it.
    InvalidRow,
    /// More than one row of a key in the Delta table, with a valid payload that the newest
    /// describes (listings show that one; SQL over `cache_entries` and other engines reading
    /// the table count the key more than once). Repair leaves one row, written from the
    /// payload.
    DuplicateRow,
    /// A valid payload without a catalog row. Repair indexes it from its own metadata.
    Orphan,
    /// An expired payload without a catalog row. Repair removes it.
    ExpiredOrphan,
    /// A second payload of a key in another format (left by a crash during a put that changed
    /// the key's type). Repair keeps the newer and removes the older.
    DuplicatePayload,
    /// A temporary file of a write that never finished, older than [`TEMP_FILE_GRACE`].
    /// Repair removes it.
    StaleTempFile,
    /// A file under `blobs/` whose name is not a payload's, or a symbolic link there.
    /// Reported, never removed.
    UnknownFile,
    /// A payload file of a key whose payload is a record of the small-entry store: a put
    /// replaced it and was stopped before removing it. Repair removes it.
    ReplacedFile,
    /// A valid payload file the small-entry store has no marker for (copied in by hand, or
    /// written by a version without the store): gets may miss it. Repair records its marker.
    UnmarkedFile,
    /// A directory of the cache (`blobs/` and its shards, `catalog/` and its tables,
    /// `tables/` and its pull-through tables) that is a symbolic link or not a directory. The
    /// cache neither follows nor changes it (writes and removals there are refused: a link
    /// would lead them outside the root); reported so an operator can put a real directory
    /// back.
    ForeignDirectory,
}

/// One problem: what, which entry, which file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// What is wrong.
    pub kind: ProblemKind,
    /// The entry's key, when the problem is about an entry.
    pub cache_key: Option<String>,
    /// The file involved, relative to the cache root.
    pub path: String,
    /// Details (the failed check, the fields that differ).
    pub detail: String,
}

/// What [`verify`] checked and found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    /// Catalog rows checked.
    pub rows: usize,
    /// Payload files found under `blobs/`.
    pub payloads: usize,
    /// Every problem, rows first, then files in directory order.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// Whether nothing is wrong.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// What [`repair`] found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RepairReport {
    /// The problems found (and fixed, except [`ProblemKind::UnknownFile`]).
    pub found: VerifyReport,
    /// Catalog rows deleted.
    pub rows_deleted: usize,
    /// Catalog rows written from payloads (orphans indexed, stale rows corrected).
    pub rows_written: usize,
    /// Files removed (corrupt, expired orphan, duplicate and temporary files).
    pub files_removed: usize,
}

/// How to fix one problem.
enum Fix {
    DeleteRow(String),
    /// Remove a payload that has a row, and journal the delete of its key.
    RemovePayload(String, Format, RemovalReason),
    WriteRow(Box<CatalogRow>, bool),
    RemoveFile(std::path::PathBuf),
    /// Remove a payload object on an object store, or a record of the small-entry store (no
    /// row involved).
    RemoveStored(String, Format),
    /// Record the marker of a payload file in the small-entry store.
    MarkFile(String, Format),
    Nothing,
}

/// The fix that removes the payload file `file` (key `key`, format `format`) and nothing else.
fn remove_file(core: &CacheCore, file: &Path, key: &str, format: Format) -> Fix {
    if core.store().is_remote() {
        Fix::RemoveStored(key.to_string(), format)
    } else {
        Fix::RemoveFile(file.to_path_buf())
    }
}

struct Finding {
    problem: Problem,
    fix: Vec<Fix>,
}

/// Check every catalog row against its payload and every payload against the catalog.
pub fn verify(core: &CacheCore) -> Result<VerifyReport> {
    core.check_open()?;
    Ok(scan(core)?.0)
}

/// [`verify`], then fix what it found; the fixes are committed to Delta before it returns.
pub fn repair(core: &CacheCore) -> Result<RepairReport> {
    core.check_open()?;
    let (found, findings) = scan(core)?;
    let mut report = RepairReport {
        found,
        ..Default::default()
    };
    for fix in findings.into_iter().flat_map(|f| f.fix) {
        match fix {
            Fix::DeleteRow(cache_key) => {
                core.catalog().submit(CatalogOp::Delete { cache_key })?;
                report.rows_deleted += 1;
            }
            Fix::RemovePayload(key, format, reason) => {
                if core.remove(&key, format, reason)? {
                    report.files_removed += 1;
                    report.rows_deleted += 1;
                }
            }
            Fix::WriteRow(row, replaces) => {
                core.catalog().submit(CatalogOp::Put { row, replaces })?;
                report.rows_written += 1;
            }
            Fix::MarkFile(key, format) => {
                if let Some(small) = core.store().small() {
                    small.mark_files_if_absent(&[(key, format)])?;
                }
            }
            Fix::RemoveStored(key, format) => {
                if core.store().remove(&key, format)? {
                    report.files_removed += 1;
                }
            }
            Fix::RemoveFile(path) => {
                if core.store().remove_shard_file(&path)? {
                    report.files_removed += 1;
                }
            }
            Fix::Nothing => {}
        }
    }
    if report.files_removed > 0 {
        // Some files went without the store counting them: the next limit check walks first.
        core.store().usage().uncalibrate();
    }
    core.flush()?;
    Ok(report)
}

/// Why [`judge`] found a payload unsound.
enum Verdict {
    Corrupt(String),
    InvalidSignature(String),
}

/// [`crate::core::Inspector::inspect`] for a lookup by key: the payload, or why it is unsound (a payload
/// made from other parameters is not a collision here but a payload under the wrong name).
fn judge(
    core: &CacheCore,
    key: &str,
    format: Format,
    bytes: bytes::Bytes,
) -> Result<std::result::Result<Loaded, Verdict>> {
    Ok(core
        .inspector()
        .inspect(&Lookup::parse_key(key)?, format, bytes)
        .map_err(|r| match r {
            Rejection::Corrupt(reason) => Verdict::Corrupt(reason),
            Rejection::Unsigned(why) => Verdict::InvalidSignature(why.to_string()),
            Rejection::Collision => Verdict::Corrupt("its parameters give another key".into()),
        }))
}

/// The fields in which a catalog row differs from the payload's (parameter columns are
/// compared through `params_json`, which determines them).
fn differences(row: &CatalogRow, truth: &CatalogRow) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut check = |name: &'static str, same: bool| {
        if !same {
            out.push(name);
        }
    };
    check("data_type", row.data_type == truth.data_type);
    check("format", row.format == truth.format);
    check("path", row.path == truth.path);
    check("raw_bytes", row.raw_bytes == truth.raw_bytes);
    check("stored_bytes", row.stored_bytes == truth.stored_bytes);
    check("content_hash", row.content_hash == truth.content_hash);
    check("created_at", row.created_at == truth.created_at);
    check("expires_at", row.expires_at == truth.expires_at);
    check("description", row.description == truth.description);
    check("entry_name", row.name == truth.name);
    check("params_json", row.params_json == truth.params_json);
    check("signature", row.signature == truth.signature);
    out
}

fn problem(kind: ProblemKind, key: Option<&str>, path: String, detail: String) -> Problem {
    Problem {
        kind,
        cache_key: key.map(str::to_string),
        path,
        detail,
    }
}

/// Find every problem and how to fix it.
fn scan(core: &CacheCore) -> Result<(VerifyReport, Vec<Finding>)> {
    let now = now_micros();
    let (rows, duplicated) = core.catalog().list_noting_duplicates_blocking()?;
    let duplicated: HashSet<String> = duplicated.into_iter().collect();
    let mut findings = Vec::new();
    // Key -> (format, created_at) of its row whose payload is valid.
    let mut indexed: HashMap<String, (Format, i64)> = HashMap::new();
    // The payload files already judged with their rows.
    let mut judged: HashSet<(String, Format)> = HashSet::new();
    let mut checked_rows = 0;
    for row in rows {
        checked_rows += 1;
        let key = row.cache_key.clone();
        let format = Format::from_name(&row.format);
        let (Some(format), true) = (format, CacheKey::is_valid(&key)) else {
            findings.push(Finding {
                problem: problem(
                    ProblemKind::InvalidRow,
                    Some(&key),
                    row.path.clone(),
                    format!("key {key:?} in format {:?}", row.format),
                ),
                fix: vec![Fix::DeleteRow(key)],
            });
            continue;
        };
        let path = crate::store::BlobStore::rel_path(&key, format);
        let read = match core.store().read(&key, format) {
            Ok(read) => read,
            // Unreadable where it should be (a shard that is a link, a permission): reported,
            // and the row is kept, since the payload may come back.
            Err(e) => {
                findings.push(Finding {
                    problem: problem(
                        ProblemKind::MissingPayload,
                        Some(&key),
                        path,
                        format!("the catalog row's payload cannot be read: {e}"),
                    ),
                    fix: vec![Fix::Nothing],
                });
                continue;
            }
        };
        let Some(bytes) = read else {
            findings.push(Finding {
                problem: problem(
                    ProblemKind::MissingPayload,
                    Some(&key),
                    path,
                    "the catalog row's payload file does not exist".into(),
                ),
                fix: vec![Fix::DeleteRow(key)],
            });
            continue;
        };
        judged.insert((key.clone(), format));
        match judge(core, &key, format, bytes)? {
            Ok(loaded) => {
                let truth = loaded.row()?;
                indexed.insert(key.clone(), (format, truth.created_at));
                let differ = differences(&row, &truth);
                if !differ.is_empty() {
                    let (kind, why) = match row.check_signature(core.signer()) {
                        Err(why) if loaded.signature.is_some() => (
                            ProblemKind::TamperedRow,
                            format!("the row's signature fails ({why}); "),
                        ),
                        _ => (ProblemKind::StaleRow, String::new()),
                    };
                    findings.push(Finding {
                        problem: problem(
                            kind,
                            Some(&key),
                            path,
                            format!(
                                "{why}the row differs from the payload in {}",
                                differ.join(", ")
                            ),
                        ),
                        fix: vec![Fix::WriteRow(Box::new(truth), true)],
                    });
                } else if duplicated.contains(&key) {
                    findings.push(Finding {
                        problem: problem(
                            ProblemKind::DuplicateRow,
                            Some(&key),
                            path,
                            "the Delta table holds more than one row of this key".into(),
                        ),
                        fix: vec![Fix::WriteRow(Box::new(truth), true)],
                    });
                }
            }
            Err(Verdict::Corrupt(reason)) => findings.push(Finding {
                problem: problem(ProblemKind::CorruptPayload, Some(&key), path, reason),
                fix: vec![Fix::RemovePayload(key, format, RemovalReason::Corrupt)],
            }),
            Err(Verdict::InvalidSignature(reason)) => {
                let fix = if core.config().delete_invalid_signatures {
                    Fix::RemovePayload(key.clone(), format, RemovalReason::InvalidSignature)
                } else {
                    Fix::Nothing
                };
                findings.push(Finding {
                    problem: problem(ProblemKind::InvalidSignature, Some(&key), path, reason),
                    fix: vec![fix],
                });
            }
        }
    }
    let mut payloads = 0;
    if core.store().is_remote() {
        // An object store holds no temporary files or shard directories: only objects,
        // named here as they would be under the root for the messages.
        for f in core.store().payload_files()? {
            let file = core
                .root()
                .join(crate::store::BlobStore::rel_path(&f.key, f.format));
            let (finding, is_payload) = judge_file(core, &file, &indexed, &judged, now)?;
            payloads += usize::from(is_payload);
            findings.extend(finding);
        }
    }
    findings.extend(foreign_directories(core.root())?);
    let blobs = core.root().join("blobs");
    if is_link(&blobs) {
        return Ok((report_of(checked_rows, payloads, &findings), findings));
    }
    for shard in read_dir(&blobs)? {
        if is_link(&shard) {
            findings.push(foreign_directory(core.root(), &shard));
            continue;
        }
        if !shard.is_dir() {
            findings.push(unknown(core.root(), &shard, "not a shard directory"));
            continue;
        }
        for file in read_dir(&shard)? {
            let (finding, is_payload) = judge_file(core, &file, &indexed, &judged, now)?;
            payloads += usize::from(is_payload);
            findings.extend(finding);
        }
    }
    if let Some(small) = core.store().small() {
        for record in small.summaries()? {
            if record.payload_len.is_none() {
                continue; // a marker: its file was judged above
            }
            payloads += 1;
            let (key, format) = (record.key.as_str(), record.format);
            if judged.contains(&(key.to_string(), format)) {
                continue; // judged with its row
            }
            let Some(bytes) = core.store().read(key, format)? else {
                continue; // removed meanwhile
            };
            let path = format!("{}/{key}.{}", crate::small_store::DIR, format.ext());
            let remove = Fix::RemoveStored(key.to_string(), format);
            let at = Judged {
                key,
                format,
                path,
                remove,
            };
            // A record is always the key's newest payload (a put of a file replaces it).
            findings.push(judge_payload(core, at, bytes, &indexed, now, |_| true)?);
        }
    }
    Ok((report_of(checked_rows, payloads, &findings), findings))
}

fn report_of(rows: usize, payloads: usize, findings: &[Finding]) -> VerifyReport {
    VerifyReport {
        rows,
        payloads,
        problems: findings.iter().map(|f| f.problem.clone()).collect(),
    }
}

/// Whether `path` is a symbolic link.
fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

fn foreign_directory(root: &Path, path: &Path) -> Finding {
    Finding {
        problem: problem(
            ProblemKind::ForeignDirectory,
            None,
            relative(root, path),
            "a symbolic link where the cache keeps a directory of its own: the cache does not \
             follow it (writes and removals there are refused); put a real directory back"
                .into(),
        ),
        fix: vec![Fix::Nothing],
    }
}

/// The directories of the cache outside `blobs/`'s shards that are symbolic links or not
/// directories: `blobs/` itself, `catalog/` and its tables, `tables/` and its tables.
fn foreign_directories(root: &Path) -> Result<Vec<Finding>> {
    let mut found = Vec::new();
    for top in ["blobs", "catalog", "tables"] {
        let dir = root.join(top);
        match std::fs::symlink_metadata(&dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(&dir, e)),
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                found.push(foreign_directory(root, &dir));
                continue;
            }
        }
        if top == "blobs" {
            continue; // its shards are judged by the walk
        }
        for inner in read_dir(&dir)? {
            if is_link(&inner) {
                found.push(foreign_directory(root, &inner));
            }
        }
    }
    Ok(found)
}

fn read_dir(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io(dir, e)),
    };
    for entry in entries {
        out.push(entry.map_err(|e| Error::io(dir, e))?.path());
    }
    out.sort();
    Ok(out)
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

fn unknown(root: &Path, path: &Path, why: &str) -> Finding {
    Finding {
        problem: problem(
            ProblemKind::UnknownFile,
            None,
            relative(root, path),
            why.to_string(),
        ),
        fix: vec![Fix::Nothing],
    }
}

/// Judge one file under a shard directory: a finding if something is wrong with it, and
/// whether it is a payload file.
fn judge_file(
    core: &CacheCore,
    file: &Path,
    indexed: &HashMap<String, (Format, i64)>,
    judged: &HashSet<(String, Format)>,
    now: i64,
) -> Result<(Vec<Finding>, bool)> {
    let root = core.root();
    if is_link(file) {
        let why = "a symbolic link: the cache neither follows nor removes it";
        return Ok((vec![unknown(root, file, why)], false));
    }
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let shard = file
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("");
    if name.starts_with('.') && name.ends_with(".tmp") {
        let age = std::fs::metadata(file)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .unwrap_or_default();
        if age < TEMP_FILE_GRACE {
            return Ok((Vec::new(), false)); // maybe a put in progress
        }
        let finding = Finding {
            problem: problem(
                ProblemKind::StaleTempFile,
                None,
                relative(root, file),
                format!("an unfinished write, {} s old", age.as_secs()),
            ),
            fix: vec![Fix::RemoveFile(file.to_path_buf())],
        };
        return Ok((vec![finding], false));
    }
    let parsed = crate::store::parse_payload_name(name).filter(|(key, _)| key.starts_with(shard));
    let Some((key, format)) = parsed else {
        return Ok((vec![unknown(root, file, "not a payload name")], false));
    };
    let path = relative(root, file);
    let record = match core.store().small() {
        Some(small) => small.summary(key)?,
        None => None,
    };
    if record.as_ref().is_some_and(|r| r.payload_len.is_some()) {
        let finding = Finding {
            problem: problem(
                ProblemKind::ReplacedFile,
                Some(key),
                path,
                "the key's payload is a record of the small-entry store, put after this file"
                    .into(),
            ),
            fix: vec![remove_file(core, file, key, format)],
        };
        return Ok((vec![finding], false));
    }
    let unmarked = core.store().small().is_some() && record.is_none_or(|r| r.format != format);
    let unmarked = unmarked.then(|| Finding {
        problem: problem(
            ProblemKind::UnmarkedFile,
            Some(key),
            path.clone(),
            "the small-entry store has no marker for this file: gets may miss it".into(),
        ),
        fix: vec![Fix::MarkFile(key.to_string(), format)],
    });
    if judged.contains(&(key.to_string(), format)) {
        return Ok((unmarked.into_iter().collect(), true)); // judged with its row
    }
    let bytes = match core.store().is_remote() {
        true => core.store().read(key, format)?,
        false => core.store().read_file(key, format)?,
    };
    let Some(bytes) = bytes else {
        return Ok((Vec::new(), false)); // removed meanwhile
    };
    let at = Judged {
        key,
        format,
        path,
        remove: remove_file(core, file, key, format),
    };
    let mut found = vec![judge_payload(core, at, bytes, indexed, now, |newer| newer)?];
    // A file found invalid is removed: no marker for it.
    if found.iter().all(|f| {
        !matches!(
            f.problem.kind,
            ProblemKind::CorruptPayload
                | ProblemKind::InvalidSignature
                | ProblemKind::ExpiredOrphan
        )
    }) {
        found.extend(unmarked);
    }
    Ok((found, true))
}

/// A payload found outside the rows' walk, where it lies, and the fix that removes it.
struct Judged<'a> {
    key: &'a str,
    format: Format,
    /// Its path relative to the cache root (a record's: `small/<key>.<ext>`).
    path: String,
    remove: Fix,
}

/// Judge a payload that no row was judged with: corrupt, badly signed, an expired orphan, an
/// orphan, or a second payload of a key whose row names another format. `keep_newer` says,
/// given whether this payload is newer than the one its row names, whether this one is kept.
fn judge_payload(
    core: &CacheCore,
    at: Judged<'_>,
    bytes: bytes::Bytes,
    indexed: &HashMap<String, (Format, i64)>,
    now: i64,
    keep: impl Fn(bool) -> bool,
) -> Result<Finding> {
    let Judged {
        key,
        format,
        path,
        remove,
    } = at;
    let row = indexed.get(key).copied();
    let finding = match judge(core, key, format, bytes)? {
        Err(Verdict::Corrupt(reason)) => Finding {
            problem: problem(ProblemKind::CorruptPayload, Some(key), path, reason),
            // This payload only: the key may have a valid row (and payload) in another format.
            fix: vec![remove],
        },
        Err(Verdict::InvalidSignature(reason)) => Finding {
            problem: problem(ProblemKind::InvalidSignature, Some(key), path, reason),
            fix: vec![if core.config().delete_invalid_signatures {
                remove
            } else {
                Fix::Nothing
            }],
        },
        Ok(loaded) if loaded.expired(now) => Finding {
            problem: problem(
                ProblemKind::ExpiredOrphan,
                Some(key),
                path,
                "expired, and not in the catalog".into(),
            ),
            fix: vec![remove],
        },
        Ok(loaded) => {
            let truth = loaded.row()?;
            match row {
                None => Finding {
                    problem: problem(
                        ProblemKind::Orphan,
                        Some(key),
                        path,
                        "a valid payload that the catalog does not list".into(),
                    ),
                    fix: vec![Fix::WriteRow(Box::new(truth), false)],
                },
                Some((other, created)) => {
                    let detail = format!(
                        "the catalog lists this key as {}; the newer payload is kept",
                        other.as_str()
                    );
                    let fix = if keep(truth.created_at > created) {
                        let other_file = core.store().path(key, other);
                        vec![
                            remove_file(core, &other_file, key, other),
                            Fix::WriteRow(Box::new(truth), true),
                        ]
                    } else {
                        vec![remove]
                    };
                    Finding {
                        problem: problem(ProblemKind::DuplicatePayload, Some(key), path, detail),
                        fix,
                    }
                }
            }
        }
    };
    Ok(finding)
}
