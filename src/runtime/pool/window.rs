//! The output window: decides whose turn it is to write the stage's output and applies
//! `on_error`. Ordered pools give the turn to the oldest job not yet emitted; unordered
//! ones to finished jobs in completion order, else to any running job (which then streams).
//! The job whose turn it is writes straight through; others spool (`spool.rs`).
//! Invariants: a window slot is released when a job is emitted, not when it finishes; the
//! event channel is bounded by twice the window (each dispatched job sends at most two).

use super::super::cancel::{CancelReason, CancelToken};
use super::super::pipeline::Failure;
use super::super::run_error::{RunError, RunErrorKind};
use super::halt::HaltState;
use super::spool::Spool;
use super::stage_out::SharedOut;
use super::OnError;
use crate::runtime::builtins::err_line;
use crossbeam_channel::Receiver;
use rhai::Dynamic;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// What workers tell the window.
pub(super) enum Event {
    /// An `exec` job started; its output goes to `spool`.
    Started { seq: usize, spool: Arc<Spool> },
    /// A job ended.
    Finished(Finished),
}

pub(super) struct Finished {
    pub(super) seq: usize,
    /// A `map` job's results.
    pub(super) values: Vec<Dynamic>,
    /// Real failures (one per failed item; cancellations are not failures).
    pub(super) errors: Vec<RunError>,
    pub(super) items: usize,
    /// The job log could not take a row: the stage fails, whatever `on_error` says.
    pub(super) log_error: Option<RunError>,
}

#[derive(Default)]
struct Slot {
    spool: Option<Arc<Spool>>,
    done: Option<Finished>,
}

pub(super) struct Window {
    pub(super) out: SharedOut,
    pub(super) ordered: bool,
    /// With retries a job's turn waits until it finished: a failed attempt's output is dropped.
    pub(super) hold_until_done: bool,
    pub(super) on_error: OnError,
    pub(super) span: crate::Span,
    pub(super) token: CancelToken,
    pub(super) failure: Failure,
    pub(super) slots: Receiver<()>,
    pub(super) progress: Option<indicatif::ProgressBar>,
    pub(super) total: Arc<AtomicUsize>,
    halt: Option<Arc<HaltState>>,
    /// The script's text, for the line of an `on_error keep` record.
    pub(super) src: Arc<str>,
    jobs: BTreeMap<usize, Slot>,
    finished: VecDeque<usize>,
    live: Option<usize>,
    next: usize,
    failed: usize,
}

impl Window {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        out: SharedOut,
        ordered: bool,
        hold_until_done: bool,
        on_error: OnError,
        span: crate::Span,
        token: CancelToken,
        failure: Failure,
        slots: Receiver<()>,
        progress: Option<indicatif::ProgressBar>,
        total: Arc<AtomicUsize>,
        halt: Option<Arc<HaltState>>,
    ) -> Self {
        Window {
            out,
            ordered,
            hold_until_done,
            on_error,
            span,
            token,
            failure,
            slots,
            progress,
            total,
            halt,
            src: Arc::from(""),
            jobs: BTreeMap::new(),
            finished: VecDeque::new(),
            live: None,
            next: 0,
            failed: 0,
        }
    }

    /// Run until every worker is gone.
    pub(super) fn run(mut self, events: &Receiver<Event>) {
        let mut open = true;
        loop {
            // Woken now and then: a running job may have spilled, which is a reason to stream.
            let ev = match events.recv_timeout(std::time::Duration::from_millis(50)) {
                Ok(ev) => ev,
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    if open && !self.ordered && self.live.is_none() && !self.advance() {
                        open = self.stop();
                    }
                    continue;
                }
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
            };
            match ev {
                Event::Started { seq, spool } => {
                    if !open {
                        spool.close();
                        continue;
                    }
                    self.jobs.entry(seq).or_default().spool = Some(spool);
                }
                Event::Finished(f) => {
                    if !open {
                        continue;
                    }
                    if !self.ordered {
                        self.finished.push_back(f.seq);
                    }
                    let seq = f.seq;
                    self.jobs.entry(seq).or_default().done = Some(f);
                }
            }
            if open && !self.advance() {
                open = self.stop();
            }
        }
        if let Some(pb) = &self.progress {
            pb.finish_and_clear();
        }
        if open {
            // Jobs whose turn never came: a worker that saw the stage stopped dropped a job
            // queued before them (`on_error fail` cancels what has not started), so their
            // output cannot be written in order. Their failures and log errors are never
            // lost: the first one in order is the stage's. (Under `on_error keep` nothing
            // fails the stage, so nothing drops a job.)
            for s in std::mem::take(&mut self.jobs).into_values() {
                let Some(done) = s.done else { continue };
                if !self.failures(done.errors) {
                    return;
                }
                if let Some(e) = done.log_error {
                    self.failure.fail(e);
                    return;
                }
            }
            self.summary();
        }
    }

    /// Stopped (a failure, or nobody reads the output): let intake and the workers wind
    /// down; their events are drained so that none blocks. Returns the new `open`: false.
    fn stop(&mut self) -> bool {
        // A failed write of the stage's output is the stage's failure, before any job's:
        // the jobs were stopped because of it (`seq` killed by SIGPIPE is not the cause).
        let failed = self
            .out
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take_failure();
        if let Some(e) = failed {
            self.failure.fail(e);
        }
        self.token.cancel(CancelReason::Internal);
        for s in std::mem::take(&mut self.jobs).into_values() {
            if let Some(sp) = s.spool {
                sp.close();
            }
        }
        self.slots = crossbeam_channel::never();
        false
    }

    /// Emit what can be emitted now. False: stop the stage.
    fn advance(&mut self) -> bool {
        loop {
            if let Some(cur) = self.live {
                if self.jobs.get(&cur).is_some_and(|s| s.done.is_none()) {
                    return true;
                }
                self.live = None;
                if !self.emit(cur) {
                    return false;
                }
                continue;
            }
            let ready = |s: &Slot, hold: bool| s.done.is_some() || (!hold && s.spool.is_some());
            let cand = if self.ordered {
                match self.jobs.get(&self.next) {
                    Some(s) if ready(s, self.hold_until_done) => Some(self.next),
                    _ => None,
                }
            } else {
                let mut c = None;
                while let Some(seq) = self.finished.pop_front() {
                    if self.jobs.contains_key(&seq) {
                        c = Some(seq);
                        break;
                    }
                }
                // No finished job waits: a running job whose output outgrew its memory
                // buffer streams instead of going to disk and back.
                c.or_else(|| {
                    self.jobs
                        .iter()
                        .find(|(_, s)| {
                            !self.hold_until_done && s.spool.as_ref().is_some_and(|sp| sp.spilled())
                        })
                        .map(|(k, _)| *k)
                })
            };
            let Some(seq) = cand else {
                return true;
            };
            if self.ordered {
                self.next += 1;
            }
            if let Some(sp) = self.jobs.get(&seq).and_then(|s| s.spool.clone()) {
                if sp.go_live().is_err() {
                    // The spool could not give the output back: the stage's failure (a
                    // failed write of the output itself is recorded by `stop`).
                    if let Some(message) = sp.take_error() {
                        self.failure
                            .fail(RunError::new(self.span, RunErrorKind::Io { message }));
                    }
                    return false;
                }
            }
            self.live = Some(seq);
        }
    }

    /// A finished job whose turn it is: its values, the end of its output, its failures.
    fn emit(&mut self, seq: usize) -> bool {
        let Some(slot) = self.jobs.remove(&seq) else {
            return true;
        };
        let Some(done) = slot.done else {
            return true;
        };
        let mut values = done.values;
        if self.on_error == OnError::Keep {
            // An `exec` job's failure: its record follows its output, in its place (a `map`
            // item's record is among its values already).
            values.extend(done.errors.iter().map(|e| e.kept(&self.src, None)));
        }
        let written = {
            let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
            out.values(values).and_then(|()| out.end_job())
        };
        if let Some(sp) = &slot.spool {
            sp.close();
        }
        let _ = self.slots.recv();
        if let Some(pb) = &self.progress {
            pb.inc(done.items as u64);
        }
        if written.is_err() {
            return false;
        }
        let log_error = done.log_error;
        if !self.failures(done.errors) {
            return false;
        }
        if let Some(e) = log_error {
            self.failure.fail(e);
            return false;
        }
        true
    }

    /// A job's failures, as `on_error` says: the stage's failure (false: stop), or reported
    /// and counted.
    fn failures(&mut self, errors: Vec<RunError>) -> bool {
        for e in errors {
            match self.on_error {
                OnError::Keep => {}
                OnError::Fail => {
                    self.failure.fail(e);
                    return false;
                }
                OnError::Skip | OnError::Continue | OnError::Halt(_) => {
                    self.failed += 1;
                    let word = if self.on_error == OnError::Skip {
                        "warning"
                    } else {
                        "error"
                    };
                    let msg = format!("flow: {word}: {e}");
                    match &self.progress {
                        Some(pb) => pb.suspend(|| err_line(&msg)),
                        None => err_line(&msg),
                    }
                    if let Some(pb) = &self.progress {
                        pb.set_message(format!("{} failed", self.failed));
                    }
                }
            }
        }
        true
    }

    fn summary(&self) {
        if self.failed == 0 {
            return;
        }
        let msg = format!(
            "{} of {} items failed",
            self.failed,
            self.total.load(Ordering::Relaxed)
        );
        let msg = match &self.halt {
            Some(h) if h.halted() => format!(
                "stopped by `{}`: {} of {} finished items failed",
                h.describe(),
                self.failed,
                h.finished()
            ),
            _ => msg,
        };
        match self.on_error {
            OnError::Continue | OnError::Halt(_) => self.failure.fail(RunError::new(
                self.span,
                RunErrorKind::Value { message: msg },
            )),
            _ => err_line(&format!("flow: {msg}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::pool::stage_out::StageOut;
    use std::sync::Mutex;

    fn finished(seq: usize, values: &[i64], error: Option<&str>) -> Event {
        Event::Finished(Finished {
            seq,
            values: values.iter().map(|v| Dynamic::from(*v)).collect(),
            errors: error
                .map(|m| {
                    RunError::new(
                        crate::Span::default(),
                        RunErrorKind::Value { message: m.into() },
                    )
                })
                .into_iter()
                .collect(),
            items: values.len().max(1),
            log_error: None,
        })
    }

    /// A worker that saw the stage cancelled drops the job it had just taken (seq 1): the
    /// failed job after it (seq 2) never gets its turn, and its failure must still be the
    /// stage's, not lost with the job's place.
    #[test]
    fn a_failure_whose_turn_never_comes_is_not_lost() {
        let (tx, rx) = crossbeam_channel::bounded(16);
        let out: SharedOut = Arc::new(Mutex::new(StageOut::Items {
            tx,
            partial: vec![],
            batch: vec![],
            sep: None,
        }));
        let token = CancelToken::new();
        let failure = Failure::new(token.clone());
        let (slot_tx, slot_rx) = crossbeam_channel::bounded(8);
        for _ in 0..3 {
            slot_tx.send(()).expect("room for the slots");
        }
        let w = Window::new(
            out,
            true,
            false,
            OnError::Fail,
            crate::Span::default(),
            token,
            failure.clone(),
            slot_rx,
            None,
            Arc::default(),
            None,
        );
        let (ev_tx, ev_rx) = crossbeam_channel::bounded(8);
        ev_tx.send(finished(0, &[10], None)).expect("send");
        ev_tx
            .send(finished(2, &[], Some("bad item 3")))
            .expect("send");
        drop(ev_tx);
        w.run(&ev_rx);
        let got: Vec<i64> = rx
            .try_iter()
            .flatten()
            .map(|v| v.as_int().unwrap_or(-1))
            .collect();
        assert_eq!(got, [10], "what came before the gap is written");
        let e = failure.take().expect("the failure is the stage's");
        assert!(e.to_string().contains("bad item 3"), "{e}");
    }
}
