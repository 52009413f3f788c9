//! Ranged reads of large payloads on an object store: fetch only the parts of a payload a read
//! touches, and check every part before anything decodes it (`docs/SCALE.md`, "Ranged reads").
//!
//! A payload of at least [`cacheness_format::signing::OUTBOARD_MIN`] bytes is stored with an *outboard tree*
//! (`<key>.<ext>.tree`, [`cacheness_format::signing::Signer::outboard`]): the chaining value of every
//! [`OUTBOARD_LEAF`]-byte leaf of its keyed-BLAKE3 payload MAC.
//!
//! - **Opening** sends at once (one round trip) a GET of the payload's last [`TAIL`] bytes (the
//!   Parquet footer or Blosc2 trailer, with the signature slot), a GET of its tree, and for
//!   formats with metadata at the front too (the Blosc2 header) a GET of its first leaf. The
//!   tree must merge to the payload MAC of the signature in the slot; each fetched leaf must
//!   hash to its chaining value (slot masked). The caller then checks the entry HMAC against
//!   the metadata, as a get does.
//! - **Reads** fetch the leaves they touch that are not yet held, in runs of neighbouring
//!   leaves sent together, each GET conditional on the ETag seen at open (`If-Match`): a
//!   payload replaced meanwhile is an error that says so, never a mix of two versions.
//! - Anything else (a small payload, no tree, a tree of another version, a leaf that fails, a
//!   read-through copy already held) reads the whole payload, whose checks then judge it.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use cacheness_storage::{on_io, store_err, wait};
use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore};

use crate::error::{Error, Result};
use crate::remote_blobs::RemoteBlobs;
use cacheness_format::codec::Format;
use cacheness_format::seal::{self, SlotAt};
use cacheness_format::signing::{OUTBOARD_LEAF, Outboard, Signature, Signer};

/// How much of a payload's end opening fetches: two leaves, so the last full leaf and the
/// (possibly short) final one are always whole.
pub const TAIL: u64 = 2 * OUTBOARD_LEAF as u64;
/// Runs of leaves fetched at once by one read.
const CONCURRENT_GETS: usize = 16;

/// What opening a payload for ranged reads found.
pub(crate) enum Opened {
    /// No payload of this format.
    Missing,
    /// The whole payload (small, without a usable tree, or held locally), to be checked as a
    /// get checks it.
    Whole(Bytes),
    /// A payload read in parts, whose tree matches this signature.
    Ranged(Box<RangedPayload>, Signature),
}

/// What this process's ranged reads did, for `CacheStats`.
#[derive(Debug, Default)]
pub(crate) struct PartsCounters {
    /// Payloads opened for ranged reads.
    pub reads: AtomicU64,
    /// Payload bytes fetched by them.
    pub bytes: AtomicU64,
}

/// A payload as a get that may read in parts returns it.
#[derive(Debug, Clone)]
pub enum PayloadData {
    /// The whole payload, checked.
    Whole(Bytes),
    /// A large payload on an object store, read in checked parts.
    Parts(std::sync::Arc<RangedPayload>),
}

/// A large payload on an object store, read leaf by leaf; every leaf held has been checked.
pub struct RangedPayload {
    store: std::sync::Arc<dyn ObjectStore>,
    path: ObjectPath,
    url: String,
    etag: Option<String>,
    len: u64,
    /// The signature slot's position (masked when leaves are hashed).
    slot: usize,
    signer: Signer,
    tree: Outboard,
    leaves: Mutex<BTreeMap<usize, Bytes>>,
    fetched: AtomicU64,
    counters: std::sync::Arc<PartsCounters>,
}

impl std::fmt::Debug for RangedPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RangedPayload({}, {} bytes)", self.url, self.len)
    }
}

/// GET `range` of an object, if it exists, with its metadata.
async fn get_range(
    store: &dyn ObjectStore,
    path: &ObjectPath,
    range: GetRange,
    if_match: Option<String>,
) -> std::result::Result<Option<(object_store::ObjectMeta, Range<u64>, Bytes)>, object_store::Error>
{
    let opts = GetOptions {
        range: Some(range),
        if_match,
        ..Default::default()
    };
    match store.get_opts(path, opts).await {
        Ok(r) => {
            let (meta, range) = (r.meta.clone(), r.range.clone());
            Ok(Some((meta, range, r.bytes().await?)))
        }
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

impl RemoteBlobs {
    /// Open a payload for ranged reads (see the module docs).
    pub(crate) fn open_ranged(&self, key: &str, format: Format, signer: &Signer) -> Result<Opened> {
        let whole = || -> Result<Opened> {
            Ok(self
                .read(key, format)?
                .map_or(Opened::Missing, Opened::Whole))
        };
        if self.has_copy(key, format) {
            return whole();
        }
        let store = self.store().clone();
        let path = self.object(key, format);
        let tree_path = self.tree(key, format);
        let url = self.url(key, format);
        // Blosc2 keeps its header (shape, chunk layout) at the front, the rest at the back.
        let front = format == Format::B2nd;
        let (tail, tree, head) = {
            let (store, path) = (store.clone(), path.clone());
            wait(on_io(async move {
                let tail = get_range(store.as_ref(), &path, GetRange::Suffix(TAIL), None);
                let tree = get_range(store.as_ref(), &tree_path, GetRange::Offset(0), None);
                let head = async {
                    match front {
                        true => {
                            let first = GetRange::Bounded(0..OUTBOARD_LEAF as u64);
                            // A small payload's tail is all of it; its head is not needed.
                            get_range(store.as_ref(), &path, first, None)
                                .await
                                .ok()
                                .flatten()
                        }
                        false => None,
                    }
                };
                let (tail, tree, head) = futures::join!(tail, tree, head);
                Ok::<_, object_store::Error>((tail?, tree?, head))
            }))
            .map_err(store_err(&url))?
        };
        let Some((meta, tail_range, tail)) = tail else {
            return Ok(Opened::Missing);
        };
        if tail_range.start == 0 {
            return Ok(Opened::Whole(tail));
        }
        let Some(tree) = tree.map(|(_, _, t)| t) else {
            return whole();
        };
        let len = meta.size;
        let Some(slot) = seal::locate(&tail, SlotAt::Back).and_then(|s| s.signature) else {
            return whole();
        };
        let slot_bytes = &tail[slot..slot + cacheness_format::seal::SIGNATURE_LEN];
        let Some(sig) = Signature::parse(slot_bytes) else {
            return whole();
        };
        let Some(checked) = signer.check_outboard(&tree, len, &sig) else {
            return whole();
        };
        let ranged = RangedPayload {
            store,
            path,
            url,
            etag: meta.e_tag.clone(),
            len,
            slot: tail_range.start as usize + slot,
            signer: signer.clone(),
            tree: checked,
            leaves: Mutex::new(BTreeMap::new()),
            fetched: AtomicU64::new(0),
            counters: self.parts.clone(),
        };
        let mut pieces = vec![(tail_range.start, tail)];
        if front {
            match head {
                // Only the same version's head is of use: a head of another fails its leaf.
                Some((m, r, b)) if m.e_tag == meta.e_tag => pieces.push((r.start, b)),
                _ => return whole(),
            }
        }
        for (start, bytes) in pieces {
            if !ranged.keep_whole_leaves(start, &bytes) {
                return whole();
            }
        }
        ranged.counters.reads.fetch_add(1, Ordering::Relaxed);
        Ok(Opened::Ranged(Box::new(ranged), sig))
    }
}

impl RangedPayload {
    /// The payload's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the payload is empty (never: ranged payloads are large).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Payload bytes fetched so far (the tree not counted).
    pub fn fetched_bytes(&self) -> u64 {
        self.fetched.load(Ordering::Relaxed)
    }

    /// Check and keep every whole leaf in `bytes` (read at file position `start`); false if
    /// one fails its chaining value.
    fn keep_whole_leaves(&self, start: u64, bytes: &Bytes) -> bool {
        self.fetched
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        (self.counters.bytes).fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let end = start + bytes.len() as u64;
        let mut held = self.held();
        for i in self.tree.leaves_of(start..end) {
            let Some(r) = self.tree.leaf(i) else { continue };
            if (r.start as u64) < start || r.end as u64 > end {
                continue; // cut by the fetched range
            }
            let piece = bytes.slice(r.start - start as usize..r.end - start as usize);
            if !self.signer.check_leaf(&self.tree, i, &piece, self.slot) {
                return false;
            }
            held.insert(i, piece);
        }
        true
    }

    fn held(&self) -> std::sync::MutexGuard<'_, BTreeMap<usize, Bytes>> {
        // The map is only inserted into: a panic elsewhere cannot leave it inconsistent.
        self.leaves.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Fetch and check every leaf `ranges` touch that is not held yet: runs of neighbouring
    /// leaves, [`CONCURRENT_GETS`] at a time.
    pub fn prefetch(&self, ranges: &[Range<u64>]) -> Result<()> {
        let mut wanted: Vec<usize> = {
            let held = self.held();
            ranges
                .iter()
                .flat_map(|r| self.tree.leaves_of(r.clone()))
                .filter(|i| !held.contains_key(i))
                .collect()
        };
        wanted.sort_unstable();
        wanted.dedup();
        let mut runs: Vec<Range<u64>> = Vec::new();
        for i in wanted {
            let Some(r) = self.tree.leaf(i) else { continue };
            match runs.last_mut() {
                Some(last) if last.end == r.start as u64 => last.end = r.end as u64,
                _ => runs.push(r.start as u64..r.end as u64),
            }
        }
        if runs.is_empty() {
            return Ok(());
        }
        let (store, path, etag) = (self.store.clone(), self.path.clone(), self.etag.clone());
        let got = wait(on_io(async move {
            futures::stream::iter(runs)
                .map(|r| {
                    let (store, path, etag) = (store.clone(), path.clone(), etag.clone());
                    async move {
                        let bounded = GetRange::Bounded(r.clone());
                        let got = get_range(store.as_ref(), &path, bounded, etag).await?;
                        Ok::<_, object_store::Error>((r, got))
                    }
                })
                .buffer_unordered(CONCURRENT_GETS)
                .collect::<Vec<_>>()
                .await
        }));
        for fetched in got {
            let (r, got) = fetched.map_err(|e| match e {
                object_store::Error::Precondition { .. } => self.replaced(),
                e => store_err(&self.url)(e).into(),
            })?;
            let Some((_, at, bytes)) = got else {
                return Err(self.replaced());
            };
            if at != r || !self.keep_whole_leaves(r.start, &bytes) {
                return Err(Error::corrupt(
                    &self.url,
                    format!("bytes {}..{} fail their signed tree", r.start, r.end),
                ));
            }
        }
        Ok(())
    }

    fn replaced(&self) -> Error {
        Error::corrupt(
            &self.url,
            "the payload was replaced or removed while being read; read it again",
        )
    }

    /// Checked bytes from `pos` to the end of the part that holds it (for streaming reads that
    /// should not fetch past what they need).
    pub fn read_at(&self, pos: u64) -> Result<Bytes> {
        let leaf = self.tree.leaves_of(pos..pos + 1);
        let end = self
            .tree
            .leaf(leaf.start)
            .map_or(self.len, |r| r.end as u64);
        self.read(pos..end)
    }

    /// The checked bytes of `range` (fetched first if need be).
    pub fn read(&self, range: Range<u64>) -> Result<Bytes> {
        let range = range.start.min(self.len)..range.end.min(self.len);
        self.prefetch(std::slice::from_ref(&range))?;
        let held = self.held();
        let leaves = self.tree.leaves_of(range.clone());
        let piece = |i: usize| -> Result<(Range<usize>, &Bytes)> {
            match (self.tree.leaf(i), held.get(&i)) {
                (Some(r), Some(b)) => Ok((r, b)),
                _ => Err(Error::corrupt(
                    &self.url,
                    format!("leaf {i} missing after a fetch"),
                )),
            }
        };
        let (start, end) = (range.start as usize, range.end as usize);
        if leaves.len() == 1 {
            let (r, b) = piece(leaves.start)?;
            return Ok(b.slice(start - r.start..end - r.start));
        }
        let mut out = Vec::with_capacity(end - start);
        for i in leaves {
            let (r, b) = piece(i)?;
            let from = start.max(r.start) - r.start;
            let to = end.min(r.end) - r.start;
            out.extend_from_slice(&b[from..to]);
        }
        Ok(Bytes::from(out))
    }

    /// The payload as a buffer of its full length holding every leaf fetched so far, zeros
    /// elsewhere (for decoders that want the file's layout: Blosc2's). Untouched zero pages
    /// cost no memory.
    pub fn sparse(&self) -> Vec<u8> {
        let mut buf = vec![0u8; self.len as usize];
        for (i, b) in self.held().iter() {
            if let Some(r) = self.tree.leaf(*i) {
                buf[r].copy_from_slice(b);
            }
        }
        buf
    }
}
