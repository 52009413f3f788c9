//! Byte values too large to hold in memory, put from a reader and read into a writer in
//! bounded memory (`docs/LIFECYCLE.md`, "Large values").
//!
//! A bytes value of at least [`STREAM_MIN`] bytes on disk is stored as the same object
//! container a put in memory writes (`docs/FORMATS.md`), zstd-compressed; only the way it is
//! written and read differs. Memory stays at a few buffers of [`CHUNK`] bytes whatever the
//! value's size.
//!
//! - **Put** ([`CacheCore::put_reader`]): the value is compressed into a scratch file in its
//!   shard, since the header states the compressed and raw lengths, which are known only at the
//!   end. The container is then written as its header followed by the scratch file's bytes,
//!   hashed (the content hash) on the way. Its hash slot is filled, the file is read again for
//!   the payload MAC, its signature slot is filled, and it is renamed into place. A value that
//!   compresses to under `WHOLE_MAX` (16 MiB) is finished in memory, as a put in memory
//!   finishes it.
//! - **Get** ([`CacheCore::payload_streamed`]): a first pass checks the whole file (payload
//!   MAC, or the content hash of an unsigned payload where allowed) and then the header (key,
//!   parameters, entry HMAC, expiry), exactly as a get in memory does, before any decoder sees
//!   a byte. The reader it returns then decompresses the payload and hashes the compressed
//!   bytes again: bytes that changed between the passes (a file rewritten in place by someone
//!   with write access to the directory; the cache itself never does this) fail the read at
//!   its end with an error instead of passing as the entry.
//!
//! On an object store a value is read and written whole.

use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;

use bytes::Bytes;
use xxhash_rust::xxh3::Xxh3;

use deltalake::arrow::array::RecordBatch;
use deltalake::arrow::datatypes::SchemaRef;
use deltalake::arrow::error::ArrowError;

use cacheness_catalog::CatalogRow;

use crate::core::{
    CacheCore, EntryInfo, Loaded, Lookup, PutOptions, Rejection, Stated, catalog_row,
};
use crate::error::{Error, Result};
use crate::store::{BlobStore, PayloadDraft};
use cacheness_format::codec::object::{self, FIXED_LEN};
use cacheness_format::codec::table::TableWriter;
use cacheness_format::codec::{
    DataType, EncodeCtx, EntryMeta, Format, encode_error, parquet_footer,
};
use cacheness_format::keys::{CacheKey, Params};
use cacheness_format::seal::{self, SIGNATURE_LEN, SLOT_LEN, SLOT_PREFIX, SlotAt};

/// Byte values at least this large are streamed; smaller ones are put and read whole.
pub const STREAM_MIN: u64 = 64 << 20;
/// The buffer size of every pass over a streamed value.
pub const CHUNK: usize = 1 << 20;
/// A streamed value whose compressed payload is smaller than this is finished in memory.
const WHOLE_MAX: u64 = 16 << 20;
/// The largest container header a streamed read accepts (the header holds the metadata: a
/// description, the parameters).
const HEADER_MAX: u64 = 16 << 20;

/// A checked entry's payload as [`CacheCore::payload_streamed`] gives it.
pub enum StreamedPayload {
    /// The whole payload file (any entry but a large bytes value on disk).
    Whole(Bytes),
    /// A large bytes value: a reader of the value itself (decompressed), checked as it goes.
    Bytes(BytesReader),
}

impl std::fmt::Debug for StreamedPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamedPayload::Whole(b) => write!(f, "Whole({} bytes)", b.len()),
            StreamedPayload::Bytes(r) => write!(f, "Bytes({} bytes)", r.raw_bytes),
        }
    }
}

/// Copy `reader` to `writer` in [`CHUNK`]-byte pieces, telling read errors (`on_read`) from
/// write errors (`on_write`); returns the bytes copied.
fn copy(
    reader: &mut dyn Read,
    writer: &mut dyn Write,
    on_read: impl Fn(std::io::Error) -> Error,
    on_write: impl Fn(std::io::Error) -> Error,
) -> Result<u64> {
    tapped_copy(reader, writer, |_| {}, on_read, on_write)
}

/// [`copy`], feeding each piece to `tap` too.
fn tapped_copy(
    reader: &mut dyn Read,
    writer: &mut dyn Write,
    mut tap: impl FnMut(&[u8]),
    on_read: impl Fn(std::io::Error) -> Error,
    on_write: impl Fn(std::io::Error) -> Error,
) -> Result<u64> {
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(on_read(e)),
        };
        tap(&buf[..n]);
        writer.write_all(&buf[..n]).map_err(&on_write)?;
        total += n as u64;
    }
}

/// A writer that hashes what it passes on. A payload is written with both slots holding
/// their placeholders, so the hash of its bytes as written is its content hash: no pass over
/// the file is needed for it.
struct Hashing<W> {
    inner: W,
    hash: Xxh3,
}

impl<W: Write> Hashing<W> {
    fn new(inner: W) -> Self {
        Hashing {
            inner,
            hash: Xxh3::new(),
        }
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Feed a whole file to `tap` from its start, in [`CHUNK`]-byte pieces.
fn feed_file(
    file: &mut std::fs::File,
    tap: impl FnMut(&[u8]),
    path: &std::path::Path,
) -> Result<()> {
    file.rewind().map_err(|e| Error::io(path, e))?;
    tapped_copy(
        file,
        &mut std::io::sink(),
        tap,
        |e| Error::io(path, e),
        |e| Error::io(path, e),
    )
    .map(drop)
}

impl CacheCore {
    /// Store a bytes value read from `reader` (a file, standard input); returns its key. The
    /// entry is the one `put(&bytes)` makes of the same bytes. A value of at least
    /// [`STREAM_MIN`] bytes is written in bounded memory on disk (`crate::streamed`); on an
    /// object store it is read whole first.
    pub fn put_reader(
        &self,
        reader: &mut dyn Read,
        params: &Params,
        opts: &PutOptions,
    ) -> Result<CacheKey> {
        let meta = self.new_meta(params, opts, DataType::Bytes)?;
        let read_error = |e: std::io::Error| Error::Read {
            key: meta.key.clone(),
            source: Box::new(e),
        };
        let mut head = Vec::new();
        reader
            .take(STREAM_MIN)
            .read_to_end(&mut head)
            .map_err(read_error)?;
        if (head.len() as u64) < STREAM_MIN {
            return self.put(&head, params, opts);
        }
        if self.store().is_remote() {
            reader.read_to_end(&mut head).map_err(read_error)?;
            return self.put(&head, params, opts);
        }
        self.put_streamed(meta, &mut std::io::Cursor::new(head).chain(reader), params)
    }

    /// [`Self::put_reader`] of a large value on disk, the entry `meta` (its size still 0).
    fn put_streamed(
        &self,
        mut meta: EntryMeta,
        reader: &mut dyn Read,
        params: &Params,
    ) -> Result<CacheKey> {
        let key = meta.key.clone();
        let format = Format::Container;
        let store = self.store();

        // The value, compressed into a scratch file.
        let mut scratch = store.draft(&key, format)?;
        let scratch_path = scratch.path().to_path_buf();
        let on_write = |e| Error::io(&scratch_path, e);
        let level = self.config().codec.zstd_level;
        let mut encoder = zstd::stream::Encoder::new(
            std::io::BufWriter::with_capacity(CHUNK, &mut *scratch.file()),
            level,
        )
        .map_err(on_write)?;
        let read_error = |e: std::io::Error| Error::Read {
            key: key.clone(),
            source: Box::new(e),
        };
        meta.raw_bytes = copy(reader, &mut encoder, read_error, on_write)?;
        encoder
            .finish()
            .and_then(|mut w| w.flush())
            .map_err(on_write)?;
        let payload_len = scratch.file().stream_position().map_err(on_write)?;

        // The container: its header, then the compressed value.
        let head = object::head(meta.clone(), "zstd", payload_len, 0)?;
        let mut draft = store.draft(&key, format)?;
        let path = draft.path().to_path_buf();
        let content = {
            let mut out =
                Hashing::new(std::io::BufWriter::with_capacity(CHUNK, &mut *draft.file()));
            out.write_all(&head).map_err(|e| Error::io(&path, e))?;
            scratch.file().rewind().map_err(on_write)?;
            copy(
                scratch.file(),
                &mut out,
                |e| Error::io(&scratch_path, e),
                |e| Error::io(&path, e),
            )?;
            out.flush().map_err(|e| Error::io(&path, e))?;
            out.hash.digest128()
        };
        drop(scratch);
        let stored = head.len() as u64 + payload_len;
        let slots = 0..head.len() as u64;
        let row = self.seal_and_sign(&mut draft, SlotAt::Front, slots, content, |hash| {
            catalog_row(&meta, params, format, meta.raw_bytes, stored, hash, None)
        })?;
        let replaces = draft.place()?;
        self.journal_put(row, format, replaces)
    }

    /// Store an Arrow table read batch by batch (a CSV or Parquet file being read); returns
    /// its key. On disk the Parquet file is written as the batches come, a row group at a
    /// time (`cacheness_format::codec::table`), so memory does not grow with the table's length; on an
    /// object store the batches are collected and put whole. A batch that cannot be read
    /// fails the put, which then leaves nothing behind.
    pub fn put_table_stream(
        &self,
        schema: SchemaRef,
        batches: &mut dyn Iterator<Item = std::result::Result<RecordBatch, ArrowError>>,
        params: &Params,
        opts: &PutOptions,
    ) -> Result<CacheKey> {
        let meta = self.new_meta(params, opts, DataType::ArrowTable)?;
        let key = meta.key.clone();
        let read_error = |e: ArrowError| Error::Read {
            key: key.clone(),
            source: Box::new(e),
        };
        let no_rows = || {
            encode_error(
                &meta,
                "table",
                "a table needs at least one batch (for its schema)",
            )
        };
        if self.store().is_remote() {
            let all = batches.collect::<std::result::Result<Vec<_>, _>>();
            let all = all.map_err(read_error)?;
            if all.is_empty() {
                return Err(no_rows().into());
            }
            return self.put(&all, params, opts);
        }
        let format = Format::Parquet;
        let mut draft = self.store().draft(&key, format)?;
        let path = draft.path().to_path_buf();
        let ctx = EncodeCtx {
            meta: &meta,
            options: &self.config().codec,
            mappable: !self.store().is_remote(),
        };
        let out = Hashing::new(std::io::BufWriter::with_capacity(CHUNK, &mut *draft.file()));
        let mut writer = TableWriter::new(out, schema.clone(), &ctx)?;
        let mut any = false;
        for batch in batches {
            let batch = batch.map_err(read_error)?;
            if batch.schema() != schema {
                return Err(encode_error(
                    &meta,
                    "table",
                    "a batch has another schema than the table",
                )
                .into());
            }
            writer.write(&batch, true)?;
            any = true;
        }
        if !any {
            return Err(no_rows().into());
        }
        let (mut out, meta, _) = writer.finish()?;
        out.flush().map_err(|e| Error::io(&path, e))?;
        let content = out.hash.digest128();
        drop(out);
        let len = draft
            .file()
            .metadata()
            .map_err(|e| Error::io(&path, e))?
            .len();
        let footer = parquet_footer::footer_range(draft.file(), len)
            .map_err(|e| Error::corrupt(format!("Parquet payload {}", path.display()), e))?;
        let row = self.seal_and_sign(&mut draft, SlotAt::Back, footer, content, |hash| {
            catalog_row(&meta, params, format, meta.raw_bytes, len, hash, None)
        })?;
        let replaces = draft.place()?;
        self.journal_put(row, format, replaces)
    }

    /// Seal and sign a payload written to `draft`, whose slots (both holding their
    /// placeholders) lie within `region` of the file and whose bytes as written hash to
    /// `content` ([`Hashing`]): fill its hash slot, then its signature slot for the catalog
    /// row that `row` makes from the content hash, and return the row with its signature. A
    /// file under [`WHOLE_MAX`] bytes is sealed and signed in memory, as a put in memory does;
    /// a larger one in one pass over the file (for the payload MAC).
    fn seal_and_sign(
        &self,
        draft: &mut PayloadDraft<'_>,
        at: SlotAt,
        region: std::ops::Range<u64>,
        content: u128,
        row: impl FnOnce(String) -> CatalogRow,
    ) -> Result<CatalogRow> {
        let path = draft.path().to_path_buf();
        let io = |e| Error::io(&path, e);
        let missing = || Error::corrupt(format!("payload {}", path.display()), "a slot is missing");
        let file = draft.file();
        let len = file.metadata().map_err(io)?.len();
        if len < WHOLE_MAX {
            let mut buf = Vec::with_capacity(len as usize);
            file.rewind().map_err(io)?;
            file.read_to_end(&mut buf).map_err(io)?;
            let row = self
                .seal_and_sign_in_memory(&mut buf, at, row)
                .ok_or_else(missing)?;
            file.write_all_at(&buf, 0).map_err(io)?;
            return Ok(row);
        }
        let mut slots_area = vec![0u8; (region.end - region.start) as usize];
        file.read_exact_at(&mut slots_area, region.start)
            .map_err(io)?;
        let slots = seal::locate(&slots_area, at).ok_or_else(missing)?;
        let hash_at = region.start + (slots.hash + SLOT_PREFIX.len()) as u64;
        let signature_at = region.start + slots.signature.ok_or_else(missing)? as u64;
        let hash = seal::hash_hex(content);
        file.write_all_at(hash.as_bytes(), hash_at).map_err(io)?;
        // The payload MAC covers the file with the hash filled in and the signature slot
        // holding its placeholder.
        let mut mac = self.signer().streaming_mac();
        feed_file(
            file,
            |piece| {
                mac.update(piece);
            },
            &path,
        )?;
        let mut row = row(hash);
        let signature = self
            .signer()
            .signature_text(*mac.finalize().as_bytes(), &row.record());
        file.write_all_at(signature.as_bytes(), signature_at)
            .map_err(io)?;
        row.signature = Some(signature);
        Ok(row)
    }

    /// The checked payload of an entry and what the cache knows about it, as
    /// [`CacheCore::payload`] gives it, except that a bytes value of at least [`STREAM_MIN`]
    /// bytes on disk comes as a reader of the value, checked in bounded memory
    /// (`crate::streamed`).
    pub fn payload_streamed(
        &self,
        lookup: &Lookup,
    ) -> Result<Option<(EntryInfo, StreamedPayload)>> {
        self.check_open()?;
        if let Some((file, len)) = self
            .store()
            .open_local(lookup.cache_key(), Format::Container)?
            && len >= STREAM_MIN
        {
            match self.open_streamed(lookup, file, len)? {
                Opened::Reader(found) => {
                    let (info, reader) = *found;
                    return Ok(Some((info, StreamedPayload::Bytes(reader))));
                }
                Opened::Missing => {
                    self.count_lookup(lookup, None);
                    return Ok(None);
                }
                Opened::NotBytes => {}
            }
        }
        Ok(self
            .payload(lookup)?
            .map(|(info, bytes)| (info, StreamedPayload::Whole(bytes))))
    }

    /// The first pass of a streamed get: check `file` (a container of `len` bytes) whole, then
    /// its header, as [`crate::core::Inspector::inspect`] checks a payload in memory, and judge it as a get
    /// does (an expired or corrupt payload is removed).
    fn open_streamed(&self, lookup: &Lookup, mut file: std::fs::File, len: u64) -> Result<Opened> {
        let format = Format::Container;
        let path = self.store().path(lookup.cache_key(), format);
        let (judged, pass) = match self.check_streamed(lookup, &mut file, len, &path)? {
            Ok((loaded, pass)) => (Ok(loaded), Some(pass)),
            Err(rejection) => (Err(rejection), None),
        };
        let Some(loaded) = self.judged(lookup, format, judged)? else {
            return Ok(Opened::Missing);
        };
        let Some(pass) = pass.filter(|_| loaded.meta.data_type == DataType::Bytes) else {
            return Ok(Opened::NotBytes);
        };
        self.count_lookup(lookup, Some(&loaded));
        self.count_hit();
        let reader = BytesReader::new(file, &loaded.meta, pass, &path)?;
        Ok(Opened::Reader(Box::new((loaded.info()?, reader))))
    }

    /// The checks of a streamed get's first pass over `file` (`len` bytes, at `path`): the
    /// loaded header and what the second pass needs; or why the payload is refused.
    fn check_streamed(
        &self,
        lookup: &Lookup,
        file: &mut std::fs::File,
        len: u64,
        path: &std::path::Path,
    ) -> Result<std::result::Result<(Loaded, FirstPass), Rejection>> {
        let corrupt = |reason: &str| Ok(Err(Rejection::Corrupt(reason.to_string())));
        let mut fixed = [0u8; FIXED_LEN];
        file.read_exact_at(&mut fixed, 0)
            .map_err(|e| Error::io(path, e))?;
        let head_len = object::head_len(&fixed);
        if head_len > len.min(HEADER_MAX) {
            return corrupt("its header is longer than the file, or than 16 MiB");
        }
        let mut head = vec![0u8; head_len as usize];
        file.read_exact_at(&mut head, 0)
            .map_err(|e| Error::io(path, e))?;
        let Some(slots) = seal::locate(&head, SlotAt::Front) else {
            return corrupt("content hash mismatch");
        };
        // The whole file: the content hash and the payload MAC, with their slots (in the
        // header) masked, and a hash of the compressed payload alone for the second pass.
        let mut content = Xxh3::new();
        let mut mac = self.signer().streaming_mac();
        let whole = 0..head.len();
        seal::feed_masked(&head, slots.masks(), whole.clone(), |piece| {
            content.update(piece)
        });
        let signature_mask = slots
            .signature
            .map(|slot| (slot, seal::SIGNATURE_PLACEHOLDER.as_slice()));
        seal::feed_masked(&head, signature_mask, whole, |piece| {
            mac.update(piece);
        });
        let mut payload = Xxh3::new();
        file.seek(SeekFrom::Start(head_len))
            .map_err(|e| Error::io(path, e))?;
        tapped_copy(
            &mut *file,
            &mut std::io::sink(),
            |piece| {
                content.update(piece);
                mac.update(piece);
                payload.update(piece);
            },
            |e| Error::io(path, e),
            |e| Error::io(path, e),
        )?;
        let signed = match slots.signature {
            Some(slot) => self
                .signer()
                .check_mac(&head[slot..slot + SIGNATURE_LEN], || {
                    *mac.finalize().as_bytes()
                }),
            None => Err(cacheness_format::signing::Unverified::Unsigned),
        };
        let claimed = &head[slots.hash + SLOT_PREFIX.len()..slots.hash + SLOT_LEN];
        let computed = seal::hash_hex(content.digest128());
        let content_hash = || (claimed == computed.as_bytes()).then(|| computed.clone());
        let (signature, verified_hash) = match self.inspector().trust(signed, content_hash) {
            Ok(trusted) => trusted,
            Err(rejection) => return Ok(Err(rejection)),
        };
        let what = BlobStore::rel_path(lookup.cache_key(), Format::Container);
        let parsed = match object::read_head(&head, len, &what) {
            Ok(parsed) => parsed,
            Err(e) => return corrupt(&e.to_string()),
        };
        let pass = FirstPass {
            payload_hash: payload.digest(),
            codec: parsed.codec,
            start: parsed.start as u64,
            len,
        };
        let stated = Stated {
            meta: parsed.meta,
            hash: parsed.hash,
            file_len: len,
        };
        let bytes = Bytes::from(head);
        Ok(self
            .inspector()
            .inspect_meta(
                lookup,
                Format::Container,
                bytes,
                stated,
                signature,
                verified_hash,
            )
            .map(|loaded| (loaded, pass)))
    }
}

/// What the first pass of a streamed get found.
enum Opened {
    /// A checked bytes value, and the reader of its value.
    Reader(Box<(EntryInfo, BytesReader)>),
    /// Nothing to serve (missing, expired, refused).
    Missing,
    /// A sound entry that is not a bytes value: read whole instead.
    NotBytes,
}

/// What the second pass of a streamed get needs from the first.
struct FirstPass {
    /// XXH3-64 of the compressed payload as checked.
    payload_hash: u64,
    /// The payload's codec.
    codec: String,
    /// Where the payload starts in the file.
    start: u64,
    /// The file's length.
    len: u64,
}

/// The compressed payload as the second pass reads it, hashed on the way: at its end it must
/// be what the first pass checked, or the read fails.
struct Rechecked {
    file: std::io::Take<std::fs::File>,
    hash: Xxh3,
    expected: u64,
    key: String,
}

impl Read for Rechecked {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        if n == 0
            && !buf.is_empty()
            && (self.file.limit() != 0 || self.hash.digest() != self.expected)
        {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "payload of {} changed while it was read: the bytes read are not the ones \
                     checked (the value read so far is not to be trusted)",
                    self.key
                ),
            ));
        }
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

enum Decoding {
    Plain(Rechecked),
    Zstd(zstd::stream::read::Decoder<'static, std::io::BufReader<Rechecked>>),
    Done,
}

/// A reader of a large bytes value ([`StreamedPayload::Bytes`]): its bytes, decompressed,
/// from a payload checked whole by the first pass. It fails (`InvalidData`) at its end if the
/// file changed since (the second pass's hash differs) or holds another number of bytes than
/// its header states.
pub struct BytesReader {
    key: String,
    raw_bytes: u64,
    produced: u64,
    /// Boxed: the hash state and decoder are large, and a reader is moved around.
    decoding: Box<Decoding>,
}

impl std::fmt::Debug for BytesReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BytesReader({}, {} bytes)", self.key, self.raw_bytes)
    }
}

impl BytesReader {
    fn new(
        mut file: std::fs::File,
        meta: &cacheness_format::codec::EntryMeta,
        pass: FirstPass,
        path: &std::path::Path,
    ) -> Result<BytesReader> {
        file.seek(SeekFrom::Start(pass.start))
            .map_err(|e| Error::io(path, e))?;
        let body = Rechecked {
            file: file.take(pass.len - pass.start),
            hash: Xxh3::new(),
            expected: pass.payload_hash,
            key: meta.key.clone(),
        };
        let decoding = match pass.codec.as_str() {
            "none" => Decoding::Plain(body),
            "zstd" => Decoding::Zstd(
                zstd::stream::read::Decoder::with_buffer(std::io::BufReader::with_capacity(
                    CHUNK, body,
                ))
                .map_err(|e| Error::io(path, e))?,
            ),
            other => {
                return Err(Error::corrupt(
                    format!("payload of {}", meta.key),
                    format!("unknown codec {other:?}"),
                ));
            }
        };
        Ok(BytesReader {
            key: meta.key.clone(),
            raw_bytes: meta.raw_bytes,
            produced: 0,
            decoding: Box::new(decoding),
        })
    }

    /// The value's size in bytes, as its checked header states it.
    pub fn len(&self) -> u64 {
        self.raw_bytes
    }

    /// Whether the value is empty (never: streamed values are large).
    pub fn is_empty(&self) -> bool {
        self.raw_bytes == 0
    }

    fn invalid(&self, what: String) -> std::io::Error {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("payload of {}: {what}", self.key),
        )
    }

    /// At the end of the value: pass what follows the last zstd frame through the recheck,
    /// and check the size.
    fn finish(&mut self) -> std::io::Result<()> {
        match std::mem::replace(&mut *self.decoding, Decoding::Done) {
            Decoding::Plain(mut rest) => {
                std::io::copy(&mut rest, &mut std::io::sink())?;
            }
            Decoding::Zstd(decoder) => {
                std::io::copy(&mut decoder.finish(), &mut std::io::sink())?;
            }
            Decoding::Done => return Ok(()),
        }
        if self.produced != self.raw_bytes {
            return Err(self.invalid(format!(
                "it holds {} bytes, its header states {}",
                self.produced, self.raw_bytes
            )));
        }
        Ok(())
    }
}

impl Read for BytesReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = match &mut *self.decoding {
            Decoding::Plain(body) => body.read(buf)?,
            Decoding::Zstd(decoder) => decoder.read(buf)?,
            Decoding::Done => return Ok(0),
        };
        if n == 0 && !buf.is_empty() {
            self.finish()?;
            return Ok(0);
        }
        self.produced += n as u64;
        if self.produced > self.raw_bytes {
            return Err(self.invalid(format!(
                "it holds more than the {} bytes its header states",
                self.raw_bytes
            )));
        }
        Ok(n)
    }
}
