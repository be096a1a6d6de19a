//! Intake: numbers the stage's input items, skips what a `resume` log says is done, forms
//! jobs (one item, `chunk K` items, or an adaptive run of items for `pool map`) and hands
//! them to the workers. Invariant: a job is dispatched only after it got a window slot, and
//! the window releases a slot when a job's output is *emitted*, so however slow one item is,
//! at most `window` jobs are dispatched and not yet emitted.

use super::super::cancel::CancelToken;
use super::super::value::Batch;
use super::job_log::Keyer;
use crate::script::display::display;
use crossbeam_channel::{Receiver, Sender};
use rhai::Dynamic;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A unit of dispatch.
pub(super) struct Job {
    /// Dispatch order, 0-based: the order output is emitted in (ordered pools).
    pub(super) seq: usize,
    pub(super) items: Vec<Dynamic>,
    /// Each item's 1-based position in the stage's input (`seq` in the log).
    pub(super) pos: Vec<usize>,
    /// Each item's resume key (empty without `log`).
    pub(super) keys: Vec<u64>,
}

/// Largest job `pool map` forms by itself.
const MAX_JOB: usize = 1024;

/// Adapt the job size of `pool map` without `chunk` to the measured cost of a job: jobs
/// double while they finish in under 1 ms (channel hand-offs would dominate trivial items)
/// and halve above 10 ms (slow items keep every worker busy and the tail short).
pub(super) fn adapt_job_size(size: &AtomicUsize, elapsed: Duration) {
    let cur = size.load(Ordering::Relaxed);
    if elapsed < Duration::from_millis(1) && cur < MAX_JOB {
        size.store((cur * 2).min(MAX_JOB), Ordering::Relaxed);
    } else if elapsed > Duration::from_millis(10) && cur > 1 {
        size.store(cur / 2, Ordering::Relaxed);
    }
}

pub(super) struct Intake {
    pub(super) input: Receiver<Batch>,
    pub(super) jobs: Sender<Job>,
    /// One slot per dispatched, not yet emitted job (bounded by the window).
    pub(super) slots: Sender<()>,
    pub(super) token: CancelToken,
    pub(super) workers: usize,
    /// `chunk K`; `None`: adaptive (`pool map`) or 1 (`exec`).
    pub(super) chunk: Option<usize>,
    pub(super) adaptive: bool,
    pub(super) job_size: Arc<AtomicUsize>,
    /// Items to run (not skipped by `resume`), for the summary.
    pub(super) total: Arc<AtomicUsize>,
    pub(super) keyer: Option<Keyer>,
    pub(super) done_before: HashSet<u64>,
}

impl Intake {
    /// Run until the input ends, the stage is cancelled or the workers are gone.
    pub(super) fn run(mut self) {
        let mut job = Job {
            seq: 0,
            items: vec![],
            pos: vec![],
            keys: vec![],
        };
        let mut pos = 0;
        let mut next_seq = 0;
        'intake: for batch in self.input.clone() {
            let size = if self.adaptive {
                // Never fewer jobs than workers for a batch.
                self.job_size
                    .load(Ordering::Relaxed)
                    .min(batch.len().div_ceil(self.workers))
                    .max(1)
            } else {
                self.chunk.unwrap_or(1)
            };
            for it in batch {
                pos += 1;
                if let Some(k) = &mut self.keyer {
                    let key = k.key(&display(&it));
                    if self.done_before.contains(&key) {
                        continue;
                    }
                    job.keys.push(key);
                }
                self.total.fetch_add(1, Ordering::Relaxed);
                job.items.push(it);
                job.pos.push(pos);
                if job.items.len() >= size && !self.dispatch(&mut job, &mut next_seq) {
                    break 'intake;
                }
            }
            if self.adaptive && !job.items.is_empty() && !self.dispatch(&mut job, &mut next_seq) {
                break 'intake;
            }
        }
        if !job.items.is_empty() {
            self.dispatch(&mut job, &mut next_seq);
        }
    }

    fn dispatch(&self, job: &mut Job, next_seq: &mut usize) -> bool {
        if self.token.is_cancelled() || self.slots.send(()).is_err() || self.token.is_cancelled() {
            return false;
        }
        let j = Job {
            seq: *next_seq,
            items: std::mem::take(&mut job.items),
            pos: std::mem::take(&mut job.pos),
            keys: std::mem::take(&mut job.keys),
        };
        *next_seq += 1;
        self.jobs.send(j).is_ok()
    }
}
