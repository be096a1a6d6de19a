//! Processes: reaping without waiting, signalling a process or a whole group, becoming the
//! subreaper, and what flow asks about a program or a child (may it be executed, has it
//! ended: a pidfd and `poll`).

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// Reap the child `pid` if it has ended, without waiting: `Ok(true)` if it was reaped now,
/// `Ok(false)` if it still runs, the error otherwise (`ECHILD`: not flow's child, or already
/// reaped; `EINVAL` for a `pid` below 1, which would mean "any child"). Reaping takes the
/// status from anyone else who waits for the child: use it only on children nothing else
/// reaps.
pub(crate) fn waitpid_nohang(pid: i32) -> io::Result<bool> {
    if pid < 1 {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let mut status = 0;
    // SAFETY: waitpid(2) writes the status into the `c_int` we pass and keeps no pointer;
    // WNOHANG never blocks.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r == pid)
}

/// What the kernel counted for a reaped child (and the descendants it reaped): its peak
/// resident memory and its CPU time, user and system.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Usage {
    pub(crate) max_rss_kb: u64,
    pub(crate) cpu_us: u64,
}

impl Usage {
    /// `self` and `other` as one: CPU times added, the larger peak (processes that ran one
    /// after another, or side by side, each counted at its own peak).
    pub(crate) fn add(&mut self, other: Usage) {
        self.cpu_us = self.cpu_us.saturating_add(other.cpu_us);
        self.max_rss_kb = self.max_rss_kb.max(other.max_rss_kb);
    }
}

/// Where the usage of every process started under one runtime is added up: an `exec { … }`
/// job's commands, counted as the job's.
pub(crate) type UsageTally = std::sync::Arc<std::sync::Mutex<Usage>>;

/// Reap the child `pid` with its resource usage (`wait4`): blocking, or with `nohang`
/// `Ok(None)` while it runs. Retried on EINTR.
pub(crate) fn wait4(pid: i32, nohang: bool) -> io::Result<Option<(i32, Usage)>> {
    if pid < 1 {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    loop {
        let mut status = 0;
        // SAFETY: a zeroed rusage is a valid value of this plain C struct.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        let flags = if nohang { libc::WNOHANG } else { 0 };
        // SAFETY: wait4(2) writes the status and usage into the two locals and keeps no
        // pointer.
        let r = unsafe { libc::wait4(pid, &mut status, flags, &mut ru) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if r == 0 {
            return Ok(None);
        }
        let us = |t: libc::timeval| {
            u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000 + u64::try_from(t.tv_usec).unwrap_or(0)
        };
        let usage = Usage {
            max_rss_kb: u64::try_from(ru.ru_maxrss).unwrap_or(0),
            cpu_us: us(ru.ru_utime) + us(ru.ru_stime),
        };
        return Ok(Some((status, usage)));
    }
}

/// Send `sig` to every process of the group `pgid` (`kill(-pgid, sig)`); signal 0 only checks
/// that the group has a member. Never reaches further than that group: a `pgid` below 2,
/// which `kill` would take as flow's own group (0) or every process (1), is `EINVAL`.
pub(crate) fn kill_group(pgid: i32, sig: i32) -> io::Result<()> {
    if pgid < 2 {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: kill(2) takes two integers; no memory is involved.
    if unsafe { libc::kill(-pgid, sig) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Send `sig` to the one process `pid`. A `pid` below 1, which `kill` would take as a group
/// or every process, is `EINVAL`.
pub(crate) fn kill_pid(pid: i32, sig: i32) -> io::Result<()> {
    if pid < 1 {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: kill(2) takes two integers; no memory is involved.
    if unsafe { libc::kill(pid, sig) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Make this process the subreaper of its descendants (`PR_SET_CHILD_SUBREAPER`): an orphan
/// among them becomes its child instead of init's. Whether the kernel agreed.
pub(crate) fn set_child_subreaper() -> bool {
    // SAFETY: prctl(2) with integer arguments only; this option reads no memory.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 }
}

/// Whether this process may execute the file at `path` (`access(path, X_OK)`, with the real
/// ids as `execvp` checks them). False for a path with a NUL byte.
pub(crate) fn is_executable(path: &std::path::Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: access(2) reads the NUL-terminated path, which lives until it returns.
    unsafe { libc::access(c.as_ptr(), libc::X_OK) == 0 }
}

/// A pidfd for `pid` (Linux 5.3 and later): readable once the process has ended. `None`
/// where the kernel refuses or lacks it.
pub(crate) fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open(2) takes a pid and flags; it touches no memory of ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let fd = i32::try_from(fd).ok().filter(|fd| *fd >= 0)?;
    // SAFETY: `fd` was just returned by the kernel and nothing else owns it.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Wait until one of `fds` is ready or `timeout_ms` passes (-1: no timeout), as poll(2):
/// the `revents` are filled in, and the count of ready entries is returned. `EINTR` is
/// returned as the error it is (`ErrorKind::Interrupted`).
pub(crate) fn poll(fds: &mut [libc::pollfd], timeout_ms: i32) -> io::Result<usize> {
    let nfds = libc::nfds_t::try_from(fds.len()).unwrap_or(0);
    // SAFETY: `fds` is a valid, writable array of at least `nfds` pollfd structures for the
    // whole call; poll keeps no pointer to it.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), nfds, timeout_ms) };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}
