//! The watchdog: a forked process that holds the read end of a pipe from flow and, once that
//! pipe closes (flow exited, normally or by SIGKILL), kills what flow still owns: the process
//! groups and adopted processes flow registered and has not yet forgotten, and every process
//! descended from them (a `setsid` escapee whose parent is still in a group is found through
//! `/proc`). This reaches descendants that `PR_SET_PDEATHSIG` cannot.
//!
//! Invariant: flow forgets a group here as soon as the group is empty (see
//! `runtime/children.rs`), so a recycled process-group number never makes the watchdog kill a
//! stranger.
//!
//! It lives in `os/` whole: after the fork the child may only make async-signal-safe calls
//! and touch memory allocated before the fork (flow's other threads may hold the allocator's
//! locks), a rule no type can state. So everything the child runs is here and in
//! `os/proctable.rs` (`parse_stat`), and none of it allocates.

use super::proctable::{parse_stat, Entry};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::sync::Mutex;

/// Slots of the watchdog's set of live entries (open addressing; at most half used).
const SLOTS: usize = 1 << 17;
/// Processes the death-time walk of `/proc` can hold.
const TABLE: usize = 1 << 16;
/// The watchdog's pause after each batch of messages (see `watch`), in nanoseconds.
const BATCH_PAUSE_NS: libc::c_long = 5_000_000;

/// What a message asks.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub(crate) enum Op {
    AddGroup = 1,
    DelGroup = 2,
    AddPid = 3,
    DelPid = 4,
    /// A pool stage `on slurm` was started: its jobs are named `flow-<flow's pid>-<id>`.
    SlurmStage = 5,
}

/// The watchdog's process name (`comm`): without "flow" in it, so that `pkill flow` takes
/// flow down but not the watchdog that cleans up after it.
const NAME: &std::ffi::CStr = c"fl-watchdog";

/// A message: the op and the id, as one 8-byte write (below `PIPE_BUF`: atomic).
fn message(op: Op, id: i32) -> [u8; 8] {
    let mut msg = [0u8; 8];
    msg[..4].copy_from_slice(&(op as i32).to_ne_bytes());
    msg[4..].copy_from_slice(&id.to_ne_bytes());
    msg
}

/// The environment variable every process flow starts carries, with flow's pid: what the
/// watchdog recognises a job by when flow died before telling it (see `kill_all`).
pub(crate) const MARK: &str = "FLOW_PID";

/// Flow's side of the watchdog: a pipe to it.
pub(crate) struct Watchdog {
    tx: Mutex<Option<std::io::PipeWriter>>,
    pub(crate) pid: i32,
}

impl Watchdog {
    /// Fork the watchdog. `None` if the system refuses (flow then runs without it).
    pub(crate) fn start() -> Option<Watchdog> {
        // Both ends close on exec: no program flow starts holds them.
        let (rx, tx) = std::io::pipe().ok()?;
        // Allocated before fork: the child must not allocate.
        let flow = i32::try_from(std::process::id()).unwrap_or(0);
        let args = arg_area();
        // What marks flow's processes in their environment, and when flow started: a
        // process that started before flow cannot be its descendant.
        let mark = Mark::new(flow);
        let mut set: Vec<i64> = vec![0; SLOTS];
        let mut table: Vec<Entry> = vec![Entry::default(); TABLE];
        let mut marks: Vec<bool> = vec![false; TABLE];
        // SAFETY: after fork the child only makes async-signal-safe system calls and touches
        // memory allocated before the fork.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            // Both ends of the pipe are closed as they are dropped.
            return None;
        }
        if pid == 0 {
            // SAFETY: child process; see `watch`. It never returns, so nothing of the parent's
            // (the pipe's ends among them) is dropped here.
            unsafe {
                rename(args);
                watch(
                    rx.as_raw_fd(),
                    flow,
                    &mark,
                    &mut set,
                    &mut table,
                    &mut marks,
                )
            }
        }
        // The read end belongs to the child now.
        drop(rx);
        drop((set, table, marks));
        Some(Watchdog {
            tx: Mutex::new(Some(tx)),
            pid,
        })
    }

    /// Tell the watchdog to start or stop caring about a group or a process.
    pub(crate) fn send(&self, op: Op, id: i32) {
        let msg = message(op, id);
        let mut g = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = g.as_mut() {
            // 8 bytes are below PIPE_BUF: one atomic write. It fails only when the watchdog
            // is dead, and then flow starts another and tells it everything it owns.
            let _ = f.write_all(&msg);
        }
    }
}

/// Where the kernel keeps this process's command line (`arg_start`, `arg_end` of
/// `/proc/self/stat`), read before the fork.
fn arg_area() -> Option<(usize, usize)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    // Field 3 (state) is the first after the name; arg_start and arg_end are 48 and 49.
    let mut f = rest.split_whitespace().skip(45);
    let start: usize = f.next()?.parse().ok()?;
    let end: usize = f.next()?.parse().ok()?;
    (start != 0 && end > start).then_some((start, end))
}

/// Name the watchdog `fl-watchdog`, its `comm` and its command line alike, so that neither
/// `pkill flow` nor `pkill -f script.flow` takes it down with flow. The command line is the
/// child's own copy of flow's (after the fork), overwritten in place.
///
/// # Safety
/// Only in the watchdog's child, after the fork: `args` must be this process's argument area
/// (from [`arg_area`]), which nothing else in the child reads.
unsafe fn rename(args: Option<(usize, usize)>) {
    libc::prctl(libc::PR_SET_NAME, NAME.as_ptr());
    if let Some((start, end)) = args {
        let p = start as *mut u8;
        std::ptr::write_bytes(p, 0, end - start);
        let name = NAME.to_bytes();
        std::ptr::copy_nonoverlapping(name.as_ptr(), p, name.len().min(end - start - 1));
    }
}

/// Key of an entry in the set: kind in the high half, id in the low half; 0 is "empty".
fn key(group: bool, id: i32) -> i64 {
    (i64::from(group) + 1) << 32 | i64::from(id as u32)
}

fn slot(k: i64, len: usize) -> usize {
    #[allow(clippy::cast_sign_loss, clippy::cast_possible_truncation)]
    let h = (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20;
    #[allow(clippy::cast_possible_truncation)]
    let i = h as usize;
    i % len
}

fn contains(set: &[i64], k: i64) -> bool {
    let mut i = slot(k, set.len());
    loop {
        match set[i] {
            0 => return false,
            v if v == k => return true,
            _ => i = (i + 1) % set.len(),
        }
    }
}

fn insert(set: &mut [i64], used: &mut usize, k: i64) {
    if contains(set, k) || *used >= set.len() / 2 {
        return;
    }
    let mut i = slot(k, set.len());
    while set[i] != 0 {
        i = (i + 1) % set.len();
    }
    set[i] = k;
    *used += 1;
}

/// Linear probing deletion by backward shift (no tombstones, so a long run never fills up).
fn remove(set: &mut [i64], used: &mut usize, k: i64) {
    let n = set.len();
    let mut i = slot(k, n);
    loop {
        match set[i] {
            0 => return,
            v if v == k => break,
            _ => i = (i + 1) % n,
        }
    }
    set[i] = 0;
    *used -= 1;
    let mut j = i;
    loop {
        j = (j + 1) % n;
        if set[j] == 0 {
            return;
        }
        let home = slot(set[j], n);
        // Move set[j] into the hole at i unless its home lies cyclically in (i, j].
        let stays = if i <= j {
            i < home && home <= j
        } else {
            i < home || home <= j
        };
        if !stays {
            set[i] = set[j];
            set[j] = 0;
            i = j;
        }
    }
}

/// The watchdog's whole life. Never returns.
///
/// # Safety
/// Only in the watchdog's child, after the fork (see the module's doc).
/// `rfd` is the read end of flow's pipe.
unsafe fn watch(
    rfd: i32,
    flow: i32,
    mark: &Mark,
    set: &mut [i64],
    table: &mut [Entry],
    marks: &mut [bool],
) -> ! {
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
    let mut used = 0usize;
    // The highest `on slurm` stage number flow started (its stages are numbered from 1).
    let mut slurm_stages = 0i32;
    // Messages are read many at a time, and after each batch the watchdog sleeps a little:
    // flow's writes then rarely have a sleeping reader to wake (a pool starting thousands of
    // jobs would otherwise wake this process twice per job). Flow's death is still seen
    // within `BATCH_PAUSE`: the pipe's end comes after the messages in it.
    let mut buf = [0u8; 4096];
    let mut have = 0usize;
    loop {
        let r = libc::read(0, buf.as_mut_ptr().add(have).cast(), buf.len() - have);
        if r > 0 {
            #[allow(clippy::cast_sign_loss)]
            {
                have += r as usize;
            }
            let whole = have - have % 8;
            for m in buf[..whole].chunks_exact(8) {
                let op = i32::from_ne_bytes([m[0], m[1], m[2], m[3]]);
                let id = i32::from_ne_bytes([m[4], m[5], m[6], m[7]]);
                if id <= 1 && op != Op::SlurmStage as i32 {
                    continue;
                }
                match op {
                    1 => insert(set, &mut used, key(true, id)),
                    2 => remove(set, &mut used, key(true, id)),
                    3 => insert(set, &mut used, key(false, id)),
                    4 => remove(set, &mut used, key(false, id)),
                    5 => slurm_stages = slurm_stages.max(id),
                    _ => {}
                }
            }
            buf.copy_within(whole..have, 0);
            have -= whole;
            let pause = libc::timespec {
                tv_sec: 0,
                tv_nsec: BATCH_PAUSE_NS,
            };
            libc::nanosleep(&pause, std::ptr::null_mut());
        } else if r == 0 || *libc::__errno_location() != libc::EINTR {
            break;
        }
    }
    // Slurm jobs run on other machines: only the scheduler can stop them.
    for n in 1..=slurm_stages {
        scancel_stage(flow, n);
    }
    kill_all(set, table, marks);
    // A job flow had no time to register (SIGKILLed between the job's exec and its message),
    // or a process that one forked during the walk: found by its `FLOW_PID`, twice over.
    for _ in 0..2 {
        let n = read_proc(table);
        for e in &table[..n] {
            if mark.on(e) {
                libc::kill(e.pid, libc::SIGKILL);
            }
        }
    }
    libc::_exit(0)
}

/// `FLOW_PID=<flow's pid>` in a process's environment, and flow's start time.
struct Mark {
    /// `\0FLOW_PID=<pid>\0`: an environment entry, whole.
    text: [u8; 40],
    len: usize,
    since: u64,
}

impl Mark {
    fn new(flow: i32) -> Mark {
        let mut text = [0u8; 40];
        let entry = format!("\0{MARK}={flow}\0");
        text[..entry.len()].copy_from_slice(entry.as_bytes());
        let since = std::fs::read("/proc/self/stat")
            .ok()
            .and_then(|s| parse_stat(&s))
            .map_or(u64::MAX, |e| e.start);
        Mark {
            text,
            len: entry.len(),
            since,
        }
    }

    /// Whether `e` is one of flow's: started since flow did and carries its mark. Reads
    /// `/proc/<pid>/environ` into a stack buffer (no allocation).
    ///
    /// # Safety
    /// Only in the watchdog's child, after the fork (see the module's doc).
    unsafe fn on(&self, e: &Entry) -> bool {
        if e.start < self.since || e.zombie {
            return false;
        }
        let mut path = [0u8; 32];
        let mut at = 0;
        for &b in b"/proc/" {
            path[at] = b;
            at += 1;
        }
        at = put_decimal(&mut path, at, e.pid);
        for &b in b"/environ" {
            path[at] = b;
            at += 1;
        }
        let fd = libc::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return false;
        }
        let needle = &self.text[..self.len];
        // The buffer starts with a NUL (the entry before the first) and keeps the last
        // `len - 1` bytes of each read, so an entry split between two reads is still seen.
        let mut buf = [0u8; 4096];
        let mut have = 1;
        let mut found = false;
        loop {
            let r = libc::read(fd, buf.as_mut_ptr().add(have).cast(), buf.len() - have);
            if r <= 0 {
                break;
            }
            #[allow(clippy::cast_sign_loss)]
            {
                have += r as usize;
            }
            if buf[..have].windows(needle.len()).any(|w| w == needle) {
                found = true;
                break;
            }
            let keep = (needle.len() - 1).min(have);
            buf.copy_within(have - keep..have, 0);
            have = keep;
        }
        libc::close(fd);
        found
    }
}

/// Write `n`'s decimal digits at `buf[at..]`; returns the position after them.
fn put_decimal(buf: &mut [u8], mut at: usize, n: i32) -> usize {
    let mut digits = [0u8; 12];
    let mut len = 0;
    let mut v = n.unsigned_abs();
    loop {
        #[allow(clippy::cast_possible_truncation)]
        {
            digits[len] = b'0' + (v % 10) as u8;
        }
        len += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for i in (0..len).rev() {
        buf[at] = digits[i];
        at += 1;
    }
    at
}

/// `scancel --name=flow-<flow>-<n>` in a child of the watchdog, not waited for (the
/// scheduler takes its time; the local processes are killed meanwhile). No allocation: the
/// argument is built on the stack, and `execvp` searches `PATH` with a stack buffer.
///
/// # Safety
/// Only in the watchdog's child, after the fork (see the module's doc).
unsafe fn scancel_stage(flow: i32, n: i32) {
    let mut arg = [0u8; 64];
    let prefix = b"--name=flow-";
    arg[..prefix.len()].copy_from_slice(prefix);
    let mut at = put_decimal(&mut arg, prefix.len(), flow);
    arg[at] = b'-';
    at = put_decimal(&mut arg, at + 1, n);
    arg[at] = 0;
    let argv = [c"scancel".as_ptr(), arg.as_ptr().cast(), std::ptr::null()];
    if libc::fork() == 0 {
        libc::execvp(argv[0], argv.as_ptr());
        libc::_exit(127);
    }
}

/// Freeze what flow owns, find its descendants through `/proc`, then SIGKILL them all.
///
/// # Safety
/// Only in the watchdog's child, after the fork (see the module's doc).
unsafe fn kill_all(set: &[i64], table: &mut [Entry], marks: &mut [bool]) {
    let each = |sig: i32| {
        for &k in set {
            if k == 0 {
                continue;
            }
            #[allow(clippy::cast_possible_truncation)]
            let id = (k & 0xffff_ffff) as i32;
            if k >> 32 == 2 {
                libc::kill(-id, sig);
            } else {
                libc::kill(id, sig);
            }
        }
    };
    // Stopped processes can neither fork nor exit, so the walk below sees a still tree.
    each(libc::SIGSTOP);
    let n = read_proc(table);
    // In place, no allocation: parents are then found by binary search.
    table[..n].sort_unstable_by_key(|e| e.pid);
    for i in 0..n {
        let e = table[i];
        marks[i] = contains(set, key(true, e.pgid)) || contains(set, key(false, e.pid));
    }
    loop {
        let mut changed = false;
        for i in 0..n {
            if marks[i] {
                continue;
            }
            let parent = table[i].ppid;
            if let Ok(j) = table[..n].binary_search_by_key(&parent, |e| e.pid) {
                if !marks[j] {
                    continue;
                }
                marks[i] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for i in 0..n {
        if marks[i] {
            libc::kill(table[i].pid, libc::SIGKILL);
        }
    }
    each(libc::SIGKILL);
}

/// Fill `table` from `/proc` with raw system calls (no allocation). Returns the count.
///
/// # Safety
/// Only in the watchdog's child, after the fork (see the module's doc).
unsafe fn read_proc(table: &mut [Entry]) -> usize {
    let dir = libc::open(
        c"/proc".as_ptr(),
        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
    );
    if dir < 0 {
        return 0;
    }
    let mut n = 0;
    let mut buf = [0u8; 16384];
    'outer: loop {
        let got = libc::syscall(libc::SYS_getdents64, dir, buf.as_mut_ptr(), buf.len());
        if got <= 0 {
            break;
        }
        #[allow(clippy::cast_sign_loss, clippy::cast_possible_truncation)]
        let got = got as usize;
        let mut off = 0;
        while off + 19 < got {
            let reclen = usize::from(u16::from_ne_bytes([buf[off + 16], buf[off + 17]]));
            if reclen == 0 {
                break;
            }
            let name = &buf[off + 19..(off + reclen).min(got)];
            let len = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            let name = &name[..len];
            off += reclen;
            if name.is_empty() || !name.iter().all(u8::is_ascii_digit) || name.len() > 10 {
                continue;
            }
            let mut path = [0u8; 32];
            for (p, &b) in b"/proc/".iter().chain(name).chain(b"/stat").enumerate() {
                path[p] = b;
            }
            let fd = libc::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC);
            if fd < 0 {
                continue;
            }
            let mut stat = [0u8; 1024];
            let r = libc::read(fd, stat.as_mut_ptr().cast(), stat.len());
            libc::close(fd);
            if r <= 0 {
                continue;
            }
            #[allow(clippy::cast_sign_loss)]
            if let Some(e) = parse_stat(&stat[..r as usize]) {
                table[n] = e;
                n += 1;
                if n == table.len() {
                    break 'outer;
                }
            }
        }
    }
    libc::close(dir);
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_written_without_allocating() {
        let mut buf = [0u8; 32];
        let end = put_decimal(&mut buf, 2, 4_194_304);
        assert_eq!(&buf[2..end], b"4194304");
        let end = put_decimal(&mut buf, 0, 0);
        assert_eq!(&buf[..end], b"0");
    }

    #[test]
    fn set_survives_many_inserts_and_removals() {
        let mut set = vec![0i64; 64];
        let mut used = 0;
        for round in 0..1000 {
            for id in 0..20 {
                insert(&mut set, &mut used, key(id % 2 == 0, round * 20 + id + 2));
            }
            for id in 0..20 {
                assert!(contains(&set, key(id % 2 == 0, round * 20 + id + 2)));
                assert!(!contains(&set, key(id % 2 != 0, round * 20 + id + 2)));
            }
            for id in 0..20 {
                remove(&mut set, &mut used, key(id % 2 == 0, round * 20 + id + 2));
            }
            assert_eq!(used, 0);
            assert!(set.iter().all(|&k| k == 0));
        }
    }

    #[test]
    fn removal_keeps_colliding_entries_reachable() {
        let mut set = vec![0i64; 16];
        let mut used = 0;
        let keys: Vec<i64> = (2..10).map(|i| key(true, i)).collect();
        for &k in &keys {
            insert(&mut set, &mut used, k);
        }
        for (n, &k) in keys.iter().enumerate() {
            remove(&mut set, &mut used, k);
            for &rest in &keys[n + 1..] {
                assert!(contains(&set, rest));
            }
        }
    }
}
