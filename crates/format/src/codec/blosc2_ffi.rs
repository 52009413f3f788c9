//! Minimal safe wrappers over C-Blosc2's b2nd API, built by `blosc2-src` with `cc` alone.
//!
//! `blosc2-src` binds the super-chunk API; the few `b2nd_*` functions it does not bind are
//! declared here. Only the first fields of `b2nd_array_t` are declared (`sc`, `shape`, ..., up to
//! `ndim`); the struct is only ever reached through pointers C allocated.

#![allow(unsafe_code)]

use std::ffi::{CString, c_char, c_int, c_void};
use std::sync::Once;

use blosc2_src as sys;

use crate::error::Invalid;

/// Blosc2's maximum number of dimensions.
pub const MAX_DIM: usize = 8;

#[repr(C)]
pub struct B2ndContext {
    _private: [u8; 0],
}

/// The leading fields of C's `b2nd_array_t` (layout checked against b2nd.h of C-Blosc2 2.15).
#[repr(C)]
pub struct B2ndArrayHead {
    pub sc: *mut sys::blosc2_schunk,
    pub shape: [i64; MAX_DIM],
    pub chunkshape: [i32; MAX_DIM],
    pub extshape: [i64; MAX_DIM],
    pub blockshape: [i32; MAX_DIM],
    pub extchunkshape: [i64; MAX_DIM],
    pub nitems: i64,
    pub chunknitems: i32,
    pub extnitems: i64,
    pub blocknitems: i32,
    pub extchunknitems: i64,
    pub ndim: i8,
}

unsafe extern "C" {
    fn b2nd_create_ctx(
        storage: *const sys::blosc2_storage,
        ndim: i8,
        shape: *const i64,
        chunkshape: *const i32,
        blockshape: *const i32,
        dtype: *const c_char,
        dtype_format: i8,
        metalayers: *const c_void,
        nmetalayers: i32,
    ) -> *mut B2ndContext;
    fn b2nd_free_ctx(ctx: *mut B2ndContext) -> c_int;
    fn b2nd_to_cbuffer(array: *const B2ndArrayHead, buffer: *mut c_void, buffersize: i64) -> c_int;
    fn b2nd_to_cframe(
        array: *const B2ndArrayHead,
        cframe: *mut *mut u8,
        cframe_len: *mut i64,
        needs_free: *mut bool,
    ) -> c_int;
    fn b2nd_from_cframe(
        cframe: *mut u8,
        cframe_len: i64,
        copy: bool,
        array: *mut *mut B2ndArrayHead,
    ) -> c_int;
    fn b2nd_free(array: *mut B2ndArrayHead) -> c_int;
    fn b2nd_empty(ctx: *mut B2ndContext, array: *mut *mut B2ndArrayHead) -> c_int;
    fn b2nd_set_slice_cbuffer(
        buffer: *const c_void,
        buffershape: *const i64,
        buffersize: i64,
        start: *const i64,
        stop: *const i64,
        array: *mut B2ndArrayHead,
    ) -> c_int;
    fn b2nd_get_slice_cbuffer(
        array: *const B2ndArrayHead,
        start: *const i64,
        stop: *const i64,
        buffer: *mut c_void,
        buffershape: *const i64,
        buffersize: i64,
    ) -> c_int;
}

static INIT: Once = Once::new();

fn init() {
    // SAFETY: blosc2_init is idempotent setup of global state, called once.
    INIT.call_once(|| unsafe { sys::blosc2_init() });
}

/// Compression settings for one array.
pub struct CompressParams {
    pub codec: u8,
    pub level: u8,
    pub typesize: i32,
    pub threads: i16,
    pub shuffle: bool,
}

fn cparams(p: &CompressParams) -> sys::blosc2_cparams {
    let mut filters = [0u8; 6];
    filters[5] = if p.shuffle {
        sys::BLOSC_SHUFFLE as u8
    } else {
        sys::BLOSC_NOSHUFFLE as u8
    };
    sys::blosc2_cparams {
        compcode: p.codec,
        compcode_meta: 0,
        clevel: p.level,
        use_dict: 0,
        typesize: p.typesize,
        nthreads: p.threads,
        blocksize: 0,
        splitmode: 4, // BLOSC_FORWARD_COMPAT_SPLIT, the library default
        schunk: std::ptr::null_mut(),
        filters,
        filters_meta: [0; 6],
        prefilter: None,
        preparams: std::ptr::null_mut(),
        tuner_params: std::ptr::null_mut(),
        tuner_id: 0,
        instr_codec: false,
        codec_params: std::ptr::null_mut(),
        filter_params: [std::ptr::null_mut(); 6],
    }
}

fn dparams(threads: i16) -> sys::blosc2_dparams {
    sys::blosc2_dparams {
        nthreads: threads,
        schunk: std::ptr::null_mut(),
        postfilter: None,
        postparams: std::ptr::null_mut(),
    }
}

/// The compressed size of `sample` with `params` (one Blosc2 chunk, one thread), to judge
/// whether data compresses before compressing all of it; `None` if Blosc2 failed.
pub fn compressed_len(sample: &[u8], params: &CompressParams) -> Option<usize> {
    let len = i32::try_from(sample.len()).ok()?;
    let mut out = vec![0u8; sample.len() + sys::BLOSC2_MAX_OVERHEAD as usize];
    let dest_len = i32::try_from(out.len()).ok()?;
    let mut cp = cparams(params);
    cp.nthreads = 1;
    // SAFETY: the context is created and freed here; `sample` and `out` are valid for their
    // lengths, and Blosc2 writes at most `dest_len` bytes.
    unsafe {
        let ctx = sys::blosc2_create_cctx(cp);
        if ctx.is_null() {
            return None;
        }
        let n = sys::blosc2_compress_ctx(
            ctx,
            sample.as_ptr().cast(),
            len,
            out.as_mut_ptr().cast(),
            dest_len,
        );
        sys::blosc2_free_ctx(ctx);
        usize::try_from(n).ok().filter(|&n| n > 0)
    }
}

/// The shape of an array and how it is cut: chunks, and blocks within a chunk.
#[derive(Debug, Clone, Copy)]
pub struct Layout<'s> {
    /// Items per dimension.
    pub shape: &'s [i64],
    /// Items per dimension of a chunk.
    pub chunkshape: &'s [i32],
    /// Items per dimension of a block.
    pub blockshape: &'s [i32],
    /// Pad the frame's header (a [`PAD_META`] metalayer) so that the first chunk's data
    /// starts at a multiple of [`DATA_ALIGN`] bytes in the frame: an array stored as is in
    /// one chunk can then be used where it lies in a mapped file.
    pub align: bool,
}

/// The fixed metalayer that pads an aligned frame's header ([`Layout::align`]): a
/// MessagePack string of spaces, which python-blosc2 reads as any other metalayer.
pub const PAD_META: &str = "cacheness_pad";
/// Where the first chunk's data of an aligned frame starts: a multiple of this many bytes
/// (a cache line, and the alignment of every element type).
pub const DATA_ALIGN: usize = 64;
/// The length of the header of every chunk C-Blosc2 writes (its extended header).
pub const CHUNK_HEADER: usize = 32;

/// The sizes a contiguous frame's header states, as C-Blosc2's `frame.h` lays it out: the
/// header's length (a big-endian 32-bit field at byte 11) and the compressed bytes of its
/// chunks (a big-endian 64-bit field at byte 39), which end where the offsets chunk starts.
/// `None` if the frame is too short to hold them. Read in Rust, so a frame not yet checked can
/// be measured without C parsing it.
pub fn frame_sizes(frame: &[u8]) -> Option<(u64, u64)> {
    let field = |at: usize, n: usize| {
        let bytes = frame.get(at..at + n)?;
        Some(bytes.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    };
    Some((field(11, 4)?, field(39, 8)?))
}

/// A MessagePack string of spaces that is `len` bytes long in all (1 ≤ len ≤ 257).
fn msgpack_padding(len: usize) -> Vec<u8> {
    let mut out = match len {
        0 => return Vec::new(),
        1..=32 => vec![0xa0 | (len - 1) as u8],
        _ => vec![0xd9, (len - 2).min(255) as u8],
    };
    out.resize(len, b' ');
    out
}

/// The chunks of an array that are plain slabs of its C-ordered data ([`Array::slabs`]):
/// the first `count`, each `rows` rows of the first dimension and `bytes` long.
#[derive(Debug, Clone, Copy)]
struct Slabs {
    count: usize,
    rows: i64,
    bytes: usize,
}

impl Slabs {
    /// No chunk is a slab: everything goes through b2nd's general path.
    const NONE: Slabs = Slabs {
        count: 0,
        rows: 0,
        bytes: 0,
    };

    /// Rows of the first dimension the slab chunks hold.
    fn rows_covered(self) -> i64 {
        self.rows * self.count as i64
    }

    /// Bytes of the C-ordered data the slab chunks hold.
    fn bytes_covered(self) -> usize {
        self.bytes * self.count
    }
}

/// An array handle owned by Rust (freed on drop). When opened over a frame without copying,
/// it borrows the frame's bytes for `'a`.
pub struct Array<'a> {
    ptr: *mut B2ndArrayHead,
    _frame: std::marker::PhantomData<&'a [u8]>,
}

impl Drop for Array<'_> {
    fn drop(&mut self) {
        // SAFETY: ptr came from b2nd and is freed exactly once.
        unsafe {
            b2nd_free(self.ptr);
        }
    }
}

fn check(rc: c_int, what: &str) -> Result<(), Invalid> {
    if rc < 0 {
        Err(format!("{what} failed (Blosc2 error {rc})").into())
    } else {
        Ok(())
    }
}

impl<'a> Array<'a> {
    /// Compress a C-ordered buffer into a new in-memory array of `layout`.
    pub fn from_buffer(
        data: &[u8],
        layout: &Layout<'_>,
        dtype: &str,
        params: &CompressParams,
    ) -> Result<Array<'static>, Invalid> {
        Self::build(data, layout, dtype, params, true)
    }

    /// [`Array::from_buffer`]; `slabs`: whether whole slab chunks take the direct path
    /// ([`Array::fill`]; tests compare the two).
    fn build(
        data: &[u8],
        layout: &Layout<'_>,
        dtype: &str,
        params: &CompressParams,
        slabs: bool,
    ) -> Result<Array<'static>, Invalid> {
        let shape = layout.shape;
        init();
        if shape.len() > MAX_DIM {
            return Err(format!(
                "Blosc2 arrays have at most {MAX_DIM} dimensions, not {}",
                shape.len()
            )
            .into());
        }
        let dtype = CString::new(dtype).map_err(|e| Invalid(e.to_string()))?;
        let pad = match layout.align {
            false => 0,
            // The header grows by exactly the bytes the padding grows by (its content is
            // stored with a fixed-width length), so one empty probe tells how much it needs.
            true => {
                let probe = Self::empty(layout, &dtype, params, 1)?;
                let first_data = probe.header_len()? + CHUNK_HEADER;
                1 + (DATA_ALIGN - first_data % DATA_ALIGN) % DATA_ALIGN
            }
        };
        let array = Self::empty(layout, &dtype, params, pad)?;
        array.fill(data, slabs)?;
        Ok(array)
    }

    /// A new array of `layout` whose chunks are all still to be written, its header padded by
    /// a [`PAD_META`] metalayer of `pad` bytes (none if 0).
    fn empty(
        layout: &Layout<'_>,
        dtype: &CString,
        params: &CompressParams,
        pad: usize,
    ) -> Result<Array<'static>, Invalid> {
        let mut cp = cparams(params);
        let mut dp = dparams(params.threads);
        let storage = sys::blosc2_storage {
            contiguous: true,
            urlpath: std::ptr::null_mut(),
            cparams: &mut cp,
            dparams: &mut dp,
            io: std::ptr::null_mut(),
        };
        let name = CString::new(PAD_META).map_err(|e| Invalid(e.to_string()))?;
        let mut content = msgpack_padding(pad);
        let metalayer = sys::blosc2_metalayer {
            name: name.as_ptr().cast_mut(),
            content: content.as_mut_ptr(),
            content_len: content.len() as i32,
        };
        let shape = layout.shape;
        // SAFETY: all pointers are valid for the calls; b2nd keeps the metalayer's pointers
        // in the context until b2nd_empty has copied it into the frame, and both `name` and
        // `content` outlive that.
        unsafe {
            let ctx = b2nd_create_ctx(
                &storage,
                shape.len() as i8,
                shape.as_ptr(),
                layout.chunkshape.as_ptr(),
                layout.blockshape.as_ptr(),
                dtype.as_ptr(),
                0,
                (&raw const metalayer).cast(),
                i32::from(pad > 0),
            );
            if ctx.is_null() {
                return Err("b2nd_create_ctx failed".into());
            }
            let mut arr: *mut B2ndArrayHead = std::ptr::null_mut();
            let rc = b2nd_empty(ctx, &mut arr);
            b2nd_free_ctx(ctx);
            check(rc, "b2nd_empty")?;
            Ok(Array {
                ptr: arr,
                _frame: std::marker::PhantomData,
            })
        }
    }

    /// The length of the array's frame header ([`frame_sizes`]).
    fn header_len(&self) -> Result<usize, Invalid> {
        let mut ptr: *mut u8 = std::ptr::null_mut();
        let mut len: i64 = 0;
        let mut needs_free = false;
        // SAFETY: b2nd hands back the array's own frame or a buffer we free; both are valid
        // for `len` bytes, and are read only before the buffer is freed.
        unsafe {
            check(
                b2nd_to_cframe(self.ptr, &mut ptr, &mut len, &mut needs_free),
                "b2nd_to_cframe",
            )?;
            let header_len = match (ptr.is_null(), usize::try_from(len)) {
                (false, Ok(len)) => frame_sizes(std::slice::from_raw_parts(ptr, len)),
                _ => None,
            };
            if needs_free {
                libc::free(ptr.cast());
            }
            let (header_len, _) =
                header_len.ok_or_else(|| Invalid::from("the frame has no header"))?;
            usize::try_from(header_len).map_err(|e| Invalid(e.to_string()))
        }
    }

    /// The chunks that are plain slabs of the C-ordered data: if chunks and blocks cut only
    /// the first dimension (and a chunk holds whole blocks), chunk `k` holds rows
    /// `k * rows..(k + 1) * rows` in C order, so it can be compressed from, and decompressed
    /// into, the caller's buffer where it lies. [`Slabs::NONE`] when the layout is another.
    fn slabs(&self) -> Slabs {
        // SAFETY: the head is valid while self lives.
        let head = unsafe { &*self.ptr };
        let ndim = head.ndim.max(0) as usize;
        if ndim == 0 || ndim > MAX_DIM || head.sc.is_null() {
            return Slabs::NONE;
        }
        let (rows, block_rows) = (i64::from(head.chunkshape[0]), i64::from(head.blockshape[0]));
        let inner_whole = (1..ndim).all(|i| {
            i64::from(head.chunkshape[i]) == head.shape[i]
                && head.blockshape[i] == head.chunkshape[i]
        });
        if !inner_whole || rows <= 0 || block_rows <= 0 || rows % block_rows != 0 {
            return Slabs::NONE;
        }
        // SAFETY: sc is a valid super-chunk while the array lives.
        let typesize = i64::from(unsafe { (*head.sc).typesize });
        let row_items: i64 = head.shape[1..ndim].iter().product();
        let bytes = rows
            .checked_mul(row_items)
            .and_then(|n| n.checked_mul(typesize));
        match bytes.and_then(|b| usize::try_from(b).ok()) {
            Some(bytes) if bytes > 0 && i32::try_from(bytes).is_ok() => Slabs {
                count: usize::try_from(head.shape[0] / rows).unwrap_or(0),
                rows,
                bytes,
            },
            _ => Slabs::NONE,
        }
    }

    /// Where the part after the whole slab chunks starts: `covered` rows in, the first
    /// index of every other dimension.
    fn rest_start(&self, covered: i64) -> Vec<i64> {
        let mut start = vec![0i64; self.shape().len()];
        if let Some(first) = start.first_mut() {
            *first = covered;
        }
        start
    }

    /// Fill a new (empty) array from C-ordered `data`: whole slab chunks compressed straight
    /// from `data` (no copy into a chunk-shaped buffer first), the rest through b2nd's
    /// general slice path. On one thread the chunks come out as `b2nd_from_cbuffer` makes them.
    fn fill(&self, data: &[u8], slabs: bool) -> Result<(), Invalid> {
        let shape = self.shape();
        let slabs = match slabs {
            true => self.slabs(),
            false => Slabs::NONE,
        };
        // SAFETY: the head and its super-chunk are valid while self lives; every buffer
        // handed to C is valid for the length given with it.
        unsafe {
            let sc = (*self.ptr).sc;
            for k in 0..slabs.count {
                let src = data
                    .get(k * slabs.bytes..(k + 1) * slabs.bytes)
                    .ok_or_else(|| Invalid::from("the data is shorter than the array"))?;
                let cap = slabs.bytes + sys::BLOSC2_MAX_OVERHEAD as usize;
                let chunk = libc::malloc(cap).cast::<u8>();
                if chunk.is_null() {
                    return Err("out of memory for a Blosc2 chunk".into());
                }
                (*sc).current_nchunk = k as i64;
                let n = sys::blosc2_compress_ctx(
                    (*sc).cctx,
                    src.as_ptr().cast(),
                    slabs.bytes as i32,
                    chunk.cast(),
                    cap as i32,
                );
                if n <= 0 {
                    libc::free(chunk.cast());
                    return Err(format!("Blosc2 could not compress chunk {k} ({n})").into());
                }
                // copy = false: the super-chunk takes the buffer (as b2nd's own fast path).
                if sys::blosc2_schunk_update_chunk(sc, k as i64, chunk, false) < 0 {
                    return Err(format!("Blosc2 could not store chunk {k}").into());
                }
            }
            let covered = slabs.rows_covered();
            if shape.iter().product::<i64>() == 0 || shape.first().is_some_and(|&r| covered >= r) {
                return Ok(());
            }
            let rest = data
                .get(slabs.bytes_covered()..)
                .ok_or_else(|| Invalid::from("the data is shorter than the array"))?;
            let start = self.rest_start(covered);
            let rest_shape: Vec<i64> = shape.iter().zip(&start).map(|(n, s)| n - s).collect();
            let rc = b2nd_set_slice_cbuffer(
                rest.as_ptr().cast(),
                rest_shape.as_ptr(),
                rest.len() as i64,
                start.as_ptr(),
                shape.as_ptr(),
                self.ptr,
            );
            check(rc, "b2nd_set_slice_cbuffer")
        }
    }

    /// Open an array over a contiguous frame without copying it.
    pub fn from_frame(frame: &'a [u8], threads: i16) -> Result<Array<'a>, Invalid> {
        init();
        let mut arr: *mut B2ndArrayHead = std::ptr::null_mut();
        // SAFETY: with copy=false the frame must outlive the array; the lifetime 'a ensures it. C does
        // not write through the pointer when opening read-only data.
        let rc = unsafe {
            b2nd_from_cframe(
                frame.as_ptr().cast_mut(),
                frame.len() as i64,
                false,
                &mut arr,
            )
        };
        check(rc, "b2nd_from_cframe")?;
        let a = Array {
            ptr: arr,
            _frame: std::marker::PhantomData,
        };
        // SAFETY: sc is valid for a successfully opened array.
        unsafe {
            let sc = (*a.ptr).sc;
            if !sc.is_null() && !(*sc).dctx.is_null() {
                // Frames open with a single-threaded decompression context; use ours.
                let dctx = sys::blosc2_create_dctx(dparams(threads));
                if !dctx.is_null() {
                    sys::blosc2_free_ctx((*sc).dctx);
                    (*sc).dctx = dctx;
                }
            }
        }
        Ok(a)
    }

    /// The array's shape.
    pub fn shape(&self) -> Vec<i64> {
        // SAFETY: the head is valid while self lives.
        unsafe {
            let head = &*self.ptr;
            head.shape[..head.ndim.max(0) as usize].to_vec()
        }
    }

    /// The array's chunk shape.
    pub fn chunkshape(&self) -> Vec<i64> {
        self.per_dim(|head| &head.chunkshape)
    }

    /// The array's block shape.
    pub fn blockshape(&self) -> Vec<i64> {
        self.per_dim(|head| &head.blockshape)
    }

    /// The first `ndim` values of a per-dimension field of the head, widened.
    fn per_dim(&self, field: impl Fn(&B2ndArrayHead) -> &[i32; MAX_DIM]) -> Vec<i64> {
        // SAFETY: the head is valid while self lives.
        let head = unsafe { &*self.ptr };
        field(head)[..(head.ndim.max(0) as usize).min(MAX_DIM)]
            .iter()
            .map(|&c| i64::from(c))
            .collect()
    }

    /// Where each chunk starts, counted from the end of the frame's header (negative: a chunk
    /// of one repeated value, stored in the offset itself). Reads the frame's offsets chunk.
    pub fn chunk_offsets(&self) -> Result<Vec<i64>, Invalid> {
        // SAFETY: sc is valid for an opened array; C returns a malloc'd buffer of nchunks
        // offsets that we copy and free.
        unsafe {
            let sc = (*self.ptr).sc;
            if sc.is_null() {
                return Err("the array has no super-chunk".into());
            }
            let n = usize::try_from((*sc).nchunks).map_err(|e| Invalid(e.to_string()))?;
            let ptr = sys::blosc2_frame_get_offsets(sc);
            if ptr.is_null() {
                return Err("blosc2_frame_get_offsets failed".into());
            }
            let v = std::slice::from_raw_parts(ptr, n).to_vec();
            libc::free(ptr.cast());
            Ok(v)
        }
    }

    /// Decompress the part `start..stop` (per dimension, in bounds) into `out` (C order, the
    /// part's shape); only the chunks the part touches are read.
    pub fn slice_to_buffer(
        &self,
        start: &[i64],
        stop: &[i64],
        out: &mut [u8],
    ) -> Result<(), Invalid> {
        let ndim = self.shape().len();
        if start.len() != ndim || stop.len() != ndim {
            return Err(
                format!("a slice of a {ndim}-dimensional array needs {ndim} ranges").into(),
            );
        }
        let shape: Vec<i64> = start.iter().zip(stop).map(|(a, b)| b - a).collect();
        // SAFETY: start, stop and shape hold ndim values; out is writable for its length.
        let rc = unsafe {
            b2nd_get_slice_cbuffer(
                self.ptr,
                start.as_ptr(),
                stop.as_ptr(),
                out.as_mut_ptr().cast(),
                shape.as_ptr(),
                out.len() as i64,
            )
        };
        check(rc, "b2nd_get_slice_cbuffer")
    }

    /// Decompress the whole array into `out` (C order): whole slab chunks straight into
    /// their place in `out`, the rest through b2nd's general slice path.
    pub fn to_buffer(&self, out: &mut [u8]) -> Result<(), Invalid> {
        let slabs = self.slabs();
        if slabs.count == 0 {
            // SAFETY: out is a valid writable buffer of the given size.
            let rc =
                unsafe { b2nd_to_cbuffer(self.ptr, out.as_mut_ptr().cast(), out.len() as i64) };
            return check(rc, "b2nd_to_cbuffer");
        }
        for k in 0..slabs.count {
            let dest = out
                .get_mut(k * slabs.bytes..(k + 1) * slabs.bytes)
                .ok_or_else(|| Invalid::from("the output is smaller than the array"))?;
            // SAFETY: the super-chunk is valid while self lives; dest is writable for
            // slabs.bytes (which fits an i32), and Blosc2 writes no more than that.
            let n = unsafe {
                sys::blosc2_schunk_decompress_chunk(
                    (*self.ptr).sc,
                    k as i64,
                    dest.as_mut_ptr().cast(),
                    slabs.bytes as i32,
                )
            };
            if usize::try_from(n).ok() != Some(slabs.bytes) {
                return Err(format!(
                    "chunk {k} decompressed to {n} bytes, not the {} its shape holds",
                    slabs.bytes
                )
                .into());
            }
        }
        let shape = self.shape();
        let covered = slabs.rows_covered();
        if shape.first().is_some_and(|&r| covered >= r) {
            return Ok(());
        }
        let rest = out
            .get_mut(slabs.bytes_covered()..)
            .ok_or_else(|| Invalid::from("the output is smaller than the array"))?;
        self.slice_to_buffer(&self.rest_start(covered), &shape, rest)
    }

    /// Add a variable-length metalayer, stored uncompressed (so its bytes appear verbatim).
    pub fn add_vlmeta(&mut self, name: &str, content: &[u8]) -> Result<(), Invalid> {
        let name = CString::new(name).map_err(|e| Invalid(e.to_string()))?;
        let mut cp = cparams(&CompressParams {
            codec: sys::BLOSC_LZ4 as u8,
            level: 0,
            typesize: 1,
            threads: 1,
            shuffle: false,
        });
        let mut buf = content.to_vec();
        // SAFETY: sc is valid; content is copied by blosc2.
        let rc = unsafe {
            sys::blosc2_vlmeta_add(
                (*self.ptr).sc,
                name.as_ptr(),
                buf.as_mut_ptr(),
                buf.len() as i32,
                &mut cp,
            )
        };
        check(rc, "blosc2_vlmeta_add")
    }

    /// Read a variable-length metalayer.
    pub fn vlmeta(&self, name: &str) -> Result<Option<Vec<u8>>, Invalid> {
        let name = CString::new(name).map_err(|e| Invalid(e.to_string()))?;
        // SAFETY: sc is valid; blosc2 mallocs the content, which we copy and free.
        unsafe {
            let sc = (*self.ptr).sc;
            if sys::blosc2_vlmeta_exists(sc, name.as_ptr()) < 0 {
                return Ok(None);
            }
            let mut content: *mut u8 = std::ptr::null_mut();
            let mut len: i32 = 0;
            let rc = sys::blosc2_vlmeta_get(sc, name.as_ptr(), &mut content, &mut len);
            check(rc, "blosc2_vlmeta_get")?;
            if content.is_null() || len < 0 {
                return Err("blosc2_vlmeta_get returned no content".into());
            }
            let v = std::slice::from_raw_parts(content, len as usize).to_vec();
            libc::free(content.cast());
            Ok(Some(v))
        }
    }
}

impl Array<'static> {
    /// The array as a contiguous frame (the `.b2nd` file's bytes), without copying it where
    /// C-Blosc2 already holds it as one (an array made by [`Array::from_buffer`], whose
    /// super-chunk is a contiguous in-memory frame).
    pub fn into_frame(self) -> Result<Frame, Invalid> {
        let mut ptr: *mut u8 = std::ptr::null_mut();
        let mut len: i64 = 0;
        let mut needs_free = false;
        // SAFETY: b2nd hands back either the array's own frame buffer (needs_free false: it
        // lives as long as the array, which the Frame keeps) or a new buffer the caller frees
        // (the Frame frees it on drop).
        unsafe {
            let rc = b2nd_to_cframe(self.ptr, &mut ptr, &mut len, &mut needs_free);
            check(rc, "b2nd_to_cframe")?;
            let len = usize::try_from(len)
                .map_err(|_| Invalid::from("b2nd_to_cframe: negative length"))?;
            if ptr.is_null() {
                return Err("b2nd_to_cframe returned no frame".into());
            }
            Ok(Frame {
                ptr,
                len,
                free: needs_free,
                _array: self,
            })
        }
    }
}

/// The bytes of a frame serialized from an [`Array<'static>`], which it keeps (the bytes are
/// the array's own frame buffer) or which C allocated for it (freed on drop).
pub struct Frame {
    ptr: *mut u8,
    len: usize,
    free: bool,
    _array: Array<'static>,
}

// SAFETY: a Frame owns its array and buffer outright; C-Blosc2 keeps no thread-local or
// shared state for either, so they may be used and dropped on another thread.
unsafe impl Send for Frame {}

impl std::ops::Deref for Frame {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: ptr is valid for len bytes for as long as self (and its array) lives.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl std::ops::DerefMut for Frame {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as for Deref; the buffer is owned by this Frame alone.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        if self.free {
            // SAFETY: C allocated this buffer with malloc for us and nothing else frees it.
            unsafe { libc::free(self.ptr.cast()) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// LZ4 and shuffle at `level`, on one thread: with more, C-Blosc2 stores a chunk's blocks
    /// in the order its threads finish them, so the bytes of a frame vary from run to run
    /// (every order is valid, and reads back the same).
    fn params(level: u8) -> CompressParams {
        CompressParams {
            codec: sys::BLOSC_LZ4 as u8,
            level,
            typesize: 4,
            threads: 1,
            shuffle: true,
        }
    }

    /// Slab chunks compressed from the caller's buffer, and decompressed into it, give the
    /// frame and the values of b2nd's general path: one and several chunks, a partial last
    /// chunk, inner dimensions, layouts the direct path does not take, empty arrays.
    #[test]
    fn slab_chunks_match_the_general_path() {
        /// Shape, chunk shape, block shape, and the whole slab chunks the direct path takes.
        type Case = (&'static [i64], &'static [i32], &'static [i32], usize);
        let cases: [Case; 7] = [
            (&[1000], &[1000], &[250], 1),
            (&[1000], &[300], &[100], 3),
            (&[1000], &[250], &[250], 4),
            (&[50, 7, 3], &[16, 7, 3], &[4, 7, 3], 3),
            (&[50, 7, 3], &[16, 7, 3], &[5, 7, 3], 0),
            (&[20, 30], &[8, 10], &[4, 10], 0),
            (&[0, 4], &[1, 4], &[1, 4], 0),
        ];
        for (shape, chunks, blocks, slabs) in cases {
            let n: i64 = shape.iter().product();
            let values: Vec<u32> = (0..n as u32)
                .map(|i| i.wrapping_mul(2_654_435_761) >> (i % 7))
                .collect();
            let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            for (level, align) in [(0, false), (5, false), (0, true), (5, true)] {
                let layout = Layout {
                    shape,
                    chunkshape: chunks,
                    blockshape: blocks,
                    align,
                };
                let build = |slabs| {
                    Array::build(&data, &layout, "<u4", &params(level), slabs)
                        .and_then(Array::into_frame)
                        .map(|f| f.to_vec())
                        .unwrap_or_else(|e| panic!("{shape:?}: {e}"))
                };
                let (direct, general) = (build(true), build(false));
                let built = Array::build(&data, &layout, "<u4", &params(level), false);
                let taken = built.map(|a| a.slabs().count);
                assert_eq!(taken.ok(), Some(slabs), "{shape:?}");
                assert!(
                    direct == general,
                    "{shape:?} level {level}: the frames differ"
                );
                // On several threads the bytes vary, the values do not.
                let threaded = Array::build(
                    &data,
                    &layout,
                    "<u4",
                    &CompressParams {
                        threads: 2,
                        ..params(level)
                    },
                    true,
                )
                .and_then(Array::into_frame)
                .map(|f| f.to_vec())
                .unwrap_or_else(|e| panic!("{shape:?}: {e}"));
                for frame in [&direct, &threaded] {
                    let arr = Array::from_frame(frame, 2).unwrap();
                    let mut out = vec![0u8; data.len()];
                    arr.to_buffer(&mut out).unwrap();
                    assert!(out == data, "{shape:?} level {level}: the values differ");
                }
            }
        }
    }

    #[test]
    fn short_data_is_refused_not_read_past() {
        let data = vec![1u8; 4 * 999];
        let layout = Layout {
            shape: &[1000],
            chunkshape: &[300],
            blockshape: &[100],
            align: false,
        };
        let err = Array::from_buffer(&data, &layout, "<u4", &params(5));
        assert!(err.is_err());
    }
}

#[cfg(all(test, any(target_arch = "x86_64", target_arch = "x86")))]
mod simd {
    unsafe extern "C" {
        /// True in c-blosc2's `shuffle-avx2.c` when it was compiled with AVX2 (else it holds
        /// stubs, and its dispatcher never picks AVX2).
        static is_shuffle_avx2: bool;
        /// The same for `bitshuffle-avx2.c`.
        static is_bshuf_AVX: bool;
    }

    /// The build compiles c-blosc2's AVX2 shuffles in (vendor/blosc2-src/build.rs), for
    /// c-blosc2 to choose at run time where the CPU has AVX2. The published blosc2-src build
    /// never did.
    #[test]
    fn avx2_shuffles_are_compiled_in() {
        // SAFETY: plain constants defined by the C library this crate links.
        let (shuffle, bitshuffle) = unsafe { (is_shuffle_avx2, is_bshuf_AVX) };
        assert!(
            shuffle && bitshuffle,
            "shuffle {shuffle}, bitshuffle {bitshuffle}"
        );
    }
}
