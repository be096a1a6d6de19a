//! The one cancellation mechanism: a tree of tokens. Cancelling a token cancels its
//! descendants and wakes everything waiting on them (sleeps, channel waits, process reapers).

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

/// Why a token was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    /// A stage failed or a consumer finished: stop quietly.
    Internal = 1,
    /// `cancel h` or the host asked.
    Requested = 2,
    /// SIGINT (Ctrl-C).
    Interrupt = 3,
    /// SIGTERM.
    Terminate = 4,
    /// A timeout fired.
    Timeout = 5,
    /// flow's stdout was closed by its reader (`flow … | head -1`): stop everything quietly.
    StdoutClosed = 6,
    /// SIGHUP: the terminal went away.
    Hangup = 7,
}

impl CancelReason {
    fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => CancelReason::Internal,
            2 => CancelReason::Requested,
            3 => CancelReason::Interrupt,
            4 => CancelReason::Terminate,
            5 => CancelReason::Timeout,
            6 => CancelReason::StdoutClosed,
            7 => CancelReason::Hangup,
            _ => return None,
        })
    }
}

#[derive(Debug, Default)]
struct Inner {
    cancelled: AtomicBool,
    reason: AtomicU8,
    lock: Mutex<()>,
    cond: Condvar,
    /// Tasks waiting on this token (threads wait on `cond`).
    wakers: super::green::Wakers,
    children: Mutex<Children>,
}

/// A token's children, pruned of dead ones only when the list has doubled since the last
/// pruning: a script that spawns 10,000 tasks pays for each dead entry once, not once per
/// spawn.
#[derive(Debug, Default)]
struct Children {
    list: Vec<Weak<Inner>>,
    prune_at: usize,
}

impl Children {
    fn push(&mut self, child: Weak<Inner>) {
        if self.list.len() >= self.prune_at {
            self.list.retain(|w| w.strong_count() > 0);
            self.prune_at = (self.list.len() * 2).max(16);
        }
        self.list.push(child);
    }
}

/// A cancellation handle; clones share state.
#[derive(Debug, Clone, Default)]
pub struct CancelToken {
    inner: Arc<Inner>,
}

impl CancelToken {
    /// A fresh, uncancelled root token.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A token cancelled whenever `self` is (but not the other way round).
    #[must_use]
    pub fn child(&self) -> CancelToken {
        let child = CancelToken::new();
        if let Some(r) = self.reason() {
            child.cancel(r);
        } else {
            let mut kids = self
                .inner
                .children
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            kids.push(Arc::downgrade(&child.inner));
            // Re-check: a cancel may have raced with the registration.
            if let Some(r) = self.reason() {
                drop(kids);
                child.cancel(r);
            }
        }
        child
    }

    /// Cancel this token and all its descendants; the first reason wins.
    pub fn cancel(&self, reason: CancelReason) {
        if self.inner.cancelled.swap(true, Ordering::SeqCst) {
            return;
        }
        self.inner.reason.store(reason as u8, Ordering::SeqCst);
        {
            let _g = self.inner.lock.lock().unwrap_or_else(|e| e.into_inner());
            self.inner.cond.notify_all();
        }
        self.inner.wakers.wake_all();
        let kids = std::mem::take(
            &mut self
                .inner
                .children
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .list,
        );
        for k in kids.iter().filter_map(Weak::upgrade) {
            CancelToken { inner: k }.cancel(reason);
        }
    }

    /// Whether `other` is this token (a clone of it), not merely one like it.
    pub(crate) fn same(&self, other: &CancelToken) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Wake `t` when this token is cancelled (at once if it already is).
    pub(crate) fn add_waker(&self, t: &std::sync::Arc<super::green::Task>) {
        self.inner.wakers.add(t);
        if self.is_cancelled() {
            t.wake();
        }
    }

    pub(crate) fn remove_waker(&self, t: &std::sync::Arc<super::green::Task>) {
        self.inner.wakers.remove(t);
    }

    /// Whether cancellation was requested.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::Relaxed)
    }

    /// Why, if cancelled.
    #[must_use]
    pub fn reason(&self) -> Option<CancelReason> {
        if self.is_cancelled() {
            CancelReason::from_u8(self.inner.reason.load(Ordering::SeqCst))
        } else {
            None
        }
    }

    /// Sleep for `d` or until cancelled; returns false if cancelled.
    pub fn sleep(&self, d: Duration) -> bool {
        // An unrepresentable deadline (`Duration::MAX`) means "until cancelled".
        let deadline = Instant::now().checked_add(d);
        if let Some(me) = super::green::current() {
            // In a task: suspend, leaving the thread to other tasks.
            self.add_waker(&me);
            let woke = loop {
                if self.is_cancelled() {
                    break false;
                }
                if deadline.is_some_and(|dl| Instant::now() >= dl) {
                    break true;
                }
                super::green::park(deadline);
            };
            self.remove_waker(&me);
            return woke;
        }
        let mut g = self.inner.lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if self.is_cancelled() {
                return false;
            }
            let now = Instant::now();
            let left = match deadline {
                Some(dl) if now >= dl => return true,
                Some(dl) => dl - now,
                None => Duration::from_secs(3600),
            };
            g = self
                .inner
                .cond
                .wait_timeout(g, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_children_are_pruned_and_live_ones_kept() {
        let p = CancelToken::new();
        let live: Vec<_> = (0..10).map(|_| p.child()).collect();
        for _ in 0..10_000 {
            drop(p.child());
        }
        let len = p.inner.children.lock().unwrap().list.len();
        assert!(len < 64, "{len} entries kept for 10 live children");
        p.cancel(CancelReason::Requested);
        assert!(live.iter().all(CancelToken::is_cancelled));
    }

    #[test]
    fn child_follows_parent() {
        let p = CancelToken::new();
        let c = p.child();
        let gc = c.child();
        p.cancel(CancelReason::Interrupt);
        assert_eq!(gc.reason(), Some(CancelReason::Interrupt));
    }

    #[test]
    fn sleep_wakes_on_cancel() {
        let t = CancelToken::new();
        let t2 = t.clone();
        let h = std::thread::spawn(move || t2.sleep(Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(20));
        t.cancel(CancelReason::Requested);
        assert!(!h.join().unwrap());
    }
}
