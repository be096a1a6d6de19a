//! Tasks that wait without an OS thread of their own.
//!
//! A `spawn`ed task runs as a coroutine (its own stack, `corosensei`; see `stacks`) on a few worker
//! threads. Where it waits for time or for another task (`sleep`, `join`, the end of the
//! tasks it started) it suspends, and its worker runs another task. 10,000 tasks that each
//! sleep cost 10,000 stacks' touched pages, not 10,000 threads.
//!
//! Anything else that blocks — a command, a pipeline's stage threads, a long Rhai loop —
//! keeps its worker. So that such a task never starves the others, a task that starts a
//! process or a pipeline gives its worker up at once (`hold_worker`), and a monitor gives up
//! the worker of any task that has run for `STUCK` without suspending; either way another
//! worker is started when tasks are ready and too few workers are free. A task whose
//! blocking call keeps its worker therefore costs what a thread per task costs, no more.
//!
//! A task may resume on another worker than the one it suspended on. What the runtime keeps
//! per thread for the code running there (the Rhai context, the deadlock party, the task's
//! channels) is moved out of the thread when a task suspends and back in when it resumes
//! (`Locals`), in functions that are never inlined, so no thread-local address is kept
//! across a switch. Nothing held across a suspension is tied to a thread (no lock guard).

// The task stacks are the one exception to `deny(unsafe_code)` outside `os/`: they map
// stacks and guard pages and handle the fault of an overflow.
#[allow(unsafe_code)]
mod stacks;

use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult, Yielder};
use std::cell::RefCell;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// A task that runs this long without suspending is taken to block its worker.
const STUCK: Duration = Duration::from_millis(20);
/// How often the monitor looks while tasks are alive.
const LOOK: Duration = Duration::from_millis(10);
/// A worker above the core count that has been idle this long ends.
const IDLE_END: Duration = Duration::from_secs(2);

/// What a task asks of its worker when it suspends: to be resumed when woken, or at the
/// deadline.
struct Park(Option<Instant>);

/// What one step of a task did: it waits, holding no stack, to be stepped again when woken
/// or at the deadline; or it is done.
pub(crate) enum Step {
    Wait(Option<Instant>),
    Done,
}

/// A task's work, run a step at a time: each step on a stack, none held between steps.
pub(crate) type Steps = Box<dyn FnMut() -> Step + Send>;

type Co = Coroutine<(), Park, (Steps, Step, Locals), DefaultStack>;

/// A task's work as its workers hold it: a coroutine in a step (on its stack, suspended or
/// running), or steps between two (no stack), with what the task keeps per thread.
enum Body {
    InStep(Co),
    Between(Steps, Option<Locals>),
}

// SAFETY: a task's coroutine holds, while suspended, only `Send` data on its stack: the
// runtime's values (`Arc`s, Rhai values built with Rhai's `sync` feature) and no lock
// guards or `RefCell` borrows; per-thread state is moved out before each suspension
// (`park`). corosensei leaves `Send` to its user for this reason.
#[allow(unsafe_code)] // The task-stack exception to `deny(unsafe_code)` (src/lib.rs).
unsafe impl Send for Body {}

const RUNNING: u8 = 0;
const PARKED: u8 = 1;
const NOTIFIED: u8 = 2;

/// A task as its workers and wakers see it.
pub(crate) struct Task {
    state: AtomicU8,
    body: Mutex<Option<Body>>,
    /// The coroutine's yielder, set when it first runs (it lives on the task's stack).
    yielder: AtomicU64,
    /// The lowest page of the task's stack, which faults when the stack overflows (0: it
    /// holds none, between steps).
    guard: AtomicUsize,
}

impl Task {
    /// Make the task runnable if it is parked; if it is running, its next park returns at
    /// once. Spurious wakes are harmless: every waiter re-checks what it waits for.
    pub(crate) fn wake(self: &Arc<Task>) {
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            let (to, ready) = match s {
                PARKED => (RUNNING, true),
                RUNNING => (NOTIFIED, false),
                _ => return,
            };
            match self
                .state
                .compare_exchange(s, to, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    if ready {
                        sched().ready(self.clone());
                    }
                    return;
                }
                Err(now) => s = now,
            }
        }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        // A coroutine dropped unfinished would be unwound on whatever thread drops it, through
        // frames that catch panics; leak its stack instead (only a task parked forever, in a
        // run that is ending, gets here).
        if let Some(Body::InStep(co)) = self.body.get_mut().ok().and_then(Option::take) {
            if co.started() && !co.done() {
                std::mem::forget(co);
            }
        }
    }
}

/// A list of tasks to wake on an event (a cancel, a task's end).
#[derive(Default)]
pub(crate) struct Wakers(Mutex<Vec<Arc<Task>>>);

impl std::fmt::Debug for Wakers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Wakers")
    }
}

impl Wakers {
    pub(crate) fn add(&self, t: &Arc<Task>) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(t.clone());
    }

    pub(crate) fn remove(&self, t: &Arc<Task>) {
        let mut v = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = v.iter().position(|x| Arc::ptr_eq(x, t)) {
            v.swap_remove(i);
        }
    }

    pub(crate) fn wake_all(&self) {
        let v = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        for t in v {
            t.wake();
        }
    }
}

thread_local! {
    /// The task this worker is running, if any.
    static CURRENT: RefCell<Option<Arc<Task>>> = const { RefCell::new(None) };
}

/// The task the calling code runs in, if it runs in one.
#[inline(never)]
pub(crate) fn current() -> Option<Arc<Task>> {
    CURRENT.with(|c| c.borrow().clone())
}

#[inline(never)]
fn set_current(t: Option<Arc<Task>>) {
    CURRENT.with(|c| *c.borrow_mut() = t);
}

/// Per-thread state that belongs to the task running on the thread.
struct Locals {
    ctx: crate::runtime::context::ThreadCtx,
    party: u64,
    channels: Vec<usize>,
}

#[inline(never)]
fn take_locals() -> Locals {
    Locals {
        ctx: crate::runtime::context::take(),
        party: super::deadlock::current_party(),
        channels: super::exec::take_task_channels(),
    }
}

#[inline(never)]
fn put_locals(l: Locals) {
    crate::runtime::context::put(l.ctx);
    super::deadlock::set_party(l.party);
    super::exec::set_task_channels(l.channels);
}

/// Suspend the calling task until it is woken or `deadline` passes (it may also return
/// early). The caller registers its waker before checking its condition, then parks.
/// Returns false, doing nothing, when not called in a task.
#[allow(unsafe_code)] // The task-stack exception: the yielder is on the task's own stack.
pub(crate) fn park(deadline: Option<Instant>) -> bool {
    let Some(task) = current() else {
        return false;
    };
    let y = task.yielder.load(Ordering::Acquire) as *const Yielder<(), Park>;
    drop(task);
    let saved = take_locals();
    // SAFETY: the yielder lives on this coroutine's stack, which is the stack we are on.
    unsafe { &*y }.suspend(Park(deadline));
    put_locals(saved);
    true
}

/// The calling task is about to block its worker (a command, a pipeline): let another
/// worker take the ready tasks. Does nothing outside a task.
#[inline(never)]
pub(crate) fn hold_worker() {
    if current().is_none() {
        return;
    }
    WORKER.with(|w| {
        if let Some(w) = w.borrow().as_ref() {
            sched().hold(w);
        }
    });
}

/// Start `f` as a task, one step long. Fails only when no stack can be had.
#[cfg(test)]
pub(crate) fn spawn(f: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    let mut f = Some(f);
    spawn_steps(Box::new(move || {
        if let Some(f) = f.take() {
            f();
        }
        Step::Done
    }))
}

/// Start a task that runs `steps` until one says it is done. Between steps it holds no
/// stack: a task waiting there costs what its `Steps` hold, not a stack's touched pages nor
/// the two memory mappings a stack takes (the kernel allows 65,530 per process). The first
/// step's stack is taken now: this fails only when no stack can be had.
pub(crate) fn spawn_steps(steps: Steps) -> std::io::Result<()> {
    let s = sched();
    let task = Arc::new(Task {
        state: AtomicU8::new(RUNNING),
        body: Mutex::new(None),
        yielder: AtomicU64::new(0),
        guard: AtomicUsize::new(0),
    });
    let co = step_on_stack(s, &task, steps, None).map_err(|(_, _, e)| e)?;
    *task.body.lock().unwrap_or_else(|e| e.into_inner()) = Some(Body::InStep(co));
    s.live.fetch_add(1, Ordering::SeqCst);
    s.ready(task);
    Ok(())
}

/// A coroutine on a stack for the next step of `t`.
fn step_on_stack(
    s: &Sched,
    t: &Arc<Task>,
    mut steps: Steps,
    locals: Option<Locals>,
) -> Result<Co, (Steps, Option<Locals>, std::io::Error)> {
    let (stack, guard) = match s.stacks.take() {
        Ok(st) => st,
        Err(e) => return Err((steps, locals, e)),
    };
    t.guard.store(guard, Ordering::Release);
    let me = Arc::downgrade(t);
    Ok(Co::with_stack(stack, move |y: &Yielder<(), Park>, ()| {
        if let Some(t) = me.upgrade() {
            t.yielder
                .store(std::ptr::from_ref(y) as u64, Ordering::Release);
        }
        drop(me);
        if let Some(l) = locals {
            put_locals(l);
        }
        let step = steps();
        // Leave nothing of the task in the worker's thread-locals: its next step may run
        // on another worker.
        (steps, step, take_locals())
    }))
}

/// A worker, as the monitor sees it.
struct Worker {
    /// When it resumed the task it runs (ns since `Sched::epoch`), 0 when it runs none.
    since: AtomicU64,
    /// Given up: it blocks in its task and does not count as free.
    held: AtomicBool,
}

thread_local! {
    static WORKER: RefCell<Option<Arc<Worker>>> = const { RefCell::new(None) };
}

/// A parked task's deadline. It holds the task: a parked task is owned only by what can
/// wake it (timers and wakers' lists).
struct Timer {
    at: Instant,
    task: Arc<Task>,
}

impl PartialEq for Timer {
    fn eq(&self, o: &Self) -> bool {
        self.at == o.at
    }
}
impl Eq for Timer {}
impl PartialOrd for Timer {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Timer {
    // The earliest first in a max-heap.
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        o.at.cmp(&self.at)
    }
}

#[derive(Default)]
struct Queue {
    ready: VecDeque<Arc<Task>>,
    timers: BinaryHeap<Timer>,
    workers: Vec<Arc<Worker>>,
    /// Idle workers, the timer keeper among them.
    idle: usize,
    /// Whether an idle worker waits for the earliest deadline (on `Sched::timer`). Only one
    /// does: were every idle worker to wait for it, each deadline would wake them all.
    keeper: bool,
    held: usize,
}

struct Sched {
    q: Mutex<Queue>,
    /// Idle workers wait here for tasks.
    work: Condvar,
    /// The timer keeper waits here for the earliest deadline, or a task.
    timer: Condvar,
    /// The monitor waits here while no task is alive.
    monitor: Condvar,
    /// Workers that may run at once without any being held: the core count.
    free: usize,
    live: AtomicU64,
    epoch: Instant,
    stacks: stacks::Spare,
}

fn sched() -> &'static Sched {
    static S: OnceLock<Sched> = OnceLock::new();
    S.get_or_init(|| {
        stacks::report_overflows();
        let _ = std::thread::Builder::new()
            .name("flow-tasks-monitor".into())
            .spawn(monitor);
        Sched {
            q: Mutex::default(),
            work: Condvar::new(),
            timer: Condvar::new(),
            monitor: Condvar::new(),
            free: std::thread::available_parallelism().map_or(2, |n| n.get().max(2)),
            live: AtomicU64::new(0),
            epoch: Instant::now(),
            stacks: stacks::Spare::default(),
        }
    })
}

impl Sched {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.q.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn ready(&self, t: Arc<Task>) {
        let mut q = self.lock();
        q.ready.push_back(t);
        if q.idle > 0 {
            self.wake_idle(&q);
        } else {
            self.grow(&mut q);
        }
        if q.ready.len() == 1 {
            self.monitor.notify_one();
        }
    }

    /// Start workers while tasks are ready and fewer than `free` workers are unheld.
    fn grow(&self, q: &mut Queue) {
        let unheld = q.workers.len() - q.held;
        let mut want = q.ready.len().saturating_sub(q.idle);
        if want == 0 && unheld == 0 && !q.timers.is_empty() {
            // Someone must be free to wake the sleepers when their time comes.
            want = 1;
        }
        for _ in 0..want.min(self.free.saturating_sub(unheld)) {
            let w = Arc::new(Worker {
                since: AtomicU64::new(0),
                held: AtomicBool::new(false),
            });
            let w2 = w.clone();
            if std::thread::Builder::new()
                .name("flow-task".into())
                .spawn(move || work(&w2))
                .is_err()
            {
                return;
            }
            q.workers.push(w);
        }
    }

    /// Wake an idle worker for a ready task: one waiting for tasks, or else the keeper.
    fn wake_idle(&self, q: &Queue) {
        if q.idle > usize::from(q.keeper) {
            self.work.notify_one();
        } else if q.keeper {
            self.timer.notify_one();
        }
    }

    fn hold(&self, w: &Worker) {
        if !w.held.swap(true, Ordering::SeqCst) {
            let mut q = self.lock();
            q.held += 1;
            self.grow(&mut q);
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos())
            .unwrap_or(u64::MAX)
            .max(1)
    }
}

/// Move the tasks whose time has come to the ready queue; the earliest deadline left.
fn fire(q: &mut Queue) -> Option<Instant> {
    let now = Instant::now();
    while let Some(t) = q.timers.peek() {
        if t.at > now {
            return Some(t.at);
        }
        if let Some(task) = q.timers.pop().map(|t| t.task) {
            if task
                .state
                .compare_exchange(PARKED, RUNNING, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                q.ready.push_back(task);
            } else {
                let _ = task.state.compare_exchange(
                    RUNNING,
                    NOTIFIED,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
            }
        }
    }
    None
}

fn work(me: &Arc<Worker>) {
    stacks::ensure_signal_stack();
    let s = sched();
    WORKER.with(|w| *w.borrow_mut() = Some(me.clone()));
    let mut q = s.lock();
    loop {
        let next = fire(&mut q);
        if let Some(t) = q.ready.pop_front() {
            if !q.ready.is_empty() && q.idle > 0 {
                s.wake_idle(&q);
            } else if !q.keeper && !q.timers.is_empty() && q.idle > 0 {
                // The keeper leaves to run this task: an idle worker takes the timers over.
                s.work.notify_one();
            }
            drop(q);
            me.since.store(s.now(), Ordering::SeqCst);
            run(s, t);
            me.since.store(0, Ordering::SeqCst);
            q = s.lock();
            if me.held.swap(false, Ordering::SeqCst) {
                q.held -= 1;
            }
            continue;
        }
        q.idle += 1;
        let keeper = next.is_some() && !q.keeper;
        let (g, timeout) = if keeper {
            q.keeper = true;
            let wait = next.map_or(IDLE_END, |at| {
                at.saturating_duration_since(Instant::now()).min(IDLE_END)
            });
            let (mut g, t) = s
                .timer
                .wait_timeout(q, wait)
                .unwrap_or_else(|e| e.into_inner());
            g.keeper = false;
            (g, t)
        } else {
            s.work
                .wait_timeout(q, IDLE_END)
                .unwrap_or_else(|e| e.into_inner())
        };
        q = g;
        q.idle -= 1;
        // An extra worker ends when idle for long, unless the timers need it (none other
        // waits for them).
        if timeout.timed_out()
            && q.ready.is_empty()
            && (q.timers.is_empty() || q.keeper)
            && q.workers.len() > s.free
        {
            q.workers.retain(|w| !Arc::ptr_eq(w, me));
            return;
        }
    }
}

/// Resume `t` until it suspends or ends.
fn run(s: &Sched, t: Arc<Task>) {
    let Some(body) = t.body.lock().unwrap_or_else(|e| e.into_inner()).take() else {
        return;
    };
    let mut co = match body {
        Body::InStep(co) => co,
        Body::Between(steps, locals) => match step_on_stack(s, &t, steps, locals) {
            Ok(co) => co,
            Err((steps, locals, _)) => {
                // No stack to be had now (memory, mappings): try again a little later.
                *t.body.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(Body::Between(steps, locals));
                park_task(s, t, Some(Instant::now() + Duration::from_millis(50)));
                return;
            }
        },
    };
    set_current(Some(t.clone()));
    stacks::running(t.guard.load(Ordering::Acquire));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| co.resume(())));
    stacks::running(0);
    set_current(None);
    match r {
        Ok(CoroutineResult::Yield(Park(deadline))) => {
            *t.body.lock().unwrap_or_else(|e| e.into_inner()) = Some(Body::InStep(co));
            park_task(s, t, deadline);
        }
        Ok(CoroutineResult::Return((steps, step, locals))) => {
            t.guard.store(0, Ordering::Release);
            s.stacks.give(co.into_stack());
            match step {
                Step::Wait(deadline) => {
                    *t.body.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some(Body::Between(steps, Some(locals)));
                    park_task(s, t, deadline);
                }
                Step::Done => {
                    drop((steps, locals));
                    s.live.fetch_sub(1, Ordering::SeqCst);
                }
            }
        }
        Err(_) => {
            // The task's body catches its own panics; one escaping it ends the task.
            s.live.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// `t` waits, until woken or `deadline`; woken while it ran, it is ready again at once.
fn park_task(s: &Sched, t: Arc<Task>, deadline: Option<Instant>) {
    if let Some(at) = deadline {
        let mut q = s.lock();
        q.timers.push(Timer {
            at,
            task: t.clone(),
        });
        if q.timers.peek().is_some_and(|p| p.at == at) {
            // The keeper may sleep past this deadline: let it re-time; with no
            // keeper, an idle worker becomes one.
            if q.keeper {
                s.timer.notify_one();
            } else if q.idle > 0 {
                s.work.notify_one();
            }
        }
    }
    if t.state
        .compare_exchange(RUNNING, PARKED, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        // Woken while running: run again.
        t.state.store(RUNNING, Ordering::Release);
        s.ready(t);
    }
}

/// Give up the workers of tasks that have run for `STUCK` without suspending, and start
/// workers for the ready tasks they would hold up.
fn monitor() {
    let s = sched();
    let stuck = u64::try_from(STUCK.as_nanos()).unwrap_or(u64::MAX);
    let mut q = s.lock();
    loop {
        if s.live.load(Ordering::SeqCst) == 0 {
            q = s
                .monitor
                .wait_timeout(q, IDLE_END)
                .unwrap_or_else(|e| e.into_inner())
                .0;
            continue;
        }
        drop(q);
        std::thread::sleep(LOOK);
        q = s.lock();
        let now = s.now();
        let mut newly = 0;
        for w in &q.workers {
            let since = w.since.load(Ordering::SeqCst);
            // A swap, not a load then a store: `hold_worker` may set the flag between the
            // two without the queue's lock, and the worker would be counted twice.
            if since != 0
                && now.saturating_sub(since) >= stuck
                && !w.held.swap(true, Ordering::SeqCst)
            {
                newly += 1;
            }
        }
        q.held += newly;
        // Workers fire timers between tasks; when every one is busy, the monitor does.
        fire(&mut q);
        for _ in 0..q.ready.len().min(q.idle - usize::from(q.keeper)) {
            s.work.notify_one();
        }
        if q.keeper && q.ready.len() >= q.idle {
            s.timer.notify_one();
        }
        s.grow(&mut q);
    }
}

#[cfg(test)]
mod tests;
