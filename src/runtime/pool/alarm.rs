//! A worker's alarm clock for `timeout`: one thread per worker (not one per item) that
//! cancels the armed item's token with `CancelReason::Timeout` when its deadline passes.
//! The token reaches everything the item runs: a job's process group (its guard sends
//! SIGTERM, then SIGKILL after the grace period), `run()` and `sleep` inside a `map` block.

use super::super::cancel::{CancelReason, CancelToken};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

#[derive(Default)]
struct State {
    armed: Option<(Instant, CancelToken)>,
    stop: bool,
}

type Shared = Arc<(Mutex<State>, Condvar)>;

pub(super) struct Alarm {
    shared: Shared,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Alarm {
    /// Err: the system refused the alarm's thread.
    pub(super) fn new() -> std::io::Result<Alarm> {
        let shared: Shared = Arc::default();
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("flow-alarm".into())
            .spawn(move || ring(&s))?;
        Ok(Alarm {
            shared,
            thread: Some(thread),
        })
    }

    /// Cancel `token` at `at`, unless disarmed first.
    pub(super) fn arm(&self, at: Instant, token: CancelToken) {
        let (m, c) = &*self.shared;
        m.lock().unwrap_or_else(|e| e.into_inner()).armed = Some((at, token));
        c.notify_one();
    }

    pub(super) fn disarm(&self) {
        let (m, c) = &*self.shared;
        m.lock().unwrap_or_else(|e| e.into_inner()).armed = None;
        c.notify_one();
    }
}

fn ring(shared: &Shared) {
    let (m, c) = &**shared;
    let mut s = m.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if s.stop {
            return;
        }
        match &s.armed {
            None => s = c.wait(s).unwrap_or_else(|e| e.into_inner()),
            Some((at, token)) => {
                let now = Instant::now();
                if now >= *at {
                    token.cancel(CancelReason::Timeout);
                    s.armed = None;
                } else {
                    let left = *at - now;
                    s = c.wait_timeout(s, left).unwrap_or_else(|e| e.into_inner()).0;
                }
            }
        }
    }
}

impl Drop for Alarm {
    fn drop(&mut self) {
        let (m, c) = &*self.shared;
        m.lock().unwrap_or_else(|e| e.into_inner()).stop = true;
        c.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rings_once_armed_and_not_after_disarm() {
        let a = Alarm::new().unwrap();
        let t = CancelToken::new();
        a.arm(Instant::now() + Duration::from_millis(20), t.clone());
        assert!(!t.sleep(Duration::from_secs(5)));
        assert_eq!(t.reason(), Some(CancelReason::Timeout));
        let u = CancelToken::new();
        a.arm(Instant::now() + Duration::from_millis(30), u.clone());
        a.disarm();
        std::thread::sleep(Duration::from_millis(60));
        assert!(!u.is_cancelled());
    }
}
