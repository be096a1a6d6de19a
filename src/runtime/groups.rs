//! Guards that stop process groups when a token is cancelled: the first signal (INT for an
//! interrupt or `cancel`, TERM otherwise), then SIGKILL after the grace period.

use super::cancel::{CancelReason, CancelToken};
use super::process::signal_group;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Process groups of a pipeline or pool; entries are removed when reaped.
pub(crate) type Groups = Arc<Mutex<Vec<i32>>>;

/// While alive, cancellation of the token signals the groups. Dropping it (after every
/// process was reaped) ends the watcher thread.
pub(crate) struct GroupGuard {
    finished: Arc<AtomicBool>,
    wake: CancelToken,
    thread: Option<std::thread::JoinHandle<()>>,
}

pub(crate) fn guard(
    token: &CancelToken,
    groups: Groups,
    grace: Duration,
    force: CancelToken,
) -> std::io::Result<GroupGuard> {
    let finished = Arc::new(AtomicBool::new(false));
    let wake = token.child();
    let (f, w, parent) = (finished.clone(), wake.clone(), token.clone());
    let thread = std::thread::Builder::new()
        .name("flow-groups".into())
        .spawn(move || {
            w.sleep(Duration::MAX);
            if f.load(Ordering::SeqCst) {
                return;
            }
            let sig = match parent.reason() {
                Some(CancelReason::Interrupt | CancelReason::Requested) => libc::SIGINT,
                Some(CancelReason::Hangup) => libc::SIGHUP,
                _ => libc::SIGTERM,
            };
            let snapshot = |g: &Groups| g.lock().unwrap_or_else(|e| e.into_inner()).clone();
            // Each group gets the signal once (a process's own handler may take its time); groups
            // that join after the cancel (a spawn racing with it) get it too. A spawned child has
            // exec'd before its pid is known, so no signal is lost to a half-started process.
            let mut signalled: Vec<i32> = vec![];
            let deadline = Instant::now() + grace;
            loop {
                for g in snapshot(&groups) {
                    if !signalled.contains(&g) {
                        signal_group(g, sig);
                        // A stopped job would never see the signal.
                        let _ = crate::os::process::kill_group(g, libc::SIGCONT);
                        signalled.push(g);
                    }
                }
                if f.load(Ordering::SeqCst) {
                    return;
                }
                if Instant::now() >= deadline || force.is_cancelled() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            // Late joiners (spawned while shutting down) and the stubborn get SIGKILL.
            while !f.load(Ordering::SeqCst) {
                for g in snapshot(&groups) {
                    signal_group(g, libc::SIGKILL);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })?;
    Ok(GroupGuard {
        finished,
        wake,
        thread: Some(thread),
    })
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.finished.store(true, Ordering::SeqCst);
        self.wake.cancel(CancelReason::Internal);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
