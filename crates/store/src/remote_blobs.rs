//! Payloads on an object store: the same names as on disk (`blobs/<2 hex>/<key>.<ext>` under
//! the cache's prefix), written and read with `object_store` requests run on the IO runtime
//! (`cacheness_storage`).
//!
//! - **Writes are atomic** as on disk: an object appears whole when its PUT (or the completion
//!   of its multipart upload) succeeds. A new key is written with put-if-absent
//!   (`If-None-Match: *` on S3), which tells a new key from a replacement without a separate
//!   request, like the disk's `RENAME_NOREPLACE`; a replacement is then a plain PUT.
//! - Payloads of at least [`MULTIPART_THRESHOLD`] bytes are uploaded in parts of that size, so
//!   a large payload neither needs one huge request nor restarts from zero when a part fails.
//! - A put asks for the key's payloads in the other formats (which it must remove) with HEADs
//!   sent together with its PUT, so it waits for one round trip.

use bytes::Bytes;
use cacheness_storage::{Remote, on_io, store_err, wait};
use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, WriteMultipart};

use crate::error::Result;
use crate::read_through::ReadThrough;
use crate::store::{BlobStore, PayloadFile, parse_payload_name};
use cacheness_format::Error as FormatError;
use cacheness_format::codec::Format;

/// The key of a cache on an object store whose configuration names no key: the object
/// `signing.key` under the cache's prefix, created (put-if-absent, so every host agrees on
/// one) by the first host. Whoever can read the bucket can then sign: `docs/SCALE.md` says
/// when to give every host the key through `CACHENESS_SIGNING_KEY` instead.
pub(crate) fn shared_signing_key(
    remote: &cacheness_storage::Remote,
) -> Result<[u8; cacheness_format::signing::KEY_LEN]> {
    use cacheness_format::signing::{DEFAULT_KEY_FILE, KEY_LEN, parse_hex_key};
    use cacheness_storage::{Location, wait};
    let name = remote.url_of(DEFAULT_KEY_FILE);
    let key_error = |reason: String| {
        FormatError::SigningKey {
            source_name: name.clone(),
            reason,
        }
        .into()
    };
    let mut fresh = [0u8; KEY_LEN];
    getrandom::fill(&mut fresh).map_err(|e| key_error(format!("no randomness: {e}")))?;
    let at = Location::Remote(remote.clone());
    let text = format!("{}\n", cacheness_format::keys::hex(&fresh));
    if wait(at.create_small(DEFAULT_KEY_FILE, text.into_bytes()))? {
        return Ok(fresh);
    }
    // Another host created it first: use theirs.
    let stored = wait(at.read_small(DEFAULT_KEY_FILE))?.unwrap_or_default();
    std::str::from_utf8(&stored)
        .ok()
        .and_then(|t| parse_hex_key(t.trim()))
        .ok_or_else(|| key_error("it does not hold a key of 64 hex digits".into()))
}

/// Write one payload object: put-if-absent, then (if it existed) a plain overwrite; large
/// payloads in parts. Whether it replaced one, and the new object's ETag.
async fn put_payload(
    store: std::sync::Arc<dyn ObjectStore>,
    path: ObjectPath,
    payload: Bytes,
) -> std::result::Result<(bool, Option<String>), object_store::Error> {
    if payload.len() >= MULTIPART_THRESHOLD {
        let replaced = head_opt(store.as_ref(), &path).await?.is_some();
        let upload = store.put_multipart(&path).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, MULTIPART_THRESHOLD);
        writer.put(payload);
        let done = writer.finish().await?;
        return Ok((replaced, done.e_tag));
    }
    let create = PutOptions {
        mode: PutMode::Create,
        ..Default::default()
    };
    match store.put_opts(&path, payload.clone().into(), create).await {
        Ok(done) => Ok((false, done.e_tag)),
        Err(object_store::Error::AlreadyExists { .. }) => {
            let done = store.put(&path, payload.into()).await?;
            Ok((true, done.e_tag))
        }
        Err(e) => Err(e),
    }
}

/// HEAD an object: its metadata, or `None` if there is no such object.
pub(crate) async fn head_opt(
    store: &dyn ObjectStore,
    path: &ObjectPath,
) -> std::result::Result<Option<object_store::ObjectMeta>, object_store::Error> {
    match store.head(path).await {
        Ok(meta) => Ok(Some(meta)),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Delete an object; one that is already gone counts as deleted.
async fn delete_quietly(
    store: &dyn ObjectStore,
    path: &ObjectPath,
) -> std::result::Result<(), object_store::Error> {
    match store.delete(path).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// GET a payload object, conditionally on the read-through copy's ETag if there is one.
fn fetch(
    store: std::sync::Arc<dyn ObjectStore>,
    path: ObjectPath,
    copy: &Option<(String, Bytes)>,
) -> impl std::future::Future<Output = std::result::Result<Fetched, object_store::Error>> + Send + 'static
{
    let if_none_match = copy.as_ref().map(|(etag, _)| etag.clone());
    async move {
        let opts = GetOptions {
            if_none_match,
            ..Default::default()
        };
        match store.get_opts(&path, opts).await {
            Ok(r) => {
                let etag = r.meta.e_tag.clone();
                r.bytes().await.map(|b| Fetched::New(etag, b))
            }
            Err(object_store::Error::NotModified { .. }) => Ok(Fetched::Unchanged),
            Err(object_store::Error::NotFound { .. }) => Ok(Fetched::Gone),
            Err(e) => Err(e),
        }
    }
}

/// Payloads of at least this many bytes are uploaded in parts of this size (S3 takes parts of
/// 5 MiB and more).
pub const MULTIPART_THRESHOLD: usize = 8 << 20;

/// What an outboard tree's object name adds to its payload's (`<key>.<ext>.tree`); payload
/// walks skip these names.
pub const TREE_SUFFIX: &str = ".tree";

/// The payloads of one cache on an object store.
pub(crate) struct RemoteBlobs {
    remote: Remote,
    /// Local copies of hot payloads, if configured.
    read_through: Option<ReadThrough>,
    /// What ranged reads fetched.
    pub(crate) parts: std::sync::Arc<crate::ranged::PartsCounters>,
}

/// What a get of a payload object found.
enum Fetched {
    /// The object, with its ETag.
    New(Option<String>, Bytes),
    /// The version the read-through copy holds.
    Unchanged,
    /// No object.
    Gone,
}

impl std::fmt::Debug for RemoteBlobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RemoteBlobs({})", self.remote.url())
    }
}

impl RemoteBlobs {
    pub(crate) fn new(remote: Remote, read_through: Option<ReadThrough>) -> Self {
        RemoteBlobs {
            remote,
            read_through,
            parts: Default::default(),
        }
    }

    /// Ranged reads so far and the payload bytes they fetched.
    pub(crate) fn ranged_counts(&self) -> (u64, u64) {
        let g = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
        (g(&self.parts.reads), g(&self.parts.bytes))
    }

    /// Gets served by the read-through layer so far.
    pub(crate) fn read_through_hits(&self) -> u64 {
        self.read_through.as_ref().map_or(0, ReadThrough::hits)
    }

    /// Keep (or drop, without an ETag) the read-through copy of a payload version.
    fn keep(&self, key: &str, format: Format, etag: Option<&str>, bytes: &[u8]) {
        if let Some(rt) = &self.read_through {
            match etag {
                Some(e) => rt.put(key, format, e, bytes),
                None => {
                    rt.remove(key, format);
                }
            }
        }
    }

    /// Drop the read-through copy of a payload; true if there was one.
    pub(crate) fn forget(&self, key: &str, format: Format) -> bool {
        self.read_through
            .as_ref()
            .is_some_and(|rt| rt.remove(key, format))
    }

    /// Whether the read-through layer holds a copy of a payload.
    pub(crate) fn has_copy(&self, key: &str, format: Format) -> bool {
        self.read_through
            .as_ref()
            .is_some_and(|rt| rt.holds(key, format))
    }

    /// The object store the payloads live on.
    pub(crate) fn store(&self) -> &std::sync::Arc<dyn ObjectStore> {
        self.remote.store()
    }

    /// A payload's object.
    pub(crate) fn object(&self, key: &str, format: Format) -> ObjectPath {
        self.remote.path(&BlobStore::rel_path(key, format))
    }

    /// The object holding a payload's outboard tree (`crate::ranged`).
    pub(crate) fn tree(&self, key: &str, format: Format) -> ObjectPath {
        self.remote.path(&format!(
            "{}{TREE_SUFFIX}",
            BlobStore::rel_path(key, format)
        ))
    }

    /// The payload's URL (for messages).
    pub(crate) fn url(&self, key: &str, format: Format) -> String {
        self.remote.url_of(&BlobStore::rel_path(key, format))
    }

    /// Write a payload: whether it replaced one of the same key and format, and the other
    /// formats the key is stored in (which the caller removes). The PUT and the HEADs of the
    /// other formats go out at once: a put waits for one round trip, not three.
    pub(crate) fn write(
        &self,
        key: &str,
        format: Format,
        bytes: &[u8],
        outboard: Option<Vec<u8>>,
    ) -> Result<(bool, Vec<Format>)> {
        let store = self.remote.store().clone();
        let path = self.object(key, format);
        let outboard = outboard.map(|t| (self.tree(key, format), t));
        let err = store_err(self.url(key, format));
        let payload = Bytes::copy_from_slice(bytes);
        let others: Vec<(Format, ObjectPath)> = Format::ALL
            .into_iter()
            .filter(|f| *f != format)
            .map(|f| (f, self.object(key, f)))
            .collect();
        let (written, present) = wait(on_io(async move {
            let heads = futures::future::join_all(others.iter().map(|(f, p)| {
                let store = store.clone();
                async move { Ok(head_opt(store.as_ref(), p).await?.map(|_| *f)) }
            }));
            let put = put_payload(store.clone(), path, payload);
            // The tree goes up beside the payload; a reader that meets one without the
            // other finds they disagree and reads the whole payload.
            let tree = async {
                match outboard {
                    Some((p, t)) => store.put(&p, Bytes::from(t).into()).await.map(|_| ()),
                    None => Ok(()),
                }
            };
            let (written, heads, tree) = futures::join!(put, heads, tree);
            tree?;
            let present: std::result::Result<Vec<Option<Format>>, object_store::Error> =
                heads.into_iter().collect();
            Ok::<_, object_store::Error>((written?, present?))
        }))
        .map_err(err)?;
        let (replaced, etag) = written;
        // The writer's next get of it is local.
        self.keep(key, format, etag.as_deref(), bytes);
        Ok((replaced, present.into_iter().flatten().collect()))
    }

    /// Size of a payload object, if it exists (one HEAD).
    pub(crate) fn size(&self, key: &str, format: Format) -> Result<Option<u64>> {
        let store = self.remote.store().clone();
        let path = self.object(key, format);
        let got = wait(on_io(async move {
            Ok::<_, object_store::Error>(head_opt(store.as_ref(), &path).await?.map(|m| m.size))
        }));
        Ok(got.map_err(store_err(self.url(key, format)))?)
    }

    /// Read a payload; `None` if there is none. With a read-through copy, one conditional
    /// GET (`If-None-Match`) that moves no payload bytes when the copy is current.
    pub(crate) fn read(&self, key: &str, format: Format) -> Result<Option<Bytes>> {
        let copy = self.copy(key, format);
        let get = fetch(self.remote.store().clone(), self.object(key, format), &copy);
        let got = wait(on_io(get)).map_err(store_err(self.url(key, format)))?;
        self.settle(key, format, got, copy)
    }

    /// The payload of `key` in the first of `formats` it is stored in (see
    /// `BlobStore::read_first`): a GET of the first format (one request for a hit, the common
    /// case); on a miss, HEADs of the others at once, then a GET of the first one found. So a
    /// miss waits for two round trips, not one per format. (Sending the HEADs with the first
    /// GET saves a round trip on a miss but triples the requests of every hit; on moto, which
    /// serves concurrent requests one at a time, it made hits 3 × slower.)
    pub(crate) fn read_first(
        &self,
        key: &str,
        formats: &[Format],
    ) -> Result<Option<(usize, Format, Bytes)>> {
        let Some((&first, rest)) = formats.split_first() else {
            return Ok(None);
        };
        if let Some(bytes) = self.read(key, first)? {
            return Ok(Some((0, first, bytes)));
        }
        let store = self.remote.store().clone();
        let heads: Vec<ObjectPath> = rest.iter().map(|f| self.object(key, *f)).collect();
        let found = wait(on_io(async move {
            futures::future::join_all(heads.iter().map(|p| {
                let store = store.clone();
                async move { Ok(head_opt(store.as_ref(), p).await?.is_some()) }
            }))
            .await
            .into_iter()
            .collect::<std::result::Result<Vec<bool>, object_store::Error>>()
        }))
        .map_err(store_err(self.url(key, first)))?;
        for (i, (format, there)) in rest.iter().zip(found).enumerate() {
            if there && let Some(bytes) = self.read(key, *format)? {
                return Ok(Some((i + 1, *format, bytes)));
            }
        }
        Ok(None)
    }

    /// The read-through copy of a payload, if any.
    fn copy(&self, key: &str, format: Format) -> Option<(String, Bytes)> {
        self.read_through
            .as_ref()
            .and_then(|rt| rt.get(key, format))
    }

    /// What a fetch found, as the payload's bytes; the read-through copy is used, replaced or
    /// dropped accordingly.
    fn settle(
        &self,
        key: &str,
        format: Format,
        got: Fetched,
        copy: Option<(String, Bytes)>,
    ) -> Result<Option<Bytes>> {
        match (got, copy) {
            (Fetched::Unchanged, Some((_, bytes))) => {
                if let Some(rt) = &self.read_through {
                    rt.hit(key, format);
                }
                Ok(Some(bytes))
            }
            (Fetched::New(etag, bytes), _) => {
                self.keep(key, format, etag.as_deref(), &bytes);
                Ok(Some(bytes))
            }
            (Fetched::Gone, _) => {
                self.forget(key, format);
                Ok(None)
            }
            (Fetched::Unchanged, None) => Err(store_err(self.url(key, format))(
                object_store::Error::Generic {
                    store: "S3",
                    source: "answered Not Modified to an unconditional GET".into(),
                },
            )
            .into()),
        }
    }

    /// Remove a payload; true if there was one.
    pub(crate) fn remove(&self, key: &str, format: Format) -> Result<Option<u64>> {
        let store = self.remote.store().clone();
        let path = self.object(key, format);
        let tree = self.tree(key, format);
        let removed = wait(on_io(async move {
            let Some(meta) = head_opt(store.as_ref(), &path).await? else {
                return Ok(None);
            };
            let (payload, tree) = futures::join!(
                delete_quietly(store.as_ref(), &path),
                delete_quietly(store.as_ref(), &tree)
            );
            payload.and(tree).map(|()| Some(meta.size))
        }));
        self.forget(key, format);
        Ok(removed.map_err(store_err(self.url(key, format)))?)
    }

    /// Every payload object under `blobs/`.
    pub(crate) fn payload_files(&self) -> Result<Vec<PayloadFile>> {
        let store = self.remote.store().clone();
        let blobs = self.remote.path("blobs");
        let listed: Vec<object_store::ObjectMeta> = wait(on_io(async move {
            store.list(Some(&blobs)).try_collect().await
        }))
        .map_err(store_err(self.remote.url_of("blobs/")))?;
        Ok(listed
            .into_iter()
            .filter_map(|m| {
                let (key, format) = parse_payload_name(m.location.filename()?)?;
                Some(PayloadFile {
                    key: key.to_string(),
                    format,
                    len: m.size,
                    modified: m.last_modified.into(),
                    ino: etag_id(m.e_tag.as_deref()),
                    in_small_store: false,
                })
            })
            .collect())
    }

    /// Remove `file` if it is still the object a listing found (same ETag and time): a
    /// conditional check then a delete, so a put landing between them can be lost to the
    /// eviction (object stores have no conditional delete); `docs/SCALE.md` says so.
    pub(crate) fn remove_if_unchanged(&self, file: &PayloadFile) -> Result<bool> {
        let store = self.remote.store().clone();
        let path = self.object(&file.key, file.format);
        let tree = self.tree(&file.key, file.format);
        let url = self.url(&file.key, file.format);
        self.forget(&file.key, file.format);
        let file = file.clone();
        let removed = wait(on_io(async move {
            let Some(meta) = head_opt(store.as_ref(), &path).await? else {
                return Ok(false);
            };
            let modified: std::time::SystemTime = meta.last_modified.into();
            if etag_id(meta.e_tag.as_deref()) != file.ino || modified != file.modified {
                return Ok(false);
            }
            let (payload, tree) = futures::join!(
                delete_quietly(store.as_ref(), &path),
                delete_quietly(store.as_ref(), &tree)
            );
            payload.and(tree).map(|()| true)
        }));
        Ok(removed.map_err(store_err(url))?)
    }
}

/// An ETag as a number (what a disk's inode number does in [`PayloadFile`]: tells one write
/// from another under the same name).
fn etag_id(etag: Option<&str>) -> u64 {
    etag.map_or(0, |e| xxhash_rust::xxh3::xxh3_64(e.as_bytes()))
}
