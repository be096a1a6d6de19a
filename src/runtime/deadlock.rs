//! Deadlock detection (no silent hang): when every part of a script — its main statements
//! and every task — waits on a channel or a `join` that nothing alive can complete, the run
//! fails with `flow::run::deadlock`, naming the waiting lines, as Go's runtime reports "all
//! goroutines are asleep".
//!
//! A *party* is the main statements or one task. A party registers a wait while one of its
//! `from ch` readers finds the channel empty, one of its `into ch` stages finds it full, or
//! it waits in a `join` without a timeout. The watcher declares a deadlock only when, for
//! `CONFIRM` consecutive looks: every live party waits, no channel item moved and no task
//! ended, no child process runs, no Rhai `sleep` is in progress, and the process used next
//! to no CPU. That is conservative: a hang it cannot prove is left alone, and a script that
//! is merely slow is never stopped.

use super::cancel::{CancelReason, CancelToken};
use super::run_error::{RunError, RunErrorKind};
use crate::Span;
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

const LOOK: Duration = Duration::from_millis(100);
const CONFIRM: u32 = 3;
/// CPU time (µs) the whole process may use over a look and still count as asleep (threads
/// blocked on channels wake briefly to watch for cancellation).
const IDLE_CPU_US: u64 = 5_000;

thread_local! {
    /// The party the current thread works for (0: the main statements).
    static PARTY: Cell<u64> = const { Cell::new(0) };
}

/// The party of the current thread. (Never inlined: a task may resume on another thread,
/// see `script/context.rs`.)
#[inline(never)]
pub(crate) fn current_party() -> u64 {
    PARTY.with(Cell::get)
}

/// Make the current thread work for `party` (a task's thread, a stage's thread).
#[inline(never)]
pub(crate) fn set_party(party: u64) {
    PARTY.with(|p| p.set(party));
}

/// One run's parties and waits.
pub(crate) struct Deadlock {
    state: Mutex<State>,
    progress: AtomicU64,
    token: CancelToken,
}

/// Kept so that a task's start, end and waits cost the same with 10,000 tasks alive as
/// with one: parties and waits are maps, and the number of parties that wait is counted.
#[derive(Default)]
struct State {
    /// Live parties (the main statements are party 0), each with its number of waits.
    parties: HashMap<u64, usize>,
    /// How many live parties have at least one wait.
    waiting: usize,
    next_party: u64,
    /// Waits by id, which is the order they began.
    waits: BTreeMap<u64, Wait>,
    next_wait: u64,
    watching: bool,
    found: Option<RunError>,
}

impl State {
    fn end_wait(&mut self, id: u64) {
        let Some(w) = self.waits.remove(&id) else {
            return;
        };
        if let Some(n) = self.parties.get_mut(&w.party) {
            *n -= 1;
            if *n == 0 {
                self.waiting -= 1;
            }
        }
    }
}

struct Wait {
    party: u64,
    span: Span,
    what: String,
}

/// A registered wait; dropping it ends the wait.
pub(crate) struct WaitGuard {
    owner: Arc<Deadlock>,
    id: u64,
}

impl Drop for WaitGuard {
    fn drop(&mut self) {
        self.owner.lock().end_wait(self.id);
        self.owner.progress.fetch_add(1, Ordering::SeqCst);
    }
}

impl Deadlock {
    /// For a run whose root token is `token` (cancelled when a deadlock is found).
    pub(crate) fn new(token: CancelToken) -> Arc<Self> {
        Arc::new(Deadlock {
            state: Mutex::new(State {
                parties: HashMap::from([(0, 0)]),
                next_party: 1,
                ..State::default()
            }),
            progress: AtomicU64::new(0),
            token,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A task starts: its party id.
    pub(crate) fn party_started(&self) -> u64 {
        let mut s = self.lock();
        let id = s.next_party;
        s.next_party += 1;
        s.parties.insert(id, 0);
        id
    }

    /// A task ended (whatever its result): joins waiting for it may go on.
    pub(crate) fn party_ended(&self, id: u64) {
        let mut s = self.lock();
        // A party's waits end before the party does; any left over go with it.
        if let Some(n) = s.parties.remove(&id) {
            if n > 0 {
                s.waiting -= 1;
                s.waits.retain(|_, w| w.party != id);
            }
        }
        drop(s);
        self.progress.fetch_add(1, Ordering::SeqCst);
    }

    /// Something moved: an item through a channel of the script.
    pub(crate) fn progressed(&self) {
        self.progress.fetch_add(1, Ordering::SeqCst);
    }

    /// The current thread's party waits at `span` for `what`, until the guard is dropped.
    pub(crate) fn wait(self: &Arc<Self>, span: Span, what: String) -> WaitGuard {
        let party = current_party();
        let start_watching;
        let id = {
            let mut s = self.lock();
            let id = s.next_wait;
            s.next_wait += 1;
            s.waits.insert(id, Wait { party, span, what });
            // A thread of a party that has ended (a stage outliving its task) counts for
            // no one.
            if let Some(n) = s.parties.get_mut(&party) {
                *n += 1;
                if *n == 1 {
                    s.waiting += 1;
                }
            }
            start_watching = !s.watching;
            s.watching = true;
            id
        };
        if start_watching {
            let weak = Arc::downgrade(self);
            let _ = std::thread::Builder::new()
                .name("flow-deadlock".into())
                .spawn(move || watch(&weak));
        }
        WaitGuard {
            owner: self.clone(),
            id,
        }
    }

    /// The deadlock found, if any (the run then fails with it).
    pub(crate) fn found(&self) -> Option<RunError> {
        self.lock().found.clone()
    }

    /// Every live party waits: the waits, in the order they began.
    fn all_waiting(&self) -> Option<Vec<(u64, Span, String)>> {
        let s = self.lock();
        if s.found.is_some() || s.parties.is_empty() {
            return None;
        }
        (s.waiting == s.parties.len()).then(|| {
            s.waits
                .iter()
                .map(|(id, w)| (*id, w.span, w.what.clone()))
                .collect()
        })
    }
}

/// The watcher: one per run, from its first wait until the run is gone.
fn watch(weak: &Weak<Deadlock>) {
    let mut streak = 0;
    let mut last: Option<(u64, u64, Vec<u64>)> = None;
    loop {
        std::thread::sleep(LOOK);
        let Some(d) = weak.upgrade() else { return };
        if d.token.is_cancelled() {
            return;
        }
        let Some(waits) = d.all_waiting() else {
            streak = 0;
            last = None;
            continue;
        };
        let now = (
            d.progress.load(Ordering::SeqCst),
            crate::os::rusage::cpu_time_us(),
            waits.iter().map(|w| w.0).collect::<Vec<_>>(),
        );
        let still = last.as_ref().is_some_and(|(p, cpu, ids)| {
            *p == now.0 && now.1.saturating_sub(*cpu) < IDLE_CPU_US && *ids == now.2
        });
        let busy = crate::os::children::running() > 0 || crate::runtime::builtins::sleeping() > 0;
        streak = if still && !busy { streak + 1 } else { 0 };
        last = Some(now);
        if streak >= CONFIRM {
            let err = report(&waits);
            d.lock().found = Some(err);
            d.token.cancel(CancelReason::Internal);
            return;
        }
    }
}

fn report(waits: &[(u64, Span, String)]) -> RunError {
    let span = waits.first().map_or_else(Span::default, |w| w.1);
    RunError::new(
        span,
        RunErrorKind::Deadlock {
            waits: waits.iter().map(|w| (w.1, w.2.clone())).collect(),
        },
    )
}
