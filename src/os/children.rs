//! flow's children, process-wide: which process groups flow owns (each registered with the
//! one watchdog), which of them linger after their leader was reaped, and — when flow is the
//! subreaper (the CLI and REPL) — the orphaned descendants the kernel hands to flow.
//!
//! Invariants, enforced here:
//! * a group is registered with the watchdog from its spawn until it is empty: it is
//!   forgotten when its last process is gone (checked when flow reaps its leader, and every
//!   tick while it lingers), so a recycled group number never makes flow kill a stranger;
//! * every spawn of a child flow owns happens under the read side of `SPAWN`, and the adopter
//!   classifies and reaps orphans under its write side, so it never reaps a child whose
//!   [`super::process::Proc`] is about to wait for it;
//! * an adopted orphan is reaped here (flow is its parent); it stays registered with the
//!   watchdog until then, so its number cannot be recycled while registered.

use crate::os::process::{kill_group, kill_pid, waitpid_nohang};
use crate::os::proctable::{self, Entry};
use crate::os::watchdog::{Op, Watchdog};
use std::collections::HashSet;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, Once, OnceLock, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

/// How often lingering groups and orphans are looked at.
const TICK: Duration = Duration::from_millis(100);

static SPAWN: RwLock<()> = RwLock::new(());
static STATE: Mutex<Inner> = Mutex::new(Inner::new());
/// The watchdog; replaced if it dies (see [`replace_dead_watchdog`]).
static WATCHDOG: Mutex<Option<Watchdog>> = Mutex::new(None);
/// Whether the first watchdog was started (or refused).
static DOG_STARTED: Once = Once::new();
/// The watchdog's pid (0 without one), read without a lock.
static DOG_PID: AtomicI32 = AtomicI32::new(0);
static SUBREAPER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static JANITOR: Once = Once::new();
/// A child was ever spawned: before that flow has no descendants, so there is nothing to
/// adopt, watch or stop, and a run that starts no process never walks `/proc` (start-up).
static SPAWNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

struct Inner {
    /// Children whose `Proc` will reap them.
    owned: Vec<i32>,
    /// Groups flow owns and has registered with the watchdog.
    groups: Vec<i32>,
    /// Of `groups`: those whose leader was reaped while other members remained.
    lingering: Vec<i32>,
    /// Orphans the kernel gave to flow (the subreaper), registered as processes.
    adopted: Vec<i32>,
    /// A child was reaped since the last look: its orphans (if any) are flow's now.
    reaped_since: bool,
    /// `on slurm` stages started (told to a replacement watchdog too).
    slurm_stages: i32,
}

impl Inner {
    const fn new() -> Self {
        Inner {
            owned: Vec::new(),
            groups: Vec::new(),
            lingering: Vec::new(),
            adopted: Vec::new(),
            reaped_since: false,
            slurm_stages: 0,
        }
    }
}

fn state() -> std::sync::MutexGuard<'static, Inner> {
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

fn dog() -> std::sync::MutexGuard<'static, Option<Watchdog>> {
    WATCHDOG.lock().unwrap_or_else(|e| e.into_inner())
}

/// Start the first watchdog, once.
fn ensure_watchdog() {
    DOG_STARTED.call_once(|| install(Watchdog::start()));
}

fn install(w: Option<Watchdog>) {
    DOG_PID.store(w.as_ref().map_or(0, |w| w.pid), Ordering::SeqCst);
    *dog() = w;
}

fn tell(op: Op, id: i32) {
    ensure_watchdog();
    if let Some(w) = dog().as_ref() {
        w.send(op, id);
    }
}

/// The watchdog's pid, without starting it (0 if it is not running).
fn dog_pid() -> i32 {
    DOG_PID.load(Ordering::SeqCst)
}

/// flow's pid as text: the value of `FLOW_PID` in every process it starts.
pub(crate) fn flow_pid_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| my_pid().to_string())
}

/// A pool stage `on slurm` numbered `n` started: if flow dies, the watchdog cancels its
/// jobs through the scheduler (`scancel --name=flow-<pid>-<n>`).
pub(crate) fn slurm_stage(n: i32) {
    {
        let mut s = state();
        s.slurm_stages = s.slurm_stages.max(n);
    }
    tell(Op::SlurmStage, n);
}

/// If the watchdog died (killed by someone), start another and tell it everything flow
/// still owns, so that flow's own death is covered again within one tick. The spawn lock's
/// write side: no child is between fork and exec holding the old pipe.
fn replace_dead_watchdog() {
    let pid = dog_pid();
    if pid <= 0 {
        return;
    }
    // flow's own child, the watchdog: no one else waits for it.
    if !matches!(waitpid_nohang(pid), Ok(true)) {
        return;
    }
    let _no_spawn = SPAWN.write().unwrap_or_else(|e| e.into_inner());
    let s = state();
    let new = Watchdog::start();
    if let Some(w) = &new {
        for &g in &s.groups {
            w.send(Op::AddGroup, g);
        }
        for &p in &s.adopted {
            w.send(Op::AddPid, p);
        }
        if s.slurm_stages > 0 {
            w.send(Op::SlurmStage, s.slurm_stages);
        }
    }
    install(new);
}

fn my_pid() -> i32 {
    i32::try_from(std::process::id()).unwrap_or(0)
}

/// Held while a child is spawned and until [`started`] registers it.
pub(crate) fn spawn_lock() -> RwLockReadGuard<'static, ()> {
    // The watchdog is forked before the first child, never while a spawn is in flight; the
    // janitor (lingering groups, the subreaper's orphans) runs from the first child on.
    ensure_watchdog();
    if !SPAWNED.swap(true, std::sync::atomic::Ordering::SeqCst) {
        start_janitor();
    }
    SPAWN.read().unwrap_or_else(|e| e.into_inner())
}

fn start_janitor() {
    JANITOR.call_once(|| {
        let _ = std::thread::Builder::new()
            .name("flow-children".into())
            .spawn(janitor);
    });
}

fn spawned() -> bool {
    SPAWNED.load(std::sync::atomic::Ordering::SeqCst)
}

/// A child that leads a new process group of its own was started; a `Proc` owns it.
pub(crate) fn started(pid: i32) {
    if pid <= 1 {
        return;
    }
    // The watchdog first, before any lock of flow's own: the less time between the
    // child's exec and this write, the less a SIGKILL of flow can fall into it (and what
    // does is found by its `FLOW_PID`).
    tell(Op::AddGroup, pid);
    let mut s = state();
    s.owned.push(pid);
    s.groups.push(pid);
}

/// How many children flow owns that still run (their `Proc` has not reaped them).
pub(crate) fn running() -> usize {
    state().owned.len()
}

/// Run a short helper program of flow's own (e.g. `scancel`) to its end. It is owned while
/// it runs, so the adopter never reaps it from under `wait`.
pub(crate) fn run_helper(
    cmd: &mut std::process::Command,
) -> std::io::Result<std::process::ExitStatus> {
    let mut child = {
        let _spawning = spawn_lock();
        let c = cmd.spawn()?;
        state().owned.push(i32::try_from(c.id()).unwrap_or(0));
        c
    };
    let r = child.wait();
    let pid = i32::try_from(child.id()).unwrap_or(0);
    state().owned.retain(|&p| p != pid);
    r
}

/// The child `pid` (a group leader) was reaped by its `Proc`.
pub(crate) fn reaped(pid: i32) {
    {
        let mut s = state();
        s.owned.retain(|&p| p != pid);
        s.reaped_since = true;
        if group_is_empty(pid) {
            forget_group(&mut s, pid);
        } else if !s.lingering.contains(&pid) {
            s.lingering.push(pid);
        }
    }
    // Its orphans were handed to flow as it ended: adopt them now rather than at the next
    // look, so that the watchdog knows them even if flow is SIGKILLed the next moment.
    if subreaper() && orphan_waiting() {
        adopt();
    }
}

/// Whether the main thread, to which the kernel hands flow's orphans, has a child that flow
/// neither owns nor has adopted: one small read, not a look at every thread. Where the
/// kernel does not say, assume so.
fn orphan_waiting() -> bool {
    let Some(kids) = task_children(my_pid().to_string()) else {
        return true;
    };
    let dog = dog_pid();
    let s = state();
    kids.into_iter()
        .any(|p| p != dog && !s.owned.contains(&p) && !s.adopted.contains(&p))
}

/// The children of one thread of flow, from `/proc/self/task/<tid>/children`.
fn task_children(tid: impl AsRef<std::path::Path>) -> Option<Vec<i32>> {
    let path = std::path::Path::new("/proc/self/task")
        .join(tid)
        .join("children");
    let text = std::fs::read(path).ok()?;
    Some(
        text.split(u8::is_ascii_whitespace)
            .filter_map(|w| std::str::from_utf8(w).ok()?.parse::<i32>().ok())
            .collect(),
    )
}

fn group_is_empty(pgid: i32) -> bool {
    // Signal 0 only checks.
    kill_group(pgid, 0).is_err_and(|e| e.raw_os_error() == Some(libc::ESRCH))
}

fn forget_group(s: &mut Inner, pgid: i32) {
    let before = s.groups.len();
    s.groups.retain(|&g| g != pgid);
    s.lingering.retain(|&g| g != pgid);
    if s.groups.len() != before {
        tell(Op::DelGroup, pgid);
    }
}

/// Make flow the subreaper of its descendants: an orphan among them becomes flow's child
/// instead of init's, so that it can still be found, stopped and reaped. Process-wide: the
/// CLI and REPL ask for it; a library host need not. The adopter starts with the first child
/// (orphans can only come from flow's own children).
pub fn become_subreaper() {
    let ok = crate::os::process::set_child_subreaper();
    SUBREAPER.store(ok, std::sync::atomic::Ordering::SeqCst);
    if ok && spawned() {
        start_janitor();
    }
}

fn subreaper() -> bool {
    SUBREAPER.load(std::sync::atomic::Ordering::SeqCst)
}

fn janitor() {
    loop {
        std::thread::sleep(TICK);
        tick();
    }
}

/// Replace a dead watchdog; forget emptied lingering groups; adopt and reap orphans.
fn tick() {
    replace_dead_watchdog();
    {
        let mut s = state();
        for g in s.lingering.clone() {
            if group_is_empty(g) {
                forget_group(&mut s, g);
            }
        }
    }
    if subreaper() {
        // Orphans appear when a process of flow's tree ends: while any of it runs, or just
        // after flow reaped one.
        let busy = {
            let mut s = state();
            let busy = s.reaped_since
                || !s.owned.is_empty()
                || !s.adopted.is_empty()
                || !s.lingering.is_empty();
            s.reaped_since = false;
            busy
        };
        if busy {
            adopt();
        }
    }
}

/// Register and reap the orphans the kernel reparented to flow.
fn adopt() {
    let _no_spawn = SPAWN.write().unwrap_or_else(|e| e.into_inner());
    let dog = dog_pid();
    let kids = children_table(dog);
    let mut s = state();
    let mine: Vec<Entry> = kids
        .into_iter()
        .filter(|e| !s.owned.contains(&e.pid))
        .collect();
    for e in &mine {
        if e.zombie {
            reap_adopted(&mut s, e.pid);
        } else if !s.adopted.contains(&e.pid) {
            s.adopted.push(e.pid);
            tell(Op::AddPid, e.pid);
            if e.pgid == e.pid && !s.groups.contains(&e.pid) {
                // It leads a group of its own (setsid): that group is flow's too until empty.
                s.groups.push(e.pid);
                s.lingering.push(e.pid);
                tell(Op::AddGroup, e.pid);
            }
        }
    }
    // Adopted ones that ended between two looks.
    for pid in s.adopted.clone() {
        if !mine.iter().any(|e| e.pid == pid) {
            reap_adopted(&mut s, pid);
        }
    }
}

/// flow's children (the watchdog `dog` left out). Read from each thread's
/// `/proc/self/task/*/children`, which costs a few reads, not a walk of the whole process
/// table; that walk where the kernel does not provide these files.
fn children_table(dog: i32) -> Vec<Entry> {
    let me = my_pid();
    match own_children() {
        Some(pids) => pids
            .into_iter()
            .filter(|&p| p != dog)
            .filter_map(|p| {
                let stat = std::fs::read(format!("/proc/{p}/stat")).ok()?;
                proctable::parse_stat(&stat)
            })
            .filter(|e| e.ppid == me)
            .collect(),
        None => proctable::snapshot()
            .into_iter()
            .filter(|e| e.ppid == me && e.pid != dog)
            .collect(),
    }
}

/// The pids of flow's children, zombies included, from `/proc/self/task/*/children` (a
/// child belongs to the thread that started it, an orphan to the thread the kernel chose).
/// `None` where the kernel lacks these files, and when a thread ended during the reading
/// (its children moved to another thread, perhaps one already read).
fn own_children() -> Option<Vec<i32>> {
    static SUPPORTED: OnceLock<bool> = OnceLock::new();
    let supported = *SUPPORTED.get_or_init(|| {
        std::path::Path::new(&format!("/proc/self/task/{}/children", my_pid())).exists()
    });
    if !supported {
        return None;
    }
    let tasks = || -> Option<Vec<std::ffi::OsString>> {
        let mut t: Vec<_> = std::fs::read_dir("/proc/self/task")
            .ok()?
            .flatten()
            .map(|d| d.file_name())
            .collect();
        t.sort();
        Some(t)
    };
    let before = tasks()?;
    let mut out = Vec::new();
    for tid in &before {
        out.extend(task_children(tid)?);
    }
    (tasks()? == before).then_some(out)
}

fn reap_adopted(s: &mut Inner, pid: i32) {
    // A child of ours that no `Proc` owns. Gone unless it still runs (an error too: reaped).
    if !matches!(waitpid_nohang(pid), Ok(false)) {
        if s.adopted.contains(&pid) {
            s.adopted.retain(|&p| p != pid);
            tell(Op::DelPid, pid);
        }
        if s.lingering.contains(&pid) && group_is_empty(pid) {
            forget_group(s, pid);
        }
    }
}

/// Descendants of flow that no live group of flow's covers: processes that left their group
/// (`setsid`), adopted orphans, and members of lingering groups. The watchdog is not one.
fn escapees() -> Vec<Entry> {
    if !spawned() {
        return Vec::new();
    }
    let me = my_pid();
    let dog = dog_pid();
    // Every descendant descends from a child: none but the watchdog, none at all.
    if own_children().is_some_and(|c| c.iter().all(|&p| p == dog)) {
        return Vec::new();
    }
    let table = proctable::snapshot();
    let s = state();
    let live: Vec<i32> = s
        .groups
        .iter()
        .filter(|g| !s.lingering.contains(g))
        .copied()
        .collect();
    drop(s);
    // Processes under a live group are signalled with that group (its guard does it).
    let guarded: HashSet<i32> = proctable::descendants(&table, |e| live.contains(&e.pgid))
        .iter()
        .map(|e| e.pid)
        .chain(
            table
                .iter()
                .filter(|e| live.contains(&e.pgid))
                .map(|e| e.pid),
        )
        .collect();
    proctable::descendants(&table, |e| e.pid == me)
        .into_iter()
        .filter(|e| e.pid != dog && !guarded.contains(&e.pid))
        .collect()
}

/// Signal every escapee (see [`escapees`]) once. Returns how many there were.
pub(crate) fn signal_escapees(sig: i32) -> usize {
    let found = escapees();
    for e in &found {
        let _ = kill_pid(e.pid, sig);
    }
    found.len()
}

/// At the end of a run: stop what escaped flow's groups and is still running — SIGTERM
/// (unless the interrupt already signalled them), up to `grace` to go, then SIGKILL — and
/// reap the orphans among them.
pub(crate) fn finish(grace: Duration, already_signalled: bool) {
    if escapees().is_empty() {
        return;
    }
    if !already_signalled {
        signal_escapees(libc::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
        if subreaper() {
            adopt();
        }
        if escapees().is_empty() {
            return;
        }
    }
    signal_escapees(libc::SIGKILL);
    if subreaper() {
        for _ in 0..50 {
            adopt();
            if state().adopted.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Signal the group `pgid` and every process that descends from one of its members but left
/// the group (a `setsid` escapee of a job): a job's timeout or cancel reaches its whole tree.
pub(crate) fn signal_tree(pgid: i32, sig: i32) {
    if pgid <= 1 {
        return;
    }
    let table = proctable::snapshot();
    let out = proctable::descendants(&table, |e| e.pgid == pgid);
    let _ = kill_group(pgid, sig);
    for e in out.iter().filter(|e| e.pgid != pgid) {
        let _ = kill_pid(e.pid, sig);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reaped_group_is_forgotten_and_a_lingering_one_kept() {
        let _g = spawn_lock();
        let mut leader = std::process::Command::new("sh")
            .args(["-c", "sleep 5 & exit 0"])
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = i32::try_from(leader.id()).unwrap();
        started(pid);
        drop(_g);
        leader.wait().unwrap();
        reaped(pid);
        // The background sleep keeps the group alive: flow still owns it.
        assert!(state().lingering.contains(&pid));
        assert!(state().groups.contains(&pid));
        signal_tree(pid, libc::SIGKILL);
        let t = Instant::now();
        while state().groups.contains(&pid) && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            !state().groups.contains(&pid),
            "an empty group is forgotten"
        );
    }

    use std::os::unix::process::CommandExt;
}
