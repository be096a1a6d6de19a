//! Evaluating Rhai for the runtime: compiling snippets so their positions are the script's,
//! calling callables on items, and turning Rhai errors into run errors with spans.

use super::run_error::{RunError, RunErrorKind};
use super::words::Lookup;
use super::Rt;
use crate::ast::{Callable, Rhai};
use crate::script::position::span_at;
use crate::Span;
use rhai::{Dynamic, Engine, EvalAltResult, Scope, AST};
use std::sync::Arc;

#[path = "eval_count.rs"]
mod count;
#[path = "eval_fold.rs"]
mod fold;
#[path = "eval_inline.rs"]
mod inline;

/// The run's Rhai engine, built when first used: building one registers thousands of
/// functions (a third of `flow -c 'print(1)'`), and a script that only runs commands, or
/// only what the fast path evaluates, never needs it.
pub(crate) struct LazyEngine {
    rt: Rt,
    cell: std::sync::OnceLock<Engine>,
}

/// Rhai engines built for one `flow::Engine` (its host registrations), kept between runs:
/// building one registers thousands of functions (a millisecond), which a host running a
/// script many times must not pay per run. An engine holds no run's state (what a run
/// needs of its thread, Rhai reads from the thread's context), so a finished run's engine
/// serves the next run as it is.
#[doc(hidden)]
#[derive(Default)]
pub struct EngineCache {
    free: std::sync::Mutex<Vec<Engine>>,
}

impl EngineCache {
    /// At most this many engines wait (one per thread that ran Rhai at once, pool workers
    /// included, is what a busy host reuses).
    const KEEP: usize = 8;

    fn take(&self) -> Option<Engine> {
        self.free.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    /// How many engines wait (for tests).
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> usize {
        self.free.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn put(&self, e: Engine) {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        if free.len() < Self::KEEP {
            free.push(e);
        }
    }
}

impl Drop for LazyEngine {
    fn drop(&mut self) {
        if let Some(e) = self.cell.take() {
            self.rt.engines.put(e);
        }
    }
}

impl LazyEngine {
    pub(crate) fn new(rt: Rt) -> Self {
        LazyEngine {
            rt,
            cell: std::sync::OnceLock::new(),
        }
    }

    /// Whether the engine was built (for tests).
    #[cfg(test)]
    pub(crate) fn is_built(&self) -> bool {
        self.cell.get().is_some()
    }
}

impl std::ops::Deref for LazyEngine {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        self.cell
            .get_or_init(|| self.rt.engines.take().unwrap_or_else(|| self.rt.engine()))
    }
}

/// What every thread of a run shares.
pub(crate) struct Shared {
    pub(crate) engine: LazyEngine,
    /// All `fn` definitions of the script, compiled once.
    pub(crate) fns: AST,
    /// The `fn` sources (padded to their script positions), to compile private copies.
    pub(crate) fn_texts: Vec<String>,
    pub(crate) src: Arc<str>,
    pub(crate) rt: Rt,
    /// Statement snippets compiled so far (`Executor::eval`).
    pub(crate) snippets: super::snippets::Snippets,
}

impl Shared {
    /// Whether a call of `name` (a method `x.name(…)`, `print(…)`) reaches the engine's own
    /// function: no host registrations (which could define it again) and no script `fn` of
    /// that name.
    pub(crate) fn builtin(&self, name: &str) -> bool {
        self.rt.hooks.is_empty() && !self.fns.iter_functions().any(|f| f.name == name)
    }

    /// The same script under `rt`, with a private engine and private compiled `fn`s.
    pub(crate) fn private(&self, rt: Rt) -> Shared {
        let engine = LazyEngine::new(rt.clone());
        let fns = compile_fn_texts(&engine, &self.fn_texts);
        Shared {
            engine,
            fns,
            fn_texts: self.fn_texts.clone(),
            src: self.src.clone(),
            rt,
            snippets: super::snippets::Snippets::default(),
        }
    }
}

/// Compile `fn` sources (already checked once) into one AST for `engine` (built only if
/// there are any).
pub(crate) fn compile_fn_texts(engine: &LazyEngine, texts: &[String]) -> AST {
    texts
        .iter()
        .filter_map(|t| engine.compile(t).ok())
        .fold(AST::empty(), |acc, a| acc.merge(&a))
}

/// A snapshot of the script's variables plus the shared state; cheap to clone.
#[derive(Clone)]
pub(crate) struct Env {
    pub(crate) shared: Arc<Shared>,
    pub(crate) vars: Arc<Scope<'static>>,
}

/// `h.to_upper()` where `h` came from `let h = ^md5sum f`: a string method called on an
/// array (a command's output and a task's value are arrays of lines).
fn array_for_string(sig: &str) -> Option<String> {
    let (name, args) = sig.split_once(" (")?;
    if !args.starts_with("array") {
        return None;
    }
    const STRING_METHODS: &[&str] = &[
        "to_upper",
        "to_lower",
        "trim",
        "strip",
        "split",
        "replace",
        "starts_with",
        "ends_with",
        "parse_int",
        "parse_float",
        "field",
        "fields",
        "pad",
        "crop",
        "sub_string",
        "lstrip",
        "rstrip",
        "to_chars",
        "index_of",
    ];
    STRING_METHODS.contains(&name).then(|| {
        format!(
            "`{name}` takes text, and this is an array: a command's output (`let x = ^cmd`) and \
             a task's value are arrays of lines; for a one-line output write `x[0].{name}(…)`, \
             or `x.join(\"\\n\").{name}(…)` for all of it"
        )
    })
}

/// A callable ready to run.
pub(crate) enum Compiled {
    /// A host's function, or a script `fn` Rhai must pick by arity.
    Fn(rhai::FnPtr),
    /// A script `fn`, run as its body (see `eval_inline.rs`).
    Inline(Box<inline::Inline>),
    /// A block, with its native fast path when it is a simple expression, and where it is.
    Block(
        AST,
        Option<crate::script::fastpath::Fast>,
        Arc<Snippet>,
        Option<Box<Lets>>,
    ),
}

impl Compiled {
    /// The native fast path of a block, or of an inlined `fn`'s body (`filter is_error`
    /// with `fn is_error(line) { … }`): the same evaluator, the item borrowed, not cloned
    /// into a call.
    pub(crate) fn fast(&self) -> Option<&crate::script::fastpath::Fast> {
        match self {
            Compiled::Block(_, f, ..) => f.as_ref(),
            Compiled::Inline(i) => i.fast.as_ref(),
            Compiled::Fn(_) => None,
        }
    }
}

/// A block's leading `let NAME = EXPR;` statements that the fast path takes, and the rest
/// of the block compiled on its own (padded so that its positions are the block's). When
/// every `EXPR` gives a value natively, the names are bound and only the rest runs in Rhai.
pub(crate) struct Lets {
    vals: Vec<(String, crate::script::fastpath::Fast)>,
    rest: AST,
}

/// A snippet of Rhai compiled as written (not padded to its place in the script: padding
/// would cost one character per character before it, quadratic over a long script). Rhai's
/// positions in it are relative to it, and mapped to the script here.
pub(crate) struct Snippet {
    start: usize,
    code: Arc<str>,
    /// Functions (closures) the snippet itself defines: positions inside them are relative
    /// too. Positions inside the script's `fn`s are the script's already (compiled padded,
    /// once).
    own_fns: Vec<String>,
}

impl Snippet {
    pub(crate) fn new(r: &Rhai, own: &AST) -> Self {
        Snippet {
            start: r.span.start,
            code: Arc::from(r.code.as_str()),
            own_fns: own.iter_functions().map(|f| f.name.to_string()).collect(),
        }
    }

    /// The script span of a Rhai position relative to the snippet.
    fn span(&self, pos: rhai::Position) -> Option<Span> {
        let at = span_at(&self.code, pos)?;
        Some(Span::new(self.start + at.start, self.start + at.end))
    }
}

impl Env {
    /// The same, with some more variables bound (a job's `seq` and `slot`).
    pub(crate) fn with_vars(&self, more: &[(&'static str, Dynamic)]) -> Env {
        let mut vars = (*self.vars).clone();
        for (k, v) in more {
            vars.push(*k, v.clone());
        }
        Env {
            shared: self.shared.clone(),
            vars: Arc::new(vars),
        }
    }

    /// The same variables with a private engine and private compiled `fn`s: pool workers
    /// share nothing mutable (not even reference counts) with each other.
    pub(crate) fn for_worker(&self) -> Env {
        Env {
            shared: Arc::new(self.shared.private(self.shared.rt.clone())),
            vars: Arc::new((*self.vars).clone()),
        }
    }

    /// Compile a snippet as written (with the script's `fn`s available to it).
    pub(crate) fn compile(&self, r: &Rhai) -> Result<(AST, Arc<Snippet>), RunError> {
        let code = crate::script::quotes::for_snippet(&r.code);
        match self.shared.engine.compile_with_scope(&self.vars, &code) {
            Ok(ast) => {
                let snip = Arc::new(Snippet::new(r, &ast));
                Ok((self.shared.fns.merge(&ast), snip))
            }
            Err(e) => {
                let at = Snippet::new(r, &AST::empty()).span(e.position());
                let message = e.err_type().to_string();
                Err(RunError::new(
                    r.span,
                    RunErrorKind::Rhai {
                        message,
                        at,
                        value: None,
                    },
                ))
            }
        }
    }

    pub(crate) fn compile_callable(&self, c: &Callable) -> Result<Compiled, RunError> {
        Ok(match c {
            Callable::Fn(i) => {
                let ptr =
                    rhai::FnPtr::new(i.name.as_str()).map_err(|e| self.rhai_error(&e, i.span))?;
                match inline::Inline::new(&self.shared, ptr.clone(), &|n| self.builtin_method(n)) {
                    Some(f) => Compiled::Inline(Box::new(f)),
                    None => Compiled::Fn(ptr),
                }
            }
            Callable::Block(r) => {
                let fast = crate::script::fastpath::compile_block(&r.code, &self.vars, &|name| {
                    self.builtin_method(name)
                });
                let (ast, snip) = self.compile(r)?;
                let lets = if fast.is_some() { None } else { self.lets(r) };
                Compiled::Block(ast, fast, snip, lets)
            }
        })
    }

    /// The fast leading `let`s of a block, if any (see [`Lets`]).
    fn lets(&self, r: &Rhai) -> Option<Box<Lets>> {
        let (vals, at) =
            crate::script::fastpath::lets(&r.code, &self.vars, &|name| self.builtin_method(name));
        if vals.is_empty() {
            return None;
        }
        let blank: String = r.code[..at]
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect();
        let padded = format!("{blank}{}", &r.code[at..]);
        let padded = crate::script::quotes::for_snippet(&padded);
        let mut vars = (*self.vars).clone();
        for (name, _) in &vals {
            vars.push(name.as_str(), Dynamic::UNIT);
        }
        let rest = self.shared.engine.compile_with_scope(&vars, &padded).ok()?;
        Some(Box::new(Lets {
            vals,
            rest: self.shared.fns.merge(&rest),
        }))
    }

    /// See [`Shared::builtin`].
    fn builtin_method(&self, name: &str) -> bool {
        self.shared.builtin(name)
    }

    /// A Rhai error at `span` (the stage or statement), pointing into the script.
    pub(crate) fn rhai_error(&self, e: &EvalAltResult, span: Span) -> RunError {
        self.snippet_error(e, span, None)
    }

    /// A Rhai error of code compiled from `snip` (if any): positions in the snippet itself
    /// are relative to it.
    pub(crate) fn snippet_error(
        &self,
        e: &EvalAltResult,
        span: Span,
        snip: Option<&Snippet>,
    ) -> RunError {
        let mut inner = e;
        let mut relative = snip.is_some();
        while let EvalAltResult::ErrorInFunctionCall(name, _, next, _) = inner {
            relative = snip.is_some_and(|s| s.own_fns.iter().any(|f| f == name.as_str()));
            inner = next;
        }
        if let EvalAltResult::ErrorTerminated(v, _) = inner {
            if let Some(x) = v.read_lock::<crate::runtime::builtins::ExitRequest>() {
                return RunError::new(span, RunErrorKind::ScriptExit { status: x.0 });
            }
        }
        if matches!(inner, EvalAltResult::ErrorTerminated(..)) {
            return RunError::new(span, RunErrorKind::Cancelled);
        }
        let at = match snip {
            Some(s) if relative => s.span(inner.position()),
            _ => span_at(&self.shared.src, inner.position()),
        };
        if let EvalAltResult::ErrorRuntime(v, _) = inner {
            if let Some(f) = v.read_lock::<crate::runtime::builtins::IoFailure>() {
                let message = f.0.clone();
                return RunError::new(at.unwrap_or(span), RunErrorKind::Io { message });
            }
        }
        let mut message = inner.to_string();
        if let Some(i) = message.rfind(" (line ") {
            message.truncate(i);
        }
        let help = match inner {
            EvalAltResult::ErrorFunctionNotFound(sig, _) => {
                crate::script::unit_help::function_not_found(sig, &self.shared.src, at)
                    .or_else(|| python_call_help(sig, &self.shared.src, at))
                    .or_else(|| array_for_string(sig))
            }
            EvalAltResult::ErrorVariableNotFound(name, _) => {
                crate::script::python::variable(name).map(str::to_string)
            }
            _ => None,
        };
        let value = match inner {
            EvalAltResult::ErrorRuntime(v, _) => Some(v.clone()),
            _ => None,
        };
        let err = RunError::new(span, RunErrorKind::Rhai { message, at, value });
        match help {
            Some(h) => err.with_help(h),
            None => err,
        }
    }

    /// Evaluate an expression or block once with the snapshot's variables.
    pub(crate) fn eval(&self, r: &Rhai) -> Result<Dynamic, RunError> {
        let (ast, snip) = self.compile(r)?;
        let mut scope = (*self.vars).clone();
        guard_panics(r.span, || {
            self.shared
                .engine
                .eval_ast_with_scope::<Dynamic>(&mut scope, &ast)
        })
        .and_then(|res| res.map_err(|e| self.snippet_error(&e, r.span, Some(&snip))))
    }

    /// An evaluator for items on this thread.
    pub(crate) fn evaluator(&self) -> Evaluator {
        let scope = (*self.vars).clone();
        let base = scope.len();
        Evaluator {
            env: self.clone(),
            scope,
            base,
            fn_scope: Scope::new(),
        }
    }
}

/// Runs callables on items, with a private copy of the variables.
pub(crate) struct Evaluator {
    pub(crate) env: Env,
    scope: Scope<'static>,
    base: usize,
    /// The private scope an inlined `fn` body runs in (kept to reuse its allocation).
    fn_scope: Scope<'static>,
}

impl Evaluator {
    /// `F(it)`.
    pub(crate) fn call(
        &mut self,
        c: &Compiled,
        it: Dynamic,
        span: Span,
    ) -> Result<Dynamic, RunError> {
        self.call_with(c, &[("it", it)], span)
    }

    /// Call with named values bound (`acc`, `it`): a block sees them as variables, a `fn`
    /// gets them as arguments in order.
    pub(crate) fn call_with(
        &mut self,
        c: &Compiled,
        args: &[(&'static str, Dynamic)],
        span: Span,
    ) -> Result<Dynamic, RunError> {
        if let (Compiled::Block(_, Some(fast), ..), [("it", it)]) = (c, args) {
            if let Some(v) = crate::script::fastpath::eval(fast, it) {
                return Ok(v);
            }
        }
        if let Compiled::Inline(f) = c {
            if f.arity() == args.len() {
                return self.call_inline(f, args, span);
            }
        }
        // Borrow, don't clone, the shared state: an `Arc` clone per item is a contended
        // atomic between pool workers.
        let shared = &*self.env.shared;
        // A function pointer reaches script `fn`s and host-registered functions alike.
        let call_ptr = |ptr: &rhai::FnPtr| {
            let argv: Vec<Dynamic> = args.iter().map(|(_, v)| v.clone()).collect();
            guard_panics(span, || {
                ptr.call::<Dynamic>(&shared.engine, &shared.fns, argv)
            })
        };
        let r = match c {
            Compiled::Fn(ptr) => call_ptr(ptr)?,
            Compiled::Inline(f) => call_ptr(&f.ptr)?,
            Compiled::Block(ast, _, _, lets) => {
                for (k, v) in args {
                    self.scope.push(*k, v.clone());
                }
                let it = args.iter().find(|(k, _)| *k == "it").map(|(_, v)| v);
                let ast = match (lets, it) {
                    (Some(l), Some(it)) if bind_lets(&mut self.scope, l, it) => &l.rest,
                    _ => ast,
                };
                let scope = &mut self.scope;
                let r = guard_panics(span, || {
                    shared.engine.eval_ast_with_scope::<Dynamic>(scope, ast)
                });
                self.scope.rewind(self.base);
                r?
            }
        };
        let snip = match c {
            Compiled::Block(_, _, s, _) => Some(&**s),
            Compiled::Fn(_) | Compiled::Inline(_) => None,
        };
        r.map_err(|e| self.env.snippet_error(&e, span, snip))
    }
}

/// The flow spelling of a Python function or method that Rhai did not find: `sig` is
/// Rhai's `name (type, …)`, the call is at `at` in `src` (a method when a `.` precedes it).
fn python_call_help(sig: &str, src: &str, at: Option<Span>) -> Option<String> {
    let (name, types) = sig.split_once(" (")?;
    let types = types.strip_suffix(')')?;
    let given = if types.trim().is_empty() {
        0
    } else {
        // Type names hold no commas outside `<…>`: count the top-level ones.
        let mut depth = 0usize;
        1 + types
            .chars()
            .filter(|c| match c {
                '<' => {
                    depth += 1;
                    false
                }
                '>' => {
                    depth = depth.saturating_sub(1);
                    false
                }
                ',' => depth == 0,
                _ => false,
            })
            .count()
    };
    let method = at
        .and_then(|at| src.get(..at.start))
        .is_some_and(|before| before.trim_end().ends_with('.'));
    let args = given.saturating_sub(usize::from(method));
    crate::script::python::call(name, method, args, None).map(|fix| fix.help)
}

/// Bind the fast `let`s for `it`; false (nothing bound) if one needs Rhai.
fn bind_lets(scope: &mut Scope<'static>, l: &Lets, it: &Dynamic) -> bool {
    let n = scope.len();
    for (name, f) in &l.vals {
        match crate::script::fastpath::eval(f, it) {
            Some(v) => {
                scope.push(name.as_str(), v);
            }
            None => {
                scope.rewind(n);
                return false;
            }
        }
    }
    true
}

thread_local! {
    /// How many [`guard_panics`] calls this thread is inside.
    static CATCHING: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// A panic that [`guard_panics`] catches prints nothing: it becomes the run's error, and
/// the default hook would also write `thread '…' panicked at …` on the host's stderr. The
/// hook is wrapped once, per process; any other panic goes to the hook that was there.
fn quiet_caught_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let before = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if CATCHING.with(std::cell::Cell::get) == 0 {
                before(info);
            }
        }));
    });
}

/// A panic inside Rhai or a registered function becomes an ordinary error.
pub(crate) fn guard_panics<T>(span: Span, f: impl FnOnce() -> T) -> Result<T, RunError> {
    quiet_caught_panics();
    CATCHING.with(|c| c.set(c.get() + 1));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(c.get().saturating_sub(1)));
    r.map_err(|p| {
        let message = p
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        RunError::new(span, RunErrorKind::Panic { message })
    })
}

/// Word expansion against an environment, optionally with `it` bound.
pub(crate) struct WordEnv<'a> {
    pub(crate) env: &'a Env,
    pub(crate) it: Option<&'a Dynamic>,
}

impl Lookup for WordEnv<'_> {
    fn var(&self, name: &str, span: Span) -> Result<Dynamic, RunError> {
        if name == "it" {
            if let Some(it) = self.it {
                return Ok(it.clone());
            }
        }
        self.env.vars.get_value::<Dynamic>(name).ok_or_else(|| {
            RunError::new(
                span,
                RunErrorKind::Value {
                    message: format!("no variable `{name}`"),
                },
            )
        })
    }

    fn expr(&self, code: &Rhai) -> Result<Dynamic, RunError> {
        match self.it {
            Some(it) => {
                let mut vars = (*self.env.vars).clone();
                vars.push("it", it.clone());
                let env = Env {
                    shared: self.env.shared.clone(),
                    vars: Arc::new(vars),
                };
                env.eval(code)
            }
            None => self.env.eval(code),
        }
    }
}
