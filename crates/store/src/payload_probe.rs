//! What the catalog's commits match rows against: the payload files an entry has on disk now,
//! and the content hash each claims ([`cacheness_catalog::PayloadProbe`]).
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
use crate::store::file_name;
use cacheness_format::codec::Format;
use cacheness_format::signing::Signer;

/// The payload files of a cache on disk (opened as the store opens them: relative to the
/// shard directories, following no link), and the key and setting that check them.
pub(crate) struct DiskPayloads {
    shards: ShardDirs,
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
    pub(crate) fn open(root: &Path, signer: Signer, allow_unsigned: bool) -> Result<Self> {
        Ok(DiskPayloads {
            shards: ShardDirs::open(root)?,
            signer,
            allow_unsigned,
        })
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

    fn row_of(&self, key: &str, payload: &PayloadOnDisk) -> Option<CatalogRow> {
        use std::io::Read;
        let format = Format::from_name(&payload.format)?;
        let mut bytes = Vec::new();
        self.open_file(key, format)
            .ok()??
            .read_to_end(&mut bytes)
            .ok()?;
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
