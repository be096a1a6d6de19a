//! Variable scopes of the checker: what `let` and `for` declared, block by block.

use crate::Span;
use std::collections::HashMap;

/// What a name in scope holds, as far as the checker can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Var {
    /// A plain value, declared at the span (none for `args` and `it`).
    Value(Option<Span>),
    /// A task handle: `let h = spawn …`.
    Task,
    /// A value that may hold task handles (`let hs = [a, b]`, a loop variable): `join` and
    /// `cancel` take it, and the run says what it holds if it holds no handle.
    Maybe(Option<Span>),
    /// Declared outside the script (REPL, host): may be anything.
    Unknown,
}

/// A stack of scopes; the innermost declaration of a name wins.
#[derive(Debug)]
pub(crate) struct Scopes {
    stack: Vec<HashMap<String, Var>>,
}

impl Scopes {
    /// The script's top scope: `args` and the variables the host declared.
    pub(crate) fn new(known: &[String]) -> Self {
        let mut top = HashMap::new();
        top.insert("args".to_string(), Var::Value(None));
        for k in known {
            top.insert(k.clone(), Var::Unknown);
        }
        Scopes { stack: vec![top] }
    }

    pub(crate) fn push(&mut self) {
        self.stack.push(HashMap::new());
    }

    pub(crate) fn pop(&mut self) {
        // The top scope is never popped: push and pop come in pairs.
        if self.stack.len() > 1 {
            self.stack.pop();
        }
    }

    pub(crate) fn declare(&mut self, name: &str, var: Var) {
        if let Some(s) = self.stack.last_mut() {
            s.insert(name.to_string(), var);
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<Var> {
        self.stack.iter().rev().find_map(|s| s.get(name).copied())
    }

    /// The closest name in scope to `name`.
    pub(crate) fn suggest(&self, name: &str) -> Option<String> {
        let names = self.stack.iter().flat_map(|s| s.keys().map(String::as_str));
        super::suggest::closest(name, names)
    }
}
