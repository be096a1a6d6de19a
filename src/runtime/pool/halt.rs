//! Failure thresholds (`on_error fail 3`, `fail 10%`, `… soon`; GNU parallel's `--halt`):
//! failures below the threshold are reported as they happen and the pool goes on; the one
//! that reaches it stops the pool — now (intake stops, running jobs are cancelled) or soon
//! (intake stops, running jobs finish). Either way the stage fails at the end.

use crate::ast::Halt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A threshold and the counts it is judged on, shared by a pool's workers and its window.
#[derive(Debug)]
pub(super) struct HaltState {
    pub(super) policy: Halt,
    finished: AtomicUsize,
    failed: AtomicUsize,
    halted: AtomicBool,
}

/// A percentage is judged once this many jobs have finished (one early failure out of one
/// finished job is not yet "10% of the jobs").
const PERCENT_AFTER: usize = 3;

impl HaltState {
    pub(super) fn new(policy: Halt) -> Self {
        HaltState {
            policy,
            finished: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            halted: AtomicBool::new(false),
        }
    }

    /// Count a finished job (`failures` of its items failed). True when this job is the
    /// one that reached the threshold.
    pub(super) fn record(&self, items: usize, failures: usize) -> bool {
        if self.halted() && !self.policy.soon {
            // Stopped now: what ends after that was cancelled, not finished.
            return false;
        }
        let finished = self.finished.fetch_add(items, Ordering::SeqCst) + items;
        let failed = self.failed.fetch_add(failures, Ordering::SeqCst) + failures;
        if failures == 0 || self.halted.load(Ordering::SeqCst) {
            return false;
        }
        let n = self.policy.count as usize;
        let reached = if self.policy.percent {
            finished >= PERCENT_AFTER && failed * 100 >= n * finished
        } else {
            failed >= n
        };
        reached && !self.halted.swap(true, Ordering::SeqCst)
    }

    /// Items finished so far (failed or not; cancelled ones are not counted).
    pub(super) fn finished(&self) -> usize {
        self.finished.load(Ordering::SeqCst)
    }

    /// Whether the threshold was reached: no new job may start.
    pub(super) fn halted(&self) -> bool {
        self.halted.load(Ordering::SeqCst)
    }

    /// The policy as written, for messages: `fail 3 soon`.
    pub(super) fn describe(&self) -> String {
        let p = self.policy;
        format!(
            "on_error fail {}{}{}",
            p.count,
            if p.percent { "%" } else { "" },
            if p.soon { " soon" } else { "" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(count: u32, percent: bool) -> HaltState {
        HaltState::new(Halt {
            count,
            percent,
            soon: false,
        })
    }

    #[test]
    fn a_count_is_reached_by_the_nth_failure_once() {
        let h = state(2, false);
        assert!(!h.record(1, 1));
        assert!(!h.record(1, 0));
        assert!(h.record(1, 1));
        assert!(h.halted());
        assert!(!h.record(1, 1), "reached once");
    }

    #[test]
    fn a_percentage_waits_for_three_finished_jobs() {
        let h = state(50, true);
        assert!(!h.record(1, 1), "1 of 1 is too early to judge");
        assert!(!h.record(1, 0));
        assert!(h.record(1, 1), "2 of 3 ≥ 50%");
        let h = state(50, true);
        for _ in 0..3 {
            assert!(!h.record(1, 0));
        }
        assert!(!h.record(1, 1), "1 of 4 < 50%");
        assert!(!h.record(1, 0));
        assert!(!h.record(1, 1), "2 of 6");
        assert!(!h.record(1, 1), "3 of 7");
        assert!(h.record(1, 1), "4 of 8 = 50%");
    }
}
