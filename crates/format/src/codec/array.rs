//! n-dimensional arrays as Blosc2 NDArrays (`.b2nd`), readable by python-blosc2.
//!
//! The array is a contiguous Blosc2 frame with the standard `b2nd` metalayer (shape, chunk and
//! block shapes, NumPy dtype string). Variable-length metalayers: `cacheness` (the
//! [`EntryMeta`] as JSON, MessagePack-wrapped as python-blosc2 expects) and `cacheness_hash` (the
//! hash slot, stored uncompressed). Defaults: LZ4 level 5 with byte shuffle, on all cores.

use ndarray::{Array, ArrayBase, ArrayD, CowArray, Data, Dimension, IxDyn};

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

/// The largest array stored as is in one chunk ([`one_chunk`]): C-Blosc2's limit on the bytes
/// of a chunk.
const ONE_CHUNK_MAX: usize = blosc2_src::BLOSC2_MAX_BUFFERSIZE as usize;
/// The largest block C-Blosc2 takes.
const BLOCK_MAX: usize = blosc2_src::BLOSC2_MAXBLOCKSIZE as usize;

/// The chunk and block shapes of an array stored as is where it can be mapped: one chunk
/// holding the whole array, cut into blocks of whole rows of the first dimension (so the
/// chunk's bytes are the array's in C order, and a slice decompresses only the blocks it
/// touches). The rows of a block divide the rows of the array, so no block is padded; if only
/// blocks under 16 KiB would divide them, the array is one block, and rows larger than a block
/// are a block each. `None` for an empty or 0-d
/// array, or one too large for a chunk.
fn one_chunk(shape: &[i64], itemsize: usize) -> Option<(Vec<i32>, Vec<i32>)> {
    let (&rows, inner) = shape.split_first()?;
    let dims: Vec<i32> = shape
        .iter()
        .map(|&d| i32::try_from(d).ok().filter(|&d| d > 0))
        .collect::<Option<_>>()?;
    let row_bytes = inner.iter().try_fold(itemsize, |acc, &d| {
        acc.checked_mul(usize::try_from(d).ok()?)
    })?;
    let total = row_bytes.checked_mul(usize::try_from(rows).ok()?)?;
    if total > ONE_CHUNK_MAX {
        return None;
    }
    let rows = rows as usize; // positive and at most i32::MAX: checked above
    let fits = |d: usize| d * row_bytes <= BLOCK_BYTES;
    let mut best = 0;
    for i in (1..)
        .take_while(|i| i * i <= rows)
        .filter(|i| rows.is_multiple_of(*i))
    {
        for d in [i, rows / i] {
            if fits(d) && d > best {
                best = d;
            }
        }
    }
    let block_rows = if best == 0 {
        // A row is larger than a block: a row each.
        (row_bytes <= BLOCK_MAX).then_some(1)?
    } else if best * row_bytes >= BLOCK_BYTES / 16 {
        best
    } else {
        (total <= BLOCK_MAX).then_some(rows)?
    };
    let mut blockshape = dims.clone();
    blockshape[0] = block_rows as i32;
    Some((dims, blockshape))
}

/// Compress a C-ordered buffer of `T`s into an in-memory Blosc2 array with the settings a put
/// uses: chunks ≤ 8 MiB and blocks ≤ 256 KiB cut from the outer dimensions, the configured
/// codec and level, shuffle for items wider than a byte; level 0 (stored as is) for data that
/// does not compress ([`compresses`]). With `mappable`, an array stored as is goes in one
/// chunk whose data starts aligned in the frame ([`one_chunk`], [`MappedArray`]).
fn compress<T: Element>(
    bytes: &[u8],
    shape: &[i64],
    options: &CodecOptions,
    mappable: bool,
) -> std::result::Result<ffi::Array<'static>, Invalid> {
    let itemsize = std::mem::size_of::<T>();
    let mut chunkshape = partition(shape, itemsize, CHUNK_BYTES);
    let chunk_bounds: Vec<i64> = chunkshape.iter().map(|&c| i64::from(c)).collect();
    let mut blockshape = partition(&chunk_bounds, itemsize, BLOCK_BYTES);
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
    let one = match mappable && params.level == 0 {
        true => one_chunk(shape, itemsize),
        false => None,
    };
    let align = one.is_some();
    if let Some((chunks, blocks)) = one {
        (chunkshape, blockshape) = (chunks, blocks);
    }
    let layout = ffi::Layout {
        shape,
        chunkshape: &chunkshape,
        blockshape: &blockshape,
        align,
    };
    ffi::Array::from_buffer(bytes, &layout, T::NUMPY, &params)
}

/// Blosc2 alone, with no cache around it (the raw baseline of the benchmarks): a 1-d buffer of
/// `T`s compressed into a contiguous frame exactly as a put would, without metadata or hash.
pub fn raw_frame<T: Element>(data: &[T], options: &CodecOptions) -> Result<PayloadBytes> {
    let what = || "raw Blosc2 frame".to_string();
    compress::<T>(as_bytes(data), &[data.len() as i64], options, true)
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

/// `n` zeroed elements (zero is a valid value of every element type), in memory the
/// allocator gets zeroed from the kernel (no pass of its own for a large buffer).
fn zeroed_elements<T: Element>(n: usize) -> Result<Vec<T>> {
    let layout = std::alloc::Layout::array::<T>(n)
        .map_err(|e| Error::corrupt("array", format!("{n} elements: {e}")))?;
    if layout.size() == 0 {
        return Ok(Vec::new());
    }
    // SAFETY: the layout is non-zero and that of [T; n]; the memory is zeroed, and all-zero
    // bytes are a valid value of every numeric element type (callers exclude bool, for which
    // zero is valid too); Vec takes the allocation with the same layout it will free with.
    #[allow(unsafe_code)]
    unsafe {
        let ptr = std::alloc::alloc_zeroed(layout).cast::<T>();
        if ptr.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        Ok(Vec::from_raw_parts(ptr, n, n))
    }
}

/// The bytes of a slice of elements, writable. Callers pass numeric element types only
/// (`elements` and `from_copied_elements` handle bools apart), for which every byte pattern
/// is a valid value.
fn as_bytes_mut<T: Element>(data: &mut [T]) -> &mut [u8] {
    // SAFETY: the elements are initialised plain scalars without padding; only numeric element
    // types reach here, for which every bit pattern is valid.
    #[allow(unsafe_code)]
    unsafe {
        std::slice::from_raw_parts_mut(data.as_mut_ptr().cast::<u8>(), std::mem::size_of_val(data))
    }
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
        encode_array(self, ctx)
    }

    fn from_copied_elements(
        len: usize,
        copy_and_check: &mut dyn FnMut(&mut [u8]) -> Option<super::CheckedFrame>,
    ) -> Result<Option<Self>> {
        let size = std::mem::size_of::<T>();
        let is_bool = std::any::TypeId::of::<T>() == std::any::TypeId::of::<bool>();
        if is_bool || !len.is_multiple_of(size) || len == 0 {
            return Ok(None); // bools are checked value by value: the ordinary get does it
        }
        let n = len / size;
        let mut data = zeroed_elements::<T>(n)?;
        let Some(checked) = copy_and_check(as_bytes_mut(&mut data)) else {
            return Ok(None);
        };
        let meta = &checked.meta;
        stored_dtype::<T>(meta, Self::type_name)?;
        match stored_as_is::<T>(&checked.frame, meta)? {
            Some((dims, at)) if at == checked.span => shaped(&dims, data, meta).map(Some),
            _ => Ok(None),
        }
    }

    fn decode(bytes: bytes::Bytes, meta: &EntryMeta) -> Result<Self> {
        stored_dtype::<T>(meta, Self::type_name)?;
        let arr = ffi::Array::from_frame(&bytes, default_threads())
            .map_err(|e| Error::corrupt(what(&meta.key), e))?;
        let shape = arr.shape();
        // Before decompressing anything: another number of dimensions is a type error.
        if D::NDIM.is_some_and(|n| n != shape.len()) {
            return Err(wrong_dims::<T, D>(meta, shape.len()));
        }
        let (dims, n) = checked_dims::<T>(&shape, meta)?;
        let data = elements::<T>(n, &meta.key, |out| arr.to_buffer(out))?;
        shaped(&dims, data, meta)
    }
}

/// Encode an array of any storage (owned, or a view of memory it borrows) as a sealed
/// Blosc2 frame: its elements are read where they lie when it is in standard order, and
/// copied into standard order first when it is not.
fn encode_array<S, T, D>(array: &ArrayBase<S, D>, ctx: &EncodeCtx<'_>) -> Result<Encoded>
where
    S: Data<Elem = T>,
    T: Element,
    D: Dimension,
{
    let shape: Vec<i64> = array.shape().iter().map(|&d| d as i64).collect();
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
    let standard = array.as_standard_layout();
    let data = standard
        .as_slice()
        .ok_or_else(|| encode_error(ctx.meta, "array", "array is not contiguous"))?;
    let bytes = as_bytes(data);
    let info = super::with_binding(
        serde_json::json!({"dtype": T::NAME, "shape": shape, "numpy_dtype": T::NUMPY}),
        ctx.meta,
    );
    let mut meta = ctx.meta.clone();
    meta.raw_bytes = bytes.len() as u64;
    meta.info = info.clone();
    let err = |e: Invalid| encode_error(&meta, "Blosc2 array", e);
    let mut arr = compress::<T>(bytes, &shape, ctx.options, ctx.mappable).map_err(err)?;
    let meta_json = serde_json::to_string(&meta).map_err(|e| err(Invalid(e.to_string())))?;
    let packed = rmp_serde::to_vec(&meta_json).map_err(|e| err(Invalid(e.to_string())))?;
    arr.add_vlmeta(META_KEY, &packed).map_err(err)?;
    let slot = rmp_serde::to_vec(&String::from_utf8_lossy(seal::PLACEHOLDER).into_owned())
        .map_err(|e| err(Invalid(e.to_string())))?;
    arr.add_vlmeta(HASH_KEY, &slot).map_err(err)?;
    let sig = rmp_serde::to_vec(&String::from_utf8_lossy(seal::SIGNATURE_PLACEHOLDER).into_owned())
        .map_err(|e| err(Invalid(e.to_string())))?;
    arr.add_vlmeta(SIGNATURE_KEY, &sig).map_err(err)?;
    let frame = PayloadBytes::from(arr.into_frame().map_err(err)?);
    if seal::placeholders(&frame, SlotAt::Back).is_none() {
        return Err(err(
            "the slots are not found verbatim in the Blosc2 frame".into()
        ));
    }
    Ok(Encoded {
        bytes: frame,
        raw_bytes: meta.raw_bytes,
        info,
    })
}

impl<T: Element, D: Dimension> super::sealed::Sealed for CowArray<'_, T, D> {}

/// An array borrowed or owned: a put encodes a borrowed view where its elements lie (no copy
/// when it is in standard order), which is how a binding stores memory it does not own (a
/// NumPy array); a get returns it owned.
impl<T: Element, D: Dimension> Cacheable for CowArray<'_, T, D> {
    const DATA_TYPE: DataType = DataType::Ndarray;

    fn type_name() -> String {
        <Array<T, D> as Cacheable>::type_name()
    }

    fn encode(&self, ctx: &EncodeCtx<'_>) -> Result<Encoded> {
        encode_array(self, ctx)
    }

    fn from_copied_elements(
        len: usize,
        copy_and_check: &mut dyn FnMut(&mut [u8]) -> Option<super::CheckedFrame>,
    ) -> Result<Option<Self>> {
        Ok(<Array<T, D> as Cacheable>::from_copied_elements(len, copy_and_check)?.map(Self::from))
    }

    fn decode(bytes: bytes::Bytes, meta: &EntryMeta) -> Result<Self> {
        <Array<T, D> as Cacheable>::decode(bytes, meta).map(Self::from)
    }
}

/// The error of a get of `Array<T, D>` from an array of `ndim` dimensions.
fn wrong_dims<T: Element, D: Dimension>(meta: &EntryMeta, ndim: usize) -> Error {
    Error::WrongType {
        key: meta.key.clone(),
        stored: format!("ndarray<{}, {ndim} dims>", T::NAME),
        requested: <Array<T, D> as Cacheable>::type_name(),
    }
}

/// The elements `data` (C order) as an array of `dims`, of `D` dimensions.
fn shaped<T: Element, D: Dimension>(
    dims: &[usize],
    data: Vec<T>,
    meta: &EntryMeta,
) -> Result<Array<T, D>> {
    if D::NDIM.is_some_and(|n| n != dims.len()) {
        return Err(wrong_dims::<T, D>(meta, dims.len()));
    }
    ArrayD::from_shape_vec(IxDyn(dims), data)
        .map_err(|e| Error::corrupt(what(&meta.key), format!("shape: {e}")))?
        .into_dimensionality::<D>()
        .map_err(|_| wrong_dims::<T, D>(meta, dims.len()))
}

/// The dimensions of an array of `T` of `shape` and its number of elements, checked to fit in
/// memory and to match the metadata's `raw_bytes`.
fn checked_dims<T: Element>(shape: &[i64], meta: &EntryMeta) -> Result<(Vec<usize>, usize)> {
    let dims: Vec<usize> = shape
        .iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| Error::corrupt(what(&meta.key), "negative dimension"))
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
    Ok((dims, n))
}

/// An array got without copying its values where its payload allows: a view of the payload's
/// bytes where they lie (a file mapped into memory, on a local cache), or else the array
/// decoded as a get decodes it. The payload is checked as any get checks it before either.
///
/// Only an array stored as is (data that does not compress) in one chunk can be viewed where
/// it lies: a put to a local cache lays such arrays out so ([`one_chunk`], and the frame's
/// header padded so the data starts at a multiple of 64 bytes). Compressed arrays, arrays over
/// 2 GiB and arrays on an object store are decoded ([`MappedArray::is_zero_copy`] tells
/// which). The view stays valid for as long as the value lives, whatever happens to the entry:
/// the cache replaces and removes payload files by rename and unlink, never by writing into
/// them, so a mapped file's bytes do not change while it is mapped (`docs/FORMATS.md`).
pub struct MappedArray<T: Element> {
    repr: Repr<T>,
}

enum Repr<T> {
    /// The values are `bytes[data]`, C-ordered, aligned for `T`, of `shape`.
    View {
        bytes: bytes::Bytes,
        data: std::ops::Range<usize>,
        shape: Vec<usize>,
    },
    Owned(ArrayD<T>),
}

impl<T: Element> MappedArray<T> {
    /// The array of a checked `.b2nd` payload (metadata `meta`) held in memory the cache owns:
    /// a view of `bytes` if the array is stored as is in one aligned chunk, else decoded.
    /// Errors as [`Cacheable::decode`].
    pub fn from_payload(bytes: bytes::Bytes, meta: &EntryMeta) -> Result<Self> {
        stored_dtype::<T>(meta, <ArrayD<T> as Cacheable>::type_name)?;
        if let Some((shape, data)) = stored_as_is::<T>(&bytes, meta)?
            && let Some(view) = Self::view_of(bytes.clone(), data, shape, meta)?
        {
            return Ok(view);
        }
        let owned = <ArrayD<T> as Cacheable>::decode(bytes, meta)?;
        Ok(MappedArray {
            repr: Repr::Owned(owned),
        })
    }

    /// The array of a mapped payload file `file` as a view of it, if it is stored as is in one
    /// chunk whose data lies within `mapped`. `frame` is the cache's own copy of the file's
    /// other bytes, checked together with `file[mapped]` ([`chunk_data_span`]): the structure
    /// is read from it, never from the map, so a file rewritten in place after its check
    /// cannot change what is parsed. `None` if the array is laid out otherwise (the caller
    /// reads and decodes it).
    pub fn from_mapped(
        frame: &[u8],
        file: bytes::Bytes,
        mapped: std::ops::Range<usize>,
        meta: &EntryMeta,
    ) -> Result<Option<Self>> {
        stored_dtype::<T>(meta, <ArrayD<T> as Cacheable>::type_name)?;
        match stored_as_is::<T>(frame, meta)? {
            Some((shape, data))
                if file.len() == frame.len()
                    && data.start >= mapped.start
                    && data.end <= mapped.end =>
            {
                Self::view_of(file, data, shape, meta)
            }
            _ => Ok(None),
        }
    }

    /// A view of `bytes[data]` as an array of `shape`, if it is aligned for `T`; a bool
    /// array must hold only 0 and 1.
    fn view_of(
        bytes: bytes::Bytes,
        data: std::ops::Range<usize>,
        shape: Vec<usize>,
        meta: &EntryMeta,
    ) -> Result<Option<Self>> {
        let values = &bytes[data.clone()];
        if !values.as_ptr().cast::<T>().is_aligned() {
            return Ok(None);
        }
        if std::any::TypeId::of::<T>() == std::any::TypeId::of::<bool>()
            && values.iter().any(|&b| b > 1)
        {
            return Err(Error::corrupt(
                what(&meta.key),
                "bool array holds bytes other than 0 and 1",
            ));
        }
        Ok(Some(MappedArray {
            repr: Repr::View { bytes, data, shape },
        }))
    }

    /// Whether the values are the payload's bytes where they lie (no copy was made).
    pub fn is_zero_copy(&self) -> bool {
        matches!(self.repr, Repr::View { .. })
    }

    /// The array's shape.
    pub fn shape(&self) -> &[usize] {
        match &self.repr {
            Repr::View { shape, .. } => shape,
            Repr::Owned(a) => a.shape(),
        }
    }

    /// The array, read in place.
    pub fn view(&self) -> ndarray::ArrayViewD<'_, T> {
        match &self.repr {
            Repr::View { bytes, data, shape } => {
                let ptr = bytes[data.clone()].as_ptr().cast::<T>();
                // SAFETY: `stored_as_is` checked that `data` holds exactly the elements of
                // `shape` (C order), and `view_of` that it starts aligned for T and that a
                // bool array holds only 0 and 1 (any bit pattern is a valid numeric element);
                // the bytes live as long as `self`, which the view borrows.
                #[allow(unsafe_code)]
                unsafe {
                    ndarray::ArrayViewD::from_shape_ptr(IxDyn(shape), ptr)
                }
            }
            Repr::Owned(a) => a.view(),
        }
    }

    /// The array as an owned value (a copy if it is a view).
    pub fn into_owned(self) -> ArrayD<T> {
        match self.repr {
            Repr::View { .. } => self.view().to_owned(),
            Repr::Owned(a) => a,
        }
    }
}

impl<T: Element> std::fmt::Debug for MappedArray<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedArray")
            .field("dtype", &T::NAME)
            .field("shape", &self.shape())
            .field("zero_copy", &self.is_zero_copy())
            .finish()
    }
}

/// Where the data of a frame's first chunk lies if the chunk is a plain copy: after the frame
/// header and the chunk's own header, up to the offsets chunk. Read in Rust from bytes not yet
/// checked (three fields), only to choose which bytes a mapped get copies out of the map
/// before checking the file (`MappedArray::from_mapped`); the check and [`stored_as_is`] on
/// the copy decide. `None` if the frame does not look like one.
pub fn chunk_data_span(frame: &[u8]) -> Option<std::ops::Range<usize>> {
    let (header_len, index_start) = frame_layout(frame, "").ok()?;
    let chunk = usize::try_from(header_len).ok()?;
    let start = chunk.checked_add(ffi::CHUNK_HEADER)?;
    let end = usize::try_from(index_start).ok()?;
    let head = ChunkHead::read(frame.get(chunk..start)?.try_into().ok()?);
    (start <= end && head.plain).then_some(start..end)
}

/// What this module reads of a Blosc2 chunk's 32-byte header.
struct ChunkHead {
    /// The chunk is a plain copy of its data (`BLOSC_MEMCPYED`), not one repeated value.
    plain: bool,
    /// The bytes of data it holds, uncompressed.
    nbytes: i32,
    /// The bytes it takes, header included.
    cbytes: i32,
}

impl ChunkHead {
    /// Read a chunk header (`head` holds its [`ffi::CHUNK_HEADER`] bytes).
    fn read(head: &[u8; ffi::CHUNK_HEADER]) -> ChunkHead {
        let le =
            |at: usize| i32::from_le_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
        let special = (head[blosc2_src::BLOSC2_CHUNK_BLOSC2_FLAGS as usize] >> 4)
            & blosc2_src::BLOSC2_SPECIAL_MASK as u8;
        ChunkHead {
            plain: head[2] & blosc2_src::BLOSC_MEMCPYED as u8 != 0 && special == 0,
            nbytes: le(4),
            cbytes: le(12),
        }
    }
}

/// Where the elements of an array stored as is in one chunk lie in its frame, with its
/// dimensions: `None` if the frame is laid out otherwise (compressed, several chunks, blocks
/// that cut inner dimensions, empty or 0-d). Reads the frame's header, its offsets and the
/// chunk's header only.
fn stored_as_is<T: Element>(
    frame: &[u8],
    meta: &EntryMeta,
) -> Result<Option<(Vec<usize>, std::ops::Range<usize>)>> {
    let key = &meta.key;
    let arr = ffi::Array::from_frame(frame, 1).map_err(|e| Error::corrupt(what(key), e))?;
    let shape = arr.shape();
    let (dims, n) = checked_dims::<T>(&shape, meta)?;
    let rows_only = arr.chunkshape() == shape
        && arr.blockshape().get(1..) == shape.get(1..)
        && !shape.is_empty();
    if !rows_only || n == 0 {
        return Ok(None);
    }
    let offsets = arr
        .chunk_offsets()
        .map_err(|e| Error::corrupt(what(key), e))?;
    let &[offset] = offsets.as_slice() else {
        return Ok(None);
    };
    let (header_len, index_start) = frame_layout(frame, key)?;
    let Some(start) = u64::try_from(offset)
        .ok()
        .and_then(|o| usize::try_from(header_len + o).ok())
    else {
        return Ok(None); // a chunk of one repeated value, held in its offset
    };
    let first = start + ffi::CHUNK_HEADER;
    let Some(head) = frame.get(start..first).and_then(|h| h.try_into().ok()) else {
        return Err(Error::corrupt(what(key), "a chunk lies past the frame"));
    };
    let head = ChunkHead::read(head);
    let raw = n * std::mem::size_of::<T>(); // checked_dims: it fits
    let Some(data) = first.checked_add(raw).map(|end| first..end) else {
        return Ok(None);
    };
    let plain = head.plain
        && usize::try_from(head.nbytes) == Ok(raw)
        && usize::try_from(head.cbytes).ok() == raw.checked_add(ffi::CHUNK_HEADER)
        && data.end as u64 <= index_start;
    Ok(plain.then_some((dims, data)))
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
    // Zeroed, so C writes into initialised bytes: a large buffer's zero pages come from the
    // kernel, which zeroes fresh pages anyway. Not advised huge pages: a get's output is fresh
    // memory each time, and with the advice its gets were bimodal on the project's machine
    // (`docs/PERFORMANCE.md`, W2).
    let mut v = zeroed_elements::<T>(n)?;
    let out = as_bytes_mut(&mut v);
    debug_assert_eq!(out.len(), nbytes);
    fill(out).map_err(|e| Error::corrupt(what(key), e))?;
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

/// A Blosc2 frame's header length and where its offsets chunk starts: the header length plus
/// the compressed bytes of its chunks ([`ffi::frame_sizes`]). Everything from the offsets
/// chunk to the end (offsets and trailer) is what reading any chunk needs besides the chunk
/// itself.
pub fn frame_layout(frame: &[u8], key: &str) -> Result<(u64, u64)> {
    let (header_len, cbytes) = ffi::frame_sizes(frame)
        .ok_or_else(|| Error::corrupt(what(key), "Blosc2 frame header is cut short"))?;
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
        let arr = compress::<i16>(as_bytes(&data), &shape, &CodecOptions::default(), true).unwrap();
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

    /// The metadata of an array entry of `T` holding `n` elements.
    fn meta_of<T: Element>(n: usize) -> EntryMeta {
        EntryMeta {
            raw_bytes: (n * std::mem::size_of::<T>()) as u64,
            info: serde_json::json!({"dtype": T::NAME}),
            ..EntryMeta::bare("k", DataType::Ndarray)
        }
    }

    #[test]
    fn arrays_stored_as_is_lie_aligned_in_one_chunk() {
        let opts = CodecOptions::default();
        let random = noise(1 << 20);
        for shape in [vec![1i64 << 20], vec![1024, 1024], vec![16, 256, 256]] {
            let arr = compress::<f64>(as_bytes(&random), &shape, &opts, true).unwrap();
            let frame = arr.into_frame().unwrap().to_vec();
            let (dims, data) = stored_as_is::<f64>(&frame, &meta_of::<f64>(1 << 20))
                .unwrap()
                .unwrap();
            assert_eq!(data.start % ffi::DATA_ALIGN, 0, "{shape:?}");
            assert_eq!(&frame[data], as_bytes(&random), "{shape:?}");
            assert_eq!(dims.iter().product::<usize>(), 1 << 20);
        }
    }

    #[test]
    fn elements_copied_out_become_the_array_only_once_checked() {
        let random = noise(1 << 20);
        let arr = compress::<f64>(
            as_bytes(&random),
            &[1024, 1024],
            &CodecOptions::default(),
            true,
        )
        .unwrap();
        let frame = arr.into_frame().unwrap().to_vec();
        let span = chunk_data_span(&frame).unwrap();
        let mut own = frame.clone();
        own[span.clone()].fill(0);
        let checked = |span: std::ops::Range<usize>| super::super::CheckedFrame {
            frame: bytes::Bytes::from(own.clone()),
            meta: meta_of::<f64>(1 << 20),
            span,
        };
        let copy = |out: &mut [u8]| out.copy_from_slice(&frame[span.clone()]);
        let got = ndarray::Array2::<f64>::from_copied_elements(span.len(), &mut |out| {
            copy(out);
            Some(checked(span.clone()))
        })
        .unwrap()
        .unwrap();
        assert!(
            got.iter()
                .zip(&random)
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
        // A failed check, or elements elsewhere than copied: no array (the ordinary get).
        let none = ndarray::Array2::<f64>::from_copied_elements(span.len(), &mut |out| {
            copy(out);
            None
        });
        assert!(none.unwrap().is_none());
        let moved = ndarray::Array2::<f64>::from_copied_elements(span.len(), &mut |out| {
            copy(out);
            Some(checked(span.start + 8..span.end + 8))
        });
        assert!(moved.unwrap().is_none());
        // Another element type or number of dimensions: the errors of a get.
        let err = ndarray::Array2::<i64>::from_copied_elements(span.len(), &mut |out| {
            out.copy_from_slice(&frame[span.clone()]);
            Some(checked(span.clone()))
        });
        assert!(matches!(err, Err(Error::WrongType { .. })));
        let err = ndarray::Array1::<f64>::from_copied_elements(span.len(), &mut |out| {
            copy(out);
            Some(checked(span.clone()))
        });
        assert!(matches!(err, Err(Error::WrongType { .. })));
        // Bools are left to the ordinary get, which checks every value.
        let bools = ndarray::Array1::<bool>::from_copied_elements(8, &mut |_| None).unwrap();
        assert!(bools.is_none());
    }

    #[test]
    fn one_chunk_blocks_divide_the_rows() {
        // 1 Mi float64 rows: 32 Ki rows (256 KiB) per block.
        assert_eq!(
            one_chunk(&[1 << 20], 8),
            Some((vec![1 << 20], vec![32 << 10]))
        );
        // A prime count of rows: no divisor makes a block of 16 KiB or more, so one block.
        assert_eq!(
            one_chunk(&[1_048_573], 8),
            Some((vec![1_048_573], vec![1_048_573]))
        );
        // 1000 rows of 1100: 25 rows (215 KiB), the largest divisor under 256 KiB.
        assert_eq!(
            one_chunk(&[1000, 1100], 8),
            Some((vec![1000, 1100], vec![25, 1100]))
        );
        // Rows wider than a block: one row each.
        assert_eq!(
            one_chunk(&[4, 700_001], 4),
            Some((vec![4, 700_001], vec![1, 700_001]))
        );
        // Nothing to lay out, or too much for a chunk.
        assert_eq!(one_chunk(&[], 8), None);
        assert_eq!(one_chunk(&[0, 5], 8), None);
        assert_eq!(one_chunk(&[1 << 28], 8), None);
    }

    #[test]
    fn a_bool_array_stored_as_is_must_hold_only_zeros_and_ones() {
        let opts = CodecOptions {
            blosc2_level: 0,
            ..CodecOptions::default()
        };
        let mut data = vec![1u8, 0, 1, 1, 0, 0, 1, 0];
        for (byte, valid) in [(1u8, true), (2, false)] {
            data[5] = byte;
            let arr = compress::<bool>(&data, &[8], &opts, true).unwrap();
            let frame = bytes::Bytes::from(arr.into_frame().unwrap().to_vec());
            let got = MappedArray::<bool>::from_payload(frame, &meta_of::<bool>(8));
            assert_eq!(got.is_ok(), valid, "byte {byte}");
            if let Ok(got) = got {
                assert!(got.is_zero_copy());
                assert_eq!(got.view()[5], byte == 1);
            }
        }
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
