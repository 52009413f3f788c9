//! Buffers for large payloads read whole: allocations the kernel is asked to back with
//! transparent huge pages, so that filling them is not bounded by a fault per 4 KiB page
//! (numpy asks the same for its large arrays). Only the kept read buffer is advised: a get's
//! output is fresh memory each time, and advised outputs made its gets bimodal on the
//! project's machine (fast, or 4–10× slower, run to run; `docs/PERFORMANCE.md`, W2).
//!
//! A large payload read whole goes into a buffer that is kept, when the last [`Bytes`] of it
//! is dropped, for the next large read ([`read_buffer`], [`into_bytes`]): on the project's
//! machine fresh memory costs as much as a copy (the kernel zeroes every page first), so the
//! second get of an 80 MB array reads into warm memory instead. One buffer is kept, of
//! [`SPARE_MIN`] to [`SPARE_MAX`] bytes; it holds no data a reader can see (a reused buffer
//! is emptied, and filled again by the read before anything looks at it).

use std::sync::Mutex;

use bytes::Bytes;

/// Read buffers of at least this many bytes are kept for the next read when dropped.
pub const SPARE_MIN: usize = 8 << 20;
/// Read buffers larger than this are freed when dropped, not kept.
pub const SPARE_MAX: usize = 256 << 20;

/// The one kept read buffer.
static SPARE: Mutex<Option<Vec<u8>>> = Mutex::new(None);

/// Ask the kernel to back a large output buffer, not yet touched, with transparent huge pages
/// (`madvise(MADV_HUGEPAGE)`, as numpy does for large arrays): the decoder's writes then fault
/// in 2 MiB pages rather than 4 KiB ones, which bounds a large get otherwise. Advice only: a
/// kernel without huge pages, or one that refuses, leaves the buffer as it was.
pub fn advise_huge_pages(ptr: *mut u8, len: usize) {
    const HUGE_PAGE: usize = 2 << 20;
    if len < HUGE_PAGE {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let start = (ptr as usize).next_multiple_of(PAGE);
        let end = (ptr as usize + len) / PAGE * PAGE;
        if end > start {
            // SAFETY: [start, end) lies inside the allocation of `len` bytes at `ptr`, is
            // page-aligned, and madvise only records advice for it.
            #[allow(unsafe_code)]
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
}

/// An empty byte vector with room for `len` bytes, advised huge pages when large: for reading
/// a payload file whole.
pub fn byte_buffer(len: usize) -> Vec<u8> {
    let mut buf = Vec::with_capacity(len);
    advise_huge_pages(buf.as_mut_ptr(), buf.capacity());
    buf
}

/// An empty buffer with room for `len` bytes, for reading a payload file whole: the kept
/// buffer if it is large enough and `len` is large enough to want it, else a new one
/// ([`byte_buffer`]). Hand the filled buffer on with [`into_bytes`], so it comes back.
pub fn read_buffer(len: usize) -> Vec<u8> {
    if len >= SPARE_MIN
        && let Ok(mut spare) = SPARE.lock()
        && let Some(mut buf) = spare.take_if(|b| b.capacity() >= len)
    {
        buf.clear();
        return buf;
    }
    byte_buffer(len)
}

/// A read buffer that goes back to [`SPARE`] when the last [`Bytes`] of it is dropped.
struct Spare(Vec<u8>);

impl AsRef<[u8]> for Spare {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Spare {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.0);
        if (SPARE_MIN..=SPARE_MAX).contains(&buf.capacity())
            && let Ok(mut spare) = SPARE.lock()
        {
            *spare = Some(buf);
        }
    }
}

/// The filled read buffer as [`Bytes`]; a large one returns to be reused when the last
/// `Bytes` of it (and every slice of it) is dropped.
pub fn into_bytes(buf: Vec<u8>) -> Bytes {
    match buf.capacity() >= SPARE_MIN {
        true => Bytes::from_owner(Spare(buf)),
        false => Bytes::from(buf),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_large_buffer_is_an_ordinary_vector() {
        for len in [0, 1, 4 << 20, (4 << 20) + 3] {
            let mut buf = super::byte_buffer(len);
            assert!(buf.is_empty() && buf.capacity() >= len);
            buf.resize(len, 7);
            assert!(buf.iter().all(|&b| b == 7));
        }
    }

    #[test]
    fn a_large_read_buffer_comes_back_empty_once_its_bytes_are_dropped() {
        let len = super::SPARE_MIN + 5;
        let mut buf = super::read_buffer(len);
        buf.resize(len, 9);
        let at = buf.as_ptr();
        let bytes = super::into_bytes(buf);
        let slice = bytes.slice(10..20);
        drop(bytes);
        // A slice still holds it: the next read gets another buffer.
        let other = super::read_buffer(len);
        assert_ne!(other.as_ptr(), at);
        drop(slice);
        // Now it is back, and the next large read gets it, emptied (no other test of this
        // binary reads through the spare).
        let again = super::read_buffer(len);
        assert_eq!(again.as_ptr(), at);
        assert!(again.is_empty() && again.capacity() >= len);
        // Small buffers are plain vectors.
        assert!(super::read_buffer(100).capacity() >= 100);
    }
}
