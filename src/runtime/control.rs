//! Control statements: `try … catch`, `throw`, and `if ^cmd` (a command's exit status as
//! the condition). `exit(n)` is a Rhai function (`runtime::builtins`) that ends in
//! `RunErrorKind::ScriptExit`, which no `try` catches.

use super::cancel::CancelReason;
use super::exec::Executor;
use super::pipeline::Dest;
use super::run_error::{RunError, RunErrorKind};
use crate::ast::{Ident, Pipeline, Rhai, SelectArm, Stmt};
use crate::script::channel::FlowChannel;
use rhai::{Dynamic, Map};

impl Executor {
    /// `try { body } catch var { handler }`: a catchable error of the body (not an
    /// interrupt, not `exit`, nothing while this executor is being cancelled) runs the
    /// handler with `var` bound to the error as a map.
    pub(super) fn try_stmt(
        &mut self,
        body: &[Stmt],
        var: Option<&Ident>,
        handler: &[Stmt],
        dest: Dest,
    ) -> Result<Dynamic, RunError> {
        match self.block(body, dest) {
            Err(e) if e.catchable() && self.token.reason().is_none() => {
                let base = self.scope.len();
                if let Some(v) = var {
                    let map = self.error_map(&e);
                    self.scope
                        .push_dynamic(v.name.clone(), Dynamic::from_map(map));
                }
                let r = self.block(handler, dest);
                self.scope.rewind(base);
                r
            }
            r => r,
        }
    }

    /// `finally { … }` after its `try` ended with `r`: run on every way out (a success, an
    /// error, `exit`, a `cancel` of this task, Ctrl-C), as Python's `try/finally` around
    /// `CancelledError` and Go's `defer`. When this executor is being cancelled the block runs
    /// under a token of its own (its statements would be aborted at once otherwise): a child
    /// of the run's force token, so that a second Ctrl-C cuts it at once, and within the
    /// interrupt's grace period on Ctrl-C. The `try`'s outcome stands, unless the block
    /// fails: then its error does, as in Python.
    pub(super) fn finally(
        &mut self,
        block: &[Stmt],
        r: Result<Dynamic, RunError>,
    ) -> Result<Dynamic, RunError> {
        let f = if let Some(reason) = self.token.reason() {
            let rt = &self.shared.rt;
            let signalled = matches!(
                reason,
                CancelReason::Interrupt | CancelReason::Terminate | CancelReason::Hangup
            );
            let at = *rt.interrupted_at.lock().unwrap_or_else(|e| e.into_inner());
            let deadline =
                signalled.then(|| at.unwrap_or_else(std::time::Instant::now) + rt.grace());
            let cancelled = std::mem::replace(&mut self.token, rt.force.child());
            let saved = self.deadline.take();
            self.deadline = deadline;
            let f = self.block(block, Dest::Stdout);
            self.token = cancelled;
            self.deadline = saved;
            f
        } else {
            self.block(block, Dest::Stdout)
        };
        match f {
            Ok(_) => r,
            Err(e) => Err(e),
        }
    }

    /// The caught error as `#{code, message, exit, line, value}`.
    pub(super) fn error_map(&self, e: &RunError) -> Map {
        e.to_map(&self.shared.src)
    }

    /// `throw expr`: the error carrying the expression's display text.
    pub(super) fn thrown(&mut self, r: &Rhai) -> RunError {
        match self.eval(r) {
            Ok(v) => RunError::new(
                r.span,
                RunErrorKind::Thrown {
                    message: crate::script::display::display(&v),
                    value: v,
                },
            ),
            Err(e) => e,
        }
    }

    /// Run the command of `if ^cmd` (its stdout goes to flow's stdout): whether it exited 0.
    /// A non-zero status is no error; one that cannot start, or an interrupt, is.
    pub(super) fn command_succeeds(&mut self, command: &Pipeline) -> Result<bool, RunError> {
        match self.pipeline(command, Dest::Stdout) {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(e.kind, RunErrorKind::Exit { .. }) && self.token.reason().is_none() =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// `select { from ch as x => { … } … timeout D => { … } }`: wait until one channel has an
    /// item or is closed (its branch runs with `x` bound to the item, or `()`), or until the
    /// timeout (its branch runs). Of the channels ready at once, the first written that has an
    /// item is taken; a closed one only when none has an item, so that a closed channel does
    /// not starve the others (Go sets a finished channel to `nil` for that).
    /// Without a timeout it waits as `from ch` does: a wait nothing can end is a deadlock.
    pub(super) fn select(
        &mut self,
        span: crate::Span,
        arms: &[SelectArm],
        timeout: Option<&(std::time::Duration, Vec<Stmt>)>,
        dest: Dest,
    ) -> Result<Dynamic, RunError> {
        // An arm whose channel is `()` is never ready (Go's nil channel): a loop turns off a
        // finished channel's arm by setting its variable to `()`.
        let mut rxs = Vec::with_capacity(arms.len());
        let mut external = false;
        for a in arms {
            let v = self.eval(&a.chan)?;
            let t = v.type_name();
            if v.is_unit() {
                rxs.push(crossbeam_channel::never());
                continue;
            }
            match v.try_cast::<FlowChannel>() {
                Some(ch) => {
                    external |= ch.is_external();
                    rxs.push(ch.receiver());
                }
                None => {
                    return Err(RunError::new(
                        a.chan.span,
                        RunErrorKind::Value {
                            message: format!(
                                "`select` reads channels, and this is {}",
                                super::exec::type_words(t)
                            ),
                        },
                    )
                    .with_help("make one with `let ch = channel(10)`, send with `| into ch`"))
                }
            }
        }
        let deadline = timeout.map(|(d, _)| std::time::Instant::now() + *d);
        super::green::hold_worker();
        let mut waiting = None;
        let (i, item) = loop {
            // Ready at once: the first in the order written with an item, else the first
            // closed one.
            let mut closed = None;
            let item = rxs
                .iter()
                .enumerate()
                .find_map(|(i, rx)| match rx.try_recv() {
                    Ok(v) => Some((i, v)),
                    Err(crossbeam_channel::TryRecvError::Disconnected) => {
                        closed = closed.or(Some(i));
                        None
                    }
                    Err(crossbeam_channel::TryRecvError::Empty) => None,
                });
            if let Some(r) = item.or_else(|| closed.map(|i| (i, Dynamic::UNIT))) {
                break r;
            }
            let now = std::time::Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                drop(waiting);
                let (_, body) = timeout.map_or((std::time::Duration::ZERO, &[][..]), |(d, b)| {
                    (*d, b.as_slice())
                });
                return self.block(body, dest);
            }
            let step = std::time::Duration::from_millis(20);
            let wait = deadline.map_or(step, |d| d.saturating_duration_since(now).min(step));
            let mut sel = crossbeam_channel::Select::new();
            for rx in &rxs {
                sel.recv(rx);
            }
            if let Ok(op) = sel.select_timeout(wait) {
                let i = op.index();
                if let Ok(v) = op.recv(&rxs[i]) {
                    break (i, v);
                }
                // Closed: looked at again above, after the others.
                continue;
            }
            self.check_cancel(span)?;
            if let (Some(d), None, None, false) =
                (&self.shared.rt.deadlock, &waiting, deadline, external)
            {
                waiting = Some(
                    d.wait(
                        span,
                        "`select` waits for an item of these channels, and nothing sends to them"
                            .into(),
                    ),
                );
            }
        };
        drop(waiting);
        if let Some(d) = &self.shared.rt.deadlock {
            d.progressed();
        }
        let arm = &arms[i];
        let base = self.scope.len();
        self.scope.push_dynamic(arm.var.name.clone(), item);
        let r = self.block(&arm.body, dest);
        self.scope.rewind(base);
        r
    }
}
