//! Registering host functions and types: Rhai's own registration API, passed through, and
//! declarations that let the checker know them.

use crate::Engine;
use std::sync::Arc;

impl Engine {
    /// Register functions and types on every Rhai engine flow makes for this engine's runs
    /// (Rhai's registration API, passed through: the closure runs once per Rhai engine —
    /// the run's, and each pool worker's). Declare functions used as callables or called
    /// from the script with [`Engine::declare_fn`] so that the checker knows them.
    pub fn register(&mut self, f: impl Fn(&mut rhai::Engine) + Send + Sync + 'static) -> &mut Self {
        self.hooks.push(Arc::new(f));
        self
    }

    /// Tell the checker that a host function `name` with `arity` parameters exists. A
    /// callable naming it (`map name`) and every call of it in the script's Rhai code
    /// (`name(a, b)`, `x.name(b)`) is checked against the arities declared for it: a
    /// mismatch is the check error `flow::check::arity` at the call. Declare each arity of
    /// an overloaded function.
    pub fn declare_fn(&mut self, name: &str, arity: usize) -> &mut Self {
        if !self.fns.iter().any(|(n, a)| n == name && *a == arity) {
            self.fns.push((name.to_string(), arity));
        }
        self
    }
}
