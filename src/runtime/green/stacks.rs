//! Task stacks: as big as the main thread's, reused, and an overflow reported as one.
//!
//! A task's stack is reserved at the main thread's default size (8 MiB), so a recursion that
//! Rhai's call limit lets through on the main statements also fits in a task; only the pages
//! a task touches cost memory. Stacks of ended tasks are kept for reuse, their deep pages
//! given back first.
//!
//! Rust's runtime reports an overflow of a thread's stack (its guard page) and aborts; a
//! coroutine's guard page is unknown to it, so an overflow in a task would end flow with a
//! bare `SIGSEGV`. A fault handler, installed before the first task runs, reports a fault in
//! the guard page of the task running on the faulting thread the same way, and hands any
//! other fault to the handler it replaced (Rust's).

use corosensei::stack::{DefaultStack, Stack};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// A task's stack: the main thread's default size, reserved, touched only as used.
pub(super) const STACK: usize = 8 << 20;
/// Stacks kept for reuse when tasks end.
const SPARE_STACKS: usize = 64;
/// What a kept stack keeps of the pages its task touched (the top, where the next task's
/// first frames go); the rest is given back.
const KEEP: usize = 64 << 10;

/// Stacks of ended tasks, for the next ones.
#[derive(Default)]
pub(super) struct Spare(Mutex<Vec<DefaultStack>>);

impl Spare {
    /// A stack for a new task, and the address of its guard page.
    pub(super) fn take(&self) -> std::io::Result<(DefaultStack, usize)> {
        let st = match self.0.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            Some(st) => st,
            None => DefaultStack::new(STACK)?,
        };
        let guard = st.limit().get();
        Ok((st, guard))
    }

    /// Keep an ended task's stack, if fewer than `SPARE_STACKS` are kept. Its pages below
    /// the top `KEEP` bytes are given back when its task went that deep: a kept stack has a
    /// mark just below `KEEP`, which a deeper task's frames overwrite.
    pub(super) fn give(&self, st: DefaultStack) {
        let mut spare = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if spare.len() >= SPARE_STACKS {
            return;
        }
        let low = st.limit().get() + page();
        let high = st.base().get().saturating_sub(KEEP);
        if high > low {
            let mark = (high - MARK.len() * 8) as *mut u64;
            // SAFETY: the mark's words are inside the stack's writable part, below the frames
            // kept, and no code runs on the stack now (its coroutine ended). Given-back pages
            // read as zeros when touched again.
            unsafe {
                let marked = (0..MARK.len()).all(|i| mark.add(i).read_volatile() == MARK[i]);
                if !marked {
                    libc::madvise(low as *mut libc::c_void, high - low, libc::MADV_DONTNEED);
                    for (i, m) in MARK.iter().enumerate() {
                        mark.add(i).write_volatile(*m);
                    }
                }
            }
        }
        spare.push(st);
    }
}

/// The mark left just below the part of a kept stack that stays touched.
const MARK: [u64; 4] = [
    0x666c_6f77_2d73_7461,
    0x636b_2d6d_6172_6b21,
    0x9e37_79b9_7f4a_7c15,
    0xc2b2_ae3d_27d4_eb4f,
];

fn page() -> usize {
    static PAGE: AtomicUsize = AtomicUsize::new(0);
    match PAGE.load(Ordering::Relaxed) {
        0 => {
            // SAFETY: sysconf has no preconditions.
            let p = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
                .unwrap_or(4096)
                .max(4096);
            PAGE.store(p, Ordering::Relaxed);
            p
        }
        p => p,
    }
}

thread_local! {
    /// The guard page of the task running on this thread (0: none). Read by the fault
    /// handler, so a plain `Cell` with a constant initialiser (no lazy set-up, no destructor).
    static GUARD: Cell<usize> = const { Cell::new(0) };
}

/// This thread now runs the task whose guard page is at `guard` (0: no task).
#[inline(never)]
pub(super) fn running(guard: usize) {
    GUARD.with(|g| g.set(guard));
}

/// The handlers replaced, for SIGSEGV and SIGBUS.
static PREVIOUS: OnceLock<[libc::sigaction; 2]> = OnceLock::new();

/// Install the fault handler, once per process.
pub(super) fn report_overflows() {
    PREVIOUS.get_or_init(|| {
        let _ = page();
        // SAFETY: sigaction with a zeroed struct filled as documented; the previous actions
        // are kept to be called for faults that are not a task's overflow.
        unsafe {
            let mut prev: [libc::sigaction; 2] = std::mem::zeroed();
            let mut act: libc::sigaction = std::mem::zeroed();
            let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                on_fault;
            act.sa_sigaction = handler as libc::sighandler_t;
            act.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut act.sa_mask);
            for (sig, p) in [libc::SIGSEGV, libc::SIGBUS]
                .into_iter()
                .zip(prev.iter_mut())
            {
                libc::sigaction(sig, &act, p);
            }
            prev
        }
    });
}

/// Size of a worker's signal stack: room for the fault handler (it only writes and aborts,
/// or calls the handler it replaced, Rust's, which needs a few KiB).
const SIGNAL_STACK: usize = 64 << 10;

/// A signal stack this thread made, taken down when the thread ends.
struct SignalStack(*mut libc::c_void);

impl Drop for SignalStack {
    fn drop(&mut self) {
        // SAFETY: the stack is first disabled (no signal can then be delivered on it), then
        // the mapping this thread made is unmapped.
        unsafe {
            let off = libc::stack_t {
                ss_sp: std::ptr::null_mut(),
                ss_flags: libc::SS_DISABLE,
                ss_size: SIGNAL_STACK,
            };
            libc::sigaltstack(&off, std::ptr::null_mut());
            libc::munmap(self.0, SIGNAL_STACK);
        }
    }
}

thread_local! {
    static SIGNAL_STACK_MADE: std::cell::RefCell<Option<SignalStack>> =
        const { std::cell::RefCell::new(None) };
}

/// Give this thread a signal stack if it has none: a task overflowing its stack faults with
/// that stack full, and the fault handler must run somewhere else. Rust's runtime gives each
/// thread one, but only when it set up its own overflow report at start-up, which the `flow`
/// binary skips (src/main.rs).
pub(super) fn ensure_signal_stack() {
    // SAFETY: sigaltstack(2) queries into a local, mmap(2) of fresh anonymous memory, and
    // sigaltstack(2) with a stack this thread owns until its thread-local guard drops.
    unsafe {
        let mut cur: libc::stack_t = std::mem::zeroed();
        if libc::sigaltstack(std::ptr::null(), &mut cur) != 0
            || cur.ss_flags & libc::SS_DISABLE == 0
        {
            return;
        }
        let p = libc::mmap(
            std::ptr::null_mut(),
            SIGNAL_STACK,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if p == libc::MAP_FAILED {
            return;
        }
        let st = libc::stack_t {
            ss_sp: p,
            ss_flags: 0,
            ss_size: SIGNAL_STACK,
        };
        if libc::sigaltstack(&st, std::ptr::null_mut()) != 0 {
            libc::munmap(p, SIGNAL_STACK);
            return;
        }
        SIGNAL_STACK_MADE.with(|s| *s.borrow_mut() = Some(SignalStack(p)));
    }
}

/// Take this thread's signal stack away (Rust's, which stays mapped), as the `flow` binary's
/// threads are without one: for the test that `ensure_signal_stack` then makes its own.
#[cfg(test)]
pub(super) fn disable_signal_stack() {
    let off = libc::stack_t {
        ss_sp: std::ptr::null_mut(),
        ss_flags: libc::SS_DISABLE,
        ss_size: 0,
    };
    // SAFETY: sigaltstack(2) with SS_DISABLE reads only `off`; the stack it unsets stays
    // mapped (its owner unmaps it at the thread's end).
    unsafe { libc::sigaltstack(&off, std::ptr::null_mut()) };
}

/// What is written when a task overflows its stack (then flow aborts, as Rust's runtime does
/// for a thread's overflow).
const MESSAGE: &[u8] =
    b"flow::run::stack_overflow\n\n  \xc3\x97 a task overflowed its stack (8 MiB): \
a recursion too deep?\n  help: recurse less deeply, or loop instead\n";

extern "C" fn on_fault(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers; `si_addr` is the
    // faulting address for SIGSEGV and SIGBUS.
    let addr = unsafe { (*info).si_addr() } as usize;
    let guard = GUARD.with(Cell::get);
    if guard != 0 && addr >= guard && addr < guard + page() {
        // SAFETY: write(2) and abort(3) are async-signal-safe.
        unsafe {
            libc::write(2, MESSAGE.as_ptr().cast(), MESSAGE.len());
            libc::abort();
        }
    }
    let Some(prev) = PREVIOUS.get() else {
        return;
    };
    let prev = &prev[usize::from(sig == libc::SIGBUS)];
    match prev.sa_sigaction {
        libc::SIG_DFL | libc::SIG_IGN => {
            // Not ours and nobody else's: the default action, when the fault recurs on return.
            // SAFETY: resetting a signal's action is async-signal-safe.
            unsafe {
                let mut dfl: libc::sigaction = std::mem::zeroed();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(sig, &dfl, std::ptr::null_mut());
            }
        }
        h if prev.sa_flags & libc::SA_SIGINFO != 0 => {
            // SAFETY: the previous handler was installed with SA_SIGINFO, so it has this type.
            let h: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                unsafe { std::mem::transmute(h) };
            h(sig, info, ctx);
        }
        h => {
            // SAFETY: without SA_SIGINFO a handler takes the signal number only.
            let h: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(h) };
            h(sig);
        }
    }
}
