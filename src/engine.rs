//! The embedding API: a host compiles and runs scripts, registers Rust functions through
//! Rhai's own API, sets variables, feeds named sources and reads named sinks through
//! channels it owns, and cancels runs from any thread. No signal handler is installed unless
//! the host asks, and nothing is global: two engines in one process do not interfere.

use crate::runtime::{run_script, CancelToken, EngineHook, RunError, RunOptions};
use crate::script::channel::FlowChannel;
use crate::{CompileOptions, Diagnostics, Script, SourceFile};
use rhai::Dynamic;
use std::sync::Arc;

/// A flow engine: configuration shared by the scripts it compiles and runs.
///
/// ```
/// let mut engine = flow::Engine::new();
/// engine.set_var("n", 4_i64);
/// engine.register(|rhai| {
///     rhai.register_fn("triple", |x: i64| x * 3);
/// });
/// engine.declare_fn("triple", 1);
/// let script = engine.compile("let xs = from 1..=n | map triple | collect").unwrap();
/// let out = engine.sink("out", 16);
/// let script2 = engine.compile("from [1, 2] | into out").unwrap();
/// engine.run(&script).unwrap();
/// engine.run(&script2).unwrap();
/// let got: Vec<i64> = out.iter().map(|v| v.as_int().unwrap()).collect();
/// assert_eq!(got, vec![1, 2]);
/// ```
#[derive(Clone, Default)]
pub struct Engine {
    vars: Vec<(String, Dynamic)>,
    hooks: Vec<EngineHook>,
    fns: Vec<(String, usize)>,
    handle_signals: bool,
}

/// The host's end of a named source: items sent here come out of `from NAME`. Dropping it
/// (or calling [`SourceSender::close`]) ends the stream.
pub struct SourceSender {
    tx: Option<crossbeam_channel::Sender<Dynamic>>,
    ch: FlowChannel,
}

impl SourceSender {
    /// Send one item (blocks while the channel is full).
    ///
    /// # Errors
    /// The item back, when the channel is closed.
    pub fn send(&self, item: impl Into<Dynamic>) -> Result<(), Dynamic> {
        match &self.tx {
            Some(tx) => tx.send(item.into()).map_err(|e| e.0),
            None => Err(Dynamic::UNIT),
        }
    }

    /// End the stream: `from NAME` finishes after the items already sent.
    pub fn close(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        if self.tx.take().is_some() {
            self.ch.unregister();
        }
    }
}

impl Drop for SourceSender {
    fn drop(&mut self) {
        self.finish();
    }
}

impl Engine {
    /// An engine with flow's built-ins and nothing else.
    #[must_use]
    pub fn new() -> Self {
        Engine::default()
    }

    /// Make `name` a variable of every script this engine compiles and runs.
    pub fn set_var(&mut self, name: &str, value: impl Into<Dynamic>) -> &mut Self {
        self.vars.retain(|(k, _)| k != name);
        self.vars.push((name.to_string(), value.into()));
        self
    }

    /// Register functions and types on every Rhai engine flow makes for this engine's runs
    /// (Rhai's registration API, passed through). Declare functions used as callables with
    /// [`Engine::declare_fn`] so that the checker knows them.
    pub fn register(&mut self, f: impl Fn(&mut rhai::Engine) + Send + Sync + 'static) -> &mut Self {
        self.hooks.push(Arc::new(f));
        self
    }

    /// Tell the checker that a host function `name` with `arity` parameters exists.
    pub fn declare_fn(&mut self, name: &str, arity: usize) -> &mut Self {
        self.fns.push((name.to_string(), arity));
        self
    }

    /// Install SIGINT/SIGTERM handlers during runs (the CLI does; hosts usually do not).
    pub fn handle_signals(&mut self, yes: bool) -> &mut Self {
        self.handle_signals = yes;
        self
    }

    /// A named source: scripts read it with `from NAME`.
    pub fn source(&mut self, name: &str, capacity: usize) -> SourceSender {
        let ch = FlowChannel::new_external(capacity.max(1));
        let tx = ch.register();
        self.set_var(name, Dynamic::from(ch.clone()));
        SourceSender { tx, ch }
    }

    /// A named sink: scripts send into it with `| into NAME`; the host reads the receiver.
    /// It closes when the last `into NAME` stage finishes.
    pub fn sink(&mut self, name: &str, capacity: usize) -> crossbeam_channel::Receiver<Dynamic> {
        let ch = FlowChannel::new_external(capacity.max(1));
        let rx = ch.receiver();
        self.set_var(name, Dynamic::from(ch));
        rx
    }

    /// Parse and check a script.
    ///
    /// # Errors
    /// Its diagnostics (render them with [`Diagnostics::render`]).
    pub fn compile(&self, source: &str) -> Result<Script, Diagnostics> {
        let opts = CompileOptions {
            known_vars: self.vars.iter().map(|(k, _)| k.clone()).collect(),
            known_fns: self.fns.clone(),
            path: None,
        };
        Script::compile(SourceFile::new("<script>", source), &opts)
    }

    /// Run a script to the end; the value of its last statement.
    ///
    /// # Errors
    /// The run error (see [`RunError::exit_code`]).
    pub fn run(&self, script: &Script) -> Result<Dynamic, RunError> {
        self.run_with_cancel(script, &CancelToken::new(), vec![])
    }

    /// Run with `args`, stoppable from another thread through `cancel` (the same shutdown
    /// sequence as Ctrl-C: `on_interrupt` blocks run, processes are signalled and reaped).
    ///
    /// # Errors
    /// The run error; a cancelled run reports [`crate::RunErrorKind::Cancelled`] or
    /// `Interrupted` depending on the reason given to [`CancelToken::cancel`].
    pub fn run_with_cancel(
        &self,
        script: &Script,
        cancel: &CancelToken,
        args: Vec<String>,
    ) -> Result<Dynamic, RunError> {
        let opts = RunOptions {
            args,
            cancel: cancel.clone(),
            handle_signals: self.handle_signals,
            vars: self.vars.clone(),
            hooks: self.hooks.clone(),
        };
        run_script(script, opts)
    }
}
