//! Payload formats and the [`Cacheable`] trait that carries values in and out of them.
//!
//! | data type     | Rust values                              | format   | file        |
//! |---------------|------------------------------------------|----------|-------------|
//! | `arrow_table` | `RecordBatch`, `Vec<RecordBatch>`        | Parquet  | `.parquet`  |
//! | `ndarray`     | `ndarray::Array<T, D>` (bool, ints, f32, f64) | Blosc2 NDArray | `.b2nd` |
//! | `object`      | [`Serde<T>`] for any serde value          | container | `.cnobj`   |
//! | `bytes`       | `Vec<u8>`                                 | container | `.cnobj`   |
//! | `json`        | `serde_json::Value`                       | container | `.cnobj`   |
//!
//! Every payload carries its [`EntryMeta`] and a whole-file content hash ([`crate::seal`]), so a
//! payload describes itself. Specs: `docs/FORMATS.md`.

pub mod array;
mod blosc2_ffi;
pub mod object;
pub mod parquet_footer;
mod parquet_parallel;
pub mod table;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::seal::SlotAt;

/// What kind of value an entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataType {
    /// An Arrow table (one or more record batches).
    ArrowTable,
    /// An n-dimensional array.
    Ndarray,
    /// A serde value stored as MessagePack.
    Object,
    /// Raw bytes.
    Bytes,
    /// A JSON document.
    Json,
}

impl DataType {
    /// The name used in the catalog and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            DataType::ArrowTable => "arrow_table",
            DataType::Ndarray => "ndarray",
            DataType::Object => "object",
            DataType::Bytes => "bytes",
            DataType::Json => "json",
        }
    }

    /// The data type a catalog name stands for.
    pub fn from_name(name: &str) -> Option<DataType> {
        [
            DataType::ArrowTable,
            DataType::Ndarray,
            DataType::Object,
            DataType::Bytes,
            DataType::Json,
        ]
        .into_iter()
        .find(|t| t.as_str() == name)
    }

    /// The format values of this type are stored in.
    pub fn format(self) -> Format {
        match self {
            DataType::ArrowTable => Format::Parquet,
            DataType::Ndarray => Format::B2nd,
            DataType::Object | DataType::Bytes | DataType::Json => Format::Container,
        }
    }
}

impl std::fmt::Display for DataType {
    /// The catalog's name (`arrow_table`, `ndarray`, `object`, `bytes`, `json`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Format {
    /// The catalog's name (`parquet`, `b2nd`, `cnobj`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A payload file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Apache Parquet.
    Parquet,
    /// A Blosc2 NDArray frame.
    B2nd,
    /// The Cacheness object container (magic, header, payload).
    Container,
}

impl Format {
    /// Every format, in the order a lookup by key probes them.
    pub const ALL: [Format; 3] = [Format::Container, Format::Parquet, Format::B2nd];

    /// The file extension (without the dot).
    pub fn ext(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::B2nd => "b2nd",
            Format::Container => "cnobj",
        }
    }

    /// The name used in the catalog (the same as the extension).
    pub fn as_str(self) -> &'static str {
        self.ext()
    }

    /// The format a catalog name or file extension stands for.
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// Where the format keeps its hash slot.
    pub fn slot_at(self) -> SlotAt {
        match self {
            Format::Container => SlotAt::Front,
            Format::Parquet | Format::B2nd => SlotAt::Back,
        }
    }

    /// The content hash a payload file of this format claims, read from the part of the file
    /// that holds its hash slot (the container's header, the Parquet footer, the end of a
    /// Blosc2 frame), without checking anything: what tells one put's payload from another's
    /// (`crate::payload_probe`). `None` if no slot is found.
    pub fn claimed_hash(self, file: &std::fs::File) -> Option<String> {
        use std::os::unix::fs::FileExt;
        let len = file.metadata().ok()?.len();
        let read = |range: std::ops::Range<u64>| {
            let mut buf = vec![0u8; usize::try_from(range.end - range.start).ok()?];
            file.read_exact_at(&mut buf, range.start).ok()?;
            Some(buf)
        };
        let hash_in = |buf: &[u8]| self.claimed_hash_in(buf);
        /// The most of a file read to find its slot.
        const MOST: u64 = 16 << 20;
        match self {
            Format::Container => {
                let fixed: [u8; object::FIXED_LEN] =
                    read(0..object::FIXED_LEN as u64)?.try_into().ok()?;
                hash_in(&read(0..object::head_len(&fixed).min(len).min(MOST))?)
            }
            Format::Parquet => {
                let footer = parquet_footer::footer_range(file, len).ok()?;
                hash_in(&read(footer.start.max(len.saturating_sub(MOST))..len)?)
            }
            Format::B2nd => {
                let tail = |n: u64| read(len.saturating_sub(n)..len);
                hash_in(&tail(256 << 10)?).or_else(|| hash_in(&tail(MOST)?))
            }
        }
    }

    /// [`Self::claimed_hash`] of a payload in memory (or of the part of one that holds its
    /// hash slot).
    pub fn claimed_hash_in(self, buf: &[u8]) -> Option<String> {
        let slot = crate::seal::locate(buf, self.slot_at())?.hash;
        let text = std::str::from_utf8(buf.get(slot..slot + crate::seal::SLOT_LEN)?).ok()?;
        crate::seal::parse_slot(text).map(str::to_string)
    }

    /// The parts of a payload [`Self::read_meta`] reads, found from the file's first and last
    /// bytes (a ranged read's checked head and tail, the rest zeros): the Parquet footer; the
    /// Blosc2 header, chunk offsets and trailer. The whole file for the object container.
    pub fn meta_ranges(self, known: &[u8], what: &str) -> Result<Vec<std::ops::Range<u64>>> {
        let len = known.len() as u64;
        Ok(match self {
            Format::Container => std::iter::once(0..len).collect(),
            Format::Parquet => std::iter::once(table::footer_start(known) as u64..len).collect(),
            Format::B2nd => {
                let (header_len, index_start) = array::frame_layout(known, what)?;
                vec![0..header_len, index_start..len]
            }
        })
    }

    /// Read the entry metadata and claimed content hash of a payload of this format. The bytes
    /// must have passed [`crate::seal::check`]: the Blosc2 reader is C and trusts its input.
    pub fn read_meta(self, bytes: &[u8], what: &str) -> Result<(EntryMeta, String)> {
        match self {
            Format::Container => object::read_meta(bytes, what).map(|(m, h, _)| (m, h)),
            Format::Parquet => table::read_meta(bytes, what),
            Format::B2nd => array::read_meta(bytes, what),
        }
    }
}

/// The metadata every payload carries about its entry (version 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntryMeta {
    /// Metadata version (1).
    pub v: u32,
    /// The entry's key.
    pub key: String,
    /// Hex of the canonical parameter encoding (`docs/KEYS.md`).
    pub params: String,
    /// What the entry holds.
    pub data_type: DataType,
    /// When it was written: µs since the Unix epoch, UTC.
    pub created_at: i64,
    /// When it expires: µs since the Unix epoch, UTC.
    pub expires_at: Option<i64>,
    /// The user's description.
    pub description: Option<String>,
    /// Size of the value in memory, in bytes.
    pub raw_bytes: u64,
    /// Type details: for arrays `dtype` and `shape`, for tables `rows` and `columns`; and,
    /// under [`BINDING_INFO`], what a language binding recorded of the value it stored.
    #[serde(default)]
    pub info: serde_json::Value,
    /// The name the user gave the entry (a cached table's SQL name). Written only when set,
    /// so unnamed entries' payloads are byte for byte what they were before names existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The member of [`EntryMeta::info`] in which a language binding records facts about the
/// value it stored that the payload's format does not hold (the Python package: a tuple
/// stored as a MessagePack array, an array that was in Fortran order), so that it can give
/// the value back as it was given; every codec keeps it, and other readers ignore it
/// (`docs/FORMATS.md`).
pub const BINDING_INFO: &str = "binding";

/// A codec's type details `info` with the binding facts of `meta` (if any) added.
pub(crate) fn with_binding(info: serde_json::Value, meta: &EntryMeta) -> serde_json::Value {
    let Some(facts) = meta.info.get(BINDING_INFO) else {
        return info;
    };
    match info {
        serde_json::Value::Object(mut members) => {
            members.insert(BINDING_INFO.into(), facts.clone());
            serde_json::Value::Object(members)
        }
        _ => serde_json::json!({ BINDING_INFO: facts }),
    }
}

impl EntryMeta {
    /// The metadata of an entry of `data_type` under `key` with nothing else stated (no
    /// parameters, written at the epoch, no expiry): for encoding a value outside a cache, as
    /// the benchmarks and tests do. The codec fills `raw_bytes` and `info`.
    pub fn bare(key: impl Into<String>, data_type: DataType) -> EntryMeta {
        EntryMeta {
            v: 1,
            key: key.into(),
            params: String::new(),
            data_type,
            created_at: 0,
            expires_at: None,
            description: None,
            raw_bytes: 0,
            info: serde_json::Value::Null,
            name: None,
        }
    }
}

/// The bytes of an encoded payload file: a vector, or an array's Blosc2 frame still in the
/// buffer C-Blosc2 built it in (not copied out: for a large array that copy, into fresh
/// memory, was a third of a put).
pub struct PayloadBytes(PayloadOwner);

enum PayloadOwner {
    Vec(Vec<u8>),
    Frame(blosc2_ffi::Frame),
}

impl PayloadBytes {
    /// The bytes as a vector (a copy for a frame).
    pub fn into_vec(self) -> Vec<u8> {
        match self.0 {
            PayloadOwner::Vec(v) => v,
            PayloadOwner::Frame(f) => f.to_vec(),
        }
    }
}

impl From<Vec<u8>> for PayloadBytes {
    fn from(v: Vec<u8>) -> Self {
        PayloadBytes(PayloadOwner::Vec(v))
    }
}

impl From<blosc2_ffi::Frame> for PayloadBytes {
    fn from(f: blosc2_ffi::Frame) -> Self {
        PayloadBytes(PayloadOwner::Frame(f))
    }
}

impl std::ops::Deref for PayloadBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.0 {
            PayloadOwner::Vec(v) => v,
            PayloadOwner::Frame(f) => f,
        }
    }
}

impl std::ops::DerefMut for PayloadBytes {
    fn deref_mut(&mut self) -> &mut [u8] {
        match &mut self.0 {
            PayloadOwner::Vec(v) => v,
            PayloadOwner::Frame(f) => f,
        }
    }
}

impl AsRef<[u8]> for PayloadBytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl std::fmt::Debug for PayloadBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PayloadBytes({} bytes)", self.len())
    }
}

/// A value encoded into its payload format, not yet sealed: its hash and signature slots
/// hold their placeholders ([`crate::seal::placeholders`]) until the writer fills them
/// ([`crate::seal::seal`], then [`crate::signing::Signer::sign`]), in memory or as the file
/// is written.
#[derive(Debug)]
pub struct Encoded {
    /// The complete payload file, its slots holding their placeholders.
    pub bytes: PayloadBytes,
    /// Size of the value in memory.
    pub raw_bytes: u64,
    /// Type details for [`EntryMeta::info`].
    pub info: serde_json::Value,
}

/// Settings that affect how values are encoded. In `cacheness.toml` and the environment each
/// field is a setting of its own (`zstd_level`, `parquet_compression`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodecOptions {
    /// zstd level for objects, bytes and JSON.
    pub zstd_level: i32,
    /// Parquet compression codec.
    pub parquet_compression: ParquetCompression,
    /// Blosc2 codec for arrays.
    pub blosc2_codec: Blosc2Codec,
    /// Blosc2 compression level (0-9).
    pub blosc2_level: u8,
    /// Threads Blosc2 uses to compress and decompress.
    pub threads: usize,
}

impl Default for CodecOptions {
    fn default() -> Self {
        CodecOptions {
            zstd_level: 3,
            parquet_compression: ParquetCompression::Zstd(1),
            blosc2_codec: Blosc2Codec::Lz4,
            blosc2_level: 5,
            threads: crate::parallel::cores(),
        }
    }
}

/// Parquet compression codecs offered; as text `none`, `snappy`, `lz4`, `zstd` (level 1) or
/// `zstd:<1-22>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum ParquetCompression {
    /// No compression.
    None,
    /// Snappy.
    Snappy,
    /// LZ4 (raw).
    Lz4,
    /// zstd at a level.
    Zstd(i32),
}

impl std::fmt::Display for ParquetCompression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParquetCompression::None => f.write_str("none"),
            ParquetCompression::Snappy => f.write_str("snappy"),
            ParquetCompression::Lz4 => f.write_str("lz4"),
            ParquetCompression::Zstd(level) => write!(f, "zstd:{level}"),
        }
    }
}

impl std::str::FromStr for ParquetCompression {
    type Err = crate::Invalid;
    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        Ok(match text.trim() {
            "none" => ParquetCompression::None,
            "snappy" => ParquetCompression::Snappy,
            "lz4" => ParquetCompression::Lz4,
            "zstd" => ParquetCompression::Zstd(1),
            other => match other
                .strip_prefix("zstd:")
                .and_then(|l| l.parse::<i32>().ok())
            {
                Some(l) if (1..=22).contains(&l) => ParquetCompression::Zstd(l),
                _ => {
                    return Err(
                        format!("{other:?} is not none, snappy, lz4, zstd or zstd:<1-22>").into(),
                    );
                }
            },
        })
    }
}

impl From<ParquetCompression> for String {
    fn from(c: ParquetCompression) -> String {
        c.to_string()
    }
}

impl TryFrom<String> for ParquetCompression {
    type Error = crate::Invalid;
    fn try_from(text: String) -> std::result::Result<Self, Self::Error> {
        text.parse()
    }
}

/// Blosc2 codecs offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Blosc2Codec {
    /// LZ4: fastest.
    Lz4,
    /// zstd: smaller.
    Zstd,
}

/// The context a value is encoded in.
pub struct EncodeCtx<'a> {
    /// The entry metadata to embed (its `raw_bytes` and `info` are filled by the codec).
    pub meta: &'a EntryMeta,
    /// Codec settings.
    pub options: &'a CodecOptions,
    /// Whether the payload should be laid out so a get can map it where it can
    /// (`array::MappedArray`): an array stored as is goes in one chunk, aligned. False for a
    /// payload bound for an object store, whose ranged reads fetch an array chunk by chunk.
    pub mappable: bool,
}

/// The seal of [`Cacheable`]: only this crate's types implement it.
mod sealed {
    /// Implemented by the cacheable types of this crate only.
    pub trait Sealed {}
}

/// A value that can be cached: it knows its data type, how to encode itself into its payload
/// format and how to come back out of one.
///
/// Sealed: the payload formats are a published spec, so the set of types that write them is
/// closed. Cache your own types through [`Serde`] (any serde type, MessagePack in the
/// container), as bytes, as JSON, or as an Arrow table or an n-d array.
pub trait Cacheable: sealed::Sealed + Sized {
    /// The data type of values of this Rust type.
    const DATA_TYPE: DataType;
    /// A name for messages (e.g. `ndarray<f64, 2 dims>`).
    fn type_name() -> String;
    /// Encode into a sealed payload file.
    fn encode(&self, ctx: &EncodeCtx<'_>) -> Result<Encoded>;
    /// Decode from a payload file whose hash and metadata were already checked.
    fn decode(bytes: bytes::Bytes, meta: &EntryMeta) -> Result<Self>;
    /// The value of an array stored as is, whose `len` bytes of elements are copied straight
    /// out of its mapped payload file into the value's own buffer (one copy, no decode).
    /// `copy_and_check` fills the buffer it is given and checks the payload with those bytes
    /// in it, returning the checked frame (the cache's copy of the other bytes) with the
    /// metadata and where the elements lie; the value is built only after that. `None` means
    /// "get it the ordinary way": only arrays implement this.
    fn from_copied_elements(
        len: usize,
        copy_and_check: &mut dyn FnMut(&mut [u8]) -> Option<CheckedFrame>,
    ) -> Result<Option<Self>> {
        let _ = (len, copy_and_check);
        Ok(None)
    }
}

/// A frame whose payload passed every check, as [`Cacheable::from_copied_elements`] is given
/// it: the cache's copy of its bytes (the elements' span left as zeros), its metadata, and
/// the span of its elements.
pub struct CheckedFrame {
    /// The frame's bytes, zeros in `span`.
    pub frame: bytes::Bytes,
    /// The entry metadata.
    pub meta: EntryMeta,
    /// Where the elements lie in the frame.
    pub span: std::ops::Range<usize>,
}

/// A serde value stored as zstd-compressed MessagePack: `cache.put(&Serde(my_struct), ...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Serde<T>(pub T);

/// The error of a value of entry `meta` that cannot be encoded as `what`.
pub fn encode_error(meta: &EntryMeta, what: &str, reason: impl std::fmt::Display) -> Error {
    Error::Encode {
        key: meta.key.clone(),
        what: what.to_string(),
        reason: reason.to_string(),
    }
}

/// Every Rust decoder that reads bytes from disk, fed arbitrary bytes: each returns a value or
/// an error, never panics. (The Blosc2 reader is C and is never given bytes whose signature
/// failed: `tests/fuzz.rs`.)
#[cfg(test)]
mod arbitrary_bytes {
    use proptest::prelude::*;

    use crate::seal::SlotAt;
    use crate::signing::{Signature, Signer};

    /// Arbitrary bytes, half of them starting like a real file of each format.
    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        (proptest::collection::vec(any::<u8>(), 0..600), 0usize..4).prop_map(|(mut b, prefix)| {
            let head: &[u8] = match prefix {
                0 => b"CNOBJ\0\x01\0",
                1 => b"PAR1",
                _ => b"",
            };
            b.splice(0..0, head.iter().copied());
            if prefix == 1 {
                b.extend_from_slice(b"\x10\0\0\0PAR1");
            }
            b
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn decoders_never_panic(b in bytes(), raw in 0u64..10_000) {
            let _ = super::object::read_meta(&b, "f");
            let _ = super::object::payload(&b, "k", raw);
            let _ = super::table::read_meta(&b, "f");
            for at in [SlotAt::Front, SlotAt::Back] {
                let _ = crate::seal::locate(&b, at);
                let _ = crate::seal::check(&b, at);
                let _ = Signer::from_key(&[3; 32]).check_payload(&b, at);
            }
            let _ = Signature::parse(&b);
            let _ = crate::signing::SigningKey::parse(&String::from_utf8_lossy(&b));
        }
    }
}
