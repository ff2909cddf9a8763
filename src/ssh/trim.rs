//! Gives back the memory of an idle session that holds nothing.
//!
//! libssh2 allocates each session as one ~81 KB object and zeroes it whole; most of it is
//! two 35,000-byte packet buffers of which a session on a quiet link uses the first few
//! kilobytes. The zeroed pages stay resident, so the pages of kept sessions were most of
//! a 2,000-host run's memory and capped how many sessions could wait between steps
//! (every one closed is one more handshake later). A page of the object that holds only
//! zeros can be handed back with `MADV_DONTNEED`: private anonymous memory reads back as
//! zeros after that, so the object's contents do not change, and the page is faulted in
//! again (zeroed) only if libssh2 writes there. The same release right after the object
//! is made, before the handshake, keeps a session at work to the ~6 pages it writes
//! instead of all ~20, which is what `--forks` sessions at work at once cost.

use std::ffi::c_void;

/// The page size, from sysconf (4 KiB when it cannot be read).
fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).ok().filter(|&n| n > 0).unwrap_or(4096)
}

/// Releases every page lying wholly inside the heap block at `block` that holds only
/// zeros; returns how many bytes were released.
///
/// # Safety
/// `block` must be a live pointer returned by the C allocator (`malloc`), and nothing
/// may read or write the block while this runs.
unsafe fn release_zero_pages(block: *mut c_void) -> usize {
    if block.is_null() {
        return 0;
    }
    // SAFETY: the caller passes a live malloc'd block; its usable size is ours to read.
    let size = unsafe { libc::malloc_usable_size(block) };
    let page = page_size();
    let start = (block as usize).next_multiple_of(page);
    let end = (block as usize + size) / page * page;
    let mut released = 0;
    let mut run: Option<usize> = None;
    let mut flush = |from: usize, to: usize| {
        // SAFETY: [from, to) is whole pages inside the block, which only its owner
        // uses; they hold zeros, which is what they read as after MADV_DONTNEED.
        if unsafe { libc::madvise(from as *mut c_void, to - from, libc::MADV_DONTNEED) } == 0 {
            released += to - from;
        }
    };
    let mut p = start;
    while p < end {
        // SAFETY: in bounds of the block (see above); bytes have no invalid values.
        let bytes = unsafe { std::slice::from_raw_parts(p as *const u8, page) };
        let zero = is_zero(bytes);
        match (zero, run) {
            (true, None) => run = Some(p),
            (false, Some(from)) => {
                flush(from, p);
                run = None;
            }
            _ => {}
        }
        p += page;
    }
    if let Some(from) = run {
        flush(from, end);
    }
    released
}

/// Runs `f` on the start of `ssh`'s libssh2 session object, with the session's lock
/// held so nothing else uses the object meanwhile.
fn with_object<R>(ssh: &ssh2::Session, f: impl FnOnce(*mut c_void) -> R) -> R {
    let mut raw = ssh.raw();
    f(std::ptr::from_mut(&mut *raw).cast::<c_void>())
}

/// Hands back the pages of `ssh`'s libssh2 session object that hold only zeros;
/// returns the bytes released.
pub(crate) fn release_session(ssh: &ssh2::Session) -> usize {
    // SAFETY: libssh2 allocates the session object as one malloc block (the tripwire
    // test below) and `with_object` holds its lock.
    with_object(ssh, |object| unsafe { release_zero_pages(object) })
}

/// How many bytes of `ssh`'s libssh2 session object are resident.
pub(crate) fn session_resident_bytes(ssh: &ssh2::Session) -> usize {
    // SAFETY: as in `release_session`.
    with_object(ssh, |object| unsafe { resident_bytes(object) })
}

/// Whether `page` holds only zeros. An OR over whole words, without an early exit, so
/// the compiler makes it a vector loop: a byte-by-byte test cost ~4 instructions a
/// byte, 11% of regauth's instructions on a run (callgrind, 80 nodes).
fn is_zero(page: &[u8]) -> bool {
    let words = page.chunks_exact(16);
    let rest = words.remainder().iter().fold(0, |a, &b| a | b);
    let or = words.fold(0u128, |a, w| {
        a | u128::from_ne_bytes(w.try_into().expect("16 bytes"))
    });
    or == 0 && rest == 0
}

/// How many bytes of the pages overlapping the heap block at `block` are resident.
///
/// # Safety
/// `block` must be a live pointer returned by the C allocator (`malloc`).
unsafe fn resident_bytes(block: *mut c_void) -> usize {
    if block.is_null() {
        return 0;
    }
    // SAFETY: as in `release_zero_pages`.
    let size = unsafe { libc::malloc_usable_size(block) };
    let page = page_size();
    let start = block as usize / page * page;
    let end = (block as usize + size).next_multiple_of(page);
    let mut pages = vec![0u8; (end - start) / page];
    // SAFETY: [start, end) is mapped (it holds the block); `pages` has one byte a page.
    if unsafe { libc::mincore(start as *mut c_void, end - start, pages.as_mut_ptr()) } != 0 {
        return size;
    }
    pages.iter().filter(|&&p| p & 1 == 1).count() * page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libssh2_allocates_its_session_object_with_malloc() {
        // What `Session::release_idle_memory` relies on: ssh2 creates the session with
        // libssh2's default allocator, so the object is one malloc block of libssh2's
        // `sizeof(LIBSSH2_SESSION)` (82,968 usable bytes with the 1.11 libssh2-sys
        // builds). A custom allocator or a reshaped object fails this (or crashes it)
        // before it can mislead the release.
        let session = ssh2::Session::new().unwrap();
        // SAFETY: the block libssh2 allocated for the session (see above).
        let size = with_object(&session, |object| unsafe {
            libc::malloc_usable_size(object)
        });
        assert!((60_000..100_000).contains(&size), "{size}");
    }

    fn resident_kb() -> usize {
        let s = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = s.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[test]
    fn a_page_is_zero_only_if_every_byte_is() {
        let mut page = vec![0u8; 4096 + 5];
        assert!(is_zero(&page));
        for i in [0, 15, 16, 2047, 4095, 4096, 4100] {
            page[i] = 1;
            assert!(!is_zero(&page), "byte {i}");
            page[i] = 0;
        }
    }

    #[test]
    fn zero_pages_are_released_and_contents_kept() {
        let n = 64;
        let size = 256 * 1024;
        let blocks: Vec<*mut u8> = (0..n)
            .map(|i| {
                // SAFETY: plain allocation, checked below.
                let b = unsafe { libc::malloc(size) } as *mut u8;
                assert!(!b.is_null());
                // SAFETY: within the block just allocated.
                unsafe {
                    std::ptr::write_bytes(b, 0, size);
                    // Marks at both ends and in the middle: their pages must stay.
                    *b = 1;
                    *b.add(size / 2) = i as u8 + 2;
                    *b.add(size - 1) = 3;
                }
                b
            })
            .collect();
        let before = resident_kb();
        let released: usize = blocks
            .iter()
            // SAFETY: live malloc'd blocks, used by nothing else meanwhile.
            .map(|&b| unsafe { release_zero_pages(b as *mut c_void) })
            .sum();
        let after = resident_kb();
        assert!(released >= n * (size - 4 * page_size()), "{released}");
        assert!(before - after >= released / 1024 / 2, "{before} -> {after}");
        for (i, &b) in blocks.iter().enumerate() {
            let read = || {
                // SAFETY: within the block, with no write alive meanwhile.
                unsafe { std::slice::from_raw_parts(b, size) }.to_vec()
            };
            let all = read();
            let marks = [(0, 1u8), (size / 2, i as u8 + 2), (size - 1, 3)];
            for (at, v) in marks {
                assert_eq!(all[at], v);
            }
            assert_eq!(all.iter().filter(|&&x| x != 0).count(), 3);
            // Written again after release: an ordinary page again.
            // SAFETY: within the block.
            unsafe { *b.add(size / 4) = 9 };
            assert_eq!(read()[size / 4], 9);
            // SAFETY: allocated above with malloc.
            unsafe { libc::free(b.cast()) };
        }
    }
}
