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
        // Engines built before this registration lack it.
        self.engines = Arc::default();
        self
    }

    /// Add a Rust function in one step: registered on every Rhai engine of this engine's
    /// runs and declared to the checker with the arity of the closure (its parameters,
    /// without a leading `NativeCallContext`). The closure is cloned into each Rhai engine
    /// (each run's, each pool worker's): state it captures once goes behind an `Arc`.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use std::sync::Arc;
    /// let prices = Arc::new(HashMap::from([("apple".to_string(), 3_i64)]));
    /// let mut engine = flow::Engine::new();
    /// engine.register_fn("price", move |name: &str| prices.get(name).copied().unwrap_or(0));
    /// let total: i64 = engine.eval("from [\"apple\", \"pear\", \"apple\"] | map price | sum").unwrap();
    /// assert_eq!(total, 6);
    /// ```
    pub fn register_fn<A, const N: usize, const X: bool, R, const F: bool>(
        &mut self,
        name: &str,
        func: impl rhai::RhaiNativeFunc<A, N, X, R, F> + Send + Sync + Clone + 'static,
    ) -> &mut Self
    where
        A: 'static,
        R: rhai::Variant + Clone,
    {
        let n = name.to_string();
        self.register(move |r| {
            r.register_fn(n.as_str(), func.clone());
        });
        self.declare_fn(name, N)
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
