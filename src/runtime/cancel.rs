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
}

impl CancelReason {
    fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => CancelReason::Internal,
            2 => CancelReason::Requested,
            3 => CancelReason::Interrupt,
            4 => CancelReason::Terminate,
            5 => CancelReason::Timeout,
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
    children: Mutex<Vec<Weak<Inner>>>,
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
            kids.retain(|w| w.strong_count() > 0);
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
        let kids: Vec<_> = std::mem::take(
            &mut *self
                .inner
                .children
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        for k in kids.iter().filter_map(Weak::upgrade) {
            CancelToken { inner: k }.cancel(reason);
        }
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
