//! Resource usage of this process.

/// CPU time this process has used so far, user and system together, in microseconds (0 if
/// `getrusage` fails, which it cannot for `RUSAGE_SELF`).
pub(crate) fn cpu_time_us() -> u64 {
    // SAFETY: `rusage` is plain data, for which all zeros is a valid value.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage(2) fills the struct we pass and keeps no pointer to it.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let us = |t: libc::timeval| {
        u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000 + u64::try_from(t.tv_usec).unwrap_or(0)
    };
    us(u.ru_utime) + us(u.ru_stime)
}
