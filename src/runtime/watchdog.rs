//! The watchdog: a forked process that holds the read end of a pipe from flow and
//! SIGKILLs every process group flow registered once that pipe closes — when flow exits,
//! normally or by SIGKILL. This reaches descendants that `PR_SET_PDEATHSIG` cannot.

use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::Mutex;

/// Slots for registered groups; older ones are overwritten (they are long reaped).
const SLOTS: usize = 1 << 16;

/// Flow's side of the watchdog: a pipe to it.
pub(crate) struct Watchdog {
    tx: Mutex<Option<std::fs::File>>,
}

impl Watchdog {
    /// Fork the watchdog. `None` if the system refuses (flow then runs without it).
    pub(crate) fn start() -> Option<Watchdog> {
        let mut fds = [0i32; 2];
        // SAFETY: pipe2 writes two fds into the array.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return None;
        }
        // Allocated before fork: the child must not allocate.
        let mut groups: Vec<i32> = vec![0; SLOTS];
        // SAFETY: after fork the child only makes async-signal-safe system calls.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            // SAFETY: closing fds we own.
            unsafe {
                libc::close(fds[0]);
                libc::close(fds[1]);
            }
            return None;
        }
        if pid == 0 {
            // SAFETY: child process; see `watch`.
            unsafe { watch(fds[0], &mut groups) }
        }
        // SAFETY: the read end belongs to the child now; fds[1] is ours.
        unsafe { libc::close(fds[0]) };
        drop(groups);
        // SAFETY: fds[1] is an open fd we own.
        let tx = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fds[1]) });
        Some(Watchdog {
            tx: Mutex::new(Some(tx)),
        })
    }

    /// Tell the watchdog about a process group to kill if flow dies.
    pub(crate) fn register(&self, pgid: i32) {
        let mut g = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = g.as_mut() {
            let _ = f.write_all(&pgid.to_ne_bytes());
        }
    }
}

/// The watchdog's whole life. Never returns.
unsafe fn watch(rfd: i32, groups: &mut [i32]) -> ! {
    // Out of the terminal's foreground group: a Ctrl-C is for flow, not for us.
    libc::setpgid(0, 0);
    libc::signal(libc::SIGINT, libc::SIG_IGN);
    libc::signal(libc::SIGTERM, libc::SIG_IGN);
    libc::signal(libc::SIGHUP, libc::SIG_IGN);
    libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    // Hold nothing of flow's open: no pipe of a pipeline may stay open because of us.
    libc::dup2(rfd, 0);
    if libc::syscall(libc::SYS_close_range, 1u32, u32::MAX, 0u32) != 0 {
        for fd in 1..4096 {
            libc::close(fd);
        }
    }
    let mut n = 0usize;
    let mut buf = [0u8; 4];
    let mut have = 0usize;
    loop {
        let r = libc::read(0, buf.as_mut_ptr().add(have).cast(), 4 - have);
        if r > 0 {
            #[allow(clippy::cast_sign_loss)]
            {
                have += r as usize;
            }
            if have == 4 {
                groups[n % groups.len()] = i32::from_ne_bytes(buf);
                n += 1;
                have = 0;
            }
        } else if r == 0 || *libc::__errno_location() != libc::EINTR {
            break;
        }
    }
    for &g in groups.iter().take(n.min(groups.len())) {
        if g > 1 {
            libc::kill(-g, libc::SIGKILL);
        }
    }
    libc::_exit(0)
}
