//! n-dimensional arrays as Blosc2 NDArrays (`.b2nd`), readable by python-blosc2.
//!
//! The array is a contiguous Blosc2 frame with the standard `b2nd` metalayer (shape, chunk and
//! block shapes, NumPy dtype string). Variable-length metalayers: `cacheness` (the
//! [`EntryMeta`] as JSON, MessagePack-wrapped as python-blosc2 expects) and `cacheness_hash` (the
//! hash slot, stored uncompressed). Defaults: LZ4 level 5 with byte shuffle, on all cores.

use ndarray::{Array, ArrayD, Dimension, IxDyn};

use super::blosc2_ffi::{self as ffi, CompressParams};
use super::{
    Blosc2Codec, Cacheable, CodecOptions, DataType, EncodeCtx, Encoded, EntryMeta, PayloadBytes,
    encode_error,
};
use crate::error::Invalid;
use crate::error::{Error, Result};
use crate::seal::{self, SlotAt};

/// Name of the vlmeta entry holding the entry metadata.
pub const META_KEY: &str = "cacheness";
/// Name of the vlmeta entry holding the hash slot.
pub const HASH_KEY: &str = "cacheness_hash";
/// The vlmeta entry holding the signature slot (MessagePack string), added after the hash.
pub const SIGNATURE_KEY: &str = "cacheness_signature";
/// Target size of a Blosc2 chunk.
const CHUNK_BYTES: usize = 8 << 20;
/// Target size of a Blosc2 block (the unit each thread compresses).
const BLOCK_BYTES: usize = 256 << 10;

/// Element types an array may hold.
pub trait Element: Copy + Send + Sync + 'static {
    /// Our dtype name (`float64`, `int32`, `bool`, ...).
    const NAME: &'static str;
    /// The NumPy dtype string, little-endian (`<f8`, `|b1`, ...).
    const NUMPY: &'static str;
}

macro_rules! element {
    ($($t:ty => $name:literal, $numpy:literal;)*) => {$(
        impl Element for $t {
            const NAME: &'static str = $name;
            const NUMPY: &'static str = $numpy;
        }
    )*};
}
element! {
    bool => "bool", "|b1";
    i8 => "int8", "|i1";
    i16 => "int16", "<i2";
    i32 => "int32", "<i4";
    i64 => "int64", "<i8";
    u8 => "uint8", "|u1";
    u16 => "uint16", "<u2";
    u32 => "uint32", "<u4";
    u64 => "uint64", "<u8";
    f32 => "float32", "<f4";
    f64 => "float64", "<f8";
}

fn default_threads() -> i16 {
    crate::parallel::cores() as i16
}

/// Split `bounds` so that one partition holds at most `target` bytes, cutting outer
/// dimensions first (C order keeps partitions contiguous). Every length is at least 1.
fn partition(bounds: &[i64], itemsize: usize, target: usize) -> Vec<i32> {
    // Saturating products: a shape such as (0, 2**62) holds no elements, but the product of
    // its inner dimensions does not fit an i64.
    let bytes_of = |dims: &[i64]| {
        dims.iter()
            .fold(itemsize as i64, |acc, &d| acc.saturating_mul(d))
    };
    let mut out: Vec<i64> = bounds.iter().map(|&d| d.max(1)).collect();
    for i in 0..out.len() {
        let inner = bytes_of(&out[i + 1..]).max(1);
        let fit = (target as i64 / inner).max(1);
        if out[i] > fit {
            out[i] = fit;
        }
        if fit > 1 || bytes_of(&out[i + 1..]) <= target as i64 {
            break;
        }
    }
    out.into_iter()
        .map(|d| d.min(i64::from(i32::MAX)) as i32)
        .collect()
}

/// The bytes of a slice of elements, in memory order (what a payload stores, uncompressed).
pub fn as_bytes<T: Element>(data: &[T]) -> &[u8] {
    // SAFETY: Element types are plain scalars without padding; any T is valid as bytes.
    #[allow(unsafe_code)]
    unsafe {
        std::slice::from_raw_parts(data.as_ptr().cast::<u8>(), std::mem::size_of_val(data))
    }
}

fn what(key: &str) -> String {
    format!("payload of {key}")
}

/// The metadata and claimed content hash of a `.b2nd` payload.
pub fn read_meta(bytes: &[u8], what: &str) -> Result<(EntryMeta, String)> {
    let arr = ffi::Array::from_frame(bytes, 1).map_err(|e| Error::corrupt(what, e))?;
    let get = |name: &str| -> Result<String> {
        let raw = arr
            .vlmeta(name)
            .map_err(|e| Error::corrupt(what, e))?
            .ok_or_else(|| Error::corrupt(what, format!("Blosc2 vlmeta lacks {name}")))?;
        rmp_serde::from_slice::<String>(&raw)
            .map_err(|e| Error::corrupt(what, format!("vlmeta {name}: {e}")))
    };
    let meta: EntryMeta = serde_json::from_str(&get(META_KEY)?)
        .map_err(|e| Error::corrupt(what, format!("vlmeta {META_KEY}: {e}")))?;
    let slot = get(HASH_KEY)?;
    let hash = seal::parse_slot(&slot)
        .ok_or_else(|| Error::corrupt(what, "malformed content hash"))?
        .to_string();
    Ok((meta, hash))
}

/// Arrays at least this large are probed before they are compressed ([`compresses`]).
const PROBE_MIN: usize = 4 << 20;
/// The samples a probe compresses, each one block long, spread evenly over the array.
const PROBE_SAMPLES: usize = 4;
/// A probe whose samples shrink to more than this fraction of their size (after shuffle)
/// means the array is stored uncompressed.
const INCOMPRESSIBLE: f64 = 0.9;

/// Whether `bytes` compress with `params` enough to be worth it: [`PROBE_SAMPLES`] blocks
/// spread over the buffer compressed alone; they must shrink below [`INCOMPRESSIBLE`] of
/// their size. Random floats do not (0.95): compressing them costs ten times a copy and saves
/// 5 %, so they are stored at level 0, which Blosc2 reads back as a copy (`docs/FORMATS.md`).
fn compresses(bytes: &[u8], params: &ffi::CompressParams) -> bool {
    if bytes.len() < PROBE_MIN || params.level == 0 {
        return true;
    }
    let stride = bytes.len() / PROBE_SAMPLES;
    let (mut raw, mut packed) = (0usize, 0usize);
    for i in 0..PROBE_SAMPLES {
        let sample = &bytes[i * stride..(i * stride + BLOCK_BYTES).min(bytes.len())];
        let Some(n) = ffi::compressed_len(sample, params) else {
            return true;
        };
        raw += sample.len();
        packed += n;
    }
    (packed as f64) < INCOMPRESSIBLE * raw as f64
}

/// Compress a C-ordered buffer of `T`s into an in-memory Blosc2 array with the settings a put
/// uses: chunks ≤ 8 MiB and blocks ≤ 256 KiB cut from the outer dimensions, the configured
/// codec and level, shuffle for items wider than a byte; level 0 (stored as is) for data that
/// does not compress ([`compresses`]).
fn compress<T: Element>(
    bytes: &[u8],
    shape: &[i64],
    options: &CodecOptions,
) -> std::result::Result<ffi::Array<'static>, Invalid> {
    let itemsize = std::mem::size_of::<T>();
    let chunkshape = partition(shape, itemsize, CHUNK_BYTES);
    let chunk_bounds: Vec<i64> = chunkshape.iter().map(|&c| i64::from(c)).collect();
    let blockshape = partition(&chunk_bounds, itemsize, BLOCK_BYTES);
    let mut params = CompressParams {
        codec: match options.blosc2_codec {
            Blosc2Codec::Lz4 => blosc2_src::BLOSC_LZ4 as u8,
            Blosc2Codec::Zstd => blosc2_src::BLOSC_ZSTD as u8,
        },
        level: options.blosc2_level.min(9),
        typesize: itemsize as i32,
        threads: options.threads.clamp(1, 64) as i16,
        shuffle: itemsize > 1,
    };
    if !compresses(bytes, &params) {
        params.level = 0;
    }
    let layout = ffi::Layout {
        shape,
        chunkshape: &chunkshape,
        blockshape: &blockshape,
    };
    ffi::Array::from_buffer(bytes, &layout, T::NUMPY, &params)
}

/// Blosc2 alone, with no cache around it (the raw baseline of the benchmarks): a 1-d buffer of
/// `T`s compressed into a contiguous frame exactly as a put would, without metadata or hash.
pub fn raw_frame<T: Element>(data: &[T], options: &CodecOptions) -> Result<PayloadBytes> {
    let what = || "raw Blosc2 frame".to_string();
    compress::<T>(as_bytes(data), &[data.len() as i64], options)
        .and_then(|a| a.into_frame())
        .map(PayloadBytes::from)
        .map_err(|e| Error::corrupt(what(), e))
}

/// Decompress a frame made by [`raw_frame`] into `out` (which must have the array's size).
pub fn raw_unframe<T: NotBool>(frame: &[u8], out: &mut [T]) -> Result<()> {
    let arr = ffi::Array::from_frame(frame, default_threads())
        .map_err(|e| Error::corrupt("raw Blosc2 frame", e))?;
    // SAFETY: any bit pattern is a valid T for the numeric element types (NotBool).
    #[allow(unsafe_code)]
    let bytes = unsafe {
        std::slice::from_raw_parts_mut(out.as_mut_ptr().cast::<u8>(), std::mem::size_of_val(out))
    };
    arr.to_buffer(bytes)
        .map_err(|e| Error::corrupt("raw Blosc2 frame", e))
}

/// Numeric element types: every bit pattern is a valid value.
pub trait NotBool: Element {}
macro_rules! not_bool {
    ($($t:ty),*) => {$( impl NotBool for $t {} )*};
}
not_bool!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

impl<T: Element, D: Dimension> super::sealed::Sealed for Array<T, D> {}

impl<T: Element, D: Dimension> Cacheable for Array<T, D> {
    const DATA_TYPE: DataType = DataType::Ndarray;

    fn type_name() -> String {
        match D::NDIM {
            Some(n) => format!("ndarray<{}, {n} dims>", T::NAME),
            None => format!("ndarray<{}, any dims>", T::NAME),
        }
    }

    fn encode(&self, ctx: &EncodeCtx<'_>) -> Result<Encoded> {
        let shape: Vec<i64> = self.shape().iter().map(|&d| d as i64).collect();
        if shape.len() > ffi::MAX_DIM {
            return Err(encode_error(
                ctx.meta,
                "array",
                format!(
                    "Blosc2 arrays have at most {} dimensions, this one has {}",
                    ffi::MAX_DIM,
                    shape.len()
                ),
            ));
        }
        let standard = self.as_standard_layout();
        let data = standard
            .as_slice()
            .ok_or_else(|| encode_error(ctx.meta, "array", "array is not contiguous"))?;
        let bytes = as_bytes(data);
        let info = serde_json::json!({"dtype": T::NAME, "shape": shape, "numpy_dtype": T::NUMPY});
        let mut meta = ctx.meta.clone();
        meta.raw_bytes = bytes.len() as u64;
        meta.info = info.clone();
        let err = |e: Invalid| encode_error(&meta, "Blosc2 array", e);
        let mut arr = compress::<T>(bytes, &shape, ctx.options).map_err(err)?;
        let meta_json = serde_json::to_string(&meta).map_err(|e| err(Invalid(e.to_string())))?;
        let packed = rmp_serde::to_vec(&meta_json).map_err(|e| err(Invalid(e.to_string())))?;
        arr.add_vlmeta(META_KEY, &packed).map_err(err)?;
        let slot = rmp_serde::to_vec(&String::from_utf8_lossy(seal::PLACEHOLDER).into_owned())
            .map_err(|e| err(Invalid(e.to_string())))?;
        arr.add_vlmeta(HASH_KEY, &slot).map_err(err)?;
        let sig =
            rmp_serde::to_vec(&String::from_utf8_lossy(seal::SIGNATURE_PLACEHOLDER).into_owned())
                .map_err(|e| err(Invalid(e.to_string())))?;
        arr.add_vlmeta(SIGNATURE_KEY, &sig).map_err(err)?;
        let mut frame = PayloadBytes::from(arr.into_frame().map_err(err)?);
        let content_hash = seal::seal(&mut frame, SlotAt::Back)
            .ok_or_else(|| err("hash slot not found verbatim in the Blosc2 frame".into()))?;
        Ok(Encoded {
            bytes: frame,
            content_hash,
            raw_bytes: meta.raw_bytes,
            info,
        })
    }

    fn decode(bytes: bytes::Bytes, meta: &EntryMeta) -> Result<Self> {
        let stored = stored_dtype::<T>(meta, Self::type_name)?;
        let arr = ffi::Array::from_frame(&bytes, default_threads())
            .map_err(|e| Error::corrupt(what(&meta.key), e))?;
        let shape = arr.shape();
        let wrong_dims = || Error::WrongType {
            key: meta.key.clone(),
            stored: format!("ndarray<{stored}, {} dims>", shape.len()),
            requested: Self::type_name(),
        };
        if D::NDIM.is_some_and(|n| n != shape.len()) {
            return Err(wrong_dims());
        }
        let dims: Vec<usize> = shape
            .iter()
            .map(|&d| {
                usize::try_from(d)
                    .map_err(|_| Error::corrupt(what(&meta.key), "negative dimension"))
            })
            .collect::<Result<_>>()?;
        let n = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        let size = n.and_then(|n| n.checked_mul(std::mem::size_of::<T>()));
        let (Some(n), Some(size)) = (n, size) else {
            return Err(Error::corrupt(
                what(&meta.key),
                "array shape holds more elements than memory can address",
            ));
        };
        if size as u64 != meta.raw_bytes {
            return Err(Error::corrupt(
                what(&meta.key),
                "array size disagrees with its metadata",
            ));
        }
        let data = elements::<T>(n, &meta.key, |out| arr.to_buffer(out))?;
        let dyn_arr = ArrayD::from_shape_vec(IxDyn(&dims), data)
            .map_err(|e| Error::corrupt(what(&meta.key), format!("shape: {e}")))?;
        dyn_arr.into_dimensionality::<D>().map_err(|_| wrong_dims())
    }
}

/// The element type an array entry stores, if it is `T` (else `WrongType`, naming `requested`).
fn stored_dtype<T: Element>(meta: &EntryMeta, requested: impl Fn() -> String) -> Result<&str> {
    let stored = meta
        .info
        .get("dtype")
        .and_then(|d| d.as_str())
        .unwrap_or("?");
    if stored != T::NAME {
        return Err(Error::WrongType {
            key: meta.key.clone(),
            stored: format!("ndarray<{stored}>"),
            requested: requested(),
        });
    }
    Ok(stored)
}

/// `n` elements of `T` that `fill` writes as bytes (C's decompression); bools are checked to
/// be 0 or 1.
fn elements<T: Element>(
    n: usize,
    key: &str,
    fill: impl FnOnce(&mut [u8]) -> std::result::Result<(), Invalid>,
) -> Result<Vec<T>> {
    let nbytes = n
        .checked_mul(std::mem::size_of::<T>())
        .ok_or_else(|| Error::corrupt(what(key), "array size overflows"))?;
    if std::any::TypeId::of::<T>() == std::any::TypeId::of::<bool>() {
        // Only 0 and 1 are valid bools: decode as bytes and check.
        let mut raw = vec![0u8; n];
        fill(&mut raw).map_err(|e| Error::corrupt(what(key), e))?;
        if raw.iter().any(|&b| b > 1) {
            return Err(Error::corrupt(
                what(key),
                "bool array holds bytes other than 0 and 1",
            ));
        }
        // SAFETY: T is bool and every byte is 0 or 1.
        #[allow(unsafe_code)]
        unsafe {
            let mut raw = std::mem::ManuallyDrop::new(raw);
            return Ok(Vec::from_raw_parts(
                raw.as_mut_ptr().cast::<T>(),
                raw.len(),
                raw.capacity(),
            ));
        }
    }
    let mut v: Vec<T> = Vec::with_capacity(n);
    crate::buffers::advise_huge_pages(v.as_mut_ptr().cast(), nbytes);
    // SAFETY: the buffer has capacity for n elements; fill writes all nbytes (or fails, and
    // the length stays 0), and any bit pattern is a valid T for the numeric Element types.
    #[allow(unsafe_code)]
    unsafe {
        let out = std::slice::from_raw_parts_mut(v.as_mut_ptr().cast::<u8>(), nbytes);
        fill(out).map_err(|e| Error::corrupt(what(key), e))?;
        v.set_len(n);
    }
    Ok(v)
}

/// A part of an n-dimensional array: one range of indices per dimension.
pub type Slice = [std::ops::Range<usize>];

/// The start and stop of `ranges` as Blosc2 takes them, if they lie in `shape`.
fn slice_bounds(key: &str, shape: &[i64], ranges: &Slice) -> Result<(Vec<i64>, Vec<i64>)> {
    let bad = |reason: String| Error::InvalidSlice {
        key: key.to_string(),
        reason,
    };
    if ranges.len() != shape.len() {
        return Err(bad(format!(
            "the array has {} dimensions, the slice {}",
            shape.len(),
            ranges.len()
        )));
    }
    let mut bounds = (Vec::new(), Vec::new());
    for (d, (r, &len)) in ranges.iter().zip(shape).enumerate() {
        if r.start > r.end || r.end as u64 > len.max(0) as u64 {
            return Err(bad(format!(
                "dimension {d} has {len} elements; {}..{} is not within it",
                r.start, r.end
            )));
        }
        bounds.0.push(r.start as i64);
        bounds.1.push(r.end as i64);
    }
    Ok(bounds)
}

/// Decode the part `ranges` of an array payload (checked, as for [`Cacheable::decode`]):
/// Blosc2 decompresses only the chunks the part touches.
pub fn decode_slice<T: Element>(
    frame: &[u8],
    meta: &EntryMeta,
    ranges: &Slice,
) -> Result<ArrayD<T>> {
    stored_dtype::<T>(meta, <ArrayD<T> as Cacheable>::type_name)?;
    let arr = ffi::Array::from_frame(frame, default_threads())
        .map_err(|e| Error::corrupt(what(&meta.key), e))?;
    let (start, stop) = slice_bounds(&meta.key, &arr.shape(), ranges)?;
    let dims: Vec<usize> = ranges.iter().map(|r| r.end - r.start).collect();
    let n: usize = dims.iter().product();
    let data = match n {
        0 => Vec::new(),
        _ => elements::<T>(n, &meta.key, |out| arr.slice_to_buffer(&start, &stop, out))?,
    };
    ArrayD::from_shape_vec(IxDyn(&dims), data)
        .map_err(|e| Error::corrupt(what(&meta.key), format!("shape: {e}")))
}

/// A Blosc2 frame's header length and where its offsets chunk starts: the header length (a
/// big-endian i32 at byte 11) plus the compressed bytes of its chunks (a big-endian i64 at
/// byte 39), as C-Blosc2's `frame.h` lays out the header. Everything from the offsets chunk to
/// the end (offsets and trailer) is what reading any chunk needs besides the chunk itself.
pub fn frame_layout(frame: &[u8], key: &str) -> Result<(u64, u64)> {
    let field = |at: usize, n: usize| -> Result<u64> {
        let b = frame
            .get(at..at + n)
            .ok_or_else(|| Error::corrupt(what(key), "Blosc2 frame header is cut short"))?;
        Ok(b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    };
    let (header_len, cbytes) = (field(11, 4)?, field(39, 8)?);
    let index_start = header_len
        .checked_add(cbytes)
        .filter(|&end| end <= frame.len() as u64)
        .ok_or_else(|| {
            Error::corrupt(what(key), "Blosc2 frame header gives sizes beyond the file")
        })?;
    Ok((header_len, index_start))
}

/// The byte ranges of the chunks of an array frame that the part `ranges` touches. `frame`
/// needs only its header, its offsets chunk and its trailer in place (a ranged read's sparse
/// buffer): the chunks' own bytes are not read.
pub fn slice_chunk_ranges(
    frame: &[u8],
    key: &str,
    ranges: &Slice,
) -> Result<Vec<std::ops::Range<u64>>> {
    let arr = ffi::Array::from_frame(frame, 1).map_err(|e| Error::corrupt(what(key), e))?;
    let shape = arr.shape();
    let (start, stop) = slice_bounds(key, &shape, ranges)?;
    if start.iter().zip(&stop).any(|(a, b)| a == b) {
        return Ok(Vec::new());
    }
    let chunkshape = arr.chunkshape();
    let offsets = arr
        .chunk_offsets()
        .map_err(|e| Error::corrupt(what(key), e))?;
    let (header_len, index_start) = frame_layout(frame, key)?;
    // Chunks lie one after another: each ends where the next-placed one starts.
    let mut starts: Vec<u64> = offsets
        .iter()
        .filter(|&&o| o >= 0)
        .map(|&o| o as u64)
        .collect();
    starts.sort_unstable();
    let end_of = |o: u64| {
        let i = starts.partition_point(|&s| s <= o);
        starts.get(i).map_or(index_start, |&s| header_len + s)
    };
    // The chunk grid (C order), and the chunks the part spans along each dimension.
    let grid: Vec<i64> = shape
        .iter()
        .zip(&chunkshape)
        .map(|(&s, &c)| (s + c.max(1) - 1) / c.max(1))
        .collect();
    let spans: Vec<std::ops::Range<i64>> = start
        .iter()
        .zip(&stop)
        .zip(&chunkshape)
        .map(|((&a, &b), &c)| a / c.max(1)..(b - 1) / c.max(1) + 1)
        .collect();
    let mut out = Vec::new();
    let mut at: Vec<i64> = spans.iter().map(|s| s.start).collect();
    loop {
        let linear = at.iter().zip(&grid).fold(0i64, |acc, (&i, &g)| acc * g + i);
        let offset = usize::try_from(linear)
            .ok()
            .and_then(|l| offsets.get(l))
            .ok_or_else(|| {
                Error::corrupt(what(key), "Blosc2 frame has fewer chunks than its shape")
            })?;
        if *offset >= 0 {
            let o = *offset as u64;
            out.push(header_len + o..end_of(o));
        }
        // Next position in the spans, last dimension fastest.
        let mut d = spans.len();
        loop {
            if d == 0 {
                return Ok(out);
            }
            d -= 1;
            at[d] += 1;
            if at[d] < spans[d].end {
                break;
            }
            at[d] = spans[d].start;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a ranged read holds of `frame`: the header, the offsets and trailer, and the
    /// given byte ranges, exactly; zeros elsewhere.
    fn holding_only(frame: &[u8], ranges: &[std::ops::Range<u64>]) -> Vec<u8> {
        let (header_len, index_start) = frame_layout(frame, "k").unwrap();
        let mut sparse = vec![0u8; frame.len()];
        let meta = [0..header_len, index_start..frame.len() as u64];
        for r in meta.iter().chain(ranges) {
            let r = r.start as usize..r.end as usize;
            sparse[r.clone()].copy_from_slice(&frame[r]);
        }
        sparse
    }

    #[test]
    fn the_chunks_a_slice_touches_are_all_it_needs() {
        // 3 × 6 Mi int16s: chunks of 1 × 4 Mi (8 MiB), a grid of 3 × 2.
        let (rows, cols) = (3usize, 6usize << 20);
        let data: Vec<i16> = (0..rows * cols).map(|i| (i % 30_011) as i16).collect();
        let shape = [rows as i64, cols as i64];
        let arr = compress::<i16>(as_bytes(&data), &shape, &CodecOptions::default()).unwrap();
        let frame = arr.into_frame().unwrap().to_vec();
        let meta = EntryMeta {
            raw_bytes: (data.len() * 2) as u64,
            info: serde_json::json!({"dtype": "int16"}),
            ..EntryMeta::bare("k", DataType::Ndarray)
        };
        let whole = ArrayD::from_shape_vec(IxDyn(&[rows, cols]), data).unwrap();
        let edge = 4usize << 20;
        for (ranges, chunks) in [
            (vec![0..1, 10..20], 1),
            (vec![1..3, edge - 2..edge + 2], 4),
            (vec![2..3, edge..cols], 1),
            (vec![0..3, 0..cols], 6),
            (vec![0..0, 0..5], 0),
        ] {
            let touched = slice_chunk_ranges(&frame, "k", &ranges).unwrap();
            assert_eq!(touched.len(), chunks, "{ranges:?}");
            let sparse = holding_only(&frame, &touched);
            let part = decode_slice::<i16>(&sparse, &meta, &ranges).unwrap();
            let (r, c) = (ranges[0].clone(), ranges[1].clone());
            let want = whole.slice(ndarray::s![r, c]).to_owned().into_dyn();
            assert_eq!(part, want, "{ranges:?}");
        }
        // Without the chunk's bytes the part cannot be decoded (so the test above means
        // something): an error, not zeros.
        let missing = holding_only(&frame, &[]);
        assert!(decode_slice::<i16>(&missing, &meta, &[0..1, 0..10]).is_err());
    }

    #[test]
    fn raw_frames_round_trip() {
        let data: Vec<f64> = (0..100_000).map(|i| f64::from(i) * 0.25).collect();
        let frame = raw_frame(&data, &crate::CodecOptions::default()).unwrap();
        assert!(frame.len() < data.len() * 8);
        let mut out = vec![0.0f64; data.len()];
        raw_unframe(&frame, &mut out).unwrap();
        assert_eq!(out, data);
        assert!(raw_unframe(&frame[..frame.len() / 2], &mut out).is_err());
    }

    /// Bits that do not compress: a xorshift stream as floats of every exponent.
    fn noise(n: usize) -> Vec<f64> {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                f64::from_bits(x >> 2) // no NaNs or infinities: the top exponent bit is 0
            })
            .collect()
    }

    #[test]
    fn data_that_does_not_compress_is_stored_as_is_and_reads_back() {
        let opts = CodecOptions::default();
        let random = noise(1 << 20); // 8 MiB
        let frame = raw_frame(&random, &opts).unwrap();
        let ratio = frame.len() as f64 / (random.len() * 8) as f64;
        assert!((1.0..1.01).contains(&ratio), "stored/raw {ratio}");
        let params = |level| CompressParams {
            codec: blosc2_src::BLOSC_LZ4 as u8,
            level,
            typesize: 8,
            threads: 1,
            shuffle: true,
        };
        assert!(!compresses(as_bytes(&random), &params(5)));
        let mut out = vec![0.0f64; random.len()];
        raw_unframe(&frame, &mut out).unwrap();
        assert!(
            out.iter()
                .zip(&random)
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
        // Data that compresses still does, probed or not.
        let runs: Vec<f64> = (0..1usize << 20).map(|i| (i / 100) as f64).collect();
        assert!(compresses(as_bytes(&runs), &params(5)));
        let packed = raw_frame(&runs, &opts).unwrap();
        assert!(packed.len() * 10 < runs.len() * 8, "{}", packed.len());
        // Small arrays are not probed.
        assert!(compresses(as_bytes(&random[..1000]), &params(5)));
    }

    #[test]
    fn partitions_stay_under_target_and_cut_outer_dims_first() {
        assert_eq!(partition(&[10_000_000], 8, 8 << 20), vec![1_048_576]);
        assert_eq!(partition(&[100], 8, 8 << 20), vec![100]);
        assert_eq!(partition(&[0, 5], 8, 1024), vec![1, 5]);
        assert_eq!(partition(&[1000, 1000], 8, 8000), vec![1, 1000]);
        assert_eq!(partition(&[10, 10_000], 8, 8000), vec![1, 1000]);
        assert_eq!(partition(&[], 8, 1024), Vec::<i32>::new());
    }
}
