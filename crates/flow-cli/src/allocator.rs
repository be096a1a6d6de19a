//! The `flow` command's global allocator (part of the binary, not the library): mimalloc,
//! or the system's allocator when the process has a finite address-space limit, and a
//! clean `flow::run::resources` exit — not an abort — when memory is refused.
//!
//! Why two: mimalloc (v2) gives every thread a segment of its own, 32 MiB of address space
//! reserved (not used) per thread, and tries to reserve 1 GiB arenas. That is free without
//! a limit, but under `ulimit -v 600000` a `pool 4 map` (a dozen threads) ran out of
//! address space with a few MB in use. glibc's malloc, limited to two arenas, reserves
//! little per thread. The choice is made once, at the first allocation, before any other
//! thread exists, so every block is freed by the allocator that made it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU8, Ordering};

/// Undecided, mimalloc, or the system's allocator.
static MODE: AtomicU8 = AtomicU8::new(0);
const MIMALLOC: u8 = 1;
const SYSTEM: u8 = 2;

pub(crate) struct Allocator;

#[inline]
fn mode() -> u8 {
    match MODE.load(Ordering::Relaxed) {
        0 => decide(),
        m => m,
    }
}

#[cold]
fn decide() -> u8 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own; it does not allocate.
    let limited = unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut lim) } == 0
        && lim.rlim_cur != libc::RLIM_INFINITY;
    let m = if limited {
        // SAFETY: mallopt with integer arguments, before any thread exists.
        unsafe { libc::mallopt(libc::M_ARENA_MAX, 2) };
        SYSTEM
    } else {
        MIMALLOC
    };
    MODE.store(m, Ordering::Relaxed);
    m
}

/// Memory was refused: say so as flow's diagnostics do and exit 1 (the watchdog then stops
/// every child). Nothing here allocates: the message is built on the stack.
#[cold]
fn refused(size: usize) -> ! {
    let mut buf = [0u8; 512];
    let mut n = 0;
    let mut put = |b: &[u8]| {
        let k = b.len().min(buf.len() - n);
        buf[n..n + k].copy_from_slice(&b[..k]);
        n += k;
    };
    put(b"flow::run::resources\n\n  x out of memory: the system refused ");
    let mut digits = [0u8; 20];
    let mut d = 0;
    let mut v = size;
    loop {
        #[allow(clippy::cast_possible_truncation)]
        {
            digits[d] = b'0' + (v % 10) as u8;
        }
        d += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    digits[..d].reverse();
    put(&digits[..d]);
    put(
        b" bytes\n  help: the run needs more memory than the machine or its limit gives \
          (`ulimit -v`, a cgroup's memory.max): raise the limit, or hold less at once \
          (a smaller pool, no `collect`/`sort` of everything)\n",
    );
    // SAFETY: write(2) of a buffer we own, then _exit(2): both async-signal-safe.
    unsafe {
        libc::write(2, buf.as_ptr().cast(), n);
        libc::_exit(1)
    }
}

#[inline]
fn checked(p: *mut u8, layout: Layout) -> *mut u8 {
    if p.is_null() && layout.size() != 0 {
        refused(layout.size());
    }
    p
}

// SAFETY: every method forwards to one allocator, the same for the whole process (decided
// before the first block is made), and keeps its contract.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = if mode() == SYSTEM {
            System.alloc(layout)
        } else {
            mimalloc::MiMalloc.alloc(layout)
        };
        checked(p, layout)
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = if mode() == SYSTEM {
            System.alloc_zeroed(layout)
        } else {
            mimalloc::MiMalloc.alloc_zeroed(layout)
        };
        checked(p, layout)
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if mode() == SYSTEM {
            System.dealloc(ptr, layout);
        } else {
            mimalloc::MiMalloc.dealloc(ptr, layout);
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = if mode() == SYSTEM {
            System.realloc(ptr, layout, new_size)
        } else {
            mimalloc::MiMalloc.realloc(ptr, layout, new_size)
        };
        if p.is_null() && new_size != 0 {
            refused(new_size);
        }
        p
    }
}
