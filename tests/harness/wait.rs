//! Waiting for readiness. A test that must act once a child has reached some point (its
//! handler is installed, its job runs, a row is logged) waits for a sign of that point — a
//! file the script writes, a line it prints, a process in `/proc` — polling with a deadline.
//! It never sleeps for a guessed time: a guess is too short on a slow machine (the test then
//! checks something else, or fails) and too long everywhere else. Deadlines only bound a
//! failure, so they are generous.

use std::path::Path;
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// How often [`wait_until`] looks.
const EVERY: Duration = Duration::from_millis(5);

/// Look at `cond` every `every` until it holds (`true`) or `limit` has passed (`false`).
/// The condition is looked at once more after a pause that crossed the deadline, so a test
/// thread that was not scheduled for a while does not fail a condition that holds.
pub(crate) fn poll_until(limit: Duration, every: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(every);
    }
}

/// [`poll_until`], looking every 5 ms.
pub(crate) fn wait_until(limit: Duration, cond: impl FnMut() -> bool) -> bool {
    poll_until(limit, EVERY, cond)
}

/// Wait until `path` exists; past `limit`, fail the test naming it.
#[track_caller]
pub(crate) fn wait_for_file(path: &Path, limit: Duration) {
    assert!(
        wait_until(limit, || path.exists()),
        "{} did not appear within {limit:?}",
        path.display()
    );
}

/// Wait for `child` to exit, for at most `limit`: its status, or `None` if it still runs
/// (the caller kills it and reports). Looks every 2 ms, so the moment of the exit is known
/// to within a few milliseconds.
pub(crate) fn wait_for_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let mut status = None;
    poll_until(limit, Duration::from_millis(2), || {
        status = child.try_wait().expect("poll a child process");
        status.is_some()
    });
    status
}

#[test]
fn poll_until_sees_a_condition_that_becomes_true_and_gives_up_on_one_that_does_not() {
    let t0 = Instant::now();
    assert!(wait_until(Duration::from_secs(10), || t0.elapsed()
        > Duration::from_millis(20)));
    assert!(t0.elapsed() < Duration::from_secs(5));
    let t1 = Instant::now();
    assert!(!wait_until(Duration::from_millis(30), || false));
    assert!(t1.elapsed() >= Duration::from_millis(30));
}
