//! The object container (`.cnobj`) for serde values, raw bytes and JSON.
//!
//! ```text
//! offset 0   6 bytes  magic "CNOBJ\0"
//!        6   u16 LE   container version (1)
//!        8   u32 LE   header length H
//!        12  H bytes  header: MessagePack map {hash: "xxh3-128:<hex>", sig: "cnsig1:...",
//!                     meta: EntryMeta, codec: "none" | "zstd", payload_len: u64}
//!                     (`sig` is absent in containers written before signatures existed)
//!        12+H         payload (payload_len bytes), compressed per `codec`
//! ```
//! The payload is MessagePack with field names (objects), the bytes themselves (bytes) or JSON
//! text (JSON). Small payloads (< 64 bytes) and payloads zstd does not shrink are stored as is.

use serde::{Deserialize, Serialize};

use super::{Cacheable, DataType, EncodeCtx, Encoded, EntryMeta, Serde, encode_error};
use crate::error::{Error, Result};
use crate::seal::{self, SlotAt};

/// The container's magic bytes.
pub const MAGIC: &[u8; 6] = b"CNOBJ\0";
/// The container version written.
pub const VERSION: u16 = 1;
const FIXED: usize = 12;
/// Payloads shorter than this are not compressed.
const COMPRESS_MIN: usize = 64;

/// `hash` comes first so the slot is the first occurrence of the placeholder (a description
/// could contain the same text), and `sig` right after it (see [`crate::seal::locate`]).
#[derive(Serialize, Deserialize)]
struct Header {
    hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sig: Option<String>,
    meta: EntryMeta,
    codec: String,
    payload_len: u64,
}

/// Build a sealed container around an uncompressed payload.
pub fn encode_container(ctx: &EncodeCtx<'_>, raw: &[u8]) -> Result<Encoded> {
    let (meta, level) = (ctx.meta, ctx.options.zstd_level);
    let info = super::with_binding(serde_json::Value::Null, meta);
    let compressed = if raw.len() >= COMPRESS_MIN {
        zstd::bulk::compress(raw, level)
            .ok()
            .filter(|c| c.len() < raw.len())
    } else {
        None
    };
    let (codec, payload) = match &compressed {
        Some(c) => ("zstd", c.as_slice()),
        None => ("none", raw),
    };
    let mut meta = meta.clone();
    meta.raw_bytes = raw.len() as u64;
    meta.info = info.clone();
    let mut out = head(meta, codec, payload.len() as u64, payload.len())?;
    out.extend_from_slice(payload);
    if seal::placeholders(&out, SlotAt::Front).is_none() {
        return Err(Error::corrupt(
            "container",
            "the slots are missing after encoding",
        ));
    }
    Ok(Encoded {
        bytes: out.into(),
        raw_bytes: raw.len() as u64,
        info,
    })
}

/// The container's first bytes (magic, version, header) for an entry `meta` whose payload of
/// `payload_len` bytes is compressed with `codec`, both slots holding their placeholders;
/// `room` more bytes are reserved for the payload.
pub fn head(meta: EntryMeta, codec: &str, payload_len: u64, room: usize) -> Result<Vec<u8>> {
    let header = Header {
        meta,
        hash: String::from_utf8_lossy(seal::PLACEHOLDER).into_owned(),
        sig: Some(String::from_utf8_lossy(seal::SIGNATURE_PLACEHOLDER).into_owned()),
        codec: codec.to_string(),
        payload_len,
    };
    // The header is written in place after the fixed part, whose length field follows it.
    let mut out = Vec::with_capacity(FIXED + 512 + room);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    rmp_serde::encode::write_named(&mut out, &header)
        .map_err(|e| encode_error(&header.meta, "container header", e))?;
    let len = u32::try_from(out.len() - FIXED)
        .map_err(|_| encode_error(&header.meta, "container header", "it is over 4 GiB"))?;
    out[FIXED - 4..FIXED].copy_from_slice(&len.to_le_bytes());
    Ok(out)
}

/// The header fields a decoder needs: MessagePack skips the others without building them.
#[derive(Deserialize)]
struct PayloadHeader {
    codec: String,
    payload_len: u64,
}

/// Parse the fixed part and the header (as `H`, any subset of [`Header`]) and check that the
/// payload has the length the header gives; returns the header and the payload offset.
fn parse<H: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: impl Fn() -> String,
    payload_len: impl Fn(&H) -> u64,
) -> Result<(H, usize)> {
    parse_head(bytes, bytes.len() as u64, what, payload_len)
}

/// [`parse`] of a container's first bytes `bytes` (at least its fixed part and header) when
/// the whole container is `file_len` bytes long.
fn parse_head<H: serde::de::DeserializeOwned>(
    bytes: &[u8],
    file_len: u64,
    what: impl Fn() -> String,
    payload_len: impl Fn(&H) -> u64,
) -> Result<(H, usize)> {
    if bytes.len() < FIXED || &bytes[..6] != MAGIC {
        return Err(Error::corrupt(
            what(),
            "not a Cacheness object container (bad magic)",
        ));
    }
    let version = u16::from_le_bytes([bytes[6], bytes[7]]);
    if version != VERSION {
        return Err(Error::corrupt(
            what(),
            format!("container version {version} is not supported"),
        ));
    }
    let hlen = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
    let header_bytes = bytes
        .get(FIXED..FIXED.saturating_add(hlen))
        .ok_or_else(|| Error::corrupt(what(), "header is cut short"))?;
    let header: H = rmp_serde::from_slice(header_bytes)
        .map_err(|e| Error::corrupt(what(), format!("header: {e}")))?;
    let start = FIXED + hlen;
    let expected = payload_len(&header);
    let present = file_len.saturating_sub(start as u64);
    if present != expected {
        return Err(Error::corrupt(
            what(),
            format!("payload is {present} bytes, header says {expected}"),
        ));
    }
    Ok((header, start))
}

/// The length of the fixed part and header of a container whose first 12 bytes are `fixed`:
/// how much to read before [`read_head`].
pub fn head_len(fixed: &[u8; FIXED]) -> u64 {
    FIXED as u64
        + u64::from(u32::from_le_bytes([
            fixed[8], fixed[9], fixed[10], fixed[11],
        ]))
}

/// The length of a container's fixed part: what [`head_len`] reads.
pub const FIXED_LEN: usize = FIXED;

/// What a container's header says, read from its first bytes alone (a container too large
/// to hold in memory, `crate::streamed`).
#[derive(Debug)]
pub struct Head {
    /// The entry's metadata.
    pub meta: EntryMeta,
    /// The content hash claimed (32 hex digits).
    pub hash: String,
    /// The payload's codec (`none` or `zstd`).
    pub codec: String,
    /// Where the payload starts.
    pub start: usize,
}

/// Read the header from `bytes`, a container's first bytes (its fixed part and header at
/// least), when the whole container is `file_len` bytes long.
pub fn read_head(bytes: &[u8], file_len: u64, what: &str) -> Result<Head> {
    let (header, start) = parse_head(
        bytes,
        file_len,
        || what.to_string(),
        |h: &Header| h.payload_len,
    )?;
    let hash = seal::parse_slot(&header.hash)
        .ok_or_else(|| Error::corrupt(what, "malformed content hash"))?
        .to_string();
    Ok(Head {
        meta: header.meta,
        hash,
        codec: header.codec,
        start,
    })
}

/// The metadata, claimed content hash and payload offset of a container.
pub fn read_meta(bytes: &[u8], what: &str) -> Result<(EntryMeta, String, usize)> {
    let head = read_head(bytes, bytes.len() as u64, what)?;
    Ok((head.meta, head.hash, head.start))
}

/// The uncompressed payload of a (checked) container of entry `key`, whose metadata gives its
/// uncompressed size `raw_bytes`.
pub fn payload(bytes: &[u8], key: &str, raw_bytes: u64) -> Result<Vec<u8>> {
    let what = || format!("payload of {key}");
    let (header, start) = parse(bytes, what, |h: &PayloadHeader| h.payload_len)?;
    let body = &bytes[start..];
    match header.codec.as_str() {
        "none" => Ok(body.to_vec()),
        "zstd" => {
            let cap =
                usize::try_from(raw_bytes).map_err(|_| Error::corrupt(what(), "size overflows"))?;
            zstd::bulk::decompress(body, cap)
                .map_err(|e| Error::corrupt(what(), format!("zstd: {e}")))
        }
        other => Err(Error::corrupt(what(), format!("unknown codec {other:?}"))),
    }
}

impl<T: Serialize + serde::de::DeserializeOwned> super::sealed::Sealed for Serde<T> {}

impl<T: Serialize + serde::de::DeserializeOwned> Cacheable for Serde<T> {
    const DATA_TYPE: DataType = DataType::Object;

    fn type_name() -> String {
        format!("object ({})", std::any::type_name::<T>())
    }

    fn encode(&self, ctx: &EncodeCtx<'_>) -> Result<Encoded> {
        let raw =
            rmp_serde::to_vec_named(&self.0).map_err(|e| encode_error(ctx.meta, "object", e))?;
        encode_container(ctx, &raw)
    }

    fn decode(bytes: bytes::Bytes, meta: &EntryMeta) -> Result<Self> {
        let raw = payload(&bytes, &meta.key, meta.raw_bytes)?;
        rmp_serde::from_slice(&raw)
            .map(Serde)
            .map_err(|e| Error::WrongType {
                key: meta.key.clone(),
                stored: format!(
                    "an object that does not decode as {}: {e}",
                    std::any::type_name::<T>()
                ),
                requested: Self::type_name(),
            })
    }
}

impl super::sealed::Sealed for Vec<u8> {}

impl Cacheable for Vec<u8> {
    const DATA_TYPE: DataType = DataType::Bytes;

    fn type_name() -> String {
        "bytes".into()
    }

    fn encode(&self, ctx: &EncodeCtx<'_>) -> Result<Encoded> {
        encode_container(ctx, self)
    }

    fn decode(bytes: bytes::Bytes, meta: &EntryMeta) -> Result<Self> {
        payload(&bytes, &meta.key, meta.raw_bytes)
    }
}

impl super::sealed::Sealed for serde_json::Value {}

impl Cacheable for serde_json::Value {
    const DATA_TYPE: DataType = DataType::Json;

    fn type_name() -> String {
        "json".into()
    }

    fn encode(&self, ctx: &EncodeCtx<'_>) -> Result<Encoded> {
        let raw = serde_json::to_vec(self).map_err(|e| encode_error(ctx.meta, "JSON", e))?;
        encode_container(ctx, &raw)
    }

    fn decode(bytes: bytes::Bytes, meta: &EntryMeta) -> Result<Self> {
        let raw = payload(&bytes, &meta.key, meta.raw_bytes)?;
        serde_json::from_slice(&raw)
            .map_err(|e| Error::corrupt(format!("payload of {}", meta.key), format!("JSON: {e}")))
    }
}

/// An object payload's MessagePack bytes, without a Rust type (for tools and `touch`).
#[derive(Debug, Clone, PartialEq)]
pub struct RawObject(pub Vec<u8>);

impl super::sealed::Sealed for RawObject {}

impl Cacheable for RawObject {
    const DATA_TYPE: DataType = DataType::Object;

    fn type_name() -> String {
        "object (raw MessagePack)".into()
    }

    fn encode(&self, ctx: &EncodeCtx<'_>) -> Result<Encoded> {
        encode_container(ctx, &self.0)
    }

    fn decode(bytes: bytes::Bytes, meta: &EntryMeta) -> Result<Self> {
        payload(&bytes, &meta.key, meta.raw_bytes).map(RawObject)
    }
}
