//! Control statements: `try … catch`, `throw`, and `if ^cmd` (a command's exit status as
//! the condition). `exit(n)` is a Rhai function (`runtime::builtins`) that ends in
//! `RunErrorKind::ScriptExit`, which no `try` catches.

use super::exec::Executor;
use super::pipeline::Dest;
use super::run_error::{RunError, RunErrorKind};
use crate::ast::{Ident, Pipeline, Rhai, Stmt};
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

    /// The caught error as `#{code, message, exit, line, value}`.
    fn error_map(&self, e: &RunError) -> Map {
        let code = miette::Diagnostic::code(e).map_or_else(String::new, |c| c.to_string());
        let line = self
            .shared
            .src
            .get(..e.span.start)
            .map_or(0, |s| s.matches('\n').count())
            + 1;
        let mut m = Map::new();
        m.insert("code".into(), Dynamic::from(code));
        m.insert("message".into(), Dynamic::from(e.to_string()));
        m.insert("exit".into(), Dynamic::from(e.status()));
        m.insert("line".into(), Dynamic::from(line as i64));
        // What `throw` threw, as it was (a map, a number…); `()` for any other error.
        let value = match &e.kind {
            RunErrorKind::Thrown { value, .. } => value.clone(),
            _ => Dynamic::UNIT,
        };
        m.insert("value".into(), value);
        m
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
}
