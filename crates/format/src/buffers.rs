//! Buffers for large payloads: allocations the kernel is asked to back with transparent huge
//! pages, so that filling them (a file read, a decoder's output) is not bounded by a fault per
//! 4 KiB page. numpy does the same for its large arrays; this is why it copies 80 MB at
//! 10 GB/s where a freshly allocated `Vec` fills at 2–3 GB/s on the project's machine.

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
}
