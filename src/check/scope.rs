//! Variable scopes of the checker: what `let` and `for` declared, block by block.

use super::quick_hash::QuickHash;
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
/// Names are borrowed from the script and the options (a long script declares thousands).
#[derive(Debug)]
pub(crate) struct Scopes<'a> {
    stack: Vec<HashMap<&'a str, Var, QuickHash>>,
}

impl<'a> Scopes<'a> {
    /// The script's top scope: `args` and the variables the host declared.
    pub(crate) fn new(known: &'a [String]) -> Self {
        let mut top = HashMap::default();
        top.insert("args", Var::Value(None));
        for k in known {
            top.insert(k.as_str(), Var::Unknown);
        }
        Scopes { stack: vec![top] }
    }

    pub(crate) fn push(&mut self) {
        self.stack.push(HashMap::default());
    }

    pub(crate) fn pop(&mut self) {
        // The top scope is never popped: push and pop come in pairs.
        if self.stack.len() > 1 {
            self.stack.pop();
        }
    }

    pub(crate) fn declare(&mut self, name: &'a str, var: Var) {
        if let Some(s) = self.stack.last_mut() {
            s.insert(name, var);
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<Var> {
        self.stack.iter().rev().find_map(|s| s.get(name).copied())
    }

    /// How many scopes are open: a mark for [`Scopes::outside`].
    pub(crate) fn depth(&self) -> usize {
        self.stack.len()
    }

    /// What `name` is, when it is declared in one of the first `depth` scopes and in no
    /// later one: a name from outside a block opened at that depth.
    pub(crate) fn outside(&self, name: &str, depth: usize) -> Option<Var> {
        let at = self.stack.iter().rposition(|s| s.contains_key(name))?;
        (at < depth).then(|| self.stack[at].get(name).copied())?
    }

    /// The closest name in scope to `name`.
    pub(crate) fn suggest(&self, name: &str) -> Option<String> {
        self.suggest_among(name, std::iter::empty())
    }

    /// The closest name to `name` in scope or among `more`.
    pub(crate) fn suggest_among<'m>(
        &self,
        name: &str,
        more: impl Iterator<Item = &'m str>,
    ) -> Option<String>
    where
        'a: 'm,
    {
        let names = self.stack.iter().flat_map(|s| s.keys().copied());
        super::suggest::closest(name, names.chain(more))
    }
}
