//! What the catalog's commits match rows against: the payloads an entry has on disk now (its
//! record in the small-entry store, or its files), and the content hash each claims
//! ([`cacheness_catalog::PayloadProbe`]).
//!
//! Puts of one key that race (threads of a process, processes) journal their rows in the
//! order their journal appends happen, which need not be the order their payloads were
//! renamed into place. A commit asks this probe for each key it touches and keeps the row
//! that describes the payload there, so that after `flush` the catalog holds exactly one row
//! per live payload, describing it (`docs/RELIABILITY.md`). A payload that no journaled row
//! describes (its put was killed between placing it and journaling its row) gets a row made
//! from its own metadata, once it passes every check a get makes.

use std::path::Path;

use rustix::fs::OFlags;

use cacheness_catalog::{CatalogRow, PayloadOnDisk, PayloadProbe};

use crate::core::{Inspector, Lookup};
use crate::error::Result;
use crate::shard_dirs::ShardDirs;
use crate::small_store::{Located, SmallStore};
use crate::store::file_name;
use cacheness_format::codec::Format;
use cacheness_format::signing::Signer;

/// What the small-entry store told of a key.
enum Seen {
    /// Its payloads (`None`: a record whose claimed hash cannot be read).
    Known(Option<Vec<PayloadOnDisk>>),
    /// Look for its files.
    Files,
    /// Cannot be told.
    Unknown,
}

/// The payload files of a cache on disk (opened as the store opens them: relative to the
/// shard directories, following no link), and the key and setting that check them.
pub(crate) struct DiskPayloads {
    shards: ShardDirs,
    small: Option<SmallStore>,
    signer: Signer,
    allow_unsigned: bool,
}

impl std::fmt::Debug for DiskPayloads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DiskPayloads({:?})", self.shards)
    }
}

impl DiskPayloads {
    /// The payloads of the cache at `root`.
    pub(crate) fn open(
        root: &Path,
        small: Option<SmallStore>,
        signer: Signer,
        allow_unsigned: bool,
    ) -> Result<Self> {
        Ok(DiskPayloads {
            shards: ShardDirs::open(root)?,
            small,
            signer,
            allow_unsigned,
        })
    }

    /// Where the small-entry store says the payload of `key` is ([`SmallStore::locate`]).
    fn locate(&self, key: &str) -> Option<Located<Vec<u8>>> {
        match &self.small {
            Some(small) => small.locate(key).ok(),
            None => Some(Located::Unknown),
        }
    }

    /// The payload files of `key` (the store holding no record of it, or a marker); `None`
    /// if that cannot be told.
    fn files_of(&self, key: &str) -> Option<Vec<PayloadOnDisk>> {
        if !cacheness_format::keys::CacheKey::is_valid(key) {
            return None;
        }
        let mut found = Vec::new();
        for format in Format::ALL {
            let Some(file) = self.open_file(key, format).ok()? else {
                continue;
            };
            found.push(PayloadOnDisk {
                format: format.as_str().to_string(),
                content_hash: format.claimed_hash(&file)?,
            });
        }
        Some(found)
    }

    /// Open a payload file: `Ok(None)` if there is none.
    fn open_file(&self, key: &str, format: Format) -> Result<Option<std::fs::File>> {
        let name = file_name(key, format);
        let fd = self.shards.open_file(key, &name, OFlags::RDONLY)?;
        Ok(fd.map(std::fs::File::from))
    }
}

impl PayloadProbe for DiskPayloads {
    fn payloads(&self, key: &str) -> Option<Vec<PayloadOnDisk>> {
        self.payloads_of(&[key]).pop().flatten()
    }

    fn payloads_of(&self, keys: &[&str]) -> Vec<Option<Vec<PayloadOnDisk>>> {
        let Some(small) = &self.small else {
            return keys.iter().map(|k| self.files_of(k)).collect();
        };
        // A record holding the payload is the key's payload: a file beside it is one its put
        // did not get to remove. No record, once every file has its marker, is no payload
        // (as for a get: `crate::store`). The store is read in one transaction, and the files
        // looked for after it; a key that is not a cache key is an error there, and cannot be
        // told.
        let seen = small.locate_each(keys, |located| match located {
            Ok(Located::Record(format, bytes)) => {
                Seen::Known(format.claimed_hash_in(bytes).map(|content_hash| {
                    vec![PayloadOnDisk {
                        format: format.as_str().to_string(),
                        content_hash,
                    }]
                }))
            }
            Ok(Located::Absent) => Seen::Known(Some(Vec::new())),
            Ok(Located::File(_) | Located::Unknown) => Seen::Files,
            Err(_) => Seen::Unknown,
        });
        match seen {
            Ok(seen) => keys
                .iter()
                .zip(seen)
                .map(|(key, seen)| match seen {
                    Seen::Known(found) => found,
                    Seen::Files => self.files_of(key),
                    Seen::Unknown => None,
                })
                .collect(),
            Err(_) => vec![None; keys.len()],
        }
    }

    fn row_of(&self, key: &str, payload: &PayloadOnDisk) -> Option<CatalogRow> {
        use std::io::Read;
        let format = Format::from_name(&payload.format)?;
        let bytes = match self.locate(key) {
            Some(Located::Record(f, bytes)) if f == format => bytes,
            _ => {
                let mut bytes = Vec::new();
                self.open_file(key, format)
                    .ok()??
                    .read_to_end(&mut bytes)
                    .ok()?;
                bytes
            }
        };
        let inspector = Inspector {
            signer: &self.signer,
            allow_unsigned: self.allow_unsigned,
        };
        let loaded = inspector
            .inspect(&Lookup::parse_key(key).ok()?, format, bytes.into())
            .ok()?;
        (loaded.hash == payload.content_hash)
            .then(|| loaded.row().ok())
            .flatten()
    }
}
