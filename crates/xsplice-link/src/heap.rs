//! Heap set-up for a large link (glibc on Linux; elsewhere nothing).
//!
//! A large link allocates tens of megabytes in small pieces and exits soon
//! after. With glibc's defaults the heap grows 128 KiB at a time, every new
//! 4 KiB page costs a fault, and each large vector lives in a mapping of its
//! own that is unmapped and faulted in again as the vector grows. For a
//! large link we let the heap grow in big steps, keep what is freed, and ask
//! for transparent huge pages on it (`madvise` mode is the common default),
//! which turns thousands of faults into a few. Only address space is
//! reserved up front: memory is still taken when first touched, so the peak
//! resident size grows by at most one huge page per region touched.

/// Prepares the heap for a link whose inputs total `input_bytes`.
pub(crate) fn prepare(input_bytes: u64) {
    if input_bytes >= 1 << 20 {
        imp::prepare();
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod imp {
    const MIB: usize = 1 << 20;
    const HUGE_PAGE: usize = 2 * MIB;

    pub(super) fn prepare() {
        // SAFETY: `mallopt`, `sbrk(0)`, `malloc`/`free` of a block we own and
        // `madvise` on the heap's own pages: none of them invalidates memory
        // that is in use; `madvise(MADV_HUGEPAGE)` only changes how future
        // faults in the range are served. Every call may fail harmlessly.
        unsafe {
            // Large blocks from the heap too (below glibc's 32 MiB maximum),
            // grown 64 MiB at a time and never given back before exit.
            libc::mallopt(libc::M_MMAP_THRESHOLD, (16 * MIB) as libc::c_int);
            libc::mallopt(libc::M_TOP_PAD, (64 * MIB) as libc::c_int);
            libc::mallopt(libc::M_TRIM_THRESHOLD, (1024 * MIB) as libc::c_int);
            // Grow the heap now, so that the advice can cover the new space.
            let start = libc::sbrk(0) as usize;
            // (`black_box`: the compiler would drop an unused malloc/free pair.)
            let block = std::hint::black_box(libc::malloc(MIB));
            if block.is_null() {
                return;
            }
            libc::free(block);
            let end = libc::sbrk(0) as usize;
            let from = start.next_multiple_of(HUGE_PAGE);
            if start as isize == -1 || end as isize == -1 || end <= from + HUGE_PAGE {
                return;
            }
            libc::madvise(from as *mut libc::c_void, end - from, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod imp {
    pub(super) fn prepare() {}
}
