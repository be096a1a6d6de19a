//! A task's block run a statement at a time, so that a task waiting in a `sleep` that is a
//! statement of its block holds no stack.
//!
//! A task's statements run on a stack (a coroutine); a wait deep inside one (a `sleep` in a
//! loop or a `fn`, a `join`) suspends the coroutine and keeps its stack. A `sleep(secs)`
//! written as a statement of the task's own block is done between statements instead: its
//! argument is evaluated, the task's step ends, its stack goes back to the pool, and the
//! scheduler steps it again when the time comes or a cancel wakes it. This is what lets
//! 100,000 tasks wait at once (asyncio's cost), where 65,530 memory mappings (two per
//! stack) allowed 32,000.

use super::{dest_at, Dest, Executor};
use crate::ast::{Rhai, Stmt, StmtKind};
use crate::runtime::green;
use crate::runtime::run_error::{RunError, RunErrorKind};
use crate::Span;
use rhai::Dynamic;
use std::time::{Duration, Instant};

/// A task's block, part-way through.
pub(super) struct BlockSteps {
    stmts: Vec<Stmt>,
    next: usize,
    last: Dynamic,
    /// A statement `sleep` waiting: its end (`None`: forever), and the count that tells the
    /// deadlock watcher a script sleeps.
    sleeping: Option<(Option<Instant>, crate::runtime::builtins::Sleeping)>,
}

impl BlockSteps {
    pub(super) fn new(stmts: Vec<Stmt>) -> Self {
        BlockSteps {
            stmts,
            next: 0,
            last: Dynamic::UNIT,
            sleeping: None,
        }
    }

    /// Run statements until the block ends (its value) or waits in a statement `sleep`
    /// (`Ok(None)`; `deadline` says until when).
    pub(super) fn advance(&mut self, ex: &mut Executor) -> Result<Option<Dynamic>, RunError> {
        if let Some((at, _)) = &self.sleeping {
            let at = *at;
            let span = self.stmts[self.next].span;
            if let Some(me) = green::current() {
                ex.token.remove_waker(&me);
            }
            if let Err(e) = ex.check_cancel(span) {
                self.sleeping = None;
                return Err(e);
            }
            if at.is_none_or(|at| Instant::now() < at) {
                if let Some(me) = green::current() {
                    ex.token.add_waker(&me);
                }
                return Ok(None);
            }
            self.sleeping = None;
            self.last = Dynamic::UNIT;
            self.next += 1;
        }
        let n = self.stmts.len();
        while self.next < n {
            let s = &self.stmts[self.next];
            if let Some(arg) = statement_sleep(s, ex) {
                ex.check_cancel(s.span)?;
                let secs = ex.in_own_ctx(|ex| ex.eval(&arg))?;
                let secs = seconds(&secs).ok_or_else(|| {
                    RunError::new(
                        arg.span,
                        RunErrorKind::Value {
                            message: format!(
                                "`sleep` needs a number of seconds, got {}",
                                super::type_words(secs.type_name())
                            ),
                        },
                    )
                })?;
                let at = Duration::try_from_secs_f64(secs.max(0.0))
                    .ok()
                    .and_then(|d| Instant::now().checked_add(d));
                if let Some(me) = green::current() {
                    ex.token.add_waker(&me);
                }
                self.sleeping = Some((at, crate::runtime::builtins::Sleeping::start()));
                return Ok(None);
            }
            self.last = ex.stmt(s, dest_at(self.next, n, Dest::Collect))?;
            self.next += 1;
        }
        Ok(Some(std::mem::take(&mut self.last)))
    }

    /// Until when the block waits (`None`: until woken).
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.sleeping.as_ref().and_then(|(at, _)| *at)
    }
}

/// The argument of `s` when `s` is a call of flow's own `sleep` with one argument, written
/// as a statement: `sleep(1)`, `sleep(d * 2);`.
fn statement_sleep(s: &Stmt, ex: &Executor) -> Option<Rhai> {
    let StmtKind::Rhai(r) = &s.kind else {
        return None;
    };
    let text = r.code.trim_end();
    let text = text.strip_suffix(';').unwrap_or(text).trim_end();
    let lead = text.len() - text.trim_start().len();
    let rest = text.trim_start().strip_prefix("sleep")?;
    let open = rest.len() - rest.trim_start().len();
    let inner = rest.trim_start().strip_prefix('(')?.strip_suffix(')')?;
    if !one_expression(inner) || inner.trim().is_empty() || !ex.shared.builtin("sleep") {
        return None;
    }
    let start = r.span.start + lead + "sleep".len() + open + 1;
    Some(Rhai {
        code: inner.to_string(),
        span: Span {
            start,
            end: start + inner.len(),
        },
    })
}

/// Whether `t` is one expression whose brackets balance: no comma, semicolon or closing
/// bracket outside them (`1, 2` and `1) + (2` are not). Strings and characters are skipped.
fn one_expression(t: &str) -> bool {
    if t.contains("//") || t.contains("/*") {
        return false;
    }
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in t.chars() {
        if let Some(q) = quote {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                _ if c == q => quote = None,
                _ => {}
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            ',' | ';' if depth == 0 => return false,
            _ => {}
        }
    }
    depth == 0 && quote.is_none()
}

fn seconds(v: &Dynamic) -> Option<f64> {
    #[allow(clippy::cast_precision_loss)] // As Rhai's `sleep(int)` does.
    v.as_int()
        .map(|i| i as f64)
        .ok()
        .or_else(|| v.as_float().ok())
}

#[cfg(test)]
mod tests {
    use super::one_expression;

    #[test]
    fn one_expression_is_one() {
        for t in [
            "1",
            "d * 2",
            "f(a, b)",
            "[1, 2].len()",
            "\"a,b\".len()",
            "x[0]",
            "a / 2",
            "#{a: 1}.a",
        ] {
            assert!(one_expression(t), "{t}");
        }
        for t in [
            "1, 2",
            "1) + (2",
            "a; b",
            "\"open",
            "(1",
            "x // note",
            "x /* note */",
        ] {
            assert!(!one_expression(t), "{t}");
        }
    }
}
